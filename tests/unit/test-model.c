/* test-model: name tables (both directions) and id syntax */
#include <errno.h>

#include "config/model.h"
#include "test.h"

static const struct {
	enum group_field f;
	const char *api, *label, *json;
} group_cases[] = {
	{GROUP_QUEUE_ID, "QUEUE_ID", "queue_id", "queueId"},
	{GROUP_FLEET_ID, "FLEET_ID", "fleet_id", "fleetId"},
	{GROUP_JOB_ID, "JOB_ID", "job_id", "jobId"},
	{GROUP_USER_ID, "USER_ID", "user_id", "userId"},
	{GROUP_USAGE_TYPE, "USAGE_TYPE", "usage_type", "usageType"},
	{GROUP_INSTANCE_TYPE, "INSTANCE_TYPE", "instance_type", "instanceType"},
	{GROUP_LICENSE_PRODUCT, "LICENSE_PRODUCT", "license_product", "licenseProduct"},
};

static const struct {
	enum statistic s;
	const char *api;
} stat_cases[] = {
	{STAT_SUM, "SUM"},
	{STAT_MIN, "MIN"},
	{STAT_MAX, "MAX"},
	{STAT_AVG, "AVG"},
};

static const struct {
	enum period p;
	const char *api;
} period_cases[] = {
	{PERIOD_HOURLY, "HOURLY"},
	{PERIOD_DAILY, "DAILY"},
	{PERIOD_WEEKLY, "WEEKLY"},
	{PERIOD_MONTHLY, "MONTHLY"},
};

static const char *const bad_names[] = {"", "queue_id", "QUEUE", "QUEUE_ID ", "sum", "Sum", "NONE", "hourly", "x"};

static const struct {
	const char *id, *prefix;
	int expected;
} id_cases[] = {
	{"farm-0123456789abcdef0123456789abcdef", "farm-", 0},
	{"queue-0123456789abcdef0123456789abcdef", "queue-", 0},
	{"fleet-ffffffffffffffffffffffffffffffff", "fleet-", 0},
	{"0123456789abcdef0123456789abcdef", "", 0}, /* an aggregation id */
	{"farm-0123456789abcdef0123456789abcdef", "queue-", -EINVAL},
	{"farm-0123456789ABCDEF0123456789abcdef", "farm-", -EINVAL},
	{"farm-0123456789abcdef0123456789abcde", "farm-", -EINVAL},
	{"farm-0123456789abcdef0123456789abcdef0", "farm-", -EINVAL},
	{"farm-0123456789abcdef0123456789abcdeg", "farm-", -EINVAL},
	{"farm-0123456789abcdef 123456789abcdef", "farm-", -EINVAL},
	{"farm0123456789abcdef0123456789abcdef", "farm-", -EINVAL},
	{"farm-", "farm-", -EINVAL},
	{"", "farm-", -EINVAL},
	{" farm-0123456789abcdef0123456789abcdef", "farm-", -EINVAL},
};

/* The kind "auto" asks by: a farm's one list, else the fewer batches of 10 (queues on a tie); -1: refused. */
static const struct {
	enum report_resources setting;
	bool all_queues, all_fleets;
	size_t n_queues, n_fleets;
	int expected; /* enum resource_kind, or -1 */
} choose_cases[] = {
	{REPORT_RESOURCES_QUEUES, true, true, 1000, 20, RESOURCE_QUEUES},
	{REPORT_RESOURCES_QUEUES, false, false, 0, 0, RESOURCE_QUEUES},
	{REPORT_RESOURCES_FLEETS, true, true, 10, 1000, RESOURCE_FLEETS},
	{REPORT_RESOURCES_FLEETS, false, false, 0, 0, RESOURCE_FLEETS},
	{REPORT_RESOURCES_AUTO, true, true, 1000, 20, RESOURCE_FLEETS}, /* 100 batches against 2 */
	{REPORT_RESOURCES_AUTO, true, true, 100, 10, RESOURCE_FLEETS}, /* 10 against 1 */
	{REPORT_RESOURCES_AUTO, true, true, 10, 4, RESOURCE_QUEUES}, /* 1 against 1: queues on a tie */
	{REPORT_RESOURCES_AUTO, true, true, 11, 10, RESOURCE_FLEETS}, /* 2 against 1 */
	{REPORT_RESOURCES_AUTO, true, true, 20, 11, RESOURCE_QUEUES}, /* 2 against 2 */
	{REPORT_RESOURCES_AUTO, true, true, 3, 30, RESOURCE_QUEUES},
	{REPORT_RESOURCES_AUTO, true, true, 0, 0, RESOURCE_QUEUES},
	{REPORT_RESOURCES_AUTO, true, true, 0, 5, RESOURCE_QUEUES},
	{REPORT_RESOURCES_AUTO, true, true, 5, 0, RESOURCE_FLEETS},
	{REPORT_RESOURCES_AUTO, false, true, 1000, 20, RESOURCE_QUEUES}, /* the user's list wins over the counts */
	{REPORT_RESOURCES_AUTO, true, false, 3, 30, RESOURCE_FLEETS},
	{REPORT_RESOURCES_AUTO, false, false, 3, 30, -1},
	{(enum report_resources)9, true, true, 3, 30, -1},
};

