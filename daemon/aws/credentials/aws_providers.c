/* aws_providers: the sources of the credential chain: environment, profile, web identity, container, IMDS, systemd */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "aws/credentials/aws_container.h"
#include "aws/credentials/aws_credentials.h"
#include "aws/aws_imds.h"
#include "aws/credentials/aws_process.h"
#include "aws/aws_profile.h"
#include "aws/credentials/aws_sts.h"
#include "util/env.h"
#include "util/file.h"

/* The longest chain of source_profile hops followed (the SDKs loop-check; this also bounds the work). */
#define PROFILE_CHAIN_MAX 5
#define WEB_TOKEN_MAX (16 * 1024)
#define PROCESS_TIMEOUT_MS 30000L
#define SESSION_NAME_DEFAULT "deadline-cloud-exporter"

/* Prefixes why with "head arg: " (why is both input and output). */
static void why_prefix(char *why, size_t whylen, const char *head, const char *arg)
{
	char inner[256];

	snprintf(inner, sizeof(inner), "%s", why);
	snprintf(why, whylen, "%s%.120s: %s", head, arg, inner);
}

/*
 * The credentials of the instance profile's role: the role name from
 * /latest/meta-data/iam/security-credentials/, then its document. Returns 0 with *out (provider "imds"),
 * -ENOENT (disabled, unreachable, no role attached), or -EIO/-EACCES/-EINVAL for a broken answer; why says
 * which.
 */
static int imds_credentials(struct aws_credentials **out, char *why, size_t whylen)
{
	char *roles = NULL, *doc = NULL, *path = NULL, *nl;
	int r;

	*out = NULL;
	r = aws_imds_get("/latest/meta-data/iam/security-credentials/", &roles, why, whylen);
	if (r < 0) {
		if (r == -ENOENT && strstr(why, "HTTP 404"))
			snprintf(why, whylen, "the instance has no IAM role attached (instance profile)");
		return r;
	}
	/* One role per instance profile: the first line. */
	nl = strpbrk(roles, "\r\n");
	if (nl)
		*nl = '\0';
	if (!*roles || strpbrk(roles, "/?# %")) {
		snprintf(why, whylen, "the instance metadata lists no usable role name");
		r = !*roles ? -ENOENT : -EIO;
		goto out;
	}
	if (asprintf(&path, "/latest/meta-data/iam/security-credentials/%s", roles) < 0) {
		path = NULL;
		r = -ENOMEM;
		goto out;
	}
	r = aws_imds_get(path, &doc, why, whylen);
	if (r < 0)
		goto out;
	r = aws_credentials_from_json(doc, "imds", false, out, why, whylen);
	if (r < 0 && r != -ENOMEM) {
		char inner[200];

		snprintf(inner, sizeof(inner), "%s", why);
		snprintf(why, whylen, "role %.64s: %s", roles, inner);
	}
out:
	aws_imds_body_free(roles);
	aws_imds_body_free(doc);
	free(path);
	return r;
}

/* ---- environment ---- */

