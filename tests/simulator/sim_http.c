/* sim_http: the libmicrohttpd server: raw request lines, bodies, SigV4 checks, faults, routing */
#include "sim_http.h"

#include <errno.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "aws/sigv4.h"
#include "sim_activity.h"
#include "sim_api.h"
#include "sim_json.h"
#include "sim_sigv4.h"
#include "sim_sts.h"

#define BODY_MAX (1024 * 1024)
#define MAX_HEADERS 64
#define MAX_SKEW_SECONDS 300
#define API_PREFIX "/2023-10-12/farms/"
#define CONTROL_PREFIX "/__sim/"

/* Set when the server stops, so that a stalled answer ends at once. */
static atomic_bool server_stopping;

/* One HTTP request, from the request line (URI log callback) to completion. */
struct request {
	char *raw_uri; /* as sent: percent-encoding and query intact */
	char *body;
	size_t body_len, body_cap;
	bool too_large;
	bool started;
};

static void *request_begin(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct request *rq = calloc(1, sizeof(*rq));

	if (!rq)
		return NULL;
	rq->raw_uri = strdup(uri ? uri : "");
	if (!rq->raw_uri) {
		free(rq);
		return NULL;
	}
	return rq;
}

static void request_end(
	void *cls, struct MHD_Connection *connection, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *req_cls;

	if (!rq)
		return;
	free(rq->raw_uri);
	free(rq->body);
	free(rq);
	*req_cls = NULL;
}

static void body_append(struct request *rq, const char *data, size_t len)
{
	if (rq->too_large || len == 0)
		return;
	if (len > BODY_MAX - rq->body_len) {
		rq->too_large = true;
		return;
	}
	if (rq->body_len + len > rq->body_cap) {
		size_t cap = rq->body_cap ? rq->body_cap : 1024;
		char *body;

		while (cap < rq->body_len + len)
			cap *= 2;
		body = realloc(rq->body, cap);
		if (!body) {
			/* answered like an oversized body: the request can't be held */
			rq->too_large = true;
			return;
		}
		rq->body = body;
		rq->body_cap = cap;
	}
	memcpy(rq->body + rq->body_len, data, len);
	rq->body_len += len;
}

struct header_list {
	struct sigv4_header h[MAX_HEADERS];
	size_t n;
	bool overflow;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_list *l = cls;

	if (l->n == MAX_HEADERS) {
		l->overflow = true;
		return MHD_NO;
	}
	l->h[l->n].name = key;
	l->h[l->n].value = value ? value : "";
	l->n++;
	return MHD_YES;
}

struct secret_lookup {
	struct sim_keyring ring;
	struct sim_key_match match;
};

static const char *lookup_secret(void *ctx, const char *access_key_id)
{
	struct secret_lookup *l = ctx;

	return sim_keyring_secret(&l->ring, access_key_id, &l->match);
}

/* Returns true when the request may proceed (*slot: whose keys signed it, -1 unchecked); otherwise r holds the 403. */
static bool authenticate(struct sim_state *st, struct MHD_Connection *conn, const char *method, const char *raw_path,
	const char *raw_query, const struct request *rq, const char *region, const char *service, int *slot,
	struct sim_response *r)
{
	struct header_list headers = {.n = 0};
	struct sigv4_request req;
	struct secret_lookup *l;
	char why[2048];
	int e;
	bool ok = false;

	*slot = -1;
	if (!st->config->verify)
		return true;
	l = calloc(1, sizeof(*l));
	if (!l) {
		sim_response_internal_failure(r, "out of memory");
		return false;
	}
	sim_state_lock(st);
	l->ring = st->access.keys;
	sim_state_unlock(st);
	l->match.slot = SIM_KEY_UNSEEN;

