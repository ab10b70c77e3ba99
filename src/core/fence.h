#ifndef VRCPT_FENCE_H
#define VRCPT_FENCE_H
/*
 * fence - how far a standby must have replayed the primary's WAL before
 * an answer read from it may be cached: the "replay fences" left by the
 * invalidation messages (core/cachefmt.h: "a:KEY", "d:DOMAIN", "all")
 * of one database server.
 *
 * A message arrives after its transaction committed on the primary, but
 * NOTIFY carries no WAL position, and a trigger cannot know where the
 * commit record of its transaction will be written (it comes after
 * everything the trigger can see). So the listener (store/notify) asks
 * the primary for its WAL insert position AFTER handing messages over:
 * every message handed over before that query was sent was committed at
 * or before the position the query returns, the primary's insert
 * position having passed its commit record. Until then a message's
 * fence is pending: no standby's answer for its keys may be kept. Then
 * it is that position (fence_settle). An answer for lookup key K read
 * from a standby may be kept when the standby had replayed, before the
 * query ran, at least the fences of K, of K's domain and of everything
 * (fence_check). Messages are tagged by the listener in the order it
 * handed them over, and a settle names the last tag it covers, so that
 * a message that arrives while the position query is in the air waits
 * for the next one.
 *
 * Bounded: at most FENCE_KEYS_MAX keys and domains have a fence of
 * their own. A fence settled FENCE_HOLD_MS ago joins the global fence
 * (a standby that far behind keeps nothing anyway), and when the table
 * is full every fence joins it, a pending one as a pending global
 * fence. Joining only raises the global fence: answers are kept less,
 * never wrongly.
 *
 * Not thread-safe: the caller locks. Depends on: util/xalloc,
 * core/cachefmt (messages, key domains, SipHash). Pure: no I/O, no
 * clock ("now" is passed in).
 *
 * Security: messages are hostile input (any role may NOTIFY): they are
 * parsed by cachefmt_inval_parse (junk counts as "all", as for the
 * caches), their keys hashed with a random key, and one longer than
 * CACHEFMT_KEY_MAX needs no fence of its own (such keys are never
 * cached). A forged message can only stop answers from being cached for
 * a while, as a forged "all" can empty the caches.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FENCE_KEYS_MAX		4096	/* keys and domains with a fence of
					 * their own */
#define FENCE_BUCKETS		8192	/* hash chains: 2 per entry */
#define FENCE_HOLD_MS		10000	/* a settled fence joins the global
					 * one after this */
#define FENCE_LSN_TEXT_MAX	17	/* "FFFFFFFF/FFFFFFFF" */

struct fence;

/*
 * fence_new - no fence of any key, and a pending global one: nothing a
 * standby says is kept until the first fence_reset() (the listener is
 * up). seed0, seed1: random numbers for the hash.
 */
struct fence *fence_new(uint64_t seed0, uint64_t seed1);
void	fence_free(struct fence **fp);

/*
 * fence_raise - invalidation message payload was handed over with tag
 * (> 0, not smaller than any earlier one): its keys (all of them for
 * "all" and for junk) get a pending fence.
 */
void	fence_raise(struct fence *f, const char *payload, uint64_t tag);

/*
 * fence_settle - the messages of tags up to tag were committed at or
 * before lsn: their pending fences become lsn (fences only rise).
 */
void	fence_settle(struct fence *f, uint64_t tag, uint64_t lsn,
	    uint64_t now_ms);

/*
 * fence_reset - a new LISTEN connection is up: whatever was missed while
 * none listened, and every message of tags up to tag (those handed over
 * before the position query was sent, on an earlier connection too,
 * which may never be settled), was committed at or before lsn: the
 * global fence becomes lsn (or stays higher), and so do those pending
 * fences. A message handed over after the query was sent (a higher
 * tag) may have committed after lsn: it stays pending until a
 * fence_settle() covers its tag.
 */
void	fence_reset(struct fence *f, uint64_t tag, uint64_t lsn,
	    uint64_t now_ms);

enum fence_state {
	FENCE_PASSED,		/* the answer may be kept */
	FENCE_BEHIND,		/* not yet: a fence above replay_lsn, or one
				 * whose position is on its way */
	FENCE_UNKNOWN		/* not until the listener is up (no reset
				 * since fence_new) */
};

/*
 * fence_check - may an answer for lookup key[0..klen), read from a
 * standby that had replayed up to replay_lsn (0: unknown), be kept at
 * now_ms: PASSED when no fence of the key, of its domain (core/cachefmt:
 * cachefmt_key_domain) or of everything is pending or above replay_lsn.
 */
enum fence_state fence_check(struct fence *f, const char *key, size_t klen,
	    uint64_t replay_lsn, uint64_t now_ms);

/* fence_count - keys and domains with a fence of their own (tests) */
size_t	fence_count(const struct fence *f);

/*
 * fence_lsn_parse - a WAL position as PostgreSQL prints a pg_lsn: two
 * hex numbers of 1 to 8 digits, "X/Y"; nothing else. Returns 0 and
 * *lsn_r, or -1.
 */
int	fence_lsn_parse(const char *s, uint64_t *lsn_r);

#endif
