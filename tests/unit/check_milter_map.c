/*
 * check_milter_map - unit tests for src/proto/milter_map.c.
 *
 * What a mail admin cares about here: with vrcpt-milter in front, a
 * sender sees byte for byte the reply native Postfix smtpd would have
 * sent ("550 5.1.1 <r>: Recipient address rejected: User unknown in
 * virtual mailbox table", "451 4.3.0 <r>: Temporary lookup failure");
 * the recipient in that text is the address as the client wrote it
 * (case kept, quotes and source route removed, as smtpd does); vrcptd
 * down never means a silent accept unless lookup_failure_action = dunno
 * says so; a hostile address cannot inject policy attributes or SMTP
 * reply lines; and the optional log line joins the Postfix log.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/milter_map.h"
#include "proto/policy.h"
#include "util/buf.h"
#include "util/strutil.h"

#define N(a)		(sizeof(a) / sizeof((a)[0]))
#define TEST_RCPT	"nosuch@example.com"
#define TEST_LONG	2048

/* ------------------------------------------------------- address form */

static const struct addr_case {
	const char *arg;
	const char *want;
} addr_cases[] = {
	{ "<a@b>", "a@b" },
	{ "<User.Name@Example.COM>", "User.Name@Example.COM" },	/* case */
	{ "<\"a b\"@example.com>", "a b@example.com" },
	{ "<\"a\\\"b\"@example.com>", "a\"b@example.com" },
	{ "<\"x\ty\"@example.com>", "x y@example.com" },
	{ "<@r1,@r2:a@b>", "a@b" },
	{ "<@r1.example:User@Example.com>", "User@Example.com" },
	{ "<>", "" },
	{ "", "" },
	{ "a@b", "a@b" },			/* Sendmail may strip <> */
	{ "<a\\ b@x>", "a b@x" },
	{ "<user@[192.0.2.1]>", "user@[192.0.2.1]" },
	{ "<(comment)a@b>", "a@b" },
	{ "<(nested (comment))a@b>", "a@b" },
	{ "<<a@b>>", "a@b" },
	{ "< a@b >", "a@b" },
	{ "<\"unterminated@d>", "unterminated@d" },
	{ "<@route:>", "" },
	{ "<Jörg@bücher.example>", "Jörg@bücher.example" },
	{ "<postmaster>", "postmaster" },
	{ "<\"\"@example.com>", "@example.com" },
	{ "<", "" },
	{ ">", "" },
	/* unterminated domain literals: tok822 still closes them, so the
	 * internal form is one byte longer than the argument (this read
	 * and wrote past the buffer once: MAIL FROM:[@example.net) */
	{ "[@example.net", "[@example.net]" },
	{ "[", "[]" },
	{ "[\\", "[]" },
	{ "<[", "[]" },
	{ "a@[192.0.2.1", "a@[192.0.2.1]" },
	{ "<a@[192.0.2.1>", "a@[192.0.2.1]" },
	{ "[a][b][c", "[a][b][c]" },
	{ "\"[", "[" },
};

START_TEST(addr_internal_form)
{
	const struct addr_case *c = &addr_cases[_i];
	char	*got = milter_map_addr(c->arg);

	ck_assert_msg(strcmp(got, c->want) == 0, "%s: got \"%s\", want \"%s\"",
	    c->arg, got, c->want);
	free(got);
}
END_TEST

static const struct str_case {
	const char *in;
	const char *want;
} client_addr_cases[] = {
	{ "192.0.2.1", "192.0.2.1" },
	{ "IPv6:2001:db8::1", "2001:db8::1" },
	{ "ipv6:2001:db8::1", "2001:db8::1" },
	{ "[192.0.2.1]", "192.0.2.1" },
	{ "[IPv6:2001:db8::1]", "2001:db8::1" },
	{ "::ffff:192.0.2.1", "192.0.2.1" },
	{ "::FFFF:192.0.2.1", "192.0.2.1" },
	{ "::ffff:1:2", "::ffff:1:2" },
	{ "2001:db8::1", "2001:db8::1" },
	{ NULL, "" },
}, client_name_cases[] = {
	{ "mx.example.net", "mx.example.net" },
	{ "[192.0.2.1]", "unknown" },	/* Postfix milter8 / Sendmail form */
	{ "", "unknown" },
	{ NULL, "unknown" },
	{ "unknown", "unknown" },
}, protocol_cases[] = {
	{ NULL, "ESMTP" },
	{ "ESMTP", "ESMTP" },
	{ "ESMTPSA", "ESMTP" },
	{ "esmtps", "ESMTP" },
	{ "SMTP", "SMTP" },
	{ "smtp", "SMTP" },
	{ "LMTP", "ESMTP" },
	{ "", "ESMTP" },
};

START_TEST(client_addr_forms)
{
	const struct str_case *c = &client_addr_cases[_i];
	char	*got = milter_map_client_addr(c->in);

	ck_assert_str_eq(got, c->want);
	free(got);
}
END_TEST

START_TEST(client_name_forms)
{
	const struct str_case *c = &client_name_cases[_i];

	ck_assert_str_eq(milter_map_client_name(c->in), c->want);
}
END_TEST

START_TEST(protocol_forms)
{
	const struct str_case *c = &protocol_cases[_i];

	ck_assert_str_eq(milter_map_protocol(c->in), c->want);
}
END_TEST

