/* aws_syntax: the one check of each AWS setting's shape, for the configuration and the environment alike */
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

/* IAM's limits on a role's path (with its leading and trailing slash) and name (the iam model's pathType,
 * roleNameType). */
#define IAM_PATH_MAX 512
#define IAM_ROLE_NAME_MAX 64

static bool is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* "aws", "aws-cn", "aws-us-gov", "aws-iso-b" …: the partitions' shape, not their list (new ones appear). */
static const char *partition_end(const char *p)
{
	if (strncmp(p, "aws", 3) != 0)
		return NULL;
	p += 3;
	while (*p == '-') {
		const char *segment = ++p;

		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
			p++;
		if (p == segment)
			return NULL;
	}
	return p;
}

bool aws_role_arn_valid(const char *arn, char account[AWS_ACCOUNT_ID_DIGITS + 1])
{
	const char *p, *name, *digits;
	size_t n;

	if (!arn || strncmp(arn, "arn:", 4) != 0)
		return false;
	p = partition_end(arn + 4);
	if (!p || strncmp(p, ":iam::", 6) != 0)
		return false;
	p += 6;
	for (n = 0; n < AWS_ACCOUNT_ID_DIGITS; n++)
		if (p[n] < '0' || p[n] > '9')
			return false;
	if (strncmp(p + AWS_ACCOUNT_ID_DIGITS, ":role/", 6) != 0)
		return false;
	digits = p;
	p += AWS_ACCOUNT_ID_DIGITS + 6;
	/* The path: "/" alone, or "/" + segments of printable ASCII each ending in "/". */
	name = strrchr(p, '/');
	name = name ? name + 1 : p;
	if (name > p && (size_t)(name - p) + 1 > IAM_PATH_MAX)
		return false;
	for (const char *q = p; q < name; q++)
		if (*q < 0x21 || *q > 0x7e || (*q == '/' && (q == p || q[-1] == '/')))
			return false;
	n = strlen(name);
	if (n == 0 || n > IAM_ROLE_NAME_MAX)
		return false;
	for (; *name; name++)
		if (!is_word(*name) && !strchr("+=,.@-", *name))
			return false;
	if (account) {
		memcpy(account, digits, AWS_ACCOUNT_ID_DIGITS);
		account[AWS_ACCOUNT_ID_DIGITS] = '\0';
	}
	return true;
}

bool aws_external_id_valid(const char *id)
{
	size_t n;

	if (!id)
		return false;
	n = strlen(id);
	if (n < 2 || n > 1224)
		return false;
	for (; *id; id++)
		if (!is_word(*id) && !strchr("+=,.@:/-", *id))
			return false;
	return true;
}
