/*
 * engine - decide, from the lookup facts known so far, what Postfix's
 * reject_unlisted_recipient would answer for one recipient, or say which
 * lookups are still needed.
 *
 * The walk is Postfix's, step by step:
 *   trivial-rewrite/resolve.c: resolve_addr - the domain class:
 *     virtual_alias_domains, virtual_mailbox_domains, relay_domains, in
 *     that order; a lookup error in one of them fails the resolver
 *     (RESOLVE_FLAG_FAIL) and smtpd answers 451 4.3.0;
 *   smtpd/smtpd_check.c: check_rcpt_maps - a match in
 *     recipient_canonical_maps, canonical_maps or virtual_alias_maps (in
 *     that order, each searched with every key before the next) accepts,
 *     whatever the class; then the alias class rejects, the mailbox and
 *     relay classes consult their own table (an empty parameter means no
 *     check);
 *   global/mail_addr_find.c: mail_addr_find_opt - the key order;
 *   global/maps.c: maps_find - every map of a list for one key before
 *     the next key; the first match wins and the first lookup error ends
 *     the whole search.
 * A lookup whose answer is not known yet stops the walk. Instead of
 * asking for that one lookup only, the engine lists every lookup that
 * some outcome of the unknown ones could still lead to, so that the
 * caller can perform them in one pipelined round trip.
 *
 * Depends on: util/, core/{addr,map,fact}.h. No I/O, no clock, no state
 * between calls.
 *
 * Security: this is where fail-open versus tempfail is decided
 * (lookup_failure_action) and where every reply text is built. Reply
 * texts are made from configuration values and constants only, never
 * from the address, and are bounded by ENGINE_ACTION_MAX.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/engine.h"
#include "core/fact.h"
#include "core/map.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define ENGINE_FACTS_INIT	16	/* first allocation of a factset */
/* recipient_canonical_maps, canonical_maps, virtual_alias_maps */
#define ENGINE_VALID_LISTS	3
/* valid_hostname.c: VALID_LABEL_LEN, VALID_HOSTNAME_LEN */
#define ENGINE_LABEL_MAX	63
#define ENGINE_HOSTNAME_MAX	255

/* the DSN detail of user-unknown rejects for a recipient */
#define ENGINE_DSN_UNKNOWN	"5.1.1"
#define ENGINE_TEXT_UNKNOWN	"User unknown"
/* smtpd_check.c: reject_dict_retry */
#define ENGINE_FAIL_CODE	451
#define ENGINE_FAIL_DSN		"4.3.0"
#define ENGINE_FAIL_TEXT	"Temporary lookup failure"
/* smtpd_check.c reject_server_error(): any other maps error, e.g. an
 * empty lookup result (maps_find(): DICT_ERR_CONFIG) */
#define ENGINE_CONFIG_DSN	"4.3.5"
#define ENGINE_CONFIG_TEXT	"Server configuration error"
/* smtpd_check.c: smtpd_check_reject, a reply code out of range */
#define ENGINE_BADCODE_CODE	450
#define ENGINE_BADCODE_DSN	"4.7.1"
#define ENGINE_BADCODE_TEXT	"Service unavailable"
#define ENGINE_DUNNO		"DUNNO"
/* smtpd_check_reject() cuts a reply at 510 bytes; ours are far shorter */
#define ENGINE_REPLY_FMT	"%u %.15s %.500s"

/* possible outcomes of searching one map list with a series of keys */
#define OUT_FOUND	(1u << 0)
#define OUT_NOT_FOUND	(1u << 1)
#define OUT_FAIL	(1u << 2)

/* how a *_domains list matches a domain (walk_domains) */
enum dom_match {
	DOM_EXACT,		/* string_list: the name only */
	DOM_DOT,		/* domain_list: ".example.com" patterns */
	DOM_PARENT		/* domain_list, MATCH_FLAG_PARENT */
};

