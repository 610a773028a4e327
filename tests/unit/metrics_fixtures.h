/* metrics_fixtures: what the metrics tests share: configurations, usage tables, scrapes read back, format checks */
/* Header-only, like test.h, so that its checks count in the test that includes it (one per test executable). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "config/config.h"
#include "metrics/section.h"
#include "metrics/store.h"
#include "metrics/usage.h"
#include "expfmt_check.h"
#include "test.h"

#define FARM_A "farm-0123456789abcdef0123456789abcdef"
#define FARM_B "farm-fedcba9876543210fedcba9876543210"
#define QUEUE_A "queue-00000000000000000000000000000001"
#define QUEUE_B "queue-00000000000000000000000000000002"
/* The window every test publishes: November 2025 to the 26th. */
#define WINDOW_START 1761955200
#define WINDOW_END 1764115200

/* A configuration built by hand: the store only reads farm ids, report names and intervals. */
struct test_config {
	struct config cfg;
	struct farm_config farms[2];
	struct report_config reports[3];
};

static inline void fixture_report(struct report_config *r, const char *name, enum group_field g0, enum group_field g1,
	size_t n_group_by, unsigned statistics)
{
	memset(r, 0, sizeof(*r));
	r->name = (char *)name;
	r->group_by[0] = g0;
	r->group_by[1] = g1;
	r->n_group_by = n_group_by;
	r->statistics = statistics;
	r->interval_seconds = 300;
	r->interval_text = (char *)"5m";
	r->window = WINDOW_MONTH;
	r->window_text = (char *)"month";
}

/* month_to_date (QUEUE_ID, USAGE_TYPE; SUM AVG), jobs (JOB_ID; MIN MAX; 15m), everything (USER_ID, JOB_ID; all). */
static inline void fixture_config(struct test_config *tc, size_t n_farms, size_t n_reports)
{
	memset(tc, 0, sizeof(*tc));
	tc->farms[0].id = (char *)FARM_A;
	tc->farms[1].id = (char *)FARM_B;
	fixture_report(&tc->reports[0], "month_to_date", GROUP_QUEUE_ID, GROUP_USAGE_TYPE, 2, STAT_SUM | STAT_AVG);
	fixture_report(&tc->reports[1], "jobs", GROUP_JOB_ID, GROUP_QUEUE_ID, 1, STAT_MIN | STAT_MAX);
	tc->reports[1].interval_seconds = 900;
	fixture_report(&tc->reports[2], "everything", GROUP_USER_ID, GROUP_JOB_ID, 2, STAT_ALL);
	tc->cfg.farms = tc->farms;
	tc->cfg.n_farms = n_farms;
	tc->cfg.reports = tc->reports;
	tc->cfg.n_reports = n_reports;
}

/* A row with every statistic: min avg/2, max avg·2. Returns usage_table_add()'s result. */
static inline int fixture_add_row(struct usage_table *t, const char *queue, const char *usage_type, const char *job,
	const char *job_name, int64_t count, double cost_sum, double cost_avg, double rt_sum, double rt_avg)
{
	struct usage_row row;

	memset(&row, 0, sizeof(row));
	row.fields[GROUP_QUEUE_ID] = (char *)queue;
	row.fields[GROUP_USAGE_TYPE] = (char *)usage_type;
	row.fields[GROUP_JOB_ID] = (char *)job;
	row.job_name = (char *)job_name;
	row.count = count;
	row.cost.present = STAT_ALL;
	row.cost.sum = cost_sum;
	row.cost.avg = cost_avg;
	row.cost.min = cost_avg / 2;
	row.cost.max = cost_avg * 2;
	row.runtime.present = STAT_ALL;
	row.runtime.sum = rt_sum;
	row.runtime.avg = rt_avg;
	row.runtime.min = rt_avg / 2;
	row.runtime.max = rt_avg * 2;
	return usage_table_add(t, &row);
}

/* The rows of month_to_date: 3 rows, 2 groups. */
static inline struct usage_table *fixture_table_month(void)
{
	enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_USAGE_TYPE};
	struct usage_table *t = NULL;

	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	CHECK_INT(fixture_add_row(t, QUEUE_B, "LICENSE", NULL, NULL, 2, 0.5, 0.25, 7200, 3600), 0);
	CHECK_INT(fixture_add_row(t, QUEUE_A, "COMPUTE", NULL, NULL, 3, 4.5, 1.5, 4.5, 1.5), 0);
	CHECK_INT(fixture_add_row(t, QUEUE_A, "COMPUTE", NULL, NULL, 1, 0.25, 0.25, 3600, 3600), 0);
	return t;
}

