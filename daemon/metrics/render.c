/* render: usage figures as a section of the usage kind, a large report on several threads, each segment compressed when
 * full */
#include "metrics/render.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/model.h"
#include "metrics/deflate_join.h"
#include "metrics/usage_labels.h"

/* The usage kind's families, in output order: gauges, and a counter report's counters. */
#define FAMILY(f, n, h) [f] = {.name = n, .type = EXPOSITION_GAUGE, .help = h}
#define COUNTER(f, n, h) [f] = {.name = n, .type = EXPOSITION_COUNTER, .help = h}
/* What every counter's help says of its window. */
#define WINDOW_TO_DATE \
	" in the report's calendar window to date (window-to-date, resets at the window's boundary; see " \
	"deadline_cloud_usage_window_*_timestamp_seconds): never decreases within a window, so increase() over a " \
	"range is that range's figure."

static const struct exposition_family usage_families[USAGE_FAMILY_COUNT] = {
	FAMILY(USAGE_FAMILY_COST, "deadline_cloud_usage_cost_usd",
		"Total cost in US dollars of the group's sessions (the sum of costInUsd, Deadline Cloud's estimate) "
		"over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(USAGE_FAMILY_COST_MIN, "deadline_cloud_usage_session_cost_min_usd",
		"Cost in US dollars of the group's cheapest session over the report's window (see "
		"deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(USAGE_FAMILY_COST_MAX, "deadline_cloud_usage_session_cost_max_usd",
		"Cost in US dollars of the group's most expensive session over the report's window (see "
		"deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(USAGE_FAMILY_COST_AVG, "deadline_cloud_usage_session_cost_avg_usd",
		"Average cost in US dollars of one of the group's sessions over the report's window (see "
		"deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(USAGE_FAMILY_RUNTIME, "deadline_cloud_usage_runtime_seconds",
		"Total run time in seconds of the group's sessions (the sum of runtimeInSeconds) over the report's "
		"window (see deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(USAGE_FAMILY_RUNTIME_MIN, "deadline_cloud_usage_session_runtime_min_seconds",
		"Run time in seconds of the group's shortest session over the report's window (see "
		"deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(USAGE_FAMILY_RUNTIME_MAX, "deadline_cloud_usage_session_runtime_max_seconds",
		"Run time in seconds of the group's longest session over the report's window (see "
		"deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(USAGE_FAMILY_RUNTIME_AVG, "deadline_cloud_usage_session_runtime_avg_seconds",
		"Average run time in seconds of one of the group's sessions over the report's window (see "
		"deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(USAGE_FAMILY_SESSIONS, "deadline_cloud_usage_sessions",
		"Number of the group's sessions over the report's window (see "
		"deadline_cloud_usage_window_*_timestamp_seconds)."),
	COUNTER(USAGE_FAMILY_COST_TOTAL, "deadline_cloud_usage_cost_usd_total",
		"Total cost in US dollars of the group's sessions (the sum of costInUsd, Deadline Cloud's "
		"estimate)" WINDOW_TO_DATE),
	COUNTER(USAGE_FAMILY_RUNTIME_TOTAL, "deadline_cloud_usage_runtime_seconds_total",
		"Total run time in seconds of the group's sessions (the sum of runtimeInSeconds)" WINDOW_TO_DATE),
	COUNTER(USAGE_FAMILY_SESSIONS_TOTAL, "deadline_cloud_usage_sessions_total",
		"Number of the group's sessions" WINDOW_TO_DATE),
	FAMILY(USAGE_FAMILY_WINDOW_START, "deadline_cloud_usage_window_start_timestamp_seconds",
		"Unix time of the start of the window that the report's usage figures for the farm cover (as of their "
		"last successful refresh)."),
	FAMILY(USAGE_FAMILY_WINDOW_END, "deadline_cloud_usage_window_end_timestamp_seconds",
		"Unix time of the end of the window that the report's usage figures for the farm cover: when their "
		"last successful refresh began."),
};
#undef FAMILY
#undef COUNTER
#undef WINDOW_TO_DATE

struct metrics_kind metrics_usage_kind = {
	.rank = METRICS_RANK_USAGE,
	.families = usage_families,
	.n_families = USAGE_FAMILY_COUNT,
};

