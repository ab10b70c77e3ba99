#ifndef VRCPT_ENDPOINT_H
#define VRCPT_ENDPOINT_H
/*
 * endpoint - where a socket is: the one parser for every endpoint string
 * of the configuration (listen, metrics_listen, milter_listen,
 * milter_policy_service, control_listen, the Redis address of "cache",
 * the Sentinels of "cache = redis-sentinel:"), and for the addresses
 * Redis Sentinel replies with.
 *
 * Forms, as Postfix check_policy_service and libmilter write them:
 *   unix:/absolute/path        a unix-domain socket
 *   inet:host:port             TCP; host may be [v6addr]
 *   inet:port                  TCP, every address (ENDPOINT_ANY_HOST)
 *   host:port                  without "inet:" (ENDPOINT_BARE_INET, for
 *                              redis:host:port)
 *   local:/path, inet:port@host, inet6:port@host
 *                              libmilter's own (ENDPOINT_MILTER)
 *
 * A Sentinel group (endpoint_parse_sentinels):
 *   HOST:PORT[,HOST:PORT...]/MASTERNAME
 *                              host:port or [v6addr]:port, white space
 *                              allowed around the commas; MASTERNAME as
 *                              in Sentinel's "sentinel monitor NAME"
 *
 * Depends on: libc, util/. Pure: no I/O, no name resolution.
 * Security: endpoint_from_reply() takes bytes from the network (a
 * Sentinel's reply): lengths are checked before anything is copied.
 */
#include <stdbool.h>
#include <stddef.h>

#define ENDPOINT_PATH_MAX	107	/* sizeof(sun_path) - 1 */
#define ENDPOINT_HOST_MAX	255	/* a DNS name */
#define ENDPOINT_TEXT_MAX	(ENDPOINT_HOST_MAX + 32)
#define ENDPOINT_PORT_DIGITS	5
#define ENDPOINT_SENTINELS_MAX	16	/* Sentinels of one group */
#define ENDPOINT_MASTER_MAX	64	/* a Sentinel master name */
/* the canonical text of a group: "host:port,[v6]:port/name" */
#define ENDPOINT_SENTINELS_TEXT_MAX					\
	(ENDPOINT_SENTINELS_MAX * (ENDPOINT_HOST_MAX + ENDPOINT_PORT_DIGITS + \
	4) + ENDPOINT_MASTER_MAX)

/* what endpoint_parse() accepts beyond unix:/path and inet:host:port */
#define ENDPOINT_ANY_HOST	0x01	/* inet:port */
#define ENDPOINT_BARE_INET	0x02	/* host:port */
#define ENDPOINT_MILTER		0x04	/* local:, inet:port@host, inet6: */
#define ENDPOINT_UNIX_ONLY	0x08	/* unix:/path alone (control_listen) */

enum endpoint_kind {
	ENDPOINT_NONE,		/* empty: off */
	ENDPOINT_UNIX,
	ENDPOINT_INET
};

struct endpoint {
	enum endpoint_kind kind;
	char	 path[ENDPOINT_PATH_MAX + 1];	/* UNIX */
	char	 host[ENDPOINT_HOST_MAX + 1];	/* INET; "" = every address;
						 * no [brackets] */
	unsigned port;				/* INET */
	bool	 v6;				/* INET: inet6:, or a ':' in
						 * host */
	char	 text[ENDPOINT_TEXT_MAX + 1];	/* canonical: "unix:/p",
						 * "inet:h:p", "inet:[v6]:p",
						 * "inet:p"; "" for NONE */
};

/* a Redis Sentinel group and the name of the master it watches */
struct endpoint_sentinels {
	struct endpoint v[ENDPOINT_SENTINELS_MAX];	/* INET, host set */
	size_t	 n;
	char	 master[ENDPOINT_MASTER_MAX + 1];
	char	 text[ENDPOINT_SENTINELS_TEXT_MAX + 1];	/* canonical */
};

/*
 * endpoint_parse - parse s ("" gives ENDPOINT_NONE). Returns 0, or -1
 * with *hint_r (static text saying what is accepted).
 */
int	endpoint_parse(const char *s, unsigned flags, struct endpoint *ep,
	    const char **hint_r);

/*
 * endpoint_parse_sentinels - "HOST:PORT[,HOST:PORT...]/MASTERNAME": 1 to
 * ENDPOINT_SENTINELS_MAX distinct Sentinels (a host is required) and a
 * master name of 1 to ENDPOINT_MASTER_MAX letters, digits, '.', '_' and
 * '-'. Returns 0, or -1 with *hint_r (static text).
 */
int	endpoint_parse_sentinels(const char *s, struct endpoint_sentinels *es,
	    const char **hint_r);

/*
 * endpoint_from_reply - an INET endpoint from a host and a port given
 * apart (a Sentinel's "get-master-addr-by-name" reply: host[0..hlen),
 * port[0..plen), not NUL-terminated, any bytes). The host must be a
 * name or address as endpoint_parse() takes it, without brackets; the
 * port decimal digits 1..65535. Returns 0, or -1 (ep cleared).
 */
int	endpoint_from_reply(const char *host, size_t hlen, const char *port,
	    size_t plen, struct endpoint *ep);

/*
 * endpoint_milter_spec - the endpoint as libmilter's smfi_setconn()
 * wants it: "unix:/path", "inet:port@host", "inet6:port@host",
 * "inet:port". Returns buf.
 */
const char *endpoint_milter_spec(const struct endpoint *ep, char *buf,
	    size_t size);

/* endpoint_port_text - the port as text (for getaddrinfo); returns buf */
const char *endpoint_port_text(const struct endpoint *ep,
	    char buf[ENDPOINT_PORT_DIGITS + 1]);

#endif
