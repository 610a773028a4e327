/* test-queue_lookup: each job's queue (found, missing, first kept, searches' start, the cap) and each queue's name */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config_cases.h"
#include "deadline/queue_lookup.h"
#include "metrics/inventory.h"
#include "test.h"

#define Q1 "queue-0123456789abcdef0123456789abcdef"
#define Q2 "queue-fedcba9876543210fedcba9876543210"
#define J1 "job-00000000000000000000000000000001"
#define J2 "job-00000000000000000000000000000002"
#define J3 "job-ffffffffffffffffffffffffffffffff"

static void test_find_add(void)
{
	struct queue_lookup *ql = NULL;
	const char *q = NULL;

	CHECK_INT(queue_lookup_new(&ql), 0);
	if (!ql)
		return;
	CHECK_INT(queue_lookup_job(ql, J1, &q), QUEUE_LOOKUP_UNKNOWN);
	CHECK_INT(queue_lookup_add_job(ql, J1, Q1), 0);
	CHECK_INT(queue_lookup_add_job(ql, J2, Q2), 0);
	CHECK_INT(queue_lookup_job(ql, J1, &q), QUEUE_LOOKUP_FOUND);
	CHECK_STR(q, Q1);
	CHECK_INT(queue_lookup_job(ql, J2, &q), QUEUE_LOOKUP_FOUND);
	CHECK_STR(q, Q2);
	/* a job never changes queue: the first one stays */
	CHECK_INT(queue_lookup_add_job(ql, J1, Q2), 0);
	CHECK_INT(queue_lookup_job(ql, J1, &q), QUEUE_LOOKUP_FOUND);
	CHECK_STR(q, Q1);
	/* not found by a search: missing, until a search finds it; a found job is never made missing */
	CHECK_INT(queue_lookup_add_missing(ql, J3), 0);
	CHECK_INT(queue_lookup_job(ql, J3, &q), QUEUE_LOOKUP_MISSING);
	CHECK_INT(queue_lookup_add_missing(ql, J1), 0);
	CHECK_INT(queue_lookup_job(ql, J1, &q), QUEUE_LOOKUP_FOUND);
	CHECK_INT(queue_lookup_add_job(ql, J3, Q2), 0);
	CHECK_INT(queue_lookup_job(ql, J3, &q), QUEUE_LOOKUP_FOUND);
	CHECK_STR(q, Q2);
	CHECK_INT(queue_lookup_jobs(ql), 3);
	/* malformed ids: refused, and never worth a search */
	CHECK_INT(queue_lookup_add_job(ql, "job-1", Q1), -EINVAL);
	CHECK_INT(queue_lookup_add_job(ql, J1, "queue-1"), -EINVAL);
	CHECK_INT(queue_lookup_add_job(ql, NULL, Q1), -EINVAL);
	CHECK_INT(queue_lookup_add_job(ql, "JOB-00000000000000000000000000000001", Q1), -EINVAL);
	CHECK_INT(queue_lookup_add_missing(ql, Q1), -EINVAL);
	CHECK_INT(queue_lookup_job(ql, "job-1", &q), QUEUE_LOOKUP_MISSING);
	CHECK_INT(queue_lookup_job(ql, NULL, &q), QUEUE_LOOKUP_MISSING);
	CHECK_INT(queue_lookup_jobs(ql), 3);
	queue_lookup_free(ql);
	queue_lookup_free(NULL);
	CHECK_INT(queue_lookup_jobs(NULL), 0);
}

/* The first search lists every job; after a complete one, the next starts a margin before it began. */
static void test_search_from(void)
{
	struct queue_lookup *ql = NULL;
	int64_t since = -1;

	CHECK_INT(queue_lookup_new(&ql), 0);
	CHECK(!queue_lookup_search_from(ql, &since));
	CHECK_INT(since, -1);
	queue_lookup_searched(ql, 1793491200);
	CHECK(queue_lookup_search_from(ql, &since));
	CHECK_INT(since, 1793491200 - QUEUE_LOOKUP_MARGIN_SECONDS);
	queue_lookup_searched(ql, 1793491500);
	CHECK(queue_lookup_search_from(ql, &since));
	CHECK_INT(since, 1793491500 - QUEUE_LOOKUP_MARGIN_SECONDS);
	CHECK(!queue_lookup_search_from(NULL, &since));
	queue_lookup_free(ql);
}

