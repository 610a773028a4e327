/* store: the sections of /metrics (usage reports, inventory, users, process, self), swapped in by reference */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "config/config.h"
#include "metrics/usage.h"

struct metrics_store;
struct metrics_kind;
struct metrics_section;

/* version: the build_info label. Returns 0, -EINVAL or -ENOMEM. */
int metrics_store_new(struct metrics_store **out, const char *version);
/* NULL-safe. Scrapes still in flight keep what they hold. */
void metrics_store_free(struct metrics_store *s);

/*
 * Sections: every producer hands the store finished, sealed sections (metrics/section.h), rendered and compressed
 * without any lock; the store swaps them in by reference. A kind is shown in its rank's place; within it, each
 * family once (header, then every section's lines in the order the sections were declared).
 */

/*
 * Declares the sections of kind, in order, by key (farm ids for the inventory): a key no longer there loses its
 * section; a key still there keeps it; a new key has none until it is put. Thread-safe. Returns 0, -EINVAL (a kind
 * with no key, or of another kind's rank) or -ENOMEM (nothing changed).
 */
int metrics_store_declare(struct metrics_store *s, struct metrics_kind *kind, const char *const *keys, size_t n);

/*
 * Replaces the section of (kind, key) by sec (sealed; the store takes the caller's reference, also on failure);
 * NULL removes it. key is NULL for a kind of one section, which needs no declaring. Thread-safe: nothing is
 * rendered or compressed here. Returns 0, -ENOENT (key not declared: sec dropped), -EINVAL or -ENOMEM (the
 * previous section stays).
 */
int metrics_store_put(struct metrics_store *s, struct metrics_kind *kind, const char *key, struct metrics_section *sec);

/*
 * Usage reports. Declares every (farm, report) pair of cfg: new pairs start not yet attempted (so /-/ready is 503
 * until each has finished one refresh attempt); pairs no longer in cfg disappear from the output; pairs still
 * there keep their figures. Thread-safe.
 */
int metrics_store_set_reports(struct metrics_store *s, const struct config *cfg);

/*
 * A refresh of (farm, report) succeeded: renders its figures once from t (which the caller keeps) and the
 * window [window_start, window_end) they cover (Unix seconds), without any lock, swaps them in, sets up=1, last
 * success = now, duration. Thread-safe; scrapes never see a partial report. Returns 0 or -ENOMEM (the previous
 * figures stay); -ENOENT when the pair was not declared by metrics_store_set_reports() (the figures are dropped).
 */
int metrics_store_publish(struct metrics_store *s, const char *farm_id, const struct report_config *r,
	struct usage_table *t, int64_t window_start, int64_t window_end, int64_t now, double duration_seconds);

/*
 * A refresh of (farm, report) resolved the kind of ids it asks the API by (resources = "auto" chooses it at each
 * refresh): deadline_cloud_exporter_report_resources shows it from now on. Thread-safe; an undeclared pair is
 * ignored.
 */
void metrics_store_report_resources(
	struct metrics_store *s, const char *farm_id, const char *report, enum resource_kind kind);

/* A refresh of (farm, report) failed: up=0, duration set, previous figures kept. Thread-safe. */
void metrics_store_fail(struct metrics_store *s, const char *farm_id, const char *report, double duration_seconds);

/*
 * Forgets (farm, report): its figures and health go, as if it had never been declared (a report whose
 * definition changed on reload starts afresh). Thread-safe. Returns 0, or -ENOENT when not declared.
 */
int metrics_store_drop(struct metrics_store *s, const char *farm_id, const char *report);

/*
 * A mark of the scrapes so far: how many have taken the sections to send. A scrape that took them after a
 * publish returned (the mark read after it is lower than a later one) sends that publish's figures. Thread-safe.
 */
uint64_t metrics_store_scrapes(struct metrics_store *s);

/* True once every declared pair has finished its first refresh attempt. */
bool metrics_store_ready(struct metrics_store *s);

