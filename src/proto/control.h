#ifndef VRCPT_CONTROL_H
#define VRCPT_CONTROL_H
/*
 * control - the requests vrcptctl sends to a running vrcptd on
 * control_listen, and their replies.
 *
 * The framing is the policy protocol's (proto/policy.h): "name=value"
 * lines and an empty line, both ways, so the daemon parses a control
 * request with the policy parser and its limits. Requests:
 *
 *   request=vrcpt_query        what Postfix would be told for
 *   recipient=ADDRESS          ADDRESS now, through the same caches
 *
 *   request=vrcpt_stats        every counter
 *
 * A query's reply carries action= (the policy action), decision= (valid,
 * unknown, failure, not_handled), class=, tier= (where the deciding
 * answer came from: decision_cache, cache_local, cache_redis, db,
 * pure), code=, dsn=, text= (for rejects and defers), warn_only=,
 * stale= (lookups answered past their TTL) and delay_us=. A stats reply
 * has one line per counter. Anything else gets error=TEXT.
 *
 * Values are single lines: control_attr() replaces control characters.
 * The policy socket ignores these requests (they are not RCPT); only
 * control_listen answers them.
 *
 * Depends on: util/. No I/O.
 */
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

#define CONTROL_REQ_QUERY	"vrcpt_query"
#define CONTROL_REQ_STATS	"vrcpt_stats"
#define CONTROL_REPLY_MAX	(16 * 1024)	/* bytes, with the empty
						 * line */
#define CONTROL_ATTRS_MAX	128		/* lines of one reply */

/* control_attr - append "name=value\n", value made one printable line */
void	control_attr(struct buf *b, const char *name, const char *value);
/* control_attr_u - the same with a number */
void	control_attr_u(struct buf *b, const char *name,
	    unsigned long long value);
/* control_end - append the empty line that ends a reply or request */
void	control_end(struct buf *b);

/* a reply, parsed: names and values point into its own copy */
struct control_reply {
	char	*text;
	const char *name[CONTROL_ATTRS_MAX];
	const char *value[CONTROL_ATTRS_MAX];
	size_t	 n;
};

/*
 * control_reply_parse - split buf[0..len), one whole reply that
 * pp_parse() accepted (client/pclient checks that), into its lines; a
 * "\r" before "\n" is dropped. 0, or -1 with *why_r when a line is not
 * name=value or there are more than CONTROL_ATTRS_MAX.
 */
int	control_reply_parse(const char *buf, size_t len,
	    struct control_reply *r, const char **why_r);
/* control_reply_get - the value of name, or NULL */
const char *control_reply_get(const struct control_reply *r,
	    const char *name);
void	control_reply_free(struct control_reply *r);

#endif
