/* poller: the farms' threads (one per farm running its reports on schedule, one per farm listing its inventory, one
 * per farm reading its live state) and what they share: one stop, one retry quota */
#include "deadline/poller.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/aws_endpoint.h"
#include "deadline/access_check.h"
#include "config/reload.h"
#include "deadline/activity_round.h"
#include "deadline/api_call.h"
#include "deadline/counter_state.h"
#include "deadline/inventory_fetch.h"
#include "deadline/plan.h"
#include "deadline/refresh.h"
#include "deadline/schedule.h"
#include "deadline/worker.h"
#include "metrics/activity_render.h"
#include "util/array.h"
#include "util/log.h"
#include "util/monotime.h"

/* What a farm's thread does: one thread per farm and job, each with its own connection. */
enum farm_job {
	FARM_REFRESH, /* the reports, on schedule, one aggregation at a time: groups of them share aggregations */
	FARM_INVENTORY, /* the names, state and budgets, every inventory.interval */
	FARM_ACTIVITY, /* the live state, every activity.interval */
	FARM_JOBS
};

struct farm_worker {
	struct poller *poller;
	struct worker *worker; /* owned by the poller's group */
	const struct farm_config *farm;
	struct refresh_ctx refresh;
	struct farm_plan *plan; /* FARM_REFRESH: the farm's reports in groups that share aggregations */
	struct schedule_slot *slots; /* one per group of the plan, in its order; else one */
	struct counter_state ***counters; /* beside slots, each beside its group's members: a counter report's state */
	size_t n_slots;
	enum farm_job job;
	struct activity_round *activity; /* FARM_ACTIVITY: the figures kept between rounds */
};

struct poller {
	const struct config *cfg;
	struct metrics_store *store;
	struct inventory_board *board; /* or NULL */
	struct worker_group *group; /* every farm's threads: one stop, one retry quota */
	struct farm_worker *workers; /* each job's threads in enum order, each job's one per farm */
	size_t n_workers;
};

static void farm_run(struct worker *wk, void *arg)
{
	struct farm_worker *w = arg;

	while (!worker_stopping(wk)) {
		double wait;
		struct schedule_slot *next = schedule_next(w->slots, w->n_slots, worker_clock(wk), &wait);
		if (!next && wait < 0)
			break;
		if (!next) {
			if (!worker_sleep(wk, wait))
				break;
			continue; /* re-pick: the earliest due may have changed */
		}
		const struct plan_group *g = &w->plan->groups[next - w->slots];
		double began = worker_clock(wk);
		int r = refresh_group(&w->refresh, g, w->counters[next - w->slots], (int64_t)time(NULL));
		if (r == API_STOPPED || worker_stopping(wk))
			break;
		double delay = schedule_record(
			next, r == 0, refresh_error_is_persistent(r), began, worker_clock(wk), worker_jitter(wk));
		if (r != 0)
			log_info("farm=%s report=%s op=schedule reason=\"retrying failed refresh in %.1fs\"",
				w->farm->id, g->name, delay);
	}
}

/* Sleeps until slot is due: true then, false once the worker stops. */
static bool slot_wait(struct worker *wk, const struct schedule_slot *slot)
{
	while (!worker_stopping(wk)) {
		if (slot->next_due <= worker_clock(wk))
			return true;
		if (!worker_sleep_until(wk, slot->next_due))
			return false;
	}
	return false;
}

/* The farm's inventory, every inventory.interval: its own thread and HTTP client, no aggregation slot. */
static void inventory_run(struct worker *wk, void *arg)
{
	struct farm_worker *w = arg;
	struct poller *p = w->poller;
	struct schedule_slot *slot = &w->slots[0];

	while (slot_wait(wk, slot)) {
		double began = worker_clock(wk);
		struct inventory *inv = NULL;
		int r = inventory_fetch(worker_api(wk), w->farm, p->cfg->inventory.budgets, &inv);
		if (r == API_STOPPED || worker_stopping(wk)) {
			inventory_free(inv);
			break;
		}
		if (r == 0) {
			size_t nq = inv->n_queues, nf = inv->n_fleets, nb = inv->n_budgets;
			r = inventory_board_publish(p->board, w->farm->id, inv, (int64_t)time(NULL));
			if (r == 0)
				log_info("farm=%s op=inventory status=ok queues=%zu fleets=%zu budgets=%zu",
					w->farm->id, nq, nf, nb);
		} else {
			inventory_board_fail(p->board, w->farm->id);
		}
		double delay = schedule_record(
			slot, r == 0, refresh_error_is_persistent(r), began, worker_clock(wk), worker_jitter(wk));
		if (r != 0)
			log_info(
				"farm=%s op=inventory reason=\"retrying failed listing in %.1fs\"", w->farm->id, delay);
	}
}

