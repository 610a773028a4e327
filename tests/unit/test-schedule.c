/* test-schedule: which report is refreshed when, driven by a fake clock */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "deadline/schedule.h"

static void test_next(void)
{
	struct report_config rc[3] = {{.name = (char *)"a", .interval_seconds = 60},
		{.name = (char *)"b", .interval_seconds = 300}, {.name = (char *)"c", .interval_seconds = 60}};
	struct schedule_slot slots[3] = {{&rc[0], 100, 0, 0}, {&rc[1], 90, 0, 0}, {&rc[2], 90, 0, 0}};
	double wait;

	CHECK(schedule_next(slots, 0, 0, &wait) == NULL);
	CHECK(wait < 0);
	CHECK(schedule_next(slots, 3, 50, &wait) == NULL);
	CHECK(wait == 40);
	/* the earliest due, the first of equals */
	CHECK(schedule_next(slots, 3, 90, &wait) == &slots[1]);
	CHECK(wait == 0);
	CHECK(schedule_next(slots, 3, 1000, &wait) == &slots[1]);
}

static void test_success_keeps_cadence(void)
{
	struct report_config rc = {.name = (char *)"a", .interval_seconds = 60};
	struct schedule_slot s = {&rc, 0, 3, 0};

	/* a 5 s refresh that began at 100: due at 160, not 165 */
	CHECK(schedule_record(&s, true, false, 100, 105, 0.5) == 55);
	CHECK(s.next_due == 160);
	CHECK_INT(s.failures, 0);
	/* a refresh longer than its interval: the next one at once, not a burst of the missed ones */
	CHECK(schedule_record(&s, true, false, 160, 250, 0.5) == 0);
	CHECK(s.next_due == 250);
}

static void test_failure_backs_off(void)
{
	struct report_config rc = {.name = (char *)"a", .interval_seconds = 300};
	struct schedule_slot s = {&rc, 0, 0, 0};
	const double expected[] = {10, 20, 40, 80, 160, 300, 300, 300};

	/* random 0.5 gives a factor of exactly 1 */
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		double d = schedule_record(&s, false, false, 1000, 1000, 0.5);
		CHECK_MSG(d == expected[i], "failure %zu: delay %g, expected %g", i + 1, d, expected[i]);
		CHECK(s.next_due == 1000 + d);
		CHECK_INT(s.failures, i + 1);
	}
	/* jitter: × [0.75, 1.25) */
	s.failures = 0;
	CHECK(schedule_record(&s, false, false, 0, 0, 0.0) == 7.5);
	s.failures = 0;
	CHECK(fabs(schedule_record(&s, false, false, 0, 0, 0.999999) - 12.5) < 1e-4);
	/* persistent failures (access denied, ...) wait a whole interval */
	s.failures = 0;
	CHECK(schedule_record(&s, false, true, 0, 0, 0.5) == 300);
	/* many failures never overflow the exponent */
	s.failures = 1000;
	CHECK(schedule_record(&s, false, false, 0, 0, 0.5) == 300);
}

/* A farm of two reports run by a fake clock: refreshes take a scripted time and fail as scripted. */
static void test_fake_clock_run(void)
{
	struct report_config rc[2] = {
		{.name = (char *)"fast", .interval_seconds = 60}, {.name = (char *)"slow", .interval_seconds = 600}};
	struct schedule_slot slots[2] = {{&rc[0], 0, 0, 0}, {&rc[1], 0, 0, 0}};
	double now = 0;
	struct {
		const char *report;
		double began;
	} runs[16];
	size_t n_runs = 0;

	while (n_runs < sizeof(runs) / sizeof(runs[0])) {
		double wait;
		struct schedule_slot *s = schedule_next(slots, 2, now, &wait);
		if (!s) {
			CHECK(wait > 0);
			now += wait;
			continue;
		}
		runs[n_runs].report = s->rc->name;
		runs[n_runs].began = now;
		n_runs++;
		double began = now;
		/* "slow" takes 90 s and fails the first time; "fast" takes 5 s */
		bool slow = !strcmp(s->rc->name, "slow");
		now += slow ? 90 : 5;
		bool ok = !(slow && n_runs == 2);
		schedule_record(s, ok, false, began, now, 0.5);
	}
	/* fast at 0, slow at 0 (done at 95, failed: again at 105), fast due at 60 runs at 95 (late, once) */
	CHECK_STR(runs[0].report, "fast");
	CHECK(runs[0].began == 0);
	CHECK_STR(runs[1].report, "slow");
	CHECK(runs[1].began == 5);
	CHECK_STR(runs[2].report, "fast");
	CHECK(runs[2].began == 95);
	CHECK_STR(runs[3].report, "slow");
	CHECK(runs[3].began == 105);
	/* slow succeeded at 195: due at 705; fast ran 95 -> due 155, ran at 195 (late) -> due 255, then every 60 */
	CHECK_STR(runs[4].report, "fast");
	CHECK(runs[4].began == 195);
	CHECK_STR(runs[5].report, "fast");
	CHECK(runs[5].began == 255);
	CHECK_STR(runs[6].report, "fast");
	CHECK(runs[6].began == 315);
	size_t slow_runs = 0;
	for (size_t i = 0; i < n_runs; i++) {
		if (!strcmp(runs[i].report, "slow"))
			slow_runs++;
		if (i > 0)
			CHECK_MSG(runs[i].began >= runs[i - 1].began, "run %zu went back in time", i);
	}
	CHECK_INT(slow_runs, 3);
}

int main(void)
{
	test_next();
	test_success_keeps_cadence();
	test_failure_backs_off();
	test_fake_clock_run();
	TEST_DONE();
}
