/* sim_sigv4: SigV4 verification by re-signing the signed part of a received request with aws/sigv4 */
#include "sim_sigv4.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "util/rfc3339.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define SIGNATURE_HEX_LEN 64

/* The parts of an Authorization header, pointing into a private copy. */
struct auth_parts {
	char *copy;
	const char *access_key_id;
	const char *date;
	const char *region;
	const char *service;
	const char *terminator;
	const char *signed_headers;
	const char *signature;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…". -EINVAL when malformed, -ENOMEM. */
static int auth_parse(const char *header, struct auth_parts *a)
{
	char *p, *fields[5];
	size_t n_fields = 0;

	memset(a, 0, sizeof(a[0]));
	if (strncmp(header, SIGV4_ALGORITHM " ", strlen(SIGV4_ALGORITHM) + 1) != 0)
		return -EINVAL;
	a->copy = strdup(header + strlen(SIGV4_ALGORITHM) + 1);
	if (!a->copy)
		return -ENOMEM;

	for (p = a->copy; *p;) {
		char *item, *end;

		while (is_space(*p) || *p == ',')
			p++;
		if (!*p)
			break;
		item = p;
		p += strcspn(p, ",");
		end = p;
		if (*p)
			*p++ = '\0';
		while (end > item && is_space(end[-1]))
			*--end = '\0';
		if (strncmp(item, "Credential=", 11) == 0 && !a->date) {
			char *c = item + 11;

			/* access key id / date / region / service / aws4_request */
			for (n_fields = 0; n_fields < 5 && c; n_fields++) {
				fields[n_fields] = c;
				c = strchr(c, '/');
				if (c)
					*c++ = '\0';
			}
			if (n_fields != 5 || c)
				return -EINVAL;
			a->access_key_id = fields[0];
			a->date = fields[1];
			a->region = fields[2];
			a->service = fields[3];
			a->terminator = fields[4];
		} else if (strncmp(item, "SignedHeaders=", 14) == 0 && !a->signed_headers) {
			a->signed_headers = item + 14;
		} else if (strncmp(item, "Signature=", 10) == 0 && !a->signature) {
			a->signature = item + 10;
		} else {
			return -EINVAL;
		}
	}
	if (!a->date || !a->signed_headers || !a->signature || !*a->access_key_id || !*a->signed_headers)
		return -EINVAL;
	return 0;
}

/* Parses "YYYYMMDDTHHMMSSZ" into UTC seconds, through its RFC 3339 spelling. */
static int amz_date_parse(const char *s, int64_t *out)
{
	char text[RFC3339_SIZE];

	if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
		return -EINVAL;
	snprintf(text, sizeof(text), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", s, s + 4, s + 6, s + 9, s + 11, s + 13);
	return rfc3339_parse(text, out);
}

/* Whether list ("a;b;c", lowercase) names name, compared case-insensitively. */
static bool name_list_contains(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ";");

		if (len == n && strncasecmp(p, name, n) == 0)
			return true;
		p += len;
		if (*p == ';')
			p++;
	}
	return false;
}

/* The one value of the header named name (any case); -ENOENT when absent, -EINVAL when repeated. */
static int header_find(const struct sigv4_request *req, const char *name, const char **value)
{
	*value = NULL;
	for (size_t i = 0; i < req->n_headers; i++) {
		if (!req->headers[i].name || strcasecmp(req->headers[i].name, name) != 0)
			continue;
		if (*value)
			return -EINVAL;
		*value = req->headers[i].value ? req->headers[i].value : "";
	}
	return *value ? 0 : -ENOENT;
}

static void why_set(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	if (vsnprintf(why, whylen, fmt, ap) < 0)
		why[0] = '\0';
	va_end(ap);
}

/* Overwrites the value on the line starting with marker ("\nname:") with '*', keeping its length. */
static void redact_header_line(char *text, const char *marker)
{
	char *p = strstr(text, marker);

	if (!p)
		return;
	for (p += strlen(marker); *p && *p != '\n'; p++)
		*p = '*';
}

/*
 * The request as its signer saw it: only the signed headers, X-Amz-Date left for sigv4_sign() to add
 * (it always does). X-Amz-Content-Sha256 and X-Amz-Security-Token stay ordinary headers: the signer signs
 * them as given when it is not asked to add them, which is the same canonical text.
 */
static int signed_part(const struct sigv4_request *req, const char *signed_headers, struct sigv4_request *out,
	struct sigv4_header **headers)
{
	size_t n = 0;

	*out = *req;
	*headers = calloc(req->n_headers ? req->n_headers : 1, sizeof(**headers));
	if (!*headers)
		return -ENOMEM;
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct sigv4_header *h = &req->headers[i];

		if (h->name && strcasecmp(h->name, "x-amz-date") != 0 && name_list_contains(signed_headers, h->name))
			(*headers)[n++] = *h;
	}
	out->headers = *headers;
	out->n_headers = n;
	return 0;
}

