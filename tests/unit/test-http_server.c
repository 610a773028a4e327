/* test-http_server: every path, method and status over real HTTP (libcurl), gzip, HEAD, listen addresses */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <zlib.h>

#include "http_server.h"
#include "test.h"

#define FARM_A "farm-0123456789abcdef0123456789abcdef"

struct reply {
	long status;
	char *body;
	size_t body_len;
	char headers[8192];
	size_t headers_len;
};

static size_t body_cb(char *data, size_t size, size_t n, void *cls)
{
	struct reply *r = cls;
	size_t len = size * n;
	char *bigger = realloc(r->body, r->body_len + len + 1);

	if (!bigger)
		return 0;
	r->body = bigger;
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return len;
}

static size_t header_cb(char *data, size_t size, size_t n, void *cls)
{
	struct reply *r = cls;
	size_t len = size * n;

	if (len < sizeof(r->headers) - r->headers_len) {
		memcpy(r->headers + r->headers_len, data, len);
		r->headers_len += len;
		r->headers[r->headers_len] = '\0';
	}
	return len;
}

/* The value of header name in r (case-insensitive name), copied into out; false when absent. */
static bool header_value(const struct reply *r, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);

	for (const char *line = r->headers; line && *line;) {
		const char *end = strstr(line, "\r\n");
		if (!end)
			break;
		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ')
				v++;
			snprintf(out, size, "%.*s", (int)(end - v), v);
			return true;
		}
		line = end + 2;
	}
	return false;
}

enum decode {
	DECODE_NONE,
	DECODE_CURL, /* curl --compressed */
};

/* One request; accept_encoding is sent verbatim when set. */
static int request(unsigned port, const char *method, const char *path, const char *accept_encoding, enum decode decode,
	struct reply *r)
{
	char url[256], header[256];
	struct curl_slist *headers = NULL;
	CURLcode rc = CURLE_OK;
	CURL *curl;

	memset(r, 0, sizeof(*r));
	curl = curl_easy_init();
	if (!curl)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	if (accept_encoding) {
		snprintf(header, sizeof(header), "Accept-Encoding: %s", accept_encoding);
		headers = curl_slist_append(headers, header);
	}
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(curl, CURLOPT_URL, url);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_cb);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_cb);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
	if (rc == CURLE_OK && headers)
		rc = curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	if (rc == CURLE_OK && decode == DECODE_CURL)
		rc = curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	if (rc == CURLE_OK && strcmp(method, "HEAD") == 0)
		rc = curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else if (rc == CURLE_OK && strcmp(method, "GET") != 0)
		rc = curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (rc == CURLE_OK && strcmp(method, "POST") == 0)
		rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "x=1");
	if (rc == CURLE_OK)
		rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		rc = curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (rc != CURLE_OK)
		fprintf(stderr, "%s %s: %s\n", method, path, curl_easy_strerror(rc));
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return rc == CURLE_OK ? 0 : -1;
}

static void reply_free(struct reply *r)
{
	free(r->body);
	r->body = NULL;
}

static char *gunzip(const char *data, size_t len, size_t *out_len)
{
	z_stream zs;
	size_t cap = len * 10 + 4096, used = 0;
	char *out = malloc(cap + 1);
	int zr = Z_OK;

	if (!out)
		return NULL;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
		free(out);
		return NULL;
	}
	zs.next_in = (Bytef *)(uintptr_t)data;
	zs.avail_in = (uInt)len;
	while (zr == Z_OK) {
		if (used == cap) {
			char *bigger = realloc(out, cap * 2 + 1);
			if (!bigger)
				break;
			out = bigger;
			cap *= 2;
		}
		zs.next_out = (Bytef *)out + used;
		zs.avail_out = (uInt)(cap - used);
		zr = inflate(&zs, Z_NO_FLUSH);
		used = cap - zs.avail_out;
	}
	inflateEnd(&zs);
	if (zr != Z_STREAM_END || zs.avail_in != 0) {
		free(out);
		return NULL;
	}
	out[used] = '\0';
	*out_len = used;
	return out;
}

