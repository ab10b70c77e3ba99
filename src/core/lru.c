/*
 * lru - a bounded LRU map of cached answers with injected time. See
 * lru.h.
 *
 * A chained hash table (power-of-two buckets, grown at load 1, never
 * shrunk below LRU_BUCKETS_MIN) plus a doubly linked recency list: head
 * is the most recently used, tail the next to go.
 *
 * Depends on: libc, util/xalloc, core/fact.h. Pure: no I/O, no clock,
 * no locks.
 *
 * Security: keys are attacker-chosen (recipient addresses). Memory is
 * bounded by max_entries and max_bytes; the table hash is SipHash keyed
 * by the caller's random seed, so crafted keys cannot pile into one
 * chain.
 */
#include <stdlib.h>
#include <string.h>

#include "core/cachefmt.h"
#include "core/lru.h"
#include "util/xalloc.h"

struct lru_entry {
	struct lru_entry *hnext;	/* bucket chain */
	struct lru_entry *prev, *next;	/* recency list */
	uint64_t hash;
	uint64_t stored_ms, fresh_until_ms, stale_until_ms;
	enum fact_result result;
	char	*value;
	size_t	 vlen;
	size_t	 klen;
	size_t	 dom_off, dom_len;
	char	 key[];			/* klen bytes and a NUL */
};

struct lru {
	struct lru_entry **tab;
	size_t	 nbuckets;		/* a power of two */
	struct lru_entry *head, *tail;
	size_t	 n, bytes;
	size_t	 max_entries, max_bytes;
	uint64_t seed0, seed1;
	struct lru_stats stats;
};

static size_t
entry_size(size_t klen, size_t vlen)
{
	return LRU_ENTRY_OVERHEAD + klen + 1 + vlen + 1;
}

struct lru *
lru_new(size_t max_entries, size_t max_bytes, uint64_t seed0, uint64_t seed1)
{
	struct lru *c = xcalloc(1, sizeof(*c));

	c->seed0 = seed0;
	c->seed1 = seed1;
	c->nbuckets = LRU_BUCKETS_MIN;
	c->tab = xcalloc(c->nbuckets, sizeof(*c->tab));
	c->max_entries = max_entries;
	c->max_bytes = max_bytes;
	return c;
}

