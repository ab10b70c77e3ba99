/*
 * check_addr - unit tests for src/core/addr: folding, the extension
 * split and the lookup keys, row by row against what Postfix's
 * mail_addr_find() would ask its tables.
 *
 * What a mail admin cares about here: user+tag@domain finds the row of
 * user@domain, but postmaster, MAILER-DAEMON, owner-list and
 * list-request are looked up as written; "a b"@domain finds the row
 * stored quoted or unquoted; any case of the address finds a lower-case
 * row; and junk from the SMTP client is refused, not truncated.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"

#define T_KEYS_MAX	ADDR_KEYS_MAX

/* one row: recipient and options in, the analysis out */
struct addr_case {
	const char *name;
	const char *rcpt;
	const char *delim;		/* NULL: "+" */
	bool	 ors_off;		/* owner_request_special = no */
	const char *dbl;		/* NULL: "double-bounce" */
	/* expected */
	const char *folded;
	const char *local;
	const char *domain;
	const char *ext;		/* NULL: not split */
	bool	 no_domain;
	bool	 ip_literal;
	/* keys in order; a leading '"' marks nothing: quoted is checked by
	 * kind letters: F full, N no-extension, D @domain; q = quoted */
	const char *keys[T_KEYS_MAX];
	const char *kinds;		/* e.g. "FqFNqND" */
};

