/*
 * test-http_server: every path, method and status over real HTTP (libcurl), gzip, HEAD, listen addresses;
 * TLS (the test CA in tests/data/web), basic authentication, reload, and the connection limit under slow clients
 */
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
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <zlib.h>

#include "web/http_server.h"
#include "test.h"

#define FARM_A "farm-0123456789abcdef0123456789abcdef"
#define WEB_DATA TEST_DATA_DIR "/web/"
/* bcrypt (cost 6) of "secret" and of "hunter2" */
#define HASH_SECRET "$2y$06$lpSB3KllYjBNEoh4Eyh.tuU4/tzUnPsgNIdHuDjq9RUbVP9GVQRVC"
#define HASH_HUNTER2 "$2b$06$Y2qW9GkQ0abfxiYxhgQMEeHQrWW6UTFEC6rKxRGx2vEIeDVUfQG6q"

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

/* How to make a request beyond the method and path. */
struct request_options {
	const char *scheme_host; /* "https://localhost"; default "http://127.0.0.1" */
	const char *ca_file; /* the CA to trust (verification always on) */
	const char *user, *password; /* basic authentication when user is set */
	long timeout_ms; /* default 20 s */
};

/* One request; accept_encoding is sent verbatim when set. Returns 0 or the curl error (negated). */
static int request_with(unsigned port, const char *method, const char *path, const char *accept_encoding,
	enum decode decode, const struct request_options *o, struct reply *r)
{
	char url[256], header[256];
	struct curl_slist *headers = NULL;
	CURLcode rc = CURLE_OK;
	CURL *curl;

	memset(r, 0, sizeof(*r));
	curl = curl_easy_init();
	if (!curl)
		return -1;
	snprintf(url, sizeof(url), "%s:%u%s", o && o->scheme_host ? o->scheme_host : "http://127.0.0.1", port, path);
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
		rc = curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, o && o->timeout_ms ? o->timeout_ms : 20000L);
	if (rc == CURLE_OK && o && o->ca_file)
		rc = curl_easy_setopt(curl, CURLOPT_CAINFO, o->ca_file);
	if (rc == CURLE_OK && o && o->ca_file)
		rc = curl_easy_setopt(curl, CURLOPT_CAPATH, NULL);
	if (rc == CURLE_OK && o && o->user)
		rc = curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	if (rc == CURLE_OK && o && o->user)
		rc = curl_easy_setopt(curl, CURLOPT_USERNAME, o->user);
	if (rc == CURLE_OK && o && o->user)
		rc = curl_easy_setopt(curl, CURLOPT_PASSWORD, o->password ? o->password : "");
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
		fprintf(stderr, "%s %s: %s\n", method, url, curl_easy_strerror(rc));
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return rc == CURLE_OK ? 0 : -(int)rc;
}

