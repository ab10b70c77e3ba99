/*
 * rcache - Redis cache tier on a libevent loop. See rcache.h.
 *
 * States: DOWN (waiting out a backoff), CONNECTING (socket connected or
 * connecting, handshake AUTH/SELECT/PING in the air) and READY (the
 * handshake's PING came back). Only READY takes reads.
 *
 * Every command we send is an op on rc->sent (send order = reply order).
 * hiredis calls reply_cb exactly once per command: with the reply, or
 * with NULL when the context dies. A read's answer is copied and queued
 * on rc->done, and callbacks to our caller run only from the deliver
 * event or the op's budget timer, never inside hiredis: the caller may
 * then do anything, even rcache_free(), without hiredis on the stack.
 *
 * An op is freed when hiredis is done with it and our caller is too
 * (answered, timed out or cancelled).
 *
 * With Sentinel, the tick also watches the master's generation: a new
 * one drops the connection (quietly: the watcher logs the move once for
 * the process) and connects to the new master at once.
 *
 * Depends on: libevent (core), hiredis (async), store/{rcache_ev,
 * sentinel}, util/. Security: replies come from a shared service and
 * are only copied here; the caller parses them (core/cachefmt) and
 * treats anything odd as a miss. The password is never logged.
 */
#include <sys/queue.h>
#include <sys/time.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "conf/endpoint.h"
#include "core/cachefmt.h"
#include "store/rcache.h"
#include "store/rcache_ev.h"
#include "store/sentinel.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/strutil.h"
#include "util/xalloc.h"


/* a fill: store unless a tombstone says the key was just invalidated;
 * the epochs it depends on live on (a PEXPIRE of a missing key is a
 * no-op: an epoch is only ever made by SET NX with a random value) */
#define RCACHE_FILL_LUA \
	"local v = redis.call('GET', KEYS[1]) " \
	"if v and string.sub(v, 1, 2) == 'T|' then return 0 end " \
	"redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) " \
	"redis.call('PEXPIRE', KEYS[2], ARGV[3]) " \
	"redis.call('PEXPIRE', KEYS[3], ARGV[3]) " \
	"return 1"

enum rcache_conn_state {
	RC_DOWN,
	RC_CONNECTING,
	RC_READY
};

enum rcache_op_kind {
	RC_OP_MGET,
	RC_OP_HANDSHAKE,	/* AUTH, SELECT */
	RC_OP_PING,		/* the last of the handshake */
	RC_OP_WRITE		/* fill, set nx: nobody waits */
};

struct rcache_op {
	TAILQ_ENTRY(rcache_op) link;	/* rc->sent or rc->done */
	struct rcache *rc;		/* NULL once the rcache is gone */
	enum rcache_op_kind kind;
	rcache_mget_cb *cb;		/* NULL: nobody waits any more */
	void	*arg;
	struct event *timer;		/* a read's budget */
	uint64_t sent_us;
	bool	 in_sent, in_done;
	bool	 replied;		/* hiredis is done with it */
	struct rcache_val *vals;	/* a read's copied answer, or NULL */
	size_t	 nvals;
	const char *what;		/* handshake: "AUTH", "SELECT",
					 * "ROLE" */
};

TAILQ_HEAD(rcache_ops, rcache_op);

struct rcache {
	struct event_base *base;
	char	*path;			/* unix socket, or */
	char	*host;			/* TCP host and port (with Sentinel:
					 * the master's when connecting) */
	int	 port;
	struct sentinel *sentinel;	/* NULL: a fixed endpoint */
	uint64_t gen;			/* the master's generation */
	char	*password;
	unsigned db;
	unsigned timeout_ms;
	char	*label;
	redisAsyncContext *ac;
	enum rcache_conn_state state;
	uint64_t connect_us;		/* start of the connection attempt */
	unsigned backoff_ms;
	bool	 warned;		/* "down" was logged */
	struct rcache_ops sent, done;
	size_t	 nsent;
	struct event *tick_ev, *retry_ev, *deliver_ev;
};

static void rc_connect(struct rcache *rc);

