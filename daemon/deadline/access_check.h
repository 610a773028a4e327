/* access_check: the calls of --check-aws: once per farm, every operation the configuration uses, and what each
 * answer means for the IAM policy */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "deadline/api_call.h"

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

/* Told of each call's result as soon as it is known (results are the caller's to print). */
typedef void (*access_report_fn)(void *ctx, const struct access_result *r);

/*
 * Calls, once on farm f with api (the farm's endpoint, region and credentials: its role's, or the exporter's), every
 * operation cfg makes the exporter call for it, in a fixed order: the inventory's (GetFarm, ListQueues, ListFleets,
 * ListBudgets, GetBudget) when inventory.enabled (with budgets), the listings "all" needs otherwise, the usage
 * aggregation (Start over [now - 60 s, now) on one resource of the first report's kind, waiting while another
 * aggregation holds the farm's slot, then Get until it ends: harmless to a real farm), and the live state's when
 * activity.enabled. An operation that needs an id (GetBudget, ListWorkers, SearchJobs, Get) takes the first one
 * listed, else a placeholder id, for which "not found" proves the permission. Returns how many were not ACCESS_OK
 * or ACCESS_PERMITTED.
 */
int access_check_farm(const struct config *cfg, const struct farm_config *f, struct api_caller *api, int64_t now,
	access_report_fn report, void *ctx);

/*
 * DescribeUser on cfg's identity store (a placeholder user) with api (signed for the identity store); farm_id "-".
 * Returns as access_check_farm().
 */
int access_check_identity_store(const struct config *cfg, struct api_caller *api, access_report_fn report, void *ctx);

/*
 * What a call's outcome (0, an enum api_outcome, or -errno) means; placeholder: the call named a placeholder
 * resource, so "not found" is the answer of a permitted call.
 */
enum access_verdict access_verdict_of(int outcome, bool placeholder);

/*
 * The operations cfg makes the exporter call, as the check calls them: for farm f, those of the farm's resources;
 * for f NULL, the account-wide ones (counted with farm_id "-": ListLicenseEndpoints, DescribeUser, AssumeRole, and
 * GetCallerIdentity when the inventory names the account of a farm without a role).
 * Writes up to cap names (static strings) into ops; returns how many there are (more than cap: cut).
 */
size_t access_check_operations(const struct config *cfg, const struct farm_config *f, const char **ops, size_t cap);

/* test hook: the operations the check knows, in its order (i from 0; NULL past the last), DescribeUser last. */
const char *access_check_operation(size_t i);
