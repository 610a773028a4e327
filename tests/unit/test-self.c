/* test-self: the exporter's own counters (sorted, bounded, pruned), the copy they are rendered from, its section */
#include <stdlib.h>
#include <string.h>

#include "metrics/self.h"
#include "test.h"

#define FARM "farm-0123456789abcdef0123456789abcdef"

/* The self section's text of view, NUL-terminated. */
static char *render(const struct metrics_self_view *view)
{
	struct metrics_section *sec = NULL;
	struct metrics_body *body = NULL;
	struct buf b = {0};

	CHECK_INT(metrics_self_section_new(&sec, view), 0);
	if (sec)
		CHECK_INT(metrics_body_new(&body, &metrics_self_kind, &sec, 1), 0);
	if (body)
		CHECK_INT(metrics_body_text(body, &b), 0);
	metrics_body_unref(body);
	metrics_section_unref(sec);
	CHECK_INT(buf_putc(&b, '\0'), 0);
	return buf_take(&b, NULL);
}

static const char expected[] =
	"# HELP deadline_cloud_exporter_report_up 1 when the last refresh of the report for the farm succeeded, 0 when "
	"it failed or has not finished yet.\n"
	"# TYPE deadline_cloud_exporter_report_up gauge\n"
	"deadline_cloud_exporter_report_up{farm_id=\"" FARM "\",report=\"a\\\"b\"} 1\n"
	"deadline_cloud_exporter_report_up{farm_id=\"" FARM "\",report=\"new\"} 0\n"
	"# HELP deadline_cloud_exporter_report_last_success_timestamp_seconds Unix time of the last successful refresh "
	"of the report for the farm, 0 before the first.\n"
	"# TYPE deadline_cloud_exporter_report_last_success_timestamp_seconds gauge\n"
	"deadline_cloud_exporter_report_last_success_timestamp_seconds{farm_id=\"" FARM
	"\",report=\"a\\\"b\"} 1700000000\n"
	"deadline_cloud_exporter_report_last_success_timestamp_seconds{farm_id=\"" FARM "\",report=\"new\"} 0\n"
	"# HELP deadline_cloud_exporter_report_duration_seconds Length in seconds of the last refresh attempt of the "
	"report for the farm.\n"
	"# TYPE deadline_cloud_exporter_report_duration_seconds gauge\n"
	"deadline_cloud_exporter_report_duration_seconds{farm_id=\"" FARM "\",report=\"a\\\"b\"} 0.125\n"
	"# HELP deadline_cloud_exporter_report_interval_seconds Configured refresh interval of the report, in "
	"seconds.\n"
	"# TYPE deadline_cloud_exporter_report_interval_seconds gauge\n"
	"deadline_cloud_exporter_report_interval_seconds{farm_id=\"" FARM "\",report=\"a\\\"b\"} 300\n"
	"deadline_cloud_exporter_report_interval_seconds{farm_id=\"" FARM "\",report=\"new\"} 60\n"
	"# HELP deadline_cloud_exporter_report_resources The kind of ids (queues or fleets) the last refresh of the "
	"report for the farm asked the API by: 1 for that kind, 0 for the other.\n"
	"# TYPE deadline_cloud_exporter_report_resources gauge\n"
	"deadline_cloud_exporter_report_resources{farm_id=\"" FARM "\",report=\"a\\\"b\",kind=\"queues\"} 0\n"
	"deadline_cloud_exporter_report_resources{farm_id=\"" FARM "\",report=\"a\\\"b\",kind=\"fleets\"} 1\n"
	"# HELP deadline_cloud_exporter_api_requests_total AWS API requests made, by farm (- for account-wide calls: "
	"STS, license endpoints, the identity store), operation and HTTP status code (error: the request failed before "
	"a status).\n"
	"# TYPE deadline_cloud_exporter_api_requests_total counter\n"
	"deadline_cloud_exporter_api_requests_total{farm_id=\"-\",operation=\"AssumeRole\",code=\"200\"} 0\n"
	"deadline_cloud_exporter_api_requests_total{farm_id=\"" FARM "\",operation=\"Get\",code=\"error\"} 2\n"
	"deadline_cloud_exporter_api_requests_total{farm_id=\"" FARM "\",operation=\"Get\",code=\"200\"} 1\n"
	"deadline_cloud_exporter_api_requests_total{farm_id=\"" FARM "\",operation=\"Start\",code=\"200\"} 0\n"
	"deadline_cloud_exporter_api_requests_total{farm_id=\"" FARM "\",operation=\"Start\",code=\"429\"} 1\n"
	"# HELP deadline_cloud_exporter_pages_read_total Pages of statistics read for the report and farm.\n"
	"# TYPE deadline_cloud_exporter_pages_read_total counter\n"
	"deadline_cloud_exporter_pages_read_total{farm_id=\"" FARM "\",report=\"a\\\"b\"} 5\n"
	"deadline_cloud_exporter_pages_read_total{farm_id=\"" FARM "\",report=\"new\"} 0\n"
	"# HELP deadline_cloud_exporter_build_info The exporter's version; always 1.\n"
	"# TYPE deadline_cloud_exporter_build_info gauge\n"
	"deadline_cloud_exporter_build_info{version=\"9.9\"} 1\n";

