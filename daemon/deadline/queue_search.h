/* queue_search: what a labelled refresh looks up before its merge: the queues' names, each new job's queue */
#pragma once

#include "config/config.h"
#include "deadline/api_call.h"
#include "deadline/queue_lookup.h"
#include "metrics/inventory.h"
#include "metrics/usage.h"

/* Outcomes of queue_search_prepare() beside 0, an enum api_outcome and -errno. */
enum queue_search_outcome {
	QUEUE_SEARCH_NO_NAMES = 200, /* the inventory has not listed the farm's queues yet: nothing to name them by */
};

/*
 * Brings ql up to date for a merge of t (a table of report rc's group_by) by rc's labels, when one of them derives
 * from queue names: the farm's queue names from board's latest listing, then, for a report that finds queues
 * through its jobs (queue_lookup_by_job()), SearchJobs over the listed queues for the jobs of t not seen before
 * (every job of the farm the first time, then those created since the last complete search); a job still not found
 * is remembered as missing. Returns 0, QUEUE_SEARCH_NO_NAMES, an enum api_outcome of a SearchJobs call (logged), or
 * -errno; on failure ql keeps what it learnt.
 */
int queue_search_prepare(struct api_caller *api, struct inventory_board *board, const char *farm_id,
	struct queue_lookup *ql, const struct report_config *rc, struct usage_table *t);
