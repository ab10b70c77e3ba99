/*
 * metrics - Prometheus exposition and health checks. See metrics.h.
 *
 * Depends on: libevent (main thread's loop), server/stats.h, store/db.h
 * (readiness), util/. Security: the listener speaks just enough HTTP to
 * answer GET for three paths; requests are capped at METRICS_REQUEST_MAX
 * bytes and METRICS_TIMEOUT_MS, and at METRICS_CONNS_MAX at once. Bind
 * it to loopback (the default examples do): it shows traffic volumes.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/endpoint.h"
#include "server/cache.h"
#include "server/listen.h"
#include "server/metrics.h"
#include "server/stats.h"
#include "store/db.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

/* class names as labels: "virtual alias" is not a good label value */
static const char *
class_label(enum domain_class c)
{
	switch (c) {
	case DC_NONE:
		return "none";
	case DC_ALIAS:
		return "virtual_alias";
	case DC_MAILBOX:
		return "virtual_mailbox";
	case DC_RELAY:
		return "relay";
	case DC_OTHER:
		return "other";
	}
	return "none";
}

/* the process's cache, for its trust (set once, main thread) */
static struct cache *metrics_cache;

/* metrics_registry - every series of the registry (server/stats.h) */
static void
metrics_registry(struct buf *b)
{
	const struct stats_desc *d;
	size_t	 i;

	for (i = 0; i < STATS_N; i++) {
		d = &stats_descs[i];
		if (i == 0 || strcmp(d->metric, stats_descs[i - 1].metric) != 0)
			buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n",
			    d->metric, d->help, d->metric,
			    d->type == STATS_GAUGE ? "gauge" : "counter");
		buf_printf(b, "%s%s%s%s %llu\n", d->metric, *d->labels ?
		    "{" : "", d->labels, *d->labels ? "}" : "",
		    (unsigned long long)stats_sum((enum stats_id)i));
	}
}

char *
metrics_format(void)
{
	struct buf b;
	uint64_t cum = 0, sum_us = 0, n;
	unsigned k, c, i;
	char	*out;

	buf_init(&b, 0);
	metrics_registry(&b);
	buf_printf(&b, "# HELP vrcpt_decisions_total RCPT decisions by "
	    "outcome and domain class.\n# TYPE vrcpt_decisions_total "
	    "counter\n");
	for (k = 0; k < STATS_NKINDS; k++)
		for (c = 0; c < STATS_NCLASSES; c++)
			if ((n = stats_decisions(k, c)) != 0)
				buf_printf(&b, "vrcpt_decisions_total{decision="
				    "\"%s\",class=\"%s\"} %llu\n",
				    verdict_kind_name((enum verdict_kind)k),
				    class_label((enum domain_class)c),
				    (unsigned long long)n);
	buf_printf(&b, "# HELP vrcpt_decision_seconds Time from request to "
	    "decision.\n# TYPE vrcpt_decision_seconds histogram\n");
	for (i = 0; i < STATS_NBUCKETS; i++) {
		cum += stats_delay(i, NULL);
		buf_printf(&b, "vrcpt_decision_seconds_bucket{le=\"%g\"} "
		    "%llu\n", (double)stats_bounds_us[i] / 1e6,
		    (unsigned long long)cum);
	}
	cum += stats_delay(STATS_NBUCKETS, &sum_us);
	buf_printf(&b, "vrcpt_decision_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "vrcpt_decision_seconds_sum %.6f\nvrcpt_decision_seconds_count "
	    "%llu\n", (unsigned long long)cum, (double)sum_us / 1e6,
	    (unsigned long long)cum);
	buf_printf(&b, "# HELP vrcpt_db_connections_up PostgreSQL "
	    "connections ready.\n# TYPE vrcpt_db_connections_up gauge\n"
	    "vrcpt_db_connections_up %u\n", db_ready_connections());
	if (metrics_cache != NULL)
		buf_printf(&b, "# HELP vrcpt_cache_trusted 1 when cached "
		    "answers are used: the LISTEN connection is up and the "
		    "database has the vrcpt triggers.\n# TYPE "
		    "vrcpt_cache_trusted gauge\nvrcpt_cache_trusted %d\n",
		    cache_trusted(metrics_cache) ? 1 : 0);
	out = xstrdup(buf_str(&b));
	buf_free(&b);
	return out;
}

