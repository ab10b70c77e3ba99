/*
 * rand - seeds, a fast generator and backoff. See rand.h.
 *
 * Depends on: libc (getrandom), util/log. Security: rand_seed is the
 * only source for values an attacker should not guess (hash seeds of
 * tables keyed by client input).
 */
#include <sys/random.h>

#include <stdint.h>

#include "util/log.h"
#include "util/rand.h"

uint64_t
rand_seed(void)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		msg_fatal("getrandom failed");
	return v;
}

uint64_t
rand_fast(void)
{
	static _Thread_local uint64_t s;

	while (s == 0)
		s = rand_seed();
	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return s * 2685821657736338717ULL;
}

unsigned
backoff_next(unsigned *cur_ms, unsigned min_ms, unsigned max_ms)
{
	if (*cur_ms == 0)
		*cur_ms = min_ms;
	else if (*cur_ms < max_ms / 2)
		*cur_ms *= 2;
	else
		*cur_ms = max_ms;
	return *cur_ms / 2 + (unsigned)(rand_fast() % (*cur_ms / 2 + 1));
}
