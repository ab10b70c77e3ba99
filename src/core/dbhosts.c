/*
 * dbhosts - the order in which to try the hosts of a pgsql: map, their
 * retry state, and the reconnect backoff. See dbhosts.h.
 *
 * Depends on: libc, util/rand (backoff_next), util/xalloc, util/log,
 * util/clock.h (units only), core/sqlmap.h (types). Pure: the clock and
 * the random numbers of the order come from the caller (the backoff's
 * jitter is util/rand's).
 *
 * Security: nothing here reads input from the network; the reasons kept
 * are the caller's sanitised one-line messages.
 */
#include <stdlib.h>
#include <string.h>

#include "core/dbhosts.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/xalloc.h"

#define DBHOSTS_URI_PREFIX	"postgresql:"

enum dbhosts_kind
dbhosts_kind(const char *spec)
{
	if (spec == NULL)
		return DBHOSTS_INET;	/* "localhost" */
	if (strncmp(spec, DBHOSTS_URI_PREFIX,
	    strlen(DBHOSTS_URI_PREFIX)) == 0)
		return DBHOSTS_URI;
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "inet:", 5) == 0)
		spec += 5;
	/* how libpq itself tells a socket directory from a host name */
	if (spec[0] == '\0' || spec[0] == '/')
		return DBHOSTS_UNIX;
	return DBHOSTS_INET;
}

void
dbhosts_init(struct dbhosts *dh, const struct sqlmap_conn *conn)
{
	size_t	 i;

	memset(dh, 0, sizeof(*dh));
	if (conn == NULL || conn->nhosts == 0) {
		dh->n = 1;
		dh->v[0].kind = dbhosts_kind(NULL);
	} else {
		dh->n = conn->nhosts < DBHOSTS_MAX ? conn->nhosts :
		    DBHOSTS_MAX;
		for (i = 0; i < dh->n; i++)
			dh->v[i].kind = dbhosts_kind(conn->hosts[i]);
	}
	if (conn != NULL)
		dh->retry_interval_us = (uint64_t)conn->retry_interval_s *
		    CLOCK_US_PER_S;
}

void
dbhosts_clear(struct dbhosts *dh)
{
	size_t	 i;

	for (i = 0; i < dh->n; i++) {
		free(dh->v[i].why);
		dh->v[i].why = NULL;
	}
}

bool
dbhosts_skipped(const struct dbhosts *dh, size_t i, uint64_t now_us)
{
	return dh->v[i].retry_us > now_us;
}

/* role_rank - 0 for the role the target wants, 1 unknown, 2 the other */
static unsigned
role_rank(enum dbhosts_target target, enum dbhosts_role role)
{
	if (role == DBHOSTS_ROLE_UNKNOWN)
		return 1;
	switch (target) {
	case DBHOSTS_TARGET_ANY:
		return 1;
	case DBHOSTS_TARGET_PREFER_STANDBY:
		return role == DBHOSTS_ROLE_STANDBY ? 0 : 2;
	case DBHOSTS_TARGET_PRIMARY:
		return role == DBHOSTS_ROLE_PRIMARY ? 0 : 2;
	}
	return 1;
}

/* by_role - order[0..n) sorted by role rank, stable (insertion sort) */
static void
by_role(const struct dbhosts *dh, size_t *order, size_t n)
{
	size_t	 i, j, t;

	for (i = 1; i < n; i++) {
		t = order[i];
		for (j = i; j > 0 && role_rank(dh->target,
		    dh->v[order[j - 1]].role) > role_rank(dh->target,
		    dh->v[t].role); j--)
			order[j] = order[j - 1];
		order[j] = t;
	}
}

