/* sim_activity: the live state's lists, the activity clock and /__sim/activity (made by the answers' own code) */
#include "sim_activity.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_time.h"

#define MAX_CONTROL_DEPTH 4
/* A pinned clock stays within a century of the start, so that times in milliseconds and the jobs' stream
 * positions (steps x jobs per queue) stay far from overflowing */
#define MAX_CLOCK_SECONDS (100LL * 366 * 86400)
#define LICENSE_ENDPOINTS_PATH "/2023-10-12/license-endpoints"

uint64_t sim_activity_step(struct sim_state *st)
{
	uint64_t step;
	double elapsed;

	sim_state_lock(st);
	if (st->activity_pinned_step >= 0) {
		step = (uint64_t)st->activity_pinned_step;
	} else {
		elapsed = sim_monotonic() - st->activity_origin;
		step = elapsed > 0 ? (uint64_t)(elapsed / (double)st->config->activity_step_s) : 0;
	}
	sim_state_unlock(st);
	return step;
}

enum sim_op sim_activity_route(
	const char *path, const char *rest, bool get, bool post, const char **item, const char **allow)
{
	const char *slash;

	*allow = NULL;
	if (!rest) {
		if (strcmp(path, LICENSE_ENDPOINTS_PATH) != 0)
			return SIM_OP_UNKNOWN;
		if (get)
			return SIM_OP_LIST_LICENSE_ENDPOINTS;
		*allow = "GET, HEAD";
		return SIM_OP_UNKNOWN;
	}
	if (strcmp(rest, "/search/jobs") == 0) {
		if (post)
			return SIM_OP_SEARCH_JOBS;
		*allow = "POST";
		return SIM_OP_UNKNOWN;
	}
	if (strcmp(rest, "/queue-fleet-associations") == 0 || strcmp(rest, "/limits") == 0) {
		if (get)
			return rest[1] == 'q' ? SIM_OP_LIST_QUEUE_FLEET_ASSOCIATIONS : SIM_OP_LIST_LIMITS;
		*allow = "GET, HEAD";
		return SIM_OP_UNKNOWN;
	}
	/* /fleets/{fleetId}/workers: item is the fleet id segment (with "/workers" after it) */
	slash = strncmp(rest, "/fleets/", 8) == 0 ? strchr(rest + 8, '/') : NULL;
	if (!slash || slash == rest + 8 || strcmp(slash, "/workers") != 0)
		return SIM_OP_UNKNOWN;
	*item = rest + 8;
	if (get)
		return SIM_OP_LIST_WORKERS;
	*allow = "GET, HEAD";
	return SIM_OP_UNKNOWN;
}

/* The page [*begin, *end) of total items that maxResults and nextToken ask for. False: r answered (400). */
static bool page(struct sim_state *st, const struct sim_query *q, enum sim_token_kind kind, const uint8_t *binding,
	size_t total, size_t *begin, size_t *end, struct sim_response *r)
{
	size_t max;

	if (!sim_api_page_size(st, q, r, &max))
		return false;
	/* these lists change with the clock: a token past the end of a list that shrank ends it, as it would */
	if (sim_api_page_offset(st, q, kind, binding, SIZE_MAX, begin) < 0) {
		sim_api_invalid_token(st, r);
		return false;
	}
	*begin = *begin < total ? *begin : total;
	*end = *begin + max < total ? *begin + max : total;
	return true;
}

/* Opens {"member":[ for a list's answer. */
static bool list_begin(struct sim_json *j, const char *member, struct sim_response *r)
{
	if (!sim_response_json_begin(j, r))
		return false;
	sim_json_map_open(j);
	sim_json_string(j, member);
	sim_json_array_open(j);
	return true;
}

/* Closes the list, adds nextToken when more follow and answers. */
static void list_end(struct sim_state *st, struct sim_json *j, enum sim_token_kind kind, const uint8_t *binding,
	size_t end, size_t total, struct sim_response *r)
{
	sim_json_array_close(j);
	if (!sim_api_next_token_json(st, j, kind, binding, end, total)) {
		sim_json_deinit(j);
		sim_response_internal_failure(r, "could not make a token");
		return;
	}
	sim_json_map_close(j);
	sim_response_json_finish(j, r, 200);
}

static bool hex_id(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 && strlen(s) == n + SIM_HEX_ID_LEN &&
	       strspn(s + n, "0123456789abcdef") == SIM_HEX_ID_LEN;
}

