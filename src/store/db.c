/*
 * db - a pool of non-blocking libpq connections driven by libevent.
 *
 * Each connection is made with pgconn's connect steps (pgconn_start,
 * pgconn_poll) under our own timer, then put in non-blocking pipeline
 * mode and given every statement of the pool's maps (PQsendPrepare,
 * "vrcpt_<id>"). A submitted batch waits in a bounded FIFO until a
 * ready connection has room (at most DB_PIPELINE_MAX batches in flight
 * each), is sent as its queries plus one PQpipelineSync(), and
 * completes when its PGRES_PIPELINE_SYNC comes back; results arrive in
 * send order, so the batches in flight on a connection are a FIFO too.
 *
 * Standbys: a connection knows its server's role from in_hot_standby
 * (pgconn_role; PostgreSQL 14 and later). On a connection that is not
 * known to be on a primary, every batch starts with DB_REPLAY_SQL, in
 * the same pipeline: whether the server is in recovery, and how far it
 * has replayed the primary's WAL. It runs before the lookups, so every
 * change up to that position is visible to them (each statement takes
 * its snapshot when it starts); the batch's results carry both
 * (db_result.standby, replay_lsn). A primary stays a primary for the
 * life of a connection (a server is demoted only by a restart), so
 * batches on one pay nothing; a standby that is promoted shows it in
 * the next batch's first answer. With db_read_target = prefer-standby a
 * new connection that finds a primary while a host that is, or may be,
 * a standby is not being skipped leaves it for that host at once (not
 * a failure); with primary, libpq refuses a standby at connect
 * (target_session_attrs, see pgconn_set_target).
 *
 * Failure handling follows Postfix dict_pgsql.c: each new connection
 * goes to the first host of pgconn_order() (unix sockets before TCP
 * before URIs, random within each kind, a host that failed to connect
 * skipped for retry_interval: core/dbhosts); when its connect fails and
 * another host is not being skipped, it tries that one at once;
 * "warning: connect to pgsql server HOST: REASON" is logged once per
 * change of a host's state (and an info line when it is back). Beyond
 * Postfix: each connection reconnects with the backoff of core/dbhosts
 * (growing, jittered; at once after a connection that had been up a
 * while, or as soon as a connection of any pool of the process got
 * through to one of its hosts: db_up_slot), a batch that cannot be sent within DB_CONNECT_TIMEOUT_MS
 * fails, and when every connection is waiting out a backoff queued
 * batches fail at once (as Postfix does while all hosts are skipped)
 * instead of piling up. idle_interval closes a connection unused that
 * long, but never the last ready one.
 *
 * Callbacks run only from db_deliver(), an event of its own, so never
 * inside db_submit() and never inside libpq processing; a callback may
 * submit, cancel or even db_free().
 *
 * Depends on: libevent (core), libpq, store/pgconn, core/sqlmap.h
 * (types), util/. Nothing here knows about requests or Postfix rules.
 *
 * Security: parameter values go to the server out of band
 * (PQsendQueryPrepared), never into SQL text. Everything the server or
 * libpq says is sanitised before it is logged; URIs in hosts are logged
 * without their password. Queue, pipeline and result sizes are bounded.
 */
#include <sys/queue.h>
#include <sys/time.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "store/db.h"
#include "conf/conf.h"
#include "core/fence.h"
#include "store/pgconn.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

#define DB_POOL_MAX		64	/* connections in one pool */
#define DB_PIPELINE_MAX		4	/* batches in flight, per conn */
#define DB_QUERY_TIMEOUT_MS	5000	/* oldest batch unanswered this
					 * long: the connection is dropped
					 * (no non-blocking cancel in libpq
					 * 15); lookups take milliseconds */
#define DB_APPNAME_DEFAULT	"vrcpt"
/* first in each batch on a connection not known to be on a primary;
 * any role may run both functions */
#define DB_REPLAY_SQL		"SELECT pg_is_in_recovery(), " \
				"pg_last_wal_replay_lsn()"


enum db_op_kind {
	DB_OP_BATCH,		/* a db_submit() */
	DB_OP_PREPARE		/* our PQsendPrepare() of one statement */
};

enum db_op_state {
	DB_OP_QUEUED,		/* on db->queue */
	DB_OP_SENT,		/* on conn->sent */
	DB_OP_DONE,		/* on db->done, callback pending */
	DB_OP_DELIVERING	/* its callback is running */
};

enum db_conn_state {
	DB_CONN_CLOSED,		/* no connection, none wanted (idle) */
	DB_CONN_WAIT,		/* backoff; the timer connects again */
	DB_CONN_CONNECTING,	/* pgconn_poll() under the connect timer */
	DB_CONN_READY		/* pipeline mode, statements sent */
};

/* one query of an op, and what came back for it */
struct db_opq {
	size_t	 stmt;		/* index into db->stmts */
	size_t	 nparams;
	const char *params[SQLMAP_PARAMS_MAX];	/* into op->strings */
	bool	 answered;	/* a result was stored */
	char	**vals;		/* pgconn_values() allocation */
	char	*error;
};

struct db_op {
	TAILQ_ENTRY(db_op) link;
	struct db *db;
	enum db_op_kind kind;
	enum db_op_state state;
	db_done_cb *cb;		/* NULL: cancelled, or a prepare */
	void	*arg;
	uint64_t t_us;		/* queued at, then sent at */
	size_t	 cur;		/* result being read: DB_REPLAY_SQL's
				 * (with pre), then q[cur - pre] */
	bool	 cur_seen;	/* cur has had a result */
	size_t	 pre;		/* 1: DB_REPLAY_SQL was sent first */
	bool	 standby;	/* DB_REPLAY_SQL: in recovery (or could
				 * not tell) */
	uint64_t replay_lsn;	/* ... replayed up to (0: unknown) */
	char	*strings;	/* parameter copies */
	char	*error;		/* why unanswered ones failed */
	struct db_result *res;	/* built for the callback */
	size_t	 n;
	struct db_opq q[];
};

