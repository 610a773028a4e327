/* refresh: one (farm, report) refresh: list resources, Start, poll, read every page, merge, publish */
#include "deadline/refresh.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/window.h"
#include "deadline/deadline_api.h"
#include "deadline/pages.h"
#include "deadline/queue_search.h"
#include "metrics/usage.h"
#include "metrics/usage_labels.h"
#include "util/log.h"
#include "util/monotime.h"
#include "util/rfc3339.h"
#include "util/notify.h"

/* Polling an aggregation: 0.5 s growing to 15 s, for at most 30 minutes. */
#define POLL_FIRST_MS 500.0
#define POLL_MAX_MS 15000.0
#define POLL_GROWTH 1.5
#define POLL_GIVE_UP_S (30 * 60)

/* Restarts of an aggregation that expired while it was read. */
#define AGGREGATION_RESTARTS_MAX 2

/* A FAILED or TIMEOUT aggregation is asked again in halves: resources first, then the window. */
#define SPLIT_DEPTH_MAX 12
#define SPLIT_WINDOW_MIN_S 3600

/* ---- listing resources ---- */

struct list_ctx {
	enum resource_kind kind;
	char ***ids;
	size_t *n;
};

/* deadline_parse_list() appends a page's ids only when the whole page parsed: the paginator needs no take(). */
static int list_parse(void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen)
{
	struct list_ctx *l = ctx;

	return deadline_parse_list(body, len, l->kind, l->ids, l->n, &next->token, err, errlen);
}

static void free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/*
 * Tells the user directory (if any) every user id of the published figures: t's key holds the group-by values, or
 * with labels the derived ones and then the kept fields' (a user_id merged away is not shown, so not looked up).
 */
static void note_users(struct refresh_ctx *rf, const struct report_config *rc, struct usage_table *t)
{
	const struct usage_group *const *groups;
	size_t n, at = rc->n_labels;

	if (!rf->users)
		return;
	for (size_t k = 0; k < rc->n_group_by; k++) {
		if (!config_report_keeps(rc, rc->group_by[k]))
			continue;
		if (rc->group_by[k] == GROUP_USER_ID) {
			n = usage_table_groups(t, &groups);
			for (size_t i = 0; i < n; i++)
				user_directory_note(rf->users, groups[i]->values[at]);
		}
		at++;
	}
}

/*
 * A report with labels: the queue names and jobs' queues its rules need looked up, then the groups of t (the
 * report's group_by table, which may be shared by other reports: only sorted) merged by the derived labels into a
 * new table *out. Returns 0, QUEUE_SEARCH_NO_NAMES, an enum api_outcome or -errno.
 */
static int relabel(
	struct refresh_ctx *rf, const struct report_config *rc, struct usage_table *t, struct usage_table **out)
{
	struct queue_lookup_groups lg;
	struct usage_labels_stats st;
	struct usage_queue_source src;
	double began;
	int r;

	*out = NULL;
	r = queue_search_prepare(rf->api, rf->board, rf->farm->id, rf->queues, rc, t);
	if (r != 0)
		return r;
	src = queue_lookup_source(rf->queues, rc, &lg);
	began = monotime_s();
	r = usage_labels_merge(out, t, rc, &src, &st);
	if (r < 0)
		return r;
	log_debug("farm=%s report=%s op=labels groups=%zu labelled=%zu regex_runs=%zu duration=%.6fs", rf->farm->id,
		rc->name, st.groups_in, st.groups_out, st.regex_runs, monotime_s() - began);
	if (st.defaulted)
		log_info("farm=%s report=%s op=labels groups=%zu reason=\"a value took its default: its regex stopped "
			 "at "
			 "its match limit, the name is not UTF-8, or the value is over 4096 bytes\"",
			rf->farm->id, rc->name, st.defaulted);
	return 0;
}

/*
 * The kind of ids the report asks by on this farm. The poller does not count both kinds yet, so "auto" over a farm
 * whose queues and fleets are both "all" asks by queue, as "queues" did when it was the default.
 */
static enum resource_kind report_kind(const struct refresh_ctx *rf, const struct report_config *rc)
{
	enum resource_kind kind = RESOURCE_QUEUES;

