/* queue_search: what a labelled refresh looks up before its merge: the queues' names, each new job's queue */
#include "deadline/queue_search.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "deadline/pages.h"
#include "deadline/search_jobs.h"
#include "util/log.h"
#include "util/monotime.h"

/* Queries of one batch of queues past SearchJobs' result window (10,000 jobs each): 100 of them, a million jobs. */
#define SEARCH_QUERIES_MAX 100

/* Takes the listing's names under the board's lock: a few string comparisons per queue, nothing more. */
static void take_names(void *ctx, const struct inventory *inv)
{
	struct queue_lookup *ql = ctx;

	if (inv)
		queue_lookup_set_names(ql, inv);
}

/* One query's pages (one batch of queues, one CREATED_AT bound), read by itemOffset to the end of its window. */
struct query {
	struct queue_lookup *ql;
	const char *const *queue_ids;
	size_t n_queue_ids;
	bool has_since;
	int64_t since;
	struct search_jobs_page page;
	size_t fresh; /* jobs whose queue was not known before */
	int64_t latest; /* the latest createdAt seen */
	int64_t total; /* the last page's totalResults */
	bool full; /* queue_lookup refused a job: the farm has more than it keeps */
	size_t pages; /* taken, over every query */
};

static int query_request(void *ctx, const struct api_cursor *at, char **query, char **body, size_t *body_len)
{
	struct query *q = ctx;
	const struct search_jobs_request r = {
		.queue_ids = q->queue_ids,
		.n_queue_ids = q->n_queue_ids,
		.item_offset = at->offset,
		.page_size = SEARCH_JOBS_PAGE_SIZE_MAX,
		.has_created_since = q->has_since,
		.created_since = q->since,
	};

	*query = NULL;
	return search_jobs_body(&r, body, body_len);
}

static int query_parse(void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen)
{
	struct query *q = ctx;
	int r;

	search_jobs_page_deinit(&q->page);
	r = search_jobs_parse(body, len, &q->page, err, errlen);
	if (r == 0)
		next->offset = q->page.next_item_offset;
	return r;
}

/* A parsed page: its jobs remembered with their queues (a job seen again changes nothing). */
static int query_take(void *ctx, size_t pages, bool *again)
{
	struct query *q = ctx;

	(void)pages;
	(void)again;
	q->pages++;
	for (size_t i = 0; i < q->page.n_jobs; i++) {
		const struct search_jobs_job *j = &q->page.jobs[i];
		bool known = queue_lookup_job(q->ql, j->job_id, NULL) == QUEUE_LOOKUP_FOUND;
		int r = queue_lookup_add_job(q->ql, j->job_id, j->queue_id);

		if (r < 0)
			return r;
		q->full |= r == QUEUE_LOOKUP_FULL;
		q->fresh += !known && r == 0;
		if (j->created_at != INT64_MIN && j->created_at > q->latest)
			q->latest = j->created_at;
	}
	q->total = q->page.total_results;
	return 0;
}

/* Every job of one batch of queues created at or after the lookup's bound, past the result window. */
static int search_batch(struct api_caller *api, const char *path, struct queue_lookup *ql, const char *const *ids,
	size_t n, size_t *pages)
{
	struct query q = {.ql = ql, .queue_ids = ids, .n_queue_ids = n};
	int r = 0;
	const struct api_pages pg = {
		.operation = API_OP_SEARCH_JOBS,
		.method = "POST",
		.path = path,
		.by_offset = true,
		.request = query_request,
		.parse = query_parse,
		.take = query_take,
		.ctx = &q,
	};

	q.has_since = queue_lookup_search_from(ql, &q.since);
	for (int k = 0; k < SEARCH_QUERIES_MAX; k++) {
		q.fresh = 0;
		q.latest = INT64_MIN;
		q.total = 0;
		r = api_pages_run(api, &pg);
		if (r != 0 || !search_jobs_again(q.total, q.fresh, q.latest, &q.has_since, &q.since))
			break;
	}
	if (q.full)
		log_warning("farm=%s op=%s reason=\"more than %d jobs: the queue of the others stays unknown\"",
			api->farm_id, API_OP_SEARCH_JOBS, QUEUE_LOOKUP_JOBS_MAX);
	search_jobs_page_deinit(&q.page);
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