static const struct addr_case addr_cases[] = {
	{ "plain", "user@example.com", NULL, false, NULL,
	  "user@example.com", "user", "example.com", NULL, false, false,
	  { "user@example.com", "@example.com" }, "FD" },
	{ "case folded", "User.Name@Example.COM", NULL, false, NULL,
	  "user.name@example.com", "user.name", "example.com", NULL,
	  false, false,
	  { "user.name@example.com", "@example.com" }, "FD" },
	{ "extension", "User+Tag@example.com", NULL, false, NULL,
	  "user+tag@example.com", "user+tag", "example.com", "tag",
	  false, false,
	  { "user+tag@example.com", "user@example.com", "@example.com" },
	  "FND" },
	{ "empty extension", "user+@example.com", NULL, false, NULL,
	  "user+@example.com", "user+", "example.com", "", false, false,
	  { "user+@example.com", "user@example.com", "@example.com" },
	  "FND" },
	{ "only the first delimiter splits", "a+b+c@example.com", NULL,
	  false, NULL,
	  "a+b+c@example.com", "a+b+c", "example.com", "b+c", false, false,
	  { "a+b+c@example.com", "a@example.com", "@example.com" }, "FND" },
	{ "empty local part is not split off", "+tag@example.com", NULL,
	  false, NULL,
	  "+tag@example.com", "+tag", "example.com", NULL, false, false,
	  { "+tag@example.com", "@example.com" }, "FD" },
	{ "no delimiter configured", "user+tag@example.com", "", false,
	  NULL,
	  "user+tag@example.com", "user+tag", "example.com", NULL, false,
	  false, { "user+tag@example.com", "@example.com" }, "FD" },
	{ "delimiter set +-: first of any, '-' first", "user-a+b@example.com",
	  "+-", false, NULL,
	  "user-a+b@example.com", "user-a+b", "example.com", "a+b", false,
	  false,
	  { "user-a+b@example.com", "user@example.com", "@example.com" },
	  "FND" },
	{ "delimiter set +-: first of any, '+' first", "user+a-b@example.com",
	  "+-", false, NULL,
	  "user+a-b@example.com", "user+a-b", "example.com", "a-b", false,
	  false,
	  { "user+a-b@example.com", "user@example.com", "@example.com" },
	  "FND" },
	{ "delimiter in the domain only", "user@my-example.com", "-", false,
	  NULL,
	  "user@my-example.com", "user", "my-example.com", NULL, false,
	  false, { "user@my-example.com", "@my-example.com" }, "FD" },
	{ "owner- not split when '-' delimits", "owner-list@example.com",
	  "+-", false, NULL,
	  "owner-list@example.com", "owner-list", "example.com", NULL, false,
	  false, { "owner-list@example.com", "@example.com" }, "FD" },
	{ "Owner- any case", "Owner-List@example.com", "-", false, NULL,
	  "owner-list@example.com", "owner-list", "example.com", NULL, false,
	  false, { "owner-list@example.com", "@example.com" }, "FD" },
	{ "owner- split when owner_request_special = no",
	  "owner-list@example.com", "-", true, NULL,
	  "owner-list@example.com", "owner-list", "example.com", "list",
	  false, false,
	  { "owner-list@example.com", "owner@example.com", "@example.com" },
	  "FND" },
	{ "owner-list+x: '-' not a delimiter, '+' splits",
	  "owner-list+x@example.com", "+", false, NULL,
	  "owner-list+x@example.com", "owner-list+x", "example.com", "x",
	  false, false,
	  { "owner-list+x@example.com", "owner-list@example.com",
	    "@example.com" }, "FND" },
	{ "-request not split", "list-request@example.com", "+-", false,
	  NULL,
	  "list-request@example.com", "list-request", "example.com", NULL,
	  false, false, { "list-request@example.com", "@example.com" },
	  "FD" },
	{ "-request needs something before it", "x-request@example.com",
	  "-", false, NULL,
	  "x-request@example.com", "x-request", "example.com", NULL, false,
	  false, { "x-request@example.com", "@example.com" }, "FD" },
	{ "list-request+x: does not end in -request, splits at '-'",
	  "list-request+x@example.com", "+-", false, NULL,
	  "list-request+x@example.com", "list-request+x", "example.com",
	  "request+x", false, false,
	  { "list-request+x@example.com", "list@example.com",
	    "@example.com" }, "FND" },
	{ "postmaster+ext is split", "Postmaster+Ext@example.com", NULL,
	  false, NULL,
	  "postmaster+ext@example.com", "postmaster+ext", "example.com",
	  "ext", false, false,
	  { "postmaster+ext@example.com", "postmaster@example.com",
	    "@example.com" }, "FND" },
	{ "postmaster never split (delimiter 's')", "PostMaster@example.com",
	  "s", false, NULL,
	  "postmaster@example.com", "postmaster", "example.com", NULL, false,
	  false, { "postmaster@example.com", "@example.com" }, "FD" },
	{ "MAILER-DAEMON never split", "MAILER-DAEMON@example.com", "-",
	  false, NULL,
	  "mailer-daemon@example.com", "mailer-daemon", "example.com", NULL,
	  false, false, { "mailer-daemon@example.com", "@example.com" },
	  "FD" },
	{ "double-bounce never split", "Double-Bounce@example.com", "-",
	  false, NULL,
	  "double-bounce@example.com", "double-bounce", "example.com", NULL,
	  false, false, { "double-bounce@example.com", "@example.com" },
	  "FD" },
	{ "custom double_bounce_sender", "bounce-me@example.com", "-",
	  false, "Bounce-Me",
	  "bounce-me@example.com", "bounce-me", "example.com", NULL, false,
	  false, { "bounce-me@example.com", "@example.com" }, "FD" },
	{ "quoted local part: quoted key first", "A B@example.com", NULL,
	  false, NULL,
	  "a b@example.com", "a b", "example.com", NULL, false, false,
	  { "\"a b\"@example.com", "a b@example.com", "@example.com" },
	  "FqFD" },
	{ "quoted with extension: 5 keys", "a b+x@example.com", NULL, false,
	  NULL,
	  "a b+x@example.com", "a b+x", "example.com", "x", false, false,
	  { "\"a b+x\"@example.com", "a b+x@example.com",
	    "\"a b\"@example.com", "a b@example.com", "@example.com" },
	  "FqFNqND" },
	{ "extension leaves a dot-string: one NOEXT key", "a+b c@example.com",
	  NULL, false, NULL,
	  "a+b c@example.com", "a+b c", "example.com", "b c", false, false,
	  { "\"a+b c\"@example.com", "a+b c@example.com", "a@example.com",
	    "@example.com" }, "FqFND" },
	{ "leading dot quoted", ".a@example.com", NULL, false, NULL,
	  ".a@example.com", ".a", "example.com", NULL, false, false,
	  { "\".a\"@example.com", ".a@example.com", "@example.com" },
	  "FqFD" },
	{ "double dot quoted", "a..b@example.com", NULL, false, NULL,
	  "a..b@example.com", "a..b", "example.com", NULL, false, false,
	  { "\"a..b\"@example.com", "a..b@example.com", "@example.com" },
	  "FqFD" },
	{ "quote and backslash escaped", "a\"b\\c@example.com", NULL, false,
	  NULL,
	  "a\"b\\c@example.com", "a\"b\\c", "example.com", NULL, false, false,
	  { "\"a\\\"b\\\\c\"@example.com", "a\"b\\c@example.com",
	    "@example.com" }, "FqFD" },
	{ "@ in the local part: last @ splits", "a@b@Example.com", NULL,
	  false, NULL,
	  "a@b@example.com", "a@b", "example.com", NULL, false, false,
	  { "\"a@b\"@example.com", "a@b@example.com", "@example.com" },
	  "FqFD" },
	{ "UTF-8 folded, not quoted", "J\xc3\x96RG@B\xc3\x9c" "CHER.Example",
	  NULL, false, NULL,
	  "j\xc3\xb6rg@b\xc3\xbc" "cher.example", "j\xc3\xb6rg",
	  "b\xc3\xbc" "cher.example", NULL, false, false,
	  { "j\xc3\xb6rg@b\xc3\xbc" "cher.example",
	    "@b\xc3\xbc" "cher.example" }, "FD" },
	{ "trailing dot removed", "user@Example.COM.", NULL, false, NULL,
	  "user@example.com", "user", "example.com", NULL, false, false,
	  { "user@example.com", "@example.com" }, "FD" },
	{ "only one trailing dot considered (dot-dot kept)",
	  "user@example.com..", NULL, false, NULL,
	  "user@example.com..", "user", "example.com..", NULL, false, false,
	  { "user@example.com..", "@example.com.." }, "FD" },
	{ "at-dot kept", "user@.", NULL, false, NULL,
	  "user@.", "user", ".", NULL, false, false,
	  { "user@.", "@." }, "FD" },
	{ "dot in the local part, no domain, kept", "user.", NULL, false,
	  NULL,
	  "user.", "user.", "", NULL, true, false, { NULL }, "" },
	{ "IPv4 literal", "user@[192.0.2.1]", NULL, false, NULL,
	  "user@[192.0.2.1]", "user", "[192.0.2.1]", NULL, false, true,
	  { "user@[192.0.2.1]", "@[192.0.2.1]" }, "FD" },
	{ "IPv6 literal", "user@[IPv6:2001:db8::1]", NULL, false, NULL,
	  "user@[ipv6:2001:db8::1]", "user", "[ipv6:2001:db8::1]", NULL,
	  false, true,
	  { "user@[ipv6:2001:db8::1]", "@[ipv6:2001:db8::1]" }, "FD" },
	{ "no domain", "User+x", NULL, false, NULL,
	  "user+x", "user+x", "", "x", true, false, { NULL }, "" },
	{ "empty domain: no keys", "user@", NULL, false, NULL,
	  "user@", "user", "", NULL, false, false, { NULL }, "" },
};