START_TEST(instance_stable)
{
	char	 a[MILTER_INSTANCE_MAX], b[MILTER_INSTANCE_MAX];

	ck_assert_str_eq(milter_map_instance(a, 0x1234, 7, 2), "1234.7.2");
	ck_assert_str_eq(milter_map_instance(b, 0x1234, 7, 2), a);
	ck_assert_str_ne(milter_map_instance(b, 0x1234, 7, 3), a);
	ck_assert_str_ne(milter_map_instance(b, 0x1234, 8, 2), a);
	milter_map_instance(a, 0xffffffffu, (unsigned long)-1,
	    (unsigned long)-1);
	ck_assert_uint_lt(strlen(a), MILTER_INSTANCE_MAX);
}
END_TEST

/* ------------------------------------------------------------ request */

static const struct milter_env base_env = {
	.hostname = "mx.example.net",
	.hostaddr = "192.0.2.9",
	.mac_client_addr = "IPv6:2001:db8::9",	/* loses to hostaddr */
	.mac_client_name = "other.example",	/* loses to hostname */
	.helo = "mx.example.net",
	.envfrom = "<Sender@Example.NET>",
	.envrcpt = "<\"No Such\"@Example.com>",
	.mac_queue_id = "",
	.mac_auth_authen = "",
	.instance = "1a.2.1",
};

START_TEST(request_exact)
{
	struct policy_req pr = { 0 };
	struct buf out;

	milter_map_request(&base_env, &pr);
	buf_init(&out, POLICY_REQUEST_MAX);
	ck_assert_int_eq(milter_map_format_request(&out, &pr), 0);
	ck_assert_str_eq(buf_str(&out),
	    "request=smtpd_access_policy\n"
	    "protocol_state=RCPT\n"
	    "protocol_name=ESMTP\n"
	    "client_address=192.0.2.9\n"
	    "client_name=mx.example.net\n"
	    "helo_name=mx.example.net\n"
	    "sender=Sender@Example.NET\n"
	    "recipient=No Such@Example.com\n"
	    "recipient_count=0\n"
	    "queue_id=\n"
	    "instance=1a.2.1\n"
	    "sasl_username=\n"
	    "\n");
	policy_req_free(&pr);
	buf_free(&out);
}
END_TEST

START_TEST(request_parses_back)
{
	struct milter_env env = base_env;
	struct policy_req pr = { 0 }, back = { 0 };
	enum pp_error why;
	struct buf out;
	size_t	 used;

	/* no connect arguments: the macros, in policy form */
	env.hostname = NULL;
	env.hostaddr = NULL;
	env.mac_client_name = "[2001:db8::9]";
	env.envfrom = "<>";
	env.mac_queue_id = "4XyZ1";
	env.mac_auth_authen = "joe";
	env.mac_protocol = "SMTP";
	milter_map_request(&env, &pr);
	buf_init(&out, POLICY_REQUEST_MAX);
	ck_assert_int_eq(milter_map_format_request(&out, &pr), 0);
	ck_assert_int_eq(pp_parse(out.data, out.len, &back, &used, &why),
	    PP_DONE);
	ck_assert_uint_eq(used, out.len);
	ck_assert_str_eq(back.protocol_state, "RCPT");
	ck_assert_str_eq(back.protocol_name, "SMTP");
	ck_assert_str_eq(back.client_address, "2001:db8::9");
	ck_assert_str_eq(back.client_name, "unknown");
	ck_assert_str_eq(back.sender, "");
	ck_assert_str_eq(back.recipient, "No Such@Example.com");
	ck_assert_str_eq(back.queue_id, "4XyZ1");
	ck_assert_str_eq(back.sasl_username, "joe");
	policy_req_free(&back);
	policy_req_free(&pr);
	buf_free(&out);
}
END_TEST

/* a hostile value must never become a second attribute */
static const struct hostile_case {
	const char *helo;
	const char *rcpt;
} hostile_cases[] = {
	{ "x\nrecipient=postmaster@example.com", "<a@example.com>" },
	{ "x\r", "<a@example.com>" },
	{ "mx", "<\"a\nb\"@example.com>" },	/* quoted: becomes ' ' */
	{ "mx", "<a\\\n@example.com>" },	/* escaped LF is kept */
	{ "mx", "<a\r@example.com>" },
};

START_TEST(request_refuses_crlf)
{
	const struct hostile_case *c = &hostile_cases[_i];
	struct milter_env env = base_env;
	struct policy_req pr = { 0 };
	struct buf out;
	int	 rc;

	env.helo = c->helo;
	env.envrcpt = c->rcpt;
	milter_map_request(&env, &pr);
	buf_init(&out, POLICY_REQUEST_MAX);
	buf_puts(&out, "keep");
	rc = milter_map_format_request(&out, &pr);
	if (strchr(pr.helo_name, '\n') || strchr(pr.helo_name, '\r') ||
	    strchr(pr.recipient, '\n') || strchr(pr.recipient, '\r')) {
		ck_assert_int_eq(rc, -1);
		ck_assert_str_eq(buf_str(&out), "keep");  /* all or nothing */
	} else {
		ck_assert_int_eq(rc, 0);
		ck_assert_ptr_null(strstr(buf_str(&out),
		    "\nrecipient=postmaster"));
	}
	policy_req_free(&pr);
	buf_free(&out);
}
END_TEST

