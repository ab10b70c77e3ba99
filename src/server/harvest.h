#ifndef VRCPT_SRV_HARVEST_H
#define VRCPT_SRV_HARVEST_H
/*
 * harvest - directory-harvest protection across a fleet (harvest_limit
 * and friends; the pure rules are core/harvest.h).
 *
 * Each unknown-recipient reject sent to a client that is not exempt
 * adds one to its network's counter in the shared Redis (one EVAL:
 * INCR, PEXPIRE, and SET NX of the block key when the count passes
 * harvest_limit). Before deciding an RCPT from such a client, vrcptd
 * reads the network's block key (one MGET within redis_timeout): a
 * block set by any vrcptd sharing the Redis answers harvest_reply.
 *
 * The process keeps the blocks it has seen (struct harvest, shared by
 * the workers, locked): a network known blocked is answered without
 * Redis until its block ends, and each block is logged once per process
 * when it is first seen, started here or by another vrcptd:
 *
 *   warning: harvest: block: network=192.0.2.0/24 client=192.0.2.7
 *       for=600s started=here count=21 limit=20 window=60s
 *
 * (fail2ban: deploy/fail2ban-vrcpt.conf). Redis down or slow: nothing
 * is counted and no new block is seen (no protection, said once a
 * second at most); blocks already known here still apply until they
 * end. Never a reject of a valid recipient outside a block.
 *
 * Threads: struct harvest is shared (its own mutex); the Redis calls
 * run on the calling worker's loop.
 *
 * Depends on: core/harvest, conf/, store/rcache, server/stats, util/.
 * Security: network texts come from core/harvest (our formatting of a
 * parsed address), never from Redis; values read from Redis are parsed
 * with core/harvest and bounded by harvest_block_time.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/harvest.h"
#include "store/rcache.h"

struct conf;
struct harvest;

#define HARVEST_LOCAL_MAX	4096	/* blocks known to one process;
					 * past it the one ending first
					 * goes */

/* one client as the protection sees it */
struct harvest_client {
	bool	 counted;		/* not exempt: counted, blockable */
	char	 net[HARVEST_NET_TEXT_MAX];	/* its network */
	char	 addr[HARVEST_NET_TEXT_MAX];	/* client_address */
};

struct harvest *harvest_new(void);
void	harvest_free(struct harvest **hp);

/*
 * harvest_client - whether the client of a request is subject to the
 * protection under cfg (no: SASL-authenticated, in
 * harvest_exempt_networks, or not an address), and its network
 */
void	harvest_client(const struct conf *cfg, const char *client_address,
	    const char *sasl_username, struct harvest_client *hc);

/* harvest_blocked - net is blocked now, as far as this process knows */
bool	harvest_blocked(struct harvest *h, const char *net,
	    uint64_t now_ms);

/* harvest_blocked_count - networks blocked now (the metric) */
unsigned harvest_blocked_count(struct harvest *h, uint64_t now_ms);

/*
 * harvest_check_result - the answer of harvest_check's read (vals as
 * rcache gives them, NULL: no answer): true when hc's network is
 * blocked; remembered and logged here the first time
 */
bool	harvest_check_result(struct harvest *h, const struct conf *cfg,
	    const struct harvest_client *hc, const struct rcache_val *vals,
	    size_t n, uint64_t now_ms);

/*
 * harvest_check - read hc's block key on rc (NULL: none); as
 * rcache_mget (0: cb runs once, later; -1: it never runs, Redis is not
 * ready: go on unblocked, said once a second at most)
 */
int	harvest_check(struct harvest *h, struct rcache *rc,
	    const struct harvest_client *hc, rcache_mget_cb *cb, void *arg,
	    struct rcache_op **op_r);

/*
 * harvest_count - one unknown-recipient reject of hc: count it on rc
 * (fire and forget; the answer, if it comes within redis_timeout,
 * records and logs a block it started or found)
 */
void	harvest_count(struct harvest *h, struct rcache *rc,
	    const struct conf *cfg, const struct harvest_client *hc,
	    uint64_t now_ms);

#endif