/* The rows of jobs: 2 jobs, one with a hostile name. */
static inline struct usage_table *fixture_table_jobs(void)
{
	enum group_field gb[1] = {GROUP_JOB_ID};
	struct usage_table *t = NULL;

	CHECK_INT(usage_table_new(&t, gb, 1), 0);
	CHECK_INT(fixture_add_row(t, QUEUE_A, "COMPUTE", "job-1", "Shot \"A\"\\v2\nfinal", 1, 2, 2, 60, 60), 0);
	CHECK_INT(fixture_add_row(t, QUEUE_A, "COMPUTE", "job-2", NULL, 1, 1e21, 1e21, 0.1, 0.1), 0);
	return t;
}

/* The pieces of a scrape joined, NUL-terminated; gzip scrapes are inflated with zlib. Does not release sc. */
static inline char *fixture_scrape_join(const struct metrics_scrape *sc, bool gzip, size_t *len_out)
{
	char *raw, *text = NULL;
	size_t at = 0;

	raw = malloc(sc->total_len + 1);
	CHECK(raw != NULL);
	if (!raw)
		return NULL;
	for (unsigned i = 0; i < sc->n_iov; i++) {
		memcpy(raw + at, sc->iov[i].iov_base, sc->iov[i].iov_len);
		at += sc->iov[i].iov_len;
	}
	CHECK_INT(at, sc->total_len);
	raw[at] = '\0';
	if (!gzip) {
		if (len_out)
			*len_out = at;
		return raw;
	}

	z_stream zs;
	size_t cap = 4096 + at * 8, used = 0;
	memset(&zs, 0, sizeof(zs));
	CHECK_INT(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
	text = malloc(cap + 1);
	CHECK(text != NULL);
	zs.next_in = (Bytef *)raw;
	zs.avail_in = (uInt)at;
	int zr = Z_OK;
	while (text && zr == Z_OK) {
		if (used == cap) {
			char *bigger = realloc(text, cap * 2 + 1);
			if (!bigger) {
				free(text);
				text = NULL;
				break;
			}
			text = bigger;
			cap *= 2;
		}
		zs.next_out = (Bytef *)text + used;
		zs.avail_out = (uInt)(cap - used);
		zr = inflate(&zs, Z_NO_FLUSH);
		used = cap - zs.avail_out;
	}
	CHECK_MSG(zr == Z_STREAM_END, "inflate: %d %s", zr, zs.msg ? zs.msg : "");
	CHECK_INT(zs.avail_in, 0); /* one member, nothing after the trailer */
	inflateEnd(&zs);
	free(raw);
	if (text) {
		text[used] = '\0';
		if (len_out)
			*len_out = used;
	}
	return text;
}

/* The whole text of a scrape of s, NUL-terminated; gzip scrapes are inflated with zlib. */
static inline char *fixture_scrape_text(struct metrics_store *s, bool gzip, size_t *len_out)
{
	struct metrics_scrape sc;
	char *text;

	if (metrics_store_scrape(s, gzip, &sc) != 0) {
		CHECK_MSG(0, "%s", "metrics_store_scrape failed");
		return NULL;
	}
	text = fixture_scrape_join(&sc, gzip, len_out);
	metrics_scrape_release(&sc);
	return text;
}

/* The text sections of one kind make together (their body's), NUL-terminated; NULL on failure (checked). */
static inline char *fixture_sections_text(struct metrics_kind *kind, struct metrics_section *const *secs, size_t n)
{
	struct metrics_body *body = NULL;
	struct buf b = {0};
	char *text;

	CHECK_INT(metrics_body_new(&body, kind, secs, n), 0);
	if (!body)
		return NULL;
	CHECK_INT(metrics_body_text(body, &b), 0);
	metrics_body_unref(body);
	text = buf_take(&b, NULL);
	CHECK(text != NULL);
	return text;
}

/* Removes the process_* families (their figures change from one read to the next) from text, in place. */
static inline void fixture_strip_process(char *text)
{
	char *in = text, *out = text;

	while (text && *in) {
		char *nl = strchr(in, '\n');
		size_t n = nl ? (size_t)(nl - in) + 1 : strlen(in);
		bool process = strncmp(in, "process_", 8) == 0 || strncmp(in, "# HELP process_", 15) == 0 ||
			       strncmp(in, "# TYPE process_", 15) == 0;
		if (!process) {
			memmove(out, in, n);
			out += n;
		}
		in += n;
	}
	if (text)
		*out = '\0';
}

/* The value of the sample whose name and labels are exactly series ("name{…}"), NaN when absent. */
static inline double fixture_sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		if (strncmp(line, series, n) == 0 && line[n] == ' ')
			return strtod(line + n + 1, NULL);
		line = nl ? nl + 1 : NULL;
	}
	return NAN;
}

