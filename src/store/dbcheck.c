/*
 * dbcheck - check one database server for real. See dbcheck.h.
 *
 * Two connections, A and B, to the host the pools would use first. The
 * order matters for the session test: A prepares a statement and asks
 * for its backend (a pooler in transaction mode then puts that server
 * session back in its pool); B opens a transaction and asks for its
 * backend (it gets A's, if the pooler shares sessions); A asks again
 * (another one, then) and runs what it prepared (gone, then); B
 * commits. Directly, or through a pooler in session mode, A and B have
 * backends of their own for as long as they are connected.
 *
 * Depends on: libpq, core/sqlmap, store/pgconn, util/. Blocking: for
 * vrcptctl only. Security: the test key is ours; server messages are
 * made one sanitised line (pgconn_oneline).
 */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "store/dbcheck.h"
#include "store/pgconn.h"
#include "util/clock.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define DC_APPNAME		"vrcptctl check"
#define DC_STMT			"vrcpt_check"
#define DC_TRIGGERS_SQL		\
	"SELECT count(*) FROM pg_trigger " \
	"WHERE tgname LIKE 'vrcpt\\_%' AND NOT tgisinternal"
#define DC_CHANNEL_MAX		64

struct dc {
	struct dbcheck *out;
	struct pgconn *pc;
	size_t	 host;			/* the host A and B are on */
	const char *label;
	unsigned timeout_ms;
};

static void
dc_line(struct dc *d, bool ok, const char *fmt, ...)
{
	struct dbcheck_line *l;
	va_list	 ap;
	char	*raw;

	if (!ok)
		d->out->nfailed++;
	if (d->out->n == DBCHECK_LINES_MAX)
		return;
	va_start(ap, fmt);
	if (vasprintf(&raw, fmt, ap) < 0)
		raw = NULL;
	va_end(ap);
	l = &d->out->v[d->out->n++];
	l->ok = ok;
	l->text = pgconn_oneline(raw != NULL ? raw : "out of memory");
	free(raw);
}

static uint64_t
dc_deadline(const struct dc *d)
{
	return clock_mono_us() + (uint64_t)d->timeout_ms * CLOCK_US_PER_MS;
}

/*
 * dc_take - the answer of the statement just sent: its result when it
 * has the status wanted, else NULL with *why_r (fresh)
 */
