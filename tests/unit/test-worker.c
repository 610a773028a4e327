/* test-worker: the worker loop: a stop ends a sleep at once, the heartbeat (on an injected clock), wake-ups,
 * jitter, the API caller it sets up */
#include "deadline/worker.h"
#include "test.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "deadline/api_policy.h"
#include "util/monotime.h"

/* Waits on real time: generous bounds, for a loaded machine and valgrind alike. */
#define PROMPT_S 2.0

static void pause_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static _Atomic double fake_now;

static double fake_clock(void)
{
	return atomic_load(&fake_now);
}

/* ---- a stop ends a sleep at once ---- */

struct sleeper {
	double seconds;
	atomic_bool done;
	bool result;
};

static void sleep_run(struct worker *w, void *arg)
{
	struct sleeper *s = arg;

	s->result = worker_sleep(w, s->seconds);
	atomic_store(&s->done, true);
}

static void test_stop(void)
{
	struct worker_group *g = NULL;
	struct worker *w = NULL;
	struct sleeper s = {.seconds = 3600};

	CHECK_INT(worker_group_new(&g, NULL), 0);
	CHECK_INT(worker_new(&w, g, &(struct worker_options){.farm_id = "farm-a"}), 0);
	CHECK(worker_api(w) == NULL); /* no endpoint: no API */
	CHECK_INT(worker_start(w, sleep_run, &s), 0);
	pause_ms(50);
	CHECK(!atomic_load(&s.done));
	double began = monotime_s();
	worker_group_stop(g);
	double took = monotime_s() - began;
	CHECK_MSG(took < PROMPT_S, "the stop took %.3fs", took);
	CHECK(atomic_load(&s.done) && !s.result);
	CHECK(worker_stopping(w));
	/* Once stopped, a sleep returns at once, and a second stop does nothing. */
	began = monotime_s();
	CHECK(!worker_sleep(w, 3600));
	CHECK(monotime_s() - began < PROMPT_S);
	worker_group_stop(g);
	worker_group_free(g);
	worker_group_free(NULL);
}

/* ---- the heartbeat, on a fake clock ---- */

struct busy {
	atomic_bool release;
	atomic_bool beaten;
};

/* Busy with other things (no call, no sleep) until released; then it beats and sleeps until stopped. */
static void busy_run(struct worker *w, void *arg)
{
	struct busy *b = arg;

	while (!atomic_load(&b->release))
		pause_ms(1);
	worker_beat(w);
	atomic_store(&b->beaten, true);
	worker_sleep_until(w, INFINITY);
}

static struct sleeper until_200;

static void sleep_until_run(struct worker *w, void *arg)
{
	struct sleeper *s = arg;

	s->result = worker_sleep_until(w, 200);
	s->seconds = worker_clock(w);
	atomic_store(&s->done, true);
}

/* Polls cond for up to PROMPT_S of real time. */
#define EVENTUALLY(cond) \
	do { \
		for (int i_ = 0; i_ < (int)(PROMPT_S * 1000) && !(cond); i_ += 5) \
			pause_ms(5); \
		CHECK(cond); \
	} while (0)

