#ifndef VRCPT_CLOCK_H
#define VRCPT_CLOCK_H
/*
 * clock - the only place time is read. The core never calls these; the
 * adapters pass "now" in.
 */
#include <sys/time.h>

#include <stdint.h>

/* the one place these are defined */
#define CLOCK_MS_PER_S		1000ULL
#define CLOCK_US_PER_MS		1000ULL
#define CLOCK_US_PER_S		1000000ULL

/* clock_mono_ms - monotonic milliseconds */
#define clock_mono_ms()		(clock_mono_us() / CLOCK_US_PER_MS)

/* clock_tv_ms - a relative time of ms milliseconds as a struct timeval
 * (libevent timers, hiredis timeouts) */
struct timeval clock_tv_ms(uint64_t ms);
/* clock_tv_us - the same from microseconds */
struct timeval clock_tv_us(uint64_t us);

/* clock_mono_us - monotonic microseconds */
uint64_t clock_mono_us(void);
/* clock_wall_s - seconds since the epoch */
int64_t	clock_wall_s(void);
/* clock_wall_ms - milliseconds since the epoch (cache ages shared
 * between hosts through Redis) */
uint64_t clock_wall_ms(void);

#endif
