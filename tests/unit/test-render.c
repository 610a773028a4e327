/* test-render: usage sections (text and pieces alike whatever the threads), values as spelled, limits, sorted groups */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "metrics/deflate_join.h"
#include "config_cases.h"
#include "metrics/render.h"
#include "metrics/usage_labels.h"
#include "metrics_fixtures.h"
#include "test.h"

/* Inflates the pieces of a part, each closed by an empty final block, and checks they are its text and CRC-32. */
static void check_part(const struct metrics_part *p, struct buf *text_out)
{
	for (size_t i = 0; i < p->n_seg; i++) {
		const struct metrics_segment *seg = p->seg[i];
		unsigned char *stream = malloc(seg->deflated_len + 2), *out = malloc(seg->text.len + 1);
		memcpy(stream, seg->deflated, seg->deflated_len);
		memcpy(stream + seg->deflated_len, "\x03\x00", 2);
		z_stream z = {0};
		CHECK(inflateInit2(&z, -15) == Z_OK);
		z.next_in = stream;
		z.avail_in = (uInt)(seg->deflated_len + 2);
		z.next_out = out;
		z.avail_out = (uInt)(seg->text.len + 1);
		CHECK_INT(inflate(&z, Z_FINISH), Z_STREAM_END);
		CHECK(z.total_out == seg->text.len && memcmp(out, seg->text.data, seg->text.len) == 0);
		CHECK(seg->crc == (uint32_t)crc32(0, (const unsigned char *)seg->text.data, (uInt)seg->text.len));
		inflateEnd(&z);
		CHECK_INT(buf_append(text_out, seg->text.data, seg->text.len), 0);
		free(stream);
		free(out);
	}
}

static struct usage_table *make_table(size_t n)
{
	enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_JOB_ID};
	struct usage_table *t = NULL;

	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	for (size_t i = 0; i < n; i++) {
		char q[64], j[64], name[64];
		struct usage_row row = {0};
		snprintf(q, sizeof(q), "queue-%032zx", i % 5);
		snprintf(j, sizeof(j), "job-%032zx", i * 31);
		snprintf(name, sizeof(name), "shot \"%zu\"\n", i);
		row.fields[GROUP_QUEUE_ID] = q;
		row.fields[GROUP_JOB_ID] = j;
		row.job_name = name;
		row.count = (int64_t)(i % 13);
		row.cost.present = row.runtime.present = STAT_ALL;
		row.cost.sum = (double)i * 0.01;
		row.cost.avg = row.cost.min = row.cost.max = 0.01;
		row.runtime.sum = (double)i * 3.5;
		row.runtime.avg = row.runtime.min = row.runtime.max = 3.5;
		CHECK_INT(usage_table_add(t, &row), 0);
	}
	return t;
}

/* 1, 2 and 4 threads: the same text per family, each segment's piece inflating to its text. */
static void test_section_threads(void)
{
	struct report_config r = {.name = (char *)"jobs", .n_group_by = 2, .statistics = STAT_ALL};
	struct usage_table *t = make_table(9001);
	struct buf first[USAGE_FAMILY_COUNT] = {{0}};
	static const size_t threads[] = {1, 2, 4};

	r.group_by[0] = GROUP_QUEUE_ID;
	r.group_by[1] = GROUP_JOB_ID;
	for (size_t k = 0; k < sizeof(threads) / sizeof(threads[0]); k++) {
		struct metrics_section *sec = NULL;
		metrics_render_threads(threads[k]);
		CHECK_INT(metrics_usage_section_new(&sec, "farm-1", &r, t, 1761955200, 1764115200), 0);
		if (!sec)
			continue;
		CHECK(sec->sealed && sec->kind == &metrics_usage_kind);
		for (size_t f = 0; f < USAGE_FAMILY_COUNT; f++) {
			struct buf text = {0};
			check_part(&sec->part[f], &text);
			/* a report that is not a counter report has no lines in the counters' families */
			bool counters = f == USAGE_FAMILY_COST_TOTAL || f == USAGE_FAMILY_RUNTIME_TOTAL ||
					f == USAGE_FAMILY_SESSIONS_TOTAL;
			CHECK(counters ? text.len == 0 : text.len > 0);
			if (k == 0)
				first[f] = text;
			else {
				CHECK_MSG(text.len == first[f].len &&
						  (text.len == 0 || memcmp(text.data, first[f].data, text.len) == 0),
					"%zu threads: family %zu differs", threads[k], f);
				buf_deinit(&text);
			}
		}
		metrics_section_unref(sec);
	}
	metrics_render_threads(0);
	CHECK(strncmp(first[USAGE_FAMILY_SESSIONS].data,
		      "deadline_cloud_usage_sessions{farm_id=\"farm-1\",report=\"jobs\",queue_id=\"queue-", 76) == 0);
	for (size_t f = 0; f < USAGE_FAMILY_COUNT; f++)
		buf_deinit(&first[f]);
	usage_table_free(t);
}

