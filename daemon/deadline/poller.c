/* poller: one thread per farm running its reports on schedule, one listing its inventory; waiting, stopping, the
 * shared retry quota */
#include "deadline/poller.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "aws/aws_endpoint.h"
#include "aws/http_client.h"
#include "config/reload.h"
#include "deadline/api_call.h"
#include "deadline/inventory_fetch.h"
#include "deadline/refresh.h"
#include "deadline/schedule.h"
#include "util/log.h"
#include "util/monotime.h"
#include "util/mutex.h"

/* How much nicer than the rest of the process a farm thread runs (see lower_priority). */
#define WORKER_NICENESS 10
/* How often a waiting thread shows it is alive (the watchdog's keep-alives depend on it). */
#define HEARTBEAT_S 5.0

struct farm_worker {
	struct poller *poller;
	_Atomic double heartbeat; /* monotime_s() seconds: the thread was last seen working or waiting */
	const struct farm_config *farm;
	pthread_t thread;
	bool started;
	struct api_caller api;
	char *endpoint, *region; /* farms[].region's own, or NULL: the poller's */
	struct refresh_ctx refresh;
	struct schedule_slot *slots; /* one per report; the inventory's: one, rc NULL */
	size_t n_slots;
	bool inventory; /* this thread lists the farm's inventory */
};

struct poller {
	const struct config *cfg;
	char *endpoint; /* scheme://host[:port][/prefix], no trailing slash */
	char *region;
	struct aws_credentials_provider *creds;
	struct metrics_store *store;
	struct inventory_board *board; /* or NULL */

	pthread_mutex_t lock; /* stopping, quota */
	pthread_cond_t wake;
	bool stopping;
	atomic_bool stop_flag; /* read by in-flight requests */
	struct api_quota quota;

	struct farm_worker *workers; /* the farms' refresh threads, then their inventory threads */
	size_t n_workers;
};

static void poller_lock(struct poller *p)
{
	mutex_lock(&p->lock);
}

static void poller_unlock(struct poller *p)
{
	mutex_unlock(&p->lock);
}

static bool poller_stopping(struct poller *p)
{
	return atomic_load(&p->stop_flag);
}

/*
 * Sleeps up to ms, waking early when the poller stops, and beating w's heartbeat meanwhile.
 * Returns false when stopping.
 */
static bool worker_sleep(void *ctx, double ms)
{
	struct farm_worker *w = ctx;
	struct poller *p = w->poller;
	double until = monotime_s() + ms / 1000.0;
	bool stopping;

	poller_lock(p);
	while (!p->stopping) {
		double now = monotime_s();
		atomic_store(&w->heartbeat, now);
		if (now >= until)
			break;
		double step = until - now < HEARTBEAT_S ? until - now : HEARTBEAT_S;
		struct timespec deadline = monotime_after(step);
		pthread_cond_timedwait(&p->wake, &p->lock, &deadline);
	}
	stopping = p->stopping;
	poller_unlock(p);
	return !stopping;
}

static bool worker_quota_take(void *ctx, int cost)
{
	struct poller *p = ((struct farm_worker *)ctx)->poller;
	bool ok;

	poller_lock(p);
	ok = api_quota_take(&p->quota, cost);
	poller_unlock(p);
	return ok;
}

static void worker_quota_refund(void *ctx, int amount)
{
	struct poller *p = ((struct farm_worker *)ctx)->poller;

	poller_lock(p);
	api_quota_refund(&p->quota, amount);
	poller_unlock(p);
}

static void worker_beat(void *ctx)
{
	struct farm_worker *w = ctx;

	atomic_store(&w->heartbeat, monotime_s());
}

static const struct api_caller_ops worker_ops = {
	.sleep = worker_sleep,
	.quota_take = worker_quota_take,
	.quota_refund = worker_quota_refund,
	.beat = worker_beat,
};

