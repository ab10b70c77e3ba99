/*
 * sentinel - where the Redis master is, asked of Redis Sentinel. See
 * sentinel.h.
 *
 * Every exchange is blocking (hiredis's blocking API) with our own
 * deadline, on the watch thread or in vrcptctl, never on an event loop.
 * A connection lives for one discovery round (a Sentinel: one command;
 * the master: ROLE, INFO and the flush), except the subscription, which
 * stays open on the thread and is read when poll() says so.
 *
 * Depends on: hiredis (blocking API, its reply reader), pthreads,
 * conf/endpoint, core/sentinelfmt, util/. The only other users of
 * hiredis are rcache, rcache_ev and rcachesync.
 *
 * Security: Sentinels and the master are network services and their
 * replies untrusted bytes: each connection's reader refuses arrays of
 * more than SENTINEL_ELEMENTS_MAX elements and strings over
 * SENTINEL_REPLY_MAX bytes (hiredis would allocate what the peer
 * announces), a reply that is not complete within SENTINEL_REPLY_MAX
 * bytes is refused, and each exchange has a deadline. An address from a
 * Sentinel is taken only in endpoint_from_reply()'s syntax, and a master
 * is believed only when it says so itself (ROLE). A +switch-master
 * message only makes us ask again: its addresses are not used. Error
 * texts are sanitised before they are logged or returned. Passwords
 * are never logged.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "conf/endpoint.h"
#include "core/sentinelfmt.h"
#include "store/sentinel.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define ST_ADDR_MAX	(ENDPOINT_HOST_MAX + ENDPOINT_PORT_DIGITS + 4)

/* one connection, with hiredis's reply builders kept for ours to call */
struct sconn {
	redisContext *c;
	redisReplyObjectFunctions *dflt;
};

/* what one round found: the master, and the Sentinel that named it */
struct found {
	char	 host[ENDPOINT_HOST_MAX + 1];
	unsigned port;
	char	 replid[SENTINELFMT_REPLID_MAX + 1];	/* "": unknown */
	size_t	 sentinel;
};

struct sentinel {
	atomic_int refs;
	struct endpoint_sentinels group;
	char	*text;			/* "redis-sentinel:GROUP" */
	char	*password, *master_password, *flush_key, *label;
	uint64_t flush_ttl_ms;
	unsigned db, timeout_ms;
	bool	 watch;

	pthread_mutex_t lock;		/* the fields down to lasterr */
	pthread_cond_t cond;		/* a master was published */
	struct sentinel_master cur;	/* gen 0: none yet */
	char	 replid[SENTINELFMT_REPLID_MAX + 1];
	size_t	 first;			/* the Sentinel asked first */
	bool	 suspect, stopping;
	char	 lasterr[SENTINEL_ERR_MAX];

	atomic_uint_fast64_t gen;	/* cur.gen, read without the lock */
	atomic_uint_fast64_t flushed;	/* the last generation flushed */

	pthread_mutex_t dlock;		/* one round at a time */

	/* the watch thread's */
	pthread_t thread;
	bool	 running;
	int	 wake_rd, wake_wr;
	struct sconn sub;		/* SUBSCRIBE +switch-master */
	bool	 warned;		/* the failure of a round was logged */
};

