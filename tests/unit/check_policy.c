/*
 * check_policy - the policy delegation protocol parser and formatter.
 *
 * What a mail admin cares about: every request real Postfix sends is
 * understood however the bytes are split across reads; a misbehaving or
 * hostile peer is told off (PP_ERROR, connection dropped) before it can
 * make the daemon buffer more than POLICY_REQUEST_MAX bytes; and the
 * reply is exactly what Postfix's attr_clnt expects.
 *
 * Golden files: tests/golden/NAME.in is a byte stream as a client would
 * send it, NAME.out what the parser makes of it (see golden_run()). The
 * test feeds every .in whole, byte by byte and in odd-sized chunks, and
 * the result must equal .out each time. GOLDEN_UPDATE=1 rewrites the
 * .out files (review the diff before committing). Run from the repo root.
 */
#include <check.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/policy.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#define GOLDEN_DIR	"tests/golden"
#define GOLDEN_IN_MAX	(1024 * 1024)	/* bytes per .in file */
#define GOLDEN_SMALL_CHUNK 64		/* chunks below this ... */
#define GOLDEN_SMALL_MAX (16 * 1024)	/* ... only for inputs up to this,
					 * to keep valgrind runs short */

/*
 * A Postfix 3.7 RCPT request as check_policy_service() sends it (Debian
 * build: SASL and TLS compiled in), attribute order from smtpd_check.c.
 */
#define PF37_RCPT \
	"request=smtpd_access_policy\n" \
	"protocol_state=RCPT\n" \
	"protocol_name=ESMTP\n" \
	"client_address=203.0.113.9\n" \
	"client_name=mail.example.net\n" \
	"client_port=41234\n" \
	"reverse_client_name=mail.example.net\n" \
	"server_address=192.0.2.25\n" \
	"server_port=25\n" \
	"helo_name=mail.example.net\n" \
	"sender=alice@example.net\n" \
	"recipient=Nosuch@Example.COM\n" \
	"recipient_count=0\n" \
	"queue_id=\n" \
	"instance=2772.6b062507.f2470.0\n" \
	"size=1234\n" \
	"etrn_domain=\n" \
	"stress=\n" \
	"sasl_method=\n" \
	"sasl_username=\n" \
	"sasl_sender=\n" \
	"ccert_subject=\n" \
	"ccert_issuer=\n" \
	"ccert_fingerprint=\n" \
	"ccert_pubkey_fingerprint=\n" \
	"encryption_protocol=TLSv1.3\n" \
	"encryption_cipher=TLS_AES_256_GCM_SHA384\n" \
	"encryption_keysize=256\n" \
	"policy_context=\n" \
	"\n"
#define PF37_NATTRS	29

/* pf37_check - the fields of PF37_RCPT came through */
static void
pf37_check(const struct policy_req *req)
{
	ck_assert_str_eq(req->request, "smtpd_access_policy");
	ck_assert_str_eq(req->protocol_state, "RCPT");
	ck_assert_str_eq(req->protocol_name, "ESMTP");
	ck_assert_str_eq(req->client_address, "203.0.113.9");
	ck_assert_str_eq(req->client_name, "mail.example.net");
	ck_assert_str_eq(req->client_port, "41234");
	ck_assert_str_eq(req->reverse_client_name, "mail.example.net");
	ck_assert_str_eq(req->helo_name, "mail.example.net");
	ck_assert_str_eq(req->sender, "alice@example.net");
	/* case preserved: folding is the engine's business */
	ck_assert_str_eq(req->recipient, "Nosuch@Example.COM");
	ck_assert_str_eq(req->queue_id, "");	/* present but empty */
	ck_assert_str_eq(req->instance, "2772.6b062507.f2470.0");
	ck_assert_str_eq(req->sasl_username, "");
	ck_assert_uint_eq(req->nattrs, PF37_NATTRS);
}

/* crlf - the same request as typed into telnet: "\r\n" line ends */
static char *
crlf(const char *s, size_t *len_r)
{
	size_t	 n = strlen(s), i, o = 0;
	char	*out = xmalloc(2 * n + 1);

	for (i = 0; i < n; i++) {
		if (s[i] == '\n')
			out[o++] = '\r';
		out[o++] = s[i];
	}
	out[o] = '\0';
	*len_r = o;
	return out;
}

