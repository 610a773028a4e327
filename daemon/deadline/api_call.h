/* api_call: one AWS API operation (Deadline Cloud, the identity store), signed and sent, with the retry policy of
 * api_policy */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/credentials/aws_credentials.h"
#include "aws/http_client.h"
#include "deadline/api_policy.h"
#include "metrics/store.h"

#define API_OP_START "StartSessionsStatisticsAggregation"
#define API_OP_GET "GetSessionsStatisticsAggregation"
#define API_OP_LIST_QUEUES "ListQueues"
#define API_OP_LIST_FLEETS "ListFleets"

/* What the caller's thread provides (deadline/worker): waiting, the shared retry quota, a sign of life. */
struct api_caller_ops {
	bool (*sleep)(void *ctx, double ms); /* false when stopping (woken early) */
	bool (*quota_take)(void *ctx, int cost); /* api_quota_take() under the caller's lock */
	void (*quota_refund)(void *ctx, int amount);
	void (*beat)(void *ctx); /* the thread is working */
};

/* One thread's way to the API (made by deadline/worker). */
struct api_caller {
	struct http_client *http;
	const char *endpoint; /* scheme://host[:port][/prefix], no trailing slash */
	const char *region;
	const char *service; /* SigV4 signing name; NULL: "deadline" */
	struct aws_credentials_provider *creds;
	struct metrics_store *store;
	const atomic_bool *stop;
	const char *farm_id; /* for logs */
	uint64_t rng; /* jitter state, never 0 */
	const struct api_caller_ops *ops;
	void *ops_ctx;
};

/* What one API call needs. */
struct api_call {
	const char *operation;
	const char *method;
	const char *path; /* API path, without the endpoint's prefix */
	const char *query; /* or NULL */
	const char *body; /* or NULL */
	size_t body_len;
	const char *content_type; /* of the body; NULL: "application/json" */
	const char *target; /* X-Amz-Target (JSON 1.1), or NULL */
	/* Parses a 2xx body; returns 0 or a positive DEADLINE_BAD_* code with err filled. */
	int (*parse)(void *ctx, const char *body, size_t len, char *err, size_t errlen);
	void *ctx;
	/* Filled on failure, for the caller's log line. */
	long status;
	char *error_name;
	char *error_message;
	bool busy; /* a Start refused because an aggregation is running on the farm */
	double retry_after_ms; /* the last response's Retry-After, -1 when absent */
};

/*
 * Runs c with the retry policy: retries 429, 5xx, transport failures and unparsable 2xx bodies with
 * exponential backoff and jitter (honouring Retry-After) while attempts and the shared quota last;
 * refreshes credentials once on an expired token. Returns 0, an enum api_outcome, or -errno (the
 * transport's, after the retries). Free c's error fields with api_call_reset().
 */
int api_call_run(struct api_caller *a, struct api_call *c);

/*
 * Waits ms on the caller's thread (a poll, a busy farm), showing its life meanwhile. Returns false at once when
 * the thread is stopping.
 */
bool api_caller_sleep(struct api_caller *a, double ms);

/* A random number in [0, 1) from the caller's jitter state, for backoffs and schedules (not for security). */
double api_caller_random(struct api_caller *a);

/* Frees and clears what api_call_run() filled in on failure. */
void api_call_reset(struct api_call *c);

/* Logs why a call failed (nothing for API_STOPPED), with the IAM action to grant when access was denied;
 * report may be NULL (the inventory's calls). */
void api_call_log_failure(const struct api_caller *a, const char *report, const struct api_call *c, int r);
