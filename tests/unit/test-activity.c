/* test-activity: a farm's live state as plain data (tallies, queues, the newest jobs, rounds) and as exposition text */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/activity.h"
#include "metrics/activity_render.h"
#include "metrics/store.h"
#include "test.h"

#define FARM "farm-6f8c1e352e310191ae4c45606e57be67"
#define Q1 "queue-0c252b21bd7f97033714808e055a0277"
#define Q2 "queue-d6a28bce76748f5bf26cfb1c43c4238c"
#define F1 "fleet-c8ac407fa7d2164a099ca38a398efb8a"

static void test_tally(void)
{
	struct activity_tally t = {0}, u = {0};
	char name[ACTIVITY_TEXT_MAX + 10];

	CHECK_INT(activity_tally_add(&t, &activity_worker_statuses, "IDLE", 4, 2), 0);
	CHECK_INT(activity_tally_add(&t, &activity_worker_statuses, "IDLEX", 4, 1), 0); /* len counts */
	CHECK_INT(activity_tally_get(&t, &activity_worker_statuses, "IDLE"), 3);
	CHECK_INT(activity_tally_add(&t, &activity_worker_statuses, "HIBERNATING", 11, 5), 0);
	CHECK_INT(activity_tally_add(&t, &activity_worker_statuses, "HIBERNATING", 11, 1), 0);
	CHECK_INT(t.n_other, 1);
	CHECK_INT(activity_tally_get(&t, &activity_worker_statuses, "HIBERNATING"), 6);
	CHECK_INT(activity_tally_get(&t, &activity_worker_statuses, "RUNNING"), 0);
	/* an unknown value is cut at ACTIVITY_TEXT_MAX bytes, and the cut is the same value */
	memset(name, 'X', sizeof(name));
	CHECK_INT(activity_tally_add(&t, &activity_worker_statuses, name, sizeof(name), 1), 0);
	CHECK_INT(activity_tally_add(&t, &activity_worker_statuses, name, ACTIVITY_TEXT_MAX, 1), 0);
	CHECK_INT(t.n_other, 2);
	CHECK_INT(strlen(t.other[1].status), ACTIVITY_TEXT_MAX);
	CHECK_INT(t.other[1].n, 2);
	for (int k = 2; k < ACTIVITY_OTHER_MAX; k++) {
		snprintf(name, sizeof(name), "NEW_%d", k);
		CHECK_INT(activity_tally_add(&t, &activity_worker_statuses, name, strlen(name), 1), 0);
	}
	CHECK_INT(activity_tally_add(&t, &activity_worker_statuses, "ONE_TOO_MANY", 12, 1), ACTIVITY_TOO_MANY);
	CHECK_INT(activity_tally_add(&t, &activity_worker_statuses, "NEW_5", 5, 1), 0); /* a known other still counts */
	CHECK_INT(activity_tally_get(&t, &activity_worker_statuses, "NEW_5"), 2);

	CHECK_INT(activity_tally_add(&u, &activity_worker_statuses, "IDLE", 4, 1), 0);
	CHECK_INT(activity_tally_add(&u, &activity_worker_statuses, "HIBERNATING", 11, 10), 0);
	CHECK_INT(activity_tally_merge(&u, &t, &activity_worker_statuses), 0);
	CHECK_INT(activity_tally_get(&u, &activity_worker_statuses, "IDLE"), 4);
	CHECK_INT(activity_tally_get(&u, &activity_worker_statuses, "HIBERNATING"), 16);
	CHECK_INT(u.n_other, ACTIVITY_OTHER_MAX);
	activity_tally_deinit(&u);
	CHECK_INT(activity_tally_add(&u, &activity_worker_statuses, "OTHER", 5, 1), 0);
	CHECK_INT(activity_tally_merge(&u, &t, &activity_worker_statuses), ACTIVITY_TOO_MANY);
	activity_tally_deinit(&u);
	activity_tally_deinit(&t);
	CHECK(t.n_other == 0 && !t.other && t.known[7] == 0);

	CHECK_INT(activity_enum_find(&activity_active_statuses, "SUSPENDED", 9), 7);
	CHECK_INT(activity_enum_find(&activity_active_statuses, "CANCELED", 8), -1);
	CHECK_INT(activity_enum_find(&activity_task_statuses, "CANCELED", 8), 8);
}

