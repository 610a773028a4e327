/* test-config_activity: the activity group: defaults, values, and each mistake with its line */
#include "config_cases.h"

#define BASE \
	"farms = ( { id = \"" CASES_FARM_ID "\"; } );\n" \
	"reports = ( { name = \"r\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; } );\n"

static const char *const good[] = {
	BASE "activity = { };\n",
	BASE "activity = { enabled = true; };\n",
	BASE "activity = { enabled = false; interval = \"10s\"; jobs = 0; };\n",
	BASE "activity = { interval = \"7d\"; jobs = 10000; };\n",
	BASE "activity = { jobs = 10000L; };\n",
};

static const struct config_bad_case bad[] = {
	{BASE "activity = true;\n", 3, "activity: must be a group"},
	{BASE "activity = { enabled = \"yes\"; };\n", 3, "activity.enabled: must be true or false, not a string"},
	{BASE "activity = { interval = \"5s\"; };\n", 3,
		"activity.interval: \"5s\" is shorter than the minimum of 10s"},
	{BASE "activity = { interval = \"8d\"; };\n", 3,
		"activity.interval: \"8d\" is longer than the maximum of 7 days"},
	{BASE "activity = { interval = \"1 m\"; };\n", 3, "activity.interval: invalid duration \"1 m\""},
	{BASE "activity = { interval = 60; };\n", 3, "activity.interval: must be a string, not an integer"},
	{BASE "activity = { jobs = -1; };\n", 3, "activity.jobs: -1 is out of range (0 to 10000)"},
	{BASE "activity = { jobs = 10001; };\n", 3, "activity.jobs: 10001 is out of range (0 to 10000)"},
	{BASE "activity = { jobs = \"200\"; };\n", 3, "activity.jobs: must be an integer, not a string"},
	{BASE "activity = { jobs = 2.5; };\n", 3, "activity.jobs: must be an integer, not a number"},
	{BASE "activity = { workers = true; };\n", 3,
		"activity: unknown setting 'workers' (known: enabled, interval, jobs)"},
};

static void test_values(void)
{
	struct config *cfg = config_cases_load(BASE);

	if (cfg) {
		CHECK(!cfg->activity.enabled);
		CHECK_INT(cfg->activity.interval_seconds, 60);
		CHECK_STR(cfg->activity.interval_text, "1m");
		CHECK_INT(cfg->activity.jobs, 200);
	}
	config_free(cfg);
	cfg = config_cases_load(good[3]);
	if (cfg) {
		CHECK(!cfg->activity.enabled);
		CHECK_INT(cfg->activity.interval_seconds, 7 * 86400);
		CHECK_STR(cfg->activity.interval_text, "7d");
		CHECK_INT(cfg->activity.jobs, 10000);
	}
	config_free(cfg);
	cfg = config_cases_load(good[2]);
	if (cfg)
		CHECK_INT(cfg->activity.jobs, 0);
	config_free(cfg);
}

int main(void)
{
	config_cases_good(good, sizeof(good) / sizeof(good[0]));
	config_cases_bad(bad, sizeof(bad) / sizeof(bad[0]));
	test_values();
	TEST_DONE();
}
