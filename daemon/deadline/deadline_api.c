/* deadline_api: request builders and yajl parsing into plain structs (no curl inside) */
#include "deadline/deadline_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "aws/sigv4.h"
#include "config/model.h"
#include "util/ascii.h"
#include "util/rfc3339.h"
#include "deadline/json_schema.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* ---- paths and queries ---- */

char *deadline_farm_path(const char *farm_id, const char *tail)
{
	char *enc, *path = NULL;

	if (!farm_id || !*farm_id)
		return NULL;
	/* ids are plain [a-z0-9-], but a path is no place to trust that */
	enc = sigv4_uri_encode(farm_id, true);
	if (!enc)
		return NULL;
	if (asprintf(&path, "/" DEADLINE_API_VERSION "/farms/%s%s%s", enc, *tail ? "/" : "", tail) < 0)
		path = NULL;
	free(enc);
	return path;
}

char *deadline_farm_item_path(const char *farm_id, const char *collection, const char *id, const char *tail)
{
	char *enc, *rest = NULL, *path = NULL;

	if (!id || !*id)
		return NULL;
	enc = sigv4_uri_encode(id, true);
	if (enc && asprintf(&rest, "%s/%s%s%s", collection, enc, *tail ? "/" : "", tail) >= 0)
		path = deadline_farm_path(farm_id, rest);
	free(rest);
	free(enc);
	return path;
}

char *deadline_aggregation_path(const char *farm_id)
{
	return deadline_farm_path(farm_id, "sessions-statistics-aggregation");
}

char *deadline_list_path(const char *farm_id, enum resource_kind kind)
{
	switch (kind) {
	case RESOURCE_QUEUES:
		return deadline_farm_path(farm_id, "queues");
	case RESOURCE_FLEETS:
		return deadline_farm_path(farm_id, "fleets");
	}
	return NULL;
}

/* Keys in sorted order, as the canonical query string of SigV4 wants them anyway. */
static char *query_build(const char *aggregation_id, int max_results, const char *next_token)
{
	char *id = NULL, *token = NULL, *q = NULL;

	if (max_results < 1 || max_results > DEADLINE_MAX_RESULTS)
		return NULL;
	if (aggregation_id && !(id = sigv4_uri_encode(aggregation_id, true)))
		goto out;
	if (next_token && *next_token && !(token = sigv4_uri_encode(next_token, true)))
		goto out;
	if (asprintf(&q, "%s%s%smaxResults=%d%s%s", id ? "aggregationId=" : "", id ? id : "", id ? "&" : "",
		    max_results, token ? "&nextToken=" : "", token ? token : "") < 0)
		q = NULL;
out:
	free(id);
	free(token);
	return q;
}

char *deadline_get_query(const char *aggregation_id, int max_results, const char *next_token)
{
	if (!aggregation_id || !*aggregation_id)
		return NULL;
	return query_build(aggregation_id, max_results, next_token);
}

char *deadline_list_query(int max_results, const char *next_token)
{
	return query_build(NULL, max_results, next_token);
}

/* ---- the Start body ---- */

static int gen_check(yajl_gen_status st)
{
	if (st == yajl_gen_status_ok)
		return 0;
	/* invalid UTF-8 in a caller's string, or a generator misuse: both are the caller's input */
	return -EINVAL;
}

static int gen_string(yajl_gen g, const char *s)
{
	return gen_check(yajl_gen_string(g, (const unsigned char *)s, strlen(s)));
}

