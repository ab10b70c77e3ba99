/*
 * smapreq - run one socketmap request. See smapreq.h.
 *
 * The flow is dispatch.c's without the decision cache: parse the key
 * (core/smap), then loop: ask smap_decide(); it answers or lists the
 * lookups it needs; those go to the resolver, and when all are
 * answered, ask again. request_timeout bounds the whole request: when
 * it fires, what is still out is answered from the in-process tier or
 * as a lookup failure, and the search ends with that.
 *
 * Depends on: core/, proto/socketmap, server/{conn,resolve,stats},
 * util/, libevent (timer only).
 * Security: the key is untrusted: it is bounded (SMAP_KEY_MAX), never
 * pasted into SQL (sqlmap makes parameters), sanitised in log lines.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "core/engine.h"
#include "core/smap.h"
#include "proto/socketmap.h"
#include "server/conn.h"
#include "server/resolve.h"
#include "server/smapreq.h"
#include "server/stats.h"
#include "server/worker.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

struct smapreq {
	struct worker *w;
	struct conn *conn;
	struct event *timer;		/* kept */
	/* per request, from here on */
	bool	 active;
	struct gen *gen;		/* a reference while active */
	bool	 parsed;		/* q and facts are set */
	struct smap_query q;
	struct factset facts;
	struct lookup_list need;
	struct resolve_req *rq;
	unsigned rounds;
	unsigned nstale_neg;		/* stale "not found" answers used */
};

static void smapreq_step(struct smapreq *r);
static void smapreq_timeout(evutil_socket_t fd, short what, void *arg);

struct smapreq *
smapreq_new(struct worker *w, struct conn *c)
{
	struct smapreq *r = xcalloc(1, sizeof(*r));

	r->w = w;
	r->conn = c;
	r->timer = evtimer_new(w->base, smapreq_timeout, r);
	if (r->timer == NULL)
		msg_fatal("evtimer_new: out of memory");
	return r;
}

/* smapreq_reset - cancel what is out, free the request's parts; the
 * caller takes over the generation reference */
static void
smapreq_reset(struct smapreq *r, struct gen **g_r)
{
	if (r->rq != NULL)
		resolve_cancel(r->rq);
	r->rq = NULL;
	evtimer_del(r->timer);
	if (r->parsed) {
		factset_free(&r->facts);
		smap_query_free(&r->q);
		r->parsed = false;
	}
	*g_r = r->gen;
	r->gen = NULL;
	r->active = false;
}

void
smapreq_free(struct smapreq **rp)
{
	struct smapreq *r = *rp;
	struct gen *g;

	*rp = NULL;
	if (r == NULL)
		return;
	if (r->active) {
		smapreq_reset(r, &g);
		gen_unref(r->w, &g);
	}
	event_free(r->timer);
	free(r);
}

/* smapreq_reply - the reply goes out; the request is over */
static void
smapreq_reply(struct smapreq *r, enum socketmap_reply kind,
    const char *text)
{
	struct worker *w = r->w;
	struct conn *c = r->conn;
	struct buf out;
	struct gen *g;

	buf_init(&out, 0);
	if (socketmap_format(&out, kind, text, text ? strlen(text) : 0) < 0) {
		buf_reset(&out);
		kind = SOCKETMAP_TEMP;
		(void)socketmap_format(&out, kind, "result too long", 15);
	}
	switch (kind) {
	case SOCKETMAP_OK:
		stats_add(smap_found, 1);
		break;
	case SOCKETMAP_NOTFOUND:
		stats_add(smap_notfound, 1);
		break;
	case SOCKETMAP_TEMP:
	case SOCKETMAP_TIMEOUT:
		stats_add(smap_temp, 1);
		break;
	case SOCKETMAP_PERM:
		stats_add(smap_perm, 1);
		break;
	}
	smapreq_reset(r, &g);
	conn_done_reply(c, out.data, out.len);	/* may start the next */
	buf_free(&out);
	gen_unref(w, &g);
}

