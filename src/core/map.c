/*
 * map - answer a table lookup without I/O where the table allows it.
 *
 * Only map_lookup_pure() lives here; maps are built by the configuration
 * loader (daemon/config.c) and pgsql maps are queried by store/. The
 * semantics are Postfix's: a plain domain of a *_domains parameter
 * matches itself only (util/match_list.c: match_string, used by
 * string_list_match() in trivial-rewrite/resolve.c); inline: is a hash
 * table where the last duplicate wins (util/dict_inline.c ->
 * dict_ht_update); static: answers every key; a pgsql: query whose
 * expansion is suppressed is "not found" without a query
 * (global/db_common.c: db_common_expand, db_common_check_domain); an
 * indexed file table is searched with "key\0", then "key"
 * (util/dict_db.c), a pattern table rule by rule (util/dict_regexp.c).
 *
 * Depends on: util/, core/{sqlmap,mapidx,mappat}.h. No I/O.
 *
 * Security: keys come from an untrusted address; they are only compared
 * or handed to sqlmap_expand(), never copied into fixed buffers.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/map.h"
#include "core/sqlmap.h"

/* map_found - set the outputs; an empty value counts as "not found" */
static bool
map_found(const char *value, enum fact_result *result_r,
    const char **value_r)
{
	if (value == NULL || *value == '\0') {
		*result_r = FACT_NOT_FOUND;
		if (value_r != NULL)
			*value_r = NULL;
	} else {
		*result_r = FACT_FOUND;
		if (value_r != NULL)
			*value_r = value;
	}
	return true;
}

/*
 * map_file_lookup - a file table: found with the value even when it is
 * empty (see map.h), not found, nothing else (the table is in memory)
 */
static bool
map_file_lookup(const struct map_file *mf, const char *key,
    enum fact_result *result_r, const char **value_r)
{
	const char *v = NULL;
	bool	 empty;

	if (mf->idx != NULL) {
		v = mapidx_lookup(mf->idx, key);
	} else if (mf->pat != NULL) {
		v = mappat_lookup(mf->pat, key, NULL, &empty);
		if (v != NULL && empty)
			v = "";
	}
	*result_r = v != NULL ? FACT_FOUND : FACT_NOT_FOUND;
	if (value_r != NULL)
		*value_r = v;
	return true;
}

bool
map_lookup_pure(const struct map *m, const char *key,
    enum fact_result *result_r, const char **value_r)
{
	size_t	 i;

	/* maps_find(): "buggy callers that pass zero-length keys" */
	if (*key == '\0')
		return map_found(NULL, result_r, value_r);

	switch (m->type) {
	case MAP_DOMAIN:
		/* match_string(): strcasecmp(string, pattern) */
		return map_found(strcasecmp(key, m->u.domain) == 0 ?
		    m->u.domain : NULL, result_r, value_r);
	case MAP_INLINE:
		/* dict_ht_update() replaces: the last duplicate wins; "k="
		 * is found with an empty value, as in a file table (map.h) */
		for (i = m->u.inl.n; i > 0; i--)
			if (strcmp(m->u.inl.kv[i - 1].key, key) == 0) {
				*result_r = FACT_FOUND;
				if (value_r != NULL)
					*value_r = m->u.inl.kv[i - 1].value;
				return true;
			}
		return map_found(NULL, result_r, value_r);
	case MAP_STATIC:
		return map_found(m->u.static_value, result_r, value_r);
	case MAP_PGSQL:
		if (!sqlmap_applies(m->u.sql, key) ||
		    sqlmap_suppressed(m->u.sql, key))
			return map_found(NULL, result_r, value_r);
		return false;
	case MAP_FILE:
		return map_file_lookup(m->u.file, key, result_r, value_r);
	}
	return false;
}

bool
map_is_pattern(const struct map *m)
{
	return m->type == MAP_FILE && m->u.file->pat != NULL;
}

void
map_file_free(struct map_file **mfp)
{
	struct map_file *mf = *mfp;

	*mfp = NULL;
	if (mf == NULL)
		return;
	mapidx_free(&mf->idx);
	mappat_free(&mf->pat);
	free(mf->type);
	free(mf->path);
	free(mf);
}
