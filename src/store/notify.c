/*
 * notify - LISTEN vrcpt_invalidate on a dedicated connection, in a
 * thread of its own; and NOTIFY for vrcptctl. See notify.h.
 *
 * The thread uses libpq's non-blocking calls under poll() with a stop
 * pipe (pgconn_wait), so that notify_stop() never waits for a hung
 * server: connect (pgconn_connect), "SELECT pg_is_in_recovery()",
 * "LISTEN", then a loop that hands each notification to the caller.
 * Every NOTIFY_PING_INTERVAL_MS it counts the vrcpt_* triggers of the
 * database: the query proves the connection alive even when nothing
 * changes, and the invalidation is "up" only while triggers exist
 * (without them nothing would ever be sent, and cached answers must
 * not be trusted). The count is also taken right after LISTEN. The same
 * query returns pg_current_wal_insert_lsn() (notify.h: WAL positions),
 * and it is sent at once, not at its interval, when notifications have
 * arrived since the last one was sent.
 *
 * Hosts are tried in the order the pools use (pgconn_order: Postfix
 * dict_pgsql.c's), with a host list of the listener's own. Where the
 * listener differs: it must reach the primary (a standby cannot
 * LISTEN, and notifications are not replicated), so a host found in
 * recovery after connecting is skipped for retry_interval as if its
 * connect had failed, and so is one where LISTEN fails; the pools use
 * standbys like any host, as Postfix does. One warning per outage, when
 * no host could be listened on (a dead host that another one stands in
 * for is the pools' news, not the listener's). Reconnects follow the
 * backoff of core/dbhosts, as the pools' do.
 *
 * notify_send() orders the hosts the same way, with a host list of its
 * own, and stops at the first that takes the NOTIFY (a standby refuses
 * it).
 *
 * Depends on: libpq, pthreads, store/pgconn, core/dbhosts, util/.
 *
 * Security: payloads are passed on as they are (the caller parses them
 * with core/cachefmt and can only drop cache entries because of them).
 * Server messages are made one line and sanitised before logging (by
 * pgconn_oneline); passwords are never logged (pgconn_host_label).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "core/cachefmt.h"
#include "core/fence.h"
#include "store/notify.h"
#include "store/pgconn.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

#define US_PER_MS		CLOCK_US_PER_MS
#define NOTIFY_TRIGGERS_SQL	\
	"SELECT count(*), pg_backend_pid(), pg_current_wal_insert_lsn() " \
	"FROM pg_trigger WHERE tgname LIKE 'vrcpt\\_%' AND NOT tgisinternal"
#define NOTIFY_SEND_SQL		"SELECT pg_notify($1, $2)"
#define NOTIFY_SEND_APPNAME	"vrcptctl"
#define NOTIFY_STANDBY		"a standby (LISTEN needs the primary)"

struct notify {
	const struct sqlmap_conn *conn;
	struct pgconn *pc;	/* the hosts, the listener's own state */
	struct notify_hooks hooks;
	pthread_t thread;
	int	 stop_rd, stop_wr;
	PGconn	*pg;
	char	*label;		/* "pgsql server HOST database DB" */
	bool	 warned;	/* a failure was logged */
	bool	 warned_triggers;	/* "no triggers" was logged */
	bool	 warned_pooler;	/* "through a pooler" was logged */
	bool	 is_up;		/* hooks.up called, hooks.down not yet */
	long	 backend;	/* the server backend of this connection, from
				 * its first keep-alive; 0: not seen yet */
	bool	 shared;	/* a pooler shares server sessions: LISTEN
				 * cannot be trusted, up never again */
	struct dbhosts_backoff backoff;
	uint64_t next_tick_us;
	uint64_t tag;		/* of the last batch of notifications */
};

/* n_wait - wait for the connection's socket (events) or the stop pipe */
static enum pgconn_wait
n_wait(struct notify *n, int fd, short events, uint64_t deadline_us)
{
	return pgconn_wait(fd, events, deadline_us, n->stop_rd);
}