/* Only the statistics a report asks for; NaN and infinities spelled as the format wants. */
static void test_statistics_and_values(void)
{
	struct test_config tc;
	struct metrics_store *s = NULL;
	struct usage_table *t = NULL;
	enum group_field gb[2] = {GROUP_USER_ID, GROUP_JOB_ID};
	struct usage_row row;
	char *text;

	fixture_config(&tc, 1, 3);
	tc.reports[2].statistics = STAT_MAX | STAT_AVG;
	CHECK_INT(metrics_store_new(&s, "x"), 0);
	if (!s)
		return;
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	memset(&row, 0, sizeof(row));
	row.fields[GROUP_USER_ID] = (char *)"user-inf";
	row.fields[GROUP_JOB_ID] = (char *)"job-inf";
	row.count = 2;
	row.cost.present = STAT_MAX | STAT_AVG;
	row.cost.max = INFINITY;
	row.cost.avg = -INFINITY;
	row.runtime.present = STAT_MAX | STAT_AVG;
	row.runtime.max = 0.1 + 0.2;
	row.runtime.avg = NAN;
	CHECK_INT(usage_table_add(t, &row), 0);
	/* A row without a user: the empty label value. */
	row.fields[GROUP_USER_ID] = NULL;
	row.runtime.avg = 123456789012.0;
	row.cost.max = 1e-7;
	row.cost.avg = 1.0 / 3.0;
	CHECK_INT(usage_table_add(t, &row), 0);
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[2], t, WINDOW_START, WINDOW_END, 1, 0.001), 0);
	usage_table_free(t);
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text != NULL);
	if (text) {
#define EVERYTHING(user) \
	"{farm_id=\"" FARM_A "\",report=\"everything\",user_id=\"" user "\",job_id=\"job-inf\",job_name=\"\"} "
		CHECK(strstr(text, "deadline_cloud_usage_cost_usd{") == NULL);
		CHECK(strstr(text, "deadline_cloud_usage_session_cost_min_usd{") == NULL);
		CHECK(strstr(text, "deadline_cloud_usage_session_cost_max_usd" EVERYTHING("user-inf") "+Inf\n"));
		CHECK(strstr(text, "deadline_cloud_usage_session_cost_avg_usd" EVERYTHING("user-inf") "-Inf\n"));
		CHECK(strstr(text, "deadline_cloud_usage_session_runtime_max_seconds" EVERYTHING(
					   "user-inf") "0.30000000000000004\n"));
		CHECK(strstr(text, "deadline_cloud_usage_session_runtime_avg_seconds" EVERYTHING("user-inf") "NaN\n"));
		CHECK(strstr(text, "deadline_cloud_usage_session_cost_max_usd" EVERYTHING("") "1e-07\n"));
		CHECK(strstr(text, "deadline_cloud_usage_session_cost_avg_usd" EVERYTHING("") "0.3333333333333333\n"));
		CHECK(strstr(text, "deadline_cloud_usage_session_runtime_avg_seconds" EVERYTHING("") "123456789012\n"));
#undef EVERYTHING
		CHECK(strstr(text, "report_duration_seconds{farm_id=\"" FARM_A "\",report=\"everything\"} 0.001\n"));
		/* Never attempted: up 0, last success 0, no duration. */
		CHECK(strstr(text, "report_up{farm_id=\"" FARM_A "\",report=\"jobs\"} 0\n"));
		CHECK(strstr(text, "timestamp_seconds{farm_id=\"" FARM_A "\",report=\"jobs\"} 0\n"));
		CHECK(strstr(text, "report_duration_seconds{farm_id=\"" FARM_A "\",report=\"jobs\"}") == NULL);
		/* No API call counted yet: the counter family is absent rather than empty. */
		CHECK(strstr(text, "api_requests_total") == NULL);
		CHECK(fixture_exposition_ok(text));
	}
	free(text);
	metrics_store_free(s);
}

