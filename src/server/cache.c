/*
 * cache - the process-wide part of the cache: the in-process tier, the
 * invalidation listeners, trust and the invalidation sequence. See
 * cache.h.
 *
 * The in-process tier is CACHE_SHARDS core/lru maps, each under its own
 * mutex, chosen by a keyed hash of the key; its keys are
 * "<namespace>:<lookup key>", so that every map definition has its own
 * answers and a reload that changes a map never reads the old ones.
 *
 * Each listener (one per database server of the configuration) owns a
 * blocking Redis handle (store/rcachesync) used only from its thread,
 * and the replay fences of its server (core/fence), which its thread
 * raises and settles and the workers check (cache_replayed), under a
 * mutex of their own. Workers find the listener of a server in the
 * current set under lset_lock (read), which a reload takes (write) to
 * swap the set. With Sentinel, the set of listeners owns the watcher
 * (store/sentinel), which the workers' resolvers borrow through
 * cache_sentinel().
 *
 * Depends on: core/{lru,cachefmt,fence}, store/{notify,rcachesync,sentinel},
 * daemon/config, server/stats, util/, pthreads.
 *
 * Security: invalidation messages may come from anyone allowed to
 * NOTIFY on the database; they can only remove cached answers (cost: a
 * query), never add one. Keys are attacker-chosen recipient parts; the
 * tier is bounded (cache_max_entries, cache_max_bytes) and hashed with
 * random keys.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fence.h"
#include "core/lru.h"
#include "conf/conf.h"
#include "server/cache.h"
#include "server/stats.h"
#include "store/notify.h"
#include "store/rcachesync.h"
#include "store/sentinel.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define CACHE_LKEY_MAX	(CACHEFMT_NS_LEN + 1 + CACHEFMT_KEY_MAX + 1)
#define CACHE_LOG_INTERVAL_MS	(60 * CLOCK_MS_PER_S)	/* storm lines */

struct cache_shard {
	pthread_mutex_t lock;
	struct lru *lru;
};

struct cache_listener {
	struct cache *cache;
	const struct sqlmap_conn *conn;	/* its server (the lset's cfg) */
	struct notify *n;
	struct rcachesync *rs;		/* NULL: no Redis */
	bool	 trusted;		/* listener thread only */
	bool	 warned_redis;
	uint64_t redis_flushed_ms;	/* monotonic: the last new epoch */
	struct log_rate junk_log;	/* unknown messages */
	pthread_mutex_t fence_lock;
	struct fence *fence;		/* under fence_lock */
};

/* the listeners of one configuration (its conns are borrowed from it) */
struct cache_lset {
	struct conf *cfg;		/* a reference */
	struct cache_listener *v;
	size_t	 n;
	struct sentinel *sentinel;	/* redis-sentinel: the watcher */
};

struct cache {
	struct cache_shard shards[CACHE_SHARDS];
	uint64_t seed0, seed1;
	atomic_bool local_on;
	atomic_uint_fast64_t seq;
	atomic_uint_fast64_t fresh_after;	/* wall ms: in-process answers
						 * stored until then are only
						 * stale (listener reconnect) */
	atomic_int untrusted;		/* listeners not (yet) trusted */
	atomic_bool dirty;		/* Redis needs a new global epoch */

	/* domain walks in the current second (invalidation storms) */
	pthread_mutex_t walk_lock;
	uint64_t walk_second;		/* monotonic ms / 1000 */
	unsigned walks;
	struct log_rate storm_log;

	/* the listeners: replaced by the main thread under lset_lock
	 * (write); workers read it (cache_replayed, cache_sentinel) */
	pthread_rwlock_t lset_lock;
	struct cache_lset *lset;

	/* namespaces ever used by this process: of the tables (also in
	 * Redis), and of the decisions (in-process only) */
	pthread_mutex_t ns_lock;
	char	(*ns)[CACHEFMT_NS_LEN + 1];
	size_t	 nns;
	char	(*dns)[CACHEFMT_NS_LEN + 1];
	size_t	 ndns;
};

/*
 * lkey - "<ns>:<key>" into buf, its hash and domain span; false when the
 * key is not cached
 */
