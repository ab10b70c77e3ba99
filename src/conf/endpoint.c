/*
 * endpoint - the one parser of endpoint strings. See endpoint.h.
 *
 * Depends on: libc. Security: the configuration is trusted, but every
 * field is still bounded (ENDPOINT_*_MAX) so that a long value is a
 * clear error, never a truncated socket path. A Sentinel's reply is not
 * trusted: endpoint_from_reply() takes only what a configuration could
 * say, checked before it is copied.
 */
#include <stdio.h>
#include <string.h>

#include "conf/endpoint.h"

#define ENDPOINT_PORT_MAX	65535
#define ENDPOINT_STR2(x)	#x
#define ENDPOINT_STR(x)		ENDPOINT_STR2(x)

static const char endpoint_hint[] =
    "(use unix:/absolute/path or inet:host:port)";
static const char endpoint_hint_any[] =
    "(use unix:/absolute/path, inet:host:port or inet:port)";
static const char endpoint_hint_milter[] =
    "(use unix:/absolute/path, inet:host:port or inet:port@host)";
static const char endpoint_hint_unix[] =
    "(use unix:/absolute/path: this socket is for the host's admin)";
static const char endpoint_hint_sentinels[] =
    "(use redis-sentinel:host:port[,host:port...]/mastername: 1 to "
    ENDPOINT_STR(ENDPOINT_SENTINELS_MAX) " distinct Sentinels, and the "
    "master's name of letters, digits, '.', '_' and '-')";

/* port_parse - "1".."65535", digits only, in s[0..len) */
static int
port_parse(const char *s, size_t len, unsigned *port_r)
{
	unsigned v = 0;
	size_t	 i;

	if (len == 0 || len > ENDPOINT_PORT_DIGITS)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > ENDPOINT_PORT_MAX)
		return -1;
	*port_r = v;
	return 0;
}

/*
 * host_ok - a host name or address: nothing that could be a separator,
 * and a ':' only in what can be an IPv6 address (hex digits, '.', a
 * %scope)
 */
static bool
host_ok(const char *s, size_t len)
{
	bool	 colon = memchr(s, ':', len) != NULL, scope = false;
	size_t	 i;

	if (len == 0 || len > ENDPOINT_HOST_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char	 c = s[i];

		if (c == '%')
			scope = true;
		if (colon && !scope && !((c >= '0' && c <= '9') ||
		    (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
		    c == ':' || c == '.' || c == '%'))
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    c == '_' || c == ':' || c == '%'))
			return false;
	}
	return true;
}

/* set_inet - fill an INET endpoint and its canonical text */
static void
set_inet(struct endpoint *ep, const char *host, size_t hlen, unsigned port,
    bool v6)
{
	ep->kind = ENDPOINT_INET;
	memcpy(ep->host, host, hlen);
	ep->host[hlen] = '\0';
	ep->port = port;
	ep->v6 = v6 || memchr(host, ':', hlen) != NULL;
	if (hlen == 0)
		snprintf(ep->text, sizeof(ep->text), "inet:%u", port);
	else if (ep->v6)
		snprintf(ep->text, sizeof(ep->text), "inet:[%s]:%u", ep->host,
		    port);
	else
		snprintf(ep->text, sizeof(ep->text), "inet:%s:%u", ep->host,
		    port);
}

/* parse_hostport - "host:port" or "[v6]:port" */
static int
parse_hostport(const char *s, struct endpoint *ep)
{
	const char *colon, *close_br;
	unsigned port;

	if (*s == '[') {
		if ((close_br = strchr(s, ']')) == NULL || close_br[1] != ':' ||
		    !host_ok(s + 1, (size_t)(close_br - s - 1)) ||
		    port_parse(close_br + 2, strlen(close_br + 2), &port) < 0)
			return -1;
		set_inet(ep, s + 1, (size_t)(close_br - s - 1), port, true);
		return 0;
	}
	/* the port follows the last ':' (inet:::1:25 is [::1]:25) */
	if ((colon = strrchr(s, ':')) == NULL ||
	    !host_ok(s, (size_t)(colon - s)) ||
	    port_parse(colon + 1, strlen(colon + 1), &port) < 0)
		return -1;
	set_inet(ep, s, (size_t)(colon - s), port, false);
	return 0;
}

/* parse_milter_inet - libmilter "port@host" or "port" */
static int
parse_milter_inet(const char *s, bool v6, unsigned flags,
    struct endpoint *ep)
{
	const char *at = strchr(s, '@'), *host;
	size_t	 hlen;
	unsigned port;

	if (at == NULL) {
		if (!(flags & ENDPOINT_ANY_HOST) ||
		    port_parse(s, strlen(s), &port) < 0)
			return -1;
		set_inet(ep, "", 0, port, v6);
		return 0;
	}
	if (port_parse(s, (size_t)(at - s), &port) < 0)
		return -1;
	host = at + 1;
	hlen = strlen(host);
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host++;
		hlen -= 2;
	}
	if (!host_ok(host, hlen))
		return -1;
	set_inet(ep, host, hlen, port, v6);
	return 0;
}

static int
parse_unix(const char *path, struct endpoint *ep)
{
	size_t	 len = strlen(path);

	if (path[0] != '/' || len > ENDPOINT_PATH_MAX)
		return -1;
	ep->kind = ENDPOINT_UNIX;
	memcpy(ep->path, path, len + 1);
	snprintf(ep->text, sizeof(ep->text), "unix:%s", path);
	return 0;
}

