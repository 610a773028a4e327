/* activity_api: ListWorkers, ListQueueFleetAssociations, ListLimits, ListLicenseEndpoints: paths and parsing */
#include "deadline/activity_api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

char *activity_api_workers_path(const char *farm_id, const char *fleet_id)
{
	return deadline_farm_item_path(farm_id, "fleets", fleet_id, "workers");
}

char *activity_api_associations_path(const char *farm_id)
{
	return deadline_farm_path(farm_id, "queue-fleet-associations");
}

char *activity_api_limits_path(const char *farm_id)
{
	return deadline_farm_path(farm_id, "limits");
}

char *activity_api_license_endpoints_path(void)
{
	return strdup("/" DEADLINE_API_VERSION "/license-endpoints");
}

/* ---- schema ---- */

enum slot {
	SLOT_NONE,
	SLOT_NEXT_TOKEN,
	SLOT_WORKER_STATUS,
	SLOT_ASSOCIATION, /* object */
	SLOT_ASSOCIATION_QUEUE,
	SLOT_ASSOCIATION_FLEET,
	SLOT_ASSOCIATION_STATUS,
	SLOT_LIMIT, /* object */
	SLOT_LIMIT_ID,
	SLOT_LIMIT_NAME,
	SLOT_LIMIT_AMOUNT,
	SLOT_LIMIT_CURRENT,
	SLOT_LIMIT_MAX,
	SLOT_ENDPOINT, /* object */
	SLOT_ENDPOINT_ID,
	SLOT_ENDPOINT_STATUS,
};

/* workerId is not kept, but a worker without one is not a worker */
static const struct json_member worker_members[] = {
	{"workerId", SLOT_NONE, 0, true, &json_schema_string},
	{"status", SLOT_WORKER_STATUS, 1, true, &json_schema_string},
};
JSON_SCHEMA_OBJECT(worker_node, SLOT_NONE, worker_members);
DEADLINE_LIST_NODE(workers_node, "workers", worker_node, SLOT_NEXT_TOKEN);

static const struct json_member association_members[] = {
	{"queueId", SLOT_ASSOCIATION_QUEUE, 0, true, &json_schema_string},
	{"fleetId", SLOT_ASSOCIATION_FLEET, 1, true, &json_schema_string},
	{"status", SLOT_ASSOCIATION_STATUS, 2, true, &json_schema_string},
};
JSON_SCHEMA_OBJECT(association_node, SLOT_ASSOCIATION, association_members);
DEADLINE_LIST_NODE(associations_node, "queueFleetAssociations", association_node, SLOT_NEXT_TOKEN);

static const struct json_member limit_members[] = {
	{"limitId", SLOT_LIMIT_ID, 0, true, &json_schema_string},
	{"displayName", SLOT_LIMIT_NAME, 1, true, &json_schema_string},
	{"amountRequirementName", SLOT_LIMIT_AMOUNT, 2, true, &json_schema_string},
	{"currentCount", SLOT_LIMIT_CURRENT, 3, true, &json_schema_integer},
	{"maxCount", SLOT_LIMIT_MAX, 4, true, &json_schema_double}, /* a double: -1 is a value */
};
JSON_SCHEMA_OBJECT(limit_node, SLOT_LIMIT, limit_members);
DEADLINE_LIST_NODE(limits_node, "limits", limit_node, SLOT_NEXT_TOKEN);

/* the model requires none of the summary's members; an endpoint without id or status says nothing */
static const struct json_member endpoint_members[] = {
	{"licenseEndpointId", SLOT_ENDPOINT_ID, 0, true, &json_schema_string},
	{"status", SLOT_ENDPOINT_STATUS, 1, true, &json_schema_string},
};
JSON_SCHEMA_OBJECT(endpoint_node, SLOT_ENDPOINT, endpoint_members);
DEADLINE_LIST_NODE(endpoints_node, "licenseEndpoints", endpoint_node, SLOT_NEXT_TOKEN);

/* ---- the sink ---- */

struct list_ctx {
	struct activity_tally *workers;
	struct activity *a;
	struct activity_license_endpoints *l;
	char *next_token;
};

static int list_begin(void *c, int slot, const char **why)
{
	struct list_ctx *ctx = c;
	void *item = NULL;
	size_t n = 0;

	switch (slot) {
	case SLOT_ASSOCIATION:
		n = ctx->a->n_associations;
		item = activity_add_association(ctx->a);
		break;
	case SLOT_LIMIT:
		n = ctx->a->n_limits;
		item = activity_add_limit(ctx->a);
		break;
	case SLOT_ENDPOINT:
		n = ctx->l->n;
		item = activity_add_license_endpoint(ctx->l);
		break;
	default:
		return 0;
	}
	if (item)
		return 0;
	if (n >= ACTIVITY_ITEMS_MAX) {
		*why = "too many items";
		return DEADLINE_BAD_JSON;
	}
	return -ENOMEM;
}