void
rcache_endpoint_split(const struct endpoint *ep, char **path_r,
    char **host_r, int *port_r)
{
	*path_r = *host_r = NULL;
	*port_r = 0;
	if (ep->kind == ENDPOINT_UNIX) {
		*path_r = xstrdup(ep->path);
		return;
	}
	*host_r = xstrdup(ep->host[0] != '\0' ? ep->host : "127.0.0.1");
	*port_r = (int)ep->port;
}

static void
timer_add_ms(struct event *ev, unsigned ms)
{
	struct timeval tv = clock_tv_ms(ms);

	evtimer_add(ev, &tv);
}

static void
op_free(struct rcache_op *op)
{
	if (op->timer != NULL)
		event_free(op->timer);
	free(op->vals);
	free(op);
}

/* rc_backoff - schedule the next connection attempt */
static void
rc_backoff(struct rcache *rc)
{
	unsigned ms;

	ms = backoff_next(&rc->backoff_ms, RCACHE_BACKOFF_MIN_MS,
	    RCACHE_BACKOFF_MAX_MS);
	timer_add_ms(rc->retry_ev, ms);
}

/* rc_warn_down - log the first failure of a series only */
static void
rc_warn_down(struct rcache *rc, const char *why)
{
	char	 s[STR_SANITIZE_MAX + 4];

	if (rc->warned)
		return;
	rc->warned = true;
	if (rc->sentinel != NULL && rc->host != NULL)
		msg_warn("%s: master %s:%d: %s; answering without Redis until "
		    "it is back", rc->label, rc->host, rc->port, str_sanitize(s,
		    why, strlen(why), STR_SANITIZE_MAX));
	else
		msg_warn("%s: %s; answering without Redis until it is back",
		    rc->label, str_sanitize(s, why, strlen(why),
		    STR_SANITIZE_MAX));
}

/*
 * rc_drop - give up the connection. free_it: we free the context
 * (false when hiredis is freeing it already: onDisconnect, failed
 * connect). Ops still in the air get NULL replies from hiredis when the
 * context goes, which answers their readers "no answer". why NULL: the
 * master moved (nothing failed, nothing to log). With Sentinel, a
 * failure makes the watcher ask again.
 */
static void
rc_drop(struct rcache *rc, const char *why, bool free_it)
{
	redisAsyncContext *ac = rc->ac;

	rc->ac = NULL;
	rc->state = RC_DOWN;
	if (why != NULL) {
		rc_warn_down(rc, why);
		if (rc->sentinel != NULL)
			sentinel_suspect(rc->sentinel, rc->gen);
	}
	if (ac != NULL) {
		ac->data = NULL;
		if (free_it)
			redisAsyncFree(ac);
	}
	rc_backoff(rc);
}

static void
rc_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rcache *rc = arg;
	struct rcache_op *op = TAILQ_FIRST(&rc->done);
	rcache_mget_cb *cb;

	if (op == NULL)
		return;
	TAILQ_REMOVE(&rc->done, op, link);
	op->in_done = false;
	/* one per run: the callback may free rc */
	if (!TAILQ_EMPTY(&rc->done))
		event_active(rc->deliver_ev, EV_TIMEOUT, 0);
	cb = op->cb;
	op->cb = NULL;
	evtimer_del(op->timer);
	if (cb != NULL)
		cb(op->arg, op->vals, op->vals != NULL ? op->nvals : 0);
	op_free(op);
}

/* copy_vals - a read's reply, copied (NULL when it is not an answer) */
static struct rcache_val *
copy_vals(const redisReply *reply, size_t n)
{
	struct rcache_val *v;
	size_t	 i, total = n * sizeof(*v);
	char	*p;

	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != n)
		return NULL;
	for (i = 0; i < n; i++)
		if (reply->element[i]->type == REDIS_REPLY_STRING)
			total += (size_t)reply->element[i]->len + 1;
	v = xmalloc(total);
	p = (char *)(v + n);
	for (i = 0; i < n; i++) {
		const redisReply *e = reply->element[i];

		if (e->type != REDIS_REPLY_STRING) {
			v[i].s = NULL;
			v[i].len = 0;
			continue;
		}
		memcpy(p, e->str, (size_t)e->len);
		p[e->len] = '\0';
		v[i].s = p;
		v[i].len = (size_t)e->len;
		p += e->len + 1;
	}
	return v;
}