	/* config_load() refuses the one case that fails ("auto" with two lists). */
	if (config_report_kind(rf->farm, rc, 0, 0, DEADLINE_MAX_RESOURCES_PER_AGGREGATION, &kind) < 0)
		return RESOURCE_QUEUES;
	return kind;
}

int refresh_list_resources(
	struct api_caller *a, const char *farm_id, enum resource_kind kind, const char *report, char ***ids, size_t *n)
{
	struct list_ctx l = {.kind = kind, .ids = ids, .n = n};
	char *path = deadline_list_path(farm_id, kind);
	const struct api_pages pg = {
		.operation = kind == RESOURCE_QUEUES ? API_OP_LIST_QUEUES : API_OP_LIST_FLEETS,
		.report = report,
		.path = path,
		.parse = list_parse,
		.ctx = &l,
	};
	int r = -ENOMEM;

	*ids = NULL;
	*n = 0;
	if (path)
		r = api_pages_run(a, &pg);
	if (r != 0) {
		free_ids(*ids, *n);
		*ids = NULL;
		*n = 0;
	}
	free(path);
	return r;
}

/* Lists every queue or fleet of the farm, of the kind the report asks by. */
static int list_resources(struct refresh_ctx *rf, const struct report_config *rc, char ***ids, size_t *n)
{
	return refresh_list_resources(rf->api, rf->farm->id, report_kind(rf, rc), rc->name, ids, n);
}

/* ---- one aggregation ---- */

struct start_ctx {
	char *aggregation_id;
};

static int parse_start(void *ctx, const char *body, size_t len, char *err, size_t errlen)
{
	struct start_ctx *s = ctx;

	free(s->aggregation_id);
	s->aggregation_id = NULL;
	return deadline_parse_start(body, len, &s->aggregation_id, err, errlen);
}

struct refresh_stats {
	size_t batches;
	size_t pages;
	size_t rows;
};

/* Starts the aggregation, waiting while the farm is busy with another one. */
static int aggregation_start(struct refresh_ctx *rf, const struct report_config *rc, const char *path, const char *body,
	size_t body_len, char **aggregation_id)
{
	struct start_ctx s = {0};
	int r;

	for (int attempt = 1;; attempt++) {
		struct api_call c = {
			.operation = API_OP_START,
			.method = "POST",
			.path = path,
			.body = body,
			.body_len = body_len,
			.parse = parse_start,
			.ctx = &s,
		};
		r = api_call_run(rf->api, &c);
		bool busy = c.busy;
		if (r == API_THROTTLED && busy && attempt < API_BUSY_MAX_ATTEMPTS) {
			double wait = api_busy_wait_ms(attempt, api_caller_random(rf->api), c.retry_after_ms);
			log_info("farm=%s report=%s op=%s http_status=429 reason=\"farm busy or throttled; starting "
				 "again in "
				 "%.1fs\"",
				rf->farm->id, rc->name, API_OP_START, wait / 1000);
			api_call_reset(&c);
			if (!api_caller_sleep(rf->api, wait))
				return API_STOPPED;
			continue;
		}
		if (r != 0)
			api_call_log_failure(rf->api, rc->name, &c, r);
		api_call_reset(&c);
		break;
	}
	if (r == 0)
		*aggregation_id = s.aggregation_id;
	else
		free(s.aggregation_id);
	return r;
}

/* Merges a page's rows into the refresh's table. */
static int merge_page(struct refresh_ctx *rf, const struct report_config *rc, struct usage_table *t,
	const struct deadline_page *page, struct refresh_stats *st)
{
	const char *const labels[] = {rf->farm->id, rc->name};

	metrics_store_count(rf->store, METRICS_PAGES, labels, 1);
	metrics_store_count(rf->store, METRICS_ROWS, labels, page->n_rows);
	for (size_t i = 0; i < page->n_rows; i++) {
		int r = usage_table_add(t, &page->rows[i]);
		if (r < 0)
			return r;
	}
	st->pages++;
	st->rows += page->n_rows;
	return 0;
}

static void aggregation_count(struct refresh_ctx *rf, const char *status)
{
	metrics_store_count(rf->store, METRICS_AGGREGATIONS, (const char *const[]){rf->farm->id, status}, 1);
}

