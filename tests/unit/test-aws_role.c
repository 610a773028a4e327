/* test-aws_role: a role's provider: AssumeRole with the source's keys, cached and renewed on a fake clock, refusals */
#include "aws/credentials/aws_role.h"
#include "test.h"

#include <errno.h>

#define ROLE_A "arn:aws:iam::111122223333:role/deadline-exporter"

static int64_t now;

static int64_t fake_clock(void)
{
	return now;
}

/* The exporter's own chain: keys "SRC<n>" that never expire, or a scripted failure. */
static int source_calls;
static int source_rc;

static int source_fetch(
	const struct aws_credentials_context *ctx, struct aws_credentials **out, char *why, size_t whylen)
{
	char key[32];

	(void)ctx;
	source_calls++;
	if (source_rc) {
		snprintf(why, whylen, "no keys in the test's chain");
		return source_rc;
	}
	snprintf(key, sizeof(key), "SRC%d", source_calls);
	return aws_credentials_new(out, key, "source-secret", NULL, 0, "fake");
}

static const struct aws_credentials_source source = {"fake", source_fetch};
static const struct aws_credentials_source *const source_chain[] = {&source};

/* STS: records what it was asked, answers keys "ROLE<n>" living `lifetime` seconds, or a scripted refusal. */
static int sts_calls;
static int sts_rc;
static const char *sts_code = "";
static const char *sts_message = "";
static int64_t lifetime = 3600;
static char asked_key[32], asked_role[128], asked_session[64], asked_external[64], asked_region[32];

static int fake_assume(const struct aws_credentials_context *ctx, struct aws_sts_request *req,
	struct aws_credentials **out, char *why, size_t whylen)
{
	char key[32];

	sts_calls++;
	snprintf(asked_key, sizeof(asked_key), "%s", req->source->access_key_id);
	snprintf(asked_role, sizeof(asked_role), "%s", req->role_arn);
	snprintf(asked_session, sizeof(asked_session), "%s", req->session_name);
	snprintf(asked_external, sizeof(asked_external), "%s", req->external_id ? req->external_id : "(none)");
	snprintf(asked_region, sizeof(asked_region), "%s", ctx->region ? ctx->region : "(global)");
	CHECK_INT(ctx->now, now);
	if (sts_rc) {
		char xml[1024];

		/* As STS words it, read by the real parser (which adds the advice). */
		snprintf(xml, sizeof(xml),
			"<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
			"</ErrorResponse>",
			sts_code, sts_message);
		if (req->outcome)
			snprintf(req->outcome->code, sizeof(req->outcome->code), "%s", sts_code);
		CHECK_INT(aws_sts_parse(xml, strlen(xml), 403, req->provider, out, why, whylen), sts_rc);
		return sts_rc;
	}
	snprintf(key, sizeof(key), "ROLE%d", sts_calls);
	return aws_credentials_new(out, key, "role-secret", "role-token", now + lifetime, req->provider);
}

static struct aws_credentials_provider *source_new(void)
{
	struct aws_credentials_provider *p = NULL;

	CHECK_INT(aws_credentials_provider_new_chain(&p, "p", source_chain, 1, fake_clock), 0);
	return p;
}

static struct aws_credentials_provider *role_new(struct aws_credentials_provider *src, const char *external_id)
{
	struct aws_credentials_provider *p = NULL;
	const struct aws_role_options o = {
		.source = src, .role_arn = ROLE_A, .external_id = external_id, .region = "eu-west-1"};

	CHECK_INT(aws_role_provider_new_fake(&p, &o, fake_assume, fake_clock), 0);
	return p;
}

static void reset(void)
{
	now = 2000000000;
	source_calls = sts_calls = 0;
	source_rc = sts_rc = 0;
	lifetime = 3600;
}

