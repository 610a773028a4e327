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
	"# HELP deadline_cloud_exporter_api_requests_total Deadline Cloud API requests made, by operation and HTTP "
	"status "
	"code (error: the request failed before a status).\n"
	"# TYPE deadline_cloud_exporter_api_requests_total counter\n"
	"deadline_cloud_exporter_api_requests_total{operation=\"Get\",code=\"error\"} 2\n"
	"deadline_cloud_exporter_api_requests_total{operation=\"Get\",code=\"200\"} 1\n"
	"deadline_cloud_exporter_api_requests_total{operation=\"Start\",code=\"429\"} 1\n"
	"# HELP deadline_cloud_exporter_pages_read_total Pages of statistics read for the report and farm.\n"
	"# TYPE deadline_cloud_exporter_pages_read_total counter\n"
	"deadline_cloud_exporter_pages_read_total{farm_id=\"" FARM "\",report=\"a\\\"b\"} 5\n"
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
	metrics_self_count_request(&self, "Start", 429);
	metrics_self_count_request(&self, "Get", 200);
	metrics_self_count_request(&self, "Get", 0);
	metrics_self_count_request(&self, "Get", 42); /* no HTTP status: an error */
	metrics_self_count(&self, METRICS_PAGES, (const char *const[]){FARM, "a\"b"}, 2);
	metrics_self_count(&self, METRICS_PAGES, (const char *const[]){FARM, "a\"b"}, 3);
	metrics_self_count(&self, METRICS_PAGES, (const char *const[]){FARM, "gone"}, 1);
	metrics_self_count(&self, METRICS_PAGES, (const char *const[]){FARM, NULL}, 1); /* refused */
	metrics_self_prune(&self, entries, 2);
	CHECK_INT(self.events[METRICS_PAGES].n, 1);

	CHECK_INT(metrics_self_view_init(&view, &self, entries, 2), 0);
	metrics_self_deinit(&self);
	kept.report = (char *)"changed";
	text = render(&view);
	CHECK_STR(text, expected);
	free(text);
	metrics_self_view_deinit(&view);
}

int main(void)
{
	test_view();
	TEST_DONE();
}
