/* test-store: sections swapped in by reference, kinds in rank order, scrapes (plain and gzip), self-metrics' pace */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics/inventory.h"
#include "metrics/section.h"
#include "metrics/store.h"
#include "metrics_fixtures.h"
#include "test.h"

/* A kind in the users' place, as deadline/users makes it (metrics/ knows nothing of deadline/). */
static const struct exposition_family test_users_families[] = {
	{"test_users_info", EXPOSITION_GAUGE, "A stand-in for the user names."},
};
static struct metrics_kind test_users_kind = {
	.rank = METRICS_RANK_USERS, .families = test_users_families, .n_families = 1};

/* A sealed section of the stand-in users' kind with one line per user id. */
static struct metrics_section *test_users_section(const char *user_id)
{
	struct metrics_section *sec = NULL;
	const char *labels[] = {"user_id", user_id};

	CHECK_INT(metrics_section_new(&sec, &test_users_kind), 0);
	if (!sec)
		return NULL;
	CHECK_INT(exposition_series(metrics_section_lines(sec, 0), "test_users_info", labels, 1, "1"), 0);
	CHECK_INT(metrics_section_seal(sec), 0);
	return sec;
}

/* A farm's inventory section without an inventory: its listing health only. */
static struct metrics_section *inventory_health(const char *farm_id, bool up, int64_t last_success)
{
	const struct inventory_farm farm = {.farm_id = farm_id, .up = up, .last_success = last_success};
	struct metrics_section *sec = NULL;

	CHECK_INT(inventory_section_new(&sec, &farm), 0);
	return sec;
}

