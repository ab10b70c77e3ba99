/*
 * dispatch - run one policy request. See dispatch.h.
 *
 * The flow: non-RCPT requests get DUNNO at once. For RCPT, a recipient
 * in plain form (below) is first looked up in the decision cache: a
 * fresh decision there is the answer, with no parsing, no engine and
 * no allocation. Otherwise parse the recipient, then loop: ask the
 * engine; it either decides, or lists the lookups it may need; those
 * go to the resolver (server/resolve: the in-process cache, Redis, then
 * PostgreSQL pipelined per database, with single flight), and when all
 * are answered, ask again. A decision made from fresh facts while the
 * cache was trusted goes into the decision cache, fresh until the
 * earliest of those facts would expire. A deadline (request_timeout)
 * bounds the whole request: when it fires, the lookups still pending
 * are answered from the cache if it knows them (stale is better than
 * nothing when the database hangs) or as lookup failures, and the
 * engine decides with that, as Postfix would have at its first failed
 * lookup: lookup_failure_action.
 *
 * Only a recipient in plain form (core/addr.h: addr_plain) is cached:
 * it is its own folded form and its only keys are itself, "@domain" and
 * "domain", which is what invalidation messages name (server/cache.h);
 * anything else takes the engine path every time.
 *
 * Depends on: core/, proto/, server/{cache,control,resolve,stats}, util/,
 * libevent (timer only).
 * Security: the recipient and every logged field are untrusted; they are
 * never pasted into SQL (sqlmap makes parameters) and are sanitised in
 * log lines (declog).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "core/addr.h"
#include "core/cachefmt.h"
#include "core/engine.h"
#include "proto/declog.h"
#include "proto/control.h"
#include "proto/policy.h"
#include "server/cache.h"
#include "server/conn.h"
#include "server/control.h"
#include "server/dispatch.h"
#include "server/harvest.h"
#include "server/resolve.h"
#include "server/stats.h"
#include "server/worker.h"
#include "store/rcache.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

_Static_assert(ADDR_PLAIN_MAX <= CACHEFMT_KEY_MAX,
    "a plain recipient must be a cacheable key");

/* a decision as the cache keeps it: kind, class */
#define DECISION_PACK(kind, dc)	((uint32_t)(kind) | (uint32_t)(dc) << 4)
#define DECISION_KIND(p)	((enum verdict_kind)((p) & 0xf))
#define DECISION_CLASS(p)	((enum domain_class)(((p) >> 4) & 0xf))

struct req {
	struct worker *w;
	struct conn *conn;
	struct policy_req pr;		/* kept: its arena is reused */
	struct event *timer;		/* kept */
	/* per request, from here on */
	bool	 active;		/* between start and finish */
	struct gen *gen;		/* a reference while active */
	bool	 parsed;		/* addr and facts are set */
	struct addr addr;
	struct factset facts;
	struct lookup_list need;
	struct resolve_req *rq;		/* lookups in the air, or NULL */
	unsigned rounds;
	uint64_t t0;			/* monotonic us */
	uint64_t seq0;			/* cache_seq() at the start */
	bool	 trusted0;		/* cache_trusted() at the start */
	bool	 query;			/* vrcptctl's, on control_listen */
	bool	 from_decision;		/* answered by the decision cache */
	bool	 plain;			/* the recipient is in plain form */
	bool	 storable;		/* the facts allow a cached decision */
	uint64_t fresh_until_ms;	/* the earliest of the facts' ends */
	enum fact_source costliest;	/* of the facts used: pure < local <
					 * redis < db */
	unsigned nstale;		/* cached answers used past their TTL
					 * because the database failed */
	unsigned nstale_neg;		/* of them, "not found" answers */
	uint64_t stale_age_ms;		/* the oldest of them */
	struct harvest_client hc;	/* harvest protection: the client */
	struct rcache_op *hop;		/* its block being read */
};

static void dispatch_step(struct req *r);
static void dispatch_go(struct req *r);
static void dispatch_timeout(evutil_socket_t fd, short what, void *arg);

struct req *
dispatch_req_new(struct worker *w, struct conn *c)
{
	struct req *r = xcalloc(1, sizeof(*r));

	r->w = w;
	r->conn = c;
	r->timer = evtimer_new(w->base, dispatch_timeout, r);
	if (r->timer == NULL)
		msg_fatal("evtimer_new: out of memory");
	return r;
}

struct policy_req *
dispatch_req_pr(struct req *r)
{
	return &r->pr;
}

