/* web_auth: HTTP basic authentication against bcrypt hashes, in constant time, with a short cache */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* What web_auth_check() decided, when it did not fail. */
enum web_auth_result {
	WEB_AUTH_ALLOWED = 0,
	WEB_AUTH_DENIED = 1, /* the credentials are missing, malformed or wrong */
};

/* How long a successful check is remembered after its last use, so that each scrape does not cost a bcrypt. */
#define WEB_AUTH_CACHE_SECONDS 120
#define WEB_AUTH_CACHE_SLOTS 16
/* Longest Authorization header value considered (base64 of a long user name and password). */
#define WEB_AUTH_HEADER_MAX 1024

struct web_auth;

/*
 * A checker for users (n >= 1; each with a valid bcrypt hash), copied. Returns 0, -EINVAL, -ENOMEM.
 * Thread-safe: web_auth_check() may run in many threads at once. Reference counted: web_auth_new()
 * gives one reference, web_auth_unref() drops one and frees with the last.
 */
int web_auth_new(struct web_auth **out, const struct web_user *users, size_t n);
struct web_auth *web_auth_ref(struct web_auth *a);
void web_auth_unref(struct web_auth *a); /* NULL-safe */

/*
 * Checks an Authorization header value ("Basic base64(user:password)"; NULL when absent) at now_ms, a
 * monotonic clock in milliseconds. Returns WEB_AUTH_ALLOWED (0), WEB_AUTH_DENIED, or -ENOMEM.
 * An unknown user costs the same bcrypt work as a known one, and names and hashes are compared in
 * constant time, so the answer's timing does not tell which users exist. A success is remembered for
 * WEB_AUTH_CACHE_SECONDS after its last use, keyed by the SHA-256 of the header value.
 */
int web_auth_check(struct web_auth *a, const char *authorization, int64_t now_ms);

/* test hook: */

/* Counters: bcrypt computations done, cache hits. */
void web_auth_stats(struct web_auth *a, uint64_t *bcrypt_runs, uint64_t *cache_hits);
