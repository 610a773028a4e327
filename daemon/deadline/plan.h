/* plan: which reports of a farm are refreshed together from one aggregation, and the kind of ids it asks by (pure) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/*
 * Reports of one farm that share every setting an aggregation's answer depends on (see plan_reports_share()) are
 * refreshed together: one aggregation per batch asks for the union of their statistics, and each report then
 * publishes exactly its own statistics from the merged rows.
 */
struct plan_group {
	const struct report_config **members; /* borrowed from the configuration, in its order; at least one */
	size_t n_members;
	unsigned statistics; /* the union of the members' statistics: what the aggregation asks for */
	int64_t interval_seconds; /* the shortest of the members' intervals: how often the group is refreshed */
	char *name; /* the members' names joined by ',' (for logs) */
};

/* The aggregations of one farm's refreshes: its reports cut into groups, in the order of their first member. */
struct farm_plan {
	const struct farm_config *farm; /* borrowed */
	struct plan_group *groups;
	size_t n_groups;
};

/*
 * Whether reports a and b, on farm, can be answered by one aggregation: the same ids (resources resolving to the
 * same kind on this farm, or both "auto" decided by the farm's counts), the same window (kind and rolling length),
 * timezone, period and group_by (the same fields in the same order, since the merged rows and the labels follow
 * that order). Name, statistics, interval, limit, counter and labels may differ.
 */
bool plan_reports_share(const struct farm_config *farm, const struct report_config *a, const struct report_config *b);

/*
 * Groups reports[0..n) of farm (n > 0): each report joins the first group whose first member it shares with
 * (plan_reports_share()). *out owns a new plan (plan_free()); farm and reports are borrowed and must outlive it.
 * Returns 0, -EINVAL (n is 0) or -ENOMEM.
 */
int plan_new(struct farm_plan **out, const struct farm_config *farm, const struct report_config *reports, size_t n);

/* NULL-safe. */
void plan_free(struct farm_plan *p);

/* The group's first member: its window, timezone, period, group_by and resources are the group's. */
const struct report_config *plan_group_lead(const struct plan_group *g);

/* Whether groups a and b have the same members, by name and in the same order (a reload keeps the schedule then). */
bool plan_group_same_members(const struct plan_group *a, const struct plan_group *b);

/* The batches n ids take at per_batch ids per aggregation (per_batch > 0). */
size_t plan_batches(size_t n, size_t per_batch);

/*
 * "auto" over a farm whose queues and fleets are both "all", with its n_fleets fleets listed: the most queues for
 * which asking by queue still needs no more batches than asking by fleet (queues win a tie). A queue listing that
 * finds more than this may stop there: the fleets need fewer batches, whatever the rest of the listing holds.
 */
size_t plan_queues_worth_listing(size_t n_fleets, size_t per_batch);