/* A job of queue q created at ms, with the task counts given as (status, n) pairs ending with NULL. */
static struct activity_job job(unsigned id, const char *q, int64_t ms, const char *status, ...)
{
	struct activity_job j = {0};
	char text[40];
	va_list ap;
	const char *s;

	snprintf(text, sizeof(text), "job-%032x", id);
	j.id = strdup(text);
	j.queue_id = strdup(q);
	snprintf(text, sizeof(text), "job %u", id);
	j.name = strdup(text);
	j.status = strdup(status);
	j.created_ms = ms;
	va_start(ap, status);
	while ((s = va_arg(ap, const char *)))
		CHECK_INT(activity_tally_add(&j.tasks, &activity_task_statuses, s, strlen(s), va_arg(ap, int)), 0);
	va_end(ap);
	return j;
}

static int add(struct activity *a, struct activity_job j)
{
	return activity_add_job(a, &j);
}

static void test_jobs(void)
{
	struct activity *a = NULL;
	struct activity_queue *q;

	CHECK_INT(activity_new(&a, FARM, 2), 0);
	CHECK_INT(activity_add_queue(a, Q2), 0);
	CHECK_INT(activity_add_queue(a, Q1), 0);
	CHECK_INT(activity_add_queue(a, Q2), 0); /* named twice in a configuration: once */
	activity_queues_sort(a);
	CHECK_INT(a->n_queues, 2);
	CHECK_STR(a->queues[0].id, Q1);
	CHECK(activity_find_queue(a, Q2) == &a->queues[1]);
	CHECK(activity_find_queue(a, "queue-00000000000000000000000000000000") == NULL);

	CHECK_INT(add(a, job(1, Q1, 5000, "READY", "READY", 4, "SUCCEEDED", 2, NULL)), 0);
	CHECK_INT(add(a, job(2, Q1, 3000, "RUNNING", "READY", 1, "RUNNING", 1, NULL)), 0);
	CHECK_INT(add(a, job(3, Q1, 4000, "READY", "READY", 7, NULL)), 0);
	CHECK_INT(add(a, job(4, Q1, 1000, "PAUSED", "PAUSED", 3, NULL)), 0); /* unknown: active, its own series */
	CHECK_INT(add(a, job(5, Q1, 500, "SUCCEEDED", "SUCCEEDED", 9, NULL)), 0); /* stale in the index: left out */
	CHECK_INT(add(a, job(6, "queue-00000000000000000000000000000000", 1, "READY", NULL)), ACTIVITY_UNKNOWN_QUEUE);
	q = activity_find_queue(a, Q1);
	CHECK_INT(activity_tally_get(&q->jobs, &activity_task_statuses, "READY"), 2);
	CHECK_INT(activity_tally_get(&q->jobs, &activity_task_statuses, "RUNNING"), 1);
	CHECK_INT(activity_tally_get(&q->jobs, &activity_task_statuses, "PAUSED"), 1);
	CHECK_INT(activity_tally_get(&q->jobs, &activity_task_statuses, "SUCCEEDED"), 0);
	CHECK_INT(activity_tally_get(&q->tasks, &activity_task_statuses, "READY"), 12);
	CHECK_INT(activity_tally_get(&q->tasks, &activity_task_statuses, "SUCCEEDED"), 2);
	CHECK_INT(activity_tally_get(&q->tasks, &activity_task_statuses, "PAUSED"), 3);
	/* job 2 has READY tasks but one running: not waiting; the oldest waiting is job 3 */
	CHECK(q->has_oldest_waiting && q->oldest_waiting_ms == 4000);
	CHECK(!activity_find_queue(a, Q2)->has_oldest_waiting);
	activity_jobs_finish(a);
	CHECK_INT(a->n_jobs, 2);
	CHECK_STR(a->jobs[0].id, "job-00000000000000000000000000000001");
	CHECK_STR(a->jobs[1].id, "job-00000000000000000000000000000003");
	activity_free(a);

	/* no per-job rows at all */
	CHECK_INT(activity_new(&a, FARM, 0), 0);
	CHECK_INT(activity_add_queue(a, Q1), 0);
	activity_queues_sort(a);
	CHECK_INT(add(a, job(1, Q1, 5000, "READY", "READY", 4, NULL)), 0);
	activity_jobs_finish(a);
	CHECK_INT(a->n_jobs, 0);
	CHECK_INT(activity_find_queue(a, Q1)->jobs.known[1], 1);
	activity_free(a);
	CHECK_INT(activity_new(&a, FARM, ACTIVITY_JOBS_MAX + 1), -EINVAL);
}

