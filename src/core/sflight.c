/*
 * sflight - single-flight table: one query per key in the air. See
 * sflight.h.
 *
 * Depends on: libc, util/xalloc, core/cachefmt (SipHash). Pure.
 *
 * Security: keys are attacker-chosen; the table hash is keyed by the
 * caller's random seed, and a flight's waiter list is bounded
 * (SFLIGHT_WAITERS_MAX).
 */
#include <stdlib.h>
#include <string.h>

#include "core/cachefmt.h"
#include "core/sflight.h"
#include "util/xalloc.h"

#define SFLIGHT_BUCKETS_MIN	64

struct sflight_table {
	struct sflight **tab;
	size_t	 nbuckets;	/* a power of two */
	size_t	 n;
	uint64_t seed0, seed1;
};

struct sflight_table *
sflight_table_new(uint64_t seed0, uint64_t seed1)
{
	struct sflight_table *t = xcalloc(1, sizeof(*t));

	t->nbuckets = SFLIGHT_BUCKETS_MIN;
	t->tab = xcalloc(t->nbuckets, sizeof(*t->tab));
	t->seed0 = seed0;
	t->seed1 = seed1;
	return t;
}

void
sflight_table_free(struct sflight_table **tp)
{
	struct sflight_table *t = *tp;
	size_t	 i;

	*tp = NULL;
	if (t == NULL)
		return;
	/* flights still listed are the caller's bug, but leave them be:
	 * only unlink them, their owner frees them */
	for (i = 0; i < t->nbuckets; i++) {
		struct sflight *f, *next;

		for (f = t->tab[i]; f != NULL; f = next) {
			next = f->hnext;
			f->hnext = NULL;
			f->in_table = false;
		}
	}
	free(t->tab);
	free(t);
}

static void
table_grow(struct sflight_table *t)
{
	size_t	 nb = t->nbuckets * 2, i;
	struct sflight **tab = xcalloc(nb, sizeof(*tab));

	for (i = 0; i < t->nbuckets; i++) {
		struct sflight *f, *next;

		for (f = t->tab[i]; f != NULL; f = next) {
			next = f->hnext;
			f->hnext = tab[f->hash & (nb - 1)];
			tab[f->hash & (nb - 1)] = f;
		}
	}
	free(t->tab);
	t->tab = tab;
	t->nbuckets = nb;
}

static void
add_waiter(struct sflight *f, void *waiter)
{
	if (f->nwaiters == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 4;
		f->waiters = xreallocarray(f->waiters, f->cap,
		    sizeof(*f->waiters));
	}
	f->waiters[f->nwaiters++] = waiter;
}

void
sflight_detach(struct sflight_table *t, struct sflight *f)
{
	struct sflight **pp;

	if (!f->in_table)
		return;
	for (pp = &t->tab[f->hash & (t->nbuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == f) {
			*pp = f->hnext;
			break;
		}
	f->hnext = NULL;
	f->in_table = false;
	t->n--;
}

enum sflight_role
sflight_join(struct sflight_table *t, const char *key, size_t klen,
    uint64_t seq, void *waiter, struct sflight **f_r)
{
	uint64_t h = cachefmt_siphash(t->seed0, t->seed1, key, klen);
	struct sflight *f;

	for (f = t->tab[h & (t->nbuckets - 1)]; f != NULL; f = f->hnext)
		if (f->hash == h && f->klen == klen &&
		    memcmp(f->key, key, klen) == 0)
			break;
	if (f != NULL && f->seq == seq && f->nwaiters < SFLIGHT_WAITERS_MAX) {
		add_waiter(f, waiter);
		*f_r = f;
		return SFLIGHT_JOIN;
	}
	if (f != NULL)
		sflight_detach(t, f);	/* its answer may predate seq */
	f = xcalloc(1, sizeof(*f));
	f->hash = h;
	f->seq = seq;
	f->key = xmalloc(klen + 1);
	memcpy(f->key, key, klen);
	f->key[klen] = '\0';
	f->klen = klen;
	add_waiter(f, waiter);
	if (t->n + 1 > t->nbuckets)
		table_grow(t);
	f->hnext = t->tab[h & (t->nbuckets - 1)];
	t->tab[h & (t->nbuckets - 1)] = f;
	f->in_table = true;
	t->n++;
	*f_r = f;
	return SFLIGHT_LEAD;
}

void
sflight_leave(struct sflight *f, const void *waiter)
{
	size_t	 i;

	for (i = 0; i < f->nwaiters; i++)
		if (f->waiters[i] == waiter) {
			memmove(&f->waiters[i], &f->waiters[i + 1],
			    (f->nwaiters - i - 1) * sizeof(*f->waiters));
			f->nwaiters--;
			return;
		}
}

void
sflight_free(struct sflight_table *t, struct sflight **fp)
{
	struct sflight *f = *fp;

	*fp = NULL;
	if (f == NULL)
		return;
	if (t != NULL)
		sflight_detach(t, f);
	free(f->waiters);
	free(f->key);
	free(f);
}

size_t
sflight_count(const struct sflight_table *t)
{
	return t->n;
}
