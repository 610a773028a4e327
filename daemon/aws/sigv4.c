/* sigv4: AWS Signature Version 4 (AWS4-HMAC-SHA256) signing with OpenSSL (verifying: tests/simulator/sim_sigv4.c) */
#include "aws/sigv4.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/ascii.h"
#include "util/buf.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

static bool is_unreserved(unsigned char c)
{
	return ascii_is_alnum((char)c) || c == '-' || c == '_' || c == '.' || c == '~';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool ascii_iequal(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (ascii_to_lower(*a) != ascii_to_lower(*b))
			return false;
	return *a == *b;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static int buf_append_encoded(struct buf *b, const char *s, size_t n, bool encode_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	int r;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3];

		if (is_unreserved(c) || (c == '/' && !encode_slash)) {
			r = buf_putc(b, (char)c);
		} else {
			esc[0] = '%';
			esc[1] = digits[c >> 4];
			esc[2] = digits[c & 0x0f];
			r = buf_append(b, esc, sizeof(esc));
		}
		if (r < 0)
			return r;
	}
	return 0;
}

char *sigv4_uri_encode(const char *s, bool encode_slash)
{
	struct buf b = {0};

	if (!s) {
		errno = EINVAL;
		return NULL;
	}
	if (buf_append_encoded(&b, s, strlen(s), encode_slash) < 0) {
		buf_deinit(&b);
		errno = ENOMEM;
		return NULL;
	}
	return buf_take(&b, NULL);
}

/*
 * Appends the query component s[0..n) decoded; -EINVAL for a broken %XX sequence. A literal '+' means a
 * space, as in forms: botocore puts spaces on the wire as '+' and signs them as %20, and AWS accepts that.
 * A real '+' travels as %2B.
 */
static int buf_append_decoded(struct buf *b, const char *s, size_t n)
{
	int r;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi = i + 2 < n ? ascii_hex_value(s[i + 1]) : -1;
			int lo = i + 2 < n ? ascii_hex_value(s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		r = buf_putc(b, c);
		if (r < 0)
			return r;
	}
	return 0;
}

static int sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) || md_len != SHA256_LEN)
		return -EIO;
	hex_encode(md, SHA256_LEN, out);
	return 0;
}

static int hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[SHA256_LEN])
{
	unsigned int out_len = 0;

	if (key_len > INT_MAX)
		return -EINVAL;
	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) || out_len != SHA256_LEN)
		return -EIO;
	return 0;
}

/*
 * The canonical URI: the path as sent, optionally normalised (dot segments removed, repeated slashes
 * merged, a trailing slash kept, as botocore does), then URI-encoded once more with '/' kept. Since the
 * path on the wire is already percent-encoded, this is SigV4's "encode twice" for every service but S3.
 */
static int canonical_path(const char *path, bool normalize, struct buf *out)
{
	size_t n, n_segs = 0, *seg_start = NULL, *seg_len = NULL;
	int r = 0;

	if (!path || !*path)
		return buf_putc(out, '/');
	if (path[0] != '/')
		return -EINVAL;
	n = strlen(path);
	for (size_t i = 0; i < n; i++)
		if (path[i] == '%' &&
			(i + 2 >= n || ascii_hex_value(path[i + 1]) < 0 || ascii_hex_value(path[i + 2]) < 0))
			return -EINVAL;
	if (!normalize)
		return buf_append_encoded(out, path, n, false);

	/* At most one segment per '/' in the path. */
	seg_start = calloc(n, sizeof(*seg_start));
	seg_len = calloc(n, sizeof(*seg_len));
	if (!seg_start || !seg_len) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n;) {
		size_t start, len;

		while (i < n && path[i] == '/')
			i++;
		start = i;
		while (i < n && path[i] != '/')
			i++;
		len = i - start;
		if (len == 0 || (len == 1 && path[start] == '.'))
			continue;
		if (len == 2 && path[start] == '.' && path[start + 1] == '.') {
			if (n_segs)
				n_segs--;
			continue;
		}
		seg_start[n_segs] = start;
		seg_len[n_segs] = len;
		n_segs++;
	}
	r = buf_putc(out, '/');
	for (size_t i = 0; r >= 0 && i < n_segs; i++) {
		if (i)
			r = buf_putc(out, '/');
		if (r >= 0)
			r = buf_append_encoded(out, path + seg_start[i], seg_len[i], false);
	}
	if (r >= 0 && n_segs && path[n - 1] == '/')
		r = buf_putc(out, '/');
