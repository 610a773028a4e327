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
#include "metrics/usage.h"
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

/* Tells the user directory (if any) every user id of the published figures. */
static void note_users(struct refresh_ctx *rf, const struct report_config *rc, struct usage_table *t)
{
	const struct usage_group *const *groups;
	size_t n;

	if (!rf->users)
		return;
	for (size_t k = 0; k < rc->n_group_by; k++) {
		if (rc->group_by[k] != GROUP_USER_ID)
			continue;
		n = usage_table_groups(t, &groups);
		for (size_t i = 0; i < n; i++)
			user_directory_note(rf->users, groups[i]->values[k]);
	}
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

/* The kind label of a failed refresh, for deadline_cloud_exporter_refresh_errors_total. */
/* The kinds of refresh_errors_total of a refresh's own outcomes (api_outcome_kind() names the others). */
#define KIND_AGG_FAILED "aggregation_failed"
#define KIND_AGG_EXPIRED "aggregation_expired"

static const char *refresh_error_kind(int r)
{
	if (r == REFRESH_AGG_FAILED)
		return KIND_AGG_FAILED;
	if (r == REFRESH_AGG_EXPIRED)
		return KIND_AGG_EXPIRED;
	return api_outcome_kind(r);
}

void refresh_declare_counters(
	struct metrics_store *store, const struct farm_config *farm, const struct report_config *rc)
{
	/* The final statuses aggregation_count() is given (deadline_status_name(), and EXPIRED), and the splits'. */
	static const char *const statuses[] = {"COMPLETED", "FAILED", "TIMEOUT", "EXPIRED"};
	static const char *const splits[] = {"resources", "window"};
	const char *kind;

	for (size_t i = 0; (kind = api_outcome_kind_at(i)) != NULL; i++)
		metrics_store_count(store, METRICS_REFRESH_ERRORS, (const char *const[]){farm->id, rc->name, kind}, 0);
	metrics_store_count(
		store, METRICS_REFRESH_ERRORS, (const char *const[]){farm->id, rc->name, KIND_AGG_FAILED}, 0);
	metrics_store_count(
		store, METRICS_REFRESH_ERRORS, (const char *const[]){farm->id, rc->name, KIND_AGG_EXPIRED}, 0);
	metrics_store_count(store, METRICS_PAGES, (const char *const[]){farm->id, rc->name}, 0);
	metrics_store_count(store, METRICS_ROWS, (const char *const[]){farm->id, rc->name}, 0);
	for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++)
		metrics_store_count(store, METRICS_SPLITS, (const char *const[]){farm->id, rc->name, splits[i]}, 0);
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		metrics_store_count(store, METRICS_AGGREGATIONS, (const char *const[]){farm->id, statuses[i]}, 0);
}

/* Failures that waiting a little will not mend: retried on the normal schedule, not sooner. */
bool refresh_error_is_persistent(int r)
{
	return r == API_DENIED || r == API_CLIENT_ERROR || r == API_NOT_FOUND || r == API_NO_CREDENTIALS;
}

/* One refresh of (farm, report). Returns 0 when the figures were published. */
int refresh_report(struct refresh_ctx *rf, const struct report_config *rc)
{
	const struct farm_config *farm = rf->farm;
	struct usage_table *t = NULL;
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
	r = window_start(rc, now, &start);
	if (r < 0)
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

	r = usage_table_new(&t, rc->group_by, rc->n_group_by);
	if (r < 0)
		goto out;
	path = deadline_aggregation_path(farm->id);
	if (!path) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_ids; i += DEADLINE_MAX_RESOURCES_PER_AGGREGATION) {
		size_t batch = n_ids - i;
		if (batch > DEADLINE_MAX_RESOURCES_PER_AGGREGATION)
			batch = DEADLINE_MAX_RESOURCES_PER_AGGREGATION;
		r = refresh_part(rf, rc, path, ids + i, batch, start, now, t, &st, 0);
		if (r != 0)
			goto out;
	}

	double duration = monotime_s() - began;
	r = metrics_store_publish(rf->store, farm->id, rc, t, start, now, (int64_t)time(NULL), duration);
	if (r < 0)
		goto out;
	note_users(rf, rc, t);
	log_info("farm=%s report=%s op=refresh status=ok window=%s/%s resources=%zu batches=%zu pages=%zu rows=%zu "
		 "groups=%zu duration=%.3fs",
		farm->id, rc->name, start_text, end_text, n_ids, st.batches, st.pages, st.rows, usage_table_size(t),
		duration);
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
				rc->name,
				r == REFRESH_AGG_FAILED    ? "aggregation failed"
				: r == REFRESH_AGG_EXPIRED ? "aggregation kept expiring"
							   : api_outcome_text(r),
				failed_after);
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