/* Reading one aggregation: its Get answers, polled until COMPLETED, then its pages merged one by one. */
struct collect_ctx {
	struct refresh_ctx *rf;
	const struct report_config *rc;
	const char *aggregation_id;
	struct deadline_page page; /* the last answer */
	struct usage_table *t;
	struct refresh_stats *st;
	double poll_ms; /* the next wait while IN_PROGRESS */
	double give_up; /* monotime_s() */
};

static int collect_request(void *ctx, const struct api_cursor *at, char **query, char **body, size_t *body_len)
{
	struct collect_ctx *cc = ctx;

	(void)body;
	(void)body_len;
	*query = deadline_get_query(cc->aggregation_id, DEADLINE_MAX_RESULTS, at->token);
	return *query ? 0 : -ENOMEM;
}

static int collect_parse(void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen)
{
	struct collect_ctx *cc = ctx;
	int r;

	deadline_page_deinit(&cc->page);
	r = deadline_parse_get(body, len, &cc->page, err, errlen);
	if (r == 0) {
		next->token = cc->page.next_token;
		cc->page.next_token = NULL;
	}
	return r;
}

/* An answer IN_PROGRESS (or of a status this version does not know): wait, then ask again, for a bounded time. */
static int collect_wait(struct collect_ctx *cc, size_t pages, bool *again)
{
	struct refresh_ctx *rf = cc->rf;
	const char *status = cc->page.status_text ? cc->page.status_text : "?";

	if (pages) {
		/* A page of a completed aggregation cannot go back in progress. */
		log_warning("farm=%s report=%s op=%s reason=\"status %s while reading pages\"", rf->farm->id,
			cc->rc->name, API_OP_GET, status);
		return API_BAD_RESPONSE;
	}
	if (monotime_s() > cc->give_up) {
		log_warning("farm=%s report=%s op=%s aggregation=%s reason=\"still %s after %ds; giving up\"",
			rf->farm->id, cc->rc->name, API_OP_GET, cc->aggregation_id, status, POLL_GIVE_UP_S);
		return REFRESH_AGG_FAILED;
	}
	if (!api_caller_sleep(rf->api, cc->poll_ms))
		return API_STOPPED;
	cc->poll_ms *= POLL_GROWTH;
	if (cc->poll_ms > POLL_MAX_MS)
		cc->poll_ms = POLL_MAX_MS;
	*again = true;
	return 0;
}

static int collect_take(void *ctx, size_t pages, bool *again)
{
	struct collect_ctx *cc = ctx;
	struct refresh_ctx *rf = cc->rf;
	const struct deadline_page *page = &cc->page;

	switch (page->status) {
	case DEADLINE_STATUS_IN_PROGRESS:
	case DEADLINE_STATUS_UNKNOWN:
		return collect_wait(cc, pages, again);
	case DEADLINE_STATUS_FAILED:
	case DEADLINE_STATUS_TIMEOUT:
		aggregation_count(rf, deadline_status_name(page->status));
		log_warning("farm=%s report=%s op=%s aggregation=%s aggregation_status=%s reason=\"%s\"", rf->farm->id,
			cc->rc->name, API_OP_GET, cc->aggregation_id, deadline_status_name(page->status),
			page->status_message ? page->status_message : "no statusMessage");
		return REFRESH_AGG_FAILED;
	case DEADLINE_STATUS_COMPLETED:
		break;
	}
	if (!pages) {
		aggregation_count(rf, deadline_status_name(page->status));
		log_debug("farm=%s report=%s op=%s aggregation=%s aggregation_status=COMPLETED reason=\"first page "
			  "read\"",
			rf->farm->id, cc->rc->name, API_OP_GET, cc->aggregation_id);
	}
	return merge_page(rf, cc->rc, cc->t, page, cc->st);
}