/* expect_again - buf[0..len) must be an incomplete, still valid request */
static void
expect_again(const char *buf, size_t len)
{
	struct policy_req req = { 0 };
	size_t	 consumed = 9999;
	enum pp_error why = PP_ERR_LINE_TOO_LONG;
	enum pp_status st;

	st = pp_parse(buf, len, &req, &consumed, &why);
	ck_assert_msg(st == PP_AGAIN, "prefix of %zu bytes: status %d (%s)",
	    len, st, pp_strerror(why));
	ck_assert_int_eq(why, PP_ERR_NONE);
	ck_assert_ptr_null(req.request);
	ck_assert_ptr_null(req.recipient);
}

/* expect_error - buf[0..len) must be refused for reason want */
static void
expect_error(const char *buf, size_t len, enum pp_error want)
{
	struct policy_req req = { 0 };
	size_t	 consumed = 9999;
	enum pp_error why = PP_ERR_NONE;
	enum pp_status st;

	st = pp_parse(buf, len, &req, &consumed, &why);
	ck_assert_msg(st == PP_ERROR && why == want,
	    "%zu bytes: status %d reason \"%s\", want error \"%s\"", len, st,
	    pp_strerror(why), pp_strerror(want));
	ck_assert_ptr_null(req.recipient);
}

/* expect_done - one request of want_consumed bytes at the start */
static void
expect_done(const char *buf, size_t len, size_t want_consumed,
    struct policy_req *req)
{
	size_t	 consumed = 0;
	enum pp_error why = PP_ERR_NONE;
	enum pp_status st;

	st = pp_parse(buf, len, req, &consumed, &why);
	ck_assert_msg(st == PP_DONE, "%zu bytes: status %d (%s)", len, st,
	    pp_strerror(why));
	ck_assert_uint_eq(consumed, want_consumed);
}

/* ------------------------------------------------------ real requests */

START_TEST(pf37_rcpt_request)
{
	struct policy_req req = { 0 };

	expect_done(PF37_RCPT, strlen(PF37_RCPT), strlen(PF37_RCPT), &req);
	pf37_check(&req);
	ck_assert_ptr_null(req.client_name == NULL ? "x" : NULL);
	policy_req_free(&req);
	ck_assert_ptr_null(req.recipient);
	ck_assert_ptr_null(req.request);
	policy_req_free(&req);			/* twice is harmless */
}
END_TEST

START_TEST(pf37_every_prefix_is_again)
{
	size_t	 len = strlen(PF37_RCPT), i;

	for (i = 0; i < len; i++)
		expect_again(PF37_RCPT, i);
}
END_TEST

START_TEST(crlf_request)
{
	struct policy_req req = { 0 };
	size_t	 len, i;
	char	*s = crlf(PF37_RCPT, &len);

	for (i = 0; i < len; i++)
		expect_again(s, i);
	expect_done(s, len, len, &req);
	pf37_check(&req);			/* no "\r" left in values */
	policy_req_free(&req);
	free(s);
}
END_TEST

START_TEST(pipelined_requests)
{
	static const char second[] =
	    "request=smtpd_access_policy\n"
	    "protocol_state=RCPT\n"
	    "recipient=bob@example.com\n"
	    "queue_id=4XyZ1b2C3dz9\n"
	    "\n";
	static const char third_part[] = "request=smtpd_acc";
	struct policy_req req = { 0 };
	struct buf in;
	size_t	 l1 = strlen(PF37_RCPT), l2 = strlen(second);

	buf_init(&in, 0);
	buf_puts(&in, PF37_RCPT);
	buf_puts(&in, second);
	buf_puts(&in, third_part);

	expect_done(in.data, in.len, l1, &req);
	pf37_check(&req);
	policy_req_free(&req);
	buf_consume(&in, l1);

	expect_done(in.data, in.len, l2, &req);
	ck_assert_str_eq(req.recipient, "bob@example.com");
	ck_assert_str_eq(req.queue_id, "4XyZ1b2C3dz9");
	ck_assert_ptr_null(req.client_address);	/* not sent this time */
	ck_assert_uint_eq(req.nattrs, 4);
	policy_req_free(&req);
	buf_consume(&in, l2);

	ck_assert_uint_eq(in.len, strlen(third_part));
	expect_again(in.data, in.len);
	buf_free(&in);
}
END_TEST

