/* sim_inventory: GetFarm, ListQueues, ListFleets, ListBudgets, GetBudget and the /__sim/inventory source of truth */
#include "sim_api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_time.h"

#define MAX_CONTROL_DEPTH 4

static const char *const queue_statuses[] = {"IDLE", "SCHEDULING", "SCHEDULING_BLOCKED", NULL};
static const char *const fleet_statuses[] = {
	"ACTIVE", "CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "CREATE_FAILED", "UPDATE_FAILED", "SUSPENDED", NULL};
static const char *const budget_statuses[] = {"ACTIVE", "INACTIVE", NULL};

static void timestamp_json(struct sim_json *j, const char *key, int64_t seconds)
{
	char text[SIM_RFC3339_SIZE];

	sim_rfc3339_format(seconds * SIM_MS_PER_SECOND, text);
	sim_json_kv_string(j, key, text);
}

static void queue_json(
	struct sim_json *j, const struct sim_world *w, const struct sim_farm *farm, const struct sim_queue *qu)
{
	sim_json_map_open(j);
	sim_json_kv_string(j, "farmId", farm->id);
	sim_json_kv_string(j, "queueId", qu->id);
	sim_json_kv_string(j, "displayName", qu->display_name);
	sim_json_kv_string(j, "status", qu->status);
	sim_json_kv_string(j, "defaultBudgetAction", qu->default_budget_action);
	if (qu->blocked_reason)
		sim_json_kv_string(j, "blockedReason", qu->blocked_reason);
	timestamp_json(j, "createdAt", qu->created_at);
	sim_json_kv_string(j, "createdBy", w->users[0].id);
	sim_json_map_close(j);
}

static void range_json(struct sim_json *j, const char *key, long long min, long long max)
{
	sim_json_string(j, key);
	sim_json_map_open(j);
	sim_json_kv_int(j, "min", min);
	sim_json_kv_int(j, "max", max);
	sim_json_map_close(j);
}

static void fleet_configuration_json(struct sim_json *j, const struct sim_fleet *fl)
{
	sim_json_string(j, "configuration");
	sim_json_map_open(j);
	if (fl->customer_managed) {
		sim_json_string(j, "customerManaged");
		sim_json_map_open(j);
		sim_json_kv_string(j, "mode", "NO_SCALING");
		sim_json_string(j, "workerCapabilities");
		sim_json_map_open(j);
		range_json(j, "vCpuCount", 4, 64);
		range_json(j, "memoryMiB", 8192, 262144);
		sim_json_kv_string(j, "osFamily", "LINUX");
		sim_json_kv_string(j, "cpuArchitectureType", "x86_64");
		sim_json_map_close(j);
		sim_json_map_close(j);
	} else {
		sim_json_string(j, "serviceManagedEc2");
		sim_json_map_open(j);
		sim_json_string(j, "instanceCapabilities");
		sim_json_map_open(j);
		range_json(j, "vCpuCount", 8, 32);
		range_json(j, "memoryMiB", 16384, 131072);
		sim_json_kv_string(j, "osFamily", "LINUX");
		sim_json_kv_string(j, "cpuArchitectureType", "x86_64");
		sim_json_map_close(j);
		sim_json_string(j, "instanceMarketOptions");
		sim_json_map_open(j);
		sim_json_kv_string(j, "type", "spot");
		sim_json_map_close(j);
		sim_json_map_close(j);
	}
	sim_json_map_close(j);
}

static void fleet_json(struct sim_json *j, const struct sim_world *w, const struct sim_farm *farm,
	const struct sim_fleet *fl, uint64_t step)
{
	struct sim_fleet_now now;

	sim_fleet_at(fl, step, &now);
	sim_json_map_open(j);
	sim_json_kv_string(j, "fleetId", fl->id);
	sim_json_kv_string(j, "farmId", farm->id);
	sim_json_kv_string(j, "displayName", fl->display_name);
	sim_json_kv_string(j, "status", fl->status);
	if (fl->status_message)
		sim_json_kv_string(j, "statusMessage", fl->status_message);
	if (now.autoscaling)
		sim_json_kv_string(j, "autoScalingStatus", now.autoscaling);
	if (now.target >= 0)
		sim_json_kv_int(j, "targetWorkerCount", now.target);
	sim_json_kv_int(j, "workerCount", now.workers);
	sim_json_kv_int(j, "minWorkerCount", fl->min_workers);
	sim_json_kv_int(j, "maxWorkerCount", fl->max_workers);
	fleet_configuration_json(j, fl);
	timestamp_json(j, "createdAt", fl->created_at);
	sim_json_kv_string(j, "createdBy", w->users[0].id);
	sim_json_map_close(j);
}

/* The members BudgetSummary and GetBudgetResponse share. */
static void budget_common_json(
	struct sim_json *j, const struct sim_world *w, const struct sim_farm *farm, const struct sim_budget *b)
{
	sim_json_kv_string(j, "budgetId", b->id);
	sim_json_string(j, "usageTrackingResource");
	sim_json_map_open(j);
	sim_json_kv_string(j, "queueId", farm->queues[b->queue].id);
	sim_json_map_close(j);
	sim_json_kv_string(j, "status", b->active ? "ACTIVE" : "INACTIVE");
	sim_json_kv_string(j, "displayName", b->display_name);
	if (b->description)
		sim_json_kv_string(j, "description", b->description);
	sim_json_kv_double(j, "approximateDollarLimit", b->limit);
	sim_json_string(j, "usages");
	sim_json_map_open(j);
	sim_json_kv_double(j, "approximateDollarUsage", b->usage);
	sim_json_map_close(j);
	sim_json_kv_string(j, "createdBy", w->users[0].id);
	timestamp_json(j, "createdAt", b->created_at);
	if (b->updated_at) {
		sim_json_kv_string(j, "updatedBy", w->users[1 % w->n_users].id);
		timestamp_json(j, "updatedAt", b->updated_at);
	}
}

static void budget_actions_json(struct sim_json *j, const struct sim_budget *b)
{
	sim_json_string(j, "actions");
	sim_json_array_open(j);
	for (size_t i = 0; i < b->n_actions; i++) {
		sim_json_map_open(j);
		sim_json_kv_string(j, "type", b->actions[i].type);
		sim_json_kv_double(j, "thresholdPercentage", b->actions[i].threshold);
		sim_json_map_close(j);
	}
	sim_json_array_close(j);
}

static void budget_schedule_json(struct sim_json *j, const struct sim_budget *b)
{
	sim_json_string(j, "schedule");
	sim_json_map_open(j);
	sim_json_string(j, "fixed");
	sim_json_map_open(j);
	timestamp_json(j, "startTime", b->start);
	timestamp_json(j, "endTime", b->end);
	sim_json_map_close(j);
	sim_json_map_close(j);
}

static bool in_enum(const char *const *values, const char *s)
{
	for (; *values; values++) {
		if (strcmp(*values, s) == 0)
			return true;
	}
	return false;
}

/* The list's filters (the model's query members). Returns false (r answered) when one is invalid. */
struct list_filter {
	const char *status, *display_name;
};

static bool read_filter(struct sim_state *st, enum sim_op op, const struct sim_query *q, struct sim_response *r,
	struct list_filter *out)
{
	const char *const *statuses = op == SIM_OP_LIST_QUEUES   ? queue_statuses
				      : op == SIM_OP_LIST_FLEETS ? fleet_statuses
								 : budget_statuses;
	const char *principal = sim_query_get(q, "principalId");

	out->status = sim_query_get(q, "status");
	out->display_name = op == SIM_OP_LIST_FLEETS ? sim_query_get(q, "displayName") : NULL;
	if (out->status && !in_enum(statuses, out->status)) {
		sim_api_validation_error(st, r, "FIELD_VALIDATION_FAILED", "status", "status is not a valid value");
		return false;
	}
	if (out->display_name && (!out->display_name[0] || strlen(out->display_name) > 400)) {
		sim_api_validation_error(
			st, r, "FIELD_VALIDATION_FAILED", "displayName", "displayName must be 1 to 100 characters");
		return false;
	}
	/* principalId (IdentityCenterPrincipalId, the same pattern as ResourceId): validated, then ignored (every
	 * principal sees everything here) */
	if (op != SIM_OP_LIST_BUDGETS && principal && !sim_resource_id_valid(principal)) {
		sim_api_validation_error(st, r, "FIELD_VALIDATION_FAILED", "principalId", "principalId is not valid");
		return false;
	}
	return true;
}

static bool item_matches(const struct sim_farm *f, enum sim_op op, size_t i, const struct list_filter *flt)
{
	const char *status, *name;

	switch (op) {
	case SIM_OP_LIST_QUEUES:
		status = f->queues[i].status;
		name = f->queues[i].display_name;
		break;
	case SIM_OP_LIST_FLEETS:
		status = f->fleets[i].status;
		name = f->fleets[i].display_name;
		break;
	default:
		status = f->budgets[i].active ? "ACTIVE" : "INACTIVE";
		name = f->budgets[i].display_name;
		break;
	}
	return (!flt->status || strcmp(flt->status, status) == 0) &&
	       (!flt->display_name || strcmp(flt->display_name, name) == 0);
}

void sim_api_list(struct sim_state *st, size_t farm, enum sim_op op, const struct sim_query *q, struct sim_response *r)
{
	const struct sim_world *w = st->world;
	const struct sim_farm *f = &w->farms[farm];
	enum sim_token_kind kind = op == SIM_OP_LIST_QUEUES   ? SIM_TOKEN_QUEUES
				   : op == SIM_OP_LIST_FLEETS ? SIM_TOKEN_FLEETS
							      : SIM_TOKEN_BUDGETS;
	size_t all = op == SIM_OP_LIST_QUEUES ? f->n_queues : op == SIM_OP_LIST_FLEETS ? f->n_fleets : f->n_budgets;
	size_t total = 0, max, offset, end;
	struct list_filter flt;
	size_t *match = NULL;
	uint64_t step;
	struct sim_json j;

	if (!read_filter(st, op, q, r, &flt) || !sim_api_page_size(st, q, r, &max))
		return;
	match = malloc((all ? all : 1) * sizeof(*match));
	if (!match) {
		sim_response_internal_failure(r, "out of memory");
		return;
	}
	for (size_t i = 0; i < all; i++) {
		if (item_matches(f, op, i, &flt))
			match[total++] = i;
	}
	if (sim_api_page_offset(st, q, kind, f->raw_id, total, &offset) < 0) {
		sim_api_invalid_token(st, r);
		goto out;
	}
	sim_state_lock(st);
	step = sim_state_inventory_step(st);
	sim_state_unlock(st);
	if (!sim_response_json_begin(&j, r))
		goto out;
	end = offset + max < total ? offset + max : total;
	sim_json_map_open(&j);
	sim_json_string(&j, op == SIM_OP_LIST_QUEUES ? "queues" : op == SIM_OP_LIST_FLEETS ? "fleets" : "budgets");
	sim_json_array_open(&j);
	for (size_t i = offset; i < end; i++) {
		if (op == SIM_OP_LIST_QUEUES) {
			queue_json(&j, w, f, &f->queues[match[i]]);
		} else if (op == SIM_OP_LIST_FLEETS) {
			fleet_json(&j, w, f, &f->fleets[match[i]], step);
		} else {
			sim_json_map_open(&j);
			budget_common_json(&j, w, f, &f->budgets[match[i]]);
			sim_json_map_close(&j);
		}
	}
	sim_json_array_close(&j);
	if (!sim_api_next_token_json(st, &j, kind, f->raw_id, end, total)) {
		sim_json_deinit(&j);
		sim_response_internal_failure(r, "could not make a token");
		goto out;
	}
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, 200);
out:
	free(match);
}

