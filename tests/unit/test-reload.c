/* test-reload: which (farm, report) pairs a new configuration keeps, changes or drops, table-driven */

#include "config/reload.h"
#include "test.h"

#define FARM_A "farm-0000000000000000000000000000000a"
#define FARM_B "farm-0000000000000000000000000000000b"
#define QUEUE_1 "queue-00000000000000000000000000000001"
#define QUEUE_2 "queue-00000000000000000000000000000002"
#define FLEET_1 "fleet-00000000000000000000000000000001"

/* The running configuration: two farms, a queue report and a fleet report. */
#define FARMS_BASE \
	"farms = ( { id = \"" FARM_A "\"; queues = [ \"" QUEUE_1 "\" ]; fleets = \"all\"; },\n" \
	"          { id = \"" FARM_B "\"; } );\n"
#define COST "{ name = \"cost\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; }"
#define FLEETS "{ name = \"fleets\"; resources = \"fleets\"; window = \"7d\"; group_by = [ \"FLEET_ID\" ]; }"
#define REPORTS(a, b) "reports = ( " a ", " b " );\n"
#define BASE FARMS_BASE REPORTS(COST, FLEETS)

static const struct {
	const char *name;
	const char *text; /* the new configuration */
	/* reload_report_same() for (FARM_A, cost), (FARM_A, fleets), (FARM_B, cost), (FARM_B, fleets) */
	bool same[4];
	/* !reload_inventory_same() for FARM_A, FARM_B (left out: both kept) */
	bool inventory_changed[2];
} cases[] = {
	{"identical", BASE, {true, true, true, true}, {false, false}},
	{"comments and order of settings do not count",
		"# reordered\n" FARMS_BASE
		"reports = ( { group_by = [ \"QUEUE_ID\" ]; window = \"month\"; name = \"cost\"; }, " FLEETS " );\n",
		{true, true, true, true}, {false, false}},
	{"web and aws settings do not count",
		"web = { listen = \"127.0.0.1:0\"; };\naws = { region = \"eu-west-1\"; };\n" BASE,
		{true, true, true, true}, {false, false}},
	{"window", FARMS_BASE REPORTS("{ name = \"cost\"; window = \"week\"; group_by = [ \"QUEUE_ID\" ]; }", FLEETS),
		{false, true, false, true}, {false, false}},
	{"rolling window length",
		FARMS_BASE REPORTS(COST, "{ name = \"fleets\"; resources = \"fleets\"; window = \"8d\"; group_by = [ "
					 "\"FLEET_ID\" ]; }"),
		{true, false, true, false}, {false, false}},
	{"same rolling window written otherwise",
		FARMS_BASE REPORTS(COST, "{ name = \"fleets\"; resources = \"fleets\"; window = \"168h\"; group_by = [ "
					 "\"FLEET_ID\" ]; }"),
		{true, true, true, true}, {false, false}},
	{"timezone",
		FARMS_BASE REPORTS("{ name = \"cost\"; window = \"month\"; timezone = \"UTC+01:00\"; group_by = [ "
				   "\"QUEUE_ID\" ]; }",
			FLEETS),
		{false, true, false, true}, {false, false}},
	{"group_by order",
		FARMS_BASE REPORTS(
			"{ name = \"cost\"; window = \"month\"; group_by = [ \"QUEUE_ID\", \"USAGE_TYPE\" ]; }",
			FLEETS),
		{false, true, false, true}, {false, false}},
	{"statistics",
		FARMS_BASE REPORTS("{ name = \"cost\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; statistics = [ "
				   "\"SUM\" ]; }",
			FLEETS),
		{false, true, false, true}, {false, false}},
	{"statistics: all four written out is the default",
		FARMS_BASE REPORTS("{ name = \"cost\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; statistics = [ "
				   "\"AVG\", \"MAX\", \"MIN\", \"SUM\" ]; }",
			FLEETS),
		{true, true, true, true}, {false, false}},
	{"period",
		FARMS_BASE REPORTS(
			"{ name = \"cost\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; period = \"DAILY\"; }",
			FLEETS),
		{false, true, false, true}, {false, false}},
	{"interval",
		FARMS_BASE REPORTS(
			"{ name = \"cost\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; interval = \"10m\"; }",
			FLEETS),
		{false, true, false, true}, {false, false}},
	{"interval written otherwise",
		FARMS_BASE REPORTS(
			"{ name = \"cost\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; interval = \"300s\"; }",
			FLEETS),
		{true, true, true, true}, {false, false}},
	{"resources",
		FARMS_BASE REPORTS("{ name = \"cost\"; resources = \"fleets\"; window = \"month\"; group_by = [ "
				   "\"QUEUE_ID\" ]; }",
			FLEETS),
		{false, true, false, true}, {false, false}},
	/* A farm's queues matter only to queue reports, its fleets only to fleet reports. */
	{"queues of farm A",
		"farms = ( { id = \"" FARM_A "\"; queues = [ \"" QUEUE_1 "\", \"" QUEUE_2 "\" ]; fleets = \"all\"; },\n"
		"          { id = \"" FARM_B "\"; } );\n" REPORTS(COST, FLEETS),
		{false, true, true, true}, {false, false}},
	{"queues of farm A: all",
		"farms = ( { id = \"" FARM_A "\"; queues = \"all\"; fleets = \"all\"; },\n"
		"          { id = \"" FARM_B "\"; } );\n" REPORTS(COST, FLEETS),
		{false, true, true, true}, {false, false}},
	/* cost asks by "auto", which looks at both lists: farm B's fleets now decide its kind. */
	{"fleets of farm B",
		"farms = ( { id = \"" FARM_A "\"; queues = [ \"" QUEUE_1 "\" ]; fleets = \"all\"; },\n"
		"          { id = \"" FARM_B "\"; fleets = [ \"" FLEET_1 "\" ]; } );\n" REPORTS(COST, FLEETS),
		{true, true, false, false}, {false, false}},
	{"farm B removed",
		"farms = ( { id = \"" FARM_A "\"; queues = [ \"" QUEUE_1
		"\" ]; fleets = \"all\"; } );\n" REPORTS(COST, FLEETS),
		{true, true, false, false}, {false, true}},
	{"farm order does not count",
		"farms = ( { id = \"" FARM_B "\"; },\n"
		"          { id = \"" FARM_A "\"; queues = [ \"" QUEUE_1
		"\" ]; fleets = \"all\"; } );\n" REPORTS(COST, FLEETS),
		{true, true, true, true}, {false, false}},
	{"report fleets removed", FARMS_BASE "reports = ( " COST " );\n", {true, false, true, false}, {false, false}},
	{"report renamed",
		FARMS_BASE REPORTS(COST,
			"{ name = \"fleet\"; resources = \"fleets\"; window = \"7d\"; group_by = [ \"FLEET_ID\" ]; }"),
		{true, false, true, false}, {false, false}},
	{"report order does not count", FARMS_BASE REPORTS(FLEETS, COST), {true, true, true, true}, {false, false}},
	{"limit",
		FARMS_BASE REPORTS(
			"{ name = \"cost\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; limit = 20; }", FLEETS),
		{false, true, false, true}, {false, false}},
	/* Another region is another endpoint: the farm's figures and inventory start again. */
	{"region of farm B",
		"farms = ( { id = \"" FARM_A "\"; queues = [ \"" QUEUE_1 "\" ]; fleets = \"all\"; },\n"
		"          { id = \"" FARM_B "\"; region = \"eu-west-1\"; } );\n" REPORTS(COST, FLEETS),
		{true, true, false, false}, {false, true}},
	{"inventory written out with its defaults", BASE "inventory = { enabled = true; interval = \"300s\"; };\n",
		{true, true, true, true}, {false, false}},
	{"inventory interval", BASE "inventory = { interval = \"10m\"; };\n", {true, true, true, true}, {true, true}},
	{"inventory without budgets", BASE "inventory = { budgets = false; };\n", {true, true, true, true},
		{true, true}},
	{"inventory disabled", BASE "inventory = { enabled = false; };\n", {true, true, true, true}, {true, true}},
	{"identity store does not count", BASE "identity_store = { id = \"d-0123456789\"; };\n",
		{true, true, true, true}, {false, false}},
};

