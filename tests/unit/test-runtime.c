/* test-runtime: start, reload (a failed prepare changes nothing; reloads one at a time; over HTTP), stop */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "runtime/runtime.h"
#include "util/log.h"
#include "test.h"

extern char **environ;

#define FARM "farm-0000000000000000000000000000000a"
/* bcrypt (cost 10) of "secret", as in test_reload.py */
#define HASH "$2y$10$7a4GFREy8eOFdSSZ99rxIOK7E/Wv.BrFv4Y0oNUZlSh7u9zRzQiOy"
/* Nothing listens there: the farm threads' requests are refused on loopback, never sent away. */
#define NOWHERE "http://127.0.0.1:1"

static char dir[] = "/tmp/test-runtime-XXXXXX";
static char config_path[sizeof(dir) + 32];
static char notify_path[sizeof(dir) + 32];
static int notify_fd = -1;

/* A loopback port that was free a moment ago. */
static unsigned free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* What the configuration file says; NULL or 0 fields take the defaults. */
struct conf {
	unsigned port;
	const char *report; /* the report's name, default "cost" */
	const char *web; /* more settings inside web = { } (the address and enable_lifecycle are there) */
	const char *aws; /* the aws group's body, default region us-west-2 and endpoint_url NOWHERE */
	const char *farm; /* the farm's body, default FARM with every queue and fleet */
	const char *extra; /* at the end */
};

/* The configuration file: one farm, one report, no inventory, POST /-/reload on. */
static void config_write(const struct conf *c)
{
	FILE *f = fopen(config_path, "w");

	CHECK(f != NULL);
	if (!f)
		return;
	fprintf(f,
		"web = { listen = \"127.0.0.1:%u\"; enable_lifecycle = true; %s };\n"
		"aws = { %s };\n"
		"farms = ( { %s } );\n"
		"reports = ( { name = \"%s\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; interval = \"1h\"; } "
		");\n"
		"inventory = { enabled = false; };\n%s",
		c->port, c->web ? c->web : "",
		c->aws ? c->aws : "region = \"us-west-2\"; endpoint_url = \"" NOWHERE "\";",
		c->farm ? c->farm : "id = \"" FARM "\"; queues = \"all\"; fleets = \"all\";",
		c->report ? c->report : "cost", c->extra ? c->extra : "");
	CHECK(fclose(f) == 0);
}

struct reply {
	long status;
	char body[4096];
	size_t len;
};

static size_t body_cb(char *data, size_t size, size_t n, void *cls)
{
	struct reply *r = cls;
	size_t take = size * n;

	if (take > sizeof(r->body) - 1 - r->len)
		take = sizeof(r->body) - 1 - r->len;
	memcpy(r->body + r->len, data, take);
	r->len += take;
	r->body[r->len] = '\0';
	return size * n;
}

/* One request to 127.0.0.1:port; the status, or -1 when no answer came (refused, cut). */
static long request(unsigned port, const char *method, const char *path, struct reply *r)
{
	char url[128];
	CURLcode rc = CURLE_OK;
	CURL *curl = curl_easy_init();

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (!curl)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(curl, CURLOPT_URL, url);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_cb);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
	if (rc == CURLE_OK && strcmp(method, "POST") == 0)
		rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
	if (rc == CURLE_OK)
		rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		rc = curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (rc != CURLE_OK)
		r->status = -1;
	curl_easy_cleanup(curl);
	return r->status;
}

/*
 * The sd_notify datagrams, RELOADING and READY only, as a string of 'R' and 'Y'. A datagram socket's queue is
 * short and a sender waits when it is full (as systemd reads at once, the exporter does not mind): a thread
 * keeps reading it.
 */