/* The newest jobs kept whatever order they come in, ties broken by id, against a sort of all of them. */
static void test_newest(void)
{
	enum { N = 500, CAP = 37 };
	struct activity *a = NULL;
	uint64_t x = 88172645463325252u;
	int64_t created[N];
	unsigned order[N];

	CHECK_INT(activity_new(&a, FARM, CAP), 0);
	CHECK_INT(activity_add_queue(a, Q1), 0);
	activity_queues_sort(a);
	for (unsigned i = 0; i < N; i++) {
		created[i] = (int64_t)(i / 3); /* three jobs per millisecond: the id decides among them */
		order[i] = i;
	}
	for (unsigned i = N - 1; i > 0; i--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned k = (unsigned)(x % (i + 1)), t = order[i];
		order[i] = order[k];
		order[k] = t;
	}
	for (unsigned i = 0; i < N; i++)
		CHECK_INT(add(a, job(order[i] + 1, Q1, created[order[i]], "RUNNING", NULL)), 0);
	activity_jobs_finish(a);
	CHECK_INT(a->n_jobs, CAP);
	for (unsigned i = 0; i < CAP && i < a->n_jobs; i++) {
		char want[40];
		snprintf(want, sizeof(want), "job-%032x", N - i);
		CHECK_STR(a->jobs[i].id, want);
	}
	CHECK_INT(activity_find_queue(a, Q1)->jobs.known[6], N);
	activity_free(a);
}

/* Items a list gave twice (it changed between pages) are shown once, in a stable order. */
static void test_lists_sort(void)
{
	static const char *const pairs[][2] = {
		{Q2, F1},
		{Q1, F1},
		{Q2, F1},
		{Q1, "fleet-00000000000000000000000000000000"},
	};
	struct activity_license_endpoints *l = NULL;
	struct activity *a = NULL;

	CHECK_INT(activity_new(&a, FARM, 0), 0);
	for (size_t i = 0; i < 4; i++) {
		struct activity_association *s = activity_add_association(a);
		s->queue_id = strdup(pairs[i][0]);
		s->fleet_id = strdup(pairs[i][1]);
		s->status = strdup("ACTIVE");
	}
	for (size_t i = 0; i < 3; i++) {
		struct activity_limit *lim = activity_add_limit(a);
		lim->id = strdup(
			i == 1 ? "limit-00000000000000000000000000000001" : "limit-00000000000000000000000000000002");
	}
	activity_lists_sort(a);
	CHECK_INT(a->n_associations, 3);
	CHECK(strcmp(a->associations[0].queue_id, Q1) == 0 &&
		strcmp(a->associations[0].fleet_id, "fleet-00000000000000000000000000000000") == 0);
	CHECK(strcmp(a->associations[1].queue_id, Q1) == 0 && strcmp(a->associations[1].fleet_id, F1) == 0);
	CHECK(strcmp(a->associations[2].queue_id, Q2) == 0);
	CHECK_INT(a->n_limits, 2);
	CHECK_STR(a->limits[0].id, "limit-00000000000000000000000000000001");
	activity_free(a);

	CHECK_INT(activity_license_endpoints_new(&l, "us-west-2"), 0);
	for (size_t i = 0; i < 3; i++) {
		struct activity_license_endpoint *e = activity_add_license_endpoint(l);
		e->id = strdup(i == 2 ? "le-00000000000000000000000000000001" : "le-00000000000000000000000000000002");
	}
	activity_license_endpoints_sort(l);
	CHECK_INT(l->n, 2);
	CHECK_STR(l->items[0].id, "le-00000000000000000000000000000001");
	activity_license_endpoints_free(l);
}

