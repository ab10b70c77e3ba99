/*
 * resolve - the request state machine of tiered lookups. See resolve.h.
 *
 * A request (struct resolve_req) holds one item per lookup. Items are
 * answered in three stages: the in-process tier (synchronously, here),
 * Redis (resolve_redis.c) and the database (resolve_db.c, with single
 * flight).
 *
 * Callbacks: facts are handed over as they come; "done" runs from the
 * Redis callback (when Redis answered everything) or from the ready
 * event (after flights), one request per event run, because done may
 * free the whole generation.
 *
 * Depends on: core/, conf/, server/{cache,stats,resolve_*}, store/,
 * util/, libevent.
 * Security: keys are attacker-chosen (recipient addresses); see the
 * stages for where they go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "core/cachefmt.h"
#include "core/sflight.h"
#include "server/cache.h"
#include "server/resolve_int.h"
#include "server/stats.h"
#include "store/db.h"
#include "store/rcache.h"
#include "store/sentinel.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/strutil.h"
#include "util/xalloc.h"

void
resolve_rq_free(struct resolve_req *rq)
{
	size_t	 i;

	for (i = 0; i < rq->n; i++)
		free(rq->it[i].svalue);
	free(rq);
}

/* resolve_answer - hand one fact over; queue "done" when it was the last */
void
resolve_answer(struct resolve_req *rq, struct ritem *it, enum fact_result r,
    enum fact_source src, const char *value, const char *why, bool stale,
    uint64_t age_ms)
{
	struct resolve_fact f;

	if (it->done)
		msg_panic("resolve: a lookup answered twice");
	f.map = it->map;
	f.key = it->key;
	f.result = r;
	f.source = src;
	f.value = r == FACT_FOUND ? value : NULL;
	f.why = r == FACT_UNAVAILABLE ? why : NULL;
	f.stale = stale;
	f.behind = it->behind;
	f.age_ms = age_ms;
	if (stale)
		stats_add(stale_served, 1);
	rq->fact(rq->arg, &f);
	it->done = true;
	it->fl = NULL;
	if (--rq->pending == 0 && !rq->sync) {
		TAILQ_INSERT_TAIL(&rq->rv->ready, rq, ready_link);
		rq->in_ready = true;
		event_active(rq->rv->ready_ev, EV_TIMEOUT, 0);
	}
}

/* rv_ready_cb - run "done" of one finished request per event run */
static void
rv_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *rv = arg;
	struct resolve_req *rq = TAILQ_FIRST(&rv->ready);
	resolve_done_cb *done;
	void	*darg;

	if (rq == NULL)
		return;
	TAILQ_REMOVE(&rv->ready, rq, ready_link);
	rq->in_ready = false;
	if (!TAILQ_EMPTY(&rv->ready))
		event_active(rv->ready_ev, EV_TIMEOUT, 0);
	done = rq->done;
	darg = rq->arg;
	resolve_rq_free(rq);
	done(darg);		/* may free rv */
}

/* resolve_set_stale - remember a cached answer in case the database fails */
void
resolve_set_stale(struct ritem *it, enum fact_result r, enum fact_source src,
    const char *value, size_t vlen, uint64_t stored_ms)
{
	if (it->has_stale && it->sstored >= stored_ms)
		return;
	free(it->svalue);
	it->svalue = value != NULL && r == FACT_FOUND ?
	    xstrndup(value, vlen) : NULL;
	it->has_stale = true;
	it->sres = r;
	it->ssrc = src;
	it->sstored = stored_ms;
}

/*
 * resolve_answer_failure - the database could not answer it: a cached answer
 * still within cache_stale_ttl if there is one, else UNAVAILABLE.
 */
