/* main: arguments, signals, wiring, the run loop */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_credentials.h"
#include "aws_endpoint.h"
#include "config.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"
#include "poller.h"

enum {
	EXIT_CLEAN = 0,
	EXIT_BAD_CONFIG = 1,
	EXIT_RUNTIME = 2,
};

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
				fprintf(stderr, "deadline_cloud_exporter: invalid --log-level '%s' (error, warning, info, debug)\n",
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

static struct config *config_read(const char *path)
{
	struct config *cfg = NULL;
	char err[8192];

	err[0] = '\0';
	if (config_load(&cfg, path, err, sizeof(err)) < 0) {
		/* Already "FILE:LINE: reason" lines: print them as they are, for people and editors. */
		fputs(err, stderr);
		if (err[0] && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		return NULL;
	}
	return cfg;
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

int main(int argc, char **argv)
{
	struct args a = {0};
	struct config *cfg = NULL;
	struct metrics_store *store = NULL;
	struct aws_credentials_provider *creds = NULL;
	struct http_server *server = NULL;
	struct poller *poller = NULL;
	char *region = NULL, *endpoint = NULL;
	char err[512];
	sigset_t signals;
	int status = EXIT_RUNTIME;
	int r;

	r = args_parse(argc, argv, &a);
	if (r >= 0)
		return r;
	log_init(a.level);

	cfg = config_read(a.config_path);
	if (!cfg)
		return EXIT_BAD_CONFIG;
	if (a.listen) {
		char *listen = strdup(a.listen);
		if (!listen) {
			config_free(cfg);
			return EXIT_RUNTIME;
		}
		free(cfg->listen);
		cfg->listen = listen;
	}
	if (a.check_config) {
		bool any_all;
		size_t ids = config_total_ids(cfg, &any_all);
		printf("%s: ok: %zu farm%s, %zu report%s, %zu listed resource id%s%s, listen %s\n", cfg->path, cfg->n_farms,
			cfg->n_farms == 1 ? "" : "s", cfg->n_reports, cfg->n_reports == 1 ? "" : "s", ids, ids == 1 ? "" : "s",
			any_all ? " (and \"all\" listed at each refresh)" : "", cfg->listen);
		config_free(cfg);
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
		log_error("op=start status=error reason=\"libcurl initialisation failed\"");
		goto out;
	}

	r = aws_region_resolve(cfg->region, &region);
	if (r < 0) {
		log_error("op=start status=error reason=\"no AWS region: set aws.region in %s, or AWS_REGION\"", cfg->path);
		status = EXIT_BAD_CONFIG;
		goto out;
	}
	r = aws_endpoint_resolve(cfg->endpoint_url, region, &endpoint);
	if (r < 0) {
		log_error("op=start status=error reason=\"unusable Deadline Cloud endpoint\" region=%s", region);
		status = EXIT_BAD_CONFIG;
		goto out;
	}
	r = aws_credentials_provider_new(&creds, cfg->profile);
	if (r < 0)
		goto out;
	r = metrics_store_new(&store, EXPORTER_VERSION);
	if (r < 0)
		goto out;
	r = metrics_store_set_reports(store, cfg);
	if (r < 0)
		goto out;

	err[0] = '\0';
	r = http_server_new(&server, cfg->listen, store, err, sizeof(err));
	if (r < 0) {
		log_error("op=listen status=error listen=%s reason=\"%s\"", cfg->listen, err[0] ? err : strerror(-r));
		goto out;
	}

	struct poller_options po = {
		.endpoint = endpoint,
		.region = region,
		.ca_file = cfg->ca_file,
	};
	r = poller_new(&poller, cfg, &po, creds, store);
	if (r < 0) {
		log_error("op=start status=error reason=\"cannot set up the poller: %s\"", strerror(-r));
		goto out;
	}
	r = poller_start(poller);
	if (r < 0) {
		log_error("op=start status=error reason=\"cannot start the poller: %s\"", strerror(-r));
		goto out;
	}
	log_info("op=start status=ok version=%s listen=%s port=%u endpoint=%s region=%s farms=%zu reports=%zu",
		EXPORTER_VERSION, cfg->listen, http_server_port(server), endpoint, region, cfg->n_farms, cfg->n_reports);

	for (;;) {
		int sig = 0;
		if (sigwait(&signals, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_warning("op=reload status=ignored reason=\"reload is not supported yet; restart to apply a new "
				    "configuration\"");
			continue;
		}
		log_info("op=stop signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
	status = EXIT_CLEAN;
out:
	poller_free(poller);
	http_server_free(server);
	metrics_store_free(store);
	aws_credentials_provider_free(creds);
	free(endpoint);
	free(region);
	config_free(cfg);
	curl_global_cleanup();
	return status;
}
