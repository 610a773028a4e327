/* test-metrics: rendering, escaping, the store's lifecycle, gzip scrapes and a strict exposition-format check */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "metrics/metrics.h"
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

static void report_init(struct report_config *r, const char *name, enum group_field g0, enum group_field g1,
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

static void config_init(struct test_config *tc, size_t n_farms, size_t n_reports)
{
	memset(tc, 0, sizeof(*tc));
	tc->farms[0].id = (char *)FARM_A;
	tc->farms[1].id = (char *)FARM_B;
	report_init(&tc->reports[0], "month_to_date", GROUP_QUEUE_ID, GROUP_USAGE_TYPE, 2, STAT_SUM | STAT_AVG);
	report_init(&tc->reports[1], "jobs", GROUP_JOB_ID, GROUP_QUEUE_ID, 1, STAT_MIN | STAT_MAX);
	tc->reports[1].interval_seconds = 900;
	report_init(&tc->reports[2], "everything", GROUP_USER_ID, GROUP_JOB_ID, 2, STAT_ALL);
	tc->cfg.farms = tc->farms;
	tc->cfg.n_farms = n_farms;
	tc->cfg.reports = tc->reports;
	tc->cfg.n_reports = n_reports;
}

static int add_row(struct usage_table *t, const char *queue, const char *usage_type, const char *job,
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

static struct usage_table *table_month(void)
{
	enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_USAGE_TYPE};
	struct usage_table *t = NULL;

	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	CHECK_INT(add_row(t, QUEUE_B, "LICENSE", NULL, NULL, 2, 0.5, 0.25, 7200, 3600), 0);
	CHECK_INT(add_row(t, QUEUE_A, "COMPUTE", NULL, NULL, 3, 4.5, 1.5, 4.5, 1.5), 0);
	CHECK_INT(add_row(t, QUEUE_A, "COMPUTE", NULL, NULL, 1, 0.25, 0.25, 3600, 3600), 0);
	return t;
}

static struct usage_table *table_jobs(void)
{
	enum group_field gb[1] = {GROUP_JOB_ID};
	struct usage_table *t = NULL;

	CHECK_INT(usage_table_new(&t, gb, 1), 0);
	CHECK_INT(add_row(t, QUEUE_A, "COMPUTE", "job-1", "Shot \"A\"\\v2\nfinal", 1, 2, 2, 60, 60), 0);
	CHECK_INT(add_row(t, QUEUE_A, "COMPUTE", "job-2", NULL, 1, 1e21, 1e21, 0.1, 0.1), 0);
	return t;
}

/* The pieces of a scrape joined, NUL-terminated; gzip scrapes are inflated with zlib. Does not release sc. */
static char *scrape_join(const struct metrics_scrape *sc, bool gzip, size_t *len_out)
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

/* The whole text of a scrape, NUL-terminated; gzip scrapes are inflated with zlib. */
static char *scrape_text(struct metrics_store *s, bool gzip, size_t *len_out)
{
	struct metrics_scrape sc;
	char *text;

	if (metrics_store_scrape(s, gzip, &sc) != 0) {
		CHECK_MSG(0, "%s", "metrics_store_scrape failed");
		return NULL;
	}
	text = scrape_join(&sc, gzip, len_out);
	metrics_scrape_release(&sc);
	return text;
}

/* Removes the process_* families (their figures change from one read to the next) from text, in place. */
static void strip_process(char *text)
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
static double sample(const char *text, const char *series)
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
static double sum_of(const char *text, const char *name, size_t *count)
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
 * A strict reader of the text format 0.0.4, as Prometheus parses it, plus the promises made here: every
 * family grouped once, HELP and TYPE once each and before the samples, every sample typed, label syntax and
 * escapes, valid UTF-8, a value and no timestamp, no duplicate series.
 */
#define MAX_FAMILIES 64

static bool is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static size_t name_length(const char *p, bool metric)
{
	size_t n = 0;

	if (!is_name_start(p[0]) || (!metric && p[0] == ':'))
		return 0;
	while (is_name_char(p[n]) && (metric || p[n] != ':'))
		n++;
	return n;
}

static bool utf8_valid(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		size_t len = c < 0x80                   ? 1
			     : (c >= 0xc2 && c <= 0xdf) ? 2
			     : (c >= 0xe0 && c <= 0xef) ? 3
			     : (c >= 0xf0 && c <= 0xf4) ? 4
							: 0;
		if (!len || i + len > n)
			return false;
		for (size_t k = 1; k < len; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		if ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f) ||
			(c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f))
			return false;
		i += len;
	}
	return true;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns the number of problems found, printing the first few with their line numbers. */