static void
n_tick(struct notify *n)
{
	uint64_t now = clock_mono_us();

	if (now < n->next_tick_us)
		return;
	n->next_tick_us = now + NOTIFY_TICK_MS * US_PER_MS;
	if (n->hooks.tick != NULL)
		n->hooks.tick(n->hooks.arg);
}

/* n_warn - one warning per series of failures */
static void
n_warn(struct notify *n, const char *what, const char *why)
{
	if (n->warned)
		return;
	n->warned = true;
	msg_warn("cache invalidation listener, %s: %s: %s; cached answers "
	    "are checked with the database until it is back", n->label, what,
	    why);
}

/*
 * n_exec_pg - run sql with params on pg (blocking mode) and wait for
 * its last result (caller clears) until timeout_ms has passed, or until
 * stop_fd (-1: none) is readable; or NULL with *why_r (fresh) or
 * *stop_r. Notifications that arrive meanwhile stay queued in libpq.
 */
static PGresult *
n_exec_pg(PGconn *pg, const char *sql, int nparams,
    const char *const *params, unsigned timeout_ms, int stop_fd,
    bool *stop_r, char **why_r)
{
	uint64_t deadline = clock_mono_us() + timeout_ms * US_PER_MS;
	PGresult *res, *last = NULL;

	*stop_r = false;
	if (!PQsendQueryParams(pg, sql, nparams, NULL, params, NULL, NULL,
	    0)) {
		*why_r = pgconn_oneline(PQerrorMessage(pg));
		return NULL;
	}
	for (;;) {
		while (!PQisBusy(pg)) {
			res = PQgetResult(pg);
			if (res == NULL) {
				if (last == NULL)
					*why_r = xstrdup("no result");
				return last;
			}
			PQclear(last);
			last = res;
		}
		switch (pgconn_wait(PQsocket(pg), POLLIN, deadline, stop_fd)) {
		case PGCONN_WAIT_READY:
			if (PQconsumeInput(pg))
				continue;
			*why_r = pgconn_oneline(PQerrorMessage(pg));
			break;
		case PGCONN_WAIT_TIMEOUT:
			*why_r = xstrdup("query timed out");
			break;
		case PGCONN_WAIT_STOP:
			*stop_r = true;
			break;
		}
		break;
	}
	PQclear(last);
	return NULL;
}

/* n_exec - n_exec_pg on the listener's connection */
static PGresult *
n_exec(struct notify *n, const char *sql, bool *stop_r, char **why_r)
{
	return n_exec_pg(n->pg, sql, 0, NULL, NOTIFY_QUERY_TIMEOUT_MS,
	    n->stop_rd, stop_r, why_r);
}

/* n_query1 - a one-value query; fresh value or NULL (*why_r / *stop_r) */
static char *
n_query1(struct notify *n, const char *sql, bool *stop_r, char **why_r)
{
	PGresult *res = n_exec(n, sql, stop_r, why_r);
	char	*v = NULL;

	if (res == NULL)
		return NULL;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    PQnfields(res) == 1)
		v = xstrdup(PQgetvalue(res, 0, 0));
	else if (PQresultStatus(res) == PGRES_COMMAND_OK)
		v = xstrdup("");
	else
		*why_r = pgconn_result_error(res);
	PQclear(res);
	return v;
}

/* n_label - name host i (and the database) in messages */
static void
n_label(struct notify *n, size_t i)
{
	free(n->label);
	n->label = xasprintf("pgsql server %s database %s",
	    pgconn_label(n->pc, i), n->conn->dbname);
}

/*
 * n_listen - on the new connection n->pg: check that it is the primary,
 * and LISTEN. Returns 0, -1 (*what_r, *why_r fresh: the host cannot be
 * used) or 1 (stop).
 */
static int
n_listen(struct notify *n, const char **what_r, char **why_r)
{
	char	*v;
	bool	 stop;

	*what_r = "check";
	v = n_query1(n, "SELECT pg_is_in_recovery()", &stop, why_r);
	if (stop)
		return 1;
	if (v == NULL)
		return -1;
	if (strcmp(v, "t") == 0) {
		free(v);
		*why_r = xstrdup(NOTIFY_STANDBY);
		return -1;
	}
	free(v);
	*what_r = "LISTEN";
	v = n_query1(n, "LISTEN " CACHEFMT_CHANNEL, &stop, why_r);
	if (stop)
		return 1;
	if (v == NULL)
		return -1;
	free(v);
	return 0;
}

