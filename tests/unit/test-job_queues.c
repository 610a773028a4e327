/* test-job_queues: each job's queue kept per farm: found, missing, first queue kept, searches' start, the cap */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "deadline/job_queues.h"
#include "test.h"

#define Q1 "queue-0123456789abcdef0123456789abcdef"
#define Q2 "queue-fedcba9876543210fedcba9876543210"
#define J1 "job-00000000000000000000000000000001"
#define J2 "job-00000000000000000000000000000002"
#define J3 "job-ffffffffffffffffffffffffffffffff"

static void test_find_add(void)
{
	struct job_queues *jq = NULL;
	const char *q = NULL;

	CHECK_INT(job_queues_new(&jq), 0);
	if (!jq)
		return;
	CHECK_INT(job_queues_find(jq, J1, &q), JOB_QUEUES_UNKNOWN);
	CHECK_INT(job_queues_add(jq, J1, Q1), 0);
	CHECK_INT(job_queues_add(jq, J2, Q2), 0);
	CHECK_INT(job_queues_find(jq, J1, &q), JOB_QUEUES_FOUND);
	CHECK_STR(q, Q1);
	CHECK_INT(job_queues_find(jq, J2, &q), JOB_QUEUES_FOUND);
	CHECK_STR(q, Q2);
	/* a job never changes queue: the first one stays */
	CHECK_INT(job_queues_add(jq, J1, Q2), 0);
	CHECK_INT(job_queues_find(jq, J1, &q), JOB_QUEUES_FOUND);
	CHECK_STR(q, Q1);
	/* not found by a search: missing, until a search finds it; a found job is never made missing */
	CHECK_INT(job_queues_add_missing(jq, J3), 0);
	CHECK_INT(job_queues_find(jq, J3, &q), JOB_QUEUES_MISSING);
	CHECK_INT(job_queues_add_missing(jq, J1), 0);
	CHECK_INT(job_queues_find(jq, J1, &q), JOB_QUEUES_FOUND);
	CHECK_INT(job_queues_add(jq, J3, Q2), 0);
	CHECK_INT(job_queues_find(jq, J3, &q), JOB_QUEUES_FOUND);
	CHECK_STR(q, Q2);
	CHECK_INT(job_queues_size(jq), 3);
	/* malformed ids: refused, and never worth a search */
	CHECK_INT(job_queues_add(jq, "job-1", Q1), -EINVAL);
	CHECK_INT(job_queues_add(jq, J1, "queue-1"), -EINVAL);
	CHECK_INT(job_queues_add(jq, NULL, Q1), -EINVAL);
	CHECK_INT(job_queues_add(jq, "JOB-00000000000000000000000000000001", Q1), -EINVAL);
	CHECK_INT(job_queues_add_missing(jq, Q1), -EINVAL);
	CHECK_INT(job_queues_find(jq, "job-1", &q), JOB_QUEUES_MISSING);
	CHECK_INT(job_queues_find(jq, NULL, &q), JOB_QUEUES_MISSING);
	CHECK_INT(job_queues_size(jq), 3);
	job_queues_free(jq);
	job_queues_free(NULL);
	CHECK_INT(job_queues_size(NULL), 0);
}

/* The first search lists every job; after a complete one, the next starts a margin before it began. */
static void test_search_from(void)
{
	struct job_queues *jq = NULL;
	int64_t since = -1;

	CHECK_INT(job_queues_new(&jq), 0);
	CHECK(!job_queues_search_from(jq, &since));
	CHECK_INT(since, -1);
	job_queues_searched(jq, 1793491200);
	CHECK(job_queues_search_from(jq, &since));
	CHECK_INT(since, 1793491200 - JOB_QUEUES_MARGIN_SECONDS);
	job_queues_searched(jq, 1793491500);
	CHECK(job_queues_search_from(jq, &since));
	CHECK_INT(since, 1793491500 - JOB_QUEUES_MARGIN_SECONDS);
	CHECK(!job_queues_search_from(NULL, &since));
	job_queues_free(jq);
}

/* Many jobs over a few queues (the table grows many times); every one found where it was put. */
static void test_many(void)
{
	struct job_queues *jq = NULL;
	char job[40], queue[40];
	const char *q;
	size_t wrong = 0;

	CHECK_INT(job_queues_new(&jq), 0);
	for (size_t i = 0; i < 200000; i++) {
		snprintf(job, sizeof(job), "job-%032zx", i * 2654435761u);
		snprintf(queue, sizeof(queue), "queue-%032zx", i % 37);
		if (job_queues_add(jq, job, queue) != 0)
			wrong++;
	}
	for (size_t i = 0; i < 200000; i++) {
		snprintf(job, sizeof(job), "job-%032zx", i * 2654435761u);
		snprintf(queue, sizeof(queue), "queue-%032zx", i % 37);
		if (job_queues_find(jq, job, &q) != JOB_QUEUES_FOUND || strcmp(q, queue) != 0)
			wrong++;
	}
	CHECK_INT(wrong, 0);
	CHECK_INT(job_queues_size(jq), 200000);
	snprintf(job, sizeof(job), "job-%032x", 7u);
	CHECK_INT(job_queues_find(jq, job, &q), JOB_QUEUES_UNKNOWN);
	job_queues_free(jq);
}

/* Past JOB_QUEUES_MAX jobs nothing new is remembered, but what is known stays. */
static void test_cap(void)
{
	struct job_queues *jq = NULL;
	char job[40];
	const char *q;
	int r = 0;

	CHECK_INT(job_queues_new(&jq), 0);
	for (size_t i = 0; i < JOB_QUEUES_MAX && r == 0; i++) {
		snprintf(job, sizeof(job), "job-%032zx", i);
		r = i % 2 ? job_queues_add_missing(jq, job) : job_queues_add(jq, job, Q1);
	}
	CHECK_INT(r, 0);
	CHECK_INT(job_queues_size(jq), JOB_QUEUES_MAX);
	snprintf(job, sizeof(job), "job-%032x", JOB_QUEUES_MAX);
	CHECK_INT(job_queues_add(jq, job, Q1), JOB_QUEUES_FULL);
	CHECK_INT(job_queues_add_missing(jq, job), JOB_QUEUES_FULL);
	CHECK_INT(job_queues_find(jq, job, &q), JOB_QUEUES_UNKNOWN);
	/* a known job can still be found, and a missing one found at last */
	CHECK_INT(job_queues_add(jq, J1, Q2), 0);
	CHECK_INT(job_queues_find(jq, J1, &q), JOB_QUEUES_FOUND);
	CHECK_STR(q, Q2);
	CHECK_INT(job_queues_size(jq), JOB_QUEUES_MAX);
	job_queues_free(jq);
}

int main(void)
{
	test_find_add();
	test_search_from();
	test_many();
	test_cap();
	TEST_DONE();
}
