/*
 * check_smap - unit tests for src/core/smap: what vrcptd's socketmap
 * answers for a map name and a key, one row per Postfix rule.
 *
 * What a mail admin cares about here: that Postfix, asking the
 * socketmap for the whole address only, gets what its own search of
 * the native tables would have produced: the mailbox path of
 * user@domain for user+ext@domain, the catch-all's value, an alias's
 * targets with the extension put back (propagate_unmatched_extensions),
 * "@domain -> @otherdomain" turned into user@otherdomain, the first
 * table of a list winning, and a lookup error as an error (Postfix
 * defers) rather than "not found" (Postfix would bounce or deliver
 * unaliased).
 *
 * Tables: "A" (virtual_alias_maps) and "M" (virtual_mailbox_maps) are
 * pgsql maps (query ... '%s') answered by the row's "db": "A:key=value"
 * found, "A:key!" a lookup error; anything else not found. "A2" is a
 * second alias table after "A" (its rows "B:key=value"). The domains
 * lists hold plain names. The driver calls smap_decide(), answers what
 * it asks for, and calls again, as server/smapreq does, checking that
 * no lookup is asked for twice.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/engine.h"
#include "core/map.h"
#include "core/smap.h"
#include "core/sqlmap.h"
#include "util/xalloc.h"

/* rows leave the trailing fields out */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define T_ROUNDS_MAX	8

struct tfix {
	struct engine_cfg cfg;
	struct map *maps[16];
	size_t	 nmaps;
	struct map *va[2], *vm[2], *vad[1], *vmd[2], *rd[2], *rr[1];
	struct map *cm[1], *rcm[1];
};

static struct map *
t_pgsql(struct tfix *f, const char *name)
{
	static const char cf[] = "hosts = h\nuser = u\npassword = p\n"
	    "dbname = d\nquery = SELECT v FROM t WHERE k = '%s'\n";
	struct map *m = xcalloc(1, sizeof(*m));
	char	*warn = NULL, *err = NULL;

	m->type = MAP_PGSQL;
	m->name = xstrdup(name);
	m->id = (unsigned)f->nmaps;
	ck_assert_int_eq(sqlmap_parse(name, cf, sizeof(cf) - 1, &m->u.sql,
	    &warn, &err), 0);
	free(warn);
	f->maps[f->nmaps++] = m;
	return m;
}

static struct map *
t_domain(struct tfix *f, const char *d)
{
	struct map *m = xcalloc(1, sizeof(*m));

	m->type = MAP_DOMAIN;
	m->name = xstrdup(d);
	m->u.domain = xstrdup(d);
	m->id = (unsigned)f->nmaps;
	f->maps[f->nmaps++] = m;
	return m;
}

static struct map *
t_inline(struct tfix *f, const char *k, const char *v)
{
	struct map *m = xcalloc(1, sizeof(*m));

	m->type = MAP_INLINE;
	m->name = xstrdup("inline:");
	m->u.inl.kv = xcalloc(1, sizeof(*m->u.inl.kv));
	m->u.inl.kv[0].key = xstrdup(k);
	m->u.inl.kv[0].value = xstrdup(v);
	m->u.inl.n = 1;
	m->id = (unsigned)f->nmaps;
	f->maps[f->nmaps++] = m;
	return m;
}