static bool
lkey(const struct cache *c, char buf[CACHE_LKEY_MAX], const char *ns,
    const char *key, size_t klen, size_t *len_r, uint64_t *hash_r,
    size_t *dom_off_r, size_t *dom_len_r)
{
	size_t	 off, dlen;

	if (!cachefmt_cacheable(key, klen))
		return false;
	memcpy(buf, ns, CACHEFMT_NS_LEN);
	buf[CACHEFMT_NS_LEN] = ':';
	memcpy(buf + CACHEFMT_NS_LEN + 1, key, klen);
	*len_r = CACHEFMT_NS_LEN + 1 + klen;
	*hash_r = lru_hash(c->seed0, c->seed1, buf, *len_r);
	if (dom_off_r != NULL) {
		cachefmt_key_domain(key, klen, &off, &dlen);
		*dom_off_r = CACHEFMT_NS_LEN + 1 + off;
		*dom_len_r = dlen;
	}
	return true;
}

/* shard_of - the shard of a hash: its top bits (the table uses the low) */
static struct cache_shard *
shard_of(struct cache *c, uint64_t h)
{
	return &c->shards[(h >> CACHE_SHARD_SHIFT) % CACHE_SHARDS];
}

bool
cache_trusted(const struct cache *c)
{
	return atomic_load(&c->untrusted) == 0;
}

uint64_t
cache_seq(const struct cache *c)
{
	return atomic_load(&c->seq);
}

bool
cache_local_on(const struct cache *c)
{
	return atomic_load_explicit(&c->local_on, memory_order_relaxed);
}

bool
cache_redis_dirty(const struct cache *c)
{
	return atomic_load(&c->dirty);
}

/* local_get - one entry of kind; FRESH counts only after fresh_after */
static enum cache_state
local_get(struct cache *c, const char *ns, const char *key, size_t klen,
    enum lru_kind kind, uint64_t now_ms, struct lru_hit *hit,
    struct buf *vbuf)
{
	char	 k[CACHE_LKEY_MAX];
	struct cache_shard *sh;
	enum lru_state st;
	uint64_t h;
	size_t	 len;

	if (!cache_local_on(c) ||
	    !lkey(c, k, ns, key, klen, &len, &h, NULL, NULL))
		return CACHE_MISS;
	sh = shard_of(c, h);
	pthread_mutex_lock(&sh->lock);
	st = lru_get_value(sh->lru, k, len, h, now_ms, hit, vbuf);
	pthread_mutex_unlock(&sh->lock);
	if (st == LRU_MISS || hit->kind != kind)
		return CACHE_MISS;
	if (st == LRU_FRESH && hit->stored_ms >
	    atomic_load_explicit(&c->fresh_after, memory_order_relaxed))
		return CACHE_FRESH;
	return CACHE_STALE;
}

/* local_put - store v under (ns, key) unless seq moved since seq0 */
static bool
local_put(struct cache *c, const char *ns, const char *key, size_t klen,
    uint64_t seq0, struct lru_val *v, uint64_t now_ms)
{
	char	 k[CACHE_LKEY_MAX];
	struct cache_shard *sh;
	uint64_t h;
	size_t	 len;
	bool	 ok = false;

	if (!cache_local_on(c) ||
	    !lkey(c, k, ns, key, klen, &len, &h, &v->dom_off, &v->dom_len))
		return false;
	sh = shard_of(c, h);
	pthread_mutex_lock(&sh->lock);
	/* under the lock: an invalidation bumps seq before it locks */
	if (cache_seq(c) == seq0)
		ok = lru_put(sh->lru, k, len, h, v, now_ms);
	pthread_mutex_unlock(&sh->lock);
	return ok;
}

enum cache_state
cache_local_get(struct cache *c, const char *ns, const char *key,
    uint64_t now_ms, struct cache_hit *hit_r, struct buf *vbuf)
{
	struct lru_hit hit;
	enum cache_state st;

	memset(hit_r, 0, sizeof(*hit_r));
	st = local_get(c, ns, key, strlen(key), LRU_KIND_FACT, now_ms, &hit,
	    vbuf);
	if (st != CACHE_MISS) {
		hit_r->result = (enum fact_result)hit.data;
		hit_r->stored_ms = hit.stored_ms;
		if (hit.has_value && hit_r->result == FACT_FOUND)
			hit_r->value = buf_str(vbuf);
	}
	return st;
}

