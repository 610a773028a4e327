/* test-pages: the paginator against a scripted HTTP server on a loopback socket: token and offset paging, the page
 * cap, the cycle check, broken pages, answers not ready yet, failures */
#include "deadline/pages.h"
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "deadline/api_policy.h"
#include "deadline/deadline_api.h"

#define N(x) (sizeof(x) / sizeof((x)[0]))

/*
 * The server answers by the page asked for: the nextToken of the query ("" for none), or the itemOffset of a POST
 * body. A page's answers are served in turn, the last one again and again; a page the script does not know gets
 * an endless one ("items=x;next=P<n>", n the number of requests so far).
 */
struct page_script {
	const char *key;
	const char *answers[4]; /* "items=a,b;next=T" (a body), or "404" */
};

struct server {
	int listen_fd;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock; /* what follows */
	const struct page_script *script;
	size_t n_script;
	int served[16]; /* answers served per script entry */
	int requests;
	char bodies[512]; /* the POST bodies received, one per line */
};

static struct server srv;

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

/* Reads one request (headers and Content-Length body) into buf; false when the client closed. */
static bool read_request(int fd, char *buf, size_t size)
{
	size_t len = 0, need = 0;
	char *end = NULL;

	for (;;) {
		ssize_t got = recv(fd, buf + len, size - 1 - len, 0);
		if (got <= 0)
			return false;
		len += (size_t)got;
		buf[len] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			need = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if ((end && len >= need) || len == size - 1)
			return true;
	}
}

/* The page a request asks for: its nextToken, or the itemOffset of its body. */
static void request_key(const char *req, char *key, size_t size)
{
	const char *line_end = strstr(req, "\r\n"), *t = strstr(req, "nextToken="), *o = strstr(req, "\"itemOffset\":");
	size_t n = 0;

	if (t && t < line_end) {
		t += strlen("nextToken=");
		while (t[n] && t[n] != '&' && t[n] != ' ' && n + 1 < size)
			n++;
		memcpy(key, t, n);
	} else if (o) {
		o += strlen("\"itemOffset\":");
		while (o[n] >= '0' && o[n] <= '9' && n + 1 < size)
			n++;
		memcpy(key, o, n);
	}
	key[n] = '\0';
}

static bool respond(int fd, const char *req)
{
	char key[64], body[256], out[512];
	const char *answer = NULL, *b = strstr(req, "\r\n\r\n");
	int status = 200, n;

	request_key(req, key, sizeof(key));
	pthread_mutex_lock(&srv.lock);
	n = ++srv.requests;
	if (b && b[4] && strlen(srv.bodies) + strlen(b + 4) + 2 < sizeof(srv.bodies)) {
		strcat(srv.bodies, b + 4);
		strcat(srv.bodies, "\n");
	}
	for (size_t i = 0; i < srv.n_script && !answer; i++) {
		const struct page_script *p = &srv.script[i];
		if (strcmp(p->key, key) != 0)
			continue;
		int k = srv.served[i]++ < (int)N(p->answers) ? srv.served[i] - 1 : (int)N(p->answers) - 1;
		while (k > 0 && !p->answers[k])
			k--;
		answer = p->answers[k];
	}
	pthread_mutex_unlock(&srv.lock);
	if (!answer) {
		/* Endless enough for any cap under test, yet a read without a cap ends (and fails its checks). */
		snprintf(body, sizeof(body), n < 5000 ? "items=x;next=P%d" : "items=end", n);
		answer = body;
	}
	if (!strcmp(answer, "404")) {
		status = 404;
		answer = "{\"__type\":\"ResourceNotFoundException\",\"message\":\"gone\"}";
	}
	/* One write: a head and a body sent apart would wait for the client's delayed ACK (Nagle). */
	snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n%s",
		status, strlen(answer), status == 404 ? "x-amzn-ErrorType: ResourceNotFoundException\r\n" : "", answer);
	return write_all(fd, out, strlen(out));
}

