/* http_client: a libcurl easy handle per client; timeouts, TLS always verified, capped bodies, one error mapping */
#include "aws/http_client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "util/ascii.h"
#include "util/buf.h"
#include "util/version.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_MAX_BODY ((size_t)16 * 1024 * 1024)
/* A response that delivers nothing for this long is stalled, whatever the total timeout still allows. */
#define LOW_SPEED_TIME_S 15L
/* Longest x-amzn-ErrorType or Retry-After value kept; the service's are far shorter. */
#define HEADER_VALUE_MAX 1024

struct http_client {
	CURL *curl;
	char *ca_file;
	long connect_timeout_ms;
	long timeout_ms;
	size_t max_body;
	const atomic_bool *cancel;
	bool no_proxy;
	bool secret;
	char errbuf[CURL_ERROR_SIZE];
};

/* What the callbacks of one transfer share. */
struct transfer {
	struct http_client *client;
	struct http_response *resp;
	struct buf body;
	bool too_big;
	bool no_memory;
};

int http_client_new(struct http_client **out, const struct http_client_options *opts)
{
	struct http_client *c;

	*out = NULL;
	if (opts && (opts->connect_timeout_ms < 0 || opts->timeout_ms < 0))
		return -EINVAL;
	if (opts && opts->ca_file && access(opts->ca_file, R_OK) < 0)
		return -errno;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->connect_timeout_ms =
		opts && opts->connect_timeout_ms ? opts->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	c->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->max_body = opts && opts->max_body ? opts->max_body : DEFAULT_MAX_BODY;
	c->cancel = opts ? opts->cancel : NULL;
	c->no_proxy = opts && opts->no_proxy;
	c->secret = opts && opts->secret;
	if (opts && opts->ca_file) {
		c->ca_file = strdup(opts->ca_file);
		if (!c->ca_file) {
			free(c);
			return -ENOMEM;
		}
	}
	c->curl = curl_easy_init();
	if (!c->curl) {
		http_client_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->ca_file);
	free(c);
}

void http_response_deinit(struct http_response *resp)
{
	if (!resp)
		return;
	/* Credential answers pass through here: never leave one in freed memory. */
	if (resp->body)
		explicit_bzero(resp->body, resp->body_len);
	free(resp->body);
	free(resp->error_type);
	free(resp->retry_after);
	resp->body = NULL;
	resp->body_len = 0;
	resp->error_type = NULL;
	resp->retry_after = NULL;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	size_t n = size * nmemb;
	int r = buf_append(&t->body, data, n);

	/* Returning less than n makes curl abort the transfer with CURLE_WRITE_ERROR. */
	if (r == -EMSGSIZE)
		t->too_big = true;
	else if (r < 0)
		t->no_memory = true;
	return r < 0 ? 0 : n;
}

/* Stores the trimmed value of a captured header, replacing an earlier one. */
static int header_store(char **dst, const char *value, size_t len)
{
	char *v;

	while (len && (*value == ' ' || *value == '\t')) {
		value++;
		len--;
	}
	while (len && ascii_is_space(value[len - 1]))
		len--;
	if (len > HEADER_VALUE_MAX)
		len = HEADER_VALUE_MAX;
	v = strndup(value, len);
	if (!v)
		return -ENOMEM;
	free(*dst);
	*dst = v;
	return 0;
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	static const char error_type[] = "x-amzn-ErrorType:", retry_after[] = "Retry-After:";
	struct transfer *t = userdata;
	struct http_response *resp = t->resp;
	size_t n = size * nmemb;
	int r = 0;

	/* A new status line (after a 100 Continue, say): forget the previous response's headers. */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		free(resp->error_type);
		free(resp->retry_after);
		resp->error_type = resp->retry_after = NULL;
	} else if (n >= sizeof(error_type) - 1 && strncasecmp(data, error_type, sizeof(error_type) - 1) == 0) {
		r = header_store(&resp->error_type, data + sizeof(error_type) - 1, n - (sizeof(error_type) - 1));
	} else if (n >= sizeof(retry_after) - 1 && strncasecmp(data, retry_after, sizeof(retry_after) - 1) == 0) {
		r = header_store(&resp->retry_after, data + sizeof(retry_after) - 1, n - (sizeof(retry_after) - 1));
	}
	if (r < 0) {
		t->no_memory = true;
		return 0;
	}
	return n;
}

