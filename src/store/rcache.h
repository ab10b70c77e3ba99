#ifndef VRCPT_RCACHE_H
#define VRCPT_RCACHE_H
/*
 * rcache - the Redis cache tier, through hiredis's async API on a
 * libevent loop (one connection per event loop).
 *
 * Redis is optional by design: it may be down, slow or restarting, and
 * the answer must be the same, only slower. So:
 *   - rcache_mget() never waits for a connection: when none is ready it
 *     returns -1 at once and the caller goes to the database;
 *   - each read has a budget (timeout_ms); when it runs out the caller
 *     is told "no answer" (a miss), and the late reply is dropped;
 *   - a connection that stops answering (its oldest command older than
 *     RCACHE_STALL_MS) is dropped and made again with backoff; a new
 *     connection is "ready" only after its handshake (AUTH, SELECT,
 *     PING) came back, so a Redis that accepts connections but does not
 *     answer is never used;
 *   - writes (fills) are fire-and-forget.
 * hiredis 0.14 has no timeouts and its libevent adapter leaks on some
 * error paths, so the adapter (rcache_ev.c) and all timers are ours.
 *
 * With Redis Sentinel (opts->sentinel, store/sentinel.h) the connection
 * goes to the master published, whose handshake also checks ROLE; it is
 * dropped and made again when the master changes, and reads and fills
 * wait until the new master is flushed (sentinel_usable). A connection
 * that fails, a master that is a replica, a write refused as READONLY:
 * each tells the Sentinel watcher to ask again at once.
 *
 * Contract: rcache_mget() returns -1 (the callback never runs) or 0;
 * then the callback runs exactly once, later, from the event loop, never
 * from inside rcache_mget(), unless rcache_cancel() is called first.
 * After rcache_free() no callback runs.
 *
 * Only rcache.c, rcache_ev.c and rcachesync.c include hiredis.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct rcache;
struct rcache_op;

#define RCACHE_MGET_MAX		512	/* keys in one read */
#define RCACHE_CONNECT_TIMEOUT_MS 1000	/* connect + handshake */
#define RCACHE_STALL_MS		1000	/* oldest reply late this long: the
					 * connection is dropped */
#define RCACHE_BACKOFF_MIN_MS	100
#define RCACHE_BACKOFF_MAX_MS	5000
#define RCACHE_OPS_MAX		4096	/* commands in the air; beyond,
					 * reads are skipped */
#define RCACHE_TICK_MS		100	/* stall and connect checks */

struct endpoint;
struct sentinel;

struct rcache_opts {
	const struct endpoint *endpoint; /* the part after "redis:", or */
	struct sentinel *sentinel;	/* the master found through Sentinel
					 * (rcache takes a reference) */
	const char *password;	/* "" or NULL: no AUTH */
	unsigned db;		/* SELECT when not 0 */
	unsigned timeout_ms;	/* budget of one read */
	const char *label;	/* for log messages, e.g. "redis:unix:/x" */
};

/* one value of a read: s is NULL for a missing key; borrowed */
struct rcache_val {
	const char *s;
	size_t	 len;
};

/*
 * vals[0..n-1] answer the keys in order; vals is NULL when there was no
 * answer in time (timeout, connection lost, error). Valid only during
 * the callback.
 */
typedef void rcache_mget_cb(void *arg, const struct rcache_val *vals,
    size_t n);

/* rcache_new - start connecting at once; never fails */
struct rcache *rcache_new(struct event_base *base,
	    const struct rcache_opts *opts);
/* rcache_free - close; pending callbacks never run */
void	rcache_free(struct rcache **rcp);

/* rcache_ready - a read would be sent now */
bool	rcache_ready(const struct rcache *rc);

/*
 * rcache_mget - read keys[0..n-1] (binary-safe, lengths in klens; n at
 * most RCACHE_MGET_MAX; copied). *op_r (may be NULL) is a handle for
 * rcache_cancel(), valid until the callback runs.
 */
int	rcache_mget(struct rcache *rc, const char *const *keys,
	    const size_t *klens, size_t n, rcache_mget_cb *cb, void *arg,
	    struct rcache_op **op_r);
/* rcache_cancel - the callback will not run */
void	rcache_cancel(struct rcache_op *op);

/*
 * rcache_fill - store a record under key for px_ms milliseconds, unless
 * the key holds a tombstone (it was just invalidated: a query that
 * started before may carry the old answer), and push the expiry of the
 * epoch keys it depends on (dkey, its domain's, and the global one) out
 * to CACHEFMT_EPOCH_TTL_MS. Fire-and-forget; silently skipped when not
 * ready.
 */
void	rcache_fill(struct rcache *rc, const char *key, size_t klen,
	    const char *dkey, size_t dklen, const char *val, size_t vlen,
	    uint64_t px_ms);
/* rcache_set_nx - SET key val NX PX px_ms (a missing epoch) */
void	rcache_set_nx(struct rcache *rc, const char *key, const char *val,
	    uint64_t px_ms);

/* rcache_state - "ready", "connecting", "down" (logs, metrics) */
const char *rcache_state(const struct rcache *rc);

/*
 * rcache_endpoint_split - a unix path (*path_r) or a host and port, as
 * hiredis takes them (fresh, caller frees; the other one NULL).
 */
void	rcache_endpoint_split(const struct endpoint *ep, char **path_r,
	    char **host_r, int *port_r);

#endif