/* The farm's live state, every activity.interval: its own thread and HTTP client, no aggregation slot. */
static void activity_run(struct worker *wk, void *arg)
{
	struct farm_worker *w = arg;
	struct schedule_slot *slot = &w->slots[0];

	activity_round_show(w->activity);
	while (slot_wait(wk, slot)) {
		double began = worker_clock(wk);
		int r = activity_round_run(w->activity, worker_api(wk));
		if (r == API_STOPPED || worker_stopping(wk))
			break;
		double delay = schedule_record(
			slot, r == 0, refresh_error_is_persistent(r), began, worker_clock(wk), worker_jitter(wk));
		if (r != 0)
			log_info("farm=%s op=activity reason=\"retrying the failed operations in %.1fs\"", w->farm->id,
				delay);
	}
}

/*
 * The worker of w->farm: its region's endpoint when farms[].region differs from the poller's (an explicit
 * endpoint_url still applies to every farm), else the poller's; the farm's own credentials when it has a role.
 */
static int farm_worker_init(struct poller *p, struct farm_worker *w, const struct poller_options *opts,
	struct aws_credentials_provider *creds)
{
	const struct config *cfg = p->cfg;
	const char *region = opts->region;
	char *endpoint = NULL;
	int r;

	if (w->farm->region && strcmp(w->farm->region, opts->region) != 0) {
		region = w->farm->region;
		r = aws_endpoint_resolve(cfg->endpoint_url, cfg->profile, region, &endpoint);
		if (r < 0) {
			log_error("farm=%s region=%s op=start status=error error=\"unusable Deadline Cloud endpoint\"",
				w->farm->id, region);
			return r;
		}
		log_info("farm=%s region=%s endpoint=%s op=start", w->farm->id, region, endpoint);
	}
	if (opts->farm_creds && opts->farm_creds[w->farm - cfg->farms])
		creds = opts->farm_creds[w->farm - cfg->farms];
	const struct worker_options wo = {
		.endpoint = endpoint ? endpoint : opts->endpoint,
		.region = region,
		.ca_file = opts->ca_file,
		.creds = creds,
		.store = p->store,
		.farm_id = w->farm->id,
	};
	r = worker_new(&w->worker, p->group, &wo);
	free(endpoint);
	if (r < 0)
		return r;
	w->refresh = (struct refresh_ctx){.api = worker_api(w->worker),
		.farm = w->farm,
		.store = p->store,
		.users = opts->users,
		.board = p->board};
	/* What the farm's labelled reports learn of its queues and jobs, kept while the poller runs. */
	return w->job == FARM_REFRESH ? queue_lookup_new(&w->refresh.queues) : 0;
}

static void (*const farm_job_run[FARM_JOBS])(struct worker *wk, void *arg) = {
	[FARM_REFRESH] = farm_run,
	[FARM_INVENTORY] = inventory_run,
	[FARM_ACTIVITY] = activity_run,
};

/*
 * The states of w's counter reports, their files under dir (NULL: none). Returns 0 or -ENOMEM.
 */
