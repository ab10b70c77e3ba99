/*
 * conn - client connections of the policy server. See conn.h.
 *
 * Depends on: libevent, proto/policy, server/dispatch, util/.
 * Security: this is where untrusted bytes arrive. Input is capped at
 * CONN_IN_MAX and every request is bounded by the parser's limits on
 * partial input; anything odd closes the connection after a sanitised
 * warning. The daemon never exits because of a client.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "proto/policy.h"
#include "server/conn.h"
#include "server/dispatch.h"
#include "server/stats.h"
#include "server/worker.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

static void conn_process(struct conn *c);
static void conn_finish(struct conn *c);
static void conn_on_read(evutil_socket_t fd, short what, void *arg);
static void conn_on_write(evutil_socket_t fd, short what, void *arg);

/* conn_peer_name - "unix" or "addr:port", for log messages */
static void
conn_peer_name(struct conn *c, const struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN];

	switch (ss->ss_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", host,
		    ntohs(sin->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host,
		    ntohs(sin6->sin6_port));
		break;
	}
	default:
		snprintf(c->peer, sizeof(c->peer), "unix:fd%d", c->fd);
		break;
	}
}

/* conn_limit - the connection limit in force for this worker's server */
static unsigned
conn_limit(const struct worker *w)
{
	unsigned lim = w->gen->cfg->connection_limit;

	return lim < w->fd_conn_cap ? lim : w->fd_conn_cap;
}

/*
 * conn_best - w's connection to shed, or NULL: of those with no request
 * in flight, the one whose last completed request (or accept) is oldest.
 * A client that trickles a request never completes one, so it goes
 * before Postfix's idle but healthy ones. Caller holds w->conns_lock.
 */
static struct conn *
conn_best(struct worker *w)
{
	struct conn *c, *best = NULL;
	uint64_t key, best_key = 0;

	for (c = w->conns; c != NULL; c = c->next) {
		key = atomic_load_explicit(&c->shed_key, memory_order_relaxed);
		if (key == 0 || c->control || atomic_load(&c->shed))
			continue;
		if (best == NULL || key < best_key) {
			best = c;
			best_key = key;
		}
	}
	return best;
}

/*
 * conn_shed - make room at the limit: shut the best victim of all the
 * workers down. false: every connection has a request in flight.
 */
static bool
conn_shed(struct worker *w, uint64_t now, unsigned limit)
{
	struct worker *vw = NULL;
	struct conn *c;
	uint64_t key, best_key = 0, idle;
	unsigned long held;
	char peer[CONN_PEER_MAX];
	unsigned i;

	for (i = 0; i < w->nall; i++) {
		pthread_mutex_lock(&w->all[i].conns_lock);
		if ((c = conn_best(&w->all[i])) != NULL) {
			key = atomic_load(&c->shed_key);
			if (vw == NULL || key < best_key) {
				vw = &w->all[i];
				best_key = key;
			}
		}
		pthread_mutex_unlock(&w->all[i].conns_lock);
	}
	if (vw == NULL)
		return false;
	/* choose again under the lock: it may have changed meanwhile */
	pthread_mutex_lock(&vw->conns_lock);
	if ((c = conn_best(vw)) == NULL) {
		pthread_mutex_unlock(&vw->conns_lock);
		return false;
	}
	atomic_store(&c->shed, true);
	atomic_fetch_add(w->shed_pending, 1);
	(void)shutdown(c->fd, SHUT_RDWR);
	idle = now - atomic_load(&c->shed_key);
	memcpy(peer, c->peer, sizeof(peer));
	pthread_mutex_unlock(&vw->conns_lock);
	if (log_rate_ok(w->shed_log, now, CONN_LOG_INTERVAL_MS, &held))
		msg_warn("%s (%u) reached: closing the connection from %s, "
		    "%llus without a request, to make room (%lu more like "
		    "this not logged)", CONF_NAME(connection_limit), limit,
		    peer,
		    (unsigned long long)(idle / CLOCK_MS_PER_S), held);
	stats_add(conns_shed, 1);
	return true;
}