/* st_err - why, in err; returns -1 */
static int __attribute__((format(printf, 2, 3)))
st_err(char err[SENTINEL_ERR_MAX], const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, SENTINEL_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* st_addr - "host:port", "[v6]:port" */
static const char *
st_addr(char buf[ST_ADDR_MAX], const char *host, unsigned port)
{
	snprintf(buf, ST_ADDR_MAX, strchr(host, ':') != NULL ? "[%s]:%u" :
	    "%s:%u", host, port);
	return buf;
}

/*
 * Reply builders: hiredis allocates what the peer announces ("*N" is an
 * array of N pointers at once), so ours refuse what no answer of ours
 * needs. NULL reads as "out of memory": the connection fails.
 */

static void *
b_string(const redisReadTask *t, char *str, size_t len)
{
	const struct sconn *sc = t->privdata;

	return len > SENTINEL_REPLY_MAX ? NULL :
	    sc->dflt->createString(t, str, len);
}

static void *
b_array(const redisReadTask *t, int n)
{
	const struct sconn *sc = t->privdata;

	return n < 0 || n > SENTINEL_ELEMENTS_MAX ? NULL :
	    sc->dflt->createArray(t, n);
}

static void *
b_integer(const redisReadTask *t, long long v)
{
	const struct sconn *sc = t->privdata;

	return sc->dflt->createInteger(t, v);
}

static void *
b_nil(const redisReadTask *t)
{
	const struct sconn *sc = t->privdata;

	return sc->dflt->createNil(t);
}

static redisReplyObjectFunctions bounded_fn = {
	b_string, b_array, b_integer, b_nil, freeReplyObject
};

static void
sc_close(struct sconn *sc)
{
	if (sc->c != NULL)
		redisFree(sc->c);
	sc->c = NULL;
}

/* sc_wait - fd ready for events before deadline_us; -1 on timeout */
static int
sc_wait(int fd, short events, uint64_t deadline_us)
{
	struct pollfd pfd;
	uint64_t now;
	int	 rc;

	for (;;) {
		now = clock_mono_us();
		if (now >= deadline_us)
			return -1;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		rc = poll(&pfd, 1, (int)((deadline_us - now + CLOCK_US_PER_MS -
		    1) / CLOCK_US_PER_MS));
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

/* sc_unparsed - bytes read but not yet a reply */
static size_t
sc_unparsed(const redisContext *c)
{
	return c->reader->len - c->reader->pos;
}

/*
 * sc_call - send one command, read its reply (any type, error replies
 * too) within timeout_ms. Returns 0 and *reply_r (caller frees), or -1
 * with why in err (the connection is then unusable: close it).
 */
static int
sc_call(struct sconn *sc, int argc, const char **argv, const size_t *lens,
    unsigned timeout_ms, redisReply **reply_r, char err[SENTINEL_ERR_MAX])
{
	redisContext *c = sc->c;
	uint64_t deadline = clock_mono_us() + timeout_ms * CLOCK_US_PER_MS;
	void	*r = NULL;
	int	 done = 0;

	*reply_r = NULL;
	if (redisAppendCommandArgv(c, argc, argv, lens) != REDIS_OK)
		return st_err(err, "%s: %s", argv[0], c->errstr);
	while (!done) {
		if (redisBufferWrite(c, &done) != REDIS_OK)
			return st_err(err, "%s: %s", argv[0], c->errstr);
		if (!done && sc_wait(c->fd, POLLOUT, deadline) < 0)
			return st_err(err, "%s: timed out", argv[0]);
	}
	for (;;) {
		if (redisGetReplyFromReader(c, &r) != REDIS_OK)
			return st_err(err, "%s: %s", argv[0], c->errstr);
		if (r != NULL)
			break;
		if (sc_unparsed(c) > SENTINEL_REPLY_MAX)
			return st_err(err, "%s: reply too long", argv[0]);
		if (sc_wait(c->fd, POLLIN, deadline) < 0)
			return st_err(err, "%s: timed out", argv[0]);
		if (redisBufferRead(c) != REDIS_OK)
			return st_err(err, "%s: %s", argv[0], c->errstr);
	}
	*reply_r = r;
	return 0;
}

/* sc_error - reply is an error reply: why in err, reply freed */
static bool
sc_error(redisReply *reply, const char *what, char err[SENTINEL_ERR_MAX])
{
	char	 s[STR_SANITIZE_MAX + 4];

	if (reply->type != REDIS_REPLY_ERROR)
		return false;
	st_err(err, "%s: %s", what, str_sanitize(s, reply->str,
	    (size_t)reply->len, STR_SANITIZE_MAX));
	freeReplyObject(reply);
	return true;
}

/* sc_open - connect (and AUTH) within timeout_ms; -1 with why in err */
static int
sc_open(struct sconn *sc, const char *host, unsigned port,
    const char *password, unsigned timeout_ms, char err[SENTINEL_ERR_MAX])
{
	const char *argv[2];
	size_t	 lens[2];
	redisReply *r;

	sc->c = redisConnectWithTimeout(host, (int)port,
	    clock_tv_ms(timeout_ms));
	if (sc->c == NULL)
		return st_err(err, "connect: out of memory");
	if (sc->c->err) {
		st_err(err, "connect: %s", sc->c->errstr);
		sc_close(sc);
		return -1;
	}
	sc->dflt = sc->c->reader->fn;
	sc->c->reader->fn = &bounded_fn;
	sc->c->reader->privdata = sc;
	if (password == NULL || password[0] == '\0')
		return 0;
	argv[0] = "AUTH";
	argv[1] = password;
	lens[0] = 4;
	lens[1] = strlen(password);
	if (sc_call(sc, 2, argv, lens, timeout_ms, &r, err) < 0 ||
	    sc_error(r, "AUTH", err)) {
		sc_close(sc);
		return -1;
	}
	freeReplyObject(r);
	return 0;
}

int
sentinel_role_check(const struct redisReply *reply,
    char err[SENTINEL_ERR_MAX])
{
	char	 s[STR_SANITIZE_MAX + 4];
	const redisReply *e;

	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements < 1 || reply->element[0]->type !=
	    REDIS_REPLY_STRING)
		return st_err(err, "ROLE: not a ROLE reply");
	e = reply->element[0];
	if (e->len == 6 && memcmp(e->str, "master", 6) == 0)
		return 0;
	return st_err(err, "not the master (ROLE: %s)", str_sanitize(s,
	    e->str, (size_t)e->len, STR_SANITIZE_MAX));
}

bool
sentinel_readonly(const char *text, size_t len)
{
	return len >= 8 && memcmp(text, "READONLY", 8) == 0;
}

/* st_numeric - a numeric address for ep's host (resolved if a name) */
static int
st_numeric(const struct endpoint *ep, char out[ENDPOINT_HOST_MAX + 1],
    char err[SENTINEL_ERR_MAX])
{
	unsigned char a[sizeof(struct in6_addr)];
	struct addrinfo hints, *res = NULL;
	int	 rc;

	if (inet_pton(AF_INET, ep->host, a) == 1 ||
	    inet_pton(AF_INET6, ep->host, a) == 1) {
		memcpy(out, ep->host, strlen(ep->host) + 1);
		return 0;
	}
	/* a Sentinel with "resolve-hostnames yes": resolve it here, where
	 * blocking is fine, so that the workers connect without a lookup */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(ep->host, NULL, &hints, &res)) != 0)
		return st_err(err, "%s: %s", ep->host, gai_strerror(rc));
	rc = getnameinfo(res->ai_addr, res->ai_addrlen, out,
	    ENDPOINT_HOST_MAX + 1, NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(res);
	if (rc != 0)
		return st_err(err, "%s: %s", ep->host, gai_strerror(rc));
	return 0;
}

/* st_where - Sentinel i: where is the master? Into f->host, f->port */
static int
st_where(struct sentinel *s, size_t i, struct found *f,
    char err[SENTINEL_ERR_MAX])
{
	const struct endpoint *ep = &s->group.v[i];
	const char *argv[3] = { "SENTINEL", "get-master-addr-by-name",
	    s->group.master };
	size_t	 lens[3] = { 8, 23, strlen(s->group.master) };
	struct sconn sc = { 0 };
	struct endpoint m;
	redisReply *r;
	int	 rc = -1;

	if (sc_open(&sc, ep->host, ep->port, s->password, s->timeout_ms,
	    err) < 0)
		return -1;
	if (sc_call(&sc, 3, argv, lens, s->timeout_ms, &r, err) < 0) {
		sc_close(&sc);
		return -1;
	}
	sc_close(&sc);
	if (sc_error(r, "SENTINEL get-master-addr-by-name", err))
		return -1;
	if (r->type == REDIS_REPLY_NIL)
		st_err(err, "does not know master %s", s->group.master);
	else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING)
		st_err(err, "unexpected reply to get-master-addr-by-name");
	else if (endpoint_from_reply(r->element[0]->str,
	    (size_t)r->element[0]->len, r->element[1]->str,
	    (size_t)r->element[1]->len, &m) < 0)
		st_err(err, "names no usable address for %s", s->group.master);
	else if (st_numeric(&m, f->host, err) == 0) {
		f->port = m.port;
		f->sentinel = i;
		rc = 0;
	}
	freeReplyObject(r);
	return rc;
}

