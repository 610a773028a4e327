/* aws_request: sign an AWS API request with SigV4 and send it once (the one place that does both) */
#include "aws/aws_request.h"

#include <errno.h>
#include <string.h>
#include <stdlib.h>

#include "aws/sigv4.h"
#include "util/version.h"

/* The path of an absolute URL ("/" when it has none) and its query (NULL when none), both malloc'd. */
static int url_path_query(const char *url, char **path, char **query)
{
	const char *rest = strstr(url, "://");
	const char *p, *q;

	*path = *query = NULL;
	if (!rest)
		return -EINVAL;
	rest += 3;
	p = rest + strcspn(rest, "/?");
	q = strchr(p, '?');
	*path = *p == '/' ? strndup(p, q ? (size_t)(q - p) : strlen(p)) : strdup("/");
	*query = q ? strdup(q + 1) : NULL;
	if (!*path || (q && !*query)) {
		free(*path);
		free(*query);
		*path = *query = NULL;
		return -ENOMEM;
	}
	return 0;
}

int aws_request_send(struct http_client *http, const struct aws_request *req, const struct aws_request_signer *signer,
	struct http_response *resp)
{
	struct sigv4_signed sig = {0};
	struct sigv4_header headers[8];
	char *host = NULL, *path = NULL, *query = NULL;
	size_t n = 0;
	int r;

	memset(resp, 0, sizeof(*resp));
	if (req->content_type)
		headers[n++] = (struct sigv4_header){"Content-Type", req->content_type};
	if (req->accept)
		headers[n++] = (struct sigv4_header){"Accept", req->accept};
	if (req->target)
		headers[n++] = (struct sigv4_header){"X-Amz-Target", req->target};
	headers[n++] = (struct sigv4_header){"User-Agent", VERSION_USER_AGENT};
	if (signer) {
		/* curl sends Host computed from the URL as http_url_host() does: the value signed here. */
		r = http_url_host(req->url, &host);
		if (r < 0)
			goto out;
		r = url_path_query(req->url, &path, &query);
		if (r < 0)
			goto out;
		struct sigv4_header to_sign[3];
		size_t n_to_sign = 0;
		to_sign[n_to_sign++] = (struct sigv4_header){"host", host};
		if (req->content_type)
			to_sign[n_to_sign++] = (struct sigv4_header){"content-type", req->content_type};
		if (req->target)
			to_sign[n_to_sign++] = (struct sigv4_header){"x-amz-target", req->target};
		const struct sigv4_request sreq = {
			.method = req->method,
			.path = path,
			.query = query,
			.headers = to_sign,
			.n_headers = n_to_sign,
			.body = req->body ? req->body : "",
			.body_len = req->body ? req->body_len : 0,
		};
		const struct sigv4_params params = {
			.access_key_id = signer->access_key_id,
			.secret_access_key = signer->secret_access_key,
			.session_token = signer->session_token,
			.region = signer->region,
			.service = signer->service,
			.now = signer->now,
			.normalize_path = true,
			.sign_body = signer->sign_body,
		};
		r = sigv4_sign(&sreq, &params, &sig);
		if (r < 0)
			goto out;
		headers[n++] = (struct sigv4_header){"X-Amz-Date", sig.amz_date};
		if (signer->sign_body)
			headers[n++] = (struct sigv4_header){"X-Amz-Content-Sha256", sig.payload_hash};
		if (signer->session_token)
			headers[n++] = (struct sigv4_header){"X-Amz-Security-Token", signer->session_token};
		headers[n++] = (struct sigv4_header){"Authorization", sig.authorization};
	}
	const struct http_request hreq = {
		.method = req->method,
		.url = req->url,
		.headers = headers,
		.n_headers = n,
		.body = req->body,
		.body_len = req->body ? req->body_len : 0,
	};
	r = http_client_send(http, &hreq, resp);
out:
	sigv4_signed_deinit(&sig);
	free(host);
	free(path);
	free(query);
	return r;
}