bool
cache_local_put(struct cache *c, const char *ns, const char *key,
    uint64_t seq0, enum fact_result result, const char *value,
    uint64_t stored_ms, const struct cachefmt_ttl *ttl, uint64_t now_ms)
{
	struct lru_val v;

	if (result == FACT_UNAVAILABLE)
		return false;
	memset(&v, 0, sizeof(v));
	v.kind = LRU_KIND_FACT;
	v.data = (uint32_t)result;
	v.stored_ms = stored_ms;
	v.fresh_until_ms = stored_ms + cachefmt_ttl_of(ttl, result);
	v.stale_until_ms = v.fresh_until_ms + ttl->stale_ms;
	if (result == FACT_FOUND && value != NULL) {
		v.value = value;
		v.vlen = strlen(value);
	}
	return local_put(c, ns, key, strlen(key), seq0, &v, now_ms);
}

bool
cache_decision_get(struct cache *c, const char *dns, const char *rcpt,
    size_t rlen, uint64_t now_ms, uint32_t *packed_r)
{
	struct lru_hit hit;

	if (local_get(c, dns, rcpt, rlen, LRU_KIND_DECISION, now_ms, &hit,
	    NULL) != CACHE_FRESH)
		return false;
	*packed_r = hit.data;
	return true;
}

bool
cache_decision_put(struct cache *c, const char *dns, const char *rcpt,
    size_t rlen, uint64_t seq0, uint32_t packed, uint64_t stored_ms,
    uint64_t fresh_until_ms, uint64_t now_ms)
{
	struct lru_val v;

	memset(&v, 0, sizeof(v));
	v.kind = LRU_KIND_DECISION;
	v.data = packed;
	v.stored_ms = stored_ms;
	v.fresh_until_ms = fresh_until_ms;
	v.stale_until_ms = fresh_until_ms;	/* never used stale */
	return local_put(c, dns, rcpt, rlen, seq0, &v, now_ms);
}

static void
local_clear(struct cache *c)
{
	size_t	 i;

	for (i = 0; i < CACHE_SHARDS; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		lru_clear(c->shards[i].lru);
		pthread_mutex_unlock(&c->shards[i].lock);
	}
}

/* local_del_key - key in every namespace in use, facts and decisions */
static void
local_del_key(struct cache *c, const char *key)
{
	char	 k[CACHE_LKEY_MAX];
	size_t	 i, len;
	uint64_t h;

	pthread_mutex_lock(&c->ns_lock);
	for (i = 0; i < c->nns + c->ndns; i++) {
		struct cache_shard *sh;

		if (!lkey(c, k, i < c->nns ? c->ns[i] : c->dns[i - c->nns],
		    key, strlen(key), &len, &h, NULL, NULL))
			continue;
		sh = shard_of(c, h);
		pthread_mutex_lock(&sh->lock);
		lru_del(sh->lru, k, len, h);
		pthread_mutex_unlock(&sh->lock);
	}
	pthread_mutex_unlock(&c->ns_lock);
}

/* local_del_domain - the entries of kinds in mask with domain dom */
static void
local_del_domain(struct cache *c, const char *dom, size_t dlen,
    unsigned mask)
{
	size_t	 i;

	for (i = 0; i < CACHE_SHARDS; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		lru_del_domain(c->shards[i].lru, dom, dlen, mask);
		pthread_mutex_unlock(&c->shards[i].lock);
	}
}

/* local_flush - everything stored until now is only stale: O(1) */
static void
local_flush(struct cache *c)
{
	uint64_t now = clock_wall_ms(), was;

	stats_add(flushes, 1);
	was = atomic_load(&c->fresh_after);
	while (was < now &&
	    !atomic_compare_exchange_weak(&c->fresh_after, &was, now))
		;
}

/*
 * walk_allowed - may one more domain walk run this second? Beyond
 * CACHE_DOMAIN_WALKS_PER_S the caller flushes instead (said once a
 * minute at most).
 */
