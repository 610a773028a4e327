/* test-config_reports: reports[].counter, resources, labels and keep: what loads, and each mistake with its line */
#include <stdio.h>

#include "config_cases.h"

#define EXAMPLE_PATH TEST_SOURCE_ROOT "/config/deadline-cloud-exporter.conf"

/* One valid line each: a bad case changes one thing and knows the line of it. */
#define FARMS "farms = ( { id = \"" CASES_FARM_ID "\"; } );\n"
#define FARM_WITH(x) "farms = ( { id = \"" CASES_FARM_ID "\"; " x " } );\n"
#define QUEUE_LIST "queues = [ \"" CASES_QUEUE_ID "\" ];"
#define FLEET_LIST "fleets = [ \"" CASES_FLEET_ID "\" ];"
/* a report on line 2, by job and usage type, with x added */
#define JOBS(x) \
	"reports = ( { name = \"r\"; window = \"month\"; group_by = [ \"JOB_ID\", \"USAGE_TYPE\" ]; " x " } );\n"
#define REPORT(group_by, x) "reports = ( { name = \"r\"; window = \"month\"; group_by = [ " group_by " ]; " x " } );\n"
#define WINDOW(w, x) "reports = ( { name = \"r\"; window = \"" w "\"; group_by = [ \"QUEUE_ID\" ]; " x " } );\n"
/* one rule of labels, with x inside it */
#define RULE(x) "labels = ( { " x " } );"
#define SHOW \
	"label = \"show\"; source = \"job_name\"; regex = \"([a-z0-9]+)_.*\"; replacement = \"$1\"; default = " \
	"\"unknown\";"
#define PROD "label = \"production\"; source = \"queue_name\"; regex = \"(.+) - .*\"; default = \"unknown\";"
#define RULES_A1_TO_A8 \
	"labels = ( { label = \"a1\"; source = \"job_name\"; default = \"\"; }, " \
	"{ label = \"a2\"; source = \"job_name\"; default = \"\"; }, " \
	"{ label = \"a3\"; source = \"job_name\"; default = \"\"; }, " \
	"{ label = \"a4\"; source = \"job_name\"; default = \"\"; }, " \
	"{ label = \"a5\"; source = \"job_name\"; default = \"\"; }, " \
	"{ label = \"a6\"; source = \"job_name\"; default = \"\"; }, " \
	"{ label = \"a7\"; source = \"job_name\"; default = \"\"; }, " \
	"{ label = \"a8\"; source = \"job_name\"; default = \"\"; }"
#define EIGHT_RULES RULES_A1_TO_A8 " );"

static const char *const good[] = {
	/* counter: a calendar window with SUM, without limit */
	FARMS JOBS("counter = true;"),
	FARMS WINDOW("day", "counter = true; statistics = [ \"SUM\" ];"),
	FARMS WINDOW("week", "counter = true; statistics = [ \"MAX\", \"SUM\" ];"),
	FARMS WINDOW("7d", "counter = false; limit = 5;"),
	/* resources */
	FARMS WINDOW("month", "resources = \"auto\";"),
	FARMS WINDOW("month", "resources = \"queues\";"),
	FARMS WINDOW("month", "resources = \"fleets\";"),
	FARM_WITH(QUEUE_LIST) WINDOW("month", ""),
	FARM_WITH(FLEET_LIST) WINDOW("month", ""),
	FARM_WITH(QUEUE_LIST FLEET_LIST) WINDOW("month", "resources = \"queues\";"),
	FARM_WITH(QUEUE_LIST FLEET_LIST) WINDOW("month", "resources = \"fleets\";"),
	/* the contract's example */
	FARMS "reports = ( {\n"
	      "  name = \"by_show\"; window = \"month\"; group_by = [ \"JOB_ID\", \"USAGE_TYPE\" ]; counter = true;\n"
	      "  labels = (\n"
	      "    { label = \"show\"; source = \"job_name\"; regex = \"([a-z0-9]+)_.*\"; replacement = \"$1\";"
	      " default = \"unknown\"; },\n"
	      "    { label = \"department\"; source = \"job_name\"; regex = \".*_(anim|comp|fx|lgt|lookdev)_.*\";"
	      " replacement = \"$1\"; default = \"other\"; },\n"
	      "    { label = \"production\"; source = \"queue_name\"; regex = \"(.+) - .*\"; replacement = \"$1\";"
	      " default = \"unknown\"; }\n"
	      "  );\n"
	      "  keep = [ \"USAGE_TYPE\" ];\n"
	      "} );\n",
	FARMS REPORT("\"QUEUE_ID\"", RULE(PROD)),
	FARMS REPORT("\"QUEUE_ID\", \"JOB_ID\"", RULE(PROD) "keep = [ \"QUEUE_ID\", \"JOB_ID\" ];"),
	FARMS JOBS(RULE(SHOW) "keep = ( \"JOB_ID\" );"),
	FARMS JOBS(EIGHT_RULES),
	FARMS JOBS(RULE("label = \"_x\"; source = \"job_name\"; default = \"\";")),
	FARMS JOBS(RULE("label = \"Show\"; source = \"job_name\"; regex = \"(?P<s>[a-z]+)_.*\"; replacement = \"${s}\";"
			" default = \"\xc3\xa9\";")),
	FARMS JOBS(RULE(PROD)) "inventory = { enabled = true; };\n",
	FARMS JOBS(RULE(SHOW)) "inventory = { enabled = false; };\n",
	FARMS JOBS("counter = true; " RULE(SHOW)),
};

