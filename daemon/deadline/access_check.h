/* access_check: the calls of --check-aws: once per farm, every operation the configuration uses, and what each
 * answer means for the IAM policy */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/credentials/aws_credentials.h"
#include "config/config.h"

/* What one (farm, operation) call says about the exporter's permissions. */
enum access_verdict {
	ACCESS_OK, /* the call succeeded */
	ACCESS_PERMITTED, /* asked about a placeholder resource and told it does not exist: IAM let the call in */
	ACCESS_DENIED, /* AccessDeniedException: the IAM action is missing */
	ACCESS_FAILED, /* any other failure (credentials, network, the farm unknown in its region, throttling…) */
};

struct access_result {
	const char *farm_id; /* the farm whose credentials and endpoint were used; "-" for the identity store */
	const char *operation; /* "ListBudgets": static */
	enum access_verdict verdict;
	char detail[768]; /* ok: what was read ("3 queues listed"); else the error: code, HTTP status, message */
};

/* Where one farm's (or the identity store's) calls go. */
struct access_target {
	const char *endpoint; /* the service's base URL */
	const char *region; /* the signing region */
	const char *ca_file; /* or NULL */
	struct aws_credentials_provider *creds; /* the farm's: its role's, or the exporter's chain */
};

/* Told of each call's result as soon as it is known (results are the caller's to print). */
typedef void (*access_report_fn)(void *ctx, const struct access_result *r);

/*
 * Calls, once on farm f with t, every operation cfg makes the exporter call for it, in a fixed order: the
 * inventory's (GetFarm, ListQueues, ListFleets, ListBudgets, GetBudget) when inventory.enabled (with budgets), the
 * listings "all" needs otherwise, the usage aggregation (Start over [now - 60 s, now) on one resource of the first
 * report's kind, then Get until it ends: harmless to a real farm), and the live state's when activity.enabled.
 * An operation that needs an id (GetBudget, ListWorkers, SearchJobs, Get) takes the first one listed, else a
 * placeholder id, for which "not found" proves the permission. Returns how many were not ACCESS_OK or
 * ACCESS_PERMITTED; -ENOMEM (or -EINVAL for an unusable endpoint) before any call.
 */
int access_check_farm(const struct config *cfg, const struct farm_config *f, const struct access_target *t, int64_t now,
	access_report_fn report, void *ctx);

/* DescribeUser on cfg's identity store (a placeholder user) with t; farm_id "-". Returns as access_check_farm(). */
int access_check_identity_store(
	const struct config *cfg, const struct access_target *t, access_report_fn report, void *ctx);

/*
 * What a call's outcome (0, an enum api_outcome, or -errno) means; placeholder: the call named a placeholder
 * resource, so "not found" is the answer of a permitted call.
 */
enum access_verdict access_verdict_of(int outcome, bool placeholder);

/* The IAM action that grants operation ("deadline:ListBudgets", "identitystore:DescribeUser"): static. */
const char *access_iam_action(const char *operation);