/* The known store's text, one family per piece (ISO C bounds the length of one string literal). */
static const char *const expected_known_parts[] = {
	"# HELP deadline_cloud_usage_cost_usd Total cost in US dollars of the group's sessions (the sum of costInUsd, "
	"Deadline Cloud's estimate) over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_cost_usd gauge\n"
	"deadline_cloud_usage_cost_usd{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_A
	"\",usage_type=\"COMPUTE\"} 4.75\n"
	"deadline_cloud_usage_cost_usd{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_B
	"\",usage_type=\"LICENSE\"} 0.5\n",
	"# HELP deadline_cloud_usage_session_cost_min_usd Cost in US dollars of the group's cheapest session over the "
	"report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_session_cost_min_usd gauge\n"
	"deadline_cloud_usage_session_cost_min_usd{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-1\",job_name=\"Shot \\\"A\\\"\\\\v2\\nfinal\"} 1\n"
	"deadline_cloud_usage_session_cost_min_usd{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-2\",job_name=\"\"} 5e+20\n",
	"# HELP deadline_cloud_usage_session_cost_max_usd Cost in US dollars of the group's most expensive session "
	"over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_session_cost_max_usd gauge\n"
	"deadline_cloud_usage_session_cost_max_usd{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-1\",job_name=\"Shot \\\"A\\\"\\\\v2\\nfinal\"} 4\n"
	"deadline_cloud_usage_session_cost_max_usd{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-2\",job_name=\"\"} 2e+21\n",
	"# HELP deadline_cloud_usage_session_cost_avg_usd Average cost in US dollars of one of the group's sessions "
	"over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_session_cost_avg_usd gauge\n"
	"deadline_cloud_usage_session_cost_avg_usd{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_A
	"\",usage_type=\"COMPUTE\"} 1.1875\n"
	"deadline_cloud_usage_session_cost_avg_usd{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_B
	"\",usage_type=\"LICENSE\"} 0.25\n",
	"# HELP deadline_cloud_usage_runtime_seconds Total run time in seconds of the group's sessions (the sum of "
	"runtimeInSeconds) over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_runtime_seconds gauge\n"
	"deadline_cloud_usage_runtime_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_A
	"\",usage_type=\"COMPUTE\"} 3604.5\n"
	"deadline_cloud_usage_runtime_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_B
	"\",usage_type=\"LICENSE\"} 7200\n",
	"# HELP deadline_cloud_usage_session_runtime_min_seconds Run time in seconds of the group's shortest session "
	"over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_session_runtime_min_seconds gauge\n"
	"deadline_cloud_usage_session_runtime_min_seconds{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-1\",job_name=\"Shot \\\"A\\\"\\\\v2\\nfinal\"} 30\n"
	"deadline_cloud_usage_session_runtime_min_seconds{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-2\",job_name=\"\"} 0.05\n",
	"# HELP deadline_cloud_usage_session_runtime_max_seconds Run time in seconds of the group's longest session "
	"over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_session_runtime_max_seconds gauge\n"
	"deadline_cloud_usage_session_runtime_max_seconds{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-1\",job_name=\"Shot \\\"A\\\"\\\\v2\\nfinal\"} 120\n"
	"deadline_cloud_usage_session_runtime_max_seconds{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-2\",job_name=\"\"} 0.2\n",
	"# HELP deadline_cloud_usage_session_runtime_avg_seconds Average run time in seconds of one of the group's "
	"sessions over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_session_runtime_avg_seconds gauge\n"
	"deadline_cloud_usage_session_runtime_avg_seconds{farm_id=\"" FARM_A
	"\",report=\"month_to_date\",queue_id=\"" QUEUE_A "\",usage_type=\"COMPUTE\"} 901.125\n"
	"deadline_cloud_usage_session_runtime_avg_seconds{farm_id=\"" FARM_A
	"\",report=\"month_to_date\",queue_id=\"" QUEUE_B "\",usage_type=\"LICENSE\"} 3600\n",
	"# HELP deadline_cloud_usage_sessions Number of the group's sessions over the report's window (see "
	"deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_sessions gauge\n"
	"deadline_cloud_usage_sessions{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_A
	"\",usage_type=\"COMPUTE\"} 4\n"
	"deadline_cloud_usage_sessions{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_B
	"\",usage_type=\"LICENSE\"} 2\n"
	"deadline_cloud_usage_sessions{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-1\",job_name=\"Shot \\\"A\\\"\\\\v2\\nfinal\"} 1\n"
	"deadline_cloud_usage_sessions{farm_id=\"" FARM_A "\",report=\"jobs\",job_id=\"job-2\",job_name=\"\"} 1\n",
	"# HELP deadline_cloud_usage_window_start_timestamp_seconds Unix time of the start of the window that the "
	"report's usage figures for the farm cover (as of their last successful refresh).\n"
	"# TYPE deadline_cloud_usage_window_start_timestamp_seconds gauge\n"
	"deadline_cloud_usage_window_start_timestamp_seconds{farm_id=\"" FARM_A
	"\",report=\"month_to_date\"} 1761955200\n"
	"deadline_cloud_usage_window_start_timestamp_seconds{farm_id=\"" FARM_A "\",report=\"jobs\"} 1761955200\n",
	"# HELP deadline_cloud_usage_window_end_timestamp_seconds Unix time of the end of the window that the report's "
	"usage figures for the farm cover: when their last successful refresh began.\n"
	"# TYPE deadline_cloud_usage_window_end_timestamp_seconds gauge\n"
	"deadline_cloud_usage_window_end_timestamp_seconds{farm_id=\"" FARM_A
	"\",report=\"month_to_date\"} 1764115200\n"
	"deadline_cloud_usage_window_end_timestamp_seconds{farm_id=\"" FARM_A "\",report=\"jobs\"} 1764115200\n",
	/* the users' kind (a stand-in here), then the process metrics (left out: they change), then the inventory */
	"# HELP test_users_info A stand-in for the user names.\n"
	"# TYPE test_users_info gauge\n"
	"test_users_info{user_id=\"u-1\"} 1\n",
	"# HELP deadline_cloud_exporter_inventory_up 1 when the last inventory listing of the farm succeeded, 0 when "
	"it "
	"failed or has not finished yet.\n"
	"# TYPE deadline_cloud_exporter_inventory_up gauge\n"
	"deadline_cloud_exporter_inventory_up{farm_id=\"" FARM_A "\"} 0\n"
	"deadline_cloud_exporter_inventory_up{farm_id=\"" FARM_B "\"} 1\n",
	"# HELP deadline_cloud_exporter_inventory_last_success_timestamp_seconds Unix time of the last successful "
	"inventory listing of the farm, 0 before the first.\n"
	"# TYPE deadline_cloud_exporter_inventory_last_success_timestamp_seconds gauge\n"
	"deadline_cloud_exporter_inventory_last_success_timestamp_seconds{farm_id=\"" FARM_A "\"} 0\n"
	"deadline_cloud_exporter_inventory_last_success_timestamp_seconds{farm_id=\"" FARM_B "\"} 1700000000\n",
	"# HELP deadline_cloud_exporter_report_up 1 when the last refresh of the report for the farm succeeded, 0 when "
	"it failed or has not finished yet.\n"
	"# TYPE deadline_cloud_exporter_report_up gauge\n"
	"deadline_cloud_exporter_report_up{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 1\n"
	"deadline_cloud_exporter_report_up{farm_id=\"" FARM_A "\",report=\"jobs\"} 1\n",
	"# HELP deadline_cloud_exporter_report_last_success_timestamp_seconds Unix time of the last successful refresh "
	"of the report for the farm, 0 before the first.\n"
	"# TYPE deadline_cloud_exporter_report_last_success_timestamp_seconds gauge\n"
	"deadline_cloud_exporter_report_last_success_timestamp_seconds{farm_id=\"" FARM_A
	"\",report=\"month_to_date\"} 1764115200\n"
	"deadline_cloud_exporter_report_last_success_timestamp_seconds{farm_id=\"" FARM_A
	"\",report=\"jobs\"} 1764115260\n",
	"# HELP deadline_cloud_exporter_report_duration_seconds Length in seconds of the last refresh attempt of the "
	"report for the farm.\n"
	"# TYPE deadline_cloud_exporter_report_duration_seconds gauge\n"
	"deadline_cloud_exporter_report_duration_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 1.5\n"
	"deadline_cloud_exporter_report_duration_seconds{farm_id=\"" FARM_A "\",report=\"jobs\"} 0.25\n",
	"# HELP deadline_cloud_exporter_report_interval_seconds Configured refresh interval of the report, in "
	"seconds.\n"
	"# TYPE deadline_cloud_exporter_report_interval_seconds gauge\n"
	"deadline_cloud_exporter_report_interval_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 300\n"
	"deadline_cloud_exporter_report_interval_seconds{farm_id=\"" FARM_A "\",report=\"jobs\"} 900\n",
	"# HELP deadline_cloud_exporter_api_requests_total AWS API requests made, by farm (- for account-wide calls: "
	"STS, license endpoints, the identity store), operation and HTTP status code (error: the request failed before "
	"a status).\n"
	"# TYPE deadline_cloud_exporter_api_requests_total counter\n"
	"deadline_cloud_exporter_api_requests_total{farm_id=\"" FARM_A
	"\",operation=\"GetSessionsStatisticsAggregation\",code=\"error\"} 1\n"
	"deadline_cloud_exporter_api_requests_total{farm_id=\"" FARM_A
	"\",operation=\"GetSessionsStatisticsAggregation\",code=\"200\"} 2\n"
	"deadline_cloud_exporter_api_requests_total{farm_id=\"" FARM_A
	"\",operation=\"StartSessionsStatisticsAggregation\",code=\"429\"} 1\n",
	"# HELP deadline_cloud_exporter_build_info The exporter's version; always 1.\n"
	"# TYPE deadline_cloud_exporter_build_info gauge\n"
	"deadline_cloud_exporter_build_info{version=\"1.2.3\"} 1\n",
	NULL,
};

