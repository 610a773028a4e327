/* aws_sts: the two STS calls credential providers need; form-encoded requests, expat-parsed responses */
#include "aws/credentials/aws_sts.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "aws/credentials/aws_credentials.h"
#include "aws/aws_request.h"
#include "aws/http_client.h"
#include "aws/sigv4.h"
#include "util/buf.h"
#include "util/rfc3339.h"

#define STS_FIELD_MAX 8192
#define STS_DEPTH_MAX 16
#define STS_BODY_MAX (256 * 1024) /* an answer is ~2 KiB; anything past this is not STS */

enum sts_field {
	F_NONE,
	F_ACCESS_KEY,
	F_SECRET,
	F_TOKEN,
	F_EXPIRATION,
	F_CODE,
	F_MESSAGE,
	F_COUNT,
};

struct sts_parse {
	XML_Parser parser;
	int depth;
	bool in_credentials;
	bool in_error;
	enum sts_field current;
	char fields[F_COUNT][STS_FIELD_MAX];
	size_t lens[F_COUNT];
	bool overflow;
	bool doctype;
};

static void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **attrs)
{
	struct sts_parse *s = data;

	(void)attrs;
	if (++s->depth > STS_DEPTH_MAX) {
		XML_StopParser(s->parser, XML_FALSE);
		return;
	}
	s->current = F_NONE;
	if (strcmp(name, "Credentials") == 0)
		s->in_credentials = true;
	else if (strcmp(name, "Error") == 0)
		s->in_error = true;
	else if (s->in_credentials && strcmp(name, "AccessKeyId") == 0)
		s->current = F_ACCESS_KEY;
	else if (s->in_credentials && strcmp(name, "SecretAccessKey") == 0)
		s->current = F_SECRET;
	else if (s->in_credentials && strcmp(name, "SessionToken") == 0)
		s->current = F_TOKEN;
	else if (s->in_credentials && strcmp(name, "Expiration") == 0)
		s->current = F_EXPIRATION;
	else if (s->in_error && strcmp(name, "Code") == 0)
		s->current = F_CODE;
	else if (s->in_error && strcmp(name, "Message") == 0)
		s->current = F_MESSAGE;
}

static void XMLCALL on_end(void *data, const XML_Char *name)
{
	struct sts_parse *s = data;

	s->depth--;
	s->current = F_NONE;
	if (strcmp(name, "Credentials") == 0)
		s->in_credentials = false;
	else if (strcmp(name, "Error") == 0)
		s->in_error = false;
}

static void XMLCALL on_text(void *data, const XML_Char *text, int len)
{
	struct sts_parse *s = data;
	size_t *n = &s->lens[s->current];

	if (s->current == F_NONE || len <= 0)
		return;
	if (*n + (size_t)len >= STS_FIELD_MAX) {
		s->overflow = true;
		XML_StopParser(s->parser, XML_FALSE);
		return;
	}
	memcpy(s->fields[s->current] + *n, text, (size_t)len);
	*n += (size_t)len;
	s->fields[s->current][*n] = '\0';
}

static void XMLCALL on_doctype(
	void *data, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid, int has_internal_subset)
{
	struct sts_parse *s = data;

	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	/* STS never sends one; entity definitions are only a way to attack the parser. */
	s->doctype = true;
	XML_StopParser(s->parser, XML_FALSE);
}

/* Trims surrounding whitespace in place (pretty-printed XML). */
static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Copies s into why with control characters and quotes replaced, so a server cannot forge log fields. */
static void why_clean(char *dst, size_t len, const char *s)
{
	size_t i = 0;

	for (; *s && i + 1 < len; s++, i++)
		dst[i] = (unsigned char)*s < 0x20 || *s == '"' || *s == '\\' ? '?' : *s;
	if (len)
		dst[i] = '\0';
}

