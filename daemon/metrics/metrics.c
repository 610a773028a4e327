/* metrics: per-report snapshots (text and its raw deflate), a usage body of shared pieces, scrapes by reference */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "metrics/deflate_join.h"
#include "util/log.h"
#include "metrics/metrics.h"
#include "config/model.h"
#include "util/numfmt.h"

enum family {
	FAMILY_COST,
	FAMILY_RUNTIME,
	FAMILY_SESSIONS,
	FAMILY_COUNT,
};

/* One group per family in the text format: the body holds each family's header once, then every report's lines. */
static const struct {
	const char *name;
	size_t name_len;
	const char *header;
} families[FAMILY_COUNT] = {
	[FAMILY_COST] = {"deadline_cloud_usage_cost_usd", sizeof("deadline_cloud_usage_cost_usd") - 1,
		"# HELP deadline_cloud_usage_cost_usd Cost in US dollars of the group's sessions (statistic: sum, or "
		"min/max/avg per session), Deadline Cloud's estimate over the report's window; refreshed in the "
		"background every report's interval.\n"
		"# TYPE deadline_cloud_usage_cost_usd gauge\n"},
	[FAMILY_RUNTIME] = {"deadline_cloud_usage_runtime_seconds", sizeof("deadline_cloud_usage_runtime_seconds") - 1,
		"# HELP deadline_cloud_usage_runtime_seconds Run time in seconds of the group's sessions (statistic: "
		"sum, "
		"or min/max/avg per session), Deadline Cloud's estimate over the report's window; refreshed in the "
		"background every report's interval.\n"
		"# TYPE deadline_cloud_usage_runtime_seconds gauge\n"},
	[FAMILY_SESSIONS] = {"deadline_cloud_usage_sessions", sizeof("deadline_cloud_usage_sessions") - 1,
		"# HELP deadline_cloud_usage_sessions Number of sessions in the group, Deadline Cloud's estimate over "
		"the "
		"report's window; refreshed in the background every report's interval.\n"
		"# TYPE deadline_cloud_usage_sessions gauge\n"},
};

static const unsigned statistics_order[] = {STAT_SUM, STAT_MIN, STAT_MAX, STAT_AVG};

/*
 * Level of the raw deflate of the usage parts: each report's family lines are compressed once, when the report
 * is published, as an independent sync-flushed stream, so a publish never recompresses other reports' text.
 */
#define PART_LEVEL 3
/* libdeflate's level for the same (deflate_join.c): its fastest, smaller output than zlib's 3 at twice the speed. */
#define JOIN_LEVEL 1
/* The self-metrics are small and cached until they change. */
#define SELF_LEVEL 6

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

/* A run of whole lines of one family: the text, its raw deflate (sync-flushed, byte-aligned) and crc32. */
struct snap_segment {
	struct metrics_buf text;
	unsigned char *deflated;
	size_t deflated_len;
	uLong crc;
};

/* One family's lines of one report, in segments (each allocated alone: helpers hold pointers to them). */
struct snap_part {
	struct snap_segment **seg;
	size_t n_seg, cap_seg;
	bool open; /* while rendering: the last segment still takes lines */
};

/* A report's rendered sample lines, one part per family. Immutable once built; refcounted by the entry and bodies. */
struct metrics_snapshot {
	atomic_size_t refs;
	struct snap_part part[FAMILY_COUNT];
};

/* A family's HELP/TYPE header as a raw deflate part, compressed once per process. */
static struct {
	unsigned char deflated[1024];
	size_t deflated_len, len;
	uLong crc;
} header_parts[FAMILY_COUNT];
static pthread_once_t header_parts_once = PTHREAD_ONCE_INIT;

struct metrics_entry {
	char *farm_id;
	char *report;
	int64_t interval_seconds;
	struct metrics_snapshot *snap; /* NULL until the first success; guarded by build_lock */
	bool attempted, up, succeeded;
	int64_t last_success;
	double duration;
	bool keep; /* scratch for metrics_store_set_reports() */
};

/*
 * The usage part of every scrape, as pieces referencing the snapshots' buffers (held by reference): the plain
 * text and its raw deflate (a concatenation of sync-flushed parts, not final). Refcounted.
 */
struct metrics_body {
	atomic_size_t refs;
	struct metrics_snapshot **snaps;
	size_t n_snaps;
	struct iovec *plain, *deflated; /* one allocation */
	size_t n_plain, n_deflated;
	size_t text_len, deflated_len;
	uLong crc; /* crc32 of the whole text */
};

/* The self-metrics text of one state of the counters, and its raw deflate (finished). Refcounted, cached. */
struct self_cache {
	atomic_size_t refs;
	uint64_t gen;
	struct metrics_buf text;
	unsigned char *deflated;
	size_t deflated_len;
	uLong crc;
};

struct request_counter {
	char *operation;
	long status; /* 0: transport failure */
	uint64_t count;
};

/* Distinct (operation, status) pairs kept; statuses are bounded by HTTP, this is a safety net. */
#define MAX_REQUEST_COUNTERS 1024

struct event_series {
	char **values;
	uint64_t count;
};

struct event_family {
	struct event_series *series; /* sorted by label values */
	size_t n, cap;
};

static const struct {
	const char *name;
	const char *help;
	size_t n_labels;
	const char *labels[3];
} event_families[METRICS_COUNTER_COUNT] = {
	[METRICS_REFRESH_ERRORS] = {"deadline_cloud_exporter_refresh_errors_total",
		"Refreshes of the report for the farm that failed, by the kind of failure.", 3,
		{"farm_id", "report", "kind"}},
	[METRICS_API_RETRIES] = {"deadline_cloud_exporter_api_retries_total",
		"Deadline Cloud API requests sent again after a throttled, failed or unusable answer.", 1, {"operation"}},
	[METRICS_AGGREGATIONS] = {"deadline_cloud_exporter_aggregations_total",
		"Sessions statistics aggregations started on the farm, by final status (EXPIRED: gone before it was "
		"read).",
		2, {"farm_id", "status"}},
	[METRICS_PAGES] = {"deadline_cloud_exporter_pages_read_total",
		"Pages of statistics read for the report and farm.", 2, {"farm_id", "report"}},
	[METRICS_ROWS] = {"deadline_cloud_exporter_rows_read_total",
		"Statistics rows read for the report and farm, before merging.", 2, {"farm_id", "report"}},
	[METRICS_SPLITS] = {"deadline_cloud_exporter_aggregation_splits_total",
		"Aggregations that ended FAILED or TIMEOUT and were asked again in smaller parts, by what was split "
		"(resources or window).",
		3, {"farm_id", "report", "kind"}},
};

