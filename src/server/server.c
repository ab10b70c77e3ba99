/*
 * server - worker threads and configuration generations. See server.h.
 *
 * Depends on: libevent, pthreads, store/db, server/conn, daemon/config.
 * Threads: the main thread only calls server_start/reload/stop; it talks
 * to a worker through the worker's mutex-protected mailbox plus a byte on
 * its notify pipe. Everything else a worker touches is its own.
 */
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "server/cache.h"
#include "server/conn.h"
#include "server/metrics.h"
#include "server/resolve.h"
#include "server/server.h"
#include "server/stats.h"
#include "server/worker.h"
#include "store/db.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

struct server {
	struct worker *workers;
	unsigned nworkers;
	struct cache *cache;		/* the process's, shared by workers */
	atomic_uint nconns;		/* client connections, all workers */
	atomic_uint shed_pending;	/* of them, being closed to make room */
	struct log_rate accept_log;	/* one line a minute for them all */
	struct log_rate shed_log;
	struct log_rate refuse_log;
};

/* gen_new - a generation for cfg in worker w: a db pool per server */
static struct gen *
gen_new(struct worker *w, struct conf *cfg, unsigned nworkers)
{
	struct gen *g = xcalloc(1, sizeof(*g));
	struct db_opts opts;
	size_t i, j, maxid = 0;
	unsigned k, c;

	g->cfg = conf_ref(cfg);
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
	opts.target = cfg->db_read_target;
	for (i = 0; i < cfg->ndbconfs; i++) {
		for (j = 0; j < cfg->dbconfs[i].nmaps; j++)
			g->db_of_sqlmap[cfg->dbconfs[i].maps[j]->id] =
			    (unsigned)i;
		g->dbs[i] = db_new(w->base, cfg->dbconfs[i].maps,
		    cfg->dbconfs[i].nmaps, &opts);
	}
	g->resolver = resolver_new(w->base, cfg, w->cache, g->dbs,
	    g->db_of_sqlmap, g->nsqlmaps);
	/* the decision cache: its namespace and every verdict it returns */
	g->decisions_on = cfg->cache_max_entries > 0 &&
	    cfg->cache_max_bytes > 0;
	cachefmt_dns(&cfg->engine, g->dns);
	for (k = 0; k < GEN_KINDS; k++)
		for (c = 0; c < GEN_CLASSES; c++)
			engine_verdict(&cfg->engine, (enum verdict_kind)k,
			    (enum domain_class)c, &g->vtab[k][c]);
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
	conf_unref(&g->cfg);
	free(g);
}

/* worker_stopping - server_stop() has asked this worker to stop */
static bool
worker_stopping(struct worker *w)
{
	bool stopping;

	pthread_mutex_lock(&w->lock);
	stopping = w->stopping;
	pthread_mutex_unlock(&w->lock);
	return stopping;
}

static void
worker_listen_on(struct worker *w, bool on)
{
	size_t i;

	for (i = 0; i < w->nlisten; i++) {
		if (on)
			event_add(w->listen_evs[i], NULL);
		else
			event_del(w->listen_evs[i]);
	}
	if (w->ctl_ev != NULL) {
		if (on)
			event_add(w->ctl_ev, NULL);
		else
			event_del(w->ctl_ev);
	}
}

static void
worker_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	w->accept_paused = false;
	if (!worker_stopping(w))
		worker_listen_on(w, true);
}

/*
 * worker_accept_pause - accept() ran out of descriptors or memory. The
 * listening sockets stay readable, so going on would spin: stop
 * accepting for SERVER_ACCEPT_PAUSE_MS (clients wait in the backlog),
 * say so at most once per CONN_LOG_INTERVAL_MS, then try again.
 */
