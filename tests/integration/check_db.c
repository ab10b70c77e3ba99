/*
 * check_db - store/db.c (and dbsync.c, pgconn.c) against a real
 * PostgreSQL started by tests/lib/pgtmp.sh (see db.sh, which exports
 * PGHOST, PGPORT, PGUSER, PGDATABASE and PGTMP_DIR).
 *
 * What a mail admin would care about: lookups answered with the right
 * rows in the right order, key text reaching the server verbatim (no
 * SQL injection, UTF-8 intact), a database outage turning into prompt
 * errors (451s) instead of hung SMTP sessions, recovery without a
 * restart, a dead replica in "hosts" not slowing every lookup, the
 * pool, vrcptctl and the cache invalidation listener all preferring a
 * local unix socket to TCP as Postfix does, and no answer ever
 * delivered to the wrong request.
 *
 * Liveness waits use generous limits (WAIT_MS): they only catch hangs,
 * they do not measure speed.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#include <libpq-fe.h>

#include "core/sqlmap.h"
#include "store/db.h"
#include "store/dbsync.h"
#include "store/notify.h"
#include "store/pgconn.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define WAIT_MS			20000	/* a hang, not slowness */
#define TICK_MS			10
#define FIFO_BATCHES		500
#define FAKE_HELD_MAX		64
#define SOCK_NAME		".s.PGSQL.5432"
#define TEST_TIMEOUT_S		120

/*
 * Helpers: environment, maps, an admin connection, the event loop.
 */

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v != NULL && *v != '\0', "%s not set (run db.sh)",
	    name);
	return v;
}

/* live_host - "unix:<socket dir>" of the test server */
static char *
live_host(void)
{
	return xasprintf("unix:%s", env("PGHOST"));
}

static struct sqlmap *
map_new(unsigned id, const char *sql, size_t nparams,
    const char *const *hosts, size_t nhosts)
{
	struct sqlmap *sm = xcalloc(1, sizeof(*sm));
	size_t	 i;

	sm->path = xasprintf("/test/map%u.cf", id);
	sm->sql = xstrdup(sql);
	sm->nparams = nparams;
	sm->id = id;
	sm->result_format = xstrdup("%s");
	for (i = 0; i < nhosts; i++)
		sm->conn.hosts[i] = xstrdup(hosts[i]);
	sm->conn.nhosts = nhosts;
	sm->conn.dbname = xstrdup(env("PGDATABASE"));
	sm->conn.user = xstrdup(env("PGUSER"));
	sm->conn.retry_interval_s = 60;
	sm->conn.idle_interval_s = 60;
	return sm;
}

static struct sqlmap *
map_live(unsigned id, const char *sql, size_t nparams)
{
	char	*h = live_host();
	const char *hosts[1] = { h };
	struct sqlmap *sm = map_new(id, sql, nparams, hosts, 1);

	free(h);
	return sm;
}

/*
 * admin_value - the first column of the first row of sql, on our own
 * connection; fresh, or NULL when there is no row
 */
static char *
admin_value(const char *sql, const char *param)
{
	PGconn	*pg = PQconnectdb("");
	PGresult *res;
	const char *p[1] = { param };
	char	*v = NULL;

	ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "admin connect: %s",
	    PQerrorMessage(pg));
	res = PQexecParams(pg, sql, param != NULL ? 1 : 0, NULL, p, NULL,
	    NULL, 0);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "admin %s: %s",
	    sql, PQresultErrorMessage(res));
	if (PQntuples(res) > 0)
		v = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(pg);
	return v;
}

/* admin - run SQL on our own blocking connection (as the superuser) */
static void
admin(const char *sql, const char *param)
{
	PGconn	*pg = PQconnectdb("");
	PGresult *res;
	const char *p[1] = { param };

	ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "admin connect: %s",
	    PQerrorMessage(pg));
	res = PQexecParams(pg, sql, param != NULL ? 1 : 0, NULL, p, NULL,
	    NULL, 0);
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK, "admin %s: %s", sql,
	    PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(pg);
}

/* terminate - kill the server side of every connection of appname */
static void
terminate(const char *appname)
{
	admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
	    "WHERE application_name = $1", appname);
}

static void
pgtmp(const char *what)
{
	const char *sh = getenv("PGTMP_SH");
	char	*cmd;
	int	 rc;

	cmd = xasprintf("%s %s '%s' >/dev/null 2>&1",
	    sh != NULL ? sh : "tests/lib/pgtmp.sh", what, env("PGTMP_DIR"));
	rc = system(cmd);
	ck_assert_msg(rc == 0, "%s failed", cmd);
	free(cmd);
}

/* server_up - the outage test may have left it down when it failed */
static void
server_up(void)
{
	char	*pid = xasprintf("%s/data/postmaster.pid",
	    env("PGTMP_DIR"));

	if (access(pid, F_OK) != 0)
		pgtmp("up");
	free(pid);
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
}

/* wait_for - run the loop until *counter >= target; false on a hang */
static bool
wait_for(struct event_base *base, const int *counter, int target,
    unsigned ms)
{
	struct timeval tv = { 0, TICK_MS * 1000 };
	struct event *t = event_new(base, -1, EV_PERSIST, tick, NULL);
	uint64_t until = clock_mono_us() + (uint64_t)ms * 1000;

	event_add(t, &tv);
	while (*counter < target && clock_mono_us() < until)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	return *counter >= target;
}

/* spin - run the loop for about ms (let things settle) */
static void
spin(struct event_base *base, unsigned ms)
{
	int	 never = 0;

	(void)wait_for(base, &never, 1, ms);
}

/*
 * A callback that keeps copies of what it got.
 */

#define GOT_MAX		DB_QUERIES_MAX
#define GOT_VALS_MAX	16

struct got_one {
	enum db_status status;
	char	*error;
	size_t	 nvals;
	char	*vals[GOT_VALS_MAX];
	bool	 isnull[GOT_VALS_MAX];
};

struct got {
	int	 calls;
	int	*counter;	/* shared completion counter, may be NULL */
	size_t	 n;
	struct got_one r[GOT_MAX];
	uint64_t at_us;
};

static bool in_submit;

static void
got_cb(void *arg, const struct db_result *res, size_t n)
{
	struct got *g = arg;
	size_t	 i, j;

	ck_assert_msg(!in_submit, "callback ran inside db_submit()");
	g->calls++;
	g->at_us = clock_mono_us();
	if (g->counter != NULL)
		(*g->counter)++;
	g->n = n;
	for (i = 0; i < n && i < GOT_MAX; i++) {
		g->r[i].status = res[i].status;
		g->r[i].error = res[i].error != NULL ?
		    xstrdup(res[i].error) : NULL;
		g->r[i].nvals = res[i].nvals;
		for (j = 0; j < res[i].nvals && j < GOT_VALS_MAX; j++) {
			g->r[i].isnull[j] = res[i].vals[j] == NULL;
			g->r[i].vals[j] = res[i].vals[j] != NULL ?
			    xstrdup(res[i].vals[j]) : NULL;
		}
	}
}

static void
got_clear(struct got *g)
{
	size_t	 i, j;

	for (i = 0; i < GOT_MAX; i++) {
		free(g->r[i].error);
		for (j = 0; j < GOT_VALS_MAX; j++)
			free(g->r[i].vals[j]);
	}
	memset(g, 0, sizeof(*g));
}

static int
submit(struct db *db, const struct db_query *q, size_t n, struct got *g,
    struct db_op **op_r)
{
	int	 rc;

	in_submit = true;
	rc = db_submit(db, q, n, got_cb, g, op_r);
	in_submit = false;
	return rc;
}

/* one query, one parameter */
static struct db_query
q1(const struct sqlmap *sm, const char *p)
{
	struct db_query q;

	memset(&q, 0, sizeof(q));
	q.sm = sm;
	q.nparams = sm->nparams;
	if (sm->nparams > 0)
		q.params[0] = p;
	return q;
}

/* ask - submit one batch and wait for its answer */
static void
ask(struct event_base *base, struct db *db, const struct db_query *q,
    size_t n, struct got *g)
{
	ck_assert_int_eq(submit(db, q, n, g, NULL), 0);
	ck_assert_msg(wait_for(base, &g->calls, 1, WAIT_MS),
	    "no answer within %d ms", WAIT_MS);
	ck_assert_int_eq(g->calls, 1);
	ck_assert_uint_eq(g->n, n);
}