START_TEST(request_line_limit)
{
	struct milter_env env = base_env;
	struct policy_req pr = { 0 };
	struct buf out;
	char	*helo = malloc(POLICY_LINE_MAX + 2);

	/* "helo_name=" + value == POLICY_LINE_MAX: barely fits */
	memset(helo, 'h', POLICY_LINE_MAX + 1);
	helo[POLICY_LINE_MAX - strlen("helo_name=")] = '\0';
	env.helo = helo;
	milter_map_request(&env, &pr);
	buf_init(&out, POLICY_REQUEST_MAX);
	ck_assert_int_eq(milter_map_format_request(&out, &pr), 0);
	policy_req_free(&pr);
	buf_reset(&out);

	/* one byte over */
	helo[POLICY_LINE_MAX - strlen("helo_name=")] = 'h';
	helo[POLICY_LINE_MAX - strlen("helo_name=") + 1] = '\0';
	milter_map_request(&env, &pr);
	ck_assert_int_eq(milter_map_format_request(&out, &pr), -1);
	ck_assert_uint_eq(out.len, 0);
	policy_req_free(&pr);

	/* the buffer's own limit: refused, nothing left behind */
	buf_free(&out);
	buf_init(&out, 64);
	env.helo = "mx";
	milter_map_request(&env, &pr);
	ck_assert_int_eq(milter_map_format_request(&out, &pr), -1);
	ck_assert_uint_eq(out.len, 0);
	policy_req_free(&pr);
	buf_free(&out);
	free(helo);
}
END_TEST

/* -------------------------------------------------------------- reply */

static const struct reply_case {
	const char *in;
	size_t	 len;			/* 0: strlen(in) */
	enum pp_status st;
	const char *action;		/* NULL: none */
	size_t	 consumed;		/* 0: all */
} reply_cases[] = {
	{ "action=DUNNO\n\n", 0, PP_DONE, "DUNNO", 0 },
	{ "action=DUNNO\r\n\r\n", 0, PP_DONE, "DUNNO", 0 },
	{ "action=550 5.1.1 User unknown in virtual mailbox table\n\n", 0,
	    PP_DONE, "550 5.1.1 User unknown in virtual mailbox table", 0 },
	{ "x=1\naction=OK\naction=REJECT\n\n", 0, PP_DONE, "OK", 0 },
	{ "foo=bar\n\n", 0, PP_DONE, NULL, 0 },
	{ "\n", 0, PP_DONE, NULL, 0 },
	{ "action=\n\n", 0, PP_DONE, "", 0 },
	{ "action=DUNNO\n\naction=OK\n\n", 0, PP_DONE, "DUNNO", 14 },
	{ "Action=OK\n\n", 0, PP_DONE, NULL, 0 },	/* names are exact */
	{ "action=DUNNO\n", 0, PP_AGAIN, NULL, 0 },
	{ "action=DUN", 0, PP_AGAIN, NULL, 0 },
	{ "noequals\n\n", 0, PP_ERROR, NULL, 0 },
	{ "=DUNNO\n\n", 0, PP_ERROR, NULL, 0 },
	{ "action=DU\0NO\n\n", 15, PP_ERROR, NULL, 0 },
};

START_TEST(reply_parse)
{
	const struct reply_case *c = &reply_cases[_i];
	size_t	 len = c->len ? c->len : strlen(c->in), used = 0;
	char	*action = NULL;
	enum pp_error why;
	enum pp_status st;

	st = milter_map_parse_reply(c->in, len, &action, &used, &why);
	ck_assert_int_eq(st, c->st);
	if (st != PP_DONE)
		return;
	ck_assert_uint_eq(used, c->consumed ? c->consumed : len);
	if (c->action == NULL)
		ck_assert_ptr_null(action);
	else
		ck_assert_str_eq(action, c->action);
	free(action);
}
END_TEST

START_TEST(reply_every_prefix_again)
{
	const char *r = "foo=bar\r\naction=550 5.1.1 User unknown\n\n";
	size_t	 i, used;
	enum pp_error why;
	char	*action;

	for (i = 0; i < strlen(r); i++)
		ck_assert_int_eq(milter_map_parse_reply(r, i, &action, &used,
		    &why), PP_AGAIN);
	ck_assert_int_eq(milter_map_parse_reply(r, strlen(r), &action, &used,
	    &why), PP_DONE);
	ck_assert_str_eq(action, "550 5.1.1 User unknown");
	free(action);
}
END_TEST

START_TEST(reply_limits)
{
	char	*big = malloc(POLICY_REQUEST_MAX + 16);
	size_t	 used, n;
	enum pp_error why;
	char	*action;

	/* a line of POLICY_LINE_MAX bytes barely fits */
	n = (size_t)snprintf(big, 16, "action=");
	memset(big + n, 'x', POLICY_LINE_MAX - n);
	memcpy(big + POLICY_LINE_MAX, "\n\n", 2);
	ck_assert_int_eq(milter_map_parse_reply(big, POLICY_LINE_MAX + 2,
	    &action, &used, &why), PP_DONE);
	ck_assert_uint_eq(strlen(action), POLICY_LINE_MAX - n);
	free(action);
	/* one byte over, even before the newline arrives */
	big[POLICY_LINE_MAX] = 'x';
	ck_assert_int_eq(milter_map_parse_reply(big, POLICY_LINE_MAX + 1,
	    &action, &used, &why), PP_ERROR);
	ck_assert_int_eq(why, PP_ERR_LINE_TOO_LONG);
	/* endless attributes: refused before POLICY_REQUEST_MAX */
	for (n = 0; n + 4 <= POLICY_REQUEST_MAX; n += 4)
		memcpy(big + n, "a=b\n", 4);
	ck_assert_int_eq(milter_map_parse_reply(big, n, &action, &used, &why),
	    PP_ERROR);
	ck_assert_int_eq(why, PP_ERR_TOO_MANY_ATTRS);
	free(big);
}
END_TEST