/*
 * A store holding month_to_date and jobs for FARM_A, both published, with a few API calls counted, a users section
 * and the inventory health of two farms (FARM_B's put before FARM_A's, declared after it).
 */
static struct metrics_store *store_known(struct test_config *tc)
{
	struct metrics_store *s = NULL;
	struct usage_table *t;

	fixture_config(tc, 1, 2);
	CHECK_INT(metrics_store_new(&s, "1.2.3"), 0);
	if (!s)
		return NULL;
	CHECK_INT(metrics_store_set_reports(s, &tc->cfg), 0);
	t = fixture_table_month();
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc->reports[0], t, WINDOW_START, WINDOW_END, 1764115200, 1.5), 0);
	usage_table_free(t);
	t = fixture_table_jobs();
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc->reports[1], t, WINDOW_START, WINDOW_END, 1764115260, 0.25), 0);
	usage_table_free(t);
	metrics_store_count_request(s, FARM_A, "StartSessionsStatisticsAggregation", 429);
	metrics_store_count_request(s, FARM_A, "GetSessionsStatisticsAggregation", 200);
	metrics_store_count_request(s, FARM_A, "GetSessionsStatisticsAggregation", 0);
	metrics_store_count_request(s, FARM_A, "GetSessionsStatisticsAggregation", 200);
	CHECK_INT(metrics_store_put(s, &test_users_kind, NULL, test_users_section("u-1")), 0);
	CHECK_INT(metrics_store_declare(s, &inventory_kind, (const char *const[]){FARM_A, FARM_B}, 2), 0);
	CHECK_INT(metrics_store_put(s, &inventory_kind, FARM_B, inventory_health(FARM_B, true, 1700000000)), 0);
	CHECK_INT(metrics_store_put(s, &inventory_kind, FARM_A, inventory_health(FARM_A, false, 0)), 0);
	return s;
}

/* Every kind in its rank's place, each family once: usage, users, process, inventory, self. */
static void test_known_rendering(void)
{
	struct test_config tc;
	struct metrics_store *s = store_known(&tc);
	struct buf want = {0};
	char *plain, *unzipped;
	size_t plain_len = 0, unzipped_len = 0;

	for (size_t i = 0; expected_known_parts[i]; i++)
		CHECK_INT(buf_append(&want, expected_known_parts[i], strlen(expected_known_parts[i])), 0);
	CHECK_INT(buf_append(&want, "", 1), 0);
	const char *expected_known = want.data;
	if (!s || !expected_known) {
		buf_deinit(&want);
		metrics_store_free(s);
		return;
	}
	plain = fixture_scrape_text(s, false, &plain_len);
	CHECK(plain != NULL);
	if (plain) {
		CHECK_INT(plain_len, strlen(plain));
		CHECK(fixture_exposition_ok(plain));
	}
	unzipped = fixture_scrape_text(s, true, &unzipped_len);
	CHECK(unzipped != NULL);
	if (plain && unzipped) {
		CHECK_INT(unzipped_len, plain_len);
		CHECK(strcmp(unzipped, plain) == 0);
	}
	if (plain) {
		/* The process metrics come between the users and the inventory (process.c's test). */
		const char *proc = strstr(plain, "# HELP process_cpu_seconds_total ");
		CHECK(proc && proc > strstr(plain, "test_users_info{"));
		CHECK(proc && proc < strstr(plain, "# HELP deadline_cloud_exporter_inventory_up "));
		fixture_strip_process(plain);
		if (strcmp(plain, expected_known) != 0) {
			CHECK_MSG(0, "%s", "rendering differs from the expected text");
			fixture_print_diff(plain, expected_known);
		}
	}
	free(plain);
	free(unzipped);
	buf_deinit(&want);
	metrics_store_free(s);
}