/* rc_handshake_reply - AUTH, SELECT, ROLE and PING answers */
static void
rc_handshake_reply(struct rcache *rc, struct rcache_op *op,
    const redisReply *reply)
{
	char	*why, err[SENTINEL_ERR_MAX];

	if (reply == NULL || rc->ac == NULL)
		return;		/* the connection went; handled there */
	/* a Sentinel may name a master that is no more: it must say so */
	if (reply->type != REDIS_REPLY_ERROR && strcmp(op->what, "ROLE") == 0 &&
	    sentinel_role_check(reply, err) < 0) {
		rc_drop(rc, err, true);
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		char	 s[STR_SANITIZE_MAX + 4];

		why = xasprintf("%s failed: %s", op->what,
		    str_sanitize(s, reply->str, (size_t)reply->len,
		    STR_SANITIZE_MAX));
		rc_drop(rc, why, true);
		free(why);
		return;
	}
	if (op->kind != RC_OP_PING)
		return;
	rc->state = RC_READY;
	rc->backoff_ms = 0;
	if (rc->warned) {
		msg_info("%s: connected; using Redis again", rc->label);
		rc->warned = false;
	}
}

static void
rc_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct rcache_op *op = privdata;
	struct rcache *rc = op->rc;
	redisReply *reply = r;

	op->replied = true;
	if (op->in_sent) {
		TAILQ_REMOVE(&rc->sent, op, link);
		op->in_sent = false;
		rc->nsent--;
	}
	switch (op->kind) {
	case RC_OP_HANDSHAKE:
	case RC_OP_PING:
		if (rc != NULL)
			rc_handshake_reply(rc, op, reply);
		op_free(op);
		return;
	case RC_OP_WRITE:
		/* a master turned replica refuses writes: find the new one */
		if (rc != NULL && rc->ac == ac && rc->sentinel != NULL &&
		    reply != NULL && reply->type == REDIS_REPLY_ERROR &&
		    sentinel_readonly(reply->str, (size_t)reply->len))
			rc_drop(rc, "a replica now (READONLY)", true);
		op_free(op);
		return;
	case RC_OP_MGET:
		break;
	}
	if (rc == NULL || op->cb == NULL) {
		op_free(op);	/* timed out or cancelled: late answer */
		return;
	}
	op->vals = copy_vals(reply, op->nvals);
	TAILQ_INSERT_TAIL(&rc->done, op, link);
	op->in_done = true;
	event_active(rc->deliver_ev, EV_TIMEOUT, 0);
}

/* rc_budget_cb - a read ran out of time: the caller hears "no answer" */
static void
rc_budget_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rcache_op *op = arg;
	rcache_mget_cb *cb = op->cb;

	op->cb = NULL;
	if (cb == NULL)
		return;
	if (op->in_done) {
		/* answered, not yet delivered: deliver the answer */
		TAILQ_REMOVE(&op->rc->done, op, link);
		op->in_done = false;
		cb(op->arg, op->vals, op->vals != NULL ? op->nvals : 0);
		op_free(op);
		return;
	}
	/* hiredis still owns op; it is freed when the reply comes. Do not
	 * touch op after the callback, which may free everything. */
	cb(op->arg, NULL, 0);
}

static void
rc_on_connect(const redisAsyncContext *ac, int status)
{
	struct rcache *rc = ac->data;

	if (rc == NULL || status == REDIS_OK)
		return;
	/* hiredis frees ac after this */
	rc_drop(rc, ac->errstr[0] ? ac->errstr : "connect failed", false);
}

static void
rc_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rcache *rc = ac->data;

	if (rc == NULL)
		return;
	rc_drop(rc, ac->errstr[0] ? ac->errstr : "connection closed", false);
}