/* The 16 bytes of an id's 32 hex digits, to bind a fleet's tokens to it. */
static void id_bytes(const char *hex, uint8_t out[SIM_TOKEN_BINDING_LEN])
{
	for (size_t i = 0; i < SIM_TOKEN_BINDING_LEN; i++) {
		char pair[3] = {hex[2 * i], hex[2 * i + 1], '\0'};

		out[i] = (uint8_t)strtoul(pair, NULL, 16);
	}
}

static void list_workers(
	struct sim_state *st, size_t farm, const char *item, const struct sim_query *q, struct sim_response *r)
{
	const struct sim_farm *f = &st->world->farms[farm];
	char *fleet_id = sim_percent_decode(item, strcspn(item, "/"), false);
	struct sim_worker *workers = NULL;
	uint8_t binding[SIM_TOKEN_BINDING_LEN];
	size_t n = 0, begin, end;
	struct sim_json j;
	long fleet;

	if (!fleet_id || !hex_id(fleet_id, "fleet-")) {
		sim_api_validation_error(
			st, r, "FIELD_VALIDATION_FAILED", "fleetId", "fleetId must match fleet-[0-9a-f]{32}");
		goto out;
	}
	fleet = sim_farm_find_fleet(f, fleet_id);
	if (fleet < 0) {
		struct sim_error_detail d = {.resource_id = fleet_id, .resource_type = "fleet", .retry_after = -1};

		sim_api_error(st, r, 404, "ResourceNotFoundException", &d, "Fleet %s not found", fleet_id);
		goto out;
	}
	id_bytes(fleet_id + 6, binding);
	if (sim_fleet_workers(st, farm, (size_t)fleet, sim_activity_step(st), &workers, &n) < 0) {
		sim_response_internal_failure(r, "out of memory");
		goto out;
	}
	if (!page(st, q, SIM_TOKEN_WORKERS, binding, n, &begin, &end, r) || !list_begin(&j, "workers", r))
		goto out;
	for (size_t i = begin; i < end; i++)
		sim_worker_json(&j, st, farm, (size_t)fleet, &workers[i]);
	list_end(st, &j, SIM_TOKEN_WORKERS, binding, end, n, r);
out:
	free(workers);
	free(fleet_id);
}

/* queueId and fleetId of ListQueueFleetAssociations, validated (NULL when absent). False: r answered. */
static bool association_filters(
	struct sim_state *st, const struct sim_query *q, const char **queue, const char **fleet, struct sim_response *r)
{
	*queue = sim_query_get(q, "queueId");
	*fleet = sim_query_get(q, "fleetId");
	if (*queue && !hex_id(*queue, "queue-")) {
		sim_api_validation_error(
			st, r, "FIELD_VALIDATION_FAILED", "queueId", "queueId must match queue-[0-9a-f]{32}");
		return false;
	}
	if (*fleet && !hex_id(*fleet, "fleet-")) {
		sim_api_validation_error(
			st, r, "FIELD_VALIDATION_FAILED", "fleetId", "fleetId must match fleet-[0-9a-f]{32}");
		return false;
	}
	return true;
}

static void list_associations(struct sim_state *st, size_t farm, const struct sim_query *q, struct sim_response *r)
{
	const struct sim_farm *f = &st->world->farms[farm];
	struct sim_association *all = NULL;
	size_t n = 0, kept = 0, begin, end;
	const char *queue, *fleet;
	struct sim_json j;

	if (!association_filters(st, q, &queue, &fleet, r))
		return;
	if (sim_farm_associations(st, farm, sim_activity_step(st), &all, &n) < 0) {
		sim_response_internal_failure(r, "out of memory");
		goto out;
	}
	/* the filters first: the token's offset is within the filtered list */
	for (size_t i = 0; i < n; i++) {
		if ((!queue || strcmp(queue, f->queues[all[i].queue].id) == 0) &&
			(!fleet || strcmp(fleet, f->fleets[all[i].fleet].id) == 0))
			all[kept++] = all[i];
	}
	if (!page(st, q, SIM_TOKEN_ASSOCIATIONS, f->raw_id, kept, &begin, &end, r) ||
		!list_begin(&j, "queueFleetAssociations", r))
		goto out;
	for (size_t i = begin; i < end; i++)
		sim_association_json(&j, st, farm, &all[i]);
	list_end(st, &j, SIM_TOKEN_ASSOCIATIONS, f->raw_id, end, kept, r);
out:
	free(all);
}

