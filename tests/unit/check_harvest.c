/*
 * check_harvest - the pure parts of directory-harvest protection: the
 * network of a client address (/24, /64, IPv4-mapped IPv6, junk), the
 * exempt list (harvest_exempt_networks), the Redis keys, the window and
 * the decision, and block values read from a shared Redis.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/harvest.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static const struct net_case {
	const char *addr;
	unsigned v4, v6;
	const char *want;	/* NULL: not an address */
} net_cases[] = {
	{ "192.0.2.77", 24, 64, "192.0.2.0/24" },
	{ "192.0.2.255", 24, 64, "192.0.2.0/24" },
	{ "192.0.3.1", 24, 64, "192.0.3.0/24" },
	{ "198.51.100.200", 25, 64, "198.51.100.128/25" },
	{ "198.51.100.200", 32, 64, "198.51.100.200/32" },
	{ "198.51.100.200", 0, 64, "0.0.0.0/0" },
	{ "203.0.113.9", 99, 64, "203.0.113.9/32" },	/* clamped */
	{ "2001:db8:1:2:3:4:5:6", 24, 64, "2001:db8:1:2::/64" },
	{ "2001:db8:1:2::ffff", 24, 64, "2001:db8:1:2::/64" },
	{ "2001:db8:1:3::1", 24, 64, "2001:db8:1:3::/64" },
	{ "2001:db8:1:2:3:4:5:6", 24, 48, "2001:db8:1::/48" },
	{ "2001:db8:1:2:3:4:5:6", 24, 60, "2001:db8:1::/60" },
	{ "2001:db8:1:1f:3:4:5:6", 24, 60, "2001:db8:1:10::/60" },
	{ "::1", 24, 64, "::/64" },
	/* Postfix may show an IPv4 client in mapped form */
	{ "::ffff:192.0.2.9", 24, 64, "192.0.2.0/24" },
	/* not addresses: never counted, never blocked */
	{ "", 24, 64, NULL },
	{ "unknown", 24, 64, NULL },
	{ "192.0.2", 24, 64, NULL },
	{ "192.0.2.1/24", 24, 64, NULL },
	{ "[192.0.2.1]", 24, 64, NULL },
	{ "192.0.2.1 ", 24, 64, NULL },
	{ "2001:db8::1%eth0", 24, 64, NULL },
	{ "256.1.1.1", 24, 64, NULL },
	{ "1:2:3:4:5:6:7:8:9", 24, 64, NULL },
	{ "x000000000000000000000000000000000000000000000000000000000000000000"
	  "00000", 24, 64, NULL },
};

START_TEST(net_of)
{
	const struct net_case *c = &net_cases[_i];
	struct harvest_net n;
	char	 t[HARVEST_NET_TEXT_MAX];
	int	 rc = harvest_net_of(c->addr, c->v4, c->v6, &n);

	if (c->want == NULL) {
		ck_assert_msg(rc == -1, "case %d: \"%s\" taken as %s", _i,
		    c->addr, harvest_net_text(&n, t));
		return;
	}
	ck_assert_msg(rc == 0, "case %d: \"%s\" refused", _i, c->addr);
	ck_assert_str_eq(harvest_net_text(&n, t), c->want);
}
END_TEST

static const struct list_case {
	const char *list;
	const char *addr;
	int	 want;		/* 1 match, 0 none, -1 a bad list */
} list_cases[] = {
	{ "127.0.0.0/8, [::1]/128", "127.0.0.1", 1 },
	{ "127.0.0.0/8, [::1]/128", "::1", 1 },
	{ "127.0.0.0/8, [::1]/128", "::2", 0 },
	{ "127.0.0.0/8, [::1]/128", "128.0.0.1", 0 },
	{ "127.0.0.0/8 ::1/128", "::ffff:127.1.2.3", 1 },
	{ "192.0.2.7", "192.0.2.7", 1 },		/* a bare address */
	{ "192.0.2.7", "192.0.2.8", 0 },
	{ "[2001:db8::]/32", "2001:db8:ffff::1", 1 },
	{ "[2001:db8::]/32", "2001:db9::1", 0 },
	{ "192.0.2.77/24", "192.0.2.1", 1 },	/* host bits ignored */
	{ "0.0.0.0/0", "203.0.113.1", 1 },
	{ "0.0.0.0/0", "2001:db8::1", 0 },	/* families apart */
	{ "", "127.0.0.1", 0 },
	{ " ,\t, ", "127.0.0.1", 0 },
	{ "10.0.0.0/8", "junk", 0 },
	/* refused */
	{ "10.0.0.0/33", "10.0.0.1", -1 },
	{ "::/129", "::1", -1 },
	{ "10.0.0.0/", "10.0.0.1", -1 },
	{ "10.0.0.0/8x", "10.0.0.1", -1 },
	{ "10.0.0.0/-1", "10.0.0.1", -1 },
	{ "example.com", "10.0.0.1", -1 },
	{ "[10.0.0.1", "10.0.0.1", -1 },
	{ "$mynetworks", "10.0.0.1", -1 },
};

