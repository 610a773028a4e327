/* aws_credentials: where the signing keys come from: the AWS SDKs' provider chain, cached and refreshed */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Immutable once handed out; reference-counted so a refresh never frees keys in use. */
struct aws_credentials {
	char *access_key_id;
	char *secret_access_key;
	char *session_token; /* NULL when none */
	int64_t expiration; /* UTC seconds, 0 when the keys do not expire */
	const char *provider; /* "environment", "profile", … : for log lines, never the keys (static string) */
	int refs; /* private */
};

struct aws_credentials_provider;
struct aws_caller_identity;

/*
 * Told of each call a provider makes to AWS itself (STS): the operation ("AssumeRole", "GetCallerIdentity") and the
 * answer's HTTP status (0: none arrived). Called on the thread that fetches; must not call the provider.
 */
struct aws_credentials_observer {
	void (*call)(void *data, const char *operation, long http_status);
	void *data;
};

/*
 * Creates the provider chain for profile (NULL: AWS_PROFILE, else "default"), in the SDKs' order:
 * environment, profile (static keys, credential_process, role_arn with source_profile or credential_source,
 * web_identity_token_file), web identity from the environment, container endpoint, IMDSv2, systemd
 * credentials ($CREDENTIALS_DIRECTORY/aws-credentials). region (may be NULL: STS's global endpoint) is where
 * STS is asked; ca_file (may be NULL) the CA bundle for STS. Both are copied. The chain is resolved lazily, at
 * the first aws_credentials_provider_get(). Returns 0, -EINVAL, -ENOMEM.
 */
int aws_credentials_provider_new(
	struct aws_credentials_provider **out, const char *profile, const char *region, const char *ca_file);

/* Frees the chain and its cached credentials (zeroed). NULL-safe. */
void aws_credentials_provider_free(struct aws_credentials_provider *p);

/*
 * Returns current credentials with a reference the caller drops with aws_credentials_unref().
 * Thread-safe; one thread refreshes while the others keep using the current credentials. Returns 0, or
 * -ENOENT when no provider yields credentials, with a log line naming each provider tried and what was
 * missing (never a secret). A provider that is configured but broken (AWS_ACCESS_KEY_ID without
 * AWS_SECRET_ACCESS_KEY, a failing credential_process…) stops the chain with its own code, also logged;
 * -ENOMEM. The same failure is logged once as an error, then at debug level until it changes. After a
 * failure the chain is asked again only after a backoff (1 s doubling to 60 s) unless invalidated.
 */
int aws_credentials_provider_get(struct aws_credentials_provider *p, struct aws_credentials **out);

/* The service said the token expired: the next get() must fetch fresh credentials. */
void aws_credentials_provider_invalidate(struct aws_credentials_provider *p);

/*
 * Why the last fetch failed, as logged ("source: why; …", never a secret), into why; "" after a success. For a
 * command that reports the failure itself (--check-aws).
 */
void aws_credentials_provider_last_failure(struct aws_credentials_provider *p, char *why, size_t whylen);

/* Tells o (copied; NULL: nobody) of p's calls to STS from now on. Set it before the first get(). */
void aws_credentials_provider_observe(struct aws_credentials_provider *p, const struct aws_credentials_observer *o);

/*
 * Who p's credentials belong to: STS GetCallerIdentity (which needs no permission) with them, on the STS endpoint
 * of p's region. The first success is kept: the account and ARN of a provider do not change while it lives (a
 * chain that would find another identity is a new provider). A failure is returned again, without asking, for a
 * backoff (AWS_CREDENTIALS_CALLER_BACKOFF_MIN doubling to _MAX), and logged once as a warning. Thread-safe.
 * Returns 0 with *out, the get()'s code when there are no credentials, or what aws_sts_caller_identity() returns,
 * with why.
 */
int aws_credentials_provider_caller(
	struct aws_credentials_provider *p, struct aws_caller_identity *out, char *why, size_t whylen);

/* Takes one more reference to c; returns c. */
struct aws_credentials *aws_credentials_ref(struct aws_credentials *c);
/* Drops one reference; the last frees c, its secrets zeroed. NULL-safe. */
void aws_credentials_unref(struct aws_credentials *c);

/* Creates credentials (what a provider hands out). session_token may be NULL. Returns 0, -EINVAL, -ENOMEM. */
int aws_credentials_new(struct aws_credentials **out, const char *access_key_id, const char *secret_access_key,
	const char *session_token, int64_t expiration, const char *provider);

