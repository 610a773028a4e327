/* aws_endpoint: region and Deadline Cloud endpoint resolution */
#pragma once

/*
 * Region: configured (may be NULL), else AWS_REGION, else AWS_DEFAULT_REGION.
 * Returns 0 with *out malloc'd, or -ENOENT when none is set.
 */
int aws_region_resolve(const char *configured, char **out);

/*
 * Endpoint base URL, without a trailing slash: configured endpoint_url (may be NULL), else
 * AWS_ENDPOINT_URL_DEADLINE, else AWS_ENDPOINT_URL (each used verbatim), else
 * "https://management.deadline.<region>.amazonaws.com". Returns 0 with *out malloc'd,
 * -EINVAL for an unusable URL or region.
 */
int aws_endpoint_resolve(const char *configured, const char *region, char **out);
