/* aws_credentials: where the signing keys come from (first cut: the environment) */
#pragma once

#include <stdint.h>

/* Immutable once handed out; reference-counted so a refresh never frees keys in use. */
struct aws_credentials {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;  /* NULL when none */
	int64_t expiration;   /* UTC seconds, 0 when the keys do not expire */
	const char *provider; /* "environment", … : for log lines, never the keys */
	int refs;             /* private */
};

struct aws_credentials_provider;

/*
 * Creates the provider chain for profile (NULL: AWS_PROFILE, else "default").
 * The chain is resolved lazily, at the first aws_credentials_provider_get().
 */
int aws_credentials_provider_new(struct aws_credentials_provider **out, const char *profile);
void aws_credentials_provider_free(struct aws_credentials_provider *p);

/*
 * Returns current credentials with a reference the caller drops with aws_credentials_unref().
 * Thread-safe. Returns 0, or -ENOENT when no provider yields credentials, with a log line naming
 * each provider tried and what was missing (never a secret).
 */
int aws_credentials_provider_get(struct aws_credentials_provider *p, struct aws_credentials **out);

/* The service said the token expired: the next get() must fetch fresh credentials. */
void aws_credentials_provider_invalidate(struct aws_credentials_provider *p);

struct aws_credentials *aws_credentials_ref(struct aws_credentials *c);
void aws_credentials_unref(struct aws_credentials *c);

/* Creates static credentials (tests, providers). session_token may be NULL. */
int aws_credentials_new(struct aws_credentials **out, const char *access_key_id, const char *secret_access_key,
	const char *session_token, int64_t expiration, const char *provider);