	if (MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &headers) < 0 || headers.overflow) {
		sim_api_error(st, r, 400, "ValidationException", NULL, "too many headers");
		goto out;
	}
	req = (struct sigv4_request){
		.method = method,
		.path = raw_path,
		.query = raw_query,
		.headers = headers.h,
		.n_headers = headers.n,
		.body = rq->body,
		.body_len = rq->body_len,
	};
	why[0] = '\0';
	e = sim_sigv4_verify(
		&req, region, service, (int64_t)time(NULL), MAX_SKEW_SECONDS, lookup_secret, l, why, sizeof(why));
	ok = sim_access_check_keys(st, &l->ring, &l->match, e, why,
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Security-Token"), sim_realtime(), r);
	*slot = l->match.slot;
out:
	free(l);
	if (!ok) {
		sim_state_lock(st);
		st->signature_failures++;
		sim_state_unlock(st);
	}
	return ok;
}

/* Which operation (method, path) names; *farm_segment points into path. 405/404 are answered in r. */
static enum sim_op route(struct sim_state *st, const char *method, const char *path, const char **farm_segment,
	size_t *farm_len, const char **item, struct sim_response *r)
{
	const char *seg, *rest;
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;
	enum sim_op op;
	const char *allow = NULL;

	/* the live state's account-wide list, outside any farm */
	op = sim_activity_route(path, NULL, get, post, item, &allow);
	if (op != SIM_OP_UNKNOWN)
		return op;
	if (allow)
		goto not_allowed;
	if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) != 0)
		goto unknown;
	seg = path + strlen(API_PREFIX);
	rest = strchr(seg, '/');
	if (!rest)
		rest = seg + strlen(seg); /* GetFarm */
	if (rest == seg)
		goto unknown;
	*farm_segment = seg;
	*farm_len = (size_t)(rest - seg);
	if (strcmp(rest, "/sessions-statistics-aggregation") == 0) {
		if (get || post)
			return get ? SIM_OP_GET : SIM_OP_START;
		allow = "GET, HEAD, POST";
	} else if (strcmp(rest, "/queues") == 0 || strcmp(rest, "/fleets") == 0 || strcmp(rest, "/budgets") == 0 ||
		   !rest[0] || (strncmp(rest, "/budgets/", 9) == 0 && rest[9] && !strchr(rest + 9, '/'))) {
		op = !rest[0]            ? SIM_OP_GET_FARM
		     : rest[1] == 'q'    ? SIM_OP_LIST_QUEUES
		     : rest[1] == 'f'    ? SIM_OP_LIST_FLEETS
		     : strlen(rest) == 8 ? SIM_OP_LIST_BUDGETS
					 : SIM_OP_GET_BUDGET;
		*item = op == SIM_OP_GET_BUDGET ? rest + 9 : NULL;
		if (get)
			return op;
		allow = "GET, HEAD";
	} else {
		op = sim_activity_route(path, rest, get, post, item, &allow);
		if (op != SIM_OP_UNKNOWN)
			return op;
		if (!allow)
			goto unknown;
	}
not_allowed:
	sim_api_error(st, r, 405, "UnknownOperationException", NULL, "%s is not an operation on %s", method, path);
	r->allow = allow;
	return SIM_OP_UNKNOWN;
unknown:
	sim_api_error(st, r, 404, "UnknownOperationException", NULL, "No operation matches %s %s", method, path);
	return SIM_OP_UNKNOWN;
}

/*
 * The region a request for the farm in the path must be signed for. One simulator stands for the regional
 * endpoints of every farm (--farm-region), so a request signed for another region than its farm's is refused as
 * that region's endpoint would refuse it. No farm in the path, a malformed or unknown one: --region.
 */
static const char *farm_signing_region(const struct sim_state *st, const char *seg, size_t seg_len)
{
	char *farm_id = seg ? sim_percent_decode(seg, seg_len, false) : NULL;
	int farm = farm_id ? sim_world_find_farm(st->world, farm_id) : -1;

	free(farm_id);
	return farm < 0 ? st->config->region : sim_farm_region(st, (size_t)farm);
}

/* The random faults by name, for the request log (enum sim_fault order). */
static const char *const fault_names[] = {"none", "throttle", "throttle_retry_after", "error_500", "error_502",
	"error_503", "broken_truncated", "broken_html", "broken_empty"};

