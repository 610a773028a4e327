/* aws_syntax: the shape of AWS settings (region names, endpoint base URLs, role ARNs, external ids), pure checks shared
 * by config and aws */
#pragma once

#include <stdbool.h>

/* Longest region name accepted; longer than any AWS region, short enough for host names. */
#define AWS_REGION_MAX 64
/* Longest endpoint URL accepted. */
#define AWS_ENDPOINT_URL_MAX 2048

/* Whether region has the shape of a region name: [a-z][a-z0-9-]*, at most AWS_REGION_MAX characters. */
bool aws_region_valid(const char *region);

/*
 * Whether url can serve as a base URL: http:// or https:// (any case), a host, no whitespace or control
 * characters, no query or fragment, at most AWS_ENDPOINT_URL_MAX characters.
 */
bool aws_endpoint_url_valid(const char *url);

/* The length of the account id in an ARN. */
#define AWS_ACCOUNT_ID_DIGITS 12

/*
 * Whether arn has the shape of an IAM role ARN, arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME: a partition "aws" or
 * "aws-…" (lowercase letters and digits), 12 account digits, a path of printable ASCII segments (at most 512
 * characters with its slashes, IAM's limit) and a role name of 1 to 64 of [A-Za-z0-9_+=,.@-] (so well under STS's
 * 2048). When valid and account is not NULL, the account id goes into account (12 digits and
 * a NUL).
 */
bool aws_role_arn_valid(const char *arn, char account[AWS_ACCOUNT_ID_DIGITS + 1]);

/* Whether id is an external id STS accepts: 2 to 1224 characters of [A-Za-z0-9_+=,.@:/-]. */
bool aws_external_id_valid(const char *id);