/*
 * req_reset - the end of a request: cancel lookups still out, free its
 * parts; the caller takes over the generation reference (*g_r)
 */
static void
req_reset(struct req *r, struct gen **g_r)
{
	if (r->rq != NULL)
		resolve_cancel(r->rq);
	r->rq = NULL;
	if (r->hop != NULL)
		rcache_cancel(r->hop);
	r->hop = NULL;
	evtimer_del(r->timer);
	if (r->parsed) {
		factset_free(&r->facts);
		addr_free(&r->addr);
		r->parsed = false;
	}
	*g_r = r->gen;
	r->gen = NULL;
	r->active = false;
}

void
dispatch_req_free(struct req **rp)
{
	struct req *r = *rp;
	struct gen *g;

	*rp = NULL;
	if (r == NULL)
		return;
	if (r->active) {
		req_reset(r, &g);
		gen_unref(r->w, &g);
	}
	event_free(r->timer);
	policy_req_free(&r->pr);
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

/* remember - put a decision made by the engine into the decision cache */
static void
remember(struct req *r, const struct verdict *v)
{
	const struct conf *cfg = r->gen->cfg;
	struct cache *cache = r->w->cache;
	uint64_t now = clock_wall_ms(), until = r->fresh_until_ms;
	const char *rcpt = r->pr.recipient;

	if (!r->plain || !r->storable || !r->trusted0 ||
	    v->kind == VERDICT_FAILURE || !cache_trusted(cache))
		return;
	/* from pure tables only: as long as a found answer may be kept */
	if (until == UINT64_MAX)
		until = now + cfg->cache_positive_ttl;
	if (until <= now)
		return;
	if (cache_decision_put(cache, r->gen->dns, rcpt, strlen(rcpt),
	    r->seq0, DECISION_PACK(v->kind, v->dclass), now, until, now))
		stats_add(decision_stored, 1);
}

/*
 * dispatch_finish - log and answer. The log line goes out for rejects
 * and defers always, for the rest with log_level >= 1. The request is
 * reset before the answer goes out: conn_done() may start the next one
 * on it. v may be the generation's: it is kept until then.
 */
static void
dispatch_finish(struct req *r, const struct verdict *v, const char *lookup)
{
	const struct conf *cfg = r->gen->cfg;
	struct worker *w = r->w;
	struct conn *c = r->conn;
	uint64_t delay = clock_mono_us() - r->t0;
	struct buf line;
	struct gen *g;

	if (r->query) {
		buf_init(&line, CONTROL_REPLY_MAX);
		control_query_reply(&line, v, r->from_decision ?
		    "decision_cache" : lookup, r->nstale, delay);
		req_reset(r, &g);
		conn_done_reply(c, line.data, line.len);
		buf_free(&line);
		gen_unref(w, &g);
		return;
	}
	stats_add(rcpt, 1);
	stats_decision(v->kind, v->dclass, v->warn_only, delay);
	/* harvest protection: an unknown-recipient reject sent counts */
	if (r->hc.counted && v->kind == VERDICT_UNKNOWN && !v->warn_only)
		harvest_count(w->harvest, resolver_rcache(r->gen->resolver),
		    cfg, &r->hc, clock_wall_ms());
	if (r->nstale > 0) {
		static struct log_rate lr;
		char	 rc[STR_SANITIZE_MAX + 4];

		msg_warn_rated(&lr, LOG_RATE_OUTAGE_MS,
		    "<%s>: PostgreSQL did not answer; %u lookup%s "
		    "answered from the cache, stale (up to %llus old, %s)",
		    str_sanitize(rc, r->pr.recipient, strlen(r->pr.recipient),
		    STR_SANITIZE_MAX), r->nstale, r->nstale == 1 ? "" : "s",
		    (unsigned long long)(r->stale_age_ms / CLOCK_MS_PER_S),
		    CONF_NAME(cache_stale_ttl));
	}
	if (v->code != 0 || cfg->log_level >= 1) {
		buf_init(&line, 0);
		declog_format(&line, &r->pr, v, lookup, delay,
		    cfg->smtputf8_enable);
		msg_info("%s", buf_str(&line));
		buf_free(&line);
	}
	req_reset(r, &g);
	conn_done(c, v->action);	/* may free r and c */
	gen_unref(w, &g);
}

/* dispatch_reply - answer a control request with a whole reply */
static void
dispatch_reply(struct req *r, struct buf *reply)
{
	struct worker *w = r->w;
	struct gen *g;

	req_reset(r, &g);
	conn_done_reply(r->conn, reply->data, reply->len);
	buf_free(reply);
	gen_unref(w, &g);
}

/*
 * dispatch_control - a request on control_listen: the counters, or an
 * error, are answered here (true); a query goes on as an RCPT (false)
 */
static bool
dispatch_control(struct req *r)
{
	const char *req = r->pr.request;
	struct buf reply;

	buf_init(&reply, CONTROL_REPLY_MAX);
	if (req != NULL && strcmp(req, CONTROL_REQ_QUERY) == 0) {
		if (r->pr.recipient != NULL) {
			buf_free(&reply);
			r->query = true;
			return false;
		}
		control_error_reply(&reply, "no recipient");
	} else if (req != NULL && strcmp(req, CONTROL_REQ_STATS) == 0) {
		control_stats_reply(&reply, r->w->cache);
	} else {
		control_error_reply(&reply, "unknown request (this is the "
		    "control socket: vrcpt_query, vrcpt_stats)");
	}
	dispatch_reply(r, &reply);
	return true;
}

/* dispatch_fact - one answered lookup into the fact set */
/*
 * key_named - the invalidation of a plain recipient's decision names
 * this lookup key: the recipient itself, "@domain" or "domain"
 * (server/cache.h)
 */
static bool
key_named(const struct req *r, const char *key)
{
	const char *d = r->addr.domain;

	return strcmp(key, r->addr.folded) == 0 || strcmp(key, d) == 0 ||
	    (key[0] == '@' && strcmp(key + 1, d) == 0);
}

static void
dispatch_fact(void *arg, const struct resolve_fact *f)
{
	struct req *r = arg;
	const struct conf *cfg = r->gen->cfg;
	uint64_t life, until;

	factset_add(&r->facts, f->map, f->key, f->result, f->source, f->value,
	    f->why);
	if (source_rank(f->source) > source_rank(r->costliest))
		r->costliest = f->source;
	if (f->stale) {
		r->nstale++;
		if (f->result == FACT_NOT_FOUND)
			r->nstale_neg++;
		if (f->age_ms > r->stale_age_ms)
			r->stale_age_ms = f->age_ms;
	}
	/* a decision lasts as long as the shortest-lived fact it used;
	 * one from a standby behind a change is not kept at all, nor one
	 * that used a key invalidation would not name for this recipient
	 * (a parent domain of relay_domains) */
	if (f->stale || f->behind || f->result == FACT_UNAVAILABLE ||
	    (r->plain && !key_named(r, f->key))) {
		r->storable = false;
		return;
	}
	life = f->result == FACT_FOUND ? cfg->cache_positive_ttl :
	    cfg->cache_negative_ttl;
	until = clock_wall_ms() - f->age_ms + life;
	if (until < r->fresh_until_ms)
		r->fresh_until_ms = until;
}

/* dispatch_resolved - every lookup of the round is answered */
static void
dispatch_resolved(void *arg)
{
	struct req *r = arg;

	r->rq = NULL;
	dispatch_step(r);
}

/*
 * stale_guard - a reject may not rest on a stale "not found": while the
 * database cannot answer, a mailbox created since would be bounced for
 * good. Native Postfix defers when it cannot look a recipient up, and so
 * does vrcpt then (lookup_failure_action). A stale "found" stays what
 * it is: accepting an address that existed a moment ago loses nothing.
 */
static void
stale_guard(struct req *r, struct verdict *v)
{
	const struct engine_cfg *ecfg = &r->gen->cfg->engine;
	bool	 rejects;

	if (r->nstale_neg == 0)
		return;
	/* other_domain_action may be a "5xx text" reply of its own (a
	 * restriction name is Postfix's to evaluate, with its own lookups) */
	rejects = v->kind == VERDICT_UNKNOWN ||
	    (v->kind == VERDICT_NOT_HANDLED && v->action[0] == '5');
	if (!rejects)
		return;
	engine_failure(ecfg, v);
}

static void
dispatch_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct req *r = arg;
	const struct engine_cfg *ecfg = &r->gen->cfg->engine;
	struct verdict v;
	char rcpt[STR_SANITIZE_MAX + 4];
	static struct log_rate lr;

	msg_warn_rated(&lr, LOG_RATE_OUTAGE_MS,
	    "request for <%s> timed out after %llums (%s)",
	    str_sanitize(rcpt, r->pr.recipient, strlen(r->pr.recipient),
	    STR_SANITIZE_MAX), (unsigned long long)r->gen->cfg->request_timeout,
	    CONF_NAME(request_timeout));
	if (r->rq != NULL)
		resolve_abandon(r->rq, "request timed out");
	r->rq = NULL;
	r->storable = false;
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
	stale_guard(r, &v);
	dispatch_finish(r, &v, v.kind == VERDICT_FAILURE ? "timeout" :
	    source_name(r, &v));
}

