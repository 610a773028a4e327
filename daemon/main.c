/* main: arguments, signals and the run loop; the runtime (runtime/runtime.h) starts, reloads and stops the rest */
#include <curl/curl.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "config/readable.h"
#include "runtime/runtime.h"
#include "runtime/runtime_check.h"
#include "util/log.h"
#include "util/notify.h"

enum {
	EXIT_CLEAN = 0,
	EXIT_BAD_CONFIG = 1,
	EXIT_RUNTIME = 2,
};

/* A farm thread silent for longer than this is stuck: the watchdog keep-alives stop (requests time out sooner). */
#define WATCHDOG_MAX_SILENCE_S 45.0

enum {
	OPT_CHECK_CONFIG = 256,
	OPT_CHECK_AWS,
	OPT_LISTEN,
	OPT_LOG_LEVEL,
	OPT_VERSION,
	OPT_HELP,
};

struct args {
	const char *config_path;
	const char *listen;
	bool check_config;
	bool check_aws;
	enum log_level level;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: deadline_cloud_exporter [-c FILE | --config FILE] [--check-config] [--check-aws]\n"
		"                               [--listen ADDR] [--log-level LEVEL] [--version] [--help]\n"
		"\n"
		"Serves AWS Deadline Cloud usage statistics (cost and runtime) as Prometheus metrics.\n"
		"\n"
		"  -c, --config FILE     configuration file (default %s)\n"
		"      --check-config    validate the configuration and exit (0 valid, 1 not), no network\n"
		"      --check-aws       print who the credentials are, call once each AWS operation the\n"
		"                        configuration uses, print what to grant; exit 0 when all succeeded\n"
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
		{"check-aws", no_argument, NULL, OPT_CHECK_AWS},
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
		case OPT_CHECK_AWS:
			a->check_aws = true;
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
	if (a->check_config && a->check_aws) {
		fprintf(stderr, "deadline_cloud_exporter: --check-config and --check-aws are two commands: give one\n");
		return EXIT_BAD_CONFIG;
	}
	return -1;
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

/* --check-config: the one-line summary of a valid configuration. */
static void check_config_print(const struct config *cfg)
{
	bool any_all;
	size_t ids = config_total_ids(cfg, &any_all);

	printf("%s: ok: %zu farm%s, %zu report%s, %zu listed resource id%s%s, listen %s\n", cfg->path, cfg->n_farms,
		cfg->n_farms == 1 ? "" : "s", cfg->n_reports, cfg->n_reports == 1 ? "" : "s", ids, ids == 1 ? "" : "s",
		any_all ? " (and \"all\" listed at each refresh)" : "", cfg->listen);
}

/*
 * Until SIGTERM or SIGINT: SIGHUP reloads; every wake-up frees what reloads retired, and a timeout sends the
 * watchdog keep-alive (every half watchdog period, at most 15 s) while every farm thread shows life.
 */
static void run(struct runtime *rt, const sigset_t *signals)
{
	uint64_t watchdog_usec = 0;
	double keepalive = 15.0;
	char why[1024];

	if (notify_watchdog_usec(&watchdog_usec) > 0 && watchdog_usec / 2 < 15000000)
		keepalive = (double)watchdog_usec / 2e6;
	for (;;) {
		struct timespec wait = {
			.tv_sec = (time_t)keepalive, .tv_nsec = (long)((keepalive - (double)(time_t)keepalive) * 1e9)};
		int sig = sigtimedwait(signals, NULL, &wait);

		if (sig == SIGHUP) {
			runtime_reload(rt, RUNTIME_FROM_SIGNAL, why, sizeof(why));
		} else if (sig >= 0) {
			log_info("op=stop signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			notify_stopping();
			runtime_stop(rt);
			return;
		}
		runtime_idle(rt);
		if (sig < 0 && watchdog_usec && runtime_alive(rt, WATCHDOG_MAX_SILENCE_S))
			notify_watchdog();
	}
}

int main(int argc, char **argv)
{
	struct args a = {0};
	struct config *cfg = NULL;
	struct runtime *rt = NULL;
	sigset_t signals;
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

	if (a.check_aws) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			log_error("op=check status=error error=\"libcurl initialisation failed\"");
			return EXIT_RUNTIME;
		}
		r = runtime_check_aws(a.config_path, stdout);
		curl_global_cleanup();
		return r;
	}

	r = runtime_plan_load(&cfg, a.config_path, a.listen, NULL, 0);
	if (r != 0)
		return r == RUNTIME_BAD_CONFIG ? EXIT_BAD_CONFIG : EXIT_RUNTIME;
	if (a.check_config) {
		readable_config_warn(cfg, geteuid(), getenv("CREDENTIALS_DIRECTORY"), stderr);
		check_config_print(cfg);
		config_free(cfg);
		return EXIT_CLEAN;
	}

	/* Signals are taken by sigtimedwait() in run(); every thread started below inherits the mask. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("op=start status=error error=\"libcurl initialisation failed\"");
		config_free(cfg);
		return EXIT_RUNTIME;
	}
	const struct runtime_options opts = {.config_path = a.config_path, .listen = a.listen};
	r = runtime_start(&rt, cfg, &opts);
	if (r == 0)
		run(rt, &signals);
	runtime_free(rt);
	curl_global_cleanup();
	if (r == 0)
		return EXIT_CLEAN;
	return r == RUNTIME_BAD_CONFIG ? EXIT_BAD_CONFIG : EXIT_RUNTIME;
}