enum conn_accept_status
conn_accept(struct worker *w, int lfd, bool control)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	unsigned long held;
	unsigned limit;
	uint64_t now;
	struct conn *c;
	int fd;

	fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		switch (errno) {
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			return CONN_ACCEPT_NOFDS;
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
		case ECONNABORTED:
		case EINTR:
			/* another worker won the race, or the client left */
			return CONN_ACCEPT_DONE;
		default:
			now = clock_mono_ms();
			if (log_rate_ok(w->accept_log, now,
			    CONN_LOG_INTERVAL_MS, &held))
				msg_warn("accept: %s (%lu more not logged)",
				    strerror(errno), held);
			return CONN_ACCEPT_DONE;
		}
	}
	now = clock_mono_ms();
	limit = conn_limit(w);
	if (control && w->nctl >= CONN_CONTROL_MAX) {
		if (log_rate_ok(w->refuse_log, now, CONN_LOG_INTERVAL_MS,
		    &held))
			msg_warn("%d control connections open: refusing "
			    "another (%lu more like this not logged)",
			    CONN_CONTROL_MAX, held);
		close(fd);
		return CONN_ACCEPT_DONE;
	}
	if (!control && atomic_load(w->server_conns) -
	    atomic_load(w->shed_pending) >= limit &&
	    !conn_shed(w, now, limit)) {
		if (log_rate_ok(w->refuse_log, now, CONN_LOG_INTERVAL_MS,
		    &held))
			msg_warn("%s (%u) reached and every connection has "
			    "a request in flight: refusing a new client (%lu "
			    "more like this not logged)",
			    CONF_NAME(connection_limit), limit, held);
		stats_add(conns_refused, 1);
		close(fd);
		return CONN_ACCEPT_DONE;
	}
	c = xcalloc(1, sizeof(*c));
	c->w = w;
	c->fd = fd;
	c->control = control;
	c->progress_ms = now;
	atomic_init(&c->shed_key, now);
	atomic_init(&c->shed, false);
	conn_peer_name(c, &ss);
	buf_init(&c->in, CONN_IN_MAX);
	buf_init(&c->out, CONN_OUT_MAX);
	c->req = dispatch_req_new(w, c);
	c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, conn_on_read, c);
	c->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, conn_on_write,
	    c);
	if (c->rev == NULL || c->wev == NULL)
		msg_fatal("event_new: out of memory");
	event_add(c->rev, NULL);
	pthread_mutex_lock(&w->conns_lock);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	pthread_mutex_unlock(&w->conns_lock);
	if (control) {
		w->nctl++;
	} else {
		atomic_fetch_add(w->server_conns, 1);
		stats_add(conns_open, 1);
		stats_add(conns_total, 1);
	}
	if (log_verbose())
		msg_debug("connect from %s", c->peer);
	return CONN_ACCEPT_DONE;
}

/* slow or stuck clients: one line a second at most per kind, whoever
 * they are */
static struct log_rate read_timeout_log, write_timeout_log;

void
conn_sweep(struct worker *w)
{
	const struct conf *cfg = w->gen->cfg;
	uint64_t now = clock_mono_ms();
	struct conn *c, *next;
	struct log_rate *lr = NULL;
	const char *why;

	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		why = NULL;
		if (c->write_since_ms != 0 &&
		    now - c->write_since_ms >= cfg->io_timeout) {
			why = "does not read its replies";
			lr = &write_timeout_log;
		} else if (c->busy) {
			continue;	/* request_timeout bounds it */
		} else if (c->read_since_ms != 0 &&
		    now - c->read_since_ms >= cfg->io_timeout) {
			why = "sends an incomplete request";
			lr = &read_timeout_log;
		} else if (c->read_since_ms == 0 &&
		    now - c->progress_ms >= cfg->idle_timeout) {
			if (log_verbose())
				msg_debug("%s: idle for %llus; disconnecting",
				    c->peer, (unsigned long long)
				    (cfg->idle_timeout / CLOCK_MS_PER_S));
			stats_add(conns_timeout, 1);
			conn_close(c);
			continue;
		}
		if (why == NULL)
			continue;
		msg_warn_rated(lr, LOG_RATE_OUTAGE_MS,
		    "%s: timeout: %s (%s %llums); disconnecting",
		    c->peer, why, CONF_NAME(io_timeout),
		    (unsigned long long)cfg->io_timeout);
		stats_add(conns_timeout, 1);
		conn_close(c);
	}
}

void
conn_close(struct conn *c)
{
	struct worker *w = c->w;

	dispatch_req_free(&c->req);
	event_free(c->rev);
	event_free(c->wev);
	pthread_mutex_lock(&w->conns_lock);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	pthread_mutex_unlock(&w->conns_lock);
	buf_free(&c->in);
	buf_free(&c->out);
	if (atomic_load(&c->shed))
		atomic_fetch_sub(w->shed_pending, 1);
	if (c->control) {
		w->nctl--;
	} else {
		atomic_fetch_sub(w->server_conns, 1);
		stats_sub(conns_open, 1);
	}
	if (log_verbose())
		msg_debug("disconnect from %s after %llu requests", c->peer,
		    (unsigned long long)c->nrequests);
	free(c);
}

