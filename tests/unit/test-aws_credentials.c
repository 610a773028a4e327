/* test-aws_credentials: environment and systemd sources, the chain's caching, refresh, backoff, invalidation, JSON */
#include "aws/credentials/aws_credentials.h"
#include "aws/credentials/aws_sts.h"
#include "test.h"

#include <errno.h>
#include <pthread.h>

static void env_put(const char *name, const char *value)
{
	int r = value ? setenv(name, value, 1) : unsetenv(name);

	CHECK_INT(r, 0);
}

struct env_case {
	const char *key;
	const char *secret;
	const char *token;
	int rc;
	const char *expect_token;
};

static const struct env_case env_cases[] = {
	{NULL, NULL, NULL, -ENOENT, NULL},
	{"", "", NULL, -ENOENT, NULL},
	{"AKIDEXAMPLE", NULL, NULL, -EINVAL, NULL},
	{NULL, "secret", "token", -EINVAL, NULL},
	{"AKIDEXAMPLE", "secret", NULL, 0, NULL},
	{"AKIDEXAMPLE", "secret", "", 0, NULL},
	{"AKIDEXAMPLE", "secret", "token/+=", 0, "token/+="},
};

static void test_environment(void)
{
	for (size_t i = 0; i < sizeof(env_cases) / sizeof(env_cases[0]); i++) {
		const struct env_case *c = &env_cases[i];
		struct aws_credentials_provider *p = NULL;
		struct aws_credentials *cr = (struct aws_credentials *)&p;
		int r;

		env_put("AWS_ACCESS_KEY_ID", c->key);
		env_put("AWS_SECRET_ACCESS_KEY", c->secret);
		env_put("AWS_SESSION_TOKEN", c->token);
		CHECK_INT(aws_credentials_provider_new(&p, NULL, NULL, NULL), 0);
		if (!p)
			continue;
		r = aws_credentials_provider_get(p, &cr);
		CHECK_MSG(r == c->rc, "environment case %zu: got %d, expected %d", i, r, c->rc);
		if (c->rc == 0 && cr) {
			CHECK_STR(cr->access_key_id, c->key);
			CHECK_STR(cr->secret_access_key, c->secret);
			if (c->expect_token)
				CHECK_STR(cr->session_token, c->expect_token);
			else
				CHECK(cr->session_token == NULL);
			CHECK_INT(cr->expiration, 0);
			CHECK_STR(cr->provider, "environment");
			aws_credentials_unref(cr);
		} else {
			CHECK(cr == NULL);
		}
		aws_credentials_provider_free(p);
	}
}

/* A source that records the profile the chain hands its sources, and has nothing to offer. */
static char probe_profile[64];
static bool probe_explicit;

static int probe_fetch(
	const struct aws_credentials_context *ctx, struct aws_credentials **out, char *why, size_t whylen)
{
	(void)out;
	snprintf(probe_profile, sizeof(probe_profile), "%s", ctx->profile);
	probe_explicit = ctx->profile_explicit;
	snprintf(why, whylen, "a probe");
	return -ENOENT;
}

static const struct aws_credentials_source probe_source = {"probe", probe_fetch};
static const struct aws_credentials_source *const probe_chain[] = {&probe_source};

/* The profile every source is given: configured, else AWS_PROFILE, else "default" (not explicit). */
static void profile_check(const char *configured, const char *env, const char *expected, bool is_explicit)
{
	struct aws_credentials_provider *p = NULL;
	struct aws_credentials *cr = NULL;
	struct test_capture cap;
	char log[1024];

	env_put("AWS_PROFILE", env);
	probe_profile[0] = '\0';
	CHECK_INT(aws_credentials_provider_new_chain(&p, configured, probe_chain, 1, NULL), 0);
	test_capture_begin(&cap);
	CHECK_INT(aws_credentials_provider_get(p, &cr), -ENOENT);
	test_capture_end(&cap, log, sizeof(log));
	CHECK_STR(probe_profile, expected);
	CHECK_MSG(probe_explicit == is_explicit, "profile %s: explicit %d", expected, probe_explicit);
	CHECK_MSG(strstr(log, "probe: a probe") != NULL, "got: %s", log);
	aws_credentials_provider_free(p);
}

static void test_profile(void)
{
	profile_check("configured", "from-env", "configured", true);
	profile_check(NULL, "from-env", "from-env", true);
	profile_check("", "from-env", "from-env", true);
	profile_check(NULL, NULL, "default", false);
	aws_credentials_provider_free(NULL);
}

/* A scripted source: counts its calls, hands out keys "K<n>" expiring at fake_expiration. */
static int fake_calls;
static int fake_rc;
static int64_t fake_expiration;
static int64_t fake_now;

static int64_t fake_clock(void)
{
	return fake_now;
}

static int fake_fetch(const struct aws_credentials_context *ctx, struct aws_credentials **out, char *why, size_t whylen)
{
	char key[32];

	fake_calls++;
	CHECK_STR(ctx->profile, "p");
	if (fake_rc) {
		snprintf(why, whylen, "scripted failure %d", fake_rc);
		return fake_rc;
	}
	snprintf(key, sizeof(key), "K%d", fake_calls);
	return aws_credentials_new(out, key, "secret", "token", fake_expiration, "fake");
}