static struct {
	pthread_mutex_t lock;
	pthread_t thread;
	bool stop;
	char seen[512];
	size_t used;
} notified = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Reads what is queued; the caller holds notified.lock. */
static void notify_read_locked(void)
{
	char msg[512];
	ssize_t n;

	while ((n = recv(notify_fd, msg, sizeof(msg) - 1, MSG_DONTWAIT)) >= 0) {
		msg[n] = '\0';
		if (notified.used + 1 >= sizeof(notified.seen))
			continue;
		if (strncmp(msg, "RELOADING=1", 11) == 0)
			notified.seen[notified.used++] = 'R';
		else if (strcmp(msg, "READY=1") == 0)
			notified.seen[notified.used++] = 'Y';
	}
	notified.seen[notified.used] = '\0';
}

static void *notify_reader(void *cls)
{
	struct timespec tick = {0, 1000000};

	for (;;) {
		pthread_mutex_lock(&notified.lock);
		if (notified.stop) {
			pthread_mutex_unlock(&notified.lock);
			return cls;
		}
		notify_read_locked();
		pthread_mutex_unlock(&notified.lock);
		nanosleep(&tick, NULL);
	}
}

/* What was notified since the last call: every datagram sent before this call is in. */
static void notify_drain(char *out, size_t size)
{
	pthread_mutex_lock(&notified.lock);
	notify_read_locked();
	snprintf(out, size, "%s", notified.seen);
	notified.used = 0;
	notified.seen[0] = '\0';
	pthread_mutex_unlock(&notified.lock);
}

/* What a scrape says of the reports: whether report_up{report="name"} is there. */
static bool serves_report(unsigned port, const char *name)
{
	struct reply r;
	char needle[128];

	snprintf(needle, sizeof(needle), "report=\"%s\"", name);
	return request(port, "GET", "/metrics", &r) == 200 && strstr(r.body, needle) != NULL;
}

static struct runtime *start(unsigned port)
{
	const struct runtime_options opts = {.config_path = config_path};
	struct config *cfg = NULL;
	struct runtime *rt = NULL;

	config_write(&(struct conf){.port = port});
	CHECK_INT(runtime_plan_load(&cfg, config_path, NULL, NULL, 0), 0);
	if (cfg)
		CHECK_INT(runtime_start(&rt, cfg, &opts), 0);
	return rt;
}

/*
 * A reload whose prepare fails at any step changes nothing: each new file renames the report and adds a basic
 * auth user on the same address (applied in place by the web step, which must come last), then fails.
 */
