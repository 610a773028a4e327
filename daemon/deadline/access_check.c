/* access_check: the calls of --check-aws: once per farm, every operation the configuration uses, and what each
 * answer means for the IAM policy */
#include "deadline/access_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline/activity_api.h"
#include "deadline/deadline_api.h"
#include "deadline/inventory_api.h"
#include "deadline/queue_lookup.h"
#include "deadline/search_jobs.h"
#include "deadline/users_api.h"
#include "util/rfc3339.h"

/* Ids that no farm has, for calls that need one when the farm lists none: "not found" proves the permission. */
#define PLACEHOLDER_HEX "00000000000000000000000000000000"
#define PLACEHOLDER_USER "00000000-0000-0000-0000-000000000000"

/* How long Get is polled for the one-minute aggregation to end (it covers one resource). */
#define CHECK_POLL_MAX 60
#define CHECK_POLL_MS 1000.0
/* How long a Start waits for the farm's aggregation slot (another aggregation running). */
#define CHECK_BUSY_ATTEMPTS 12
#define CHECK_BUSY_MS 5000.0

/* What one farm's check knows as it goes. */
struct check_farm {
	const struct config *cfg;
	const struct farm_config *farm;
	struct api_caller *api;
	int64_t now;
	char queue_id[64]; /* the first queue listed or configured, "" when none */
	char fleet_id[64];
	char budget_id[64];
	size_t n_queues, n_fleets; /* on the first page: enough to pick the report's kind as "auto" would */
	char aggregation_id[128]; /* Start's, "" when it failed */
};

/* ---- verdicts ---- */

enum access_verdict access_verdict_of(int outcome, bool placeholder)
{
	if (outcome == 0)
		return ACCESS_OK;
	if (outcome == API_DENIED)
		return ACCESS_DENIED;
	if (outcome == API_NOT_FOUND && placeholder)
		return ACCESS_PERMITTED;
	return ACCESS_FAILED;
}

/* Fills res from a finished call c (outcome r); ok_detail is what a success says. */
static void result_set(
	struct access_result *res, const struct api_call *c, int r, bool placeholder, const char *ok_detail)
{
	res->verdict = access_verdict_of(r, placeholder);
	if (res->verdict == ACCESS_OK) {
		snprintf(res->detail, sizeof(res->detail), "%s", ok_detail ? ok_detail : "");
		return;
	}
	if (res->verdict == ACCESS_PERMITTED) {
		snprintf(res->detail, sizeof(res->detail), "no such resource (a placeholder id): the call is allowed");
		return;
	}
	if (r == API_NO_CREDENTIALS) {
		snprintf(res->detail, sizeof(res->detail), "no credentials (see above)");
		return;
	}
	if (r < 0 || !c->status) {
		snprintf(res->detail, sizeof(res->detail), "%s", api_outcome_text(r));
		return;
	}
	snprintf(res->detail, sizeof(res->detail), "%s (HTTP %ld)%s%s",
		c->error_name ? c->error_name : api_outcome_text(r), c->status, c->error_message ? ": " : "",
		c->error_message ? c->error_message : "");
}

/* Runs c on cf's API, fills res. Returns the outcome. */
static int call_run(
	struct check_farm *cf, struct api_call *c, struct access_result *res, bool placeholder, const char *ok_detail)
{
	int r = api_call_run(cf->api, c);

	result_set(res, c, r, placeholder, ok_detail);
	api_call_reset(c);
	return r;
}

/* A GET of path (malloc'd by the caller, freed here) with maxResults=1 when list. */
static int get_path(struct check_farm *cf, struct access_result *res, char *path, bool list, bool placeholder)
{
	struct api_call c = {.operation = res->operation, .method = "GET", .path = path};
	char *query = list ? deadline_list_query(1, NULL) : NULL;
	int r;

	if (!path || (list && !query)) {
		free(path);
		free(query);
		snprintf(res->detail, sizeof(res->detail), "%s", strerror(ENOMEM));
		res->verdict = ACCESS_FAILED;
		return -ENOMEM;
	}
	c.query = query;
	r = call_run(cf, &c, res, placeholder, "");
	free(path);
	free(query);
	return r;
}

/* ---- the steps ---- */

static int run_get_farm(struct check_farm *cf, struct access_result *res)
{
	return get_path(cf, res, deadline_farm_path(cf->farm->id, ""), false, false);
}

/* Keeps the first id listed (or configured) of kind, and the first page's count. */
struct ids_ctx {
	enum resource_kind kind;
	char **ids;
	size_t n;
};