static const struct config_bad_case bad[] = {
	/* counter */
	{FARMS WINDOW("7d", "counter = true;"), 2,
		"reports[0].counter: only with a calendar window (\"day\", \"week\" or \"month\"), not \"7d\""},
	{FARMS WINDOW("24h", "counter = true;"), 2, "reports[0].counter: only with a calendar window"},
	{FARMS JOBS("counter = true; statistics = [ \"AVG\", \"MIN\" ];"), 2,
		"reports[0].counter: only with \"SUM\" among the statistics"},
	{FARMS JOBS("counter = true; limit = 10;"), 2, "reports[0].counter: not with limit"},
	{FARMS JOBS("counter = 1;"), 2, "reports[0].counter: must be true or false, not an integer"},
	{FARMS JOBS("counter = \"true\";"), 2, "reports[0].counter: must be true or false, not a string"},
	/* resources */
	{FARMS WINDOW("month", "resources = \"all\";"), 2,
		"reports[0].resources: must be \"auto\", \"queues\" or \"fleets\", not \"all\""},
	{FARMS WINDOW("month", "resources = 1;"), 2, "reports[0].resources: must be a string, not an integer"},
	{FARM_WITH(QUEUE_LIST FLEET_LIST) WINDOW("month", ""), 2,
		"reports[0]: resources is \"auto\" (the default), but farms[0] (" CASES_FARM_ID
		") lists both its queues and its fleets, which may cover different sessions: set resources = "
		"\"queues\" or \"fleets\""},
	{FARM_WITH(QUEUE_LIST FLEET_LIST) "reports = ( { name = \"r\"; window = \"month\";\n"
					  "group_by = [ \"QUEUE_ID\" ];\nresources = \"auto\"; } );\n",
		4, "reports[0]: resources is \"auto\", but farms[0]"},
	/* labels: shape */
	{FARMS JOBS("labels = { label = \"show\"; };"), 2, "reports[0].labels: must be a list"},
	{FARMS JOBS("labels = ( );"), 2, "reports[0].labels: empty list"},
	{FARMS JOBS(RULES_A1_TO_A8 ", { label = \"a9\"; source = \"job_name\"; default = \"\"; } );"), 2,
		"reports[0].labels: 9 rules, but a report takes at most 8"},
	{FARMS JOBS("labels = ( \"show\" );"), 2, "reports[0].labels[0]: must be a group"},
	{FARMS JOBS(RULE("source = \"job_name\"; default = \"x\";")), 2, "reports[0].labels[0]: missing 'label'"},
	{FARMS JOBS(RULE("label = \"show\"; default = \"x\";")), 2, "reports[0].labels[0]: missing 'source'"},
	{FARMS JOBS(RULE("label = \"show\"; source = \"job_name\";")), 2, "reports[0].labels[0]: missing 'default'"},
	{FARMS JOBS(RULE(SHOW "target_label = \"x\";")), 2,
		"reports[0].labels[0]: unknown setting 'target_label' (known: label, source, regex, replacement, "
		"default)"},
	{FARMS JOBS(RULE("label = 1; source = \"job_name\"; default = \"x\";")), 2,
		"reports[0].labels[0].label: must be a string, not an integer"},
	{FARMS JOBS(RULE("label = \"show\"; source = \"job_name\"; default = 0;")), 2,
		"reports[0].labels[0].default: must be a string, not an integer"},
	{FARMS JOBS(RULE("label = \"show\"; source = \"job_name\"; default = \"\\xff\";")), 2,
		"reports[0].labels[0].default: not valid UTF-8"},
	{FARMS JOBS(RULE("label = \"show\"; source = \"job_name\"; replacement = \"\\xc3\"; default = \"\";")), 2,
		"reports[0].labels[0].replacement: not valid UTF-8"},
	/* labels: names */
	{FARMS JOBS(RULE("label = \"2show\"; source = \"job_name\"; default = \"\";")), 2,
		"reports[0].labels[0].label: \"2show\": not a label name"},
	{FARMS JOBS(RULE("label = \"__show\"; source = \"job_name\"; default = \"\";")), 2,
		"reports[0].labels[0].label: \"__show\": not a label name"},
	{FARMS JOBS(RULE("label = \"sh-ow\"; source = \"job_name\"; default = \"\";")), 2, "not a label name"},
	{FARMS JOBS(RULE("label = \"\"; source = \"job_name\"; default = \"\";")), 2, "not a label name"},
	{FARMS JOBS(RULE("label = \"queue_id\"; source = \"job_name\"; default = \"\";")), 2,
		"reports[0].labels[0].label: \"queue_id\": one of the exporter's own labels (a group_by field's"},
	{FARMS JOBS(RULE("label = \"license_product\"; source = \"job_name\"; default = \"\";")), 2,
		"one of the exporter's own labels"},
	{FARMS JOBS(RULE("label = \"job_name\"; source = \"job_name\"; default = \"\";")), 2,
		"\"job_name\": one of the exporter's own labels"},
	{FARMS JOBS(RULE("label = \"farm_id\"; source = \"job_name\"; default = \"\";")), 2,
		"\"farm_id\": one of the exporter's own labels"},
	{FARMS JOBS(RULE("label = \"report\"; source = \"job_name\"; default = \"\";")), 2,
		"\"report\": one of the exporter's own labels"},
	{FARMS JOBS(RULE("label = \"job\"; source = \"job_name\"; default = \"\";")), 2,
		"\"job\": a label Prometheus sets on every scraped series"},
	{FARMS JOBS(RULE("label = \"instance\"; source = \"job_name\"; default = \"\";")), 2,
		"\"instance\": a label Prometheus sets"},
	{FARMS JOBS("labels = ( { " SHOW " },\n{ label = \"show\"; source = \"job_name\"; default = \"\"; } );"), 3,
		"reports[0].labels[1].label: duplicate label \"show\" (also labels[0])"},
	/* labels: sources */
	{FARMS JOBS(RULE("label = \"show\"; source = \"fleet_name\"; default = \"\";")), 2,
		"reports[0].labels[0].source: unknown source \"fleet_name\" (known: job_name, queue_name)"},
	{FARMS REPORT("\"QUEUE_ID\"", RULE(SHOW)), 2, "reports[0].labels[0].source: job_name needs JOB_ID in group_by"},
	{FARMS REPORT("\"USER_ID\", \"FLEET_ID\"", RULE(PROD)), 2,
		"reports[0].labels[0].source: queue_name needs QUEUE_ID or JOB_ID in group_by"},
	{FARMS "reports = ( { name = \"r\"; window = \"month\"; group_by = [ \"JOB_ID\" ];\n" RULE(
		 PROD) " } );\ninventory = { enabled = false; };\n",
		3, "reports[0].labels[0].source: queue_name needs the inventory"},
	/* labels: regex and replacement */
	{FARMS JOBS(RULE("label = \"show\"; source = \"job_name\"; regex = \"([a-z]+_.*\"; default = \"\";")), 2,
		"reports[0].labels[0].regex: missing closing parenthesis at offset 10"},
	{FARMS JOBS(RULE("label = \"show\"; source = \"job_name\"; regex = \"(?=x).*\"; default = \"\";")), 2,
		"reports[0].labels[0].regex: a group RE2 does not know"},
	{FARMS JOBS(RULE("label = \"show\"; source = \"job_name\"; regex = \"(a)\\\\1\"; default = \"\";")), 2,
		"reports[0].labels[0].regex: a backreference (RE2 has none) at offset 3"},
	{FARMS JOBS(RULE("label = \"show\"; source = \"job_name\"; regex = \"\\xff\"; default = \"\";")), 2,
		"reports[0].labels[0].regex: not valid UTF-8"},
	{FARMS JOBS(RULE("label = \"show\"; source = \"job_name\"; replacement = \"$1\xc3\xa9\"; default = \"\";")), 2,
		"reports[0].labels[0].replacement: a non-ASCII character in a group name"},
	{FARMS JOBS(RULE("label = \"show\"; source = \"job_name\"; regex = 5; default = \"\";")), 2,
		"reports[0].labels[0].regex: must be a string, not an integer"},
	{FARMS "reports = ( { name = \"r\"; window = \"month\"; group_by = [ \"JOB_ID\" ]; labels = ( {\n"
	       "label = \"show\"; source = \"job_name\";\nregex = \"a{1001}\";\ndefault = \"\"; } ); } );\n",
		4, "reports[0].labels[0].regex: a repetition count above 1000 (RE2's limit) at offset 1"},
	/* labels and limit */
	{FARMS JOBS(RULE(SHOW) "limit = 20;"), 2, "reports[0].labels: not with limit"},
	/* keep */
	{FARMS JOBS("keep = [ \"USAGE_TYPE\" ];"), 2, "reports[0].keep: only with labels"},
	{FARMS JOBS(RULE(SHOW) "keep = [ ];"), 2, "reports[0].keep: empty list"},
	{FARMS JOBS(RULE(SHOW) "keep = \"USAGE_TYPE\";"), 2, "reports[0].keep: must be a list"},
	{FARMS JOBS(RULE(SHOW) "keep = [ \"QUEUE_ID\" ];"), 2, "reports[0].keep[0]: QUEUE_ID is not in group_by"},
	{FARMS JOBS(RULE(SHOW) "keep = [ \"SHOW\" ];"), 2, "reports[0].keep[0]: unknown field \"SHOW\""},
	{FARMS JOBS(RULE(SHOW) "keep = [ \"JOB_ID\", \"JOB_ID\" ];"), 2,
		"reports[0].keep[1]: duplicate field \"JOB_ID\""},
	{FARMS JOBS(RULE(SHOW) "keep = [ 1 ];"), 2, "reports[0].keep[0]: must be a string, not an integer"},
	{FARMS JOBS(RULE(SHOW) "colour = \"red\";"), 2,
		"reports[0]: unknown setting 'colour' (known: name, resources, window, timezone, group_by, statistics, "
		"period, interval, limit, counter, labels, keep)"},
};

