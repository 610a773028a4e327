/* test-usage: merge arithmetic, group keys, interning, ordering and scale of the usage table */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "metrics/usage.h"

#define CHECK_DBL(a, b) \
	do { \
		double check_x_ = (a), check_y_ = (b); \
		CHECK_MSG(check_x_ == check_y_ || fabs(check_x_ - check_y_) <= 1e-12 * fabs(check_y_), \
			"got %.17g, expected %.17g", check_x_, check_y_); \
	} while (0)

/* A row on the stack whose strings are borrowed (the table copies them). */
static struct usage_row row_make(const char *queue, const char *usage_type, int64_t count)
{
	struct usage_row row;

	memset(&row, 0, sizeof(row));
	row.fields[GROUP_QUEUE_ID] = (char *)queue;
	row.fields[GROUP_USAGE_TYPE] = (char *)usage_type;
	row.count = count;
	return row;
}

static void stats_set(struct usage_stats *st, unsigned present, double sum, double min, double max, double avg)
{
	st->present = present;
	st->sum = sum;
	st->min = min;
	st->max = max;
	st->avg = avg;
}

static const struct usage_group *find_group(struct usage_table *t, const char *v0, const char *v1)
{
	const struct usage_group *const *groups;
	size_t n = usage_table_groups(t, &groups);

	for (size_t i = 0; i < n; i++)
		if (strcmp(groups[i]->values[0], v0) == 0 && strcmp(groups[i]->values[1], v1) == 0)
			return groups[i];
	return NULL;
}

static void test_new_args(void)
{
	struct usage_table *t = NULL;
	enum group_field three[3] = {GROUP_QUEUE_ID, GROUP_USAGE_TYPE, GROUP_FLEET_ID};
	enum group_field bad[1] = {GROUP_FIELD_COUNT};

	CHECK_INT(usage_table_new(&t, three, 0), -EINVAL);
	CHECK_INT(usage_table_new(&t, three, 3), -EINVAL);
	CHECK_INT(usage_table_new(&t, bad, 1), -EINVAL);
	CHECK_INT(usage_table_new(&t, NULL, 1), -EINVAL);
	CHECK(t == NULL);
	usage_table_free(NULL);
	CHECK_INT(usage_table_size(NULL), 0);
	CHECK(isnan(usage_group_avg(NULL, NULL)));
}

/* Three batches, two period buckets each: count and sum add, min/max extremes, avg = Σsum/Σcount. */
static void test_merge_with_sum(void)
{
	enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_USAGE_TYPE};
	struct usage_table *t;
	static const struct {
		int64_t count;
		double sum, min, max, avg;
	} rows[] = {
		{2, 3.0, 1.0, 2.0, 1.5},
		{3, 9.0, 0.5, 6.0, 3.0},
		{1, 0.25, 0.25, 0.25, 0.25},
		{4, 4.0, 0.75, 1.25, 1.0},
		{0, 0.0, 0.0, 0.0, 0.0},
		{5, 10.0, 1.0, 7.5, 2.0},
	};
	double sum = 0;
	int64_t count = 0;

	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct usage_row row = row_make("queue-a", "COMPUTE", rows[i].count);
		stats_set(&row.cost, STAT_ALL, rows[i].sum, rows[i].min, rows[i].max, rows[i].avg);
		stats_set(&row.runtime, STAT_SUM | STAT_AVG, rows[i].sum * 100, 0, 0, rows[i].avg * 100);
		CHECK_INT(usage_table_add(t, &row), 0);
		sum += rows[i].sum;
		count += rows[i].count;
	}
	CHECK_INT(usage_table_size(t), 1);
	const struct usage_group *g = find_group(t, "queue-a", "COMPUTE");
	CHECK(g != NULL);
	if (g) {
		CHECK_INT(g->count, count);
		CHECK_INT(g->cost.present, STAT_ALL);
		CHECK_INT(g->cost.n_rows, 6);
		CHECK_DBL(g->cost.sum, sum);
		CHECK_DBL(g->cost.min, 0.0);
		CHECK_DBL(g->cost.max, 7.5);
		CHECK_DBL(usage_group_avg(g, &g->cost), sum / (double)count);
		CHECK_INT(g->runtime.present, STAT_SUM | STAT_AVG);
		CHECK_DBL(g->runtime.sum, sum * 100);
		CHECK_DBL(usage_group_avg(g, &g->runtime), sum * 100 / (double)count);
		CHECK_STR(g->job_name, "");
	}
	usage_table_free(t);
}

