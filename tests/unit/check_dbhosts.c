/*
 * check_dbhosts - the order in which vrcptd, vrcptctl and the cache
 * invalidation listener try the "hosts =" of a pgsql: map, with
 * injected random numbers and clock; the retry_interval skip; the
 * reconnect backoff.
 *
 * What an admin would notice: a local unix socket not preferred the way
 * Postfix prefers it, one host of a list getting every connection (no
 * random spread), a dead host tried again before retry_interval is up
 * (every reconnect slowed by it), or tried never again after it, a
 * database that is back not found until retry_interval is over, and
 * reconnects that hammer a server or never slow down; with
 * db_read_target, reads that go to a standby when the primary was
 * asked for, or to the primary while a standby is up and preferred.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dbhosts.h"

/* table rows leave trailing fields out on purpose: they are 0/NULL */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define ROW_HOSTS	6
#define ROW_DRAWS	6
#define S		1000000ULL	/* microseconds */

/* the injected random numbers: each draw must be one the row expects */
struct draws {
	const uint64_t *v;
	size_t	 n, used;
	const char *name;
};

static uint64_t
draw(void *arg)
{
	struct draws *d = arg;

	ck_assert_msg(d->used < d->n, "%s: random number %zu drawn, only "
	    "%zu expected", d->name, d->used + 1, d->n);
	return d->v[d->used++];
}

/*
 * One row: hosts as written, the retry time of each (0: not failed),
 * the clock, the random numbers, the order wanted and how many of it
 * are to be tried now.
 */
struct order_case {
	const char *name;
	const char *hosts[ROW_HOSTS];
	uint64_t retry[ROW_HOSTS];
	uint64_t now;
	uint64_t rnd[ROW_DRAWS];
	size_t	 nrnd;
	size_t	 want[ROW_HOSTS];
	size_t	 ntry;
};

static const struct order_case order_cases[] = {
	/* dict_pgsql_get_active(): unix, then inet, then URI */
	{ "kinds, rnd 1", { "inet:db1:5432", "unix:/run/pg",
	    "postgresql://h/db", "/tmp" }, { 0 }, 5 * S, { 1 }, 1,
	    { 3, 1, 0, 2 }, 4 },
	{ "kinds, rnd 0", { "inet:db1:5432", "unix:/run/pg",
	    "postgresql://h/db", "/tmp" }, { 0 }, 5 * S, { 0 }, 1,
	    { 1, 3, 0, 2 }, 4 },
	/* find_host(): the (r % count)-th remaining, in written order */
	{ "three inet", { "db1", "db2", "db3" }, { 0 }, 5 * S, { 2, 0 }, 2,
	    { 2, 0, 1 }, 3 },
	{ "modulo", { "db1", "db2", "db3" }, { 0 }, 5 * S, { 7, 5 }, 2,
	    { 1, 2, 0 }, 3 },
	/* one host of a kind: no random number is drawn */
	{ "one of each", { "postgresql://h/db", "db", "unix:" }, { 0 },
	    5 * S, { 0 }, 0, { 2, 1, 0 }, 3 },
	/* a failed host is skipped for retry_interval: tried last */
	{ "skipped last", { "db1", "db2", "db3" }, { 0, 65 * S, 0 }, 5 * S,
	    { 1 }, 1, { 2, 0, 1 }, 2 },
	/* a skipped unix socket: the TCP host first, and only it */
	{ "skipped unix", { "unix:/run/pg", "db" }, { 65 * S, 0 }, 5 * S,
	    { 0 }, 0, { 1, 0 }, 1 },
	/* the skip ends at the retry time (plpgsql_down_host() ts) */
	{ "retry due", { "db1", "db2" }, { 5 * S, 0 }, 5 * S, { 0 }, 1,
	    { 0, 1 }, 2 },
	{ "retry 1us ahead", { "db1", "db2" }, { 5 * S + 1, 0 }, 5 * S,
	    { 0 }, 0, { 1, 0 }, 1 },
	/* all skipped: the soonest retry, once (Postfix would give up) */
	{ "all skipped", { "db1", "db2", "db3" }, { 9 * S, 7 * S, 9 * S },
	    5 * S, { 0 }, 0, { 1, 0, 2 }, 1 },
	{ "all skipped, mixed", { "unix:/run/pg", "db" }, { 9 * S, 8 * S },
	    5 * S, { 0 }, 0, { 1, 0 }, 1 },
};