static int exposition_check(const char *text)
{
	struct {
		char name[128];
		bool help, type, samples;
	} fams[MAX_FAMILIES];
	size_t n_fams = 0, n_series = 0, cap_series = 0;
	char **series = NULL;
	int problems = 0, line_no = 0;
	const char *p = text;

#define PROBLEM(...) \
	do { \
		if (problems++ < 5) { \
			fprintf(stderr, "exposition line %d: ", line_no); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
		} \
	} while (0)

	if (!utf8_valid((const unsigned char *)text, strlen(text)))
		PROBLEM("not UTF-8");
	while (*p) {
		const char *end = strchr(p, '\n');
		line_no++;
		if (!end) {
			PROBLEM("no final newline");
			break;
		}
		size_t len = (size_t)(end - p);
		char line[1 << 16];
		if (len >= sizeof(line)) {
			PROBLEM("line too long for the checker");
			p = end + 1;
			continue;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = end + 1;

		if (line[0] == '#') {
			bool help = strncmp(line, "# HELP ", 7) == 0, type = strncmp(line, "# TYPE ", 7) == 0;
			if (!help && !type) {
				PROBLEM("comment that is neither HELP nor TYPE");
				continue;
			}
			size_t n = name_length(line + 7, true);
			if (!n || line[7 + n] != ' ' || n >= sizeof(fams[0].name)) {
				PROBLEM("bad metric name");
				continue;
			}
			if (n_fams == 0 || strncmp(fams[n_fams - 1].name, line + 7, n) != 0 ||
				fams[n_fams - 1].name[n] != '\0') {
				for (size_t i = 0; i < n_fams; i++)
					if (strncmp(fams[i].name, line + 7, n) == 0 && fams[i].name[n] == '\0')
						PROBLEM("family %s appears twice", fams[i].name);
				if (n_fams == MAX_FAMILIES) {
					PROBLEM("too many families");
					continue;
				}
				memset(&fams[n_fams], 0, sizeof(fams[0]));
				memcpy(fams[n_fams].name, line + 7, n);
				n_fams++;
			}
			if (fams[n_fams - 1].samples)
				PROBLEM("HELP/TYPE after samples");
			const char *rest = line + 7 + n + 1;
			if (help) {
				if (fams[n_fams - 1].help)
					PROBLEM("second HELP");
				fams[n_fams - 1].help = true;
				for (const char *c = rest; *c; c++)
					if (*c == '\\' && c[1] != '\\' && c[1] != 'n')
						PROBLEM("bad escape in HELP");
			} else {
				if (fams[n_fams - 1].type)
					PROBLEM("second TYPE");
				fams[n_fams - 1].type = true;
				if (strcmp(rest, "gauge") != 0 && strcmp(rest, "counter") != 0 &&
					strcmp(rest, "untyped") != 0)
					PROBLEM("unexpected type %s", rest);
			}
			continue;
		}
		if (line[0] == '\0') {
			PROBLEM("empty line");
			continue;
		}

		size_t n = name_length(line, true);
		if (!n) {
			PROBLEM("bad sample name");
			continue;
		}
		if (n_fams == 0 || strncmp(fams[n_fams - 1].name, line, n) != 0 || fams[n_fams - 1].name[n] != '\0' ||
			!fams[n_fams - 1].type) {
			PROBLEM("sample outside its family's group, or untyped");
			continue;
		}
		fams[n_fams - 1].samples = true;
		const char *c = line + n;
		if (*c == '{') {
			char seen[16][64];
			size_t n_seen = 0;
			c++;
			while (*c != '}') {
				size_t ln = name_length(c, false);
				if (!ln || c[ln] != '=' || c[ln + 1] != '"') {
					PROBLEM("bad label");
					break;
				}
				for (size_t i = 0; i < n_seen; i++)
					if (strlen(seen[i]) == ln && strncmp(seen[i], c, ln) == 0)
						PROBLEM("duplicate label");
				if (n_seen < 16 && ln < 64) {
					memcpy(seen[n_seen], c, ln);
					seen[n_seen++][ln] = '\0';
				}
				c += ln + 2;
				while (*c && *c != '"') {
					if (*c == '\\') {
						if (c[1] != '\\' && c[1] != '"' && c[1] != 'n')
							PROBLEM("bad escape in label value");
						c++;
					}
					if (*c)
						c++;
				}
				if (*c != '"') {
					PROBLEM("unterminated label value");
					break;
				}
				c++;
				if (*c == ',')
					c++;
				else if (*c != '}') {
					PROBLEM("expected , or }");
					break;
				}
			}
			if (*c != '}')
				continue;
			c++;
		}
		if (*c != ' ') {
			PROBLEM("no space before the value");
			continue;
		}
		if (n_series == cap_series) {
			cap_series = cap_series ? cap_series * 2 : 64;
			char **bigger = realloc(series, cap_series * sizeof(*series));
			if (!bigger) {
				PROBLEM("out of memory");
				break;
			}
			series = bigger;
		}
		series[n_series] = strndup(line, (size_t)(c - line));
		if (series[n_series])
			n_series++;
		c++;
		const char *value = c;
		if (strchr(value, ' '))
			PROBLEM("timestamp or trailing text after the value");
		else if (strcmp(value, "NaN") != 0 && strcmp(value, "+Inf") != 0 && strcmp(value, "-Inf") != 0) {
			char *vend;
			errno = 0;
			strtod(value, &vend);
			if (vend == value || *vend != '\0' || strchr(value, 'x') || strchr(value, 'X'))
				PROBLEM("bad value \"%s\"", value);
		}
	}
	for (size_t i = 0; i < n_fams; i++)
		if (!fams[i].samples)
			PROBLEM("family %s without samples", fams[i].name);
	qsort(series, n_series, sizeof(*series), compare_strings);
	for (size_t i = 1; i < n_series; i++)
		if (strcmp(series[i - 1], series[i]) == 0)
			PROBLEM("duplicate series %s", series[i]);
	for (size_t i = 0; i < n_series; i++)
		free(series[i]);
	free(series);
#undef PROBLEM
	return problems;
}

/* The known store's text, one family per piece (ISO C bounds the length of one string literal). */
static const char *const expected_known_parts[] = {
	"# HELP deadline_cloud_usage_cost_usd Total cost in US dollars of the group's sessions (the sum of costInUsd, "
	"Deadline Cloud's estimate) over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_cost_usd gauge\n"
	"deadline_cloud_usage_cost_usd{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_A
	"\",usage_type=\"COMPUTE\"} 4.75\n"
	"deadline_cloud_usage_cost_usd{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_B
	"\",usage_type=\"LICENSE\"} 0.5\n",
	"# HELP deadline_cloud_usage_session_cost_min_usd Cost in US dollars of the group's cheapest session over the "
	"report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_session_cost_min_usd gauge\n"
	"deadline_cloud_usage_session_cost_min_usd{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-1\",job_name=\"Shot \\\"A\\\"\\\\v2\\nfinal\"} 1\n"
	"deadline_cloud_usage_session_cost_min_usd{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-2\",job_name=\"\"} 5e+20\n",
	"# HELP deadline_cloud_usage_session_cost_max_usd Cost in US dollars of the group's most expensive session "
	"over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_session_cost_max_usd gauge\n"
	"deadline_cloud_usage_session_cost_max_usd{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-1\",job_name=\"Shot \\\"A\\\"\\\\v2\\nfinal\"} 4\n"
	"deadline_cloud_usage_session_cost_max_usd{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-2\",job_name=\"\"} 2e+21\n",
	"# HELP deadline_cloud_usage_session_cost_avg_usd Average cost in US dollars of one of the group's sessions "
	"over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_session_cost_avg_usd gauge\n"
	"deadline_cloud_usage_session_cost_avg_usd{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_A
	"\",usage_type=\"COMPUTE\"} 1.1875\n"
	"deadline_cloud_usage_session_cost_avg_usd{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_B
	"\",usage_type=\"LICENSE\"} 0.25\n",
	"# HELP deadline_cloud_usage_runtime_seconds Total run time in seconds of the group's sessions (the sum of "
	"runtimeInSeconds) over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_runtime_seconds gauge\n"
	"deadline_cloud_usage_runtime_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_A
	"\",usage_type=\"COMPUTE\"} 3604.5\n"
	"deadline_cloud_usage_runtime_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_B
	"\",usage_type=\"LICENSE\"} 7200\n",
	"# HELP deadline_cloud_usage_session_runtime_min_seconds Run time in seconds of the group's shortest session "
	"over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_session_runtime_min_seconds gauge\n"
	"deadline_cloud_usage_session_runtime_min_seconds{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-1\",job_name=\"Shot \\\"A\\\"\\\\v2\\nfinal\"} 30\n"
	"deadline_cloud_usage_session_runtime_min_seconds{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-2\",job_name=\"\"} 0.05\n",
	"# HELP deadline_cloud_usage_session_runtime_max_seconds Run time in seconds of the group's longest session "
	"over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_session_runtime_max_seconds gauge\n"
	"deadline_cloud_usage_session_runtime_max_seconds{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-1\",job_name=\"Shot \\\"A\\\"\\\\v2\\nfinal\"} 120\n"
	"deadline_cloud_usage_session_runtime_max_seconds{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-2\",job_name=\"\"} 0.2\n",
	"# HELP deadline_cloud_usage_session_runtime_avg_seconds Average run time in seconds of one of the group's "
	"sessions over the report's window (see deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_session_runtime_avg_seconds gauge\n"
	"deadline_cloud_usage_session_runtime_avg_seconds{farm_id=\"" FARM_A
	"\",report=\"month_to_date\",queue_id=\"" QUEUE_A "\",usage_type=\"COMPUTE\"} 901.125\n"
	"deadline_cloud_usage_session_runtime_avg_seconds{farm_id=\"" FARM_A
	"\",report=\"month_to_date\",queue_id=\"" QUEUE_B "\",usage_type=\"LICENSE\"} 3600\n",
	"# HELP deadline_cloud_usage_sessions Number of the group's sessions over the report's window (see "
	"deadline_cloud_usage_window_*_timestamp_seconds).\n"
	"# TYPE deadline_cloud_usage_sessions gauge\n"
	"deadline_cloud_usage_sessions{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_A
	"\",usage_type=\"COMPUTE\"} 4\n"
	"deadline_cloud_usage_sessions{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" QUEUE_B
	"\",usage_type=\"LICENSE\"} 2\n"
	"deadline_cloud_usage_sessions{farm_id=\"" FARM_A
	"\",report=\"jobs\",job_id=\"job-1\",job_name=\"Shot \\\"A\\\"\\\\v2\\nfinal\"} 1\n"
	"deadline_cloud_usage_sessions{farm_id=\"" FARM_A "\",report=\"jobs\",job_id=\"job-2\",job_name=\"\"} 1\n",
	"# HELP deadline_cloud_usage_window_start_timestamp_seconds Unix time of the start of the window that the "
	"report's usage figures for the farm cover (as of their last successful refresh).\n"
	"# TYPE deadline_cloud_usage_window_start_timestamp_seconds gauge\n"
	"deadline_cloud_usage_window_start_timestamp_seconds{farm_id=\"" FARM_A
	"\",report=\"month_to_date\"} 1761955200\n"
	"deadline_cloud_usage_window_start_timestamp_seconds{farm_id=\"" FARM_A "\",report=\"jobs\"} 1761955200\n",
	"# HELP deadline_cloud_usage_window_end_timestamp_seconds Unix time of the end of the window that the report's "
	"usage figures for the farm cover: when their last successful refresh began.\n"
	"# TYPE deadline_cloud_usage_window_end_timestamp_seconds gauge\n"
	"deadline_cloud_usage_window_end_timestamp_seconds{farm_id=\"" FARM_A
	"\",report=\"month_to_date\"} 1764115200\n"
	"deadline_cloud_usage_window_end_timestamp_seconds{farm_id=\"" FARM_A "\",report=\"jobs\"} 1764115200\n",
	"# HELP deadline_cloud_exporter_report_up 1 when the last refresh of the report for the farm succeeded, 0 when "
	"it failed or has not finished yet.\n"
	"# TYPE deadline_cloud_exporter_report_up gauge\n"
	"deadline_cloud_exporter_report_up{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 1\n"
	"deadline_cloud_exporter_report_up{farm_id=\"" FARM_A "\",report=\"jobs\"} 1\n",
	"# HELP deadline_cloud_exporter_report_last_success_timestamp_seconds Unix time of the last successful refresh "
	"of the report for the farm, 0 before the first.\n"
	"# TYPE deadline_cloud_exporter_report_last_success_timestamp_seconds gauge\n"
	"deadline_cloud_exporter_report_last_success_timestamp_seconds{farm_id=\"" FARM_A
	"\",report=\"month_to_date\"} 1764115200\n"
	"deadline_cloud_exporter_report_last_success_timestamp_seconds{farm_id=\"" FARM_A
	"\",report=\"jobs\"} 1764115260\n",
	"# HELP deadline_cloud_exporter_report_duration_seconds Length in seconds of the last refresh attempt of the "
	"report for the farm.\n"
	"# TYPE deadline_cloud_exporter_report_duration_seconds gauge\n"
	"deadline_cloud_exporter_report_duration_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 1.5\n"
	"deadline_cloud_exporter_report_duration_seconds{farm_id=\"" FARM_A "\",report=\"jobs\"} 0.25\n",
	"# HELP deadline_cloud_exporter_report_interval_seconds Configured refresh interval of the report, in "
	"seconds.\n"
	"# TYPE deadline_cloud_exporter_report_interval_seconds gauge\n"
	"deadline_cloud_exporter_report_interval_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 300\n"
	"deadline_cloud_exporter_report_interval_seconds{farm_id=\"" FARM_A "\",report=\"jobs\"} 900\n",
	"# HELP deadline_cloud_exporter_api_requests_total Deadline Cloud API requests made, by operation and HTTP "
	"status code (error: the request failed before a status).\n"
	"# TYPE deadline_cloud_exporter_api_requests_total counter\n"
	"deadline_cloud_exporter_api_requests_total{operation=\"GetSessionsStatisticsAggregation\",code=\"error\"} 1\n"
	"deadline_cloud_exporter_api_requests_total{operation=\"GetSessionsStatisticsAggregation\",code=\"200\"} 2\n"
	"deadline_cloud_exporter_api_requests_total{operation=\"StartSessionsStatisticsAggregation\",code=\"429\"} 1\n",
	"# HELP deadline_cloud_exporter_build_info The exporter's version; always 1.\n"
	"# TYPE deadline_cloud_exporter_build_info gauge\n"
	"deadline_cloud_exporter_build_info{version=\"1.2.3\"} 1\n",
	NULL,
};

static void print_diff(const char *got, const char *want)
{
	size_t i = 0;

	while (got[i] && got[i] == want[i])
		i++;
	size_t from = i > 80 ? i - 80 : 0;
	fprintf(stderr, "first difference at byte %zu:\n  got:  ...%.160s\n  want: ...%.160s\n", i, got + from,
		want + from);
}

/* A store holding month_to_date and jobs for FARM_A, both published, with a few API calls counted. */
static struct metrics_store *store_known(struct test_config *tc)
{
	struct metrics_store *s = NULL;
	struct usage_table *t;

	config_init(tc, 1, 2);
	CHECK_INT(metrics_store_new(&s, "1.2.3"), 0);
	if (!s)
		return NULL;
	CHECK_INT(metrics_store_set_reports(s, &tc->cfg), 0);
	t = table_month();
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc->reports[0], t, WINDOW_START, WINDOW_END, 1764115200, 1.5), 0);
	usage_table_free(t);
	t = table_jobs();
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc->reports[1], t, WINDOW_START, WINDOW_END, 1764115260, 0.25), 0);
	usage_table_free(t);
	metrics_store_count_request(s, "StartSessionsStatisticsAggregation", 429);
	metrics_store_count_request(s, "GetSessionsStatisticsAggregation", 200);
	metrics_store_count_request(s, "GetSessionsStatisticsAggregation", 0);
	metrics_store_count_request(s, "GetSessionsStatisticsAggregation", 200);
	return s;
}

