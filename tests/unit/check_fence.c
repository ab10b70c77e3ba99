/*
 * check_fence - the replay fences: which answers read from a standby
 * may be kept after an invalidation, whatever the order in which the
 * messages and the primary's WAL positions arrive; the bounds; the
 * pg_lsn text.
 *
 * What an admin would notice: a mailbox created on the primary and
 * still "unknown" for the whole negative TTL because a lagging standby
 * was read right after the NOTIFY (an answer kept that should not
 * have been), or answers from an up-to-date standby never cached (a
 * fence that never goes), or memory growing with every NOTIFY.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cachefmt.h"
#include "core/fence.h"

#define SEED0	3
#define SEED1	4
#define T0	1000000		/* a wall clock, ms */

static bool
passed(struct fence *f, const char *key, uint64_t lsn, uint64_t now)
{
	return fence_check(f, key, strlen(key), lsn, now) == FENCE_PASSED;
}

static enum fence_state
state(struct fence *f, const char *key, uint64_t lsn)
{
	return fence_check(f, key, strlen(key), lsn, T0);
}

/* nothing is kept before the listener is up: it may have missed all */
START_TEST(test_start)
{
	struct fence *f = fence_new(SEED0, SEED1);

	ck_assert_int_eq(state(f, "john@example.com", UINT64_MAX),
	    FENCE_UNKNOWN);
	fence_settle(f, 1000, 100, T0);		/* no settle replaces it */
	ck_assert_int_eq(state(f, "john@example.com", UINT64_MAX),
	    FENCE_UNKNOWN);
	fence_reset(f, 0, 100, T0);
	ck_assert(passed(f, "john@example.com", 100, T0));
	ck_assert_int_eq(state(f, "john@example.com", 99), FENCE_BEHIND);
	ck_assert(!passed(f, "john@example.com", 0, T0));	/* unknown */
	fence_free(&f);
	ck_assert_ptr_null(f);
}
END_TEST

/*
 * "a:KEY": that key waits for the WAL position, the others do not; a
 * message that came after the position query was sent (tag 2) is not
 * settled by its answer (tag 1).
 */
START_TEST(test_key)
{
	struct fence *f = fence_new(SEED0, SEED1);

	fence_reset(f, 0, 100, T0);
	fence_raise(f, "a:new@example.com", 1);
	/* pending: its position is on its way, worth waiting for */
	ck_assert_int_eq(state(f, "new@example.com", UINT64_MAX),
	    FENCE_BEHIND);
	ck_assert(passed(f, "john@example.com", 100, T0));
	ck_assert(passed(f, "new@example.org", 100, T0));
	fence_raise(f, "a:other@example.com", 2);
	fence_settle(f, 1, 200, T0);
	ck_assert(!passed(f, "new@example.com", 199, T0));
	ck_assert(passed(f, "new@example.com", 200, T0));
	ck_assert(!passed(f, "other@example.com", UINT64_MAX, T0));
	fence_settle(f, 2, 250, T0);
	ck_assert(passed(f, "other@example.com", 250, T0));
	ck_assert(!passed(f, "other@example.com", 249, T0));
	/* raised again: pending again, then the higher position */
	fence_raise(f, "a:new@example.com", 3);
	ck_assert(!passed(f, "new@example.com", 200, T0));
	fence_settle(f, 3, 300, T0);
	ck_assert(!passed(f, "new@example.com", 299, T0));
	ck_assert(passed(f, "new@example.com", 300, T0));
	ck_assert_uint_eq(fence_count(f), 2);
	/* a position only raises a fence */
	fence_raise(f, "a:new@example.com", 4);
	fence_settle(f, 4, 150, T0);
	ck_assert(!passed(f, "new@example.com", 299, T0));
	fence_free(&f);
}
END_TEST

/* "d:DOMAIN": every key of the domain, as the caches drop them */
START_TEST(test_domain)
{
	struct fence *f = fence_new(SEED0, SEED1);

	fence_reset(f, 0, 100, T0);
	fence_raise(f, "d:example.com", 1);
	ck_assert(!passed(f, "john@example.com", UINT64_MAX, T0));
	ck_assert(!passed(f, "@example.com", UINT64_MAX, T0));
	ck_assert(!passed(f, "example.com", UINT64_MAX, T0));
	ck_assert(passed(f, "john@example.org", 100, T0));
	ck_assert(passed(f, "example.com.evil", 100, T0));
	fence_settle(f, 1, 500, T0);
	ck_assert(passed(f, "john@example.com", 500, T0));
	ck_assert(!passed(f, "example.com", 499, T0));
	fence_free(&f);
}
END_TEST

