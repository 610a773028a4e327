/* test-api_policy: what each API result means, which are retried, backoff and Retry-After, the retry quota */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "deadline/api_policy.h"
#include "deadline/deadline_api.h"

struct classify_case {
	const char *name;
	struct api_attempt in;
	enum api_action action;
	int outcome;
	int quota_cost;
};

#define ATT(...) \
	{ \
		.attempt = 1, __VA_ARGS__ \
	}

static const struct classify_case classify_cases[] = {
	{"2xx parsed", ATT(.status = 200), API_ACTION_DONE, 0, API_QUOTA_COST},
	{"204 parsed", ATT(.status = 204), API_ACTION_DONE, 0, API_QUOTA_COST},
	{"2xx unparsable: retried", ATT(.status = 200, .parse_result = DEADLINE_BAD_JSON), API_ACTION_RETRY,
		API_BAD_RESPONSE, API_QUOTA_COST},
	{"2xx, parser out of memory: not retried", ATT(.status = 200, .parse_result = -ENOMEM), API_ACTION_FAIL,
		-ENOMEM, API_QUOTA_COST},
	{"connection refused: retried", ATT(.send_result = -ECONNREFUSED), API_ACTION_RETRY, -ECONNREFUSED,
		API_QUOTA_COST},
	{"timeout: retried at the timeout cost", ATT(.send_result = -ETIMEDOUT), API_ACTION_RETRY, -ETIMEDOUT,
		API_QUOTA_TIMEOUT_COST},
	{"out of memory: not retried", ATT(.send_result = -ENOMEM), API_ACTION_FAIL, -ENOMEM, API_QUOTA_COST},
	{"body over the cap: one more try", ATT(.send_result = -EMSGSIZE), API_ACTION_RETRY, API_BAD_RESPONSE,
		API_QUOTA_COST},
	{"body over the cap twice: given up", {.attempt = 2, .send_result = -EMSGSIZE}, API_ACTION_FAIL,
		API_BAD_RESPONSE, API_QUOTA_COST},
	{"429: retried", ATT(.status = 429, .error_name = "ThrottlingException"), API_ACTION_RETRY, API_THROTTLED,
		API_QUOTA_COST},
	{"429 on Start: the farm is busy", ATT(.status = 429, .is_start = true), API_ACTION_BUSY, API_THROTTLED,
		API_QUOTA_COST},
	{"500: retried", ATT(.status = 500), API_ACTION_RETRY, API_SERVER_ERROR, API_QUOTA_COST},
	{"503 on Start: retried, not busy", ATT(.status = 503, .is_start = true), API_ACTION_RETRY, API_SERVER_ERROR,
		API_QUOTA_COST},
	{"404", ATT(.status = 404, .error_name = "ResourceNotFoundException"), API_ACTION_FAIL, API_NOT_FOUND,
		API_QUOTA_COST},
	{"JSON 1.1: 400 ThrottlingException retried", ATT(.status = 400, .error_name = "ThrottlingException"),
		API_ACTION_RETRY, API_THROTTLED, API_QUOTA_COST},
	{"JSON 1.1: 400 ResourceNotFoundException", ATT(.status = 400, .error_name = "ResourceNotFoundException"),
		API_ACTION_FAIL, API_NOT_FOUND, API_QUOTA_COST},
	{"400 ValidationException: not retried", ATT(.status = 400, .error_name = "ValidationException"),
		API_ACTION_FAIL, API_CLIENT_ERROR, API_QUOTA_COST},
	{"403 AccessDenied", ATT(.status = 403, .error_name = "AccessDeniedException"), API_ACTION_FAIL, API_DENIED,
		API_QUOTA_COST},
	{"403 expired token: refresh", ATT(.status = 403, .error_name = "ExpiredTokenException"),
		API_ACTION_REFRESH_CREDENTIALS, API_CLIENT_ERROR, API_QUOTA_COST},
	{"403 bad signature: refresh", ATT(.status = 403, .error_name = "InvalidSignatureException"),
		API_ACTION_REFRESH_CREDENTIALS, API_CLIENT_ERROR, API_QUOTA_COST},
	{"403 expired token after a refresh: given up",
		ATT(.status = 403, .error_name = "ExpiredTokenException", .credentials_refreshed = true),
		API_ACTION_FAIL, API_CLIENT_ERROR, API_QUOTA_COST},
	{"403 without a name", ATT(.status = 403), API_ACTION_FAIL, API_CLIENT_ERROR, API_QUOTA_COST},
	{"400 validation", ATT(.status = 400, .error_name = "ValidationException"), API_ACTION_FAIL, API_CLIENT_ERROR,
		API_QUOTA_COST},
	{"302 (never followed)", ATT(.status = 302), API_ACTION_FAIL, API_CLIENT_ERROR, API_QUOTA_COST},
};

