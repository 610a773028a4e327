/* test-sigv4: the AWS SigV4 suite, botocore-generated Deadline cases, and sim_sigv4_verify */
#include "aws/sigv4.h"
#include "sim_sigv4.h"
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <yajl/yajl_tree.h>

#define MAX_HEADERS 32

/* One test case folder, parsed: request.txt and context.json. */
struct sigv4_case {
	char *request_text; /* request.txt, cut in place by request_parse() */
	char *method;
	char *path;
	char *query;
	struct sigv4_header headers[MAX_HEADERS];
	size_t n_headers;
	char *body;
	size_t body_len;

	yajl_val context;
	struct sigv4_params params;
	/*
	 * The credentials' session token. With "omit_session_token" (AWS's post-sts-header-after case) it is sent
	 * but not signed: the request is signed without it (params.session_token NULL), the header added afterwards.
	 */
	const char *session_token;
};

static char *file_read(const char *dir, const char *name, size_t *len_out)
{
	char path[4096];
	char *data = NULL;
	size_t len = 0, cap = 0;
	FILE *f;
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (cap - len < 4096) {
			char *p = realloc(data, cap + 8192);

			if (!p) {
				free(data);
				fclose(f);
				return NULL;
			}
			data = p;
			cap += 8192;
		}
		got = fread(data + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(data);
		fclose(f);
		return NULL;
	}
	fclose(f);
	data[len] = '\0';
	if (len_out)
		*len_out = len;
	return data;
}

