/*
 * fuzz_endpoint - libFuzzer target for the endpoint parser
 * (conf/endpoint.c): every endpoint string of the configuration, a
 * Sentinel group, and the master address a Redis Sentinel replies with
 * (bytes from the network).
 *
 *   make fuzz FUZZ_TARGETS=endpoint	(build/fuzz/fuzz_endpoint)
 *
 * Input: one byte of switches (the ENDPOINT_* flags), then NUL-separated
 * fields (fuzz.h): an endpoint string, a Sentinel group string, then the
 * rest as a Sentinel's reply: host and port split at the first byte
 * 0xff (both binary).
 *
 * Invariants (a violation aborts):
 *   - a parsed endpoint is of a kind its flags accept, its fields within
 *     their limits (a unix path absolute, a port 1..65535, a host of
 *     letters, digits and ".-_:%"), and its canonical text parses back,
 *     with any flags that accept it, to the same endpoint; "" is
 *     ENDPOINT_NONE; a refused one is cleared and comes with a hint;
 *   - libmilter's form of an endpoint (endpoint_milter_spec) parses
 *     back to the same endpoint;
 *   - a Sentinel group has 1..ENDPOINT_SENTINELS_MAX distinct INET
 *     endpoints with a host, a master name, and a canonical text that
 *     parses back to the same group;
 *   - a Sentinel's reply gives an endpoint exactly when the host is
 *     1..ENDPOINT_HOST_MAX bytes endpoint_parse() takes and the port
 *     decimal 1..65535, and that endpoint's text reads back the same.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/endpoint.h"
#include "fuzz.h"
#include "util/xalloc.h"

#define FE_FLAGS	(ENDPOINT_ANY_HOST | ENDPOINT_BARE_INET | \
			 ENDPOINT_MILTER | ENDPOINT_UNIX_ONLY)
#define FE_SPEC_MAX	(ENDPOINT_TEXT_MAX + 16)	/* as milter.c */

static bool
fe_same(const struct endpoint *a, const struct endpoint *b)
{
	return a->kind == b->kind && strcmp(a->path, b->path) == 0 &&
	    strcmp(a->host, b->host) == 0 && a->port == b->port &&
	    a->v6 == b->v6 && strcmp(a->text, b->text) == 0;
}

static bool
fe_zero(const struct endpoint *ep)
{
	static const struct endpoint zero;

	return memcmp(ep, &zero, sizeof(zero)) == 0;
}

static bool
fe_host_ok(const char *h)
{
	return strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_:%") == strlen(h) && strlen(h) <= ENDPOINT_HOST_MAX;
}

/* fe_fields - ep is a well-formed endpoint of a kind flags accept */
static void
fe_fields(const struct endpoint *ep, unsigned flags)
{
	switch (ep->kind) {
	case ENDPOINT_NONE:
		FUZZ_ASSERT(ep->text[0] == '\0');
		return;
	case ENDPOINT_UNIX:
		FUZZ_ASSERT(ep->path[0] == '/' &&
		    strlen(ep->path) <= ENDPOINT_PATH_MAX);
		FUZZ_ASSERT(strncmp(ep->text, "unix:", 5) == 0 &&
		    strcmp(ep->text + 5, ep->path) == 0);
		return;
	case ENDPOINT_INET:
		FUZZ_ASSERT(!(flags & ENDPOINT_UNIX_ONLY));
		FUZZ_ASSERT(ep->port >= 1 && ep->port <= 65535);
		FUZZ_ASSERT(fe_host_ok(ep->host));
		FUZZ_ASSERT(ep->host[0] != '\0' ||
		    (flags & ENDPOINT_ANY_HOST));
		FUZZ_ASSERT(!(strchr(ep->host, ':') != NULL) || ep->v6);
		FUZZ_ASSERT(strncmp(ep->text, "inet:", 5) == 0);
		return;
	}
	FUZZ_ASSERT(!"unknown endpoint kind");
}

static void
fe_parse(const char *s, unsigned flags)
{
	struct endpoint ep, back;
	const char *hint = NULL;
	char	 spec[FE_SPEC_MAX];

	if (endpoint_parse(s, flags, &ep, &hint) < 0) {
		FUZZ_ASSERT(fe_zero(&ep) && hint != NULL && *hint != '\0');
		return;
	}
	FUZZ_ASSERT((ep.kind == ENDPOINT_NONE) == (*s == '\0'));
	fe_fields(&ep, flags);
	if (ep.kind == ENDPOINT_NONE)
		return;
	/* the canonical text is the same endpoint, for the flags that
	 * accept it: any host for "inet:port" */
	FUZZ_ASSERT(endpoint_parse(ep.text, ENDPOINT_ANY_HOST, &back,
	    &hint) == 0);
	FUZZ_ASSERT(strcmp(back.text, ep.text) == 0 &&
	    back.kind == ep.kind && back.port == ep.port &&
	    strcmp(back.host, ep.host) == 0 &&
	    strcmp(back.path, ep.path) == 0);
	if (ep.host[0] != '\0' || ep.kind == ENDPOINT_UNIX) {
		FUZZ_ASSERT(endpoint_parse(ep.text, 0, &back, &hint) == 0);
		FUZZ_ASSERT(strcmp(back.text, ep.text) == 0);
	}
	/* and so is libmilter's form of it */
	endpoint_milter_spec(&ep, spec, sizeof(spec));
	FUZZ_ASSERT(strlen(spec) < sizeof(spec) - 1);
	FUZZ_ASSERT(endpoint_parse(spec, ENDPOINT_ANY_HOST | ENDPOINT_MILTER,
	    &back, &hint) == 0);
	FUZZ_ASSERT(back.kind == ep.kind && back.port == ep.port &&
	    strcmp(back.host, ep.host) == 0 &&
	    strcmp(back.path, ep.path) == 0 &&
	    strcmp(back.text, ep.text) == 0);
}

