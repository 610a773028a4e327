/* http_client: the one libcurl wrapper (API calls and credential fetches): timeouts, TLS, capped bodies */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "aws/sigv4.h"

struct http_client_options {
	const char *ca_file; /* trusted CA bundle (PEM), or NULL for the system store. Like the AWS CLI's
				AWS_CA_BUNDLE it REPLACES the system store (bundle and directory): to add a
				private CA, give a file holding it and the public CAs. Copied. */
	long connect_timeout_ms; /* 0: default 5000 */
	long timeout_ms; /* whole request, 0: default 30000 */
	size_t max_body; /* 0: default 16 MiB; a longer body fails with -EMSGSIZE */
	const atomic_bool *cancel; /* when set and true, an in-flight request is aborted (-ECANCELED) */
	bool no_proxy; /* never through a proxy: link-local and loopback credential services */
	bool secret; /* requests and answers hold secrets (credentials): their memory is zeroed
			before it is given back */
};

struct http_request {
	const char *method; /* "GET", "POST", or "PUT" (without a body: the IMDS token) */
	const char *url; /* full URL, query included */
	const struct sigv4_header *headers; /* sent as given; never logged (they may hold secrets) */
	size_t n_headers;
	const char *body; /* POST body or NULL */
	size_t body_len;
};

struct http_response {
	long status; /* HTTP status, 0 when no response arrived */
	char *body; /* NUL-terminated, malloc'd (may be "" but never NULL after success); zeroed
		       by http_response_deinit(), as it may hold credentials */
	size_t body_len;
	char *error_type; /* x-amzn-ErrorType header, NULL when absent */
	char *retry_after; /* Retry-After header, NULL when absent */
	char error[256]; /* transport failure: curl's own message */
};

struct http_client;

/*
 * A client with its own easy handle (and so its own kept-alive connection); opts may be NULL for the
 * defaults. Returns 0, -EINVAL (negative timeouts), -ENOENT/-EACCES (ca_file not readable), -ENOMEM.
 */
int http_client_new(struct http_client **out, const struct http_client_options *opts);

/* Frees c and closes its connection. NULL-safe. */
void http_client_free(struct http_client *c);

/*
 * Sends req and waits for the whole response. Returns 0 whenever an HTTP response arrived
 * (whatever its status); for transport failures a negative code with curl's message in
 * resp->error: -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET (incl. a body cut short), -EMSGSIZE (body over
 * max_body), -EPROTO (TLS or HTTP protocol), -EIO (anything else). Free resp with
 * http_response_deinit() in every case.
 * Also: -EINVAL for a request it cannot send (method other than GET/POST/PUT, a body on a GET or PUT, CR or LF in a
 * header, bad URL),
 * -ECANCELED when opts->cancel became true, -ENOMEM. TLS verification is always on; the protocol is
 * HTTP/1.1 (http or https only, no redirects followed); the connection is kept alive between requests.
 * curl sends Host itself, computed from the URL exactly as http_url_host() does: sign that value.
 */
int http_client_send(struct http_client *c, const struct http_request *req, struct http_response *resp);

/*
 * One request on a client of its own, closed afterwards: for the rare credential fetches (IMDS, the
 * container endpoint, STS). Returns what http_client_new() or http_client_send() return.
 */
int http_client_fetch(
	const struct http_client_options *opts, const struct http_request *req, struct http_response *resp);

/* Zeroes and frees what resp holds; resp can be sent again. NULL-safe. */
void http_response_deinit(struct http_response *resp);

/*
 * Splits an absolute URL into host (with ":port" when not the scheme's default) and the part
 * before the path ("https://host:port"); used for the Host header the signer signs.
 * Returns 0 with *host malloc'd ("example.com", "127.0.0.1:8080", "[::1]:9000"), -EINVAL for a URL
 * that is not http(s) with a host, -ENOMEM.
 */
int http_url_host(const char *url, char **host);
