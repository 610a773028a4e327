/* test-hold: counter figures held at their largest within a window, reset in the next, and their text form */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "metrics/hold.h"
#include "metrics/usage.h"
#include "util/buf.h"

#define KEY "window=month timezone=UTC+00:00 group_by=QUEUE_ID,USAGE_TYPE"
#define NOV INT64_C(1793491200) /* 2026-11-01T00:00:00Z */
#define DEC INT64_C(1796083200) /* 2026-12-01T00:00:00Z */

static const enum group_field by_queue_type[2] = {GROUP_QUEUE_ID, GROUP_USAGE_TYPE};

/* One group's row: its queue and usage type, session count, cost and runtime sums (and min/max). */
struct fig {
	const char *queue, *type;
	int64_t count;
	double cost, runtime;
};

static struct usage_table *table_of(const struct fig *figs, size_t n)
{
	struct usage_table *t = NULL;

	CHECK_INT(usage_table_new(&t, by_queue_type, 2), 0);
	for (size_t i = 0; t && i < n; i++) {
		struct usage_row row = {.count = figs[i].count};
		row.fields[GROUP_QUEUE_ID] = (char *)figs[i].queue;
		row.fields[GROUP_USAGE_TYPE] = (char *)figs[i].type;
		row.cost = (struct usage_stats){.sum = figs[i].cost,
			.min = figs[i].cost / 4,
			.max = figs[i].cost / 2,
			.present = STAT_SUM | STAT_MIN | STAT_MAX};
		row.runtime = (struct usage_stats){.sum = figs[i].runtime, .present = STAT_SUM};
		CHECK_INT(usage_table_add(t, &row), 0);
	}
	return t;
}

static const struct usage_group *find(struct usage_table *t, const char *queue, const char *type)
{
	const struct usage_group *const *groups;
	size_t n = usage_table_groups(t, &groups);

	for (size_t i = 0; i < n; i++)
		if (strcmp(groups[i]->values[0], queue) == 0 && strcmp(groups[i]->values[1], type) == 0)
			return groups[i];
	return NULL;
}

/* t holds exactly the figures of want (sums compared bit for bit). */
static void check_figures(struct usage_table *t, const struct fig *want, size_t n, int line)
{
	CHECK_MSG(usage_table_size(t) == n, "line %d: %zu groups, expected %zu", line, usage_table_size(t), n);
	for (size_t i = 0; i < n; i++) {
		const struct usage_group *g = find(t, want[i].queue, want[i].type);
		CHECK_MSG(g != NULL, "line %d: group %s/%s missing", line, want[i].queue, want[i].type);
		if (!g)
			continue;
		CHECK_MSG(g->count == want[i].count, "line %d: %s/%s count %lld, expected %lld", line, want[i].queue,
			want[i].type, (long long)g->count, (long long)want[i].count);
		CHECK_MSG((g->cost.present & STAT_SUM) && g->cost.sum == want[i].cost,
			"line %d: %s/%s cost %.17g, expected %.17g", line, want[i].queue, want[i].type, g->cost.sum,
			want[i].cost);
		CHECK_MSG((g->runtime.present & STAT_SUM) && g->runtime.sum == want[i].runtime,
			"line %d: %s/%s runtime %.17g, expected %.17g", line, want[i].queue, want[i].type,
			g->runtime.sum, want[i].runtime);
	}
}

/* Applies figs for window to h; checks what is published, how many groups were held and how many shown at 0. */
static void apply_new(struct usage_hold *h, const struct fig *figs, size_t n, int64_t window, const struct fig *want,
	size_t n_want, size_t want_held, size_t want_new, int line)
{
	struct usage_table *t = table_of(figs, n), *out = NULL;
	struct usage_hold_stats st = {99, 99};

	CHECK_MSG(usage_hold_apply(h, t, window, &out, &st) == 0, "line %d: apply", line);
	CHECK_MSG(st.held == want_held, "line %d: %zu held, expected %zu", line, st.held, want_held);
	CHECK_MSG(st.new_at_zero == want_new, "line %d: %zu new, expected %zu", line, st.new_at_zero, want_new);
	if (out)
		check_figures(out, want, n_want, line);
	/* t is the caller's: the same figures as before */
	check_figures(t, figs, n, line);
	usage_table_free(t);
}

