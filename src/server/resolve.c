/*
 * resolve - tiered lookups with single flight. See resolve.h.
 *
 * A request (struct resolve_req) holds one item per lookup. Items are
 * answered in three stages: the in-process tier (synchronously), Redis
 * (one MGET of the global epoch, and per item its domain epoch and its
 * record), and the database. The database stage goes through flights
 * (core/sflight): a flight is one query for one (map, key) in the air,
 * owned by the resolver, not by the request that started it, so that a
 * request that times out or whose client goes away does not take the
 * answer away from the others waiting for it; the answer still fills
 * the caches.
 *
 * Callbacks: facts are handed over as they come; "done" runs from the
 * Redis callback (when Redis answered everything) or from the ready
 * event (after flights), one request per event run, because done may
 * free the whole generation.
 *
 * A Redis record is used only if its epochs match the ones read in the
 * same MGET (a flush changes them), and an answer fetched while an
 * invalidation happened (cache_seq() moved) fills nothing: see
 * server/cache.h.
 *
 * Depends on: core/, store/{db,rcache}, server/{cache,stats},
 * daemon/config, util/, libevent.
 *
 * Security: keys are attacker-chosen (recipient addresses): they go to
 * the database only as parameters (sqlmap_expand), to Redis as binary
 * arguments, and into logs sanitised. Redis contents are parsed with
 * core/cachefmt and anything odd is a miss.
 */
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/cachefmt.h"
#include "core/sflight.h"
#include "conf/conf.h"
#include "server/cache.h"
#include "server/resolve.h"
#include "server/stats.h"
#include "store/db.h"
#include "store/rcache.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* one query in the air for one (map, key) */
struct flight {
	struct resolver *rv;
	struct sflight *sf;		/* waiters are resolve_req pointers */
	const struct map *map;
	char	*key;
	char	*params[SQLMAP_PARAMS_MAX];
	size_t	 nparams;
	uint64_t seq0;			/* cache_seq() when it started */
	bool	 tagged;		/* epochs known: may fill Redis */
	uint64_t epoch, depoch;
};

struct rbatch {
	LIST_ENTRY(rbatch) link;
	struct resolver *rv;
	struct db_op *op;
	unsigned dbidx;
	struct flight *fl[DB_QUERIES_MAX];
	size_t	 n;
};

struct ritem {
	const struct map *map;
	const char *key;		/* borrowed from the caller */
	const char *ns;			/* the map's namespace */
	bool	 cacheable;
	bool	 done;
	struct flight *fl;		/* waiting for it */
	bool	 tagged;		/* Redis epochs read */
	uint64_t epoch, depoch;
	bool	 has_stale;		/* a cached answer, for failures */
	enum fact_result sres;
	enum fact_source ssrc;
	char	*svalue;
	uint64_t sstored;
};

struct resolve_req {
	struct resolver *rv;
	resolve_fact_cb *fact;
	resolve_done_cb *done;
	void	*arg;
	struct rcache_op *rop;
	uint64_t rseq;			/* cache_seq() at the Redis read */
	size_t	 pending;
	bool	 sync;			/* finishing is up to the code on
					 * the stack, not the ready event */
	bool	 in_ready;
	TAILQ_ENTRY(resolve_req) ready_link;
	size_t	 n;
	struct ritem it[];
};

struct resolver {
	struct event_base *base;
	const struct conf *cfg;
	struct db *const *dbs;
	const unsigned *db_of_sqlmap;
	size_t	 nsqlmaps;
	char	(*ns)[CACHEFMT_NS_LEN + 1];	/* per map id */
	struct cachefmt_ttl ttl;
	struct rcache *rc;			/* NULL: no Redis */
	struct sflight_table *flights;
	LIST_HEAD(, rbatch) batches;
	TAILQ_HEAD(, resolve_req) ready;
	struct event *ready_ev;
};

/*
 * Requests.
 */

static void
rq_free(struct resolve_req *rq)
{
	size_t	 i;

	for (i = 0; i < rq->n; i++)
		free(rq->it[i].svalue);
	free(rq);
}

/* rq_answer - hand one fact over; queue "done" when it was the last */
static void
rq_answer(struct resolve_req *rq, struct ritem *it, enum fact_result r,
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
	rq_free(rq);
	done(darg);		/* may free rv */
}