/*
 * Refreshing is background work with minutes of slack; a scrape has a deadline. On Linux nice values are per
 * thread: this farm thread (and what it starts) yields the processor to the HTTP threads when both want it,
 * so parsing and rendering a large refresh does not slow the scrapes served meanwhile. Where the system
 * refuses (a seccomp filter without setpriority), everything works as before, at the same priority.
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

static void *farm_worker_main(void *arg)
{
	struct farm_worker *w = arg;
	struct poller *p = w->poller;

	lower_priority();
	while (!poller_stopping(p)) {
		double wait;
		struct schedule_slot *next = schedule_next(w->slots, w->n_slots, monotime_s(), &wait);
		if (!next && wait < 0)
			break;
		if (!next) {
			if (!worker_sleep(w, wait * 1000.0))
				break;
			continue; /* re-pick: the earliest due may have changed */
		}
		double began = monotime_s();
		int r = refresh_report(&w->refresh, next->rc);
		if (r == API_STOPPED || poller_stopping(p))
			break;
		double delay = schedule_record(next, r == 0, refresh_error_is_persistent(r), began, monotime_s(),
			api_random_unit(&w->api.rng));
		if (r != 0)
			log_info("farm=%s report=%s op=schedule reason=\"retrying failed refresh in %.1fs\"",
				w->farm->id, next->rc->name, delay);
	}
	return NULL;
}

/* The farm's inventory, every inventory.interval: its own thread and HTTP client, no aggregation slot. */
static void *inventory_worker_main(void *arg)
{
	struct farm_worker *w = arg;
	struct poller *p = w->poller;
	struct schedule_slot *slot = &w->slots[0];

	lower_priority();
	while (!poller_stopping(p)) {
		double wait = slot->next_due - monotime_s();
		if (wait > 0) {
			if (!worker_sleep(w, wait * 1000.0))
				break;
			continue;
		}
		double began = monotime_s();
		struct inventory *inv = NULL;
		int r = inventory_fetch(&w->api, w->farm, p->cfg->inventory.budgets, &inv);
		if (r == API_STOPPED || poller_stopping(p)) {
			inventory_free(inv);
			break;
		}
		if (r == 0) {
			size_t nq = inv->n_queues, nf = inv->n_fleets, nb = inv->n_budgets;
			r = inventory_board_publish(p->board, w->farm->id, inv, (int64_t)time(NULL));
			if (r == 0)
				log_info("farm=%s op=inventory status=ok queues=%zu fleets=%zu budgets=%zu",
					w->farm->id, nq, nf, nb);
		} else {
			inventory_board_fail(p->board, w->farm->id);
		}
		double delay = schedule_record(slot, r == 0, refresh_error_is_persistent(r), began, monotime_s(),
			api_random_unit(&w->api.rng));
		if (r != 0)
			log_info(
				"farm=%s op=inventory reason=\"retrying failed listing in %.1fs\"", w->farm->id, delay);
	}
	return NULL;
}

int poller_new(struct poller **out, const struct config *cfg, const struct poller_options *opts,
	struct aws_credentials_provider *creds, struct metrics_store *store)
{
	struct poller *p = calloc(1, sizeof(*p));
	char *host = NULL;
	int r;

	if (!p)
		return -ENOMEM;
	p->cfg = cfg;
	p->creds = creds;
	p->store = store;
	api_quota_init(&p->quota);
	atomic_init(&p->stop_flag, false);
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);

	/* The endpoint must be an http(s) URL with a host; its own path prefixes every API path. */
	r = http_url_host(opts->endpoint, &host);
	free(host);
	if (r < 0)
		goto fail;
	p->endpoint = strdup(opts->endpoint);
	p->region = strdup(opts->region);
	if (!p->endpoint || !p->region) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t n = strlen(p->endpoint); n && p->endpoint[n - 1] == '/';)
		p->endpoint[--n] = '\0';

	p->board = cfg->inventory.enabled ? opts->inventory : NULL;
	p->n_workers = cfg->n_farms * (p->board ? 2 : 1);
	p->workers = calloc(p->n_workers, sizeof(*p->workers));
	if (!p->workers) {
		r = -ENOMEM;
		goto fail;
	}
	double now = monotime_s();
	for (size_t i = 0; i < p->n_workers; i++) {
		struct farm_worker *w = &p->workers[i];
		struct http_client_options ho = {
			.ca_file = opts->ca_file,
			.cancel = &p->stop_flag,
		};
		w->poller = p;
		w->farm = &cfg->farms[i % cfg->n_farms];
		w->inventory = i >= cfg->n_farms;
		atomic_init(&w->heartbeat, now);
		if (w->farm->region && strcmp(w->farm->region, p->region) != 0) {
			w->region = strdup(w->farm->region);
			if (!w->region) {
				r = -ENOMEM;
				goto fail;
			}
			r = aws_endpoint_resolve(cfg->endpoint_url, cfg->profile, w->region, &w->endpoint);
			if (r < 0) {
				log_error("farm=%s region=%s op=start status=error error=\"unusable Deadline Cloud "
					  "endpoint\"",
					w->farm->id, w->region);
				goto fail;
			}
			log_info("farm=%s region=%s endpoint=%s op=start", w->farm->id, w->region, w->endpoint);
		}
		w->api = (struct api_caller){
			.endpoint = w->endpoint ? w->endpoint : p->endpoint,
			.region = w->region ? w->region : p->region,
			.creds = creds,
			.store = store,
			.stop = &p->stop_flag,
			.farm_id = w->farm->id,
			.ops = &worker_ops,
			.ops_ctx = w,
		};
		if (getrandom(&w->api.rng, sizeof(w->api.rng), 0) != sizeof(w->api.rng))
			w->api.rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)w;
		w->api.rng |= 1;
		w->refresh =
			(struct refresh_ctx){.api = &w->api, .farm = w->farm, .store = store, .users = opts->users};
		r = http_client_new(&w->api.http, &ho);
		if (r < 0)
			goto fail;
		w->n_slots = w->inventory ? 1 : cfg->n_reports;
		w->slots = calloc(w->n_slots, sizeof(*w->slots));
		if (!w->slots) {
			r = -ENOMEM;
			goto fail;
		}
		if (w->inventory)
			w->slots[0] = (struct schedule_slot){
				.interval_seconds = cfg->inventory.interval_seconds, .next_due = now};
		for (size_t j = 0; !w->inventory && j < w->n_slots; j++)
			w->slots[j] = (struct schedule_slot){.rc = &cfg->reports[j], .next_due = now};
	}
	*out = p;
	return 0;