static int ids_parse(void *ctx, const char *body, size_t len, char *err, size_t errlen)
{
	struct ids_ctx *x = ctx;
	char *next = NULL;
	int r = deadline_parse_list(body, len, x->kind, &x->ids, &x->n, &next, err, errlen);

	free(next);
	return r;
}

static int run_list(struct check_farm *cf, struct access_result *res, enum resource_kind kind)
{
	struct ids_ctx x = {.kind = kind};
	char *path = deadline_list_path(cf->farm->id, kind), *query = deadline_list_query(DEADLINE_MAX_RESULTS, NULL);
	struct api_call c = {.operation = res->operation,
		.method = "GET",
		.path = path,
		.query = query,
		.parse = ids_parse,
		.ctx = &x};
	char detail[64];
	int r;

	if (!path || !query) {
		r = -ENOMEM;
		result_set(res, &c, r, false, NULL);
		goto out;
	}
	r = api_call_run(cf->api, &c);
	snprintf(detail, sizeof(detail), "%zu %s%s listed%s", x.n, kind == RESOURCE_QUEUES ? "queue" : "fleet",
		x.n == 1 ? "" : "s", x.n == DEADLINE_MAX_RESULTS ? " on the first page" : "");
	result_set(res, &c, r, false, detail);
	api_call_reset(&c);
	if (r == 0 && x.n) {
		snprintf(kind == RESOURCE_QUEUES ? cf->queue_id : cf->fleet_id, sizeof(cf->queue_id), "%s", x.ids[0]);
		*(kind == RESOURCE_QUEUES ? &cf->n_queues : &cf->n_fleets) = x.n;
	}
out:
	for (size_t i = 0; i < x.n; i++)
		free(x.ids[i]);
	free(x.ids);
	free(path);
	free(query);
	return r;
}

static int run_list_queues(struct check_farm *cf, struct access_result *res)
{
	return run_list(cf, res, RESOURCE_QUEUES);
}

static int run_list_fleets(struct check_farm *cf, struct access_result *res)
{
	return run_list(cf, res, RESOURCE_FLEETS);
}

static int budgets_parse(void *ctx, const char *body, size_t len, char *err, size_t errlen)
{
	char *next = NULL;
	int r = deadline_parse_budgets(body, len, ctx, &next, err, errlen);

	free(next);
	return r;
}

static int run_list_budgets(struct check_farm *cf, struct access_result *res)
{
	struct inventory *inv = NULL;
	char *path = deadline_farm_path(cf->farm->id, "budgets"), *query = deadline_list_query(1, NULL);
	int r = inventory_new(&inv, cf->farm->id);
	struct api_call c = {.operation = res->operation,
		.method = "GET",
		.path = path,
		.query = query,
		.parse = budgets_parse,
		.ctx = inv};

	if (r < 0 || !path || !query) {
		r = -ENOMEM;
		result_set(res, &c, r, false, NULL);
	} else {
		r = api_call_run(cf->api, &c);
		result_set(res, &c, r, false, inv->n_budgets ? "" : "no budget");
		if (r == 0 && inv->n_budgets)
			snprintf(cf->budget_id, sizeof(cf->budget_id), "%s", inv->budgets[0].id);
		api_call_reset(&c);
	}
	inventory_free(inv);
	free(path);
	free(query);
	return r;
}

static int run_get_budget(struct check_farm *cf, struct access_result *res)
{
	bool placeholder = !cf->budget_id[0];

	return get_path(cf, res,
		deadline_budget_path(cf->farm->id, placeholder ? "budget-" PLACEHOLDER_HEX : cf->budget_id), false,
		placeholder);
}

/* The resource the first report asks by, as its refresh would choose it; *placeholder when none is known. */
static const char *start_resource(struct check_farm *cf, enum resource_kind *kind, bool *placeholder)
{
	const struct farm_config *f = cf->farm;
	const char *id;

	if (config_report_kind(f, &cf->cfg->reports[0], cf->n_queues, cf->n_fleets,
		    DEADLINE_MAX_RESOURCES_PER_AGGREGATION, kind) < 0)
		*kind = RESOURCE_QUEUES;
	if (*kind == RESOURCE_QUEUES)
		id = f->n_queue_ids ? f->queue_ids[0] : cf->queue_id;
	else
		id = f->n_fleet_ids ? f->fleet_ids[0] : cf->fleet_id;
	*placeholder = !*id;
	if (*placeholder)
		id = *kind == RESOURCE_QUEUES ? "queue-" PLACEHOLDER_HEX : "fleet-" PLACEHOLDER_HEX;
	return id;
}

