/*
 * stats - the counter registry. See stats.h.
 *
 * Depends on: libc atomics. Security: none (counts only).
 */
#include <stddef.h>

#include "server/stats.h"
#include "util/buf.h"

const struct stats_desc stats_descs[STATS_N] = {
#define STATS_X_DESC(id, type, metric, labels, help) \
	{ #id, type, metric, labels, help },
	STATS_COUNTERS(STATS_X_DESC)
#undef STATS_X_DESC
};

/* decision latency histogram bounds, microseconds */
const uint64_t stats_bounds_us[STATS_NBUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000, 2500000
};

static struct stats_slot stats_slots[STATS_SLOTS_MAX];
static atomic_uint stats_nslots = 1;	/* [0] is shared */

_Thread_local struct stats_slot *stats_cur = &stats_slots[0];

void
stats_slot_bind(void)
{
	unsigned i = atomic_fetch_add(&stats_nslots, 1);

	if (i < STATS_SLOTS_MAX)
		stats_cur = &stats_slots[i];
}

/* stats_used - slots handed out so far */
static unsigned
stats_used(void)
{
	unsigned n = atomic_load(&stats_nslots);

	return n < STATS_SLOTS_MAX ? n : STATS_SLOTS_MAX;
}

uint64_t
stats_sum(enum stats_id id)
{
	uint64_t sum = 0;
	unsigned i, n = stats_used();

	for (i = 0; i < n; i++)
		sum += atomic_load_explicit(&stats_slots[i].v[id],
		    memory_order_relaxed);
	return sum;
}

void
stats_format(struct buf *b, const char *sep)
{
	size_t	 i;

	for (i = 0; i < STATS_N; i++)
		buf_printf(b, "%s%s=%llu", i > 0 ? sep : "",
		    stats_descs[i].name,
		    (unsigned long long)stats_sum((enum stats_id)i));
}

void
stats_decision(enum verdict_kind kind, enum domain_class dclass,
    bool warn_only, uint64_t delay_us)
{
	struct stats_slot *s = stats_cur;
	unsigned i;

	if ((unsigned)kind < STATS_NKINDS && (unsigned)dclass < STATS_NCLASSES)
		atomic_fetch_add_explicit(&s->decisions[kind][dclass], 1,
		    memory_order_relaxed);
	if (warn_only)
		stats_add(warn_only, 1);
	for (i = 0; i < STATS_NBUCKETS; i++)
		if (delay_us <= stats_bounds_us[i])
			break;
	atomic_fetch_add_explicit(&s->delay_bucket[i], 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&s->delay_sum_us, delay_us,
	    memory_order_relaxed);
}

uint64_t
stats_decisions(unsigned kind, unsigned dclass)
{
	uint64_t sum = 0;
	unsigned i, n = stats_used();

	for (i = 0; i < n; i++)
		sum += atomic_load_explicit(&stats_slots[i].decisions[kind]
		    [dclass], memory_order_relaxed);
	return sum;
}

uint64_t
stats_delay(unsigned b, uint64_t *sum_us_r)
{
	uint64_t sum = 0, us = 0;
	unsigned i, n = stats_used();

	for (i = 0; i < n; i++) {
		sum += atomic_load_explicit(&stats_slots[i].delay_bucket[b],
		    memory_order_relaxed);
		us += atomic_load_explicit(&stats_slots[i].delay_sum_us,
		    memory_order_relaxed);
	}
	if (sum_us_r != NULL)
		*sum_us_r = us;
	return sum;
}
