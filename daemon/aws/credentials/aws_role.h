/* aws_role: the credentials of an IAM role, assumed with the exporter's own (a role per farm, the identity store's) */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "aws/credentials/aws_credentials.h"
#include "aws/credentials/aws_sts.h"

/* The RoleSessionName of every AssumeRole the exporter makes: what the role's CloudTrail events name. */
#define AWS_ROLE_SESSION_NAME "deadline-cloud-exporter"

struct aws_role_options {
	struct aws_credentials_provider *source; /* signs the AssumeRole calls (the exporter's chain); borrowed */
	const char *role_arn; /* checked by the configuration (aws_role_arn_valid()) */
	const char *external_id; /* or NULL */
	const char *profile; /* the exporter's profile, for its STS endpoint settings; NULL: AWS_PROFILE, "default" */
	const char *region; /* the STS region: the farm's (its regional endpoint); NULL: the global endpoint */
	const char *ca_file; /* or NULL: the system store */
};

/*
 * A provider whose credentials come from STS AssumeRole on o->role_arn (session AWS_ROLE_SESSION_NAME, with the
 * external id), signed with o->source's credentials, cached and renewed before they expire by the rules of every
 * provider (aws_credentials.h). Its log lines name it "role=ARN"; a refusal says which policy to look at
 * (aws_sts_denial_advice()). An ExpiredToken answer invalidates the source's credentials. o->source must outlive
 * it. Strings are copied. Returns 0, -EINVAL, -ENOMEM.
 */
int aws_role_provider_new(struct aws_credentials_provider **out, const struct aws_role_options *o);

/* test hook: aws_role_provider_new() with STS replaced by assume (as aws_sts_call_in()) and a clock (NULL: time()). */
int aws_role_provider_new_fake(struct aws_credentials_provider **out, const struct aws_role_options *o,
	int (*assume)(const struct aws_credentials_context *ctx, struct aws_sts_request *req,
		struct aws_credentials **out, char *why, size_t whylen),
	int64_t (*now)(void));
