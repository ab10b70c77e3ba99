/*
 * check_mappat - unit tests for the table files' pure parts, with the
 * real regular expression engines (store/mapre: POSIX regex, PCRE2):
 *   core/mappat: regexp_table(5)/pcre_table(5) rules, flags, IF/ENDIF,
 *     $n substitution, the rules Postfix skips;
 *   core/mapidx: the postmap source format (texthash:) and the
 *     "key\0" / "key" lookup of indexed files;
 *   core/engine with file tables: pattern tables get the full address
 *     only (mail_addr_find.c: no user@domain without the extension, no
 *     @domain), an empty result fails the lookup in *_maps but matches in
 *     *_domains.
 *
 * What a mail admin cares about: a regexp or pcre table, or a hash table
 * built by postmap, accepts and rejects exactly the addresses Postfix
 * would with the same file.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/cachefmt.h"
#include "core/engine.h"
#include "core/map.h"
#include "core/mapidx.h"
#include "core/mappat.h"
#include "store/mapre.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------ pattern tables */

struct pat_case {
	enum mappat_dialect d;
	const char *text;	/* the file */
	const char *key;
	const char *want;	/* the substituted result; NULL: no match */
	const char *warn;	/* a substring of the warnings, or NULL */
};

#define RE	MAPPAT_REGEXP
#define PC	MAPPAT_PCRE

