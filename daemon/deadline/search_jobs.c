/* search_jobs: SearchJobs read as AWS's own client reads it: by createdAt thresholds, repeats dropped (no curl) */
#include "deadline/search_jobs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/model.h"
#include "util/buf.h"
#include "util/rfc3339.h"

int search_jobs_read_init(struct search_jobs_read *r, const char *const *queue_ids, size_t n_queue_ids,
	const struct activity_enum *statuses)
{
	if (!r || !queue_ids || n_queue_ids < 1 || n_queue_ids > SEARCH_JOBS_QUEUES_MAX)
		return -EINVAL;
	/* the ids go into the body unescaped: only well-formed ones */
	for (size_t i = 0; i < n_queue_ids; i++)
		if (model_id_valid(queue_ids[i], "queue-") < 0)
			return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->queue_ids = queue_ids;
	r->n_queue_ids = n_queue_ids;
	r->statuses = statuses;
	return 0;
}

void search_jobs_read_deinit(struct search_jobs_read *r)
{
	if (!r)
		return;
	free(r->seen);
	r->seen = NULL;
	r->seen_cap = r->n_seen = 0;
}

char *search_jobs_path(const char *farm_id)
{
	return deadline_farm_path(farm_id, "search/jobs");
}

int search_jobs_body(const struct search_jobs_read *r, char **body, size_t *len)
{
	struct buf b = {0};
	size_t n_filters = (r && r->statuses ? 1 : 0) + (r && r->has_threshold ? 1 : 0);
	char when[RFC3339_MS_SIZE];
	int rc;

	if (!r || !body || !len || (r->has_threshold && rfc3339_format_ms(r->threshold_ms, when) < 0))
		return -EINVAL;
	rc = buf_puts(&b, "{\"queueIds\":[");
	for (size_t i = 0; rc == 0 && i < r->n_queue_ids; i++)
		rc = buf_printf(&b, "%s\"%s\"", i ? "," : "", r->queue_ids[i]);
	if (rc == 0)
		rc = buf_printf(&b, "],\"itemOffset\":0,\"pageSize\":%d", SEARCH_JOBS_PAGE_SIZE);
	if (rc == 0 && n_filters)
		rc = buf_puts(&b, ",\"filterExpressions\":{\"operator\":\"AND\",\"filters\":[");
	/* the statuses as the group a caller's filter is in AWS's client: one stringListFilter, not 8 filters */
	if (rc == 0 && r->statuses) {
		rc = buf_puts(&b, "{\"groupFilter\":{\"operator\":\"OR\",\"filters\":[{\"stringListFilter\":"
				  "{\"name\":\"TASK_RUN_STATUS\",\"operator\":\"ANY_EQUALS\",\"values\":[");
		for (size_t i = 0; rc == 0 && i < r->statuses->n; i++)
			rc = buf_printf(&b, "%s\"%s\"", i ? "," : "", r->statuses->names[i]);
		if (rc == 0)
			rc = buf_puts(&b, "]}}]}}");
	}
	if (rc == 0 && r->has_threshold)
		rc = buf_printf(&b,
			"%s{\"dateTimeFilter\":{\"name\":\"CREATED_AT\",\"operator\":\"GREATER_THAN_EQUAL_TO\","
			"\"dateTime\":\"%s\"}}",
			r->statuses ? "," : "", when);
	if (rc == 0 && n_filters)
		rc = buf_puts(&b, "]}");
	if (rc == 0)
		rc = buf_puts(&b, ",\"sortExpressions\":[{\"fieldSort\":{\"name\":\"CREATED_AT\","
				  "\"sortOrder\":\"ASCENDING\"}}]}");
	if (rc == 0 && !(*body = buf_take(&b, len)))
		rc = -ENOMEM;
	buf_deinit(&b);
	return rc < 0 ? rc : 0;
}

/* ---- the answer ---- */

enum slot {
	SLOT_NONE,
	SLOT_TOTAL,
	SLOT_JOB, /* object */
	SLOT_JOB_ID,
	SLOT_QUEUE_ID,
	SLOT_NAME,
	SLOT_STATUS,
	SLOT_CREATED_AT,
	SLOT_CREATED_BY,
	SLOT_PRIORITY,
	SLOT_COUNTS, /* object */
	SLOT_COUNT_NAME,
	SLOT_COUNT,
};

static const struct json_member count_member = {NULL, SLOT_COUNT, 0, false, &json_schema_integer};
static const struct json_node counts_node = {
	.kind = JSON_OBJECT, .slot = SLOT_COUNTS, .map_key = SLOT_COUNT_NAME, .map_value = &count_member};

