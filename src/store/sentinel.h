#ifndef VRCPT_SENTINEL_H
#define VRCPT_SENTINEL_H
/*
 * sentinel - where the Redis master is, asked of Redis Sentinel
 * ("cache = redis-sentinel:HOST:PORT[,HOST:PORT...]/MASTERNAME"), for
 * both Redis clients: rcache (vrcptd's workers, async) and rcachesync
 * (vrcptd's invalidation listeners and vrcptctl, blocking).
 *
 * Discovery, as Redis's Sentinel client guidelines describe it: ask the
 * Sentinels in turn (the one that answered last first) "SENTINEL
 * get-master-addr-by-name NAME", connect to that address and ask ROLE;
 * only a "master" is taken (a Sentinel that has not seen a failover yet
 * names the old master). INFO replication gives its replication id.
 *
 * The master found is published with a generation number, which changes
 * whenever the master does: another address, or the same address with
 * another replication id (promoted, restarted, failed over and back).
 * The clients connect to the published master, check ROLE on every new
 * connection, and drop their connection when the generation moves on;
 * one whose connection fails or finds a replica calls sentinel_suspect(),
 * and the next discovery happens at once.
 *
 * The shared tier after a failover: replication is asynchronous, so a
 * new master may lack the last writes of the old one, invalidations
 * (tombstones, new epochs) included: its records cannot be trusted. With
 * opts->flush_key (core/cachefmt's global epoch), each new master is
 * flushed after it is published (that key set to a new random value:
 * every record stored before is a miss), and sentinel_usable() is false
 * for its generation until that is done; the workers neither read nor
 * fill before. The invalidation listeners write to the new master as
 * soon as it is published, so no change made meanwhile is lost.
 *
 * Modes:
 *   watch    (vrcptd) a thread discovers at start, every
 *            SENTINEL_REFRESH_MS, after a suspicion (at most every
 *            SENTINEL_RETRY_MS), and at once when a Sentinel announces
 *            "+switch-master" (it keeps a subscription on one Sentinel).
 *            sentinel_master() does no I/O.
 *   passive  (vrcptctl) sentinel_master() discovers, blocking, when
 *            nothing is known yet or the master is suspect. No flush,
 *            no log lines: errors go back to the caller.
 *
 * Threads: every function may be called from any thread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/endpoint.h"

struct sentinel;
struct redisReply;

#define SENTINEL_TIMEOUT_MS	500	/* vrcptd: connecting, and each
					 * exchange with a Sentinel or the
					 * master */
#define SENTINEL_REFRESH_MS	2000	/* ask again while all is well */
#define SENTINEL_RETRY_MS	200	/* after a failure or a suspicion,
					 * at most this often */
#define SENTINEL_REPLY_MAX	65536	/* bytes of one reply */
#define SENTINEL_ELEMENTS_MAX	256	/* elements of one array reply (ROLE
					 * lists the replicas) */
#define SENTINEL_ERR_MAX	256	/* an error text */

struct sentinel_opts {
	const struct endpoint_sentinels *group;	/* copied */
	const char *password;		/* the Sentinels' AUTH ("" or NULL:
					 * none) */
	const char *master_password;	/* the master's (redis_password) */
	unsigned db;			/* the master's database (flush_key) */
	const char *flush_key;		/* set anew on each new master (watch
					 * only); NULL: no flush */
	uint64_t flush_ttl_ms;		/* its expiry; 0: none */
	unsigned timeout_ms;
	bool	 watch;
	const char *label;		/* log prefix, "redis-sentinel:..." */
};

/* a published master */
struct sentinel_master {
	char	 host[ENDPOINT_HOST_MAX + 1];	/* a numeric address */
	unsigned port;
	uint64_t gen;				/* 1, 2, ... */
};

/* sentinel_new - refs = 1; watch: the thread starts at once */
struct sentinel *sentinel_new(const struct sentinel_opts *opts);
struct sentinel *sentinel_ref(struct sentinel *s);
/* sentinel_unref - the last one stops the thread (if any) and frees */
void	sentinel_unref(struct sentinel **sp);
/*
 * sentinel_stop - stop watching (blocking: joins the thread); what is
 * published stays. For the owner, before its unref, so that a client
 * dropping the last reference never waits for the thread.
 */
void	sentinel_stop(struct sentinel *s);

/* sentinel_gen - the generation published (0: none yet) */
uint64_t sentinel_gen(const struct sentinel *s);
/* sentinel_usable - gen is the current generation, and flushed */
bool	sentinel_usable(const struct sentinel *s, uint64_t gen);
/*
 * sentinel_master - the master published, into *m_r. Watch mode: waits
 * up to wait_ms for the first one. Passive: discovers first when none
 * is known or it is suspect. Returns 0, or -1 with why in err.
 */
int	sentinel_master(struct sentinel *s, unsigned wait_ms,
	    struct sentinel_master *m_r, char err[SENTINEL_ERR_MAX]);
/* sentinel_suspect - the master of gen failed a client: ask again soon */
void	sentinel_suspect(struct sentinel *s, uint64_t gen);

/*
 * sentinel_role_check - reply is a ROLE reply that says "master".
 * Returns 0, or -1 with why in err.
 */
int	sentinel_role_check(const struct redisReply *reply,
	    char err[SENTINEL_ERR_MAX]);
/* sentinel_readonly - an error reply text[0..len) of a replica */
bool	sentinel_readonly(const char *text, size_t len);

/* sentinel_count - the Sentinels of the group; sentinel_text - the
 * canonical "redis-sentinel:..." group */
size_t	sentinel_count(const struct sentinel *s);
const char *sentinel_text(const struct sentinel *s);
/*
 * sentinel_ask - ask Sentinel i alone where the master is, and that
 * master for ROLE, blocking (vrcptctl check --live). Returns 0 with
 * the Sentinel's "host:port" in who and the master's in addr, or -1
 * with why in err (who set too).
 */
int	sentinel_ask(struct sentinel *s, size_t i,
	    char who[ENDPOINT_TEXT_MAX + 1], char addr[ENDPOINT_TEXT_MAX + 1],
	    char err[SENTINEL_ERR_MAX]);

#endif