START_TEST(test_order)
{
	const struct order_case *c = &order_cases[_i];
	struct sqlmap_conn conn;
	struct dbhosts dh;
	struct draws d = { c->rnd, c->nrnd, 0, c->name };
	size_t	 order[DBHOSTS_MAX], i, n, ntry;

	memset(&conn, 0, sizeof(conn));
	for (n = 0; n < ROW_HOSTS && c->hosts[n] != NULL; n++)
		conn.hosts[n] = (char *)c->hosts[n];
	conn.nhosts = n;
	conn.retry_interval_s = 60;
	dbhosts_init(&dh, &conn);
	ck_assert_uint_eq(dh.n, n);
	for (i = 0; i < n; i++)
		dh.v[i].retry_us = c->retry[i];
	ntry = dbhosts_order(&dh, c->now, draw, &d, order);
	for (i = 0; i < n; i++)
		ck_assert_msg(order[i] == c->want[i], "%s: order[%zu] = %zu, "
		    "want %zu", c->name, i, order[i], c->want[i]);
	ck_assert_msg(ntry == c->ntry, "%s: %zu to try, want %zu", c->name,
	    ntry, c->ntry);
	ck_assert_msg(d.used == c->nrnd, "%s: %zu random numbers drawn, "
	    "want %zu", c->name, d.used, c->nrnd);
	dbhosts_clear(&dh);
}
END_TEST

static const struct {
	const char *spec;
	enum dbhosts_kind kind;
} kind_cases[] = {
	{ "postgresql://u@db.example.com/mail", DBHOSTS_URI },
	{ "postgresql:///mail?host=/run/postgresql", DBHOSTS_URI },
	{ "unix:/run/postgresql", DBHOSTS_UNIX },
	{ "/run/postgresql", DBHOSTS_UNIX },
	{ "unix:", DBHOSTS_UNIX },
	{ "", DBHOSTS_UNIX },
	{ "inet:/run/postgresql", DBHOSTS_UNIX },	/* host_init() too */
	{ "inet:db.example.com:5432", DBHOSTS_INET },
	{ "db.example.com:5432", DBHOSTS_INET },
	{ "db.example.com", DBHOSTS_INET },
	{ "[::1]:5432", DBHOSTS_INET },
	{ NULL, DBHOSTS_INET },		/* no "hosts =": localhost */
};

START_TEST(test_kind)
{
	const char *spec = kind_cases[_i].spec;

	ck_assert_msg(dbhosts_kind(spec) == kind_cases[_i].kind, "%s: %d",
	    spec != NULL ? spec : "(none)", dbhosts_kind(spec));
}
END_TEST

/* no "hosts =": one host, Postfix's localhost, never a draw */
START_TEST(test_default_host)
{
	struct sqlmap_conn conn;
	struct dbhosts dh;
	struct draws d = { NULL, 0, 0, "default" };
	size_t	 order[DBHOSTS_MAX];

	memset(&conn, 0, sizeof(conn));
	dbhosts_init(&dh, &conn);
	ck_assert_uint_eq(dh.n, 1);
	ck_assert_int_eq(dh.v[0].kind, DBHOSTS_INET);
	ck_assert_uint_eq(dbhosts_order(&dh, 0, draw, &d, order), 1);
	ck_assert_uint_eq(order[0], 0);
	dbhosts_clear(&dh);
}
END_TEST

