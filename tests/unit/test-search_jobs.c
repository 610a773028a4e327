/* test-search_jobs: SearchJobs' request bodies (within the model's limits) and its answers parsed, table-driven */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline/search_jobs.h"
#include "test.h"

#define Q1 "queue-0123456789abcdef0123456789abcdef"
#define Q2 "queue-fedcba9876543210fedcba9876543210"
#define J1 "job-00000000000000000000000000000001"
#define J2 "job-00000000000000000000000000000002"

/* The body without its terminating NUL, so that a parser reading past len is caught by the sanitizers. */
static char *exact_copy(const char *s, size_t len)
{
	char *c = malloc(len ? len : 1);

	if (!c) {
		perror("malloc");
		exit(1);
	}
	memcpy(c, s, len);
	return c;
}

static void test_path(void)
{
	char *p = search_jobs_path("farm-0123456789abcdef0123456789abcdef");

	CHECK_STR(p, "/2023-10-12/farms/farm-0123456789abcdef0123456789abcdef/search/jobs");
	free(p);
	CHECK(search_jobs_path(NULL) == NULL);
}

static void test_bodies(void)
{
	static const char *const two[] = {Q1, Q2};
	static const char *const active[] = {"READY", "RUNNING"};
	static const struct {
		struct search_jobs_request r;
		const char *body;
	} cases[] = {
		{{.queue_ids = two, .n_queue_ids = 1, .item_offset = 0, .page_size = 100},
			"{\"queueIds\":[\"" Q1
			"\"],\"itemOffset\":0,\"pageSize\":100,\"sortExpressions\":[{\"fieldSort\":"
			"{\"name\":\"CREATED_AT\",\"sortOrder\":\"ASCENDING\"}}]}"},
		{{.queue_ids = two,
			 .n_queue_ids = 2,
			 .item_offset = 9900,
			 .page_size = 100,
			 .has_created_since = true,
			 .created_since = 1793491200},
			"{\"queueIds\":[\"" Q1 "\",\"" Q2
			"\"],\"itemOffset\":9900,\"pageSize\":100,\"filterExpressions\":"
			"{\"operator\":\"AND\",\"filters\":[{\"dateTimeFilter\":{\"name\":\"CREATED_AT\",\"operator\":"
			"\"GREATER_THAN_EQUAL_TO\",\"dateTime\":\"2026-11-01T00:00:00Z\"}}]},\"sortExpressions\":[{"
			"\"fieldSort\":{\"name\":\"CREATED_AT\",\"sortOrder\":\"ASCENDING\"}}]}"},
		{{.queue_ids = two,
			 .n_queue_ids = 1,
			 .item_offset = 10000,
			 .page_size = 1,
			 .has_created_since = true,
			 .created_since = 0,
			 .statuses = active,
			 .n_statuses = 2},
			"{\"queueIds\":[\"" Q1
			"\"],\"itemOffset\":10000,\"pageSize\":1,\"filterExpressions\":{\"operator\":"
			"\"AND\",\"filters\":[{\"dateTimeFilter\":{\"name\":\"CREATED_AT\",\"operator\":"
			"\"GREATER_THAN_EQUAL_TO\",\"dateTime\":\"1970-01-01T00:00:00Z\"}},{\"stringListFilter\":{"
			"\"name\":"
			"\"TASK_RUN_STATUS\",\"operator\":\"ANY_EQUALS\",\"values\":[\"READY\",\"RUNNING\"]}}]},"
			"\"sortExpressions\":[{\"fieldSort\":{\"name\":\"CREATED_AT\",\"sortOrder\":\"ASCENDING\"}}]}"},
		{{.queue_ids = two, .n_queue_ids = 1, .page_size = 50, .statuses = active, .n_statuses = 1},
			"{\"queueIds\":[\"" Q1
			"\"],\"itemOffset\":0,\"pageSize\":50,\"filterExpressions\":{\"operator\":"
			"\"AND\",\"filters\":[{\"stringListFilter\":{\"name\":\"TASK_RUN_STATUS\",\"operator\":"
			"\"ANY_EQUALS\",\"values\":[\"READY\"]}}]},\"sortExpressions\":[{\"fieldSort\":{\"name\":"
			"\"CREATED_AT\",\"sortOrder\":\"ASCENDING\"}}]}"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *body = (char *)"untouched";
		size_t len = 0;

		CHECK_INT(search_jobs_body(&cases[i].r, &body, &len), 0);
		CHECK_STR(body, cases[i].body);
		CHECK_INT(len, body ? strlen(body) : 0);
		free(body);
	}
}

static void test_bodies_refused(void)
{
	static const char *const eleven[] = {Q1, Q1, Q1, Q1, Q1, Q1, Q1, Q1, Q1, Q1, Q1};
	static const char *const bad_ids[] = {"queue-0123", "fleet-0123456789abcdef0123456789abcdef",
		"queue-0123456789ABCDEF0123456789abcdef", "queue-0123456789abcdef0123456789abcde\"", NULL};
	static const char *const bad_status[] = {"READY\"", "ready", ""};
	static const char *const seventeen[] = {"READY", "READY", "READY", "READY", "READY", "READY", "READY", "READY",
		"READY", "READY", "READY", "READY", "READY", "READY", "READY", "READY", "READY"};
	const struct search_jobs_request ok = {.queue_ids = eleven, .n_queue_ids = 1, .page_size = 100};
	struct search_jobs_request r;
	char *body;
	size_t len;

	CHECK_INT(search_jobs_body(&ok, &body, &len), 0);
	free(body);
	CHECK_INT(search_jobs_body(NULL, &body, &len), -EINVAL);
	CHECK_INT(search_jobs_body(&ok, NULL, &len), -EINVAL);
	r = ok, r.n_queue_ids = 0;
	CHECK_INT(search_jobs_body(&r, &body, &len), -EINVAL);
	r = ok, r.n_queue_ids = 10;
	CHECK_INT(search_jobs_body(&r, &body, &len), 0);
	free(body);
	r = ok, r.n_queue_ids = 11;
	CHECK_INT(search_jobs_body(&r, &body, &len), -EINVAL);
	CHECK(body == NULL && len == 0);
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		r = ok, r.queue_ids = &bad_ids[i];
		CHECK_INT(search_jobs_body(&r, &body, &len), -EINVAL);
	}
	r = ok, r.item_offset = -1;
	CHECK_INT(search_jobs_body(&r, &body, &len), -EINVAL);
	r = ok, r.item_offset = SEARCH_JOBS_OFFSET_MAX + 1;
	CHECK_INT(search_jobs_body(&r, &body, &len), -EINVAL);
	r = ok, r.page_size = 0;
	CHECK_INT(search_jobs_body(&r, &body, &len), -EINVAL);
	r = ok, r.page_size = 101;
	CHECK_INT(search_jobs_body(&r, &body, &len), -EINVAL);
	for (size_t i = 0; i < sizeof(bad_status) / sizeof(bad_status[0]); i++) {
		r = ok, r.statuses = &bad_status[i], r.n_statuses = 1;
		CHECK_INT(search_jobs_body(&r, &body, &len), -EINVAL);
	}
	r = ok, r.statuses = seventeen, r.n_statuses = 16;
	CHECK_INT(search_jobs_body(&r, &body, &len), 0);
	free(body);
	r = ok, r.n_statuses = 17, r.statuses = seventeen;
	CHECK_INT(search_jobs_body(&r, &body, &len), -EINVAL);
	r = ok, r.n_statuses = 1, r.statuses = NULL;
	CHECK_INT(search_jobs_body(&r, &body, &len), -EINVAL);
	r = ok, r.has_created_since = true, r.created_since = INT64_C(253402300800);
	CHECK_INT(search_jobs_body(&r, &body, &len), -EINVAL);
}