/*
 * warn_empty_result - a lookup failure that no fact caused: a table
 * answered with an empty value (inline: "k=", a record without text, a
 * pattern's empty result), which Postfix's maps_find() calls a
 * configuration error. Say so as maps_find() does, naming the
 * parameter; the walk is replayed with a trace to find the lookup
 * (rare: only such failures pay for it). Rate-limited: a client can
 * repeat the recipient.
 */
static void
warn_empty_result(struct req *r, const struct verdict *v0)
{
	static struct log_rate lr;
	const struct conf *cfg = r->gen->cfg;
	const struct trace_entry *e;
	struct lookup_list need;
	struct trace tr;
	struct verdict v;
	char	 k[STR_SANITIZE_MAX + 4];
	unsigned long held;

	if (v0->kind != VERDICT_FAILURE || v0->decided_by != NULL)
		return;
	if (engine_decide(&cfg->engine, &r->addr, &r->facts, &need, &v,
	    &tr) != ENGINE_DONE || tr.n == 0)
		return;
	e = &tr.v[tr.n - 1];
	if (e->result != FACT_UNAVAILABLE || e->source != FACT_SRC_PURE ||
	    !log_rate_ok(&lr, clock_mono_ms(), LOG_RATE_OUTAGE_MS, &held))
		return;
	msg_warn("%s lookup of %s returns an empty string result", e->param,
	    str_sanitize(k, e->key, strlen(e->key), STR_SANITIZE_MAX));
	if (held > 0)
		msg_warn("%s should return NO RESULT in case of NOT FOUND "
		    "(%lu more like this not logged)", e->param, held);
	else
		msg_warn("%s should return NO RESULT in case of NOT FOUND",
		    e->param);
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
			warn_empty_result(r, &v);
			stale_guard(r, &v);
			remember(r, &v);
			dispatch_finish(r, &v, source_name(r, &v));
			return;
		}
		if (resolve_start(r->gen->resolver, r->need.v, r->need.n,
		    dispatch_fact, dispatch_resolved, r, &r->rq) != 0)
			return;		/* dispatch_resolved() goes on */
	}
}