/* The statistics a report may ask for, in output order, and the family of each for cost and run time. */
static const unsigned statistics_order[] = {STAT_SUM, STAT_MIN, STAT_MAX, STAT_AVG};
static const enum usage_family cost_family[] = {
	USAGE_FAMILY_COST, USAGE_FAMILY_COST_MIN, USAGE_FAMILY_COST_MAX, USAGE_FAMILY_COST_AVG};
static const enum usage_family runtime_family[] = {
	USAGE_FAMILY_RUNTIME, USAGE_FAMILY_RUNTIME_MIN, USAGE_FAMILY_RUNTIME_MAX, USAGE_FAMILY_RUNTIME_AVG};
#define N_STATISTICS (sizeof(statistics_order) / sizeof(statistics_order[0]))

/* Threads that render and compress a large report side by side (fewer when there are fewer CPUs)... */
#define RENDER_THREADS_MAX 4
/* ...each with this many groups at least (about 3 MiB of text), so that a small report stays on one thread. */
#define RENDER_GROUPS_MIN 2048

static bool statistic_available(const struct usage_group *g, const struct usage_merged *m, unsigned stat)
{
	if (stat == STAT_AVG)
		return (m->present & STAT_AVG) || ((m->present & STAT_SUM) && g->count > 0);
	return (m->present & stat) != 0;
}

static double statistic_value(const struct usage_group *g, const struct usage_merged *m, unsigned stat)
{
	switch (stat) {
	case STAT_SUM:
		return m->sum;
	case STAT_MIN:
		return m->min;
	case STAT_MAX:
		return m->max;
	default:
		return usage_group_avg(g, m);
	}
}

/* CPUs this process may run on. */
static size_t cpus_available(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (size_t)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (size_t)n : 1;
}

static atomic_size_t render_threads_wanted;

void metrics_render_threads(size_t n)
{
	atomic_store(&render_threads_wanted, n);
}

/*
 * One thread's share of a render: a contiguous run of the sorted groups, rendered into parts of its own and
 * compressed as each segment fills. The runs' parts are then put one after the other, so the text is the same
 * whatever the number of threads.
 */
struct render_run {
	/* shared, read-only */
	const struct report_config *r;
	const struct usage_group *const *groups;
	const struct buf *head;
	size_t n_keys; /* the table's key width (usage_labels_key_width()) */
	/* this run's */
	size_t begin, end;
	size_t name_len[USAGE_FAMILY_COUNT];
	struct metrics_part part[USAGE_FAMILY_COUNT];
	struct deflate_join *dj; /* made on first use */
	struct buf prefix;
	int ret;
	pthread_t thread;
	bool started;
};

/*
 * One family's line for one group: name, the shared labels (without the closing brace), value. The hottest loop
 * of a publish (up to nine lines a group): one reservation and four copies (exposition_line()).
 */
static int usage_line(
	struct render_run *run, enum usage_family f, const struct buf *labels, const char *value, size_t value_len)
{
	struct buf *b = metrics_part_lines(&run->part[f], &run->dj);

	if (!b)
		return -ENOMEM;
	return exposition_line(
		b, usage_families[f].name, run->name_len[f], labels->data, labels->len, value, value_len);
}

/* The family a report's figure of gauge family f goes to: a counter report's sums are counters. */
static enum usage_family report_family(const struct report_config *r, enum usage_family f)
{
	if (!r->counter)
		return f;
	switch (f) {
	case USAGE_FAMILY_COST:
		return USAGE_FAMILY_COST_TOTAL;
	case USAGE_FAMILY_RUNTIME:
		return USAGE_FAMILY_RUNTIME_TOTAL;
	case USAGE_FAMILY_SESSIONS:
		return USAGE_FAMILY_SESSIONS_TOTAL;
	default:
		return f;
	}
}

/* The line of figure m's statistic s (an index in statistics_order) to family f, when the group has it. */
static int figure_line(struct render_run *run, const struct usage_group *g, const struct usage_merged *m, size_t s,
	enum usage_family f)
{
	char value[EXPOSITION_NUMBER_SIZE];
	unsigned stat = statistics_order[s];

