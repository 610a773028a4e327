/* activity_render: a farm's live state, and a region's license endpoints, as exposition text by family */
#include "metrics/activity_render.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "metrics/exposition.h"

#include <stdlib.h>

/* clang-format off */
static const struct exposition_family activity_families[ACTIVITY_FAMILY_COUNT] = {
	[ACTIVITY_FAMILY_FLEET_WORKERS] = {"deadline_cloud_fleet_workers_by_status", EXPOSITION_GAUGE,
		"Workers of the fleet by status (ListWorkers)."},
	[ACTIVITY_FAMILY_QUEUE_ACTIVE_JOBS] = {"deadline_cloud_queue_active_jobs", EXPOSITION_GAUGE,
		"Active jobs of the queue by their task run status (SearchJobs)."},
	[ACTIVITY_FAMILY_QUEUE_TASKS] = {"deadline_cloud_queue_tasks", EXPOSITION_GAUGE,
		"Tasks of the queue's active jobs by status (the sum of their taskRunStatusCounts)."},
	[ACTIVITY_FAMILY_QUEUE_OLDEST_WAITING] = {"deadline_cloud_queue_oldest_waiting_job_created_timestamp_seconds", EXPOSITION_GAUGE,
		"When the queue's oldest active job with READY tasks and none running was created; absent when none."},
	[ACTIVITY_FAMILY_JOB_TASKS] = {"deadline_cloud_job_tasks", EXPOSITION_GAUGE,
		"Tasks of an active job by status, for the most recently created active jobs (activity.jobs)."},
	[ACTIVITY_FAMILY_JOB_INFO] = {"deadline_cloud_job_info", EXPOSITION_GAUGE,
		"An active job's name, creator and priority, for the same jobs as deadline_cloud_job_tasks; always 1."},
	[ACTIVITY_FAMILY_ASSOCIATION_STATUS] = {"deadline_cloud_queue_fleet_association_status", EXPOSITION_GAUGE,
		"The queue-fleet association's status: 1 for the current one, 0 for the others."},
	[ACTIVITY_FAMILY_LIMIT_INFO] = {"deadline_cloud_limit_info", EXPOSITION_GAUGE,
		"The limit's display name and amount requirement name (ListLimits); always 1."},
	[ACTIVITY_FAMILY_LIMIT_CURRENT] = {"deadline_cloud_limit_current", EXPOSITION_GAUGE,
		"Resources of the limit in use (currentCount; the service updates it with a delay)."},
	[ACTIVITY_FAMILY_LIMIT_MAX] = {"deadline_cloud_limit_max", EXPOSITION_GAUGE,
		"The limit's maximum (maxCount); absent when the limit is unlimited."},
	[ACTIVITY_FAMILY_LICENSE_ENDPOINT_STATUS] = {"deadline_cloud_license_endpoint_status", EXPOSITION_GAUGE,
		"The license endpoint's status: 1 for the current one, 0 for the others (account-wide, per region)."},
	[ACTIVITY_FAMILY_UP] = {"deadline_cloud_exporter_activity_up", EXPOSITION_GAUGE,
		"1 when the last round of the farm's live state read every operation, 0 otherwise."},
	[ACTIVITY_FAMILY_LAST_SUCCESS] = {"deadline_cloud_exporter_activity_last_success_timestamp_seconds", EXPOSITION_GAUGE,
		"When the last round of the farm's live state that read every operation ended."},
};
/* clang-format on */

struct metrics_kind activity_kind = {
	.rank = METRICS_RANK_ACTIVITY,
	.families = activity_families,
	.n_families = ACTIVITY_FAMILY_COUNT,
};

/*
 * A tally's series: one per known value of e (0 when none), then one per unknown value. labels ends with the pair
 * ("status", NULL) that this fills in.
 */
