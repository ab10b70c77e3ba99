#ifndef VRCPT_SFLIGHT_H
#define VRCPT_SFLIGHT_H
/*
 * sflight - single flight: concurrent misses for one key make one
 * database query, the others wait for its answer.
 *
 * A flight is one query in the air for one key, with the list of the
 * waiters (opaque pointers: requests) that want its answer. The first
 * to ask becomes the leader (it sends the query); later ones join. A
 * flight is joinable only by askers who saw the same invalidation
 * sequence number as its leader: after an invalidation (a mailbox was
 * created, say) a query already in the air may carry the old answer, so
 * a new asker starts a new flight instead, and the old one stays
 * in the air for its own waiters but leaves the table.
 *
 * The caller owns the flights it is told to lead and frees them with
 * sflight_free() once answered (after taking the waiters); a table is
 * freed after all its flights.
 *
 * Not thread-safe: one table per event loop. Depends on: util/,
 * core/cachefmt (hash). No I/O, no clock.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SFLIGHT_WAITERS_MAX	4096	/* waiters of one flight: beyond,
					 * askers get a flight of their own */

struct sflight_table;

struct sflight {
	struct sflight *hnext;	/* table chain, while in_table */
	bool	 in_table;
	uint64_t hash;
	uint64_t seq;		/* invalidation sequence at the start */
	char	*key;
	size_t	 klen;
	void	**waiters;
	size_t	 nwaiters, cap;
	void	*data;		/* the caller's */
};

enum sflight_role {
	SFLIGHT_LEAD,		/* a new flight: send its query */
	SFLIGHT_JOIN		/* added to a flight in the air */
};

/* sflight_table_new - (seed0, seed1) key the hash: random numbers */
struct sflight_table *sflight_table_new(uint64_t seed0, uint64_t seed1);
/* sflight_table_free - the table only; flights must be freed before */
void	sflight_table_free(struct sflight_table **tp);

/*
 * sflight_join - waiter wants key, having seen invalidation sequence
 * seq. Joins a flight in the table with the same key and seq, or makes
 * a new one (replacing an older flight of the key in the table) and
 * returns SFLIGHT_LEAD. *f_r is the flight either way.
 */
enum sflight_role sflight_join(struct sflight_table *t, const char *key,
	    size_t klen, uint64_t seq, void *waiter, struct sflight **f_r);
/* sflight_leave - waiter no longer wants the answer (no-op if absent) */
void	sflight_leave(struct sflight *f, const void *waiter);
/* sflight_detach - out of the table: nobody joins it any more */
void	sflight_detach(struct sflight_table *t, struct sflight *f);
/* sflight_free - detach and free (waiters and data are the caller's) */
void	sflight_free(struct sflight_table *t, struct sflight **fp);
/* sflight_count - flights in the table */
size_t	sflight_count(const struct sflight_table *t);

#endif
