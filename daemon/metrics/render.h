/* render: a report's usage figures as exposition text, cut into segments compressed as they fill (metrics/ only) */
#pragma once

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "metrics/metrics.h"
#include "metrics/usage.h"

/*
 * The usage families, one metric per figure, in the order of the output; the body holds each one's header
 * once, then every report's lines of it.
 */
enum metrics_family {
	METRICS_FAMILY_COST, /* deadline_cloud_usage_cost_usd: Σ costInUsd */
	METRICS_FAMILY_COST_MIN, /* deadline_cloud_usage_session_cost_min_usd */
	METRICS_FAMILY_COST_MAX, /* …_max_usd */
	METRICS_FAMILY_COST_AVG, /* …_avg_usd */
	METRICS_FAMILY_RUNTIME, /* deadline_cloud_usage_runtime_seconds: Σ runtimeInSeconds */
	METRICS_FAMILY_RUNTIME_MIN, /* deadline_cloud_usage_session_runtime_min_seconds */
	METRICS_FAMILY_RUNTIME_MAX, /* …_max_seconds */
	METRICS_FAMILY_RUNTIME_AVG, /* …_avg_seconds */
	METRICS_FAMILY_SESSIONS, /* deadline_cloud_usage_sessions: count */
	METRICS_FAMILY_WINDOW_START, /* deadline_cloud_usage_window_start_timestamp_seconds{farm_id,report} */
	METRICS_FAMILY_WINDOW_END, /* deadline_cloud_usage_window_end_timestamp_seconds{farm_id,report} */
	METRICS_FAMILY_COUNT,
};

/* A run of whole lines of one family: the text, its piece (deflate_join.h) and the text's CRC-32. */
struct metrics_segment {
	struct buf text;
	unsigned char *deflated;
	size_t deflated_len;
	uint32_t crc;
};

/* One family's lines of one report, in segments (each allocated alone: render threads hold pointers to them). */
struct metrics_part {
	struct metrics_segment **seg;
	size_t n_seg, cap_seg;
	bool open; /* while rendering: the last segment still takes lines */
};

/* A report's rendered sample lines, one part per family. Immutable once built; refcounted by entry and bodies. */
struct metrics_snapshot {
	atomic_size_t refs;
	struct metrics_part part[METRICS_FAMILY_COUNT];
};

/*
 * Renders the lines of (farm, report) from t (the r->limit groups of largest cost, the rest as USAGE_OTHER, when
 * r->limit is set) and the window [window_start, window_end) they cover into a new snapshot (one reference, the
 * caller's): pure, called without any lock; a large report is rendered and compressed on several threads.
 * Returns 0, -ENOMEM, or -EINVAL for a grouping the renderer does not know.
 */
int metrics_snapshot_new(struct metrics_snapshot **out, const char *farm_id, const struct report_config *r,
	struct usage_table *t, int64_t window_start, int64_t window_end);
/* Another reference to snap. */
void metrics_snapshot_ref(struct metrics_snapshot *snap);
/* Drops a reference; the last frees it. NULL-safe. */
void metrics_snapshot_unref(struct metrics_snapshot *snap);

/* A family's HELP/TYPE header: its text, that text as a piece, and its CRC-32. */
struct metrics_family_header {
	const char *text;
	size_t len;
	const unsigned char *deflated;
	size_t deflated_len;
	uint32_t crc;
};
/* The header of f (compressed once per process, on the first call). */
const struct metrics_family_header *metrics_family_header(enum metrics_family f);

/*
 * A sample value as the text format spells it: the shortest decimal that reads back as v, NaN, +Inf, -Inf.
 * Returns its length (out holds 64 bytes or more, so it is never cut).
 */
size_t metrics_format_double(char *out, size_t size, double v);
