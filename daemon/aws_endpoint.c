/* aws_endpoint: region and Deadline Cloud endpoint resolution from configuration and the environment */
#include "aws_endpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

/* Longer than any AWS region name; keeps a hostile environment from building huge host names. */
#define REGION_MAX 64
#define ENDPOINT_URL_MAX 2048

bool aws_region_valid(const char *region)
{
	size_t n = 0;

	if (!region || !*region)
		return false;
	for (const char *p = region; *p; p++, n++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return n <= REGION_MAX;
}

/* An environment variable, NULL when unset or empty (as the AWS CLI treats an empty one). */
static const char *env_get(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int aws_region_resolve(const char *configured, char **out)
{
	static const char *const vars[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
	const char *value = configured && *configured ? configured : NULL, *source = "aws.region";

	*out = NULL;
	for (size_t i = 0; !value && i < sizeof(vars) / sizeof(vars[0]); i++) {
		value = env_get(vars[i]);
		source = vars[i];
	}
	if (!value)
		return -ENOENT;
	if (!aws_region_valid(value)) {
		log_error("aws: %s=\"%.80s\" is not a region name ([a-z0-9-]+, like us-west-2)", source, value);
		return -EINVAL;
	}
	*out = strdup(value);
	return *out ? 0 : -ENOMEM;
}

bool aws_endpoint_url_valid(const char *url)
{
	const char *host;
	size_t n;

	if (!url)
		return false;
	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return false;
	n = strlen(url);
	if (n > ENDPOINT_URL_MAX)
		return false;
	/* A host is required; the URL goes verbatim into requests, so no whitespace or control characters. */
	if (!*host || *host == '/' || *host == ':' || *host == '?' || *host == '#')
		return false;
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	/* The base URL gets "/2023-10-12/..." appended: a query or fragment would swallow it. */
	return !strpbrk(host, "?#");
}

/* Copies url without its trailing slashes (the scheme's "//" stays). */
static int url_strip_copy(const char *url, char **out)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	*out = strndup(url, n);
	return *out ? 0 : -ENOMEM;
}

int aws_endpoint_resolve(const char *configured, const char *region, char **out)
{
	static const char *const vars[] = {"AWS_ENDPOINT_URL_DEADLINE", "AWS_ENDPOINT_URL"};
	const char *url = configured && *configured ? configured : NULL, *source = "aws.endpoint_url";
	const char *suffix;
	int n;

	*out = NULL;
	if (region && !aws_region_valid(region))
		return -EINVAL;
	for (size_t i = 0; !url && i < sizeof(vars) / sizeof(vars[0]); i++) {
		url = env_get(vars[i]);
		source = vars[i];
	}
	if (url) {
		if (!aws_endpoint_url_valid(url)) {
			log_error("aws: %s=\"%.200s\" is not an http:// or https:// URL with a host", source, url);
			return -EINVAL;
		}
		return url_strip_copy(url, out);
	}
	if (!region)
		return -EINVAL;

	/* Partition DNS suffixes (endpoint-rule-set-1.json): aws-cn for cn-*, aws (GovCloud included) otherwise. */
	suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
	n = snprintf(NULL, 0, "https://management.deadline.%s.%s", region, suffix);
	if (n < 0)
		return -EINVAL;
	*out = malloc((size_t)n + 1);
	if (!*out)
		return -ENOMEM;
	if (snprintf(*out, (size_t)n + 1, "https://management.deadline.%s.%s", region, suffix) != n) {
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}