/* The values read, and the rules compiled once, in the configuration. */
static void test_values(void)
{
	struct config *cfg = config_cases_load(good[11]);
	const struct report_config *r;

	if (!cfg)
		return;
	r = &cfg->reports[0];
	CHECK(r->counter);
	CHECK_INT(r->resources, REPORT_RESOURCES_AUTO);
	CHECK_INT(r->n_labels, 3);
	CHECK_INT(r->keep, 1u << GROUP_USAGE_TYPE);
	if (r->n_labels == 3) {
		CHECK_STR(r->labels[1].label, "department");
		CHECK_STR(r->labels[1].regex, ".*_(anim|comp|fx|lgt|lookdev)_.*");
		CHECK_STR(r->labels[1].default_value, "other");
		CHECK_INT(r->labels[2].source, RELABEL_SOURCE_QUEUE_NAME);
		for (size_t i = 0; i < 3; i++)
			CHECK(r->labels[i].program != NULL);
	}
	CHECK(config_report_keeps(r, GROUP_USAGE_TYPE));
	CHECK(!config_report_keeps(r, GROUP_JOB_ID));
	config_free(cfg);

	cfg = config_cases_load(FARMS WINDOW("month", "resources = \"fleets\";"));
	if (cfg)
		CHECK_INT(cfg->reports[0].resources, REPORT_RESOURCES_FLEETS);
	config_free(cfg);
}

