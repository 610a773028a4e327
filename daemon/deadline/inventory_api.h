/* inventory_api: GetFarm, ListQueues, ListFleets, ListBudgets, GetBudget: paths and parsing into struct inventory */
#pragma once

#include <stddef.h>

#include "deadline/deadline_api.h"
#include "metrics/inventory.h"

#define API_OP_GET_FARM "GetFarm"
#define API_OP_LIST_BUDGETS "ListBudgets"
#define API_OP_GET_BUDGET "GetBudget"

/* Path ".../farms/<farm>/budgets/<budget>" (malloc'd, NULL when out of memory or an id is empty). The farm's
 * path and ".../budgets": deadline_farm_path(); queues and fleets: deadline_list_path(). */
char *deadline_budget_path(const char *farm_id, const char *budget_id);

/*
 * GetFarm: sets inv's farm_name and cost scale factor. ListQueues, ListFleets, ListBudgets: append one
 * page's summaries to inv and set *next_token (malloc'd or NULL). Enums are kept as text; ids must be
 * well-formed; names and enum values are cut at INVENTORY_TEXT_MAX bytes; at most INVENTORY_ITEMS_MAX
 * items per farm. Returns 0, DEADLINE_BAD_JSON or DEADLINE_BAD_SHAPE (reason in err), -ENOMEM; on failure
 * inv is as it was before the call (so a retried page does not list anything twice).
 */
int deadline_parse_farm(const char *body, size_t len, struct inventory *inv, char *err, size_t errlen);
int deadline_parse_queues(
	const char *body, size_t len, struct inventory *inv, char **next_token, char *err, size_t errlen);
int deadline_parse_fleets(
	const char *body, size_t len, struct inventory *inv, char **next_token, char *err, size_t errlen);
int deadline_parse_budgets(
	const char *body, size_t len, struct inventory *inv, char **next_token, char *err, size_t errlen);

/*
 * GetBudget: replaces *b (its summary and details: actions, schedule, queueStoppedAt) with what body says
 * of budget b->id. Returns as the others; on failure *b is unchanged.
 */
int deadline_parse_budget(const char *body, size_t len, struct inventory_budget *b, char *err, size_t errlen);