static int gen_start_members(yajl_gen g, const struct deadline_start_request *r)
{
	static const enum statistic stats_order[] = {STAT_SUM, STAT_MIN, STAT_MAX, STAT_AVG};
	int rc;

	if ((rc = gen_check(yajl_gen_map_open(g))) < 0 || (rc = gen_string(g, "resourceIds")) < 0 ||
		(rc = gen_check(yajl_gen_map_open(g))) < 0 ||
		(rc = gen_string(g, resource_kind_ids_member(r->kind))) < 0 ||
		(rc = gen_check(yajl_gen_array_open(g))) < 0)
		return rc;
	for (size_t i = 0; i < r->n_resource_ids; i++)
		if ((rc = gen_string(g, r->resource_ids[i])) < 0)
			return rc;
	if ((rc = gen_check(yajl_gen_array_close(g))) < 0 || (rc = gen_check(yajl_gen_map_close(g))) < 0 ||
		(rc = gen_string(g, "startTime")) < 0 || (rc = gen_string(g, r->start_time)) < 0 ||
		(rc = gen_string(g, "endTime")) < 0 || (rc = gen_string(g, r->end_time)) < 0 ||
		(rc = gen_string(g, "groupBy")) < 0 || (rc = gen_check(yajl_gen_array_open(g))) < 0)
		return rc;
	for (size_t i = 0; i < r->n_group_by; i++)
		if ((rc = gen_string(g, group_field_api_name(r->group_by[i]))) < 0)
			return rc;
	if ((rc = gen_check(yajl_gen_array_close(g))) < 0 || (rc = gen_string(g, "statistics")) < 0 ||
		(rc = gen_check(yajl_gen_array_open(g))) < 0)
		return rc;
	for (size_t i = 0; i < sizeof(stats_order) / sizeof(stats_order[0]); i++)
		if ((r->statistics & stats_order[i]) && (rc = gen_string(g, statistic_api_name(stats_order[i]))) < 0)
			return rc;
	if ((rc = gen_check(yajl_gen_array_close(g))) < 0)
		return rc;
	if (r->timezone && ((rc = gen_string(g, "timezone")) < 0 || (rc = gen_string(g, r->timezone)) < 0))
		return rc;
	if (r->period != PERIOD_NONE &&
		((rc = gen_string(g, "period")) < 0 || (rc = gen_string(g, period_api_name(r->period))) < 0))
		return rc;
	return gen_check(yajl_gen_map_close(g));
}

static bool start_request_valid(const struct deadline_start_request *r)
{
	if (!r || !resource_kind_ids_member(r->kind) || !r->resource_ids || r->n_resource_ids < 1 ||
		r->n_resource_ids > DEADLINE_MAX_RESOURCES_PER_AGGREGATION || !r->start_time || !r->end_time ||
		!r->group_by || r->n_group_by < 1 || r->n_group_by > 2 || !r->statistics || (r->statistics & ~STAT_ALL))
		return false;
	for (size_t i = 0; i < r->n_resource_ids; i++)
		if (!r->resource_ids[i])
			return false;
	for (size_t i = 0; i < r->n_group_by; i++)
		if (!group_field_api_name(r->group_by[i]))
			return false;
	for (unsigned bit = STAT_SUM; bit <= STAT_AVG; bit <<= 1)
		if ((r->statistics & bit) && !statistic_api_name((enum statistic)bit))
			return false;
	return r->period == PERIOD_NONE || period_api_name(r->period);
}

int deadline_start_body(const struct deadline_start_request *r, char **body, size_t *len)
{
	const unsigned char *buf;
	size_t n;
	yajl_gen g;
	int rc;

	if (!body || !len)
		return -EINVAL;
	*body = NULL;
	*len = 0;
	if (!start_request_valid(r))
		return -EINVAL;
	g = yajl_gen_alloc(NULL);
	if (!g)
		return -ENOMEM;
	if (!yajl_gen_config(g, yajl_gen_validate_utf8, 1)) {
		rc = -EINVAL;
		goto out;
	}
	if ((rc = gen_start_members(g, r)) < 0 || (rc = gen_check(yajl_gen_get_buf(g, &buf, &n))) < 0)
		goto out;
	*body = malloc(n + 1);
	if (!*body) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(*body, buf, n);
	(*body)[n] = '\0';
	*len = n;
out:
	yajl_gen_free(g);
	return rc;
}

/* ---- the schemas ---- */

enum {
	SLOT_NONE,
	SLOT_STATUS,
	SLOT_STATUS_MESSAGE,
	SLOT_NEXT_TOKEN,
	SLOT_ROW,
	SLOT_JOB_NAME,
	SLOT_COUNT,
	SLOT_COST,
	SLOT_RUNTIME,
	SLOT_STAT_SUM,
	SLOT_STAT_MIN,
	SLOT_STAT_MAX,
	SLOT_STAT_AVG,
	SLOT_AGGREGATION_ID,
	SLOT_LIST_ID,
	SLOT_ERROR_TYPE,
	SLOT_ERROR_MESSAGE,
	SLOT_ERROR_MESSAGE_CAPITAL,
	SLOT_FIELD, /* + enum group_field */
};

