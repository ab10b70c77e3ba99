/*
 * fence - the replay fences of one database server's invalidation
 * messages. See fence.h.
 *
 * A hash table (chains, FENCE_BUCKETS heads) of the keys and domains
 * that have a fence of their own, each also on one of two lists: the
 * pending ones in the order of their tags (a raise moves an entry to
 * the end with the newest tag, so a settle takes them from the front),
 * and the settled ones in the order they were settled (the oldest join
 * the global fence from the front). Every operation is O(1) per entry
 * it touches; fence_check() does two lookups.
 *
 * Depends on: libc, util/xalloc, core/cachefmt. Pure: no I/O, no clock.
 *
 * Security: see fence.h. Keys are attacker-chosen (NOTIFY payloads):
 * the table is bounded and keyed with random seeds.
 */
#include <sys/queue.h>
#include <stdlib.h>
#include <string.h>

#include "core/cachefmt.h"
#include "core/fence.h"
#include "util/xalloc.h"

#define FENCE_KIND_KEY		'a'	/* as in the messages */
#define FENCE_KIND_DOMAIN	'd'
#define FENCE_TAG_NONE		0
#define FENCE_HEX_DIGITS	8	/* of each half of a pg_lsn */

struct fence_ent {
	struct fence_ent *hnext;
	TAILQ_ENTRY(fence_ent) link;	/* on pending or on settled */
	uint64_t hash;
	uint64_t lsn;		/* the settled fence; 0: none yet */
	uint64_t tag;		/* pending since this tag; 0: settled */
	uint64_t settled_ms;
	size_t	 len;
	char	 key[];		/* the kind, then the text */
};

TAILQ_HEAD(fence_list, fence_ent);

struct fence {
	uint64_t seed0, seed1;
	struct fence_ent **b;
	struct fence_list pending;	/* by tag */
	struct fence_list settled;	/* by settled_ms */
	size_t	 n;
	uint64_t glsn;		/* the global fence */
	uint64_t gtag;		/* the global one is pending since (0: no) */
	bool	 up;		/* a fence_reset() happened */
};

static uint64_t
max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* ent_key - kind and text into buf; false when text needs no fence */
static bool
ent_key(char buf[1 + CACHEFMT_KEY_MAX], char kind, const char *text,
    size_t len, size_t *blen_r)
{
	if (!cachefmt_cacheable(text, len))
		return false;
	buf[0] = kind;
	memcpy(buf + 1, text, len);
	*blen_r = len + 1;
	return true;
}

static struct fence_ent *
ent_find(const struct fence *f, const char *k, size_t len, uint64_t h)
{
	struct fence_ent *e;

	for (e = f->b[h % FENCE_BUCKETS]; e != NULL; e = e->hnext) {
		if (e->hash == h && e->len == len &&
		    memcmp(e->key, k, len) == 0)
			return e;
	}
	return NULL;
}

static void
ent_unhash(struct fence *f, struct fence_ent *e)
{
	struct fence_ent **pp;

	for (pp = &f->b[e->hash % FENCE_BUCKETS]; *pp != e;
	    pp = &(*pp)->hnext)
		;
	*pp = e->hnext;
}

/* ent_fold - e joins the global fence and goes */
static void
ent_fold(struct fence *f, struct fence_ent *e)
{
	if (e->tag != FENCE_TAG_NONE) {
		f->gtag = max64(f->gtag, e->tag);
		TAILQ_REMOVE(&f->pending, e, link);
	} else {
		TAILQ_REMOVE(&f->settled, e, link);
	}
	f->glsn = max64(f->glsn, e->lsn);
	ent_unhash(f, e);
	f->n--;
	free(e);
}

/* fold_old - settled fences older than FENCE_HOLD_MS join the global */
static void
fold_old(struct fence *f, uint64_t now_ms)
{
	struct fence_ent *e;

	while ((e = TAILQ_FIRST(&f->settled)) != NULL &&
	    e->settled_ms + FENCE_HOLD_MS <= now_ms)
		ent_fold(f, e);
}

static void
fold_all(struct fence *f)
{
	struct fence_ent *e;

	while ((e = TAILQ_FIRST(&f->pending)) != NULL)
		ent_fold(f, e);
	while ((e = TAILQ_FIRST(&f->settled)) != NULL)
		ent_fold(f, e);
}

/* raise_one - a pending fence for kind:text */
static void
raise_one(struct fence *f, char kind, const char *text, uint64_t tag)
{
	char	 k[1 + CACHEFMT_KEY_MAX];
	struct fence_ent *e;
	size_t	 len;
	uint64_t h;

	if (!ent_key(k, kind, text, strlen(text), &len))
		return;
	h = cachefmt_siphash(f->seed0, f->seed1, k, len);
	if ((e = ent_find(f, k, len, h)) != NULL) {
		if (e->tag != FENCE_TAG_NONE)
			TAILQ_REMOVE(&f->pending, e, link);
		else
			TAILQ_REMOVE(&f->settled, e, link);
	} else {
		if (f->n >= FENCE_KEYS_MAX)
			fold_all(f);
		e = xcalloc(1, sizeof(*e) + len);
		e->hash = h;
		e->len = len;
		memcpy(e->key, k, len);
		e->hnext = f->b[h % FENCE_BUCKETS];
		f->b[h % FENCE_BUCKETS] = e;
		f->n++;
	}
	e->tag = tag;
	TAILQ_INSERT_TAIL(&f->pending, e, link);
}