static const char *const pair_farm[4] = {FARM_A, FARM_A, FARM_B, FARM_B};
static const char *const pair_report[4] = {"cost", "fleets", "cost", "fleets"};

static struct config *load(const char *text)
{
	struct config *cfg = NULL;
	char err[2048];
	int r = config_load_string(&cfg, "reload.conf", text, err, sizeof(err));

	CHECK_MSG(r == 0, "config does not load: %s", err);
	return cfg;
}

static void test_cases(void)
{
	struct config *old = load(BASE);

	for (size_t i = 0; old && i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg = load(cases[i].text);

		if (!cfg)
			continue;
		for (size_t p = 0; p < 4; p++) {
			CHECK_MSG(reload_report_same(old, cfg, pair_farm[p], pair_report[p]) == cases[i].same[p],
				"%s: (%s, %s) expected %s", cases[i].name, pair_farm[p], pair_report[p],
				cases[i].same[p] ? "kept" : "changed or removed");
			/* The comparison goes both ways. */
			CHECK_MSG(reload_report_same(cfg, old, pair_farm[p], pair_report[p]) == cases[i].same[p],
				"%s: (%s, %s) reversed", cases[i].name, pair_farm[p], pair_report[p]);
		}
		for (size_t f = 0; f < 2; f++) {
			CHECK_MSG(reload_inventory_same(old, cfg, pair_farm[2 * f]) == !cases[i].inventory_changed[f],
				"%s: inventory of %s expected %s", cases[i].name, pair_farm[2 * f],
				cases[i].inventory_changed[f] ? "changed or removed" : "kept");
			CHECK(reload_inventory_same(cfg, old, pair_farm[2 * f]) == !cases[i].inventory_changed[f]);
		}
		config_free(cfg);
	}
	config_free(old);
}

