/* test-http_client: the libcurl wrapper against a scripted HTTP server on a loopback socket */
#include "aws/http_client.h"
#include "test.h"
#include "util/version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <zlib.h>

enum reply {
	REPLY_OK, /* 200 with a small body, keep-alive */
	REPLY_THROTTLE, /* 429 with x-amzn-ErrorType and Retry-After in odd cases */
	REPLY_BIG, /* 200 with a 4000-byte body */
	REPLY_STALL, /* promises 100 bytes, sends 10, then waits for the client to give up */
	REPLY_CUT, /* promises 100 bytes, sends 10, closes */
	REPLY_GARBAGE, /* not HTTP */
	REPLY_GZIP, /* 200, {"ok":true} gzip-encoded */
	REPLY_GZIP_BOMB, /* 200, 3000 bytes of gzip that decode to 3 MB */
	REPLY_REDIRECT, /* 302 to another path: never followed */
};

struct server {
	int listen_fd;
	int port;
	pthread_t thread;
	atomic_int reply;
	atomic_int accepts;
	atomic_bool stop;
	pthread_mutex_t lock;
	char request[8192]; /* the last request received, under lock */
};

static bool write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return true;
}

/* Reads one request (headers and Content-Length body); false when the client closed. */
static bool read_request(struct server *s, int fd)
{
	char buf[sizeof(s->request)];
	size_t len = 0, need = 0;
	char *end = NULL;

	for (;;) {
		ssize_t got = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);

		if (got <= 0)
			return false;
		len += (size_t)got;
		buf[len] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");

			need = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if ((end && len >= need) || len == sizeof(buf) - 1)
			break;
	}
	pthread_mutex_lock(&s->lock);
	memcpy(s->request, buf, len + 1);
	pthread_mutex_unlock(&s->lock);
	return true;
}

/* Answers one request; false when the connection is to be closed. */
/* 3 MB of zeros as one gzip member (stored header, then fixed-Huffman blocks from zlib), built at run time. */
static bool gzip_bomb(int fd)
{
	static unsigned char zeros[3000000];
	unsigned char *out = NULL;
	uLongf n = compressBound(sizeof(zeros)) + 32;
	z_stream zs;
	char head[160];
	bool ok = false;

	memset(&zs, 0, sizeof(zs));
	out = malloc(n);
	if (!out || deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(out);
		return false;
	}
	zs.next_in = zeros;
	zs.avail_in = sizeof(zeros);
	zs.next_out = out;
	zs.avail_out = (uInt)n;
	if (deflate(&zs, Z_FINISH) == Z_STREAM_END) {
		int h = snprintf(head, sizeof(head),
			"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %lu\r\n\r\n", zs.total_out);
		ok = write_all(fd, head, (size_t)h) && write_all(fd, (const char *)out, zs.total_out);
	}
	deflateEnd(&zs);
	free(out);
	return ok;
}

