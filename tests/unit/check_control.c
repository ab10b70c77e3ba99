/*
 * check_control - the control requests and replies (proto/control) and
 * the attribute picker shared with the milter (pp_reply_value): what a
 * reply may hold, how values are made one line, and what is refused.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proto/control.h"
#include "proto/policy.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static const struct parse_case {
	const char *in;
	int	 rc;		/* control_reply_parse() */
	size_t	 n;		/* attributes */
	const char *name, *value;	/* one to look up; value NULL: absent */
} parse_cases[] = {
	{ "action=DUNNO\n\n", 0, 1, "action", "DUNNO" },
	{ "a=1\nb=2\n\n", 0, 2, "b", "2" },
	/* the first of a repeated attribute wins, as in Postfix attr_scan */
	{ "a=1\na=2\n\n", 0, 2, "a", "1" },
	/* CR before LF is not part of the value */
	{ "action=OK\r\n\r\n", 0, 1, "action", "OK" },
	/* an empty value is a value */
	{ "text=\n\n", 0, 1, "text", "" },
	/* '=' in a value stays */
	{ "text=a=b\n\n", 0, 1, "text", "a=b" },
	{ "\n", 0, 0, "action", NULL },
	/* what follows the empty line is not this reply's */
	{ "a=1\n\nb=2\n\n", 0, 1, "b", NULL },
	{ "noequals\n\n", -1, 0, NULL, NULL },
	{ "=value\n\n", -1, 0, NULL, NULL },
};

START_TEST(parse)
{
	const struct parse_case *c = &parse_cases[_i];
	struct control_reply r;
	const char *why = NULL, *v;

	ck_assert_int_eq(control_reply_parse(c->in, strlen(c->in), &r, &why),
	    c->rc);
	if (c->rc < 0) {
		ck_assert_ptr_nonnull(why);
		ck_assert_ptr_null(r.text);
		return;
	}
	ck_assert_uint_eq(r.n, c->n);
	v = control_reply_get(&r, c->name);
	if (c->value == NULL)
		ck_assert_ptr_null(v);
	else
		ck_assert_str_eq(v, c->value);
	control_reply_free(&r);
}
END_TEST

START_TEST(nul_refused)
{
	static const char in[] = "a=1\0b=2\n\n";
	struct control_reply r;
	const char *why;

	ck_assert_int_eq(control_reply_parse(in, sizeof(in) - 1, &r, &why),
	    -1);
}
END_TEST

START_TEST(too_many_lines)
{
	struct control_reply r;
	struct buf b;
	const char *why;
	size_t	 i;

	buf_init(&b, 0);
	for (i = 0; i <= CONTROL_ATTRS_MAX; i++)
		control_attr_u(&b, "n", i);
	control_end(&b);
	ck_assert_int_eq(control_reply_parse(b.data, b.len, &r, &why), -1);
	ck_assert_str_eq(why, "too many lines");
	buf_free(&b);
}
END_TEST

/* a value with line breaks or control bytes cannot break the framing */
START_TEST(attr_one_line)
{
	struct control_reply r;
	struct buf b;
	const char *why;

	buf_init(&b, 0);
	control_attr(&b, "text", "evil\n\naction=OK\r\x01\x7f");
	control_attr_u(&b, "n", 18446744073709551615ULL);
	control_end(&b);
	ck_assert_str_eq(buf_str(&b),
	    "text=evil??action=OK???\nn=18446744073709551615\n\n");
	ck_assert_int_eq(control_reply_parse(b.data, b.len, &r, &why), 0);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_ptr_null(control_reply_get(&r, "action"));
	control_reply_free(&r);
	buf_free(&b);
}
END_TEST

static const struct value_case {
	const char *reply;
	const char *name;
	const char *value;	/* NULL: absent */
} value_cases[] = {
	{ "action=DUNNO\n\n", "action", "DUNNO" },
	{ "x=1\naction=REJECT no\n\n", "action", "REJECT no" },
	{ "actions=1\naction=OK\n\n", "action", "OK" },
	{ "action=\n\n", "action", "" },
	{ "action=4\r\n\r\n", "action", "4" },
	{ "x=1\n\naction=OK\n\n", "action", NULL },
	{ "act=OK\n\n", "action", NULL },
};

START_TEST(reply_value)
{
	const struct value_case *c = &value_cases[_i];
	char	*v = pp_reply_value(c->reply, strlen(c->reply), c->name);

	if (c->value == NULL)
		ck_assert_ptr_null(v);
	else
		ck_assert_str_eq(v, c->value);
	free(v);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("control");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_loop_test(tc, parse, 0, N(parse_cases));
	tcase_add_test(tc, nul_refused);
	tcase_add_test(tc, too_many_lines);
	tcase_add_test(tc, attr_one_line);
	tcase_add_loop_test(tc, reply_value, 0, N(value_cases));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