int sim_sigv4_verify(const struct sigv4_request *req, const char *region, const char *service, int64_t now,
	int64_t max_skew, const char *(*lookup_secret)(void *ctx, const char *access_key_id), void *ctx, char *why,
	size_t whylen)
{
	const char *authorization, *amz_date, *content_sha, *secret;
	struct sigv4_header *headers = NULL;
	struct sigv4_signed sig = {0};
	struct sigv4_request part;
	struct sigv4_params params;
	struct auth_parts a = {0}, mine = {0};
	char *canonical = NULL, *sts = NULL;
	int64_t when;
	int r;

	why_set(why, whylen, "%s", "");
	if (!req || !region || !service || !lookup_secret || (req->n_headers && !req->headers) ||
		(req->body_len && !req->body)) {
		why_set(why, whylen, "bad arguments");
		return -EINVAL;
	}
	r = header_find(req, "authorization", &authorization);
	if (r < 0) {
		why_set(why, whylen, "%s Authorization header", r == -ENOENT ? "no" : "repeated");
		r = -EACCES;
		goto out;
	}
	r = auth_parse(authorization, &a);
	if (r == -ENOMEM)
		goto out;
	if (r < 0) {
		why_set(why, whylen,
			"malformed Authorization header (expected " SIGV4_ALGORITHM
			" Credential=…, SignedHeaders=…, Signature=…)");
		r = -EACCES;
		goto out;
	}
	r = -EACCES;
	if (strcmp(a.region, region) != 0 || strcmp(a.service, service) != 0 ||
		strcmp(a.terminator, SIGV4_TERMINATOR)) {
		why_set(why, whylen, "credential scope %s/%s/%s/%s, expected %s/%s/%s/%s", a.date, a.region, a.service,
			a.terminator, a.date, region, service, SIGV4_TERMINATOR);
		goto out;
	}
	if (!name_list_contains(a.signed_headers, "host") || !name_list_contains(a.signed_headers, "x-amz-date")) {
		why_set(why, whylen, "SignedHeaders=%s must include host and x-amz-date", a.signed_headers);
		goto out;
	}
	if (strlen(a.signature) != SIGNATURE_HEX_LEN) {
		why_set(why, whylen, "malformed signature");
		goto out;
	}
	if (header_find(req, "x-amz-date", &amz_date) < 0 || amz_date_parse(amz_date, &when) < 0) {
		why_set(why, whylen, "missing, repeated or malformed X-Amz-Date header");
		goto out;
	}
	if (strlen(a.date) != 8 || strncmp(a.date, amz_date, 8) != 0) {
		why_set(why, whylen, "credential date %s does not match X-Amz-Date %s", a.date, amz_date);
		goto out;
	}
	if (max_skew < 0 || when > now + max_skew || when < now - max_skew) {
		why_set(why, whylen, "X-Amz-Date %s is more than %lld s away from the server's clock", amz_date,
			(long long)max_skew);
		goto out;
	}
	secret = lookup_secret(ctx, a.access_key_id);
	if (!secret) {
		why_set(why, whylen, "unknown access key id %s", a.access_key_id);
		goto out;
	}

	r = signed_part(req, a.signed_headers, &part, &headers);
	if (r < 0)
		goto out;
	params = (struct sigv4_params){
		.access_key_id = a.access_key_id,
		.secret_access_key = secret,
		.region = region,
		.service = service,
		.now = when,
		.normalize_path = strcmp(service, "s3") != 0,
	};
	r = sigv4_sign(&part, &params, &sig);
	if (r == -ENOMEM || r == -EIO)
		goto out;
	if (r < 0 || strcmp(sig.amz_date, amz_date) != 0) {
		why_set(why, whylen, "malformed request (SignedHeaders=%s)", a.signed_headers);
		r = -EACCES;
		goto out;
	}
	/* The signer hashed the body: a payload hash header, signed or not, must be that hash. */
	r = header_find(req, "x-amz-content-sha256", &content_sha);
	if (r == -EINVAL || (r == 0 && strcmp(content_sha, sig.payload_hash) != 0)) {
		why_set(why, whylen, "X-Amz-Content-Sha256 does not match the body (expected %s)", sig.payload_hash);
		r = -EACCES;
		goto out;
	}
	r = auth_parse(sig.authorization, &mine);
	if (r < 0)
		goto out;
	if (strcmp(mine.signed_headers, a.signed_headers) != 0) {
		why_set(why, whylen,
			"a signed header is missing, or SignedHeaders is not sorted and unique "
			"(SignedHeaders=%s)",
			a.signed_headers);
		r = -EACCES;
		goto out;
	}
	if (CRYPTO_memcmp(mine.signature, a.signature, SIGNATURE_HEX_LEN) != 0) {
		r = sigv4_canonical_request(&part, &params, &canonical);
		if (r >= 0)
			r = sigv4_string_to_sign(&part, &params, &sts);
		if (r < 0)
			goto out;
		/* why may end up in a log: the session token must not. */
		redact_header_line(canonical, "\nx-amz-security-token:");
		why_set(why, whylen, "signature does not match; expected canonical request:\n%s\nstring to sign:\n%s",
			canonical, sts);
		r = -EACCES;
		goto out;
	}
	r = 0;
out:
	free(a.copy);
	free(mine.copy);
	free(headers);
	free(canonical);
	free(sts);
	sigv4_signed_deinit(&sig);
	return r;
}
