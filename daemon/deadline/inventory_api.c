/* inventory_api: GetFarm, ListQueues, ListFleets, ListBudgets, GetBudget: paths and parsing into struct inventory */
#include "deadline/inventory_api.h"
#include "util/rfc3339.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/model.h"
#include "config/window.h"

char *deadline_budget_path(const char *farm_id, const char *budget_id)
{
	return deadline_farm_item_path(farm_id, "budgets", budget_id, "");
}

/* ---- schema ---- */

enum slot {
	SLOT_NONE, /* 0: no sink call */
	SLOT_NEXT_TOKEN,
	SLOT_FARM_NAME,
	SLOT_COST_SCALE,
	SLOT_QUEUE, /* object */
	SLOT_QUEUE_ID,
	SLOT_QUEUE_NAME,
	SLOT_QUEUE_STATUS,
	SLOT_QUEUE_BLOCKED,
	SLOT_FLEET, /* object */
	SLOT_FLEET_ID,
	SLOT_FLEET_NAME,
	SLOT_FLEET_STATUS,
	SLOT_FLEET_AUTOSCALING,
	SLOT_FLEET_WORKERS,
	SLOT_FLEET_TARGET,
	SLOT_FLEET_MIN,
	SLOT_FLEET_MAX,
	SLOT_BUDGET, /* object */
	SLOT_BUDGET_ID,
	SLOT_BUDGET_NAME,
	SLOT_BUDGET_STATUS,
	SLOT_BUDGET_QUEUE_ID,
	SLOT_BUDGET_LIMIT,
	SLOT_BUDGET_USAGE,
	SLOT_ACTION, /* object */
	SLOT_ACTION_TYPE,
	SLOT_ACTION_THRESHOLD,
	SLOT_SCHEDULE_START,
	SLOT_SCHEDULE_END,
	SLOT_QUEUE_STOPPED,
};

static const struct json_member farm_members[] = {
	{"displayName", SLOT_FARM_NAME, 0, true, &json_schema_string},
	{"costScaleFactor", SLOT_COST_SCALE, 1, false, &json_schema_double},
};
JSON_SCHEMA_OBJECT(farm_node, SLOT_NONE, farm_members);

static const struct json_member queue_members[] = {
	{"queueId", SLOT_QUEUE_ID, 0, true, &json_schema_string},
	{"displayName", SLOT_QUEUE_NAME, 1, true, &json_schema_string},
	{"status", SLOT_QUEUE_STATUS, 2, true, &json_schema_string},
	{"blockedReason", SLOT_QUEUE_BLOCKED, 3, false, &json_schema_string},
};
JSON_SCHEMA_OBJECT(queue_node, SLOT_QUEUE, queue_members);
DEADLINE_LIST_NODE(queues_node, "queues", queue_node, SLOT_NEXT_TOKEN);

static const struct json_member fleet_members[] = {
	{"fleetId", SLOT_FLEET_ID, 0, true, &json_schema_string},
	{"displayName", SLOT_FLEET_NAME, 1, true, &json_schema_string},
	{"status", SLOT_FLEET_STATUS, 2, true, &json_schema_string},
	{"autoScalingStatus", SLOT_FLEET_AUTOSCALING, 3, false, &json_schema_string},
	{"workerCount", SLOT_FLEET_WORKERS, 4, false, &json_schema_integer},
	{"targetWorkerCount", SLOT_FLEET_TARGET, 5, false, &json_schema_integer},
	{"minWorkerCount", SLOT_FLEET_MIN, 6, false, &json_schema_integer},
	{"maxWorkerCount", SLOT_FLEET_MAX, 7, false, &json_schema_integer},
};
JSON_SCHEMA_OBJECT(fleet_node, SLOT_FLEET, fleet_members);
DEADLINE_LIST_NODE(fleets_node, "fleets", fleet_node, SLOT_NEXT_TOKEN);