/* "all", and junk (taken as "all", as the caches take it) */
START_TEST(test_all)
{
	static const char *const payloads[] = { "all", "zzz", "a:", "",
	    "x:john@example.com" };
	size_t	 i;

	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		struct fence *f = fence_new(SEED0, SEED1);

		fence_reset(f, 0, 100, T0);
		fence_raise(f, payloads[i], 5);
		ck_assert_msg(!passed(f, "x@example.org", UINT64_MAX, T0),
		    "\"%s\"", payloads[i]);
		fence_settle(f, 4, 200, T0);
		ck_assert_msg(!passed(f, "x@example.org", UINT64_MAX, T0),
		    "\"%s\"", payloads[i]);
		fence_settle(f, 5, 300, T0);
		ck_assert(!passed(f, "x@example.org", 299, T0));
		ck_assert(passed(f, "x@example.org", 300, T0));
		ck_assert_uint_eq(fence_count(f), 0);
		fence_free(&f);
	}
}
END_TEST

/* a new LISTEN settles everything pending with its position */
START_TEST(test_reset)
{
	struct fence *f = fence_new(SEED0, SEED1);

	fence_reset(f, 0, 100, T0);
	fence_raise(f, "a:new@example.com", 1);
	fence_raise(f, "all", 2);
	fence_reset(f, 2, 400, T0);
	ck_assert(passed(f, "new@example.com", 400, T0));
	ck_assert(!passed(f, "new@example.com", 399, T0));
	ck_assert(!passed(f, "john@example.com", 399, T0));
	/* and a lower position lowers nothing */
	fence_reset(f, 2, 50, T0);
	ck_assert(!passed(f, "john@example.com", 399, T0));
	fence_free(&f);
}
END_TEST

/*
 * A message handed over after the new connection's position query was
 * sent (tag 1 and 2, the query at tag 0) may have committed after its
 * position: the reset leaves it pending (found by fuzz_fence: the reset
 * settled every pending fence, and an "all" raised before the first
 * reset was lost).
 */
static const struct {
	const char *payload;	/* raised with tag 1, before the reset */
	uint64_t reset_tag, reset_lsn, settle_lsn;
	const char *key;
} late_cases[] = {
	{ "a:new@example.com", 0, 100, 300, "new@example.com" },
	{ "d:example.com", 0, 100, 300, "new@example.com" },
	{ "all", 0, 100, 300, "john@example.org" },
	{ "junk", 0, 100, 300, "john@example.org" },
	/* settled first, then a reset at a lower position */
	{ "all", 1, 0, 37, "john@example.org" },
};

START_TEST(test_reset_late)
{
	struct fence *f = fence_new(SEED0, SEED1);

	fence_raise(f, late_cases[_i].payload, 1);
	if (late_cases[_i].reset_tag >= 1) {
		fence_settle(f, 1, late_cases[_i].settle_lsn, T0);
		fence_reset(f, late_cases[_i].reset_tag,
		    late_cases[_i].reset_lsn, T0);
		ck_assert(!passed(f, late_cases[_i].key,
		    late_cases[_i].settle_lsn - 1, T0));
		ck_assert(passed(f, late_cases[_i].key,
		    late_cases[_i].settle_lsn, T0));
		fence_free(&f);
		return;
	}
	fence_reset(f, late_cases[_i].reset_tag, late_cases[_i].reset_lsn,
	    T0);
	ck_assert_int_eq(state(f, late_cases[_i].key, UINT64_MAX),
	    FENCE_BEHIND);
	ck_assert(passed(f, "other@example.net", 100, T0) ==
	    (late_cases[_i].key[0] == 'n'));
	fence_settle(f, 1, late_cases[_i].settle_lsn, T0);
	ck_assert(!passed(f, late_cases[_i].key,
	    late_cases[_i].settle_lsn - 1, T0));
	ck_assert(passed(f, late_cases[_i].key, late_cases[_i].settle_lsn,
	    T0));
	fence_free(&f);
}
END_TEST

/* a settled fence joins the global one after FENCE_HOLD_MS */
START_TEST(test_hold)
{
	struct fence *f = fence_new(SEED0, SEED1);

	fence_reset(f, 0, 100, T0);
	fence_raise(f, "a:new@example.com", 1);
	fence_settle(f, 1, 200, T0);
	ck_assert(passed(f, "old@example.com", 100, T0 + FENCE_HOLD_MS - 1));
	ck_assert_uint_eq(fence_count(f), 1);
	ck_assert(!passed(f, "old@example.com", 100, T0 + FENCE_HOLD_MS));
	ck_assert(passed(f, "old@example.com", 200, T0 + FENCE_HOLD_MS));
	ck_assert_uint_eq(fence_count(f), 0);
	/* a pending one never goes by age: its position is not known */
	fence_raise(f, "a:late@example.com", 2);
	ck_assert(!passed(f, "late@example.com", UINT64_MAX,
	    T0 + 100 * FENCE_HOLD_MS));
	ck_assert_uint_eq(fence_count(f), 1);
	fence_free(&f);
}
END_TEST