static const struct pat_case pat_cases[] = {
	/* the default flags: case-insensitive (both), extended (regexp) */
	{ RE, "/^john@example\\.com$/ ok\n", "john@example.com", "ok", NULL },
	{ RE, "/^JOHN@example\\.com$/ ok\n", "john@example.com", "ok", NULL },
	{ RE, "/^JOHN@example\\.com$/i ok\n", "john@example.com", NULL, NULL },
	{ PC, "/^JOHN@example\\.com$/ ok\n", "john@example.com", "ok", NULL },
	{ PC, "/^JOHN@example\\.com$/i ok\n", "john@example.com", NULL, NULL },
	/* x toggles extended: "a+" is then "a" followed by "+" */
	{ RE, "/^a+@x$/ ok\n", "aaa@x", "ok", NULL },
	{ RE, "/^a+@x$/x ok\n", "aaa@x", NULL, NULL },
	{ RE, "/^a+@x$/x ok\n", "a+@x", "ok", NULL },
	/* pcre x: white space in the pattern is ignored */
	{ PC, "/^a b@x$/x ok\n", "ab@x", "ok", NULL },
	{ PC, "/^a b@x$/ ok\n", "ab@x", NULL, NULL },
	/* pcre s (on): '.' matches a newline; A anchors; U ungreedy */
	{ PC, "/^a.b$/ ok\n", "a\nb", "ok", NULL },
	{ PC, "/^a.b$/s ok\n", "a\nb", NULL, NULL },
	{ PC, "/b@x/A ok\n", "ab@x", NULL, NULL },
	{ PC, "/b@x/ ok\n", "ab@x", "ok", NULL },
	{ PC, "/^(a+)/U $1\n", "aaa@x", "a", NULL },
	{ PC, "/^(a+)/ $1\n", "aaa@x", "aaa", NULL },
	{ PC, "/x$/E ok\n", "x\n", NULL, NULL },
	{ PC, "/x$/ ok\n", "x\n", "ok", NULL },
	{ PC, "/x/X ok\n", "x", "ok", "ignoring obsolete regexp option" },
	/* $n substitution: ${n}, $(n), $$, empty and unset groups */
	{ RE, "/^(.*)\\+(.*)@(.*)$/ $1@$3 ext=${2}\n", "joe+foo@ex.com",
	  "joe@ex.com ext=foo", NULL },
	{ PC, "/^(.*)\\+(.*)@(.*)$/ $(1)@$3$$\n", "joe+foo@ex.com",
	  "joe@ex.com$", NULL },
	{ RE, "/^x$/ a$$b\n", "x", "a$b", NULL },
	{ RE, "/^(a)?(b)$/ [$1]\n", "b", "[]", NULL },
	{ PC, "/^(a)?(b)$/ [$1]\n", "b", "[]", NULL },
	{ PC, "/^(a)|(b)$/ [$2]\n", "a", "[]", NULL },
	/* an empty result (Postfix: "returns an empty string result") */
	{ RE, "/^(x*)y$/ $1\n", "y", "", NULL },
	{ PC, "/^y$/\n", "y", "", "no replacement text: using empty string" },
	/* negation; no $n with a negated pattern */
	{ RE, "!/^a/ not-a\n", "b", "not-a", NULL },
	{ RE, "!/^a/ not-a\n", "a", NULL, NULL },
	{ RE, "!!/^a/ a\n", "a", "a", NULL },
	{ PC, "! /^a/ not-a\n", "b", "not-a", NULL },
	{ RE, "!/^(a)/ $1\n/./ next\n", "b", "next",
	  "$number found in negative match replacement text" },
	/* regexp only: /pat1/!/pat2/ */
	{ RE, "/@example\\.com$/!/^postmaster@/ user\n", "joe@example.com",
	  "user", NULL },
	{ RE, "/@example\\.com$/!/^postmaster@/ user\n",
	  "postmaster@example.com", NULL, NULL },
	{ PC, "/@example\\.com$/!/^postmaster@/ user\n/./ x\n",
	  "joe@example.com", "x", "unknown regexp option \"!\"" },
	/* other delimiters, escaped delimiters */
	{ RE, "|^a/b@x$| ok\n", "a/b@x", "ok", NULL },
	{ PC, "/^a\\/b@x$/ ok\n", "a/b@x", "ok", NULL },
	/* the first matching rule wins */
	{ RE, "/^a/ first\n/^a/ second\n", "abc", "first", NULL },
	/* IF / ENDIF, nested; an IF without ENDIF ends the table */
	{ RE, "IF /@example\\.com$/\n/^joe@/ joe\nENDIF\n/^joe@/ other\n",
	  "joe@example.com", "joe", NULL },
	{ RE, "IF /@example\\.com$/\n/^joe@/ joe\nENDIF\n/^joe@/ other\n",
	  "joe@example.net", "other", NULL },
	{ PC, "if !/@example\\.com$/\n/^joe@/ joe\nendif\n", "joe@example.com",
	  NULL, NULL },
	{ PC, "IF /^j/\nIF /o/\n/e@/ deep\nENDIF\n/./ shallow\nENDIF\n",
	  "jxe@x", "shallow", NULL },
	{ RE, "IF /^x/\n/./ in\n/^y/ after\n", "y", NULL,
	  "IF has no matching ENDIF" },
	{ RE, "ENDIF\n/./ ok\n", "y", "ok",
	  "ignoring ENDIF without matching IF" },
	/* continuation lines, comments, trailing blanks */
	{ RE, "# a comment\n/^a/\n  ok\n", "a", "ok", NULL },
	{ RE, "/^a/ o\n# between\n  k  \n", "a", "o  k", NULL },
	{ RE, "  /^a/ ok\n/^a/ two\n", "a", "two", NULL },
	/* rules Postfix skips, with its warnings */
	{ RE, "/^a/ $x\n/^a/ two\n", "a", "two",
	  "non-numeric replacement index \"x\"" },
	{ RE, "/^a/ $0\n/^a/ two\n", "a", "two",
	  "out-of-range replacement index \"0\"" },
	{ RE, "/^(a)/ $2\n/^a/ two\n", "a", "two",
	  "out of range replacement index \"2\"" },
	{ PC, "/^(a)/ $2\n/^a/ two\n", "a", "two",
	  "out of range replacement index \"2\"" },
	{ RE, "/^a/ ${1\n/^a/ two\n", "a", "two", "bad replacement syntax" },
	{ RE, "/^a/q ok\n/^a/ two\n", "a", "two",
	  "unknown regexp option \"q\"" },
	{ RE, "/^a ok\n/^a/ two\n", "a", "two",
	  "no closing regexp delimiter \"/\"" },
	{ RE, "/^(a/ ok\n/^a/ two\n", "a", "two", "line 1:" },
	{ PC, "/^(a/ ok\n/^a/ two\n", "a", "two", "error in regex at offset" },
	{ RE, "hello world\n/^a/ two\n", "a", "two",
	  "ignoring unrecognized request" },
	{ RE, "IF /^a/ junk\n/./ in\nENDIF\n", "a", "in",
	  "ignoring extra text after IF statement" },
};