/*
 * A large report renders to the same text on 1, 2, 3 or 4 threads (the runs are put back in group order), the
 * groups sorted; each gzip inflates to that text. 10007 groups: runs of unequal sizes.
 */
static void test_render_threads(void)
{
	struct test_config tc;
	struct metrics_store *s = NULL;
	struct usage_table *t = NULL;
	enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_JOB_ID};
	char *first = NULL;
	size_t first_len = 0;
	int failed = 0;

	CHECK_INT(metrics_store_new(&s, "1"), 0);
	if (!s)
		return;
	fixture_config(&tc, 1, 1);
	tc.reports[0].group_by[0] = GROUP_QUEUE_ID;
	tc.reports[0].group_by[1] = GROUP_JOB_ID;
	tc.reports[0].statistics = STAT_ALL;
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	/* Added in an order unlike the sorted one (i * 7919 mod 10007 visits every i once). */
	for (int n = 0; n < 10007; n++) {
		int i = (int)(((long)n * 7919) % 10007);
		char q[64], j[64], name[64];
		snprintf(q, sizeof(q), "queue-%02d", i % 5);
		snprintf(j, sizeof(j), "job-%08d", i);
		snprintf(name, sizeof(name), "shot \"%d\"", i);
		failed |= fixture_add_row(t, q, NULL, j, name, i, i * 0.25, 0.25, i * 1.5, 1.5) != 0;
	}
	CHECK(!failed);
	static const size_t threads[] = {1, 2, 3, 4, 0};
	for (size_t k = 0; k < sizeof(threads) / sizeof(threads[0]); k++) {
		size_t plain_len = 0, unzipped_len = 0;
		metrics_render_threads(threads[k]);
		CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[0], t, WINDOW_START, WINDOW_END, 1, 1), 0);
		char *plain = fixture_scrape_text(s, false, &plain_len),
		     *unzipped = fixture_scrape_text(s, true, &unzipped_len);
		CHECK_MSG(plain && unzipped && plain_len == unzipped_len && memcmp(plain, unzipped, plain_len) == 0,
			"%zu threads: the gzip does not inflate to the text", threads[k]);
		if (k == 0) {
			first = plain;
			first_len = plain_len;
			plain = NULL;
		} else {
			CHECK_MSG(plain && plain_len == first_len && memcmp(plain, first, first_len) == 0,
				"%zu threads render another text than one thread", threads[k]);
		}
		free(plain);
		free(unzipped);
	}
	metrics_render_threads(0);
	usage_table_free(t);
	/* Sorted: the cost lines' job_id labels (after the queue's) never go down, and all are there. */
	const char *key = "deadline_cloud_usage_cost_usd{";
	char prev[128] = "";
	size_t lines = 0;
	/* Line by line, searched within the line: sanitizers' strstr measures the whole (large) text each call. */
	for (const char *line = first, *nl; line && (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		size_t n = (size_t)(nl - line);
		if (n < strlen(key) || memcmp(line, key, strlen(key)) != 0)
			continue;
		const char *q = memmem(line, n, "queue_id=\"", 10);
		const char *e = q ? memmem(q, (size_t)(nl - q), "\",job_name", 10) : NULL;
		CHECK(q && e && (size_t)(e - q) < sizeof(prev));
		if (!q || !e || (size_t)(e - q) >= sizeof(prev))
			break;
		char cur[128];
		memcpy(cur, q, (size_t)(e - q));
		cur[e - q] = '\0';
		CHECK_MSG(strcmp(prev, cur) <= 0, "%s after %s", cur, prev);
		memcpy(prev, cur, sizeof(prev));
		lines++;
	}
	CHECK_MSG(lines == 10007, "%zu cost lines", lines);
	free(first);
	metrics_store_free(s);
}

