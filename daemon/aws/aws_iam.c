/* aws_iam: every AWS operation the exporter calls, the IAM action it needs, and which configuration calls it */
#include "aws/aws_iam.h"

#include <string.h>

#include "util/array.h"

/* clang-format off */
const struct aws_iam_operation aws_iam_operations[] = {
	/* The usage reports (sessions statistics aggregations). ListQueues and ListFleets list a farm's "all" (the
	 * default) at each refresh, and the inventory lists them too: every configuration calls them. */
	{"StartSessionsStatisticsAggregation", "deadline:StartSessionsStatisticsAggregation", "UsageReports", "every report"},
	{"GetSessionsStatisticsAggregation", "deadline:GetSessionsStatisticsAggregation", "UsageReports", "every report"},
	{"ListQueues", "deadline:ListQueues", "UsageReports", "farms[].queues = \"all\" (the default), the inventory"},
	{"ListFleets", "deadline:ListFleets", "UsageReports", "farms[].fleets = \"all\" (the default), the inventory"},
	/* The farm inventory: names, state and budgets (inventory.enabled and inventory.budgets, both on by default). */
	{"GetFarm", "deadline:GetFarm", "Inventory", "inventory.enabled (the default)"},
	{"ListBudgets", "deadline:ListBudgets", "InventoryBudgets", "inventory.budgets (the default)"},
	{"GetBudget", "deadline:GetBudget", "InventoryBudgets", "inventory.budgets (the default)"},
	/* The farm's live state (activity.enabled, off by default). */
	{"ListWorkers", "deadline:ListWorkers", "Activity", "activity.enabled"},
	{"SearchJobs", "deadline:SearchJobs", "Activity", "activity.enabled; a queue_name label of a JOB_ID report"},
	{"ListQueueFleetAssociations", "deadline:ListQueueFleetAssociations", "Activity", "activity.enabled"},
	{"ListLimits", "deadline:ListLimits", "Activity", "activity.enabled"},
	/* Account-wide, once per region: not a resource of a farm. */
	{"ListLicenseEndpoints", "deadline:ListLicenseEndpoints", "ActivityLicenseEndpoints", "activity.enabled"},
	/* User names, from IAM Identity Center's identity store. */
	{"DescribeUser", "identitystore:DescribeUser", "IdentityStoreUserNames", "identity_store"},
	/* STS: a role per farm, or a profile's role_arn; granted to the identity that assumes the role. */
	{"AssumeRole", "sts:AssumeRole", "AssumeFarmRoles", "farms[].role_arn, identity_store.role_arn"},
	/* EKS IRSA: allowed by the role's trust policy alone, never by a permission. */
	{"AssumeRoleWithWebIdentity", NULL, NULL, "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (IRSA)"},
	/* Who am I: every identity may ask. */
	{"GetCallerIdentity", NULL, NULL, "--check-aws"},
};
/* clang-format on */

const size_t aws_iam_operations_count = ARRAY_SIZE(aws_iam_operations);

const struct aws_iam_operation *aws_iam_find(const char *operation)
{
	if (!operation)
		return NULL;
	for (size_t i = 0; i < aws_iam_operations_count; i++) {
		if (strcmp(aws_iam_operations[i].operation, operation) == 0)
			return &aws_iam_operations[i];
	}
	return NULL;
}

const char *aws_iam_action(const char *operation)
{
	const struct aws_iam_operation *op = aws_iam_find(operation);

	return op ? op->action : NULL;
}
