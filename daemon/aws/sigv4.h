/* sigv4: AWS Signature Version 4 (AWS4-HMAC-SHA256), pure: no clock, no network, no globals */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sigv4_header {
	const char *name;
	const char *value;
};

/* The request as it goes on the wire. */
struct sigv4_request {
	const char *method; /* "GET", "POST" */
	const char *path; /* as sent, percent-encoded: "/2023-10-12/farms/farm-…/queues" */
	const char *query; /* as sent, without '?'; NULL or "" for none */
	const struct sigv4_header *headers; /* every header to sign, "host" included; not x-amz-date,
					       x-amz-content-sha256, x-amz-security-token, authorization:
					       the signer adds those */
	size_t n_headers;
	const void *body;
	size_t body_len;
};

struct sigv4_params {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL when the credentials have none */
	const char *region; /* "us-west-2" */
	const char *service; /* "deadline" */
	int64_t now; /* UTC seconds: the signer never reads a clock */
	bool normalize_path; /* remove dot segments and repeated slashes (true for all but S3) */
	bool sign_body; /* add and sign x-amz-content-sha256 */
};

/* What the caller must add to the request it sends. */
struct sigv4_signed {
	char amz_date[17]; /* X-Amz-Date: "20150830T123600Z" */
	char payload_hash[65]; /* X-Amz-Content-Sha256 (when sign_body) */
	char *authorization; /* Authorization: "AWS4-HMAC-SHA256 Credential=…" (malloc'd) */
	/* X-Amz-Security-Token: params.session_token, when set */
};

/*
 * Signs req. On success fills out (free with sigv4_signed_deinit()) and returns 0; -EINVAL for a
 * malformed request (bad percent-encoding, missing host), -ENOMEM.
 * Also -EINVAL when req->headers already holds a header the signer adds (Authorization, X-Amz-Date, and
 * X-Amz-Content-Sha256 / X-Amz-Security-Token when it adds them), or for a header value with CR or LF;
 * -EIO if OpenSSL fails. out is zeroed on failure. In req->query a literal '+' stands for a space (as
 * AWS reads it): encode values with sigv4_uri_encode(v, true) so a real '+' travels as %2B.
 * The path is signed as sent, percent-encoded once more (SigV4 for every service but S3).
 */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_params *params, struct sigv4_signed *out);
/* Frees what sigv4_sign() put in s. NULL-safe. */
void sigv4_signed_deinit(struct sigv4_signed *s);

/* Percent-encodes s per RFC 3986 (unreserved kept), as SigV4 and the API's query want. malloc'd. */
char *sigv4_uri_encode(const char *s, bool encode_slash);

/*
 * test hook: the intermediate texts of sigv4_sign(), for the AWS test suite, the fuzzer and the simulator's
 * verifier (which explains a refused signature with them). Same return codes as sigv4_sign(); *out malloc'd.
 */
int sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_params *params, char **out);
int sigv4_string_to_sign(const struct sigv4_request *req, const struct sigv4_params *params, char **out);