static int environment_fetch(
	const struct aws_credentials_context *ctx, struct aws_credentials **out, char *why, size_t whylen)
{
	const char *key = env_get("AWS_ACCESS_KEY_ID");
	const char *secret = env_get("AWS_SECRET_ACCESS_KEY");
	const char *token = env_get("AWS_SESSION_TOKEN");
	int r;

	(void)ctx;
	*out = NULL;
	if (!key && !secret) {
		snprintf(why, whylen, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
		return -ENOENT;
	}
	/* Half a key pair is a mistake to report, not a reason to use some other identity instead. */
	if (!key) {
		snprintf(why, whylen, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
		return -EINVAL;
	}
	if (!secret) {
		snprintf(why, whylen, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
		return -EINVAL;
	}
	r = aws_credentials_new(out, key, secret, token, 0, aws_credentials_source_environment.name);
	if (r == -EINVAL)
		snprintf(why, whylen, "AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is unusable");
	return r;
}

const struct aws_credentials_source aws_credentials_source_environment = {"environment", environment_fetch};

/* ---- web identity (shared by the profile and the environment) ---- */

/* Reads the token file afresh: Kubernetes rotates it. */
static int token_read(const char *path, char **out, char *why, size_t whylen)
{
	char *buf;
	ssize_t got;
	size_t n;
	int r = 0;

	*out = NULL;
	buf = malloc(WEB_TOKEN_MAX + 2);
	if (!buf)
		return -ENOMEM;
	/* One byte more than a token may have, to tell a longer file. */
	got = file_read_into(path, buf, WEB_TOKEN_MAX + 2);
	if (got < 0) {
		snprintf(why, whylen, "cannot read the web identity token file %.200s: %s", path, strerror((int)-got));
		explicit_bzero(buf, WEB_TOKEN_MAX + 2);
		free(buf);
		return (int)got;
	}
	n = (size_t)got;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (r == 0 && n > WEB_TOKEN_MAX)
		r = -EFBIG;
	if (r == 0 && n == 0)
		r = -ENODATA;
	if (r < 0) {
		snprintf(why, whylen, "the web identity token file %.200s is %s", path,
			r == -EFBIG ? "too long" : "empty");
		explicit_bzero(buf, WEB_TOKEN_MAX + 2);
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}

static int web_identity(const struct aws_credentials_context *ctx, const char *token_file, const char *role_arn,
	const char *session_name, int duration, const char *provider, struct aws_credentials **out, char *why,
	size_t whylen)
{
	char *token = NULL;
	int r = token_read(token_file, &token, why, whylen);

	if (r < 0)
		return r;
	struct aws_sts_request req = {
		.role_arn = role_arn,
		.session_name = session_name ? session_name : SESSION_NAME_DEFAULT,
		.duration_seconds = duration,
		.web_identity_token = token,
		.provider = provider,
	};
	r = aws_sts_call_in(ctx, &req, out, why, whylen);
	if (r < 0 && r != -ENOMEM)
		why_prefix(why, whylen, "AssumeRoleWithWebIdentity for ", role_arn);
	explicit_bzero(token, strlen(token));
	free(token);
	return r;
}

static int web_identity_fetch(
	const struct aws_credentials_context *ctx, struct aws_credentials **out, char *why, size_t whylen)
{
	const char *file = env_get("AWS_WEB_IDENTITY_TOKEN_FILE"), *role = env_get("AWS_ROLE_ARN");

	*out = NULL;
	if (!file && !role) {
		snprintf(why, whylen, "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set");
		return -ENOENT;
	}
	if (!file || !role) {
		snprintf(why, whylen, "%s is set but %s is not", file ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN",
			file ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
		return -EINVAL;
	}
	return web_identity(ctx, file, role, env_get("AWS_ROLE_SESSION_NAME"), 0, "web-identity", out, why, whylen);
}

const struct aws_credentials_source aws_credentials_source_web_identity = {"web-identity", web_identity_fetch};

/* ---- profile ---- */

static int profile_resolve(const struct aws_credentials_context *ctx, const struct aws_profile *p, int depth,
	struct aws_credentials **out, char *why, size_t whylen);

/* Static keys of a profile: -ENOENT when it has none. */
static int profile_keys(
	const struct aws_profile *p, const char *provider, struct aws_credentials **out, char *why, size_t whylen)
{
	const char *key = aws_profile_get(p, "aws_access_key_id"),
		   *secret = aws_profile_get(p, "aws_secret_access_key");

	if (!key && !secret)
		return -ENOENT;
	if (!key || !secret) {
		snprintf(why, whylen, "profile %.64s has %s but not %s", aws_profile_name(p),
			key ? "aws_access_key_id" : "aws_secret_access_key",
			key ? "aws_secret_access_key" : "aws_access_key_id");
		return -EINVAL;
	}
	return aws_credentials_new(out, key, secret, aws_profile_get(p, "aws_session_token"), 0, provider);
}

static int duration_parse(const struct aws_profile *p, int *out, char *why, size_t whylen)
{
	const char *v = aws_profile_get(p, "duration_seconds");
	char *end;
	long d;

	*out = 0;
	if (!v)
		return 0;
	errno = 0;
	d = strtol(v, &end, 10);
	if (errno || *end || d < 900 || d > 43200) {
		snprintf(why, whylen, "profile %.64s: duration_seconds must be 900 to 43200", aws_profile_name(p));
		return -EINVAL;
	}
	*out = (int)d;
	return 0;
}

/* The credentials a role's source gives: source_profile or credential_source. */
static int role_source(const struct aws_credentials_context *ctx, const struct aws_profile *p, int depth,
	struct aws_credentials **out, char *why, size_t whylen)
{
	const char *source_profile = aws_profile_get(p, "source_profile");
	const char *credential_source = aws_profile_get(p, "credential_source");
	struct aws_profile *src = NULL;
	int r;

	if (source_profile && credential_source) {
		snprintf(why, whylen, "profile %.64s has both source_profile and credential_source",
			aws_profile_name(p));
		return -EINVAL;
	}
	if (credential_source) {
		if (strcasecmp(credential_source, "Environment") == 0)
			r = environment_fetch(ctx, out, why, whylen);
		else if (strcasecmp(credential_source, "Ec2InstanceMetadata") == 0)
			r = imds_credentials(out, why, whylen);
		else if (strcasecmp(credential_source, "EcsContainer") == 0)
			r = aws_container_credentials(out, why, whylen);
		else {
			snprintf(why, whylen,
				"profile %.64s: credential_source must be Environment, Ec2InstanceMetadata or "
				"EcsContainer",
				aws_profile_name(p));
			return -EINVAL;
		}
		if (r < 0 && r != -ENOMEM)
			why_prefix(why, whylen, "credential_source ", credential_source);
		/* Named explicitly: finding nothing there is a misconfiguration, not a reason to go on. */
		return r == -ENOENT ? -EINVAL : r;
	}
	if (!source_profile) {
		snprintf(why, whylen,
			"profile %.64s has role_arn but no source_profile, credential_source or "
			"web_identity_token_file",
			aws_profile_name(p));
		return -EINVAL;
	}
	/* A profile that is its own source uses its static keys (the SDKs allow it). */
	if (strcmp(source_profile, aws_profile_name(p)) == 0) {
		r = profile_keys(p, "profile", out, why, whylen);
		if (r == -ENOENT)
			snprintf(why, whylen, "profile %.64s is its own source_profile but has no keys",
				aws_profile_name(p));
		return r == -ENOENT ? -EINVAL : r;
	}
	r = aws_profile_load(&src, source_profile, NULL, NULL, why, whylen);
	if (r < 0)
		return r;
	if (!aws_profile_found(src)) {
		snprintf(why, whylen, "profile %.64s: source_profile %.64s is not in %.200s", aws_profile_name(p),
			source_profile, aws_profile_where(src));
		aws_profile_free(src);
		return -EINVAL;
	}
	r = profile_resolve(ctx, src, depth + 1, out, why, whylen);
	if (r == -ENOENT) {
		snprintf(why, whylen, "source_profile %.64s has no credentials", source_profile);
		r = -EINVAL;
	}
	aws_profile_free(src);
	return r;
}

static int profile_assume_role(const struct aws_credentials_context *ctx, const struct aws_profile *p, int depth,
	struct aws_credentials **out, char *why, size_t whylen)
{
	const char *role = aws_profile_get(p, "role_arn"), *token_file = aws_profile_get(p, "web_identity_token_file");
	const char *session = aws_profile_get(p, "role_session_name");
	struct aws_credentials *source = NULL;
	int duration, r;

	r = duration_parse(p, &duration, why, whylen);
	if (r < 0)
		return r;
	if (token_file && !aws_profile_get(p, "source_profile") && !aws_profile_get(p, "credential_source"))
		return web_identity(ctx, token_file, role, session, duration, "profile", out, why, whylen);
	r = role_source(ctx, p, depth, &source, why, whylen);
	if (r < 0)
		return r;
	struct aws_sts_request req = {
		.role_arn = role,
		.session_name = session ? session : SESSION_NAME_DEFAULT,
		.external_id = aws_profile_get(p, "external_id"),
		.duration_seconds = duration,
		.source = source,
		.provider = "profile",
	};
	r = aws_sts_call_in(ctx, &req, out, why, whylen);
	if (r < 0 && r != -ENOMEM)
		why_prefix(why, whylen, "AssumeRole ", role);
	/* The role's credentials expire no later than what signed for them matters not: STS said when. */
	aws_credentials_unref(source);
	return r;
}

static int profile_resolve(const struct aws_credentials_context *ctx, const struct aws_profile *p, int depth,
	struct aws_credentials **out, char *why, size_t whylen)
{
	const char *process;
	int r;

	*out = NULL;
	if (depth > PROFILE_CHAIN_MAX) {
		snprintf(why, whylen, "source_profile chain longer than %d (a loop?) at profile %.64s",
			PROFILE_CHAIN_MAX, aws_profile_name(p));
		return -ELOOP;
	}
	if (aws_profile_get(p, "role_arn"))
		return profile_assume_role(ctx, p, depth, out, why, whylen);
	if (aws_profile_get(p, "web_identity_token_file")) {
		snprintf(why, whylen, "profile %.64s has web_identity_token_file but no role_arn", aws_profile_name(p));
		return -EINVAL;
	}
	r = profile_keys(p, "profile", out, why, whylen);
	if (r != -ENOENT)
		return r;
	process = aws_profile_get(p, "credential_process");
	if (process) {
		r = aws_process_credentials(process, PROCESS_TIMEOUT_MS, out, why, whylen);
		if (r == 0)
			(*out)->provider = "process";
		return r == -ENOENT ? -EIO : r;
	}
	snprintf(why, whylen,
		"profile %.64s has no aws_access_key_id, credential_process, role_arn or "
		"web_identity_token_file",
		aws_profile_name(p));
	return -ENOENT;
}

static bool systemd_has_profile(const char *profile);

static int profile_fetch(
	const struct aws_credentials_context *ctx, struct aws_credentials **out, char *why, size_t whylen)
{
	struct aws_profile *p = NULL;
	int r;

	*out = NULL;
	r = aws_profile_load(&p, ctx->profile, NULL, NULL, why, whylen);
	if (r < 0)
		return r;
	if (!aws_profile_found(p)) {
		snprintf(why, whylen, "profile %.64s is not in %.300s", ctx->profile, aws_profile_where(p));
		/* A profile asked for by name must exist somewhere: don't quietly use another identity. */
		r = ctx->profile_explicit && !systemd_has_profile(ctx->profile) ? -EINVAL : -ENOENT;
		goto out;
	}
	r = profile_resolve(ctx, p, 0, out, why, whylen);
out:
	aws_profile_free(p);
	return r;
}

const struct aws_credentials_source aws_credentials_source_profile = {"profile", profile_fetch};

/* ---- container, IMDS ---- */

static int container_fetch(
	const struct aws_credentials_context *ctx, struct aws_credentials **out, char *why, size_t whylen)
{
	(void)ctx;
	return aws_container_credentials(out, why, whylen);
}

const struct aws_credentials_source aws_credentials_source_container = {"container", container_fetch};

static int imds_fetch(const struct aws_credentials_context *ctx, struct aws_credentials **out, char *why, size_t whylen)
{
	(void)ctx;
	return imds_credentials(out, why, whylen);
}

const struct aws_credentials_source aws_credentials_source_imds = {"imds", imds_fetch};

/* ---- systemd credentials ---- */

/* $CREDENTIALS_DIRECTORY/aws-credentials, malloc'd, or NULL. */
static char *systemd_path(void)
{
	const char *dir = env_get("CREDENTIALS_DIRECTORY");
	char *path;

	if (!dir || asprintf(&path, "%s/aws-credentials", dir) < 0)
		return NULL;
	return path;
}

static bool systemd_has_profile(const char *profile)
{
	struct aws_profile *p = NULL;
	char *path = systemd_path();
	char why[128];
	bool found;

	if (!path)
		return false;
	found = aws_profile_load_credentials_file(&p, profile, path, why, sizeof(why)) == 0 && aws_profile_found(p);
	aws_profile_free(p);
	free(path);
	return found;
}

static int systemd_fetch(
	const struct aws_credentials_context *ctx, struct aws_credentials **out, char *why, size_t whylen)
{
	struct aws_profile *p = NULL;
	char *path = systemd_path();
	struct stat st;
	int r;

	*out = NULL;
	if (!path) {
		snprintf(why, whylen, "CREDENTIALS_DIRECTORY is not set");
		return env_get("CREDENTIALS_DIRECTORY") ? -ENOMEM : -ENOENT;
	}
	if (stat(path, &st) < 0) {
		snprintf(why, whylen, "no %.200s", path);
		r = -ENOENT;
		goto out;
	}
	/* The unit's profile when the file has it, else its [default]. */
	r = aws_profile_load_credentials_file(&p, ctx->profile, path, why, whylen);
	if (r == 0 && !aws_profile_found(p) && strcmp(ctx->profile, "default") != 0) {
		aws_profile_free(p);
		p = NULL;
		r = aws_profile_load_credentials_file(&p, "default", path, why, whylen);
	}
	if (r < 0)
		goto out;
	if (!aws_profile_found(p)) {
		snprintf(why, whylen, "%.200s has neither [%.64s] nor [default]", path, ctx->profile);
		r = -EINVAL;
		goto out;
	}
	r = profile_keys(p, "systemd", out, why, whylen);
	if (r == -ENOENT) {
		snprintf(why, whylen, "[%.64s] of %.200s has no aws_access_key_id and aws_secret_access_key",
			aws_profile_name(p), path);
		r = -EINVAL;
	} else if (r == -EINVAL) {
		why_prefix(why, whylen, "", path);
	}
out:
	aws_profile_free(p);
	free(path);
	return r;
}

const struct aws_credentials_source aws_credentials_source_systemd = {"systemd", systemd_fetch};
