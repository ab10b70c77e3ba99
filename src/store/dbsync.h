#ifndef VRCPT_DBSYNC_H
#define VRCPT_DBSYNC_H
/*
 * dbsync - blocking PostgreSQL lookups for the command-line tools
 * (vrcptctl query). Same hosts in the same order (store/pgconn), same
 * SQL, same parameters and same result handling as the daemon's db.c,
 * one query at a time, with a timeout.
 */
#include "core/dbhosts.h"
#include "core/fact.h"
#include "core/sqlmap.h"

struct dbsync;

/*
 * dbsync_new - connect lazily on first use. timeout_ms (0: 5 s) bounds
 * each call's query and each host's connect. conn is read during the
 * call only.
 */
struct dbsync *dbsync_new(const struct sqlmap_conn *conn, unsigned timeout_ms);
void	dbsync_free(struct dbsync **dsp);

/*
 * dbsync_set_target - read where the daemon reads (db_read_target;
 * before the first lookup): with primary a standby refuses the connect,
 * with prefer-standby a primary is used only when no host that is, or
 * may be, a standby answers.
 */
void	dbsync_set_target(struct dbsync *ds, enum dbhosts_target t);

/*
 * dbsync_lookup - run sm's query for key (the caller has checked
 * sqlmap_applies/sqlmap_expand). Returns the fact; *value_r / *why_r /
 * *warn_r as in sqlmap_result (why also set on connection or query
 * errors).
 */
enum fact_result dbsync_lookup(struct dbsync *ds, const struct sqlmap *sm,
	    const char *key, char **value_r, char **why_r, char **warn_r);

#endif
