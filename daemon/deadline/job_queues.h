/* job_queues: the queue of each job of a farm, as SearchJobs listed it, kept (a job never changes queue) (pure) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Jobs remembered per farm (about 40 bytes each): past it, jobs not yet seen keep an unknown queue. */
#define JOB_QUEUES_MAX 1000000
/*
 * A search for new jobs starts this long before the previous complete search began: SearchJobs is eventually
 * consistent (a job created just before can be missing), and the service's clock may differ from ours.
 */
#define JOB_QUEUES_MARGIN_SECONDS 900

/* What is known of a job's queue. */
enum job_queues_known {
	JOB_QUEUES_UNKNOWN, /* never seen: a search may find it */
	JOB_QUEUES_FOUND,
	JOB_QUEUES_MISSING, /* searched for and not found: its queue stays unknown */
};

/* Outcomes of job_queues_add() besides 0. */
enum job_queues_outcome {
	JOB_QUEUES_FULL = 1, /* JOB_QUEUES_MAX jobs already: not remembered */
};

struct job_queues;

/* An empty cache. Returns 0 or -ENOMEM. */
int job_queues_new(struct job_queues **out);
/* NULL-safe. */
void job_queues_free(struct job_queues *jq);

/*
 * What is known of job_id's queue; with JOB_QUEUES_FOUND, *queue_id (a queue-<32 hex> owned by jq, valid until
 * it is freed). A malformed job id is JOB_QUEUES_MISSING (no search could find it).
 */
enum job_queues_known job_queues_find(const struct job_queues *jq, const char *job_id, const char **queue_id);

/*
 * Remembers that job_id is in queue_id (a SearchJobs answer). A job already known keeps its first queue. Returns 0,
 * JOB_QUEUES_FULL, -EINVAL (a malformed id) or -ENOMEM.
 */
int job_queues_add(struct job_queues *jq, const char *job_id, const char *queue_id);

/* Remembers that job_id was searched for and not found (a found job stays found). Returns as job_queues_add(). */
int job_queues_add_missing(struct job_queues *jq, const char *job_id);

/*
 * Where a search for jobs not seen yet starts: true with *since (Unix seconds, for a CREATED_AT filter) after a
 * complete search, false before the first one (every job of the farm is listed).
 */
bool job_queues_search_from(const struct job_queues *jq, int64_t *since);

/*
 * A search that began at began (Unix seconds, this host's clock) read every page for every queue of the farm: every
 * job created before it is known, so the next search starts at began - JOB_QUEUES_MARGIN_SECONDS.
 */
void job_queues_searched(struct job_queues *jq, int64_t began);

/* The number of jobs remembered (found or missing). */
size_t job_queues_size(const struct job_queues *jq);
