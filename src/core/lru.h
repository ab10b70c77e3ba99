#ifndef VRCPT_LRU_H
#define VRCPT_LRU_H
/*
 * lru - a bounded, scan-resistant map from byte-string keys to small
 * cached answers with per-entry times: the in-process cache tier.
 *
 * Entries hold 32 bits of data (a fact's result, or a whole decision,
 * packed by the caller) and a kind, in one allocation with their key.
 *
 * Segmented LRU: a new entry goes on probation; a hit on probation
 * promotes it to the protected segment (at most LRU_PROTECTED_PCT of the
 * limits, its least recently used going back to probation). Eviction
 * takes probation's least recently used first. A flood of keys seen
 * once (a dictionary attack of unknown recipients) only churns
 * probation: the entries that are asked for again stay.
 *
 * Bounds: at most max_entries entries and max_bytes bytes (LRU_ENTRY_SIZE
 * per entry plus its key: the memory the entry takes, malloc's own
 * bookkeeping included). Each entry carries the time it was stored, the
 * end of its freshness and the end of its stale life; the caller passes
 * "now" to every call (an injected clock), and an entry past its stale
 * life is dropped when met. A lookup of a stale entry says so: the
 * caller uses it only when the database cannot answer.
 *
 * The caller hashes the key (lru_hash() with its random seed: keys are
 * attacker-chosen, chains must not be floodable) once and passes the
 * hash to every call, so that one hash serves a shard choice too.
 *
 * Each entry also records which span of its key is the domain, so that
 * one call drops every entry of a domain (invalidation "d:").
 *
 * Not thread-safe: the caller locks (server/cache.c shards it).
 * Depends on: util/. No I/O, no clock.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LRU_BUCKETS_MIN		64
#define LRU_PROTECTED_PCT	80	/* of the limits, for entries hit
					 * at least twice */
#define LRU_KEY_MAX		2048	/* longer keys are not stored */

struct lru;

/* what an entry is; lru_del_domain() can drop one kind only */
enum lru_kind {
	LRU_KIND_FACT = 1,		/* one (map, key) lookup */
	LRU_KIND_DECISION = 2		/* one recipient's verdict */
};

enum lru_state {
	LRU_MISS,
	LRU_FRESH,
	LRU_STALE
};

/* what lru_put stores */
struct lru_val {
	enum lru_kind kind;
	uint32_t data;			/* the caller's */
	uint64_t stored_ms;
	uint64_t fresh_until_ms;	/* exclusive */
	uint64_t stale_until_ms;	/* exclusive, >= fresh_until_ms */
	size_t	 dom_off, dom_len;	/* the domain span of the key */
};

/* what lru_get finds */
struct lru_hit {
	enum lru_kind kind;
	uint32_t data;
	uint64_t stored_ms;
	uint64_t fresh_until_ms;
};

struct lru_stats {
	uint64_t evicted;	/* dropped to make room */
	uint64_t expired;	/* dropped past their stale life */
	uint64_t promoted;	/* probation -> protected */
};

/* lru_hash - the hash of a key under a random seed (SipHash-2-4) */
uint64_t lru_hash(uint64_t seed0, uint64_t seed1, const char *key,
	    size_t klen);

/* lru_entry_size - the bytes an entry with a klen-byte key counts */
size_t	lru_entry_size(size_t klen);

/* lru_new - an empty cache; limits of 0 make a cache that keeps nothing */
struct lru *lru_new(size_t max_entries, size_t max_bytes);
void	lru_free(struct lru **cp);
/* lru_set_limits - new bounds; evicts down to them at once */
void	lru_set_limits(struct lru *c, size_t max_entries, size_t max_bytes);

/*
 * lru_put - store (or replace) key, on probation (a replaced entry keeps
 * its segment). Returns false, storing nothing, when the entry alone
 * exceeds max_bytes or LRU_KEY_MAX, when it is expired already at now,
 * or when the cache keeps nothing (a replaced entry is then removed).
 */
bool	lru_put(struct lru *c, const char *key, size_t klen, uint64_t hash,
	    const struct lru_val *v, uint64_t now_ms);
/*
 * lru_get - look key up at now. FRESH and STALE fill *hit_r and make the
 * entry the most recently used of its segment (promoting it from
 * probation); an entry past its stale life is removed and is a MISS.
 */
enum lru_state lru_get(struct lru *c, const char *key, size_t klen,
	    uint64_t hash, uint64_t now_ms, struct lru_hit *hit_r);
/* lru_del - remove key; true if it was there */
bool	lru_del(struct lru *c, const char *key, size_t klen, uint64_t hash);
/*
 * lru_del_domain - remove every entry of the kinds in mask (LRU_KIND_*
 * ORed) whose domain span equals dom (case-sensitive: keys are folded
 * before they get here); returns how many
 */
size_t	lru_del_domain(struct lru *c, const char *dom, size_t dlen,
	    unsigned mask);
/* lru_clear - remove everything */
void	lru_clear(struct lru *c);

size_t	lru_count(const struct lru *c);
size_t	lru_bytes(const struct lru *c);
const struct lru_stats *lru_stats(const struct lru *c);

#endif