/*
 * st_check - connect to f's master and believe it only if it says it is
 * one; its replication id into f->replid. The connection stays open in
 * mc (for the flush).
 */
static int
st_check(struct sentinel *s, struct found *f, struct sconn *mc,
    char err[SENTINEL_ERR_MAX])
{
	const char *argv[2] = { "ROLE", "replication" };
	size_t	 lens[2] = { 4, 11 };
	char	 a[ST_ADDR_MAX], e[SENTINEL_ERR_MAX];
	redisReply *r;

	f->replid[0] = '\0';
	st_addr(a, f->host, f->port);
	if (sc_open(mc, f->host, f->port, s->master_password, s->timeout_ms,
	    e) < 0)
		return st_err(err, "master %s: %s", a, e);
	if (sc_call(mc, 1, argv, lens, s->timeout_ms, &r, e) < 0 ||
	    sc_error(r, "ROLE", e))
		goto fail;
	if (sentinel_role_check(r, e) < 0) {
		freeReplyObject(r);
		goto fail;
	}
	freeReplyObject(r);
	/* no INFO (renamed, or not allowed): the address alone tells */
	argv[0] = "INFO";
	lens[0] = 4;
	if (sc_call(mc, 2, argv, lens, s->timeout_ms, &r, e) < 0)
		goto fail;
	if (r->type == REDIS_REPLY_STRING &&
	    sentinelfmt_replid(r->str, (size_t)r->len, f->replid) < 0)
		f->replid[0] = '\0';
	freeReplyObject(r);
	return 0;
fail:
	sc_close(mc);
	return st_err(err, "master %s: %s", a, e);
}