struct metrics_server {
	struct event_base *base;
	struct event *lev;
	struct event *resume_ev;	/* accepting again after EMFILE */
	int	 fd;
	bool	 need_db;
	struct cache *cache;		/* for trust; NULL until set */
	unsigned nconns;
	struct endpoint ep;		/* a copy: reloads free the config */
	struct mconn *conns;		/* open scraper connections, newest
					 * first */
	struct mconn *oldest;
	struct log_rate accept_log;
};

struct mconn {
	struct mconn *next, *prev;
	struct metrics_server *ms;
	int	 fd;
	struct event *ev;		/* readable */
	struct event *deadline;		/* METRICS_TIMEOUT_MS from accept:
					 * trickled bytes do not move it */
	struct buf in;
};

static void
mconn_free(struct mconn *mc)
{
	if (mc->prev)
		mc->prev->next = mc->next;
	else
		mc->ms->conns = mc->next;
	if (mc->next)
		mc->next->prev = mc->prev;
	else
		mc->ms->oldest = mc->prev;
	event_free(mc->ev);
	event_free(mc->deadline);
	close(mc->fd);
	buf_free(&mc->in);
	mc->ms->nconns--;
	free(mc);
}

/* mconn_reply - a whole response in one blocking-ish send, then close */
static void
mconn_reply(struct mconn *mc, const char *status, const char *ctype,
    const char *body)
{
	struct buf out;
	size_t off = 0;
	ssize_t n;

	buf_init(&out, 0);
	buf_printf(&out, "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
	    ctype, strlen(body), body);
	/* the socket is non-blocking; a scraper that does not read gets cut */
	while (off < out.len) {
		n = send(mc->fd, out.data + off, out.len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	buf_free(&out);
	mconn_free(mc);
}

static void
mconn_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	mconn_free(arg);
}

static void
mconn_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct mconn *mc = arg;
	char chunk[1024], path[128];
	const char *req;
	ssize_t n;

	n = recv(fd, chunk, sizeof(chunk), 0);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		mconn_free(mc);
		return;
	}
	if (memchr(chunk, '\0', (size_t)n) != NULL) {
		mconn_reply(mc, "400 Bad Request", "text/plain",
		    "bad request\n");
		return;
	}
	if (buf_append(&mc->in, chunk, (size_t)n) < 0) {
		mconn_reply(mc, "413 Request Entity Too Large", "text/plain",
		    "request too large\n");
		return;
	}
	req = buf_str(&mc->in);
	if (strstr(req, "\r\n\r\n") == NULL && strstr(req, "\n\n") == NULL)
		return;
	if (sscanf(req, "GET %127s HTTP/", path) != 1) {
		mconn_reply(mc, "405 Method Not Allowed", "text/plain",
		    "only GET\n");
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		char *body = metrics_format();

		mconn_reply(mc, "200 OK", "text/plain; version=0.0.4", body);
		free(body);
	} else if (strcmp(path, "/healthz") == 0) {
		mconn_reply(mc, "200 OK", "text/plain", "ok\n");
	} else if (strcmp(path, "/readyz") == 0) {
		if (mc->ms->need_db && db_ready_connections() == 0)
			mconn_reply(mc, "503 Service Unavailable",
			    "text/plain", "no PostgreSQL connection\n");
		else if (mc->ms->cache != NULL &&
		    !cache_trusted(mc->ms->cache))
			mconn_reply(mc, "503 Service Unavailable",
			    "text/plain", "cache not trusted: no LISTEN "
			    "connection, or no vrcpt triggers in the "
			    "database\n");
		else
			mconn_reply(mc, "200 OK", "text/plain", "ready\n");
	} else {
		mconn_reply(mc, "404 Not Found", "text/plain",
		    "try /metrics, /healthz or /readyz\n");
	}
}