/* ------------------------------------------------------------ actions */

#define REJ	": Recipient address rejected: "

static const struct action_case {
	const char *action;
	enum lookup_failure_action lfa;
	enum milter_decision decision;
	enum milter_cause cause;
	const char *rcode;
	const char *xcode;
	const char *text;	/* after "rcode xcode " */
} action_cases[] = {
	/* Postfix already ran its restrictions: these all continue */
	{ "DUNNO", LFA_DEFER, MILTER_CONTINUE, MILTER_CAUSE_ACTION, "", "",
	    "" },
	{ "dunno", LFA_DEFER, MILTER_CONTINUE, MILTER_CAUSE_ACTION, "", "",
	    "" },
	{ "DUNNO ignored text", LFA_DEFER, MILTER_CONTINUE,
	    MILTER_CAUSE_ACTION, "", "", "" },
	{ "OK", LFA_DEFER, MILTER_CONTINUE, MILTER_CAUSE_ACTION, "", "", "" },
	{ "RELAY", LFA_DEFER, MILTER_CONTINUE, MILTER_CAUSE_ACTION, "", "",
	    "" },
	{ "1700000000", LFA_DEFER, MILTER_CONTINUE, MILTER_CAUSE_ACTION, "",
	    "", "" },
	{ "reject_unlisted_recipient", LFA_DEFER, MILTER_CONTINUE,
	    MILTER_CAUSE_ACTION, "", "", "" },
	{ "reject_unauth_destination", LFA_DEFER, MILTER_CONTINUE,
	    MILTER_CAUSE_ACTION, "", "", "" },
	{ "permit_mynetworks, reject_unauth_destination", LFA_DEFER,
	    MILTER_CONTINUE, MILTER_CAUSE_ACTION, "", "", "" },
	/* the unknown-user replies: native text */
	{ "550 5.1.1 User unknown in virtual mailbox table", LFA_DEFER,
	    MILTER_REJECT, MILTER_CAUSE_ACTION, "550", "5.1.1",
	    "<" TEST_RCPT ">" REJ "User unknown in virtual mailbox table" },
	{ "550 5.1.1 User unknown in virtual alias table", LFA_DEFER,
	    MILTER_REJECT, MILTER_CAUSE_ACTION, "550", "5.1.1",
	    "<" TEST_RCPT ">" REJ "User unknown in virtual alias table" },
	{ "550 5.1.1 User unknown in relay recipient table", LFA_DEFER,
	    MILTER_REJECT, MILTER_CAUSE_ACTION, "550", "5.1.1",
	    "<" TEST_RCPT ">" REJ "User unknown in relay recipient table" },
	{ "550 5.1.1 User unknown", LFA_DEFER, MILTER_REJECT,
	    MILTER_CAUSE_ACTION, "550", "5.1.1",
	    "<" TEST_RCPT ">" REJ "User unknown" },
	/* soft_bounce = yes in vrcptd */
	{ "450 4.1.1 User unknown in virtual mailbox table", LFA_DEFER,
	    MILTER_TEMPFAIL, MILTER_CAUSE_ACTION, "450", "4.1.1",
	    "<" TEST_RCPT ">" REJ "User unknown in virtual mailbox table" },
	/* lookup failure: smtpd's own words, no reply class */
	{ "451 4.3.0 Temporary lookup failure", LFA_DEFER, MILTER_TEMPFAIL,
	    MILTER_CAUSE_ACTION, "451", "4.3.0",
	    "<" TEST_RCPT ">: Temporary lookup failure" },
	{ "451 4.3.0 Temporary lookup failure", LFA_DUNNO, MILTER_TEMPFAIL,
	    MILTER_CAUSE_ACTION, "451", "4.3.0",
	    "<" TEST_RCPT ">: Temporary lookup failure" },
	/* an empty lookup result: smtpd's reject_server_error(), without
	 * the recipient */
	{ "451 4.3.5 Server configuration error", LFA_DEFER, MILTER_TEMPFAIL,
	    MILTER_CAUSE_ACTION, "451", "4.3.5",
	    "Server configuration error" },
	{ "451 4.3.5 Server configuration error", LFA_DUNNO, MILTER_TEMPFAIL,
	    MILTER_CAUSE_ACTION, "451", "4.3.5",
	    "Server configuration error" },
	{ "451 4.3.5 Server configuration problem", LFA_DEFER,
	    MILTER_TEMPFAIL, MILTER_CAUSE_ACTION, "451", "4.3.5",
	    "<" TEST_RCPT ">" REJ "Server configuration problem" },
	/* check_table_result() details */
	{ "554 Relay denied", LFA_DEFER, MILTER_REJECT, MILTER_CAUSE_ACTION,
	    "554", "5.7.1", "<" TEST_RCPT ">" REJ "Relay denied" },
	{ "450 try later", LFA_DEFER, MILTER_TEMPFAIL, MILTER_CAUSE_ACTION,
	    "450", "4.7.1", "<" TEST_RCPT ">" REJ "try later" },
	{ "550 4.1.1 class from the code", LFA_DEFER, MILTER_REJECT,
	    MILTER_CAUSE_ACTION, "550", "5.1.1",
	    "<" TEST_RCPT ">" REJ "class from the code" },
	{ "550 5.1.8 sender detail", LFA_DEFER, MILTER_REJECT,
	    MILTER_CAUSE_ACTION, "550", "5.1.2",
	    "<" TEST_RCPT ">" REJ "sender detail" },
	{ "550 5.1.7 sender syntax", LFA_DEFER, MILTER_REJECT,
	    MILTER_CAUSE_ACTION, "550", "5.1.3",
	    "<" TEST_RCPT ">" REJ "sender syntax" },
	{ "550 5.1.10 future detail", LFA_DEFER, MILTER_REJECT,
	    MILTER_CAUSE_ACTION, "550", "5.1.0",
	    "<" TEST_RCPT ">" REJ "future detail" },
	{ "550 5.2.2 Mailbox full", LFA_DEFER, MILTER_REJECT,
	    MILTER_CAUSE_ACTION, "550", "5.2.2",
	    "<" TEST_RCPT ">" REJ "Mailbox full" },
	{ "550 5.7.1", LFA_DEFER, MILTER_REJECT, MILTER_CAUSE_ACTION, "550",
	    "5.7.1", "<" TEST_RCPT ">" REJ "Access denied" },
	{ "550 5.1.1.1 not a dsn", LFA_DEFER, MILTER_REJECT,
	    MILTER_CAUSE_ACTION, "550", "5.7.1",
	    "<" TEST_RCPT ">" REJ "5.1.1.1 not a dsn" },
	{ "REJECT", LFA_DEFER, MILTER_REJECT, MILTER_CAUSE_ACTION, "554",
	    "5.7.1", "<" TEST_RCPT ">" REJ "Access denied" },
	{ "REJECT go away", LFA_DEFER, MILTER_REJECT, MILTER_CAUSE_ACTION,
	    "554", "5.7.1", "<" TEST_RCPT ">" REJ "go away" },
	{ "DEFER", LFA_DEFER, MILTER_TEMPFAIL, MILTER_CAUSE_ACTION, "450",
	    "4.7.1", "<" TEST_RCPT ">" REJ "Access denied" },
	{ "DEFER_IF_PERMIT 4.2.2 later", LFA_DEFER, MILTER_TEMPFAIL,
	    MILTER_CAUSE_ACTION, "450", "4.2.2",
	    "<" TEST_RCPT ">" REJ "later" },
	{ "550 5.1.1 100% sure", LFA_DEFER, MILTER_REJECT,
	    MILTER_CAUSE_ACTION, "550", "5.1.1",
	    "<" TEST_RCPT ">" REJ "100% sure" },
	{ "550 5.1.1 a\tb\x01" "c\x7f" "d", LFA_DEFER, MILTER_REJECT,
	    MILTER_CAUSE_ACTION, "550", "5.1.1",
	    "<" TEST_RCPT ">" REJ "a b c d" },	/* printable(): tab too */
	/* all digits is "permit" to Postfix (before the NNN rule), so the
	 * policy path would accept too */
	{ "550", LFA_DEFER, MILTER_CONTINUE, MILTER_CAUSE_ACTION, "", "",
	    "" },
	/* nothing we can use: lookup_failure_action, never an accept */
	{ "", LFA_DEFER, MILTER_TEMPFAIL, MILTER_CAUSE_BAD_ACTION, "451",
	    "4.3.0", "<" TEST_RCPT ">: Temporary lookup failure" },
	{ "HOLD", LFA_DEFER, MILTER_TEMPFAIL, MILTER_CAUSE_BAD_ACTION, "451",
	    "4.3.0", "<" TEST_RCPT ">: Temporary lookup failure" },
	{ "250 2.0.0 Ok", LFA_DEFER, MILTER_TEMPFAIL, MILTER_CAUSE_BAD_ACTION,
	    "451", "4.3.0", "<" TEST_RCPT ">: Temporary lookup failure" },
	{ "650 6.1.1 x", LFA_DEFER, MILTER_TEMPFAIL, MILTER_CAUSE_BAD_ACTION,
	    "451", "4.3.0", "<" TEST_RCPT ">: Temporary lookup failure" },
	{ "check_recipient_access pgsql:/etc/x.cf", LFA_DEFER,
	    MILTER_TEMPFAIL, MILTER_CAUSE_BAD_ACTION, "451", "4.3.0",
	    "<" TEST_RCPT ">: Temporary lookup failure" },
	{ " DUNNO", LFA_DEFER, MILTER_TEMPFAIL, MILTER_CAUSE_BAD_ACTION,
	    "451", "4.3.0", "<" TEST_RCPT ">: Temporary lookup failure" },
	{ "garbage!", LFA_DUNNO, MILTER_CONTINUE, MILTER_CAUSE_BAD_ACTION, "",
	    "", "" },
};