/* The version 3 keys: a report's counter, labels, keep and resources; a farm's role; the activity; the identity store.
 */
#define ROLE_A "arn:aws:iam::111122223333:role/exporter"
#define ROLE_B "arn:aws:iam::444455556666:role/exporter"
#define FARMS3(a, b) "farms = ( { id = \"" FARM_A "\"; " a " },\n          { id = \"" FARM_B "\"; " b " } );\n"
#define SHOW_RULE(x) "{ label = \"show\"; source = \"job_name\"; " x " }"
#define SHOW_DEFAULT "regex = \"([a-z]+)_.*\"; replacement = \"$1\"; default = \"unknown\";"
#define SPEND(x) "{ name = \"spend\"; window = \"month\"; group_by = [ \"JOB_ID\", \"USAGE_TYPE\" ]; " x " }"
#define SPEND_BASE SPEND("counter = true; labels = ( " SHOW_RULE(SHOW_DEFAULT) " ); keep = [ \"USAGE_TYPE\" ];")
#define PLAIN "{ name = \"plain\"; resources = \"queues\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; }"
#define ACTIVITY "activity = { enabled = true; };\n"
#define STORE "identity_store = { id = \"d-0123456789\"; };\n"
#define BASE3 FARMS3("role_arn = \"" ROLE_A "\";", "") REPORTS(SPEND_BASE, PLAIN) ACTIVITY STORE

