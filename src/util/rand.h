#ifndef VRCPT_RAND_H
#define VRCPT_RAND_H
/*
 * rand - random numbers for hash seeds and epochs (from the kernel), for
 * spreading load (a fast per-thread generator), and the jittered
 * exponential backoff every reconnecting adapter uses.
 */
#include <stdint.h>

/* rand_seed - 64 unpredictable bits from getrandom(2); fatal if none */
uint64_t rand_seed(void);
/* rand_fast - xorshift64* per thread, seeded by rand_seed: load
 * spreading and jitter only, nothing secret */
uint64_t rand_fast(void);
/*
 * backoff_next - the next delay of a reconnect loop: *cur_ms grows from 0
 * to min_ms, then doubles up to max_ms; the delay returned is jittered to
 * 50..100% of it so that many clients do not retry in step. Set *cur_ms
 * = 0 after a success.
 */
unsigned backoff_next(unsigned *cur_ms, unsigned min_ms, unsigned max_ms);

#endif
