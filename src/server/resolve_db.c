/*
 * resolve_db - the database stage of a resolve request: flights (one
 * query in the air per (map, key), owned by the resolver, not by the
 * request that started it, so that a request that times out or whose
 * client goes away does not take the answer away from the others
 * waiting for it; the answer still fills the caches) and one pipelined
 * batch per database. See resolve_int.h.
 *
 * An answer fetched while an invalidation happened (cache_seq() moved)
 * fills nothing (server/cache.h). Nor does one read from a standby that
 * had not replayed every change this process was notified of for its
 * key (cache_replayed: the replay fences): that standby would put the
 * old answer back for the whole TTL. Such a flight is asked again
 * every RESOLVE_REPLAY_POLL_MS while its waiters have time
 * (db_replay_wait, at most half of request_timeout), staying in the
 * single-flight table meanwhile, so that the first RCPT after a change
 * gets the new answer from a standby that lags less than that; after
 * that the standby's answer is used, as Postfix would use it, marked
 * "behind" so that no decision made from it is cached either.
 *
 * Depends on: core/{cachefmt,fence,sflight,sqlmap}, server/{cache,stats},
 * store/{db,rcache}, util/, libevent (a timer).
 * Security: keys are attacker-chosen: they reach the database only as
 * parameters (sqlmap_expand) and the log sanitised.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/cachefmt.h"
#include "core/fence.h"
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

/*
 * flight_complete - the answer of a flight, to the caches (unless it is
 * behind: from a standby that had not replayed a change of its key)
 * and to the waiters
 */
static void
flight_complete(struct flight *fl, enum fact_result r, const char *value,
    const char *why, bool behind)
{
	struct resolver *rv = fl->rv;
	struct sflight *sf = fl->sf;
	size_t	 w, i;

	sflight_detach(rv->flights, sf);
	if (!behind)
		flight_fill(fl, r, value);
	for (w = 0; w < sf->nwaiters; w++) {
		struct resolve_req *rq = sf->waiters[w];

		for (i = 0; i < rq->n; i++) {
			struct ritem *it = &rq->it[i];

			if (it->done || it->fl != fl)
				continue;
			it->behind = behind;
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

/*
 * flight_wait - fl's answer came from a standby behind a change of its
 * key: ask again later if its waiters have the time (true), else false
 */
static bool
flight_wait(struct flight *fl)
{
	struct resolver *rv = fl->rv;
	struct timeval tv = clock_tv_ms(RESOLVE_REPLAY_POLL_MS);

	if (fl->sf->nwaiters == 0 || clock_mono_us() - fl->t0_us +
	    RESOLVE_REPLAY_POLL_MS * CLOCK_US_PER_MS > rv->replay_wait_us)
		return false;
	fl->waiting = true;
	LIST_INSERT_HEAD(&rv->replay_wait, fl, wait_link);
	if (!evtimer_pending(rv->replay_ev, NULL))
		evtimer_add(rv->replay_ev, &tv);
	stats_add(standby_wait, 1);
	return true;
}

/*
 * flight_behind - fl's answer res (DB_OK) may not be kept: it is from a
 * standby that had not replayed every change of fl's key this process
 * was notified of. *wait_r: waiting for the standby may help (its
 * position is known, or on its way).
 */
static bool
flight_behind(const struct flight *fl, const struct db_result *res,
    bool *wait_r)
{
	enum fence_state st;

	*wait_r = false;
	if (!res->standby)
		return false;
	st = cache_replayed(fl->rv->cache, &fl->map->u.sql->conn, fl->key,
	    res->replay_lsn);
	switch (st) {
	case FENCE_PASSED:
		return false;
	case FENCE_BEHIND:
		*wait_r = true;
		return true;
	case FENCE_UNKNOWN:
		return true;
	}
	return true;
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
		bool	 behind, wait;

		if (i < n && res[i].status == DB_OK) {
			behind = flight_behind(fl, &res[i], &wait);
			if (behind && wait && flight_wait(fl))
				continue;
			if (behind)
				stats_add(standby_behind, 1);
		} else {
			behind = false;
		}
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
			flight_complete(fl, FACT_UNAVAILABLE, NULL, err, false);
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
		flight_complete(fl, fr, value, why, behind);
		free(value);
		free(why);
	}
	free(b);
}

/* batch_send - submit b (the resolver's from now on); if the pool
 * refuses, its flights fail */
static void
batch_send(struct resolver *rv, struct rbatch *b)
{
	struct db_query qs[DB_QUERIES_MAX];
	size_t	 i;

	for (i = 0; i < b->n; i++) {
		qs[i].sm = b->fl[i]->map->u.sql;
		qs[i].nparams = b->fl[i]->nparams;
		memcpy(qs[i].params, b->fl[i]->params, sizeof(qs[i].params));
	}
	if (db_submit(rv->dbs[b->dbidx], qs, b->n, resolve_db_done, b,
	    &b->op) < 0) {
		msg_warn("database request queue full; answering "
		    "lookup failure");
		for (i = 0; i < b->n; i++)
			flight_complete(b->fl[i], FACT_UNAVAILABLE, NULL,
			    "database queue full", false);
		free(b);
		return;
	}
	LIST_INSERT_HEAD(&rv->batches, b, link);
	stats_add(db_batch, 1);
	stats_add(db_query, b->n);
}

/* resolve_db_replay_cb - ask the flights waiting for a standby again,
 * one batch per pool (or more, DB_QUERIES_MAX each) */
void
resolve_db_replay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *rv = arg;
	struct rbatch *b;
	struct flight *fl, *first;
	unsigned d;

	while ((first = LIST_FIRST(&rv->replay_wait)) != NULL) {
		d = first->dbidx;
		b = xcalloc(1, sizeof(*b));
		b->rv = rv;
		b->dbidx = d;
		while (b->n < DB_QUERIES_MAX && (fl = LIST_FIRST(
		    &rv->replay_wait)) != NULL) {
			/* the pool of the first; the others next time round */
			for (; fl != NULL && fl->dbidx != d;
			    fl = LIST_NEXT(fl, wait_link))
				;
			if (fl == NULL)
				break;
			LIST_REMOVE(fl, wait_link);
			fl->waiting = false;
			if (fl->sf->nwaiters == 0) {
				/* all gave up: nobody to ask for */
				sflight_detach(rv->flights, fl->sf);
				resolve_db_flight_free(rv, fl);
				continue;
			}
			b->fl[b->n++] = fl;
		}
		if (b->n == 0) {
			free(b);
			continue;
		}
		batch_send(rv, b);
	}
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
		fl->t0_us = clock_mono_us();
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
		fl->dbidx = d;
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
	for (j = 0; j < nopen; j++)
		batch_send(rv, open[j]);
}


void
resolve_db_cancel_all(struct resolver *rv)
{
	struct rbatch *b;
	struct flight *fl;
	size_t	 i;

	while ((b = LIST_FIRST(&rv->batches)) != NULL) {
		LIST_REMOVE(b, link);
		db_cancel(b->op);
		for (i = 0; i < b->n; i++)
			resolve_db_flight_free(rv, b->fl[i]);
		free(b);
	}
	evtimer_del(rv->replay_ev);
	while ((fl = LIST_FIRST(&rv->replay_wait)) != NULL) {
		LIST_REMOVE(fl, wait_link);
		resolve_db_flight_free(rv, fl);
	}
}