static int progress_cb(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct transfer *t = userdata;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	/* Non-zero aborts the transfer with CURLE_ABORTED_BY_CALLBACK. */
	return t->client->cancel && atomic_load(t->client->cancel) ? 1 : 0;
}

static bool header_text_valid(const char *s)
{
	return s && !strpbrk(s, "\r\n");
}

/* "Name: value" lines for curl; an empty value needs curl's "Name;" form to be sent at all. */
static int header_list_build(const struct http_request *req, struct curl_slist **out)
{
	struct curl_slist *list = NULL, *next;
	int r = 0;

	*out = NULL;
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct sigv4_header *h = &req->headers[i];
		char *line = NULL;
		int n;

		if (!header_text_valid(h->name) || !*h->name || strpbrk(h->name, ": \t") ||
			!header_text_valid(h->value)) {
			r = -EINVAL;
			goto fail;
		}
		n = *h->value ? asprintf(&line, "%s: %s", h->name, h->value) : asprintf(&line, "%s;", h->name);
		if (n < 0) {
			r = -ENOMEM;
			goto fail;
		}
		next = curl_slist_append(list, line);
		/* Authorization and token headers: not left in freed memory. */
		explicit_bzero(line, (size_t)n);
		free(line);
		if (!next) {
			r = -ENOMEM;
			goto fail;
		}
		list = next;
	}
	/* No "Expect: 100-continue" round trip for POST bodies: the API's are small. */
	next = curl_slist_append(list, "Expect:");
	if (!next) {
		r = -ENOMEM;
		goto fail;
	}
	*out = next;
	return 0;
fail:
	curl_slist_free_all(list);
	return r;
}

/*
 * Sets every option of one transfer on a freshly reset handle: curl_easy_reset() clears options
 * left by the previous request but keeps the open connection, so keep-alive still works.
 */
static CURLcode transfer_setup(
	struct http_client *c, const struct http_request *req, struct curl_slist *headers, struct transfer *t)
{
	CURL *h = c->curl;
	long low_speed_time = c->timeout_ms / 1000 < LOW_SPEED_TIME_S ? c->timeout_ms / 1000 : LOW_SPEED_TIME_S;
	CURLcode e;

	if (low_speed_time < 1)
		low_speed_time = 1;
#define SET(opt, value) \
	do { \
		e = curl_easy_setopt(h, opt, value); \
		if (e != CURLE_OK) \
			return e; \
	} while (0)

	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	/*
	 * Pages are JSON, 10-60 KB: asked for gzip (the SDKs' HTTP stacks decode it too, asked or not), decoded
	 * by libcurl before the body cap applies, so a small compressed body cannot expand past it.
	 */
	SET(CURLOPT_ACCEPT_ENCODING, "gzip");
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, c->timeout_ms);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, low_speed_time);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file) {
		/* Replace the system store entirely, bundle and directory, as AWS_CA_BUNDLE does. */
		SET(CURLOPT_CAINFO, c->ca_file);
		SET(CURLOPT_CAPATH, (char *)NULL);
	}
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, t);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, t);
	if (c->cancel) {
		SET(CURLOPT_XFERINFOFUNCTION, progress_cb);
		SET(CURLOPT_XFERINFODATA, t);
		SET(CURLOPT_NOPROGRESS, 0L);
	}
	SET(CURLOPT_USERAGENT, VERSION_USER_AGENT);
	if (c->no_proxy)
		SET(CURLOPT_NOPROXY, "*");
	if (strcmp(req->method, "POST") == 0) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
		SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
	} else {
		SET(CURLOPT_HTTPGET, 1L);
		/* A PUT without a body: a GET under another name, rather than an upload waiting for data. */
		if (strcmp(req->method, "PUT") == 0)
			SET(CURLOPT_CUSTOMREQUEST, "PUT");
	}
#undef SET
	return CURLE_OK;
}