START_TEST(test_pattern)
{
	const struct pat_case *c = &pat_cases[_i];
	const struct mappat_engine *eng = c->d == RE ? &mapre_posix :
	    &mapre_pcre;
	struct mappat *p;
	struct buf out;
	const char *r;
	char	*warn = NULL, *err = NULL;
	bool	 empty;

	ck_assert_int_eq(mappat_parse(c->d, eng, "t", c->text,
	    strlen(c->text), &p, &warn, &err), 0);
	buf_init(&out, 0);
	r = mappat_lookup(p, c->key, &out, &empty);
	if (c->want == NULL) {
		ck_assert_msg(r == NULL, "row %d: %s matched", _i, c->key);
	} else {
		ck_assert_msg(r != NULL, "row %d: %s: no match (%s)", _i,
		    c->key, warn ? warn : "");
		ck_assert_str_eq(buf_str(&out), c->want);
		ck_assert(empty == (*c->want == '\0'));
	}
	if (c->warn != NULL)
		ck_assert_msg(warn != NULL && strstr(warn, c->warn) != NULL,
		    "row %d: want warning \"%s\", got \"%s\"", _i, c->warn,
		    warn ? warn : "");
	else
		ck_assert_msg(warn == NULL, "row %d: warning %s", _i, warn);
	buf_free(&out);
	free(warn);
	mappat_free(&p);
}
END_TEST

/* the warnings carry the map and line, as Postfix's do */
START_TEST(test_pattern_warning_form)
{
	struct mappat *p;
	char	*warn = NULL, *err = NULL;
	const char *text = "/^a/ ok\n\n/^b/ $x\n";

	ck_assert_int_eq(mappat_parse(PC, &mapre_pcre, "/etc/postfix/r",
	    text, strlen(text), &p, &warn, &err), 0);
	ck_assert_str_eq(warn, "pcre map /etc/postfix/r, line 3: non-numeric "
	    "replacement index \"x\"\npcre map /etc/postfix/r, line 3: bad "
	    "replacement syntax: skipping this rule");
	ck_assert_uint_eq(mappat_nrules(p), 1);
	free(warn);
	mappat_free(&p);
}
END_TEST

/* ----------------------------------------------------- indexed tables */

struct text_case {
	const char *text;
	const char *key;	/* looked up folded, as the engine does */
	const char *want;	/* NULL: not found */
	const char *warn;
};

static const struct text_case text_cases[] = {
	{ "john@example.com john\n", "john@example.com", "john", NULL },
	/* keys are folded (ASCII), values kept */
	{ "John@Example.COM John Doe\n", "john@example.com", "John Doe",
	  NULL },
	/* the value is the rest of the line, trimmed; tabs separate */
	{ "a@x\t  v  w  \n", "a@x", "v  w", NULL },
	/* a quoted key stays quoted; its space does not split */
	{ "\"a b\"@x quoted\n", "\"a b\"@x", "quoted", NULL },
	{ "a\\ b@x escaped\n", "a\\ b@x", "escaped", NULL },
	/* continuation lines and comments */
	{ "a@x one\n  two\n# c\n\tthree\nb@x four\n", "a@x", "one  two\tthree",
	  NULL },
	{ "@example.com catchall\n", "@example.com", "catchall", NULL },
	/* lines Postfix ignores */
	{ "lonely\nb@x v\n", "lonely", NULL,
	  "expected format: key whitespace value -- ignoring this line" },
	{ "\"a b@x v\n", "\"a", NULL, "unbalanced '\"'" },
	{ "a@x: v\n", "a@x:", "v", "is this an alias file?" },
	{ "a\xff@x v\n", "a\xff@x", NULL, "non-UTF-8 input" },
};

START_TEST(test_text)
{
	const struct text_case *c = &text_cases[_i];
	struct mapidx *idx = mapidx_new();
	const char *v;
	char	*warn = NULL, *err = NULL;

	ck_assert_int_eq(mapidx_parse_text(idx, "t", c->text,
	    strlen(c->text), true, &warn, &err), 0);
	v = mapidx_lookup(idx, c->key);
	if (c->want == NULL)
		ck_assert_msg(v == NULL, "row %d: found %s", _i, v);
	else
		ck_assert_msg(v != NULL && strcmp(v, c->want) == 0,
		    "row %d: got %s", _i, v ? v : "(null)");
	if (c->warn != NULL)
		ck_assert_msg(warn != NULL && strstr(warn, c->warn) != NULL,
		    "row %d: want warning \"%s\", got \"%s\"", _i, c->warn,
		    warn ? warn : "");
	else
		ck_assert_msg(warn == NULL, "row %d: warning %s", _i, warn);
	free(warn);
	mapidx_free(&idx);
}
END_TEST