static bool
walk_allowed(struct cache *c)
{
	uint64_t now = clock_mono_ms(), sec = now / CLOCK_MS_PER_S;
	unsigned long held;
	bool	 ok;

	pthread_mutex_lock(&c->walk_lock);
	if (sec != c->walk_second) {
		c->walk_second = sec;
		c->walks = 0;
	}
	ok = c->walks < CACHE_DOMAIN_WALKS_PER_S;
	if (ok)
		c->walks++;
	pthread_mutex_unlock(&c->walk_lock);
	if (!ok && log_rate_ok(&c->storm_log, now, CACHE_LOG_INTERVAL_MS, &held))
		msg_warn("cache: more than %d domain invalidations a second: "
		    "flushing everything instead (%lu more like this not "
		    "logged; who sends NOTIFY %s? see SECURITY.md)",
		    CACHE_DOMAIN_WALKS_PER_S, held, CACHEFMT_CHANNEL);
	return ok;
}

/* local_del_domain_bounded - a domain walk, or a flush in a storm */
static void
local_del_domain_bounded(struct cache *c, const char *dom, size_t dlen,
    unsigned mask)
{
	if (walk_allowed(c))
		local_del_domain(c, dom, dlen, mask);
	else
		local_flush(c);
}

int
cache_invalidate_local(struct cache *c, const char *payload)
{
	enum cachefmt_inval kind;
	const char *arg;
	size_t	 doff, dlen;
	int	 rc = 0;

	atomic_fetch_add(&c->seq, 1);
	stats_add(invalidations, 1);
	if (cachefmt_inval_parse(payload, &kind, &arg) < 0) {
		kind = CACHEFMT_INVAL_ALL;
		rc = -1;
	}
	switch (kind) {
	case CACHEFMT_INVAL_KEY:
		local_del_key(c, arg);
		/*
		 * "@domain" and "domain" (no local part): every decision of
		 * the domain used that key; the facts of its other keys stay
		 */
		if (arg[0] == '@' || strchr(arg, '@') == NULL) {
			cachefmt_key_domain(arg, strlen(arg), &doff, &dlen);
			local_del_domain_bounded(c, arg + doff, dlen,
			    LRU_KIND_DECISION);
		}
		break;
	case CACHEFMT_INVAL_DOMAIN:
		local_del_domain_bounded(c, arg, strlen(arg),
		    LRU_KIND_FACT | LRU_KIND_DECISION);
		break;
	case CACHEFMT_INVAL_ALL:
		local_flush(c);
		break;
	}
	return rc;
}

/*
 * Listener hooks (listener threads).
 */

static void
redis_failed(struct cache_listener *l, const char *what, const char *why)
{
	atomic_store(&l->cache->dirty, true);
	if (!l->warned_redis)
		msg_warn("cache: Redis %s failed: %s; Redis is not used until "
		    "it can be flushed", what, why);
	l->warned_redis = true;
}

/* redis_flush_all - a new global epoch: every Redis answer is gone */
static bool
redis_flush_all(struct cache_listener *l)
{
	const char *err;

	if (l->rs == NULL)
		return true;
	if (rcachesync_new_epoch(l->rs, CACHEFMT_RKEY_EPOCH, NULL, &err) < 0) {
		redis_failed(l, "flush", err);
		return false;
	}
	return true;
}

/* redis_flushes_all - payload means "flush everything" (junk does too) */
static bool
redis_flushes_all(const char *payload)
{
	enum cachefmt_inval kind;
	const char *arg;

	return cachefmt_inval_parse(payload, &kind, &arg) < 0 ||
	    kind == CACHEFMT_INVAL_ALL;
}

/* redis_invalidate - the message for Redis, in every namespace in use */
static void
redis_invalidate(struct cache_listener *l, const char *payload)
{
	struct cache *c = l->cache;
	const char *err;
	int	 rc;

	/* dirty: it gets a new epoch anyway (l_tick); meanwhile do not
	 * make every message wait for a Redis that does not answer */
	if (l->rs == NULL || atomic_load(&c->dirty))
		return;
	if (redis_flushes_all(payload)) {
		uint64_t now = clock_mono_ms();

		/* a storm of flushes: Redis is not used until l_tick gives
		 * it one new epoch for all of them */
		if (l->redis_flushed_ms != 0 &&
		    now - l->redis_flushed_ms < CACHE_FLUSH_INTERVAL_MS) {
			atomic_store(&c->dirty, true);
			return;
		}
		l->redis_flushed_ms = now;
	}
	pthread_mutex_lock(&c->ns_lock);
	rc = rcachesync_invalidate(l->rs, payload,
	    (const char (*)[CACHEFMT_NS_LEN + 1])c->ns, c->nns, clock_wall_ms(),
	    &err);
	pthread_mutex_unlock(&c->ns_lock);
	if (rc < 0)
		redis_failed(l, "invalidation", err);
}

