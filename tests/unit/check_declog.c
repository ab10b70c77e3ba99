/*
 * check_declog - unit tests for src/proto/declog.c.
 *
 * What a mail admin cares about here: vrcptd's (and vrcpt-milter's)
 * decision line is Postfix's own "reject:" line plus extras, byte for
 * byte, so that it joins with Postfix's line and pflogsumm, logwatch and
 * fail2ban read it the same: the reply text, from= and to= in the forms
 * Postfix logs (to= quoted, the reply text not), and long addresses
 * neither cut where Postfix does not cut nor longer than the line
 * Postfix writes (2000 bytes); a hostile address cannot forge a second
 * line.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "proto/declog.h"
#include "proto/policy.h"
#include "util/buf.h"

#define N(a)		(sizeof(a) / sizeof((a)[0]))
#define TEST_ADDR_MAX	2100
#define POSTFIX_RECLEN	2000	/* msg_syslog.c, msg_logger.c: Postfix's
				 * own cut, independent of DECLOG_* */
#define LINE_SLACK	512	/* the fixed text of a reject line */

/* the request of one RCPT, as Postfix 3.7 sends it; strings borrowed */
static void
req_init(struct policy_req *pr, char *rcpt, char *sender)
{
	static char client[] = "unknown", addr[] = "127.0.0.1",
	    proto[] = "ESMTP", helo[] = "c1.e2e.test";

	memset(pr, 0, sizeof(*pr));
	pr->client_name = client;
	pr->client_address = addr;
	pr->protocol_name = proto;
	pr->helo_name = helo;
	pr->recipient = rcpt;
	pr->sender = sender;
}

static void
verdict_unknown(struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->kind = VERDICT_UNKNOWN;
	v->code = 550;
	snprintf(v->dsn, sizeof(v->dsn), "5.1.1");
	snprintf(v->text, sizeof(v->text),
	    "User unknown in virtual mailbox table");
}

/* postfix - the line Postfix 3.7 logs for this reject (log_whatsup),
 * cut at 2000 bytes as msg_syslog.c and msg_logger.c cut it */
static char *
postfix(const char *rcpt_int, const char *rcpt_ext, const char *sender_ext)
{
	char	*s;
	size_t	 n;

	n = strlen(rcpt_int) * 2 + strlen(sender_ext) + LINE_SLACK;
	s = malloc(n);
	ck_assert_ptr_nonnull(s);
	snprintf(s, n, "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 "
	    "5.1.1 <%s>: Recipient address rejected: User unknown in virtual "
	    "mailbox table; from=<%s> to=<%s> proto=ESMTP helo=<c1.e2e.test>",
	    rcpt_int, sender_ext, rcpt_ext);
	if (strlen(s) > POSTFIX_RECLEN)
		s[POSTFIX_RECLEN] = '\0';
	return s;
}

static const struct line_case {
	const char *rcpt;	/* internal form, as the policy request */
	const char *rcpt_ext;	/* as Postfix logs it in to= */
	const char *sender;
	const char *sender_ext;
} line_cases[] = {
	{ "nosuch@example.com", "nosuch@example.com", "s@sender.test",
	  "s@sender.test" },
	{ "no such@example.com", "\"no such\"@example.com", "",
	  "" },
	{ "x';drop table x;--@example.com",
	  "\"x';drop table x;--\"@example.com", "odd sender@sender.test",
	  "\"odd sender\"@sender.test" },
	{ "John.@Example.COM", "\"John.\"@Example.COM", "s@sender.test",
	  "s@sender.test" },
	{ "j\xc3\xbcrgen@example.com", "j\xc3\xbcrgen@example.com",
	  "s@sender.test", "s@sender.test" },
};

