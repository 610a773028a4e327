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

int main(void)
{
	test_verdicts();
	test_actions();
	TEST_DONE();
}
