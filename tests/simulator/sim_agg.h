/* sim_agg: StartSessionsStatisticsAggregation requests, validated, and the rows they aggregate to */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_data.h"
#include "sim_json.h"
#include "sim_time.h"

#define SIM_MAX_RESOURCES 10
#define SIM_MAX_GROUP_BY 2

enum sim_group_field {
	SIM_GROUP_QUEUE_ID,
	SIM_GROUP_FLEET_ID,
	SIM_GROUP_JOB_ID,
	SIM_GROUP_USER_ID,
	SIM_GROUP_USAGE_TYPE,
	SIM_GROUP_INSTANCE_TYPE,
	SIM_GROUP_LICENSE_PRODUCT,
	SIM_GROUP_COUNT,
};

enum sim_statistic {
	SIM_STAT_SUM = 1u << 0,
	SIM_STAT_MIN = 1u << 1,
	SIM_STAT_MAX = 1u << 2,
	SIM_STAT_AVG = 1u << 3,
};

/* A validated request. Text members keep what was received, for /__sim/aggregations. */
struct sim_agg_request {
	size_t farm;
	bool fleets; /* resourceIds.fleetIds rather than queueIds */
	char resource_ids[SIM_MAX_RESOURCES][48];
	size_t n_resource_ids;
	char start_text[48], end_text[48];
	int64_t start, end; /* UTC ms */
	enum sim_group_field group_by[SIM_MAX_GROUP_BY];
	size_t n_group_by;
	unsigned statistics; /* enum sim_statistic bits */
	unsigned stats_list[4]; /* the same, in the order received (without repeats), for the echo */
	size_t n_statistics;
	char timezone[10]; /* "" when absent */
	int offset_minutes;
	enum sim_period period;
};

/* Why a request is invalid: the API's ValidationException details. */
struct sim_invalid {
	const char *reason; /* "CANNOT_PARSE", "FIELD_VALIDATION_FAILED" */
	char field[96]; /* "" when none */
	char message[256];
};

/* Whether s is prefix followed by exactly 32 lowercase hex digits (a farm, queue or fleet id). */
bool sim_id_matches(const char *s, const char *prefix);

/* Fills why (field may be NULL) and returns SIM_AGG_INVALID, for the parsers of request bodies. */
int sim_invalid_set(struct sim_invalid *why, const char *reason, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Outcome of sim_agg_request_parse() other than 0. */
#define SIM_AGG_INVALID 1

/* Parses a Start body for farm. Returns 0, or SIM_AGG_INVALID with why filled in. */
int sim_agg_request_parse(
	const char *body, size_t len, size_t farm, struct sim_agg_request *req, struct sim_invalid *why);

struct sim_figures {
	double sum, min, max;
};

struct sim_row {
	int64_t bucket_start, bucket_end; /* UTC ms, clipped to the request's range */
	int32_t value[SIM_MAX_GROUP_BY]; /* per grouped field: the index of its value, -1 when absent */
	int64_t count;
	struct sim_figures cost, runtime;
};

struct sim_agg_result {
	struct sim_row *rows;
	size_t n_rows;
};

/*
 * Aggregates the farm's sessions for req, its history and the n_live sessions added since it started (sorted, the
 * farm's, NULL when none): the README's Semantics. Rows come sorted by bucket, then by the group values.
 * Returns 0 or -ENOMEM.
 */
int sim_agg_compute(const struct sim_world *w, const struct sim_agg_request *req, const struct sim_session *live,
	size_t n_live, struct sim_agg_result *out);
void sim_agg_result_deinit(struct sim_agg_result *r);

/* Writes one row as the API's Statistics structure. */
void sim_agg_row_json(
	struct sim_json *j, const struct sim_world *w, const struct sim_agg_request *req, const struct sim_row *row);

/* Writes the request's members (resourceIds ... period) into an open JSON object. */
void sim_agg_request_json(struct sim_json *j, const struct sim_world *w, const struct sim_agg_request *req);

/* The text of a group-by field as the API spells it ("QUEUE_ID"). */
const char *sim_group_field_name(enum sim_group_field f);