/* the walk over the lookups, for one engine_decide() call */
struct walk {
	const struct factset *facts;
	struct lookup_list *need;	/* unknown lookups the walk reached */
	struct trace *trace;		/* NULL: not wanted */
	const struct fact_entry *decided_by;	/* ended the last search */
	bool	 frontier;		/* recipient-key tables: see below */
	bool	 rcpt_known;		/* a recipient-key lookup is known */
	bool	 stopped;		/* reached lookups are not asked for */
};

/*
 * Facts.
 */

void
factset_init(struct factset *fs)
{
	memset(fs, 0, sizeof(*fs));
}

void
factset_free(struct factset *fs)
{
	size_t	 i;

	for (i = 0; i < fs->n; i++) {
		free(fs->v[i].key);
		free(fs->v[i].value);
		free(fs->v[i].why);
	}
	free(fs->v);
	memset(fs, 0, sizeof(*fs));
}

static struct fact_entry *
factset_find(const struct factset *fs, const struct map *map,
    const char *key)
{
	size_t	 i;

	for (i = 0; i < fs->n; i++)
		if (fs->v[i].map == map && strcmp(fs->v[i].key, key) == 0)
			return &fs->v[i];
	return NULL;
}

void
factset_add(struct factset *fs, const struct map *map, const char *key,
    enum fact_result result, enum fact_source source,
    const char *value, const char *why)
{
	struct fact_entry *e;

	if ((e = factset_find(fs, map, key)) != NULL) {
		free(e->value);
		free(e->why);
	} else {
		if (fs->n == fs->cap) {
			fs->cap = fs->cap == 0 ? ENGINE_FACTS_INIT :
			    fs->cap * 2;
			fs->v = xreallocarray(fs->v, fs->cap, sizeof(*fs->v));
		}
		e = &fs->v[fs->n++];
		e->map = map;
		e->key = xstrdup(key);
	}
	e->result = result;
	e->source = source;
	e->value = value != NULL ? xstrdup(value) : NULL;
	e->why = why != NULL ? xstrdup(why) : NULL;
}

const struct fact_entry *
factset_get(const struct factset *fs, const struct map *map,
    const char *key)
{
	return factset_find(fs, map, key);
}

/*
 * The walk.
 */

/* walk_need - remember an unknown lookup once; the list is bounded */
static void
walk_need(struct walk *w, const struct map *m, const char *key)
{
	struct lookup_list *need = w->need;
	size_t	 i;

	if (w->stopped)
		return;

	for (i = 0; i < need->n; i++)
		if (need->v[i].map == m && strcmp(need->v[i].key, key) == 0)
			return;
	/* the rest is asked for in the next round */
	if (need->n == ENGINE_LOOKUPS_MAX)
		return;
	need->v[need->n].map = m;
	need->v[need->n].key = key;
	need->n++;
}

static void
walk_trace(struct walk *w, const char *param, const struct map *m,
    const char *key, enum fact_result res, enum fact_source src,
    const char *value)
{
	struct trace_entry *t;

	if (w->trace == NULL || w->trace->n == ENGINE_TRACE_MAX)
		return;
	t = &w->trace->v[w->trace->n++];
	t->param = param;
	t->map = m;
	t->key = key;
	t->result = res;
	t->source = src;
	t->value = value;
}

/*
 * walk_lookup - one (map, key): answered by the map itself when it can
 * (map_lookup_pure), else from the facts. Returns true with *res_r and
 * *fe_r (NULL for a pure answer) when the answer is known, and traces
 * it; false when it is not known yet (then it is needed). maps: a *_maps
 * list, where an empty value is a lookup error (see walk_list).
 */