int
endpoint_parse(const char *s, unsigned flags, struct endpoint *ep,
    const char **hint_r)
{
	const char *rest;
	unsigned port;
	int	 rc = -1;

	memset(ep, 0, sizeof(*ep));
	*hint_r = (flags & ENDPOINT_UNIX_ONLY) ? endpoint_hint_unix :
	    (flags & ENDPOINT_MILTER) ? endpoint_hint_milter :
	    (flags & ENDPOINT_ANY_HOST) ? endpoint_hint_any : endpoint_hint;
	if (*s == '\0')
		return 0;
	if (strncmp(s, "unix:", 5) == 0) {
		rc = parse_unix(s + 5, ep);
	} else if (flags & ENDPOINT_UNIX_ONLY) {
		rc = -1;
	} else if (strncmp(s, "local:", 6) == 0 && (flags & ENDPOINT_MILTER)) {
		rc = parse_unix(s + 6, ep);
	} else if (strncmp(s, "inet6:", 6) == 0 && (flags & ENDPOINT_MILTER)) {
		rc = parse_milter_inet(s + 6, true, flags, ep);
	} else if (strncmp(s, "inet:", 5) == 0) {
		rest = s + 5;
		if (strchr(rest, '@') != NULL && (flags & ENDPOINT_MILTER))
			rc = parse_milter_inet(rest, false, flags, ep);
		else if (strchr(rest, ':') == NULL) {
			if ((flags & ENDPOINT_ANY_HOST) &&
			    port_parse(rest, strlen(rest), &port) == 0) {
				set_inet(ep, "", 0, port, false);
				rc = 0;
			}
		} else
			rc = parse_hostport(rest, ep);
	} else if (flags & ENDPOINT_BARE_INET) {
		rc = parse_hostport(s, ep);
	}
	if (rc < 0)
		memset(ep, 0, sizeof(*ep));
	return rc;
}

/* master_ok - a Sentinel master name we take: [A-Za-z0-9._-]{1,64} */
static bool
master_ok(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		char	 c = s[i];

		if (i == ENDPOINT_MASTER_MAX || !((c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return false;
	}
	return i > 0;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int
endpoint_parse_sentinels(const char *s, struct endpoint_sentinels *es,
    const char **hint_r)
{
	const char *slash, *p, *end, *comma;
	char	 tok[ENDPOINT_TEXT_MAX + 1];
	struct endpoint ep;
	size_t	 len, j, tl = 0;

	memset(es, 0, sizeof(*es));
	*hint_r = endpoint_hint_sentinels;
	/* host names and ports have no '/': the name follows the last one */
	if ((slash = strrchr(s, '/')) == NULL || !master_ok(slash + 1))
		goto bad;
	for (p = s;; p = comma + 1) {
		if ((comma = memchr(p, ',', (size_t)(slash - p))) == NULL)
			comma = slash;
		for (end = comma; p < end && is_blank(*p); p++)
			;
		while (end > p && is_blank(end[-1]))
			end--;
		len = (size_t)(end - p);
		if (len == 0 || len > ENDPOINT_TEXT_MAX ||
		    es->n == ENDPOINT_SENTINELS_MAX)
			goto bad;
		memcpy(tok, p, len);
		tok[len] = '\0';
		/* parse_hostport() sets the INET fields only */
		memset(&ep, 0, sizeof(ep));
		if (parse_hostport(tok, &ep) < 0)
			goto bad;
		for (j = 0; j < es->n; j++)
			if (strcmp(es->v[j].text, ep.text) == 0)
				goto bad;
		/* canonical: the endpoint's text without its "inet:" */
		tl += (size_t)snprintf(es->text + tl, sizeof(es->text) - tl,
		    "%s%s", es->n > 0 ? "," : "", ep.text + 5);
		es->v[es->n++] = ep;
		if (comma == slash)
			break;
	}
	snprintf(es->text + tl, sizeof(es->text) - tl, "/%s", slash + 1);
	memcpy(es->master, slash + 1, strlen(slash + 1) + 1);
	return 0;
bad:
	memset(es, 0, sizeof(*es));
	return -1;
}

int
endpoint_from_reply(const char *host, size_t hlen, const char *port,
    size_t plen, struct endpoint *ep)
{
	unsigned p;

	memset(ep, 0, sizeof(*ep));
	/* host_ok() refuses NUL and every separator, and bounds hlen */
	if (!host_ok(host, hlen) || port_parse(port, plen, &p) < 0)
		return -1;
	set_inet(ep, host, hlen, p, false);
	return 0;
}

const char *
endpoint_milter_spec(const struct endpoint *ep, char *buf, size_t size)
{
	switch (ep->kind) {
	case ENDPOINT_NONE:
		snprintf(buf, size, "%s", "");
		break;
	case ENDPOINT_UNIX:
		snprintf(buf, size, "unix:%s", ep->path);
		break;
	case ENDPOINT_INET:
		if (ep->host[0] == '\0')
			snprintf(buf, size, "%s:%u", ep->v6 ? "inet6" : "inet",
			    ep->port);
		else if (strchr(ep->host, ':') != NULL)
			snprintf(buf, size, "inet6:%u@[%s]", ep->port,
			    ep->host);
		else
			snprintf(buf, size, "%s:%u@%s", ep->v6 ? "inet6" :
			    "inet", ep->port, ep->host);
		break;
	}
	return buf;
}

const char *
endpoint_port_text(const struct endpoint *ep,
    char buf[ENDPOINT_PORT_DIGITS + 1])
{
	snprintf(buf, ENDPOINT_PORT_DIGITS + 1, "%u", ep->port);
	return buf;
}