/* Without SUM, avg = Σ(avg·count)/Σcount, and only AVG stays present. */
static void test_merge_without_sum(void)
{
	enum group_field gb[1] = {GROUP_QUEUE_ID};
	struct usage_table *t;
	struct usage_row row;

	CHECK_INT(usage_table_new(&t, gb, 1), 0);
	row = row_make("queue-b", NULL, 2);
	stats_set(&row.cost, STAT_AVG, 0, 0, 0, 1.0);
	CHECK_INT(usage_table_add(t, &row), 0);
	row = row_make("queue-b", NULL, 6);
	stats_set(&row.cost, STAT_AVG, 0, 0, 0, 3.0);
	CHECK_INT(usage_table_add(t, &row), 0);
	const struct usage_group *g = find_group(t, "queue-b", "");
	CHECK(g != NULL);
	if (g) {
		CHECK_INT(g->count, 8);
		CHECK_INT(g->cost.present, STAT_AVG);
		CHECK_DBL(usage_group_avg(g, &g->cost), (1.0 * 2 + 3.0 * 6) / 8);
		CHECK_INT(g->runtime.present, 0);
		CHECK(isnan(usage_group_avg(g, &g->runtime)));
		CHECK_STR(g->values[1], "");
	}
	usage_table_free(t);
}

/* One row without a sum: SUM leaves the present set and the average falls back to the weighted form. */
static void test_merge_partial_sum(void)
{
	enum group_field gb[1] = {GROUP_QUEUE_ID};
	struct usage_table *t;
	struct usage_row row;

	CHECK_INT(usage_table_new(&t, gb, 1), 0);
	row = row_make("queue-c", NULL, 1);
	stats_set(&row.cost, STAT_SUM | STAT_AVG | STAT_MIN, 5.0, 5.0, 0, 5.0);
	CHECK_INT(usage_table_add(t, &row), 0);
	row = row_make("queue-c", NULL, 3);
	stats_set(&row.cost, STAT_AVG | STAT_MIN, 0, 1.0, 0, 1.0);
	CHECK_INT(usage_table_add(t, &row), 0);
	const struct usage_group *g = find_group(t, "queue-c", "");
	CHECK(g != NULL);
	if (g) {
		CHECK_INT(g->cost.present, STAT_AVG | STAT_MIN);
		CHECK_DBL(g->cost.min, 1.0);
		CHECK_DBL(usage_group_avg(g, &g->cost), (5.0 * 1 + 1.0 * 3) / 4);
	}
	usage_table_free(t);
}

/* Groups with no sessions at all: the average is the plain mean of the rows' averages. */
static void test_merge_zero_count(void)
{
	enum group_field gb[1] = {GROUP_USAGE_TYPE};
	struct usage_table *t;
	struct usage_row row;

	CHECK_INT(usage_table_new(&t, gb, 1), 0);
	row = row_make(NULL, "LICENSE", 0);
	stats_set(&row.cost, STAT_SUM | STAT_AVG, 0, 0, 0, 2.0);
	CHECK_INT(usage_table_add(t, &row), 0);
	row = row_make(NULL, "LICENSE", 0);
	stats_set(&row.cost, STAT_SUM | STAT_AVG, 0, 0, 0, 4.0);
	CHECK_INT(usage_table_add(t, &row), 0);
	row = row_make(NULL, "PERSISTENT_VOLUME", 0);
	stats_set(&row.cost, STAT_SUM, 0, 0, 0, 0);
	CHECK_INT(usage_table_add(t, &row), 0);
	const struct usage_group *g = find_group(t, "LICENSE", "");
	CHECK(g != NULL);
	if (g)
		CHECK_DBL(usage_group_avg(g, &g->cost), 3.0);
	g = find_group(t, "PERSISTENT_VOLUME", "");
	CHECK(g != NULL);
	if (g)
		CHECK(isnan(usage_group_avg(g, &g->cost)));
	usage_table_free(t);
}