int aws_sts_parse(const char *xml, size_t len, long status, const char *provider, struct aws_credentials **out,
	char *why, size_t whylen)
{
	struct sts_parse *s;
	int64_t expiration = 0;
	int r;

	*out = NULL;
	if (len > INT32_MAX)
		return -EIO;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->parser = XML_ParserCreate("UTF-8");
	if (!s->parser) {
		free(s);
		return -ENOMEM;
	}
	XML_SetUserData(s->parser, s);
	XML_SetElementHandler(s->parser, on_start, on_end);
	XML_SetCharacterDataHandler(s->parser, on_text);
	XML_SetStartDoctypeDeclHandler(s->parser, on_doctype);
	if (XML_Parse(s->parser, xml, (int)len, XML_TRUE) != XML_STATUS_OK) {
		snprintf(why, whylen, "STS answered HTTP %ld with %s", status,
			s->doctype    ? "a DOCTYPE (refused)"
			: s->overflow ? "an over-long field"
				      : "a body that is not XML");
		r = -EIO;
		goto out;
	}
	if (s->lens[F_CODE]) {
		char code[128], msg[256];

		why_clean(code, sizeof(code), trim(s->fields[F_CODE]));
		why_clean(msg, sizeof(msg), trim(s->fields[F_MESSAGE]));
		snprintf(why, whylen, "STS refused (HTTP %ld %s: %s)", status, code, msg);
		r = status >= 400 && status < 500 ? -EACCES : -EIO;
		goto out;
	}
	if (status != 200) {
		snprintf(why, whylen, "STS answered HTTP %ld without an error code", status);
		r = status >= 400 && status < 500 ? -EACCES : -EIO;
		goto out;
	}
	if (!s->lens[F_ACCESS_KEY] || !s->lens[F_SECRET] || !s->lens[F_TOKEN] || !s->lens[F_EXPIRATION]) {
		snprintf(why, whylen, "STS's answer lacks AccessKeyId, SecretAccessKey, SessionToken or Expiration");
		r = -EIO;
		goto out;
	}
	if (rfc3339_parse(trim(s->fields[F_EXPIRATION]), &expiration) < 0 || expiration <= 0) {
		snprintf(why, whylen, "STS's Expiration is not an ISO 8601 time");
		r = -EIO;
		goto out;
	}
	r = aws_credentials_new(out, trim(s->fields[F_ACCESS_KEY]), trim(s->fields[F_SECRET]), trim(s->fields[F_TOKEN]),
		expiration, provider);
	if (r == -EINVAL)
		snprintf(why, whylen, "STS's credentials are empty");
out:
	XML_ParserFree(s->parser);
	explicit_bzero(s, sizeof(*s));
	free(s);
	return r;
}

/* Appends "&name=value" (value form-encoded) to body. */
static int form_add(struct buf *body, const char *name, const char *value)
{
	char *enc;
	int r;

	if (!value)
		return 0;
	enc = sigv4_uri_encode(value, true);
	if (!enc)
		return -ENOMEM;
	r = buf_printf(body, "&%s=%s", name, enc);
	explicit_bzero(enc, strlen(enc));
	free(enc);
	return r;
}

int aws_sts_call(const struct aws_sts_request *req, struct aws_credentials **out, char *why, size_t whylen)
{
	struct http_response resp = {0};
	struct http_client *http = NULL;
	struct buf body;
	char *url = NULL;
	char duration[16];
	bool web = req->web_identity_token != NULL;
	int r;

	*out = NULL;
	/* The form holds the web identity token: wiped. */
	buf_init(&body, 0, true);
	if (!req->endpoint || !req->role_arn || !req->session_name || (!web && !req->source))
		return -EINVAL;
	snprintf(duration, sizeof(duration), "%d", req->duration_seconds);
	if ((r = buf_puts(&body, web ? "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
				     : "Action=AssumeRole&Version=2011-06-15")) < 0 ||
		(r = form_add(&body, "RoleArn", req->role_arn)) < 0 ||
		(r = form_add(&body, "RoleSessionName", req->session_name)) < 0 ||
		(r = form_add(&body, "DurationSeconds", req->duration_seconds ? duration : NULL)) < 0 ||
		(r = form_add(&body, "ExternalId", web ? NULL : req->external_id)) < 0 ||
		(r = form_add(&body, "WebIdentityToken", req->web_identity_token)) < 0)
		goto out;
	if (asprintf(&url, "%s/", req->endpoint) < 0) {
		url = NULL;
		r = -ENOMEM;
		goto out;
	}
	const struct http_client_options ho = {
		.ca_file = req->ca_file,
		.connect_timeout_ms = 3000,
		.timeout_ms = 10000,
		.max_body = STS_BODY_MAX,
		.secret = true, /* the answer carries credentials: its buffers are wiped */
	};
	r = http_client_new(&http, &ho);
	if (r < 0)
		goto out;
	const struct aws_request areq = {
		.method = "POST",
		.url = url,
		.content_type = "application/x-www-form-urlencoded; charset=utf-8",
		.accept = "text/xml",
		.body = body.data,
		.body_len = body.len,
	};
	/* AssumeRoleWithWebIdentity is unsigned: the token is the proof. */
	const struct aws_request_signer signer = {
		.access_key_id = web ? NULL : req->source->access_key_id,
		.secret_access_key = web ? NULL : req->source->secret_access_key,
		.session_token = web ? NULL : req->source->session_token,
		.region = req->signing_region,
		.service = "sts",
		.now = req->now,
	};
	r = aws_request_send(http, &areq, web ? NULL : &signer, &resp);
	if (r == -EINVAL && !resp.error[0]) {
		snprintf(why, whylen, "the STS endpoint is not an http(s) URL with a host");
		goto out;
	}
	if (r < 0) {
		snprintf(why, whylen, "STS at %.200s did not answer (%s)", req->endpoint,
			resp.error[0] ? resp.error : strerror(-r));
		goto out;
	}
	r = aws_sts_parse(resp.body, resp.body_len, resp.status, req->provider, out, why, whylen);
out:
	http_response_deinit(&resp);
	http_client_free(http);
	buf_deinit(&body);
	free(url);
	return r;
}