static void test_set_reports_and_ready(void)
{
	struct test_config tc;
	struct metrics_store *s = NULL;
	struct usage_table *t;
	char *text;

	CHECK_INT(metrics_store_new(&s, "1"), 0);
	if (!s)
		return;
	CHECK(!metrics_store_ready(s)); /* nothing declared yet */
	fixture_config(&tc, 2, 2);
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	CHECK(!metrics_store_ready(s));

	t = fixture_table_month();
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[0], t, WINDOW_START, WINDOW_END, 100, 1), 0);
	CHECK_INT(metrics_store_publish(s, FARM_B, &tc.reports[0], t, WINDOW_START, WINDOW_END, 100, 1), 0);
	CHECK(!metrics_store_ready(s));
	metrics_store_fail(s, FARM_A, "jobs", 2);
	CHECK(!metrics_store_ready(s));
	metrics_store_fail(s, FARM_B, "jobs", 2);
	CHECK(metrics_store_ready(s)); /* a failed first attempt counts as finished */
	metrics_store_fail(s, FARM_B, "unknown", 2);
	/* Undeclared pairs are refused, and change nothing. */
	CHECK_INT(metrics_store_publish(s, FARM_B, &tc.reports[2], t, WINDOW_START, WINDOW_END, 100, 1), -ENOENT);

	/* A failure after a success keeps the figures and the last success time, with up=0. */
	metrics_store_fail(s, FARM_A, "month_to_date", 3);
	/* The kind a refresh asked by, once known; the last one shown; an undeclared pair ignored. */
	metrics_store_report_resources(s, FARM_A, "month_to_date", RESOURCE_QUEUES);
	metrics_store_report_resources(s, FARM_A, "month_to_date", RESOURCE_FLEETS);
	metrics_store_report_resources(s, FARM_B, "unknown", RESOURCE_FLEETS);
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text != NULL);
	if (text) {
		CHECK(strstr(
			text, "report_resources{farm_id=\"" FARM_A "\",report=\"month_to_date\",kind=\"queues\"} 0\n"));
		CHECK(strstr(
			text, "report_resources{farm_id=\"" FARM_A "\",report=\"month_to_date\",kind=\"fleets\"} 1\n"));
		CHECK(strstr(text, "report_resources{farm_id=\"" FARM_B) == NULL);
		CHECK(strstr(text, "report=\"jobs\",kind=") == NULL);
		CHECK(strstr(text, "report_up{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 0\n"));
		CHECK(strstr(text, "timestamp_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 100\n"));
		CHECK(strstr(text, "duration_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 3\n"));
		CHECK(strstr(text, "sessions{farm_id=\"" FARM_A "\",report=\"month_to_date\""));
		CHECK(strstr(text, "sessions{farm_id=\"" FARM_B "\",report=\"month_to_date\""));
		CHECK(fixture_exposition_ok(text));
	}
	free(text);

	/* FARM_B leaves, a report is added: FARM_B disappears, FARM_A keeps its figures, not ready again. */
	fixture_config(&tc, 1, 3);
	tc.reports[0].interval_seconds = 60;
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	CHECK(!metrics_store_ready(s));
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text != NULL);
	if (text) {
		CHECK(strstr(text, FARM_B) == NULL);
		CHECK(strstr(text, "sessions{farm_id=\"" FARM_A "\",report=\"month_to_date\""));
		CHECK(strstr(text, "timestamp_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 100\n"));
		CHECK(strstr(text, "interval_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 60\n"));
		CHECK(strstr(text, "report_up{farm_id=\"" FARM_A "\",report=\"everything\"} 0\n"));
		CHECK(fixture_exposition_ok(text));
	}
	free(text);
	metrics_store_fail(s, FARM_A, "everything", 1);
	CHECK(metrics_store_ready(s));

	/* Every report removed from the farm list: only the exporter's own figures remain. */
	fixture_config(&tc, 0, 3);
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text != NULL);
	if (text) {
		CHECK(strstr(text, "deadline_cloud_usage") == NULL);
		CHECK(strncmp(text, "# HELP process_cpu_seconds_total ", 33) == 0);
		CHECK(strstr(text, "\n# HELP deadline_cloud_exporter_build_info ") != NULL);
		CHECK(fixture_exposition_ok(text));
	}
	free(text);
	usage_table_free(t);
	metrics_store_free(s);
	metrics_store_free(NULL);
}