static int start_parse(void *ctx, const char *body, size_t len, char *err, size_t errlen)
{
	struct check_farm *cf = ctx;
	char *id = NULL;
	int r = deadline_parse_start(body, len, &id, err, errlen);

	if (r == 0)
		snprintf(cf->aggregation_id, sizeof(cf->aggregation_id), "%s", id);
	free(id);
	return r;
}

static int run_start(struct check_farm *cf, struct access_result *res)
{
	const struct report_config *rep = &cf->cfg->reports[0];
	char start[RFC3339_SIZE], end[RFC3339_SIZE], detail[160], *body = NULL, *path;
	enum resource_kind kind;
	bool placeholder;
	const char *id = start_resource(cf, &kind, &placeholder);
	const struct deadline_start_request sr = {
		.farm_id = cf->farm->id,
		.kind = kind,
		.resource_ids = &id,
		.n_resource_ids = 1,
		.start_time = start,
		.end_time = end,
		.group_by = rep->group_by,
		.n_group_by = rep->n_group_by,
		.statistics = STAT_SUM,
		.timezone = "UTC+00:00",
		.period = PERIOD_NONE,
	};
	size_t len = 0;
	int r;

	/* One minute and one resource: the smallest aggregation the service runs. */
	rfc3339_format(cf->now - 60, start);
	rfc3339_format(cf->now, end);
	path = deadline_aggregation_path(cf->farm->id);
	if (!path || deadline_start_body(&sr, &body, &len) < 0) {
		free(path);
		res->verdict = ACCESS_FAILED;
		snprintf(res->detail, sizeof(res->detail), "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	struct api_call c = {.operation = res->operation,
		.method = "POST",
		.path = path,
		.body = body,
		.body_len = len,
		.parse = start_parse,
		.ctx = cf};
	snprintf(detail, sizeof(detail), "one minute of %s", id);
	/* A farm runs one aggregation at a time: a running exporter's refresh ends within a minute or so. */
	for (int attempt = 1;; attempt++) {
		r = api_call_run(cf->api, &c);
		if (!c.busy || attempt == CHECK_BUSY_ATTEMPTS)
			break;
		api_call_reset(&c);
		api_caller_sleep(cf->api, CHECK_BUSY_MS);
	}
	bool busy = c.busy;
	result_set(res, &c, r, placeholder, detail);
	api_call_reset(&c);
	if (busy)
		snprintf(res->detail + strlen(res->detail), sizeof(res->detail) - strlen(res->detail),
			" (another aggregation kept running on the farm: the exporter's own refresh? try again later)");
	free(path);
	free(body);
	return r;
}

static int get_parse(void *ctx, const char *body, size_t len, char *err, size_t errlen)
{
	/* A retried attempt parses again into the same page. */
	deadline_page_deinit(ctx);
	return deadline_parse_get(body, len, ctx, err, errlen);
}

/* Polls Get until the aggregation ends; the first page only (its rows are not used). */
static int run_get(struct check_farm *cf, struct access_result *res)
{
	bool placeholder = !cf->aggregation_id[0];
	const char *id = placeholder ? PLACEHOLDER_HEX : cf->aggregation_id;
	char *path = deadline_aggregation_path(cf->farm->id),
	     *query = deadline_get_query(id, DEADLINE_MAX_RESULTS, NULL);
	struct deadline_page page = {0};
	char detail[256] = "";
	int r = -ENOMEM;

	for (int poll = 0; path && query && poll < CHECK_POLL_MAX; poll++) {
		struct api_call c = {.operation = res->operation,
			.method = "GET",
			.path = path,
			.query = query,
			.parse = get_parse,
			.ctx = &page};

		r = api_call_run(cf->api, &c);
		if (r == 0 && (page.status == DEADLINE_STATUS_IN_PROGRESS || page.status == DEADLINE_STATUS_UNKNOWN) &&
			poll + 1 < CHECK_POLL_MAX) {
			api_call_reset(&c);
			api_caller_sleep(cf->api, CHECK_POLL_MS);
			continue;
		}
		if (r == 0 && page.status == DEADLINE_STATUS_COMPLETED)
			snprintf(detail, sizeof(detail), "COMPLETED, %zu row%s", page.n_rows,
				page.n_rows == 1 ? "" : "s");
		else if (r == 0)
			/* The permission is what is checked: an aggregation that ended otherwise still answered. */
			snprintf(detail, sizeof(detail), "ok (the aggregation is %s%s%.160s)", page.status_text,
				page.status_message ? ": " : "", page.status_message ? page.status_message : "");
		result_set(res, &c, r, placeholder, detail);
		api_call_reset(&c);
		break;
	}
	if (r == -ENOMEM)
		result_set(res, &(struct api_call){0}, r, false, NULL);
	deadline_page_deinit(&page);
	free(path);
	free(query);
	return r;
}

/* The first fleet (queue) known, else a placeholder. */
static const char *known_id(const struct check_farm *cf, enum resource_kind kind, bool *placeholder)
{
	const struct farm_config *f = cf->farm;
	const char *id = kind == RESOURCE_QUEUES ? (f->n_queue_ids ? f->queue_ids[0] : cf->queue_id)
						 : (f->n_fleet_ids ? f->fleet_ids[0] : cf->fleet_id);

	*placeholder = !*id;
	if (*placeholder)
		return kind == RESOURCE_QUEUES ? "queue-" PLACEHOLDER_HEX : "fleet-" PLACEHOLDER_HEX;
	return id;
}

static int run_list_workers(struct check_farm *cf, struct access_result *res)
{
	bool placeholder;
	const char *fleet = known_id(cf, RESOURCE_FLEETS, &placeholder);

	return get_path(cf, res, activity_api_workers_path(cf->farm->id, fleet), true, placeholder);
}

static int run_search_jobs(struct check_farm *cf, struct access_result *res)
{
	bool placeholder;
	const char *queue = known_id(cf, RESOURCE_QUEUES, &placeholder);
	struct search_jobs_read read = {0};
	char *path = search_jobs_path(cf->farm->id), *body = NULL;
	struct api_call c = {.operation = res->operation, .method = "POST", .path = path};
	int r;

	/* The activity thread's own first request, over one queue: a page of its active jobs, read once. */
	r = search_jobs_read_init(&read, &queue, 1, NULL);
	if (r == 0 && path)
		r = search_jobs_body(&read, &body, &c.body_len);
	else if (r == 0)
		r = -ENOMEM;
	if (r == 0) {
		c.body = body;
		r = call_run(cf, &c, res, placeholder, "");
	} else {
		result_set(res, &c, r, false, NULL);
	}
	search_jobs_read_deinit(&read);
	free(body);
	free(path);
	return r;
}

static int run_list_associations(struct check_farm *cf, struct access_result *res)
{
	return get_path(cf, res, activity_api_associations_path(cf->farm->id), true, false);
}

static int run_list_limits(struct check_farm *cf, struct access_result *res)
{
	return get_path(cf, res, activity_api_limits_path(cf->farm->id), true, false);
}

static int run_list_license_endpoints(struct check_farm *cf, struct access_result *res)
{
	return get_path(cf, res, activity_api_license_endpoints_path(), true, false);
}

/* ---- which steps a configuration needs ---- */

static bool needs_always(const struct check_farm *cf)
{
	(void)cf;
	return true;
}

static bool needs_inventory(const struct check_farm *cf)
{
	return cf->cfg->inventory.enabled;
}

static bool needs_queues(const struct check_farm *cf)
{
	return cf->cfg->inventory.enabled || cf->farm->all_queues;
}

static bool needs_fleets(const struct check_farm *cf)
{
	return cf->cfg->inventory.enabled || cf->farm->all_fleets;
}

static bool needs_budgets(const struct check_farm *cf)
{
	return cf->cfg->inventory.enabled && cf->cfg->inventory.budgets;
}

static bool needs_activity(const struct check_farm *cf)
{
	return cf->cfg->activity.enabled;
}

/* The activity's reader, and a labelled report looking up the queue of each job it groups by. */
static bool needs_search_jobs(const struct check_farm *cf)
{
	for (size_t i = 0; i < cf->cfg->n_reports; i++)
		if (queue_lookup_by_job(&cf->cfg->reports[i]))
			return true;
	return needs_activity(cf);
}

/* Every operation a farm's threads call, in the order that lets later steps use what earlier ones listed. */
static const struct check_step {
	const char *operation;
	bool (*needed)(const struct check_farm *cf);
	int (*run)(struct check_farm *cf, struct access_result *res);
	bool account_wide; /* not a farm's resource: counted with farm_id "-" (called with each farm's keys here) */
} farm_steps[] = {
	{API_OP_GET_FARM, needs_inventory, run_get_farm, false},
	{API_OP_LIST_QUEUES, needs_queues, run_list_queues, false},
	{API_OP_LIST_FLEETS, needs_fleets, run_list_fleets, false},
	{API_OP_LIST_BUDGETS, needs_budgets, run_list_budgets, false},
	{API_OP_GET_BUDGET, needs_budgets, run_get_budget, false},
	{API_OP_START, needs_always, run_start, false},
	{API_OP_GET, needs_always, run_get, false},
	{API_OP_LIST_WORKERS, needs_activity, run_list_workers, false},
	{API_OP_SEARCH_JOBS, needs_search_jobs, run_search_jobs, false},
	{API_OP_LIST_ASSOCIATIONS, needs_activity, run_list_associations, false},
	{API_OP_LIST_LIMITS, needs_activity, run_list_limits, false},
	{API_OP_LIST_LICENSE_ENDPOINTS, needs_activity, run_list_license_endpoints, true},
};

/* Whether cfg names a role anywhere (a farm's, the identity store's): the exporter then calls AssumeRole. */
static bool has_roles(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_farms; i++)
		if (cfg->farms[i].role_arn)
			return true;
	return cfg->identity_store.id && cfg->identity_store.role_arn;
}

