/* activity: what a farm is doing now (workers, active jobs and tasks, associations, limits) as plain data */
#include "metrics/activity.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"

/* clang-format off */
static const char *const worker_statuses[] = {
	"CREATED", "STARTED", "STOPPING", "STOPPED", "NOT_RESPONDING", "NOT_COMPATIBLE", "RUNNING", "IDLE",
};
/* The first eight are the active ones: activity_active_statuses is their prefix. */
static const char *const task_statuses[] = {
	"PENDING", "READY", "ASSIGNED", "STARTING", "SCHEDULED", "INTERRUPTING", "RUNNING", "SUSPENDED",
	"CANCELED", "FAILED", "SUCCEEDED", "NOT_COMPATIBLE",
};
static const char *const association_statuses[] = {
	"ACTIVE", "STOP_SCHEDULING_AND_COMPLETE_TASKS", "STOP_SCHEDULING_AND_CANCEL_TASKS", "STOPPED",
};
static const char *const license_endpoint_statuses[] = {
	"CREATE_IN_PROGRESS", "DELETE_IN_PROGRESS", "READY", "NOT_READY",
};
/* clang-format on */

const struct activity_enum activity_worker_statuses = {worker_statuses, ARRAY_SIZE(worker_statuses)};
const struct activity_enum activity_task_statuses = {task_statuses, ARRAY_SIZE(task_statuses)};
const struct activity_enum activity_active_statuses = {task_statuses, 8};
const struct activity_enum activity_association_statuses = {association_statuses, ARRAY_SIZE(association_statuses)};
const struct activity_enum activity_license_endpoint_statuses = {
	license_endpoint_statuses, ARRAY_SIZE(license_endpoint_statuses)};

_Static_assert(ARRAY_SIZE(task_statuses) <= ACTIVITY_ENUM_MAX, "the tally holds every known value");

/* Indexes in task_statuses the model needs by name. */
enum {
	TASK_READY = 1,
	TASK_RUNNING = 6,
	TASK_FIRST_INACTIVE = 8,
};

int activity_enum_find(const struct activity_enum *e, const char *status, size_t len)
{
	for (size_t i = 0; i < e->n; i++) {
		if (strlen(e->names[i]) == len && memcmp(e->names[i], status, len) == 0)
			return (int)i;
	}
	return -1;
}

/* ---- tallies ---- */

int activity_tally_add(
	struct activity_tally *t, const struct activity_enum *e, const char *status, size_t len, int64_t n)
{
	struct activity_other *grown;
	int k = activity_enum_find(e, status, len);

