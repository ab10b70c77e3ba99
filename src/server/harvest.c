/*
 * harvest - directory-harvest protection across a fleet. See harvest.h.
 *
 * Depends on: core/harvest, conf/, store/rcache, server/stats, util/.
 * Security: the network and client texts logged are ours (formatted
 * from parsed addresses); what Redis returns is parsed and bounded.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/cachefmt.h"
#include "core/harvest.h"
#include "server/harvest.h"
#include "server/stats.h"
#include "store/rcache.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

/*
 * One unknown-recipient reject: count it in this window's counter (its
 * TTL set by the first INCR, and again should it have none), and past
 * the limit start the block unless one runs. The reply names the
 * network and client back, so that the callback needs no memory of its
 * own: {count, started (1/0), block end or "", network, client}.
 */
#define HARVEST_COUNT_LUA \
	"local n = redis.call('INCR', KEYS[1]) " \
	"if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then " \
	"redis.call('PEXPIRE', KEYS[1], ARGV[1]) end " \
	"local started, untl = 0, '' " \
	"if n > tonumber(ARGV[2]) then " \
	"if redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then " \
	"started = 1 untl = ARGV[3] " \
	"else untl = redis.call('GET', KEYS[2]) or '' end end " \
	"return {tostring(n), tostring(started), untl, ARGV[5], ARGV[6], " \
	"ARGV[2]}"
#define HARVEST_COUNT_VALS	6

struct harvest_block {
	char	 net[HARVEST_NET_TEXT_MAX];
	uint64_t until_ms;
};

struct harvest {
	pthread_mutex_t lock;
	struct harvest_block v[HARVEST_LOCAL_MAX];
	size_t	 n;
	atomic_size_t nknown;		/* n, read without the lock: with
					 * no block known (the usual case)
					 * a request takes no lock */
	uint64_t block_ms;		/* the longest block to believe (the
					 * last harvest_block_time seen) */
	uint64_t window_ms;		/* for the log line */
	struct log_rate down_log;
};

struct harvest *
harvest_new(void)
{
	struct harvest *h = xcalloc(1, sizeof(*h));

	pthread_mutex_init(&h->lock, NULL);
	atomic_init(&h->nknown, 0);
	return h;
}

void
harvest_free(struct harvest **hp)
{
	struct harvest *h = *hp;

	*hp = NULL;
	if (h == NULL)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void
harvest_client(const struct conf *cfg, const char *client_address,
    const char *sasl_username, struct harvest_client *hc)
{
	struct harvest_net n;

	memset(hc, 0, sizeof(*hc));
	if (sasl_username != NULL && sasl_username[0] != '\0')
		return;
	if (client_address == NULL ||
	    harvest_net_of(client_address, cfg->harvest_ipv4_prefix,
	    cfg->harvest_ipv6_prefix, &n) < 0 ||
	    harvest_netlist_match(&cfg->harvest_exempt, client_address))
		return;
	harvest_net_text(&n, hc->net);
	/* the address as parsed, full length, for the log line */
	if (harvest_addr_parse(client_address, &n) == 0) {
		harvest_net_text(&n, hc->addr);
		hc->addr[strcspn(hc->addr, "/")] = '\0';
	}
	hc->counted = true;
}

/* find - the entry of net, with the lock held; -1 if none */
static ssize_t
find(struct harvest *h, const char *net)
{
	size_t	 i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->v[i].net, net) == 0)
			return (ssize_t)i;
	return -1;
}

/* purge - drop ended blocks, with the lock held */
static void
purge(struct harvest *h, uint64_t now)
{
	size_t	 i = 0;

	while (i < h->n) {
		if (h->v[i].until_ms <= now)
			h->v[i] = h->v[--h->n];
		else
			i++;
	}
	atomic_store(&h->nknown, h->n);
}

bool
harvest_blocked(struct harvest *h, const char *net, uint64_t now_ms)
{
	ssize_t	 i;
	bool	 b = false;

	if (atomic_load_explicit(&h->nknown, memory_order_relaxed) == 0)
		return false;
	pthread_mutex_lock(&h->lock);
	if (h->n > 0 && (i = find(h, net)) >= 0)
		b = h->v[i].until_ms > now_ms;
	pthread_mutex_unlock(&h->lock);
	return b;
}

unsigned
harvest_blocked_count(struct harvest *h, uint64_t now_ms)
{
	unsigned n;

	pthread_mutex_lock(&h->lock);
	purge(h, now_ms);
	n = (unsigned)h->n;
	pthread_mutex_unlock(&h->lock);
	return n;
}

/*
 * note - net is blocked until until_ms: remember it; true when the
 * block is new to this process (log it)
 */
static bool
note(struct harvest *h, const char *net, uint64_t until_ms, uint64_t now)
{
	ssize_t	 i;
	size_t	 j, first;
	bool	 fresh = false;

	pthread_mutex_lock(&h->lock);
	if ((i = find(h, net)) >= 0) {
		fresh = h->v[i].until_ms <= now;
		if (until_ms > h->v[i].until_ms)
			h->v[i].until_ms = until_ms;
		pthread_mutex_unlock(&h->lock);
		return fresh;
	}
	if (h->n == HARVEST_LOCAL_MAX)
		purge(h, now);
	if (h->n == HARVEST_LOCAL_MAX) {
		/* full of live blocks: the one that ends first goes */
		for (first = 0, j = 1; j < h->n; j++)
			if (h->v[j].until_ms < h->v[first].until_ms)
				first = j;
		h->v[first] = h->v[--h->n];
	}
	snprintf(h->v[h->n].net, sizeof(h->v[h->n].net), "%s", net);
	h->v[h->n].until_ms = until_ms;
	h->n++;
	atomic_store(&h->nknown, h->n);
	pthread_mutex_unlock(&h->lock);
	return true;
}

