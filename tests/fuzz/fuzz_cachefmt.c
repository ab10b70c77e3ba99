/*
 * fuzz_cachefmt - libFuzzer target for what the cache tiers read back
 * from outside (core/cachefmt.c): Redis records, epochs and NOTIFY
 * invalidation payloads, and what an invalidation does to the
 * in-process tier (core/lru.c).
 *
 *   make fuzz FUZZ_TARGETS=cachefmt	(build/fuzz/fuzz_cachefmt)
 *
 * Input: one byte of switches, then the rest. The rest is parsed as a
 * Redis record (binary-safe, by length), as a decimal epoch, and up to
 * its first NUL as a NOTIFY payload; the bytes after that NUL, split at
 * the next NUL, are a lookup key and a value for the round trips. The
 * key and the payload are also read as a domain epoch from Redis, the
 * rest and the value as the record read with it.
 *
 * Invariants (a violation aborts):
 *   - a record that parses is one cachefmt_rec_format() writes: writing
 *     its fields again gives the same bytes; a tombstone likewise; a
 *     FOUND record has a value (at most CACHEFMT_VALUE_MAX bytes, no NUL)
 *     and a NOT_FOUND record none; the value lies inside the input;
 *   - an epoch parses exactly when it is 1..20 digits that fit in 64
 *     bits, and prints back the same (leading zeros aside);
 *   - format -> parse gives back what was formatted, for any value;
 *   - a payload parses exactly when it is "all", "a:<key>" or
 *     "d:<domain>" (non-empty) within CACHEFMT_PAYLOAD_MAX, and
 *     applied to an in-process cache holding the key it drops the key
 *     ("a:"), every key of the domain ("d:") or everything ("all"),
 *     and nothing else;
 *   - a reader judges a record fresh or stale only when it carries both
 *     epochs it knows, by its age against the TTLs, and what a writer
 *     of those epochs stores now is read back fresh (or stale, or
 *     expired, as the TTLs say).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cachefmt.h"
#include "core/lru.h"
#include "fuzz.h"
#include "util/xalloc.h"

#define FC_U64_DIGITS	20	/* digits of UINT64_MAX */
#define FC_NOW_MS	1700000000000ULL
#define FC_TTL_MS	60000ULL
#define FC_SEED0	0x0123456789abcdefULL	/* lru_hash(): any seed */
#define FC_SEED1	0xfedcba9876543210ULL
#define FC_ENTRIES	16
#define FC_BYTES	(1 << 20)

/* fc_hash - the key's hash, as server/cache.c computes it once */
static uint64_t
fc_hash(const char *key)
{
	return lru_hash(FC_SEED0, FC_SEED1, key, strlen(key));
}

static void
fc_record(const char *s, size_t len)
{
	struct cachefmt_rec r;
	char	*again;
	size_t	 alen;
	char	*v;

	if (cachefmt_rec_parse(s, len, &r) < 0)
		return;
	if (r.tombstone) {
		again = cachefmt_tombstone(r.stored_ms, &alen);
		/* leading zeros are the only other spelling */
		FUZZ_ASSERT(alen <= len);
		free(again);
		return;
	}
	FUZZ_ASSERT(r.result == FACT_FOUND || r.result == FACT_NOT_FOUND);
	FUZZ_ASSERT(r.value >= s && r.value + r.vlen == s + len);
	FUZZ_ASSERT(r.vlen <= CACHEFMT_VALUE_MAX);
	FUZZ_ASSERT(memchr(r.value, '\0', r.vlen) == NULL);
	FUZZ_ASSERT(r.result == FACT_FOUND ? r.vlen > 0 : r.vlen == 0);
	v = fuzz_exact(r.value, r.vlen);
	again = cachefmt_rec_format(r.epoch, r.depoch, r.result, r.stored_ms,
	    v, &alen);
	FUZZ_ASSERT(alen <= len);
	FUZZ_ASSERT(alen >= r.vlen &&
	    memcmp(again + alen - r.vlen, r.value, r.vlen) == 0);
	free(again);
	free(v);
}

static void
fc_u64(const char *s, size_t len)
{
	uint64_t v;
	size_t	 i = 0;
	char	 back[FC_U64_DIGITS + 1];

	if (cachefmt_u64_parse(s, len, &v) < 0) {
		/* refused: empty, too long, not digits, or too big */
		if (len == 0 || len > FC_U64_DIGITS ||
		    strspn(s, "0123456789") < len)
			return;
		FUZZ_ASSERT(len == FC_U64_DIGITS &&
		    memcmp(s, "18446744073709551615", len) > 0);
		return;
	}
	FUZZ_ASSERT(len >= 1 && len <= FC_U64_DIGITS);
	snprintf(back, sizeof(back), "%" PRIu64, v);
	while (i + 1 < len && s[i] == '0')
		i++;
	FUZZ_ASSERT(strlen(back) == len - i &&
	    memcmp(back, s + i, len - i) == 0);
}

