/* activity_api: ListWorkers, ListQueueFleetAssociations, ListLimits, ListLicenseEndpoints: paths and parsing */
#pragma once

#include <stddef.h>

#include "deadline/deadline_api.h"
#include "metrics/activity.h"

#define API_OP_LIST_WORKERS "ListWorkers"
#define API_OP_LIST_ASSOCIATIONS "ListQueueFleetAssociations"
#define API_OP_LIST_LIMITS "ListLimits"
#define API_OP_LIST_LICENSE_ENDPOINTS "ListLicenseEndpoints"

/*
 * Paths (malloc'd, NULL when out of memory or an id is empty): ".../farms/<farm>/fleets/<fleet>/workers",
 * ".../farms/<farm>/queue-fleet-associations", ".../farms/<farm>/limits", and "/2023-10-12/license-endpoints"
 * (account-wide: no farm). Their query is deadline_list_query().
 */
char *activity_api_workers_path(const char *farm_id, const char *fleet_id);
char *activity_api_associations_path(const char *farm_id);
char *activity_api_limits_path(const char *farm_id);
char *activity_api_license_endpoints_path(void);

/*
 * ListWorkers: one page's workers counted by status into *page (emptied first), *next_token set (malloc'd or
 * NULL). Each worker needs workerId and status. Returns 0, DEADLINE_BAD_JSON or DEADLINE_BAD_SHAPE (reason in err;
 * also more than ACTIVITY_OTHER_MAX unknown statuses), -ENOMEM; on failure *page is empty.
 */
int activity_api_parse_workers(
	const char *body, size_t len, struct activity_tally *page, char **next_token, char *err, size_t errlen);

/*
 * ListQueueFleetAssociations, ListLimits: append one page's items to a, ListLicenseEndpoints to l, and set
 * *next_token (malloc'd or NULL). Ids must be well-formed; names and enum values are cut at ACTIVITY_TEXT_MAX bytes;
 * at most ACTIVITY_ITEMS_MAX items. Returns as activity_api_parse_workers(); on failure a or l is as it was before the
 * call (so a page asked again does not list anything twice).
 */
int activity_api_parse_associations(
	const char *body, size_t len, struct activity *a, char **next_token, char *err, size_t errlen);
int activity_api_parse_limits(
	const char *body, size_t len, struct activity *a, char **next_token, char *err, size_t errlen);
int activity_api_parse_license_endpoints(const char *body, size_t len, struct activity_license_endpoints *l,
	char **next_token, char *err, size_t errlen);
