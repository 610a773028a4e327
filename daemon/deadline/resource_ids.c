/* resource_ids: the ids a refresh asks by: the farm's lists or its listings (ListQueues, ListFleets), and the kind
 * "auto" takes from them */
#include "deadline/resource_ids.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "deadline/deadline_api.h"
#include "deadline/pages.h"
#include "deadline/plan.h"
#include "util/log.h"

/* What take() answers once a listing holds more than it needs: the caller's code for "stopped early, on purpose". */
enum listing_outcome {
	LISTING_ENOUGH = 200,
};

struct listing {
	enum resource_kind kind;
	char **ids;
	size_t n;
	size_t enough; /* stop once more than this many are listed (SIZE_MAX: read to the end) */
};

/* deadline_parse_list() appends a page's ids only when the whole page parsed. */
static int listing_parse(void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen)
{
	struct listing *l = ctx;

	return deadline_parse_list(body, len, l->kind, &l->ids, &l->n, &next->token, err, errlen);
}

static int listing_take(void *ctx, size_t pages, bool *again)
{
	const struct listing *l = ctx;

	(void)pages;
	(void)again;
	return l->n > l->enough ? LISTING_ENOUGH : 0;
}

static void free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/*
 * Lists the farm's queues or fleets (ListQueues / ListFleets, every page), or only until more than enough are
 * listed. Returns 0 (l->ids, l->n filled: the caller frees them) or what the paginator returned (l empty).
 */
static int listing_run(struct api_caller *api, const char *farm_id, const char *name, struct listing *l)
{
	char *path = deadline_list_path(farm_id, l->kind);
	const struct api_pages pg = {
		.operation = l->kind == RESOURCE_QUEUES ? API_OP_LIST_QUEUES : API_OP_LIST_FLEETS,
		.report = name,
		.path = path,
		.parse = listing_parse,
		.take = listing_take,
		.ctx = l,
	};
	int r = -ENOMEM;

	l->ids = NULL;
	l->n = 0;
	if (path)
		r = api_pages_run(api, &pg);
	if (r == LISTING_ENOUGH)
		r = 0;
	if (r != 0) {
		free_ids(l->ids, l->n);
		l->ids = NULL;
		l->n = 0;
	}
	free(path);
	return r;
}

/*
 * "auto" with the queues and the fleets "all": every session runs on one queue and one fleet, so either kind covers
 * the same sessions; the fleets (the fewer on a large farm) are listed first, the queues only until they lose.
 */
static int resolve_by_counts(
	struct api_caller *api, const struct farm_config *farm, const char *name, struct resource_ids *out)
{
	struct listing fleets = {.kind = RESOURCE_FLEETS, .enough = SIZE_MAX};
	struct listing queues = {.kind = RESOURCE_QUEUES};
	int r = listing_run(api, farm->id, name, &fleets);

	if (r != 0)
		return r;
	queues.enough = plan_queues_worth_listing(fleets.n, DEADLINE_MAX_RESOURCES_PER_AGGREGATION);
	r = listing_run(api, farm->id, name, &queues);
	if (r != 0) {
		free_ids(fleets.ids, fleets.n);
		return r;
	}
	r = resource_kind_choose(REPORT_RESOURCES_AUTO, true, true, queues.n, fleets.n,
		DEADLINE_MAX_RESOURCES_PER_AGGREGATION, &out->kind);
	if (r == 0 && out->kind == RESOURCE_FLEETS) {
		out->listed = fleets.ids;
		out->n_listed = fleets.n;
		free_ids(queues.ids, queues.n);
	} else if (r == 0) {
		out->listed = queues.ids;
		out->n_listed = queues.n;
		free_ids(fleets.ids, fleets.n);
	} else {
		free_ids(fleets.ids, fleets.n);
		free_ids(queues.ids, queues.n);
		return r;
	}
	log_debug("farm=%s report=%s op=plan resource_kind=%s resources=%zu reason=\"%zu fleets, %s%zu queues listed\"",
		farm->id, name, resource_kind_name(out->kind), out->n_listed, fleets.n,
		queues.n > queues.enough ? "more than " : "", queues.n > queues.enough ? queues.enough : queues.n);
	return 0;
}

int resource_ids_resolve(struct api_caller *api, const struct farm_config *farm, const struct report_config *lead,
	const char *name, struct resource_ids *out)
{
	struct listing l = {.enough = SIZE_MAX};
	int r;

	*out = (struct resource_ids){.kind = RESOURCE_QUEUES};
	if (config_report_kind_counts(farm, lead)) {
		r = resolve_by_counts(api, farm, name, out);
	} else {
		/* config_load() refuses the one case that fails ("auto" with two lists). */
		r = config_report_kind(farm, lead, 0, 0, DEADLINE_MAX_RESOURCES_PER_AGGREGATION, &out->kind);
		if (r < 0)
			return r;
		bool all = out->kind == RESOURCE_QUEUES ? farm->all_queues : farm->all_fleets;
		if (!all) {
			out->ids =
				(const char *const *)(out->kind == RESOURCE_QUEUES ? farm->queue_ids : farm->fleet_ids);
			out->n = out->kind == RESOURCE_QUEUES ? farm->n_queue_ids : farm->n_fleet_ids;
			return 0;
		}
		l.kind = out->kind;
		r = listing_run(api, farm->id, name, &l);
		out->listed = l.ids;
		out->n_listed = l.n;
	}
	if (r != 0) {
		resource_ids_deinit(out);
		return r;
	}
	out->ids = (const char *const *)out->listed;
	out->n = out->n_listed;
	return 0;
}

int resource_ids_list(
	struct api_caller *api, const char *farm_id, enum resource_kind kind, const char *name, char ***ids, size_t *n)
{
	struct listing l = {.kind = kind, .enough = SIZE_MAX};
	int r = listing_run(api, farm_id, name, &l);

	*ids = l.ids;
	*n = l.n;
	return r;
}

void resource_ids_deinit(struct resource_ids *r)
{
	if (!r)
		return;
	free_ids(r->listed, r->n_listed);
	r->listed = NULL;
	r->n_listed = 0;
	r->ids = NULL;
	r->n = 0;
}