/* fc_roundtrip - every value survives format -> parse (cut to the max) */
static void
fc_roundtrip(uint64_t epoch, uint64_t depoch, const char *value)
{
	struct cachefmt_rec r;
	char	*rec;
	size_t	 len, vlen = strlen(value);

	rec = cachefmt_rec_format(epoch, depoch, FACT_FOUND, FC_NOW_MS, value,
	    &len);
	if (vlen > CACHEFMT_VALUE_MAX)
		vlen = CACHEFMT_VALUE_MAX;
	if (vlen == 0) {
		/* Postfix: an empty result is "not found"; nobody stores
		 * a FOUND without a value, and reading one back is a miss */
		FUZZ_ASSERT(cachefmt_rec_parse(rec, len, &r) < 0);
	} else {
		FUZZ_ASSERT(cachefmt_rec_parse(rec, len, &r) == 0);
		FUZZ_ASSERT(!r.tombstone && r.result == FACT_FOUND &&
		    r.epoch == epoch && r.depoch == depoch &&
		    r.stored_ms == FC_NOW_MS && r.vlen == vlen &&
		    memcmp(r.value, value, vlen) == 0);
	}
	free(rec);
	rec = cachefmt_rec_format(epoch, depoch, FACT_NOT_FOUND, 0, value,
	    &len);
	FUZZ_ASSERT(cachefmt_rec_parse(rec, len, &r) == 0);
	FUZZ_ASSERT(r.result == FACT_NOT_FOUND && r.vlen == 0);
	free(rec);
	rec = cachefmt_tombstone(epoch, &len);
	FUZZ_ASSERT(cachefmt_rec_parse(rec, len, &r) == 0 && r.tombstone &&
	    r.stored_ms == epoch);
	free(rec);
}

/* fc_put - cache key as server/cache.c would (cacheable keys only) */
static void
fc_put(struct lru *c, const char *key)
{
	struct lru_val v;

	if (!cachefmt_cacheable(key, strlen(key)))
		return;
	memset(&v, 0, sizeof(v));
	v.kind = LRU_KIND_FACT;
	v.data = FACT_NOT_FOUND;
	v.stored_ms = FC_NOW_MS;
	v.fresh_until_ms = FC_NOW_MS + FC_TTL_MS;
	v.stale_until_ms = FC_NOW_MS + 2 * FC_TTL_MS;
	cachefmt_key_domain(key, strlen(key), &v.dom_off, &v.dom_len);
	FUZZ_ASSERT(v.dom_off + v.dom_len == strlen(key));
	FUZZ_ASSERT(lru_put(c, key, strlen(key), fc_hash(key), &v,
	    FC_NOW_MS));
}

static bool
fc_has(struct lru *c, const char *key)
{
	struct lru_hit hit;

	if (lru_get(c, key, strlen(key), fc_hash(key), FC_NOW_MS, &hit) ==
	    LRU_MISS)
		return false;
	FUZZ_ASSERT(hit.kind == LRU_KIND_FACT && hit.data == FACT_NOT_FOUND &&
	    hit.stored_ms == FC_NOW_MS);
	return true;
}

/* fc_survives - should key still be cached after the invalidation? */
static bool
fc_survives(const char *key, enum cachefmt_inval kind, const char *arg)
{
	size_t	 off, dlen;

	if (!cachefmt_cacheable(key, strlen(key)))
		return false;
	switch (kind) {
	case CACHEFMT_INVAL_KEY:
		return strcmp(key, arg) != 0;
	case CACHEFMT_INVAL_DOMAIN:
		cachefmt_key_domain(key, strlen(key), &off, &dlen);
		return dlen != strlen(arg) || memcmp(key + off, arg, dlen) != 0;
	case CACHEFMT_INVAL_ALL:
		return false;
	}
	return true;
}

