/* usage: statistics rows as the API returns them, and the table that merges them per group */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/model.h"

/* The most values a group's key holds: the derived labels of reports[].labels, then the group-by fields kept. */
#define USAGE_KEY_MAX (CONFIG_REPORT_LABELS_MAX + 2)

/* One of costInUsd / runtimeInSeconds. present: enum statistic bits of the members that were there. */
struct usage_stats {
	double sum, min, max, avg;
	unsigned present;
};

/* One row of GetSessionsStatisticsAggregation's statistics list. Strings may be NULL (absent). */
struct usage_row {
	char *fields[GROUP_FIELD_COUNT]; /* queueId, fleetId, jobId, userId, usageType, instanceType, licenseProduct */
	char *job_name;
	int64_t count;
	struct usage_stats cost;
	struct usage_stats runtime;
};

void usage_row_deinit(struct usage_row *row);

/*
 * The merged figures of one group (one set of group-by values).
 * count and sum add up, min/max take the extreme; avg is Σsum/Σcount when every row had a sum,
 * else Σ(avg·count)/Σcount (see usage_group_avg()).
 */
struct usage_group {
	const char *job_name; /* when JOB_ID is in the key: the first non-empty name seen, else "" */
	int64_t count;
	struct usage_merged {
		double sum, min, max;
		double avg_weighted; /* Σ(avg·count) */
		double avg_plain; /* Σavg, for groups whose count is 0 */
		size_t n_rows;
		unsigned present; /* statistics seen in every row (AND) */
	} cost, runtime;
	size_t n_values; /* the table's key width: n_group_by, or the derived labels and the kept fields */
	/*
	 * The key, "" when absent: the report's group-by values in group_by order, or in a table of derived labels
	 * (usage_labels.h) the derived values in the rules' order, then the kept fields' in group_by order. At least
	 * two entries (unused ones "").
	 */
	const char *values[];
};

/* The merged average of one figure (NaN when nothing to average). */
double usage_group_avg(const struct usage_group *g, const struct usage_merged *m);

struct usage_table;

/* group_by: the report's fields (1 or 2). */
int usage_table_new(struct usage_table **out, const enum group_field *group_by, size_t n_group_by);

/*
 * A table keyed by n_derived values of the caller's (labels derived from names, 1 to CONFIG_REPORT_LABELS_MAX)
 * followed by the values of fields (0 to 2 group-by fields); rows cannot be added to it, only groups
 * (usage_table_combine()). The groups keep a job name only when fields holds JOB_ID. Returns 0, -EINVAL or -ENOMEM.
 */
int usage_table_new_derived(
	struct usage_table **out, size_t n_derived, const enum group_field *fields, size_t n_fields);
/* A new empty table keyed as t is (its groups take the same values). Returns 0, -EINVAL or -ENOMEM. */
int usage_table_new_like(struct usage_table **out, const struct usage_table *t);
/* How many values a group's key holds in t (the group-by fields, or the derived labels and the kept fields); 0 for
 * NULL. */
size_t usage_table_key_width(const struct usage_table *t);
void usage_table_free(struct usage_table *t);

/* Merges row into its group (strings are copied/interned). Returns 0, -EINVAL (a table of derived labels) or -ENOMEM.
 */
int usage_table_add(struct usage_table *t, const struct usage_row *row);

/*
 * Merges every group of src into dst (same group-by fields), by the same rules as rows: used to
 * add a finished batch to a refresh, so a batch that had to start again never counts twice.
 * Returns 0, -EINVAL (different group-by fields) or -ENOMEM.
 */
int usage_table_merge(struct usage_table *dst, const struct usage_table *src);

/*
 * Merges group g (of any table) into dst's group of the given key (dst's key width of values, copied; "" for an
 * absent one), by the same rules as usage_table_merge(); job_name (or NULL) is offered as the group's job name when
 * dst keeps one. Returns 0, -EINVAL or -ENOMEM.
 */
int usage_table_combine(
	struct usage_table *dst, const struct usage_group *g, const char *const *values, const char *job_name);

size_t usage_table_size(const struct usage_table *t);

/* Whether t is keyed by n_derived values of the caller's, then the values of fields[0..n_fields). */
bool usage_table_keyed_by(
	const struct usage_table *t, size_t n_derived, const enum group_field *fields, size_t n_fields);

/* How usage_table_top() ranks the groups. */
enum usage_rank {
	USAGE_RANK_COST, /* the largest cost sum first (a group without one last) */
	USAGE_RANK_SESSIONS, /* the largest session count first */
};

/* Every group-by value (and the job name) of the group that holds the groups past a limit. */
#define USAGE_OTHER "__other__"

/*
 * The limit groups of src that rank first (ties in label order) kept as they are, and every other merged into
 * one group whose values and job name are USAGE_OTHER, by the same rules as usage_table_merge(). *out is a new
 * table (src is only sorted). Returns 0, -EINVAL (limit 0) or -ENOMEM.
 */
int usage_table_top(struct usage_table **out, struct usage_table *src, size_t limit, enum usage_rank rank);

/*
 * The groups in a stable order (sorted by their values), valid until the next add or free.
 * Returns the number of groups; *groups points into the table.
 */
size_t usage_table_groups(struct usage_table *t, const struct usage_group *const **groups);
