/*
 * dbsync - blocking PostgreSQL lookups for vrcptctl: the same hosts
 * (pgconn), the same SQL with the same parameter values (sqlmap_expand)
 * and the same result handling (pgconn_values, sqlmap_result) as the
 * daemon's db.c, one query at a time.
 *
 * Hosts are tried as the daemon tries them (pgconn_order: Postfix
 * dict_pgsql.c's order; a host that failed to connect is skipped for
 * retry_interval by the later lookups of the same run); a failed
 * connect is logged as Postfix logs it. Each host gets timeout_ms to
 * connect (pgconn_connect), and with db_read_target = prefer-standby a
 * primary that answers is kept only as a fallback while the hosts after
 * it are tried for a standby; the query is sent with PQsendQueryParams()
 * and its answer awaited with poll() until the call's deadline, so that
 * a hung server cannot hang the tool. A connection found broken is
 * reconnected once.
 *
 * Depends on: libpq, store/pgconn, core/sqlmap, util/. Blocking: never
 * use it inside the daemon's event loop.
 *
 * Security: key text reaches the server only as parameter values; libpq
 * and server messages are made one sanitised line before anyone sees
 * them; URIs are named without their password.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store/dbsync.h"
#include "store/pgconn.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

#define DBSYNC_APPNAME		"vrcptctl"
#define DBSYNC_ATTEMPTS		2	/* broken connection: retry */
#define DBSYNC_DEFAULT_MS	5000	/* timeout_ms 0 */
#define US_PER_MS		1000ULL

struct dbsync {
	struct pgconn *pc;	/* the hosts, their order and state */
	PGconn	*pg;
	size_t	 cur;		/* the host of pg */
	unsigned timeout_ms;
};

struct dbsync *
dbsync_new(const struct sqlmap_conn *conn, unsigned timeout_ms)
{
	struct dbsync *ds;

	ds = xcalloc(1, sizeof(*ds));
	ds->timeout_ms = timeout_ms > 0 ? timeout_ms : DBSYNC_DEFAULT_MS;
	ds->pc = pgconn_new(conn, DBSYNC_APPNAME);
	return ds;
}

void
dbsync_free(struct dbsync **dsp)
{
	struct dbsync *ds = *dsp;

	if (ds == NULL)
		return;
	*dsp = NULL;
	if (ds->pg != NULL)
		PQfinish(ds->pg);
	pgconn_free(&ds->pc);
	free(ds);
}

void
dbsync_set_target(struct dbsync *ds, enum dbhosts_target t)
{
	pgconn_set_target(ds->pc, t);
}

/*
 * dbsync_connect - the first host that answers and fits the read target
 * (else the first that answered), *why_r NULL; or -1 and *why_r (fresh:
 * the last host's failure) if none
 */
static int
dbsync_connect(struct dbsync *ds, char **why_r)
{
	size_t	 order[DBHOSTS_MAX], i, n, spare_host = 0;
	PGconn	*spare = NULL;
	const char *label;
	char	*line;

	n = pgconn_order(ds->pc, order);
	for (i = 0; i < n; i++) {
		if (pgconn_connect(ds->pc, order[i], ds->timeout_ms, -1,
		    &ds->pg, &line) == 0) {
			(void)pgconn_up(ds->pc, order[i]);
			pgconn_set_role(ds->pc, order[i], pgconn_role(ds->pg));
			if (!pgconn_fits(ds->pc, order[i]) && spare == NULL) {
				/* prefer-standby found a primary first */
				spare = ds->pg;
				spare_host = order[i];
				ds->pg = NULL;
				continue;
			}
			if (spare != NULL)
				PQfinish(spare);
			ds->cur = order[i];
			/* an earlier host's failure is not the answer's */
			free(*why_r);
			*why_r = NULL;
			return 0;
		}
		label = pgconn_label(ds->pc, order[i]);
		(void)pgconn_failed(ds->pc, order[i], line);
		/* Postfix dict_pgsql.c plpgsql_connect_single() */
		msg_warn("connect to pgsql server %s: %s", label, line);
		free(*why_r);
		*why_r = xasprintf("connect to pgsql server %s: %s", label,
		    line);
		free(line);
	}
	if (spare != NULL) {
		ds->pg = spare;
		ds->cur = spare_host;
		free(*why_r);
		*why_r = NULL;
		return 0;
	}
	return -1;
}

