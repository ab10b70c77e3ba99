/*
 * fuzz_fence - libFuzzer target for the standby replay fences
 * (core/fence.c): hostile NOTIFY payloads (any role may NOTIFY), WAL
 * positions as PostgreSQL prints them (pg_lsn), and the order of
 * messages, position queries, reconnections and lookups.
 *
 *   make fuzz FUZZ_TARGETS=fence	(build/fuzz/fuzz_fence)
 *
 * Input: a pg_lsn text up to the first NUL byte, then operations until
 * the input ends, each an opcode byte (mod 4) and its operands:
 *   0 raise   payload (a string up to NUL): handed over with the next tag
 *   1 settle  tag back (byte), lsn step (2 bytes), time step (byte)
 *   2 reset   tag back (byte), lsn step (2 bytes), time step (byte)
 *   3 check   key (a string up to NUL), replay lsn (2 bytes: from 0x8000
 *             that much above the last position, else below it)
 * "Tag back" counts back from the last tag handed over (a position
 * query sent before the latest messages arrived). Positions only grow,
 * as the primary's WAL insert position does. Time steps are 64 ms
 * each, so that FENCE_HOLD_MS passes now and then.
 *
 * A model kept here records every message, its tag and whether it was
 * settled (and at which position) or reset, and every reset.
 *
 * Invariants (a violation aborts):
 *   - fence_lsn_parse() takes exactly "X/Y", 1 to 8 hex digits each,
 *     and "%X/%X" of its value reads back the same;
 *   - safety: a standby's answer for key K is kept (FENCE_PASSED) only
 *     when every message naming K, K's domain or everything (junk
 *     included) was settled, by a settle or a reset of its tag or a
 *     later one, at a position the standby had replayed, and the
 *     standby had replayed the last reset's position; never before the
 *     first reset (FENCE_UNKNOWN exactly then);
 *   - liveness: once nothing is pending, a standby that replayed every
 *     position given is never held back;
 *   - at most FENCE_KEYS_MAX fences of their own.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cachefmt.h"
#include "core/fence.h"
#include "fuzz.h"
#include "util/xalloc.h"

#define FF_MSGS_MAX	512	/* messages the model keeps */
#define FF_STEP_MS	64
#define FF_PENDING	UINT64_MAX

struct ff_msg {
	enum cachefmt_inval kind;
	char	*arg;		/* KEY, DOMAIN: the text */
	uint64_t tag;
	uint64_t lsn;		/* FF_PENDING until settled or reset */
};

struct ff_model {
	struct ff_msg m[FF_MSGS_MAX];
	size_t	 n;
	uint64_t tag;		/* the last handed over */
	bool	 up;		/* a reset happened */
	uint64_t reset_lsn;	/* the highest reset */
	uint64_t max_lsn;	/* the highest position given */
};

static void
ff_lsn_text(const char *s)
{
	uint64_t v;
	const char *slash = strchr(s, '/');
	size_t	 h, l;
	bool	 want;
	char	 back[FENCE_LSN_TEXT_MAX + 1];

	h = slash != NULL ? (size_t)(slash - s) : 0;
	l = slash != NULL ? strlen(slash + 1) : 0;
	want = slash != NULL && h >= 1 && h <= 8 && l >= 1 && l <= 8 &&
	    strspn(s, "0123456789abcdefABCDEF") == h &&
	    strspn(slash + 1, "0123456789abcdefABCDEF") == l;
	if (fence_lsn_parse(s, &v) < 0) {
		FUZZ_ASSERT(!want);
		return;
	}
	FUZZ_ASSERT(want);
	snprintf(back, sizeof(back), "%" PRIX64 "/%" PRIX64, v >> 32,
	    (uint64_t)(v & 0xffffffffU));
	FUZZ_ASSERT(fence_lsn_parse(back, &v) == 0);
	FUZZ_ASSERT(strcasecmp(back, s) == 0 || strlen(back) < strlen(s));
}