static void test_known_rendering(void)
{
	struct test_config tc;
	struct metrics_store *s = store_known(&tc);
	struct buf want = {0};
	char *plain, *unzipped;
	size_t plain_len = 0, unzipped_len = 0;

	for (size_t i = 0; expected_known_parts[i]; i++)
		CHECK_INT(buf_append(&want, expected_known_parts[i], strlen(expected_known_parts[i])), 0);
	CHECK_INT(buf_append(&want, "", 1), 0);
	const char *expected_known = want.data;
	if (!s || !expected_known) {
		buf_deinit(&want);
		metrics_store_free(s);
		return;
	}
	plain = scrape_text(s, false, &plain_len);
	CHECK(plain != NULL);
	if (plain) {
		CHECK_INT(plain_len, strlen(plain));
		CHECK_INT(exposition_check(plain), 0);
	}
	unzipped = scrape_text(s, true, &unzipped_len);
	CHECK(unzipped != NULL);
	if (plain && unzipped) {
		CHECK_INT(unzipped_len, plain_len);
		CHECK(strcmp(unzipped, plain) == 0);
	}
	if (plain) {
		/* The process metrics come between the usage figures and the exporter's own (process.c's test). */
		const char *proc = strstr(plain, "# HELP process_cpu_seconds_total ");
		CHECK(proc && proc > strstr(plain, "deadline_cloud_usage_window_end_timestamp_seconds{"));
		CHECK(proc && proc < strstr(plain, "# HELP deadline_cloud_exporter_report_up "));
		strip_process(plain);
		if (strcmp(plain, expected_known) != 0) {
			CHECK_MSG(0, "%s", "rendering differs from the expected text");
			print_diff(plain, expected_known);
		}
	}
	free(plain);
	free(unzipped);
	buf_deinit(&want);
	metrics_store_free(s);
}

