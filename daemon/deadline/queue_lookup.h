/* queue_lookup: what a farm's refreshes know of its queues: each job's queue (SearchJobs), each queue's name (pure) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "metrics/inventory.h"
#include "metrics/usage_labels.h"

/* Jobs remembered per farm (about 40 bytes each): past it, jobs not yet seen keep an unknown queue. */
#define QUEUE_LOOKUP_JOBS_MAX 1000000
/* Queues remembered per farm (listed now or before): past it, new queues have no name. */
#define QUEUE_LOOKUP_QUEUES_MAX 100000
/*
 * A search for new jobs starts this long before the previous complete search began: SearchJobs is eventually
 * consistent (a job created just before can be missing), and the service's clock may differ from ours.
 */
#define QUEUE_LOOKUP_MARGIN_SECONDS 900

/* What is known of a job's queue. */
enum queue_lookup_known {
	QUEUE_LOOKUP_UNKNOWN, /* never seen: a search may find it */
	QUEUE_LOOKUP_FOUND,
	QUEUE_LOOKUP_MISSING, /* searched for and not found, or a malformed id: its queue stays unknown */
};

/* Outcomes of queue_lookup_add_job() and queue_lookup_add_missing() besides 0. */
enum queue_lookup_outcome {
	QUEUE_LOOKUP_FULL =
		1, /* QUEUE_LOOKUP_JOBS_MAX jobs (or QUEUE_LOOKUP_QUEUES_MAX queues) already: not remembered */
};

struct queue_lookup;

/* An empty lookup. Returns 0 or -ENOMEM. */
int queue_lookup_new(struct queue_lookup **out);
/* NULL-safe. */
void queue_lookup_free(struct queue_lookup *ql);

/*
 * What is known of job_id's queue; with QUEUE_LOOKUP_FOUND, *queue_id (a queue-<32 hex> owned by ql, valid until it
 * is freed).
 */
enum queue_lookup_known queue_lookup_job(const struct queue_lookup *ql, const char *job_id, const char **queue_id);

/*
 * Remembers that job_id is in queue_id (a SearchJobs answer). A job already known keeps its first queue. Returns 0,
 * QUEUE_LOOKUP_FULL, -EINVAL (a malformed id) or -ENOMEM.
 */
int queue_lookup_add_job(struct queue_lookup *ql, const char *job_id, const char *queue_id);

/* Remembers that job_id was searched for and not found (a found job stays found). Returns as queue_lookup_add_job(). */
int queue_lookup_add_missing(struct queue_lookup *ql, const char *job_id);

/*
 * Where a search for jobs not seen yet starts: true with *since (Unix seconds, for a CREATED_AT filter) after a
 * complete search, false before the first one (every job of the farm is listed).
 */
bool queue_lookup_search_from(const struct queue_lookup *ql, int64_t *since);

/*
 * A search that began at began (Unix seconds, this host's clock) read every page for every queue of the farm: every
 * job created before it is known, so the next search starts at began - QUEUE_LOOKUP_MARGIN_SECONDS.
 */
void queue_lookup_searched(struct queue_lookup *ql, int64_t began);

/* The number of jobs remembered (found or missing). */
size_t queue_lookup_jobs(const struct queue_lookup *ql);

/*
 * Takes the queue names of a complete inventory listing: a listed queue gets its name (ill-formed UTF-8 mended as
 * U+FFFD, as labels are); a queue listed before but not now keeps its last name, so that the sessions of a deleted
 * queue keep their labels to the end of the window. A name that did not change stays the same string. Returns 0,
 * QUEUE_LOOKUP_FULL (queues past the cap left without a name) or -ENOMEM (some names not taken).
 */
int queue_lookup_set_names(struct queue_lookup *ql, const struct inventory *inv);

/* Whether queue_lookup_set_names() has taken a listing. */
bool queue_lookup_has_names(const struct queue_lookup *ql);

/* The name of queue_id (owned by ql, valid until the next queue_lookup_set_names()), or NULL when never listed. */
const char *queue_lookup_name(const struct queue_lookup *ql, const char *queue_id);

/*
 * The ids of the queues the last listing had (owned by ql, valid until the next queue_lookup_set_names()), in *ids
 * (malloc'd array; free() it). Returns how many, or -ENOMEM.
 */
int queue_lookup_listed(const struct queue_lookup *ql, const char ***ids);

/* Whether report r finds its queue names through its jobs: a queue_name rule, JOB_ID grouped, QUEUE_ID not. */
bool queue_lookup_by_job(const struct report_config *r);

/*
 * The JOB_ID values of t (a table of r's group_by) whose queue is QUEUE_LOOKUP_UNKNOWN, each once, in *ids (malloc'd
 * array of strings owned by t; free() it); none unless queue_lookup_by_job(r). Returns how many, or -ENOMEM.
 */
int queue_lookup_unknown(
	const struct queue_lookup *ql, const struct report_config *r, struct usage_table *t, const char ***ids);

/* How a merge by derived labels finds a group's queue name in a lookup (queue_lookup_source()). */
struct queue_lookup_groups {
	const struct queue_lookup *ql;
	int queue_k, job_k; /* the group_by indexes of QUEUE_ID and JOB_ID, or -1 */
};

/*
 * The queue source of usage_labels_merge() for report r: each group's queue name by its QUEUE_ID value, else by its
 * job's queue; NULL (the rules' default) for a queue never listed or a job whose queue is not known. g is filled
 * (and must outlive the merge). Returns the source.
 */
struct usage_queue_source queue_lookup_source(
	const struct queue_lookup *ql, const struct report_config *r, struct queue_lookup_groups *g);
