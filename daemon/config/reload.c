/* reload: what a new configuration keeps of the running one (pure comparisons) */
#include "config/reload.h"

#include <string.h>

const struct farm_config *reload_find_farm(const struct config *cfg, const char *farm_id)
{
	for (size_t i = 0; i < cfg->n_farms; i++)
		if (!strcmp(cfg->farms[i].id, farm_id))
			return &cfg->farms[i];
	return NULL;
}

const struct report_config *reload_find_report(const struct config *cfg, const char *report)
{
	for (size_t i = 0; i < cfg->n_reports; i++)
		if (!strcmp(cfg->reports[i].name, report))
			return &cfg->reports[i];
	return NULL;
}

static bool ids_same(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

/* Both NULL, or the same string. */
static bool optional_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The same rules in the same order: the same derived labels, the same values for every row. */
static bool labels_same(const struct report_config *a, const struct report_config *b)
{
	if (a->n_labels != b->n_labels || a->keep != b->keep)
		return false;
	for (size_t i = 0; i < a->n_labels; i++) {
		const struct relabel_rule *x = &a->labels[i], *y = &b->labels[i];

		if (x->source != y->source || !optional_same(x->label, y->label) ||
			!optional_same(x->regex, y->regex) || !optional_same(x->replacement, y->replacement) ||
			!optional_same(x->default_value, y->default_value))
			return false;
	}
	return true;
}

static bool report_same(const struct report_config *a, const struct report_config *b)
{
	if (a->resources != b->resources || a->window != b->window || a->window_seconds != b->window_seconds ||
		strcmp(a->timezone, b->timezone) != 0 || a->n_group_by != b->n_group_by ||
		a->statistics != b->statistics || a->period != b->period ||
		a->interval_seconds != b->interval_seconds || a->limit != b->limit || a->counter != b->counter ||
		!labels_same(a, b))
		return false;
	for (size_t i = 0; i < a->n_group_by; i++)
		if (a->group_by[i] != b->group_by[i])
			return false;
	return true;
}

/* The same region and the same role: the same endpoint, asked with the same account's credentials. */
static bool farm_access_same(const struct farm_config *a, const struct farm_config *b)
{
	return optional_same(a->region, b->region) && optional_same(a->role_arn, b->role_arn) &&
	       optional_same(a->external_id, b->external_id);
}

static bool queues_same(const struct farm_config *a, const struct farm_config *b)
{
	return a->all_queues == b->all_queues && ids_same(a->queue_ids, a->n_queue_ids, b->queue_ids, b->n_queue_ids);
}

static bool fleets_same(const struct farm_config *a, const struct farm_config *b)
{
	return a->all_fleets == b->all_fleets && ids_same(a->fleet_ids, a->n_fleet_ids, b->fleet_ids, b->n_fleet_ids);
}

static bool farm_same(const struct farm_config *a, const struct farm_config *b, enum report_resources resources)
{
	/* Another region or role is another endpoint or account: what the old one answered says nothing of the new. */
	if (!farm_access_same(a, b))
		return false;
	switch (resources) {
	case REPORT_RESOURCES_QUEUES:
		return queues_same(a, b);
	case REPORT_RESOURCES_FLEETS:
		return fleets_same(a, b);
	case REPORT_RESOURCES_AUTO:
		break;
	}
	/* "auto" picks its kind from both lists. */
	return queues_same(a, b) && fleets_same(a, b);
}

bool reload_report_same(const struct config *a, const struct config *b, const char *farm_id, const char *report)
{
	const struct farm_config *fa = reload_find_farm(a, farm_id), *fb = reload_find_farm(b, farm_id);
	const struct report_config *ra = reload_find_report(a, report), *rb = reload_find_report(b, report);

	if (!fa || !fb || !ra || !rb || !report_same(ra, rb))
		return false;
	return farm_same(fa, fb, ra->resources);
}

bool reload_inventory_same(const struct config *a, const struct config *b, const char *farm_id)
{
	const struct farm_config *fa = reload_find_farm(a, farm_id), *fb = reload_find_farm(b, farm_id);

	if (!fa || !fb || !a->inventory.enabled || !b->inventory.enabled)
		return false;
	return farm_access_same(fa, fb) && a->inventory.interval_seconds == b->inventory.interval_seconds &&
	       a->inventory.budgets == b->inventory.budgets;
}

bool reload_activity_same(const struct config *a, const struct config *b, const char *farm_id)
{
	const struct farm_config *fa = reload_find_farm(a, farm_id), *fb = reload_find_farm(b, farm_id);

	if (!fa || !fb || !a->activity.enabled || !b->activity.enabled)
		return false;
	return farm_access_same(fa, fb) && a->activity.interval_seconds == b->activity.interval_seconds &&
	       a->activity.jobs == b->activity.jobs;
}

bool reload_identity_store_same(const struct config *a, const struct config *b)
{
	const struct identity_store_config *x = &a->identity_store, *y = &b->identity_store;

	return x->id && y->id && strcmp(x->id, y->id) == 0 && optional_same(x->region, y->region) &&
	       optional_same(x->endpoint_url, y->endpoint_url) && optional_same(x->role_arn, y->role_arn) &&
	       optional_same(x->external_id, y->external_id);
}
