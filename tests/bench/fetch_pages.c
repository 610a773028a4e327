/*
 * fetch_pages: the ingest benchmark's baseline. Starts one sessions-statistics aggregation, polls until it
 * completes and fetches every page with plain libcurl (one reused handle), signing each request with the
 * project's SigV4; the pages are discarded (only nextToken is looked for, by a string search). Prints one
 * line of key=value figures: pages, bytes, seconds from the first page request to the last page, CPU seconds.
 *
 * usage: fetch_pages ENDPOINT FARM_ID QUEUE_IDS(comma-separated, <=10) START END GROUP_BY(comma-separated)
 * Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, region AWS_REGION (default us-west-2).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "aws/sigv4.h"

struct buf {
	char *data;
	size_t len, cap;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;
	size_t add = size * n;
	if (b->len + add + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		while (cap < b->len + add + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static const char *host;
static const char *endpoint;

/* Signs and sends one request; the body lands in out. Returns the HTTP status or -1. */
static long send_signed(
	CURL *h, const char *method, const char *path, const char *query, const char *body, struct buf *out)
{
	const char *region = getenv("AWS_REGION") ? getenv("AWS_REGION") : "us-west-2";
	struct sigv4_header to_sign[2] = {{"host", host}, {"content-type", "application/json"}};
	struct sigv4_request req = {
		.method = method,
		.path = path,
		.query = query,
		.headers = to_sign,
		.n_headers = body ? 2 : 1,
		.body = body ? body : "",
		.body_len = body ? strlen(body) : 0,
	};
	struct sigv4_params params = {
		.access_key_id = getenv("AWS_ACCESS_KEY_ID"),
		.secret_access_key = getenv("AWS_SECRET_ACCESS_KEY"),
		.session_token = getenv("AWS_SESSION_TOKEN"),
		.region = region,
		.service = "deadline",
		.now = (long long)time(NULL),
		.normalize_path = true,
		.sign_body = true,
	};
	struct sigv4_signed sig = {0};
	if (sigv4_sign(&req, &params, &sig) < 0) {
		fprintf(stderr, "fetch_pages: cannot sign\n");
		return -1;
	}
	char url[4096], line[2048];
	snprintf(url, sizeof(url), "%s%s%s%s", endpoint, path, query && *query ? "?" : "", query ? query : "");
	struct curl_slist *hdrs = NULL;
	if (body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	snprintf(line, sizeof(line), "X-Amz-Date: %s", sig.amz_date);
	hdrs = curl_slist_append(hdrs, line);
	snprintf(line, sizeof(line), "X-Amz-Content-Sha256: %s", sig.payload_hash);
	hdrs = curl_slist_append(hdrs, line);
	if (params.session_token) {
		snprintf(line, sizeof(line), "X-Amz-Security-Token: %s", params.session_token);
		hdrs = curl_slist_append(hdrs, line);
	}
	snprintf(line, sizeof(line), "Authorization: %s", sig.authorization);
	hdrs = curl_slist_append(hdrs, line);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	sigv4_signed_deinit(&sig);

	out->len = 0;
	if (out->data)
		out->data[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	CURLcode c = curl_easy_perform(h);
	curl_slist_free_all(hdrs);
	if (c != CURLE_OK) {
		fprintf(stderr, "fetch_pages: %s %s: %s\n", method, url, curl_easy_strerror(c));
		return -1;
	}
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* The string value of "key" in body (JSON, unescaping \/ only), malloc'd, or NULL. */
static char *find_string(const char *body, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	const char *p = strstr(body, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	const char *e = strchr(p, '"');
	if (!e)
		return NULL;
	char *out = malloc((size_t)(e - p) + 1), *o = out;
	for (; p < e; p++) {
		if (*p == '\\' && p + 1 < e)
			p++;
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

static char *json_list(const char *csv)
{
	static char out[4096];
	size_t n = 0;
	char *copy = strdup(csv), *save = NULL;
	n += (size_t)snprintf(out + n, sizeof(out) - n, "[");
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s\"%s\"", n > 1 ? "," : "", t);
	snprintf(out + n, sizeof(out) - n, "]");
	free(copy);
	return strdup(out);
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: fetch_pages ENDPOINT FARM_ID QUEUE_IDS START END GROUP_BY\n");
		return 2;
	}
	endpoint = argv[1];
	const char *farm = argv[2];
	const char *hp = strstr(endpoint, "://");
	host = hp ? hp + 3 : endpoint;
	if (!getenv("AWS_ACCESS_KEY_ID") || !getenv("AWS_SECRET_ACCESS_KEY")) {
		fprintf(stderr, "fetch_pages: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "fetch_pages");

	char path[512], *queues = json_list(argv[3]), *groups = json_list(argv[6]), *body = NULL;
	snprintf(path, sizeof(path), "/2023-10-12/farms/%s/sessions-statistics-aggregation", farm);
	if (asprintf(&body,
		    "{\"farmId\":\"%s\",\"resourceIds\":{\"queueIds\":%s},\"startTime\":\"%s\",\"endTime\":\"%s\","
		    "\"groupBy\":%s,\"statistics\":[\"SUM\",\"MIN\",\"MAX\",\"AVG\"],\"timezone\":\"UTC+00:00\","
		    "\"period\":\"MONTHLY\"}",
		    farm, queues, argv[4], argv[5], groups) < 0)
		return 1;
	struct buf b = {0};
	long st;
	for (int attempt = 0;; attempt++) {
		st = send_signed(h, "POST", path, NULL, body, &b);
		if (st == 429 && attempt < 600) { /* the farm is busy with another aggregation */
			usleep(100000);
			continue;
		}
		break;
	}
	if (st != 200) {
		fprintf(stderr, "fetch_pages: Start answered %ld: %.300s\n", st, b.data ? b.data : "");
		return 1;
	}
	char *id = find_string(b.data, "aggregationId");
	if (!id) {
		fprintf(stderr, "fetch_pages: no aggregationId in %.300s\n", b.data);
		return 1;
	}
	char *token = NULL;
	size_t pages = 0, bytes = 0;
	double first = 0, cpu0 = 0;
	for (;;) {
		char *q = NULL, *tok_enc = token ? sigv4_uri_encode(token, true) : NULL;
		if (asprintf(&q, "aggregationId=%s&maxResults=100%s%s", id, tok_enc ? "&nextToken=" : "",
			    tok_enc ? tok_enc : "") < 0)
			return 1;
		free(tok_enc);
		double t = now_s(), c = cpu_s();
		st = send_signed(h, "GET", path, q, NULL, &b);
		free(q);
		if (st != 200) {
			fprintf(stderr, "fetch_pages: Get answered %ld: %.300s\n", st, b.data ? b.data : "");
			return 1;
		}
		if (strstr(b.data, "\"IN_PROGRESS\"") && !token) {
			usleep(20000);
			continue;
		}
		if (!pages) {
			first = t;
			cpu0 = c;
		}
		pages++;
		bytes += b.len;
		free(token);
		token = find_string(b.data, "nextToken");
		if (!token)
			break;
	}
	double elapsed = now_s() - first, cpu = cpu_s() - cpu0;
	printf("pages=%zu bytes=%zu seconds=%.6f cpu_seconds=%.6f\n", pages, bytes, elapsed, cpu);
	free(id);
	free(b.data);
	free(body);
	free(queues);
	free(groups);
	curl_easy_cleanup(h);
	curl_global_cleanup();
	return pages ? 0 : 1;
}
