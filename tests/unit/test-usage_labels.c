/* test-usage_labels: groups merged exactly by derived labels (job and queue names), keep, defaults, reuse of values */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config_cases.h"
#include "metrics/usage_labels.h"
#include "test.h"

#define CHECK_DBL(a, b) \
	do { \
		double check_x_ = (a), check_y_ = (b); \
		CHECK_MSG(check_x_ == check_y_ || fabs(check_x_ - check_y_) <= 1e-12 * fabs(check_y_), \
			"got %.17g, expected %.17g", check_x_, check_y_); \
	} while (0)

#define FARM "farms = ( { id = \"" CASES_FARM_ID "\"; } );\n"
#define SHOW_RULE \
	"{ label = \"show\"; source = \"job_name\"; regex = \"([a-z0-9]+)_.*\"; replacement = \"$1\"; " \
	"default = \"unknown\"; }"
#define DEPT_RULE \
	"{ label = \"department\"; source = \"job_name\"; regex = \".*_(anim|comp|fx|lgt|lookdev)_.*\"; " \
	"replacement = \"$1\"; default = \"other\"; }"
#define PROD_RULE \
	"{ label = \"production\"; source = \"queue_name\"; regex = \"(.+) - .*\"; replacement = \"$1\"; " \
	"default = \"unknown\"; }"
#define REPORT(group_by, labels, extra) \
	FARM "reports = ( { name = \"r\"; window = \"month\"; group_by = [ " group_by " ]; labels = ( " labels \
	     " ); " extra " } );\n"

/* One row of the source table: job id and name, queue, usage type, and its figures. */
struct src_row {
	const char *job_id, *job_name, *queue_id, *usage_type;
	int64_t count;
	double sum, min, max;
};

static const struct src_row rows[] = {
	{"job-1", "harbor_sh0393_lgt_v012", "queue-a", "COMPUTE", 2, 3.0, 1.0, 2.0},
	{"job-1", "harbor_sh0393_lgt_v012", "queue-a", "LICENSE", 1, 0.5, 0.5, 0.5},
	{"job-2", "harbor_sh0400_comp_v001", "queue-a", "COMPUTE", 3, 9.0, 0.5, 6.0},
	{"job-3", "aurora_sh0001_fx_v003", "queue-b", "COMPUTE", 1, 0.25, 0.25, 0.25},
	{"job-4", "Turntable Harbor sh0393", "queue-b", "COMPUTE", 4, 4.0, 0.75, 1.25},
	{"job-5", "aurora_sh0002_layout_v001", "queue-c", "COMPUTE", 5, 10.0, 1.0, 7.5},
	{"job-6", "harbor_sh0393_lgt_v012", "queue-x", "COMPUTE", 6, 1.5, 0.125, 0.5}, /* a resubmit: same name */
};
#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

/* The inventory's names: queue-x has none (deleted, or not listed yet). */
static const char *const queue_names[][2] = {
	{"queue-a", "Harbor - Lighting"},
	{"queue-b", "Aurora - FX"},
	{"queue-c", "Scratch queue 09"},
};

/* The test's job -> queue map and its calls: name_of() for a table grouped by JOB_ID (and not QUEUE_ID). */
struct lookup {
	const struct report_config *r;
	size_t calls;
};

static const char *queue_name_of_id(const char *queue_id)
{
	for (size_t i = 0; queue_id && i < sizeof(queue_names) / sizeof(queue_names[0]); i++)
		if (strcmp(queue_names[i][0], queue_id) == 0)
			return queue_names[i][1];
	return NULL;
}

static const char *name_of(void *ctx, const struct usage_group *g)
{
	struct lookup *l = ctx;
	const char *queue_id = NULL;

	l->calls++;
	for (size_t k = 0; k < l->r->n_group_by; k++) {
		if (l->r->group_by[k] == GROUP_QUEUE_ID)
			queue_id = g->values[k];
		for (size_t i = 0; !queue_id && l->r->group_by[k] == GROUP_JOB_ID && i < N_ROWS; i++)
			if (strcmp(rows[i].job_id, g->values[k]) == 0)
				queue_id = rows[i].queue_id;
	}
	return queue_name_of_id(queue_id);
}

/* The table of r's group_by made from rows (as the batches of a refresh would merge them). */
static struct usage_table *source_table(const struct report_config *r)
{
	struct usage_table *t = NULL;

