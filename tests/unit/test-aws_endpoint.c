/* test-aws_endpoint: region and endpoint resolution against configuration and environment, table-driven */
#include "aws_endpoint.h"
#include "test.h"

#include <errno.h>

/* NULL: unset the variable; anything else: set it to that value. */
static void env_put(const char *name, const char *value)
{
	int r = value ? setenv(name, value, 1) : unsetenv(name);

	CHECK_INT(r, 0);
}

struct region_case {
	const char *configured;
	const char *aws_region;
	const char *aws_default_region;
	int rc;
	const char *expected;
};

static const struct region_case region_cases[] = {
	{"us-west-2", "eu-west-1", "ap-south-1", 0, "us-west-2"},
	{NULL, "eu-west-1", "ap-south-1", 0, "eu-west-1"},
	{NULL, NULL, "ap-south-1", 0, "ap-south-1"},
	{NULL, "", "ap-south-1", 0, "ap-south-1"},
	{"", "eu-west-1", NULL, 0, "eu-west-1"},
	{NULL, NULL, NULL, -ENOENT, NULL},
	{NULL, "", "", -ENOENT, NULL},
	{"US-WEST-2", NULL, NULL, -EINVAL, NULL},
	{NULL, "us-west-2 ", NULL, -EINVAL, NULL},
	{NULL, "us_west_2", NULL, -EINVAL, NULL},
	{NULL, NULL, "eu-west-1/x", -EINVAL, NULL},
	{"cn-north-1", NULL, NULL, 0, "cn-north-1"},
	{"us-gov-west-1", NULL, NULL, 0, "us-gov-west-1"},
};

static void test_region(void)
{
	for (size_t i = 0; i < sizeof(region_cases) / sizeof(region_cases[0]); i++) {
		const struct region_case *c = &region_cases[i];
		char *out = (char *)"sentinel";
		int r;

		env_put("AWS_REGION", c->aws_region);
		env_put("AWS_DEFAULT_REGION", c->aws_default_region);
		r = aws_region_resolve(c->configured, &out);
		CHECK_MSG(r == c->rc, "region case %zu: got %d, expected %d", i, r, c->rc);
		if (c->expected)
			CHECK_STR(out, c->expected);
		else
			CHECK(out == NULL);
		free(out);
	}
}

struct endpoint_case {
	const char *configured;
	const char *url_deadline; /* AWS_ENDPOINT_URL_DEADLINE */
	const char *url; /* AWS_ENDPOINT_URL */
	const char *region;
	int rc;
	const char *expected;
};

static const struct endpoint_case endpoint_cases[] = {
	/* Derived from the region, per partition. */
	{NULL, NULL, NULL, "us-west-2", 0, "https://management.deadline.us-west-2.amazonaws.com"},
	{NULL, NULL, NULL, "eu-central-1", 0, "https://management.deadline.eu-central-1.amazonaws.com"},
	{NULL, NULL, NULL, "cn-north-1", 0, "https://management.deadline.cn-north-1.amazonaws.com.cn"},
	{NULL, NULL, NULL, "cn-northwest-1", 0, "https://management.deadline.cn-northwest-1.amazonaws.com.cn"},
	{NULL, NULL, NULL, "us-gov-west-1", 0, "https://management.deadline.us-gov-west-1.amazonaws.com"},
	{NULL, "", "", "us-east-1", 0, "https://management.deadline.us-east-1.amazonaws.com"},
	/* Precedence: configuration, then the service-specific variable, then the global one. */
	{"http://127.0.0.1:9000", "http://a.example", "http://b.example", "us-west-2", 0, "http://127.0.0.1:9000"},
	{NULL, "http://a.example", "http://b.example", "us-west-2", 0, "http://a.example"},
	{NULL, NULL, "http://b.example", "us-west-2", 0, "http://b.example"},
	{"", NULL, "http://b.example", "us-west-2", 0, "http://b.example"},
	/* Verbatim, trailing slashes stripped; no region needed. */
	{"https://deadline.internal.example:8443/prefix/", NULL, NULL, NULL, 0,
		"https://deadline.internal.example:8443/prefix"},
	{"http://[::1]:8080//", NULL, NULL, NULL, 0, "http://[::1]:8080"},
	{"HTTPS://Upper.Example", NULL, NULL, "us-west-2", 0, "HTTPS://Upper.Example"},
	/* Unusable URLs and regions. */
	{"ftp://example.com", NULL, NULL, "us-west-2", -EINVAL, NULL},
	{"example.com", NULL, NULL, "us-west-2", -EINVAL, NULL},
	{"https://", NULL, NULL, "us-west-2", -EINVAL, NULL},
	{"https:///path", NULL, NULL, "us-west-2", -EINVAL, NULL},
	{"https://exa mple.com", NULL, NULL, "us-west-2", -EINVAL, NULL},
	{"https://example.com/?x=1", NULL, NULL, "us-west-2", -EINVAL, NULL},
	{NULL, "not a url", NULL, "us-west-2", -EINVAL, NULL},
	{NULL, NULL, NULL, NULL, -EINVAL, NULL},
	{NULL, NULL, NULL, "us-west-2.evil.example/", -EINVAL, NULL},
	{NULL, NULL, NULL, "Us-West-2", -EINVAL, NULL},
	{NULL, NULL, NULL, "", -EINVAL, NULL},
};

static void test_endpoint(void)
{
	for (size_t i = 0; i < sizeof(endpoint_cases) / sizeof(endpoint_cases[0]); i++) {
		const struct endpoint_case *c = &endpoint_cases[i];
		char *out = (char *)"sentinel";
		int r;

		env_put("AWS_ENDPOINT_URL_DEADLINE", c->url_deadline);
		env_put("AWS_ENDPOINT_URL", c->url);
		r = aws_endpoint_resolve(c->configured, c->region, &out);
		CHECK_MSG(r == c->rc, "endpoint case %zu: got %d, expected %d", i, r, c->rc);
		if (c->expected)
			CHECK_STR(out, c->expected);
		else
			CHECK(out == NULL);
		free(out);
	}
}

static void test_region_valid(void)
{
	char long_region[80];

	CHECK(aws_region_valid("us-west-2"));
	CHECK(aws_region_valid("ap-southeast-5"));
	CHECK(!aws_region_valid(NULL));
	CHECK(!aws_region_valid(""));
	CHECK(!aws_region_valid("us-west-2\n"));
	memset(long_region, 'a', sizeof(long_region) - 1);
	long_region[sizeof(long_region) - 1] = '\0';
	CHECK(!aws_region_valid(long_region));
	long_region[64] = '\0';
	CHECK(aws_region_valid(long_region));
}

int main(void)
{
	test_region();
	test_endpoint();
	test_region_valid();
	TEST_DONE();
}