/* dispatch_cached - the decision cache knows: answer at once */
static bool
dispatch_cached(struct req *r)
{
	const struct gen *g = r->gen;
	const char *rcpt = r->pr.recipient;
	uint32_t packed;
	enum verdict_kind k;
	enum domain_class dc;

	if (!r->plain || !r->trusted0 ||
	    !cache_decision_get(r->w->cache, g->dns, rcpt, strlen(rcpt),
	    clock_wall_ms(), &packed))
		return false;
	k = DECISION_KIND(packed);
	dc = DECISION_CLASS(packed);
	if ((unsigned)k >= GEN_KINDS || (unsigned)dc >= GEN_CLASSES)
		return false;
	if (!r->query)
		stats_add(decision_hit, 1);
	r->from_decision = true;
	dispatch_finish(r, &g->vtab[k][dc],
	    fact_source_name(FACT_SRC_CACHE_LOCAL));
	return true;
}

/*
 * dispatch_harvest_block - the client's network is blocked: every RCPT
 * gets harvest_reply (valid ones too: a harvester must not learn which
 * addresses exist from the difference), logged as a reject; under
 * warn_if_reject only logged
 */
static void
dispatch_harvest_block(struct req *r)
{
	const struct conf *cfg = r->gen->cfg;
	struct worker *w = r->w;
	struct conn *c = r->conn;
	struct verdict v;
	struct buf line;
	struct gen *g;
	const char *reply = cfg->harvest_reply, *sp;
	size_t	 dlen;

	memset(&v, 0, sizeof(v));
	v.kind = VERDICT_FAILURE;
	v.dclass = DC_NONE;
	v.code = (unsigned)strtoul(reply, NULL, 10);
	sp = strchr(reply + 4, ' ');	/* checked: "4NN 4.N.N text" */
	dlen = (size_t)(sp - (reply + 4));
	if (dlen >= sizeof(v.dsn))
		dlen = sizeof(v.dsn) - 1;
	memcpy(v.dsn, reply + 4, dlen);
	snprintf(v.text, sizeof(v.text), "%s", sp + 1);
	v.warn_only = cfg->warn_if_reject;
	snprintf(v.action, sizeof(v.action), "%s", v.warn_only ? "DUNNO" :
	    reply);
	stats_add(rcpt, 1);
	stats_add(harvest_deferred, 1);
	buf_init(&line, 0);
	declog_format(&line, &r->pr, &v, "harvest",
	    clock_mono_us() - r->t0, cfg->smtputf8_enable);
	msg_info("%s", buf_str(&line));
	buf_free(&line);
	req_reset(r, &g);
	conn_done(c, v.action);		/* may free r and c */
	gen_unref(w, &g);
}