static void test_classify(void)
{
	for (size_t i = 0; i < sizeof(classify_cases) / sizeof(classify_cases[0]); i++) {
		const struct classify_case *c = &classify_cases[i];
		struct api_verdict v = api_classify(&c->in);
		CHECK_MSG(v.action == c->action, "%s: action %d, expected %d", c->name, v.action, c->action);
		CHECK_MSG(v.outcome == c->outcome, "%s: outcome %d, expected %d", c->name, v.outcome, c->outcome);
		CHECK_MSG(v.quota_cost == c->quota_cost, "%s: cost %d", c->name, v.quota_cost);
	}
}

static void test_auth_refresh_names(void)
{
	CHECK(api_error_is_auth_refresh("ExpiredToken"));
	CHECK(api_error_is_auth_refresh("SignatureDoesNotMatch"));
	CHECK(api_error_is_auth_refresh("InvalidClientTokenId"));
	CHECK(api_error_is_auth_refresh("UnrecognizedClientException"));
	CHECK(!api_error_is_auth_refresh("AccessDeniedException"));
	CHECK(!api_error_is_auth_refresh("expiredtokenexception"));
	CHECK(!api_error_is_auth_refresh(""));
	CHECK(!api_error_is_auth_refresh(NULL));
}

static void test_retry_after(void)
{
	CHECK(api_retry_after_ms(NULL) == -1);
	CHECK(api_retry_after_ms("") == -1);
	CHECK(api_retry_after_ms("soon") == -1);
	CHECK(api_retry_after_ms("-3") == -1);
	CHECK(api_retry_after_ms("inf") == -1);
	CHECK(api_retry_after_ms("nan") == -1);
	CHECK(api_retry_after_ms("0") == 0);
	CHECK(api_retry_after_ms("3") == 3000);
	CHECK(api_retry_after_ms("1.5") == 1500);
	CHECK(api_retry_after_ms("60") == API_RETRY_AFTER_MAX_MS);
	CHECK(api_retry_after_ms("3600") == API_RETRY_AFTER_MAX_MS);
	CHECK(api_retry_after_ms("1e308") == API_RETRY_AFTER_MAX_MS);
}

