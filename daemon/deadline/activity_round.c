/* activity_round: a farm's live state on its thread: a round of every operation, the figures kept between rounds,
 * the farm's section (and its region's license endpoints) handed to the store */
#include "deadline/activity_round.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/reload.h"
#include "deadline/activity_api.h"
#include "deadline/activity_fetch.h"
#include "deadline/resource_ids.h"
#include "deadline/search_jobs.h"
#include "metrics/activity_render.h"
#include "util/log.h"
#include "util/monotime.h"

struct activity_round {
	const struct config *cfg;
	const struct farm_config *farm;
	struct metrics_store *store;
	struct inventory_board *inventory;
	struct user_directory *users;
	bool lists_license_endpoints;
	char license_key[ACTIVITY_LICENSE_KEY_SIZE];
	/* between rounds: what the farm's section shows */
	struct activity *state; /* NULL until a round read any part */
	bool up;
	int64_t last_success;
	struct activity_license_endpoints *endpoints; /* the region's, NULL until listed */
};

int activity_round_new(struct activity_round **out, const struct activity_round_options *o)
{
	struct activity_round *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->cfg = o->cfg;
	r->farm = o->farm;
	r->store = o->store;
	r->inventory = o->inventory;
	r->users = o->users;
	r->lists_license_endpoints = o->license_endpoints;
	activity_license_key(o->farm->id, r->license_key);
	*out = r;
	return 0;
}

void activity_round_free(struct activity_round *r)
{
	if (!r)
		return;
	activity_free(r->state);
	activity_license_endpoints_free(r->endpoints);
	free(r);
}

void activity_round_adopt(struct activity_round *r, struct activity_round *old, const struct config *old_cfg)
{
	if (!reload_activity_same(old_cfg, r->cfg, r->farm->id))
		return;
	r->state = old->state;
	r->up = old->up;
	r->last_success = old->last_success;
	old->state = NULL;
	if (r->lists_license_endpoints && old->lists_license_endpoints) {
		r->endpoints = old->endpoints;
		old->endpoints = NULL;
	}
}

/* Hands key's section to the store; it is rendered from what r keeps (v) or from its license endpoints. */
static void put(struct activity_round *r, const char *key, const struct activity_view *v)
{
	struct metrics_section *sec = NULL;
	int rc = activity_section_new(&sec, v, r->endpoints);

	if (rc == 0)
		rc = metrics_store_put(r->store, &activity_kind, key, sec);
	/* -ENOENT: not declared, the configuration that declared it being replaced meanwhile */
	if (rc < 0 && rc != -ENOENT)
		log_error("farm=%s op=render error=\"%s\" reason=\"the previous live state is shown\"", r->farm->id,
			strerror(-rc));
}

static void show_farm(struct activity_round *r)
{
	const struct activity_view v = {
		.farm_id = r->farm->id, .a = r->state, .up = r->up, .last_success = r->last_success};

	put(r, r->farm->id, &v);
}

void activity_round_show(struct activity_round *r)
{
	show_farm(r);
	if (r->lists_license_endpoints)
		put(r, r->license_key, NULL);
}

/* ---- the queues and fleets of a round ---- */

static int ids_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Sorted, each once: a fleet named twice would count its workers twice. */
static void ids_sort(char **ids, size_t *n)
{
	size_t kept = 0;

	if (*n > 1)
		qsort(ids, *n, sizeof(*ids), ids_cmp);
	for (size_t i = 0; i < *n; i++) {
		if (kept && strcmp(ids[kept - 1], ids[i]) == 0)
			free(ids[i]);
		else
			ids[kept++] = ids[i];
	}
	*n = kept;
}

static int ids_dup(char *const *from, size_t n, char ***ids, size_t *n_ids)
{
	*ids = calloc(n ? n : 1, sizeof(**ids));
	*n_ids = 0;
	for (size_t i = 0; *ids && i < n; i++) {
		if (!((*ids)[i] = strdup(from[i])))
			return -ENOMEM;
		*n_ids = i + 1;
	}
	return *ids ? 0 : -ENOMEM;
}

/* The farm's queues and fleets, and each list's outcome: the configuration's, the inventory's, or listed. */
struct round_ids {
	char **queues, **fleets;
	size_t n_queues, n_fleets;
	int queues_r, fleets_r;
};

static void round_ids_get(struct activity_round *r, struct api_caller *a, struct round_ids *ids)
{
	const struct farm_config *f = r->farm;
	char **iq = NULL, **ifl = NULL;
	size_t niq = 0, nifl = 0;
	/* the inventory is listed less often than this: its ids may lag by an inventory interval */
	int inv = r->inventory && (f->all_queues || f->all_fleets)
			  ? inventory_board_ids(r->inventory, f->id, &iq, &niq, &ifl, &nifl)
			  : -ENOENT;

	if (!f->all_queues) {
		ids->queues_r = ids_dup(f->queue_ids, f->n_queue_ids, &ids->queues, &ids->n_queues);
	} else if (inv == 0) {
		ids->queues = iq;
		ids->n_queues = niq;
		iq = NULL;
	} else {
		ids->queues_r = resource_ids_list(a, f->id, RESOURCE_QUEUES, NULL, &ids->queues, &ids->n_queues);
	}
	if (ids->queues_r == API_STOPPED) {
		ids->fleets_r = API_STOPPED;
	} else if (!f->all_fleets) {
		ids->fleets_r = ids_dup(f->fleet_ids, f->n_fleet_ids, &ids->fleets, &ids->n_fleets);
	} else if (inv == 0) {
		ids->fleets = ifl;
		ids->n_fleets = nifl;
		ifl = NULL;
	} else {
		ids->fleets_r = resource_ids_list(a, f->id, RESOURCE_FLEETS, NULL, &ids->fleets, &ids->n_fleets);
	}
	inventory_ids_free(iq, niq);
	inventory_ids_free(ifl, nifl);
	if (ids->fleets_r == 0)
		ids_sort(ids->fleets, &ids->n_fleets);
}