static bool
walk_lookup(struct walk *w, const char *param, const struct map *m,
    const char *key, bool maps, enum fact_result *res_r,
    const struct fact_entry **fe_r)
{
	const struct fact_entry *fe = NULL;
	enum fact_result res;
	enum fact_source src;
	const char *value;

	if (map_lookup_pure(m, key, &res, &value)) {
		src = FACT_SRC_PURE;
		if (res != FACT_FOUND)
			value = NULL;
		else if (maps && value != NULL && *value == '\0')
			res = FACT_UNAVAILABLE;
	} else if ((fe = factset_get(w->facts, m, key)) != NULL) {
		res = fe->result;
		src = fe->source;
		value = fe->value;
	} else {
		walk_need(w, m, key);
		return false;
	}
	if (w->frontier)
		w->rcpt_known = true;
	walk_trace(w, param, m, key, res, src, value);
	*res_r = res;
	*fe_r = fe;
	return true;
}

/*
 * walk_list - search the maps of ml with each key in turn, as
 * maps_find() inside mail_addr_find_opt() would: the first match ends
 * the search, and so does the first lookup error (maps_find() breaks out
 * of its loop and mail_addr_find_opt() tries no further key). Returns
 * the set of outcomes still possible given the unknown lookups; with
 * none unknown on the way exactly one bit is set, and w->decided_by is
 * the fact that ended the search (NULL if none, or a pure answer).
 *
 * partial[k] marks the partial keys (mail_addr_find.c: PARTIAL, i.e.
 * maps_find(..., DICT_FLAG_FIXED)), which pattern tables are not asked.
 * An empty value is a lookup error here: maps_find() "returns an empty
 * string result" (smtpd answers 451 4.3.5 Server configuration error,
 * as we do under lookup_failure_action: verdict_failure);
 * in a *_domains list (walk_domains) it is a match.
 */
static unsigned
walk_list(struct walk *w, const struct maplist *ml,
    const char *const *keys, const bool *partial, size_t nkeys)
{
	const struct fact_entry *fe;
	const struct map *m;
	enum fact_result res;
	unsigned unsure = 0;
	bool	 key_unknown = false;
	size_t	 k, i;

	w->decided_by = NULL;
	for (k = 0; k < nkeys; k++) {
		/*
		 * The frontier of a first round: while nothing is known of
		 * the recipient's own keys, ask for them one key at a time
		 * (the first key of every table of this list), not for the
		 * later keys and tables that only matter if that one misses:
		 * a valid recipient is usually settled by its first key. Once
		 * something is known, everything still possible is asked for
		 * at once (an unknown recipient needs it all).
		 */
		if (w->frontier && k > 0 && key_unknown && !w->rcpt_known)
			w->stopped = true;
		key_unknown = false;
		for (i = 0; i < ml->n; i++) {
			m = ml->v[i];
			if (partial[k] && map_is_pattern(m))
				continue;
			if (!walk_lookup(w, ml->param, m, keys[k], true, &res,
			    &fe)) {
				/* could be found, not found or an error */
				unsure = OUT_FOUND | OUT_FAIL;
				key_unknown = true;
				continue;
			}
			switch (res) {
			case FACT_FOUND:
				w->decided_by = fe;
				return OUT_FOUND | unsure;
			case FACT_UNAVAILABLE:
				w->decided_by = fe;
				return OUT_FAIL | unsure;
			case FACT_NOT_FOUND:
				break;
			}
		}
	}
	return OUT_NOT_FOUND | unsure;
}

/*
 * domain_literal_match - a plain domain name of a *_domains list against
 * the (folded) domain of the recipient, as match_ops.c: match_hostname
 * (DOM_DOT, DOM_PARENT) and match_string (DOM_EXACT) compare them: the
 * exact name always; with MATCH_FLAG_PARENT a parent domain ("example.com"
 * matches "a.example.com", and ".example.com" then matches nothing);
 * without it, ".example.com" matches its subdomains.
 */
