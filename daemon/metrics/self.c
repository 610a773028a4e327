/* self: the exporter's own metrics: per-report health, API requests and events counted, build_info */
#include "metrics/self.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/deflate_join.h"
#include "metrics/render.h"

/* zlib's level for the self-metrics: small, and compressed only when they change. */
#define SELF_LEVEL 6

/* Distinct (operation, status) pairs kept; statuses are bounded by HTTP, this is a safety net. */
#define MAX_REQUEST_COUNTERS 1024

static const struct {
	const char *name;
	const char *help;
	size_t n_labels;
	const char *labels[3];
} event_families[METRICS_COUNTER_COUNT] = {
	[METRICS_REFRESH_ERRORS] = {"deadline_cloud_exporter_refresh_errors_total",
		"Refreshes of the report for the farm that failed, by the kind of failure.", 3,
		{"farm_id", "report", "kind"}},
	[METRICS_API_RETRIES] = {"deadline_cloud_exporter_api_retries_total",
		"Deadline Cloud API requests sent again after a throttled, failed or unusable answer.", 1,
		{"operation"}},
	[METRICS_AGGREGATIONS] = {"deadline_cloud_exporter_aggregations_total",
		"Sessions statistics aggregations started on the farm, by final status (EXPIRED: gone before it was "
		"read).",
		2, {"farm_id", "status"}},
	[METRICS_PAGES] = {"deadline_cloud_exporter_pages_read_total",
		"Pages of statistics read for the report and farm.", 2, {"farm_id", "report"}},
	[METRICS_ROWS] = {"deadline_cloud_exporter_rows_read_total",
		"Statistics rows read for the report and farm, before merging.", 2, {"farm_id", "report"}},
	[METRICS_SPLITS] = {"deadline_cloud_exporter_aggregation_splits_total",
		"Aggregations that ended FAILED or TIMEOUT and were asked again in smaller parts, by what was split "
		"(resources or window).",
		3, {"farm_id", "report", "kind"}},
};

/* Distinct series per event family kept; a safety net, the label values are bounded by the configuration. */
#define MAX_EVENT_SERIES 4096

struct metrics_entry *metrics_entry_find(
	struct metrics_entry *const *entries, size_t n, const char *farm_id, const char *report)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(entries[i]->farm_id, farm_id) == 0 && strcmp(entries[i]->report, report) == 0)
			return entries[i];
	return NULL;
}

static void event_series_free(struct metrics_event_series *e, size_t n_labels)
{
	for (size_t i = 0; i < n_labels; i++)
		free(e->values[i]);
	free(e->values);
}

static int event_series_cmp(const char *const *a, const char *const *b, size_t n_labels)
{
	for (size_t i = 0; i < n_labels; i++) {
		int c = strcmp(a[i], b[i]);
		if (c)
			return c;
	}
	return 0;
}

void metrics_self_count(
	struct metrics_self *self, enum metrics_counter c, const char *const *label_values, uint64_t delta)
{
	struct metrics_event_family *fam = &self->events[c];
	size_t n_labels = event_families[c].n_labels, lo, hi;