	CHECK_INT(usage_table_new(&t, r->group_by, r->n_group_by), 0);
	for (size_t i = 0; t && i < N_ROWS; i++) {
		struct usage_row row = {0};
		row.fields[GROUP_JOB_ID] = (char *)rows[i].job_id;
		row.fields[GROUP_QUEUE_ID] = (char *)rows[i].queue_id;
		row.fields[GROUP_USAGE_TYPE] = (char *)rows[i].usage_type;
		row.job_name = (char *)rows[i].job_name;
		row.count = rows[i].count;
		row.cost.present = STAT_SUM | STAT_MIN | STAT_MAX;
		row.cost.sum = rows[i].sum;
		row.cost.min = rows[i].min;
		row.cost.max = rows[i].max;
		row.runtime.present = STAT_SUM;
		row.runtime.sum = rows[i].sum * 3600;
		CHECK_INT(usage_table_add(t, &row), 0);
	}
	return t;
}

/* The merged group of a key (n values), or NULL. */
static const struct usage_group *find(struct usage_table *t, const char *const *key, size_t n)
{
	const struct usage_group *const *groups;
	size_t count = usage_table_groups(t, &groups);

	for (size_t i = 0; i < count; i++) {
		size_t k = 0;
		while (k < n && strcmp(groups[i]->values[k], key[k]) == 0)
			k++;
		if (k == n)
			return groups[i];
	}
	return NULL;
}

/* What the rows that make a group add up to: the test's own sums over the rows it names. */
struct expect {
	const char *key[4];
	unsigned rows; /* bit i: rows[i] */
};

static void check_group(struct usage_table *t, const struct expect *e, size_t n_key)
{
	const struct usage_group *g = find(t, e->key, n_key);
	int64_t count = 0;
	double sum = 0, min = INFINITY, max = -INFINITY;

	CHECK_MSG(g != NULL, "no group %s/%s/%s", e->key[0], n_key > 1 ? e->key[1] : "", n_key > 2 ? e->key[2] : "");
	if (!g)
		return;
	for (size_t i = 0; i < N_ROWS; i++) {
		if (!(e->rows & (1u << i)))
			continue;
		count += rows[i].count;
		sum += rows[i].sum;
		min = fmin(min, rows[i].min);
		max = fmax(max, rows[i].max);
	}
	CHECK_INT(g->count, count);
	CHECK_DBL(g->cost.sum, sum);
	CHECK_DBL(g->cost.min, min);
	CHECK_DBL(g->cost.max, max);
	CHECK_DBL(g->runtime.sum, sum * 3600);
	CHECK_DBL(usage_group_avg(g, &g->cost), sum / (double)count);
	CHECK_INT(g->cost.present, STAT_SUM | STAT_MIN | STAT_MAX);
	CHECK_INT(g->runtime.present, STAT_SUM);
}

/* The contract's example: show and department from the job's name, production from its queue's, USAGE_TYPE kept. */
static void test_by_show(void)
{
	struct config *cfg = config_cases_load(REPORT(
		"\"JOB_ID\", \"USAGE_TYPE\"", SHOW_RULE ", " DEPT_RULE ", " PROD_RULE, "keep = [ \"USAGE_TYPE\" ];"));
	struct usage_table *src = NULL, *out = NULL;
	struct usage_labels_stats st;
	static const struct expect want[] = {
		{{"harbor", "lgt", "Harbor", "COMPUTE"}, 1u << 0}, {{"harbor", "lgt", "Harbor", "LICENSE"}, 1u << 1},
		{{"harbor", "comp", "Harbor", "COMPUTE"}, 1u << 2}, {{"aurora", "fx", "Aurora", "COMPUTE"}, 1u << 3},
		{{"unknown", "other", "Aurora", "COMPUTE"}, 1u << 4}, /* "Turntable Harbor sh0393": no match */
		{{"aurora", "other", "unknown", "COMPUTE"}, 1u << 5}, /* layout: not a department; a scratch queue */
		{{"harbor", "lgt", "unknown", "COMPUTE"}, 1u << 6}, /* queue-x has no name */
	};

	if (!cfg)
		return;
	struct lookup l = {.r = &cfg->reports[0]};
	struct usage_queue_source qs = {.name_of = name_of, .ctx = &l};
	src = source_table(&cfg->reports[0]);
	CHECK_INT(usage_labels_merge(&out, src, &cfg->reports[0], &qs, &st), 0);
	CHECK_INT(usage_table_size(out), sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; out && i < sizeof(want) / sizeof(want[0]); i++)
		check_group(out, &want[i], 4);
	CHECK_INT(st.groups_in, N_ROWS);
	CHECK_INT(st.groups_out, sizeof(want) / sizeof(want[0]));
	CHECK_INT(st.queue_unknown, 1);
	CHECK_INT(st.defaulted, 0);
	CHECK_INT(l.calls, N_ROWS);
	/* No job_name without JOB_ID kept. */
	const struct usage_group *const *groups;
	for (size_t i = 0; i < usage_table_groups(out, &groups); i++)
		CHECK_STR(groups[i]->job_name, "");
	usage_table_free(out);
	usage_table_free(src);
	config_free(cfg);
}

