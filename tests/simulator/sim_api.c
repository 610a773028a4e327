/* sim_api: the four Deadline Cloud operations, the error and fault answers, and the /__sim/ control paths */
#include "sim_api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"

#define JSON_TYPE "application/json"
#define ERROR_TYPE_URL "http://internal.amazon.com/coral/com.amazonaws.deadline/"
#define DEFAULT_MAX_RESULTS 100
#define MAX_NEXT_TOKEN 4096

void sim_response_deinit(struct sim_response *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

char *sim_percent_decode(const char *s, size_t len, bool plus_is_space)
{
	char *out = malloc(len + 1);
	size_t n = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			int hi = len - i >= 3 ? ascii_hex_value(s[i + 1]) : -1;
			int lo = len - i >= 3 ? ascii_hex_value(s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				goto fail;
			c = (char)(hi << 4 | lo);
			if (c == '\0')
				goto fail;
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		} else if (c == '\0') {
			goto fail;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	return out;
fail:
	free(out);
	return NULL;
}

int sim_query_parse(const char *raw, struct sim_query *q)
{
	const char *p = raw;

	q->n = 0;
	if (!raw)
		return 0;
	while (*p) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;

		if (len > 0) {
			if (q->n == SIM_QUERY_MAX) {
				sim_query_deinit(q);
				return -EINVAL;
			}
			q->params[q->n].key = sim_percent_decode(p, klen, true);
			q->params[q->n].value = eq ? sim_percent_decode(eq + 1, len - klen - 1, true) : strdup("");
			if (!q->params[q->n].key || !q->params[q->n].value) {
				free(q->params[q->n].key);
				free(q->params[q->n].value);
				sim_query_deinit(q);
				return -EINVAL;
			}
			q->n++;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return 0;
}

void sim_query_deinit(struct sim_query *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->params[i].key);
		free(q->params[i].value);
	}
	q->n = 0;
}

const char *sim_query_get(const struct sim_query *q, const char *key)
{
	for (size_t i = 0; i < q->n; i++) {
		if (strcmp(q->params[i].key, key) == 0)
			return q->params[i].value;
	}
	return NULL;
}

static void set_body(struct sim_response *r, unsigned status, const char *type, const char *text, size_t len)
{
	r->status = status;
	r->content_type = type;
	r->body = malloc(len ? len : 1);
	r->body_len = r->body ? len : 0;
	if (r->body)
		memcpy(r->body, text, len);
}

void sim_response_internal_failure(struct sim_response *r, const char *what)
{
	char text[160];
	int n = snprintf(text, sizeof(text), "{\"message\":\"simulator failure: %s\"}", what);

	sim_response_deinit(r);
	snprintf(r->error_type, sizeof(r->error_type), "InternalServerErrorException");
	set_body(r, 500, JSON_TYPE, text, n > 0 && (size_t)n < sizeof(text) ? (size_t)n : 0);
	sim_log("internal failure: %s", what);
}

void sim_response_json_finish(struct sim_json *j, struct sim_response *r, unsigned status)
{
	const char *buf;
	size_t len;

	if (sim_json_result(j, &buf, &len) < 0) {
		sim_response_internal_failure(r, "JSON generation failed");
	} else {
		set_body(r, status, JSON_TYPE, buf, len);
		if (!r->body)
			sim_response_internal_failure(r, "out of memory");
	}
	sim_json_deinit(j);
}

bool sim_response_json_begin(struct sim_json *j, struct sim_response *r)
{
	if (sim_json_init(j) < 0) {
		sim_response_internal_failure(r, "out of memory");
		return false;
	}
	return true;
}

void sim_api_error(struct sim_state *st, struct sim_response *r, unsigned status, const char *name,
	const struct sim_error_detail *detail, const char *fmt, ...)
{
	char message[2048];
	struct sim_json j;
	uint64_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	sim_state_lock(st);
	n = st->n_errors++;
	sim_state_unlock(st);

	if (!sim_response_json_begin(&j, r))
		return;
	sim_json_map_open(&j);
	/*
	 * Clients must find the name in either place and cope with both spellings: every other
	 * error has "__type", plain or namespaced in turn; the header sometimes has a URL suffix.
	 */
	if (n % 4 == 1) {
		sim_json_kv_string(&j, "__type", name);
	} else if (n % 4 == 3) {
		char namespaced[160];

		snprintf(namespaced, sizeof(namespaced), "com.amazonaws.deadline#%s", name);
		sim_json_kv_string(&j, "__type", namespaced);
	}
	sim_json_kv_string(&j, "message", message);
	if (detail && detail->reason)
		sim_json_kv_string(&j, "reason", detail->reason);
	if (detail && detail->field) {
		sim_json_string(&j, "fieldList");
		sim_json_array_open(&j);
		sim_json_map_open(&j);
		sim_json_kv_string(&j, "name", detail->field);
		sim_json_kv_string(&j, "message", message);
		sim_json_map_close(&j);
		sim_json_array_close(&j);
	}
	if (detail && detail->resource_id)
		sim_json_kv_string(&j, "resourceId", detail->resource_id);
	if (detail && detail->resource_type)
		sim_json_kv_string(&j, "resourceType", detail->resource_type);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, status);
	if (r->status == status) {
		/* the header as the service sends it, now and then with the ":<url>" suffix */
		if (n % 3 == 2)
			snprintf(r->error_type, sizeof(r->error_type), "%s:%s", name, ERROR_TYPE_URL);
		else
			snprintf(r->error_type, sizeof(r->error_type), "%s", name);
		r->retry_after = detail ? detail->retry_after : -1;
	}
}

