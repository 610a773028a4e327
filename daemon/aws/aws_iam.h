/* aws_iam: every AWS operation the exporter calls, the IAM action it needs, and which configuration calls it */
#pragma once

#include <stddef.h>

/*
 * One operation, as the exporter names it (the op= of the logs, the operation label of api_requests_total). The
 * table is the source docs/iam-policy.json is checked against (tests/deploy/test_iam_policy.py): each action is
 * granted by the policy's statement named by sid, and the policy grants nothing else.
 */
struct aws_iam_operation {
	const char *operation; /* "ListQueues" */
	const char *action; /* the IAM action to grant, "deadline:ListQueues"; NULL when the call needs none */
	const char *sid; /* the Sid of docs/iam-policy.json's statement that grants it; NULL with action */
	const char *needed_for; /* the configuration that makes the exporter call it, in words */
};

/* The table, and its length. */
extern const struct aws_iam_operation aws_iam_operations[];
extern const size_t aws_iam_operations_count;

/* The entry of operation, or NULL when the exporter does not know it. */
const struct aws_iam_operation *aws_iam_find(const char *operation);

/*
 * The IAM action to grant for operation ("deadline:ListBudgets"), for an AccessDenied message; NULL when the
 * operation needs no permission or is not in the table.
 */
const char *aws_iam_action(const char *operation);