static void
metrics_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_server *ms = arg;

	event_add(ms->lev, NULL);
}

static void
metrics_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct metrics_server *ms = arg;
	struct timeval tv = clock_tv_ms(METRICS_TIMEOUT_MS);
	struct timeval pause = clock_tv_ms(METRICS_ACCEPT_PAUSE_MS);
	unsigned long held;
	struct mconn *mc;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* readable until accepted: pause, or it would spin */
			if (log_rate_ok(&ms->accept_log, clock_mono_ms(),
			    METRICS_LOG_INTERVAL_MS, &held))
				msg_warn("metrics: accept: %s; not accepting "
				    "for %dms (%lu more like this not logged)",
				    strerror(errno), METRICS_ACCEPT_PAUSE_MS,
				    held);
			event_del(ms->lev);
			evtimer_add(ms->resume_ev, &pause);
		}
		return;
	}
	/*
	 * At the limit the oldest connection goes, not the new one: a
	 * health check sends its request at once and is answered long
	 * before METRICS_CONNS_MAX newer connections push it out, whatever
	 * slow clients hold the rest.
	 */
	if (ms->nconns >= METRICS_CONNS_MAX && ms->oldest != NULL)
		mconn_free(ms->oldest);
	mc = xcalloc(1, sizeof(*mc));
	mc->ms = ms;
	mc->fd = fd;
	buf_init(&mc->in, METRICS_REQUEST_MAX);
	mc->ev = event_new(ms->base, fd, EV_READ | EV_PERSIST, mconn_on_read,
	    mc);
	mc->deadline = evtimer_new(ms->base, mconn_on_deadline, mc);
	if (mc->ev == NULL || mc->deadline == NULL)
		msg_fatal("event_new: out of memory");
	event_add(mc->ev, NULL);
	evtimer_add(mc->deadline, &tv);
	mc->next = ms->conns;
	if (ms->conns)
		ms->conns->prev = mc;
	else
		ms->oldest = mc;
	ms->conns = mc;
	ms->nconns++;
}

struct metrics_server *
metrics_start(struct event_base *base, const struct endpoint *ep,
    unsigned unix_mode, gid_t unix_gid, bool need_db, const char **error_r)
{
	static char err[LISTEN_ERR_LEN];
	struct metrics_server *ms;
	int fd;

	fd = listen_open(ep, (mode_t)unix_mode, unix_gid, err);
	if (fd < 0) {
		*error_r = err;
		return NULL;
	}
	ms = xcalloc(1, sizeof(*ms));
	ms->base = base;
	ms->fd = fd;
	ms->need_db = need_db;
	ms->ep = *ep;
	ms->lev = event_new(base, fd, EV_READ | EV_PERSIST, metrics_on_accept,
	    ms);
	ms->resume_ev = evtimer_new(base, metrics_accept_resume, ms);
	if (ms->lev == NULL || ms->resume_ev == NULL)
		msg_fatal("event_new: out of memory");
	event_add(ms->lev, NULL);
	return ms;
}

void
metrics_set_cache(struct metrics_server *ms, struct cache *cache)
{
	ms->cache = cache;
	metrics_cache = cache;
}

void
metrics_stop(struct metrics_server **msp)
{
	struct metrics_server *ms = *msp;

	*msp = NULL;
	if (ms == NULL)
		return;
	metrics_cache = NULL;
	while (ms->conns != NULL)
		mconn_free(ms->conns);
	event_free(ms->lev);
	event_free(ms->resume_ev);
	listen_close(&ms->ep, ms->fd);
	free(ms);
}
