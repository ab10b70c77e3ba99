/*
 * lru - a bounded segmented-LRU map of cached answers with injected
 * time. See lru.h.
 *
 * A chained hash table (power-of-two buckets, grown at load 1, never
 * shrunk below LRU_BUCKETS_MIN) plus two doubly linked recency lists,
 * probation and protected: head is the most recently used, tail the
 * next to go. An entry is one allocation: the struct and its key.
 *
 * Depends on: libc, util/xalloc, core/cachefmt (SipHash). Pure: no I/O,
 * no clock, no locks.
 *
 * Security: keys are attacker-chosen (recipient addresses). Memory is
 * bounded by max_entries and max_bytes; the table hash is SipHash keyed
 * by the caller's random seed, so crafted keys cannot pile into one
 * chain; and keys seen once cannot push out keys asked for again.
 */
#include <stdlib.h>
#include <string.h>

#include "core/cachefmt.h"
#include "core/lru.h"
#include "util/xalloc.h"

#define LRU_MALLOC_OVERHEAD	8	/* glibc: a size word per chunk */
#define LRU_MALLOC_ALIGN	16	/* and chunks in 16-byte steps */

enum lru_seg {
	SEG_PROBATION,
	SEG_PROTECTED,
	NSEGS
};

struct lru_entry {
	struct lru_entry *hnext;	/* bucket chain */
	struct lru_entry *prev, *next;	/* recency list of its segment */
	uint64_t hash;
	uint64_t stored_ms, fresh_until_ms, stale_until_ms;
	uint32_t data;
	uint16_t klen;
	uint16_t dom_off, dom_len;
	uint8_t	 kind;
	uint8_t	 seg;
	char	 key[];			/* klen bytes and a NUL */
};

struct lru_list {
	struct lru_entry *head, *tail;
	size_t	 n, bytes;
};

struct lru {
	struct lru_entry **tab;
	size_t	 nbuckets;		/* a power of two */
	struct lru_list seg[NSEGS];
	size_t	 max_entries, max_bytes;
	struct lru_stats stats;
};

uint64_t
lru_hash(uint64_t seed0, uint64_t seed1, const char *key, size_t klen)
{
	return cachefmt_siphash(seed0, seed1, key, klen);
}

size_t
lru_entry_size(size_t klen)
{
	size_t	 raw = sizeof(struct lru_entry) + klen + 1 +
	    LRU_MALLOC_OVERHEAD;

	return (raw + LRU_MALLOC_ALIGN - 1) & ~(size_t)(LRU_MALLOC_ALIGN - 1);
}

struct lru *
lru_new(size_t max_entries, size_t max_bytes)
{
	struct lru *c = xcalloc(1, sizeof(*c));

	c->nbuckets = LRU_BUCKETS_MIN;
	c->tab = xcalloc(c->nbuckets, sizeof(*c->tab));
	c->max_entries = max_entries;
	c->max_bytes = max_bytes;
	return c;
}

static void
list_unlink(struct lru *c, struct lru_entry *e)
{
	struct lru_list *l = &c->seg[e->seg];

	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
	l->n--;
	l->bytes -= lru_entry_size(e->klen);
}

static void
list_push_head(struct lru *c, struct lru_entry *e, enum lru_seg seg)
{
	struct lru_list *l = &c->seg[seg];

	e->seg = (uint8_t)seg;
	e->prev = NULL;
	e->next = l->head;
	if (l->head != NULL)
		l->head->prev = e;
	l->head = e;
	if (l->tail == NULL)
		l->tail = e;
	l->n++;
	l->bytes += lru_entry_size(e->klen);
}

static size_t
total_n(const struct lru *c)
{
	return c->seg[SEG_PROBATION].n + c->seg[SEG_PROTECTED].n;
}

static size_t
total_bytes(const struct lru *c)
{
	return c->seg[SEG_PROBATION].bytes + c->seg[SEG_PROTECTED].bytes;
}