/* Many jobs over a few queues (the table grows many times); every one found where it was put. */
static void test_many(void)
{
	struct queue_lookup *ql = NULL;
	char job[40], queue[40];
	const char *q;
	size_t wrong = 0;

	CHECK_INT(queue_lookup_new(&ql), 0);
	for (size_t i = 0; i < 200000; i++) {
		snprintf(job, sizeof(job), "job-%032zx", i * 2654435761u);
		snprintf(queue, sizeof(queue), "queue-%032zx", i % 37);
		if (queue_lookup_add_job(ql, job, queue) != 0)
			wrong++;
	}
	for (size_t i = 0; i < 200000; i++) {
		snprintf(job, sizeof(job), "job-%032zx", i * 2654435761u);
		snprintf(queue, sizeof(queue), "queue-%032zx", i % 37);
		if (queue_lookup_job(ql, job, &q) != QUEUE_LOOKUP_FOUND || strcmp(q, queue) != 0)
			wrong++;
	}
	CHECK_INT(wrong, 0);
	CHECK_INT(queue_lookup_jobs(ql), 200000);
	snprintf(job, sizeof(job), "job-%032x", 7u);
	CHECK_INT(queue_lookup_job(ql, job, &q), QUEUE_LOOKUP_UNKNOWN);
	queue_lookup_free(ql);
}

/* Past QUEUE_LOOKUP_JOBS_MAX jobs nothing new is remembered, but what is known stays. */
static void test_cap(void)
{
	struct queue_lookup *ql = NULL;
	char job[40];
	const char *q;
	int r = 0;

	CHECK_INT(queue_lookup_new(&ql), 0);
	for (size_t i = 0; i < QUEUE_LOOKUP_JOBS_MAX && r == 0; i++) {
		snprintf(job, sizeof(job), "job-%032zx", i);
		r = i % 2 ? queue_lookup_add_missing(ql, job) : queue_lookup_add_job(ql, job, Q1);
	}
	CHECK_INT(r, 0);
	CHECK_INT(queue_lookup_jobs(ql), QUEUE_LOOKUP_JOBS_MAX);
	snprintf(job, sizeof(job), "job-%032x", QUEUE_LOOKUP_JOBS_MAX);
	CHECK_INT(queue_lookup_add_job(ql, job, Q1), QUEUE_LOOKUP_FULL);
	CHECK_INT(queue_lookup_add_missing(ql, job), QUEUE_LOOKUP_FULL);
	CHECK_INT(queue_lookup_job(ql, job, &q), QUEUE_LOOKUP_UNKNOWN);
	/* a known job can still be found, and a missing one found at last */
	CHECK_INT(queue_lookup_add_job(ql, J1, Q2), 0);
	CHECK_INT(queue_lookup_job(ql, J1, &q), QUEUE_LOOKUP_FOUND);
	CHECK_STR(q, Q2);
	CHECK_INT(queue_lookup_jobs(ql), QUEUE_LOOKUP_JOBS_MAX);
	queue_lookup_free(ql);
}

/* An inventory of the given queues (id, name); a NULL name is a queue without one. */
static struct inventory *inventory_of(const char *const (*queues)[2], size_t n)
{
	struct inventory *inv = NULL;

	CHECK_INT(inventory_new(&inv, "farm-0123456789abcdef0123456789abcdef"), 0);
	for (size_t i = 0; inv && i < n; i++) {
		struct inventory_queue *q = inventory_add_queue(inv);
		CHECK(q != NULL);
		if (!q)
			break;
		q->id = strdup(queues[i][0]);
		q->name = queues[i][1] ? strdup(queues[i][1]) : NULL;
	}
	return inv;
}

