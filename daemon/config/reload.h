/* reload: what a new configuration keeps of the running one (pure comparisons) */
#pragma once

#include <stdbool.h>

#include "config/config.h"

/*
 * True when (farm_id, report) exists in both configurations with the same definition: the same report
 * settings (resources, window, timezone, group_by, statistics, period, interval, limit) and, for the farm, the
 * same selection of the report's kind of resources and the same region. Such a report keeps its figures and its
 * schedule.
 */
bool reload_report_same(const struct config *a, const struct config *b, const char *farm_id, const char *report);

/*
 * True when farm_id is in both configurations, with the inventory enabled in both, the same inventory interval
 * and budgets setting and the same farm region: the farm's inventory keeps its figures and its schedule.
 */
bool reload_inventory_same(const struct config *a, const struct config *b, const char *farm_id);

/* The farm or report of that id/name in cfg, or NULL. */
const struct farm_config *reload_find_farm(const struct config *cfg, const char *farm_id);
const struct report_config *reload_find_report(const struct config *cfg, const char *report);