void sim_api_fault(struct sim_state *st, enum sim_fault f, struct sim_response *r)
{
	static const char html_502[] = "<html><head><title>502 Bad Gateway</title></head>\n"
				       "<body><h1>502 Bad Gateway</h1></body></html>\n";
	static const char html_503[] = "<html><head><title>503 Service Unavailable</title></head>\n"
				       "<body><h1>Service Unavailable</h1></body></html>\n";
	static const char truncated[] = "{\"status\":\"COMPLETED\",\"statistics\":[{\"queueId\":\"queue-0123";
	static const char not_json[] = "<html><body>OK</body></html>\n";
	struct sim_error_detail retry = {.retry_after = 1};

	switch (f) {
	case SIM_FAULT_THROTTLE:
		sim_api_error(st, r, 429, "ThrottlingException", NULL, "Rate exceeded (injected)");
		break;
	case SIM_FAULT_THROTTLE_RETRY_AFTER:
		sim_api_error(st, r, 429, "ThrottlingException", &retry, "Rate exceeded (injected)");
		break;
	case SIM_FAULT_ERROR_500:
		sim_api_error(st, r, 500, "InternalServerErrorException", NULL, "Internal server error (injected)");
		break;
	case SIM_FAULT_ERROR_502:
		set_body(r, 502, "text/html", html_502, sizeof(html_502) - 1);
		break;
	case SIM_FAULT_ERROR_503:
		set_body(r, 503, "text/html", html_503, sizeof(html_503) - 1);
		break;
	case SIM_FAULT_BROKEN_TRUNCATED:
		set_body(r, 200, JSON_TYPE, truncated, sizeof(truncated) - 1);
		break;
	case SIM_FAULT_BROKEN_HTML:
		set_body(r, 200, JSON_TYPE, not_json, sizeof(not_json) - 1);
		break;
	case SIM_FAULT_BROKEN_EMPTY:
	case SIM_FAULT_NONE:
		set_body(r, 200, JSON_TYPE, "", 0);
		break;
	}
}

void sim_api_validation_error(
	struct sim_state *st, struct sim_response *r, const char *reason, const char *field, const char *message)
{
	struct sim_error_detail d = {.reason = reason, .field = field && field[0] ? field : NULL, .retry_after = -1};

	sim_api_error(st, r, 400, "ValidationException", &d, "%s", message);
}

