/*
 * check_lru - the in-process cache tier with a fake clock: TTLs (fresh,
 * stale, gone), the entry and byte bounds, the segmented LRU order and
 * its resistance to floods of keys seen once, invalidation by key and
 * by domain and kind, and a randomised run against a reference model.
 * What an admin cares about: a "user unknown" answer must not outlive
 * its TTL, a stale answer is never reported fresh, and memory stays
 * within cache_max_entries / cache_max_bytes whatever the recipients.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lru.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define SEED0	0x0123456789abcdefULL
#define SEED1	0xfedcba9876543210ULL
#define BIG	(1024 * 1024)

static uint64_t
h(const char *key, size_t klen)
{
	return lru_hash(SEED0, SEED1, key, klen);
}

/* put key (a fact: data is its result) at "now" with a fresh life and a
 * stale life after it */
static bool
put_kind(struct lru *c, const char *key, enum lru_kind kind, uint32_t data,
    uint64_t now, uint64_t fresh, uint64_t stale)
{
	struct lru_val v = { 0 };
	const char *at = strrchr(key, '@');

	v.kind = kind;
	v.data = data;
	v.stored_ms = now;
	v.fresh_until_ms = now + fresh;
	v.stale_until_ms = now + fresh + stale;
	v.dom_off = at != NULL ? (size_t)(at - key) + 1 : 0;
	v.dom_len = strlen(key) - v.dom_off;
	return lru_put(c, key, strlen(key), h(key, strlen(key)), &v, now);
}

static bool
put(struct lru *c, const char *key, uint32_t data, uint64_t now,
    uint64_t fresh, uint64_t stale)
{
	return put_kind(c, key, LRU_KIND_FACT, data, now, fresh, stale);
}

static enum lru_state
get(struct lru *c, const char *key, uint64_t now, uint32_t *data)
{
	struct lru_hit hit;
	enum lru_state st = lru_get(c, key, strlen(key), h(key, strlen(key)),
	    now, &hit);

	if (data != NULL)
		*data = hit.data;
	return st;
}

static bool
del(struct lru *c, const char *key)
{
	return lru_del(c, key, strlen(key), h(key, strlen(key)));
}

/*
 * Ages: an answer stored at 1000 with 60 s fresh and 1 d stale life,
 * looked up at various times.
 */
static const struct {
	uint64_t at;
	enum lru_state want;
} age_cases[] = {
	{ 1000, LRU_FRESH },
	{ 1000 + 59999, LRU_FRESH },
	{ 1000 + 60000, LRU_STALE },		/* the TTL is exclusive */
	{ 1000 + 60000 + 86399999, LRU_STALE },
	{ 1000 + 60000 + 86400000, LRU_MISS },	/* gone */
	{ 1000 + 60000 + 86400000 + 1, LRU_MISS },
};

START_TEST(test_ages)
{
	struct lru *c = lru_new(10, BIG);
	uint32_t r;

	ck_assert(put(c, "nosuch@example.com", 7, 1000, 60000, 86400000));
	ck_assert_int_eq(get(c, "nosuch@example.com", age_cases[_i].at, &r),
	    age_cases[_i].want);
	if (age_cases[_i].want != LRU_MISS)
		ck_assert_uint_eq(r, 7);
	else
		ck_assert_uint_eq(lru_count(c), 0);	/* dropped when met */
	lru_free(&c);
	ck_assert_ptr_null(c);
}
END_TEST

/* no stale life: past the TTL the answer is simply gone */
START_TEST(test_no_stale)
{
	struct lru *c = lru_new(10, BIG);

	ck_assert(put(c, "john@example.com", 1, 0, 100, 0));
	ck_assert_int_eq(get(c, "john@example.com", 99, NULL), LRU_FRESH);
	ck_assert_int_eq(get(c, "john@example.com", 100, NULL), LRU_MISS);
	/* and one that is expired already is not stored at all */
	ck_assert(!put(c, "jane@example.com", 1, 500, 0, 0));
	ck_assert_uint_eq(lru_count(c), 0);
	lru_free(&c);
}
END_TEST

