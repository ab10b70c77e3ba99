/*
 * notify - LISTEN vrcpt_invalidate on a dedicated connection, in a
 * thread of its own; and NOTIFY for vrcptctl. See notify.h.
 *
 * The thread uses libpq's non-blocking calls under poll() with a stop
 * pipe, so that notify_stop() never waits for a hung server: connect
 * (PQconnectStartParams/PQconnectPoll), "SELECT pg_is_in_recovery()",
 * "LISTEN", then a loop that hands each notification to the caller.
 * Every NOTIFY_PING_INTERVAL_MS it counts the vrcpt_* triggers of the
 * database: the query proves the connection alive even when nothing
 * changes, and the invalidation is "up" only while triggers exist
 * (without them nothing would ever be sent, and cached answers must
 * not be trusted). The count is also taken right after LISTEN.
 *
 * Depends on: libpq, pthreads, store/pgconn, util/. This file, db.c,
 * dbsync.c and pgconn.c are the ones that include libpq-fe.h.
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
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "core/cachefmt.h"
#include "store/notify.h"
#include "store/pgconn.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/xalloc.h"

#define US_PER_MS		1000ULL
#define NOTIFY_TRIGGERS_SQL	\
	"SELECT count(*) FROM pg_trigger " \
	"WHERE tgname LIKE 'vrcpt\\_%' AND NOT tgisinternal"

struct notify {
	const struct sqlmap_conn *conn;
	char	*appname;
	struct notify_hooks hooks;
	pthread_t thread;
	int	 stop_rd, stop_wr;
	atomic_bool up;
	PGconn	*pg;
	char	*label;		/* "pgsql server HOST database DB" */
	bool	 warned;	/* a failure was logged */
	bool	 warned_triggers;	/* "no triggers" was logged */
	bool	 is_up;		/* hooks.up called, hooks.down not yet */
	unsigned backoff_ms;
	uint64_t next_tick_us;
};

enum nwait {
	NWAIT_READY,
	NWAIT_TIMEOUT,
	NWAIT_STOP
};