static const struct json_member tracking_members[] = {{"queueId", SLOT_BUDGET_QUEUE_ID, 0, false, &json_schema_string}};
JSON_SCHEMA_OBJECT(tracking_node, SLOT_NONE, tracking_members);
static const struct json_member usages_members[] = {
	{"approximateDollarUsage", SLOT_BUDGET_USAGE, 0, false, &json_schema_double}};
JSON_SCHEMA_OBJECT(usages_node, SLOT_NONE, usages_members);
static const struct json_member action_members[] = {
	{"type", SLOT_ACTION_TYPE, 0, true, &json_schema_string},
	{"thresholdPercentage", SLOT_ACTION_THRESHOLD, 1, true, &json_schema_double},
};
JSON_SCHEMA_OBJECT(action_node, SLOT_ACTION, action_members);
static const struct json_node actions_node = {.kind = JSON_ARRAY, .element = &action_node};
static const struct json_member fixed_members[] = {
	{"startTime", SLOT_SCHEDULE_START, 0, true, &json_schema_string},
	{"endTime", SLOT_SCHEDULE_END, 1, true, &json_schema_string},
};
JSON_SCHEMA_OBJECT(fixed_node, SLOT_NONE, fixed_members);
static const struct json_member schedule_members[] = {{"fixed", SLOT_NONE, 0, false, &fixed_node}};
JSON_SCHEMA_OBJECT(schedule_node, SLOT_NONE, schedule_members);

/* The summary's members (ListBudgets), then GetBudget's own. */
#define BUDGET_SUMMARY_MEMBERS \
	{"budgetId", SLOT_BUDGET_ID, 0, true, &json_schema_string}, \
		{"displayName", SLOT_BUDGET_NAME, 1, true, &json_schema_string}, \
		{"status", SLOT_BUDGET_STATUS, 2, true, &json_schema_string}, \
		{"usageTrackingResource", SLOT_NONE, 3, false, &tracking_node}, \
		{"approximateDollarLimit", SLOT_BUDGET_LIMIT, 4, false, &json_schema_double}, \
	{ \
		"usages", SLOT_NONE, 5, false, &usages_node \
	}
static const struct json_member budget_summary_members[] = {BUDGET_SUMMARY_MEMBERS};
JSON_SCHEMA_OBJECT(budget_summary_node, SLOT_BUDGET, budget_summary_members);
DEADLINE_LIST_NODE(budgets_node, "budgets", budget_summary_node, SLOT_NEXT_TOKEN);
static const struct json_member budget_members[] = {
	BUDGET_SUMMARY_MEMBERS,
	{"actions", SLOT_NONE, 6, false, &actions_node},
	{"schedule", SLOT_NONE, 7, false, &schedule_node},
	{"queueStoppedAt", SLOT_QUEUE_STOPPED, 8, false, &json_schema_string},
};
JSON_SCHEMA_OBJECT(budget_node, SLOT_NONE, budget_members);

/* ---- the sink ---- */

struct inv_ctx {
	struct inventory *inv;
	struct inventory_budget *budget; /* the one being read */
	char *next_token;
};

/* Names and enum values are cut at INVENTORY_TEXT_MAX bytes. */
static int set_text(char **dst, const struct json_value *v)
{
	return deadline_value_text(dst, v, INVENTORY_TEXT_MAX);
}

static int set_time(int64_t *dst, bool *has, const struct json_value *v, const char **why)
{
	int64_t ms;
	int r = deadline_value_time_ms(v, &ms, why);

	if (r != 0)
		return r;
	*dst = rfc3339_floor_div(ms, 1000);
	if (has)
		*has = true;
	return 0;
}