	if (k >= 0) {
		t->known[k] += n;
		return 0;
	}
	if (len > ACTIVITY_TEXT_MAX)
		len = ACTIVITY_TEXT_MAX;
	for (size_t i = 0; i < t->n_other; i++) {
		if (strlen(t->other[i].status) == len && memcmp(t->other[i].status, status, len) == 0) {
			t->other[i].n += n;
			return 0;
		}
	}
	if (t->n_other >= ACTIVITY_OTHER_MAX)
		return ACTIVITY_TOO_MANY;
	grown = realloc(t->other, (t->n_other + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	t->other = grown;
	grown[t->n_other].status = strndup(status, len);
	if (!grown[t->n_other].status)
		return -ENOMEM;
	grown[t->n_other++].n = n;
	return 0;
}

int64_t activity_tally_get(const struct activity_tally *t, const struct activity_enum *e, const char *status)
{
	int k = activity_enum_find(e, status, strlen(status));

	if (k >= 0)
		return t->known[k];
	for (size_t i = 0; i < t->n_other; i++)
		if (strcmp(t->other[i].status, status) == 0)
			return t->other[i].n;
	return 0;
}

int activity_tally_merge(struct activity_tally *dst, const struct activity_tally *src, const struct activity_enum *e)
{
	for (size_t i = 0; i < src->n_other; i++) {
		int r = activity_tally_add(dst, e, src->other[i].status, strlen(src->other[i].status), src->other[i].n);
		if (r != 0)
			return r;
	}
	for (size_t i = 0; i < ACTIVITY_ENUM_MAX; i++)
		dst->known[i] += src->known[i];
	return 0;
}

void activity_tally_deinit(struct activity_tally *t)
{
	for (size_t i = 0; i < t->n_other; i++)
		free(t->other[i].status);
	free(t->other);
	memset(t, 0, sizeof(*t));
}

/* ---- the farm's state ---- */

int activity_new(struct activity **out, const char *farm_id, size_t jobs_cap)
{
	struct activity *a;

	if (!out || !farm_id || jobs_cap > ACTIVITY_JOBS_MAX)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a || !(a->farm_id = strdup(farm_id))) {
		free(a);
		return -ENOMEM;
	}
	a->jobs_cap = jobs_cap;
	*out = a;
	return 0;
}

static void fleet_deinit(struct activity_fleet *f)
{
	free(f->id);
	activity_tally_deinit(&f->workers);
}

static void queue_deinit(struct activity_queue *q)
{
	free(q->id);
	activity_tally_deinit(&q->jobs);
	activity_tally_deinit(&q->tasks);
}

static void association_deinit(struct activity_association *s)
{
	free(s->queue_id);
	free(s->fleet_id);
	free(s->status);
	memset(s, 0, sizeof(*s));
}

static void limit_deinit(struct activity_limit *l)
{
	free(l->id);
	free(l->name);
	free(l->amount_name);
	memset(l, 0, sizeof(*l));
}

void activity_job_deinit(struct activity_job *j)
{
	free(j->id);
	free(j->queue_id);
	free(j->name);
	free(j->user_id);
	free(j->status);
	activity_tally_deinit(&j->tasks);
	memset(j, 0, sizeof(*j));
}

/* The parts' arrays freed and emptied. */
static void free_workers(struct activity *a)
{
	for (size_t i = 0; i < a->n_fleets; i++)
		fleet_deinit(&a->fleets[i]);
	free(a->fleets);
	a->fleets = NULL;
	a->n_fleets = 0;
}

static void free_jobs(struct activity *a)
{
	for (size_t i = 0; i < a->n_queues; i++)
		queue_deinit(&a->queues[i]);
	for (size_t i = 0; i < a->n_jobs; i++)
		activity_job_deinit(&a->jobs[i]);
	free(a->queues);
	free(a->jobs);
	a->queues = NULL;
	a->jobs = NULL;
	a->n_queues = a->n_jobs = a->jobs_room = 0;
	a->jobs_sorted = false;
}

static void free_associations(struct activity *a)
{
	for (size_t i = 0; i < a->n_associations; i++)
		association_deinit(&a->associations[i]);
	free(a->associations);
	a->associations = NULL;
	a->n_associations = 0;
}

static void free_limits(struct activity *a)
{
	for (size_t i = 0; i < a->n_limits; i++)
		limit_deinit(&a->limits[i]);
	free(a->limits);
	a->limits = NULL;
	a->n_limits = 0;
}

void activity_free(struct activity *a)
{
	if (!a)
		return;
	free_workers(a);
	free_jobs(a);
	free_associations(a);
	free_limits(a);
	free(a->farm_id);
	free(a);
}

/*
 * Grows items (n elements of size bytes) by one zeroed element, at most ACTIVITY_ITEMS_MAX: the array, perhaps moved,
 * goes to *array (left alone on failure); returns the new element, or NULL.
 */
static void *append(void *items, size_t *n, size_t size, void **array)
{
	char *grown;

	if (*n >= ACTIVITY_ITEMS_MAX)
		return NULL;
	grown = realloc(items, (*n + 1) * size);
	if (!grown)
		return NULL;
	*array = grown;
	memset(grown + *n * size, 0, size);
	return grown + (*n)++ * size;
}

struct activity_fleet *activity_add_fleet(struct activity *a, const char *id)
{
	void *array = a->fleets;
	struct activity_fleet *f = append(a->fleets, &a->n_fleets, sizeof(*f), &array);

