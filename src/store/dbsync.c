/*
 * dbsync - blocking PostgreSQL lookups for vrcptctl: the same hosts
 * (pgconn), the same SQL with the same parameter values (sqlmap_expand)
 * and the same result handling (pgconn_values, sqlmap_result) as the
 * daemon's db.c, one query at a time.
 *
 * Hosts are tried as Postfix dict_pgsql.c does (random order, unix
 * sockets first); a failed connect is logged as Postfix logs it. The
 * connection is made with PQconnectdbParams() and connect_timeout; the
 * query is sent with PQsendQueryParams() and its answer awaited with
 * poll() until the call's deadline, so that a hung server cannot hang
 * the tool. A connection found broken is reconnected once.
 *
 * Depends on: libpq, store/pgconn, core/sqlmap, util/. Blocking: never
 * use it inside the daemon's event loop.
 *
 * Security: key text reaches the server only as parameter values; libpq
 * and server messages are made one sanitised line before anyone sees
 * them; URIs are named without their password.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "store/dbsync.h"
#include "store/pgconn.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

#define DBSYNC_APPNAME		"vrcptctl"
#define DBSYNC_MIN_CONNECT_S	2	/* libpq treats less as 2 anyway */
#define DBSYNC_ATTEMPTS		2	/* broken connection: retry */
#define DBSYNC_DEFAULT_MS	5000	/* timeout_ms 0 */
#define US_PER_MS		1000ULL

struct dbsync_host {
	char	*label;
	struct pgconn_params params;
	const char *bad;	/* unusable entry: why */
};

struct dbsync {
	struct dbsync_host *hosts;
	size_t	 nhosts;
	size_t	*order;		/* connect order, Postfix style */
	PGconn	*pg;
	const struct dbsync_host *cur;
	unsigned timeout_ms;
};

/* dbsync_order - random within each kind, unix, then inet, then URI */
static void
dbsync_order(struct dbsync *ds)
{
	size_t	 i, j, n = 0, t;
	enum pgconn_kind kind;
	unsigned seed;

	seed = (unsigned)(clock_mono_us() ^ (uint64_t)getpid());
	for (kind = PGCONN_UNIX; kind <= PGCONN_URI; kind++) {
		size_t first = n;

		for (i = 0; i < ds->nhosts; i++) {
			if (ds->hosts[i].params.kind == kind)
				ds->order[n++] = i;
		}
		for (i = n; i > first + 1; i--) {
			j = first + (size_t)rand_r(&seed) % (i - first);
			t = ds->order[i - 1];
			ds->order[i - 1] = ds->order[j];
			ds->order[j] = t;
		}
	}
}

struct dbsync *
dbsync_new(const struct sqlmap_conn *conn, unsigned timeout_ms)
{
	struct dbsync *ds;
	struct dbsync_host *h;
	unsigned connect_s;
	const char *spec, *error;
	size_t	 i;

	ds = xcalloc(1, sizeof(*ds));
	ds->timeout_ms = timeout_ms > 0 ? timeout_ms : DBSYNC_DEFAULT_MS;
	connect_s = (ds->timeout_ms + 999) / 1000;
	if (connect_s < DBSYNC_MIN_CONNECT_S)
		connect_s = DBSYNC_MIN_CONNECT_S;
	ds->nhosts = conn->nhosts > 0 ? conn->nhosts : 1;
	ds->hosts = xcalloc(ds->nhosts, sizeof(ds->hosts[0]));
	ds->order = xcalloc(ds->nhosts, sizeof(ds->order[0]));
	for (i = 0; i < ds->nhosts; i++) {
		h = &ds->hosts[i];
		spec = conn->nhosts > 0 ? conn->hosts[i] : NULL;
		h->label = pgconn_host_label(spec);
		if (pgconn_params_init(&h->params, conn, spec, DBSYNC_APPNAME,
		    connect_s, &error) < 0)
			h->bad = error;
	}
	dbsync_order(ds);
	return ds;
}