out:
	free(seg_start);
	free(seg_len);
	return r;
}

struct query_param {
	char *key; /* canonically encoded */
	char *value; /* canonically encoded */
};

static int query_param_cmp(const void *a, const void *b)
{
	const struct query_param *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->value, y->value);
}

/* Decodes s[0..n) and encodes it again the one canonical way. */
static int query_component(const char *s, size_t n, char **out)
{
	struct buf raw = {0}, enc = {0};
	int r;

	r = buf_append_decoded(&raw, s, n);
	if (r >= 0)
		r = buf_append_encoded(&enc, raw.data ? raw.data : "", raw.len, true);
	if (r >= 0) {
		*out = buf_take(&enc, NULL);
		if (!*out)
			r = -ENOMEM;
	}
	buf_deinit(&raw);
	buf_deinit(&enc);
	return r;
}

/* The canonical query string: parameters decoded, re-encoded per RFC 3986, sorted by key then value. */
static int canonical_query(const char *query, struct buf *out)
{
	struct query_param *params = NULL;
	size_t n_params = 0, max_params = 1;
	int r = 0;

	if (!query || !*query)
		return 0;
	for (const char *p = query; *p; p++)
		if (*p == '&')
			max_params++;
	params = calloc(max_params, sizeof(*params));
	if (!params)
		return -ENOMEM;

	for (const char *p = query; *p;) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		size_t key_len = eq ? (size_t)(eq - p) : len;

		if (len) {
			struct query_param *qp = &params[n_params++];

			r = query_component(p, key_len, &qp->key);
			if (r >= 0)
				r = query_component(eq ? eq + 1 : p + len, eq ? len - key_len - 1 : 0, &qp->value);
			if (r < 0)
				goto out;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	qsort(params, n_params, sizeof(*params), query_param_cmp);
	for (size_t i = 0; r >= 0 && i < n_params; i++) {
		if (i)
			r = buf_putc(out, '&');
		if (r >= 0)
			r = buf_puts(out, params[i].key);
		if (r >= 0)
			r = buf_putc(out, '=');
		if (r >= 0)
			r = buf_puts(out, params[i].value);
	}
out:
	for (size_t i = 0; i < n_params; i++) {
		free(params[i].key);
		free(params[i].value);
	}
	free(params);
	return r;
}

struct canon_header {
	char *name; /* lowercased */
	char *value; /* trimmed, inner runs of whitespace collapsed to one space */
	size_t index; /* position in the request: repeated headers keep their order */
};

static int canon_header_cmp(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* An HTTP token (RFC 9110): anything else, ';' above all, would corrupt SignedHeaders. */
static bool header_name_valid(const char *name)
{
	if (!name || !*name)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    strchr("!#$%&'*+-.^_`|~", *p)))
			return false;
	return true;
}

static int canon_header_fill(struct canon_header *h, const struct sigv4_header *src, size_t index)
{
	const char *v;
	size_t name_len, w = 0;

	if (!header_name_valid(src->name) || !src->value || strpbrk(src->value, "\r\n"))
		return -EINVAL;
	name_len = strlen(src->name);
	h->name = malloc(name_len + 1);
	h->value = malloc(strlen(src->value) + 1);
	if (!h->name || !h->value)
		return -ENOMEM;
	for (size_t i = 0; i <= name_len; i++)
		h->name[i] = ascii_to_lower(src->name[i]);
	for (v = src->value; is_space(*v); v++)
		;
	while (*v) {
		if (is_space(*v)) {
			while (is_space(*v))
				v++;
			if (*v)
				h->value[w++] = ' ';
			continue;
		}
		h->value[w++] = *v++;
	}
	h->value[w] = '\0';
	h->index = index;
	return 0;
}

