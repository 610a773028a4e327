/* sim_jobs: each queue's stream of jobs and their task statuses at a step of the activity clock */
#include "sim_activity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_time.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
/* A finished job stays visible to SearchJobs for as long as it ran, then it is archived. */
#define ARCHIVE_LIFETIMES 2
/* Every TIE_EVERY-th job is created in the same millisecond as the one before (a batch submission). */
#define TIE_EVERY 7
#define HOSTILE_EVERY 9

/* What a queue runs: about `active` jobs at every step, each alive for `lifetime` steps. */
struct queue_load {
	uint32_t active, lifetime;
	bool runs; /* false: its jobs wait (blocked, or no ACTIVE association) and end canceled */
};

static struct queue_load queue_load(const struct sim_state *st, size_t farm, size_t q)
{
	const struct sim_world *w = st->world;
	const struct sim_queue *qu = &w->farms[farm].queues[q];
	uint64_t h = sim_live_hash(w->seed, 0x71756575, farm, q);
	struct queue_load l = {.active = 0, .lifetime = 10 + (uint32_t)(h % 12)};

	l.runs = strcmp(qu->status, "SCHEDULING_BLOCKED") != 0 && !sim_queue_stalled(w, farm, q);
	if (st->config->active_jobs) {
		/* benchmarks: every queue, IDLE ones too */
		l.active = st->config->active_jobs;
		return l;
	}
	if (strcmp(qu->status, "IDLE") == 0)
		return l;
	/* two queues of farm 0 and one of farm 1 need several pages of 100 */
	if (farm == 0 && q == 1)
		l.active = 420;
	else if (farm == 0 && q == 2)
		l.active = 150;
	else if (farm == 1 && q == 1)
		l.active = 130;
	else
		l.active = 3 + (uint32_t)(h >> 8 & 0xffff) % 28;
	return l;
}

/* Milliseconds after the epoch at which job j of the stream is created: `active` per lifetime, evenly. */
static int64_t created_offset(const struct queue_load *l, int64_t step_ms, int64_t j)
{
	if (sim_floor_mod(j, TIE_EVERY) == 3)
		j--;
	return sim_floor_div(j * (int64_t)l->lifetime * step_ms, (int64_t)l->active);
}

bool sim_live_job_active(const struct sim_live_job *jb)
{
	return jb->status <= SIM_TASK_SUSPENDED;
}

/* The job's fixed attributes, from its traits hash. */
struct job_traits {
	uint32_t tasks, parallel;
	bool failing, canceled, suspended, interrupting, not_compatible;
	enum sim_task_status start_status; /* ASSIGNED, STARTING or SCHEDULED in its first step of work */
};

static struct job_traits job_traits(uint64_t t)
{
	static const enum sim_task_status starts[] = {SIM_TASK_STARTING, SIM_TASK_ASSIGNED, SIM_TASK_SCHEDULED};

	return (struct job_traits){
		.tasks = t % 10 == 0 ? 100 + (uint32_t)(t >> 4 & 0xffff) % 400 : 1 + (uint32_t)(t >> 4 & 0xffff) % 40,
		.parallel = 1 + (uint32_t)(t >> 13 & 0xff) % 6,
		.failing = (t >> 17 & 0xff) % 6 == 0,
		.canceled = (t >> 21 & 0xff) % 17 == 0,
		.suspended = (t >> 26 & 0xff) % 19 == 0,
		.interrupting = (t >> 31 & 0xff) % 13 == 0,
		.not_compatible = (t >> 36 & 0xff) % 29 == 0,
		.start_status = starts[(t >> 56) % N_OF(starts)],
	};
}

/* A job whose work cannot start: PENDING, then READY, then canceled by its user. */
static void job_waits(
	struct sim_live_job *jb, const struct job_traits *tr, int64_t age, uint32_t lifetime, int64_t step_ms)
{
	if (age == 0) {
		jb->status = SIM_TASK_PENDING;
	} else if (age < lifetime) {
		jb->status = SIM_TASK_READY;
	} else {
		jb->status = SIM_TASK_CANCELED;
		jb->target = SIM_TASK_CANCELED;
		jb->ended_ms = jb->created_ms + lifetime * step_ms;
		jb->updated_ms = jb->ended_ms;
	}
	jb->counts[jb->status] = tr->tasks;
}

/* The steps of work (age 3 to lifetime - 1): tasks done, in flight, waiting. */
static void job_works(
	struct sim_live_job *jb, const struct job_traits *tr, int64_t age, uint32_t lifetime, int64_t step_ms)
{
	uint32_t done = (uint32_t)((uint64_t)tr->tasks * (uint64_t)(age - 2) / (lifetime - 2));
	uint32_t running = tr->tasks - done < tr->parallel ? tr->tasks - done : tr->parallel;
	uint32_t failed = tr->failing ? (done + 2) / 4 : 0;