static bool respond(int fd, enum reply reply)
{
	static const char gzipped[] =
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
		"Content-Length: 31\r\n\r\n"
		"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xab\x56\xca\xcf\x56\xb2\x2a\x29\x2a\x4d\xad\x05"
		"\x00\x90\x5f\xd4\xa7\x0b\x00\x00\x00";
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
				 "{\"ok\":true}";
	static const char throttle[] = "HTTP/1.1 429 Too Many Requests\r\nx-amzn-errortype:  ThrottlingException:"
				       "http://internal.amazon.com/coral/com.amazonaws.deadline/ \r\nRETRY-AFTER: 3\r\n"
				       "Content-Length: 2\r\n\r\n{}";
	static const char redirect[] = "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n";
	static const char partial[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
	char big[4200];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;

	switch (reply) {
	case REPLY_OK:
		return write_all(fd, ok, sizeof(ok) - 1);
	case REPLY_THROTTLE:
		return write_all(fd, throttle, sizeof(throttle) - 1);
	case REPLY_BIG:
		n = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nContent-Length: 4000\r\n\r\n");
		memset(big + n, 'x', 4000);
		write_all(fd, big, (size_t)n + 4000);
		return false;
	case REPLY_STALL:
		write_all(fd, partial, sizeof(partial) - 1);
		if (poll(&p, 1, 10000) < 0)
			return false;
		return false;
	case REPLY_CUT:
		write_all(fd, partial, sizeof(partial) - 1);
		return false;
	case REPLY_GARBAGE:
		write_all(fd, "garbage\r\n\r\n", 11);
		return false;
	case REPLY_GZIP:
		return write_all(fd, gzipped, sizeof(gzipped) - 1);
	case REPLY_GZIP_BOMB:
		return gzip_bomb(fd);
	case REPLY_REDIRECT:
		return write_all(fd, redirect, sizeof(redirect) - 1);
	}
	return false;
}

static void *server_run(void *arg)
{
	struct server *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = {.fd = s->listen_fd, .events = POLLIN};
		int fd;

		if (poll(&p, 1, 100) <= 0)
			continue;
		fd = accept(s->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		atomic_fetch_add(&s->accepts, 1);
		while (read_request(s, fd) && respond(fd, (enum reply)atomic_load(&s->reply)))
			;
		close(fd);
	}
	return NULL;
}

static int listen_loopback(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0 ||
		getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void request_copy(struct server *s, char *out, size_t len)
{
	pthread_mutex_lock(&s->lock);
	snprintf(out, len, "%s", s->request);
	pthread_mutex_unlock(&s->lock);
}

static int send_get(struct http_client *c, const char *url, struct http_response *resp)
{
	static const struct sigv4_header headers[] = {{"Accept", "application/json"}};
	struct http_request req = {.method = "GET", .url = url, .headers = headers, .n_headers = 1};

	return http_client_send(c, &req, resp);
}

static void test_exchanges(struct server *s)
{
	struct http_client_options opts = {.timeout_ms = 1500, .max_body = 1000};
	struct sigv4_header post_headers[] = {{"Content-Type", "application/json"}, {"X-Test", "yes"}, {"X-Empty", ""}};
	struct http_request post = {
		.method = "POST",
		.headers = post_headers,
		.n_headers = 3,
		.body = "{\"a\":1}",
		.body_len = 7,
	};
	struct http_response resp;
	struct http_client *c;
	char url[128], seen[8192], *host = NULL, expect_host[160];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/2023-10-12/farms/farm-1/queues?maxResults=1", s->port);
	CHECK_INT(http_client_new(&c, &opts), 0);
	if (!c)
		return;

	/* Two requests, one connection: keep-alive. */
	atomic_store(&s->reply, REPLY_OK);
	atomic_store(&s->accepts, 0);
	CHECK_INT(send_get(c, url, &resp), 0);
	CHECK_INT(resp.status, 200);
	CHECK_STR(resp.body, "{\"ok\":true}");
	CHECK_INT(resp.body_len, 11);
	CHECK(resp.error_type == NULL && resp.retry_after == NULL);
	http_response_deinit(&resp);
	CHECK_INT(send_get(c, url, &resp), 0);
	http_response_deinit(&resp);
	CHECK_INT(atomic_load(&s->accepts), 1);

	/* The Host curl sends is the one http_url_host() computes for signing. */
	request_copy(s, seen, sizeof(seen));
	CHECK_INT(http_url_host(url, &host), 0);
	snprintf(expect_host, sizeof(expect_host), "\r\nHost: %s\r\n", host ? host : "?");
	CHECK_MSG(strstr(seen, expect_host) != NULL, "request was:\n%s", seen);
	CHECK(strncmp(seen, "GET /2023-10-12/farms/farm-1/queues?maxResults=1 HTTP/1.1\r\n", 58) == 0);
	free(host);

	/* POST: body and headers as given, empty header sent, no Expect. */
	post.url = url;
	CHECK_INT(http_client_send(c, &post, &resp), 0);
	CHECK_INT(resp.status, 200);
	http_response_deinit(&resp);
	request_copy(s, seen, sizeof(seen));
	CHECK(strncmp(seen, "POST /2023-10-12/", 17) == 0);
	CHECK(strstr(seen, "\r\nX-Test: yes\r\n") != NULL);
	CHECK(strstr(seen, "\r\nX-Empty:") != NULL);
	CHECK(strstr(seen, "\r\nContent-Length: 7\r\n") != NULL);
	CHECK(strstr(seen, "Expect") == NULL);
	CHECK(strstr(seen, "\r\n\r\n{\"a\":1}") != NULL);
	/* The next GET on the reused handle is a GET again. */
	CHECK_INT(send_get(c, url, &resp), 0);
	http_response_deinit(&resp);
	request_copy(s, seen, sizeof(seen));
	CHECK(strncmp(seen, "GET ", 4) == 0);
	CHECK(strstr(seen, "X-Test") == NULL);

	/* An error response is still a response; its headers are captured whatever their case. */
	atomic_store(&s->reply, REPLY_THROTTLE);
	CHECK_INT(send_get(c, url, &resp), 0);
	CHECK_INT(resp.status, 429);
	CHECK_STR(resp.error_type, "ThrottlingException:http://internal.amazon.com/coral/com.amazonaws.deadline/");
	CHECK_STR(resp.retry_after, "3");
	CHECK_STR(resp.body, "{}");
	http_response_deinit(&resp);

	/* gzip asked for and decoded; decoded bytes count against the cap (a small bomb is refused). */
	atomic_store(&s->reply, REPLY_GZIP);
	CHECK_INT(send_get(c, url, &resp), 0);
	CHECK_INT(resp.status, 200);
	CHECK_STR(resp.body, "{\"ok\":true}");
	http_response_deinit(&resp);
	request_copy(s, seen, sizeof(seen));
	CHECK_MSG(strstr(seen, "\r\nAccept-Encoding: gzip\r\n") != NULL, "request:\n%s", seen);
	atomic_store(&s->reply, REPLY_GZIP_BOMB);
	CHECK_INT(send_get(c, url, &resp), -EMSGSIZE);
	http_response_deinit(&resp);

	/* Transport failures. */
	atomic_store(&s->reply, REPLY_BIG);
	CHECK_INT(send_get(c, url, &resp), -EMSGSIZE);
	CHECK(strstr(resp.error, "larger than 1000") != NULL);
	http_response_deinit(&resp);

	atomic_store(&s->reply, REPLY_CUT);
	CHECK_INT(send_get(c, url, &resp), -ECONNRESET);
	CHECK(resp.error[0] != '\0');
	http_response_deinit(&resp);

	atomic_store(&s->reply, REPLY_STALL);
	CHECK_INT(send_get(c, url, &resp), -ETIMEDOUT);
	CHECK(resp.error[0] != '\0');
	http_response_deinit(&resp);

	atomic_store(&s->reply, REPLY_GARBAGE);
	CHECK_INT(send_get(c, url, &resp), -EPROTO);
	http_response_deinit(&resp);

	/* Back to normal on the same client. */
	atomic_store(&s->reply, REPLY_OK);
	CHECK_INT(send_get(c, url, &resp), 0);
	CHECK_INT(resp.status, 200);
	http_response_deinit(&resp);

	/* Requests it refuses to send. */
	post_headers[1].value = "yes\r\nInjected: 1";
	CHECK_INT(http_client_send(c, &post, &resp), -EINVAL);
	http_response_deinit(&resp);
	post_headers[1].value = "yes";
	post.method = "PUT";
	CHECK_INT(http_client_send(c, &post, &resp), -EINVAL);
	http_response_deinit(&resp);

	http_client_free(c);
}

static void test_refused_and_cancel(struct server *s)
{
	struct http_client_options opts = {.timeout_ms = 2000};
	atomic_bool cancel = true;
	struct http_response resp;
	struct http_client *c;
	char url[128];
	int port = 0, fd;

	/* A port nobody listens on. */
	fd = listen_loopback(&port);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	CHECK_INT(http_client_new(&c, &opts), 0);
	CHECK_INT(send_get(c, url, &resp), -ECONNREFUSED);
	CHECK_INT(resp.status, 0);
	CHECK(resp.error[0] != '\0');
	http_response_deinit(&resp);
	http_client_free(c);

	opts.cancel = &cancel;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s->port);
	atomic_store(&s->reply, REPLY_STALL);
	CHECK_INT(http_client_new(&c, &opts), 0);
	CHECK_INT(send_get(c, url, &resp), -ECANCELED);
	http_response_deinit(&resp);
	atomic_store(&cancel, false);
	atomic_store(&s->reply, REPLY_OK);
	CHECK_INT(send_get(c, url, &resp), 0);
	http_response_deinit(&resp);
	http_client_free(c);

	/* A CA file that is not there. */
	opts.ca_file = "/nonexistent/ca.pem";
	CHECK_INT(http_client_new(&c, &opts), -ENOENT);
	CHECK(c == NULL);
	http_client_free(NULL);
	http_response_deinit(NULL);
}

struct host_case {
	const char *url;
	int rc;
	const char *host;
};

static const struct host_case host_cases[] = {
	{"https://management.deadline.us-west-2.amazonaws.com", 0, "management.deadline.us-west-2.amazonaws.com"},
	{"https://management.deadline.cn-north-1.amazonaws.com.cn/", 0,
		"management.deadline.cn-north-1.amazonaws.com.cn"},
	{"https://h.example:443/x", 0, "h.example"},
	{"http://h.example:80", 0, "h.example"},
	{"http://h.example:443", 0, "h.example:443"},
	{"https://h.example:8443/prefix", 0, "h.example:8443"},
	{"http://127.0.0.1:8080/p?q=1", 0, "127.0.0.1:8080"},
	{"http://[::1]:9000/", 0, "[::1]:9000"},
	{"ftp://h.example/", -EINVAL, NULL},
	{"not a url", -EINVAL, NULL},
	{"https://", -EINVAL, NULL},
};

static void test_url_host(void)
{
	for (size_t i = 0; i < sizeof(host_cases) / sizeof(host_cases[0]); i++) {
		char *host = (char *)"sentinel";
		int r = http_url_host(host_cases[i].url, &host);

		CHECK_MSG(r == host_cases[i].rc, "%s: got %d", host_cases[i].url, r);
		if (host_cases[i].host)
			CHECK_STR(host, host_cases[i].host);
		else
			CHECK(host == NULL);
		free(host);
	}
}

/* The credential fetches' side: PUT, one-shot clients, secrets, no proxy, no redirects, TLS always on. */
static void test_fetch(struct server *s)
{
	static const struct sigv4_header ttl = {"X-aws-ec2-metadata-token-ttl-seconds", "21600"};
	struct http_client_options opts = {.timeout_ms = 2000, .max_body = 100, .no_proxy = true, .secret = true};
	struct http_request put = {.method = "PUT", .headers = &ttl, .n_headers = 1};
	struct http_response resp;
	char url[128], https_url[128], seen[8192], proxy[64];
	int dead_port = 0, fd, r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/latest/api/token", s->port);
	snprintf(https_url, sizeof(https_url), "https://127.0.0.1:%d/", s->port);
	/* A proxy that is not there: only a client told to bypass proxies gets through. */
	fd = listen_loopback(&dead_port);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", dead_port);
	CHECK(setenv("http_proxy", proxy, 1) == 0);
	CHECK(unsetenv("no_proxy") == 0 && unsetenv("NO_PROXY") == 0);

	atomic_store(&s->reply, REPLY_OK);
	put.url = url;
	CHECK_INT(http_client_fetch(&opts, &put, &resp), 0);
	CHECK_INT(resp.status, 200);
	CHECK_STR(resp.body, "{\"ok\":true}");
	http_response_deinit(&resp);
	CHECK(resp.body == NULL);
	request_copy(s, seen, sizeof(seen));
	CHECK_MSG(strncmp(seen, "PUT /latest/api/token HTTP/1.1\r\n", 32) == 0, "request:\n%s", seen);
	CHECK(strstr(seen, "\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\n") != NULL);
	CHECK(strstr(seen, "\r\nUser-Agent: " VERSION_USER_AGENT "\r\n") != NULL);
	CHECK(strstr(seen, "Content-Length") == NULL);

	opts.no_proxy = false;
	CHECK_INT(http_client_fetch(&opts, &put, &resp), -ECONNREFUSED);
	http_response_deinit(&resp);
	CHECK(unsetenv("http_proxy") == 0);
	opts.no_proxy = true;

	/* A PUT with a body is refused, as a GET with one is. */
	put.body = "x";
	put.body_len = 1;
	CHECK_INT(http_client_fetch(&opts, &put, &resp), -EINVAL);
	http_response_deinit(&resp);
	put.body = NULL;
	put.body_len = 0;

	/* The cap applies to secret bodies too. */
	atomic_store(&s->reply, REPLY_BIG);
	CHECK_INT(http_client_fetch(&opts, &put, &resp), -EMSGSIZE);
	CHECK(resp.body == NULL);
	http_response_deinit(&resp);

	/* A redirect is an answer, not an invitation: nothing asked of /elsewhere. */
	atomic_store(&s->reply, REPLY_REDIRECT);
	atomic_store(&s->accepts, 0);
	CHECK_INT(http_client_fetch(&opts, &put, &resp), 0);
	CHECK_INT(resp.status, 302);
	CHECK_STR(resp.body, "");
	http_response_deinit(&resp);
	request_copy(s, seen, sizeof(seen));
	CHECK(strstr(seen, "/elsewhere") == NULL);
	CHECK_INT(atomic_load(&s->accepts), 1);

	/*
	 * https to a server that does not speak TLS: the handshake never completes (the server waits for a
	 * request line that never comes), and no plain-HTTP request ever reaches it.
	 */
	atomic_store(&s->reply, REPLY_OK);
	pthread_mutex_lock(&s->lock);
	s->request[0] = '\0';
	pthread_mutex_unlock(&s->lock);
	put.url = https_url;
	opts.timeout_ms = 500;
	r = http_client_fetch(&opts, &put, &resp);
	CHECK_MSG(r == -ETIMEDOUT || r == -EPROTO || r == -ECONNRESET, "https to plain http: %d", r);
	CHECK(resp.error[0] != '\0');
	http_response_deinit(&resp);
	request_copy(s, seen, sizeof(seen));
	CHECK_STR(seen, "");

	/* A client that cannot be set up. */
	opts.ca_file = "/nonexistent/ca.pem";
	CHECK_INT(http_client_fetch(&opts, &put, &resp), -ENOENT);
	CHECK(strstr(resp.error, "HTTP client") != NULL);
	http_response_deinit(&resp);
}

int main(void)
{
	struct server s = {.listen_fd = -1};

	CHECK_INT(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	test_url_host();

	pthread_mutex_init(&s.lock, NULL);
	s.listen_fd = listen_loopback(&s.port);
	CHECK(s.listen_fd >= 0);
	if (s.listen_fd >= 0 && pthread_create(&s.thread, NULL, server_run, &s) == 0) {
		test_exchanges(&s);
		test_refused_and_cancel(&s);
		test_fetch(&s);
		atomic_store(&s.stop, true);
		pthread_join(s.thread, NULL);
	} else {
		CHECK(!"cannot start the loopback server");
	}
	if (s.listen_fd >= 0)
		close(s.listen_fd);
	pthread_mutex_destroy(&s.lock);
	curl_global_cleanup();
	TEST_DONE();
}