/* What every source is given. */
struct aws_credentials_context {
	const char *profile; /* the profile name */
	bool profile_explicit; /* named by the configuration or AWS_PROFILE, not the "default" fallback */
	const char *region; /* NULL when unknown */
	const char *ca_file; /* NULL: the system store */
	int64_t now; /* UTC seconds */
	const struct aws_credentials_observer *observer; /* told of STS calls (aws_sts_call_in()), or NULL */
	void *data; /* the provider's own sources' data (aws_credentials_provider_new_sources()), else NULL */
};

/*
 * One link of the provider chain. The chain asks each source in turn; the first to return 0 wins.
 * fetch() returns 0 with *out (one reference, its expiration set, provider = the source's name),
 * -ENOENT when the source has nothing to offer (why says what was missing: the chain goes on), or
 * another negative code for a source that is configured but broken (why says how: the chain stops).
 * why never holds a secret.
 */
struct aws_credentials_source {
	const char *name; /* "environment": static */
	int (*fetch)(const struct aws_credentials_context *ctx, struct aws_credentials **out, char *why, size_t whylen);
};

/* The sources of the default chain, in its order. */
extern const struct aws_credentials_source aws_credentials_source_environment;
extern const struct aws_credentials_source aws_credentials_source_profile;
extern const struct aws_credentials_source aws_credentials_source_web_identity;
extern const struct aws_credentials_source aws_credentials_source_container;
extern const struct aws_credentials_source aws_credentials_source_imds;
extern const struct aws_credentials_source aws_credentials_source_systemd;

/* A provider with a chain of its own: what it is made of. */
struct aws_credentials_provider_spec {
	const char *profile; /* NULL: AWS_PROFILE, else "default" (the shared files' settings, STS's endpoint) */
	const char *region; /* STS's region, or NULL: the global endpoint */
	const char *ca_file; /* or NULL: the system store */
	const struct aws_credentials_source *const *sources; /* static, tried in order */
	size_t n_sources;
	void *data; /* handed to the sources as ctx->data; freed with data_free (may be NULL) with the provider */
	void (*data_free)(void *data);
	const char *log_fields; /* names the provider in its log lines ("role=arn:…"); NULL: "profile=NAME" */
	int64_t (*now)(void); /* UTC seconds; NULL: time() */
};

/*
 * A provider of spec's sources, cached and refreshed by the same rules as the default chain (the role provider of
 * aws_role.h is one). Strings are copied; data is the provider's, also on failure. Returns 0, -EINVAL, -ENOMEM.
 */
int aws_credentials_provider_new_sources(
	struct aws_credentials_provider **out, const struct aws_credentials_provider_spec *spec);

/*
 * Temporary credentials are refreshed this many seconds before they expire, plus up to
 * AWS_CREDENTIALS_REFRESH_JITTER (random, so many exporters don't ask at once); credentials living shorter
 * than twice that are refreshed at half their remaining lifetime. Until they do expire, a failed refresh
 * keeps them in use (with a warning).
 */
#define AWS_CREDENTIALS_REFRESH_MARGIN 300
#define AWS_CREDENTIALS_REFRESH_JITTER 60
/* Failed fetches are retried after 1 s, doubling up to this. */
#define AWS_CREDENTIALS_BACKOFF_MAX 60
/* A failed GetCallerIdentity is asked again after this, doubling up to the maximum (seconds). */
#define AWS_CREDENTIALS_CALLER_BACKOFF_MIN 60
#define AWS_CREDENTIALS_CALLER_BACKOFF_MAX 3600

/*
 * Parses the JSON the container endpoint, IMDS (process_format false: "Token", optional "Code" that must be
 * "Success") and credential_process (process_format true: "Version" 1, "SessionToken", optional
 * "Expiration") return. Returns 0 with *out (provider as given), -EINVAL with why for bad content
 * (never quoting a secret), -ENOMEM.
 */
int aws_credentials_from_json(const char *json, const char *provider, bool process_format, struct aws_credentials **out,
	char *why, size_t whylen);

/*
 * test hook: like aws_credentials_provider_new() with an explicit chain of fake sources (static, not copied),
 * tried in order, and a fake clock: now returns UTC seconds (NULL: time()). No region, no CA file.
 */
int aws_credentials_provider_new_chain(struct aws_credentials_provider **out, const char *profile,
	const struct aws_credentials_source *const *sources, size_t n_sources, int64_t (*now)(void));
