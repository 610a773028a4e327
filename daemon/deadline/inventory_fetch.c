/* inventory_fetch: one farm's inventory, listed whole (GetFarm, ListQueues, ListFleets, ListBudgets, GetBudget) */
#include "deadline/inventory_fetch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aws/credentials/aws_sts.h"
#include "deadline/inventory_api.h"
#include "deadline/pages.h"

static int parse_farm(void *ctx, const char *body, size_t len, char *err, size_t errlen)
{
	return deadline_parse_farm(body, len, ctx, err, errlen);
}

static int parse_budget(void *ctx, const char *body, size_t len, char *err, size_t errlen)
{
	return deadline_parse_budget(body, len, ctx, err, errlen);
}

static int parse_queues(void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen)
{
	return deadline_parse_queues(body, len, ctx, &next->token, err, errlen);
}

static int parse_fleets(void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen)
{
	return deadline_parse_fleets(body, len, ctx, &next->token, err, errlen);
}

static int parse_budgets(void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen)
{
	return deadline_parse_budgets(body, len, ctx, &next->token, err, errlen);
}

/* One GET of path whose answer parse() takes. */
static int get_one(struct api_caller *a, const char *operation, const char *path,
	int (*parse)(void *, const char *, size_t, char *, size_t), void *ctx)
{
	struct api_call c = {.operation = operation, .method = "GET", .path = path, .parse = parse, .ctx = ctx};
	int r;

	if (!path)
		return -ENOMEM;
	r = api_call_run(a, &c);
	if (r != 0)
		api_call_log_failure(a, NULL, &c, r);
	api_call_reset(&c);
	return r;
}

static int cmp_queue(const void *x, const void *y)
{
	return strcmp(((const struct inventory_queue *)x)->id, ((const struct inventory_queue *)y)->id);
}

static int cmp_fleet(const void *x, const void *y)
{
	return strcmp(((const struct inventory_fleet *)x)->id, ((const struct inventory_fleet *)y)->id);
}

static int cmp_budget(const void *x, const void *y)
{
	return strcmp(((const struct inventory_budget *)x)->id, ((const struct inventory_budget *)y)->id);
}

/* Sorted by id, each id once (a listing that changed between pages may repeat one: one series each). */
static void inventory_sort(struct inventory *inv)
{
	size_t n;

	if (inv->n_queues > 1)
		qsort(inv->queues, inv->n_queues, sizeof(*inv->queues), cmp_queue);
	n = 0;
	for (size_t i = 0; i < inv->n_queues; i++) {
		if (n && !strcmp(inv->queues[n - 1].id, inv->queues[i].id))
			inventory_queue_deinit(&inv->queues[i]);
		else
			inv->queues[n++] = inv->queues[i];
	}
	inv->n_queues = n;
	if (inv->n_fleets > 1)
		qsort(inv->fleets, inv->n_fleets, sizeof(*inv->fleets), cmp_fleet);
	n = 0;
	for (size_t i = 0; i < inv->n_fleets; i++) {
		if (n && !strcmp(inv->fleets[n - 1].id, inv->fleets[i].id))
			inventory_fleet_deinit(&inv->fleets[i]);
		else
			inv->fleets[n++] = inv->fleets[i];
	}
	inv->n_fleets = n;
	if (inv->n_budgets > 1)
		qsort(inv->budgets, inv->n_budgets, sizeof(*inv->budgets), cmp_budget);
	n = 0;
	for (size_t i = 0; i < inv->n_budgets; i++) {
		if (n && !strcmp(inv->budgets[n - 1].id, inv->budgets[i].id))
			inventory_budget_deinit(&inv->budgets[i]);
		else
			inv->budgets[n++] = inv->budgets[i];
	}
	inv->n_budgets = n;
}

/*
 * The farm's account and region for deadline_cloud_farm_info: the role's account (from its ARN), else who the
 * credentials are (STS GetCallerIdentity, asked once per provider and kept); the region the farm's calls are
 * signed for. An account STS could not tell is left out (asked again after a backoff), never failing the listing.
 */
static int farm_place(struct api_caller *a, const struct farm_config *farm, struct inventory *inv)
{
	struct aws_caller_identity who;
	const char *account = farm->account_id;
	char why[512] = "";

	/* A failure is logged by the provider, once for every farm it serves. */
	if (!*account && aws_credentials_provider_caller(a->creds, &who, why, sizeof(why)) == 0)
		account = who.account;
	if (*account && !(inv->account_id = strdup(account)))
		return -ENOMEM;
	if (a->region && !(inv->region = strdup(a->region)))
		return -ENOMEM;
	return 0;
}

int inventory_fetch(struct api_caller *a, const struct farm_config *farm, bool budgets, struct inventory **out)
{
	struct inventory *inv = NULL;
	char *path = NULL;
	int r;

	*out = NULL;
	r = inventory_new(&inv, farm->id);
	if (r < 0)
		return r;
	r = farm_place(a, farm, inv);
	if (r < 0)
		goto out;
	path = deadline_farm_path(farm->id, "");
	r = get_one(a, API_OP_GET_FARM, path, parse_farm, inv);
	free(path);
	path = NULL;
	if (r != 0)
		goto out;
	static const struct {
		const char *operation, *tail;
		int (*parse)(
			void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen);
		bool budget;
	} listings[] = {
		{API_OP_LIST_QUEUES, "queues", parse_queues, false},
		{API_OP_LIST_FLEETS, "fleets", parse_fleets, false},
		{API_OP_LIST_BUDGETS, "budgets", parse_budgets, true},
	};
	for (size_t k = 0; r == 0 && k < sizeof(listings) / sizeof(listings[0]); k++) {
		if (listings[k].budget && !budgets)
			break;
		path = deadline_farm_path(farm->id, listings[k].tail);
		/* The inventory's parsers append a page only when all of it parsed: no take() needed. */
		const struct api_pages pg = {
			.operation = listings[k].operation,
			.path = path,
			.parse = listings[k].parse,
			.ctx = inv,
		};
		r = path ? api_pages_run(a, &pg) : -ENOMEM;
		free(path);
		path = NULL;
	}
	for (size_t i = 0; r == 0 && i < inv->n_budgets; i++) {
		path = deadline_budget_path(farm->id, inv->budgets[i].id);
		r = get_one(a, API_OP_GET_BUDGET, path, parse_budget, &inv->budgets[i]);
		free(path);
		path = NULL;
	}
out:
	if (r != 0) {
		inventory_free(inv);
		return r;
	}
	inventory_sort(inv);
	*out = inv;
	return 0;
}
