/* refresh: one refresh of a farm's group of reports: ids, Start, poll, read every page, merge, publish each report */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "deadline/api_call.h"
#include "deadline/counter_state.h"
#include "deadline/plan.h"
#include "deadline/queue_lookup.h"
#include "deadline/refresh_outcome.h"
#include "deadline/users.h"
#include "metrics/store.h"
#include "metrics/usage.h"

/* What a refresh works with: the farm thread's API caller, its farm, the store it publishes to. */
struct refresh_ctx {
	struct api_caller *api;
	const struct farm_config *farm;
	struct metrics_store *store;
	struct user_directory *users; /* or NULL: told the user ids of the figures published */
	struct inventory_board *board; /* or NULL: the queue names of reports[].labels */
	struct queue_lookup *queues; /* the farm's queue names and jobs' queues, kept from refresh to refresh */
};

/*
 * Refreshes the reports of g on rf->farm for the window of g's reports that ends at now (Unix seconds): resolves
 * the ids (resource_ids), asks one aggregation per batch of 10 for the union of the reports' statistics, merges
 * every row into one table, then publishes each report's own figures from it (refresh_publish()), or records the
 * failure for each. cs is NULL or beside g->members: a counter report's state (else NULL), where its figures are
 * held, its file read before its first refresh and written after each; when the window of its figures has ended,
 * that window is refreshed up to its end for it alone and published first, and the new window's figures wait (up
 * to COUNTER_SCRAPE_WAIT_S) for a scrape to take those, after the group's other reports have published. Returns 0
 * when every report was published, an enum api_outcome (API_STOPPED when the poller stops), an enum
 * refresh_outcome, QUEUE_SEARCH_NO_NAMES (a report with labels) or -errno.
 */
int refresh_group(struct refresh_ctx *rf, const struct plan_group *g, struct counter_state *const *cs, int64_t now);

/*
 * One report's share of its group's refresh: rc's figures from the merged rows t of the window [start, end) (t is
 * only sorted: the other reports of the group publish from it too), merged by rc's labels when it has some, shown
 * with rc's statistics and limit, published to the store, and the user ids they name told to the user directory.
 * duration is the group's refresh so far, in seconds. Returns 0, what metrics_store_publish() returned, or what the
 * labels' lookups returned (QUEUE_SEARCH_NO_NAMES, an enum api_outcome, -errno).
 */
int refresh_publish(struct refresh_ctx *rf, const struct report_config *rc, struct usage_table *t, int64_t start,
	int64_t end, double duration);
