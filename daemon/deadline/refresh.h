/* refresh: one (farm, report) refresh: list resources, Start, poll, read every page, merge, publish */
#pragma once

#include <stdbool.h>

#include "config/config.h"
#include "deadline/api_call.h"
#include "deadline/counter_state.h"
#include "deadline/queue_lookup.h"
#include "deadline/refresh_outcome.h"
#include "deadline/users.h"
#include "metrics/store.h"

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
 * Refreshes rc for rf->farm and publishes the figures (or records the failure in the store). A counter report
 * (rc->counter) has its state cs (else NULL): its figures are held there, its file read before its first refresh
 * and written after each, and when the window of its figures has ended, that window is refreshed up to its end
 * and published first, and the new window's figures wait (up to COUNTER_SCRAPE_WAIT_S) for a scrape to take
 * those. Returns 0 when published, an enum api_outcome (API_STOPPED when the poller stops), an enum
 * refresh_outcome or -errno.
 */
int refresh_report(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs);

/*
 * Lists every queue or fleet of farm_id (ListQueues / ListFleets, through the paginator): *ids (each and the array
 * malloc'd) and *n, left empty on failure. report names the report in the log, or NULL (the live state's round).
 * Returns 0, an enum api_outcome or -errno.
 */
int refresh_list_resources(
	struct api_caller *a, const char *farm_id, enum resource_kind kind, const char *report, char ***ids, size_t *n);