/* The plain text the store would serve now. */
static char *store_text(struct metrics_store *s)
{
	struct metrics_scrape sc;
	char *text;
	size_t at = 0;

	if (metrics_store_scrape(s, false, &sc) != 0)
		return NULL;
	text = malloc(sc.total_len + 1);
	for (unsigned i = 0; text && i < sc.n_iov; i++) {
		memcpy(text + at, sc.iov[i].iov_base, sc.iov[i].iov_len);
		at += sc.iov[i].iov_len;
	}
	if (text)
		text[at] = '\0';
	metrics_scrape_release(&sc);
	return text;
}

static struct report_config report;
static struct farm_config farm;
static struct config cfg;

static void config_setup(void)
{
	report.name = (char *)"month_to_date";
	report.group_by[0] = GROUP_QUEUE_ID;
	report.group_by[1] = GROUP_USAGE_TYPE;
	report.n_group_by = 2;
	report.statistics = STAT_ALL;
	report.interval_seconds = 300;
	farm.id = (char *)FARM_A;
	cfg.farms = &farm;
	cfg.n_farms = 1;
	cfg.reports = &report;
	cfg.n_reports = 1;
}

/* n_groups groups whose figures all equal gen: a scrape mixing two publishes would show two values. */
static int publish_generation(struct metrics_store *s, int gen, int n_groups)
{
	enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_USAGE_TYPE};
	struct usage_table *t;
	int r;

	r = usage_table_new(&t, gb, 2);
	if (r < 0)
		return r;
	for (int i = 0; i < n_groups && r == 0; i++) {
		struct usage_row row;
		char q[64];
		memset(&row, 0, sizeof(row));
		snprintf(q, sizeof(q), "queue-%032x", i);
		row.fields[GROUP_QUEUE_ID] = q;
		row.fields[GROUP_USAGE_TYPE] = (char *)(i % 2 ? "COMPUTE" : "LICENSE");
		row.count = gen;
		row.cost.present = row.runtime.present = STAT_ALL;
		row.cost.sum = row.cost.min = row.cost.max = row.cost.avg = gen;
		row.runtime.sum = row.runtime.min = row.runtime.max = row.runtime.avg = gen;
		r = usage_table_add(t, &row);
	}
	if (r == 0)
		r = metrics_store_publish(s, FARM_A, &report, t, 1764115200 + gen, 0.5);
	usage_table_free(t);
	return r;
}

static void test_accepts_gzip(void)
{
	static const struct {
		const char *header;
		bool gzip;
	} cases[] = {
		{NULL, false},
		{"", false},
		{"gzip", true},
		{"GZip", true},
		{"x-gzip", true},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"gzip;q=0.001", true},
		{"gzip;q=1", true},
		{"gzip;q=1.000", true},
		{"gzip;Q=0.5", true},
		{"gzip;q=1.5", false}, /* malformed: ignored */
		{"gzip;q=abc", false},
		{"deflate, gzip;q=0.8, br", true},
		{"deflate, br", false},
		{"identity", false},
		{"*", true},
		{"*;q=0", false},
		{"*;q=0.1, gzip;q=0", false},
		{"gzip;q=0, *", false},
		{"gzip ; q=0.5 ; level=9", true},
		{"gzip;level=9;q=0", false},
		{" , ,gzip", true},
		{"gzipx", false},
		{"gzip;q=0, gzip", true}, /* named twice: the better q */
		{"compress, identity;q=0.5", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_MSG(http_accepts_gzip(cases[i].header) == cases[i].gzip, "Accept-Encoding: %s",
			cases[i].header ? cases[i].header : "(none)");
}

static void test_listen_addresses(void)
{
	static const char *const bad[] = {
		"",
		"nope",
		"127.0.0.1",
		"127.0.0.1:",
		"127.0.0.1:70000",
		"127.0.0.1:abc",
		"127.0.0.1:-1",
		"::1:80",
		"[::1:80",
		"[::1]",
		"[::1]80",
		"[]:80",
		"127.0.0.1:123456",
		"no-such-host.invalid:80",
	};
	struct metrics_store *s = NULL;
	struct http_server *a = NULL, *b = NULL;
	char err[256];
	int r;

	CHECK_INT(metrics_store_new(&s, "t"), 0);
	if (!s)
		return;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		r = http_server_new(&b, bad[i], s, err, sizeof(err));
		CHECK_MSG(r == -EINVAL, "\"%s\" gave %d", bad[i], r);
		CHECK_MSG(err[0] != '\0', "no message for \"%s\"", bad[i]);
	}
	CHECK_INT(http_server_new(&b, NULL, s, err, sizeof(err)), -EINVAL);

	/* The same port twice: -EADDRINUSE and a message naming the address. */
	CHECK_INT(http_server_new(&a, "127.0.0.1:0", s, err, sizeof(err)), 0);
	if (a) {
		char addr[64];
		snprintf(addr, sizeof(addr), "127.0.0.1:%u", http_server_port(a));
		CHECK(http_server_port(a) != 0);
		r = http_server_new(&b, addr, s, err, sizeof(err));
		CHECK_INT(r, -EADDRINUSE);
		CHECK_MSG(strstr(err, "bind") && strstr(err, addr), "message: %s", err);
		http_server_free(a);
		a = NULL;
		/* Freed: the port is free again at once. */
		CHECK_INT(http_server_new(&a, addr, s, err, sizeof(err)), 0);
		http_server_free(a);
		a = NULL;
	}

	CHECK_INT(http_server_new(&a, ":0", s, err, sizeof(err)), 0);
	CHECK(a && http_server_port(a) != 0);
	http_server_free(a);
	a = NULL;
	CHECK_INT(http_server_new(&a, "localhost:0", s, err, sizeof(err)), 0);
	http_server_free(a);
	a = NULL;

	/* IPv6, when the host has it: "[::]" is IPv6 only, so IPv4 can still bind the same port. */
	r = http_server_new(&a, "[::]:0", s, err, sizeof(err));
	if (r == 0) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sin;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)http_server_port(a));
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		CHECK(fd >= 0);
		CHECK_MSG(
			fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0, "v4 bind: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		http_server_free(a);
		a = NULL;
		CHECK_INT(http_server_new(&a, "[::1]:0", s, err, sizeof(err)), 0);
		http_server_free(a);
		a = NULL;
	} else {
		fprintf(stderr, "note: no IPv6 here (%s), IPv6 listening not checked\n", err);
	}
	http_server_free(NULL);
	CHECK_INT(http_server_port(NULL), 0);
	metrics_store_free(s);
}

