/* aws_container: credentials from the ECS / EKS Pod Identity agent's endpoint, with its authorization token */
#include "aws/credentials/aws_container.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/credentials/aws_credentials.h"
#include "aws/aws_endpoint.h"
#include "aws/http_client.h"
#include "util/env.h"
#include "util/file.h"

#define ECS_HOST "http://169.254.170.2"
#define CONTAINER_ATTEMPTS 3
#define CONTAINER_TOKEN_MAX 8192
#define CONTAINER_BODY_MAX (256 * 1024)

/* Whether the http URL's host is one the SDKs allow without TLS. */
static bool host_allowed(const char *url)
{
	const char *h = url + strlen("http://"), *end;
	char host[64];
	size_t n;
	unsigned char addr[16];

	if (*h == '[') {
		end = strchr(h, ']');
		if (!end)
			return false;
		h++;
	} else {
		end = h + strcspn(h, ":/");
	}
	n = (size_t)(end - h);
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, addr) == 1)
		return addr[0] == 127 || strcmp(host, "169.254.170.2") == 0 || strcmp(host, "169.254.170.23") == 0;
	if (inet_pton(AF_INET6, host, addr) == 1) {
		static const unsigned char loopback[16] = {[15] = 1};
		static const unsigned char eks[16] = {0xfd, 0x00, 0x0e, 0xc2, [15] = 0x23};

		return memcmp(addr, loopback, 16) == 0 || memcmp(addr, eks, 16) == 0;
	}
	return false;
}

/*
 * The URL to ask: http://169.254.170.2 + AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, else
 * AWS_CONTAINER_CREDENTIALS_FULL_URI when it is https, or http to a loopback address or the ECS / EKS Pod
 * Identity addresses (169.254.170.2, 169.254.170.23, fd00:ec2::23). Returns 0 with *out malloc'd,
 * -ENOENT when neither variable is set, -EINVAL (why says why) for a refused URL, -ENOMEM.
 */
static int aws_container_url(char **out, char *why, size_t whylen)
{
	const char *rel = env_get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env_get("AWS_CONTAINER_CREDENTIALS_FULL_URI");

	*out = NULL;
	if (rel) {
		if (rel[0] != '/' || strpbrk(rel, " \t\r\n#")) {
			snprintf(why, whylen, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI does not start with /");
			return -EINVAL;
		}
		if (asprintf(out, ECS_HOST "%s", rel) < 0) {
			*out = NULL;
			return -ENOMEM;
		}
		return 0;
	}
	if (!full) {
		snprintf(why, whylen,
			"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set");
		return -ENOENT;
	}
	if (!aws_endpoint_url_valid(full)) {
		snprintf(why, whylen,
			"AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http:// or https:// URL with a host");
		return -EINVAL;
	}
	if (strncasecmp(full, "http://", 7) == 0 && !host_allowed(full)) {
		snprintf(why, whylen,
			"AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback address, "
			"169.254.170.2, 169.254.170.23 or [fd00:ec2::23]");
		return -EINVAL;
	}
	*out = strdup(full);
	return *out ? 0 : -ENOMEM;
}

/* The Authorization header's value (value[0] == '\0': none); the token file wins over the variable. */
static int authorization_value(char *value, size_t len, char *why, size_t whylen)
{
	const char *file = env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *token = env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	char buf[CONTAINER_TOKEN_MAX + 2];
	size_t n = 0;
	int r = 0;

	value[0] = '\0';
	if (file) {
		/* One byte more than a token may have, to tell a longer file. */
		ssize_t got = file_read_into(file, buf, sizeof(buf));

		if (got < 0) {
			snprintf(why, whylen, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %.200s: %s", file,
				strerror((int)-got));
			explicit_bzero(buf, sizeof(buf));
			return (int)got;
		}
		n = (size_t)got;
		if (r == 0 && n > CONTAINER_TOKEN_MAX)
			r = -EFBIG;
		/* Files often end with a newline; the token itself has none. */
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			buf[--n] = '\0';
		if (r == 0 && n == 0)
			r = -ENODATA;
		if (r < 0) {
			snprintf(why, whylen, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %.200s is %s", file,
				r == -EFBIG ? "too long" : "empty");
			explicit_bzero(buf, sizeof(buf));
			return r;
		}
		token = buf;
	}
	if (token) {
		if (strpbrk(token, "\r\n") || strlen(token) > CONTAINER_TOKEN_MAX) {
			snprintf(why, whylen, "the container authorization token holds a line break or is too long");
			explicit_bzero(buf, sizeof(buf));
			return -EINVAL;
		}
		snprintf(value, len, "%s", token);
	}
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int aws_container_credentials(struct aws_credentials **out, char *why, size_t whylen)
{
	static const struct http_client_options opts = {
		.connect_timeout_ms = 1000,
		.timeout_ms = 5000,
		.max_body = CONTAINER_BODY_MAX,
		.no_proxy = true,
		.secret = true,
	};
	struct http_response resp = {0};
	char token[CONTAINER_TOKEN_MAX + 1];
	const struct sigv4_header header = {"Authorization", token};
	char *url = NULL;
	int r;

	*out = NULL;
	r = aws_container_url(&url, why, whylen);
	if (r < 0)
		return r;
	r = authorization_value(token, sizeof(token), why, whylen);
	if (r < 0)
		goto out;
	const struct http_request req = {
		.method = "GET",
		.url = url,
		.headers = &header,
		.n_headers = token[0] ? 1 : 0,
	};
	for (int i = 0; i < CONTAINER_ATTEMPTS; i++) {
		http_response_deinit(&resp);
		r = http_client_fetch(&opts, &req, &resp);
		if (r == -ENOMEM || r == -EINVAL || (r == 0 && resp.status < 500))
			break;
	}
	if (r < 0) {
		snprintf(why, whylen, "the container credentials endpoint %.200s did not answer (%s)", url, resp.error);
		goto out;
	}
	if (resp.status != 200) {
		snprintf(why, whylen, "the container credentials endpoint %.200s answered HTTP %ld%s", url, resp.status,
			resp.status == 401 || resp.status == 403 ? " (check the authorization token)" : "");
		r = resp.status == 401 || resp.status == 403 ? -EACCES : -EIO;
		goto out;
	}
	r = aws_credentials_from_json(resp.body, "container", false, out, why, whylen);
out:
	explicit_bzero(token, sizeof(token));
	http_response_deinit(&resp);
	free(url);
	return r;
}
