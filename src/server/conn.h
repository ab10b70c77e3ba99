#ifndef VRCPT_CONN_H
#define VRCPT_CONN_H
/*
 * conn - one client connection (one Postfix smtpd process, usually):
 * read into a capped buffer, parse requests, run them one at a time in
 * arrival order, write the replies. Pipelined requests wait in the
 * input buffer. A protocol violation is logged and the connection is
 * closed without a reply (SMTPD_POLICY_README: "the server must not
 * send a reply. Instead the server must log a warning and disconnect").
 */
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"

struct event;
struct req;
struct worker;

#define CONN_IN_MAX	(2 * 64 * 1024)	/* buffered input: two requests at
					 * POLICY_REQUEST_MAX */
#define CONN_OUT_MAX	(64 * 1024)	/* buffered replies */
#define CONN_READ_CHUNK	16384
#define CONN_PEER_MAX	80

struct conn {
	struct conn *next, *prev;	/* worker->conns */
	struct worker *w;
	int	 fd;
	struct event *rev, *wev;
	struct buf in, out;
	struct req *req;		/* the request in flight, or NULL */
	bool	 busy;			/* a request is running */
	bool	 in_process;		/* inside conn_process() */
	bool	 eof;			/* peer closed its side */
	char	 peer[CONN_PEER_MAX];	/* for log messages */
	uint64_t nrequests;
};

/* conn_accept - accept one client on listening fd lfd (may do nothing) */
void	conn_accept(struct worker *w, int lfd);
/*
 * conn_done - the request in flight finished with this action; called by
 * dispatch exactly once per request, possibly from inside dispatch_start.
 */
void	conn_done(struct conn *c, const char *action);
/* conn_close - drop the connection now (cancels its request) */
void	conn_close(struct conn *c);

#endif