static void
l_message(void *arg, const char *payload, uint64_t tag)
{
	struct cache_listener *l = arg;
	char	 s[STR_SANITIZE_MAX + 4];

	unsigned long held;

	/* the fence before the keys go: a fill that finds them gone (seq
	 * unchanged since its read began) finds the fence too */
	pthread_mutex_lock(&l->fence_lock);
	fence_raise(l->fence, payload, tag);
	pthread_mutex_unlock(&l->fence_lock);
	if (cache_invalidate_local(l->cache, payload) < 0 &&
	    log_rate_ok(&l->junk_log, clock_mono_ms(), CACHE_LOG_INTERVAL_MS,
	    &held))
		msg_warn("cache: unknown invalidation message \"%s\"; "
		    "dropping every cached answer (%lu more like this not "
		    "logged)", str_sanitize(s, payload, strlen(payload),
		    STR_SANITIZE_MAX), held);
	redis_invalidate(l, payload);
	if (log_verbose() > 0)
		msg_info("cache: invalidated \"%s\"", str_sanitize(s,
		    payload, strlen(payload), STR_SANITIZE_MAX));
}

/*
 * l_up - LISTEN is in effect: whatever changed while it was not may have
 * been missed, so every answer cached until now is demoted to stale in
 * the in-process tier (still good when the database cannot answer, as
 * right after an outage while the pools reconnect) and dropped from
 * Redis (a new epoch); then trust.
 */
static void
l_up(void *arg, uint64_t tag, uint64_t lsn)
{
	struct cache_listener *l = arg;
	struct cache *c = l->cache;

	/* standbys too: what was missed is at or before lsn, and so is
	 * every message up to tag (not a later one: core/fence.h) */
	pthread_mutex_lock(&l->fence_lock);
	fence_reset(l->fence, tag, lsn, clock_wall_ms());
	pthread_mutex_unlock(&l->fence_lock);
	atomic_fetch_add(&c->seq, 1);
	atomic_store(&c->fresh_after, clock_wall_ms());
	stats_add(flushes, 1);
	redis_flush_all(l);
	if (!l->trusted) {
		l->trusted = true;
		atomic_fetch_sub(&c->untrusted, 1);
	}
	msg_debug("cache: listener up: in-process answers demoted, Redis "
	    "flushed");
}

/* l_settled - the messages of tag and before were committed by lsn */
static void
l_settled(void *arg, uint64_t tag, uint64_t lsn)
{
	struct cache_listener *l = arg;

	pthread_mutex_lock(&l->fence_lock);
	fence_settle(l->fence, tag, lsn, clock_wall_ms());
	pthread_mutex_unlock(&l->fence_lock);
}

enum fence_state
cache_replayed(struct cache *c, const struct sqlmap_conn *conn,
    const char *key, uint64_t replay_lsn)
{
	struct cache_lset *ls;
	struct cache_listener *l;
	enum fence_state st = FENCE_UNKNOWN;
	size_t	 i;

	pthread_rwlock_rdlock(&c->lset_lock);
	ls = c->lset;
	/* no listeners because no tier is on: nothing is kept anyway */
	if (ls != NULL && ls->n == 0)
		st = FENCE_PASSED;
	for (i = 0; ls != NULL && i < ls->n; i++) {
		l = &ls->v[i];
		if (l->conn != conn && !sqlmap_same_conn(l->conn, conn))
			continue;
		pthread_mutex_lock(&l->fence_lock);
		st = fence_check(l->fence, key, strlen(key), replay_lsn,
		    clock_wall_ms());
		pthread_mutex_unlock(&l->fence_lock);
		break;
	}
	pthread_rwlock_unlock(&c->lset_lock);
	return st;
}

static void
l_down(void *arg)
{
	struct cache_listener *l = arg;

	if (l->trusted) {
		l->trusted = false;
		atomic_fetch_add(&l->cache->untrusted, 1);
	}
	msg_debug("cache: listener down");
}

