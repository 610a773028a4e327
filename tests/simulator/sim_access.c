/* sim_access: who may call what: the keys each account accepts, the farms' accounts, operations denied by IAM */
#include "sim_access.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_api.h"

#define MAX_CONTROL_DEPTH 4

_Static_assert(SIM_OP_COUNT <= 64, "operations are bits of a uint64_t");

bool sim_account_id_valid(const char *s)
{
	return strlen(s) == SIM_ACCOUNT_ID_LEN && strspn(s, "0123456789") == SIM_ACCOUNT_ID_LEN;
}

/* The operation named name (its bit), or -1; GetCallerIdentity is none: it needs no permission, IAM cannot deny it. */
static int operation_named(const char *name, size_t len)
{
	for (int o = 0; o < SIM_OP_UNKNOWN; o++) {
		if (o == SIM_OP_GET_CALLER_IDENTITY)
			continue;
		const char *n = sim_op_name((enum sim_op)o);

		if (strlen(n) == len && strncmp(n, name, len) == 0)
			return o;
	}
	return -1;
}

int sim_access_parse_operations(const char *list, uint64_t *mask, char *bad, size_t badlen)
{
	*mask = 0;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		int o = operation_named(p, len);

		if (o < 0) {
			snprintf(bad, badlen, "%.*s", (int)(len < 64 ? len : 64), p);
			return -EINVAL;
		}
		*mask |= UINT64_C(1) << o;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

int sim_access_parse_accounts(const char *list, char out[SIM_FARMS][SIM_ACCOUNT_ID_LEN + 1])
{
	const char *p = list;
	size_t f = 0;

	while (f < SIM_FARMS) {
		size_t len = strcspn(p, ",");

		if (len != SIM_ACCOUNT_ID_LEN || strspn(p, "0123456789") < len)
			return -EINVAL;
		memcpy(out[f], p, len);
		out[f][len] = '\0';
		f++;
		p += len;
		if (*p != ',')
			break;
		p++;
	}
	if (*p)
		return -EINVAL; /* more accounts than farms, or a trailing comma */
	/* the farms after the list take its last account */
	for (; f < SIM_FARMS; f++)
		memcpy(out[f], out[f - 1], sizeof(out[f]));
	return 0;
}

static int copy_text(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= size)
		return -EINVAL;
	memcpy(dst, src ? src : "", n + 1);
	return 0;
}

int sim_access_init(struct sim_access *a, const char *key_id, const char *secret, const char *token,
	const char farm_accounts[SIM_FARMS][SIM_ACCOUNT_ID_LEN + 1], const char *identity_account, uint64_t denied)
{
	struct sim_key_slot *home = &a->keys.slots[0];

	memset(a, 0, sizeof(*a));
	home->used = true;
	memcpy(home->account, SIM_HOME_ACCOUNT, sizeof(home->account));
	memcpy(home->principal, SIM_HOME_PRINCIPAL, sizeof(SIM_HOME_PRINCIPAL));
	if (copy_text(home->current.access_key_id, sizeof(home->current.access_key_id), key_id) < 0 ||
		copy_text(home->current.secret_access_key, sizeof(home->current.secret_access_key), secret) < 0 ||
		copy_text(home->current.session_token, sizeof(home->current.session_token), token) < 0)
		return -EINVAL;
	for (size_t f = 0; f < SIM_FARMS; f++)
		memcpy(a->farm_account[f], farm_accounts && farm_accounts[f][0] ? farm_accounts[f] : SIM_HOME_ACCOUNT,
			SIM_ACCOUNT_ID_LEN + 1);
	memcpy(a->identity_account, identity_account ? identity_account : SIM_HOME_ACCOUNT, SIM_ACCOUNT_ID_LEN + 1);
	a->denied_everywhere = denied;
	return 0;
}

const char *sim_keyring_secret(const struct sim_keyring *k, const char *key_id, struct sim_key_match *m)
{
	*m = (struct sim_key_match){.slot = -1, .previous = false};
	if (!key_id)
		return NULL;
	for (int i = 0; i < SIM_KEY_SLOTS; i++) {
		if (k->slots[i].used && strcmp(key_id, k->slots[i].current.access_key_id) == 0) {
			m->slot = i;
			return k->slots[i].current.secret_access_key;
		}
	}
	/* rotated-out keys still verify, so the answer can say "expired" rather than "bad" */
	for (int i = 0; i < SIM_KEY_SLOTS; i++) {
		const struct sim_key_slot *s = &k->slots[i];

		if (s->used && s->have_previous && strcmp(key_id, s->previous.access_key_id) == 0) {
			m->slot = i;
			m->previous = true;
			return s->previous.secret_access_key;
		}
	}
	return NULL;
}