static void
worker_accept_pause(struct worker *w, int err)
{
	struct timeval tv = clock_tv_ms(SERVER_ACCEPT_PAUSE_MS);
	unsigned long held;

	if (log_rate_ok(w->accept_log, clock_mono_ms(), CONN_LOG_INTERVAL_MS,
	    &held))
		msg_warn("accept: %s with %u client connections; not "
		    "accepting for %dms (raise the open-file limit, "
		    "LimitNOFILE=, or lower %s; %lu more like this not "
		    "logged)", strerror(err), atomic_load(w->server_conns),
		    SERVER_ACCEPT_PAUSE_MS, CONF_NAME(connection_limit), held);
	worker_listen_on(w, false);
	w->accept_paused = true;
	evtimer_add(w->resume_ev, &tv);
}

static void
worker_on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	if (conn_accept(w, fd, false) == CONN_ACCEPT_NOFDS)
		worker_accept_pause(w, errno);
}

static void
worker_on_accept_ctl(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	if (conn_accept(w, fd, true) == CONN_ACCEPT_NOFDS)
		worker_accept_pause(w, errno);
}

static void
worker_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	conn_sweep(arg);
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
	struct conf *cfg;
	char junk[64];
	bool stopping;

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
		conf_unref(&cfg);
		gen_unref(w, &old);
	}
	if (stopping) {
		struct timeval tv = clock_tv_ms(SERVER_DRAIN_MS);

		worker_listen_on(w, false);
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

	stats_slot_bind();
	event_base_dispatch(w->base);
	return NULL;
}

/* worker_poll_drain - while stopping, re-check now and then */
static void
worker_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	if (worker_stopping(w))
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

