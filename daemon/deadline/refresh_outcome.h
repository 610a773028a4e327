/* refresh_outcome: what a refresh's failures are called (kind label, log reason) and which ones last */
#pragma once

#include <stdbool.h>

#include "config/config.h"
#include "metrics/store.h"

/* Outcomes of a refresh beyond api_call's (enum api_outcome) and -errno. */
enum refresh_outcome {
	REFRESH_AGG_EXPIRED = 100, /* the aggregation kept vanishing (404) */
	REFRESH_AGG_FAILED, /* FAILED or TIMEOUT, even in halves */
	REFRESH_CLOCK_BEHIND, /* a counter report's clock is in a window before its figures' (counter_plan()) */
};

/* The kind label of a failed refresh's outcome r, for deadline_cloud_exporter_refresh_errors_total. */
const char *refresh_error_kind(int r);

/* The reason a failed refresh's log line gives for outcome r. */
const char *refresh_error_text(int r);

/* Failures that waiting a little will not mend: retried on the normal schedule, not sooner. */
bool refresh_error_is_persistent(int r);

/*
 * Declares at 0 every counter series a refresh of (farm, rc) counts, so that increase() sees its first event:
 * refresh_errors_total of every kind rc can fail with (no_queue_names with labels, clock_behind for a counter
 * report), pages_read_total, rows_read_total, aggregation_splits_total of both kinds,
 * and the farm's aggregations_total of every final status.
 */
void refresh_declare_counters(
	struct metrics_store *store, const struct farm_config *farm, const struct report_config *rc);
