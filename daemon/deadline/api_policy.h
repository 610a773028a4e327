/* api_policy: what an API call's result means, which results are retried and after how long (pure) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Retry policy, after the AWS SDKs' "standard" mode. */
#define API_RETRY_MAX_ATTEMPTS 5 /* per call, the first one included */
#define API_BACKOFF_BASE_MS 1000.0 /* delay = random[0,1) × base × 2^(attempt-1) */
#define API_BACKOFF_MAX_MS 20000.0
#define API_RETRY_AFTER_MAX_MS 60000.0 /* a Retry-After longer than this is capped */
#define API_QUOTA_INITIAL 500 /* token bucket shared by every farm */
#define API_QUOTA_COST 5
#define API_QUOTA_TIMEOUT_COST 10
#define API_QUOTA_REFUND 1

/* A Start refused because an aggregation runs on the farm: wait longer, never hammer. */
#define API_BUSY_MAX_ATTEMPTS 8
#define API_BUSY_BASE_MS 2000.0
#define API_BUSY_MAX_MS 60000.0

/* Outcomes of one API call, beyond 0 (success) and negative errno (transport, after retries). */
enum api_outcome {
	API_THROTTLED = 1, /* 429 (or 400 with a throttling code) after the retries */
	API_NOT_FOUND, /* 404 (or JSON 1.1's 400) ResourceNotFoundException */
	API_DENIED, /* 403 AccessDeniedException */
	API_CLIENT_ERROR, /* any other 4xx: not retryable */
	API_SERVER_ERROR, /* 5xx after the retries */
	API_BAD_RESPONSE, /* 2xx whose body did not parse, after the retries */
	API_STOPPED, /* the poller is stopping */
	API_NO_CREDENTIALS,
};

/* One attempt's result, as the caller saw it. */
struct api_attempt {
	int attempt; /* 1 for the first */
	int send_result; /* 0: a response arrived; -errno: the transport failed */
	long status; /* HTTP status when a response arrived */
	int parse_result; /* 2xx: the parser's 0, positive DEADLINE_BAD_* or -errno */
	const char *error_name; /* otherwise: the AWS error code, or NULL */
	bool is_start; /* StartSessionsStatisticsAggregation: a 429 means the farm is busy */
	bool credentials_refreshed; /* this call refreshed the credentials once already */
};

enum api_action {
	API_ACTION_DONE, /* success */
	API_ACTION_FAIL, /* give up now with outcome */
	API_ACTION_RETRY, /* try again while attempts and quota last, else give up with outcome */
	API_ACTION_REFRESH_CREDENTIALS, /* refresh the credentials and try again (one extra attempt) */
	API_ACTION_BUSY, /* a Start refused while the farm is busy: the caller waits (outcome API_THROTTLED) */
};

struct api_verdict {
	enum api_action action;
	int outcome; /* 0, an enum api_outcome or -errno */
	int quota_cost; /* retry-quota tokens a retry takes */
};

/* What one attempt's result means. */
struct api_verdict api_classify(const struct api_attempt *a);

/* True for the AWS error codes that mean "slow down" (the JSON 1.1 services send them with status 400). */
bool api_error_is_throttling(const char *name);

/* True for the AWS error codes that mean "sign again with fresh credentials". */
bool api_error_is_auth_refresh(const char *name);

/* A Retry-After header (seconds) in milliseconds, capped at API_RETRY_AFTER_MAX_MS; -1 when absent or unusable. */
double api_retry_after_ms(const char *header);

/* The wait before attempt+1: random_unit × base × 2^(attempt-1), capped, and never shorter than retry_after_ms. */
double api_backoff_ms(int attempt, double random_unit, double retry_after_ms);

/* The wait before Start's attempt+1 when the farm was busy: base × 2^(attempt-1), capped, × [0.5, 1). */
double api_busy_wait_ms(int attempt, double random_unit, double retry_after_ms);

/* The retry quota: a token bucket (callers serialise access). */
struct api_quota {
	int tokens;
};

void api_quota_init(struct api_quota *q);
/* Takes cost tokens when there are that many: true; false (nothing taken) otherwise. */
bool api_quota_take(struct api_quota *q, int cost);
/* Gives amount tokens back, up to API_QUOTA_INITIAL. */
void api_quota_refund(struct api_quota *q, int amount);

/* Human-readable text of an outcome (for reason=) and its label for refresh_errors_total{kind}. */
const char *api_outcome_text(int r);
const char *api_outcome_kind(int r);

/* The kinds api_outcome_kind() names, one by one (i from 0; NULL past the last), for declaring their series. */
const char *api_outcome_kind_at(size_t i);

/* xorshift64* in [0, 1): jitter only, not security. *state must not be 0. */
double api_random_unit(uint64_t *state);