	a->fleets = array;
	if (f && !(f->id = strdup(id))) {
		a->n_fleets--;
		return NULL;
	}
	return f;
}

struct activity_association *activity_add_association(struct activity *a)
{
	void *array = a->associations;
	struct activity_association *s = append(a->associations, &a->n_associations, sizeof(*s), &array);

	a->associations = array;
	return s;
}

struct activity_limit *activity_add_limit(struct activity *a)
{
	void *array = a->limits;
	struct activity_limit *l = append(a->limits, &a->n_limits, sizeof(*l), &array);

	a->limits = array;
	return l;
}

void activity_truncate(struct activity *a, size_t n_fleets, size_t n_associations, size_t n_limits)
{
	for (size_t i = n_fleets; i < a->n_fleets; i++)
		fleet_deinit(&a->fleets[i]);
	for (size_t i = n_associations; i < a->n_associations; i++)
		association_deinit(&a->associations[i]);
	for (size_t i = n_limits; i < a->n_limits; i++)
		limit_deinit(&a->limits[i]);
	if (n_fleets < a->n_fleets)
		a->n_fleets = n_fleets;
	if (n_associations < a->n_associations)
		a->n_associations = n_associations;
	if (n_limits < a->n_limits)
		a->n_limits = n_limits;
}

static int association_cmp(const void *x, const void *y)
{
	const struct activity_association *a = x, *b = y;
	int c = strcmp(a->queue_id, b->queue_id);

	return c ? c : strcmp(a->fleet_id, b->fleet_id);
}

static int limit_cmp(const void *x, const void *y)
{
	return strcmp(((const struct activity_limit *)x)->id, ((const struct activity_limit *)y)->id);
}

void activity_lists_sort(struct activity *a)
{
	size_t kept = 0;

	if (a->n_associations)
		qsort(a->associations, a->n_associations, sizeof(*a->associations), association_cmp);
	for (size_t i = 0; i < a->n_associations; i++) {
		if (kept && association_cmp(&a->associations[kept - 1], &a->associations[i]) == 0)
			association_deinit(&a->associations[i]);
		else
			a->associations[kept++] = a->associations[i];
	}
	a->n_associations = kept;
	kept = 0;
	if (a->n_limits)
		qsort(a->limits, a->n_limits, sizeof(*a->limits), limit_cmp);
	for (size_t i = 0; i < a->n_limits; i++) {
		if (kept && limit_cmp(&a->limits[kept - 1], &a->limits[i]) == 0)
			limit_deinit(&a->limits[i]);
		else
			a->limits[kept++] = a->limits[i];
	}
	a->n_limits = kept;
}

/* ---- queues and jobs ---- */

int activity_add_queue(struct activity *a, const char *id)
{
	void *array = a->queues;
	struct activity_queue *q;

	if (a->n_queues >= ACTIVITY_ITEMS_MAX)
		return ACTIVITY_TOO_MANY;
	q = append(a->queues, &a->n_queues, sizeof(*q), &array);
	a->queues = array;
	if (!q || !(q->id = strdup(id))) {
		if (q)
			a->n_queues--;
		return -ENOMEM;
	}
	return 0;
}

static int queue_cmp(const void *x, const void *y)
{
	return strcmp(((const struct activity_queue *)x)->id, ((const struct activity_queue *)y)->id);
}

void activity_queues_sort(struct activity *a)
{
	size_t kept = 0;

	if (a->n_queues)
		qsort(a->queues, a->n_queues, sizeof(*a->queues), queue_cmp);
	/* a queue named twice (a list in the configuration that repeats one) is counted once */
	for (size_t i = 0; i < a->n_queues; i++) {
		if (kept && strcmp(a->queues[kept - 1].id, a->queues[i].id) == 0)
			queue_deinit(&a->queues[i]);
		else
			a->queues[kept++] = a->queues[i];
	}
	a->n_queues = kept;
}

struct activity_queue *activity_find_queue(struct activity *a, const char *id)
{
	struct activity_queue key = {.id = (char *)id};