static void list_limits(struct sim_state *st, size_t farm, const struct sim_query *q, struct sim_response *r)
{
	const struct sim_farm *f = &st->world->farms[farm];
	struct sim_limit limits[SIM_LIMITS_MAX];
	int n = sim_farm_limits(st, farm, sim_activity_step(st), limits);
	size_t begin, end;
	struct sim_json j;

	if (n < 0) {
		sim_response_internal_failure(r, "could not derive the limits' ids");
		return;
	}
	if (!page(st, q, SIM_TOKEN_LIMITS, f->raw_id, (size_t)n, &begin, &end, r) || !list_begin(&j, "limits", r))
		return;
	for (size_t i = begin; i < end; i++)
		sim_limit_json(&j, st, farm, &limits[i]);
	list_end(st, &j, SIM_TOKEN_LIMITS, f->raw_id, end, (size_t)n, r);
}

static void list_license_endpoints(struct sim_state *st, const struct sim_query *q, struct sim_response *r)
{
	struct sim_license_endpoint les[SIM_LICENSE_ENDPOINTS_MAX];
	int n = sim_license_endpoints(st, sim_activity_step(st), les);
	uint8_t binding[SIM_TOKEN_BINDING_LEN];
	char hex[SIM_HEX_ID_LEN + 1];
	size_t begin, end;
	struct sim_json j;

	/* account-wide: the tokens are bound to the region */
	if (n < 0 || sim_derive_id(st->world->seed, hex, sizeof(hex), "", binding, "license-endpoints/%.64s",
			     st->config->region) < 0) {
		sim_response_internal_failure(r, "could not derive the license endpoints' ids");
		return;
	}
	if (!page(st, q, SIM_TOKEN_LICENSE_ENDPOINTS, binding, (size_t)n, &begin, &end, r) ||
		!list_begin(&j, "licenseEndpoints", r))
		return;
	for (size_t i = begin; i < end; i++)
		sim_license_endpoint_json(&j, &les[i]);
	list_end(st, &j, SIM_TOKEN_LICENSE_ENDPOINTS, binding, end, (size_t)n, r);
}

void sim_activity_serve(struct sim_state *st, enum sim_op op, size_t farm, const char *item, const struct sim_query *q,
	const char *body, size_t body_len, struct sim_response *r)
{
	switch (op) {
	case SIM_OP_LIST_WORKERS:
		list_workers(st, farm, item, q, r);
		break;
	case SIM_OP_SEARCH_JOBS:
		sim_search_jobs(st, farm, body, body_len, r);
		break;
	case SIM_OP_LIST_QUEUE_FLEET_ASSOCIATIONS:
		list_associations(st, farm, q, r);
		break;
	case SIM_OP_LIST_LIMITS:
		list_limits(st, farm, q, r);
		break;
	case SIM_OP_LIST_LICENSE_ENDPOINTS:
		list_license_endpoints(st, q, r);
		break;
	default:
		sim_response_internal_failure(r, "not a live-state operation");
		break;
	}
}

/* ---- GET /__sim/activity: everything above as served at the current step, with the counts it implies ---- */

static void counts_json(struct sim_json *j, const char *key, const char *const *names, const uint64_t *counts, int n)
{
	sim_json_string(j, key);
	sim_json_map_open(j);
	for (int i = 0; i < n; i++)
		sim_json_kv_int(j, names[i], (long long)counts[i]);
	sim_json_map_close(j);
}

static int fleets_json(struct sim_json *j, const struct sim_state *st, size_t farm, uint64_t step, bool lists)
{
	const struct sim_farm *f = &st->world->farms[farm];

	sim_json_string(j, "fleets");
	sim_json_array_open(j);
	for (size_t fl = 0; fl < f->n_fleets; fl++) {
		uint64_t by_status[SIM_WORKER_STATUS_COUNT] = {0};
		struct sim_worker *workers;
		size_t n;

		if (sim_fleet_workers(st, farm, fl, step, &workers, &n) < 0)
			return -ENOMEM;
		sim_json_map_open(j);
		sim_json_kv_string(j, "fleetId", f->fleets[fl].id);
		sim_json_kv_int(j, "workerCount", (long long)n);
		for (size_t i = 0; i < n; i++)
			by_status[workers[i].status]++;
		counts_json(j, "workersByStatus", sim_worker_status_names, by_status, SIM_WORKER_STATUS_COUNT);
		if (lists) {
			sim_json_string(j, "workers");
			sim_json_array_open(j);
			for (size_t i = 0; i < n; i++)
				sim_worker_json(j, st, farm, fl, &workers[i]);
			sim_json_array_close(j);
		}
		sim_json_map_close(j);
		free(workers);
	}
	sim_json_array_close(j);
	return 0;
}