/*
 * "hosts = db1, db2", retry_interval = 60: db1 refuses at 10 s. It is
 * left alone until 70 s, then tried like any other; a second failure
 * with the same reason is no news (one log line per outage), another
 * reason is; when it is back, that is news once.
 */
START_TEST(test_retry_interval)
{
	static const uint64_t zero[ROW_DRAWS] = { 0 };
	struct sqlmap_conn conn;
	struct dbhosts dh;
	struct draws d = { zero, ROW_DRAWS, 0, "retry" };
	size_t	 order[DBHOSTS_MAX];
	char	*hosts[2] = { (char *)"db1", (char *)"db2" };

	memset(&conn, 0, sizeof(conn));
	conn.hosts[0] = hosts[0];
	conn.hosts[1] = hosts[1];
	conn.nhosts = 2;
	conn.retry_interval_s = 60;
	dbhosts_init(&dh, &conn);

	ck_assert(dbhosts_failed(&dh, 0, "connection refused", 10 * S));
	ck_assert_uint_eq(dbhosts_ndown(&dh), 1);
	ck_assert(dbhosts_skipped(&dh, 0, 10 * S));
	ck_assert_uint_eq(dbhosts_order(&dh, 10 * S, draw, &d, order), 1);
	ck_assert_uint_eq(order[0], 1);
	ck_assert_uint_eq(dbhosts_order(&dh, 70 * S - 1, draw, &d, order), 1);
	ck_assert_uint_eq(order[0], 1);
	ck_assert(!dbhosts_skipped(&dh, 0, 70 * S));
	ck_assert_uint_eq(dbhosts_order(&dh, 70 * S, draw, &d, order), 2);
	ck_assert_uint_eq(order[0], 0);		/* draw 0: written order */

	/* failing again renews the skip; the same reason is no news */
	ck_assert(!dbhosts_failed(&dh, 0, "connection refused", 70 * S));
	ck_assert(dbhosts_skipped(&dh, 0, 130 * S - 1));
	ck_assert(dbhosts_failed(&dh, 0, "timed out", 80 * S));
	ck_assert(dbhosts_skipped(&dh, 0, 140 * S - 1));

	/* the other one fails too: the one skipped longest is tried */
	ck_assert(dbhosts_failed(&dh, 1, "connection refused", 90 * S));
	ck_assert_uint_eq(dbhosts_ndown(&dh), 2);
	ck_assert_uint_eq(dbhosts_order(&dh, 95 * S, draw, &d, order), 1);
	ck_assert_uint_eq(order[0], 0);

	/* back: news once, and no longer skipped */
	ck_assert(dbhosts_up(&dh, 0));
	ck_assert(!dbhosts_up(&dh, 0));
	ck_assert(!dbhosts_skipped(&dh, 0, 95 * S));
	ck_assert_uint_eq(dbhosts_ndown(&dh), 1);
	ck_assert_uint_eq(dbhosts_order(&dh, 95 * S, draw, &d, order), 1);
	ck_assert_uint_eq(order[0], 0);
	ck_assert(dbhosts_failed(&dh, 0, "connection refused", 100 * S));
	dbhosts_clear(&dh);
}
END_TEST

/* retry_interval = 0: a failed host is never skipped */
START_TEST(test_retry_zero)
{
	static const uint64_t zero[ROW_DRAWS] = { 0 };
	struct sqlmap_conn conn;
	struct dbhosts dh;
	struct draws d = { zero, ROW_DRAWS, 0, "retry0" };
	size_t	 order[DBHOSTS_MAX];
	char	*hosts[2] = { (char *)"db1", (char *)"db2" };

	memset(&conn, 0, sizeof(conn));
	conn.hosts[0] = hosts[0];
	conn.hosts[1] = hosts[1];
	conn.nhosts = 2;
	dbhosts_init(&dh, &conn);
	ck_assert(dbhosts_failed(&dh, 0, "connection refused", 10 * S));
	ck_assert(!dbhosts_skipped(&dh, 0, 10 * S));
	ck_assert_uint_eq(dbhosts_order(&dh, 10 * S, draw, &d, order), 2);
	dbhosts_clear(&dh);
}
END_TEST

