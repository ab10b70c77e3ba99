#ifndef VRCPT_MAP_H
#define VRCPT_MAP_H
/*
 * map - one lookup table of a parameter value, Postfix style:
 *   pgsql:/path.cf      SQL lookup (sqlmap), the only kind that needs I/O
 *   proxy:pgsql:/x.cf   the same; proxy: is accepted and ignored
 *   inline:{ k=v, k2=v2 }  (a value may be empty: "k=", see below)
 *   static:value        every key is found with value
 *   hash:/f, btree:/f, lmdb:/f, cdb:/f, texthash:/f
 *                       an indexed file, read into memory (core/mapidx)
 *   regexp:/f, pcre:/f  a pattern file (core/mappat)
 *   example.com         a plain domain name of a *_domains parameter
 * A parameter value is a list of maps (struct maplist), searched in
 * order for each key (Postfix maps_find).
 *
 * The file tables are read by an adapter (store/mapload, through
 * conf/tables) when the configuration is loaded; the core only searches
 * what was read.
 *
 * Depends on: util/, core/{sqlmap,mapidx,mappat}.h. No I/O.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/fact.h"
#include "core/mapidx.h"
#include "core/mappat.h"
#include "core/sqlmap.h"

enum map_type {
	MAP_DOMAIN,		/* one plain domain name (lower-case) */
	MAP_INLINE,
	MAP_STATIC,
	MAP_PGSQL,
	MAP_FILE		/* a table file: indexed or patterns */
};

/* what identifies a file as read: a change means "read it again" */
struct map_stamp {
	uint64_t dev, ino, size;
	int64_t	 mtime_ns;
};

struct map_file {
	char	*type;		/* "hash", "btree", "lmdb", "cdb",
				 * "texthash", "regexp", "pcre" */
	char	*path;		/* the file read, e.g. "/etc/postfix/x.db" */
	struct map_stamp stamp;	/* of the file when it was read */
	uint64_t content;	/* hash of what was read (cachefmt_dns) */
	struct mapidx *idx;	/* indexed types, else NULL */
	struct mappat *pat;	/* regexp, pcre, else NULL */
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
		struct map_file *file;		/* MAP_FILE */
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
/*
 * A file table or inline: answers FACT_FOUND with an empty value when
 * the value is empty (a pattern's result after $n substitution, a
 * record without text, "k=" in inline:, which dict_inline.c keeps as
 * given): Postfix's maps_find() makes that a lookup error, while a
 * *_domains list (match_list.c: match_string) counts it as a match; the
 * engine tells them apart. For regexp: and pcre: the value is the
 * matching rule's result as written, before $n substitution.
 */

/*
 * map_is_pattern - a regexp: or pcre: table: Postfix does not give it
 * the partial keys of mail_addr_find() (user@domain without the
 * extension, @domain), as maps_find(..., DICT_FLAG_FIXED) skips tables
 * without DICT_FLAG_FIXED.
 */
bool	map_is_pattern(const struct map *m);

/* map_file_free - a struct map_file and what it holds (NULL is fine) */
void	map_file_free(struct map_file **mfp);

#endif
