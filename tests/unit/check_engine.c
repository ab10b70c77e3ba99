/*
 * check_engine - unit tests for src/core/engine (and map_lookup_pure):
 * one row per Postfix rule, (configuration, recipient, database
 * answers) -> verdict, action and address class.
 *
 * What a mail admin cares about here: that a sender gets exactly the
 * reply native reject_unlisted_recipient would give ("550 5.1.1 User
 * unknown in virtual mailbox table"), for every spelling of an address
 * (case, trailing dot, +extension, quotes, UTF-8); that an alias makes
 * any address valid; that a database failure defers (451 4.3.0) exactly
 * when Postfix would, and never turns into a "User unknown" bounce; and
 * that one pipelined round trip to PostgreSQL is enough.
 *
 * The configuration of a row is written like main.cf values: a list of
 * "example.com" (a domain), "inline:{k=v, k2=v2}", "static:value",
 * "pgsql:NAME" (a fake pgsql map, query ... '%s') or "pgsql:NAME%ud"
 * (query ... '%u' ... '%d'). Maps of the same text in one row are the
 * same map, as "virtual_alias_domains = $virtual_alias_maps" makes them.
 * The row's "db" answers pgsql lookups: "NAME|key|F" (found), "|N" (not
 * found), "|U" (lookup error), separated by ';'; anything not listed is
 * not found. The driver calls engine_decide(), answers what it asks for
 * from "db", and calls again, as dispatch does, checking on the way that
 * the engine never asks for a lookup twice, for a duplicate, or for
 * anything it could answer itself.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/engine.h"
#include "core/fact.h"
#include "core/map.h"
#include "core/sqlmap.h"
#include "util/buf.h"
#include "util/xalloc.h"

/* rows start from a base configuration and override single parameters */
#pragma GCC diagnostic ignored "-Woverride-init"

#define T_MAPS_MAX	64	/* maps in one row */
#define T_ROUNDS_MAX	8	/* engine calls per row, as dispatch */
#define T_TRACE_MAX	4096	/* a rendered trace */
#define T_DB_VALUE	"x"	/* the value of a found row */

/* ------------------------------------------------------------ fixtures */

enum {
	T_SOFT_BOUNCE = 1 << 0,
	T_WARN = 1 << 1,
	T_NO_TABLE_NAME = 1 << 2,
	T_LFA_DUNNO = 1 << 3,
	T_ORS_OFF = 1 << 4,
	T_NO_PARENT = 1 << 5,	/* parent_domain_matches_subdomains
				 * without relay_domains */
	T_NO_UTF8 = 1 << 6	/* smtputf8_enable = no */
};

/* the maps of one row, owned here */
struct tcfg {
	struct engine_cfg cfg;
	struct map *maps[T_MAPS_MAX];
	size_t	 nmaps;
};

static struct sqlmap *
t_sqlmap(const char *name, bool user_domain)
{
	struct sqlmap *sm = xcalloc(1, sizeof(*sm));

	sm->path = xstrdup(name);
	sm->result_format = xstrdup("%s");
	if (user_domain) {
		sm->query_tmpl = xstrdup("SELECT 1 FROM u WHERE local = '%u' "
		    "AND domain = '%d'");
		sm->sql = xstrdup("SELECT 1 FROM u WHERE local = $1 "
		    "AND domain = $2");
		sm->params[0].tmpl = xstrdup("%u");
		sm->params[1].tmpl = xstrdup("%d");
		sm->nparams = 2;
		/* what sqlmap_parse() finds in such a query */
		sm->needs.key_user = true;
		sm->needs.key_domain = true;
	} else {
		sm->query_tmpl = xstrdup("SELECT 1 FROM u WHERE k = '%s'");
		sm->sql = xstrdup("SELECT 1 FROM u WHERE k = $1");
		sm->params[0].tmpl = xstrdup("%s");
		sm->nparams = 1;
	}
	return sm;
}

static void
t_sqlmap_free(struct sqlmap *sm)
{
	size_t	 i;

	for (i = 0; i < sm->nparams; i++)
		free(sm->params[i].tmpl);
	for (i = 0; i < sm->ndomains; i++)
		free(sm->domains[i]);
	free(sm->domains);
	free(sm->path);
	free(sm->result_format);
	free(sm->query_tmpl);
	free(sm->sql);
	free(sm);
}

/* t_inline - "{k=v, k2=v2}": entries split at ',', blanks trimmed */
static void
t_inline(struct map *m, const char *spec)
{
	char	*body, *ent, *save = NULL, *eq, *k, *v;
	size_t	 len = strlen(spec);

	ck_assert(len >= 2 && spec[0] == '{' && spec[len - 1] == '}');
	body = xstrndup(spec + 1, len - 2);
	for (ent = strtok_r(body, ",", &save); ent != NULL;
	    ent = strtok_r(NULL, ",", &save)) {
		eq = strchr(ent, '=');
		ck_assert_ptr_nonnull(eq);
		*eq = '\0';
		for (k = ent; *k == ' '; k++)
			;
		for (v = eq + 1; *v == ' '; v++)
			;
		while (*v != '\0' && v[strlen(v) - 1] == ' ')
			v[strlen(v) - 1] = '\0';
		m->u.inl.kv = xreallocarray(m->u.inl.kv, m->u.inl.n + 1,
		    sizeof(*m->u.inl.kv));
		m->u.inl.kv[m->u.inl.n].key = xstrdup(k);
		m->u.inl.kv[m->u.inl.n].value = xstrdup(v);
		m->u.inl.n++;
	}
	free(body);
}

static struct map *
t_map(struct tcfg *tc, const char *tok)
{
	struct map *m;
	size_t	 i;

	for (i = 0; i < tc->nmaps; i++)
		if (strcmp(tc->maps[i]->name, tok) == 0)
			return tc->maps[i];
	ck_assert_uint_lt(tc->nmaps, T_MAPS_MAX);
	m = xcalloc(1, sizeof(*m));
	m->name = xstrdup(tok);
	m->id = (unsigned)tc->nmaps;
	if (strncmp(tok, "inline:", 7) == 0) {
		m->type = MAP_INLINE;
		t_inline(m, tok + 7);
	} else if (strncmp(tok, "static:", 7) == 0) {
		m->type = MAP_STATIC;
		m->u.static_value = xstrdup(tok + 7);
	} else if (strncmp(tok, "pgsql:", 6) == 0) {
		m->type = MAP_PGSQL;
		m->u.sql = t_sqlmap(tok, strstr(tok, "%ud") != NULL);
		m->u.sql->id = m->id;
	} else {
		m->type = MAP_DOMAIN;
		m->u.domain = xstrdup(tok);
	}
	tc->maps[tc->nmaps++] = m;
	return m;
}

/* t_list - a parameter value: tokens split at blanks, {...} kept whole */
static void
t_list(struct tcfg *tc, struct maplist *ml, const char *param,
    const char *spec)
{
	const char *cp = spec != NULL ? spec : "", *start;
	char	*tok;
	int	 depth;

	ml->param = param;
	ml->v = NULL;
	ml->n = 0;
	while (*cp != '\0') {
		while (*cp == ' ' || *cp == ',')
			cp++;
		if (*cp == '\0')
			break;
		start = cp;
		depth = 0;
		while (*cp != '\0' && (depth > 0 || (*cp != ' ' &&
		    *cp != ','))) {
			if (*cp == '{')
				depth++;
			else if (*cp == '}')
				depth--;
			cp++;
		}
		tok = xstrndup(start, (size_t)(cp - start));
		ml->v = xreallocarray(ml->v, ml->n + 1, sizeof(*ml->v));
		ml->v[ml->n++] = t_map(tc, tok);
		free(tok);
	}
}

static void
t_cfg_free(struct tcfg *tc)
{
	struct maplist *lists[] = { &tc->cfg.mydestination,
	    &tc->cfg.virtual_alias_domains,
	    &tc->cfg.virtual_mailbox_domains, &tc->cfg.relay_domains,
	    &tc->cfg.virtual_alias_maps, &tc->cfg.virtual_mailbox_maps,
	    &tc->cfg.relay_recipient_maps, &tc->cfg.recipient_canonical_maps,
	    &tc->cfg.canonical_maps };
	struct map *m;
	size_t	 i, j;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		free(lists[i]->v);
	for (i = 0; i < tc->nmaps; i++) {
		m = tc->maps[i];
		switch (m->type) {
		case MAP_DOMAIN:
			free(m->u.domain);
			break;
		case MAP_INLINE:
			for (j = 0; j < m->u.inl.n; j++) {
				free(m->u.inl.kv[j].key);
				free(m->u.inl.kv[j].value);
			}
			free(m->u.inl.kv);
			break;
		case MAP_STATIC:
			free(m->u.static_value);
			break;
		case MAP_PGSQL:
			t_sqlmap_free(m->u.sql);
			break;
		case MAP_FILE:
			map_file_free(&m->u.file);
			break;
		}
		free(m->name);
		free(m);
	}
	memset(tc, 0, sizeof(*tc));
}

/* a row's configuration, main.cf style; NULL/0 = Postfix default */
struct tconf {
	const char *vad, *vmd, *rd, *vam, *vmm, *rrm;
	const char *rcm, *cm;	/* recipient_canonical_maps, canonical_maps */
	const char *myd;		/* mydestination; NULL: empty */
	const char *delim;		/* NULL: "+" */
	unsigned flags;
	unsigned alias_code, mbox_code, relay_code;	/* 0: 550 */
	const char *other;		/* NULL: reject_unlisted_recipient */
};

static void
t_cfg(struct tcfg *tc, const struct tconf *c)
{
	struct engine_cfg *e = &tc->cfg;

	memset(tc, 0, sizeof(*tc));
	t_list(tc, &e->mydestination, "mydestination", c->myd);
	t_list(tc, &e->virtual_alias_domains, "virtual_alias_domains",
	    c->vad);
	t_list(tc, &e->virtual_mailbox_domains, "virtual_mailbox_domains",
	    c->vmd);
	t_list(tc, &e->relay_domains, "relay_domains", c->rd);
	t_list(tc, &e->virtual_alias_maps, "virtual_alias_maps", c->vam);
	t_list(tc, &e->virtual_mailbox_maps, "virtual_mailbox_maps", c->vmm);
	t_list(tc, &e->relay_recipient_maps, "relay_recipient_maps", c->rrm);
	t_list(tc, &e->recipient_canonical_maps, "recipient_canonical_maps",
	    c->rcm);
	t_list(tc, &e->canonical_maps, "canonical_maps", c->cm);
	e->relay_domains_parent = !(c->flags & T_NO_PARENT);
	e->addr.utf8 = !(c->flags & T_NO_UTF8);
	e->addr.recipient_delimiter = c->delim != NULL ? c->delim : "+";
	e->addr.owner_request_special = !(c->flags & T_ORS_OFF);
	e->addr.double_bounce_sender = "double-bounce";
	e->unknown_virtual_alias_reject_code = c->alias_code ?
	    c->alias_code : 550;
	e->unknown_virtual_mailbox_reject_code = c->mbox_code ?
	    c->mbox_code : 550;
	e->unknown_relay_recipient_reject_code = c->relay_code ?
	    c->relay_code : 550;
	e->show_user_unknown_table_name = !(c->flags & T_NO_TABLE_NAME);
	e->soft_bounce = (c->flags & T_SOFT_BOUNCE) != 0;
	e->warn_if_reject = (c->flags & T_WARN) != 0;
	e->lookup_failure_action = (c->flags & T_LFA_DUNNO) ? LFA_DUNNO :
	    LFA_DEFER;
	e->other_domain_action = c->other != NULL ? c->other :
	    "reject_unlisted_recipient";
}