/* dispatch_harvest_checked - the block key read: blocked, or go on */
static void
dispatch_harvest_checked(void *arg, const struct rcache_val *vals, size_t n)
{
	struct req *r = arg;

	r->hop = NULL;
	if (harvest_check_result(r->w->harvest, r->gen->cfg, &r->hc, vals, n,
	    clock_wall_ms()))
		dispatch_harvest_block(r);
	else
		dispatch_go(r);
}

void
dispatch_start(struct req *r, struct gen *g)
{
	const struct conf *cfg = g->cfg;
	struct gen *gref;

	r->active = true;
	r->gen = gen_ref(g);
	r->t0 = clock_mono_us();
	r->rounds = 0;
	r->costliest = FACT_SRC_PURE;
	r->nstale = 0;
	r->nstale_neg = 0;
	r->stale_age_ms = 0;
	r->query = false;
	r->from_decision = false;

	if (r->conn->control) {
		if (dispatch_control(r))
			return;
	} else if (r->pr.protocol_state == NULL ||
	    strcasecmp(r->pr.protocol_state, "RCPT") != 0) {
		/* Only RCPT is ours; the rest goes on to other restrictions */
		stats_add(req_other, 1);
		req_reset(r, &gref);
		conn_done(r->conn, "DUNNO");
		gen_unref(r->w, &gref);
		return;
	} else
		stats_add(req_rcpt, 1);
	r->hc.counted = false;
	/* harvest protection (off: this one test) for Postfix's requests */
	if (cfg->harvest_limit > 0 && !r->conn->control) {
		harvest_client(cfg, r->pr.client_address, r->pr.sasl_username,
		    &r->hc);
		if (r->hc.counted) {
			if (harvest_blocked(r->w->harvest, r->hc.net,
			    clock_wall_ms())) {
				dispatch_harvest_block(r);
				return;
			}
			if (harvest_check(r->w->harvest,
			    resolver_rcache(g->resolver), &r->hc,
			    dispatch_harvest_checked, r, &r->hop) == 0)
				return;	/* the callback goes on */
		}
	}
	dispatch_go(r);
}

/* dispatch_go - an RCPT or a query: the decision cache, else the engine */
static void
dispatch_go(struct req *r)
{
	struct gen *g = r->gen;
	const struct conf *cfg = g->cfg;
	const char *err, *rcpt;
	struct timeval tv;
	struct gen *gref;

	rcpt = r->pr.recipient;
	r->seq0 = cache_seq(r->w->cache);
	r->trusted0 = cache_trusted(r->w->cache);
	r->plain = rcpt != NULL && g->decisions_on &&
	    addr_plain(rcpt, strlen(rcpt), cfg->recipient_delimiter);
	if (dispatch_cached(r))
		return;
	r->storable = true;
	r->fresh_until_ms = UINT64_MAX;
	if (rcpt == NULL ||
	    addr_parse(rcpt, &cfg->engine.addr, &r->addr, &err) < 0) {
		struct worker *w = r->w;
		struct conn *c = r->conn;
		char s[STR_SANITIZE_MAX + 4];

		if (r->query) {
			struct buf reply;

			buf_init(&reply, CONTROL_REPLY_MAX);
			control_error_reply(&reply, err);
			dispatch_reply(r, &reply);
			return;
		}
		static struct log_rate lr;

		msg_warn_rated(&lr, LOG_RATE_OUTAGE_MS,
		    "%s: bad or missing recipient \"%s\": %s; answering "
		    "%s", c->peer, str_sanitize(s, rcpt ? rcpt : "",
		    rcpt ? strlen(rcpt) : 0, STR_SANITIZE_MAX),
		    rcpt ? err : "absent", cfg->engine.other_domain_action);
		req_reset(r, &gref);
		conn_done(c, cfg->engine.other_domain_action);
		gen_unref(w, &gref);
		return;
	}
	factset_init(&r->facts);
	r->parsed = true;
	tv = clock_tv_ms(cfg->request_timeout);
	evtimer_add(r->timer, &tv);
	dispatch_step(r);
}
