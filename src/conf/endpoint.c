/*
 * endpoint - the one parser of endpoint strings. See endpoint.h.
 *
 * Depends on: libc. Security: the configuration is trusted, but every
 * field is still bounded (ENDPOINT_*_MAX) so that a long value is a
 * clear error, never a truncated socket path.
 */
#include <stdio.h>
#include <string.h>

#include "conf/endpoint.h"

#define ENDPOINT_PORT_MAX	65535

static const char endpoint_hint[] =
    "(use unix:/absolute/path or inet:host:port)";
static const char endpoint_hint_any[] =
    "(use unix:/absolute/path, inet:host:port or inet:port)";
static const char endpoint_hint_milter[] =
    "(use unix:/absolute/path, inet:host:port or inet:port@host)";
static const char endpoint_hint_unix[] =
    "(use unix:/absolute/path: this socket is for the host's admin)";

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