static int empty_calls;

static int empty_fetch(
	const struct aws_credentials_context *ctx, struct aws_credentials **out, char *why, size_t whylen)
{
	(void)ctx;
	(void)out;
	empty_calls++;
	snprintf(why, whylen, "nothing here");
	return -ENOENT;
}

static const struct aws_credentials_source empty_source = {"empty", empty_fetch};
static const struct aws_credentials_source fake_source = {"fake", fake_fetch};
static const struct aws_credentials_source *const chain[] = {&empty_source, &fake_source};

static void test_chain(void)
{
	struct aws_credentials_provider *p;
	struct aws_credentials *a = NULL, *b = NULL;

	fake_calls = empty_calls = 0;
	fake_rc = 0;
	fake_now = 1000000;
	fake_expiration = fake_now + 3600;
	CHECK_INT(aws_credentials_provider_new_chain(&p, "p", chain, 2, fake_clock), 0);
	/* Lazy: nothing fetched yet. */
	CHECK_INT(fake_calls, 0);

	CHECK_INT(aws_credentials_provider_get(p, &a), 0);
	CHECK_INT(empty_calls, 1);
	CHECK_INT(fake_calls, 1);
	CHECK_STR(a ? a->access_key_id : NULL, "K1");
	/* Cached while far from expiry (the margin plus its largest jitter). */
	fake_now += 3600 - AWS_CREDENTIALS_REFRESH_MARGIN - AWS_CREDENTIALS_REFRESH_JITTER - 1;
	CHECK_INT(aws_credentials_provider_get(p, &b), 0);
	CHECK(a == b);
	CHECK_INT(fake_calls, 1);
	aws_credentials_unref(b);

	/* Inside the margin: refreshed; the old keys stay valid for whoever holds them. */
	fake_now = fake_expiration - AWS_CREDENTIALS_REFRESH_MARGIN;
	fake_expiration = fake_now + 3600;
	CHECK_INT(aws_credentials_provider_get(p, &b), 0);
	CHECK_INT(fake_calls, 2);
	CHECK_STR(b ? b->access_key_id : NULL, "K2");
	CHECK_STR(a ? a->access_key_id : NULL, "K1");
	aws_credentials_unref(a);
	aws_credentials_unref(b);

	/* Refresh fails inside the margin: keep using the current keys until they expire. */
	fake_now = fake_expiration - 10;
	fake_rc = -EIO;
	CHECK_INT(aws_credentials_provider_get(p, &a), 0);
	CHECK_STR(a ? a->access_key_id : NULL, "K2");
	aws_credentials_unref(a);
	a = NULL;
	fake_now = fake_expiration;
	CHECK_INT(aws_credentials_provider_get(p, &a), -EIO);
	CHECK(a == NULL);
	/* Repeated at once: same code from the backoff, without asking the source again. */
	int before = fake_calls;
	CHECK_INT(aws_credentials_provider_get(p, &a), -EIO);
	CHECK_INT(fake_calls, before);
	/* After the backoff (1 s, 2 s, 4 s…) the source is asked again; the same failure is logged at debug level. */
	fake_now += 2;
	CHECK_INT(aws_credentials_provider_get(p, &a), -EIO);
	CHECK_INT(fake_calls, before + 1);
	fake_now += 1;
	CHECK_INT(aws_credentials_provider_get(p, &a), -EIO);
	CHECK_INT(fake_calls, before + 1);

	/* Back to normal, then invalidated: the next get() fetches even though the keys have not expired. */
	fake_now += 10;
	fake_rc = 0;
	fake_expiration = fake_now + 3600;
	CHECK_INT(aws_credentials_provider_get(p, &a), 0);
	aws_credentials_unref(a);
	int calls = fake_calls;
	aws_credentials_provider_invalidate(p);
	CHECK_INT(aws_credentials_provider_get(p, &a), 0);
	CHECK_INT(fake_calls, calls + 1);
	aws_credentials_unref(a);

	/* Invalidated and the refresh fails: no fallback to the rejected keys. */
	aws_credentials_provider_invalidate(p);
	fake_rc = -ENOENT;
	CHECK_INT(aws_credentials_provider_get(p, &a), -ENOENT);
	CHECK(a == NULL);
	aws_credentials_provider_free(p);

	/* Keys without expiry are fetched once. */
	fake_calls = 0;
	fake_rc = 0;
	fake_expiration = 0;
	CHECK_INT(aws_credentials_provider_new_chain(&p, "p", chain, 2, fake_clock), 0);
	for (int i = 0; i < 3; i++) {
		fake_now += 1000000;
		CHECK_INT(aws_credentials_provider_get(p, &a), 0);
		aws_credentials_unref(a);
	}
	CHECK_INT(fake_calls, 1);
	aws_credentials_provider_free(p);

	CHECK_INT(aws_credentials_provider_new_chain(&p, "p", chain, 0, NULL), -EINVAL);
}