/* st_flush - the new master's records are untrusted: a new flush_key */
static int
st_flush(struct sentinel *s, struct sconn *mc, char err[SENTINEL_ERR_MAX])
{
	const char *argv[5];
	size_t	 lens[5];
	char	 db[16], v[24], px[24];
	redisReply *r;
	int	 argc = 3;

	if (s->db != 0) {
		snprintf(db, sizeof(db), "%u", s->db);
		argv[0] = "SELECT";
		argv[1] = db;
		lens[0] = 6;
		lens[1] = strlen(db);
		if (sc_call(mc, 2, argv, lens, s->timeout_ms, &r, err) < 0 ||
		    sc_error(r, "SELECT", err))
			return -1;
		freeReplyObject(r);
	}
	snprintf(v, sizeof(v), "%llu", (unsigned long long)rand_seed());
	argv[0] = "SET";
	argv[1] = s->flush_key;
	argv[2] = v;
	lens[0] = 3;
	lens[1] = strlen(s->flush_key);
	lens[2] = strlen(v);
	if (s->flush_ttl_ms > 0) {
		snprintf(px, sizeof(px), "%llu",
		    (unsigned long long)s->flush_ttl_ms);
		argv[3] = "PX";
		argv[4] = px;
		lens[3] = 2;
		lens[4] = strlen(px);
		argc = 5;
	}
	if (sc_call(mc, argc, argv, lens, s->timeout_ms, &r, err) < 0 ||
	    sc_error(r, "SET", err))
		return -1;
	freeReplyObject(r);
	return 0;
}

static bool
st_stopping(struct sentinel *s)
{
	bool	 stopping;

	pthread_mutex_lock(&s->lock);
	stopping = s->stopping;
	pthread_mutex_unlock(&s->lock);
	return stopping;
}

/*
 * st_find - one round: the Sentinels in turn, the last one that
 * answered first, until one names a master that says it is one. The
 * master's connection stays open in mc. -1 with the last why in err.
 */
static int
st_find(struct sentinel *s, struct found *f, struct sconn *mc,
    char err[SENTINEL_ERR_MAX])
{
	char	 e[SENTINEL_ERR_MAX];
	size_t	 n = s->group.n, first, k, i;

	pthread_mutex_lock(&s->lock);
	first = s->first;
	pthread_mutex_unlock(&s->lock);
	st_err(err, "no Sentinel asked");
	for (k = 0; k < n; k++) {
		i = (first + k) % n;
		if (st_stopping(s))
			return st_err(err, "stopping");
		if (st_where(s, i, f, e) == 0 && st_check(s, f, mc, e) == 0)
			return 0;
		st_err(err, "Sentinel %s: %s", s->group.v[i].text + 5, e);
	}
	return -1;
}

/* st_flushed - gen was flushed: usable, unless it is not current now */
static void
st_flushed(struct sentinel *s, uint64_t gen)
{
	pthread_mutex_lock(&s->lock);
	if (s->cur.gen == gen)
		atomic_store(&s->flushed, gen);
	pthread_mutex_unlock(&s->lock);
}

/*
 * st_publish - f is the master: a new generation when it is another
 * one than the current (address or replication history). Returns the
 * generation current now.
 */
