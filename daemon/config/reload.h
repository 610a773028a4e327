/* reload: what a new configuration keeps of the running one (pure comparisons) */
#pragma once

#include <stdbool.h>

#include "config/config.h"

/*
 * True when (farm_id, report) exists in both configurations with the same definition: the same report
 * settings (resources, window, timezone, group_by, statistics, period, interval, limit, counter, labels, keep)
 * and, for the farm, the same selection of the resources the report asks by ("auto": both the queues and the
 * fleets), the same region and the same role (role_arn, external_id). Such a report keeps its figures and its
 * schedule; any other starts afresh.
 */
bool reload_report_same(const struct config *a, const struct config *b, const char *farm_id, const char *report);

/*
 * True when farm_id is in both configurations, with the inventory enabled in both, the same inventory interval
 * and budgets setting and the same farm region and role: the farm's inventory keeps its figures and its schedule.
 */
bool reload_inventory_same(const struct config *a, const struct config *b, const char *farm_id);

/*
 * True when farm_id is in both configurations, with the activity enabled in both, the same activity interval and
 * jobs, and the same farm region and role: the farm's activity thread keeps running. Otherwise it is stopped (and
 * started again when the new configuration enables it).
 */
bool reload_activity_same(const struct config *a, const struct config *b, const char *farm_id);

/*
 * True when both configurations have an identity store with the same id, region, endpoint_url, role_arn and
 * external_id: the user names looked up so far stay valid.
 */
bool reload_identity_store_same(const struct config *a, const struct config *b);

/* The farm or report of that id/name in cfg, or NULL. */
const struct farm_config *reload_find_farm(const struct config *cfg, const char *farm_id);
const struct report_config *reload_find_report(const struct config *cfg, const char *report);
