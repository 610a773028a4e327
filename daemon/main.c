/* main: arguments, signals, wiring, the run loop */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/credentials/aws_credentials.h"
#include "aws/aws_endpoint.h"
#include "config/config.h"
#include "web/http_server.h"
#include "util/log.h"
#include "util/mutex.h"
#include "metrics/inventory.h"
#include "metrics/store.h"
#include "util/notify.h"
#include "deadline/poller.h"
#include "deadline/users.h"
#include "config/reload.h"

enum {
	EXIT_CLEAN = 0,
	EXIT_BAD_CONFIG = 1,
	EXIT_RUNTIME = 2,
};

/* A farm thread silent for longer than this is stuck: the watchdog keep-alives stop (requests time out sooner). */
#define WATCHDOG_MAX_SILENCE_S 45.0

enum {
	OPT_CHECK_CONFIG = 256,
	OPT_LISTEN,
	OPT_LOG_LEVEL,
	OPT_VERSION,
	OPT_HELP,
};

struct args {
	const char *config_path;
	const char *listen;
	bool check_config;
	enum log_level level;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: deadline_cloud_exporter [-c FILE | --config FILE] [--check-config] [--listen ADDR]\n"
		"                               [--log-level LEVEL] [--version] [--help]\n"
		"\n"
		"Serves AWS Deadline Cloud usage statistics (cost and runtime) as Prometheus metrics.\n"
		"\n"
		"  -c, --config FILE     configuration file (default %s)\n"
		"      --check-config    validate the configuration and exit (0 valid, 1 not), no network\n"
		"      --listen ADDR     listen address, overrides web.listen (e.g. 127.0.0.1:9753, [::]:9753)\n"
		"      --log-level LEVEL error, warning, info (default) or debug\n"
		"      --version         print the version and exit\n"
		"      --help            print this help and exit\n"
		"\n"
		"Exit status: 0 clean stop, 1 bad configuration or arguments, 2 runtime failure at start.\n",
		CONFIG_DEFAULT_PATH);
}

/* Returns -1 to go on, else the exit status. */
static int args_parse(int argc, char **argv, struct args *a)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"version", no_argument, NULL, OPT_VERSION},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	int c;

	a->config_path = CONFIG_DEFAULT_PATH;
	a->level = LOG_LEVEL_INFO;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config_path = optarg;
			break;
		case OPT_CHECK_CONFIG:
			a->check_config = true;
			break;
		case OPT_LISTEN:
			a->listen = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (log_level_parse(optarg, &a->level) < 0) {
				fprintf(stderr,
					"deadline_cloud_exporter: invalid --log-level '%s' (error, warning, info, "
					"debug)\n",
					optarg);
				return EXIT_BAD_CONFIG;
			}
			break;
		case OPT_VERSION:
			printf("deadline_cloud_exporter %s\n", EXPORTER_VERSION);
			return EXIT_CLEAN;
		case OPT_HELP:
			usage(stdout);
			return EXIT_CLEAN;
		case ':':
			fprintf(stderr, "deadline_cloud_exporter: option '%s' needs a value\n", argv[optind - 1]);
			usage(stderr);
			return EXIT_BAD_CONFIG;
		default:
			fprintf(stderr, "deadline_cloud_exporter: unknown option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return EXIT_BAD_CONFIG;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "deadline_cloud_exporter: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_BAD_CONFIG;
	}
	return -1;
}

/*
 * Loads and validates path: every check of the file's content is there (config_load()), so --check-config,
 * start-up, SIGHUP and POST /-/reload accept and refuse the same files. Returns 0 with *out, or -errno (the
 * problems printed, and copied into why when given).
 */