static void round_ids_free(struct round_ids *ids)
{
	inventory_ids_free(ids->queues, ids->n_queues);
	inventory_ids_free(ids->fleets, ids->n_fleets);
}

/* ---- a round ---- */

/* What a round did, for its log line. */
struct round_log {
	unsigned read; /* enum activity_part bits of the parts read */
	bool endpoints_read;
	char failed[160]; /* the operations that failed, comma-separated */
	int first; /* the first failure */
};

static void note(struct round_log *rl, int rc, unsigned part, const char *operation)
{
	size_t n = strlen(rl->failed);

	if (rc == 0) {
		rl->read |= part;
		return;
	}
	if (!rl->first)
		rl->first = rc;
	if (n + strlen(operation) + 2 < sizeof(rl->failed))
		snprintf(rl->failed + n, sizeof(rl->failed) - n, "%s%s", n ? "," : "", operation);
}

/* The license endpoints of the farm's region: a new list replaces the shown one only when read whole. */
static int round_license_endpoints(struct activity_round *r, struct api_caller *a)
{
	struct activity_license_endpoints *l = NULL;
	int rc = activity_license_endpoints_new(&l, r->farm->region ? r->farm->region : "");

	if (rc == 0)
		rc = activity_fetch_license_endpoints(a, l);
	if (rc != 0) {
		activity_license_endpoints_free(l);
		return rc;
	}
	activity_license_endpoints_free(r->endpoints);
	r->endpoints = l;
	put(r, r->license_key, NULL);
	return 0;
}

/* Every operation of the farm into next, each noted; stops at API_STOPPED. */
static int round_read(struct activity_round *r, struct api_caller *a, struct activity *next, struct round_log *rl)
{
	struct round_ids ids = {0};
	int rc;

	round_ids_get(r, a, &ids);
	rc = ids.fleets_r ? ids.fleets_r : activity_fetch_workers(a, r->farm->id, ids.fleets, ids.n_fleets, next);
	note(rl, rc, ACTIVITY_WORKERS, API_OP_LIST_WORKERS);
	if (rc != API_STOPPED) {
		rc = ids.queues_r ? ids.queues_r : activity_fetch_jobs(a, r->farm->id, ids.queues, ids.n_queues, next);
		note(rl, rc, ACTIVITY_JOBS, API_OP_SEARCH_JOBS);
	}
	if (rc != API_STOPPED) {
		rc = activity_fetch_associations(a, r->farm->id, next);
		note(rl, rc, ACTIVITY_ASSOCIATIONS, API_OP_LIST_ASSOCIATIONS);
	}
	if (rc != API_STOPPED) {
		rc = activity_fetch_limits(a, r->farm->id, next);
		note(rl, rc, ACTIVITY_LIMITS, API_OP_LIST_LIMITS);
	}
	if (rc != API_STOPPED && r->lists_license_endpoints) {
		rc = round_license_endpoints(r, a);
		note(rl, rc, 0, API_OP_LIST_LICENSE_ENDPOINTS);
		rl->endpoints_read = rc == 0;
	}
	round_ids_free(&ids);
	return rc == API_STOPPED ? API_STOPPED : 0;
}

/*
 * Tells the user directory (if any) the creator of every job the section shows, so that job_info's user_id finds
 * its name in user_info as the usage reports' user ids do; the directory looks each id up once.
 */
static void note_users(struct activity_round *r)
{
	if (!r->users || !r->state)
		return;
	for (size_t i = 0; i < r->state->n_jobs; i++)
		if (r->state->jobs[i].user_id)
			user_directory_note(r->users, r->state->jobs[i].user_id);
}

static int64_t active_jobs(const struct activity *a)
{
	int64_t n = 0;

	for (size_t i = 0; a && i < a->n_queues; i++) {
		for (size_t k = 0; k < ACTIVITY_ENUM_MAX; k++)
			n += a->queues[i].jobs.known[k];
		for (size_t k = 0; k < a->queues[i].jobs.n_other; k++)
			n += a->queues[i].jobs.other[k].n;
	}
	return n;
}

int activity_round_run(struct activity_round *r, struct api_caller *a)
{
	struct round_log rl = {0};
	struct activity *next = NULL;
	double began = monotime_s();
	int rc = activity_new(&next, r->farm->id, r->cfg->activity.jobs);

	if (rc < 0)
		return rc;
	if (round_read(r, a, next, &rl) == API_STOPPED) {
		activity_free(next);
		return API_STOPPED;
	}
	size_t fleets = next->n_fleets, queues = next->n_queues;
	int64_t jobs = active_jobs(next);
	activity_merge(&r->state, next, rl.read);
	r->up = rl.first == 0;
	if (r->up)
		r->last_success = (int64_t)time(NULL);
	show_farm(r);
	note_users(r);
	if (r->up)
		log_info("farm=%s op=activity status=ok duration=%.3fs fleets=%zu queues=%zu jobs=%lld", r->farm->id,
			monotime_s() - began, fleets, queues, (long long)jobs);
	else
		log_warning("farm=%s op=activity status=partial duration=%.3fs reason=\"kept the last figures of %s\"",
			r->farm->id, monotime_s() - began, rl.failed);
	return rl.first;
}
