/* api_policy: what an API call's result means, which results are retried and after how long (pure) */
#include "deadline/api_policy.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct api_verdict api_classify(const struct api_attempt *a)
{
	struct api_verdict v = {.action = API_ACTION_FAIL, .outcome = API_SERVER_ERROR, .quota_cost = API_QUOTA_COST};

	if (a->send_result < 0) {
		v.outcome = a->send_result;
		v.action = a->send_result == -ENOMEM ? API_ACTION_FAIL : API_ACTION_RETRY;
		if (a->send_result == -ETIMEDOUT)
			v.quota_cost = API_QUOTA_TIMEOUT_COST;
		if (a->send_result == -EMSGSIZE) {
			/* A body past the cap is no page of this API: one more try, in case it was garbled. */
			v.outcome = API_BAD_RESPONSE;
			v.action = a->attempt < 2 ? API_ACTION_RETRY : API_ACTION_FAIL;
		}
		return v;
	}
	if (a->status >= 200 && a->status < 300) {
		if (a->parse_result == 0) {
			v.action = API_ACTION_DONE;
			v.outcome = 0;
		} else if (a->parse_result < 0) {
			v.outcome = a->parse_result;
		} else {
			v.outcome = API_BAD_RESPONSE;
			v.action = API_ACTION_RETRY;
		}
		return v;
	}
	/* JSON 1.1 services (the identity store) throttle with 400 and the error code. */
	bool throttled = a->status == 429 || (a->status == 400 && api_error_is_throttling(a->error_name));

	if (throttled || a->status >= 500) {
		v.outcome = throttled ? API_THROTTLED : API_SERVER_ERROR;
		/* A Start refused with 429: another aggregation runs on the farm; the caller waits longer. */
		v.action = a->status == 429 && a->is_start ? API_ACTION_BUSY : API_ACTION_RETRY;
		return v;
	}
	if (a->status == 403 && api_error_is_auth_refresh(a->error_name) && !a->credentials_refreshed) {
		v.action = API_ACTION_REFRESH_CREDENTIALS;
		v.outcome = API_CLIENT_ERROR;
		return v;
	}
	if (a->status == 404 ||
		(a->status == 400 && a->error_name && !strcmp(a->error_name, "ResourceNotFoundException")))
		v.outcome = API_NOT_FOUND;
	else if (a->status == 403 && a->error_name && !strcmp(a->error_name, "AccessDeniedException"))
		v.outcome = API_DENIED;
	else
		v.outcome = API_CLIENT_ERROR;
	return v;
}

/* Whether name is one of the n names. */
static bool name_in(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; name && i < n; i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

bool api_error_is_throttling(const char *name)
{
	static const char *const names[] = {"ThrottlingException", "Throttling", "TooManyRequestsException",
		"RequestLimitExceeded", "ProvisionedThroughputExceededException"};

	return name_in(name, names, sizeof(names) / sizeof(names[0]));
}

bool api_error_is_auth_refresh(const char *name)
{
	static const char *const names[] = {"ExpiredTokenException", "InvalidSignatureException",
		"SignatureDoesNotMatch", "ExpiredToken", "InvalidClientTokenId", "UnrecognizedClientException"};

	return name_in(name, names, sizeof(names) / sizeof(names[0]));
}

double api_retry_after_ms(const char *header)
{
	char *end;
	double s;

	if (!header)
		return -1;
	errno = 0;
	s = strtod(header, &end);
	if (errno || end == header || s < 0 || !isfinite(s))
		return -1;
	s *= 1000.0;
	return s > API_RETRY_AFTER_MAX_MS ? API_RETRY_AFTER_MAX_MS : s;
}

double api_backoff_ms(int attempt, double random_unit, double retry_after_ms)
{
	double backoff = random_unit * API_BACKOFF_BASE_MS * ldexp(1.0, attempt > 32 ? 31 : attempt - 1);

	if (backoff > API_BACKOFF_MAX_MS)
		backoff = API_BACKOFF_MAX_MS;
	return retry_after_ms > backoff ? retry_after_ms : backoff;
}

double api_busy_wait_ms(int attempt, double random_unit, double retry_after_ms)
{
	double wait = API_BUSY_BASE_MS * ldexp(1.0, attempt > 32 ? 31 : attempt - 1);

	if (wait > API_BUSY_MAX_MS)
		wait = API_BUSY_MAX_MS;
	wait *= 0.5 + random_unit / 2;
	return retry_after_ms > wait ? retry_after_ms : wait;
}

void api_quota_init(struct api_quota *q)
{
	q->tokens = API_QUOTA_INITIAL;
}

bool api_quota_take(struct api_quota *q, int cost)
{
	if (q->tokens < cost)
		return false;
	q->tokens -= cost;
	return true;
}

void api_quota_refund(struct api_quota *q, int amount)
{
	q->tokens += amount;
	if (q->tokens > API_QUOTA_INITIAL)
		q->tokens = API_QUOTA_INITIAL;
}

const char *api_outcome_text(int r)
{
	switch (r) {
	case API_THROTTLED:
		return "throttled";
	case API_NOT_FOUND:
		return "not found";
	case API_DENIED:
		return "access denied";
	case API_CLIENT_ERROR:
		return "request refused";
	case API_SERVER_ERROR:
		return "server error";
	case API_BAD_RESPONSE:
		return "unusable response";
	case API_STOPPED:
		return "stopping";
	case API_NO_CREDENTIALS:
		return "no credentials";
	default:
		return r < 0 ? strerror(-r) : "error";
	}
}

/* Every kind api_outcome_kind() names, in one list so that their series can be declared before they count. */
static const char *const outcome_kinds[] = {
	"throttled",
	"not_found",
	"access_denied",
	"client_error",
	"server_error",
	"bad_response",
	"no_credentials",
	"transport",
	"other",
};

const char *api_outcome_kind(int r)
{
	switch (r) {
	case API_THROTTLED:
		return outcome_kinds[0];
	case API_NOT_FOUND:
		return outcome_kinds[1];
	case API_DENIED:
		return outcome_kinds[2];
	case API_CLIENT_ERROR:
		return outcome_kinds[3];
	case API_SERVER_ERROR:
		return outcome_kinds[4];
	case API_BAD_RESPONSE:
		return outcome_kinds[5];
	case API_NO_CREDENTIALS:
		return outcome_kinds[6];
	default:
		return r < 0 ? outcome_kinds[7] : outcome_kinds[8];
	}
}

const char *api_outcome_kind_at(size_t i)
{
	return i < sizeof(outcome_kinds) / sizeof(outcome_kinds[0]) ? outcome_kinds[i] : NULL;
}

double api_random_unit(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}