static int request(unsigned port, const char *method, const char *path, const char *accept_encoding, enum decode decode,
	struct reply *r)
{
	return request_with(port, method, path, accept_encoding, decode, NULL, r) == 0 ? 0 : -1;
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
		r = metrics_store_publish(s, FARM_A, &report, t, 1761955200, 1764115200 + gen, 1764115200 + gen, 0.5);
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
		r = http_server_new(&b, bad[i], NULL, s, NULL, err, sizeof(err));
		CHECK_MSG(r == -EINVAL, "\"%s\" gave %d", bad[i], r);
		CHECK_MSG(err[0] != '\0', "no message for \"%s\"", bad[i]);
	}
	CHECK_INT(http_server_new(&b, NULL, NULL, s, NULL, err, sizeof(err)), -EINVAL);

	/* The same port twice: -EADDRINUSE and a message naming the address. */
	CHECK_INT(http_server_new(&a, "127.0.0.1:0", NULL, s, NULL, err, sizeof(err)), 0);
	if (a) {
		char addr[64];
		snprintf(addr, sizeof(addr), "127.0.0.1:%u", http_server_port(a));
		CHECK(http_server_port(a) != 0);
		r = http_server_new(&b, addr, NULL, s, NULL, err, sizeof(err));
		CHECK_INT(r, -EADDRINUSE);
		CHECK_MSG(strstr(err, "bind") && strstr(err, addr), "message: %s", err);
		http_server_free(a);
		a = NULL;
		/* Freed: the port is free again at once. */
		CHECK_INT(http_server_new(&a, addr, NULL, s, NULL, err, sizeof(err)), 0);
		http_server_free(a);
		a = NULL;
	}

	CHECK_INT(http_server_new(&a, ":0", NULL, s, NULL, err, sizeof(err)), 0);
	CHECK(a && http_server_port(a) != 0);
	http_server_free(a);
	a = NULL;
	CHECK_INT(http_server_new(&a, "localhost:0", NULL, s, NULL, err, sizeof(err)), 0);
	http_server_free(a);
	a = NULL;

	/* IPv6, when the host has it: "[::]" is IPv6 only, so IPv4 can still bind the same port. */
	r = http_server_new(&a, "[::]:0", NULL, s, NULL, err, sizeof(err));
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
		CHECK_INT(http_server_new(&a, "[::1]:0", NULL, s, NULL, err, sizeof(err)), 0);
		if (a) {
			/* Answered over IPv6 (the door hands libmicrohttpd an IPv6 connection). */
			static const char req[] = "GET /-/healthy HTTP/1.0\r\n\r\n";
			struct sockaddr_in6 sin6;
			struct timeval tv = {5, 0};
			char buf[32] = "";
			int fd6 = socket(AF_INET6, SOCK_STREAM, 0);
			memset(&sin6, 0, sizeof(sin6));
			sin6.sin6_family = AF_INET6;
			sin6.sin6_port = htons((uint16_t)http_server_port(a));
			sin6.sin6_addr = in6addr_loopback;
			CHECK(fd6 >= 0);
			if (fd6 >= 0) {
				CHECK(setsockopt(fd6, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
				CHECK(connect(fd6, (struct sockaddr *)&sin6, sizeof(sin6)) == 0);
				CHECK(send(fd6, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req));
				CHECK(recv(fd6, buf, sizeof(buf) - 1, MSG_WAITALL) > 12);
				CHECK_MSG(
					strncmp(buf, "HTTP/1.1 200", 12) == 0 || strncmp(buf, "HTTP/1.0 200", 12) == 0,
					"over IPv6: %.12s", buf);
				close(fd6);
			}
		}
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

/*
 * Every sample of the usage families must come from one publish: all 200 groups, one value (avg: gen/gen; the
 * window's end: 1764115200 + gen).
 */
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
			const char *brace = memchr(p, '{', (size_t)(sp - p));
			bool avg = brace && memmem(p, (size_t)(brace - p), "_avg_", 5) != NULL;
			if (strncmp(p, "deadline_cloud_usage_window_start_", 34) == 0) {
				p = end + 1;
				continue;
			}
			if (strncmp(p, "deadline_cloud_usage_window_end_", 32) == 0)
				v -= 1764115200; /* the window ends when the publish of gen began */
			if (avg) {
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

/* The web settings of a test: no TLS, no users, the defaults otherwise. */
static void web_init(struct web_config *w)
{
	web_config_defaults(w);
}

static void web_tls(struct web_config *w, const char *cert, const char *key)
{
	w->tls_cert_file = (char *)cert;
	w->tls_key_file = (char *)key;
}

/*
 * A TLS handshake by GnuTLS with the given priorities (to offer versions curl's OpenSSL will not), checking the
 * server's certificate against the test CA. subject (may be NULL) receives the certificate's DN.
 * Returns 0 or a GnuTLS error code; *alert the alert the server sent, -1 when none.
 */
static int tls_probe(unsigned port, const char *priorities, char *subject, size_t subject_size, int *alert)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t session = NULL;
	struct sockaddr_in sin;
	int fd, g;

	*alert = -1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return GNUTLS_E_INTERNAL_ERROR;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return GNUTLS_E_INTERNAL_ERROR;
	}
	g = gnutls_certificate_allocate_credentials(&cred);
	if (g >= 0)
		g = gnutls_certificate_set_x509_trust_file(cred, WEB_DATA "ca.pem", GNUTLS_X509_FMT_PEM);
	if (g >= 0)
		g = gnutls_init(&session, GNUTLS_CLIENT);
	if (g >= 0)
		g = gnutls_priority_set_direct(session, priorities, NULL);
	if (g >= 0)
		g = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred);
	if (g >= 0) {
		gnutls_session_set_verify_cert(session, "localhost", 0);
		gnutls_transport_set_int(session, fd);
		gnutls_handshake_set_timeout(session, 10000);
		do {
			g = gnutls_handshake(session);
		} while (g < 0 && !gnutls_error_is_fatal(g));
		if (g == GNUTLS_E_FATAL_ALERT_RECEIVED || g == GNUTLS_E_WARNING_ALERT_RECEIVED)
			*alert = (int)gnutls_alert_get(session);
	}
	if (g >= 0 && subject) {
		unsigned n = 0;
		const gnutls_datum_t *peers = gnutls_certificate_get_peers(session, &n);
		gnutls_x509_crt_t crt;
		size_t size = subject_size;
		subject[0] = '\0';
		if (peers && n && gnutls_x509_crt_init(&crt) >= 0) {
			if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) < 0 ||
				gnutls_x509_crt_get_dn(crt, subject, &size) < 0)
				subject[0] = '\0';
			gnutls_x509_crt_deinit(crt);
		}
	}
	if (g >= 0)
		gnutls_bye(session, GNUTLS_SHUT_WR);
	if (session)
		gnutls_deinit(session);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	close(fd);
	return g;
}

