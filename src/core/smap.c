/*
 * smap - socketmap answers as Postfix's own search would give them. See
 * smap.h.
 *
 * The search is Postfix's, step by step:
 *   util/match_list.c, match_ops.c: match_hostname - a domain list, each
 *     table in order: the name, then for a table of fixed keys its
 *     parent domains ("example.com" with parent_domain_matches_subdomains,
 *     which has relay_domains by default, else ".example.com"): the
 *     lookups Postfix no longer makes itself once the list is a
 *     socketmap (a pattern table);
 *   global/mail_addr_find.c: mail_addr_find_opt - the keys of an address
 *     (user+ext@domain, then user@domain with the extension remembered,
 *     then @domain), each against every table (maps.c: maps_find) before
 *     the next, PARTIAL keys skipped for pattern tables;
 *   global/mail_addr_map.c: mail_addr_map_opt - "@domain" results and
 *     the unmatched extension;
 *   global/mail_addr_crunch.c: mail_addr_crunch_opt - the extension on
 *     each address of the result.
 * What mail_addr_crunch_opt() does besides (each address rewritten to
 * canonical form, e.g. user@$myorigin) is left to the Postfix that reads
 * the answer: it runs it on every socketmap result as well, and it gives
 * the same addresses on an answer it has already been given.
 *
 * Depends on: util/, core/{addr,engine,map,mappat}. No I/O.
 * Security: keys are attacker-chosen; they are bounded (SMAP_KEY_MAX)
 * and only ever used as lookup keys. Values come from the tables and
 * are copied, never interpreted beyond finding '@', ',' and quotes.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/addr.h"
#include "core/engine.h"
#include "core/map.h"
#include "core/mappat.h"
#include "core/smap.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

enum smap_prop {
	SMAP_PROP_NONE,
	SMAP_PROP_VIRTUAL,	/* propagate_unmatched_extensions "virtual" */
	SMAP_PROP_CANONICAL	/* "canonical" */
};

static const struct smap_def {
	enum smap_name name;
	const char *str;		/* the map name: Postfix's parameter */
	size_t	 list;			/* offsetof(struct engine_cfg, ...) */
	enum smap_search search;	/* for keys with '@' */
	enum smap_prop prop;
	bool	 parent;		/* in Postfix's default
					 * parent_domain_matches_subdomains */
} smap_defs[] = {
	{ SMAP_VIRTUAL_MAILBOX_DOMAINS, "virtual_mailbox_domains",
	  offsetof(struct engine_cfg, virtual_mailbox_domains),
	  SMAP_SEARCH_LIST, SMAP_PROP_NONE, false },
	{ SMAP_VIRTUAL_MAILBOX_MAPS, "virtual_mailbox_maps",
	  offsetof(struct engine_cfg, virtual_mailbox_maps),
	  SMAP_SEARCH_FIND, SMAP_PROP_NONE, false },
	{ SMAP_VIRTUAL_ALIAS_DOMAINS, "virtual_alias_domains",
	  offsetof(struct engine_cfg, virtual_alias_domains),
	  SMAP_SEARCH_LIST, SMAP_PROP_NONE, false },
	{ SMAP_VIRTUAL_ALIAS_MAPS, "virtual_alias_maps",
	  offsetof(struct engine_cfg, virtual_alias_maps),
	  SMAP_SEARCH_MAP, SMAP_PROP_VIRTUAL, false },
	{ SMAP_RELAY_DOMAINS, "relay_domains",
	  offsetof(struct engine_cfg, relay_domains),
	  SMAP_SEARCH_LIST, SMAP_PROP_NONE, true },
	{ SMAP_RELAY_RECIPIENT_MAPS, "relay_recipient_maps",
	  offsetof(struct engine_cfg, relay_recipient_maps),
	  SMAP_SEARCH_FIND, SMAP_PROP_NONE, false },
	{ SMAP_CANONICAL_MAPS, "canonical_maps",
	  offsetof(struct engine_cfg, canonical_maps),
	  SMAP_SEARCH_MAP, SMAP_PROP_CANONICAL, false },
	{ SMAP_RECIPIENT_CANONICAL_MAPS, "recipient_canonical_maps",
	  offsetof(struct engine_cfg, recipient_canonical_maps),
	  SMAP_SEARCH_MAP, SMAP_PROP_CANONICAL, false },
};

