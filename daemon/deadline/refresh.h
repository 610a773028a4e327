/* refresh: one (farm, report) refresh: list resources, Start, poll, read every page, merge, publish */
#pragma once

#include <stdbool.h>

#include "config/config.h"
#include "deadline/api_call.h"
#include "deadline/users.h"
#include "metrics/store.h"

/* Outcomes of a refresh beyond api_call's (enum api_outcome) and -errno. */
enum refresh_outcome {
	REFRESH_AGG_EXPIRED = 100, /* the aggregation kept vanishing (404) */
	REFRESH_AGG_FAILED, /* FAILED or TIMEOUT, even in halves */
};

/* What a refresh works with: the farm thread's API caller, its farm, the store it publishes to. */
struct refresh_ctx {
	struct api_caller *api;
	const struct farm_config *farm;
	struct metrics_store *store;
	struct user_directory *users; /* or NULL: told the user ids of the figures published */
};

/*
 * Refreshes rc for rf->farm and publishes the figures (or records the failure in the store). Returns 0
 * when published, an enum api_outcome (API_STOPPED when the poller stops), an enum refresh_outcome or
 * -errno.
 */
int refresh_report(struct refresh_ctx *rf, const struct report_config *rc);

/*
 * Lists every queue or fleet of farm_id (ListQueues / ListFleets, through the paginator): *ids (each and the array
 * malloc'd) and *n, left empty on failure. report names the report in the log, or NULL (the live state's round).
 * Returns 0, an enum api_outcome or -errno.
 */
int refresh_list_resources(
	struct api_caller *a, const char *farm_id, enum resource_kind kind, const char *report, char ***ids, size_t *n);

/* Failures that waiting a little will not mend: retried on the normal schedule, not sooner. */
bool refresh_error_is_persistent(int r);

/*
 * Declares at 0 every counter series a refresh of (farm, rc) counts, so that increase() sees its first event:
 * refresh_errors_total of every kind, pages_read_total, rows_read_total, aggregation_splits_total of both kinds,
 * and the farm's aggregations_total of every final status.
 */
void refresh_declare_counters(
	struct metrics_store *store, const struct farm_config *farm, const struct report_config *rc);