/* Absent and empty fields are the same group (""); a LICENSE row without instanceType still merges. */
static void test_absent_fields(void)
{
	enum group_field gb[2] = {GROUP_USAGE_TYPE, GROUP_INSTANCE_TYPE};
	struct usage_table *t;
	struct usage_row row;

	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	row = row_make(NULL, "LICENSE", 1);
	CHECK_INT(usage_table_add(t, &row), 0);
	row = row_make(NULL, "LICENSE", 2);
	row.fields[GROUP_INSTANCE_TYPE] = (char *)"";
	CHECK_INT(usage_table_add(t, &row), 0);
	row = row_make(NULL, "COMPUTE", 4);
	row.fields[GROUP_INSTANCE_TYPE] = (char *)"c5.large";
	CHECK_INT(usage_table_add(t, &row), 0);
	row = row_make(NULL, NULL, 8);
	CHECK_INT(usage_table_add(t, &row), 0);

	const struct usage_group *const *groups;
	CHECK_INT(usage_table_groups(t, &groups), 3);
	/* Sorted by values: "" < "COMPUTE" < "LICENSE". */
	CHECK_STR(groups[0]->values[0], "");
	CHECK_INT(groups[0]->count, 8);
	CHECK_STR(groups[1]->values[0], "COMPUTE");
	CHECK_STR(groups[1]->values[1], "c5.large");
	CHECK_STR(groups[2]->values[0], "LICENSE");
	CHECK_STR(groups[2]->values[1], "");
	CHECK_INT(groups[2]->count, 3);
	/* No statistics given: none present, and nothing to average. */
	CHECK_INT(groups[2]->cost.present, 0);
	CHECK(isnan(usage_group_avg(groups[2], &groups[2]->cost)));
	usage_table_free(t);
}

/* JOB_ID keeps the first non-empty job name; the name is not part of the key. */
static void test_job_name(void)
{
	enum group_field gb[2] = {GROUP_USER_ID, GROUP_JOB_ID};
	struct usage_table *t;
	struct usage_row row;

	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	row = row_make(NULL, NULL, 1);
	row.fields[GROUP_USER_ID] = (char *)"user-1";
	row.fields[GROUP_JOB_ID] = (char *)"job-1";
	CHECK_INT(usage_table_add(t, &row), 0);
	row.job_name = (char *)"";
	CHECK_INT(usage_table_add(t, &row), 0);
	row.job_name = (char *)"Render \"shot 10\"";
	CHECK_INT(usage_table_add(t, &row), 0);
	row.job_name = (char *)"renamed";
	CHECK_INT(usage_table_add(t, &row), 0);
	row.fields[GROUP_JOB_ID] = (char *)"job-2";
	row.job_name = NULL;
	CHECK_INT(usage_table_add(t, &row), 0);
	CHECK_INT(usage_table_size(t), 2);
	const struct usage_group *g = find_group(t, "user-1", "job-1");
	CHECK(g != NULL);
	if (g) {
		CHECK_STR(g->job_name, "Render \"shot 10\"");
		CHECK_INT(g->count, 4);
	}
	g = find_group(t, "user-1", "job-2");
	CHECK(g != NULL);
	if (g)
		CHECK_STR(g->job_name, "");
	usage_table_free(t);

	/* Without JOB_ID grouped, job names are ignored. */
	enum group_field gq[1] = {GROUP_QUEUE_ID};
	CHECK_INT(usage_table_new(&t, gq, 1), 0);
	row = row_make("queue-a", NULL, 1);
	row.job_name = (char *)"ignored";
	CHECK_INT(usage_table_add(t, &row), 0);
	g = find_group(t, "queue-a", "");
	CHECK(g != NULL);
	if (g)
		CHECK_STR(g->job_name, "");
	usage_table_free(t);
}