size_t access_check_operations(const struct config *cfg, const struct farm_config *f, const char **ops, size_t cap)
{
	struct check_farm cf = {.cfg = cfg, .farm = f ? f : &cfg->farms[0]};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(farm_steps) / sizeof(farm_steps[0]); i++) {
		if (farm_steps[i].account_wide != !f || !farm_steps[i].needed(&cf))
			continue;
		if (n < cap)
			ops[n] = farm_steps[i].operation;
		n++;
	}
	if (f)
		return n;
	if (cfg->identity_store.id && n < cap)
		ops[n] = USERS_API_OP_DESCRIBE;
	n += cfg->identity_store.id != NULL;
	if (has_roles(cfg) && n < cap)
		ops[n] = "AssumeRole";
	n += has_roles(cfg);
	/* The inventory names the account of a farm without a role by asking STS who the exporter is. */
	bool caller = false;
	for (size_t i = 0; cfg->inventory.enabled && i < cfg->n_farms; i++)
		caller |= !cfg->farms[i].role_arn;
	if (caller && n < cap)
		ops[n] = "GetCallerIdentity";
	return n + caller;
}

int access_check_farm(const struct config *cfg, const struct farm_config *f, struct api_caller *api, int64_t now,
	access_report_fn report, void *ctx)
{
	struct check_farm cf = {.cfg = cfg, .farm = f, .api = api, .now = now};
	int failed = 0;

	for (size_t i = 0; i < sizeof(farm_steps) / sizeof(farm_steps[0]); i++) {
		struct access_result res = {.farm_id = f->id, .operation = farm_steps[i].operation};

		if (!farm_steps[i].needed(&cf))
			continue;
		farm_steps[i].run(&cf, &res);
		if (res.verdict != ACCESS_OK && res.verdict != ACCESS_PERMITTED)
			failed++;
		report(ctx, &res);
	}
	return failed;
}