void
resolve_answer_failure(struct resolve_req *rq, struct ritem *it,
    const char *why)
{
	struct resolver *rv = rq->rv;
	uint64_t now = clock_wall_ms();
	struct cache_hit hit;
	enum cache_state st;

	if (it->cacheable) {
		st = cache_local_get(rv->cache, it->ns, it->key, now, &hit);
		if (st != CACHE_MISS)
			resolve_set_stale(it, hit.result, FACT_SRC_CACHE_LOCAL,
			    NULL, 0, hit.stored_ms);
	}
	/* used in place of the database's answer: reported stale even if
	 * within its TTL (it could not be checked) */
	if (it->has_stale && cachefmt_age(&rv->ttl, it->sres, it->sstored,
	    now) != CACHEFMT_EXPIRED) {
		resolve_answer(rq, it, it->sres, it->ssrc, it->svalue, NULL,
		    true, now > it->sstored ? now - it->sstored : 0);
		return;
	}
	resolve_answer(rq, it, FACT_UNAVAILABLE, FACT_SRC_DB, NULL, why, false,
	    0);
}

int
resolve_start(struct resolver *rv, const struct lookup *lks, size_t n,
    resolve_fact_cb *fact, resolve_done_cb *done, void *arg,
    struct resolve_req **rq_r)
{
	struct resolve_req *rq;
	uint64_t now = clock_wall_ms();
	bool	 trusted = cache_trusted(rv->cache);
	size_t	 i;

	*rq_r = NULL;
	rq = xcalloc(1, sizeof(*rq) + n * sizeof(rq->it[0]));
	rq->rv = rv;
	rq->fact = fact;
	rq->done = done;
	rq->arg = arg;
	rq->n = n;
	rq->pending = n;
	rq->sync = true;
	stats_add(lookups, n);
	for (i = 0; i < n; i++) {
		struct ritem *it = &rq->it[i];
		struct cache_hit hit;
		enum cache_state st;

		if (lks[i].map->type != MAP_PGSQL)
			msg_panic("resolve_start: a pure lookup in %s",
			    lks[i].map->name);
		it->map = lks[i].map;
		it->key = lks[i].key;
		it->ns = rv->ns[it->map->id];
		it->cacheable = cachefmt_cacheable(it->key, strlen(it->key));
		if (!it->cacheable || !cache_local_on(rv->cache))
			continue;
		st = cache_local_get(rv->cache, it->ns, it->key, now, &hit);
		if (st == CACHE_FRESH && trusted) {
			stats_add(local_hit, 1);
			resolve_answer(rq, it, hit.result, FACT_SRC_CACHE_LOCAL,
			    NULL, NULL, false, now > hit.stored_ms ?
			    now - hit.stored_ms : 0);
		} else {
			stats_add(local_miss, 1);
			if (st != CACHE_MISS)
				resolve_set_stale(it, hit.result,
				    FACT_SRC_CACHE_LOCAL, NULL, 0,
				    hit.stored_ms);
		}
	}
	if (rq->pending > 0 && rv->rc != NULL && resolve_redis_stage(rq)) {
		rq->sync = false;
		*rq_r = rq;
		return 1;
	}
	if (rq->pending > 0)
		resolve_db_stage(rq);
	rq->sync = false;
	if (rq->pending == 0) {
		resolve_rq_free(rq);
		return 0;
	}
	*rq_r = rq;
	return 1;
}

void
resolve_cancel(struct resolve_req *rq)
{
	size_t	 i;

	if (rq == NULL)
		return;
	if (rq->rop != NULL)
		rcache_cancel(rq->rop);
	for (i = 0; i < rq->n; i++)
		if (!rq->it[i].done && rq->it[i].fl != NULL)
			sflight_leave(rq->it[i].fl->sf, rq);
	if (rq->in_ready)
		TAILQ_REMOVE(&rq->rv->ready, rq, ready_link);
	resolve_rq_free(rq);
}

void
resolve_abandon(struct resolve_req *rq, const char *why)
{
	size_t	 i;

	rq->sync = true;	/* no ready event: we finish it here */
	if (rq->in_ready) {
		TAILQ_REMOVE(&rq->rv->ready, rq, ready_link);
		rq->in_ready = false;
	}
	for (i = 0; i < rq->n; i++) {
		struct ritem *it = &rq->it[i];
		struct flight *fl = it->fl;

		if (it->done)
			continue;
		if (fl != NULL)
			sflight_leave(fl->sf, rq);
		it->fl = NULL;
		resolve_answer_failure(rq, it, why);
	}
	resolve_cancel(rq);
}