/* Polls until the aggregation completes, then reads and merges every page. */
static int aggregation_collect(struct refresh_ctx *rf, const struct report_config *rc, const char *path,
	const char *aggregation_id, struct usage_table *t, struct refresh_stats *st)
{
	struct collect_ctx cc = {
		.rf = rf,
		.rc = rc,
		.aggregation_id = aggregation_id,
		.t = t,
		.st = st,
		.poll_ms = POLL_FIRST_MS,
		.give_up = monotime_s() + POLL_GIVE_UP_S,
	};
	const struct api_pages pg = {
		.operation = API_OP_GET,
		.report = rc->name,
		.path = path,
		.max_pages = API_AGGREGATION_PAGES_MAX,
		.quiet_not_found = true,
		.request = collect_request,
		.parse = collect_parse,
		.take = collect_take,
		.ctx = &cc,
	};
	int r = api_pages_run(rf->api, &pg);

	if (r == API_NOT_FOUND) {
		log_warning("farm=%s report=%s op=%s http_status=404 aggregation=%s reason=\"aggregation expired or "
			    "unknown; starting again\"",
			rf->farm->id, rc->name, API_OP_GET, aggregation_id);
		aggregation_count(rf, "EXPIRED"); /* declared with the others by refresh_declare_counters() */
		r = REFRESH_AGG_EXPIRED;
	}
	deadline_page_deinit(&cc.page);
	return r;
}

/* One batch of at most 10 resources: Start, poll, read every page, merge. */
static int refresh_batch(struct refresh_ctx *rf, const struct report_config *rc, const char *path,
	const char *const *ids, size_t n_ids, int64_t start_time, int64_t end_time, struct usage_table *t,
	struct refresh_stats *st)
{
	char start[21], end[21];

	if (rfc3339_format(start_time, start) < 0 || rfc3339_format(end_time, end) < 0)
		return -EINVAL;
	struct deadline_start_request req = {
		.farm_id = rf->farm->id,
		.kind = report_kind(rf, rc),
		.resource_ids = ids,
		.n_resource_ids = n_ids,
		.start_time = start,
		.end_time = end,
		.group_by = rc->group_by,
		.n_group_by = rc->n_group_by,
		.statistics = rc->statistics,
		.timezone = rc->timezone,
		.period = rc->period,
	};
	char *body = NULL;
	size_t body_len = 0;
	int r = deadline_start_body(&req, &body, &body_len);

	if (r < 0)
		return r;
	for (int restart = 0;; restart++) {
		/* Rows of an attempt that expired half-way must not count twice: collect into a scratch table. */
		struct usage_table *scratch = NULL;
		char *aggregation_id = NULL;
		struct refresh_stats bst = {0};

		r = usage_table_new(&scratch, rc->group_by, rc->n_group_by);
		if (r < 0)
			break;
		r = aggregation_start(rf, rc, path, body, body_len, &aggregation_id);
		if (r == 0) {
			log_debug("farm=%s report=%s op=%s aggregation=%s resources=%zu", rf->farm->id, rc->name,
				API_OP_START, aggregation_id, n_ids);
			r = aggregation_collect(rf, rc, path, aggregation_id, scratch, &bst);
		}
		free(aggregation_id);
		if (r == 0) {
			r = usage_table_merge(t, scratch);
			st->pages += bst.pages;
			st->rows += bst.rows;
			st->batches++;
		}
		usage_table_free(scratch);
		if (r != REFRESH_AGG_EXPIRED || restart >= AGGREGATION_RESTARTS_MAX)
			break;
	}
	free(body);
	return r;
}

/*
 * A batch, asked again in halves when the service gives up on it (FAILED, TIMEOUT), as AWS advises:
 * first fewer resources, then a shorter window; the parts merge like any other rows.
 */
static int refresh_part(struct refresh_ctx *rf, const struct report_config *rc, const char *path,
	const char *const *ids, size_t n_ids, int64_t start, int64_t end, struct usage_table *t,
	struct refresh_stats *st, unsigned depth)
{
	int r = refresh_batch(rf, rc, path, ids, n_ids, start, end, t, st);