static void test_heartbeat(void)
{
	const struct worker_group_options o = {.clock = fake_clock, .heartbeat_seconds = 0.005};
	struct worker_group *sleeping = NULL, *working = NULL;
	struct worker *ws = NULL, *wb = NULL;
	struct busy b = {0};
	struct test_capture cap;
	char log[2048];
	bool alive;

	atomic_store(&fake_now, 100);
	CHECK_INT(worker_group_new(&sleeping, &o), 0);
	CHECK_INT(worker_group_new(&working, &o), 0);
	CHECK_INT(worker_new(&ws, sleeping, &(struct worker_options){.farm_id = "farm-s"}), 0);
	CHECK_INT(worker_new(&wb, working, &(struct worker_options){.farm_id = "farm-b"}), 0);
	CHECK(worker_clock(ws) == 100);
	/* New workers count as alive: their heartbeat starts at their creation. */
	CHECK(worker_group_alive(sleeping, 5) && worker_group_alive(working, 5));
	CHECK_INT(worker_start(ws, sleep_until_run, &until_200), 0);
	CHECK_INT(worker_start(wb, busy_run, &b), 0);

	/* Ten seconds on: the sleeping worker shows life by itself, the busy one does not. */
	atomic_store(&fake_now, 110);
	test_capture_begin(&cap); /* "stuck" until the sleeping worker's next beat */
	EVENTUALLY(worker_group_alive(sleeping, 5));
	test_capture_end(&cap, log, sizeof(log));
	test_capture_begin(&cap);
	alive = worker_group_alive(working, 5);
	test_capture_end(&cap, log, sizeof(log));
	CHECK(!alive);
	CHECK(strstr(log, "farm=farm-b op=watchdog status=stuck reason=\"no sign of life for 10s\"") != NULL);
	/* A beat brings it back. */
	atomic_store(&b.release, true);
	EVENTUALLY(atomic_load(&b.beaten));
	CHECK(worker_group_alive(working, 5));

	/* The sleep until 200 ends when the clock gets there, not before. */
	atomic_store(&fake_now, 199.5);
	pause_ms(50);
	CHECK(!atomic_load(&until_200.done));
	atomic_store(&fake_now, 200);
	EVENTUALLY(atomic_load(&until_200.done));
	CHECK(until_200.result && until_200.seconds >= 200);

	worker_group_free(sleeping);
	worker_group_free(working);
}

/* ---- wake-ups ---- */

struct waker {
	atomic_int step;
	double took[3];
	bool result[3];
};

static void wake_run(struct worker *w, void *arg)
{
	struct waker *k = arg;
	double began = monotime_s();

	/* 1: a wait ended by a wake-up. */
	k->result[0] = worker_wait_until(w, began + 3600);
	k->took[0] = monotime_s() - began;
	atomic_store(&k->step, 1);
	/* 2: a sleep, not ended by a wake-up... */
	began = monotime_s();
	k->result[1] = worker_sleep_until(w, began + 0.3);
	k->took[1] = monotime_s() - began;
	atomic_store(&k->step, 2);
	/* 3: ...which is not lost either: the next wait returns at once. */
	began = monotime_s();
	k->result[2] = worker_wait_until(w, began + 3600);
	k->took[2] = monotime_s() - began;
	atomic_store(&k->step, 3);
	worker_sleep_until(w, INFINITY);
}

static void test_wake(void)
{
	struct worker_group *g = NULL;
	struct worker *w = NULL;
	struct waker k = {0};

	CHECK_INT(worker_group_new(&g, NULL), 0);
	CHECK_INT(worker_new(&w, g, &(struct worker_options){0}), 0);
	CHECK_INT(worker_start(w, wake_run, &k), 0);
	pause_ms(50);
	CHECK_INT(atomic_load(&k.step), 0);
	worker_wake(w);
	EVENTUALLY(atomic_load(&k.step) >= 1);
	pause_ms(50);
	worker_wake(w);
	EVENTUALLY(atomic_load(&k.step) == 3);
	CHECK(k.result[0] && k.took[0] < PROMPT_S);
	CHECK_MSG(k.result[1] && k.took[1] >= 0.3, "the sleep took %.3fs", k.took[1]);
	CHECK(k.result[2] && k.took[2] < PROMPT_S);
	worker_group_free(g);
}

/* ---- jitter ---- */

static void test_jitter(void)
{
	struct worker_group *g = NULL;
	struct worker *a = NULL, *b = NULL;
	double sum = 0, lo = 1, hi = 0;
	int same = 0, outside = 0;
	const int n = 100000;

	CHECK_INT(worker_group_new(&g, NULL), 0);
	CHECK_INT(worker_new(&a, g, &(struct worker_options){0}), 0);
	CHECK_INT(worker_new(&b, g, &(struct worker_options){0}), 0);
	for (int i = 0; i < n; i++) {
		double x = worker_jitter(a), y = worker_jitter(b);
		outside += !(x >= 0 && x < 1 && y >= 0 && y < 1);
		sum += x;
		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
		same += x == y;
	}
	CHECK_INT(outside, 0);
	/* Uniform on [0, 1): the mean within 6 standard deviations (0.29/sqrt(n)), the ends reached. */
	CHECK_MSG(fabs(sum / n - 0.5) < 6 * 0.29 / sqrt(n), "mean %.4f", sum / n);
	CHECK(lo < 0.001 && hi > 0.999);
	/* Seeded apart: two workers do not back off in step. */
	CHECK_MSG(same < 10, "%d equal draws", same);
	worker_group_free(g);
}