static void test_merge(void)
{
	struct activity *cur = NULL, *next = NULL;

	/* a first round that read workers and limits only */
	CHECK_INT(activity_new(&next, FARM, 5), 0);
	CHECK(activity_add_fleet(next, F1) != NULL);
	CHECK(activity_add_limit(next) != NULL);
	CHECK(activity_add_association(next) != NULL);
	activity_merge(&cur, next, ACTIVITY_WORKERS | ACTIVITY_LIMITS);
	CHECK(cur == next);
	CHECK_INT(cur->parts, ACTIVITY_WORKERS | ACTIVITY_LIMITS);
	CHECK_INT(cur->n_fleets, 1);
	CHECK_INT(cur->n_associations, 0);

	/* a second that read associations and jobs, and failed at the workers: the fleet stays */
	CHECK_INT(activity_new(&next, FARM, 5), 0);
	CHECK(activity_add_association(next) != NULL);
	CHECK(activity_add_association(next) != NULL);
	CHECK_INT(activity_add_queue(next, Q1), 0);
	CHECK(activity_add_fleet(next, "fleet-00000000000000000000000000000000") != NULL);
	activity_merge(&cur, next, ACTIVITY_ASSOCIATIONS | ACTIVITY_JOBS);
	CHECK_INT(cur->parts, ACTIVITY_PARTS);
	CHECK_INT(cur->n_fleets, 1);
	CHECK_STR(cur->fleets[0].id, F1);
	CHECK_INT(cur->n_associations, 2);
	CHECK_INT(cur->n_queues, 1);
	CHECK_INT(cur->n_limits, 1);

	/* a round that read nothing changes nothing */
	CHECK_INT(activity_new(&next, FARM, 5), 0);
	CHECK(activity_add_limit(next) != NULL);
	CHECK(activity_add_limit(next) != NULL);
	activity_merge(&cur, next, 0);
	CHECK_INT(cur->n_limits, 1);
	activity_free(cur);
}

/* The section of v (or of l), each family's lines after "# name": what the comparisons below expect. */
static char *section_text(const struct activity_view *v, const struct activity_license_endpoints *l)
{
	struct metrics_section *sec = NULL;
	struct buf out = {0};

	CHECK_INT(activity_section_new(&sec, v, l), 0);
	buf_puts(&out, "");
	for (size_t i = 0; sec && i < activity_kind.n_families; i++) {
		const struct metrics_part *p = &sec->part[i];

		if (p->n_seg)
			buf_printf(&out, "# %s\n", activity_kind.families[i].name);
		for (size_t k = 0; k < p->n_seg; k++)
			buf_append(&out, p->seg[k]->text.data, p->seg[k]->text.len);
	}
	metrics_section_unref(sec);
	return buf_take(&out, NULL);
}

/* The parts of an expected text, one after the other. */
static char *concat(const char *const *parts, size_t n)
{
	struct buf out = {0};

	buf_puts(&out, "");
	for (size_t i = 0; i < n; i++)
		buf_puts(&out, parts[i]);
	return buf_take(&out, NULL);
}