size_t
dbhosts_order(const struct dbhosts *dh, uint64_t now_us, dbhosts_rand_fn *rnd,
    void *arg, size_t order[DBHOSTS_MAX])
{
	bool	 taken[DBHOSTS_MAX] = { false };
	enum dbhosts_kind kind;
	size_t	 i, n = 0, count, pick, best, neligible;

	/*
	 * dict_pgsql.c: dict_pgsql_get_active() asks dict_pgsql_find_host()
	 * for a unix host, else an inet one, else a URI; it picks at random
	 * among the hosts of that kind not being skipped, and one that
	 * fails is skipped from then on, so the next pick is among those
	 * left. Drawing only when there is a choice is find_host()'s too.
	 */
	for (kind = DBHOSTS_UNIX; kind <= DBHOSTS_URI; kind++) {
		for (;;) {
			count = 0;
			for (i = 0; i < dh->n; i++) {
				if (!taken[i] && dh->v[i].kind == kind &&
				    !dbhosts_skipped(dh, i, now_us))
					count++;
			}
			if (count == 0)
				break;
			pick = count > 1 ? (size_t)(rnd(arg) % count) : 0;
			for (i = 0; i < dh->n; i++) {
				if (taken[i] || dh->v[i].kind != kind ||
				    dbhosts_skipped(dh, i, now_us))
					continue;
				if (pick-- == 0)
					break;
			}
			if (i == dh->n)
				msg_panic("dbhosts_order: lost count");
			taken[i] = true;
			order[n++] = i;
		}
	}
	neligible = n;
	/* beyond Postfix: db_read_target, the role before the kind */
	if (dh->target != DBHOSTS_TARGET_ANY)
		by_role(dh, order, neligible);

	/* beyond Postfix: the skipped ones, soonest retry first */
	while (n < dh->n) {
		best = dh->n;
		for (i = 0; i < dh->n; i++) {
			if (!taken[i] && (best == dh->n ||
			    dh->v[i].retry_us < dh->v[best].retry_us))
				best = i;
		}
		taken[best] = true;
		order[n++] = best;
	}
	return neligible > 0 ? neligible : 1;
}

bool
dbhosts_failed(struct dbhosts *dh, size_t i, const char *why,
    uint64_t now_us)
{
	struct dbhosts_host *h = &dh->v[i];
	bool	 news;

	h->retry_us = dh->retry_interval_us > 0 ?
	    now_us + dh->retry_interval_us : 0;
	news = !h->down || h->why == NULL || strcmp(h->why, why) != 0;
	h->down = true;
	if (news) {
		free(h->why);
		h->why = xstrdup(why);
	}
	return news;
}

bool
dbhosts_up(struct dbhosts *dh, size_t i)
{
	struct dbhosts_host *h = &dh->v[i];
	bool	 was = h->down;

	h->down = false;
	h->retry_us = 0;
	free(h->why);
	h->why = NULL;
	return was;
}

size_t
dbhosts_ndown(const struct dbhosts *dh)
{
	size_t	 i, n = 0;

	for (i = 0; i < dh->n; i++) {
		if (dh->v[i].down)
			n++;
	}
	return n;
}

void
dbhosts_set_role(struct dbhosts *dh, size_t i, enum dbhosts_role r)
{
	dh->v[i].role = r;
}

bool
dbhosts_fits(const struct dbhosts *dh, size_t i, uint64_t now_us)
{
	size_t	 j;

	switch (dh->target) {
	case DBHOSTS_TARGET_ANY:
		return true;
	case DBHOSTS_TARGET_PRIMARY:
		return dh->v[i].role != DBHOSTS_ROLE_STANDBY;
	case DBHOSTS_TARGET_PREFER_STANDBY:
		if (dh->v[i].role != DBHOSTS_ROLE_PRIMARY)
			return true;
		for (j = 0; j < dh->n; j++) {
			if (j != i && !dbhosts_skipped(dh, j, now_us) &&
			    dh->v[j].role != DBHOSTS_ROLE_PRIMARY)
				return false;
		}
		return true;
	}
	return true;
}

const char *
dbhosts_target_name(enum dbhosts_target t)
{
	switch (t) {
	case DBHOSTS_TARGET_ANY:
		return "any";
	case DBHOSTS_TARGET_PREFER_STANDBY:
		return "prefer-standby";
	case DBHOSTS_TARGET_PRIMARY:
		return "primary";
	}
	return "any";
}

unsigned
dbhosts_backoff_failed(struct dbhosts_backoff *b)
{
	return backoff_next(&b->cur_ms, DBHOSTS_BACKOFF_MIN_MS,
	    DBHOSTS_BACKOFF_MAX_MS);
}

void
dbhosts_backoff_up(struct dbhosts_backoff *b, uint64_t now_us)
{
	b->up_us = now_us;
}

unsigned
dbhosts_backoff_lost(struct dbhosts_backoff *b, uint64_t now_us)
{
	if (now_us - b->up_us >= DBHOSTS_STABLE_MS * CLOCK_US_PER_MS) {
		b->cur_ms = 0;
		return 0;
	}
	return dbhosts_backoff_failed(b);
}

uint64_t
dbhosts_wait_next(uint64_t now_us, uint64_t until_us, unsigned up_then,
    unsigned up_now)
{
	uint64_t left;

	if (now_us >= until_us || up_then != up_now)
		return 0;
	left = until_us - now_us;
	return left < DBHOSTS_WAIT_POLL_MS * CLOCK_US_PER_MS ? left :
	    DBHOSTS_WAIT_POLL_MS * CLOCK_US_PER_MS;
}