START_TEST(action_outcome)
{
	const struct action_case *c = &action_cases[_i];
	struct milter_outcome o;

	milter_map_action(c->action, TEST_RCPT, c->lfa, &o);
	ck_assert_msg(o.decision == c->decision, "\"%s\": decision %s",
	    c->action, milter_decision_name(o.decision));
	ck_assert_msg(o.cause == c->cause, "\"%s\": cause %s", c->action,
	    milter_cause_name(o.cause));
	ck_assert_str_eq(o.rcode, c->rcode);
	ck_assert_str_eq(o.xcode, c->xcode);
	ck_assert_str_eq(o.text, c->text);
	if (o.decision != MILTER_CONTINUE)
		ck_assert_uint_eq(o.code, (unsigned)atoi(c->rcode));
}
END_TEST

START_TEST(action_null_is_failure)
{
	struct milter_outcome o;

	milter_map_action(NULL, TEST_RCPT, LFA_DEFER, &o);
	ck_assert_int_eq(o.decision, MILTER_TEMPFAIL);
	ck_assert_int_eq(o.cause, MILTER_CAUSE_BAD_ACTION);
	milter_map_action(NULL, TEST_RCPT, LFA_DUNNO, &o);
	ck_assert_int_eq(o.decision, MILTER_CONTINUE);
}
END_TEST