/* A row of the limit tests: count sessions, cost sum and average (min avg/2, max avg·2), run time likewise. */
static void add_top_row(struct usage_table *t, const char *queue, const char *job, const char *name, int64_t count,
	double cost_sum, double cost_avg, double rt_sum, double rt_avg)
{
	CHECK_INT(fixture_add_row(t, queue, NULL, job, name, count, cost_sum, cost_avg, rt_sum, rt_avg), 0);
}

#define TOP(metric, queue, job, name) \
	"deadline_cloud_usage_" metric "{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" queue \
	"\",job_id=\"" job "\",job_name=\"" name "\"}"
#define OTHER(metric) TOP(metric, "__other__", "__other__", "__other__")

/*
 * reports[].limit: the N groups of largest cost kept exactly, ties in label order; every other merged into
 * the __other__ group exactly (counts and sums add, min/max the extremes, avg Σsum/Σcount); without SUM, the
 * largest session counts are kept. Summed over every label, the figures are the same as without a limit.
 */
static void test_limit(void)
{
	struct test_config tc;
	struct metrics_store *s = NULL;
	struct usage_table *t = NULL;
	enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_JOB_ID};
	char *text;
	size_t n = 0;

	fixture_config(&tc, 1, 1);
	tc.reports[0].group_by[0] = GROUP_QUEUE_ID;
	tc.reports[0].group_by[1] = GROUP_JOB_ID;
	tc.reports[0].statistics = STAT_ALL;
	tc.reports[0].limit = 3;
	CHECK_INT(metrics_store_new(&s, "1"), 0);
	if (!s)
		return;
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	add_top_row(t, "q2", "job-d", "D", 1, 3, 3, 30, 30);
	add_top_row(t, "q1", "job-a", "A", 2, 10, 5, 100, 50);
	add_top_row(t, "q2", "job-e", "E", 5, 0.5, 0.1, 50, 10);
	add_top_row(t, "q1", "job-b", "B", 1, 3, 3, 30, 30);
	add_top_row(t, "q2", "job-c", "C", 4, 8, 2, 400, 100);
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[0], t, WINDOW_START, WINDOW_END, 1, 1), 0);
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text != NULL);
	if (text) {
		/* kept: a (10), c (8), and b (3: tied with d, q1 before q2), exactly as without a limit */
		CHECK(fixture_sample(text, TOP("cost_usd", "q1", "job-a", "A")) == 10);
		CHECK(fixture_sample(text, TOP("session_cost_min_usd", "q1", "job-a", "A")) == 2.5);
		CHECK(fixture_sample(text, TOP("session_cost_max_usd", "q1", "job-a", "A")) == 10);
		CHECK(fixture_sample(text, TOP("session_cost_avg_usd", "q1", "job-a", "A")) == 5);
		CHECK(fixture_sample(text, TOP("sessions", "q1", "job-a", "A")) == 2);
		CHECK(fixture_sample(text, TOP("cost_usd", "q2", "job-c", "C")) == 8);
		CHECK(fixture_sample(text, TOP("runtime_seconds", "q2", "job-c", "C")) == 400);
		CHECK(fixture_sample(text, TOP("cost_usd", "q1", "job-b", "B")) == 3);
		CHECK(isnan(fixture_sample(text, TOP("cost_usd", "q2", "job-d", "D"))));
		CHECK(isnan(fixture_sample(text, TOP("sessions", "q2", "job-e", "E"))));
		/* __other__ = d + e */
		CHECK(fixture_sample(text, OTHER("sessions")) == 6);
		CHECK(fixture_sample(text, OTHER("cost_usd")) == 3 + 0.5);
		CHECK(fixture_sample(text, OTHER("session_cost_min_usd")) == 0.05);
		CHECK(fixture_sample(text, OTHER("session_cost_max_usd")) == 6);
		CHECK(fixture_sample(text, OTHER("session_cost_avg_usd")) == (3 + 0.5) / 6);
		CHECK(fixture_sample(text, OTHER("runtime_seconds")) == 30 + 50);
		CHECK(fixture_sample(text, OTHER("session_runtime_min_seconds")) == 5);
		CHECK(fixture_sample(text, OTHER("session_runtime_max_seconds")) == 60);
		CHECK(fixture_sample(text, OTHER("session_runtime_avg_seconds")) == (30.0 + 50) / 6);
		/* 3 kept + __other__; the totals unchanged */
		CHECK(fixture_sum_of(text, "deadline_cloud_usage_sessions", &n) == 13 && n == 4);
		CHECK(fixture_sum_of(text, "deadline_cloud_usage_cost_usd", &n) == 10 + 8 + 3 + 3.5 && n == 4);
		CHECK(fixture_exposition_ok(text));
	}
	free(text);

	/* Without SUM: the largest session counts, e (5) then c (4); the others' average from their sums. */
	tc.reports[0].statistics = STAT_MIN | STAT_MAX | STAT_AVG;
	tc.reports[0].limit = 2;
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[0], t, WINDOW_START, WINDOW_END, 2, 1), 0);
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text != NULL);
	if (text) {
		CHECK(fixture_sample(text, TOP("sessions", "q2", "job-e", "E")) == 5);
		CHECK(fixture_sample(text, TOP("sessions", "q2", "job-c", "C")) == 4);
		CHECK(isnan(fixture_sample(text, TOP("sessions", "q1", "job-a", "A"))));
		CHECK(fixture_sample(text, OTHER("sessions")) == 4);
		CHECK(fixture_sample(text, OTHER("session_cost_min_usd")) == 1.5);
		CHECK(fixture_sample(text, OTHER("session_cost_max_usd")) == 10);
		CHECK(fixture_sample(text, OTHER("session_cost_avg_usd")) == (10 + 3 + 3) / 4.0);
		CHECK(strstr(text, "deadline_cloud_usage_cost_usd") == NULL);
		CHECK(fixture_exposition_ok(text));
	}
	free(text);

	/* A limit of at least the number of groups: every group, no __other__. */
	tc.reports[0].limit = 5;
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[0], t, WINDOW_START, WINDOW_END, 3, 1), 0);
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text && strstr(text, "__other__") == NULL);
	CHECK(text && fixture_sample(text, TOP("sessions", "q2", "job-d", "D")) == 1);
	free(text);
	usage_table_free(t);
	metrics_store_free(s);
}
#undef TOP
#undef OTHER

