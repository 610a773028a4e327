/* aws_syntax: the shape of AWS settings (region names, endpoint base URLs), pure checks shared by config and aws */
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
