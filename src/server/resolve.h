#ifndef VRCPT_RESOLVE_H
#define VRCPT_RESOLVE_H
/*
 * resolve - the facts for a list of (map, key) lookups, from the
 * cheapest place that can give them right: the in-process tier, then
 * Redis (one pipelined read per request, within redis_timeout), then
 * PostgreSQL (one pipelined batch per database), with single flight
 * (a key already being queried is waited for, not queried again).
 * Answers from the database fill both tiers (FOUND and NOT_FOUND, never
 * a failure); answers from Redis fill the in-process tier. An answer
 * from a standby that has not replayed a change this process was
 * notified of (server/cache.h: cache_replayed) is asked again every
 * RESOLVE_REPLAY_POLL_MS for up to db_replay_wait, then used but not
 * cached.
 *
 * When the database cannot answer a lookup, a cached answer past its
 * TTL but within cache_stale_ttl is used instead (reported stale); with
 * none, the lookup is UNAVAILABLE and the engine applies
 * lookup_failure_action.
 *
 * One resolver per configuration generation and worker thread (struct
 * gen): it borrows the generation's configuration and db pools.
 *
 * Contract: resolve_start() returns 0 when every lookup was answered at
 * once (the fact callback ran for each; done never runs), or 1: the
 * fact callback runs for each lookup as it is answered and done runs
 * exactly once after the last, from the event loop, never from inside
 * resolve_start(), unless resolve_cancel()/resolve_abandon() comes
 * first. Fact callbacks must not free anything; done may free
 * everything, the resolver included.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/engine.h"

struct cache;
struct conf;
struct db;
struct event_base;
struct resolver;
struct resolve_req;

#define RESOLVE_BATCHES_MAX	16	/* database batches of one round */
#define RESOLVE_REPLAY_POLL_MS	20	/* a standby behind: ask again */

/* one answered lookup; strings valid during the callback only */
struct resolve_fact {
	const struct map *map;
	const char *key;
	enum fact_result result;
	enum fact_source source;	/* DB, CACHE_LOCAL, CACHE_REDIS, PURE */
	const char *value;		/* FOUND: the value (maybe cut) */
	const char *why;		/* UNAVAILABLE: the reason */
	bool	 stale;			/* a cached answer used because the
					 * database could not answer */
	bool	 behind;		/* DB: from a standby that had not
					 * replayed a change this process was
					 * notified of (db_replay_wait ran
					 * out): used, not cached */
	uint64_t age_ms;		/* cached answers: their age */
};

typedef void resolve_fact_cb(void *arg, const struct resolve_fact *f);
typedef void resolve_done_cb(void *arg);

/*
 * resolver_new - for cfg, the process's cache and the generation's pools
 * (all borrowed): dbs[db_of_sqlmap[sqlmap id]] serves a pgsql map.
 * Connects to Redis when cfg->cache says so.
 */
struct resolver *resolver_new(struct event_base *base,
	    const struct conf *cfg, struct cache *cache,
	    struct db *const *dbs, const unsigned *db_of_sqlmap,
	    size_t nsqlmaps);
/* resolver_free - before the pools: cancels its batches. No request may
 * be running on it. */
void	resolver_free(struct resolver **rvp);

/*
 * resolve_start - answer lks[0..n-1] (pgsql maps only; keys borrowed
 * until done or cancel). *rq_r is set when 1 is returned.
 */
int	resolve_start(struct resolver *rv, const struct lookup *lks, size_t n,
	    resolve_fact_cb *fact, resolve_done_cb *done, void *arg,
	    struct resolve_req **rq_r);
/* resolve_cancel - forget rq: no callback runs any more */
void	resolve_cancel(struct resolve_req *rq);
/*
 * resolve_abandon - out of time: every lookup of rq not answered yet is
 * answered now with a cached answer (fresh or stale) if there is one,
 * else UNAVAILABLE (why); then rq is gone and done never runs.
 */
void	resolve_abandon(struct resolve_req *rq, const char *why);
/*
 * resolve_fallback - no time for I/O: answer lks from the in-process
 * tier (fresh, or stale when it cannot be trusted) or UNAVAILABLE (why),
 * at once.
 */
void	resolve_fallback(struct resolver *rv, const struct lookup *lks,
	    size_t n, resolve_fact_cb *fact, void *arg, const char *why);

#endif
