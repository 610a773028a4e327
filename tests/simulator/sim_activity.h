/* sim_activity: the farm's live state (workers, jobs, queue-fleet associations, limits, license endpoints) by step */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_api.h"

/* WorkerStatus, in the model's order. */
enum sim_worker_status {
	SIM_WORKER_CREATED,
	SIM_WORKER_STARTED,
	SIM_WORKER_STOPPING,
	SIM_WORKER_STOPPED,
	SIM_WORKER_NOT_RESPONDING,
	SIM_WORKER_NOT_COMPATIBLE,
	SIM_WORKER_RUNNING,
	SIM_WORKER_IDLE,
	SIM_WORKER_STATUS_COUNT,
};

/* TaskRunStatus, in the model's order: the first eight are the "active" ones of the contract. */
enum sim_task_status {
	SIM_TASK_PENDING,
	SIM_TASK_READY,
	SIM_TASK_ASSIGNED,
	SIM_TASK_STARTING,
	SIM_TASK_SCHEDULED,
	SIM_TASK_INTERRUPTING,
	SIM_TASK_RUNNING,
	SIM_TASK_SUSPENDED,
	SIM_TASK_CANCELED,
	SIM_TASK_FAILED,
	SIM_TASK_SUCCEEDED,
	SIM_TASK_NOT_COMPATIBLE,
	SIM_TASK_STATUS_COUNT,
};

extern const char *const sim_worker_status_names[SIM_WORKER_STATUS_COUNT];
extern const char *const sim_task_status_names[SIM_TASK_STATUS_COUNT];

/* The index of a TaskRunStatus name, or -1. */
int sim_task_status_parse(const char *s);

/* A deterministic 64-bit hash of the seed and three numbers (splitmix rounds). */
uint64_t sim_live_hash(uint64_t seed, uint64_t a, uint64_t b, uint64_t c);

/* The activity clock's step now (takes the lock): floor(seconds since start / --activity-step) unless pinned. */
uint64_t sim_activity_step(struct sim_state *st);

/* ---- workers (sim_live.c) ---- */

struct sim_worker {
	char id[7 + SIM_HEX_ID_LEN + 1]; /* "worker-" + hex */
	enum sim_worker_status status;
	int64_t created_ms;
	uint32_t slot; /* its place in the fleet: the host's address and instance type come from it */
};

/*
 * The workers ListWorkers lists for fleet (of farm) at step, in slot order. *out is malloc'd (the
 * caller frees it, also when *n is 0). Returns 0 or -ENOMEM.
 */
int sim_fleet_workers(
	const struct sim_state *st, size_t farm, size_t fleet, uint64_t step, struct sim_worker **out, size_t *n);
/* One WorkerSummary. */
void sim_worker_json(
	struct sim_json *j, const struct sim_state *st, size_t farm, size_t fleet, const struct sim_worker *wk);

/* ---- queue-fleet associations, limits, license endpoints (sim_live.c) ---- */

/* Whether the queue is one the simulator leaves without an ACTIVE association (its jobs wait, never run). */
bool sim_queue_stalled(const struct sim_world *w, size_t farm, size_t queue);

struct sim_association {
	uint32_t queue, fleet;
	const char *status; /* QueueFleetAssociationStatus */
	int64_t created_ms, updated_ms; /* updated_ms -1: never */
};

/* The farm's associations at step (by queue, then fleet). *out malloc'd. Returns 0 or -ENOMEM. */
int sim_farm_associations(
	const struct sim_state *st, size_t farm, uint64_t step, struct sim_association **out, size_t *n);
/* One QueueFleetAssociationSummary. */
void sim_association_json(struct sim_json *j, const struct sim_state *st, size_t farm, const struct sim_association *a);

#define SIM_LIMITS_MAX 8

struct sim_limit {
	char id[6 + SIM_HEX_ID_LEN + 1]; /* "limit-" + hex */
	const char *name, *amount_requirement;
	long long max_count; /* -1: unlimited */
	long long current_count;
	int64_t created_ms, updated_ms; /* updated_ms -1: never */
};