/* set_stale - remember a cached answer in case the database fails */
static void
set_stale(struct ritem *it, enum fact_result r, enum fact_source src,
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
 * answer_failure - the database could not answer it: a cached answer
 * still within cache_stale_ttl if there is one, else UNAVAILABLE.
 */
static void
answer_failure(struct resolve_req *rq, struct ritem *it, const char *why)
{
	struct resolver *rv = rq->rv;
	uint64_t now = clock_wall_ms();
	struct cache_hit hit;
	enum cache_state st;

	if (it->cacheable) {
		st = cache_local_get(it->ns, it->key, now, &hit);
		if (st != CACHE_MISS)
			set_stale(it, hit.result, FACT_SRC_CACHE_LOCAL,
			    hit.value, hit.value ? strlen(hit.value) : 0,
			    hit.stored_ms);
		free(hit.value);
	}
	/* used in place of the database's answer: reported stale even if
	 * within its TTL (it could not be checked) */
	if (it->has_stale && cachefmt_age(&rv->ttl, it->sres, it->sstored,
	    now) != CACHEFMT_EXPIRED) {
		rq_answer(rq, it, it->sres, it->ssrc, it->svalue, NULL, true,
		    now > it->sstored ? now - it->sstored : 0);
		return;
	}
	rq_answer(rq, it, FACT_UNAVAILABLE, FACT_SRC_DB, NULL, why, false, 0);
}

/*
 * Flights.
 */

static void
flight_free(struct resolver *rv, struct flight *fl)
{
	size_t	 i;

	sflight_free(rv->flights, &fl->sf);
	for (i = 0; i < fl->nparams; i++)
		free(fl->params[i]);
	free(fl->key);
	free(fl);
}

/* flight_fill - remember a database answer in both tiers */
static void
flight_fill(struct flight *fl, enum fact_result r, const char *value)
{
	struct resolver *rv = fl->rv;
	const char *ns = rv->ns[fl->map->id];
	uint64_t now = clock_wall_ms(), life;
	size_t	 klen = strlen(fl->key), rklen, reclen;
	char	*rk, *rec;

	if (r == FACT_UNAVAILABLE || !cachefmt_cacheable(fl->key, klen))
		return;
	cache_local_put(ns, fl->key, fl->seq0, r, value, now, &rv->ttl, now);
	life = cachefmt_ttl_of(&rv->ttl, r);
	if (rv->rc == NULL || !fl->tagged || life == 0 ||
	    cache_redis_dirty() || cache_seq() != fl->seq0)
		return;
	rk = cachefmt_rkey(ns, fl->key, klen, &rklen);
	rec = cachefmt_rec_format(fl->epoch, fl->depoch, r, now, value,
	    &reclen);
	rcache_fill(rv->rc, rk, rklen, rec, reclen, life + rv->ttl.stale_ms);
	free(rk);
	free(rec);
}

/* flight_complete - the answer of a flight, to the caches and waiters */
static void
flight_complete(struct flight *fl, enum fact_result r, const char *value,
    const char *why)
{
	struct resolver *rv = fl->rv;
	struct sflight *sf = fl->sf;
	size_t	 w, i;

	sflight_detach(rv->flights, sf);
	flight_fill(fl, r, value);
	for (w = 0; w < sf->nwaiters; w++) {
		struct resolve_req *rq = sf->waiters[w];

		for (i = 0; i < rq->n; i++) {
			struct ritem *it = &rq->it[i];

			if (it->done || it->fl != fl)
				continue;
			if (r == FACT_UNAVAILABLE)
				answer_failure(rq, it, why);
			else
				rq_answer(rq, it, r, FACT_SRC_DB, value, NULL,
				    false, 0);
			break;
		}
	}
	flight_free(rv, fl);
}

/* rv_db_done - a batch came back: one fact per query */
static void
rv_db_done(void *arg, const struct db_result *res, size_t n)
{
	struct rbatch *b = arg;
	char	 k[STR_SANITIZE_MAX + 4], e[STR_SANITIZE_MAX + 4];
	size_t	 i;

	LIST_REMOVE(b, link);
	for (i = 0; i < b->n; i++) {
		struct flight *fl = b->fl[i];
		char	*value = NULL, *why = NULL, *warn = NULL;
		enum fact_result fr;

		if (i >= n || res[i].status == DB_ERROR) {
			const char *err = i < n ? res[i].error : "no result";

			/* Postfix maps.c: "%s:%s lookup error for \"%s\"" */
			msg_warn("%s lookup error for \"%s\": %s",
			    fl->map->name, str_sanitize(k, fl->key,
			    strlen(fl->key), STR_SANITIZE_MAX),
			    str_sanitize(e, err, strlen(err),
			    STR_SANITIZE_MAX));
			stats_add(db_error, 1);
			flight_complete(fl, FACT_UNAVAILABLE, NULL, err);
			continue;
		}
		fr = sqlmap_result(fl->map->u.sql, fl->key, res[i].vals,
		    res[i].nvals, &value, &why, &warn);
		if (warn != NULL) {
			msg_warn("%s", str_sanitize(e, warn, strlen(warn),
			    STR_SANITIZE_MAX));
			free(warn);
		}
		if (fr == FACT_UNAVAILABLE)
			msg_warn("%s lookup error for \"%s\": %s",
			    fl->map->name, str_sanitize(k, fl->key,
			    strlen(fl->key), STR_SANITIZE_MAX),
			    why ? why : "unavailable");
		flight_complete(fl, fr, value, why);
		free(value);
		free(why);
	}
	free(b);
}

/*
 * rq_db - the database stage for every item not answered yet: join a
 * flight in the air or start one; one pipelined batch per database.
 */
static void
rq_db(struct resolve_req *rq)
{
	struct resolver *rv = rq->rv;
	struct rbatch *open[RESOLVE_BATCHES_MAX] = { 0 };
	struct db_query qs[DB_QUERIES_MAX];
	size_t	 nopen = 0, i, j;
	uint64_t seq = cache_seq();

	for (i = 0; i < rq->n; i++) {
		struct ritem *it = &rq->it[i];
		const struct sqlmap *sm = it->map->u.sql;
		char	*params[SQLMAP_PARAMS_MAX] = { 0 };
		struct rbatch *b = NULL;
		struct sflight *sf;
		struct flight *fl;
		char	*fkey;
		unsigned d;

		if (it->done || it->fl != NULL)
			continue;
		if (!sqlmap_expand(sm, it->key, params)) {
			/* suppressed (%u of "@d"...): the engine pre-checks
			 * this; be safe anyway */
			rq_answer(rq, it, FACT_NOT_FOUND, FACT_SRC_PURE, NULL,
			    NULL, false, 0);
			continue;
		}
		fkey = xasprintf("%u:%s", it->map->id, it->key);
		if (sflight_join(rv->flights, fkey, strlen(fkey), seq, rq,
		    &sf) == SFLIGHT_JOIN) {
			free(fkey);
			for (j = 0; j < sm->nparams; j++)
				free(params[j]);
			it->fl = sf->data;
			stats_add(flight_join, 1);
			continue;
		}
		free(fkey);
		if (log_verbose() > 0) {
			char	 k[STR_SANITIZE_MAX + 4];

			msg_debug("resolve: query %s for \"%s\" (seq %llu, "
			    "%strusted)", it->map->name, str_sanitize(k,
			    it->key, strlen(it->key), STR_SANITIZE_MAX),
			    (unsigned long long)seq, cache_trusted() ? "" :
			    "not ");
		}
		fl = xcalloc(1, sizeof(*fl));
		fl->rv = rv;
		fl->sf = sf;
		fl->map = it->map;
		fl->key = xstrdup(it->key);
		fl->seq0 = seq;
		fl->tagged = it->tagged;
		fl->epoch = it->epoch;
		fl->depoch = it->depoch;
		sf->data = fl;
		it->fl = fl;
		memcpy(fl->params, params, sizeof(params));
		fl->nparams = sm->nparams;
		if (sm->id >= rv->nsqlmaps)
			msg_panic("resolve: unknown sqlmap id %u", sm->id);
		d = rv->db_of_sqlmap[sm->id];
		for (j = 0; j < nopen; j++)
			if (open[j]->dbidx == d && open[j]->n < DB_QUERIES_MAX)
				b = open[j];
		if (b == NULL) {
			if (nopen == RESOLVE_BATCHES_MAX)
				msg_panic("resolve: too many batches");
			b = xcalloc(1, sizeof(*b));
			b->rv = rv;
			b->dbidx = d;
			open[nopen++] = b;
		}
		b->fl[b->n++] = fl;
	}
	for (j = 0; j < nopen; j++) {
		struct rbatch *b = open[j];

		for (i = 0; i < b->n; i++) {
			qs[i].sm = b->fl[i]->map->u.sql;
			qs[i].nparams = b->fl[i]->nparams;
			memcpy(qs[i].params, b->fl[i]->params,
			    sizeof(qs[i].params));
		}
		if (db_submit(rv->dbs[b->dbidx], qs, b->n, rv_db_done, b,
		    &b->op) < 0) {
			msg_warn("database request queue full; answering "
			    "lookup failure");
			for (i = 0; i < b->n; i++)
				flight_complete(b->fl[i], FACT_UNAVAILABLE,
				    NULL, "database queue full");
			free(b);
			continue;
		}
		LIST_INSERT_HEAD(&rv->batches, b, link);
		stats_add(db_batch, 1);
		stats_add(db_query, b->n);
	}
}

/*
 * Redis.
 */

/* rq_redis_item - one item's part of the Redis answer */
static void
rq_redis_item(struct resolve_req *rq, struct ritem *it, uint64_t epoch,
    const struct rcache_val *dv, const struct rcache_val *recv, uint64_t now,
    bool trusted)
{
	struct resolver *rv = rq->rv;
	struct cachefmt_rec rec;
	enum cachefmt_age age;
	uint64_t depoch = 0;

	if (dv->s != NULL && cachefmt_u64_parse(dv->s, dv->len, &depoch) < 0) {
		stats_add(redis_miss, 1);
		return;		/* not ours: no tags, no fill */
	}
	it->tagged = true;
	it->epoch = epoch;
	it->depoch = depoch;
	if (recv->s == NULL ||
	    cachefmt_rec_parse(recv->s, recv->len, &rec) < 0 ||
	    rec.tombstone || rec.epoch != epoch || rec.depoch != depoch) {
		stats_add(redis_miss, 1);
		return;
	}
	age = cachefmt_age(&rv->ttl, rec.result, rec.stored_ms, now);
	if (age == CACHEFMT_EXPIRED) {
		stats_add(redis_miss, 1);
		return;
	}
	{
		char	*value = rec.result == FACT_FOUND ?
		    xstrndup(rec.value, rec.vlen) : NULL;

		/* in-process too, with its age, unless an invalidation came
		 * in meanwhile (then the record may be the old one) */
		cache_local_put(it->ns, it->key, rq->rseq, rec.result, value,
		    rec.stored_ms, &rv->ttl, now);
		if (age == CACHEFMT_FRESH && trusted) {
			stats_add(redis_hit, 1);
			rq_answer(rq, it, rec.result, FACT_SRC_CACHE_REDIS,
			    value, NULL, false, now > rec.stored_ms ? now -
			    rec.stored_ms : 0);
		} else {
			stats_add(redis_miss, 1);
			set_stale(it, rec.result, FACT_SRC_CACHE_REDIS, value,
			    value ? strlen(value) : 0, rec.stored_ms);
		}
		free(value);
	}
}

static void
rq_redis_done(void *arg, const struct rcache_val *vals, size_t nv)
{
	struct resolve_req *rq = arg;
	struct resolver *rv = rq->rv;
	uint64_t epoch = 0, now = clock_wall_ms();
	bool	 usable, trusted = cache_trusted();
	size_t	 i, slot = 1, asked = 0;
	resolve_done_cb *done;
	void	*darg;

	rq->rop = NULL;
	rq->sync = true;
	for (i = 0; i < rq->n; i++)
		asked += !rq->it[i].done && rq->it[i].cacheable;
	usable = vals != NULL && cache_seq() == rq->rseq;
	if (vals == NULL)
		stats_add(redis_timeout, asked);
	else if (!usable)
		stats_add(redis_miss, asked);
	if (usable && (vals[0].s == NULL ||
	    cachefmt_u64_parse(vals[0].s, vals[0].len, &epoch) < 0)) {
		/* no global epoch (a new or restarted Redis): make one; this
		 * read is a miss and fills nothing */
		char	 e[24];

		snprintf(e, sizeof(e), "%llu", (unsigned long long)rand_seed());
		rcache_set_nx(rv->rc, CACHEFMT_RKEY_EPOCH, e);
		stats_add(redis_miss, asked);
		usable = false;
	}
	for (i = 0; usable && i < rq->n; i++) {
		struct ritem *it = &rq->it[i];

		if (it->done || !it->cacheable)
			continue;
		if (slot + 2 > nv)
			msg_panic("resolve: short Redis answer");
		rq_redis_item(rq, it, epoch, &vals[slot], &vals[slot + 1], now,
		    trusted);
		slot += 2;
	}
	if (rq->pending > 0)
		rq_db(rq);
	rq->sync = false;
	if (rq->pending > 0)
		return;
	done = rq->done;
	darg = rq->arg;
	rq_free(rq);
	done(darg);		/* may free rv */
}

/* rq_redis - send the Redis read; false if Redis is not to be asked */
static bool
rq_redis(struct resolve_req *rq)
{
	struct resolver *rv = rq->rv;
	const char *keys[RCACHE_MGET_MAX];
	size_t	 klens[RCACHE_MGET_MAX], n = 1, i, asked = 0;
	char	*own[RCACHE_MGET_MAX];
	int	 rc;

	for (i = 0; i < rq->n; i++)
		asked += !rq->it[i].done && rq->it[i].cacheable;
	if (asked == 0)
		return false;
	if (cache_redis_dirty() || !rcache_ready(rv->rc) ||
	    1 + 2 * asked > RCACHE_MGET_MAX) {
		stats_add(redis_skip, asked);
		return false;
	}
	keys[0] = CACHEFMT_RKEY_EPOCH;
	klens[0] = strlen(CACHEFMT_RKEY_EPOCH);
	own[0] = NULL;
	for (i = 0; i < rq->n; i++) {
		struct ritem *it = &rq->it[i];
		size_t	 klen = strlen(it->key);

		if (it->done || !it->cacheable)
			continue;
		own[n] = cachefmt_rkey_depoch(it->key, klen, &klens[n]);
		keys[n] = own[n];
		n++;
		own[n] = cachefmt_rkey(it->ns, it->key, klen, &klens[n]);
		keys[n] = own[n];
		n++;
	}
	rq->rseq = cache_seq();
	rc = rcache_mget(rv->rc, keys, klens, n, rq_redis_done, rq, &rq->rop);
	for (i = 1; i < n; i++)
		free(own[i]);
	if (rc < 0) {
		stats_add(redis_skip, asked);
		return false;
	}
	return true;
}

/*
 * The interface.
 */

int
resolve_start(struct resolver *rv, const struct lookup *lks, size_t n,
    resolve_fact_cb *fact, resolve_done_cb *done, void *arg,
    struct resolve_req **rq_r)
{
	struct resolve_req *rq;
	uint64_t now = clock_wall_ms();
	bool	 trusted = cache_trusted();
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
		if (!it->cacheable || !cache_local_on())
			continue;
		st = cache_local_get(it->ns, it->key, now, &hit);
		if (st == CACHE_FRESH && trusted) {
			stats_add(local_hit, 1);
			rq_answer(rq, it, hit.result, FACT_SRC_CACHE_LOCAL,
			    hit.value, NULL, false, now > hit.stored_ms ?
			    now - hit.stored_ms : 0);
		} else {
			stats_add(local_miss, 1);
			if (st != CACHE_MISS)
				set_stale(it, hit.result,
				    FACT_SRC_CACHE_LOCAL, hit.value,
				    hit.value ? strlen(hit.value) : 0,
				    hit.stored_ms);
		}
		free(hit.value);
	}
	if (rq->pending > 0 && rv->rc != NULL && rq_redis(rq)) {
		rq->sync = false;
		*rq_r = rq;
		return 1;
	}
	if (rq->pending > 0)
		rq_db(rq);
	rq->sync = false;
	if (rq->pending == 0) {
		rq_free(rq);
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
	rq_free(rq);
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
		answer_failure(rq, it, why);
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
		answer_failure(rq, it, why);
	}
	rq_free(rq);
}