struct canon_input {
	const struct sigv4_request *req;
	bool normalize;
	const struct sigv4_header *extra; /* headers the signer adds */
	size_t n_extra;
	const char *payload_hash;
};

/*
 * Builds the canonical request into out and the signed header list into *signed_headers (malloc'd).
 * -EINVAL for a malformed request, -ENOMEM.
 */
static int canonical_build(const struct canon_input *in, struct buf *out, char **signed_headers)
{
	const struct sigv4_request *req = in->req;
	struct canon_header *hs = NULL;
	struct buf names = {0};
	size_t n_total, n_hs = 0;
	bool have_host = false;
	int r;

	*signed_headers = NULL;
	if (!req->method || !*req->method || strpbrk(req->method, " \t\r\n"))
		return -EINVAL;
	if (req->n_headers && !req->headers)
		return -EINVAL;
	if (req->body_len && !req->body)
		return -EINVAL;
	if (req->n_headers > SIZE_MAX / sizeof(*hs) - in->n_extra)
		return -ENOMEM;
	n_total = req->n_headers + in->n_extra;
	hs = calloc(n_total ? n_total : 1, sizeof(*hs));
	if (!hs)
		return -ENOMEM;

	for (size_t i = 0; i < n_total; i++) {
		const struct sigv4_header *src = i < req->n_headers ? &req->headers[i] : &in->extra[i - req->n_headers];

		r = canon_header_fill(&hs[n_hs], src, i);
		n_hs++;
		if (r < 0)
			goto out;
		if (strcmp(hs[n_hs - 1].name, "host") == 0)
			have_host = true;
	}
	if (!have_host) {
		r = -EINVAL;
		goto out;
	}
	qsort(hs, n_hs, sizeof(*hs), canon_header_cmp);

	r = buf_puts(out, req->method);
	if (r >= 0)
		r = buf_putc(out, '\n');
	if (r >= 0)
		r = canonical_path(req->path, in->normalize, out);
	if (r >= 0)
		r = buf_putc(out, '\n');
	if (r >= 0)
		r = canonical_query(req->query, out);
	if (r >= 0)
		r = buf_putc(out, '\n');
	for (size_t i = 0; r >= 0 && i < n_hs; i++) {
		bool first = i == 0 || strcmp(hs[i - 1].name, hs[i].name) != 0;
		bool last = i + 1 == n_hs || strcmp(hs[i + 1].name, hs[i].name) != 0;

		if (first) {
			r = buf_puts(out, hs[i].name);
			if (r >= 0)
				r = buf_putc(out, ':');
			if (r >= 0 && names.len)
				r = buf_putc(&names, ';');
			if (r >= 0)
				r = buf_puts(&names, hs[i].name);
		} else {
			r = buf_putc(out, ',');
		}
		if (r >= 0)
			r = buf_puts(out, hs[i].value);
		if (r >= 0 && last)
			r = buf_putc(out, '\n');
	}
	if (r < 0)
		goto out;
	r = buf_putc(out, '\n');
	if (r >= 0)
		r = buf_append(out, names.data ? names.data : "", names.len);
	if (r >= 0)
		r = buf_putc(out, '\n');
	if (r >= 0)
		r = buf_puts(out, in->payload_hash);
	if (r >= 0) {
		*signed_headers = buf_take(&names, NULL);
		if (!*signed_headers)
			r = -ENOMEM;
	}
out:
	for (size_t i = 0; i < n_hs; i++) {
		free(hs[i].name);
		free(hs[i].value);
	}
	free(hs);
	buf_deinit(&names);
	return r;
}

static bool scope_part_valid(const char *s)
{
	return s && *s && !strpbrk(s, "/ \t\r\n");
}

/* "20150830T123600Z" for now; -EINVAL when the time does not fit the format. */
static int amz_date_format(int64_t now, char out[17])
{
	struct tm tm;
	time_t t;

	if (now < 0 || now > INT64_C(253402300799)) /* 9999-12-31T23:59:59Z */
		return -EINVAL;
	t = (time_t)now;
	if (!gmtime_r(&t, &tm))
		return -EINVAL;
	if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return -EINVAL;
	return 0;
}