static void check_escape(const char *in, const char *want)
{
	struct buf b = {0};

	CHECK_INT(metrics_buf_escape_label(&b, in), 0);
	CHECK_INT(buf_append(&b, "", 1), 0);
	CHECK_STR(b.data, want);
	buf_deinit(&b);
}

static void test_escaping(void)
{
	check_escape("", "");
	check_escape("plain", "plain");
	check_escape("a\\b", "a\\\\b");
	check_escape("say \"hi\"", "say \\\"hi\\\"");
	check_escape("two\nlines", "two\\nlines");
	check_escape("tab\tand\rcr", "tab\tand\rcr");
	check_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xac", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xac");
	check_escape("bad\xff", "bad\xef\xbf\xbd");
	check_escape("\x80x", "\xef\xbf\xbdx");
	check_escape("cut\xe2\x82", "cut\xef\xbf\xbd"); /* truncated: one replacement */
	check_escape("\xe2\x82x", "\xef\xbf\xbdx"); /* interrupted: one replacement */
	check_escape("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"); /* overlong */
	check_escape("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
	check_escape("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* > U+10FFFF */
	check_escape("\xf0\x9f\x8e", "\xef\xbf\xbd");
	check_escape("\\\"\n\xff", "\\\\\\\"\\n\xef\xbf\xbd");

	/* Very long values: escaped whole, in linear time. */
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	struct buf b = {0};
	CHECK(big != NULL);
	if (!big)
		return;
	for (size_t i = 0; i < n; i++)
		big[i] = i % 3 == 0 ? '"' : (i % 3 == 1 ? 'x' : '\xff');
	big[n] = '\0';
	CHECK_INT(metrics_buf_escape_label(&b, big), 0);
	size_t thirds = (n + 2) / 3, middles = (n + 1) / 3, lasts = n / 3;
	CHECK_INT(b.len, thirds * 2 + middles + lasts * 3);
	buf_deinit(&b);
	free(big);
}

/* Only the statistics a report asks for; NaN and infinities spelled as the format wants. */
static void test_statistics_and_values(void)
{
	struct test_config tc;
	struct metrics_store *s = NULL;
	struct usage_table *t = NULL;
	enum group_field gb[2] = {GROUP_USER_ID, GROUP_JOB_ID};
	struct usage_row row;
	char *text;

	config_init(&tc, 1, 3);
	tc.reports[2].statistics = STAT_MAX | STAT_AVG;
	CHECK_INT(metrics_store_new(&s, "x"), 0);
	if (!s)
		return;
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	memset(&row, 0, sizeof(row));
	row.fields[GROUP_USER_ID] = (char *)"user-inf";
	row.fields[GROUP_JOB_ID] = (char *)"job-inf";
	row.count = 2;
	row.cost.present = STAT_MAX | STAT_AVG;
	row.cost.max = INFINITY;
	row.cost.avg = -INFINITY;
	row.runtime.present = STAT_MAX | STAT_AVG;
	row.runtime.max = 0.1 + 0.2;
	row.runtime.avg = NAN;
	CHECK_INT(usage_table_add(t, &row), 0);
	/* A row without a user: the empty label value. */
	row.fields[GROUP_USER_ID] = NULL;
	row.runtime.avg = 123456789012.0;
	row.cost.max = 1e-7;
	row.cost.avg = 1.0 / 3.0;
	CHECK_INT(usage_table_add(t, &row), 0);
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[2], t, WINDOW_START, WINDOW_END, 1, 0.001), 0);
	usage_table_free(t);
	text = scrape_text(s, false, NULL);
	CHECK(text != NULL);
	if (text) {
#define EVERYTHING(user) \
	"{farm_id=\"" FARM_A "\",report=\"everything\",user_id=\"" user "\",job_id=\"job-inf\",job_name=\"\"} "
		CHECK(strstr(text, "deadline_cloud_usage_cost_usd{") == NULL);
		CHECK(strstr(text, "deadline_cloud_usage_session_cost_min_usd{") == NULL);
		CHECK(strstr(text, "deadline_cloud_usage_session_cost_max_usd" EVERYTHING("user-inf") "+Inf\n"));
		CHECK(strstr(text, "deadline_cloud_usage_session_cost_avg_usd" EVERYTHING("user-inf") "-Inf\n"));
		CHECK(strstr(text, "deadline_cloud_usage_session_runtime_max_seconds" EVERYTHING(
					   "user-inf") "0.30000000000000004\n"));
		CHECK(strstr(text, "deadline_cloud_usage_session_runtime_avg_seconds" EVERYTHING("user-inf") "NaN\n"));
		CHECK(strstr(text, "deadline_cloud_usage_session_cost_max_usd" EVERYTHING("") "1e-07\n"));
		CHECK(strstr(text, "deadline_cloud_usage_session_cost_avg_usd" EVERYTHING("") "0.3333333333333333\n"));
		CHECK(strstr(text, "deadline_cloud_usage_session_runtime_avg_seconds" EVERYTHING("") "123456789012\n"));
#undef EVERYTHING
		CHECK(strstr(text, "report_duration_seconds{farm_id=\"" FARM_A "\",report=\"everything\"} 0.001\n"));
		/* Never attempted: up 0, last success 0, no duration. */
		CHECK(strstr(text, "report_up{farm_id=\"" FARM_A "\",report=\"jobs\"} 0\n"));
		CHECK(strstr(text, "timestamp_seconds{farm_id=\"" FARM_A "\",report=\"jobs\"} 0\n"));
		CHECK(strstr(text, "report_duration_seconds{farm_id=\"" FARM_A "\",report=\"jobs\"}") == NULL);
		/* No API call counted yet: the counter family is absent rather than empty. */
		CHECK(strstr(text, "api_requests_total") == NULL);
		CHECK_INT(exposition_check(text), 0);
	}
	free(text);
	metrics_store_free(s);
}