/* t_db - the answer of the row's fake database for (map, key) */
static enum fact_result
t_db(const char *db, const struct map *m, const char *key)
{
	const char *name = m->name + strlen("pgsql:");
	const char *cp = db != NULL ? db : "", *end, *bar1, *bar2;
	size_t	 nlen = strlen(name), klen = strlen(key);

	while (*cp != '\0') {
		end = strchr(cp, ';');
		if (end == NULL)
			end = cp + strlen(cp);
		bar1 = memchr(cp, '|', (size_t)(end - cp));
		ck_assert_ptr_nonnull(bar1);
		bar2 = memchr(bar1 + 1, '|', (size_t)(end - bar1 - 1));
		ck_assert_ptr_nonnull(bar2);
		if ((size_t)(bar1 - cp) == nlen &&
		    memcmp(cp, name, nlen) == 0 &&
		    (size_t)(bar2 - bar1 - 1) == klen &&
		    memcmp(bar1 + 1, key, klen) == 0) {
			switch (bar2[1]) {
			case 'F':
				return FACT_FOUND;
			case 'N':
				return FACT_NOT_FOUND;
			case 'U':
				return FACT_UNAVAILABLE;
			default:
				ck_abort_msg("bad db entry");
			}
		}
		cp = *end == ';' ? end + 1 : end;
	}
	return FACT_NOT_FOUND;
}

/* t_key_of - the lookup key is one the address produced */
static bool
t_key_of(const struct addr *a, const char *key)
{
	size_t	 i;

	/* the domain, or a parent domain of it (a suffix) */
	if (key >= a->domain && key < a->domain + strlen(a->domain))
		return true;
	for (i = 0; i < a->nkeys; i++)
		if (key == a->keys[i].key)
			return true;
	return false;
}

/*
 * t_check_need - what every need list must satisfy: nothing known
 * already, nothing pure, no duplicates, keys borrowed from the address.
 */
static void
t_check_need(const struct lookup_list *need, const struct factset *fs,
    const struct addr *a)
{
	enum fact_result r;
	const char *val;
	size_t	 i, j;

	ck_assert_uint_gt(need->n, 0);
	ck_assert_uint_le(need->n, ENGINE_LOOKUPS_MAX);
	for (i = 0; i < need->n; i++) {
		ck_assert_msg(factset_get(fs, need->v[i].map,
		    need->v[i].key) == NULL, "asked again: %s %s",
		    need->v[i].map->name, need->v[i].key);
		ck_assert_msg(!map_lookup_pure(need->v[i].map,
		    need->v[i].key, &r, &val), "asked for a pure lookup: %s %s",
		    need->v[i].map->name, need->v[i].key);
		ck_assert_msg(t_key_of(a, need->v[i].key), "foreign key %s",
		    need->v[i].key);
		for (j = 0; j < i; j++)
			ck_assert_msg(need->v[j].map != need->v[i].map ||
			    strcmp(need->v[j].key, need->v[i].key) != 0,
			    "duplicate: %s %s", need->v[i].map->name,
			    need->v[i].key);
	}
}

/* t_trace - "param map key=result; ..." */
static void
t_trace(const struct trace *tr, char *out, size_t size)
{
	size_t	 i, len = 0;

	out[0] = '\0';
	for (i = 0; i < tr->n; i++) {
		len += (size_t)snprintf(out + len, size - len, "%s%s %s %s=%s",
		    i ? "; " : "", tr->v[i].param, tr->v[i].map->name,
		    tr->v[i].key, fact_result_name(tr->v[i].result));
		ck_assert_uint_lt(len, size);
	}
}

/*
 * t_check_remembered - what the decision cache would answer for this
 * decision (its kind and class, through engine_verdict()) is the very
 * same reply: every row of the rule table checks it (failures are not
 * remembered)
 */
static void
t_check_remembered(const struct engine_cfg *cfg, const struct verdict *v)
{
	struct verdict r;

	/* a failure is never remembered (server/dispatch.c) */
	if (v->kind == VERDICT_FAILURE)
		return;
	engine_verdict(cfg, v->kind, v->dclass, &r);
	ck_assert_int_eq(r.kind, v->kind);
	ck_assert_int_eq(r.dclass, v->dclass);
	ck_assert_str_eq(r.action, v->action);
	ck_assert_uint_eq(r.code, v->code);
	ck_assert_str_eq(r.dsn, v->dsn);
	ck_assert_str_eq(r.text, v->text);
	ck_assert_int_eq(r.warn_only, v->warn_only);
}

/*
 * t_run - drive the engine as dispatch does; returns the number of
 * engine_decide() calls. fs is left filled for the caller to free.
 */
static unsigned
t_run(const struct engine_cfg *cfg, const struct addr *a, const char *db,
    struct factset *fs, struct verdict *v, struct trace *tr)
{
	struct lookup_list need;
	unsigned calls;
	size_t	 i;

	for (calls = 1; calls <= T_ROUNDS_MAX; calls++) {
		if (engine_decide(cfg, a, fs, &need, v, tr) == ENGINE_DONE) {
			t_check_remembered(cfg, v);
			return calls;
		}
		t_check_need(&need, fs, a);
		for (i = 0; i < need.n; i++)
			factset_add(fs, need.v[i].map, need.v[i].key,
			    t_db(db, need.v[i].map, need.v[i].key),
			    FACT_SRC_DB,
			    t_db(db, need.v[i].map, need.v[i].key) ==
			    FACT_FOUND ? T_DB_VALUE : NULL,
			    t_db(db, need.v[i].map, need.v[i].key) ==
			    FACT_UNAVAILABLE ? "connection refused" : NULL);
	}
	ck_abort_msg("engine did not converge");
	return 0;
}

/* ------------------------------------------------------- the rule table */

struct eng_case {
	const char *name;
	struct tconf conf;
	const char *rcpt;
	const char *db;
	/* expected */
	enum verdict_kind kind;
	enum domain_class dc;
	const char *action;
	const char *reply;	/* "code dsn text" (warn_only rows); NULL */
	const char *trace;	/* the whole trace; NULL: not checked */
};

/* an ISPmail-like setup with tables written inline */
#define MBOX_DOMS	"example.com b\xc3\xbc" "cher.example"
#define MBOX_MAPS	"inline:{user@example.com=1, \"a b\"@example.com=1, " \
			"c d@example.com=1, owner@example.com=1, " \
			"list@example.com=1, mailer@example.com=1, " \
			"j\xc3\xb6rg@b\xc3\xbc" "cher.example=1}"
#define ALIAS_MAPS	"inline:{alias@example.com=user@example.com, " \
			"postmaster@example.com=user@example.com, " \
			"known@alias.example=user@example.com, " \
			"@catchall.example=user@example.com}"
#define BASE		.vad = "alias.example catchall.example canon.example", \
			.vmd = MBOX_DOMS, .rd = "relay.example", \
			.vam = ALIAS_MAPS, .vmm = MBOX_MAPS, \
			.rrm = "inline:{known@relay.example=OK}"
/* the same with PostgreSQL, virtual_alias_domains = $virtual_alias_maps */
#define PG		.vad = "pgsql:A1 pgsql:A2", .vmd = "pgsql:D", \
			.vam = "pgsql:A1 pgsql:A2", .vmm = "pgsql:M"
#define PG_DOM		"D|example.com|F"
/* keys as Postfix stores them with smtputf8_enable: case-folded */
#define FOLD_MAPS	"inline:{strasse@example.com=1, " \
			"j\xc3\xb6rg@example.com=1}"
#define CANON_MAPS	"inline:{canon@example.com=user@example.com, " \
			"canon@alias.example=user@example.com, " \
			"canon@relay.example=user@example.com, " \
			"canon@elsewhere.example=user@example.com, " \
			"@canon.example=@example.com}"

#define UNK_MBOX	"550 5.1.1 User unknown in virtual mailbox table"
#define UNK_ALIAS	"550 5.1.1 User unknown in virtual alias table"
#define UNK_RELAY	"550 5.1.1 User unknown in relay recipient table"
#define TEMPFAIL	"451 4.3.0 Temporary lookup failure"
/* reject_server_error(): an empty lookup result (DICT_ERR_CONFIG) */
#define CONFERR		"451 4.3.5 Server configuration error"
#define RUR		"reject_unlisted_recipient"
#define T_LABEL63	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
			"aaaaaaaaaaaa"
#define T_LABEL64	T_LABEL63 "a"