	for (size_t i = 0; i < n_labels; i++)
		if (!label_values[i])
			return;
	lo = 0;
	hi = fam->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = event_series_cmp((const char *const *)fam->series[mid].values, label_values, n_labels);
		if (cmp == 0) {
			fam->series[mid].count += delta;
			return;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (fam->n >= MAX_EVENT_SERIES)
		return;
	if (fam->n == fam->cap) {
		size_t cap = fam->cap ? fam->cap * 2 : 16;
		struct metrics_event_series *series = realloc(fam->series, cap * sizeof(*series));
		if (!series)
			return;
		fam->series = series;
		fam->cap = cap;
	}
	struct metrics_event_series e = {.values = calloc(n_labels, sizeof(char *)), .count = delta};
	if (!e.values)
		return;
	for (size_t i = 0; i < n_labels; i++) {
		e.values[i] = strdup(label_values[i]);
		if (!e.values[i]) {
			event_series_free(&e, n_labels);
			return;
		}
	}
	memmove(&fam->series[lo + 1], &fam->series[lo], (fam->n - lo) * sizeof(*fam->series));
	fam->series[lo] = e;
	fam->n++;
}

void metrics_self_prune(struct metrics_self *self, struct metrics_entry *const *entries, size_t n)
{
	for (size_t f = 0; f < METRICS_COUNTER_COUNT; f++) {
		struct metrics_event_family *fam = &self->events[f];
		size_t n_labels = event_families[f].n_labels, kept = 0;
		if (n_labels < 2 || strcmp(event_families[f].labels[1], "report") != 0)
			continue;
		for (size_t i = 0; i < fam->n; i++) {
			struct metrics_event_series *e = &fam->series[i];
			if (metrics_entry_find(entries, n, e->values[0], e->values[1]))
				fam->series[kept++] = *e;
			else
				event_series_free(e, n_labels);
		}
		fam->n = kept;
	}
}

/* The event counter families. */
static int events_render(const struct metrics_self *self, struct buf *b)
{
	char value[32];

	for (size_t f = 0; f < METRICS_COUNTER_COUNT; f++) {
		const struct metrics_event_family *fam = &self->events[f];
		if (!fam->n)
			continue;
		if (buf_puts(b, "# HELP ") < 0 || buf_puts(b, event_families[f].name) < 0 || buf_puts(b, " ") < 0 ||
			buf_puts(b, event_families[f].help) < 0 || buf_puts(b, "\n# TYPE ") < 0 ||
			buf_puts(b, event_families[f].name) < 0 || buf_puts(b, " counter\n") < 0)
			return -ENOMEM;
		for (size_t i = 0; i < fam->n; i++) {
			if (buf_puts(b, event_families[f].name) < 0 || buf_puts(b, "{") < 0)
				return -ENOMEM;
			for (size_t l = 0; l < event_families[f].n_labels; l++) {
				if ((l && buf_puts(b, ",") < 0) || buf_puts(b, event_families[f].labels[l]) < 0 ||
					buf_puts(b, "=\"") < 0 ||
					metrics_buf_escape_label(b, fam->series[i].values[l]) < 0 ||
					buf_puts(b, "\"") < 0)
					return -ENOMEM;
			}
			snprintf(value, sizeof(value), "} %llu\n", (unsigned long long)fam->series[i].count);
			if (buf_puts(b, value) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

void metrics_self_count_request(struct metrics_self *self, const char *operation, long status)
{
	size_t i;

	if (status < 100 || status > 999)
		status = 0;
	/* Kept sorted by (operation, status): the output order is stable and the list is short. */
	for (i = 0; i < self->n_counters; i++) {
		int c = strcmp(self->counters[i].operation, operation);
		if (c > 0 || (c == 0 && self->counters[i].status >= status))
			break;
	}
	if (i < self->n_counters && self->counters[i].status == status &&
		strcmp(self->counters[i].operation, operation) == 0) {
		self->counters[i].count++;
		return;
	}
	if (self->n_counters >= MAX_REQUEST_COUNTERS)
		return;
	if (self->n_counters == self->cap_counters) {
		size_t cap = self->cap_counters ? self->cap_counters * 2 : 16;
		struct metrics_request_counter *counters = realloc(self->counters, cap * sizeof(*counters));
		if (!counters)
			return;
		self->counters = counters;
		self->cap_counters = cap;
	}
	char *copy = strdup(operation);
	if (!copy)
		return;
	memmove(&self->counters[i + 1], &self->counters[i], (self->n_counters - i) * sizeof(*self->counters));
	self->counters[i].operation = copy;
	self->counters[i].status = status;
	self->counters[i].count = 1;
	self->n_counters++;
}

/* `name{farm_id="…",report="…"} ` */
static int self_pair_labels(struct buf *b, const char *name, const struct metrics_entry *e)
{
	if (buf_puts(b, name) < 0 || buf_puts(b, "{farm_id=\"") < 0 || metrics_buf_escape_label(b, e->farm_id) < 0 ||
		buf_puts(b, "\",report=\"") < 0 || metrics_buf_escape_label(b, e->report) < 0 ||
		buf_puts(b, "\"} ") < 0)
		return -ENOMEM;
	return 0;
}

enum self_pair_figure {
	SELF_UP,
	SELF_LAST_SUCCESS,
	SELF_DURATION,
	SELF_INTERVAL,
};

/* The exporter's own health and counters (small): rendered when they changed since the last scrape. */
static int self_render(const struct metrics_self *self, struct metrics_entry *const *entries, size_t n, struct buf *b)
{
	static const struct {
		const char *name, *header;
	} pair_families[] = {
		[SELF_UP] = {"deadline_cloud_exporter_report_up",
			"# HELP deadline_cloud_exporter_report_up 1 when the last refresh of the report for the farm "
			"succeeded, 0 when it failed or has not finished yet.\n"
			"# TYPE deadline_cloud_exporter_report_up gauge\n"},
		[SELF_LAST_SUCCESS] = {"deadline_cloud_exporter_report_last_success_timestamp_seconds",
			"# HELP deadline_cloud_exporter_report_last_success_timestamp_seconds Unix time of the last "
			"successful refresh of the report for the farm, 0 before the first.\n"
			"# TYPE deadline_cloud_exporter_report_last_success_timestamp_seconds gauge\n"},
		[SELF_DURATION] = {"deadline_cloud_exporter_report_duration_seconds",
			"# HELP deadline_cloud_exporter_report_duration_seconds Length in seconds of the last refresh "
			"attempt of the report for the farm.\n"
			"# TYPE deadline_cloud_exporter_report_duration_seconds gauge\n"},
		[SELF_INTERVAL] = {"deadline_cloud_exporter_report_interval_seconds",
			"# HELP deadline_cloud_exporter_report_interval_seconds Configured refresh interval of the "
			"report, "
			"in seconds.\n"
			"# TYPE deadline_cloud_exporter_report_interval_seconds gauge\n"},
	};
	char value[64];

	/* inventory hook (h11-inventory): the inventory's families, rendered whole by metrics/inventory.c */
	if (self->inventory.len && buf_append(b, self->inventory.data, self->inventory.len) < 0)
		return -ENOMEM;

	for (size_t f = 0; f < sizeof(pair_families) / sizeof(pair_families[0]); f++) {
		bool header = false;
		for (size_t i = 0; i < n; i++) {
			const struct metrics_entry *e = entries[i];
			switch (f) {
			case SELF_UP:
				snprintf(value, sizeof(value), "%d", e->up ? 1 : 0);
				break;
			case SELF_LAST_SUCCESS:
				snprintf(value, sizeof(value), "%lld", (long long)(e->succeeded ? e->last_success : 0));
				break;
			case SELF_DURATION:
				if (!e->attempted)
					continue;
				metrics_format_double(value, sizeof(value), e->duration);
				break;
			default:
				snprintf(value, sizeof(value), "%lld", (long long)e->interval_seconds);
				break;
			}
			if (!header && buf_puts(b, pair_families[f].header) < 0)
				return -ENOMEM;
			header = true;
			if (self_pair_labels(b, pair_families[f].name, e) < 0 || buf_puts(b, value) < 0 ||
				buf_puts(b, "\n") < 0)
				return -ENOMEM;
		}
	}
	if (self->n_counters &&
		buf_puts(b, "# HELP deadline_cloud_exporter_api_requests_total Deadline Cloud API requests made, by "
			    "operation and HTTP status code (error: the request failed before a status).\n"
			    "# TYPE deadline_cloud_exporter_api_requests_total counter\n") < 0)
		return -ENOMEM;
	for (size_t i = 0; i < self->n_counters; i++) {
		const struct metrics_request_counter *c = &self->counters[i];
		if (c->status)
			snprintf(value, sizeof(value), "%ld", c->status);
		else
			snprintf(value, sizeof(value), "error");
		if (buf_puts(b, "deadline_cloud_exporter_api_requests_total{operation=\"") < 0 ||
			metrics_buf_escape_label(b, c->operation) < 0 || buf_puts(b, "\",code=\"") < 0 ||
			buf_puts(b, value) < 0 || buf_puts(b, "\"} ") < 0)
			return -ENOMEM;
		snprintf(value, sizeof(value), "%llu\n", (unsigned long long)c->count);
		if (buf_puts(b, value) < 0)
			return -ENOMEM;
	}
	if (events_render(self, b) < 0)
		return -ENOMEM;
	if (buf_puts(b, "# HELP deadline_cloud_exporter_build_info The exporter's version; always 1.\n"
			"# TYPE deadline_cloud_exporter_build_info gauge\n"
			"deadline_cloud_exporter_build_info{version=\"") < 0 ||
		metrics_buf_escape_label(b, self->version) < 0 || buf_puts(b, "\"} 1\n") < 0)
		return -ENOMEM;
	return 0;
}

int metrics_self_init(struct metrics_self *self, const char *version)
{
	memset(self, 0, sizeof(*self));
	self->version = strdup(version);
	return self->version ? 0 : -ENOMEM;
}

void metrics_self_deinit(struct metrics_self *self)
{
	if (!self)
		return;
	for (size_t i = 0; i < self->n_counters; i++)
		free(self->counters[i].operation);
	free(self->counters);
	for (size_t f = 0; f < METRICS_COUNTER_COUNT; f++) {
		for (size_t i = 0; i < self->events[f].n; i++)
			event_series_free(&self->events[f].series[i], event_families[f].n_labels);
		free(self->events[f].series);
	}
	buf_deinit(&self->inventory); /* inventory hook (h11-inventory) */
	free(self->version);
	memset(self, 0, sizeof(*self));
}

struct metrics_self_text *metrics_self_text_alloc(uint64_t gen)
{
	struct metrics_self_text *t = calloc(1, sizeof(*t));

	if (t) {
		atomic_init(&t->refs, 1);
		t->gen = gen;
	}
	return t;
}

int metrics_self_text_new(struct metrics_self_text **out, const struct metrics_self *self,
	struct metrics_entry *const *entries, size_t n, uint64_t gen)
{
	struct metrics_self_text *t = metrics_self_text_alloc(gen);
	int r;

	if (!t)
		return -ENOMEM;
	r = self_render(self, entries, n, &t->text);
	if (r < 0) {
		metrics_self_text_unref(t);
		return r;
	}
	*out = t;
	return 0;
}

int metrics_self_text_compress(struct metrics_self_text *t, enum deflate_join_end end)
{
	t->crc = deflate_join_crc32(0, t->text.data, t->text.len);
	return deflate_join_zlib(t->text.data, t->text.len, SELF_LEVEL, end, &t->deflated, &t->deflated_len);
}

void metrics_self_text_unref(struct metrics_self_text *t)
{
	if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	buf_deinit(&t->text);
	free(t->deflated);
	free(t);
}