void sim_api_start(struct sim_state *st, size_t farm, const char *body, size_t body_len, enum sim_agg_status forced,
	struct sim_response *r)
{
	const struct sim_world *w = st->world;
	struct sim_agg_request req;
	struct sim_invalid why;
	struct sim_aggregation *a = NULL;
	struct sim_agg_result result = {0};
	char id[SIM_HEX_ID_LEN + 1] = "";
	struct sim_session *live = NULL;
	size_t n_live = 0;
	struct sim_json j;
	bool compute = false;
	int e, live_e = -ENOMEM;

	if (sim_agg_request_parse(body, body_len, farm, &req, &why)) {
		sim_api_validation_error(st, r, why.reason, why.field, why.message);
		return;
	}
	sim_state_lock(st);
	sim_state_expire(st, sim_monotonic());
	e = sim_state_start_forced(st, &req, sim_monotonic(), forced, &a);
	if (e == 0) {
		double now = sim_realtime();

		memcpy(id, a->id, sizeof(id));
		compute = a->computing;
		/* the sessions that have started by now: an aggregation never changes once computed */
		if (compute && sim_spend_catch_up(&st->spend, w, now) == 0)
			live_e = sim_spend_copy(&st->spend, farm, now, &live, &n_live);
	}
	sim_state_unlock(st);
	if (e == 1) {
		struct sim_error_detail d = {.retry_after = -1};

		sim_api_error(st, r, 429, "ThrottlingException", &d,
			"An aggregation is already in progress for farm %s: wait for it to complete",
			w->farms[farm].id);
		return;
	}
	if (e < 0) {
		sim_response_internal_failure(r, "could not record the aggregation");
		return;
	}
	if (compute) {
		/* outside the lock: the world is immutable and the record is ours until computing is cleared */
		e = live_e < 0 ? live_e : sim_agg_compute(w, &req, live, n_live, &result);
		free(live);
		sim_state_lock(st);
		if (e < 0) {
			a->outcome = SIM_AGG_FAILED;
			snprintf(a->status_message, sizeof(a->status_message), "the simulator ran out of memory");
		} else if (st->config->max_rows && result.n_rows > st->config->max_rows) {
			a->outcome = SIM_AGG_FAILED;
			snprintf(a->status_message, sizeof(a->status_message),
				"Too many results (%zu rows, at most %zu): use a shorter window, fewer resources or a "
				"longer period",
				result.n_rows, st->config->max_rows);
			sim_agg_result_deinit(&result);
		} else {
			a->result = result;
		}
		a->computing = false;
		{
			double now = sim_monotonic();

			if (a->completed_at < now)
				a->completed_at = now;
		}
		sim_state_unlock(st);
	}
	if (!sim_response_json_begin(&j, r))
		return;
	sim_json_map_open(&j);
	sim_json_kv_string(&j, "aggregationId", id);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, 200);
}

static const char *const status_names[] = {
	[SIM_AGG_IN_PROGRESS] = "IN_PROGRESS",
	[SIM_AGG_COMPLETED] = "COMPLETED",
	[SIM_AGG_FAILED] = "FAILED",
	[SIM_AGG_TIMEOUT] = "TIMEOUT",
};

static bool is_hex32(const char *s)
{
	if (strlen(s) != SIM_HEX_ID_LEN)
		return false;
	for (const char *p = s; *p; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	}
	return true;
}

/* maxResults: absent = 100; otherwise a decimal integer 1..100. Returns false (answered) when invalid. */
bool sim_api_page_size(struct sim_state *st, const struct sim_query *q, struct sim_response *r, size_t *out)
{
	const char *s = sim_query_get(q, "maxResults");
	long v = 0;

	*out = DEFAULT_MAX_RESULTS;
	if (s) {
		size_t len = strlen(s);

		if (len == 0 || len > 3 || strspn(s, "0123456789") != len) {
			sim_api_validation_error(
				st, r, "FIELD_VALIDATION_FAILED", "maxResults", "maxResults must be an integer");
			return false;
		}
		v = strtol(s, NULL, 10);
		if (v < 1 || v > 100) {
			sim_api_validation_error(
				st, r, "FIELD_VALIDATION_FAILED", "maxResults", "maxResults must be 1 to 100");
			return false;
		}
		*out = (size_t)v;
	}
	if (st->config->page_size_cap && *out > st->config->page_size_cap)
		*out = st->config->page_size_cap;
	return true;
}

