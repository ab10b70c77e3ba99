#ifndef VRCPT_CLIENT_PCLIENT_H
#define VRCPT_CLIENT_PCLIENT_H
/*
 * pclient - a small blocking client for the Postfix policy delegation
 * protocol, for vrcpt-milter's callback threads and for vrcptctl's
 * control requests (proto/control.h): send one request, wait for the
 * reply ("name=value" lines and an empty line) with poll() and a
 * deadline.
 *
 * Connections are kept in a mutex-protected pool of idle connections and
 * reused, as Postfix keeps its policy connection open. A connection
 * that fails in any way is closed, never reused. Before a pooled
 * connection is used it is checked for readability: bytes or EOF there
 * mean the server closed it while idle (Postfix attr_clnt does the
 * same), and it is replaced. If a pooled connection dies during the
 * exchange before any reply byte came, the request is sent once more on
 * a fresh connection (a policy request has no side effects). The
 * deadline covers everything, retry included.
 *
 * Depends on: libc, pthread, util/, conf/endpoint, proto/policy (the
 * grammar of a reply).
 * Security: the reply is parsed with the request parser's limits; a
 * server that sends more than one reply, or garbage, loses the
 * connection.
 */
#include <stddef.h>

#define PCLIENT_IDLE_MAX	32	/* idle connections kept */
#define PCLIENT_ERR_LEN		256	/* an error message */
#define PCLIENT_READ_CHUNK	4096	/* bytes per read() */

struct endpoint;
struct pclient;

/*
 * pclient_new - a client for ep (copied; unix or inet, as vrcptd's
 * "listen"). Nothing is connected yet. timeout_ms bounds each
 * pclient_ask(). 0 and *pc_r, or -1 with err when ep is empty.
 */
int	pclient_new(const struct endpoint *ep, unsigned long long timeout_ms,
	    struct pclient **pc_r, char err[PCLIENT_ERR_LEN]);
/* pclient_free - close every idle connection, free; sets *pcp = NULL.
 * No pclient_ask() may be running. */
void	pclient_free(struct pclient **pcp);

/*
 * pclient_ask - send req[0..len) (a whole request, empty line included)
 * and read the reply. 0 and *reply_r, *reply_len_r (the whole reply, its
 * empty line included, NUL-terminated; caller frees; pp_reply_value()
 * picks an attribute), or -1 with err (connect, I/O, timeout,
 * protocol). Thread-safe.
 */
int	pclient_ask(struct pclient *pc, const char *req, size_t len,
	    char **reply_r, size_t *reply_len_r, char err[PCLIENT_ERR_LEN]);

/*
 * pclient_frame - is data[0..len) a whole reply? 1 with *used_r its
 * length, 0 when more is needed, -1 with *why_r when it can never be.
 */
typedef int (*pclient_frame)(const char *data, size_t len, size_t *used_r,
	    const char **why_r);
/* pclient_policy_frame - the policy protocol's (pclient_ask's) framing */
int	pclient_policy_frame(const char *data, size_t len, size_t *used_r,
	    const char **why_r);
/* pclient_ask_framed - pclient_ask() with replies framed by frame (the
 * same bound on their size) */
int	pclient_ask_framed(struct pclient *pc, const char *req, size_t len,
	    pclient_frame frame, char **reply_r, size_t *reply_len_r,
	    char err[PCLIENT_ERR_LEN]);

/* pclient_endpoint - the endpoint, for log messages */
const char *pclient_endpoint(const struct pclient *pc);

#endif