/*
 * n_open - a listening connection on the first primary that answers,
 * hosts in pgconn_order(). Returns 0, -1 (try again later) or 1 (stop).
 */
static int
n_open(struct notify *n)
{
	size_t	 order[DBHOSTS_MAX], i, k;
	const char *what = "connect";
	char	*why = NULL;
	int	 rc;

	k = pgconn_order(n->pc, order);
	for (i = 0; i < k; i++) {
		n_label(n, order[i]);
		free(why);
		why = NULL;
		what = "connect";
		rc = pgconn_connect(n->pc, order[i], NOTIFY_CONNECT_TIMEOUT_MS,
		    n->stop_rd, &n->pg, &why);
		n->backend = 0;
		if (rc == 0) {
			rc = n_listen(n, &what, &why);
			if (rc != 0) {
				PQfinish(n->pg);
				n->pg = NULL;
			}
		}
		if (rc == 1) {
			free(why);
			return 1;
		}
		if (rc < 0) {
			/* dict_pgsql.c: plpgsql_down_host(), standbys too */
			(void)pgconn_failed(n->pc, order[i], why != NULL ?
			    why : "unknown error");
			continue;
		}
		(void)pgconn_up(n->pc, order[i]);
		if (n->warned)
			msg_info("cache invalidation listener, %s: listening "
			    "again", n->label);
		n->warned = false;
		return 0;
	}
	n_warn(n, what, why != NULL ? why : "no host");
	free(why);
	return -1;
}

/*
 * n_triggers - the database has count vrcpt_* triggers: up when there
 * are some, down when there are none; lsn: the primary's WAL insert
 * position, taken after LISTEN by the keep-alive sent at tag
 */
static void
n_triggers(struct notify *n, long count, uint64_t tag, uint64_t lsn)
{
	if (count > 0 && !n->is_up && !n->shared) {
		if (n->warned_triggers)
			msg_info("%s: vrcpt_* triggers found; caching "
			    "answers", n->label);
		n->warned_triggers = false;
		n->is_up = true;
		n->hooks.up(n->hooks.arg, tag, lsn);
	} else if (count == 0) {
		if (!n->warned_triggers)
			msg_warn("%s has no vrcpt_* triggers (load "
			    "policy/triggers-ispmail.sql or "
			    "triggers-postfixadmin.sql): nothing would tell "
			    "vrcptd about changes, so cached answers are used "
			    "only when the database cannot answer", n->label);
		n->warned_triggers = true;
		if (n->is_up) {
			n->is_up = false;
			n->hooks.down(n->hooks.arg);
		}
	}
}

/* n_count - field col of a one-row result, a number >= 0; else -1 */
static long
n_count(const PGresult *res, int col)
{
	const char *v;
	char	*end;
	long	 c;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    PQnfields(res) <= col)
		return -1;
	v = PQgetvalue(res, 0, col);
	c = strtol(v, &end, 10);
	return *v != '\0' && *end == '\0' && c >= 0 ? c : -1;
}

/*
 * n_backend - the keep-alive ran in server backend pid. A connection's
 * backend never changes, unless a connection pooler in transaction or
 * statement mode (pgbouncer pool_mode = transaction) hands each
 * statement to whichever server session is free: then LISTEN was
 * registered in a session we are no longer in, and notifications go to
 * whoever is. Cached answers must not be trusted after that.
 */
static void
n_backend(struct notify *n, long pid)
{
	if (pid <= 0 || n->shared)
		return;
	if (n->backend == 0) {
		n->backend = pid;
		if (PQbackendPID(n->pg) != (int)pid && !n->warned_pooler) {
			msg_info("%s: connected through a connection pooler "
			    "(the server backend is not the one libpq was "
			    "told of): LISTEN needs a server session of its "
			    "own (pgbouncer pool_mode = session); vrcptctl "
			    "check --live tells", n->label);
			n->warned_pooler = true;
		}
		return;
	}
	if (pid == n->backend)
		return;
	msg_warn("%s: the LISTEN connection moved from server backend %ld to "
	    "%ld (%s): notifications cannot reach vrcptd, so cached answers "
	    "are used only when the database cannot answer, until vrcptd is "
	    "restarted", n->label, n->backend, pid, PGCONN_POOLER_HINT);
	n->shared = true;
	if (n->is_up) {
		n->is_up = false;
		n->hooks.down(n->hooks.arg);
	}
}

