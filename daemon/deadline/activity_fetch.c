/* activity_fetch: a farm's live state read through the one paginator: each operation whole, or not at all */
#include "deadline/activity_fetch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "deadline/activity_api.h"
#include "deadline/pages.h"
#include "deadline/search_jobs.h"
#include "util/log.h"
#include "util/rfc3339.h"

/* ---- ListWorkers ---- */

struct workers_ctx {
	struct activity_tally page; /* the last answer's workers */
	struct activity_tally *fleet; /* what the taken pages add up to */
};

static int workers_parse(void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen)
{
	struct workers_ctx *w = ctx;

	return activity_api_parse_workers(body, len, &w->page, &next->token, err, errlen);
}

static int workers_take(void *ctx, size_t pages, bool *again)
{
	struct workers_ctx *w = ctx;
	int r = activity_tally_merge(w->fleet, &w->page, &activity_worker_statuses);

	(void)pages;
	(void)again;
	activity_tally_deinit(&w->page);
	/* more unknown statuses than a tally keeps: the answer is at fault, not the exporter */
	return r == ACTIVITY_TOO_MANY ? API_BAD_RESPONSE : r;
}

int activity_fetch_workers(
	struct api_caller *a, const char *farm_id, char *const *fleets, size_t n, struct activity *next)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		size_t before = next->n_fleets;
		struct activity_fleet *f = activity_add_fleet(next, fleets[i]);
		struct workers_ctx w = {.fleet = f ? &f->workers : NULL};
		char *path = activity_api_workers_path(farm_id, fleets[i]);
		const struct api_pages pg = {
			.operation = API_OP_LIST_WORKERS,
			.path = path,
			.quiet_not_found = true,
			.parse = workers_parse,
			.take = workers_take,
			.ctx = &w,
		};

		r = f && path ? api_pages_run(a, &pg) : -ENOMEM;
		activity_tally_deinit(&w.page);
		free(path);
		if (r == API_NOT_FOUND) {
			/* deleted since the fleets were listed: no workers to show, and no series */
			activity_truncate(next, before, next->n_associations, next->n_limits);
			r = 0;
		}
	}
	return r;
}

/* ---- SearchJobs ---- */

struct jobs_ctx {
	struct search_jobs_read read;
	struct search_jobs_page page;
	struct activity *next;
	const char *farm_id;
};

/* The cursor of a threshold read: the threshold itself, which the paginator's cycle check then watches. */
static int jobs_request(void *ctx, const struct api_cursor *at, char **query, char **body, size_t *body_len)
{
	struct jobs_ctx *j = ctx;

	(void)at;
	(void)query;
	return search_jobs_body(&j->read, body, body_len);
}

static int jobs_parse(void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen)
{
	struct jobs_ctx *j = ctx;
	enum search_jobs_step step;
	char when[RFC3339_MS_SIZE];
	int64_t next_ms = 0;
	int r = search_jobs_parse(body, len, &j->page, err, errlen);

	if (r != 0)
		return r;
	/* the cursor is the threshold (so the paginator's cycle check watches it); jobs_take() refuses a stuck one */
	step = search_jobs_next(&j->read, &j->page, &next_ms);
	if (step != SEARCH_JOBS_MORE)
		return 0;
	if (rfc3339_format_ms(next_ms, when) < 0 || !(next->token = strdup(when)))
		return -ENOMEM;
	return 0;
}

static int jobs_add(void *ctx, struct activity_job *job)
{
	return activity_add_job(ctx, job);
}