/* conn_flush - write what we can; false when the connection was closed */
static bool
conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->out.len > 0) {
		n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (c->write_since_ms == 0)
					c->write_since_ms = clock_mono_ms();
				event_add(c->wev, NULL);
				return true;
			}
			if (errno != EPIPE && errno != ECONNRESET)
				msg_warn("write to %s: %s", c->peer,
				    strerror(errno));
			conn_close(c);
			return false;
		}
		buf_consume(&c->out, (size_t)n);
	}
	c->write_since_ms = 0;
	event_del(c->wev);
	return true;
}

void
conn_done(struct conn *c, const char *action)
{
	/* conn_process() stops starting requests at half of CONN_OUT_MAX */
	if (pp_format_reply(&c->out, action) < 0)
		msg_panic("conn_done: reply buffer overflow");
	conn_finish(c);
}

void
conn_done_reply(struct conn *c, const char *reply, size_t len)
{
	if (buf_append(&c->out, reply, len) < 0)
		msg_panic("conn_done_reply: reply buffer overflow");
	conn_finish(c);
}

/* conn_finish - the reply of the request in flight is queued: go on */
static void
conn_finish(struct conn *c)
{
	c->busy = false;
	c->nrequests++;
	c->progress_ms = clock_mono_ms();
	atomic_store_explicit(&c->shed_key, c->progress_ms,
	    memory_order_relaxed);
	if (c->in_process)
		return;			/* conn_process() goes on */
	if (!conn_flush(c))
		return;
	conn_process(c);
}

/*
 * conn_process - start every complete request we can, one at a time.
 * Replies of requests answered at once are collected and written in
 * one go at the end.
 */
static void
conn_process(struct conn *c)
{
	struct policy_req *pr = dispatch_req_pr(c->req);
	enum pp_status st;
	enum pp_error why;
	size_t used;

again:
	c->in_process = true;
	st = PP_DONE;
	while (!c->busy && c->in.len > 0 && c->out.len < CONN_OUT_MAX / 2) {
		st = pp_parse(c->in.data, c->in.len, pr, &used, &why);
		if (st == PP_AGAIN)
			break;
		if (st == PP_ERROR) {
			/* each one: SMTPD_POLICY_README says "log a
			 * warning and disconnect", and only local clients
			 * reach the sockets (listen_mode, listen_group) */
			msg_warn("%s: policy protocol error: %s; disconnecting",
			    c->peer, pp_strerror(why));
			stats_add(protocol_errors, 1);
			conn_close(c);
			return;
		}
		buf_consume(&c->in, used);
		/* what is left is the start of the next request */
		c->read_since_ms = c->in.len > 0 ? clock_mono_ms() : 0;
		c->busy = true;
		atomic_store_explicit(&c->shed_key, 0, memory_order_relaxed);
		dispatch_start(c->req, c->w->gen);
	}
	c->in_process = false;
	/* a full buffer with a request in flight: stop reading for now */
	if (c->eof || (c->busy && c->in.len >= CONN_IN_MAX / 2))
		event_del(c->rev);
	else
		event_add(c->rev, NULL);
	if (!conn_flush(c))
		return;
	/*
	 * Stopped at the reply cap and every reply written at once: nothing
	 * else would wake us (the rest of a pipelined burst may be here
	 * already, its client waiting for replies), so go on now.
	 */
	if (!c->busy && c->out.len == 0 && c->in.len > 0 && st == PP_DONE)
		goto again;
	/*
	 * After the peer closed its side: once everything complete has been
	 * answered and written, close; a partial request is dropped.
	 */
	if (c->eof && !c->busy && c->out.len == 0 &&
	    (c->in.len == 0 || st == PP_AGAIN))
		conn_close(c);
}

static void
conn_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char chunk[CONN_READ_CHUNK];
	size_t room;
	ssize_t n;

	room = c->in.max - c->in.len;
	if (room > sizeof(chunk))
		room = sizeof(chunk);
	if (room == 0) {
		event_del(c->rev);
		return;
	}
	n = recv(fd, chunk, room, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (errno != ECONNRESET)
			msg_warn("read from %s: %s", c->peer, strerror(errno));
		conn_close(c);
		return;
	}
	if (n == 0) {
		/* answer what is complete; a partial request is dropped */
		c->eof = true;
		event_del(c->rev);
		conn_process(c);
		return;
	}
	if (c->in.len == 0)
		c->read_since_ms = clock_mono_ms();
	if (buf_append(&c->in, chunk, (size_t)n) < 0)
		msg_panic("conn_on_read: buffer room miscounted");
	conn_process(c);
}

static void
conn_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (!conn_flush(c))
		return;
	if (!c->busy && c->out.len == 0)
		conn_process(c);
}