/* l_tick - retry a Redis flush that failed */
static void
l_tick(void *arg)
{
	struct cache_listener *l = arg;
	struct cache *c = l->cache;
	const char *err;

	if (l->rs == NULL || !atomic_load(&c->dirty))
		return;
	if (rcachesync_new_epoch(l->rs, CACHEFMT_RKEY_EPOCH, NULL, &err) < 0)
		return;
	l->redis_flushed_ms = clock_mono_ms();
	atomic_store(&c->dirty, false);
	if (l->warned_redis)
		msg_info("cache: Redis flushed; using it again");
	l->warned_redis = false;
}

/*
 * Lifecycle (main thread).
 */

/* ns_known - ns is in the registry (caller locks) */
static bool
ns_known(struct cache *c, const char *ns)
{
	size_t	 i;

	for (i = 0; i < c->nns; i++)
		if (strcmp(c->ns[i], ns) == 0)
			return true;
	return false;
}

/* ns_register - remember the namespaces of cfg's pgsql maps */
static void
ns_register(struct cache *c, const struct conf *cfg)
{
	char	 ns[CACHEFMT_NS_LEN + 1];
	size_t	 i, nnew = 0;

	pthread_mutex_lock(&c->ns_lock);
	for (i = 0; i < cfg->nmaps; i++) {
		if (cfg->maps[i]->type != MAP_PGSQL)
			continue;
		cachefmt_ns(cfg->maps[i]->u.sql, ns);
		nnew += !ns_known(c, ns);
	}
	cachefmt_dns(&cfg->engine, ns);
	for (i = 0; i < c->ndns && strcmp(c->dns[i], ns) != 0; i++)
		;
	if (i == c->ndns) {
		if (c->ndns == CACHE_NS_MAX) {
			/* forget the old ones; their entries can go too */
			c->ndns = 0;
			atomic_fetch_add(&c->seq, 1);
			local_clear(c);
		}
		c->dns = xreallocarray(c->dns, c->ndns + 1, sizeof(*c->dns));
		memcpy(c->dns[c->ndns++], ns, sizeof(ns));
	}
	if (c->nns + nnew > CACHE_NS_MAX) {
		/*
		 * Too many reloads with new maps: forget the old namespaces
		 * and, since their keys could no longer be invalidated, the
		 * answers they hold, here and in Redis.
		 */
		c->nns = 0;
		atomic_fetch_add(&c->seq, 1);
		local_clear(c);
		atomic_store(&c->dirty, true);
	}
	for (i = 0; i < cfg->nmaps; i++) {
		if (cfg->maps[i]->type != MAP_PGSQL)
			continue;
		cachefmt_ns(cfg->maps[i]->u.sql, ns);
		if (ns_known(c, ns))
			continue;
		c->ns = xreallocarray(c->ns, c->nns + 1, sizeof(*c->ns));
		memcpy(c->ns[c->nns++], ns, sizeof(ns));
	}
	pthread_mutex_unlock(&c->ns_lock);
}

static void
local_limits(struct cache *c, const struct conf *cfg)
{
	size_t	 entries = cfg->cache_max_entries, bytes = cfg->cache_max_bytes;
	size_t	 i;
	bool	 on = entries > 0 && bytes > 0 && cfg->ndbconfs > 0;

	for (i = 0; i < CACHE_SHARDS; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		if (on)
			lru_set_limits(c->shards[i].lru,
			    (entries + CACHE_SHARDS - 1) / CACHE_SHARDS,
			    (bytes + CACHE_SHARDS - 1) / CACHE_SHARDS);
		else
			lru_clear(c->shards[i].lru);
		pthread_mutex_unlock(&c->shards[i].lock);
	}
	atomic_store(&c->local_on, on);
}

static bool
redis_on(const struct conf *cfg)
{
	return cfg->cache.kind != CONF_CACHE_NONE;
}

/* same_redis - the same Redis, reached the same way */
static bool
same_redis(const struct conf *a, const struct conf *b)
{
	char	 x[CONF_CACHE_TEXT_MAX + 1], y[CONF_CACHE_TEXT_MAX + 1];

	return strcmp(conf_cache_text(a, x, sizeof(x)),
	    conf_cache_text(b, y, sizeof(y))) == 0 &&
	    a->redis_db == b->redis_db &&
	    strcmp(a->redis_password, b->redis_password) == 0 &&
	    strcmp(a->redis_sentinel_password,
	    b->redis_sentinel_password) == 0;
}

