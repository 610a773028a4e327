/* activity_fetch: a farm's live state read through the one paginator: each operation whole, or not at all */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "deadline/api_call.h"
#include "metrics/activity.h"

/*
 * Each operation of the live state, read whole into the round's next state (the calls --check-aws makes once each,
 * too). On failure the part is not to be shown: activity_merge() keeps the previous one. Every page goes through the
 * paginator (deadline/pages), failures are logged there. Return 0, an enum api_outcome, -errno.
 *
 * activity_fetch_workers(): ListWorkers of each fleet, counted by status into a fleet of next each; a fleet the
 * service no longer knows (404: deleted since it was listed) is left out.
 * activity_fetch_jobs(): SearchJobs over the queues' active jobs, 10 queues a request (search_jobs.h), into next's
 * queues (declared here, each with its series even without jobs) and per-job rows; repeats dropped.
 * activity_fetch_associations(), activity_fetch_limits(): the farm's lists, into next.
 * activity_fetch_license_endpoints(): the region's (account-wide) list, into l.
 */
int activity_fetch_workers(
	struct api_caller *a, const char *farm_id, char *const *fleets, size_t n, struct activity *next);
int activity_fetch_jobs(
	struct api_caller *a, const char *farm_id, char *const *queues, size_t n, struct activity *next);
int activity_fetch_associations(struct api_caller *a, const char *farm_id, struct activity *next);
int activity_fetch_limits(struct api_caller *a, const char *farm_id, struct activity *next);
int activity_fetch_license_endpoints(struct api_caller *a, struct activity_license_endpoints *l);
