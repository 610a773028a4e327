/* sim_control: the unsigned /__sim/ paths the tests use to read the source data and counters and to steer faults */
#include "sim_activity.h"
#include "sim_api.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONTROL_DEPTH 8

void sim_control_error(struct sim_response *r, unsigned status, const char *fmt, ...)
{
	char message[512];
	struct sim_json j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (!sim_response_json_begin(&j, r))
		return;
	sim_json_map_open(&j);
	sim_json_kv_string(&j, "message", message);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, status);
}

static void farms(struct sim_state *st, struct sim_response *r)
{
	const struct sim_world *w = st->world;
	struct sim_json j;

	if (!sim_response_json_begin(&j, r))
		return;
	sim_json_map_open(&j);
	sim_json_string(&j, "farms");
	sim_json_array_open(&j);
	for (size_t f = 0; f < SIM_FARMS; f++) {
		const struct sim_farm *farm = &w->farms[f];
		size_t n_live;

		sim_json_map_open(&j);
		sim_json_kv_string(&j, "farmId", farm->id);
		sim_json_string(&j, "queueIds");
		sim_json_array_open(&j);
		for (size_t i = 0; i < farm->n_queues; i++)
			sim_json_string(&j, farm->queues[i].id);
		sim_json_array_close(&j);
		sim_json_string(&j, "fleetIds");
		sim_json_array_open(&j);
		for (size_t i = 0; i < farm->n_fleets; i++)
			sim_json_string(&j, farm->fleets[i].id);
		sim_json_array_close(&j);
		sim_state_lock(st);
		n_live = sim_spend_count(st, f);
		sim_state_unlock(st);
		sim_json_kv_int(&j, "sessionCount", (long long)(farm->n_sessions + n_live));
		sim_json_kv_int(&j, "liveSessionCount", (long long)n_live);
		/* fixed at start: no lock */
		sim_json_kv_string(&j, "accountId", st->access.farm_account[f]);
		sim_json_map_close(&j);
	}
	sim_json_array_close(&j);
	sim_json_kv_int(&j, "dataEpoch", w->epoch);
	sim_json_kv_string(&j, "homeAccountId", SIM_HOME_ACCOUNT);
	sim_json_kv_string(&j, "identityAccountId", st->access.identity_account);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, 200);
}

static void aggregations(struct sim_state *st, struct sim_response *r)
{
	static const char *const status_names[] = {
		[SIM_AGG_IN_PROGRESS] = "IN_PROGRESS",
		[SIM_AGG_COMPLETED] = "COMPLETED",
		[SIM_AGG_FAILED] = "FAILED",
		[SIM_AGG_TIMEOUT] = "TIMEOUT",
	};
	struct sim_json j;
	double now;

	if (!sim_response_json_begin(&j, r))
		return;
	sim_json_map_open(&j);
	sim_json_string(&j, "aggregations");
	sim_json_array_open(&j);
	sim_state_lock(st);
	now = sim_monotonic();
	for (size_t i = 0; i < st->n_aggs; i++) {
		const struct sim_aggregation *a = st->aggs[i];

		sim_json_map_open(&j);
		sim_json_kv_string(&j, "aggregationId", a->id);
		sim_agg_request_json(&j, st->world, &a->req);
		sim_json_kv_double(&j, "startedAt", a->started_at);
		sim_json_kv_double(&j, "completedAt", a->completed_at);
		sim_json_kv_string(&j, "status", a->expired ? "EXPIRED" : status_names[sim_aggregation_status(a, now)]);
		if (!a->computing && !a->expired && a->outcome == SIM_AGG_COMPLETED)
			sim_json_kv_int(&j, "rowCount", (long long)a->result.n_rows);
		sim_json_map_close(&j);
	}
	sim_state_unlock(st);
	sim_json_array_close(&j);
	sim_json_kv_double(&j, "now", now);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, 200);
}

