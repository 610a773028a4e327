/* simulator: deadline-cloud-simulator's command line, signals and wiring (see README.md beside it) */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim_data.h"
#include "sim_http.h"
#include "sim_state.h"

#define BOUND_SIZE 300

enum {
	OPT_LISTEN = 256,
	OPT_PORT_FILE,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_REQUEST_LOG,
	OPT_SEED,
	OPT_REGION,
	OPT_ACCESS_KEY_ID,
	OPT_SECRET_ACCESS_KEY,
	OPT_SESSION_TOKEN,
	OPT_AGGREGATION_DELAY,
	OPT_AGGREGATION_TTL,
	OPT_PAGE_SIZE_CAP,
	OPT_THROTTLE_RATE,
	OPT_ERROR_RATE,
	OPT_BROKEN_RATE,
	OPT_FAIL_RATE,
	OPT_TIMEOUT_RATE,
	OPT_FAULT_SEED,
	OPT_MAX_ROWS,
	OPT_NEW_USAGE_TYPE,
	OPT_JOBS,
	OPT_QUEUES,
	OPT_FLEETS,
	OPT_USERS,
	OPT_SESSIONS,
	OPT_EPOCH,
	OPT_QUIET,
	OPT_NO_VERIFY,
	OPT_HELP,
	OPT_IDENTITY_REGION,
	OPT_IDENTITY_THROTTLE_RATE,
	OPT_INVENTORY_STEP,
	OPT_LIVE_SESSIONS,
	OPT_FARM_ACCOUNTS,
	OPT_IDENTITY_ACCOUNT,
	OPT_DENY_OPERATIONS,
	OPT_ACTIVITY_STEP,
	OPT_SEARCH_OFFSET_CAP,
	OPT_WORKERS_PER_FLEET,
	OPT_ACTIVE_JOBS,
	OPT_FARM_REGION,
};