/* A scrape's pieces stay valid and unchanged while newer figures are published, and after the store is gone. */
static void test_scrape_outlives_publish(void)
{
	struct test_config tc;
	struct metrics_store *s = store_known(&tc);
	struct metrics_scrape sc, gz;
	struct usage_table *t;
	char *before;

	if (!s)
		return;
	before = fixture_scrape_text(s, false, NULL);
	CHECK_INT(metrics_store_scrape(s, false, &sc), 0);
	CHECK_INT(metrics_store_scrape(s, true, &gz), 0);
	t = fixture_table_jobs();
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[0], t, WINDOW_START, WINDOW_END, 5, 5), 0);
	usage_table_free(t);
	char *after = fixture_scrape_text(s, false, NULL);
	CHECK(before && after && strcmp(before, after) != 0);
	metrics_store_free(s);
	size_t at = 0;
	bool same = before != NULL;
	for (unsigned i = 0; same && i < sc.n_iov; i++) {
		same = memcmp(before + at, sc.iov[i].iov_base, sc.iov[i].iov_len) == 0;
		at += sc.iov[i].iov_len;
	}
	CHECK(same && before && at == strlen(before));
	CHECK(gz.n_iov >= 4 && gz.total_len > 18);
	char *gz_text = fixture_scrape_join(&gz, true, NULL);
	CHECK(gz_text && before && strcmp(gz_text, before) == 0);
	free(gz_text);
	metrics_scrape_release(&sc);
	metrics_scrape_release(&gz);
	metrics_scrape_release(&gz); /* released twice: harmless */
	free(before);
	free(after);
}

/* gzip of an empty body, and of a large one (the shared block is compressed once, at publish). */
static void test_gzip_sizes(void)
{
	struct test_config tc;
	struct metrics_store *s = NULL;
	struct usage_table *t = NULL;
	enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_JOB_ID};
	char *plain, *unzipped;
	size_t plain_len = 0, unzipped_len = 0;
	struct metrics_scrape sc;

	CHECK_INT(metrics_store_new(&s, "1"), 0);
	if (!s)
		return;
	unzipped = fixture_scrape_text(s, true, NULL);
	plain = fixture_scrape_text(s, false, NULL);
	CHECK(plain && unzipped && strcmp(plain, unzipped) == 0);
	CHECK(plain && fixture_exposition_ok(plain));
	free(plain);
	free(unzipped);

	fixture_config(&tc, 1, 1);
	tc.reports[0].group_by[0] = GROUP_QUEUE_ID;
	tc.reports[0].group_by[1] = GROUP_JOB_ID;
	tc.reports[0].statistics = STAT_ALL;
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	int failed = 0;
	for (int i = 0; i < 20000; i++) {
		char q[64], j[64], name[64];
		snprintf(q, sizeof(q), "queue-%032x", i % 7);
		snprintf(j, sizeof(j), "job-%032x", i);
		snprintf(name, sizeof(name), "shot %d", i);
		failed |= fixture_add_row(t, q, NULL, j, name, i, i * 0.01, 0.01, i * 3.5, 3.5) != 0;
	}
	CHECK(!failed);
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[0], t, WINDOW_START, WINDOW_END, 1, 1), 0);
	usage_table_free(t);
	plain = fixture_scrape_text(s, false, &plain_len);
	unzipped = fixture_scrape_text(s, true, &unzipped_len);
	CHECK(plain && unzipped && plain_len == unzipped_len && memcmp(plain, unzipped, plain_len) == 0);
	CHECK(plain && fixture_exposition_ok(plain));
	CHECK_INT(metrics_store_scrape(s, true, &sc), 0);
	CHECK_MSG(sc.total_len * 5 < plain_len, "gzip %zu bytes for %zu", sc.total_len, plain_len);
	metrics_scrape_release(&sc);
	/*
	 * ~35 MB of text: many 1 MiB segments per family, rendered and compressed by several threads at once.
	 * Every line is whole and each family's lines keep the groups' order (segments are joined in order).
	 */
	CHECK_MSG(plain_len > 8u << 20, "the large report is %zu bytes", plain_len);
	/* Per family: the groups in the order they appear (a hash over the sequence) must be the same in all three. */
	enum { N_FAMILIES = 9 };
	static const char *const fam[N_FAMILIES] = {"deadline_cloud_usage_cost_usd{",
		"deadline_cloud_usage_session_cost_min_usd{", "deadline_cloud_usage_session_cost_max_usd{",
		"deadline_cloud_usage_session_cost_avg_usd{", "deadline_cloud_usage_runtime_seconds{",
		"deadline_cloud_usage_session_runtime_min_seconds{",
		"deadline_cloud_usage_session_runtime_max_seconds{",
		"deadline_cloud_usage_session_runtime_avg_seconds{", "deadline_cloud_usage_sessions{"};
	size_t samples = 0, groups[N_FAMILIES] = {0};
	uint64_t seq[N_FAMILIES] = {0}, last[N_FAMILIES] = {0};
	for (const char *line = plain; line && *line;) {
		const char *nl = strchr(line, '\n');
		if (!nl)
			break;
		for (int f = 0; f < N_FAMILIES; f++) {
			if (strncmp(line, fam[f], strlen(fam[f])) != 0)
				continue;
			/* the labels (searched within the line only: the text is large) */
			const char *k = line + strlen(fam[f]), *brace = memchr(k, '}', (size_t)(nl - k));
			const char *e = brace ? brace : nl;
			uint64_t h = 1469598103934665603u;
			for (const char *c = k; c < e; c++)
				h = (h ^ (unsigned char)*c) * 1099511628211u;
			if (groups[f] == 0 || h != last[f]) {
				seq[f] = (seq[f] ^ h) * 1099511628211u;
				groups[f]++;
				last[f] = h;
			}
			samples++;
		}
		line = nl + 1;
	}
	CHECK_MSG(samples == 20000 * N_FAMILIES, "%zu samples, want %d", samples, 20000 * N_FAMILIES);
	for (int f = 0; f < N_FAMILIES; f++) {
		CHECK_MSG(groups[f] == 20000, "%s: %zu groups", fam[f], groups[f]);
		CHECK(seq[f] == seq[0]);
	}
	if (plain)
		fixture_check_external_gunzip(s, plain, plain_len);
	free(plain);
	free(unzipped);
	metrics_store_free(s);
}