/* A job as expected after parsing (NULL: absent; created_at INT64_MIN: absent). */
struct job_case {
	const char *job_id, *queue_id, *name, *status;
	int64_t created_at;
};

static const struct parse_case {
	const char *name;
	const char *json;
	int rc;
	size_t n_jobs;
	struct job_case jobs[2];
	int64_t next, total;
	const char *err;
} parse_cases[] = {
	{"two jobs, a next page",
		"{\"jobs\":[{\"jobId\":\"" J1 "\",\"queueId\":\"" Q1 "\",\"name\":\"harbor_sh0393_lgt_v012\","
		"\"taskRunStatus\":\"RUNNING\",\"createdAt\":\"2026-11-01T00:00:00.123Z\",\"priority\":50,"
		"\"taskRunStatusCounts\":{\"RUNNING\":2},\"jobParameters\":{\"a\":{\"int\":\"1\"}}},"
		"{\"jobId\":\"" J2 "\",\"queueId\":\"" Q2 "\"}],\"nextItemOffset\":2,\"totalResults\":7}",
		0, 2, {{J1, Q1, "harbor_sh0393_lgt_v012", "RUNNING", 1793491200}, {J2, Q2, NULL, NULL, INT64_MIN}}, 2,
		7, NULL},
	{"the last page", "{\"jobs\":[],\"totalResults\":0}", 0, 0, {{0}}, -1, 0, NULL},
	{"nulls are absent", "{\"jobs\":[],\"nextItemOffset\":null,\"totalResults\":null}", 0, 0, {{0}}, -1, -1, NULL},
	{"no jobs", "{\"totalResults\":0}", DEADLINE_BAD_SHAPE, 0, {{0}}, 0, 0, "jobs"},
	{"no job id", "{\"jobs\":[{\"queueId\":\"" Q1 "\"}]}", DEADLINE_BAD_SHAPE, 0, {{0}}, 0, 0, "jobId"},
	{"no queue id", "{\"jobs\":[{\"jobId\":\"" J1 "\"}]}", DEADLINE_BAD_SHAPE, 0, {{0}}, 0, 0, "queueId"},
	{"bad job id", "{\"jobs\":[{\"jobId\":\"job-1\",\"queueId\":\"" Q1 "\"}]}", DEADLINE_BAD_SHAPE, 0, {{0}}, 0, 0,
		"not a job id"},
	{"bad queue id", "{\"jobs\":[{\"jobId\":\"" J1 "\",\"queueId\":\"" J2 "\"}]}", DEADLINE_BAD_SHAPE, 0, {{0}}, 0,
		0, "not a queue id"},
	{"NUL in an id", "{\"jobs\":[{\"jobId\":\"" J1 "\\u0000\",\"queueId\":\"" Q1 "\"}]}", DEADLINE_BAD_SHAPE, 0,
		{{0}}, 0, 0, "not a job id"},
	{"bad createdAt", "{\"jobs\":[{\"jobId\":\"" J1 "\",\"queueId\":\"" Q1 "\",\"createdAt\":\"yesterday\"}]}",
		DEADLINE_BAD_SHAPE, 0, {{0}}, 0, 0, "createdAt"},
	{"offset of the wrong type", "{\"jobs\":[],\"nextItemOffset\":\"2\"}", DEADLINE_BAD_SHAPE, 0, {{0}}, 0, 0,
		"nextItemOffset"},
	{"negative offset", "{\"jobs\":[],\"nextItemOffset\":-1}", DEADLINE_BAD_SHAPE, 0, {{0}}, 0, 0, NULL},
	{"truncated", "{\"jobs\":[{\"jobId\":\"" J1, DEADLINE_BAD_JSON, 0, {{0}}, 0, 0, NULL},
	{"not an object", "[]", DEADLINE_BAD_SHAPE, 0, {{0}}, 0, 0, NULL},
};