static int tally_series(struct metrics_section *sec, enum activity_family family, const char **labels, size_t n_labels,
	const struct activity_enum *e, const struct activity_tally *t)
{
	for (size_t k = 0; k < e->n; k++) {
		labels[2 * n_labels - 1] = e->names[k];
		if (metrics_section_series_int(sec, family, labels, n_labels, t->known[k]) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < t->n_other; i++) {
		labels[2 * n_labels - 1] = t->other[i].status;
		if (metrics_section_series_int(sec, family, labels, n_labels, t->other[i].n) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int render_workers(struct metrics_section *sec, const struct activity_view *v)
{
	const struct activity *a = v->a;

	for (size_t i = 0; i < a->n_fleets; i++) {
		const char *labels[] = {"farm_id", v->farm_id, "fleet_id", a->fleets[i].id, "status", NULL};

		if (tally_series(sec, ACTIVITY_FAMILY_FLEET_WORKERS, labels, 3, &activity_worker_statuses,
			    &a->fleets[i].workers) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int render_queues(struct metrics_section *sec, const struct activity_view *v)
{
	const struct activity *a = v->a;

	for (size_t i = 0; i < a->n_queues; i++) {
		const struct activity_queue *q = &a->queues[i];
		const char *labels[] = {"farm_id", v->farm_id, "queue_id", q->id, "status", NULL};
		char when[EXPOSITION_NUMBER_SIZE];

		if (tally_series(sec, ACTIVITY_FAMILY_QUEUE_ACTIVE_JOBS, labels, 3, &activity_active_statuses,
			    &q->jobs) < 0 ||
			tally_series(sec, ACTIVITY_FAMILY_QUEUE_TASKS, labels, 3, &activity_task_statuses, &q->tasks) <
				0)
			return -ENOMEM;
		if (!q->has_oldest_waiting)
			continue;
		exposition_double(when, sizeof(when), (double)q->oldest_waiting_ms / 1000.0);
		if (metrics_section_series(sec, ACTIVITY_FAMILY_QUEUE_OLDEST_WAITING, labels, 2, when) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int render_jobs(struct metrics_section *sec, const struct activity_view *v)
{
	const struct activity *a = v->a;

	for (size_t i = 0; i < a->n_jobs; i++) {
		const struct activity_job *j = &a->jobs[i];
		const char *labels[] = {"farm_id", v->farm_id, "queue_id", j->queue_id, "job_id", j->id, "job_name",
			j->name, "status", NULL, NULL, NULL};
		char priority[EXPOSITION_NUMBER_SIZE] = "";

		if (tally_series(sec, ACTIVITY_FAMILY_JOB_TASKS, labels, 5, &activity_task_statuses, &j->tasks) < 0)
			return -ENOMEM;
		if (j->has_priority)
			exposition_int(priority, sizeof(priority), j->priority);
		labels[8] = "user_id";
		labels[9] = j->user_id;
		labels[10] = "priority";
		labels[11] = priority;
		if (metrics_section_series(sec, ACTIVITY_FAMILY_JOB_INFO, labels, 6, "1") < 0)
			return -ENOMEM;
	}
	return 0;
}

static int render_associations(struct metrics_section *sec, const struct activity_view *v)
{
	const struct activity *a = v->a;

	for (size_t i = 0; i < a->n_associations; i++) {
		const struct activity_association *s = &a->associations[i];
		const char *labels[] = {
			"farm_id", v->farm_id, "queue_id", s->queue_id, "fleet_id", s->fleet_id, "status", NULL};

		if (metrics_section_state_set(sec, ACTIVITY_FAMILY_ASSOCIATION_STATUS, labels, 4,
			    activity_association_statuses.names, activity_association_statuses.n, s->status) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int render_limits(struct metrics_section *sec, const struct activity_view *v)
{
	const struct activity *a = v->a;

	for (size_t i = 0; i < a->n_limits; i++) {
		const struct activity_limit *l = &a->limits[i];
		const char *labels[] = {"farm_id", v->farm_id, "limit_id", l->id, "limit_name", l->name,
			"amount_requirement_name", l->amount_name};

		if (metrics_section_series(sec, ACTIVITY_FAMILY_LIMIT_INFO, labels, 4, "1") < 0 ||
			metrics_section_series_int(sec, ACTIVITY_FAMILY_LIMIT_CURRENT, labels, 2, l->current) < 0)
			return -ENOMEM;
		/* -1 is unlimited: a maximum of -1 would read as "at its maximum" in every comparison */
		if (l->max >= 0 && metrics_section_series_int(sec, ACTIVITY_FAMILY_LIMIT_MAX, labels, 2, l->max) < 0)
			return -ENOMEM;
	}
	return 0;
}

int activity_render(struct metrics_section *sec, const struct activity_view *v)
{
	const struct activity *a = v->a;
	const char *labels[] = {"farm_id", v->farm_id};
	char when[EXPOSITION_NUMBER_SIZE];

	if (a && (((a->parts & ACTIVITY_WORKERS) && render_workers(sec, v) < 0) ||
			 ((a->parts & ACTIVITY_JOBS) && render_queues(sec, v) < 0) ||
			 ((a->parts & ACTIVITY_JOBS) && render_jobs(sec, v) < 0) ||
			 ((a->parts & ACTIVITY_ASSOCIATIONS) && render_associations(sec, v) < 0) ||
			 ((a->parts & ACTIVITY_LIMITS) && render_limits(sec, v) < 0)))
		return -ENOMEM;
	if (metrics_section_series(sec, ACTIVITY_FAMILY_UP, labels, 1, v->up ? "1" : "0") < 0)
		return -ENOMEM;
	if (!v->last_success)
		return 0;
	exposition_int(when, sizeof(when), v->last_success);
	return metrics_section_series(sec, ACTIVITY_FAMILY_LAST_SUCCESS, labels, 1, when);
}

int activity_render_license_endpoints(struct metrics_section *sec, const struct activity_license_endpoints *l)
{
	for (size_t i = 0; l && i < l->n; i++) {
		const char *labels[] = {"license_endpoint_id", l->items[i].id, "status", NULL};

		if (metrics_section_state_set(sec, ACTIVITY_FAMILY_LICENSE_ENDPOINT_STATUS, labels, 2,
			    activity_license_endpoint_statuses.names, activity_license_endpoint_statuses.n,
			    l->items[i].status) < 0)
			return -ENOMEM;
	}
	return 0;
}

int activity_section_new(
	struct metrics_section **out, const struct activity_view *v, const struct activity_license_endpoints *l)
{
	struct metrics_section *sec = NULL;
	int r = metrics_section_new(&sec, &activity_kind);

	if (r == 0)
		r = v ? activity_render(sec, v) : activity_render_license_endpoints(sec, l);
	return metrics_section_finish(sec, r, out);
}

/* The region a farm's calls go to. */
static const char *farm_region(const struct farm_config *f, const char *region)
{
	return f->region ? f->region : region ? region : "";
}

bool activity_lists_license_endpoints(const struct config *cfg, size_t i, const char *region)
{
	const struct farm_config *f = &cfg->farms[i];

	for (size_t k = 0; k < i; k++) {
		const struct farm_config *g = &cfg->farms[k];
		if (strcmp(farm_region(g, region), farm_region(f, region)) == 0 &&
			strcmp(g->account_id, f->account_id) == 0)
			return false;
	}
	return true;
}

void activity_license_key(const char *farm_id, char out[static ACTIVITY_LICENSE_KEY_SIZE])
{
	snprintf(out, ACTIVITY_LICENSE_KEY_SIZE, "%s/license-endpoints", farm_id);
}

int activity_declare(struct metrics_store *store, const struct config *cfg, const char *region)
{
	size_t n = cfg->activity.enabled ? cfg->n_farms : 0, k = 0;
	const char **keys = calloc(2 * n + 1, sizeof(*keys));
	char(*license)[ACTIVITY_LICENSE_KEY_SIZE] = calloc(n + 1, sizeof(*license));
	int r = -ENOMEM;

	if (keys && license) {
		for (size_t i = 0; i < n; i++)
			keys[k++] = cfg->farms[i].id;
		for (size_t i = 0; i < n; i++) {
			if (!activity_lists_license_endpoints(cfg, i, region))
				continue;
			activity_license_key(cfg->farms[i].id, license[i]);
			keys[k++] = license[i];
		}
		r = metrics_store_declare(store, &activity_kind, keys, k);
	}
	free(keys);
	free(license);
	return r;
}