static void stats(struct sim_state *st, struct sim_response *r)
{
	struct sim_json j;
	char code[8];

	if (!sim_response_json_begin(&j, r))
		return;
	sim_json_map_open(&j);
	sim_json_string(&j, "requests");
	sim_json_map_open(&j);
	sim_state_lock(st);
	for (int op = 0; op < SIM_OP_COUNT; op++) {
		bool any = false;

		for (unsigned c = 0; c < SIM_HTTP_CODES; c++)
			any = any || st->requests[op][c];
		if (op == SIM_OP_UNKNOWN && !any)
			continue;
		sim_json_string(&j, sim_op_name((enum sim_op)op));
		sim_json_map_open(&j);
		for (unsigned c = 0; c < SIM_HTTP_CODES; c++) {
			if (!st->requests[op][c])
				continue;
			snprintf(code, sizeof(code), "%u", c);
			sim_json_kv_int(&j, code, (long long)st->requests[op][c]);
		}
		sim_json_map_close(&j);
	}
	sim_json_map_close(&j);
	sim_json_kv_int(&j, "signatureFailures", (long long)st->signature_failures);
	sim_json_kv_int(&j, "concurrentStartsRefused", (long long)st->concurrent_starts_refused);
	sim_json_kv_int(&j, "faultsInjected", (long long)st->faults_injected);
	sim_json_kv_int(&j, "aggregationsStarted", (long long)st->n_aggs);
	/* the identity store's DescribeUser calls per user id (those made at least once) */
	sim_json_string(&j, "describeUserCalls");
	sim_json_map_open(&j);
	for (size_t i = 0; i < st->world->n_users; i++) {
		if (st->describe_user_calls[i])
			sim_json_kv_int(&j, st->world->users[i].id, (long long)st->describe_user_calls[i]);
	}
	sim_json_map_close(&j);
	sim_state_unlock(st);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, 200);
}

static void faults_json(struct sim_state *st, struct sim_response *r)
{
	struct sim_json j;

	if (!sim_response_json_begin(&j, r))
		return;
	sim_state_lock(st);
	sim_json_map_open(&j);
	sim_json_kv_double(&j, "throttleRate", st->throttle_rate);
	sim_json_kv_double(&j, "errorRate", st->error_rate);
	sim_json_kv_double(&j, "brokenRate", st->broken_rate);
	sim_json_kv_double(&j, "failRate", st->fail_rate);
	sim_json_kv_double(&j, "timeoutRate", st->timeout_rate);
	sim_json_string(&j, "targeted");
	sim_json_array_open(&j);
	for (size_t i = 0; i < st->n_targeted; i++) {
		const struct sim_targeted *t = &st->targeted[i];

		sim_json_map_open(&j);
		sim_json_kv_string(&j, "mode", sim_tfault_names[t->mode]);
		sim_json_kv_string(&j, "operation", t->op < 0 ? "*" : sim_op_name((enum sim_op)t->op));
		sim_json_kv_string(&j, "farmId", t->farm < 0 ? "*" : st->world->farms[t->farm].id);
		sim_json_kv_int(&j, "count", (long long)t->remaining);
		sim_json_kv_int(&j, "param", t->param);
		sim_json_map_close(&j);
	}
	sim_json_array_close(&j);
	sim_json_map_close(&j);
	sim_state_unlock(st);
	sim_response_json_finish(&j, r, 200);
}