static const struct json_member job_members[] = {
	{"jobId", SLOT_JOB_ID, 0, true, &json_schema_string},
	{"queueId", SLOT_QUEUE_ID, 1, true, &json_schema_string},
	{"name", SLOT_NAME, 2, false, &json_schema_string},
	{"taskRunStatus", SLOT_STATUS, 3, true, &json_schema_string},
	{"createdAt", SLOT_CREATED_AT, 4, true, &json_schema_string},
	{"createdBy", SLOT_CREATED_BY, 5, false, &json_schema_string},
	{"priority", SLOT_PRIORITY, 6, false, &json_schema_integer},
	{"taskRunStatusCounts", SLOT_NONE, 7, false, &counts_node},
};
static const struct json_node job_node = {
	.kind = JSON_OBJECT, .slot = SLOT_JOB, .members = job_members, .n_members = 8};
static const struct json_node jobs_node = {.kind = JSON_ARRAY, .element = &job_node};
static const struct json_member answer_members[] = {
	{"jobs", SLOT_NONE, 0, true, &jobs_node},
	{"totalResults", SLOT_TOTAL, 1, true, &json_schema_integer},
};
static const struct json_node answer_node = {.kind = JSON_OBJECT, .members = answer_members, .n_members = 2};

struct page_ctx {
	struct search_jobs_page *page;
	char count_name[ACTIVITY_TEXT_MAX]; /* the taskRunStatusCounts member whose count comes next */
	size_t count_len;
};

