/*
 * check_pfconf - Postfix's main.cf below vrcptd.cf: postconf's output
 * parsed strictly (pfconf_parse), and conf_load with
 * postfix_config_directory: each value and its origin as postconf
 * gives it ($name, ${name}, continuation lines, comments inside them,
 * $$, Postfix's defaults), vrcptd.cf and -o above it, a difference
 * flagged, failures named without quoting main.cf.
 * Needs postconf (Postfix); run from the repository root (fixtures in
 * tests/unit/data/postfix*).
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/pfconf.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define P	"tests/unit/data/config/vrcptd.cf"
#define PF	"tests/unit/data/postfix"
#define WHAT	(CONF_D | CONF_C)	/* values, not tables */
#define MSGS_MAX	4

static char top[PATH_MAX];	/* the repository root, absolute */

/* pfconf_parse: postconf -x output -> names and values, or -1 */
static const struct {
	const char *text;
	int	 rc;
	size_t	 n;
	const char *name[3], *value[3];
} parse_cases[] = {
	{ "", 0, 0 },
	{ "a = b\n", 0, 1, { "a" }, { "b" } },
	{ "a = b", 0, 1, { "a" }, { "b" } },		/* no final newline */
	{ "relay_domains =\n", 0, 1, { "relay_domains" }, { "" } },
	{ "a = x = y  z \nB_2 =\nc = $d\n", 0, 3, { "a", "B_2", "c" },
	    { "x = y  z ", "", "$d" } },
	{ "a=b\n", -1 },
	{ "a =b\n", -1 },
	{ "= b\n", -1 },
	{ "a-b = c\n", -1 },
	{ "a\n", -1 },
	{ "a = b\n\n", -1 },				/* an empty line */
	{ " a = b\n", -1 },
	{ "postconf: warning: x\n", -1 },
};

START_TEST(test_parse)
{
	struct pfconf pf;
	size_t	 i;
	int	 rc;

	rc = pfconf_parse(parse_cases[_i].text, strlen(parse_cases[_i].text),
	    &pf);
	ck_assert_int_eq(rc, parse_cases[_i].rc);
	ck_assert_uint_eq(pf.n, parse_cases[_i].n);
	for (i = 0; i < pf.n; i++) {
		ck_assert_str_eq(pf.names[i], parse_cases[_i].name[i]);
		ck_assert_str_eq(pf.values[i], parse_cases[_i].value[i]);
		ck_assert_str_eq(pfconf_get(&pf, pf.names[i],
		    strlen(pf.names[i])), parse_cases[_i].value[i]);
	}
	ck_assert_ptr_null(pfconf_get(&pf, "nosuch", 6));
	pfconf_free(&pf);
}
END_TEST

/* a NUL byte in postconf's output is no value */
START_TEST(test_parse_nul)
{
	struct pfconf pf;

	ck_assert_int_eq(pfconf_parse("a = b\0c\n", 8, &pf), -1);
	ck_assert_uint_eq(pf.n, 0);
}
END_TEST

/*
 * conf_load: vrcptd.cf lines (DIR is replaced with the fixture's
 * absolute directory) and -o -> one parameter's value and origin
 * (MAINCF is DIR's main.cf), and the messages
 */
