#ifndef VRCPT_WORKER_H
#define VRCPT_WORKER_H
/*
 * worker - one event loop thread: its generations, connections and
 * counters. Internal to src/server/.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cachefmt.h"
#include "core/engine.h"
#include "util/log.h"

struct cache;
struct conf;
struct db;
struct event;
struct event_base;
struct conn;
struct resolver;

#define GEN_KINDS	4		/* enum verdict_kind */
#define GEN_CLASSES	5		/* enum domain_class */

/* what a request needs from its configuration, kept alive while it runs */
struct gen {
	struct conf *cfg;		/* a reference */
	struct db **dbs;		/* one pool per cfg->dbconfs[i] */
	size_t	 ndbs;
	unsigned *db_of_sqlmap;		/* sqlmap id -> index in dbs */
	size_t	 nsqlmaps;
	struct resolver *resolver;	/* caches, single flight, batches
					 * (server/resolve.h) */
	bool	 decisions_on;		/* the in-process tier is on */
	char	 dns[CACHEFMT_NS_LEN + 1];	/* decision namespace */
	struct verdict vtab[GEN_KINDS][GEN_CLASSES];	/* each decision
							 * as remembered */
	unsigned refs;			/* worker thread only */
};

struct worker {
	unsigned idx;
	pthread_t thread;
	struct event_base *base;
	struct server *srv;
	struct cache *cache;		/* the server's */
	struct gen *gen;		/* current generation */
	const int *listen_fds;
	size_t	 nlisten;
	struct event **listen_evs;
	struct event *ctl_ev;		/* control_listen (worker 0), or NULL */
	unsigned nctl;			/* control connections open */
	int	 notify_rd, notify_wr;	/* main -> worker wakeups */
	struct event *notify_ev;
	struct conf *pending_cfg;	/* handed over by server_reload */
	pthread_mutex_t lock;		/* protects pending_cfg, stopping */
	bool	 stopping;
	struct conn *conns;		/* list of live connections */
	size_t	 nconns;
	pthread_mutex_t conns_lock;	/* conns and their fds: taken by this
					 * worker to add or close one, by any
					 * worker to choose one to shed */
	struct worker *all;		/* every worker of the server */
	unsigned nall;
	atomic_uint *server_conns;	/* connections of all workers */
	atomic_uint *shed_pending;	/* shed, not closed yet */
	unsigned fd_conn_cap;		/* connection_limit as the open-file
					 * limit allows it */
	struct event *drain_ev;
	struct event *tick_ev;		/* re-checks a stop now and then */
	struct event *sweep_ev;		/* connection timeouts */
	struct event *resume_ev;	/* accepting again after EMFILE */
	bool	 accept_paused;
	struct log_rate *accept_log;	/* accept() failures (shared) */
	struct log_rate *shed_log;	/* connection_limit: shedding */
	struct log_rate *refuse_log;	/* connection_limit: refusing */
};

/* gen_ref / gen_unref - the last unref frees pools and config */
struct gen *gen_ref(struct gen *g);
void	gen_unref(struct worker *w, struct gen **gp);

#endif
