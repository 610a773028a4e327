/* inventory_render: farms' inventories as exposition text: _info, state sets, workers, budgets, listing health */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "metrics/inventory.h"
#include "util/array.h"
#include "util/numfmt.h"

/* The enums' values known to this version; another value appears as its own series at 1. */
static const char *const queue_statuses[] = {"IDLE", "SCHEDULING", "SCHEDULING_BLOCKED"};
static const char *const fleet_statuses[] = {
	"ACTIVE", "CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "CREATE_FAILED", "UPDATE_FAILED", "SUSPENDED"};
static const char *const autoscaling_statuses[] = {"GROWING", "STEADY", "SHRINKING"};
static const char *const budget_statuses[] = {"ACTIVE", "INACTIVE"};

/* One family being written: its HELP and TYPE go out before its first series, never for none. */
struct family {
	const char *name;
	const char *help;
	bool started;
};

static int put(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* name{k1="v1",…} value\n, each label value escaped. */
static int series(struct buf *b, struct family *f, const char *const *labels, size_t n_labels, const char *value)
{
	if (!f->started) {
		if (put(b, "# HELP ") < 0 || put(b, f->name) < 0 || put(b, " ") < 0 || put(b, f->help) < 0 ||
			put(b, "\n# TYPE ") < 0 || put(b, f->name) < 0 || put(b, " gauge\n") < 0)
			return -ENOMEM;
		f->started = true;
	}
	if (put(b, f->name) < 0 || put(b, "{") < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n_labels; i++) {
		if ((i && put(b, ",") < 0) || put(b, labels[2 * i]) < 0 || put(b, "=\"") < 0 ||
			metrics_buf_escape_label(b, labels[2 * i + 1] ? labels[2 * i + 1] : "") < 0 || put(b, "\"") < 0)
			return -ENOMEM;
	}
	if (put(b, "} ") < 0 || put(b, value) < 0 || put(b, "\n") < 0)
		return -ENOMEM;
	return 0;
}

static int series_double(struct buf *b, struct family *f, const char *const *labels, size_t n_labels, double v)
{
	char text[NUMFMT_DOUBLE_SIZE];

	numfmt_double(text, sizeof(text), v);
	return series(b, f, labels, n_labels, text);
}

static int series_int(struct buf *b, struct family *f, const char *const *labels, size_t n_labels, int64_t v)
{
	char text[24];

	snprintf(text, sizeof(text), "%lld", (long long)v);
	return series(b, f, labels, n_labels, text);
}

/*
 * A state set: one series per known value (1 for current, 0 for the others), and current as its own series at
 * 1 when it is not among them. labels ends with the pair ("status", NULL) that this fills in.
 */
static int state_set(struct buf *b, struct family *f, const char **labels, size_t n_labels, const char *const *known,
	size_t n_known, const char *current)
{
	bool found = false;

	for (size_t k = 0; k < n_known; k++) {
		bool on = current && strcmp(current, known[k]) == 0;

		found |= on;
		labels[2 * n_labels - 1] = known[k];
		if (series(b, f, labels, n_labels, on ? "1" : "0") < 0)
			return -ENOMEM;
	}
	if (current && !found) {
		labels[2 * n_labels - 1] = current;
		if (series(b, f, labels, n_labels, "1") < 0)
			return -ENOMEM;
	}
	return 0;
}

static int render_farms(struct buf *b, const struct inventory_farm *farms, size_t n)
{
	struct family info = {
		.name = "deadline_cloud_farm_info", .help = "The farm's display name (GetFarm); always 1."};
	struct family scale = {.name = "deadline_cloud_farm_cost_scale_factor",
		.help = "The multiplier Deadline Cloud applies to the farm's costs (GetFarm costScaleFactor)."};

	for (size_t i = 0; i < n; i++) {
		const struct inventory *inv = farms[i].inv;
		const char *labels[] = {"farm_id", farms[i].farm_id, "farm_name", inv ? inv->farm_name : NULL};

		if (inv && inv->farm_name && series(b, &info, labels, 2, "1") < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct inventory *inv = farms[i].inv;
		const char *labels[] = {"farm_id", farms[i].farm_id};

		if (inv && inv->has_cost_scale_factor &&
			series_double(b, &scale, labels, 1, inv->cost_scale_factor) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int render_queues(struct buf *b, const struct inventory_farm *farms, size_t n)
{
	struct family info = {
		.name = "deadline_cloud_queue_info", .help = "The queue's display name (ListQueues); always 1."};
	struct family status = {.name = "deadline_cloud_queue_status",
		.help = "The queue's status: 1 for the current one, 0 for the others."};
	struct family blocked = {.name = "deadline_cloud_queue_blocked_reason",
		.help = "Why the queue's scheduling is blocked, while it is; always 1."};

	for (size_t pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < n; i++) {
			const struct inventory *inv = farms[i].inv;

			for (size_t j = 0; inv && j < inv->n_queues; j++) {
				const struct inventory_queue *q = &inv->queues[j];
				const char *labels[] = {"farm_id", farms[i].farm_id, "queue_id", q->id, "", NULL};
				int r = 0;

				if (pass == 0) {
					labels[4] = "queue_name";
					labels[5] = q->name;
					r = series(b, &info, labels, 3, "1");
				} else if (pass == 1) {
					labels[4] = "status";
					r = state_set(b, &status, labels, 3, queue_statuses, ARRAY_SIZE(queue_statuses),
						q->status);
				} else if (q->blocked_reason) {
					labels[4] = "reason";
					labels[5] = q->blocked_reason;
					r = series(b, &blocked, labels, 3, "1");
				}
				if (r < 0)
					return r;
			}
		}
	}
	return 0;
}

enum fleet_pass { FLEET_INFO, FLEET_STATUS, FLEET_AUTOSCALING, FLEET_WORKERS, FLEET_TARGET, FLEET_MIN, FLEET_MAX };

static int render_fleets(struct buf *b, const struct inventory_farm *farms, size_t n)
{
	struct family fams[] = {
		[FLEET_INFO] = {.name = "deadline_cloud_fleet_info",
			.help = "The fleet's display name (ListFleets); always 1."},
		[FLEET_STATUS] = {.name = "deadline_cloud_fleet_status",
			.help = "The fleet's status: 1 for the current one, 0 for the others."},
		[FLEET_AUTOSCALING] = {.name = "deadline_cloud_fleet_autoscaling_status",
			.help = "The fleet's auto scaling status: 1 for the current one, 0 for the others."},
		[FLEET_WORKERS] = {.name = "deadline_cloud_fleet_workers",
			.help = "Workers in the fleet (workerCount)."},
		[FLEET_TARGET] = {.name = "deadline_cloud_fleet_workers_target",
			.help = "Workers the fleet is scaling to (targetWorkerCount)."},
		[FLEET_MIN] = {.name = "deadline_cloud_fleet_workers_min",
			.help = "The fleet's minimum number of workers."},
		[FLEET_MAX] = {.name = "deadline_cloud_fleet_workers_max",
			.help = "The fleet's maximum number of workers."},
	};

	for (size_t pass = 0; pass < ARRAY_SIZE(fams); pass++) {
		for (size_t i = 0; i < n; i++) {
			const struct inventory *inv = farms[i].inv;

			for (size_t j = 0; inv && j < inv->n_fleets; j++) {
				const struct inventory_fleet *fl = &inv->fleets[j];
				const char *labels[] = {
					"farm_id", farms[i].farm_id, "fleet_id", fl->id, "status", NULL};
				struct family *f = &fams[pass];
				int r = 0;

				switch ((enum fleet_pass)pass) {
				case FLEET_INFO:
					labels[4] = "fleet_name";
					labels[5] = fl->name;
					r = series(b, f, labels, 3, "1");
					break;
				case FLEET_STATUS:
					r = state_set(b, f, labels, 3, fleet_statuses, ARRAY_SIZE(fleet_statuses),
						fl->status);
					break;
				case FLEET_AUTOSCALING:
					if (fl->autoscaling_status)
						r = state_set(b, f, labels, 3, autoscaling_statuses,
							ARRAY_SIZE(autoscaling_statuses), fl->autoscaling_status);
					break;
				case FLEET_WORKERS:
					if (fl->has_workers)
						r = series_int(b, f, labels, 2, fl->workers);
					break;
				case FLEET_TARGET:
					if (fl->has_target)
						r = series_int(b, f, labels, 2, fl->target_workers);
					break;
				case FLEET_MIN:
					if (fl->has_min)
						r = series_int(b, f, labels, 2, fl->min_workers);
					break;
				case FLEET_MAX:
					if (fl->has_max)
						r = series_int(b, f, labels, 2, fl->max_workers);
					break;
				}
				if (r < 0)
					return r;
			}
		}
	}
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

enum budget_pass {
	BUDGET_INFO,
	BUDGET_LIMIT,
	BUDGET_USAGE,
	BUDGET_STATUS,
	BUDGET_START,
	BUDGET_END,
	BUDGET_ACTION,
	BUDGET_STOPPED
};

static int render_budget(
	struct buf *b, struct family *f, enum budget_pass pass, const char *farm_id, const struct inventory_budget *bu)
{
	const char *labels[] = {"farm_id", farm_id, "budget_id", bu->id, "status", NULL, "queue_id", bu->queue_id};
	double threshold;

	switch (pass) {
	case BUDGET_INFO:
		labels[4] = "budget_name";
		labels[5] = bu->name;
		return series(b, f, labels, 4, "1");
	case BUDGET_LIMIT:
		return bu->has_limit ? series_double(b, f, labels, 2, bu->limit_usd) : 0;
	case BUDGET_USAGE:
		return bu->has_usage ? series_double(b, f, labels, 2, bu->usage_usd) : 0;
	case BUDGET_STATUS:
		return state_set(b, f, labels, 3, budget_statuses, ARRAY_SIZE(budget_statuses), bu->status);
	case BUDGET_START:
		return bu->has_schedule ? series_int(b, f, labels, 2, bu->start_time) : 0;
	case BUDGET_END:
		return bu->has_schedule ? series_int(b, f, labels, 2, bu->end_time) : 0;
	case BUDGET_ACTION:
		labels[4] = "type";
		for (size_t k = 0; k < bu->n_actions; k++) {
			if (!action_first_of_type(bu, k, &threshold))
				continue;
			labels[5] = bu->actions[k].type;
			if (series_double(b, f, labels, 3, threshold / 100.0) < 0)
				return -ENOMEM;
		}
		return 0;
	case BUDGET_STOPPED:
		return bu->has_queue_stopped ? series_int(b, f, labels, 2, bu->queue_stopped_at) : 0;
	}
	return 0;
}

static int render_budgets(struct buf *b, const struct inventory_farm *farms, size_t n)
{
	struct family fams[] = {
		[BUDGET_INFO] = {.name = "deadline_cloud_budget_info",
			.help = "The budget's display name and the queue it tracks (ListBudgets); always 1."},
		[BUDGET_LIMIT] = {.name = "deadline_cloud_budget_limit_usd",
			.help = "The budget's limit (approximateDollarLimit)."},
		[BUDGET_USAGE] = {.name = "deadline_cloud_budget_usage_usd",
			.help = "What the budget has used (usages.approximateDollarUsage)."},
		[BUDGET_STATUS] = {.name = "deadline_cloud_budget_status",
			.help = "The budget's status: 1 for the current one, 0 for the others."},
		[BUDGET_START] = {.name = "deadline_cloud_budget_start_timestamp_seconds",
			.help = "Unix time the budget's fixed schedule starts."},
		[BUDGET_END] = {.name = "deadline_cloud_budget_end_timestamp_seconds",
			.help = "Unix time the budget's fixed schedule ends."},
		[BUDGET_ACTION] = {.name = "deadline_cloud_budget_action_threshold_ratio",
			.help = "The share of the budget's limit at which the action of this type is taken."},
		[BUDGET_STOPPED] = {.name = "deadline_cloud_budget_queue_stopped_timestamp_seconds",
			.help = "Unix time the budget stopped its queue."},
	};

	for (size_t pass = 0; pass < ARRAY_SIZE(fams); pass++)
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; farms[i].inv && j < farms[i].inv->n_budgets; j++)
				if (render_budget(b, &fams[pass], (enum budget_pass)pass, farms[i].farm_id,
					    &farms[i].inv->budgets[j]) < 0)
					return -ENOMEM;
	return 0;
}

static int render_health(struct buf *b, const struct inventory_farm *farms, size_t n)
{
	struct family up = {.name = "deadline_cloud_exporter_inventory_up",
		.help = "1 when the last inventory listing of the farm succeeded, 0 when it failed or has not finished "
			"yet."};
	struct family last = {.name = "deadline_cloud_exporter_inventory_last_success_timestamp_seconds",
		.help = "Unix time of the last successful inventory listing of the farm, 0 before the first."};

	for (size_t i = 0; i < n; i++) {
		const char *labels[] = {"farm_id", farms[i].farm_id};

		if (series(b, &up, labels, 1, farms[i].up ? "1" : "0") < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const char *labels[] = {"farm_id", farms[i].farm_id};

		if (series_int(b, &last, labels, 1, farms[i].last_success) < 0)
			return -ENOMEM;
	}
	return 0;
}

int inventory_render(struct buf *b, const struct inventory_farm *farms, size_t n)
{
	if (render_farms(b, farms, n) < 0 || render_queues(b, farms, n) < 0 || render_fleets(b, farms, n) < 0 ||
		render_budgets(b, farms, n) < 0 || render_health(b, farms, n) < 0)
		return -ENOMEM;
	return 0;
}