/*
 * Several farms and reports published, republished, failed and dropped in turn: the gzip scrape (its parts
 * compressed per report, its crc32 combined) always decodes to exactly the plain text, with zlib, gzip -dc and
 * python's gzip; and the cached self-metrics follow every change of the counters.
 */
static void test_gzip_parts(void)
{
	struct test_config tc;
	struct metrics_store *s = NULL;
	char *plain, *unzipped, *prev;
	size_t plain_len = 0, unzipped_len = 0;

	CHECK_INT(metrics_store_new(&s, "1"), 0);
	if (!s)
		return;
	fixture_config(&tc, 2, 2);
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	for (int step = 0; step < 8; step++) {
		const char *farm = tc.cfg.farms[step % 2].id;
		const struct report_config *r = &tc.reports[(step / 2) % 2];
		struct usage_table *t = (step / 2) % 2 ? fixture_table_jobs() : fixture_table_month();
		if (step == 5)
			metrics_store_fail(s, farm, r->name, 2.5);
		else
			CHECK_INT(
				metrics_store_publish(s, farm, r, t, WINDOW_START, WINDOW_END, 100 + step, 0.25 * step),
				0);
		usage_table_free(t);
		if (step == 6)
			CHECK_INT(metrics_store_drop(s, tc.cfg.farms[0].id, tc.reports[0].name), 0);
		plain = fixture_scrape_text(s, false, &plain_len);
		unzipped = fixture_scrape_text(s, true, &unzipped_len);
		CHECK(plain && unzipped && plain_len == unzipped_len && memcmp(plain, unzipped, plain_len) == 0);
		CHECK(plain && fixture_exposition_ok(plain));
		if (plain && (step == 0 || step == 7))
			fixture_check_external_gunzip(s, plain, plain_len);
		free(unzipped);

		/* A counter changes: the next scrape (plain and gzip) shows it, though nothing else changed. */
		prev = plain;
		metrics_store_count_request(s, FARM_A, "GetSessionsStatisticsAggregation", 200 + step);
		plain = fixture_scrape_text(s, false, &plain_len);
		unzipped = fixture_scrape_text(s, true, &unzipped_len);
		CHECK(plain && prev && strcmp(plain, prev) != 0);
		CHECK(plain && unzipped && plain_len == unzipped_len && memcmp(plain, unzipped, plain_len) == 0);
		char code[64];
		snprintf(code, sizeof(code), "code=\"%d\"} 1\n", 200 + step);
		CHECK(plain && strstr(plain, code) != NULL);
		free(prev);
		free(unzipped);
		/* Unchanged: the same text again (from the cache). */
		prev = plain;
		plain = fixture_scrape_text(s, false, NULL);
		CHECK(plain && prev && strcmp(plain, prev) == 0);
		free(prev);
		free(plain);
	}
	metrics_store_free(s);
}

/* `promtool check metrics` must print nothing for a realistic output (skipped without promtool). */
static void test_promtool(void)
{
	char promtool[4096], file[] = "/tmp/test-metrics-XXXXXX", command[8192], output[4096];
	struct test_config tc;
	struct metrics_store *s;
	char *text;
	size_t len = 0;
	FILE *f;
	int fd;

	if (!fixture_find_in_path("promtool", promtool, sizeof(promtool))) {
		fprintf(stderr, "note: promtool not on PATH, exposition not checked with it\n");
		return;
	}
	s = store_known(&tc);
	if (!s)
		return;
	text = fixture_scrape_text(s, false, &len);
	metrics_store_free(s);
	if (!text)
		return;
	fd = mkstemp(file);
	CHECK(fd >= 0);
	if (fd < 0) {
		free(text);
		return;
	}
	CHECK(write(fd, text, len) == (ssize_t)len);
	CHECK_INT(close(fd), 0);
	free(text);
	snprintf(command, sizeof(command), "'%s' check metrics < '%s' 2>&1", promtool, file);
	f = popen(command, "r");
	CHECK(f != NULL);
	if (f) {
		size_t n = fread(output, 1, sizeof(output) - 1, f);
		output[n] = '\0';
		int status = pclose(f);
		CHECK_MSG(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "promtool status %d", status);
		CHECK_MSG(n == 0, "promtool said: %s", output);
	}
	CHECK_INT(unlink(file), 0);
}