	jb->counts[SIM_TASK_SUCCEEDED] = done - failed;
	jb->counts[SIM_TASK_FAILED] = failed;
	jb->retries = 2 * failed;
	if (tr->suspended && age >= lifetime / 2) {
		jb->status = SIM_TASK_SUSPENDED;
		jb->target = SIM_TASK_SUSPENDED;
		jb->updated_ms = jb->created_ms + lifetime / 2 * step_ms;
		jb->counts[SIM_TASK_SUSPENDED] = tr->tasks - done;
		return;
	}
	jb->status = tr->interrupting && age == lifetime / 2 ? SIM_TASK_INTERRUPTING : SIM_TASK_RUNNING;
	jb->counts[jb->status] = running;
	jb->counts[SIM_TASK_READY] = tr->tasks - done - running;
}

/* The end: SUCCEEDED, FAILED with some tasks failed, or CANCELED (by its user, or after a suspension). */
static void job_ends(struct sim_live_job *jb, const struct job_traits *tr, uint32_t lifetime, int64_t step_ms)
{
	uint32_t failed = tr->failing ? (tr->tasks + 2) / 4 : 0;

	jb->ended_ms = jb->created_ms + lifetime * step_ms;
	if (tr->canceled || tr->suspended) {
		uint32_t done = tr->tasks / 2;

		failed = tr->failing ? (done + 2) / 4 : 0;
		jb->status = SIM_TASK_CANCELED;
		jb->target = SIM_TASK_CANCELED;
		jb->updated_ms = jb->ended_ms;
		jb->counts[SIM_TASK_SUCCEEDED] = done - failed;
		jb->counts[SIM_TASK_FAILED] = failed;
		jb->counts[SIM_TASK_CANCELED] = tr->tasks - done;
	} else if (tr->failing) {
		failed = failed ? failed : 1;
		jb->status = SIM_TASK_FAILED;
		jb->counts[SIM_TASK_SUCCEEDED] = tr->tasks - failed;
		jb->counts[SIM_TASK_FAILED] = failed;
	} else {
		jb->status = SIM_TASK_SUCCEEDED;
		jb->counts[SIM_TASK_SUCCEEDED] = tr->tasks;
	}
	jb->retries = 2 * failed;
}

/* The job's statuses at age steps after the step it was created in. */
static void job_state(struct sim_live_job *jb, const struct queue_load *l, int64_t age, int64_t step_ms)
{
	struct job_traits tr = job_traits(jb->traits);

	jb->target = -1;
	jb->started_ms = jb->ended_ms = jb->updated_ms = -1;
	if (!l->runs) {
		job_waits(jb, &tr, age, l->lifetime, step_ms);
		return;
	}
	if (age >= 2 && !tr.not_compatible)
		jb->started_ms = jb->created_ms + 2 * step_ms;
	if (age == 0) {
		jb->status = SIM_TASK_PENDING;
		jb->counts[SIM_TASK_PENDING] = tr.tasks;
	} else if (tr.not_compatible) {
		/* no fleet has what its steps require: not active, and never runs */
		jb->status = SIM_TASK_NOT_COMPATIBLE;
		jb->counts[SIM_TASK_NOT_COMPATIBLE] = tr.tasks;
	} else if (age == 1) {
		jb->status = SIM_TASK_READY;
		jb->counts[SIM_TASK_READY] = tr.tasks;
	} else if (age == 2) {
		uint32_t n = tr.tasks < tr.parallel ? tr.tasks : tr.parallel;

		jb->status = tr.start_status;
		jb->counts[tr.start_status] = n;
		jb->counts[SIM_TASK_READY] = tr.tasks - n;
	} else if (age < l->lifetime) {
		job_works(jb, &tr, age, l->lifetime, step_ms);
	} else {
		job_ends(jb, &tr, l->lifetime, step_ms);
	}
}