static void
t_fix(struct tfix *f, const char *delim, bool propagate)
{
	memset(f, 0, sizeof(*f));
	f->va[0] = t_pgsql(f, "A");
	f->va[1] = t_pgsql(f, "B");
	f->vm[0] = t_pgsql(f, "M");
	f->vm[1] = t_inline(f, "static@example.com", "example.com/static/");
	f->vad[0] = t_domain(f, "alias.org");
	f->vmd[0] = t_domain(f, "example.com");
	f->vmd[1] = t_pgsql(f, "D");
	f->rd[0] = t_domain(f, "relay.net");
	f->rd[1] = t_pgsql(f, "RD");
	f->rr[0] = t_pgsql(f, "R");
	f->cm[0] = t_pgsql(f, "C");
	f->rcm[0] = t_pgsql(f, "RC");
	f->cfg.canonical_maps = (struct maplist){ "canonical_maps", f->cm,
	    1 };
	f->cfg.recipient_canonical_maps = (struct maplist){
	    "recipient_canonical_maps", f->rcm, 1 };
	f->cfg.relay_domains_parent = true;	/* Postfix's default */
	f->cfg.virtual_alias_maps = (struct maplist){ "virtual_alias_maps",
	    f->va, 2 };
	f->cfg.virtual_mailbox_maps = (struct maplist){
	    "virtual_mailbox_maps", f->vm, 2 };
	f->cfg.virtual_alias_domains = (struct maplist){
	    "virtual_alias_domains", f->vad, 1 };
	f->cfg.virtual_mailbox_domains = (struct maplist){
	    "virtual_mailbox_domains", f->vmd, 2 };
	f->cfg.relay_domains = (struct maplist){ "relay_domains", f->rd, 2 };
	f->cfg.relay_recipient_maps = (struct maplist){
	    "relay_recipient_maps", f->rr, 1 };
	f->cfg.addr.recipient_delimiter = delim;
	f->cfg.addr.owner_request_special = true;
	f->cfg.addr.double_bounce_sender = "double-bounce";
	f->cfg.propagate_virtual = propagate;
	f->cfg.propagate_canonical = propagate;
}

static void
t_unfix(struct tfix *f)
{
	size_t	 i;

	for (i = 0; i < f->nmaps; i++) {
		struct map *m = f->maps[i];

		if (m->type == MAP_PGSQL)
			sqlmap_free(&m->u.sql);
		else if (m->type == MAP_DOMAIN)
			free(m->u.domain);
		else if (m->type == MAP_INLINE) {
			free(m->u.inl.kv[0].key);
			free(m->u.inl.kv[0].value);
			free(m->u.inl.kv);
		}
		free(m->name);
		free(m);
	}
}

/*
 * t_db - the row's answer for map name and key: "NAME:key=value" found,
 * "NAME:key!" an error, else not found. ';' separates entries; a value
 * may hold ',' and spaces.
 */
static enum fact_result
t_db(const char *db, const char *name, const char *key, char **value_r)
{
	char	*copy = xstrdup(db), *ent, *save = NULL, *want;
	enum fact_result r = FACT_NOT_FOUND;
	size_t	 wl;

	*value_r = NULL;
	want = xasprintf("%s:%s", name, key);
	wl = strlen(want);
	for (ent = strtok_r(copy, ";", &save); ent != NULL;
	    ent = strtok_r(NULL, ";", &save)) {
		if (strncmp(ent, want, wl) != 0)
			continue;
		if (ent[wl] == '=') {
			*value_r = xstrdup(ent + wl + 1);
			r = FACT_FOUND;
			break;
		}
		if (ent[wl] == '!' && ent[wl + 1] == '\0') {
			r = FACT_UNAVAILABLE;
			break;
		}
	}
	free(want);
	free(copy);
	return r;
}

struct row {
	const char *name;
	const char *key;
	const char *db;
	const char *expect;	/* "OK value", "NOTFOUND", "TEMP", "NOKEY" */
	const char *delim;	/* NULL: "+" */
	bool	 no_propagate;
};