/* rc_send - an op on the wire; 0, or -1 (op freed) */
static int
rc_send(struct rcache *rc, struct rcache_op *op, int argc,
    const char **argv, const size_t *lens)
{
	op->rc = rc;
	op->sent_us = clock_mono_us();
	if (redisAsyncCommandArgv(rc->ac, rc_reply_cb, op, argc, argv,
	    lens) != REDIS_OK) {
		op_free(op);
		return -1;
	}
	TAILQ_INSERT_TAIL(&rc->sent, op, link);
	op->in_sent = true;
	rc->nsent++;
	return 0;
}

static void
rc_handshake(struct rcache *rc)
{
	struct rcache_op *op;
	const char *argv[2];
	size_t	 lens[2];
	char	 db[16];

	if (rc->password != NULL && rc->password[0] != '\0') {
		op = xcalloc(1, sizeof(*op));
		op->kind = RC_OP_HANDSHAKE;
		op->what = "AUTH";
		argv[0] = "AUTH";
		argv[1] = rc->password;
		lens[0] = 4;
		lens[1] = strlen(rc->password);
		(void)rc_send(rc, op, 2, argv, lens);
	}
	if (rc->db != 0) {
		op = xcalloc(1, sizeof(*op));
		op->kind = RC_OP_HANDSHAKE;
		op->what = "SELECT";
		snprintf(db, sizeof(db), "%u", rc->db);
		argv[0] = "SELECT";
		argv[1] = db;
		lens[0] = 6;
		lens[1] = strlen(db);
		(void)rc_send(rc, op, 2, argv, lens);
	}
	if (rc->sentinel != NULL) {
		op = xcalloc(1, sizeof(*op));
		op->kind = RC_OP_HANDSHAKE;
		op->what = "ROLE";
		argv[0] = "ROLE";
		lens[0] = 4;
		(void)rc_send(rc, op, 1, argv, lens);
	}
	op = xcalloc(1, sizeof(*op));
	op->kind = RC_OP_PING;
	op->what = "PING";
	argv[0] = "PING";
	lens[0] = 4;
	(void)rc_send(rc, op, 1, argv, lens);
}

static void
rc_connect(struct rcache *rc)
{
	redisAsyncContext *ac;
	struct sentinel_master m;
	char	 err[SENTINEL_ERR_MAX];

	/*
	 * No master known yet: stay down, quietly (the watcher logs what
	 * it cannot find, once for the process); the tick connects when
	 * one is published.
	 */
	if (rc->sentinel != NULL) {
		if (sentinel_master(rc->sentinel, 0, &m, err) < 0) {
			rc_backoff(rc);
			return;
		}
		free(rc->host);
		rc->host = xstrdup(m.host);
		rc->port = (int)m.port;
		rc->gen = m.gen;
	}
	if (rc->path != NULL)
		ac = redisAsyncConnectUnix(rc->path);
	else
		ac = redisAsyncConnect(rc->host, rc->port);
	if (ac == NULL) {
		rc_warn_down(rc, "out of memory");
		rc_backoff(rc);
		return;
	}
	if (ac->err) {
		char	*why = xasprintf("connect: %s", ac->errstr);

		redisAsyncFree(ac);
		rc_warn_down(rc, why);
		free(why);
		rc_backoff(rc);
		return;
	}
	if (rcache_ev_attach(ac, rc->base) < 0) {
		redisAsyncFree(ac);
		rc_warn_down(rc, "cannot watch the socket");
		rc_backoff(rc);
		return;
	}
	ac->data = rc;
	redisAsyncSetConnectCallback(ac, rc_on_connect);
	redisAsyncSetDisconnectCallback(ac, rc_on_disconnect);
	rc->ac = ac;
	rc->state = RC_CONNECTING;
	rc->connect_us = clock_mono_us();
	rc_handshake(rc);
}

static void
rc_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rcache *rc = arg;

	if (rc->ac == NULL)
		rc_connect(rc);
}

/* rc_follow - a new master published: connect to it now */
static void
rc_follow(struct rcache *rc)
{
	if (rc->ac != NULL)
		rc_drop(rc, NULL, true);
	evtimer_del(rc->retry_ev);
	rc->backoff_ms = 0;
	rc_connect(rc);
}