	if (r != REFRESH_AGG_FAILED || depth >= SPLIT_DEPTH_MAX)
		return r;
	if (n_ids > 1) {
		size_t half = n_ids / 2;
		log_info("farm=%s report=%s op=split kind=resources resources=%zu reason=\"aggregation failed; asking "
			 "for %zu and %zu resources\"",
			rf->farm->id, rc->name, n_ids, half, n_ids - half);
		metrics_store_count(
			rf->store, METRICS_SPLITS, (const char *const[]){rf->farm->id, rc->name, "resources"}, 1);
		r = refresh_part(rf, rc, path, ids, half, start, end, t, st, depth + 1);
		if (r == 0)
			r = refresh_part(rf, rc, path, ids + half, n_ids - half, start, end, t, st, depth + 1);
		return r;
	}
	if (end - start >= 2 * SPLIT_WINDOW_MIN_S) {
		int64_t mid = start + (end - start) / 2;
		log_info("farm=%s report=%s op=split kind=window seconds=%lld reason=\"aggregation failed; asking for "
			 "two halves of the window\"",
			rf->farm->id, rc->name, (long long)(end - start));
		metrics_store_count(
			rf->store, METRICS_SPLITS, (const char *const[]){rf->farm->id, rc->name, "window"}, 1);
		r = refresh_part(rf, rc, path, ids, n_ids, start, mid, t, st, depth + 1);
		if (r == 0)
			r = refresh_part(rf, rc, path, ids, n_ids, mid, end, t, st, depth + 1);
	}
	return r;
}

/*
 * The report's table of [start, end): every batch of ids merged, then, for a report with labels, its groups merged
 * by the derived labels (what is shown, and what a counter holds). *out is NULL on failure.
 */
static int collect(struct refresh_ctx *rf, const struct report_config *rc, const char *path, const char *const *ids,
	size_t n_ids, int64_t start, int64_t end, struct usage_table **out, struct refresh_stats *st)
{
	int r = usage_table_new(out, rc->group_by, rc->n_group_by);

	for (size_t i = 0; r == 0 && i < n_ids; i += DEADLINE_MAX_RESOURCES_PER_AGGREGATION) {
		size_t batch = n_ids - i;
		if (batch > DEADLINE_MAX_RESOURCES_PER_AGGREGATION)
			batch = DEADLINE_MAX_RESOURCES_PER_AGGREGATION;
		r = refresh_part(rf, rc, path, ids + i, batch, start, end, *out, st, 0);
	}
	if (r == 0 && rc->n_labels) {
		struct usage_table *merged;
		r = relabel(rf, rc, *out, &merged);
		usage_table_free(*out);
		*out = merged;
	}
	if (r != 0) {
		usage_table_free(*out);
		*out = NULL;
	}
	return r;
}

/* ---- counter reports ---- */

/* Before a counter report's first refresh: the figures its state file holds, and what was found logged. */
static void counter_restore(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs)
{
	char err[160], window[21] = "-";
	int64_t start;
	int r;

	if (cs->loaded)
		return;
	r = counter_state_restore(cs, err, sizeof(err));
	if (r == 0 && usage_hold_window(cs->hold, &start) && rfc3339_format(start, window) < 0)
		snprintf(window, sizeof(window), "-");
	if (r == 0)
		log_info("farm=%s report=%s op=state status=ok file=%s window=%s reason=\"the counters go on from "
			 "the figures exported before\"",
			rf->farm->id, rc->name, cs->path, window);
	else if (r == COUNTER_RESTORE_OTHER_KEY)
		log_info("farm=%s report=%s op=state status=ignored file=%s reason=\"written for another window, "
			 "timezone, grouping or labels; the counters start from the next refresh\"",
			rf->farm->id, rc->name, cs->path);
	else if (r == COUNTER_RESTORE_UNUSABLE)
		log_warning("farm=%s report=%s op=state status=ignored file=%s error=\"%s\" reason=\"the counters "
			    "start from the next refresh\"",
			rf->farm->id, rc->name, cs->path, err);
}

/* Figures were published that a scrape must take first: waits for one (COUNTER_SCRAPE_WAIT_S at most). */
static int counter_wait(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs)
{
	double began = monotime_s(), wait = 0;

	if (!cs->waiting)
		return 0;
	while (!counter_state_scraped(cs, metrics_store_scrapes(rf->store), monotime_s(), &wait))
		if (!api_caller_sleep(rf->api, (wait < 0.25 ? wait : 0.25) * 1000))
			return API_STOPPED;
	if (metrics_store_scrapes(rf->store) > cs->wait_mark)
		log_debug("farm=%s report=%s op=refresh duration=%.3fs reason=\"a scrape took the figures published\"",
			rf->farm->id, rc->name, monotime_s() - began);
	else
		log_warning("farm=%s report=%s op=refresh duration=%.3fs reason=\"no scrape in %.0fs: Prometheus may "
			    "miss the counters' last figures of a window, their reset or their first\"",
			rf->farm->id, rc->name, monotime_s() - began, COUNTER_SCRAPE_WAIT_S);
	cs->waiting = false;
	return 0;
}

