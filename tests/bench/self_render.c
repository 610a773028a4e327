/*
 * self_render: what the counters declared from the start cost: the exporter's own metrics of a configuration of
 * FARMS farms and REPORTS reports, every series the poller declares (each (farm, report)'s counters of every kind
 * and status, each farm's operations, the account-wide ones), then a count and a scrape, ITERATIONS times: the
 * self section rendered again at each (as it is at most once a second while counters move).
 *
 * Usage: self_render FARMS REPORTS [ITERATIONS] [healthy]. Prints "farms=F reports=R series=N self_bytes=B
 * render_ms_median=M render_ms_max=X". With "healthy", the baseline: only the series a run without failures
 * counts sooner or later (pages and rows read, aggregations COMPLETED, each operation's 200s), as there were before
 * the declarations.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "deadline/access_check.h"
#include "deadline/refresh.h"
#include "metrics/store.h"
#include "util/buf.h"
#include "util/monotime.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* A configuration of farms x reports, every queue and fleet "all", the inventory on (its defaults). */
static struct config *config_of(int farms, int reports)
{
	struct buf b = {0};
	struct config *cfg = NULL;
	char err[1024];

	buf_puts(&b, "farms = (");
	for (int i = 0; i < farms; i++)
		buf_printf(&b, "%s{ id = \"farm-%032x\"; }", i ? ", " : "", i + 1);
	buf_puts(&b, ");\nreports = (");
	for (int i = 0; i < reports; i++)
		buf_printf(
			&b, "%s{ name = \"r%d\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; }", i ? ", " : "", i);
	buf_puts(&b, ");\n");
	buf_putc(&b, '\0');
	if (config_load_string(&cfg, "bench.conf", b.data, err, sizeof(err)) < 0)
		fprintf(stderr, "self_render: %s", err);
	buf_deinit(&b);
	return cfg;
}

/* What poller_start() declares; healthy: what a run without failures counts instead. */
static void declare(struct metrics_store *s, const struct config *cfg, bool healthy)
{
	const char *ops[32];
	size_t n;

	for (size_t i = 0; i < cfg->n_farms; i++) {
		const char *farm = cfg->farms[i].id;
		for (size_t j = 0; j < cfg->n_reports; j++) {
			const char *pair[] = {farm, cfg->reports[j].name};
			if (!healthy) {
				refresh_declare_counters(s, &cfg->farms[i], &cfg->reports[j]);
				continue;
			}
			metrics_store_count(s, METRICS_PAGES, pair, 1);
			metrics_store_count(s, METRICS_ROWS, pair, 1);
		}
		if (healthy)
			metrics_store_count(s, METRICS_AGGREGATIONS, (const char *const[]){farm, "COMPLETED"}, 1);
		n = access_check_operations(cfg, &cfg->farms[i], ops, 32);
		for (size_t k = 0; k < n && k < 32; k++) {
			if (healthy) {
				metrics_store_count_request(s, farm, ops[k], 200);
				continue;
			}
			metrics_store_declare_request(s, farm, ops[k]);
			metrics_store_count(s, METRICS_API_RETRIES, (const char *const[]){farm, ops[k]}, 0);
		}
	}
}

int main(int argc, char **argv)
{
	int farms = argc > 1 ? atoi(argv[1]) : 100, reports = argc > 2 ? atoi(argv[2]) : 5;
	int iterations = argc > 3 ? atoi(argv[3]) : 20;
	bool healthy = argc > 4 && strcmp(argv[4], "healthy") == 0;
	struct config *cfg = config_of(farms, reports);
	struct metrics_store *s = NULL;
	double *ms;
	size_t bytes = 0, series = 0;

	if (!cfg || farms < 1 || reports < 1 || iterations < 1 || metrics_store_new(&s, "bench") < 0 ||
		metrics_store_set_reports(s, cfg) < 0)
		return 1;
	ms = calloc((size_t)iterations, sizeof(*ms));
	metrics_process_hold(true);
	metrics_self_interval(0);
	declare(s, cfg, healthy);
	for (int i = 0; i < iterations && ms; i++) {
		struct metrics_scrape sc;
		double t0 = monotime_s();

		metrics_store_count_request(s, cfg->farms[i % farms].id, "GetFarm", 200);
		if (metrics_store_scrape(s, false, &sc) < 0)
			return 1;
		ms[i] = (monotime_s() - t0) * 1000;
		bytes = series = 0;
		struct buf text = {0};
		for (unsigned k = 0; k < sc.n_iov; k++)
			buf_append(&text, sc.iov[k].iov_base, sc.iov[k].iov_len);
		metrics_scrape_release(&sc);
		/* The exporter's own lines (the process metrics are the rest). */
		for (const char *line = text.data; line && line < text.data + text.len;) {
			const char *end = memchr(line, '\n', (size_t)(text.data + text.len - line));
			size_t len = end ? (size_t)(end - line) + 1 : (size_t)(text.data + text.len - line);
			if (strncmp(line, "deadline_cloud_exporter_", 24) == 0)
				series++;
			if (line[0] != 'p' && strncmp(line, "# HELP process_", 15) &&
				strncmp(line, "# TYPE process_", 15))
				bytes += len;
			line += len;
		}
		buf_deinit(&text);
	}
	if (!ms)
		return 1;
	qsort(ms, (size_t)iterations, sizeof(*ms), cmp_double);
	printf("farms=%d reports=%d series=%zu self_bytes=%zu render_ms_median=%.2f render_ms_max=%.2f\n", farms,
		reports, series, bytes, ms[iterations / 2], ms[iterations - 1]);
	free(ms);
	metrics_store_free(s);
	config_free(cfg);
	return 0;
}