int access_check_identity_store(const struct config *cfg, struct api_caller *api, access_report_fn report, void *ctx)
{
	struct access_result res = {.farm_id = "-", .operation = USERS_API_OP_DESCRIBE};
	struct api_call c = {.operation = res.operation,
		.method = "POST",
		.path = "/",
		.content_type = USERS_API_CONTENT_TYPE,
		.target = USERS_API_TARGET};
	char *body = NULL;
	size_t len = 0;
	int r = users_api_describe_body(cfg->identity_store.id, PLACEHOLDER_USER, &body, &len);

	if (r == 0) {
		c.body = body;
		c.body_len = len;
		r = api_call_run(api, &c);
	}
	/* "not found" proves the permission only when it is the user that is missing, not the store. */
	result_set(&res, &c, r, !(c.error_message && strstr(c.error_message, "dentity store")), "");
	api_call_reset(&c);
	free(body);
	report(ctx, &res);
	return res.verdict == ACCESS_OK || res.verdict == ACCESS_PERMITTED ? 0 : 1;
}

const char *access_check_operation(size_t i)
{
	const size_t n = sizeof(farm_steps) / sizeof(farm_steps[0]);

	return i < n ? farm_steps[i].operation : i == n ? USERS_API_OP_DESCRIBE : NULL;
}
