#ifndef VRCPT_DISPATCH_H
#define VRCPT_DISPATCH_H
/*
 * dispatch - one policy request from parsed attributes to action: the
 * engine's plan, the lookups (pipelined per database), the deadline, the
 * decision, the log line. No SQL and no socket I/O here.
 */
struct conn;
struct gen;
struct policy_req;
struct req;
struct worker;

#define DISPATCH_ROUNDS_MAX	8	/* engine steps per request; the engine
					 * needs 2 or 3 */

/*
 * dispatch_start - run the request; pr is taken over (zeroed). Calls
 * conn_done(c, action) exactly once, maybe before returning. c->req is
 * set while the request waits for lookups.
 */
void	dispatch_start(struct worker *w, struct conn *c, struct gen *g,
	    struct policy_req *pr);
/* dispatch_abort - the connection died: cancel, free, never call back */
void	dispatch_abort(struct req **rp);

#endif