/*
 * Version 2: each statistic its own metric, so that a sum over any label means something. No `statistic` label
 * anywhere; summed over every label, cost, run time and sessions are the report's totals; every usage metric's
 * series all carry the same label names.
 */
static void test_sums_meaningful(void)
{
	struct test_config tc;
	struct metrics_store *s = store_known(&tc);
	char *text;
	size_t n = 0;

	if (!s)
		return;
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text != NULL);
	if (text) {
		CHECK(strstr(text, "statistic") == NULL);
		/* fixture_table_month(): 3 rows, costs 0.5 + 4.5 + 0.25, run times 7200 + 4.5 + 3600, 6 sessions; the
		 * jobs report asks for no SUM: only month_to_date has the totals. */
		CHECK(fixture_sum_of(text, "deadline_cloud_usage_cost_usd", &n) == 0.5 + 4.5 + 0.25 && n == 2);
		CHECK(fixture_sum_of(text, "deadline_cloud_usage_runtime_seconds", &n) == 7200 + 4.5 + 3600 && n == 2);
		/* sessions: 6 in month_to_date, 2 in jobs */
		CHECK(fixture_sum_of(text, "deadline_cloud_usage_sessions", &n) == 6 + 2 && n == 4);
		/* one metric, one label set: the min of a group is never mixed into its sum */
		CHECK(fixture_sample(text,
			      "deadline_cloud_usage_session_cost_min_usd{farm_id=\"" FARM_A
			      "\",report=\"jobs\",job_id=\"job-1\",job_name=\"Shot \\\"A\\\"\\\\v2\\nfinal\"}") == 1);
		CHECK(strstr(text, "deadline_cloud_usage_cost_usd{farm_id=\"" FARM_A "\",report=\"jobs\"") == NULL);
		CHECK(fixture_exposition_ok(text));
	}
	free(text);
	metrics_store_free(s);
}

/*
 * Counter bumps only count: the self-metrics are rendered again by a scrape that finds them changed and at least
 * the interval old, never on every bump; until then scrapes serve the section already made. A report's health
 * (declared, published, failed, dropped) is shown by the next scrape whatever the section's age.
 */
static void test_self_pace(void)
{
	struct test_config tc;
	struct metrics_store *s = NULL;
	char *first, *second, *third;

	fixture_config(&tc, 1, 1);
	metrics_self_interval(0.4);
	CHECK_INT(metrics_store_new(&s, "1"), 0);
	if (!s)
		return;
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	first = fixture_scrape_text(s, false, NULL); /* the declared report, at once */
	metrics_store_count_request(s, FARM_A, "GetSessionsStatisticsAggregation", 200);
	second = fixture_scrape_text(s, false, NULL);
	metrics_store_fail(s, FARM_A, "month_to_date", 2);
	third = fixture_scrape_text(s, false, NULL);
	CHECK(first && strstr(first, "report_up{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 0\n"));
	CHECK(first && !strstr(first, "api_requests_total"));
	/* within the interval: the same self-metrics, though a counter moved */
	CHECK(first && second && strcmp(first, second) == 0);
	/* a failed refresh is shown at once, with the counter bumped before it */
	CHECK(third && strstr(third, "report_duration_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 2\n"));
	CHECK(third && strstr(third, "api_requests_total{farm_id=\"" FARM_A
				     "\",operation=\"GetSessionsStatisticsAggregation\",code=\"200\"} 1"));
	free(first);
	free(second);
	free(third);
	/* a counter alone is shown once the interval has passed */
	metrics_store_count_request(s, FARM_A, "GetSessionsStatisticsAggregation", 200);
	first = fixture_scrape_text(s, false, NULL);
	usleep(450 * 1000);
	second = fixture_scrape_text(s, false, NULL);
	CHECK(first && strstr(first, "api_requests_total{farm_id=\"" FARM_A
				     "\",operation=\"GetSessionsStatisticsAggregation\",code=\"200\"} 1"));
	CHECK(second && strstr(second, "api_requests_total{farm_id=\"" FARM_A
				       "\",operation=\"GetSessionsStatisticsAggregation\",code=\"200\"} 2"));
	free(first);
	free(second);
	metrics_store_free(s);
	metrics_self_interval(0);
}

/* A thread that bumps counters while the main one scrapes: every scrape whole, the counts only ever growing. */
struct bumper {
	struct metrics_store *s;
	volatile bool stop;
	unsigned long bumps;
};

static void *bump(void *arg)
{
	struct bumper *b = arg;

	while (!b->stop) {
		metrics_store_count_request(b->s, FARM_A, "GetSessionsStatisticsAggregation", 200);
		metrics_store_count(b->s, METRICS_PAGES, (const char *const[]){FARM_A, "month_to_date"}, 1);
		b->bumps++;
	}
	return NULL;
}

