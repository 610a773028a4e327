/* test-search_jobs: SearchJobs' body, its answer (a simulator capture and broken ones), the threshold read */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline/search_jobs.h"
#include "test.h"
#include "util/buf.h"
#include "util/rfc3339.h"

#define Q1 "queue-0c252b21bd7f97033714808e055a0277"
#define Q2 "queue-d6a28bce76748f5bf26cfb1c43c4238c"
#define Q3 "queue-eb5955bf0771e36763aa3b28aeee5e2c"

static char *read_file(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *data;
	long n;

	snprintf(path, sizeof(path), "%s/api/activity/%s", TEST_DATA_DIR, name);
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		CHECK_MSG(0, "cannot read %s", path);
		if (f)
			fclose(f);
		return NULL;
	}
	data = malloc((size_t)n + 1);
	if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
		CHECK_MSG(0, "cannot read %s", path);
		free(data);
		fclose(f);
		return NULL;
	}
	data[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return data;
}

static void test_body(void)
{
	static const char *const one[] = {Q1};
	static const char *const three[] = {Q1, Q2, Q3};
	static const char *const bad[] = {Q1, "queue-0C252B21BD7F97033714808E055A0277"};
	static const char *const eleven[11] = {Q1, Q1, Q1, Q1, Q1, Q1, Q1, Q1, Q1, Q1, Q1};
	struct search_jobs_read r;
	char *body = NULL;
	size_t len = 0;

	CHECK_INT(search_jobs_read_init(&r, one, 1, &activity_active_statuses), 0);
	CHECK_INT(search_jobs_body(&r, &body, &len), 0);
	CHECK_STR(body, "{\"queueIds\":[\"" Q1 "\"],\"itemOffset\":0,\"pageSize\":100,\"filterExpressions\":"
			"{\"operator\":\"AND\",\"filters\":[{\"groupFilter\":{\"operator\":\"OR\",\"filters\":"
			"[{\"stringListFilter\":{\"name\":\"TASK_RUN_STATUS\",\"operator\":\"ANY_EQUALS\",\"values\":"
			"[\"PENDING\",\"READY\",\"ASSIGNED\",\"STARTING\",\"SCHEDULED\",\"INTERRUPTING\",\"RUNNING\","
			"\"SUSPENDED\"]}}]}}]},\"sortExpressions\":[{\"fieldSort\":{\"name\":\"CREATED_AT\","
			"\"sortOrder\":\"ASCENDING\"}}]}");
	CHECK_INT(len, strlen(body));
	free(body);

	/* past the first page: the threshold, to the millisecond */
	r.has_threshold = true;
	r.threshold_ms = 1796653731692;
	CHECK_INT(search_jobs_body(&r, &body, &len), 0);
	CHECK(strstr(body, "\"SUSPENDED\"]}}]}},{\"dateTimeFilter\":{\"name\":\"CREATED_AT\",\"operator\":"
			   "\"GREATER_THAN_EQUAL_TO\",\"dateTime\":\"2026-12-07T14:28:51.692Z\"}}]}") != NULL);
	free(body);
	search_jobs_read_deinit(&r);

	/* any status (a labelled refresh's job lookup, queue_search): a threshold only, or no filter at all */
	CHECK_INT(search_jobs_read_init(&r, three, 3, NULL), 0);
	CHECK_INT(search_jobs_body(&r, &body, &len), 0);
	CHECK_STR(body, "{\"queueIds\":[\"" Q1 "\",\"" Q2 "\",\"" Q3 "\"],\"itemOffset\":0,\"pageSize\":100,"
			"\"sortExpressions\":[{\"fieldSort\":{\"name\":\"CREATED_AT\",\"sortOrder\":\"ASCENDING\"}}]}");
	free(body);
	r.has_threshold = true;
	r.threshold_ms = 0;
	CHECK_INT(search_jobs_body(&r, &body, &len), 0);
	CHECK(strstr(body, "\"filterExpressions\":{\"operator\":\"AND\",\"filters\":[{\"dateTimeFilter\":{\"name\":"
			   "\"CREATED_AT\",\"operator\":\"GREATER_THAN_EQUAL_TO\",\"dateTime\":"
			   "\"1970-01-01T00:00:00.000Z\"}}]}") != NULL);
	free(body);
	search_jobs_read_deinit(&r);

	CHECK_INT(search_jobs_read_init(&r, bad, 2, NULL), -EINVAL);
	CHECK_INT(search_jobs_read_init(&r, eleven, 11, NULL), -EINVAL);
	CHECK_INT(search_jobs_read_init(&r, one, 0, NULL), -EINVAL);

	body = search_jobs_path("farm-6f8c1e352e310191ae4c45606e57be67");
	CHECK_STR(body, "/2023-10-12/farms/farm-6f8c1e352e310191ae4c45606e57be67/search/jobs");
	free(body);
}