static const struct {
	const char *text;
	const char *ov;
	const char *param, *value, *origin;
	const char *msgs[MSGS_MAX];
} load_cases[] = {
	/* main.cf, as postconf -x: continuation lines joined, the comment
	 * inside dropped, ${base} expanded */
	{ "postfix_config_directory = DIR\n", NULL, "virtual_mailbox_domains",
	    "example.com, /srv/maps.example example.org", "MAINCF:4" },
	{ "postfix_config_directory = DIR\n", NULL, "virtual_mailbox_maps",
	    "hash:/srv/maps/mailboxes", "MAINCF:8" },
	/* $name of another parameter, and $$ kept a literal "$" */
	{ "postfix_config_directory = DIR\n", NULL, "virtual_alias_maps",
	    "hash:/srv/maps/mailboxes, inline:{{a@example.com=b$c}}",
	    "MAINCF:9" },
	/* not in main.cf: Postfix's default ($virtual_alias_maps) */
	{ "postfix_config_directory = DIR\n", NULL, "virtual_alias_domains",
	    "hash:/srv/maps/mailboxes, inline:{{a@example.com=b$c}}",
	    "postfix default" },
	/* compatibility_level 3.6: Postfix's relay_domains is empty */
	{ "postfix_config_directory = DIR\n", NULL, "relay_domains", "",
	    "postfix default" },
	/* the last assignment wins, as in Postfix */
	{ "postfix_config_directory = DIR\n", NULL, "recipient_delimiter",
	    "+-", "MAINCF:13" },
	{ "postfix_config_directory = DIR\n", NULL, "soft_bounce", "yes",
	    "MAINCF:11" },
	{ "postfix_config_directory = DIR\n", NULL,
	    "unknown_virtual_alias_reject_code", "450", "MAINCF:12" },
	{ "postfix_config_directory = DIR\n", NULL, "double_bounce_sender",
	    "double-bounce", "postfix default" },
	/* not one of Postfix's parameters: vrcpt's own default */
	{ "postfix_config_directory = DIR\n", NULL, "other_domain_action",
	    "reject_unlisted_recipient", "default" },
	/* a trailing slash is the same directory */
	{ "postfix_config_directory = DIR/\n", NULL, "soft_bounce", "yes",
	    "MAINCF:11" },
	/* vrcptd.cf above main.cf: the same value (a list: whatever the
	 * separators), then a different one */
	{ "postfix_config_directory = DIR\nrecipient_delimiter = +-\n", NULL,
	    "recipient_delimiter", "+-", "P:2, overrides MAINCF:13" },
	{ "postfix_config_directory = DIR\n"
	    "virtual_mailbox_domains = example.com /srv/maps.example,\n"
	    "  example.org\n", NULL,
	    "virtual_mailbox_domains", "example.com /srv/maps.example,  "
	    "example.org", "P:2, overrides MAINCF:4" },
	{ "postfix_config_directory = DIR\nrecipient_delimiter = -\n", NULL,
	    "recipient_delimiter", "-", "P:2, overrides MAINCF:13 (differs)",
	    { "P:2: warning: recipient_delimiter differs from MAINCF:13: "
	    "vrcpt answers as if Postfix had this value, and Postfix does "
	    "not" } },
	{ "postfix_config_directory = DIR\nsoft_bounce = NO\n", NULL,
	    "soft_bounce", "no", "P:2, overrides MAINCF:11 (differs)",
	    { "P:2: warning: soft_bounce differs from MAINCF:11: vrcpt "
	    "answers as if Postfix had this value, and Postfix does not" } },
	{ "postfix_config_directory = DIR\nsoft_bounce = YES\n", NULL,
	    "soft_bounce", "yes", "P:2, overrides MAINCF:11" },
	{ "postfix_config_directory = DIR\nrelay_domains = example.net\n",
	    NULL, "relay_domains", "example.net",
	    "P:2, overrides postfix default (differs)",
	    { "P:2: warning: relay_domains differs from Postfix's default "
	    "(MAINCF does not set relay_domains): vrcpt answers as if "
	    "Postfix had this value, and Postfix does not" } },
	/* -o above both */
	{ "postfix_config_directory = DIR\n", "recipient_delimiter=+-",
	    "recipient_delimiter", "+-", "-o, overrides MAINCF:13" },
	/* vrcptd.cf's $names: main.cf's values (expanded there), and
	 * Postfix's own parameters */
	{ "postfix_config_directory = DIR\n"
	    "relay_recipient_maps = $virtual_alias_maps\n", NULL,
	    "relay_recipient_maps",
	    "hash:/srv/maps/mailboxes, inline:{{a@example.com=b$c}}",
	    "P:2, overrides postfix default (differs)",
	    { "P:2: warning: relay_recipient_maps differs from Postfix's "
	    "default (MAINCF does not set relay_recipient_maps): vrcpt "
	    "answers as if Postfix had this value, and Postfix does "
	    "not" } },
	{ "postfix_config_directory = DIR\n"
	    "virtual_mailbox_maps = hash:$config_directory/mailboxes\n", NULL,
	    "virtual_mailbox_maps", "hash:DIR/mailboxes",
	    "P:2, overrides MAINCF:8 (differs)",
	    { "P:2: warning: virtual_mailbox_maps differs from MAINCF:8: "
	    "vrcpt answers as if Postfix had this value, and Postfix does "
	    "not" } },
	/* off: vrcpt's defaults */
	{ "postfix_config_directory =\n", NULL, "recipient_delimiter", "",
	    "default" },
	{ "recipient_delimiter = +\n", "postfix_config_directory=",
	    "recipient_delimiter", "+", "P:1" },
};

/* subst - s with each "DIR" the fixture's directory, "MAINCF" its
 * main.cf and "P" (alone before ":") the vrcptd.cf name (fresh) */
static char *
subst(const char *s)
{
	char	*out = calloc(1, strlen(s) * 8 + PATH_MAX * 4 + 1), *op = out;

	ck_assert_ptr_nonnull(out);
	while (*s != '\0') {
		if (strncmp(s, "MAINCF", 6) == 0) {
			op += sprintf(op, "%s/" PF "/main.cf", top);
			s += 6;
		} else if (strncmp(s, "DIR", 3) == 0) {
			op += sprintf(op, "%s/" PF, top);
			s += 3;
		} else if (strncmp(s, "P:", 2) == 0) {
			op += sprintf(op, "%s:", P);
			s += 2;
		} else
			*op++ = *s++;
	}
	return out;
}

