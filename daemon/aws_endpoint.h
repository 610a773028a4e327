/* aws_endpoint: region and Deadline Cloud endpoint resolution */
#pragma once

#include <stdbool.h>

/*
 * Region: configured (may be NULL), else AWS_REGION, else AWS_DEFAULT_REGION (empty values count as
 * unset). Returns 0 with *out malloc'd, -ENOENT when none is set, -EINVAL (logged, naming the source)
 * when the value found is not a region name.
 */
int aws_region_resolve(const char *configured, char **out);

/*
 * Endpoint base URL, without a trailing slash: configured endpoint_url (may be NULL), else
 * AWS_ENDPOINT_URL_DEADLINE, else AWS_ENDPOINT_URL (each used verbatim), else
 * "https://management.deadline.<region>.amazonaws.com". Returns 0 with *out malloc'd,
 * -EINVAL for an unusable URL or region.
 */
int aws_endpoint_resolve(const char *configured, const char *region, char **out);

/* Whether region has the shape of a region name: [a-z0-9-]+, at most 64 characters. */
bool aws_region_valid(const char *region);

/* Whether url can serve as a base URL: http:// or https://, a host, no whitespace, query or fragment. */
bool aws_endpoint_url_valid(const char *url);