/* What signing needs besides the canonical request: date, payload hash, and the signer's own headers. */
struct sign_state {
	char amz_date[17];
	char payload_hash[SHA256_HEX_LEN + 1];
	struct sigv4_header extra[3];
	size_t n_extra;
	struct buf canonical;
	char *signed_headers;
};

static void sign_state_deinit(struct sign_state *s)
{
	buf_deinit(&s->canonical);
	free(s->signed_headers);
	s->signed_headers = NULL;
}

static int sign_prepare(const struct sigv4_request *req, const struct sigv4_params *params, struct sign_state *s)
{
	struct canon_input in = {0};
	int r;

	memset(s, 0, sizeof(*s));
	if (!req || !params || !scope_part_valid(params->access_key_id) || !params->secret_access_key ||
		!*params->secret_access_key || !scope_part_valid(params->region) || !scope_part_valid(params->service))
		return -EINVAL;
	/* The signer owns these headers; a second copy from the caller would be sent but not signed as intended. */
	for (size_t i = 0; i < req->n_headers && req->headers; i++) {
		const char *name = req->headers[i].name;

		if (name && (ascii_iequal(name, "authorization") || ascii_iequal(name, "x-amz-date") ||
				    (params->sign_body && ascii_iequal(name, "x-amz-content-sha256")) ||
				    (params->session_token && ascii_iequal(name, "x-amz-security-token"))))
			return -EINVAL;
	}
	r = amz_date_format(params->now, s->amz_date);
	if (r < 0)
		return r;
	r = sha256_hex(req->body_len ? req->body : "", req->body_len, s->payload_hash);
	if (r < 0)
		return r;

	s->extra[s->n_extra++] = (struct sigv4_header){"x-amz-date", s->amz_date};
	if (params->sign_body)
		s->extra[s->n_extra++] = (struct sigv4_header){"x-amz-content-sha256", s->payload_hash};
	if (params->session_token)
		s->extra[s->n_extra++] = (struct sigv4_header){"x-amz-security-token", params->session_token};

	in.req = req;
	in.normalize = params->normalize_path;
	in.extra = s->extra;
	in.n_extra = s->n_extra;
	in.payload_hash = s->payload_hash;
	r = canonical_build(&in, &s->canonical, &s->signed_headers);
	if (r < 0)
		sign_state_deinit(s);
	return r;
}

/* "AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256 of the canonical request>" */
static int string_to_sign_build(const char *amz_date, const char *region, const char *service, const char *canonical,
	size_t canonical_len, struct buf *out)
{
	char hash[SHA256_HEX_LEN + 1];
	int r;

	r = sha256_hex(canonical, canonical_len, hash);
	if (r >= 0)
		r = buf_puts(out, SIGV4_ALGORITHM "\n");
	if (r >= 0)
		r = buf_puts(out, amz_date);
	if (r >= 0)
		r = buf_putc(out, '\n');
	if (r >= 0)
		r = buf_append(out, amz_date, 8);
	if (r >= 0)
		r = buf_putc(out, '/');
	if (r >= 0)
		r = buf_puts(out, region);
	if (r >= 0)
		r = buf_putc(out, '/');
	if (r >= 0)
		r = buf_puts(out, service);
	if (r >= 0)
		r = buf_puts(out, "/" SIGV4_TERMINATOR "\n");
	if (r >= 0)
		r = buf_puts(out, hash);
	return r;
}

