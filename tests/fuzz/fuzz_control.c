/*
 * fuzz_control - libFuzzer target for the control-socket codec
 * (proto/control.c): the replies vrcptctl reads from vrcptd on
 * control_listen, and the requests and replies both sides format.
 *
 *   make fuzz FUZZ_TARGETS=control	(build/fuzz/fuzz_control)
 *
 * Input: one byte of switches, then NUL-separated fields (fuzz.h): a
 * recipient and up to FCT_ATTRS_MAX attribute values; all of the input
 * after the switches is also a raw reply from the socket.
 *
 * Invariants (a violation aborts):
 *   - a raw reply that the framing accepts (pp_parse, as client/pclient
 *     reads it) is split by control_reply_parse() without an error, into
 *     at most CONTROL_ATTRS_MAX lines of a non-empty name without '='
 *     and a value, neither holding LF or NUL; control_reply_get()
 *     finds the first value of a name, as pp_reply_value() does;
 *   - one byte less of an accepted reply is not yet a reply;
 *   - a request formatted as vrcptctl formats it (control_attr,
 *     control_end) is one request for vrcptd's parser, whose request and
 *     recipient are what was sent with control characters made '?';
 *   - a reply formatted as vrcptd formats it (control_attr,
 *     control_attr_u) parses back to the same names and values.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proto/control.h"
#include "proto/policy.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define FCT_ATTRS_MAX	8	/* values taken from the input */

static const char *const fct_names[FCT_ATTRS_MAX] = {
	"action", "decision", "class", "tier", "dsn", "text", "error",
	"x"
};

/* fct_printable - what control_attr() makes of s (fresh) */
static char *
fct_printable(const char *s)
{
	char	*p = xstrdup(s), *q;

	for (q = p; *q != '\0'; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
	return p;
}

/* fct_raw - a reply from the socket, as vrcptctl reads it */
static void
fct_raw(const char *buf, size_t len)
{
	struct policy_req scratch = { 0 }, again = { 0 };
	struct control_reply r;
	enum pp_error why;
	size_t	 used, used2, i, j;
	const char *whyc;
	char	*pv;

	if (pp_parse(buf, len, &scratch, &used, &why) != PP_DONE) {
		policy_req_free(&scratch);
		return;
	}
	FUZZ_ASSERT(pp_parse(buf, used - 1, &again, &used2, &why) ==
	    PP_AGAIN);
	FUZZ_ASSERT(control_reply_parse(buf, used, &r, &whyc) == 0);
	FUZZ_ASSERT(r.n <= CONTROL_ATTRS_MAX && r.n == scratch.nattrs);
	for (i = 0; i < r.n; i++) {
		FUZZ_ASSERT(r.name[i][0] != '\0');
		FUZZ_ASSERT(strpbrk(r.name[i], "=\n") == NULL);
		FUZZ_ASSERT(strpbrk(r.value[i], "\n") == NULL);
		/* the first of its name is the one found */
		for (j = 0; j < i; j++)
			if (strcmp(r.name[j], r.name[i]) == 0)
				break;
		if (j == i) {
			FUZZ_ASSERT(control_reply_get(&r, r.name[i]) ==
			    r.value[i]);
			pv = pp_reply_value(buf, used, r.name[i]);
			FUZZ_ASSERT(pv != NULL && strcmp(pv, r.value[i]) == 0);
			free(pv);
		}
	}
	control_reply_free(&r);
	FUZZ_ASSERT(r.text == NULL && r.n == 0);
	policy_req_free(&scratch);
	policy_req_free(&again);
}

/* fct_request - a query as ctl/daemon.c formats it, as vrcptd reads it */
static void
fct_request(const char *rcpt, bool stats)
{
	struct policy_req req = { 0 };
	struct buf b;
	enum pp_error why;
	size_t	 used;
	char	*want;

	buf_init(&b, POLICY_REQUEST_MAX);
	control_attr(&b, "request", stats ? CONTROL_REQ_STATS :
	    CONTROL_REQ_QUERY);
	if (!stats)
		control_attr(&b, "recipient", rcpt);
	control_end(&b);
	if (b.len > POLICY_REQUEST_MAX || strlen(rcpt) > POLICY_LINE_MAX -
	    sizeof("recipient=") + 1) {
		/* vrcptctl refuses to send such an address */
		buf_free(&b);
		return;
	}
	FUZZ_ASSERT(pp_parse(b.data, b.len, &req, &used, &why) == PP_DONE);
	FUZZ_ASSERT(used == b.len);
	FUZZ_ASSERT(strcmp(req.request, stats ? CONTROL_REQ_STATS :
	    CONTROL_REQ_QUERY) == 0);
	if (!stats) {
		want = fct_printable(rcpt);
		FUZZ_ASSERT(req.recipient != NULL &&
		    strcmp(req.recipient, want) == 0);
		free(want);
	}
	policy_req_free(&req);
	buf_free(&b);
}

/* fct_reply - a reply as server/control.c formats it, read back */
static void
fct_reply(char *const *vals, size_t n, unsigned long long num)
{
	struct control_reply r;
	struct buf b;
	const char *why;
	char	*want;
	size_t	 i;

	buf_init(&b, 0);
	for (i = 0; i < n; i++)
		control_attr(&b, fct_names[i], vals[i]);
	control_attr_u(&b, "delay_us", num);
	control_end(&b);
	FUZZ_ASSERT(control_reply_parse(b.data, b.len, &r, &why) == 0);
	FUZZ_ASSERT(r.n == n + 1);
	for (i = 0; i < n; i++) {
		want = fct_printable(vals[i]);
		FUZZ_ASSERT(strcmp(r.name[i], fct_names[i]) == 0);
		FUZZ_ASSERT(strcmp(r.value[i], want) == 0);
		FUZZ_ASSERT(strcmp(control_reply_get(&r, fct_names[i]),
		    want) == 0);
		free(want);
	}
	want = xasprintf("%llu", num);
	FUZZ_ASSERT(strcmp(control_reply_get(&r, "delay_us"), want) == 0);
	free(want);
	control_reply_free(&r);
	buf_free(&b);
}

int
FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t	 flags = fuzz_byte(&in);
	char	*raw, *rcpt, *vals[FCT_ATTRS_MAX];
	size_t	 rlen, n = 0, i;
	struct fuzz_in fields;

	raw = fuzz_bytes(&in, in.n, &rlen);
	fct_raw(raw, rlen);
	fields.p = (const uint8_t *)raw;
	fields.n = rlen;
	rcpt = fuzz_str(&fields);
	while (fields.n > 0 && n < FCT_ATTRS_MAX)
		vals[n++] = fuzz_str(&fields);
	fct_request(rcpt, (flags & 1) != 0);
	fct_reply(vals, n, (unsigned long long)flags << 56 | rlen);
	for (i = 0; i < n; i++)
		free(vals[i]);
	free(rcpt);
	free(raw);
	return 0;
}