static bool token_is(const char *token, const char *expected)
{
	return expected[0] && token && strcmp(token, expected) == 0;
}

bool sim_access_check_keys(struct sim_state *st, const struct sim_keyring *k, const struct sim_key_match *m, int e,
	const char *why, const char *token, double now, struct sim_response *r)
{
	const struct sim_key_slot *s = m->slot >= 0 ? &k->slots[m->slot] : NULL;

	if (m->slot == -1) {
		sim_api_error(st, r, 403, "UnrecognizedClientException", NULL,
			"The security token included in the request is invalid.");
	} else if (e != 0 || !s) {
		sim_log("signature rejected: %s", why);
		sim_api_error(st, r, 403, "InvalidSignatureException", NULL,
			"The request signature we calculated does not match the signature you provided. %s", why);
	} else if ((m->previous && !token_is(token, s->current.session_token)) ||
		   (s->current.session_token[0] && !token_is(token, s->current.session_token) && s->have_previous &&
			   token_is(token, s->previous.session_token)) ||
		   (!m->previous && s->expires > 0 && now >= s->expires)) {
		sim_api_error(st, r, 403, "ExpiredTokenException", NULL,
			"The security token included in the request is expired");
	} else if (s->current.session_token[0] && !token_is(token, s->current.session_token)) {
		sim_api_error(st, r, 403, "UnrecognizedClientException", NULL,
			"The security token included in the request is invalid.");
	} else {
		return true;
	}
	return false;
}

/* The slot of an account, or -1. */
static int account_slot(const struct sim_access *a, const char *account)
{
	if (strcmp(account, SIM_HOME_ACCOUNT) == 0)
		return 0;
	for (int i = 1; i < SIM_KEY_SLOTS; i++) {
		if (a->keys.slots[i].used && strcmp(a->keys.slots[i].account, account) == 0)
			return i;
	}
	return -1;
}

bool sim_access_authorize(struct sim_state *st, int slot, int target, int op, struct sim_response *r)
{
	const struct sim_access *a = &st->access;
	const char *service = op == SIM_OP_DESCRIBE_USER ? "identitystore" : "deadline";
	const char *account = target >= 0                           ? a->farm_account[target]
			      : target == SIM_ACCESS_IDENTITY_STORE ? a->identity_account
								    : NULL;
	char principal[SIM_PRINCIPAL_MAX], resource[256];
	bool cross_account, denied;
	int own;

	sim_state_lock(st);
	own = account ? account_slot(a, account) : slot;
	/* an account without keys of its own is reached with the default ones, of the home account */
	cross_account = slot >= 0 && slot != (own >= 0 ? own : 0);
	denied = ((a->denied_everywhere | (target >= 0 ? a->denied[target] : 0)) >> op) & 1;
	memcpy(principal, a->keys.slots[slot >= 0 ? slot : 0].principal, sizeof(principal));
	if (cross_account || denied)
		st->access.access_denied++;
	sim_state_unlock(st);
	if (!cross_account && !denied)
		return true;
	if (target >= 0)
		snprintf(resource, sizeof(resource), "arn:aws:deadline:%s:%s:farm/%s",
			st->config->farm_region[target] ? st->config->farm_region[target] : st->config->region, account,
			st->world->farms[target].id);
	else if (target == SIM_ACCESS_IDENTITY_STORE)
		snprintf(resource, sizeof(resource), "arn:aws:identitystore::%s:identitystore/%s", account,
			st->world->identity_store_id);
	else
		snprintf(resource, sizeof(resource), "*");
	/* IAM's wording: another account's resource needs a resource-based policy, a missing action an identity one */
	sim_api_error(st, r, 403, "AccessDeniedException", NULL,
		"User: %s is not authorized to perform: %s:%s on resource: %s because no %s-based policy allows the "
		"%s:%s action",
		principal, service, sim_op_name((enum sim_op)op), resource, cross_account ? "resource" : "identity",
		service, sim_op_name((enum sim_op)op));
	return false;
}

/* ---- control paths ---- */