static uint64_t
st_publish(struct sentinel *s, const struct found *f)
{
	struct sentinel_master old;
	char	 a[ST_ADDR_MAX], b[ST_ADDR_MAX];
	uint64_t gen;
	bool	 moved, reborn;

	pthread_mutex_lock(&s->lock);
	s->first = f->sentinel;
	s->suspect = false;
	s->lasterr[0] = '\0';
	old = s->cur;
	moved = old.gen == 0 || strcmp(old.host, f->host) != 0 ||
	    old.port != f->port;
	reborn = !moved && f->replid[0] != '\0' &&
	    strcmp(s->replid, f->replid) != 0;
	if (f->replid[0] != '\0' || moved)
		memcpy(s->replid, f->replid, sizeof(s->replid));
	if (moved || reborn) {
		memcpy(s->cur.host, f->host, sizeof(s->cur.host));
		s->cur.port = f->port;
		s->cur.gen++;
		atomic_store(&s->gen, s->cur.gen);
		if (s->flush_key == NULL)
			atomic_store(&s->flushed, s->cur.gen);
		pthread_cond_broadcast(&s->cond);
	}
	gen = s->cur.gen;
	pthread_mutex_unlock(&s->lock);
	if (!s->watch || !(moved || reborn))
		return gen;
	/* the label names the master: "redis-sentinel:GROUP/NAME" */
	st_addr(b, f->host, f->port);
	if (old.gen == 0)
		msg_info("%s: the master is %s", s->label, b);
	else if (moved)
		msg_warn("%s: the master moved from %s to %s; Redis is not "
		    "used until it is flushed there", s->label,
		    st_addr(a, old.host, old.port), b);
	else
		msg_warn("%s: the master at %s has a new replication history "
		    "(restarted, or failed over and back); Redis is not used "
		    "until it is flushed", s->label, b);
	return gen;
}

/*
 * st_round - find the master, publish it, flush it if it is new; the
 * watch thread's, and passive sentinel_master()'s. -1 with why in err.
 */
static int
st_round(struct sentinel *s, char err[SENTINEL_ERR_MAX])
{
	struct sconn mc = { 0 };
	struct found f;
	char	 e[SENTINEL_ERR_MAX], a[ST_ADDR_MAX];
	uint64_t gen;
	int	 rc = 0;

	pthread_mutex_lock(&s->dlock);
	if (st_find(s, &f, &mc, err) < 0) {
		pthread_mutex_lock(&s->lock);
		memcpy(s->lasterr, err, sizeof(s->lasterr));
		pthread_mutex_unlock(&s->lock);
		pthread_mutex_unlock(&s->dlock);
		return -1;
	}
	gen = st_publish(s, &f);
	if (s->watch && !sentinel_usable(s, gen)) {
		st_addr(a, f.host, f.port);
		if (st_flush(s, &mc, e) < 0) {
			st_err(err, "cannot flush the master at %s: %s", a, e);
			rc = -1;
		} else {
			st_flushed(s, gen);
			msg_info("%s: the master at %s is flushed: using "
			    "Redis there", s->label, a);
		}
	}
	sc_close(&mc);
	pthread_mutex_unlock(&s->dlock);
	return rc;
}

/*
 * The watch thread.
 */

/* st_sub_open - subscribe to +switch-master on the Sentinel asked first */
static void
st_sub_open(struct sentinel *s)
{
	const char *argv[2] = { "SUBSCRIBE", SENTINELFMT_SWITCH_CHANNEL };
	size_t	 lens[2] = { 9, strlen(SENTINELFMT_SWITCH_CHANNEL) };
	const struct endpoint *ep;
	char	 e[SENTINEL_ERR_MAX];
	redisReply *r;

	pthread_mutex_lock(&s->lock);
	ep = &s->group.v[s->first];
	pthread_mutex_unlock(&s->lock);
	if (sc_open(&s->sub, ep->host, ep->port, s->password, s->timeout_ms,
	    e) < 0)
		goto fail;
	if (sc_call(&s->sub, 2, argv, lens, s->timeout_ms, &r, e) < 0)
		goto fail;
	if (sc_error(r, "SUBSCRIBE", e))
		goto fail;
	freeReplyObject(r);
	return;
fail:
	sc_close(&s->sub);
	msg_debug("%s: Sentinel %s: no subscription: %s", s->label,
	    ep->text + 5, e);
}

