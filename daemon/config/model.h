/* model: the vocabulary shared by configuration, API and metrics (group-by fields, statistics) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The API's UsageGroupByField values, in the order of the metric labels. */
enum group_field {
	GROUP_QUEUE_ID,
	GROUP_FLEET_ID,
	GROUP_JOB_ID,
	GROUP_USER_ID,
	GROUP_USAGE_TYPE,
	GROUP_INSTANCE_TYPE,
	GROUP_LICENSE_PRODUCT,
	GROUP_FIELD_COUNT,
};

/* Statistics as a bit set. */
enum statistic {
	STAT_SUM = 1u << 0,
	STAT_MIN = 1u << 1,
	STAT_MAX = 1u << 2,
	STAT_AVG = 1u << 3,
	STAT_ALL = 0xfu,
};

/* The kinds of ids an aggregation asks for (its resourceIds). */
enum resource_kind {
	RESOURCE_QUEUES,
	RESOURCE_FLEETS,
};

/* reports[].resources: a kind, or "auto" (the kind that covers the farm's sessions in the fewest batches). */
enum report_resources {
	REPORT_RESOURCES_AUTO, /* "auto", the default */
	REPORT_RESOURCES_QUEUES, /* "queues" */
	REPORT_RESOURCES_FLEETS, /* "fleets" */
};

enum period {
	PERIOD_NONE, /* not sent: the service's default */
	PERIOD_HOURLY,
	PERIOD_DAILY,
	PERIOD_WEEKLY,
	PERIOD_MONTHLY,
};

/* "QUEUE_ID" … ; NULL for an out-of-range value. */
const char *group_field_api_name(enum group_field f);
/* "queue_id" … (the metric label); JOB_ID also carries "job_name". */
const char *group_field_label(enum group_field f);
/* "queueId" … (the member of a statistics row). */
const char *group_field_json_member(enum group_field f);
/* Returns 0 and sets *out, or -EINVAL for an unknown name. */
int group_field_from_api_name(const char *s, enum group_field *out);

/* "SUM" …; for a single bit. */
const char *statistic_api_name(enum statistic s);
int statistic_from_api_name(const char *s, enum statistic *out);

/* "HOURLY" …; NULL for PERIOD_NONE. */
const char *period_api_name(enum period p);
int period_from_api_name(const char *s, enum period *out);

/* "queueIds"/"fleetIds": the member of the API's resourceIds. */
const char *resource_kind_ids_member(enum resource_kind k);
/* "queue-"/"fleet-": the prefix of the ids of that kind; NULL for an out-of-range value. */
const char *resource_kind_id_prefix(enum resource_kind k);
/* "queues"/"fleets": the setting's value, and the kind label of deadline_cloud_exporter_report_resources; NULL for an
 * out-of-range value. */
const char *resource_kind_name(enum resource_kind k);
/* Parses "queues"/"fleets". Returns 0 and sets *out, or -EINVAL. */
int resource_kind_from_name(const char *s, enum resource_kind *out);

/* Parses "auto"/"queues"/"fleets". Returns 0 and sets *out, or -EINVAL. */
int report_resources_from_name(const char *s, enum report_resources *out);

/*
 * The kind an aggregation of a farm asks by for a report's resources setting (pure): "queues" and "fleets" as
 * set; "auto": the kind the farm lists explicitly when only one of its queues and fleets is a list (the user
 * restricted it), else the kind needing fewer batches of per_batch ids for n_queues and n_fleets (queues on a
 * tie; the counts matter only when both are "all"). Returns 0 and sets *kind, or -EINVAL for "auto" with both
 * lists explicit (config_load() refuses that) or per_batch 0.
 */
int resource_kind_choose(enum report_resources setting, bool all_queues, bool all_fleets, size_t n_queues,
	size_t n_fleets, size_t per_batch, enum resource_kind *kind);

/* Number of lowercase hex digits after the prefix of an id (farm, queue, fleet, aggregation). */
#define MODEL_ID_HEX_DIGITS 32

/*
 * Length of the well-formed UTF-8 sequence at p (at most n bytes, n > 0), or 0 with *bad set to the length of
 * its maximal ill-formed subpart, which stands for one U+FFFD (Unicode's recommended practice).
 */
size_t model_utf8_sequence(const unsigned char *p, size_t n, size_t *bad);

/*
 * Copies the UTF-8 sequence at p + *i (i < n) to o, or U+FFFD (3 bytes) for an ill-formed one, and advances
 * *i past what it read. Returns the bytes written (at most 4; o needs room for them).
 */
size_t model_utf8_put(char *o, const unsigned char *p, size_t n, size_t *i);

/* True when s is well-formed UTF-8 (no overlong forms, surrogates or code points beyond U+10FFFF). */
bool model_utf8_valid(const char *s);

/* A malloc'd copy of s with each ill-formed subpart replaced by U+FFFD; NULL when out of memory. */
char *model_utf8_sanitize(const char *s);

/*
 * Checks an id: prefix ("farm-", "queue-", "fleet-") followed by exactly 32 lowercase hex digits.
 * Returns 0 when the id is valid, -EINVAL otherwise (so "if (model_id_valid(...) < 0) reject").
 */
int model_id_valid(const char *id, const char *prefix);