	if (!(run->r->statistics & stat) || !statistic_available(g, m, stat))
		return 0;
	size_t n = exposition_double(value, sizeof(value), statistic_value(g, m, stat));
	return usage_line(run, report_family(run->r, f), &run->prefix, value, n);
}

/* The group's labels after the report's: its key's (the group-by fields', or the derived labels, then the fields kept),
 * and job_name after JOB_ID. */
static int group_labels(struct render_run *run, const struct usage_group *g)
{
	const struct report_config *r = run->r;
	struct buf *prefix = &run->prefix;

	/* A labelled report publishes the table of its derived labels: a shorter key would be read past its end. */
	if (run->n_keys > (g->n_values < 2 ? 2 : g->n_values))
		return -EINVAL;
	prefix->len = 0;
	if (buf_append(prefix, run->head->data, run->head->len) < 0)
		return -ENOMEM;
	for (size_t k = 0; k < run->n_keys; k++) {
		bool job_name;
		const char *label = usage_labels_key_label(r, k, &job_name);
		if (!label)
			return -EINVAL;
		if (exposition_label(prefix, ',', label, g->values[k]) < 0)
			return -ENOMEM;
		if (job_name && exposition_label(prefix, ',', "job_name", g->job_name) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The lines of groups [begin, end) into the run's own parts, every segment sealed (compressed) at the end. */
static int render_run_lines(struct render_run *run)
{
	char value[EXPOSITION_NUMBER_SIZE];
	int ret;

	for (size_t f = 0; f < USAGE_FAMILY_COUNT; f++)
		run->name_len[f] = strlen(usage_families[f].name);
	for (size_t i = run->begin; i < run->end; i++) {
		const struct usage_group *g = run->groups[i];
		ret = group_labels(run, g);
		if (ret < 0)
			return ret;
		for (size_t s = 0; s < N_STATISTICS; s++) {
			ret = figure_line(run, g, &g->cost, s, cost_family[s]);
			if (ret < 0)
				return ret;
		}
		for (size_t s = 0; s < N_STATISTICS; s++) {
			ret = figure_line(run, g, &g->runtime, s, runtime_family[s]);
			if (ret < 0)
				return ret;
		}
		size_t n = exposition_int(value, sizeof(value), g->count);
		ret = usage_line(run, report_family(run->r, USAGE_FAMILY_SESSIONS), &run->prefix, value, n);
		if (ret < 0)
			return ret;
	}
	/* Compressed here, once, without any lock: a body is then only a list of these segments. */
	for (size_t f = 0; f < USAGE_FAMILY_COUNT; f++) {
		ret = metrics_part_seal(&run->part[f], &run->dj);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void *render_run_thread(void *arg)
{
	struct render_run *run = arg;

	run->ret = render_run_lines(run);
	return NULL;
}

/* Moves the runs' segments, in run order, into p (one family); -ENOMEM leaves everything where it was. */
static int part_take_runs(struct metrics_part *p, struct render_run *runs, size_t n_runs, enum usage_family f)
{
	size_t n = 0, at = 0;

	for (size_t k = 0; k < n_runs; k++)
		n += runs[k].part[f].n_seg;
	if (n == 0)
		return 0;
	p->seg = malloc(n * sizeof(*p->seg));
	if (!p->seg)
		return -ENOMEM;
	for (size_t k = 0; k < n_runs; k++) {
		struct metrics_part *q = &runs[k].part[f];
		if (q->n_seg)
			memcpy(p->seg + at, q->seg, q->n_seg * sizeof(*q->seg));
		at += q->n_seg;
		free(q->seg);
		memset(q, 0, sizeof(*q));
	}
	p->n_seg = p->cap_seg = n;
	return 0;
}

/* The one line of a window family (the report's labels only), in a segment of its own. */
static int window_line(struct metrics_section *sec, enum usage_family f, const struct buf *head, int64_t value)
{
	char text[EXPOSITION_NUMBER_SIZE];
	size_t n = exposition_int(text, sizeof(text), value);
	struct buf *b = metrics_section_lines(sec, f);

	if (!b || exposition_line(b, usage_families[f].name, strlen(usage_families[f].name), head->data, head->len,
			  text, n) < 0)
		return -ENOMEM;
	return 0;
}

/* How many runs to render n_groups on: one per CPU, each with RENDER_GROUPS_MIN groups at least. */
static size_t runs_wanted(size_t n_groups)
{
	size_t n_runs = atomic_load(&render_threads_wanted);

	if (n_runs == 0) {
		n_runs = cpus_available();
		if (n_runs > n_groups / RENDER_GROUPS_MIN)
			n_runs = n_groups / RENDER_GROUPS_MIN;
	}
	if (n_runs > RENDER_THREADS_MAX)
		n_runs = RENDER_THREADS_MAX;
	return n_runs ? n_runs : 1;
}

/*
 * Renders the runs, the others on threads of their own (they inherit this thread's nice value and signal mask),
 * the first here; a run whose thread could not start is rendered here, after the first. Returns the first error.
 */
static int runs_render(struct render_run *runs, size_t n_runs)
{
	int ret = 0;

	for (size_t k = 1; k < n_runs; k++)
		runs[k].started = pthread_create(&runs[k].thread, NULL, render_run_thread, &runs[k]) == 0;
	runs[0].ret = render_run_lines(&runs[0]);
	for (size_t k = 1; k < n_runs; k++) {
		if (runs[k].started)
			pthread_join(runs[k].thread, NULL);
		else
			runs[k].ret = render_run_lines(&runs[k]);
	}
	for (size_t k = 0; k < n_runs && ret == 0; k++)
		ret = runs[k].ret;
	return ret;
}

/*
 * Renders the lines of (farm, report) from t: pure, called without any lock. A large report is cut into as
 * many runs as there are CPUs (up to RENDER_THREADS_MAX), rendered and compressed side by side: a publish is
 * then bound by the CPUs, not by one thread.
 */
int metrics_usage_section_new(struct metrics_section **out, const char *farm_id, const struct report_config *r,
	struct usage_table *t, int64_t window_start, int64_t window_end)
{
	const struct usage_group *const *groups;
	struct buf head = {0};
	struct metrics_section *sec = NULL;
	struct render_run runs[RENDER_THREADS_MAX] = {0};
	struct usage_table *top = NULL;
	size_t n_groups, n_runs = 0;
	int ret;

	*out = NULL;
	ret = metrics_section_new(&sec, &metrics_usage_kind);
	if (ret < 0)
		goto out;
	ret = -ENOMEM;
	if (exposition_label(&head, '{', "farm_id", farm_id) < 0 || exposition_label(&head, ',', "report", r->name) < 0)
		goto out;
	if (r->limit && usage_table_size(t) > r->limit) {
		ret = usage_table_top(
			&top, t, r->limit, (r->statistics & STAT_SUM) ? USAGE_RANK_COST : USAGE_RANK_SESSIONS);
		if (ret < 0)
			goto out;
		t = top;
	}
	n_groups = usage_table_groups(t, &groups);
	n_runs = runs_wanted(n_groups);
	for (size_t k = 0; k < n_runs; k++) {
		runs[k] = (struct render_run){
			.r = r,
			.groups = groups,
			.head = &head,
			.n_keys = usage_labels_key_width(r),
			.begin = n_groups * k / n_runs,
			.end = n_groups * (k + 1) / n_runs,
		};
	}
	ret = runs_render(runs, n_runs);
	for (size_t f = 0; f < USAGE_FAMILY_COUNT && ret == 0; f++)
		ret = part_take_runs(&sec->part[f], runs, n_runs, (enum usage_family)f);
	if (ret == 0)
		ret = window_line(sec, USAGE_FAMILY_WINDOW_START, &head, window_start);
	if (ret == 0)
		ret = window_line(sec, USAGE_FAMILY_WINDOW_END, &head, window_end);
	if (ret == 0)
		ret = metrics_section_seal(sec);
out:
	for (size_t k = 0; k < n_runs; k++) {
		for (size_t f = 0; f < USAGE_FAMILY_COUNT; f++)
			metrics_part_deinit(&runs[k].part[f]);
		deflate_join_free(runs[k].dj);
		buf_deinit(&runs[k].prefix);
	}
	buf_deinit(&head);
	usage_table_free(top);
	if (ret == 0) {
		*out = sec;
		sec = NULL;
	}
	metrics_section_unref(sec);
	return ret;
}