static void check_opt(const char *name, const char *what, const char *got, const char *want)
{
	if (!want)
		CHECK_MSG(got == NULL, "%s: %s: \"%s\", expected none", name, what, got);
	else
		CHECK_MSG(got && strcmp(got, want) == 0, "%s: %s: \"%s\", expected \"%s\"", name, what,
			got ? got : "(null)", want);
}

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct search_jobs_page page;
		size_t len = strlen(c->json);
		char *body = exact_copy(c->json, len);
		char err[256] = "";
		int rc = search_jobs_parse(body, len, &page, err, sizeof(err));

		CHECK_MSG(rc == c->rc, "%s: rc %d, expected %d (%s)", c->name, rc, c->rc, err);
		if (rc == 0) {
			CHECK_INT(page.n_jobs, c->n_jobs);
			CHECK_INT(page.next_item_offset, c->next);
			CHECK_INT(page.total_results, c->total);
			for (size_t j = 0; j < page.n_jobs && j < c->n_jobs; j++) {
				const struct search_jobs_job *got = &page.jobs[j];
				check_opt(c->name, "jobId", got->job_id, c->jobs[j].job_id);
				check_opt(c->name, "queueId", got->queue_id, c->jobs[j].queue_id);
				check_opt(c->name, "name", got->name, c->jobs[j].name);
				check_opt(c->name, "taskRunStatus", got->task_run_status, c->jobs[j].status);
				CHECK_INT(got->created_at, c->jobs[j].created_at);
			}
		} else {
			CHECK_MSG(page.jobs == NULL && page.n_jobs == 0, "%s: page not left empty", c->name);
			if (c->err)
				CHECK_MSG(strstr(err, c->err) != NULL, "%s: err \"%s\" lacks \"%s\"", c->name, err,
					c->err);
		}
		search_jobs_page_deinit(&page);
		free(body);
	}
	CHECK_INT(search_jobs_parse("{}", 2, NULL, NULL, 0), -EINVAL);
	search_jobs_page_deinit(NULL);
}