START_TEST(action_keeps_recipient_form)
{
	struct milter_outcome o;
	char	*rcpt = milter_map_addr("<@relay.example:\"Jo Doe\"@"
	    "Example.COM>");

	milter_map_action("550 5.1.1 User unknown in virtual mailbox table",
	    rcpt, LFA_DEFER, &o);
	ck_assert_str_eq(o.text, "<Jo Doe@Example.COM>: Recipient address "
	    "rejected: User unknown in virtual mailbox table");
	free(rcpt);
	/* a control byte in the address reaches the client as a space */
	milter_map_action("550 5.1.1 x", "a\x1b@b", LFA_DEFER, &o);
	ck_assert_str_eq(o.text, "<a @b>: Recipient address rejected: x");
}
END_TEST

/*
 * smtputf8_enable = no: Postfix's printable() turns every byte above
 * 0x7f into a space (measured: "550 5.1.1 <J  RGEN@example.com>: ..."
 * for RCPT TO:<JÜRGEN@example.com>); with it, UTF-8 stays.
 */
START_TEST(action_printable_utf8_off)
{
	struct milter_outcome o;

	milter_map_action("550 5.1.1 User unknown in virtual mailbox table",
	    "J\xc3\x9cRGEN@example.com", LFA_DEFER, &o);
	ck_assert_str_eq(o.text, "<J\xc3\x9cRGEN@example.com>: Recipient "
	    "address rejected: User unknown in virtual mailbox table");
	milter_map_set_utf8(false);
	milter_map_action("550 5.1.1 User unknown in virtual mailbox table",
	    "J\xc3\x9cRGEN@example.com", LFA_DEFER, &o);
	milter_map_set_utf8(true);
	ck_assert_str_eq(o.text, "<J  RGEN@example.com>: Recipient address "
	    "rejected: User unknown in virtual mailbox table");
}
END_TEST

/*
 * Native Postfix sends the whole reply, however long the address
 * (smtpd_check_reject()'s cut at 510 bytes has no effect): so does the
 * milter, up to the 980 bytes libmilter can pass on.
 */
static const struct long_case {
	size_t	 local;		/* bytes of the local part */
	size_t	 want;		/* strlen(o.text) */
} long_cases[] = {
	/* "<" local "@example.com>: Recipient address rejected: x":
	 * local + 45 bytes */
	{ 400, 400 + 45 },
	{ 500, 500 + 45 },	/* past 510 with "550 5.1.1 ": still whole */
	{ 935, MILTER_REPLY_MAX },	/* exactly libmilter's limit */
	{ 1000, MILTER_REPLY_MAX },	/* cut there, not at 510 */
	{ 2000, MILTER_REPLY_MAX },
};

START_TEST(action_reply_long)
{
	const struct long_case *c = &long_cases[_i];
	struct milter_outcome o;
	char	 rcpt[TEST_LONG + 64];

	memset(rcpt, 'z', c->local);
	snprintf(rcpt + c->local, sizeof(rcpt) - c->local, "@example.com");
	milter_map_action("550 5.1.1 x", rcpt, LFA_DEFER, &o);
	ck_assert_int_eq(o.decision, MILTER_REJECT);
	ck_assert_uint_eq(strlen(o.text), c->want);
	ck_assert_int_eq(strncmp(o.text + 1, rcpt, c->want - 1 <
	    c->local ? c->want - 1 : c->local), 0);
	if (c->want < MILTER_REPLY_MAX)
		ck_assert_str_eq(o.text + 1 + strlen(rcpt),
		    ">: Recipient address rejected: x");
}
END_TEST

START_TEST(action_reply_cut_utf8)
{
	struct milter_outcome o;
	char	 rcpt[TEST_LONG];
	size_t	 i;

	/* "<" then 2-byte sequences: byte 980 would split one */
	rcpt[0] = '\0';
	for (i = 0; i < 600; i++)
		strcat(rcpt, "\xc3\xa9");
	milter_map_action("550 5.1.1 x", rcpt, LFA_DEFER, &o);
	ck_assert_uint_eq(strlen(o.text), MILTER_REPLY_MAX - 1);
	ck_assert(str_valid_utf8(o.text + 1, strlen(o.text) - 1));
}
END_TEST

