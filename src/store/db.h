#ifndef VRCPT_DB_H
#define VRCPT_DB_H
/*
 * db - PostgreSQL through non-blocking libpq on a libevent loop.
 *
 * A struct db is a pool of connections to one server identity (the
 * hosts/user/password/dbname of one or more pgsql: map files) owned by
 * one event loop (one worker thread). Connections are made
 * asynchronously (store/pgconn's connect steps, our own connect
 * timeout), use client_encoding UTF8, prepare every statement of the
 * pool once after connecting, and run in pipeline mode: the queries of
 * one request are sent together with one sync point, so a request costs
 * one round trip. Hosts are tried in Postfix dict_pgsql's order (unix
 * sockets, then TCP, then URIs, random within each kind); a host that
 * failed to connect is skipped for retry_interval while another one is
 * not; a connection that fails is reconnected with backoff. The read
 * target (db_read_target) puts standbys or the primary first, and every
 * batch says whether a standby answered it, and how far that standby
 * had replayed the primary's WAL when it did (db_result), so that the
 * caller knows whether the answers may predate a change it was told of.
 *
 * Contract: db_submit() returns -1 when the request cannot be queued (the
 * callback will never run), or 0 and then the callback runs exactly once,
 * later, from the event loop (never from inside db_submit), unless
 * db_cancel() is called first. After db_cancel() the callback never runs.
 *
 * This header does not include libpq-fe.h: callers outside src/store
 * need not know about libpq.
 */
#include <stddef.h>
#include <stdint.h>

#include "core/dbhosts.h"
#include "core/sqlmap.h"

struct event_base;
struct db;
struct db_op;

#define DB_QUERIES_MAX		64	/* queries in one submitted batch */
#define DB_QUEUE_MAX		4096	/* batches waiting for a connection */
#define DB_CONNECT_TIMEOUT_MS	2000

/* one query of a batch: a statement of the pool and its parameters */
struct db_query {
	const struct sqlmap *sm;	/* must be one of the pool's maps */
	const char *params[SQLMAP_PARAMS_MAX];	/* borrowed until submit
						 * returns (copied) */
	size_t	 nparams;
};

enum db_status {
	DB_OK,
	DB_ERROR		/* connection or query failed; see error */
};

/* the result of one query: all columns of all rows, row-major */
struct db_result {
	enum db_status status;
	const char *error;	/* DB_ERROR: one-line reason */
	const char *const *vals;	/* NULL entries are SQL NULLs */
	size_t	 nvals;
	bool	 standby;	/* DB_OK: answered by a standby (a server
				 * in recovery), or by a server whose role
				 * could not be told */
	uint64_t replay_lsn;	/* standby: the primary's WAL it had
				 * replayed before the batch ran (all of
				 * it was visible to the queries); 0:
				 * unknown */
};

/* results[i] answers queries[i]; valid only during the callback */
typedef void db_done_cb(void *arg, const struct db_result *results,
    size_t n);

struct db_opts {
	unsigned pool_size;		/* connections, >= 1 */
	const char *application_name;	/* "vrcptd" */
	enum dbhosts_target target;	/* db_read_target */
};

/*
 * db_new - a pool for the maps maps[0..nmaps-1] (all with the same
 * sqlmap_conn; statements are named by sqlmap.id). Connecting starts
 * right away. Never fails: trouble shows as DB_ERROR results.
 */
struct db *db_new(struct event_base *base, const struct sqlmap *const *maps,
	    size_t nmaps, const struct db_opts *opts);
/* db_free - close everything; pending callbacks never run */
void	db_free(struct db **dbp);

/*
 * db_submit - queue a batch. The batch is sent on a ready connection,
 * pipelined. If no connection can be had within the connect timeout, or
 * the server fails, every result is DB_ERROR. *op_r (may be NULL) is a
 * handle for db_cancel(), valid until the callback runs.
 */
int	db_submit(struct db *db, const struct db_query *queries, size_t n,
	    db_done_cb *cb, void *arg, struct db_op **op_r);
/* db_cancel - the callback will not run; the queries may still run */
void	db_cancel(struct db_op *op);

/* db_ready_connections - connections up, all pools of the process
 * (any thread; for /readyz and metrics) */
unsigned db_ready_connections(void);

/* a one-line state for logs and metrics: "2/4 connections up" */
const char *db_state(struct db *db, char *buf, size_t size);

#endif
