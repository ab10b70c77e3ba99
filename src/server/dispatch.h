#ifndef VRCPT_DISPATCH_H
#define VRCPT_DISPATCH_H
/*
 * dispatch - one policy request from parsed attributes to action: the
 * decision cache, else the engine's plan, the lookups (pipelined per
 * database), the deadline, the decision, the log line. No SQL and no
 * socket I/O here.
 *
 * A client connection runs one request at a time, so each connection
 * has one struct req, made at accept and reused for every request: its
 * policy attributes (parsed into its arena), its timer. A request
 * answered from the decision cache allocates nothing.
 */
#include <stdint.h>

struct conn;
struct gen;
struct policy_req;
struct req;
struct worker;

#define DISPATCH_ROUNDS_MAX	8	/* engine steps per request; the engine
					 * needs 2 or 3 */

/* dispatch_req_new - the request slot of connection c in worker w */
struct req *dispatch_req_new(struct worker *w, struct conn *c);
/* dispatch_req_free - the connection goes: cancel what runs, free */
void	dispatch_req_free(struct req **rp);
/* dispatch_req_pr - where the connection parses the next request into */
struct policy_req *dispatch_req_pr(struct req *r);

/*
 * dispatch_start - run the request parsed into dispatch_req_pr(r) on
 * generation g. Calls conn_done(c, action) exactly once, maybe before
 * returning (then nothing is left running).
 */
void	dispatch_start(struct req *r, struct gen *g);

#endif