START_TEST(netlist)
{
	const struct list_case *c = &list_cases[_i];
	struct harvest_netlist l;
	const char *err = NULL;
	int	 rc = harvest_netlist_parse(c->list, &l, &err);

	if (c->want < 0) {
		ck_assert_msg(rc == -1, "case %d: \"%s\" taken", _i, c->list);
		ck_assert_ptr_nonnull(err);
		return;
	}
	ck_assert_msg(rc == 0, "case %d: \"%s\": %s", _i, c->list, err);
	ck_assert_int_eq(harvest_netlist_match(&l, c->addr), c->want);
}
END_TEST

START_TEST(netlist_limit)
{
	struct harvest_netlist l;
	char	 text[HARVEST_EXEMPT_MAX * 16 + 32], *p = text;
	const char *err;
	int	 i;

	/* barely fits, then one over */
	for (i = 0; i < HARVEST_EXEMPT_MAX; i++)
		p += sprintf(p, "10.0.%d.0/24 ", i);
	ck_assert_int_eq(harvest_netlist_parse(text, &l, &err), 0);
	ck_assert_uint_eq(l.n, HARVEST_EXEMPT_MAX);
	ck_assert(harvest_netlist_match(&l, "10.0.63.9"));
	sprintf(p, "10.1.0.0/16");
	ck_assert_int_eq(harvest_netlist_parse(text, &l, &err), -1);
}
END_TEST

START_TEST(keys)
{
	char	 k[HARVEST_KEY_MAX];
	char	 longnet[200];

	ck_assert_uint_eq(harvest_key_count("192.0.2.0/24", 29123, k),
	    strlen("vrcpt:hc:29123:192.0.2.0/24"));
	ck_assert_str_eq(k, "vrcpt:hc:29123:192.0.2.0/24");
	ck_assert_uint_eq(harvest_key_block("2001:db8:1:2::/64", k),
	    strlen("vrcpt:hb:2001:db8:1:2::/64"));
	ck_assert_str_eq(k, "vrcpt:hb:2001:db8:1:2::/64");
	/* a network text is never longer than HARVEST_NET_TEXT_MAX - 1;
	 * were it, the key would be cut, not overflow */
	memset(longnet, 'x', sizeof(longnet) - 1);
	longnet[sizeof(longnet) - 1] = '\0';
	ck_assert_uint_lt(harvest_key_count(longnet, UINT64_MAX, k),
	    HARVEST_KEY_MAX);
	ck_assert_uint_lt(harvest_key_block(longnet, k), HARVEST_KEY_MAX);
	/* the longest network text fits */
	ck_assert_uint_lt(strlen("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"),
	    HARVEST_NET_TEXT_MAX);
}
END_TEST

static const struct window_case {
	uint64_t now, window, want;
} window_cases[] = {
	{ 0, 60000, 0 },
	{ 59999, 60000, 0 },
	{ 60000, 60000, 1 },
	{ 1764770000123ULL, 60000, 29412833 },
	{ 12345, 0, 0 },			/* no window: one */
};

START_TEST(window)
{
	const struct window_case *c = &window_cases[_i];

	ck_assert_uint_eq(harvest_window(c->now, c->window), c->want);
}
END_TEST

static const struct over_case {
	uint64_t count;
	unsigned limit;
	bool	 want;
} over_cases[] = {
	{ 1, 20, false },
	{ 20, 20, false },	/* the limit itself is allowed */
	{ 21, 20, true },
	{ 2, 1, true },
	{ 1, 1, false },
	{ UINT64_MAX, 20, true },
};

START_TEST(over)
{
	const struct over_case *c = &over_cases[_i];

	ck_assert_int_eq(harvest_over(c->count, c->limit), c->want);
}
END_TEST

static const struct until_case {
	const char *v;
	uint64_t now, block, want;	/* want 0: no block */
} until_cases[] = {
	{ "1000600", 1000000, 600000, 1000600 },
	{ "1600000", 1000000, 600000, 1600000 },	/* barely */
	{ "1600001", 1000000, 600000, 1600000 },	/* capped */
	{ "99999999999999999", 1000000, 600000, 1600000 },
	{ "1000000", 1000000, 600000, 0 },		/* over now */
	{ "999999", 1000000, 600000, 0 },
	{ NULL, 1000000, 600000, 0 },
	{ "", 1000000, 600000, 0 },
	{ "12x", 1000000, 600000, 0 },
	{ "-5", 1000000, 600000, 0 },
	{ " 1000600", 1000000, 600000, 0 },
	{ "99999999999999999999", 1000000, 600000, 0 },	/* > UINT64 */
	{ "184467440737095516150", 1000000, 600000, 0 },
};

START_TEST(until)
{
	const struct until_case *c = &until_cases[_i];
	uint64_t u;
	bool	 b = harvest_block_until(c->v, c->v ? strlen(c->v) : 0,
	    c->now, c->block, &u);

	ck_assert_int_eq(b, c->want != 0);
	ck_assert_uint_eq(u, c->want);
}
END_TEST

static Suite *
harvest_suite(void)
{
	Suite	*s = suite_create("harvest");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, net_of, 0, N(net_cases));
	tcase_add_loop_test(tc, netlist, 0, N(list_cases));
	tcase_add_test(tc, netlist_limit);
	tcase_add_test(tc, keys);
	tcase_add_loop_test(tc, window, 0, N(window_cases));
	tcase_add_loop_test(tc, over, 0, N(over_cases));
	tcase_add_loop_test(tc, until, 0, N(until_cases));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(harvest_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? 0 : 1;
}