static const struct eng_case eng_cases[] = {
	/* mailbox domain basics */
	{ "mailbox user", { BASE }, "user@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "case variants", { BASE }, "USER@Example.COM", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "trailing dot", { BASE }, "user@example.com.", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "two trailing dots: not our domain", { BASE },
	  "user@example.com..", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "unknown user", { BASE }, "nosuch@example.com", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },
	{ "+ext finds user", { BASE }, "user+ext@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "+ with empty extension", { BASE }, "user+@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "unknown+user is unknown", { BASE }, "nosuch+user@example.com",
	  NULL, VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },
	{ "empty local part before + not split", { BASE },
	  "+user@example.com", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },
	{ "delimiter '+': user-foo unknown", { BASE },
	  "user-foo@example.com", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },
	{ "delimiter set '+-': user-foo valid", { BASE, .delim = "+-" },
	  "user-foo@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "delimiter set '+-': user+a-b valid", { BASE, .delim = "+-" },
	  "user+a-b@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "owner-list not split", { BASE, .delim = "-" },
	  "owner-list@example.com", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },
	{ "owner-list split without owner_request_special",
	  { BASE, .delim = "-", .flags = T_ORS_OFF },
	  "owner-list@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "list-request not split", { BASE, .delim = "+-" },
	  "list-request@example.com", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },
	{ "list-request split without owner_request_special",
	  { BASE, .delim = "+-", .flags = T_ORS_OFF },
	  "list-request@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "owner- special only when '-' delimits", { BASE, .delim = "+" },
	  "owner+x@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "MAILER-DAEMON not split", { BASE, .delim = "-" },
	  "MAILER-DAEMON@example.com", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },
	{ "postmaster via alias", { BASE }, "PostMaster@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "postmaster+ext split, found via alias", { BASE },
	  "postmaster+ext@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "no postmaster exemption in virtual domains",
	  { BASE, .vam = "" }, "postmaster@example.com", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },
	{ "alias-only address in a mailbox domain", { BASE },
	  "Alias@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "alias+ext in a mailbox domain", { BASE },
	  "alias+x@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "catch-all @domain in virtual_alias_maps", { BASE },
	  "anything+x@catchall.example", NULL,
	  VERDICT_VALID, DC_ALIAS, "DUNNO", NULL, NULL },
	{ "catch-all @domain in virtual_mailbox_maps",
	  { BASE, .vmm = "inline:{@example.com=1}" },
	  "anyone@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "quoted local part stored quoted", { BASE },
	  "A B@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "quoted local part stored unquoted", { BASE },
	  "c d@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "quoted local part, +ext, stored quoted", { BASE },
	  "a b+x@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "UTF-8 upper case", { BASE },
	  "J\xc3\x96RG@B\xc3\x9c" "CHER.EXAMPLE", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "UTF-8 lower case", { BASE },
	  "j\xc3\xb6rg@b\xc3\xbc" "cher.example", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "UTF-8 unknown", { BASE },
	  "j\xc3\xbcrg@b\xc3\xbc" "cher.example", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },

	/* case folding as Postfix casefold() (measured with Postfix 3.7,
	 * texthash: tables, tests/e2e canon.utf8-*): smtputf8_enable = yes
	 * folds as Unicode, fully (ß -> ss); no folds A-Z only */
	{ "UTF-8: full case folding, sharp s", { BASE, .vmm = FOLD_MAPS },
	  "Stra\xc3\x9f" "e@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "UTF-8: full case folding, capital sharp s",
	  { BASE, .vmm = FOLD_MAPS }, "STRA\xe1\xba\x9e" "E@example.com",
	  NULL, VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "UTF-8: upper-case local part folded", { BASE, .vmm = FOLD_MAPS },
	  "J\xc3\x96RG@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "smtputf8_enable = no: A-Z folded only",
	  { BASE, .vmm = FOLD_MAPS, .flags = T_NO_UTF8 },
	  "J\xc3\x96RG@example.com", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },
	{ "smtputf8_enable = no: lower-case UTF-8 found",
	  { BASE, .vmm = FOLD_MAPS, .flags = T_NO_UTF8 },
	  "j\xc3\xb6rg@EXAMPLE.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "smtputf8_enable = no: no sharp s folding",
	  { BASE, .vmm = FOLD_MAPS, .flags = T_NO_UTF8 },
	  "stra\xc3\x9f" "e@example.com", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },
	{ "smtputf8_enable = no: a non-ASCII domain is no host name",
	  { BASE, .flags = T_NO_UTF8 },
	  "j\xc3\xb6rg@b\xc3\xbc" "cher.example", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "smtputf8_enable = no: bytes that are not UTF-8 are looked up",
	  { PG, .flags = T_NO_UTF8 }, "US\xff" "ER@example.com", PG_DOM,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },

	/* alias and relay domains, empty class tables */
	{ "alias domain, alias entry", { BASE }, "Known@alias.example",
	  NULL, VERDICT_VALID, DC_ALIAS, "DUNNO", NULL, NULL },
	{ "alias domain, no alias entry", { BASE }, "nosuch@alias.example",
	  NULL, VERDICT_UNKNOWN, DC_ALIAS, UNK_ALIAS, NULL, NULL },
	{ "alias class beats mailbox class",
	  { BASE, .vad = "example.com" }, "user@example.com", NULL,
	  VERDICT_UNKNOWN, DC_ALIAS, UNK_ALIAS, NULL, NULL },
	{ "mailbox class beats relay class",
	  { BASE, .rd = "example.com" }, "nosuch@example.com", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },
	/* resolve_local() comes first: a local domain is Postfix's own
	 * check (local_recipient_maps), whatever else lists it */
	{ "local class beats mailbox class",
	  { BASE, .myd = "example.com" }, "nosuch@example.com", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "local class beats alias class",
	  { BASE, .myd = "alias.example" }, "nosuch@alias.example", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	/* compatibility_level < 2: relay_domains = $mydestination */
	{ "local class beats relay class",
	  { BASE, .myd = "relay.example", .rd = "relay.example" },
	  "nosuch@relay.example", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "mydestination is a string_list: no parent match",
	  { BASE, .myd = "relay.example" }, "nosuch@sub.relay.example", NULL,
	  VERDICT_UNKNOWN, DC_RELAY, UNK_RELAY, NULL, NULL },
	{ "mydestination as a table",
	  { BASE, .myd = "inline:{example.com=1}" }, "user@example.com",
	  NULL, VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "mydestination lookup fails: 451",
	  { PG, .myd = "pgsql:L" }, "user@example.com", "L|example.com|U",
	  VERDICT_FAILURE, DC_NONE, TEMPFAIL, NULL, NULL },
	{ "mydestination not matching: the other classes",
	  { PG, .myd = "pgsql:L" }, "user@example.com",
	  "L|example.com|N;" PG_DOM ";A1|user@example.com|N;"
	  "A2|user@example.com|N;M|user@example.com|F",
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "relay domain, known", { BASE }, "known@relay.example", NULL,
	  VERDICT_VALID, DC_RELAY, "DUNNO", NULL, NULL },
	{ "relay domain, unknown", { BASE }, "nosuch@relay.example", NULL,
	  VERDICT_UNKNOWN, DC_RELAY, UNK_RELAY, NULL, NULL },
	{ "relay domain, empty relay_recipient_maps", { BASE, .rrm = "" },
	  "nosuch@relay.example", NULL,
	  VERDICT_VALID, DC_RELAY, "DUNNO", NULL, NULL },
	{ "mailbox domain, empty virtual_mailbox_maps", { BASE, .vmm = "" },
	  "nosuch@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "static: map", { BASE, .vmm = "static:yes" },
	  "anyone@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	/* maps_find(): "returns an empty string result" is a lookup
	 * error (dict_inline.c keeps "k=" as an empty value); smtpd
	 * check_mail_addr_find() answers reject_server_error() */
	{ "inline: empty value is a configuration error",
	  { BASE, .vmm = "inline:{user@example.com=}" },
	  "user@example.com", NULL,
	  VERDICT_FAILURE, DC_MAILBOX, CONFERR, NULL, NULL },
	{ "inline: empty value in virtual_alias_maps",
	  { BASE, .vam = "inline:{user@example.com=}" },
	  "user@example.com", NULL,
	  VERDICT_FAILURE, DC_MAILBOX, CONFERR, NULL, NULL },
	{ "inline: empty value after a match is never reached",
	  { BASE, .vam = "static:x, inline:{user@example.com=}" },
	  "user@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "inline: empty value in *_domains is a match",
	  { BASE, .vmd = "inline:{example.org=}" },
	  "nosuch@example.org", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },

	/* not handled here */
	{ "other domain", { BASE }, "user@elsewhere.example", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "no parent-domain match", { BASE }, "user@sub.example.com", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "IP literal, even if listed",
	  { BASE, .vmd = "[192.0.2.1]", .vmm = "static:1" },
	  "user@[192.0.2.1]", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "IPv6 literal", { BASE }, "user@[IPv6:2001:db8::1]", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "no domain", { BASE }, "user", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "bare postmaster", { BASE }, "postmaster", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "empty domain", { BASE }, "user@", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "other_domain_action DUNNO", { BASE, .other = "DUNNO" },
	  "user@elsewhere.example", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, "DUNNO", NULL, NULL },
	{ "other_domain_action reject_unauth_destination",
	  { BASE, .other = "reject_unauth_destination" },
	  "user", NULL, VERDICT_NOT_HANDLED, DC_OTHER,
	  "reject_unauth_destination", NULL, NULL },
	{ "numeric domain is no host name (no lookup)",
	  { PG }, "user@123", "D|123|F;A1|123|U",
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, "" },
	{ "bad characters in the domain (no lookup)",
	  { PG }, "user@exa mple.com", "D|exa mple.com|F",
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, "" },
	{ "label longer than 63 bytes (no lookup)", { PG },
	  "user@" T_LABEL64 ".example", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, "" },
	{ "63-byte label and '_' are a host name",
	  { .vmd = T_LABEL63 ".my_host.example", .vmm = "static:1" },
	  "user@" T_LABEL63 ".my_host.example", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "invalid UTF-8 (no lookup)",
	  { PG }, "us\xff" "er@example.com", PG_DOM,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, "" },

	/* replies: codes, soft_bounce, warn_if_reject, table names */
	{ "soft_bounce, mailbox", { BASE, .flags = T_SOFT_BOUNCE },
	  "nosuch@example.com", NULL, VERDICT_UNKNOWN, DC_MAILBOX,
	  "450 4.1.1 User unknown in virtual mailbox table", NULL, NULL },
	{ "soft_bounce, alias", { BASE, .flags = T_SOFT_BOUNCE },
	  "nosuch@alias.example", NULL, VERDICT_UNKNOWN, DC_ALIAS,
	  "450 4.1.1 User unknown in virtual alias table", NULL, NULL },
	{ "soft_bounce leaves valid alone", { BASE, .flags = T_SOFT_BOUNCE },
	  "user@example.com", NULL, VERDICT_VALID, DC_MAILBOX, "DUNNO",
	  NULL, NULL },
	{ "warn_if_reject", { BASE, .flags = T_WARN },
	  "nosuch@example.com", NULL, VERDICT_UNKNOWN, DC_MAILBOX, "DUNNO",
	  UNK_MBOX, NULL },
	{ "warn_if_reject, soft_bounce",
	  { BASE, .flags = T_WARN | T_SOFT_BOUNCE },
	  "nosuch@relay.example", NULL, VERDICT_UNKNOWN, DC_RELAY, "DUNNO",
	  "450 4.1.1 User unknown in relay recipient table", NULL },
	{ "show_user_unknown_table_name = no, mailbox",
	  { BASE, .flags = T_NO_TABLE_NAME }, "nosuch@example.com", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX, "550 5.1.1 User unknown", NULL,
	  NULL },
	{ "show_user_unknown_table_name = no, alias",
	  { BASE, .flags = T_NO_TABLE_NAME }, "nosuch@alias.example", NULL,
	  VERDICT_UNKNOWN, DC_ALIAS, "550 5.1.1 User unknown", NULL, NULL },
	{ "show_user_unknown_table_name = no, relay",
	  { BASE, .flags = T_NO_TABLE_NAME }, "nosuch@relay.example", NULL,
	  VERDICT_UNKNOWN, DC_RELAY, "550 5.1.1 User unknown", NULL, NULL },
	{ "unknown_virtual_mailbox_reject_code = 551",
	  { BASE, .mbox_code = 551 }, "nosuch@example.com", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX,
	  "551 5.1.1 User unknown in virtual mailbox table", NULL, NULL },
	{ "unknown_virtual_alias_reject_code = 450: DSN follows",
	  { BASE, .alias_code = 450 }, "nosuch@alias.example", NULL,
	  VERDICT_UNKNOWN, DC_ALIAS,
	  "450 4.1.1 User unknown in virtual alias table", NULL, NULL },
	{ "unknown_relay_recipient_reject_code = 554",
	  { BASE, .relay_code = 554 }, "nosuch@relay.example", NULL,
	  VERDICT_UNKNOWN, DC_RELAY,
	  "554 5.1.1 User unknown in relay recipient table", NULL, NULL },
	{ "551 with soft_bounce", { BASE, .mbox_code = 551,
	  .flags = T_SOFT_BOUNCE }, "nosuch@example.com", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX,
	  "451 4.1.1 User unknown in virtual mailbox table", NULL, NULL },
	{ "reply code out of range", { BASE, .mbox_code = 250 },
	  "nosuch@example.com", NULL, VERDICT_UNKNOWN, DC_MAILBOX,
	  "450 4.7.1 Service unavailable", NULL, NULL },

	/* PostgreSQL: order of the walk, and lookup errors */
	{ "ISPmail: the whole walk", { PG }, "user+x@example.com",
	  PG_DOM ";M|user@example.com|F",
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL,
	  "virtual_alias_domains pgsql:A1 example.com=not_found; "
	  "virtual_alias_domains pgsql:A2 example.com=not_found; "
	  "virtual_mailbox_domains pgsql:D example.com=found; "
	  "virtual_alias_maps pgsql:A1 user+x@example.com=not_found; "
	  "virtual_alias_maps pgsql:A2 user+x@example.com=not_found; "
	  "virtual_alias_maps pgsql:A1 user@example.com=not_found; "
	  "virtual_alias_maps pgsql:A2 user@example.com=not_found; "
	  "virtual_alias_maps pgsql:A1 @example.com=not_found; "
	  "virtual_alias_maps pgsql:A2 @example.com=not_found; "
	  "virtual_mailbox_maps pgsql:M user+x@example.com=not_found; "
	  "virtual_mailbox_maps pgsql:M user@example.com=found" },
	{ "ISPmail: quoted key first, then unquoted", { PG },
	  "c d@example.com", PG_DOM ";A2|c d@example.com|F",
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL,
	  "virtual_alias_domains pgsql:A1 example.com=not_found; "
	  "virtual_alias_domains pgsql:A2 example.com=not_found; "
	  "virtual_mailbox_domains pgsql:D example.com=found; "
	  "virtual_alias_maps pgsql:A1 \"c d\"@example.com=not_found; "
	  "virtual_alias_maps pgsql:A2 \"c d\"@example.com=not_found; "
	  "virtual_alias_maps pgsql:A1 c d@example.com=not_found; "
	  "virtual_alias_maps pgsql:A2 c d@example.com=found" },
	{ "ISPmail: unknown", { PG }, "nosuch@example.com", PG_DOM,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },
	{ "ISPmail: alias domain via $virtual_alias_maps", { PG },
	  "nosuch@alias.example", "A2|alias.example|F",
	  VERDICT_UNKNOWN, DC_ALIAS, UNK_ALIAS, NULL,
	  "virtual_alias_domains pgsql:A1 alias.example=not_found; "
	  "virtual_alias_domains pgsql:A2 alias.example=found; "
	  "virtual_alias_maps pgsql:A1 nosuch@alias.example=not_found; "
	  "virtual_alias_maps pgsql:A2 nosuch@alias.example=not_found; "
	  "virtual_alias_maps pgsql:A1 @alias.example=not_found; "
	  "virtual_alias_maps pgsql:A2 @alias.example=not_found" },
	{ "error in map 1 hides a match in map 2", { PG },
	  "user@example.com",
	  PG_DOM ";A1|user@example.com|U;A2|user@example.com|F",
	  VERDICT_FAILURE, DC_MAILBOX, TEMPFAIL, NULL,
	  "virtual_alias_domains pgsql:A1 example.com=not_found; "
	  "virtual_alias_domains pgsql:A2 example.com=not_found; "
	  "virtual_mailbox_domains pgsql:D example.com=found; "
	  "virtual_alias_maps pgsql:A1 user@example.com=unavailable" },
	{ "match in map 1 before an error in map 2", { PG },
	  "user@example.com",
	  PG_DOM ";A1|user@example.com|F;A2|user@example.com|U",
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "match on user@ before an error on @domain", { PG },
	  "user+x@example.com",
	  PG_DOM ";A2|user@example.com|F;A1|@example.com|U",
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "error on user+x@ before a match on user@", { PG },
	  "user+x@example.com",
	  PG_DOM ";A2|user+x@example.com|U;A1|user@example.com|F",
	  VERDICT_FAILURE, DC_MAILBOX, TEMPFAIL, NULL, NULL },
	{ "error on @domain, nothing found before", { PG },
	  "user@example.com", PG_DOM ";A2|@example.com|U;M|user@example.com|F",
	  VERDICT_FAILURE, DC_MAILBOX, TEMPFAIL, NULL, NULL },
	{ "alias maps error before a mailbox match", { PG },
	  "user@example.com", PG_DOM ";A2|user@example.com|U;"
	  "M|user@example.com|F",
	  VERDICT_FAILURE, DC_MAILBOX, TEMPFAIL, NULL, NULL },
	{ "mailbox maps: error in map 1 hides map 2",
	  { PG, .vmm = "pgsql:M1 pgsql:M2" }, "user@example.com",
	  PG_DOM ";M1|user@example.com|U;M2|user@example.com|F",
	  VERDICT_FAILURE, DC_MAILBOX, TEMPFAIL, NULL, NULL },
	{ "mailbox maps: match in map 1 before an error in map 2",
	  { PG, .vmm = "pgsql:M1 pgsql:M2" }, "user@example.com",
	  PG_DOM ";M1|user@example.com|F;M2|user@example.com|U",
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "mailbox maps: catch-all after an error", { PG },
	  "user@example.com",
	  PG_DOM ";M|user@example.com|U;M|@example.com|F",
	  VERDICT_FAILURE, DC_MAILBOX, TEMPFAIL, NULL, NULL },
	{ "domain class: alias domain lookup fails", { PG },
	  "user@example.com", PG_DOM ";A1|example.com|U",
	  VERDICT_FAILURE, DC_NONE, TEMPFAIL, NULL,
	  "virtual_alias_domains pgsql:A1 example.com=unavailable" },
	{ "domain class: mailbox domain lookup fails", { PG },
	  "user@example.com", "D|example.com|U;A1|user@example.com|F",
	  VERDICT_FAILURE, DC_NONE, TEMPFAIL, NULL, NULL },
	{ "domain class: alias domain found before a failing list",
	  { PG }, "user@example.com",
	  "A1|example.com|F;D|example.com|U",
	  VERDICT_UNKNOWN, DC_ALIAS, UNK_ALIAS, NULL, NULL },
	{ "domain list: error before a listed name",
	  { PG, .vmd = "pgsql:D example.com" }, "user@example.com",
	  "D|example.com|U", VERDICT_FAILURE, DC_NONE, TEMPFAIL, NULL,
	  NULL },
	{ "domain list: listed name before a failing table",
	  { PG, .vmd = "example.com pgsql:D", .vmm = "static:1" },
	  "user@example.com", "D|example.com|U",
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "relay_domains lookup fails",
	  { PG, .rd = "pgsql:R", .rrm = "pgsql:RR" }, "user@relay.example",
	  "R|relay.example|U", VERDICT_FAILURE, DC_NONE, TEMPFAIL, NULL,
	  NULL },
	{ "relay_recipient_maps lookup fails",
	  { PG, .rd = "pgsql:R", .rrm = "pgsql:RR" }, "user@relay.example",
	  "R|relay.example|F;RR|user@relay.example|U",
	  VERDICT_FAILURE, DC_RELAY, TEMPFAIL, NULL, NULL },
	{ "relay via pgsql, unknown",
	  { PG, .rd = "pgsql:R", .rrm = "pgsql:RR" }, "user@relay.example",
	  "R|relay.example|F", VERDICT_UNKNOWN, DC_RELAY, UNK_RELAY, NULL,
	  NULL },
	{ "lookup_failure_action = dunno", { PG, .flags = T_LFA_DUNNO },
	  "user@example.com", "D|example.com|U",
	  VERDICT_FAILURE, DC_NONE, "DUNNO", NULL, NULL },
	{ "warn_if_reject does not soften a lookup failure",
	  { PG, .flags = T_WARN | T_SOFT_BOUNCE }, "user@example.com",
	  PG_DOM ";A1|user@example.com|U",
	  VERDICT_FAILURE, DC_MAILBOX, TEMPFAIL, NULL, NULL },
	{ "%u/%d query: @domain never asked",
	  { PG, .vmm = "pgsql:M%ud" }, "nosuch@example.com", PG_DOM,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },
	{ "%u/%d query: valid",
	  { PG, .vmm = "pgsql:M%ud" }, "User+x@Example.com",
	  PG_DOM ";M%ud|user@example.com|F",
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "virtual_mailbox_maps shares a map with virtual_alias_maps",
	  { PG, .vmm = "pgsql:A2" }, "nosuch@example.com", PG_DOM,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },

	/* canonical maps: a match makes the recipient valid in any class
	 * (smtpd_check.c: check_rcpt_maps), before virtual_alias_maps */
	{ "recipient_canonical_maps: valid in a mailbox domain",
	  { BASE, .rcm = CANON_MAPS }, "Canon@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "canonical_maps: valid in a mailbox domain",
	  { BASE, .cm = CANON_MAPS }, "canon@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "canonical_maps: user+ext@ found by user@",
	  { BASE, .cm = CANON_MAPS }, "canon+ext@example.com", NULL,
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "canonical_maps: valid in a virtual alias domain",
	  { BASE, .cm = CANON_MAPS }, "canon@alias.example", NULL,
	  VERDICT_VALID, DC_ALIAS, "DUNNO", NULL, NULL },
	{ "recipient_canonical_maps: @domain, alias domain",
	  { BASE, .rcm = CANON_MAPS }, "anyone@canon.example", NULL,
	  VERDICT_VALID, DC_ALIAS, "DUNNO", NULL, NULL },
	{ "canonical_maps: valid in a relay domain",
	  { BASE, .cm = CANON_MAPS }, "canon@relay.example", NULL,
	  VERDICT_VALID, DC_RELAY, "DUNNO", NULL, NULL },
	{ "canonical_maps: not our domain, not handled",
	  { BASE, .cm = CANON_MAPS }, "canon@elsewhere.example", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "canonical maps set, known by neither",
	  { BASE, .rcm = CANON_MAPS, .cm = CANON_MAPS },
	  "nosuch@example.com", NULL,
	  VERDICT_UNKNOWN, DC_MAILBOX, UNK_MBOX, NULL, NULL },
	{ "canonical maps set, unknown in an alias domain",
	  { BASE, .rcm = CANON_MAPS }, "nosuch@alias.example", NULL,
	  VERDICT_UNKNOWN, DC_ALIAS, UNK_ALIAS, NULL, NULL },
	{ "canonical maps: the whole walk, in Postfix's order",
	  { PG, .rcm = "pgsql:RC", .cm = "pgsql:C" }, "user@example.com",
	  PG_DOM ";M|user@example.com|F",
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL,
	  "virtual_alias_domains pgsql:A1 example.com=not_found; "
	  "virtual_alias_domains pgsql:A2 example.com=not_found; "
	  "virtual_mailbox_domains pgsql:D example.com=found; "
	  "recipient_canonical_maps pgsql:RC user@example.com=not_found; "
	  "recipient_canonical_maps pgsql:RC @example.com=not_found; "
	  "canonical_maps pgsql:C user@example.com=not_found; "
	  "canonical_maps pgsql:C @example.com=not_found; "
	  "virtual_alias_maps pgsql:A1 user@example.com=not_found; "
	  "virtual_alias_maps pgsql:A2 user@example.com=not_found; "
	  "virtual_alias_maps pgsql:A1 @example.com=not_found; "
	  "virtual_alias_maps pgsql:A2 @example.com=not_found; "
	  "virtual_mailbox_maps pgsql:M user@example.com=found" },
	{ "canonical maps: a match ends the walk",
	  { PG, .rcm = "pgsql:RC", .cm = "pgsql:C" }, "user+x@example.com",
	  PG_DOM ";C|user@example.com|F",
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL,
	  "virtual_alias_domains pgsql:A1 example.com=not_found; "
	  "virtual_alias_domains pgsql:A2 example.com=not_found; "
	  "virtual_mailbox_domains pgsql:D example.com=found; "
	  "recipient_canonical_maps pgsql:RC user+x@example.com=not_found; "
	  "recipient_canonical_maps pgsql:RC user@example.com=not_found; "
	  "recipient_canonical_maps pgsql:RC @example.com=not_found; "
	  "canonical_maps pgsql:C user+x@example.com=not_found; "
	  "canonical_maps pgsql:C user@example.com=found" },
	{ "recipient_canonical_maps error hides an alias",
	  { PG, .rcm = "pgsql:RC" }, "user@example.com",
	  PG_DOM ";RC|@example.com|U;A1|user@example.com|F",
	  VERDICT_FAILURE, DC_MAILBOX, TEMPFAIL, NULL, NULL },
	{ "canonical_maps error hides a mailbox",
	  { PG, .cm = "pgsql:C" }, "user@example.com",
	  PG_DOM ";C|user@example.com|U;M|user@example.com|F",
	  VERDICT_FAILURE, DC_MAILBOX, TEMPFAIL, NULL, NULL },
	{ "canonical match before an alias maps error",
	  { PG, .cm = "pgsql:C" }, "user@example.com",
	  PG_DOM ";C|user@example.com|F;A1|user@example.com|U",
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },
	{ "recipient_canonical_maps match before a canonical_maps error",
	  { PG, .rcm = "pgsql:RC", .cm = "pgsql:C" }, "user@example.com",
	  PG_DOM ";RC|@example.com|F;C|user@example.com|U",
	  VERDICT_VALID, DC_MAILBOX, "DUNNO", NULL, NULL },

	/* relay_domains is a domain_list: parent domains
	 * (parent_domain_matches_subdomains lists it by default) */
	{ "relay_domains: a subdomain matches", { BASE },
	  "nosuch@sub.relay.example", NULL,
	  VERDICT_UNKNOWN, DC_RELAY, UNK_RELAY, NULL, NULL },
	{ "relay_domains: a deeper subdomain matches",
	  { BASE, .rrm = "inline:{known@a.b.relay.example=OK}" },
	  "known@a.b.Relay.Example", NULL,
	  VERDICT_VALID, DC_RELAY, "DUNNO", NULL, NULL },
	{ "relay_domains: a suffix without a dot does not match", { BASE },
	  "user@xrelay.example", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "relay_domains: no subdomains without parent style",
	  { BASE, .flags = T_NO_PARENT }, "nosuch@sub.relay.example", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "relay_domains: .domain matches nothing with parent style",
	  { BASE, .rd = ".relay.example" }, "nosuch@sub.relay.example",
	  NULL, VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "relay_domains: .domain, not the domain itself",
	  { BASE, .rd = ".relay.example", .flags = T_NO_PARENT },
	  "nosuch@relay.example", NULL,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
	{ "relay_domains: .domain matches subdomains without parent style",
	  { BASE, .rd = ".relay.example", .flags = T_NO_PARENT },
	  "nosuch@a.sub.relay.example", NULL,
	  VERDICT_UNKNOWN, DC_RELAY, UNK_RELAY, NULL, NULL },
	{ "relay_domains: a table is asked for parent domains",
	  { PG, .rd = "pgsql:R", .rrm = "" }, "user@a.relay.example",
	  "R|relay.example|F",
	  VERDICT_VALID, DC_RELAY, "DUNNO", NULL,
	  "virtual_alias_domains pgsql:A1 a.relay.example=not_found; "
	  "virtual_alias_domains pgsql:A2 a.relay.example=not_found; "
	  "virtual_mailbox_domains pgsql:D a.relay.example=not_found; "
	  "relay_domains pgsql:R a.relay.example=not_found; "
	  "relay_domains pgsql:R relay.example=found; "
	  "virtual_alias_maps pgsql:A1 user@a.relay.example=not_found; "
	  "virtual_alias_maps pgsql:A2 user@a.relay.example=not_found; "
	  "virtual_alias_maps pgsql:A1 @a.relay.example=not_found; "
	  "virtual_alias_maps pgsql:A2 @a.relay.example=not_found" },
	{ "relay_domains: a table is asked for .parent without parent style",
	  { PG, .rd = "pgsql:R", .rrm = "", .flags = T_NO_PARENT },
	  "user@a.relay.example", "R|.example|F",
	  VERDICT_VALID, DC_RELAY, "DUNNO", NULL,
	  "virtual_alias_domains pgsql:A1 a.relay.example=not_found; "
	  "virtual_alias_domains pgsql:A2 a.relay.example=not_found; "
	  "virtual_mailbox_domains pgsql:D a.relay.example=not_found; "
	  "relay_domains pgsql:R a.relay.example=not_found; "
	  "relay_domains pgsql:R .relay.example=not_found; "
	  "relay_domains pgsql:R .example=found; "
	  "virtual_alias_maps pgsql:A1 user@a.relay.example=not_found; "
	  "virtual_alias_maps pgsql:A2 user@a.relay.example=not_found; "
	  "virtual_alias_maps pgsql:A1 @a.relay.example=not_found; "
	  "virtual_alias_maps pgsql:A2 @a.relay.example=not_found" },
	{ "relay_domains: each table with all its keys before the next",
	  { PG, .rd = "pgsql:R1 pgsql:R2", .rrm = "" },
	  "user@a.relay.example",
	  "R1|relay.example|U;R2|a.relay.example|F",
	  VERDICT_FAILURE, DC_NONE, TEMPFAIL, NULL, NULL },
	{ "relay_domains: the parent lookup fails",
	  { PG, .rd = "pgsql:R" }, "user@a.relay.example",
	  "R|relay.example|U",
	  VERDICT_FAILURE, DC_NONE, TEMPFAIL, NULL, NULL },
	{ "relay_domains: an inline table, parent domain",
	  { BASE, .rd = "inline:{relay.example=1}" },
	  "nosuch@sub.relay.example", NULL,
	  VERDICT_UNKNOWN, DC_RELAY, UNK_RELAY, NULL, NULL },
	{ "virtual_mailbox_domains: a table is not asked for parents",
	  { PG }, "user@a.example.com", PG_DOM,
	  VERDICT_NOT_HANDLED, DC_OTHER, RUR, NULL, NULL },
};

START_TEST(engine_table)
{
	const struct eng_case *c = &eng_cases[_i];
	struct tcfg tc;
	struct addr a;
	struct factset fs;
	struct verdict v;
	struct trace tr;
	char	 got[T_TRACE_MAX], reply[ENGINE_ACTION_MAX + 32];
	const char *err;
	unsigned calls;

	t_cfg(&tc, &c->conf);
	ck_assert_msg(addr_parse(c->rcpt, &tc.cfg.addr, &a, &err) == 0,
	    "%s: %s", c->name, err);
	factset_init(&fs);
	calls = t_run(&tc.cfg, &a, c->db, &fs, &v, &tr);

	ck_assert_msg(strcmp(v.action, c->action) == 0,
	    "%s: action '%s', expected '%s'", c->name, v.action, c->action);
	ck_assert_msg(v.kind == c->kind, "%s: kind %s, expected %s",
	    c->name, verdict_kind_name(v.kind), verdict_kind_name(c->kind));
	ck_assert_msg(v.dclass == c->dc, "%s: class %s, expected %s",
	    c->name, domain_class_name(v.dclass), domain_class_name(c->dc));
	/*
	 * two pipelined round trips are always enough: the first asks the
	 * recipient's first key, the second everything else still possible
	 */
	ck_assert_msg(calls <= 3, "%s: %u engine calls", c->name, calls);

	/* the reply parts agree with the action */
	if (v.code != 0) {
		snprintf(reply, sizeof(reply), "%u %s %s", v.code, v.dsn,
		    v.text);
		ck_assert_int_eq(v.dsn[0], '0' + (int)(v.code / 100));
		if (c->reply != NULL) {
			ck_assert_msg(strcmp(reply, c->reply) == 0,
			    "%s: reply '%s'", c->name, reply);
			ck_assert(v.warn_only);
		} else {
			ck_assert_str_eq(reply, v.action);
			ck_assert(!v.warn_only);
		}
	} else {
		ck_assert_msg(c->reply == NULL, "%s: no code", c->name);
		ck_assert(!v.warn_only);
		ck_assert(v.kind == VERDICT_VALID ||
		    v.kind == VERDICT_NOT_HANDLED ||
		    (v.kind == VERDICT_FAILURE &&
		    strcmp(v.action, "DUNNO") == 0));
	}

	if (c->trace != NULL) {
		t_trace(&tr, got, sizeof(got));
		ck_assert_msg(strcmp(got, c->trace) == 0,
		    "%s: trace\n  got: %s\n  exp: %s", c->name, got, c->trace);
	}
	/* the trace ends with the fact that decided, if one did */
	if (v.decided_by != NULL) {
		ck_assert_uint_gt(tr.n, 0);
		ck_assert_ptr_eq(tr.v[tr.n - 1].map, v.decided_by->map);
		ck_assert_str_eq(tr.v[tr.n - 1].key, v.decided_by->key);
		ck_assert_int_eq(tr.v[tr.n - 1].result, v.decided_by->result);
		ck_assert(v.decided_by->result != FACT_NOT_FOUND);
	}
	/* a failure has a cause: a fact that failed, or a table's empty
	 * value (pure: the trace's last lookup, server/dispatch.c says so) */
	if (v.kind == VERDICT_FAILURE && strchr(c->rcpt, '[') == NULL &&
	    v.decided_by == NULL) {
		ck_assert_msg(tr.n > 0 &&
		    tr.v[tr.n - 1].result == FACT_UNAVAILABLE &&
		    tr.v[tr.n - 1].source == FACT_SRC_PURE,
		    "%s: failure without cause", c->name);
	} else if (v.kind == VERDICT_FAILURE && strchr(c->rcpt, '[') == NULL)
		ck_assert_msg(v.decided_by->result == FACT_UNAVAILABLE &&
		    v.decided_by->why != NULL, "%s: failure without cause",
		    c->name);

	/* same answer with no trace wanted */
	{
		struct verdict v2;
		struct lookup_list need;

		ck_assert_int_eq(engine_decide(&tc.cfg, &a, &fs, &need, &v2,
		    NULL), ENGINE_DONE);
		ck_assert_str_eq(v2.action, v.action);
		ck_assert_uint_eq(need.n, 0);
	}

	factset_free(&fs);
	addr_free(&a);
	t_cfg_free(&tc);
}
END_TEST

/* ---------------------------------------------- speculative need lists */

/* t_need_str - "NAME key, NAME key, ..." of a need list */
static void
t_need_str(const struct lookup_list *need, char *out, size_t size)
{
	size_t	 i, len = 0;

	out[0] = '\0';
	for (i = 0; i < need->n; i++) {
		len += (size_t)snprintf(out + len, size - len, "%s%s %s",
		    i ? ", " : "", need->v[i].map->name + strlen("pgsql:"),
		    need->v[i].key);
		ck_assert_uint_lt(len, size);
	}
}

/* t_preset - add "NAME|key|R;..." facts (source: Redis) */
static void
t_preset(struct tcfg *tc, struct factset *fs, const char *facts)
{
	char	*copy = xstrdup(facts), *ent, *save = NULL, *b1, *b2;
	char	 name[64];
	struct map *m;

	for (ent = strtok_r(copy, ";", &save); ent != NULL;
	    ent = strtok_r(NULL, ";", &save)) {
		b1 = strchr(ent, '|');
		b2 = strrchr(ent, '|');
		ck_assert(b1 != NULL && b2 != b1);
		*b1 = *b2 = '\0';
		snprintf(name, sizeof(name), "pgsql:%s", ent);
		m = t_map(tc, name);
		factset_add(fs, m, b1 + 1, b2[1] == 'F' ? FACT_FOUND :
		    b2[1] == 'U' ? FACT_UNAVAILABLE : FACT_NOT_FOUND,
		    FACT_SRC_CACHE_REDIS, b2[1] == 'F' ? T_DB_VALUE : NULL,
		    b2[1] == 'U' ? "timeout" : NULL);
	}
	free(copy);
}

struct need_case {
	const char *name;
	struct tconf conf;
	const char *rcpt;
	const char *facts;	/* known before the first call */
	const char *need;	/* the first need list, in order; "" = DONE */
};

#define ISP_ALL_FIRST	"A1 example.com, A2 example.com, D example.com, " \
			"A1 user@example.com, A2 user@example.com"

static const struct need_case need_cases[] = {
	{ "ISPmail, nothing known: the domain and the first key",
	  { PG }, "user@example.com", "", ISP_ALL_FIRST },
	{ "ISPmail, +ext and quotes: the first key, quoted",
	  { PG }, "a b+x@example.com", "",
	  "A1 example.com, A2 example.com, D example.com, "
	  "A1 \"a b+x\"@example.com, A2 \"a b+x\"@example.com" },
	{ "ISPmail, first key missed: every key left, every table",
	  { PG }, "a b+x@example.com",
	  "A1|example.com|N;A2|example.com|N;D|example.com|F;"
	  "A1|\"a b+x\"@example.com|N;A2|\"a b+x\"@example.com|N",
	  "A1 a b+x@example.com, A2 a b+x@example.com, "
	  "A1 \"a b\"@example.com, A2 \"a b\"@example.com, "
	  "A1 a b@example.com, A2 a b@example.com, "
	  "A1 @example.com, A2 @example.com, "
	  "M \"a b+x\"@example.com, M a b+x@example.com, "
	  "M \"a b\"@example.com, M a b@example.com, M @example.com" },
	{ "domain known as mailbox domain: no domain lookups",
	  { PG }, "user@example.com",
	  "A1|example.com|N;A2|example.com|N;D|example.com|F",
	  "A1 user@example.com, A2 user@example.com" },
	{ "mailbox domain known, alias domain not yet: both",
	  { PG }, "user@example.com", "D|example.com|F",
	  "A1 example.com, A2 example.com, A1 user@example.com, "
	  "A2 user@example.com" },
	{ "alias domain known: no mailbox lookups",
	  { PG }, "user@example.com", "A1|example.com|F",
	  "A1 user@example.com, A2 user@example.com" },
	{ "the first key missed: the rest of the keys and the class table",
	  { PG }, "user@example.com",
	  "A1|example.com|N;A2|example.com|N;D|example.com|F;"
	  "A1|user@example.com|N;A2|user@example.com|N",
	  "A1 @example.com, A2 @example.com, M user@example.com, "
	  "M @example.com" },
	{ "not a mailbox domain, no relay_domains: done",
	  { PG }, "user@example.com",
	  "A1|example.com|N;A2|example.com|N;D|example.com|N", "" },
	{ "not a mailbox domain: relay lookups, no mailbox keys",
	  { PG, .rd = "pgsql:R", .rrm = "pgsql:RR" }, "user@example.com",
	  "A1|example.com|N;A2|example.com|N;D|example.com|N",
	  "R example.com, R com, A1 user@example.com, A2 user@example.com" },
	{ "no parent style: relay_domains asked for .parent",
	  { PG, .rd = "pgsql:R", .rrm = "pgsql:RR", .flags = T_NO_PARENT },
	  "user@a.example.com",
	  "A1|a.example.com|N;A2|a.example.com|N;D|a.example.com|N",
	  "R a.example.com, R .example.com, R .com, "
	  "A1 user@a.example.com, A2 user@a.example.com" },
	{ "canonical maps: asked first, one key at a time",
	  { PG, .rcm = "pgsql:RC", .cm = "pgsql:C" }, "user+x@example.com",
	  "", "A1 example.com, A2 example.com, D example.com, "
	  "RC user+x@example.com" },
	{ "canonical maps: first key missed, everything left",
	  { PG, .rcm = "pgsql:RC", .cm = "pgsql:C" }, "user@example.com",
	  "A1|example.com|N;A2|example.com|N;D|example.com|F;"
	  "RC|user@example.com|N",
	  "RC @example.com, C user@example.com, C @example.com, "
	  "A1 user@example.com, A2 user@example.com, A1 @example.com, "
	  "A2 @example.com, M user@example.com, M @example.com" },
	{ "domain lookup failed: done, nothing else asked",
	  { PG }, "user@example.com", "A1|example.com|U", "" },
	{ "alias found in map 1: done, class table not asked",
	  { PG }, "user@example.com",
	  "A1|example.com|N;A2|example.com|N;D|example.com|F;"
	  "A1|user@example.com|F", "" },
	{ "alias found in map 2: map 1 could still fail, ask it",
	  { PG }, "user@example.com",
	  "A1|example.com|N;A2|example.com|N;D|example.com|F;"
	  "A2|user@example.com|F", "A1 user@example.com" },
	{ "a fact known mid-list is not asked again",
	  { PG }, "user@example.com", "A2|user@example.com|N;M|@example.com|N",
	  "A1 example.com, A2 example.com, D example.com, "
	  "A1 user@example.com, A1 @example.com, A2 @example.com, "
	  "M user@example.com" },
	{ "%u/%d maps: @domain and bare domain answered without a query",
	  { .vad = "pgsql:A%ud", .vmd = "pgsql:D", .vam = "pgsql:A%ud",
	    .vmm = "pgsql:M%ud" }, "user@example.com", "",
	  "D example.com, A%ud user@example.com" },
	{ "shared maps are asked once",
	  { .vad = "pgsql:A1", .vmd = "pgsql:A1", .rd = "pgsql:A1",
	    .vam = "pgsql:A1", .vmm = "pgsql:A1", .rrm = "pgsql:A1" },
	  "user@example.com", "",
	  "A1 example.com, A1 com, A1 user@example.com" },
	{ "pure maps are never listed",
	  { .vad = "alias.example", .vmd = "example.com",
	    .vam = "inline:{x@example.com=y} pgsql:A", .vmm = "static:1" },
	  "user@example.com", "", "A user@example.com, A @example.com" },
	{ "IP literal: nothing asked", { PG }, "user@[192.0.2.1]", "", "" },
};

START_TEST(engine_need_table)
{
	const struct need_case *c = &need_cases[_i];
	struct tcfg tc;
	struct addr a;
	struct factset fs;
	struct lookup_list need;
	struct verdict v;
	struct trace tr;
	char	 got[T_TRACE_MAX];
	const char *err;
	enum engine_status st;
	size_t	 i, rounds;

	t_cfg(&tc, &c->conf);
	ck_assert_int_eq(addr_parse(c->rcpt, &tc.cfg.addr, &a, &err), 0);
	factset_init(&fs);
	t_preset(&tc, &fs, c->facts);
	st = engine_decide(&tc.cfg, &a, &fs, &need, &v, &tr);
	if (*c->need == '\0') {
		ck_assert_msg(st == ENGINE_DONE, "%s: not done", c->name);
		ck_assert_uint_eq(need.n, 0);
	} else {
		ck_assert_msg(st == ENGINE_NEED, "%s: done", c->name);
		t_check_need(&need, &fs, &a);
		t_need_str(&need, got, sizeof(got));
		ck_assert_msg(strcmp(got, c->need) == 0,
		    "%s:\n  got: %s\n  exp: %s", c->name, got, c->need);
		ck_assert_uint_eq(tr.n, 0);

		/* whatever the answers, the third call decides at the
		 * latest: two round trips */
		for (rounds = 0; rounds < 2; rounds++) {
			for (i = 0; i < need.n; i++)
				factset_add(&fs, need.v[i].map, need.v[i].key,
				    (i % 3) == 0 ? FACT_FOUND : FACT_NOT_FOUND,
				    FACT_SRC_DB, (i % 3) == 0 ? T_DB_VALUE :
				    NULL, NULL);
			if (engine_decide(&tc.cfg, &a, &fs, &need, &v, &tr) ==
			    ENGINE_DONE)
				break;
		}
		ck_assert_msg(rounds < 2, "%s: not done after two rounds",
		    c->name);
	}
	factset_free(&fs);
	addr_free(&a);
	t_cfg_free(&tc);
}
END_TEST

/*
 * Every combination of answers for every lookup the walk can make (the
 * domain in each class list, each key in each table): asked in rounds as
 * dispatch does, the third call decides at the latest, only lookups of
 * that set are asked, and the verdict equals the one reached by asking
 * one lookup at a time (the speculation never changes an answer).
 */
START_TEST(engine_need_exhaustive)
{
	static const struct tconf conf = { .vad = "pgsql:A1",
	    .vmd = "pgsql:D", .rd = "pgsql:R", .vam = "pgsql:A1",
	    .vmm = "pgsql:M", .rrm = "pgsql:RR" };
	static const char *const doms[] = { "example.com", "relay.example" };
	/* relay_domains is asked for the parent domain too */
	static const char *const parents[] = { "com", "example" };
	struct tcfg tc;
	struct addr a;
	struct factset all, fs, fs1;
	struct lookup_list need, need1;
	struct verdict v, v1;
	const struct fact_entry *fe;
	const struct map *umap[10];
	const char *ukey[10], *err;
	unsigned long combo, ncombo, code;
	size_t	 i, n0, d, rounds;
	enum fact_result r;

	for (d = 0; d < 2; d++) {
		char	 rcpt[64], at[64];

		snprintf(rcpt, sizeof(rcpt), "user@%s", doms[d]);
		snprintf(at, sizeof(at), "@%s", doms[d]);
		t_cfg(&tc, &conf);
		ck_assert_int_eq(addr_parse(rcpt, &tc.cfg.addr, &a, &err), 0);
		/* the universe: class lookups, then every key of every
		 * recipient table */
		n0 = 0;
		umap[n0] = tc.cfg.virtual_alias_domains.v[0];
		ukey[n0++] = doms[d];
		umap[n0] = tc.cfg.virtual_mailbox_domains.v[0];
		ukey[n0++] = doms[d];
		umap[n0] = tc.cfg.relay_domains.v[0];
		ukey[n0++] = doms[d];
		umap[n0] = tc.cfg.relay_domains.v[0];
		ukey[n0++] = parents[d];
		umap[n0] = tc.cfg.virtual_alias_maps.v[0];
		ukey[n0++] = rcpt;
		umap[n0] = tc.cfg.virtual_alias_maps.v[0];
		ukey[n0++] = at;
		umap[n0] = tc.cfg.virtual_mailbox_maps.v[0];
		ukey[n0++] = rcpt;
		umap[n0] = tc.cfg.virtual_mailbox_maps.v[0];
		ukey[n0++] = at;
		umap[n0] = tc.cfg.relay_recipient_maps.v[0];
		ukey[n0++] = rcpt;
		umap[n0] = tc.cfg.relay_recipient_maps.v[0];
		ukey[n0++] = at;
		for (ncombo = 1, i = 0; i < n0; i++)
			ncombo *= 3;
		for (combo = 0; combo < ncombo; combo++) {
			factset_init(&all);
			for (code = combo, i = 0; i < n0; i++, code /= 3) {
				r = (enum fact_result)(code % 3);
				factset_add(&all, umap[i], ukey[i], r,
				    FACT_SRC_DB, r == FACT_FOUND ? "x" : NULL,
				    r == FACT_UNAVAILABLE ? "e" : NULL);
			}
			/* in rounds, answering what is asked */
			factset_init(&fs);
			for (rounds = 0; engine_decide(&tc.cfg, &a, &fs,
			    &need, &v, NULL) == ENGINE_NEED; rounds++) {
				ck_assert_uint_lt(rounds, 2);
				for (i = 0; i < need.n; i++) {
					fe = factset_get(&all, need.v[i].map,
					    need.v[i].key);
					ck_assert_ptr_nonnull(fe);
					factset_add(&fs, fe->map, fe->key,
					    fe->result, fe->source, fe->value,
					    fe->why);
				}
			}
			/* one at a time: only the first lookup asked */
			factset_init(&fs1);
			while (engine_decide(&tc.cfg, &a, &fs1, &need1, &v1,
			    NULL) == ENGINE_NEED) {
				fe = factset_get(&all, need1.v[0].map,
				    need1.v[0].key);
				ck_assert_ptr_nonnull(fe);
				factset_add(&fs1, fe->map, fe->key, fe->result,
				    fe->source, fe->value, fe->why);
			}
			ck_assert_str_eq(v.action, v1.action);
			ck_assert_int_eq(v.kind, v1.kind);
			ck_assert_int_eq(v.dclass, v1.dclass);
			factset_free(&fs1);
			factset_free(&fs);
			factset_free(&all);
		}
		addr_free(&a);
		t_cfg_free(&tc);
	}
}
END_TEST

/*
 * What an uncached RCPT costs the database, ISPmail-style (alias maps A1
 * and A2, where A2 is email2email, a mailbox domain table D, mailbox map
 * M): lookups and round trips. Postfix 3.7 sends the same lookups one
 * after another (5 for a mailbox found by email2email, 9 for an
 * unknown user); vrcpt sends the same number, in at most two round
 * trips, never the 9 speculative ones for a valid recipient.
 */
static const struct cost_case {
	const char *name;
	const char *db;
	size_t	 lookups, rounds;
} cost_cases[] = {
	{ "mailbox via email2email", "D|example.com|F;A2|user@example.com|F",
	  5, 1 },
	{ "alias (Postfix: 4)", "D|example.com|F;A1|user@example.com|F", 5,
	  1 },
	{ "unknown user", "D|example.com|F", 9, 2 },
	{ "catch-all", "D|example.com|F;A1|@example.com|F", 9, 2 },
	{ "domain not hosted", "", 5, 1 },
};

START_TEST(engine_cost)
{
	static const struct tconf conf = { PG };
	const struct cost_case *c = &cost_cases[_i];
	struct tcfg tc;
	struct addr a;
	struct factset fs;
	struct lookup_list need;
	struct verdict v;
	const char *err;
	size_t	 lookups = 0, rounds = 0, i;

	t_cfg(&tc, &conf);
	ck_assert_int_eq(addr_parse("user@example.com", &tc.cfg.addr, &a,
	    &err), 0);
	factset_init(&fs);
	while (engine_decide(&tc.cfg, &a, &fs, &need, &v, NULL) ==
	    ENGINE_NEED) {
		rounds++;
		lookups += need.n;
		for (i = 0; i < need.n; i++)
			factset_add(&fs, need.v[i].map, need.v[i].key,
			    t_db(c->db, need.v[i].map, need.v[i].key),
			    FACT_SRC_DB, T_DB_VALUE, NULL);
	}
	ck_assert_msg(lookups == c->lookups && rounds == c->rounds,
	    "%s: %zu lookups in %zu rounds, want %zu in %zu", c->name,
	    lookups, rounds, c->lookups, c->rounds);
	factset_free(&fs);
	addr_free(&a);
	t_cfg_free(&tc);
}
END_TEST

/*
 * The same with maps parsed by sqlmap_parse() from the queries of the
 * policy/ .cf files: ISPmail (all %s) and PostfixAdmin (%u/%d queries,
 * whose bare-domain and "@domain" lookups Postfix never sends).
 */
struct cf_map {
	const char *name;
	const char *query;
};

static const struct cf_map cf_maps[] = {
	{ "pgsql:VD", "SELECT 1 FROM virtual_domains WHERE name='%s'" },
	{ "pgsql:VA", "SELECT destination FROM virtual_aliases "
	  "WHERE source='%s'" },
	{ "pgsql:E2E", "SELECT email FROM virtual_users WHERE email='%s'" },
	{ "pgsql:VM", "SELECT 1 FROM virtual_users WHERE email='%s'" },
	{ "pgsql:DM", "SELECT domain FROM domain WHERE domain = '%s' "
	  "AND active AND NOT backupmx" },
	{ "pgsql:AM", "SELECT goto FROM alias WHERE address = '%s' "
	  "AND active" },
	{ "pgsql:ADM", "SELECT alias.goto FROM alias, alias_domain "
	  "WHERE alias_domain.alias_domain = '%d' AND alias.address = "
	  "'%u' || '@' || alias_domain.target_domain" },
	{ "pgsql:ADC", "SELECT alias.goto FROM alias, alias_domain "
	  "WHERE alias_domain.alias_domain = '%d' AND alias.address = "
	  "'@' || alias_domain.target_domain" },
	{ "pgsql:MM", "SELECT maildir FROM mailbox WHERE username = '%s' "
	  "AND active" },
	{ "pgsql:ADMM", "SELECT mailbox.maildir FROM mailbox, alias_domain "
	  "WHERE alias_domain.alias_domain = '%d' AND mailbox.username = "
	  "'%u' || '@' || alias_domain.target_domain" },
};

static struct map *
t_cf_map(struct map **pool, size_t *n, const char *name)
{
	struct map *m;
	char	*text, *warn = NULL, *err = NULL;
	size_t	 i;

	for (i = 0; i < *n; i++)
		if (strcmp(pool[i]->name, name) == 0)
			return pool[i];
	for (i = 0; i < sizeof(cf_maps) / sizeof(cf_maps[0]); i++)
		if (strcmp(cf_maps[i].name, name) == 0)
			break;
	ck_assert_uint_lt(i, sizeof(cf_maps) / sizeof(cf_maps[0]));
	text = xasprintf("hosts = unix:/run/postgresql\nuser = u\n"
	    "dbname = mail\nquery = %s\n", cf_maps[i].query);
	m = xcalloc(1, sizeof(*m));
	m->type = MAP_PGSQL;
	m->name = xstrdup(name);
	m->id = (unsigned)*n;
	ck_assert_msg(sqlmap_parse(name, text, strlen(text), &m->u.sql,
	    &warn, &err) == 0, "%s: %s", name, err);
	free(text);
	free(warn);
	pool[(*n)++] = m;
	return m;
}

static void
t_cf_list(struct map **pool, size_t *n, struct maplist *ml,
    const char *param, const char *const *names)
{
	ml->param = param;
	ml->v = xcalloc(8, sizeof(*ml->v));
	for (ml->n = 0; names[ml->n] != NULL; ml->n++)
		ml->v[ml->n] = t_cf_map(pool, n, names[ml->n]);
}

START_TEST(engine_need_real_cf)
{
	static const char *const isp_vam[] = { "pgsql:VA", "pgsql:E2E",
	    NULL };
	static const char *const isp_vmd[] = { "pgsql:VD", NULL };
	static const char *const isp_vmm[] = { "pgsql:VM", NULL };
	static const char *const pfa_vam[] = { "pgsql:AM", "pgsql:ADM",
	    "pgsql:ADC", NULL };
	static const char *const pfa_vmd[] = { "pgsql:DM", NULL };
	static const char *const pfa_vmm[] = { "pgsql:MM", "pgsql:ADMM",
	    NULL };
	static const struct {
		const char *const *vam, *const *vmd, *const *vmm;
		const char *need;
	} rows[] = {
		{ isp_vam, isp_vmd, isp_vmm,
		  "VA example.com, E2E example.com, VD example.com, "
		  "VA user@example.com, E2E user@example.com" },
		{ pfa_vam, pfa_vmd, pfa_vmm,
		  "AM example.com, DM example.com, "
		  "AM user@example.com, ADM user@example.com, "
		  "ADC user@example.com" },
	};
	struct map *pool[T_MAPS_MAX];
	struct engine_cfg cfg;
	struct addr a;
	struct factset fs;
	struct lookup_list need;
	struct verdict v;
	char	 got[T_TRACE_MAX];
	const char *err;
	size_t	 n, r, i, rounds;

	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		n = 0;
		memset(&cfg, 0, sizeof(cfg));
		/* virtual_alias_domains = $virtual_alias_maps */
		t_cf_list(pool, &n, &cfg.virtual_alias_domains,
		    "virtual_alias_domains", rows[r].vam);
		t_cf_list(pool, &n, &cfg.virtual_mailbox_domains,
		    "virtual_mailbox_domains", rows[r].vmd);
		t_cf_list(pool, &n, &cfg.virtual_alias_maps,
		    "virtual_alias_maps", rows[r].vam);
		t_cf_list(pool, &n, &cfg.virtual_mailbox_maps,
		    "virtual_mailbox_maps", rows[r].vmm);
		cfg.addr.recipient_delimiter = "+";
		cfg.unknown_virtual_mailbox_reject_code = 550;
		cfg.unknown_virtual_alias_reject_code = 550;
		cfg.show_user_unknown_table_name = true;
		ck_assert_int_eq(addr_parse("user@example.com", &cfg.addr, &a,
		    &err), 0);
		factset_init(&fs);
		ck_assert_int_eq(engine_decide(&cfg, &a, &fs, &need, &v,
		    NULL), ENGINE_NEED);
		t_check_need(&need, &fs, &a);
		t_need_str(&need, got, sizeof(got));
		ck_assert_msg(strcmp(got, rows[r].need) == 0,
		    "\n  got: %s\n  exp: %s", got, rows[r].need);
		/*
		 * the domain is a mailbox domain, the user does not exist:
		 * a second round asks the rest, a third call decides
		 */
		for (rounds = 0; rounds < 2; rounds++) {
			for (i = 0; i < need.n; i++)
				factset_add(&fs, need.v[i].map, need.v[i].key,
				    strcmp(need.v[i].key, "example.com") == 0 &&
				    need.v[i].map ==
				    cfg.virtual_mailbox_domains.v[0] ?
				    FACT_FOUND : FACT_NOT_FOUND, FACT_SRC_DB,
				    "1", NULL);
			if (engine_decide(&cfg, &a, &fs, &need, &v, NULL) ==
			    ENGINE_DONE)
				break;
		}
		ck_assert_uint_eq(rounds, 1);
		ck_assert_str_eq(v.action, UNK_MBOX);
		factset_free(&fs);
		addr_free(&a);
		free(cfg.virtual_alias_domains.v);
		free(cfg.virtual_mailbox_domains.v);
		free(cfg.virtual_alias_maps.v);
		free(cfg.virtual_mailbox_maps.v);
		for (i = 0; i < n; i++) {
			sqlmap_free(&pool[i]->u.sql);
			free(pool[i]->name);
			free(pool[i]);
		}
	}
}
END_TEST

/* more lookups than ENGINE_LOOKUPS_MAX: several rounds, still right */
START_TEST(engine_need_overflow)
{
	struct tconf conf = { .vmd = "example.com", .vmm = "pgsql:M" };
	struct tcfg tc;
	struct addr a;
	struct factset fs;
	struct verdict v;
	struct trace tr;
	struct buf vam;
	const char *err;
	char	 db[64];
	unsigned calls;
	int	 i;

	buf_init(&vam, 0);
	for (i = 0; i < 40; i++)
		ck_assert_int_eq(buf_printf(&vam, "pgsql:A%d ", i), 0);
	conf.vam = buf_str(&vam);
	t_cfg(&tc, &conf);
	/* 5 keys x 40 alias maps + 5 mailbox keys */
	ck_assert_int_eq(addr_parse("a b+x@example.com", &tc.cfg.addr, &a,
	    &err), 0);
	ck_assert_uint_eq(a.nkeys, 5);
	factset_init(&fs);
	/* found in the very last alias lookup */
	snprintf(db, sizeof(db), "A39|@example.com|F");
	calls = t_run(&tc.cfg, &a, db, &fs, &v, &tr);
	ck_assert_uint_ge(calls, 3);
	ck_assert_str_eq(v.action, "DUNNO");
	ck_assert_int_eq(v.kind, VERDICT_VALID);
	/* 1 + 200 lookups consulted; the trace keeps the first ones */
	ck_assert_uint_eq(tr.n, ENGINE_TRACE_MAX);
	ck_assert_ptr_eq(v.decided_by, factset_get(&fs, tc.maps[40],
	    "@example.com"));
	factset_free(&fs);
	addr_free(&a);
	t_cfg_free(&tc);
	buf_free(&vam);
}
END_TEST

/* the trace shows where each answer came from */
START_TEST(engine_trace_sources)
{
	struct tconf conf = { .vmd = "example.com", .vam = "pgsql:A",
	    .vmm = "pgsql:M" };
	struct tcfg tc;
	struct addr a;
	struct factset fs;
	struct lookup_list need;
	struct verdict v;
	struct trace tr;
	const char *err;

	t_cfg(&tc, &conf);
	ck_assert_int_eq(addr_parse("user@example.com", &tc.cfg.addr, &a,
	    &err), 0);
	factset_init(&fs);
	factset_add(&fs, tc.maps[1], "user@example.com", FACT_NOT_FOUND,
	    FACT_SRC_CACHE_LOCAL, NULL, NULL);
	factset_add(&fs, tc.maps[1], "@example.com", FACT_NOT_FOUND,
	    FACT_SRC_CACHE_REDIS, NULL, NULL);
	factset_add(&fs, tc.maps[2], "user@example.com", FACT_FOUND,
	    FACT_SRC_DB, "1", NULL);
	ck_assert_str_eq(tc.maps[1]->name, "pgsql:A");
	ck_assert_str_eq(tc.maps[2]->name, "pgsql:M");
	ck_assert_int_eq(engine_decide(&tc.cfg, &a, &fs, &need, &v, &tr),
	    ENGINE_DONE);
	ck_assert_uint_eq(tr.n, 4);
	ck_assert_str_eq(tr.v[0].param, "virtual_mailbox_domains");
	ck_assert_int_eq(tr.v[0].source, FACT_SRC_PURE);
	ck_assert_int_eq(tr.v[0].result, FACT_FOUND);
	ck_assert_str_eq(tr.v[0].key, "example.com");
	ck_assert_int_eq(tr.v[1].source, FACT_SRC_CACHE_LOCAL);
	ck_assert_int_eq(tr.v[2].source, FACT_SRC_CACHE_REDIS);
	ck_assert_int_eq(tr.v[3].source, FACT_SRC_DB);
	ck_assert_str_eq(tr.v[3].value, "1");
	ck_assert_ptr_null(tr.v[1].value);
	ck_assert_ptr_eq(v.decided_by, factset_get(&fs, tc.maps[2],
	    "user@example.com"));
	factset_free(&fs);
	addr_free(&a);
	t_cfg_free(&tc);
}
END_TEST

/* ------------------------------------------------- facts and the rest */

START_TEST(engine_factset)
{
	char	 n1[] = "a", n2[] = "b";
	struct map m1 = { .type = MAP_STATIC, .name = n1 };
	struct map m2 = { .type = MAP_STATIC, .name = n2 };
	struct factset fs;
	const struct fact_entry *e;
	char	 key[32];
	int	 i;

	factset_init(&fs);
	ck_assert_ptr_null(factset_get(&fs, &m1, "k"));
	factset_add(&fs, &m1, "k", FACT_FOUND, FACT_SRC_DB, "v", NULL);
	factset_add(&fs, &m2, "k", FACT_UNAVAILABLE, FACT_SRC_DB, NULL,
	    "down");
	e = factset_get(&fs, &m1, "k");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->result, FACT_FOUND);
	ck_assert_str_eq(e->value, "v");
	ck_assert_ptr_null(e->why);
	e = factset_get(&fs, &m2, "k");
	ck_assert_int_eq(e->result, FACT_UNAVAILABLE);
	ck_assert_str_eq(e->why, "down");
	ck_assert_ptr_null(factset_get(&fs, &m1, "K"));
	/* replace: one entry, new contents */
	factset_add(&fs, &m2, "k", FACT_FOUND, FACT_SRC_CACHE_REDIS, "w",
	    NULL);
	ck_assert_uint_eq(fs.n, 2);
	e = factset_get(&fs, &m2, "k");
	ck_assert_int_eq(e->result, FACT_FOUND);
	ck_assert_int_eq(e->source, FACT_SRC_CACHE_REDIS);
	ck_assert_str_eq(e->value, "w");
	ck_assert_ptr_null(e->why);
	/* growth keeps everything */
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		factset_add(&fs, &m1, key, FACT_NOT_FOUND, FACT_SRC_DB, NULL,
		    NULL);
	}
	ck_assert_uint_eq(fs.n, 102);
	ck_assert_ptr_nonnull(factset_get(&fs, &m1, "k0"));
	ck_assert_ptr_nonnull(factset_get(&fs, &m1, "k99"));
	ck_assert_str_eq(factset_get(&fs, &m1, "k")->value, "v");
	factset_free(&fs);
	ck_assert_uint_eq(fs.n, 0);
	ck_assert_ptr_null(fs.v);
}
END_TEST