/* Assumed with the source's keys, the session name and the external id; cached, then renewed before expiry. */
static void test_assume_and_renew(void)
{
	struct aws_credentials_provider *src, *role;
	struct aws_credentials *a = NULL, *b = NULL;

	reset();
	src = source_new();
	role = role_new(src, "studio-a-7f3");
	/* Lazy, like every provider. */
	CHECK_INT(sts_calls, 0);
	CHECK_INT(aws_credentials_provider_get(role, &a), 0);
	CHECK_INT(sts_calls, 1);
	CHECK_STR(a ? a->access_key_id : NULL, "ROLE1");
	CHECK_STR(a ? a->provider : NULL, "assume-role");
	CHECK_STR(asked_key, "SRC1");
	CHECK_STR(asked_role, ROLE_A);
	CHECK_STR(asked_session, "deadline-cloud-exporter");
	CHECK_STR(asked_external, "studio-a-7f3");
	CHECK_STR(asked_region, "eu-west-1");

	/* Cached until the refresh margin (plus its largest jitter) before expiry. */
	now += 3600 - AWS_CREDENTIALS_REFRESH_MARGIN - AWS_CREDENTIALS_REFRESH_JITTER - 1;
	CHECK_INT(aws_credentials_provider_get(role, &b), 0);
	CHECK(a == b);
	CHECK_INT(sts_calls, 1);
	aws_credentials_unref(b);

	/* Within the margin: assumed again, the source's cached keys reused. */
	now += AWS_CREDENTIALS_REFRESH_JITTER + 1;
	CHECK_INT(aws_credentials_provider_get(role, &b), 0);
	CHECK_INT(sts_calls, 2);
	CHECK_INT(source_calls, 1);
	CHECK_STR(b ? b->access_key_id : NULL, "ROLE2");
	aws_credentials_unref(a);
	aws_credentials_unref(b);
	aws_credentials_provider_free(role);

	/* Short-lived keys (the role's session shorter than twice the margin): renewed at half their life. */
	reset();
	lifetime = 120;
	role = role_new(src, NULL);
	CHECK_INT(aws_credentials_provider_get(role, &a), 0);
	CHECK_STR(asked_external, "(none)");
	aws_credentials_unref(a);
	now += 59;
	CHECK_INT(aws_credentials_provider_get(role, &a), 0);
	CHECK_INT(sts_calls, 1);
	aws_credentials_unref(a);
	now += 1;
	CHECK_INT(aws_credentials_provider_get(role, &a), 0);
	CHECK_INT(sts_calls, 2);
	CHECK_STR(a ? a->access_key_id : NULL, "ROLE2");
	aws_credentials_unref(a);
	aws_credentials_provider_free(role);
	aws_credentials_provider_free(src);
}

