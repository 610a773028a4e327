/* inventory_render: a farm's inventory as a section: _info, state sets, workers, budgets, listing health */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "metrics/inventory.h"
#include "metrics/exposition.h"
#include "util/array.h"

/* The enums' values known to this version; another value appears as its own series at 1. */
static const char *const queue_statuses[] = {"IDLE", "SCHEDULING", "SCHEDULING_BLOCKED"};
static const char *const fleet_statuses[] = {
	"ACTIVE", "CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "CREATE_FAILED", "UPDATE_FAILED", "SUSPENDED"};
static const char *const autoscaling_statuses[] = {"GROWING", "STEADY", "SHRINKING"};
static const char *const budget_statuses[] = {"ACTIVE", "INACTIVE"};

/* The inventory kind's families (all gauges), in output order. */
enum inventory_family {
	INV_FARM_INFO,
	INV_FARM_SCALE,
	INV_QUEUE_INFO,
	INV_QUEUE_STATUS,
	INV_QUEUE_BLOCKED,
	INV_FLEET_INFO,
	INV_FLEET_STATUS,
	INV_FLEET_AUTOSCALING,
	INV_FLEET_WORKERS,
	INV_FLEET_TARGET,
	INV_FLEET_MIN,
	INV_FLEET_MAX,
	INV_BUDGET_INFO,
	INV_BUDGET_LIMIT,
	INV_BUDGET_USAGE,
	INV_BUDGET_STATUS,
	INV_BUDGET_START,
	INV_BUDGET_END,
	INV_BUDGET_ACTION,
	INV_BUDGET_STOPPED,
	INV_UP,
	INV_LAST_SUCCESS,
	INV_FAMILY_COUNT,
};

#define FAMILY(f, n, h) [f] = {.name = n, .type = EXPOSITION_GAUGE, .help = h}

static const struct exposition_family inventory_families[INV_FAMILY_COUNT] = {
	FAMILY(INV_FARM_INFO, "deadline_cloud_farm_info",
		"The farm's display name (GetFarm), its AWS account (its role's, else the exporter's) and region; "
		"always "
		"1."),
	FAMILY(INV_FARM_SCALE, "deadline_cloud_farm_cost_scale_factor",
		"The multiplier Deadline Cloud applies to the farm's costs (GetFarm costScaleFactor)."),
	FAMILY(INV_QUEUE_INFO, "deadline_cloud_queue_info", "The queue's display name (ListQueues); always 1."),
	FAMILY(INV_QUEUE_STATUS, "deadline_cloud_queue_status",
		"The queue's status: 1 for the current one, 0 for the others."),
	FAMILY(INV_QUEUE_BLOCKED, "deadline_cloud_queue_blocked_reason",
		"Why the queue's scheduling is blocked, while it is; always 1."),
	FAMILY(INV_FLEET_INFO, "deadline_cloud_fleet_info", "The fleet's display name (ListFleets); always 1."),
	FAMILY(INV_FLEET_STATUS, "deadline_cloud_fleet_status",
		"The fleet's status: 1 for the current one, 0 for the others."),
	FAMILY(INV_FLEET_AUTOSCALING, "deadline_cloud_fleet_autoscaling_status",
		"The fleet's auto scaling status: 1 for the current one, 0 for the others."),
	FAMILY(INV_FLEET_WORKERS, "deadline_cloud_fleet_workers", "Workers in the fleet (workerCount)."),
	FAMILY(INV_FLEET_TARGET, "deadline_cloud_fleet_workers_target",
		"Workers the fleet is scaling to (targetWorkerCount)."),
	FAMILY(INV_FLEET_MIN, "deadline_cloud_fleet_workers_min", "The fleet's minimum number of workers."),
	FAMILY(INV_FLEET_MAX, "deadline_cloud_fleet_workers_max", "The fleet's maximum number of workers."),
	FAMILY(INV_BUDGET_INFO, "deadline_cloud_budget_info",
		"The budget's display name and the queue it tracks (ListBudgets); always 1."),
	FAMILY(INV_BUDGET_LIMIT, "deadline_cloud_budget_limit_usd", "The budget's limit (approximateDollarLimit)."),
	FAMILY(INV_BUDGET_USAGE, "deadline_cloud_budget_usage_usd",
		"What the budget has used (usages.approximateDollarUsage)."),
	FAMILY(INV_BUDGET_STATUS, "deadline_cloud_budget_status",
		"The budget's status: 1 for the current one, 0 for the others."),
	FAMILY(INV_BUDGET_START, "deadline_cloud_budget_start_timestamp_seconds",
		"Unix time the budget's fixed schedule starts."),
	FAMILY(INV_BUDGET_END, "deadline_cloud_budget_end_timestamp_seconds",
		"Unix time the budget's fixed schedule ends."),
	FAMILY(INV_BUDGET_ACTION, "deadline_cloud_budget_action_threshold_ratio",
		"The share of the budget's limit at which the action of this type is taken."),
	FAMILY(INV_BUDGET_STOPPED, "deadline_cloud_budget_queue_stopped_timestamp_seconds",
		"Unix time the budget stopped its queue."),
	FAMILY(INV_UP, "deadline_cloud_exporter_inventory_up",
		"1 when the last inventory listing of the farm succeeded, 0 when it failed or has not finished yet."),
	FAMILY(INV_LAST_SUCCESS, "deadline_cloud_exporter_inventory_last_success_timestamp_seconds",
		"Unix time of the last successful inventory listing of the farm, 0 before the first."),
};
#undef FAMILY

struct metrics_kind inventory_kind = {
	.rank = METRICS_RANK_INVENTORY,
	.families = inventory_families,
	.n_families = INV_FAMILY_COUNT,
};

static int render_farm(struct metrics_section *sec, const struct inventory_farm *farm)
{
	const struct inventory *inv = farm->inv;
	const char *info[] = {"farm_id", farm->farm_id, "farm_name", inv ? inv->farm_name : NULL, "account_id",
		inv && inv->account_id ? inv->account_id : "", "region", inv && inv->region ? inv->region : ""};

	if (inv && inv->farm_name && metrics_section_series(sec, INV_FARM_INFO, info, 4, "1") < 0)
		return -ENOMEM;
	if (inv && inv->has_cost_scale_factor &&
		metrics_section_series_double(sec, INV_FARM_SCALE, info, 1, inv->cost_scale_factor) < 0)
		return -ENOMEM;
	return 0;
}

static int render_queue(struct metrics_section *sec, const char *farm_id, const struct inventory_queue *q)
{
	const char *labels[] = {"farm_id", farm_id, "queue_id", q->id, "queue_name", q->name};

	if (metrics_section_series(sec, INV_QUEUE_INFO, labels, 3, "1") < 0)
		return -ENOMEM;
	labels[4] = "status";
	if (metrics_section_state_set(
		    sec, INV_QUEUE_STATUS, labels, 3, queue_statuses, ARRAY_SIZE(queue_statuses), q->status) < 0)
		return -ENOMEM;
	labels[4] = "reason";
	labels[5] = q->blocked_reason;
	if (q->blocked_reason && metrics_section_series(sec, INV_QUEUE_BLOCKED, labels, 3, "1") < 0)
		return -ENOMEM;
	return 0;
}

static int render_fleet(struct metrics_section *sec, const char *farm_id, const struct inventory_fleet *fl)
{
	const char *labels[] = {"farm_id", farm_id, "fleet_id", fl->id, "fleet_name", fl->name};

	if (metrics_section_series(sec, INV_FLEET_INFO, labels, 3, "1") < 0)
		return -ENOMEM;
	labels[4] = "status";
	if (metrics_section_state_set(
		    sec, INV_FLEET_STATUS, labels, 3, fleet_statuses, ARRAY_SIZE(fleet_statuses), fl->status) < 0)
		return -ENOMEM;
	if (fl->autoscaling_status &&
		metrics_section_state_set(sec, INV_FLEET_AUTOSCALING, labels, 3, autoscaling_statuses,
			ARRAY_SIZE(autoscaling_statuses), fl->autoscaling_status) < 0)
		return -ENOMEM;
	if ((fl->has_workers && metrics_section_series_int(sec, INV_FLEET_WORKERS, labels, 2, fl->workers) < 0) ||
		(fl->has_target &&
			metrics_section_series_int(sec, INV_FLEET_TARGET, labels, 2, fl->target_workers) < 0) ||
		(fl->has_min && metrics_section_series_int(sec, INV_FLEET_MIN, labels, 2, fl->min_workers) < 0) ||
		(fl->has_max && metrics_section_series_int(sec, INV_FLEET_MAX, labels, 2, fl->max_workers) < 0))
		return -ENOMEM;
	return 0;
}

/* The lowest threshold of the budget's actions of type (two actions of one type would be one series). */
static bool action_first_of_type(const struct inventory_budget *bu, size_t k, double *threshold)
{
	*threshold = bu->actions[k].threshold_percentage;
	for (size_t i = 0; i < bu->n_actions; i++) {
		if (strcmp(bu->actions[i].type, bu->actions[k].type) != 0)
			continue;
		if (i < k)
			return false;
		if (bu->actions[i].threshold_percentage < *threshold)
			*threshold = bu->actions[i].threshold_percentage;
	}
	return true;
}

static int render_budget(struct metrics_section *sec, const char *farm_id, const struct inventory_budget *bu)
{
	const char *labels[] = {
		"farm_id", farm_id, "budget_id", bu->id, "budget_name", bu->name, "queue_id", bu->queue_id};
	double threshold;

	if (metrics_section_series(sec, INV_BUDGET_INFO, labels, 4, "1") < 0)
		return -ENOMEM;
	if ((bu->has_limit && metrics_section_series_double(sec, INV_BUDGET_LIMIT, labels, 2, bu->limit_usd) < 0) ||
		(bu->has_usage && metrics_section_series_double(sec, INV_BUDGET_USAGE, labels, 2, bu->usage_usd) < 0))
		return -ENOMEM;
	labels[4] = "status";
	if (metrics_section_state_set(
		    sec, INV_BUDGET_STATUS, labels, 3, budget_statuses, ARRAY_SIZE(budget_statuses), bu->status) < 0)
		return -ENOMEM;
	if (bu->has_schedule && (metrics_section_series_int(sec, INV_BUDGET_START, labels, 2, bu->start_time) < 0 ||
					metrics_section_series_int(sec, INV_BUDGET_END, labels, 2, bu->end_time) < 0))
		return -ENOMEM;
	labels[4] = "type";
	for (size_t k = 0; k < bu->n_actions; k++) {
		if (!action_first_of_type(bu, k, &threshold))
			continue;
		labels[5] = bu->actions[k].type;
		if (metrics_section_series_double(sec, INV_BUDGET_ACTION, labels, 3, threshold / 100.0) < 0)
			return -ENOMEM;
	}
	if (bu->has_queue_stopped &&
		metrics_section_series_int(sec, INV_BUDGET_STOPPED, labels, 2, bu->queue_stopped_at) < 0)
		return -ENOMEM;
	return 0;
}

int inventory_render(struct metrics_section *sec, const struct inventory_farm *farm)
{
	const struct inventory *inv = farm->inv;
	const char *labels[] = {"farm_id", farm->farm_id};

	if (render_farm(sec, farm) < 0)
		return -ENOMEM;
	for (size_t j = 0; inv && j < inv->n_queues; j++)
		if (render_queue(sec, farm->farm_id, &inv->queues[j]) < 0)
			return -ENOMEM;
	for (size_t j = 0; inv && j < inv->n_fleets; j++)
		if (render_fleet(sec, farm->farm_id, &inv->fleets[j]) < 0)
			return -ENOMEM;
	for (size_t j = 0; inv && j < inv->n_budgets; j++)
		if (render_budget(sec, farm->farm_id, &inv->budgets[j]) < 0)
			return -ENOMEM;
	if (metrics_section_series(sec, INV_UP, labels, 1, farm->up ? "1" : "0") < 0 ||
		metrics_section_series_int(sec, INV_LAST_SUCCESS, labels, 1, farm->last_success) < 0)
		return -ENOMEM;
	return 0;
}

int inventory_section_new(struct metrics_section **out, const struct inventory_farm *farm)
{
	struct metrics_section *sec = NULL;
	int r = metrics_section_new(&sec, &inventory_kind);

	if (r == 0)
		r = inventory_render(sec, farm);
	return metrics_section_finish(sec, r, out);
}