static const struct json_member stats_members[] = {
	{"sum", SLOT_STAT_SUM, 0, false, &json_schema_double},
	{"min", SLOT_STAT_MIN, 1, false, &json_schema_double},
	{"max", SLOT_STAT_MAX, 2, false, &json_schema_double},
	{"avg", SLOT_STAT_AVG, 3, false, &json_schema_double},
};
static const struct json_node cost_node = {
	.kind = JSON_OBJECT, .slot = SLOT_COST, .members = stats_members, .n_members = 4};
static const struct json_node runtime_node = {
	.kind = JSON_OBJECT, .slot = SLOT_RUNTIME, .members = stats_members, .n_members = 4};

static const struct json_member row_members[] = {
	{"count", SLOT_COUNT, 0, true, &json_schema_integer},
	{"costInUsd", SLOT_NONE, 1, true, &cost_node},
	{"runtimeInSeconds", SLOT_NONE, 2, true, &runtime_node},
	{"jobName", SLOT_JOB_NAME, 3, false, &json_schema_string},
};

#define FIELD_MEMBER(f) [f] = {NULL, SLOT_FIELD + (f), 8 + (f), false, &json_schema_string}
static const struct json_member row_field_members[GROUP_FIELD_COUNT] = {
	FIELD_MEMBER(GROUP_QUEUE_ID),
	FIELD_MEMBER(GROUP_FLEET_ID),
	FIELD_MEMBER(GROUP_JOB_ID),
	FIELD_MEMBER(GROUP_USER_ID),
	FIELD_MEMBER(GROUP_USAGE_TYPE),
	FIELD_MEMBER(GROUP_INSTANCE_TYPE),
	FIELD_MEMBER(GROUP_LICENSE_PRODUCT),
};
#undef FIELD_MEMBER

/* The group-by members of a row, named by the model's table. */
static const struct json_member *row_find(const char *key, size_t len)
{
	for (int f = 0; f < GROUP_FIELD_COUNT; f++) {
		const char *name = group_field_json_member((enum group_field)f);
		if (name && len && name[0] == key[0] && strlen(name) == len && memcmp(name, key, len) == 0)
			return &row_field_members[f];
	}
	return NULL;
}

static const struct json_node row_node = {.kind = JSON_OBJECT,
	.slot = SLOT_ROW,
	.members = row_members,
	.n_members = sizeof(row_members) / sizeof(row_members[0]),
	.find = row_find};
static const struct json_node statistics_node = {.kind = JSON_ARRAY, .element = &row_node};

static const struct json_member get_members[] = {
	{"status", SLOT_STATUS, 0, true, &json_schema_string},
	{"statusMessage", SLOT_STATUS_MESSAGE, 1, false, &json_schema_string},
	{"nextToken", SLOT_NEXT_TOKEN, 2, false, &json_schema_string},
	{"statistics", SLOT_NONE, 3, false, &statistics_node},
};
static const struct json_node get_node = {.kind = JSON_OBJECT, .members = get_members, .n_members = 4};

static const struct json_member start_members[] = {
	{"aggregationId", SLOT_AGGREGATION_ID, 0, true, &json_schema_string},
};
static const struct json_node start_node = {.kind = JSON_OBJECT, .members = start_members, .n_members = 1};

static const struct json_member queue_item_members[] = {{"queueId", SLOT_LIST_ID, 0, true, &json_schema_string}};
static const struct json_member fleet_item_members[] = {{"fleetId", SLOT_LIST_ID, 0, true, &json_schema_string}};
static const struct json_node queue_item_node = {.kind = JSON_OBJECT, .members = queue_item_members, .n_members = 1};
static const struct json_node fleet_item_node = {.kind = JSON_OBJECT, .members = fleet_item_members, .n_members = 1};
DEADLINE_LIST_NODE(queues_node, "queues", queue_item_node, SLOT_NEXT_TOKEN);
DEADLINE_LIST_NODE(fleets_node, "fleets", fleet_item_node, SLOT_NEXT_TOKEN);

static const struct json_member error_members[] = {
	{"__type", SLOT_ERROR_TYPE, 0, false, &json_schema_string},
	{"message", SLOT_ERROR_MESSAGE, 1, false, &json_schema_string},
	{"Message", SLOT_ERROR_MESSAGE_CAPITAL, 2, false, &json_schema_string},
};
static const struct json_node error_node = {.kind = JSON_OBJECT, .members = error_members, .n_members = 3};