/*
 * A counter report's sums go to the counters' families (TYPE counter) instead of the gauges', its MIN/MAX/AVG stay
 * gauges beside another report's; its held counter is there at 0 from the declaration, for counter reports only.
 */
static void test_counter_families(void)
{
	struct test_config tc;
	struct metrics_store *s = NULL;
	struct usage_table *t;
	char *text;

	fixture_config(&tc, 1, 3);
	tc.reports[0].counter = true;
	fixture_report(&tc.reports[2], "gauges", GROUP_QUEUE_ID, GROUP_USAGE_TYPE, 2, STAT_ALL);
	CHECK_INT(metrics_store_new(&s, "x"), 0);
	if (!s)
		return;
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	t = fixture_table_month();
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[0], t, WINDOW_START, WINDOW_END, 1, 0.5), 0);
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[2], t, WINDOW_START, WINDOW_END, 1, 0.5), 0);
	usage_table_free(t);
	uint64_t mark = metrics_store_scrapes(s);
	text = fixture_scrape_text(s, false, NULL);
	CHECK(metrics_store_scrapes(s) == mark + 1);
	CHECK(text != NULL);
	if (text) {
#define MONTH(queue, type) \
	"{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" queue "\",usage_type=\"" type "\"}"
#define GAUGES(queue, type) "{farm_id=\"" FARM_A "\",report=\"gauges\",queue_id=\"" queue "\",usage_type=\"" type "\"}"
		CHECK(strstr(text, "# TYPE deadline_cloud_usage_cost_usd_total counter\n"));
		CHECK(strstr(text, "# TYPE deadline_cloud_usage_runtime_seconds_total counter\n"));
		CHECK(strstr(text, "# TYPE deadline_cloud_usage_sessions_total counter\n"));
		CHECK(strstr(text, "# HELP deadline_cloud_usage_cost_usd_total Total cost in US dollars"));
		CHECK(strstr(text, "(window-to-date, resets at the window's boundary;"));
		CHECK(fixture_sample(text, "deadline_cloud_usage_cost_usd_total" MONTH(QUEUE_A, "COMPUTE")) == 4.75);
		CHECK(fixture_sample(text, "deadline_cloud_usage_runtime_seconds_total" MONTH(QUEUE_A, "COMPUTE")) ==
			3604.5);
		CHECK(fixture_sample(text, "deadline_cloud_usage_sessions_total" MONTH(QUEUE_B, "LICENSE")) == 2);
		/* not as gauges */
		CHECK(isnan(fixture_sample(text, "deadline_cloud_usage_cost_usd" MONTH(QUEUE_A, "COMPUTE"))));
		CHECK(isnan(fixture_sample(text, "deadline_cloud_usage_sessions" MONTH(QUEUE_B, "LICENSE"))));
		/* its average stays a gauge, and the other report's sums are gauges */
		CHECK(fixture_sample(text, "deadline_cloud_usage_session_cost_avg_usd" MONTH(QUEUE_A, "COMPUTE")) ==
			4.75 / 4);
		CHECK(fixture_sample(text, "deadline_cloud_usage_cost_usd" GAUGES(QUEUE_A, "COMPUTE")) == 4.75);
		CHECK(fixture_sample(text, "deadline_cloud_usage_sessions" GAUGES(QUEUE_B, "LICENSE")) == 2);
		CHECK(isnan(fixture_sample(text, "deadline_cloud_usage_cost_usd_total" GAUGES(QUEUE_A, "COMPUTE"))));
		/* the window stays */
		CHECK(fixture_sample(text, "deadline_cloud_usage_window_start_timestamp_seconds{farm_id=\"" FARM_A
					   "\",report=\"month_to_date\"}") == WINDOW_START);
#undef MONTH
#undef GAUGES
		CHECK(fixture_sample(text, "deadline_cloud_exporter_usage_decreases_held_total{farm_id=\"" FARM_A
					   "\",report=\"month_to_date\"}") == 0);
		CHECK(strstr(text, "decreases_held_total{farm_id=\"" FARM_A "\",report=\"gauges\"}") == NULL);
		CHECK(strstr(text, "# TYPE deadline_cloud_exporter_usage_decreases_held_total counter\n"));
		CHECK(fixture_exposition_ok(text));
	}
	free(text);
	/* counted; then no longer a counter report on reload: no held series; a counter report again: at 0 */
	metrics_store_count(s, METRICS_DECREASES_HELD, (const char *const[]){FARM_A, "month_to_date"}, 3);
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text && fixture_sample(text, "deadline_cloud_exporter_usage_decreases_held_total{farm_id=\"" FARM_A
					   "\",report=\"month_to_date\"}") == 3);
	free(text);
	tc.reports[0].counter = false;
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text && strstr(text, "decreases_held_total{") == NULL);
	free(text);
	tc.reports[0].counter = true;
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text && fixture_sample(text, "deadline_cloud_exporter_usage_decreases_held_total{farm_id=\"" FARM_A
					   "\",report=\"month_to_date\"}") == 0);
	free(text);
	metrics_store_free(s);
}

