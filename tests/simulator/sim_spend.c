/* sim_spend: sessions that start while the simulator runs, and the control paths that list them and add bursts */
#include "sim_spend.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_api.h"

#define MAX_CONTROL_DEPTH 4
#define DEFAULT_BURST_COST_USD 100.0
#define MAX_BURST_COST_USD 100000.0

double sim_realtime(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		abort();
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sim_spend_init(struct sim_spend *l, const struct sim_world *w, double per_minute, int64_t origin)
{
	size_t history = 0;

	memset(l, 0, sizeof(*l));
	l->per_minute = per_minute;
	l->origin = origin;
	for (size_t f = 0; f < SIM_FARMS; f++)
		history += w->farms[f].n_sessions;
	l->next_seq = (uint32_t)history; /* sim_world_new() keeps the history below UINT32_MAX */
	sim_rng_seed(&l->schedule_rng, w->seed, "live-schedule");
	sim_rng_seed(&l->burst_rng, w->seed, "live-burst");
	for (size_t f = 0; f < SIM_FARMS; f++) {
		l->farms[f].jobs = calloc(w->n_jobs, sizeof(*l->farms[f].jobs));
		if (!l->farms[f].jobs) {
			sim_spend_deinit(l);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < w->n_jobs; i++) {
		struct sim_spend_farm *lf = &l->farms[w->jobs[i].farm];

		lf->jobs[lf->n_jobs++] = (uint32_t)i;
	}
	return 0;
}

void sim_spend_deinit(struct sim_spend *l)
{
	for (size_t f = 0; f < SIM_FARMS; f++) {
		free(l->farms[f].sessions);
		free(l->farms[f].jobs);
		l->farms[f].sessions = NULL;
		l->farms[f].jobs = NULL;
		l->farms[f].n = l->farms[f].cap = l->farms[f].n_jobs = 0;
	}
}

static int append(struct sim_spend *l, size_t farm, struct sim_session *s)
{
	struct sim_spend_farm *lf = &l->farms[farm];

	if (l->total >= SIM_SPEND_MAX_SESSIONS || l->next_seq == UINT32_MAX)
		return -ENOSPC;
	if (lf->n == lf->cap) {
		size_t cap = lf->cap ? 2 * lf->cap : 256;
		struct sim_session *p = realloc(lf->sessions, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		lf->sessions = p;
		lf->cap = cap;
	}
	s->seq = l->next_seq++;
	lf->sessions[lf->n++] = *s;
	l->total++;
	return 0;
}

/* When the schedule's session k starts (UTC seconds). */
static int64_t scheduled_start(const struct sim_spend *l, uint64_t k)
{
	return l->origin + (int64_t)floor((double)(k + 1) * 60.0 / l->per_minute);
}

int sim_spend_catch_up(struct sim_spend *l, const struct sim_world *w, double now)
{
	while (l->per_minute > 0 && (double)scheduled_start(l, l->next) <= now) {
		struct sim_session s = {.start = scheduled_start(l, l->next), .kind = SIM_SESSION_SCHEDULED};
		size_t job = (size_t)sim_rng_below(&l->schedule_rng, w->n_jobs);
		int r;

		sim_session_draw(w, &l->schedule_rng, job, &s);
		r = append(l, w->jobs[job].farm, &s);
		if (r == -ENOSPC) {
			/* the schedule stops rather than the simulator: an afternoon's run never gets here */
			sim_log("live sessions: %d reached, the schedule stops", SIM_SPEND_MAX_SESSIONS);
			l->per_minute = 0;
			return 0;
		}
		if (r < 0)
			return r;
		l->next++;
	}
	return 0;
}

int sim_spend_copy(const struct sim_spend *l, size_t farm, double now, struct sim_session **out, size_t *n)
{
	const struct sim_spend_farm *lf = &l->farms[farm];
	size_t k = lf->n;

	*out = NULL;
	*n = 0;
	/* bursts may wait for their second: only what has started */
	while (k > 0 && (double)lf->sessions[k - 1].start > now)
		k--;
	if (k == 0)
		return 0;
	*out = malloc(k * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, lf->sessions, k * sizeof(**out));
	*n = k;
	return 0;
}

int sim_spend_burst(struct sim_spend *l, const struct sim_world *w, size_t farm, long queue, size_t n, double cost_usd,
	double now, int64_t *start_out, double *total_usd)
{
	const struct sim_spend_farm *lf = &l->farms[farm];
	uint32_t *jobs, seq_before;
	size_t n_jobs = 0, n_before, total_before;
	int r = 0;

	/* the next whole second: later than the end of any aggregation already computed, so none changes */
	int64_t start = (int64_t)ceil(now);

	*start_out = start;
	*total_usd = 0.0;
	/* the schedule's sessions of this second and before first, so the farm's list stays in order */
	r = sim_spend_catch_up(l, w, now);
	if (r < 0)
		return r;
	/* what to go back to if the burst cannot be taken whole */
	n_before = l->farms[farm].n;
	total_before = l->total;
	seq_before = l->next_seq;
	jobs = malloc((lf->n_jobs ? lf->n_jobs : 1) * sizeof(*jobs));
	if (!jobs)
		return -ENOMEM;
	for (size_t i = 0; i < lf->n_jobs; i++) {
		if (queue < 0 || w->jobs[lf->jobs[i]].queue == (uint32_t)queue)
			jobs[n_jobs++] = lf->jobs[i];
	}
	if (n_jobs == 0) {
		r = -ENOENT;
		goto out;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		struct sim_session s = {.start = start, .kind = SIM_SESSION_BURST};

		sim_session_draw(w, &l->burst_rng, jobs[sim_rng_below(&l->burst_rng, n_jobs)], &s);
		sim_session_set_cost(&s, cost_usd);
		r = append(l, farm, &s);
		*total_usd += s.cost;
	}
	if (r == 0) {
		l->bursts++;
	} else {
		l->farms[farm].n = n_before;
		l->total = total_before;
		l->next_seq = seq_before;
		*total_usd = 0.0;
	}
out:
	free(jobs);
	return r;
}

/* ---- control paths ---- */

static const char *const kind_names[] = {
	[SIM_SESSION_HISTORY] = "history",
	[SIM_SESSION_SCHEDULED] = "schedule",
	[SIM_SESSION_BURST] = "burst",
};

/* One source record as /__sim/sessions lists it. */
static void session_json(
	struct sim_json *j, const struct sim_world *w, const struct sim_farm *farm, const struct sim_session *s)
{
	sim_json_map_open(j);
	sim_json_kv_string(j, "queueId", farm->queues[s->queue].id);
	sim_json_kv_string(j, "fleetId", farm->fleets[s->fleet].id);
	sim_json_kv_string(j, "jobId", w->jobs[s->job].id);
	sim_json_kv_string(j, "jobName", w->jobs[s->job].name);
	sim_json_kv_string(j, "userId", w->users[s->user].id);
	sim_json_kv_string(j, "usageType", sim_usage_type_names[s->usage_type]);
	if (s->instance_type != SIM_NONE)
		sim_json_kv_string(j, "instanceType", sim_instance_types[s->instance_type]);
	if (s->license_product != SIM_NONE)
		sim_json_kv_string(j, "licenseProduct", sim_license_products[s->license_product]);
	sim_json_kv_int(j, "startTime", s->start);
	sim_json_kv_double(j, "runtimeSeconds", s->runtime);
	sim_json_kv_double(j, "costUsd", s->cost);
	sim_json_kv_string(j, "source", kind_names[s->kind]);
	sim_json_map_close(j);
}

/* A query member that is a whole number of seconds (absent: dflt). Returns false when it is not one. */
static bool seconds_param(const struct sim_query *q, const char *key, int64_t dflt, int64_t *out)
{
	const char *s = sim_query_get(q, key);
	char *end;
	long long v;

	*out = dflt;
	if (!s)
		return true;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = (int64_t)v;
	return true;
}

/* The farm's live sessions that have started, copied under the lock (the schedule caught up first). */
static int live_now(struct sim_state *st, size_t farm, double *now, struct sim_session **live, size_t *n_live)
{
	int r;

	sim_state_lock(st);
	*now = sim_realtime();
	r = sim_spend_catch_up(&st->spend, st->world, *now);
	if (r == 0)
		r = sim_spend_copy(&st->spend, farm, *now, live, n_live);
	sim_state_unlock(st);
	return r;
}

void sim_spend_sessions(struct sim_state *st, const struct sim_query *q, struct sim_response *r)
{
	const struct sim_world *w = st->world;
	const char *farm_id = sim_query_get(q, "farmId");
	struct sim_session *live = NULL;
	struct sim_session_cursor c;
	size_t n_live = 0;
	int64_t from, to;
	struct sim_json j;
	double now;
	int f;

	if (!farm_id) {
		sim_control_error(r, 400, "farmId is required");
		return;
	}
	if (!seconds_param(q, "startTime", INT64_MIN, &from) || !seconds_param(q, "endTime", INT64_MAX, &to)) {
		sim_control_error(r, 400, "startTime and endTime are whole UTC seconds");
		return;
	}
	f = sim_world_find_farm(w, farm_id);
	if (f < 0) {
		sim_control_error(r, 404, "no farm %.64s", farm_id);
		return;
	}
	if (live_now(st, (size_t)f, &now, &live, &n_live) < 0) {
		sim_response_internal_failure(r, "out of memory");
		return;
	}
	if (!sim_response_json_begin(&j, r))
		goto out;
	sim_json_map_open(&j);
	sim_json_string(&j, "sessions");
	sim_json_array_open(&j);
	sim_session_cursor_init(&c, w->farms[f].sessions, w->farms[f].n_sessions, live, n_live, from);
	for (const struct sim_session *s; (s = sim_session_cursor_next(&c)) && s->start < to;)
		session_json(&j, w, &w->farms[f], s);
	sim_json_array_close(&j);
	/* everything that started by then is listed: a test's oracle for any range ending before it */
	sim_json_kv_double(&j, "now", now);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, 200);
out:
	free(live);
}

size_t sim_spend_count(struct sim_state *st, size_t farm)
{
	const struct sim_spend_farm *lf = &st->spend.farms[farm];
	double now = sim_realtime();
	size_t k = lf->n;

	if (sim_spend_catch_up(&st->spend, st->world, now) < 0)
		sim_log("live sessions: out of memory");
	while (k > 0 && (double)lf->sessions[k - 1].start > now)
		k--;
	return k;
}

static void spend_json(struct sim_state *st, struct sim_response *r)
{
	struct sim_json j;

	if (!sim_response_json_begin(&j, r))
		return;
	sim_state_lock(st);
	sim_json_map_open(&j);
	sim_json_kv_double(&j, "perMinute", st->spend.per_minute);
	sim_json_kv_int(&j, "origin", st->spend.origin);
	sim_json_kv_int(&j, "scheduled", (long long)st->spend.next);
	sim_json_kv_int(&j, "bursts", (long long)st->spend.bursts);
	sim_json_string(&j, "farms");
	sim_json_array_open(&j);
	for (size_t f = 0; f < SIM_FARMS; f++) {
		size_t n = sim_spend_count(st, f);
		double cost = 0.0;

		for (size_t i = 0; i < n; i++)
			cost += st->spend.farms[f].sessions[i].cost;
		sim_json_map_open(&j);
		sim_json_kv_string(&j, "farmId", st->world->farms[f].id);
		sim_json_kv_int(&j, "liveSessions", (long long)n);
		sim_json_kv_double(&j, "liveCostUsd", cost);
		sim_json_map_close(&j);
	}
	sim_json_array_close(&j);
	sim_json_kv_double(&j, "now", sim_realtime());
	sim_json_map_close(&j);
	sim_state_unlock(st);
	sim_response_json_finish(&j, r, 200);
}

/* {"farmId":…, "sessions":N, "costUsd":C, "queueId":…}: a burst of expensive sessions at the next second */
static void post_spend(struct sim_state *st, const char *body, size_t len, struct sim_response *r)
{
	char err[256];
	yajl_val tree = sim_json_parse(body, len, MAX_CONTROL_DEPTH, err, sizeof(err));
	yajl_val farm_v = sim_json_member(tree, "farmId"), n_v = sim_json_member(tree, "sessions");
	yajl_val cost_v = sim_json_member(tree, "costUsd"), queue_v = sim_json_member(tree, "queueId");
	const char *farm_id = farm_v ? YAJL_GET_STRING(farm_v) : NULL;
	double cost = cost_v && YAJL_IS_NUMBER(cost_v) ? YAJL_GET_DOUBLE(cost_v) : DEFAULT_BURST_COST_USD;
	long long n = n_v && YAJL_IS_INTEGER(n_v) ? YAJL_GET_INTEGER(n_v) : 1;
	long queue = -1;
	int64_t start = 0;
	double total = 0.0;
	struct sim_json j;
	int f, e;

	if (!tree || !YAJL_IS_OBJECT(tree)) {
		sim_control_error(r, 400, "bad JSON: %s", tree ? "expected an object" : err);
		goto out;
	}
	for (size_t i = 0; i < tree->u.object.len; i++) {
		const char *k = tree->u.object.keys[i];

		if (strcmp(k, "farmId") && strcmp(k, "sessions") && strcmp(k, "costUsd") && strcmp(k, "queueId")) {
			sim_control_error(r, 400, "unknown member %.64s", k);
			goto out;
		}
	}
	if (!farm_id || (n_v && !YAJL_IS_INTEGER(n_v)) || n < 1 || n > SIM_SPEND_MAX_BURST ||
		(cost_v && !YAJL_IS_NUMBER(cost_v)) || !(cost > 0 && cost <= MAX_BURST_COST_USD) ||
		(queue_v && !YAJL_IS_STRING(queue_v))) {
		sim_control_error(r, 400,
			"expected {\"farmId\":…, \"sessions\":1…%d, \"costUsd\":(0, %g], \"queueId\":…}",
			SIM_SPEND_MAX_BURST, MAX_BURST_COST_USD);
		goto out;
	}
	f = sim_world_find_farm(st->world, farm_id);
	if (f >= 0 && queue_v)
		queue = sim_farm_find_queue(&st->world->farms[f], YAJL_GET_STRING(queue_v));
	if (f < 0 || (queue_v && queue < 0)) {
		sim_control_error(
			r, 404, "no %s %.64s", f < 0 ? "farm" : "queue", f < 0 ? farm_id : YAJL_GET_STRING(queue_v));
		goto out;
	}
	sim_state_lock(st);
	e = sim_spend_burst(&st->spend, st->world, (size_t)f, queue, (size_t)n, cost, sim_realtime(), &start, &total);
	sim_state_unlock(st);
	if (e < 0) {
		sim_control_error(r, e == -ENOMEM ? 500 : 409, "%s",
			e == -ENOENT   ? "no job runs there"
			: e == -ENOSPC ? "too many live sessions"
				       : "out of memory");
		goto out;
	}
	sim_log("spend: a burst of %lld sessions of about %g USD on farm %s", n, cost, farm_id);
	if (!sim_response_json_begin(&j, r))
		goto out;
	sim_json_map_open(&j);
	sim_json_kv_string(&j, "farmId", farm_id);
	sim_json_kv_int(&j, "startTime", start);
	sim_json_kv_int(&j, "sessions", n);
	sim_json_kv_double(&j, "costUsd", total);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, 200);
out:
	yajl_tree_free(tree);
}

void sim_spend_control(
	struct sim_state *st, const char *method, const char *body, size_t body_len, struct sim_response *r)
{
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		spend_json(st, r);
	} else if (strcmp(method, "POST") == 0) {
		post_spend(st, body, body_len, r);
	} else {
		sim_control_error(r, 405, "%s is not allowed on /__sim/spend", method);
		r->allow = "GET, HEAD, POST";
	}
}