/* nwait - wait for the connection's socket (events) or the stop pipe */
static enum nwait
nwait(struct notify *n, int fd, short events, uint64_t deadline_us)
{
	struct pollfd p[2];
	uint64_t now;
	int	 ms, rc;

	for (;;) {
		now = clock_mono_us();
		if (now >= deadline_us)
			return NWAIT_TIMEOUT;
		ms = (int)((deadline_us - now + US_PER_MS - 1) / US_PER_MS);
		p[0].fd = n->stop_rd;
		p[0].events = POLLIN;
		p[1].fd = fd;
		p[1].events = events;
		p[0].revents = p[1].revents = 0;
		rc = poll(p, fd >= 0 ? 2 : 1, ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			msg_fatal("poll: %s", strerror(errno));
		if (p[0].revents != 0)
			return NWAIT_STOP;
		if (rc > 0)
			return NWAIT_READY;
	}
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
 * n_connect_host - one host, non-blocking. Returns the connection, or
 * NULL (*why_r fresh) or NULL with *stop_r.
 */
static PGconn *
n_connect_host(struct notify *n, const char *host, bool *stop_r,
    char **why_r)
{
	struct pgconn_params p;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	const char *err;
	uint64_t deadline = clock_mono_us() +
	    NOTIFY_CONNECT_TIMEOUT_MS * US_PER_MS;
	PGconn	*pg;

	*stop_r = false;
	if (pgconn_params_init(&p, n->conn, host, n->appname, 0, &err) < 0) {
		pgconn_params_free(&p);
		*why_r = xstrdup(err);
		return NULL;
	}
	pg = PQconnectStartParams(p.keywords, p.values, p.expand_dbname);
	pgconn_params_free(&p);
	if (pg == NULL) {
		*why_r = xstrdup("out of memory");
		return NULL;
	}
	while (PQstatus(pg) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
	    st != PGRES_POLLING_FAILED) {
		enum nwait w = nwait(n, PQsocket(pg),
		    st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);

		if (w == NWAIT_STOP) {
			PQfinish(pg);
			*stop_r = true;
			return NULL;
		}
		if (w == NWAIT_TIMEOUT) {
			PQfinish(pg);
			*why_r = xasprintf("connect timed out after %ums",
			    NOTIFY_CONNECT_TIMEOUT_MS);
			return NULL;
		}
		st = PQconnectPoll(pg);
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		*why_r = pgconn_oneline(PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

/*
 * n_exec - run sql and wait for its last result (caller clears), or
 * NULL with *why_r (fresh) or *stop_r. Notifications that arrive
 * meanwhile stay queued in libpq.
 */
static PGresult *
n_exec(struct notify *n, const char *sql, bool *stop_r, char **why_r)
{
	uint64_t deadline = clock_mono_us() +
	    NOTIFY_QUERY_TIMEOUT_MS * US_PER_MS;
	PGresult *res, *last = NULL;

	*stop_r = false;
	if (!PQsendQuery(n->pg, sql)) {
		*why_r = pgconn_oneline(PQerrorMessage(n->pg));
		return NULL;
	}
	for (;;) {
		enum nwait w;

		while (!PQisBusy(n->pg)) {
			res = PQgetResult(n->pg);
			if (res == NULL) {
				if (last == NULL)
					*why_r = xstrdup("no result");
				return last;
			}
			PQclear(last);
			last = res;
		}
		w = nwait(n, PQsocket(n->pg), POLLIN, deadline);
		if (w == NWAIT_STOP) {
			*stop_r = true;
			break;
		}
		if (w == NWAIT_TIMEOUT) {
			*why_r = xstrdup("query timed out");
			break;
		}
		if (!PQconsumeInput(n->pg)) {
			*why_r = pgconn_oneline(PQerrorMessage(n->pg));
			break;
		}
	}
	PQclear(last);
	return NULL;
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

/*
 * n_open - a listening connection on the first primary that answers.
 * Returns 0, -1 (try again later) or 1 (stop).
 */
static int
n_open(struct notify *n)
{
	size_t	 i, nh = n->conn->nhosts > 0 ? n->conn->nhosts : 1;
	bool	 stop;

	for (i = 0; i < nh; i++) {
		const char *host = n->conn->nhosts > 0 ? n->conn->hosts[i] :
		    NULL;
		char	*why = NULL, *v, *hl = pgconn_host_label(host);

		free(n->label);
		n->label = xasprintf("pgsql server %s database %s", hl,
		    n->conn->dbname);
		free(hl);
		n->pg = n_connect_host(n, host, &stop, &why);
		if (stop)
			return 1;
		if (n->pg == NULL) {
			n_warn(n, "connect", why);
			free(why);
			continue;
		}
		v = n_query1(n, "SELECT pg_is_in_recovery()", &stop, &why);
		if (v != NULL && strcmp(v, "t") == 0) {
			free(why);
			why = xstrdup("a standby (LISTEN needs the primary)");
		}
		if (v == NULL || strcmp(v, "t") == 0) {
			free(v);
			PQfinish(n->pg);
			n->pg = NULL;
			if (stop) {
				free(why);
				return 1;
			}
			n_warn(n, "check", why);
			free(why);
			continue;
		}
		free(v);
		v = n_query1(n, "LISTEN " CACHEFMT_CHANNEL, &stop, &why);
		if (v == NULL) {
			PQfinish(n->pg);
			n->pg = NULL;
			if (stop) {
				free(why);
				return 1;
			}
			n_warn(n, "LISTEN", why);
			free(why);
			continue;
		}
		free(v);
		if (n->warned)
			msg_info("cache invalidation listener, %s: listening "
			    "again", n->label);
		n->warned = false;
		return 0;
	}
	return -1;
}

/*
 * n_triggers - the database has count vrcpt_* triggers: up when there
 * are some, down when there are none
 */
static void
n_triggers(struct notify *n, long count)
{
	if (count > 0 && !n->is_up) {
		if (n->warned_triggers)
			msg_info("%s: vrcpt_* triggers found; caching "
			    "answers", n->label);
		n->warned_triggers = false;
		n->is_up = true;
		atomic_store(&n->up, true);
		n->hooks.up(n->hooks.arg);
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
			atomic_store(&n->up, false);
			n->hooks.down(n->hooks.arg);
		}
	}
}

/* n_count - parse a count(*) result; -1 if it is not one */
static long
n_count(const PGresult *res)
{
	const char *v;
	char	*end;
	long	 c;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    PQnfields(res) != 1)
		return -1;
	v = PQgetvalue(res, 0, 0);
	c = strtol(v, &end, 10);
	return *v != '\0' && *end == '\0' && c >= 0 ? c : -1;
}

/*
 * n_serve - hand over notifications until the connection fails (returns
 * 0) or we are stopped (1). The keep-alive query counts the triggers;
 * the first one goes out at once.
 */
static int
n_serve(struct notify *n)
{
	uint64_t next_ping = clock_mono_us(), ping_deadline = 0;
	bool	 ping = false;
	PGnotify *msg;
	PGresult *res;

	for (;;) {
		uint64_t now, until;
		enum nwait w;

		while ((msg = PQnotifies(n->pg)) != NULL) {
			if (strcmp(msg->relname, CACHEFMT_CHANNEL) == 0)
				n->hooks.message(n->hooks.arg, msg->extra);
			PQfreemem(msg);
		}
		while (ping && !PQisBusy(n->pg)) {
			res = PQgetResult(n->pg);
			if (res == NULL) {
				ping = false;
				break;
			}
			if (n_count(res) < 0) {
				char	*why = pgconn_result_error(res);

				PQclear(res);
				n_warn(n, "trigger check", why);
				free(why);
				return 0;
			}
			n_triggers(n, n_count(res));
			PQclear(res);
		}
		n_tick(n);
		now = clock_mono_us();
		if (!ping && now >= next_ping) {
			if (!PQsendQuery(n->pg, NOTIFY_TRIGGERS_SQL)) {
				char	*why = pgconn_oneline(
				    PQerrorMessage(n->pg));

				n_warn(n, "keep-alive query", why);
				free(why);
				return 0;
			}
			ping = true;
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
		w = nwait(n, PQsocket(n->pg), POLLIN, until);
		if (w == NWAIT_STOP)
			return 1;
		if (w == NWAIT_READY && !PQconsumeInput(n->pg)) {
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

/* n_sleep - wait out the backoff, ticking; true if stopped */
static bool
n_sleep(struct notify *n)
{
	uint64_t until;
	unsigned ms;

	ms = backoff_next(&n->backoff_ms, NOTIFY_BACKOFF_MIN_MS,
	    NOTIFY_BACKOFF_MAX_MS);
	until = clock_mono_us() + ms * US_PER_MS;
	for (;;) {
		uint64_t now = clock_mono_us(), step;

		n_tick(n);
		if (now >= until)
			return false;
		step = now + NOTIFY_TICK_MS * US_PER_MS;
		if (nwait(n, -1, 0, step < until ? step : until) == NWAIT_STOP)
			return true;
	}
}

static void *
n_main(void *arg)
{
	struct notify *n = arg;
	int	 rc;

	for (;;) {
		rc = n_open(n);
		if (rc == 1)
			break;
		if (rc == 0) {
			n->backoff_ms = 0;
			rc = n_serve(n);
			if (n->is_up) {
				n->is_up = false;
				atomic_store(&n->up, false);
				n->hooks.down(n->hooks.arg);
			}
			PQfinish(n->pg);
			n->pg = NULL;
			if (rc == 1)
				break;
		}
		if (n_sleep(n))
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
	n->appname = xstrdup(appname);
	n->hooks = *hooks;
	n->label = xasprintf("pgsql database %s", conn->dbname);
	atomic_init(&n->up, false);
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
	free(n->appname);
	free(n->label);
	free(n);
}

bool
notify_is_up(const struct notify *n)
{
	return atomic_load(&n->up);
}

int
notify_send(const struct sqlmap_conn *conn, const char *payload,
    unsigned timeout_ms, char **error_r)
{
	size_t	 i, nh = conn->nhosts > 0 ? conn->nhosts : 1;
	unsigned connect_s = (timeout_ms + 999) / 1000;
	const char *params[2] = { CACHEFMT_CHANNEL, payload };
	char	*why = NULL;

	*error_r = NULL;
	if (connect_s < 2)
		connect_s = 2;	/* libpq: less than 2 s means 2 s */
	for (i = 0; i < nh; i++) {
		const char *host = conn->nhosts > 0 ? conn->hosts[i] : NULL;
		struct pgconn_params p;
		const char *err;
		PGresult *res;
		PGconn	*pg;
		char	*hl = pgconn_host_label(host);

		if (pgconn_params_init(&p, conn, host, "vrcptctl", connect_s,
		    &err) < 0) {
			free(why);
			why = xasprintf("%s: %s", hl, err);
			pgconn_params_free(&p);
			free(hl);
			continue;
		}
		pg = PQconnectdbParams(p.keywords, p.values, p.expand_dbname);
		pgconn_params_free(&p);
		if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
			char	*line = pgconn_oneline(pg != NULL ?
			    PQerrorMessage(pg) : "out of memory");

			free(why);
			why = xasprintf("connect to pgsql server %s: %s", hl,
			    line);
			free(line);
			if (pg != NULL)
				PQfinish(pg);
			free(hl);
			continue;
		}
		res = PQexecParams(pg, "SELECT pg_notify($1, $2)", 2, NULL,
		    params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			PQclear(res);
			PQfinish(pg);
			free(hl);
			free(why);
			return 0;
		}
		free(why);
		{
			char	*e = pgconn_result_error(res);

			why = xasprintf("pgsql server %s: %s", hl, e);
			free(e);
		}
		PQclear(res);
		PQfinish(pg);
		free(hl);
	}
	*error_r = why != NULL ? why : xstrdup("no host");
	return -1;
}