START_TEST(test_load)
{
	struct conf_msgs msgs = { 0 };
	struct conf *cfg = NULL;
	const struct conf_param *p;
	const char *ov[1];
	char	*text, *want, *v;
	size_t	 i;
	int	 rc;

	text = subst(load_cases[_i].text);
	ov[0] = load_cases[_i].ov != NULL ? subst(load_cases[_i].ov) : NULL;
	rc = conf_load_text(P, text, strlen(text), WHAT, ov,
	    ov[0] != NULL ? 1 : 0, &cfg, &msgs);
	ck_assert_msg(rc == 0, "load failed: %s", msgs.n ? msgs.v[0] : "?");
	for (i = 0; i < msgs.n || load_cases[_i].msgs[i] != NULL; i++) {
		ck_assert_msg(load_cases[_i].msgs[i] != NULL,
		    "unexpected message: %s", msgs.v[i]);
		ck_assert_msg(i < msgs.n, "missing message: %s",
		    load_cases[_i].msgs[i]);
		want = subst(load_cases[_i].msgs[i]);
		ck_assert_str_eq(msgs.v[i], want);
		free(want);
	}
	p = conf_param_find(load_cases[_i].param,
	    strlen(load_cases[_i].param));
	ck_assert_ptr_nonnull(p);
	v = conf_format(cfg, (enum conf_param_id)(p - conf_params));
	want = subst(load_cases[_i].value);
	ck_assert_str_eq(v, want);
	free(v);
	free(want);
	v = conf_origin_text(cfg, (enum conf_param_id)(p - conf_params));
	want = subst(load_cases[_i].origin);
	ck_assert_str_eq(v, want);
	free(v);
	free(want);
	conf_msgs_free(&msgs);
	conf_unref(&cfg);
	free(text);
	free((char *)ov[0]);
}
END_TEST

/*
 * failures: named by vrcptd.cf's line of postfix_config_directory, with
 * postconf's message but never the text of main.cf's line
 */
static const struct {
	const char *text;
	const char *msg;
} fail_cases[] = {
	{ "postfix_config_directory = /nonexistent/pf\n",
	    "P:1: postfix_config_directory: cannot read /nonexistent/pf/"
	    "main.cf: No such file or directory" },
	{ "postfix_config_directory = DIR-loop\n",
	    "P:1: postfix_config_directory: DIR-loop/main.cf: "
	    PFCONF_POSTCONF " failed (exit status 1): postconf: fatal: "
	    "macro processing error" },
	{ "postfix_config_directory = DIR-bad\n",
	    "P:1: postfix_config_directory: DIR-bad/main.cf: "
	    PFCONF_POSTCONF " failed (exit status 1): postconf: fatal: "
	    "DIR-bad/main.cf, line 2: missing '=' after attribute name" },
	{ "postfix_config_directory = postfix\n",
	    "P:1: bad path configuration: postfix_config_directory = postfix "
	    "(use an absolute path, /dev/stderr, or nothing for syslog)" },
};

START_TEST(test_fail)
{
	struct conf_msgs msgs = { 0 };
	struct conf *cfg = NULL;
	char	*text, *want;

	text = subst(fail_cases[_i].text);
	ck_assert_int_eq(conf_load_text(P, text, strlen(text), WHAT, NULL, 0,
	    &cfg, &msgs), -1);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_ge(msgs.n, 1);
	want = subst(fail_cases[_i].msg);
	ck_assert_str_eq(msgs.v[msgs.n - 1], want);
	ck_assert_ptr_null(strstr(msgs.v[msgs.n - 1], "secret"));
	free(want);
	conf_msgs_free(&msgs);
	free(text);
}
END_TEST

/* a program that reads no Postfix parameter never asks postconf */
START_TEST(test_milter_not_asked)
{
	struct conf_msgs msgs = { 0 };
	struct conf *cfg = NULL;
	const char *text = "postfix_config_directory = /nonexistent\n";

	ck_assert_int_eq(conf_load_text(P, text, strlen(text), CONF_M, NULL,
	    0, &cfg, &msgs), 0);
	ck_assert_uint_eq(msgs.n, 0);
	ck_assert_ptr_null(cfg->maincf);
	conf_unref(&cfg);
}
END_TEST

static Suite *
pfconf_suite(void)
{
	Suite	*s = suite_create("pfconf");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_parse, 0,
	    sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_test(tc, test_parse_nul);
	tcase_add_loop_test(tc, test_load, 0,
	    sizeof(load_cases) / sizeof(load_cases[0]));
	tcase_add_loop_test(tc, test_fail, 0,
	    sizeof(fail_cases) / sizeof(fail_cases[0]));
	tcase_add_test(tc, test_milter_not_asked);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(pfconf_suite());
	int	 failed;

	if (getcwd(top, sizeof(top)) == NULL)
		return 1;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