/* The farm's limits at step into out (SIM_LIMITS_MAX). Returns how many, or -EIO. */
int sim_farm_limits(const struct sim_state *st, size_t farm, uint64_t step, struct sim_limit *out);
/* One LimitSummary. */
void sim_limit_json(struct sim_json *j, const struct sim_state *st, size_t farm, const struct sim_limit *l);

#define SIM_LICENSE_ENDPOINTS_MAX 8

struct sim_license_endpoint {
	char id[3 + SIM_HEX_ID_LEN + 1]; /* "le-" + hex */
	char vpc_id[4 + 17 + 1];
	const char *status, *status_message;
};

/* The account's license endpoints in the simulator's region at step. Returns how many, or -EIO. */
int sim_license_endpoints(const struct sim_state *st, uint64_t step, struct sim_license_endpoint *out);
/* One LicenseEndpointSummary. */
void sim_license_endpoint_json(struct sim_json *j, const struct sim_license_endpoint *le);

/* ---- jobs (sim_jobs.c) ---- */

struct sim_live_job {
	char id[4 + SIM_HEX_ID_LEN + 1]; /* "job-" + hex */
	uint32_t queue;
	int64_t index; /* in the queue's stream of jobs */
	uint64_t traits; /* the hash its fixed attributes come from */
	int64_t created_ms, started_ms, ended_ms, updated_ms; /* -1: absent */
	enum sim_task_status status;
	int target; /* targetTaskRunStatus (enum sim_task_status), or -1 */
	uint32_t counts[SIM_TASK_STATUS_COUNT];
	uint32_t retries;
	int priority;
	uint32_t user;
	const struct sim_job *usage_job; /* a job of the usage records (finished, with its own name), or NULL */
};

/* Whether the job's taskRunStatus is one of the contract's active ones. */
bool sim_live_job_active(const struct sim_live_job *jb);

/*
 * The jobs of queue (of farm) that SearchJobs finds at step (created, not yet archived), by createdAt
 * then jobId. *out malloc'd (the caller frees it). Returns 0 or -ENOMEM.
 */
int sim_queue_jobs(
	const struct sim_state *st, size_t farm, size_t queue, uint64_t step, struct sim_live_job **out, size_t *n);

#define SIM_JOB_NAME_SIZE 512

/*
 * The jobs of the usage records (the world's jobs, which the sessions name) in queue of farm, as SearchJobs finds them
 * at any step: finished (SUCCEEDED), created before the first session of the history. *out malloc'd. Returns 0 or
 * -ENOMEM.
 */
int sim_queue_usage_jobs(const struct sim_state *st, size_t farm, size_t queue, struct sim_live_job **out, size_t *n);

/* The job's name (1 to 128 characters; every 9th hostile; a usage job's own) into buf. */
void sim_live_job_name(const struct sim_live_job *jb, char buf[SIM_JOB_NAME_SIZE]);
/* One JobSearchSummary. */
void sim_live_job_json(struct sim_json *j, const struct sim_state *st, size_t farm, const struct sim_live_job *jb);
/* The order of SearchJobs without sortExpressions and of the truth: createdAt, then jobId. */
int sim_live_job_compare(const void *a, const void *b);

/* ---- the operations and /__sim/activity (sim_activity.c, sim_search.c) ---- */

/*
 * The live-state operation a path names: rest is what follows /2023-10-12/farms/{farmId} (NULL for a path
 * outside a farm, then path is used). *item: ListWorkers' fleet id segment. Returns SIM_OP_UNKNOWN for no
 * such path; *allow is set when the path is known but not the method.
 */
enum sim_op sim_activity_route(
	const char *path, const char *rest, bool get, bool post, const char **item, const char **allow);

/* Serves one of the live-state operations (farm: SIZE_MAX for ListLicenseEndpoints). */
void sim_activity_serve(struct sim_state *st, enum sim_op op, size_t farm, const char *item, const struct sim_query *q,
	const char *body, size_t body_len, struct sim_response *r);

/* SearchJobs: validates body as the model says, answers one page. */
void sim_search_jobs(struct sim_state *st, size_t farm, const char *body, size_t body_len, struct sim_response *r);

/* GET /__sim/activity (everything the live-state operations serve now) and POST (pin or advance the clock). */
void sim_activity_control(struct sim_state *st, const char *method, const struct sim_query *q, const char *body,
	size_t body_len, struct sim_response *r);
