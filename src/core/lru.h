#ifndef VRCPT_LRU_H
#define VRCPT_LRU_H
/*
 * lru - a bounded map from byte-string keys to cached answers, with
 * least-recently-used eviction and per-entry times: the in-process
 * cache tier.
 *
 * Bounds: at most max_entries entries and max_bytes bytes (keys, values
 * and a fixed per-entry overhead counted); putting beyond either evicts
 * from the least recently used end. Each entry carries the time it was
 * stored, the end of its freshness and the end of its stale life; the
 * caller passes "now" to every call (an injected clock), and an entry
 * past its stale life is dropped when met. A lookup of a stale entry
 * says so: the caller uses it only when the database cannot answer.
 *
 * Each entry also records which span of its key is the domain, so that
 * one call drops every entry of a domain (invalidation "d:").
 *
 * Not thread-safe: the caller locks (server/cache.c shards it).
 * Depends on: util/, core/fact.h. No I/O, no clock.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/fact.h"

#define LRU_ENTRY_OVERHEAD	96	/* bytes counted per entry besides
					 * its key and value */
#define LRU_BUCKETS_MIN		64

struct lru;

enum lru_state {
	LRU_MISS,
	LRU_FRESH,
	LRU_STALE
};

/* what lru_put stores */
struct lru_val {
	enum fact_result result;	/* FOUND or NOT_FOUND */
	const char *value;		/* FOUND: copied; may be NULL */
	uint64_t stored_ms;
	uint64_t fresh_until_ms;	/* exclusive */
	uint64_t stale_until_ms;	/* exclusive, >= fresh_until_ms */
	size_t	 dom_off, dom_len;	/* the domain span of the key */
};

/* what lru_get finds; value is a fresh copy (caller frees) or NULL */
struct lru_hit {
	enum fact_result result;
	char	*value;
	uint64_t stored_ms;
	uint64_t fresh_until_ms;
};

struct lru_stats {
	uint64_t evicted;	/* dropped to make room */
	uint64_t expired;	/* dropped past their stale life */
};

/*
 * lru_new - an empty cache; limits of 0 make a cache that keeps nothing.
 * (seed0, seed1) key the table's hash: pass random numbers, so that
 * nobody can pick recipients that all land in one chain.
 */
struct lru *lru_new(size_t max_entries, size_t max_bytes, uint64_t seed0,
	    uint64_t seed1);
void	lru_free(struct lru **cp);
/* lru_set_limits - new bounds; evicts down to them at once */
void	lru_set_limits(struct lru *c, size_t max_entries, size_t max_bytes);

/*
 * lru_put - store (or replace) key. Returns false, storing nothing, when
 * the entry alone exceeds max_bytes, when it is expired already at now,
 * or when the cache keeps nothing (a replaced entry is then removed).
 */
bool	lru_put(struct lru *c, const char *key, size_t klen,
	    const struct lru_val *v, uint64_t now_ms);
/*
 * lru_get - look key up at now. FRESH and STALE fill *hit_r and make the
 * entry the most recently used; an entry past its stale life is removed
 * and is a MISS.
 */
enum lru_state lru_get(struct lru *c, const char *key, size_t klen,
	    uint64_t now_ms, struct lru_hit *hit_r);
/* lru_del - remove key; true if it was there */
bool	lru_del(struct lru *c, const char *key, size_t klen);
/* lru_del_domain - remove every entry whose domain span equals dom
 * (case-sensitive: keys are folded before they get here); returns how
 * many */
size_t	lru_del_domain(struct lru *c, const char *dom, size_t dlen);
/* lru_clear - remove everything */
void	lru_clear(struct lru *c);

size_t	lru_count(const struct lru *c);
size_t	lru_bytes(const struct lru *c);
const struct lru_stats *lru_stats(const struct lru *c);

#endif