/* -------------------------------------------------------------- limits */

/* line_req - "recipient=" + vlen x 'a' + eol [+ eol] */
static char *
line_req(size_t vlen, const char *eol, bool terminate, size_t *len_r)
{
	struct buf b;
	size_t	 i;

	buf_init(&b, 0);
	buf_puts(&b, "recipient=");
	for (i = 0; i < vlen; i++)
		buf_append(&b, "a", 1);
	buf_puts(&b, eol);
	if (terminate)
		buf_puts(&b, eol);
	*len_r = b.len;
	return b.data;
}

#define NAME_LEN	(sizeof("recipient=") - 1)

START_TEST(line_limit)
{
	struct policy_req req = { 0 };
	size_t	 len;
	char	*s;

	/* barely fits: the line is POLICY_LINE_MAX bytes */
	s = line_req(POLICY_LINE_MAX - NAME_LEN, "\n", true, &len);
	expect_done(s, len, len, &req);
	ck_assert_uint_eq(strlen(req.recipient), POLICY_LINE_MAX - NAME_LEN);
	policy_req_free(&req);
	expect_again(s, len - 1);
	expect_again(s, len - 2);	/* the whole line, no newline yet */
	free(s);

	/* "\r\n" does not count against the line */
	s = line_req(POLICY_LINE_MAX - NAME_LEN, "\r\n", true, &len);
	expect_done(s, len, len, &req);
	ck_assert_uint_eq(strlen(req.recipient), POLICY_LINE_MAX - NAME_LEN);
	policy_req_free(&req);
	expect_again(s, len - 3);	/* ends in the "\r" of "\r\n" */
	free(s);

	/* one byte over: refused, complete or not */
	s = line_req(POLICY_LINE_MAX - NAME_LEN + 1, "\n", true, &len);
	expect_error(s, len, PP_ERR_LINE_TOO_LONG);
	expect_error(s, len - 2, PP_ERR_LINE_TOO_LONG);
	expect_again(s, len - 3);
	free(s);
	s = line_req(POLICY_LINE_MAX - NAME_LEN + 1, "\r\n", true, &len);
	expect_error(s, len, PP_ERR_LINE_TOO_LONG);
	/* a "\r" that turns out not to precede "\n" is part of the line */
	s[len - 4] = 'x';
	expect_error(s, len - 3, PP_ERR_LINE_TOO_LONG);
	free(s);

	/* a huge line with no newline: refused as soon as it is too long */
	s = line_req(10 * POLICY_LINE_MAX, "", false, &len);
	expect_error(s, POLICY_LINE_MAX + 1, PP_ERR_LINE_TOO_LONG);
	expect_error(s, len, PP_ERR_LINE_TOO_LONG);
	expect_again(s, POLICY_LINE_MAX);
	free(s);
}
END_TEST

/*
 * sized_req - a valid request of exactly total bytes: filler attribute
 * lines "xNN=aaaa...\n" of at most POLICY_LINE_MAX, then "\n".
 */
static char *
sized_req(size_t total)
{
	struct buf b;
	size_t	 left, vlen, n = 0;
	char	 name[16];

	buf_init(&b, 0);
	while ((left = total - b.len - 1) > 0) {
		snprintf(name, sizeof(name), "x%02zu=", n++);
		ck_assert(left >= strlen(name) + 1);
		vlen = left - strlen(name) - 1;
		if (strlen(name) + vlen > POLICY_LINE_MAX)
			vlen = POLICY_LINE_MAX - strlen(name);
		/* never leave a remainder too short for "xNN=\n" */
		if (left - strlen(name) - vlen - 1 > 0 &&
		    left - strlen(name) - vlen - 1 < 8)
			vlen -= 8;
		buf_puts(&b, name);
		while (vlen-- > 0)
			buf_append(&b, "a", 1);
		buf_append(&b, "\n", 1);
	}
	buf_append(&b, "\n", 1);
	ck_assert_uint_eq(b.len, total);
	ck_assert_uint_le(n, POLICY_ATTR_MAX);
	return b.data;
}

