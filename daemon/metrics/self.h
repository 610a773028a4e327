/* self: the exporter's own metrics (report health, API requests, event counters, build_info) (metrics/ only) */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/deflate_join.h"
#include "metrics/metrics.h"

struct metrics_snapshot;

/* A declared (farm, report) pair: its figures (the store's) and its health (printed here). */
struct metrics_entry {
	char *farm_id;
	char *report;
	int64_t interval_seconds;
	struct metrics_snapshot *snap; /* NULL until the first success; guarded by the store's build_lock */
	bool attempted, up, succeeded;
	int64_t last_success;
	double duration;
	bool keep; /* scratch for metrics_store_set_reports() */
};

/* The entry of (farm_id, report) among entries[0..n), or NULL. */
struct metrics_entry *metrics_entry_find(
	struct metrics_entry *const *entries, size_t n, const char *farm_id, const char *report);

struct metrics_request_counter {
	char *operation;
	long status; /* 0: transport failure */
	uint64_t count;
};

struct metrics_event_series {
	char **values;
	uint64_t count;
};

struct metrics_event_family {
	struct metrics_event_series *series; /* sorted by label values */
	size_t n, cap;
};

/* The counters behind the self-metrics. Not thread-safe: the store guards them with its lock. */
struct metrics_self {
	char *version;
	struct metrics_request_counter *counters; /* sorted by (operation, status) */
	size_t n_counters, cap_counters;
	struct metrics_event_family events[METRICS_COUNTER_COUNT];
	struct buf inventory; /* inventory hook (h11-inventory): rendered by metrics/inventory.c */
};

/* version: the build_info label (copied). Returns 0 or -ENOMEM. */
int metrics_self_init(struct metrics_self *self, const char *version);
void metrics_self_deinit(struct metrics_self *self);
/* One API call ended (metrics_store_count_request()). A new pair past the bound, or no memory: not counted. */
void metrics_self_count_request(struct metrics_self *self, const char *operation, long status);
/* Adds delta to an event counter (metrics_store_count()); label_values checked by the caller. */
void metrics_self_count(
	struct metrics_self *self, enum metrics_counter c, const char *const *label_values, uint64_t delta);
/* Drops the event series of (farm, report) pairs that are not among entries[0..n). */
void metrics_self_prune(struct metrics_self *self, struct metrics_entry *const *entries, size_t n);

/*
 * The self-metrics text of one state (gen) of the store (or the process metrics of one second), and its raw
 * deflate. Refcounted, cached.
 */
struct metrics_self_text {
	atomic_size_t refs;
	uint64_t gen;
	struct buf text;
	unsigned char *deflated;
	size_t deflated_len;
	uint32_t crc;
};

/* An empty text of one reference, of state gen; NULL without memory. */
struct metrics_self_text *metrics_self_text_alloc(uint64_t gen);
/*
 * Renders the self-metrics of self and entries[0..n) (under the store's lock) into a new text of one
 * reference, not yet compressed. Returns 0 or -ENOMEM.
 */
int metrics_self_text_new(struct metrics_self_text **out, const struct metrics_self *self,
	struct metrics_entry *const *entries, size_t n, uint64_t gen);
/*
 * Its CRC-32 and deflate (no lock needed): a piece another follows (DEFLATE_JOIN_OPEN) or the stream's end
 * (DEFLATE_JOIN_FINAL). Returns 0, -ENOMEM or -EINVAL.
 */
int metrics_self_text_compress(struct metrics_self_text *t, enum deflate_join_end end);
/* Drops a reference; the last frees it. NULL-safe. */
void metrics_self_text_unref(struct metrics_self_text *t);
