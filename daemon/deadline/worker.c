/* worker: one background thread of deadline/ (a farm's refreshes, its inventory, the user names…): stopping,
 * sleeping until a time, the watchdog's heartbeat, jitter, and its own way to the API */
#include "deadline/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "aws/http_client.h"
#include "util/log.h"
#include "util/monotime.h"
#include "util/mutex.h"

/* How much nicer than the rest of the process a worker runs (see lower_priority). */
#define WORKER_NICENESS 10

struct worker_group {
	pthread_mutex_t lock; /* stopping, quota, each worker's woken */
	pthread_cond_t wake; /* on CLOCK_MONOTONIC: a wall-clock step never stretches or cuts a sleep */
	bool stopping;
	atomic_bool stop_flag; /* the same, read without the lock by requests in flight (http_client's cancel) */
	bool shared_quota;
	struct api_quota quota;
	double (*clock)(void);
	double heartbeat_s;
	struct worker **workers;
	size_t n_workers;
};

struct worker {
	struct worker_group *group;
	_Atomic double heartbeat; /* group clock seconds: last seen working or sleeping */
	bool woken; /* under the group's lock: worker_wake() since the last worker_wait_until() */
	pthread_t thread;
	bool started;
	void (*run)(struct worker *w, void *arg);
	void *arg;
	char *endpoint, *region;
	bool has_api;
	struct api_caller api;
};

int worker_group_new(struct worker_group **out, const struct worker_group_options *o)
{
	struct worker_group *g = calloc(1, sizeof(*g));
	pthread_condattr_t ca;

	if (!g)
		return -ENOMEM;
	g->shared_quota = o && o->shared_quota;
	g->clock = o && o->clock ? o->clock : monotime_s;
	g->heartbeat_s = o && o->heartbeat_seconds > 0 ? o->heartbeat_seconds : WORKER_HEARTBEAT_S;
	api_quota_init(&g->quota);
	atomic_init(&g->stop_flag, false);
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	*out = g;
	return 0;
}

