/* aws_request: sign an AWS API request with SigV4 and send it once (the one place that does both) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/http_client.h"

struct aws_request {
	const char *method; /* "GET" or "POST" */
	const char *url; /* absolute; its path and query are signed exactly as written */
	const char *content_type; /* sent (and signed) when not NULL */
	const char *accept; /* sent when not NULL */
	const char *target; /* X-Amz-Target (JSON 1.1 protocols), sent and signed when not NULL */
	const char *body; /* NULL for none */
	size_t body_len;
};

/* Who signs, for which service; the keys are borrowed for the call, never copied or logged. */
struct aws_request_signer {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL for long-term keys */
	const char *region;
	const char *service; /* "deadline", "sts", "identitystore" */
	int64_t now; /* UTC seconds: the signature's time */
	bool sign_body; /* add and sign X-Amz-Content-Sha256 (as the JSON APIs' SDKs do; STS does not) */
};

/*
 * Signs req with signer (SigV4; NULL sends it unsigned) and sends it on http, with the exporter's
 * User-Agent. Returns what http_client_send() returns (0 whenever a response arrived, whatever its
 * status), or before sending: -EINVAL (URL without an http(s) host, a request SigV4 refuses), -ENOMEM,
 * -EIO (OpenSSL failed).
 * Free resp with http_response_deinit() in every case.
 */
int aws_request_send(struct http_client *http, const struct aws_request *req, const struct aws_request_signer *signer,
	struct http_response *resp);