static const struct failure_case {
	enum milter_cause cause;
	enum lookup_failure_action lfa;
	enum milter_decision decision;
} failure_cases[] = {
	{ MILTER_CAUSE_UNREACHABLE, LFA_DEFER, MILTER_TEMPFAIL },
	{ MILTER_CAUSE_UNREACHABLE, LFA_DUNNO, MILTER_CONTINUE },
	{ MILTER_CAUSE_BAD_ACTION, LFA_DEFER, MILTER_TEMPFAIL },
	{ MILTER_CAUSE_BAD_ACTION, LFA_DUNNO, MILTER_CONTINUE },
	{ MILTER_CAUSE_BAD_REQUEST, LFA_DEFER, MILTER_TEMPFAIL },
	{ MILTER_CAUSE_BAD_REQUEST, LFA_DUNNO, MILTER_CONTINUE },
};

START_TEST(failure_action)
{
	const struct failure_case *c = &failure_cases[_i];
	struct milter_outcome o;

	milter_map_failure(c->cause, "User@Example.com", c->lfa, &o);
	ck_assert_int_eq(o.decision, c->decision);
	ck_assert_int_eq(o.cause, c->cause);
	if (c->decision == MILTER_TEMPFAIL) {
		/* exactly smtpd's reject_dict_retry() reply */
		ck_assert_str_eq(o.rcode, "451");
		ck_assert_str_eq(o.xcode, "4.3.0");
		ck_assert_str_eq(o.text,
		    "<User@Example.com>: Temporary lookup failure");
		ck_assert(o.native);
	} else {
		ck_assert_str_eq(o.rcode, "");
	}
}
END_TEST

/* ------------------------------------------------------------- escape */