/* st_sub_read - read what came; true if our master was switched */
static bool
st_sub_read(struct sentinel *s)
{
	redisContext *c = s->sub.c;
	redisReply *r;
	void	*v;
	bool	 switched = false;

	if (redisBufferRead(c) != REDIS_OK)
		goto drop;
	for (;;) {
		if (redisGetReplyFromReader(c, &v) != REDIS_OK)
			goto drop;
		if ((r = v) == NULL)
			break;
		/* ["message", "+switch-master", "NAME OLD PORT NEW PORT"] */
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    r->element[2]->type == REDIS_REPLY_STRING &&
		    sentinelfmt_switch_of(r->element[2]->str,
		    (size_t)r->element[2]->len, s->group.master))
			switched = true;
		freeReplyObject(r);
	}
	if (sc_unparsed(c) > SENTINEL_REPLY_MAX)
		goto drop;
	return switched;
drop:
	/* the Sentinel went (or misbehaves): subscribe again later, and
	 * ask now: a Sentinel that goes may take news with it */
	sc_close(&s->sub);
	return true;
}

static void
st_drain(int fd)
{
	char	 buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void *
st_main(void *arg)
{
	struct sentinel *s = arg;
	struct pollfd pfd[2];
	char	 err[SENTINEL_ERR_MAX], q[STR_SANITIZE_MAX + 4];
	uint64_t now, next = 0, last = 0, sub_next = 0, until;
	const uint64_t refresh = SENTINEL_REFRESH_MS * CLOCK_US_PER_MS;
	const uint64_t retry = SENTINEL_RETRY_MS * CLOCK_US_PER_MS;
	nfds_t	 nfds;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		if (s->stopping) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		/* a suspicion: ask again now, but not more often than
		 * every SENTINEL_RETRY_MS whatever the clients say */
		if (s->suspect && next > last + retry)
			next = last + retry;
		pthread_mutex_unlock(&s->lock);
		now = clock_mono_us();
		if (now >= next) {
			last = now;
			if (st_round(s, err) == 0) {
				next = now + refresh;
				if (s->warned)
					msg_info("%s: the master is found "
					    "again", s->label);
				s->warned = false;
			} else {
				next = now + retry;
				if (!s->warned)
					msg_warn("%s: %s", s->label,
					    str_sanitize(q, err, strlen(err),
					    STR_SANITIZE_MAX));
				s->warned = true;
			}
			now = clock_mono_us();
		}
		if (s->sub.c == NULL && now >= sub_next) {
			st_sub_open(s);
			sub_next = now + refresh;
			now = clock_mono_us();
		}
		until = next;
		if (s->sub.c == NULL && sub_next < until)
			until = sub_next;
		pfd[0].fd = s->wake_rd;
		pfd[0].events = POLLIN;
		pfd[1].fd = s->sub.c != NULL ? s->sub.c->fd : -1;
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		nfds = s->sub.c != NULL ? 2 : 1;
		if (until > now && poll(pfd, nfds, (int)((until - now +
		    CLOCK_US_PER_MS - 1) / CLOCK_US_PER_MS)) <= 0)
			continue;
		if (pfd[0].revents != 0)
			st_drain(s->wake_rd);
		if (nfds == 2 && pfd[1].revents != 0 && st_sub_read(s)) {
			/* news, not a client's guess: no rate limit */
			next = 0;
		}
	}
	sc_close(&s->sub);
	return NULL;
}

/*
 * Lifecycle and queries.
 */

struct sentinel *
sentinel_new(const struct sentinel_opts *opts)
{
	struct sentinel *s = xcalloc(1, sizeof(*s));
	pthread_condattr_t ca;
	sigset_t all, old;
	int	 p[2], rc;

	atomic_init(&s->refs, 1);
	atomic_init(&s->gen, 0);
	atomic_init(&s->flushed, 0);
	s->group = *opts->group;
	s->text = xasprintf("redis-sentinel:%s", s->group.text);
	s->password = xstrdup(opts->password != NULL ? opts->password : "");
	s->master_password = xstrdup(opts->master_password != NULL ?
	    opts->master_password : "");
	s->flush_key = opts->flush_key != NULL && opts->watch ?
	    xstrdup(opts->flush_key) : NULL;
	s->label = xstrdup(opts->label != NULL ? opts->label : s->text);
	s->flush_ttl_ms = opts->flush_ttl_ms;
	s->db = opts->db;
	s->timeout_ms = opts->timeout_ms;
	s->watch = opts->watch;
	s->wake_rd = s->wake_wr = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->dlock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (!s->watch)
		return s;
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		msg_fatal("sentinel: pipe: %s", strerror(errno));
	s->wake_rd = p[0];
	s->wake_wr = p[1];
	/* signals are the main thread's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if ((rc = pthread_create(&s->thread, NULL, st_main, s)) != 0)
		msg_fatal("sentinel: pthread_create: %s", strerror(rc));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	s->running = true;
	return s;
}

struct sentinel *
sentinel_ref(struct sentinel *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

static void
st_wake(struct sentinel *s)
{
	if (s->wake_wr >= 0 && write(s->wake_wr, "", 1) < 0) {
		/* the pipe is full: the thread has been woken already */
	}
}