TAILQ_HEAD(db_opq_head, db_op);

struct db_conn {
	struct db *db;
	unsigned idx;
	enum db_conn_state state;
	PGconn	*pg;
	size_t	 host;		/* index in db->pc, while pg != NULL */
	int	 fd;
	short	 watch;		/* what ev_io waits for */
	struct event *ev_io;
	struct event *ev_timer;
	struct dbhosts_backoff backoff;	/* its up_us: READY since */
	enum dbhosts_role role;	/* of its server, while pg != NULL */
	uint64_t used_us;	/* last batch finished */
	uint64_t wait_until_us;	/* DB_CONN_WAIT: backoff ends */
	unsigned wait_up;	/* DB_CONN_WAIT: db_up_sum() at its start */
	char	*fatal;		/* FATAL notice: why it will close */
	struct db_opq_head sent;
	unsigned nbatches;	/* DB_OP_BATCH ops on sent */
	bool	*prepared;	/* per statement: prepare sent or done */
};

/* a distinct statement of the pool */
struct db_stmt {
	const struct sqlmap *sm;
};

struct db {
	struct event_base *base;
	const struct sqlmap **maps;	/* as given, for membership tests */
	size_t	 nmaps;
	struct db_stmt *stmts;	/* unique by sqlmap.id */
	size_t	 nstmts;
	char	*appname;
	unsigned idle_interval_s;
	struct pgconn *pc;	/* the hosts, their order and state */
	struct db_conn *conns;
	unsigned nconns;
	struct db_opq_head queue;
	size_t	 nqueue;
	struct db_opq_head done;
	struct event *ev_deliver;
	struct event *ev_queue;	/* deadline of the queue head */
	char	*last_error;	/* why the last connect failed */
	int	 upslot[DBHOSTS_MAX];	/* per host: db_up_slot(), -1 */
	size_t	 nupslots;
	bool	 delivering;
	bool	 dead;		/* db_free() ran inside a callback */
};

/* connections in DB_CONN_READY, all pools of the process (metrics) */
static atomic_uint db_ready_total;

/*
 * "A host is back", across the pools of the process (one per worker,
 * more during a reload): each connection that comes up counts once in
 * its host's slot, and a connection waiting out a backoff connects at
 * once when a slot of its pool's hosts has counted since it began to
 * wait (core/dbhosts: dbhosts_wait_next). Hosts are known by label
 * (FNV-1a, 64 bits); DB_UP_SLOTS distinct labels, after that a host
 * has no slot and its connections just wait out their backoff. Labels
 * are the same in every pool made from the same "hosts =", so the
 * slots are claimed once and never given back.
 */
#define DB_UP_SLOTS		64
static _Atomic uint64_t db_up_key[DB_UP_SLOTS];	/* 0: free */
static atomic_uint db_up_count[DB_UP_SLOTS];

/* db_up_slot - the slot of a host label, claimed if new; -1: none */
static int
db_up_slot(const char *label)
{
	uint64_t key = 14695981039346656037ULL, want;
	const unsigned char *p;
	int	 i;

	for (p = (const unsigned char *)label; *p != '\0'; p++)
		key = (key ^ *p) * 1099511628211ULL;
	if (key == 0)
		key = 1;
	for (i = 0; i < DB_UP_SLOTS; i++) {
		want = 0;
		if (atomic_compare_exchange_strong(&db_up_key[i], &want, key) ||
		    want == key)
			return i;
	}
	return -1;
}

/* db_up_sum - how many connections came up to db's hosts, ever */
static unsigned
db_up_sum(const struct db *db)
{
	unsigned sum = 0;
	size_t	 i;

	for (i = 0; i < db->nupslots; i++) {
		if (db->upslot[i] >= 0)
			sum += atomic_load_explicit(&db_up_count[db->upslot[i]],
			    memory_order_relaxed);
	}
	return sum;
}

/* conn_set_state - every state change goes here, to keep the gauge */
static void
conn_set_state(struct db_conn *c, enum db_conn_state st)
{
	if (c->state == DB_CONN_READY && st != DB_CONN_READY)
		atomic_fetch_sub_explicit(&db_ready_total, 1,
		    memory_order_relaxed);
	else if (c->state != DB_CONN_READY && st == DB_CONN_READY)
		atomic_fetch_add_explicit(&db_ready_total, 1,
		    memory_order_relaxed);
	c->state = st;
}

unsigned
db_ready_connections(void)
{
	return atomic_load_explicit(&db_ready_total, memory_order_relaxed);
}

static void db_dispatch(struct db *);
static void conn_connect(struct db_conn *);
static void conn_io_cb(evutil_socket_t, short, void *);
static void conn_arm_ready(struct db_conn *);

static void
db_timer_add(struct event *ev, uint64_t us)
{
	struct timeval tv = clock_tv_us(us);

	evtimer_add(ev, &tv);
}

/* db_label - the host a connection is on, for messages */
static const char *
db_label(const struct db_conn *c)
{
	return pgconn_label(c->db->pc, c->host);
}

/*
 * Ops.
 */

static struct db_op *
op_new(struct db *db, enum db_op_kind kind, size_t n)
{
	struct db_op *op;

	op = xcalloc(1, sizeof(*op) + n * sizeof(op->q[0]));
	op->db = db;
	op->kind = kind;
	op->n = n;
	return op;
}

