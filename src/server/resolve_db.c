/*
 * resolve_db - the database stage of a resolve request: flights (one
 * query in the air per (map, key), owned by the resolver, not by the
 * request that started it, so that a request that times out or whose
 * client goes away does not take the answer away from the others
 * waiting for it; the answer still fills the caches) and one pipelined
 * batch per database. See resolve_int.h.
 *
 * An answer fetched while an invalidation happened (cache_seq() moved)
 * fills nothing (server/cache.h).
 *
 * Depends on: core/{cachefmt,sflight,sqlmap}, server/{cache,stats},
 * store/{db,rcache}, util/.
 * Security: keys are attacker-chosen: they reach the database only as
 * parameters (sqlmap_expand) and the log sanitised.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cachefmt.h"
#include "core/sflight.h"
#include "server/cache.h"
#include "server/resolve_int.h"
#include "server/stats.h"
#include "store/db.h"
#include "store/rcache.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

static void
resolve_db_flight_free(struct resolver *rv, struct flight *fl)
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
	size_t	 klen = strlen(fl->key), rklen, dklen, reclen;
	char	*rk, *dk, *rec;

	if (r == FACT_UNAVAILABLE || !cachefmt_cacheable(fl->key, klen))
		return;
	cache_local_put(rv->cache, ns, fl->key, fl->seq0, r, now, &rv->ttl,
	    now);
	life = cachefmt_ttl_of(&rv->ttl, r);
	if (rv->rc == NULL || !fl->tagged || life == 0 ||
	    cache_redis_dirty(rv->cache) || cache_seq(rv->cache) != fl->seq0)
		return;
	rk = cachefmt_rkey(ns, fl->key, klen, &rklen);
	dk = cachefmt_rkey_depoch(fl->key, klen, &dklen);
	rec = cachefmt_rec_format(fl->epoch, fl->depoch, r, now, value,
	    &reclen);
	rcache_fill(rv->rc, rk, rklen, dk, dklen, rec, reclen,
	    life + rv->ttl.stale_ms);
	free(rk);
	free(dk);
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
				resolve_answer_failure(rq, it, why);
			else
				resolve_answer(rq, it, r, FACT_SRC_DB, value,
				    NULL, false, 0);
			break;
		}
	}
	resolve_db_flight_free(rv, fl);
}

/* resolve_db_done - a batch came back: one fact per query */
static void
resolve_db_done(void *arg, const struct db_result *res, size_t n)
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

			static struct log_rate lr;

			/* Postfix maps.c: "%s:%s lookup error for \"%s\"";
			 * once a second here, not per RCPT of an outage */
			msg_warn_rated(&lr, LOG_RATE_OUTAGE_MS,
			    "%s lookup error for \"%s\": %s",
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
		if (fr == FACT_UNAVAILABLE) {
			static struct log_rate lr;

			msg_warn_rated(&lr, LOG_RATE_OUTAGE_MS,
			    "%s lookup error for \"%s\": %s",
			    fl->map->name, str_sanitize(k, fl->key,
			    strlen(fl->key), STR_SANITIZE_MAX),
			    why ? why : "unavailable");
		}
		flight_complete(fl, fr, value, why);
		free(value);
		free(why);
	}
	free(b);
}

/*
 * resolve_db_stage - the database stage for every item not answered yet: join a
 * flight in the air or start one; one pipelined batch per database.
 */
void
resolve_db_stage(struct resolve_req *rq)
{
	struct resolver *rv = rq->rv;
	struct rbatch *open[RESOLVE_BATCHES_MAX] = { 0 };
	struct db_query qs[DB_QUERIES_MAX];
	size_t	 nopen = 0, i, j;
	uint64_t seq = cache_seq(rv->cache);

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
			resolve_answer(rq, it, FACT_NOT_FOUND, FACT_SRC_PURE,
			    NULL, NULL, false, 0);
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
			    (unsigned long long)seq,
			    cache_trusted(rv->cache) ? "" : "not ");
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
		if (db_submit(rv->dbs[b->dbidx], qs, b->n, resolve_db_done, b,
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


void
resolve_db_cancel_all(struct resolver *rv)
{
	struct rbatch *b;
	size_t	 i;

	while ((b = LIST_FIRST(&rv->batches)) != NULL) {
		LIST_REMOVE(b, link);
		db_cancel(b->op);
		for (i = 0; i < b->n; i++)
			resolve_db_flight_free(rv, b->fl[i]);
		free(b);
	}
}