#define PRIO_TLS11 "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0"
#define PRIO_TLS12 "NORMAL:-VERS-ALL:+VERS-TLS1.2"
#define PRIO_TLS13 "NORMAL:-VERS-ALL:+VERS-TLS1.3"

/* The server turned the handshake down (not the client refusing to offer): an alert or no common version. */
static bool refused_by_server(int g, int alert)
{
	return (g == GNUTLS_E_FATAL_ALERT_RECEIVED &&
		       (alert == GNUTLS_A_PROTOCOL_VERSION || alert == GNUTLS_A_HANDSHAKE_FAILURE ||
			       alert == GNUTLS_A_INSUFFICIENT_SECURITY)) ||
	       g == GNUTLS_E_UNSUPPORTED_VERSION_PACKET || g == GNUTLS_E_PREMATURE_TERMINATION ||
	       g == GNUTLS_E_PULL_ERROR;
}

static void test_tls(struct metrics_store *s)
{
	struct http_server *srv = NULL;
	struct web_config w;
	struct reply r;
	char err[512] = "", subject[256];
	int alert, g;

	web_init(&w);
	web_tls(&w, WEB_DATA "server.pem", WEB_DATA "server-key.pem");
	CHECK_MSG(http_server_new(&srv, "127.0.0.1:0", &w, s, NULL, err, sizeof(err)) == 0, "%s", err);
	if (!srv)
		return;
	unsigned port = http_server_port(srv);
	const struct request_options ok = {.scheme_host = "https://127.0.0.1", .ca_file = WEB_DATA "ca.pem"};
	const struct request_options by_name = {.scheme_host = "https://localhost", .ca_file = WEB_DATA "ca.pem"};
	const struct request_options wrong_ca = {
		.scheme_host = "https://127.0.0.1", .ca_file = WEB_DATA "other-ca.pem"};

	CHECK_INT(request_with(port, "GET", "/metrics", NULL, DECODE_NONE, &ok, &r), 0);
	CHECK_INT(r.status, 200);
	CHECK(r.body && strstr(r.body, "deadline_cloud_exporter_build_info"));
	reply_free(&r);
	CHECK_INT(request_with(port, "GET", "/metrics", NULL, DECODE_CURL, &by_name, &r), 0);
	CHECK_INT(r.status, 200);
	reply_free(&r);
	/* Verification stays on: a certificate from another CA is refused by the client. */
	CHECK(request_with(port, "GET", "/metrics", NULL, DECODE_NONE, &wrong_ca, &r) != 0);
	reply_free(&r);
	/* Plain HTTP on the TLS port gets no answer. */
	CHECK(request(port, "GET", "/metrics", NULL, DECODE_NONE, &r) != 0 || r.status == 0 || r.status == 400);
	reply_free(&r);

	g = tls_probe(port, PRIO_TLS12, subject, sizeof(subject), &alert);
	CHECK_MSG(g == 0, "TLS 1.2: %s", gnutls_strerror(g));
	CHECK_MSG(strstr(subject, "CN=127.0.0.1") != NULL, "subject %s", subject);
	g = tls_probe(port, PRIO_TLS13, NULL, 0, &alert);
	CHECK_MSG(g == 0, "TLS 1.3: %s", gnutls_strerror(g));
	g = tls_probe(port, PRIO_TLS11, NULL, 0, &alert);
	CHECK_MSG(refused_by_server(g, alert), "TLS 1.1: %d %s, alert %d", g, gnutls_strerror(g), alert);

	/* Reload: a new certificate for new handshakes, nothing else disturbed. */
	web_tls(&w, WEB_DATA "server2.pem", WEB_DATA "server2-key.pem");
	CHECK_MSG(http_server_reload_tls(srv, &w, err, sizeof(err)) == 0, "%s", err);
	g = tls_probe(port, PRIO_TLS13, subject, sizeof(subject), &alert);
	CHECK_MSG(g == 0 && strstr(subject, "CN=localhost"), "after reload: %s, %s", gnutls_strerror(g), subject);
	CHECK_INT(request_with(port, "GET", "/-/healthy", NULL, DECODE_NONE, &ok, &r), 0);
	CHECK_INT(r.status, 200);
	reply_free(&r);

	/* Files that cannot be used change nothing. */
	web_tls(&w, WEB_DATA "server.pem", WEB_DATA "server2-key.pem");
	CHECK_INT(http_server_reload_tls(srv, &w, err, sizeof(err)), -EINVAL);
	CHECK_MSG(strstr(err, "is not the key of"), "%s", err);
	web_tls(&w, WEB_DATA "server.pem", WEB_DATA "nonexistent.pem");
	CHECK_INT(http_server_reload_tls(srv, &w, err, sizeof(err)), -EIO);
	CHECK_MSG(strstr(err, "web.tls_key_file") && strstr(err, "nonexistent.pem"), "%s", err);
	web_tls(&w, WEB_DATA "ca.pem", WEB_DATA "make-certs.sh");
	CHECK_INT(http_server_reload_tls(srv, &w, err, sizeof(err)), -EINVAL);
	CHECK_MSG(strstr(err, "not an unencrypted PEM private key"), "%s", err);
	web_tls(&w, WEB_DATA "make-certs.sh", WEB_DATA "server-key.pem");
	CHECK_INT(http_server_reload_tls(srv, &w, err, sizeof(err)), -EINVAL);
	CHECK_MSG(strstr(err, "not a PEM certificate"), "%s", err);
	g = tls_probe(port, PRIO_TLS13, subject, sizeof(subject), &alert);
	CHECK_MSG(
		g == 0 && strstr(subject, "CN=localhost"), "after failed reloads: %s, %s", gnutls_strerror(g), subject);

	/* What takes a restart is said, the rest applied. */
	web_tls(&w, WEB_DATA "server.pem", WEB_DATA "server-key.pem");
	w.tls_min_version = WEB_TLS13;
	w.max_connections = 10;
	CHECK_INT(http_server_reload_tls(srv, &w, err, sizeof(err)), HTTP_SERVER_RESTART_NEEDED);
	CHECK_MSG(strstr(err, "tls_min_version") && strstr(err, "max_connections") && !strstr(err, "TLS on/off"), "%s",
		err);
	g = tls_probe(port, PRIO_TLS13, subject, sizeof(subject), &alert);
	CHECK_MSG(g == 0 && strstr(subject, "CN=127.0.0.1"), "after reload: %s, %s", gnutls_strerror(g), subject);
	http_server_free(srv);
	srv = NULL;

	/* TLS 1.3 only. */
	web_init(&w);
	web_tls(&w, WEB_DATA "server.pem", WEB_DATA "server-key.pem");
	w.tls_min_version = WEB_TLS13;
	CHECK_MSG(http_server_new(&srv, "127.0.0.1:0", &w, s, NULL, err, sizeof(err)) == 0, "%s", err);
	if (srv) {
		port = http_server_port(srv);
		CHECK_INT(tls_probe(port, PRIO_TLS13, NULL, 0, &alert), 0);
		g = tls_probe(port, PRIO_TLS12, NULL, 0, &alert);
		CHECK_MSG(refused_by_server(g, alert), "TLS 1.2 to a TLS13 server: %s, alert %d", gnutls_strerror(g),
			alert);
		g = tls_probe(port, PRIO_TLS11, NULL, 0, &alert);
		CHECK_MSG(refused_by_server(g, alert), "TLS 1.1: %s, alert %d", gnutls_strerror(g), alert);
		http_server_free(srv);
		srv = NULL;
	}

	/* Unusable files at start: an error naming the file, nothing listening. */
	web_tls(&w, WEB_DATA "server.pem", WEB_DATA "server2-key.pem");
	CHECK_INT(http_server_new(&srv, "127.0.0.1:0", &w, s, NULL, err, sizeof(err)), -EINVAL);
	CHECK_MSG(strstr(err, "server2-key.pem is not the key of"), "%s", err);
	CHECK(srv == NULL);
	/* The key's bytes never make it into a message. */
	web_tls(&w, WEB_DATA "server-key.pem", WEB_DATA "server-key.pem");
	CHECK_INT(http_server_new(&srv, "127.0.0.1:0", &w, s, NULL, err, sizeof(err)), -EINVAL);
	CHECK_MSG(!strstr(err, "BEGIN") && !strstr(err, "MIG"), "%s", err);
}

