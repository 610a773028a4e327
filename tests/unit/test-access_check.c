/* test-access_check: what a call's outcome says about the permissions, and the IAM action of each operation */
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

static void test_actions(void)
{
	CHECK_STR(access_iam_action("ListBudgets"), "deadline:ListBudgets");
	CHECK_STR(
		access_iam_action("StartSessionsStatisticsAggregation"), "deadline:StartSessionsStatisticsAggregation");
	CHECK_STR(access_iam_action("DescribeUser"), "identitystore:DescribeUser");
}

int main(void)
{
	test_verdicts();
	test_actions();
	TEST_DONE();
}