#define FARM_ANSWERED (-2)

/* The farm the path names, -1 for an account-wide operation, or FARM_ANSWERED (r holds the 400 or 404). */
static int resolve_farm(struct sim_state *st, enum sim_op op, const char *seg, size_t seg_len, struct sim_response *r)
{
	char *farm_id;
	int farm = FARM_ANSWERED;

	if (op == SIM_OP_LIST_LICENSE_ENDPOINTS)
		return -1;
	farm_id = sim_percent_decode(seg, seg_len, false);
	if (!farm_id || !sim_id_matches(farm_id, "farm-")) {
		struct sim_error_detail d = {.reason = "FIELD_VALIDATION_FAILED", .field = "farmId", .retry_after = -1};

		sim_api_error(st, r, 400, "ValidationException", &d, "farmId must match farm-[0-9a-f]{32}");
	} else if ((farm = sim_world_find_farm(st->world, farm_id)) < 0) {
		struct sim_error_detail d = {.resource_id = farm_id, .resource_type = "farm", .retry_after = -1};

		sim_api_error(st, r, 404, "ResourceNotFoundException", &d, "Farm %s not found", farm_id);
		farm = FARM_ANSWERED;
	}
	free(farm_id);
	return farm;
}

/* *fault_out: "" or the fault that answered ("random:NAME", "targeted:MODE"), for the request log. */
static void serve_api(struct sim_state *st, struct MHD_Connection *conn, const char *method, const char *path,
	const char *raw_query, const struct request *rq, struct sim_response *r, enum sim_op *op_out, char *fault_out,
	size_t fault_len)
{
	struct sim_query q = {.n = 0};
	const char *seg = NULL, *item = NULL;
	size_t seg_len = 0;
	enum sim_fault fault;
	enum sim_op op;
	char *item_id = NULL;
	int farm;
	struct sim_targeted tf;
	bool have_fault;
	enum sim_agg_status forced = SIM_AGG_IN_PROGRESS;
	int slot;

	op = route(st, method, path, &seg, &seg_len, &item, r);
	*op_out = op;
	if (op == SIM_OP_UNKNOWN)
		return;
	if (rq->too_large) {
		sim_api_error(
			st, r, 413, "ValidationException", NULL, "The request body is larger than %d bytes", BODY_MAX);
		return;
	}
	if (!authenticate(
		    st, conn, method, path, raw_query, rq, farm_signing_region(st, seg, seg_len), "deadline", &slot, r))
		return;
	sim_state_lock(st);
	fault = sim_state_draw_fault(st);
	sim_state_unlock(st);
	if (fault != SIM_FAULT_NONE) {
		snprintf(fault_out, fault_len, "random:%s",
			(size_t)fault < sizeof(fault_names) / sizeof(fault_names[0]) ? fault_names[fault] : "?");
		sim_api_fault(st, fault, r);
		return;
	}

	/* account-wide operations have no farm: -1 reaches the code as SIZE_MAX */
	farm = resolve_farm(st, op, seg, seg_len, r);
	if (farm == FARM_ANSWERED)
		goto out;
	/* IAM: the farm's account must be the caller's, and the action allowed */
	if (!sim_access_authorize(st, slot, farm >= 0 ? farm : SIM_ACCESS_ACCOUNT, op, r))
		goto out;
	if (sim_query_parse(raw_query, &q) < 0) {
		struct sim_error_detail d = {.reason = "CANNOT_PARSE", .retry_after = -1};

		sim_api_error(st, r, 400, "ValidationException", &d, "The query string is malformed");
		goto out;
	}
	/* targeted faults (POST /__sim/faults with "mode") that answer in place of the operation */
	sim_state_lock(st);
	have_fault = sim_state_take_targeted(st, op, (size_t)farm, sim_api_targeted_pre_modes(op), &tf);
	sim_state_unlock(st);
	if (have_fault) {
		sim_log("targeted fault %s on %s", sim_tfault_names[tf.mode], sim_op_name(op));
		snprintf(fault_out, fault_len, "targeted:%s", sim_tfault_names[tf.mode]);
		if (sim_api_targeted_answer(st, &tf, op, (size_t)farm, &q, &forced, r))
			goto out;
	}
	if (sim_api_fault_token(st, op, &q, r))
		goto out;
	switch (op) {
	case SIM_OP_START:
		sim_api_start(st, (size_t)farm, rq->body ? rq->body : "", rq->body_len, forced, r);
		break;
	case SIM_OP_GET:
		sim_api_get(st, (size_t)farm, &q, r);
		break;
	case SIM_OP_LIST_QUEUES:
	case SIM_OP_LIST_FLEETS:
	case SIM_OP_LIST_BUDGETS:
		sim_api_list(st, (size_t)farm, op, &q, r);
		break;
	case SIM_OP_GET_FARM:
		sim_api_get_farm(st, (size_t)farm, r);
		break;
	case SIM_OP_GET_BUDGET:
		item_id = sim_percent_decode(item, strlen(item), false);
		if (item_id)
			sim_api_get_budget(st, (size_t)farm, item_id, r);
		else
			sim_api_validation_error(st, r, "FIELD_VALIDATION_FAILED", "budgetId", "budgetId is malformed");
		break;
	case SIM_OP_DESCRIBE_USER:
	case SIM_OP_UNKNOWN:
	case SIM_OP_COUNT:
		break;
	default: /* the live state's */
		sim_activity_serve(st, op, (size_t)farm, item, &q, rq->body ? rq->body : "", rq->body_len, r);
		break;
	}
	/* those that change a good answer: a Get's only when it carries a page (not IN_PROGRESS) */
	if (r->status == 200 && r->body && (op != SIM_OP_GET || memmem(r->body, r->body_len, "\"statistics\"", 12))) {
		sim_state_lock(st);
		have_fault = sim_state_take_targeted(st, op, (size_t)farm, sim_api_targeted_post_modes(op), &tf);
		sim_state_unlock(st);
		if (have_fault) {
			sim_log("targeted fault %s on %s", sim_tfault_names[tf.mode], sim_op_name(op));
			snprintf(fault_out, fault_len, "targeted:%s", sim_tfault_names[tf.mode]);
			sim_api_targeted_transform(st, &tf, op, r);
		}
	}
out:
	sim_query_deinit(&q);
	free(item_id);
}

