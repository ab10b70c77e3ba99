/*
 * check_sentinelfmt - what Redis and Redis Sentinel say about a master:
 * the replication id of INFO replication (a new one after a promotion
 * or a restart; hostile and broken replies refused) and the
 * "+switch-master" messages of our master only.
 */
#include <check.h>
#include <string.h>

#include "core/sentinelfmt.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))
#define ID40	"a333fa461e130fd13ddd01d0270c86ab672e9c7a"

static const struct replid_case {
	const char *text;
	size_t	 len;		/* 0: strlen */
	const char *want;	/* NULL: -1 */
} replid_cases[] = {
	/* as Redis 7 writes it */
	{ "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n"
	  "slave0:ip=127.0.0.1,port=6380,state=online,offset=42,lag=0\r\n"
	  "master_failover_state:no-failover\r\n"
	  "master_replid:" ID40 "\r\n"
	  "master_replid2:0000000000000000000000000000000000000000\r\n"
	  "master_repl_offset:42\r\n", 0, ID40 },
	/* the previous history first: not taken for this one */
	{ "master_replid2:ffff\r\nmaster_replid:abc\r\n", 0, "abc" },
	{ "master_replid:" ID40, 0, ID40 },	/* last line, no newline */
	{ "role:slave\nmaster_replid:0123\n", 0, "0123" },	/* LF only */
	/* refused */
	{ "", 0, NULL },
	{ "role:master\r\n", 0, NULL },
	{ "master_replid2:" ID40 "\r\n", 0, NULL },
	{ "master_replid:\r\n", 0, NULL },
	{ "master_replid:" ID40 "0\r\n", 0, NULL },	/* 41 digits */
	{ "master_replid:ABCDEF\r\n", 0, NULL },
	{ "master_replid:abc def\r\n", 0, NULL },
	{ "master_replid:abc\r\r\n", 0, NULL },
	{ " master_replid:abc\r\n", 0, NULL },
	{ "x_master_replid:abc\r\n", 0, NULL },
	{ "master_replid:ab\0cd\r\n", 21, NULL },
	/* the length is the end, whatever follows */
	{ "master_replid:abcdef", 17, "abc" },
	{ "master_replid:abc", 13, NULL },
};

START_TEST(replid)
{
	const struct replid_case *c = &replid_cases[_i];
	char	 id[SENTINELFMT_REPLID_MAX + 1];
	int	 rc = sentinelfmt_replid(c->text, c->len ? c->len :
	    strlen(c->text), id);

	if (c->want == NULL) {
		ck_assert_msg(rc == -1, "case %d: took \"%s\"", _i, id);
		ck_assert_str_eq(id, "");
		return;
	}
	ck_assert_msg(rc == 0, "case %d refused", _i);
	ck_assert_str_eq(id, c->want);
}
END_TEST

static const struct switch_case {
	const char *payload;
	const char *name;
	bool	 want;
} switch_cases[] = {
	{ "mymaster 127.0.0.1 6379 127.0.0.1 6380", "mymaster", true },
	{ "mymaster2 127.0.0.1 6379 127.0.0.1 6380", "mymaster", false },
	{ "my 127.0.0.1 6379 127.0.0.1 6380", "mymaster", false },
	{ "mymaster", "mymaster", false },
	{ "mymaster ", "mymaster", true },
	{ "", "mymaster", false },
	{ " mymaster 1 2 3 4", "mymaster", false },
	{ "MYMASTER 1 2 3 4", "mymaster", false },
	{ "x 1 2 3 4", "", false },
};

START_TEST(switch_of)
{
	const struct switch_case *c = &switch_cases[_i];

	ck_assert_msg(sentinelfmt_switch_of(c->payload, strlen(c->payload),
	    c->name) == c->want, "case %d", _i);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("sentinelfmt");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_loop_test(tc, replid, 0, N(replid_cases));
	tcase_add_loop_test(tc, switch_of, 0, N(switch_cases));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