static void
list_unlink(struct lru *c, struct lru_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
list_push_head(struct lru *c, struct lru_entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head != NULL)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

/* entry_remove - out of the table and the list, and freed */
static void
entry_remove(struct lru *c, struct lru_entry *e)
{
	struct lru_entry **pp = &c->tab[e->hash & (c->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	list_unlink(c, e);
	c->n--;
	c->bytes -= entry_size(e->klen, e->vlen);
	free(e->value);
	free(e);
}

static struct lru_entry *
entry_find(const struct lru *c, const char *key, size_t klen, uint64_t h)
{
	struct lru_entry *e;

	for (e = c->tab[h & (c->nbuckets - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && e->klen == klen &&
		    memcmp(e->key, key, klen) == 0)
			return e;
	return NULL;
}

static void
table_grow(struct lru *c)
{
	size_t	 nb = c->nbuckets * 2, i;
	struct lru_entry **tab = xcalloc(nb, sizeof(*tab));

	for (i = 0; i < c->nbuckets; i++) {
		struct lru_entry *e = c->tab[i], *next;

		for (; e != NULL; e = next) {
			next = e->hnext;
			e->hnext = tab[e->hash & (nb - 1)];
			tab[e->hash & (nb - 1)] = e;
		}
	}
	free(c->tab);
	c->tab = tab;
	c->nbuckets = nb;
}

/* evict - drop from the tail until an entry of need bytes fits */
static void
evict(struct lru *c, size_t need_entries, size_t need_bytes)
{
	while (c->tail != NULL && (c->n + need_entries > c->max_entries ||
	    c->bytes + need_bytes > c->max_bytes)) {
		entry_remove(c, c->tail);
		c->stats.evicted++;
	}
}

void
lru_set_limits(struct lru *c, size_t max_entries, size_t max_bytes)
{
	c->max_entries = max_entries;
	c->max_bytes = max_bytes;
	evict(c, 0, 0);
}

void
lru_clear(struct lru *c)
{
	while (c->head != NULL)
		entry_remove(c, c->head);
}

void
lru_free(struct lru **cp)
{
	struct lru *c = *cp;

	*cp = NULL;
	if (c == NULL)
		return;
	lru_clear(c);
	free(c->tab);
	free(c);
}

bool
lru_put(struct lru *c, const char *key, size_t klen, const struct lru_val *v,
    uint64_t now_ms)
{
	uint64_t h = cachefmt_siphash(c->seed0, c->seed1, key, klen);
	struct lru_entry *e = entry_find(c, key, klen, h);
	size_t	 vlen = 0, size;

	if (e != NULL)
		entry_remove(c, e);
	if (v->result == FACT_FOUND && v->value != NULL)
		vlen = strlen(v->value);
	size = entry_size(klen, vlen);
	if (c->max_entries == 0 || size > c->max_bytes ||
	    v->result == FACT_UNAVAILABLE || now_ms >= v->stale_until_ms ||
	    v->dom_off + v->dom_len > klen)
		return false;
	evict(c, 1, size);
	e = xmalloc(sizeof(*e) + klen + 1);
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	e->klen = klen;
	e->hash = h;
	e->result = v->result;
	e->value = vlen > 0 ? xstrndup(v->value, vlen) : NULL;
	e->vlen = vlen;
	e->stored_ms = v->stored_ms;
	e->fresh_until_ms = v->fresh_until_ms;
	e->stale_until_ms = v->stale_until_ms > v->fresh_until_ms ?
	    v->stale_until_ms : v->fresh_until_ms;
	e->dom_off = v->dom_off;
	e->dom_len = v->dom_len;
	if (c->n + 1 > c->nbuckets)
		table_grow(c);
	e->hnext = c->tab[h & (c->nbuckets - 1)];
	c->tab[h & (c->nbuckets - 1)] = e;
	list_push_head(c, e);
	c->n++;
	c->bytes += size;
	return true;
}

enum lru_state
lru_get(struct lru *c, const char *key, size_t klen, uint64_t now_ms,
    struct lru_hit *hit_r)
{
	uint64_t h = cachefmt_siphash(c->seed0, c->seed1, key, klen);
	struct lru_entry *e = entry_find(c, key, klen, h);

	memset(hit_r, 0, sizeof(*hit_r));
	if (e == NULL)
		return LRU_MISS;
	if (now_ms >= e->stale_until_ms) {
		entry_remove(c, e);
		c->stats.expired++;
		return LRU_MISS;
	}
	list_unlink(c, e);
	list_push_head(c, e);
	hit_r->result = e->result;
	hit_r->value = e->value != NULL ? xstrdup(e->value) : NULL;
	hit_r->stored_ms = e->stored_ms;
	hit_r->fresh_until_ms = e->fresh_until_ms;
	return now_ms < e->fresh_until_ms ? LRU_FRESH : LRU_STALE;
}

bool
lru_del(struct lru *c, const char *key, size_t klen)
{
	uint64_t h = cachefmt_siphash(c->seed0, c->seed1, key, klen);
	struct lru_entry *e = entry_find(c, key, klen, h);

	if (e == NULL)
		return false;
	entry_remove(c, e);
	return true;
}

size_t
lru_del_domain(struct lru *c, const char *dom, size_t dlen)
{
	struct lru_entry *e, *next;
	size_t	 n = 0;

	for (e = c->head; e != NULL; e = next) {
		next = e->next;
		if (e->dom_len == dlen &&
		    memcmp(e->key + e->dom_off, dom, dlen) == 0) {
			entry_remove(c, e);
			n++;
		}
	}
	return n;
}

size_t
lru_count(const struct lru *c)
{
	return c->n;
}

size_t
lru_bytes(const struct lru *c)
{
	return c->bytes;
}

const struct lru_stats *
lru_stats(const struct lru *c)
{
	return &c->stats;
}