static void test_huge_values(void)
{
	enum group_field gb[1] = {GROUP_QUEUE_ID};
	struct usage_table *t;
	struct usage_row row;

	CHECK_INT(usage_table_new(&t, gb, 1), 0);
	row = row_make("queue-h", NULL, INT64_MAX - 1);
	stats_set(&row.cost, STAT_ALL, 1e308, -1e308, 1e308, 1e300);
	CHECK_INT(usage_table_add(t, &row), 0);
	row = row_make("queue-h", NULL, 5);
	stats_set(&row.cost, STAT_ALL, 1e308, 4.9e-324, 1.7976931348623157e308, 1.0);
	CHECK_INT(usage_table_add(t, &row), 0);
	const struct usage_group *g = find_group(t, "queue-h", "");
	CHECK(g != NULL);
	if (g) {
		CHECK_INT(g->count, INT64_MAX); /* saturated */
		CHECK(isinf(g->cost.sum) && g->cost.sum > 0);
		CHECK_DBL(g->cost.min, -1e308);
		CHECK_DBL(g->cost.max, 1.7976931348623157e308);
		CHECK(isinf(usage_group_avg(g, &g->cost)));
	}
	usage_table_free(t);

	/* A very long value is stored whole. */
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	CHECK(big != NULL);
	if (!big)
		return;
	memset(big, 'x', n);
	big[n] = '\0';
	CHECK_INT(usage_table_new(&t, gb, 1), 0);
	row = row_make(big, NULL, 1);
	CHECK_INT(usage_table_add(t, &row), 0);
	row = row_make("small", NULL, 1);
	CHECK_INT(usage_table_add(t, &row), 0);
	g = find_group(t, big, "");
	CHECK(g != NULL && strlen(g->values[0]) == n);
	usage_table_free(t);
	free(big);
}

/* Owned rows: usage_row_deinit frees every string (ASan reports leaks otherwise). */
static void test_row_deinit(void)
{
	struct usage_row row;

	memset(&row, 0, sizeof(row));
	for (size_t i = 0; i < GROUP_FIELD_COUNT; i++)
		row.fields[i] = strdup("value");
	row.job_name = strdup("name");
	row.count = 3;
	usage_row_deinit(&row);
	CHECK(row.fields[0] == NULL && row.job_name == NULL && row.count == 0);
	usage_row_deinit(NULL);
}

/* Equal values share one copy; the sorted view is cached and refreshed after an add creates a group. */
static void test_interning_and_order(void)
{
	enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_USAGE_TYPE};
	struct usage_table *t;
	struct usage_row row;
	const struct usage_group *const *groups;
	char q[32];

	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	for (int i = 9; i >= 0; i--) {
		snprintf(q, sizeof(q), "queue-%d", i);
		row = row_make(q, i % 2 ? "COMPUTE" : "LICENSE", 1);
		CHECK_INT(usage_table_add(t, &row), 0);
	}
	CHECK_INT(usage_table_groups(t, &groups), 10);
	CHECK_STR(groups[0]->values[0], "queue-0");
	CHECK_STR(groups[9]->values[0], "queue-9");
	CHECK(groups[1]->values[1] == groups[3]->values[1]); /* "COMPUTE" stored once */
	CHECK(groups[0]->values[1] == groups[2]->values[1]);
	/* Merging into an existing group keeps the view; a new group re-sorts it. */
	row = row_make("queue-5", "COMPUTE", 1);
	CHECK_INT(usage_table_add(t, &row), 0);
	const struct usage_group *const *again;
	CHECK_INT(usage_table_groups(t, &again), 10);
	CHECK_INT(again[5]->count, 2);
	row = row_make("queue-10", "COMPUTE", 1);
	CHECK_INT(usage_table_add(t, &row), 0);
	CHECK_INT(usage_table_groups(t, &again), 11);
	CHECK_STR(again[1]->values[0], "queue-1");
	CHECK_STR(again[2]->values[0], "queue-10");
	/* Sorted by the first value, then the second. */
	row = row_make("queue-1", "AAA", 1);
	CHECK_INT(usage_table_add(t, &row), 0);
	CHECK_INT(usage_table_groups(t, &again), 12);
	CHECK_STR(again[1]->values[1], "AAA");
	CHECK_STR(again[2]->values[1], "COMPUTE");
	usage_table_free(t);
}

