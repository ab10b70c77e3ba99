/*
 * policy - the Postfix policy delegation protocol: an incremental request
 * parser and the reply formatter.
 *
 * Depends on: util/ (xalloc, buf, log). No I/O, no clock, no state kept
 * between calls: pp_parse() is handed everything received so far and
 * either finds a whole request at its start or says how it failed, in the
 * manner of picohttpparser. Rescanning from the start is cheap because a
 * request is at most POLICY_REQUEST_MAX bytes.
 *
 * Grammar (Postfix attr_scan_plain.c):
 *	request   = *attribute newline
 *	attribute = name "=" value newline
 *	newline   = ["\r"] "\n"	 ("\r" tolerated for telnet users)
 *
 * A lone newline is therefore a complete request with no attributes.
 * Postfix never sends one; we parse it as such (nattrs == 0, every field
 * NULL) and the daemon answers it like any request that is not about a
 * recipient, with DUNNO, which keeps the reply stream in step.
 *
 * Security: this is the first code that touches bytes from the socket.
 * Every limit (POLICY_LINE_MAX, POLICY_REQUEST_MAX, POLICY_ATTR_MAX) is
 * checked on partial input as well, so that the caller never has to
 * buffer more than POLICY_REQUEST_MAX bytes to learn that a peer is
 * misbehaving. Only a validated request allocates anything.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "proto/policy.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

/* the attributes we keep, by name; everything else is skipped */
static const struct pp_field {
	const char *name;
	size_t	 len;
	size_t	 offset;
} pp_fields[] = {
#define PP_FIELD(n)	{ #n, sizeof(#n) - 1, offsetof(struct policy_req, n) }
	PP_FIELD(request),
	PP_FIELD(protocol_state),
	PP_FIELD(protocol_name),
	PP_FIELD(client_address),
	PP_FIELD(client_name),
	PP_FIELD(client_port),
	PP_FIELD(reverse_client_name),
	PP_FIELD(helo_name),
	PP_FIELD(sender),
	PP_FIELD(recipient),
	PP_FIELD(queue_id),
	PP_FIELD(instance),
	PP_FIELD(sasl_username),
#undef PP_FIELD
};

/* pp_fail - report a protocol error */
static enum pp_status
pp_fail(enum pp_error why, enum pp_error *why_r)
{
	*why_r = why;
	return PP_ERROR;
}

/*
 * pp_store - keep the value of a known attribute; the first of repeated
 * attributes wins (SMTPD_POLICY_README allows either).
 */
static void
pp_store(struct policy_req *req, const char *name, size_t nlen,
    const char *val, size_t vlen)
{
	size_t	 i;
	char	**field;

	for (i = 0; i < sizeof(pp_fields) / sizeof(pp_fields[0]); i++) {
		if (pp_fields[i].len != nlen ||
		    memcmp(pp_fields[i].name, name, nlen) != 0)
			continue;
		field = (char **)((char *)req + pp_fields[i].offset);
		if (*field == NULL)
			*field = xstrndup(val, vlen);
		return;
	}
}

/*
 * pp_fill - second pass over a request already validated by pp_parse():
 * copy the attributes we know into req.
 */
static void
pp_fill(const char *buf, size_t reqlen, struct policy_req *req)
{
	const char *line = buf, *end = buf + reqlen, *nl, *eq;
	size_t	 llen;

	while (line < end) {
		nl = memchr(line, '\n', (size_t)(end - line));
		llen = (size_t)(nl - line);
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen == 0)
			break;		/* the empty line */
		eq = memchr(line, '=', llen);
		pp_store(req, line, (size_t)(eq - line), eq + 1,
		    llen - (size_t)(eq - line) - 1);
		req->nattrs++;
		line = nl + 1;
	}
}

/*
 * pp_parse - find one request at the start of buf[0..len).
 *
 * req is cleared on every call, so policy_req_free() is always safe on
 * it afterwards; it is filled only on PP_DONE.
 */
enum pp_status
pp_parse(const char *buf, size_t len, struct policy_req *req,
    size_t *consumed_r, enum pp_error *why_r)
{
	size_t	 window, pos = 0, llen, nattrs = 0;
	const char *line, *nl;

	memset(req, 0, sizeof(*req));
	*why_r = PP_ERR_NONE;

	/*
	 * Nothing at or past offset POLICY_REQUEST_MAX can belong to a
	 * request that fits; bytes after a complete request belong to the
	 * next one and are not looked at (pipelining).
	 */
	window = len < POLICY_REQUEST_MAX ? len : POLICY_REQUEST_MAX;
	while (pos < window) {
		line = buf + pos;
		nl = memchr(line, '\n', window - pos);
		llen = (nl != NULL ? (size_t)(nl - line) : window - pos);
		if (memchr(line, '\0', llen) != NULL)
			return pp_fail(PP_ERR_NUL_BYTE, why_r);
		/* a final "\r" is (or may yet become) part of the newline */
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen > POLICY_LINE_MAX)
			return pp_fail(PP_ERR_LINE_TOO_LONG, why_r);
		if (nl == NULL) {
			/* a partial line: judge what can be judged now */
			if (llen > 0 && line[0] == '=')
				return pp_fail(PP_ERR_EMPTY_NAME, why_r);
			if (llen > 0 && nattrs >= POLICY_ATTR_MAX)
				return pp_fail(PP_ERR_TOO_MANY_ATTRS, why_r);
			break;
		}
		pos = (size_t)(nl - buf) + 1;
		if (llen == 0) {
			*consumed_r = pos;
			pp_fill(buf, pos, req);
			return PP_DONE;
		}
		if (line[0] == '=')
			return pp_fail(PP_ERR_EMPTY_NAME, why_r);
		if (memchr(line, '=', llen) == NULL)
			return pp_fail(PP_ERR_NO_EQUALS, why_r);
		if (++nattrs > POLICY_ATTR_MAX)
			return pp_fail(PP_ERR_TOO_MANY_ATTRS, why_r);
	}
	/* POLICY_REQUEST_MAX bytes and no end in sight: it cannot fit */
	if (len >= POLICY_REQUEST_MAX)
		return pp_fail(PP_ERR_REQUEST_TOO_LARGE, why_r);
	return PP_AGAIN;
}

/* policy_req_free - release the attribute values; req may be reused */
void
policy_req_free(struct policy_req *req)
{
	size_t	 i;
	char	**field;

	for (i = 0; i < sizeof(pp_fields) / sizeof(pp_fields[0]); i++) {
		field = (char **)((char *)req + pp_fields[i].offset);
		free(*field);
		*field = NULL;
	}
	req->nattrs = 0;
}

/* pp_strerror - the reason, for a log line */
const char *
pp_strerror(enum pp_error why)
{
	switch (why) {
	case PP_ERR_NONE:
		return "no error";
	case PP_ERR_LINE_TOO_LONG:
		return "attribute line too long";
	case PP_ERR_REQUEST_TOO_LARGE:
		return "request too large";
	case PP_ERR_TOO_MANY_ATTRS:
		return "too many attributes";
	case PP_ERR_NO_EQUALS:
		return "attribute line without \"=\"";
	case PP_ERR_EMPTY_NAME:
		return "empty attribute name";
	case PP_ERR_NUL_BYTE:
		return "NUL byte in request";
	}
	return "unknown error";
}

/* pp_format_reply - append "action=ACTION\n\n", all or nothing */
int
pp_format_reply(struct buf *out, const char *action)
{
	if (strchr(action, '\n') != NULL)
		msg_panic("pp_format_reply: newline in action");
	return buf_printf(out, "action=%s\n\n", action);
}