static void test_set_reports_and_ready(void)
{
	struct test_config tc;
	struct metrics_store *s = NULL;
	struct usage_table *t;
	char *text;

	CHECK_INT(metrics_store_new(&s, "1"), 0);
	if (!s)
		return;
	CHECK(!metrics_store_ready(s)); /* nothing declared yet */
	config_init(&tc, 2, 2);
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	CHECK(!metrics_store_ready(s));

	t = table_month();
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[0], t, WINDOW_START, WINDOW_END, 100, 1), 0);
	CHECK_INT(metrics_store_publish(s, FARM_B, &tc.reports[0], t, WINDOW_START, WINDOW_END, 100, 1), 0);
	CHECK(!metrics_store_ready(s));
	metrics_store_fail(s, FARM_A, "jobs", 2);
	CHECK(!metrics_store_ready(s));
	metrics_store_fail(s, FARM_B, "jobs", 2);
	CHECK(metrics_store_ready(s)); /* a failed first attempt counts as finished */
	metrics_store_fail(s, FARM_B, "unknown", 2);
	/* Undeclared pairs are refused, and change nothing. */
	CHECK_INT(metrics_store_publish(s, FARM_B, &tc.reports[2], t, WINDOW_START, WINDOW_END, 100, 1), -ENOENT);

	/* A failure after a success keeps the figures and the last success time, with up=0. */
	metrics_store_fail(s, FARM_A, "month_to_date", 3);
	text = scrape_text(s, false, NULL);
	CHECK(text != NULL);
	if (text) {
		CHECK(strstr(text, "report_up{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 0\n"));
		CHECK(strstr(text, "timestamp_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 100\n"));
		CHECK(strstr(text, "duration_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 3\n"));
		CHECK(strstr(text, "sessions{farm_id=\"" FARM_A "\",report=\"month_to_date\""));
		CHECK(strstr(text, "sessions{farm_id=\"" FARM_B "\",report=\"month_to_date\""));
		CHECK_INT(exposition_check(text), 0);
	}
	free(text);

	/* FARM_B leaves, a report is added: FARM_B disappears, FARM_A keeps its figures, not ready again. */
	config_init(&tc, 1, 3);
	tc.reports[0].interval_seconds = 60;
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	CHECK(!metrics_store_ready(s));
	text = scrape_text(s, false, NULL);
	CHECK(text != NULL);
	if (text) {
		CHECK(strstr(text, FARM_B) == NULL);
		CHECK(strstr(text, "sessions{farm_id=\"" FARM_A "\",report=\"month_to_date\""));
		CHECK(strstr(text, "timestamp_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 100\n"));
		CHECK(strstr(text, "interval_seconds{farm_id=\"" FARM_A "\",report=\"month_to_date\"} 60\n"));
		CHECK(strstr(text, "report_up{farm_id=\"" FARM_A "\",report=\"everything\"} 0\n"));
		CHECK_INT(exposition_check(text), 0);
	}
	free(text);
	metrics_store_fail(s, FARM_A, "everything", 1);
	CHECK(metrics_store_ready(s));

	/* Every report removed from the farm list: only the exporter's own figures remain. */
	config_init(&tc, 0, 3);
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	text = scrape_text(s, false, NULL);
	CHECK(text != NULL);
	if (text) {
		CHECK(strstr(text, "deadline_cloud_usage") == NULL);
		CHECK(strncmp(text, "# HELP process_cpu_seconds_total ", 33) == 0);
		CHECK(strstr(text, "\n# HELP deadline_cloud_exporter_build_info ") != NULL);
		CHECK_INT(exposition_check(text), 0);
	}
	free(text);
	usage_table_free(t);
	metrics_store_free(s);
	metrics_store_free(NULL);
}

/* A scrape's pieces stay valid and unchanged while newer figures are published, and after the store is gone. */
static void test_scrape_outlives_publish(void)
{
	struct test_config tc;
	struct metrics_store *s = store_known(&tc);
	struct metrics_scrape sc, gz;
	struct usage_table *t;
	char *before;

	if (!s)
		return;
	before = scrape_text(s, false, NULL);
	CHECK_INT(metrics_store_scrape(s, false, &sc), 0);
	CHECK_INT(metrics_store_scrape(s, true, &gz), 0);
	t = table_jobs();
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[0], t, WINDOW_START, WINDOW_END, 5, 5), 0);
	usage_table_free(t);
	char *after = scrape_text(s, false, NULL);
	CHECK(before && after && strcmp(before, after) != 0);
	metrics_store_free(s);
	size_t at = 0;
	bool same = before != NULL;
	for (unsigned i = 0; same && i < sc.n_iov; i++) {
		same = memcmp(before + at, sc.iov[i].iov_base, sc.iov[i].iov_len) == 0;
		at += sc.iov[i].iov_len;
	}
	CHECK(same && before && at == strlen(before));
	CHECK(gz.n_iov >= 4 && gz.total_len > 18);
	char *gz_text = scrape_join(&gz, true, NULL);
	CHECK(gz_text && before && strcmp(gz_text, before) == 0);
	free(gz_text);
	metrics_scrape_release(&sc);
	metrics_scrape_release(&gz);
	metrics_scrape_release(&gz); /* released twice: harmless */
	free(before);
	free(after);
}

static void check_external_gunzip(struct metrics_store *s, const char *want, size_t want_len);

