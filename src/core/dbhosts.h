#ifndef VRCPT_DBHOSTS_H
#define VRCPT_DBHOSTS_H
/*
 * dbhosts - which host of a pgsql: map's "hosts =" to try next, and how
 * long to wait before trying again: the pure part of store/pgconn.
 *
 * The order is Postfix's (dict_pgsql.c: dict_pgsql_get_active(),
 * dict_pgsql_find_host()): unix sockets first, then TCP hosts, then
 * connection URIs; within each kind a random one, then a random one of
 * those left, and so on; a host whose connect failed is skipped for
 * retry_interval (dict_pgsql.c: plpgsql_down_host()). Where every host
 * is being skipped, Postfix gives up at once; dbhosts_order() then
 * still names the host whose retry_interval ends first, which callers
 * try once (the pool's reconnect backoff paces it), so that a database
 * that comes back is found without waiting out retry_interval.
 *
 * dict_pgsql_get_active() first reuses an open connection
 * (STATACTIVE); here a connection that is up is simply used by its
 * owner, so the order is only asked for when a new one is made. A
 * connection lost after it was up does not put its host on the skip
 * list (dict_pgsql.c: plpgsql_query() would): only a failed connect
 * does, so one server restart does not send every reconnect to the
 * other hosts for retry_interval.
 *
 * Where reads go (db_read_target, beyond Postfix): "any" is Postfix's
 * order above, standbys used like any host; "prefer-standby" and
 * "primary" keep that order within each role and put the hosts of the
 * wanted role first, those not known yet next, the others last. A
 * host's role is what it was found to be when last connected to
 * (dbhosts_set_role: PostgreSQL's in_hot_standby, or
 * pg_is_in_recovery()); roles change with failovers, so they are hints
 * for the order, and the connection itself is checked (store/pgconn,
 * store/db).
 *
 * The backoff paces reconnects of one connection (never in step with
 * other clients: util/rand backoff_next jitter): after a connect that
 * found no host, after a connection that broke soon after it came up;
 * a connection that had been up DBHOSTS_STABLE_MS reconnects at once.
 * A wait ends early when a host of the pool came up meanwhile on another
 * connection (dbhosts_wait_next): the pools of one process (one per
 * worker) reconnect on their own backoffs, and without that one worker
 * could answer 4xx for up to DBHOSTS_BACKOFF_MAX_MS after another had
 * its connection back.
 *
 * Not thread-safe: one struct per owner. Depends on: util/,
 * core/sqlmap.h (types). No I/O; the caller passes the clock and the
 * random numbers in.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sqlmap.h"

#define DBHOSTS_MAX		SQLMAP_HOSTS_MAX
#define DBHOSTS_BACKOFF_MIN_MS	100	/* first reconnect delay */
#define DBHOSTS_BACKOFF_MAX_MS	5000	/* reconnect delay cap */
#define DBHOSTS_STABLE_MS	10000	/* up this long: lost, reconnect
					 * at once */
#define DBHOSTS_WAIT_POLL_MS	100	/* a waiting connection looks this
					 * often whether a host came up */

/* how a host is reached; Postfix prefers them in this order */
enum dbhosts_kind {
	DBHOSTS_UNIX,
	DBHOSTS_INET,
	DBHOSTS_URI
};

/* where reads go: db_read_target */
enum dbhosts_target {
	DBHOSTS_TARGET_ANY,		/* Postfix's order, any host */
	DBHOSTS_TARGET_PREFER_STANDBY,	/* a standby when one is up */
	DBHOSTS_TARGET_PRIMARY		/* the primary only */
};

/* what a host was when last connected to */
enum dbhosts_role {
	DBHOSTS_ROLE_UNKNOWN,
	DBHOSTS_ROLE_PRIMARY,
	DBHOSTS_ROLE_STANDBY
};

struct dbhosts_host {
	enum dbhosts_kind kind;
	enum dbhosts_role role;
	uint64_t retry_us;	/* failed: skipped before this; 0: never
				 * failed, or up since */
	bool	 down;		/* the last attempt failed ... */
	char	*why;		/* ... for this reason */
};

struct dbhosts {
	struct dbhosts_host v[DBHOSTS_MAX];
	size_t	 n;		/* >= 1 */
	uint64_t retry_interval_us;
	enum dbhosts_target target;	/* ANY unless set */
};

/* a random number for the order: rand_fast(), or a test's table */
typedef uint64_t dbhosts_rand_fn(void *arg);