/* a duplicate makes smtpd's texthash: table unusable: a load error */
START_TEST(test_text_duplicate)
{
	struct mapidx *idx = mapidx_new();
	char	*warn = NULL, *err = NULL;
	const char *text = "a@x 1\nA@X 2\n";

	ck_assert_int_eq(mapidx_parse_text(idx, "t", text, strlen(text), true,
	    &warn, &err), -1);
	ck_assert_str_eq(err, "t, line 2: duplicate entry: \"a@x\"");
	free(err);
	mapidx_free(&idx);
}
END_TEST

/* postmap writes "key\0" (hash, lmdb) or "key" (cdb): both are found */
START_TEST(test_idx_nul)
{
	struct mapidx *a = mapidx_new(), *b = mapidx_new();
	bool	 dup;

	ck_assert_int_eq(mapidx_put(a, "k@x", 4, "v1", 3, NULL), 0);
	ck_assert_int_eq(mapidx_put(b, "k@x", 3, "v2", 2, NULL), 0);
	ck_assert_str_eq(mapidx_lookup(a, "k@x"), "v1");
	ck_assert_str_eq(mapidx_lookup(b, "k@x"), "v2");
	ck_assert_ptr_null(mapidx_lookup(a, "k@"));
	ck_assert_ptr_null(mapidx_lookup(b, "k@x\xff"));
	/* the first of duplicate records wins (cdb_find) */
	ck_assert_int_eq(mapidx_put(b, "k@x", 3, "v3", 2, &dup), 0);
	ck_assert(dup);
	ck_assert_str_eq(mapidx_lookup(b, "k@x"), "v2");
	/* the same records in another order: the same content */
	ck_assert_int_eq(mapidx_put(a, "z", 1, "", 0, NULL), 0);
	mapidx_free(&b);
	b = mapidx_new();
	ck_assert_int_eq(mapidx_put(b, "z", 1, "", 0, NULL), 0);
	ck_assert_int_eq(mapidx_put(b, "k@x", 4, "v1", 3, NULL), 0);
	ck_assert_uint_eq(mapidx_content(a), mapidx_content(b));
	ck_assert_int_eq(mapidx_put(b, "y", 1, "", 0, NULL), 0);
	ck_assert_uint_ne(mapidx_content(a), mapidx_content(b));
	mapidx_free(&a);
	mapidx_free(&b);
}
END_TEST

/* many records: the table grows and finds every one */
START_TEST(test_idx_many)
{
	struct mapidx *idx = mapidx_new();
	char	 k[32], v[32];
	unsigned i;

	for (i = 0; i < 20000; i++) {
		snprintf(k, sizeof(k), "user%u@example.com", i);
		snprintf(v, sizeof(v), "v%u", i);
		ck_assert_int_eq(mapidx_put(idx, k, strlen(k) + 1, v,
		    strlen(v) + 1, NULL), 0);
	}
	ck_assert_uint_eq(mapidx_count(idx), 20000);
	for (i = 0; i < 20000; i += 7) {
		snprintf(k, sizeof(k), "user%u@example.com", i);
		snprintf(v, sizeof(v), "v%u", i);
		ck_assert_str_eq(mapidx_lookup(idx, k), v);
	}
	ck_assert_ptr_null(mapidx_lookup(idx, "user20000@example.com"));
	mapidx_free(&idx);
}
END_TEST

/* --------------------------------------------- the engine, file tables */

/*
 * A row: virtual_mailbox_domains = example.com (a domain), the tables of
 * virtual_alias_maps and virtual_mailbox_maps as file texts, a recipient
 * (recipient_delimiter = +) -> the verdict. Table texts start with
 * "regexp:", "pcre:" or "text:" (an indexed table, texthash format).
 */
struct eng_case {
	const char *vad;	/* virtual_alias_domains table, or NULL */
	const char *vam;	/* virtual_alias_maps table, or NULL */
	const char *vmm;	/* virtual_mailbox_maps table, or NULL */
	const char *rcpt;
	enum verdict_kind want;
};