static void
check_keys(const struct addr *a, const struct addr_case *c)
{
	const char *k = c->kinds;
	enum addr_key_kind kind = ADDR_KEY_FULL;
	size_t	 i = 0;
	bool	 quoted;

	while (*k != '\0') {
		switch (*k++) {
		case 'F':
			kind = ADDR_KEY_FULL;
			break;
		case 'N':
			kind = ADDR_KEY_NOEXT;
			break;
		case 'D':
			kind = ADDR_KEY_DOMAIN;
			break;
		default:
			ck_abort_msg("bad kinds in row %s", c->name);
		}
		quoted = *k == 'q';
		if (quoted)
			k++;
		ck_assert_msg(i < a->nkeys, "%s: only %zu keys", c->name,
		    a->nkeys);
		ck_assert_msg(strcmp(a->keys[i].key, c->keys[i]) == 0,
		    "%s: key %zu is '%s', expected '%s'", c->name, i,
		    a->keys[i].key, c->keys[i]);
		ck_assert_msg(a->keys[i].kind == kind,
		    "%s: key %zu kind %d", c->name, i, (int)a->keys[i].kind);
		ck_assert_msg(a->keys[i].quoted == quoted,
		    "%s: key %zu quoted %d", c->name, i, a->keys[i].quoted);
		i++;
	}
	ck_assert_msg(a->nkeys == i, "%s: %zu keys, expected %zu", c->name,
	    a->nkeys, i);
}

