#ifndef VRCPT_DBCHECK_H
#define VRCPT_DBCHECK_H
/*
 * dbcheck - vrcptctl check --live for one database server: what vrcptd
 * needs of it, tried for real, each finding one line.
 *
 *   - a connection, in the pools' host order (store/pgconn), and
 *     whether the server is a standby (LISTEN needs the primary);
 *   - every map's query, prepared and run as vrcptd runs it, with a key
 *     no table holds (a column or table that does not exist shows);
 *   - the vrcpt_* triggers (without them the caches are not trusted);
 *   - LISTEN: a NOTIFY from a second connection reaches the first;
 *   - sessions: a connection pooler in transaction or statement mode
 *     (pgbouncer pool_mode = transaction) hands one server session to
 *     several clients, which breaks prepared statements and LISTEN. It
 *     shows as a second client's transaction running in the first
 *     client's server backend, and as the first client's own backend
 *     changing between its statements.
 *
 * Depends on: core/sqlmap, store/pgconn, libpq, util/.
 */
#include <stdbool.h>
#include <stddef.h>

#include "core/sqlmap.h"

#define DBCHECK_KEY		"postmaster@vrcpt-check.invalid"
#define DBCHECK_NOTIFY_WAIT_MS	2000
#define DBCHECK_LINES_MAX	64

struct dbcheck_line {
	bool	 ok;
	char	*text;			/* one line, sanitised */
};

struct dbcheck {
	struct dbcheck_line v[DBCHECK_LINES_MAX];
	size_t	 n;
	size_t	 nfailed;
};

/*
 * dbcheck_run - check the server of conn with the maps that use it.
 * timeout_ms bounds each connect and each statement. Fills *out (free
 * with dbcheck_free) and returns out->nfailed.
 */
size_t	dbcheck_run(const struct sqlmap_conn *conn,
	    const struct sqlmap *const *maps, size_t nmaps,
	    unsigned timeout_ms, struct dbcheck *out);
void	dbcheck_free(struct dbcheck *dc);

#endif