/* Merging per-batch tables gives exactly what adding every row to one table gives. */
static void test_table_merge(void)
{
	enum group_field gb[2] = {GROUP_JOB_ID, GROUP_USAGE_TYPE};
	enum group_field other[2] = {GROUP_USAGE_TYPE, GROUP_JOB_ID};
	struct usage_table *all, *a, *b, *c, *merged;
	static const struct {
		const char *job, *name, *usage_type;
		int64_t count;
		unsigned present;
		double sum, min, max, avg;
		int batch;
	} rows[] = {
		{"job-1", NULL, "COMPUTE", 2, STAT_ALL, 3, 1, 2, 1.5, 0},
		{"job-1", "first", "COMPUTE", 4, STAT_ALL, 8, 0.5, 3, 2, 1},
		{"job-1", "second", "COMPUTE", 1, STAT_MIN | STAT_MAX | STAT_AVG, 0, 0.25, 9, 7, 1},
		{"job-2", "two", "LICENSE", 0, STAT_SUM | STAT_AVG, 0, 0, 0, 4, 0},
		{"job-2", NULL, "LICENSE", 0, STAT_SUM | STAT_AVG, 0, 0, 0, 6, 1},
		{"job-3", "three", NULL, 5, STAT_ALL, 10, 1, 3, 2, 1},
		{NULL, NULL, "COMPUTE", 1, STAT_ALL, 1, 1, 1, 1, 0},
	};

	CHECK_INT(usage_table_new(&all, gb, 2), 0);
	CHECK_INT(usage_table_new(&a, gb, 2), 0);
	CHECK_INT(usage_table_new(&b, gb, 2), 0);
	CHECK_INT(usage_table_new(&c, other, 2), 0);
	CHECK_INT(usage_table_new(&merged, gb, 2), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct usage_row row = row_make(NULL, rows[i].usage_type, rows[i].count);
		row.fields[GROUP_JOB_ID] = (char *)rows[i].job;
		row.job_name = (char *)rows[i].name;
		stats_set(&row.cost, rows[i].present, rows[i].sum, rows[i].min, rows[i].max, rows[i].avg);
		stats_set(&row.runtime, STAT_SUM, rows[i].sum * 60, 0, 0, 0);
		CHECK_INT(usage_table_add(all, &row), 0);
		CHECK_INT(usage_table_add(rows[i].batch ? b : a, &row), 0);
	}
	CHECK_INT(usage_table_merge(merged, a), 0);
	CHECK_INT(usage_table_merge(merged, b), 0);
	CHECK_INT(usage_table_merge(merged, c), -EINVAL); /* other group-by order */
	CHECK_INT(usage_table_merge(NULL, a), -EINVAL);
	CHECK_INT(usage_table_size(a), 3);

	const struct usage_group *const *want, *const *got;
	size_t n_want = usage_table_groups(all, &want), n_got = usage_table_groups(merged, &got);
	CHECK_INT(n_got, n_want);
	for (size_t i = 0; i < n_want && i < n_got; i++) {
		CHECK_STR(got[i]->values[0], want[i]->values[0]);
		CHECK_STR(got[i]->values[1], want[i]->values[1]);
		CHECK_INT(got[i]->count, want[i]->count);
		CHECK_INT(got[i]->cost.present, want[i]->cost.present);
		CHECK_INT(got[i]->cost.n_rows, want[i]->cost.n_rows);
		CHECK_DBL(got[i]->cost.min, want[i]->cost.min);
		CHECK_DBL(got[i]->cost.max, want[i]->cost.max);
		CHECK_DBL(usage_group_avg(got[i], &got[i]->cost), usage_group_avg(want[i], &want[i]->cost));
		CHECK_DBL(got[i]->runtime.sum, want[i]->runtime.sum);
	}
	/* job-1: MIN/MAX/AVG in every row, SUM not; the first name seen in batch order wins. */
	const struct usage_group *g = find_group(merged, "job-1", "COMPUTE");
	CHECK(g != NULL);
	if (g) {
		CHECK_INT(g->cost.present, STAT_MIN | STAT_MAX | STAT_AVG);
		CHECK_DBL(usage_group_avg(g, &g->cost), (1.5 * 2 + 2.0 * 4 + 7.0 * 1) / 7);
		CHECK_DBL(g->cost.max, 9);
		CHECK_STR(g->job_name, "first");
	}
	g = find_group(merged, "job-2", "LICENSE");
	CHECK(g != NULL);
	if (g) {
		CHECK_DBL(usage_group_avg(g, &g->cost), 5.0);
		CHECK_STR(g->job_name, "two");
	}
	/* Merging an empty table changes nothing. */
	struct usage_table *empty;
	CHECK_INT(usage_table_new(&empty, gb, 2), 0);
	CHECK_INT(usage_table_merge(merged, empty), 0);
	CHECK_INT(usage_table_size(merged), n_want);
	usage_table_free(empty);
	usage_table_free(all);
	usage_table_free(a);
	usage_table_free(b);
	usage_table_free(c);
	usage_table_free(merged);
}

