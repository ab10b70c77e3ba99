/*
 * clock - the only place time is read.
 *
 * Depends on: libc. The core never includes this; adapters read the
 * clock and pass "now" inward, which keeps the core testable.
 *
 * Security: nothing here touches untrusted input.
 */
#include <stdint.h>
#include <time.h>

#include "util/clock.h"
#include "util/log.h"

/* clock_mono_us - monotonic microseconds (never goes backwards) */
uint64_t
clock_mono_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		msg_panic("clock_gettime(CLOCK_MONOTONIC): %m");
	return (uint64_t)ts.tv_sec * CLOCK_US_PER_S + (uint64_t)ts.tv_nsec /
	    1000u;
}

/* clock_wall_s - seconds since the epoch */
int64_t
clock_wall_s(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		msg_panic("clock_gettime(CLOCK_REALTIME): %m");
	return (int64_t)ts.tv_sec;
}

/* clock_wall_ms - milliseconds since the epoch */
uint64_t
clock_wall_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		msg_panic("clock_gettime(CLOCK_REALTIME): %m");
	return (uint64_t)ts.tv_sec * CLOCK_MS_PER_S + (uint64_t)ts.tv_nsec /
	    1000000u;
}

struct timeval
clock_tv_ms(uint64_t ms)
{
	return clock_tv_us(ms * CLOCK_US_PER_MS);
}

struct timeval
clock_tv_us(uint64_t us)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(us / CLOCK_US_PER_S);
	tv.tv_usec = (suseconds_t)(us % CLOCK_US_PER_S);
	return tv;
}