static void farm_json(struct sim_json *j, const struct sim_world *w, const struct sim_farm *f)
{
	sim_json_kv_string(j, "farmId", f->id);
	sim_json_kv_string(j, "displayName", f->display_name);
	if (f->description)
		sim_json_kv_string(j, "description", f->description);
	sim_json_kv_double(j, "costScaleFactor", f->cost_scale_factor);
	timestamp_json(j, "createdAt", f->created_at);
	sim_json_kv_string(j, "createdBy", w->users[0].id);
}

void sim_api_get_farm(struct sim_state *st, size_t farm, struct sim_response *r)
{
	struct sim_json j;

	if (!sim_response_json_begin(&j, r))
		return;
	sim_json_map_open(&j);
	farm_json(&j, st->world, &st->world->farms[farm]);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, 200);
}

void sim_api_get_budget(struct sim_state *st, size_t farm, const char *budget_id, struct sim_response *r)
{
	const struct sim_farm *f = &st->world->farms[farm];
	const struct sim_budget *b = NULL;
	struct sim_json j;
	size_t len = strlen(budget_id);

	if (len != 7 + SIM_HEX_ID_LEN || strncmp(budget_id, "budget-", 7) != 0 ||
		strspn(budget_id + 7, "0123456789abcdef") != SIM_HEX_ID_LEN) {
		sim_api_validation_error(
			st, r, "FIELD_VALIDATION_FAILED", "budgetId", "budgetId must match budget-[0-9a-f]{32}");
		return;
	}
	for (size_t i = 0; i < f->n_budgets && !b; i++) {
		if (strcmp(f->budgets[i].id, budget_id) == 0)
			b = &f->budgets[i];
	}
	if (!b) {
		struct sim_error_detail d = {.resource_id = budget_id, .resource_type = "budget", .retry_after = -1};

		sim_api_error(st, r, 404, "ResourceNotFoundException", &d, "Budget %s not found", budget_id);
		return;
	}
	if (!sim_response_json_begin(&j, r))
		return;
	sim_json_map_open(&j);
	budget_common_json(&j, st->world, f, b);
	budget_actions_json(&j, b);
	budget_schedule_json(&j, b);
	if (b->queue_stopped_at)
		timestamp_json(&j, "queueStoppedAt", b->queue_stopped_at);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, 200);
}