START_TEST(request_limit)
{
	struct policy_req req = { 0 };
	char	*s;
	size_t	 i;

	/* barely fits */
	s = sized_req(POLICY_REQUEST_MAX);
	expect_done(s, POLICY_REQUEST_MAX, POLICY_REQUEST_MAX, &req);
	ck_assert_uint_gt(req.nattrs, 10);
	policy_req_free(&req);
	for (i = 0; i < POLICY_REQUEST_MAX; i += 997)
		expect_again(s, i);
	for (i = POLICY_REQUEST_MAX - 8; i < POLICY_REQUEST_MAX; i++)
		expect_again(s, i);
	free(s);

	/* one byte over */
	s = sized_req(POLICY_REQUEST_MAX + 1);
	expect_error(s, POLICY_REQUEST_MAX + 1, PP_ERR_REQUEST_TOO_LARGE);
	/* known as soon as POLICY_REQUEST_MAX bytes hold no request end */
	expect_error(s, POLICY_REQUEST_MAX, PP_ERR_REQUEST_TOO_LARGE);
	expect_again(s, POLICY_REQUEST_MAX - 1);
	free(s);
}
END_TEST

/* attrs_req - n lines "a=b\n", then tail */
static char *
attrs_req(size_t n, const char *tail, size_t *len_r)
{
	struct buf b;

	buf_init(&b, 0);
	while (n-- > 0)
		buf_puts(&b, "a=b\n");
	buf_puts(&b, tail);
	*len_r = b.len;
	return b.data;
}

START_TEST(attr_limit)
{
	struct policy_req req = { 0 };
	size_t	 len;
	char	*s;

	s = attrs_req(POLICY_ATTR_MAX, "\n", &len);	/* barely fits */
	expect_done(s, len, len, &req);
	ck_assert_uint_eq(req.nattrs, POLICY_ATTR_MAX);
	policy_req_free(&req);
	free(s);

	s = attrs_req(POLICY_ATTR_MAX, "\r\n", &len);
	expect_done(s, len, len, &req);
	policy_req_free(&req);
	expect_again(s, len - 1);			/* "...\r" */
	free(s);

	s = attrs_req(POLICY_ATTR_MAX + 1, "\n", &len);	/* one over */
	expect_error(s, len, PP_ERR_TOO_MANY_ATTRS);
	expect_error(s, len - 1, PP_ERR_TOO_MANY_ATTRS);
	/* the first byte of the extra line is enough to know */
	expect_error(s, len - 4, PP_ERR_TOO_MANY_ATTRS);
	expect_again(s, len - 5);
	free(s);
}
END_TEST

/* ------------------------------------------------------ table of cases */