/*
 * Random picks spread connections: with a fair generator, each of three
 * TCP hosts comes first about a third of the time (the pool's eight
 * connections do not all go to one replica).
 */
static uint64_t
lcg(void *arg)
{
	uint64_t *x = arg;

	*x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
	return *x >> 33;
}

START_TEST(test_spread)
{
	struct sqlmap_conn conn;
	struct dbhosts dh;
	size_t	 order[DBHOSTS_MAX], first[3] = { 0 }, i;
	uint64_t x = 42;
	char	*hosts[3] = { (char *)"db1", (char *)"db2", (char *)"db3" };

	memset(&conn, 0, sizeof(conn));
	for (i = 0; i < 3; i++)
		conn.hosts[i] = hosts[i];
	conn.nhosts = 3;
	dbhosts_init(&dh, &conn);
	for (i = 0; i < 3000; i++) {
		ck_assert_uint_eq(dbhosts_order(&dh, 0, lcg, &x, order), 3);
		first[order[0]]++;
	}
	for (i = 0; i < 3; i++)
		ck_assert_msg(first[i] > 800 && first[i] < 1200,
		    "host %zu first %zu times of 3000", i, first[i]);
	dbhosts_clear(&dh);
}
END_TEST

/*
 * Backoff: a server that refuses is asked again after growing, jittered
 * delays up to the cap; a connection that had been up a while and
 * breaks reconnects at once and starts over; one that breaks right
 * after it came up (a server that accepts and hangs up) keeps backing
 * off instead of hammering.
 */
START_TEST(test_backoff)
{
	static const unsigned want_cur[] = { 100, 200, 400, 800, 1600, 3200,
	    5000, 5000 };
	struct dbhosts_backoff b = { 0 };
	unsigned d, i;

	for (i = 0; i < sizeof(want_cur) / sizeof(want_cur[0]); i++) {
		d = dbhosts_backoff_failed(&b);
		ck_assert_uint_eq(b.cur_ms, want_cur[i]);
		ck_assert_uint_ge(d, want_cur[i] / 2);
		ck_assert_uint_le(d, want_cur[i]);
	}
	ck_assert_uint_eq(DBHOSTS_BACKOFF_MIN_MS, 100);
	ck_assert_uint_eq(DBHOSTS_BACKOFF_MAX_MS, 5000);

	/* up at 100 s, lost just before it counted as stable */
	dbhosts_backoff_up(&b, 100 * S);
	d = dbhosts_backoff_lost(&b, 100 * S + DBHOSTS_STABLE_MS * 1000 - 1);
	ck_assert_uint_ge(d, DBHOSTS_BACKOFF_MAX_MS / 2);
	ck_assert_uint_eq(b.cur_ms, DBHOSTS_BACKOFF_MAX_MS);

	/* up again, lost after a stable while: at once, from the start */
	dbhosts_backoff_up(&b, 200 * S);
	ck_assert_uint_eq(dbhosts_backoff_lost(&b,
	    200 * S + DBHOSTS_STABLE_MS * 1000), 0);
	ck_assert_uint_eq(b.cur_ms, 0);
	d = dbhosts_backoff_failed(&b);
	ck_assert_uint_eq(b.cur_ms, DBHOSTS_BACKOFF_MIN_MS);
	ck_assert_uint_le(d, DBHOSTS_BACKOFF_MIN_MS);
}
END_TEST

/*
 * A connection waiting out its backoff looks every DBHOSTS_WAIT_POLL_MS
 * and connects at once when a connection of another pool got through
 * to one of its hosts meanwhile (the up count moved), so that the
 * workers of one vrcptd come back together after an outage.
 */
