/* http_client: one libcurl easy handle per thread; timeouts, TLS, capped bodies, errors mapped to codes */
#pragma once

#include <stdatomic.h>
#include <stddef.h>

#include "aws/sigv4.h"

struct http_client_options {
	const char *ca_file;      /* trusted CA bundle (PEM), or NULL for the system store. Like the AWS CLI's
	                             AWS_CA_BUNDLE it REPLACES the system store (bundle and directory): to add a
	                             private CA, give a file holding it and the public CAs. Copied. */
	long connect_timeout_ms;  /* 0: default 5000 */
	long timeout_ms;          /* whole request, 0: default 30000 */
	size_t max_body;          /* 0: default 16 MiB; a longer body fails with -EMSGSIZE */
	const atomic_bool *cancel; /* when set and true, an in-flight request is aborted (-ECANCELED) */
};

struct http_request {
	const char *method;                 /* "GET" or "POST" */
	const char *url;                    /* full URL, query included */
	const struct sigv4_header *headers; /* sent as given */
	size_t n_headers;
	const char *body;                   /* POST body or NULL */
	size_t body_len;
};

struct http_response {
	long status;            /* HTTP status, 0 when no response arrived */
	char *body;             /* NUL-terminated, malloc'd (may be "" but never NULL after success) */
	size_t body_len;
	char *error_type;       /* x-amzn-ErrorType header, NULL when absent */
	char *retry_after;      /* Retry-After header, NULL when absent */
	char error[256];        /* transport failure: curl's own message */
};

struct http_client;

int http_client_new(struct http_client **out, const struct http_client_options *opts);
void http_client_free(struct http_client *c);

/*
 * Sends req and waits for the whole response. Returns 0 whenever an HTTP response arrived
 * (whatever its status); for transport failures a negative code with curl's message in
 * resp->error: -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET (incl. a body cut short), -EMSGSIZE (body over
 * max_body), -EPROTO (TLS or HTTP protocol), -EIO (anything else). Free resp with
 * http_response_deinit() in every case.
 * Also: -EINVAL for a request it cannot send (method other than GET/POST, CR or LF in a header, bad URL),
 * -ECANCELED when opts->cancel became true, -ENOMEM. TLS verification is always on; the protocol is
 * HTTP/1.1 (http or https only, no redirects followed); the connection is kept alive between requests.
 * curl sends Host itself, computed from the URL exactly as http_url_host() does: sign that value.
 */
int http_client_send(struct http_client *c, const struct http_request *req, struct http_response *resp);
void http_response_deinit(struct http_response *resp);

/*
 * Splits an absolute URL into host (with ":port" when not the scheme's default) and the part
 * before the path ("https://host:port"); used for the Host header the signer signs.
 * Returns 0 with *host malloc'd ("example.com", "127.0.0.1:8080", "[::1]:9000"), -EINVAL for a URL
 * that is not http(s) with a host, -ENOMEM.
 */
int http_url_host(const char *url, char **host);