static const struct {
	const char *name;
	const char *text;
	bool same[4]; /* (FARM_A, spend), (FARM_A, plain), (FARM_B, spend), (FARM_B, plain) */
	bool inventory_changed[2], activity_changed[2];
	bool store_same;
} cases3[] = {
	{"identical", BASE3, {true, true, true, true}, {false, false}, {false, false}, true},
	{"counter off",
		FARMS3("role_arn = \"" ROLE_A "\";", "")
			REPORTS(SPEND("labels = ( " SHOW_RULE(SHOW_DEFAULT) " ); keep = [ "
									    "\"USAGE_TYPE\" ];"),
				PLAIN) ACTIVITY STORE,
		{false, true, false, true}, {false, false}, {false, false}, true},
	{"label name",
		FARMS3("role_arn = \"" ROLE_A "\";", "")
			REPORTS(SPEND("counter = true; labels = ( { label = \"title\"; "
				      "source = \"job_name\"; " SHOW_DEFAULT " } ); keep = [ \"USAGE_TYPE\" ];"),
				PLAIN) ACTIVITY STORE,
		{false, true, false, true}, {false, false}, {false, false}, true},
	{"regex",
		FARMS3("role_arn = \"" ROLE_A "\";", "")
			REPORTS(SPEND("counter = true; labels = ( " SHOW_RULE(
					"regex = \"([a-z0-9]+)_.*\"; replacement = \"$1\"; default = "
					"\"unknown\";") " ); keep = [ \"USAGE_TYPE\" ];"),
				PLAIN) ACTIVITY STORE,
		{false, true, false, true}, {false, false}, {false, false}, true},
	{"replacement",
		FARMS3("role_arn = \"" ROLE_A "\";", "")
			REPORTS(SPEND("counter = true; labels = ( " SHOW_RULE(
					"regex = \"([a-z]+)_.*\"; replacement = \"${1}\"; default = "
					"\"unknown\";") " ); keep = [ \"USAGE_TYPE\" ];"),
				PLAIN) ACTIVITY STORE,
		{false, true, false, true}, {false, false}, {false, false}, true},
	{"default",
		FARMS3("role_arn = \"" ROLE_A "\";", "")
			REPORTS(SPEND("counter = true; labels = ( " SHOW_RULE(
					"regex = \"([a-z]+)_.*\"; replacement = \"$1\"; default = "
					"\"none\";") " ); keep = [ \"USAGE_TYPE\" ];"),
				PLAIN) ACTIVITY STORE,
		{false, true, false, true}, {false, false}, {false, false}, true},
	{"source",
		FARMS3("role_arn = \"" ROLE_A "\";", "")
			REPORTS(SPEND("counter = true; labels = ( { label = \"show\"; "
				      "source = \"queue_name\"; " SHOW_DEFAULT " } ); keep = [ \"USAGE_TYPE\" ];"),
				PLAIN) ACTIVITY STORE,
		{false, true, false, true}, {false, false}, {false, false}, true},
	{"a rule more",
		FARMS3("role_arn = \"" ROLE_A "\";", "")
			REPORTS(SPEND("counter = true; labels = ( " SHOW_RULE(
					SHOW_DEFAULT) ", { label = \"all\"; source = "
						      "\"job_name\"; default = \"\"; } ); "
						      "keep = [ \"USAGE_TYPE\" ];"),
				PLAIN) ACTIVITY STORE,
		{false, true, false, true}, {false, false}, {false, false}, true},
	{"keep",
		FARMS3("role_arn = \"" ROLE_A "\";", "") REPORTS(
			SPEND("counter = true; labels = ( " SHOW_RULE(SHOW_DEFAULT) " ); keep = [ \"JOB_ID\" ];"),
			PLAIN) ACTIVITY STORE,
		{false, true, false, true}, {false, false}, {false, false}, true},
	{"keep nothing",
		FARMS3("role_arn = \"" ROLE_A "\";", "") REPORTS(
			SPEND("counter = true; labels = ( " SHOW_RULE(SHOW_DEFAULT) " );"), PLAIN) ACTIVITY STORE,
		{false, true, false, true}, {false, false}, {false, false}, true},
	{"resources auto to queues",
		FARMS3("role_arn = \"" ROLE_A "\";", "")
			REPORTS(SPEND("resources = \"queues\"; counter = true; labels = "
				      "( " SHOW_RULE(SHOW_DEFAULT) " ); keep = [ "
								   "\"USAGE_TYPE\" ];"),
				PLAIN) ACTIVITY STORE,
		{false, true, false, true}, {false, false}, {false, false}, true},
	{"resources queues to auto",
		FARMS3("role_arn = \"" ROLE_A "\";", "") REPORTS(SPEND_BASE,
			"{ name = \"plain\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; }") ACTIVITY STORE,
		{true, false, true, false}, {false, false}, {false, false}, true},
	/* "auto" looks at both lists; "queues" at the queues only */
	{"fleets of farm B",
		FARMS3("role_arn = \"" ROLE_A "\";", "fleets = [ \"" FLEET_1 "\" ];") REPORTS(SPEND_BASE, PLAIN)
			ACTIVITY STORE,
		{true, true, false, true}, {false, false}, {false, false}, true},
	{"queues of farm B",
		FARMS3("role_arn = \"" ROLE_A "\";", "queues = [ \"" QUEUE_1 "\" ];") REPORTS(SPEND_BASE, PLAIN)
			ACTIVITY STORE,
		{true, true, false, false}, {false, false}, {false, false}, true},
	/* another role is another account: every figure of the farm starts again */
	{"role of farm A", FARMS3("role_arn = \"" ROLE_B "\";", "") REPORTS(SPEND_BASE, PLAIN) ACTIVITY STORE,
		{false, false, true, true}, {true, false}, {true, false}, true},
	{"external id of farm A",
		FARMS3("role_arn = \"" ROLE_A "\"; external_id = \"xy\";", "") REPORTS(SPEND_BASE, PLAIN)
			ACTIVITY STORE,
		{false, false, true, true}, {true, false}, {true, false}, true},
	{"role of farm A removed", FARMS3("", "") REPORTS(SPEND_BASE, PLAIN) ACTIVITY STORE, {false, false, true, true},
		{true, false}, {true, false}, true},
	{"role of farm B",
		FARMS3("role_arn = \"" ROLE_A "\";", "role_arn = \"" ROLE_B "\";") REPORTS(SPEND_BASE, PLAIN)
			ACTIVITY STORE,
		{true, true, false, false}, {false, true}, {false, true}, true},
	/* the activity */
	{"activity interval",
		FARMS3("role_arn = \"" ROLE_A "\";", "")
			REPORTS(SPEND_BASE, PLAIN) "activity = { enabled = true; interval = "
						   "\"2m\"; };\n" STORE,
		{true, true, true, true}, {false, false}, {true, true}, true},
	{"activity jobs",
		FARMS3("role_arn = \"" ROLE_A "\";", "")
			REPORTS(SPEND_BASE, PLAIN) "activity = { enabled = true; jobs = "
						   "500; };\n" STORE,
		{true, true, true, true}, {false, false}, {true, true}, true},
	{"activity off", FARMS3("role_arn = \"" ROLE_A "\";", "") REPORTS(SPEND_BASE, PLAIN) STORE,
		{true, true, true, true}, {false, false}, {true, true}, true},
	{"activity written out with its defaults",
		FARMS3("role_arn = \"" ROLE_A "\";", "")
			REPORTS(SPEND_BASE, PLAIN) "activity = { enabled = true; interval = "
						   "\"60s\"; jobs = 200; };\n" STORE,
		{true, true, true, true}, {false, false}, {false, false}, true},
	/* the identity store */
	{"identity store role",
		FARMS3("role_arn = \"" ROLE_A "\";", "") REPORTS(SPEND_BASE, PLAIN) ACTIVITY
		"identity_store = { id = \"d-0123456789\"; role_arn = \"" ROLE_B "\"; };\n",
		{true, true, true, true}, {false, false}, {false, false}, false},
	{"identity store region",
		FARMS3("role_arn = \"" ROLE_A "\";", "") REPORTS(SPEND_BASE, PLAIN) ACTIVITY
		"identity_store = { id = \"d-0123456789\"; region = \"eu-west-1\"; };\n",
		{true, true, true, true}, {false, false}, {false, false}, false},
	{"identity store removed", FARMS3("role_arn = \"" ROLE_A "\";", "") REPORTS(SPEND_BASE, PLAIN) ACTIVITY,
		{true, true, true, true}, {false, false}, {false, false}, false},
};