/*
 * dbhosts_kind - what a "hosts" entry is, as dict_pgsql.c: host_init()
 * decides it: "postgresql:..." a URI; after an optional "unix:" or
 * "inet:", empty or "/..." a unix socket directory; anything else TCP.
 * NULL (no "hosts =") is Postfix's default "localhost": TCP.
 */
enum dbhosts_kind dbhosts_kind(const char *spec);

/*
 * dbhosts_init - the hosts of conn (all untried), retry_interval from
 * it; no "hosts =" is one TCP host (localhost). Free the reasons with
 * dbhosts_clear().
 */
void	dbhosts_init(struct dbhosts *dh, const struct sqlmap_conn *conn);
void	dbhosts_clear(struct dbhosts *dh);

/*
 * dbhosts_order - every host index into order[0..dh->n-1], in the order
 * to try them at now_us: those not being skipped, Postfix's way (kind,
 * then random: one call of rnd per choice among two or more hosts,
 * choosing the (rnd % count)-th remaining host in written order), then
 * the skipped ones, the soonest retry first (ties: written order).
 * With a target other than ANY, the hosts not skipped are then sorted
 * by role (stable: Postfix's order within a role): the wanted role,
 * unknown, the other. Returns how many to try now: the hosts not
 * skipped, or 1 when all are (order[0], the one skipped longest).
 */
size_t	dbhosts_order(const struct dbhosts *dh, uint64_t now_us,
	    dbhosts_rand_fn *rnd, void *arg, size_t order[DBHOSTS_MAX]);

/* dbhosts_skipped - host i failed less than retry_interval ago */
bool	dbhosts_skipped(const struct dbhosts *dh, size_t i, uint64_t now_us);

/*
 * dbhosts_failed - connecting to host i (or using it: a standby where
 * the primary is needed) failed at now_us for why (copied): skip it for
 * retry_interval. Returns true when that is news worth a log line: the
 * host was not down, or was down for another reason.
 */
bool	dbhosts_failed(struct dbhosts *dh, size_t i, const char *why,
	    uint64_t now_us);

/*
 * dbhosts_up - a connection to host i is up: it is tried like an
 * untried host again. Returns true when it was down (worth a log line).
 */
bool	dbhosts_up(struct dbhosts *dh, size_t i);

/* dbhosts_ndown - hosts whose last attempt failed */
size_t	dbhosts_ndown(const struct dbhosts *dh);

/* dbhosts_set_role - host i was found to be a primary or a standby */
void	dbhosts_set_role(struct dbhosts *dh, size_t i, enum dbhosts_role r);

/*
 * dbhosts_fits - a connection to host i, whose role is its last one,
 * may serve reads for dh->target at now_us: always for ANY; for
 * PRIMARY, unless it is a standby; for PREFER_STANDBY, unless it is a
 * primary while another host not being skipped is, or may be, a
 * standby (then the caller leaves it for that one).
 */
bool	dbhosts_fits(const struct dbhosts *dh, size_t i, uint64_t now_us);

/* dbhosts_target_name - "any", "prefer-standby", "primary" */
const char *dbhosts_target_name(enum dbhosts_target t);

/* the reconnect pacing of one connection */
struct dbhosts_backoff {
	unsigned cur_ms;	/* backoff_next() state; 0: none */
	uint64_t up_us;		/* connected at */
};

/* dbhosts_backoff_failed - no host could be used: ms to wait */
unsigned dbhosts_backoff_failed(struct dbhosts_backoff *b);
/* dbhosts_backoff_up - the connection came up at now_us */
void	dbhosts_backoff_up(struct dbhosts_backoff *b, uint64_t now_us);
/*
 * dbhosts_backoff_lost - the connection broke at now_us: 0 (reconnect
 * at once, the backoff starts over) when it had been up
 * DBHOSTS_STABLE_MS, else ms to wait, growing.
 */
unsigned dbhosts_backoff_lost(struct dbhosts_backoff *b, uint64_t now_us);
/*
 * dbhosts_wait_next - a connection waits out its backoff until until_us;
 * at now_us, with up_then and up_now the count of connections that came
 * up to its pool's hosts (anywhere in the process) when it began to wait
 * and now: 0 to connect now (the wait is over, or a host came up), else
 * the microseconds to sleep before it looks again, at most
 * DBHOSTS_WAIT_POLL_MS.
 */
uint64_t dbhosts_wait_next(uint64_t now_us, uint64_t until_us,
	    unsigned up_then, unsigned up_now);

#endif
