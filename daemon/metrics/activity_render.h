/* activity_render: a farm's live state, and a region's license endpoints, as exposition text by family */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "metrics/activity.h"
#include "metrics/section.h"
#include "metrics/store.h"

/* The families of the live state, in their order in /metrics. */
enum activity_family {
	ACTIVITY_FAMILY_FLEET_WORKERS,
	ACTIVITY_FAMILY_QUEUE_ACTIVE_JOBS,
	ACTIVITY_FAMILY_QUEUE_TASKS,
	ACTIVITY_FAMILY_QUEUE_OLDEST_WAITING,
	ACTIVITY_FAMILY_JOB_TASKS,
	ACTIVITY_FAMILY_JOB_INFO,
	ACTIVITY_FAMILY_ASSOCIATION_STATUS,
	ACTIVITY_FAMILY_LIMIT_INFO,
	ACTIVITY_FAMILY_LIMIT_CURRENT,
	ACTIVITY_FAMILY_LIMIT_MAX,
	ACTIVITY_FAMILY_LICENSE_ENDPOINT_STATUS,
	ACTIVITY_FAMILY_UP,
	ACTIVITY_FAMILY_LAST_SUCCESS,
	ACTIVITY_FAMILY_COUNT,
};

/* The kind of the live state's sections: one per farm, one per region for the license endpoints. */
extern struct metrics_kind activity_kind;

/* One farm as rendered: its latest live state and the health of its rounds. */
struct activity_view {
	const char *farm_id;
	const struct activity *a; /* NULL before the first round that read anything */
	bool up; /* the last round read every part */
	int64_t last_success; /* Unix seconds of the last such round, 0 before the first */
};

/*
 * Appends the series of v to sec (of activity_kind), label values escaped: every known value of an enum has its
 * series (0 when none), an unknown one its own; a part the farm never read has no series. Returns 0 or -ENOMEM.
 */
int activity_render(struct metrics_section *sec, const struct activity_view *v);

/* Appends a region's license endpoints (deadline_cloud_license_endpoint_status) the same way. 0 or -ENOMEM. */
int activity_render_license_endpoints(struct metrics_section *sec, const struct activity_license_endpoints *l);

/*
 * A sealed section of activity_kind holding v's series, or (v NULL) l's license endpoints: rendered and compressed
 * here, by the caller's thread, to be handed to the store (metrics_store_put()). Returns 0 or -ENOMEM.
 */
int activity_section_new(
	struct metrics_section **out, const struct activity_view *v, const struct activity_license_endpoints *l);

/*
 * Whether farm i of cfg lists the license endpoints of its region and account (ListLicenseEndpoints is
 * account-wide, so one farm of each region and account does, not each farm): the first such farm in cfg's order.
 * region is the exporter's own, for the farms without farms[].region.
 */
bool activity_lists_license_endpoints(const struct config *cfg, size_t i, const char *region);

/* The store key of the license endpoints farm_id lists: "<farm id>/license-endpoints". Bytes enough for it: */
#define ACTIVITY_LICENSE_KEY_SIZE 96
void activity_license_key(const char *farm_id, char out[static ACTIVITY_LICENSE_KEY_SIZE]);

/*
 * Declares the live state's sections of cfg in the store, in order: each farm's (keyed by farm id), then each
 * region's license endpoints (activity_license_key() of the farm that lists them); none without activity.enabled.
 * Sections of keys still there stay; the threads put the others. Thread-safe. Returns 0, -EINVAL or -ENOMEM.
 */
int activity_declare(struct metrics_store *store, const struct config *cfg, const char *region);
