/* aws_sts: the STS calls credential providers need; form-encoded requests, expat-parsed responses */
#include "aws/credentials/aws_sts.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "aws/credentials/aws_credentials.h"
#include "aws/aws_endpoint.h"
#include "aws/aws_request.h"
#include "aws/http_client.h"
#include "aws/sigv4.h"
#include "util/array.h"
#include "util/ascii.h"
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
	F_ACCOUNT,
	F_ARN,
	F_USER_ID,
	F_COUNT,
};

/* The elements whose fields are read, and the fields: an element's text is kept only inside its scope. */
enum sts_scope {
	SCOPE_CREDENTIALS,
	SCOPE_ERROR,
	SCOPE_IDENTITY,
	SCOPE_COUNT,
};

static const char *const scope_names[SCOPE_COUNT] = {
	[SCOPE_CREDENTIALS] = "Credentials",
	[SCOPE_ERROR] = "Error",
	[SCOPE_IDENTITY] = "GetCallerIdentityResult",
};

static const struct {
	enum sts_scope scope;
	const char *name;
	enum sts_field field;
} sts_fields[] = {
	{SCOPE_IDENTITY, "Account", F_ACCOUNT},
	{SCOPE_IDENTITY, "Arn", F_ARN},
	{SCOPE_IDENTITY, "UserId", F_USER_ID},
	{SCOPE_CREDENTIALS, "AccessKeyId", F_ACCESS_KEY},
	{SCOPE_CREDENTIALS, "SecretAccessKey", F_SECRET},
	{SCOPE_CREDENTIALS, "SessionToken", F_TOKEN},
	{SCOPE_CREDENTIALS, "Expiration", F_EXPIRATION},
	{SCOPE_ERROR, "Code", F_CODE},
	{SCOPE_ERROR, "Message", F_MESSAGE},
};

/* The scope whose element is name, or SCOPE_COUNT for none. */
static enum sts_scope scope_of(const XML_Char *name)
{
	int i = 0;

	while (i < SCOPE_COUNT && strcmp(name, scope_names[i]) != 0)
		i++;
	return (enum sts_scope)i;
}

struct sts_parse {
	XML_Parser parser;
	int depth;
	bool in[SCOPE_COUNT]; /* inside the scope's element */
	enum sts_field current;
	char fields[F_COUNT][STS_FIELD_MAX];
	size_t lens[F_COUNT];
	bool overflow;
	bool doctype;
};

static void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **attrs)
{
	struct sts_parse *s = data;
	enum sts_scope scope;

	(void)attrs;
	if (++s->depth > STS_DEPTH_MAX) {
		XML_StopParser(s->parser, XML_FALSE);
		return;
	}
	s->current = F_NONE;
	scope = scope_of(name);
	if (scope < SCOPE_COUNT) {
		s->in[scope] = true;
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sts_fields); i++) {
		if (s->in[sts_fields[i].scope] && strcmp(name, sts_fields[i].name) == 0) {
			s->current = sts_fields[i].field;
			return;
		}
	}
}