/* fc_judge - what a reader makes of the domain epoch dv and record rv */
static void
fc_judge(uint8_t flags, const char *dv, const char *rv, size_t rlen,
    const char *value)
{
	struct cachefmt_ttl ttl = { (flags & 0x30) * FC_TTL_MS,
	    (flags & 0x0c) * FC_TTL_MS, (flags & 0xc0) * FC_TTL_MS };
	uint64_t gepoch = (uint64_t)flags * 7, depoch = 0, age, life;
	const uint64_t *ep = flags & 2 ? NULL : &gepoch;
	struct cachefmt_rec rec;
	enum cachefmt_judgement j;
	char	*mine;
	size_t	 mlen;

	j = cachefmt_judge(&ttl, ep, dv, strlen(dv), rv, rlen, FC_NOW_MS,
	    &depoch, &rec);
	if (j == CACHEFMT_J_FRESH || j == CACHEFMT_J_STALE) {
		/* an answer only from a record of both our epochs */
		FUZZ_ASSERT(ep != NULL && rec.epoch == gepoch &&
		    rec.depoch == depoch && !rec.tombstone);
		FUZZ_ASSERT(rec.result == FACT_FOUND ||
		    rec.result == FACT_NOT_FOUND);
		FUZZ_ASSERT(cachefmt_u64_parse(dv, strlen(dv), &age) == 0 &&
		    age == depoch);
		age = FC_NOW_MS > rec.stored_ms ? FC_NOW_MS - rec.stored_ms :
		    0;
		life = cachefmt_ttl_of(&ttl, rec.result);
		FUZZ_ASSERT(j == CACHEFMT_J_FRESH ? age < life :
		    age >= life && age - life < ttl.stale_ms);
	}
	if (j == CACHEFMT_J_FOREIGN || j == CACHEFMT_J_NO_DEPOCH)
		return;
	/* what a writer of these epochs stores now is read back fresh */
	mine = cachefmt_rec_format(gepoch, depoch, FACT_NOT_FOUND, FC_NOW_MS,
	    value, &mlen);
	j = cachefmt_judge(&ttl, &gepoch, dv, strlen(dv), mine, mlen,
	    FC_NOW_MS, &age, &rec);
	FUZZ_ASSERT(j == (ttl.negative_ms > 0 ? CACHEFMT_J_FRESH :
	    ttl.stale_ms > 0 ? CACHEFMT_J_STALE : CACHEFMT_J_EXPIRED));
	free(mine);
}

static void
fc_payload(const char *payload, const char *key)
{
	enum cachefmt_inval kind;
	const char *arg;
	struct lru *c;
	size_t	 plen = strlen(payload), i;
	bool	 ours;
	char	*other;
	const char *keys[3];

	ours = plen <= CACHEFMT_PAYLOAD_MAX && (strcmp(payload, "all") == 0 ||
	    (plen > 2 && (payload[0] == 'a' || payload[0] == 'd') &&
	    payload[1] == ':'));
	if (cachefmt_inval_parse(payload, &kind, &arg) < 0) {
		FUZZ_ASSERT(!ours);
		return;
	}
	FUZZ_ASSERT(ours);
	FUZZ_ASSERT(arg >= payload && arg <= payload + plen);
	FUZZ_ASSERT((kind == CACHEFMT_INVAL_ALL) == (*arg == '\0'));

	/* applied as server/cache.c does, to a cache holding key, the
	 * payload's own argument and a key nobody names */
	c = lru_new(FC_ENTRIES, FC_BYTES);
	other = xasprintf("%s.untouched@%s.invalid", key, key);
	keys[0] = key;
	keys[1] = arg;
	keys[2] = other;
	for (i = 0; i < 3; i++)
		fc_put(c, keys[i]);
	switch (kind) {
	case CACHEFMT_INVAL_KEY:
		lru_del(c, arg, strlen(arg), fc_hash(arg));
		break;
	case CACHEFMT_INVAL_DOMAIN:
		lru_del_domain(c, arg, strlen(arg),
		    LRU_KIND_FACT | LRU_KIND_DECISION);
		break;
	case CACHEFMT_INVAL_ALL:
		lru_clear(c);
		FUZZ_ASSERT(lru_count(c) == 0);
		break;
	}
	/* what it names is gone, nothing else went */
	for (i = 0; i < 3; i++)
		FUZZ_ASSERT(fc_has(c, keys[i]) ==
		    fc_survives(keys[i], kind, arg));
	free(other);
	lru_free(&c);
}

int
FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t	 flags = fuzz_byte(&in);
	char	*rest, *payload, *key, *value;
	struct fuzz_in tail;
	size_t	 rlen;
	uint64_t epoch;

	rest = fuzz_bytes(&in, in.n, &rlen);
	fc_record(rest, rlen);
	fc_u64(rest, rlen);
	tail.p = (const uint8_t *)rest;
	tail.n = rlen;
	payload = fuzz_str(&tail);
	key = fuzz_str(&tail);
	value = fuzz_str(&tail);
	epoch = (uint64_t)flags * 0x0101010101010101ULL;
	fc_roundtrip(epoch, flags & 1 ? UINT64_MAX : 0, value);
	fc_roundtrip(epoch, 0, payload);
	fc_payload(payload, key);
	fc_judge(flags, key, rest, rlen, value);
	fc_judge(flags, payload, value, strlen(value), key);
	free(payload);
	free(key);
	free(value);
	free(rest);
	return 0;
}
