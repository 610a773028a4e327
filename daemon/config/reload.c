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

static bool report_same(const struct report_config *a, const struct report_config *b)
{
	if (a->resources != b->resources || a->window != b->window || a->window_seconds != b->window_seconds ||
		strcmp(a->timezone, b->timezone) != 0 || a->n_group_by != b->n_group_by ||
		a->statistics != b->statistics || a->period != b->period ||
		a->interval_seconds != b->interval_seconds || a->limit != b->limit)
		return false;
	for (size_t i = 0; i < a->n_group_by; i++)
		if (a->group_by[i] != b->group_by[i])
			return false;
	return true;
}

/* Both NULL, or the same string. */
static bool optional_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool farm_same(const struct farm_config *a, const struct farm_config *b, enum resource_kind kind)
{
	/* Another region is another endpoint: what the old one answered says nothing of the new one. */
	if (!optional_same(a->region, b->region))
		return false;
	if (kind == RESOURCE_QUEUES)
		return a->all_queues == b->all_queues &&
		       ids_same(a->queue_ids, a->n_queue_ids, b->queue_ids, b->n_queue_ids);
	return a->all_fleets == b->all_fleets && ids_same(a->fleet_ids, a->n_fleet_ids, b->fleet_ids, b->n_fleet_ids);
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
	return optional_same(fa->region, fb->region) &&
	       a->inventory.interval_seconds == b->inventory.interval_seconds &&
	       a->inventory.budgets == b->inventory.budgets;
}
