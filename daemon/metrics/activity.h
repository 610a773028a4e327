/* activity: what a farm is doing now (workers, active jobs and tasks, associations, limits) as plain data */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on what one farm's live state holds (the API's pages are bounded by the reader). */
#define ACTIVITY_ITEMS_MAX \
	10000 /* fleets, queues, associations or limits of one farm; license endpoints of a region \
	       */
#define ACTIVITY_TEXT_MAX 1024 /* bytes of a name or an enum value kept */
#define ACTIVITY_OTHER_MAX 16 /* values of an enum this version does not know, in one tally */
#define ACTIVITY_JOBS_MAX 10000 /* per-job rows of one farm (activity.jobs at most) */

/* Expected outcomes (positive). */
enum activity_result {
	ACTIVITY_TOO_MANY = 1, /* more items, or more unknown enum values, than the bounds above */
	ACTIVITY_UNKNOWN_QUEUE, /* a job of a queue that was not declared */
};

/* An enum of the API as this version knows it: its values in the model's order. */
struct activity_enum {
	const char *const *names;
	size_t n;
};

#define ACTIVITY_ENUM_MAX 12 /* values of the largest enum below (TaskRunStatus) */

extern const struct activity_enum activity_worker_statuses; /* WorkerStatus */
extern const struct activity_enum activity_task_statuses; /* TaskRunStatus */
extern const struct activity_enum activity_active_statuses; /* the active TaskRunStatus values (the contract's) */
extern const struct activity_enum activity_association_statuses; /* QueueFleetAssociationStatus */
extern const struct activity_enum activity_license_endpoint_statuses; /* LicenseEndpointStatus */

/* The index of status (len bytes) in e, or -1. */
int activity_enum_find(const struct activity_enum *e, const char *status, size_t len);

/* A value of an enum this version does not know, and its count. */
struct activity_other {
	char *status;
	int64_t n;
};

/* A count per value of one enum: the known values by their index, the others as the API spelled them. */
struct activity_tally {
	int64_t known[ACTIVITY_ENUM_MAX];
	struct activity_other *other;
	size_t n_other;
};

/*
 * Adds n to status (len bytes, cut at ACTIVITY_TEXT_MAX) in t, a tally of e. Returns 0, ACTIVITY_TOO_MANY (a
 * value not known and ACTIVITY_OTHER_MAX others already) or -ENOMEM; t is unchanged on failure.
 */
int activity_tally_add(
	struct activity_tally *t, const struct activity_enum *e, const char *status, size_t len, int64_t n);
/* The count of status in t, a tally of e (0 when absent). */
int64_t activity_tally_get(const struct activity_tally *t, const struct activity_enum *e, const char *status);
/* Adds every count of src to dst, both tallies of e. Returns 0, ACTIVITY_TOO_MANY or -ENOMEM. */
int activity_tally_merge(struct activity_tally *dst, const struct activity_tally *src, const struct activity_enum *e);
/* Frees the unknown values and zeroes t. */
void activity_tally_deinit(struct activity_tally *t);

struct activity_fleet {
	char *id; /* fleet-<32 hex> */
	struct activity_tally workers; /* of activity_worker_statuses */
};

struct activity_queue {
	char *id; /* queue-<32 hex> */
	struct activity_tally jobs; /* active jobs by taskRunStatus, of activity_task_statuses */
	struct activity_tally tasks; /* Σ taskRunStatusCounts of those jobs, of activity_task_statuses */
	bool has_oldest_waiting;
	int64_t oldest_waiting_ms; /* createdAt of the oldest active job with READY tasks and none RUNNING */
};

/* One active job: SearchJobs' JobSearchSummary, as much of it as the exporter shows. */
struct activity_job {
	char *id; /* job-<32 hex> */
	char *queue_id;
	char *name; /* any text, cut at ACTIVITY_TEXT_MAX */
	char *user_id; /* createdBy, or NULL */
	char *status; /* taskRunStatus */
	bool has_priority;
	int64_t priority; /* 0 to 100 */
	int64_t created_ms; /* createdAt, milliseconds since the epoch */
	struct activity_tally tasks; /* taskRunStatusCounts, of activity_task_statuses */
};

struct activity_association {
	char *queue_id;
	char *fleet_id;
	char *status; /* QueueFleetAssociationStatus */
};

struct activity_limit {
	char *id; /* limit-<32 hex> */
	char *name; /* displayName */
	char *amount_name; /* amountRequirementName */
	int64_t current; /* currentCount */
	int64_t max; /* maxCount, -1: unlimited */
};

/* The parts of a farm's live state, each from its own operation: a round replaces the parts it read whole. */
enum activity_part {
	ACTIVITY_WORKERS = 1 << 0, /* ListWorkers: fleets */
	ACTIVITY_JOBS = 1 << 1, /* SearchJobs: queues and jobs */
	ACTIVITY_ASSOCIATIONS = 1 << 2, /* ListQueueFleetAssociations */
	ACTIVITY_LIMITS = 1 << 3, /* ListLimits */
	ACTIVITY_PARTS = (1 << 4) - 1,
};