void
sentinel_stop(struct sentinel *s)
{
	if (s == NULL || !s->running)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	st_wake(s);
	pthread_join(s->thread, NULL);
	s->running = false;
}

void
sentinel_unref(struct sentinel **sp)
{
	struct sentinel *s = *sp;

	*sp = NULL;
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	sentinel_stop(s);
	if (s->wake_rd >= 0) {
		close(s->wake_rd);
		close(s->wake_wr);
	}
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->dlock);
	explicit_bzero(s->password, strlen(s->password));
	explicit_bzero(s->master_password, strlen(s->master_password));
	free(s->password);
	free(s->master_password);
	free(s->flush_key);
	free(s->label);
	free(s->text);
	free(s);
}

uint64_t
sentinel_gen(const struct sentinel *s)
{
	return atomic_load(&s->gen);
}

bool
sentinel_usable(const struct sentinel *s, uint64_t gen)
{
	return gen != 0 && atomic_load(&s->gen) == gen &&
	    atomic_load(&s->flushed) == gen;
}

void
sentinel_suspect(struct sentinel *s, uint64_t gen)
{
	bool	 wake = false;

	pthread_mutex_lock(&s->lock);
	if (gen == s->cur.gen && !s->suspect)
		wake = s->suspect = true;
	pthread_mutex_unlock(&s->lock);
	if (wake)
		st_wake(s);
}

int
sentinel_master(struct sentinel *s, unsigned wait_ms,
    struct sentinel_master *m_r, char err[SENTINEL_ERR_MAX])
{
	struct timespec ts;
	uint64_t deadline;
	bool	 ask;

	pthread_mutex_lock(&s->lock);
	ask = !s->watch && (s->cur.gen == 0 || s->suspect);
	pthread_mutex_unlock(&s->lock);
	/* passive: a failed round leaves what was known (if anything) */
	if (ask)
		(void)st_round(s, err);
	pthread_mutex_lock(&s->lock);
	if (s->watch && s->cur.gen == 0 && wait_ms > 0) {
		deadline = clock_mono_us() + wait_ms * CLOCK_US_PER_MS;
		ts.tv_sec = (time_t)(deadline / CLOCK_US_PER_S);
		ts.tv_nsec = (long)(deadline % CLOCK_US_PER_S * 1000);
		while (s->cur.gen == 0 && !s->stopping &&
		    pthread_cond_timedwait(&s->cond, &s->lock, &ts) == 0)
			;
	}
	if (s->cur.gen == 0) {
		st_err(err, "no master found yet%s%s", s->lasterr[0] != '\0' ?
		    ": " : "", s->lasterr);
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	*m_r = s->cur;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

size_t
sentinel_count(const struct sentinel *s)
{
	return s->group.n;
}

const char *
sentinel_text(const struct sentinel *s)
{
	return s->text;
}

int
sentinel_ask(struct sentinel *s, size_t i, char who[ENDPOINT_TEXT_MAX + 1],
    char addr[ENDPOINT_TEXT_MAX + 1], char err[SENTINEL_ERR_MAX])
{
	struct sconn mc = { 0 };
	struct found f;
	char	 a[ST_ADDR_MAX];

	snprintf(who, ENDPOINT_TEXT_MAX + 1, "%s", s->group.v[i].text + 5);
	addr[0] = '\0';
	if (st_where(s, i, &f, err) < 0)
		return -1;
	snprintf(addr, ENDPOINT_TEXT_MAX + 1, "%s", st_addr(a, f.host,
	    f.port));
	if (st_check(s, &f, &mc, err) < 0)
		return -1;
	sc_close(&mc);
	return 0;
}