static const struct option options[] = {
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"port-file", required_argument, NULL, OPT_PORT_FILE},
	{"tls-cert", required_argument, NULL, OPT_TLS_CERT},
	{"tls-key", required_argument, NULL, OPT_TLS_KEY},
	{"request-log", required_argument, NULL, OPT_REQUEST_LOG},
	{"seed", required_argument, NULL, OPT_SEED},
	{"region", required_argument, NULL, OPT_REGION},
	{"access-key-id", required_argument, NULL, OPT_ACCESS_KEY_ID},
	{"secret-access-key", required_argument, NULL, OPT_SECRET_ACCESS_KEY},
	{"session-token", required_argument, NULL, OPT_SESSION_TOKEN},
	{"aggregation-delay", required_argument, NULL, OPT_AGGREGATION_DELAY},
	{"aggregation-ttl", required_argument, NULL, OPT_AGGREGATION_TTL},
	{"page-size-cap", required_argument, NULL, OPT_PAGE_SIZE_CAP},
	{"throttle-rate", required_argument, NULL, OPT_THROTTLE_RATE},
	{"error-rate", required_argument, NULL, OPT_ERROR_RATE},
	{"broken-rate", required_argument, NULL, OPT_BROKEN_RATE},
	{"fail-rate", required_argument, NULL, OPT_FAIL_RATE},
	{"timeout-rate", required_argument, NULL, OPT_TIMEOUT_RATE},
	{"fault-seed", required_argument, NULL, OPT_FAULT_SEED},
	{"max-rows", required_argument, NULL, OPT_MAX_ROWS},
	{"new-usage-type", no_argument, NULL, OPT_NEW_USAGE_TYPE},
	{"jobs", required_argument, NULL, OPT_JOBS},
	{"queues", required_argument, NULL, OPT_QUEUES},
	{"fleets", required_argument, NULL, OPT_FLEETS},
	{"users", required_argument, NULL, OPT_USERS},
	{"sessions", required_argument, NULL, OPT_SESSIONS},
	{"epoch", required_argument, NULL, OPT_EPOCH},
	{"quiet", no_argument, NULL, OPT_QUIET},
	{"no-verify", no_argument, NULL, OPT_NO_VERIFY}, /* debugging only, not in the usage text */
	{"help", no_argument, NULL, OPT_HELP},
	{"identity-region", required_argument, NULL, OPT_IDENTITY_REGION},
	{"identity-throttle-rate", required_argument, NULL, OPT_IDENTITY_THROTTLE_RATE},
	{"inventory-step", required_argument, NULL, OPT_INVENTORY_STEP},
	{"live-sessions", required_argument, NULL, OPT_LIVE_SESSIONS},
	{"farm-accounts", required_argument, NULL, OPT_FARM_ACCOUNTS},
	{"identity-account", required_argument, NULL, OPT_IDENTITY_ACCOUNT},
	{"deny-operations", required_argument, NULL, OPT_DENY_OPERATIONS},
	{"activity-step", required_argument, NULL, OPT_ACTIVITY_STEP},
	{"search-offset-cap", required_argument, NULL, OPT_SEARCH_OFFSET_CAP},
	{"workers-per-fleet", required_argument, NULL, OPT_WORKERS_PER_FLEET},
	{"active-jobs", required_argument, NULL, OPT_ACTIVE_JOBS},
	{"farm-region", required_argument, NULL, OPT_FARM_REGION},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
	(void)fputs("usage: deadline-cloud-simulator [--listen ADDR] [--port-file FILE] [--seed N] [--region REGION]\n"
		    "         [--tls-cert PEM_FILE --tls-key PEM_FILE] [--request-log FILE]\n"
		    "         [--access-key-id ID] [--secret-access-key KEY] [--session-token TOKEN]\n"
		    "         [--aggregation-delay MS] [--aggregation-ttl S] [--page-size-cap N]\n"
		    "         [--throttle-rate P] [--error-rate P] [--broken-rate P] [--fault-seed N]\n"
		    "         [--fail-rate P] [--timeout-rate P] [--max-rows N]\n"
		    "         [--jobs N] [--users N] [--sessions N] [--queues N] [--fleets N] [--epoch UNIX_SECONDS]\n"
		    "         [--new-usage-type] [--quiet]\n"
		    "         [--identity-region REGION] [--identity-throttle-rate P] [--inventory-step S]\n"
		    "         [--live-sessions PER_MINUTE] [--farm-accounts ACCOUNT,…] [--identity-account ACCOUNT]\n"
		    "         [--deny-operations OPERATION,…]\n"
		    "         [--activity-step S] [--search-offset-cap N] [--workers-per-fleet N] [--active-jobs N]\n"
		    "         [--farm-region N=REGION]...\n",
		out);
}

static const char *option_name(int val)
{
	for (const struct option *o = options; o->name; o++) {
		if (o->val == val)
			return o->name;
	}
	return "?";
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s[0] || strspn(s, "0123456789") != strlen(s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_rate(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.0 && v <= 1.0))
		return -EINVAL;
	*out = v;
	return 0;
}

/* Sessions per minute: a number in (0, SIM_SPEND_MAX_PER_MINUTE]. */
static int parse_per_minute(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0.0 && v <= SIM_SPEND_MAX_PER_MINUTE))
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_size(const char *s, size_t max, size_t *out)
{
	uint64_t v;

	if (parse_u64(s, max, &v) < 0)
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

/* "N=REGION": farm N (0 to SIM_FARMS - 1) lives in REGION ([a-z0-9-]+), so its requests are signed for it. */
static int parse_farm_region(const char *s, struct sim_config *c)
{
	const char *region = s + 2;

	if (s[0] < '0' || s[0] >= '0' + SIM_FARMS || s[1] != '=' || !region[0] ||
		strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region))
		return -EINVAL;
	c->farm_region[s[0] - '0'] = region;
	return 0;
}