static const struct wait_case {
	uint64_t now, until;
	unsigned up_then, up_now;
	uint64_t want;
} wait_cases[] = {
	/* a long backoff, nobody came up: look again after one poll */
	{ 10 * S, 10 * S + 5000 * 1000, 7, 7, DBHOSTS_WAIT_POLL_MS * 1000 },
	/* less than a poll left: sleep just that */
	{ 10 * S, 10 * S + 30 * 1000, 7, 7, 30 * 1000 },
	/* the wait is over: connect */
	{ 10 * S, 10 * S, 7, 7, 0 },
	{ 11 * S, 10 * S, 7, 7, 0 },
	/* a host came up elsewhere: connect now, however long is left */
	{ 10 * S, 10 * S + 5000 * 1000, 7, 8, 0 },
	/* counts wrap; any change is news */
	{ 10 * S, 10 * S + 5000 * 1000, 0xffffffffu, 0, 0 },
	/* conn_wait's first sleep: dbhosts_wait_next(0, delay, 0, 0) */
	{ 0, 250 * 1000, 0, 0, DBHOSTS_WAIT_POLL_MS * 1000 },
	{ 0, 40 * 1000, 0, 0, 40 * 1000 },
};

START_TEST(test_wait_next)
{
	const struct wait_case *w = &wait_cases[_i];

	ck_assert_uint_eq(dbhosts_wait_next(w->now, w->until, w->up_then,
	    w->up_now), w->want);
}
END_TEST

/*
 * db_read_target: the order within a role is Postfix's; the role comes
 * first. P: primary, S: standby, U: not known yet.
 */
#define P	DBHOSTS_ROLE_PRIMARY
#define SB	DBHOSTS_ROLE_STANDBY
#define U	DBHOSTS_ROLE_UNKNOWN
static const struct target_case {
	const char *name;
	enum dbhosts_target target;
	const char *hosts[ROW_HOSTS];
	enum dbhosts_role role[ROW_HOSTS];
	uint64_t retry[ROW_HOSTS];
	uint64_t rnd[ROW_DRAWS];
	size_t	 nrnd;
	size_t	 want[ROW_HOSTS];
	size_t	 ntry;
	bool	 fits[ROW_HOSTS];	/* dbhosts_fits(i) */
} target_cases[] = {
	/* any: roles change nothing (Postfix: standbys like any host) */
	{ "any", DBHOSTS_TARGET_ANY, { "unix:/a", "unix:/b", "db" },
	    { P, SB, U }, { 0 }, { 0 }, 1, { 0, 1, 2 }, 3,
	    { true, true, true } },
	/* prefer-standby: a TCP standby before a unix-socket primary */
	{ "prefer-standby, role before kind", DBHOSTS_TARGET_PREFER_STANDBY,
	    { "unix:/a", "db" }, { P, SB }, { 0 }, { 0 }, 0, { 1, 0 }, 2,
	    { false, true } },
	/* ... unknown hosts between: they may be standbys */
	{ "prefer-standby, unknown next", DBHOSTS_TARGET_PREFER_STANDBY,
	    { "unix:/a", "unix:/b", "unix:/c" }, { P, U, SB }, { 0 },
	    { 0, 0 }, 2, { 2, 1, 0 }, 3, { false, true, true } },
	/* ... Postfix's random order within a role */
	{ "prefer-standby, two standbys", DBHOSTS_TARGET_PREFER_STANDBY,
	    { "unix:/a", "unix:/b", "unix:/c" }, { SB, P, SB }, { 0 },
	    { 2, 1 }, 2, { 2, 0, 1 }, 3, { true, false, true } },
	/* ... the standby skipped (down): the primary fits */
	{ "prefer-standby, standby down", DBHOSTS_TARGET_PREFER_STANDBY,
	    { "unix:/a", "unix:/b" }, { P, SB }, { 0, 65 * S }, { 0 }, 0,
	    { 0, 1 }, 1, { true, true } },
	/* ... nothing known yet: Postfix's order, all fit */
	{ "prefer-standby, all unknown", DBHOSTS_TARGET_PREFER_STANDBY,
	    { "db1", "db2" }, { U, U }, { 0 }, { 1 }, 1, { 1, 0 }, 2,
	    { true, true } },
	/* primary: the standby last, and it never fits */
	{ "primary", DBHOSTS_TARGET_PRIMARY, { "unix:/a", "unix:/b", "db" },
	    { SB, U, P }, { 0 }, { 0 }, 1, { 2, 1, 0 }, 3,
	    { false, true, true } },
	/* ... after a failover the old standby is the primary */
	{ "primary, roles swapped", DBHOSTS_TARGET_PRIMARY,
	    { "unix:/a", "unix:/b" }, { P, SB }, { 0 }, { 1 }, 1, { 0, 1 },
	    2, { true, false } },
};
#undef P
#undef SB
#undef U