/*
 * A flood of messages (a bulk import, or someone NOTIFYing junk keys):
 * the table stays bounded, and what left it is in the global fence,
 * pending ones pending until their tag is settled.
 */
START_TEST(test_bound)
{
	struct fence *f = fence_new(SEED0, SEED1);
	char	 k[64];
	size_t	 i;

	fence_reset(f, 0, 100, T0);
	fence_raise(f, "a:settled@example.com", 1);
	fence_settle(f, 1, 150, T0);
	for (i = 0; i <= FENCE_KEYS_MAX; i++) {
		snprintf(k, sizeof(k), "a:u%zu@example.com", i);
		fence_raise(f, k, 2);
		ck_assert_uint_le(fence_count(f), FENCE_KEYS_MAX);
	}
	ck_assert(!passed(f, "john@example.org", UINT64_MAX, T0));
	fence_settle(f, 2, 500, T0);
	ck_assert(passed(f, "john@example.org", 500, T0));
	ck_assert(!passed(f, "john@example.org", 499, T0));
	ck_assert(!passed(f, "settled@example.com", 499, T0));
	fence_free(&f);
}
END_TEST

/* a key too long to be cached needs no fence, and takes no room */
START_TEST(test_long_key)
{
	struct fence *f = fence_new(SEED0, SEED1);
	char	*p = malloc(CACHEFMT_KEY_MAX + 16);

	fence_reset(f, 0, 100, T0);
	memcpy(p, "a:", 2);
	memset(p + 2, 'x', CACHEFMT_KEY_MAX + 1);
	p[CACHEFMT_KEY_MAX + 3] = '\0';
	fence_raise(f, p, 1);
	ck_assert_uint_eq(fence_count(f), 0);
	ck_assert(passed(f, "john@example.com", 100, T0));
	/* one that fits does */
	p[CACHEFMT_KEY_MAX + 2] = '\0';
	fence_raise(f, p, 2);
	ck_assert_uint_eq(fence_count(f), 1);
	ck_assert(!passed(f, p + 2, UINT64_MAX, T0));
	free(p);
	fence_free(&f);
}
END_TEST

static const struct {
	const char *text;
	int	 rc;
	uint64_t lsn;
} lsn_cases[] = {
	{ "0/3000F68", 0, 0x3000F68ULL },
	{ "16/B374D848", 0, 0x16B374D848ULL },
	{ "FFFFFFFF/FFFFFFFF", 0, UINT64_MAX },
	{ "0/0", 0, 0 },
	{ "a/b", 0, 0xA0000000BULL },
	{ "", -1, 0 },
	{ "/", -1, 0 },
	{ "1/", -1, 0 },
	{ "/1", -1, 0 },
	{ "123456789/0", -1, 0 },
	{ "0/123456789", -1, 0 },
	{ "1/2/3", -1, 0 },
	{ "x/1", -1, 0 },
	{ " 1/2", -1, 0 },
	{ "1/2 ", -1, 0 },
	{ "-1/2", -1, 0 },
	{ "1/+2", -1, 0 },
	{ "12", -1, 0 },
};

START_TEST(test_lsn_parse)
{
	uint64_t lsn = 7;
	int	 rc;

	rc = fence_lsn_parse(lsn_cases[_i].text, &lsn);
	ck_assert_msg(rc == lsn_cases[_i].rc, "\"%s\": %d",
	    lsn_cases[_i].text, rc);
	if (rc == 0)
		ck_assert_msg(lsn == lsn_cases[_i].lsn, "\"%s\": %llx",
		    lsn_cases[_i].text, (unsigned long long)lsn);
	ck_assert_int_eq(fence_lsn_parse(NULL, &lsn), -1);
}
END_TEST

static Suite *
fence_suite(void)
{
	Suite	*s = suite_create("fence");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_start);
	tcase_add_test(tc, test_key);
	tcase_add_test(tc, test_domain);
	tcase_add_test(tc, test_all);
	tcase_add_test(tc, test_reset);
	tcase_add_loop_test(tc, test_reset_late, 0,
	    sizeof(late_cases) / sizeof(late_cases[0]));
	tcase_add_test(tc, test_hold);
	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_long_key);
	tcase_add_loop_test(tc, test_lsn_parse, 0,
	    sizeof(lsn_cases) / sizeof(lsn_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(fence_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