static const struct row rows[] = {
	/* domain lists: the key as it is; plain names, then tables */
	{ "virtual_mailbox_domains", "example.com", "", "OK example.com" },
	{ "virtual_mailbox_domains", "Example.COM", "", "OK example.com" },
	{ "virtual_mailbox_domains", "other.com", "D:other.com=1",
	  "OK 1" },
	{ "virtual_mailbox_domains", "nosuch.com", "", "NOTFOUND" },
	{ "virtual_mailbox_domains", "err.com", "D:err.com!", "TEMP" },
	/* no parent domains: the pattern table gets none either */
	{ "virtual_mailbox_domains", "sub.example.com", "", "NOTFOUND" },
	{ "virtual_alias_domains", "alias.org", "", "OK alias.org" },
	{ "relay_domains", "relay.net", "", "OK relay.net" },
	{ "relay_domains", "example.com", "", "NOTFOUND" },
	/* parent domains (match_hostname): relay_domains is in Postfix's
	 * parent_domain_matches_subdomains, the others are not */
	{ "relay_domains", "sub.relay.net", "", "OK relay.net" },
	{ "relay_domains", "xrelay.net", "", "NOTFOUND" },
	{ "relay_domains", "mx.other.net", "RD:other.net=edge", "OK edge" },
	{ "relay_domains", "a.b.other.net", "RD:net=top", "OK top" },
	{ "relay_domains", "mx.other.net", "RD:.other.net=dot", "NOTFOUND" },
	{ "relay_domains", "mx.other.net", "RD:other.net!", "TEMP" },
	{ "virtual_mailbox_domains", "a.sub2.test", "D:.sub2.test=dot",
	  "OK dot" },
	{ "virtual_mailbox_domains", "a.sub2.test", "D:sub2.test=x",
	  "NOTFOUND" },
	{ "virtual_mailbox_domains", "a.b.sub2.test", "D:.test=t", "OK t" },
	/* the name and its parents in one table before the next table */
	{ "virtual_alias_maps", "a.alias.org",
	  "A:.alias.org=a;B:a.alias.org=b", "OK a" },
	/* virtual_alias_domains = $virtual_alias_maps: the domain itself */
	{ "virtual_alias_maps", "alias.org", "A:alias.org=x", "OK x" },
	{ "virtual_alias_maps", "alias.org", "B:alias.org=y", "OK y" },
	{ "virtual_alias_maps", "alias.org", "", "NOTFOUND" },
	/* mail_addr_find: whole address, user@domain, @domain */
	{ "virtual_mailbox_maps", "john@example.com",
	  "M:john@example.com=example.com/john/", "OK example.com/john/" },
	{ "virtual_mailbox_maps", "john+x@example.com",
	  "M:john@example.com=example.com/john/", "OK example.com/john/" },
	{ "virtual_mailbox_maps", "John+X@Example.COM",
	  "M:john@example.com=example.com/john/", "OK example.com/john/" },
	{ "virtual_mailbox_maps", "john+x@example.com",
	  "M:john+x@example.com=full/;M:john@example.com=bare/", "OK full/" },
	{ "virtual_mailbox_maps", "who@example.com",
	  "M:@example.com=catchall/", "OK catchall/" },
	{ "virtual_mailbox_maps", "who+x@example.com",
	  "M:@example.com=catchall/", "OK catchall/" },
	{ "virtual_mailbox_maps", "who@example.com", "", "NOTFOUND" },
	/* the second table of the list (inline) */
	{ "virtual_mailbox_maps", "static@example.com", "",
	  "OK example.com/static/" },
	{ "virtual_mailbox_maps", "static+x@example.com", "",
	  "OK example.com/static/" },
	/* the first lookup error ends the search, even before a match */
	{ "virtual_mailbox_maps", "john+x@example.com",
	  "M:john+x@example.com!;M:john@example.com=j/", "TEMP" },
	{ "virtual_mailbox_maps", "john+x@example.com",
	  "M:john+x@example.com=j/;M:john@example.com!", "OK j/" },
	{ "virtual_mailbox_maps", "who@example.com", "M:@example.com!",
	  "TEMP" },
	/* no extension split: owner-*, delimiter unset */
	{ "virtual_mailbox_maps", "postmaster+x@example.com",
	  "M:postmaster@example.com=pm/", "OK pm/" },
	{ "virtual_mailbox_maps", "owner-list@example.com",
	  "M:owner@example.com=o/", "NOTFOUND", "-" },
	{ "virtual_mailbox_maps", "john+x@example.com",
	  "M:john@example.com=j/", "NOTFOUND", "" },
	{ "virtual_mailbox_maps", "john-x@example.com",
	  "M:john@example.com=j/", "OK j/", "+-" },
	/* the first delimiter found splits */
	{ "virtual_mailbox_maps", "a-b+c@example.com",
	  "M:a@example.com=a/", "OK a/", "+-" },
	{ "relay_recipient_maps", "u+x@relay.net", "R:u@relay.net=OK",
	  "OK OK" },
	{ "relay_recipient_maps", "u@relay.net", "R:@relay.net=OK", "OK OK" },
	/* the canonical maps: mail_addr_map as cleanup uses it, extensions
	 * propagated for "canonical" */
	{ "canonical_maps", "john+foo@example.com",
	  "C:john@example.com=j@x.net", "OK j+foo@x.net" },
	{ "canonical_maps", "john+foo@example.com",
	  "C:john@example.com=j@x.net", "OK j@x.net", NULL, true },
	{ "canonical_maps", "nobody@example.com", "", "NOTFOUND" },
	{ "recipient_canonical_maps", "who@alias.org",
	  "RC:@alias.org=@example.com", "OK who@example.com" },
	{ "recipient_canonical_maps", "x@example.com", "RC:x@example.com!",
	  "TEMP" },
	/* mail_addr_map: the targets, extension propagated */
	{ "virtual_alias_maps", "john@example.com",
	  "A:john@example.com=j@x.net, k@y.net", "OK j@x.net, k@y.net" },
	{ "virtual_alias_maps", "john+foo@example.com",
	  "A:john@example.com=j@x.net,k@y.net", "OK j+foo@x.net,k+foo@y.net" },
	{ "virtual_alias_maps", "john+foo@example.com",
	  "A:john@example.com=j@x.net, k@y.net",
	  "OK j+foo@x.net,k+foo@y.net" },
	{ "virtual_alias_maps", "john+foo@example.com",
	  "A:john@example.com=j@x.net,k@y.net", "OK j@x.net,k@y.net", NULL,
	  true },
	/* a whole-address match: nothing propagated */
	{ "virtual_alias_maps", "john+foo@example.com",
	  "A:john+foo@example.com=j@x.net", "OK j@x.net" },
	/* the case of the extension is kept, as the key had it */
	{ "virtual_alias_maps", "John+Foo@example.com",
	  "A:john@example.com=j@x.net", "OK j+Foo@x.net" },
	/* a target without a domain: the extension at its end */
	{ "virtual_alias_maps", "john+foo@example.com",
	  "A:john@example.com=localuser", "OK localuser+foo" },
	/* @domain -> @otherdomain keeps the user (case too) */
	{ "virtual_alias_maps", "who@alias.org", "A:@alias.org=@example.com",
	  "OK who@example.com" },
	{ "virtual_alias_maps", "Who@alias.org", "A:@alias.org=@example.com",
	  "OK Who@example.com" },
	{ "virtual_alias_maps", "who+x@alias.org", "A:@alias.org=@example.com",
	  "OK who+x@example.com" },
	/* user@domain -> @other: the extension is cut, then put back */
	{ "virtual_alias_maps", "al+x@example.com",
	  "A:al@example.com=@example.net", "OK al+x@example.net" },
	{ "virtual_alias_maps", "al+x@example.com",
	  "A:al@example.com=@example.net", "OK al@example.net", NULL, true },
	/* a catch-all target: no extension (only user@domain propagates) */
	{ "virtual_alias_maps", "who+x@example.com",
	  "A:@example.com=catch@x.net", "OK catch@x.net" },
	/* the first table decides; the key order before the table order */
	{ "virtual_alias_maps", "john@example.com",
	  "A:john@example.com=a@x;B:john@example.com=b@x", "OK a@x" },
	{ "virtual_alias_maps", "john+x@example.com",
	  "B:john+x@example.com=b@x;A:john@example.com=a@x", "OK b@x" },
	{ "virtual_alias_maps", "who@example.com",
	  "B:who@example.com=b@x;A:@example.com=a@x", "OK b@x" },
	{ "virtual_alias_maps", "who@example.com", "A:who@example.com!",
	  "TEMP" },
	/* quoted local parts: external form in, searched as Postfix does */
	{ "virtual_alias_maps", "\"a b\"@example.com",
	  "A:\"a b\"@example.com=ab@x", "OK ab@x" },
	{ "virtual_alias_maps", "a b@example.com",
	  "A:\"a b\"@example.com=ab@x", "OK ab@x" },
	{ "virtual_alias_maps", "\"a b\"@example.com",
	  "A:a b@example.com=ab@x", "OK ab@x" },
	{ "virtual_alias_maps", "\"a b+e\"@example.com",
	  "A:\"a b\"@example.com=\"c d\"@x", "OK \"c d+e\"@x" },
	{ "virtual_alias_maps", "\"a b\"@alias.org",
	  "A:@alias.org=@example.com", "OK \"a b\"@example.com" },
	/* keys no table can hold */
	{ "virtual_alias_maps", "", "", "NOKEY" },
	{ "virtual_alias_maps", "a\nb@example.com", "", "NOKEY" },
	/* an empty value from a table is Postfix's to reject: as it is */
	{ "virtual_alias_maps", "john+x@example.com",
	  "A:john@example.com=", "OK " },
};