/* ask_until_ok - the pool may need a moment (reconnect, backoff) */
static void
ask_until_ok(struct event_base *base, struct db *db, const struct db_query *q,
    struct got *g)
{
	uint64_t until = clock_mono_us() + (uint64_t)WAIT_MS * 1000;

	for (;;) {
		got_clear(g);
		ask(base, db, q, 1, g);
		if (g->r[0].status == DB_OK)
			return;
		ck_assert_msg(clock_mono_us() < until,
		    "pool did not recover: %s", g->r[0].error);
		spin(base, 50);
	}
}

static bool
state_is(struct db *db, const char *want)
{
	char	 buf[128];

	return strcmp(db_state(db, buf, sizeof(buf)), want) == 0;
}

/* wait_state - until db_state() says want */
static bool
wait_state(struct event_base *base, struct db *db, const char *want)
{
	uint64_t until = clock_mono_us() + (uint64_t)WAIT_MS * 1000;

	while (!state_is(db, want) && clock_mono_us() < until)
		spin(base, 20);
	return state_is(db, want);
}

static struct db *
pool(struct event_base *base, struct sqlmap **maps, size_t n, unsigned size,
    const char *appname)
{
	struct db_opts o = { size, appname, DBHOSTS_TARGET_ANY };

	return db_new(base, (const struct sqlmap *const *)maps, n, &o);
}

/*
 * A fake server on a unix socket: "closer" accepts and hangs up (a dead
 * or broken host), "silent" accepts and never answers (a hung host).
 */

struct fake {
	char	 dir[80];
	char	 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char	*spec;		/* "unix:dir" or "inet:127.0.0.1:port" */
	bool	 tcp;
	int	 fd;
	struct event *ev;
	int	 accepts;
	bool	 silent;
	int	 held[FAKE_HELD_MAX];
	int	 nheld;
	pthread_t thread;	/* fake_thread(): accepts without a loop */
	bool	 threaded;
	atomic_bool stop;
};

static void
fake_accept(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;
	int	 s;

	while ((s = accept(fd, NULL, NULL)) >= 0) {
		f->accepts++;
		if (f->silent && f->nheld < FAKE_HELD_MAX)
			f->held[f->nheld++] = s;
		else
			close(s);
	}
}

static struct fake *
fake_new(struct event_base *base, bool silent)
{
	struct fake *f = xcalloc(1, sizeof(*f));
	struct sockaddr_un sun;

	/* inside the server's temp dir: gone with it, even after a failure */
	ck_assert_int_lt(snprintf(f->dir, sizeof(f->dir), "%s/fake.XXXXXX",
	    env("PGTMP_DIR")), (int)sizeof(f->dir));
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	ck_assert_int_lt(snprintf(f->path, sizeof(f->path), "%s/%s", f->dir,
	    SOCK_NAME), (int)sizeof(f->path));
	f->spec = xasprintf("unix:%s", f->dir);
	f->silent = silent;
	f->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(f->fd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, f->path, strlen(f->path) + 1);
	ck_assert_int_eq(bind(f->fd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	ck_assert_int_eq(listen(f->fd, 16), 0);
	if (base != NULL) {
		f->ev = event_new(base, f->fd, EV_READ | EV_PERSIST,
		    fake_accept, f);
		event_add(f->ev, NULL);
	}
	return f;
}

/* fake_main - a closer's own thread, for callers that block */
static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	struct pollfd p;
	int	 s;

	while (!atomic_load(&f->stop)) {
		p.fd = f->fd;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, TICK_MS) <= 0)
			continue;
		while ((s = accept(f->fd, NULL, NULL)) >= 0) {
			f->accepts++;	/* read after the join only */
			close(s);
		}
	}
	return NULL;
}