START_TEST(addr_table)
{
	const struct addr_case *c = &addr_cases[_i];
	struct addr_opts o = {
		.recipient_delimiter = c->delim != NULL ? c->delim : "+",
		.owner_request_special = !c->ors_off,
		.double_bounce_sender = c->dbl != NULL ? c->dbl :
		    "double-bounce",
	};
	struct addr a;
	const char *err = NULL;

	ck_assert_msg(addr_parse(c->rcpt, &o, &a, &err) == 0, "%s: %s",
	    c->name, err);
	ck_assert_str_eq(a.orig, c->rcpt);
	ck_assert_msg(strcmp(a.folded, c->folded) == 0, "%s: folded '%s'",
	    c->name, a.folded);
	ck_assert_msg(strcmp(a.local, c->local) == 0, "%s: local '%s'",
	    c->name, a.local);
	ck_assert_msg(strcmp(a.domain, c->domain) == 0, "%s: domain '%s'",
	    c->name, a.domain);
	if (c->ext == NULL)
		ck_assert_msg(a.extension == NULL, "%s: extension '%s'",
		    c->name, a.extension);
	else
		ck_assert_msg(a.extension != NULL &&
		    strcmp(a.extension, c->ext) == 0, "%s: extension '%s'",
		    c->name, a.extension ? a.extension : "(null)");
	ck_assert_msg(a.has_domain == !c->no_domain, "%s: has_domain",
	    c->name);
	ck_assert_msg(a.ip_literal == c->ip_literal, "%s: ip_literal",
	    c->name);
	check_keys(&a, c);
	addr_free(&a);
	ck_assert_ptr_null(a.folded);
	ck_assert_uint_eq(a.nkeys, 0);
}
END_TEST

