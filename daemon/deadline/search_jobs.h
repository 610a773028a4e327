/* search_jobs: SearchJobs read as AWS's own client reads it: by createdAt thresholds, repeats dropped (no curl) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deadline/deadline_api.h"
#include "metrics/activity.h"

#define API_OP_SEARCH_JOBS "SearchJobs"
#define SEARCH_JOBS_QUEUES_MAX 10 /* queueIds of one request (the model's maximum) */
#define SEARCH_JOBS_PAGE_SIZE 100 /* pageSize (the model's maximum) */
#define SEARCH_JOBS_PAGE_MAX 1000 /* jobs accepted in one answer */

/*
 * One read of SearchJobs over a batch of queues: every job matching the statuses, however many.
 *
 * Offsets stop at 10,000 and a job that changes status between pages shifts every offset after it, so the read
 * never pages by offset. As aws-deadline/deadline-cloud's _list_jobs_by_filter_expression does, it sorts by
 * CREATED_AT ascending and always asks from itemOffset 0: first with no date filter, then with CREATED_AT >= the
 * last createdAt the previous answer held, until an answer holds every job it counts (totalResults). createdAt
 * never changes, so the thresholds cover every job; the jobs at a threshold come again (and so may a job the
 * search index saw twice, eventually consistent), and are dropped by job id.
 */
struct search_jobs_read {
	const char *const *queue_ids; /* 1 to SEARCH_JOBS_QUEUES_MAX, borrowed */
	size_t n_queue_ids;
	const struct activity_enum *statuses; /* taskRunStatus values searched (a nested OR group); NULL: any */
	bool has_threshold; /* after the first page; set before it to read only the jobs created since */
	int64_t threshold_ms; /* CREATED_AT >= this, milliseconds */
	/* the job ids seen in this read (128 bits each: the id's 32 hex digits) */
	struct search_jobs_id {
		uint64_t hi, lo;
	} * seen;
	size_t seen_cap, n_seen;
	bool seen_zero; /* job-000…0, which the table's empty slot cannot hold */
	size_t pages, repeats; /* answers taken, jobs dropped as seen before */
};

/* A read of queue_ids (borrowed, 1 to 10) for statuses (NULL: any job). Returns 0 or -EINVAL. */
int search_jobs_read_init(struct search_jobs_read *r, const char *const *queue_ids, size_t n_queue_ids,
	const struct activity_enum *statuses);
void search_jobs_read_deinit(struct search_jobs_read *r);

/* Path "/2023-10-12/farms/<farm>/search/jobs" (malloc'd, NULL when out of memory or farm_id is empty). */
char *search_jobs_path(const char *farm_id);

/*
 * The JSON body of r's next request (malloc'd, *len set): its queues, itemOffset 0, pageSize 100, the filter
 * {"operator":"AND","filters":[{"groupFilter":{"operator":"OR","filters":[{"stringListFilter": the statuses}]}},
 * {"dateTimeFilter": CREATED_AT >= the threshold}]} (each part only when it applies: at most 2 filters per group,
 * under the model's 3) and the sort by CREATED_AT ascending. Returns 0, -EINVAL, -ENOMEM.
 */
int search_jobs_body(const struct search_jobs_read *r, char **body, size_t *len);

/* One answer, parsed. */
struct search_jobs_page {
	struct activity_job *jobs;
	size_t n_jobs;
	int64_t total_results;
};

/*
 * Parses a SearchJobs answer into page (emptied first). A job needs jobId, queueId, taskRunStatus and createdAt
 * (milliseconds kept); name, createdBy, priority and taskRunStatusCounts (unknown statuses kept as text) are read
 * when present, names cut at ACTIVITY_TEXT_MAX. Returns 0, DEADLINE_BAD_JSON (also: more than
 * SEARCH_JOBS_PAGE_MAX jobs) or DEADLINE_BAD_SHAPE (reason in err), -ENOMEM; on failure page is empty.
 */
int search_jobs_parse(const char *body, size_t len, struct search_jobs_page *page, char *err, size_t errlen);
void search_jobs_page_deinit(struct search_jobs_page *page);

/* What follows a page. */
enum search_jobs_step {
	SEARCH_JOBS_DONE, /* the page held every job its request matched: the read is complete */
	SEARCH_JOBS_MORE, /* ask again from the new threshold */
	SEARCH_JOBS_STUCK, /* a whole page created in the threshold's millisecond: the threshold cannot move */
};

/*
 * What comes after page, in r's state (pure: r is not changed): DONE when the page holds as many jobs as
 * totalResults says (or none), MORE with *next_ms the threshold of the next request (the page's last createdAt),
 * STUCK when that threshold is the one page was asked from.
 */
enum search_jobs_step search_jobs_next(
	const struct search_jobs_read *r, const struct search_jobs_page *page, int64_t *next_ms);

/*
 * Takes page into the read: each job not seen before in it goes to take_job(ctx, job), which takes it whole (even
 * when it fails); the others are freed and counted in r->repeats. Then moves r's threshold as search_jobs_next()
 * says and sets *step. The page is left empty. Returns 0, -ENOMEM, or the first failure of take_job (the jobs after
 * it are freed).
 */
int search_jobs_take(struct search_jobs_read *r, struct search_jobs_page *page,
	int (*take_job)(void *ctx, struct activity_job *job), void *ctx, enum search_jobs_step *step);
