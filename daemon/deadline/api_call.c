/* api_call: one AWS API operation (Deadline Cloud, the identity store), signed and sent, with the retry policy of
 * api_policy */
#include "deadline/api_call.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/aws_iam.h"
#include "aws/aws_request.h"
#include "deadline/deadline_api.h"
#include "util/log.h"

void api_call_reset(struct api_call *c)
{
	free(c->error_name);
	free(c->error_message);
	c->error_name = NULL;
	c->error_message = NULL;
	c->status = 0;
	c->busy = false;
	c->retry_after_ms = -1;
}

bool api_caller_sleep(struct api_caller *a, double ms)
{
	return a->ops->sleep(a->ops_ctx, ms);
}

double api_caller_random(struct api_caller *a)
{
	return api_random_unit(&a->rng);
}

static bool caller_stopping(const struct api_caller *a)
{
	return a->stop && atomic_load(a->stop);
}

/*
 * The farm a call is counted for: the caller's when the call is about a resource of the farm (its path is under
 * the farm's), else "-": account-wide calls (ListLicenseEndpoints, the identity store's) belong to no farm.
 */
static const char *api_call_farm(const struct api_caller *a, const struct api_call *c)
{
	static const char farms[] = "/" DEADLINE_API_VERSION "/farms/";

	return strncmp(c->path, farms, sizeof(farms) - 1) == 0 ? a->farm_id : "-";
}

/* Signs and sends one request; the response is the caller's to free. Returns as aws_request_send(), or
 * API_NO_CREDENTIALS. */
static int api_send_once(struct api_caller *a, const struct api_call *c, struct http_response *resp)
{
	struct aws_credentials *creds = NULL;
	char *url = NULL;
	int r;

	memset(resp, 0, sizeof(*resp));
	a->ops->beat(a->ops_ctx);
	r = aws_credentials_provider_get(a->creds, &creds);
	if (r < 0)
		return API_NO_CREDENTIALS;
	if (asprintf(&url, "%s%s%s%s", a->endpoint, c->path, c->query && *c->query ? "?" : "",
		    c->query ? c->query : "") < 0) {
		url = NULL;
		r = -ENOMEM;
		goto out;
	}
	const struct aws_request req = {
		.method = c->method,
		.url = url,
		.content_type = c->body ? (c->content_type ? c->content_type : "application/json") : NULL,
		.accept = c->content_type ? c->content_type : "application/json",
		.target = c->target,
		.body = c->body,
		.body_len = c->body ? c->body_len : 0,
	};
	const struct aws_request_signer signer = {
		.access_key_id = creds->access_key_id,
		.secret_access_key = creds->secret_access_key,
		.session_token = creds->session_token,
		.region = a->region,
		.service = a->service ? a->service : "deadline",
		.now = (int64_t)time(NULL),
		.sign_body = true,
	};
	r = aws_request_send(a->http, &req, &signer, resp);
	metrics_store_count_request(a->store, api_call_farm(a, c), c->operation, r < 0 ? 0 : resp->status);
	log_debug("farm=%s op=%s http_status=%ld", a->farm_id, c->operation, r < 0 ? 0L : resp->status);
out:
	aws_credentials_unref(creds);
	free(url);
	return r;
}