/* Scrapers keep their connection between scrapes: two requests on one handle use one connection. */
static void test_keep_alive(unsigned port)
{
	char url[128];
	long connects = -1;
	struct reply r;
	CURL *curl = curl_easy_init();
	CURLcode rc = curl ? CURLE_OK : CURLE_FAILED_INIT;

	memset(&r, 0, sizeof(r));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", port);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(curl, CURLOPT_URL, url);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_cb);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		rc = curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
	CHECK_MSG(rc == CURLE_OK, "%s", curl_easy_strerror(rc));
	CHECK_INT(connects, 0); /* the second transfer needed no new connection */
	reply_free(&r);
	curl_easy_cleanup(curl);
}

static void test_paths(struct metrics_store *s, unsigned port)
{
	struct reply r;
	char v[256];

	/* Not ready before the first refresh attempt. */
	CHECK_INT(request(port, "GET", "/-/ready", NULL, DECODE_NONE, &r), 0);
	CHECK_INT(r.status, 503);
	reply_free(&r);

	CHECK_INT(request(port, "GET", "/-/healthy", NULL, DECODE_NONE, &r), 0);
	CHECK_INT(r.status, 200);
	CHECK_STR(r.body, "OK");
	CHECK(header_value(&r, "Content-Type", v, sizeof(v)) && strcmp(v, "text/plain; charset=utf-8") == 0);
	reply_free(&r);

	CHECK_INT(publish_generation(s, 1, 10), 0);
	CHECK_INT(request(port, "GET", "/-/ready", NULL, DECODE_NONE, &r), 0);
	CHECK_INT(r.status, 200);
	CHECK_STR(r.body, "OK");
	reply_free(&r);
	CHECK_INT(request(port, "HEAD", "/-/ready", NULL, DECODE_NONE, &r), 0);
	CHECK_INT(r.status, 200);
	CHECK(r.body_len == 0);
	reply_free(&r);

	CHECK_INT(request(port, "GET", "/", NULL, DECODE_NONE, &r), 0);
	CHECK_INT(r.status, 200);
	CHECK(r.body && strstr(r.body, "<a href=\"/metrics\">"));
	CHECK(header_value(&r, "Content-Type", v, sizeof(v)) && strcmp(v, "text/html; charset=utf-8") == 0);
	reply_free(&r);

	static const char *const missing[] = {"/nope", "/metrics/", "/metricsx", "/-/", "/-/healthyx", "//metrics"};
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		CHECK_INT(request(port, "GET", missing[i], NULL, DECODE_NONE, &r), 0);
		CHECK_MSG(r.status == 404, "GET %s: %ld", missing[i], r.status);
		reply_free(&r);
	}

	static const struct {
		const char *method, *path;
	} not_allowed[] = {
		{"POST", "/metrics"},
		{"PUT", "/"},
		{"DELETE", "/-/ready"},
		{"OPTIONS", "/metrics"},
		{"PATCH", "/nope"},
	};
	for (size_t i = 0; i < sizeof(not_allowed) / sizeof(not_allowed[0]); i++) {
		CHECK_INT(request(port, not_allowed[i].method, not_allowed[i].path, NULL, DECODE_NONE, &r), 0);
		CHECK_MSG(r.status == 405, "%s %s: %ld", not_allowed[i].method, not_allowed[i].path, r.status);
		CHECK(header_value(&r, "Allow", v, sizeof(v)) && strcmp(v, "GET, HEAD") == 0);
		reply_free(&r);
	}
	/* Query strings do not change the path. */
	CHECK_INT(request(port, "GET", "/-/healthy?x=1", NULL, DECODE_NONE, &r), 0);
	CHECK_INT(r.status, 200);
	reply_free(&r);
}

