/* sim_identity: the IAM Identity Center identity store's DescribeUser (JSON 1.1) and its /__sim/identity path */
#include "sim_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON11_TYPE "application/x-amz-json-1.1"
#define TARGET_PREFIX "AWSIdentityStore."
#define MAX_BODY_DEPTH 8
#define MAX_CONTROL_DEPTH 4

/*
 * An error in the JSON 1.1 shape: status, x-amzn-ErrorType, a body with "__type" and the model's members
 * ("Message", "RequestId", then the extra ones given as key/value pairs; NULL ends them).
 */
static void json11_error(struct sim_state *st, struct sim_response *r, unsigned status, const char *type,
	const char *message, const char *k1, const char *v1, const char *k2, const char *v2)
{
	char request_id[37];
	struct sim_json j;

	sim_api_request_id(st, request_id);
	if (!sim_response_json_begin(&j, r))
		return;
	sim_json_map_open(&j);
	sim_json_kv_string(&j, "__type", type);
	sim_json_kv_string(&j, "Message", message);
	sim_json_kv_string(&j, "RequestId", request_id);
	if (k1)
		sim_json_kv_string(&j, k1, v1);
	if (k2)
		sim_json_kv_string(&j, k2, v2);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, status);
	if (r->status == status) {
		r->content_type = JSON11_TYPE;
		snprintf(r->error_type, sizeof(r->error_type), "%s", type);
	}
}

void sim_identity_reshape_error(struct sim_response *r)
{
	char type[128], err[64];
	const char *message = "";
	yajl_val tree = NULL, m;
	struct sim_json j;
	unsigned status = r->status;

	if (!r->error_type[0])
		return;
	/* the name without the ":<url>" suffix the Deadline Cloud answers sometimes carry */
	snprintf(type, sizeof(type), "%.*s", (int)strcspn(r->error_type, ":"), r->error_type);
	if (r->body)
		tree = sim_json_parse(r->body, r->body_len, MAX_BODY_DEPTH, err, sizeof(err));
	m = sim_json_member(tree, "message");
	if (m && YAJL_IS_STRING(m))
		message = YAJL_GET_STRING(m);
	/* as AWS's front end answers for every JSON 1.1 service: "__type" and a lowercase "message" */
	if (sim_json_init(&j) < 0)
		goto out;
	sim_json_map_open(&j);
	sim_json_kv_string(&j, "__type", type);
	sim_json_kv_string(&j, "message", message);
	sim_json_map_close(&j);
	yajl_tree_free(tree);
	tree = NULL;
	sim_response_deinit(r);
	sim_response_json_finish(&j, r, status);
	if (r->status == status) {
		r->content_type = JSON11_TYPE;
		snprintf(r->error_type, sizeof(r->error_type), "%s", type);
	}
out:
	yajl_tree_free(tree);
}

bool sim_resource_id_valid(const char *s)
{
	static const size_t groups[] = {8, 4, 4, 4, 12};
	size_t len = strlen(s), at = 0;

	if (len == 47) {
		if (strspn(s, "0123456789abcdef") != 10 || s[10] != '-')
			return false;
		at = 11;
	} else if (len != 36) {
		return false;
	}
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		if (strspn(s + at, "0123456789abcdefABCDEF") < groups[g])
			return false;
		at += groups[g];
		if (g < 4 && s[at++] != '-')
			return false;
	}
	return s[at] == '\0';
}

/* IdentityStoreId: d-[0-9a-f]{10} or a UUID. */
static bool store_id_valid(const char *s)
{
	if (strncmp(s, "d-", 2) == 0)
		return strlen(s) == 12 && strspn(s + 2, "0123456789abcdef") == 10;
	return strlen(s) == 36 && sim_resource_id_valid(s);
}

/* Under lock: whether this call is throttled (a pending one first, then the rate). */
static bool take_throttle(struct sim_state *st)
{
	if (st->identity_throttle_pending) {
		st->identity_throttle_pending--;
		st->faults_injected++;
		return true;
	}
	if (st->identity_throttle_rate > 0 && sim_rng_unit(&st->identity_rng) < st->identity_throttle_rate) {
		st->faults_injected++;
		return true;
	}
	return false;
}

static void user_json(struct sim_state *st, const struct sim_user *u, struct sim_response *r)
{
	const struct sim_world *w = st->world;
	struct sim_json j;

	if (!sim_response_json_begin(&j, r))
		return;
	sim_json_map_open(&j);
	sim_json_kv_string(&j, "IdentityStoreId", w->identity_store_id);
	sim_json_kv_string(&j, "UserId", u->id);
	sim_json_kv_string(&j, "UserName", u->user_name);
	sim_json_kv_string(&j, "DisplayName", u->display_name);
	sim_json_string(&j, "Name");
	sim_json_map_open(&j);
	sim_json_kv_string(&j, "Formatted", u->display_name);
	sim_json_map_close(&j);
	sim_json_kv_string(&j, "UserStatus", "ENABLED");
	sim_json_kv_int(&j, "CreatedAt", w->epoch - 500 * 86400); /* JSON 1.1: epoch seconds */
	sim_json_kv_string(&j, "CreatedBy", "simulator");
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, 200);
	r->content_type = JSON11_TYPE;
}