static long status_of(unsigned port, const char *method, const char *path, const char *user, const char *password,
	char *www_authenticate, size_t size)
{
	const struct request_options o = {.user = user, .password = password};
	struct reply r;
	long status = -1;

	if (request_with(port, method, path, NULL, DECODE_NONE, &o, &r) == 0)
		status = r.status;
	if (www_authenticate && !header_value(&r, "WWW-Authenticate", www_authenticate, size))
		www_authenticate[0] = '\0';
	reply_free(&r);
	return status;
}

/* A lifecycle callback that answers what it is told to, counting its calls. */
struct fake_reload {
	int result;
	int calls;
};

static int fake_reload(void *ctx, char *err, size_t errlen)
{
	struct fake_reload *f = ctx;

	f->calls++;
	if (f->result == HTTP_SERVER_RELOAD_REJECTED)
		snprintf(err, errlen, "exporter.conf:3: web.listen: invalid address");
	return f->result;
}

/* POST /-/reload: 403 without web.enable_lifecycle, 405 for GET, 401 before anything without credentials. */
static void test_lifecycle(struct metrics_store *s)
{
	struct web_user users[] = {{(char *)"prometheus", (char *)HASH_SECRET}};
	const struct request_options o = {.user = "prometheus", .password = "secret"};
	struct fake_reload f = {HTTP_SERVER_RELOAD_APPLIED, 0};
	const struct http_server_lifecycle lc = {fake_reload, &f};
	struct http_server *srv = NULL;
	struct web_config w;
	struct reply r;
	char err[512] = "", v[64];
	unsigned port;

	web_init(&w);
	CHECK_MSG(http_server_new(&srv, "127.0.0.1:0", &w, s, &lc, err, sizeof(err)) == 0, "%s", err);
	if (!srv)
		return;
	port = http_server_port(srv);
	CHECK_INT(status_of(port, "POST", "/-/reload", NULL, NULL, NULL, 0), 403);
	CHECK_INT(f.calls, 0);
	/* Turned on by a reload of the web settings, like the users. */
	w.enable_lifecycle = true;
	CHECK_INT(http_server_reload_tls(srv, &w, err, sizeof(err)), HTTP_SERVER_RELOADED);
	CHECK_INT(status_of(port, "POST", "/-/reload", NULL, NULL, NULL, 0), 200);
	CHECK_INT(f.calls, 1);
	f.result = HTTP_SERVER_RELOAD_REJECTED;
	CHECK(request_with(port, "POST", "/-/reload", NULL, DECODE_NONE, NULL, &r) == 0);
	CHECK_INT(r.status, 400);
	CHECK_MSG(r.body && memmem(r.body, r.body_len, "web.listen: invalid address", 27), "body: %.*s",
		(int)r.body_len, r.body ? r.body : "");
	reply_free(&r);
	f.result = -ENOMEM;
	CHECK_INT(status_of(port, "POST", "/-/reload", NULL, NULL, NULL, 0), 500);
	CHECK(request_with(port, "GET", "/-/reload", NULL, DECODE_NONE, NULL, &r) == 0);
	CHECK_INT(r.status, 405);
	CHECK(header_value(&r, "Allow", v, sizeof(v)) && strcmp(v, "POST") == 0);
	reply_free(&r);
	CHECK_INT(status_of(port, "HEAD", "/-/reload", NULL, NULL, NULL, 0), 405);
	CHECK_INT(f.calls, 3);
	/* Other paths still take GET and HEAD only. */
	CHECK_INT(status_of(port, "POST", "/metrics", NULL, NULL, NULL, 0), 405);

	/* With basic authentication: 401 first, whatever the method. */
	w.users = users;
	w.n_users = 1;
	f.result = HTTP_SERVER_RELOAD_APPLIED;
	CHECK_INT(http_server_reload_tls(srv, &w, err, sizeof(err)), HTTP_SERVER_RELOADED);
	CHECK_INT(status_of(port, "POST", "/-/reload", NULL, NULL, NULL, 0), 401);
	CHECK_INT(status_of(port, "GET", "/-/reload", NULL, NULL, NULL, 0), 401);
	CHECK_INT(status_of(port, "POST", "/-/reload", "prometheus", "wrong", NULL, 0), 401);
	CHECK_INT(f.calls, 3);
	CHECK(request_with(port, "POST", "/-/reload", NULL, DECODE_NONE, &o, &r) == 0);
	CHECK_INT(r.status, 200);
	reply_free(&r);
	CHECK_INT(f.calls, 4);
	http_server_free(srv);
}