static void test_cases3(void)
{
	struct config *old = load(BASE3);

	for (size_t i = 0; old && i < sizeof(cases3) / sizeof(cases3[0]); i++) {
		static const char *const report[4] = {"spend", "plain", "spend", "plain"};
		struct config *cfg = load(cases3[i].text);

		if (!cfg)
			continue;
		for (size_t p = 0; p < 4; p++) {
			CHECK_MSG(reload_report_same(old, cfg, pair_farm[p], report[p]) == cases3[i].same[p],
				"%s: (%s, %s) expected %s", cases3[i].name, pair_farm[p], report[p],
				cases3[i].same[p] ? "kept" : "changed");
			CHECK(reload_report_same(cfg, old, pair_farm[p], report[p]) == cases3[i].same[p]);
		}
		for (size_t f = 0; f < 2; f++) {
			const char *farm = pair_farm[2 * f];

			CHECK_MSG(reload_inventory_same(old, cfg, farm) == !cases3[i].inventory_changed[f],
				"%s: inventory of %s", cases3[i].name, farm);
			CHECK_MSG(reload_activity_same(old, cfg, farm) == !cases3[i].activity_changed[f],
				"%s: activity of %s", cases3[i].name, farm);
			CHECK(reload_activity_same(cfg, old, farm) == !cases3[i].activity_changed[f]);
		}
		CHECK_MSG(reload_identity_store_same(old, cfg) == cases3[i].store_same, "%s: identity store",
			cases3[i].name);
		CHECK(reload_identity_store_same(cfg, old) == cases3[i].store_same);
		config_free(cfg);
	}
	/* Nothing to keep where there was nothing running. */
	if (old) {
		struct config *none = load(FARMS_BASE REPORTS(COST, FLEETS));

		CHECK(none && !reload_activity_same(none, none, FARM_A));
		CHECK(none && !reload_identity_store_same(none, none));
		CHECK(!reload_activity_same(old, old, "farm-00000000000000000000000000000000"));
		config_free(none);
	}
	config_free(old);
}

static void test_find(void)
{
	struct config *cfg = load(BASE);

	if (!cfg)
		return;
	CHECK(reload_find_farm(cfg, FARM_A) == &cfg->farms[0]);
	CHECK(reload_find_farm(cfg, FARM_B) == &cfg->farms[1]);
	CHECK(reload_find_farm(cfg, "farm-00000000000000000000000000000000") == NULL);
	CHECK(reload_find_report(cfg, "cost") == &cfg->reports[0]);
	CHECK(reload_find_report(cfg, "fleets") == &cfg->reports[1]);
	CHECK(reload_find_report(cfg, "Cost") == NULL);
	/* Unknown on either side: not the same. */
	CHECK(!reload_report_same(cfg, cfg, FARM_A, "nope"));
	CHECK(!reload_report_same(cfg, cfg, "farm-00000000000000000000000000000000", "cost"));
	CHECK(!reload_inventory_same(cfg, cfg, "farm-00000000000000000000000000000000"));
	config_free(cfg);
}

int main(void)
{
	test_cases();
	test_cases3();
	test_find();
	TEST_DONE();
}
