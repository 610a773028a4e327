/* render: usage figures as exposition text, a large report on several threads, each segment compressed when full */
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
#include "util/numfmt.h"

/* A family's name and its HELP/TYPE header (all gauges). */
#define FAMILY(f, n, help) [f] = {n, sizeof(n) - 1, "# HELP " n " " help "\n# TYPE " n " gauge\n"}

static const struct {
	const char *name;
	size_t name_len;
	const char *header;
} families[METRICS_FAMILY_COUNT] = {
	FAMILY(METRICS_FAMILY_COST, "deadline_cloud_usage_cost_usd",
		"Total cost in US dollars of the group's sessions (the sum of costInUsd, Deadline Cloud's estimate) "
		"over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(METRICS_FAMILY_COST_MIN, "deadline_cloud_usage_session_cost_min_usd",
		"Cost in US dollars of the group's cheapest session over the report's window (see "
		"deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(METRICS_FAMILY_COST_MAX, "deadline_cloud_usage_session_cost_max_usd",
		"Cost in US dollars of the group's most expensive session over the report's window (see "
		"deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(METRICS_FAMILY_COST_AVG, "deadline_cloud_usage_session_cost_avg_usd",
		"Average cost in US dollars of one of the group's sessions over the report's window (see "
		"deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(METRICS_FAMILY_RUNTIME, "deadline_cloud_usage_runtime_seconds",
		"Total run time in seconds of the group's sessions (the sum of runtimeInSeconds) over the report's "
		"window (see deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(METRICS_FAMILY_RUNTIME_MIN, "deadline_cloud_usage_session_runtime_min_seconds",
		"Run time in seconds of the group's shortest session over the report's window (see "
		"deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(METRICS_FAMILY_RUNTIME_MAX, "deadline_cloud_usage_session_runtime_max_seconds",
		"Run time in seconds of the group's longest session over the report's window (see "
		"deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(METRICS_FAMILY_RUNTIME_AVG, "deadline_cloud_usage_session_runtime_avg_seconds",
		"Average run time in seconds of one of the group's sessions over the report's window (see "
		"deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(METRICS_FAMILY_SESSIONS, "deadline_cloud_usage_sessions",
		"Number of the group's sessions over the report's window (see "
		"deadline_cloud_usage_window_*_timestamp_seconds)."),
	FAMILY(METRICS_FAMILY_WINDOW_START, "deadline_cloud_usage_window_start_timestamp_seconds",
		"Unix time of the start of the window that the report's usage figures for the farm cover (as of their "
		"last successful refresh)."),
	FAMILY(METRICS_FAMILY_WINDOW_END, "deadline_cloud_usage_window_end_timestamp_seconds",
		"Unix time of the end of the window that the report's usage figures for the farm cover: when their "
		"last successful refresh began."),
};

#undef FAMILY

/* The statistics a report may ask for, in output order, and the family of each for cost and run time. */
static const unsigned statistics_order[] = {STAT_SUM, STAT_MIN, STAT_MAX, STAT_AVG};
static const enum metrics_family cost_family[] = {
	METRICS_FAMILY_COST, METRICS_FAMILY_COST_MIN, METRICS_FAMILY_COST_MAX, METRICS_FAMILY_COST_AVG};
static const enum metrics_family runtime_family[] = {
	METRICS_FAMILY_RUNTIME, METRICS_FAMILY_RUNTIME_MIN, METRICS_FAMILY_RUNTIME_MAX, METRICS_FAMILY_RUNTIME_AVG};
#define N_STATISTICS (sizeof(statistics_order) / sizeof(statistics_order[0]))

/* zlib's level for the family headers: small, compressed once per process. */
#define HEADER_LEVEL 6

/*
 * A report's text is cut into segments of about this size, each compressed on its own (a sync-flushed raw deflate
 * stream) as soon as it is full, so that each rendering thread compresses its own text while it is still in
 * cache. The cost of starting a new stream every MiB is a few hundred bytes of output per segment.
 */
#define SEGMENT_BYTES ((size_t)1 << 20)
#define SEGMENT_SLACK ((size_t)16 << 10)
/* Threads that render and compress a large report side by side (fewer when there are fewer CPUs)... */
#define RENDER_THREADS_MAX 4
/* ...each with this many groups at least (about 3 MiB of text), so that a small report stays on one thread. */
#define RENDER_GROUPS_MIN 2048

