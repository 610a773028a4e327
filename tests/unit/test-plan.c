/* test-plan: which reports of a farm share an aggregation, what it asks for, and how far a queue listing must go */
#include <stdio.h>

#include "config_cases.h"
#include "deadline/plan.h"

#define FARM_ALL "{ id = \"" CASES_FARM_ID "\"; }"
#define FARM_QUEUE_LIST "{ id = \"farm-1123456789abcdef0123456789abcdef\"; queues = [ \"" CASES_QUEUE_ID "\" ]; }"
#define FARM_FLEET_LIST "{ id = \"farm-2123456789abcdef0123456789abcdef\"; fleets = [ \"" CASES_FLEET_ID "\" ]; }"
#define FARMS3 "farms = ( " FARM_ALL ", " FARM_QUEUE_LIST ", " FARM_FLEET_LIST " );\n"

/* The README's reports, the contract's counter report and two more that share with them by statistics only. */
#define REPORTS \
	"reports = (\n" \
	" { name = \"month_to_date\"; window = \"month\"; group_by = [ \"QUEUE_ID\", \"USAGE_TYPE\" ]; },\n" \
	" { name = \"fleets_last_7_days\"; resources = \"fleets\"; window = \"7d\"; group_by = [ \"FLEET_ID\", " \
	"\"INSTANCE_TYPE\" ]; statistics = [ \"SUM\" ]; interval = \"15m\"; },\n" \
	" { name = \"users_this_week\"; window = \"week\"; timezone = \"UTC-08:00\"; group_by = [ \"USER_ID\" ]; " \
	"statistics = [ \"SUM\", \"AVG\" ]; period = \"DAILY\"; interval = \"1h\"; },\n" \
	" { name = \"spend\"; window = \"month\"; group_by = [ \"QUEUE_ID\", \"USAGE_TYPE\" ]; statistics = [ " \
	"\"SUM\" ];" \
	" counter = true; interval = \"2m\"; },\n" \
	" { name = \"by_show\"; window = \"month\"; group_by = [ \"JOB_ID\", \"USAGE_TYPE\" ]; counter = true;\n" \
	"   labels = ( { label = \"show\"; source = \"job_name\"; regex = \"([a-z0-9]+)_.*\"; default = \"unknown\"; " \
	"} );" \
	" keep = [ \"USAGE_TYPE\" ]; },\n" \
	" { name = \"top_queues\"; window = \"month\"; group_by = [ \"QUEUE_ID\", \"USAGE_TYPE\" ]; statistics = [ " \
	"\"MIN\" ]; limit = 3; interval = \"10m\"; },\n" \
	" { name = \"by_queue_asked_by_queue\"; resources = \"queues\"; window = \"month\"; group_by = [ " \
	"\"QUEUE_ID\", " \
	"\"USAGE_TYPE\" ]; statistics = [ \"MAX\" ]; }\n" \
	");\n"

static const char *member(const struct plan_group *g, size_t i)
{
	return i < g->n_members ? g->members[i]->name : "(none)";
}

/* Farm 0 (queues and fleets "all"): the "auto" month reports share; "queues" is apart, as its kind may differ. */
static void test_groups_on_farm_of_two_alls(const struct config *cfg)
{
	struct farm_plan *p = NULL;

	CHECK_INT(plan_new(&p, &cfg->farms[0], cfg->reports, cfg->n_reports), 0);
	if (!p)
		return;
	CHECK_INT(p->n_groups, 5);
	const struct plan_group *g = &p->groups[0];
	CHECK_INT(g->n_members, 3);
	CHECK_STR(member(g, 0), "month_to_date");
	CHECK_STR(member(g, 1), "spend");
	CHECK_STR(member(g, 2), "top_queues");
	CHECK_STR(g->name, "month_to_date,spend,top_queues");
	CHECK(plan_group_lead(g) == &cfg->reports[0]);
	/* the union of the statistics, the shortest interval */
	CHECK_INT(g->statistics, STAT_ALL);
	CHECK_INT(g->interval_seconds, 120);
	CHECK_STR(p->groups[1].name, "fleets_last_7_days");
	CHECK_INT(p->groups[1].statistics, STAT_SUM);
	CHECK_INT(p->groups[1].interval_seconds, 900);
	CHECK_STR(p->groups[2].name, "users_this_week");
	CHECK_INT(p->groups[2].statistics, STAT_SUM | STAT_AVG);
	CHECK_STR(p->groups[3].name, "by_show");
	CHECK_STR(p->groups[4].name, "by_queue_asked_by_queue");
	CHECK_INT(p->groups[4].statistics, STAT_MAX);
	plan_free(p);
}

/* Farm 1 lists its queues: "auto" asks by queue there, like "queues", so the two share. */
static void test_groups_when_a_list_decides(const struct config *cfg)
{
	struct farm_plan *p = NULL;

	CHECK_INT(plan_new(&p, &cfg->farms[1], cfg->reports, cfg->n_reports), 0);
	if (!p)
		return;
	CHECK_INT(p->n_groups, 4);
	CHECK_STR(p->groups[0].name, "month_to_date,spend,top_queues,by_queue_asked_by_queue");
	CHECK_INT(p->groups[0].statistics, STAT_ALL);
	plan_free(p);
	/* farm 2 lists its fleets: "auto" asks by fleet there, "queues" by queue: apart again */
	CHECK_INT(plan_new(&p, &cfg->farms[2], cfg->reports, cfg->n_reports), 0);
	if (!p)
		return;
	CHECK_INT(p->n_groups, 5);
	CHECK_STR(p->groups[0].name, "month_to_date,spend,top_queues");
	plan_free(p);
}