struct resolver *
resolver_new(struct event_base *base, const struct conf *cfg,
    struct db *const *dbs, const unsigned *db_of_sqlmap, size_t nsqlmaps)
{
	struct resolver *rv = xcalloc(1, sizeof(*rv));
	size_t	 i;

	rv->base = base;
	rv->cfg = cfg;
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
	if (rv->ready_ev == NULL)
		msg_fatal("resolver_new: out of memory");
	if (cfg->cache.kind != ENDPOINT_NONE && cfg->ndbconfs > 0) {
		struct rcache_opts ro;
		char	 label[ENDPOINT_TEXT_MAX + 8];

		ro.endpoint = &cfg->cache;
		ro.password = cfg->redis_password;
		ro.db = cfg->redis_db;
		ro.timeout_ms = (unsigned)cfg->redis_timeout;
		ro.label = conf_cache_text(cfg, label, sizeof(label));
		rv->rc = rcache_new(base, &ro);
	}
	return rv;
}

void
resolver_free(struct resolver **rvp)
{
	struct resolver *rv = *rvp;
	struct resolve_req *rq;
	struct rbatch *b;
	size_t	 i;

	*rvp = NULL;
	if (rv == NULL)
		return;
	while ((b = LIST_FIRST(&rv->batches)) != NULL) {
		LIST_REMOVE(b, link);
		db_cancel(b->op);
		for (i = 0; i < b->n; i++)
			flight_free(rv, b->fl[i]);
		free(b);
	}
	while ((rq = TAILQ_FIRST(&rv->ready)) != NULL) {
		TAILQ_REMOVE(&rv->ready, rq, ready_link);
		rq_free(rq);
	}
	rcache_free(&rv->rc);
	sflight_table_free(&rv->flights);
	event_free(rv->ready_ev);
	free(rv->ns);
	free(rv);
}

const char *
resolve_redis_state(const struct resolver *rv)
{
	return rv->rc != NULL ? rcache_state(rv->rc) : "off";
}