/* gzip of an empty body, and of a large one (the shared block is compressed once, at publish). */
static void test_gzip_sizes(void)
{
	struct test_config tc;
	struct metrics_store *s = NULL;
	struct usage_table *t = NULL;
	enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_JOB_ID};
	char *plain, *unzipped;
	size_t plain_len = 0, unzipped_len = 0;
	struct metrics_scrape sc;

	CHECK_INT(metrics_store_new(&s, "1"), 0);
	if (!s)
		return;
	unzipped = scrape_text(s, true, NULL);
	plain = scrape_text(s, false, NULL);
	CHECK(plain && unzipped && strcmp(plain, unzipped) == 0);
	CHECK(plain && exposition_check(plain) == 0);
	free(plain);
	free(unzipped);

	config_init(&tc, 1, 1);
	tc.reports[0].group_by[0] = GROUP_QUEUE_ID;
	tc.reports[0].group_by[1] = GROUP_JOB_ID;
	tc.reports[0].statistics = STAT_ALL;
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	int failed = 0;
	for (int i = 0; i < 20000; i++) {
		char q[64], j[64], name[64];
		snprintf(q, sizeof(q), "queue-%032x", i % 7);
		snprintf(j, sizeof(j), "job-%032x", i);
		snprintf(name, sizeof(name), "shot %d", i);
		failed |= add_row(t, q, NULL, j, name, i, i * 0.01, 0.01, i * 3.5, 3.5) != 0;
	}
	CHECK(!failed);
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[0], t, WINDOW_START, WINDOW_END, 1, 1), 0);
	usage_table_free(t);
	plain = scrape_text(s, false, &plain_len);
	unzipped = scrape_text(s, true, &unzipped_len);
	CHECK(plain && unzipped && plain_len == unzipped_len && memcmp(plain, unzipped, plain_len) == 0);
	CHECK(plain && exposition_check(plain) == 0);
	CHECK_INT(metrics_store_scrape(s, true, &sc), 0);
	CHECK_MSG(sc.total_len * 5 < plain_len, "gzip %zu bytes for %zu", sc.total_len, plain_len);
	metrics_scrape_release(&sc);
	/*
	 * ~35 MB of text: many 1 MiB segments per family, rendered and compressed by several threads at once.
	 * Every line is whole and each family's lines keep the groups' order (segments are joined in order).
	 */
	CHECK_MSG(plain_len > 8u << 20, "the large report is %zu bytes", plain_len);
	/* Per family: the groups in the order they appear (a hash over the sequence) must be the same in all three. */
	enum { N_FAMILIES = 9 };
	static const char *const fam[N_FAMILIES] = {"deadline_cloud_usage_cost_usd{",
		"deadline_cloud_usage_session_cost_min_usd{", "deadline_cloud_usage_session_cost_max_usd{",
		"deadline_cloud_usage_session_cost_avg_usd{", "deadline_cloud_usage_runtime_seconds{",
		"deadline_cloud_usage_session_runtime_min_seconds{",
		"deadline_cloud_usage_session_runtime_max_seconds{",
		"deadline_cloud_usage_session_runtime_avg_seconds{", "deadline_cloud_usage_sessions{"};
	size_t samples = 0, groups[N_FAMILIES] = {0};
	uint64_t seq[N_FAMILIES] = {0}, last[N_FAMILIES] = {0};
	for (const char *line = plain; line && *line;) {
		const char *nl = strchr(line, '\n');
		if (!nl)
			break;
		for (int f = 0; f < N_FAMILIES; f++) {
			if (strncmp(line, fam[f], strlen(fam[f])) != 0)
				continue;
			/* the labels (searched within the line only: the text is large) */
			const char *k = line + strlen(fam[f]), *brace = memchr(k, '}', (size_t)(nl - k));
			const char *e = brace ? brace : nl;
			uint64_t h = 1469598103934665603u;
			for (const char *c = k; c < e; c++)
				h = (h ^ (unsigned char)*c) * 1099511628211u;
			if (groups[f] == 0 || h != last[f]) {
				seq[f] = (seq[f] ^ h) * 1099511628211u;
				groups[f]++;
				last[f] = h;
			}
			samples++;
		}
		line = nl + 1;
	}
	CHECK_MSG(samples == 20000 * N_FAMILIES, "%zu samples, want %d", samples, 20000 * N_FAMILIES);
	for (int f = 0; f < N_FAMILIES; f++) {
		CHECK_MSG(groups[f] == 20000, "%s: %zu groups", fam[f], groups[f]);
		CHECK(seq[f] == seq[0]);
	}
	if (plain)
		check_external_gunzip(s, plain, plain_len);
	free(plain);
	free(unzipped);
	metrics_store_free(s);
}

/*
 * A large report renders to the same text on 1, 2, 3 or 4 threads (the runs are put back in group order), the
 * groups sorted; each gzip inflates to that text. 10007 groups: runs of unequal sizes.
 */
static void test_render_threads(void)
{
	struct test_config tc;
	struct metrics_store *s = NULL;
	struct usage_table *t = NULL;
	enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_JOB_ID};
	char *first = NULL;
	size_t first_len = 0;
	int failed = 0;

	CHECK_INT(metrics_store_new(&s, "1"), 0);
	if (!s)
		return;
	config_init(&tc, 1, 1);
	tc.reports[0].group_by[0] = GROUP_QUEUE_ID;
	tc.reports[0].group_by[1] = GROUP_JOB_ID;
	tc.reports[0].statistics = STAT_ALL;
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	/* Added in an order unlike the sorted one (i * 7919 mod 10007 visits every i once). */
	for (int n = 0; n < 10007; n++) {
		int i = (int)(((long)n * 7919) % 10007);
		char q[64], j[64], name[64];
		snprintf(q, sizeof(q), "queue-%02d", i % 5);
		snprintf(j, sizeof(j), "job-%08d", i);
		snprintf(name, sizeof(name), "shot \"%d\"", i);
		failed |= add_row(t, q, NULL, j, name, i, i * 0.25, 0.25, i * 1.5, 1.5) != 0;
	}
	CHECK(!failed);
	static const size_t threads[] = {1, 2, 3, 4, 0};
	for (size_t k = 0; k < sizeof(threads) / sizeof(threads[0]); k++) {
		size_t plain_len = 0, unzipped_len = 0;
		metrics_render_threads(threads[k]);
		CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[0], t, WINDOW_START, WINDOW_END, 1, 1), 0);
		char *plain = scrape_text(s, false, &plain_len), *unzipped = scrape_text(s, true, &unzipped_len);
		CHECK_MSG(plain && unzipped && plain_len == unzipped_len && memcmp(plain, unzipped, plain_len) == 0,
			"%zu threads: the gzip does not inflate to the text", threads[k]);
		if (k == 0) {
			first = plain;
			first_len = plain_len;
			plain = NULL;
		} else {
			CHECK_MSG(plain && plain_len == first_len && memcmp(plain, first, first_len) == 0,
				"%zu threads render another text than one thread", threads[k]);
		}
		free(plain);
		free(unzipped);
	}
	metrics_render_threads(0);
	usage_table_free(t);
	/* Sorted: the cost lines' job_id labels (after the queue's) never go down, and all are there. */
	const char *key = "deadline_cloud_usage_cost_usd{";
	char prev[128] = "";
	size_t lines = 0;
	/* Line by line, searched within the line: sanitizers' strstr measures the whole (large) text each call. */
	for (const char *line = first, *nl; line && (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		size_t n = (size_t)(nl - line);
		if (n < strlen(key) || memcmp(line, key, strlen(key)) != 0)
			continue;
		const char *q = memmem(line, n, "queue_id=\"", 10);
		const char *e = q ? memmem(q, (size_t)(nl - q), "\",job_name", 10) : NULL;
		CHECK(q && e && (size_t)(e - q) < sizeof(prev));
		if (!q || !e || (size_t)(e - q) >= sizeof(prev))
			break;
		char cur[128];
		memcpy(cur, q, (size_t)(e - q));
		cur[e - q] = '\0';
		CHECK_MSG(strcmp(prev, cur) <= 0, "%s after %s", cur, prev);
		memcpy(prev, cur, sizeof(prev));
		lines++;
	}
	CHECK_MSG(lines == 10007, "%zu cost lines", lines);
	free(first);
	metrics_store_free(s);
}

static bool find_in_path(const char *program, char *out, size_t size)
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

/* `promtool check metrics` must print nothing for a realistic output (skipped without promtool). */
static void test_promtool(void)
{
	char promtool[4096], file[] = "/tmp/test-metrics-XXXXXX", command[8192], output[4096];
	struct test_config tc;
	struct metrics_store *s;
	char *text;
	size_t len = 0;
	FILE *f;
	int fd;

	if (!find_in_path("promtool", promtool, sizeof(promtool))) {
		fprintf(stderr, "note: promtool not on PATH, exposition not checked with it\n");
		return;
	}
	s = store_known(&tc);
	if (!s)
		return;
	text = scrape_text(s, false, &len);
	metrics_store_free(s);
	if (!text)
		return;
	fd = mkstemp(file);
	CHECK(fd >= 0);
	if (fd < 0) {
		free(text);
		return;
	}
	CHECK(write(fd, text, len) == (ssize_t)len);
	CHECK_INT(close(fd), 0);
	free(text);
	snprintf(command, sizeof(command), "'%s' check metrics < '%s' 2>&1", promtool, file);
	f = popen(command, "r");
	CHECK(f != NULL);
	if (f) {
		size_t n = fread(output, 1, sizeof(output) - 1, f);
		output[n] = '\0';
		int status = pclose(f);
		CHECK_MSG(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "promtool status %d", status);
		CHECK_MSG(n == 0, "promtool said: %s", output);
	}
	CHECK_INT(unlink(file), 0);
}