/*
 * nextToken: absent or "" = from the start; else a token of kind bound to binding, below limit.
 * Returns 0 or -EINVAL; answers nothing (a caller may hold the lock).
 */
int sim_api_page_offset(struct sim_state *st, const struct sim_query *q, enum sim_token_kind kind,
	const uint8_t *binding, size_t limit, size_t *out)
{
	const char *s = sim_query_get(q, "nextToken");
	uint32_t off;

	*out = 0;
	if (!s || !s[0])
		return 0;
	if (strlen(s) > MAX_NEXT_TOKEN || sim_token_decode(&st->token_key, s, kind, binding, &off) < 0 || off == 0 ||
		off >= limit)
		return -EINVAL;
	*out = off;
	return 0;
}

void sim_api_invalid_token(struct sim_state *st, struct sim_response *r)
{
	sim_api_validation_error(st, r, "FIELD_VALIDATION_FAILED", "nextToken", "The pagination token is invalid");
}

bool sim_api_next_token_json(struct sim_state *st, struct sim_json *j, enum sim_token_kind kind, const uint8_t *binding,
	size_t next, size_t total)
{
	char token[SIM_TOKEN_LEN + 1];

	if (next >= total)
		return true;
	if (sim_token_encode(&st->token_key, kind, binding, (uint32_t)next, token) < 0)
		return false;
	sim_json_kv_string(j, "nextToken", token);
	return true;
}

void sim_api_get(struct sim_state *st, size_t farm, const struct sim_query *q, struct sim_response *r)
{
	const char *id = sim_query_get(q, "aggregationId");
	struct sim_aggregation *a;
	enum sim_agg_status status;
	size_t max, offset = 0, end;
	struct sim_json j;
	bool ok = true;

	if (!id) {
		sim_api_validation_error(
			st, r, "FIELD_VALIDATION_FAILED", "aggregationId", "aggregationId is required");
		return;
	}
	if (!is_hex32(id)) {
		sim_api_validation_error(
			st, r, "FIELD_VALIDATION_FAILED", "aggregationId", "aggregationId must match [0-9a-f]{32}");
		return;
	}
	if (!sim_api_page_size(st, q, r, &max))
		return;

	sim_state_lock(st);
	sim_state_expire(st, sim_monotonic());
	a = sim_state_find(st, farm, id);
	if (!a || a->expired) {
		struct sim_error_detail d = {.resource_id = id, .resource_type = "aggregation", .retry_after = -1};
		bool expired = a != NULL;

		sim_state_unlock(st);
		sim_api_error(st, r, 404, "ResourceNotFoundException", &d,
			expired ? "Aggregation %s has expired: start a new one" : "Aggregation %s not found", id);
		return;
	}
	status = sim_aggregation_status(a, sim_monotonic());
	/* under the lock: the rows go at expiry */
	if (status == SIM_AGG_COMPLETED &&
		sim_api_page_offset(st, q, SIM_TOKEN_AGGREGATION, a->raw_id, a->result.n_rows, &offset) < 0) {
		sim_state_unlock(st);
		sim_api_invalid_token(st, r);
		return;
	}
	if (!sim_response_json_begin(&j, r)) {
		sim_state_unlock(st);
		return;
	}
	sim_json_map_open(&j);
	sim_json_kv_string(&j, "status", status_names[status]);
	if (status == SIM_AGG_FAILED || status == SIM_AGG_TIMEOUT)
		sim_json_kv_string(&j, "statusMessage", a->status_message);
	if (status == SIM_AGG_COMPLETED) {
		end = offset + max < a->result.n_rows ? offset + max : a->result.n_rows;
		sim_json_string(&j, "statistics");
		sim_json_array_open(&j);
		for (size_t i = offset; i < end; i++)
			sim_agg_row_json(&j, st->world, &a->req, &a->result.rows[i]);
		sim_json_array_close(&j);
		ok = sim_api_next_token_json(st, &j, SIM_TOKEN_AGGREGATION, a->raw_id, end, a->result.n_rows);
	}
	sim_json_map_close(&j);
	sim_state_unlock(st);
	if (!ok) {
		sim_json_deinit(&j);
		sim_response_internal_failure(r, "could not make a token");
		return;
	}
	sim_response_json_finish(&j, r, 200);
}