int metrics_buf_escape_label(struct buf *b, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = strlen(v), i = 0;
	char *o;
	int r;

	if (n == 0)
		return 0;

	/* Worst case: every byte becomes a three-byte U+FFFD. */
	if (n > SIZE_MAX / 3)
		return -ENOMEM;
	r = buf_reserve(b, 3 * n);
	if (r < 0)
		return r;
	o = b->data + b->len;
	while (i < n) {
		size_t run = i;
		/* Most values are plain ASCII: copy a run of it at once. */
		while (run < n && p[run] < 0x80 && p[run] != '\\' && p[run] != '"' && p[run] != '\n')
			run++;
		if (run > i) {
			memcpy(o, p + i, run - i);
			o += run - i;
			i = run;
			continue;
		}
		switch (p[i]) {
		case '\\':
			*o++ = '\\';
			*o++ = '\\';
			i++;
			continue;
		case '"':
			*o++ = '\\';
			*o++ = '"';
			i++;
			continue;
		case '\n':
			*o++ = '\\';
			*o++ = 'n';
			i++;
			continue;
		default:
			break;
		}
		o += model_utf8_put(o, p, n, &i);
	}
	b->len = (size_t)(o - b->data);
	return 0;
}

size_t metrics_format_double(char *out, size_t size, double v)
{
	/* the first of %.15g, %.16g, %.17g that reads back, computed exactly without printf (numfmt.c) */
	int n = numfmt_double(out, size, v);
	return n > 0 && (size_t)n < size ? (size_t)n : strlen(out);
}

void metrics_snapshot_ref(struct metrics_snapshot *snap)
{
	atomic_fetch_add(&snap->refs, 1);
}

void metrics_snapshot_unref(struct metrics_snapshot *snap)
{
	if (!snap || atomic_fetch_sub(&snap->refs, 1) != 1)
		return;
	for (size_t f = 0; f < METRICS_FAMILY_COUNT; f++) {
		struct metrics_part *p = &snap->part[f];
		for (size_t i = 0; i < p->n_seg; i++) {
			buf_deinit(&p->seg[i]->text);
			free(p->seg[i]->deflated);
			free(p->seg[i]);
		}
		free(p->seg);
	}
	free(snap);
}

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
	struct metrics_part part[METRICS_FAMILY_COUNT];
	struct deflate_join *dj; /* made on first use */
	struct buf prefix;
	int ret;
	pthread_t thread;
	bool started;
};

/* The segment's CRC-32 and piece, with the run's compressor (*dj, made on first use: one per thread). */
static int segment_compress(struct metrics_segment *seg, struct deflate_join **dj)
{
	seg->crc = deflate_join_crc32(0, seg->text.data, seg->text.len);
	if (!*dj) {
		int r = deflate_join_new(dj, DEFLATE_JOIN_AUTO);
		if (r < 0)
			return r;
	}
	return deflate_join_compress(*dj, seg->text.data, seg->text.len, &seg->deflated, &seg->deflated_len);
}

/* The segment of part p that the next line goes to: a new one when there is none or the last is sealed. */
static struct buf *part_open_segment(struct metrics_part *p)
{
	if (p->open)
		return &p->seg[p->n_seg - 1]->text;
	if (p->n_seg == p->cap_seg) {
		size_t cap = p->cap_seg ? p->cap_seg * 2 : 4;
		struct metrics_segment **grown = realloc(p->seg, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		p->seg = grown;
		p->cap_seg = cap;
	}
	struct metrics_segment *seg = calloc(1, sizeof(*seg));
	if (!seg)
		return NULL;
	/*
	 * After a full segment, the next is likely full too: room for all of it at once, instead of growing by
	 * doubling (copies). A family's first segment grows from small, so small reports stay small.
	 */
	if (p->n_seg > 0 && buf_reserve(&seg->text, SEGMENT_BYTES + SEGMENT_SLACK) < 0) {
		free(seg);
		return NULL;
	}
	p->seg[p->n_seg++] = seg;
	p->open = true;
	return &seg->text;
}

/* Seals the open segment of p (trimmed to its length) and compresses it. */
static int part_seal_segment(struct metrics_part *p, struct deflate_join **dj)
{
	if (!p->open)
		return 0;
	struct metrics_segment *seg = p->seg[p->n_seg - 1];
	p->open = false;
	if (seg->text.cap > seg->text.len + 1 && seg->text.len > 0) {
		/* Trimmed to the text and its NUL (struct buf keeps room for one): a sealed segment never grows. */
		char *fit = realloc(seg->text.data, seg->text.len + 1);
		if (fit) {
			seg->text.data = fit;
			seg->text.cap = seg->text.len + 1;
		}
	}
	return segment_compress(seg, dj);
}

/* Frees the segments of a part that never made it into a snapshot. */
static void part_free(struct metrics_part *p)
{
	for (size_t i = 0; i < p->n_seg; i++) {
		buf_deinit(&p->seg[i]->text);
		free(p->seg[i]->deflated);
		free(p->seg[i]);
	}
	free(p->seg);
	memset(p, 0, sizeof(*p));
}

/*
 * One family's line for one group: name, the shared labels (without the closing brace), "} ", value; seals a full
 * segment. The hottest loop of a publish (up to nine lines a group): one reservation and four copies.
 */
static int snapshot_line(struct metrics_part *p, struct deflate_join **dj, enum metrics_family f,
	const struct buf *prefix, const char *value, size_t value_len)
{
	struct buf *b = part_open_segment(p);
	if (!b)
		return -ENOMEM;
	size_t name_len = families[f].name_len;
	size_t need = name_len + prefix->len + 2 + value_len + 1;
	if (buf_reserve(b, need) < 0)
		return -ENOMEM;
	char *o = b->data + b->len;
	memcpy(o, families[f].name, name_len);
	o += name_len;
	memcpy(o, prefix->data, prefix->len);
	o += prefix->len;
	memcpy(o, "} ", 2);
	o += 2;
	memcpy(o, value, value_len);
	o[value_len] = '\n';
	b->len += need;
	return b->len >= SEGMENT_BYTES ? part_seal_segment(p, dj) : 0;
}

/* The line of figure m's statistic s (an index in statistics_order) to family f, when the group has it. */
static int figure_line(struct render_run *run, const struct usage_group *g, const struct usage_merged *m, size_t s,
	enum metrics_family f)
{
	char value[64];
	unsigned stat = statistics_order[s];

