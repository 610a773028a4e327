/* sim_state: the simulator's configuration and its mutable state (aggregations, faults, counters) under one lock */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_access.h"
#include "sim_agg.h"
#include "sim_data.h"
#include "sim_spend.h"
#include "sim_token.h"

struct sim_config {
	const char *listen;
	const char *port_file;
	const char *tls_cert_file, *tls_key_file; /* PEM; both or neither: HTTPS */
	const char *request_log_file; /* NULL: none */
	uint64_t seed;
	const char *region;
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL: none required */
	int64_t aggregation_delay_ms;
	int64_t aggregation_ttl_s;
	unsigned page_size_cap; /* 0: none */
	double throttle_rate, error_rate, broken_rate, fail_rate, timeout_rate;
	uint64_t fault_seed;
	size_t max_rows; /* 0: no limit; more rows end the aggregation FAILED */
	bool new_usage_type;
	bool quiet;
	bool verify; /* false with the hidden --no-verify */
	const char *identity_region; /* NULL: region */
	const char *farm_region[SIM_FARMS]; /* --farm-region N=REGION; NULL: region */
	double identity_throttle_rate;
	unsigned inventory_step_s; /* seconds per step of the inventory clock (fleet sizes) */
	double live_per_minute; /* --live-sessions: sessions per minute from the start on; 0: none */
	char farm_accounts[SIM_FARMS][SIM_ACCOUNT_ID_LEN + 1]; /* --farm-accounts; "" for the home account */
	const char *identity_account; /* --identity-account; NULL: the home account */
	uint64_t deny_operations; /* --deny-operations: bits of enum sim_op */
	unsigned activity_step_s; /* seconds per step of the activity clock (workers, jobs, limits) */
	unsigned search_offset_cap; /* SearchJobs' itemOffset reaches at most this (the service: 10000) */
	unsigned workers_per_fleet; /* 0: the inventory's fleet sizes */
	unsigned active_jobs; /* per queue; 0: the built-in mix */
	struct sim_world_params data;
};

enum sim_op {
	SIM_OP_START,
	SIM_OP_GET,
	SIM_OP_LIST_QUEUES,
	SIM_OP_LIST_FLEETS,
	SIM_OP_GET_FARM,
	SIM_OP_LIST_BUDGETS,
	SIM_OP_GET_BUDGET,
	SIM_OP_DESCRIBE_USER, /* the identity store's */
	SIM_OP_LIST_WORKERS,
	SIM_OP_SEARCH_JOBS,
	SIM_OP_LIST_QUEUE_FLEET_ASSOCIATIONS,
	SIM_OP_LIST_LIMITS,
	SIM_OP_LIST_LICENSE_ENDPOINTS, /* account-wide: no farm */
	SIM_OP_GET_CALLER_IDENTITY, /* STS's */
	SIM_OP_UNKNOWN,
	SIM_OP_COUNT,
};

enum sim_agg_status {
	SIM_AGG_IN_PROGRESS,
	SIM_AGG_COMPLETED,
	SIM_AGG_FAILED,
	SIM_AGG_TIMEOUT,
};

/* One accepted Start. Records live until the simulator exits; their rows go at expiry. */
struct sim_aggregation {
	char id[SIM_HEX_ID_LEN + 1];
	uint8_t raw_id[SIM_TOKEN_BINDING_LEN];
	struct sim_agg_request req;
	double started_at, completed_at; /* monotonic seconds */
	bool computing; /* rows not attached yet */
	bool expired;
	enum sim_agg_status outcome; /* what the status turns into after completed_at */
	char status_message[160];
	struct sim_agg_result result;
};

enum sim_fault {
	SIM_FAULT_NONE,
	SIM_FAULT_THROTTLE, /* 429 ThrottlingException */
	SIM_FAULT_THROTTLE_RETRY_AFTER, /* the same with Retry-After: 1 */
	SIM_FAULT_ERROR_500, /* JSON InternalServerErrorException */
	SIM_FAULT_ERROR_502, /* HTML */
	SIM_FAULT_ERROR_503, /* HTML */
	SIM_FAULT_BROKEN_TRUNCATED, /* 200, JSON cut short */
	SIM_FAULT_BROKEN_HTML, /* 200, not JSON */
	SIM_FAULT_BROKEN_EMPTY, /* 200, empty body */
};

/* Targeted faults (POST /__sim/faults with "mode"): the next N matching API requests get one. */
enum sim_tfault {
	SIM_TF_RESET, /* headers and part of the body, then the connection closes */
	SIM_TF_STALL, /* headers and part of the body, then nothing for param seconds, then close */
	SIM_TF_CLOSE, /* the connection closes before any answer */
	SIM_TF_THROTTLE, /* 429 ThrottlingException, no Retry-After */
	SIM_TF_THROTTLE_RETRY_AFTER, /* 429 with Retry-After: param */
	SIM_TF_ERROR_500, /* 500 JSON InternalServerErrorException */
	SIM_TF_ERROR_502, /* 502 HTML */
	SIM_TF_ERROR_503, /* 503 HTML */
	SIM_TF_MALFORMED, /* 200, not valid JSON */
	SIM_TF_TRUNCATED, /* 200, JSON cut short */
	SIM_TF_WRONG_TYPES, /* 200, the real answer with members of the wrong type ("count":"3") */
	SIM_TF_HUGE, /* 200, valid JSON of param bytes (the real rows repeated) */
	SIM_TF_DEEP, /* 200, arrays nested param deep */
	SIM_TF_REPEAT_TOKEN, /* 200, the real page with a nextToken that comes back for ever */
	SIM_TF_ENDLESS_PAGES, /* 200, the real page, then empty pages, each with a new nextToken */
	SIM_TF_FAILED, /* Start: the aggregation ends FAILED */
	SIM_TF_TIMEOUT, /* Start: the aggregation ends TIMEOUT */
	SIM_TF_EXPIRE, /* Get: the aggregation expires now (404 as after its TTL) */
	SIM_TF_EXPIRED_TOKEN, /* 403 ExpiredTokenException */
	SIM_TF_ACCESS_DENIED, /* 403 AccessDeniedException */
	SIM_TF_UNKNOWN_FARM, /* 404 ResourceNotFoundException (resourceType farm) */
	SIM_TF_COUNT,
};