static void *server_run(void *arg)
{
	char req[8192];

	(void)arg;
	while (!atomic_load(&srv.stop)) {
		struct pollfd p = {.fd = srv.listen_fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		int fd = accept(srv.listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		while (read_request(fd, req, sizeof(req)) && respond(fd, req))
			;
		close(fd);
	}
	return NULL;
}

static int server_start(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);

	pthread_mutex_init(&srv.lock, NULL);
	srv.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv.listen_fd < 0 || bind(srv.listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		listen(srv.listen_fd, 8) < 0 || getsockname(srv.listen_fd, (struct sockaddr *)&a, &alen) < 0 ||
		pthread_create(&srv.thread, NULL, server_run, NULL) != 0)
		return -1;
	return ntohs(a.sin_port);
}

static void server_script(const struct page_script *script, size_t n)
{
	pthread_mutex_lock(&srv.lock);
	srv.script = script;
	srv.n_script = n;
	memset(srv.served, 0, sizeof(srv.served));
	srv.requests = 0;
	srv.bodies[0] = '\0';
	pthread_mutex_unlock(&srv.lock);
}

static int server_requests(void)
{
	pthread_mutex_lock(&srv.lock);
	int n = srv.requests;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

/* ---- the caller's side: "items=a,b;next=T" or "items=a;offset=4", a "!" item is broken ---- */

struct reading {
	char page[128]; /* the last answer's items */
	char result[512]; /* the items taken, comma-separated */
	int not_ready; /* answers take() still calls not ready */
	int fail_with; /* take() fails with this at once, when not 0 */
};

static int test_parse(void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen)
{
	struct reading *rd = ctx;
	char text[256];

	rd->page[0] = '\0';
	snprintf(text, sizeof(text), "%.*s", (int)len, body);
	for (char *save = NULL, *part = strtok_r(text, ";", &save); part; part = strtok_r(NULL, ";", &save)) {
		if (!strncmp(part, "next=", 5)) {
			free(next->token);
			next->token = strdup(part + 5);
		} else if (!strncmp(part, "offset=", 7)) {
			next->offset = strtoll(part + 7, NULL, 10);
		} else if (!strncmp(part, "items=", 6)) {
			snprintf(rd->page, sizeof(rd->page), "%s", part + 6);
			if (strchr(part, '!')) {
				snprintf(err, errlen, "a broken item");
				return DEADLINE_BAD_JSON;
			}
		}
	}
	return 0;
}

static int test_take(void *ctx, size_t pages, bool *again)
{
	struct reading *rd = ctx;

	(void)pages;
	if (rd->fail_with)
		return rd->fail_with;
	if (rd->not_ready > 0) {
		rd->not_ready--;
		*again = true;
		return 0;
	}
	size_t n = strlen(rd->result);
	snprintf(rd->result + n, sizeof(rd->result) - n, "%s%s", n ? "," : "", rd->page);
	return 0;
}

static int test_offset_request(void *ctx, const struct api_cursor *at, char **query, char **body, size_t *body_len)
{
	(void)ctx;
	if (asprintf(body, "{\"itemOffset\":%lld,\"pageSize\":2}", (long long)at->offset) < 0)
		return -ENOMEM;
	*body_len = strlen(*body);
	return 0;
}

/* ---- the API caller: no waiting between retries, no quota ---- */

static bool op_sleep(void *ctx, double ms)
{
	(void)ctx;
	(void)ms;
	return true;
}

static bool op_quota_take(void *ctx, int cost)
{
	(void)ctx;
	(void)cost;
	return true;
}

static void op_nothing(void *ctx)
{
	(void)ctx;
}

static void op_refund(void *ctx, int amount)
{
	(void)ctx;
	(void)amount;
}

static const struct api_caller_ops ops = {
	.sleep = op_sleep, .quota_take = op_quota_take, .quota_refund = op_refund, .beat = op_nothing};

static int static_keys(
	const struct aws_credentials_context *ctx, struct aws_credentials **out, char *why, size_t whylen)
{
	(void)ctx;
	(void)why;
	(void)whylen;
	return aws_credentials_new(out, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL, 0, "test");
}

static const struct aws_credentials_source static_source = {.name = "test", .fetch = static_keys};

/* Runs pg over script; returns api_pages_run()'s result, with what was logged in log. */
static int run(struct api_caller *a, struct api_pages *pg, struct reading *rd, const struct page_script *script,
	size_t n, char *log, size_t logsize)
{
	struct test_capture cap;
	int r;

	server_script(script, n);
	pg->parse = test_parse;
	if (!pg->take)
		pg->take = test_take;
	pg->ctx = rd;
	test_capture_begin(&cap);
	r = api_pages_run(a, pg);
	test_capture_end(&cap, log, logsize);
	return r;
}

static void test_tokens(struct api_caller *a)
{
	static const struct page_script three[] = {
		{"", {"items=a,b;next=T1"}}, {"T1", {"items=c;next=T/2"}}, {"T%2F2", {"items=d,e"}}};
	struct api_pages pg = {.operation = "TestList", .path = "/list"};
	struct reading rd = {0};
	char log[4096];

	/* Every page, in order; the token went back percent-encoded. */
	CHECK_INT(run(a, &pg, &rd, three, N(three), log, sizeof(log)), 0);
	CHECK_STR(rd.result, "a,b,c,d,e");
	CHECK_INT(server_requests(), 3);
}

static void test_broken(struct api_caller *a)
{
	/* Page T1 answers broken once (after naming a next page), then whole and last. */
	static const struct page_script once[] = {
		{"", {"items=a;next=T1"}}, {"T1", {"next=STALE;items=b,!", "items=b,c"}}, {"STALE", {"items=stale"}}};
	static const struct page_script always[] = {{"", {"items=a;next=T1"}}, {"T1", {"items=b,!;next=T2"}}};
	struct api_pages pg = {.operation = "TestList", .path = "/list"};
	struct reading rd = {0};
	char log[4096];

	/* The retried page is taken once; the broken answer's items and next page are gone with it. */
	CHECK_INT(run(a, &pg, &rd, once, N(once), log, sizeof(log)), 0);
	CHECK_STR(rd.result, "a,b,c");
	CHECK_INT(server_requests(), 3);

	/* A page broken at every attempt fails the read and adds nothing. */
	memset(&rd, 0, sizeof(rd));
	CHECK_INT(run(a, &pg, &rd, always, N(always), log, sizeof(log)), API_BAD_RESPONSE);
	CHECK_STR(rd.result, "a");
	CHECK_INT(server_requests(), 1 + API_RETRY_MAX_ATTEMPTS);
	CHECK(strstr(log, "a broken item") != NULL);
}

static void test_cycles(struct api_caller *a)
{
	static const struct page_script aba[] = {
		{"", {"items=a;next=A"}}, {"A", {"items=b;next=B"}}, {"B", {"items=c;next=A"}}};
	static const struct page_script aa[] = {{"", {"items=a;next=A"}}, {"A", {"items=b;next=A"}}};
	struct api_pages pg = {.operation = "TestList", .path = "/list", .report = "cost"};
	struct reading rd = {0};
	char log[4096];

	CHECK_INT(run(a, &pg, &rd, aba, N(aba), log, sizeof(log)), API_BAD_RESPONSE);
	CHECK_INT(server_requests(), 3);
	CHECK(strstr(log, "report=cost op=TestList reason=\"nextToken seen before (a cycle); giving up\"") != NULL);
	memset(&rd, 0, sizeof(rd));
	CHECK_INT(run(a, &pg, &rd, aa, N(aa), log, sizeof(log)), API_BAD_RESPONSE);
	CHECK_INT(server_requests(), 2);
}

static void test_cap(struct api_caller *a)
{
	static const struct page_script exactly[] = {
		{"", {"items=a;next=A"}}, {"A", {"items=b;next=B"}}, {"B", {"items=c"}}};
	struct api_pages pg = {.operation = "TestList", .path = "/list", .max_pages = 3};
	struct reading rd = {0};
	char log[4096];

	/* Endless pages (the script knows none): three are read, then the read gives up. */
	CHECK_INT(run(a, &pg, &rd, NULL, 0, log, sizeof(log)), API_BAD_RESPONSE);
	CHECK_INT(server_requests(), 3);
	CHECK(strstr(log, "reason=\"more than 3 pages; giving up\"") != NULL);
	/* Three pages, the last without a next one: within the cap. */
	memset(&rd, 0, sizeof(rd));
	CHECK_INT(run(a, &pg, &rd, exactly, N(exactly), log, sizeof(log)), 0);
	CHECK_STR(rd.result, "a,b,c");
	/* Without max_pages: API_LIST_PAGES_MAX. */
	pg.max_pages = 0;
	memset(&rd, 0, sizeof(rd));
	CHECK_INT(run(a, &pg, &rd, NULL, 0, log, sizeof(log)), API_BAD_RESPONSE);
	CHECK_INT(server_requests(), API_LIST_PAGES_MAX);
}

static void test_offsets(struct api_caller *a)
{
	static const struct page_script pages[] = {
		{"0", {"items=a,b;offset=2"}}, {"2", {"items=c,d;offset=4"}}, {"4", {"items=e"}}};
	static const struct page_script back[] = {{"0", {"items=a,b;offset=2"}}, {"2", {"items=c,d;offset=0"}}};
	struct api_pages pg = {.operation = "TestSearch",
		.method = "POST",
		.path = "/search",
		.by_offset = true,
		.request = test_offset_request};
	struct reading rd = {0};
	char log[4096];

	CHECK_INT(run(a, &pg, &rd, pages, N(pages), log, sizeof(log)), 0);
	CHECK_STR(rd.result, "a,b,c,d,e");
	CHECK_STR(srv.bodies, "{\"itemOffset\":0,\"pageSize\":2}\n{\"itemOffset\":2,\"pageSize\":2}\n"
			      "{\"itemOffset\":4,\"pageSize\":2}\n");
	/* Back to the first page's offset: a cycle too. */
	memset(&rd, 0, sizeof(rd));
	CHECK_INT(run(a, &pg, &rd, back, N(back), log, sizeof(log)), API_BAD_RESPONSE);
	CHECK_INT(server_requests(), 2);
	CHECK(strstr(log, "item offset seen before (a cycle)") != NULL);
}

static void test_take_outcomes(struct api_caller *a)
{
	static const struct page_script one[] = {{"", {"items=a"}}};
	static const struct page_script gone[] = {{"", {"404"}}};
	struct api_pages pg = {.operation = "TestGet", .path = "/get", .max_pages = 1};
	struct reading rd = {.not_ready = 2};
	char log[4096];

	/* Not ready twice: the same page is asked again, and counts once towards the cap. */
	CHECK_INT(run(a, &pg, &rd, one, N(one), log, sizeof(log)), 0);
	CHECK_STR(rd.result, "a");
	CHECK_INT(server_requests(), 3);
	/* take()'s own outcome ends the read as it is. */
	rd = (struct reading){.fail_with = 100};
	CHECK_INT(run(a, &pg, &rd, one, N(one), log, sizeof(log)), 100);
	/* A failed call is logged, unless a 404 is the caller's to explain. */
	rd = (struct reading){0};
	CHECK_INT(run(a, &pg, &rd, gone, N(gone), log, sizeof(log)), API_NOT_FOUND);
	CHECK(strstr(log, "op=TestGet http_status=404 code=ResourceNotFoundException") != NULL);
	pg.quiet_not_found = true;
	CHECK_INT(run(a, &pg, &rd, gone, N(gone), log, sizeof(log)), API_NOT_FOUND);
	CHECK(strstr(log, "op=TestGet http_status=404") == NULL);
}

int main(void)
{
	struct aws_credentials_provider *creds = NULL;
	const struct aws_credentials_source *chain[] = {&static_source};
	struct http_client_options ho = {.no_proxy = true};
	char endpoint[64];
	int port = server_start();
	struct api_caller a = {.region = "us-west-2", .farm_id = "farm-test", .rng = 1, .ops = &ops};

	CHECK(port > 0);
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", port);
	a.endpoint = endpoint;
	CHECK_INT(aws_credentials_provider_new_chain(&creds, "test", chain, 1, NULL), 0);
	a.creds = creds;
	CHECK_INT(http_client_new(&a.http, &ho), 0);

	test_tokens(&a);
	test_broken(&a);
	test_cycles(&a);
	test_cap(&a);
	test_offsets(&a);
	test_take_outcomes(&a);

	http_client_free(a.http);
	aws_credentials_provider_free(creds);
	atomic_store(&srv.stop, true);
	pthread_join(srv.thread, NULL);
	close(srv.listen_fd);
	TEST_DONE();
}