static const struct eng_case eng_cases[] = {
	/* a pattern table gets the full address, with its extension */
	{ NULL, "regexp:/^joe@example\\.com$/ x\n", "text:none@x y\n",
	  "joe+foo@example.com", VERDICT_UNKNOWN },
	{ NULL, "regexp:/^joe\\+foo@example\\.com$/ x\n", "text:none@x y\n",
	  "joe+foo@example.com", VERDICT_VALID },
	{ NULL, "pcre:/^joe@example\\.com$/ x\n", "text:none@x y\n",
	  "Joe@Example.COM", VERDICT_VALID },
	/* an indexed table gets user@domain and @domain too */
	{ NULL, "text:joe@example.com x\n", "text:none@x y\n",
	  "joe+foo@example.com", VERDICT_VALID },
	{ NULL, "text:@example.com x\n", "text:none@x y\n",
	  "anyone@example.com", VERDICT_VALID },
	/* a pattern table is never asked "@domain" */
	{ NULL, "regexp:/^@example\\.com$/ x\n", "text:none@x y\n",
	  "anyone@example.com", VERDICT_UNKNOWN },
	{ NULL, "pcre:/@example\\.com$/ x\n", "text:none@x y\n",
	  "anyone@example.com", VERDICT_VALID },
	/* an empty result: a lookup error in *_maps */
	{ NULL, "regexp:/^(x*)joe@/ $1\n", "text:joe@example.com y\n",
	  "joe@example.com", VERDICT_FAILURE },
	{ NULL, "regexp:/^(x*)joe@/ $1\n", "text:joe@example.com y\n",
	  "xjoe@example.com", VERDICT_VALID },
	{ NULL, NULL, "pcre:/^joe@/\n", "joe@example.com", VERDICT_FAILURE },
	/* ... and a match in *_domains */
	{ "regexp:/^(x*)example\\.org$/ $1\n", NULL, "text:none@x y\n",
	  "joe@example.org", VERDICT_UNKNOWN },
	{ "regexp:/^example\\.net$/ x\n", NULL, "text:none@x y\n",
	  "joe@example.org", VERDICT_NOT_HANDLED },
	/* the mailbox table: quoted local parts come quoted */
	{ NULL, NULL, "text:\"a b\"@example.com y\n", "a b@example.com",
	  VERDICT_VALID },
	{ NULL, NULL, "regexp:/^\"a b\"@example\\.com$/ y\n",
	  "a b@example.com", VERDICT_VALID },
	{ NULL, NULL, "regexp:/^a b@example\\.com$/ y\n", "a b@example.com",
	  VERDICT_VALID },
};

/* t_map - a MAP_FILE from "type:text" */
static struct map *
t_map(const char *spec)
{
	struct map *m = xcalloc(1, sizeof(*m));
	struct map_file *mf = xcalloc(1, sizeof(*mf));
	const char *text = strchr(spec, ':') + 1;
	char	*warn = NULL, *err = NULL;

	m->type = MAP_FILE;
	m->name = xstrdup(spec);
	m->u.file = mf;
	mf->path = xstrdup("t");
	if (strncmp(spec, "text:", 5) == 0) {
		mf->type = xstrdup("texthash");
		mf->idx = mapidx_new();
		ck_assert_int_eq(mapidx_parse_text(mf->idx, "t", text,
		    strlen(text), true, &warn, &err), 0);
	} else {
		bool	 pcre = strncmp(spec, "pcre:", 5) == 0;

		mf->type = xstrdup(pcre ? "pcre" : "regexp");
		ck_assert_int_eq(mappat_parse(pcre ? PC : RE, pcre ?
		    &mapre_pcre : &mapre_posix, "t", text, strlen(text),
		    &mf->pat, &warn, &err), 0);
	}
	free(warn);
	return m;
}

static void
t_list(struct maplist *ml, const char *param, struct map *m)
{
	ml->param = param;
	ml->v = NULL;
	ml->n = 0;
	if (m == NULL)
		return;
	ml->v = xcalloc(1, sizeof(*ml->v));
	ml->v[0] = m;
	ml->n = 1;
}

static void
t_free(struct map **m)
{
	if (*m == NULL)
		return;
	map_file_free(&(*m)->u.file);
	free((*m)->name);
	free(*m);
	*m = NULL;
}