int sim_live_job_compare(const void *a, const void *b)
{
	const struct sim_live_job *x = a, *y = b;

	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

int sim_queue_jobs(
	const struct sim_state *st, size_t farm, size_t queue, uint64_t step, struct sim_live_job **out, size_t *n)
{
	const struct sim_world *w = st->world;
	struct queue_load l = queue_load(st, farm, queue);
	int64_t step_ms = (int64_t)st->config->activity_step_s * SIM_MS_PER_SECOND, k = (int64_t)step;
	int64_t visible = (int64_t)l.lifetime * ARCHIVE_LIFETIMES, lo, hi;
	size_t cap;

	*n = 0;
	*out = NULL;
	if (l.active == 0)
		return 0;
	/* the stream indexes whose creation step can be in (k - visible, k], with a margin for the ties */
	lo = sim_floor_div((k - visible + 1) * (int64_t)l.active, (int64_t)l.lifetime) - 2;
	hi = sim_floor_div((k + 1) * (int64_t)l.active, (int64_t)l.lifetime) + 1;
	cap = (size_t)(hi - lo + 1);
	*out = calloc(cap, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (int64_t j = lo; j <= hi; j++) {
		int64_t t = created_offset(&l, step_ms, j), c = sim_floor_div(t, step_ms);
		struct sim_live_job *jb = &(*out)[*n];
		uint64_t h2;

		if (c > k || k >= c + visible)
			continue;
		memset(jb, 0, sizeof(*jb));
		jb->queue = (uint32_t)queue;
		jb->index = j;
		jb->traits = sim_live_hash(w->seed, (uint64_t)farm << 32 | queue, (uint64_t)j, 0x6a6f62);
		h2 = sim_live_hash(jb->traits, farm, queue, (uint64_t)j);
		snprintf(jb->id, sizeof(jb->id), "job-%016llx%016llx", (unsigned long long)jb->traits,
			(unsigned long long)h2);
		jb->created_ms = w->epoch * SIM_MS_PER_SECOND + t;
		jb->priority = (int[]){50, 50, 50, 75, 25, 100, 0, 50}[jb->traits >> 41 & 7];
		jb->user = (uint32_t)((jb->traits >> 44) % w->n_users);
		job_state(jb, &l, k - c, step_ms);
		(*n)++;
	}
	qsort(*out, *n, sizeof(**out), sim_live_job_compare);
	return 0;
}

static const char *const projects[] = {"aurora", "basalt", "cinder", "drift", "ember", "fjord"};
static const char *const departments[] = {"lighting", "comp", "fx_sim", "layout", "anim", "render"};
/* quotes, backslashes, line breaks, control characters, 4-byte UTF-8, format strings, exposition syntax */
static const char *const hostile_names[] = {
	"Final \"hero\" render \\ comp #%lld",
	"two\nlines\r\ncrlf #%lld",
	"ctl \x01\x1f\x7f\ttab #%lld",
	"Übergang 🎬 渲染 \u2028sep #%lld",
	"job\"} 1\nfake_metric{a=\"b #%lld",
	"  %%s%%n {{.}} padded #%lld  ",
};

/* Exactly 128 characters: "#<index> " then fill (each fill character fill_len bytes). */
static void long_name(char buf[SIM_JOB_NAME_SIZE], long long index, const char *fill, size_t fill_len)
{
	int n = snprintf(buf, SIM_JOB_NAME_SIZE, "#%lld ", index);
	size_t len = n > 0 ? (size_t)n : 0;

	for (size_t chars = len; chars < 128 && len + fill_len < SIM_JOB_NAME_SIZE; chars++) {
		memcpy(buf + len, fill, fill_len);
		len += fill_len;
	}
	buf[len] = '\0';
}

/* The history starts this long before the epoch; usage jobs are created up to a day before that. */
#define HISTORY_DAYS 100

int sim_queue_usage_jobs(const struct sim_state *st, size_t farm, size_t queue, struct sim_live_job **out, size_t *n)
{
	const struct sim_world *w = st->world;
	int64_t oldest_ms = w->epoch * SIM_MS_PER_SECOND - (HISTORY_DAYS + 1) * SIM_MS_PER_DAY;
	size_t count = 0;

	*n = 0;
	*out = NULL;
	for (size_t i = 0; i < w->n_jobs; i++)
		count += w->jobs[i].farm == farm && w->jobs[i].queue == queue;
	if (!count)
		return 0;
	*out = calloc(count, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < w->n_jobs; i++) {
		const struct sim_job *sj = &w->jobs[i];
		struct sim_live_job *jb = &(*out)[*n];

		if (sj->farm != farm || sj->queue != queue)
			continue;
		jb->queue = (uint32_t)queue;
		jb->index = (int64_t)i;
		jb->traits = sim_live_hash(w->seed, 0x75736167, i, farm);
		memcpy(jb->id, sj->id, sizeof(jb->id));
		jb->usage_job = sj;
		/* within the day before the history's first session, to the millisecond */
		jb->created_ms = oldest_ms + (int64_t)(jb->traits % (uint64_t)SIM_MS_PER_DAY);
		jb->started_ms = jb->created_ms + 60 * SIM_MS_PER_SECOND;
		jb->ended_ms = w->epoch * SIM_MS_PER_SECOND;
		jb->updated_ms = -1;
		jb->status = SIM_TASK_SUCCEEDED;
		jb->target = -1;
		jb->counts[SIM_TASK_SUCCEEDED] = 1 + (uint32_t)(jb->traits >> 16) % 40;
		jb->priority = 50;
		jb->user = sj->user;
		(*n)++;
	}
	qsort(*out, *n, sizeof(**out), sim_live_job_compare);
	return 0;
}

void sim_live_job_name(const struct sim_live_job *jb, char buf[SIM_JOB_NAME_SIZE])
{
	long long j = (long long)jb->index;
	uint64_t t = jb->traits;

	if (jb->usage_job) {
		snprintf(buf, SIM_JOB_NAME_SIZE, "%s", jb->usage_job->name);
		return;
	}

	if (sim_floor_mod(jb->index, HOSTILE_EVERY) == 4) {
		size_t h = (size_t)sim_floor_mod(sim_floor_div(jb->index, HOSTILE_EVERY), N_OF(hostile_names) + 2);

		if (h == N_OF(hostile_names))
			long_name(buf, j, "x", 1);
		else if (h == N_OF(hostile_names) + 1)
			long_name(buf, j, "長", strlen("長"));
		else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral" /* a fixed table of formats */
			snprintf(buf, SIM_JOB_NAME_SIZE, hostile_names[h], j);
#pragma GCC diagnostic pop
		return;
	}
	snprintf(buf, SIM_JOB_NAME_SIZE, "%s_sh%04u_%s_v%03u", projects[t % N_OF(projects)],
		(unsigned)(t >> 8 & 0xffff) % 10000, departments[(t >> 24) % N_OF(departments)],
		1 + (unsigned)(t >> 32 & 0xff) % 40);
}

static void timestamp_json(struct sim_json *j, const char *key, int64_t ms)
{
	char text[SIM_RFC3339_SIZE];

	sim_rfc3339_format(ms, text);
	sim_json_kv_string(j, key, text);
}

static void job_parameters_json(struct sim_json *j, const struct sim_live_job *jb)
{
	char text[64];

	sim_json_string(j, "jobParameters");
	sim_json_map_open(j);
	snprintf(text, sizeof(text), "1-%u", job_traits(jb->traits).tasks);
	sim_json_string(j, "Frames");
	sim_json_map_open(j);
	sim_json_kv_string(j, "string", text);
	sim_json_map_close(j);
	sim_json_string(j, "Quality");
	sim_json_map_open(j);
	sim_json_kv_string(j, "int", "3");
	sim_json_map_close(j);
	snprintf(text, sizeof(text), "/mnt/renders/q%u/", jb->queue);
	sim_json_string(j, "OutputDir");
	sim_json_map_open(j);
	sim_json_kv_string(j, "path", text);
	sim_json_map_close(j);
	sim_json_map_close(j);
}

void sim_live_job_json(struct sim_json *j, const struct sim_state *st, size_t farm, const struct sim_live_job *jb)
{
	const struct sim_world *w = st->world;
	char name[SIM_JOB_NAME_SIZE];

	sim_live_job_name(jb, name);
	sim_json_map_open(j);
	sim_json_kv_string(j, "jobId", jb->id);
	sim_json_kv_string(j, "queueId", w->farms[farm].queues[jb->queue].id);
	sim_json_kv_string(j, "name", name);
	sim_json_kv_string(j, "lifecycleStatus", (jb->traits >> 50) % 13 == 0 ? "UPDATE_SUCCEEDED" : "CREATE_COMPLETE");
	sim_json_kv_string(j, "taskRunStatus", sim_task_status_names[jb->status]);
	if (jb->target >= 0)
		sim_json_kv_string(j, "targetTaskRunStatus", sim_task_status_names[jb->target]);
	sim_json_string(j, "taskRunStatusCounts");
	sim_json_map_open(j);
	for (int s = 0; s < SIM_TASK_STATUS_COUNT; s++) {
		if (jb->counts[s])
			sim_json_kv_int(j, sim_task_status_names[s], jb->counts[s]);
	}
	sim_json_map_close(j);
	if (jb->retries)
		sim_json_kv_int(j, "taskFailureRetryCount", jb->retries);
	sim_json_kv_int(j, "priority", jb->priority);
	sim_json_kv_int(j, "maxFailedTasksCount", 100);
	sim_json_kv_int(j, "maxRetriesPerTask", 5);
	sim_json_kv_string(j, "createdBy", w->users[jb->user].id);
	timestamp_json(j, "createdAt", jb->created_ms);
	if (jb->started_ms >= 0)
		timestamp_json(j, "startedAt", jb->started_ms);
	if (jb->ended_ms >= 0)
		timestamp_json(j, "endedAt", jb->ended_ms);
	if (jb->updated_ms >= 0) {
		timestamp_json(j, "updatedAt", jb->updated_ms);
		sim_json_kv_string(j, "updatedBy", w->users[jb->user].id);
	}
	if (sim_floor_mod(jb->index, 3) == 0)
		job_parameters_json(j, jb);
	if (sim_floor_mod(jb->index, 4) == 1)
		sim_json_kv_int(j, "maxWorkerCount", job_traits(jb->traits).parallel);
	sim_json_map_close(j);
}
