/* test-monotime: the monotonic clock in its units, and monotime_after() as a deadline of a timed wait */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "test.h"
#include "util/monotime.h"

static double ts_seconds(struct timespec ts)
{
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double clock_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts_seconds(ts);
}

static void test_units(void)
{
	double before = clock_seconds();
	double s = monotime_s();
	int64_t ms = monotime_ms();
	uint64_t us = monotime_us();
	double after = clock_seconds();

	CHECK(s >= before && s <= after);
	CHECK((double)ms / 1e3 >= before - 1e-3 && (double)ms / 1e3 <= after);
	CHECK((double)us / 1e6 >= before - 1e-6 && (double)us / 1e6 <= after);
	/* Never backwards. */
	for (int i = 0; i < 1000; i++) {
		double t = monotime_s();
		CHECK(t >= s);
		s = t;
	}
}

static void test_after(void)
{
	static const double waits[] = {0.25, 1.999999999, 0.0000000005, 3600, 86400.5};

	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		double before = clock_seconds();
		struct timespec ts = monotime_after(waits[i]);
		double after = clock_seconds();

		CHECK_MSG(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L, "after(%g): tv_nsec %ld", waits[i], ts.tv_nsec);
		CHECK_MSG(ts_seconds(ts) >= before + waits[i] - 1e-6 && ts_seconds(ts) <= after + waits[i] + 1e-6,
			"after(%g)", waits[i]);
	}
	/* Nothing to wait, or no number: now. */
	CHECK(ts_seconds(monotime_after(0)) <= clock_seconds());
	CHECK(ts_seconds(monotime_after(-5)) >= clock_seconds() - 1);
	CHECK(ts_seconds(monotime_after(NAN)) <= clock_seconds());
	/* A wait past time_t's range is cut to 31 years instead of wrapping into the past. */
	CHECK(ts_seconds(monotime_after(1e300)) > clock_seconds() + 9e8);
	CHECK(ts_seconds(monotime_after(INFINITY)) > clock_seconds() + 9e8);
}

/* The use it is made for: a condition variable on CLOCK_MONOTONIC times out at the deadline, not before. */
static void test_timed_wait(void)
{
	pthread_condattr_t ca;
	pthread_cond_t cond;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	double began;
	int r;

	CHECK_INT(pthread_condattr_init(&ca), 0);
	CHECK_INT(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC), 0);
	CHECK_INT(pthread_cond_init(&cond, &ca), 0);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&lock);
	began = monotime_s();
	struct timespec deadline = monotime_after(0.05);
	do
		r = pthread_cond_timedwait(&cond, &lock, &deadline);
	while (r == 0);
	pthread_mutex_unlock(&lock);
	CHECK_INT(r, ETIMEDOUT);
	CHECK(monotime_s() - began >= 0.049);
	/* Generous: the machine may be loaded; a deadline taken on another clock would be off by days or 0. */
	CHECK(monotime_s() - began < 10);
	pthread_cond_destroy(&cond);
}

int main(void)
{
	test_units();
	test_after();
	test_timed_wait();
	TEST_DONE();
}