/* A page of SEARCH_JOBS_PAGE_JOBS_MAX jobs parses; one more is refused; a name is cut. */
static void test_parse_limits(void)
{
	struct search_jobs_page page;
	char *body = NULL;
	size_t len = 0;
	char err[256];
	FILE *f;

	for (size_t extra = 0; extra < 2; extra++) {
		f = open_memstream(&body, &len);
		fputs("{\"jobs\":[", f);
		for (size_t i = 0; i < SEARCH_JOBS_PAGE_JOBS_MAX + extra; i++)
			fprintf(f, "%s{\"jobId\":\"job-%032zx\",\"queueId\":\"" Q1 "\"}", i ? "," : "", i);
		fputs("]}", f);
		fclose(f);
		CHECK_INT(search_jobs_parse(body, len, &page, err, sizeof(err)), extra ? DEADLINE_BAD_JSON : 0);
		CHECK_INT(page.n_jobs, extra ? 0 : SEARCH_JOBS_PAGE_JOBS_MAX);
		search_jobs_page_deinit(&page);
		free(body);
	}
	f = open_memstream(&body, &len);
	fputs("{\"jobs\":[{\"jobId\":\"" J1 "\",\"queueId\":\"" Q1 "\",\"name\":\"", f);
	for (size_t i = 0; i < SEARCH_JOBS_NAME_MAX + 10; i++)
		fputc('n', f);
	fputs("\"}]}", f);
	fclose(f);
	CHECK_INT(search_jobs_parse(body, len, &page, err, sizeof(err)), 0);
	CHECK_INT(page.n_jobs ? strlen(page.jobs[0].name) : 0, SEARCH_JOBS_NAME_MAX);
	search_jobs_page_deinit(&page);
	free(body);
}

/* Past the result window: again from the latest createdAt while a cut window brought something new. */
static void test_again(void)
{
	bool has = false;
	int64_t since = 0;

	/* a window of fewer than a page of jobs was not cut */
	CHECK(!search_jobs_again(99, 99, 1000, &has, &since));
	CHECK(!has);
	/* nothing new, or nothing dated */
	CHECK(!search_jobs_again(10000, 0, 1000, &has, &since));
	CHECK(!search_jobs_again(10000, 5, INT64_MIN, &has, &since));
	CHECK(search_jobs_again(10000, 10000, 1000, &has, &since));
	CHECK(has && since == 1000);
	/* no later createdAt: the same query again would bring the same jobs */
	CHECK(!search_jobs_again(10000, 3, 1000, &has, &since));
	CHECK(search_jobs_again(100, 1, 1001, &has, &since));
	CHECK_INT(since, 1001);
}

int main(void)
{
	test_again();
	test_path();
	test_bodies();
	test_bodies_refused();
	test_parse();
	test_parse_limits();
	TEST_DONE();
}