/* ff_names - message m names key[0..klen) */
static bool
ff_names(const struct ff_msg *m, const char *key, size_t klen)
{
	size_t	 off, dlen;

	switch (m->kind) {
	case CACHEFMT_INVAL_KEY:
		return strlen(m->arg) == klen && memcmp(m->arg, key, klen) == 0;
	case CACHEFMT_INVAL_DOMAIN:
		cachefmt_key_domain(key, klen, &off, &dlen);
		return strlen(m->arg) == dlen &&
		    memcmp(m->arg, key + off, dlen) == 0;
	case CACHEFMT_INVAL_ALL:
		return true;
	}
	return true;
}

static void
ff_check(struct fence *f, const struct ff_model *md, const char *key,
    uint64_t replay, uint64_t now)
{
	size_t	 klen = strlen(key), i;
	enum fence_state st = fence_check(f, key, klen, replay, now);
	bool	 pending = false;

	FUZZ_ASSERT((st == FENCE_UNKNOWN) == !md->up);
	for (i = 0; i < md->n; i++)
		if (md->m[i].lsn == FF_PENDING)
			pending = true;
	if (st == FENCE_PASSED) {
		FUZZ_ASSERT(replay >= md->reset_lsn);
		/* keys that are never cached need no fence of their own */
		if (cachefmt_cacheable(key, klen))
			for (i = 0; i < md->n; i++)
				if (ff_names(&md->m[i], key, klen))
					FUZZ_ASSERT(md->m[i].lsn != FF_PENDING &&
					    md->m[i].lsn <= replay);
	}
	if (md->up && !pending && replay >= md->max_lsn)
		FUZZ_ASSERT(st == FENCE_PASSED);
}

static void
ff_raise(struct fence *f, struct ff_model *md, const char *payload)
{
	struct ff_msg *m;
	const char *arg;

	if (md->n == FF_MSGS_MAX)
		return;
	m = &md->m[md->n++];
	if (cachefmt_inval_parse(payload, &m->kind, &arg) < 0) {
		/* junk counts as "all" */
		m->kind = CACHEFMT_INVAL_ALL;
		arg = "";
	}
	m->arg = xstrdup(arg);
	m->tag = ++md->tag;
	m->lsn = FF_PENDING;
	fence_raise(f, payload, m->tag);
}

int
FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct ff_model *md = xcalloc(1, sizeof(*md));
	struct fence *f = fence_new(0x0123456789abcdefULL, 42);
	uint64_t now = 1000, lsn, tag;
	char	*s = fuzz_str(&in);
	size_t	 i;
	unsigned op;
	bool	 reset;

	ff_lsn_text(s);
	free(s);
	while (in.n > 0) {
		op = fuzz_byte(&in) % 4;
		switch (op) {
		case 0:
			s = fuzz_str(&in);
			ff_raise(f, md, s);
			free(s);
			break;
		case 1:
		case 2:
			reset = op == 2;
			tag = fuzz_byte(&in);
			tag = tag > md->tag ? 0 : md->tag - tag;
			lsn = md->max_lsn + fuzz_u16(&in);
			now += FF_STEP_MS * fuzz_byte(&in);
			if (reset) {
				fence_reset(f, tag, lsn, now);
				md->up = true;
				md->reset_lsn = lsn;
			} else if (tag > 0) {
				fence_settle(f, tag, lsn, now);
			} else {
				break;
			}
			md->max_lsn = lsn;
			for (i = 0; i < md->n; i++)
				if (md->m[i].tag <= tag &&
				    md->m[i].lsn == FF_PENDING)
					md->m[i].lsn = lsn;
			break;
		case 3:
			s = fuzz_str(&in);
			lsn = fuzz_u16(&in);
			if (lsn >= 0x8000)
				lsn = md->max_lsn + (lsn - 0x8000);
			else
				lsn = md->max_lsn > lsn ? md->max_lsn - lsn : 0;
			ff_check(f, md, s, lsn, now);
			free(s);
			break;
		}
		FUZZ_ASSERT(fence_count(f) <= FENCE_KEYS_MAX);
	}
	for (i = 0; i < md->n; i++)
		free(md->m[i].arg);
	free(md);
	fence_free(&f);
	FUZZ_ASSERT(f == NULL);
	return 0;
}