/* cache_wanted - a tier is on: invalidations must be listened to */
static bool
cache_wanted(const struct conf *cfg)
{
	return cfg->ndbconfs > 0 && (redis_on(cfg) ||
	    (cfg->cache_max_entries > 0 && cfg->cache_max_bytes > 0));
}

/* same_listeners - a reload that needs no new listeners */
static bool
same_listeners(const struct conf *a, const struct conf *b)
{
	size_t	 i;

	if (a->ndbconfs != b->ndbconfs || redis_on(a) != redis_on(b) ||
	    cache_wanted(a) != cache_wanted(b))
		return false;
	if (!same_redis(a, b) || strcmp(a->syslog_name, b->syslog_name) != 0)
		return false;
	for (i = 0; i < a->ndbconfs; i++)
		if (!sqlmap_same_conn(a->dbconfs[i].conn, b->dbconfs[i].conn))
			return false;
	return true;
}

static struct cache_lset *
lset_start(struct cache *c, struct conf *cfg)
{
	struct cache_lset *ls = xcalloc(1, sizeof(*ls));
	struct notify_hooks h;
	char	*appname;
	size_t	 i;

	ls->cfg = conf_ref(cfg);
	ls->n = cache_wanted(cfg) ? cfg->ndbconfs : 0;
	ls->v = xcalloc(ls->n ? ls->n : 1, sizeof(*ls->v));
	/* Redis is used only with listeners (resolver_new): so the watcher */
	if (ls->n > 0 && cfg->cache.kind == CONF_CACHE_SENTINEL) {
		struct sentinel_opts so;
		char	 label[CONF_CACHE_TEXT_MAX + 1];

		memset(&so, 0, sizeof(so));
		so.group = &cfg->cache.sentinels;
		so.password = cfg->redis_sentinel_password;
		so.master_password = cfg->redis_password;
		so.db = cfg->redis_db;
		so.flush_key = CACHEFMT_RKEY_EPOCH;
		so.flush_ttl_ms = CACHEFMT_EPOCH_TTL_MS;
		so.timeout_ms = SENTINEL_TIMEOUT_MS;
		so.watch = true;
		so.label = conf_cache_text(cfg, label, sizeof(label));
		ls->sentinel = sentinel_new(&so);
	}
	appname = xasprintf("%s%s", cfg->syslog_name, CACHE_APPNAME_SUFFIX);
	for (i = 0; i < ls->n; i++) {
		struct cache_listener *l = &ls->v[i];

		l->cache = c;
		l->conn = cfg->dbconfs[i].conn;
		pthread_mutex_init(&l->fence_lock, NULL);
		l->fence = fence_new(rand_seed(), rand_seed());
		if (redis_on(cfg)) {
			struct rcachesync_opts ro;

			memset(&ro, 0, sizeof(ro));
			ro.endpoint = &cfg->cache.redis;
			ro.sentinel = ls->sentinel;
			ro.password = cfg->redis_password;
			ro.db = cfg->redis_db;
			ro.timeout_ms = CACHE_SYNC_TIMEOUT_MS;
			l->rs = rcachesync_new(&ro);
		}
		atomic_fetch_add(&c->untrusted, 1);
		h.up = l_up;
		h.down = l_down;
		h.message = l_message;
		h.settled = l_settled;
		h.tick = l_tick;
		h.arg = l;
		l->n = notify_start(cfg->dbconfs[i].conn, appname, &h);
	}
	free(appname);
	return ls;
}

static void
lset_stop(struct cache *c, struct cache_lset **lsp)
{
	struct cache_lset *ls = *lsp;
	size_t	 i;

	*lsp = NULL;
	if (ls == NULL)
		return;
	for (i = 0; i < ls->n; i++) {
		struct cache_listener *l = &ls->v[i];

		notify_stop(&l->n);
		/* joined, and untrusted by now: it counted once */
		if (l->trusted)
			msg_panic("cache: listener trusted after its stop");
		atomic_fetch_sub(&c->untrusted, 1);
		rcachesync_free(&l->rs);
		fence_free(&l->fence);
		pthread_mutex_destroy(&l->fence_lock);
	}
	/* resolvers may keep a reference a little longer: stopped now,
	 * freed with the last */
	sentinel_stop(ls->sentinel);
	sentinel_unref(&ls->sentinel);
	free(ls->v);
	conf_unref(&ls->cfg);
	free(ls);
}

