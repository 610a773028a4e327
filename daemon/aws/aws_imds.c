/* aws_imds: IMDSv2 client: session token, then metadata, with short timeouts so non-EC2 hosts lose little time */
#include "aws/aws_imds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/aws_endpoint.h"
#include "aws/http_client.h"
#include "util/ascii.h"
#include "util/env.h"

#define IMDS_ATTEMPTS 2
#define IMDS_CONNECT_TIMEOUT_MS 1000L
#define IMDS_TIMEOUT_MS 2000L
#define IMDS_TOKEN_TTL "21600"
#define IMDS_TOKEN_MAX 512
/* What the credential providers accept from any metadata service. */
#define IMDS_BODY_MAX (256 * 1024)

/* Whether AWS_EC2_METADATA_DISABLED is "true". */
static bool aws_imds_disabled(void)
{
	const char *v = env_get("AWS_EC2_METADATA_DISABLED");

	return v && strcasecmp(v, "true") == 0;
}

/*
 * The base URL: AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://[fd00:ec2::254] when
 * AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE is IPv6, else http://169.254.169.254. Returns 0 with *out malloc'd,
 * -EINVAL for a URL that is not http(s), -ENOMEM.
 */
static int aws_imds_endpoint(char **out)
{
	const char *url = env_get("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
		   *mode = env_get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	size_t n;

	*out = NULL;
	if (!url)
		url = mode && strcasecmp(mode, "IPv6") == 0 ? "http://[fd00:ec2::254]" : "http://169.254.169.254";
	if (!aws_endpoint_url_valid(url))
		return -EINVAL;
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	*out = strndup(url, n);
	return *out ? 0 : -ENOMEM;
}

void aws_imds_body_free(char *body)
{
	if (body) {
		explicit_bzero(body, strlen(body));
		free(body);
	}
}

/* One request with the IMDS timeouts, tried IMDS_ATTEMPTS times on transport failures and 5xx. */
static int imds_send(const char *method, const char *url, const struct sigv4_header *header, struct http_response *resp)
{
	static const struct http_client_options opts = {
		.connect_timeout_ms = IMDS_CONNECT_TIMEOUT_MS,
		.timeout_ms = IMDS_TIMEOUT_MS,
		.max_body = IMDS_BODY_MAX,
		.no_proxy = true,
		.secret = true,
	};
	const struct http_request req = {.method = method, .url = url, .headers = header, .n_headers = 1};
	int r = -EIO;

	for (int i = 0; i < IMDS_ATTEMPTS; i++) {
		http_response_deinit(resp);
		r = http_client_fetch(&opts, &req, resp);
		if (r == -ENOMEM || r == -EINVAL || (r == 0 && resp->status < 500))
			break;
	}
	return r;
}

int aws_imds_get(const char *path, char **body, char *why, size_t whylen)
{
	struct http_response resp = {0};
	char *base = NULL, *url = NULL;
	char token[IMDS_TOKEN_MAX + 1];
	static const struct sigv4_header ttl_header = {"X-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL};
	const struct sigv4_header header = {"X-aws-ec2-metadata-token", token};
	int r;

	*body = NULL;
	if (aws_imds_disabled()) {
		snprintf(why, whylen, "AWS_EC2_METADATA_DISABLED is true");
		return -ENOENT;
	}
	r = aws_imds_endpoint(&base);
	if (r == -EINVAL) {
		snprintf(why, whylen, "AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http:// URL with a host");
		return r;
	}
	if (r < 0)
		return r;
	if (asprintf(&url, "%s/latest/api/token", base) < 0) {
		url = NULL;
		r = -ENOMEM;
		goto out;
	}
	r = imds_send("PUT", url, &ttl_header, &resp);
	if (r < 0) {
		snprintf(why, whylen, "no instance metadata service at %s (%s)", base, resp.error);
		r = r == -ENOMEM ? r : -ENOENT;
		goto out;
	}
	if (resp.status != 200 || resp.body_len == 0 || resp.body_len > IMDS_TOKEN_MAX || strpbrk(resp.body, "\r\n")) {
		/* 403: IMDS disabled for the instance; 404/405: IMDSv1 only or not IMDS at all: nothing for us here. */
		snprintf(why, whylen, "%s gave no IMDSv2 session token (HTTP %ld)", base, resp.status);
		r = -ENOENT;
		goto out;
	}
	snprintf(token, sizeof(token), "%s", resp.body);
	http_response_deinit(&resp);
	free(url);
	if (asprintf(&url, "%s%s", base, path) < 0) {
		url = NULL;
		r = -ENOMEM;
		goto out;
	}
	r = imds_send("GET", url, &header, &resp);
	explicit_bzero(token, sizeof(token));
	if (r < 0) {
		snprintf(why, whylen, "instance metadata %s failed (%s)", path, resp.error);
		r = r == -ENOMEM ? r : -ENOENT;
		goto out;
	}
	if (resp.status != 200) {
		snprintf(why, whylen, "instance metadata %s answered HTTP %ld", path, resp.status);
		r = resp.status == 404 ? -ENOENT : resp.status == 401 || resp.status == 403 ? -EACCES : -EIO;
		goto out;
	}
	*body = resp.body;
	resp.body = NULL;
	r = 0;
out:
	http_response_deinit(&resp);
	free(base);
	free(url);
	return r;
}

/* Trims whitespace at the end in place. */
static void rtrim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && ascii_is_space(s[n - 1]))
		s[--n] = '\0';
}

int aws_imds_region(char **out, char *why, size_t whylen)
{
	int r = aws_imds_get("/latest/meta-data/placement/region", out, why, whylen);

	if (r == 0)
		rtrim(*out);
	return r;
}