static void test_backoff(void)
{
	/* random × 1 s × 2^(attempt-1), capped at 20 s */
	CHECK(api_backoff_ms(1, 0.0, -1) == 0);
	CHECK(api_backoff_ms(1, 0.5, -1) == 500);
	CHECK(api_backoff_ms(2, 0.5, -1) == 1000);
	CHECK(api_backoff_ms(4, 0.999, -1) == 0.999 * 8000);
	CHECK(api_backoff_ms(6, 0.999, -1) == API_BACKOFF_MAX_MS);
	CHECK(api_backoff_ms(1000, 0.999, -1) == API_BACKOFF_MAX_MS);
	/* Retry-After is a floor, the backoff too */
	CHECK(api_backoff_ms(1, 0.5, 3000) == 3000);
	CHECK(api_backoff_ms(3, 0.9, 1000) == 0.9 * 4000);
	CHECK(api_backoff_ms(1, 0.5, 0) == 500);
	for (int attempt = 1; attempt < 70; attempt++)
		CHECK(api_backoff_ms(attempt, 0.999999, -1) <= API_BACKOFF_MAX_MS);

	/* Start while busy: 2 s × 2^(attempt-1), capped at 60 s, × [0.5, 1) */
	CHECK(api_busy_wait_ms(1, 0.0, -1) == 1000);
	CHECK(api_busy_wait_ms(1, 1.0, -1) == 2000);
	CHECK(api_busy_wait_ms(3, 0.0, -1) == 4000);
	CHECK(api_busy_wait_ms(10, 0.0, -1) == API_BUSY_MAX_MS / 2);
	CHECK(api_busy_wait_ms(1, 0.0, 5000) == 5000);
	CHECK(api_busy_wait_ms(100, 0.999, -1) < API_BUSY_MAX_MS);
}

static void test_quota(void)
{
	struct api_quota q;
	int taken = 0;

	api_quota_init(&q);
	CHECK_INT(q.tokens, API_QUOTA_INITIAL);
	while (api_quota_take(&q, API_QUOTA_COST))
		taken++;
	CHECK_INT(taken, API_QUOTA_INITIAL / API_QUOTA_COST);
	CHECK_INT(q.tokens, 0);
	CHECK(!api_quota_take(&q, 1));
	api_quota_refund(&q, API_QUOTA_REFUND);
	CHECK_INT(q.tokens, 1);
	CHECK(!api_quota_take(&q, API_QUOTA_TIMEOUT_COST));
	CHECK_INT(q.tokens, 1);
	api_quota_refund(&q, 10 * API_QUOTA_INITIAL);
	CHECK_INT(q.tokens, API_QUOTA_INITIAL);
}

static void test_outcome_texts(void)
{
	CHECK_STR(api_outcome_text(API_DENIED), "access denied");
	CHECK_STR(api_outcome_text(API_STOPPED), "stopping");
	CHECK_STR(api_outcome_text(-ECONNREFUSED), strerror(ECONNREFUSED));
	CHECK_STR(api_outcome_kind(API_DENIED), "access_denied");
	CHECK_STR(api_outcome_kind(API_NO_CREDENTIALS), "no_credentials");
	CHECK_STR(api_outcome_kind(-ETIMEDOUT), "transport");
	CHECK_STR(api_outcome_kind(12345), "other");

	/* Every kind a failure can be counted under is declared from the start: the list names each one once. */
	const int outcomes[] = {API_THROTTLED, API_NOT_FOUND, API_DENIED, API_CLIENT_ERROR, API_SERVER_ERROR,
		API_BAD_RESPONSE, API_STOPPED, API_NO_CREDENTIALS, -EIO, 12345};
	size_t n = 0;
	while (api_outcome_kind_at(n))
		n++;
	for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++) {
		bool listed = false;
		for (size_t k = 0; k < n; k++)
			listed |= strcmp(api_outcome_kind_at(k), api_outcome_kind(outcomes[i])) == 0;
		CHECK_MSG(listed, "%s is not in api_outcome_kind_at()'s list", api_outcome_kind(outcomes[i]));
	}
	CHECK_INT(n, 9);
}

static void test_random_unit(void)
{
	uint64_t state = 1;
	double lo = 1, hi = 0;

	for (int i = 0; i < 100000; i++) {
		double u = api_random_unit(&state);
		CHECK_MSG(u >= 0 && u < 1, "u = %g", u);
		lo = u < lo ? u : lo;
		hi = u > hi ? u : hi;
	}
	CHECK(lo < 0.001 && hi > 0.999);
	CHECK(state != 0);
}

int main(void)
{
	test_classify();
	test_auth_refresh_names();
	test_retry_after();
	test_backoff();
	test_quota();
	test_outcome_texts();
	test_random_unit();
	TEST_DONE();
}