struct sentinel *
cache_sentinel(struct cache *c, const struct conf *cfg)
{
	struct sentinel *s = NULL;

	pthread_rwlock_rdlock(&c->lset_lock);
	if (c->lset != NULL && c->lset->sentinel != NULL &&
	    same_redis(c->lset->cfg, cfg))
		s = sentinel_ref(c->lset->sentinel);
	pthread_rwlock_unlock(&c->lset_lock);
	return s;
}

struct cache *
cache_new(struct conf *cfg)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	size_t	 i;

	c->seed0 = rand_seed();
	c->seed1 = rand_seed();
	pthread_mutex_init(&c->ns_lock, NULL);
	for (i = 0; i < CACHE_SHARDS; i++) {
		pthread_mutex_init(&c->shards[i].lock, NULL);
		c->shards[i].lru = lru_new(0, 0);
	}
	atomic_init(&c->seq, 1);
	atomic_init(&c->fresh_after, 0);
	pthread_mutex_init(&c->walk_lock, NULL);
	atomic_init(&c->untrusted, 0);
	atomic_init(&c->dirty, false);
	atomic_init(&c->local_on, false);
	ns_register(c, cfg);
	local_limits(c, cfg);
	pthread_rwlock_init(&c->lset_lock, NULL);
	c->lset = lset_start(c, cfg);
	return c;
}

void
cache_reload(struct cache *c, struct conf *cfg)
{
	struct cache_lset *old, *fresh;

	ns_register(c, cfg);
	local_limits(c, cfg);
	if (c->lset != NULL && same_listeners(c->lset->cfg, cfg))
		return;
	/* the new ones first, so that trust never rests on the old ones
	 * alone while the new ones connect */
	fresh = lset_start(c, cfg);
	/* no worker reads the old set after this (cache_replayed,
	 * cache_sentinel) */
	pthread_rwlock_wrlock(&c->lset_lock);
	old = c->lset;
	c->lset = fresh;
	pthread_rwlock_unlock(&c->lset_lock);
	lset_stop(c, &old);
}

/* cache_log_stats - every counter of the registry, and the tier's size */
static void
cache_log_stats(size_t entries, size_t bytes)
{
	struct buf b;

	buf_init(&b, 0);
	stats_format(&b, " ");
	msg_info("cache statistics: %s local_entries=%zu local_bytes=%zu",
	    buf_str(&b), entries, bytes);
	buf_free(&b);
}

void
cache_size(struct cache *c, size_t *entries_r, size_t *bytes_r)
{
	size_t	 i;

	*entries_r = *bytes_r = 0;
	for (i = 0; i < CACHE_SHARDS; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		*entries_r += lru_count(c->shards[i].lru);
		*bytes_r += lru_bytes(c->shards[i].lru);
		pthread_mutex_unlock(&c->shards[i].lock);
	}
}

void
cache_free(struct cache **cp)
{
	struct cache *c = *cp;
	struct cache_lset *ls;
	size_t	 i, entries = 0, bytes = 0;

	*cp = NULL;
	if (c == NULL)
		return;
	pthread_rwlock_wrlock(&c->lset_lock);
	ls = c->lset;
	c->lset = NULL;
	pthread_rwlock_unlock(&c->lset_lock);
	lset_stop(c, &ls);
	for (i = 0; i < CACHE_SHARDS; i++) {
		entries += lru_count(c->shards[i].lru);
		bytes += lru_bytes(c->shards[i].lru);
		lru_free(&c->shards[i].lru);
		pthread_mutex_destroy(&c->shards[i].lock);
	}
	cache_log_stats(entries, bytes);
	free(c->ns);
	free(c->dns);
	pthread_mutex_destroy(&c->ns_lock);
	pthread_mutex_destroy(&c->walk_lock);
	pthread_rwlock_destroy(&c->lset_lock);
	free(c);
}
