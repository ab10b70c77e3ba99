#ifndef VRCPT_CACHEFMT_H
#define VRCPT_CACHEFMT_H
/*
 * cachefmt - what the cache tiers agree on, pure: the identity of a map
 * definition (its namespace), the Redis key and record layout, the age
 * rules (fresh, stale, expired) and the invalidation messages that the
 * policy/ triggers and vrcptctl send with NOTIFY vrcpt_invalidate.
 *
 * A cached answer is one fact (FOUND with its value, or NOT_FOUND) for
 * one (map, key). The map's namespace is a hash of everything that makes
 * its answers what they are (server, database, user, query, parameters,
 * domain filter, result_format, expansion_limit), so that a changed .cf
 * file never reads the answers of the old one.
 *
 * Redis layout (all keys start with "vrcpt:"):
 *   vrcpt:<ns>:<key>      a record "v1|<epoch>|<depoch>|<F|N>|<ms>|<value>"
 *                         or a tombstone "T|<ms>" (a key just invalidated:
 *                         readers miss, writers must not fill it)
 *   vrcpt:epoch           the global epoch (a random number): records of
 *                         another epoch are gone ("flush all")
 *   vrcpt:de:<domain>     the domain's epoch (a random number): records
 *                         of another one are gone ("flush @domain")
 *
 * Every key expires: records after their TTL plus cache_stale_ttl,
 * tombstones after CACHEFMT_TOMBSTONE_MS, epochs after
 * CACHEFMT_EPOCH_TTL_MS (each fill of a record pushes its epochs' expiry
 * out again). An epoch that is gone, expired or evicted, makes nothing
 * valid again: with it absent no record is used, and the next reader
 * sets a new random one (SET NX), which no old record carries. So Redis
 * memory stays bounded under any flood (with maxmemory, any volatile-*
 * or allkeys-* policy is safe), and eviction costs misses, never a
 * wrong answer.
 *
 * Invalidation messages (one per NOTIFY payload):
 *   "a:<key>"     drop this lookup key in every map
 *   "d:<domain>"  drop every key of the domain ("user@dom", "@dom",
 *                 "dom")
 *   "all"         drop everything
 *
 * Depends on: util/, core/fact.h, core/sqlmap.h. No I/O, no clock.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/engine.h"
#include "core/fact.h"
#include "core/sqlmap.h"

#define CACHEFMT_NS_LEN		16	/* hex digits of a namespace */
#define CACHEFMT_KEY_MAX	1024	/* longer lookup keys are not cached */
#define CACHEFMT_VALUE_MAX	2048	/* a FOUND value is kept up to this
					 * many bytes (for traces only: the
					 * decision needs found/not found) */
#define CACHEFMT_PAYLOAD_MAX	7999	/* NOTIFY payloads are < 8000 bytes */
#define CACHEFMT_PREFIX		"vrcpt:"
#define CACHEFMT_RKEY_EPOCH	"vrcpt:epoch"
#define CACHEFMT_RKEY_DEPOCH	"vrcpt:de:"
#define CACHEFMT_CHANNEL	"vrcpt_invalidate"
#define CACHEFMT_EPOCH_TTL_MS	(7ULL * 24 * 3600 * 1000)	/* an epoch
					 * key that no fill refreshes */
#define CACHEFMT_TOMBSTONE_MS	10000	/* a tombstone outlives any query
					 * that started before it */
/* the Redis read of a set of lookups: the global epoch, then for each
 * lookup its domain epoch and its record (cachefmt_read_keys) */
#define CACHEFMT_READ_HEAD	1
#define CACHEFMT_READ_PER	2

/* the three TTLs, in milliseconds */
struct cachefmt_ttl {
	uint64_t positive_ms;	/* cache_positive_ttl */
	uint64_t negative_ms;	/* cache_negative_ttl */
	uint64_t stale_ms;	/* cache_stale_ttl: beyond the TTL */
};

enum cachefmt_age {
	CACHEFMT_FRESH,		/* within its TTL: an answer */
	CACHEFMT_STALE,		/* past the TTL, within cache_stale_ttl:
				 * only when the database cannot answer */
	CACHEFMT_EXPIRED	/* gone */
};

/* a parsed Redis record; value points into the parsed text */
struct cachefmt_rec {
	bool	 tombstone;
	uint64_t epoch;
	uint64_t depoch;
	enum fact_result result;	/* FOUND or NOT_FOUND */
	uint64_t stored_ms;		/* wall clock */
	const char *value;		/* FOUND: not NUL-terminated */
	size_t	 vlen;
};

enum cachefmt_inval {
	CACHEFMT_INVAL_KEY,
	CACHEFMT_INVAL_DOMAIN,
	CACHEFMT_INVAL_ALL
};

/* cachefmt_hash - FNV-1a, 64 bits, continuing from h (identities) */
#define CACHEFMT_HASH_INIT	0xcbf29ce484222325ULL
uint64_t cachefmt_hash(const void *p, size_t n, uint64_t h);

/*
 * cachefmt_siphash - SipHash-2-4 of p[0..n) under the key (k0, k1): the
 * hash of tables whose keys an attacker picks (recipient addresses), so
 * that chains cannot be flooded without knowing the key.
 */
uint64_t cachefmt_siphash(uint64_t k0, uint64_t k1, const void *p, size_t n);

/*
 * cachefmt_ns - the namespace of a pgsql map: CACHEFMT_NS_LEN lower-case
 * hex digits and a NUL in ns. The password is not part of it (changing
 * it changes no answer).
 */
