/* search_jobs: SearchJobs' request body and its answer parsed (pure; the one SearchJobs builder and parser) */
#include "deadline/search_jobs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/model.h"
#include "util/buf.h"
#include "util/rfc3339.h"

char *search_jobs_path(const char *farm_id)
{
	return deadline_farm_path(farm_id, "search/jobs");
}

/* A TaskRunStatus as the body may carry it without escaping: [A-Z_]+. */
static bool status_valid(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || *s == '_'))
			return false;
	return true;
}

static bool request_valid(const struct search_jobs_request *r)
{
	if (!r || !r->queue_ids || r->n_queue_ids < 1 || r->n_queue_ids > SEARCH_JOBS_QUEUES_MAX ||
		r->item_offset < 0 || r->item_offset > SEARCH_JOBS_OFFSET_MAX || r->page_size < 1 ||
		r->page_size > SEARCH_JOBS_PAGE_SIZE_MAX || r->n_statuses > SEARCH_JOBS_STATUSES_MAX ||
		(r->n_statuses && !r->statuses))
		return false;
	/* Ids and statuses are checked, so the body needs no escaping. */
	for (size_t i = 0; i < r->n_queue_ids; i++)
		if (!r->queue_ids[i] || model_id_valid(r->queue_ids[i], "queue-") < 0)
			return false;
	for (size_t i = 0; i < r->n_statuses; i++)
		if (!status_valid(r->statuses[i]))
			return false;
	return true;
}

/* The filters, AND-ed: a group of at most 3 (the service's limit), here at most 2. */
static int filters_append(struct buf *b, const struct search_jobs_request *r)
{
	char since[RFC3339_SIZE];
	const char *sep = "";
	int rc;

	if (!r->has_created_since && !r->n_statuses)
		return 0;
	rc = buf_puts(b, ",\"filterExpressions\":{\"operator\":\"AND\",\"filters\":[");
	if (rc == 0 && r->has_created_since) {
		if (rfc3339_format(r->created_since, since) < 0)
			return -EINVAL;
		rc = buf_printf(b,
			"{\"dateTimeFilter\":{\"name\":\"CREATED_AT\",\"operator\":\"GREATER_THAN_EQUAL_TO\","
			"\"dateTime\":\"%s\"}}",
			since);
		sep = ",";
	}
	if (rc == 0 && r->n_statuses) {
		rc = buf_printf(b,
			"%s{\"stringListFilter\":{\"name\":\"TASK_RUN_STATUS\",\"operator\":\"ANY_EQUALS\",\"values\":"
			"[",
			sep);
		for (size_t i = 0; rc == 0 && i < r->n_statuses; i++)
			rc = buf_printf(b, "%s\"%s\"", i ? "," : "", r->statuses[i]);
		if (rc == 0)
			rc = buf_puts(b, "]}}");
	}
	return rc == 0 ? buf_puts(b, "]}") : rc;
}

int search_jobs_body(const struct search_jobs_request *r, char **body, size_t *len)
{
	struct buf b = {0};
	int rc;

	if (!body || !len)
		return -EINVAL;
	*body = NULL;
	*len = 0;
	if (!request_valid(r))
		return -EINVAL;
	rc = buf_puts(&b, "{\"queueIds\":[");
	for (size_t i = 0; rc == 0 && i < r->n_queue_ids; i++)
		rc = buf_printf(&b, "%s\"%s\"", i ? "," : "", r->queue_ids[i]);
	if (rc == 0)
		rc = buf_printf(&b, "],\"itemOffset\":%lld,\"pageSize\":%d", (long long)r->item_offset, r->page_size);
	if (rc == 0)
		rc = filters_append(&b, r);
	if (rc == 0)
		rc = buf_puts(&b, ",\"sortExpressions\":[{\"fieldSort\":{\"name\":\"CREATED_AT\",\"sortOrder\":"
				  "\"ASCENDING\"}}]}");
	if (rc == 0) {
		*body = buf_take(&b, len);
		rc = *body ? 0 : -ENOMEM;
	}
	buf_deinit(&b);
	return rc == -EMSGSIZE ? -ENOMEM : rc;
}

/* ---- the answer ---- */

enum {
	SLOT_NONE,
	SLOT_JOB, /* object */
	SLOT_JOB_ID,
	SLOT_QUEUE_ID,
	SLOT_NAME,
	SLOT_TASK_RUN_STATUS,
	SLOT_CREATED_AT,
	SLOT_NEXT_ITEM_OFFSET,
	SLOT_TOTAL_RESULTS,
};

static const struct json_node string_node = {.kind = JSON_STRING};
static const struct json_node integer_node = {.kind = JSON_INTEGER};

static const struct json_member job_members[] = {
	{"jobId", SLOT_JOB_ID, 0, true, &string_node},
	{"queueId", SLOT_QUEUE_ID, 1, true, &string_node},
	{"name", SLOT_NAME, 2, false, &string_node},
	{"taskRunStatus", SLOT_TASK_RUN_STATUS, 3, false, &string_node},
	{"createdAt", SLOT_CREATED_AT, 4, false, &string_node},
};
static const struct json_node job_node = {
	.kind = JSON_OBJECT, .slot = SLOT_JOB, .members = job_members, .n_members = 5};
