/* aws_http: the small HTTP client of the credential providers (IMDS, container endpoint, STS) */
#pragma once

#include <stddef.h>

struct aws_http_request {
	const char *method;        /* "GET", "PUT" or "POST" */
	const char *url;
	const char *const *headers; /* "Name: value" lines, may hold secrets (never logged) */
	size_t n_headers;
	const char *body;          /* NULL for none */
	size_t body_len;
	const char *ca_file;       /* PEM bundle replacing the system store (https only), NULL: the system's */
	long connect_timeout_ms;   /* 0: 2000 */
	long timeout_ms;           /* 0: 10000 */
	int no_proxy;              /* link-local and loopback services are never reached through a proxy */
};

struct aws_http_response {
	long status;   /* 0 when no response arrived */
	char *body;    /* NUL-terminated, malloc'd; may hold secrets: free with aws_http_response_deinit() */
	size_t body_len;
	char error[256]; /* transport failure: curl's message (never a secret) */
};

/* Responses are capped at this size (-EMSGSIZE beyond). */
#define AWS_HTTP_MAX_BODY (256 * 1024)

/*
 * Sends req once. Returns 0 when an HTTP response arrived (any status), -ECONNREFUSED, -ETIMEDOUT,
 * -EMSGSIZE, -EPROTO (TLS, protocol), -EIO (other transport failures, resp->error says which), -EINVAL
 * (bad request), -ENOMEM. Always free resp with aws_http_response_deinit().
 */
int aws_http_send(const struct aws_http_request *req, struct aws_http_response *resp);
void aws_http_response_deinit(struct aws_http_response *resp);