/* Decodes the gzip scrape of s with `gzip -dc` and python3's gzip (each skipped when absent): must be want. */
static void check_external_gunzip(struct metrics_store *s, const char *want, size_t want_len)
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
		if (!find_in_path(tools[t][0], program, sizeof(program))) {
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

/*
 * Several farms and reports published, republished, failed and dropped in turn: the gzip scrape (its parts
 * compressed per report, its crc32 combined) always decodes to exactly the plain text, with zlib, gzip -dc and
 * python's gzip; and the cached self-metrics follow every change of the counters.
 */
static void test_gzip_parts(void)
{
	struct test_config tc;
	struct metrics_store *s = NULL;
	char *plain, *unzipped, *prev;
	size_t plain_len = 0, unzipped_len = 0;

	CHECK_INT(metrics_store_new(&s, "1"), 0);
	if (!s)
		return;
	config_init(&tc, 2, 2);
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	for (int step = 0; step < 8; step++) {
		const char *farm = tc.cfg.farms[step % 2].id;
		const struct report_config *r = &tc.reports[(step / 2) % 2];
		struct usage_table *t = (step / 2) % 2 ? table_jobs() : table_month();
		if (step == 5)
			metrics_store_fail(s, farm, r->name, 2.5);
		else
			CHECK_INT(
				metrics_store_publish(s, farm, r, t, WINDOW_START, WINDOW_END, 100 + step, 0.25 * step),
				0);
		usage_table_free(t);
		if (step == 6)
			CHECK_INT(metrics_store_drop(s, tc.cfg.farms[0].id, tc.reports[0].name), 0);
		plain = scrape_text(s, false, &plain_len);
		unzipped = scrape_text(s, true, &unzipped_len);
		CHECK(plain && unzipped && plain_len == unzipped_len && memcmp(plain, unzipped, plain_len) == 0);
		CHECK(plain && exposition_check(plain) == 0);
		if (plain && (step == 0 || step == 7))
			check_external_gunzip(s, plain, plain_len);
		free(unzipped);

		/* A counter changes: the next scrape (plain and gzip) shows it, though nothing else changed. */
		prev = plain;
		metrics_store_count_request(s, "GetSessionsStatisticsAggregation", 200 + step);
		plain = scrape_text(s, false, &plain_len);
		unzipped = scrape_text(s, true, &unzipped_len);
		CHECK(plain && prev && strcmp(plain, prev) != 0);
		CHECK(plain && unzipped && plain_len == unzipped_len && memcmp(plain, unzipped, plain_len) == 0);
		char code[64];
		snprintf(code, sizeof(code), "code=\"%d\"} 1\n", 200 + step);
		CHECK(plain && strstr(plain, code) != NULL);
		free(prev);
		free(unzipped);
		/* Unchanged: the same text again (from the cache). */
		prev = plain;
		plain = scrape_text(s, false, NULL);
		CHECK(plain && prev && strcmp(plain, prev) == 0);
		free(prev);
		free(plain);
	}
	metrics_store_free(s);
}

/*
 * Version 2: each statistic its own metric, so that a sum over any label means something. No `statistic` label
 * anywhere; summed over every label, cost, run time and sessions are the report's totals; every usage metric's
 * series all carry the same label names.
 */
static void test_sums_meaningful(void)
{
	struct test_config tc;
	struct metrics_store *s = store_known(&tc);
	char *text;
	size_t n = 0;

	if (!s)
		return;
	text = scrape_text(s, false, NULL);
	CHECK(text != NULL);
	if (text) {
		CHECK(strstr(text, "statistic") == NULL);
		/* table_month(): 3 rows, costs 0.5 + 4.5 + 0.25, run times 7200 + 4.5 + 3600, 6 sessions; the jobs
		 * report asks for no SUM: only month_to_date has the totals. */
		CHECK(sum_of(text, "deadline_cloud_usage_cost_usd", &n) == 0.5 + 4.5 + 0.25 && n == 2);
		CHECK(sum_of(text, "deadline_cloud_usage_runtime_seconds", &n) == 7200 + 4.5 + 3600 && n == 2);
		/* sessions: 6 in month_to_date, 2 in jobs */
		CHECK(sum_of(text, "deadline_cloud_usage_sessions", &n) == 6 + 2 && n == 4);
		/* one metric, one label set: the min of a group is never mixed into its sum */
		CHECK(sample(text,
			      "deadline_cloud_usage_session_cost_min_usd{farm_id=\"" FARM_A
			      "\",report=\"jobs\",job_id=\"job-1\",job_name=\"Shot \\\"A\\\"\\\\v2\\nfinal\"}") == 1);
		CHECK(strstr(text, "deadline_cloud_usage_cost_usd{farm_id=\"" FARM_A "\",report=\"jobs\"") == NULL);
		CHECK_INT(exposition_check(text), 0);
	}
	free(text);
	metrics_store_free(s);
}

/* A row of the limit tests: count sessions, cost sum and average (min avg/2, max avg·2), run time likewise. */
static void add_top_row(struct usage_table *t, const char *queue, const char *job, const char *name, int64_t count,
	double cost_sum, double cost_avg, double rt_sum, double rt_avg)
{
	CHECK_INT(add_row(t, queue, NULL, job, name, count, cost_sum, cost_avg, rt_sum, rt_avg), 0);
}

#define TOP(metric, queue, job, name) \
	"deadline_cloud_usage_" metric "{farm_id=\"" FARM_A "\",report=\"month_to_date\",queue_id=\"" queue \
	"\",job_id=\"" job "\",job_name=\"" name "\"}"
#define OTHER(metric) TOP(metric, "__other__", "__other__", "__other__")

/*
 * reports[].limit: the N groups of largest cost kept exactly, ties in label order; every other merged into
 * the __other__ group exactly (counts and sums add, min/max the extremes, avg Σsum/Σcount); without SUM, the
 * largest session counts are kept. Summed over every label, the figures are the same as without a limit.
 */
static void test_limit(void)
{
	struct test_config tc;
	struct metrics_store *s = NULL;
	struct usage_table *t = NULL;
	enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_JOB_ID};
	char *text;
	size_t n = 0;

	config_init(&tc, 1, 1);
	tc.reports[0].group_by[0] = GROUP_QUEUE_ID;
	tc.reports[0].group_by[1] = GROUP_JOB_ID;
	tc.reports[0].statistics = STAT_ALL;
	tc.reports[0].limit = 3;
	CHECK_INT(metrics_store_new(&s, "1"), 0);
	if (!s)
		return;
	CHECK_INT(metrics_store_set_reports(s, &tc.cfg), 0);
	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	add_top_row(t, "q2", "job-d", "D", 1, 3, 3, 30, 30);
	add_top_row(t, "q1", "job-a", "A", 2, 10, 5, 100, 50);
	add_top_row(t, "q2", "job-e", "E", 5, 0.5, 0.1, 50, 10);
	add_top_row(t, "q1", "job-b", "B", 1, 3, 3, 30, 30);
	add_top_row(t, "q2", "job-c", "C", 4, 8, 2, 400, 100);
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[0], t, WINDOW_START, WINDOW_END, 1, 1), 0);
	text = scrape_text(s, false, NULL);
	CHECK(text != NULL);
	if (text) {
		/* kept: a (10), c (8), and b (3: tied with d, q1 before q2), exactly as without a limit */
		CHECK(sample(text, TOP("cost_usd", "q1", "job-a", "A")) == 10);
		CHECK(sample(text, TOP("session_cost_min_usd", "q1", "job-a", "A")) == 2.5);
		CHECK(sample(text, TOP("session_cost_max_usd", "q1", "job-a", "A")) == 10);
		CHECK(sample(text, TOP("session_cost_avg_usd", "q1", "job-a", "A")) == 5);
		CHECK(sample(text, TOP("sessions", "q1", "job-a", "A")) == 2);
		CHECK(sample(text, TOP("cost_usd", "q2", "job-c", "C")) == 8);
		CHECK(sample(text, TOP("runtime_seconds", "q2", "job-c", "C")) == 400);
		CHECK(sample(text, TOP("cost_usd", "q1", "job-b", "B")) == 3);
		CHECK(isnan(sample(text, TOP("cost_usd", "q2", "job-d", "D"))));
		CHECK(isnan(sample(text, TOP("sessions", "q2", "job-e", "E"))));
		/* __other__ = d + e */
		CHECK(sample(text, OTHER("sessions")) == 6);
		CHECK(sample(text, OTHER("cost_usd")) == 3 + 0.5);
		CHECK(sample(text, OTHER("session_cost_min_usd")) == 0.05);
		CHECK(sample(text, OTHER("session_cost_max_usd")) == 6);
		CHECK(sample(text, OTHER("session_cost_avg_usd")) == (3 + 0.5) / 6);
		CHECK(sample(text, OTHER("runtime_seconds")) == 30 + 50);
		CHECK(sample(text, OTHER("session_runtime_min_seconds")) == 5);
		CHECK(sample(text, OTHER("session_runtime_max_seconds")) == 60);
		CHECK(sample(text, OTHER("session_runtime_avg_seconds")) == (30.0 + 50) / 6);
		/* 3 kept + __other__; the totals unchanged */
		CHECK(sum_of(text, "deadline_cloud_usage_sessions", &n) == 13 && n == 4);
		CHECK(sum_of(text, "deadline_cloud_usage_cost_usd", &n) == 10 + 8 + 3 + 3.5 && n == 4);
		CHECK_INT(exposition_check(text), 0);
	}
	free(text);

	/* Without SUM: the largest session counts, e (5) then c (4); the others' average from their sums. */
	tc.reports[0].statistics = STAT_MIN | STAT_MAX | STAT_AVG;
	tc.reports[0].limit = 2;
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[0], t, WINDOW_START, WINDOW_END, 2, 1), 0);
	text = scrape_text(s, false, NULL);
	CHECK(text != NULL);
	if (text) {
		CHECK(sample(text, TOP("sessions", "q2", "job-e", "E")) == 5);
		CHECK(sample(text, TOP("sessions", "q2", "job-c", "C")) == 4);
		CHECK(isnan(sample(text, TOP("sessions", "q1", "job-a", "A"))));
		CHECK(sample(text, OTHER("sessions")) == 4);
		CHECK(sample(text, OTHER("session_cost_min_usd")) == 1.5);
		CHECK(sample(text, OTHER("session_cost_max_usd")) == 10);
		CHECK(sample(text, OTHER("session_cost_avg_usd")) == (10 + 3 + 3) / 4.0);
		CHECK(strstr(text, "deadline_cloud_usage_cost_usd") == NULL);
		CHECK_INT(exposition_check(text), 0);
	}
	free(text);

	/* A limit of at least the number of groups: every group, no __other__. */
	tc.reports[0].limit = 5;
	CHECK_INT(metrics_store_publish(s, FARM_A, &tc.reports[0], t, WINDOW_START, WINDOW_END, 3, 1), 0);
	text = scrape_text(s, false, NULL);
	CHECK(text && strstr(text, "__other__") == NULL);
	CHECK(text && sample(text, TOP("sessions", "q2", "job-d", "D")) == 1);
	free(text);
	usage_table_free(t);
	metrics_store_free(s);
}