static void credentials_json(struct sim_state *st, struct sim_response *r)
{
	struct sim_json j;

	if (!sim_response_json_begin(&j, r))
		return;
	sim_json_map_open(&j);
	sim_json_string(&j, "slots");
	sim_json_array_open(&j);
	sim_state_lock(st);
	for (int i = 0; i < SIM_KEY_SLOTS; i++) {
		const struct sim_key_slot *s = &st->access.keys.slots[i];

		if (!s->used)
			continue;
		/* key ids are not secret; the secret keys and session tokens never leave */
		sim_json_map_open(&j);
		sim_json_kv_string(&j, "accountId", s->account);
		sim_json_kv_string(&j, "principalArn", s->principal);
		sim_json_kv_string(&j, "accessKeyId", s->current.access_key_id);
		sim_json_string(&j, "previousAccessKeyId");
		if (s->have_previous)
			sim_json_string(&j, s->previous.access_key_id);
		else
			sim_json_null(&j);
		sim_json_string(&j, "expiration");
		if (s->expires > 0)
			sim_json_double(&j, s->expires);
		else
			sim_json_null(&j);
		sim_json_map_close(&j);
	}
	sim_state_unlock(st);
	sim_json_array_close(&j);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, 200);
}

/* A string member that fits size bytes; NULL when absent or null. Returns false when wrong. */
static bool text_member(yajl_val obj, const char *key, size_t size, const char **out)
{
	yajl_val v = sim_json_member(obj, key);

	*out = NULL;
	if (!v || YAJL_IS_NULL(v))
		return true;
	*out = YAJL_GET_STRING(v);
	return *out && strlen(*out) < size;
}

/* The slot that new keys for account go to (a free one when it has none); -1 when all are taken. */
static int slot_for(struct sim_access *a, const char *account)
{
	int i = account_slot(a, account);

	for (int k = 1; i < 0 && k < SIM_KEY_SLOTS; k++) {
		if (!a->keys.slots[k].used)
			i = k;
	}
	return i;
}

/*
 * {"accessKeyId", "secretAccessKey", "sessionToken"?, "accountId"? | "farmId"?, "principalArn"?, "expiration"?}:
 * the account's keys replaced (the default ones without an account); the replaced ones are expired from then on.
 */
static void set_credentials(struct sim_state *st, const char *body, size_t len, struct sim_response *r)
{
	char err[256];
	yajl_val tree = sim_json_parse(body, len, MAX_CONTROL_DEPTH, err, sizeof(err));
	yajl_val expiration = sim_json_member(tree, "expiration");
	struct sim_credentials c = {.access_key_id = ""};
	const char *id, *secret, *token, *account, *farm_id, *principal;
	struct sim_key_slot *s;
	int slot;

	if (!tree) {
		sim_control_error(r, 400, "bad JSON: %s", err);
		return;
	}
	if (!text_member(tree, "accessKeyId", sizeof(c.access_key_id), &id) || !id || !id[0] ||
		!text_member(tree, "secretAccessKey", sizeof(c.secret_access_key), &secret) || !secret || !secret[0] ||
		!text_member(tree, "sessionToken", sizeof(c.session_token), &token) ||
		!text_member(tree, "accountId", SIM_ACCOUNT_ID_LEN + 1, &account) ||
		!text_member(tree, "farmId", 64, &farm_id) ||
		!text_member(tree, "principalArn", SIM_PRINCIPAL_MAX, &principal) || (account && farm_id) ||
		(account && !sim_account_id_valid(account)) ||
		(expiration && !YAJL_IS_NULL(expiration) && !YAJL_IS_NUMBER(expiration))) {
		sim_control_error(r, 400,
			"expected {\"accessKeyId\":…,\"secretAccessKey\":…,\"sessionToken\":…|null} and at most one "
			"of \"accountId\" (12 digits) and \"farmId\", \"principalArn\", \"expiration\" (UTC seconds)");
		goto out;
	}
	if (farm_id) {
		int f = sim_world_find_farm(st->world, farm_id);

		if (f < 0) {
			sim_control_error(r, 404, "no farm %.64s", farm_id);
			goto out;
		}
		account = st->access.farm_account[f];
	}
	memcpy(c.access_key_id, id, strlen(id) + 1);
	memcpy(c.secret_access_key, secret, strlen(secret) + 1);
	if (token)
		memcpy(c.session_token, token, strlen(token) + 1);
	sim_state_lock(st);
	slot = slot_for(&st->access, account ? account : SIM_HOME_ACCOUNT);
	if (slot < 0) {
		sim_state_unlock(st);
		sim_control_error(r, 409, "keys for at most %d accounts", SIM_KEY_SLOTS);
		goto out;
	}
	s = &st->access.keys.slots[slot];
	if (s->used) {
		s->previous = s->current;
		s->have_previous = true;
	} else {
		s->used = true;
		memcpy(s->account, account, SIM_ACCOUNT_ID_LEN + 1);
		snprintf(s->principal, sizeof(s->principal), "arn:aws:sts::%s:assumed-role/simulator/simulator",
			account);
	}
	s->current = c;
	s->expires = expiration && YAJL_IS_NUMBER(expiration) ? YAJL_GET_DOUBLE(expiration) : 0;
	if (principal)
		snprintf(s->principal, sizeof(s->principal), "%s", principal);
	sim_state_unlock(st);
	sim_log("credentials for account %s: access key id %s", account ? account : SIM_HOME_ACCOUNT, c.access_key_id);
	credentials_json(st, r);
out:
	yajl_tree_free(tree);
}