static bool
domain_literal_match(const char *pat, const char *name, enum dom_match mode)
{
	size_t	 plen = strlen(pat), nlen = strlen(name);
	const char *pd;

	if (strcmp(name, pat) == 0)
		return true;
	if (mode == DOM_EXACT || plen >= nlen)
		return false;
	pd = name + nlen - plen;
	if (strcmp(pd, pat) != 0)
		return false;
	if (mode == DOM_PARENT)
		return pd[-1] == '.';
	return pat[0] == '.';
}

/*
 * walk_domains - match_list_match() over a *_domains list: the maps in
 * order, each with all of its keys before the next map (unlike
 * walk_list). A plain domain name is compared (domain_literal_match); a
 * table is asked for the domain, then, in a domain_list
 * (relay_domains) and unless it is a pattern table (no
 * DICT_FLAG_FIXED), for each parent domain: "example.com" for
 * "a.example.com" with MATCH_FLAG_PARENT, ".example.com" without
 * (match_ops.c: match_hostname). Keys are suffixes of name, so they
 * live as long as it does. Any value, even empty, is a match; a lookup
 * error ends the search (match_error). Outcomes as walk_list.
 */
static unsigned
walk_domains(struct walk *w, const struct maplist *ml, const char *name,
    enum dom_match mode)
{
	const struct fact_entry *fe;
	const struct map *m;
	enum fact_result res;
	const char *key, *next;
	unsigned unsure = 0;
	size_t	 i;

	w->decided_by = NULL;
	for (i = 0; i < ml->n; i++) {
		m = ml->v[i];
		if (m->type == MAP_DOMAIN) {
			if (domain_literal_match(m->u.domain, name, mode)) {
				walk_trace(w, ml->param, m, name, FACT_FOUND,
				    FACT_SRC_PURE, m->u.domain);
				return OUT_FOUND | unsure;
			}
			walk_trace(w, ml->param, m, name, FACT_NOT_FOUND,
			    FACT_SRC_PURE, NULL);
			continue;
		}
		for (key = name; *key != '\0'; key = next) {
			if (walk_lookup(w, ml->param, m, key, false, &res,
			    &fe)) {
				switch (res) {
				case FACT_FOUND:
					w->decided_by = fe;
					return OUT_FOUND | unsure;
				case FACT_UNAVAILABLE:
					w->decided_by = fe;
					return OUT_FAIL | unsure;
				case FACT_NOT_FOUND:
					break;
				}
			} else {
				unsure = OUT_FOUND | OUT_FAIL;
			}
			if (mode == DOM_EXACT || map_is_pattern(m) ||
			    (next = strchr(key + 1, '.')) == NULL)
				break;
			if (mode == DOM_PARENT)
				next++;
		}
	}
	return OUT_NOT_FOUND | unsure;
}

/*
 * engine_domain_routable - would trivial-rewrite give this address a
 * virtual or relay class at all? resolve_addr() short-cuts to the
 * default class (RESOLVE_FLAG_ERROR) for a malformed UTF-8 address
 * (with smtputf8_enable) and for a domain that fails
 * valid_utf8_hostname(); a numeric "domain" is not a host name either
 * (resolve_numeric_domain = no). Without smtputf8_enable, malformed
 * UTF-8 is not looked at, but a non-ASCII domain is no host name
 * (valid_utf8_hostname() with enable_utf8 off is valid_hostname()).
 * IP literals and addresses without a domain are not handled here
 * (README, "What it answers": the other_domain_action row).
 */