START_TEST(engine_failure_actions)
{
	struct engine_cfg cfg;
	struct verdict v;

	memset(&cfg, 0, sizeof(cfg));
	cfg.lookup_failure_action = LFA_DEFER;
	cfg.warn_if_reject = true;	/* cannot soften a lookup error */
	cfg.soft_bounce = true;
	engine_failure(&cfg, &v);
	ck_assert_int_eq(v.kind, VERDICT_FAILURE);
	ck_assert_str_eq(v.action, TEMPFAIL);
	ck_assert_uint_eq(v.code, 451);
	ck_assert_str_eq(v.dsn, "4.3.0");
	ck_assert_str_eq(v.text, "Temporary lookup failure");
	ck_assert(!v.warn_only);
	ck_assert_ptr_null(v.decided_by);

	cfg.lookup_failure_action = LFA_DUNNO;
	engine_failure(&cfg, &v);
	ck_assert_int_eq(v.kind, VERDICT_FAILURE);
	ck_assert_str_eq(v.action, "DUNNO");
	ck_assert_uint_eq(v.code, 0);
}
END_TEST

START_TEST(engine_names)
{
	ck_assert_str_eq(verdict_kind_name(VERDICT_VALID), "valid");
	ck_assert_str_eq(verdict_kind_name(VERDICT_UNKNOWN), "unknown");
	ck_assert_str_eq(verdict_kind_name(VERDICT_FAILURE), "failure");
	ck_assert_str_eq(verdict_kind_name(VERDICT_NOT_HANDLED),
	    "not_handled");
	ck_assert_str_eq(domain_class_name(DC_NONE), "none");
	ck_assert_str_eq(domain_class_name(DC_ALIAS), "virtual alias");
	ck_assert_str_eq(domain_class_name(DC_MAILBOX), "virtual mailbox");
	ck_assert_str_eq(domain_class_name(DC_RELAY), "relay");
	ck_assert_str_eq(domain_class_name(DC_OTHER), "other");
}
END_TEST

