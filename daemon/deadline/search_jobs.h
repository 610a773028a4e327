/* search_jobs: SearchJobs' request body and its answer parsed (pure; the one SearchJobs builder and parser) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deadline/deadline_api.h"

#define API_OP_SEARCH_JOBS "SearchJobs"

/* The model's and the service's limits. */
#define SEARCH_JOBS_QUEUES_MAX 10 /* queueIds per request */
#define SEARCH_JOBS_PAGE_SIZE_MAX 100 /* pageSize */
#define SEARCH_JOBS_OFFSET_MAX 10000 /* itemOffset: past it, ask again from a later createdAt */
#define SEARCH_JOBS_STATUSES_MAX 16 /* values of one stringListFilter */
/* What a parser accepts of one answer: jobs per page (the model says 100), bytes of a name kept. */
#define SEARCH_JOBS_PAGE_JOBS_MAX 1000
#define SEARCH_JOBS_NAME_MAX 1024

/*
 * One request: the jobs of 1 to 10 queues, sorted by createdAt (ascending: the order AWS's own client reads past
 * the 10,000th item in), optionally only those created at or after created_since and those whose taskRunStatus is
 * one of statuses.
 */
struct search_jobs_request {
	const char *const *queue_ids; /* 1 to SEARCH_JOBS_QUEUES_MAX, each queue-<32 hex> */
	size_t n_queue_ids;
	int64_t item_offset; /* 0 to SEARCH_JOBS_OFFSET_MAX */
	int page_size; /* 1 to SEARCH_JOBS_PAGE_SIZE_MAX */
	bool has_created_since;
	int64_t created_since; /* Unix seconds: a CREATED_AT GREATER_THAN_EQUAL_TO filter */
	const char *const *statuses; /* TaskRunStatus values ([A-Z_]+), or NULL: any */
	size_t n_statuses; /* 0 to SEARCH_JOBS_STATUSES_MAX */
};

/* Path "/2023-10-12/farms/<farm>/search/jobs" (malloc'd; NULL for no farm or out of memory). */
char *search_jobs_path(const char *farm_id);

/* The JSON body of r (malloc'd, *len set). Returns 0, -EINVAL (r outside the limits above) or -ENOMEM. */
int search_jobs_body(const struct search_jobs_request *r, char **body, size_t *len);

/* One JobSearchSummary: the members this exporter reads (NULL, or INT64_MIN, when absent). */
struct search_jobs_job {
	char *job_id; /* job-<32 hex> */
	char *queue_id; /* queue-<32 hex> */
	char *name; /* any text, cut at SEARCH_JOBS_NAME_MAX bytes */
	char *task_run_status; /* as the API spelled it */
	int64_t created_at; /* Unix seconds (the fraction dropped) */
};

struct search_jobs_page {
	struct search_jobs_job *jobs;
	size_t n_jobs;
	int64_t next_item_offset; /* -1 when absent: the last page */
	int64_t total_results; /* -1 when absent */
};

/*
 * Parses a SearchJobs answer into *page (overwritten, not freed first; deinit it after). Every job needs jobId and
 * queueId, both well-formed, and a createdAt that parses when present. Returns 0, DEADLINE_BAD_JSON or
 * DEADLINE_BAD_SHAPE (reason in err), -ENOMEM; on failure *page is empty.
 */
int search_jobs_parse(const char *body, size_t len, struct search_jobs_page *page, char *err, size_t errlen);

/* Frees what page holds and empties it. NULL-safe. */
void search_jobs_page_deinit(struct search_jobs_page *page);

/*
 * After one query read by itemOffset to the end of its result window: whether to ask again from a later createdAt,
 * as AWS's client reads past the window's 10,000 jobs. total: the last page's totalResults; fresh: how many jobs the
 * query brought that were not known before; latest: the latest createdAt it saw. A window holding fewer than a
 * page of jobs was not cut; a query that brought nothing new, or no later createdAt, ends the reading. When true,
 * *has_since and *since are the next query's CREATED_AT bound (latest: the jobs of that second come again, and are
 * known).
 */
bool search_jobs_again(int64_t total, size_t fresh, int64_t latest, bool *has_since, int64_t *since);