START_TEST(line_is_postfix_line)
{
	const struct line_case *c = &line_cases[_i];
	struct policy_req pr = { 0 };
	struct verdict v;
	struct buf out;
	char	 rcpt[TEST_ADDR_MAX], sender[TEST_ADDR_MAX];
	char	*want;

	snprintf(rcpt, sizeof(rcpt), "%s", c->rcpt);
	snprintf(sender, sizeof(sender), "%s", c->sender);
	req_init(&pr, rcpt, sender);
	verdict_unknown(&v);
	buf_init(&out, 0);
	declog_format(&out, &pr, &v, "db", 840);
	want = postfix(c->rcpt, c->rcpt_ext, c->sender_ext);
	/* Postfix's line, then the extras */
	ck_assert_int_eq(strncmp(buf_str(&out), want, strlen(want)), 0);
	ck_assert_str_eq(buf_str(&out) + strlen(want),
	    " lookup=db delay=0.84ms");
	free(want);
	buf_free(&out);
}
END_TEST

/* local parts of these lengths at example.com: whole up to 2000 bytes */
static const size_t long_cases[] = { 500, 900, 1000, 2000, 2040 };

START_TEST(long_address_cut_like_postfix)
{
	struct policy_req pr = { 0 };
	struct verdict v;
	struct buf out;
	char	 rcpt[TEST_ADDR_MAX], sender[] = "s@sender.test";
	char	*want;
	size_t	 n = long_cases[_i];

	memset(rcpt, 'z', n);
	snprintf(rcpt + n, sizeof(rcpt) - n, "@example.com");
	req_init(&pr, rcpt, sender);
	verdict_unknown(&v);
	buf_init(&out, 0);
	declog_format(&out, &pr, &v, "db", 1);
	want = postfix(rcpt, rcpt, sender);
	if (strlen(want) == POSTFIX_RECLEN) {
		/* Postfix cut its line: ours is the same line, extras gone */
		ck_assert_str_eq(buf_str(&out), want);
	} else {
		/* the whole address, twice: not cut at a field limit */
		ck_assert_int_eq(strncmp(buf_str(&out), want, strlen(want)),
		    0);
		ck_assert_ptr_nonnull(strstr(buf_str(&out), " lookup=db"));
	}
	ck_assert_uint_le(out.len, DECLOG_LINE_MAX);
	free(want);
	buf_free(&out);
}
END_TEST

/* the cut counts from where this line starts in the buffer */
START_TEST(cut_is_relative)
{
	struct policy_req pr = { 0 };
	struct verdict v;
	struct buf out;
	char	 rcpt[TEST_ADDR_MAX], sender[] = "s@sender.test";

	memset(rcpt, 'z', POSTFIX_RECLEN);
	snprintf(rcpt + POSTFIX_RECLEN, sizeof(rcpt) - POSTFIX_RECLEN,
	    "@example.com");
	req_init(&pr, rcpt, sender);
	verdict_unknown(&v);
	buf_init(&out, 0);
	buf_puts(&out, "prefix: ");
	declog_format(&out, &pr, &v, "db", 1);
	ck_assert_uint_eq(out.len, strlen("prefix: ") + DECLOG_LINE_MAX);
	ck_assert_uint_eq(strlen(buf_str(&out)), out.len);
	buf_free(&out);
}
END_TEST

/* a hostile recipient cannot start a second log line */
START_TEST(no_line_break)
{
	struct policy_req pr = { 0 };
	struct verdict v;
	struct buf out;
	char	 rcpt[] = "a\nNOQUEUE: reject: x\r@example.com";
	char	 sender[] = "s\n@x";

	req_init(&pr, rcpt, sender);
	verdict_unknown(&v);
	buf_init(&out, 0);
	declog_format(&out, &pr, &v, "db", 1);
	ck_assert_ptr_null(strpbrk(buf_str(&out), "\r\n"));
	buf_free(&out);
}
END_TEST

static Suite *
declog_suite(void)
{
	Suite	*s = suite_create("declog");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, line_is_postfix_line, 0, N(line_cases));
	tcase_add_loop_test(tc, long_address_cut_like_postfix, 0,
	    N(long_cases));
	tcase_add_test(tc, cut_is_relative);
	tcase_add_test(tc, no_line_break);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(declog_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
