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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "proto/policy.h"
#include "server/conn.h"
#include "server/dispatch.h"
#include "server/metrics.h"
#include "server/worker.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

static void conn_process(struct conn *c);
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

void
conn_accept(struct worker *w, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct conn *c;
	int fd;

	fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		/* another worker won the race, or the client went away */
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != ECONNABORTED && errno != EINTR)
			msg_warn("accept: %s", strerror(errno));
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->w = w;
	c->fd = fd;
	conn_peer_name(c, &ss);
	buf_init(&c->in, CONN_IN_MAX);
	buf_init(&c->out, CONN_OUT_MAX);
	c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, conn_on_read, c);
	c->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, conn_on_write,
	    c);
	if (c->rev == NULL || c->wev == NULL)
		msg_fatal("event_new: out of memory");
	event_add(c->rev, NULL);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	metrics_conn_open();
	if (log_verbose())
		msg_debug("connect from %s", c->peer);
}

void
conn_close(struct conn *c)
{
	struct worker *w = c->w;

	if (c->req != NULL)
		dispatch_abort(&c->req);
	event_free(c->rev);
	event_free(c->wev);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	metrics_conn_close();
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
	event_del(c->wev);
	return true;
}

void
conn_done(struct conn *c, const char *action)
{
	c->busy = false;
	c->req = NULL;
	c->nrequests++;
	/* conn_process() stops starting requests at half of CONN_OUT_MAX */
	if (pp_format_reply(&c->out, action) < 0)
		msg_panic("conn_done: reply buffer overflow");
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
	struct policy_req pr;
	enum pp_status st;
	enum pp_error why;
	size_t used;

	c->in_process = true;
	st = PP_DONE;
	while (!c->busy && c->in.len > 0 && c->out.len < CONN_OUT_MAX / 2) {
		st = pp_parse(c->in.data, c->in.len, &pr, &used, &why);
		if (st == PP_AGAIN)
			break;
		if (st == PP_ERROR) {
			msg_warn("%s: policy protocol error: %s; disconnecting",
			    c->peer, pp_strerror(why));
			metrics_protocol_error();
			conn_close(c);
			return;
		}
		buf_consume(&c->in, used);
		c->busy = true;
		dispatch_start(c->w, c, c->w->gen, &pr);
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