void
dbsync_free(struct dbsync **dsp)
{
	struct dbsync *ds = *dsp;
	size_t	 i;

	if (ds == NULL)
		return;
	*dsp = NULL;
	if (ds->pg != NULL)
		PQfinish(ds->pg);
	for (i = 0; i < ds->nhosts; i++) {
		pgconn_params_free(&ds->hosts[i].params);
		free(ds->hosts[i].label);
	}
	free(ds->hosts);
	free(ds->order);
	free(ds);
}

/* dbsync_connect - the first host that answers; -1 and *why_r if none */
static int
dbsync_connect(struct dbsync *ds, char **why_r)
{
	const struct dbsync_host *h;
	char	*line;
	size_t	 i;

	for (i = 0; i < ds->nhosts; i++) {
		h = &ds->hosts[ds->order[i]];
		if (h->bad != NULL) {
			line = xstrdup(h->bad);
		} else {
			ds->pg = PQconnectdbParams(h->params.keywords,
			    h->params.values, h->params.expand_dbname);
			if (ds->pg != NULL &&
			    PQstatus(ds->pg) == CONNECTION_OK) {
				ds->cur = h;
				return 0;
			}
			line = pgconn_oneline(ds->pg != NULL ?
			    PQerrorMessage(ds->pg) : "out of memory");
			if (ds->pg != NULL)
				PQfinish(ds->pg);
			ds->pg = NULL;
		}
		/* Postfix dict_pgsql.c plpgsql_connect_single() */
		msg_warn("connect to pgsql server %s: %s", h->label, line);
		free(*why_r);
		*why_r = xasprintf("connect to pgsql server %s: %s", h->label,
		    line);
		free(line);
	}
	return -1;
}

/* dbsync_drop - forget a connection that is broken or in doubt */
static void
dbsync_drop(struct dbsync *ds)
{
	if (ds->pg != NULL)
		PQfinish(ds->pg);
	ds->pg = NULL;
	ds->cur = NULL;
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
	PGresult *res, *first = NULL;
	struct pollfd pfd;
	uint64_t now;
	int	 ms, rc;

	*broken_r = false;
	if (PQsendQueryParams(ds->pg, sm->sql, (int)sm->nparams, NULL,
	    params, NULL, NULL, 0) == 0)
		goto broken;
	while (PQisBusy(ds->pg)) {
		now = clock_mono_us();
		if (now >= deadline_us) {
			*why_r = xasprintf("pgsql query timed out after %u ms "
			    "(host %s)", ds->timeout_ms, ds->cur->label);
			*broken_r = true;	/* a late answer */
			return NULL;
		}
		ms = (int)((deadline_us - now + US_PER_MS - 1) / US_PER_MS);
		pfd.fd = PQsocket(ds->pg);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0)
			goto broken;
		rc = poll(&pfd, 1, ms);
		if (rc < 0 && errno != EINTR) {
			*why_r = xasprintf("pgsql query: poll: %s",
			    strerror(errno));
			*broken_r = true;
			return NULL;
		}
		if (rc > 0 && PQconsumeInput(ds->pg) == 0)
			goto broken;
	}
	/* one statement: one result, then NULL; keep the first */
	while ((res = PQgetResult(ds->pg)) != NULL) {
		if (first == NULL) {
			first = res;
			continue;
		}
		PQclear(res);
	}
	if (PQstatus(ds->pg) == CONNECTION_BAD) {
		if (first != NULL)
			PQclear(first);
		goto broken;
	}
	if (first == NULL)
		*why_r = xasprintf("pgsql query failed: no result from host %s",
		    ds->cur->label);
	return first;

broken:
	{
		char	*line = pgconn_oneline(PQerrorMessage(ds->pg));

		*why_r = xasprintf("pgsql query failed: fatal error from host "
		    "%s: %s", ds->cur->label, line);
		free(line);
	}
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
		    ds->cur->label, line);
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
