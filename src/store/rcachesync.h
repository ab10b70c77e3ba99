#ifndef VRCPT_RCACHESYNC_H
#define VRCPT_RCACHESYNC_H
/*
 * rcachesync - blocking Redis calls with timeouts, for the few places
 * that may block: the invalidation listener's own thread (store/notify
 * callers in server/cache.c) and vrcptctl. Each call connects when
 * needed (AUTH, SELECT), and on any error drops the connection so that
 * the next call starts afresh.
 *
 * The operations are the cache's invalidations (see core/cachefmt.h for
 * the layout): tombstones for keys, a new random epoch for a domain or
 * for everything, and reads for vrcptctl query.
 *
 * With Redis Sentinel (opts->sentinel) each call goes to the master
 * published (store/sentinel.h): a connection to an earlier one is
 * dropped first, a new one checks ROLE, and a failure (the connection,
 * a replica, READONLY) makes the watcher ask again.
 */
#include <stddef.h>
#include <stdint.h>

#include "core/cachefmt.h"

struct rcachesync;

#define RCACHESYNC_KEYS_MAX	256	/* keys in one call */

struct endpoint;
struct sentinel;

struct rcachesync_opts {
	const struct endpoint *endpoint;	/* as rcache_opts, or */
	struct sentinel *sentinel;	/* (a reference is taken) */
	const char *password;
	unsigned db;
	unsigned timeout_ms;	/* connect, and each call */
};

/* one read value with its remaining life (-1: none, -2: no key) */
struct rcachesync_val {
	char	*s;		/* NULL: no such key; fresh */
	size_t	 len;
	long long pttl_ms;
};

struct rcachesync *rcachesync_new(const struct rcachesync_opts *opts);
void	rcachesync_free(struct rcachesync **rsp);

/*
 * rcachesync_tombstone - SET each key to a tombstone ("T|<now_ms>") for
 * px_ms. Returns 0, or -1 and *error_r (owned by rs, valid until the
 * next call on it).
 */
int	rcachesync_tombstone(struct rcachesync *rs, const char *const *keys,
	    const size_t *klens, size_t n, uint64_t now_ms, uint64_t px_ms,
	    const char **error_r);
/*
 * rcachesync_new_epoch - SET key to a new random number (expiring after
 * CACHEFMT_EPOCH_TTL_MS unless fills push it out):
 * every record tagged with the old one is gone. *epoch_r (may be NULL)
 * is the new value.
 */
int	rcachesync_new_epoch(struct rcachesync *rs, const char *key,
	    uint64_t *epoch_r, const char **error_r);
/*
 * rcachesync_invalidate - apply one invalidation message (core/cachefmt.h)
 * to Redis, as every vrcptd and vrcptctl do: "a:KEY" tombstones KEY's
 * record in each namespace of ns[0..nns) for CACHEFMT_TOMBSTONE_MS,
 * "d:DOMAIN" gives the domain a new epoch, "all" (and a message that is
 * not ours) a new global epoch. Returns 0, or -1 and *error_r.
 */
int	rcachesync_invalidate(struct rcachesync *rs, const char *payload,
	    const char (*ns)[CACHEFMT_NS_LEN + 1], size_t nns,
	    uint64_t now_ms, const char **error_r);
/*
 * rcachesync_get - GET and PTTL of keys[0..n-1] into vals[0..n-1]
 * (free each .s). Returns 0 or -1.
 */
int	rcachesync_get(struct rcachesync *rs, const char *const *keys,
	    const size_t *klens, size_t n, struct rcachesync_val *vals,
	    const char **error_r);

#endif