static void
op_free(struct db_op *op)
{
	size_t	 i;

	for (i = 0; i < op->n; i++) {
		free(op->q[i].vals);
		free(op->q[i].error);
	}
	free(op->strings);
	free(op->error);
	free(op->res);
	free(op);
}

/* conn_set_role - the server of c is (now) a primary or a standby */
static void
conn_set_role(struct db_conn *c, enum dbhosts_role r)
{
	if (c->role == DBHOSTS_ROLE_STANDBY && r == DBHOSTS_ROLE_PRIMARY)
		msg_info("pgsql server %s: a primary now (promoted)",
		    pgconn_label(c->db->pc, c->host));
	c->role = r;
	if (r != DBHOSTS_ROLE_UNKNOWN)
		pgconn_set_role(c->db->pc, c->host, r);
}

/*
 * op_store_replay - DB_REPLAY_SQL's answer. Anything unexpected counts
 * as a standby of unknown position: its answers are used, never kept.
 */
static void
op_store_replay(struct db_conn *c, struct db_op *op, const PGresult *res)
{
	uint64_t lsn;

	op->standby = true;
	op->replay_lsn = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    PQnfields(res) != 2 || PQgetisnull(res, 0, 0))
		return;
	if (strcmp(PQgetvalue(res, 0, 0), "f") == 0) {
		op->standby = false;
		conn_set_role(c, DBHOSTS_ROLE_PRIMARY);
		return;
	}
	if (c->role == DBHOSTS_ROLE_UNKNOWN)
		conn_set_role(c, DBHOSTS_ROLE_STANDBY);
	if (!PQgetisnull(res, 0, 1) &&
	    fence_lsn_parse(PQgetvalue(res, 0, 1), &lsn) == 0)
		op->replay_lsn = lsn;
}

/* op_store - keep what came back for query i */
static void
op_store(struct db_conn *c, struct db_op *op, size_t i, const PGresult *res)
{
	struct db_opq *q = &op->q[i];
	char	*error = NULL;
	size_t	 nvals;

	q->answered = true;
	switch (PQresultStatus(res)) {
	case PGRES_PIPELINE_ABORTED:
		q->error = xstrdup("not run: an earlier query of the batch "
		    "failed");
		return;
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		if (op->kind == DB_OP_PREPARE)
			return;
		if (pgconn_values(res, &q->vals, &nvals, &error) < 0)
			q->error = error;
		else
			op->res[i].nvals = nvals;
		return;
	default:
		q->error = pgconn_result_error(res);
		break;
	}
	if (op->kind == DB_OP_PREPARE) {
		msg_warn("pgsql server %s: cannot prepare the query of %s: %s",
		    db_label(c), c->db->stmts[q->stmt].sm->path != NULL ?
		    c->db->stmts[q->stmt].sm->path : "(unknown)", q->error);
	} else {
		static struct log_rate lr;

		/* Postfix dict_pgsql.c plpgsql_query() */
		msg_warn_rated(&lr, LOG_RATE_OUTAGE_MS,
		    "pgsql query failed: fatal error from host %s: %s",
		    db_label(c), q->error);
	}
}

/* op_complete - an op is over: deliver a batch, account a prepare */
static void
op_complete(struct db_conn *c, struct db_op *op, const char *why)
{
	struct db *db = op->db;
	struct db_opq *q;
	size_t	 i;

	if (op->kind == DB_OP_PREPARE) {
		q = &op->q[0];
		/* a failed prepare is retried before the next use */
		if (c != NULL && (!q->answered || q->error != NULL))
			c->prepared[q->stmt] = false;
		op_free(op);
		return;
	}
	if (why != NULL && op->error == NULL)
		op->error = xstrdup(why);
	for (i = 0; i < op->n; i++) {
		q = &op->q[i];
		if (q->error != NULL || !q->answered) {
			op->res[i].status = DB_ERROR;
			op->res[i].error = q->error != NULL ? q->error :
			    op->error != NULL ? op->error : "no result";
			op->res[i].nvals = 0;
		} else {
			op->res[i].status = DB_OK;
			op->res[i].error = NULL;
			op->res[i].vals = (const char *const *)q->vals;
			op->res[i].standby = op->standby;
			op->res[i].replay_lsn = op->replay_lsn;
		}
	}
	if (op->cb == NULL) {
		op_free(op);	/* cancelled: results read and dropped */
		return;
	}
	op->state = DB_OP_DONE;
	TAILQ_INSERT_TAIL(&db->done, op, link);
	event_active(db->ev_deliver, 0, 0);
}

/* db_fail_queued - fail queued batches older than cutoff_us (all: 0) */
static void
db_fail_queued(struct db *db, uint64_t cutoff_us, const char *why)
{
	struct db_op *op;

	while ((op = TAILQ_FIRST(&db->queue)) != NULL) {
		if (cutoff_us != 0 && op->t_us > cutoff_us)
			break;
		TAILQ_REMOVE(&db->queue, op, link);
		db->nqueue--;
		op_complete(NULL, op, why);
	}
}

/* db_deliver - run the callbacks of finished batches, in order */
static void
db_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;
	struct db_op *op;

	db->delivering = true;
	while ((op = TAILQ_FIRST(&db->done)) != NULL) {
		TAILQ_REMOVE(&db->done, op, link);
		op->state = DB_OP_DELIVERING;
		op->cb(op->arg, op->res, op->n);
		op_free(op);
		if (db->dead)
			break;
	}
	db->delivering = false;
	if (db->dead)
		free(db);	/* db_free() did the rest */
}

