#ifndef VRCPT_SMAP_H
#define VRCPT_SMAP_H
/*
 * smap - the answers of vrcptd's socketmap (socketmap_table(5)): for a
 * map name (the Postfix parameter whose list it stands for) and a key,
 * what Postfix's own search of that list would give.
 *
 * Postfix gives a socketmap, a pattern table (dict_sockmap.c:
 * DICT_FLAG_PATTERN), only the whole key: never user@domain without the
 * extension nor @domain (mail_addr_find.c: PARTIAL lookups skip tables
 * without DICT_FLAG_FIXED). So the answer for a whole address is the
 * result of the whole native search:
 *
 *   *_domains, and any list asked for a key without '@' (the default
 *   virtual_alias_domains = $virtual_alias_maps asks the alias maps for
 *   "example.com"): match_list.c, each table of the list in order with
 *   the key, then (tables of fixed keys) its parent domains as Postfix
 *   looks them up in such a table: "example.com" for relay_domains
 *   (Postfix's default parent_domain_matches_subdomains), ".example.com"
 *   for the others; any value matches, an empty one too;
 *   virtual_mailbox_maps, relay_recipient_maps: mail_addr_find.c, keys
 *   user+ext@domain, user@domain, @domain (the engine's order, core/addr),
 *   each against every table before the next key, first match or first
 *   error; the value as the table holds it;
 *   virtual_alias_maps (and canonical_maps, recipient_canonical_maps):
 *   mail_addr_map.c on top: a result "@otherdomain" gets the original
 *   local part in front (without the extension when user@domain
 *   matched), and when user@domain matched, the extension goes back on
 *   every address of the result (propagate_unmatched_extensions).
 *
 * The key arrives in external (quoted) form first and then, when that
 * was not found, in internal form (MA_FORM_EXTERNAL_FIRST); both are
 * unquoted before they are searched, as mail_addr_find_opt() does.
 *
 * Like the engine, smap is pure: smap_decide() is called with the facts
 * known so far and either answers or lists the lookups still needed
 * (every one the search could still reach, so that one pipelined round
 * trip usually does).
 *
 * Adding a name: one row in smap_defs[] (smap.c) naming the
 * engine_cfg list, the search and the propagate_unmatched_extensions
 * class.
 *
 * Depends on: util/, core/{addr,engine,map,fact,mappat}. No I/O.
 */
#include <stdbool.h>
#include <stddef.h>

#include "core/addr.h"
#include "core/engine.h"

#define SMAP_KEY_MAX	ADDR_MAX	/* longer keys are not found */

enum smap_name {
	SMAP_VIRTUAL_MAILBOX_DOMAINS,
	SMAP_VIRTUAL_MAILBOX_MAPS,
	SMAP_VIRTUAL_ALIAS_DOMAINS,
	SMAP_VIRTUAL_ALIAS_MAPS,
	SMAP_RELAY_DOMAINS,
	SMAP_RELAY_RECIPIENT_MAPS,
	SMAP_CANONICAL_MAPS,
	SMAP_RECIPIENT_CANONICAL_MAPS,
	SMAP_NNAMES
};

enum smap_search {
	SMAP_SEARCH_LIST,	/* match_list.c: the key as it is */
	SMAP_SEARCH_FIND,	/* mail_addr_find.c */
	SMAP_SEARCH_MAP		/* mail_addr_map.c */
};

/* one request: made by smap_query_init, freed by smap_query_free */
struct smap_query {
	enum smap_name name;
	enum smap_search search;
	const struct maplist *list;	/* borrowed from the engine_cfg */
	bool	 propagate;		/* SEARCH_MAP: extensions go back */
	bool	 parent;		/* SEARCH_LIST: parent domains match
					 * (parent_domain_matches_subdomains) */
	char	*lkey;			/* SEARCH_LIST: the folded key */
	bool	 parsed;		/* addr is set (FIND, MAP) */
	struct addr addr;		/* the key in internal form */
};

enum smap_result {
	SMAP_FOUND,
	SMAP_NOT_FOUND,
	SMAP_FAILED		/* a lookup error: socketmap TEMP */
};

struct smap_answer {
	enum smap_result result;
	char	*value;		/* FOUND: the answer (caller frees) */
	const char *why;	/* FAILED: the reason (borrowed from the
				 * facts, or static) */
};

/*
 * smap_name_find - the name of a request, name[0..len); false: not one
 * of ours (socketmap PERM)
 */
bool	smap_name_find(const char *name, size_t len, enum smap_name *r);
const char *smap_name_str(enum smap_name n);

/*
 * smap_query_init - prepare the search of key[0..klen) for name under
 * cfg (borrowed until smap_query_free). Returns 0, or -1 when no table
 * can hold the key (empty, longer than SMAP_KEY_MAX, a NUL, CR or LF):
 * the answer is "not found".
 */
int	smap_query_init(const struct engine_cfg *cfg, enum smap_name name,
	    const char *key, size_t klen, struct smap_query *q);
void	smap_query_free(struct smap_query *q);

/*
 * smap_decide - one step, as engine_decide(): ENGINE_DONE with *ans_r
 * set, or ENGINE_NEED with *need_r listing lookups (pgsql maps only;
 * keys borrowed from q) not in facts.
 */
enum engine_status smap_decide(const struct smap_query *q,
	    const struct factset *facts, struct lookup_list *need_r,
	    struct smap_answer *ans_r);
void	smap_answer_free(struct smap_answer *ans);

/*
 * smap_unquote - Postfix's unquote_822_local: the internal form of an
 * external-form address (quotes and backslashes removed before the last
 * unquoted '@'; a source route prefix "@a,@b:" kept as it is). Fresh.
 */
char	*smap_unquote(const char *addr);

/*
 * smap_propagate - the extension ext (with its delimiter) put back on
 * every address of the list value (mail_addr_crunch.c): before the last
 * '@' of its internal form, or at the end without one; addresses
 * separated by ',' outside quotes, white space around them dropped.
 * Fresh.
 */
char	*smap_propagate(const char *value, const char *ext);

#endif
