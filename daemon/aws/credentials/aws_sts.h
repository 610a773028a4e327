/* aws_sts: STS AssumeRole (signed), AssumeRoleWithWebIdentity (unsigned) and GetCallerIdentity, XML answers parsed
 * with expat */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "util/aws_syntax.h"

struct aws_credentials;
struct aws_credentials_context;

/* How an STS call ended, for the caller's counters and decisions (never a secret). */
struct aws_sts_outcome {
	long http_status; /* the answer's HTTP status, 0 when none arrived */
	char code[64]; /* STS's error code ("AccessDenied", "ExpiredToken"), "" on success or without one */
};

struct aws_sts_request {
	const char *endpoint; /* base URL ("https://sts.us-west-2.amazonaws.com") */
	const char *signing_region; /* region in the signature's scope */
	const char *ca_file; /* NULL: the system store */
	const char *role_arn;
	const char *session_name; /* RoleSessionName */
	const char *external_id; /* AssumeRole only; NULL: none */
	int duration_seconds; /* 0: STS's default (one hour) */
	const char *web_identity_token; /* set: AssumeRoleWithWebIdentity, unsigned */
	const struct aws_credentials *source; /* else: AssumeRole signed with these */
	const char *provider; /* name given to the credentials ("profile", "web-identity") */
	int64_t now; /* UTC seconds, for the signature */
	struct aws_sts_outcome *outcome; /* filled in when not NULL */
};

/*
 * Calls STS and returns the temporary credentials: 0 with *out; -EACCES when STS refused (why has STS's
 * error code and message), -EIO / -ETIMEDOUT / -ECONNREFUSED for transport failures and unexpected answers,
 * -EINVAL for a bad request, -ENOMEM. why never holds a secret or the token.
 */
int aws_sts_call(const struct aws_sts_request *req, struct aws_credentials **out, char *why, size_t whylen);

/* Who a set of credentials belongs to, as GetCallerIdentity says. */
struct aws_caller_identity {
	char account[AWS_ACCOUNT_ID_DIGITS + 1]; /* 12 digits */
	char arn[2048]; /* arn:aws:iam::…:user/…, arn:aws:sts::…:assumed-role/…/session */
	char user_id[256]; /* AIDA…, AROA…:session */
};

/*
 * GetCallerIdentity, signed with req->source, on req->endpoint (the role and web identity fields are not used). It
 * needs no IAM permission: a refusal means the keys themselves are bad. Returns 0 with *out filled, -EACCES (why has
 * STS's code and message), -EIO / -ETIMEDOUT / -ECONNREFUSED, -EINVAL, -ENOMEM, as aws_sts_call().
 */
int aws_sts_caller_identity(
	const struct aws_sts_request *req, struct aws_caller_identity *out, char *why, size_t whylen);

/*
 * What the credentials sources use: req's endpoint, signing region, CA bundle and time from ctx (the profile's or
 * the environment's STS endpoint for ctx->region), then aws_sts_call(); ctx's observer is told of the call. Returns
 * as aws_sts_call(), or the endpoint's -EINVAL with why.
 */
int aws_sts_call_in(const struct aws_credentials_context *ctx, struct aws_sts_request *req,
	struct aws_credentials **out, char *why, size_t whylen);

/* aws_sts_caller_identity() as aws_sts_call_in() calls aws_sts_call(). */
int aws_sts_caller_identity_in(const struct aws_credentials_context *ctx, struct aws_sts_request *req,
	struct aws_caller_identity *out, char *why, size_t whylen);

/*
 * Why STS refused an AssumeRole, from its AccessDenied message (which names the action and, in newer answers, the
 * kind of policy that refused): the advice for the operator, static text. IAM asks two policies: the caller's own
 * (an identity-based policy must allow sts:AssumeRole on the role) and the role's trust policy (a resource-based
 * policy that must trust the caller, and requires the external id when it names one).
 */
const char *aws_sts_denial_advice(const char *message);

/* test hook: how aws_sts_call() reads STS's answer, for the unit test and the fuzzer. */

/*
 * Parses an STS response body (status is the HTTP status): an AssumeRole(WithWebIdentity)Response's
 * Credentials, or an ErrorResponse's Code and Message into why (-EACCES for status 4xx, -EIO otherwise; an
 * AccessDenied on sts:AssumeRole gets aws_sts_denial_advice()).
 * Returns 0 with *out, -EIO for XML that is not either (DOCTYPEs refused), -ENOMEM.
 */
int aws_sts_parse(const char *xml, size_t len, long status, const char *provider, struct aws_credentials **out,
	char *why, size_t whylen);

/* The same for a GetCallerIdentityResponse: 0 with *out (a 12-digit Account and an Arn required). */
int aws_sts_parse_identity(
	const char *xml, size_t len, long status, struct aws_caller_identity *out, char *why, size_t whylen);