/* Cuts the line starting at *p (LF or CRLF), returns it and moves *p past it; NULL at the end. */
static char *line_next(char **p)
{
	char *line = *p, *nl;

	if (!line || !*line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = line + strlen(line);
	}
	if (nl && nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	return line;
}

/* Appends " " + more to the heap string *value (folded header lines). */
static int value_append(char **value, const char *more)
{
	size_t a = strlen(*value), b = strlen(more);
	char *v = malloc(a + b + 2);

	if (!v)
		return -ENOMEM;
	memcpy(v, *value, a);
	v[a] = ' ';
	memcpy(v + a + 1, more, b + 1);
	free(*value);
	*value = v;
	return 0;
}

/*
 * request.txt: "METHOD target HTTP/1.1", header lines (a line starting with whitespace continues the
 * previous value), an empty line, the body. The target may hold spaces ("/example space/").
 */
static int request_parse(struct sigv4_case *c)
{
	char *p = c->request_text, *line, *sp, *last_sp, *q;

	line = line_next(&p);
	if (!line)
		return -EINVAL;
	sp = strchr(line, ' ');
	last_sp = strrchr(line, ' ');
	if (!sp || last_sp == sp)
		return -EINVAL;
	*sp = '\0';
	*last_sp = '\0';
	c->method = line;
	c->path = sp + 1;
	q = strchr(c->path, '?');
	if (q) {
		*q = '\0';
		c->query = q + 1;
	}
	while (*p) {
		char *colon;

		/* A blank line ends the headers. */
		if (*p == '\n' || (p[0] == '\r' && p[1] == '\n')) {
			p += *p == '\n' ? 1 : 2;
			break;
		}
		line = line_next(&p);
		if (*line == ' ' || *line == '\t') {
			char *cont = line;

			while (*cont == ' ' || *cont == '\t')
				cont++;
			if (!c->n_headers || value_append((char **)&c->headers[c->n_headers - 1].value, cont) < 0)
				return -EINVAL;
			continue;
		}
		colon = strchr(line, ':');
		if (!colon || c->n_headers == MAX_HEADERS)
			return -EINVAL;
		*colon = '\0';
		c->headers[c->n_headers].name = line;
		c->headers[c->n_headers].value = strdup(colon + 1);
		if (!c->headers[c->n_headers].value)
			return -ENOMEM;
		c->n_headers++;
	}
	c->body = p;
	c->body_len = strlen(p);
	return 0;
}

static int64_t timestamp_parse(const char *s)
{
	struct tm tm = {0};

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
			  &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

static const char *json_string(yajl_val root, const char *a, const char *b)
{
	const char *path[] = {a, b, NULL};

	return YAJL_GET_STRING(yajl_tree_get(root, path, yajl_t_string));
}

static bool json_true(yajl_val root, const char *name)
{
	const char *path[] = {name, NULL};

	return YAJL_IS_TRUE(yajl_tree_get(root, path, yajl_t_true));
}

static int context_parse(struct sigv4_case *c, const char *text)
{
	char err[256];

	c->context = yajl_tree_parse(text, err, sizeof(err));
	if (!c->context) {
		fprintf(stderr, "context.json: %s\n", err);
		return -EINVAL;
	}
	c->params.access_key_id = json_string(c->context, "credentials", "access_key_id");
	c->params.secret_access_key = json_string(c->context, "credentials", "secret_access_key");
	c->session_token = json_string(c->context, "credentials", "token");
	c->params.session_token = json_true(c->context, "omit_session_token") ? NULL : c->session_token;
	c->params.region = json_string(c->context, "region", NULL);
	c->params.service = json_string(c->context, "service", NULL);
	c->params.now = timestamp_parse(json_string(c->context, "timestamp", NULL));
	c->params.normalize_path = json_true(c->context, "normalize");
	c->params.sign_body = json_true(c->context, "sign_body");
	if (!c->params.access_key_id || !c->params.secret_access_key || !c->params.region || !c->params.service ||
		c->params.now < 0)
		return -EINVAL;
	return 0;
}

static void case_free(struct sigv4_case *c)
{
	for (size_t i = 0; i < c->n_headers; i++)
		free((char *)c->headers[i].value);
	yajl_tree_free(c->context);
	free(c->request_text);
}

static struct sigv4_request case_request(const struct sigv4_case *c)
{
	return (struct sigv4_request){
		.method = c->method,
		.path = c->path,
		.query = c->query,
		.headers = c->headers,
		.n_headers = c->n_headers,
		.body = c->body,
		.body_len = c->body_len,
	};
}

/* The value of "Name:" among the header lines of a signed request (malloc'd), NULL when absent. */
static char *signed_request_header(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *line = strchr(text, '\n');

	while (line && line[1] && line[1] != '\n') {
		const char *end;

		line++;
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if (strncasecmp(line, name, n) == 0 && line[n] == ':')
			return strndup(line + n + 1, (size_t)(end - line - n - 1));
		line = *end ? end : NULL;
	}
	return NULL;
}

/* Checks one header of the expected signed request against what the signer says to add. */
static void check_signed_header(const char *signed_text, const char *name, const char *value)
{
	char *expected = signed_request_header(signed_text, name);

	CHECK_MSG(expected && value && strcmp(expected, value) == 0, "%s: got \"%s\", expected \"%s\"", name,
		value ? value : "(null)", expected ? expected : "(absent)");
	free(expected);
}

static const char *case_secret;

static const char *case_lookup(void *ctx, const char *access_key_id)
{
	return strcmp(access_key_id, (const char *)ctx) == 0 ? case_secret : NULL;
}

/* Checks one case folder; returns true when it was a case (had request.txt). */
static bool case_run(const char *dir)
{
	char *expected_canonical = NULL, *expected_sts = NULL, *expected_sig = NULL, *signed_text = NULL;
	char *canonical = NULL, *sts = NULL;
	struct sigv4_signed s = {0};
	struct sigv4_request req;
	struct sigv4_case c = {0};
	char *context_text = NULL;
	int failures = test_failures;

	c.request_text = file_read(dir, "request.txt", NULL);
	if (!c.request_text)
		return false;
	context_text = file_read(dir, "context.json", NULL);
	CHECK_MSG(context_text != NULL, "%s/context.json unreadable", dir);
	CHECK_MSG(request_parse(&c) == 0, "%s/request.txt unparsable", dir);
	CHECK_MSG(context_text && context_parse(&c, context_text) == 0, "%s/context.json unusable", dir);
	if (test_failures != failures)
		goto out;

	expected_canonical = file_read(dir, "header-canonical-request.txt", NULL);
	expected_sts = file_read(dir, "header-string-to-sign.txt", NULL);
	expected_sig = file_read(dir, "header-signature.txt", NULL);
	signed_text = file_read(dir, "header-signed-request.txt", NULL);
	CHECK_MSG(expected_canonical && expected_sts && expected_sig && signed_text, "%s: expected files missing", dir);
	if (test_failures != failures)
		goto out;

	req = case_request(&c);
	CHECK_INT(sigv4_canonical_request(&req, &c.params, &canonical), 0);
	CHECK_STR(canonical, expected_canonical);
	CHECK_INT(sigv4_string_to_sign(&req, &c.params, &sts), 0);
	CHECK_STR(sts, expected_sts);
	CHECK_INT(sigv4_sign(&req, &c.params, &s), 0);
	CHECK(s.authorization && strlen(s.authorization) > 64);
	if (s.authorization && strlen(s.authorization) > 64)
		CHECK_STR(s.authorization + strlen(s.authorization) - 64, expected_sig);
	check_signed_header(signed_text, "Authorization", s.authorization);

	/* What the caller adds after signing must be what the expected request carries. */
	check_signed_header(signed_text, "X-Amz-Date", s.amz_date);
	if (c.params.sign_body)
		check_signed_header(signed_text, "X-Amz-Content-Sha256", s.payload_hash);
	if (c.session_token)
		check_signed_header(signed_text, "X-Amz-Security-Token", c.session_token);

	/* The verifier accepts what the signer produced (it always normalises, as every service but S3). */
	if (c.params.normalize_path && s.authorization && c.n_headers + 4 <= MAX_HEADERS) {
		char why[4096];

		c.headers[c.n_headers++] = (struct sigv4_header){"X-Amz-Date", strdup(s.amz_date)};
		if (c.params.sign_body)
			c.headers[c.n_headers++] =
				(struct sigv4_header){"X-Amz-Content-Sha256", strdup(s.payload_hash)};
		if (c.session_token)
			c.headers[c.n_headers++] =
				(struct sigv4_header){"X-Amz-Security-Token", strdup(c.session_token)};
		c.headers[c.n_headers++] = (struct sigv4_header){"Authorization", strdup(s.authorization)};
		req = case_request(&c);
		case_secret = c.params.secret_access_key;
		CHECK_MSG(sim_sigv4_verify(&req, c.params.region, c.params.service, c.params.now, 300, case_lookup,
				  (void *)c.params.access_key_id, why, sizeof(why)) == 0,
			"%s: %s", dir, why);
	}
out:
	if (test_failures != failures)
		fprintf(stderr, "  in case %s\n", dir);
	sigv4_signed_deinit(&s);
	free(canonical);
	free(sts);
	free(expected_canonical);
	free(expected_sts);
	free(expected_sig);
	free(signed_text);
	free(context_text);
	case_free(&c);
	return true;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every case folder under dir (in name order, for stable output); returns how many there were. */
static int suite_run(const char *dir)
{
	char *names[512];
	size_t n_names = 0;
	struct dirent *e;
	int n_cases = 0;
	DIR *d;

	d = opendir(dir);
	CHECK_MSG(d != NULL, "%s: %s", dir, strerror(errno));
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		CHECK(n_names < sizeof(names) / sizeof(names[0]));
		if (n_names == sizeof(names) / sizeof(names[0]))
			break;
		names[n_names] = strdup(e->d_name);
		CHECK(names[n_names] != NULL);
		if (names[n_names])
			n_names++;
	}
	closedir(d);
	qsort(names, n_names, sizeof(names[0]), name_cmp);
	for (size_t i = 0; i < n_names; i++) {
		char path[4096];
		int n = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);

		/* Plain files (LICENSE, README.md, generate.py) have no request.txt and are skipped. */
		if (n > 0 && (size_t)n < sizeof(path) && case_run(path))
			n_cases++;
		free(names[i]);
	}
	return n_cases;
}

/* A Deadline-like request signed, then received: the verifier's view of it. */
struct verify_fixture {
	struct sigv4_header headers[10];
	struct sigv4_request req;
	struct sigv4_signed s;
};

static const char *fixture_lookup(void *ctx, const char *access_key_id)
{
	(void)ctx;
	return strcmp(access_key_id, "AKIDEXAMPLE") == 0 ? "secret/key+example" : NULL;
}

static const char *fixture_lookup_wrong(void *ctx, const char *access_key_id)
{
	(void)ctx;
	(void)access_key_id;
	return "not-the-secret";
}

static const char fixture_body[] = "{\"resourceIds\":{\"queueIds\":[\"queue-0123\"]}}";

static void fixture_sign(struct verify_fixture *f, int64_t now)
{
	struct sigv4_params params = {
		.access_key_id = "AKIDEXAMPLE",
		.secret_access_key = "secret/key+example",
		.session_token = "token+/=",
		.region = "us-west-2",
		.service = "deadline",
		.now = now,
		.normalize_path = true,
		.sign_body = true,
	};
	size_t n = 0;

	memset(f, 0, sizeof(*f));
	f->headers[n++] = (struct sigv4_header){"Host", "management.deadline.us-west-2.amazonaws.com"};
	f->headers[n++] = (struct sigv4_header){"Content-Type", "application/json"};
	f->req = (struct sigv4_request){
		.method = "POST",
		.path = "/2023-10-12/farms/farm-0123/sessions-statistics-aggregation",
		.query = "a=1&nextToken=x%2By%2Fz%3D",
		.headers = f->headers,
		.n_headers = n,
		.body = fixture_body,
		.body_len = strlen(fixture_body),
	};
	CHECK_INT(sigv4_sign(&f->req, &params, &f->s), 0);
	f->headers[n++] = (struct sigv4_header){"X-Amz-Date", f->s.amz_date};
	f->headers[n++] = (struct sigv4_header){"X-Amz-Content-Sha256", f->s.payload_hash};
	f->headers[n++] = (struct sigv4_header){"X-Amz-Security-Token", "token+/="};
	f->headers[n++] = (struct sigv4_header){"Authorization", f->s.authorization ? f->s.authorization : ""};
	f->headers[n++] = (struct sigv4_header){"User-Agent", "not signed, may be anything"};
	f->req.n_headers = n;
}

static int fixture_verify(struct verify_fixture *f, int64_t now)
{
	char why[2048];

	return sim_sigv4_verify(&f->req, "us-west-2", "deadline", now, 300, fixture_lookup, NULL, why, sizeof(why));
}

static void test_verify(void)
{
	const int64_t now = 1764160496; /* 2025-11-26T12:34:56Z */
	struct verify_fixture f;
	char why[2048];
	char tampered[128];

	fixture_sign(&f, now);
	CHECK_INT(fixture_verify(&f, now), 0);
	CHECK_INT(fixture_verify(&f, now + 300), 0);
	CHECK_INT(fixture_verify(&f, now - 300), 0);

	/* Date skew, both ways. */
	CHECK_INT(fixture_verify(&f, now + 301), -EACCES);
	CHECK_INT(fixture_verify(&f, now - 301), -EACCES);

	/* Tampered body, same length. */
	memcpy(tampered, fixture_body, sizeof(fixture_body));
	tampered[5] = 'X';
	f.req.body = tampered;
	CHECK_INT(fixture_verify(&f, now), -EACCES);
	f.req.body = fixture_body;

	/* Tampered signed header; the unsigned User-Agent may change freely. */
	f.headers[1].value = "application/x-amz-json-1.1";
	CHECK_INT(fixture_verify(&f, now), -EACCES);
	f.headers[1].value = "application/json";
	f.headers[6].value = "changed";
	CHECK_INT(fixture_verify(&f, now), 0);

	/* Tampered query and path. */
	f.req.query = "a=2&nextToken=x%2By%2Fz%3D";
	CHECK_INT(fixture_verify(&f, now), -EACCES);
	f.req.query = "a=1&nextToken=x%2By%2Fz%3D";
	f.req.path = "/2023-10-12/farms/farm-0124/sessions-statistics-aggregation";
	CHECK_INT(fixture_verify(&f, now), -EACCES);
	f.req.path = "/2023-10-12/farms/farm-0123/sessions-statistics-aggregation";
	CHECK_INT(fixture_verify(&f, now), 0);

	/* Wrong secret, unknown key, wrong scope. */
	CHECK_INT(sim_sigv4_verify(
			  &f.req, "us-west-2", "deadline", now, 300, fixture_lookup_wrong, NULL, why, sizeof(why)),
		-EACCES);
	CHECK(strstr(why, "signature does not match") != NULL);
	CHECK(strstr(why, "x-amz-security-token:********\n") != NULL);
	CHECK(strstr(why, "token+/=") == NULL);
	CHECK(strstr(why, "secret") == NULL);
	CHECK_INT(sim_sigv4_verify(&f.req, "us-east-1", "deadline", now, 300, fixture_lookup, NULL, why, sizeof(why)),
		-EACCES);
	CHECK_INT(
		sim_sigv4_verify(&f.req, "us-west-2", "s3", now, 300, fixture_lookup, NULL, why, sizeof(why)), -EACCES);
	f.headers[5].value = "AWS4-HMAC-SHA256 Credential=AKIDOTHER/20251126/us-west-2/deadline/aws4_request, "
			     "SignedHeaders=host;x-amz-date, Signature="
			     "0000000000000000000000000000000000000000000000000000000000000000";
	CHECK_INT(sim_sigv4_verify(&f.req, "us-west-2", "deadline", now, 300, fixture_lookup, NULL, why, sizeof(why)),
		-EACCES);
	CHECK(strstr(why, "unknown access key id AKIDOTHER") != NULL);

	/* A payload hash header that does not match the body. */
	f.headers[5].value = f.s.authorization;
	f.headers[3].value = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	CHECK_INT(fixture_verify(&f, now), -EACCES);
	f.headers[3].value = f.s.payload_hash;

	/* Tampered X-Amz-Date (still in the skew window). */
	f.headers[2].value = "20251126T123457Z";
	CHECK_INT(fixture_verify(&f, now), -EACCES);
	f.headers[2].value = f.s.amz_date;

	/* Missing or malformed Authorization, missing signed header. */
	f.headers[5].value = "AWS4-HMAC-SHA256 garbage";
	CHECK_INT(fixture_verify(&f, now), -EACCES);
	f.headers[5].value = "Bearer abc";
	CHECK_INT(fixture_verify(&f, now), -EACCES);
	f.headers[5].value = f.s.authorization;
	f.headers[1].name = "X-Content-Type";
	CHECK_INT(fixture_verify(&f, now), -EACCES);
	f.headers[1].name = "Content-Type";
	f.req.n_headers = 5; /* drop Authorization and User-Agent */
	CHECK_INT(fixture_verify(&f, now), -EACCES);
	f.req.n_headers = 7;
	CHECK_INT(fixture_verify(&f, now), 0);

	/* Header name case and value whitespace do not matter. */
	f.headers[1].name = "CONTENT-TYPE";
	f.headers[1].value = "  application/json ";
	CHECK_INT(fixture_verify(&f, now), 0);

	sigv4_signed_deinit(&f.s);
}

static void test_uri_encode(void)
{
	char *s;

	s = sigv4_uri_encode("aZ09-_.~ /+=%é", true);
	CHECK_STR(s, "aZ09-_.~%20%2F%2B%3D%25%C3%A9");
	free(s);
	s = sigv4_uri_encode("/a b/c", false);
	CHECK_STR(s, "/a%20b/c");
	free(s);
	s = sigv4_uri_encode("", true);
	CHECK_STR(s, "");
	free(s);
}

static void test_malformed(void)
{
	struct sigv4_header host = {"Host", "example.com"};
	struct sigv4_header with_date[] = {{"Host", "example.com"}, {"X-Amz-Date", "20150830T123600Z"}};
	struct sigv4_params params = {
		.access_key_id = "AKID",
		.secret_access_key = "secret",
		.region = "us-west-2",
		.service = "deadline",
		.now = 1440938160,
		.normalize_path = true,
	};
	struct sigv4_request req = {.method = "GET", .path = "/", .headers = &host, .n_headers = 1};
	struct sigv4_signed s;
	char *out = NULL;

	CHECK_INT(sigv4_sign(&req, &params, &s), 0);
	sigv4_signed_deinit(&s);

	req.n_headers = 0;
	CHECK_INT(sigv4_sign(&req, &params, &s), -EINVAL);
	CHECK(s.authorization == NULL);
	req.n_headers = 1;

	req.query = "a=%zz";
	CHECK_INT(sigv4_canonical_request(&req, &params, &out), -EINVAL);
	CHECK(out == NULL);
	req.query = "a=%4";
	CHECK_INT(sigv4_canonical_request(&req, &params, &out), -EINVAL);
	req.query = "b=2&a&c=";
	CHECK_INT(sigv4_canonical_request(&req, &params, &out), 0);
	CHECK(out && strstr(out, "\na=&b=2&c=\n") != NULL);
	free(out);
	req.query = NULL;

	req.path = "/a%2";
	CHECK_INT(sigv4_canonical_request(&req, &params, &out), -EINVAL);
	req.path = "relative";
	CHECK_INT(sigv4_canonical_request(&req, &params, &out), -EINVAL);
	req.path = "/a/b/../c/./d";
	CHECK_INT(sigv4_canonical_request(&req, &params, &out), 0);
	CHECK(out && strncmp(out, "GET\n/a/c/d\n", 11) == 0);
	free(out);
	req.path = "/";

	req.headers = with_date;
	req.n_headers = 2;
	CHECK_INT(sigv4_sign(&req, &params, &s), -EINVAL);
	req.headers = &host;
	req.n_headers = 1;

	params.region = "us/west";
	CHECK_INT(sigv4_sign(&req, &params, &s), -EINVAL);
	params.region = "us-west-2";
	params.now = -1;
	CHECK_INT(sigv4_sign(&req, &params, &s), -EINVAL);
}

int main(void)
{
	int n;

	n = suite_run(TEST_DATA_DIR "/sigv4");
	fprintf(stderr, "AWS SigV4 suite: %d cases\n", n);
	CHECK_MSG(n >= 30, "only %d cases found in the AWS suite", n);

	n = suite_run(TEST_DATA_DIR "/sigv4-botocore");
	fprintf(stderr, "botocore cases: %d\n", n);
	CHECK_MSG(n >= 7, "only %d botocore cases found", n);

	test_uri_encode();
	test_malformed();
	test_verify();
	TEST_DONE();
}
