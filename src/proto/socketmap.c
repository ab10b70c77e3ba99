/*
 * socketmap - the socketmap_table(5) netstring codec. See socketmap.h.
 *
 * Netstring rules as Postfix's netstring.c reads them: the length is
 * decimal digits only (no sign, no spaces) ended by ':', the bytes
 * follow, then ','. A length with leading zeros is accepted (netstring.c
 * does), but never more than SOCKETMAP_LEN_DIGITS digits, so a peer
 * cannot feed an endless length.
 *
 * Depends on: util/buf. No I/O.
 * Security: every index is checked against len before use; limits are
 * checked on partial input.
 */
#include <stdio.h>
#include <string.h>

#include "proto/socketmap.h"
#include "util/buf.h"

enum socketmap_status
socketmap_parse(const char *buf, size_t len, struct socketmap_req *req,
    size_t *consumed_r, enum socketmap_error *why_r)
{
	size_t	 i, n = 0, start, end;
	const char *body, *sp;

	memset(req, 0, sizeof(*req));
	*consumed_r = 0;
	*why_r = SOCKETMAP_ERR_NONE;
	for (i = 0; i < len && buf[i] != ':'; i++) {
		if (buf[i] < '0' || buf[i] > '9' ||
		    i == SOCKETMAP_LEN_DIGITS) {
			*why_r = i == SOCKETMAP_LEN_DIGITS &&
			    buf[i] >= '0' && buf[i] <= '9' ?
			    SOCKETMAP_ERR_TOO_LONG : SOCKETMAP_ERR_LENGTH;
			return SOCKETMAP_ERROR;
		}
		n = n * 10 + (size_t)(buf[i] - '0');
		if (n > SOCKETMAP_QUERY_MAX) {
			*why_r = SOCKETMAP_ERR_TOO_LONG;
			return SOCKETMAP_ERROR;
		}
	}
	if (i == len)
		return SOCKETMAP_AGAIN;
	if (i == 0) {
		*why_r = SOCKETMAP_ERR_LENGTH;
		return SOCKETMAP_ERROR;
	}
	start = i + 1;
	end = start + n;		/* the ',' */
	if (len <= end)
		return SOCKETMAP_AGAIN;
	if (buf[end] != ',') {
		*why_r = SOCKETMAP_ERR_NO_COMMA;
		return SOCKETMAP_ERROR;
	}
	*consumed_r = end + 1;
	body = buf + start;
	if (memchr(body, '\0', n) != NULL) {
		*why_r = SOCKETMAP_ERR_NUL_BYTE;
		return SOCKETMAP_BAD;
	}
	if ((sp = memchr(body, ' ', n)) == NULL) {
		*why_r = SOCKETMAP_ERR_NO_SPACE;
		return SOCKETMAP_BAD;
	}
	if (sp == body) {
		*why_r = SOCKETMAP_ERR_EMPTY_NAME;
		return SOCKETMAP_BAD;
	}
	if ((size_t)(sp - body) > SOCKETMAP_NAME_MAX) {
		*why_r = SOCKETMAP_ERR_NAME_TOO_LONG;
		return SOCKETMAP_BAD;
	}
	req->name = body;
	req->name_len = (size_t)(sp - body);
	req->key = sp + 1;
	req->key_len = n - req->name_len - 1;
	return SOCKETMAP_DONE;
}

int
socketmap_reply_frame(const char *buf, size_t len, size_t *used_r,
    const char **why_r)
{
	size_t	 i, n = 0;

	for (i = 0; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		n = n * 10 + (size_t)(buf[i] - '0');
		if (n > SOCKETMAP_REPLY_MAX || i >= SOCKETMAP_RLEN_DIGITS) {
			*why_r = "reply netstring too long";
			return -1;
		}
	}
	if (i == len)
		return 0;
	if (i == 0 || buf[i] != ':') {
		*why_r = "not a netstring";
		return -1;
	}
	if (len - i - 1 < n + 1)
		return 0;
	if (buf[i + 1 + n] != ',') {
		*why_r = "netstring without its ','";
		return -1;
	}
	*used_r = i + n + 2;
	return 1;
}

bool
socketmap_fits(size_t tlen)
{
	return tlen <= SOCKETMAP_REPLY_MAX - (sizeof("OK ") - 1);
}

int
socketmap_format(struct buf *out, enum socketmap_reply kind,
    const char *text, size_t tlen)
{
	char	 head[SOCKETMAP_LEN_DIGITS + 2 + sizeof("NOTFOUND ")];
	char	 reason[SOCKETMAP_REASON_MAX];
	const char *word = "OK ";
	size_t	 wlen, i, hlen, room;
	int	 r;

	if (text == NULL)
		tlen = 0;
	switch (kind) {
	case SOCKETMAP_OK:
		if (!socketmap_fits(tlen))
			return -1;
		break;
	case SOCKETMAP_NOTFOUND:
		word = "NOTFOUND ";
		tlen = 0;
		break;
	case SOCKETMAP_TEMP:
		word = "TEMP ";
		break;
	case SOCKETMAP_TIMEOUT:
		word = "TIMEOUT ";
		break;
	case SOCKETMAP_PERM:
		word = "PERM ";
		break;
	}
	if (kind != SOCKETMAP_OK && kind != SOCKETMAP_NOTFOUND) {
		/* a reason is for a log line: printable, bounded */
		if (tlen > sizeof(reason))
			tlen = sizeof(reason);
		for (i = 0; i < tlen; i++)
			reason[i] = text[i] >= ' ' && text[i] < 0x7f ?
			    text[i] : '?';
		text = reason;
	}
	wlen = strlen(word);
	r = snprintf(head, sizeof(head), "%zu:%s", wlen + tlen, word);
	hlen = (size_t)r;
	room = out->max == 0 ? (size_t)-1 : out->max - out->len;
	if (hlen + tlen + 1 > room)
		return -1;
	if (buf_append(out, head, hlen) < 0 ||
	    (tlen > 0 && buf_append(out, text, tlen) < 0) ||
	    buf_append(out, ",", 1) < 0)
		return -1;
	return 0;
}

const char *
socketmap_strerror(enum socketmap_error e)
{
	switch (e) {
	case SOCKETMAP_ERR_NONE:
		return "no error";
	case SOCKETMAP_ERR_LENGTH:
		return "netstring length is not a decimal number and ':'";
	case SOCKETMAP_ERR_TOO_LONG:
		return "netstring longer than the socketmap query limit";
	case SOCKETMAP_ERR_NO_COMMA:
		return "netstring not terminated by ','";
	case SOCKETMAP_ERR_NO_SPACE:
		return "request is not \"name key\"";
	case SOCKETMAP_ERR_EMPTY_NAME:
		return "empty map name";
	case SOCKETMAP_ERR_NAME_TOO_LONG:
		return "map name too long";
	case SOCKETMAP_ERR_NUL_BYTE:
		return "NUL byte in request";
	}
	return "unknown error";
}