static int inv_begin(void *c, int slot, const char **why)
{
	struct inv_ctx *ctx = c;
	struct inventory *inv = ctx->inv;
	void *item = NULL;
	size_t n = 0;

	switch (slot) {
	case SLOT_QUEUE:
		n = inv->n_queues;
		item = inventory_add_queue(inv);
		break;
	case SLOT_FLEET:
		n = inv->n_fleets;
		item = inventory_add_fleet(inv);
		break;
	case SLOT_BUDGET:
		if (!inv)
			return 0; /* GetBudget: ctx->budget is set */
		n = inv->n_budgets;
		ctx->budget = item = inventory_add_budget(inv);
		break;
	case SLOT_ACTION: {
		struct inventory_budget *b = ctx->budget;
		struct inventory_budget_action *grown;

		n = b->n_actions;
		if (n >= INVENTORY_ACTIONS_MAX)
			break;
		grown = realloc(b->actions, (n + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		b->actions = grown;
		memset(&grown[n], 0, sizeof(*grown));
		b->n_actions++;
		item = grown;
		break;
	}
	default:
		return 0;
	}
	if (item)
		return 0;
	if (n >= (slot == SLOT_ACTION ? INVENTORY_ACTIONS_MAX : INVENTORY_ITEMS_MAX)) {
		*why = "too many items";
		return DEADLINE_BAD_JSON;
	}
	return -ENOMEM;
}

static int inv_value(void *c, int slot, const struct json_value *v, const char **why)
{
	struct inv_ctx *ctx = c;
	struct inventory *inv = ctx->inv;
	struct inventory_queue *q = inv && inv->n_queues ? &inv->queues[inv->n_queues - 1] : NULL;
	struct inventory_fleet *f = inv && inv->n_fleets ? &inv->fleets[inv->n_fleets - 1] : NULL;
	struct inventory_budget *b = ctx->budget;
	struct inventory_budget_action *a = b && b->n_actions ? &b->actions[b->n_actions - 1] : NULL;

	switch (slot) {
	case SLOT_NEXT_TOKEN:
		return v->len ? json_schema_set_string(&ctx->next_token, v) : 0;
	case SLOT_FARM_NAME:
		return set_text(&inv->farm_name, v);
	case SLOT_COST_SCALE:
		inv->has_cost_scale_factor = true;
		inv->cost_scale_factor = v->d;
		return 0;
	case SLOT_QUEUE_ID:
		return deadline_value_id(&q->id, v, "queue-", why);
	case SLOT_QUEUE_NAME:
		return set_text(&q->name, v);
	case SLOT_QUEUE_STATUS:
		return set_text(&q->status, v);
	case SLOT_QUEUE_BLOCKED:
		return set_text(&q->blocked_reason, v);
	case SLOT_FLEET_ID:
		return deadline_value_id(&f->id, v, "fleet-", why);
	case SLOT_FLEET_NAME:
		return set_text(&f->name, v);
	case SLOT_FLEET_STATUS:
		return set_text(&f->status, v);
	case SLOT_FLEET_AUTOSCALING:
		return set_text(&f->autoscaling_status, v);
	case SLOT_FLEET_WORKERS:
		f->has_workers = true;
		f->workers = v->i;
		return 0;
	case SLOT_FLEET_TARGET:
		f->has_target = true;
		f->target_workers = v->i;
		return 0;
	case SLOT_FLEET_MIN:
		f->has_min = true;
		f->min_workers = v->i;
		return 0;
	case SLOT_FLEET_MAX:
		f->has_max = true;
		f->max_workers = v->i;
		return 0;
	case SLOT_BUDGET_ID:
		return deadline_value_id(&b->id, v, "budget-", why);
	case SLOT_BUDGET_NAME:
		return set_text(&b->name, v);
	case SLOT_BUDGET_STATUS:
		return set_text(&b->status, v);
	case SLOT_BUDGET_QUEUE_ID:
		return deadline_value_id(&b->queue_id, v, "queue-", why);
	case SLOT_BUDGET_LIMIT:
		b->has_limit = true;
		b->limit_usd = v->d;
		return 0;
	case SLOT_BUDGET_USAGE:
		b->has_usage = true;
		b->usage_usd = v->d;
		return 0;
	case SLOT_ACTION_TYPE:
		return set_text(&a->type, v);
	case SLOT_ACTION_THRESHOLD:
		a->threshold_percentage = v->d;
		return 0;
	case SLOT_SCHEDULE_START:
		return set_time(&b->start_time, NULL, v, why);
	case SLOT_SCHEDULE_END:
		return set_time(&b->end_time, &b->has_schedule, v, why);
	case SLOT_QUEUE_STOPPED:
		return set_time(&b->queue_stopped_at, &b->has_queue_stopped, v, why);
	}
	return 0;
}

static const struct json_sink inv_sink = {.value = inv_value, .begin = inv_begin};

/* ---- the parsers ---- */

/* Frees what a failed page appended beyond the counts it started with. */
static void inv_truncate(struct inventory *inv, size_t n_queues, size_t n_fleets, size_t n_budgets)
{
	for (size_t i = n_queues; i < inv->n_queues; i++)
		inventory_queue_deinit(&inv->queues[i]);
	for (size_t i = n_fleets; i < inv->n_fleets; i++)
		inventory_fleet_deinit(&inv->fleets[i]);
	for (size_t i = n_budgets; i < inv->n_budgets; i++)
		inventory_budget_deinit(&inv->budgets[i]);
	inv->n_queues = n_queues;
	inv->n_fleets = n_fleets;
	inv->n_budgets = n_budgets;
}

/* One page of a listing into inv; on failure inv is as before. */
static int parse_page(const struct json_node *root, const char *body, size_t len, struct inventory *inv,
	char **next_token, char *err, size_t errlen)
{
	struct inv_ctx ctx = {.inv = inv};
	size_t nq, nf, nb;
	int rc;

	if (!inv || !next_token)
		return -EINVAL;
	nq = inv->n_queues;
	nf = inv->n_fleets;
	nb = inv->n_budgets;
	*next_token = NULL;
	rc = json_schema_parse(root, &inv_sink, &ctx, body, len, err, errlen);
	if (rc != 0) {
		inv_truncate(inv, nq, nf, nb);
		free(ctx.next_token);
		return rc;
	}
	*next_token = ctx.next_token;
	return 0;
}

int deadline_parse_farm(const char *body, size_t len, struct inventory *inv, char *err, size_t errlen)
{
	struct inventory got = {0};
	struct inv_ctx ctx = {.inv = &got};
	int rc;

	if (!inv)
		return -EINVAL;
	rc = json_schema_parse(&farm_node, &inv_sink, &ctx, body, len, err, errlen);
	free(ctx.next_token);
	if (rc != 0) {
		free(got.farm_name);
		return rc;
	}
	free(inv->farm_name);
	inv->farm_name = got.farm_name;
	inv->has_cost_scale_factor = got.has_cost_scale_factor;
	inv->cost_scale_factor = got.cost_scale_factor;
	return 0;
}

int deadline_parse_queues(
	const char *body, size_t len, struct inventory *inv, char **next_token, char *err, size_t errlen)
{
	return parse_page(&queues_node, body, len, inv, next_token, err, errlen);
}

int deadline_parse_fleets(
	const char *body, size_t len, struct inventory *inv, char **next_token, char *err, size_t errlen)
{
	return parse_page(&fleets_node, body, len, inv, next_token, err, errlen);
}

int deadline_parse_budgets(
	const char *body, size_t len, struct inventory *inv, char **next_token, char *err, size_t errlen)
{
	return parse_page(&budgets_node, body, len, inv, next_token, err, errlen);
}

int deadline_parse_budget(const char *body, size_t len, struct inventory_budget *b, char *err, size_t errlen)
{
	struct inventory_budget got = {0};
	struct inv_ctx ctx = {.budget = &got};
	int rc;

	if (!b)
		return -EINVAL;
	rc = json_schema_parse(&budget_node, &inv_sink, &ctx, body, len, err, errlen);
	free(ctx.next_token);
	if (rc == 0 && b->id && strcmp(got.id, b->id) != 0) {
		if (err && errlen)
			snprintf(err, errlen, "budgetId: another budget than the one asked for");
		rc = DEADLINE_BAD_SHAPE;
	}
	if (rc != 0) {
		inventory_budget_deinit(&got);
		return rc;
	}
	/* what GetBudget leaves out, the summary told */
	if (!got.queue_id) {
		got.queue_id = b->queue_id;
		b->queue_id = NULL;
	}
	inventory_budget_deinit(b);
	*b = got;
	return 0;
}
