/* aws_credentials: where the signing keys come from (first cut: the environment) */
#pragma once

#include <stddef.h>
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
 * each provider tried and what was missing (never a secret). A provider that is configured but broken
 * (AWS_ACCESS_KEY_ID without AWS_SECRET_ACCESS_KEY) stops the chain with its own code (-EINVAL), also
 * logged; -ENOMEM. The same failure is logged once as an error, then at debug level until it changes.
 */
int aws_credentials_provider_get(struct aws_credentials_provider *p, struct aws_credentials **out);

/* The service said the token expired: the next get() must fetch fresh credentials. */
void aws_credentials_provider_invalidate(struct aws_credentials_provider *p);

struct aws_credentials *aws_credentials_ref(struct aws_credentials *c);
void aws_credentials_unref(struct aws_credentials *c);

/* Creates static credentials (tests, providers). session_token may be NULL. */
int aws_credentials_new(struct aws_credentials **out, const char *access_key_id, const char *secret_access_key,
	const char *session_token, int64_t expiration, const char *provider);

/*
 * One link of the provider chain. The chain asks each source in turn; the first to return 0 wins.
 * fetch() returns 0 with *out (one reference, its expiration set, provider = the source's name),
 * -ENOENT when the source has nothing to offer (why says what was missing: the chain goes on), or
 * another negative code for a source that is configured but broken (why says how: the chain stops).
 * why never holds a secret. Sources to come behind the same interface: profile files,
 * credential_process, web identity, container, IMDSv2.
 */
struct aws_credentials_source {
	const char *name; /* "environment": static */
	int (*fetch)(const char *profile, struct aws_credentials **out, char *why, size_t whylen);
};

/* The default chain aws_credentials_provider_new() uses. */
extern const struct aws_credentials_source aws_credentials_source_environment;

/*
 * Refresh credentials that expire within this many seconds of now; until they do expire, a failed refresh
 * keeps them in use (with a warning).
 */
#define AWS_CREDENTIALS_REFRESH_MARGIN 300

/*
 * Like aws_credentials_provider_new() with an explicit chain (tests, later providers): sources (static,
 * not copied) are tried in order. now returns UTC seconds (NULL: time()).
 */
int aws_credentials_provider_new_chain(struct aws_credentials_provider **out, const char *profile,
	const struct aws_credentials_source *const *sources, size_t n_sources, int64_t (*now)(void));

/* The profile the chain was created for ("default" when none was given). */
const char *aws_credentials_provider_profile(const struct aws_credentials_provider *p);
