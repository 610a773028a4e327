/* plan: which reports of a farm are refreshed together from one aggregation, and the kind of ids it asks by (pure) */
#include "deadline/plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "deadline/deadline_api.h"

/*
 * What a report asks by on farm, as far as the configuration alone tells: *by_counts when the kind is chosen at each
 * refresh from the farm's listings ("auto" over two "all"), else the kind in *kind.
 */
static void report_ids(
	const struct farm_config *farm, const struct report_config *r, bool *by_counts, enum resource_kind *kind)
{
	*by_counts = config_report_kind_counts(farm, r);
	*kind = RESOURCE_QUEUES;
	/* The one failing case, "auto" with two lists, is refused by config_load(): it never reaches a plan. */
	if (!*by_counts && config_report_kind(farm, r, 0, 0, DEADLINE_MAX_RESOURCES_PER_AGGREGATION, kind) < 0)
		*kind = RESOURCE_QUEUES;
}

bool plan_reports_share(const struct farm_config *farm, const struct report_config *a, const struct report_config *b)
{
	bool a_counts, b_counts;
	enum resource_kind a_kind, b_kind;

	report_ids(farm, a, &a_counts, &a_kind);
	report_ids(farm, b, &b_counts, &b_kind);
	/* Two reports decided by the counts decide alike: the choice is made once per refresh of the group. */
	if (a_counts != b_counts || (!a_counts && a_kind != b_kind))
		return false;
	if (a->window != b->window || (a->window == WINDOW_ROLLING && a->window_seconds != b->window_seconds))
		return false;
	if (strcmp(a->timezone, b->timezone) != 0 || a->period != b->period)
		return false;
	if (a->n_group_by != b->n_group_by)
		return false;
	for (size_t i = 0; i < a->n_group_by; i++)
		if (a->group_by[i] != b->group_by[i])
			return false;
	return true;
}

/* The members' names joined by ','. */
static char *group_name(const struct plan_group *g)
{
	size_t len = 0;
	char *name, *p;

	for (size_t i = 0; i < g->n_members; i++)
		len += strlen(g->members[i]->name) + 1;
	name = malloc(len);
	if (!name)
		return NULL;
	p = name;
	for (size_t i = 0; i < g->n_members; i++) {
		size_t n = strlen(g->members[i]->name);
		memcpy(p, g->members[i]->name, n);
		p += n;
		*p++ = i + 1 < g->n_members ? ',' : '\0';
	}
	return name;
}

int plan_new(struct farm_plan **out, const struct farm_config *farm, const struct report_config *reports, size_t n)
{
	struct farm_plan *p;
	int r = -ENOMEM;

	if (n == 0)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->farm = farm;
	/* At most one group per report: every array is sized for that. */
	p->groups = calloc(n, sizeof(*p->groups));
	if (!p->groups)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const struct report_config *rc = &reports[i];
		struct plan_group *g = NULL;

		for (size_t k = 0; k < p->n_groups && !g; k++)
			if (plan_reports_share(farm, plan_group_lead(&p->groups[k]), rc))
				g = &p->groups[k];
		if (!g) {
			g = &p->groups[p->n_groups++];
			g->members = calloc(n, sizeof(*g->members));
			if (!g->members)
				goto fail;
			g->interval_seconds = rc->interval_seconds;
		}
		g->members[g->n_members++] = rc;
		g->statistics |= rc->statistics;
		if (rc->interval_seconds < g->interval_seconds)
			g->interval_seconds = rc->interval_seconds;
	}
	for (size_t k = 0; k < p->n_groups; k++) {
		p->groups[k].name = group_name(&p->groups[k]);
		if (!p->groups[k].name)
			goto fail;
	}
	*out = p;
	return 0;
fail:
	plan_free(p);
	return r;
}

void plan_free(struct farm_plan *p)
{
	if (!p)
		return;
	for (size_t k = 0; p->groups && k < p->n_groups; k++) {
		free(p->groups[k].members);
		free(p->groups[k].name);
	}
	free(p->groups);
	free(p);
}

const struct report_config *plan_group_lead(const struct plan_group *g)
{
	return g->members[0];
}

bool plan_group_same_members(const struct plan_group *a, const struct plan_group *b)
{
	if (a->n_members != b->n_members)
		return false;
	for (size_t i = 0; i < a->n_members; i++)
		if (strcmp(a->members[i]->name, b->members[i]->name) != 0)
			return false;
	return true;
}

size_t plan_batches(size_t n, size_t per_batch)
{
	return n / per_batch + (n % per_batch != 0);
}

size_t plan_queues_worth_listing(size_t n_fleets, size_t per_batch)
{
	return plan_batches(n_fleets, per_batch) * per_batch;
}