_Static_assert(NELEM(smap_defs) == SMAP_NNAMES, "a row per smap_name");

bool
smap_name_find(const char *name, size_t len, enum smap_name *r)
{
	size_t	 i;

	for (i = 0; i < NELEM(smap_defs); i++)
		if (strlen(smap_defs[i].str) == len &&
		    memcmp(smap_defs[i].str, name, len) == 0) {
			*r = smap_defs[i].name;
			return true;
		}
	return false;
}

const char *
smap_name_str(enum smap_name n)
{
	size_t	 i;

	for (i = 0; i < NELEM(smap_defs); i++)
		if (smap_defs[i].name == n)
			return smap_defs[i].str;
	return "invalid";
}

static const struct smap_def *
smap_def(enum smap_name n)
{
	size_t	 i;

	for (i = 0; i < NELEM(smap_defs); i++)
		if (smap_defs[i].name == n)
			return &smap_defs[i];
	return NULL;
}

char *
smap_unquote(const char *addr)
{
	struct buf dst;
	const char *start = addr, *colon, *cp, *bare_at = NULL;
	size_t	 bare_at_pos = 0;
	bool	 in_quote = false;
	char	*out;

	buf_init(&dst, 0);
	/* a routing prefix is not unquoted */
	if (addr[0] == '@' && (colon = strchr(addr, ':')) != NULL) {
		start = colon + 1;
		(void)buf_append(&dst, addr, (size_t)(start - addr));
	}
	for (cp = start; *cp != '\0'; cp++) {
		if (*cp == '"') {
			in_quote = !in_quote;
			continue;
		} else if (*cp == '@') {
			if (!in_quote) {
				bare_at_pos = dst.len;
				bare_at = cp;
			}
		} else if (*cp == '\\') {
			if (cp[1] == '\0')
				continue;
			cp++;
		}
		(void)buf_append(&dst, cp, 1);
	}
	/* the text after the last unquoted '@' as it was */
	if (bare_at != NULL) {
		dst.len = bare_at_pos;
		(void)buf_puts(&dst, bare_at);
	}
	out = xstrdup(buf_str(&dst));
	buf_free(&dst);
	return out;
}

/* smap_requote - an internal-form address in external form: the local
 * part (before the last '@', or all of it) quoted as quote_822_local() */
static void
smap_requote(struct buf *out, const char *intern)
{
	const char *at = strrchr(intern, '@');
	char	*local, *q;

	local = at != NULL ? xstrndup(intern, (size_t)(at - intern)) :
	    xstrdup(intern);
	q = addr_quote_local(local);
	(void)buf_puts(out, q);
	if (at != NULL)
		(void)buf_puts(out, at);
	free(q);
	free(local);
}

char *
smap_propagate(const char *value, const char *ext)
{
	struct buf out, one;
	const char *cp = value, *start;
	bool	 in_quote;
	char	*elem, *intern, *at, *res;

	buf_init(&out, 0);
	while (*cp != '\0') {
		while (*cp == ',' || *cp == ' ' || *cp == '\t' ||
		    *cp == '\r' || *cp == '\n')
			cp++;
		if (*cp == '\0')
			break;
		/* one address: up to a separator outside quotes */
		start = cp;
		in_quote = false;
		for (; *cp != '\0'; cp++) {
			if (*cp == '\\' && cp[1] != '\0') {
				cp++;
				continue;
			}
			if (*cp == '"')
				in_quote = !in_quote;
			else if (!in_quote && (*cp == ',' || *cp == ' ' ||
			    *cp == '\t' || *cp == '\r' || *cp == '\n'))
				break;
		}
		elem = xstrndup(start, (size_t)(cp - start));
		intern = smap_unquote(elem);
		buf_init(&one, 0);
		if ((at = strrchr(intern, '@')) != NULL) {
			(void)buf_append(&one, intern, (size_t)(at - intern));
			(void)buf_puts(&one, ext);
			(void)buf_puts(&one, at);
		} else {
			(void)buf_puts(&one, intern);
			(void)buf_puts(&one, ext);
		}
		if (out.len > 0)
			(void)buf_puts(&out, ",");
		smap_requote(&out, buf_str(&one));
		buf_free(&one);
		free(intern);
		free(elem);
	}
	res = xstrdup(buf_str(&out));
	buf_free(&out);
	return res;
}