static const struct json_node jobs_node = {.kind = JSON_ARRAY, .element = &job_node};
static const struct json_member page_members[] = {
	{"jobs", SLOT_NONE, 0, true, &jobs_node},
	{"nextItemOffset", SLOT_NEXT_ITEM_OFFSET, 1, false, &integer_node},
	{"totalResults", SLOT_TOTAL_RESULTS, 2, false, &integer_node},
};
static const struct json_node page_node = {.kind = JSON_OBJECT, .members = page_members, .n_members = 3};

struct parse_ctx {
	struct search_jobs_page page;
	size_t cap;
};

static void job_deinit(struct search_jobs_job *j)
{
	free(j->job_id);
	free(j->queue_id);
	free(j->name);
	free(j->task_run_status);
}

void search_jobs_page_deinit(struct search_jobs_page *page)
{
	if (!page)
		return;
	for (size_t i = 0; i < page->n_jobs; i++)
		job_deinit(&page->jobs[i]);
	free(page->jobs);
	memset(page, 0, sizeof(*page));
	page->next_item_offset = -1;
	page->total_results = -1;
}

/* An id member: well-formed (it goes into requests and labels) and without a NUL inside. */
static int id_value(char **dst, const struct json_value *v, const char *prefix, const char **why)
{
	int rc = json_schema_set_string(dst, v);

	if (rc < 0)
		return rc;
	if (strlen(*dst) != v->len || model_id_valid(*dst, prefix) < 0) {
		*why = strcmp(prefix, "job-") == 0 ? "not a job id" : "not a queue id";
		return DEADLINE_BAD_SHAPE;
	}
	return 0;
}

static int job_value(struct search_jobs_job *j, int slot, const struct json_value *v, const char **why)
{
	struct json_value cut = *v;
	char *text = NULL;
	int rc;

	switch (slot) {
	case SLOT_JOB_ID:
		return id_value(&j->job_id, v, "job-", why);
	case SLOT_QUEUE_ID:
		return id_value(&j->queue_id, v, "queue-", why);
	case SLOT_NAME:
		if (cut.len > SEARCH_JOBS_NAME_MAX)
			cut.len = SEARCH_JOBS_NAME_MAX;
		return json_schema_set_string(&j->name, &cut);
	case SLOT_TASK_RUN_STATUS:
		return json_schema_set_string(&j->task_run_status, v);
	case SLOT_CREATED_AT:
		rc = json_schema_set_string(&text, v);
		if (rc == 0 && rfc3339_parse(text, &j->created_at) < 0) {
			*why = "createdAt: not an RFC 3339 date-time";
			rc = DEADLINE_BAD_SHAPE;
		}
		free(text);
		return rc;
	}
	return 0;
}

static int parse_value(void *c, int slot, const struct json_value *v, const char **why)
{
	struct parse_ctx *ctx = c;
	struct search_jobs_page *pg = &ctx->page;

	switch (slot) {
	case SLOT_NEXT_ITEM_OFFSET:
		pg->next_item_offset = v->i;
		return 0;
	case SLOT_TOTAL_RESULTS:
		pg->total_results = v->i;
		return 0;
	}
	return pg->n_jobs ? job_value(&pg->jobs[pg->n_jobs - 1], slot, v, why) : 0;
}

static int parse_begin(void *c, int slot, const char **why)
{
	struct parse_ctx *ctx = c;
	struct search_jobs_page *pg = &ctx->page;

	if (slot != SLOT_JOB)
		return 0;
	if (pg->n_jobs >= SEARCH_JOBS_PAGE_JOBS_MAX) {
		*why = "too many jobs in one page";
		return DEADLINE_BAD_JSON;
	}
	if (pg->n_jobs == ctx->cap) {
		size_t cap = ctx->cap ? 2 * ctx->cap : 16;
		struct search_jobs_job *jobs = realloc(pg->jobs, cap * sizeof(*jobs));
		if (!jobs)
			return -ENOMEM;
		pg->jobs = jobs;
		ctx->cap = cap;
	}
	pg->jobs[pg->n_jobs++] = (struct search_jobs_job){.created_at = INT64_MIN};
	return 0;
}

static const struct json_sink parse_sink = {.value = parse_value, .begin = parse_begin};

int search_jobs_parse(const char *body, size_t len, struct search_jobs_page *page, char *err, size_t errlen)
{
	struct parse_ctx ctx = {.page = {.next_item_offset = -1, .total_results = -1}};
	int rc;

	if (!page)
		return -EINVAL;
	*page = ctx.page;
	rc = json_schema_parse(&page_node, &parse_sink, &ctx, body, len, err, errlen);
	if (rc) {
		search_jobs_page_deinit(&ctx.page);
		return rc;
	}
	*page = ctx.page;
	return 0;
}

bool search_jobs_again(int64_t total, size_t fresh, int64_t latest, bool *has_since, int64_t *since)
{
	if (total < SEARCH_JOBS_PAGE_SIZE_MAX || fresh == 0 || latest == INT64_MIN || (*has_since && latest <= *since))
		return false;
	*has_since = true;
	*since = latest;
	return true;
}
