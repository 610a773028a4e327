/* aws_http: one libcurl easy handle per request for the rare credential fetches; bounded, no redirects */
#include "aws/aws_http.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct sink {
	struct aws_http_response *resp;
	size_t cap;
	bool too_big;
	bool no_memory;
};

static size_t body_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	struct aws_http_response *resp = s->resp;
	size_t n = size * nmemb;

	if (resp->body_len + n > AWS_HTTP_MAX_BODY) {
		s->too_big = true;
		return 0;
	}
	if (resp->body_len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		char *grown;

		while (cap < resp->body_len + n + 1)
			cap *= 2;
		grown = malloc(cap);
		if (!grown) {
			s->no_memory = true;
			return 0;
		}
		/* Copied rather than realloc'd so no secret is left behind in freed memory. */
		if (resp->body) {
			memcpy(grown, resp->body, resp->body_len);
			explicit_bzero(resp->body, s->cap);
			free(resp->body);
		}
		resp->body = grown;
		s->cap = cap;
	}
	memcpy(resp->body + resp->body_len, data, n);
	resp->body_len += n;
	resp->body[resp->body_len] = '\0';
	return n;
}

void aws_http_response_deinit(struct aws_http_response *resp)
{
	if (!resp)
		return;
	if (resp->body) {
		explicit_bzero(resp->body, resp->body_len);
		free(resp->body);
	}
	resp->body = NULL;
	resp->body_len = 0;
}

static int curl_code_errno(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EPROTO;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	default:
		return -EIO;
	}
}

#define SETOPT(h, opt, val) \
	do { \
		if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) { \
			r = -EINVAL; \
			goto out; \
		} \
	} while (0)

int aws_http_send(const struct aws_http_request *req, struct aws_http_response *resp)
{
	struct sink sink = {.resp = resp};
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h = NULL;
	CURLcode cc;
	int r = 0;

	memset(resp, 0, sizeof(*resp));
	if (!req->url || !req->method ||
		(strcmp(req->method, "GET") && strcmp(req->method, "PUT") && strcmp(req->method, "POST")))
		return -EINVAL;
	h = curl_easy_init();
	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < req->n_headers; i++) {
		struct curl_slist *l;

		if (strpbrk(req->headers[i], "\r\n")) {
			r = -EINVAL;
			goto out;
		}
		l = curl_slist_append(headers, req->headers[i]);
		if (!l) {
			r = -ENOMEM;
			goto out;
		}
		headers = l;
	}
	/* libcurl would add "Expect: 100-continue" to a POST; STS does not need the round trip. */
	{
		struct curl_slist *l = curl_slist_append(headers, "Expect:");
		if (!l) {
			r = -ENOMEM;
			goto out;
		}
		headers = l;
	}
	SETOPT(h, CURLOPT_URL, req->url);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms ? req->connect_timeout_ms : 2000L);
	SETOPT(h, CURLOPT_TIMEOUT_MS, req->timeout_ms ? req->timeout_ms : 10000L);
	SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(h, CURLOPT_WRITEFUNCTION, body_write);
	SETOPT(h, CURLOPT_WRITEDATA, &sink);
	SETOPT(h, CURLOPT_HTTPHEADER, headers);
	SETOPT(h, CURLOPT_USERAGENT, "deadline-cloud-exporter/" EXPORTER_VERSION);
	SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file) {
		SETOPT(h, CURLOPT_CAINFO, req->ca_file);
		SETOPT(h, CURLOPT_CAPATH, (char *)NULL);
	}
	if (req->no_proxy)
		SETOPT(h, CURLOPT_NOPROXY, "*");
	if (strcmp(req->method, "POST") == 0) {
		SETOPT(h, CURLOPT_POST, 1L);
		SETOPT(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		SETOPT(h, CURLOPT_POSTFIELDSIZE, (long)(req->body ? req->body_len : 0));
	} else if (strcmp(req->method, "PUT") == 0) {
		/* A PUT without a body: a custom request rather than an upload that would wait for data. */
		SETOPT(h, CURLOPT_CUSTOMREQUEST, "PUT");
	}
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		if (sink.too_big)
			r = -EMSGSIZE;
		else if (sink.no_memory)
			r = -ENOMEM;
		else
			r = curl_code_errno(cc);
		snprintf(resp->error, sizeof(resp->error), "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status) != CURLE_OK) {
		r = -EIO;
		goto out;
	}
	if (!resp->body) {
		resp->body = calloc(1, 1);
		if (!resp->body)
			r = -ENOMEM;
	}
out:
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	return r;
}