/* Without keep only the derived labels stay: the usage types merge too, exactly. */
static void test_no_keep(void)
{
	struct config *cfg = config_cases_load(REPORT("\"JOB_ID\", \"USAGE_TYPE\"", SHOW_RULE, ""));
	struct usage_table *src = NULL, *out = NULL;
	static const struct expect want[] = {
		{{"harbor"}, 1u << 0 | 1u << 1 | 1u << 2 | 1u << 6},
		{{"aurora"}, 1u << 3 | 1u << 5},
		{{"unknown"}, 1u << 4},
	};

	if (!cfg)
		return;
	src = source_table(&cfg->reports[0]);
	CHECK_INT(usage_labels_merge(&out, src, &cfg->reports[0], NULL, NULL), 0);
	CHECK_INT(usage_table_size(out), 3);
	for (size_t i = 0; out && i < sizeof(want) / sizeof(want[0]); i++)
		check_group(out, &want[i], 1);
	/* The sessions and the cost of the whole table are those of the rows. */
	const struct usage_group *const *groups;
	int64_t count = 0;
	for (size_t i = 0; i < usage_table_groups(out, &groups); i++)
		count += groups[i]->count;
	CHECK_INT(count, 2 + 1 + 3 + 1 + 4 + 5 + 6);
	usage_table_free(out);
	usage_table_free(src);
	config_free(cfg);
}

/* keep JOB_ID: the job's id and name stay beside the derived label (one group per job and show). */
static void test_keep_job(void)
{
	struct config *cfg =
		config_cases_load(REPORT("\"USAGE_TYPE\", \"JOB_ID\"", SHOW_RULE, "keep = [ \"JOB_ID\" ];"));
	struct usage_table *src = NULL, *out = NULL;
	static const struct expect want[] = {
		{{"harbor", "job-1"}, 1u << 0 | 1u << 1},
		{{"harbor", "job-2"}, 1u << 2},
		{{"unknown", "job-4"}, 1u << 4},
	};

	if (!cfg)
		return;
	src = source_table(&cfg->reports[0]);
	CHECK_INT(usage_labels_merge(&out, src, &cfg->reports[0], NULL, NULL), 0);
	CHECK_INT(usage_table_size(out), 6);
	for (size_t i = 0; out && i < sizeof(want) / sizeof(want[0]); i++)
		check_group(out, &want[i], 2);
	const char *key[] = {"unknown", "job-4"};
	const struct usage_group *g = out ? find(out, key, 2) : NULL;
	CHECK(g && strcmp(g->job_name, "Turntable Harbor sh0393") == 0);
	usage_table_free(out);
	usage_table_free(src);
	config_free(cfg);
}