/* ---- the API caller ---- */

static void test_api(void)
{
	struct worker_group *farms = NULL, *alone = NULL;
	struct worker *w = NULL, *w2 = NULL, *w3 = NULL, *bad = NULL;
	const struct worker_options o = {
		.endpoint = "https://deadline.example.com/prefix//", .region = "eu-west-1", .farm_id = "farm-x"};
	struct api_caller *api, *api2, *api3;
	int takes = 0;

	CHECK_INT(worker_group_new(&farms, &(struct worker_group_options){.shared_quota = true}), 0);
	CHECK_INT(worker_group_new(&alone, NULL), 0);
	CHECK_INT(worker_new(&w, farms, &o), 0);
	CHECK_INT(worker_new(&w2, farms, &o), 0);
	CHECK_INT(worker_new(&w3, alone,
			  &(struct worker_options){
				  .endpoint = "http://127.0.0.1:9", .region = "r", .service = "identitystore"}),
		0);
	api = worker_api(w);
	api2 = worker_api(w2);
	api3 = worker_api(w3);
	CHECK(api && api2 && api3);
	CHECK_STR(api->endpoint, "https://deadline.example.com/prefix");
	CHECK_STR(api->region, "eu-west-1");
	CHECK(api->service == NULL);
	CHECK_STR(api3->service, "identitystore");
	CHECK_STR(api->farm_id, "farm-x");
	CHECK_STR(api3->farm_id, "-");
	CHECK(api->http != NULL && api->rng != 0 && api->stop != NULL && !atomic_load(api->stop));

	/* Endpoints that are not http(s) URLs with a host are refused. */
	CHECK_INT(worker_new(&bad, alone, &(struct worker_options){.endpoint = "ftp://example.com"}), -EINVAL);
	CHECK_INT(worker_new(&bad, alone, &(struct worker_options){.endpoint = "https://"}), -EINVAL);
	CHECK_INT(worker_new(&bad, alone, &(struct worker_options){.endpoint = "example.com"}), -EINVAL);
	CHECK(bad == NULL);

	/* One retry quota for the group: what one worker spent, the other cannot; a group without one never runs out.
	 */
	while (takes < 10000 && api->ops->quota_take(api->ops_ctx, API_QUOTA_COST))
		takes++;
	CHECK_INT(takes, API_QUOTA_INITIAL / API_QUOTA_COST);
	CHECK(!api2->ops->quota_take(api2->ops_ctx, API_QUOTA_COST));
	api2->ops->quota_refund(api2->ops_ctx, API_QUOTA_COST);
	CHECK(api->ops->quota_take(api->ops_ctx, API_QUOTA_COST));
	for (int i = 0; i < 1000; i++)
		CHECK(api3->ops->quota_take(api3->ops_ctx, API_QUOTA_COST));

	/* The caller's waits are the worker's: short ones pass, a stop ends them. */
	CHECK(api_caller_sleep(api, 1));
	double r = api_caller_random(api);
	CHECK(r >= 0 && r < 1);
	worker_group_stop(farms);
	CHECK(atomic_load(api->stop));
	double began = monotime_s();
	CHECK(!api_caller_sleep(api, 3600e3));
	CHECK(monotime_s() - began < PROMPT_S);
	worker_group_free(farms);
	worker_group_free(alone);
}

int main(void)
{
	test_stop();
	test_heartbeat();
	test_wake();
	test_jitter();
	test_api();
	TEST_DONE();
}