/* what is stored comes back: data, kind, times; replacing counts once */
START_TEST(test_values)
{
	struct lru *c = lru_new(10, BIG);
	struct lru_hit hit;
	const char *k = "team@example.com";

	ck_assert(put_kind(c, k, LRU_KIND_DECISION, 0x12345678, 5, 10, 10));
	ck_assert_int_eq(lru_get(c, k, strlen(k), h(k, strlen(k)), 6, &hit),
	    LRU_FRESH);
	ck_assert_int_eq(hit.kind, LRU_KIND_DECISION);
	ck_assert_uint_eq(hit.data, 0x12345678);
	ck_assert_uint_eq(hit.stored_ms, 5);
	ck_assert_uint_eq(hit.fresh_until_ms, 15);
	ck_assert(put(c, k, 2, 6, 10, 0));
	ck_assert_int_eq(lru_get(c, k, strlen(k), h(k, strlen(k)), 7, &hit),
	    LRU_FRESH);
	ck_assert_int_eq(hit.kind, LRU_KIND_FACT);
	ck_assert_uint_eq(hit.data, 2);
	ck_assert_uint_eq(lru_count(c), 1);
	ck_assert_uint_eq(lru_bytes(c), lru_entry_size(strlen(k)));
	lru_free(&c);
}
END_TEST

/* the entry bound, and least recently *used* (not stored) goes first */
START_TEST(test_entry_bound)
{
	struct lru *c = lru_new(3, BIG);

	put(c, "a@d", 1, 0, 1000, 0);
	put(c, "b@d", 1, 0, 1000, 0);
	put(c, "c@d", 1, 0, 1000, 0);
	ck_assert_int_eq(get(c, "a@d", 1, NULL), LRU_FRESH);	/* a is used */
	put(c, "d@d", 1, 2, 1000, 0);			/* b goes */
	ck_assert_uint_eq(lru_count(c), 3);
	ck_assert_int_eq(get(c, "b@d", 3, NULL), LRU_MISS);
	ck_assert_int_eq(get(c, "a@d", 3, NULL), LRU_FRESH);
	ck_assert_int_eq(get(c, "c@d", 3, NULL), LRU_FRESH);
	ck_assert_int_eq(get(c, "d@d", 3, NULL), LRU_FRESH);
	ck_assert_uint_eq(lru_stats(c)->evicted, 1);
	/* shrinking the bound evicts at once */
	lru_set_limits(c, 1, BIG);
	ck_assert_uint_eq(lru_count(c), 1);
	ck_assert_int_eq(get(c, "d@d", 3, NULL), LRU_FRESH);
	lru_free(&c);
}
END_TEST

