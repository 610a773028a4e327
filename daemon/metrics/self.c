/* self: the exporter's own metrics: per-report health, API requests and events counted, build_info */
#include "metrics/self.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/exposition.h"

/* Distinct (farm, operation, status) series kept; a safety net: farms and operations come from the configuration. */
#define MAX_REQUEST_COUNTERS 65536

/* The self kind's families, in output order: report health, API requests, the event counters, build_info. */
enum self_family {
	SELF_UP,
	SELF_LAST_SUCCESS,
	SELF_DURATION,
	SELF_INTERVAL,
	SELF_RESOURCES,
	SELF_REQUESTS,
	SELF_EVENTS, /* one family per enum metrics_counter, in its order */
	SELF_BUILD_INFO = SELF_EVENTS + METRICS_COUNTER_COUNT,
	SELF_FAMILY_COUNT,
};

static const struct exposition_family self_families[SELF_FAMILY_COUNT] = {
	[SELF_UP] = {"deadline_cloud_exporter_report_up", EXPOSITION_GAUGE,
		"1 when the last refresh of the report for the farm succeeded, 0 when it failed or has not finished "
		"yet."},
	[SELF_LAST_SUCCESS] = {"deadline_cloud_exporter_report_last_success_timestamp_seconds", EXPOSITION_GAUGE,
		"Unix time of the last successful refresh of the report for the farm, 0 before the first."},
	[SELF_DURATION] = {"deadline_cloud_exporter_report_duration_seconds", EXPOSITION_GAUGE,
		"Length in seconds of the last refresh attempt of the report for the farm."},
	[SELF_INTERVAL] = {"deadline_cloud_exporter_report_interval_seconds", EXPOSITION_GAUGE,
		"Configured refresh interval of the report, in seconds."},
	[SELF_RESOURCES] = {"deadline_cloud_exporter_report_resources", EXPOSITION_GAUGE,
		"The kind of ids (queues or fleets) the last refresh of the report for the farm asked the API by: 1 "
		"for "
		"that kind, 0 for the other."},
	[SELF_REQUESTS] = {"deadline_cloud_exporter_api_requests_total", EXPOSITION_COUNTER,
		"AWS API requests made, by farm (- for account-wide calls: STS, license endpoints, the identity "
		"store), operation and HTTP status code (error: the request failed before a status)."},
	[SELF_EVENTS + METRICS_REFRESH_ERRORS] = {"deadline_cloud_exporter_refresh_errors_total", EXPOSITION_COUNTER,
		"Refreshes of the report for the farm that failed, by the kind of failure."},
	[SELF_EVENTS + METRICS_API_RETRIES] = {"deadline_cloud_exporter_api_retries_total", EXPOSITION_COUNTER,
		"AWS API requests sent again after a throttled, failed or unusable answer, by farm (- for account-wide "
		"calls) and operation."},
	[SELF_EVENTS + METRICS_AGGREGATIONS] = {"deadline_cloud_exporter_aggregations_total", EXPOSITION_COUNTER,
		"Sessions statistics aggregations started on the farm, by final status (EXPIRED: gone before it was "
		"read)."},
	[SELF_EVENTS + METRICS_PAGES] = {"deadline_cloud_exporter_pages_read_total", EXPOSITION_COUNTER,
		"Pages of statistics read for the report and farm."},
	[SELF_EVENTS + METRICS_ROWS] = {"deadline_cloud_exporter_rows_read_total", EXPOSITION_COUNTER,
		"Statistics rows read for the report and farm, before merging."},
	[SELF_EVENTS + METRICS_SPLITS] = {"deadline_cloud_exporter_aggregation_splits_total", EXPOSITION_COUNTER,
		"Aggregations that ended FAILED or TIMEOUT and were asked again in smaller parts, by what was split "
		"(resources or window)."},
	[SELF_EVENTS + METRICS_DECREASES_HELD] = {"deadline_cloud_exporter_usage_decreases_held_total",
		EXPOSITION_COUNTER,
		"Groups of a counter report (reports[].counter) whose refresh gave a smaller figure than the one "
		"exported, or none, and which kept the one exported (a deleted queue, a correction): one per group "
		"per refresh."},
	[SELF_BUILD_INFO] = {"deadline_cloud_exporter_build_info", EXPOSITION_GAUGE,
		"The exporter's version; always 1."},
};

struct metrics_kind metrics_self_kind = {
	.rank = METRICS_RANK_SELF,
	.families = self_families,
	.n_families = SELF_FAMILY_COUNT,
};