int
smap_query_init(const struct engine_cfg *cfg, enum smap_name name,
    const char *key, size_t klen, struct smap_query *q)
{
	const struct smap_def *d = smap_def(name);
	const char *err;
	char	*k, *intern;
	int	 rc;

	memset(q, 0, sizeof(*q));
	if (d == NULL)
		return -1;
	q->name = name;
	q->list = (const struct maplist *)(const void *)
	    ((const char *)cfg + d->list);
	q->search = d->search;
	/* parent_domain_matches_subdomains (relay_domains only here) */
	q->parent = d->parent && cfg->relay_domains_parent;
	q->propagate = (d->prop == SMAP_PROP_VIRTUAL &&
	    cfg->propagate_virtual) ||
	    (d->prop == SMAP_PROP_CANONICAL && cfg->propagate_canonical);
	if (klen == 0 || klen > SMAP_KEY_MAX || memchr(key, '\0', klen) ||
	    memchr(key, '\r', klen) || memchr(key, '\n', klen))
		return -1;
	k = xstrndup(key, klen);
	/* a key without '@' is a domain: a list asked as a domain list */
	if (q->search == SMAP_SEARCH_LIST || strchr(k, '@') == NULL) {
		q->search = SMAP_SEARCH_LIST;
		q->lkey = str_fold_utf8(k);
		free(k);
		return 0;
	}
	intern = smap_unquote(k);
	free(k);
	rc = addr_parse(intern, &cfg->addr, &q->addr, &err);
	free(intern);
	if (rc < 0)
		return -1;
	q->parsed = true;
	return 0;
}

void
smap_query_free(struct smap_query *q)
{
	free(q->lkey);
	if (q->parsed)
		addr_free(&q->addr);
	memset(q, 0, sizeof(*q));
}

void
smap_answer_free(struct smap_answer *ans)
{
	free(ans->value);
	ans->value = NULL;
}

/* smap_need - remember an unknown lookup once; the list is bounded */
static void
smap_need(struct lookup_list *need, const struct map *m, const char *key)
{
	size_t	 i;

	for (i = 0; i < need->n; i++)
		if (need->v[i].map == m && strcmp(need->v[i].key, key) == 0)
			return;
	if (need->n < ENGINE_LOOKUPS_MAX) {
		need->v[need->n].map = m;
		need->v[need->n].key = key;
		need->n++;
	}
}

/*
 * smap_pure_value - the value of a table answered without I/O: a
 * pattern table's result after $n substitution (map_lookup_pure gives
 * it as written); fresh
 */
static char *
smap_pure_value(const struct map *m, const char *key, const char *value)
{
	struct buf out;
	bool	 empty;
	char	*v;

	if (m->type != MAP_FILE || m->u.file->pat == NULL)
		return xstrdup(value != NULL ? value : "");
	buf_init(&out, 0);
	if (mappat_lookup(m->u.file->pat, key, &out, &empty) == NULL)
		(void)buf_reset(&out);
	v = xstrdup(empty ? "" : buf_str(&out));
	buf_free(&out);
	return v;
}