void worker_group_stop(struct worker_group *g)
{
	if (!g)
		return;
	mutex_lock(&g->lock);
	g->stopping = true;
	atomic_store(&g->stop_flag, true);
	pthread_cond_broadcast(&g->wake);
	mutex_unlock(&g->lock);
	/* Every worker was told before the first join: they wind down together, not one after the other. */
	for (size_t i = 0; i < g->n_workers; i++) {
		struct worker *w = g->workers[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		w->started = false;
	}
}

bool worker_group_alive(struct worker_group *g, double max_age_seconds)
{
	double now = g->clock();

	for (size_t i = 0; i < g->n_workers; i++) {
		const struct worker *w = g->workers[i];
		double age = now - atomic_load(&w->heartbeat);
		if (age > max_age_seconds) {
			log_error("farm=%s op=watchdog status=stuck reason=\"no sign of life for %.0fs\"",
				w->api.farm_id, age);
			return false;
		}
	}
	return true;
}

static void worker_free(struct worker *w)
{
	http_client_free(w->api.http);
	free(w->endpoint);
	free(w->region);
	free(w);
}

void worker_group_free(struct worker_group *g)
{
	if (!g)
		return;
	worker_group_stop(g);
	for (size_t i = 0; i < g->n_workers; i++)
		worker_free(g->workers[i]);
	free(g->workers);
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* ---- sleeping ---- */

/*
 * Sleeps until until on the group's clock, in steps of at most the heartbeat period so that the heartbeat shows
 * the thread is alive even through a sleep of hours; wakeable: worker_wake() ends it too.
 */
static bool worker_pause(struct worker *w, double until, bool wakeable)
{
	struct worker_group *g = w->group;
	bool stopping;

	mutex_lock(&g->lock);
	while (!g->stopping) {
		double now = g->clock();
		atomic_store(&w->heartbeat, now);
		if (now >= until || (wakeable && w->woken))
			break;
		double step = until - now < g->heartbeat_s ? until - now : g->heartbeat_s;
		struct timespec deadline = monotime_after(step);
		pthread_cond_timedwait(&g->wake, &g->lock, &deadline);
	}
	if (wakeable)
		w->woken = false;
	stopping = g->stopping;
	mutex_unlock(&g->lock);
	return !stopping;
}

bool worker_sleep_until(struct worker *w, double until)
{
	return worker_pause(w, until, false);
}

bool worker_sleep(struct worker *w, double seconds)
{
	return worker_pause(w, w->group->clock() + seconds, false);
}

bool worker_wait_until(struct worker *w, double until)
{
	return worker_pause(w, until, true);
}

void worker_wake(struct worker *w)
{
	mutex_lock(&w->group->lock);
	w->woken = true;
	pthread_cond_broadcast(&w->group->wake);
	mutex_unlock(&w->group->lock);
}

bool worker_stopping(const struct worker *w)
{
	return atomic_load(&w->group->stop_flag);
}

double worker_clock(const struct worker *w)
{
	return w->group->clock();
}

void worker_beat(struct worker *w)
{
	atomic_store(&w->heartbeat, w->group->clock());
}

double worker_jitter(struct worker *w)
{
	return api_caller_random(&w->api);
}

struct api_caller *worker_api(struct worker *w)
{
	return w->has_api ? &w->api : NULL;
}

/* ---- what api_call asks of the thread ---- */

static bool op_sleep(void *ctx, double ms)
{
	return worker_sleep(ctx, ms / 1000.0);
}

static bool op_quota_take(void *ctx, int cost)
{
	struct worker_group *g = ((struct worker *)ctx)->group;
	bool ok;

	if (!g->shared_quota)
		return true;
	mutex_lock(&g->lock);
	ok = api_quota_take(&g->quota, cost);
	mutex_unlock(&g->lock);
	return ok;
}

static void op_quota_refund(void *ctx, int amount)
{
	struct worker_group *g = ((struct worker *)ctx)->group;

	if (!g->shared_quota)
		return;
	mutex_lock(&g->lock);
	api_quota_refund(&g->quota, amount);
	mutex_unlock(&g->lock);
}

static void op_beat(void *ctx)
{
	worker_beat(ctx);
}

static const struct api_caller_ops worker_ops = {
	.sleep = op_sleep,
	.quota_take = op_quota_take,
	.quota_refund = op_quota_refund,
	.beat = op_beat,
};

/* The HTTP client and the API caller of w (o->endpoint set). */
static int worker_api_init(struct worker *w, const struct worker_options *o)
{
	struct http_client_options ho = {.ca_file = o->ca_file, .cancel = &w->group->stop_flag};
	char *host = NULL;
	int r;

	/* The endpoint must be an http(s) URL with a host; its own path prefixes every API path. */
	r = http_url_host(o->endpoint, &host);
	free(host);
	if (r < 0)
		return r;
	w->endpoint = strdup(o->endpoint);
	w->region = strdup(o->region ? o->region : "");
	if (!w->endpoint || !w->region)
		return -ENOMEM;
	for (size_t n = strlen(w->endpoint); n && w->endpoint[n - 1] == '/';)
		w->endpoint[--n] = '\0';
	r = http_client_new(&w->api.http, &ho);
	if (r < 0)
		return r;
	w->api.endpoint = w->endpoint;
	w->api.region = w->region;
	w->api.service = o->service;
	w->api.creds = o->creds;
	w->api.store = o->store;
	w->has_api = true;
	return 0;
}

int worker_new(struct worker **out, struct worker_group *g, const struct worker_options *o)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct worker **grown;
	int r;

	if (!w)
		return -ENOMEM;
	w->group = g;
	atomic_init(&w->heartbeat, g->clock());
	w->api.stop = &g->stop_flag;
	w->api.farm_id = o->farm_id ? o->farm_id : "-";
	w->api.ops = &worker_ops;
	w->api.ops_ctx = w;
	/* Seeded once per thread from the kernel, so that exporters started together do not retry in step. */
	if (getrandom(&w->api.rng, sizeof(w->api.rng), 0) != sizeof(w->api.rng))
		w->api.rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)w;
	w->api.rng |= 1;
	if (o->endpoint) {
		r = worker_api_init(w, o);
		if (r < 0)
			goto fail;
	}
	grown = realloc(g->workers, (g->n_workers + 1) * sizeof(*grown));
	if (!grown) {
		r = -ENOMEM;
		goto fail;
	}
	g->workers = grown;
	g->workers[g->n_workers++] = w;
	*out = w;
	return 0;
fail:
	worker_free(w);
	return r;
}

/* ---- the thread ---- */

/*
 * Refreshing is background work with minutes of slack; a scrape has a deadline. On Linux nice values are per
 * thread: this thread (and what it starts) yields the processor to the HTTP threads when both want it, so
 * parsing and rendering a large refresh does not slow the scrapes served meanwhile. Where the system refuses (a
 * seccomp filter without setpriority), everything works as before, at the same priority.
 */
static void lower_priority(void)
{
	id_t tid = (id_t)gettid();
	int now;

	errno = 0;
	now = getpriority(PRIO_PROCESS, tid);
	if (now == -1 && errno)
		return;
	if (setpriority(PRIO_PROCESS, tid, now + WORKER_NICENESS > 19 ? 19 : now + WORKER_NICENESS) < 0)
		log_debug("component=poller op=setpriority status=error error=\"%s\"", strerror(errno));
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	lower_priority();
	w->run(w, w->arg);
	return NULL;
}

int worker_start(struct worker *w, void (*run)(struct worker *w, void *arg), void *arg)
{
	int r;

	w->run = run;
	w->arg = arg;
	r = pthread_create(&w->thread, NULL, worker_main, w);
	if (r != 0)
		return -r;
	w->started = true;
	return 0;
}