static double now_seconds(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * 1M rows into 100k groups, ten period buckets of every group one after the other as the pages bring them:
 * linear time, exact totals, sorted output.
 */
static void test_scale(void)
{
	enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_JOB_ID};
	enum { N_GROUPS = 100000, N_ROWS = 1000000, ID_LEN = 40 };
	struct usage_table *t;
	double start, merged, sorted;
	/* The ids are made up front so that the timing measures the table, not snprintf. */
	char *ids = malloc((size_t)N_GROUPS * ID_LEN);

	CHECK(ids != NULL);
	if (!ids)
		return;
	for (size_t k = 0; k < N_GROUPS; k++)
		snprintf(ids + k * ID_LEN, ID_LEN, "job-%032zx", k);
	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	start = now_seconds();
	for (size_t i = 0; i < N_ROWS; i++) {
		size_t k = i % N_GROUPS;
		struct usage_row row;
		row = row_make(ids + (k % 100) * ID_LEN, NULL, 1);
		row.fields[GROUP_JOB_ID] = ids + k * ID_LEN;
		stats_set(&row.cost, STAT_SUM, 1.0, 0, 0, 0);
		if (usage_table_add(t, &row) != 0) {
			CHECK_MSG(0, "%s", "usage_table_add failed");
			break;
		}
	}
	merged = now_seconds();
	const struct usage_group *const *groups;
	size_t n = usage_table_groups(t, &groups);
	sorted = now_seconds();
	CHECK_INT(n, N_GROUPS);
	int ok = 1;
	for (size_t i = 0; i < n; i++) {
		if (groups[i]->count != 10 || groups[i]->cost.sum != 10.0)
			ok = 0;
		if (i > 0) {
			int c = strcmp(groups[i - 1]->values[0], groups[i]->values[0]);
			if (c > 0 || (c == 0 && strcmp(groups[i - 1]->values[1], groups[i]->values[1]) >= 0))
				ok = 0;
		}
	}
	CHECK(ok);
	fprintf(stderr, "scale: %d rows merged into %zu groups in %.3f s, sorted in %.3f s\n", N_ROWS, n,
		merged - start, sorted - merged);
	/* Generous bound: sanitizer builds are several times slower than the real thing. */
	CHECK_MSG(merged - start < 10.0, "merge took %.3f s", merged - start);
	usage_table_free(t);
	free(ids);
}