/* smap_fact_answer - the answer a found or failed fact makes */
static enum engine_status
smap_fact_answer(const struct fact_entry *fe, struct smap_answer *ans)
{
	if (fe->result == FACT_UNAVAILABLE) {
		ans->result = SMAP_FAILED;
		ans->why = fe->why != NULL ? fe->why : "lookup error";
		return ENGINE_DONE;
	}
	if (fe->value == NULL || strlen(fe->value) >= SQLMAP_VALUE_MAX) {
		/* not kept whole: Postfix could not read it from a
		 * socketmap either */
		ans->result = SMAP_FAILED;
		ans->why = "result too long";
		return ENGINE_DONE;
	}
	ans->result = SMAP_FOUND;
	ans->value = xstrdup(fe->value);
	return ENGINE_DONE;
}

/*
 * smap_walk - the lookups in Postfix's order: keys[k] against every
 * table before keys[k + 1]. Stops at the first match or error if
 * everything before it is known (DONE), else lists what is unknown up
 * to there (NEED). *k_r is the key that matched.
 */
static enum engine_status
smap_walk(const struct maplist *ml, const char *const *keys,
    const bool *partial, size_t nkeys, const struct factset *facts,
    struct lookup_list *need, struct smap_answer *ans, size_t *k_r)
{
	const struct fact_entry *fe;
	const struct map *m;
	enum fact_result res;
	const char *value;
	size_t	 k, i;

	need->n = 0;
	for (k = 0; k < nkeys; k++) {
		for (i = 0; i < ml->n; i++) {
			m = ml->v[i];
			if (partial[k] && map_is_pattern(m))
				continue;
			if (map_lookup_pure(m, keys[k], &res, &value)) {
				if (res == FACT_FOUND && need->n == 0) {
					ans->result = SMAP_FOUND;
					ans->value = smap_pure_value(m,
					    keys[k], value);
					*k_r = k;
					return ENGINE_DONE;
				}
				if (res == FACT_FOUND)
					return ENGINE_NEED;
				continue;
			}
			if ((fe = factset_get(facts, m, keys[k])) == NULL) {
				smap_need(need, m, keys[k]);
				continue;
			}
			if (fe->result == FACT_NOT_FOUND)
				continue;
			/* a match or an error ends the search */
			if (need->n > 0)
				return ENGINE_NEED;
			*k_r = k;
			return smap_fact_answer(fe, ans);
		}
	}
	if (need->n > 0)
		return ENGINE_NEED;
	ans->result = SMAP_NOT_FOUND;
	return ENGINE_DONE;
}

/*
 * smap_walk_domain - match_list.c over a domain list: each table in
 * turn, and within a table the name, then (match_ops.c:
 * match_hostname) for a table of fixed keys its parent domains: with
 * parent (parent_domain_matches_subdomains) "example.com", "com" for
 * "mx.example.com", else ".example.com", ".com"; a plain domain name
 * matches a subdomain with parent only. Any value matches, an empty
 * one too. Keys are suffixes of q->lkey (borrowed by need).
 */
static enum engine_status
smap_walk_domain(const struct smap_query *q, const struct factset *facts,
    struct lookup_list *need, struct smap_answer *ans)
{
	const struct maplist *ml = q->list;
	const char *name = q->lkey, *entry, *next, *value, *pd;
	const struct fact_entry *fe;
	const struct map *m;
	enum fact_result res;
	size_t	 i, nlen = strlen(name), plen;