/*
 * Counters kept sorted (a status out of range is a transport error), event series pruned with the pairs they
 * name; the kind of ids a pair's refresh asked by, once known, as a state set; the view a deep copy, rendered the
 * same after the originals are gone.
 */
static void test_view(void)
{
	struct metrics_self self;
	struct metrics_entry kept = {.farm_id = (char *)FARM,
		.report = (char *)"a\"b",
		.interval_seconds = 300,
		.attempted = true,
		.up = true,
		.succeeded = true,
		.last_success = 1700000000,
		.duration = 0.125,
		.kind_known = true,
		.kind = RESOURCE_FLEETS};
	struct metrics_entry fresh = {.farm_id = (char *)FARM, .report = (char *)"new", .interval_seconds = 60};
	struct metrics_entry *entries[] = {&kept, &fresh};
	struct metrics_self_view view;
	char *text;

	CHECK_INT(metrics_self_init(&self, "9.9"), 0);
	metrics_self_count_request(&self, FARM, "Start", 429, 1);
	metrics_self_count_request(&self, FARM, "Get", 200, 1);
	metrics_self_count_request(&self, FARM, "Get", 0, 1);
	metrics_self_count_request(&self, FARM, "Get", 42, 1); /* no HTTP status: an error */
	/* declared: shown at 0 before the first, and counted on from there */
	metrics_self_count_request(&self, FARM, "Start", 200, 0);
	metrics_self_count_request(&self, "-", "AssumeRole", 200, 0);
	metrics_self_count(&self, METRICS_PAGES, (const char *const[]){FARM, "new"}, 0);
	metrics_self_count(&self, METRICS_PAGES, (const char *const[]){FARM, "a\"b"}, 2);
	metrics_self_count(&self, METRICS_PAGES, (const char *const[]){FARM, "a\"b"}, 3);
	metrics_self_count(&self, METRICS_PAGES, (const char *const[]){FARM, "gone"}, 1);
	metrics_self_count(&self, METRICS_PAGES, (const char *const[]){FARM, NULL}, 1); /* refused */
	metrics_self_prune(&self, entries, 2, true);
	CHECK_INT(self.events[METRICS_PAGES].n, 2);

	CHECK_INT(metrics_self_view_init(&view, &self, entries, 2), 0);
	metrics_self_deinit(&self);
	kept.report = (char *)"changed";
	text = render(&view);
	CHECK_STR(text, expected);
	free(text);
	metrics_self_view_deinit(&view);
}

/*
 * A farm no longer declared loses its series (the requests' too), a pair dropped alone loses only its own; the
 * account-wide "-" series stay.
 */
static void test_prune_farms(void)
{
	struct metrics_entry a = {.farm_id = (char *)"farm-a", .report = (char *)"r"};
	struct metrics_entry b = {.farm_id = (char *)"farm-b", .report = (char *)"r"};
	struct metrics_entry *both[] = {&a, &b}, *only_a[] = {&a};
	struct metrics_self self;

	CHECK_INT(metrics_self_init(&self, "1"), 0);
	for (size_t i = 0; i < 2; i++) {
		const char *farm = both[i]->farm_id;
		metrics_self_count_request(&self, farm, "Get", 200, 1);
		metrics_self_count(&self, METRICS_AGGREGATIONS, (const char *const[]){farm, "COMPLETED"}, 1);
		metrics_self_count(&self, METRICS_API_RETRIES, (const char *const[]){farm, "Get"}, 0);
		metrics_self_count(&self, METRICS_ROWS, (const char *const[]){farm, "r"}, 7);
	}
	metrics_self_count_request(&self, "-", "DescribeUser", 200, 1);
	metrics_self_count(&self, METRICS_API_RETRIES, (const char *const[]){"-", "DescribeUser"}, 0);

	/* a pair dropped on its own (a changed report): its farm's counters go on */
	metrics_self_prune(&self, only_a, 1, false);
	CHECK_INT(self.events[METRICS_ROWS].n, 1);
	CHECK_INT(self.events[METRICS_AGGREGATIONS].n, 2);
	CHECK_INT(self.n_counters, 3);
	/* the farm gone from the configuration */
	metrics_self_prune(&self, only_a, 1, true);
	CHECK_INT(self.events[METRICS_AGGREGATIONS].n, 1);
	CHECK_STR(self.events[METRICS_AGGREGATIONS].series[0].values[0], "farm-a");
	CHECK_INT(self.events[METRICS_API_RETRIES].n, 2); /* "-" and farm-a */
	CHECK_INT(self.n_counters, 2);
	CHECK_STR(self.counters[0].farm_id, "-");
	CHECK_STR(self.counters[1].farm_id, "farm-a");
	metrics_self_deinit(&self);
}

int main(void)
{
	test_view();
	test_prune_farms();
	TEST_DONE();
}