START_TEST(test_target)
{
	const struct target_case *c = &target_cases[_i];
	struct sqlmap_conn conn;
	struct dbhosts dh;
	struct draws d = { c->rnd, c->nrnd, 0, c->name };
	size_t	 order[DBHOSTS_MAX], i, n, ntry;

	memset(&conn, 0, sizeof(conn));
	for (n = 0; n < ROW_HOSTS && c->hosts[n] != NULL; n++)
		conn.hosts[n] = (char *)c->hosts[n];
	conn.nhosts = n;
	conn.retry_interval_s = 60;
	dbhosts_init(&dh, &conn);
	dh.target = c->target;
	for (i = 0; i < n; i++) {
		dh.v[i].retry_us = c->retry[i];
		dbhosts_set_role(&dh, i, c->role[i]);
	}
	ntry = dbhosts_order(&dh, 5 * S, draw, &d, order);
	for (i = 0; i < n; i++) {
		ck_assert_msg(order[i] == c->want[i], "%s: order[%zu] = %zu, "
		    "want %zu", c->name, i, order[i], c->want[i]);
		ck_assert_msg(dbhosts_fits(&dh, i, 5 * S) == c->fits[i],
		    "%s: host %zu fits: %d", c->name, i,
		    dbhosts_fits(&dh, i, 5 * S));
	}
	ck_assert_msg(ntry == c->ntry, "%s: %zu to try, want %zu", c->name,
	    ntry, c->ntry);
	ck_assert_msg(d.used == c->nrnd, "%s: %zu random numbers drawn, "
	    "want %zu", c->name, d.used, c->nrnd);
	dbhosts_clear(&dh);
}
END_TEST

START_TEST(test_target_names)
{
	ck_assert_str_eq(dbhosts_target_name(DBHOSTS_TARGET_ANY), "any");
	ck_assert_str_eq(dbhosts_target_name(DBHOSTS_TARGET_PREFER_STANDBY),
	    "prefer-standby");
	ck_assert_str_eq(dbhosts_target_name(DBHOSTS_TARGET_PRIMARY),
	    "primary");
}
END_TEST

static Suite *
dbhosts_suite(void)
{
	Suite	*s = suite_create("dbhosts");
	TCase	*tc;

	tc = tcase_create("order");
	tcase_add_loop_test(tc, test_order, 0,
	    sizeof(order_cases) / sizeof(order_cases[0]));
	tcase_add_loop_test(tc, test_kind, 0,
	    sizeof(kind_cases) / sizeof(kind_cases[0]));
	tcase_add_test(tc, test_default_host);
	tcase_add_test(tc, test_spread);
	tcase_add_loop_test(tc, test_target, 0,
	    sizeof(target_cases) / sizeof(target_cases[0]));
	tcase_add_test(tc, test_target_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("retry");
	tcase_add_test(tc, test_retry_interval);
	tcase_add_test(tc, test_retry_zero);
	tcase_add_test(tc, test_backoff);
	tcase_add_loop_test(tc, test_wait_next, 0,
	    sizeof(wait_cases) / sizeof(wait_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(dbhosts_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