/* apply_new() when no group is new. */
static void apply_check(struct usage_hold *h, const struct fig *figs, size_t n, int64_t window, const struct fig *want,
	size_t n_want, size_t want_held, int line)
{
	apply_new(h, figs, n, window, want, n_want, want_held, 0, line);
}

static const struct fig first[] = {
	{"queue-a", "COMPUTE", 10, 100.25, 3600},
	{"queue-a", "LICENSE", 2, 4.5, 7200},
	{"queue-b", "COMPUTE", 5, 50, 1800},
};

static void test_first_and_growth(void)
{
	struct usage_hold *h = NULL;
	int64_t w = 0;

	CHECK_INT(usage_hold_new(&h), 0);
	CHECK(!usage_hold_window(h, &w));
	/* nothing held yet: published as it is */
	apply_check(h, first, 3, NOV, first, 3, 0, __LINE__);
	CHECK(usage_hold_window(h, &w));
	CHECK_INT(w, NOV);
	/* everything grows, a new group comes: shown at 0 first, so that Prometheus counts its first figures */
	static const struct fig grown[] = {
		{"queue-a", "COMPUTE", 11, 110, 3700},
		{"queue-a", "LICENSE", 2, 4.5, 7200},
		{"queue-b", "COMPUTE", 6, 51, 1900},
		{"queue-c", "COMPUTE", 1, 1, 60},
	};
	static const struct fig grown_c_at_0[] = {
		{"queue-a", "COMPUTE", 11, 110, 3700},
		{"queue-a", "LICENSE", 2, 4.5, 7200},
		{"queue-b", "COMPUTE", 6, 51, 1900},
		{"queue-c", "COMPUTE", 0, 0, 0},
	};
	apply_new(h, grown, 4, NOV, grown_c_at_0, 4, 0, 1, __LINE__);
	/* its figures with the next refresh */
	apply_check(h, grown, 4, NOV, grown, 4, 0, __LINE__);
	usage_hold_free(h);
	usage_hold_free(NULL);
}

static void test_decreases_held(void)
{
	struct usage_hold *h = NULL;

	CHECK_INT(usage_hold_new(&h), 0);
	apply_check(h, first, 3, NOV, first, 3, 0, __LINE__);
	/* queue-a/COMPUTE's cost went down (a correction), its runtime up: each figure on its own */
	static const struct fig lower_cost[] = {
		{"queue-a", "COMPUTE", 12, 90, 4000},
		{"queue-a", "LICENSE", 2, 4.5, 7200},
		{"queue-b", "COMPUTE", 5, 50, 1800},
	};
	static const struct fig kept_cost[] = {
		{"queue-a", "COMPUTE", 12, 100.25, 4000},
		{"queue-a", "LICENSE", 2, 4.5, 7200},
		{"queue-b", "COMPUTE", 5, 50, 1800},
	};
	apply_check(h, lower_cost, 3, NOV, kept_cost, 3, 1, __LINE__);
	/* the next refresh compares with what was published (the held cost), not with the refresh before */
	static const struct fig still_lower[] = {
		{"queue-a", "COMPUTE", 12, 95, 4000},
		{"queue-a", "LICENSE", 1, 4.5, 7100},
		{"queue-b", "COMPUTE", 5, 50, 1800},
	};
	static const struct fig kept_all[] = {
		{"queue-a", "COMPUTE", 12, 100.25, 4000},
		{"queue-a", "LICENSE", 2, 4.5, 7200},
		{"queue-b", "COMPUTE", 5, 50, 1800},
	};
	apply_check(h, still_lower, 3, NOV, kept_all, 3, 2, __LINE__);
	/* a group gone from the answer (a deleted queue) keeps its figures, MIN/MAX included, and counts */
	static const struct fig without_b[] = {
		{"queue-a", "COMPUTE", 13, 101, 4100},
		{"queue-a", "LICENSE", 2, 4.5, 7200},
	};
	static const struct fig with_b[] = {
		{"queue-a", "COMPUTE", 13, 101, 4100},
		{"queue-a", "LICENSE", 2, 4.5, 7200},
		{"queue-b", "COMPUTE", 5, 50, 1800},
	};
	struct usage_table *t = table_of(without_b, 2), *out = NULL;
	struct usage_hold_stats st = {0};
	CHECK_INT(usage_hold_apply(h, t, NOV, &out, &st), 0);
	CHECK_INT(st.held, 1);
	check_figures(out, with_b, 3, __LINE__);
	const struct usage_group *b = find(out, "queue-b", "COMPUTE");
	CHECK(b && (b->cost.present & STAT_MAX) && b->cost.max == 25 && b->cost.min == 12.5);
	usage_table_free(t);
	/* and again at the next refresh: counted per group per refresh */
	apply_check(h, without_b, 2, NOV, with_b, 3, 1, __LINE__);
	/* the next window starts from the answer: lower figures, the missing group gone */
	static const struct fig december[] = {{"queue-a", "COMPUTE", 1, 2, 60}};
	apply_check(h, december, 1, DEC, december, 1, 0, __LINE__);
	usage_hold_free(h);
}

