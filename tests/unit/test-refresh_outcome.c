/* test-refresh_outcome: a refresh's failure kinds, each declared at 0 for the reports that can fail with it */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "deadline/api_policy.h"
#include "deadline/queue_search.h"
#include "deadline/refresh_outcome.h"
#include "metrics_fixtures.h"
#include "test.h"

#define FARM "farm-00000000000000000000000000000001"

static const char config_text[] =
	"farms = ( { id = \"" FARM "\"; } );\n"
	"reports = (\n"
	"  { name = \"plain\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; },\n"
	"  { name = \"labelled\"; window = \"month\"; group_by = [ \"JOB_ID\" ];\n"
	"    labels = ( { label = \"show\"; source = \"queue_name\"; default = \"\"; } ); },\n"
	"  { name = \"counted\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; statistics = [ \"SUM\" ];\n"
	"    counter = true; }\n"
	");\n";

/* Every outcome a refresh can end with (API_STOPPED is not counted). */
static const int outcomes[] = {API_THROTTLED, API_NOT_FOUND, API_DENIED, API_CLIENT_ERROR, API_SERVER_ERROR,
	API_BAD_RESPONSE, API_NO_CREDENTIALS, -ECONNREFUSED, -ENOMEM, REFRESH_AGG_EXPIRED, REFRESH_AGG_FAILED,
	REFRESH_CLOCK_BEHIND, QUEUE_SEARCH_NO_NAMES};

/* Whether the scrape text has refresh_errors_total{farm, report, kind} at 0. */
static bool declared(const char *text, const char *report, const char *kind)
{
	char line[512];

	snprintf(line, sizeof(line),
		"deadline_cloud_exporter_refresh_errors_total{farm_id=\"" FARM "\",report=\"%s\",kind=\"%s\"} 0\n",
		report, kind);
	return strstr(text, line) != NULL;
}

static void test_declared_kinds(void)
{
	struct config *cfg = NULL;
	struct metrics_store *s = NULL;
	char err[2048] = "", *text;

	CHECK_MSG(config_load_string(&cfg, "t.conf", config_text, err, sizeof(err)) == 0, "%s", err);
	if (!cfg)
		return;
	CHECK_INT(metrics_store_new(&s, "test"), 0);
	CHECK_INT(metrics_store_set_reports(s, cfg), 0);
	for (size_t i = 0; i < cfg->n_reports; i++)
		refresh_declare_counters(s, &cfg->farms[0], &cfg->reports[i]);
	text = fixture_scrape_text(s, false, NULL);
	CHECK(text != NULL);
	for (size_t i = 0; text && i < cfg->n_reports; i++) {
		const struct report_config *rc = &cfg->reports[i];
		for (size_t k = 0; k < sizeof(outcomes) / sizeof(outcomes[0]); k++) {
			const char *kind = refresh_error_kind(outcomes[k]);
			/* A report fails for want of queue names only with labels, behind its clock only as counters.
			 */
			bool can = (outcomes[k] != QUEUE_SEARCH_NO_NAMES || rc->n_labels) &&
				   (outcomes[k] != REFRESH_CLOCK_BEHIND || rc->counter);
			CHECK_MSG(declared(text, rc->name, kind) == can, "report %s kind %s: %s", rc->name, kind,
				can ? "not declared" : "declared");
		}
	}
	free(text);
	metrics_store_free(s);
	config_free(cfg);
}

/* The kinds a refresh's own outcomes are counted under, and the reasons logged. */
static void test_kinds(void)
{
	CHECK_STR(refresh_error_kind(REFRESH_AGG_FAILED), "aggregation_failed");
	CHECK_STR(refresh_error_kind(REFRESH_AGG_EXPIRED), "aggregation_expired");
	CHECK_STR(refresh_error_kind(REFRESH_CLOCK_BEHIND), "clock_behind");
	CHECK_STR(refresh_error_kind(QUEUE_SEARCH_NO_NAMES), "no_queue_names");
	CHECK_STR(refresh_error_kind(API_DENIED), "access_denied");
	CHECK_STR(refresh_error_text(QUEUE_SEARCH_NO_NAMES), "the inventory has not listed the farm's queue names yet");
	CHECK(refresh_error_is_persistent(REFRESH_CLOCK_BEHIND));
	CHECK(!refresh_error_is_persistent(API_THROTTLED));
}

int main(void)
{
	metrics_self_interval(0);
	test_kinds();
	test_declared_kinds();
	TEST_DONE();
}
