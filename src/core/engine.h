#ifndef VRCPT_ENGINE_H
#define VRCPT_ENGINE_H
/*
 * engine - the decision: what Postfix's reject_unlisted_recipient would
 * answer for a recipient (smtpd_check.c check_rcpt_maps), as a policy
 * action.
 *
 * The engine is pure. It is called with the facts known so far and
 * either decides or says which lookups it needs; the caller performs
 * them (all at once, pipelined) and calls again with the facts added.
 * It walks Postfix's order every time, so that the first match wins and
 * a lookup error counts exactly where Postfix would have hit it:
 *   1. domain class: mydestination (local) > virtual_alias_domains >
 *      virtual_mailbox_domains > relay_domains > other (trivial-rewrite
 *      resolve.c, resolve_local.c); relay_domains matches subdomains as
 *      parent_domain_matches_subdomains says;
 *   2. local or other class, IP literal, no domain: other_domain_action
 *      (Postfix checks the local class itself);
 *   3. any key of recipient_canonical_maps, then of canonical_maps, then
 *      of virtual_alias_maps matches: valid (whatever the class);
 *   4. class map: virtual alias domain -> unknown in virtual alias table;
 *      mailbox domain -> virtual_mailbox_maps; relay -> relay_recipient_maps
 *      (an empty parameter means "no check": valid).
 * Keys are tried in addr.h order, each against every map of the list
 * before the next key (maps_find).
 *
 * To save round trips, ENGINE_NEED lists every lookup that the walk may
 * still need given the facts known (speculatively: class maps of every
 * class not yet ruled out), not only the next one.
 *
 * Depends on: util/, core/{addr,map,fact}.h. No I/O, no clock.
 */
#include <stdbool.h>
#include <stddef.h>

#include "core/addr.h"
#include "core/fact.h"
#include "core/map.h"

#define ENGINE_LOOKUPS_MAX	128	/* lookups one decision may need */
#define ENGINE_ACTION_MAX	600	/* a policy action line */

enum lookup_failure_action {
	LFA_DEFER,		/* 451 4.3.0 Temporary lookup failure */
	LFA_DUNNO		/* fail open */
};

struct engine_cfg {
	struct maplist mydestination;	/* the local class: not handled */
	struct maplist virtual_alias_domains;
	struct maplist virtual_mailbox_domains;
	struct maplist relay_domains;
	struct maplist recipient_canonical_maps;
	struct maplist canonical_maps;
	struct maplist virtual_alias_maps;
	struct maplist virtual_mailbox_maps;
	struct maplist relay_recipient_maps;
	struct addr_opts addr;
	/* parent_domain_matches_subdomains lists relay_domains: a domain
	 * of relay_domains matches its subdomains too (Postfix default) */
	bool	 relay_domains_parent;
	unsigned unknown_virtual_alias_reject_code;	/* 550 */
	unsigned unknown_virtual_mailbox_reject_code;	/* 550 */
	unsigned unknown_relay_recipient_reject_code;	/* 550 */
	bool	 show_user_unknown_table_name;		/* yes */
	bool	 soft_bounce;				/* no */
	bool	 warn_if_reject;			/* no */
	enum lookup_failure_action lookup_failure_action;	/* defer */
	/* propagate_unmatched_extensions (socketmap answers, core/smap.h) */
	bool	 propagate_virtual;			/* yes */
	bool	 propagate_canonical;			/* yes */
	const char *other_domain_action;	/* "reject_unlisted_recipient" */
};

enum domain_class {
	DC_NONE,		/* not decided yet */
	DC_ALIAS,
	DC_MAILBOX,
	DC_RELAY,
	DC_OTHER		/* not handled here (or IP literal, no domain) */
};

/* one lookup: a map and a key; key is borrowed from the struct addr */
struct lookup {
	const struct map *map;
	const char *key;
};

struct lookup_list {
	struct lookup v[ENGINE_LOOKUPS_MAX];
	size_t	 n;
};

