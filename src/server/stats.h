#ifndef VRCPT_STATS_H
#define VRCPT_STATS_H
/*
 * stats - process-wide counters of the lookup path, for metrics and for
 * the line vrcptd logs when it stops. Relaxed atomics: each counter is
 * exact, a snapshot of several is not a single instant.
 *
 * "queries per RCPT" = db_query / rcpt.
 */
#include <stdatomic.h>
#include <stdint.h>

struct stats {
	atomic_uint_fast64_t rcpt;		/* RCPT requests decided */
	atomic_uint_fast64_t lookups;		/* (map, key) facts needed */
	atomic_uint_fast64_t local_hit;		/* in-process: fresh answer */
	atomic_uint_fast64_t local_miss;	/* in-process: nothing usable
						 * (stale counts here too) */
	atomic_uint_fast64_t redis_hit;		/* Redis: fresh answer */
	atomic_uint_fast64_t redis_miss;	/* Redis: asked, no fresh one */
	atomic_uint_fast64_t redis_timeout;	/* Redis read got no answer
						 * in its budget (or failed) */
	atomic_uint_fast64_t redis_skip;	/* Redis not asked: down,
						 * flush pending, or off */
	atomic_uint_fast64_t db_query;		/* SQL queries sent */
	atomic_uint_fast64_t db_batch;		/* pipelined batches sent */
	atomic_uint_fast64_t db_error;		/* queries that failed */
	atomic_uint_fast64_t flight_join;	/* misses that waited for a
						 * query already in the air */
	atomic_uint_fast64_t stale_served;	/* answers used past their
						 * TTL (database down) */
	atomic_uint_fast64_t invalidations;	/* messages applied */
	atomic_uint_fast64_t flushes;		/* "all" flushes (incl. on
						 * listener reconnect) */
};

extern struct stats stats;

/* stats_add - counter += n (relaxed) */
#define stats_add(field, n) \
	atomic_fetch_add_explicit(&stats.field, (n), memory_order_relaxed)
#define stats_get(field) \
	atomic_load_explicit(&stats.field, memory_order_relaxed)

#endif