	if (!(run->r->statistics & stat) || !statistic_available(g, m, stat))
		return 0;
	size_t n = metrics_format_double(value, sizeof(value), statistic_value(g, m, stat));
	return snapshot_line(&run->part[f], &run->dj, f, &run->prefix, value, n);
}

/* The lines of groups [begin, end) into the run's own parts, every segment sealed (compressed) at the end. */
static int render_run_lines(struct render_run *run)
{
	const struct report_config *r = run->r;
	struct buf *prefix = &run->prefix;
	char value[64];

	for (size_t i = run->begin; i < run->end; i++) {
		const struct usage_group *g = run->groups[i];
		/* A labelled report publishes the table of its derived labels: a shorter key would be read past its
		 * end. */
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
			if (buf_puts(prefix, ",") < 0 || buf_puts(prefix, label) < 0 || buf_puts(prefix, "=\"") < 0 ||
				metrics_buf_escape_label(prefix, g->values[k] ? g->values[k] : "") < 0 ||
				buf_puts(prefix, "\"") < 0)
				return -ENOMEM;
			if (job_name && (buf_puts(prefix, ",job_name=\"") < 0 ||
						metrics_buf_escape_label(prefix, g->job_name ? g->job_name : "") < 0 ||
						buf_puts(prefix, "\"") < 0))
				return -ENOMEM;
		}
		for (size_t s = 0; s < N_STATISTICS; s++) {
			int ret = figure_line(run, g, &g->cost, s, cost_family[s]);
			if (ret < 0)
				return ret;
		}
		for (size_t s = 0; s < N_STATISTICS; s++) {
			int ret = figure_line(run, g, &g->runtime, s, runtime_family[s]);
			if (ret < 0)
				return ret;
		}
		int count_len = snprintf(value, sizeof(value), "%lld", (long long)g->count);
		int ret = snapshot_line(&run->part[METRICS_FAMILY_SESSIONS], &run->dj, METRICS_FAMILY_SESSIONS, prefix,
			value, count_len > 0 ? (size_t)count_len : 0);
		if (ret < 0)
			return ret;
	}
	/* Compressed here, once, without any lock: a body is then only a list of these segments. */
	for (size_t f = 0; f < METRICS_FAMILY_COUNT; f++) {
		int ret = part_seal_segment(&run->part[f], &run->dj);
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
static int part_take_runs(struct metrics_part *p, struct render_run *runs, size_t n_runs, enum metrics_family f)
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
static int window_line(struct metrics_snapshot *snap, enum metrics_family f, const struct buf *head, int64_t value,
	struct deflate_join **dj)
{
	struct metrics_part *p = &snap->part[f];
	char text[32];
	int n = snprintf(text, sizeof(text), "%lld", (long long)value);
	int ret = snapshot_line(p, dj, f, head, text, n > 0 ? (size_t)n : 0);

	return ret < 0 ? ret : part_seal_segment(p, dj);
}

/*
 * Renders the lines of (farm, report) from t: pure, called without any lock. A large report is cut into as
 * many runs as there are CPUs (up to RENDER_THREADS_MAX), rendered and compressed side by side: a publish is
 * then bound by the CPUs, not by one thread.
 */
int metrics_snapshot_new(struct metrics_snapshot **out, const char *farm_id, const struct report_config *r,
	struct usage_table *t, int64_t window_start, int64_t window_end)
{
	const struct usage_group *const *groups;
	struct buf head = {0};
	struct metrics_snapshot *snap;
	struct render_run runs[RENDER_THREADS_MAX] = {0};
	struct usage_table *top = NULL;
	size_t n_groups, n_runs = 0;
	int ret = -ENOMEM;

	snap = calloc(1, sizeof(*snap));
	if (!snap)
		goto out;
	atomic_init(&snap->refs, 1);
	if (buf_puts(&head, "{farm_id=\"") < 0 || metrics_buf_escape_label(&head, farm_id) < 0 ||
		buf_puts(&head, "\",report=\"") < 0 || metrics_buf_escape_label(&head, r->name) < 0 ||
		buf_puts(&head, "\"") < 0)
		goto out;
	if (r->limit && usage_table_size(t) > r->limit) {
		ret = usage_table_top(
			&top, t, r->limit, (r->statistics & STAT_SUM) ? USAGE_RANK_COST : USAGE_RANK_SESSIONS);
		if (ret < 0)
			goto out;
		ret = -ENOMEM;
		t = top;
	}
	n_groups = usage_table_groups(t, &groups);
	n_runs = atomic_load(&render_threads_wanted);
	if (n_runs == 0) {
		n_runs = cpus_available();
		if (n_runs > n_groups / RENDER_GROUPS_MIN)
			n_runs = n_groups / RENDER_GROUPS_MIN;
	}
	if (n_runs > RENDER_THREADS_MAX)
		n_runs = RENDER_THREADS_MAX;
	if (n_runs == 0)
		n_runs = 1;
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
	/* The others on threads of their own (they inherit this thread's nice value and signal mask), the first here.
	 */
	for (size_t k = 1; k < n_runs; k++)
		runs[k].started = pthread_create(&runs[k].thread, NULL, render_run_thread, &runs[k]) == 0;
	runs[0].ret = render_run_lines(&runs[0]);
	/* A run whose thread could not start is rendered here, after the first. */
	for (size_t k = 1; k < n_runs; k++) {
		if (runs[k].started)
			pthread_join(runs[k].thread, NULL);
		else
			runs[k].ret = render_run_lines(&runs[k]);
	}
	ret = 0;
	for (size_t k = 0; k < n_runs && ret == 0; k++)
		ret = runs[k].ret;
	for (size_t f = 0; f < METRICS_FAMILY_COUNT && ret == 0; f++)
		ret = part_take_runs(&snap->part[f], runs, n_runs, (enum metrics_family)f);
	if (ret == 0)
		ret = window_line(snap, METRICS_FAMILY_WINDOW_START, &head, window_start, &runs[0].dj);
	if (ret == 0)
		ret = window_line(snap, METRICS_FAMILY_WINDOW_END, &head, window_end, &runs[0].dj);
out:
	for (size_t k = 0; k < n_runs; k++) {
		for (size_t f = 0; f < METRICS_FAMILY_COUNT; f++)
			part_free(&runs[k].part[f]);
		deflate_join_free(runs[k].dj);
		buf_deinit(&runs[k].prefix);
	}
	buf_deinit(&head);
	usage_table_free(top);
	if (ret == 0) {
		*out = snap;
		snap = NULL;
	}
	metrics_snapshot_unref(snap);
	return ret;
}

/* A stored (uncompressed) deflate block, not final: the fallback should zlib have no memory at start-up. */
static size_t stored_block(unsigned char *out, const char *text, size_t len)
{
	out[0] = 0;
	out[1] = (unsigned char)(len & 0xff);
	out[2] = (unsigned char)(len >> 8);
	out[3] = (unsigned char)(~len & 0xff);
	out[4] = (unsigned char)((~len >> 8) & 0xff);
	memcpy(out + 5, text, len);
	return len + 5;
}

static struct {
	struct metrics_family_header h;
	unsigned char deflated[1024];
} headers[METRICS_FAMILY_COUNT];
static pthread_once_t headers_once = PTHREAD_ONCE_INIT;

static void headers_init(void)
{
	for (size_t f = 0; f < METRICS_FAMILY_COUNT; f++) {
		struct metrics_family_header *h = &headers[f].h;
		size_t dl = 0;
		unsigned char *d = NULL;
		h->text = families[f].header;
		h->len = strlen(h->text);
		h->crc = deflate_join_crc32(0, h->text, h->len);
		h->deflated = headers[f].deflated;
		if (deflate_join_zlib(h->text, h->len, HEADER_LEVEL, DEFLATE_JOIN_OPEN, &d, &dl) == 0 &&
			dl <= sizeof(headers[f].deflated)) {
			memcpy(headers[f].deflated, d, dl);
			h->deflated_len = dl;
		} else {
			h->deflated_len = stored_block(headers[f].deflated, h->text, h->len);
		}
		free(d);
	}
}

const struct metrics_family_header *metrics_family_header(enum metrics_family f)
{
	(void)pthread_once(&headers_once, headers_init);
	return &headers[f].h;
}
