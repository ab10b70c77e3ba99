/*
 * resolve_redis - the Redis stage of a resolve request: one MGET of the
 * global epoch and, per item, its domain epoch and its record
 * (cachefmt_read_keys), judged with cachefmt_judge(): a record is used
 * only if its epochs match the ones read in the same MGET (a flush
 * changes them). See resolve_int.h.
 *
 * Depends on: core/cachefmt, server/{cache,stats}, store/rcache, util/.
 * Security: Redis contents are parsed with core/cachefmt and anything
 * odd is a miss; keys go to Redis as binary arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cachefmt.h"
#include "server/cache.h"
#include "server/resolve_int.h"
#include "server/stats.h"
#include "store/rcache.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/xalloc.h"

/* redis_new_depoch - propose a random epoch for key's domain */
static uint64_t
redis_new_depoch(struct resolver *rv, const char *key)
{
	uint64_t e = rand_seed();
	char	 v[24], *dk;
	size_t	 dklen;

	dk = cachefmt_rkey_depoch(key, strlen(key), &dklen);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)e);
	rcache_set_nx(rv->rc, dk, v, CACHEFMT_EPOCH_TTL_MS);
	free(dk);
	return e;
}

/* redis_item - one item's part of the Redis answer */
static void
redis_item(struct resolve_req *rq, struct ritem *it, uint64_t epoch,
    const struct rcache_val *dv, const struct rcache_val *recv, uint64_t now,
    bool trusted)
{
	struct resolver *rv = rq->rv;
	struct cachefmt_rec rec;
	uint64_t depoch;
	char	*value;

	switch (cachefmt_judge(&rv->ttl, &epoch, dv->s, dv->len, recv->s,
	    recv->len, now, &depoch, &rec)) {
	case CACHEFMT_J_FOREIGN:
		stats_add(redis_miss, 1);
		return;		/* not ours: no tags, no fill */
	case CACHEFMT_J_NO_DEPOCH:
		/* make the domain one; our fill carries it (if another
		 * reader's SET NX wins, that fill is just a later miss) */
		depoch = redis_new_depoch(rv, it->key);
		it->tagged = true;
		it->epoch = epoch;
		it->depoch = depoch;
		stats_add(redis_miss, 1);
		return;
	case CACHEFMT_J_ABSENT:
	case CACHEFMT_J_UNREADABLE:
	case CACHEFMT_J_TOMBSTONE:
	case CACHEFMT_J_FLUSHED:
	case CACHEFMT_J_EXPIRED:
		it->tagged = true;
		it->epoch = epoch;
		it->depoch = depoch;
		stats_add(redis_miss, 1);
		return;
	case CACHEFMT_J_FRESH:
	case CACHEFMT_J_STALE:
		break;
	}
	it->tagged = true;
	it->epoch = epoch;
	it->depoch = depoch;
	value = rec.result == FACT_FOUND ? xstrndup(rec.value, rec.vlen) :
	    NULL;
	/* in-process too, with its age, unless an invalidation came in
	 * meanwhile (then the record may be the old one) */
	cache_local_put(rv->cache, it->ns, it->key, rq->rseq, rec.result,
	    rec.stored_ms, &rv->ttl, now);
	if (cachefmt_age(&rv->ttl, rec.result, rec.stored_ms, now) ==
	    CACHEFMT_FRESH && trusted) {
		stats_add(redis_hit, 1);
		resolve_answer(rq, it, rec.result, FACT_SRC_CACHE_REDIS, value,
		    NULL, false, now > rec.stored_ms ? now - rec.stored_ms :
		    0);
	} else {
		stats_add(redis_miss, 1);
		resolve_set_stale(it, rec.result, FACT_SRC_CACHE_REDIS, value,
		    value ? strlen(value) : 0, rec.stored_ms);
	}
	free(value);
}

static void
redis_done(void *arg, const struct rcache_val *vals, size_t nv)
{
	struct resolve_req *rq = arg;
	struct resolver *rv = rq->rv;
	uint64_t epoch = 0, now = clock_wall_ms();
	bool	 usable, trusted = cache_trusted(rv->cache);
	size_t	 i, slot = CACHEFMT_READ_HEAD, asked = 0;
	resolve_done_cb *done;
	void	*darg;

	rq->rop = NULL;
	rq->sync = true;
	for (i = 0; i < rq->n; i++)
		asked += !rq->it[i].done && rq->it[i].cacheable;
	usable = vals != NULL && cache_seq(rv->cache) == rq->rseq;
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
		rcache_set_nx(rv->rc, CACHEFMT_RKEY_EPOCH, e,
		    CACHEFMT_EPOCH_TTL_MS);
		stats_add(redis_miss, asked);
		usable = false;
	}
	for (i = 0; usable && i < rq->n; i++) {
		struct ritem *it = &rq->it[i];

		if (it->done || !it->cacheable)
			continue;
		if (slot + CACHEFMT_READ_PER > nv)
			msg_panic("resolve: short Redis answer");
		redis_item(rq, it, epoch, &vals[slot], &vals[slot + 1], now,
		    trusted);
		slot += CACHEFMT_READ_PER;
	}
	if (rq->pending > 0)
		resolve_db_stage(rq);
	rq->sync = false;
	if (rq->pending > 0)
		return;
	done = rq->done;
	darg = rq->arg;
	resolve_rq_free(rq);
	done(darg);		/* may free rv */
}

bool
resolve_redis_stage(struct resolve_req *rq)
{
	struct resolver *rv = rq->rv;
	const char *keys[RCACHE_MGET_MAX];
	size_t	 klens[RCACHE_MGET_MAX], n = CACHEFMT_READ_HEAD, i, asked = 0;
	char	*own[RCACHE_MGET_MAX];
	int	 rc;

	for (i = 0; i < rq->n; i++)
		asked += !rq->it[i].done && rq->it[i].cacheable;
	if (asked == 0)
		return false;
	if (cache_redis_dirty(rv->cache) || !rcache_ready(rv->rc) ||
	    CACHEFMT_READ_HEAD + CACHEFMT_READ_PER * asked > RCACHE_MGET_MAX) {
		stats_add(redis_skip, asked);
		return false;
	}
	keys[0] = CACHEFMT_RKEY_EPOCH;
	klens[0] = strlen(CACHEFMT_RKEY_EPOCH);
	own[0] = NULL;
	for (i = 0; i < rq->n; i++) {
		struct ritem *it = &rq->it[i];

		if (it->done || !it->cacheable)
			continue;
		cachefmt_read_keys(it->ns, it->key, strlen(it->key), &own[n],
		    &klens[n]);
		keys[n] = own[n];
		keys[n + 1] = own[n + 1];
		n += CACHEFMT_READ_PER;
	}
	rq->rseq = cache_seq(rv->cache);
	rc = rcache_mget(rv->rc, keys, klens, n, redis_done, rq, &rq->rop);
	for (i = CACHEFMT_READ_HEAD; i < n; i++)
		free(own[i]);
	if (rc < 0) {
		stats_add(redis_skip, asked);
		return false;
	}
	return true;
}