/*
 * Hosts.
 */

/* db_host_failed - connecting to host i failed: tell, skip it */
static void
db_host_failed(struct db *db, size_t i, const char *why)
{
	const char *label = pgconn_label(db->pc, i);

	/* dict_pgsql.c: plpgsql_connect_single(), once per change */
	if (pgconn_failed(db->pc, i, why))
		msg_warn("connect to pgsql server %s: %s", label, why);
	free(db->last_error);
	db->last_error = xasprintf("connect to pgsql server %s: %s", label,
	    why);
}

static void
db_host_up(struct db *db, size_t i)
{
	if (pgconn_up(db->pc, i))
		msg_info("connect to pgsql server %s: connection restored",
		    pgconn_label(db->pc, i));
}

/*
 * Connections.
 */

/*
 * db_notice - server notices and libpq warnings go to our log. A FATAL
 * error that arrives on an idle connection comes this way too; the
 * server hangs up right after, so it is kept as the reason for the
 * "connection lost" line instead of being logged twice.
 */
static void
db_notice(void *arg, const char *message)
{
	struct db_conn *c = arg;
	char	*line;

	line = pgconn_oneline(message);
	if (strncmp(line, "FATAL:", 6) == 0 ||
	    strncmp(line, "PANIC:", 6) == 0) {
		free(c->fatal);
		c->fatal = line;
		return;
	}
	msg_warn("pgsql server %s: %s", db_label(c), line);
	free(line);
}

/* conn_watch_fd - wait for what on fd, the connection's socket */
static int
conn_watch_fd(struct db_conn *c, int fd, short what)
{
	if (fd < 0)
		return -1;
	/* libpq may change the socket while it connects */
	if (c->ev_io != NULL && c->fd == fd && c->watch == what)
		return 0;
	if (c->ev_io != NULL)
		event_free(c->ev_io);
	c->fd = fd;
	c->watch = what;
	c->ev_io = event_new(c->db->base, fd, what | EV_PERSIST, conn_io_cb,
	    c);
	if (c->ev_io == NULL || event_add(c->ev_io, NULL) < 0)
		msg_fatal("db: cannot register a libpq socket with libevent");
	return 0;
}

/* conn_watch - wait for what on the connection's current socket */
static int
conn_watch(struct db_conn *c, short what)
{
	return conn_watch_fd(c, PQsocket(c->pg), what);
}

/* conn_close - drop the connection; fail what was in flight on it */
static void
conn_close(struct db_conn *c, const char *why)
{
	struct db_op *op;

	if (c->ev_io != NULL) {
		event_free(c->ev_io);
		c->ev_io = NULL;
	}
	evtimer_del(c->ev_timer);
	c->fd = -1;
	c->watch = 0;
	if (c->pg != NULL) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
	while ((op = TAILQ_FIRST(&c->sent)) != NULL) {
		TAILQ_REMOVE(&c->sent, op, link);
		if (why == NULL)
			op->cb = NULL;	/* db_free(): nobody to tell */
		op_complete(NULL, op, why != NULL ? why : "pool closed");
	}
	c->nbatches = 0;
	memset(c->prepared, 0, c->db->nstmts * sizeof(c->prepared[0]));
	free(c->fatal);
	c->fatal = NULL;
	if (c->state == DB_CONN_READY)	/* the caller sets what comes next */
		conn_set_state(c, DB_CONN_CLOSED);
}

/* conn_wait - back off, then connect again (0: right away, here) */
static void
conn_wait(struct db_conn *c, uint64_t delay_us)
{
	if (delay_us == 0) {
		conn_connect(c);
		return;
	}
	conn_set_state(c, DB_CONN_WAIT);
	c->wait_until_us = clock_mono_us() + delay_us;
	c->wait_up = db_up_sum(c->db);
	db_timer_add(c->ev_timer, dbhosts_wait_next(0, delay_us, 0, 0));
}

/* conn_connect_failed - this attempt is over; try another host or wait */
static void
conn_connect_failed(struct db_conn *c, const char *why)
{
	size_t	 order[DBHOSTS_MAX], h = c->host;

	conn_close(c, why);
	db_host_failed(c->db, h, why);
	/*
	 * Another host is not being skipped: try it now (dict_pgsql.c:
	 * dict_pgsql_get_active() goes on to the next host). The recursion
	 * ends because every failed host is skipped from here on.
	 */
	(void)pgconn_order(c->db->pc, order);
	if (pgconn_skipped(c->db->pc, h) &&
	    !pgconn_skipped(c->db->pc, order[0])) {
		conn_wait(c, 0);
		return;
	}
	conn_wait(c, dbhosts_backoff_failed(&c->backoff) * CLOCK_US_PER_MS);
}

/* conn_lost - a ready connection broke */
static void
conn_lost(struct db_conn *c, const char *why)
{
	char	*line;
	unsigned ms;

	line = c->fatal != NULL ? xstrdup(c->fatal) : pgconn_oneline(why);
	if (c->nbatches > 0)
		msg_warn("pgsql server %s: connection lost: %s",
		    db_label(c), line);
	else
		msg_info("pgsql server %s: connection lost: %s",
		    db_label(c), line);
	conn_close(c, line);
	free(line);
	/* not a connect failure: the host is not skipped (dbhosts.h) */
	ms = dbhosts_backoff_lost(&c->backoff, clock_mono_us());
	conn_wait(c, ms * CLOCK_US_PER_MS);
}