static int farm_worker_counters(struct farm_worker *w, const char *dir)
{
	w->counters = calloc(w->n_slots, sizeof(*w->counters));
	if (!w->counters)
		return -ENOMEM;
	for (size_t k = 0; k < w->n_slots; k++) {
		const struct plan_group *g = &w->plan->groups[k];
		w->counters[k] = calloc(g->n_members, sizeof(*w->counters[k]));
		if (!w->counters[k])
			return -ENOMEM;
		for (size_t i = 0; i < g->n_members; i++) {
			if (!g->members[i]->counter)
				continue;
			int r = counter_state_new(&w->counters[k][i], dir, w->farm->id, g->members[i]);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Where the counter reports keep their figures across restarts, if they can: $STATE_DIRECTORY. */
static char *counter_dir(const struct config *cfg)
{
	char *dir = counter_state_dir();
	bool counters = false;

	for (size_t i = 0; i < cfg->n_reports; i++)
		counters |= cfg->reports[i].counter;
	if (counters && !dir)
		log_info("component=poller op=state reason=\"STATE_DIRECTORY is not set: a counter report's figures "
			 "held from a decrease, and the closing of a window ended while the exporter was stopped, are "
			 "lost on a restart\"");
	return dir;
}

/* The slot and state of a worker of job w->job for farm i of cfg. */
static int farm_job_init(struct poller *p, struct farm_worker *w, size_t i, const struct poller_options *opts)
{
	const struct config *cfg = p->cfg;
	double now = monotime_s();

	if (w->job == FARM_REFRESH) {
		int r = plan_new(&w->plan, w->farm, cfg->reports, cfg->n_reports);
		if (r < 0)
			return r;
	}
	w->n_slots = w->plan ? w->plan->n_groups : 1;
	w->slots = calloc(w->n_slots, sizeof(*w->slots));
	if (!w->slots)
		return -ENOMEM;
	for (size_t j = 0; w->plan && j < w->n_slots; j++)
		w->slots[j] = (struct schedule_slot){
			.interval_seconds = w->plan->groups[j].interval_seconds, .next_due = now};
	if (w->job == FARM_INVENTORY)
		w->slots[0] =
			(struct schedule_slot){.interval_seconds = cfg->inventory.interval_seconds, .next_due = now};
	if (w->job != FARM_ACTIVITY)
		return 0;
	w->slots[0] = (struct schedule_slot){.interval_seconds = cfg->activity.interval_seconds, .next_due = now};
	const struct activity_round_options ao = {
		.cfg = cfg,
		.farm = w->farm,
		.store = p->store,
		.inventory = p->board,
		.license_endpoints = activity_lists_license_endpoints(cfg, i, opts->region),
		.users = opts->users,
	};
	return activity_round_new(&w->activity, &ao);
}

int poller_new(struct poller **out, const struct config *cfg, const struct poller_options *opts,
	struct aws_credentials_provider *creds, struct metrics_store *store)
{
	struct poller *p = calloc(1, sizeof(*p));
	char *dir = NULL;
	int r;

	if (!p)
		return -ENOMEM;
	p->cfg = cfg;
	p->store = store;
	r = worker_group_new(&p->group, &(const struct worker_group_options){.shared_quota = true});
	if (r < 0)
		goto fail;
	p->board = cfg->inventory.enabled ? opts->inventory : NULL;
	/* the jobs that apply, in enum order, each with one thread per farm */
	enum farm_job jobs[FARM_JOBS];
	size_t n_jobs = 0;
	jobs[n_jobs++] = FARM_REFRESH;
	if (p->board)
		jobs[n_jobs++] = FARM_INVENTORY;
	if (cfg->activity.enabled)
		jobs[n_jobs++] = FARM_ACTIVITY;
	p->n_workers = cfg->n_farms * n_jobs;
	p->workers = calloc(p->n_workers, sizeof(*p->workers));
	if (!p->workers) {
		r = -ENOMEM;
		goto fail;
	}
	dir = counter_dir(cfg);
	for (size_t i = 0; i < p->n_workers; i++) {
		struct farm_worker *w = &p->workers[i];
		w->poller = p;
		w->farm = &cfg->farms[i % cfg->n_farms];
		w->job = jobs[i / cfg->n_farms];
		r = farm_worker_init(p, w, opts, creds);
		if (r == 0)
			r = farm_job_init(p, w, i % cfg->n_farms, opts);
		if (r < 0)
			goto fail;
		if (w->job == FARM_REFRESH) {
			r = farm_worker_counters(w, dir);
			if (r < 0)
				goto fail;
		}
	}
	free(dir);
	*out = p;
	return 0;
fail:
	free(dir);
	poller_free(p);
	return r;
}

/* An operation the configuration makes a farm (or, with "-", the account) call: its counters shown from the start. */
static void declare_operation(struct metrics_store *store, const char *farm_id, const char *operation)
{
	metrics_store_declare_request(store, farm_id, operation);
	metrics_store_count(store, METRICS_API_RETRIES, (const char *const[]){farm_id, operation}, 0);
}

/*
 * Every counter series the configuration implies, at 0 before its first event, so that increase() sees that event:
 * each (farm, report)'s refresh counters, each farm's operations (the table --check-aws calls them from), and the
 * account-wide ones.
 */
static void poller_declare_counters(struct poller *p)
{
	const struct config *cfg = p->cfg;
	const char *ops[32];
	size_t n;

	for (size_t i = 0; i < cfg->n_farms; i++) {
		const struct farm_config *f = &cfg->farms[i];
		for (size_t j = 0; j < cfg->n_reports; j++)
			refresh_declare_counters(p->store, f, &cfg->reports[j]);
		n = access_check_operations(cfg, f, ops, ARRAY_SIZE(ops));
		for (size_t k = 0; k < n && k < ARRAY_SIZE(ops); k++)
			declare_operation(p->store, f->id, ops[k]);
	}
	n = access_check_operations(cfg, NULL, ops, ARRAY_SIZE(ops));
	for (size_t k = 0; k < n && k < ARRAY_SIZE(ops); k++)
		declare_operation(p->store, "-", ops[k]);
}

int poller_start(struct poller *p)
{
	poller_declare_counters(p);
	for (size_t i = 0; i < p->n_workers; i++) {
		struct farm_worker *w = &p->workers[i];
		int r = worker_start(w->worker, farm_job_run[w->job], w);
		if (r < 0)
			return r;
	}
	return 0;
}

bool poller_alive(struct poller *p, double max_age_seconds)
{
	return worker_group_alive(p->group, max_age_seconds);
}

void poller_stop(struct poller *p)
{
	if (p)
		worker_group_stop(p->group);
}

/* Whether every report of g is, in old_cfg, defined as in cfg (reload.h): the group's refreshes stay the same. */
static bool group_unchanged(
	const struct config *old_cfg, const struct config *cfg, const char *farm_id, const struct plan_group *g)
{
	for (size_t i = 0; i < g->n_members; i++)
		if (!reload_report_same(old_cfg, cfg, farm_id, g->members[i]->name))
			return false;
	return true;
}

/* A group keeps its schedule when the old poller had the same reports in one group, each defined alike. */
static void adopt_groups(
	struct farm_worker *w, const struct farm_worker *ow, const struct config *old_cfg, const struct config *cfg)
{
	for (size_t k = 0; k < w->n_slots; k++) {
		const struct plan_group *g = &w->plan->groups[k];
		if (!group_unchanged(old_cfg, cfg, w->farm->id, g))
			continue;
		for (size_t l = 0; l < ow->n_slots; l++) {
			if (!plan_group_same_members(&ow->plan->groups[l], g))
				continue;
			w->slots[k].next_due = ow->slots[l].next_due;
			w->slots[k].failures = ow->slots[l].failures;
		}
	}
}

/* Swaps the counter states *a and *b, each keeping its path (another $STATE_DIRECTORY is written from the next). */
static void swap_counter(struct counter_state **a, struct counter_state **b)
{
	struct counter_state *c = *a;
	char *path = (*a)->path;

	(*a)->path = (*b)->path;
	(*b)->path = path;
	*a = *b;
	*b = c;
}

/*
 * Each counter state of w taken from ow's report of the same name when both hold one of the same key (the same
 * window, timezone, grouping and labels): the figures held go on, whatever else of the report changed.
 */
static void adopt_counters(struct farm_worker *w, struct farm_worker *ow)
{
	for (size_t k = 0; k < w->n_slots; k++)
		for (size_t i = 0; i < w->plan->groups[k].n_members; i++)
			for (size_t l = 0; l < ow->n_slots; l++)
				for (size_t j = 0; j < ow->plan->groups[l].n_members; j++) {
					struct counter_state **mine = &w->counters[k][i],
							     **theirs = &ow->counters[l][j];
					if (*mine && *theirs && strcmp((*mine)->key, (*theirs)->key) == 0 &&
						strcmp(w->plan->groups[k].members[i]->name,
							ow->plan->groups[l].members[j]->name) == 0)
						swap_counter(mine, theirs);
				}
}

void poller_adopt_schedule(struct poller *p, struct poller *old, const struct config *old_cfg)
{
	for (size_t i = 0; i < p->n_workers; i++) {
		struct farm_worker *w = &p->workers[i];
		for (size_t j = 0; j < old->n_workers; j++) {
			struct farm_worker *ow = &old->workers[j];
			if (strcmp(ow->farm->id, w->farm->id) != 0 || ow->job != w->job)
				continue;
			if (w->job == FARM_INVENTORY) {
				if (reload_inventory_same(old_cfg, p->cfg, w->farm->id)) {
					w->slots[0].next_due = ow->slots[0].next_due;
					w->slots[0].failures = ow->slots[0].failures;
				}
				continue;
			}
			if (w->job == FARM_ACTIVITY) {
				if (reload_activity_same(old_cfg, p->cfg, w->farm->id)) {
					w->slots[0].next_due = ow->slots[0].next_due;
					w->slots[0].failures = ow->slots[0].failures;
				}
				activity_round_adopt(w->activity, ow->activity, old_cfg);
				continue;
			}
			adopt_groups(w, ow, old_cfg, p->cfg);
			adopt_counters(w, ow);
		}
	}
}

void poller_free(struct poller *p)
{
	if (!p)
		return;
	/* The threads first: they use the slots and the refresh contexts until they are joined. */
	worker_group_free(p->group);
	for (size_t i = 0; p->workers && i < p->n_workers; i++) {
		struct farm_worker *w = &p->workers[i];
		for (size_t k = 0; w->counters && k < w->n_slots; k++) {
			for (size_t j = 0; w->counters[k] && j < w->plan->groups[k].n_members; j++)
				counter_state_free(w->counters[k][j]);
			free(w->counters[k]);
		}
		free(w->counters);
		free(w->slots);
		queue_lookup_free(w->refresh.queues);
		activity_round_free(w->activity);
		plan_free(w->plan);
	}
	free(p->workers);
	free(p);
}
