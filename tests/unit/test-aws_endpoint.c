/* test-aws_endpoint: partitions, the endpoint rule set's cases, region/endpoint/STS resolution, table-driven */
#include "aws/aws_endpoint.h"
#include "test.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

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
		r = aws_region_resolve(c->configured, NULL, &out);
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
		r = aws_endpoint_resolve(c->configured, NULL, c->region, &out);
		CHECK_MSG(r == c->rc, "endpoint case %zu: got %d, expected %d", i, r, c->rc);
		if (c->expected)
			CHECK_STR(out, c->expected);
		else
			CHECK(out == NULL);
		free(out);
	}
}

/* aws.partition: names and patterns of partitions.json. */
struct partition_case {
	const char *region;
	const char *partition;
	const char *dns_suffix;
	const char *dual_stack_suffix;
};

static const struct partition_case partition_cases[] = {
	{"us-east-1", "aws", "amazonaws.com", "api.aws"},
	{"eu-west-3", "aws", "amazonaws.com", "api.aws"},
	{"ap-southeast-5", "aws", "amazonaws.com", "api.aws"},
	{"il-central-1", "aws", "amazonaws.com", "api.aws"},
	{"mx-central-1", "aws", "amazonaws.com", "api.aws"},
	{"aws-global", "aws", "amazonaws.com", "api.aws"},
	{"cn-north-1", "aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn"},
	{"cn-northwest-1", "aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn"},
	{"aws-cn-global", "aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn"},
	{"us-gov-west-1", "aws-us-gov", "amazonaws.com", "api.aws"},
	{"us-gov-east-1", "aws-us-gov", "amazonaws.com", "api.aws"},
	{"us-iso-east-1", "aws-iso", "c2s.ic.gov", "c2s.ic.gov"},
	{"us-isob-east-1", "aws-iso-b", "sc2s.sgov.gov", "sc2s.sgov.gov"},
	{"eu-isoe-west-1", "aws-iso-e", "cloud.adc-e.uk", "cloud.adc-e.uk"},
	{"us-isof-south-1", "aws-iso-f", "csp.hci.ic.gov", "csp.hci.ic.gov"},
	/* Unknown shapes fall back to the aws partition. */
	{"local", "aws", "amazonaws.com", "api.aws"},
	{"xx-east-1", "aws", "amazonaws.com", "api.aws"},
	{"cn-north", "aws", "amazonaws.com", "api.aws"},
};

static void test_partitions(void)
{
	for (size_t i = 0; i < sizeof(partition_cases) / sizeof(partition_cases[0]); i++) {
		const struct partition_case *c = &partition_cases[i];
		const struct aws_partition *p = aws_partition_of(c->region);

		CHECK_STR(p->name, c->partition);
		CHECK_STR(p->dns_suffix, c->dns_suffix);
		CHECK_STR(p->dual_stack_dns_suffix, c->dual_stack_suffix);
	}
}

/* Every branch of endpoint-rule-set-1.json, per partition. */
struct rule_case {
	const char *region;
	bool fips;
	bool dual_stack;
	const char *endpoint;
	const char *url; /* expected URL, or NULL */
	const char *error; /* expected error, or NULL */
};

