/* test-access_check: what a call's outcome says about the permissions, and an IAM action for each operation */
#include "aws/aws_iam.h"
#include "deadline/access_check.h"
#include "deadline/api_policy.h"
#include "test.h"

#include <errno.h>

static void test_verdicts(void)
{
	static const struct {
		int outcome;
		bool placeholder;
		enum access_verdict verdict;
	} cases[] = {
		{0, false, ACCESS_OK},
		{0, true, ACCESS_OK},
		{API_DENIED, false, ACCESS_DENIED},
		{API_DENIED, true, ACCESS_DENIED},
		/* "not found" proves the permission only for a placeholder: a configured farm not found is a failure */
		{API_NOT_FOUND, true, ACCESS_PERMITTED},
		{API_NOT_FOUND, false, ACCESS_FAILED},
		{API_THROTTLED, true, ACCESS_FAILED},
		{API_CLIENT_ERROR, true, ACCESS_FAILED},
		{API_NO_CREDENTIALS, false, ACCESS_FAILED},
		{-ECONNREFUSED, false, ACCESS_FAILED},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_MSG(access_verdict_of(cases[i].outcome, cases[i].placeholder) == cases[i].verdict, "case %zu", i);
}

/* A denied line names the action to grant: every operation the check calls is in the IAM table, with one. */
static void test_actions(void)
{
	size_t n = 0;

	for (const char *op; (op = access_check_operation(n)) != NULL; n++)
		CHECK_MSG(aws_iam_action(op) != NULL, "%s has no IAM action in aws_iam", op);
	CHECK_INT(n, 13);
	CHECK_STR(aws_iam_action(access_check_operation(n - 1)), "identitystore:DescribeUser");
}

static struct config *load(const char *text)
{
	struct config *cfg = NULL;
	char err[2048] = "";

	CHECK_MSG(config_load_string(&cfg, "t.conf", text, err, sizeof(err)) == 0, "%s", err);
	return cfg;
}

#define FARM "farm-00000000000000000000000000000001"
#define REPORTS "reports = ( { name = \"r\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; } );\n"

/* What a configuration makes the exporter call, per farm and account-wide: the counters declared from it. */
static void test_operations(void)
{
	static const struct {
		const char *text;
		const char *farm, *account; /* the operations, joined by spaces */
	} cases[] = {
		{"farms = ( { id = \"" FARM "\"; } );\n" REPORTS,
			"GetFarm ListQueues ListFleets ListBudgets GetBudget StartSessionsStatisticsAggregation "
			"GetSessionsStatisticsAggregation",
			"GetCallerIdentity"},
		{"farms = ( { id = \"" FARM
		 "\"; queues = [ \"queue-00000000000000000000000000000001\" ]; } );\n" REPORTS
		 "inventory = { enabled = false; };\n",
			"ListFleets StartSessionsStatisticsAggregation GetSessionsStatisticsAggregation", ""},
		{"farms = ( { id = \"" FARM "\"; role_arn = \"arn:aws:iam::111122223333:role/r\"; } );\n" REPORTS
		 "inventory = { budgets = false; };\nactivity = { enabled = true; };\n"
		 "identity_store = { id = \"d-0123456789\"; };\n",
			"GetFarm ListQueues ListFleets StartSessionsStatisticsAggregation "
			"GetSessionsStatisticsAggregation "
			"ListWorkers SearchJobs ListQueueFleetAssociations ListLimits",
			"ListLicenseEndpoints DescribeUser AssumeRole"},
		/* a queue_name label of a JOB_ID report: its jobs' queues from SearchJobs, the activity off */
		{"farms = ( { id = \"" FARM "\"; } );\n"
		 "reports = ( { name = \"r\"; window = \"month\"; group_by = [ \"JOB_ID\" ]; labels = ( { label = "
		 "\"show\"; source = \"queue_name\"; default = \"\"; } ); } );\n"
		 "inventory = { budgets = false; };\n",
			"GetFarm ListQueues ListFleets StartSessionsStatisticsAggregation "
			"GetSessionsStatisticsAggregation "
			"SearchJobs",
			"GetCallerIdentity"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg = load(cases[i].text);
		const char *ops[32];
		char got[1024];

		if (!cfg)
			continue;
		for (int account = 0; account < 2; account++) {
			size_t n = access_check_operations(cfg, account ? NULL : &cfg->farms[0], ops, 32);
			got[0] = '\0';
			for (size_t k = 0; k < n; k++)
				snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", k ? " " : "", ops[k]);
			CHECK_MSG(strcmp(got, account ? cases[i].account : cases[i].farm) == 0, "case %zu %s: %s", i,
				account ? "account" : "farm", got);
		}
		/* cut at cap, the count still whole */
		size_t all = access_check_operations(cfg, &cfg->farms[0], ops, 32);
		CHECK_INT(access_check_operations(cfg, &cfg->farms[0], ops, 1), all);
		config_free(cfg);
	}
}

int main(void)
{
	test_verdicts();
	test_actions();
	test_operations();
	TEST_DONE();
}
