/*
 * dispatch - run one policy request. See dispatch.h.
 *
 * The flow: non-RCPT requests get DUNNO at once. For RCPT, parse the
 * recipient, then loop: ask the engine; it either decides, or lists the
 * lookups it may need; those are expanded into parameters and sent, one
 * pipelined batch per database; when every batch is back, ask again. A
 * deadline (request_timeout) bounds the whole request: when it fires,
 * pending lookups are cancelled and the answer is lookup_failure_action.
 *
 * Depends on: core/, proto/, store/db, util/, libevent (timer only).
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
#include "daemon/config.h"
#include "proto/declog.h"
#include "proto/policy.h"
#include "server/conn.h"
#include "server/dispatch.h"
#include "server/worker.h"
#include "store/db.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define DISPATCH_BATCHES_MAX	16	/* database batches in one round */

/* one query of a batch, with what we need to turn its result into a fact */
struct bquery {
	const struct map *map;
	const char *key;		/* borrowed from req->addr */
	char	*params[SQLMAP_PARAMS_MAX];
	size_t	 nparams;
};

struct batch {
	struct req *req;		/* NULL once the request is gone */
	struct db_op *op;
	struct bquery q[DB_QUERIES_MAX];
	size_t	 n;
};

struct req {
	struct worker *w;
	struct conn *conn;
	struct gen *gen;
	struct policy_req pr;
	struct addr addr;
	struct factset facts;
	struct lookup_list need;
	struct event *timer;
	struct batch *batches[DISPATCH_BATCHES_MAX];
	size_t	 nbatches;
	size_t	 pending;		/* batches not yet answered */
	unsigned rounds;
	uint64_t t0;
	bool	 used_db;
};

static void dispatch_step(struct req *r);

static void
batch_free(struct batch *b)
{
	size_t i, j;

	for (i = 0; i < b->n; i++)
		for (j = 0; j < b->q[i].nparams; j++)
			free(b->q[i].params[j]);
	free(b);
}

/* req_free - release everything; cancels batches still out */
static void
req_free(struct req *r)
{
	size_t i;

	for (i = 0; i < r->nbatches; i++) {
		if (r->batches[i] == NULL)
			continue;
		db_cancel(r->batches[i]->op);
		batch_free(r->batches[i]);
	}
	if (r->timer)
		event_free(r->timer);
	factset_free(&r->facts);
	addr_free(&r->addr);
	policy_req_free(&r->pr);
	gen_unref(r->w, &r->gen);
	free(r);
}

/* source_name - how the deciding fact was had, for the log line */
static const char *
source_name(const struct req *r, const struct verdict *v)
{
	if (v->decided_by != NULL)
		return fact_source_name(v->decided_by->source);
	return r->used_db ? "db" : "pure";
}

/*
 * dispatch_finish - log and answer. The log line goes out for rejects
 * and defers always, for the rest with log_level >= 1.
 */
static void
dispatch_finish(struct req *r, const struct verdict *v, const char *lookup)
{
	const struct config *cfg = r->gen->cfg;
	struct conn *c = r->conn;
	uint64_t delay = clock_mono_us() - r->t0;
	struct buf line;
	char *action;

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

static void
dispatch_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct req *r = arg;
	struct verdict v;
	char rcpt[STR_SANITIZE_MAX + 4];

	msg_warn("request for <%s> timed out after %llums (request_timeout)",
	    str_sanitize(rcpt, r->pr.recipient, strlen(r->pr.recipient),
	    STR_SANITIZE_MAX), r->gen->cfg->request_timeout_ms);
	engine_failure(&r->gen->cfg->engine, &v);
	dispatch_finish(r, &v, "timeout");
}

/* fact_from_result - one query's answer into the fact set */
static void
fact_from_result(struct req *r, const struct bquery *q,
    const struct db_result *res)
{
	char k[STR_SANITIZE_MAX + 4], e[STR_SANITIZE_MAX + 4];
	char *value = NULL, *why = NULL, *warn = NULL;
	enum fact_result fr;

	if (res->status == DB_ERROR) {
		/* Postfix: maps.c "%s:%s lookup error for \"%s\"" */
		msg_warn("%s lookup error for \"%s\": %s", q->map->name,
		    str_sanitize(k, q->key, strlen(q->key), STR_SANITIZE_MAX),
		    str_sanitize(e, res->error, strlen(res->error),
		    STR_SANITIZE_MAX));
		factset_add(&r->facts, q->map, q->key, FACT_UNAVAILABLE,
		    FACT_SRC_DB, NULL, res->error);
		return;
	}
	fr = sqlmap_result(q->map->u.sql, q->key, res->vals, res->nvals,
	    &value, &why, &warn);
	if (warn != NULL) {
		msg_warn("%s", str_sanitize(e, warn, strlen(warn),
		    STR_SANITIZE_MAX));
		free(warn);
	}
	if (fr == FACT_UNAVAILABLE)
		msg_warn("%s lookup error for \"%s\": %s", q->map->name,
		    str_sanitize(k, q->key, strlen(q->key), STR_SANITIZE_MAX),
		    why ? why : "unavailable");
	factset_add(&r->facts, q->map, q->key, fr, FACT_SRC_DB, value, why);
	free(value);
	free(why);
}