/* Refusals: the reason kept and logged with the role, the keys in use kept until they expire, a backoff. */
static void test_refused(void)
{
	struct aws_credentials_provider *src, *role;
	struct aws_credentials *a = NULL;
	struct test_capture cap;
	char log[8192], why[1024];

	reset();
	src = source_new();
	role = role_new(src, NULL);
	sts_rc = -EACCES;
	sts_code = "AccessDenied";
	sts_message = "User: arn:aws:iam::123456789012:user/exporter is not authorized to perform: sts:AssumeRole on "
		      "resource: " ROLE_A " because no resource-based policy allows the sts:AssumeRole action";
	test_capture_begin(&cap);
	CHECK_INT(aws_credentials_provider_get(role, &a), -EACCES);
	test_capture_end(&cap, log, sizeof(log));
	CHECK(a == NULL);
	CHECK_MSG(strstr(log, "op=credentials status=error role=" ROLE_A " ") != NULL, "log: %s", log);
	CHECK_MSG(strstr(log, "trust policy") != NULL, "log: %s", log);
	CHECK_MSG(strstr(log, "source-secret") == NULL && strstr(log, "role-secret") == NULL, "log: %s", log);
	aws_credentials_provider_last_failure(role, why, sizeof(why));
	CHECK_MSG(strstr(why, "assume-role: STS refused (HTTP 403 AccessDenied") != NULL, "why: %s", why);
	CHECK_MSG(strstr(why, "trust policy does not trust") != NULL, "why: %s", why);
	/* Backing off: not asked again at once. */
	CHECK_INT(aws_credentials_provider_get(role, &a), -EACCES);
	CHECK_INT(sts_calls, 1);

	/* Allowed again after the backoff: the keys come, the failure is forgotten. */
	now += 2;
	sts_rc = 0;
	CHECK_INT(aws_credentials_provider_get(role, &a), 0);
	aws_credentials_unref(a);
	aws_credentials_provider_last_failure(role, why, sizeof(why));
	CHECK_STR(why, "");

	/* Refused at renewal: the current keys serve until they expire. */
	now += 3600 - AWS_CREDENTIALS_REFRESH_MARGIN;
	sts_rc = -EACCES;
	test_capture_begin(&cap);
	CHECK_INT(aws_credentials_provider_get(role, &a), 0);
	test_capture_end(&cap, log, sizeof(log));
	CHECK_STR(a ? a->access_key_id : NULL, "ROLE2");
	CHECK_MSG(strstr(log, "refresh failed") != NULL, "log: %s", log);
	aws_credentials_unref(a);
	now += AWS_CREDENTIALS_REFRESH_MARGIN;
	CHECK_INT(aws_credentials_provider_get(role, &a), -EACCES);
	aws_credentials_provider_free(role);

	/* The exporter's own session token expired: its provider is told, and fetches anew at the next try. */
	reset();
	role = role_new(src, NULL);
	sts_rc = -EACCES;
	sts_code = "ExpiredToken";
	sts_message = "The security token included in the request is expired";
	CHECK_INT(aws_credentials_provider_get(role, &a), -EACCES);
	CHECK_INT(source_calls, 0); /* the source's cached keys were used */
	now += 2;
	sts_rc = 0;
	CHECK_INT(aws_credentials_provider_get(role, &a), 0);
	CHECK_INT(source_calls, 1);
	CHECK_STR(asked_key, "SRC1");
	aws_credentials_unref(a);
	aws_credentials_provider_free(role);
	aws_credentials_provider_free(src);

	/* No credentials of the exporter's own: said so, and STS never asked. */
	reset();
	src = source_new();
	role = role_new(src, NULL);
	source_rc = -ENOENT;
	test_capture_begin(&cap);
	CHECK_INT(aws_credentials_provider_get(role, &a), -ENOENT);
	test_capture_end(&cap, log, sizeof(log));
	CHECK_INT(sts_calls, 0);
	aws_credentials_provider_last_failure(role, why, sizeof(why));
	CHECK_MSG(strstr(why, "no credentials of the exporter's own") != NULL && strstr(why, "no keys in the test's"),
		"why: %s", why);
	aws_credentials_provider_free(role);
	aws_credentials_provider_free(src);
}

/* Both sources share the same keys only when told to: two roles of one source, each its own cache. */
static void test_two_roles(void)
{
	struct aws_credentials_provider *src, *r1, *r2;
	struct aws_credentials *a = NULL, *b = NULL;

	reset();
	src = source_new();
	r1 = role_new(src, NULL);
	r2 = role_new(src, "x-id");
	CHECK_INT(aws_credentials_provider_get(r1, &a), 0);
	CHECK_INT(aws_credentials_provider_get(r2, &b), 0);
	CHECK(a && b && strcmp(a->access_key_id, b->access_key_id) != 0);
	CHECK_INT(source_calls, 1);
	CHECK_INT(sts_calls, 2);
	/* One refused at renewal does not touch the other. */
	aws_credentials_unref(a);
	aws_credentials_unref(b);
	aws_credentials_provider_invalidate(r1);
	sts_rc = -EACCES;
	sts_code = "AccessDenied";
	sts_message = "not authorized to perform: sts:AssumeRole";
	CHECK_INT(aws_credentials_provider_get(r1, &a), -EACCES);
	CHECK_INT(aws_credentials_provider_get(r2, &b), 0);
	CHECK_STR(b ? b->access_key_id : NULL, "ROLE2");
	aws_credentials_unref(b);
	aws_credentials_provider_free(r1);
	aws_credentials_provider_free(r2);
	aws_credentials_provider_free(src);

	const struct aws_role_options bad = {.source = NULL, .role_arn = ROLE_A};
	CHECK_INT(aws_role_provider_new(&r1, &bad), -EINVAL);
}

int main(void)
{
	test_assume_and_renew();
	test_refused();
	test_two_roles();
	TEST_DONE();
}
