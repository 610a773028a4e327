/* inventory_fetch: one farm's inventory, listed whole (GetFarm, ListQueues, ListFleets, ListBudgets, GetBudget) */
#pragma once

#include <stdbool.h>

#include "config/config.h"
#include "deadline/api_call.h"
#include "metrics/inventory.h"

/*
 * Lists farm's inventory through a (retries, credentials, quota as every call): every page of every listing,
 * and GetBudget for each budget when budgets is true; the farm's account (its role's, else GetCallerIdentity's
 * with a's credentials, asked once) and region (a's). Items come sorted by id, each id once. On success *out
 * owns a complete inventory (inventory_free()); on any failure nothing is returned (the caller keeps the
 * previous one whole). Returns 0, an enum api_outcome (API_STOPPED when stopping) or -errno.
 */
int inventory_fetch(struct api_caller *a, const struct farm_config *farm, bool budgets, struct inventory **out);