static void test_metrics(struct metrics_store *s, unsigned port)
{
	struct reply plain, gz, head, curl_gz, refused;
	char v[256], *expected, *unzipped;
	size_t unzipped_len = 0;

	CHECK_INT(request(port, "GET", "/metrics", NULL, DECODE_NONE, &plain), 0);
	expected = store_text(s);
	CHECK_INT(plain.status, 200);
	CHECK(plain.body && expected && strcmp(plain.body, expected) == 0);
	CHECK(plain.body && strstr(plain.body, "deadline_cloud_usage_sessions{farm_id=\"" FARM_A "\""));
	CHECK(header_value(&plain, "Content-Type", v, sizeof(v)) &&
		strcmp(v, "text/plain; version=0.0.4; charset=utf-8") == 0);
	CHECK(header_value(&plain, "Vary", v, sizeof(v)) && strcmp(v, "Accept-Encoding") == 0);
	CHECK(!header_value(&plain, "Content-Encoding", v, sizeof(v)));

	/* gzip on the wire, decoded here with zlib. */
	CHECK_INT(request(port, "GET", "/metrics", "gzip", DECODE_NONE, &gz), 0);
	CHECK_INT(gz.status, 200);
	CHECK(header_value(&gz, "Content-Encoding", v, sizeof(v)) && strcmp(v, "gzip") == 0);
	CHECK(header_value(&gz, "Vary", v, sizeof(v)) && strcmp(v, "Accept-Encoding") == 0);
	CHECK(header_value(&gz, "Content-Type", v, sizeof(v)) &&
		strcmp(v, "text/plain; version=0.0.4; charset=utf-8") == 0);
	CHECK(gz.body_len > 18 && (unsigned char)gz.body[0] == 0x1f && (unsigned char)gz.body[1] == 0x8b);
	unzipped = gz.body ? gunzip(gz.body, gz.body_len, &unzipped_len) : NULL;
	CHECK(unzipped && plain.body && unzipped_len == plain.body_len && strcmp(unzipped, plain.body) == 0);
	free(unzipped);

	/* And decoded by curl itself, as `curl --compressed` does. */
	CHECK_INT(request(port, "GET", "/metrics", NULL, DECODE_CURL, &curl_gz), 0);
	CHECK(header_value(&curl_gz, "Content-Encoding", v, sizeof(v)) && strcmp(v, "gzip") == 0);
	CHECK(curl_gz.body && plain.body && strcmp(curl_gz.body, plain.body) == 0);

	CHECK_INT(request(port, "GET", "/metrics", "gzip;q=0, deflate", DECODE_NONE, &refused), 0);
	CHECK(!header_value(&refused, "Content-Encoding", v, sizeof(v)));
	CHECK(refused.body && plain.body && strcmp(refused.body, plain.body) == 0);

	/* HEAD: the same headers and length, no body. */
	CHECK_INT(request(port, "HEAD", "/metrics", NULL, DECODE_NONE, &head), 0);
	CHECK_INT(head.status, 200);
	CHECK_INT(head.body_len, 0);
	CHECK(header_value(&head, "Content-Length", v, sizeof(v)) && strtoul(v, NULL, 10) == plain.body_len);
	CHECK(header_value(&head, "Content-Type", v, sizeof(v)) &&
		strcmp(v, "text/plain; version=0.0.4; charset=utf-8") == 0);

	free(expected);
	reply_free(&plain);
	reply_free(&gz);
	reply_free(&curl_gz);
	reply_free(&refused);
	reply_free(&head);
}

