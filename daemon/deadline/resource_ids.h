/* resource_ids: the ids a refresh asks by: the farm's lists or its listings (ListQueues, ListFleets), and the kind
 * "auto" takes from them */
#pragma once

#include <stddef.h>

#include "config/config.h"
#include "deadline/api_call.h"

/* The ids of one refresh, of one kind. */
struct resource_ids {
	enum resource_kind kind;
	const char *const *ids; /* the farm's list, or the listing below */
	size_t n;
	char **listed; /* owned: what was listed of the kind asked by, or NULL */
	size_t n_listed;
};

/*
 * The ids a refresh of a report with lead's resources asks by on farm. A kind the farm lists is that list; "all" is
 * listed. "auto" over a farm whose queues and fleets are both "all" lists the fleets, then the queues only as far
 * as they could still win (plan_queues_worth_listing()), and takes the kind needing fewer batches (queues on a
 * tie). name is the refresh's name in log lines. Returns 0 (*out filled; resource_ids_deinit() it), an enum
 * api_outcome (API_STOPPED when stopping) or -errno; on failure *out holds nothing.
 */
int resource_ids_resolve(struct api_caller *api, const struct farm_config *farm, const struct report_config *lead,
	const char *name, struct resource_ids *out);

/*
 * Lists every queue or fleet of farm_id (ListQueues / ListFleets, through the paginator): *ids (each and the array
 * malloc'd) and *n, left empty on failure. name names the refresh in the log, or NULL (the live state's round).
 * Returns 0, an enum api_outcome or -errno.
 */
int resource_ids_list(
	struct api_caller *api, const char *farm_id, enum resource_kind kind, const char *name, char ***ids, size_t *n);

/* Frees what resource_ids_resolve() listed. NULL-safe. */
void resource_ids_deinit(struct resource_ids *r);
