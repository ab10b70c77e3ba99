#ifndef VRCPT_CACHE_H
#define VRCPT_CACHE_H
/*
 * cache - the cache of a vrcptd process, one object that the server
 * owns and hands to each worker's resolver: the in-process tier
 * (sharded, locked), the invalidation listeners (store/notify, one per
 * database server) that keep both tiers right, and the two facts every
 * lookup must respect:
 *
 *   trusted   every listener is LISTENing and has flushed what it may
 *             have missed. While not, a cached answer is never taken as
 *             fresh: the database is asked, and cached answers are used
 *             only when it cannot answer (stale-on-error).
 *   seq       a counter bumped by every invalidation. An answer that was
 *             fetched (from the database or Redis) while seq moved may
 *             predate the change and is not cached (checked under the
 *             shard lock, so a fill never lands after the invalidation
 *             that should have removed it).
 *
 * Invalidation (a NOTIFY message, see core/cachefmt.h) drops keys from
 * the in-process tier of every namespace this process has used, and in
 * Redis writes tombstones ("a:"), a new domain epoch ("d:") or a new
 * global epoch ("all", and after every listener (re)connect). A Redis
 * invalidation that fails marks Redis "dirty": nobody reads or writes it
 * until a new global epoch has been set (retried every second).
 *
 * With "cache = redis-sentinel:..." one Sentinel watcher (store/sentinel)
 * per set of listeners finds the master; the listeners' and the workers'
 * Redis clients follow it, and each new master is flushed before the
 * workers read or fill it (a failover may have lost invalidations).
 *
 * Standbys: an answer read from a standby that has not yet replayed a
 * change must not be kept, or the old answer would outlive the
 * invalidation that dropped it. Each listener keeps the replay fences
 * of its server's messages (core/fence.h, with the primary's WAL
 * positions from store/notify), and cache_replayed() tells whether a
 * standby's answer may be kept.
 *
 * What is left: between a COMMIT and the arrival of its notification
 * (well under a millisecond on one host) an RCPT may still be answered
 * from before; tests/integration/cache.sh creates and deletes mailboxes
 * and asks right after the COMMIT, on two instances sharing one Redis.
 *
 * Threads: cache_new/reload/free from the main thread (server.c);
 * everything else from any thread.
 */
#include <stdbool.h>
#include <stdint.h>

#include "core/cachefmt.h"
#include "core/fact.h"
#include "core/fence.h"
#include "core/sqlmap.h"

struct cache;
struct conf;
struct sentinel;

#define CACHE_SHARDS		64	/* in-process tier locks */
#define CACHE_SHARD_SHIFT	48	/* the shard: these bits of the hash */
#define CACHE_NS_MAX		256	/* namespaces remembered (reloads) */
#define CACHE_SYNC_TIMEOUT_MS	250	/* a Redis invalidation call */
/* invalidation storms (anyone who may NOTIFY can send them): a domain
 * invalidation walks the in-process tier, so at most this many a second;
 * beyond, each is taken as a flush of everything (O(1), and always
 * safe: more is dropped, never less). Redis gets at most one new global
 * epoch per CACHE_FLUSH_INTERVAL_MS; in between it is not used. */
#define CACHE_DOMAIN_WALKS_PER_S	20
#define CACHE_FLUSH_INTERVAL_MS		1000
#define CACHE_APPNAME_SUFFIX	"-listen"	/* application_name of the
						 * LISTEN connection */

enum cache_state {
	CACHE_MISS,
	CACHE_FRESH,		/* within its TTL (trust not applied) */
	CACHE_STALE		/* past its TTL, within cache_stale_ttl */
};

/* a fact the in-process tier holds (no value: the decision needs only
 * found or not found; traces read values from the database) */
struct cache_hit {
	enum fact_result result;
	uint64_t stored_ms;
};

/* cache_new - size the in-process tier and start the listeners (each
 * set of listeners keeps a reference to its cfg) */
struct cache *cache_new(struct conf *cfg);
/* cache_reload - new limits, new namespaces; new listeners only when the
 * database servers or the Redis settings changed */
void	cache_reload(struct cache *c, struct conf *cfg);
/* cache_free - stop the listeners, log the counters, free */
void	cache_free(struct cache **cp);

bool	cache_trusted(const struct cache *c);
/* cache_size - entries and bytes of the in-process tier now */
void	cache_size(struct cache *c, size_t *entries_r, size_t *bytes_r);
uint64_t cache_seq(const struct cache *c);
bool	cache_local_on(const struct cache *c);
bool	cache_redis_dirty(const struct cache *c);

/*
 * cache_local_get - the in-process answer for (ns, key) at now_ms (wall
 * clock). FRESH/STALE fill *hit_r.
 */
enum cache_state cache_local_get(struct cache *c, const char *ns,
	    const char *key, uint64_t now_ms, struct cache_hit *hit_r);
/*
 * cache_local_put - remember an answer stored at stored_ms (ages from
 * Redis are kept), unless seq moved since seq0 (see above). Returns
 * true if stored.
 */
bool	cache_local_put(struct cache *c, const char *ns, const char *key,
	    uint64_t seq0, enum fact_result result, uint64_t stored_ms,
	    const struct cachefmt_ttl *ttl, uint64_t now_ms);

/*
 * cache_decision_get - the decision for recipient rcpt[0..rlen) in the
 * decision namespace dns (core/cachefmt: cachefmt_dns), if one is fresh:
 * *packed_r is what cache_decision_put() stored. Trust is the caller's.
 * cache_decision_put - remember one, fresh until fresh_until_ms (the
 * earliest end of the facts it rests on), unless seq moved since seq0.
 * Its domain is the part of rcpt after the last '@': "d:" and "a:" of
 * "@domain" or "domain" drop it, "a:" of rcpt itself too.
 */
bool	cache_decision_get(struct cache *c, const char *dns,
	    const char *rcpt, size_t rlen, uint64_t now_ms,
	    uint32_t *packed_r);
bool	cache_decision_put(struct cache *c, const char *dns,
	    const char *rcpt, size_t rlen, uint64_t seq0, uint32_t packed,
	    uint64_t stored_ms, uint64_t fresh_until_ms, uint64_t now_ms);

/*
 * cache_sentinel - the Sentinel watcher of cfg's Redis settings (a
 * reference: sentinel_unref it), or NULL when there is none for them
 * (not redis-sentinel:, or a reload has replaced them meanwhile).
 */
struct sentinel *cache_sentinel(struct cache *c, const struct conf *cfg);

/*
 * cache_replayed - may an answer for lookup key, read from a standby of
 * the database server conn that had replayed the primary's WAL up to
 * replay_lsn (0: unknown), be kept: has it passed the fences of every
 * change this process was notified of for that key (core/fence:
 * fence_check)? UNKNOWN when no listener of that server has been up;
 * PASSED when no tier is on (nothing is kept).
 */
enum fence_state cache_replayed(struct cache *c,
	    const struct sqlmap_conn *conn, const char *key,
	    uint64_t replay_lsn);

/*
 * cache_invalidate_local - apply an invalidation message to the
 * in-process tier only (bumps seq). For the listeners; returns -1 for a
 * message that is not ours (then everything was dropped). A flush of
 * everything costs O(1): what was stored before it is kept, but only as
 * stale (used while the database cannot answer), as after a LISTEN
 * reconnect.
 */
int	cache_invalidate_local(struct cache *c, const char *payload);

#endif