void sim_identity_serve(struct sim_state *st, const char *target, const char *content_type, const char *body,
	size_t body_len, struct sim_response *r)
{
	const struct sim_world *w = st->world;
	yajl_val tree = NULL, store, user;
	const char *store_id, *user_id;
	char err[128], message[256];
	bool throttled;
	long u;

	if (!target || strncmp(target, TARGET_PREFIX, strlen(TARGET_PREFIX)) != 0 ||
		strcmp(target + strlen(TARGET_PREFIX), "DescribeUser") != 0) {
		json11_error(st, r, 400, "UnknownOperationException",
			"The operation is not supported by this simulator", NULL, NULL, NULL, NULL);
		return;
	}
	if (!content_type || strncmp(content_type, JSON11_TYPE, strlen(JSON11_TYPE)) != 0) {
		json11_error(st, r, 400, "SerializationException", "Content-Type must be " JSON11_TYPE, NULL, NULL,
			NULL, NULL);
		return;
	}
	tree = sim_json_parse(body, body_len, MAX_BODY_DEPTH, err, sizeof(err));
	if (!tree || !YAJL_IS_OBJECT(tree)) {
		json11_error(
			st, r, 400, "SerializationException", "The body is not a JSON object", NULL, NULL, NULL, NULL);
		goto out;
	}
	store = sim_json_member(tree, "IdentityStoreId");
	user = sim_json_member(tree, "UserId");
	if (!store || !YAJL_IS_STRING(store) || !YAJL_GET_STRING(store) || !store_id_valid(YAJL_GET_STRING(store))) {
		json11_error(st, r, 400, "ValidationException",
			"1 validation error detected: Value at 'identityStoreId' failed to satisfy constraint", NULL,
			NULL, NULL, NULL);
		goto out;
	}
	if (!user || !YAJL_IS_STRING(user) || !YAJL_GET_STRING(user) || !sim_resource_id_valid(YAJL_GET_STRING(user))) {
		json11_error(st, r, 400, "ValidationException",
			"1 validation error detected: Value at 'userId' failed to satisfy constraint", NULL, NULL, NULL,
			NULL);
		goto out;
	}
	store_id = YAJL_GET_STRING(store);
	user_id = YAJL_GET_STRING(user);
	if (!store_id || !user_id)
		goto out; /* not reached: both are strings */
	u = sim_world_find_user(w, user_id);
	sim_state_lock(st);
	if (u >= 0)
		st->describe_user_calls[u]++;
	else
		st->describe_user_unknown++;
	throttled = take_throttle(st);
	sim_state_unlock(st);
	if (throttled) {
		json11_error(st, r, 400, "ThrottlingException", "Rate exceeded (injected)", NULL, NULL, NULL, NULL);
		goto out;
	}
	if (strcmp(store_id, w->identity_store_id) != 0) {
		snprintf(message, sizeof(message), "Identity store %s not found", store_id);
		json11_error(st, r, 400, "ResourceNotFoundException", message, "ResourceType", "IDENTITY_STORE",
			"ResourceId", store_id);
		goto out;
	}
	if (u < 0 || w->users[u].deleted) {
		snprintf(message, sizeof(message), "USER not found.");
		json11_error(st, r, 400, "ResourceNotFoundException", message, "ResourceType", "USER", "ResourceId",
			user_id);
		goto out;
	}
	user_json(st, &w->users[u], r);
out:
	yajl_tree_free(tree);
}

static void identity_json(struct sim_state *st, struct sim_response *r)
{
	const struct sim_world *w = st->world;
	struct sim_json j;

	if (!sim_response_json_begin(&j, r))
		return;
	sim_json_map_open(&j);
	sim_json_kv_string(&j, "identityStoreId", w->identity_store_id);
	sim_json_kv_string(&j, "region", sim_identity_region(st));
	sim_state_lock(st);
	sim_json_kv_double(&j, "throttleRate", st->identity_throttle_rate);
	sim_json_kv_int(&j, "throttlePending", (long long)st->identity_throttle_pending);
	sim_json_string(&j, "describeUserCalls");
	sim_json_map_open(&j);
	for (size_t i = 0; i < w->n_users; i++) {
		if (st->describe_user_calls[i])
			sim_json_kv_int(&j, w->users[i].id, (long long)st->describe_user_calls[i]);
	}
	sim_json_map_close(&j);
	sim_json_kv_int(&j, "describeUserUnknownCalls", (long long)st->describe_user_unknown);
	sim_state_unlock(st);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, 200);
}

/* POST {"throttle": N, "throttleRate": P} (either): the next N calls are throttled; P the chance for each. */
static void set_identity(struct sim_state *st, const char *body, size_t body_len, struct sim_response *r)
{
	char err[128];
	yajl_val tree = sim_json_parse(body, body_len, MAX_CONTROL_DEPTH, err, sizeof(err));
	yajl_val n = sim_json_member(tree, "throttle"), p = sim_json_member(tree, "throttleRate");
	size_t known = (n != NULL) + (p != NULL);

	if (!tree || !YAJL_IS_OBJECT(tree) || known == 0 || tree->u.object.len != known ||
		(n && !(YAJL_IS_INTEGER(n) && YAJL_GET_INTEGER(n) >= 0)) ||
		(p && !(YAJL_IS_NUMBER(p) && YAJL_GET_DOUBLE(p) >= 0.0 && YAJL_GET_DOUBLE(p) <= 1.0))) {
		sim_control_error(
			r, 400, "%s", "expected {\"throttle\": N >= 0, \"throttleRate\": P in [0,1]} (either)");
		goto out;
	}
	sim_state_lock(st);
	if (n)
		st->identity_throttle_pending = (uint64_t)YAJL_GET_INTEGER(n);
	if (p)
		st->identity_throttle_rate = YAJL_GET_DOUBLE(p);
	sim_state_unlock(st);
	identity_json(st, r);
out:
	yajl_tree_free(tree);
}

void sim_identity_control(
	struct sim_state *st, const char *method, const char *body, size_t body_len, struct sim_response *r)
{
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		identity_json(st, r);
	} else if (strcmp(method, "POST") == 0) {
		set_identity(st, body, body_len, r);
	} else {
		sim_control_error(r, 405, "use GET or POST");
		r->allow = "GET, HEAD, POST";
	}
}
