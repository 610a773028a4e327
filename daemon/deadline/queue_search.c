/* queue_search: what a labelled refresh looks up before its merge: the queues' names, each new job's queue */
#include "deadline/queue_search.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadline/pages.h"
#include "deadline/search_jobs.h"
#include "metrics/activity.h"
#include "util/log.h"
#include "util/monotime.h"
#include "util/rfc3339.h"

/* Takes the names of the listing the board holds a reference to: a few string comparisons per queue. */
static void take_names(void *ctx, const struct inventory *inv)
{
	struct queue_lookup *ql = ctx;

	if (inv)
		queue_lookup_set_names(ql, inv);
}

/* One batch of queues read as AWS's client reads it (deadline/search_jobs): from a createdAt threshold on. */
struct query {
	struct queue_lookup *ql;
	struct search_jobs_read read;
	struct search_jobs_page page;
	const char *farm_id;
	bool full; /* queue_lookup refused a job: the farm has more than it keeps */
	size_t pages;
};

static int query_request(void *ctx, const struct api_cursor *at, char **query, char **body, size_t *body_len)
{
	struct query *q = ctx;

	(void)at;
	*query = NULL;
	return search_jobs_body(&q->read, body, body_len);
}

/* The cursor is the next threshold, so that the paginator's cycle check watches it. */
static int query_parse(void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen)
{
	struct query *q = ctx;
	char when[RFC3339_MS_SIZE];
	int64_t next_ms = 0;
	int r = search_jobs_parse(body, len, &q->page, err, errlen);

	if (r != 0 || search_jobs_next(&q->read, &q->page, &next_ms) != SEARCH_JOBS_MORE)
		return r;
	if (rfc3339_format_ms(next_ms, when) < 0 || !(next->token = strdup(when)))
		return -ENOMEM;
	return 0;
}

/* A job the read had not seen: its queue remembered (a job seen before changes nothing). */
static int take_job(void *ctx, struct activity_job *job)
{
	struct query *q = ctx;
	int r = queue_lookup_add_job(q->ql, job->id, job->queue_id);

	activity_job_deinit(job);
	q->full |= r == QUEUE_LOOKUP_FULL;
	return r < 0 ? r : 0;
}

static int query_take(void *ctx, size_t pages, bool *again)
{
	struct query *q = ctx;
	enum search_jobs_step step;
	int r;

	(void)pages;
	(void)again;
	q->pages++;
	r = search_jobs_take(&q->read, &q->page, take_job, q, &step);
	if (r == 0 && step == SEARCH_JOBS_STUCK) {
		log_warning("farm=%s op=" API_OP_SEARCH_JOBS
			    " reason=\"a whole page of jobs created in one millisecond: "
			    "the createdAt threshold cannot move; giving up\"",
			q->farm_id);
		return API_BAD_RESPONSE;
	}
	return r;
}

/* Every job of one batch of queues created at or after the lookup's bound. */
static int search_batch(struct api_caller *api, const char *path, struct queue_lookup *ql, const char *const *ids,
	size_t n, size_t *pages)
{
	struct query q = {.ql = ql, .farm_id = api->farm_id};
	int64_t since;
	int r = search_jobs_read_init(&q.read, ids, n, NULL);
	const struct api_pages pg = {
		.operation = API_OP_SEARCH_JOBS,
		.method = "POST",
		.path = path,
		.request = query_request,
		.parse = query_parse,
		.take = query_take,
		.ctx = &q,
	};

	if (r < 0)
		return r;
	if (queue_lookup_search_from(ql, &since)) {
		q.read.has_threshold = true;
		q.read.threshold_ms = since * 1000;
	}
	r = api_pages_run(api, &pg);
	if (q.full)
		log_warning("farm=%s op=%s reason=\"more than %d jobs: the queue of the others stays unknown\"",
			api->farm_id, API_OP_SEARCH_JOBS, QUEUE_LOOKUP_JOBS_MAX);
	search_jobs_page_deinit(&q.page);
	search_jobs_read_deinit(&q.read);
	*pages += q.pages;
	return r;
}

/* SearchJobs over every listed queue, 10 at a time, then the jobs still not found remembered as missing. */
static int search_jobs(struct api_caller *api, const char *farm_id, struct queue_lookup *ql, const char *const *wanted,
	size_t n_wanted)
{
	const char **ids = NULL;
	int64_t began = (int64_t)time(NULL), since = 0;
	bool incremental = queue_lookup_search_from(ql, &since);
	double t0 = monotime_s();
	size_t pages = 0;
	char *path = search_jobs_path(farm_id);
	int n = queue_lookup_listed(ql, &ids), r = 0;

	if (!path || n < 0) {
		r = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n && r == 0; i += SEARCH_JOBS_QUEUES_MAX)
		r = search_batch(api, path, ql, ids + i,
			(size_t)(n - i < SEARCH_JOBS_QUEUES_MAX ? n - i : SEARCH_JOBS_QUEUES_MAX), &pages);
	if (r != 0)
		goto out;
	queue_lookup_searched(ql, began);
	log_info("farm=%s op=%s status=ok reason=\"%s\" resources=%d pages=%zu jobs=%zu duration=%.3fs", farm_id,
		API_OP_SEARCH_JOBS, incremental ? "the queues of new jobs" : "the queue of every job of the farm", n,
		pages, queue_lookup_jobs(ql), monotime_s() - t0);
	for (size_t i = 0; i < n_wanted; i++) {
		if (queue_lookup_job(ql, wanted[i], NULL) != QUEUE_LOOKUP_UNKNOWN)
			continue;
		/* full: not remembered, and asked for again next time (within the same bound) */
		r = queue_lookup_add_missing(ql, wanted[i]);
		if (r < 0)
			goto out;
		r = 0;
	}
out:
	free(ids);
	free(path);
	return r;
}

int queue_search_prepare(struct api_caller *api, struct inventory_board *board, const char *farm_id,
	struct queue_lookup *ql, const struct report_config *rc, struct usage_table *t)
{
	const char **unknown = NULL;
	bool by_queue = false;
	int n, r;

	for (size_t i = 0; i < rc->n_labels; i++)
		by_queue |= rc->labels[i].source == RELABEL_SOURCE_QUEUE_NAME;
	if (!by_queue)
		return 0;
	if (board)
		inventory_board_read(board, farm_id, take_names, ql);
	if (!queue_lookup_has_names(ql))
		return QUEUE_SEARCH_NO_NAMES;
	n = queue_lookup_unknown(ql, rc, t, &unknown);
	if (n < 0)
		return n;
	r = n > 0 ? search_jobs(api, farm_id, ql, unknown, (size_t)n) : 0;
	free(unknown);
	return r;
}