static void test_prepare_fails(void)
{
	static const struct {
		const char *name, *env, *value; /* an environment variable set for the reload */
		const char *aws, *farm, *extra; /* NULL: as running */
		const char *reason; /* in the reasons */
	} cases[] = {
		{"the identity store's endpoint is unusable", "AWS_ENDPOINT_URL_IDENTITYSTORE", "not-a-url", NULL, NULL,
			"identity_store = { id = \"d-0123456789\"; };\n", "identity store"},
		/* The partition aws-iso has no dual-stack endpoints: the farm's cannot be resolved. */
		{"a farm's region has no endpoint", "AWS_USE_DUALSTACK_ENDPOINT", "true", "region = \"us-west-2\";",
			"id = \"" FARM "\"; region = \"us-iso-east-1\";", NULL, "poller"},
		{"the file has errors", NULL, NULL, NULL, NULL, "oops\n", "exporter.conf:"},
		{"no region", NULL, NULL, "endpoint_url = \"" NOWHERE "\";", NULL, NULL, "no AWS region"},
	};
	unsigned port = free_port();
	struct runtime *rt = start(port);
	char why[1024], seen[sizeof(notified.seen)];
	struct reply r;

	if (!rt)
		return;
	CHECK(serves_report(port, "cost"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_write(&(struct conf){.port = port,
			.report = "renamed",
			.web = "basic_auth_users = ( { user = \"prometheus\"; password_hash = \"" HASH "\"; } );",
			.aws = cases[i].aws,
			.farm = cases[i].farm,
			.extra = cases[i].extra});
		if (cases[i].env)
			setenv(cases[i].env, cases[i].value, 1);
		notify_drain(seen, sizeof(seen));
		CHECK_INT(runtime_reload(rt, RUNTIME_FROM_SIGNAL, why, sizeof(why)), RUNTIME_REJECTED);
		if (cases[i].env)
			unsetenv(cases[i].env);
		CHECK_MSG(strstr(why, cases[i].reason) != NULL, "%s: %s", cases[i].name, why);
		notify_drain(seen, sizeof(seen));
		CHECK_MSG(strcmp(seen, "RY") == 0, "%s: RELOADING then READY, got %s", cases[i].name, seen);
		CHECK_INT(runtime_port(rt), port);
		CHECK_MSG(request(port, "GET", "/metrics", &r) == 200, "%s: no basic auth yet (%ld)", cases[i].name,
			r.status);
		CHECK_MSG(serves_report(port, "cost") && !serves_report(port, "renamed"), "%s: the report stays",
			cases[i].name);
	}
	runtime_free(rt);
}

/* An address in use: rejected over HTTP with the reason in the answer, and the old address serves on. */
static void test_address_in_use(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	unsigned port = free_port(), taken;
	struct runtime *rt = start(port);
	int busy = socket(AF_INET, SOCK_STREAM, 0);
	struct reply r;

	CHECK(busy >= 0 && bind(busy, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(busy, 1) == 0 &&
		getsockname(busy, (struct sockaddr *)&a, &len) == 0);
	taken = ntohs(a.sin_port);
	if (rt) {
		config_write(&(struct conf){.port = taken, .report = "renamed"});
		CHECK_INT(request(port, "POST", "/-/reload", &r), 400);
		CHECK_MSG(strstr(r.body, "in use") != NULL, "%s", r.body);
		CHECK(serves_report(port, "cost"));
	}
	close(busy);
	runtime_free(rt);
}

struct asker {
	unsigned port;
	int times;
	int applied; /* answers 200 */
};

static void *ask_reloads(void *cls)
{
	struct asker *a = cls;
	struct reply r;

	for (int i = 0; i < a->times; i++)
		if (request(a->port, "POST", "/-/reload", &r) == 200)
			a->applied++;
	return NULL;
}

/* POST /-/reload from several clients and SIGHUP at once: every reload runs whole, one after the other. */
static void test_one_at_a_time(void)
{
	enum { ASKERS = 4, TIMES = 4 };
	unsigned port = free_port();
	struct runtime *rt = start(port);
	struct asker askers[ASKERS];
	pthread_t threads[ASKERS];
	char why[1024], seen[sizeof(notified.seen)], expected[sizeof(notified.seen)] = "";
	int signals = 0;

	if (!rt)
		return;
	notify_drain(seen, sizeof(seen));
	for (int i = 0; i < ASKERS; i++) {
		askers[i] = (struct asker){port, TIMES, 0};
		CHECK(pthread_create(&threads[i], NULL, ask_reloads, &askers[i]) == 0);
	}
	for (int i = 0; i < TIMES; i++) {
		signals += runtime_reload(rt, RUNTIME_FROM_SIGNAL, why, sizeof(why)) == RUNTIME_OK;
		runtime_idle(rt);
	}
	for (int i = 0; i < ASKERS; i++) {
		pthread_join(threads[i], NULL);
		CHECK_INT(askers[i].applied, TIMES);
	}
	CHECK_INT(signals, TIMES);
	notify_drain(seen, sizeof(seen));
	for (int i = 0; i < (ASKERS + 1) * TIMES; i++)
		strcat(expected, "RY");
	CHECK_STR(seen, expected);
	runtime_free(rt);
}

struct moved {
	unsigned port;
	long status;
};

static void *ask_move(void *cls)
{
	struct moved *m = cls;
	struct reply r;

	m->status = request(m->port, "POST", "/-/reload", &r);
	return NULL;
}

/*
 * POST /-/reload moving to another address: the answer comes back over the old one although the main loop keeps
 * freeing retired servers meanwhile; the old server goes once its grace is over.
 */
static void test_move_over_http(void)
{
	unsigned port = free_port(), next = free_port();
	struct runtime *rt = start(port);
	struct moved m = {port, 0};
	struct timespec tick = {0, 1000000};
	pthread_t thread;
	struct reply r;

	if (!rt)
		return;
	config_write(&(struct conf){.port = next});
	CHECK(pthread_create(&thread, NULL, ask_move, &m) == 0);
	/* The main loop waking up over and over (a burst of signals): retired servers must not go too soon. */
	while (runtime_port(rt) == port) {
		runtime_idle(rt);
		nanosleep(&tick, NULL);
	}
	for (int i = 0; i < 200; i++) {
		runtime_idle(rt);
		nanosleep(&tick, NULL);
	}
	pthread_join(thread, NULL);
	CHECK_INT(m.status, 200);
	CHECK_INT(runtime_port(rt), next);
	CHECK(serves_report(next, "cost"));
	CHECK_INT(request(port, "GET", "/-/healthy", &r), 200); /* retired, not yet freed */
	sleep((unsigned)RUNTIME_RETIRE_GRACE_S + 1);
	runtime_idle(rt);
	CHECK_INT(request(port, "GET", "/-/healthy", &r), -1);
	runtime_free(rt);
}

/* Once stopping, a reload asked (over HTTP or not) is refused and changes nothing. */
static void test_stopping(void)
{
	unsigned port = free_port();
	struct runtime *rt = start(port);
	char why[1024];
	struct reply r;

	if (!rt)
		return;
	config_write(&(struct conf){.port = port, .report = "renamed"});
	runtime_stop(rt);
	CHECK_INT(runtime_reload(rt, RUNTIME_FROM_SIGNAL, why, sizeof(why)), -ECANCELED);
	CHECK_INT(request(port, "POST", "/-/reload", &r), 500);
	CHECK(serves_report(port, "cost") && !serves_report(port, "renamed"));
	runtime_free(rt);
}

/* What the web server gives each request's thread (THREAD_STACK_SIZE in daemon/web/http_server.c). */
#define REQUEST_STACK (512u * 1024u)
#define STACK_PAINT 0xa5

struct stack_reload {
	struct runtime *rt;
	int result;
};

static void *reload_on_stack(void *cls)
{
	struct stack_reload *s = cls;
	char why[1024];

	s->result = runtime_reload(s->rt, RUNTIME_FROM_HTTP, why, sizeof(why));
	return NULL;
}

/*
 * POST /-/reload runs the whole reload on a request's thread: the heaviest one (a new TLS listener, an identity
 * store, a farm of its own region) must fit its stack with room to spare. Measured on a painted stack of that
 * size, with a guard page below it.
 */
static void test_stack_depth(void)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned port = free_port();
	struct runtime *rt = start(port);
	struct stack_reload s = {rt, -1};
	unsigned char *map, *stack;
	pthread_attr_t attr;
	pthread_t thread;
	size_t used = 0;

	if (!rt)
		return;
	config_write(&(struct conf){.port = free_port(),
		.web = "tls_cert_file = \"" TEST_DATA_DIR "/web/server.pem\"; tls_key_file = \"" TEST_DATA_DIR
		       "/web/server-key.pem\";",
		.farm = "id = \"" FARM "\"; region = \"eu-west-1\";",
		.extra = "identity_store = { id = \"d-0123456789\"; endpoint_url = \"" NOWHERE "\"; };\n"});
	map = mmap(NULL, REQUEST_STACK + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(map != MAP_FAILED);
	if (map == MAP_FAILED) {
		runtime_free(rt);
		return;
	}
	CHECK(mprotect(map, page, PROT_NONE) == 0);
	stack = map + page;
	memset(stack, STACK_PAINT, REQUEST_STACK);
	CHECK(pthread_attr_init(&attr) == 0);
	CHECK(pthread_attr_setstack(&attr, stack, REQUEST_STACK) == 0);
	CHECK(pthread_create(&thread, &attr, reload_on_stack, &s) == 0);
	pthread_join(thread, NULL);
	pthread_attr_destroy(&attr);
	CHECK_INT(s.result, RUNTIME_OK);
	while (used < REQUEST_STACK && stack[REQUEST_STACK - used - 1] != STACK_PAINT)
		used++;
	for (size_t i = 0; i < REQUEST_STACK - used; i++)
		if (stack[i] != STACK_PAINT) {
			used = REQUEST_STACK - i;
			break;
		}
	fprintf(stderr, "a reload used %zu KiB of a request thread's %u KiB stack\n", used / 1024,
		REQUEST_STACK / 1024);
	CHECK_MSG(used < REQUEST_STACK / 4, "%zu bytes", used);
	munmap(map, REQUEST_STACK + page);
	runtime_free(rt);
}

/* Start-up: no region is the configuration's fault (exit status 1), an address in use the machine's (2). */
static void test_start_refused(void)
{
	const struct runtime_options opts = {.config_path = config_path};
	struct runtime *rt = NULL;
	struct config *cfg = NULL;
	int busy = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	config_write(&(struct conf){.port = free_port(), .aws = "endpoint_url = \"" NOWHERE "\";"});
	CHECK_INT(runtime_plan_load(&cfg, config_path, NULL, NULL, 0), 0);
	CHECK_INT(runtime_start(&rt, cfg, &opts), RUNTIME_BAD_CONFIG);
	CHECK(rt == NULL);
	CHECK(busy >= 0 && bind(busy, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(busy, 1) == 0 &&
		getsockname(busy, (struct sockaddr *)&a, &len) == 0);
	config_write(&(struct conf){.port = ntohs(a.sin_port)});
	CHECK_INT(runtime_plan_load(&cfg, config_path, NULL, NULL, 0), 0);
	CHECK_INT(runtime_start(&rt, cfg, &opts), -EADDRINUSE);
	CHECK(rt == NULL);
	close(busy);
}

/* Nothing from this machine's AWS setup; the credentials are static keys; sd_notify to a socket of ours. */
static void environment_setup(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char name[256];

	for (size_t i = 0; environ[i];) {
		const char *eq = strchr(environ[i], '=');
		if (strncmp(environ[i], "AWS_", 4) == 0 && eq && (size_t)(eq - environ[i]) < sizeof(name)) {
			snprintf(name, sizeof(name), "%.*s", (int)(eq - environ[i]), environ[i]);
			unsetenv(name);
			continue;
		}
		i++;
	}
	snprintf(name, sizeof(name), "%s/none", dir);
	setenv("AWS_CONFIG_FILE", name, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", name, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key", 1);
	unsetenv("WATCHDOG_USEC");
	snprintf(notify_path, sizeof(notify_path), "%s/notify", dir);
	memcpy(addr.sun_path, notify_path, strlen(notify_path) + 1);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(notify_fd >= 0 && bind(notify_fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	setenv("NOTIFY_SOCKET", notify_path, 1);
	CHECK(pthread_create(&notified.thread, NULL, notify_reader, NULL) == 0);
}

int main(void)
{
	char path[sizeof(dir) + 32];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(config_path, sizeof(config_path), "%s/exporter.conf", dir);
	environment_setup();
	/* The farm threads' failed refreshes are expected: only errors are shown. */
	log_init(LOG_LEVEL_ERROR);
	CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);

	test_prepare_fails();
	test_address_in_use();
	test_one_at_a_time();
	test_move_over_http();
	test_stopping();
	test_stack_depth();
	test_start_refused();

	curl_global_cleanup();
	pthread_mutex_lock(&notified.lock);
	notified.stop = true;
	pthread_mutex_unlock(&notified.lock);
	pthread_join(notified.thread, NULL);
	close(notify_fd);
	unlink(notify_path);
	unlink(config_path);
	snprintf(path, sizeof(path), "%s/none", dir);
	unlink(path);
	rmdir(dir);
	TEST_DONE();
}