/*
 * The exporter's own counters. They only count: the self-metrics that print them are rendered by a scrape that
 * finds them changed and at least a second old, from a copy taken under the store's lock.
 */

/*
 * One API call ended: farm_id is the farm whose credentials and endpoint it used, or NULL ("-") for an account-wide
 * call (STS, ListLicenseEndpoints, DescribeUser); operation is the API name ("StartSessionsStatisticsAggregation");
 * status the HTTP status, or 0 for a transport failure (code="error"). Thread-safe, cheap.
 */
void metrics_store_count_request(struct metrics_store *s, const char *farm_id, const char *operation, long status);

/*
 * Declares api_requests_total{farm_id, operation, code="200"} at 0 unless already counted: an operation the
 * configuration makes the exporter call, shown before its first answer. Thread-safe.
 */
void metrics_store_declare_request(struct metrics_store *s, const char *farm_id, const char *operation);

/*
 * Counters of the exporter's own events, each a fixed family with fixed label names (farm_id "-": account-wide):
 *   METRICS_REFRESH_ERRORS      deadline_cloud_exporter_refresh_errors_total{farm_id,report,kind}
 *   METRICS_API_RETRIES         deadline_cloud_exporter_api_retries_total{farm_id,operation}
 *   METRICS_AGGREGATIONS        deadline_cloud_exporter_aggregations_total{farm_id,status}
 *   METRICS_PAGES               deadline_cloud_exporter_pages_read_total{farm_id,report}
 *   METRICS_ROWS                deadline_cloud_exporter_rows_read_total{farm_id,report}
 *   METRICS_SPLITS              deadline_cloud_exporter_aggregation_splits_total{farm_id,report,kind}
 *   METRICS_DECREASES_HELD      deadline_cloud_exporter_usage_decreases_held_total{farm_id,report}: a counter
 *                               report's groups held at their previous figures, per refresh (exported at 0 for
 *                               every counter report from its declaration)
 */
enum metrics_counter {
	METRICS_REFRESH_ERRORS,
	METRICS_API_RETRIES,
	METRICS_AGGREGATIONS,
	METRICS_PAGES,
	METRICS_ROWS,
	METRICS_SPLITS,
	METRICS_DECREASES_HELD,
	METRICS_COUNTER_COUNT,
};

/*
 * Adds delta to the counter with these label values (as many as the family has). Thread-safe, cheap. A delta of 0
 * declares the series (at 0 unless already counted): every series the configuration implies is shown from the
 * start, so that increase() sees the first event. Series of farms and (farm, report) pairs no longer declared by
 * metrics_store_set_reports() are dropped, except farm_id "-".
 */
void metrics_store_count(
	struct metrics_store *s, enum metrics_counter c, const char *const *label_values, uint64_t delta);

/*
 * A scrape: the whole exposition text (or its gzip) as shared, read-only pieces (a few per section).
 * iov is an array of n_iov owned by the scrape; the pieces stay valid until metrics_scrape_release(),
 * whatever is published meanwhile.
 */
struct metrics_scrape {
	struct iovec *iov;
	unsigned n_iov;
	size_t total_len;
	void *held; /* private */
};

/*
 * Fills *out (zeroed on failure): the process metrics read again when a second old, the self-metrics rendered
 * again when changed and a second old (both without the lock), then every kind's current body. Thread-safe.
 * Returns 0, -EINVAL or -ENOMEM.
 */
int metrics_store_scrape(struct metrics_store *s, bool gzip, struct metrics_scrape *out);
/* Drops what the scrape held; sc is zeroed. NULL-safe. */
void metrics_scrape_release(struct metrics_scrape *sc);

/* test hook: while hold is true, scrapes show the process metrics last read instead of reading them every second. */
void metrics_process_hold(bool hold);
/* test hook: the self-metrics are rendered again at most every seconds (1 by default; 0: on every change). */
void metrics_self_interval(double seconds);