/* input no SMTP client can legitimately send is refused, with a reason */
START_TEST(addr_refused)
{
	struct addr_opts o = { "+", true, "double-bounce" };
	struct addr a;
	const char *err;
	char	*big;

	err = NULL;
	ck_assert_int_eq(addr_parse("", &o, &a, &err), -1);
	ck_assert_ptr_nonnull(err);
	err = NULL;
	ck_assert_int_eq(addr_parse(NULL, &o, &a, &err), -1);
	ck_assert_ptr_nonnull(err);
	err = NULL;
	ck_assert_int_eq(addr_parse("a@b\r\nRCPT TO:<x@y>", &o, &a, &err),
	    -1);
	ck_assert_ptr_nonnull(err);
	err = NULL;
	ck_assert_int_eq(addr_parse("a\n@b", &o, &a, &err), -1);
	ck_assert_ptr_nonnull(err);
	err = NULL;
	ck_assert_int_eq(addr_parse("a\r@b", &o, &a, &err), -1);
	ck_assert_ptr_nonnull(err);

	/* barely fits: ADDR_MAX bytes */
	big = malloc(ADDR_MAX + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', ADDR_MAX);
	memcpy(big + ADDR_MAX - 12, "@example.com", 12);
	big[ADDR_MAX] = '\0';
	ck_assert_int_eq(addr_parse(big, &o, &a, &err), 0);
	ck_assert_uint_eq(strlen(a.keys[0].key), ADDR_MAX);
	addr_free(&a);
	/* one byte over */
	big[ADDR_MAX] = 'a';
	big[ADDR_MAX + 1] = '\0';
	err = NULL;
	ck_assert_int_eq(addr_parse(big, &o, &a, &err), -1);
	ck_assert_ptr_nonnull(err);
	free(big);
}
END_TEST

/* a local part made of quotes doubles in size when quoted: no overrun */
START_TEST(addr_hostile_quoting)
{
	struct addr_opts o = { "+", true, "double-bounce" };
	struct addr a;
	const char *err;
	char	 in[ADDR_MAX + 1];
	size_t	 nloc = ADDR_MAX - 2, i;

	memset(in, '"', nloc);
	memcpy(in + nloc, "@d", 3);
	ck_assert_int_eq(addr_parse(in, &o, &a, &err), 0);
	ck_assert_uint_eq(a.nkeys, 3);
	ck_assert_uint_eq(strlen(a.keys[0].key), 2 * nloc + 2 + 2);
	ck_assert_int_eq(a.keys[0].key[0], '"');
	for (i = 1; i < 2 * nloc + 1; i += 2)
		ck_assert_int_eq(a.keys[0].key[i], '\\');
	ck_assert_str_eq(a.keys[2].key, "@d");
	addr_free(&a);

	/* a delimiter at every position: split at the first one only */
	memset(in, '+', ADDR_MAX - 2);
	in[0] = 'u';
	memcpy(in + ADDR_MAX - 2, "@d", 3);
	ck_assert_int_eq(addr_parse(in, &o, &a, &err), 0);
	ck_assert_str_eq(a.keys[1].key, "u@d");
	ck_assert_uint_eq(strlen(a.extension), ADDR_MAX - 4);
	addr_free(&a);

	/* control characters and invalid UTF-8 are kept, and quoted */
	ck_assert_int_eq(addr_parse("a\x01\xff@d", &o, &a, &err), 0);
	ck_assert_str_eq(a.keys[0].key, "\"a\x01\xff\"@d");
	ck_assert_str_eq(a.keys[1].key, "a\x01\xff@d");
	addr_free(&a);
}
END_TEST

struct quote_case {
	const char *in;
	const char *out;
};

/* quote_822_local.c with QUOTE_FLAG_8BITCLEAN */
static const struct quote_case quote_cases[] = {
	{ "user", "user" },
	{ "first.last", "first.last" },
	{ "", "\"\"" },
	{ "a b", "\"a b\"" },
	{ ".a", "\".a\"" },
	{ "a.", "\"a.\"" },
	{ "a..b", "\"a..b\"" },
	{ "a(b)", "\"a(b)\"" },
	{ "a<b>", "\"a<b>\"" },
	{ "a,b", "\"a,b\"" },
	{ "a;b:c", "\"a;b:c\"" },
	{ "a[b]", "\"a[b]\"" },
	{ "a@b", "\"a@b\"" },
	{ "a\"b", "\"a\\\"b\"" },
	{ "a\\b", "\"a\\\\b\"" },
	{ "a\tb", "\"a\tb\"" },
	{ "a\x7f", "\"a\x7f\"" },
	{ "!#$%&'*+-/=?^_`{|}~", "!#$%&'*+-/=?^_`{|}~" },
	{ "j\xc3\xb6rg", "j\xc3\xb6rg" },
	{ "@relay:a b", "@relay:\"a b\"" },
	{ "@relay:ab", "@relay:ab" },
};

START_TEST(addr_quote_table)
{
	const struct quote_case *c = &quote_cases[_i];
	char	*q = addr_quote_local(c->in);

	ck_assert_msg(strcmp(q, c->out) == 0, "quote('%s') = '%s', "
	    "expected '%s'", c->in, q, c->out);
	free(q);
}
END_TEST

START_TEST(addr_bare_postmaster)
{
	static const struct {
		const char *rcpt;
		bool	 bare;
	} rows[] = {
		{ "postmaster", true },
		{ "PostMaster", true },
		{ "postmaster@example.com", false },
		{ "postmaster+x", false },
		{ "postmasters", false },
		{ "mailer-daemon", false },
	};
	struct addr_opts o = { "+", true, "double-bounce" };
	struct addr a;
	const char *err;
	size_t	 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ck_assert_int_eq(addr_parse(rows[i].rcpt, &o, &a, &err), 0);
		ck_assert_msg(addr_is_bare_postmaster(&a) == rows[i].bare,
		    "%s", rows[i].rcpt);
		addr_free(&a);
	}
}
END_TEST

/* ------------------------------------------------------------ plain */

/*
 * addr_plain: exactly the recipients whose folded form is themselves,
 * that no extension split touches and that need no quoting: the decision
 * cache keeps only those, so a "yes" here that should be "no" would
 * cache a decision under a key invalidation never names.
 */