static int strcmp_pairs(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;
	int c = strcmp(x[0], y[0]);
	return c ? c : strcmp(x[1], y[1]);
}

/*
 * The sort by 16-byte keys gives strcmp's order: values sharing long prefixes (ties past the key), shorter than
 * the key, prefixes of one another, bytes >= 0x80 (compared unsigned), equal first values (the second decides).
 */
static void test_sort_order(void)
{
	enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_USAGE_TYPE};
	struct usage_table *t;
	static const char *const stems[] = {
		"", "a", "ab", "queue-0123456789", "queue-0123456789abcdef", "\xc3\xa9t\xc3\xa9", "z\xc3\xa9", "z\x7f"};
	enum { N = 3000 };
	static char v0[N][48], v1[N][8];
	static const char *pairs[N][2];
	uint32_t rnd = 12345;
	size_t distinct = 0;

	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	for (int i = 0; i < N; i++) {
		rnd = rnd * 1103515245u + 12345u;
		const char *stem = stems[(rnd >> 8) % (sizeof(stems) / sizeof(stems[0]))];
		/* a short suffix, sometimes none: many ties on the first value, and prefixes of each other */
		if ((rnd >> 4) % 3 == 0)
			snprintf(v0[i], sizeof(v0[i]), "%s", stem);
		else
			snprintf(v0[i], sizeof(v0[i]), "%s%x", stem, (unsigned)((rnd >> 12) % 64));
		snprintf(v1[i], sizeof(v1[i]), "%c", 'a' + (int)((rnd >> 20) % 3));
		struct usage_row row = row_make(v0[i], v1[i], 1);
		CHECK_INT(usage_table_add(t, &row), 0);
	}
	/* the distinct pairs, sorted by plain strcmp */
	for (int i = 0; i < N; i++) {
		bool seen = false;
		for (size_t j = 0; j < distinct && !seen; j++)
			seen = strcmp(pairs[j][0], v0[i]) == 0 && strcmp(pairs[j][1], v1[i]) == 0;
		if (!seen) {
			pairs[distinct][0] = v0[i];
			pairs[distinct][1] = v1[i];
			distinct++;
		}
	}
	qsort(pairs, distinct, sizeof(pairs[0]), strcmp_pairs);
	const struct usage_group *const *groups;
	size_t n = usage_table_groups(t, &groups);
	CHECK_INT(n, distinct);
	for (size_t i = 0; i < n && i < distinct; i++)
		CHECK_MSG(strcmp(groups[i]->values[0], pairs[i][0]) == 0 &&
				  strcmp(groups[i]->values[1], pairs[i][1]) == 0,
			"position %zu: %s/%s, want %s/%s", i, groups[i]->values[0], groups[i]->values[1], pairs[i][0],
			pairs[i][1]);
	usage_table_free(t);
}