static int config_read(struct config **out, const char *path, char *why, size_t whylen)
{
	char err[8192];
	int r;

	err[0] = '\0';
	r = config_load(out, path, err, sizeof(err));
	if (r < 0) {
		/* Already "FILE:LINE: reason" lines: print them as they are, for people and editors. */
		fputs(err, stderr);
		if (err[0] && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		if (why && whylen)
			snprintf(why, whylen, "%s", err);
	}
	return r;
}

static size_t config_total_ids(const struct config *cfg, bool *any_all)
{
	size_t n = 0;

	*any_all = false;
	for (size_t i = 0; i < cfg->n_farms; i++) {
		n += cfg->farms[i].n_queue_ids + cfg->farms[i].n_fleet_ids;
		*any_all |= cfg->farms[i].all_queues || cfg->farms[i].all_fleets;
	}
	return n;
}

/* What runs: replaced piece by piece on reload. */
struct runtime {
	struct config *cfg;
	char *region;
	char *endpoint;
	struct aws_credentials_provider *creds;
	struct metrics_store *store;
	struct inventory_board *inventory; /* the farms' inventories, shown through store */
	struct http_server *server;
	struct http_server *retired; /* replaced by a POST /-/reload; freed once its answer is out (main loop) */
	struct poller *poller;
	struct user_directory *users; /* identity_store: user names, or NULL */
};

/*
 * POST /-/reload: the request's thread asks the main thread, which alone reloads (as for SIGHUP), and waits
 * for the outcome of a reload that started after it asked.
 */
struct web_reload {
	pthread_mutex_t lock;
	pthread_cond_t answered;
	pthread_t main_thread;
	bool asked, done, stopping;
	int outcome;
	char why[1024];
};

static struct web_reload web_reload = {.lock = PTHREAD_MUTEX_INITIALIZER, .answered = PTHREAD_COND_INITIALIZER};

/* http_server_lifecycle.reload: runs in a request's thread. */
static int web_reload_ask(void *ctx, char *err, size_t errlen)
{
	struct web_reload *w = ctx;
	int outcome;

	mutex_lock(&w->lock);
	while (w->asked && !w->stopping)
		pthread_cond_wait(&w->answered, &w->lock); /* one at a time */
	if (w->stopping) {
		mutex_unlock(&w->lock);
		return -ECANCELED;
	}
	w->asked = true;
	w->done = false;
	pthread_kill(w->main_thread, SIGHUP);
	while (!w->done && !w->stopping)
		pthread_cond_wait(&w->answered, &w->lock);
	outcome = w->done ? w->outcome : -ECANCELED;
	snprintf(err, errlen, "%s", w->why);
	w->asked = false;
	pthread_cond_broadcast(&w->answered);
	mutex_unlock(&w->lock);
	return outcome;
}

/* Main thread: whether a request is waiting for the reload about to start. */
static bool web_reload_asked(struct web_reload *w)
{
	bool asked;

	mutex_lock(&w->lock);
	asked = w->asked && !w->done;
	mutex_unlock(&w->lock);
	return asked;
}

/* Main thread: the outcome for the request waiting (see web_reload_asked), or stopping (outcome < 0). */
static void web_reload_answer(struct web_reload *w, int outcome, const char *why)
{
	mutex_lock(&w->lock);
	if (outcome < 0) {
		w->stopping = true;
	} else {
		w->done = true;
		w->outcome = outcome;
		snprintf(w->why, sizeof(w->why), "%s", why);
	}
	pthread_cond_broadcast(&w->answered);
	mutex_unlock(&w->lock);
}

/*
 * Region and endpoint for cfg. Only what the file alone cannot tell is decided here, which is why
 * --check-config does not run it: the region may come from AWS_REGION, the profile or the instance metadata
 * (IMDS, over the network), and the endpoint from AWS_ENDPOINT_URL*, the profile, and the FIPS and dual-stack
 * switches of the environment. The shapes of aws.region and aws.endpoint_url were checked by config_load().
 * Returns 0, or -errno (a configuration problem, logged).
 */
static int runtime_resolve(const struct config *cfg, char **region, char **endpoint)
{
	int r;

	r = aws_region_resolve(cfg->region, cfg->profile, region);
	if (r < 0) {
		log_error("op=start status=error file=%s error=\"no AWS region: set aws.region, or AWS_REGION\"",
			cfg->path);
		return r;
	}
	r = aws_endpoint_resolve(cfg->endpoint_url, cfg->profile, *region, endpoint);
	if (r < 0) {
		log_error("op=start status=error region=%s error=\"unusable Deadline Cloud endpoint\"", *region);
		free(*region);
		*region = NULL;
		return r;
	}
	return 0;
}

static int runtime_poller(struct runtime *rt, const struct config *cfg, const char *region, const char *endpoint,
	struct aws_credentials_provider *creds, struct user_directory *users, struct poller **out)
{
	struct poller_options po = {
		.endpoint = endpoint,
		.region = region,
		.ca_file = aws_ca_bundle(cfg->ca_file),
		.inventory = rt->inventory,
		.users = users,
	};
	int r = poller_new(out, cfg, &po, creds, rt->store);

	if (r < 0)
		log_error("op=start status=error error=\"cannot set up the poller: %s\"", strerror(-r));
	return r;
}

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The user directory of cfg (NULL without identity_store). Returns 0 or -errno (logged). */
static int runtime_users(const struct config *cfg, const char *region, struct aws_credentials_provider *creds,
	struct metrics_store *store, struct user_directory **out)
{
	int r;

	*out = NULL;
	if (!cfg->identity_store.id)
		return 0;
	r = user_directory_new(out, cfg, region, creds, store);
	if (r == 0)
		r = user_directory_start(*out);
	if (r < 0) {
		log_error("op=start status=error error=\"cannot set up the identity store: %s\"", strerror(-r));
		user_directory_free(*out);
		*out = NULL;
	}
	return r;
}

/* Whether the running user directory serves cfg as it is (same store, region, endpoint, credentials). */
static bool users_reusable(const struct runtime *rt, const struct config *cfg, const char *region, bool new_creds)
{
	const struct identity_store_config *a = &rt->cfg->identity_store, *b = &cfg->identity_store;

	return rt->users && b->id && !new_creds && same_string(a->id, b->id) && same_string(a->region, b->region) &&
	       same_string(a->endpoint_url, b->endpoint_url) && same_string(rt->cfg->profile, cfg->profile) &&
	       strcmp(rt->region, region) == 0;
}

/*
 * SIGHUP: a configuration that does not load, or that cannot be applied (its address cannot be bound…),
 * is rejected and the running one goes on untouched. Otherwise reports whose definition did not change
 * keep their figures and schedule, changed ones start afresh, removed ones disappear.
 */
static int runtime_reload(struct runtime *rt, const char *path, const char *listen_override, char *why, size_t whylen)
{
	struct config *cfg = NULL;
	struct http_server *server = NULL;
	struct aws_credentials_provider *creds = NULL;
	struct poller *poller = NULL;
	struct user_directory *users = NULL;
	bool keep_users;
	char *region = NULL, *endpoint = NULL;
	char err[512];
	size_t kept = 0, changed = 0, removed = 0;

	notify_reloading();
	if (config_read(&cfg, path, why, whylen) < 0) {
		notify_ready();
		log_error(
			"op=reload status=rejected file=%s error=\"configuration not valid (errors above); the running "
			"configuration stays\"",
			path);
		return HTTP_SERVER_RELOAD_REJECTED;
	}
	if (listen_override) {
		free(cfg->listen);
		cfg->listen = strdup(listen_override);
		if (!cfg->listen) {
			snprintf(why, whylen, "%s", strerror(ENOMEM));
			goto reject;
		}
	}
	if (runtime_resolve(cfg, &region, &endpoint) < 0) {
		snprintf(why, whylen, "no usable AWS region or Deadline Cloud endpoint (see the log)");
		goto reject;
	}
	if (strcmp(cfg->listen, rt->cfg->listen) != 0) {
		const struct http_server_lifecycle lifecycle = {web_reload_ask, &web_reload};
		err[0] = '\0';
		int r = http_server_new(&server, cfg->listen, &cfg->web, rt->store, &lifecycle, err, sizeof(err));
		if (r < 0) {
			log_error("op=reload status=rejected listen=%s error=\"%s\"", cfg->listen,
				err[0] ? err : strerror(-r));
			snprintf(why, whylen, "%s", err[0] ? err : strerror(-r));
			goto reject;
		}
	} else {
		/* Same address: the running server takes the new certificate, key and users in place. */
		err[0] = '\0';
		int r = http_server_reload_tls(rt->server, &cfg->web, err, sizeof(err));
		if (r < 0) {
			log_error("op=reload status=rejected error=\"web settings not usable, the old certificate and "
				  "users "
				  "stay: %s\"",
				err);
			snprintf(why, whylen, "web settings not usable: %s", err);
			goto reject;
		}
		if (r == HTTP_SERVER_RESTART_NEEDED)
			log_warning("op=reload status=partial reason=\"%s: takes effect at the next restart\"", err);
	}
	/* The chain depends on the profile, the region (STS) and the CA bundle: a new one when any changed. */
	if ((!same_string(cfg->profile, rt->cfg->profile) || strcmp(region, rt->region) != 0 ||
		    !same_string(aws_ca_bundle(cfg->ca_file), aws_ca_bundle(rt->cfg->ca_file))) &&
		aws_credentials_provider_new(&creds, cfg->profile, region, aws_ca_bundle(cfg->ca_file)) < 0) {
		snprintf(why, whylen, "cannot set up the AWS credentials (see the log)");
		goto reject;
	}
	keep_users = users_reusable(rt, cfg, region, creds != NULL);
	if (!keep_users && runtime_users(cfg, region, creds ? creds : rt->creds, rt->store, &users) < 0) {
		snprintf(why, whylen, "cannot set up the identity store (see the log)");
		goto reject;
	}
	if (runtime_poller(rt, cfg, region, endpoint, creds ? creds : rt->creds, keep_users ? rt->users : users,
		    &poller) < 0) {
		snprintf(why, whylen, "cannot set up the poller (see the log)");
		goto reject;
	}

	/* From here on the new configuration is applied; nothing below can fail half-way. */
	poller_stop(rt->poller);
	poller_adopt_schedule(poller, rt->poller, rt->cfg);
	for (size_t f = 0; f < rt->cfg->n_farms; f++) {
		for (size_t i = 0; i < rt->cfg->n_reports; i++) {
			const char *farm = rt->cfg->farms[f].id, *report = rt->cfg->reports[i].name;
			if (reload_report_same(rt->cfg, cfg, farm, report)) {
				kept++;
				continue;
			}
			if (reload_find_farm(cfg, farm) && reload_find_report(cfg, report))
				changed++;
			else
				removed++;
			metrics_store_drop(rt->store, farm, report);
		}
	}
	if (metrics_store_set_reports(rt->store, cfg) < 0)
		log_warning("op=reload status=degraded reason=\"out of memory while declaring reports\"");
	if (inventory_board_set_farms(rt->inventory, rt->cfg, cfg) < 0)
		log_warning("op=reload status=degraded reason=\"out of memory while declaring inventories\"");
	poller_free(rt->poller);
	rt->poller = poller;
	if (!keep_users) {
		user_directory_free(rt->users);
		rt->users = users;
		if (!users)
			metrics_store_put(rt->store, &users_kind, NULL, NULL);
	}
	if (creds) {
		aws_credentials_provider_free(rt->creds);
		rt->creds = creds;
	}
	if (server) {
		/* The old server may be the one a POST /-/reload waits on: freed once that is answered. */
		rt->retired = rt->server;
		rt->server = server;
	}
	free(rt->region);
	free(rt->endpoint);
	rt->region = region;
	rt->endpoint = endpoint;
	config_free(rt->cfg);
	rt->cfg = cfg;
	if (poller_start(rt->poller) < 0)
		log_error("op=reload status=error error=\"cannot start the poller\"");
	log_info("op=reload status=ok file=%s farms=%zu reports=%zu kept=%zu changed=%zu removed=%zu listen=%s", path,
		cfg->n_farms, cfg->n_reports, kept, changed, removed, cfg->listen);
	notify_status("serving %zu farm(s), %zu report(s) on %s; reloaded", cfg->n_farms, cfg->n_reports, cfg->listen);
	notify_ready();
	return HTTP_SERVER_RELOAD_APPLIED;
reject:
	notify_ready();
	poller_free(poller);
	user_directory_free(users);
	aws_credentials_provider_free(creds);
	http_server_free(server);
	free(region);
	free(endpoint);
	config_free(cfg);
	if (!why[0])
		snprintf(why, whylen, "rejected (see the log); the running configuration stays");
	return HTTP_SERVER_RELOAD_REJECTED;
}

int main(int argc, char **argv)
{
	struct args a = {0};
	struct runtime rt = {0};
	char err[512];
	sigset_t signals;
	int status = EXIT_RUNTIME;
	int r;

	r = args_parse(argc, argv, &a);
	if (r >= 0)
		return r;
	log_init(a.level);
	/*
	 * Rendered bodies are megabytes, built on poller threads and freed on HTTP threads: a fixed mmap
	 * threshold hands them back to the system when freed (glibc's adaptive one would move them into the
	 * heap, where they fragment), and few arenas keep the many threads from holding memory each.
	 */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	mallopt(M_ARENA_MAX, 2);

	if (config_read(&rt.cfg, a.config_path, NULL, 0) < 0)
		return EXIT_BAD_CONFIG;
	if (a.listen) {
		char *listen = strdup(a.listen);
		if (!listen) {
			config_free(rt.cfg);
			return EXIT_RUNTIME;
		}
		free(rt.cfg->listen);
		rt.cfg->listen = listen;
	}
	if (a.check_config) {
		bool any_all;
		size_t ids = config_total_ids(rt.cfg, &any_all);
		printf("%s: ok: %zu farm%s, %zu report%s, %zu listed resource id%s%s, listen %s\n", rt.cfg->path,
			rt.cfg->n_farms, rt.cfg->n_farms == 1 ? "" : "s", rt.cfg->n_reports,
			rt.cfg->n_reports == 1 ? "" : "s", ids, ids == 1 ? "" : "s",
			any_all ? " (and \"all\" listed at each refresh)" : "", rt.cfg->listen);
		config_free(rt.cfg);
		return EXIT_CLEAN;
	}

	/* Signals are taken by sigwait() in this thread; every thread started below inherits the mask. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("op=start status=error error=\"libcurl initialisation failed\"");
		goto out;
	}
	if (runtime_resolve(rt.cfg, &rt.region, &rt.endpoint) < 0) {
		status = EXIT_BAD_CONFIG;
		goto out;
	}
	r = aws_credentials_provider_new(&rt.creds, rt.cfg->profile, rt.region, aws_ca_bundle(rt.cfg->ca_file));
	if (r < 0)
		goto out;
	r = metrics_store_new(&rt.store, EXPORTER_VERSION);
	if (r < 0)
		goto out;
	r = metrics_store_set_reports(rt.store, rt.cfg);
	if (r < 0)
		goto out;
	r = inventory_board_new(&rt.inventory, rt.store);
	if (r < 0)
		goto out;
	r = inventory_board_set_farms(rt.inventory, NULL, rt.cfg);
	if (r < 0)
		goto out;

	/*
	 * Left to start-up, as they need the machine rather than the file: resolving and binding the address (in
	 * use, not on this host) and a libmicrohttpd built with TLS. Everything else web.* names (the address's
	 * form, the certificate and its key, the users' hashes) config_load() has checked the same way.
	 */
	err[0] = '\0';
	web_reload.main_thread = pthread_self();
	const struct http_server_lifecycle lifecycle = {web_reload_ask, &web_reload};
	r = http_server_new(&rt.server, rt.cfg->listen, &rt.cfg->web, rt.store, &lifecycle, err, sizeof(err));
	if (r < 0) {
		log_error("op=listen status=error listen=%s error=\"%s\"", rt.cfg->listen, err[0] ? err : strerror(-r));
		goto out;
	}
	if (runtime_users(rt.cfg, rt.region, rt.creds, rt.store, &rt.users) < 0)
		goto out;
	if (runtime_poller(&rt, rt.cfg, rt.region, rt.endpoint, rt.creds, rt.users, &rt.poller) < 0)
		goto out;
	r = poller_start(rt.poller);
	if (r < 0) {
		log_error("op=start status=error error=\"cannot start the poller: %s\"", strerror(-r));
		goto out;
	}
	log_info("op=start status=ok version=%s listen=%s port=%u endpoint=%s region=%s farms=%zu reports=%zu",
		EXPORTER_VERSION, rt.cfg->listen, http_server_port(rt.server), rt.endpoint, rt.region, rt.cfg->n_farms,
		rt.cfg->n_reports);

	notify_status("serving %zu farm(s), %zu report(s) on %s", rt.cfg->n_farms, rt.cfg->n_reports, rt.cfg->listen);
	notify_ready();

	/* Keep-alives every half watchdog period (at most 15 s), only while every farm thread shows life. */
	uint64_t watchdog_usec = 0;
	double keepalive = 15.0;
	if (notify_watchdog_usec(&watchdog_usec) > 0 && watchdog_usec / 2 < 15000000)
		keepalive = (double)watchdog_usec / 2e6;
	for (;;) {
		struct timespec wait = {
			.tv_sec = (time_t)keepalive, .tv_nsec = (long)((keepalive - (double)(time_t)keepalive) * 1e9)};
		int sig = sigtimedwait(&signals, NULL, &wait);
		if (sig < 0) {
			/* A server replaced by a POST /-/reload: its answer has long been sent now. */
			http_server_free(rt.retired);
			rt.retired = NULL;
			if (watchdog_usec && poller_alive(rt.poller, WATCHDOG_MAX_SILENCE_S))
				notify_watchdog();
			continue;
		}
		if (sig == SIGHUP) {
			char why[1024] = "";
			bool asked = web_reload_asked(&web_reload);
			http_server_free(rt.retired);
			rt.retired = NULL;
			log_info("op=reload status=started file=%s from=%s", a.config_path, asked ? "http" : "signal");
			r = runtime_reload(&rt, a.config_path, a.listen, why, sizeof(why));
			/*
			 * A server replaced here may be carrying the answer to the POST /-/reload that asked: stopping
			 * it now would cut that answer off, so it goes at the next wake-up (at most keepalive seconds).
			 */
			if (asked) {
				web_reload_answer(&web_reload, r, why);
			} else {
				http_server_free(rt.retired);
				rt.retired = NULL;
			}
			continue;
		}
		log_info("op=stop signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		notify_stopping();
		break;
	}
	status = EXIT_CLEAN;
out:
	/* A POST /-/reload still waiting is let go, or stopping its server would wait for it forever. */
	web_reload_answer(&web_reload, -ECANCELED, "stopping");
	poller_free(rt.poller);
	user_directory_free(rt.users);
	http_server_free(rt.retired);
	http_server_free(rt.server);
	inventory_board_free(rt.inventory);
	metrics_store_free(rt.store);
	aws_credentials_provider_free(rt.creds);
	free(rt.endpoint);
	free(rt.region);
	config_free(rt.cfg);
	curl_global_cleanup();
	return status;
}