/* conn_flush - push queued output; wait for writability if needed */
static int
conn_flush(struct db_conn *c)
{
	switch (PQflush(c->pg)) {
	case 0:
		return conn_watch(c, EV_READ);
	case 1:
		return conn_watch(c, EV_READ | EV_WRITE);
	default:
		return -1;
	}
}

/* conn_send_prepare - prepare statement s (its own sync: a failure
 * aborts nothing else) */
static int
conn_send_prepare(struct db_conn *c, size_t s)
{
	const struct sqlmap *sm = c->db->stmts[s].sm;
	char	 name[PGCONN_STMT_NAME_MAX];
	struct db_op *op;

	if (PQsendPrepare(c->pg, pgconn_stmt_name(sm, name), sm->sql,
	    (int)sm->nparams, NULL) == 0 || PQpipelineSync(c->pg) == 0)
		return -1;
	op = op_new(c->db, DB_OP_PREPARE, 1);
	op->q[0].stmt = s;
	op->state = DB_OP_SENT;
	op->t_us = clock_mono_us();
	TAILQ_INSERT_TAIL(&c->sent, op, link);
	c->prepared[s] = true;
	return 0;
}

/* conn_send - put a batch on the wire; -1: the connection is broken */
static int
conn_send(struct db_conn *c, struct db_op *op)
{
	char	 name[PGCONN_STMT_NAME_MAX];
	struct db_opq *q;
	size_t	 i;

	op->state = DB_OP_SENT;
	op->t_us = clock_mono_us();
	op->cur = 0;
	op->cur_seen = false;
	op->standby = false;
	op->replay_lsn = 0;
	op->pre = c->role == DBHOSTS_ROLE_PRIMARY ? 0 : 1;
	for (i = 0; i < op->n; i++) {
		q = &op->q[i];
		if (!c->prepared[q->stmt] && conn_send_prepare(c, q->stmt) < 0)
			goto broken;
	}
	/* after the prepares it may need: they come back first */
	TAILQ_INSERT_TAIL(&c->sent, op, link);
	c->nbatches++;
	if (op->pre && PQsendQueryParams(c->pg, DB_REPLAY_SQL, 0, NULL,
	    NULL, NULL, NULL, 0) == 0)
		return -1;
	for (i = 0; i < op->n; i++) {
		q = &op->q[i];
		if (PQsendQueryPrepared(c->pg,
		    pgconn_stmt_name(c->db->stmts[q->stmt].sm, name),
		    (int)q->nparams, q->params, NULL, NULL, 0) == 0)
			return -1;
	}
	if (PQpipelineSync(c->pg) == 0 || conn_flush(c) < 0)
		return -1;
	if (c->nbatches == 1)
		conn_arm_ready(c);
	return 0;

broken:
	TAILQ_INSERT_TAIL(&c->sent, op, link);
	c->nbatches++;
	return -1;
}

/* conn_established - the connect steps are done */
static void
conn_established(struct db_conn *c)
{
	size_t	 s;

	evtimer_del(c->ev_timer);
	if (PQsetnonblocking(c->pg, 1) != 0 ||
	    PQenterPipelineMode(c->pg) == 0) {
		conn_connect_failed(c, "cannot enter non-blocking pipeline "
		    "mode");
		return;
	}
	c->role = DBHOSTS_ROLE_UNKNOWN;
	conn_set_role(c, pgconn_role(c->pg));
	if (!pgconn_fits(c->db->pc, c->host)) {
		/* prefer-standby found a primary: try the hosts that are,
		 * or may be, standbys first (now known: no loop) */
		msg_info("pgsql server %s is a primary; %s = %s: trying "
		    "another host", db_label(c), CONF_NAME(db_read_target),
		    dbhosts_target_name(pgconn_target(c->db->pc)));
		db_host_up(c->db, c->host);
		conn_close(c, "a primary, a standby is preferred");
		conn_connect(c);
		return;
	}
	conn_set_state(c, DB_CONN_READY);
	c->used_us = clock_mono_us();
	dbhosts_backoff_up(&c->backoff, c->used_us);
	db_host_up(c->db, c->host);
	if (c->db->upslot[c->host] >= 0)
		atomic_fetch_add_explicit(&db_up_count[c->db->upslot[c->host]],
		    1, memory_order_relaxed);
	for (s = 0; s < c->db->nstmts; s++) {
		if (conn_send_prepare(c, s) < 0) {
			conn_lost(c, PQerrorMessage(c->pg));
			return;
		}
	}
	if (conn_flush(c) < 0) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	conn_arm_ready(c);
}

/* conn_poll - the socket is ready: the next connect step */
static void
conn_poll(struct db_conn *c)
{
	char	*why = NULL;
	int	 fd = -1;

	switch (pgconn_poll(c->pg, &fd, &why)) {
	case PGCONN_STEP_READ:
		(void)conn_watch_fd(c, fd, EV_READ);
		break;
	case PGCONN_STEP_WRITE:
		(void)conn_watch_fd(c, fd, EV_WRITE);
		break;
	case PGCONN_STEP_OK:
		conn_established(c);
		break;
	case PGCONN_STEP_FAILED:
		conn_connect_failed(c, why);
		free(why);
		break;
	}
}

/* conn_connect - start connecting to the host pgconn_order() puts first */
static void
conn_connect(struct db_conn *c)
{
	size_t	 order[DBHOSTS_MAX];
	char	*why = NULL;
	int	 fd = -1;

	(void)pgconn_order(c->db->pc, order);
	c->host = order[0];
	if (pgconn_start(c->db->pc, c->host, &c->pg, &fd, &why) ==
	    PGCONN_STEP_FAILED) {
		conn_connect_failed(c, why);
		free(why);
		return;
	}
	PQsetNoticeProcessor(c->pg, db_notice, c);
	conn_set_state(c, DB_CONN_CONNECTING);
	db_timer_add(c->ev_timer, DB_CONNECT_TIMEOUT_MS * CLOCK_US_PER_MS);
	(void)conn_watch_fd(c, fd, EV_WRITE);
}