/* rc_tick_cb - connect timeout, stalled connections, a new master */
static void
rc_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rcache *rc = arg;
	uint64_t now = clock_mono_us(), gen;
	struct rcache_op *oldest = TAILQ_FIRST(&rc->sent);

	if (rc->sentinel != NULL &&
	    (gen = sentinel_gen(rc->sentinel)) != 0 && gen != rc->gen) {
		rc_follow(rc);
		return;
	}
	if (rc->ac == NULL)
		return;
	if (rc->state == RC_CONNECTING && now - rc->connect_us >
	    RCACHE_CONNECT_TIMEOUT_MS * CLOCK_US_PER_MS) {
		rc_drop(rc, "connect timed out", true);
		return;
	}
	if (rc->state == RC_READY && oldest != NULL && now -
	    oldest->sent_us > RCACHE_STALL_MS * CLOCK_US_PER_MS) {
		char	*why = xasprintf("no reply for %llums",
		    (unsigned long long)((now - oldest->sent_us) / CLOCK_US_PER_MS));

		rc_drop(rc, why, true);
		free(why);
	}
}

struct rcache *
rcache_new(struct event_base *base, const struct rcache_opts *opts)
{
	struct rcache *rc = xcalloc(1, sizeof(*rc));
	struct timeval tick = clock_tv_ms(RCACHE_TICK_MS);

	rc->base = base;
	if (opts->sentinel != NULL)
		rc->sentinel = sentinel_ref(opts->sentinel);
	else
		rcache_endpoint_split(opts->endpoint, &rc->path, &rc->host,
		    &rc->port);
	rc->password = opts->password != NULL ? xstrdup(opts->password) :
	    NULL;
	rc->db = opts->db;
	rc->timeout_ms = opts->timeout_ms;
	rc->label = xstrdup(opts->label != NULL ? opts->label : "redis");
	TAILQ_INIT(&rc->sent);
	TAILQ_INIT(&rc->done);
	rc->tick_ev = event_new(base, -1, EV_PERSIST, rc_tick_cb, rc);
	rc->retry_ev = evtimer_new(base, rc_retry_cb, rc);
	rc->deliver_ev = event_new(base, -1, 0, rc_deliver_cb, rc);
	if (rc->tick_ev == NULL || rc->retry_ev == NULL ||
	    rc->deliver_ev == NULL)
		msg_fatal("rcache_new: out of memory");
	event_add(rc->tick_ev, &tick);
	rc_connect(rc);
	return rc;
}