static const char *const expected_text[] = {
	"# deadline_cloud_fleet_workers_by_status\n"
	"deadline_cloud_fleet_workers_by_status{farm_id=\"" FARM "\",fleet_id=\"" F1 "\",status=\"CREATED\"} 0\n"
	"deadline_cloud_fleet_workers_by_status{farm_id=\"" FARM "\",fleet_id=\"" F1 "\",status=\"STARTED\"} 0\n"
	"deadline_cloud_fleet_workers_by_status{farm_id=\"" FARM "\",fleet_id=\"" F1 "\",status=\"STOPPING\"} 0\n"
	"deadline_cloud_fleet_workers_by_status{farm_id=\"" FARM "\",fleet_id=\"" F1 "\",status=\"STOPPED\"} 0\n"
	"deadline_cloud_fleet_workers_by_status{farm_id=\"" FARM "\",fleet_id=\"" F1 "\",status=\"NOT_RESPONDING\"} 2\n"
	"deadline_cloud_fleet_workers_by_status{farm_id=\"" FARM "\",fleet_id=\"" F1 "\",status=\"NOT_COMPATIBLE\"} 0\n"
	"deadline_cloud_fleet_workers_by_status{farm_id=\"" FARM "\",fleet_id=\"" F1 "\",status=\"RUNNING\"} 7\n"
	"deadline_cloud_fleet_workers_by_status{farm_id=\"" FARM "\",fleet_id=\"" F1 "\",status=\"IDLE\"} 0\n"
	"deadline_cloud_fleet_workers_by_status{farm_id=\"" FARM "\",fleet_id=\"" F1 "\",status=\"ASLEEP\"} 1\n",
	"# deadline_cloud_queue_active_jobs\n"
	"deadline_cloud_queue_active_jobs{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"PENDING\"} 0\n"
	"deadline_cloud_queue_active_jobs{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"READY\"} 1\n"
	"deadline_cloud_queue_active_jobs{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"ASSIGNED\"} 0\n"
	"deadline_cloud_queue_active_jobs{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"STARTING\"} 0\n"
	"deadline_cloud_queue_active_jobs{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"SCHEDULED\"} 0\n"
	"deadline_cloud_queue_active_jobs{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"INTERRUPTING\"} 0\n"
	"deadline_cloud_queue_active_jobs{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"RUNNING\"} 0\n"
	"deadline_cloud_queue_active_jobs{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"SUSPENDED\"} 0\n",
	"# deadline_cloud_queue_tasks\n"
	"deadline_cloud_queue_tasks{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"PENDING\"} 0\n"
	"deadline_cloud_queue_tasks{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"READY\"} 3\n"
	"deadline_cloud_queue_tasks{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"ASSIGNED\"} 0\n"
	"deadline_cloud_queue_tasks{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"STARTING\"} 0\n"
	"deadline_cloud_queue_tasks{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"SCHEDULED\"} 0\n"
	"deadline_cloud_queue_tasks{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"INTERRUPTING\"} 0\n"
	"deadline_cloud_queue_tasks{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"RUNNING\"} 0\n"
	"deadline_cloud_queue_tasks{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"SUSPENDED\"} 0\n"
	"deadline_cloud_queue_tasks{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"CANCELED\"} 0\n"
	"deadline_cloud_queue_tasks{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"FAILED\"} 1\n"
	"deadline_cloud_queue_tasks{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"SUCCEEDED\"} 0\n"
	"deadline_cloud_queue_tasks{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",status=\"NOT_COMPATIBLE\"} 0\n",
	"# deadline_cloud_queue_oldest_waiting_job_created_timestamp_seconds\n"
	"deadline_cloud_queue_oldest_waiting_job_created_timestamp_seconds{farm_id=\"" FARM "\",queue_id=\"" Q1
	"\"} 1796653731.692\n",
	"# deadline_cloud_job_tasks\n"
	"deadline_cloud_job_tasks{farm_id=\"" FARM "\",queue_id=\"" Q1
	"\",job_id=\"job-00000000000000000000000000000001\",job_name=\"a \\\"b\\\"\\\\\\nc\",status=\"PENDING\"} 0\n"
	"deadline_cloud_job_tasks{farm_id=\"" FARM "\",queue_id=\"" Q1
	"\",job_id=\"job-00000000000000000000000000000001\",job_name=\"a \\\"b\\\"\\\\\\nc\",status=\"READY\"} 3\n",
};
/* The end of the expected text (after the job's other task statuses). */
static const char *const expected_tail[] = {
	"# deadline_cloud_job_info\n"
	"deadline_cloud_job_info{farm_id=\"" FARM "\",queue_id=\"" Q1
	"\",job_id=\"job-00000000000000000000000000000001\",job_name=\"a \\\"b\\\"\\\\\\nc\",user_id=\"u-1\","
	"priority=\"50\"} 1\n",
	"# deadline_cloud_queue_fleet_association_status\n"
	"deadline_cloud_queue_fleet_association_status{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",fleet_id=\"" F1
	"\",status=\"ACTIVE\"} 0\n"
	"deadline_cloud_queue_fleet_association_status{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",fleet_id=\"" F1
	"\",status=\"STOP_SCHEDULING_AND_COMPLETE_TASKS\"} 0\n"
	"deadline_cloud_queue_fleet_association_status{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",fleet_id=\"" F1
	"\",status=\"STOP_SCHEDULING_AND_CANCEL_TASKS\"} 0\n"
	"deadline_cloud_queue_fleet_association_status{farm_id=\"" FARM "\",queue_id=\"" Q1 "\",fleet_id=\"" F1
	"\",status=\"STOPPED\"} 1\n",
	"# deadline_cloud_limit_info\n"
	"deadline_cloud_limit_info{farm_id=\"" FARM "\",limit_id=\"limit-09ba0da88bbb74f72b06637e8f32420d\","
	"limit_name=\"Maya\",amount_requirement_name=\"amount.limit.maya\"} 1\n"
	"deadline_cloud_limit_info{farm_id=\"" FARM "\",limit_id=\"limit-7c7691f6c12514dd04ddc6d06684ef8a\","
	"limit_name=\"Houdini \xef\xbf\xbd\",amount_requirement_name=\"amount.limit.houdini\"} 1\n",
	"# deadline_cloud_limit_current\n"
	"deadline_cloud_limit_current{farm_id=\"" FARM "\",limit_id=\"limit-09ba0da88bbb74f72b06637e8f32420d\"} 10\n"
	"deadline_cloud_limit_current{farm_id=\"" FARM "\",limit_id=\"limit-7c7691f6c12514dd04ddc6d06684ef8a\"} 8\n",
	"# deadline_cloud_limit_max\n"
	"deadline_cloud_limit_max{farm_id=\"" FARM "\",limit_id=\"limit-09ba0da88bbb74f72b06637e8f32420d\"} 10\n",
	"# deadline_cloud_exporter_activity_up\n"
	"deadline_cloud_exporter_activity_up{farm_id=\"" FARM "\"} 0\n",
	"# deadline_cloud_exporter_activity_last_success_timestamp_seconds\n"
	"deadline_cloud_exporter_activity_last_success_timestamp_seconds{farm_id=\"" FARM "\"} 1796653740\n",
};
static void test_render(void)
{
	struct activity *a = NULL;
	struct activity_fleet *f;
	struct activity_association *s;
	struct activity_limit *l;
	struct activity_view v = {.farm_id = FARM};
	struct activity_job j;
	char *text, *head, *tail;

	/* before any round: the health only */
	text = section_text(&v, NULL);
	CHECK_STR(text,
		"# deadline_cloud_exporter_activity_up\ndeadline_cloud_exporter_activity_up{farm_id=\"" FARM "\"} 0\n");
	free(text);

	CHECK_INT(activity_new(&a, FARM, 10), 0);
	f = activity_add_fleet(a, F1);
	CHECK_INT(activity_tally_add(&f->workers, &activity_worker_statuses, "RUNNING", 7, 7), 0);
	CHECK_INT(activity_tally_add(&f->workers, &activity_worker_statuses, "NOT_RESPONDING", 14, 2), 0);
	CHECK_INT(activity_tally_add(&f->workers, &activity_worker_statuses, "ASLEEP", 6, 1), 0);
	CHECK_INT(activity_add_queue(a, Q1), 0);
	activity_queues_sort(a);
	j = job(1, Q1, 1796653731692, "READY", "READY", 3, "FAILED", 1, NULL);
	free(j.name);
	j.name = strdup("a \"b\"\\\nc");
	j.user_id = strdup("u-1");
	j.has_priority = true;
	j.priority = 50;
	CHECK_INT(activity_add_job(a, &j), 0);
	activity_jobs_finish(a);
	s = activity_add_association(a);
	s->queue_id = strdup(Q1);
	s->fleet_id = strdup(F1);
	s->status = strdup("STOPPED");
	l = activity_add_limit(a);
	l->id = strdup("limit-09ba0da88bbb74f72b06637e8f32420d");
	l->name = strdup("Maya");
	l->amount_name = strdup("amount.limit.maya");
	l->current = l->max = 10;
	l = activity_add_limit(a);
	l->id = strdup("limit-7c7691f6c12514dd04ddc6d06684ef8a");
	l->name = strdup("Houdini \xff"); /* not UTF-8: mended */
	l->amount_name = strdup("amount.limit.houdini");
	l->current = 8;
	l->max = -1; /* unlimited: no _max series */
	a->parts = ACTIVITY_PARTS;

	v.a = a;
	v.last_success = 1796653740;
	text = section_text(&v, NULL);
	head = concat(expected_text, sizeof(expected_text) / sizeof(expected_text[0]));
	tail = concat(expected_tail, sizeof(expected_tail) / sizeof(expected_tail[0]));
	CHECK_MSG(strncmp(text, head, strlen(head)) == 0, "got:\n%s", text);
	CHECK_MSG(
		strlen(text) > strlen(tail) && strcmp(text + strlen(text) - strlen(tail), tail) == 0, "got:\n%s", text);
	free(head);
	free(tail);
	/* the job's twelve task statuses, each once */
	CHECK_INT((long long)(strstr(text, "# deadline_cloud_job_info") - strstr(text, "# deadline_cloud_job_tasks")),
		(long long)(strlen("# deadline_cloud_job_tasks\n") +
			    12 * strlen("deadline_cloud_job_tasks{farm_id=\"" FARM "\",queue_id=\"" Q1
					"\",job_id=\"job-00000000000000000000000000000001\",job_name=\"a "
					"\\\"b\\\"\\\\\\nc\",status=\"\"} 0\n") +
			    strlen("PENDINGREADYASSIGNEDSTARTINGSCHEDULEDINTERRUPTINGRUNNINGSUSPENDEDCANCELEDFAILED"
				   "SUCCEEDEDNOT_COMPATIBLE")));
	free(text);

	/* only the parts read are shown */
	a->parts = ACTIVITY_LIMITS;
	v.up = true;
	text = section_text(&v, NULL);
	CHECK(strstr(text, "deadline_cloud_limit_current") && !strstr(text, "deadline_cloud_fleet_workers_by_status") &&
		!strstr(text, "deadline_cloud_job_info") && !strstr(text, "association_status"));
	CHECK(strstr(text, "deadline_cloud_exporter_activity_up{farm_id=\"" FARM "\"} 1\n") != NULL);
	free(text);

	activity_free(a);
}

