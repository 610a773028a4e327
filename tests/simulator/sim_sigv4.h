/* sim_sigv4: verifying a received request's AWS SigV4 signature (the server side: simulator and tests) */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "aws/sigv4.h"

/*
 * Verifies a received request. req->headers holds every received header, Authorization, X-Amz-Date and
 * the rest included. lookup_secret maps an access key id to its secret (NULL when unknown). Checks the
 * algorithm, the credential scope (region, service), that host and x-amz-date are signed, that X-Amz-Date
 * is within max_skew seconds of now, the payload hash when present, and the signature itself, which it
 * recomputes with sigv4_sign() over the signed headers: the daemon's signer is the one definition.
 * Returns 0 when valid, -EACCES when not, with a reason in why (the expected canonical request included,
 * for debugging; the session token masked in it). The path is normalised for every service but "s3".
 * -EINVAL for bad arguments, -ENOMEM, -EIO (OpenSSL).
 */
int sim_sigv4_verify(const struct sigv4_request *req, const char *region, const char *service, int64_t now,
	int64_t max_skew, const char *(*lookup_secret)(void *ctx, const char *access_key_id), void *ctx, char *why,
	size_t whylen);