/* conn_drain - take every result libpq has complete, route it */
static int
conn_drain(struct db_conn *c)
{
	struct db_op *op;
	PGresult *res;

	while (!PQisBusy(c->pg)) {
		op = TAILQ_FIRST(&c->sent);
		res = PQgetResult(c->pg);
		if (res == NULL) {
			/*
			 * NULL ends one query's results; a NULL with none
			 * before it means nothing more is ready (libpq 15
			 * sends no NULL after PGRES_PIPELINE_SYNC).
			 */
			if (op == NULL || !op->cur_seen)
				break;
			op->cur++;
			op->cur_seen = false;
			continue;
		}
		if (op == NULL) {
			PQclear(res);
			return -1;	/* the server is out of step */
		}
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			TAILQ_REMOVE(&c->sent, op, link);
			if (op->kind == DB_OP_BATCH) {
				c->nbatches--;
				c->used_us = clock_mono_us();
			}
			op_complete(c, op, "no result");
			continue;
		}
		if (!op->cur_seen && op->kind == DB_OP_BATCH && op->pre &&
		    op->cur == 0)
			op_store_replay(c, op, res);
		else if (!op->cur_seen && op->cur >= op->pre &&
		    op->cur - op->pre < op->n)
			op_store(c, op, op->cur - op->pre, res);
		op->cur_seen = true;
		PQclear(res);
		if (PQstatus(c->pg) == CONNECTION_BAD)
			return -1;
	}
	return PQstatus(c->pg) == CONNECTION_BAD ? -1 : 0;
}

/* conn_ready_io - traffic on a connection in pipeline mode */
static void
conn_ready_io(struct db_conn *c, short what)
{
	unsigned before = c->nbatches;

	if ((what & EV_READ) && PQconsumeInput(c->pg) == 0)
		goto lost;
	if (conn_drain(c) < 0)
		goto lost;
	/* the server may wait for us to read before it reads more */
	if (conn_flush(c) < 0)
		goto lost;
	if (c->nbatches != before)
		conn_arm_ready(c);
	return;
lost:
	conn_lost(c, PQerrorMessage(c->pg));
}

static void
conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *c = arg;

	switch (c->state) {
	case DB_CONN_CONNECTING:
		conn_poll(c);
		break;
	case DB_CONN_READY:
		conn_ready_io(c, what);
		break;
	case DB_CONN_CLOSED:
	case DB_CONN_WAIT:
		break;
	}
	db_dispatch(c->db);
}

/* conn_arm_ready - next check of a ready connection: stuck or idle */
static void
conn_arm_ready(struct db_conn *c)
{
	struct db_op *op = TAILQ_FIRST(&c->sent);
	uint64_t now = clock_mono_us(), at;

	if (op != NULL)
		at = op->t_us + DB_QUERY_TIMEOUT_MS * CLOCK_US_PER_MS;
	else if (c->db->idle_interval_s > 0) {
		at = c->used_us + (uint64_t)c->db->idle_interval_s * CLOCK_US_PER_S;
		/*
		 * Past the idle time but kept (the last ready connection):
		 * look again one idle interval from now, not in a busy loop.
		 */
		if (at <= now)
			at = now + (uint64_t)c->db->idle_interval_s * CLOCK_US_PER_S;
	} else {
		evtimer_del(c->ev_timer);
		return;
	}
	db_timer_add(c->ev_timer, at > now ? at - now : 0);
}

/* conn_others_ready - another connection of the pool is ready */
static bool
conn_others_ready(const struct db_conn *c)
{
	unsigned i;

	for (i = 0; i < c->db->nconns; i++) {
		if (&c->db->conns[i] != c &&
		    c->db->conns[i].state == DB_CONN_READY)
			return true;
	}
	return false;
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *c = arg;
	struct db_op *op;
	uint64_t now = clock_mono_us(), us;
	char	 why[64];

	switch (c->state) {
	case DB_CONN_CONNECTING:
		snprintf(why, sizeof(why), "timed out after %d ms",
		    DB_CONNECT_TIMEOUT_MS);
		conn_connect_failed(c, why);
		break;
	case DB_CONN_WAIT:
		us = dbhosts_wait_next(now, c->wait_until_us, c->wait_up,
		    db_up_sum(c->db));
		if (us > 0)
			db_timer_add(c->ev_timer, us);
		else
			conn_connect(c);
		break;
	case DB_CONN_READY:
		op = TAILQ_FIRST(&c->sent);
		if (op != NULL && now - op->t_us >=
		    DB_QUERY_TIMEOUT_MS * CLOCK_US_PER_MS) {
			snprintf(why, sizeof(why), "no answer in %d ms",
			    DB_QUERY_TIMEOUT_MS);
			conn_lost(c, why);
		} else if (op == NULL && c->db->idle_interval_s > 0 &&
		    now - c->used_us >=
		    (uint64_t)c->db->idle_interval_s * CLOCK_US_PER_S &&
		    conn_others_ready(c)) {
			/* Postfix closes idle connections; keep one ready */
			conn_close(c, "idle");
			conn_set_state(c, DB_CONN_CLOSED);
		} else {
			conn_arm_ready(c);
		}
		break;
	case DB_CONN_CLOSED:
		break;
	}
	db_dispatch(c->db);
}