static void deny_list(struct sim_json *j, uint64_t mask)
{
	sim_json_array_open(j);
	for (int o = 0; o < SIM_OP_UNKNOWN; o++) {
		if ((mask >> o) & 1)
			sim_json_string(j, sim_op_name((enum sim_op)o));
	}
	sim_json_array_close(j);
}

static void deny_json(struct sim_state *st, struct sim_response *r)
{
	struct sim_json j;

	if (!sim_response_json_begin(&j, r))
		return;
	sim_state_lock(st);
	sim_json_map_open(&j);
	sim_json_string(&j, "everywhere");
	deny_list(&j, st->access.denied_everywhere);
	sim_json_string(&j, "farms");
	sim_json_map_open(&j);
	for (size_t f = 0; f < SIM_FARMS; f++) {
		sim_json_string(&j, st->world->farms[f].id);
		deny_list(&j, st->access.denied[f]);
	}
	sim_json_map_close(&j);
	sim_json_kv_int(&j, "accessDenied", (long long)st->access.access_denied);
	sim_json_map_close(&j);
	sim_state_unlock(st);
	sim_response_json_finish(&j, r, 200);
}

/* {"operations":[…], "farmId":F|"*"}: the operations denied there from now on (replacing the previous list) */
static void set_deny(struct sim_state *st, const char *body, size_t len, struct sim_response *r)
{
	char err[256];
	yajl_val tree = sim_json_parse(body, len, MAX_CONTROL_DEPTH, err, sizeof(err));
	yajl_val ops = sim_json_member(tree, "operations"), farm_v = sim_json_member(tree, "farmId");
	const char *farm_id = farm_v ? YAJL_GET_STRING(farm_v) : "*";
	uint64_t mask = 0;
	int f = -1;

	if (!tree || !YAJL_IS_OBJECT(tree) || !ops || !YAJL_IS_ARRAY(ops) || !farm_id ||
		tree->u.object.len != (farm_v ? 2u : 1u)) {
		sim_control_error(r, 400, "expected {\"operations\":[…], \"farmId\":…|\"*\"}%s%s", tree ? "" : ": ",
			tree ? "" : err);
		goto out;
	}
	for (size_t i = 0; i < ops->u.array.len; i++) {
		const char *name = YAJL_GET_STRING(ops->u.array.values[i]);
		int o = name ? operation_named(name, strlen(name)) : -1;

		if (o < 0) {
			sim_control_error(r, 400, "unknown operation %.64s", name ? name : "(not a string)");
			goto out;
		}
		mask |= UINT64_C(1) << o;
	}
	if (strcmp(farm_id, "*") != 0) {
		f = sim_world_find_farm(st->world, farm_id);
		if (f < 0) {
			sim_control_error(r, 404, "no farm %.64s", farm_id);
			goto out;
		}
	}
	sim_state_lock(st);
	if (f < 0)
		st->access.denied_everywhere = mask;
	else
		st->access.denied[f] = mask;
	sim_state_unlock(st);
	sim_log("deny: %zu operations on %s", ops->u.array.len, farm_id);
	deny_json(st, r);
out:
	yajl_tree_free(tree);
}

static void control(struct sim_state *st, const char *method, const char *body, size_t len, struct sim_response *r,
	void (*get)(struct sim_state *, struct sim_response *),
	void (*post)(struct sim_state *, const char *, size_t, struct sim_response *))
{
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		get(st, r);
	} else if (strcmp(method, "POST") == 0) {
		post(st, body, len, r);
	} else {
		sim_control_error(r, 405, "%s is not allowed here", method);
		r->allow = "GET, HEAD, POST";
	}
}

void sim_access_credentials_control(
	struct sim_state *st, const char *method, const char *body, size_t body_len, struct sim_response *r)
{
	control(st, method, body, body_len, r, credentials_json, set_credentials);
}

void sim_access_deny_control(
	struct sim_state *st, const char *method, const char *body, size_t body_len, struct sim_response *r)
{
	control(st, method, body, body_len, r, deny_json, set_deny);
}
