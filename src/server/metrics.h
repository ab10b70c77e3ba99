#ifndef VRCPT_METRICS_H
#define VRCPT_METRICS_H
/*
 * metrics - Prometheus text at /metrics, /healthz and /readyz over a
 * tiny HTTP/1.0 listener (metrics_listen), served by the main thread.
 *
 * It shows the counter registry (server/stats.h) and the state of the
 * PostgreSQL pools. /healthz: 200 while the process runs its loop.
 * /readyz: 200 when at least one PostgreSQL connection is up (or no
 * pgsql map is configured) and the cache is trusted (LISTEN up and the
 * vrcpt triggers present, server/cache.h), else 503 saying which.
 */
#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>


struct cache;
struct endpoint;
struct event_base;
struct metrics_server;

#define METRICS_REQUEST_MAX	4096	/* bytes of one HTTP request */
#define METRICS_TIMEOUT_MS	5000	/* from accept to the whole request;
					 * trickled bytes do not extend it */
#define METRICS_CONNS_MAX	64	/* connections at once; at the limit
					 * the oldest is closed */
#define METRICS_ACCEPT_PAUSE_MS	250	/* out of descriptors: pause */
#define METRICS_LOG_INTERVAL_MS	(60 * 1000)

/*
 * metrics_start - listen on ep (copied) on base (a unix socket with
 * unix_mode and group unix_gid, as listen_open);
 * NULL with *error_r set when the socket cannot be had. need_db:
 * whether readiness depends on PostgreSQL.
 */
struct metrics_server *metrics_start(struct event_base *base,
	    const struct endpoint *ep, unsigned unix_mode, gid_t unix_gid,
	    bool need_db, const char **error_r);
/*
 * metrics_set_cache - the cache whose trust /metrics shows and /readyz
 * requires (borrowed until metrics_stop)
 */
void	metrics_set_cache(struct metrics_server *ms, struct cache *cache);
void	metrics_stop(struct metrics_server **msp);

/* metrics_format - the /metrics body (for tests); caller frees */
char	*metrics_format(void);

#endif