static void
dispatch_db_done(void *arg, const struct db_result *results, size_t n)
{
	struct batch *b = arg;
	struct req *r = b->req;
	size_t i;

	if (r == NULL)
		msg_panic("dispatch_db_done: callback for a freed request");
	for (i = 0; i < n && i < b->n; i++)
		fact_from_result(r, &b->q[i], &results[i]);
	for (i = 0; i < r->nbatches; i++)
		if (r->batches[i] == b)
			r->batches[i] = NULL;
	batch_free(b);
	if (--r->pending == 0)
		dispatch_step(r);
}

/*
 * dispatch_submit - send the lookups of r->need, one batch per database
 * (split at DB_QUERIES_MAX). Lookups whose query turns out to be
 * suppressed are answered here. Returns the number of batches sent.
 */
static size_t
dispatch_submit(struct req *r)
{
	struct gen *g = r->gen;
	struct batch *open[DISPATCH_BATCHES_MAX] = { 0 };
	unsigned dbidx[DISPATCH_BATCHES_MAX];
	struct db_query qs[DB_QUERIES_MAX];
	size_t nopen = 0, i, j, sent = 0;

	for (i = 0; i < r->need.n; i++) {
		const struct lookup *lk = &r->need.v[i];
		const struct sqlmap *sm;
		struct batch *b = NULL;
		struct bquery *q;
		unsigned d;

		if (lk->map->type != MAP_PGSQL)
			msg_panic("dispatch_submit: engine asked for a pure "
			    "lookup in %s", lk->map->name);
		sm = lk->map->u.sql;
		if (sm->id >= g->nsqlmaps)
			msg_panic("dispatch_submit: unknown sqlmap id %u",
			    sm->id);
		d = g->db_of_sqlmap[sm->id];
		for (j = 0; j < nopen; j++)
			if (dbidx[j] == d && open[j]->n < DB_QUERIES_MAX)
				b = open[j];
		if (b == NULL) {
			if (nopen == DISPATCH_BATCHES_MAX)
				msg_panic("dispatch_submit: too many batches");
			b = xcalloc(1, sizeof(*b));
			b->req = r;
			dbidx[nopen] = d;
			open[nopen++] = b;
		}
		q = &b->q[b->n];
		q->map = lk->map;
		q->key = lk->key;
		if (!sqlmap_expand(sm, lk->key, q->params)) {
			/* the engine pre-checks this; be safe anyway */
			factset_add(&r->facts, lk->map, lk->key,
			    FACT_NOT_FOUND, FACT_SRC_PURE, NULL, NULL);
			continue;
		}
		q->nparams = sm->nparams;
		b->n++;
	}
	r->nbatches = 0;
	for (j = 0; j < nopen; j++) {
		struct batch *b = open[j];

		if (b->n == 0) {
			batch_free(b);
			continue;
		}
		for (i = 0; i < b->n; i++) {
			qs[i].sm = b->q[i].map->u.sql;
			qs[i].nparams = b->q[i].nparams;
			for (size_t k = 0; k < b->q[i].nparams; k++)
				qs[i].params[k] = b->q[i].params[k];
		}
		if (db_submit(g->dbs[dbidx[j]], qs, b->n, dispatch_db_done, b,
		    &b->op) < 0) {
			/* queue full: every lookup of the batch failed */
			for (i = 0; i < b->n; i++)
				factset_add(&r->facts, b->q[i].map,
				    b->q[i].key, FACT_UNAVAILABLE, FACT_SRC_DB,
				    NULL, "database queue full");
			msg_warn("database request queue full; "
			    "answering lookup failure");
			batch_free(b);
			continue;
		}
		r->batches[r->nbatches++] = b;
		sent++;
	}
	r->pending = sent;
	if (sent > 0)
		r->used_db = true;
	return sent;
}

/* dispatch_step - ask the engine again with the facts known now */
static void
dispatch_step(struct req *r)
{
	const struct config *cfg = r->gen->cfg;
	struct verdict v;

	for (;;) {
		if (++r->rounds > DISPATCH_ROUNDS_MAX)
			msg_panic("dispatch_step: engine did not converge");
		if (engine_decide(&cfg->engine, &r->addr, &r->facts, &r->need,
		    &v, NULL) == ENGINE_DONE) {
			dispatch_finish(r, &v, source_name(r, &v));
			return;
		}
		if (dispatch_submit(r) > 0)
			return;		/* dispatch_db_done() goes on */
	}
}

void
dispatch_start(struct worker *w, struct conn *c, struct gen *g,
    struct policy_req *pr)
{
	const struct config *cfg = g->cfg;
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

	/* Only RCPT is ours; everything else goes on to other restrictions */
	if (r->pr.protocol_state == NULL ||
	    strcasecmp(r->pr.protocol_state, "RCPT") != 0) {
		req_free(r);
		conn_done(c, "DUNNO");
		return;
	}
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
	tv.tv_sec = (time_t)(cfg->request_timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(cfg->request_timeout_ms % 1000) * 1000;
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