/* {"mode":…, "operation":"<Op>"|"*", "farmId":…|"*", "count":N, "param":P} or {"mode":"clear"} */
static void set_targeted(struct sim_state *st, yajl_val tree, struct sim_response *r)
{
	struct sim_targeted t = {.op = -1, .farm = -1, .remaining = 1, .param = 0};
	const char *mode = NULL;
	bool clear = false;

	for (size_t i = 0; i < tree->u.object.len; i++) {
		const char *k = tree->u.object.keys[i];
		yajl_val v = tree->u.object.values[i];

		if (strcmp(k, "mode") == 0) {
			mode = YAJL_GET_STRING(v);
			if (!mode) {
				sim_control_error(r, 400, "mode must be a string");
				return;
			}
		} else if (strcmp(k, "operation") == 0) {
			const char *op = YAJL_GET_STRING(v);
			bool found = false;

			if (!op) {
				sim_control_error(r, 400, "operation must be a string");
				return;
			}
			for (int o = 0; o < SIM_OP_UNKNOWN && strcmp(op, "*") != 0; o++) {
				if (strcmp(op, sim_op_name((enum sim_op)o)) == 0) {
					t.op = o;
					found = true;
				}
			}
			if (!found && strcmp(op, "*") != 0) {
				sim_control_error(r, 400, "unknown operation %.64s", op);
				return;
			}
		} else if (strcmp(k, "farmId") == 0) {
			const char *farm = YAJL_GET_STRING(v);

			if (!farm) {
				sim_control_error(r, 400, "farmId must be a string");
				return;
			}
			if (strcmp(farm, "*") != 0) {
				t.farm = sim_world_find_farm(st->world, farm);
				if (t.farm < 0) {
					sim_control_error(r, 400, "no farm %.64s", farm);
					return;
				}
			}
		} else if (strcmp(k, "count") == 0 || strcmp(k, "param") == 0) {
			if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0) {
				sim_control_error(r, 400, "%s must be a non-negative integer", k);
				return;
			}
			if (k[0] == 'c')
				t.remaining = (uint64_t)YAJL_GET_INTEGER(v);
			else
				t.param = YAJL_GET_INTEGER(v);
		} else {
			sim_control_error(r, 400, "unknown member %.64s", k);
			return;
		}
	}
	if (strcmp(mode, "clear") == 0) {
		clear = true;
	} else {
		size_t m;

		for (m = 0; m < SIM_TF_COUNT; m++) {
			if (strcmp(mode, sim_tfault_names[m]) == 0)
				break;
		}
		if (m == SIM_TF_COUNT) {
			sim_control_error(r, 400, "unknown mode %.64s", mode);
			return;
		}
		t.mode = (enum sim_tfault)m;
	}
	sim_state_lock(st);
	if (clear) {
		/* the faults waiting, the fault tokens given out (they turn invalid) and the busy farms */
		st->n_targeted = 0;
		st->token_generation++;
		for (size_t f = 0; f < SIM_FARMS; f++)
			st->busy_until[f] = 0;
	} else if (t.remaining > 0) {
		if (st->n_targeted == SIM_TARGETED_MAX) {
			sim_state_unlock(st);
			sim_control_error(r, 400, "at most %d targeted faults at once", SIM_TARGETED_MAX);
			return;
		}
		st->targeted[st->n_targeted++] = t;
	}
	sim_state_unlock(st);
	sim_log("faults: %s%s", clear ? "cleared" : "targeted ", clear ? "" : sim_tfault_names[t.mode]);
	faults_json(st, r);
}

/* {"farmId":…, "seconds":S}: the farm runs someone else's aggregation for S seconds (0: no longer) */
static void set_busy(struct sim_state *st, const char *body, size_t len, struct sim_response *r)
{
	char err[256];
	yajl_val tree = sim_json_parse(body, len, MAX_CONTROL_DEPTH, err, sizeof(err));
	yajl_val farm_v, seconds_v;
	const char *farm_id;
	struct sim_json j;
	int farm;

	if (!tree) {
		sim_control_error(r, 400, "bad JSON: %s", err);
		return;
	}
	farm_v = sim_json_member(tree, "farmId");
	seconds_v = sim_json_member(tree, "seconds");
	farm_id = farm_v ? YAJL_GET_STRING(farm_v) : NULL;
	if (!farm_id || !seconds_v || !YAJL_IS_NUMBER(seconds_v) || YAJL_GET_DOUBLE(seconds_v) < 0 ||
		YAJL_GET_DOUBLE(seconds_v) > 86400) {
		sim_control_error(r, 400, "expected {\"farmId\":…,\"seconds\":0…86400}");
		goto out;
	}
	farm = sim_world_find_farm(st->world, farm_id);
	if (farm < 0) {
		sim_control_error(r, 404, "no farm %.64s", farm_id);
		goto out;
	}
	sim_state_lock(st);
	st->busy_until[farm] = YAJL_GET_DOUBLE(seconds_v) > 0 ? sim_monotonic() + YAJL_GET_DOUBLE(seconds_v) : 0;
	sim_state_unlock(st);
	sim_log("farm %s busy for %gs", farm_id, YAJL_GET_DOUBLE(seconds_v));
	if (!sim_response_json_begin(&j, r))
		goto out;
	sim_json_map_open(&j);
	sim_json_kv_string(&j, "farmId", farm_id);
	sim_json_kv_double(&j, "seconds", YAJL_GET_DOUBLE(seconds_v));
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, 200);
out:
	yajl_tree_free(tree);
}

static const char *const rate_names[] = {"throttleRate", "errorRate", "brokenRate", "failRate", "timeoutRate"};
#define N_RATES (sizeof(rate_names) / sizeof(rate_names[0]))