/* Returns 0, 1 for --help (done), -EINVAL after a message. */
static int parse_args(int argc, char **argv, struct sim_config *c)
{
	char bad[72];
	uint64_t v;
	int opt, r = 0;

	*c = (struct sim_config){
		.listen = "127.0.0.1:0",
		.seed = 1,
		.region = "us-west-2",
		.access_key_id = "AKIDSIMULATOR",
		.secret_access_key = "simulator-secret-key",
		.aggregation_delay_ms = 300,
		.aggregation_ttl_s = 3600,
		.fault_seed = 1,
		.verify = true,
		.inventory_step_s = 10,
		.activity_step_s = 10,
		.search_offset_cap = 10000,
		.data = {.n_jobs = 400, .n_users = 40, .n_sessions = 8000, .epoch = -1},
	};
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_LISTEN:
			c->listen = optarg;
			break;
		case OPT_PORT_FILE:
			c->port_file = optarg;
			break;
		case OPT_TLS_CERT:
			c->tls_cert_file = optarg;
			break;
		case OPT_TLS_KEY:
			c->tls_key_file = optarg;
			break;
		case OPT_REQUEST_LOG:
			c->request_log_file = optarg;
			break;
		case OPT_SEED:
			r = parse_u64(optarg, UINT64_MAX, &c->seed);
			break;
		case OPT_REGION:
			c->region = optarg;
			break;
		case OPT_ACCESS_KEY_ID:
			c->access_key_id = optarg;
			break;
		case OPT_SECRET_ACCESS_KEY:
			c->secret_access_key = optarg;
			break;
		case OPT_SESSION_TOKEN:
			c->session_token = optarg;
			break;
		case OPT_AGGREGATION_DELAY:
			r = parse_u64(optarg, 24 * 3600 * 1000, &v);
			c->aggregation_delay_ms = (int64_t)v;
			break;
		case OPT_AGGREGATION_TTL:
			r = parse_u64(optarg, 365 * 24 * 3600, &v);
			c->aggregation_ttl_s = (int64_t)v;
			break;
		case OPT_PAGE_SIZE_CAP:
			r = parse_u64(optarg, 100, &v);
			c->page_size_cap = (unsigned)v;
			break;
		case OPT_THROTTLE_RATE:
			r = parse_rate(optarg, &c->throttle_rate);
			break;
		case OPT_ERROR_RATE:
			r = parse_rate(optarg, &c->error_rate);
			break;
		case OPT_BROKEN_RATE:
			r = parse_rate(optarg, &c->broken_rate);
			break;
		case OPT_FAIL_RATE:
			r = parse_rate(optarg, &c->fail_rate);
			break;
		case OPT_TIMEOUT_RATE:
			r = parse_rate(optarg, &c->timeout_rate);
			break;
		case OPT_FAULT_SEED:
			r = parse_u64(optarg, UINT64_MAX, &c->fault_seed);
			break;
		case OPT_MAX_ROWS:
			r = parse_size(optarg, SIZE_MAX, &c->max_rows);
			break;
		case OPT_NEW_USAGE_TYPE:
			c->new_usage_type = true;
			break;
		case OPT_JOBS:
			r = parse_size(optarg, 10000000, &c->data.n_jobs);
			if (!r && c->data.n_jobs == 0)
				r = -EINVAL;
			break;
		case OPT_QUEUES: /* of the first farm */
			r = parse_size(optarg, 100000, &c->data.first_farm_queues);
			if (!r && c->data.first_farm_queues == 0)
				r = -EINVAL;
			break;
		case OPT_FLEETS: /* of the first farm */
			r = parse_size(optarg, 10000, &c->data.first_farm_fleets);
			if (!r && c->data.first_farm_fleets == 0)
				r = -EINVAL;
			break;
		case OPT_USERS:
			r = parse_size(optarg, 1000000, &c->data.n_users);
			if (!r && c->data.n_users == 0)
				r = -EINVAL;
			break;
		case OPT_SESSIONS:
			r = parse_size(optarg, 100000000, &c->data.n_sessions);
			break;
		case OPT_EPOCH:
			/* from 2001 to 2286: keeps every session time positive and 10 digits */
			r = parse_u64(optarg, 9999999999, &v);
			if (!r && v < 1000000000)
				r = -EINVAL;
			c->data.epoch = (int64_t)v;
			break;
		case OPT_QUIET:
			c->quiet = true;
			break;
		case OPT_NO_VERIFY:
			c->verify = false;
			break;
		case OPT_IDENTITY_REGION:
			c->identity_region = optarg;
			break;
		case OPT_IDENTITY_THROTTLE_RATE:
			r = parse_rate(optarg, &c->identity_throttle_rate);
			break;
		case OPT_INVENTORY_STEP:
			r = parse_u64(optarg, 86400, &v);
			if (!r && v == 0)
				r = -EINVAL;
			c->inventory_step_s = (unsigned)v;
			break;
		case OPT_LIVE_SESSIONS:
			r = parse_per_minute(optarg, &c->live_per_minute);
			break;
		case OPT_FARM_ACCOUNTS:
			r = sim_access_parse_accounts(optarg, c->farm_accounts);
			break;
		case OPT_IDENTITY_ACCOUNT:
			c->identity_account = optarg;
			r = sim_account_id_valid(optarg) ? 0 : -EINVAL;
			break;
		case OPT_DENY_OPERATIONS:
			r = sim_access_parse_operations(optarg, &c->deny_operations, bad, sizeof(bad));
			if (r < 0)
				(void)fprintf(stderr, "deadline-cloud-simulator: unknown operation %s\n", bad);
			break;
		case OPT_ACTIVITY_STEP:
			r = parse_u64(optarg, 86400, &v);
			if (!r && v == 0)
				r = -EINVAL;
			c->activity_step_s = (unsigned)v;
			break;
		case OPT_SEARCH_OFFSET_CAP: /* below the service's 10,000, so that clients reach it quickly */
			r = parse_u64(optarg, 10000, &v);
			if (!r && v == 0)
				r = -EINVAL;
			c->search_offset_cap = (unsigned)v;
			break;
		case OPT_WORKERS_PER_FLEET:
			r = parse_u64(optarg, 1000, &v);
			if (!r && v == 0)
				r = -EINVAL;
			c->workers_per_fleet = (unsigned)v;
			break;
		case OPT_ACTIVE_JOBS:
			r = parse_u64(optarg, 20000, &v);
			if (!r && v == 0)
				r = -EINVAL;
			c->active_jobs = (unsigned)v;
			break;
		case OPT_FARM_REGION:
			r = parse_farm_region(optarg, c);
			break;
		case OPT_HELP:
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (r < 0) {
			(void)fprintf(stderr, "deadline-cloud-simulator: invalid value for --%s: %s\n",
				option_name(opt), optarg);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		(void)fprintf(stderr, "deadline-cloud-simulator: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	if (!c->tls_cert_file != !c->tls_key_file) {
		(void)fprintf(stderr, "deadline-cloud-simulator: --tls-cert and --tls-key go together\n");
		return -EINVAL;
	}
	c->data.seed = c->seed;
	c->data.new_usage_type = c->new_usage_type;
	return 0;
}

/* The whole of a (small) file as a NUL-terminated string in *out. Returns 0 or -errno (-EFBIG over 1 MiB). */
static int read_file(const char *path, char **out)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n;
	int r = 0;

	if (!f)
		return -errno;
	buf = malloc(1024 * 1024 + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	n = fread(buf, 1, 1024 * 1024 + 1, f);
	if (ferror(f))
		r = -EIO;
	else if (n > 1024 * 1024)
		r = -EFBIG;
	if (r < 0)
		goto out;
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
out:
	free(buf);
	(void)fclose(f);
	return r;
}

/* Writes "PORT\n" to path through a temporary file and rename(), so readers never see half of it. */
static int write_port_file(const char *path, const char *bound)
{
	const char *port = strrchr(bound, ':');
	char tmp[4096];
	FILE *f;
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());

	if (!port || n < 0 || (size_t)n >= sizeof(tmp))
		return -EINVAL;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	if (fprintf(f, "%s\n", port + 1) < 0) {
		(void)fclose(f);
		(void)unlink(tmp);
		return -EIO;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		n = -errno;
		(void)unlink(tmp);
		return n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sim_config config;
	struct sim_world *world = NULL;
	struct sim_state state;
	struct sim_http http = {.daemon = NULL};
	struct sim_http_tls tls = {.cert_pem = NULL};
	char *cert_pem = NULL, *key_pem = NULL;
	FILE *request_log = NULL;
	char bound[BOUND_SIZE];
	sigset_t signals;
	bool state_ready = false;
	int r, sig = 0, status = EXIT_FAILURE;
	double t0;

	r = parse_args(argc, argv, &config);
	if (r != 0)
		return r > 0 ? EXIT_SUCCESS : 2;
	sim_log_set_quiet(config.quiet);
	if (config.data.epoch < 0)
		config.data.epoch = (int64_t)time(NULL);

	/* blocked before any thread starts, so only sigwait() below sees them */
	if (sigemptyset(&signals) != 0 || sigaddset(&signals, SIGINT) != 0 || sigaddset(&signals, SIGTERM) != 0 ||
		pthread_sigmask(SIG_BLOCK, &signals, NULL) != 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		(void)fprintf(stderr, "deadline-cloud-simulator: cannot set up signals\n");
		return EXIT_FAILURE;
	}

	t0 = sim_monotonic();
	r = sim_world_new(&world, &config.data);
	if (r < 0) {
		(void)fprintf(stderr, "deadline-cloud-simulator: cannot build the data: %s\n", strerror(-r));
		goto out;
	}
	sim_log("seed=%llu epoch=%lld jobs=%zu users=%zu sessions=%zu+%zu+%zu built in %.3f s",
		(unsigned long long)config.seed, (long long)world->epoch, world->n_jobs, world->n_users,
		world->farms[0].n_sessions, world->farms[1].n_sessions, world->farms[2].n_sessions,
		sim_monotonic() - t0);
	r = sim_state_init(&state, &config, world);
	if (r < 0) {
		(void)fprintf(stderr, "deadline-cloud-simulator: cannot set up: %s\n", strerror(-r));
		goto out;
	}
	state_ready = true;
	if (config.tls_cert_file) {
		const char *file = config.tls_cert_file;

		r = read_file(file, &cert_pem);
		if (r == 0) {
			file = config.tls_key_file;
			r = read_file(file, &key_pem);
		}
		if (r < 0) {
			(void)fprintf(stderr, "deadline-cloud-simulator: cannot read %s: %s\n", file, strerror(-r));
			goto out;
		}
		tls = (struct sim_http_tls){.cert_pem = cert_pem, .key_pem = key_pem};
	}
	if (config.request_log_file) {
		request_log = fopen(config.request_log_file, "we");
		if (!request_log) {
			(void)fprintf(stderr, "deadline-cloud-simulator: cannot write %s: %s\n",
				config.request_log_file, strerror(errno));
			goto out;
		}
	}
	r = sim_http_start(&http, &state, config.listen, cert_pem ? &tls : NULL, request_log, bound, sizeof(bound));
	if (r < 0) {
		(void)fprintf(
			stderr, "deadline-cloud-simulator: cannot listen on %s: %s\n", config.listen, strerror(-r));
		goto out;
	}
	if (config.port_file) {
		r = write_port_file(config.port_file, bound);
		if (r < 0) {
			(void)fprintf(stderr, "deadline-cloud-simulator: cannot write %s: %s\n", config.port_file,
				strerror(-r));
			goto out;
		}
	}
	if (printf("listening on %s%s\n", cert_pem ? "https://" : "", bound) < 0 || fflush(stdout) != 0) {
		(void)fprintf(stderr, "deadline-cloud-simulator: cannot write to stdout\n");
		goto out;
	}
	if (!config.verify)
		sim_log("SigV4 verification is OFF (--no-verify)");

	for (;;) {
		r = sigwait(&signals, &sig);
		if (r == 0)
			break;
		if (r != EINTR) {
			(void)fprintf(stderr, "deadline-cloud-simulator: sigwait: %s\n", strerror(r));
			goto out;
		}
	}
	sim_log("signal %d: stopping", sig);
	status = EXIT_SUCCESS;
out:
	sim_http_stop(&http);
	if (state_ready)
		sim_state_deinit(&state);
	sim_world_free(world);
	if (request_log)
		(void)fclose(request_log);
	free(cert_pem);
	free(key_pem);
	return status;
}
