/* test-web_auth: bcrypt basic authentication: header parsing, users, the cache, timing of unknown users */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "test.h"
#include "web/web_auth.h"

/* Made with crypt(3) (libxcrypt) as htpasswd -B would: alice/secret, bob/hunter2, carol/"pa:ss word". */
#define HASH_ALICE "$2y$06$lpSB3KllYjBNEoh4Eyh.tuU4/tzUnPsgNIdHuDjq9RUbVP9GVQRVC"
#define HASH_BOB "$2b$06$Y2qW9GkQ0abfxiYxhgQMEeHQrWW6UTFEC6rKxRGx2vEIeDVUfQG6q"
#define HASH_CAROL "$2a$04$jSbuPFON/2CnZQSvXvOT6OTDLjM3q3T07Xm2Pfm1cA4JLFVXYA8.e"

static const struct web_user users[] = {
	{(char *)"alice", (char *)HASH_ALICE},
	{(char *)"bob", (char *)HASH_BOB},
	{(char *)"carol", (char *)HASH_CAROL},
};

/* "Basic " + base64 of n bytes of s. */
static char *basic(const char *s, size_t n)
{
	char *out = malloc(6 + (n + 2) / 3 * 4 + 1);

	if (!out)
		return NULL;
	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)s, (int)n);
	return out;
}

static int check_plain(struct web_auth *a, const char *user_pass, int64_t now)
{
	char *h = basic(user_pass, strlen(user_pass));
	int r = h ? web_auth_check(a, h, now) : -ENOMEM;

	free(h);
	return r;
}