/*
 * POST /: the identity store (X-Amz-Target, JSON 1.1) or STS (a form, XML), each signed for its own service and
 * region and refused in its own error shape. Returns the operation, for the counters and the request log.
 */
static enum sim_op serve_root(struct sim_state *st, struct MHD_Connection *conn, const char *method, const char *path,
	const char *raw_query, const struct request *rq, struct sim_response *r)
{
	const char *target = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Target");
	const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	bool sts = sim_sts_request(target, type);
	int slot;

	if (rq->too_large)
		sim_api_error(
			st, r, 413, "ValidationException", NULL, "The request body is larger than %d bytes", BODY_MAX);
	else if (authenticate(st, conn, method, path, raw_query, rq, sts ? st->config->region : sim_identity_region(st),
			 sts ? "sts" : "identitystore", &slot, r) &&
		 (sts || sim_access_authorize(st, slot, SIM_ACCESS_IDENTITY_STORE, SIM_OP_DESCRIBE_USER, r))) {
		if (sts)
			sim_sts_serve(st, slot, rq->body ? rq->body : "", rq->body_len, r);
		else
			sim_identity_serve(st, target, type, rq->body ? rq->body : "", rq->body_len, r);
		return sts ? SIM_OP_GET_CALLER_IDENTITY : SIM_OP_DESCRIBE_USER;
	}
	if (sts)
		sim_sts_reshape_error(st, r);
	else
		sim_identity_reshape_error(r);
	return sts ? SIM_OP_GET_CALLER_IDENTITY : SIM_OP_DESCRIBE_USER;
}