/* the facts known for one request: a small table, searched linearly */
struct fact_entry {
	const struct map *map;
	char	*key;
	enum fact_result result;
	enum fact_source source;
	char	*value;		/* FACT_FOUND: the value, for traces */
	char	*why;		/* FACT_UNAVAILABLE: the reason, for logs */
};

struct factset {
	struct fact_entry *v;
	size_t	 n, cap;
};

void	factset_init(struct factset *fs);
void	factset_free(struct factset *fs);
/* factset_add - copy a fact in (value and why may be NULL); replaces an
 * existing entry for the same map and key */
void	factset_add(struct factset *fs, const struct map *map, const char *key,
	    enum fact_result result, enum fact_source source,
	    const char *value, const char *why);
const struct fact_entry *factset_get(const struct factset *fs,
	    const struct map *map, const char *key);

enum verdict_kind {
	VERDICT_VALID,		/* recipient exists: DUNNO */
	VERDICT_UNKNOWN,	/* user unknown: the class's reject */
	VERDICT_FAILURE,	/* lookup error: lookup_failure_action */
	VERDICT_NOT_HANDLED	/* other_domain_action */
};

/* one step of the walk, for vrcptctl query and debug logs */
struct trace_entry {
	const char *param;	/* "virtual_alias_maps", ... */
	const struct map *map;
	const char *key;	/* borrowed from the struct addr */
	enum fact_result result;
	enum fact_source source;
	const char *value;	/* borrowed from the factset */
};

#define ENGINE_TRACE_MAX	ENGINE_LOOKUPS_MAX

struct trace {
	struct trace_entry v[ENGINE_TRACE_MAX];
	size_t	 n;
};

struct verdict {
	enum verdict_kind kind;
	enum domain_class dclass;
	/* the policy action to send: "DUNNO", "550 5.1.1 User unknown in
	 * virtual mailbox table", "451 4.3.0 Temporary lookup failure",
	 * other_domain_action, ... */
	char	 action[ENGINE_ACTION_MAX];
	/* reject/defer parts (code 0 for DUNNO and not-handled): what the
	 * SMTP client sees after "<rcpt>: Recipient address rejected: " */
	unsigned code;
	char	 dsn[16];
	char	 text[ENGINE_ACTION_MAX];
	bool	 warn_only;	/* warn_if_reject: would have rejected, action
				 * is DUNNO */
	const struct fact_entry *decided_by;	/* the fact that decided
						 * (match or failure), or
						 * NULL */
};

enum engine_status {
	ENGINE_DONE,		/* *v_r is set */
	ENGINE_NEED		/* *need_r lists lookups to perform */
};

/*
 * engine_decide - one step. cfg and a are the configuration and the
 * parsed recipient; facts holds what is known. trace_r may be NULL; it is
 * filled with the lookups the walk consulted in order (on ENGINE_DONE).
 * Lookups that map_lookup_pure() can answer are answered inside and never
 * listed in *need_r. ENGINE_NEED never repeats a lookup present in facts.
 */
enum engine_status engine_decide(const struct engine_cfg *cfg,
	    const struct addr *a, const struct factset *facts,
	    struct lookup_list *need_r, struct verdict *v_r,
	    struct trace *trace_r);

/*
 * engine_failure - the verdict when the facts cannot be had at all (the
 * request ran out of time): lookup_failure_action.
 */
void	engine_failure(const struct engine_cfg *cfg, struct verdict *v_r);

/*
 * engine_verdict - the verdict of a kind and class as engine_decide()
 * makes it (decided_by NULL), for decisions remembered in the cache.
 */
void	engine_verdict(const struct engine_cfg *cfg, enum verdict_kind kind,
	    enum domain_class dc, struct verdict *v_r);

const char *domain_class_name(enum domain_class c);	/* "virtual alias", ...*/
const char *verdict_kind_name(enum verdict_kind k);	/* "valid", ... */

#endif
