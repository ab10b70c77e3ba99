#ifndef VRCPT_MAP_H
#define VRCPT_MAP_H
/*
 * map - one lookup table of a parameter value, Postfix style:
 *   pgsql:/path.cf      SQL lookup (sqlmap), the only kind that needs I/O
 *   proxy:pgsql:/x.cf   the same; proxy: is accepted and ignored
 *   inline:{ k=v, k2=v2 }  (values may be empty: "k=" means not found)
 *   static:value        every key is found with value
 *   example.com         a plain domain name of a *_domains parameter
 * A parameter value is a list of maps (struct maplist), searched in
 * order for each key (Postfix maps_find).
 *
 * Depends on: util/, core/sqlmap.h. No I/O.
 */
#include <stdbool.h>
#include <stddef.h>

#include "core/fact.h"
#include "core/sqlmap.h"

enum map_type {
	MAP_DOMAIN,		/* one plain domain name (lower-case) */
	MAP_INLINE,
	MAP_STATIC,
	MAP_PGSQL
};

struct map_kv {
	char	*key;		/* lower-case */
	char	*value;
};

struct map {
	enum map_type type;
	char	*name;		/* as written, e.g. "pgsql:/etc/postfix/x.cf" */
	unsigned id;		/* index in config->maps */
	union {
		char	*domain;		/* MAP_DOMAIN */
		struct {
			struct map_kv *kv;
			size_t	 n;
		} inl;				/* MAP_INLINE */
		char	*static_value;		/* MAP_STATIC */
		struct sqlmap *sql;		/* MAP_PGSQL */
	} u;
};

struct maplist {
	const char *param;	/* parameter name, e.g. "virtual_alias_maps" */
	struct map **v;		/* borrowed from the config */
	size_t	 n;
};

/*
 * map_lookup_pure - answer a lookup without I/O when possible. Returns
 * true and sets *result_r (and *value_r, borrowed from the map, for
 * FACT_FOUND) when it could: any non-pgsql map, or a pgsql map whose
 * domain filter or % expansion rules out the key. Returns false when
 * the database must be asked.
 */
bool	map_lookup_pure(const struct map *m, const char *key,
	    enum fact_result *result_r, const char **value_r);

#endif