/* Publishes t for cs, then marks it as to be taken by a scrape before the next figures. */
static int counter_show(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs,
	struct usage_table *t, int64_t start, int64_t end, double began, enum counter_publish_kind kind,
	struct usage_hold_stats *st)
{
	int r = counter_wait(rf, rc, cs);

	if (r == 0)
		r = counter_publish(
			cs, rf->store, rf->farm->id, rc, t, start, end, monotime_s() - began, kind, NULL, st);
	if (r == 0)
		counter_state_published(cs, metrics_store_scrapes(rf->store), monotime_s());
	return r;
}

/*
 * The window of the figures held ended: that window up to its end, published (twice when groups new in it must
 * first show at 0), before the next window's.
 */
static int counter_close(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs,
	const struct counter_plan *plan, const char *path, const char *const *ids, size_t n_ids, double began)
{
	struct usage_table *t = NULL;
	struct usage_hold_stats hs = {0};
	struct refresh_stats st = {0};
	char start[21], end[21];
	int r;

	if (rfc3339_format(plan->closing_start, start) < 0 || rfc3339_format(plan->closing_end, end) < 0)
		return -EINVAL;
	r = collect(rf, rc, path, ids, n_ids, plan->closing_start, plan->closing_end, &t, &st);
	if (r == 0)
		r = counter_show(rf, rc, cs, t, plan->closing_start, plan->closing_end, began, COUNTER_FIGURES, &hs);
	/* No later refresh of this window will give the new groups their figures: this one does, after a scrape. */
	if (r == 0 && hs.new_at_zero)
		r = counter_show(rf, rc, cs, t, plan->closing_start, plan->closing_end, began, COUNTER_FIGURES, NULL);
	if (r == 0) {
		cs->closed = true;
		log_info(
			"farm=%s report=%s op=refresh status=ok window=%s/%s batches=%zu pages=%zu rows=%zu groups=%zu "
			"reason=\"the window ended: its figures up to its end, before the next window's\"",
			rf->farm->id, rc->name, start, end, st.batches, st.pages, st.rows, usage_table_size(t));
	}
	usage_table_free(t);
	return r;
}

/*
 * A counter report's figures of [start, now): when the window of the figures held is another, every counter at 0
 * at start first (Prometheus then sees each reset), then t held.
 */
static int counter_refresh_publish(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs,
	struct usage_table *t, int64_t start, int64_t now, double began, struct usage_table **shown)
{
	int64_t held = 0;
	int r = 0;

	if (usage_hold_window(cs->hold, &held) && held != start) {
		r = counter_show(rf, rc, cs, t, start, start, began, COUNTER_RESET, NULL);
		if (r == 0)
			cs->closed = false;
	}
	if (r == 0)
		r = counter_wait(rf, rc, cs);
	if (r == 0)
		r = counter_publish(cs, rf->store, rf->farm->id, rc, t, start, now, monotime_s() - began,
			COUNTER_FIGURES, shown, NULL);
	return r;
}

/*
 * The window [*start, now) of a refresh beginning at now: a counter report's from its plan (the closing refresh
 * first, when its figures' window ended), any other's from window_start().
 */
static int refresh_window(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs, int64_t now,
	int64_t *start, struct counter_plan *plan)
{
	int64_t held = 0;
	int r;

	*plan = (struct counter_plan){0};
	if (!cs)
		return window_start(rc, now, start);
	counter_restore(rf, rc, cs);
	/* Two steps: the order in which a call's arguments are read is unspecified. */
	bool have = usage_hold_window(cs->hold, &held);
	r = counter_plan(rc, have, held, cs->closed, now, plan);
	if (r == COUNTER_CLOCK_BEHIND)
		return REFRESH_CLOCK_BEHIND;
	*start = plan->start;
	return r;
}