void
resolve_fallback(struct resolver *rv, const struct lookup *lks, size_t n,
    resolve_fact_cb *fact, void *arg, const char *why)
{
	struct resolve_req *rq;
	size_t	 i;

	rq = xcalloc(1, sizeof(*rq) + n * sizeof(rq->it[0]));
	rq->rv = rv;
	rq->fact = fact;
	rq->arg = arg;
	rq->n = n;
	rq->pending = n;
	rq->sync = true;
	for (i = 0; i < n; i++) {
		struct ritem *it = &rq->it[i];

		it->map = lks[i].map;
		it->key = lks[i].key;
		it->ns = rv->ns[it->map->id];
		it->cacheable = cachefmt_cacheable(it->key, strlen(it->key));
		resolve_answer_failure(rq, it, why);
	}
	resolve_rq_free(rq);
}

struct resolver *
resolver_new(struct event_base *base, const struct conf *cfg,
    struct cache *cache, struct db *const *dbs, const unsigned *db_of_sqlmap,
    size_t nsqlmaps)
{
	struct resolver *rv = xcalloc(1, sizeof(*rv));
	size_t	 i;

	rv->base = base;
	rv->cfg = cfg;
	rv->cache = cache;
	rv->dbs = dbs;
	rv->db_of_sqlmap = db_of_sqlmap;
	rv->nsqlmaps = nsqlmaps;
	rv->ns = xcalloc(cfg->nmaps ? cfg->nmaps : 1, sizeof(*rv->ns));
	for (i = 0; i < cfg->nmaps; i++)
		if (cfg->maps[i]->type == MAP_PGSQL)
			cachefmt_ns(cfg->maps[i]->u.sql, rv->ns[i]);
	rv->ttl.positive_ms = cfg->cache_positive_ttl;
	rv->ttl.negative_ms = cfg->cache_negative_ttl;
	rv->ttl.stale_ms = cfg->cache_stale_ttl;
	rv->flights = sflight_table_new(rand_seed(), rand_seed());
	LIST_INIT(&rv->batches);
	TAILQ_INIT(&rv->ready);
	rv->ready_ev = event_new(base, -1, 0, rv_ready_cb, rv);
	LIST_INIT(&rv->replay_wait);
	rv->replay_ev = evtimer_new(base, resolve_db_replay_cb, rv);
	if (rv->ready_ev == NULL || rv->replay_ev == NULL)
		msg_fatal("resolver_new: out of memory");
	/* waiting must leave the request time to answer */
	rv->replay_wait_us = cfg->db_replay_wait < cfg->request_timeout / 2 ?
	    cfg->db_replay_wait : cfg->request_timeout / 2;
	rv->replay_wait_us *= CLOCK_US_PER_MS;
	if (cfg->cache.kind != CONF_CACHE_NONE && cfg->ndbconfs > 0) {
		struct rcache_opts ro;
		char	 label[CONF_CACHE_TEXT_MAX + 1];

		memset(&ro, 0, sizeof(ro));
		ro.endpoint = &cfg->cache.redis;
		/* none for these settings (a reload replaced them): no
		 * Redis for this short-lived generation */
		if (cfg->cache.kind == CONF_CACHE_SENTINEL)
			ro.sentinel = cache_sentinel(cache, cfg);
		ro.password = cfg->redis_password;
		ro.db = cfg->redis_db;
		ro.timeout_ms = (unsigned)cfg->redis_timeout;
		ro.label = conf_cache_text(cfg, label, sizeof(label));
		if (cfg->cache.kind == CONF_CACHE_REDIS || ro.sentinel != NULL)
			rv->rc = rcache_new(base, &ro);
		sentinel_unref(&ro.sentinel);
	}
	return rv;
}

void
resolver_free(struct resolver **rvp)
{
	struct resolver *rv = *rvp;
	struct resolve_req *rq;

	*rvp = NULL;
	if (rv == NULL)
		return;
	resolve_db_cancel_all(rv);
	while ((rq = TAILQ_FIRST(&rv->ready)) != NULL) {
		TAILQ_REMOVE(&rv->ready, rq, ready_link);
		resolve_rq_free(rq);
	}
	rcache_free(&rv->rc);
	sflight_table_free(&rv->flights);
	event_free(rv->ready_ev);
	event_free(rv->replay_ev);
	free(rv->ns);
	free(rv);
}