static void test_noise_and_absent_sums(void)
{
	struct usage_hold *h = NULL;
	struct usage_table *t = NULL, *out = NULL;
	struct usage_hold_stats st = {0};
	double sum = 0.1 + 0.2 + 0.3; /* 0.6000000000000001 */

	CHECK_INT(usage_hold_new(&h), 0);
	const struct fig one[] = {{"queue-a", "COMPUTE", 3, sum, 10}};
	apply_check(h, one, 1, NOV, one, 1, 0, __LINE__);
	/* the same sessions added in another order: one unit in the last place lower, kept but not counted */
	const struct fig rounded[] = {{"queue-a", "COMPUTE", 3, 0.3 + 0.2 + 0.1, 10}};
	CHECK(rounded[0].cost < sum);
	apply_check(h, rounded, 1, NOV, one, 1, 0, __LINE__);
	/* a row without its sum: the held sum stays, and counts */
	CHECK_INT(usage_table_new(&t, by_queue_type, 2), 0);
	struct usage_row row = {.count = 3};
	row.fields[GROUP_QUEUE_ID] = (char *)"queue-a";
	row.fields[GROUP_USAGE_TYPE] = (char *)"COMPUTE";
	row.cost = (struct usage_stats){.avg = 1, .present = STAT_AVG};
	row.runtime = (struct usage_stats){.sum = 10, .present = STAT_SUM};
	CHECK_INT(usage_table_add(t, &row), 0);
	CHECK_INT(usage_hold_apply(h, t, NOV, &out, &st), 0);
	CHECK_INT(st.held, 1);
	check_figures(out, one, 1, __LINE__);
	usage_table_free(t);
	usage_hold_free(h);
}

static void test_job_name_kept(void)
{
	static const enum group_field by_job[1] = {GROUP_JOB_ID};
	struct usage_hold *h = NULL;
	struct usage_table *t = NULL, *out = NULL;
	const struct usage_group *const *groups;

	CHECK_INT(usage_hold_new(&h), 0);
	for (int pass = 0; pass < 2; pass++) {
		struct usage_row row = {.count = 1 + pass};
		row.fields[GROUP_JOB_ID] = (char *)"job-1";
		row.job_name = pass == 0 ? (char *)"harbor_sh0393_lgt_v012" : NULL;
		row.cost = (struct usage_stats){.sum = 1 + pass, .present = STAT_SUM};
		row.runtime = row.cost;
		CHECK_INT(usage_table_new(&t, by_job, 1), 0);
		CHECK_INT(usage_table_add(t, &row), 0);
		CHECK_INT(usage_hold_apply(h, t, NOV, &out, NULL), 0);
		CHECK_INT(usage_table_groups(out, &groups), 1);
		/* a refresh that lost the job's name keeps the name published */
		CHECK_STR(groups[0]->job_name, "harbor_sh0393_lgt_v012");
		usage_table_free(t);
	}
	/* a table of another key width than the figures held is refused, and the hold unchanged */
	CHECK_INT(usage_table_new(&t, by_queue_type, 2), 0);
	CHECK_INT(usage_hold_apply(h, t, NOV, &out, NULL), -EINVAL);
	CHECK_INT(usage_hold_apply(NULL, t, NOV, &out, NULL), -EINVAL);
	usage_table_free(t);
	usage_hold_free(h);
}