static void test_license_endpoints(void)
{
	struct activity_license_endpoints *l = NULL;
	struct activity_license_endpoint *e;
	char *text;

	CHECK_INT(activity_license_endpoints_new(&l, "us-west-2"), 0);
	e = activity_add_license_endpoint(l);
	e->id = strdup("le-799636e86b74499fc6453c471674c3c1");
	e->status = strdup("NOT_READY");
	e = activity_add_license_endpoint(l);
	e->id = strdup("le-3ac8f04f918b57fd5bd9d8818300b9ef");
	e->status = strdup("MIGRATING");
	text = section_text(NULL, l);
	CHECK_STR(text,
		"# deadline_cloud_license_endpoint_status\n"
		"deadline_cloud_license_endpoint_status{license_endpoint_id=\"le-799636e86b74499fc6453c471674c3c1\","
		"status=\"CREATE_IN_PROGRESS\"} 0\n"
		"deadline_cloud_license_endpoint_status{license_endpoint_id=\"le-799636e86b74499fc6453c471674c3c1\","
		"status=\"DELETE_IN_PROGRESS\"} 0\n"
		"deadline_cloud_license_endpoint_status{license_endpoint_id=\"le-799636e86b74499fc6453c471674c3c1\","
		"status=\"READY\"} 0\n"
		"deadline_cloud_license_endpoint_status{license_endpoint_id=\"le-799636e86b74499fc6453c471674c3c1\","
		"status=\"NOT_READY\"} 1\n"
		"deadline_cloud_license_endpoint_status{license_endpoint_id=\"le-3ac8f04f918b57fd5bd9d8818300b9ef\","
		"status=\"CREATE_IN_PROGRESS\"} 0\n"
		"deadline_cloud_license_endpoint_status{license_endpoint_id=\"le-3ac8f04f918b57fd5bd9d8818300b9ef\","
		"status=\"DELETE_IN_PROGRESS\"} 0\n"
		"deadline_cloud_license_endpoint_status{license_endpoint_id=\"le-3ac8f04f918b57fd5bd9d8818300b9ef\","
		"status=\"READY\"} 0\n"
		"deadline_cloud_license_endpoint_status{license_endpoint_id=\"le-3ac8f04f918b57fd5bd9d8818300b9ef\","
		"status=\"NOT_READY\"} 0\n"
		"deadline_cloud_license_endpoint_status{license_endpoint_id=\"le-3ac8f04f918b57fd5bd9d8818300b9ef\","
		"status=\"MIGRATING\"} 1\n");
	free(text);
	activity_license_endpoints_truncate(l, 1);
	CHECK_INT(l->n, 1);
	activity_license_endpoints_free(l);
}