/* maxCount: an integer from -1 (unlimited) up, read as a double since the schema's integers are not negative. */
static int set_max_count(int64_t *dst, const struct json_value *v, const char **why)
{
	if (v->d < -1 || v->d > 2147483647.0 || v->d != (double)(int64_t)v->d) {
		*why = "not an integer from -1";
		return DEADLINE_BAD_SHAPE;
	}
	*dst = (int64_t)v->d;
	return 0;
}

static int list_value(void *c, int slot, const struct json_value *v, const char **why)
{
	struct list_ctx *ctx = c;
	struct activity *a = ctx->a;
	struct activity_association *s = a && a->n_associations ? &a->associations[a->n_associations - 1] : NULL;
	struct activity_limit *l = a && a->n_limits ? &a->limits[a->n_limits - 1] : NULL;
	struct activity_license_endpoint *e = ctx->l && ctx->l->n ? &ctx->l->items[ctx->l->n - 1] : NULL;
	int r;

	switch (slot) {
	case SLOT_NEXT_TOKEN:
		return v->len ? json_schema_set_string(&ctx->next_token, v) : 0;
	case SLOT_WORKER_STATUS:
		r = activity_tally_add(ctx->workers, &activity_worker_statuses, v->s, v->len, 1);
		if (r == ACTIVITY_TOO_MANY)
			*why = "too many unknown statuses";
		return r == ACTIVITY_TOO_MANY ? DEADLINE_BAD_SHAPE : r;
	case SLOT_ASSOCIATION_QUEUE:
		return deadline_value_id(&s->queue_id, v, "queue-", why);
	case SLOT_ASSOCIATION_FLEET:
		return deadline_value_id(&s->fleet_id, v, "fleet-", why);
	case SLOT_ASSOCIATION_STATUS:
		return deadline_value_text(&s->status, v, ACTIVITY_TEXT_MAX);
	case SLOT_LIMIT_ID:
		return deadline_value_id(&l->id, v, "limit-", why);
	case SLOT_LIMIT_NAME:
		return deadline_value_text(&l->name, v, ACTIVITY_TEXT_MAX);
	case SLOT_LIMIT_AMOUNT:
		return deadline_value_text(&l->amount_name, v, ACTIVITY_TEXT_MAX);
	case SLOT_LIMIT_CURRENT:
		l->current = v->i;
		return 0;
	case SLOT_LIMIT_MAX:
		return set_max_count(&l->max, v, why);
	case SLOT_ENDPOINT_ID:
		return deadline_value_id(&e->id, v, "le-", why);
	case SLOT_ENDPOINT_STATUS:
		return deadline_value_text(&e->status, v, ACTIVITY_TEXT_MAX);
	}
	return 0;
}

static const struct json_sink list_sink = {.value = list_value, .begin = list_begin};

/* ---- the parsers ---- */

/* One page into ctx's target; the caller undoes what a failure appended. */
static int parse_list(const struct json_node *root, struct list_ctx *ctx, const char *body, size_t len,
	char **next_token, char *err, size_t errlen)
{
	int rc;

	*next_token = NULL;
	rc = json_schema_parse(root, &list_sink, ctx, body, len, err, errlen);
	if (rc != 0) {
		free(ctx->next_token);
		return rc;
	}
	*next_token = ctx->next_token;
	return 0;
}

int activity_api_parse_workers(
	const char *body, size_t len, struct activity_tally *page, char **next_token, char *err, size_t errlen)
{
	struct list_ctx ctx = {.workers = page};
	int rc;

	if (!page || !next_token)
		return -EINVAL;
	activity_tally_deinit(page);
	rc = parse_list(&workers_node, &ctx, body, len, next_token, err, errlen);
	if (rc != 0)
		activity_tally_deinit(page);
	return rc;
}

/* One page of associations or limits appended to a; on failure a is as before. */
static int parse_activity_page(const struct json_node *root, const char *body, size_t len, struct activity *a,
	char **next_token, char *err, size_t errlen)
{
	struct list_ctx ctx = {.a = a};
	size_t n_associations, n_limits;
	int rc;

	if (!a || !next_token)
		return -EINVAL;
	n_associations = a->n_associations;
	n_limits = a->n_limits;
	rc = parse_list(root, &ctx, body, len, next_token, err, errlen);
	if (rc != 0)
		activity_truncate(a, a->n_fleets, n_associations, n_limits);
	return rc;
}

int activity_api_parse_associations(
	const char *body, size_t len, struct activity *a, char **next_token, char *err, size_t errlen)
{
	return parse_activity_page(&associations_node, body, len, a, next_token, err, errlen);
}

int activity_api_parse_limits(
	const char *body, size_t len, struct activity *a, char **next_token, char *err, size_t errlen)
{
	return parse_activity_page(&limits_node, body, len, a, next_token, err, errlen);
}

int activity_api_parse_license_endpoints(
	const char *body, size_t len, struct activity_license_endpoints *l, char **next_token, char *err, size_t errlen)
{
	struct list_ctx ctx = {.l = l};
	size_t n;
	int rc;

	if (!l || !next_token)
		return -EINVAL;
	n = l->n;
	rc = parse_list(&endpoints_node, &ctx, body, len, next_token, err, errlen);
	if (rc != 0)
		activity_license_endpoints_truncate(l, n);
	return rc;
}