static const struct rule_case rule_cases[] = {
	/* Custom endpoint: verbatim; FIPS or dual-stack with it is an error. */
	{"us-east-1", false, false, "https://example.com", "https://example.com", NULL},
	{NULL, false, false, "https://example.com", "https://example.com", NULL},
	{"us-east-1", true, false, "https://example.com", NULL,
		"Invalid Configuration: FIPS and custom endpoint are not supported"},
	{"us-east-1", true, true, "https://example.com", NULL,
		"Invalid Configuration: FIPS and custom endpoint are not supported"},
	{"us-east-1", false, true, "https://example.com", NULL,
		"Invalid Configuration: Dualstack and custom endpoint are not supported"},
	/* No region. */
	{NULL, false, false, NULL, NULL, "Invalid Configuration: Missing Region"},
	{NULL, true, true, NULL, NULL, "Invalid Configuration: Missing Region"},
	/* aws */
	{"us-east-1", true, true, NULL, "https://deadline-fips.us-east-1.api.aws", NULL},
	{"us-east-1", true, false, NULL, "https://deadline-fips.us-east-1.amazonaws.com", NULL},
	{"us-east-1", false, true, NULL, "https://deadline.us-east-1.api.aws", NULL},
	{"us-east-1", false, false, NULL, "https://deadline.us-east-1.amazonaws.com", NULL},
	{"eu-west-1", false, false, NULL, "https://deadline.eu-west-1.amazonaws.com", NULL},
	/* aws-cn */
	{"cn-north-1", true, true, NULL, "https://deadline-fips.cn-north-1.api.amazonwebservices.com.cn", NULL},
	{"cn-north-1", true, false, NULL, "https://deadline-fips.cn-north-1.amazonaws.com.cn", NULL},
	{"cn-north-1", false, true, NULL, "https://deadline.cn-north-1.api.amazonwebservices.com.cn", NULL},
	{"cn-north-1", false, false, NULL, "https://deadline.cn-north-1.amazonaws.com.cn", NULL},
	/* aws-us-gov */
	{"us-gov-east-1", true, true, NULL, "https://deadline-fips.us-gov-east-1.api.aws", NULL},
	{"us-gov-east-1", true, false, NULL, "https://deadline-fips.us-gov-east-1.amazonaws.com", NULL},
	{"us-gov-east-1", false, true, NULL, "https://deadline.us-gov-east-1.api.aws", NULL},
	{"us-gov-east-1", false, false, NULL, "https://deadline.us-gov-east-1.amazonaws.com", NULL},
	/* aws-iso: FIPS yes, dual-stack no. */
	{"us-iso-east-1", true, true, NULL, NULL,
		"FIPS and DualStack are enabled, but this partition does not support one or both"},
	{"us-iso-east-1", true, false, NULL, "https://deadline-fips.us-iso-east-1.c2s.ic.gov", NULL},
	{"us-iso-east-1", false, true, NULL, NULL,
		"DualStack is enabled but this partition does not support DualStack"},
	{"us-iso-east-1", false, false, NULL, "https://deadline.us-iso-east-1.c2s.ic.gov", NULL},
	{"us-isob-east-1", false, false, NULL, "https://deadline.us-isob-east-1.sc2s.sgov.gov", NULL},
	{"us-isob-east-1", true, false, NULL, "https://deadline-fips.us-isob-east-1.sc2s.sgov.gov", NULL},
};

static void test_rules(void)
{
	for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		const struct rule_case *c = &rule_cases[i];
		const struct aws_endpoint_params params = {c->region, c->fips, c->dual_stack, c->endpoint, NULL};
		const char *error = NULL;
		char *url = NULL;
		int r = aws_endpoint_rules(&params, &url, &error);

		CHECK_MSG(r == (c->url ? 0 : -EINVAL), "rule case %zu: got %d", i, r);
		if (c->url)
			CHECK_STR(url, c->url);
		else
			CHECK_STR(error, c->error);
		free(url);
	}
}

