/* self: the exporter's own metrics (report health, API requests, event counters, build_info) (metrics/ only) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/section.h"
#include "metrics/store.h"

/* A declared (farm, report) pair's health, printed here; its figures are the store's usage section of the pair. */
struct metrics_entry {
	char *farm_id;
	char *report;
	int64_t interval_seconds;
	bool attempted, up, succeeded;
	int64_t last_success;
	double duration;
	bool kind_known; /* a refresh resolved the kind of ids it asks by: kind */
	enum resource_kind kind;
	bool keep; /* scratch for metrics_store_set_reports() */
};

/* The entry of (farm_id, report) among entries[0..n), or NULL. */
struct metrics_entry *metrics_entry_find(
	struct metrics_entry *const *entries, size_t n, const char *farm_id, const char *report);

struct metrics_request_counter {
	char *farm_id; /* "-": account-wide */
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
	struct metrics_request_counter *counters; /* sorted by (farm_id, operation, status) */
	size_t n_counters, cap_counters;
	struct metrics_event_family events[METRICS_COUNTER_COUNT];
};

/* version: the build_info label (copied). Returns 0 or -ENOMEM. */
int metrics_self_init(struct metrics_self *self, const char *version);
void metrics_self_deinit(struct metrics_self *self);
/*
 * Adds n to the API requests of (farm_id, operation, status) (metrics_store_count_request(); n 0 declares the series).
 * A new series past the bound, or no memory: not counted.
 */
void metrics_self_count_request(
	struct metrics_self *self, const char *farm_id, const char *operation, long status, uint64_t n);
/* Adds delta to an event counter (metrics_store_count()); label_values checked by the caller. */
void metrics_self_count(
	struct metrics_self *self, enum metrics_counter c, const char *const *label_values, uint64_t delta);
/*
 * The event series cfg implies: deadline_cloud_exporter_usage_decreases_held_total at 0 for every (farm, counter
 * report) that has none yet, and none for a report that is not a counter report.
 */
void metrics_self_declare_counters(struct metrics_self *self, const struct config *cfg);
/*
 * Drops the event series of (farm, report) pairs that are not among entries[0..n), and with farms the series of
 * farms that have no pair there either (the request counters included; farm_id "-" stays).
 */
void metrics_self_prune(struct metrics_self *self, struct metrics_entry *const *entries, size_t n, bool farms);

/* The exporter's own metrics: one section, after every other kind. */
extern struct metrics_kind metrics_self_kind;

/*
 * What the self-metrics print, copied whole (strings included) so that it is rendered without the lock that
 * guards the originals.
 */
struct metrics_self_view {
	struct metrics_self self;
	struct metrics_entry *entries;
	size_t n_entries;
};

/* Copies self and entries[0..n) into *view (zeroed first). Cheap: no rendering. Returns 0 or -ENOMEM. */
int metrics_self_view_init(struct metrics_self_view *view, const struct metrics_self *self,
	struct metrics_entry *const *entries, size_t n);
void metrics_self_view_deinit(struct metrics_self_view *view);

/* Renders view into a new sealed section of the self kind (one reference). Returns 0 or -ENOMEM. */
int metrics_self_section_new(struct metrics_section **out, const struct metrics_self_view *view);