static void serve_control(struct sim_state *st, const char *method, const char *path, const char *raw_query,
	const struct request *rq, struct sim_response *r)
{
	struct sim_query q = {.n = 0};
	const char *message = "no such control path";
	unsigned status = 404;
	struct sim_json j;

	if (sim_query_parse(raw_query, &q) < 0) {
		message = "malformed query string";
		status = 400;
	} else if (sim_control(st, method, path, &q, rq->body ? rq->body : "", rq->body_len, r)) {
		sim_query_deinit(&q);
		return;
	}
	sim_query_deinit(&q);
	if (!sim_response_json_begin(&j, r))
		return;
	sim_json_map_open(&j);
	sim_json_kv_string(&j, "message", message);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, status);
}

/* An answer cut short (reset) or stalled: the body given, then an error that closes the connection. */
struct broken_body {
	char *data;
	size_t len;
	double stall_seconds; /* 0: close at once */
};

static ssize_t broken_body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct broken_body *b = cls;

	if (pos < b->len) {
		size_t n = b->len - (size_t)pos < max ? b->len - (size_t)pos : max;

		memcpy(buf, b->data + pos, n);
		return (ssize_t)n;
	}
	/* thread per connection: sleeping here holds this connection only */
	for (double left = b->stall_seconds; left > 0 && !atomic_load(&server_stopping); left -= 0.1) {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void broken_body_free(void *cls)
{
	struct broken_body *b = cls;

	free(b->data);
	free(b);
}

static struct MHD_Response *broken_response(const struct sim_response *r)
{
	struct broken_body *b = calloc(1, sizeof(*b));
	struct MHD_Response *resp;

	if (!b)
		return NULL;
	b->data = malloc(r->body_len ? r->body_len : 1);
	if (!b->data) {
		free(b);
		return NULL;
	}
	memcpy(b->data, r->body, r->body_len);
	b->len = r->body_len;
	b->stall_seconds = r->special == SIM_SPECIAL_STALL ? r->stall_seconds : 0;
	/* a Content-Length promising more than will ever come */
	resp = MHD_create_response_from_callback(r->body_len + 4096, 1024, broken_body_read, b, broken_body_free);
	if (!resp)
		broken_body_free(b);
	return resp;
}

static enum MHD_Result send_response(struct sim_state *st, struct MHD_Connection *conn, const struct sim_response *r)
{
	static char empty[1];
	struct MHD_Response *resp;
	char request_id[37], retry[16];
	enum MHD_Result ret = MHD_NO;

	if (r->special == SIM_SPECIAL_RESET || r->special == SIM_SPECIAL_STALL)
		resp = broken_response(r);
	else
		resp = MHD_create_response_from_buffer(
			r->body_len, r->body_len ? r->body : empty, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	sim_api_request_id(st, request_id);
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    r->content_type ? r->content_type : "application/json") != MHD_YES ||
		MHD_add_response_header(resp, "x-amzn-RequestId", request_id) != MHD_YES)
		goto out;
	if (r->error_type[0] && MHD_add_response_header(resp, "x-amzn-ErrorType", r->error_type) != MHD_YES)
		goto out;
	if (r->retry_after >= 0) {
		snprintf(retry, sizeof(retry), "%d", r->retry_after);
		if (MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry) != MHD_YES)
			goto out;
	}
	if (r->allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow) != MHD_YES)
		goto out;
	ret = MHD_queue_response(conn, r->status, resp);
out:
	MHD_destroy_response(resp);
	return ret;
}

/*
 * One line of --request-log: the request as received (method, raw URI, headers in order, body)
 * and the answer (status, error type, how it was sent, body), for oracles outside the simulator.
 */