/* smapreq_answer - the search is done: reply */
static void
smapreq_answer(struct smapreq *r, struct smap_answer *ans)
{
	static struct log_rate lr_fail, lr_stale;
	char	 k[STR_SANITIZE_MAX + 4];
	const char *key;

	key = r->q.lkey != NULL ? r->q.lkey : r->q.addr.orig;
	switch (ans->result) {
	case SMAP_FOUND:
		smapreq_reply(r, SOCKETMAP_OK, ans->value);
		break;
	case SMAP_NOT_FOUND:
		if (r->nstale_neg > 0) {
			msg_warn_rated(&lr_stale, LOG_RATE_OUTAGE_MS,
			    "socketmap %s \"%s\": PostgreSQL did not answer "
			    "and the cache's \"not found\" is stale: TEMP",
			    smap_name_str(r->q.name), str_sanitize(k, key,
			    strlen(key), STR_SANITIZE_MAX));
			smapreq_reply(r, SOCKETMAP_TEMP, "lookup error: "
			    "the database did not answer");
			break;
		}
		smapreq_reply(r, SOCKETMAP_NOTFOUND, NULL);
		break;
	case SMAP_FAILED:
		msg_warn_rated(&lr_fail, LOG_RATE_OUTAGE_MS,
		    "socketmap %s \"%s\": %s: TEMP", smap_name_str(r->q.name),
		    str_sanitize(k, key, strlen(key), STR_SANITIZE_MAX),
		    ans->why);
		smapreq_reply(r, SOCKETMAP_TEMP, ans->why);
		break;
	}
	smap_answer_free(ans);
}

static void
smapreq_fact(void *arg, const struct resolve_fact *f)
{
	struct smapreq *r = arg;

	factset_add(&r->facts, f->map, f->key, f->result, f->source, f->value,
	    f->why);
	if (f->stale && f->result == FACT_NOT_FOUND)
		r->nstale_neg++;
}

static void
smapreq_resolved(void *arg)
{
	struct smapreq *r = arg;

	r->rq = NULL;
	smapreq_step(r);
}

static void
smapreq_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct smapreq *r = arg;
	struct smap_answer ans;
	static struct log_rate lr;
	char	 k[STR_SANITIZE_MAX + 4];
	const char *key = r->q.lkey != NULL ? r->q.lkey : r->q.addr.orig;

	msg_warn_rated(&lr, LOG_RATE_OUTAGE_MS,
	    "socketmap %s \"%s\" timed out after %llums (%s)",
	    smap_name_str(r->q.name), str_sanitize(k, key, strlen(key),
	    STR_SANITIZE_MAX),
	    (unsigned long long)r->gen->cfg->request_timeout,
	    CONF_NAME(request_timeout));
	if (r->rq != NULL)
		resolve_abandon(r->rq, "request timed out");
	r->rq = NULL;
	for (;;) {
		if (++r->rounds > SMAPREQ_ROUNDS_MAX) {
			memset(&ans, 0, sizeof(ans));
			ans.result = SMAP_FAILED;
			ans.why = "request timed out";
			break;
		}
		if (smap_decide(&r->q, &r->facts, &r->need, &ans) ==
		    ENGINE_DONE)
			break;
		resolve_fallback(r->gen->resolver, r->need.v, r->need.n,
		    smapreq_fact, r, "request timed out");
	}
	smapreq_answer(r, &ans);
}

static void
smapreq_step(struct smapreq *r)
{
	struct smap_answer ans;

	for (;;) {
		if (++r->rounds > SMAPREQ_ROUNDS_MAX) {
			/* the search lists at most ENGINE_LOOKUPS_MAX a round;
			 * a list that long needs more rounds than we give */
			memset(&ans, 0, sizeof(ans));
			ans.result = SMAP_FAILED;
			ans.why = "too many lookups";
			smapreq_answer(r, &ans);
			return;
		}
		if (smap_decide(&r->q, &r->facts, &r->need, &ans) ==
		    ENGINE_DONE) {
			smapreq_answer(r, &ans);
			return;
		}
		if (resolve_start(r->gen->resolver, r->need.v, r->need.n,
		    smapreq_fact, smapreq_resolved, r, &r->rq) != 0)
			return;		/* smapreq_resolved() goes on */
	}
}

void
smapreq_start(struct smapreq *r, struct gen *g, const char *name,
    size_t nlen, const char *key, size_t klen)
{
	const struct conf *cfg = g->cfg;
	enum smap_name sn;
	struct timeval tv;

	r->active = true;
	r->gen = gen_ref(g);
	r->rounds = 0;
	r->nstale_neg = 0;
	if (!smap_name_find(name, nlen, &sn)) {
		static struct log_rate lr;
		char	 n[STR_SANITIZE_MAX + 4];

		msg_warn_rated(&lr, LOG_RATE_OUTAGE_MS,
		    "%s: socketmap: unknown map name \"%s\"; answering PERM",
		    r->conn->peer, str_sanitize(n, name, nlen,
		    STR_SANITIZE_MAX));
		smapreq_reply(r, SOCKETMAP_PERM, "unknown map name");
		return;
	}
	if (smap_query_init(&cfg->engine, sn, key, klen, &r->q) < 0) {
		smap_query_free(&r->q);
		smapreq_reply(r, SOCKETMAP_NOTFOUND, NULL);
		return;
	}
	factset_init(&r->facts);
	r->parsed = true;
	tv = clock_tv_ms(cfg->request_timeout);
	evtimer_add(r->timer, &tv);
	smapreq_step(r);
}
