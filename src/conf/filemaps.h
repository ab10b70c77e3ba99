#ifndef VRCPT_FILEMAPS_H
#define VRCPT_FILEMAPS_H
/*
 * filemaps - how the configuration reaches the code that reads table
 * files (hash:, btree:, lmdb:, cdb:, texthash:, regexp:, pcre:).
 *
 * Reading them needs Berkeley DB, LMDB, tinycdb and PCRE2, which only the
 * programs that answer lookups link (vrcptd, vrcptctl: store/mapload).
 * Such a program registers its opener once, before conf_load(), as
 * Postfix registers table types with dict_open_register(); without one
 * (vrcpt-milter never opens tables) these types are a configuration
 * error. The opener reads the whole table into memory (struct map_file:
 * core/mapidx, core/mappat), so that lookups are pure.
 *
 * Depends on: core/map.h.
 */
#include <stdbool.h>
#include <stdint.h>

struct conf;
struct map_file;

/*
 * conf_map_open_fn - read the table type:name (name as Postfix has it:
 * "/etc/postfix/virtual" for hash:, which reads virtual.db; relative
 * names are already made absolute). Returns 0 and *mf_r, or -1 with
 * *err_r (fresh). Warnings (one per line, fresh or NULL) go to *warn_r
 * either way.
 */
typedef int conf_map_open_fn(const char *type, const char *name,
	    struct map_file **mf_r, char **warn_r, char **err_r);

/* conf_map_opener - register the opener (NULL: none); call before loading */
void	conf_map_opener(conf_map_open_fn *fn);

/* conf_map_file_type - type[0..len) is a file table type we know */
bool	conf_map_file_type(const char *type, size_t len);

/*
 * conf_maps_changed - whether a table file of cfg is no longer the file
 * that was read (another inode, size or mtime, or gone: postmap(1)
 * rebuilt it, or it was edited). *path_r (when it returns true) is the
 * first such file, borrowed from cfg. *sig_r is a hash of what the files
 * are now, so that a caller can tell "changed again" from "still the
 * change that failed to load".
 */
bool	conf_maps_changed(const struct conf *cfg, const char **path_r,
	    uint64_t *sig_r);

#endif