#define SIM_TARGETED_MAX 32

struct sim_targeted {
	enum sim_tfault mode;
	int op; /* enum sim_op, -1: any */
	int farm; /* farm index, -1: any */
	uint64_t remaining;
	long long param; /* seconds, bytes, depth; 0: the default */
};

extern const char *const sim_tfault_names[SIM_TF_COUNT];

#define SIM_HTTP_CODES 600

struct sim_state {
	pthread_mutex_t lock;
	const struct sim_config *config;
	const struct sim_world *world;
	struct sim_token_key token_key;

	/* everything below is under lock */
	struct sim_aggregation **aggs;
	size_t n_aggs, cap_aggs;
	struct sim_rng fault_rng; /* per API request */
	struct sim_rng outcome_rng; /* per Start: FAILED / TIMEOUT */
	double throttle_rate, error_rate, broken_rate, fail_rate, timeout_rate;
	struct sim_access access; /* the keys accepted, the farms' accounts, what IAM denies */
	uint64_t requests[SIM_OP_COUNT][SIM_HTTP_CODES];
	uint64_t signature_failures, concurrent_starts_refused, faults_injected;
	uint64_t n_errors, n_request_ids;
	struct sim_targeted targeted[SIM_TARGETED_MAX];
	size_t n_targeted;
	uint64_t token_generation; /* of the fault tokens; "clear" makes the old ones invalid */
	double busy_until[SIM_FARMS]; /* monotonic: the farm runs someone else's aggregation until then */
	double inventory_origin; /* monotonic: step 0 of the inventory clock */
	long long inventory_pinned_step; /* -1: the clock runs */
	double activity_origin; /* monotonic: step 0 of the activity clock */
	long long activity_pinned_step; /* -1: the clock runs */
	struct sim_rng identity_rng; /* --identity-throttle-rate draws */
	double identity_throttle_rate;
	uint64_t identity_throttle_pending; /* the next N DescribeUser calls are throttled */
	uint64_t *describe_user_calls; /* per user index */
	uint64_t describe_user_unknown; /* calls for ids the store never had */
	struct sim_spend spend; /* sessions added while it runs */
};

/* Sets up the state for config and world (both outlive it). Returns 0, -ENOMEM or -EIO. */
int sim_state_init(struct sim_state *st, const struct sim_config *config, const struct sim_world *world);
void sim_state_deinit(struct sim_state *st);

/* The lock; failures abort (they only happen on misuse). */
void sim_state_lock(struct sim_state *st);
void sim_state_unlock(struct sim_state *st);

/* CLOCK_MONOTONIC in seconds. */
double sim_monotonic(void);

/* Under lock: drops the rows of aggregations older than the TTL. */
void sim_state_expire(struct sim_state *st, double now);

/*
 * Under lock: whether farm has an aggregation in progress; else records a new one for req
 * (copied) with its outcome drawn, and returns it in *out (the record stays valid until deinit).
 * Returns 0, 1 when refused (in progress), -ENOMEM or -EIO.
 */
int sim_state_start(struct sim_state *st, const struct sim_agg_request *req, double now, struct sim_aggregation **out);

/* The same with the outcome forced (SIM_AGG_FAILED / SIM_AGG_TIMEOUT) unless forced is SIM_AGG_IN_PROGRESS. */
int sim_state_start_forced(struct sim_state *st, const struct sim_agg_request *req, double now,
	enum sim_agg_status forced, struct sim_aggregation **out);

/*
 * Under lock: takes one targeted fault for a request of op on farm whose mode is in modes (a bit
 * mask of 1u << enum sim_tfault): copies it to *out, counts it and returns true. An account-wide
 * operation passes SIZE_MAX as farm: only the faults for any farm ("*") apply to it.
 */
bool sim_state_take_targeted(
	struct sim_state *st, enum sim_op op, size_t farm, unsigned modes, struct sim_targeted *out);

/* Under lock: the aggregation with this id on farm, or NULL. */
struct sim_aggregation *sim_state_find(struct sim_state *st, size_t farm, const char *id);

/* Under lock: the status a Get sees now. */
enum sim_agg_status sim_aggregation_status(const struct sim_aggregation *a, double now);

/* Under lock: draws the fault for one API request (and counts it). */
enum sim_fault sim_state_draw_fault(struct sim_state *st);

/* Under lock: counts an API request's answer. */
void sim_state_count(struct sim_state *st, enum sim_op op, unsigned http_status);

const char *sim_op_name(enum sim_op op);
/* Whether op's answers come in pages (nextToken). */
bool sim_op_paginated(enum sim_op op);

/* Under lock: the inventory clock's step now (fleet sizes change once per step). */
uint64_t sim_state_inventory_step(struct sim_state *st);

/* The identity store's region (--identity-region, else --region). */
const char *sim_identity_region(const struct sim_state *st);
/* The region farm's requests are signed for (--farm-region, else --region). */
const char *sim_farm_region(const struct sim_state *st, size_t farm);

/* Log lines on stderr, unless --quiet. */
void sim_log_set_quiet(bool quiet);
void sim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
