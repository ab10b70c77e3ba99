#ifndef VRCPT_HARVEST_H
#define VRCPT_HARVEST_H
/*
 * harvest - the pure parts of directory-harvest protection: which
 * network a client belongs to (its /24 or /64, harvest_ipv4_prefix and
 * harvest_ipv6_prefix), the networks that are never blocked
 * (harvest_exempt_networks), the Redis keys of the counters and blocks,
 * the counting window and the decision.
 *
 * The rule: more than harvest_limit unknown-recipient rejects from one
 * network within one window (harvest_window; fixed windows aligned to
 * the wall clock, the same on every MX host) start a block of that
 * network for harvest_block_time. Counters and blocks live in the
 * shared Redis, so every vrcptd sees every other's rejects.
 *
 * Redis layout (the key plan of core/cachefmt.h, prefix "vrcpt:"; "h"
 * is not a hex digit, so no map namespace can look like these):
 *   vrcpt:hc:<window>:<network>  a counter (INCR), expiring one window
 *                                after its first increment
 *   vrcpt:hb:<network>           a block: its value is the wall-clock
 *                                end in ms; it expires then (PX)
 * <network> is its text, "192.0.2.0/24" or "2001:db8:1:2::/64".
 *
 * Depends on: libc (inet_pton/inet_ntop, no I/O). No clock: callers
 * pass the time.
 * Security: client_address comes from Postfix (trusted, still parsed
 * strictly); anything that is not an address is "no network" and is
 * neither counted nor blocked. Block values come from a shared Redis:
 * a block is never taken longer than harvest_block_time from now.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HARVEST_NET_TEXT_MAX	64	/* "xxxx:...:xxxx/128" fits */
#define HARVEST_EXEMPT_MAX	64	/* harvest_exempt_networks */
#define HARVEST_KEY_MAX		(HARVEST_NET_TEXT_MAX + 48)
#define HARVEST_RKEY_COUNT	"vrcpt:hc:"
#define HARVEST_RKEY_BLOCK	"vrcpt:hb:"

/* an address or a network: family 4 or 6, bytes in network order */
struct harvest_net {
	int	 family;
	uint8_t	 addr[16];
	unsigned plen;			/* prefix length */
};

struct harvest_netlist {
	struct harvest_net v[HARVEST_EXEMPT_MAX];
	size_t	 n;
};

/*
 * harvest_addr_parse - an IPv4 or IPv6 address as Postfix sends it in
 * client_address (an IPv4-mapped IPv6 address counts as IPv4), into
 * *net_r with the full prefix length. 0, or -1 when it is not one.
 */
int	harvest_addr_parse(const char *s, struct harvest_net *net_r);

/* harvest_mask - net with its host bits cleared, prefix plen (clamped) */
void	harvest_mask(struct harvest_net *net, unsigned plen);

/*
 * harvest_net_of - the network of client address s: its /v4plen or
 * /v6plen. 0, or -1 when s is not an address.
 */
int	harvest_net_of(const char *s, unsigned v4plen, unsigned v6plen,
	    struct harvest_net *net_r);

/* harvest_net_text - "192.0.2.0/24", "2001:db8::/64" into buf */
const char *harvest_net_text(const struct harvest_net *net,
	    char buf[HARVEST_NET_TEXT_MAX]);

/*
 * harvest_netlist_parse - a list of networks and addresses, separated
 * by commas and/or white space: "127.0.0.0/8 [::1]/128 192.0.2.7"
 * (brackets optional, as in Postfix's mynetworks). 0, or -1 with
 * *error_r (static text) at the first bad entry.
 */
int	harvest_netlist_parse(const char *text, struct harvest_netlist *l,
	    const char **error_r);
/* harvest_netlist_match - address s is in one of the networks of l */
bool	harvest_netlist_match(const struct harvest_netlist *l,
	    const char *s);

/* harvest_window - the number of the window that now_ms falls in */
uint64_t harvest_window(uint64_t now_ms, uint64_t window_ms);

/*
 * harvest_key_count / harvest_key_block - the Redis keys of network
 * text net (window for the counter) into buf; their length
 */
size_t	harvest_key_count(const char *net, uint64_t window,
	    char buf[HARVEST_KEY_MAX]);
size_t	harvest_key_block(const char *net, char buf[HARVEST_KEY_MAX]);

/* harvest_over - count rejects in a window exceed limit: block */
bool	harvest_over(uint64_t count, unsigned limit);

/*
 * harvest_block_until - a block key's value (its end, wall-clock ms;
 * NULL: no block) read at now_ms: true and *until_r when it blocks now.
 * The end is taken at most block_ms from now (a hostile or skewed
 * value cannot block longer); a value that is not a number blocks for
 * nothing.
 */
bool	harvest_block_until(const char *v, size_t len, uint64_t now_ms,
	    uint64_t block_ms, uint64_t *until_r);

#endif
