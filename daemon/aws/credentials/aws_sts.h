/* aws_sts: STS AssumeRole (signed) and AssumeRoleWithWebIdentity (unsigned), XML answers parsed with expat */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct aws_credentials;

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
};

/*
 * Calls STS and returns the temporary credentials: 0 with *out; -EACCES when STS refused (why has STS's
 * error code and message), -EIO / -ETIMEDOUT / -ECONNREFUSED for transport failures and unexpected answers,
 * -EINVAL for a bad request, -ENOMEM. why never holds a secret or the token.
 */
int aws_sts_call(const struct aws_sts_request *req, struct aws_credentials **out, char *why, size_t whylen);

/* test hook: how aws_sts_call() reads STS's answer, for the unit test and the fuzzer. */

/*
 * Parses an STS response body (status is the HTTP status): an AssumeRole(WithWebIdentity)Response's
 * Credentials, or an ErrorResponse's Code and Message into why (-EACCES for status 4xx, -EIO otherwise).
 * Returns 0 with *out, -EIO for XML that is not either (DOCTYPEs refused), -ENOMEM.
 */
int aws_sts_parse(const char *xml, size_t len, long status, const char *provider, struct aws_credentials **out,
	char *why, size_t whylen);
