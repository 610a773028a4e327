/* sim_inv: the synthetic inventory: farm names, queue and fleet states, budgets and the identity store's users */
#include "sim_data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_SECONDS INT64_C(86400)
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Budgets per farm: enough in the first that small pages need several. */
static const size_t farm_budgets[SIM_FARMS] = {23, 5, 0};
static const double cost_scale_factors[SIM_FARMS] = {1.0, 0.85, 1.25};

static const char *const farm_names[SIM_FARMS] = {
	"Studio \"Nord\" \\ Render\nFarm – 渲染 🎬",
	"Farm B (München)",
	"ファーム \\\\srv\\share \"3\"",
};
static const char *const farm_descriptions[SIM_FARMS] = {"Main farm: \"prod\" \\ all shows", NULL, "Small farm"};

/* FleetStatus of each fleet: every value of the enum appears across the farms. */
static const char *const fleet_statuses[] = {
	"ACTIVE", "ACTIVE", "UPDATE_IN_PROGRESS", "ACTIVE", "SUSPENDED", "CREATE_FAILED", /* farm 0 */
	"ACTIVE", "CREATE_IN_PROGRESS", "UPDATE_FAILED", /* farm 1 */
	"ACTIVE", /* farm 2 */
};

static const char *const budget_names[] = {
	"Budget %02zu",
	"Budget %02zu \"Q4\" \\ overtime",
	"Budget %02zu\nsecond line",
	"Budget %02zu — Ünïcödé 预算 💰",
};

static const char *const given_names[] = {"Ana", "Bjørn", "Chloé", "Dmitri", "Eun-ji", "Farid", "Grace", "Hiro"};
static const char *const family_names[] = {
	"Silva", "Østergaard", "Dubois", "Ivanov", "Kim", "Haddad", "O'Neil", "田中"};

/* Every USER_DELETED_EVERY-th user ran sessions but is gone from the identity store. */
#define USER_DELETED_EVERY 13

static int build_users(struct sim_world *w)
{
	char store[SIM_HEX_ID_LEN + 1], hex[SIM_HEX_ID_LEN + 1], label[32];
	int r;

	r = sim_derive_hex(w->seed, "identity-store", store, NULL);
	if (r < 0)
		return r;
	snprintf(w->identity_store_id, sizeof(w->identity_store_id), "d-%.10s", store);
	w->users = calloc(w->n_users, sizeof(*w->users));
	if (!w->users)
		return -ENOMEM;
	for (size_t i = 0; i < w->n_users; i++) {
		struct sim_user *u = &w->users[i];
		const char *given = given_names[i % N_OF(given_names)];
		const char *family = family_names[i / N_OF(given_names) % N_OF(family_names)];

		snprintf(label, sizeof(label), "user/%zu", i);
		r = sim_derive_hex(w->seed, label, hex, NULL);
		if (r < 0)
			return r;
		/* the identity store's ResourceId: its own 10 characters, then a UUID */
		snprintf(u->id, sizeof(u->id), "%.10s-%.8s-%.4s-%.4s-%.4s-%.12s", store, hex, hex + 8, hex + 12,
			hex + 16, hex + 20);
		u->deleted = i % USER_DELETED_EVERY == USER_DELETED_EVERY - 1;
		/* UserName allows letters, marks, symbols, numbers and punctuation, no spaces */
		switch (i % 5) {
		case 1:
			u->user_name = sim_dup_printf("\"%s\"\\%s.%02zu", given, family, i);
			u->display_name = sim_dup_printf("%s \"the boss\" \\ %s\nteam %02zu", given, family, i);
			break;
		case 3:
			u->user_name = sim_dup_printf("%s.%s.%02zu@例え.jp", given, family, i);
			u->display_name = sim_dup_printf("%s %s 🎬 %02zu", given, family, i);
			break;
		default:
			u->user_name = sim_dup_printf("%s.%02zu@studio.example", given, i);
			u->display_name = sim_dup_printf("%s %s", given, family);
			break;
		}
		if (!u->user_name || !u->display_name)
			return -ENOMEM;
	}
	return 0;
}

/* Sum of the costs of the queue's sessions that started in [start, end). */
static double queue_usage(const struct sim_farm *farm, uint32_t queue, int64_t start, int64_t end)
{
	double sum = 0.0;

	for (size_t i = 0; i < farm->n_sessions; i++) {
		const struct sim_session *s = &farm->sessions[i];

		if (s->queue == queue && s->start >= start && s->start < end)
			sum += s->cost;
	}
	return round(sum * 100.0) / 100.0;
}