/* One farm's live state. */
struct activity {
	char *farm_id;
	unsigned parts; /* enum activity_part bits of the parts that hold figures */
	size_t jobs_cap; /* per-job rows kept: the most recently created active jobs (activity.jobs) */
	struct activity_fleet *fleets;
	size_t n_fleets;
	struct activity_queue *queues; /* sorted by id once activity_queues_sort() ran */
	size_t n_queues;
	struct activity_job *jobs; /* a min-heap by (created_ms, id) while adding; newest first once finished */
	size_t n_jobs, jobs_room; /* rows kept, rows allocated (at most jobs_cap) */
	struct activity_association *associations;
	size_t n_associations;
	struct activity_limit *limits;
	size_t n_limits;
	bool jobs_sorted;
};

/* An empty live state of farm_id keeping at most jobs_cap per-job rows (<= ACTIVITY_JOBS_MAX). 0 or -ENOMEM. */
int activity_new(struct activity **out, const char *farm_id, size_t jobs_cap);
/* NULL-safe. */
void activity_free(struct activity *a);

/* Appends a fleet (its id copied) with no workers. Returns it, or NULL (out of memory, or too many fleets). */
struct activity_fleet *activity_add_fleet(struct activity *a, const char *id);
/* Appends an association or a limit, zeroed. Returns it, or NULL. */
struct activity_association *activity_add_association(struct activity *a);
struct activity_limit *activity_add_limit(struct activity *a);
/*
 * Sorts the associations (by queue, then fleet) and the limits (by id), each once: a list that changed between
 * its pages may show an item twice, and the exposition format allows one series per label set.
 */
void activity_lists_sort(struct activity *a);
/* Frees what a failed page appended beyond the counts given. */
void activity_truncate(struct activity *a, size_t n_fleets, size_t n_associations, size_t n_limits);

/* Appends a queue (its id copied) with no jobs; call activity_queues_sort() before adding jobs. 0, -ENOMEM, TOO_MANY.
 */
int activity_add_queue(struct activity *a, const char *id);
/* Sorts the queues by id and drops repeated ones, so that jobs find theirs. */
void activity_queues_sort(struct activity *a);
/* The queue id, or NULL (after activity_queues_sort()). */
struct activity_queue *activity_find_queue(struct activity *a, const char *id);

/*
 * Counts the active job j in its queue (status, tasks, the oldest waiting job) and keeps its row when it is among
 * the jobs_cap most recently created so far. j is taken whole (its fields are the model's or freed), even on
 * failure. A job whose status is a known inactive one (CANCELED, FAILED, SUCCEEDED, NOT_COMPATIBLE: stale in the
 * search index) is not counted. Returns 0, ACTIVITY_UNKNOWN_QUEUE, ACTIVITY_TOO_MANY, -EINVAL (no id or status) or
 * -ENOMEM; after a failure the queue's counts are not to be shown (the round's jobs part is dropped).
 */
int activity_add_job(struct activity *a, struct activity_job *j);
/* Orders the kept rows newest first (created_ms, then id, descending); no more jobs may be added. */
void activity_jobs_finish(struct activity *a);
/* Frees j's fields and zeroes it. */
void activity_job_deinit(struct activity_job *j);

/*
 * The state after a round: the parts of next named in read (those whose operations all succeeded) replace the
 * same parts of *cur, the others stay as they were; next is freed. *cur NULL: next becomes it, with only the
 * parts it read. Never fails.
 */
void activity_merge(struct activity **cur, struct activity *next, unsigned read);

/* The license endpoints of one region (account-wide: listed once per region, not per farm). */
struct activity_license_endpoint {
	char *id; /* le-<32 hex> */
	char *status; /* LicenseEndpointStatus */
};

struct activity_license_endpoints {
	char *region;
	struct activity_license_endpoint *items;
	size_t n;
};

/* An empty list of region. Returns 0 or -ENOMEM. */
int activity_license_endpoints_new(struct activity_license_endpoints **out, const char *region);
/* NULL-safe. */
void activity_license_endpoints_free(struct activity_license_endpoints *l);
/* Appends a zeroed endpoint (at most ACTIVITY_ITEMS_MAX). Returns it, or NULL. */
struct activity_license_endpoint *activity_add_license_endpoint(struct activity_license_endpoints *l);
/* Sorts the endpoints by id, each once (as activity_lists_sort()). */
void activity_license_endpoints_sort(struct activity_license_endpoints *l);
/* Frees what a failed page appended beyond n. */
void activity_license_endpoints_truncate(struct activity_license_endpoints *l, size_t n);