static bool
engine_domain_routable(const struct addr *a, bool utf8)
{
	const unsigned char *cp;
	const char *d = a->domain;
	size_t	 label = 0, len;
	bool	 non_numeric = false, ascii = true;

	if (!a->has_domain || *d == '\0' || a->ip_literal)
		return false;
	if (utf8 && !str_valid_utf8(a->folded, strlen(a->folded)))
		return false;

	/* valid_hostname.c: valid_hostname */
	for (cp = (const unsigned char *)d; *cp != '\0'; cp++) {
		if ((*cp >= 'a' && *cp <= 'z') || (*cp >= 'A' && *cp <= 'Z') ||
		    *cp == '_' || *cp >= 0x80) {
			if (*cp >= 0x80) {
				if (!utf8)
					return false;
				ascii = false;
			}
			non_numeric = true;
			label++;
		} else if (*cp >= '0' && *cp <= '9') {
			label++;
		} else if (*cp == '.') {
			if (label == 0 || cp[1] == '\0')
				return false;
			label = 0;
			continue;
		} else if (*cp == '-') {
			non_numeric = true;
			label++;
			if (label == 1 || cp[1] == '\0' || cp[1] == '.')
				return false;
		} else {
			return false;
		}
		/* a UTF-8 label's length counts in its A-label form */
		if (ascii && label > ENGINE_LABEL_MAX)
			return false;
	}
	len = (size_t)(cp - (const unsigned char *)d);
	if (!non_numeric || (ascii && len > ENGINE_HOSTNAME_MAX))
		return false;
	return true;
}

/*
 * Verdicts.
 */

static void
verdict_init(struct verdict *v, enum verdict_kind kind,
    enum domain_class dc)
{
	memset(v, 0, sizeof(*v));
	v->kind = kind;
	v->dclass = dc;
}

static void
verdict_dunno(struct verdict *v)
{
	snprintf(v->action, sizeof(v->action), "%s", ENGINE_DUNNO);
}

/*
 * verdict_reject - a reject or defer as smtpd_check_reject() formats it:
 * a code outside 400..599 becomes 450 4.7.1 Service unavailable;
 * soft_bounce turns 5xx into 4xx; the DSN class digit always follows the
 * code. warn_if_reject answers DUNNO but keeps the would-be reply, except
 * for lookup errors (MAIL_ERROR_DATA), which it cannot turn into a
 * warning.
 */
static void
verdict_reject(const struct engine_cfg *cfg, struct verdict *v,
    unsigned code, const char *dsn, const char *text, bool may_warn)
{
	if (code < 400 || code > 599) {
		code = ENGINE_BADCODE_CODE;
		dsn = ENGINE_BADCODE_DSN;
		text = ENGINE_BADCODE_TEXT;
	}
	if (cfg->soft_bounce && code >= 500)
		code -= 100;
	v->code = code;
	snprintf(v->dsn, sizeof(v->dsn), "%s", dsn);
	v->dsn[0] = (char)('0' + code / 100);
	snprintf(v->text, sizeof(v->text), "%s", text);
	if (may_warn && cfg->warn_if_reject) {
		v->warn_only = true;
		verdict_dunno(v);
	} else {
		snprintf(v->action, sizeof(v->action), ENGINE_REPLY_FMT,
		    v->code, v->dsn, v->text);
	}
}

/*
 * verdict_fail_as - lookup_failure_action with this reply; code 0 when
 * failing open. Neither reply can be a warn_if_reject warning
 * (smtpd_check_reject(): MAIL_ERROR_DATA, MAIL_ERROR_SOFTWARE).
 */
static void
verdict_fail_as(const struct engine_cfg *cfg, struct verdict *v,
    enum domain_class dc, const struct fact_entry *fe, const char *dsn,
    const char *text)
{
	verdict_init(v, VERDICT_FAILURE, dc);
	v->decided_by = fe;
	switch (cfg->lookup_failure_action) {
	case LFA_DEFER:
		verdict_reject(cfg, v, ENGINE_FAIL_CODE, dsn, text, false);
		return;
	case LFA_DUNNO:
		verdict_dunno(v);
		return;
	}
}

/*
 * verdict_failure - a lookup that failed: fe, a fact that could not be
 * had (check_mail_addr_find(): DICT_ERR_RETRY, reject_dict_retry), or
 * NULL: a table answered with an empty value (walk_lookup), which
 * maps_find() calls a configuration error (reject_server_error)
 */