static int page_begin(void *c, int slot, const char **why)
{
	struct page_ctx *ctx = c;
	struct search_jobs_page *page = ctx->page;
	struct activity_job *grown;

	if (slot != SLOT_JOB)
		return 0;
	if (page->n_jobs >= SEARCH_JOBS_PAGE_MAX) {
		*why = "too many jobs";
		return DEADLINE_BAD_JSON;
	}
	grown = realloc(page->jobs, (page->n_jobs + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	page->jobs = grown;
	memset(&grown[page->n_jobs++], 0, sizeof(*grown));
	return 0;
}

/* One count of taskRunStatusCounts: a status named twice is refused rather than counted twice. */
static int page_count(struct page_ctx *ctx, struct activity_job *j, int64_t n, const char **why)
{
	const char *name = ctx->count_name;
	int k = activity_enum_find(&activity_task_statuses, name, ctx->count_len);
	int r;

	if (k >= 0 ? j->tasks.known[k] != 0 : activity_tally_get(&j->tasks, &activity_task_statuses, name) != 0) {
		*why = "a status counted twice";
		return DEADLINE_BAD_SHAPE;
	}
	r = activity_tally_add(&j->tasks, &activity_task_statuses, name, ctx->count_len, n);
	if (r == ACTIVITY_TOO_MANY) {
		*why = "too many unknown statuses";
		return DEADLINE_BAD_SHAPE;
	}
	return r;
}

static int page_value(void *c, int slot, const struct json_value *v, const char **why)
{
	struct page_ctx *ctx = c;
	struct search_jobs_page *page = ctx->page;
	struct activity_job *j = page->n_jobs ? &page->jobs[page->n_jobs - 1] : NULL;

	switch (slot) {
	case SLOT_TOTAL:
		page->total_results = v->i;
		return 0;
	case SLOT_JOB_ID:
		return deadline_value_id(&j->id, v, "job-", why);
	case SLOT_QUEUE_ID:
		return deadline_value_id(&j->queue_id, v, "queue-", why);
	case SLOT_NAME:
		return deadline_value_text(&j->name, v, ACTIVITY_TEXT_MAX);
	case SLOT_STATUS:
		return deadline_value_text(&j->status, v, ACTIVITY_TEXT_MAX);
	case SLOT_CREATED_AT:
		return deadline_value_time_ms(v, &j->created_ms, why);
	case SLOT_CREATED_BY:
		return deadline_value_text(&j->user_id, v, ACTIVITY_TEXT_MAX);
	case SLOT_PRIORITY:
		if (v->i > 100) {
			*why = "a priority above 100";
			return DEADLINE_BAD_SHAPE;
		}
		j->has_priority = true;
		j->priority = v->i;
		return 0;
	case SLOT_COUNT_NAME:
		/* a name past the cut is the same status as its first ACTIVITY_TEXT_MAX bytes */
		ctx->count_len = v->len < sizeof(ctx->count_name) ? v->len : sizeof(ctx->count_name);
		memcpy(ctx->count_name, v->s, ctx->count_len);
		return 0;
	case SLOT_COUNT:
		return page_count(ctx, j, v->i, why);
	}
	return 0;
}

static const struct json_sink page_sink = {.value = page_value, .begin = page_begin};

void search_jobs_page_deinit(struct search_jobs_page *page)
{
	if (!page)
		return;
	for (size_t i = 0; i < page->n_jobs; i++)
		activity_job_deinit(&page->jobs[i]);
	free(page->jobs);
	memset(page, 0, sizeof(*page));
}

int search_jobs_parse(const char *body, size_t len, struct search_jobs_page *page, char *err, size_t errlen)
{
	struct page_ctx *ctx;
	int rc;

	if (!page)
		return -EINVAL;
	search_jobs_page_deinit(page);
	ctx = calloc(1, sizeof(*ctx)); /* 1 KiB of count name: not on a worker's stack */
	if (!ctx)
		return -ENOMEM;
	ctx->page = page;
	rc = json_schema_parse(&answer_node, &page_sink, ctx, body, len, err, errlen);
	free(ctx);
	if (rc != 0)
		search_jobs_page_deinit(page);
	return rc;
}

/* ---- the read ---- */

enum search_jobs_step search_jobs_next(
	const struct search_jobs_read *r, const struct search_jobs_page *page, int64_t *next_ms)
{
	int64_t last;

	if (page->n_jobs == 0 || (int64_t)page->n_jobs >= page->total_results)
		return SEARCH_JOBS_DONE;
	last = page->jobs[page->n_jobs - 1].created_ms;
	/*
	 * Sorted ascending, the page's last createdAt is its latest; asking from a threshold no later than the one
	 * asked would bring this page again. AWS's client gives up the same way.
	 */
	if (r->has_threshold && last <= r->threshold_ms)
		return SEARCH_JOBS_STUCK;
	*next_ms = last;
	return SEARCH_JOBS_MORE;
}

/* The 128 bits of a job id's hex digits (the id was checked well-formed). */
static struct search_jobs_id id_bits(const char *id)
{
	struct search_jobs_id k = {0};
	const char *hex = strchr(id, '-') + 1;

	for (int i = 0; i < 32; i++) {
		uint64_t d = (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
		if (i < 16)
			k.hi = k.hi << 4 | d;
		else
			k.lo = k.lo << 4 | d;
	}
	return k;
}

/* Adds id to the seen set: 0 when new, 1 when seen before, -ENOMEM. */
static int seen_add(struct search_jobs_read *r, const char *id)
{
	struct search_jobs_id k = id_bits(id);
	size_t i;

	if (!k.hi && !k.lo) {
		bool was = r->seen_zero;
		r->seen_zero = true;
		return was ? 1 : 0;
	}
	if ((r->n_seen + 1) * 2 > r->seen_cap) {
		size_t cap = r->seen_cap ? r->seen_cap * 2 : 256;
		struct search_jobs_id *slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return -ENOMEM;
		for (size_t j = 0; j < r->seen_cap; j++) {
			struct search_jobs_id e = r->seen[j];
			if (!e.hi && !e.lo)
				continue;
			/* the digits are the service's random id: any of them spreads the slots */
			for (i = e.lo & (cap - 1); slots[i].hi || slots[i].lo; i = (i + 1) & (cap - 1))
				;
			slots[i] = e;
		}
		free(r->seen);
		r->seen = slots;
		r->seen_cap = cap;
	}
	for (i = k.lo & (r->seen_cap - 1); r->seen[i].hi || r->seen[i].lo; i = (i + 1) & (r->seen_cap - 1))
		if (r->seen[i].hi == k.hi && r->seen[i].lo == k.lo)
			return 1;
	r->seen[i] = k;
	r->n_seen++;
	return 0;
}

int search_jobs_take(struct search_jobs_read *r, struct search_jobs_page *page,
	int (*take_job)(void *ctx, struct activity_job *job), void *ctx, enum search_jobs_step *step)
{
	int64_t next_ms = 0;
	int rc = 0;

	*step = search_jobs_next(r, page, &next_ms);
	for (size_t i = 0; i < page->n_jobs; i++) {
		struct activity_job *j = &page->jobs[i];
		int seen = rc == 0 ? seen_add(r, j->id) : 0;

		if (rc == 0 && seen < 0)
			rc = seen;
		if (rc == 0 && seen == 0) {
			rc = take_job(ctx, j);
			memset(j, 0, sizeof(*j));
			continue;
		}
		r->repeats += rc == 0;
		activity_job_deinit(j);
	}
	search_jobs_page_deinit(page);
	r->pages++;
	if (*step == SEARCH_JOBS_MORE) {
		r->has_threshold = true;
		r->threshold_ms = next_ms;
	}
	return rc;
}
