/*
 * fuzz_policy - libFuzzer target for the policy protocol parser.
 *
 *   make fuzz FUZZ_TARGETS=policy	(build/fuzz/fuzz_policy)
 *
 * The input is a byte stream from a client. It is parsed the way the
 * daemon does, request after request, and every answer is checked for
 * consistency: a DONE request ends in "\n", holds no NUL, its strict
 * prefixes are incomplete and its values contain no newline; AGAIN only
 * happens below POLICY_REQUEST_MAX; an ERROR has a reason. Violations
 * abort, so the sanitizers and libFuzzer report them as crashes.
 *
 * The corpus is tests/fuzz/corpus/policy and the golden .in files;
 * tests/unit/check_fuzz_replay.c replays it under `make check` without
 * clang (see fuzz.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proto/policy.h"
#include "util/buf.h"

#define FUZZ_REPLY_MAX	(POLICY_LINE_MAX + 64)	/* "action=" value "\n\n" */

/* fuzz_value - a parsed value is a line fragment: no NUL, no newline */
static void
fuzz_value(const char *v)
{
	struct buf out;

	if (v == NULL)
		return;
	FUZZ_ASSERT(strlen(v) <= POLICY_LINE_MAX);
	FUZZ_ASSERT(strchr(v, '\n') == NULL);
	/* so it is always safe to echo in a reply */
	buf_init(&out, FUZZ_REPLY_MAX);
	FUZZ_ASSERT(pp_format_reply(&out, v) == 0);
	FUZZ_ASSERT(out.len == strlen(v) + sizeof("action=\n\n") - 1);
	buf_free(&out);
}

int
FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct policy_req req = { 0 }, again = { 0 };
	size_t	 off = 0, rem, consumed, consumed2;
	enum pp_error why;
	enum pp_status st;

	while (off < size) {
		rem = size - off;
		st = pp_parse(p + off, rem, &req, &consumed, &why);
		switch (st) {
		case PP_DONE:
			FUZZ_ASSERT(why == PP_ERR_NONE);
			FUZZ_ASSERT(consumed > 0 && consumed <= rem);
			FUZZ_ASSERT(consumed <= POLICY_REQUEST_MAX);
			FUZZ_ASSERT(p[off + consumed - 1] == '\n');
			FUZZ_ASSERT(memchr(p + off, '\0', consumed) == NULL);
			FUZZ_ASSERT(req.nattrs <= POLICY_ATTR_MAX);
			fuzz_value(req.request);
			fuzz_value(req.protocol_state);
			fuzz_value(req.protocol_name);
			fuzz_value(req.client_address);
			fuzz_value(req.client_name);
			fuzz_value(req.client_port);
			fuzz_value(req.reverse_client_name);
			fuzz_value(req.helo_name);
			fuzz_value(req.sender);
			fuzz_value(req.recipient);
			fuzz_value(req.queue_id);
			fuzz_value(req.instance);
			fuzz_value(req.sasl_username);
			/* the request alone parses the same way ... */
			FUZZ_ASSERT(pp_parse(p + off, consumed, &again,
			    &consumed2, &why) == PP_DONE);
			FUZZ_ASSERT(consumed2 == consumed);
			FUZZ_ASSERT(again.nattrs == req.nattrs);
			policy_req_free(&again);
			/* ... and one byte less is not yet a request */
			FUZZ_ASSERT(pp_parse(p + off, consumed - 1, &again,
			    &consumed2, &why) == PP_AGAIN);
			off += consumed;
			break;
		case PP_AGAIN:
			FUZZ_ASSERT(why == PP_ERR_NONE);
			FUZZ_ASSERT(rem < POLICY_REQUEST_MAX);
			FUZZ_ASSERT(memchr(p + off, '\0', rem) == NULL);
			goto out;
		case PP_ERROR:
			FUZZ_ASSERT(why != PP_ERR_NONE);
			FUZZ_ASSERT(pp_strerror(why) != NULL);
			goto out;
		}
	}
out:
	policy_req_free(&req);
	policy_req_free(&again);
	return 0;
}