/* HMAC chain: "AWS4"+secret → date → region → service → "aws4_request" → string to sign. */
static int signature_compute(const char *secret, const char *amz_date, const char *region, const char *service,
	const char *string_to_sign, char out[SHA256_HEX_LEN + 1])
{
	unsigned char key[SHA256_LEN], sig[SHA256_LEN];
	size_t secret_len = strlen(secret);
	char *k_secret;
	int r;

	if (secret_len > SIZE_MAX - 5)
		return -ENOMEM;
	k_secret = malloc(secret_len + 5);
	if (!k_secret)
		return -ENOMEM;
	memcpy(k_secret, "AWS4", 4);
	memcpy(k_secret + 4, secret, secret_len + 1);

	r = hmac_sha256(k_secret, secret_len + 4, amz_date, 8, key);
	if (r >= 0)
		r = hmac_sha256(key, sizeof(key), region, strlen(region), key);
	if (r >= 0)
		r = hmac_sha256(key, sizeof(key), service, strlen(service), key);
	if (r >= 0)
		r = hmac_sha256(key, sizeof(key), SIGV4_TERMINATOR, strlen(SIGV4_TERMINATOR), key);
	if (r >= 0)
		r = hmac_sha256(key, sizeof(key), string_to_sign, strlen(string_to_sign), sig);
	if (r >= 0)
		hex_encode(sig, sizeof(sig), out);

	OPENSSL_cleanse(k_secret, secret_len + 5);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(sig, sizeof(sig));
	free(k_secret);
	return r;
}

int sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_params *params, char **out)
{
	struct sign_state s;
	int r;

	*out = NULL;
	r = sign_prepare(req, params, &s);
	if (r < 0)
		return r;
	*out = buf_take(&s.canonical, NULL);
	sign_state_deinit(&s);
	return *out ? 0 : -ENOMEM;
}

int sigv4_string_to_sign(const struct sigv4_request *req, const struct sigv4_params *params, char **out)
{
	struct buf sts = {0};
	struct sign_state s;
	int r;

	*out = NULL;
	r = sign_prepare(req, params, &s);
	if (r < 0)
		return r;
	r = string_to_sign_build(s.amz_date, params->region, params->service, s.canonical.data, s.canonical.len, &sts);
	if (r >= 0) {
		*out = buf_take(&sts, NULL);
		if (!*out)
			r = -ENOMEM;
	}
	buf_deinit(&sts);
	sign_state_deinit(&s);
	return r;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_params *params, struct sigv4_signed *out)
{
	char signature[SHA256_HEX_LEN + 1];
	struct buf sts = {0}, auth = {0};
	struct sign_state s;
	int r;

	memset(out, 0, sizeof(*out));
	r = sign_prepare(req, params, &s);
	if (r < 0)
		return r;
	r = string_to_sign_build(s.amz_date, params->region, params->service, s.canonical.data, s.canonical.len, &sts);
	if (r >= 0)
		r = signature_compute(
			params->secret_access_key, s.amz_date, params->region, params->service, sts.data, signature);
	if (r >= 0)
		r = buf_puts(&auth, SIGV4_ALGORITHM " Credential=");
	if (r >= 0)
		r = buf_puts(&auth, params->access_key_id);
	if (r >= 0)
		r = buf_putc(&auth, '/');
	if (r >= 0)
		r = buf_append(&auth, s.amz_date, 8);
	if (r >= 0)
		r = buf_putc(&auth, '/');
	if (r >= 0)
		r = buf_puts(&auth, params->region);
	if (r >= 0)
		r = buf_putc(&auth, '/');
	if (r >= 0)
		r = buf_puts(&auth, params->service);
	if (r >= 0)
		r = buf_puts(&auth, "/" SIGV4_TERMINATOR ", SignedHeaders=");
	if (r >= 0)
		r = buf_puts(&auth, s.signed_headers);
	if (r >= 0)
		r = buf_puts(&auth, ", Signature=");
	if (r >= 0)
		r = buf_puts(&auth, signature);
	if (r >= 0) {
		out->authorization = buf_take(&auth, NULL);
		if (!out->authorization)
			r = -ENOMEM;
	}
	if (r >= 0) {
		memcpy(out->amz_date, s.amz_date, sizeof(out->amz_date));
		memcpy(out->payload_hash, s.payload_hash, sizeof(out->payload_hash));
	}
	buf_deinit(&sts);
	buf_deinit(&auth);
	sign_state_deinit(&s);
	return r;
}

void sigv4_signed_deinit(struct sigv4_signed *s)
{
	if (!s)
		return;
	free(s->authorization);
	s->authorization = NULL;
}