	need->n = 0;
	for (i = 0; i < ml->n; i++) {
		m = ml->v[i];
		if (m->type == MAP_DOMAIN) {
			plen = strlen(m->u.domain);
			pd = name + nlen - (plen <= nlen ? plen : nlen);
			if (strcasecmp(name, m->u.domain) == 0 ||
			    (q->parent && plen < nlen && pd[-1] == '.' &&
			    strcasecmp(pd, m->u.domain) == 0)) {
				if (need->n > 0)
					return ENGINE_NEED;
				ans->result = SMAP_FOUND;
				ans->value = xstrdup(m->u.domain);
				return ENGINE_DONE;
			}
			continue;
		}
		for (entry = name; *entry != '\0'; entry = next) {
			if (entry != name && map_is_pattern(m))
				break;
			if (map_lookup_pure(m, entry, &res, &value)) {
				/* file tables: found even when empty */
				if (res == FACT_FOUND) {
					if (need->n > 0)
						return ENGINE_NEED;
					ans->result = SMAP_FOUND;
					ans->value = smap_pure_value(m, entry,
					    value);
					return ENGINE_DONE;
				}
			} else if ((fe = factset_get(facts, m, entry)) ==
			    NULL) {
				smap_need(need, m, entry);
			} else if (fe->result != FACT_NOT_FOUND) {
				if (need->n > 0)
					return ENGINE_NEED;
				return smap_fact_answer(fe, ans);
			}
			if ((next = strchr(entry + 1, '.')) == NULL)
				break;
			if (q->parent)
				next++;
		}
	}
	if (need->n > 0)
		return ENGINE_NEED;
	ans->result = SMAP_NOT_FOUND;
	return ENGINE_DONE;
}

/*
 * smap_rewrite - mail_addr_map_opt() on a found value: "@domain" results
 * and the unmatched extension. noext: user@domain matched.
 */
static void
smap_rewrite(const struct smap_query *q, bool noext,
    struct smap_answer *ans)
{
	const struct addr *a = &q->addr;
	const char *at;
	char	*local, *ext = NULL, *v;
	size_t	 llen, elen, flen;
	struct buf b;

	if (ans->value[0] == '\0')
		return;		/* Postfix's maps_find() makes it an error */
	/* the original local part, case kept (the key's internal form);
	 * the extension with its delimiter, cut from it */
	at = strrchr(a->orig, '@');
	llen = at != NULL ? (size_t)(at - a->orig) : strlen(a->orig);
	local = xstrndup(a->orig, llen);
	if (noext && a->extension != NULL) {
		elen = strlen(a->extension) + 1;
		flen = strlen(a->local);
		/* folding kept the byte length (ASCII): cut the original,
		 * else the folded form */
		if (flen == llen && elen <= llen) {
			ext = xstrdup(local + llen - elen);
			local[llen - elen] = '\0';
		} else if (elen <= flen) {
			ext = xstrdup(a->local + flen - elen);
			free(local);
			local = xstrndup(a->local, flen - elen);
		}
	}
	if (ans->value[0] == '@') {
		/* "Prepend the original user to @otherdomain" */
		buf_init(&b, 0);
		v = xasprintf("%s%s", local, ans->value);
		smap_requote(&b, v);
		free(v);
		free(ans->value);
		ans->value = xstrdup(buf_str(&b));
		buf_free(&b);
	}
	if (q->propagate && ext != NULL) {
		v = smap_propagate(ans->value, ext);
		free(ans->value);
		ans->value = v;
	}
	free(ext);
	free(local);
}

enum engine_status
smap_decide(const struct smap_query *q, const struct factset *facts,
    struct lookup_list *need_r, struct smap_answer *ans_r)
{
	const char *keys[ADDR_KEYS_MAX];
	bool	 partial[ADDR_KEYS_MAX];
	size_t	 n, i, k = 0;
	enum engine_status st;

	memset(ans_r, 0, sizeof(*ans_r));
	need_r->n = 0;
	if (q->search == SMAP_SEARCH_LIST)
		return smap_walk_domain(q, facts, need_r, ans_r);
	for (i = 0; i < q->addr.nkeys; i++) {
		keys[i] = q->addr.keys[i].key;
		partial[i] = q->addr.keys[i].kind != ADDR_KEY_FULL;
	}
	n = q->addr.nkeys;
	st = smap_walk(q->list, keys, partial, n, facts, need_r, ans_r, &k);
	if (st == ENGINE_DONE && ans_r->result == SMAP_FOUND &&
	    q->search == SMAP_SEARCH_MAP)
		smap_rewrite(q, q->addr.keys[k].kind == ADDR_KEY_NOEXT, ans_r);
	return st;
}
