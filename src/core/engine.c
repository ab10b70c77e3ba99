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
 *   smtpd/smtpd_check.c: check_rcpt_maps - a match in virtual_alias_maps
 *     accepts, whatever the class; then the alias class rejects, the
 *     mailbox and relay classes consult their own table (an empty
 *     parameter means no check);
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
 * partial is NULL for a *_domains list (match_list.c: match_string), the
 * only place where an empty value counts as a match; in a *_maps list
 * maps_find() makes it a lookup error ("returns an empty string
 * result"; smtpd answers 451 4.3.5, we lookup_failure_action).
 */
static unsigned
walk_list(struct walk *w, const struct maplist *ml,
    const char *const *keys, const bool *partial, size_t nkeys)
{
	const struct fact_entry *fe;
	const struct map *m;
	enum fact_result res;
	enum fact_source src;
	const char *value;
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
			fe = NULL;
			if (partial != NULL && partial[k] && map_is_pattern(m))
				continue;
			if (map_lookup_pure(m, keys[k], &res, &value)) {
				src = FACT_SRC_PURE;
				if (res != FACT_FOUND)
					value = NULL;
				else if (partial != NULL && value != NULL &&
				    *value == '\0')
					res = FACT_UNAVAILABLE;
			} else if ((fe = factset_get(w->facts, m,
			    keys[k])) != NULL) {
				res = fe->result;
				src = fe->source;
				value = fe->value;
			} else {
				/* could be found, not found or an error */
				unsure = OUT_FOUND | OUT_FAIL;
				key_unknown = true;
				walk_need(w, m, keys[k]);
				continue;
			}
			if (w->frontier)
				w->rcpt_known = true;
			walk_trace(w, ml->param, m, keys[k], res, src, value);
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
 * engine_domain_routable - would trivial-rewrite give this address a
 * virtual or relay class at all? resolve_addr() short-cuts to the
 * default class (RESOLVE_FLAG_ERROR) for a malformed UTF-8 address
 * (with smtputf8_enable) and for a domain that fails
 * valid_utf8_hostname(); a numeric "domain" is not a host name either
 * (resolve_numeric_domain = no). IP literals and addresses without a
 * domain are not handled here (README, "What it answers": the
 * other_domain_action row).
 */
static bool
engine_domain_routable(const struct addr *a)
{
	const unsigned char *cp;
	const char *d = a->domain;
	size_t	 label = 0, len;
	bool	 non_numeric = false, ascii = true;

	if (!a->has_domain || *d == '\0' || a->ip_literal)
		return false;
	if (!str_valid_utf8(a->folded, strlen(a->folded)))
		return false;

	/* valid_hostname.c: valid_hostname */
	for (cp = (const unsigned char *)d; *cp != '\0'; cp++) {
		if ((*cp >= 'a' && *cp <= 'z') || (*cp >= 'A' && *cp <= 'Z') ||
		    *cp == '_' || *cp >= 0x80) {
			if (*cp >= 0x80)
				ascii = false;
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

/* verdict_failure - lookup_failure_action; code 0 when failing open */
static void
verdict_failure(const struct engine_cfg *cfg, struct verdict *v,
    enum domain_class dc, const struct fact_entry *fe)
{
	verdict_init(v, VERDICT_FAILURE, dc);
	v->decided_by = fe;
	switch (cfg->lookup_failure_action) {
	case LFA_DEFER:
		verdict_reject(cfg, v, ENGINE_FAIL_CODE, ENGINE_FAIL_DSN,
		    ENGINE_FAIL_TEXT, false);
		return;
	case LFA_DUNNO:
		verdict_dunno(v);
		return;
	}
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
		verdict_failure(cfg, v_r, dc, NULL);
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
	const struct maplist *dlists[] = { &cfg->virtual_alias_domains,
	    &cfg->virtual_mailbox_domains, &cfg->relay_domains };
	const enum domain_class dcs[] = { DC_ALIAS, DC_MAILBOX, DC_RELAY };
	const char *keys[ADDR_KEYS_MAX];
	bool	 partial[ADDR_KEYS_MAX];
	const char *dkey = a->domain;
	const struct fact_entry *cls_fe = NULL, *alias_fe, *class_fe = NULL;
	const struct maplist *class_maps = NULL;
	struct walk w;
	unsigned classes = 0, o, alias_o = 0, mbox_o = 0, relay_o = 0;
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

	if (!engine_domain_routable(a)) {
		verdict_not_handled(cfg, v_r);
		return ENGINE_DONE;
	}
	for (i = 0; i < a->nkeys; i++) {
		keys[i] = a->keys[i].key;
		partial[i] = a->keys[i].kind != ADDR_KEY_FULL;
	}

	/* resolve_addr(): the domain class, first list that matches */
	for (i = 0; i < sizeof(dlists) / sizeof(dlists[0]) && reach; i++) {
		o = walk_list(&w, dlists[i], &dkey, NULL, 1);
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

	/* check_rcpt_maps(): virtual_alias_maps first, for every class */
	alias_fe = NULL;
	w.frontier = true;
	if (classes & ~(1u << DC_OTHER)) {
		alias_o = walk_list(&w, &cfg->virtual_alias_maps, keys,
		    partial, a->nkeys);
		alias_fe = w.decided_by;
	}
	/* then the table of the class; an empty parameter is no check */
	if (alias_o & OUT_NOT_FOUND) {
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
		verdict_failure(cfg, v_r, DC_NONE, cls_fe);
		return ENGINE_DONE;
	}
	dc = engine_one_class(classes);
	if (dc == DC_OTHER || dc == DC_NONE) {
		verdict_not_handled(cfg, v_r);
		return ENGINE_DONE;
	}
	if (alias_o == OUT_FOUND) {
		verdict_valid(v_r, dc, alias_fe);
		return ENGINE_DONE;
	}
	if (alias_o == OUT_FAIL) {
		verdict_failure(cfg, v_r, dc, alias_fe);
		return ENGINE_DONE;
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
	verdict_failure(cfg, v_r, DC_NONE, NULL);
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
