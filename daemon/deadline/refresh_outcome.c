/* refresh_outcome: what a refresh's failures are called (kind label, log reason) and which ones last */
#include "deadline/refresh_outcome.h"

#include "deadline/api_policy.h"
#include "deadline/queue_search.h"
#include "util/array.h"

/* The kinds of refresh_errors_total of a refresh's own outcomes (api_outcome_kind() names the others). */
#define KIND_AGG_FAILED "aggregation_failed"
#define KIND_AGG_EXPIRED "aggregation_expired"
#define KIND_NO_QUEUE_NAMES "no_queue_names"
#define KIND_CLOCK_BEHIND "clock_behind"

const char *refresh_error_kind(int r)
{
	if (r == REFRESH_AGG_FAILED)
		return KIND_AGG_FAILED;
	if (r == REFRESH_AGG_EXPIRED)
		return KIND_AGG_EXPIRED;
	if (r == QUEUE_SEARCH_NO_NAMES)
		return KIND_NO_QUEUE_NAMES;
	if (r == REFRESH_CLOCK_BEHIND)
		return KIND_CLOCK_BEHIND;
	return api_outcome_kind(r);
}

const char *refresh_error_text(int r)
{
	if (r == REFRESH_AGG_FAILED)
		return "aggregation failed";
	if (r == REFRESH_AGG_EXPIRED)
		return "aggregation kept expiring";
	if (r == REFRESH_CLOCK_BEHIND)
		return "the clock is in a window before the one of the counters' figures; they stay until it is past "
		       "them";
	if (r == QUEUE_SEARCH_NO_NAMES)
		return "the inventory has not listed the farm's queue names yet";
	return api_outcome_text(r);
}

void refresh_declare_counters(
	struct metrics_store *store, const struct farm_config *farm, const struct report_config *rc)
{
	/* The final statuses aggregation_count() is given (deadline_status_name(), and EXPIRED), and the splits'. */
	static const char *const statuses[] = {"COMPLETED", "FAILED", "TIMEOUT", "EXPIRED"};
	static const char *const splits[] = {"resources", "window"};
	const char *kind;

	for (size_t i = 0; (kind = api_outcome_kind_at(i)) != NULL; i++)
		metrics_store_count(store, METRICS_REFRESH_ERRORS, (const char *const[]){farm->id, rc->name, kind}, 0);
	metrics_store_count(
		store, METRICS_REFRESH_ERRORS, (const char *const[]){farm->id, rc->name, KIND_AGG_FAILED}, 0);
	metrics_store_count(
		store, METRICS_REFRESH_ERRORS, (const char *const[]){farm->id, rc->name, KIND_AGG_EXPIRED}, 0);
	if (rc->n_labels)
		metrics_store_count(store, METRICS_REFRESH_ERRORS,
			(const char *const[]){farm->id, rc->name, KIND_NO_QUEUE_NAMES}, 0);
	if (rc->counter)
		metrics_store_count(
			store, METRICS_REFRESH_ERRORS, (const char *const[]){farm->id, rc->name, KIND_CLOCK_BEHIND}, 0);
	metrics_store_count(store, METRICS_PAGES, (const char *const[]){farm->id, rc->name}, 0);
	metrics_store_count(store, METRICS_ROWS, (const char *const[]){farm->id, rc->name}, 0);
	for (size_t i = 0; i < ARRAY_SIZE(splits); i++)
		metrics_store_count(store, METRICS_SPLITS, (const char *const[]){farm->id, rc->name, splits[i]}, 0);
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
		metrics_store_count(store, METRICS_AGGREGATIONS, (const char *const[]){farm->id, statuses[i]}, 0);
}

bool refresh_error_is_persistent(int r)
{
	return r == API_DENIED || r == API_CLIENT_ERROR || r == API_NOT_FOUND || r == API_NO_CREDENTIALS ||
	       r == REFRESH_CLOCK_BEHIND;
}