/* ------------------------------------------------------ map_lookup_pure */

struct pure_case {
	const char *map;	/* as in a row's configuration */
	const char *key;
	int	 answer;	/* -1: needs the database */
	const char *value;	/* FACT_FOUND */
};

static const struct pure_case pure_cases[] = {
	{ "example.com", "example.com", FACT_FOUND, "example.com" },
	{ "example.com", "EXAMPLE.com", FACT_FOUND, "example.com" },
	{ "example.com", "sub.example.com", FACT_NOT_FOUND, NULL },
	{ "example.com", "user@example.com", FACT_NOT_FOUND, NULL },
	{ "example.com", "@example.com", FACT_NOT_FOUND, NULL },
	{ "example.com", "", FACT_NOT_FOUND, NULL },
	{ "inline:{a@d=1, b@d=2}", "b@d", FACT_FOUND, "2" },
	{ "inline:{a@d=1, b@d=2}", "c@d", FACT_NOT_FOUND, NULL },
	{ "inline:{a@d=1, a@d=2}", "a@d", FACT_FOUND, "2" },
	/* found, empty: the engine makes it a lookup error (map.h) */
	{ "inline:{a@d=1, a@d=}", "a@d", FACT_FOUND, "" },
	{ "inline:{a@d=}", "a@d", FACT_FOUND, "" },
	{ "static:OK", "anything", FACT_FOUND, "OK" },
	{ "static:OK", "@d", FACT_FOUND, "OK" },
	{ "static:", "anything", FACT_NOT_FOUND, NULL },
	{ "pgsql:S", "user@example.com", -1, NULL },
	{ "pgsql:S", "@example.com", -1, NULL },
	{ "pgsql:S", "example.com", -1, NULL },
	{ "pgsql:S", "", FACT_NOT_FOUND, NULL },
	{ "pgsql:S%ud", "user@example.com", -1, NULL },
	{ "pgsql:S%ud", "@example.com", FACT_NOT_FOUND, NULL },
	{ "pgsql:S%ud", "example.com", FACT_NOT_FOUND, NULL },
};

