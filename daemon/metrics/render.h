/* render: a report's usage figures as a section of the usage kind, a large report on several threads (metrics/ only) */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "metrics/section.h"
#include "metrics/usage.h"

/* The usage families, one metric per figure, in the order of the output (the usage kind's table). */
enum usage_family {
	USAGE_FAMILY_COST, /* deadline_cloud_usage_cost_usd: Σ costInUsd */
	USAGE_FAMILY_COST_MIN, /* deadline_cloud_usage_session_cost_min_usd */
	USAGE_FAMILY_COST_MAX, /* …_max_usd */
	USAGE_FAMILY_COST_AVG, /* …_avg_usd */
	USAGE_FAMILY_RUNTIME, /* deadline_cloud_usage_runtime_seconds: Σ runtimeInSeconds */
	USAGE_FAMILY_RUNTIME_MIN, /* deadline_cloud_usage_session_runtime_min_seconds */
	USAGE_FAMILY_RUNTIME_MAX, /* …_max_seconds */
	USAGE_FAMILY_RUNTIME_AVG, /* …_avg_seconds */
	USAGE_FAMILY_SESSIONS, /* deadline_cloud_usage_sessions: count */
	/* a counter report's (reports[].counter) sums instead of the three gauges above: counters of the window to date
	 */
	USAGE_FAMILY_COST_TOTAL, /* deadline_cloud_usage_cost_usd_total */
	USAGE_FAMILY_RUNTIME_TOTAL, /* deadline_cloud_usage_runtime_seconds_total */
	USAGE_FAMILY_SESSIONS_TOTAL, /* deadline_cloud_usage_sessions_total */
	USAGE_FAMILY_WINDOW_START, /* deadline_cloud_usage_window_start_timestamp_seconds{farm_id,report} */
	USAGE_FAMILY_WINDOW_END, /* deadline_cloud_usage_window_end_timestamp_seconds{farm_id,report} */
	USAGE_FAMILY_COUNT,
};

/* The usage figures: a section per (farm, report), every report's lines of a family together. */
extern struct metrics_kind metrics_usage_kind;

/*
 * Renders the lines of (farm, report) from t (the r->limit groups of largest cost, the rest as USAGE_OTHER, when
 * r->limit is set; the sums as counters when r->counter is) and the window [window_start, window_end) they cover
 * into a new sealed section of the usage
 * kind (one reference, the caller's): pure, called without any lock; a large report is rendered and compressed on
 * several threads. Returns 0, -ENOMEM, or -EINVAL for a grouping the renderer does not know.
 */
int metrics_usage_section_new(struct metrics_section **out, const char *farm_id, const struct report_config *r,
	struct usage_table *t, int64_t window_start, int64_t window_end);

/* test hook: renders a publish on exactly n threads (0: as many as the CPUs allow, the default). */
void metrics_render_threads(size_t n);