static double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_basic_auth(struct metrics_store *s)
{
	struct web_user users[] = {
		{(char *)"prometheus", (char *)HASH_SECRET},
		{(char *)"grafana", (char *)HASH_HUNTER2},
	};
	struct http_server *srv = NULL;
	struct web_config w;
	char err[512] = "", v[256];

	web_init(&w);
	w.users = users;
	w.n_users = 2;
	CHECK_MSG(http_server_new(&srv, "127.0.0.1:0", &w, s, NULL, err, sizeof(err)) == 0, "%s", err);
	if (!srv)
		return;
	unsigned port = http_server_port(srv);

	CHECK_INT(status_of(port, "GET", "/metrics", NULL, NULL, v, sizeof(v)), 401);
	CHECK_STR(v, "Basic realm=\"deadline-cloud-exporter\"");
	CHECK_INT(status_of(port, "GET", "/metrics", "prometheus", "secret", NULL, 0), 200);
	CHECK_INT(status_of(port, "HEAD", "/metrics", "prometheus", "secret", NULL, 0), 200);
	CHECK_INT(status_of(port, "GET", "/metrics", "grafana", "hunter2", NULL, 0), 200);
	CHECK_INT(status_of(port, "GET", "/metrics", "prometheus", "hunter2", v, sizeof(v)), 401);
	CHECK_STR(v, "Basic realm=\"deadline-cloud-exporter\"");
	CHECK_INT(status_of(port, "GET", "/metrics", "nobody", "secret", NULL, 0), 401);
	CHECK_INT(status_of(port, "GET", "/metrics", "prometheus", "", NULL, 0), 401);
	/* Every path but health, and methods too, want credentials before anything else is told. */
	CHECK_INT(status_of(port, "GET", "/", NULL, NULL, NULL, 0), 401);
	CHECK_INT(status_of(port, "GET", "/-/ready", NULL, NULL, NULL, 0), 401);
	CHECK_INT(status_of(port, "GET", "/nope", NULL, NULL, NULL, 0), 401);
	CHECK_INT(status_of(port, "POST", "/metrics", NULL, NULL, NULL, 0), 401);
	CHECK_INT(status_of(port, "POST", "/metrics", "prometheus", "secret", NULL, 0), 405);
	CHECK_INT(status_of(port, "GET", "/nope", "prometheus", "secret", NULL, 0), 404);
	CHECK_INT(status_of(port, "GET", "/-/healthy", NULL, NULL, NULL, 0), 200);
	CHECK_INT(status_of(port, "GET", "/-/healthy", "prometheus", "wrong", NULL, 0), 200);

	/* A crude timing check over HTTP: an unknown user is not answered faster than a known one. */
	double known = 0, unknown = 0;
	for (int i = 0; i < 15; i++) {
		double t0 = seconds_now();
		CHECK_INT(status_of(port, "GET", "/metrics", "prometheus", "wrong", NULL, 0), 401);
		double t1 = seconds_now();
		CHECK_INT(status_of(port, "GET", "/metrics", "mallory", "wrong", NULL, 0), 401);
		known += t1 - t0;
		unknown += seconds_now() - t1;
	}
	fprintf(stderr, "401 over HTTP: known user %.2f ms, unknown user %.2f ms (mean of 15)\n", known / 15 * 1e3,
		unknown / 15 * 1e3);
	CHECK_MSG(unknown > known * 0.5 && unknown < known * 2.0, "known %.4f s, unknown %.4f s", known, unknown);

	/* Reload: other users, health behind authentication too. */
	users[1].user = (char *)"alertmanager";
	w.health_without_auth = false;
	CHECK_MSG(http_server_reload_tls(srv, &w, err, sizeof(err)) == 0, "%s", err);
	CHECK_INT(status_of(port, "GET", "/metrics", "grafana", "hunter2", NULL, 0), 401);
	CHECK_INT(status_of(port, "GET", "/metrics", "alertmanager", "hunter2", NULL, 0), 200);
	CHECK_INT(status_of(port, "GET", "/-/healthy", NULL, NULL, NULL, 0), 401);
	CHECK_INT(status_of(port, "GET", "/-/healthy", "prometheus", "secret", NULL, 0), 200);
	/* And no users at all: open again. */
	w.users = NULL;
	w.n_users = 0;
	CHECK_INT(http_server_reload_tls(srv, &w, err, sizeof(err)), 0);
	CHECK_INT(status_of(port, "GET", "/metrics", NULL, NULL, NULL, 0), 200);
	http_server_free(srv);
}

