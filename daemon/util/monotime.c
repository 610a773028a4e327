/* monotime: the monotonic clock (CLOCK_MONOTONIC), the one every duration, deadline and timed wait is taken on */
#include "util/monotime.h"

/* CLOCK_MONOTONIC cannot fail on Linux (it is always there, and ts is valid): no caller has an error to handle. */
static struct timespec now(void)
{
	struct timespec ts = {0};

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

double monotime_s(void)
{
	struct timespec ts = now();

	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t monotime_ms(void)
{
	struct timespec ts = now();

	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t monotime_us(void)
{
	struct timespec ts = now();

	return (uint64_t)ts.tv_sec * UINT64_C(1000000) + (uint64_t)ts.tv_nsec / UINT64_C(1000);
}

struct timespec monotime_after(double seconds)
{
	struct timespec ts = now();
	long ns;

	if (!(seconds > 0))
		return ts;
	/* Whole seconds and nanoseconds added apart: a double of the absolute time would lose precision. */
	if (seconds > 1e9)
		seconds = 1e9;
	ts.tv_sec += (time_t)seconds;
	ns = ts.tv_nsec + (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (ns >= 1000000000L) {
		ts.tv_sec++;
		ns -= 1000000000L;
	}
	ts.tv_nsec = ns;
	return ts;
}