static void log_request(struct sim_http *h, struct MHD_Connection *conn, const char *method, const struct request *rq,
	const struct sim_response *r, enum sim_op op, const char *fault)
{
	static const char *const specials[] = {"none", "reset", "stall", "close"};
	struct header_list headers = {.n = 0};
	struct sim_json j;
	const char *text;
	size_t len;

	if (!h->request_log)
		return;
	(void)MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &headers);
	if (sim_json_init(&j) < 0) {
		sim_log("request log: out of memory");
		return;
	}
	sim_json_map_open(&j);
	sim_json_kv_string(&j, "operation", sim_op_name(op));
	sim_json_kv_string(&j, "method", method);
	sim_json_kv_string(&j, "uri", rq->raw_uri);
	sim_json_string(&j, "headers");
	sim_json_array_open(&j);
	for (size_t i = 0; i < headers.n; i++) {
		sim_json_array_open(&j);
		sim_json_string(&j, headers.h[i].name);
		sim_json_string(&j, headers.h[i].value);
		sim_json_array_close(&j);
	}
	sim_json_array_close(&j);
	sim_json_kv_int(&j, "headersOverflow", headers.overflow);
	sim_json_kv_hex(&j, "body", rq->body ? rq->body : "", rq->body_len);
	sim_json_kv_int(&j, "bodyTooLarge", rq->too_large);
	sim_json_kv_int(&j, "status", r->status);
	sim_json_kv_string(&j, "errorType", r->error_type);
	sim_json_kv_string(&j, "contentType", r->content_type ? r->content_type : "application/json");
	sim_json_kv_string(&j, "special",
		r->special >= 0 && (size_t)r->special < sizeof(specials) / sizeof(specials[0]) ? specials[r->special]
											       : "?");
	sim_json_kv_string(&j, "fault", fault);
	sim_json_kv_hex(&j, "response", r->body ? r->body : "", r->body_len);
	sim_json_map_close(&j);
	if (sim_json_result(&j, &text, &len) < 0) {
		sim_log("request log: cannot write %s %s as JSON", method, rq->raw_uri);
	} else {
		sim_state_lock(h->st);
		if (fwrite(text, 1, len, h->request_log) != len || fputc('\n', h->request_log) == EOF ||
			fflush(h->request_log) != 0)
			sim_log("request log: write failed");
		sim_state_unlock(h->st);
	}
	sim_json_deinit(&j);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	struct sim_http *h = cls;
	struct sim_state *st = h->st;
	struct request *rq = *req_cls;
	struct sim_response r = {.status = 0, .retry_after = -1};
	enum sim_op op = SIM_OP_COUNT;
	char *path = NULL, *query;
	char fault[64] = "";
	enum MHD_Result ret;

	if (!rq) {
		/* the URI log callback could not allocate: answer without reading further */
		sim_response_internal_failure(&r, "out of memory");
		ret = send_response(st, conn, &r);
		sim_response_deinit(&r);
		return ret;
	}
	if (!rq->started) {
		rq->started = true;
		return MHD_YES;
	}
	if (*upload_data_size) {
		body_append(rq, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}

	path = strdup(rq->raw_uri);
	if (!path) {
		sim_response_internal_failure(&r, "out of memory");
	} else {
		query = strchr(path, '?');
		if (query)
			*query++ = '\0';
		if (strncmp(path, CONTROL_PREFIX, strlen(CONTROL_PREFIX)) == 0) {
			serve_control(st, method, path, query, rq, &r);
		} else if (strcmp(path, "/") == 0 && strcmp(method, "POST") == 0) {
			op = serve_root(st, conn, method, path, query, rq, &r);
		} else {
			serve_api(st, conn, method, path, query, rq, &r, &op, fault, sizeof(fault));
		}
	}
	if (r.status == 0)
		sim_response_internal_failure(&r, "no answer");
	if (op != SIM_OP_COUNT) {
		sim_state_lock(st);
		sim_state_count(st, op, r.special ? 0 : r.status); /* 0: no whole answer */
		sim_state_unlock(st);
	}
	if (op != SIM_OP_COUNT)
		log_request(h, conn, method, rq, &r, op, fault);
	sim_log("%s %s -> %u %s%s%s", method, rq->raw_uri, r.status, r.error_type,
		op != SIM_OP_COUNT ? "" : " (control)",
		r.special == SIM_SPECIAL_RESET   ? " (reset mid-body)"
		: r.special == SIM_SPECIAL_STALL ? " (stalled)"
		: r.special == SIM_SPECIAL_CLOSE ? " (closed)"
						 : "");
	if (r.special == SIM_SPECIAL_CLOSE) {
		/* no answer: MHD closes the connection */
		sim_response_deinit(&r);
		free(path);
		return MHD_NO;
	}
	ret = send_response(st, conn, &r);
	sim_response_deinit(&r);
	free(path);
	return ret;
}