static void test_hash_valid(void)
{
	static const struct {
		const char *hash;
		bool valid;
	} cases[] = {
		{HASH_ALICE, true},
		{HASH_BOB, true},
		{HASH_CAROL, true},
		{"$2x$06$lpSB3KllYjBNEoh4Eyh.tuU4/tzUnPsgNIdHuDjq9RUbVP9GVQRVC", false},
		{"$2y$03$lpSB3KllYjBNEoh4Eyh.tuU4/tzUnPsgNIdHuDjq9RUbVP9GVQRVC", false},
		{"$2y$32$lpSB3KllYjBNEoh4Eyh.tuU4/tzUnPsgNIdHuDjq9RUbVP9GVQRVC", false},
		{"$2y$31$lpSB3KllYjBNEoh4Eyh.tuU4/tzUnPsgNIdHuDjq9RUbVP9GVQRVC", true},
		{"$2y$06$lpSB3KllYjBNEoh4Eyh.tuU4/tzUnPsgNIdHuDjq9RUbVP9GVQRV", false},
		{"$2y$06$lpSB3KllYjBNEoh4Eyh.tuU4/tzUnPsgNIdHuDjq9RUbVP9GVQRVCC", false},
		{"$2y$06$lpSB3KllYjBNEoh4Eyh.tuU4/tzUnPsgNIdHuDjq9RUbVP9GVQRV!", false},
		{"$2y$6$lpSB3KllYjBNEoh4Eyh.tuU4/tzUnPsgNIdHuDjq9RUbVP9GVQRVCC", false},
		{"$apr1$abcdefgh$abcdefghijklmnopqrstuv", false},
		{"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", false},
		{"secret", false},
		{"", false},
		{NULL, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_MSG(web_password_hash_valid(cases[i].hash) == cases[i].valid, "case %zu", i);
}

static void test_new(void)
{
	struct web_user bad[] = {{(char *)"x", (char *)"$1$notbcrypt"}};
	struct web_auth *a = NULL;

	CHECK_INT(web_auth_new(&a, users, 0), -EINVAL);
	CHECK_INT(web_auth_new(&a, NULL, 1), -EINVAL);
	CHECK_INT(web_auth_new(&a, bad, 1), -EINVAL);
	CHECK(a == NULL);
	web_auth_unref(NULL);
	CHECK_INT(web_auth_check(NULL, "Basic eDp5", 0), -EINVAL);
}

static void test_check(void)
{
	struct web_auth *a = NULL;
	char long_user[400], *h;

	CHECK_INT(web_auth_new(&a, users, 3), 0);
	if (!a)
		return;
	CHECK_INT(check_plain(a, "alice:secret", 1000), 0);
	CHECK_INT(check_plain(a, "bob:hunter2", 1000), 0);
	/* The password is everything after the first colon. */
	CHECK_INT(check_plain(a, "carol:pa:ss word", 1000), 0);
	CHECK_INT(check_plain(a, "alice:secreT", 1000), WEB_AUTH_DENIED);
	CHECK_INT(check_plain(a, "alice:", 1000), WEB_AUTH_DENIED);
	CHECK_INT(check_plain(a, "alice", 1000), WEB_AUTH_DENIED);
	CHECK_INT(check_plain(a, "Alice:secret", 1000), WEB_AUTH_DENIED);
	CHECK_INT(check_plain(a, "mallory:secret", 1000), WEB_AUTH_DENIED);
	/* Another user's password is no good, nor alice's password for an unknown name. */
	CHECK_INT(check_plain(a, "bob:secret", 1000), WEB_AUTH_DENIED);
	CHECK_INT(check_plain(a, ":secret", 1000), WEB_AUTH_DENIED);
	CHECK_INT(check_plain(a, "alice:secret\n", 1000), WEB_AUTH_DENIED);
	/* bcrypt reads only 72 bytes; crypt(3) would read only up to a NUL: "secret\0x" is not "secret". */
	h = basic("alice:secret\0x", 14);
	CHECK_INT(h ? web_auth_check(a, h, 1000) : -1, WEB_AUTH_DENIED);
	free(h);
	memset(long_user, 'a', sizeof(long_user) - 1);
	long_user[sizeof(long_user) - 1] = '\0';
	memcpy(long_user + 300, ":secret", 8);
	CHECK_INT(check_plain(a, long_user, 1000), WEB_AUTH_DENIED);

	static const struct {
		const char *header;
		int result;
	} headers[] = {
		{"Basic YWxpY2U6c2VjcmV0", 0}, /* alice:secret */
		{"basic YWxpY2U6c2VjcmV0", 0},
		{"BASIC    YWxpY2U6c2VjcmV0  ", 0},
		{"BasicYWxpY2U6c2VjcmV0", WEB_AUTH_DENIED},
		{"Bearer YWxpY2U6c2VjcmV0", WEB_AUTH_DENIED},
		{"Basic", WEB_AUTH_DENIED},
		{"Basic ", WEB_AUTH_DENIED},
		{"Basic YWxpY2U6c2VjcmV0=", WEB_AUTH_DENIED},
		{"Basic YWxpY2U6c2VjcmV", WEB_AUTH_DENIED},
		{"Basic YWxpY2U6c2Vj*mV0", WEB_AUTH_DENIED},
		{"Basic YW=pY2U6c2VjcmV0", WEB_AUTH_DENIED},
		{"Basic YWxpY2U6c2VjcmV0 YWxp", WEB_AUTH_DENIED},
		{"", WEB_AUTH_DENIED},
		{NULL, WEB_AUTH_DENIED},
	};
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		/* Each at a time past the cache's reach, so that every one is checked from scratch. */
		int64_t now = 1000 + (int64_t)(i + 1) * 1000 * (WEB_AUTH_CACHE_SECONDS + 1);
		CHECK_MSG(web_auth_check(a, headers[i].header, now) == headers[i].result, "header %s",
			headers[i].header ? headers[i].header : "(none)");
	}
	char huge[WEB_AUTH_HEADER_MAX + 16];
	memcpy(huge, "Basic ", 6);
	memset(huge + 6, 'A', sizeof(huge) - 7);
	huge[sizeof(huge) - 1] = '\0';
	CHECK_INT(web_auth_check(a, huge, 1000), WEB_AUTH_DENIED);
	web_auth_unref(a);
}

static void test_cache(void)
{
	struct web_auth *a = NULL;
	uint64_t runs = 0, hits = 0;
	const int64_t ttl = WEB_AUTH_CACHE_SECONDS * 1000;

	CHECK_INT(web_auth_new(&a, users, 3), 0);
	if (!a)
		return;
	CHECK_INT(check_plain(a, "alice:secret", 0), 0);
	web_auth_stats(a, &runs, &hits);
	CHECK_INT(runs, 1);
	CHECK_INT(hits, 0);
	/* Scrapes within the cache's time: no bcrypt; each use pushes the expiry on. */
	for (int i = 1; i <= 5; i++)
		CHECK_INT(check_plain(a, "alice:secret", i * (ttl - 1000)), 0);
	web_auth_stats(a, &runs, &hits);
	CHECK_INT(runs, 1);
	CHECK_INT(hits, 5);
	/* Failures are never remembered. */
	CHECK_INT(check_plain(a, "alice:wrong", 10), WEB_AUTH_DENIED);
	CHECK_INT(check_plain(a, "alice:wrong", 20), WEB_AUTH_DENIED);
	web_auth_stats(a, &runs, &hits);
	CHECK_INT(runs, 3);
	/* The key is the credentials (token68), whatever the spelling of the scheme: still a hit. */
	CHECK_INT(web_auth_check(a, "basic   YWxpY2U6c2VjcmV0", 5 * (ttl - 1000)), 0);
	web_auth_stats(a, &runs, &hits);
	CHECK_INT(runs, 3);
	/* Past the expiry: bcrypt again. */
	CHECK_INT(check_plain(a, "alice:secret", 5 * (ttl - 1000) + ttl + 1), 0);
	web_auth_stats(a, &runs, &hits);
	CHECK_INT(runs, 4);
	/* Other users have entries of their own. */
	CHECK_INT(check_plain(a, "bob:hunter2", 6 * ttl), 0);
	CHECK_INT(check_plain(a, "carol:pa:ss word", 6 * ttl), 0);
	CHECK_INT(check_plain(a, "bob:hunter2", 6 * ttl + 1), 0);
	CHECK_INT(check_plain(a, "carol:pa:ss word", 6 * ttl + 1), 0);
	CHECK_INT(check_plain(a, "alice:secret", 6 * ttl + 1), 0);
	web_auth_stats(a, &runs, &hits);
	CHECK_INT(runs, 6);
	web_auth_unref(a);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

static double time_check(struct web_auth *a, const char *user_pass)
{
	double t0 = now_seconds();

	CHECK_INT(check_plain(a, user_pass, 0), WEB_AUTH_DENIED);
	return now_seconds() - t0;
}

/*
 * A crude check: an unknown user costs about what a known user with a wrong password costs. The three kinds
 * take turns, so that load from elsewhere on the machine falls on all of them alike; medians drop outliers.
 * The bounds are wide (a skipped bcrypt would be a thousand times faster): the check must not flake under load.
 */
static void test_timing(void)
{
	const struct web_user one[] = {{(char *)"alice", (char *)HASH_ALICE}};
	enum { N = 31 };
	double known[N], unknown[N], near[N];
	struct web_auth *a = NULL;

	CHECK_INT(web_auth_new(&a, one, 1), 0);
	if (!a)
		return;
	for (int i = 0; i < N; i++) {
		known[i] = time_check(a, "alice:wrong");
		unknown[i] = time_check(a, "mallory:wrong");
		near[i] = time_check(a, "alicf:wrong");
	}
	qsort(known, N, sizeof(double), compare_double);
	qsort(unknown, N, sizeof(double), compare_double);
	qsort(near, N, sizeof(double), compare_double);
	fprintf(stderr, "median check: known user %.2f ms, unknown user %.2f ms, near name %.2f ms\n",
		known[N / 2] * 1e3, unknown[N / 2] * 1e3, near[N / 2] * 1e3);
	CHECK_MSG(unknown[N / 2] > known[N / 2] * 0.5 && unknown[N / 2] < known[N / 2] * 2.0,
		"known %.4f s, unknown %.4f s", known[N / 2], unknown[N / 2]);
	CHECK_MSG(near[N / 2] > known[N / 2] * 0.5 && near[N / 2] < known[N / 2] * 2.0, "known %.4f s, near %.4f s",
		known[N / 2], near[N / 2]);
	web_auth_unref(a);
}

struct worker {
	struct web_auth *auth;
	int failures;
};

static void *worker_run(void *cls)
{
	struct worker *w = cls;

	for (int i = 0; i < 20; i++) {
		if (check_plain(w->auth, i % 2 ? "bob:hunter2" : "alice:secret", i) != 0)
			w->failures++;
		if (check_plain(w->auth, "bob:nope", i) != WEB_AUTH_DENIED)
			w->failures++;
	}
	return NULL;
}

static void test_threads(void)
{
	struct worker w[4];
	pthread_t t[4];
	struct web_auth *a = NULL;

	CHECK_INT(web_auth_new(&a, users, 3), 0);
	if (!a)
		return;
	for (int i = 0; i < 4; i++) {
		w[i].auth = web_auth_ref(a);
		w[i].failures = 0;
		CHECK_INT(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	/* The creator's reference goes first: the workers' keep it alive. */
	web_auth_unref(a);
	for (int i = 0; i < 4; i++) {
		CHECK_INT(pthread_join(t[i], NULL), 0);
		CHECK_INT(w[i].failures, 0);
		web_auth_unref(w[i].auth);
	}
}

int main(void)
{
	test_hash_valid();
	test_new();
	test_check();
	test_cache();
	test_timing();
	test_threads();
	TEST_DONE();
}
