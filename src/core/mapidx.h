#ifndef VRCPT_MAPIDX_H
#define VRCPT_MAPIDX_H
/*
 * mapidx - an indexed table (hash:, btree:, lmdb:, cdb:, texthash:) held
 * in memory: the records as the file stores them, searched by exact
 * key. The adapter that reads the file (store/mapload) fills it once at
 * load time; afterwards it is immutable and shared by every worker
 * thread without locks.
 *
 * Keys are kept as the file has them, byte for byte: postmap writes
 * "key\0" (hash, btree, lmdb) or "key" (cdb), and Postfix tries both
 * (util/dict_db.c, dict_lmdb.c, dict_cdb.c: DICT_FLAG_TRY1NULL first,
 * then DICT_FLAG_TRY0NULL). Values are kept as C strings: up to the
 * first NUL, as Postfix's SCOPY() copies them.
 *
 * Also here, because it is pure text work: the postmap(1) source format
 * that texthash: reads (util/dict_thash.c).
 *
 * Depends on: util/. No I/O.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAPIDX_KEY_MAX		(64 * 1024)	/* longer keys: refused */
#define MAPIDX_VALUE_MAX	(1024 * 1024)	/* longer values: refused */
#define MAPIDX_RECORDS_MAX	(64u * 1024 * 1024)	/* records of a table */

struct mapidx;

/* mapidx_new - an empty table; mapidx_free - frees and sets *p = NULL */
struct mapidx *mapidx_new(void);
void	mapidx_free(struct mapidx **p);

/*
 * mapidx_put - add a record (copied). A key already present keeps its
 * first value (cdb_find() finds the first of duplicate records) and 0 is
 * returned with *dup_r set when dup_r is not NULL. Returns -1 when a
 * limit (MAPIDX_*_MAX) is exceeded.
 */
int	mapidx_put(struct mapidx *idx, const void *key, size_t klen,
	    const void *val, size_t vlen, bool *dup_r);

/*
 * mapidx_get - the value of key[0..klen), or NULL. The value is a C
 * string borrowed from the table (valid while the table lives).
 */
const char *mapidx_get(const struct mapidx *idx, const void *key,
	    size_t klen);

/*
 * mapidx_lookup - Postfix's lookup of a string key in an indexed table:
 * "key\0" first, then "key" (DICT_FLAG_TRY1NULL, DICT_FLAG_TRY0NULL).
 * The caller folds the key (DICT_FLAG_FOLD_FIX).
 */
const char *mapidx_lookup(const struct mapidx *idx, const char *key);

/* mapidx_count - records held */
size_t	mapidx_count(const struct mapidx *idx);

/*
 * mapidx_content - a hash of the records, independent of their order: two
 * tables with the same records have the same one (the identity that the
 * decision cache keys on: core/cachefmt).
 */
uint64_t mapidx_content(const struct mapidx *idx);

/*
 * mapidx_parse_text - fill idx from text[0..len) in the postmap(1) source
 * format, as dict_thash.c reads it: logical lines (util/readlline.c:
 * "#" comment lines and blank lines skipped, a line that starts with
 * white space continues the previous one), the key ends at the first
 * white space outside "..." (a backslash escapes the next character;
 * quotes and backslashes stay in the key), the value is the rest,
 * trimmed. Keys are lower-cased in ASCII only: dict_thash.c stores
 * through dict_ht_update(), whose DICT_FLAG_FOLD_FIX uses lowercase(),
 * while lookups are fully case-folded, so a key with an upper-case
 * non-ASCII letter never matches in Postfix either. Lines
 * without a key or a value, with an unbalanced quote, or (when
 * check_utf8) that are not UTF-8 are skipped with a warning.
 *
 * Warnings ("name, line N: text", one per line) are appended to *warn_r
 * (fresh or NULL). A duplicate key is an error, as it is for smtpd
 * (dict_thash.c without DICT_FLAG_DUP_*: the table is unusable): returns
 * -1 with *err_r (fresh). name is used in messages.
 */
int	mapidx_parse_text(struct mapidx *idx, const char *name,
	    const char *text, size_t len, bool check_utf8, char **warn_r,
	    char **err_r);

/*
 * mapidx_next_line - the next logical line of text (util/readlline.c
 * readllines), shared with the regexp/pcre reader (core/mappat). *pos is
 * the offset to read from (start at 0); *lineno_r is the number of the
 * line where the logical line starts. Returns a fresh string, or NULL at
 * the end. NUL bytes end the line's text (Postfix: "text after null
 * byte may be ignored"). A logical line that would start with white
 * space (text before the first line) is skipped, as readllines() does.
 */
char	*mapidx_next_line(const char *text, size_t len, size_t *pos,
	    unsigned *lineno, unsigned *lineno_r);

#endif
