#ifndef VRCPT_STATS_H
#define VRCPT_STATS_H
/*
 * stats - every counter of vrcptd, once: the registry that the lookup
 * path, the connections and the decisions count into, that /metrics
 * shows (server/metrics.c) and that the "cache statistics" line at stop
 * prints.
 *
 * STATS_COUNTERS(X) calls X(id, type, metric, labels, help) per series;
 * series of one metric name follow each other and share its help. The
 * decisions (by outcome and class) and the decision-time histogram are
 * counted here as well (stats_decision).
 *
 * Counting is cheap on the request path: each worker thread counts into
 * its own slot (stats_slot_bind), so workers never write to one cache
 * line; other threads share a slot. Reading sums the slots: each
 * counter is exact, a snapshot of several is not one instant.
 *
 * "queries per RCPT" = db_query / rcpt.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/engine.h"

enum stats_type {
	STATS_COUNTER,
	STATS_GAUGE		/* goes up and down */
};

#define STATS_COUNTERS(X)						\
X(conns_open, STATS_GAUGE, "vrcpt_connections", "",			\
    "Policy client connections open.")					\
X(conns_total, STATS_COUNTER, "vrcpt_connections_total", "",		\
    "Policy client connections accepted.")				\
X(protocol_errors, STATS_COUNTER, "vrcpt_protocol_errors_total", "",	\
    "Connections dropped for policy protocol violations.")		\
X(conns_shed, STATS_COUNTER, "vrcpt_connections_closed_total",		\
    "reason=\"limit_shed\"",						\
    "Policy client connections closed by vrcptd, by reason.")		\
X(conns_refused, STATS_COUNTER, "vrcpt_connections_closed_total",	\
    "reason=\"limit_refused\"", "")					\
X(conns_timeout, STATS_COUNTER, "vrcpt_connections_closed_total",	\
    "reason=\"timeout\"", "")						\
X(req_rcpt, STATS_COUNTER, "vrcpt_requests_total", "state=\"rcpt\"",	\
    "Policy requests by protocol state.")				\
X(req_other, STATS_COUNTER, "vrcpt_requests_total", "state=\"other\"", "") \
X(rcpt, STATS_COUNTER, "vrcpt_rcpt_decided_total", "",			\
    "RCPT requests decided.")						\
X(warn_only, STATS_COUNTER, "vrcpt_warn_only_total", "",		\
    "Rejects logged but not enforced (warn_if_reject).")		\
X(decision_hit, STATS_COUNTER, "vrcpt_decision_cache_total",		\
    "result=\"hit\"",							\
    "RCPTs answered from the decision cache, and decisions stored.")	\
X(decision_stored, STATS_COUNTER, "vrcpt_decision_cache_total",	\
    "result=\"stored\"", "")						\
X(lookups, STATS_COUNTER, "vrcpt_lookups_needed_total", "",		\
    "Table lookups the decisions needed beyond those answered "	\
    "without I/O.")							\
X(local_hit, STATS_COUNTER, "vrcpt_lookups_total",			\
    "tier=\"local\",result=\"hit\"",					\
    "Lookups by where the answer came from.")				\
X(local_miss, STATS_COUNTER, "vrcpt_lookups_total",			\
    "tier=\"local\",result=\"miss\"", "")				\
X(redis_hit, STATS_COUNTER, "vrcpt_lookups_total",			\
    "tier=\"redis\",result=\"hit\"", "")				\
X(redis_miss, STATS_COUNTER, "vrcpt_lookups_total",			\
    "tier=\"redis\",result=\"miss\"", "")				\
X(redis_timeout, STATS_COUNTER, "vrcpt_lookups_total",			\
    "tier=\"redis\",result=\"timeout\"", "")				\
X(redis_skip, STATS_COUNTER, "vrcpt_lookups_total",			\
    "tier=\"redis\",result=\"skipped\"", "")				\
X(db_query, STATS_COUNTER, "vrcpt_db_queries_total", "",		\
    "SQL queries sent to PostgreSQL.")					\
