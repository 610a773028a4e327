/* metrics: the store of per-report snapshots (swapped atomically), scrapes of them, label escaping into a util/buf */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "config/config.h"
#include "metrics/usage.h"
#include "util/buf.h"

struct metrics_store;

/* version: the build_info label. */
int metrics_store_new(struct metrics_store **out, const char *version);
void metrics_store_free(struct metrics_store *s);

/*
 * Declares every (farm, report) pair of cfg: new pairs start not yet attempted (so /-/ready is 503
 * until each has finished one refresh attempt); pairs no longer in cfg disappear from the output;
 * pairs still there keep their figures. Thread-safe.
 */
int metrics_store_set_reports(struct metrics_store *s, const struct config *cfg);

/*
 * A refresh of (farm, report) succeeded: renders its figures once from t (which the caller keeps) and the
 * window [window_start, window_end) they cover (Unix seconds), swaps them in atomically, sets up=1, last
 * success = now, duration. Thread-safe; scrapes never see a partial report. Returns 0 or -ENOMEM (the previous
 * figures stay); -ENOENT when the pair was not declared by metrics_store_set_reports() (the figures are dropped).
 */
int metrics_store_publish(struct metrics_store *s, const char *farm_id, const struct report_config *r,
	struct usage_table *t, int64_t window_start, int64_t window_end, int64_t now, double duration_seconds);

/* A refresh of (farm, report) failed: up=0, duration set, previous figures kept. Thread-safe. */
void metrics_store_fail(struct metrics_store *s, const char *farm_id, const char *report, double duration_seconds);

/* One API call ended: operation is the API name ("StartSessionsStatisticsAggregation"); status the
 * HTTP status, or 0 for a transport failure (code="error"). Thread-safe, cheap. */
void metrics_store_count_request(struct metrics_store *s, const char *operation, long status);

/*
 * Counters of the exporter's own events, each a fixed family with fixed label names:
 *   METRICS_REFRESH_ERRORS      deadline_cloud_exporter_refresh_errors_total{farm_id,report,kind}
 *   METRICS_API_RETRIES         deadline_cloud_exporter_api_retries_total{operation}
 *   METRICS_AGGREGATIONS        deadline_cloud_exporter_aggregations_total{farm_id,status}
 *   METRICS_PAGES               deadline_cloud_exporter_pages_read_total{farm_id,report}
 *   METRICS_ROWS                deadline_cloud_exporter_rows_read_total{farm_id,report}
 *   METRICS_SPLITS              deadline_cloud_exporter_aggregation_splits_total{farm_id,report,kind}
 */
enum metrics_counter {
	METRICS_REFRESH_ERRORS,
	METRICS_API_RETRIES,
	METRICS_AGGREGATIONS,
	METRICS_PAGES,
	METRICS_ROWS,
	METRICS_SPLITS,
	METRICS_COUNTER_COUNT,
};

/* Adds delta to the counter with these label values (as many as the family has). Thread-safe. */
void metrics_store_count(
	struct metrics_store *s, enum metrics_counter c, const char *const *label_values, uint64_t delta);

/*
 * Forgets (farm, report): its figures and health go, as if it had never been declared (a report whose
 * definition changed on reload starts afresh). Thread-safe. Returns 0, or -ENOENT when not declared.
 */
int metrics_store_drop(struct metrics_store *s, const char *farm_id, const char *report);

/* >>> inventory hook (h11-inventory): the inventory's text (metrics/inventory.c renders it) <<< */
/* Replaces the inventory families' text shown with the self-metrics by a copy of text. Returns 0 or -ENOMEM. */
int metrics_store_set_inventory(struct metrics_store *s, const char *text, size_t len);
/* <<< inventory hook >>> */

/* True once every declared pair has finished its first refresh attempt. */
bool metrics_store_ready(struct metrics_store *s);

/*
 * A scrape: the whole exposition text (or its gzip) as shared, read-only pieces (a few per report).
 * iov is an array of n_iov owned by the scrape; the pieces stay valid until metrics_scrape_release(),
 * whatever is published meanwhile.
 */
struct metrics_scrape {
	struct iovec *iov;
	unsigned n_iov;
	size_t total_len;
	void *refs[5]; /* private */
};

/* Fills *out (zeroed on failure). Thread-safe. Returns 0, -EINVAL or -ENOMEM. */
int metrics_store_scrape(struct metrics_store *s, bool gzip, struct metrics_scrape *out);
/* Drops what the scrape held; sc is zeroed. NULL-safe. */
void metrics_scrape_release(struct metrics_scrape *sc);

/*
 * h13 hook (to merge with h11's inventory text): replaces the user names' exposition text (whole lines, HELP and
 * TYPE included; len 0 removes it). Every later scrape shows it after the reports' figures. Thread-safe.
 * Returns 0 or -ENOMEM (the previous text stays).
 */
int metrics_store_set_users_text(struct metrics_store *s, const char *text, size_t len);

/*
 * Appends v escaped as a label value of the text format (\\, \", \n). Bytes that are not valid UTF-8 are
 * replaced by U+FFFD so the output always parses. Returns 0 or -ENOMEM.
 */
int metrics_buf_escape_label(struct buf *b, const char *v);

/* test hook: renders a publish on exactly n threads (0: as many as the CPUs allow, the default). */
void metrics_render_threads(size_t n);
/* test hook: while hold is true, scrapes show the process metrics last read instead of reading them every second. */
void metrics_process_hold(bool hold);