/* Names from listings: renamed queues take the new name, queues no longer listed keep their last one. */
static void test_names(void)
{
	static const char *const first[][2] = {{Q1, "Harbor - Lighting"}, {Q2, "Aurora - FX"}};
	static const char *const second[][2] = {{Q1, "Harbor - Lighting"},
		{"queue-00000000000000000000000000000003", "bad \xff utf-8"}, {"queue-1", "malformed id"},
		{"queue-00000000000000000000000000000004", NULL}};
	static const char *const renamed[][2] = {{Q1, "Harbour - Lighting"}};
	struct queue_lookup *ql = NULL;
	struct inventory *inv;
	const char *name, *q;

	CHECK_INT(queue_lookup_new(&ql), 0);
	CHECK(!queue_lookup_has_names(ql));
	CHECK(queue_lookup_name(ql, Q1) == NULL);
	/* a queue a search found has no name until a listing gives it one */
	CHECK_INT(queue_lookup_add_job(ql, J1, Q2), 0);
	CHECK(queue_lookup_name(ql, Q2) == NULL);
	inv = inventory_of(first, 2);
	CHECK_INT(queue_lookup_set_names(ql, inv), 0);
	inventory_free(inv);
	CHECK(queue_lookup_has_names(ql));
	CHECK_STR(queue_lookup_name(ql, Q1), "Harbor - Lighting");
	CHECK_STR(queue_lookup_name(ql, Q2), "Aurora - FX");
	name = queue_lookup_name(ql, Q1);
	inv = inventory_of(second, 4);
	CHECK_INT(queue_lookup_set_names(ql, inv), 0);
	inventory_free(inv);
	/* unchanged: the same string; no longer listed: the last name; ill-formed UTF-8 mended */
	CHECK(queue_lookup_name(ql, Q1) == name);
	CHECK_STR(queue_lookup_name(ql, Q2), "Aurora - FX");
	CHECK_STR(queue_lookup_name(ql, "queue-00000000000000000000000000000003"), "bad \xef\xbf\xbd utf-8");
	CHECK(queue_lookup_name(ql, "queue-00000000000000000000000000000004") == NULL);
	CHECK(queue_lookup_name(ql, "queue-1") == NULL);
	CHECK(queue_lookup_name(ql, NULL) == NULL);
	inv = inventory_of(renamed, 1);
	CHECK_INT(queue_lookup_set_names(ql, inv), 0);
	inventory_free(inv);
	CHECK_STR(queue_lookup_name(ql, Q1), "Harbour - Lighting");
	/* the names do not disturb the jobs */
	CHECK_INT(queue_lookup_job(ql, J1, &q), QUEUE_LOOKUP_FOUND);
	CHECK_STR(q, Q2);
	CHECK_INT(queue_lookup_set_names(ql, NULL), -EINVAL);
	CHECK(queue_lookup_name(NULL, Q1) == NULL);
	queue_lookup_free(ql);
}

/* Past QUEUE_LOOKUP_QUEUES_MAX queues, new ones get no name and a job in one is not remembered. */
static void test_queue_cap(void)
{
	struct queue_lookup *ql = NULL;
	char job[40], queue[40];
	const char *q;
	int r = 0;

	CHECK_INT(queue_lookup_new(&ql), 0);
	for (size_t i = 0; i < QUEUE_LOOKUP_QUEUES_MAX && r == 0; i++) {
		snprintf(job, sizeof(job), "job-%032zx", i);
		snprintf(queue, sizeof(queue), "queue-%032zx", i);
		r = queue_lookup_add_job(ql, job, queue);
	}
	CHECK_INT(r, 0);
	snprintf(queue, sizeof(queue), "queue-%032x", QUEUE_LOOKUP_QUEUES_MAX);
	CHECK_INT(queue_lookup_add_job(ql, J3, queue), QUEUE_LOOKUP_FULL);
	CHECK_INT(queue_lookup_job(ql, J3, &q), QUEUE_LOOKUP_UNKNOWN);
	const char *const one[][2] = {{queue, "Too - Many"}};
	struct inventory *inv = inventory_of(one, 1);
	CHECK_INT(queue_lookup_set_names(ql, inv), QUEUE_LOOKUP_FULL);
	inventory_free(inv);
	CHECK(queue_lookup_name(ql, queue) == NULL);
	queue_lookup_free(ql);
}

#define PROD_RULE \
	"labels = ( { label = \"production\"; source = \"queue_name\"; regex = \"(.+) - .*\"; replacement = \"$1\"; " \
	"default = \"unknown\"; } );"
#define SHOW_RULE \
	"labels = ( { label = \"show\"; source = \"job_name\"; regex = \"([a-z]+)_.*\"; default = \"unknown\"; } );"
#define REPORT(name, group_by, labels) \
	"{ name = \"" name "\"; window = \"month\"; group_by = [ " group_by " ]; " labels " }"

/* A table of r's group_by with one row per (job, queue, usage type). */
static struct usage_table *table_of(const struct report_config *r, const char *const (*rows)[3], size_t n)
{
	struct usage_table *t = NULL;

	CHECK_INT(usage_table_new(&t, r->group_by, r->n_group_by), 0);
	for (size_t i = 0; t && i < n; i++) {
		struct usage_row row = {0};
		row.fields[GROUP_JOB_ID] = (char *)rows[i][0];
		row.fields[GROUP_QUEUE_ID] = (char *)rows[i][1];
		row.fields[GROUP_USAGE_TYPE] = (char *)rows[i][2];
		row.job_name = (char *)"harbor_sh0001_lgt_v001";
		row.count = 1;
		CHECK_INT(usage_table_add(t, &row), 0);
	}
	return t;
}

