#ifndef VRCPT_CTL_H
#define VRCPT_CTL_H
/*
 * ctl - the parts of vrcptctl (src/ctl/vrcptctl.c has the commands).
 *
 *   daemon.c  query and stats through the running vrcptd
 *             (control_listen, proto/control.h)
 *   direct.c  query --direct: the engine and the SQL run here, with
 *             what Redis holds beside each lookup
 *   flush.c   flush: NOTIFY through each database, and Redis
 *   check.c   check [-a] [--live]
 *   common.c  what they share
 *
 * Exit codes, as postmap -q's: 0 the recipient is accepted (known, or
 * passed on), 1 it is rejected (unknown), 2 an error (usage,
 * configuration, vrcptd unreachable), 3 a temporary failure (the
 * daemon could not look it up: Postfix would defer). With several
 * addresses, the highest.
 */
#include <stdbool.h>

struct conf;
struct rcachesync;
struct sentinel;

#define CTL_EXIT_OK		0
#define CTL_EXIT_REJECT		1
#define CTL_EXIT_ERROR		2
#define CTL_EXIT_TEMPFAIL	3

#define CTL_DB_TIMEOUT_MS	5000
#define CTL_REDIS_TIMEOUT_MS	2000
#define CTL_DAEMON_TIMEOUT_MS	10000	/* a query through vrcptd: above
					 * any request_timeout in use */

/* printable - untrusted text for the terminal, in buf */
const char *printable(char *buf, const char *s);
bool	ctl_redis_on(const struct conf *cfg);
/* ctl_cache_text - "redis:..." or "none", for messages */
const char *ctl_cache_text(const struct conf *cfg);
/* ctl_redis - a blocking Redis client for cfg's cache */
struct rcachesync *ctl_redis(const struct conf *cfg);
/* ctl_sentinel - with redis-sentinel:, a passive Sentinel client (the
 * caller unrefs it); else NULL */
struct sentinel *ctl_sentinel(const struct conf *cfg);

/* ctl_query_daemon - ask the running vrcptd; an exit code */
int	ctl_query_daemon(const struct conf *cfg, char *const *addrs, int n);
/* ctl_stats - the running vrcptd's counters; an exit code */
int	ctl_stats(const struct conf *cfg);
/* ctl_query_direct - every lookup, here; an exit code */
int	ctl_query_direct(const struct conf *cfg, char *const *addrs, int n);
/* ctl_flush - what: ADDRESS, @DOMAIN, DOMAIN, or NULL for all */
int	ctl_flush(const struct conf *cfg, const char *what);
/* ctl_check - the configuration, every parameter set (all: every one) */
int	ctl_check(const struct conf *cfg, bool all);
/* ctl_check_live - the database, Redis and sockets, for real */
int	ctl_check_live(const struct conf *cfg);
/* ctl_exit_for - the exit code of a decision (engine verdict kind name
 * and the action sent) */
int	ctl_exit_for(const char *decision, const char *action);

#endif