/* QUEUE_ID grouped: the queue name by the group's own queue id; the regexes run once per queue, not per group. */
static void test_queue_direct(void)
{
	struct config *cfg = config_cases_load(REPORT("\"QUEUE_ID\", \"USAGE_TYPE\"", PROD_RULE, ""));
	struct usage_table *src = NULL, *out = NULL;
	struct usage_labels_stats st;
	static const struct expect want[] = {
		{{"Harbor"}, 1u << 0 | 1u << 1 | 1u << 2},
		{{"Aurora"}, 1u << 3 | 1u << 4},
		{{"unknown"}, 1u << 5 | 1u << 6},
	};

	if (!cfg)
		return;
	struct lookup l = {.r = &cfg->reports[0]};
	struct usage_queue_source qs = {.name_of = name_of, .ctx = &l};
	src = source_table(&cfg->reports[0]);
	CHECK_INT(usage_labels_merge(&out, src, &cfg->reports[0], &qs, &st), 0);
	CHECK_INT(usage_table_size(out), 3);
	for (size_t i = 0; out && i < sizeof(want) / sizeof(want[0]); i++)
		check_group(out, &want[i], 1);
	/* 5 groups (queue-a x2 usage types, queue-b, queue-c, queue-x) sorted by queue: one run per queue */
	CHECK_INT(st.groups_in, 5);
	CHECK_INT(st.regex_runs, 4);
	CHECK_INT(st.queue_unknown, 1);
	usage_table_free(out);
	usage_table_free(src);
	config_free(cfg);
}

/* A job whose groups follow one another (JOB_ID first) is matched once; the same name again is matched again. */
static void test_reuse(void)
{
	struct config *cfg = config_cases_load(REPORT("\"JOB_ID\", \"USAGE_TYPE\"", SHOW_RULE ", " DEPT_RULE, ""));
	struct usage_table *src = NULL, *out = NULL;
	struct usage_labels_stats st;

	if (!cfg)
		return;
	src = source_table(&cfg->reports[0]);
	CHECK_INT(usage_labels_merge(&out, src, &cfg->reports[0], NULL, &st), 0);
	/* 7 groups of 6 jobs: two rules for each job */
	CHECK_INT(st.groups_in, 7);
	CHECK_INT(st.regex_runs, 6 * 2);
	CHECK_INT(st.queue_unknown, 0);
	usage_table_free(out);
	usage_table_free(src);
	config_free(cfg);
}

/* A value that would be too long falls back to the default, and is counted. */
static void test_defaulted(void)
{
	char text[4096];
	struct config *cfg;
	struct usage_table *src = NULL, *out = NULL;
	struct usage_labels_stats st;

	/* "$1" 200 times: 200 times a name of 22 bytes is more than 4096 bytes */
	char repl[2 * 200 + 1] = "";
	for (size_t i = 0; i < 200; i++)
		strcat(repl, "$1");
	snprintf(text, sizeof(text),
		REPORT("\"JOB_ID\"",
			"{ label = \"long\"; source = \"job_name\"; regex = \"(.*)\"; replacement = \"%s\"; "
			"default = \"too-long\"; }",
			""),
		repl);
	cfg = config_cases_load(text);
	if (!cfg)
		return;
	src = source_table(&cfg->reports[0]);
	CHECK_INT(usage_labels_merge(&out, src, &cfg->reports[0], NULL, &st), 0);
	/* every name is over 4096/200 bytes but "aurora_sh0001_fx_v003" (21 x 200 = 4200 too): all default */
	CHECK_INT(usage_table_size(out), 1);
	CHECK_INT(st.defaulted, 6);
	const char *key[] = {"too-long"};
	CHECK(out && find(out, key, 1) != NULL);
	usage_table_free(out);
	usage_table_free(src);
	config_free(cfg);
}