/* The oldest active job with READY tasks and none RUNNING (the jobs come in createdAt order), or NULL. */
static const struct sim_live_job *oldest_waiting(const struct sim_live_job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (sim_live_job_active(&jobs[i]) && jobs[i].counts[SIM_TASK_READY] > 0 &&
			jobs[i].counts[SIM_TASK_RUNNING] == 0)
			return &jobs[i];
	}
	return NULL;
}

static void queue_truth_json(struct sim_json *j, const struct sim_state *st, size_t farm, size_t q,
	const struct sim_live_job *jobs, size_t n, bool lists)
{
	uint64_t jobs_by[SIM_TASK_STATUS_COUNT] = {0}, tasks_by[SIM_TASK_STATUS_COUNT] = {0}, active = 0;
	const struct sim_live_job *oldest = oldest_waiting(jobs, n);
	char text[SIM_RFC3339_SIZE];

	for (size_t i = 0; i < n; i++) {
		if (!sim_live_job_active(&jobs[i]))
			continue;
		active++;
		jobs_by[jobs[i].status]++;
		for (int s = 0; s < SIM_TASK_STATUS_COUNT; s++)
			tasks_by[s] += jobs[i].counts[s];
	}
	sim_json_map_open(j);
	sim_json_kv_string(j, "queueId", st->world->farms[farm].queues[q].id);
	sim_json_kv_string(j, "status", st->world->farms[farm].queues[q].status);
	sim_json_string(j, "stalled");
	sim_json_bool(j, sim_queue_stalled(st->world, farm, q));
	sim_json_kv_int(j, "activeJobCount", (long long)active);
	/* the active statuses are the first SIM_TASK_SUSPENDED + 1 */
	counts_json(j, "activeJobsByStatus", sim_task_status_names, jobs_by, SIM_TASK_SUSPENDED + 1);
	counts_json(j, "tasksByStatus", sim_task_status_names, tasks_by, SIM_TASK_STATUS_COUNT);
	sim_json_string(j, "oldestWaitingJob");
	if (oldest) {
		sim_rfc3339_format(oldest->created_ms, text);
		sim_json_map_open(j);
		sim_json_kv_string(j, "jobId", oldest->id);
		sim_json_kv_string(j, "createdAt", text);
		sim_json_kv_double(j, "createdAtSeconds", (double)oldest->created_ms / 1000.0);
		sim_json_map_close(j);
	} else {
		sim_json_null(j);
	}
	if (lists) {
		sim_json_string(j, "activeJobs");
		sim_json_array_open(j);
		for (size_t i = 0; i < n; i++) {
			if (sim_live_job_active(&jobs[i]))
				sim_live_job_json(j, st, farm, &jobs[i]);
		}
		sim_json_array_close(j);
	}
	sim_json_map_close(j);
}

static int farm_truth_json(struct sim_json *j, const struct sim_state *st, size_t farm, uint64_t step, bool lists)
{
	const struct sim_farm *f = &st->world->farms[farm];
	struct sim_limit limits[SIM_LIMITS_MAX];
	struct sim_association *assoc;
	int n_limits = sim_farm_limits(st, farm, step, limits);
	size_t n;

	if (n_limits < 0)
		return -EIO;
	sim_json_map_open(j);
	sim_json_kv_string(j, "farmId", f->id);
	if (fleets_json(j, st, farm, step, lists) < 0)
		return -ENOMEM;
	sim_json_string(j, "queues");
	sim_json_array_open(j);
	for (size_t q = 0; q < f->n_queues; q++) {
		struct sim_live_job *jobs;

		if (sim_queue_jobs(st, farm, q, step, &jobs, &n) < 0)
			return -ENOMEM;
		queue_truth_json(j, st, farm, q, jobs, n, lists);
		free(jobs);
	}
	sim_json_array_close(j);
	if (sim_farm_associations(st, farm, step, &assoc, &n) < 0)
		return -ENOMEM;
	sim_json_string(j, "associations");
	sim_json_array_open(j);
	for (size_t i = 0; i < n; i++)
		sim_association_json(j, st, farm, &assoc[i]);
	sim_json_array_close(j);
	free(assoc);
	sim_json_string(j, "limits");
	sim_json_array_open(j);
	for (int i = 0; i < n_limits; i++)
		sim_limit_json(j, st, farm, &limits[i]);
	sim_json_array_close(j);
	sim_json_map_close(j);
	return 0;
}

