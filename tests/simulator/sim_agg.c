/* sim_agg: StartSessionsStatisticsAggregation requests, validated, and the rows they aggregate to */
#include "sim_agg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_JSON_DEPTH 32

static const char *const group_names[SIM_GROUP_COUNT] = {
	[SIM_GROUP_QUEUE_ID] = "QUEUE_ID",
	[SIM_GROUP_FLEET_ID] = "FLEET_ID",
	[SIM_GROUP_JOB_ID] = "JOB_ID",
	[SIM_GROUP_USER_ID] = "USER_ID",
	[SIM_GROUP_USAGE_TYPE] = "USAGE_TYPE",
	[SIM_GROUP_INSTANCE_TYPE] = "INSTANCE_TYPE",
	[SIM_GROUP_LICENSE_PRODUCT] = "LICENSE_PRODUCT",
};

static const struct {
	const char *name;
	enum sim_statistic bit;
} stat_names[] = {
	{"SUM", SIM_STAT_SUM},
	{"MIN", SIM_STAT_MIN},
	{"MAX", SIM_STAT_MAX},
	{"AVG", SIM_STAT_AVG},
};

const char *sim_group_field_name(enum sim_group_field f)
{
	return group_names[f];
}

int sim_invalid_set(struct sim_invalid *why, const char *reason, const char *field, const char *fmt, ...)
{
	va_list ap;

	why->reason = reason;
	snprintf(why->field, sizeof(why->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(why->message, sizeof(why->message), fmt, ap);
	va_end(ap);
	return SIM_AGG_INVALID;
}

#define FIELD_INVALID(why, field, ...) sim_invalid_set(why, "FIELD_VALIDATION_FAILED", field, __VA_ARGS__)

bool sim_id_matches(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(s, prefix, n) != 0 || strlen(s) != n + SIM_HEX_ID_LEN)
		return false;
	for (const char *p = s + n; *p; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	}
	return true;
}

/* An absent member and an explicit null mean the same. */
static yajl_val member(yajl_val obj, const char *key)
{
	yajl_val v = sim_json_member(obj, key);

	return YAJL_IS_NULL(v) ? NULL : v;
}

static int parse_resources(yajl_val body, struct sim_agg_request *req, struct sim_invalid *why)
{
	yajl_val res = member(body, "resourceIds"), queues, fleets, list;
	const char *name, *prefix;

	if (!res)
		return FIELD_INVALID(why, "resourceIds", "resourceIds is required");
	if (!YAJL_IS_OBJECT(res))
		return FIELD_INVALID(why, "resourceIds", "resourceIds must be an object");
	for (size_t i = 0; i < res->u.object.len; i++) {
		const char *k = res->u.object.keys[i];

		if (strcmp(k, "queueIds") != 0 && strcmp(k, "fleetIds") != 0)
			return FIELD_INVALID(why, "resourceIds", "unknown member resourceIds.%.64s", k);
	}
	queues = member(res, "queueIds");
	fleets = member(res, "fleetIds");
	if (!queues == !fleets)
		return FIELD_INVALID(why, "resourceIds", "resourceIds must have exactly one of queueIds and fleetIds");
	req->fleets = fleets != NULL;
	list = req->fleets ? fleets : queues;
	name = req->fleets ? "resourceIds.fleetIds" : "resourceIds.queueIds";
	prefix = req->fleets ? "fleet-" : "queue-";
	if (!YAJL_IS_ARRAY(list))
		return FIELD_INVALID(why, name, "%s must be a list", name);
	if (list->u.array.len < 1 || list->u.array.len > SIM_MAX_RESOURCES)
		return FIELD_INVALID(
			why, name, "%s must have 1 to %d members, not %zu", name, SIM_MAX_RESOURCES, list->u.array.len);
	for (size_t i = 0; i < list->u.array.len; i++) {
		const char *id = YAJL_GET_STRING(list->u.array.values[i]);

		if (!id || !sim_id_matches(id, prefix))
			return FIELD_INVALID(why, name, "%s[%zu] must match %s[0-9a-f]{32}", name, i, prefix);
		memcpy(req->resource_ids[i], id, strlen(id) + 1);
	}
	req->n_resource_ids = list->u.array.len;
	return 0;
}

static int parse_time(yajl_val body, const char *key, char *text, size_t textlen, int64_t *out, struct sim_invalid *why)
{
	yajl_val v = member(body, key);
	const char *s = YAJL_GET_STRING(v);

	if (!v)
		return FIELD_INVALID(why, key, "%s is required", key);
	if (!s || strlen(s) >= textlen || sim_rfc3339_parse(s, out) < 0)
		return FIELD_INVALID(why, key, "%s must be an RFC 3339 date-time string", key);
	memcpy(text, s, strlen(s) + 1);
	return 0;
}

static int parse_group_by(yajl_val body, struct sim_agg_request *req, struct sim_invalid *why)
{
	yajl_val list = member(body, "groupBy");

	if (!list)
		return FIELD_INVALID(why, "groupBy", "groupBy is required");
	if (!YAJL_IS_ARRAY(list) || list->u.array.len < 1 || list->u.array.len > SIM_MAX_GROUP_BY)
		return FIELD_INVALID(why, "groupBy", "groupBy must be a list of 1 to %d fields", SIM_MAX_GROUP_BY);
	req->n_group_by = 0;
	for (size_t i = 0; i < list->u.array.len; i++) {
		const char *s = YAJL_GET_STRING(list->u.array.values[i]);
		int f = -1;
		bool seen = false;

		for (int g = 0; s && g < SIM_GROUP_COUNT; g++) {
			if (strcmp(s, group_names[g]) == 0)
				f = g;
		}
		if (f < 0)
			return FIELD_INVALID(why, "groupBy", "groupBy[%zu] is not a UsageGroupByField", i);
		/* the model allows a repeat; it groups the same */
		for (size_t k = 0; k < req->n_group_by; k++)
			seen = seen || req->group_by[k] == (enum sim_group_field)f;
		if (!seen)
			req->group_by[req->n_group_by++] = (enum sim_group_field)f;
	}
	return 0;
}

static int parse_statistics(yajl_val body, struct sim_agg_request *req, struct sim_invalid *why)
{
	yajl_val list = member(body, "statistics");

	if (!list)
		return FIELD_INVALID(why, "statistics", "statistics is required");
	if (!YAJL_IS_ARRAY(list) || list->u.array.len < 1 || list->u.array.len > 4)
		return FIELD_INVALID(why, "statistics", "statistics must be a list of 1 to 4 of SUM, MIN, MAX, AVG");
	req->statistics = 0;
	req->n_statistics = 0;
	for (size_t i = 0; i < list->u.array.len; i++) {
		const char *s = YAJL_GET_STRING(list->u.array.values[i]);
		unsigned bit = 0;

		for (size_t k = 0; s && k < sizeof(stat_names) / sizeof(stat_names[0]); k++) {
			if (strcmp(s, stat_names[k].name) == 0)
				bit = stat_names[k].bit;
		}
		if (!bit)
			return FIELD_INVALID(why, "statistics", "statistics[%zu] is not one of SUM, MIN, MAX, AVG", i);
		if (!(req->statistics & bit))
			req->stats_list[req->n_statistics++] = bit;
		req->statistics |= bit;
	}
	return 0;
}

static int parse_options(yajl_val body, struct sim_agg_request *req, struct sim_invalid *why)
{
	yajl_val tz = member(body, "timezone"), period = member(body, "period");

	req->timezone[0] = '\0';
	req->offset_minutes = 0;
	if (tz) {
		const char *s = YAJL_GET_STRING(tz);

		if (!s || sim_timezone_parse(s, &req->offset_minutes) < 0)
			return FIELD_INVALID(why, "timezone", "timezone must match UTC[-+][01][0-9]:(30|00)");
		memcpy(req->timezone, s, strlen(s) + 1);
	}
	req->period = SIM_PERIOD_NONE;
	if (period) {
		const char *s = YAJL_GET_STRING(period);

		if (!s || sim_period_parse(s, &req->period) < 0)
			return FIELD_INVALID(why, "period", "period must be one of HOURLY, DAILY, WEEKLY, MONTHLY");
	}
	return 0;
}

int sim_agg_request_parse(
	const char *body, size_t len, size_t farm, struct sim_agg_request *req, struct sim_invalid *why)
{
	char err[256];
	yajl_val tree;
	int r;

	memset(req, 0, sizeof(*req));
	req->farm = farm;
	tree = sim_json_parse(body, len, MAX_JSON_DEPTH, err, sizeof(err));
	if (!tree)
		return sim_invalid_set(why, "CANNOT_PARSE", NULL, "could not parse the request body: %s", err);
	if (!YAJL_IS_OBJECT(tree)) {
		r = sim_invalid_set(why, "CANNOT_PARSE", NULL, "the request body must be a JSON object");
		goto out;
	}
	r = parse_resources(tree, req, why);
	if (!r)
		r = parse_time(tree, "startTime", req->start_text, sizeof(req->start_text), &req->start, why);
	if (!r)
		r = parse_time(tree, "endTime", req->end_text, sizeof(req->end_text), &req->end, why);
	if (!r && req->end <= req->start)
		r = FIELD_INVALID(why, "endTime", "endTime must be after startTime");
	if (!r)
		r = parse_group_by(tree, req, why);
	if (!r)
		r = parse_statistics(tree, req, why);
	if (!r)
		r = parse_options(tree, req, why);
out:
	yajl_tree_free(tree);
	return r;
}

/* The row table: rows in an array, found through an open-addressing index of (bucket, values). */
struct row_table {
	struct sim_row *rows;
	size_t n_rows, cap_rows;
	uint32_t *slots; /* row index + 1; 0 is empty */
	size_t n_slots; /* a power of two, at least twice n_rows */
};

static uint64_t row_hash(int64_t bucket, const int32_t value[SIM_MAX_GROUP_BY])
{
	uint64_t h = (uint64_t)bucket * UINT64_C(0x9e3779b97f4a7c15);

	h ^= (uint64_t)(uint32_t)value[0] * UINT64_C(0xbf58476d1ce4e5b9);
	h ^= (uint64_t)(uint32_t)value[1] * UINT64_C(0x94d049bb133111eb);
	h ^= h >> 31;
	h *= UINT64_C(0xd6e8feb86659fd93);
	return h ^ (h >> 32);
}

static int table_rehash(struct row_table *t, size_t n_slots)
{
	uint32_t *slots = calloc(n_slots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_rows; i++) {
		size_t s = (size_t)row_hash(t->rows[i].bucket_start, t->rows[i].value) & (n_slots - 1);

		while (slots[s])
			s = (s + 1) & (n_slots - 1);
		slots[s] = (uint32_t)(i + 1);
	}
	free(t->slots);
	t->slots = slots;
	t->n_slots = n_slots;
	return 0;
}

/* The row for (bucket, value), created empty when new; NULL when out of memory. */
static struct sim_row *table_row(
	struct row_table *t, int64_t bucket_start, int64_t bucket_end, const int32_t value[SIM_MAX_GROUP_BY])
{
	size_t s;
	struct sim_row *row;

	if (2 * (t->n_rows + 1) > t->n_slots && table_rehash(t, t->n_slots ? 2 * t->n_slots : 64) < 0)
		return NULL;
	s = (size_t)row_hash(bucket_start, value) & (t->n_slots - 1);
	while (t->slots[s]) {
		row = &t->rows[t->slots[s] - 1];
		if (row->bucket_start == bucket_start && row->value[0] == value[0] && row->value[1] == value[1])
			return row;
		s = (s + 1) & (t->n_slots - 1);
	}
	if (t->n_rows == t->cap_rows) {
		size_t cap = t->cap_rows ? 2 * t->cap_rows : 64;
		struct sim_row *rows;

		/* slots hold 32-bit indexes */
		if (t->n_rows >= UINT32_MAX - 1)
			return NULL;
		rows = realloc(t->rows, cap * sizeof(*rows));
		if (!rows)
			return NULL;
		t->rows = rows;
		t->cap_rows = cap;
	}
	row = &t->rows[t->n_rows];
	memset(row, 0, sizeof(*row));
	row->bucket_start = bucket_start;
	row->bucket_end = bucket_end;
	row->value[0] = value[0];
	row->value[1] = value[1];
	t->slots[s] = (uint32_t)++t->n_rows;
	return row;
}

static int32_t session_value(const struct sim_session *s, enum sim_group_field f)
{
	switch (f) {
	case SIM_GROUP_QUEUE_ID:
		return (int32_t)s->queue;
	case SIM_GROUP_FLEET_ID:
		return (int32_t)s->fleet;
	case SIM_GROUP_JOB_ID:
		return (int32_t)s->job;
	case SIM_GROUP_USER_ID:
		return (int32_t)s->user;
	case SIM_GROUP_USAGE_TYPE:
		return s->usage_type;
	case SIM_GROUP_INSTANCE_TYPE:
		return s->instance_type == SIM_NONE ? -1 : s->instance_type;
	case SIM_GROUP_LICENSE_PRODUCT:
		return s->license_product == SIM_NONE ? -1 : s->license_product;
	case SIM_GROUP_COUNT:
		break;
	}
	return -1;
}

static void figures_add(struct sim_figures *f, int64_t count_before, double x)
{
	f->sum += x;
	if (count_before == 0 || x < f->min)
		f->min = x;
	if (count_before == 0 || x > f->max)
		f->max = x;
}

static int compare_rows(const void *a, const void *b)
{
	const struct sim_row *x = a, *y = b;

	if (x->bucket_start != y->bucket_start)
		return x->bucket_start < y->bucket_start ? -1 : 1;
	for (size_t i = 0; i < SIM_MAX_GROUP_BY; i++) {
		if (x->value[i] != y->value[i])
			return x->value[i] < y->value[i] ? -1 : 1;
	}
	return 0;
}

int sim_agg_compute(const struct sim_world *w, const struct sim_agg_request *req, const struct sim_session *live,
	size_t n_live, struct sim_agg_result *out)
{
	const struct sim_farm *farm = &w->farms[req->farm];
	size_t n_resources = req->fleets ? farm->n_fleets : farm->n_queues;
	bool *selected = calloc(n_resources, sizeof(*selected));
	struct row_table t = {0};
	struct sim_session_cursor cursor;
	int64_t cur_start = 0, cur_next = 0;
	bool have_bucket = false;
	int r = 0;

	out->rows = NULL;
	out->n_rows = 0;
	if (!selected)
		return -ENOMEM;
	for (size_t i = 0; i < req->n_resource_ids; i++) {
		/* an id this farm does not have selects nothing */
		long k = req->fleets ? sim_farm_find_fleet(farm, req->resource_ids[i])
				     : sim_farm_find_queue(farm, req->resource_ids[i]);

		if (k >= 0)
			selected[k] = true;
	}
	/* the first whole second at or after the start (ms) */
	sim_session_cursor_init(&cursor, farm->sessions, farm->n_sessions, live, n_live,
		-sim_floor_div(-req->start, SIM_MS_PER_SECOND));
	for (const struct sim_session *s; (s = sim_session_cursor_next(&cursor));) {
		int64_t t_ms = s->start * SIM_MS_PER_SECOND, bs, be;
		int32_t value[SIM_MAX_GROUP_BY] = {-1, -1};
		struct sim_row *row;

		if (t_ms >= req->end)
			break;
		if (!selected[req->fleets ? s->fleet : s->queue])
			continue;
		if (req->period == SIM_PERIOD_NONE) {
			bs = req->start;
			be = req->end;
		} else {
			/* sessions come in time order: the bucket changes rarely */
			if (!have_bucket || t_ms < cur_start || t_ms >= cur_next) {
				cur_start = sim_bucket_start(t_ms, req->period, req->offset_minutes);
				cur_next = sim_bucket_next(cur_start, req->period, req->offset_minutes);
				have_bucket = true;
			}
			bs = cur_start > req->start ? cur_start : req->start;
			be = cur_next < req->end ? cur_next : req->end;
		}
		for (size_t g = 0; g < req->n_group_by; g++)
			value[g] = session_value(s, req->group_by[g]);
		row = table_row(&t, bs, be, value);
		if (!row) {
			r = -ENOMEM;
			goto out;
		}
		figures_add(&row->cost, row->count, s->cost);
		figures_add(&row->runtime, row->count, s->runtime);
		row->count++;
	}
	if (t.n_rows) /* qsort() must not see the NULL of an empty table */
		qsort(t.rows, t.n_rows, sizeof(*t.rows), compare_rows);
	out->rows = t.rows;
	out->n_rows = t.n_rows;
	t.rows = NULL;
out:
	free(t.rows);
	free(t.slots);
	free(selected);
	return r;
}

void sim_agg_result_deinit(struct sim_agg_result *r)
{
	free(r->rows);
	r->rows = NULL;
	r->n_rows = 0;
}

static void figures_json(
	struct sim_json *j, const char *key, const struct sim_figures *f, int64_t count, unsigned statistics)
{
	sim_json_string(j, key);
	sim_json_map_open(j);
	if (statistics & SIM_STAT_MIN)
		sim_json_kv_double(j, "min", f->min);
	if (statistics & SIM_STAT_MAX)
		sim_json_kv_double(j, "max", f->max);
	if (statistics & SIM_STAT_AVG)
		sim_json_kv_double(j, "avg", f->sum / (double)count);
	if (statistics & SIM_STAT_SUM)
		sim_json_kv_double(j, "sum", f->sum);
	sim_json_map_close(j);
}

/* The grouped value of field f in row, or -1 when f is not grouped or the sessions have none. */
static int32_t row_value(const struct sim_agg_request *req, const struct sim_row *row, enum sim_group_field f)
{
	for (size_t g = 0; g < req->n_group_by; g++) {
		if (req->group_by[g] == f)
			return row->value[g];
	}
	return -1;
}

void sim_agg_row_json(
	struct sim_json *j, const struct sim_world *w, const struct sim_agg_request *req, const struct sim_row *row)
{
	const struct sim_farm *farm = &w->farms[req->farm];
	char when[SIM_RFC3339_SIZE];
	int32_t v;

	sim_json_map_open(j);
	if ((v = row_value(req, row, SIM_GROUP_QUEUE_ID)) >= 0)
		sim_json_kv_string(j, "queueId", farm->queues[v].id);
	if ((v = row_value(req, row, SIM_GROUP_FLEET_ID)) >= 0)
		sim_json_kv_string(j, "fleetId", farm->fleets[v].id);
	if ((v = row_value(req, row, SIM_GROUP_JOB_ID)) >= 0) {
		sim_json_kv_string(j, "jobId", w->jobs[v].id);
		sim_json_kv_string(j, "jobName", w->jobs[v].name);
	}
	if ((v = row_value(req, row, SIM_GROUP_USER_ID)) >= 0)
		sim_json_kv_string(j, "userId", w->users[v].id);
	if ((v = row_value(req, row, SIM_GROUP_USAGE_TYPE)) >= 0)
		sim_json_kv_string(j, "usageType", sim_usage_type_names[v]);
	if ((v = row_value(req, row, SIM_GROUP_LICENSE_PRODUCT)) >= 0)
		sim_json_kv_string(j, "licenseProduct", sim_license_products[v]);
	if ((v = row_value(req, row, SIM_GROUP_INSTANCE_TYPE)) >= 0)
		sim_json_kv_string(j, "instanceType", sim_instance_types[v]);
	sim_json_kv_int(j, "count", row->count);
	figures_json(j, "costInUsd", &row->cost, row->count, req->statistics);
	figures_json(j, "runtimeInSeconds", &row->runtime, row->count, req->statistics);
	sim_rfc3339_format(row->bucket_start, when);
	sim_json_kv_string(j, "aggregationStartTime", when);
	sim_rfc3339_format(row->bucket_end, when);
	sim_json_kv_string(j, "aggregationEndTime", when);
	if (w->new_usage_type) {
		/* a member this API version does not have, nested, for the client to skip */
		sim_json_string(j, "acceleratorUsage");
		sim_json_map_open(j);
		sim_json_kv_int(j, "schemaVersion", 2);
		sim_json_string(j, "labels");
		sim_json_array_open(j);
		sim_json_string(j, "preview");
		sim_json_null(j);
		sim_json_bool(j, true);
		sim_json_array_close(j);
		sim_json_kv_double(j, "weight", 0.5);
		sim_json_map_close(j);
	}
	sim_json_map_close(j);
}

void sim_agg_request_json(struct sim_json *j, const struct sim_world *w, const struct sim_agg_request *req)
{
	sim_json_kv_string(j, "farmId", w->farms[req->farm].id);
	sim_json_string(j, "resourceIds");
	sim_json_map_open(j);
	sim_json_string(j, req->fleets ? "fleetIds" : "queueIds");
	sim_json_array_open(j);
	for (size_t i = 0; i < req->n_resource_ids; i++)
		sim_json_string(j, req->resource_ids[i]);
	sim_json_array_close(j);
	sim_json_map_close(j);
	sim_json_kv_string(j, "startTime", req->start_text);
	sim_json_kv_string(j, "endTime", req->end_text);
	sim_json_string(j, "groupBy");
	sim_json_array_open(j);
	for (size_t i = 0; i < req->n_group_by; i++)
		sim_json_string(j, group_names[req->group_by[i]]);
	sim_json_array_close(j);
	sim_json_string(j, "statistics");
	sim_json_array_open(j);
	for (size_t i = 0; i < req->n_statistics; i++) {
		for (size_t k = 0; k < sizeof(stat_names) / sizeof(stat_names[0]); k++) {
			if (stat_names[k].bit == req->stats_list[i])
				sim_json_string(j, stat_names[k].name);
		}
	}
	sim_json_array_close(j);
	sim_json_string(j, "timezone");
	if (req->timezone[0])
		sim_json_string(j, req->timezone);
	else
		sim_json_null(j);
	sim_json_string(j, "period");
	if (req->period != SIM_PERIOD_NONE)
		sim_json_string(j, sim_period_name(req->period));
	else
		sim_json_null(j);
}
