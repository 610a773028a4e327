/* aws_syntax: the one check of each AWS setting's shape, for aws.* in the configuration and the environment alike */
#include "util/aws_syntax.h"

#include <string.h>
#include <strings.h>

#include "util/ascii.h"

bool aws_region_valid(const char *region)
{
	size_t n = 0;

	if (!region || !ascii_is_lower(*region))
		return false;
	for (const char *p = region; *p; p++, n++)
		if (!ascii_is_lower(*p) && !ascii_is_digit(*p) && *p != '-')
			return false;
	return n <= AWS_REGION_MAX;
}

bool aws_endpoint_url_valid(const char *url)
{
	const char *host;

	if (!url)
		return false;
	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return false;
	if (strlen(url) > AWS_ENDPOINT_URL_MAX)
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
