#ifndef VRCPT_SERVER_CONTROL_H
#define VRCPT_SERVER_CONTROL_H
/*
 * control - what vrcptd answers on control_listen (proto/control.h):
 * a recipient query, as Postfix would be answered but with where the
 * answer came from, and the counters. Requests run on a worker like
 * any other (server/dispatch); these build the replies.
 *
 * A query is not traffic: it is neither counted in the decision
 * counters nor logged as a decision, so that vrcptctl does not show up
 * in pflogsumm or in the rates an admin alerts on.
 */
#include <stdint.h>

struct buf;
struct cache;
struct verdict;

/* control_query_reply - the reply to vrcpt_query */
void	control_query_reply(struct buf *b, const struct verdict *v,
	    const char *tier, unsigned nstale, uint64_t delay_us);
/* control_stats_reply - the reply to vrcpt_stats */
void	control_stats_reply(struct buf *b, struct cache *cache);
/* control_error_reply - error=TEXT */
void	control_error_reply(struct buf *b, const char *text);

#endif