static const struct parse_case {
	const char *name;
	const char *in;
	size_t	 len;
	enum pp_status status;
	enum pp_error why;		/* PP_ERROR */
	size_t	 consumed;		/* PP_DONE; 0: all of in */
	size_t	 nattrs;		/* PP_DONE */
	const char *recipient;		/* PP_DONE; NULL: absent */
	const char *sender;		/* PP_DONE; NULL: absent */
} parse_cases[] = {
/* whole: consumed 0 means "all of the input" */
#define IN(lit)	lit, sizeof(lit) - 1
#define ERR(w)		PP_ERROR, w, 0, 0, NULL, NULL
#define AGAIN		PP_AGAIN, PP_ERR_NONE, 0, 0, NULL, NULL
#define DONE(c, n, r, s) PP_DONE, PP_ERR_NONE, c, n, r, s
	{ "nul in value", IN("request=smtpd\0access_policy\n\n"),
	    ERR(PP_ERR_NUL_BYTE) },
	{ "nul in name", IN("recip\0ient=a@b\n\n"),
	    ERR(PP_ERR_NUL_BYTE) },
	{ "nul alone", IN("\0"), ERR(PP_ERR_NUL_BYTE) },
	{ "nul in partial line", IN("recipient=a@b\nsender=x\0"),
	    ERR(PP_ERR_NUL_BYTE) },
	{ "nul where the empty line goes", IN("recipient=a@b\n\0\n"),
	    ERR(PP_ERR_NUL_BYTE) },
	{ "nul before \\r\\n", IN("recipient=a@b\0\r\n\r\n"),
	    ERR(PP_ERR_NUL_BYTE) },
	{ "nul after the request is the next one's",
	    IN("recipient=a@b\n\n\0"), DONE(15, 1, "a@b", NULL) },
	{ "no equals", IN("recipient\n\n"), ERR(PP_ERR_NO_EQUALS) },
	{ "no equals crlf", IN("recipient\r\n\r\n"),
	    ERR(PP_ERR_NO_EQUALS) },
	{ "no equals after good lines", IN("sender=a@b\nfoo\n"),
	    ERR(PP_ERR_NO_EQUALS) },
	{ "http request", IN("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
	    ERR(PP_ERR_NO_EQUALS) },
	{ "smtp greeting", IN("EHLO mail.example.net\r\n"),
	    ERR(PP_ERR_NO_EQUALS) },
	{ "empty name", IN("=value\n\n"), ERR(PP_ERR_EMPTY_NAME) },
	{ "empty name, partial", IN("="), ERR(PP_ERR_EMPTY_NAME) },
	{ "empty name, empty value", IN("=\n"), ERR(PP_ERR_EMPTY_NAME) },
	{ "\\r then \\r\\n: a line holding \"\\r\"", IN("\r\r\n"),
	    ERR(PP_ERR_NO_EQUALS) },
	{ "lone \\r may become \\r\\n", IN("\r"), AGAIN },
	{ "empty input", IN(""), AGAIN },
	/* Postfix never sends it; grammatically an empty request */
	{ "lone newline", IN("\n"), DONE(1, 0, NULL, NULL) },
	{ "lone crlf", IN("\r\n"), DONE(2, 0, NULL, NULL) },
	{ "stray newline before a request", IN("\nrecipient=a@b\n\n"),
	    DONE(1, 0, NULL, NULL) },
	{ "repeated: first wins",
	    IN("recipient=first@x\nrecipient=second@x\n\n"),
	    DONE(0, 2, "first@x", NULL) },
	{ "repeated empty first still wins",
	    IN("recipient=\nrecipient=second@x\n\n"),
	    DONE(0, 2, "", NULL) },
	{ "unknown names ignored, names case-sensitive",
	    IN("x-foo=1\nRecipient=UPPER@x\nrecipient=lower@x\n"
	    "tls_sni=mx.example.com\nmail_version=3.12.0\n\n"),
	    DONE(0, 5, "lower@x", NULL) },
	{ "value containing '='", IN("recipient=a=b@c\n\n"),
	    DONE(0, 1, "a=b@c", NULL) },
	{ "empty values", IN("recipient=\nsender=\n\n"),
	    DONE(0, 2, "", "") },
	{ "\\r inside a value is data", IN("sender=a\rb\n\n"),
	    DONE(0, 1, NULL, "a\rb") },
	{ "only one \\r is stripped", IN("sender=ab\r\r\n\n"),
	    DONE(0, 1, NULL, "ab\r") },
	{ "mixed line ends", IN("sender=s\r\nrecipient=r\n\r\n"),
	    DONE(0, 2, "r", "s") },
	{ "utf-8 and binary values pass through",
	    IN("recipient=j\xc3\xbcrgen@m\xc3\xbcller.de\nsender=\xff\x01\n\n"),
	    DONE(0, 2, "j\xc3\xbcrgen@m\xc3\xbcller.de", "\xff\x01") },
	{ "odd bytes in a name are a name",
	    IN("\rx y\x80=1\nrecipient=r\n\n"), DONE(0, 2, "r", NULL) },
	{ "no empty line yet", IN("recipient=a@b\n"), AGAIN },
	{ "partial name", IN("recipient=a@b\nsend"), AGAIN },
#undef IN
#undef ERR
#undef AGAIN
#undef DONE
};

START_TEST(parse_table)
{
	const struct parse_case *c = &parse_cases[_i];
	struct policy_req req = { 0 };
	size_t	 consumed = 12345;
	enum pp_error why = PP_ERR_NONE;
	enum pp_status st;

	st = pp_parse(c->in, c->len, &req, &consumed, &why);
	ck_assert_msg(st == c->status, "%s: status %d (%s), want %d",
	    c->name, st, pp_strerror(why), c->status);
	switch (st) {
	case PP_DONE:
		ck_assert_msg(consumed == (c->consumed ? c->consumed : c->len),
		    "%s: consumed %zu, want %zu", c->name, consumed,
		    c->consumed ? c->consumed : c->len);
		ck_assert_uint_eq(req.nattrs, c->nattrs);
		if (c->recipient == NULL)
			ck_assert_ptr_null(req.recipient);
		else
			ck_assert_str_eq(req.recipient, c->recipient);
		if (c->sender == NULL)
			ck_assert_ptr_null(req.sender);
		else
			ck_assert_str_eq(req.sender, c->sender);
		policy_req_free(&req);
		break;
	case PP_ERROR:
		ck_assert_msg(why == c->why, "%s: reason \"%s\", want \"%s\"",
		    c->name, pp_strerror(why), pp_strerror(c->why));
		ck_assert_uint_eq(consumed, 12345);
		break;
	case PP_AGAIN:
		ck_assert_int_eq(why, PP_ERR_NONE);
		break;
	}
}
END_TEST

/*
 * Binary junk: whatever the bytes, the parser answers consistently.
 * DONE means a request ending in "\n" whose strict prefixes are all
 * incomplete; AGAIN only while under the request limit.
 */
START_TEST(binary_junk)
{
	static const char alphabet[] = "\n\n\n\r==\0ab\xff";
	char	 in[600];
	struct policy_req req = { 0 };
	size_t	 len, i, consumed;
	enum pp_error why;
	enum pp_status st;
	unsigned seed = 4242;
	int	 j, done = 0, again = 0, error = 0;

	for (j = 0; j < 20000; j++) {
		seed = seed * 1103515245 + 12345;
		len = (seed >> 16) % sizeof(in);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			in[i] = (seed >> 16) % 3 == 0 ?
			    alphabet[(seed >> 20) % (sizeof(alphabet) - 1)] :
			    (char)(seed >> 24);
		}
		st = pp_parse(in, len, &req, &consumed, &why);
		switch (st) {
		case PP_DONE:
			done++;
			ck_assert(consumed > 0 && consumed <= len);
			ck_assert_int_eq(in[consumed - 1], '\n');
			ck_assert(memchr(in, '\0', consumed) == NULL);
			policy_req_free(&req);
			expect_again(in, consumed - 1);
			break;
		case PP_AGAIN:
			again++;
			ck_assert(memchr(in, '\0', len) == NULL);
			break;
		case PP_ERROR:
			error++;
			ck_assert_int_ne(why, PP_ERR_NONE);
			break;
		}
	}
	/* the generator must reach all three outcomes to mean anything */
	ck_assert(done > 0 && again > 0 && error > 0);
}
END_TEST