/* usage_table_new_like(), usage_table_key_width() and usage_table_combine(): a group copied into a table of its key. */
static void test_like_and_combine(void)
{
	enum group_field gb[2] = {GROUP_JOB_ID, GROUP_USAGE_TYPE};
	struct usage_table *t = NULL, *like = NULL;
	struct usage_row row = row_make(NULL, "COMPUTE", 3);
	const struct usage_group *const *groups;
	const char *absent[2] = {"job-1", NULL};

	row.fields[GROUP_JOB_ID] = (char *)"job-1";
	row.job_name = (char *)"harbor_sh0393_lgt_v012";
	stats_set(&row.cost, STAT_SUM | STAT_MAX, 6, 0, 4, 0);
	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	CHECK_INT(usage_table_add(t, &row), 0);
	CHECK_INT(usage_table_key_width(t), 2);
	CHECK_INT(usage_table_key_width(NULL), 0);
	CHECK_INT(usage_table_new_like(&like, NULL), -EINVAL);
	CHECK_INT(usage_table_new_like(&like, t), 0);
	CHECK_INT(usage_table_size(like), 0);
	CHECK_INT(usage_table_merge(like, t), 0); /* the same key: merge accepts it */
	CHECK_INT(usage_table_groups(t, &groups), 1);
	/* combined twice: adds up like rows; a NULL value is "", a NULL job name offers none */
	CHECK_INT(usage_table_combine(like, groups[0], groups[0]->values, NULL), 0);
	CHECK_INT(usage_table_combine(like, groups[0], absent, "other name"), 0);
	CHECK_INT(usage_table_combine(NULL, groups[0], absent, NULL), -EINVAL);
	CHECK_INT(usage_table_combine(like, NULL, absent, NULL), -EINVAL);
	CHECK_INT(usage_table_combine(like, groups[0], NULL, NULL), -EINVAL);
	const struct usage_group *g = find_group(like, "job-1", "COMPUTE");
	CHECK(g && g->count == 6 && g->cost.sum == 12 && g->cost.max == 4);
	CHECK(g && strcmp(g->job_name, "harbor_sh0393_lgt_v012") == 0);
	g = find_group(like, "job-1", "");
	CHECK(g && g->count == 3 && strcmp(g->job_name, "other name") == 0);
	usage_table_free(like);
	usage_table_free(t);
}

/* The rows' averages alone (no sums): the __other__ average weighs each by its count, Σ(avg·count)/Σcount. */
static void test_limit_weighted_avg(void)
{
	enum group_field gb[1] = {GROUP_QUEUE_ID};
	struct usage_table *t = NULL, *top = NULL;
	const struct usage_group *const *groups;
	static const struct {
		const char *queue;
		int64_t count;
		double avg;
	} rows[] = {{"q1", 10, 1}, {"q2", 1, 4}, {"q3", 3, 2}, {"q4", 2, 0.5}};

	CHECK_INT(usage_table_new(&t, gb, 1), 0);
	for (size_t i = 0; t && i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct usage_row row = {0};
		row.fields[GROUP_QUEUE_ID] = (char *)rows[i].queue;
		row.count = rows[i].count;
		row.cost.present = row.runtime.present = STAT_AVG | STAT_MIN;
		row.cost.avg = row.runtime.avg = rows[i].avg;
		row.cost.min = row.runtime.min = rows[i].avg;
		CHECK_INT(usage_table_add(t, &row), 0);
	}
	CHECK_INT(usage_table_top(&top, t, 0, USAGE_RANK_SESSIONS), -EINVAL);
	CHECK_INT(usage_table_top(&top, t, 1, USAGE_RANK_SESSIONS), 0);
	CHECK_INT(usage_table_groups(top, &groups), 2);
	if (top && usage_table_size(top) == 2) {
		/* sorted by values: "__other__" before "q1" */
		CHECK_STR(groups[0]->values[0], USAGE_OTHER);
		CHECK_STR(groups[1]->values[0], "q1");
		CHECK_INT(groups[0]->count, 6);
		CHECK(usage_group_avg(groups[0], &groups[0]->cost) == (4 * 1 + 2 * 3 + 0.5 * 2) / 6);
		CHECK(groups[0]->cost.min == 0.5);
		CHECK(!(groups[0]->cost.present & STAT_SUM));
	}
	usage_table_free(top);
	usage_table_free(t);
}

int main(void)
{
	test_new_args();
	test_merge_with_sum();
	test_merge_without_sum();
	test_merge_partial_sum();
	test_merge_zero_count();
	test_absent_fields();
	test_job_name();
	test_huge_values();
	test_row_deinit();
	test_interning_and_order();
	test_sort_order();
	test_like_and_combine();
	test_table_merge();
	test_scale();
	test_limit_weighted_avg();
	TEST_DONE();
}
