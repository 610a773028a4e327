/* aws_endpoint: region, partitions and endpoint resolution (Deadline Cloud's rule set, STS) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* aws_region_valid(), aws_endpoint_url_valid(): the same checks aws.* gets in the configuration */
#include "util/aws_syntax.h"

/*
 * Region: configured (may be NULL), else AWS_REGION, else AWS_DEFAULT_REGION, else the region of profile
 * (NULL: AWS_PROFILE, else "default") in the shared config files, else the instance's region from IMDSv2
 * (unless AWS_EC2_METADATA_DISABLED). Empty values count as unset. Returns 0 with *out malloc'd, -ENOENT when
 * none is found, -EINVAL (logged, naming the source) when the value found is not a region name.
 */
int aws_region_resolve(const char *configured, const char *profile, char **out);

/*
 * Deadline Cloud's base URL, without a trailing slash: a custom endpoint used verbatim, first of configured
 * endpoint_url (may be NULL), AWS_ENDPOINT_URL_DEADLINE, AWS_ENDPOINT_URL, the profile's endpoint_url (the
 * last three skipped when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or the profile's ignore_configured_endpoint_urls
 * is true); else the rule set's URL for region with the "management." host prefix, FIPS from
 * AWS_USE_FIPS_ENDPOINT / use_fips_endpoint and dual-stack from AWS_USE_DUALSTACK_ENDPOINT /
 * use_dualstack_endpoint. Returns 0 with *out malloc'd; -EINVAL (logged) for an unusable URL or region or a
 * combination the rule set refuses (FIPS with a custom endpoint…); -ENOMEM.
 */
int aws_endpoint_resolve(const char *configured, const char *profile, const char *region, char **out);

/* A service whose endpoint follows the standard regional rule set. */
struct aws_service {
	const char *name; /* endpoint prefix and rule set's host label: "deadline", "identitystore" */
	const char *env_var; /* "AWS_ENDPOINT_URL_DEADLINE" */
	const char *host_prefix; /* prepended to the rules' host: "management." or "" */
	const char *title; /* for logs: "Deadline Cloud" */
};

extern const struct aws_service aws_service_deadline;
extern const struct aws_service aws_service_identitystore;

/* aws_endpoint_resolve() for any service: the same order of sources, with svc's variable and host prefix. */
int aws_service_endpoint_resolve(
	const struct aws_service *svc, const char *configured, const char *profile, const char *region, char **out);

/*
 * STS's base URL for region (NULL: the global endpoint https://sts.amazonaws.com), overridden by
 * AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL or the profile's endpoint_url; FIPS and dual-stack as above.
 * Returns 0 with *out malloc'd and *signing_region (static or region; "us-east-1" for the global endpoint),
 * -EINVAL (why says which setting), -ENOMEM.
 */
int aws_sts_endpoint_resolve(
	const char *profile, const char *region, char **out, const char **signing_region, char *why, size_t whylen);

/*
 * The CA bundle to trust instead of the system store: configured (aws.ca_file, may be NULL), else
 * AWS_CA_BUNDLE, else NULL (the system store). The result is configured or points into the environment.
 */
const char *aws_ca_bundle(const char *configured);

/*
 * test hook: the partitions and the endpoint rule set evaluated on plain inputs, for the rule set's own test
 * cases; the daemon resolves endpoints with the functions above.
 */

/* One AWS partition, as the SDKs' partitions.json describes it. */
struct aws_partition {
	const char *name; /* "aws", "aws-cn", "aws-us-gov", … */
	const char *dns_suffix; /* "amazonaws.com" */
	const char *dual_stack_dns_suffix; /* "api.aws" */
	bool supports_fips;
	bool supports_dual_stack;
};

/* The partition of region (aws.partition): a known name or pattern, else "aws". Never NULL. */
const struct aws_partition *aws_partition_of(const char *region);

/*
 * The inputs of the standard regional endpoint rule set (Deadline Cloud's endpoint-rule-set-1.json; the
 * identity store's is the same with its own service name).
 */
struct aws_endpoint_params {
	const char *region; /* NULL: unset */
	bool use_fips;
	bool use_dual_stack;
	const char *endpoint; /* custom endpoint, NULL: unset */
	const char *service; /* the endpoint prefix: "deadline" (NULL), "identitystore" */
};

/*
 * Evaluates the rule set: returns 0 with *out malloc'd (the rule's URL, without the operations' "management."
 * host prefix), or -EINVAL with *error set to the rule set's error text (static), or -ENOMEM.
 */
int aws_endpoint_rules(const struct aws_endpoint_params *params, char **out, const char **error);