/* the byte bound: long keys push out old entries; too big never fits */
START_TEST(test_byte_bound)
{
	size_t	 max = 4 * lru_entry_size(200);
	struct lru *c = lru_new(1000, max);
	char	 key[201], huge[LRU_KEY_MAX + 2];
	int	 i;

	for (i = 0; i < 50; i++) {
		memset(key, 'k', 200);
		snprintf(key + 180, 21, "%019d@", i);
		ck_assert(put(c, key, 1, (uint64_t)i, 1000, 0));
		ck_assert_uint_le(lru_bytes(c), max);
	}
	ck_assert_uint_le(lru_count(c), 4);
	ck_assert_int_eq(get(c, key, 60, NULL), LRU_FRESH);
	memset(huge, 'h', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	ck_assert(!put(c, huge, 1, 61, 1000, 0));
	ck_assert_int_eq(get(c, key, 62, NULL), LRU_FRESH);
	lru_free(&c);
}
END_TEST

/* a cache with no room keeps nothing (cache_max_entries = 0) */
START_TEST(test_zero)
{
	struct lru *c = lru_new(0, 0);

	ck_assert(!put(c, "a@d", 1, 0, 1000, 0));
	ck_assert_int_eq(get(c, "a@d", 1, NULL), LRU_MISS);
	ck_assert_uint_eq(lru_count(c), 0);
	ck_assert_uint_eq(lru_bytes(c), 0);
	lru_free(&c);
}
END_TEST

/*
 * Invalidation: by key (a:), by domain (d:) - every key of the domain,
 * address keys, the catch-all key and the domain key itself, and no
 * other domain's, not even a suffix - and everything.
 */
START_TEST(test_invalidate)
{
	struct lru *c = lru_new(100, BIG);
	static const char *const keys[] = {
		"john@example.com", "@example.com", "example.com",
		"john@sub.example.com", "john@example.community",
		"example.com@example.org", "bob@example.org", "example.org",
	};
	size_t	 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert(put(c, keys[i], 1, 0, 1000, 0));
	ck_assert(del(c, "bob@example.org"));
	ck_assert(!del(c, "bob@example.org"));
	/* one kind at a time: decisions of a domain, not its facts */
	ck_assert(put_kind(c, "ann@example.com", LRU_KIND_DECISION, 0, 0,
	    1000, 0));
	ck_assert_uint_eq(lru_del_domain(c, "example.com", 11,
	    LRU_KIND_DECISION), 1);
	ck_assert_uint_eq(lru_del_domain(c, "example.com", 11,
	    LRU_KIND_FACT | LRU_KIND_DECISION), 3);
	ck_assert_int_eq(get(c, "john@example.com", 1, NULL), LRU_MISS);
	ck_assert_int_eq(get(c, "@example.com", 1, NULL), LRU_MISS);
	ck_assert_int_eq(get(c, "example.com", 1, NULL), LRU_MISS);
	ck_assert_int_eq(get(c, "john@sub.example.com", 1, NULL), LRU_FRESH);
	ck_assert_int_eq(get(c, "john@example.community", 1, NULL),
	    LRU_FRESH);
	ck_assert_int_eq(get(c, "example.com@example.org", 1, NULL),
	    LRU_FRESH);
	ck_assert_int_eq(get(c, "example.org", 1, NULL), LRU_FRESH);
	lru_clear(c);
	ck_assert_uint_eq(lru_count(c), 0);
	ck_assert_uint_eq(lru_bytes(c), 0);
	ck_assert_int_eq(get(c, "example.org", 1, NULL), LRU_MISS);
	lru_free(&c);
}
END_TEST

/* keys are bytes: NUL inside, prefixes, and case are all distinct */
START_TEST(test_binary_keys)
{
	struct lru *c = lru_new(100, BIG);
	struct lru_val v = { LRU_KIND_FACT, 1, 0, 100, 100, 0, 0 };
	struct lru_hit hit;

	ck_assert(lru_put(c, "a\0b", 3, h("a\0b", 3), &v, 0));
	ck_assert_int_eq(lru_get(c, "a", 1, h("a", 1), 1, &hit), LRU_MISS);
	ck_assert_int_eq(lru_get(c, "a\0c", 3, h("a\0c", 3), 1, &hit),
	    LRU_MISS);
	ck_assert_int_eq(lru_get(c, "a\0b", 3, h("a\0b", 3), 1, &hit),
	    LRU_FRESH);
	ck_assert(put(c, "John@example.com", 1, 0, 100, 0));
	ck_assert_int_eq(get(c, "john@example.com", 1, NULL), LRU_MISS);
	/* a domain span outside the key is refused, not read past */
	v.dom_off = 2;
	v.dom_len = 5;
	ck_assert(!lru_put(c, "abc", 3, h("abc", 3), &v, 0));
	lru_free(&c);
}
END_TEST

/*
 * Scan resistance: keys asked for twice survive a flood of keys seen
 * once (a dictionary attack of unknown recipients), which only churns
 * the probation segment.
 */
START_TEST(test_scan_resistance)
{
	const size_t max = 1000;
	struct lru *c = lru_new(max, BIG * 64);
	char	 key[64];
	uint64_t now = 1;
	size_t	 i, kept = 0;

	for (i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "user%zu@example.com", i);
		ck_assert(put(c, key, 1, now, 1000000, 0));
		ck_assert_int_eq(get(c, key, now, NULL), LRU_FRESH);
	}
	for (i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "x%zu@example.com", i);
		ck_assert(put(c, key, 2, now, 1000000, 0));
		ck_assert_uint_le(lru_count(c), max);
	}
	for (i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "user%zu@example.com", i);
		kept += get(c, key, now, NULL) == LRU_FRESH;
	}
	ck_assert_uint_eq(kept, 500);
	ck_assert_uint_ge(lru_stats(c)->evicted, 100000 - max);
	lru_free(&c);
}
END_TEST

/*
 * A random run against a plain array model with the same rules (two
 * segments: new entries on probation, a hit promotes, the protected
 * segment holds at most LRU_PROTECTED_PCT of the entries and demotes its
 * least recently used; eviction takes probation's least recently used
 * first); after every step the bounds hold and every lookup agrees.
 */
