/*
 * check_sflight - single flight: concurrent misses for one key make one
 * query, and an invalidation in between makes a new one (so a mailbox
 * created while a query was in the air is seen by the next RCPT).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sflight.h"

#define SEED0	1
#define SEED1	2

static int w[8];	/* waiters: their addresses */

START_TEST(test_join)
{
	struct sflight_table *t = sflight_table_new(SEED0, SEED1);
	struct sflight *a, *b, *c;

	ck_assert_int_eq(sflight_join(t, "1:x@d", 5, 7, &w[0], &a),
	    SFLIGHT_LEAD);
	ck_assert_int_eq(sflight_join(t, "1:x@d", 5, 7, &w[1], &b),
	    SFLIGHT_JOIN);
	ck_assert_ptr_eq(a, b);
	ck_assert_int_eq(sflight_join(t, "1:x@d", 5, 7, &w[2], &b),
	    SFLIGHT_JOIN);
	ck_assert_uint_eq(a->nwaiters, 3);
	/* another map, another key: another flight */
	ck_assert_int_eq(sflight_join(t, "2:x@d", 5, 7, &w[3], &c),
	    SFLIGHT_LEAD);
	ck_assert_ptr_ne(a, c);
	ck_assert_uint_eq(sflight_count(t), 2);
	/* a waiter that gives up leaves; the flight keeps the others */
	sflight_leave(a, &w[1]);
	sflight_leave(a, &w[1]);
	ck_assert_uint_eq(a->nwaiters, 2);
	ck_assert_ptr_eq(a->waiters[0], &w[0]);
	ck_assert_ptr_eq(a->waiters[1], &w[2]);
	/* answered: out of the table; the next asker leads again */
	sflight_free(t, &a);
	ck_assert_ptr_null(a);
	ck_assert_uint_eq(sflight_count(t), 1);
	ck_assert_int_eq(sflight_join(t, "1:x@d", 5, 7, &w[4], &a),
	    SFLIGHT_LEAD);
	sflight_free(t, &a);
	sflight_free(t, &c);
	ck_assert_uint_eq(sflight_count(t), 0);
	sflight_table_free(&t);
	ck_assert_ptr_null(t);
}
END_TEST

/*
 * A flight that started before an invalidation (seq 7) is not joined by
 * an asker who saw it (seq 8): its answer may be the old one.
 */
START_TEST(test_seq)
{
	struct sflight_table *t = sflight_table_new(SEED0, SEED1);
	struct sflight *old, *new, *f;

	ck_assert_int_eq(sflight_join(t, "k", 1, 7, &w[0], &old),
	    SFLIGHT_LEAD);
	ck_assert_int_eq(sflight_join(t, "k", 1, 8, &w[1], &new),
	    SFLIGHT_LEAD);
	ck_assert_ptr_ne(old, new);
	ck_assert(!old->in_table);
	ck_assert(new->in_table);
	ck_assert_uint_eq(old->nwaiters, 1);
	/* later askers at seq 8 join the new one */
	ck_assert_int_eq(sflight_join(t, "k", 1, 8, &w[2], &f), SFLIGHT_JOIN);
	ck_assert_ptr_eq(f, new);
	ck_assert_uint_eq(sflight_count(t), 1);
	/* the old one, answered late, frees without touching the new one */
	sflight_free(t, &old);
	ck_assert_uint_eq(sflight_count(t), 1);
	ck_assert_int_eq(sflight_join(t, "k", 1, 8, &w[3], &f), SFLIGHT_JOIN);
	sflight_free(t, &new);
	sflight_table_free(&t);
}
END_TEST

/* many keys (the table grows), binary keys, prefixes */
START_TEST(test_many)
{
	struct sflight_table *t = sflight_table_new(SEED0, SEED1);
	struct sflight *f[1000], *g, *h;
	char	 key[32];
	int	 i;

	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "%d:u%d@d", i % 3, i);
		ck_assert_int_eq(sflight_join(t, key, strlen(key), 0, &w[0],
		    &f[i]), SFLIGHT_LEAD);
	}
	ck_assert_uint_eq(sflight_count(t), 1000);
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "%d:u%d@d", i % 3, i);
		ck_assert_int_eq(sflight_join(t, key, strlen(key), 0, &w[1],
		    &g), SFLIGHT_JOIN);
		ck_assert_ptr_eq(g, f[i]);
	}
	ck_assert_int_eq(sflight_join(t, "a\0b", 3, 0, &w[0], &g),
	    SFLIGHT_LEAD);
	ck_assert_int_eq(sflight_join(t, "a", 1, 0, &w[0], &h),
	    SFLIGHT_LEAD);
	sflight_free(t, &g);
	sflight_free(t, &h);
	for (i = 0; i < 1000; i++)
		sflight_free(t, &f[i]);
	ck_assert_uint_eq(sflight_count(t), 0);
	sflight_table_free(&t);
}
END_TEST

/* a flood of askers for one key: bounded waiter lists */
START_TEST(test_waiters_max)
{
	struct sflight_table *t = sflight_table_new(SEED0, SEED1);
	struct sflight *first, *f;
	int	 i;

	ck_assert_int_eq(sflight_join(t, "k", 1, 0, &w[0], &first),
	    SFLIGHT_LEAD);
	for (i = 1; i < SFLIGHT_WAITERS_MAX; i++)
		ck_assert_int_eq(sflight_join(t, "k", 1, 0, &w[1], &f),
		    SFLIGHT_JOIN);
	ck_assert_uint_eq(first->nwaiters, SFLIGHT_WAITERS_MAX);
	ck_assert_int_eq(sflight_join(t, "k", 1, 0, &w[2], &f), SFLIGHT_LEAD);
	ck_assert_ptr_ne(f, first);
	sflight_free(t, &first);
	sflight_free(t, &f);
	sflight_table_free(&t);
}
END_TEST

static Suite *
sflight_suite(void)
{
	Suite	*s = suite_create("sflight");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_join);
	tcase_add_test(tc, test_seq);
	tcase_add_test(tc, test_many);
	tcase_add_test(tc, test_waiters_max);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(sflight_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? 0 : 1;
}