struct fence *
fence_new(uint64_t seed0, uint64_t seed1)
{
	struct fence *f = xcalloc(1, sizeof(*f));

	f->seed0 = seed0;
	f->seed1 = seed1;
	f->b = xcalloc(FENCE_BUCKETS, sizeof(f->b[0]));
	TAILQ_INIT(&f->pending);
	TAILQ_INIT(&f->settled);
	return f;
}

void
fence_free(struct fence **fp)
{
	struct fence *f = *fp;

	if (f == NULL)
		return;
	*fp = NULL;
	fold_all(f);
	free(f->b);
	free(f);
}

void
fence_raise(struct fence *f, const char *payload, uint64_t tag)
{
	enum cachefmt_inval kind;
	const char *arg;

	if (cachefmt_inval_parse(payload, &kind, &arg) < 0)
		kind = CACHEFMT_INVAL_ALL;	/* as the caches take junk */
	switch (kind) {
	case CACHEFMT_INVAL_KEY:
		raise_one(f, FENCE_KIND_KEY, arg, tag);
		break;
	case CACHEFMT_INVAL_DOMAIN:
		raise_one(f, FENCE_KIND_DOMAIN, arg, tag);
		break;
	case CACHEFMT_INVAL_ALL:
		f->gtag = max64(f->gtag, tag);
		break;
	}
}

void
fence_settle(struct fence *f, uint64_t tag, uint64_t lsn, uint64_t now_ms)
{
	struct fence_ent *e;

	if (f->gtag != FENCE_TAG_NONE && f->gtag <= tag) {
		f->glsn = max64(f->glsn, lsn);
		f->gtag = FENCE_TAG_NONE;
	}
	while ((e = TAILQ_FIRST(&f->pending)) != NULL && e->tag <= tag) {
		TAILQ_REMOVE(&f->pending, e, link);
		e->tag = FENCE_TAG_NONE;
		e->lsn = max64(e->lsn, lsn);
		e->settled_ms = now_ms;
		TAILQ_INSERT_TAIL(&f->settled, e, link);
	}
	fold_old(f, now_ms);
}

void
fence_reset(struct fence *f, uint64_t tag, uint64_t lsn, uint64_t now_ms)
{
	/*
	 * Not every pending fence: a message handed over after the
	 * position query was sent (tag higher) may have committed after
	 * lsn, and keeps its own or the global pending fence until a
	 * settle covers it.
	 */
	f->up = true;
	f->glsn = max64(f->glsn, lsn);
	fence_settle(f, tag, lsn, now_ms);
}

/* ent_passed - no fence of kind:text above replay_lsn */
static bool
ent_passed(const struct fence *f, char kind, const char *text, size_t tlen,
    uint64_t replay_lsn)
{
	char	 k[1 + CACHEFMT_KEY_MAX];
	const struct fence_ent *e;
	size_t	 len;

	if (!ent_key(k, kind, text, tlen, &len))
		return true;
	e = ent_find(f, k, len, cachefmt_siphash(f->seed0, f->seed1, k, len));
	return e == NULL || (e->tag == FENCE_TAG_NONE && replay_lsn >= e->lsn);
}

enum fence_state
fence_check(struct fence *f, const char *key, size_t klen,
    uint64_t replay_lsn, uint64_t now_ms)
{
	size_t	 off, dlen;

	fold_old(f, now_ms);
	if (!f->up)
		return FENCE_UNKNOWN;
	if (f->gtag != FENCE_TAG_NONE || replay_lsn < f->glsn)
		return FENCE_BEHIND;
	if (!ent_passed(f, FENCE_KIND_KEY, key, klen, replay_lsn))
		return FENCE_BEHIND;
	cachefmt_key_domain(key, klen, &off, &dlen);
	return ent_passed(f, FENCE_KIND_DOMAIN, key + off, dlen, replay_lsn) ?
	    FENCE_PASSED : FENCE_BEHIND;
}

size_t
fence_count(const struct fence *f)
{
	return f->n;
}

/* hex_part - 1 to FENCE_HEX_DIGITS hex digits up to end; -1 otherwise */
static int
hex_part(const char *s, const char *end, uint64_t *v_r)
{
	uint64_t v = 0;
	const char *p;
	int	 d;

	if (end == s || end - s > FENCE_HEX_DIGITS)
		return -1;
	for (p = s; p < end; p++) {
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*v_r = v;
	return 0;
}

int
fence_lsn_parse(const char *s, uint64_t *lsn_r)
{
	const char *slash;
	uint64_t hi, lo;

	if (s == NULL || (slash = strchr(s, '/')) == NULL ||
	    hex_part(s, slash, &hi) < 0 ||
	    hex_part(slash + 1, slash + 1 + strlen(slash + 1), &lo) < 0)
		return -1;
	*lsn_r = hi << 32 | lo;
	return 0;
}