static void test_choose(void)
{
	enum report_resources r;

	for (size_t i = 0; i < sizeof(choose_cases) / sizeof(choose_cases[0]); i++) {
		enum resource_kind k = (enum resource_kind)7;
		int ret = resource_kind_choose(choose_cases[i].setting, choose_cases[i].all_queues,
			choose_cases[i].all_fleets, choose_cases[i].n_queues, choose_cases[i].n_fleets, 10, &k);

		if (choose_cases[i].expected < 0)
			CHECK_MSG(ret == -EINVAL && k == (enum resource_kind)7, "case %zu: %d", i, ret);
		else
			CHECK_MSG(ret == 0 && (int)k == choose_cases[i].expected, "case %zu: %d, kind %d", i, ret, k);
	}
	CHECK_INT(resource_kind_choose(REPORT_RESOURCES_QUEUES, true, true, 1, 1, 0, NULL), -EINVAL);
	CHECK_INT(report_resources_from_name("auto", &r), 0);
	CHECK_INT(r, REPORT_RESOURCES_AUTO);
	CHECK_INT(report_resources_from_name("queues", &r), 0);
	CHECK_INT(r, REPORT_RESOURCES_QUEUES);
	CHECK_INT(report_resources_from_name("fleets", &r), 0);
	CHECK_INT(r, REPORT_RESOURCES_FLEETS);
	CHECK_INT(report_resources_from_name("Auto", &r), -EINVAL);
	CHECK_INT(report_resources_from_name("all", &r), -EINVAL);
	CHECK_INT(report_resources_from_name(NULL, &r), -EINVAL);
}

int main(void)
{
	enum group_field f;
	enum statistic s;
	enum period p;
	enum resource_kind k;

	for (size_t i = 0; i < sizeof(group_cases) / sizeof(group_cases[0]); i++) {
		CHECK_INT(group_cases[i].f, i); /* the table follows the label order */
		CHECK_STR(group_field_api_name(group_cases[i].f), group_cases[i].api);
		CHECK_STR(group_field_label(group_cases[i].f), group_cases[i].label);
		CHECK_STR(group_field_json_member(group_cases[i].f), group_cases[i].json);
		f = GROUP_FIELD_COUNT;
		CHECK_INT(group_field_from_api_name(group_cases[i].api, &f), 0);
		CHECK_INT(f, group_cases[i].f);
	}
	CHECK_INT(sizeof(group_cases) / sizeof(group_cases[0]), GROUP_FIELD_COUNT);
	CHECK(group_field_api_name(GROUP_FIELD_COUNT) == NULL);
	CHECK(group_field_label((enum group_field)99) == NULL);
	CHECK(group_field_json_member(GROUP_FIELD_COUNT) == NULL);

	for (size_t i = 0; i < sizeof(stat_cases) / sizeof(stat_cases[0]); i++) {
		CHECK_STR(statistic_api_name(stat_cases[i].s), stat_cases[i].api);
		s = 0;
		CHECK_INT(statistic_from_api_name(stat_cases[i].api, &s), 0);
		CHECK_INT(s, stat_cases[i].s);
	}
	CHECK(statistic_api_name(STAT_ALL) == NULL);
	CHECK(statistic_api_name(STAT_SUM | STAT_AVG) == NULL);
	CHECK(statistic_api_name(0) == NULL);

	for (size_t i = 0; i < sizeof(period_cases) / sizeof(period_cases[0]); i++) {
		CHECK_STR(period_api_name(period_cases[i].p), period_cases[i].api);
		p = PERIOD_NONE;
		CHECK_INT(period_from_api_name(period_cases[i].api, &p), 0);
		CHECK_INT(p, period_cases[i].p);
	}
	CHECK(period_api_name(PERIOD_NONE) == NULL);
	CHECK(period_api_name((enum period)99) == NULL);

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		CHECK_INT(group_field_from_api_name(bad_names[i], &f), -EINVAL);
		CHECK_INT(statistic_from_api_name(bad_names[i], &s), -EINVAL);
		CHECK_INT(period_from_api_name(bad_names[i], &p), -EINVAL);
		CHECK_INT(resource_kind_from_name(bad_names[i], &k), -EINVAL);
	}
	CHECK_INT(group_field_from_api_name(NULL, &f), -EINVAL);
	CHECK_INT(statistic_from_api_name(NULL, &s), -EINVAL);
	CHECK_INT(period_from_api_name(NULL, &p), -EINVAL);

	CHECK_STR(resource_kind_ids_member(RESOURCE_QUEUES), "queueIds");
	CHECK_STR(resource_kind_ids_member(RESOURCE_FLEETS), "fleetIds");
	CHECK_STR(resource_kind_id_prefix(RESOURCE_QUEUES), "queue-");
	CHECK_STR(resource_kind_id_prefix(RESOURCE_FLEETS), "fleet-");
	CHECK(resource_kind_ids_member((enum resource_kind)7) == NULL);
	CHECK(resource_kind_id_prefix((enum resource_kind)7) == NULL);
	CHECK_STR(resource_kind_name(RESOURCE_QUEUES), "queues");
	CHECK_STR(resource_kind_name(RESOURCE_FLEETS), "fleets");
	CHECK(resource_kind_name((enum resource_kind)7) == NULL);
	CHECK_INT(resource_kind_from_name("queues", &k), 0);
	CHECK_INT(k, RESOURCE_QUEUES);
	CHECK_INT(resource_kind_from_name("fleets", &k), 0);
	CHECK_INT(k, RESOURCE_FLEETS);

	for (size_t i = 0; i < sizeof(id_cases) / sizeof(id_cases[0]); i++)
		CHECK_MSG(model_id_valid(id_cases[i].id, id_cases[i].prefix) == id_cases[i].expected, "id \"%s\"",
			id_cases[i].id);
	test_choose();
	CHECK_INT(model_id_valid(NULL, "farm-"), -EINVAL);
	CHECK_INT(model_id_valid("farm-0123456789abcdef0123456789abcdef", NULL), -EINVAL);

	TEST_DONE();
}