/*
 * n_serve - hand over notifications until the connection fails (returns
 * 0) or we are stopped (1). The keep-alive query counts the triggers;
 * the first one goes out at once.
 */
/* n_lsn - field col of a one-row result, a WAL position; -1 if not */
static int
n_lsn(const PGresult *res, int col, uint64_t *lsn_r)
{
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    PQnfields(res) <= col || PQgetisnull(res, 0, col))
		return -1;
	return fence_lsn_parse(PQgetvalue(res, 0, col), lsn_r);
}

static int
n_serve(struct notify *n)
{
	uint64_t next_ping = clock_mono_us(), ping_deadline = 0;
	uint64_t ping_tag = 0, lsn;
	bool	 ping = false, got, want_lsn = false;
	PGnotify *msg;
	PGresult *res;

	for (;;) {
		uint64_t now, until;
		enum pgconn_wait w;

		/* one tag per batch taken: the order they were handed over */
		got = false;
		while ((msg = PQnotifies(n->pg)) != NULL) {
			if (strcmp(msg->relname, CACHEFMT_CHANNEL) == 0) {
				if (!got)
					n->tag++;
				got = true;
				n->hooks.message(n->hooks.arg, msg->extra,
				    n->tag);
			}
			PQfreemem(msg);
		}
		want_lsn = want_lsn || got;
		while (ping && !PQisBusy(n->pg)) {
			res = PQgetResult(n->pg);
			if (res == NULL) {
				ping = false;
				break;
			}
			if (n_count(res, 0) < 0 || n_lsn(res, 2, &lsn) < 0) {
				char	*why = pgconn_result_error(res);

				PQclear(res);
				n_warn(n, "trigger check", why);
				free(why);
				return 0;
			}
			/* sent after the notifications of ping_tag arrived */
			if (n->hooks.settled != NULL)
				n->hooks.settled(n->hooks.arg, ping_tag, lsn);
			n_backend(n, n_count(res, 1));
			n_triggers(n, n_count(res, 0), ping_tag, lsn);
			PQclear(res);
		}
		n_tick(n);
		now = clock_mono_us();
		if (!ping && (now >= next_ping || want_lsn)) {
			if (!PQsendQuery(n->pg, NOTIFY_TRIGGERS_SQL)) {
				char	*why = pgconn_oneline(
				    PQerrorMessage(n->pg));

				n_warn(n, "keep-alive query", why);
				free(why);
				return 0;
			}
			ping = true;
			ping_tag = n->tag;
			want_lsn = false;
			ping_deadline = now +
			    NOTIFY_PING_TIMEOUT_MS * US_PER_MS;
			next_ping = now + NOTIFY_PING_INTERVAL_MS * US_PER_MS;
		}
		if (ping && now >= ping_deadline) {
			n_warn(n, "keep-alive query", "no answer");
			return 0;
		}
		until = now + NOTIFY_TICK_MS * US_PER_MS;
		if (ping && ping_deadline < until)
			until = ping_deadline;
		if (!ping && next_ping < until)
			until = next_ping;
		w = n_wait(n, PQsocket(n->pg), POLLIN, until);
		if (w == PGCONN_WAIT_STOP)
			return 1;
		if (w == PGCONN_WAIT_READY && !PQconsumeInput(n->pg)) {
			char	*why = pgconn_oneline(PQerrorMessage(n->pg));

			n_warn(n, "connection lost", why);
			free(why);
			return 0;
		}
		if (PQstatus(n->pg) != CONNECTION_OK) {
			n_warn(n, "connection lost", "bad state");
			return 0;
		}
	}
}