void	cachefmt_ns(const struct sqlmap *sm, char ns[CACHEFMT_NS_LEN + 1]);

/*
 * cachefmt_dns - the namespace of the decisions of an engine
 * configuration: a hash of everything a verdict depends on besides the
 * recipient (every table list with its tables' identities, the address
 * and reply settings), so that a reload that changes nothing keeps the
 * cached decisions and one that changes anything never reads them. A
 * file table (hash:, regexp:, ...) counts with its type, path and the
 * hash of the records or rules read (struct map_file: content), so a
 * rebuilt file with other records is a new namespace.
 */
void	cachefmt_dns(const struct engine_cfg *cfg,
	    char ns[CACHEFMT_NS_LEN + 1]);

/*
 * cachefmt_key_domain - the domain a lookup key belongs to, for "d:"
 * invalidation: the part after the last '@', or the whole key when it
 * has none (a *_domains lookup). *off_r and *len_r give the span.
 */
void	cachefmt_key_domain(const char *key, size_t klen, size_t *off_r,
	    size_t *len_r);

/* cachefmt_cacheable - a key we cache: 1..CACHEFMT_KEY_MAX bytes */
bool	cachefmt_cacheable(const char *key, size_t klen);

/*
 * cachefmt_rkey - "vrcpt:<ns>:<key>" (*len_r set; binary-safe; fresh,
 * caller frees). cachefmt_rkey_depoch - "vrcpt:de:<domain>" of a key.
 */
char	*cachefmt_rkey(const char *ns, const char *key, size_t klen,
	    size_t *len_r);
char	*cachefmt_rkey_depoch(const char *key, size_t klen, size_t *len_r);

/*
 * cachefmt_rec_format - a record (fresh, caller frees; *len_r set). The
 * value (FOUND only; may be NULL) is cut at CACHEFMT_VALUE_MAX.
 * cachefmt_tombstone - "T|<ms>".
 */
char	*cachefmt_rec_format(uint64_t epoch, uint64_t depoch,
	    enum fact_result result, uint64_t stored_ms, const char *value,
	    size_t *len_r);
char	*cachefmt_tombstone(uint64_t now_ms, size_t *len_r);

/*
 * cachefmt_rec_parse - parse what Redis returned. Returns 0, or -1 for
 * anything malformed (the caller treats it as a miss: Redis is not
 * trusted to hold well-formed data).
 */
int	cachefmt_rec_parse(const char *s, size_t len, struct cachefmt_rec *r);

/*
 * cachefmt_read_keys - the CACHEFMT_READ_PER keys one lookup adds to the
 * Redis read: its domain epoch and its record (fresh, caller frees).
 */
void	cachefmt_read_keys(const char *ns, const char *key, size_t klen,
	    char *keys[CACHEFMT_READ_PER], size_t lens[CACHEFMT_READ_PER]);

/* what Redis holds for one lookup, judged */
enum cachefmt_judgement {
	CACHEFMT_J_ABSENT,	/* no record */
	CACHEFMT_J_FOREIGN,	/* the domain epoch is not one of ours */
	CACHEFMT_J_NO_DEPOCH,	/* the domain has no epoch (yet, or any
				 * more): no record of it is valid; the
				 * reader sets one */
	CACHEFMT_J_UNREADABLE,	/* a record we did not write */
	CACHEFMT_J_TOMBSTONE,	/* invalidated a moment ago */
	CACHEFMT_J_FLUSHED,	/* of another global or domain epoch */
	CACHEFMT_J_FRESH,	/* an answer */
	CACHEFMT_J_STALE,	/* only when the database cannot answer */
	CACHEFMT_J_EXPIRED
};

/*
 * cachefmt_judge - the values read for one lookup (dv: its domain epoch,
 * rv: its record; NULL when absent) against the global epoch (NULL when
 * it is unknown) at now_ms. *depoch_r is the domain epoch (unset for
 * FOREIGN and NO_DEPOCH); *rec_r the parsed record (set from TOMBSTONE
 * on).
 */
enum cachefmt_judgement cachefmt_judge(const struct cachefmt_ttl *ttl,
	    const uint64_t *epoch, const char *dv, size_t dlen,
	    const char *rv, size_t rlen, uint64_t now_ms, uint64_t *depoch_r,
	    struct cachefmt_rec *rec_r);

/* cachefmt_u64_parse - a decimal epoch; -1 if not one */
int	cachefmt_u64_parse(const char *s, size_t len, uint64_t *v_r);

/*
 * cachefmt_age - how usable an answer stored at stored_ms is at now_ms.
 * A record from the future (clocks of two hosts) counts as just stored.
 */
enum cachefmt_age cachefmt_age(const struct cachefmt_ttl *ttl,
	    enum fact_result result, uint64_t stored_ms, uint64_t now_ms);
/* cachefmt_ttl_of - the TTL of a result (positive or negative) */
uint64_t cachefmt_ttl_of(const struct cachefmt_ttl *ttl,
	    enum fact_result result);

/*
 * cachefmt_inval_parse - a NOTIFY payload. Returns 0 with *kind_r and
 * *arg_r (points into payload; "" for ALL), or -1 when it is not one of
 * ours (the caller then drops everything: an unknown message may mean
 * newer triggers than this daemon).
 */
int	cachefmt_inval_parse(const char *payload, enum cachefmt_inval *kind_r,
	    const char **arg_r);

#endif
