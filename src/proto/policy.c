/*
 * policy - the Postfix policy delegation protocol: an incremental request
 * parser and the reply formatter.
 *
 * Depends on: util/ (buf, log). No I/O, no clock, no state kept
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
 * misbehaving. Only a validated request is copied (into the request's
 * arena, which a reused request keeps: no allocation per request).
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
} pp_fields[POLICY_NFIELDS] = {
#define PP_FIELD(n)	{ #n, sizeof(#n) - 1, offsetof(struct policy_req, n) },
	POLICY_FIELDS(PP_FIELD)
#undef PP_FIELD
};

/* pp_field_ptr - the field of req that pp_fields[i] describes */
static const char **
pp_field_ptr(struct policy_req *req, size_t i)
{
	return (const char **)(void *)((char *)req + pp_fields[i].offset);
}

/* pp_clear - every field NULL, nothing counted; the arena is kept */
static void
pp_clear(struct policy_req *req)
{
	size_t	 i;

	for (i = 0; i < POLICY_NFIELDS; i++)
		*pp_field_ptr(req, i) = NULL;
	req->nattrs = 0;
	buf_reset(&req->arena);
}

/* pp_fail - report a protocol error */
static enum pp_status
pp_fail(enum pp_error why, enum pp_error *why_r)
{
	*why_r = why;
	return PP_ERROR;
}

/* pp_field_find - the index of attribute name[0..nlen), or -1 */
static int
pp_field_find(const char *name, size_t nlen)
{
	size_t	 i;

	for (i = 0; i < POLICY_NFIELDS; i++)
		if (pp_fields[i].len == nlen &&
		    memcmp(pp_fields[i].name, name, nlen) == 0)
			return (int)i;
	return -1;
}

/* where each known attribute's first value lies in the request */
struct pp_spans {
	size_t	 off[POLICY_NFIELDS];
	size_t	 len[POLICY_NFIELDS];
	bool	 seen[POLICY_NFIELDS];
};

/* pp_note - remember attribute line[0..llen) if it is one we keep and
 * the first of its name (SMTPD_POLICY_README allows either) */
static void
pp_note(struct pp_spans *sp, const char *buf, const char *line,
    const char *eq, size_t llen)
{
	int	 i = pp_field_find(line, (size_t)(eq - line));

	if (i < 0 || sp->seen[i])
		return;
	sp->seen[i] = true;
	sp->off[i] = (size_t)(eq + 1 - buf);
	sp->len[i] = llen - (size_t)(eq + 1 - line);
}

/*
 * pp_fill - a whole request: copy it into the arena and point the kept
 * attributes at their values there, each NUL-terminated in place of its
 * newline. The arena is not touched until the request is whole.
 */
static void
pp_fill(const char *buf, size_t reqlen, const struct pp_spans *sp,
    struct policy_req *req)
{
	char	*copy;
	size_t	 i;

	if (buf_append(&req->arena, buf, reqlen) < 0)
		msg_panic("pp_fill: arena limit");
	copy = req->arena.data;
	for (i = 0; i < POLICY_NFIELDS; i++) {
		if (!sp->seen[i])
			continue;
		copy[sp->off[i] + sp->len[i]] = '\0';
		*pp_field_ptr(req, i) = copy + sp->off[i];
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
	const char *line, *nl, *eq;
	struct pp_spans spans;

	pp_clear(req);
	*why_r = PP_ERR_NONE;
	memset(spans.seen, 0, sizeof(spans.seen));

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
			pp_fill(buf, pos, &spans, req);
			req->nattrs = nattrs;
			return PP_DONE;
		}
		if (line[0] == '=')
			return pp_fail(PP_ERR_EMPTY_NAME, why_r);
		if ((eq = memchr(line, '=', llen)) == NULL)
			return pp_fail(PP_ERR_NO_EQUALS, why_r);
		if (++nattrs > POLICY_ATTR_MAX)
			return pp_fail(PP_ERR_TOO_MANY_ATTRS, why_r);
		pp_note(&spans, buf, line, eq, llen);
	}
	/* POLICY_REQUEST_MAX bytes and no end in sight: it cannot fit */
	if (len >= POLICY_REQUEST_MAX)
		return pp_fail(PP_ERR_REQUEST_TOO_LARGE, why_r);
	return PP_AGAIN;
}

void
pp_set(struct policy_req *req, const char *const vals[POLICY_NFIELDS],
    size_t nattrs)
{
	size_t	 i, off[POLICY_NFIELDS];

	pp_clear(req);
	/* the arena may move while it grows: offsets become pointers at the
	 * end */
	for (i = 0; i < POLICY_NFIELDS; i++) {
		off[i] = req->arena.len;
		if (vals[i] != NULL &&
		    buf_append(&req->arena, vals[i], strlen(vals[i]) + 1) < 0)
			msg_panic("pp_set: arena limit");
	}
	for (i = 0; i < POLICY_NFIELDS; i++)
		*pp_field_ptr(req, i) = vals[i] != NULL ?
		    req->arena.data + off[i] : NULL;
	req->nattrs = nattrs;
}

/* policy_req_free - release the arena; req may be reused */
void
policy_req_free(struct policy_req *req)
{
	pp_clear(req);
	buf_free(&req->arena);
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
	size_t	 start = out->len, alen = strlen(action);

	if (memchr(action, '\n', alen) != NULL)
		msg_panic("pp_format_reply: newline in action");
	if (buf_append(out, "action=", 7) < 0 ||
	    buf_append(out, action, alen) < 0 ||
	    buf_append(out, "\n\n", 2) < 0) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}

char *
pp_reply_value(const char *buf, size_t len, const char *name)
{
	const char *line, *end = buf + len, *nl;
	size_t	 llen, nlen = strlen(name);

	for (line = buf; line < end; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		llen = (size_t)(nl - line);
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen == 0)
			break;
		if (llen > nlen && line[nlen] == '=' &&
		    memcmp(line, name, nlen) == 0)
			return xstrndup(line + nlen + 1, llen - nlen - 1);
	}
	return NULL;
}