/* log_block - the line for fail2ban, once per block and process */
static void
log_block(const char *net, const char *client, uint64_t until, uint64_t now,
    bool here, const char *count, const char *limit, uint64_t window_ms)
{
	stats_add(harvest_blocks, 1);
	msg_warn("harvest: block: network=%s client=%s for=%llus started=%s "
	    "count=%s limit=%s window=%llus", net, client,
	    (unsigned long long)((until - now + CLOCK_MS_PER_S - 1) /
	    CLOCK_MS_PER_S), here ? "here" : "elsewhere", count, limit,
	    (unsigned long long)(window_ms / CLOCK_MS_PER_S));
}

bool
harvest_check_result(struct harvest *h, const struct conf *cfg,
    const struct harvest_client *hc, const struct rcache_val *vals, size_t n,
    uint64_t now_ms)
{
	uint64_t until;

	if (vals == NULL || n != 1) {
		msg_warn_rated(&h->down_log, LOG_RATE_OUTAGE_MS, "harvest: "
		    "Redis did not answer within %s: %s not checked for a "
		    "block", CONF_NAME(redis_timeout), hc->net);
		return false;
	}
	if (!harvest_block_until(vals[0].s, vals[0].len, now_ms,
	    cfg->harvest_block_time, &until))
		return false;
	if (note(h, hc->net, until, now_ms))
		log_block(hc->net, hc->addr, until, now_ms, false, "-",
		    "-", cfg->harvest_window);
	return true;
}

int
harvest_check(struct harvest *h, struct rcache *rc,
    const struct harvest_client *hc, rcache_mget_cb *cb, void *arg,
    struct rcache_op **op_r)
{
	char	 key[HARVEST_KEY_MAX];
	const char *keys[1] = { key };
	size_t	 lens[1];

	*op_r = NULL;
	lens[0] = harvest_key_block(hc->net, key);
	if (rc != NULL && rcache_mget(rc, keys, lens, 1, cb, arg, op_r) == 0)
		return 0;
	msg_warn_rated(&h->down_log, LOG_RATE_OUTAGE_MS, "harvest: Redis is "
	    "not ready: %s not checked for a block (no harvest protection "
	    "meanwhile)", hc->net);
	return -1;
}

/* counted - the answer of a count: a block started or found */
static void
counted(void *arg, const struct rcache_val *vals, size_t n)
{
	struct harvest *h = arg;
	uint64_t now = clock_wall_ms(), until, count, block_ms, window_ms;
	char	 net[HARVEST_NET_TEXT_MAX], client[HARVEST_NET_TEXT_MAX];
	struct harvest_net parsed;
	size_t	 i;

	if (vals == NULL || n != HARVEST_COUNT_VALS)
		return;		/* late or lost: counted all the same */
	for (i = 0; i < n; i++)
		if (vals[i].s == NULL)
			return;
	if (cachefmt_u64_parse(vals[0].s, vals[0].len, &count) < 0)
		return;
	pthread_mutex_lock(&h->lock);
	block_ms = h->block_ms;
	window_ms = h->window_ms;
	pthread_mutex_unlock(&h->lock);
	if (!harvest_block_until(vals[2].s, vals[2].len, now, block_ms, &until))
		return;
	/* the echoed texts: accepted only as what we format */
	if (vals[3].len >= sizeof(net) || vals[4].len >= sizeof(client))
		return;
	memcpy(net, vals[3].s, vals[3].len);
	net[vals[3].len] = '\0';
	memcpy(client, vals[4].s, vals[4].len);
	client[vals[4].len] = '\0';
	if (strspn(net, "0123456789abcdef.:/") != vals[3].len ||
	    harvest_addr_parse(client, &parsed) < 0 ||
	    strspn(vals[5].s, "0123456789") != vals[5].len)
		return;
	if (note(h, net, until, now))
		log_block(net, client, until, now, vals[1].s[0] == '1',
		    vals[0].s, vals[5].s, window_ms);
}

void
harvest_count(struct harvest *h, struct rcache *rc, const struct conf *cfg,
    const struct harvest_client *hc, uint64_t now_ms)
{
	char	 kc[HARVEST_KEY_MAX], kb[HARVEST_KEY_MAX];
	char	 ttl[24], limit[24], until[24], px[24];
	const char *keys[2] = { kc, kb };
	const char *args[6] = { ttl, limit, until, px, hc->net, hc->addr };

	stats_add(harvest_counted, 1);
	pthread_mutex_lock(&h->lock);
	h->block_ms = cfg->harvest_block_time;
	h->window_ms = cfg->harvest_window;
	pthread_mutex_unlock(&h->lock);
	harvest_key_count(hc->net, harvest_window(now_ms, cfg->harvest_window),
	    kc);
	harvest_key_block(hc->net, kb);
	snprintf(ttl, sizeof(ttl), "%llu",
	    (unsigned long long)cfg->harvest_window);
	snprintf(limit, sizeof(limit), "%u", cfg->harvest_limit);
	snprintf(until, sizeof(until), "%llu",
	    (unsigned long long)(now_ms + cfg->harvest_block_time));
	snprintf(px, sizeof(px), "%llu",
	    (unsigned long long)cfg->harvest_block_time);
	if (rc == NULL || rcache_eval(rc, HARVEST_COUNT_LUA, keys, 2, args, 6,
	    HARVEST_COUNT_VALS, counted, h, NULL) < 0)
		msg_warn_rated(&h->down_log, LOG_RATE_OUTAGE_MS, "harvest: "
		    "Redis is not ready: unknown-recipient rejects from %s are "
		    "not counted (no harvest protection meanwhile)", hc->net);
}
