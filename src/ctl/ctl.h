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
 *   audit.c   audit: vrcptd against Postfix, Redis against the
 *             database, vrcptd.cf against main.cf
 *   pfcmd.c   running postconf and postmap, for audit
 *   common.c  what they share
 *
 * Exit codes, as postmap -q's: 0 the recipient is accepted (known, or
 * passed on), 1 it is rejected (unknown), 2 an error (usage,
 * configuration, vrcptd unreachable), 3 a temporary failure (the
 * daemon could not look it up: Postfix would defer). With several
 * addresses, the highest.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cachefmt.h"
#include "core/engine.h"

struct conf;
struct dbsync;
struct pclient;
struct rcachesync;
struct rcachesync_val;
struct sentinel;
struct sqlmap;

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
/* direct.c: blocking lookups, one connection per database server */
struct ctl_dbs {
	struct dbsync **v;
	size_t	 n;
	const struct conf *cfg;
};
struct ctl_dbs *ctl_dbs_new(const struct conf *cfg);
void	ctl_dbs_free(struct ctl_dbs **dbsp);
struct dbsync *ctl_db_for(struct ctl_dbs *dbs, const struct sqlmap *sm);
/*
 * ctl_direct_walk - the engine for a, its pgsql lookups asked here
 * (facts initialised by the caller); *v and *trace set. Returns the
 * number of queries.
 */
size_t	ctl_direct_walk(const struct conf *cfg, struct ctl_dbs *dbs,
	    const struct addr *a, struct factset *facts, struct verdict *v,
	    struct trace *trace);

/* what Redis holds for the pgsql lookups of one trace */
struct ctl_rview {
	bool	 asked;
	char	*error;			/* the read failed: why */
	struct rcachesync_val *vals;	/* [0] epoch, then domain epoch and
					 * record per trace entry */
	size_t	 nvals;
	int	 slot[ENGINE_TRACE_MAX];	/* trace entry -> its first
						 * value, or -1 */
};
void	ctl_rview_read(struct rcachesync *rs, const struct trace *trace,
	    struct ctl_rview *rv);
void	ctl_rview_free(struct ctl_rview *rv);
/*
 * ctl_rview_fresh - trace entry i has a record in Redis that vrcptd
 * would use now (its epochs current, within its TTL): true, *r_r (its
 * value borrowed from rv) and *age_ms_r
 */
bool	ctl_rview_fresh(const struct conf *cfg, const struct ctl_rview *rv,
	    size_t i, struct cachefmt_rec *r_r, uint64_t *age_ms_r);

/* daemon.c: vrcptd's answer for one recipient, for audit */
struct ctl_answer {
	char	 decision[32];		/* "valid", "unknown", ... */
	char	 dclass[32];		/* "virtual mailbox", ... */
	char	 action[ENGINE_ACTION_MAX];
	char	 tier[32];		/* where it came from */
};
/* ctl_daemon_connect - a client of control_listen, or NULL (said why) */
struct pclient *ctl_daemon_connect(const struct conf *cfg);
/* ctl_daemon_answer - 0 and *ans, or -1 (said why on stderr) */
int	ctl_daemon_answer(struct pclient *pc, const char *rcpt,
	    struct ctl_answer *ans);

/* pfcmd.c: Postfix's own commands, for audit */
#define CTL_PF_TIMEOUT_MS	60000	/* one postconf or postmap run */
#define CTL_PF_OUTPUT_MAX	(64 * 1024 * 1024)	/* its output */
#define CTL_PF_POSTCONF		"postconf"
#define CTL_PF_POSTMAP		"postmap"
/*
 * ctl_pf_run - argv with in[0..inlen) on its standard input; its
 * standard output in *out_r (caller frees) and the first line of its
 * standard error in *err_r (caller frees, maybe ""). Returns the exit
 * status, or -1 (could not run, no end within CTL_PF_TIMEOUT_MS, more
 * than CTL_PF_OUTPUT_MAX of output: killed; *err_r says which).
 */
int	ctl_pf_run(char *const argv[], const char *in, size_t inlen,
	    char **out_r, char **err_r);
/*
 * ctl_pf_postconf - "postconf [-c dir] -x -h NAME..." (dir NULL: none):
 * values[0..n-1] (fresh, caller frees). 0, or -1 and *err_r (fresh).
 */
int	ctl_pf_postconf(const char *dir, const char *const *names, size_t n,
	    char **values, char **err_r);
/* one key of a postmap batch */
struct ctl_pfkey {
	const char *key;		/* borrowed */
	enum fact_result result;	/* FOUND (value), NOT_FOUND, or
					 * UNAVAILABLE (why) */
	char	*value;
	char	*why;
};
/*
 * ctl_pf_postmap - "postmap [-c dir] -q - MAP" (a "proxy:" prefix left
 * out) with k[0..n-1]'s keys on its standard input: each key's result.
 * A key with a line break, and the keys after a lookup error (postmap
 * stops at the first), are UNAVAILABLE. An empty value is NOT_FOUND
 * (dict_pgsql's own rule).
 */
void	ctl_pf_postmap(const char *dir, const char *map,
	    struct ctl_pfkey *k, size_t n);

/* audit.c: vrcptctl audit (exit: 0 agrees, 1 a disagreement, 2 an
 * error or something not checked) */
#define CTL_AUDIT_MAX_DEFAULT	1000	/* addresses audited (--max) */
#define CTL_AUDIT_MAX_LIMIT	1000000
#define CTL_AUDIT_UNKNOWN_DEFAULT 2	/* unknown samples per domain */
#define CTL_AUDIT_UNKNOWN_LIMIT	100
struct ctl_audit_opts {
	const char *addresses;		/* FILE, "-"; NULL: the tables */
	const char *postfix_dir;	/* postconf -c, or NULL */
	size_t	 max;			/* addresses at most */
	unsigned unknown;		/* unknown samples per domain */
	bool	 no_daemon;		/* do not ask vrcptd */
};
int	ctl_audit(const struct conf *cfg, const struct ctl_audit_opts *o);

/* ctl_exit_for - the exit code of a decision (engine verdict kind name
 * and the action sent) */
int	ctl_exit_for(const char *decision, const char *action);

#endif