/* server_nworkers - the event loops cfg asks for */
static unsigned
server_nworkers(const struct conf *cfg)
{
	unsigned n = cfg->workers;
	long ncpu;

	if (n == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		n = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	return n > SERVER_WORKERS_MAX ? SERVER_WORKERS_MAX : n;
}

/* server_fds_reserved - descriptors that are not client connections */
static rlim_t
server_fds_reserved(const struct conf *cfg)
{
	rlim_t nw = server_nworkers(cfg);

	/* each database server: the pool (shared out, at least one per
	 * worker) and a LISTEN connection */
	return SERVER_FDS_RESERVED + nw * SERVER_FDS_PER_WORKER +
	    (rlim_t)cfg->ndbconfs * (cfg->db_pool_size + nw + 1) +
	    METRICS_CONNS_MAX;
}

unsigned
server_fd_cap(const struct conf *cfg)
{
	struct rlimit rl;
	rlim_t reserved = server_fds_reserved(cfg), cap;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return UINT_MAX;
	cap = rl.rlim_cur > reserved ? rl.rlim_cur - reserved : 1;
	return cap > UINT_MAX ? UINT_MAX : (unsigned)cap;
}

void
server_raise_nofile(const struct conf *cfg)
{
	struct rlimit rl;
	rlim_t want = server_fds_reserved(cfg) + cfg->connection_limit;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
		want = rl.rlim_max;
	if (want <= rl.rlim_cur)
		return;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		msg_warn("setrlimit(RLIMIT_NOFILE, %llu): %s",
		    (unsigned long long)want, strerror(errno));
}

struct server *
server_start(struct conf *cfg, const int *fds, size_t nfds, int ctl_fd)
{
	struct server *srv = xcalloc(1, sizeof(*srv));
	sigset_t all, old;
	unsigned i, n, fd_cap;
	size_t j;
	int rc;

	n = server_nworkers(cfg);
	srv->nworkers = n;
	atomic_init(&srv->nconns, 0);
	atomic_init(&srv->shed_pending, 0);
	fd_cap = server_fd_cap(cfg);
	if (fd_cap < cfg->connection_limit)
		msg_warn("the open-file limit leaves room for %u client "
		    "connections, fewer than %s (%u): raise it (LimitNOFILE= "
		    "in the unit, ulimit -n)", fd_cap,
		    CONF_NAME(connection_limit), cfg->connection_limit);
	srv->workers = xcalloc(n, sizeof(struct worker));
	/* every worker may look at every other's connections (conn_shed) */
	for (i = 0; i < n; i++)
		pthread_mutex_init(&srv->workers[i].conns_lock, NULL);
	srv->cache = cache_new(cfg);
	/* workers never take signals: the main thread handles them */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < n; i++) {
		struct worker *w = &srv->workers[i];
		struct timeval tick = clock_tv_ms(SERVER_TICK_MS);
		struct timeval sweep = clock_tv_ms(CONN_SWEEP_MS);
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
		w->sweep_ev = event_new(w->base, -1, EV_PERSIST,
		    worker_on_sweep, w);
		event_add(w->sweep_ev, &sweep);
		w->resume_ev = evtimer_new(w->base, worker_accept_resume, w);
		if (w->sweep_ev == NULL || w->resume_ev == NULL)
			msg_fatal("event_new: out of memory");
		w->cache = srv->cache;
		w->server_conns = &srv->nconns;
		w->shed_pending = &srv->shed_pending;
		w->all = srv->workers;
		w->nall = n;
		w->accept_log = &srv->accept_log;
		w->shed_log = &srv->shed_log;
		w->refuse_log = &srv->refuse_log;
		w->fd_conn_cap = fd_cap;
		w->listen_fds = fds;
		w->nlisten = nfds;
		w->listen_evs = xcalloc(nfds ? nfds : 1,
		    sizeof(struct event *));
		for (j = 0; j < nfds; j++) {
			w->listen_evs[j] = event_new(w->base, fds[j],
			    EV_READ | EV_PERSIST, worker_on_accept, w);
			event_add(w->listen_evs[j], NULL);
		}
		/* the admin's few connections: one worker is plenty */
		if (ctl_fd >= 0 && i == 0) {
			w->ctl_ev = event_new(w->base, ctl_fd,
			    EV_READ | EV_PERSIST, worker_on_accept_ctl, w);
			if (w->ctl_ev == NULL)
				msg_fatal("event_new: out of memory");
			event_add(w->ctl_ev, NULL);
		}
		w->gen = gen_new(w, cfg, n);
		if ((rc = pthread_create(&w->thread, NULL, worker_main,
		    w)) != 0)
			msg_fatal("pthread_create: %s", strerror(rc));
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	msg_info("started %u worker%s", n, n == 1 ? "" : "s");
	return srv;
}

void
server_reload(struct server *srv, struct conf *cfg)
{
	unsigned i;

	cache_reload(srv->cache, cfg);
	for (i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		pthread_mutex_lock(&w->lock);
		if (w->pending_cfg != NULL)
			conf_unref(&w->pending_cfg);
		w->pending_cfg = conf_ref(cfg);
		pthread_mutex_unlock(&w->lock);
		worker_notify(w);
	}
}

struct cache *
server_cache(struct server *srv)
{
	return srv->cache;
}

void
server_status(struct server *srv, char *buf, size_t size)
{
	snprintf(buf, size, "%u client connections, %llu RCPTs decided "
	    "(%llu from the decision cache), cache %s, %u PostgreSQL "
	    "connections up", atomic_load(&srv->nconns),
	    (unsigned long long)stats_get(rcpt),
	    (unsigned long long)stats_get(decision_hit),
	    cache_trusted(srv->cache) ? "trusted" :
	    "not trusted (LISTEN down or no vrcpt triggers)",
	    db_ready_connections());
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
	for (i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i].thread, NULL);
	for (i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		while (w->conns != NULL)
			conn_close(w->conns);
		gen_unref(w, &w->gen);
		if (w->pending_cfg != NULL)
			conf_unref(&w->pending_cfg);
		for (j = 0; j < w->nlisten; j++)
			event_free(w->listen_evs[j]);
		free(w->listen_evs);
		if (w->ctl_ev != NULL)
			event_free(w->ctl_ev);
		event_free(w->notify_ev);
		if (w->drain_ev)
			event_free(w->drain_ev);
		event_free(w->tick_ev);
		event_free(w->sweep_ev);
		event_free(w->resume_ev);
		close(w->notify_rd);
		close(w->notify_wr);
		event_base_free(w->base);
		pthread_mutex_destroy(&w->lock);
	}
	for (i = 0; i < srv->nworkers; i++)
		pthread_mutex_destroy(&srv->workers[i].conns_lock);
	free(srv->workers);
	cache_free(&srv->cache);
	free(srv);
}