/*
 * The queue.
 */

static void
db_queue_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;
	uint64_t now = clock_mono_us();
	char	 why[80];
	bool	 down = pgconn_ndown(db->pc) > 0;

	if (now >= DB_CONNECT_TIMEOUT_MS * CLOCK_US_PER_MS) {
		snprintf(why, sizeof(why), "no pgsql connection available "
		    "within %d ms", DB_CONNECT_TIMEOUT_MS);
		/* name the server trouble if there is any */
		db_fail_queued(db, now - DB_CONNECT_TIMEOUT_MS * CLOCK_US_PER_MS,
		    down && db->last_error != NULL ? db->last_error : why);
	}
	db_dispatch(db);
}

/* db_pick_conn - the ready connection with the fewest batches, if any
 * has room */
static struct db_conn *
db_pick_conn(struct db *db)
{
	struct db_conn *c, *best = NULL;
	unsigned i;

	for (i = 0; i < db->nconns; i++) {
		c = &db->conns[i];
		if (c->state != DB_CONN_READY || c->nbatches >= DB_PIPELINE_MAX)
			continue;
		if (best == NULL || c->nbatches < best->nbatches)
			best = c;
	}
	return best;
}

/* db_dispatch - send what can be sent; decide about the rest */
static void
db_dispatch(struct db *db)
{
	struct db_conn *c;
	struct db_op *op;
	unsigned i, ready = 0, connecting = 0;
	uint64_t now;

	while ((op = TAILQ_FIRST(&db->queue)) != NULL &&
	    (c = db_pick_conn(db)) != NULL) {
		TAILQ_REMOVE(&db->queue, op, link);
		db->nqueue--;
		if (conn_send(c, op) < 0)
			conn_lost(c, PQerrorMessage(c->pg));
	}
	if (TAILQ_EMPTY(&db->queue)) {
		evtimer_del(db->ev_queue);
		return;
	}
	for (i = 0; i < db->nconns; i++) {
		if (db->conns[i].state == DB_CONN_CONNECTING)
			connecting++;
	}
	/* all ready ones are busy or none is: wake an idle-closed one */
	for (i = 0; connecting == 0 && i < db->nconns; i++) {
		c = &db->conns[i];
		if (c->state == DB_CONN_CLOSED) {
			conn_connect(c);
			if (c->state == DB_CONN_CONNECTING)
				connecting++;
			else if (c->state == DB_CONN_READY)
				break;
		}
	}
	for (i = 0; i < db->nconns; i++) {
		if (db->conns[i].state == DB_CONN_READY)
			ready++;
		else if (db->conns[i].state == DB_CONN_CONNECTING)
			connecting++;
	}
	if (ready == 0 && connecting == 0) {
		/* every connection is backing off: do not make mail wait */
		db_fail_queued(db, 0, db->last_error != NULL ?
		    db->last_error : "no pgsql connection");
		evtimer_del(db->ev_queue);
		return;
	}
	now = clock_mono_us();
	op = TAILQ_FIRST(&db->queue);
	if (op->t_us + DB_CONNECT_TIMEOUT_MS * CLOCK_US_PER_MS > now)
		db_timer_add(db->ev_queue,
		    op->t_us + DB_CONNECT_TIMEOUT_MS * CLOCK_US_PER_MS - now);
	else
		db_timer_add(db->ev_queue, 0);
}

/*
 * The API.
 */

struct db *
db_new(struct event_base *base, const struct sqlmap *const *maps,
    size_t nmaps, const struct db_opts *opts)
{
	struct db *db;
	const struct sqlmap_conn *sc;
	size_t	 i, j;
	unsigned n;

	db = xcalloc(1, sizeof(*db));
	db->base = base;
	TAILQ_INIT(&db->queue);
	TAILQ_INIT(&db->done);
	db->appname = xstrdup(opts != NULL && opts->application_name != NULL ?
	    opts->application_name : DB_APPNAME_DEFAULT);

	db->maps = xcalloc(nmaps > 0 ? nmaps : 1, sizeof(db->maps[0]));
	db->stmts = xcalloc(nmaps > 0 ? nmaps : 1, sizeof(db->stmts[0]));
	for (i = 0; i < nmaps; i++) {
		db->maps[db->nmaps++] = maps[i];
		for (j = 0; j < db->nstmts; j++) {
			if (db->stmts[j].sm->id == maps[i]->id)
				break;
		}
		if (j == db->nstmts)
			db->stmts[db->nstmts++].sm = maps[i];
	}

	db->ev_deliver = event_new(base, -1, 0, db_deliver, db);
	db->ev_queue = evtimer_new(base, db_queue_cb, db);
	if (db->ev_deliver == NULL || db->ev_queue == NULL)
		msg_fatal("db: cannot create libevent events");

	/* hosts: from the first map; all maps of a pool share them */
	sc = nmaps > 0 ? &maps[0]->conn : NULL;
	db->pc = pgconn_new(sc, db->appname);
	pgconn_set_target(db->pc, opts != NULL ? opts->target :
	    DBHOSTS_TARGET_ANY);
	if (sc != NULL)
		db->idle_interval_s = sc->idle_interval_s;
	db->nupslots = pgconn_nhosts(db->pc);
	for (i = 0; i < db->nupslots; i++)
		db->upslot[i] = db_up_slot(pgconn_label(db->pc, i));

	n = opts != NULL ? opts->pool_size : 1;
	if (n < 1)
		n = 1;
	if (n > DB_POOL_MAX)
		n = DB_POOL_MAX;
	db->nconns = n;
	db->conns = xcalloc(n, sizeof(db->conns[0]));
	for (i = 0; i < n; i++) {
		struct db_conn *c = &db->conns[i];

		c->db = db;
		c->idx = (unsigned)i;
		c->fd = -1;
		conn_set_state(c, DB_CONN_CLOSED);
		TAILQ_INIT(&c->sent);
		c->prepared = xcalloc(db->nstmts > 0 ? db->nstmts : 1,
		    sizeof(c->prepared[0]));
		c->ev_timer = evtimer_new(base, conn_timer_cb, c);
		if (c->ev_timer == NULL)
			msg_fatal("db: cannot create libevent timers");
	}
	for (i = 0; i < n; i++)
		conn_connect(&db->conns[i]);
	return db;
}