/* Distinct series per event family kept; a safety net, the label values are bounded by the configuration. */
#define MAX_EVENT_SERIES 4096

struct metrics_store {
	/* Serialises publishers: snapshots and body rebuilds. Taken before lock, never by scrapes. */
	pthread_mutex_t build_lock;
	/* The entries' state, the entries array itself, the current body, the counters. Held briefly. */
	pthread_mutex_t lock;
	char *version;
	struct metrics_entry **entries;
	size_t n_entries;
	bool declared;
	struct metrics_body *body;
	/* Bumped (under lock) by every change of what self_render() prints; the cache is valid while equal. */
	uint64_t self_gen;
	struct self_cache *self;
	struct metrics_buf inventory; /* inventory hook (h11-inventory): rendered by metrics/inventory.c */
	struct request_counter *counters;
	size_t n_counters, cap_counters;
	struct event_family events[METRICS_COUNTER_COUNT];
};


static const unsigned char gzip_header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};

/* A default mutex only fails to lock or unlock when the program is already broken: stop there, loudly. */
static void mutex_lock(pthread_mutex_t *m)
{
	int r = pthread_mutex_lock(m);

	if (r) {
		log_error("component=metrics op=lock error=\"%s\"", strerror(r));
		abort();
	}
}

static void mutex_unlock(pthread_mutex_t *m)
{
	int r = pthread_mutex_unlock(m);

	if (r) {
		log_error("component=metrics op=unlock error=\"%s\"", strerror(r));
		abort();
	}
}

static int buf_reserve(struct metrics_buf *b, size_t extra)
{
	size_t need, cap;
	char *data;

	if (extra <= b->cap - b->len)
		return 0;
	if (extra > SIZE_MAX - b->len)
		return -ENOMEM;
	need = b->len + extra;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	data = realloc(b->data, cap);
	if (!data)
		return -ENOMEM;
	b->data = data;
	b->cap = cap;
	return 0;
}

int metrics_buf_append(struct metrics_buf *b, const char *s, size_t n)
{
	int r = buf_reserve(b, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	return 0;
}

static int buf_puts(struct metrics_buf *b, const char *s)
{
	return metrics_buf_append(b, s, strlen(s));
}

void metrics_buf_deinit(struct metrics_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int metrics_buf_escape_label(struct metrics_buf *b, const char *v)
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
		size_t bad = 0, len, run = i;
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
		len = model_utf8_sequence(p + i, n - i, &bad);
		if (len) {
			memcpy(o, p + i, len);
			o += len;
			i += len;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i += bad;
		}
	}
	b->len = (size_t)(o - b->data);
	return 0;
}

/*
 * A sample value as the text format spells it: the shortest decimal that reads back as v, NaN, +Inf, -Inf.
 * Returns its length (out holds 64 bytes or more, so it is never cut).
 */
static size_t format_double(char *out, size_t size, double v)
{
	/* the first of %.15g, %.16g, %.17g that reads back, computed exactly without printf (numfmt.c) */
	int n = numfmt_double(out, size, v);
	return n > 0 && (size_t)n < size ? (size_t)n : strlen(out);
}

static void snapshot_unref(struct metrics_snapshot *snap)
{
	if (!snap || atomic_fetch_sub(&snap->refs, 1) != 1)
		return;
	for (size_t f = 0; f < FAMILY_COUNT; f++) {
		struct snap_part *p = &snap->part[f];
		for (size_t i = 0; i < p->n_seg; i++) {
			metrics_buf_deinit(&p->seg[i]->text);
			free(p->seg[i]->deflated);
			free(p->seg[i]);
		}
		free(p->seg);
	}
	free(snap);
}

static int deflate_raw(const void *in, size_t n, int flush, int level, unsigned char **out, size_t *out_len);

static void self_cache_unref(struct self_cache *self)
{
	if (!self || atomic_fetch_sub(&self->refs, 1) != 1)
		return;
	metrics_buf_deinit(&self->text);
	free(self->deflated);
	free(self);
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

/* What closes a line's labels: the statistic's label and "} ", or "} " alone. */
struct line_tail {
	char text[40];
	size_t len;
};

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
	const struct metrics_buf *head;
	const struct line_tail *stat_tail, *plain_tail;
	size_t n_group_by;
	/* this run's */
	size_t begin, end;
	struct snap_part part[FAMILY_COUNT];
	struct deflate_join *dj; /* made on first use */
	struct metrics_buf prefix;
	int ret;
	pthread_t thread;
	bool started;
};

/* With ISA-L or libdeflate (*dj made on first use, one per thread); with zlib should that fail. */
static int segment_compress(struct snap_segment *seg, struct deflate_join **dj)
{
	seg->crc = deflate_join_crc32(0, seg->text.data, seg->text.len);
	if (!*dj)
		*dj = deflate_join_new(JOIN_LEVEL);
	if (*dj && deflate_join_compress(*dj, seg->text.data, seg->text.len, &seg->deflated, &seg->deflated_len) == 0)
		return 0;
	return deflate_raw(seg->text.data, seg->text.len, Z_SYNC_FLUSH, PART_LEVEL, &seg->deflated, &seg->deflated_len);
}