/*
 * Budget k tracks queue k. Every fourth is INACTIVE (its schedule over, or not begun); the one on each queue
 * whose index is 3 mod 7 has reached its threshold and stopped the queue.
 */
static int build_budget(struct sim_world *w, size_t f, size_t k, struct sim_budget *b)
{
	const struct sim_farm *farm = &w->farms[f];
	bool stopped = k % 7 == 3;
	int64_t day0 = w->epoch - w->epoch % DAY_SECONDS;
	int r;

	r = sim_derive_id(w->seed, b->id, sizeof(b->id), "budget-", NULL, "budget/%zu/%zu", f, k);
	if (r < 0)
		return r;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	b->display_name = sim_dup_printf(budget_names[k % N_OF(budget_names)], k);
#pragma GCC diagnostic pop
	if (!b->display_name)
		return -ENOMEM;
	b->description = k % 2 == 0 ? "Monthly cap \"render\" \\ comp" : NULL;
	b->queue = (uint32_t)k;
	b->active = stopped || k % 4 != 2;
	if (b->active) {
		b->start = day0 - (int64_t)(20 + k) * DAY_SECONDS;
		b->end = day0 + (int64_t)(10 + k % 5) * DAY_SECONDS;
	} else if (k % 8 == 2) {
		b->start = day0 - (int64_t)(90 + k) * DAY_SECONDS; /* over */
		b->end = day0 - (int64_t)(30 + k) * DAY_SECONDS;
	} else {
		b->start = day0 + (int64_t)(5 + k) * DAY_SECONDS; /* not begun */
		b->end = day0 + (int64_t)(40 + k) * DAY_SECONDS;
	}
	b->usage = queue_usage(farm, b->queue, b->start, b->end < w->epoch ? b->end : w->epoch);
	b->created_at = b->start - DAY_SECONDS + (int64_t)k * 60;
	b->updated_at = k % 3 == 1 ? b->created_at + 3600 : 0;
	if (stopped || k % 3 == 2) {
		b->actions[0] = (struct sim_budget_action){"STOP_SCHEDULING_AND_COMPLETE_TASKS", 75.5};
		b->actions[1] = (struct sim_budget_action){"STOP_SCHEDULING_AND_CANCEL_TASKS", 100.0};
		b->n_actions = 2;
	} else if (k % 3 == 1) {
		b->actions[0] = (struct sim_budget_action){"STOP_SCHEDULING_AND_COMPLETE_TASKS", 80.0};
		b->n_actions = 1;
	}
	if (stopped) {
		/* over the limit: usage is 110 % of it, the queue stopped a few hours ago */
		b->limit = floor(b->usage / 1.1 * 100.0) / 100.0;
		if (b->limit < 0.01) {
			b->limit = 0.01;
			b->usage = 0.02;
		}
		b->queue_stopped_at = w->epoch - 3600 * (int64_t)(1 + k % 5) - 17;
	} else {
		/* well below every threshold */
		b->limit = round((b->usage * 2.0 + 100.0 + (double)k * 12.5) * 100.0) / 100.0;
	}
	return 0;
}

static void set_queue_states(struct sim_farm *farm)
{
	for (size_t i = 0; i < farm->n_queues; i++) {
		struct sim_queue *q = &farm->queues[i];
		bool has_budget = i < farm->n_budgets;

		q->blocked_reason = NULL;
		q->default_budget_action = "NONE";
		if (has_budget && farm->budgets[i].queue_stopped_at) {
			q->status = "SCHEDULING_BLOCKED";
			q->blocked_reason = "BUDGET_THRESHOLD_REACHED";
			q->default_budget_action = "STOP_SCHEDULING_AND_COMPLETE_TASKS";
		} else if (!has_budget && i % 4 == 0) {
			/* a default action that needs a budget, and none */
			q->status = "SCHEDULING_BLOCKED";
			q->blocked_reason = "NO_BUDGET_CONFIGURED";
			q->default_budget_action = "STOP_SCHEDULING_AND_CANCEL_TASKS";
		} else {
			q->status = i % 3 == 0 ? "IDLE" : "SCHEDULING";
		}
	}
}