/* The figures published, and the table they were rendered from (*shown: t, or the counters' held one). */
static int refresh_publish(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs,
	struct usage_table *t, int64_t start, int64_t now, double began, struct usage_table **shown)
{
	*shown = t;
	if (!cs)
		return metrics_store_publish(
			rf->store, rf->farm->id, rc, t, start, now, (int64_t)time(NULL), monotime_s() - began);
	return counter_refresh_publish(rf, rc, cs, t, start, now, began, shown);
}

/* One refresh of (farm, report). Returns 0 when the figures were published. */
int refresh_report(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs)
{
	const struct farm_config *farm = rf->farm;
	struct usage_table *t = NULL, *shown = NULL;
	struct counter_plan plan;
	struct refresh_stats st = {0};
	char **listed = NULL;
	size_t n_listed = 0;
	const char *const *ids;
	size_t n_ids;
	char start_text[21], end_text[21];
	char *path = NULL;
	int64_t now = (int64_t)time(NULL), start;
	double began = monotime_s();
	int r;

	notify_status("refreshing report %s of %s", rc->name, farm->id);
	r = refresh_window(rf, rc, cs, now, &start, &plan);
	if (r != 0)
		goto out;
	if (rfc3339_format(start, start_text) < 0 || rfc3339_format(now, end_text) < 0) {
		r = -EINVAL;
		goto out;
	}

	enum resource_kind kind = report_kind(rf, rc);
	bool all = kind == RESOURCE_QUEUES ? farm->all_queues : farm->all_fleets;
	if (all) {
		r = list_resources(rf, rc, &listed, &n_listed);
		if (r != 0)
			goto out;
		ids = (const char *const *)listed;
		n_ids = n_listed;
	} else if (kind == RESOURCE_QUEUES) {
		ids = (const char *const *)farm->queue_ids;
		n_ids = farm->n_queue_ids;
	} else {
		ids = (const char *const *)farm->fleet_ids;
		n_ids = farm->n_fleet_ids;
	}

	path = deadline_aggregation_path(farm->id);
	if (!path) {
		r = -ENOMEM;
		goto out;
	}
	if (plan.closing) {
		r = counter_close(rf, rc, cs, &plan, path, ids, n_ids, began);
		if (r != 0)
			goto out;
	}
	r = collect(rf, rc, path, ids, n_ids, start, now, &t, &st);
	if (r != 0)
		goto out;

	r = refresh_publish(rf, rc, cs, t, start, now, began, &shown);
	if (r != 0)
		goto out;
	note_users(rf, rc, shown);
	log_info("farm=%s report=%s op=refresh status=ok window=%s/%s resources=%zu batches=%zu pages=%zu rows=%zu "
		 "groups=%zu duration=%.3fs",
		farm->id, rc->name, start_text, end_text, n_ids, st.batches, st.pages, st.rows, usage_table_size(shown),
		monotime_s() - began);
out:
	if (r != 0) {
		double failed_after = monotime_s() - began;
		metrics_store_fail(rf->store, farm->id, rc->name, failed_after);
		if (r != API_STOPPED)
			metrics_store_count(rf->store, METRICS_REFRESH_ERRORS,
				(const char *const[]){farm->id, rc->name, refresh_error_kind(r)}, 1);
		/* A farm with a role has no credentials when its role was refused: say which, the reason is logged
		 * with it (op=credentials role=…). */
		if (r == API_NO_CREDENTIALS && farm->role_arn)
			log_warning("farm=%s report=%s op=refresh status=failed reason=\"no credentials: role %s not "
				    "assumed\" duration=%.3fs",
				farm->id, rc->name, farm->role_arn, failed_after);
		else if (r != API_STOPPED)
			log_warning("farm=%s report=%s op=refresh status=failed reason=\"%s\" duration=%.3fs", farm->id,
				rc->name, refresh_error_text(r), failed_after);
	}
	if (r != API_STOPPED)
		notify_status("last refresh: report %s of %s %s", rc->name, farm->id, r == 0 ? "ok" : "failed");
	usage_table_free(t);
	free_ids(listed, n_listed);
	free(path);
	/*
	 * A refresh frees everything it built but the snapshot it published: give the free pages inside the
	 * heap back to the system (glibc only returns the top of it by itself), or resident memory creeps up
	 * refresh after refresh as the holes move. Milliseconds, once per refresh.
	 */
	malloc_trim(0);
	return r;
}