/* Splits "host:port" / "[v6]:port". */
static int split_address(const char *address, char *host, size_t hostlen, const char **port)
{
	const char *colon;
	size_t n;

	if (address[0] == '[') {
		const char *close = strchr(address, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		n = (size_t)(close - address - 1);
		if (n == 0 || n >= hostlen)
			return -EINVAL;
		memcpy(host, address + 1, n);
		host[n] = '\0';
		*port = close + 2;
	} else {
		colon = strrchr(address, ':');
		if (!colon || colon == address)
			return -EINVAL;
		n = (size_t)(colon - address);
		if (n >= hostlen)
			return -EINVAL;
		memcpy(host, address, n);
		host[n] = '\0';
		*port = colon + 1;
	}
	if (!**port || strspn(*port, "0123456789") != strlen(*port))
		return -EINVAL;
	return 0;
}

static int open_listener(const char *address, int *fd_out, int *family, char *bound, size_t boundlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char host[256], hostbuf[NI_MAXHOST], portbuf[NI_MAXSERV];
	const char *port;
	int fd = -1, one = 1, r, n;

	r = split_address(address, host, sizeof(host), &port);
	if (r < 0)
		return r;
	r = getaddrinfo(host, port, &hints, &ai);
	if (r != 0) {
		sim_log("cannot resolve %s: %s", address, gai_strerror(r));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0 ||
		getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
		r = -errno;
		goto out;
	}
	r = getnameinfo((struct sockaddr *)&ss, sslen, hostbuf, sizeof(hostbuf), portbuf, sizeof(portbuf),
		NI_NUMERICHOST | NI_NUMERICSERV);
	if (r != 0) {
		r = -EINVAL;
		goto out;
	}
	n = snprintf(bound, boundlen, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", hostbuf, portbuf);
	if (n < 0 || (size_t)n >= boundlen) {
		r = -EINVAL;
		goto out;
	}
	*family = ss.ss_family;
	*fd_out = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	freeaddrinfo(ai);
	return r;
}

int sim_http_start(struct sim_http *h, struct sim_state *st, const char *address, const struct sim_http_tls *tls,
	FILE *request_log, char *bound, size_t boundlen)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
	int fd = -1, family = 0, r;

	h->st = st;
	h->daemon = NULL;
	h->request_log = request_log;
	if (tls) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return -ENOTSUP;
		flags |= MHD_USE_TLS;
	}
	r = open_listener(address, &fd, &family, bound, boundlen);
	if (r < 0)
		return r;
	if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
		flags |= MHD_USE_POLL;
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (!st->config->quiet)
		flags |= MHD_USE_ERROR_LOG;
	/* one option and its arguments per line */
	/* clang-format off */
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, h,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_URI_LOG_CALLBACK, request_begin, (void *)NULL,
		MHD_OPTION_NOTIFY_COMPLETED, request_end, (void *)NULL,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
		/* without TLS these two end the list */
		tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, tls ? tls->cert_pem : NULL,
		MHD_OPTION_HTTPS_MEM_KEY, tls ? tls->key_pem : NULL,
		MHD_OPTION_END);
	/* clang-format on */
	if (!h->daemon) {
		(void)close(fd);
		return -EIO;
	}
	return 0;
}

void sim_http_stop(struct sim_http *h)
{
	atomic_store(&server_stopping, true);
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	h->daemon = NULL;
}