#define MODEL_MAX	64

struct model_entry {
	char	 key[16];
	uint64_t fresh_until, stale_until, used;
	bool	 live, protected;
};

static struct model_entry model[MODEL_MAX];
static uint64_t model_tick;

static struct model_entry *
model_find(const char *key)
{
	int	 i;

	for (i = 0; i < MODEL_MAX; i++)
		if (model[i].live && strcmp(model[i].key, key) == 0)
			return &model[i];
	return NULL;
}

static size_t
model_count(int protected)
{
	size_t	 n = 0;
	int	 i;

	for (i = 0; i < MODEL_MAX; i++)
		n += model[i].live && (protected < 0 ||
		    model[i].protected == (protected == 1));
	return n;
}

/* model_lru - the least recently used entry of a segment, or NULL */
static struct model_entry *
model_lru(bool protected)
{
	struct model_entry *lru = NULL;
	int	 i;

	for (i = 0; i < MODEL_MAX; i++)
		if (model[i].live && model[i].protected == protected &&
		    (lru == NULL || model[i].used < lru->used))
			lru = &model[i];
	return lru;
}

START_TEST(test_random)
{
	const size_t max = 8, pmax = max * LRU_PROTECTED_PCT / 100;
	struct lru *c = lru_new(max, BIG);
	uint64_t now = 0;
	unsigned seed = 12345;
	int	 step, i;

	memset(model, 0, sizeof(model));
	model_tick = 0;
	for (step = 0; step < 20000; step++) {
		char	 key[16];
		unsigned op = (unsigned)rand_r(&seed) % 10;
		struct model_entry *m, *v;
		bool	 prot;

		snprintf(key, sizeof(key), "k%u@d%u",
		    (unsigned)rand_r(&seed) % 20, (unsigned)rand_r(&seed) % 3);
		now += (uint64_t)(rand_r(&seed) % 50);
		m = model_find(key);
		if (op < 5) {
			enum lru_state st = get(c, key, now, NULL), want;

			if (m == NULL || now >= m->stale_until) {
				want = LRU_MISS;
				if (m != NULL)
					m->live = false;
			} else {
				want = now < m->fresh_until ? LRU_FRESH :
				    LRU_STALE;
				m->protected = true;
				m->used = ++model_tick;
				while (model_count(1) > pmax) {
					v = model_lru(true);
					v->protected = false;
					v->used = ++model_tick;
				}
			}
			ck_assert_int_eq(st, want);
		} else if (op < 9) {
			uint64_t fresh = (uint64_t)(rand_r(&seed) % 300);
			uint64_t stale = (uint64_t)(rand_r(&seed) % 300);

			prot = m != NULL && m->protected;
			if (m != NULL)
				m->live = false;
			if (fresh + stale == 0)
				continue;
			ck_assert(put(c, key, 1, now, fresh, stale));
			if (model_count(-1) == max) {
				v = model_lru(false);
				if (v == NULL)
					v = model_lru(true);
				v->live = false;
			}
			for (i = 0; i < MODEL_MAX && model[i].live; i++)
				;
			ck_assert_int_lt(i, MODEL_MAX);
			snprintf(model[i].key, sizeof(model[i].key), "%s", key);
			model[i].fresh_until = now + fresh;
			model[i].stale_until = now + fresh + stale;
			model[i].used = ++model_tick;
			model[i].protected = prot;
			model[i].live = true;
		} else {
			ck_assert_int_eq(del(c, key), m != NULL);
			if (m != NULL)
				m->live = false;
		}
		ck_assert_uint_le(lru_count(c), max);
		ck_assert_uint_eq(lru_count(c), model_count(-1));
	}
	lru_free(&c);
}
END_TEST

static Suite *
lru_suite(void)
{
	Suite	*s = suite_create("lru");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_ages, 0,
	    sizeof(age_cases) / sizeof(age_cases[0]));
	tcase_add_test(tc, test_no_stale);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_entry_bound);
	tcase_add_test(tc, test_byte_bound);
	tcase_add_test(tc, test_zero);
	tcase_add_test(tc, test_invalidate);
	tcase_add_test(tc, test_binary_keys);
	tcase_add_test(tc, test_scan_resistance);
	tcase_add_test(tc, test_random);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(lru_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? 0 : 1;
}
