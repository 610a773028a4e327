/* api-utf8-collision: two job ids the API parser accepts render to the same series (duplicate in /metrics) */
/*
 * yajl's UTF-8 check lets overlong forms, UTF-16 surrogates and code points above U+10FFFF through
 * ("\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"). Two such job ids, "\xc0\xaf" and "\xc1\xbf", stay
 * distinct groups; the renderer replaces each ill-formed byte by U+FFFD: two samples with identical labels,
 * an exposition Prometheus rejects ("duplicate sample"), so the whole scrape fails. Exit status 1 while the bug is
 * there, 0 once fixed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "deadline/deadline_api.h"
#include "expfmt_check.h"
#include "util/log.h"
#include "metrics/store.h"
#include "metrics/usage.h"

static const char body[] =
	"{\"status\":\"COMPLETED\",\"statistics\":["
	"{\"jobId\":\"\xc0\xaf\",\"count\":1,\"costInUsd\":{\"sum\":1},\"runtimeInSeconds\":{\"sum\":1}},"
	"{\"jobId\":\"\xc1\xbf\",\"count\":1,\"costInUsd\":{\"sum\":2},\"runtimeInSeconds\":{\"sum\":2}}]}";

int main(void)
{
	static char farm[] = "farm-0123456789abcdef0123456789abcdef", name[] = "by_job";
	struct report_config rep = {.name = name,
		.group_by = {GROUP_JOB_ID},
		.n_group_by = 1,
		.statistics = STAT_SUM,
		.interval_seconds = 300};
	struct farm_config fc = {.id = farm, .all_queues = true};
	struct config cfg = {.farms = &fc, .n_farms = 1, .reports = &rep, .n_reports = 1};
	struct deadline_page page;
	struct usage_table *t = NULL;
	struct metrics_store *s = NULL;
	struct metrics_scrape sc;
	char err[256], why[512], *text;
	size_t at = 0;
	int r, status;

	log_init(LOG_LEVEL_ERROR);
	r = deadline_parse_get(body, sizeof(body) - 1, &page, err, sizeof(err));
	if (r != 0) {
		/* the parser refusing ill-formed UTF-8 is one way to fix it */
		printf("parser rejects the page (%d: %s): fixed\n", r, err);
		return 0;
	}
	if (usage_table_new(&t, rep.group_by, 1) < 0 || metrics_store_new(&s, "test") < 0 ||
		metrics_store_set_reports(s, &cfg) < 0)
		return 2;
	for (size_t i = 0; i < page.n_rows; i++)
		if (usage_table_add(t, &page.rows[i]) < 0)
			return 2;
	if (metrics_store_publish(s, farm, &rep, t, 1699000000, 1700000000, 1700000000, 0.1) < 0 ||
		metrics_store_scrape(s, false, &sc) < 0)
		return 2;
	text = malloc(sc.total_len + 1);
	if (!text)
		return 2;
	for (unsigned i = 0; i < sc.n_iov; i++) {
		memcpy(text + at, sc.iov[i].iov_base, sc.iov[i].iov_len);
		at += sc.iov[i].iov_len;
	}
	status = expfmt_check(text, at, why, sizeof(why)) == 0 ? 0 : 1;
	printf("%zu rows, %zu groups: %s\n", page.n_rows, usage_table_size(t), status ? why : "the scrape conforms");
	free(text);
	metrics_scrape_release(&sc);
	metrics_store_free(s);
	usage_table_free(t);
	deadline_page_deinit(&page);
	return status;
}