/* Writes h with KEY into a new string. */
static char *written(const struct usage_hold *h)
{
	struct buf b = {0};

	CHECK_INT(usage_hold_write(h, KEY, &b), 0);
	return buf_take(&b, NULL);
}

static void test_text_round_trip(void)
{
	/* values a field separator or line end would break, and sums that only an exact form reads back */
	static const char hostile[] = "a\tb\nc\\d\re\x01\x7f \xc3\xa9 \"q\" #";
	const struct fig figs[] = {
		{"queue-a", "COMPUTE", 3, 0.1 + 0.2, 1e-300},
		{hostile, "", 7, 1234567.8901234567, 86400.125},
		{"queue-b", "LICENSE", INT64_MAX, 5e300, 0},
	};
	struct usage_hold *h = NULL, *r = NULL;
	char err[128];
	char *text, *again;

	CHECK_INT(usage_hold_new(&h), 0);
	apply_check(h, figs, 3, NOV, figs, 3, 0, __LINE__);
	text = written(h);
	CHECK(text && strstr(text, "a\\tb\\nc\\\\d\\re\\x01\\x7f \xc3\xa9 \"q\" #"));
	CHECK_INT(usage_hold_new(&r), 0);
	CHECK_INT(usage_hold_read(r, KEY, text, strlen(text), err, sizeof(err)), 0);
	int64_t w = 0;
	CHECK(usage_hold_window(r, &w));
	CHECK_INT(w, NOV);
	/* restored, not applied yet: written back the same */
	again = written(r);
	CHECK_STR(again, text);
	free(again);
	/* after a restart: lower figures in the same window keep the restored ones; a missing group is kept */
	const struct fig lower[] = {
		{"queue-a", "COMPUTE", 2, 0.1, 1e-301},
		{"queue-c", "COMPUTE", 1, 1, 1},
	};
	const struct fig want[] = {
		{"queue-a", "COMPUTE", 3, 0.1 + 0.2, 1e-300},
		{hostile, "", 7, 1234567.8901234567, 86400.125},
		{"queue-b", "LICENSE", INT64_MAX, 5e300, 0},
		{"queue-c", "COMPUTE", 0, 0, 0},
	};
	apply_new(r, lower, 2, NOV, want, 4, 3, 1, __LINE__);
	usage_hold_free(r);
	/* restored, then the next window: the restored figures are dropped */
	CHECK_INT(usage_hold_new(&r), 0);
	CHECK_INT(usage_hold_read(r, KEY, text, strlen(text), err, sizeof(err)), 0);
	apply_check(r, lower, 2, DEC, lower, 2, 0, __LINE__);
	usage_hold_free(r);
	/* another definition of the report: nothing restored */
	CHECK_INT(usage_hold_new(&r), 0);
	CHECK_INT(usage_hold_read(r, "window=week", text, strlen(text), err, sizeof(err)), USAGE_HOLD_OTHER_KEY);
	CHECK(!usage_hold_window(r, NULL));
	/* a hold that already holds figures takes no text */
	CHECK_INT(usage_hold_read(h, KEY, text, strlen(text), err, sizeof(err)), -EINVAL);
	usage_hold_free(r);
	free(text);
	usage_hold_free(h);

	/* an empty hold: no window, no groups, and read back empty */
	CHECK_INT(usage_hold_new(&h), 0);
	text = written(h);
	CHECK_STR(text, "deadline-cloud-exporter counter state 1\nkey\t" KEY "\nwindow\t-\nwidth\t0\nend\t0\n");
	CHECK_INT(usage_hold_new(&r), 0);
	CHECK_INT(usage_hold_read(r, KEY, text, strlen(text), err, sizeof(err)), 0);
	CHECK(!usage_hold_window(r, NULL));
	usage_hold_free(r);
	free(text);
	/* a key of any text */
	struct buf b = {0};
	CHECK_INT(usage_hold_write(h, "a\nb\tc\\", &b), 0);
	CHECK_INT(usage_hold_new(&r), 0);
	CHECK_INT(usage_hold_read(r, "a\nb\tc\\", b.data, b.len, err, sizeof(err)), 0);
	CHECK_INT(usage_hold_read(r, "a\nb\tc\\", b.data, b.len, err, sizeof(err)), 0);
	usage_hold_free(r);
	CHECK_INT(usage_hold_new(&r), 0);
	CHECK_INT(usage_hold_read(r, "a\nb\tc", b.data, b.len, err, sizeof(err)), USAGE_HOLD_OTHER_KEY);
	usage_hold_free(r);
	buf_deinit(&b);
	CHECK_INT(usage_hold_write(h, NULL, &b), -EINVAL);
	usage_hold_free(h);
}