/* entry_remove - out of the table and its list, and freed */
static void
entry_remove(struct lru *c, struct lru_entry *e)
{
	struct lru_entry **pp = &c->tab[e->hash & (c->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	list_unlink(c, e);
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

/* protected_over - the protected segment is beyond its share */
static bool
protected_over(const struct lru *c)
{
	const struct lru_list *p = &c->seg[SEG_PROTECTED];

	return p->n > c->max_entries / 100 * LRU_PROTECTED_PCT +
	    c->max_entries % 100 * LRU_PROTECTED_PCT / 100 ||
	    p->bytes > c->max_bytes / 100 * LRU_PROTECTED_PCT +
	    c->max_bytes % 100 * LRU_PROTECTED_PCT / 100;
}

/* demote - the protected segment back within its share */
static void
demote(struct lru *c)
{
	struct lru_entry *e;

	while (c->seg[SEG_PROTECTED].tail != NULL && protected_over(c)) {
		e = c->seg[SEG_PROTECTED].tail;
		list_unlink(c, e);
		list_push_head(c, e, SEG_PROBATION);
	}
}

/* evict - drop least recently used, probation first, until need fits */
static void
evict(struct lru *c, size_t need_entries, size_t need_bytes)
{
	struct lru_entry *victim;

	while (total_n(c) > 0 && (total_n(c) + need_entries >
	    c->max_entries || total_bytes(c) + need_bytes > c->max_bytes)) {
		victim = c->seg[SEG_PROBATION].tail;
		if (victim == NULL)
			victim = c->seg[SEG_PROTECTED].tail;
		entry_remove(c, victim);
		c->stats.evicted++;
	}
}

void
lru_set_limits(struct lru *c, size_t max_entries, size_t max_bytes)
{
	c->max_entries = max_entries;
	c->max_bytes = max_bytes;
	demote(c);
	evict(c, 0, 0);
}

void
lru_clear(struct lru *c)
{
	unsigned s;

	for (s = 0; s < NSEGS; s++)
		while (c->seg[s].head != NULL)
			entry_remove(c, c->seg[s].head);
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
lru_put(struct lru *c, const char *key, size_t klen, uint64_t h,
    const struct lru_val *v, uint64_t now_ms)
{
	struct lru_entry *e = entry_find(c, key, klen, h);
	size_t	 size = lru_entry_size(klen);
	enum lru_seg seg = SEG_PROBATION;

	if (e != NULL) {
		seg = (enum lru_seg)e->seg;
		entry_remove(c, e);
	}
	if (c->max_entries == 0 || klen > LRU_KEY_MAX || size > c->max_bytes ||
	    now_ms >= v->stale_until_ms || v->dom_off + v->dom_len > klen)
		return false;
	evict(c, 1, size);
	e = xmalloc(sizeof(*e) + klen + 1);
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	e->klen = (uint16_t)klen;
	e->hash = h;
	e->kind = (uint8_t)v->kind;
	e->data = v->data;
	e->stored_ms = v->stored_ms;
	e->fresh_until_ms = v->fresh_until_ms;
	e->stale_until_ms = v->stale_until_ms > v->fresh_until_ms ?
	    v->stale_until_ms : v->fresh_until_ms;
	e->dom_off = (uint16_t)v->dom_off;
	e->dom_len = (uint16_t)v->dom_len;
	if (total_n(c) + 1 > c->nbuckets)
		table_grow(c);
	e->hnext = c->tab[h & (c->nbuckets - 1)];
	c->tab[h & (c->nbuckets - 1)] = e;
	list_push_head(c, e, seg);
	return true;
}

enum lru_state
lru_get(struct lru *c, const char *key, size_t klen, uint64_t h,
    uint64_t now_ms, struct lru_hit *hit_r)
{
	struct lru_entry *e = entry_find(c, key, klen, h);

	memset(hit_r, 0, sizeof(*hit_r));
	if (e == NULL)
		return LRU_MISS;
	if (now_ms >= e->stale_until_ms) {
		entry_remove(c, e);
		c->stats.expired++;
		return LRU_MISS;
	}
	if (e->seg == SEG_PROBATION || e != c->seg[SEG_PROTECTED].head) {
		if (e->seg == SEG_PROBATION)
			c->stats.promoted++;
		list_unlink(c, e);
		list_push_head(c, e, SEG_PROTECTED);
		demote(c);
	}
	hit_r->kind = (enum lru_kind)e->kind;
	hit_r->data = e->data;
	hit_r->stored_ms = e->stored_ms;
	hit_r->fresh_until_ms = e->fresh_until_ms;
	return now_ms < e->fresh_until_ms ? LRU_FRESH : LRU_STALE;
}

bool
lru_del(struct lru *c, const char *key, size_t klen, uint64_t h)
{
	struct lru_entry *e = entry_find(c, key, klen, h);

	if (e == NULL)
		return false;
	entry_remove(c, e);
	return true;
}

size_t
lru_del_domain(struct lru *c, const char *dom, size_t dlen, unsigned mask)
{
	struct lru_entry *e, *next;
	size_t	 n = 0;
	unsigned s;

	for (s = 0; s < NSEGS; s++)
		for (e = c->seg[s].head; e != NULL; e = next) {
			next = e->next;
			if ((e->kind & mask) != 0 && e->dom_len == dlen &&
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
	return total_n(c);
}

size_t
lru_bytes(const struct lru *c)
{
	return total_bytes(c);
}

const struct lru_stats *
lru_stats(const struct lru *c)
{
	return &c->stats;
}
