/*
 * check_endpoint - the one parser of endpoint strings: the forms each
 * parameter takes, the canonical text, libmilter's smfi_setconn() form,
 * and everything refused.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "conf/endpoint.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))
#define ANY	ENDPOINT_ANY_HOST
#define BARE	ENDPOINT_BARE_INET
#define MILT	(ENDPOINT_ANY_HOST | ENDPOINT_MILTER)
#define UNIX	ENDPOINT_UNIX_ONLY

static const struct ep_case {
	const char *in;
	unsigned flags;
	const char *text;	/* canonical; NULL: refused */
	const char *milter;	/* smfi_setconn() form */
} ep_cases[] = {
	{ "", 0, "", "" },
	{ "unix:/run/vrcpt/policy.sock", 0, "unix:/run/vrcpt/policy.sock",
	  "unix:/run/vrcpt/policy.sock" },
	{ "inet:127.0.0.1:10023", 0, "inet:127.0.0.1:10023",
	  "inet:10023@127.0.0.1" },
	{ "inet:localhost:10024", 0, "inet:localhost:10024",
	  "inet:10024@localhost" },
	{ "inet:[::1]:10024", 0, "inet:[::1]:10024", "inet6:10024@[::1]" },
	{ "inet:::1:10024", 0, "inet:[::1]:10024", "inet6:10024@[::1]" },
	{ "inet:10024", ANY, "inet:10024", "inet:10024" },
	{ "inet:10024", 0, NULL, NULL },
	/* libmilter's own forms, for milter_listen */
	{ "local:/run/vrcpt/milter.sock", MILT, "unix:/run/vrcpt/milter.sock",
	  "unix:/run/vrcpt/milter.sock" },
	{ "inet:10024@127.0.0.1", MILT, "inet:127.0.0.1:10024",
	  "inet:10024@127.0.0.1" },
	{ "inet6:10024@[::1]", MILT, "inet:[::1]:10024", "inet6:10024@[::1]" },
	{ "inet6:10024", MILT, "inet:10024", "inet6:10024" },
	{ "local:/run/m.sock", 0, NULL, NULL },
	{ "inet:10024@127.0.0.1", 0, NULL, NULL },
	/* control_listen: unix only */
	{ "unix:/run/vrcpt/control.sock", UNIX, "unix:/run/vrcpt/control.sock",
	  "unix:/run/vrcpt/control.sock" },
	{ "inet:127.0.0.1:10025", UNIX, NULL, NULL },
	{ "inet:10025", UNIX | ANY, NULL, NULL },
	{ "local:/run/vrcpt/control.sock", UNIX | MILT, NULL, NULL },
	{ "127.0.0.1:6379", UNIX | BARE, NULL, NULL },
	/* redis:host:port */
	{ "127.0.0.1:6379", BARE, "inet:127.0.0.1:6379",
	  "inet:6379@127.0.0.1" },
	{ "[::1]:6379", BARE, "inet:[::1]:6379", "inet6:6379@[::1]" },
	{ "127.0.0.1:6379", 0, NULL, NULL },
	/* refused everywhere */
	{ "unix:relative", MILT, NULL, NULL },
	{ "unix:", MILT, NULL, NULL },
	{ "inet:", MILT, NULL, NULL },
	{ "inet:host:", MILT, NULL, NULL },
	{ "inet::10024", MILT, NULL, NULL },
	{ "inet:host:port", MILT, NULL, NULL },
	{ "inet:[::1]10024", MILT, NULL, NULL },
	{ "inet:[]:10024", MILT, NULL, NULL },
	{ "inet:h:0", MILT, NULL, NULL },
	{ "inet:h:65536", MILT, NULL, NULL },
	{ "inet:h:123456", MILT, NULL, NULL },
	{ "inet:123456@h", MILT, NULL, NULL },
	{ "inet:10024@", MILT, NULL, NULL },
	{ "inet:h st:25", MILT, NULL, NULL },
	{ "inet:h/x:25", MILT, NULL, NULL },
	{ "tcp:127.0.0.1:10024", MILT | BARE, NULL, NULL },
};

START_TEST(parse)
{
	const struct ep_case *c = &ep_cases[_i];
	struct endpoint ep;
	const char *hint = NULL;
	char	 spec[ENDPOINT_TEXT_MAX + 16];
	int	 rc = endpoint_parse(c->in, c->flags, &ep, &hint);

	ck_assert_ptr_nonnull(hint);
	if (c->text == NULL) {
		ck_assert_msg(rc == -1, "\"%s\" accepted as %s", c->in,
		    ep.text);
		ck_assert_int_eq(ep.kind, ENDPOINT_NONE);
		return;
	}
	ck_assert_msg(rc == 0, "\"%s\" refused", c->in);
	ck_assert_str_eq(ep.text, c->text);
	ck_assert_str_eq(endpoint_milter_spec(&ep, spec, sizeof(spec)),
	    c->milter);
}
END_TEST

/* a unix path that barely fits sun_path, and one byte over */
START_TEST(path_limit)
{
	char	 in[8 + ENDPOINT_PATH_MAX + 2];
	struct endpoint ep;
	const char *hint;

	memcpy(in, "unix:/", 6);
	memset(in + 6, 'p', ENDPOINT_PATH_MAX - 1);
	in[5 + ENDPOINT_PATH_MAX] = '\0';
	ck_assert_int_eq(endpoint_parse(in, 0, &ep, &hint), 0);
	ck_assert_uint_eq(strlen(ep.path), ENDPOINT_PATH_MAX);
	in[5 + ENDPOINT_PATH_MAX] = 'p';
	in[6 + ENDPOINT_PATH_MAX] = '\0';
	ck_assert_int_eq(endpoint_parse(in, 0, &ep, &hint), -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("endpoint");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_loop_test(tc, parse, 0, N(ep_cases));
	tcase_add_test(tc, path_limit);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