/* Each setting an aggregation's answer depends on keeps two reports apart; the others do not. */
static void test_share_settings(const struct config *cfg)
{
	const struct farm_config *f = &cfg->farms[0];
	struct report_config a = cfg->reports[0], b = a;

	CHECK(plan_reports_share(f, &a, &b));
	b.name = (char *)"other";
	b.statistics = STAT_MIN;
	b.interval_seconds = 3600;
	b.limit = 5;
	b.counter = true;
	CHECK(plan_reports_share(f, &a, &b));
	b = a;
	b.resources = REPORT_RESOURCES_FLEETS;
	CHECK(!plan_reports_share(f, &a, &b));
	b = a;
	b.window = WINDOW_WEEK;
	CHECK(!plan_reports_share(f, &a, &b));
	/* rolling windows: the same length only */
	a.window = b.window = WINDOW_ROLLING;
	a.window_seconds = b.window_seconds = 86400;
	CHECK(plan_reports_share(f, &a, &b));
	b.window_seconds = 7 * 86400;
	CHECK(!plan_reports_share(f, &a, &b));
	a = cfg->reports[0];
	b = a;
	snprintf(b.timezone, sizeof(b.timezone), "UTC+05:30");
	CHECK(!plan_reports_share(f, &a, &b));
	b = a;
	b.period = PERIOD_DAILY;
	CHECK(!plan_reports_share(f, &a, &b));
	b = a;
	b.n_group_by = 1;
	CHECK(!plan_reports_share(f, &a, &b));
	/* the same fields in another order: the labels follow the order of the rows' values */
	b = a;
	b.group_by[0] = a.group_by[1];
	b.group_by[1] = a.group_by[0];
	CHECK(!plan_reports_share(f, &a, &b));
	b = a;
	b.group_by[1] = GROUP_INSTANCE_TYPE;
	CHECK(!plan_reports_share(f, &a, &b));
}

static void test_same_members(const struct config *cfg)
{
	struct farm_plan *p0 = NULL, *p1 = NULL;

	CHECK_INT(plan_new(&p0, &cfg->farms[0], cfg->reports, cfg->n_reports), 0);
	CHECK_INT(plan_new(&p1, &cfg->farms[1], cfg->reports, cfg->n_reports), 0);
	if (p0 && p1) {
		CHECK(plan_group_same_members(&p0->groups[1], &p1->groups[1]));
		CHECK(!plan_group_same_members(&p0->groups[0], &p1->groups[0]));
		CHECK(!plan_group_same_members(&p0->groups[1], &p0->groups[2]));
	}
	plan_free(p0);
	plan_free(p1);
	CHECK_INT(plan_new(&p0, &cfg->farms[0], cfg->reports, 0), -EINVAL);
	plan_free(NULL);
}

static void test_batches_and_listing(void)
{
	static const struct {
		size_t n, batches;
	} batches[] = {{0, 0}, {1, 1}, {10, 1}, {11, 2}, {20, 2}, {1000, 100}, {1001, 101}};

	for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++)
		CHECK_INT(plan_batches(batches[i].n, 10), batches[i].batches);
	/* the farms: 4, 10 and 20 fleets need 1, 1 and 2 batches: queues beyond 10, 10, 20 lose */
	CHECK_INT(plan_queues_worth_listing(4, 10), 10);
	CHECK_INT(plan_queues_worth_listing(10, 10), 10);
	CHECK_INT(plan_queues_worth_listing(20, 10), 20);
	CHECK_INT(plan_queues_worth_listing(21, 10), 30);
	/* no fleet: a single queue is already a batch more than none */
	CHECK_INT(plan_queues_worth_listing(0, 10), 0);
	/* the bound agrees with the choice itself at its edges: at it queues win (a tie), past it fleets */
	for (size_t fleets = 0; fleets <= 45; fleets++) {
		size_t cap = plan_queues_worth_listing(fleets, 10);
		enum resource_kind k;
		CHECK_INT(resource_kind_choose(REPORT_RESOURCES_AUTO, true, true, cap, fleets, 10, &k), 0);
		CHECK_MSG(k == RESOURCE_QUEUES || cap == 0, "%zu fleets, %zu queues", fleets, cap);
		CHECK_INT(resource_kind_choose(REPORT_RESOURCES_AUTO, true, true, cap + 1, fleets, 10, &k), 0);
		CHECK_MSG(k == RESOURCE_FLEETS, "%zu fleets, %zu queues", fleets, cap + 1);
	}
}

int main(void)
{
	struct config *cfg = config_cases_load(FARMS3 "inventory = { enabled = true; };\n" REPORTS);

	if (cfg) {
		test_groups_on_farm_of_two_alls(cfg);
		test_groups_when_a_list_decides(cfg);
		test_share_settings(cfg);
		test_same_members(cfg);
	}
	config_free(cfg);
	test_batches_and_listing();
	TEST_DONE();
}
