/* test-aws_iam: the table of operations and IAM actions is whole and consistent (the policy itself: tests/deploy) */
#include <stdbool.h>
#include <string.h>

#include "aws/aws_iam.h"
#include "test.h"
#include "util/array.h"

/* Every action is the operation's own name under its service's prefix: a typo would grant nothing. */
static void test_table(void)
{
	static const char *const prefixes[] = {"deadline:", "identitystore:", "sts:"};

	CHECK(aws_iam_operations_count >= 16);
	for (size_t i = 0; i < aws_iam_operations_count; i++) {
		const struct aws_iam_operation *op = &aws_iam_operations[i];
		bool prefixed = false;

		CHECK_MSG(op->operation && *op->operation, "entry %zu", i);
		CHECK_MSG(op->needed_for && *op->needed_for, "%s: says which configuration calls it", op->operation);
		CHECK_MSG(
			!op->action == !op->sid, "%s: an action has its statement, and only an action", op->operation);
		for (size_t k = i + 1; k < aws_iam_operations_count; k++)
			CHECK_MSG(
				strcmp(op->operation, aws_iam_operations[k].operation) != 0, "%s twice", op->operation);
		if (!op->action)
			continue;
		for (size_t p = 0; p < ARRAY_SIZE(prefixes); p++) {
			size_t n = strlen(prefixes[p]);

			prefixed |=
				strncmp(op->action, prefixes[p], n) == 0 && strcmp(op->action + n, op->operation) == 0;
		}
		CHECK_MSG(prefixed, "%s: action %s is SERVICE:%s", op->operation, op->action, op->operation);
	}
}

static void test_lookup(void)
{
	static const struct {
		const char *operation;
		const char *action;
	} cases[] = {
		{"StartSessionsStatisticsAggregation", "deadline:StartSessionsStatisticsAggregation"},
		{"ListBudgets", "deadline:ListBudgets"},
		{"ListLicenseEndpoints", "deadline:ListLicenseEndpoints"},
		{"DescribeUser", "identitystore:DescribeUser"},
		{"AssumeRole", "sts:AssumeRole"},
		{"GetCallerIdentity", NULL},
		{"AssumeRoleWithWebIdentity", NULL},
		{"listqueues", NULL},
		{"", NULL},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *got = aws_iam_action(cases[i].operation);

		if (cases[i].action)
			CHECK_STR(got, cases[i].action);
		else
			CHECK_MSG(!got, "%s: %s", cases[i].operation, got);
	}
	CHECK(aws_iam_find("GetCallerIdentity") != NULL);
	CHECK(aws_iam_find("ListQueue") == NULL);
	CHECK(aws_iam_find(NULL) == NULL);
	CHECK(aws_iam_action(NULL) == NULL);
}

int main(void)
{
	test_table();
	test_lookup();
	TEST_DONE();
}