struct publisher {
	struct metrics_store *store;
	atomic_bool stop;
	int published, failed;
};

static void *publisher_run(void *cls)
{
	struct publisher *p = cls;

	/* A short pause between publishes leaves the CPU to the server: overlap, not starvation, is the point. */
	const struct timespec pause = {0, 500 * 1000};
	for (int gen = 2; !atomic_load(&p->stop) && gen < 100000; gen++) {
		if (publish_generation(p->store, gen, 200) != 0)
			p->failed++;
		else
			p->published++;
		nanosleep(&pause, NULL);
	}
	return NULL;
}

/* Every sample of the usage families must come from one publish: all 200 groups, one value (avg: gen/gen). */
static bool scrape_consistent(const char *text)
{
	const char *p = text;
	long value = -1;
	int sessions = 0;

	/* Line by line: sanitizers make strstr over the whole text cost a strlen per call. */
	while (*p) {
		const char *end = strchr(p, '\n');
		if (!end)
			return false;
		if (strncmp(p, "deadline_cloud_usage_", 21) == 0) {
			const char *sp = memchr(p, '}', (size_t)(end - p));
			if (!sp || sp[1] != ' ')
				return false;
			long v = strtol(sp + 2, NULL, 10);
			if (sp - p > 15 && strncmp(sp - 15, "statistic=\"avg\"", 15) == 0) {
				if (v != 1)
					return false;
			} else if (value < 0) {
				value = v;
			} else if (v != value) {
				return false;
			}
			if (strncmp(p, "deadline_cloud_usage_sessions{", 30) == 0)
				sessions++;
		}
		p = end + 1;
	}
	return sessions == 200;
}

static void test_scrape_during_publish(struct metrics_store *s, unsigned port)
{
	struct publisher p = {.store = s};
	pthread_t thread;
	int inconsistent = 0, scrapes = 0;

	CHECK_INT(publish_generation(s, 1, 200), 0);
	atomic_init(&p.stop, false);
	CHECK_INT(pthread_create(&thread, NULL, publisher_run, &p), 0);
	for (int i = 0; i < 200; i++) {
		struct reply r;
		if (request(port, "GET", "/metrics", NULL, i % 2 ? DECODE_CURL : DECODE_NONE, &r) != 0 ||
			r.status != 200 || !r.body || !scrape_consistent(r.body))
			inconsistent++;
		scrapes++;
		reply_free(&r);
	}
	atomic_store(&p.stop, true);
	CHECK_INT(pthread_join(thread, NULL), 0);
	CHECK_INT(inconsistent, 0);
	CHECK_INT(p.failed, 0);
	fprintf(stderr, "%d scrapes during %d publishes\n", scrapes, p.published);
	CHECK(p.published > 1);
}

int main(void)
{
	struct metrics_store *s = NULL;
	struct http_server *srv = NULL;
	char err[256] = "";

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "curl_global_init failed\n");
		return 1;
	}
	config_setup();
	test_accepts_gzip();
	test_listen_addresses();

	CHECK_INT(metrics_store_new(&s, "9.9.9"), 0);
	CHECK_INT(metrics_store_set_reports(s, &cfg), 0);
	CHECK_MSG(http_server_new(&srv, "127.0.0.1:0", s, err, sizeof(err)) == 0, "%s", err);
	if (s && srv) {
		unsigned port = http_server_port(srv);
		CHECK(port != 0);
		test_paths(s, port);
		test_metrics(s, port);
		test_keep_alive(port);
		test_scrape_during_publish(s, port);
	}
	http_server_free(srv);
	metrics_store_free(s);
	curl_global_cleanup();
	TEST_DONE();
}