#define HEAD "deadline-cloud-exporter counter state 1\nkey\t" KEY "\n"
#define BODY "window\t1793491200\nwidth\t2\n"
#define G1 "group\tqueue-a\tCOMPUTE\t\t3\t1.5\t60\n"
#define G2 "group\tqueue-b\tCOMPUTE\t\t1\t-\t60\n"

/* Texts that are not a state written by usage_hold_write(): nothing restored, the line said. */
static const struct {
	const char *text;
	const char *err;
} bad_texts[] = {
	{"", "line 1: cut short"},
	{"deadline-cloud-exporter counter state 2\n", "line 1: not a counter state of this version"},
	{HEAD, "line 3: cut short"},
	{HEAD BODY G1, "line 6: cut short"},
	{HEAD BODY G1 "end\t1", "line 6: cut short (no newline)"},
	{HEAD BODY G1 "end\t2\n", "line 6: the end does not count the groups"},
	{HEAD BODY G1 "end\t1\nmore\n", "line 6: text after the end"},
	{HEAD "width\t2\n", "line 3: expected the window"},
	{HEAD "window\tyesterday\nwidth\t2\nend\t0\n", "line 3: not a number"},
	{HEAD "window\t1793491200\nwidth\t17\nend\t0\n", "line 4: not a number in range"},
	{HEAD "window\t1793491200\nwidth\t0\nend\t0\n", "line 4: not a number in range"},
	{HEAD "window\t-\nwidth\t2\n" G1 "end\t1\n", "line 5: expected a group or the end"},
	{HEAD BODY "group\tqueue-a\tCOMPUTE\t3\t1.5\t60\nend\t1\n",
		"line 5: a group with another number of fields than width"},
	{HEAD BODY "group\tqueue-a\tCOMPUTE\t\t-3\t1.5\t60\nend\t1\n", "line 5: not a number in range"},
	{HEAD BODY "group\tqueue-a\tCOMPUTE\t\tthree\t1.5\t60\nend\t1\n", "line 5: not a number"},
	{HEAD BODY "group\tqueue-a\tCOMPUTE\t\t3\tNaN\t60\nend\t1\n", "line 5: not a sum"},
	{HEAD BODY "group\tqueue-a\tCOMPUTE\t\t3\t1.5 \t60\nend\t1\n", "line 5: not a sum"},
	{HEAD BODY "group\tqueue\\q\tCOMPUTE\t\t3\t1.5\t60\nend\t1\n", "line 5: a bad escape"},
	{HEAD BODY "group\tqueue\\x00\tCOMPUTE\t\t3\t1.5\t60\nend\t1\n", "line 5: a bad escape"},
	{HEAD BODY "group\tqueue\\x4\tCOMPUTE\t\t3\t1.5\t60\nend\t1\n", "line 5: a bad escape"},
	{HEAD BODY "group\tqueue\\\tCOMPUTE\t\t3\t1.5\t60\nend\t1\n", "line 5: a bad escape"},
	{HEAD BODY "line\n", "line 5: expected a group or the end"},
};