void
db_free(struct db **dbp)
{
	struct db *db = *dbp;
	struct db_op *op;
	size_t	 i;

	if (db == NULL)
		return;
	*dbp = NULL;
	for (i = 0; i < db->nconns; i++) {
		conn_close(&db->conns[i], NULL);
		event_free(db->conns[i].ev_timer);
		free(db->conns[i].prepared);
	}
	/* conn_close() left cancelled batches nowhere: they were freed */
	while ((op = TAILQ_FIRST(&db->queue)) != NULL) {
		TAILQ_REMOVE(&db->queue, op, link);
		op_free(op);
	}
	while ((op = TAILQ_FIRST(&db->done)) != NULL) {
		TAILQ_REMOVE(&db->done, op, link);
		op_free(op);
	}
	pgconn_free(&db->pc);
	event_free(db->ev_deliver);
	event_free(db->ev_queue);
	free(db->conns);
	free(db->maps);
	free(db->stmts);
	free(db->appname);
	free(db->last_error);
	if (db->delivering) {
		db->dead = true;	/* db_deliver() frees the struct */
		return;
	}
	free(db);
}

/* db_stmt_index - the statement of a map of this pool, or -1 */
static long
db_stmt_index(const struct db *db, const struct sqlmap *sm)
{
	size_t	 i;

	for (i = 0; i < db->nmaps; i++) {
		if (db->maps[i] == sm)
			break;
	}
	if (i == db->nmaps)
		return -1;
	for (i = 0; i < db->nstmts; i++) {
		if (db->stmts[i].sm->id == sm->id)
			return (long)i;
	}
	return -1;
}

int
db_submit(struct db *db, const struct db_query *queries, size_t n,
    db_done_cb *cb, void *arg, struct db_op **op_r)
{
	struct db_op *op;
	size_t	 i, j, bytes = 0, len;
	long	 s;
	char	*p;

	if (op_r != NULL)
		*op_r = NULL;
	if (db == NULL || cb == NULL || n == 0 || n > DB_QUERIES_MAX ||
	    db->nqueue >= DB_QUEUE_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		if (queries[i].sm == NULL ||
		    queries[i].nparams != queries[i].sm->nparams ||
		    queries[i].nparams > SQLMAP_PARAMS_MAX ||
		    db_stmt_index(db, queries[i].sm) < 0)
			return -1;
		for (j = 0; j < queries[i].nparams; j++) {
			if (queries[i].params[j] != NULL)
				bytes += strlen(queries[i].params[j]) + 1;
		}
	}
	op = op_new(db, DB_OP_BATCH, n);
	op->cb = cb;
	op->arg = arg;
	op->res = xcalloc(n, sizeof(op->res[0]));
	op->strings = p = xmalloc(bytes > 0 ? bytes : 1);
	for (i = 0; i < n; i++) {
		s = db_stmt_index(db, queries[i].sm);
		op->q[i].stmt = (size_t)s;
		op->q[i].nparams = queries[i].nparams;
		for (j = 0; j < queries[i].nparams; j++) {
			if (queries[i].params[j] == NULL) {
				op->q[i].params[j] = NULL;	/* SQL NULL */
				continue;
			}
			len = strlen(queries[i].params[j]) + 1;
			memcpy(p, queries[i].params[j], len);
			op->q[i].params[j] = p;
			p += len;
		}
	}
	op->state = DB_OP_QUEUED;
	op->t_us = clock_mono_us();
	TAILQ_INSERT_TAIL(&db->queue, op, link);
	db->nqueue++;
	if (op_r != NULL)
		*op_r = op;
	db_dispatch(db);
	return 0;
}

void
db_cancel(struct db_op *op)
{
	struct db *db;

	if (op == NULL)
		return;
	db = op->db;
	switch (op->state) {
	case DB_OP_QUEUED:
		TAILQ_REMOVE(&db->queue, op, link);
		db->nqueue--;
		op_free(op);
		break;
	case DB_OP_SENT:
		/* the results still come and are dropped: keeps the FIFO */
		op->cb = NULL;
		break;
	case DB_OP_DONE:
		TAILQ_REMOVE(&db->done, op, link);
		op_free(op);
		break;
	case DB_OP_DELIVERING:
		break;		/* its callback is running: too late */
	}
}

const char *
db_state(struct db *db, char *buf, size_t size)
{
	unsigned i, up = 0;
	size_t	 down = pgconn_ndown(db->pc), nhosts = pgconn_nhosts(db->pc);

	if (size == 0)
		return buf;
	for (i = 0; i < db->nconns; i++) {
		if (db->conns[i].state == DB_CONN_READY)
			up++;
	}
	if (down > 0)
		snprintf(buf, size, "%u/%u connections up, %zu/%zu hosts "
		    "down", up, db->nconns, down, nhosts);
	else
		snprintf(buf, size, "%u/%u connections up", up, db->nconns);
	return buf;
}