static const struct plain_case {
	const char *rcpt;
	const char *delims;
	bool	 plain;
} plain_cases[] = {
	{ "john@example.com", "+", true },
	{ "john.smith@mail.example.com", "+", true },
	{ "o'brien@example.com", "+", true },
	{ "a!#$%&*/=?^_`{|}~-b@example.com", "", true },
	{ "john+tag@example.com", "+", false },	/* an extension */
	{ "john+tag@example.com", "", true },	/* no delimiter: none */
	{ "john-x@example.com", "+-", false },
	{ "owner-list@example.com", "-", false },
	{ "John@example.com", "+", false },	/* folding changes it */
	{ "john@Example.com", "+", false },
	{ "jürgen@example.com", "+", false },	/* non-ASCII */
	{ "john@example.com.", "+", false },	/* trailing dot */
	{ "\"a b\"@example.com", "+", false },	/* quoting */
	{ "a b@example.com", "+", false },
	{ "a..b@example.com", "+", false },
	{ ".ab@example.com", "+", false },
	{ "ab.@example.com", "+", false },
	{ "a(b)@example.com", "+", false },
	{ "a@b@example.com", "+", false },
	{ "@example.com", "+", false },
	{ "john@", "+", false },
	{ "john", "+", false },
	{ "postmaster", "+", false },
	{ "john@[192.0.2.1]", "+", false },
	{ "john@exa mple.com", "+", false },
	{ "john@example.com", NULL, true },
	{ "", "+", false },
};

START_TEST(plain_table)
{
	const struct plain_case *c = &plain_cases[_i];

	ck_assert_msg(addr_plain(c->rcpt, strlen(c->rcpt), c->delims) ==
	    c->plain, "\"%s\" (delims \"%s\")", c->rcpt,
	    c->delims != NULL ? c->delims : "(none)");
}
END_TEST

/* a plain recipient is its own folded form, with no extension split */
START_TEST(plain_is_folded)
{
	const struct plain_case *c = &plain_cases[_i];
	struct addr_opts o = { "+", true, "double-bounce" };
	struct addr a;
	const char *err;

	if (!c->plain || c->delims == NULL || strcmp(c->delims, "+") != 0)
		return;
	ck_assert_int_eq(addr_parse(c->rcpt, &o, &a, &err), 0);
	ck_assert_str_eq(a.folded, c->rcpt);
	ck_assert_ptr_null(a.extension);
	/* its keys: itself and "@domain", nothing quoted */
	ck_assert_uint_eq(a.nkeys, 2);
	ck_assert_str_eq(a.keys[0].key, c->rcpt);
	ck_assert_str_eq(a.keys[1].key, strrchr(c->rcpt, '@'));
	addr_free(&a);
}
END_TEST

START_TEST(plain_limit)
{
	char	 s[ADDR_PLAIN_MAX + 2];

	memset(s, 'a', sizeof(s));
	memcpy(s + ADDR_PLAIN_MAX - 4, "@d.x", 4);
	ck_assert(addr_plain(s, ADDR_PLAIN_MAX, "+"));
	memset(s, 'a', sizeof(s));
	memcpy(s + ADDR_PLAIN_MAX - 3, "@d.x", 4);
	ck_assert(!addr_plain(s, ADDR_PLAIN_MAX + 1, "+"));
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite	*s = suite_create("addr");
	TCase	*tc = tcase_create("addr");

	tcase_add_loop_test(tc, addr_table, 0,
	    sizeof(addr_cases) / sizeof(addr_cases[0]));
	tcase_add_loop_test(tc, addr_quote_table, 0,
	    sizeof(quote_cases) / sizeof(quote_cases[0]));
	tcase_add_test(tc, addr_refused);
	tcase_add_test(tc, addr_hostile_quoting);
	tcase_add_test(tc, addr_bare_postmaster);
	tcase_add_loop_test(tc, plain_table, 0,
	    sizeof(plain_cases) / sizeof(plain_cases[0]));
	tcase_add_loop_test(tc, plain_is_folded, 0,
	    sizeof(plain_cases) / sizeof(plain_cases[0]));
	tcase_add_test(tc, plain_limit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(addr_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