void sim_api_request_id(struct sim_state *st, char out[37])
{
	char label[48], hex[SIM_HEX_ID_LEN + 1];
	uint64_t n;

	sim_state_lock(st);
	n = st->n_request_ids++;
	sim_state_unlock(st);
	snprintf(label, sizeof(label), "request/%llu", (unsigned long long)n);
	if (sim_derive_hex(st->config->seed, label, hex, NULL) < 0)
		memset(hex, '0', SIM_HEX_ID_LEN);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* ---- targeted faults ---- */

#define FAULT_TOKEN_PREFIX "SIMFAULT-"
#define DEFAULT_STALL_SECONDS 40
#define DEFAULT_HUGE_BYTES (64LL * 1024 * 1024)
#define DEFAULT_DEPTH 10000
#define MAX_HUGE_BYTES (1024LL * 1024 * 1024)
#define MAX_DEPTH 1000000

#define BIT(m) (1u << (m))

unsigned sim_api_targeted_pre_modes(enum sim_op op)
{
	unsigned m = BIT(SIM_TF_RESET) | BIT(SIM_TF_STALL) | BIT(SIM_TF_CLOSE) | BIT(SIM_TF_THROTTLE) |
		     BIT(SIM_TF_THROTTLE_RETRY_AFTER) | BIT(SIM_TF_ERROR_500) | BIT(SIM_TF_ERROR_502) |
		     BIT(SIM_TF_ERROR_503) | BIT(SIM_TF_MALFORMED) | BIT(SIM_TF_TRUNCATED) | BIT(SIM_TF_DEEP) |
		     BIT(SIM_TF_EXPIRED_TOKEN) | BIT(SIM_TF_ACCESS_DENIED) | BIT(SIM_TF_UNKNOWN_FARM);

	if (op == SIM_OP_START)
		m |= BIT(SIM_TF_FAILED) | BIT(SIM_TF_TIMEOUT);
	if (op == SIM_OP_GET)
		m |= BIT(SIM_TF_EXPIRE);
	return m;
}

unsigned sim_api_targeted_post_modes(enum sim_op op)
{
	unsigned m = BIT(SIM_TF_WRONG_TYPES) | BIT(SIM_TF_HUGE);

	if (sim_op_paginated(op))
		m |= BIT(SIM_TF_REPEAT_TOKEN) | BIT(SIM_TF_ENDLESS_PAGES);
	return m;
}

static const char *list_member(enum sim_op op)
{
	switch (op) {
	case SIM_OP_GET:
		return "statistics";
	case SIM_OP_LIST_QUEUES:
		return "queues";
	case SIM_OP_LIST_FLEETS:
		return "fleets";
	case SIM_OP_LIST_BUDGETS:
		return "budgets";
	case SIM_OP_GET_FARM:
		return "displayName";
	case SIM_OP_GET_BUDGET:
		return "actions";
	case SIM_OP_LIST_WORKERS:
		return "workers";
	case SIM_OP_SEARCH_JOBS:
		return "jobs";
	case SIM_OP_LIST_QUEUE_FLEET_ASSOCIATIONS:
		return "queueFleetAssociations";
	case SIM_OP_LIST_LIMITS:
		return "limits";
	case SIM_OP_LIST_LICENSE_ENDPOINTS:
		return "licenseEndpoints";
	default:
		return "aggregationId";
	}
}

/* A growing text buffer; on allocation failure it stays failed. */
struct text {
	char *p;
	size_t n, cap;
	bool failed;
};

static void text_add(struct text *t, const char *s, size_t len)
{
	if (t->failed)
		return;
	if (t->n + len + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		char *p;

		while (cap < t->n + len + 1)
			cap *= 2;
		p = realloc(t->p, cap);
		if (!p) {
			t->failed = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->n, s, len);
	t->n += len;
	t->p[t->n] = '\0';
}

static void text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

static void text_fill(struct text *t, char c, size_t count)
{
	char block[4096];

	memset(block, c, sizeof(block));
	while (count) {
		size_t k = count < sizeof(block) ? count : sizeof(block);

		text_add(t, block, k);
		count -= k;
	}
}

/* Makes t's text r's 200 JSON body (or a 500 when t failed). */
static void text_answer(struct text *t, struct sim_response *r)
{
	sim_response_deinit(r);
	if (t->failed || !t->p) {
		free(t->p);
		sim_response_internal_failure(r, "out of memory");
		return;
	}
	r->status = 200;
	r->content_type = JSON_TYPE;
	r->error_type[0] = '\0';
	r->retry_after = -1;
	r->body = t->p;
	r->body_len = t->n;
}

/* The start of a plausible answer of op, for the answers cut short. */
static const char *plausible_prefix(enum sim_op op)
{
	switch (op) {
	case SIM_OP_GET:
		return "{\"status\":\"COMPLETED\",\"statistics\":[{\"count\":1,\"costInUsd\":{\"sum\":0.5";
	case SIM_OP_LIST_QUEUES:
		return "{\"queues\":[{\"farmId\":\"farm-0123";
	case SIM_OP_LIST_FLEETS:
		return "{\"fleets\":[{\"fleetId\":\"fleet-0123";
	case SIM_OP_LIST_BUDGETS:
		return "{\"budgets\":[{\"budgetId\":\"budget-0123";
	case SIM_OP_GET_FARM:
		return "{\"farmId\":\"farm-0123";
	case SIM_OP_GET_BUDGET:
		return "{\"budgetId\":\"budget-0123";
	case SIM_OP_LIST_WORKERS:
		return "{\"workers\":[{\"workerId\":\"worker-0123";
	case SIM_OP_SEARCH_JOBS:
		return "{\"jobs\":[{\"jobId\":\"job-0123";
	case SIM_OP_LIST_QUEUE_FLEET_ASSOCIATIONS:
		return "{\"queueFleetAssociations\":[{\"queueId\":\"queue-0123";
	case SIM_OP_LIST_LIMITS:
		return "{\"limits\":[{\"limitId\":\"limit-0123";
	case SIM_OP_LIST_LICENSE_ENDPOINTS:
		return "{\"licenseEndpoints\":[{\"licenseEndpointId\":\"le-0123";
	default:
		return "{\"aggregationId\":\"0123";
	}
}

bool sim_api_targeted_answer(struct sim_state *st, const struct sim_targeted *tf, enum sim_op op, size_t farm,
	const struct sim_query *q, enum sim_agg_status *forced, struct sim_response *r)
{
	/* NULL for an account-wide operation (ListLicenseEndpoints) */
	const struct sim_farm *f = farm < SIM_FARMS ? &st->world->farms[farm] : NULL;
	struct text t = {0};

	switch (tf->mode) {
	case SIM_TF_RESET:
	case SIM_TF_STALL:
		set_body(r, 200, JSON_TYPE, plausible_prefix(op), strlen(plausible_prefix(op)));
		r->special = tf->mode == SIM_TF_RESET ? SIM_SPECIAL_RESET : SIM_SPECIAL_STALL;
		r->stall_seconds = tf->param > 0 ? (double)tf->param : DEFAULT_STALL_SECONDS;
		return true;
	case SIM_TF_CLOSE:
		set_body(r, 200, JSON_TYPE, "", 0);
		r->special = SIM_SPECIAL_CLOSE;
		return true;
	case SIM_TF_THROTTLE:
		sim_api_fault(st, SIM_FAULT_THROTTLE, r);
		return true;
	case SIM_TF_THROTTLE_RETRY_AFTER: {
		struct sim_error_detail d = {.retry_after = tf->param > 0 ? (int)tf->param : 1};

		sim_api_error(st, r, 429, "ThrottlingException", &d, "Rate exceeded (injected)");
		return true;
	}
	case SIM_TF_ERROR_500:
		sim_api_fault(st, SIM_FAULT_ERROR_500, r);
		return true;
	case SIM_TF_ERROR_502:
		sim_api_fault(st, SIM_FAULT_ERROR_502, r);
		return true;
	case SIM_TF_ERROR_503:
		sim_api_fault(st, SIM_FAULT_ERROR_503, r);
		return true;
	case SIM_TF_TRUNCATED:
		set_body(r, 200, JSON_TYPE, plausible_prefix(op), strlen(plausible_prefix(op)));
		return true;
	case SIM_TF_MALFORMED: {
		char text[256];
		int n = snprintf(text, sizeof(text), "{\"%s\":[{\"count\":1,},]]}", list_member(op));

		set_body(r, 200, JSON_TYPE, text, (size_t)n);
		return true;
	}
	case SIM_TF_DEEP: {
		long long depth = tf->param > 0 ? tf->param : DEFAULT_DEPTH;

		if (depth > MAX_DEPTH)
			depth = MAX_DEPTH;
		text_str(&t, op == SIM_OP_GET ? "{\"status\":\"COMPLETED\",\"statistics\":" : "{\"");
		if (op != SIM_OP_GET) {
			text_str(&t, list_member(op));
			text_str(&t, "\":");
		}
		text_fill(&t, '[', (size_t)depth);
		text_fill(&t, ']', (size_t)depth);
		text_str(&t, "}");
		text_answer(&t, r);
		return true;
	}
	case SIM_TF_EXPIRED_TOKEN:
		sim_api_error(st, r, 403, "ExpiredTokenException", NULL,
			"The security token included in the request is expired (injected)");
		return true;
	case SIM_TF_ACCESS_DENIED:
		sim_api_error(st, r, 403, "AccessDeniedException", NULL,
			"User: arn:aws:iam::123456789012:user/simulator is not authorized to perform: deadline:%s on "
			"resource: arn:aws:deadline:%s:123456789012:%s%s (injected)",
			sim_op_name(op), f ? sim_farm_region(st, farm) : st->config->region,
			f ? "farm/" : "license-endpoint/*", f ? f->id : "");
		return true;
	case SIM_TF_UNKNOWN_FARM: {
		const char *id = f ? f->id : "*";
		struct sim_error_detail d = {.resource_id = id, .resource_type = "farm", .retry_after = -1};

		sim_api_error(st, r, 404, "ResourceNotFoundException", &d, "Farm %s not found (injected)", id);
		return true;
	}
	case SIM_TF_FAILED:
		*forced = SIM_AGG_FAILED;
		return false;
	case SIM_TF_TIMEOUT:
		*forced = SIM_AGG_TIMEOUT;
		return false;
	case SIM_TF_EXPIRE: {
		const char *id = sim_query_get(q, "aggregationId");
		struct sim_aggregation *a;

		sim_state_lock(st);
		a = id ? sim_state_find(st, farm, id) : NULL;
		if (a && !a->computing && !a->expired) {
			a->expired = true;
			sim_agg_result_deinit(&a->result);
		}
		sim_state_unlock(st);
		return false;
	}
	default:
		return false;
	}
}

/* r's body without a trailing ,"nextToken":"…" member (the last one where the simulator writes it). */
static size_t body_without_token(const struct sim_response *r)
{
	const char *key = ",\"nextToken\":\"";
	size_t klen = strlen(key);

	for (size_t i = r->body_len; i-- > 0;) {
		if (r->body_len - i >= klen && memcmp(r->body + i, key, klen) == 0)
			return i;
	}
	return r->body_len ? r->body_len - 1 : 0; /* before the closing brace */
}

static void fault_token(struct sim_state *st, char *out, size_t size, bool repeat, unsigned long long n)
{
	unsigned long long gen;

	sim_state_lock(st);
	gen = (unsigned long long)st->token_generation;
	sim_state_unlock(st);
	if (repeat)
		snprintf(out, size, FAULT_TOKEN_PREFIX "R-%llu+/=", gen);
	else
		snprintf(out, size, FAULT_TOKEN_PREFIX "E-%llu-%llu+/=", gen, n);
}

void sim_api_targeted_transform(
	struct sim_state *st, const struct sim_targeted *tf, enum sim_op op, struct sim_response *r)
{
	struct text t = {0};
	char token[96];

	if (!r->body || r->body_len < 2)
		return;
	switch (tf->mode) {
	case SIM_TF_WRONG_TYPES: {
		/* a number where a string is expected, or a string where a number is */
		const char *count = op == SIM_OP_GET ? memmem(r->body, r->body_len, "\"count\":", 8) : NULL;

		if (count) {
			size_t at = (size_t)(count - r->body) + 8, end = at;

			while (end < r->body_len && r->body[end] >= '0' && r->body[end] <= '9')
				end++;
			text_add(&t, r->body, at);
			text_str(&t, "\"");
			text_add(&t, r->body + at, end - at);
			text_str(&t, "\"");
			text_add(&t, r->body + end, r->body_len - end);
		} else if (op == SIM_OP_START) {
			text_str(&t, "{\"aggregationId\":42}");
		} else {
			snprintf(token, sizeof(token), "{\"%s\":{\"count\":\"3\"}}", list_member(op));
			text_str(&t, token);
		}
		break;
	}
	case SIM_TF_HUGE: {
		long long bytes = tf->param > 0 ? tf->param : DEFAULT_HUGE_BYTES;
		size_t end = body_without_token(r);
		const char *open = memchr(r->body, '[', end);
		const char *close = NULL;

		if (bytes > MAX_HUGE_BYTES)
			bytes = MAX_HUGE_BYTES;
		for (size_t i = end; i-- > 0;) {
			if (r->body[i] == ']') {
				close = r->body + i;
				break;
			}
		}
		if (open && close && close > open + 1) {
			/* the real items, again and again: valid JSON, just far too much of it */
			size_t ilen = (size_t)(close - open - 1);

			text_add(&t, r->body, (size_t)(open - r->body) + 1);
			text_add(&t, open + 1, ilen);
			while (!t.failed && t.n < (size_t)bytes) {
				text_str(&t, ",");
				text_add(&t, open + 1, ilen);
			}
			text_add(&t, close, end - (size_t)(close - r->body));
			text_str(&t, "}");
		} else {
			text_add(&t, r->body, end);
			text_str(&t, ",\"padding\":\"");
			text_fill(&t, 'x', (size_t)bytes);
			text_str(&t, "\"}");
		}
		break;
	}
	case SIM_TF_REPEAT_TOKEN:
	case SIM_TF_ENDLESS_PAGES:
		fault_token(st, token, sizeof(token), tf->mode == SIM_TF_REPEAT_TOKEN, 1);
		text_add(&t, r->body, body_without_token(r));
		text_str(&t, ",\"nextToken\":\"");
		text_str(&t, token);
		text_str(&t, "\"}");
		break;
	default:
		return;
	}
	text_answer(&t, r);
}

bool sim_api_fault_token(struct sim_state *st, enum sim_op op, const struct sim_query *q, struct sim_response *r)
{
	const char *s = sim_query_get(q, "nextToken");
	unsigned long long gen, n = 0, current;
	char token[96], text[256];
	bool repeat;
	int used = 0;

	if (!sim_op_paginated(op) || !s || strncmp(s, FAULT_TOKEN_PREFIX, strlen(FAULT_TOKEN_PREFIX)) != 0)
		return false;
	s += strlen(FAULT_TOKEN_PREFIX);
	repeat = s[0] == 'R';
	sim_state_lock(st);
	current = (unsigned long long)st->token_generation;
	sim_state_unlock(st);
	if ((repeat && sscanf(s, "R-%llu+/=%n", &gen, &used) != 1) ||
		(!repeat && sscanf(s, "E-%llu-%llu+/=%n", &gen, &n, &used) != 2) || used == 0 || s[used] != '\0' ||
		gen != current) {
		sim_api_invalid_token(st, r);
		return true;
	}
	fault_token(st, token, sizeof(token), repeat, n + 1);
	if (op == SIM_OP_GET)
		snprintf(
			text, sizeof(text), "{\"status\":\"COMPLETED\",\"statistics\":[],\"nextToken\":\"%s\"}", token);
	else
		snprintf(text, sizeof(text), "{\"%s\":[],\"nextToken\":\"%s\"}", list_member(op), token);
	set_body(r, 200, JSON_TYPE, text, strlen(text));
	return true;
}