/* ---- GET /__sim/inventory: everything above as served now, with the times also in epoch seconds ---- */

static void kv_string_or_null(struct sim_json *j, const char *key, const char *value)
{
	sim_json_string(j, key);
	if (value)
		sim_json_string(j, value);
	else
		sim_json_null(j);
}

static void farm_inventory_json(struct sim_json *j, const struct sim_world *w, const struct sim_farm *f, uint64_t step)
{
	sim_json_map_open(j);
	farm_json(j, w, f);
	sim_json_string(j, "queues");
	sim_json_array_open(j);
	for (size_t i = 0; i < f->n_queues; i++)
		queue_json(j, w, f, &f->queues[i]);
	sim_json_array_close(j);
	sim_json_string(j, "fleets");
	sim_json_array_open(j);
	for (size_t i = 0; i < f->n_fleets; i++)
		fleet_json(j, w, f, &f->fleets[i], step);
	sim_json_array_close(j);
	sim_json_string(j, "budgets");
	sim_json_array_open(j);
	for (size_t i = 0; i < f->n_budgets; i++) {
		const struct sim_budget *b = &f->budgets[i];

		sim_json_map_open(j);
		budget_common_json(j, w, f, b);
		budget_actions_json(j, b);
		budget_schedule_json(j, b);
		if (b->queue_stopped_at)
			timestamp_json(j, "queueStoppedAt", b->queue_stopped_at);
		sim_json_kv_int(j, "startTimeSeconds", b->start);
		sim_json_kv_int(j, "endTimeSeconds", b->end);
		sim_json_string(j, "queueStoppedAtSeconds");
		if (b->queue_stopped_at)
			sim_json_int(j, b->queue_stopped_at);
		else
			sim_json_null(j);
		sim_json_map_close(j);
	}
	sim_json_array_close(j);
	sim_json_map_close(j);
}