static void set_fleet_states(struct sim_world *w, size_t f)
{
	struct sim_farm *farm = &w->farms[f];
	size_t first = 0;

	/* by the default fleet counts, so that --fleets leaves the other farms' statuses as they are */
	for (size_t g = 0; g < f; g++)
		first += sim_default_fleets[g];
	for (size_t i = 0; i < farm->n_fleets; i++) {
		struct sim_fleet *fl = &farm->fleets[i];
		size_t n = first + i;

		fl->status = i < sim_default_fleets[f] ? fleet_statuses[n] : "ACTIVE";
		fl->status_message =
			strstr(fl->status, "FAILED") ? "The fleet's role can't be assumed (simulated)" : NULL;
		/* those that run scale; the others have no workers and report no target */
		fl->scaling = strcmp(fl->status, "ACTIVE") == 0 || strcmp(fl->status, "UPDATE_IN_PROGRESS") == 0 ||
			      strcmp(fl->status, "UPDATE_FAILED") == 0;
		fl->min_workers = fl->scaling ? (int)(i % 2) : 0;
		fl->max_workers = 6 + (int)(i * 3);
		fl->phase = (unsigned)(f * 7 + i * 3);
	}
}

int sim_inventory_build(struct sim_world *w)
{
	int r = build_users(w);

	if (r < 0)
		return r;
	for (size_t f = 0; f < SIM_FARMS; f++) {
		struct sim_farm *farm = &w->farms[f];
		size_t n = farm_budgets[f] < farm->n_queues ? farm_budgets[f] : farm->n_queues;

		farm->display_name = strdup(farm_names[f]);
		if (!farm->display_name)
			return -ENOMEM;
		farm->description = farm_descriptions[f];
		farm->cost_scale_factor = cost_scale_factors[f];
		farm->created_at = w->epoch - 400 * DAY_SECONDS + (int64_t)f * 86399;
		farm->budgets = calloc(n ? n : 1, sizeof(*farm->budgets));
		if (!farm->budgets)
			return -ENOMEM;
		farm->n_budgets = n;
		for (size_t k = 0; k < n; k++) {
			r = build_budget(w, f, k, &farm->budgets[k]);
			if (r < 0)
				return r;
		}
		set_queue_states(farm);
		set_fleet_states(w, f);
	}
	return 0;
}

void sim_inventory_free(struct sim_world *w)
{
	for (size_t f = 0; f < SIM_FARMS; f++) {
		struct sim_farm *farm = &w->farms[f];

		for (size_t k = 0; farm->budgets && k < farm->n_budgets; k++)
			free(farm->budgets[k].display_name);
		free(farm->budgets);
		free(farm->display_name);
	}
	for (size_t i = 0; w->users && i < w->n_users; i++) {
		free(w->users[i].user_name);
		free(w->users[i].display_name);
	}
	free(w->users);
}

/*
 * The size along a cycle of 2 * range + 2 * HOLD steps: one worker more per step up to max, HOLD steps
 * there, one fewer per step down to min, HOLD steps there.
 */
#define HOLD_STEPS 3

static int fleet_level(const struct sim_fleet *fl, uint64_t step)
{
	uint64_t range = (uint64_t)(fl->max_workers - fl->min_workers);
	uint64_t p = (step + fl->phase) % (2 * range + 2 * HOLD_STEPS);

	if (p < range)
		return fl->min_workers + (int)p;
	if (p < range + HOLD_STEPS)
		return fl->max_workers;
	if (p < 2 * range + HOLD_STEPS)
		return fl->max_workers - (int)(p - range - HOLD_STEPS);
	return fl->min_workers;
}

void sim_fleet_at(const struct sim_fleet *fl, uint64_t step, struct sim_fleet_now *out)
{
	if (!fl->scaling) {
		*out = (struct sim_fleet_now){.workers = 0, .target = -1, .autoscaling = NULL};
		return;
	}
	/* the workers follow the target one step later */
	out->workers = fleet_level(fl, step);
	out->target = fleet_level(fl, step + 1);
	out->autoscaling = out->target > out->workers ? "GROWING" : out->target < out->workers ? "SHRINKING" : "STEADY";
}

long sim_world_find_user(const struct sim_world *w, const char *user_id)
{
	for (size_t i = 0; i < w->n_users; i++) {
		if (strcmp(w->users[i].id, user_id) == 0)
			return (long)i;
	}
	return -1;
}