/* The segment of part p that the next line goes to: a new one when there is none or the last is sealed. */
static struct metrics_buf *part_open_segment(struct snap_part *p)
{
	if (p->open)
		return &p->seg[p->n_seg - 1]->text;
	if (p->n_seg == p->cap_seg) {
		size_t cap = p->cap_seg ? p->cap_seg * 2 : 4;
		struct snap_segment **grown = realloc(p->seg, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		p->seg = grown;
		p->cap_seg = cap;
	}
	struct snap_segment *seg = calloc(1, sizeof(*seg));
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
static int part_seal_segment(struct snap_part *p, struct deflate_join **dj)
{
	if (!p->open)
		return 0;
	struct snap_segment *seg = p->seg[p->n_seg - 1];
	p->open = false;
	if (seg->text.cap > seg->text.len && seg->text.len > 0) {
		char *fit = realloc(seg->text.data, seg->text.len);
		if (fit) {
			seg->text.data = fit;
			seg->text.cap = seg->text.len;
		}
	}
	return segment_compress(seg, dj);
}

/* Frees the segments of a part that never made it into a snapshot. */
static void part_free(struct snap_part *p)
{
	for (size_t i = 0; i < p->n_seg; i++) {
		metrics_buf_deinit(&p->seg[i]->text);
		free(p->seg[i]->deflated);
		free(p->seg[i]);
	}
	free(p->seg);
	memset(p, 0, sizeof(*p));
}

/*
 * One family's line for one group: name, the shared label prefix, the tail, value; seals a full segment. The
 * hottest loop of a publish (nine lines a group): one reservation and five copies.
 */
static int snapshot_line(struct snap_part *p, struct deflate_join **dj, enum family f, const struct metrics_buf *prefix,
	const struct line_tail *tail, const char *value, size_t value_len)
{
	struct metrics_buf *b = part_open_segment(p);
	if (!b)
		return -ENOMEM;
	size_t name_len = families[f].name_len;
	size_t need = name_len + prefix->len + tail->len + value_len + 1;
	if (buf_reserve(b, need) < 0)
		return -ENOMEM;
	char *o = b->data + b->len;
	memcpy(o, families[f].name, name_len);
	o += name_len;
	memcpy(o, prefix->data, prefix->len);
	o += prefix->len;
	memcpy(o, tail->text, tail->len);
	o += tail->len;
	memcpy(o, value, value_len);
	o[value_len] = '\n';
	b->len += need;
	return b->len >= SEGMENT_BYTES ? part_seal_segment(p, dj) : 0;
}

static void line_tail_set(struct line_tail *t, const char *stat)
{
	int n = stat ? snprintf(t->text, sizeof(t->text), ",statistic=\"%s\"} ", stat)
		     : snprintf(t->text, sizeof(t->text), "} ");
	t->len = n > 0 && (size_t)n < sizeof(t->text) ? (size_t)n : 0;
}

/* The lines of groups [begin, end) into the run's own parts, every segment sealed (compressed) at the end. */
static int render_run_lines(struct render_run *run)
{
	const struct report_config *r = run->r;
	struct metrics_buf *prefix = &run->prefix;
	char value[64];

	for (size_t i = run->begin; i < run->end; i++) {
		const struct usage_group *g = run->groups[i];
		prefix->len = 0;
		if (metrics_buf_append(prefix, run->head->data, run->head->len) < 0)
			return -ENOMEM;
		for (size_t k = 0; k < run->n_group_by; k++) {
			const char *label = group_field_label(r->group_by[k]);
			if (!label)
				return -EINVAL;
			if (buf_puts(prefix, ",") < 0 || buf_puts(prefix, label) < 0 || buf_puts(prefix, "=\"") < 0 ||
				metrics_buf_escape_label(prefix, g->values[k] ? g->values[k] : "") < 0 ||
				buf_puts(prefix, "\"") < 0)
				return -ENOMEM;
			if (r->group_by[k] == GROUP_JOB_ID &&
				(buf_puts(prefix, ",job_name=\"") < 0 ||
					metrics_buf_escape_label(prefix, g->job_name ? g->job_name : "") < 0 ||
					buf_puts(prefix, "\"") < 0))
				return -ENOMEM;
		}
		for (size_t s = 0; s < sizeof(statistics_order) / sizeof(statistics_order[0]); s++) {
			unsigned stat = statistics_order[s];
			if (!(r->statistics & stat))
				continue;
			if (statistic_available(g, &g->cost, stat)) {
				size_t n = format_double(value, sizeof(value), statistic_value(g, &g->cost, stat));
				int ret = snapshot_line(&run->part[FAMILY_COST], &run->dj, FAMILY_COST, prefix,
					&run->stat_tail[s], value, n);
				if (ret < 0)
					return ret;
			}
			if (statistic_available(g, &g->runtime, stat)) {
				size_t n = format_double(value, sizeof(value), statistic_value(g, &g->runtime, stat));
				int ret = snapshot_line(&run->part[FAMILY_RUNTIME], &run->dj, FAMILY_RUNTIME, prefix,
					&run->stat_tail[s], value, n);
				if (ret < 0)
					return ret;
			}
		}
		int count_len = snprintf(value, sizeof(value), "%lld", (long long)g->count);
		int ret = snapshot_line(&run->part[FAMILY_SESSIONS], &run->dj, FAMILY_SESSIONS, prefix, run->plain_tail,
			value, count_len > 0 ? (size_t)count_len : 0);
		if (ret < 0)
			return ret;
	}
	/* Compressed here, once, without any lock: a body is then only a list of these segments. */
	for (size_t f = 0; f < FAMILY_COUNT; f++) {
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
static int part_take_runs(struct snap_part *p, struct render_run *runs, size_t n_runs, enum family f)
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
		struct snap_part *q = &runs[k].part[f];
		if (q->n_seg)
			memcpy(p->seg + at, q->seg, q->n_seg * sizeof(*q->seg));
		at += q->n_seg;
		free(q->seg);
		memset(q, 0, sizeof(*q));
	}
	p->n_seg = p->cap_seg = n;
	return 0;
}

/*
 * Renders the lines of (farm, report) from t: pure, called without any lock. A large report is cut into as
 * many runs as there are CPUs (up to RENDER_THREADS_MAX), rendered and compressed side by side: a publish is
 * then bound by the CPUs, not by one thread.
 */
static int snapshot_render(
	struct metrics_snapshot **out, const char *farm_id, const struct report_config *r, struct usage_table *t)
{
	const struct usage_group *const *groups;
	struct metrics_buf head = {0};
	struct metrics_snapshot *snap;
	struct render_run runs[RENDER_THREADS_MAX];
	size_t n_groups, n_runs;
	struct line_tail stat_tail[sizeof(statistics_order) / sizeof(statistics_order[0])], plain_tail;
	int ret = -ENOMEM;

	for (size_t s = 0; s < sizeof(statistics_order) / sizeof(statistics_order[0]); s++)
		line_tail_set(&stat_tail[s], statistic_label(statistics_order[s]));
	line_tail_set(&plain_tail, NULL);
	snap = calloc(1, sizeof(*snap));
	if (!snap)
		return -ENOMEM;
	atomic_init(&snap->refs, 1);
	if (buf_puts(&head, "{farm_id=\"") < 0 || metrics_buf_escape_label(&head, farm_id) < 0 ||
		buf_puts(&head, "\",report=\"") < 0 || metrics_buf_escape_label(&head, r->name) < 0 ||
		buf_puts(&head, "\"") < 0) {
		metrics_buf_deinit(&head);
		snapshot_unref(snap);
		return -ENOMEM;
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
	memset(runs, 0, sizeof(runs));
	for (size_t k = 0; k < n_runs; k++) {
		runs[k] = (struct render_run){
			.r = r,
			.groups = groups,
			.head = &head,
			.stat_tail = stat_tail,
			.plain_tail = &plain_tail,
			.n_group_by = r->n_group_by > 2 ? 2 : r->n_group_by,
			.begin = n_groups * k / n_runs,
			.end = n_groups * (k + 1) / n_runs,
		};
	}
	/* The others on threads of their own (they inherit this thread's nice value and signal mask), the first here. */
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
	for (size_t f = 0; f < FAMILY_COUNT && ret == 0; f++)
		ret = part_take_runs(&snap->part[f], runs, n_runs, (enum family)f);
	for (size_t k = 0; k < n_runs; k++) {
		for (size_t f = 0; f < FAMILY_COUNT; f++)
			part_free(&runs[k].part[f]);
		deflate_join_free(runs[k].dj);
		metrics_buf_deinit(&runs[k].prefix);
	}
	metrics_buf_deinit(&head);
	if (ret == 0) {
		*out = snap;
		snap = NULL;
	}
	snapshot_unref(snap);
	return ret;
}

/*
 * Raw deflate (no header) of in[0..n) into a new buffer. flush is Z_SYNC_FLUSH (the stream ends byte-aligned
 * without a final block, so another raw stream can follow it) or Z_FINISH.
 */
static int deflate_raw(const void *in, size_t n, int flush, int level, unsigned char **out, size_t *out_len)
{
	/* zlib counts in uInt: feed and drain in pieces that fit. */
	const size_t piece = (size_t)1 << 30;
	z_stream zs;
	unsigned char *buf = NULL;
	size_t cap, used = 0, fed = 0;
	int ret = -ENOMEM, zr;

	memset(&zs, 0, sizeof(zs));
	zr = deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	if (zr != Z_OK)
		return zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
	cap = (size_t)deflateBound(&zs, (uLong)n) + 64;
	buf = malloc(cap);
	if (!buf)
		goto out;
	zs.next_in = (Bytef *)(uintptr_t)in;
	for (;;) {
		if (zs.avail_in == 0 && fed < n) {
			zs.avail_in = (uInt)(n - fed < piece ? n - fed : piece);
			fed += zs.avail_in;
		}
		if (used == cap) {
			unsigned char *bigger = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
			if (!bigger)
				goto out;
			buf = bigger;
			cap *= 2;
		}
		zs.next_out = buf + used;
		zs.avail_out = (uInt)(cap - used < piece ? cap - used : piece);
		size_t before = zs.avail_out;
		/* Once zlib holds the last input, keep asking for the flush until it is complete. */
		int mode = fed == n ? flush : Z_NO_FLUSH;
		zr = deflate(&zs, mode);
		used += before - zs.avail_out;
		if (zr == Z_STREAM_ERROR) {
			ret = -EINVAL;
			goto out;
		}
		if (mode == Z_FINISH && zr == Z_STREAM_END)
			break;
		/* A flush is complete when deflate leaves output space unused with all input taken. */
		if (mode == Z_SYNC_FLUSH && zs.avail_in == 0 && zs.avail_out != 0)
			break;
	}
	if (used < cap) {
		unsigned char *fit = realloc(buf, used ? used : 1);
		if (fit)
			buf = fit;
	}
	*out = buf;
	*out_len = used;
	buf = NULL;
	ret = 0;
out:
	(void)deflateEnd(&zs); /* only reports a stream freed early, which cannot be the case here */
	free(buf);
	return ret;
}

static void body_unref(struct metrics_body *body)
{
	if (!body || atomic_fetch_sub(&body->refs, 1) != 1)
		return;
	for (size_t i = 0; i < body->n_snaps; i++)
		snapshot_unref(body->snaps[i]);
	free(body->snaps);
	free(body->plain);
	free(body);
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

static void header_parts_init(void)
{
	for (size_t f = 0; f < FAMILY_COUNT; f++) {
		const char *h = families[f].header;
		size_t len = strlen(h), dl = 0;
		unsigned char *d = NULL;
		header_parts[f].len = len;
		header_parts[f].crc = crc32_z(crc32(0, Z_NULL, 0), (const Bytef *)h, len);
		if (deflate_raw(h, len, Z_SYNC_FLUSH, SELF_LEVEL, &d, &dl) == 0 &&
			dl <= sizeof(header_parts[f].deflated)) {
			memcpy(header_parts[f].deflated, d, dl);
			header_parts[f].deflated_len = dl;
		} else {
			header_parts[f].deflated_len = stored_block(header_parts[f].deflated, h, len);
		}
		free(d);
	}
}

static void piece_add(struct iovec *iov, size_t *n, const void *base, size_t len)
{
	iov[*n].iov_base = (void *)(uintptr_t)base;
	iov[*n].iov_len = len;
	(*n)++;
}

/*
 * The usage body of the current entries: once per family, HELP/TYPE then every report's lines, as pieces of the
 * snapshots (no copy, no compression: the crc32s are combined). build_lock held.
 */
static int body_build(struct metrics_entry *const *entries, size_t n_entries, struct metrics_body **out)
{
	struct metrics_body *body;
	size_t max_pieces = FAMILY_COUNT;

	for (size_t i = 0; i < n_entries; i++)
		for (size_t f = 0; entries[i]->snap && f < FAMILY_COUNT; f++)
			max_pieces += entries[i]->snap->part[f].n_seg;

	body = calloc(1, sizeof(*body));
	if (!body)
		return -ENOMEM;
	atomic_init(&body->refs, 1);
	body->crc = crc32(0, Z_NULL, 0);
	body->snaps = calloc(n_entries ? n_entries : 1, sizeof(*body->snaps));
	body->plain = calloc(2 * max_pieces, sizeof(*body->plain));
	if (!body->snaps || !body->plain) {
		body_unref(body);
		return -ENOMEM;
	}
	body->deflated = body->plain + max_pieces;
	for (size_t i = 0; i < n_entries; i++) {
		if (!entries[i]->snap)
			continue;
		atomic_fetch_add(&entries[i]->snap->refs, 1);
		body->snaps[body->n_snaps++] = entries[i]->snap;
	}
	for (size_t f = 0; f < FAMILY_COUNT; f++) {
		bool header = false;
		for (size_t i = 0; i < body->n_snaps; i++) {
			const struct snap_part *p = &body->snaps[i]->part[f];
			/* A family without samples is left out, header included. */
			if (!p->n_seg)
				continue;
			if (!header) {
				piece_add(body->plain, &body->n_plain, families[f].header, header_parts[f].len);
				piece_add(body->deflated, &body->n_deflated, header_parts[f].deflated,
					header_parts[f].deflated_len);
				body->crc = crc32_combine(body->crc, header_parts[f].crc, (z_off_t)header_parts[f].len);
				body->text_len += header_parts[f].len;
				body->deflated_len += header_parts[f].deflated_len;
				header = true;
			}
			for (size_t k = 0; k < p->n_seg; k++) {
				const struct snap_segment *seg = p->seg[k];
				piece_add(body->plain, &body->n_plain, seg->text.data, seg->text.len);
				piece_add(body->deflated, &body->n_deflated, seg->deflated, seg->deflated_len);
				body->crc = crc32_combine(body->crc, seg->crc, (z_off_t)seg->text.len);
				body->text_len += seg->text.len;
				body->deflated_len += seg->deflated_len;
			}
		}
	}
	*out = body;
	return 0;
}

static void entry_free(struct metrics_entry *e)
{
	if (!e)
		return;
	free(e->farm_id);
	free(e->report);
	snapshot_unref(e->snap);
	free(e);
}

static struct metrics_entry *entry_find(
	struct metrics_entry *const *entries, size_t n, const char *farm_id, const char *report)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(entries[i]->farm_id, farm_id) == 0 && strcmp(entries[i]->report, report) == 0)
			return entries[i];
	return NULL;
}

static void event_series_free(struct event_series *e, size_t n_labels)
{
	for (size_t i = 0; i < n_labels; i++)
		free(e->values[i]);
	free(e->values);
}

static int event_series_cmp(const char *const *a, const char *const *b, size_t n_labels)
{
	for (size_t i = 0; i < n_labels; i++) {
		int c = strcmp(a[i], b[i]);
		if (c)
			return c;
	}
	return 0;
}

void metrics_store_count(struct metrics_store *s, enum metrics_counter c, const char *const *label_values,
	uint64_t delta)
{
	struct event_family *fam;
	size_t n_labels, lo, hi;

	if (!s || (unsigned)c >= METRICS_COUNTER_COUNT || !label_values)
		return;
	n_labels = event_families[c].n_labels;
	for (size_t i = 0; i < n_labels; i++)
		if (!label_values[i])
			return;
	fam = &s->events[c];
	mutex_lock(&s->lock);
	s->self_gen++;
	lo = 0;
	hi = fam->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = event_series_cmp((const char *const *)fam->series[mid].values, label_values, n_labels);
		if (cmp == 0) {
			fam->series[mid].count += delta;
			goto out;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (fam->n >= MAX_EVENT_SERIES)
		goto out;
	if (fam->n == fam->cap) {
		size_t cap = fam->cap ? fam->cap * 2 : 16;
		struct event_series *series = realloc(fam->series, cap * sizeof(*series));
		if (!series)
			goto out;
		fam->series = series;
		fam->cap = cap;
	}
	struct event_series e = {.values = calloc(n_labels, sizeof(char *)), .count = delta};
	if (!e.values)
		goto out;
	for (size_t i = 0; i < n_labels; i++) {
		e.values[i] = strdup(label_values[i]);
		if (!e.values[i]) {
			event_series_free(&e, n_labels);
			goto out;
		}
	}
	memmove(&fam->series[lo + 1], &fam->series[lo], (fam->n - lo) * sizeof(*fam->series));
	fam->series[lo] = e;
	fam->n++;
out:
	mutex_unlock(&s->lock);
}

/* Drops the event series of (farm, report) pairs that are no longer declared. s->lock held. */
static void events_prune(struct metrics_store *s)
{
	for (size_t f = 0; f < METRICS_COUNTER_COUNT; f++) {
		struct event_family *fam = &s->events[f];
		size_t n_labels = event_families[f].n_labels, kept = 0;
		if (n_labels < 2 || strcmp(event_families[f].labels[1], "report") != 0)
			continue;
		for (size_t i = 0; i < fam->n; i++) {
			struct event_series *e = &fam->series[i];
			if (entry_find(s->entries, s->n_entries, e->values[0], e->values[1]))
				fam->series[kept++] = *e;
			else
				event_series_free(e, n_labels);
		}
		fam->n = kept;
	}
}

/* Renders the event counter families. s->lock held. */
static int events_render(struct metrics_store *s, struct metrics_buf *b)
{
	char value[32];

	for (size_t f = 0; f < METRICS_COUNTER_COUNT; f++) {
		const struct event_family *fam = &s->events[f];
		if (!fam->n)
			continue;
		if (buf_puts(b, "# HELP ") < 0 || buf_puts(b, event_families[f].name) < 0 || buf_puts(b, " ") < 0 ||
			buf_puts(b, event_families[f].help) < 0 || buf_puts(b, "\n# TYPE ") < 0 ||
			buf_puts(b, event_families[f].name) < 0 || buf_puts(b, " counter\n") < 0)
			return -ENOMEM;
		for (size_t i = 0; i < fam->n; i++) {
			if (buf_puts(b, event_families[f].name) < 0 || buf_puts(b, "{") < 0)
				return -ENOMEM;
			for (size_t l = 0; l < event_families[f].n_labels; l++) {
				if ((l && buf_puts(b, ",") < 0) || buf_puts(b, event_families[f].labels[l]) < 0 ||
					buf_puts(b, "=\"") < 0 || metrics_buf_escape_label(b, fam->series[i].values[l]) < 0 ||
					buf_puts(b, "\"") < 0)
					return -ENOMEM;
			}
			snprintf(value, sizeof(value), "} %llu\n", (unsigned long long)fam->series[i].count);
			if (buf_puts(b, value) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

int metrics_store_new(struct metrics_store **out, const char *version)
{
	struct metrics_store *s;
	int r;

	if (!out || !version)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = pthread_mutex_init(&s->build_lock, NULL);
	if (r) {
		free(s);
		return -r;
	}
	r = pthread_mutex_init(&s->lock, NULL);
	if (r) {
		pthread_mutex_destroy(&s->build_lock);
		free(s);
		return -r;
	}
	(void)pthread_once(&header_parts_once, header_parts_init);
	s->version = strdup(version);
	if (!s->version) {
		metrics_store_free(s);
		return -ENOMEM;
	}
	r = body_build(NULL, 0, &s->body);
	if (r < 0) {
		metrics_store_free(s);
		return r;
	}
	*out = s;
	return 0;
}

void metrics_store_free(struct metrics_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_entries; i++)
		entry_free(s->entries[i]);
	free(s->entries);
	for (size_t i = 0; i < s->n_counters; i++)
		free(s->counters[i].operation);
	free(s->counters);
	for (size_t f = 0; f < METRICS_COUNTER_COUNT; f++) {
		for (size_t i = 0; i < s->events[f].n; i++)
			event_series_free(&s->events[f].series[i], event_families[f].n_labels);
		free(s->events[f].series);
	}
	/* Scrapes still in flight hold their own reference. */
	body_unref(s->body);
	self_cache_unref(s->self);
	metrics_buf_deinit(&s->inventory); /* inventory hook (h11-inventory) */
	free(s->version);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->build_lock);
	free(s);
}

int metrics_store_set_reports(struct metrics_store *s, const struct config *cfg)
{
	struct metrics_entry **entries = NULL, **old_entries;
	struct metrics_body *body = NULL, *old_body;
	int64_t *intervals = NULL;
	size_t n = 0, max, old_n;
	int ret = -ENOMEM;

	if (!s || !cfg)
		return -EINVAL;
	if (cfg->n_farms && cfg->n_reports > SIZE_MAX / sizeof(*entries) / cfg->n_farms)
		return -ENOMEM;
	max = cfg->n_farms * cfg->n_reports;
	entries = calloc(max ? max : 1, sizeof(*entries));
	intervals = calloc(max ? max : 1, sizeof(*intervals));
	if (!entries || !intervals)
		goto out_free;

	mutex_lock(&s->build_lock);
	for (size_t i = 0; i < s->n_entries; i++)
		s->entries[i]->keep = false;
	for (size_t f = 0; f < cfg->n_farms; f++) {
		for (size_t r = 0; r < cfg->n_reports; r++) {
			const char *farm_id = cfg->farms[f].id, *report = cfg->reports[r].name;
			struct metrics_entry *e;
			if (entry_find(entries, n, farm_id, report))
				continue; /* a farm listed twice: once is enough */
			e = entry_find(s->entries, s->n_entries, farm_id, report);
			if (e) {
				e->keep = true;
			} else {
				e = calloc(1, sizeof(*e));
				if (!e)
					goto out_unlock;
				entries[n] = e; /* owned by the new array from here, freed on failure */
				e->farm_id = strdup(farm_id);
				e->report = strdup(report);
				if (!e->farm_id || !e->report) {
					n++;
					goto out_unlock;
				}
				e->interval_seconds = cfg->reports[r].interval_seconds;
			}
			intervals[n] = cfg->reports[r].interval_seconds;
			entries[n++] = e;
		}
	}
	ret = body_build(entries, n, &body);
	if (ret < 0)
		goto out_unlock;

	mutex_lock(&s->lock);
	old_entries = s->entries;
	old_n = s->n_entries;
	old_body = s->body;
	for (size_t i = 0; i < n; i++)
		entries[i]->interval_seconds = intervals[i];
	s->entries = entries;
	s->n_entries = n;
	s->body = body;
	s->declared = true;
	s->self_gen++;
	events_prune(s);
	mutex_unlock(&s->lock);

	for (size_t i = 0; i < old_n; i++)
		if (!old_entries[i]->keep)
			entry_free(old_entries[i]);
	mutex_unlock(&s->build_lock);
	free(old_entries);
	free(intervals);
	body_unref(old_body);
	return 0;

out_unlock:
	for (size_t i = 0; i < n; i++)
		if (!entry_find(s->entries, s->n_entries, entries[i]->farm_id ? entries[i]->farm_id : "",
			    entries[i]->report ? entries[i]->report : ""))
			entry_free(entries[i]);
	mutex_unlock(&s->build_lock);
out_free:
	free(entries);
	free(intervals);
	return ret;
}

int metrics_store_publish(struct metrics_store *s, const char *farm_id, const struct report_config *r,
	struct usage_table *t, int64_t now, double duration_seconds)
{
	struct metrics_snapshot *snap = NULL, *old_snap;
	struct metrics_body *body = NULL, *old_body;
	struct metrics_entry *e;
	int ret;

	if (!s || !farm_id || !r || !r->name || !t)
		return -EINVAL;
	ret = snapshot_render(&snap, farm_id, r, t);
	if (ret < 0)
		return ret;

	mutex_lock(&s->build_lock);
	e = entry_find(s->entries, s->n_entries, farm_id, r->name);
	if (!e) {
		mutex_unlock(&s->build_lock);
		log_debug("farm=%s report=%s msg=\"figures of an undeclared report dropped\"", farm_id, r->name);
		snapshot_unref(snap);
		return -ENOENT;
	}
	old_snap = e->snap;
	e->snap = snap;
	ret = body_build(s->entries, s->n_entries, &body);
	if (ret < 0) {
		e->snap = old_snap;
		mutex_unlock(&s->build_lock);
		snapshot_unref(snap);
		return ret;
	}
	mutex_lock(&s->lock);
	old_body = s->body;
	s->body = body;
	e->attempted = true;
	e->up = true;
	e->succeeded = true;
	e->last_success = now;
	e->duration = duration_seconds;
	s->self_gen++;
	mutex_unlock(&s->lock);
	mutex_unlock(&s->build_lock);

	snapshot_unref(old_snap);
	body_unref(old_body);
	return 0;
}

void metrics_store_fail(struct metrics_store *s, const char *farm_id, const char *report, double duration_seconds)
{
	struct metrics_entry *e;

	if (!s || !farm_id || !report)
		return;
	mutex_lock(&s->lock);
	e = entry_find(s->entries, s->n_entries, farm_id, report);
	if (e) {
		e->attempted = true;
		e->up = false;
		e->duration = duration_seconds;
		s->self_gen++;
	}
	mutex_unlock(&s->lock);
}

int metrics_store_drop(struct metrics_store *s, const char *farm_id, const char *report)
{
	struct metrics_body *body = NULL, *old_body;
	struct metrics_entry *e;
	size_t i;
	int ret;

	if (!s || !farm_id || !report)
		return -EINVAL;
	mutex_lock(&s->build_lock);
	for (i = 0; i < s->n_entries; i++)
		if (!strcmp(s->entries[i]->farm_id, farm_id) && !strcmp(s->entries[i]->report, report))
			break;
	if (i == s->n_entries) {
		mutex_unlock(&s->build_lock);
		return -ENOENT;
	}
	e = s->entries[i];
	/* Build the body without it first, so a failure leaves everything as it was. */
	struct metrics_snapshot *snap = e->snap;
	e->snap = NULL;
	ret = body_build(s->entries, s->n_entries, &body);
	if (ret < 0) {
		e->snap = snap;
		mutex_unlock(&s->build_lock);
		return ret;
	}
	e->snap = snap;
	mutex_lock(&s->lock);
	old_body = s->body;
	s->body = body;
	memmove(&s->entries[i], &s->entries[i + 1], (s->n_entries - i - 1) * sizeof(*s->entries));
	s->n_entries--;
	s->self_gen++;
	events_prune(s);
	mutex_unlock(&s->lock);
	mutex_unlock(&s->build_lock);
	entry_free(e);
	body_unref(old_body);
	return 0;
}

void metrics_store_count_request(struct metrics_store *s, const char *operation, long status)
{
	size_t i;

	if (!s || !operation)
		return;
	if (status < 100 || status > 999)
		status = 0;
	mutex_lock(&s->lock);
	s->self_gen++;
	/* Kept sorted by (operation, status): the output order is stable and the list is short. */
	for (i = 0; i < s->n_counters; i++) {
		int c = strcmp(s->counters[i].operation, operation);
		if (c > 0 || (c == 0 && s->counters[i].status >= status))
			break;
	}
	if (i < s->n_counters && s->counters[i].status == status && strcmp(s->counters[i].operation, operation) == 0) {
		s->counters[i].count++;
		goto out;
	}
	if (s->n_counters >= MAX_REQUEST_COUNTERS)
		goto out;
	if (s->n_counters == s->cap_counters) {
		size_t cap = s->cap_counters ? s->cap_counters * 2 : 16;
		struct request_counter *counters = realloc(s->counters, cap * sizeof(*counters));
		if (!counters)
			goto out;
		s->counters = counters;
		s->cap_counters = cap;
	}
	char *copy = strdup(operation);
	if (!copy)
		goto out;
	memmove(&s->counters[i + 1], &s->counters[i], (s->n_counters - i) * sizeof(*s->counters));
	s->counters[i].operation = copy;
	s->counters[i].status = status;
	s->counters[i].count = 1;
	s->n_counters++;
out:
	mutex_unlock(&s->lock);
}

/* >>> inventory hook (h11-inventory) */
int metrics_store_set_inventory(struct metrics_store *s, const char *text, size_t len)
{
	struct metrics_buf copy = {0};

	if (len && metrics_buf_append(&copy, text, len) < 0)
		return -ENOMEM;
	mutex_lock(&s->lock);
	metrics_buf_deinit(&s->inventory);
	s->inventory = copy;
	s->self_gen++;
	mutex_unlock(&s->lock);
	return 0;
}
/* <<< inventory hook */

bool metrics_store_ready(struct metrics_store *s)
{
	bool ready;

	if (!s)
		return false;
	mutex_lock(&s->lock);
	ready = s->declared;
	for (size_t i = 0; ready && i < s->n_entries; i++)
		ready = s->entries[i]->attempted;
	mutex_unlock(&s->lock);
	return ready;
}

/* `name{farm_id="…",report="…"} ` */
static int self_pair_labels(struct metrics_buf *b, const char *name, const struct metrics_entry *e)
{
	if (buf_puts(b, name) < 0 || buf_puts(b, "{farm_id=\"") < 0 || metrics_buf_escape_label(b, e->farm_id) < 0 ||
		buf_puts(b, "\",report=\"") < 0 || metrics_buf_escape_label(b, e->report) < 0 ||
		buf_puts(b, "\"} ") < 0)
		return -ENOMEM;
	return 0;
}

enum self_pair_figure {
	SELF_UP,
	SELF_LAST_SUCCESS,
	SELF_DURATION,
	SELF_INTERVAL,
};

/* The exporter's own health, rendered per scrape (small). s->lock held. */
static int self_render(struct metrics_store *s, struct metrics_buf *b)
{
	static const struct {
		const char *name, *header;
	} pair_families[] = {
		[SELF_UP] = {"deadline_cloud_exporter_report_up",
			"# HELP deadline_cloud_exporter_report_up 1 when the last refresh of the report for the farm "
			"succeeded, 0 when it failed or has not finished yet.\n"
			"# TYPE deadline_cloud_exporter_report_up gauge\n"},
		[SELF_LAST_SUCCESS] = {"deadline_cloud_exporter_report_last_success_timestamp_seconds",
			"# HELP deadline_cloud_exporter_report_last_success_timestamp_seconds Unix time of the last "
			"successful refresh of the report for the farm, 0 before the first.\n"
			"# TYPE deadline_cloud_exporter_report_last_success_timestamp_seconds gauge\n"},
		[SELF_DURATION] = {"deadline_cloud_exporter_report_duration_seconds",
			"# HELP deadline_cloud_exporter_report_duration_seconds Length in seconds of the last refresh "
			"attempt of the report for the farm.\n"
			"# TYPE deadline_cloud_exporter_report_duration_seconds gauge\n"},
		[SELF_INTERVAL] = {"deadline_cloud_exporter_report_interval_seconds",
			"# HELP deadline_cloud_exporter_report_interval_seconds Configured refresh interval of the "
			"report, "
			"in seconds.\n"
			"# TYPE deadline_cloud_exporter_report_interval_seconds gauge\n"},
	};
	char value[64];

	/* inventory hook (h11-inventory): the inventory's families, rendered whole by metrics/inventory.c */
	if (s->inventory.len && metrics_buf_append(b, s->inventory.data, s->inventory.len) < 0)
		return -ENOMEM;
	for (size_t f = 0; f < sizeof(pair_families) / sizeof(pair_families[0]); f++) {
		bool header = false;
		for (size_t i = 0; i < s->n_entries; i++) {
			const struct metrics_entry *e = s->entries[i];
			switch (f) {
			case SELF_UP:
				snprintf(value, sizeof(value), "%d", e->up ? 1 : 0);
				break;
			case SELF_LAST_SUCCESS:
				snprintf(value, sizeof(value), "%lld", (long long)(e->succeeded ? e->last_success : 0));
				break;
			case SELF_DURATION:
				if (!e->attempted)
					continue;
				format_double(value, sizeof(value), e->duration);
				break;
			default:
				snprintf(value, sizeof(value), "%lld", (long long)e->interval_seconds);
				break;
			}
			if (!header && buf_puts(b, pair_families[f].header) < 0)
				return -ENOMEM;
			header = true;
			if (self_pair_labels(b, pair_families[f].name, e) < 0 || buf_puts(b, value) < 0 ||
				buf_puts(b, "\n") < 0)
				return -ENOMEM;
		}
	}
	if (s->n_counters &&
		buf_puts(b, "# HELP deadline_cloud_exporter_api_requests_total Deadline Cloud API requests made, by "
			    "operation and HTTP status code (error: the request failed before a status).\n"
			    "# TYPE deadline_cloud_exporter_api_requests_total counter\n") < 0)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_counters; i++) {
		const struct request_counter *c = &s->counters[i];
		if (c->status)
			snprintf(value, sizeof(value), "%ld", c->status);
		else
			snprintf(value, sizeof(value), "error");
		if (buf_puts(b, "deadline_cloud_exporter_api_requests_total{operation=\"") < 0 ||
			metrics_buf_escape_label(b, c->operation) < 0 || buf_puts(b, "\",code=\"") < 0 ||
			buf_puts(b, value) < 0 || buf_puts(b, "\"} ") < 0)
			return -ENOMEM;
		snprintf(value, sizeof(value), "%llu\n", (unsigned long long)c->count);
		if (buf_puts(b, value) < 0)
			return -ENOMEM;
	}
	if (events_render(s, b) < 0)
		return -ENOMEM;
	if (buf_puts(b, "# HELP deadline_cloud_exporter_build_info The exporter's version; always 1.\n"
			"# TYPE deadline_cloud_exporter_build_info gauge\n"
			"deadline_cloud_exporter_build_info{version=\"") < 0 ||
		metrics_buf_escape_label(b, s->version) < 0 || buf_puts(b, "\"} 1\n") < 0)
		return -ENOMEM;
	return 0;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v & 0xff);
	p[1] = (unsigned char)((v >> 8) & 0xff);
	p[2] = (unsigned char)((v >> 16) & 0xff);
	p[3] = (unsigned char)((v >> 24) & 0xff);
}

/*
 * The self-metrics of the current state: the cached ones while nothing they print has changed, else rendered
 * (under s->lock, with the body reference taken at the same time) and compressed outside it, then cached.
 */
static int self_get(struct metrics_store *s, struct metrics_body **body_out, struct self_cache **out)
{
	struct self_cache *self, *old = NULL;
	int r;

	mutex_lock(&s->lock);
	*body_out = s->body;
	atomic_fetch_add(&s->body->refs, 1);
	self = s->self;
	if (self && self->gen == s->self_gen) {
		atomic_fetch_add(&self->refs, 1);
		mutex_unlock(&s->lock);
		*out = self;
		return 0;
	}
	self = calloc(1, sizeof(*self));
	if (!self) {
		mutex_unlock(&s->lock);
		return -ENOMEM;
	}
	atomic_init(&self->refs, 1);
	self->gen = s->self_gen;
	r = self_render(s, &self->text);
	mutex_unlock(&s->lock);
	if (r < 0)
		goto fail;
	self->crc = crc32_z(crc32(0, Z_NULL, 0), (const Bytef *)self->text.data, self->text.len);
	r = deflate_raw(self->text.data, self->text.len, Z_FINISH, SELF_LEVEL, &self->deflated, &self->deflated_len);
	if (r < 0)
		goto fail;
	mutex_lock(&s->lock);
	if (s->self_gen == self->gen && (!s->self || s->self->gen != self->gen)) {
		old = s->self;
		s->self = self;
		atomic_fetch_add(&self->refs, 1);
	}
	mutex_unlock(&s->lock);
	self_cache_unref(old);
	*out = self;
	return 0;
fail:
	self_cache_unref(self);
	return r;
}

static void scrape_add(struct iovec *iov, unsigned *n, size_t *total, const void *base, size_t len)
{
	if (!len)
		return;
	iov[*n].iov_base = (void *)(uintptr_t)base;
	iov[*n].iov_len = len;
	(*n)++;
	*total += len;
}

int metrics_store_scrape(struct metrics_store *s, bool gzip, struct metrics_scrape *out)
{
	struct metrics_body *body = NULL;
	struct self_cache *self = NULL;
	unsigned char *trailer;
	size_t n_pieces;
	int r;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!s)
		return -EINVAL;
	r = self_get(s, &body, &self);
	out->refs[0] = body;
	out->refs[1] = self;
	if (r < 0)
		goto fail;
	/* The pieces: gzip header, the body's, the self-metrics, the trailer (stored after the array). */
	n_pieces = (gzip ? body->n_deflated : body->n_plain) + 3;
	if (n_pieces > UINT_MAX || n_pieces > (SIZE_MAX - 8) / sizeof(struct iovec)) {
		r = -ENOMEM;
		goto fail;
	}
	out->iov = malloc(n_pieces * sizeof(struct iovec) + 8);
	if (!out->iov) {
		r = -ENOMEM;
		goto fail;
	}
	out->refs[2] = out->iov;
	trailer = (unsigned char *)(out->iov + n_pieces);

	if (!gzip) {
		for (size_t i = 0; i < body->n_plain; i++)
			scrape_add(
				out->iov, &out->n_iov, &out->total_len, body->plain[i].iov_base, body->plain[i].iov_len);
		scrape_add(out->iov, &out->n_iov, &out->total_len, self->text.data, self->text.len);
		return 0;
	}
	/*
	 * One gzip member out of raw deflate streams: the body's parts (sync-flushed, each independent) and the
	 * self-metrics' (finished). The trailer's crc32 and length cover both texts.
	 */
	uLong crc = crc32_combine(body->crc, self->crc, (z_off_t)self->text.len);
	put_le32(trailer, (uint32_t)crc);
	put_le32(trailer + 4, (uint32_t)((body->text_len + self->text.len) & 0xffffffffu));
	scrape_add(out->iov, &out->n_iov, &out->total_len, gzip_header, sizeof(gzip_header));
	for (size_t i = 0; i < body->n_deflated; i++)
		scrape_add(
			out->iov, &out->n_iov, &out->total_len, body->deflated[i].iov_base, body->deflated[i].iov_len);
	scrape_add(out->iov, &out->n_iov, &out->total_len, self->deflated, self->deflated_len);
	scrape_add(out->iov, &out->n_iov, &out->total_len, trailer, 8);
	return 0;
fail:
	metrics_scrape_release(out);
	return r;
}

void metrics_scrape_release(struct metrics_scrape *sc)
{
	if (!sc)
		return;
	body_unref(sc->refs[0]);
	self_cache_unref(sc->refs[1]);
	free(sc->refs[2]);
	memset(sc, 0, sizeof(*sc));
}
