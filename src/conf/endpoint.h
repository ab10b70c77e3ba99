#ifndef VRCPT_ENDPOINT_H
#define VRCPT_ENDPOINT_H
/*
 * endpoint - where a socket is: the one parser for every endpoint string
 * of the configuration (listen, metrics_listen, milter_listen,
 * milter_policy_service, control_listen, the Redis address of "cache").
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
 * Depends on: libc, util/. Pure: no I/O, no name resolution.
 */
#include <stdbool.h>
#include <stddef.h>

#define ENDPOINT_PATH_MAX	107	/* sizeof(sun_path) - 1 */
#define ENDPOINT_HOST_MAX	255	/* a DNS name */
#define ENDPOINT_TEXT_MAX	(ENDPOINT_HOST_MAX + 32)
#define ENDPOINT_PORT_DIGITS	5

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

/*
 * endpoint_parse - parse s ("" gives ENDPOINT_NONE). Returns 0, or -1
 * with *hint_r (static text saying what is accepted).
 */
int	endpoint_parse(const char *s, unsigned flags, struct endpoint *ep,
	    const char **hint_r);

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
