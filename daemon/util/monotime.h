/* monotime: the monotonic clock (CLOCK_MONOTONIC), the one every duration, deadline and timed wait is taken on */
#pragma once

#include <stdint.h>
#include <time.h>

/* Seconds on the monotonic clock (since boot, suspend excluded). */
double monotime_s(void);

/* Milliseconds on the monotonic clock. */
int64_t monotime_ms(void);

/* Microseconds on the monotonic clock (systemd's MONOTONIC_USEC). */
uint64_t monotime_us(void);

/*
 * The absolute CLOCK_MONOTONIC time seconds from now (negative: now), for pthread_cond_timedwait() on a condition
 * variable whose attribute set CLOCK_MONOTONIC (pthread_condattr_setclock).
 */
struct timespec monotime_after(double seconds);
