/* usage_labels: a report's groups merged exactly by the labels derived from job and queue names (labels, keep) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "metrics/usage.h"

/*
 * Where the rules whose source is queue_name find a group's queue name: name_of(ctx, g) for a group g of the
 * report's table (by its QUEUE_ID value, or its job's queue), or NULL when it is not known (those rules then give
 * their default). The string must stay valid until usage_labels_merge() returns; equal names should be the same
 * pointer (the derived values are then computed once per queue).
 */
struct usage_queue_source {
	const char *(*name_of)(void *ctx, const struct usage_group *g);
	void *ctx;
};

/* What a merge did besides merging, for the caller's log line. */
struct usage_labels_stats {
	size_t groups_in, groups_out;
	size_t queue_unknown; /* groups whose queue name a rule needed but which was not known */
	size_t defaulted; /* groups with a value defaulted for a regex that could not run, or a value too long */
	size_t regex_runs; /* rules applied (the others reused the value of the same name) */
};

/*
 * The groups of src (a table of r's group_by) merged exactly, by the rules of usage_table_merge(), into a new table
 * *out keyed by (the values r->labels derive from each group's job name and queue name, in the rules' order; then
 * the values of the group_by fields r keeps, in group_by order). Its groups keep a job name only when JOB_ID is
 * kept. queue may be NULL (no queue names known). The regexes run once per distinct source value. src is sorted
 * (usage_table_groups()), not changed. Returns 0, -EINVAL (r without labels, src not keyed by r's group_by) or
 * -ENOMEM; stats (or NULL) is filled on success.
 */
int usage_labels_merge(struct usage_table **out, struct usage_table *src, const struct report_config *r,
	const struct usage_queue_source *queue, struct usage_labels_stats *stats);

/*
 * The labels of the key of r's published table (usage_labels_merge()'s with labels, the group_by's without), for the
 * renderer: how many, and the name of value k (a rule's label, or a field's: "queue_id"…) with *job_name set when the
 * job's name follows it (JOB_ID shown). NULL for k past the key.
 */
size_t usage_labels_key_width(const struct report_config *r);
const char *usage_labels_key_label(const struct report_config *r, size_t k, bool *job_name);