static void inventory_json(struct sim_state *st, struct sim_response *r)
{
	const struct sim_world *w = st->world;
	uint64_t step;
	bool pinned;
	struct sim_json j;

	sim_state_lock(st);
	step = sim_state_inventory_step(st);
	pinned = st->inventory_pinned_step >= 0;
	sim_state_unlock(st);
	if (!sim_response_json_begin(&j, r))
		return;
	sim_json_map_open(&j);
	sim_json_kv_int(&j, "step", (long long)step);
	sim_json_string(&j, "pinned");
	sim_json_bool(&j, pinned);
	sim_json_kv_int(&j, "stepSeconds", st->config->inventory_step_s);
	sim_json_kv_int(&j, "dataEpoch", w->epoch);
	sim_json_kv_string(&j, "identityStoreId", w->identity_store_id);
	sim_json_kv_string(&j, "identityRegion", sim_identity_region(st));
	sim_json_string(&j, "farms");
	sim_json_array_open(&j);
	for (size_t f = 0; f < SIM_FARMS; f++)
		farm_inventory_json(&j, w, &w->farms[f], step);
	sim_json_array_close(&j);
	sim_json_string(&j, "users");
	sim_json_array_open(&j);
	for (size_t i = 0; i < w->n_users; i++) {
		sim_json_map_open(&j);
		sim_json_kv_string(&j, "userId", w->users[i].id);
		kv_string_or_null(&j, "userName", w->users[i].deleted ? NULL : w->users[i].user_name);
		kv_string_or_null(&j, "displayName", w->users[i].deleted ? NULL : w->users[i].display_name);
		sim_json_string(&j, "exists");
		sim_json_bool(&j, !w->users[i].deleted);
		sim_json_map_close(&j);
	}
	sim_json_array_close(&j);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, 200);
}

/* POST {"step":N} pins the clock at step N, {"step":null} lets it run again (from where it would be). */
static void pin_step(struct sim_state *st, const char *body, size_t body_len, struct sim_response *r)
{
	char err[128];
	yajl_val tree = sim_json_parse(body, body_len, MAX_CONTROL_DEPTH, err, sizeof(err));
	yajl_val v = sim_json_member(tree, "step");

	if (!tree || !YAJL_IS_OBJECT(tree) || tree->u.object.len != 1 || !v ||
		!(YAJL_IS_NULL(v) || (YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) >= 0))) {
		sim_control_error(r, 400, "%s", "expected {\"step\": N} (N >= 0) or {\"step\": null}");
		goto out;
	}
	sim_state_lock(st);
	st->inventory_pinned_step = YAJL_IS_NULL(v) ? -1 : YAJL_GET_INTEGER(v);
	sim_state_unlock(st);
	inventory_json(st, r);
out:
	yajl_tree_free(tree);
}

void sim_inventory_control(
	struct sim_state *st, const char *method, const char *body, size_t body_len, struct sim_response *r)
{
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		inventory_json(st, r);
	} else if (strcmp(method, "POST") == 0) {
		pin_step(st, body, body_len, r);
	} else {
		sim_control_error(r, 405, "use GET or POST");
		r->allow = "GET, HEAD, POST";
	}
}