/* The kind each report asks by on each farm, from the farm's lists and counts. */
static void test_kind(void)
{
	struct config *cfg = config_cases_load(
		"farms = ( { id = \"" CASES_FARM_ID "\"; },\n"
		"          { id = \"farm-0123456789abcdef0123456789abcde1\"; " QUEUE_LIST " },\n"
		"          { id = \"farm-0123456789abcdef0123456789abcde2\"; " QUEUE_LIST FLEET_LIST " } );\n"
		"reports = ( { name = \"a\"; window = \"day\"; group_by = [ \"QUEUE_ID\" ]; resources = \"queues\"; "
		"},\n"
		"            { name = \"f\"; window = \"day\"; group_by = [ \"QUEUE_ID\" ]; resources = \"fleets\"; } "
		");\n");
	struct config *autocfg = config_cases_load(
		"farms = ( { id = \"" CASES_FARM_ID "\"; },\n"
		"          { id = \"farm-0123456789abcdef0123456789abcde1\"; " FLEET_LIST " } );\n" WINDOW("day", ""));
	enum resource_kind k = RESOURCE_FLEETS;

	if (!cfg || !autocfg)
		goto out;
	CHECK_INT(config_report_kind(&cfg->farms[2], &cfg->reports[0], 0, 0, 10, &k), 0);
	CHECK_INT(k, RESOURCE_QUEUES);
	CHECK_INT(config_report_kind(&cfg->farms[2], &cfg->reports[1], 0, 0, 10, &k), 0);
	CHECK_INT(k, RESOURCE_FLEETS);
	CHECK(!config_report_kind_counts(&cfg->farms[0], &cfg->reports[0]));
	/* auto: both "all", by the counts */
	CHECK(config_report_kind_counts(&autocfg->farms[0], &autocfg->reports[0]));
	CHECK_INT(config_report_kind(&autocfg->farms[0], &autocfg->reports[0], 1000, 20, 10, &k), 0);
	CHECK_INT(k, RESOURCE_FLEETS);
	CHECK_INT(config_report_kind(&autocfg->farms[0], &autocfg->reports[0], 10, 4, 10, &k), 0);
	CHECK_INT(k, RESOURCE_QUEUES);
	/* auto: the one list */
	CHECK(!config_report_kind_counts(&autocfg->farms[1], &autocfg->reports[0]));
	CHECK_INT(config_report_kind(&autocfg->farms[1], &autocfg->reports[0], 1000, 20, 10, &k), 0);
	CHECK_INT(k, RESOURCE_FLEETS);
out:
	config_free(cfg);
	config_free(autocfg);
}