/* The sum of every sample of metric name (any labels), and how many there were. */
static inline double fixture_sum_of(const char *text, const char *name, size_t *count)
{
	size_t n = strlen(name);
	double sum = 0;

	*count = 0;
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		if (strncmp(line, name, n) == 0 && (line[n] == '{' || line[n] == ' ')) {
			const char *sp = nl ? nl : line + strlen(line);
			while (sp > line && sp[-1] != ' ')
				sp--;
			sum += strtod(sp, NULL);
			(*count)++;
		}
		line = nl ? nl + 1 : NULL;
	}
	return sum;
}

/*
 * Whether text is the exposition this exporter promises: expfmt_check()'s strict reading of the format (families
 * grouped once, HELP and TYPE once and first, every sample typed, names, labels, escapes, UTF-8, values, no
 * duplicate series), and no sample with a timestamp. Prints the first problem.
 */
static inline bool fixture_exposition_ok(const char *text)
{
	char why[512];
	size_t line_no = 0;

	if (!text)
		return false;
	if (expfmt_check(text, strlen(text), why, sizeof(why)) != 0) {
		fprintf(stderr, "exposition: %s\n", why);
		return false;
	}
	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		const char *p = line;
		line_no++;
		if (*p == '#')
			continue;
		/* past the name and the label set (quoted values may hold spaces and braces) */
		while (*p != ' ' && *p != '{')
			p++;
		if (*p == '{') {
			for (bool quoted = false; *p != '}' || quoted; p++) {
				if (*p == '\\')
					p++;
				else if (*p == '"')
					quoted = !quoted;
			}
			p++;
		}
		if (strchr(p + 1, ' ') && strchr(p + 1, ' ') < strchr(p, '\n')) {
			fprintf(stderr, "exposition line %zu: a sample with a timestamp\n", line_no);
			return false;
		}
	}
	return true;
}

/* Whether program is on PATH (its path in out). */
static inline bool fixture_find_in_path(const char *program, char *out, size_t size)
{
	const char *path = getenv("PATH");

	while (path && *path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		if (n && snprintf(out, size, "%.*s/%s", (int)n, path, program) < (int)size && access(out, X_OK) == 0)
			return true;
		path += n + (colon ? 1 : 0);
	}
	return false;
}

/* Decodes the gzip scrape of s with `gzip -dc` and python3's gzip (each skipped when absent): must be want. */
static inline void fixture_check_external_gunzip(struct metrics_store *s, const char *want, size_t want_len)
{
	static const char *const tools[][2] = {
		{"gzip", "-dc <"},
		{"python3",
			"-c 'import gzip,sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))' <"},
	};
	char file[] = "/tmp/test-metrics-gz-XXXXXX", program[4096], command[8192];
	struct metrics_scrape sc;
	int fd;

	CHECK_INT(metrics_store_scrape(s, true, &sc), 0);
	fd = mkstemp(file);
	CHECK(fd >= 0);
	if (fd < 0) {
		metrics_scrape_release(&sc);
		return;
	}
	for (unsigned i = 0; i < sc.n_iov; i++)
		CHECK(write(fd, sc.iov[i].iov_base, sc.iov[i].iov_len) == (ssize_t)sc.iov[i].iov_len);
	CHECK_INT(close(fd), 0);
	metrics_scrape_release(&sc);
	for (size_t t = 0; t < sizeof(tools) / sizeof(tools[0]); t++) {
		if (!fixture_find_in_path(tools[t][0], program, sizeof(program))) {
			fprintf(stderr, "note: %s not on PATH, gzip not checked with it\n", tools[t][0]);
			continue;
		}
		snprintf(command, sizeof(command), "'%s' %s '%s'", program, tools[t][1], file);
		FILE *f = popen(command, "r");
		CHECK(f != NULL);
		if (!f)
			continue;
		char *got = malloc(want_len + 2);
		size_t n = got ? fread(got, 1, want_len + 1, f) : 0;
		int status = pclose(f);
		CHECK_MSG(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s status %d", tools[t][0],
			status);
		CHECK_MSG(got && n == want_len && memcmp(got, want, want_len) == 0,
			"%s: %zu bytes decoded, %zu expected", tools[t][0], n, want_len);
		free(got);
	}
	CHECK_INT(unlink(file), 0);
}

/* Prints where got and want first differ. */
static inline void fixture_print_diff(const char *got, const char *want)
{
	size_t i = 0;

	while (got[i] && got[i] == want[i])
		i++;
	size_t from = i > 80 ? i - 80 : 0;
	fprintf(stderr, "first difference at byte %zu:\n  got:  ...%.160s\n  want: ...%.160s\n", i, got + from,
		want + from);
}