static void
t_need_once(const struct lookup_list *need, char **seen, size_t *nseen)
{
	size_t	 i, j;

	for (i = 0; i < need->n; i++) {
		char	*k = xasprintf("%s|%s", need->v[i].map->name,
		    need->v[i].key);

		ck_assert_msg(need->v[i].map->type == MAP_PGSQL,
		    "asked for a pure lookup %s", k);
		for (j = 0; j < *nseen; j++)
			ck_assert_msg(strcmp(seen[j], k) != 0,
			    "asked twice for %s", k);
		seen[(*nseen)++] = k;
	}
}

START_TEST(search_table)
{
	const struct row *r = &rows[_i];
	struct tfix f;
	struct smap_query q;
	struct smap_answer ans;
	struct lookup_list need;
	struct factset fs;
	enum smap_name n;
	char	*seen[256], got[4096], *v;
	size_t	 nseen = 0, i, rounds = 0;
	enum fact_result res;

	t_fix(&f, r->delim != NULL ? r->delim : "+", !r->no_propagate);
	ck_assert(smap_name_find(r->name, strlen(r->name), &n));
	ck_assert_str_eq(smap_name_str(n), r->name);
	if (smap_query_init(&f.cfg, n, r->key, strlen(r->key), &q) < 0) {
		smap_query_free(&q);
		ck_assert_msg(strcmp(r->expect, "NOKEY") == 0,
		    "row %d: %s %s: key refused", _i, r->name, r->key);
		t_unfix(&f);
		return;
	}
	factset_init(&fs);
	while (smap_decide(&q, &fs, &need, &ans) == ENGINE_NEED) {
		ck_assert_uint_gt(need.n, 0);
		ck_assert_uint_lt(++rounds, T_ROUNDS_MAX);
		t_need_once(&need, seen, &nseen);
		for (i = 0; i < need.n; i++) {
			res = t_db(r->db, need.v[i].map->name, need.v[i].key,
			    &v);
			factset_add(&fs, need.v[i].map, need.v[i].key, res,
			    FACT_SRC_DB, v, res == FACT_UNAVAILABLE ?
			    "db down" : NULL);
			free(v);
		}
	}
	switch (ans.result) {
	case SMAP_FOUND:
		snprintf(got, sizeof(got), "OK %s", ans.value);
		break;
	case SMAP_NOT_FOUND:
		snprintf(got, sizeof(got), "NOTFOUND");
		break;
	case SMAP_FAILED:
		snprintf(got, sizeof(got), "TEMP");
		ck_assert_ptr_nonnull(ans.why);
		break;
	}
	ck_assert_msg(strcmp(got, r->expect) == 0, "row %d: %s \"%s\": "
	    "got \"%s\", want \"%s\"", _i, r->name, r->key, got, r->expect);
	smap_answer_free(&ans);
	factset_free(&fs);
	smap_query_free(&q);
	for (i = 0; i < nseen; i++)
		free(seen[i]);
	t_unfix(&f);
}
END_TEST