/* The same rule set for the identity store (its endpoint-rule-set-1.json), by service name. */
static void test_rules_identitystore(void)
{
	static const struct {
		const char *region;
		bool fips, dual;
		const char *url;
	} cases[] = {
		{"us-east-1", false, false, "https://identitystore.us-east-1.amazonaws.com"},
		{"us-east-1", true, false, "https://identitystore-fips.us-east-1.amazonaws.com"},
		{"eu-west-1", false, true, "https://identitystore.eu-west-1.api.aws"},
		{"cn-north-1", false, false, "https://identitystore.cn-north-1.amazonaws.com.cn"},
		{"us-gov-west-1", true, true, "https://identitystore-fips.us-gov-west-1.api.aws"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct aws_endpoint_params params = {
			.region = cases[i].region,
			.use_fips = cases[i].fips,
			.use_dual_stack = cases[i].dual,
			.service = "identitystore",
		};
		const char *error = NULL;
		char *url = NULL;

		CHECK(aws_endpoint_rules(&params, &url, &error) == 0);
		CHECK_STR(url, cases[i].url);
		free(url);
	}
}

/* What the daemon resolves: the host prefix, FIPS / dual-stack from the environment and the profile. */
struct resolve_case {
	const char *fips_env;
	const char *dual_env;
	const char *profile_text; /* the config file's [default] */
	const char *region;
	int rc;
	const char *expected;
};

static const struct resolve_case resolve_cases[] = {
	{NULL, NULL, "", "us-west-2", 0, "https://management.deadline.us-west-2.amazonaws.com"},
	{"true", NULL, "", "us-west-2", 0, "https://management.deadline-fips.us-west-2.amazonaws.com"},
	{"TRUE", "true", "", "us-gov-west-1", 0, "https://management.deadline-fips.us-gov-west-1.api.aws"},
	{NULL, "true", "", "cn-north-1", 0, "https://management.deadline.cn-north-1.api.amazonwebservices.com.cn"},
	{"false", NULL, "use_fips_endpoint = true\n", "us-west-2", 0,
		"https://management.deadline.us-west-2.amazonaws.com"},
	{NULL, NULL, "use_fips_endpoint = true\n", "us-west-2", 0,
		"https://management.deadline-fips.us-west-2.amazonaws.com"},
	{NULL, NULL, "use_dualstack_endpoint = True\n", "eu-west-1", 0,
		"https://management.deadline.eu-west-1.api.aws"},
	{NULL, NULL, "endpoint_url = http://127.0.0.1:9/x/\n", "us-west-2", 0, "http://127.0.0.1:9/x"},
	{NULL, NULL, "endpoint_url = http://127.0.0.1:9\nignore_configured_endpoint_urls = true\n", "us-west-2", 0,
		"https://management.deadline.us-west-2.amazonaws.com"},
	{"true", NULL, "endpoint_url = http://127.0.0.1:9\n", "us-west-2", -EINVAL, NULL},
	{NULL, "true", "", "us-iso-east-1", -EINVAL, NULL},
};

static char config_path[64];

static void config_write(const char *default_section)
{
	FILE *f = fopen(config_path, "w");

	CHECK(f != NULL);
	if (!f)
		return;
	fprintf(f, "[default]\n%s[profile other]\nregion = eu-north-1\n", default_section);
	CHECK_INT(fclose(f), 0);
}

static void test_resolve_profile(void)
{
	char *out;

	for (size_t i = 0; i < sizeof(resolve_cases) / sizeof(resolve_cases[0]); i++) {
		const struct resolve_case *c = &resolve_cases[i];
		int r;

		config_write(c->profile_text);
		env_put("AWS_USE_FIPS_ENDPOINT", c->fips_env);
		env_put("AWS_USE_DUALSTACK_ENDPOINT", c->dual_env);
		out = NULL;
		r = aws_endpoint_resolve(NULL, NULL, c->region, &out);
		CHECK_MSG(r == c->rc, "resolve case %zu: got %d, expected %d", i, r, c->rc);
		if (c->expected)
			CHECK_STR(out, c->expected);
		free(out);
	}
	env_put("AWS_USE_FIPS_ENDPOINT", NULL);
	env_put("AWS_USE_DUALSTACK_ENDPOINT", NULL);

	/* Region from the profile after the environment; the configured profile, then AWS_PROFILE. */
	config_write("region = ap-south-2\n");
	env_put("AWS_REGION", NULL);
	env_put("AWS_DEFAULT_REGION", NULL);
	out = NULL;
	CHECK_INT(aws_region_resolve(NULL, NULL, &out), 0);
	CHECK_STR(out, "ap-south-2");
	free(out);
	CHECK_INT(aws_region_resolve(NULL, "other", &out), 0);
	CHECK_STR(out, "eu-north-1");
	free(out);
	env_put("AWS_PROFILE", "other");
	CHECK_INT(aws_region_resolve(NULL, NULL, &out), 0);
	CHECK_STR(out, "eu-north-1");
	free(out);
	env_put("AWS_PROFILE", NULL);
	env_put("AWS_DEFAULT_REGION", "sa-east-1");
	CHECK_INT(aws_region_resolve(NULL, NULL, &out), 0);
	CHECK_STR(out, "sa-east-1");
	free(out);
	env_put("AWS_DEFAULT_REGION", NULL);
	config_write("region = Not A Region\n");
	CHECK_INT(aws_region_resolve(NULL, NULL, &out), -EINVAL);
	/* Nothing anywhere, IMDS disabled. */
	config_write("");
	CHECK_INT(aws_region_resolve(NULL, NULL, &out), -ENOENT);
	CHECK(out == NULL);
}

struct sts_case {
	const char *region;
	const char *sts_env;
	const char *global_env;
	const char *fips;
	const char *expected;
	const char *signing_region;
	int rc;
};

static const struct sts_case sts_cases[] = {
	{"us-west-2", NULL, NULL, NULL, "https://sts.us-west-2.amazonaws.com", "us-west-2", 0},
	{"cn-north-1", NULL, NULL, NULL, "https://sts.cn-north-1.amazonaws.com.cn", "cn-north-1", 0},
	{"us-gov-west-1", NULL, NULL, "true", "https://sts-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1", 0},
	{NULL, NULL, NULL, NULL, "https://sts.amazonaws.com", "us-east-1", 0},
	{"us-west-2", "http://127.0.0.1:1234/", "http://127.0.0.1:9", NULL, "http://127.0.0.1:1234", "us-west-2", 0},
	{"us-west-2", NULL, "http://127.0.0.1:9", NULL, "http://127.0.0.1:9", "us-west-2", 0},
	{"us-west-2", "not a url", NULL, NULL, NULL, NULL, -EINVAL},
};

static void test_sts_endpoint(void)
{
	config_write("");
	for (size_t i = 0; i < sizeof(sts_cases) / sizeof(sts_cases[0]); i++) {
		const struct sts_case *c = &sts_cases[i];
		const char *signing = NULL;
		char *out = NULL, why[256] = "";
		int r;

		env_put("AWS_ENDPOINT_URL_STS", c->sts_env);
		env_put("AWS_ENDPOINT_URL", c->global_env);
		env_put("AWS_USE_FIPS_ENDPOINT", c->fips);
		r = aws_sts_endpoint_resolve(NULL, c->region, &out, &signing, why, sizeof(why));
		CHECK_MSG(r == c->rc, "sts case %zu: got %d (%s)", i, r, why);
		if (c->expected) {
			CHECK_STR(out, c->expected);
			CHECK_STR(signing, c->signing_region);
		} else {
			CHECK(why[0] != '\0');
		}
		free(out);
	}
	env_put("AWS_ENDPOINT_URL_STS", NULL);
	env_put("AWS_ENDPOINT_URL", NULL);
	env_put("AWS_USE_FIPS_ENDPOINT", NULL);

	env_put("AWS_CA_BUNDLE", "/etc/ssl/x.pem");
	CHECK_STR(aws_ca_bundle(NULL), "/etc/ssl/x.pem");
	CHECK_STR(aws_ca_bundle("/configured.pem"), "/configured.pem");
	env_put("AWS_CA_BUNDLE", NULL);
	CHECK(aws_ca_bundle(NULL) == NULL);
}

int main(void)
{
	int fd;

	/* Hermetic: no files or instance metadata of this machine. */
	snprintf(config_path, sizeof(config_path), "/tmp/test-aws_endpoint-XXXXXX");
	fd = mkstemp(config_path);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	env_put("AWS_CONFIG_FILE", "/nonexistent/config");
	env_put("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials");
	env_put("AWS_EC2_METADATA_DISABLED", "true");
	env_put("AWS_PROFILE", NULL);
	test_region();
	test_endpoint();
	test_partitions();
	test_rules();
	test_rules_identitystore();
	env_put("AWS_CONFIG_FILE", config_path);
	test_resolve_profile();
	test_sts_endpoint();
	unlink(config_path);
	TEST_DONE();
}