/* n_sleep - wait ms (the backoff), ticking; true if stopped */
static bool
n_sleep(struct notify *n, unsigned ms)
{
	uint64_t until;

	until = clock_mono_us() + ms * US_PER_MS;
	for (;;) {
		uint64_t now = clock_mono_us(), step;

		n_tick(n);
		if (now >= until)
			return false;
		step = now + NOTIFY_TICK_MS * US_PER_MS;
		if (n_wait(n, -1, 0, step < until ? step : until) ==
		    PGCONN_WAIT_STOP)
			return true;
	}
}

static void *
n_main(void *arg)
{
	struct notify *n = arg;
	unsigned ms;
	int	 rc;

	for (;;) {
		rc = n_open(n);
		if (rc == 1)
			break;
		if (rc == 0) {
			dbhosts_backoff_up(&n->backoff, clock_mono_us());
			rc = n_serve(n);
			if (n->is_up) {
				n->is_up = false;
				n->hooks.down(n->hooks.arg);
			}
			PQfinish(n->pg);
			n->pg = NULL;
			if (rc == 1)
				break;
			ms = dbhosts_backoff_lost(&n->backoff, clock_mono_us());
		} else {
			ms = dbhosts_backoff_failed(&n->backoff);
		}
		if (n_sleep(n, ms))
			break;
	}
	if (n->pg != NULL)
		PQfinish(n->pg);
	n->pg = NULL;
	return NULL;
}

struct notify *
notify_start(const struct sqlmap_conn *conn, const char *appname,
    const struct notify_hooks *hooks)
{
	struct notify *n = xcalloc(1, sizeof(*n));
	sigset_t all, old;
	int	 p[2];

	n->conn = conn;
	n->pc = pgconn_new(conn, appname);
	n->hooks = *hooks;
	n->label = xasprintf("pgsql database %s", conn->dbname);
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		msg_fatal("pipe: %s", strerror(errno));
	n->stop_rd = p[0];
	n->stop_wr = p[1];
	/* the thread takes no signals: the main thread handles them */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&n->thread, NULL, n_main, n) != 0)
		msg_fatal("pthread_create: %s", strerror(errno));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return n;
}

void
notify_stop(struct notify **np)
{
	struct notify *n = *np;
	ssize_t	 w;

	*np = NULL;
	if (n == NULL)
		return;
	do
		w = write(n->stop_wr, "x", 1);
	while (w < 0 && errno == EINTR);
	pthread_join(n->thread, NULL);
	close(n->stop_rd);
	close(n->stop_wr);
	pgconn_free(&n->pc);
	free(n->label);
	free(n);
}

int
notify_send(const struct sqlmap_conn *conn, const char *payload,
    unsigned timeout_ms, char **error_r)
{
	const char *params[2] = { CACHEFMT_CHANNEL, payload };
	struct pgconn *pc = pgconn_new(conn, NOTIFY_SEND_APPNAME);
	size_t	 order[DBHOSTS_MAX], i, k;
	char	*why = NULL, *line, *e;
	PGresult *res;
	PGconn	*pg;
	bool	 stop;

	*error_r = NULL;
	k = pgconn_order(pc, order);
	for (i = 0; i < k; i++) {
		const char *label = pgconn_label(pc, order[i]);

		line = NULL;
		if (pgconn_connect(pc, order[i], timeout_ms, -1, &pg,
		    &line) != 0) {
			free(why);
			why = xasprintf("connect to pgsql server %s: %s", label,
			    line);
			free(line);
			continue;
		}
		res = n_exec_pg(pg, NOTIFY_SEND_SQL, 2, params, timeout_ms, -1,
		    &stop, &line);
		if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK) {
			PQclear(res);
			PQfinish(pg);
			pgconn_free(&pc);
			free(why);
			return 0;
		}
		/* a standby: "cannot execute pg_notify() during recovery" */
		e = res != NULL ? pgconn_result_error(res) : line;
		free(why);
		why = xasprintf("pgsql server %s: %s", label, e);
		free(e);
		PQclear(res);
		PQfinish(pg);
	}
	pgconn_free(&pc);
	*error_r = why != NULL ? why : xstrdup("no host");
	return -1;
}