/* Which farm lists each region's license endpoints, and the sections declared for them and the farms. */
static void test_declare(void)
{
	struct farm_config farms[] = {
		{.id = (char *)"farm-00000000000000000000000000000001"},
		{.id = (char *)"farm-00000000000000000000000000000002", .region = (char *)"eu-west-1"},
		{.id = (char *)"farm-00000000000000000000000000000003"}, /* the exporter's region, like the first */
		{.id = (char *)"farm-00000000000000000000000000000004", .region = (char *)"us-west-2"},
		{.id = (char *)"farm-00000000000000000000000000000005",
			.account_id = "111122223333"}, /* another account */
		{.id = (char *)"farm-00000000000000000000000000000006", .region = (char *)"eu-west-1"},
	};
	static const bool lists[] = {true, true, false, false, true, false};
	struct config cfg = {.farms = farms, .n_farms = 6};
	struct metrics_store *store = NULL;
	char key[ACTIVITY_LICENSE_KEY_SIZE];

	for (size_t i = 0; i < 6; i++)
		CHECK_MSG(activity_lists_license_endpoints(&cfg, i, "us-west-2") == lists[i], "farm %zu", i + 1);
	activity_license_key(farms[1].id, key);
	CHECK_STR(key, "farm-00000000000000000000000000000002/license-endpoints");

	CHECK_INT(metrics_store_new(&store, "test"), 0);
	cfg.activity.enabled = true;
	CHECK_INT(activity_declare(store, &cfg, "us-west-2"), 0);
	for (size_t i = 0; i < 6; i++) {
		struct activity_view v = {.farm_id = farms[i].id};
		struct metrics_section *sec = NULL;

		CHECK_INT(activity_section_new(&sec, &v, NULL), 0);
		CHECK_INT(metrics_store_put(store, &activity_kind, farms[i].id, sec), 0);
		activity_license_key(farms[i].id, key);
		CHECK_INT(activity_section_new(&sec, NULL, NULL), 0);
		CHECK_MSG(metrics_store_put(store, &activity_kind, key, sec) == (lists[i] ? 0 : -ENOENT),
			"the license endpoints of farm %zu %s declared", i + 1, lists[i] ? "are" : "are not");
	}
	/* activity off: nothing declared, every section gone */
	cfg.activity.enabled = false;
	CHECK_INT(activity_declare(store, &cfg, "us-west-2"), 0);
	struct metrics_section *sec = NULL;
	struct activity_view v = {.farm_id = farms[0].id};
	CHECK_INT(activity_section_new(&sec, &v, NULL), 0);
	CHECK_INT(metrics_store_put(store, &activity_kind, farms[0].id, sec), -ENOENT);
	metrics_store_free(store);
}

int main(void)
{
	test_tally();
	test_jobs();
	test_newest();
	test_lists_sort();
	test_merge();
	test_render();
	test_license_endpoints();
	test_declare();
	TEST_DONE();
}