START_TEST(test_engine_files)
{
	const struct eng_case *c = &eng_cases[_i];
	struct engine_cfg cfg;
	struct map dom = { .type = MAP_DOMAIN, .name = (char *)"example.com",
	    .u.domain = (char *)"example.com" };
	struct map *vad, *vam, *vmm;
	struct factset fs;
	struct lookup_list need;
	struct verdict v;
	struct addr a;
	const char *err;

	memset(&cfg, 0, sizeof(cfg));
	vad = c->vad ? t_map(c->vad) : NULL;
	vam = c->vam ? t_map(c->vam) : NULL;
	vmm = c->vmm ? t_map(c->vmm) : NULL;
	t_list(&cfg.virtual_alias_domains, "virtual_alias_domains", vad);
	t_list(&cfg.virtual_mailbox_domains, "virtual_mailbox_domains", &dom);
	t_list(&cfg.relay_domains, "relay_domains", NULL);
	t_list(&cfg.virtual_alias_maps, "virtual_alias_maps", vam);
	t_list(&cfg.virtual_mailbox_maps, "virtual_mailbox_maps", vmm);
	t_list(&cfg.relay_recipient_maps, "relay_recipient_maps", NULL);
	cfg.addr.recipient_delimiter = "+";
	cfg.addr.owner_request_special = true;
	cfg.addr.double_bounce_sender = "double-bounce";
	cfg.unknown_virtual_alias_reject_code = 550;
	cfg.unknown_virtual_mailbox_reject_code = 550;
	cfg.unknown_relay_recipient_reject_code = 550;
	cfg.show_user_unknown_table_name = true;
	cfg.other_domain_action = "DUNNO";

	ck_assert_int_eq(addr_parse(c->rcpt, &cfg.addr, &a, &err), 0);
	factset_init(&fs);
	/* file tables are pure: one call decides */
	ck_assert_int_eq(engine_decide(&cfg, &a, &fs, &need, &v, NULL),
	    ENGINE_DONE);
	ck_assert_msg(v.kind == c->want, "row %d: %s: %s, want %s", _i,
	    c->rcpt, verdict_kind_name(v.kind), verdict_kind_name(c->want));
	factset_free(&fs);
	addr_free(&a);
	free(cfg.virtual_alias_domains.v);
	free(cfg.virtual_mailbox_domains.v);
	free(cfg.virtual_alias_maps.v);
	free(cfg.virtual_mailbox_maps.v);
	t_free(&vad);
	t_free(&vam);
	t_free(&vmm);
}
END_TEST

/*
 * The decision cache's namespace follows what a file table holds: the
 * same records (a rebuild, a touch, a reload) keep it; other records, or
 * the same records in another file, make a new one, so that no decision
 * made from the old table is ever read again.
 */
START_TEST(test_dns_content)
{
	struct engine_cfg cfg;
	struct map *a = t_map("text:john@example.com x\n");
	struct map *b = t_map("text:john@example.com x\n");
	struct map *c = t_map("text:john@example.com x\njane@example.com y\n");
	char	 na[CACHEFMT_NS_LEN + 1], nb[CACHEFMT_NS_LEN + 1],
		 nc[CACHEFMT_NS_LEN + 1];

	memset(&cfg, 0, sizeof(cfg));
	a->u.file->content = mapidx_content(a->u.file->idx);
	b->u.file->content = mapidx_content(b->u.file->idx);
	c->u.file->content = mapidx_content(c->u.file->idx);
	t_list(&cfg.virtual_mailbox_maps, "virtual_mailbox_maps", a);
	cachefmt_dns(&cfg, na);
	cfg.virtual_mailbox_maps.v[0] = b;
	cachefmt_dns(&cfg, nb);
	ck_assert_str_eq(na, nb);
	cfg.virtual_mailbox_maps.v[0] = c;
	cachefmt_dns(&cfg, nc);
	ck_assert_str_ne(na, nc);
	free(b->u.file->path);
	b->u.file->path = xstrdup("other");
	cfg.virtual_mailbox_maps.v[0] = b;
	cachefmt_dns(&cfg, nb);
	ck_assert_str_ne(na, nb);
	free(cfg.virtual_mailbox_maps.v);
	t_free(&a);
	t_free(&b);
	t_free(&c);
}
END_TEST

static Suite *
mappat_suite(void)
{
	Suite	*s = suite_create("mappat");
	TCase	*tc;

	tc = tcase_create("pattern");
	tcase_add_loop_test(tc, test_pattern, 0, (int)NELEM(pat_cases));
	tcase_add_test(tc, test_pattern_warning_form);
	suite_add_tcase(s, tc);
	tc = tcase_create("indexed");
	tcase_add_loop_test(tc, test_text, 0, (int)NELEM(text_cases));
	tcase_add_test(tc, test_text_duplicate);
	tcase_add_test(tc, test_idx_nul);
	tcase_add_test(tc, test_idx_many);
	suite_add_tcase(s, tc);
	tc = tcase_create("engine");
	tcase_add_loop_test(tc, test_engine_files, 0, (int)NELEM(eng_cases));
	tcase_add_test(tc, test_dns_content);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(mappat_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