static void test_counting_while_scraping(void)
{
	struct test_config tc;
	struct bumper b = {0};
	pthread_t thread;
	double last = 0;
	bool ok = true;

	fixture_config(&tc, 1, 1);
	CHECK_INT(metrics_store_new(&b.s, "1"), 0);
	if (!b.s)
		return;
	CHECK_INT(metrics_store_set_reports(b.s, &tc.cfg), 0);
	CHECK_INT(pthread_create(&thread, NULL, bump, &b), 0);
	for (int i = 0; i < 200 && ok; i++) {
		char *text = fixture_scrape_text(b.s, i % 2, NULL);
		double n =
			text ? fixture_sample(text, "deadline_cloud_exporter_api_requests_total{farm_id=\"" FARM_A
						    "\",operation=\"GetSessionsStatisticsAggregation\",code=\"200\"}")
			     : NAN;
		ok = text && fixture_exposition_ok(text) && (isnan(n) ? last == 0 : n >= last);
		if (!isnan(n))
			last = n;
		free(text);
	}
	b.stop = true;
	pthread_join(thread, NULL);
	CHECK_MSG(ok, "scrapes whole and counts growing (%lu bumps, last seen %g)", b.bumps, last);
	metrics_store_free(b.s);
}

/*
 * Sections of a declared kind: only declared keys are taken, in the order declared whatever the order they come in;
 * a declaration keeps the sections of the keys it keeps; a kind of one section takes no key; a section not sealed,
 * of another kind, or of a kind whose rank another kind holds is refused, and the one shown stays.
 */
static void test_declare_and_put(void)
{
	static const struct exposition_family other_families[] = {{"other_info", EXPOSITION_GAUGE, "Another."}};
	struct metrics_kind other = {.rank = METRICS_RANK_USERS, .families = other_families, .n_families = 1};
	struct metrics_store *s = NULL;
	struct metrics_section *open = NULL;
	char *text;

	CHECK_INT(metrics_store_new(&s, "1"), 0);
	if (!s)
		return;
	CHECK_INT(metrics_store_put(s, &inventory_kind, FARM_A, inventory_health(FARM_A, true, 5)), -ENOENT);
	CHECK_INT(metrics_store_declare(s, &inventory_kind, (const char *const[]){FARM_B, FARM_A, FARM_B}, 3), 0);
	CHECK_INT(metrics_store_put(s, &inventory_kind, FARM_A, inventory_health(FARM_A, true, 5)), 0);
	CHECK_INT(metrics_store_put(s, &inventory_kind, FARM_B, inventory_health(FARM_B, true, 6)), 0);
	CHECK_INT(metrics_store_put(s, &inventory_kind, NULL, inventory_health(FARM_B, true, 7)), -EINVAL);
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text && strstr(text, "inventory_up{farm_id=\"" FARM_B "\"} 1\n"
				   "deadline_cloud_exporter_inventory_up{farm_id=\"" FARM_A "\"} 1\n"));
	CHECK(text && fixture_exposition_ok(text));
	free(text);

	/* FARM_A goes, FARM_B stays with its section, a new farm has none yet. */
	CHECK_INT(metrics_store_declare(s, &inventory_kind, (const char *const[]){"farm-new", FARM_B}, 2), 0);
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text && !strstr(text, FARM_A) && strstr(text, "timestamp_seconds{farm_id=\"" FARM_B "\"} 6\n"));
	CHECK(text && !strstr(text, "farm-new"));
	free(text);

	/* One-section kinds: no key, no declaring; the rank is the first kind's; sealed sections only. */
	CHECK_INT(metrics_store_put(s, &test_users_kind, "key", test_users_section("u-1")), -ENOENT);
	CHECK_INT(metrics_store_put(s, &test_users_kind, NULL, test_users_section("u-1")), 0);
	CHECK_INT(metrics_store_put(s, &other, NULL, NULL), -EINVAL);
	CHECK_INT(metrics_section_new(&open, &test_users_kind), 0);
	CHECK_INT(metrics_store_put(s, &test_users_kind, NULL, open), -EINVAL);
	CHECK_INT(metrics_store_put(s, &test_users_kind, NULL, inventory_health(FARM_B, true, 8)), -EINVAL);
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text && strstr(text, "test_users_info{user_id=\"u-1\"} 1\n") && !strstr(text, "} 8\n"));
	free(text);
	CHECK_INT(metrics_store_put(s, &test_users_kind, NULL, NULL), 0);
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text && !strstr(text, "test_users_info"));
	free(text);
	metrics_store_free(s);
}

int main(void)
{
	/* Comparisons of successive scrapes: the process metrics of the first read throughout. */
	metrics_process_hold(true);
	/* Every change shown by the next scrape, but in test_self_pace. */
	metrics_self_interval(0);
	test_known_rendering();
	test_set_reports_and_ready();
	test_scrape_outlives_publish();
	test_gzip_sizes();
	test_gzip_parts();
	test_sums_meaningful();
	test_self_pace();
	test_counting_while_scraping();
	test_declare_and_put();
	test_promtool();
	TEST_DONE();
}