/*
 * A labelled report's table: its series carry the derived labels, then the fields kept (job_name after a kept
 * JOB_ID), nothing else; a table whose key is shorter than the report's is refused, never read past its end.
 */
static void test_labelled(void)
{
	struct config *cfg = config_cases_load(
		"farms = ( { id = \"" CASES_FARM_ID "\"; } );\n"
		"reports = ( { name = \"shows\"; window = \"month\"; group_by = [ \"QUEUE_ID\", \"JOB_ID\" ]; "
		"statistics = [ \"SUM\" ]; labels = ( { label = \"show\"; source = \"job_name\"; regex = \"([a-z]+) "
		".*\"; "
		"default = \"unknown\"; }, { label = \"take\"; source = \"job_name\"; regex = \"[a-z]+ .([0-9]+).*\"; "
		"default = \"none\"; } ); keep = [ \"JOB_ID\" ]; },\n"
		"  { name = \"wide\"; window = \"month\"; group_by = [ \"QUEUE_ID\", \"JOB_ID\" ]; labels = ( "
		"{ label = \"a\"; source = \"job_name\"; default = \"x\"; }, { label = \"b\"; source = \"job_name\"; "
		"default = \"x\"; } ); keep = [ \"QUEUE_ID\", \"JOB_ID\" ]; } );\n");
	struct usage_table *t = make_table(3), *merged = NULL;
	struct metrics_section *sec = NULL;
	char *text;
	bool job_name;

	if (!cfg)
		goto out;
	CHECK_INT(usage_labels_key_width(&cfg->reports[0]), 3);
	CHECK_STR(usage_labels_key_label(&cfg->reports[0], 0, &job_name), "show");
	CHECK(!job_name);
	CHECK_STR(usage_labels_key_label(&cfg->reports[0], 2, &job_name), "job_id");
	CHECK(job_name);
	CHECK(usage_labels_key_label(&cfg->reports[0], 3, &job_name) == NULL);
	CHECK_INT(usage_labels_merge(&merged, t, &cfg->reports[0], NULL, NULL), 0);
	CHECK_INT(metrics_usage_section_new(&sec, "farm-1", &cfg->reports[0], merged, 1761955200, 1764115200), 0);
	text = sec ? fixture_sections_text(&metrics_usage_kind, &sec, 1) : NULL;
	CHECK(text &&
		strstr(text,
			"deadline_cloud_usage_cost_usd{farm_id=\"farm-1\",report=\"shows\",show=\"shot\","
			"take=\"1\",job_id=\"job-0000000000000000000000000000001f\",job_name=\"shot \\\"1\\\"\\n\"} "
			"0.01\n"));
	CHECK(text && !strstr(text, "queue_id="));
	free(text);
	metrics_section_unref(sec);
	sec = NULL;
	/* the group-by table itself (2 values) under a report whose key is 4 wide */
	CHECK_INT(metrics_usage_section_new(&sec, "farm-1", &cfg->reports[1], t, 1761955200, 1764115200), -EINVAL);
	CHECK(sec == NULL);
out:
	usage_table_free(merged);
	usage_table_free(t);
	config_free(cfg);
}

int main(void)
{
	test_labelled();
	/* Comparisons of successive scrapes: the process metrics of the first read throughout; every change shown. */
	metrics_process_hold(true);
	metrics_self_interval(0);
	test_section_threads();
	test_statistics_and_values();
	test_render_threads();
	test_limit();
	test_counter_families();
	TEST_DONE();
}
