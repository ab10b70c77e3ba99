/*
 * fuzz_socketmap - libFuzzer target for the socketmap netstring codec.
 *
 *   make fuzz FUZZ_TARGETS=socketmap	(build/fuzz/fuzz_socketmap)
 *
 * The input is a byte stream from a client, parsed the way vrcptd does,
 * request after request. Invariants: a DONE request is a whole netstring
 * (digits, ':', bytes, ','), no longer than SOCKETMAP_NETSTRING_MAX, its
 * name non-empty, without space or NUL, at most SOCKETMAP_NAME_MAX,
 * name and key inside it; every strict prefix of it is AGAIN; BAD
 * consumes a whole netstring too; AGAIN only happens below
 * SOCKETMAP_NETSTRING_MAX bytes; ERROR has a reason. Each reply kind
 * formats into a netstring that the parser and the client's reply
 * framing (socketmap_reply_frame) read back whole. The input read as a
 * reply: a whole one ends in ',' within the limits; "more" only below
 * them; a refusal has a reason.
 * Violations abort.
 *
 * tests/unit/check_socketmap.c includes this file to replay the corpus
 * under `make check` without clang.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proto/socketmap.h"
#include "util/buf.h"



/* sfuzz_reply - a reply made of the key reads back as one netstring */
static void
sfuzz_reply(const struct socketmap_req *req)
{
	static const enum socketmap_reply kinds[] = { SOCKETMAP_OK,
	    SOCKETMAP_NOTFOUND, SOCKETMAP_TEMP, SOCKETMAP_TIMEOUT,
	    SOCKETMAP_PERM };
	struct socketmap_req back;
	enum socketmap_error why;
	struct buf out;
	size_t	 i, used;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		buf_init(&out, 0);
		FUZZ_ASSERT(socketmap_format(&out, kinds[i], req->key,
		    req->key_len) == 0);
		/* a reply is a netstring: it parses, as far as the framing
		 * goes, unless it is longer than a request may be */
		if (out.len <= SOCKETMAP_NETSTRING_MAX) {
			enum socketmap_status st = socketmap_parse(out.data,
			    out.len, &back, &used, &why);

			FUZZ_ASSERT(st == SOCKETMAP_DONE ||
			    st == SOCKETMAP_BAD);
			FUZZ_ASSERT(used == out.len);
		}
		FUZZ_ASSERT(out.data[out.len - 1] == ',');
		/* the client reads it back whole, and no strict prefix */
		{
			const char *w = NULL;
			size_t	 u = 0, k;

			FUZZ_ASSERT(socketmap_reply_frame(out.data, out.len,
			    &u, &w) == 1 && u == out.len);
			for (k = 0; k < out.len; k += 1 + out.len / 16)
				FUZZ_ASSERT(socketmap_reply_frame(out.data, k,
				    &u, &w) == 0);
		}
		buf_free(&out);
	}
}

int
FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct socketmap_req req, again;
	enum socketmap_error why, why2;
	enum socketmap_status st;
	size_t	 off = 0, rem, used, used2, k;
	const char *rwhy = NULL;
	int	 rf;

	/* the same bytes as a reply, as vrcptctl reads one */
	rf = socketmap_reply_frame(p, size, &used, &rwhy);
	if (rf == 1)
		FUZZ_ASSERT(used >= 3 && used <= size && p[used - 1] == ',' &&
		    used <= SOCKETMAP_REPLY_MAX + SOCKETMAP_RLEN_DIGITS + 2);
	else if (rf < 0)
		FUZZ_ASSERT(rwhy != NULL);
	else
		FUZZ_ASSERT(size < SOCKETMAP_REPLY_MAX +
		    SOCKETMAP_RLEN_DIGITS + 2);
	while (off < size) {
		rem = size - off;
		st = socketmap_parse(p + off, rem, &req, &used, &why);
		switch (st) {
		case SOCKETMAP_DONE:
			FUZZ_ASSERT(why == SOCKETMAP_ERR_NONE);
			FUZZ_ASSERT(used > 0 && used <= rem);
			FUZZ_ASSERT(used <= SOCKETMAP_NETSTRING_MAX);
			FUZZ_ASSERT(p[off + used - 1] == ',');
			FUZZ_ASSERT(req.name_len > 0 &&
			    req.name_len <= SOCKETMAP_NAME_MAX);
			FUZZ_ASSERT(memchr(req.name, ' ', req.name_len) ==
			    NULL);
			FUZZ_ASSERT(memchr(req.name, '\0', req.name_len) ==
			    NULL);
			FUZZ_ASSERT(memchr(req.key, '\0', req.key_len) ==
			    NULL);
			FUZZ_ASSERT(req.name > p + off && req.key +
			    req.key_len == p + off + used - 1);
			FUZZ_ASSERT(req.key == req.name + req.name_len + 1);
			/* every strict prefix is incomplete (a few) */
			for (k = 0; k < used; k += 1 + used / 16) {
				FUZZ_ASSERT(socketmap_parse(p + off, k,
				    &again, &used2, &why2) ==
				    SOCKETMAP_AGAIN);
			}
			sfuzz_reply(&req);
			off += used;
			break;
		case SOCKETMAP_BAD:
			FUZZ_ASSERT(why != SOCKETMAP_ERR_NONE);
			FUZZ_ASSERT(used > 0 && used <= rem);
			FUZZ_ASSERT(p[off + used - 1] == ',');
			off += used;
			break;
		case SOCKETMAP_AGAIN:
			FUZZ_ASSERT(rem < SOCKETMAP_NETSTRING_MAX);
			return 0;
		case SOCKETMAP_ERROR:
			FUZZ_ASSERT(why != SOCKETMAP_ERR_NONE);
			FUZZ_ASSERT(socketmap_strerror(why) != NULL);
			return 0;
		}
	}
	return 0;
}