X(db_batch, STATS_COUNTER, "vrcpt_db_batches_total", "",		\
    "Pipelined batches (round trips) sent to PostgreSQL.")		\
X(db_error, STATS_COUNTER, "vrcpt_db_errors_total", "",		\
    "SQL queries that failed.")						\
X(flight_join, STATS_COUNTER, "vrcpt_singleflight_joins_total", "",	\
    "Cache misses that waited for a query already running.")		\
X(stale_served, STATS_COUNTER, "vrcpt_stale_answers_total", "",	\
    "Cached answers served past their TTL while PostgreSQL was down.")	\
X(invalidations, STATS_COUNTER, "vrcpt_invalidations_total", "",	\
    "Cache invalidations applied.")					\
X(flushes, STATS_COUNTER, "vrcpt_cache_flushes_total", "",		\
    "Whole-cache flushes (\"all\", and each LISTEN reconnect).")	\
X(standby_wait, STATS_COUNTER, "vrcpt_standby_behind_total",		\
    "result=\"asked_again\"",						\
    "Answers from a standby that had not replayed a change of their "	\
    "key yet, by what was done.")					\
X(standby_behind, STATS_COUNTER, "vrcpt_standby_behind_total",	\
    "result=\"used_uncached\"", "")

enum stats_id {
#define STATS_X_ID(id, type, metric, labels, help) STATS_##id,
	STATS_COUNTERS(STATS_X_ID)
#undef STATS_X_ID
	STATS_N
};

struct stats_desc {
	const char *name;	/* the id, for the "cache statistics" line */
	enum stats_type type;
	const char *metric;
	const char *labels;	/* "" or Prometheus labels, no braces */
	const char *help;	/* "" after the first series of a metric */
};

extern const struct stats_desc stats_descs[STATS_N];

#define STATS_NKINDS	4	/* enum verdict_kind */
#define STATS_NCLASSES	5	/* enum domain_class */
#define STATS_NBUCKETS	14	/* decision time histogram, + Inf */
#define STATS_SLOTS_MAX	72	/* workers (SERVER_WORKERS_MAX) + shared */

extern const uint64_t stats_bounds_us[STATS_NBUCKETS];

/* one thread's counters (or the shared ones) */
struct stats_slot {
	_Atomic uint64_t v[STATS_N];
	_Atomic uint64_t decisions[STATS_NKINDS][STATS_NCLASSES];
	_Atomic uint64_t delay_bucket[STATS_NBUCKETS + 1];
	_Atomic uint64_t delay_sum_us;
};

/* the calling thread's slot: its own after stats_slot_bind() */
extern _Thread_local struct stats_slot *stats_cur;

/*
 * stats_slot_bind - give the calling thread a slot of its own (a worker,
 * at its start); at most STATS_SLOTS_MAX - 1 threads, beyond which they
 * share.
 */
void	stats_slot_bind(void);

/* stats_add - counter id += n; stats_sub - a gauge down */
#define stats_add(id, n)						\
	atomic_fetch_add_explicit(&stats_cur->v[STATS_##id],		\
	    (uint64_t)(n), memory_order_relaxed)
#define stats_sub(id, n)						\
	atomic_fetch_sub_explicit(&stats_cur->v[STATS_##id],		\
	    (uint64_t)(n), memory_order_relaxed)
/* stats_get - the sum over all slots */
#define stats_get(id)	stats_sum(STATS_##id)
uint64_t stats_sum(enum stats_id id);

struct buf;
/* stats_format - every counter as "id=value", sep between them */
void	stats_format(struct buf *b, const char *sep);

/* stats_decision - one RCPT decided: its outcome, class and time */
void	stats_decision(enum verdict_kind kind, enum domain_class dclass,
	    bool warn_only, uint64_t delay_us);

/* the families, summed over all slots */
uint64_t stats_decisions(unsigned kind, unsigned dclass);
/* stats_delay - histogram bucket i (STATS_NBUCKETS: above the last
 * bound), not cumulative; *sum_us_r (may be NULL) the total time */
uint64_t stats_delay(unsigned i, uint64_t *sum_us_r);

#endif