START_TEST(map_pure_table)
{
	const struct pure_case c = pure_cases[_i];
	struct tcfg tc;
	struct maplist ml;
	enum fact_result r;
	const char *val = "unset";
	bool	 pure;

	memset(&tc, 0, sizeof(tc));
	t_list(&tc, &ml, "p", c.map);
	ck_assert_uint_eq(ml.n, 1);
	pure = map_lookup_pure(ml.v[0], c.key, &r, &val);
	if (c.answer < 0) {
		ck_assert_msg(!pure, "%s '%s' answered", c.map, c.key);
	} else {
		ck_assert_msg(pure, "%s '%s' not answered", c.map, c.key);
		ck_assert_msg(r == (enum fact_result)c.answer,
		    "%s '%s': %s", c.map, c.key, fact_result_name(r));
		if (c.value != NULL)
			ck_assert_str_eq(val, c.value);
	}
	free(ml.v);
	t_cfg_free(&tc);
}
END_TEST

/* pgsql "domain =" filter: only user@listed-domain is queried */
START_TEST(map_pure_domain_filter)
{
	struct tcfg tc;
	struct maplist ml;
	struct sqlmap *sm;
	enum fact_result r;
	const char *val;

	memset(&tc, 0, sizeof(tc));
	t_list(&tc, &ml, "p", "pgsql:F");
	sm = ml.v[0]->u.sql;
	sm->domains = xcalloc(1, sizeof(*sm->domains));
	sm->domains[0] = xstrdup("example.com");
	sm->ndomains = 1;
	ck_assert(!map_lookup_pure(ml.v[0], "user@example.com", &r, &val));
	ck_assert(map_lookup_pure(ml.v[0], "user@example.org", &r, &val));
	ck_assert_int_eq(r, FACT_NOT_FOUND);
	ck_assert(map_lookup_pure(ml.v[0], "@example.com", &r, &val));
	ck_assert_int_eq(r, FACT_NOT_FOUND);
	ck_assert(map_lookup_pure(ml.v[0], "example.com", &r, &val));
	ck_assert_int_eq(r, FACT_NOT_FOUND);
	free(ml.v);
	t_cfg_free(&tc);
}
END_TEST

static Suite *
engine_suite(void)
{
	Suite	*s = suite_create("engine");
	TCase	*tc = tcase_create("engine");

	tcase_add_loop_test(tc, engine_table, 0,
	    sizeof(eng_cases) / sizeof(eng_cases[0]));
	tcase_add_loop_test(tc, engine_need_table, 0,
	    sizeof(need_cases) / sizeof(need_cases[0]));
	tcase_add_test(tc, engine_need_exhaustive);
	tcase_add_loop_test(tc, engine_cost, 0,
	    sizeof(cost_cases) / sizeof(cost_cases[0]));
	tcase_add_test(tc, engine_need_real_cf);
	tcase_add_test(tc, engine_need_overflow);
	tcase_add_test(tc, engine_trace_sources);
	tcase_add_test(tc, engine_factset);
	tcase_add_test(tc, engine_failure_actions);
	tcase_add_test(tc, engine_names);
	tcase_add_loop_test(tc, map_pure_table, 0,
	    sizeof(pure_cases) / sizeof(pure_cases[0]));
	tcase_add_test(tc, map_pure_domain_filter);
	/* the exhaustive test walks 3^9 combinations, slow under valgrind */
	tcase_set_timeout(tc, 600);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(engine_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