static void
verdict_failure(const struct engine_cfg *cfg, struct verdict *v,
    enum domain_class dc, const struct fact_entry *fe)
{
	if (fe != NULL)
		verdict_fail_as(cfg, v, dc, fe, ENGINE_FAIL_DSN,
		    ENGINE_FAIL_TEXT);
	else
		verdict_fail_as(cfg, v, dc, NULL, ENGINE_CONFIG_DSN,
		    ENGINE_CONFIG_TEXT);
}

/* verdict_unknown - the class's "User unknown in ... table" reject */
static void
verdict_unknown(const struct engine_cfg *cfg, struct verdict *v,
    enum domain_class dc, unsigned code, const char *table)
{
	char	 text[ENGINE_ACTION_MAX];

	verdict_init(v, VERDICT_UNKNOWN, dc);
	/* show_user_unknown_table_name: check_rcpt_maps, resolve_addr */
	if (cfg->show_user_unknown_table_name)
		snprintf(text, sizeof(text), "%s in %s", ENGINE_TEXT_UNKNOWN,
		    table);
	else
		snprintf(text, sizeof(text), "%s", ENGINE_TEXT_UNKNOWN);
	verdict_reject(cfg, v, code, ENGINE_DSN_UNKNOWN, text, true);
}

static void
verdict_valid(struct verdict *v, enum domain_class dc,
    const struct fact_entry *fe)
{
	verdict_init(v, VERDICT_VALID, dc);
	v->decided_by = fe;
	verdict_dunno(v);
}

static void
verdict_not_handled(const struct engine_cfg *cfg, struct verdict *v)
{
	const char *act = cfg->other_domain_action;

	verdict_init(v, VERDICT_NOT_HANDLED, DC_OTHER);
	snprintf(v->action, sizeof(v->action), "%s",
	    act != NULL && *act != '\0' ? act : ENGINE_DUNNO);
}

/* verdict_unknown_class - the unknown-user reject of a class */
static void
verdict_unknown_class(const struct engine_cfg *cfg, struct verdict *v,
    enum domain_class dc)
{
	switch (dc) {
	case DC_ALIAS:
		verdict_unknown(cfg, v, dc,
		    cfg->unknown_virtual_alias_reject_code,
		    "virtual alias table");
		return;
	case DC_MAILBOX:
		verdict_unknown(cfg, v, dc,
		    cfg->unknown_virtual_mailbox_reject_code,
		    "virtual mailbox table");
		return;
	case DC_RELAY:
		verdict_unknown(cfg, v, dc,
		    cfg->unknown_relay_recipient_reject_code,
		    "relay recipient table");
		return;
	case DC_NONE:
	case DC_OTHER:
		break;
	}
	verdict_not_handled(cfg, v);
}

void
engine_verdict(const struct engine_cfg *cfg, enum verdict_kind kind,
    enum domain_class dc, struct verdict *v_r)
{
	switch (kind) {
	case VERDICT_VALID:
		verdict_valid(v_r, dc, NULL);
		return;
	case VERDICT_UNKNOWN:
		verdict_unknown_class(cfg, v_r, dc);
		return;
	case VERDICT_FAILURE:
		/* never remembered; the reply of a lookup that failed */
		verdict_fail_as(cfg, v_r, dc, NULL, ENGINE_FAIL_DSN,
		    ENGINE_FAIL_TEXT);
		return;
	case VERDICT_NOT_HANDLED:
		verdict_not_handled(cfg, v_r);
		return;
	}
}

/*
 * The decision.
 */

/* the single class left, when only one is possible */
static enum domain_class
engine_one_class(unsigned classes)
{
	if (classes == (1u << DC_ALIAS))
		return DC_ALIAS;
	if (classes == (1u << DC_MAILBOX))
		return DC_MAILBOX;
	if (classes == (1u << DC_RELAY))
		return DC_RELAY;
	if (classes == (1u << DC_OTHER))
		return DC_OTHER;
	return DC_NONE;
}