static void set_faults(struct sim_state *st, const char *body, size_t len, struct sim_response *r)
{
	char err[256];
	yajl_val tree = sim_json_parse(body, len, MAX_CONTROL_DEPTH, err, sizeof(err));
	double rates[N_RATES] = {0};
	bool given[N_RATES] = {false};
	long long seed = -1;

	if (!tree) {
		sim_control_error(r, 400, "bad JSON: %s", err);
		return;
	}
	if (!YAJL_IS_OBJECT(tree)) {
		sim_control_error(r, 400, "expected an object");
		goto out;
	}
	if (sim_json_member(tree, "mode")) {
		set_targeted(st, tree, r);
		goto out;
	}
	for (size_t i = 0; i < tree->u.object.len; i++) {
		const char *k = tree->u.object.keys[i];
		yajl_val v = tree->u.object.values[i];
		bool known = false;

		if (strcmp(k, "faultSeed") == 0) {
			if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0) {
				sim_control_error(r, 400, "faultSeed must be a non-negative integer");
				goto out;
			}
			seed = YAJL_GET_INTEGER(v);
			continue;
		}
		for (size_t n = 0; n < N_RATES; n++) {
			if (strcmp(k, rate_names[n]) != 0)
				continue;
			known = true;
			if (!YAJL_IS_DOUBLE(v) || !(YAJL_GET_DOUBLE(v) >= 0.0 && YAJL_GET_DOUBLE(v) <= 1.0)) {
				sim_control_error(r, 400, "%s must be a number in [0, 1]", k);
				goto out;
			}
			rates[n] = YAJL_GET_DOUBLE(v);
			given[n] = true;
		}
		if (!known) {
			sim_control_error(r, 400, "unknown member %.64s", k);
			goto out;
		}
	}
	sim_state_lock(st);
	if (given[0])
		st->throttle_rate = rates[0];
	if (given[1])
		st->error_rate = rates[1];
	if (given[2])
		st->broken_rate = rates[2];
	if (given[3])
		st->fail_rate = rates[3];
	if (given[4])
		st->timeout_rate = rates[4];
	if (seed >= 0) {
		sim_rng_seed(&st->fault_rng, (uint64_t)seed, "faults");
		sim_rng_seed(&st->outcome_rng, (uint64_t)seed, "outcomes");
	}
	sim_log("faults: throttle=%g error=%g broken=%g fail=%g timeout=%g", st->throttle_rate, st->error_rate,
		st->broken_rate, st->fail_rate, st->timeout_rate);
	sim_state_unlock(st);
	faults_json(st, r);
out:
	yajl_tree_free(tree);
}

static bool is_get(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

bool sim_control(struct sim_state *st, const char *method, const char *path, const struct sim_query *q,
	const char *body, size_t body_len, struct sim_response *r)
{
	const char *allow = NULL;

	if (strcmp(path, "/__sim/farms") == 0) {
		if (is_get(method))
			farms(st, r);
		else
			allow = "GET, HEAD";
	} else if (strcmp(path, "/__sim/sessions") == 0) {
		if (is_get(method))
			sim_spend_sessions(st, q, r);
		else
			allow = "GET, HEAD";
	} else if (strcmp(path, "/__sim/aggregations") == 0) {
		if (is_get(method))
			aggregations(st, r);
		else
			allow = "GET, HEAD";
	} else if (strcmp(path, "/__sim/stats") == 0) {
		if (is_get(method))
			stats(st, r);
		else
			allow = "GET, HEAD";
	} else if (strcmp(path, "/__sim/faults") == 0) {
		if (strcmp(method, "POST") == 0)
			set_faults(st, body, body_len, r);
		else if (is_get(method))
			faults_json(st, r);
		else
			allow = "GET, HEAD, POST";
	} else if (strcmp(path, "/__sim/busy") == 0) {
		if (strcmp(method, "POST") == 0)
			set_busy(st, body, body_len, r);
		else
			allow = "POST";
	} else if (strcmp(path, "/__sim/spend") == 0) {
		sim_spend_control(st, method, body, body_len, r);
	} else if (strcmp(path, "/__sim/inventory") == 0) {
		sim_inventory_control(st, method, body, body_len, r);
	} else if (strcmp(path, "/__sim/activity") == 0) {
		sim_activity_control(st, method, q, body, body_len, r);
	} else if (strcmp(path, "/__sim/identity") == 0) {
		sim_identity_control(st, method, body, body_len, r);
	} else if (strcmp(path, "/__sim/credentials") == 0) {
		sim_access_credentials_control(st, method, body, body_len, r);
	} else if (strcmp(path, "/__sim/deny") == 0) {
		sim_access_deny_control(st, method, body, body_len, r);
	} else {
		return false;
	}
	if (allow) {
		sim_control_error(r, 405, "%s is not allowed on %s", method, path);
		r->allow = allow;
	}
	return true;
}
