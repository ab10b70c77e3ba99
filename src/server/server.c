/*
 * server - worker threads and configuration generations. See server.h.
 *
 * Depends on: libevent, pthreads, store/db, server/conn, daemon/config.
 * Threads: the main thread only calls server_start/reload/stop; it talks
 * to a worker through the worker's mutex-protected mailbox plus a byte on
 * its notify pipe. Everything else a worker touches is its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/config.h"
#include "server/cache.h"
#include "server/conn.h"
#include "server/resolve.h"
#include "server/server.h"
#include "server/worker.h"
#include "store/db.h"
#include "util/log.h"
#include "util/xalloc.h"

struct server {
	struct worker *workers;
	unsigned nworkers;
};

/* gen_new - a generation for cfg in worker w: a db pool per server */
static struct gen *
gen_new(struct worker *w, struct config *cfg, unsigned nworkers)
{
	struct gen *g = xcalloc(1, sizeof(*g));
	struct db_opts opts;
	size_t i, j, maxid = 0;

	g->cfg = config_ref(cfg);
	g->refs = 1;
	for (i = 0; i < cfg->ndbconfs; i++)
		for (j = 0; j < cfg->dbconfs[i].nmaps; j++)
			if (cfg->dbconfs[i].maps[j]->id + 1 > maxid)
				maxid = cfg->dbconfs[i].maps[j]->id + 1;
	g->nsqlmaps = maxid;
	g->db_of_sqlmap = xcalloc(maxid ? maxid : 1, sizeof(unsigned));
	g->ndbs = cfg->ndbconfs;
	g->dbs = xcalloc(g->ndbs ? g->ndbs : 1, sizeof(struct db *));
	/* db_pool_size is for the whole daemon: share it out, at least 1 */
	opts.pool_size = (cfg->db_pool_size + nworkers - 1) / nworkers;
	if (opts.pool_size == 0)
		opts.pool_size = 1;
	opts.application_name = cfg->syslog_name;
	for (i = 0; i < cfg->ndbconfs; i++) {
		for (j = 0; j < cfg->dbconfs[i].nmaps; j++)
			g->db_of_sqlmap[cfg->dbconfs[i].maps[j]->id] =
			    (unsigned)i;
		g->dbs[i] = db_new(w->base, cfg->dbconfs[i].maps,
		    cfg->dbconfs[i].nmaps, &opts);
	}
	g->resolver = resolver_new(w->base, cfg, g->dbs, g->db_of_sqlmap,
	    g->nsqlmaps);
	return g;
}

struct gen *
gen_ref(struct gen *g)
{
	g->refs++;
	return g;
}

void
gen_unref(struct worker *w, struct gen **gp)
{
	struct gen *g = *gp;
	size_t i;

	*gp = NULL;
	if (g == NULL || --g->refs > 0)
		return;
	resolver_free(&g->resolver);	/* before the pools it uses */
	for (i = 0; i < g->ndbs; i++)
		db_free(&g->dbs[i]);
	free(g->dbs);
	free(g->db_of_sqlmap);
	config_unref(&g->cfg);
	free(g);
}

static void
worker_on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	conn_accept(w, fd);
}

static void
worker_drained(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	event_base_loopbreak(w->base);
}

/* worker_check_drained - during a stop, leave once no request runs */
static void
worker_check_drained(struct worker *w)
{
	struct conn *c;

	for (c = w->conns; c != NULL; c = c->next)
		if (c->busy)
			return;
	event_base_loopbreak(w->base);
}

static void
worker_on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct config *cfg;
	char junk[64];
	bool stopping;
	size_t i;

	while (read(fd, junk, sizeof(junk)) > 0)
		;
	pthread_mutex_lock(&w->lock);
	cfg = w->pending_cfg;
	w->pending_cfg = NULL;
	stopping = w->stopping;
	pthread_mutex_unlock(&w->lock);
	if (cfg != NULL) {
		struct gen *old = w->gen;

		w->gen = gen_new(w, cfg, w->srv->nworkers);
		config_unref(&cfg);
		gen_unref(w, &old);
	}
	if (stopping) {
		struct timeval tv = { SERVER_DRAIN_MS / 1000,
		    (SERVER_DRAIN_MS % 1000) * 1000 };

		for (i = 0; i < w->nlisten; i++)
			event_del(w->listen_evs[i]);
		if (w->drain_ev == NULL) {
			w->drain_ev = evtimer_new(w->base, worker_drained, w);
			evtimer_add(w->drain_ev, &tv);
		}
		worker_check_drained(w);
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

/* worker_poll_drain - while stopping, re-check now and then */
static void
worker_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	bool stopping;

	pthread_mutex_lock(&w->lock);
	stopping = w->stopping;
	pthread_mutex_unlock(&w->lock);
	if (stopping)
		worker_check_drained(w);
}

