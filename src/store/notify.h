#ifndef VRCPT_NOTIFY_H
#define VRCPT_NOTIFY_H
/*
 * notify - the invalidation channel: PostgreSQL LISTEN/NOTIFY on
 * "vrcpt_invalidate" (core/cachefmt.h says what the messages mean).
 *
 * notify_start() runs a thread with one dedicated connection to the
 * server of a pgsql: map (the primary: a standby cannot LISTEN; hosts
 * are tried in the pools' order, Postfix dict_pgsql.c's, and a standby
 * is skipped for retry_interval like a host that failed). It calls
 * hooks->message for every notification, in commit order, and
 * hooks->up once "LISTEN vrcpt_invalidate" is in effect AND the
 * database has vrcpt_* triggers (policy/triggers-*.sql; counted again
 * with every keep-alive query): without them nothing would ever be
 * notified. It calls hooks->down when either stops being true: the
 * connection is lost (an error, the server gone, or no answer to the
 * keep-alive query within NOTIFY_PING_TIMEOUT_MS; then it reconnects,
 * at once or with backoff as the pools do) or the triggers are gone.
 * Everything committed while down was missed, which is why the caller
 * flushes in hooks->up. The keep-alive also notes the server backend it
 * ran in: when that changes on one connection, a connection pooler in
 * transaction mode shares server sessions and notifications cannot
 * arrive; that is logged and the listener stays down until restarted.
 * hooks->tick runs about once a second whatever the state. All hooks
 * run on the listener thread.
 *
 * WAL positions, for the caches of answers read from standbys
 * (core/fence.h): every keep-alive query also asks the primary for its
 * WAL insert position, and one is sent at once after notifications
 * arrive. Each batch of notifications taken from the connection gets a
 * tag (1, 2, ...: the order they were handed over); hooks->settled(tag,
 * lsn) says that every notification of that tag or an earlier one was
 * committed at or before lsn (the query was sent after they had
 * arrived, so the primary had written their commit records). hooks->up
 * gets the position of the first keep-alive on a new connection and
 * that keep-alive's tag: everything committed before LISTEN took
 * effect, which may have been missed, and every notification of that
 * tag or an earlier one, is at or before it; a notification that came
 * after the keep-alive was sent (a higher tag) is not.
 *
 * notify_send() is the other end, for vrcptctl flush: a blocking
 * "SELECT pg_notify('vrcpt_invalidate', payload)" on the first host, in
 * the same order, that takes it.
 */
#include <stdint.h>

#include "core/sqlmap.h"

struct notify;

#define NOTIFY_CONNECT_TIMEOUT_MS	2000
#define NOTIFY_QUERY_TIMEOUT_MS		2000	/* LISTEN and the checks */
#define NOTIFY_PING_INTERVAL_MS		5000	/* keep-alive query (counts the
						 * triggers) */
#define NOTIFY_PING_TIMEOUT_MS		3000
#define NOTIFY_TICK_MS			1000

struct notify_hooks {
	void	(*up)(void *arg, uint64_t tag, uint64_t lsn);
	void	(*down)(void *arg);
	void	(*message)(void *arg, const char *payload, uint64_t tag);
	void	(*settled)(void *arg, uint64_t tag, uint64_t lsn);	/* or
									 * NULL */
	void	(*tick)(void *arg);	/* or NULL */
	void	*arg;
};

/*
 * notify_start - start listening on the server of conn (borrowed: it
 * must outlive notify_stop). appname is the application_name shown in
 * pg_stat_activity. Never fails but fatally (thread creation).
 */
struct notify *notify_start(const struct sqlmap_conn *conn,
	    const char *appname, const struct notify_hooks *hooks);
/* notify_stop - stop the thread (no hook runs after) and free */
void	notify_stop(struct notify **np);

/*
 * notify_send - send one invalidation message to the server of conn.
 * timeout_ms bounds each host's connect and the query on it. Returns 0,
 * or -1 and *error_r (fresh, caller frees: the last host's failure).
 */
int	notify_send(const struct sqlmap_conn *conn, const char *payload,
	    unsigned timeout_ms, char **error_r);

#endif