enum engine_status
engine_decide(const struct engine_cfg *cfg, const struct addr *a,
    const struct factset *facts, struct lookup_list *need_r,
    struct verdict *v_r, struct trace *trace_r)
{
	/* resolve.c: resolve_local() first (mydestination: the local
	 * class, which Postfix checks itself), then the others */
	const struct maplist *dlists[] = { &cfg->mydestination,
	    &cfg->virtual_alias_domains, &cfg->virtual_mailbox_domains,
	    &cfg->relay_domains };
	const enum domain_class dcs[] = { DC_OTHER, DC_ALIAS, DC_MAILBOX,
	    DC_RELAY };
	/* resolve_local.c and resolve.c: string_list_init() for
	 * mydestination and the virtual domains, domain_list_init() with
	 * match_parent_style() for relay_domains */
	const enum dom_match dmodes[] = { DOM_EXACT, DOM_EXACT, DOM_EXACT,
	    cfg->relay_domains_parent ? DOM_PARENT : DOM_DOT };
	const char *keys[ADDR_KEYS_MAX];
	bool	 partial[ADDR_KEYS_MAX];
	/* check_rcpt_maps(): the tables that make any class valid */
	const struct maplist *vlists[ENGINE_VALID_LISTS] = {
	    &cfg->recipient_canonical_maps,
	    &cfg->canonical_maps, &cfg->virtual_alias_maps };
	const struct fact_entry *cls_fe = NULL, *class_fe = NULL;
	const struct fact_entry *valid_fe[ENGINE_VALID_LISTS] = { NULL };
	const struct maplist *class_maps = NULL;
	struct walk w;
	unsigned classes = 0, o, mbox_o = 0, relay_o = 0;
	unsigned valid_o[ENGINE_VALID_LISTS] = { 0 };
	bool	 valid_nf;
	bool	 cls_fail = false, reach = true;
	enum domain_class dc;
	size_t	 i;

	need_r->n = 0;
	if (trace_r != NULL)
		trace_r->n = 0;
	memset(&w, 0, sizeof(w));
	w.facts = facts;
	w.need = need_r;
	w.trace = trace_r;

	if (!engine_domain_routable(a, cfg->addr.utf8)) {
		verdict_not_handled(cfg, v_r);
		return ENGINE_DONE;
	}
	for (i = 0; i < a->nkeys; i++) {
		keys[i] = a->keys[i].key;
		partial[i] = a->keys[i].kind != ADDR_KEY_FULL;
	}

	/* resolve_addr(): the domain class, first list that matches */
	for (i = 0; i < sizeof(dlists) / sizeof(dlists[0]) && reach; i++) {
		o = walk_domains(&w, dlists[i], a->domain, dmodes[i]);
		if (o & OUT_FOUND)
			classes |= 1u << dcs[i];
		if (o & OUT_FAIL) {
			cls_fail = true;
			cls_fe = w.decided_by;
		}
		reach = (o & OUT_NOT_FOUND) != 0;
	}
	if (reach)
		classes |= 1u << DC_OTHER;

	/*
	 * check_rcpt_maps(): recipient_canonical_maps, canonical_maps,
	 * virtual_alias_maps, for every class; a list is searched only if
	 * the ones before it may have found nothing
	 */
	w.frontier = true;
	valid_nf = (classes & ~(1u << DC_OTHER)) != 0;
	for (i = 0; i < ENGINE_VALID_LISTS && valid_nf; i++) {
		valid_o[i] = walk_list(&w, vlists[i], keys, partial,
		    a->nkeys);
		valid_fe[i] = w.decided_by;
		valid_nf = (valid_o[i] & OUT_NOT_FOUND) != 0;
	}
	/* then the table of the class; an empty parameter is no check */
	if (valid_nf) {
		if ((classes & (1u << DC_MAILBOX)) &&
		    cfg->virtual_mailbox_maps.n > 0) {
			mbox_o = walk_list(&w, &cfg->virtual_mailbox_maps,
			    keys, partial, a->nkeys);
			class_fe = w.decided_by;
		}
		if ((classes & (1u << DC_RELAY)) &&
		    cfg->relay_recipient_maps.n > 0) {
			relay_o = walk_list(&w, &cfg->relay_recipient_maps,
			    keys, partial, a->nkeys);
			class_fe = w.decided_by;
		}
	}