/* --------------------------------------------------------------- reply */

START_TEST(format_reply)
{
	struct buf out;

	buf_init(&out, 0);
	ck_assert_int_eq(pp_format_reply(&out, "DUNNO"), 0);
	ck_assert_str_eq(buf_str(&out), "action=DUNNO\n\n");
	ck_assert_int_eq(pp_format_reply(&out,
	    "550 5.1.1 User unknown in virtual mailbox table"), 0);
	ck_assert_str_eq(buf_str(&out), "action=DUNNO\n\n"
	    "action=550 5.1.1 User unknown in virtual mailbox table\n\n");
	buf_free(&out);

	/* exactly fits, then nothing at all when it does not */
	buf_init(&out, sizeof("action=DUNNO\n\n") - 1);
	ck_assert_int_eq(pp_format_reply(&out, "DUNNO"), 0);
	ck_assert_int_eq(pp_format_reply(&out, "DUNNO"), -1);
	ck_assert_str_eq(buf_str(&out), "action=DUNNO\n\n");
	buf_free(&out);
	buf_init(&out, sizeof("action=DUNNO\n\n") - 2);
	ck_assert_int_eq(pp_format_reply(&out, "DUNNO"), -1);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
}
END_TEST

START_TEST(format_reply_newline_panics)
{
	struct buf out;
	const char *error;

	(void)log_open("check_policy", LOG_DEST_FILE, "mail", "/dev/null",
	    &error);
	buf_init(&out, 0);
	/* a second line would be read by Postfix as another attribute */
	pp_format_reply(&out, "DUNNO\naction=OK");
}
END_TEST