/* A TCP connection to 127.0.0.1:port that sends what it is given, or -1. */
static int raw_connect(unsigned port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Connects, sends first (may be ""), then waits up to wait_s for the server to close: the seconds that took,
 * or -1 when it did not close (an answer, a failure, or the wait ran out).
 */
static double seconds_until_closed(unsigned port, const char *first, int wait_s)
{
	struct timeval tv = {wait_s, 0};
	char buf[64];
	double t0, took = -1.0;
	int fd = raw_connect(port);

	CHECK(fd >= 0);
	if (fd < 0)
		return -1.0;
	CHECK(!first[0] || send(fd, first, strlen(first), MSG_NOSIGNAL) == (ssize_t)strlen(first));
	t0 = seconds_now();
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		took = seconds_now() - t0;
	close(fd);
	return took;
}

/*
 * Connects, sends first, half-closes when asked, and reads until the server closes or wait_s runs out. Returns
 * the status of the answer (0: none) and the seconds until the answer's first bytes (or the close) in *took.
 */
static int raw_exchange(unsigned port, const char *first, bool half_close, int wait_s, double *took)
{
	struct timeval tv = {wait_s, 0};
	char buf[256];
	size_t have = 0;
	int status = 0, fd = raw_connect(port);
	double t0 = seconds_now();

	*took = -1.0;
	CHECK(fd >= 0);
	if (fd < 0)
		return 0;
	CHECK(send(fd, first, strlen(first), MSG_NOSIGNAL) == (ssize_t)strlen(first));
	if (half_close)
		CHECK(shutdown(fd, SHUT_WR) == 0);
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	for (;;) {
		ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (n > 0 && have == 0)
			*took = seconds_now() - t0;
		if (n <= 0 || (have += (size_t)n) == sizeof(buf) - 1) {
			if (have == 0 && (n == 0 || errno == ECONNRESET)) /* closed: a reset when bytes were unread */
				*took = seconds_now() - t0;
			break;
		}
	}
	buf[have] = '\0';
	if (have >= 12 && strncmp(buf, "HTTP/1.", 7) == 0)
		status = atoi(buf + 9);
	close(fd);
	return status;
}

/*
 * The door hands a connection over once it has sent what a client sends first, and closes one that went away
 * having sent less: a short whole request is answered at once (kept open or half-closed), a request in two
 * pieces is answered, and a few bytes and a close are closed without an answer.
 */
static void test_door(unsigned port)
{
	double took;

	CHECK_INT(raw_exchange(port, "GET /-/healthy HTTP/1.0\r\n\r\n", false, 5, &took), 200);
	CHECK_MSG(took >= 0 && took < 0.5, "short request answered after %.3f s", took);
	CHECK_INT(raw_exchange(port, "GET /-/healthy HTTP/1.0\n\n", true, 5, &took), 200);
	CHECK_MSG(took >= 0 && took < 0.5, "short half-closed request answered after %.3f s", took);
	CHECK_INT(raw_exchange(port, "GET /-/hea", true, 5, &took), 0);
	CHECK_MSG(took >= 0 && took < 0.5, "a few bytes and a close: closed after %.3f s", took);

	int fd = raw_connect(port);
	CHECK(fd >= 0);
	if (fd >= 0) {
		static const char a[] = "GET /-/healthy HTTP/1.1\r\nHo", b[] = "st: x\r\nConnection: close\r\n\r\n";
		char buf[64] = "";
		struct timeval tv = {5, 0};
		CHECK(send(fd, a, strlen(a), MSG_NOSIGNAL) == (ssize_t)strlen(a));
		usleep(200 * 1000);
		CHECK(send(fd, b, strlen(b), MSG_NOSIGNAL) == (ssize_t)strlen(b));
		CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
		double t0 = seconds_now();
		CHECK(recv(fd, buf, sizeof(buf) - 1, 0) >= 12);
		CHECK_MSG(strncmp(buf, "HTTP/1.1 200", 12) == 0, "request in two pieces: %.12s", buf);
		CHECK_MSG(seconds_now() - t0 < 0.5, "request in two pieces answered after %.3f s", seconds_now() - t0);
		close(fd);
	}
}

/*
 * Slow clients hold connections (a partial request line, then nothing): with max_connections of 8 and 40 of
 * them, a scrape is still answered at once, because the slow connections make room. Oversized
 * requests are refused by the memory limit.
 */
static void test_limits(struct metrics_store *s)
{
	struct http_server *srv = NULL;
	struct web_config w;
	struct reply r;
	char err[512] = "";
	int fds[40];
	double worst = 0;

	web_init(&w);
	w.max_connections = 8;
	w.connection_timeout_seconds = 2;
	w.max_request_size = 4096;
	CHECK_MSG(http_server_new(&srv, "127.0.0.1:0", &w, s, NULL, err, sizeof(err)) == 0, "%s", err);
	if (!srv)
		return;
	unsigned port = http_server_port(srv);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		fds[i] = raw_connect(port);
		CHECK(fds[i] >= 0);
		if (fds[i] >= 0 && send(fds[i], "GET /metrics HTTP/1.1\r\nHost: x", 30, MSG_NOSIGNAL) < 0)
			CHECK_MSG(false, "send: %s", strerror(errno));
		if (i % 8 == 7) {
			const struct request_options quick = {.timeout_ms = 1000};
			double t0 = seconds_now();
			CHECK_INT(request_with(port, "GET", "/metrics", NULL, DECODE_NONE, &quick, &r), 0);
			CHECK_INT(r.status, 200);
			reply_free(&r);
			if (seconds_now() - t0 > worst)
				worst = seconds_now() - t0;
		}
	}
	/*
	 * The slow clients wait at the door (no thread) for a second, then are handed over and judged: past 8, the
	 * ones that said least are evicted. A scrape is answered at once all the way through.
	 */
	for (int i = 0; i < 4; i++) {
		const struct request_options quick = {.timeout_ms = 1000};
		double t0;
		usleep(400 * 1000);
		t0 = seconds_now();
		CHECK_INT(request_with(port, "GET", "/metrics", NULL, DECODE_NONE, &quick, &r), 0);
		CHECK_INT(r.status, 200);
		reply_free(&r);
		if (seconds_now() - t0 > worst)
			worst = seconds_now() - t0;
	}
	fprintf(stderr, "40 slow clients, max_connections 8: slowest scrape %.1f ms, %lu connections evicted\n",
		worst * 1e3, http_server_evictions(srv));
	CHECK(worst < 1.0);
	CHECK(http_server_evictions(srv) >= 30);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);

	/* Headers beyond max_request_size: refused (431 or 413), not buffered. */
	char big[8192];
	struct curl_slist *h = NULL;
	CURL *curl = curl_easy_init();
	char url[64];
	long status = 0;
	memcpy(big, "X-Big: ", 7);
	memset(big + 7, 'a', sizeof(big) - 8);
	big[sizeof(big) - 1] = '\0';
	h = curl_slist_append(h, big);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", port);
	memset(&r, 0, sizeof(r));
	CHECK(curl && h);
	if (curl && h && curl_easy_setopt(curl, CURLOPT_URL, url) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_cb) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L) == CURLE_OK && curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	CHECK_MSG(status == 431 || status == 413 || status == 0, "oversized request: %ld", status);
	reply_free(&r);
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);

	/* The inactivity timeout closes a connection that sent a byte and went silent. */
	double took = seconds_until_closed(port, "G", 5);
	CHECK_MSG(took > 1.0 && took < 4.5, "closed after %.1f s", took);
	/*
	 * One that never sends anything is the kernel's until TCP_DEFER_ACCEPT gives up on it (5 s and the
	 * SYN-ACK retransmissions: about 7 s), then the inactivity timeout applies: closed all the same.
	 */
	took = seconds_until_closed(port, "", 20);
	CHECK_MSG(took > 4.0 && took < 18.0, "silent connection: closed after %.1f s", took);
	http_server_free(srv);
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
	CHECK_MSG(http_server_new(&srv, "127.0.0.1:0", NULL, s, NULL, err, sizeof(err)) == 0, "%s", err);
	if (s && srv) {
		unsigned port = http_server_port(srv);
		CHECK(port != 0);
		test_paths(s, port);
		test_metrics(s, port);
		test_keep_alive(port);
		test_door(port);
		test_scrape_during_publish(s, port);
	}
	if (s) {
		test_tls(s);
		test_basic_auth(s);
		test_lifecycle(s);
		test_limits(s);
	}
	http_server_free(srv);
	metrics_store_free(s);
	curl_global_cleanup();
	TEST_DONE();
}