	if (!a->n_queues)
		return NULL;
	return bsearch(&key, a->queues, a->n_queues, sizeof(key), queue_cmp);
}

/* Which of two jobs was created earlier (the one the heap drops first): by createdAt, then by id. */
static bool job_older(const struct activity_job *x, const struct activity_job *y)
{
	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms;
	return strcmp(x->id, y->id) < 0;
}

static void heap_sift_down(struct activity_job *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct activity_job t;

		if (l < n && job_older(&h[l], &h[m]))
			m = l;
		if (r < n && job_older(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void heap_sift_up(struct activity_job *h, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct activity_job t;

		if (!job_older(&h[i], &h[p]))
			return;
		t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

/* Keeps j's row when it is among the jobs_cap newest so far (taking it), else frees it. */
static int keep_row(struct activity *a, struct activity_job *j)
{
	if (a->n_jobs < a->jobs_cap) {
		if (a->n_jobs == a->jobs_room) {
			/* doubling up to the cap: a farm of a few jobs under a cap of 10,000 keeps a few rows */
			size_t room = a->jobs_room ? 2 * a->jobs_room : 16;
			struct activity_job *grown;

			if (room > a->jobs_cap)
				room = a->jobs_cap;
			grown = realloc(a->jobs, room * sizeof(*grown));
			if (!grown) {
				activity_job_deinit(j);
				return -ENOMEM;
			}
			a->jobs = grown;
			a->jobs_room = room;
		}
		a->jobs[a->n_jobs] = *j;
		heap_sift_up(a->jobs, a->n_jobs++);
	} else if (a->n_jobs && job_older(&a->jobs[0], j)) {
		activity_job_deinit(&a->jobs[0]);
		a->jobs[0] = *j;
		heap_sift_down(a->jobs, a->n_jobs, 0);
	} else {
		activity_job_deinit(j);
	}
	memset(j, 0, sizeof(*j));
	return 0;
}

int activity_add_job(struct activity *a, struct activity_job *j)
{
	int k = j->status ? activity_enum_find(&activity_task_statuses, j->status, strlen(j->status)) : -1;
	struct activity_queue *q = j->queue_id ? activity_find_queue(a, j->queue_id) : NULL;
	int r;

	if (!j->status || !j->id) {
		activity_job_deinit(j);
		return -EINVAL;
	}
	if (!q) {
		activity_job_deinit(j);
		return ACTIVITY_UNKNOWN_QUEUE;
	}
	if (k >= TASK_FIRST_INACTIVE) {
		activity_job_deinit(j);
		return 0;
	}
	/* a failure leaves the queue's counts half done: the round drops the whole part (activity_merge()) */
	r = activity_tally_add(&q->jobs, &activity_task_statuses, j->status, strlen(j->status), 1);
	if (r == 0)
		r = activity_tally_merge(&q->tasks, &j->tasks, &activity_task_statuses);
	if (r != 0) {
		activity_job_deinit(j);
		return r;
	}
	if (j->tasks.known[TASK_READY] > 0 && j->tasks.known[TASK_RUNNING] == 0 &&
		(!q->has_oldest_waiting || j->created_ms < q->oldest_waiting_ms)) {
		q->has_oldest_waiting = true;
		q->oldest_waiting_ms = j->created_ms;
	}
	return keep_row(a, j);
}

static int job_newest_first(const void *x, const void *y)
{
	const struct activity_job *a = x, *b = y;

	if (job_older(a, b))
		return 1;
	return job_older(b, a) ? -1 : 0;
}

void activity_jobs_finish(struct activity *a)
{
	if (a->n_jobs)
		qsort(a->jobs, a->n_jobs, sizeof(*a->jobs), job_newest_first);
	a->jobs_sorted = true;
}

/* ---- a round's result ---- */

void activity_merge(struct activity **cur, struct activity *next, unsigned read)
{
	struct activity *c = *cur;

	read &= ACTIVITY_PARTS;
	if (!c) {
		if (!(read & ACTIVITY_WORKERS))
			free_workers(next);
		if (!(read & ACTIVITY_JOBS))
			free_jobs(next);
		if (!(read & ACTIVITY_ASSOCIATIONS))
			free_associations(next);
		if (!(read & ACTIVITY_LIMITS))
			free_limits(next);
		next->parts = read;
		*cur = next;
		return;
	}
	/* each part read moves from next to c; what c had of it goes with next */
	if (read & ACTIVITY_WORKERS) {
		struct activity_fleet *f = c->fleets;
		size_t n = c->n_fleets;
		c->fleets = next->fleets;
		c->n_fleets = next->n_fleets;
		next->fleets = f;
		next->n_fleets = n;
	}
	if (read & ACTIVITY_JOBS) {
		struct activity t = *c;
		c->queues = next->queues;
		c->n_queues = next->n_queues;
		c->jobs = next->jobs;
		c->n_jobs = next->n_jobs;
		c->jobs_room = next->jobs_room;
		c->jobs_sorted = next->jobs_sorted;
		c->jobs_cap = next->jobs_cap;
		next->queues = t.queues;
		next->n_queues = t.n_queues;
		next->jobs = t.jobs;
		next->n_jobs = t.n_jobs;
		next->jobs_room = t.jobs_room;
	}
	if (read & ACTIVITY_ASSOCIATIONS) {
		struct activity_association *s = c->associations;
		size_t n = c->n_associations;
		c->associations = next->associations;
		c->n_associations = next->n_associations;
		next->associations = s;
		next->n_associations = n;
	}
	if (read & ACTIVITY_LIMITS) {
		struct activity_limit *l = c->limits;
		size_t n = c->n_limits;
		c->limits = next->limits;
		c->n_limits = next->n_limits;
		next->limits = l;
		next->n_limits = n;
	}
	c->parts |= read;
	activity_free(next);
}

/* ---- license endpoints ---- */

int activity_license_endpoints_new(struct activity_license_endpoints **out, const char *region)
{
	struct activity_license_endpoints *l;

	if (!out || !region)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l || !(l->region = strdup(region))) {
		free(l);
		return -ENOMEM;
	}
	*out = l;
	return 0;
}

static void license_endpoint_deinit(struct activity_license_endpoint *e)
{
	free(e->id);
	free(e->status);
	memset(e, 0, sizeof(*e));
}

void activity_license_endpoints_free(struct activity_license_endpoints *l)
{
	if (!l)
		return;
	activity_license_endpoints_truncate(l, 0);
	free(l->items);
	free(l->region);
	free(l);
}

struct activity_license_endpoint *activity_add_license_endpoint(struct activity_license_endpoints *l)
{
	void *array = l->items;
	struct activity_license_endpoint *e = append(l->items, &l->n, sizeof(*e), &array);

	l->items = array;
	return e;
}

static int license_endpoint_cmp(const void *x, const void *y)
{
	return strcmp(
		((const struct activity_license_endpoint *)x)->id, ((const struct activity_license_endpoint *)y)->id);
}

void activity_license_endpoints_sort(struct activity_license_endpoints *l)
{
	size_t kept = 0;

	if (l->n)
		qsort(l->items, l->n, sizeof(*l->items), license_endpoint_cmp);
	for (size_t i = 0; i < l->n; i++) {
		if (kept && license_endpoint_cmp(&l->items[kept - 1], &l->items[i]) == 0)
			license_endpoint_deinit(&l->items[i]);
		else
			l->items[kept++] = l->items[i];
	}
	l->n = kept;
}

void activity_license_endpoints_truncate(struct activity_license_endpoints *l, size_t n)
{
	for (size_t i = n; i < l->n; i++)
		license_endpoint_deinit(&l->items[i]);
	if (n < l->n)
		l->n = n;
}
