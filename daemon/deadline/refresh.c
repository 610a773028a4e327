/* refresh: one refresh of a farm's group of reports: ids, Start, poll, read every page, merge, publish each report */
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
#include "deadline/refresh_counter.h"
#include "deadline/resource_ids.h"
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

struct refresh_stats {
	size_t batches;
	size_t pages;
	size_t rows;
};

/* One refresh of a group: what each of its steps needs. */
struct group_run {
	struct refresh_ctx *rf;
	const struct plan_group *g;
	const struct report_config *lead; /* the group's window, timezone, period and group_by */
	enum resource_kind kind; /* the ids asked by */
	const char *path; /* the aggregation's */
};

/*
 * Counts an event of the refresh for each report of the group (the figures of each came from it): labels are the
 * farm, the report and, when extra is not NULL, one more value.
 */
static void count_members(struct group_run *run, enum metrics_counter c, const char *extra, uint64_t delta)
{
	for (size_t i = 0; i < run->g->n_members; i++)
		metrics_store_count(run->rf->store, c,
			(const char *const[]){run->rf->farm->id, run->g->members[i]->name, extra}, delta);
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

/* Starts the aggregation, waiting while the farm is busy with another one. */
static int aggregation_start(struct group_run *run, const char *body, size_t body_len, char **aggregation_id)
{
	struct refresh_ctx *rf = run->rf;
	struct start_ctx s = {0};
	int r;

	for (int attempt = 1;; attempt++) {
		struct api_call c = {
			.operation = API_OP_START,
			.method = "POST",
			.path = run->path,
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
				rf->farm->id, run->g->name, API_OP_START, wait / 1000);
			api_call_reset(&c);
			if (!api_caller_sleep(rf->api, wait))
				return API_STOPPED;
			continue;
		}
		if (r != 0)
			api_call_log_failure(rf->api, run->g->name, &c, r);
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
static int merge_page(
	struct group_run *run, struct usage_table *t, const struct deadline_page *page, struct refresh_stats *st)
{
	count_members(run, METRICS_PAGES, NULL, 1);
	count_members(run, METRICS_ROWS, NULL, page->n_rows);
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
	struct group_run *run;
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
	struct refresh_ctx *rf = cc->run->rf;
	const char *status = cc->page.status_text ? cc->page.status_text : "?";

	if (pages) {
		/* A page of a completed aggregation cannot go back in progress. */
		log_warning("farm=%s report=%s op=%s reason=\"status %s while reading pages\"", rf->farm->id,
			cc->run->g->name, API_OP_GET, status);
		return API_BAD_RESPONSE;
	}
	if (monotime_s() > cc->give_up) {
		log_warning("farm=%s report=%s op=%s aggregation=%s reason=\"still %s after %ds; giving up\"",
			rf->farm->id, cc->run->g->name, API_OP_GET, cc->aggregation_id, status, POLL_GIVE_UP_S);
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
	struct refresh_ctx *rf = cc->run->rf;
	const struct deadline_page *page = &cc->page;

	switch (page->status) {
	case DEADLINE_STATUS_IN_PROGRESS:
	case DEADLINE_STATUS_UNKNOWN:
		return collect_wait(cc, pages, again);
	case DEADLINE_STATUS_FAILED:
	case DEADLINE_STATUS_TIMEOUT:
		aggregation_count(rf, deadline_status_name(page->status));
		log_warning("farm=%s report=%s op=%s aggregation=%s aggregation_status=%s reason=\"%s\"", rf->farm->id,
			cc->run->g->name, API_OP_GET, cc->aggregation_id, deadline_status_name(page->status),
			page->status_message ? page->status_message : "no statusMessage");
		return REFRESH_AGG_FAILED;
	case DEADLINE_STATUS_COMPLETED:
		break;
	}
	if (!pages) {
		aggregation_count(rf, deadline_status_name(page->status));
		log_debug("farm=%s report=%s op=%s aggregation=%s aggregation_status=COMPLETED reason=\"first page "
			  "read\"",
			rf->farm->id, cc->run->g->name, API_OP_GET, cc->aggregation_id);
	}
	return merge_page(cc->run, cc->t, page, cc->st);
}

/* Polls until the aggregation completes, then reads and merges every page. */
static int aggregation_collect(
	struct group_run *run, const char *aggregation_id, struct usage_table *t, struct refresh_stats *st)
{
	struct collect_ctx cc = {
		.run = run,
		.aggregation_id = aggregation_id,
		.t = t,
		.st = st,
		.poll_ms = POLL_FIRST_MS,
		.give_up = monotime_s() + POLL_GIVE_UP_S,
	};
	const struct api_pages pg = {
		.operation = API_OP_GET,
		.report = run->g->name,
		.path = run->path,
		.max_pages = API_AGGREGATION_PAGES_MAX,
		.quiet_not_found = true,
		.request = collect_request,
		.parse = collect_parse,
		.take = collect_take,
		.ctx = &cc,
	};
	int r = api_pages_run(run->rf->api, &pg);

	if (r == API_NOT_FOUND) {
		log_warning("farm=%s report=%s op=%s http_status=404 aggregation=%s reason=\"aggregation expired or "
			    "unknown; starting again\"",
			run->rf->farm->id, run->g->name, API_OP_GET, aggregation_id);
		aggregation_count(run->rf, "EXPIRED"); /* declared with the others by refresh_declare_counters() */
		r = REFRESH_AGG_EXPIRED;
	}
	deadline_page_deinit(&cc.page);
	return r;
}

/* The body of the Start of one batch: the group's settings and the union of its reports' statistics. */
static int batch_body(struct group_run *run, const char *const *ids, size_t n_ids, int64_t start_time, int64_t end_time,
	char **body, size_t *body_len)
{
	const struct report_config *lead = run->lead;
	char start[21], end[21];

	if (rfc3339_format(start_time, start) < 0 || rfc3339_format(end_time, end) < 0)
		return -EINVAL;
	const struct deadline_start_request req = {
		.farm_id = run->rf->farm->id,
		.kind = run->kind,
		.resource_ids = ids,
		.n_resource_ids = n_ids,
		.start_time = start,
		.end_time = end,
		.group_by = lead->group_by,
		.n_group_by = lead->n_group_by,
		.statistics = run->g->statistics,
		.timezone = lead->timezone,
		.period = lead->period,
	};
	return deadline_start_body(&req, body, body_len);
}

/* One batch of at most 10 resources: Start, poll, read every page, merge. */
static int refresh_batch(struct group_run *run, const char *const *ids, size_t n_ids, int64_t start_time,
	int64_t end_time, struct usage_table *t, struct refresh_stats *st)
{
	const struct report_config *lead = run->lead;
	char *body = NULL;
	size_t body_len = 0;
	int r = batch_body(run, ids, n_ids, start_time, end_time, &body, &body_len);

	if (r < 0)
		return r;
	for (int restart = 0;; restart++) {
		/* Rows of an attempt that expired half-way must not count twice: collect into a scratch table. */
		struct usage_table *scratch = NULL;
		char *aggregation_id = NULL;
		struct refresh_stats bst = {0};

		r = usage_table_new(&scratch, lead->group_by, lead->n_group_by);
		if (r < 0)
			break;
		r = aggregation_start(run, body, body_len, &aggregation_id);
		if (r == 0) {
			log_debug("farm=%s report=%s op=%s aggregation=%s resources=%zu", run->rf->farm->id,
				run->g->name, API_OP_START, aggregation_id, n_ids);
			r = aggregation_collect(run, aggregation_id, scratch, &bst);
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
static int refresh_part(struct group_run *run, const char *const *ids, size_t n_ids, int64_t start, int64_t end,
	struct usage_table *t, struct refresh_stats *st, unsigned depth)
{
	const char *farm_id = run->rf->farm->id;
	int r = refresh_batch(run, ids, n_ids, start, end, t, st);

	if (r != REFRESH_AGG_FAILED || depth >= SPLIT_DEPTH_MAX)
		return r;
	if (n_ids > 1) {
		size_t half = n_ids / 2;
		log_info("farm=%s report=%s op=split kind=resources resources=%zu reason=\"aggregation failed; asking "
			 "for %zu and %zu resources\"",
			farm_id, run->g->name, n_ids, half, n_ids - half);
		count_members(run, METRICS_SPLITS, "resources", 1);
		r = refresh_part(run, ids, half, start, end, t, st, depth + 1);
		if (r == 0)
			r = refresh_part(run, ids + half, n_ids - half, start, end, t, st, depth + 1);
		return r;
	}
	if (end - start >= 2 * SPLIT_WINDOW_MIN_S) {
		int64_t mid = start + (end - start) / 2;
		log_info("farm=%s report=%s op=split kind=window seconds=%lld reason=\"aggregation failed; asking for "
			 "two halves of the window\"",
			farm_id, run->g->name, (long long)(end - start));
		count_members(run, METRICS_SPLITS, "window", 1);
		r = refresh_part(run, ids, n_ids, start, mid, t, st, depth + 1);
		if (r == 0)
			r = refresh_part(run, ids, n_ids, mid, end, t, st, depth + 1);
	}
	return r;
}

/* ---- the group's refresh ---- */

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

int refresh_publish(struct refresh_ctx *rf, const struct report_config *rc, struct usage_table *t, int64_t start,
	int64_t end, double duration)
{
	struct usage_table *labelled = NULL;
	int r = rc->n_labels ? relabel(rf, rc, t, &labelled) : 0;

	if (r == 0) {
		struct usage_table *shown = labelled ? labelled : t;
		r = metrics_store_publish(
			rf->store, rf->farm->id, rc, shown, start, end, (int64_t)time(NULL), duration);
		if (r == 0)
			note_users(rf, rc, shown);
	}
	usage_table_free(labelled);
	return r;
}

/* A failed refresh of report rc (its group's, or its own publish): up 0, the previous figures kept, counted. */
static void refresh_fail(struct refresh_ctx *rf, const struct report_config *rc, int r, double failed_after)
{
	metrics_store_fail(rf->store, rf->farm->id, rc->name, failed_after);
	if (r != API_STOPPED)
		metrics_store_count(rf->store, METRICS_REFRESH_ERRORS,
			(const char *const[]){rf->farm->id, rc->name, refresh_error_kind(r)}, 1);
}

/* Asks for every batch of ids, merged into t. */
static int refresh_batches(struct group_run *run, const struct resource_ids *ids, int64_t start, int64_t end,
	struct usage_table *t, struct refresh_stats *st)
{
	for (size_t i = 0; i < ids->n; i += DEADLINE_MAX_RESOURCES_PER_AGGREGATION) {
		size_t batch = ids->n - i;
		if (batch > DEADLINE_MAX_RESOURCES_PER_AGGREGATION)
			batch = DEADLINE_MAX_RESOURCES_PER_AGGREGATION;
		int r = refresh_part(run, ids->ids + i, batch, start, end, t, st, 0);
		if (r != 0)
			return r;
	}
	return 0;
}

/*
 * The table of [start, end) of run (a run of one counter report): every batch merged into a new table, then merged
 * by the report's labels when it has some (what the counters hold). *out is NULL on failure.
 */
static int collect(struct group_run *run, const struct resource_ids *ids, int64_t start, int64_t end,
	struct usage_table **out, struct refresh_stats *st)
{
	struct usage_table *labelled = NULL;
	int r = usage_table_new(out, run->lead->group_by, run->lead->n_group_by);

	if (r == 0)
		r = refresh_batches(run, ids, start, end, *out, st);
	if (r == 0 && run->lead->n_labels) {
		r = relabel(run->rf, run->lead, *out, &labelled);
		usage_table_free(*out);
		*out = labelled;
	}
	if (r != 0) {
		usage_table_free(*out);
		*out = NULL;
	}
	return r;
}

/*
 * The window of counter report rc's figures ended: that window up to its end, asked for rc alone (its statistics,
 * its counts) and published before the next window's.
 */
static int counter_close(struct group_run *run, const struct report_config *rc, struct counter_state *cs,
	const struct counter_plan *plan, const struct resource_ids *ids, double began)
{
	const struct plan_group alone = {.members = &rc,
		.n_members = 1,
		.statistics = rc->statistics,
		.interval_seconds = rc->interval_seconds,
		.name = run->g->name};
	struct group_run own = {.rf = run->rf, .g = &alone, .lead = rc, .kind = run->kind, .path = run->path};
	struct usage_table *t = NULL;
	struct refresh_stats st = {0};
	char start[21], end[21];
	int r;

	if (rfc3339_format(plan->closing_start, start) < 0 || rfc3339_format(plan->closing_end, end) < 0)
		return -EINVAL;
	r = collect(&own, ids, plan->closing_start, plan->closing_end, &t, &st);
	if (r == 0)
		r = refresh_counter_close(run->rf, rc, cs, plan, t, began);
	if (r == 0)
		log_info(
			"farm=%s report=%s op=refresh status=ok window=%s/%s batches=%zu pages=%zu rows=%zu groups=%zu "
			"reason=\"the window ended: its figures up to its end, before the next window's\"",
			run->rf->farm->id, rc->name, start, end, st.batches, st.pages, st.rows, usage_table_size(t));
	usage_table_free(t);
	return r;
}

/*
 * Each counter report of the group (cs[i] not NULL) before the group's rows are asked for: its window's plan, and
 * its closing refresh when the window of its figures ended. ready[i] is its outcome: a report whose plan or closing
 * fails fails alone. Returns API_STOPPED or 0.
 */
static int counters_prepare(struct group_run *run, struct counter_state *const *cs, int *ready, int64_t now,
	const struct resource_ids *ids, double began)
{
	for (size_t i = 0; cs && i < run->g->n_members; i++) {
		const struct report_config *rc = run->g->members[i];
		struct counter_plan plan;
		int64_t own;

		if (!cs[i])
			continue;
		/*
		 * Its window of now is the group's: counter_plan() takes window_start() of now, and the members of a
		 * group have the same window and timezone (plan_reports_share()).
		 */
		ready[i] = refresh_counter_window(run->rf, rc, cs[i], now, &own, &plan);
		if (ready[i] == 0 && plan.closing)
			ready[i] = counter_close(run, rc, cs[i], &plan, ids, began);
		if (ready[i] == API_STOPPED)
			return API_STOPPED;
	}
	return 0;
}

/* Counter report rc's figures of [start, now) from the group's rows t (only sorted), held and published. */
static int counter_publish_rows(struct group_run *run, const struct report_config *rc, struct counter_state *cs,
	struct usage_table *t, int64_t start, int64_t now, double began)
{
	struct usage_table *labelled = NULL, *shown = NULL;
	int r = rc->n_labels ? relabel(run->rf, rc, t, &labelled) : 0;

	if (r == 0)
		r = refresh_counter_publish(run->rf, rc, cs, labelled ? labelled : t, start, now, began, &shown);
	if (r == 0)
		note_users(run->rf, rc, shown);
	usage_table_free(labelled);
	return r;
}

/*
 * Each report's own figures from the group's rows t: the gauges first, then the counters, whose publishes may wait
 * for a scrape. ready[i] is member i's outcome so far (counters_prepare()); a report that cannot publish (or label
 * its rows) fails alone. Returns API_STOPPED, the first failure or 0.
 */
static int publish_members(struct group_run *run, struct counter_state *const *cs, const int *ready,
	struct usage_table *t, int64_t start, int64_t end, double began)
{
	int first = 0;

	for (int counters = 0; counters < 2; counters++)
		for (size_t i = 0; i < run->g->n_members; i++) {
			const struct report_config *rc = run->g->members[i];
			struct counter_state *c = cs ? cs[i] : NULL;
			if ((c != NULL) != (counters == 1))
				continue;
			int r = ready[i];
			if (r == 0)
				r = c ? counter_publish_rows(run, rc, c, t, start, end, began)
				      : refresh_publish(run->rf, rc, t, start, end, monotime_s() - began);
			if (r == API_STOPPED)
				return r;
			if (r != 0) {
				log_warning("farm=%s report=%s op=refresh status=failed reason=\"%s\"",
					run->rf->farm->id, rc->name, refresh_error_text(r));
				refresh_fail(run->rf, rc, r, monotime_s() - began);
				if (first == 0)
					first = r;
			}
		}
	return first;
}

/* The log line and failure records of a refresh that did not publish. */
static void refresh_failed(struct group_run *run, int r, double began)
{
	double failed_after = monotime_s() - began;

	for (size_t i = 0; i < run->g->n_members; i++)
		refresh_fail(run->rf, run->g->members[i], r, failed_after);
	/* A farm with a role has no credentials when its role was refused: say which, the reason is logged with it
	 * (op=credentials role=…). */
	if (r == API_NO_CREDENTIALS && run->rf->farm->role_arn)
		log_warning("farm=%s report=%s op=refresh status=failed reason=\"no credentials: role %s not assumed\" "
			    "duration=%.3fs",
			run->rf->farm->id, run->g->name, run->rf->farm->role_arn, failed_after);
	else if (r != API_STOPPED)
		log_warning("farm=%s report=%s op=refresh status=failed reason=\"%s\" duration=%.3fs",
			run->rf->farm->id, run->g->name, refresh_error_text(r), failed_after);
}

int refresh_group(struct refresh_ctx *rf, const struct plan_group *g, struct counter_state *const *cs, int64_t now)
{
	struct group_run run = {.rf = rf, .g = g, .lead = plan_group_lead(g)};
	struct resource_ids ids = {0};
	struct usage_table *t = NULL;
	struct refresh_stats st = {0};
	int *ready = calloc(g->n_members, sizeof(*ready));
	char start_text[21], end_text[21];
	char *path = NULL;
	int64_t start;
	double began = monotime_s();
	bool collected = false;
	int r;

	notify_status("refreshing report %s of %s", g->name, rf->farm->id);
	r = ready ? window_start(run.lead, now, &start) : -ENOMEM;
	if (r < 0)
		goto out;
	if (rfc3339_format(start, start_text) < 0 || rfc3339_format(now, end_text) < 0) {
		r = -EINVAL;
		goto out;
	}
	r = resource_ids_resolve(rf->api, rf->farm, run.lead, g->name, &ids);
	if (r != 0)
		goto out;
	run.kind = ids.kind;
	for (size_t i = 0; i < g->n_members; i++)
		metrics_store_report_resources(rf->store, rf->farm->id, g->members[i]->name, ids.kind);
	r = usage_table_new(&t, run.lead->group_by, run.lead->n_group_by);
	if (r < 0)
		goto out;
	path = deadline_aggregation_path(rf->farm->id);
	if (!path) {
		r = -ENOMEM;
		goto out;
	}
	run.path = path;
	r = counters_prepare(&run, cs, ready, now, &ids, began);
	if (r == 0)
		r = refresh_batches(&run, &ids, start, now, t, &st);
	if (r != 0)
		goto out;
	/* From here on each report succeeds or fails alone. */
	collected = true;
	r = publish_members(&run, cs, ready, t, start, now, began);
	log_info("farm=%s report=%s op=refresh status=%s window=%s/%s resource_kind=%s resources=%zu batches=%zu "
		 "pages=%zu rows=%zu groups=%zu duration=%.3fs",
		rf->farm->id, g->name, r == 0 ? "ok" : "partial", start_text, end_text, resource_kind_name(ids.kind),
		ids.n, st.batches, st.pages, st.rows, usage_table_size(t), monotime_s() - began);
out:
	if (r != 0 && !collected)
		refresh_failed(&run, r, began);
	if (r != API_STOPPED)
		notify_status("last refresh: report %s of %s %s", g->name, rf->farm->id, r == 0 ? "ok" : "failed");
	usage_table_free(t);
	resource_ids_deinit(&ids);
	free(path);
	free(ready);
	/*
	 * A refresh frees everything it built but the snapshots it published: give the free pages inside the
	 * heap back to the system (glibc only returns the top of it by itself), or resident memory creeps up
	 * refresh after refresh as the holes move. Milliseconds, once per refresh.
	 */
	malloc_trim(0);
	return r;
}
