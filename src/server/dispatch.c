/*
 * dispatch - run one policy request. See dispatch.h.
 *
 * The flow: non-RCPT requests get DUNNO at once. For RCPT, parse the
 * recipient, then loop: ask the engine; it either decides, or lists the
 * lookups it may need; those go to the resolver (server/resolve: the
 * in-process cache, Redis, then PostgreSQL pipelined per database, with
 * single flight), and when all are answered, ask again. A deadline
 * (request_timeout) bounds the whole request: when it fires, the
 * lookups still pending are answered from the cache if it knows them
 * (stale is better than nothing when the database hangs) or as lookup
 * failures, and the engine decides with that, as Postfix would have at
 * its first failed lookup: lookup_failure_action.
 *
 * Depends on: core/, proto/, server/{resolve,stats,metrics}, util/,
 * libevent (timer only).
 * Security: the recipient and every logged field are untrusted; they are
 * never pasted into SQL (sqlmap makes parameters) and are sanitised in
 * log lines (declog).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/addr.h"
#include "core/engine.h"
#include "conf/conf.h"
#include "proto/declog.h"
#include "proto/policy.h"
#include "server/conn.h"
#include "server/dispatch.h"
#include "server/resolve.h"
#include "server/stats.h"
#include "server/worker.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

struct req {
	struct worker *w;
	struct conn *conn;
	struct gen *gen;
	struct policy_req pr;
	struct addr addr;
	struct factset facts;
	struct lookup_list need;
	struct event *timer;
	struct resolve_req *rq;		/* lookups in the air, or NULL */
	unsigned rounds;
	uint64_t t0;
	enum fact_source costliest;	/* of the facts used: pure < local <
					 * redis < db */
	unsigned nstale;		/* cached answers used past their TTL
					 * because the database failed */
	uint64_t stale_age_ms;		/* the oldest of them */
};

static void dispatch_step(struct req *r);

/* req_free - release everything; cancels lookups still out */
static void
req_free(struct req *r)
{
	if (r->rq != NULL)
		resolve_cancel(r->rq);
	r->rq = NULL;
	if (r->timer)
		event_free(r->timer);
	factset_free(&r->facts);
	addr_free(&r->addr);
	policy_req_free(&r->pr);
	gen_unref(r->w, &r->gen);
	free(r);
}

/* source_rank - how far a fact had to be fetched */
static int
source_rank(enum fact_source s)
{
	switch (s) {
	case FACT_SRC_PURE:
		return 0;
	case FACT_SRC_CACHE_LOCAL:
		return 1;
	case FACT_SRC_CACHE_REDIS:
		return 2;
	case FACT_SRC_DB:
		return 3;
	}
	return 3;
}

/*
 * source_name - how the deciding fact was had, for the log line; with
 * no single deciding fact (user unknown: every key missed), the
 * costliest source that was used
 */
static const char *
source_name(const struct req *r, const struct verdict *v)
{
	if (v->decided_by != NULL)
		return fact_source_name(v->decided_by->source);
	return fact_source_name(r->costliest);
}

/*
 * dispatch_finish - log and answer. The log line goes out for rejects
 * and defers always, for the rest with log_level >= 1.
 */
static void
dispatch_finish(struct req *r, const struct verdict *v, const char *lookup)
{
	const struct conf *cfg = r->gen->cfg;
	struct conn *c = r->conn;
	uint64_t delay = clock_mono_us() - r->t0;
	struct buf line;
	char *action;

	stats_add(rcpt, 1);
	stats_decision(v->kind, v->dclass, v->warn_only, delay);
	if (r->nstale > 0) {
		char	 rc[STR_SANITIZE_MAX + 4];

		msg_warn("<%s>: PostgreSQL did not answer; %u lookup%s "
		    "answered from the cache, stale (up to %llus old, "
		    "cache_stale_ttl)", str_sanitize(rc, r->pr.recipient,
		    strlen(r->pr.recipient), STR_SANITIZE_MAX), r->nstale,
		    r->nstale == 1 ? "" : "s",
		    (unsigned long long)(r->stale_age_ms / CLOCK_MS_PER_S));
	}
	if (v->code != 0 || cfg->log_level >= 1) {
		buf_init(&line, 0);
		declog_format(&line, &r->pr, v, lookup, delay);
		msg_info("%s", buf_str(&line));
		buf_free(&line);
	}
	action = xstrdup(v->action);
	c->req = NULL;
	req_free(r);
	conn_done(c, action);
	free(action);
}