static void XMLCALL on_end(void *data, const XML_Char *name)
{
	struct sts_parse *s = data;
	enum sts_scope scope;

	s->depth--;
	s->current = F_NONE;
	scope = scope_of(name);
	if (scope < SCOPE_COUNT)
		s->in[scope] = false;
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

	while (ascii_is_space(*s))
		s++;
	n = strlen(s);
	while (n > 0 && ascii_is_space(s[n - 1]))
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

const char *aws_sts_denial_advice(const char *message)
{
	/* Newer answers end with "because no identity-based policy allows…", "…with an explicit deny in a …"; many
	 * published ones stop after the resource, which leaves both policies to check. */
	if (strstr(message, "explicit deny in a resource-based policy"))
		return "the role's trust policy denies the exporter's identity explicitly";
	if (strstr(message, "explicit deny"))
		return "an explicit deny refuses sts:AssumeRole to the exporter's identity (its IAM policies, a "
		       "permissions "
		       "boundary or a service control policy)";
	if (strstr(message, "no identity-based policy"))
		return "the exporter's identity lacks the permission: grant it sts:AssumeRole on the role";
	if (strstr(message, "no resource-based policy"))
		return "the role's trust policy does not trust the exporter's identity, or requires another "
		       "external_id: "
		       "add the identity (or its account) to the trust policy's Principal";
	return "either the exporter's identity lacks sts:AssumeRole on the role, or the role's trust policy does not "
	       "trust it (or requires another external_id)";
}

/* Parses xml into a new *out (which holds secrets: sts_parse_free()). Returns 0, -EIO with why, -ENOMEM. */
static int sts_parse_run(const char *xml, size_t len, long status, struct sts_parse **out, char *why, size_t whylen)
{
	struct sts_parse *s;

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
	*out = s;
	if (XML_Parse(s->parser, xml, (int)len, XML_TRUE) != XML_STATUS_OK) {
		snprintf(why, whylen, "STS answered HTTP %ld with %s", status,
			s->doctype    ? "a DOCTYPE (refused)"
			: s->overflow ? "an over-long field"
				      : "a body that is not XML");
		return -EIO;
	}
	return 0;
}

static void sts_parse_free(struct sts_parse *s)
{
	if (!s)
		return;
	XML_ParserFree(s->parser);
	explicit_bzero(s, sizeof(*s));
	free(s);
}

/*
 * The error an answer carries (an ErrorResponse, or a status other than 200): -EACCES for 4xx, -EIO otherwise,
 * with why (and STS's code in code, when not NULL); 0 when it is a success.
 */
static int sts_error(struct sts_parse *s, long status, char *code, size_t codelen, char *why, size_t whylen)
{
	if (s->lens[F_CODE]) {
		char c[128], msg[512];

		why_clean(c, sizeof(c), trim(s->fields[F_CODE]));
		why_clean(msg, sizeof(msg), trim(s->fields[F_MESSAGE]));
		if (code && codelen) {
			/* Codes are short words; a longer one is cut, never read past. */
			size_t n = strnlen(c, codelen - 1);
			memcpy(code, c, n);
			code[n] = '\0';
		}
		/* The message names the action refused: advice only for the role, whichever call it was. */
		if (strcmp(c, "AccessDenied") == 0 && strstr(msg, "sts:AssumeRole"))
			snprintf(why, whylen, "STS refused (HTTP %ld %s: %s): %s", status, c, msg,
				aws_sts_denial_advice(msg));
		else
			snprintf(why, whylen, "STS refused (HTTP %ld %s: %s)", status, c, msg);
		return status >= 400 && status < 500 ? -EACCES : -EIO;
	}
	if (status != 200) {
		snprintf(why, whylen, "STS answered HTTP %ld without an error code", status);
		return status >= 400 && status < 500 ? -EACCES : -EIO;
	}
	return 0;
}

static int credentials_parse(const char *xml, size_t len, long status, const char *provider,
	struct aws_credentials **out, struct aws_sts_outcome *outcome, char *why, size_t whylen)
{
	struct sts_parse *s = NULL;
	int64_t expiration = 0;
	int r;

	*out = NULL;
	r = sts_parse_run(xml, len, status, &s, why, whylen);
	if (r < 0)
		goto out;
	r = sts_error(s, status, outcome ? outcome->code : NULL, outcome ? sizeof(outcome->code) : 0, why, whylen);
	if (r < 0)
		goto out;
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
	sts_parse_free(s);
	return r;
}

int aws_sts_parse(const char *xml, size_t len, long status, const char *provider, struct aws_credentials **out,
	char *why, size_t whylen)
{
	return credentials_parse(xml, len, status, provider, out, NULL, why, whylen);
}

static bool account_valid(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!ascii_is_digit(s[n]))
			return false;
	return n == AWS_ACCOUNT_ID_DIGITS;
}

static int identity_parse(const char *xml, size_t len, long status, struct aws_caller_identity *out,
	struct aws_sts_outcome *outcome, char *why, size_t whylen)
{
	struct sts_parse *s = NULL;
	const char *account, *arn, *user_id;
	int r;

	memset(out, 0, sizeof(*out));
	r = sts_parse_run(xml, len, status, &s, why, whylen);
	if (r < 0)
		goto out;
	r = sts_error(s, status, outcome ? outcome->code : NULL, outcome ? sizeof(outcome->code) : 0, why, whylen);
	if (r < 0)
		goto out;
	account = trim(s->fields[F_ACCOUNT]);
	arn = trim(s->fields[F_ARN]);
	user_id = trim(s->fields[F_USER_ID]);
	if (!account_valid(account) || strncmp(arn, "arn:", 4) != 0 || strlen(arn) >= sizeof(out->arn) ||
		strlen(user_id) >= sizeof(out->user_id)) {
		snprintf(why, whylen, "STS's GetCallerIdentity answer lacks a 12-digit Account or an Arn");
		r = -EIO;
		goto out;
	}
	snprintf(out->account, sizeof(out->account), "%s", account);
	why_clean(out->arn, sizeof(out->arn), arn);
	why_clean(out->user_id, sizeof(out->user_id), user_id);
out:
	sts_parse_free(s);
	return r;
}