START_TEST(escape_percent_and_crlf)
{
	char	 out[MILTER_REPLY_MAX + 1];

	ck_assert_int_eq(milter_map_escape("100% sure", out), 0);
	ck_assert_str_eq(out, "100%% sure");
	ck_assert_int_eq(milter_map_escape("%%s%", out), 0);
	ck_assert_str_eq(out, "%%%%s%%");
	ck_assert_int_eq(milter_map_escape("", out), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(milter_map_escape("a\r\n550 5.7.1 forged", out), -1);
	ck_assert_int_eq(milter_map_escape("a\nb", out), -1);
	ck_assert_int_eq(milter_map_escape("a\rb", out), -1);
}
END_TEST

START_TEST(escape_cap_980)
{
	char	 in[TEST_LONG], out[MILTER_REPLY_MAX + 1];

	/* barely fits */
	memset(in, 'a', MILTER_REPLY_MAX);
	in[MILTER_REPLY_MAX] = '\0';
	ck_assert_int_eq(milter_map_escape(in, out), 0);
	ck_assert_uint_eq(strlen(out), MILTER_REPLY_MAX);
	/* one over: cut */
	memset(in, 'a', MILTER_REPLY_MAX + 1);
	in[MILTER_REPLY_MAX + 1] = '\0';
	ck_assert_int_eq(milter_map_escape(in, out), 0);
	ck_assert_uint_eq(strlen(out), MILTER_REPLY_MAX);
	/* a "%%" pair is never split */
	memset(in, 'a', MILTER_REPLY_MAX - 1);
	strcpy(in + MILTER_REPLY_MAX - 1, "%b");
	ck_assert_int_eq(milter_map_escape(in, out), 0);
	ck_assert_uint_eq(strlen(out), MILTER_REPLY_MAX - 1);
	ck_assert_int_ne(out[strlen(out) - 1], '%');
	/* nor a UTF-8 sequence */
	memset(in, 'a', MILTER_REPLY_MAX - 1);
	strcpy(in + MILTER_REPLY_MAX - 1, "\xc3\xa9");
	ck_assert_int_eq(milter_map_escape(in, out), 0);
	ck_assert_uint_eq(strlen(out), MILTER_REPLY_MAX - 1);
	/* all percent: 490 of them fit */
	memset(in, '%', MILTER_REPLY_MAX);
	in[MILTER_REPLY_MAX] = '\0';
	ck_assert_int_eq(milter_map_escape(in, out), 0);
	ck_assert_uint_eq(strlen(out), MILTER_REPLY_MAX);
}
END_TEST

/* ---------------------------------------------------------------- log */

static struct policy_req
log_req(void)
{
	struct milter_env env = base_env;
	struct policy_req pr = { 0 };

	env.envrcpt = "<" TEST_RCPT ">";
	env.envfrom = "<a@example.net>";
	milter_map_request(&env, &pr);
	return pr;
}

/* the line vrcpt-milter logs: a reject as Postfix logs a policy reply,
 * smtpd's own wording for its lookup failure and its server error */
static const struct {
	const char *action;	/* vrcptd's answer; NULL: unreachable */
	const char *lookup;
	uint64_t delay_us;
	const char *line;
} log_rows[] = {
	{ "550 5.1.1 User unknown in virtual mailbox table", "policy", 840,
	  "NOQUEUE: reject: RCPT from mx.example.net[192.0.2.9]: 550 5.1.1 "
	  "<" TEST_RCPT ">: Recipient address rejected: User unknown in "
	  "virtual mailbox table; from=<a@example.net> to=<" TEST_RCPT "> "
	  "proto=ESMTP helo=<mx.example.net> instance=1a.2.1 "
	  "lookup=policy delay=0.84ms" },
	{ NULL, "unavailable", 1000,
	  "NOQUEUE: reject: RCPT from mx.example.net[192.0.2.9]: 451 4.3.0 "
	  "<" TEST_RCPT ">: Temporary lookup failure; from=<a@example.net> "
	  "to=<" TEST_RCPT "> proto=ESMTP helo=<mx.example.net> "
	  "instance=1a.2.1 lookup=unavailable delay=1.00ms" },
	{ "451 4.3.5 Server configuration error", "policy", 500,
	  "NOQUEUE: reject: RCPT from mx.example.net[192.0.2.9]: 451 4.3.5 "
	  "Server configuration error; from=<a@example.net> "
	  "to=<" TEST_RCPT "> proto=ESMTP helo=<mx.example.net> "
	  "instance=1a.2.1 lookup=policy delay=0.50ms" },
};

START_TEST(log_line_table)
{
	struct policy_req pr = log_req();
	struct milter_outcome o;
	struct buf out;

	if (log_rows[_i].action != NULL)
		milter_map_action(log_rows[_i].action, pr.recipient,
		    LFA_DEFER, &o);
	else
		milter_map_failure(MILTER_CAUSE_UNREACHABLE, pr.recipient,
		    LFA_DEFER, &o);
	buf_init(&out, 0);
	milter_map_log_line(&out, &pr, &o, log_rows[_i].lookup,
	    log_rows[_i].delay_us);
	ck_assert_str_eq(buf_str(&out), log_rows[_i].line);
	buf_free(&out);
	policy_req_free(&pr);
}
END_TEST

START_TEST(log_hostile_recipient)
{
	struct milter_env env = base_env;
	struct policy_req pr = { 0 };
	struct milter_outcome o;
	struct buf out;
	const char *line;

	/* the recipient itself carries the text we look for */
	env.envrcpt = "<\"x 4.3.0 <y>: Recipient address rejected: z\n"
	    "fake: reject\"@example.com>";
	milter_map_request(&env, &pr);
	milter_map_failure(MILTER_CAUSE_UNREACHABLE, pr.recipient, LFA_DEFER,
	    &o);
	buf_init(&out, 0);
	milter_map_log_line(&out, &pr, &o, "unavailable", 0);
	line = buf_str(&out);
	ck_assert_ptr_null(strchr(line, '\n'));
	ck_assert_ptr_nonnull(strstr(line, "]: 451 4.3.0 <x 4.3.0 <y>: "
	    "Recipient address rejected: z fake: reject@example.com>: "
	    "Temporary lookup failure; from="));
	buf_free(&out);
	policy_req_free(&pr);
}
END_TEST

START_TEST(log_continue_line)
{
	struct policy_req pr = log_req();
	struct milter_outcome o;
	struct buf out;

	milter_map_action("DUNNO", pr.recipient, LFA_DEFER, &o);
	buf_init(&out, 0);
	milter_map_log_line(&out, &pr, &o, "policy", 0);
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "NOQUEUE: permit: RCPT "
	    "from mx.example.net[192.0.2.9]: <" TEST_RCPT ">: recipient "
	    "exists;"));
	ck_assert_ptr_null(strstr(buf_str(&out), "reject"));
	buf_free(&out);
	policy_req_free(&pr);
}
END_TEST

static Suite *
milter_map_suite(void)
{
	Suite	*s = suite_create("milter_map");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, addr_internal_form, 0, N(addr_cases));
	tcase_add_loop_test(tc, client_addr_forms, 0, N(client_addr_cases));
	tcase_add_loop_test(tc, client_name_forms, 0, N(client_name_cases));
	tcase_add_loop_test(tc, protocol_forms, 0, N(protocol_cases));
	tcase_add_test(tc, instance_stable);
	tcase_add_test(tc, request_exact);
	tcase_add_test(tc, request_parses_back);
	tcase_add_loop_test(tc, request_refuses_crlf, 0, N(hostile_cases));
	tcase_add_test(tc, request_line_limit);
	tcase_add_loop_test(tc, reply_parse, 0, N(reply_cases));
	tcase_add_test(tc, reply_every_prefix_again);
	tcase_add_test(tc, reply_limits);
	tcase_add_loop_test(tc, action_outcome, 0, N(action_cases));
	tcase_add_test(tc, action_null_is_failure);
	tcase_add_test(tc, action_keeps_recipient_form);
	tcase_add_loop_test(tc, action_reply_long, 0, N(long_cases));
	tcase_add_test(tc, action_reply_cut_utf8);
	tcase_add_test(tc, action_printable_utf8_off);
	tcase_add_loop_test(tc, failure_action, 0, N(failure_cases));
	tcase_add_test(tc, escape_percent_and_crlf);
	tcase_add_test(tc, escape_cap_980);
	tcase_add_loop_test(tc, log_line_table, 0, N(log_rows));
	tcase_add_test(tc, log_hostile_recipient);
	tcase_add_test(tc, log_continue_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(milter_map_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