void
rcache_free(struct rcache **rcp)
{
	struct rcache *rc = *rcp;
	struct rcache_op *op;
	redisAsyncContext *ac;

	*rcp = NULL;
	if (rc == NULL)
		return;
	/* ops in the air: hiredis frees them (NULL replies) below */
	TAILQ_FOREACH(op, &rc->sent, link) {
		op->rc = NULL;
		op->cb = NULL;
		op->in_sent = false;
		if (op->timer != NULL)
			evtimer_del(op->timer);
	}
	while ((op = TAILQ_FIRST(&rc->done)) != NULL) {
		TAILQ_REMOVE(&rc->done, op, link);
		op_free(op);
	}
	ac = rc->ac;
	rc->ac = NULL;
	if (ac != NULL) {
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	event_free(rc->tick_ev);
	event_free(rc->retry_ev);
	event_free(rc->deliver_ev);
	free(rc->path);
	free(rc->host);
	if (rc->password != NULL) {
		explicit_bzero(rc->password, strlen(rc->password));
		free(rc->password);
	}
	free(rc->label);
	sentinel_unref(&rc->sentinel);
	free(rc);
}

bool
rcache_ready(const struct rcache *rc)
{
	return rc->state == RC_READY && rc->ac != NULL &&
	    rc->nsent < RCACHE_OPS_MAX && (rc->sentinel == NULL ||
	    sentinel_usable(rc->sentinel, rc->gen));
}

const char *
rcache_state(const struct rcache *rc)
{
	switch (rc->state) {
	case RC_DOWN:
		return "down";
	case RC_CONNECTING:
		return "connecting";
	case RC_READY:
		return "ready";
	}
	return "invalid";
}

int
rcache_mget(struct rcache *rc, const char *const *keys, const size_t *klens,
    size_t n, rcache_mget_cb *cb, void *arg, struct rcache_op **op_r)
{
	const char *argv[RCACHE_MGET_MAX + 1];
	size_t	 lens[RCACHE_MGET_MAX + 1], i;
	struct rcache_op *op;

	if (op_r != NULL)
		*op_r = NULL;
	if (n == 0 || n > RCACHE_MGET_MAX || !rcache_ready(rc))
		return -1;
	argv[0] = "MGET";
	lens[0] = 4;
	for (i = 0; i < n; i++) {
		argv[i + 1] = keys[i];
		lens[i + 1] = klens[i];
	}
	op = xcalloc(1, sizeof(*op));
	op->kind = RC_OP_MGET;
	op->cb = cb;
	op->arg = arg;
	op->nvals = n;
	op->timer = evtimer_new(rc->base, rc_budget_cb, op);
	if (op->timer == NULL)
		msg_fatal("rcache_mget: out of memory");
	if (rc_send(rc, op, (int)(n + 1), argv, lens) < 0)
		return -1;
	timer_add_ms(op->timer, rc->timeout_ms);
	if (op_r != NULL)
		*op_r = op;
	return 0;
}

void
rcache_cancel(struct rcache_op *op)
{
	if (op == NULL)
		return;
	op->cb = NULL;
	evtimer_del(op->timer);
	if (op->in_done) {
		TAILQ_REMOVE(&op->rc->done, op, link);
		op->in_done = false;
		op_free(op);
	}
	/* else hiredis still owns it: freed when its reply comes */
}

void
rcache_fill(struct rcache *rc, const char *key, size_t klen,
    const char *dkey, size_t dklen, const char *val, size_t vlen,
    uint64_t px_ms)
{
	const char *argv[9];
	size_t	 lens[9];
	char	 px[24], epx[24];
	struct rcache_op *op;

	if (!rcache_ready(rc))
		return;
	snprintf(px, sizeof(px), "%llu", (unsigned long long)(px_ms > 0 ?
	    px_ms : 1));
	snprintf(epx, sizeof(epx), "%llu",
	    (unsigned long long)CACHEFMT_EPOCH_TTL_MS);
	argv[0] = "EVAL";
	argv[1] = RCACHE_FILL_LUA;
	argv[2] = "3";
	argv[3] = key;
	argv[4] = dkey;
	argv[5] = CACHEFMT_RKEY_EPOCH;
	argv[6] = val;
	argv[7] = px;
	argv[8] = epx;
	lens[0] = 4;
	lens[1] = strlen(RCACHE_FILL_LUA);
	lens[2] = 1;
	lens[3] = klen;
	lens[4] = dklen;
	lens[5] = strlen(CACHEFMT_RKEY_EPOCH);
	lens[6] = vlen;
	lens[7] = strlen(px);
	lens[8] = strlen(epx);
	op = xcalloc(1, sizeof(*op));
	op->kind = RC_OP_WRITE;
	(void)rc_send(rc, op, 9, argv, lens);
}

void
rcache_set_nx(struct rcache *rc, const char *key, const char *val,
    uint64_t px_ms)
{
	char	 px[24];
	const char *argv[6] = { "SET", key, val, "NX", "PX", px };
	size_t	 lens[6];
	struct rcache_op *op;

	if (!rcache_ready(rc))
		return;
	snprintf(px, sizeof(px), "%llu", (unsigned long long)(px_ms > 0 ?
	    px_ms : 1));
	lens[0] = 3;
	lens[1] = strlen(key);
	lens[2] = strlen(val);
	lens[3] = 2;
	lens[4] = 2;
	lens[5] = strlen(px);
	op = xcalloc(1, sizeof(*op));
	op->kind = RC_OP_WRITE;
	(void)rc_send(rc, op, 6, argv, lens);
}