static void
worker_notify(struct worker *w)
{
	ssize_t n;

	do
		n = write(w->notify_wr, "x", 1);
	while (n < 0 && errno == EINTR);
	/* EAGAIN: a wakeup is already pending, which is enough */
}

struct server *
server_start(struct config *cfg, const int *fds, size_t nfds)
{
	struct server *srv = xcalloc(1, sizeof(*srv));
	sigset_t all, old;
	unsigned i, n;
	size_t j;
	long ncpu;

	n = cfg->workers;
	if (n == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		n = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	if (n > SERVER_WORKERS_MAX)
		n = SERVER_WORKERS_MAX;
	srv->nworkers = n;
	srv->workers = xcalloc(n, sizeof(struct worker));
	cache_start(cfg);
	/* workers never take signals: the main thread handles them */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < n; i++) {
		struct worker *w = &srv->workers[i];
		struct timeval tick = { 0, 100 * 1000 };
		int p[2];

		w->idx = i;
		w->srv = srv;
		pthread_mutex_init(&w->lock, NULL);
		w->base = event_base_new();
		if (w->base == NULL)
			msg_fatal("event_base_new failed");
		if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
			msg_fatal("pipe: %s", strerror(errno));
		w->notify_rd = p[0];
		w->notify_wr = p[1];
		w->notify_ev = event_new(w->base, w->notify_rd,
		    EV_READ | EV_PERSIST, worker_on_notify, w);
		event_add(w->notify_ev, NULL);
		w->tick_ev = event_new(w->base, -1, EV_PERSIST,
		    worker_drain_tick, w);
		event_add(w->tick_ev, &tick);
		w->listen_fds = fds;
		w->nlisten = nfds;
		w->listen_evs = xcalloc(nfds ? nfds : 1, sizeof(struct event *));
		for (j = 0; j < nfds; j++) {
			w->listen_evs[j] = event_new(w->base, fds[j],
			    EV_READ | EV_PERSIST, worker_on_accept, w);
			event_add(w->listen_evs[j], NULL);
		}
		w->gen = gen_new(w, cfg, n);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			msg_fatal("pthread_create: %s", strerror(errno));
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	msg_info("started %u worker%s", n, n == 1 ? "" : "s");
	return srv;
}

void
server_reload(struct server *srv, struct config *cfg)
{
	unsigned i;

	cache_reload(cfg);
	for (i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		pthread_mutex_lock(&w->lock);
		if (w->pending_cfg != NULL)
			config_unref(&w->pending_cfg);
		w->pending_cfg = config_ref(cfg);
		pthread_mutex_unlock(&w->lock);
		worker_notify(w);
	}
}

void
server_stop(struct server **srvp)
{
	struct server *srv = *srvp;
	unsigned i;
	size_t j;

	*srvp = NULL;
	if (srv == NULL)
		return;
	for (i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		pthread_mutex_lock(&w->lock);
		w->stopping = true;
		pthread_mutex_unlock(&w->lock);
		worker_notify(w);
	}
	for (i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		pthread_join(w->thread, NULL);
		while (w->conns != NULL)
			conn_close(w->conns);
		gen_unref(w, &w->gen);
		if (w->pending_cfg != NULL)
			config_unref(&w->pending_cfg);
		for (j = 0; j < w->nlisten; j++)
			event_free(w->listen_evs[j]);
		free(w->listen_evs);
		event_free(w->notify_ev);
		if (w->drain_ev)
			event_free(w->drain_ev);
		event_free(w->tick_ev);
		close(w->notify_rd);
		close(w->notify_wr);
		event_base_free(w->base);
		pthread_mutex_destroy(&w->lock);
	}
	free(srv->workers);
	free(srv);
	cache_stop();
}
