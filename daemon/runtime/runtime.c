/* runtime: what runs (configuration, credentials, poller, users, web server): start, reload, stop */
#include "runtime/runtime.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/reload.h"
#include "deadline/user_cache.h"
#include "metrics/activity_render.h"
#include "util/log.h"
#include "util/monotime.h"
#include "util/mutex.h"
#include "util/notify.h"
#include "util/version.h"

/* A server replaced by a reload, freed by runtime_idle() from free_after (monotime_s() seconds) on. */
struct retired_server {
	struct http_server *server;
	double free_after;
};

struct runtime {
	pthread_mutex_t lock; /* held by a whole reload, and by the main thread's visits */
	bool stopping; /* runtime_stop() began: reloads are refused */
	struct runtime_options opts;
	struct runtime_links links;
	struct runtime_pieces cur; /* what runs */
	struct retired_server *retired;
	size_t n_retired, cap_retired; /* cap_retired > n_retired before every commit: retiring cannot fail */
};

/* What a reload did to the running reports, for its log line. */
struct reload_counts {
	size_t kept, changed, removed;
};

/* Room for one more retired server, made before a prepare so that the commit cannot fail. */
static int retired_reserve(struct runtime *rt)
{
	struct retired_server *grown;

	if (rt->cap_retired > rt->n_retired)
		return 0;
	grown = realloc(rt->retired, (rt->cap_retired + 4) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	rt->retired = grown;
	rt->cap_retired += 4;
	return 0;
}

/*
 * Reports of the old configuration: those whose definition did not change keep their figures; the others are
 * dropped (a changed one starts afresh under the new definition). Then the new sets are declared.
 */
static void commit_reports(
	struct runtime *rt, const struct config *old, const struct config *cfg, struct reload_counts *counts)
{
	for (size_t f = 0; f < old->n_farms; f++) {
		for (size_t i = 0; i < old->n_reports; i++) {
			const char *farm = old->farms[f].id, *report = old->reports[i].name;
			if (reload_report_same(old, cfg, farm, report)) {
				counts->kept++;
				continue;
			}
			if (reload_find_farm(cfg, farm) && reload_find_report(cfg, report))
				counts->changed++;
			else
				counts->removed++;
			metrics_store_drop(rt->links.store, farm, report);
		}
	}
	if (metrics_store_set_reports(rt->links.store, cfg) < 0)
		log_warning("op=reload status=degraded reason=\"out of memory while declaring reports\"");
	if (inventory_board_set_farms(rt->links.inventory, old, cfg) < 0)
		log_warning("op=reload status=degraded reason=\"out of memory while declaring inventories\"");
}

/* Starts what the plan built: the user directory's thread when it is new, then the poller's. */
static int commit_start(struct runtime *rt, bool new_users, const char *op)
{
	int r = 0;

	if (new_users && rt->cur.users) {
		r = user_directory_start(rt->cur.users);
		if (r < 0)
			log_error("op=%s status=error error=\"cannot start the identity store's thread: %s\"", op,
				strerror(-r));
	}
	if (r == 0) {
		r = poller_start(rt->cur.poller);
		if (r < 0)
			log_error("op=%s status=error error=\"cannot start the poller: %s\"", op, strerror(-r));
	}
	return r;
}

/*
 * Applies a prepared plan; nothing here fails half-way. The old poller stops first (its threads publish into the
 * store and read the old configuration), hands over the schedule of the reports that stay, and is freed before
 * what it borrows. A replaced server is retired for retire_grace seconds. op ("start", "reload") is for the log.
 * Returns 0, or -errno when a thread could not be started (logged): the plan is in place all the same.
 */
static int commit(struct runtime *rt, struct runtime_plan *plan, const char *op, double retire_grace,
	struct reload_counts *counts)
{
	struct runtime_pieces old = rt->cur, *next = &plan->next;
	bool new_users = !plan->keep_users;

	if (old.poller) {
		poller_stop(old.poller);
		poller_adopt_schedule(next->poller, old.poller, old.cfg);
		commit_reports(rt, old.cfg, next->cfg, counts);
	}
	poller_free(old.poller);
	rt->cur.poller = next->poller;
	if (new_users) {
		user_directory_free(old.users);
		rt->cur.users = next->users;
		if (old.users && !next->users)
			metrics_store_put(rt->links.store, &users_kind, NULL, NULL);
	}
	/* The roles borrow the chain: freed before it. */
	if (!plan->keep_roles) {
		runtime_creds_free(old.roles);
		rt->cur.roles = next->roles;
	}
	if (next->creds) {
		aws_credentials_provider_free(old.creds);
		rt->cur.creds = next->creds;
	}
	if (next->server) {
		/* Not freed here: the request that asked for this reload may be running on it. */
		if (old.server)
			rt->retired[rt->n_retired++] = (struct retired_server){old.server, monotime_s() + retire_grace};
		rt->cur.server = next->server;
	}
	free(old.region);
	free(old.endpoint);
	config_free(old.cfg);
	rt->cur.region = next->region;
	rt->cur.endpoint = next->endpoint;
	rt->cur.cfg = next->cfg;
	memset(plan, 0, sizeof(*plan));
	/* the live state's sections, before its threads start: a farm that starts afresh puts its own at once */
	if (activity_declare(rt->links.store, rt->cur.cfg, rt->cur.region) < 0)
		log_warning("op=%s status=degraded reason=\"out of memory while declaring the live state\"", op);
	return commit_start(rt, new_users, op);
}

/* http_server_lifecycle.reload: POST /-/reload, in the request's thread. */
static int reload_over_http(void *ctx, char *err, size_t errlen)
{
	int r = runtime_reload(ctx, RUNTIME_FROM_HTTP, err, errlen);

	if (r == RUNTIME_OK)
		return HTTP_SERVER_RELOAD_APPLIED;
	if (r == RUNTIME_REJECTED)
		return HTTP_SERVER_RELOAD_REJECTED;
	return r;
}

/* aws_credentials_observer.call: an STS call of the credentials, counted with the API requests. */
static void count_sts_call(void *store, const char *operation, long http_status)
{
	metrics_store_count_request(store, "-", operation, http_status);
}

/* The store and the inventory board live as long as the runtime; at start they declare cfg's reports and farms. */
static int runtime_links_init(struct runtime *rt, const struct config *cfg)
{
	int r = metrics_store_new(&rt->links.store, EXPORTER_VERSION);

	if (r == 0)
		r = metrics_store_set_reports(rt->links.store, cfg);
	if (r == 0)
		r = inventory_board_new(&rt->links.inventory, rt->links.store);
	if (r == 0)
		r = inventory_board_set_farms(rt->links.inventory, NULL, cfg);
	if (r < 0)
		log_error("op=start status=error error=\"cannot set up the metrics store: %s\"", strerror(-r));
	rt->links.lifecycle = (struct http_server_lifecycle){reload_over_http, rt};
	rt->links.sts_observer = (struct aws_credentials_observer){count_sts_call, rt->links.store};
	return r;
}

int runtime_start(struct runtime **out, struct config *cfg, const struct runtime_options *opts)
{
	struct runtime_plan plan;
	struct runtime *rt = calloc(1, sizeof(*rt));
	struct reload_counts counts = {0};
	int r;

	if (!rt || pthread_mutex_init(&rt->lock, NULL) != 0) {
		log_error("op=start status=error error=\"%s\"", strerror(ENOMEM));
		free(rt);
		config_free(cfg);
		return -ENOMEM;
	}
	rt->opts = *opts;
	r = runtime_links_init(rt, cfg);
	if (r < 0) {
		config_free(cfg);
		goto fail;
	}
	r = runtime_plan_prepare(&plan, cfg, &rt->cur, &rt->links, NULL, 0);
	if (r != 0)
		goto fail;
	r = commit(rt, &plan, "start", 0.0, &counts);
	if (r < 0)
		goto fail;
	cfg = rt->cur.cfg;
	log_info("op=start status=ok version=%s listen=%s port=%u endpoint=%s region=%s farms=%zu reports=%zu",
		EXPORTER_VERSION, cfg->listen, http_server_port(rt->cur.server), rt->cur.endpoint, rt->cur.region,
		cfg->n_farms, cfg->n_reports);
	notify_status("serving %zu farm(s), %zu report(s) on %s", cfg->n_farms, cfg->n_reports, cfg->listen);
	notify_ready();
	*out = rt;
	return 0;
fail:
	runtime_free(rt);
	return r;
}

/* A reload's prepare: the file, room to retire a server, the plan. Returns 0, or nonzero (logged, why filled). */
static int reload_prepare(struct runtime *rt, struct runtime_plan *plan, char *why, size_t whylen)
{
	const char *path = rt->opts.config_path;
	struct config *cfg = NULL;
	int r;

	r = runtime_plan_load(&cfg, path, rt->opts.listen, why, whylen);
	if (r == RUNTIME_BAD_CONFIG) {
		log_error(
			"op=reload status=rejected file=%s error=\"configuration not valid (errors above); the running "
			"configuration stays\"",
			path);
		return r;
	}
	if (r == 0)
		r = retired_reserve(rt);
	if (r < 0) {
		log_error("op=reload status=rejected file=%s error=\"%s\"", path, strerror(-r));
		snprintf(why, whylen, "%s", strerror(-r));
		config_free(cfg);
		return r;
	}
	return runtime_plan_prepare(plan, cfg, &rt->cur, &rt->links, why, whylen);
}

int runtime_reload(struct runtime *rt, enum runtime_origin from, char *why, size_t whylen)
{
	struct reload_counts counts = {0};
	struct runtime_plan plan;
	const struct config *cfg;

	why[0] = '\0';
	mutex_lock(&rt->lock);
	if (rt->stopping) {
		mutex_unlock(&rt->lock);
		snprintf(why, whylen, "stopping");
		return -ECANCELED;
	}
	log_info("op=reload status=started file=%s from=%s", rt->opts.config_path,
		from == RUNTIME_FROM_HTTP ? "http" : "signal");
	notify_reloading();
	if (reload_prepare(rt, &plan, why, whylen) != 0) {
		notify_ready();
		mutex_unlock(&rt->lock);
		if (!why[0])
			snprintf(why, whylen, "rejected (see the log); the running configuration stays");
		return RUNTIME_REJECTED;
	}
	/* The answer to a POST /-/reload may be going out over the server replaced: it waits a little. */
	commit(rt, &plan, "reload", from == RUNTIME_FROM_HTTP ? RUNTIME_RETIRE_GRACE_S : 0.0, &counts);
	cfg = rt->cur.cfg;
	log_info("op=reload status=ok file=%s farms=%zu reports=%zu kept=%zu changed=%zu removed=%zu listen=%s",
		rt->opts.config_path, cfg->n_farms, cfg->n_reports, counts.kept, counts.changed, counts.removed,
		cfg->listen);
	notify_status("serving %zu farm(s), %zu report(s) on %s; reloaded", cfg->n_farms, cfg->n_reports, cfg->listen);
	notify_ready();
	mutex_unlock(&rt->lock);
	return RUNTIME_OK;
}

void runtime_idle(struct runtime *rt)
{
	for (;;) {
		struct http_server *due = NULL;
		double now = monotime_s();

		mutex_lock(&rt->lock);
		for (size_t i = 0; i < rt->n_retired && !due; i++) {
			if (rt->retired[i].free_after > now)
				continue;
			due = rt->retired[i].server;
			rt->retired[i] = rt->retired[--rt->n_retired];
		}
		mutex_unlock(&rt->lock);
		if (!due)
			return;
		/* Outside the lock: its connections' threads are joined, one may be waiting for a reload. */
		http_server_free(due);
	}
}

bool runtime_alive(struct runtime *rt, double max_silence_seconds)
{
	bool alive;

	mutex_lock(&rt->lock);
	alive = poller_alive(rt->cur.poller, max_silence_seconds);
	mutex_unlock(&rt->lock);
	return alive;
}

void runtime_stop(struct runtime *rt)
{
	if (!rt)
		return;
	mutex_lock(&rt->lock);
	rt->stopping = true;
	mutex_unlock(&rt->lock);
	/* No reload changes cur from here on: the rest needs no lock. */
	poller_stop(rt->cur.poller);
}

void runtime_free(struct runtime *rt)
{
	if (!rt)
		return;
	runtime_stop(rt);
	/* The servers first: a request waiting for the lock gets -ECANCELED, and none comes after. */
	for (size_t i = 0; i < rt->n_retired; i++)
		http_server_free(rt->retired[i].server);
	http_server_free(rt->cur.server);
	poller_free(rt->cur.poller);
	user_directory_free(rt->cur.users);
	/* The credentials tell the store of their STS calls: freed before it. */
	runtime_creds_free(rt->cur.roles);
	aws_credentials_provider_free(rt->cur.creds);
	inventory_board_free(rt->links.inventory);
	metrics_store_free(rt->links.store);
	free(rt->cur.endpoint);
	free(rt->cur.region);
	config_free(rt->cur.cfg);
	free(rt->retired);
	pthread_mutex_destroy(&rt->lock);
	free(rt);
}

unsigned runtime_port(struct runtime *rt)
{
	unsigned port;

	mutex_lock(&rt->lock);
	port = http_server_port(rt->cur.server);
	mutex_unlock(&rt->lock);
	return port;
}