/* The observer counts the provider's calls to STS. */
static int sts_seen;
static long sts_status;

static void count_sts(void *data, const char *operation, long http_status)
{
	CHECK_STR(operation, "GetCallerIdentity");
	CHECK(data == &sts_seen);
	sts_seen++;
	sts_status = http_status;
}

/* GetCallerIdentity against an STS that refuses connections (loopback): said once, asked again after a backoff. */
static void test_caller_backoff(void)
{
	const struct aws_credentials_observer observer = {count_sts, &sts_seen};
	struct aws_credentials_provider *p;
	struct aws_caller_identity who;
	struct test_capture cap;
	char why[512], log[4096];

	fake_calls = 0;
	fake_rc = 0;
	fake_now = 2000000000;
	fake_expiration = 0;
	env_put("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1");
	CHECK_INT(aws_credentials_provider_new_chain(&p, "p", chain, 2, fake_clock), 0);
	aws_credentials_provider_observe(p, &observer);
	test_capture_begin(&cap);
	CHECK(aws_credentials_provider_caller(p, &who, why, sizeof(why)) < 0);
	CHECK_INT(sts_seen, 1);
	CHECK_INT(sts_status, 0);
	CHECK_MSG(strstr(why, "did not answer") != NULL, "why: %s", why);
	/* within the backoff: the same failure, STS not asked */
	fake_now += AWS_CREDENTIALS_CALLER_BACKOFF_MIN - 1;
	CHECK(aws_credentials_provider_caller(p, &who, why, sizeof(why)) < 0);
	CHECK_INT(sts_seen, 1);
	CHECK_MSG(strstr(why, "did not answer") != NULL, "why: %s", why);
	/* after it: asked again, and the repeat is not logged as a warning again */
	fake_now += 1;
	CHECK(aws_credentials_provider_caller(p, &who, why, sizeof(why)) < 0);
	CHECK_INT(sts_seen, 2);
	fake_now += AWS_CREDENTIALS_CALLER_BACKOFF_MIN;
	CHECK(aws_credentials_provider_caller(p, &who, why, sizeof(why)) < 0);
	CHECK_INT(sts_seen, 2); /* the backoff doubled */
	test_capture_end(&cap, log, sizeof(log));
	const char *first = strstr(log, "op=GetCallerIdentity status=error profile=p");
	CHECK_MSG(first && !strstr(first + 1, "warning"), "log: %s", log);
	CHECK(!strstr(log, "secret"));
	aws_credentials_provider_free(p);
	env_put("AWS_ENDPOINT_URL_STS", NULL);
}

static void test_new(void)
{
	struct aws_credentials *c;

	CHECK_INT(aws_credentials_new(&c, "", "s", NULL, 0, "x"), -EINVAL);
	CHECK_INT(aws_credentials_new(&c, "k", NULL, NULL, 0, "x"), -EINVAL);
	CHECK_INT(aws_credentials_new(&c, "k", "s", "", 0, "x"), -EINVAL);
	CHECK_INT(aws_credentials_new(&c, "k", "s", NULL, 0, NULL), 0);
	CHECK_STR(c->provider, "static");
	CHECK(aws_credentials_ref(c) == c);
	aws_credentials_unref(c);
	aws_credentials_unref(c);
	aws_credentials_unref(NULL);
	CHECK(aws_credentials_ref(NULL) == NULL);
}

/* Threads getting and dropping references while another invalidates: ASan/valgrind find what goes wrong. */
static struct aws_credentials_provider *shared;

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2000; i++) {
		struct aws_credentials *c = NULL;

		if (aws_credentials_provider_get(shared, &c) == 0) {
			if (strcmp(c->secret_access_key, "secret") != 0)
				abort();
			aws_credentials_unref(c);
		}
		if (i % 7 == 0)
			aws_credentials_provider_invalidate(shared);
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[4];

	env_put("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
	env_put("AWS_SECRET_ACCESS_KEY", "secret");
	env_put("AWS_SESSION_TOKEN", NULL);
	CHECK_INT(aws_credentials_provider_new(&shared, NULL, NULL, NULL), 0);
	for (size_t i = 0; i < 4; i++)
		CHECK_INT(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (size_t i = 0; i < 4; i++)
		CHECK_INT(pthread_join(t[i], NULL), 0);
	aws_credentials_provider_free(shared);
}

int main(void)
{
	/* Hermetic: none of this machine's files, endpoints or instance metadata. */
	env_put("AWS_CONFIG_FILE", "/nonexistent/config");
	env_put("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials");
	env_put("AWS_EC2_METADATA_DISABLED", "true");
	env_put("AWS_PROFILE", NULL);
	env_put("CREDENTIALS_DIRECTORY", NULL);
	env_put("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", NULL);
	env_put("AWS_CONTAINER_CREDENTIALS_FULL_URI", NULL);
	env_put("AWS_WEB_IDENTITY_TOKEN_FILE", NULL);
	env_put("AWS_ROLE_ARN", NULL);
	test_environment();
	test_profile();
	test_chain();
	test_caller_backoff();
	test_new();
	test_threads();
	TEST_DONE();
}