int api_call_run(struct api_caller *a, struct api_call *c)
{
	bool refreshed_credentials = false;
	int max_attempts = API_RETRY_MAX_ATTEMPTS;

	for (int attempt = 1;; attempt++) {
		struct http_response resp;
		char perr[256] = "";
		double wait_ms = -1;

		api_call_reset(c);
		if (caller_stopping(a))
			return API_STOPPED;

		int r = api_send_once(a, c, &resp);
		if (r == API_NO_CREDENTIALS || (r < 0 && caller_stopping(a))) {
			http_response_deinit(&resp);
			return r == API_NO_CREDENTIALS ? API_NO_CREDENTIALS : API_STOPPED;
		}
		struct api_attempt at = {
			.attempt = attempt,
			.send_result = r,
			.status = r < 0 ? 0 : resp.status,
			.is_start = !strcmp(c->operation, API_OP_START),
			.credentials_refreshed = refreshed_credentials,
		};
		if (r == 0 && resp.status >= 200 && resp.status < 300)
			at.parse_result = c->parse ? c->parse(c->ctx, resp.body, resp.body_len, perr, sizeof(perr)) : 0;
		else if (r == 0) {
			deadline_parse_error(
				resp.error_type, resp.body, resp.body_len, &c->error_name, &c->error_message);
			at.error_name = c->error_name;
		}
		struct api_verdict v = api_classify(&at);

		if (r < 0) {
			log_warning("farm=%s op=%s attempt=%d error=\"%s\"", a->farm_id, c->operation, attempt,
				resp.error[0] ? resp.error : strerror(-r));
		} else if (v.action != API_ACTION_DONE) {
			c->status = resp.status;
			c->retry_after_ms = api_retry_after_ms(resp.retry_after);
			if (resp.status >= 200 && resp.status < 300 && at.parse_result > 0)
				log_warning("farm=%s op=%s http_status=%ld attempt=%d error=\"unusable response: %s\"",
					a->farm_id, c->operation, resp.status, attempt, perr);
			else if (v.action == API_ACTION_RETRY)
				log_warning("farm=%s op=%s http_status=%ld attempt=%d code=%s message=\"%s\"",
					a->farm_id, c->operation, resp.status, attempt,
					c->error_name ? c->error_name : "-", c->error_message ? c->error_message : "");
			if (resp.status == 429 || resp.status >= 500)
				wait_ms = c->retry_after_ms;
		}
		http_response_deinit(&resp);

		switch (v.action) {
		case API_ACTION_DONE:
			a->ops->quota_refund(a->ops_ctx, attempt == 1 ? API_QUOTA_REFUND : v.quota_cost);
			return 0;
		case API_ACTION_BUSY:
			c->busy = true;
			return v.outcome;
		case API_ACTION_FAIL:
			return v.outcome;
		case API_ACTION_REFRESH_CREDENTIALS:
			log_warning("farm=%s op=%s http_status=403 code=%s reason=\"refreshing credentials and "
				    "retrying once\"",
				a->farm_id, c->operation, c->error_name);
			aws_credentials_provider_invalidate(a->creds);
			refreshed_credentials = true;
			max_attempts++;
			continue;
		case API_ACTION_RETRY:
			break;
		}
		if (attempt >= max_attempts)
			return v.outcome;
		if (!a->ops->quota_take(a->ops_ctx, v.quota_cost)) {
			log_warning("farm=%s op=%s reason=\"retry quota exhausted; not retrying\"", a->farm_id,
				c->operation);
			return v.outcome;
		}
		wait_ms = api_backoff_ms(attempt, api_caller_random(a), wait_ms);
		metrics_store_count(
			a->store, METRICS_API_RETRIES, (const char *const[]){api_call_farm(a, c), c->operation}, 1);
		if (!api_caller_sleep(a, wait_ms))
			return API_STOPPED;
	}
}

void api_call_log_failure(const struct api_caller *a, const char *report, const struct api_call *c, int r)
{
	if (r == API_STOPPED)
		return;
	/* report= only for a report's calls (the inventory's have none) */
	char where[96];
	snprintf(where, sizeof(where), "%s%s", report ? " report=" : "", report ? report : "");
	if (r == API_DENIED) {
		/* The action from the one table docs/iam-policy.json is checked against (every call is in it). */
		const char *action = aws_iam_action(c->operation);
		char fallback[96];

		if (!action) {
			snprintf(fallback, sizeof(fallback), "deadline:%s", c->operation);
			action = fallback;
		}

		log_error("farm=%s%s op=%s http_status=403 code=AccessDeniedException reason=\"grant the IAM action "
			  "%s\" message=\"%s\"",
			a->farm_id, where, c->operation, action, c->error_message ? c->error_message : "");
		return;
	}
	log_warning("farm=%s%s op=%s http_status=%ld code=%s error=\"%s\" message=\"%s\"", a->farm_id, where,
		c->operation, c->status, c->error_name ? c->error_name : "-", api_outcome_text(r),
		c->error_message ? c->error_message : "");
}