/* Which reports find queues through jobs, which jobs they still need, and the names a merge gets. */
static void test_report_glue(void)
{
	static const char *const rows[][3] = {{J2, Q2, "COMPUTE"}, {J1, Q1, "COMPUTE"}, {J1, Q1, "LICENSE"},
		{J3, Q1, "COMPUTE"}, {J3, Q1, "LICENSE"}, {J3, Q1, "PERSISTENT_VOLUME"}};
	static const char *const listing[][2] = {{Q1, "Harbor - Lighting"}};
	struct config *cfg = config_cases_load(
		"farms = ( { id = \"" CASES_FARM_ID "\"; } );\n"
		"reports = ( " REPORT("a", "\"JOB_ID\", \"USAGE_TYPE\"", PROD_RULE) ",\n" REPORT("b",
			"\"USAGE_TYPE\", \"JOB_ID\"",
			PROD_RULE) ",\n" REPORT("c", "\"QUEUE_ID\", \"USAGE_TYPE\"", PROD_RULE) ",\n" REPORT("d",
			"\"JOB_ID\"", SHOW_RULE) ",\n" REPORT("e", "\"JOB_ID\", \"QUEUE_ID\"", PROD_RULE) " );\n");
	struct queue_lookup *ql = NULL;
	struct usage_table *t = NULL;
	struct queue_lookup_groups lg;
	struct usage_queue_source src;
	const char **ids = NULL;
	struct inventory *inv;
	int n;

	if (!cfg)
		return;
	CHECK(queue_lookup_by_job(&cfg->reports[0]));
	CHECK(queue_lookup_by_job(&cfg->reports[1]));
	CHECK(!queue_lookup_by_job(&cfg->reports[2]));
	CHECK(!queue_lookup_by_job(&cfg->reports[3]));
	CHECK(!queue_lookup_by_job(&cfg->reports[4]));
	CHECK_INT(queue_lookup_new(&ql), 0);
	CHECK_INT(queue_lookup_add_job(ql, J1, Q1), 0);
	/* JOB_ID first and second: each unknown job once, in order */
	for (size_t r = 0; r < 2; r++) {
		t = table_of(&cfg->reports[r], rows, 6);
		n = queue_lookup_unknown(ql, &cfg->reports[r], t, &ids);
		CHECK_INT(n, 2);
		if (n == 2) {
			CHECK_STR(ids[0], J2);
			CHECK_STR(ids[1], J3);
		}
		free(ids);
		usage_table_free(t);
	}
	/* a report that finds no queue through its jobs needs none */
	t = table_of(&cfg->reports[2], rows, 6);
	CHECK_INT(queue_lookup_unknown(ql, &cfg->reports[2], t, &ids), 0);
	free(ids);
	/* by QUEUE_ID: the listed names; a queue never listed: none */
	inv = inventory_of(listing, 1);
	CHECK_INT(queue_lookup_set_names(ql, inv), 0);
	inventory_free(inv);
	src = queue_lookup_source(ql, &cfg->reports[2], &lg);
	const struct usage_group *const *groups;
	CHECK_INT(usage_table_groups(t, &groups), 4);
	CHECK_STR(src.name_of(src.ctx, groups[0]), "Harbor - Lighting"); /* Q1, sorted first */
	CHECK(src.name_of(src.ctx, groups[3]) == NULL); /* Q2: never listed */
	usage_table_free(t);
	/* by job: a found job's queue's name; an unknown or missing job: none */
	CHECK_INT(queue_lookup_add_missing(ql, J3), 0);
	t = table_of(&cfg->reports[0], rows, 6);
	src = queue_lookup_source(ql, &cfg->reports[0], &lg);
	CHECK_INT(usage_table_groups(t, &groups), 6);
	CHECK_STR(src.name_of(src.ctx, groups[0]), "Harbor - Lighting"); /* J1 */
	CHECK(src.name_of(src.ctx, groups[2]) == NULL); /* J2: unknown */
	CHECK(src.name_of(src.ctx, groups[3]) == NULL); /* J3: missing */
	CHECK_INT(queue_lookup_unknown(ql, &cfg->reports[0], t, &ids), 1);
	free(ids);
	usage_table_free(t);
	/* the listed queues are the last listing's */
	n = queue_lookup_listed(ql, &ids);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_STR(ids[0], Q1);
	free(ids);
	queue_lookup_free(ql);
	config_free(cfg);
}

int main(void)
{
	test_report_glue();
	test_names();
	test_queue_cap();
	test_find_add();
	test_search_from();
	test_many();
	test_cap();
	TEST_DONE();
}
