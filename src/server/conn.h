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
#include <stdatomic.h>
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
#define CONN_CONTROL_MAX	8	/* control connections at once */
#define CONN_SWEEP_MS	1000	/* how often timeouts are checked */
#define CONN_LOG_INTERVAL_MS	(60 * 1000)	/* limit and accept() failure
						 * lines: one a minute */

struct conn {
	struct conn *next, *prev;	/* worker->conns */
	struct worker *w;
	int	 fd;
	struct event *rev, *wev;
	struct buf in, out;
	struct req *req;		/* its request (dispatch.h), reused */
	bool	 busy;			/* a request is running */
	bool	 in_process;		/* inside conn_process() */
	bool	 eof;			/* peer closed its side */
	bool	 control;		/* on control_listen (server/control.h):
					 * not a policy client */
	char	 peer[CONN_PEER_MAX];	/* for log messages */
	uint64_t nrequests;
	/* monotonic ms, for the timeouts (conn_sweep) and for choosing
	 * whom to close at connection_limit */
	uint64_t progress_ms;		/* accepted, or last request done */
	uint64_t read_since_ms;		/* a partial request since; 0: none */
	uint64_t write_since_ms;	/* a reply unsent since; 0: none */
	/* read by other workers choosing whom to shed (under w->conns_lock):
	 * 0 while a request runs, else progress_ms */
	_Atomic uint64_t shed_key;
	atomic_bool shed;		/* chosen to make room; closing */
};

enum conn_accept_status {
	CONN_ACCEPT_DONE,	/* a client was taken (or shed), or none was
				 * waiting: call again when readable */
	CONN_ACCEPT_NOFDS	/* out of descriptors (EMFILE, ENFILE) or
				 * kernel memory: stop accepting a while */
};

/*
 * conn_accept - accept one client on listening fd lfd. A control
 * connection (control_listen) is not a policy client: it does not count
 * towards connection_limit, is never shed, and at most CONN_CONTROL_MAX
 * are open at once. At
 * connection_limit the connection, of any worker, that has gone longest
 * without a request is closed to make room (Postfix reconnects when it
 * next needs one); if every connection has a request in flight, the new
 * client is closed instead. Both are logged at most once per
 * CONN_LOG_INTERVAL_MS.
 *
 * Another worker's connection is closed by shutdown() of its socket
 * (its worker then sees the end of input and closes it), under that
 * worker's conns_lock, which its worker holds while it adds or closes a
 * connection: the descriptor cannot be another connection's by then.
 */
enum conn_accept_status conn_accept(struct worker *w, int lfd, bool control);
/*
 * conn_sweep - close this worker's connections past their deadline:
 * idle_timeout without a request, io_timeout for a request to arrive
 * whole or a reply to be taken. Called every CONN_SWEEP_MS.
 */
void	conn_sweep(struct worker *w);
/*
 * conn_done - the request in flight finished with this action; called by
 * dispatch exactly once per request, possibly from inside dispatch_start.
 */
void	conn_done(struct conn *c, const char *action);
/* conn_done_reply - the same, with a whole reply formatted by the caller
 * (the control requests: server/control.h); at most CONN_OUT_MAX / 2 */
void	conn_done_reply(struct conn *c, const char *reply, size_t len);
/* conn_close - drop the connection now (cancels its request) */
void	conn_close(struct conn *c);

#endif
