/* sim_state: the simulator's configuration and its mutable state (aggregations, faults, counters) under one lock */
#include "sim_state.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool log_quiet;

void sim_log_set_quiet(bool quiet)
{
	log_quiet = quiet;
}

void sim_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (log_quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one event, one line */
	for (char *p = line; *p; p++) {
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
	(void)fprintf(stderr, "deadline-cloud-simulator: %s\n", line);
}

int sim_state_init(struct sim_state *st, const struct sim_config *config, const struct sim_world *world)
{
	int r;

	memset(st, 0, sizeof(*st));
	st->config = config;
	st->world = world;
	r = sim_token_key_init(&st->token_key, config->seed);
	if (r < 0)
		return r;
	r = sim_access_init(&st->access, config->access_key_id, config->secret_access_key, config->session_token,
		config->farm_accounts, config->identity_account, config->deny_operations);
	if (r < 0)
		return r;
	sim_rng_seed(&st->fault_rng, config->fault_seed, "faults");
	sim_rng_seed(&st->outcome_rng, config->fault_seed, "outcomes");
	st->throttle_rate = config->throttle_rate;
	st->error_rate = config->error_rate;
	st->broken_rate = config->broken_rate;
	st->fail_rate = config->fail_rate;
	st->timeout_rate = config->timeout_rate;
	sim_rng_seed(&st->identity_rng, config->fault_seed, "identity");
	st->identity_throttle_rate = config->identity_throttle_rate;
	st->inventory_origin = sim_monotonic();
	st->inventory_pinned_step = -1;
	st->activity_origin = st->inventory_origin;
	st->activity_pinned_step = -1;
	st->describe_user_calls = calloc(world->n_users ? world->n_users : 1, sizeof(*st->describe_user_calls));
	if (!st->describe_user_calls)
		return -ENOMEM;
	r = sim_spend_init(&st->spend, world, config->live_per_minute, (int64_t)floor(sim_realtime()));
	if (r == 0) {
		r = -pthread_mutex_init(&st->lock, NULL);
		if (r)
			sim_spend_deinit(&st->spend);
	}
	if (r) {
		free(st->describe_user_calls);
		st->describe_user_calls = NULL;
		return r;
	}
	return 0;
}

void sim_state_deinit(struct sim_state *st)
{
	for (size_t i = 0; i < st->n_aggs; i++) {
		sim_agg_result_deinit(&st->aggs[i]->result);
		free(st->aggs[i]);
	}
	free(st->aggs);
	st->aggs = NULL;
	st->n_aggs = 0;
	free(st->describe_user_calls);
	st->describe_user_calls = NULL;
	sim_spend_deinit(&st->spend);
	(void)pthread_mutex_destroy(&st->lock);
}

void sim_state_lock(struct sim_state *st)
{
	if (pthread_mutex_lock(&st->lock) != 0)
		abort();
}

void sim_state_unlock(struct sim_state *st)
{
	if (pthread_mutex_unlock(&st->lock) != 0)
		abort();
}

double sim_monotonic(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		abort();
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sim_state_expire(struct sim_state *st, double now)
{
	for (size_t i = 0; i < st->n_aggs; i++) {
		struct sim_aggregation *a = st->aggs[i];

		if (!a->expired && !a->computing && now >= a->started_at + (double)st->config->aggregation_ttl_s) {
			a->expired = true;
			sim_agg_result_deinit(&a->result);
		}
	}
}

enum sim_agg_status sim_aggregation_status(const struct sim_aggregation *a, double now)
{
	if (a->computing || now < a->completed_at)
		return SIM_AGG_IN_PROGRESS;
	return a->outcome;
}

int sim_state_start(struct sim_state *st, const struct sim_agg_request *req, double now, struct sim_aggregation **out)
{
	return sim_state_start_forced(st, req, now, SIM_AGG_IN_PROGRESS, out);
}

const char *const sim_tfault_names[SIM_TF_COUNT] = {
	[SIM_TF_RESET] = "reset",
	[SIM_TF_STALL] = "stall",
	[SIM_TF_CLOSE] = "close",
	[SIM_TF_THROTTLE] = "throttle",
	[SIM_TF_THROTTLE_RETRY_AFTER] = "throttle_retry_after",
	[SIM_TF_ERROR_500] = "error_500",
	[SIM_TF_ERROR_502] = "error_502",
	[SIM_TF_ERROR_503] = "error_503",
	[SIM_TF_MALFORMED] = "malformed",
	[SIM_TF_TRUNCATED] = "truncated",
	[SIM_TF_WRONG_TYPES] = "wrong_types",
	[SIM_TF_HUGE] = "huge",
	[SIM_TF_DEEP] = "deep",
	[SIM_TF_REPEAT_TOKEN] = "repeat_token",
	[SIM_TF_ENDLESS_PAGES] = "endless_pages",
	[SIM_TF_FAILED] = "failed",
	[SIM_TF_TIMEOUT] = "timeout",
	[SIM_TF_EXPIRE] = "expire",
	[SIM_TF_EXPIRED_TOKEN] = "expired_token",
	[SIM_TF_ACCESS_DENIED] = "access_denied",
	[SIM_TF_UNKNOWN_FARM] = "unknown_farm",
};

bool sim_state_take_targeted(
	struct sim_state *st, enum sim_op op, size_t farm, unsigned modes, struct sim_targeted *out)
{
	for (size_t i = 0; i < st->n_targeted; i++) {
		struct sim_targeted *t = &st->targeted[i];

		if (!(modes & (1u << t->mode)) || (t->op >= 0 && t->op != (int)op) ||
			(t->farm >= 0 && (farm >= SIM_FARMS || t->farm != (int)farm)) || t->remaining == 0)
			continue;
		*out = *t;
		st->faults_injected++;
		if (--t->remaining == 0) {
			memmove(t, t + 1, (st->n_targeted - i - 1) * sizeof(*t));
			st->n_targeted--;
		}
		return true;
	}
	return false;
}

int sim_state_start_forced(struct sim_state *st, const struct sim_agg_request *req, double now,
	enum sim_agg_status forced, struct sim_aggregation **out)
{
	struct sim_aggregation *a;
	char label[64];
	double u;
	int n, r;

	for (size_t i = 0; i < st->n_aggs; i++) {
		if (st->aggs[i]->req.farm == req->farm &&
			sim_aggregation_status(st->aggs[i], now) == SIM_AGG_IN_PROGRESS) {
			st->concurrent_starts_refused++;
			return 1;
		}
	}
	if (req->farm < SIM_FARMS && now < st->busy_until[req->farm]) {
		/* someone else's aggregation (POST /__sim/busy) */
		st->concurrent_starts_refused++;
		return 1;
	}
	if (st->n_aggs == st->cap_aggs) {
		size_t cap = st->cap_aggs ? 2 * st->cap_aggs : 16;
		struct sim_aggregation **aggs = realloc(st->aggs, cap * sizeof(*aggs));

		if (!aggs)
			return -ENOMEM;
		st->aggs = aggs;
		st->cap_aggs = cap;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	n = snprintf(label, sizeof(label), "aggregation/%zu", st->n_aggs);
	if (n < 0 || (size_t)n >= sizeof(label)) {
		free(a);
		return -EINVAL;
	}
	r = sim_derive_hex(st->config->seed, label, a->id, a->raw_id);
	if (r < 0) {
		free(a);
		return r;
	}
	a->req = *req;
	a->started_at = now;
	a->completed_at = now + (double)st->config->aggregation_delay_ms / 1000.0;
	u = sim_rng_unit(&st->outcome_rng);
	if (forced == SIM_AGG_FAILED || forced == SIM_AGG_TIMEOUT) {
		/* targeted: the same draws as without it, so the random outcomes that follow do not change */
		if (!(u < st->fail_rate))
			(void)sim_rng_unit(&st->outcome_rng);
		a->outcome = forced;
		snprintf(a->status_message, sizeof(a->status_message),
			forced == SIM_AGG_FAILED
				? "Aggregation failed (injected): reduce the time range or the number of resources"
				: "Aggregation timed out (injected): use a longer period or a shorter time range");
		/* counted when the fault was taken */
		st->faults_injected--;
	} else if (u < st->fail_rate) {
		a->outcome = SIM_AGG_FAILED;
		snprintf(a->status_message, sizeof(a->status_message),
			"Aggregation failed (injected): reduce the time range or the number of resources");
	} else if (sim_rng_unit(&st->outcome_rng) < st->timeout_rate) {
		a->outcome = SIM_AGG_TIMEOUT;
		snprintf(a->status_message, sizeof(a->status_message),
			"Aggregation timed out (injected): use a longer period or a shorter time range");
	} else {
		a->outcome = SIM_AGG_COMPLETED;
		a->computing = true;
	}
	if (a->outcome != SIM_AGG_COMPLETED)
		st->faults_injected++;
	st->aggs[st->n_aggs++] = a;
	*out = a;
	return 0;
}

struct sim_aggregation *sim_state_find(struct sim_state *st, size_t farm, const char *id)
{
	for (size_t i = 0; i < st->n_aggs; i++) {
		if (st->aggs[i]->req.farm == farm && strcmp(st->aggs[i]->id, id) == 0)
			return st->aggs[i];
	}
	return NULL;
}

enum sim_fault sim_state_draw_fault(struct sim_state *st)
{
	enum sim_fault f = SIM_FAULT_NONE;
	uint64_t variant;

	/* one draw per kind, in a fixed order, so a rate of 1 means every request */
	if (sim_rng_unit(&st->fault_rng) < st->throttle_rate) {
		variant = sim_rng_below(&st->fault_rng, 2);
		f = variant ? SIM_FAULT_THROTTLE_RETRY_AFTER : SIM_FAULT_THROTTLE;
	} else if (sim_rng_unit(&st->fault_rng) < st->error_rate) {
		variant = sim_rng_below(&st->fault_rng, 4);
		f = variant == 0 ? SIM_FAULT_ERROR_502 : variant == 1 ? SIM_FAULT_ERROR_503 : SIM_FAULT_ERROR_500;
	} else if (sim_rng_unit(&st->fault_rng) < st->broken_rate) {
		variant = sim_rng_below(&st->fault_rng, 3);
		f = variant == 0   ? SIM_FAULT_BROKEN_TRUNCATED
		    : variant == 1 ? SIM_FAULT_BROKEN_HTML
				   : SIM_FAULT_BROKEN_EMPTY;
	}
	if (f != SIM_FAULT_NONE)
		st->faults_injected++;
	return f;
}

void sim_state_count(struct sim_state *st, enum sim_op op, unsigned http_status)
{
	if (http_status < SIM_HTTP_CODES)
		st->requests[op][http_status]++;
}

const char *sim_op_name(enum sim_op op)
{
	static const char *const names[SIM_OP_COUNT] = {
		[SIM_OP_START] = "StartSessionsStatisticsAggregation",
		[SIM_OP_GET] = "GetSessionsStatisticsAggregation",
		[SIM_OP_LIST_QUEUES] = "ListQueues",
		[SIM_OP_LIST_FLEETS] = "ListFleets",
		[SIM_OP_GET_FARM] = "GetFarm",
		[SIM_OP_LIST_BUDGETS] = "ListBudgets",
		[SIM_OP_GET_BUDGET] = "GetBudget",
		[SIM_OP_DESCRIBE_USER] = "DescribeUser",
		[SIM_OP_LIST_WORKERS] = "ListWorkers",
		[SIM_OP_SEARCH_JOBS] = "SearchJobs",
		[SIM_OP_LIST_QUEUE_FLEET_ASSOCIATIONS] = "ListQueueFleetAssociations",
		[SIM_OP_LIST_LIMITS] = "ListLimits",
		[SIM_OP_LIST_LICENSE_ENDPOINTS] = "ListLicenseEndpoints",
		[SIM_OP_GET_CALLER_IDENTITY] = "GetCallerIdentity",
		[SIM_OP_UNKNOWN] = "Unknown",
	};

	return names[op];
}

bool sim_op_paginated(enum sim_op op)
{
	return op == SIM_OP_GET || op == SIM_OP_LIST_QUEUES || op == SIM_OP_LIST_FLEETS || op == SIM_OP_LIST_BUDGETS ||
	       op == SIM_OP_LIST_WORKERS || op == SIM_OP_LIST_QUEUE_FLEET_ASSOCIATIONS || op == SIM_OP_LIST_LIMITS ||
	       op == SIM_OP_LIST_LICENSE_ENDPOINTS;
}

uint64_t sim_state_inventory_step(struct sim_state *st)
{
	double elapsed;

	if (st->inventory_pinned_step >= 0)
		return (uint64_t)st->inventory_pinned_step;
	elapsed = sim_monotonic() - st->inventory_origin;
	return elapsed > 0 ? (uint64_t)(elapsed / (double)st->config->inventory_step_s) : 0;
}

const char *sim_identity_region(const struct sim_state *st)
{
	return st->config->identity_region ? st->config->identity_region : st->config->region;
}

const char *sim_farm_region(const struct sim_state *st, size_t farm)
{
	return farm < SIM_FARMS && st->config->farm_region[farm] ? st->config->farm_region[farm] : st->config->region;
}
