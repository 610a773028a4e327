/* deadline_api: request builders and yajl parsing into plain structs (no curl inside) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/model.h"
#include "deadline/json_schema.h"
#include "metrics/usage.h"

#define DEADLINE_API_VERSION "2023-10-12"
#define DEADLINE_MAX_RESOURCES_PER_AGGREGATION 10
#define DEADLINE_MAX_RESULTS 100

/* Limits on what the parsers accept from the network (the body size itself is the caller's). */
#define DEADLINE_JSON_DEPTH_MAX JSON_SCHEMA_DEPTH_MAX /* nested objects and arrays */
#define DEADLINE_JSON_STRING_MAX JSON_SCHEMA_STRING_MAX /* bytes in one string, member name or number */
#define DEADLINE_ROWS_MAX 10000 /* statistics rows in one Get page */
#define DEADLINE_LIST_IDS_MAX 10000 /* ids held by one deadline_parse_list() result */

/* Expected outcomes a parser reports (positive, module-specific). */
enum deadline_parse_result {
	DEADLINE_BAD_JSON = JSON_SCHEMA_BAD_JSON, /* not JSON, truncated, too deep, too big */
	DEADLINE_BAD_SHAPE = JSON_SCHEMA_BAD_SHAPE, /* JSON, but a required member is missing or has the wrong type */
};

enum deadline_status {
	DEADLINE_STATUS_IN_PROGRESS,
	DEADLINE_STATUS_COMPLETED,
	DEADLINE_STATUS_FAILED,
	DEADLINE_STATUS_TIMEOUT,
	DEADLINE_STATUS_UNKNOWN, /* a value this version does not know: keep polling, bounded */
};

struct deadline_start_request {
	const char *farm_id;
	enum resource_kind kind;
	const char *const *resource_ids; /* 1 to 10 */
	size_t n_resource_ids;
	const char *start_time; /* RFC 3339, UTC */
	const char *end_time;
	const enum group_field *group_by;
	size_t n_group_by;
	unsigned statistics; /* enum statistic bits */
	const char *timezone; /* "UTC+00:00" or NULL */
	enum period period; /* PERIOD_NONE: not sent */
};

/* Path "/2023-10-12/farms/<farm>/<tail>", or without "/<tail>" when tail is "" (malloc'd; NULL for no farm). */
char *deadline_farm_path(const char *farm_id, const char *tail);
/*
 * Path "/2023-10-12/farms/<farm>/<collection>/<id>", then "/<tail>" unless tail is "" (malloc'd; NULL when out of
 * memory or an id is empty). The id is percent-encoded.
 */
char *deadline_farm_item_path(const char *farm_id, const char *collection, const char *id, const char *tail);
/* Path "/2023-10-12/farms/<farm>/sessions-statistics-aggregation" (malloc'd). */
char *deadline_aggregation_path(const char *farm_id);
/* Path "/2023-10-12/farms/<farm>/queues" or ".../fleets" (malloc'd). */
char *deadline_list_path(const char *farm_id, enum resource_kind kind);

/*
 * The schema of one page of a List call, {"<member>": [item, ...], "nextToken": "..."}: static const nodes name
 * (the root), name##_array and name##_members. The page's token goes to the sink as token_slot; the list is required.
 */
#define DEADLINE_LIST_NODE(name, member, item, token_slot) \
	static const struct json_node name##_array = {.kind = JSON_ARRAY, .element = &(item)}; \
	static const struct json_member name##_members[] = { \
		{member, 0, 0, true, &name##_array}, \
		{"nextToken", (token_slot), 1, false, &json_schema_string}, \
	}; \
	JSON_SCHEMA_OBJECT(name, 0, name##_members)

/* The JSON body of StartSessionsStatisticsAggregation (malloc'd, *len set). Returns 0, -EINVAL, -ENOMEM. */
int deadline_start_body(const struct deadline_start_request *r, char **body, size_t *len);

/*
 * Query strings, every value percent-encoded (RFC 3986), keys in sorted order:
 * "aggregationId=…&maxResults=100&nextToken=…" and "maxResults=100&nextToken=…".
 * next_token may be NULL. malloc'd.
 */
char *deadline_get_query(const char *aggregation_id, int max_results, const char *next_token);
char *deadline_list_query(int max_results, const char *next_token);

/* {"aggregationId":"…"} -> *id (malloc'd). Returns 0, DEADLINE_BAD_JSON, DEADLINE_BAD_SHAPE. */
int deadline_parse_start(const char *body, size_t len, char **id, char *err, size_t errlen);

struct deadline_page {
	enum deadline_status status;
	char *status_text; /* status as received (for unknown values) */
	char *status_message; /* NULL when absent */
	char *next_token; /* NULL when absent or null */
	struct usage_row *rows;
	size_t n_rows;
};

/*
 * Parses a GetSessionsStatisticsAggregation response. Unknown members are skipped, unknown
 * usageType values kept as text. Limits: body size is the caller's, nesting depth 64, strings
 * 64 KiB, rows 10000. Returns 0, DEADLINE_BAD_JSON or DEADLINE_BAD_SHAPE (reason in err),
 * -ENOMEM. On failure *page is left empty.
 */
int deadline_parse_get(const char *body, size_t len, struct deadline_page *page, char *err, size_t errlen);
void deadline_page_deinit(struct deadline_page *page);

/*
 * Parses ListQueues/ListFleets: appends every queueId/fleetId to *ids (grown with realloc,
 * *n updated) and sets *next_token (malloc'd or NULL). Returns as deadline_parse_get().
 */
int deadline_parse_list(const char *body, size_t len, enum resource_kind kind, char ***ids, size_t *n,
	char **next_token, char *err, size_t errlen);

/*
 * An error response: the name from the x-amzn-ErrorType header (text before ':'), else from the
 * body's "__type" (text after '#'), else NULL; the body's "message"/"Message". Both malloc'd or NULL.
 * Never fails on a non-JSON body (an HTML error page gives name NULL, message NULL).
 */
void deadline_parse_error(const char *error_type_header, const char *body, size_t len, char **name, char **message);

const char *deadline_status_name(enum deadline_status s);

/*
 * The parsers' value setters, for json_schema sinks. deadline_value_text(): *dst (freed) becomes a copy of the
 * string v cut at max bytes (the label escaping mends a cut character); 0 or -ENOMEM. deadline_value_id(): *dst
 * becomes v when it is a well-formed id, prefix + 32 lowercase hex (ids go into labels and paths), else
 * DEADLINE_BAD_SHAPE with *why set. deadline_value_time_ms(): an ISO 8601 timestamp as milliseconds since the
 * epoch, or DEADLINE_BAD_SHAPE.
 */
int deadline_value_text(char **dst, const struct json_value *v, size_t max);
int deadline_value_id(char **dst, const struct json_value *v, const char *prefix, const char **why);
int deadline_value_time_ms(const struct json_value *v, int64_t *ms, const char **why);