/* dbsync_label - the host of the open connection, for messages */
static const char *
dbsync_label(const struct dbsync *ds)
{
	return pgconn_label(ds->pc, ds->cur);
}

/* dbsync_drop - forget a connection that is broken or in doubt */
static void
dbsync_drop(struct dbsync *ds)
{
	if (ds->pg != NULL)
		PQfinish(ds->pg);
	ds->pg = NULL;
}

/*
 * dbsync_exec - run sql with params on the open connection, waiting
 * until deadline_us. Returns the result (caller clears), or NULL with
 * *why_r; *broken_r tells whether the connection is unusable.
 */
static PGresult *
dbsync_exec(struct dbsync *ds, const struct sqlmap *sm,
    const char *const *params, uint64_t deadline_us, bool *broken_r,
    char **why_r)
{
	PGresult *res;
	char	*line = NULL;

	*broken_r = false;
	if (PQsendQueryParams(ds->pg, sm->sql, (int)sm->nparams, NULL,
	    params, NULL, NULL, 0) == 0)
		line = pgconn_oneline(PQerrorMessage(ds->pg));
	else switch (pgconn_result(ds->pg, deadline_us, &res, &line)) {
	case PGCONN_RESULT_OK:
		return res;
	case PGCONN_RESULT_TIMEOUT:
		*why_r = xasprintf("pgsql query timed out after %u ms (host "
		    "%s)", ds->timeout_ms, dbsync_label(ds));
		*broken_r = true;	/* a late answer */
		return NULL;
	case PGCONN_RESULT_BROKEN:
		break;
	}
	*why_r = xasprintf("pgsql query failed: fatal error from host %s: %s",
	    dbsync_label(ds), line);
	free(line);
	*broken_r = true;
	return NULL;
}

enum fact_result
dbsync_lookup(struct dbsync *ds, const struct sqlmap *sm, const char *key,
    char **value_r, char **why_r, char **warn_r)
{
	char	*params[SQLMAP_PARAMS_MAX] = { NULL };
	char	**vals = NULL, *error = NULL, *line;
	PGresult *res = NULL;
	enum fact_result fr = FACT_UNAVAILABLE;
	uint64_t deadline_us;
	size_t	 i, nvals = 0;
	int	 attempt;
	bool	 broken;

	*value_r = NULL;
	*why_r = NULL;
	*warn_r = NULL;
	if (!sqlmap_expand(sm, key, params))
		return FACT_NOT_FOUND;	/* Postfix: query suppressed */
	deadline_us = clock_mono_us() + (uint64_t)ds->timeout_ms * US_PER_MS;

	for (attempt = 0; attempt < DBSYNC_ATTEMPTS; attempt++) {
		free(*why_r);
		*why_r = NULL;
		if (ds->pg == NULL && dbsync_connect(ds, why_r) < 0)
			goto out;
		res = dbsync_exec(ds, sm, (const char *const *)params,
		    deadline_us, &broken, why_r);
		if (res != NULL)
			break;
		msg_warn("%s", *why_r);
		if (!broken)
			goto out;
		dbsync_drop(ds);
		if (clock_mono_us() >= deadline_us)
			goto out;
	}
	if (res == NULL)
		goto out;
	if (pgconn_values(res, &vals, &nvals, &error) < 0) {
		line = error;
		msg_warn("pgsql query failed: fatal error from host %s: %s",
		    dbsync_label(ds), line);
		*why_r = xasprintf("pgsql query failed: %s", line);
		free(line);
		goto out;
	}
	fr = sqlmap_result(sm, key, (const char *const *)vals, nvals, value_r,
	    why_r, warn_r);

out:
	if (res != NULL)
		PQclear(res);
	free(vals);
	for (i = 0; i < SQLMAP_PARAMS_MAX; i++)
		free(params[i]);
	return fr;
}