static void test_invalid(void)
{
	struct config *cfg = config_cases_load(REPORT("\"JOB_ID\", \"USAGE_TYPE\"", SHOW_RULE, ""));
	struct config *plain = config_cases_load(FARM
		"reports = ( { name = \"r\"; window = \"month\"; group_by = [ \"JOB_ID\", \"USAGE_TYPE\" ]; } );\n");
	enum group_field other[2] = {GROUP_USAGE_TYPE, GROUP_JOB_ID};
	struct usage_table *src = NULL, *t = NULL, *out = (struct usage_table *)1;

	if (!cfg || !plain)
		goto out;
	src = source_table(&cfg->reports[0]);
	CHECK_INT(usage_labels_merge(&out, src, &plain->reports[0], NULL, NULL), -EINVAL);
	CHECK_INT(usage_table_new(&t, other, 2), 0);
	CHECK_INT(usage_labels_merge(&out, t, &cfg->reports[0], NULL, NULL), -EINVAL);
	CHECK_INT(usage_labels_merge(&out, NULL, &cfg->reports[0], NULL, NULL), -EINVAL);
	CHECK(out == (struct usage_table *)1);
	/* A table of derived labels takes groups, not rows, and merges only with one of its shape. */
	CHECK_INT(usage_labels_merge(&out, src, &cfg->reports[0], NULL, NULL), 0);
	if (out) {
		struct usage_row row = {0};
		CHECK_INT(usage_table_add(out, &row), -EINVAL);
		CHECK_INT(usage_table_merge(out, src), -EINVAL);
		CHECK_INT(usage_table_merge(src, out), -EINVAL);
		CHECK(usage_table_keyed_by(out, 1, NULL, 0));
		CHECK(!usage_table_keyed_by(out, 0, NULL, 0));
	}
	usage_table_free(out);
	/* the same group-by fields, one table keyed by a derived label first: not one shape */
	{
		struct config *both = config_cases_load(
			REPORT("\"JOB_ID\", \"USAGE_TYPE\"", SHOW_RULE, "keep = [ \"JOB_ID\", \"USAGE_TYPE\" ];"));
		struct usage_table *d = NULL;
		if (both) {
			CHECK_INT(usage_labels_merge(&d, src, &both->reports[0], NULL, NULL), 0);
			CHECK_INT(usage_table_merge(d, src), -EINVAL);
			CHECK_INT(usage_table_merge(src, d), -EINVAL);
		}
		usage_table_free(d);
		config_free(both);
	}
	CHECK_INT(usage_table_new_derived(&t, 0, other, 1), -EINVAL);
	CHECK_INT(usage_table_new_derived(&t, USAGE_KEY_MAX - 1, other, 2), -EINVAL);
out:
	usage_table_free(t);
	usage_table_free(src);
	config_free(cfg);
	config_free(plain);
}

/* Two refreshes' worth of derived tables merge like any two tables of one shape; a limit folds whole keys. */
static void test_derived_merge_and_top(void)
{
	struct config *cfg =
		config_cases_load(REPORT("\"JOB_ID\", \"USAGE_TYPE\"", SHOW_RULE, "keep = [ \"USAGE_TYPE\" ];"));
	struct usage_table *src = NULL, *a = NULL, *b = NULL, *top = NULL;
	const struct usage_group *const *groups;

	if (!cfg)
		return;
	src = source_table(&cfg->reports[0]);
	CHECK_INT(usage_labels_merge(&a, src, &cfg->reports[0], NULL, NULL), 0);
	CHECK_INT(usage_labels_merge(&b, src, &cfg->reports[0], NULL, NULL), 0);
	CHECK_INT(usage_table_merge(a, b), 0);
	/* a table keyed like a derived one takes its groups */
	{
		struct usage_table *like = NULL;
		CHECK_INT(usage_table_new_like(&like, a), 0);
		CHECK_INT(usage_table_key_width(like), 2);
		CHECK_INT(usage_table_key_width(src), 2);
		CHECK(usage_table_keyed_by(like, 1, &(enum group_field){GROUP_USAGE_TYPE}, 1));
		CHECK_INT(usage_table_merge(like, a), 0);
		CHECK_INT(usage_table_size(like), usage_table_size(a));
		usage_table_free(like);
		CHECK_INT(usage_table_new_like(&like, NULL), -EINVAL);
		CHECK_INT(usage_table_key_width(NULL), 0);
	}
	const char *key[] = {"harbor", "COMPUTE"};
	const struct usage_group *g = a ? find(a, key, 2) : NULL;
	CHECK(g && g->count == 2 * (2 + 3 + 6));
	CHECK_INT(usage_table_top(&top, a, 1, USAGE_RANK_COST), 0);
	CHECK_INT(usage_table_groups(top, &groups), 2);
	if (top && usage_table_size(top) == 2) {
		CHECK_STR(groups[0]->values[0], USAGE_OTHER);
		CHECK_STR(groups[0]->values[1], USAGE_OTHER);
		CHECK_STR(groups[1]->values[0], "harbor");
	}
	usage_table_free(top);
	usage_table_free(a);
	usage_table_free(b);
	usage_table_free(src);
	config_free(cfg);
}

int main(void)
{
	test_by_show();
	test_no_keep();
	test_keep_job();
	test_queue_direct();
	test_reuse();
	test_defaulted();
	test_invalid();
	test_derived_merge_and_top();
	TEST_DONE();
}