START_TEST(strerror_distinct)
{
	enum pp_error e, f;

	for (e = PP_ERR_NONE; e <= PP_ERR_NUL_BYTE; e++) {
		ck_assert(strlen(pp_strerror(e)) > 0);
		for (f = e + 1; f <= PP_ERR_NUL_BYTE; f++)
			ck_assert_str_ne(pp_strerror(e), pp_strerror(f));
	}
}
END_TEST

/* -------------------------------------------------------------- golden */

/* golden_escape - a value, printable and unambiguous, one line */
static void
golden_escape(struct buf *out, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\\')
			buf_puts(out, "\\\\");
		else if (*p == '\r')
			buf_puts(out, "\\r");
		else if (*p < 0x20 || *p >= 0x7f)
			buf_printf(out, "\\x%02x", *p);
		else
			buf_append(out, p, 1);
	}
}

/* golden_fields - the known attributes of a parsed request */
static void
golden_fields(struct buf *out, const struct policy_req *req)
{
	const struct {
		const char *name;
		const char *val;
	} f[] = {
		{ "request", req->request },
		{ "protocol_state", req->protocol_state },
		{ "protocol_name", req->protocol_name },
		{ "client_address", req->client_address },
		{ "client_name", req->client_name },
		{ "client_port", req->client_port },
		{ "reverse_client_name", req->reverse_client_name },
		{ "helo_name", req->helo_name },
		{ "sender", req->sender },
		{ "recipient", req->recipient },
		{ "queue_id", req->queue_id },
		{ "instance", req->instance },
		{ "sasl_username", req->sasl_username },
	};
	size_t	 i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i].val == NULL)
			continue;
		buf_printf(out, "  %s=", f[i].name);
		golden_escape(out, f[i].val);
		buf_puts(out, "\n");
	}
}

/*
 * golden_run - drive the parser as the daemon does: append what arrived
 * (chunk bytes at a time; 0 = all at once), parse as many requests as
 * there are, keep the rest. Output, one block per request:
 *	DONE <consumed> nattrs=<n>
 *	  <name>=<value>	(known attributes present, escaped)
 * then "ERROR <reason>" (the connection would be dropped), or at the end
 * of input "AGAIN <bytes left over>" or "END".
 */
static char *
golden_run(const char *data, size_t len, size_t chunk)
{
	struct buf in, out;
	struct policy_req req = { 0 };
	size_t	 off = 0, n, consumed;
	enum pp_error why;
	enum pp_status st = PP_AGAIN;

	buf_init(&in, 0);
	buf_init(&out, 0);
	while (off < len) {
		n = chunk == 0 || len - off < chunk ? len - off : chunk;
		buf_append(&in, data + off, n);
		off += n;
		while (in.len > 0 &&
		    (st = pp_parse(in.data, in.len, &req, &consumed, &why)) ==
		    PP_DONE) {
			buf_printf(&out, "DONE %zu nattrs=%zu\n", consumed,
			    req.nattrs);
			golden_fields(&out, &req);
			policy_req_free(&req);
			buf_consume(&in, consumed);
		}
		if (st == PP_ERROR) {
			buf_printf(&out, "ERROR %s\n", pp_strerror(why));
			break;
		}
	}
	if (st != PP_ERROR) {
		if (in.len > 0)
			buf_printf(&out, "AGAIN %zu\n", in.len);
		else
			buf_puts(&out, "END\n");
	}
	buf_free(&in);
	return out.data;
}