/* one round trip: every lookup the search may reach is asked at once */
START_TEST(one_round)
{
	struct tfix f;
	struct smap_query q;
	struct smap_answer ans;
	struct lookup_list need;
	struct factset fs;
	size_t	 i;

	t_fix(&f, "+", true);
	ck_assert_int_eq(smap_query_init(&f.cfg, SMAP_VIRTUAL_ALIAS_MAPS,
	    "a+b@example.com", 15, &q), 0);
	factset_init(&fs);
	ck_assert_int_eq(smap_decide(&q, &fs, &need, &ans), ENGINE_NEED);
	/* 3 keys x 2 tables */
	ck_assert_uint_eq(need.n, 6);
	for (i = 0; i < need.n; i++)
		factset_add(&fs, need.v[i].map, need.v[i].key, FACT_NOT_FOUND,
		    FACT_SRC_DB, NULL, NULL);
	ck_assert_int_eq(smap_decide(&q, &fs, &need, &ans), ENGINE_DONE);
	ck_assert_int_eq(ans.result, SMAP_NOT_FOUND);
	factset_free(&fs);
	smap_query_free(&q);
	t_unfix(&f);
}
END_TEST

/* a value cut by sqlmap (SQLMAP_VALUE_MAX) is never answered */
START_TEST(cut_value)
{
	struct tfix f;
	struct smap_query q;
	struct smap_answer ans;
	struct lookup_list need;
	struct factset fs;
	char	*big = xmalloc(SQLMAP_VALUE_MAX + 1);

	memset(big, 'a', SQLMAP_VALUE_MAX);
	big[SQLMAP_VALUE_MAX] = '\0';
	t_fix(&f, "+", true);
	ck_assert_int_eq(smap_query_init(&f.cfg, SMAP_VIRTUAL_ALIAS_MAPS,
	    "a@example.com", 13, &q), 0);
	factset_init(&fs);
	ck_assert_int_eq(smap_decide(&q, &fs, &need, &ans), ENGINE_NEED);
	factset_add(&fs, f.va[0], "a@example.com", FACT_FOUND, FACT_SRC_DB,
	    big, NULL);
	ck_assert_int_eq(smap_decide(&q, &fs, &need, &ans), ENGINE_DONE);
	ck_assert_int_eq(ans.result, SMAP_FAILED);
	factset_free(&fs);
	smap_query_free(&q);
	t_unfix(&f);
	free(big);
}
END_TEST