static void
fe_sentinels(const char *s)
{
	struct endpoint_sentinels *es = xmalloc(sizeof(*es));
	struct endpoint_sentinels *back = xmalloc(sizeof(*back));
	const char *hint = NULL;
	size_t	 i, j;

	if (endpoint_parse_sentinels(s, es, &hint) < 0) {
		FUZZ_ASSERT(hint != NULL && es->n == 0 &&
		    es->text[0] == '\0');
		goto out;
	}
	FUZZ_ASSERT(es->n >= 1 && es->n <= ENDPOINT_SENTINELS_MAX);
	FUZZ_ASSERT(es->master[0] != '\0' &&
	    strlen(es->master) <= ENDPOINT_MASTER_MAX);
	FUZZ_ASSERT(strlen(es->text) <= ENDPOINT_SENTINELS_TEXT_MAX);
	for (i = 0; i < es->n; i++) {
		FUZZ_ASSERT(es->v[i].kind == ENDPOINT_INET &&
		    es->v[i].host[0] != '\0');
		fe_fields(&es->v[i], 0);
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(es->v[i].text, es->v[j].text) != 0);
	}
	FUZZ_ASSERT(endpoint_parse_sentinels(es->text, back, &hint) == 0);
	FUZZ_ASSERT(back->n == es->n && strcmp(back->text, es->text) == 0 &&
	    strcmp(back->master, es->master) == 0);
	for (i = 0; i < es->n; i++)
		FUZZ_ASSERT(fe_same(&back->v[i], &es->v[i]));
out:
	free(es);
	free(back);
}

static void
fe_reply(const char *host, size_t hlen, const char *port, size_t plen)
{
	struct endpoint ep, back;
	const char *hint;
	unsigned long p = 0;
	size_t	 i;
	bool	 port_ok = plen >= 1 && plen <= 5, host_ok;
	char	*h;

	for (i = 0; i < plen && port_ok; i++) {
		if (port[i] < '0' || port[i] > '9')
			port_ok = false;
		else
			p = p * 10 + (unsigned long)(port[i] - '0');
	}
	port_ok = port_ok && p >= 1 && p <= 65535;
	/* the host as endpoint_parse() would take it in "[h]:1" */
	h = fuzz_exact(host, hlen);
	host_ok = hlen >= 1 && hlen <= ENDPOINT_HOST_MAX &&
	    strlen(h) == hlen && fe_host_ok(h);
	if (endpoint_from_reply(host, hlen, port, plen, &ep) < 0) {
		FUZZ_ASSERT(fe_zero(&ep));
		FUZZ_ASSERT(!port_ok || !host_ok || strchr(h, ':') != NULL);
		free(h);
		return;
	}
	FUZZ_ASSERT(port_ok && host_ok);
	FUZZ_ASSERT(ep.kind == ENDPOINT_INET && ep.port == p &&
	    strcmp(ep.host, h) == 0);
	fe_fields(&ep, 0);
	FUZZ_ASSERT(endpoint_parse(ep.text, 0, &back, &hint) == 0);
	FUZZ_ASSERT(fe_same(&back, &ep));
	free(h);
}

int
FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned flags = fuzz_byte(&in) & FE_FLAGS;
	char	*s = fuzz_str(&in), *group = fuzz_str(&in), *rest;
	const char *sep;
	size_t	 rlen;

	fe_parse(s, flags);
	fe_parse(s, ENDPOINT_ANY_HOST | ENDPOINT_MILTER);
	fe_sentinels(group);
	fe_sentinels(s);
	rest = fuzz_bytes(&in, in.n, &rlen);
	if ((sep = memchr(rest, 0xff, rlen)) != NULL)
		fe_reply(rest, (size_t)(sep - rest), sep + 1,
		    rlen - (size_t)(sep - rest) - 1);
	else
		fe_reply(rest, rlen, "6379", 4);
	free(rest);
	free(s);
	free(group);
	return 0;
}