/* The rows' averages alone (no sums): the __other__ average weighs each by its count, Σ(avg·count)/Σcount. */
static void test_limit_weighted_avg(void)
{
	enum group_field gb[1] = {GROUP_QUEUE_ID};
	struct usage_table *t = NULL, *top = NULL;
	const struct usage_group *const *groups;
	static const struct {
		const char *queue;
		int64_t count;
		double avg;
	} rows[] = {{"q1", 10, 1}, {"q2", 1, 4}, {"q3", 3, 2}, {"q4", 2, 0.5}};

	CHECK_INT(usage_table_new(&t, gb, 1), 0);
	for (size_t i = 0; t && i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct usage_row row = {0};
		row.fields[GROUP_QUEUE_ID] = (char *)rows[i].queue;
		row.count = rows[i].count;
		row.cost.present = row.runtime.present = STAT_AVG | STAT_MIN;
		row.cost.avg = row.runtime.avg = rows[i].avg;
		row.cost.min = row.runtime.min = rows[i].avg;
		CHECK_INT(usage_table_add(t, &row), 0);
	}
	CHECK_INT(usage_table_top(&top, t, 0, USAGE_RANK_SESSIONS), -EINVAL);
	CHECK_INT(usage_table_top(&top, t, 1, USAGE_RANK_SESSIONS), 0);
	CHECK_INT(usage_table_groups(top, &groups), 2);
	if (top && usage_table_size(top) == 2) {
		/* sorted by values: "__other__" before "q1" */
		CHECK_STR(groups[0]->values[0], USAGE_OTHER);
		CHECK_STR(groups[1]->values[0], "q1");
		CHECK_INT(groups[0]->count, 6);
		CHECK(usage_group_avg(groups[0], &groups[0]->cost) == (4 * 1 + 2 * 3 + 0.5 * 2) / 6);
		CHECK(groups[0]->cost.min == 0.5);
		CHECK(!(groups[0]->cost.present & STAT_SUM));
	}
	usage_table_free(top);
	usage_table_free(t);
}
#undef TOP
#undef OTHER

int main(void)
{
	/* Comparisons of successive scrapes: the process metrics of the first read throughout. */
	metrics_process_hold(true);
	test_known_rendering();
	test_escaping();
	test_statistics_and_values();
	test_set_reports_and_ready();
	test_scrape_outlives_publish();
	test_gzip_sizes();
	test_render_threads();
	test_gzip_parts();
	test_sums_meaningful();
	test_limit();
	test_limit_weighted_avg();
	test_promtool();
	TEST_DONE();
}