/* ---- GetSessionsStatisticsAggregation ---- */

struct get_ctx {
	struct deadline_page page;
	size_t cap;
	struct usage_stats *stats; /* the Stats object being read */
};

static const char *const status_names[] = {
	[DEADLINE_STATUS_IN_PROGRESS] = "IN_PROGRESS",
	[DEADLINE_STATUS_COMPLETED] = "COMPLETED",
	[DEADLINE_STATUS_FAILED] = "FAILED",
	[DEADLINE_STATUS_TIMEOUT] = "TIMEOUT",
	[DEADLINE_STATUS_UNKNOWN] = "UNKNOWN",
};

const char *deadline_status_name(enum deadline_status s)
{
	if ((unsigned)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "UNKNOWN";
	return status_names[s];
}

static enum deadline_status status_from_text(const char *s)
{
	for (int i = 0; i < DEADLINE_STATUS_UNKNOWN; i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum deadline_status)i;
	return DEADLINE_STATUS_UNKNOWN;
}

static void stats_set(struct usage_stats *st, int slot, double d)
{
	switch (slot) {
	case SLOT_STAT_SUM:
		st->sum = d;
		st->present |= STAT_SUM;
		break;
	case SLOT_STAT_MIN:
		st->min = d;
		st->present |= STAT_MIN;
		break;
	case SLOT_STAT_MAX:
		st->max = d;
		st->present |= STAT_MAX;
		break;
	case SLOT_STAT_AVG:
		st->avg = d;
		st->present |= STAT_AVG;
		break;
	}
}

static int get_value(void *c, int slot, const struct json_value *v, const char **why)
{
	struct get_ctx *ctx = c;
	struct deadline_page *pg = &ctx->page;
	struct usage_row *row = pg->n_rows ? &pg->rows[pg->n_rows - 1] : NULL;
	int rc;

	(void)why;
	switch (slot) {
	case SLOT_STATUS:
		if ((rc = json_schema_set_string(&pg->status_text, v)) < 0)
			return rc;
		pg->status = status_from_text(pg->status_text);
		return 0;
	case SLOT_STATUS_MESSAGE:
		return json_schema_set_string(&pg->status_message, v);
	case SLOT_NEXT_TOKEN:
		/* an empty token means no more pages, like null: never loop on it */
		return v->len ? json_schema_set_string(&pg->next_token, v) : 0;
	case SLOT_JOB_NAME:
		return json_schema_set_string(&row->job_name, v);
	case SLOT_COUNT:
		row->count = v->i;
		return 0;
	case SLOT_STAT_SUM:
	case SLOT_STAT_MIN:
	case SLOT_STAT_MAX:
	case SLOT_STAT_AVG:
		stats_set(ctx->stats, slot, v->d);
		return 0;
	default:
		if (slot >= SLOT_FIELD && slot < SLOT_FIELD + GROUP_FIELD_COUNT)
			return json_schema_set_string(&row->fields[slot - SLOT_FIELD], v);
		return 0;
	}
}

static int get_begin(void *c, int slot, const char **why)
{
	struct get_ctx *ctx = c;
	struct deadline_page *pg = &ctx->page;

	switch (slot) {
	case SLOT_ROW:
		if (pg->n_rows >= DEADLINE_ROWS_MAX) {
			*why = "more than " STRINGIFY(DEADLINE_ROWS_MAX) " statistics rows in one page";
			return DEADLINE_BAD_JSON;
		}
		if (pg->n_rows == ctx->cap) {
			size_t cap = ctx->cap ? 2 * ctx->cap : 16;
			struct usage_row *rows = realloc(pg->rows, cap * sizeof(*rows));
			if (!rows)
				return -ENOMEM;
			pg->rows = rows;
			ctx->cap = cap;
		}
		memset(&pg->rows[pg->n_rows++], 0, sizeof(pg->rows[0]));
		return 0;
	case SLOT_COST:
		ctx->stats = &pg->rows[pg->n_rows - 1].cost;
		return 0;
	case SLOT_RUNTIME:
		ctx->stats = &pg->rows[pg->n_rows - 1].runtime;
		return 0;
	}
	return 0;
}

static int get_end(void *c, int slot, const char **why)
{
	struct get_ctx *ctx = c;

	(void)why;
	if (slot == SLOT_COST || slot == SLOT_RUNTIME)
		ctx->stats = NULL;
	return 0;
}

static const struct json_sink get_sink = {.value = get_value, .begin = get_begin, .end = get_end};

void deadline_page_deinit(struct deadline_page *page)
{
	if (!page)
		return;
	for (size_t i = 0; i < page->n_rows; i++)
		usage_row_deinit(&page->rows[i]);
	free(page->rows);
	free(page->status_text);
	free(page->status_message);
	free(page->next_token);
	memset(page, 0, sizeof(*page));
}

int deadline_parse_get(const char *body, size_t len, struct deadline_page *page, char *err, size_t errlen)
{
	struct get_ctx ctx = {0};
	int rc;

	if (!page)
		return -EINVAL;
	memset(page, 0, sizeof(*page));
	rc = json_schema_parse(&get_node, &get_sink, &ctx, body, len, err, errlen);
	if (rc) {
		deadline_page_deinit(&ctx.page);
		return rc;
	}
	*page = ctx.page;
	return 0;
}

/* ---- StartSessionsStatisticsAggregation ---- */

static int start_value(void *c, int slot, const struct json_value *v, const char **why)
{
	if (slot != SLOT_AGGREGATION_ID)
		return 0;
	if (v->len == 0) {
		*why = "empty aggregationId";
		return DEADLINE_BAD_SHAPE;
	}
	return json_schema_set_string(c, v);
}

static const struct json_sink start_sink = {.value = start_value};

int deadline_parse_start(const char *body, size_t len, char **id, char *err, size_t errlen)
{
	char *got = NULL;
	int rc;

	if (!id)
		return -EINVAL;
	*id = NULL;
	rc = json_schema_parse(&start_node, &start_sink, &got, body, len, err, errlen);
	if (rc) {
		free(got);
		return rc;
	}
	*id = got;
	return 0;
}

/* ---- ListQueues / ListFleets ---- */

struct list_ctx {
	const char *prefix;
	char **ids;
	size_t n, cap, limit;
	char *next_token;
};

static int list_value(void *c, int slot, const struct json_value *v, const char **why)
{
	struct list_ctx *ctx = c;

	if (slot == SLOT_NEXT_TOKEN)
		return v->len ? json_schema_set_string(&ctx->next_token, v) : 0;
	if (slot != SLOT_LIST_ID)
		return 0;
	if (ctx->n >= ctx->limit) {
		*why = "too many ids";
		return DEADLINE_BAD_JSON;
	}
	if (ctx->n == ctx->cap) {
		size_t cap = ctx->cap ? 2 * ctx->cap : 16;
		char **ids = realloc(ctx->ids, cap * sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		ctx->ids = ids;
		ctx->cap = cap;
	}
	ctx->ids[ctx->n] = NULL;
	if (json_schema_set_string(&ctx->ids[ctx->n], v) < 0)
		return -ENOMEM;
	/* the ids go into Start bodies and metric labels: only well-formed ones (and no NUL inside) */
	if (strlen(ctx->ids[ctx->n]) != v->len || model_id_valid(ctx->ids[ctx->n], ctx->prefix) < 0) {
		free(ctx->ids[ctx->n]);
		*why = strcmp(ctx->prefix, "queue-") == 0 ? "not a queue id" : "not a fleet id";
		return DEADLINE_BAD_SHAPE;
	}
	ctx->n++;
	return 0;
}

static const struct json_sink list_sink = {.value = list_value};

int deadline_parse_list(const char *body, size_t len, enum resource_kind kind, char ***ids, size_t *n,
	char **next_token, char *err, size_t errlen)
{
	struct list_ctx ctx = {0};
	const struct json_node *root;
	char **grown;
	int rc;

	if (!ids || !n || !next_token || (*n && !*ids))
		return -EINVAL;
	*next_token = NULL;
	switch (kind) {
	case RESOURCE_QUEUES:
		root = &queues_node;
		break;
	case RESOURCE_FLEETS:
		root = &fleets_node;
		break;
	default:
		return -EINVAL;
	}
	ctx.prefix = resource_kind_id_prefix(kind);
	if (!ctx.prefix)
		return -EINVAL;
	ctx.limit = *n < DEADLINE_LIST_IDS_MAX ? DEADLINE_LIST_IDS_MAX - *n : 0;
	rc = json_schema_parse(root, &list_sink, &ctx, body, len, err, errlen);
	if (rc == 0 && ctx.n) {
		grown = realloc(*ids, (*n + ctx.n) * sizeof(*grown));
		if (!grown) {
			rc = -ENOMEM;
		} else {
			memcpy(grown + *n, ctx.ids, ctx.n * sizeof(*grown));
			*ids = grown;
			*n += ctx.n;
			ctx.n = 0;
		}
	}
	for (size_t i = 0; i < ctx.n; i++)
		free(ctx.ids[i]);
	free(ctx.ids);
	if (rc == 0)
		*next_token = ctx.next_token;
	else
		free(ctx.next_token);
	return rc;
}

/* ---- errors ---- */

struct error_ctx {
	char *type, *message, *message_capital;
};

static int error_value(void *c, int slot, const struct json_value *v, const char **why)
{
	struct error_ctx *ctx = c;

	(void)why;
	switch (slot) {
	case SLOT_ERROR_TYPE:
		return json_schema_set_string(&ctx->type, v);
	case SLOT_ERROR_MESSAGE:
		return json_schema_set_string(&ctx->message, v);
	case SLOT_ERROR_MESSAGE_CAPITAL:
		return json_schema_set_string(&ctx->message_capital, v);
	}
	return 0;
}

static const struct json_sink error_sink = {.value = error_value};

/*
 * The error name as the SDKs clean it: "Name:http://…" and "prefix#Name" both give "Name", spaces trimmed.
 * NULL when nothing is left.
 */
static char *error_name_clean(const char *s)
{
	const char *end, *hash;

	if (!s)
		return NULL;
	end = s + strcspn(s, ":");
	hash = memchr(s, '#', (size_t)(end - s));
	if (hash)
		s = hash + 1;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && ascii_is_space(end[-1]))
		end--;
	return end > s ? strndup(s, (size_t)(end - s)) : NULL;
}

void deadline_parse_error(const char *error_type_header, const char *body, size_t len, char **name, char **message)
{
	struct error_ctx ctx = {0};

	if (name)
		*name = NULL;
	if (message)
		*message = NULL;
	/* anything but a well-formed JSON object (an HTML page from a proxy, say) tells nothing */
	if (body && len && json_schema_parse(&error_node, &error_sink, &ctx, body, len, NULL, 0) != 0) {
		free(ctx.type);
		free(ctx.message);
		free(ctx.message_capital);
		ctx = (struct error_ctx){0};
	}
	if (name) {
		*name = error_name_clean(error_type_header);
		if (!*name)
			*name = error_name_clean(ctx.type);
	}
	if (message) {
		*message = ctx.message ? ctx.message : ctx.message_capital;
		if (ctx.message)
			ctx.message = NULL;
		else
			ctx.message_capital = NULL;
	}
	free(ctx.type);
	free(ctx.message);
	free(ctx.message_capital);
}

/* ---- value setters shared by the parsers ---- */

int deadline_value_text(char **dst, const struct json_value *v, size_t max)
{
	struct json_value cut = *v;

	if (cut.len > max)
		cut.len = max;
	return json_schema_set_string(dst, &cut);
}

int deadline_value_id(char **dst, const struct json_value *v, const char *prefix, const char **why)
{
	if (v->len > 64) {
		*why = "not a well-formed id";
		return DEADLINE_BAD_SHAPE;
	}
	if (json_schema_set_string(dst, v) < 0)
		return -ENOMEM;
	if (strlen(*dst) != v->len || model_id_valid(*dst, prefix) < 0) {
		*why = "not a well-formed id";
		return DEADLINE_BAD_SHAPE;
	}
	return 0;
}

int deadline_value_time_ms(const struct json_value *v, int64_t *ms, const char **why)
{
	char text[64];

	if (v->len >= sizeof(text)) {
		*why = "not an ISO 8601 timestamp";
		return DEADLINE_BAD_SHAPE;
	}
	memcpy(text, v->s, v->len);
	text[v->len] = '\0';
	if (rfc3339_parse_ms(text, ms) < 0) {
		*why = "not an ISO 8601 timestamp";
		return DEADLINE_BAD_SHAPE;
	}
	return 0;
}
