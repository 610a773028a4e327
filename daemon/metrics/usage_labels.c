/* usage_labels: a report's groups merged exactly by the labels derived from job and queue names (labels, keep) */
#include "metrics/usage_labels.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*
 * The rules of one source, applied by a matcher of their own: the values it derived stay valid while the other
 * source's matcher runs, so a group whose source value is the previous group's reuses them without running a regex.
 * The table is sorted by its key, so the groups of one job (JOB_ID with USAGE_TYPE…) and, without JOB_ID, of one
 * queue come one after the other.
 */
struct source_rules {
	struct relabel_rule rules[CONFIG_REPORT_LABELS_MAX]; /* shallow copies: the programs stay r's */
	size_t at[CONFIG_REPORT_LABELS_MAX]; /* each one's index in r->labels */
	size_t n;
	struct relabel_matcher *m;
	const char *values[CONFIG_REPORT_LABELS_MAX];
	const char *last; /* the source value values were derived from */
	bool have_last, last_defaulted;
};

struct merge {
	const struct report_config *r;
	const struct usage_queue_source *queue;
	struct source_rules by_source[RELABEL_SOURCE_COUNT];
	size_t kept[2]; /* indexes in group_by of the fields kept */
	size_t n_kept;
	bool job_kept;
	struct usage_labels_stats stats;
};

static void merge_deinit(struct merge *mg)
{
	for (size_t s = 0; s < RELABEL_SOURCE_COUNT; s++)
		relabel_matcher_free(mg->by_source[s].m);
}

/* Splits r's rules by source, each set with its matcher; notes the fields kept. Returns 0 or -ENOMEM. */
static int merge_init(struct merge *mg, const struct report_config *r, const struct usage_queue_source *queue)
{
	memset(mg, 0, sizeof(*mg));
	mg->r = r;
	mg->queue = queue;
	for (size_t i = 0; i < r->n_labels; i++) {
		struct source_rules *sr = &mg->by_source[r->labels[i].source];
		sr->rules[sr->n] = r->labels[i];
		sr->at[sr->n++] = i;
	}
	for (size_t s = 0; s < RELABEL_SOURCE_COUNT; s++) {
		struct source_rules *sr = &mg->by_source[s];
		if (sr->n && relabel_matcher_new(&sr->m, sr->rules, sr->n) < 0)
			return -ENOMEM;
	}
	for (size_t k = 0; k < r->n_group_by; k++) {
		if (!config_report_keeps(r, r->group_by[k]))
			continue;
		mg->kept[mg->n_kept++] = k;
		if (r->group_by[k] == GROUP_JOB_ID)
			mg->job_kept = true;
	}
	return 0;
}

/*
 * The derived values of source s for the value v (NULL: unknown) into key (at the rules' indexes), running the
 * regexes only when v is not the value of the previous call. Returns 0, RELABEL_DEFAULTED or -ENOMEM.
 */
static int source_values(struct merge *mg, enum relabel_source s, const char *v, const char **key)
{
	struct source_rules *sr = &mg->by_source[s];
	const char *sources[RELABEL_SOURCE_COUNT] = {NULL};
	int r;

	if (!sr->n)
		return 0;
	/* Strings of one table are interned, and the queue names come from one list: equal values, equal pointers. */
	if (!sr->have_last || sr->last != v) {
		sources[s] = v;
		r = relabel_apply(sr->m, sources, sr->values);
		if (r < 0)
			return r;
		sr->last = v;
		sr->have_last = true;
		sr->last_defaulted = r == RELABEL_DEFAULTED;
		mg->stats.regex_runs += sr->n;
	}
	for (size_t i = 0; i < sr->n; i++)
		key[sr->at[i]] = sr->values[i];
	return sr->last_defaulted ? RELABEL_DEFAULTED : 0;
}

/* Group g's key in the derived table: the derived values, then the kept fields'. Returns 0 or -ENOMEM. */
static int group_key(struct merge *mg, const struct usage_group *g, const char **key)
{
	const char *queue_name = NULL;
	bool defaulted = false;
	int r;

	r = source_values(mg, RELABEL_SOURCE_JOB_NAME, g->job_name, key);
	if (r < 0)
		return r;
	defaulted = r == RELABEL_DEFAULTED;
	if (mg->by_source[RELABEL_SOURCE_QUEUE_NAME].n) {
		if (mg->queue && mg->queue->name_of)
			queue_name = mg->queue->name_of(mg->queue->ctx, g);
		if (!queue_name)
			mg->stats.queue_unknown++;
		r = source_values(mg, RELABEL_SOURCE_QUEUE_NAME, queue_name, key);
		if (r < 0)
			return r;
		defaulted |= r == RELABEL_DEFAULTED;
	}
	if (defaulted)
		mg->stats.defaulted++;
	for (size_t i = 0; i < mg->n_kept; i++)
		key[mg->r->n_labels + i] = g->values[mg->kept[i]];
	return 0;
}

int usage_labels_merge(struct usage_table **out, struct usage_table *src, const struct report_config *r,
	const struct usage_queue_source *queue, struct usage_labels_stats *stats)
{
	enum group_field kept_fields[2];
	const struct usage_group *const *groups;
	struct usage_table *t = NULL;
	struct merge mg;
	size_t n;
	int ret;

	if (!out || !r || !r->n_labels || r->n_labels > CONFIG_REPORT_LABELS_MAX ||
		!usage_table_keyed_by(src, 0, r->group_by, r->n_group_by))
		return -EINVAL;
	*out = NULL;
	ret = merge_init(&mg, r, queue);
	if (ret < 0)
		goto out;
	for (size_t i = 0; i < mg.n_kept; i++)
		kept_fields[i] = r->group_by[mg.kept[i]];
	ret = usage_table_new_derived(&t, r->n_labels, kept_fields, mg.n_kept);
	if (ret < 0)
		goto out;
	n = usage_table_groups(src, &groups);
	for (size_t i = 0; i < n; i++) {
		const char *key[USAGE_KEY_MAX];

		ret = group_key(&mg, groups[i], key);
		if (ret == 0)
			ret = usage_table_combine(t, groups[i], key, mg.job_kept ? groups[i]->job_name : NULL);
		if (ret < 0)
			goto out;
	}
	mg.stats.groups_in = n;
	mg.stats.groups_out = usage_table_size(t);
	if (stats)
		*stats = mg.stats;
	*out = t;
	t = NULL;
out:
	merge_deinit(&mg);
	usage_table_free(t);
	return ret;
}

size_t usage_labels_key_width(const struct report_config *r)
{
	size_t n = r->n_labels;

	for (size_t k = 0; k < r->n_group_by; k++)
		n += config_report_keeps(r, r->group_by[k]);
	return n;
}

const char *usage_labels_key_label(const struct report_config *r, size_t k, bool *job_name)
{
	*job_name = false;
	if (k < r->n_labels)
		return r->labels[k].label;
	k -= r->n_labels;
	for (size_t i = 0; i < r->n_group_by; i++) {
		if (!config_report_keeps(r, r->group_by[i]))
			continue;
		if (k-- == 0) {
			*job_name = r->group_by[i] == GROUP_JOB_ID;
			return group_field_label(r->group_by[i]);
		}
	}
	return NULL;
}