START_TEST(names)
{
	enum smap_name n;

	ck_assert(!smap_name_find("virtual_alias_map", 17, &n));
	ck_assert(!smap_name_find("VIRTUAL_ALIAS_MAPS", 18, &n));
	ck_assert(!smap_name_find("", 0, &n));
	ck_assert(smap_name_find("relay_recipient_maps", 20, &n));
	ck_assert_int_eq(n, SMAP_RELAY_RECIPIENT_MAPS);
}
END_TEST

/* unquote_822_local and the extension on each address */
START_TEST(helpers)
{
	static const char *const uq[][2] = {
		{ "\"a b\"@x", "a b@x" },
		{ "a\\ b@x", "a b@x" },
		{ "\"a@b\"@x", "a@b@x" },
		{ "plain@x", "plain@x" },
		{ "@r1,@r2:\"a b\"@x", "@r1,@r2:a b@x" },
		{ "trail\\", "trail" },
		{ "\"unterminated@x", "unterminated@x" },
	};
	static const char *const pr[][2] = {
		{ "a@x", "a+e@x" },
		{ "a@x,b@y", "a+e@x,b+e@y" },
		{ " a@x ,  b@y ", "a+e@x,b+e@y" },
		{ "a@x b@y", "a+e@x,b+e@y" },
		{ "\"c d\"@x", "\"c d+e\"@x" },
		{ "\"c,d\"@x", "\"c,d+e\"@x" },
		{ "local", "local+e" },
		{ ",,", "" },
	};
	size_t	 i;
	char	*s;

	for (i = 0; i < NELEM(uq); i++) {
		s = smap_unquote(uq[i][0]);
		ck_assert_str_eq(s, uq[i][1]);
		free(s);
	}
	for (i = 0; i < NELEM(pr); i++) {
		s = smap_propagate(pr[i][0], "+e");
		ck_assert_str_eq(s, pr[i][1]);
		free(s);
	}
}
END_TEST

static Suite *
smap_suite(void)
{
	Suite	*s = suite_create("smap");
	TCase	*tc = tcase_create("search");

	tcase_add_loop_test(tc, search_table, 0, NELEM(rows));
	tcase_add_test(tc, one_round);
	tcase_add_test(tc, cut_value);
	tcase_add_test(tc, names);
	tcase_add_test(tc, helpers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(smap_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