/* take_job for the tests: into the farm's model. */
static int add_to(void *ctx, struct activity_job *j)
{
	return activity_add_job(ctx, j);
}

/* The simulator's answer for three queues (step 40), against its /__sim/activity truth at the same step. */
static void test_capture(void)
{
	static const char *const queues[] = {Q1, Q2, Q3};
	static const struct {
		const char *queue;
		int64_t jobs[8]; /* PENDING … SUSPENDED */
		int64_t tasks[12];
		int64_t oldest_ms;
	} truth[] = {
		{Q1, {3, 26, 0, 0, 0, 0, 0, 0}, {48, 1396, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 1796653640000},
		{Q2, {0, 2, 0, 0, 1, 0, 8, 2}, {0, 130, 0, 0, 3, 0, 32, 25, 0, 11, 108, 0}, 1796653731692},
		{Q3, {3, 2, 0, 1, 1, 1, 18, 0}, {52, 672, 0, 2, 5, 4, 61, 0, 0, 26, 491, 0}, 1796653690666},
	};
	struct search_jobs_page page = {0};
	struct search_jobs_read r;
	enum search_jobs_step step;
	struct activity *a = NULL;
	char err[256] = "";
	size_t len = 0;
	char *body = read_file("search-jobs.json", &len);

	if (!body)
		return;
	CHECK_INT(search_jobs_parse(body, len, &page, err, sizeof(err)), 0);
	CHECK_INT(page.n_jobs, 68);
	CHECK_INT(page.total_results, 68);
	CHECK_STR(page.jobs[0].id, "job-460d9ff26f39d9b5918142c9867d2e74");

	CHECK_INT(activity_new(&a, "farm-6f8c1e352e310191ae4c45606e57be67", 3), 0);
	for (size_t i = 0; i < 3; i++)
		CHECK_INT(activity_add_queue(a, queues[i]), 0);
	activity_queues_sort(a);
	CHECK_INT(search_jobs_read_init(&r, queues, 3, &activity_active_statuses), 0);
	CHECK_INT(search_jobs_take(&r, &page, add_to, a, &step), 0);
	CHECK_INT(step, SEARCH_JOBS_DONE);
	CHECK_INT(r.repeats, 0);
	CHECK_INT(page.n_jobs, 0);
	activity_jobs_finish(a);

	for (size_t i = 0; i < 3; i++) {
		struct activity_queue *q = activity_find_queue(a, truth[i].queue);
		if (!q) {
			CHECK_MSG(0, "queue %s", truth[i].queue);
			continue;
		}
		for (size_t k = 0; k < 8; k++)
			CHECK_MSG(q->jobs.known[k] == truth[i].jobs[k], "%s %s: %lld jobs, the truth %lld", q->id,
				activity_task_statuses.names[k], (long long)q->jobs.known[k],
				(long long)truth[i].jobs[k]);
		for (size_t k = 0; k < 12; k++)
			CHECK_MSG(q->tasks.known[k] == truth[i].tasks[k], "%s %s: %lld tasks, the truth %lld", q->id,
				activity_task_statuses.names[k], (long long)q->tasks.known[k],
				(long long)truth[i].tasks[k]);
		CHECK(q->has_oldest_waiting && q->oldest_waiting_ms == truth[i].oldest_ms);
		CHECK_INT(q->jobs.n_other + q->tasks.n_other, 0);
	}
	/* the three most recently created, newest first; the first two a millisecond-batch apart */
	CHECK_INT(a->n_jobs, 3);
	CHECK_STR(a->jobs[0].id, "job-ab3549702d9fed2f2b17ca75833678dd");
	CHECK_STR(a->jobs[0].name, "drift_sh0941_comp_v033");
	CHECK_STR(a->jobs[0].user_id, "6f55dcba85-981fa519-1aa1-59b8-a891-7decac76070b");
	CHECK(a->jobs[0].has_priority && a->jobs[0].priority == 25);
	CHECK_INT(a->jobs[0].tasks.known[0], 35);
	CHECK_STR(a->jobs[1].id, "job-fd0cd08520a4ed0fefc7ca4753c81145");
	CHECK_INT(a->jobs[1].created_ms, 1796653752000);
	CHECK_STR(a->jobs[2].id, "job-16690db34b1717d30f8bd7e8197e6d02");
	search_jobs_read_deinit(&r);
	activity_free(a);
	free(body);
}

static const struct {
	const char *name;
	const char *body;
	int rc;
	const char *err; /* a part of the message */
} bad_answers[] = {
	{"not JSON", "{\"jobs\":[", DEADLINE_BAD_JSON, ""},
	{"no totalResults", "{\"jobs\":[]}", DEADLINE_BAD_SHAPE, "totalResults"},
	{"no jobs", "{\"totalResults\":0}", DEADLINE_BAD_SHAPE, "jobs"},
	{"a job without an id",
		"{\"totalResults\":1,\"jobs\":[{\"queueId\":\"" Q1 "\",\"taskRunStatus\":\"READY\","
		"\"createdAt\":\"2026-12-07T14:28:51Z\"}]}",
		DEADLINE_BAD_SHAPE, "jobId"},
	{"a malformed job id",
		"{\"totalResults\":1,\"jobs\":[{\"jobId\":\"job-1\",\"queueId\":\"" Q1 "\",\"taskRunStatus\":\"READY\","
		"\"createdAt\":\"2026-12-07T14:28:51Z\"}]}",
		DEADLINE_BAD_SHAPE, "well-formed"},
	{"a bad createdAt",
		"{\"totalResults\":1,\"jobs\":[{\"jobId\":\"job-ab3549702d9fed2f2b17ca75833678dd\",\"queueId\":\"" Q1
		"\",\"taskRunStatus\":\"READY\",\"createdAt\":\"yesterday\"}]}",
		DEADLINE_BAD_SHAPE, "ISO 8601"},
	{"a priority of 101",
		"{\"totalResults\":1,\"jobs\":[{\"jobId\":\"job-ab3549702d9fed2f2b17ca75833678dd\",\"queueId\":\"" Q1
		"\",\"taskRunStatus\":\"READY\",\"createdAt\":\"2026-12-07T14:28:51Z\",\"priority\":101}]}",
		DEADLINE_BAD_SHAPE, "priority"},
	{"a status counted twice",
		"{\"totalResults\":1,\"jobs\":[{\"jobId\":\"job-ab3549702d9fed2f2b17ca75833678dd\",\"queueId\":\"" Q1
		"\",\"taskRunStatus\":\"READY\",\"createdAt\":\"2026-12-07T14:28:51Z\","
		"\"taskRunStatusCounts\":{\"READY\":2,\"READY\":3}}]}",
		DEADLINE_BAD_SHAPE, "twice"},
	{"an unknown status counted twice",
		"{\"totalResults\":1,\"jobs\":[{\"jobId\":\"job-ab3549702d9fed2f2b17ca75833678dd\",\"queueId\":\"" Q1
		"\",\"taskRunStatus\":\"READY\",\"createdAt\":\"2026-12-07T14:28:51Z\","
		"\"taskRunStatusCounts\":{\"PAUSED\":2,\"PAUSED\":3}}]}",
		DEADLINE_BAD_SHAPE, "twice"},
	{"a negative count",
		"{\"totalResults\":1,\"jobs\":[{\"jobId\":\"job-ab3549702d9fed2f2b17ca75833678dd\",\"queueId\":\"" Q1
		"\",\"taskRunStatus\":\"READY\",\"createdAt\":\"2026-12-07T14:28:51Z\","
		"\"taskRunStatusCounts\":{\"READY\":-2}}]}",
		DEADLINE_BAD_SHAPE, "non-negative"},
	{"a count that is text",
		"{\"totalResults\":1,\"jobs\":[{\"jobId\":\"job-ab3549702d9fed2f2b17ca75833678dd\",\"queueId\":\"" Q1
		"\",\"taskRunStatus\":\"READY\",\"createdAt\":\"2026-12-07T14:28:51Z\","
		"\"taskRunStatusCounts\":{\"READY\":\"2\"}}]}",
		DEADLINE_BAD_SHAPE, "integer"},
};

/* An answer of n jobs of queue Q1 with createdAt ms[i] and ids from id_base, totalResults total. */
static char *page_json(const int64_t *ms, size_t n, unsigned id_base, int64_t total)
{
	struct buf b = {0};
	char when[RFC3339_MS_SIZE];

	buf_puts(&b, "{\"jobs\":[");
	for (size_t i = 0; i < n; i++) {
		rfc3339_format_ms(ms[i], when);
		buf_printf(&b,
			"%s{\"jobId\":\"job-%032x\",\"queueId\":\"" Q1 "\",\"name\":\"j%u\",\"taskRunStatus\":"
			"\"RUNNING\",\"taskRunStatusCounts\":{\"RUNNING\":1,\"SUCCEEDED\":%zu},\"createdAt\":\"%s\"}",
			i ? "," : "", id_base + (unsigned)i, id_base + (unsigned)i, i, when);
	}
	buf_printf(&b, "],\"totalResults\":%lld}", (long long)total);
	return buf_take(&b, NULL);
}

static void test_bad_answers(void)
{
	struct search_jobs_page page = {0};
	char err[256];

	for (size_t i = 0; i < sizeof(bad_answers) / sizeof(bad_answers[0]); i++) {
		err[0] = '\0';
		CHECK_MSG(search_jobs_parse(bad_answers[i].body, strlen(bad_answers[i].body), &page, err,
				  sizeof(err)) == bad_answers[i].rc,
			"%s: %s", bad_answers[i].name, err);
		CHECK_MSG(strstr(err, bad_answers[i].err) != NULL, "%s: \"%s\"", bad_answers[i].name, err);
		CHECK_MSG(page.n_jobs == 0 && !page.jobs, "%s: the page is left empty", bad_answers[i].name);
	}

	/* unknown statuses are kept, up to ACTIVITY_OTHER_MAX of them */
	struct buf b = {0};
	buf_puts(&b, "{\"totalResults\":1,\"jobs\":[{\"jobId\":\"job-ab3549702d9fed2f2b17ca75833678dd\",\"queueId\":"
		     "\"" Q1 "\",\"taskRunStatus\":\"PAUSED\",\"createdAt\":\"2026-12-07T14:28:51Z\","
		     "\"taskRunStatusCounts\":{\"READY\":1");
	for (int k = 0; k < ACTIVITY_OTHER_MAX; k++)
		buf_printf(&b, ",\"NEW_%d\":%d", k, k + 1);
	CHECK_INT(buf_puts(&b, "}}]}"), 0);
	CHECK_INT(search_jobs_parse(b.data, b.len, &page, err, sizeof(err)), 0);
	CHECK_INT(page.jobs[0].tasks.n_other, ACTIVITY_OTHER_MAX);
	CHECK_INT(activity_tally_get(&page.jobs[0].tasks, &activity_task_statuses, "NEW_7"), 8);
	CHECK_STR(page.jobs[0].status, "PAUSED");
	b.len -= 4; /* one more is too many */
	b.data[b.len] = '\0';
	buf_puts(&b, ",\"NEW_X\":1}}]}");
	CHECK_INT(search_jobs_parse(b.data, b.len, &page, err, sizeof(err)), DEADLINE_BAD_SHAPE);
	CHECK(strstr(err, "too many unknown statuses") != NULL);
	CHECK_INT(page.n_jobs, 0);
	buf_deinit(&b);

	/* more jobs than any page holds */
	int64_t *ms = calloc(SEARCH_JOBS_PAGE_MAX + 1, sizeof(*ms));
	char *json = ms ? page_json(ms, SEARCH_JOBS_PAGE_MAX + 1, 1, SEARCH_JOBS_PAGE_MAX + 1) : NULL;
	CHECK(json && search_jobs_parse(json, strlen(json), &page, err, sizeof(err)) == DEADLINE_BAD_JSON);
	CHECK(strstr(err, "too many jobs") != NULL);
	free(json);
	json = ms ? page_json(ms, SEARCH_JOBS_PAGE_MAX, 1, SEARCH_JOBS_PAGE_MAX) : NULL;
	CHECK(json && search_jobs_parse(json, strlen(json), &page, err, sizeof(err)) == 0);
	CHECK_INT(page.n_jobs, SEARCH_JOBS_PAGE_MAX);
	search_jobs_page_deinit(&page);
	free(json);
	free(ms);
}

/* A job counter for the read's tests: how many jobs it was given, and the last one's id. */
struct taken {
	size_t n;
	unsigned ids[64];
	int fail_at; /* 1-based; 0: never */
};

static int take_counting(void *ctx, struct activity_job *j)
{
	struct taken *t = ctx;

	if (t->n < 64)
		t->ids[t->n] = (unsigned)strtoul(j->id + 4, NULL, 16);
	t->n++;
	activity_job_deinit(j);
	return t->fail_at && (int)t->n == t->fail_at ? -ENOMEM : 0;
}

/* One answer through parse, next and take. */
static enum search_jobs_step feed(
	struct search_jobs_read *r, const int64_t *ms, size_t n, unsigned id_base, int64_t total, struct taken *t)
{
	struct search_jobs_page page = {0};
	enum search_jobs_step step = SEARCH_JOBS_STUCK;
	char err[128], *json = page_json(ms, n, id_base, total);

	CHECK(json && search_jobs_parse(json, strlen(json), &page, err, sizeof(err)) == 0);
	CHECK_INT(search_jobs_take(r, &page, take_counting, t, &step), 0);
	free(json);
	return step;
}

static void test_read(void)
{
	static const char *const one[] = {Q1};
	struct search_jobs_read r;
	struct taken t = {0};

	/* every job in the first answer */
	CHECK_INT(search_jobs_read_init(&r, one, 1, &activity_active_statuses), 0);
	CHECK_INT(feed(&r, (int64_t[]){10, 20, 30}, 3, 1, 3, &t), SEARCH_JOBS_DONE);
	CHECK_INT(t.n, 3);
	CHECK(!r.has_threshold);
	search_jobs_read_deinit(&r);

	/*
	 * Pages of 4 (a server capping pageSize) over 9 jobs, two of them (ids 4 and 5) created in the same
	 * millisecond: each next request starts at the last createdAt, so that millisecond's jobs come again and are
	 * dropped, and none is missed, as ">" would miss job 5.
	 */
	memset(&t, 0, sizeof(t));
	CHECK_INT(search_jobs_read_init(&r, one, 1, &activity_active_statuses), 0);
	CHECK_INT(feed(&r, (int64_t[]){10, 20, 30, 40}, 4, 1, 9, &t), SEARCH_JOBS_MORE);
	CHECK(r.has_threshold && r.threshold_ms == 40);
	CHECK_INT(feed(&r, (int64_t[]){40, 40, 50, 60}, 4, 4, 6, &t), SEARCH_JOBS_MORE);
	CHECK_INT(r.threshold_ms, 60);
	CHECK_INT(feed(&r, (int64_t[]){60, 70, 80}, 3, 7, 3, &t), SEARCH_JOBS_DONE);
	CHECK_INT(t.n, 9);
	for (unsigned i = 0; i < 9 && i < t.n; i++)
		CHECK_INT(t.ids[i], i + 1);
	CHECK_INT(r.repeats, 2);
	CHECK_INT(r.pages, 3);
	search_jobs_read_deinit(&r);

	/* a job the search index shows twice, in one answer: once */
	memset(&t, 0, sizeof(t));
	CHECK_INT(search_jobs_read_init(&r, one, 1, NULL), 0);
	struct search_jobs_page page = {0};
	char err[128];
	char *a = page_json((int64_t[]){10, 20}, 2, 1, 3), *b = page_json((int64_t[]){20}, 1, 2, 3);
	CHECK_INT(search_jobs_parse(a, strlen(a), &page, err, sizeof(err)), 0);
	struct search_jobs_page more = {0};
	CHECK_INT(search_jobs_parse(b, strlen(b), &more, err, sizeof(err)), 0);
	struct activity_job *grown = realloc(page.jobs, 3 * sizeof(*grown));
	CHECK(grown != NULL);
	page.jobs = grown;
	page.jobs[2] = more.jobs[0];
	page.n_jobs = 3;
	free(more.jobs);
	enum search_jobs_step step;
	CHECK_INT(search_jobs_take(&r, &page, take_counting, &t, &step), 0);
	CHECK_INT(step, SEARCH_JOBS_DONE);
	CHECK_INT(t.n, 2);
	CHECK_INT(r.repeats, 1);
	free(a);
	free(b);
	search_jobs_read_deinit(&r);

	/* a whole answer in the threshold's millisecond, short of totalResults: the threshold cannot move */
	memset(&t, 0, sizeof(t));
	CHECK_INT(search_jobs_read_init(&r, one, 1, NULL), 0);
	CHECK_INT(feed(&r, (int64_t[]){10, 40}, 2, 1, 5, &t), SEARCH_JOBS_MORE);
	CHECK_INT(feed(&r, (int64_t[]){40, 40}, 2, 2, 4, &t), SEARCH_JOBS_STUCK);
	CHECK_INT(r.threshold_ms, 40);
	/* an empty answer ends the read, whatever it counts */
	CHECK_INT(feed(&r, NULL, 0, 1, 7, &t), SEARCH_JOBS_DONE);
	search_jobs_read_deinit(&r);

	/* a failing take_job: its failure comes back, and the jobs after it are freed, not taken */
	memset(&t, 0, sizeof(t));
	t.fail_at = 2;
	CHECK_INT(search_jobs_read_init(&r, one, 1, NULL), 0);
	a = page_json((int64_t[]){10, 20, 30}, 3, 1, 3);
	CHECK_INT(search_jobs_parse(a, strlen(a), &page, err, sizeof(err)), 0);
	CHECK_INT(search_jobs_take(&r, &page, take_counting, &t, &step), -ENOMEM);
	CHECK_INT(t.n, 2);
	free(a);
	search_jobs_read_deinit(&r);
}

/* The seen set: many ids, each seen once; the all-zero id, which its empty slot cannot hold. */
static void test_seen(void)
{
	static const char *const one[] = {Q1};
	struct search_jobs_read r;
	struct taken t = {0};
	int64_t ms[100];

	for (size_t i = 0; i < 100; i++)
		ms[i] = (int64_t)i;
	CHECK_INT(search_jobs_read_init(&r, one, 1, NULL), 0);
	/* ids 0 … 99 (0 is job-000…0), then 50 … 149: the second half is new */
	CHECK_INT(feed(&r, ms, 100, 0, 200, &t), SEARCH_JOBS_MORE);
	CHECK_INT(feed(&r, ms, 100, 50, 200, &t), SEARCH_JOBS_STUCK);
	CHECK_INT(t.n, 150);
	CHECK_INT(r.repeats, 50);
	for (unsigned k = 0; k < 40; k++) /* the set grows well past its first table */
		feed(&r, ms, 100, 1000 + 100 * k, 200, &t);
	CHECK_INT(t.n, 4150);
	CHECK_INT(r.repeats, 50);
	CHECK(r.seen_zero);
	search_jobs_read_deinit(&r);
}

int main(void)
{
	test_body();
	test_capture();
	test_bad_answers();
	test_read();
	test_seen();
	TEST_DONE();
}