/* golden_read - a whole file, or NULL */
static char *
golden_read(const char *path, size_t *len_r)
{
	FILE	*fp = fopen(path, "rb");
	char	*s;
	size_t	 n;

	if (fp == NULL)
		return NULL;
	s = xmalloc(GOLDEN_IN_MAX + 1);
	n = fread(s, 1, GOLDEN_IN_MAX + 1, fp);
	fclose(fp);
	ck_assert_msg(n <= GOLDEN_IN_MAX, "%s: too large", path);
	s[n] = '\0';
	*len_r = n;
	return s;
}

/* golden_first_diff - line number where two texts differ, for a message */
static int
golden_first_diff(const char *a, const char *b)
{
	int	 line = 1;

	for (; *a != '\0' && *a == *b; a++, b++)
		line += *a == '\n';
	return line;
}

START_TEST(golden_files)
{
	static const size_t chunks[] = { 0, 1, 2, 3, 7, 64, 4097 };
	glob_t	 g;
	size_t	 i, j, inlen, outlen;
	char	*in, *want, *got, *outpath;
	const char *update = getenv("GOLDEN_UPDATE");
	FILE	*fp;

	ck_assert_msg(glob(GOLDEN_DIR "/*.in", 0, NULL, &g) == 0,
	    "no %s/*.in (run from the repository root)", GOLDEN_DIR);
	ck_assert_uint_ge(g.gl_pathc, 5);
	for (i = 0; i < g.gl_pathc; i++) {
		in = golden_read(g.gl_pathv[i], &inlen);
		ck_assert_ptr_nonnull(in);
		outpath = xasprintf("%.*s.out",
		    (int)(strlen(g.gl_pathv[i]) - 3), g.gl_pathv[i]);
		got = golden_run(in, inlen, 0);
		if (update != NULL && strcmp(update, "1") == 0) {
			fp = fopen(outpath, "w");
			ck_assert_ptr_nonnull(fp);
			fputs(got, fp);
			fclose(fp);
		}
		want = golden_read(outpath, &outlen);
		ck_assert_msg(want != NULL, "%s: missing", outpath);
		ck_assert_msg(strcmp(got, want) == 0,
		    "%s: differs at line %d; got:\n%s", outpath,
		    golden_first_diff(got, want), got);
		free(got);
		/* however the bytes are split across reads */
		for (j = 1; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
			if (chunks[j] < GOLDEN_SMALL_CHUNK &&
			    inlen > GOLDEN_SMALL_MAX)
				continue;
			got = golden_run(in, inlen, chunks[j]);
			ck_assert_msg(strcmp(got, want) == 0,
			    "%s: read %zu bytes at a time: differs at line %d",
			    outpath, chunks[j], golden_first_diff(got, want));
			free(got);
		}
		free(want);
		free(outpath);
		free(in);
	}
	globfree(&g);
}
END_TEST

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
policy_suite(void)
{
	Suite	*s = suite_create("policy");
	TCase	*tc;
	const char *fork = getenv("CK_FORK");
	bool	 forking = fork == NULL || strcmp(fork, "no") != 0;

	tc = tcase_create("requests");
	tcase_add_test(tc, pf37_rcpt_request);
	tcase_add_test(tc, pf37_every_prefix_is_again);
	tcase_add_test(tc, crlf_request);
	tcase_add_test(tc, pipelined_requests);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, line_limit);
	tcase_add_test(tc, request_limit);
	tcase_add_test(tc, attr_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, parse_table, 0, NELEM(parse_cases));
	tcase_add_test(tc, binary_junk);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply");
	tcase_add_test(tc, format_reply);
	if (forking)
		tcase_add_test_raise_signal(tc, format_reply_newline_panics,
		    SIGABRT);
	tcase_add_test(tc, strerror_distinct);
	suite_add_tcase(s, tc);

	tc = tcase_create("golden");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, golden_files);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(policy_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
