#ifndef VRCPT_SERVER_H
#define VRCPT_SERVER_H
/*
 * server - the policy server: worker threads, each with its own libevent
 * loop, database pools and client connections.
 *
 * Every worker watches every listening socket; whichever wins accept()
 * owns the connection for its life, so Postfix's persistent per-smtpd
 * connections spread over the cores with no locking on the request
 * path. A configuration "generation" (config + the worker's db pools)
 * is reference-counted per worker: a reload installs a new one and
 * requests already running finish on the old one.
 *
 * Threads: server_* functions are called from the main thread only.
 */
#include <stddef.h>

struct cache;
struct conf;
struct server;

#define SERVER_WORKERS_MAX	64
#define SERVER_DRAIN_MS		2000	/* graceful stop: time to finish
					 * requests in flight */
#define SERVER_TICK_MS		100	/* a stopping worker checks for
					 * requests still running */
#define SERVER_ACCEPT_PAUSE_MS	250	/* out of descriptors: time before
					 * accept() is tried again */
/* descriptors kept for everything but client connections: listeners,
 * event loops, pipes, logs, metrics, plus per worker and per database
 * connection (see server_fd_cap) */
#define SERVER_FDS_RESERVED	64
#define SERVER_FDS_PER_WORKER	8

/*
 * server_start - start cfg->workers (0: one per online CPU) threads
 * serving the listening fds, and the control socket ctl_fd (-1: none;
 * see server/control.h). The fds are borrowed: the caller closes them
 * after server_stop. Takes a reference to cfg. Never fails but
 * fatally.
 */
struct server *server_start(struct conf *cfg, const int *fds, size_t nfds,
	    int ctl_fd);
/* server_reload - hand every worker a new configuration (takes a ref) */
void	server_reload(struct server *srv, struct conf *cfg);
/*
 * server_fd_cap - how many client connections the open-file limit leaves
 * room for with cfg (RLIMIT_NOFILE, soft). Call server_raise_nofile()
 * first.
 */
unsigned server_fd_cap(const struct conf *cfg);
/*
 * server_raise_nofile - raise the soft open-file limit to the hard one
 * (as far as cfg's connection_limit needs), so that a small default
 * (1024) does not cap connection_limit; logs what it did.
 */
void	server_raise_nofile(const struct conf *cfg);
/* server_cache - the server's cache object (for metrics) */
struct cache *server_cache(struct server *srv);
/*
 * server_status - one line for systemd's STATUS=: connections, RCPTs
 * decided, cache trust, database connections. Into buf.
 */
void	server_status(struct server *srv, char *buf, size_t size);
/* server_stop - stop accepting, let requests finish, join, free */
void	server_stop(struct server **srvp);

#endif