static int curl_code_to_errno(CURLcode e, const struct transfer *t)
{
	switch (e) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
		return -ECONNRESET;
	case CURLE_WRITE_ERROR:
		if (t->too_big)
			return -EMSGSIZE;
		return t->no_memory ? -ENOMEM : -EIO;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	case CURLE_UNSUPPORTED_PROTOCOL: /* also "Received HTTP/0.9 when not allowed" */
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
		return -EPROTO;
	default:
		return -EIO;
	}
}

int http_client_send(struct http_client *c, const struct http_request *req, struct http_response *resp)
{
	struct transfer t = {.client = c, .resp = resp};
	struct curl_slist *headers = NULL;
	CURLcode e;
	long status = 0;
	int r;

	memset(resp, 0, sizeof(*resp));
	if (!c || !req || !req->url || !req->method || (req->n_headers && !req->headers) ||
		(strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0 &&
			strcmp(req->method, "PUT") != 0) ||
		(strcmp(req->method, "POST") != 0 && req->body_len)) {
		snprintf(resp->error, sizeof(resp->error), "unsupported request");
		return -EINVAL;
	}
	buf_init(&t.body, c->max_body, c->secret);
	r = header_list_build(req, &headers);
	if (r < 0) {
		snprintf(resp->error, sizeof(resp->error), "%s",
			r == -EINVAL ? "invalid header name or value" : "out of memory");
		return r;
	}

	curl_easy_reset(c->curl);
	c->errbuf[0] = '\0';
	e = transfer_setup(c, req, headers, &t);
	if (e == CURLE_OK)
		e = curl_easy_perform(c->curl);
	if (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
		resp->status = status;
	r = curl_code_to_errno(e, &t);
	if (r < 0) {
		if (t.too_big)
			snprintf(resp->error, sizeof(resp->error), "response body larger than %zu bytes", c->max_body);
		else if (c->errbuf[0])
			snprintf(resp->error, sizeof(resp->error), "%s", c->errbuf);
		else
			snprintf(resp->error, sizeof(resp->error), "%s", curl_easy_strerror(e));
		goto out;
	}
	resp->body = buf_take(&t.body, &resp->body_len);
	if (!resp->body)
		r = -ENOMEM;
out:
	buf_deinit(&t.body);
	/* The handle keeps pointers to these; clear them before the list goes. */
	if (curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL) != CURLE_OK && r == 0)
		r = -EIO;
	curl_slist_free_all(headers);
	return r;
}

int http_client_fetch(
	const struct http_client_options *opts, const struct http_request *req, struct http_response *resp)
{
	struct http_client *c = NULL;
	int r;

	memset(resp, 0, sizeof(*resp));
	r = http_client_new(&c, opts);
	if (r < 0) {
		snprintf(resp->error, sizeof(resp->error), "cannot set up the HTTP client: %s", strerror(-r));
		return r;
	}
	r = http_client_send(c, req, resp);
	http_client_free(c);
	return r;
}

int http_url_host(const char *url, char **host)
{
	char *scheme = NULL, *name = NULL, *port = NULL;
	CURLU *u;
	CURLUcode ue;
	int r = -EINVAL;

	*host = NULL;
	if (!url)
		return -EINVAL;
	u = curl_url();
	if (!u)
		return -ENOMEM;
	ue = curl_url_set(u, CURLUPART_URL, url, 0);
	if (ue == CURLUE_OUT_OF_MEMORY)
		r = -ENOMEM;
	if (ue != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || curl_url_get(u, CURLUPART_HOST, &name, 0))
		goto out;
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
		goto out;
	ue = curl_url_get(u, CURLUPART_PORT, &port, 0);
	if (ue != CURLUE_OK && ue != CURLUE_NO_PORT)
		goto out;
	/* curl leaves the port out of its Host header for the scheme's default port: so must we. */
	if (port && !((strcasecmp(scheme, "http") == 0 && strcmp(port, "80") == 0) ||
			    (strcasecmp(scheme, "https") == 0 && strcmp(port, "443") == 0)))
		r = asprintf(host, "%s:%s", name, port) < 0 ? -ENOMEM : 0;
	else
		r = (*host = strdup(name)) ? 0 : -ENOMEM;
	if (r < 0)
		*host = NULL;
out:
	curl_free(scheme);
	curl_free(name);
	curl_free(port);
	curl_url_cleanup(u);
	return r;
}