/* The label names of each event counter family. */
static const struct {
	size_t n_labels;
	const char *labels[3];
} event_families[METRICS_COUNTER_COUNT] = {
	[METRICS_REFRESH_ERRORS] = {3, {"farm_id", "report", "kind"}},
	[METRICS_API_RETRIES] = {2, {"farm_id", "operation"}},
	[METRICS_AGGREGATIONS] = {2, {"farm_id", "status"}},
	[METRICS_PAGES] = {2, {"farm_id", "report"}},
	[METRICS_ROWS] = {2, {"farm_id", "report"}},
	[METRICS_SPLITS] = {3, {"farm_id", "report", "kind"}},
	[METRICS_DECREASES_HELD] = {2, {"farm_id", "report"}},
};

/*
 * Distinct series per event family kept; a safety net, the label values are bounded by the configuration (every
 * (farm, report, kind) is declared from the start: 100 farms of 10 reports and a dozen kinds are 12,000).
 */
#define MAX_EVENT_SERIES 65536

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

/* Whether farm has a declared pair among entries[0..n) (or is "-", the account-wide calls'). */
static bool farm_declared(struct metrics_entry *const *entries, size_t n, const char *farm)
{
	if (strcmp(farm, "-") == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (strcmp(entries[i]->farm_id, farm) == 0)
			return true;
	return false;
}

void metrics_self_prune(struct metrics_self *self, struct metrics_entry *const *entries, size_t n, bool farms)
{
	size_t kept = 0;

	for (size_t f = 0; f < METRICS_COUNTER_COUNT; f++) {
		struct metrics_event_family *fam = &self->events[f];
		size_t n_labels = event_families[f].n_labels;
		bool pairs = n_labels >= 2 && strcmp(event_families[f].labels[1], "report") == 0;
		if (!pairs && !farms)
			continue;
		kept = 0;
		for (size_t i = 0; i < fam->n; i++) {
			struct metrics_event_series *e = &fam->series[i];
			if (pairs ? metrics_entry_find(entries, n, e->values[0], e->values[1]) != NULL
				  : farm_declared(entries, n, e->values[0]))
				fam->series[kept++] = *e;
			else
				event_series_free(e, n_labels);
		}
		fam->n = kept;
	}
	if (!farms)
		return;
	kept = 0;
	for (size_t i = 0; i < self->n_counters; i++) {
		struct metrics_request_counter *c = &self->counters[i];
		if (farm_declared(entries, n, c->farm_id)) {
			self->counters[kept++] = *c;
			continue;
		}
		free(c->farm_id);
		free(c->operation);
	}
	self->n_counters = kept;
}

void metrics_self_declare_counters(struct metrics_self *self, const struct config *cfg)
{
	struct metrics_event_family *fam = &self->events[METRICS_DECREASES_HELD];
	size_t kept = 0;

	/* A report that is no longer a counter report has nothing held to count. */
	for (size_t i = 0; i < fam->n; i++) {
		struct metrics_event_series *e = &fam->series[i];
		const struct report_config *r = NULL;
		for (size_t k = 0; k < cfg->n_reports && !r; k++)
			if (strcmp(cfg->reports[k].name, e->values[1]) == 0)
				r = &cfg->reports[k];
		if (r && r->counter)
			fam->series[kept++] = *e;
		else
			event_series_free(e, event_families[METRICS_DECREASES_HELD].n_labels);
	}
	fam->n = kept;
	/* At 0 from the start, so that increase() sees the first one. */
	for (size_t k = 0; k < cfg->n_reports; k++)
		for (size_t i = 0; cfg->reports[k].counter && i < cfg->n_farms; i++)
			metrics_self_count(self, METRICS_DECREASES_HELD,
				(const char *const[]){cfg->farms[i].id, cfg->reports[k].name}, 0);
}

static int request_cmp(const struct metrics_request_counter *c, const char *farm_id, const char *operation, long status)
{
	int r = strcmp(c->farm_id, farm_id);

	if (!r)
		r = strcmp(c->operation, operation);
	if (!r)
		r = c->status < status ? -1 : c->status > status;
	return r;
}

void metrics_self_count_request(
	struct metrics_self *self, const char *farm_id, const char *operation, long status, uint64_t n)
{
	size_t i;

	if (status < 100 || status > 999)
		status = 0;
	/* Kept sorted by (farm, operation, status): the output order is stable. */
	for (i = 0; i < self->n_counters; i++)
		if (request_cmp(&self->counters[i], farm_id, operation, status) >= 0)
			break;
	if (i < self->n_counters && request_cmp(&self->counters[i], farm_id, operation, status) == 0) {
		self->counters[i].count += n;
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
	char *farm = strdup(farm_id), *op = strdup(operation);
	if (!farm || !op) {
		free(farm);
		free(op);
		return;
	}
	memmove(&self->counters[i + 1], &self->counters[i], (self->n_counters - i) * sizeof(*self->counters));
	self->counters[i] = (struct metrics_request_counter){farm, op, status, n};
	self->n_counters++;
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
	for (size_t i = 0; i < self->n_counters; i++) {
		free(self->counters[i].farm_id);
		free(self->counters[i].operation);
	}
	free(self->counters);
	for (size_t f = 0; f < METRICS_COUNTER_COUNT; f++) {
		for (size_t i = 0; i < self->events[f].n; i++)
			event_series_free(&self->events[f].series[i], event_families[f].n_labels);
		free(self->events[f].series);
	}
	free(self->version);
	memset(self, 0, sizeof(*self));
}

void metrics_self_view_deinit(struct metrics_self_view *view)
{
	if (!view)
		return;
	metrics_self_deinit(&view->self);
	for (size_t i = 0; i < view->n_entries; i++) {
		free(view->entries[i].farm_id);
		free(view->entries[i].report);
	}
	free(view->entries);
	memset(view, 0, sizeof(*view));
}

/* A copy of the event series of family c into dst (empty). Returns 0 or -ENOMEM. */
static int events_copy(struct metrics_event_family *dst, const struct metrics_event_family *src, size_t n_labels)
{
	if (!src->n)
		return 0;
	dst->series = calloc(src->n, sizeof(*dst->series));
	if (!dst->series)
		return -ENOMEM;
	dst->cap = src->n;
	for (; dst->n < src->n; dst->n++) {
		struct metrics_event_series *e = &dst->series[dst->n];
		e->count = src->series[dst->n].count;
		e->values = calloc(n_labels, sizeof(char *));
		if (!e->values)
			return -ENOMEM;
		for (size_t l = 0; l < n_labels; l++)
			if (!(e->values[l] = strdup(src->series[dst->n].values[l]))) {
				dst->n++; /* freed with the others */
				return -ENOMEM;
			}
	}
	return 0;
}

int metrics_self_view_init(
	struct metrics_self_view *view, const struct metrics_self *self, struct metrics_entry *const *entries, size_t n)
{
	struct metrics_self *dst = &view->self;

	memset(view, 0, sizeof(*view));
	if (metrics_self_init(dst, self->version) < 0)
		goto fail;
	if (self->n_counters && !(dst->counters = calloc(self->n_counters, sizeof(*dst->counters))))
		goto fail;
	dst->cap_counters = self->n_counters;
	for (; dst->n_counters < self->n_counters; dst->n_counters++) {
		struct metrics_request_counter *c = &dst->counters[dst->n_counters];
		*c = self->counters[dst->n_counters];
		c->farm_id = strdup(c->farm_id);
		c->operation = strdup(c->operation);
		if (!c->farm_id || !c->operation) {
			dst->n_counters++; /* freed with the others */
			goto fail;
		}
	}
	for (size_t c = 0; c < METRICS_COUNTER_COUNT; c++)
		if (events_copy(&dst->events[c], &self->events[c], event_families[c].n_labels) < 0)
			goto fail;
	if (n && !(view->entries = calloc(n, sizeof(*view->entries))))
		goto fail;
	for (; view->n_entries < n; view->n_entries++) {
		struct metrics_entry *e = &view->entries[view->n_entries];
		*e = *entries[view->n_entries];
		e->farm_id = strdup(e->farm_id);
		e->report = strdup(e->report);
		if (!e->farm_id || !e->report) {
			view->n_entries++; /* freed with the others */
			goto fail;
		}
	}
	return 0;
fail:
	metrics_self_view_deinit(view);
	return -ENOMEM;
}

/* `name{farm_id="…",report="…"} value` of one (farm, report) pair. */
static int pair_line(struct metrics_section *sec, enum self_family f, const struct metrics_entry *e, const char *value)
{
	const char *labels[] = {"farm_id", e->farm_id, "report", e->report};
	struct buf *b = metrics_section_lines(sec, f);

	return b ? exposition_series(b, self_families[f].name, labels, 2, value) : -ENOMEM;
}

/* The health of every (farm, report) pair: up, last success, duration (once attempted), interval. */
static int pairs_render(struct metrics_section *sec, const struct metrics_self_view *view)
{
	char value[EXPOSITION_NUMBER_SIZE];

	for (size_t f = SELF_UP; f <= SELF_INTERVAL; f++) {
		for (size_t i = 0; i < view->n_entries; i++) {
			const struct metrics_entry *e = &view->entries[i];
			switch (f) {
			case SELF_UP:
				exposition_int(value, sizeof(value), e->up ? 1 : 0);
				break;
			case SELF_LAST_SUCCESS:
				exposition_int(value, sizeof(value), e->succeeded ? e->last_success : 0);
				break;
			case SELF_DURATION:
				if (!e->attempted)
					continue;
				exposition_double(value, sizeof(value), e->duration);
				break;
			default:
				exposition_int(value, sizeof(value), e->interval_seconds);
				break;
			}
			if (pair_line(sec, (enum self_family)f, e, value) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/*
 * The kind of ids of every pair whose refresh resolved one: a series per kind, 1 for the one used (a state set, as
 * the inventory's states are exported), so that a dashboard can show it and an alert can see it change.
 */
static int resources_render(struct metrics_section *sec, const struct metrics_self_view *view)
{
	static const enum resource_kind kinds[] = {RESOURCE_QUEUES, RESOURCE_FLEETS};
	struct buf *b = metrics_section_lines(sec, SELF_RESOURCES);

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < view->n_entries; i++) {
		const struct metrics_entry *e = &view->entries[i];
		for (size_t k = 0; e->kind_known && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			const char *labels[] = {
				"farm_id", e->farm_id, "report", e->report, "kind", resource_kind_name(kinds[k])};
			if (exposition_series(b, self_families[SELF_RESOURCES].name, labels, 3,
				    e->kind == kinds[k] ? "1" : "0") < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/* The API requests by operation and status, then the event counters. */
static int counters_render(struct metrics_section *sec, const struct metrics_self *self)
{
	char value[EXPOSITION_NUMBER_SIZE], code[EXPOSITION_NUMBER_SIZE];

	for (size_t i = 0; i < self->n_counters; i++) {
		const struct metrics_request_counter *c = &self->counters[i];
		const char *labels[] = {"farm_id", c->farm_id, "operation", c->operation, "code", code};
		struct buf *b = metrics_section_lines(sec, SELF_REQUESTS);
		if (c->status)
			exposition_int(code, sizeof(code), c->status);
		else
			snprintf(code, sizeof(code), "error");
		exposition_uint(value, sizeof(value), c->count);
		if (!b || exposition_series(b, self_families[SELF_REQUESTS].name, labels, 3, value) < 0)
			return -ENOMEM;
	}
	for (size_t c = 0; c < METRICS_COUNTER_COUNT; c++) {
		const struct metrics_event_family *fam = &self->events[c];
		size_t n_labels = event_families[c].n_labels;
		const char *labels[6];
		for (size_t i = 0; i < fam->n; i++) {
			struct buf *b = metrics_section_lines(sec, SELF_EVENTS + c);
			for (size_t l = 0; l < n_labels; l++) {
				labels[2 * l] = event_families[c].labels[l];
				labels[2 * l + 1] = fam->series[i].values[l];
			}
			exposition_uint(value, sizeof(value), fam->series[i].count);
			if (!b ||
				exposition_series(b, self_families[SELF_EVENTS + c].name, labels, n_labels, value) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

int metrics_self_section_new(struct metrics_section **out, const struct metrics_self_view *view)
{
	const char *version[] = {"version", view->self.version};
	struct metrics_section *sec = NULL;
	struct buf *b;
	int r;

	*out = NULL;
	r = metrics_section_new(&sec, &metrics_self_kind);
	if (r < 0)
		return r;
	r = -ENOMEM;
	if (pairs_render(sec, view) < 0 || resources_render(sec, view) < 0 || counters_render(sec, &view->self) < 0)
		goto fail;
	b = metrics_section_lines(sec, SELF_BUILD_INFO);
	if (!b || exposition_series(b, self_families[SELF_BUILD_INFO].name, version, 1, "1") < 0)
		goto fail;
	r = metrics_section_seal(sec);
	if (r < 0)
		goto fail;
	*out = sec;
	return 0;
fail:
	metrics_section_unref(sec);
	return r;
}