static void test_bad_texts(void)
{
	for (size_t i = 0; i < sizeof(bad_texts) / sizeof(bad_texts[0]); i++) {
		struct usage_hold *h = NULL;
		char err[128] = "";

		CHECK_INT(usage_hold_new(&h), 0);
		CHECK_MSG(usage_hold_read(h, KEY, bad_texts[i].text, strlen(bad_texts[i].text), err, sizeof(err)) ==
				  -EINVAL,
			"case %zu", i);
		CHECK_MSG(strcmp(err, bad_texts[i].err) == 0, "case %zu: \"%s\", expected \"%s\"", i, err,
			bad_texts[i].err);
		CHECK_MSG(!usage_hold_window(h, NULL), "case %zu: nothing restored", i);
		usage_hold_free(h);
	}
	/* a NUL inside a line */
	static const char nul[] = HEAD BODY "group\tqueue-a\0\tCOMPUTE\t\t3\t1.5\t60\nend\t1\n";
	struct usage_hold *h = NULL;
	char err[128] = "";
	CHECK_INT(usage_hold_new(&h), 0);
	CHECK_INT(usage_hold_read(h, KEY, nul, sizeof(nul) - 1, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "line 5: a NUL byte");
	usage_hold_free(h);
}

/* A good text whose groups cannot be taken as they are: the counters start from the refresh, as without a state. */
static void test_restored_unusable(void)
{
	static const char twice[] = HEAD BODY G1 G1 "end\t2\n";
	static const char narrow[] = HEAD "window\t1793491200\nwidth\t1\ngroup\tqueue-a\t\t3\t1.5\t60\nend\t1\n";
	static const char absent_sum[] = HEAD BODY G1 G2 "end\t2\n";
	const struct fig low[] = {{"queue-a", "COMPUTE", 1, 1, 1}};
	const struct fig kept[] = {{"queue-a", "COMPUTE", 3, 1.5, 60}};
	struct usage_hold *h = NULL;
	struct usage_table *t, *out = NULL;
	char err[128];

	/* the same group twice would add up to more than was ever published */
	CHECK_INT(usage_hold_new(&h), 0);
	CHECK_INT(usage_hold_read(h, KEY, twice, strlen(twice), err, sizeof(err)), 0);
	apply_check(h, low, 1, NOV, low, 1, 0, __LINE__);
	usage_hold_free(h);
	/* groups of another key width */
	CHECK_INT(usage_hold_new(&h), 0);
	CHECK_INT(usage_hold_read(h, KEY, narrow, strlen(narrow), err, sizeof(err)), 0);
	apply_check(h, low, 1, NOV, low, 1, 0, __LINE__);
	usage_hold_free(h);
	/* a restored group without a cost sum keeps its count and runtime; the refresh's cost stands */
	CHECK_INT(usage_hold_new(&h), 0);
	CHECK_INT(usage_hold_read(h, KEY, absent_sum, strlen(absent_sum), err, sizeof(err)), 0);
	t = table_of(low, 1);
	struct usage_hold_stats st = {0};
	CHECK_INT(usage_hold_apply(h, t, NOV, &out, &st), 0);
	CHECK_INT(st.held, 2);
	CHECK_INT(usage_table_size(out), 2);
	const struct usage_group *a = find(out, "queue-a", "COMPUTE");
	CHECK(a && a->count == kept[0].count && a->cost.sum == kept[0].cost && a->runtime.sum == kept[0].runtime);
	const struct usage_group *b = find(out, "queue-b", "COMPUTE");
	CHECK(b && b->count == 1 && !(b->cost.present & STAT_SUM) && b->runtime.sum == 60);
	usage_table_free(t);
	usage_hold_free(h);
}

/* At a window's start: every counter with something to drop from, and the new window's groups, at 0. */
static void test_reset(void)
{
	struct usage_hold *h = NULL;
	struct usage_table *t, *out = NULL;
	int64_t w = 0;

	CHECK_INT(usage_hold_new(&h), 0);
	apply_check(h, first, 3, NOV, first, 3, 0, __LINE__);
	/* queue-d comes in November at 0 (a group kept at 0 holds nothing to drop from) */
	static const struct fig with_d[] = {
		{"queue-a", "COMPUTE", 10, 100.25, 3600},
		{"queue-a", "LICENSE", 2, 4.5, 7200},
		{"queue-b", "COMPUTE", 5, 50, 1800},
		{"queue-d", "COMPUTE", 3, 3, 3},
	};
	static const struct fig d_at_0[] = {
		{"queue-a", "COMPUTE", 10, 100.25, 3600},
		{"queue-a", "LICENSE", 2, 4.5, 7200},
		{"queue-b", "COMPUTE", 5, 50, 1800},
		{"queue-d", "COMPUTE", 0, 0, 0},
	};
	apply_new(h, with_d, 4, NOV, d_at_0, 4, 0, 1, __LINE__);
	/* December: its first figures have queue-a/COMPUTE larger than November's and a new queue-e */
	static const struct fig december[] = {
		{"queue-a", "COMPUTE", 20, 200, 7200},
		{"queue-e", "LICENSE", 1, 1, 1},
	};
	static const struct fig zeros[] = {
		{"queue-a", "COMPUTE", 0, 0, 0},
		{"queue-a", "LICENSE", 0, 0, 0},
		{"queue-b", "COMPUTE", 0, 0, 0},
		{"queue-e", "LICENSE", 0, 0, 0},
	};
	t = table_of(december, 2);
	CHECK_INT(usage_hold_reset(h, t, DEC, &out), 0);
	check_figures(out, zeros, 4, __LINE__);
	CHECK(usage_hold_window(h, &w) && w == DEC);
	usage_table_free(t);
	/* then the figures: every group held (at 0), none new; the ones without December figures stay at 0, not held */
	static const struct fig december_shown[] = {
		{"queue-a", "COMPUTE", 20, 200, 7200},
		{"queue-a", "LICENSE", 0, 0, 0},
		{"queue-b", "COMPUTE", 0, 0, 0},
		{"queue-e", "LICENSE", 1, 1, 1},
	};
	apply_check(h, december, 2, DEC, december_shown, 4, 0, __LINE__);
	/* January: the groups still at 0 have nothing to drop from and go */
	static const struct fig january[] = {{"queue-e", "LICENSE", 2, 2, 2}};
	static const struct fig january_zeros[] = {
		{"queue-a", "COMPUTE", 0, 0, 0},
		{"queue-e", "LICENSE", 0, 0, 0},
	};
	t = table_of(january, 1);
	CHECK_INT(usage_hold_reset(h, t, DEC + 31 * 86400, &out), 0);
	check_figures(out, january_zeros, 2, __LINE__);
	usage_table_free(t);
	CHECK_INT(usage_hold_reset(NULL, t, DEC, &out), -EINVAL);
	usage_hold_free(h);

	/* restored with a window and no group: the same window's groups are all new */
	static const char empty[] =
		"deadline-cloud-exporter counter state 1\nkey\t" KEY "\nwindow\t1793491200\nwidth\t2\nend\t0\n";
	char err[128];
	CHECK_INT(usage_hold_new(&h), 0);
	CHECK_INT(usage_hold_read(h, KEY, empty, strlen(empty), err, sizeof(err)), 0);
	static const struct fig one[] = {{"queue-a", "COMPUTE", 1, 1, 1}};
	static const struct fig one_at_0[] = {{"queue-a", "COMPUTE", 0, 0, 0}};
	apply_new(h, one, 1, NOV, one_at_0, 1, 0, 1, __LINE__);
	usage_hold_free(h);
}

int main(void)
{
	test_first_and_growth();
	test_decreases_held();
	test_noise_and_absent_sums();
	test_job_name_kept();
	test_text_round_trip();
	test_bad_texts();
	test_restored_unusable();
	test_reset();
	TEST_DONE();
}