fail:
	poller_free(p);
	return r;
}

int poller_start(struct poller *p)
{
	for (size_t i = 0; i < p->n_workers; i++) {
		int r = pthread_create(&p->workers[i].thread, NULL,
			p->workers[i].inventory ? inventory_worker_main : farm_worker_main, &p->workers[i]);
		if (r != 0)
			return -r;
		p->workers[i].started = true;
	}
	return 0;
}

bool poller_alive(struct poller *p, double max_age_seconds)
{
	double now = monotime_s();

	for (size_t i = 0; i < p->n_workers; i++) {
		double age = now - atomic_load(&p->workers[i].heartbeat);
		if (age > max_age_seconds) {
			log_error("farm=%s op=watchdog status=stuck reason=\"no sign of life for %.0fs\"",
				p->workers[i].farm->id, age);
			return false;
		}
	}
	return true;
}

void poller_stop(struct poller *p)
{
	if (!p)
		return;
	poller_lock(p);
	p->stopping = true;
	atomic_store(&p->stop_flag, true);
	pthread_cond_broadcast(&p->wake);
	poller_unlock(p);
	for (size_t i = 0; i < p->n_workers; i++) {
		struct farm_worker *w = &p->workers[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		w->started = false;
	}
}

void poller_adopt_schedule(struct poller *p, const struct poller *old, const struct config *old_cfg)
{
	for (size_t i = 0; i < p->n_workers; i++) {
		struct farm_worker *w = &p->workers[i];
		for (size_t j = 0; j < old->n_workers; j++) {
			const struct farm_worker *ow = &old->workers[j];
			if (strcmp(ow->farm->id, w->farm->id) != 0 || ow->inventory != w->inventory)
				continue;
			if (w->inventory) {
				if (reload_inventory_same(old_cfg, p->cfg, w->farm->id)) {
					w->slots[0].next_due = ow->slots[0].next_due;
					w->slots[0].failures = ow->slots[0].failures;
				}
				continue;
			}
			for (size_t k = 0; k < w->n_slots; k++) {
				struct schedule_slot *rs = &w->slots[k];
				for (size_t l = 0; l < ow->n_slots; l++) {
					const struct schedule_slot *ors = &ow->slots[l];
					if (strcmp(ors->rc->name, rs->rc->name) != 0 ||
						!reload_report_same(old_cfg, p->cfg, w->farm->id, rs->rc->name))
						continue;
					rs->next_due = ors->next_due;
					rs->failures = ors->failures;
				}
			}
		}
	}
}

void poller_free(struct poller *p)
{
	if (!p)
		return;
	poller_stop(p);
	for (size_t i = 0; i < p->n_workers; i++) {
		struct farm_worker *w = &p->workers[i];
		http_client_free(w->api.http);
		free(w->slots);
		free(w->endpoint);
		free(w->region);
	}
	free(p->workers);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p->endpoint);
	free(p->region);
	free(p);
}