	if (need_r->n > 0) {
		if (trace_r != NULL)
			trace_r->n = 0;
		return ENGINE_NEED;
	}

	/* nothing unknown on the way: every outcome is a single bit */
	if (cls_fail) {
		/* smtpd_check.c: RESOLVE_FLAG_FAIL -> reject_dict_retry */
		verdict_fail_as(cfg, v_r, DC_NONE, cls_fe, ENGINE_FAIL_DSN,
		    ENGINE_FAIL_TEXT);
		return ENGINE_DONE;
	}
	dc = engine_one_class(classes);
	if (dc == DC_OTHER || dc == DC_NONE) {
		verdict_not_handled(cfg, v_r);
		return ENGINE_DONE;
	}
	for (i = 0; i < ENGINE_VALID_LISTS; i++) {
		if (valid_o[i] == OUT_FOUND) {
			verdict_valid(v_r, dc, valid_fe[i]);
			return ENGINE_DONE;
		}
		if (valid_o[i] == OUT_FAIL) {
			/* check_mail_addr_find(): reject_dict_retry */
			verdict_failure(cfg, v_r, dc, valid_fe[i]);
			return ENGINE_DONE;
		}
	}
	switch (dc) {
	case DC_ALIAS:
		/*
		 * resolve_addr() sends every virtual alias domain address to
		 * the error transport, "5.1.1 User unknown in virtual alias
		 * table"; check_rcpt_maps() rejects with
		 * unknown_virtual_alias_reject_code.
		 */
		verdict_unknown_class(cfg, v_r, dc);
		return ENGINE_DONE;
	case DC_MAILBOX:
		class_maps = &cfg->virtual_mailbox_maps;
		o = mbox_o;
		break;
	case DC_RELAY:
		class_maps = &cfg->relay_recipient_maps;
		o = relay_o;
		break;
	case DC_NONE:
	case DC_OTHER:
		/* handled above */
		verdict_not_handled(cfg, v_r);
		return ENGINE_DONE;
	}
	/* "*var_virt_mailbox_maps && NOMATCH(...)": empty means valid */
	if (class_maps->n == 0 || o == OUT_FOUND) {
		verdict_valid(v_r, dc, class_fe);
		return ENGINE_DONE;
	}
	if (o == OUT_FAIL) {
		verdict_failure(cfg, v_r, dc, class_fe);
		return ENGINE_DONE;
	}
	verdict_unknown_class(cfg, v_r, dc);
	return ENGINE_DONE;
}

void
engine_failure(const struct engine_cfg *cfg, struct verdict *v_r)
{
	verdict_fail_as(cfg, v_r, DC_NONE, NULL, ENGINE_FAIL_DSN,
	    ENGINE_FAIL_TEXT);
}

const char *
domain_class_name(enum domain_class c)
{
	switch (c) {
	case DC_NONE:
		return "none";
	case DC_ALIAS:
		return "virtual alias";
	case DC_MAILBOX:
		return "virtual mailbox";
	case DC_RELAY:
		return "relay";
	case DC_OTHER:
		return "other";
	}
	return "invalid";
}

const char *
verdict_kind_name(enum verdict_kind k)
{
	switch (k) {
	case VERDICT_VALID:
		return "valid";
	case VERDICT_UNKNOWN:
		return "unknown";
	case VERDICT_FAILURE:
		return "failure";
	case VERDICT_NOT_HANDLED:
		return "not_handled";
	}
	return "invalid";
}