static PGresult *
dc_take(struct dc *d, PGconn *pg, int sent, ExecStatusType want,
    char **why_r)
{
	PGresult *res;

	*why_r = NULL;
	if (!sent) {
		*why_r = pgconn_oneline(PQerrorMessage(pg));
		return NULL;
	}
	switch (pgconn_result(pg, dc_deadline(d), &res, why_r)) {
	case PGCONN_RESULT_OK:
		break;
	case PGCONN_RESULT_TIMEOUT:
		*why_r = xasprintf("no answer in %ums", d->timeout_ms);
		return NULL;
	case PGCONN_RESULT_BROKEN:
		return NULL;
	}
	if (PQresultStatus(res) != want) {
		*why_r = pgconn_result_error(res);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* dc_sql - run sql on pg; its result, or NULL with *why_r */
static PGresult *
dc_sql(struct dc *d, PGconn *pg, const char *sql, ExecStatusType want,
    char **why_r)
{
	return dc_take(d, pg, PQsendQuery(pg, sql), want, why_r);
}

/* dc_long - the one number sql answers, or -1 with *why_r */
static long
dc_long(struct dc *d, PGconn *pg, const char *sql, char **why_r)
{
	PGresult *res;
	long	 v;

	if ((res = dc_sql(d, pg, sql, PGRES_TUPLES_OK, why_r)) == NULL)
		return -1;
	if (PQntuples(res) != 1 || PQnfields(res) < 1) {
		*why_r = xstrdup("not one value");
		PQclear(res);
		return -1;
	}
	v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

/* dc_connect - A: the first host that answers, in the pools' order */
static PGconn *
dc_connect(struct dc *d)
{
	size_t	 order[DBHOSTS_MAX], i, n;
	PGconn	*pg;
	char	*why;

	n = pgconn_order(d->pc, order);
	for (i = 0; i < n; i++) {
		if (pgconn_connect(d->pc, order[i], d->timeout_ms, -1, &pg,
		    &why) == 0) {
			d->host = order[i];
			d->label = pgconn_label(d->pc, order[i]);
			return pg;
		}
		dc_line(d, false, "connect to pgsql server %s: %s",
		    pgconn_label(d->pc, order[i]), why);
		(void)pgconn_failed(d->pc, order[i], why);
		free(why);
	}
	return NULL;
}

/* dc_maps - every map's query, prepared and run as vrcptd runs it */
static void
dc_maps(struct dc *d, PGconn *pg, const struct sqlmap *const *maps,
    size_t nmaps)
{
	char	*params[SQLMAP_PARAMS_MAX], name[PGCONN_STMT_NAME_MAX];
	PGresult *res;
	char	*why;
	size_t	 i, j;
	bool	 expanded;

	for (i = 0; i < nmaps; i++) {
		const struct sqlmap *sm = maps[i];

		pgconn_stmt_name(sm, name);
		res = dc_take(d, pg, PQsendPrepare(pg, name, sm->sql,
		    (int)sm->nparams, NULL), PGRES_COMMAND_OK, &why);
		if (res == NULL) {
			dc_line(d, false, "%s: the query cannot be prepared: %s",
			    sm->path, why);
			free(why);
			continue;
		}
		PQclear(res);
		memset(params, 0, sizeof(params));
		expanded = sqlmap_expand(sm, DBCHECK_KEY, params);
		res = dc_take(d, pg, PQsendQueryPrepared(pg, name,
		    (int)sm->nparams, (const char *const *)params, NULL, NULL,
		    0), PGRES_TUPLES_OK, &why);
		for (j = 0; expanded && j < sm->nparams; j++)
			free(params[j]);
		if (res == NULL) {
			dc_line(d, false, "%s: the query fails: %s", sm->path,
			    why);
			free(why);
			continue;
		}
		dc_line(d, true, "%s: the query runs (%d row%s for %s)",
		    sm->path, PQntuples(res), PQntuples(res) == 1 ? "" : "s",
		    DBCHECK_KEY);
		PQclear(res);
		res = dc_sql(d, pg, "DEALLOCATE ALL", PGRES_COMMAND_OK, &why);
		if (res != NULL)
			PQclear(res);
		free(why);
	}
}

/* dc_sessions - A and B: does a pooler share server sessions? */
static void
dc_sessions(struct dc *d, PGconn *a, PGconn *b)
{
	long	 pa1, pb, pa2;
	PGresult *res;
	char	*why = NULL, *why2 = NULL;
	bool	 stmt_ok;

	res = dc_take(d, a, PQsendPrepare(a, DC_STMT, "SELECT 1", 0, NULL),
	    PGRES_COMMAND_OK, &why);
	if (res == NULL) {
		dc_line(d, false, "prepare: %s", why);
		free(why);
		return;
	}
	PQclear(res);
	if ((pa1 = dc_long(d, a, "SELECT pg_backend_pid()", &why)) < 0 ||
	    (res = dc_sql(d, b, "BEGIN", PGRES_COMMAND_OK, &why)) == NULL) {
		dc_line(d, false, "session test: %s", why);
		free(why);
		return;
	}
	PQclear(res);
	pb = dc_long(d, b, "SELECT pg_backend_pid()", &why);
	free(why);
	why = NULL;
	pa2 = dc_long(d, a, "SELECT pg_backend_pid()", &why);
	free(why);
	why = NULL;
	res = dc_take(d, a, PQsendQueryPrepared(a, DC_STMT, 0, NULL, NULL,
	    NULL, 0), PGRES_TUPLES_OK, &why2);
	stmt_ok = res != NULL;
	if (res != NULL)
		PQclear(res);
	if ((res = dc_sql(d, b, "COMMIT", PGRES_COMMAND_OK, &why)) != NULL)
		PQclear(res);
	free(why);
	if (pb == pa1 || pa2 != pa1 || !stmt_ok)
		dc_line(d, false, "sessions are shared: a second client ran in "
		    "the first one's server backend (%ld, %ld, then %ld)%s%s; "
		    "a connection pooler in transaction or statement mode "
		    "(pgbouncer pool_mode = transaction) breaks vrcpt's "
		    "prepared statements and LISTEN: use pool_mode = session "
		    "or connect directly", pa1, pb, pa2,
		    stmt_ok ? "" : "; a prepared statement vanished: ",
		    stmt_ok ? "" : why2);
	else
		dc_line(d, true, "each connection has a server session of its "
		    "own (prepared statements and LISTEN work)");
	free(why2);
	if ((res = dc_sql(d, a, "DEALLOCATE ALL", PGRES_COMMAND_OK, &why)) !=
	    NULL)
		PQclear(res);
	free(why);
}

/* dc_listen - a NOTIFY sent on B reaches A */
static void
dc_listen(struct dc *d, PGconn *a, PGconn *b)
{
	char	 chan[DC_CHANNEL_MAX], sql[DC_CHANNEL_MAX + 32], *why;
	const char *params[2];
	uint64_t deadline;
	PGnotify *n;
	PGresult *res;
	bool	 got = false;

	snprintf(chan, sizeof(chan), "vrcpt_check_%ld", (long)getpid());
	snprintf(sql, sizeof(sql), "LISTEN %s", chan);
	if ((res = dc_sql(d, a, sql, PGRES_COMMAND_OK, &why)) == NULL) {
		dc_line(d, false, "LISTEN: %s", why);
		free(why);
		return;
	}
	PQclear(res);
	params[0] = chan;
	params[1] = "check";
	res = dc_take(d, b, PQsendQueryParams(b, "SELECT pg_notify($1, $2)",
	    2, NULL, params, NULL, NULL, 0), PGRES_TUPLES_OK, &why);
	if (res == NULL) {
		dc_line(d, false, "NOTIFY: %s", why);
		free(why);
		return;
	}
	PQclear(res);
	deadline = clock_mono_us() + DBCHECK_NOTIFY_WAIT_MS * CLOCK_US_PER_MS;
	while (!got) {
		if (PQconsumeInput(a) == 0)
			break;
		while ((n = PQnotifies(a)) != NULL) {
			got = got || strcmp(n->relname, chan) == 0;
			PQfreemem(n);
		}
		if (got || pgconn_wait(PQsocket(a), POLLIN, deadline, -1) ==
		    PGCONN_WAIT_TIMEOUT)
			break;
	}
	if (got)
		dc_line(d, true, "LISTEN/NOTIFY: a notification arrives "
		    "(invalidation works)");
	else
		dc_line(d, false, "LISTEN/NOTIFY: a notification from another "
		    "connection did not arrive in %ums: vrcptd would never "
		    "hear of changes (a connection pooler in transaction "
		    "mode?)", DBCHECK_NOTIFY_WAIT_MS);
	snprintf(sql, sizeof(sql), "UNLISTEN %s", chan);
	if ((res = dc_sql(d, a, sql, PGRES_COMMAND_OK, &why)) != NULL)
		PQclear(res);
	free(why);
}

size_t
dbcheck_run(const struct sqlmap_conn *conn, const struct sqlmap *const *maps,
    size_t nmaps, unsigned timeout_ms, struct dbcheck *out)
{
	struct dc d = { 0 };
	PGconn	*a, *b = NULL;
	char	*why = NULL;
	long	 v;

	memset(out, 0, sizeof(*out));
	d.out = out;
	d.timeout_ms = timeout_ms;
	d.pc = pgconn_new(conn, DC_APPNAME);
	if ((a = dc_connect(&d)) == NULL) {
		pgconn_free(&d.pc);
		return out->nfailed;
	}
	v = dc_long(&d, a, "SELECT current_setting('server_version_num')",
	    &why);
	dc_line(&d, v >= 0, "connected to %s, database %s, PostgreSQL %ld%s%s",
	    d.label, conn->dbname, v, why != NULL ? ": " : "",
	    why != NULL ? why : "");
	free(why);
	why = NULL;
	v = dc_long(&d, a, "SELECT pg_is_in_recovery()::int", &why);
	if (v == 1)
		dc_line(&d, false, "%s is a standby: vrcptd's LISTEN needs the "
		    "primary (list it first in hosts =)", d.label);
	free(why);
	why = NULL;
	dc_maps(&d, a, maps, nmaps);
	v = dc_long(&d, a, DC_TRIGGERS_SQL, &why);
	if (v > 0)
		dc_line(&d, true, "%ld vrcpt_* trigger%s: the caches are "
		    "trusted", v, v == 1 ? "" : "s");
	else
		dc_line(&d, false, "%s: the caches are not trusted (load "
		    "policy/triggers-ispmail.sql or triggers-postfixadmin.sql)",
		    v == 0 ? "no vrcpt_* triggers" : why);
	free(why);
	why = NULL;
	if (pgconn_connect(d.pc, d.host, timeout_ms, -1, &b, &why) != 0) {
		dc_line(&d, false, "a second connection to %s: %s", d.label,
		    why);
		free(why);
	} else {
		dc_sessions(&d, a, b);
		dc_listen(&d, a, b);
		PQfinish(b);
	}
	PQfinish(a);
	pgconn_free(&d.pc);
	return out->nfailed;
}

void
dbcheck_free(struct dbcheck *dc)
{
	size_t	 i;

	for (i = 0; i < dc->n; i++)
		free(dc->v[i].text);
	memset(dc, 0, sizeof(*dc));
}