static void truth_json(struct sim_state *st, bool lists, struct sim_response *r)
{
	struct sim_license_endpoint les[SIM_LICENSE_ENDPOINTS_MAX];
	uint64_t step = sim_activity_step(st);
	int n_les = sim_license_endpoints(st, step, les), e = n_les < 0 ? -EIO : 0;
	struct sim_json j;
	bool pinned;

	sim_state_lock(st);
	pinned = st->activity_pinned_step >= 0;
	sim_state_unlock(st);
	if (!sim_response_json_begin(&j, r))
		return;
	sim_json_map_open(&j);
	sim_json_kv_int(&j, "step", (long long)step);
	sim_json_string(&j, "pinned");
	sim_json_bool(&j, pinned);
	sim_json_kv_int(&j, "stepSeconds", st->config->activity_step_s);
	sim_json_kv_int(&j, "searchOffsetCap", st->config->search_offset_cap);
	sim_json_kv_int(&j, "dataEpoch", st->world->epoch);
	sim_json_kv_string(&j, "region", st->config->region);
	sim_json_string(&j, "farms");
	sim_json_array_open(&j);
	for (size_t f = 0; f < SIM_FARMS && e == 0; f++)
		e = farm_truth_json(&j, st, f, step, lists);
	sim_json_array_close(&j);
	sim_json_string(&j, "licenseEndpoints");
	sim_json_array_open(&j);
	for (int i = 0; i < n_les; i++)
		sim_license_endpoint_json(&j, &les[i]);
	sim_json_array_close(&j);
	sim_json_map_close(&j);
	if (e < 0) {
		sim_json_deinit(&j);
		sim_response_internal_failure(r, "could not build the activity");
		return;
	}
	sim_response_json_finish(&j, r, 200);
}

/* POST {"step":N} pins the clock at N, {"advance":K} pins it K steps on, {"step":null} lets it run again. */
static void set_clock(struct sim_state *st, const char *body, size_t body_len, bool lists, struct sim_response *r)
{
	char err[128];
	yajl_val tree = sim_json_parse(body, body_len, MAX_CONTROL_DEPTH, err, sizeof(err));
	yajl_val step = sim_json_member(tree, "step"), advance = sim_json_member(tree, "advance");
	long long pinned;
	uint64_t now;

	if (!tree || !YAJL_IS_OBJECT(tree) || tree->u.object.len != 1 ||
		!((step && (YAJL_IS_NULL(step) || (YAJL_IS_INTEGER(step) && YAJL_GET_INTEGER(step) >= 0))) ||
			(advance && YAJL_IS_INTEGER(advance) && YAJL_GET_INTEGER(advance) >= 0))) {
		sim_control_error(
			r, 400, "%s", "expected {\"step\": N}, {\"step\": null} or {\"advance\": K} (N, K >= 0)");
		goto out;
	}
	now = sim_activity_step(st);
	pinned = advance ? YAJL_GET_INTEGER(advance) : YAJL_IS_NULL(step) ? -1 : YAJL_GET_INTEGER(step);
	if (pinned > MAX_CLOCK_SECONDS / st->config->activity_step_s ||
		(advance && pinned + (long long)now > MAX_CLOCK_SECONDS / st->config->activity_step_s)) {
		sim_control_error(r, 400, "the step must stay within %lld seconds of the start", MAX_CLOCK_SECONDS);
		goto out;
	}
	sim_state_lock(st);
	st->activity_pinned_step = advance ? (long long)now + pinned : pinned;
	sim_state_unlock(st);
	truth_json(st, lists, r);
out:
	yajl_tree_free(tree);
}

void sim_activity_control(struct sim_state *st, const char *method, const struct sim_query *q, const char *body,
	size_t body_len, struct sim_response *r)
{
	const char *summary = sim_query_get(q, "summary");
	bool lists = !summary || strcmp(summary, "1") != 0;

	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		truth_json(st, lists, r);
	} else if (strcmp(method, "POST") == 0) {
		set_clock(st, body, body_len, lists, r);
	} else {
		sim_control_error(r, 405, "use GET or POST");
		r->allow = "GET, HEAD, POST";
	}
}