static int jobs_take(void *ctx, size_t pages, bool *again)
{
	struct jobs_ctx *j = ctx;
	enum search_jobs_step step;
	int r = search_jobs_take(&j->read, &j->page, jobs_add, j->next, &step);

	(void)pages;
	(void)again;
	/* a job of a queue not asked for, or more unknown statuses than a queue keeps: the answer is at fault */
	if (r > 0) {
		log_warning("farm=%s op=" API_OP_SEARCH_JOBS " reason=\"a job of a queue not asked for, or too many "
			    "unknown statuses; giving up\"",
			j->farm_id);
		return API_BAD_RESPONSE;
	}
	if (r == 0 && step == SEARCH_JOBS_STUCK) {
		log_warning("farm=%s op=" API_OP_SEARCH_JOBS
			    " reason=\"a whole page of jobs created in one millisecond: "
			    "the createdAt threshold cannot move; giving up\"",
			j->farm_id);
		return API_BAD_RESPONSE;
	}
	return r;
}

int activity_fetch_jobs(struct api_caller *a, const char *farm_id, char *const *queues, size_t n, struct activity *next)
{
	char *path = search_jobs_path(farm_id);
	int r = path ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < n; i++)
		r = activity_add_queue(next, queues[i]);
	if (r > 0)
		r = API_BAD_RESPONSE;
	activity_queues_sort(next);
	for (size_t i = 0; r == 0 && i < next->n_queues; i += SEARCH_JOBS_QUEUES_MAX) {
		const char *batch[SEARCH_JOBS_QUEUES_MAX];
		size_t k = next->n_queues - i < SEARCH_JOBS_QUEUES_MAX ? next->n_queues - i : SEARCH_JOBS_QUEUES_MAX;
		struct jobs_ctx j = {.next = next, .farm_id = farm_id};

		for (size_t q = 0; q < k; q++)
			batch[q] = next->queues[i + q].id;
		r = search_jobs_read_init(&j.read, batch, k, &activity_active_statuses);
		if (r < 0)
			break;
		const struct api_pages pg = {
			.operation = API_OP_SEARCH_JOBS,
			.method = "POST",
			.path = path,
			.request = jobs_request,
			.parse = jobs_parse,
			.take = jobs_take,
			.ctx = &j,
		};
		r = api_pages_run(a, &pg);
		search_jobs_page_deinit(&j.page);
		search_jobs_read_deinit(&j.read);
	}
	activity_jobs_finish(next);
	free(path);
	return r;
}

/* ---- the lists ---- */

static int associations_parse(
	void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen)
{
	return activity_api_parse_associations(body, len, ctx, &next->token, err, errlen);
}

static int limits_parse(void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen)
{
	return activity_api_parse_limits(body, len, ctx, &next->token, err, errlen);
}

static int endpoints_parse(void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen)
{
	return activity_api_parse_license_endpoints(body, len, ctx, &next->token, err, errlen);
}

/* The lists' parsers append a page only when all of it parsed: no take() needed. */
static int list_all(struct api_caller *a, const char *operation, char *path,
	int (*parse)(void *, const char *, size_t, struct api_cursor *, char *, size_t), void *ctx)
{
	const struct api_pages pg = {.operation = operation, .path = path, .parse = parse, .ctx = ctx};
	int r = path ? api_pages_run(a, &pg) : -ENOMEM;

	free(path);
	return r;
}

int activity_fetch_associations(struct api_caller *a, const char *farm_id, struct activity *next)
{
	int r = list_all(
		a, API_OP_LIST_ASSOCIATIONS, activity_api_associations_path(farm_id), associations_parse, next);

	activity_lists_sort(next);
	return r;
}

int activity_fetch_limits(struct api_caller *a, const char *farm_id, struct activity *next)
{
	int r = list_all(a, API_OP_LIST_LIMITS, activity_api_limits_path(farm_id), limits_parse, next);

	activity_lists_sort(next);
	return r;
}

int activity_fetch_license_endpoints(struct api_caller *a, struct activity_license_endpoints *l)
{
	int r = list_all(a, API_OP_LIST_LICENSE_ENDPOINTS, activity_api_license_endpoints_path(), endpoints_parse, l);

	activity_license_endpoints_sort(l);
	return r;
}