/*
 * The example configuration's commented "cost per show" report, uncommented ("\t#" and a space dropped from
 * "\t# ,{" to "\t# }"), must load and say what the example says.
 */
static void test_example_by_show(void)
{
	static char text[65536];
	char line[512];
	size_t n = 0;
	bool inside = false, seen = false;
	FILE *f = fopen(EXAMPLE_PATH, "r");
	struct config *cfg;

	CHECK(f != NULL);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		const char *out = line;

		if (strncmp(line, "\t# ,{", 5) == 0)
			inside = seen = true;
		if (inside && strncmp(line, "\t#", 2) == 0)
			out = line + 2 + (line[2] == ' ');
		if (inside && strcmp(line, "\t# }\n") == 0)
			inside = false;
		if (n + strlen(out) + 1 >= sizeof(text))
			break;
		memcpy(text + n, out, strlen(out));
		n += strlen(out);
	}
	text[n] = '\0';
	CHECK(fclose(f) == 0);
	CHECK(seen && !inside);
	cfg = config_cases_load(text);
	if (!cfg)
		return;
	CHECK_INT(cfg->n_reports, 4);
	if (cfg->n_reports == 4) {
		const struct report_config *r = &cfg->reports[3];

		CHECK_STR(r->name, "by_show");
		CHECK(r->counter);
		CHECK_INT(r->n_labels, 3);
		CHECK_INT(r->keep, 1u << GROUP_USAGE_TYPE);
	}
	config_free(cfg);
}

int main(void)
{
	config_cases_good(good, sizeof(good) / sizeof(good[0]));
	config_cases_bad(bad, sizeof(bad) / sizeof(bad[0]));
	test_values();
	test_kind();
	test_example_by_show();
	TEST_DONE();
}
