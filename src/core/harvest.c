/*
 * harvest - the pure parts of directory-harvest protection. See
 * harvest.h.
 *
 * Depends on: libc only (inet_pton, inet_ntop: no I/O).
 * Security: every input is parsed with a length bound; a client address
 * that does not parse is never counted or blocked.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/harvest.h"

/* an address text: INET6_ADDRSTRLEN plus brackets and a prefix */
#define HARVEST_ADDR_TEXT_MAX	64

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int
harvest_addr_parse(const char *s, struct harvest_net *net_r)
{
	struct in_addr a4;
	struct in6_addr a6;

	memset(net_r, 0, sizeof(*net_r));
	if (s == NULL || strlen(s) >= HARVEST_ADDR_TEXT_MAX)
		return -1;
	if (inet_pton(AF_INET, s, &a4) == 1) {
		net_r->family = 4;
		memcpy(net_r->addr, &a4, 4);
		net_r->plen = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		if (memcmp(a6.s6_addr, v4mapped, sizeof(v4mapped)) == 0) {
			net_r->family = 4;
			memcpy(net_r->addr, a6.s6_addr + 12, 4);
			net_r->plen = 32;
			return 0;
		}
		net_r->family = 6;
		memcpy(net_r->addr, a6.s6_addr, 16);
		net_r->plen = 128;
		return 0;
	}
	return -1;
}

void
harvest_mask(struct harvest_net *net, unsigned plen)
{
	unsigned bits = net->family == 4 ? 32 : 128, i;

	if (plen > bits)
		plen = bits;
	net->plen = plen;
	for (i = 0; i < bits / 8; i++) {
		if (plen >= 8 * (i + 1))
			continue;
		if (plen <= 8 * i)
			net->addr[i] = 0;
		else
			net->addr[i] &= (uint8_t)(0xff << (8 - (plen - 8 * i)));
	}
	for (i = bits / 8; i < 16; i++)
		net->addr[i] = 0;
}

int
harvest_net_of(const char *s, unsigned v4plen, unsigned v6plen,
    struct harvest_net *net_r)
{
	if (harvest_addr_parse(s, net_r) < 0)
		return -1;
	harvest_mask(net_r, net_r->family == 4 ? v4plen : v6plen);
	return 0;
}

const char *
harvest_net_text(const struct harvest_net *net, char buf[HARVEST_NET_TEXT_MAX])
{
	char	 a[INET6_ADDRSTRLEN];

	if (inet_ntop(net->family == 4 ? AF_INET : AF_INET6, net->addr, a,
	    sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	snprintf(buf, HARVEST_NET_TEXT_MAX, "%s/%u", a, net->plen);
	return buf;
}

/* netlist_entry - one entry of a list: ADDR, ADDR/LEN, [ADDR]/LEN */
static int
netlist_entry(const char *e, size_t len, struct harvest_net *net_r,
    const char **error_r)
{
	char	 a[HARVEST_ADDR_TEXT_MAX], *slash, *end;
	unsigned long plen;
	size_t	 alen;
	const char *p;

	if (len >= sizeof(a)) {
		*error_r = "an entry too long to be a network";
		return -1;
	}
	memcpy(a, e, len);
	a[len] = '\0';
	slash = strchr(a, '/');
	if (slash != NULL)
		*slash = '\0';
	p = a;
	alen = strlen(a);
	if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
		a[alen - 1] = '\0';
		p = a + 1;
	}
	if (harvest_addr_parse(p, net_r) < 0 || strchr(p, '[') != NULL) {
		*error_r = "not an IPv4 or IPv6 address or network";
		return -1;
	}
	if (slash == NULL)
		return 0;
	if (slash[1] < '0' || slash[1] > '9') {
		*error_r = "a prefix length must be a number";
		return -1;
	}
	plen = strtoul(slash + 1, &end, 10);
	/* an IPv4-mapped address takes an IPv4 prefix length */
	if (*end != '\0' || plen > (net_r->family == 4 ? 32UL : 128UL)) {
		*error_r = "a prefix length out of range";
		return -1;
	}
	harvest_mask(net_r, (unsigned)plen);
	return 0;
}

int
harvest_netlist_parse(const char *text, struct harvest_netlist *l,
    const char **error_r)
{
	const char *p = text, *e;
	size_t	 len;

	l->n = 0;
	for (;;) {
		p += strspn(p, ", \t\r\n");
		if (*p == '\0')
			return 0;
		len = strcspn(p, ", \t\r\n");
		e = p;
		p += len;
		if (l->n == HARVEST_EXEMPT_MAX) {
			*error_r = "too many networks (at most 64)";
			return -1;
		}
		if (netlist_entry(e, len, &l->v[l->n], error_r) < 0)
			return -1;
		l->n++;
	}
}

bool
harvest_netlist_match(const struct harvest_netlist *l, const char *s)
{
	struct harvest_net a, m;
	size_t	 i;

	if (harvest_addr_parse(s, &a) < 0)
		return false;
	for (i = 0; i < l->n; i++) {
		if (l->v[i].family != a.family)
			continue;
		m = a;
		harvest_mask(&m, l->v[i].plen);
		if (memcmp(m.addr, l->v[i].addr, sizeof(m.addr)) == 0)
			return true;
	}
	return false;
}

uint64_t
harvest_window(uint64_t now_ms, uint64_t window_ms)
{
	return window_ms > 0 ? now_ms / window_ms : 0;
}

size_t
harvest_key_count(const char *net, uint64_t window, char buf[HARVEST_KEY_MAX])
{
	int	 n = snprintf(buf, HARVEST_KEY_MAX, "%s%llu:%.*s",
	    HARVEST_RKEY_COUNT, (unsigned long long)window,
	    HARVEST_NET_TEXT_MAX - 1, net);

	return n < 0 ? 0 : strlen(buf);
}

size_t
harvest_key_block(const char *net, char buf[HARVEST_KEY_MAX])
{
	int	 n = snprintf(buf, HARVEST_KEY_MAX, "%s%.*s",
	    HARVEST_RKEY_BLOCK, HARVEST_NET_TEXT_MAX - 1, net);

	return n < 0 ? 0 : strlen(buf);
}

bool
harvest_over(uint64_t count, unsigned limit)
{
	return count > limit;
}

bool
harvest_block_until(const char *v, size_t len, uint64_t now_ms,
    uint64_t block_ms, uint64_t *until_r)
{
	uint64_t until = 0;
	size_t	 i;

	*until_r = 0;
	if (v == NULL || len == 0 || len > 20)
		return false;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		if (until > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10)
			return false;
		until = until * 10 + (uint64_t)(v[i] - '0');
	}
	if (until <= now_ms)
		return false;
	if (until - now_ms > block_ms)
		until = now_ms + block_ms;
	*until_r = until;
	return true;
}