/* fake_thread - f (made without a loop) hangs up from a thread */
static void
fake_thread(struct fake *f)
{
	atomic_init(&f->stop, false);
	f->threaded = true;
	ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

/* fake_join - stop the thread; f->accepts is final */
static void
fake_join(struct fake *f)
{
	if (!f->threaded)
		return;
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
	f->threaded = false;
}

/* fake_new_tcp - a closer on 127.0.0.1, a port of the kernel's choice */
static struct fake *
fake_new_tcp(struct event_base *base)
{
	struct fake *f = xcalloc(1, sizeof(*f));
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	f->tcp = true;
	f->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(f->fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(f->fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	ck_assert_int_eq(listen(f->fd, 16), 0);
	ck_assert_int_eq(getsockname(f->fd, (struct sockaddr *)&sin, &len),
	    0);
	f->spec = xasprintf("inet:127.0.0.1:%u", ntohs(sin.sin_port));
	f->ev = event_new(base, f->fd, EV_READ | EV_PERSIST, fake_accept, f);
	event_add(f->ev, NULL);
	return f;
}

static void
fake_free(struct fake *f)
{
	int	 i;

	fake_join(f);
	if (f->ev != NULL)
		event_free(f->ev);
	for (i = 0; i < f->nheld; i++)
		close(f->held[i]);
	close(f->fd);
	if (!f->tcp) {
		unlink(f->path);
		rmdir(f->dir);
	}
	free(f->spec);
	free(f);
}

/*
 * pgconn: hosts entries to libpq keywords (no server needed).
 */

struct param_case {
	const char *spec;
	int	 rc;
	enum dbhosts_kind kind;
	const char *host;	/* NULL: must be absent */
	const char *hostaddr;
	const char *port;
	const char *dbname;	/* NULL: conn's dbname */
};

static const struct param_case param_cases[] = {
	/* Postfix forms */
	{ "inet:db.example.com:5433", 0, DBHOSTS_INET, "db.example.com",
	    NULL, "5433", NULL },
	{ "db.example.com:5433", 0, DBHOSTS_INET, "db.example.com", NULL,
	    "5433", NULL },
	{ "db.example.com", 0, DBHOSTS_INET, "db.example.com", NULL, NULL,
	    NULL },
	{ "inet:db.example.com", 0, DBHOSTS_INET, "db.example.com", NULL,
	    NULL, NULL },
	{ "localhost", 0, DBHOSTS_INET, "localhost", NULL, NULL, NULL },
	{ "unix:/run/postgresql", 0, DBHOSTS_UNIX, "/run/postgresql", NULL,
	    NULL, NULL },
	{ "/run/postgresql", 0, DBHOSTS_UNIX, "/run/postgresql", NULL, NULL,
	    NULL },
	{ "unix:", 0, DBHOSTS_UNIX, NULL, NULL, NULL, NULL },
	/* numeric: hostaddr, no DNS */
	{ "192.0.2.7", 0, DBHOSTS_INET, NULL, "192.0.2.7", NULL, NULL },
	{ "inet:192.0.2.7:6432", 0, DBHOSTS_INET, NULL, "192.0.2.7", "6432",
	    NULL },
	{ "[2001:db8::1]:5433", 0, DBHOSTS_INET, NULL, "2001:db8::1", "5433",
	    NULL },
	{ "inet:[::1]", 0, DBHOSTS_INET, NULL, "::1", NULL, NULL },
	{ "::1", 0, DBHOSTS_INET, NULL, "::1", NULL, NULL },
	/* the socket file itself */
	{ "unix:/run/postgresql/.s.PGSQL.5433", 0, DBHOSTS_UNIX,
	    "/run/postgresql", NULL, "5433", NULL },
	{ "unix:/.s.PGSQL.5432", 0, DBHOSTS_UNIX, "/", NULL, "5432", NULL },
	/* URIs are the admin's whole story */
	{ "postgresql://u:pw@db.example.com/mail?sslmode=require", 0,
	    DBHOSTS_URI, NULL, NULL, NULL,
	    "postgresql://u:pw@db.example.com/mail?sslmode=require" },
	/* broken entries */
	{ "db.example.com:smtp", -1, DBHOSTS_INET, NULL, NULL, NULL, NULL },
	{ "db.example.com:65536", -1, DBHOSTS_INET, NULL, NULL, NULL, NULL },
	{ "db.example.com:0", -1, DBHOSTS_INET, NULL, NULL, NULL, NULL },
	{ "[::1", -1, DBHOSTS_INET, NULL, NULL, NULL, NULL },
	{ "[::1]x", -1, DBHOSTS_INET, NULL, NULL, NULL, NULL },
	{ "unix:/run/.s.PGSQL.x", -1, DBHOSTS_UNIX, NULL, NULL, NULL, NULL },
};

static const char *
kw(const struct pgconn_params *p, const char *key)
{
	const char *v = NULL;
	size_t	 i;

	for (i = 0; p->keywords[i] != NULL; i++) {
		if (strcmp(p->keywords[i], key) == 0)
			v = p->values[i];	/* the last one wins */
	}
	return v;
}

static void
check_kw(const char *spec, const struct pgconn_params *p, const char *key,
    const char *want)
{
	const char *got = kw(p, key);

	if (want == NULL)
		ck_assert_msg(got == NULL, "%s: %s=%s unexpected", spec, key,
		    got);
	else
		ck_assert_msg(got != NULL && strcmp(got, want) == 0,
		    "%s: %s=%s, want %s", spec, key, got ? got : "(none)",
		    want);
}

#define ck_assert_kw(p, key, want)	check_kw(c->spec, (p), (key), (want))

START_TEST(t_params)
{
	const struct param_case *c = &param_cases[_i];
	struct sqlmap_conn conn;
	struct pgconn_params p;
	const char *error = NULL;
	int	 rc;

	memset(&conn, 0, sizeof(conn));
	conn.dbname = (char *)"mail";
	conn.user = (char *)"postfix";
	conn.password = (char *)"s3cret";
	rc = pgconn_params_init(&p, &conn, c->spec, "vrcptd", &error);
	ck_assert_msg(rc == c->rc, "%s: rc %d", c->spec, rc);
	if (rc < 0) {
		ck_assert_ptr_nonnull(error);
		pgconn_params_free(&p);
		return;
	}
	ck_assert_msg(p.kind == c->kind, "%s: kind %d", c->spec, p.kind);
	ck_assert_kw(&p, "host", c->host);
	ck_assert_kw(&p, "hostaddr", c->hostaddr);
	ck_assert_kw(&p, "port", c->port);
	ck_assert_kw(&p, "client_encoding", "UTF8");
	ck_assert_kw(&p, "application_name", "vrcptd");
	ck_assert_kw(&p, "connect_timeout", NULL);
	if (c->kind == DBHOSTS_URI) {
		/* Postfix: the URI alone; it is expanded, nothing else is */
		ck_assert_int_eq(p.expand_dbname, 1);
		ck_assert_kw(&p, "dbname", c->dbname);
		ck_assert_kw(&p, "user", NULL);
		ck_assert_kw(&p, "password", NULL);
	} else {
		/* a dbname with "=" must not become options */
		ck_assert_int_eq(p.expand_dbname, 0);
		ck_assert_kw(&p, "dbname", "mail");
		ck_assert_kw(&p, "user", "postfix");
		ck_assert_kw(&p, "password", "s3cret");
	}
	pgconn_params_free(&p);
}
END_TEST

START_TEST(t_params_default)
{
	struct sqlmap_conn conn;
	struct pgconn_params p;
	const char *error;
	const struct param_case cc = { "(null)", 0, 0, 0, 0, 0, 0 };
	const struct param_case *c = &cc;

	memset(&conn, 0, sizeof(conn));
	conn.dbname = (char *)"mail";
	/* no hosts: Postfix's default "localhost" (TCP) */
	ck_assert_int_eq(pgconn_params_init(&p, &conn, NULL, NULL, &error), 0);
	ck_assert_int_eq(p.kind, DBHOSTS_INET);
	ck_assert_kw(&p, "host", "localhost");
	ck_assert_kw(&p, "connect_timeout", NULL);
	ck_assert_kw(&p, "user", NULL);
	ck_assert_kw(&p, "application_name", NULL);
	pgconn_params_free(&p);
}
END_TEST

START_TEST(t_label_oneline)
{
	char	*s;

	/* a password in a URI never reaches the log */
	s = pgconn_host_label("postgresql://u:pw@h:5432/db?password=x");
	ck_assert_str_eq(s, "postgresql://u:*@h:5432/db");
	free(s);
	s = pgconn_host_label("postgresql://h/db");
	ck_assert_str_eq(s, "postgresql://h/db");
	free(s);
	s = pgconn_host_label("inet:db:5432");
	ck_assert_str_eq(s, "inet:db:5432");
	free(s);
	/* libpq's two-line messages become one sanitised line */
	s = pgconn_oneline("connection to server failed: refused\n\tIs "
	    "the server running?\n");
	ck_assert_str_eq(s, "connection to server failed: refused Is the "
	    "server running?");
	free(s);
	s = pgconn_oneline("evil\033[31m\r\nfake: line");
	ck_assert_ptr_null(strchr(s, '\033'));
	ck_assert_ptr_null(strchr(s, '\n'));
	free(s);
	s = pgconn_oneline(NULL);
	ck_assert_str_eq(s, "unknown error");
	free(s);
}
END_TEST

/*
 * db: a live server.
 */

static struct event_base *base;

static void
db_setup(void)
{
	server_up();
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
}

static void
db_teardown(void)
{
	event_base_free(base);
	base = NULL;
}

START_TEST(t_connect_and_state)
{
	struct sqlmap *m = map_live(1, "SELECT $1::text", 1);
	struct db *db = pool(base, &m, 1, 2, "vrcpt-state");
	char	 buf[64];

	ck_assert_str_eq(db_state(db, buf, sizeof(buf)),
	    "0/2 connections up");
	ck_assert_msg(wait_state(base, db, "2/2 connections up"),
	    "pool never came up: %s", db_state(db, buf, sizeof(buf)));
	db_free(&db);
	ck_assert_ptr_null(db);
	sqlmap_free(&m);
}
END_TEST

/* several queries, one submit, one round trip: results in order */
START_TEST(t_batch_in_order)
{
	struct sqlmap *m[2];
	struct db_query q[5];
	struct got g = { 0 };
	struct db *db;
	const char *keys[5] = { "a@example.com", "b@example.com", "@x",
	    "d@example.com", "e" };
	size_t	 i;

	m[0] = map_live(1, "SELECT 'one:' || $1::text", 1);
	m[1] = map_live(2, "SELECT 'two:' || $1::text", 1);
	db = pool(base, m, 2, 1, "vrcpt-batch");
	for (i = 0; i < 5; i++)
		q[i] = q1(m[i % 2], keys[i]);
	ask(base, db, q, 5, &g);
	for (i = 0; i < 5; i++) {
		char	*want = xasprintf("%s:%s", i % 2 ? "two" : "one",
		    keys[i]);

		ck_assert_msg(g.r[i].status == DB_OK, "query %zu: %s", i,
		    g.r[i].error);
		ck_assert_uint_eq(g.r[i].nvals, 1);
		ck_assert_str_eq(g.r[i].vals[0], want);
		free(want);
	}
	got_clear(&g);
	db_free(&db);
	sqlmap_free(&m[0]);
	sqlmap_free(&m[1]);
}
END_TEST

/* NULL stays NULL, '' stays '', rows come row-major, no row is no value */
START_TEST(t_null_empty_rows)
{
	struct sqlmap *m[3];
	struct db_query q[3];
	struct got g = { 0 };
	struct db *db;

	admin("DROP TABLE IF EXISTS t_rows", NULL);
	admin("CREATE TABLE t_rows (k text, a text, b text)", NULL);
	admin("INSERT INTO t_rows VALUES ('k', 'a1', NULL), ('k', '', 'b2'), "
	    "('k', 'a3', 'b3'), ('other', 'x', 'y')", NULL);
	m[0] = map_live(1, "SELECT NULL::text, ''::text, $1::text", 1);
	m[1] = map_live(2, "SELECT a, b FROM t_rows WHERE k = $1 ORDER BY "
	    "coalesce(b, '')", 1);
	m[2] = map_live(3, "SELECT a FROM t_rows WHERE k = $1", 1);
	db = pool(base, m, 3, 1, "vrcpt-rows");
	q[0] = q1(m[0], "v");
	q[1] = q1(m[1], "k");
	q[2] = q1(m[2], "nobody@example.com");
	ask(base, db, q, 3, &g);

	ck_assert_int_eq(g.r[0].status, DB_OK);
	ck_assert_uint_eq(g.r[0].nvals, 3);
	ck_assert(g.r[0].isnull[0]);
	ck_assert(!g.r[0].isnull[1]);
	ck_assert_str_eq(g.r[0].vals[1], "");
	ck_assert_str_eq(g.r[0].vals[2], "v");

	ck_assert_int_eq(g.r[1].status, DB_OK);
	ck_assert_uint_eq(g.r[1].nvals, 6);
	ck_assert_str_eq(g.r[1].vals[0], "a1");
	ck_assert(g.r[1].isnull[1]);
	ck_assert_str_eq(g.r[1].vals[2], "");
	ck_assert_str_eq(g.r[1].vals[3], "b2");
	ck_assert_str_eq(g.r[1].vals[4], "a3");
	ck_assert_str_eq(g.r[1].vals[5], "b3");

	ck_assert_int_eq(g.r[2].status, DB_OK);
	ck_assert_uint_eq(g.r[2].nvals, 0);
	got_clear(&g);
	db_free(&db);
	sqlmap_free(&m[0]);
	sqlmap_free(&m[1]);
	sqlmap_free(&m[2]);
	admin("DROP TABLE t_rows", NULL);
}
END_TEST

/* hostile keys reach the server byte for byte and match nothing else */
static const char *const meta_keys[] = {
	"o'brien@example.com",
	"x' OR '1'='1",
	"back\\slash@example.com",
	"100%_done@example.com",
	"a;DROP TABLE t_meta;--@example.com",
	"$1@example.com",
	"$$quoted$$@example.com",
	"j\xc3\xb6rg@b\xc3\xbc" "cher.example",
	"\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\x85\xac"
	    "\xe5\x8f\xb8",
	"%s %u %d %%",
	"",
};

START_TEST(t_metachars_verbatim)
{
	size_t	 nkeys = sizeof(meta_keys) / sizeof(meta_keys[0]), i;
	struct sqlmap *m[3];
	struct db_query q[3];
	struct got g = { 0 };
	struct db *db;

	admin("DROP TABLE IF EXISTS t_meta", NULL);
	admin("CREATE TABLE t_meta (k text PRIMARY KEY, v text)", NULL);
	for (i = 0; i < nkeys; i++) {
		char	*sql = xasprintf("INSERT INTO t_meta VALUES ($1, "
		    "'row%zu')", i);

		admin(sql, meta_keys[i]);
		free(sql);
	}
	m[0] = map_live(1, "SELECT $1::text, octet_length($1::text)", 1);
	m[1] = map_live(2, "SELECT v FROM t_meta WHERE k = $1", 1);
	m[2] = map_live(3, "SELECT count(*) FROM t_meta WHERE k LIKE $1", 1);
	db = pool(base, m, 3, 1, "vrcpt-meta");
	for (i = 0; i < nkeys; i++) {
		char	*len = xasprintf("%zu", strlen(meta_keys[i]));
		char	*row = xasprintf("row%zu", i);

		q[0] = q1(m[0], meta_keys[i]);
		q[1] = q1(m[1], meta_keys[i]);
		q[2] = q1(m[2], meta_keys[i]);
		ask(base, db, q, 3, &g);
		ck_assert_msg(g.r[0].status == DB_OK, "key %zu: %s", i,
		    g.r[0].error);
		ck_assert_str_eq(g.r[0].vals[0], meta_keys[i]);
		ck_assert_str_eq(g.r[0].vals[1], len);
		/* exactly its own row: no quoting trick widens the match */
		ck_assert_int_eq(g.r[1].status, DB_OK);
		ck_assert_uint_eq(g.r[1].nvals, 1);
		ck_assert_str_eq(g.r[1].vals[0], row);
		ck_assert_int_eq(g.r[2].status, DB_OK);
		got_clear(&g);
		free(len);
		free(row);
	}
	/* the table is still there */
	q[0] = q1(m[1], meta_keys[0]);
	ask(base, db, q, 1, &g);
	ck_assert_int_eq(g.r[0].status, DB_OK);
	ck_assert_uint_eq(g.r[0].nvals, 1);
	got_clear(&g);
	db_free(&db);
	for (i = 0; i < 3; i++)
		sqlmap_free(&m[i]);
	admin("DROP TABLE t_meta", NULL);
}
END_TEST

/* invalid UTF-8 from a client is an error for that batch only */
START_TEST(t_bad_utf8_isolated)
{
	struct sqlmap *m = map_live(1, "SELECT $1::text", 1);
	struct db_query q[2];
	struct got g = { 0 };
	struct db *db = pool(base, &m, 1, 1, "vrcpt-utf8");

	q[0] = q1(m, "bad\xff\xfe@example.com");
	ask(base, db, q, 1, &g);
	ck_assert_int_eq(g.r[0].status, DB_ERROR);
	ck_assert_ptr_nonnull(g.r[0].error);
	ck_assert_ptr_null(strchr(g.r[0].error, '\n'));
	got_clear(&g);
	q[0] = q1(m, "good@example.com");
	ask(base, db, q, 1, &g);
	ck_assert_int_eq(g.r[0].status, DB_OK);
	ck_assert_str_eq(g.r[0].vals[0], "good@example.com");
	got_clear(&g);
	db_free(&db);
	sqlmap_free(&m);
}
END_TEST

/* an error aborts its own batch, not the next one on the connection */
START_TEST(t_error_isolated)
{
	struct sqlmap *m[2];
	struct db_query q[3], q2[2];
	struct got g1 = { 0 }, g2 = { 0 };
	struct db *db;
	int	 done = 0;

	m[0] = map_live(1, "SELECT 'ok:' || $1::text", 1);
	m[1] = map_live(2, "SELECT 100 / $1::int", 1);
	db = pool(base, m, 2, 1, "vrcpt-err");
	ck_assert(wait_state(base, db, "1/1 connections up"));
	q[0] = q1(m[0], "first");
	q[1] = q1(m[1], "0");		/* division by zero */
	q[2] = q1(m[0], "third");
	q2[0] = q1(m[1], "4");
	q2[1] = q1(m[0], "next");
	/* both batches pipelined on the one connection */
	g1.counter = g2.counter = &done;
	ck_assert_int_eq(submit(db, q, 3, &g1, NULL), 0);
	ck_assert_int_eq(submit(db, q2, 2, &g2, NULL), 0);
	ck_assert(wait_for(base, &done, 2, WAIT_MS));

	ck_assert_int_eq(g1.r[0].status, DB_OK);
	ck_assert_str_eq(g1.r[0].vals[0], "ok:first");
	ck_assert_int_eq(g1.r[1].status, DB_ERROR);
	ck_assert_msg(strstr(g1.r[1].error, "division by zero") != NULL,
	    "error: %s", g1.r[1].error);
	ck_assert_int_eq(g1.r[2].status, DB_ERROR);	/* not run */
	ck_assert_ptr_nonnull(g1.r[2].error);

	ck_assert_int_eq(g2.r[0].status, DB_OK);
	ck_assert_str_eq(g2.r[0].vals[0], "25");
	ck_assert_int_eq(g2.r[1].status, DB_OK);
	ck_assert_str_eq(g2.r[1].vals[0], "ok:next");
	ck_assert(g1.at_us <= g2.at_us);
	got_clear(&g1);
	got_clear(&g2);
	db_free(&db);
	sqlmap_free(&m[0]);
	sqlmap_free(&m[1]);
}
END_TEST

/* a statement that cannot be prepared yet works once the table exists */
START_TEST(t_prepare_later)
{
	struct sqlmap *m[2];
	struct db_query q[2];
	struct got g = { 0 };
	struct db *db;

	admin("DROP TABLE IF EXISTS t_later", NULL);
	m[0] = map_live(1, "SELECT v FROM t_later WHERE k = $1", 1);
	m[1] = map_live(2, "SELECT $1::text", 1);
	db = pool(base, m, 2, 1, "vrcpt-later");
	q[0] = q1(m[0], "k");
	q[1] = q1(m[1], "still fine");
	ask(base, db, q, 2, &g);
	ck_assert_int_eq(g.r[0].status, DB_ERROR);
	ck_assert_int_eq(g.r[1].status, DB_ERROR);	/* same batch */
	got_clear(&g);
	q[0] = q1(m[1], "alone");
	ask(base, db, q, 1, &g);
	ck_assert_int_eq(g.r[0].status, DB_OK);
	got_clear(&g);

	admin("CREATE TABLE t_later (k text, v text)", NULL);
	admin("INSERT INTO t_later VALUES ('k', 'now')", NULL);
	q[0] = q1(m[0], "k");
	ask(base, db, q, 1, &g);
	ck_assert_msg(g.r[0].status == DB_OK, "%s", g.r[0].error);
	ck_assert_str_eq(g.r[0].vals[0], "now");
	got_clear(&g);
	db_free(&db);
	sqlmap_free(&m[0]);
	sqlmap_free(&m[1]);
	admin("DROP TABLE t_later", NULL);
}
END_TEST

/* misuse is refused up front, and then the callback never runs */
START_TEST(t_submit_refused)
{
	struct sqlmap *m = map_live(1, "SELECT $1::text", 1);
	struct sqlmap *other = map_live(9, "SELECT $1::text", 1);
	struct db_query q[DB_QUERIES_MAX + 1];
	struct got g = { 0 };
	struct db_op *op = (struct db_op *)1;
	struct db *db = pool(base, &m, 1, 1, "vrcpt-refuse");
	size_t	 i;

	for (i = 0; i <= DB_QUERIES_MAX; i++)
		q[i] = q1(m, "x");
	ck_assert_int_eq(submit(db, q, 0, &g, &op), -1);
	ck_assert_ptr_null(op);
	ck_assert_int_eq(submit(db, q, DB_QUERIES_MAX + 1, &g, NULL), -1);
	ck_assert_int_eq(submit(db, q, DB_QUERIES_MAX, &g, NULL), 0);
	q[0] = q1(other, "x");		/* not a map of this pool */
	ck_assert_int_eq(submit(db, q, 1, &g, NULL), -1);
	q[0] = q1(m, "x");
	q[0].nparams = 2;		/* the statement has one */
	ck_assert_int_eq(submit(db, q, 1, &g, NULL), -1);
	ck_assert(wait_for(base, &g.calls, 1, WAIT_MS));
	spin(base, 100);
	ck_assert_int_eq(g.calls, 1);
	ck_assert_uint_eq(g.n, DB_QUERIES_MAX);
	ck_assert_int_eq(g.r[DB_QUERIES_MAX - 1].status, DB_OK);
	got_clear(&g);
	db_free(&db);
	sqlmap_free(&m);
	sqlmap_free(&other);
}
END_TEST

struct canceller {
	int	 calls;
	struct db_op *victim;
};

static void
canceller_cb(void *arg, const struct db_result *res, size_t n)
{
	struct canceller *c = arg;

	c->calls++;
	db_cancel(c->victim);
}

/* cancelled: never called back, and the next answers are not shifted */
START_TEST(t_cancel)
{
	struct sqlmap *m[2];
	struct db_query q;
	struct got gq = { 0 }, gs = { 0 }, gd = { 0 }, gn = { 0 };
	struct db_op *op;
	struct db *db;

	m[0] = map_live(1, "SELECT $1::text", 1);
	m[1] = map_live(2, "SELECT $1::text FROM pg_sleep(0.3)", 1);
	db = pool(base, m, 2, 1, "vrcpt-cancel");

	/* queued (no connection yet) */
	q = q1(m[0], "queued");
	ck_assert_int_eq(submit(db, &q, 1, &gq, &op), 0);
	ck_assert_ptr_nonnull(op);
	db_cancel(op);
	ck_assert(wait_state(base, db, "1/1 connections up"));

	/* on the wire */
	q = q1(m[1], "sent");
	ck_assert_int_eq(submit(db, &q, 1, &gs, &op), 0);
	spin(base, 50);
	db_cancel(op);

	/* the FIFO is intact: the next batches get their own answers */
	q = q1(m[0], "done");
	ck_assert_int_eq(submit(db, &q, 1, &gd, NULL), 0);
	q = q1(m[0], "next");
	ask(base, db, &q, 1, &gn);
	ck_assert_int_eq(gn.r[0].status, DB_OK);
	ck_assert_str_eq(gn.r[0].vals[0], "next");
	ck_assert_int_eq(gd.calls, 1);
	ck_assert_str_eq(gd.r[0].vals[0], "done");
	spin(base, 400);
	ck_assert_int_eq(gq.calls, 0);
	ck_assert_int_eq(gs.calls, 0);
	got_clear(&gd);
	got_clear(&gn);

	/*
	 * Cancelled from another callback: the two answers usually arrive
	 * in one read, so the victim is answered and waiting for its
	 * callback (else still on the wire); either way it never runs.
	 */
	{
		struct canceller c = { 0, NULL };
		struct db_query qa = q1(m[0], "a"), qb = q1(m[0], "b");

		ck_assert_int_eq(db_submit(db, &qa, 1, canceller_cb, &c,
		    NULL), 0);
		ck_assert_int_eq(submit(db, &qb, 1, &gd, &c.victim), 0);
		ck_assert(wait_for(base, &c.calls, 1, WAIT_MS));
		spin(base, 200);
		ck_assert_int_eq(gd.calls, 0);
	}
	db_free(&db);
	sqlmap_free(&m[0]);
	sqlmap_free(&m[1]);
}
END_TEST

/* db_free with batches everywhere: no callbacks, nothing leaks */
START_TEST(t_free_pending)
{
	struct sqlmap *m = map_live(1, "SELECT $1::text FROM pg_sleep(0.2)",
	    1);
	struct db_query q = q1(m, "x");
	struct got g[20];
	struct db *db = pool(base, &m, 1, 2, "vrcpt-free");
	int	 i;

	memset(g, 0, sizeof(g));
	ck_assert(wait_state(base, db, "2/2 connections up"));
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(submit(db, &q, 1, &g[i], NULL), 0);
	spin(base, 50);
	db_free(&db);
	spin(base, 300);
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(g[i].calls, 0);
	sqlmap_free(&m);
}
END_TEST

/* a callback may free the pool; the other callbacks then never run */
struct freer {
	struct db **dbp;
	int	 calls;
};

static void
freer_cb(void *arg, const struct db_result *res, size_t n)
{
	struct freer *f = arg;

	f->calls++;
	db_free(f->dbp);
}

START_TEST(t_free_in_callback)
{
	struct sqlmap *m = map_live(1, "SELECT $1::text", 1);
	struct db_query q = q1(m, "x");
	struct db *db = pool(base, &m, 1, 1, "vrcpt-freecb");
	struct freer f[3] = { { &db, 0 }, { &db, 0 }, { &db, 0 } };
	int	 i;

	ck_assert(wait_state(base, db, "1/1 connections up"));
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(db_submit(db, &q, 1, freer_cb, &f[i], NULL),
		    0);
	spin(base, 500);
	ck_assert_ptr_null(db);
	ck_assert_int_eq(f[0].calls + f[1].calls + f[2].calls, 1);
	sqlmap_free(&m);
}
END_TEST

/* many batches, pool of 2: every one answered once, right answer, FIFO
 * per connection */
struct fifo {
	int	 seq;
	int	*done;
	int	 calls;
	long	 pid;
	int	 echoed;
	uint64_t order;
};

static uint64_t fifo_clock;

static void
fifo_cb(void *arg, const struct db_result *res, size_t n)
{
	struct fifo *f = arg;

	f->calls++;
	(*f->done)++;
	f->order = ++fifo_clock;
	if (n == 1 && res[0].status == DB_OK && res[0].nvals == 2) {
		f->pid = strtol(res[0].vals[0], NULL, 10);
		f->echoed = (int)strtol(res[0].vals[1], NULL, 10);
	}
}

START_TEST(t_fifo_pool2)
{
	struct sqlmap *m = map_live(1, "SELECT pg_backend_pid()::text, "
	    "$1::text", 1);
	struct fifo *f = xcalloc(FIFO_BATCHES, sizeof(*f));
	struct db *db = pool(base, &m, 1, 2, "vrcpt-fifo");
	char	 num[16];
	int	 i, j, done = 0, pids = 0;
	long	 seen[2] = { 0, 0 };

	for (i = 0; i < FIFO_BATCHES; i++) {
		struct db_query q;

		snprintf(num, sizeof(num), "%d", i);
		q = q1(m, num);
		f[i].seq = i;
		f[i].done = &done;
		in_submit = true;
		ck_assert_int_eq(db_submit(db, &q, 1, fifo_cb, &f[i], NULL),
		    0);
		in_submit = false;
	}
	ck_assert_msg(wait_for(base, &done, FIFO_BATCHES, WAIT_MS),
	    "%d of %d answered", done, FIFO_BATCHES);
	spin(base, 50);
	for (i = 0; i < FIFO_BATCHES; i++) {
		ck_assert_int_eq(f[i].calls, 1);
		ck_assert_int_eq(f[i].echoed, i);	/* its own answer */
		for (j = 0; j < pids && seen[j] != f[i].pid; j++)
			continue;
		if (j == pids) {
			ck_assert_int_lt(pids, 2);	/* pool of 2 */
			seen[pids++] = f[i].pid;
		}
	}
	/* on each connection, answers come in submission order */
	for (i = 0; i < FIFO_BATCHES; i++) {
		for (j = i + 1; j < FIFO_BATCHES; j++) {
			if (f[j].pid == f[i].pid) {
				ck_assert_msg(f[j].order > f[i].order,
				    "batch %d answered before %d", j, i);
				break;
			}
		}
	}
	db_free(&db);
	free(f);
	sqlmap_free(&m);
}
END_TEST

/* idle_interval: idle connections close, but one stays; load wakes them */
START_TEST(t_idle_close)
{
	struct sqlmap *m = map_live(1, "SELECT $1::text FROM pg_sleep(0.1)",
	    1);
	struct db_query q = q1(m, "x");
	struct got g[12];
	struct db *db;
	char	 buf[64];
	int	 i, done = 0;

	m->conn.idle_interval_s = 1;
	db = pool(base, &m, 1, 2, "vrcpt-idle");
	ck_assert(wait_state(base, db, "2/2 connections up"));
	ck_assert_msg(wait_state(base, db, "1/2 connections up"), "%s",
	    db_state(db, buf, sizeof(buf)));
	spin(base, 1500);
	ck_assert_str_eq(db_state(db, buf, sizeof(buf)),
	    "1/2 connections up");
	/* more than one connection's pipeline: the other one reopens */
	memset(g, 0, sizeof(g));
	for (i = 0; i < 12; i++) {
		g[i].counter = &done;
		ck_assert_int_eq(submit(db, &q, 1, &g[i], NULL), 0);
	}
	ck_assert(wait_state(base, db, "2/2 connections up"));
	ck_assert(wait_for(base, &done, 12, WAIT_MS));
	for (i = 0; i < 12; i++) {
		ck_assert_int_eq(g[i].r[0].status, DB_OK);
		got_clear(&g[i]);
	}
	db_free(&db);
	sqlmap_free(&m);
}
END_TEST

/* a query that never ends does not hold the connection forever */
START_TEST(t_stuck_query)
{
	struct sqlmap *m[2];
	struct db_query q;
	struct got gs = { 0 }, g = { 0 };
	struct db *db;

	m[0] = map_live(1, "SELECT $1::text", 1);
	m[1] = map_live(2, "SELECT $1::text FROM pg_sleep(20)", 1);
	db = pool(base, m, 2, 1, "vrcpt-stuck");
	q = q1(m[1], "stuck");
	ck_assert_int_eq(submit(db, &q, 1, &gs, NULL), 0);
	ck_assert(wait_for(base, &gs.calls, 1, WAIT_MS));
	ck_assert_int_eq(gs.r[0].status, DB_ERROR);
	ck_assert_msg(strstr(gs.r[0].error, "no answer") != NULL, "%s",
	    gs.r[0].error);
	q = q1(m[0], "fine");
	ask_until_ok(base, db, &q, &g);
	got_clear(&gs);
	got_clear(&g);
	db_free(&db);
	sqlmap_free(&m[0]);
	sqlmap_free(&m[1]);
	terminate("vrcpt-stuck");
}
END_TEST

/*
 * db: servers that are not there or do not answer.
 */

/* nothing listens: errors come promptly, from the loop, not from submit */
START_TEST(t_down_fast_fail)
{
	const char *hosts[1] = { "unix:/nonexistent/vrcpt-test" };
	struct sqlmap *m = map_new(1, "SELECT $1::text", 1, hosts, 1);
	struct db_query q = q1(m, "x");
	struct got g = { 0 };
	struct db *db = pool(base, &m, 1, 2, "vrcpt-down");
	char	 buf[128];

	ask(base, db, &q, 1, &g);
	ck_assert_int_eq(g.r[0].status, DB_ERROR);
	ck_assert_msg(strstr(g.r[0].error, "connect to pgsql server "
	    "unix:/nonexistent/vrcpt-test: ") != NULL, "%s", g.r[0].error);
	ck_assert_ptr_null(strchr(g.r[0].error, '\n'));
	ck_assert_str_eq(db_state(db, buf, sizeof(buf)),
	    "0/2 connections up, 1/1 hosts down");
	got_clear(&g);
	db_free(&db);
	sqlmap_free(&m);
}
END_TEST

/* a host that accepts and never answers: our connect timeout */
START_TEST(t_connect_timeout)
{
	struct fake *f = fake_new(base, true);
	const char *hosts[1] = { f->spec };
	struct sqlmap *m = map_new(1, "SELECT $1::text", 1, hosts, 1);
	struct db_query q = q1(m, "x");
	struct got g = { 0 };
	struct db *db = pool(base, &m, 1, 1, "vrcpt-hang");
	uint64_t t0 = clock_mono_us();

	ask(base, db, &q, 1, &g);
	ck_assert_int_eq(g.r[0].status, DB_ERROR);
	ck_assert_msg(strstr(g.r[0].error, "timed out") != NULL ||
	    strstr(g.r[0].error, "within") != NULL, "%s", g.r[0].error);
	/* not before the timeout: the pool did wait for a connection */
	ck_assert_uint_ge(g.at_us - t0, DB_CONNECT_TIMEOUT_MS * 1000ULL / 2);
	ck_assert_int_ge(f->accepts, 1);
	got_clear(&g);
	db_free(&db);
	sqlmap_free(&m);
	fake_free(f);
}
END_TEST

/* more than DB_QUEUE_MAX waiting: refused, and freeing calls nobody */
START_TEST(t_queue_bound)
{
	struct fake *f = fake_new(base, true);
	const char *hosts[1] = { f->spec };
	struct sqlmap *m = map_new(1, "SELECT $1::text", 1, hosts, 1);
	struct db_query q = q1(m, "x");
	struct got g = { 0 };
	struct db *db = pool(base, &m, 1, 1, "vrcpt-queue");
	int	 i;

	for (i = 0; i < DB_QUEUE_MAX; i++)
		ck_assert_int_eq(db_submit(db, &q, 1, got_cb, &g, NULL), 0);
	ck_assert_int_eq(db_submit(db, &q, 1, got_cb, &g, NULL), -1);
	db_free(&db);
	spin(base, 50);
	ck_assert_int_eq(g.calls, 0);
	sqlmap_free(&m);
	fake_free(f);
}
END_TEST

/* "hosts = dead, live": the live one answers, the dead one is left
 * alone for retry_interval */
START_TEST(t_two_hosts)
{
	struct fake *f = fake_new(base, false);
	char	*live = live_host();
	const char *hosts[2] = { f->spec, live };
	struct sqlmap *m = map_new(1, "SELECT $1::text", 1, hosts, 2);
	struct db_query q = q1(m, "x");
	struct got g = { 0 };
	struct db *db = pool(base, &m, 1, 8, "vrcpt-hosts");
	int	 i, before;

	ck_assert_msg(wait_state(base, db,
	    "8/8 connections up, 1/2 hosts down") ||
	    wait_state(base, db, "8/8 connections up"), "pool not up");
	for (i = 0; i < 10; i++) {
		ask(base, db, &q, 1, &g);
		ck_assert_msg(g.r[0].status == DB_OK, "%s", g.r[0].error);
		got_clear(&g);
	}
	/*
	 * Eight connections picked a host at random, so the dead one was
	 * all but certainly tried. Now every connection breaks and
	 * reconnects: none of them may go back to the dead host.
	 */
	before = f->accepts;
	if (before > 0) {
		ck_assert(state_is(db, "8/8 connections up, 1/2 hosts down"));
		terminate("vrcpt-hosts");
		ck_assert(wait_state(base, db,
		    "8/8 connections up, 1/2 hosts down"));
		ask_until_ok(base, db, &q, &g);
		got_clear(&g);
		spin(base, 100);
		ck_assert_int_eq(f->accepts, before);
	}
	db_free(&db);
	sqlmap_free(&m);
	fake_free(f);
	free(live);
}
END_TEST

/*
 * "hosts = inet:127.0.0.1:PORT, unix:/dir": Postfix tries unix sockets
 * first whatever the written order (dict_pgsql.c:
 * dict_pgsql_get_active()), so none of eight connections goes to the
 * TCP host while the socket answers.
 */
START_TEST(t_unix_first)
{
	struct fake *f = fake_new_tcp(base);
	char	*live = live_host();
	const char *hosts[2] = { f->spec, live };
	struct sqlmap *m = map_new(1, "SELECT $1::text", 1, hosts, 2);
	struct db_query q = q1(m, "x");
	struct got g = { 0 };
	struct db *db = pool(base, &m, 1, 8, "vrcpt-unix-first");
	char	 buf[128];

	ck_assert_msg(wait_state(base, db, "8/8 connections up"), "%s",
	    db_state(db, buf, sizeof(buf)));
	ask(base, db, &q, 1, &g);
	ck_assert_msg(g.r[0].status == DB_OK, "%s", g.r[0].error);
	got_clear(&g);
	/* they break and reconnect: still the socket */
	terminate("vrcpt-unix-first");
	ask_until_ok(base, db, &q, &g);
	got_clear(&g);
	ck_assert(wait_state(base, db, "8/8 connections up"));
	spin(base, 50);
	ck_assert_int_eq(f->accepts, 0);
	db_free(&db);
	sqlmap_free(&m);
	fake_free(f);
	free(live);
}
END_TEST

/* an established connection dies under a query, and comes back */
START_TEST(t_backend_killed)
{
	struct sqlmap *m[2];
	struct db_query q;
	struct got gs = { 0 }, g = { 0 };
	struct db *db;

	m[0] = map_live(1, "SELECT $1::text", 1);
	m[1] = map_live(2, "SELECT $1::text FROM pg_sleep(3)", 1);
	db = pool(base, m, 2, 1, "vrcpt-killed");
	ck_assert(wait_state(base, db, "1/1 connections up"));
	q = q1(m[1], "slow");
	ck_assert_int_eq(submit(db, &q, 1, &gs, NULL), 0);
	spin(base, 100);
	terminate("vrcpt-killed");
	ck_assert(wait_for(base, &gs.calls, 1, WAIT_MS));
	ck_assert_int_eq(gs.r[0].status, DB_ERROR);
	ck_assert_ptr_nonnull(gs.r[0].error);
	q = q1(m[0], "again");
	ask_until_ok(base, db, &q, &g);
	ck_assert_str_eq(g.r[0].vals[0], "again");
	got_clear(&gs);
	got_clear(&g);
	db_free(&db);
	sqlmap_free(&m[0]);
	sqlmap_free(&m[1]);
}
END_TEST

/*
 * The whole server goes away and comes back.
 */

START_TEST(t_outage_recovery)
{
	struct sqlmap *m[2];
	struct db_query q;
	struct got gs = { 0 }, g = { 0 };
	struct db *db;
	char	 buf[128];

	m[0] = map_live(1, "SELECT $1::text", 1);
	m[1] = map_live(2, "SELECT $1::text FROM pg_sleep(5)", 1);
	db = pool(base, m, 2, 2, "vrcpt-outage");
	ck_assert(wait_state(base, db, "2/2 connections up"));

	/* in flight when the server stops */
	q = q1(m[1], "in flight");
	ck_assert_int_eq(submit(db, &q, 1, &gs, NULL), 0);
	spin(base, 100);
	pgtmp("down");
	ck_assert(wait_for(base, &gs.calls, 1, WAIT_MS));
	ck_assert_int_eq(gs.r[0].status, DB_ERROR);

	/* while it is down: prompt errors, never a hang */
	q = q1(m[0], "during");
	ask(base, db, &q, 1, &g);
	ck_assert_int_eq(g.r[0].status, DB_ERROR);
	ck_assert_msg(strstr(g.r[0].error, "pgsql") != NULL, "%s",
	    g.r[0].error);
	got_clear(&g);
	ck_assert_msg(wait_state(base, db,
	    "0/2 connections up, 1/1 hosts down"), "%s",
	    db_state(db, buf, sizeof(buf)));

	/* back: the pool finds it by itself */
	pgtmp("up");
	q = q1(m[0], "after");
	ask_until_ok(base, db, &q, &g);
	ck_assert_str_eq(g.r[0].vals[0], "after");
	ck_assert_msg(wait_state(base, db, "2/2 connections up"), "%s",
	    db_state(db, buf, sizeof(buf)));
	got_clear(&gs);
	got_clear(&g);
	db_free(&db);
	sqlmap_free(&m[0]);
	sqlmap_free(&m[1]);
}
END_TEST

/*
 * dbsync: through a real .cf file, so that the SQL and the results go
 * the way vrcptctl sends them.
 */

static struct sqlmap *
cf_map(const char *hosts, const char *query, const char *extra)
{
	struct sqlmap *sm = NULL;
	char	*text, *warnings = NULL, *error = NULL;

	text = xasprintf("hosts = %s\nuser = %s\ndbname = %s\nquery = %s\n%s",
	    hosts, env("PGUSER"), env("PGDATABASE"), query,
	    extra != NULL ? extra : "");
	ck_assert_msg(sqlmap_parse("/test/sync.cf", text, strlen(text), &sm,
	    &warnings, &error) == 0, "parse: %s", error);
	free(warnings);
	free(text);
	sm->id = 1;
	return sm;
}

static void
sync_setup(void)
{
	server_up();
	admin("DROP TABLE IF EXISTS t_sync", NULL);
	admin("CREATE TABLE t_sync (k text, v text)", NULL);
	admin("INSERT INTO t_sync VALUES ('a@example.com', 'x@example.net'), "
	    "('multi@example.com', 'm1'), ('multi@example.com', 'm2'), "
	    "('o''brien@example.com', 'irish'), ('empty@example.com', '')",
	    NULL);
}

static void
sync_teardown(void)
{
	admin("DROP TABLE IF EXISTS t_sync", NULL);
}

START_TEST(t_sync_lookups)
{
	char	*live = live_host();
	struct sqlmap *sm = cf_map(live,
	    "SELECT v FROM t_sync WHERE k = '%s' ORDER BY v", NULL);
	struct dbsync *ds = dbsync_new(&sm->conn, 5000);
	char	*value, *why, *warn;

	ck_assert_int_eq(dbsync_lookup(ds, sm, "a@example.com", &value, &why,
	    &warn), FACT_FOUND);
	ck_assert_str_eq(value, "x@example.net");
	free(value);
	free(why);
	free(warn);
	ck_assert_int_eq(dbsync_lookup(ds, sm, "multi@example.com", &value,
	    &why, &warn), FACT_FOUND);
	ck_assert_str_eq(value, "m1,m2");
	free(value);
	free(why);
	free(warn);
	ck_assert_int_eq(dbsync_lookup(ds, sm, "o'brien@example.com", &value,
	    &why, &warn), FACT_FOUND);
	ck_assert_str_eq(value, "irish");
	free(value);
	free(why);
	free(warn);
	ck_assert_int_eq(dbsync_lookup(ds, sm, "x' OR '1'='1", &value, &why,
	    &warn), FACT_NOT_FOUND);
	free(value);
	free(why);
	free(warn);
	ck_assert_int_eq(dbsync_lookup(ds, sm, "empty@example.com", &value,
	    &why, &warn), FACT_NOT_FOUND);
	free(value);
	free(why);
	free(warn);

	/* the server drops us: one reconnect, the caller sees nothing */
	terminate("vrcptctl");
	ck_assert_int_eq(dbsync_lookup(ds, sm, "a@example.com", &value, &why,
	    &warn), FACT_FOUND);
	free(value);
	free(why);
	free(warn);
	dbsync_free(&ds);
	ck_assert_ptr_null(ds);
	sqlmap_free(&sm);
	free(live);
}
END_TEST

START_TEST(t_sync_errors)
{
	char	*live = live_host();
	struct sqlmap *sm = cf_map("unix:/nonexistent/vrcpt-test",
	    "SELECT v FROM t_sync WHERE k = '%s'", NULL);
	struct sqlmap *bad = cf_map(live,
	    "SELECT v FROM no_such_table WHERE k = '%s'", NULL);
	struct dbsync *ds = dbsync_new(&sm->conn, 3000);
	struct dbsync *ds2 = dbsync_new(&bad->conn, 3000);
	char	*value, *why, *warn;

	ck_assert_int_eq(dbsync_lookup(ds, sm, "a@example.com", &value, &why,
	    &warn), FACT_UNAVAILABLE);
	ck_assert_ptr_null(value);
	ck_assert_msg(why != NULL && strstr(why, "connect to pgsql server "
	    "unix:/nonexistent/vrcpt-test") != NULL, "%s", why);
	free(why);
	free(warn);
	ck_assert_int_eq(dbsync_lookup(ds2, bad, "a@example.com", &value,
	    &why, &warn), FACT_UNAVAILABLE);
	ck_assert_msg(why != NULL && strstr(why, "no_such_table") != NULL,
	    "%s", why);
	free(why);
	free(warn);
	dbsync_free(&ds);
	dbsync_free(&ds2);
	sqlmap_free(&sm);
	sqlmap_free(&bad);
	free(live);
}
END_TEST

START_TEST(t_sync_timeout)
{
	struct fake *f = fake_new(NULL, true);
	struct sqlmap *sm = cf_map(f->spec,
	    "SELECT v FROM t_sync WHERE k = '%s'", NULL);
	struct dbsync *ds = dbsync_new(&sm->conn, 1000);
	char	*value, *why, *warn;

	/* a hung server costs the timeout, not forever */
	ck_assert_int_eq(dbsync_lookup(ds, sm, "a@example.com", &value, &why,
	    &warn), FACT_UNAVAILABLE);
	ck_assert_ptr_nonnull(why);
	free(why);
	free(warn);
	dbsync_free(&ds);
	sqlmap_free(&sm);
	fake_free(f);
}
END_TEST

/* vrcptctl orders hosts as the daemon does: the unix socket first */
START_TEST(t_sync_unix_first)
{
	struct event_base *b = event_base_new();
	struct fake *f = fake_new_tcp(b);
	char	*live = live_host();
	char	*hosts = xasprintf("%s, %s", f->spec, live);
	struct sqlmap *sm = cf_map(hosts,
	    "SELECT v FROM t_sync WHERE k = '%s'", NULL);
	struct dbsync *ds = dbsync_new(&sm->conn, 3000);
	char	*value, *why, *warn;

	ck_assert_int_eq(dbsync_lookup(ds, sm, "a@example.com", &value, &why,
	    &warn), FACT_FOUND);
	free(value);
	free(why);
	free(warn);
	spin(b, 50);
	ck_assert_int_eq(f->accepts, 0);
	dbsync_free(&ds);
	sqlmap_free(&sm);
	fake_free(f);
	event_base_free(b);
	free(hosts);
	free(live);
}
END_TEST

/*
 * "hosts = dead, live" for vrcptctl: the dead host, once failed, is not
 * tried again for retry_interval when the connection has to be made
 * again (it would cost every reconnect a failed connect).
 */
START_TEST(t_sync_retry_interval)
{
	struct fake *f = fake_new(NULL, false);
	char	*live = live_host();
	char	*hosts = xasprintf("%s, %s", f->spec, live);
	struct sqlmap *sm = cf_map(hosts,
	    "SELECT v FROM t_sync WHERE k = '%s'", NULL);
	struct dbsync *ds = dbsync_new(&sm->conn, 3000);
	char	*value, *why, *warn;
	int	 i;

	fake_thread(f);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(dbsync_lookup(ds, sm, "a@example.com",
		    &value, &why, &warn), FACT_FOUND);
		free(value);
		free(why);
		free(warn);
		terminate("vrcptctl");
	}
	fake_join(f);
	ck_assert_int_le(f->accepts, 1);
	dbsync_free(&ds);
	sqlmap_free(&sm);
	fake_free(f);
	free(hosts);
	free(live);
}
END_TEST

/*
 * The cache invalidation listener: hosts ordered as the pools order
 * them, a dead host left alone for retry_interval.
 */

static void
n_nop(void *arg)
{
}

static void
n_up(void *arg, uint64_t tag, uint64_t lsn)
{
}

static void
n_msg(void *arg, const char *payload, uint64_t tag)
{
}

/* listener_pid - the backend of appname, other than old (may be NULL);
 * spins base meanwhile (the fakes answer from it); fresh */
static char *
listener_pid(struct event_base *b, const char *appname, const char *old)
{
	uint64_t until = clock_mono_us() + (uint64_t)WAIT_MS * 1000;
	char	*pid;

	for (;;) {
		pid = admin_value("SELECT pid::text FROM pg_stat_activity "
		    "WHERE application_name = $1", appname);
		if (pid != NULL && (old == NULL || strcmp(pid, old) != 0))
			return pid;
		free(pid);
		ck_assert_msg(clock_mono_us() < until, "%s did not connect",
		    appname);
		spin(b, 20);
	}
}

START_TEST(t_notify_unix_first)
{
	struct fake *f = fake_new_tcp(base);
	char	*live = live_host(), *pid;
	const char *hosts[2] = { f->spec, live };
	struct sqlmap *m = map_new(1, "SELECT 1", 0, hosts, 2);
	struct notify_hooks h = { .up = n_up, .down = n_nop,
	    .message = n_msg };
	struct notify *n = notify_start(&m->conn, "vrcpt-listen-order", &h);

	pid = listener_pid(base, "vrcpt-listen-order", NULL);
	spin(base, 50);
	ck_assert_int_eq(f->accepts, 0);
	notify_stop(&n);
	free(pid);
	sqlmap_free(&m);
	fake_free(f);
	free(live);
}
END_TEST

START_TEST(t_notify_retry_interval)
{
	struct fake *f = fake_new(base, false);
	char	*live = live_host(), *pid, *old;
	const char *hosts[2] = { f->spec, live };
	struct sqlmap *m = map_new(1, "SELECT 1", 0, hosts, 2);
	struct notify_hooks h = { .up = n_up, .down = n_nop,
	    .message = n_msg };
	struct notify *n = notify_start(&m->conn, "vrcpt-listen-retry", &h);
	int	 i;

	pid = listener_pid(base, "vrcpt-listen-retry", NULL);
	for (i = 0; i < 3; i++) {
		terminate("vrcpt-listen-retry");
		old = pid;
		pid = listener_pid(base, "vrcpt-listen-retry", old);
		free(old);
	}
	spin(base, 50);
	ck_assert_int_le(f->accepts, 1);
	notify_stop(&n);
	free(pid);
	sqlmap_free(&m);
	fake_free(f);
	free(live);
}
END_TEST

static Suite *
db_suite(void)
{
	Suite	*s = suite_create("db");
	TCase	*tc;

	tc = tcase_create("pgconn");
	tcase_add_loop_test(tc, t_params, 0,
	    sizeof(param_cases) / sizeof(param_cases[0]));
	tcase_add_test(tc, t_params_default);
	tcase_add_test(tc, t_label_oneline);
	suite_add_tcase(s, tc);

	tc = tcase_create("live");
	tcase_set_timeout(tc, TEST_TIMEOUT_S);
	tcase_add_checked_fixture(tc, db_setup, db_teardown);
	tcase_add_test(tc, t_connect_and_state);
	tcase_add_test(tc, t_batch_in_order);
	tcase_add_test(tc, t_null_empty_rows);
	tcase_add_test(tc, t_metachars_verbatim);
	tcase_add_test(tc, t_bad_utf8_isolated);
	tcase_add_test(tc, t_error_isolated);
	tcase_add_test(tc, t_prepare_later);
	tcase_add_test(tc, t_submit_refused);
	tcase_add_test(tc, t_cancel);
	tcase_add_test(tc, t_free_pending);
	tcase_add_test(tc, t_free_in_callback);
	tcase_add_test(tc, t_fifo_pool2);
	tcase_add_test(tc, t_idle_close);
	tcase_add_test(tc, t_stuck_query);
	suite_add_tcase(s, tc);

	tc = tcase_create("unreachable");
	tcase_set_timeout(tc, TEST_TIMEOUT_S);
	tcase_add_checked_fixture(tc, db_setup, db_teardown);
	tcase_add_test(tc, t_down_fast_fail);
	tcase_add_test(tc, t_connect_timeout);
	tcase_add_test(tc, t_queue_bound);
	tcase_add_test(tc, t_two_hosts);
	tcase_add_test(tc, t_unix_first);
	tcase_add_test(tc, t_backend_killed);
	suite_add_tcase(s, tc);

	tc = tcase_create("dbsync");
	tcase_set_timeout(tc, TEST_TIMEOUT_S);
	tcase_add_checked_fixture(tc, sync_setup, sync_teardown);
	tcase_add_test(tc, t_sync_lookups);
	tcase_add_test(tc, t_sync_errors);
	tcase_add_test(tc, t_sync_timeout);
	tcase_add_test(tc, t_sync_unix_first);
	tcase_add_test(tc, t_sync_retry_interval);
	suite_add_tcase(s, tc);

	tc = tcase_create("notify");
	tcase_set_timeout(tc, TEST_TIMEOUT_S);
	tcase_add_checked_fixture(tc, db_setup, db_teardown);
	tcase_add_test(tc, t_notify_unix_first);
	tcase_add_test(tc, t_notify_retry_interval);
	suite_add_tcase(s, tc);

	/* last: it stops the server */
	tc = tcase_create("outage");
	tcase_set_timeout(tc, TEST_TIMEOUT_S);
	tcase_add_checked_fixture(tc, db_setup, db_teardown);
	tcase_add_test(tc, t_outage_recovery);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(db_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
