#ifndef VRCPT_MAPLOAD_H
#define VRCPT_MAPLOAD_H
/*
 * mapload - the adapter that reads Postfix table files into memory:
 *
 *   hash:NAME, btree:NAME   NAME.db, Berkeley DB (libdb), under a shared
 *                           flock() as Postfix readers take it
 *   lmdb:NAME               NAME.lmdb (liblmdb), under a shared fcntl()
 *                           lock, as dict_lmdb.c takes it
 *   cdb:NAME                NAME.cdb (tinycdb); postmap replaces it by
 *                           rename(), so no lock
 *   texthash:NAME           NAME, postmap source format (core/mapidx)
 *   regexp:NAME, pcre:NAME  NAME, rules (core/mappat) with the POSIX and
 *                           PCRE2 engines of store/mapre
 *
 * Every record or rule is read once, at load time (start, SIGHUP, or a
 * changed file: conf_maps_changed); lookups then search memory and
 * never touch the file, so they need no lock, no file descriptor and no
 * privileges, and a file being rewritten is never read half-way. A text
 * file that changes while it is read is read again.
 *
 * mapload_register() hands mapload_open() to the configuration loader
 * (conf/filemaps.h). vrcptd and vrcptctl call it; vrcpt-milter does not
 * and does not link these libraries.
 *
 * Depends on: libdb, liblmdb, libcdb, core/{map,mapidx,mappat,cachefmt},
 * conf/filemaps, store/mapre.
 */
#include "conf/filemaps.h"

#define MAPLOAD_TEXT_MAX	(256 * 1024 * 1024)	/* a text table */
#define MAPLOAD_LOCK_WAIT_MS	10000	/* for a writer's lock to go */
#define MAPLOAD_READ_TRIES	5	/* a text file that keeps changing */
#define MAPLOAD_SETTLE_MS	100	/* between two tries */
/* dict_db.c: "database %s is older than source file %s", unless the
 * source changed only this many seconds ago */
#define MAPLOAD_OLDER_GRACE_S	100

/* mapload_open - conf_map_open_fn for every type above */
int	mapload_open(const char *type, const char *name, struct map_file **mf_r,
	    char **warn_r, char **err_r);

/* mapload_register - conf_map_opener(mapload_open) */
void	mapload_register(void);

#endif
