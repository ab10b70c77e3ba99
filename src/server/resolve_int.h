#ifndef VRCPT_RESOLVE_INT_H
#define VRCPT_RESOLVE_INT_H
/*
 * resolve_int - what the request state machine (resolve.c) and its two
 * backend stages (resolve_redis.c, resolve_db.c) share. Internal to
 * src/server/resolve*.c.
 *
 * A request holds one item per lookup. The stages answer items through
 * resolve_answer() (or resolve_answer_failure(): a cached answer within
 * cache_stale_ttl, else UNAVAILABLE); the last answer queues "done".
 */
#include <sys/queue.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "core/cachefmt.h"
#include "core/sqlmap.h"
#include "server/resolve.h"
#include "store/db.h"

struct cache;
struct rcache;
struct rcache_op;
struct sflight;
struct sflight_table;

/* one query in the air for one (map, key) */
struct flight {
	struct resolver *rv;
	struct sflight *sf;		/* waiters are resolve_req pointers */
	const struct map *map;
	char	*key;
	char	*params[SQLMAP_PARAMS_MAX];
	size_t	 nparams;
	uint64_t seq0;			/* cache_seq() when it started */
	bool	 tagged;		/* epochs known: may fill Redis */
	uint64_t epoch, depoch;
	unsigned dbidx;			/* its pool */
	uint64_t t0_us;			/* first sent (monotonic) */
	bool	 waiting;		/* on rv->replay_wait */
	LIST_ENTRY(flight) wait_link;
};

/* one pipelined batch to one database */
struct rbatch {
	LIST_ENTRY(rbatch) link;
	struct resolver *rv;
	struct db_op *op;
	unsigned dbidx;
	struct flight *fl[DB_QUERIES_MAX];
	size_t	 n;
};

/* one lookup of a request */
struct ritem {
	const struct map *map;
	const char *key;		/* borrowed from the caller */
	const char *ns;			/* the map's namespace */
	bool	 cacheable;
	bool	 done;
	struct flight *fl;		/* waiting for it */
	bool	 tagged;		/* Redis epochs read */
	uint64_t epoch, depoch;
	bool	 behind;		/* the answer is from a standby
					 * behind a change (resolve_fact) */
	bool	 has_stale;		/* a cached answer, for failures */
	enum fact_result sres;
	enum fact_source ssrc;
	char	*svalue;
	uint64_t sstored;
};

struct resolve_req {
	struct resolver *rv;
	resolve_fact_cb *fact;
	resolve_done_cb *done;
	void	*arg;
	struct rcache_op *rop;
	uint64_t rseq;			/* cache_seq() at the Redis read */
	size_t	 pending;
	bool	 sync;			/* finishing is up to the code on
					 * the stack, not the ready event */
	bool	 in_ready;
	TAILQ_ENTRY(resolve_req) ready_link;
	size_t	 n;
	struct ritem it[];
};

struct resolver {
	struct event_base *base;
	const struct conf *cfg;
	struct cache *cache;
	struct db *const *dbs;
	const unsigned *db_of_sqlmap;
	size_t	 nsqlmaps;
	char	(*ns)[CACHEFMT_NS_LEN + 1];	/* per map id */
	struct cachefmt_ttl ttl;
	struct rcache *rc;			/* NULL: no Redis */
	struct sflight_table *flights;
	LIST_HEAD(, rbatch) batches;
	TAILQ_HEAD(, resolve_req) ready;
	struct event *ready_ev;
	LIST_HEAD(, flight) replay_wait;	/* to ask again */
	struct event *replay_ev;		/* ... at the next poll */
	uint64_t replay_wait_us;		/* db_replay_wait, bounded */
};

/* resolve_answer - hand one fact over; queue "done" when it was the last */
void	resolve_answer(struct resolve_req *rq, struct ritem *it,
	    enum fact_result r, enum fact_source src, const char *value,
	    const char *why, bool stale, uint64_t age_ms);
/*
 * resolve_answer_failure - the database could not answer it: a cached
 * answer still within cache_stale_ttl if there is one, else UNAVAILABLE.
 */
void	resolve_answer_failure(struct resolve_req *rq, struct ritem *it,
	    const char *why);
/* resolve_set_stale - remember a cached answer in case the database
 * fails */
void	resolve_set_stale(struct ritem *it, enum fact_result r,
	    enum fact_source src, const char *value, size_t vlen,
	    uint64_t stored_ms);
void	resolve_rq_free(struct resolve_req *rq);

/*
 * resolve_redis_stage - send the Redis read for the items not answered
 * yet; true if sent (its callback answers what Redis knows and goes on
 * with resolve_db_stage), false if Redis is not to be asked.
 */
bool	resolve_redis_stage(struct resolve_req *rq);
/*
 * resolve_db_stage - every item not answered yet joins a flight in the
 * air or starts one; one pipelined batch per database.
 */
void	resolve_db_stage(struct resolve_req *rq);
/* resolve_db_cancel_all - the resolver goes: cancel its batches, drop
 * the flights waiting for a standby */
void	resolve_db_cancel_all(struct resolver *rv);
/* resolve_db_replay_cb - the replay_ev timer: ask the waiting again */
void	resolve_db_replay_cb(evutil_socket_t fd, short what, void *arg);

#endif