int aws_sts_parse_identity(
	const char *xml, size_t len, long status, struct aws_caller_identity *out, char *why, size_t whylen)
{
	return identity_parse(xml, len, status, out, NULL, why, whylen);
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

/* The form of req: AssumeRole, AssumeRoleWithWebIdentity or (identity) GetCallerIdentity. */
static int form_build(const struct aws_sts_request *req, bool identity, struct buf *body)
{
	bool web = req->web_identity_token != NULL;
	char duration[16];
	int r;

	if (identity)
		return buf_puts(body, "Action=GetCallerIdentity&Version=2011-06-15");
	snprintf(duration, sizeof(duration), "%d", req->duration_seconds);
	if ((r = buf_puts(body, web ? "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
				    : "Action=AssumeRole&Version=2011-06-15")) < 0 ||
		(r = form_add(body, "RoleArn", req->role_arn)) < 0 ||
		(r = form_add(body, "RoleSessionName", req->session_name)) < 0 ||
		(r = form_add(body, "DurationSeconds", req->duration_seconds ? duration : NULL)) < 0 ||
		(r = form_add(body, "ExternalId", web ? NULL : req->external_id)) < 0 ||
		(r = form_add(body, "WebIdentityToken", req->web_identity_token)) < 0)
		return r;
	return 0;
}

/* Sends req's form (identity: GetCallerIdentity) and returns the answer in resp; the transport's failure in why. */
static int sts_send(
	const struct aws_sts_request *req, bool identity, struct http_response *resp, char *why, size_t whylen)
{
	struct http_client *http = NULL;
	struct buf body;
	char *url = NULL;
	bool web = !identity && req->web_identity_token != NULL;
	int r;

	memset(resp, 0, sizeof(*resp));
	if (req->outcome)
		memset(req->outcome, 0, sizeof(*req->outcome));
	/* The form holds the web identity token: wiped. */
	buf_init(&body, 0, true);
	r = form_build(req, identity, &body);
	if (r < 0)
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
	r = aws_request_send(http, &areq, web ? NULL : &signer, resp);
	if (r == -EINVAL && !resp->error[0]) {
		snprintf(why, whylen, "the STS endpoint is not an http(s) URL with a host");
		goto out;
	}
	if (r < 0) {
		snprintf(why, whylen, "STS at %.200s did not answer (%s)", req->endpoint,
			resp->error[0] ? resp->error : strerror(-r));
		goto out;
	}
	if (req->outcome)
		req->outcome->http_status = resp->status;
out:
	http_client_free(http);
	buf_deinit(&body);
	free(url);
	return r;
}

int aws_sts_call(const struct aws_sts_request *req, struct aws_credentials **out, char *why, size_t whylen)
{
	struct http_response resp = {0};
	bool web = req->web_identity_token != NULL;
	int r;

	*out = NULL;
	if (!req->endpoint || !req->role_arn || !req->session_name || (!web && !req->source))
		return -EINVAL;
	r = sts_send(req, false, &resp, why, whylen);
	if (r == 0)
		r = credentials_parse(
			resp.body, resp.body_len, resp.status, req->provider, out, req->outcome, why, whylen);
	http_response_deinit(&resp);
	return r;
}

int aws_sts_caller_identity(
	const struct aws_sts_request *req, struct aws_caller_identity *out, char *why, size_t whylen)
{
	struct http_response resp = {0};
	int r;

	memset(out, 0, sizeof(*out));
	if (!req->endpoint || !req->source)
		return -EINVAL;
	r = sts_send(req, true, &resp, why, whylen);
	if (r == 0)
		r = identity_parse(resp.body, resp.body_len, resp.status, out, req->outcome, why, whylen);
	http_response_deinit(&resp);
	return r;
}

/* req's endpoint for ctx, then call (identity: GetCallerIdentity), then the observer. */
static int sts_call_in(const struct aws_credentials_context *ctx, struct aws_sts_request *req, bool identity,
	struct aws_credentials **out, struct aws_caller_identity *who, char *why, size_t whylen)
{
	struct aws_sts_outcome outcome = {0}, *caller_outcome = req->outcome;
	char *endpoint = NULL;
	const char *signing_region = NULL;
	int r;

	r = aws_sts_endpoint_resolve(ctx->profile, ctx->region, &endpoint, &signing_region, why, whylen);
	if (r < 0)
		return r;
	req->endpoint = endpoint;
	req->signing_region = signing_region;
	req->ca_file = ctx->ca_file;
	req->now = ctx->now;
	req->outcome = &outcome;
	r = identity ? aws_sts_caller_identity(req, who, why, whylen) : aws_sts_call(req, out, why, whylen);
	if (ctx->observer && ctx->observer->call && r != -ENOMEM && r != -EINVAL)
		ctx->observer->call(ctx->observer->data,
			identity                  ? "GetCallerIdentity"
			: req->web_identity_token ? "AssumeRoleWithWebIdentity"
						  : "AssumeRole",
			outcome.http_status);
	if (caller_outcome)
		*caller_outcome = outcome;
	req->outcome = caller_outcome;
	req->endpoint = NULL;
	free(endpoint);
	return r;
}

int aws_sts_call_in(const struct aws_credentials_context *ctx, struct aws_sts_request *req,
	struct aws_credentials **out, char *why, size_t whylen)
{
	return sts_call_in(ctx, req, false, out, NULL, why, whylen);
}

int aws_sts_caller_identity_in(const struct aws_credentials_context *ctx, struct aws_sts_request *req,
	struct aws_caller_identity *out, char *why, size_t whylen)
{
	return sts_call_in(ctx, req, true, NULL, out, why, whylen);
}