/* dispatch_fact - one answered lookup into the fact set */
static void
dispatch_fact(void *arg, const struct resolve_fact *f)
{
	struct req *r = arg;

	factset_add(&r->facts, f->map, f->key, f->result, f->source, f->value,
	    f->why);
	if (source_rank(f->source) > source_rank(r->costliest))
		r->costliest = f->source;
	if (f->stale) {
		r->nstale++;
		if (f->age_ms > r->stale_age_ms)
			r->stale_age_ms = f->age_ms;
	}
}

/* dispatch_resolved - every lookup of the round is answered */
static void
dispatch_resolved(void *arg)
{
	struct req *r = arg;

	r->rq = NULL;
	dispatch_step(r);
}

static void
dispatch_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct req *r = arg;
	const struct engine_cfg *ecfg = &r->gen->cfg->engine;
	struct verdict v;
	char rcpt[STR_SANITIZE_MAX + 4];

	msg_warn("request for <%s> timed out after %llums (%s)",
	    str_sanitize(rcpt, r->pr.recipient, strlen(r->pr.recipient),
	    STR_SANITIZE_MAX), (unsigned long long)r->gen->cfg->request_timeout,
	    CONF_NAME(request_timeout));
	if (r->rq != NULL)
		resolve_abandon(r->rq, "request timed out");
	r->rq = NULL;
	/* decide with what is known; whatever else is needed now comes
	 * from the in-process cache or is a lookup failure */
	for (;;) {
		if (++r->rounds > DISPATCH_ROUNDS_MAX) {
			engine_failure(ecfg, &v);
			break;
		}
		if (engine_decide(ecfg, &r->addr, &r->facts, &r->need, &v,
		    NULL) == ENGINE_DONE)
			break;
		resolve_fallback(r->gen->resolver, r->need.v, r->need.n,
		    dispatch_fact, r, "request timed out");
	}
	dispatch_finish(r, &v, v.kind == VERDICT_FAILURE ? "timeout" :
	    source_name(r, &v));
}

/* dispatch_step - ask the engine again with the facts known now */
static void
dispatch_step(struct req *r)
{
	const struct conf *cfg = r->gen->cfg;
	struct verdict v;

	for (;;) {
		if (++r->rounds > DISPATCH_ROUNDS_MAX)
			msg_panic("dispatch_step: engine did not converge");
		if (engine_decide(&cfg->engine, &r->addr, &r->facts, &r->need,
		    &v, NULL) == ENGINE_DONE) {
			dispatch_finish(r, &v, source_name(r, &v));
			return;
		}
		if (resolve_start(r->gen->resolver, r->need.v, r->need.n,
		    dispatch_fact, dispatch_resolved, r, &r->rq) != 0)
			return;		/* dispatch_resolved() goes on */
	}
}

void
dispatch_start(struct worker *w, struct conn *c, struct gen *g,
    struct policy_req *pr)
{
	const struct conf *cfg = g->cfg;
	struct timeval tv;
	const char *err;
	struct req *r;

	r = xcalloc(1, sizeof(*r));
	r->w = w;
	r->conn = c;
	r->gen = gen_ref(g);
	r->pr = *pr;
	memset(pr, 0, sizeof(*pr));
	r->t0 = clock_mono_us();
	factset_init(&r->facts);
	r->costliest = FACT_SRC_PURE;

	/* Only RCPT is ours; everything else goes on to other restrictions */
	if (r->pr.protocol_state == NULL ||
	    strcasecmp(r->pr.protocol_state, "RCPT") != 0) {
		stats_add(req_other, 1);
		req_free(r);
		conn_done(c, "DUNNO");
		return;
	}
	stats_add(req_rcpt, 1);
	if (r->pr.recipient == NULL ||
	    addr_parse(r->pr.recipient, &cfg->engine.addr, &r->addr,
	    &err) < 0) {
		char s[STR_SANITIZE_MAX + 4];
		const char *rc = r->pr.recipient ? r->pr.recipient : "";
		char *action = xstrdup(cfg->engine.other_domain_action);

		msg_warn("%s: bad or missing recipient \"%s\": %s; answering "
		    "%s", c->peer, str_sanitize(s, rc, strlen(rc),
		    STR_SANITIZE_MAX), r->pr.recipient ? err : "absent",
		    action);
		req_free(r);
		conn_done(c, action);
		free(action);
		return;
	}
	c->req = r;
	r->timer = evtimer_new(w->base, dispatch_timeout, r);
	if (r->timer == NULL)
		msg_fatal("evtimer_new: out of memory");
	tv = clock_tv_ms(cfg->request_timeout);
	evtimer_add(r->timer, &tv);
	dispatch_step(r);
}

void
dispatch_abort(struct req **rp)
{
	struct req *r = *rp;

	*rp = NULL;
	if (r != NULL)
		req_free(r);
}
