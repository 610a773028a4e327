/* test-aws_syntax: the shape of region names, endpoint URLs, role ARNs and external ids, one table each (config and aws
 * share them) */
#include "util/aws_syntax.h"
#include "test.h"

static const struct {
	const char *region;
	bool valid;
} regions[] = {
	{"us-west-2", true},
	{"ap-southeast-5", true},
	{"us-gov-west-1", true},
	{"a", true},
	{NULL, false},
	{"", false},
	{"US-West-2", false},
	{"2-west", false},
	{"-west-2", false},
	{"us_west_2", false},
	{"us-west-2\n", false},
	{"us west 2", false},
};

static const struct {
	const char *url;
	bool valid;
} urls[] = {
	{"https://deadline.us-west-2.amazonaws.com", true},
	{"http://127.0.0.1:8080", true},
	{"HTTPS://example.com/", true},
	{"https://example.com/base/path", true},
	{"https://[::1]:8443", true},
	{NULL, false},
	{"", false},
	{"example.com", false},
	{"ftp://example.com", false},
	{"https://", false},
	{"https:///path", false},
	{"https://:443", false},
	{"https://?x", false},
	{"https://#x", false},
	{"https://example.com/x?y#z", false},
	{"https://example.com?y", false},
	{"https://example.com#z", false},
	{"https://a b", false},
	{"https://a\tb", false},
	{"https://a\x7f", false},
};

static const struct {
	const char *arn;
	const char *account; /* NULL: invalid */
} role_arns[] = {
	{"arn:aws:iam::111122223333:role/deadline-exporter", "111122223333"},
	{"arn:aws-cn:iam::000000000000:role/x", "000000000000"},
	{"arn:aws-us-gov:iam::123456789012:role/render/farm-a/exporter", "123456789012"},
	{"arn:aws-iso-b:iam::123456789012:role/A_b+c=d,e.f@g-h", "123456789012"},
	{"arn:aws:iam::123456789012:role/path/with~printable!chars/name", "123456789012"},
	{NULL, NULL},
	{"", NULL},
	{"arn:aws:iam::11112222333:role/x", NULL}, /* 11 digits */
	{"arn:aws:iam::1111222233334:role/x", NULL}, /* 13 */
	{"arn:aws:iam::11112222333a:role/x", NULL},
	{"arn:aws:iam:us-east-1:111122223333:role/x", NULL}, /* IAM has no region */
	{"arn:aws:sts::111122223333:role/x", NULL},
	{"arn:aws:iam::111122223333:user/x", NULL},
	{"arn:aws:iam::111122223333:role/", NULL},
	{"arn:aws:iam::111122223333:role//x", NULL},
	{"arn:aws:iam::111122223333:role/a//x", NULL},
	{"arn:aws:iam::111122223333:role/a b/x", NULL},
	{"arn:aws:iam::111122223333:role/x y", NULL},
	{"arn:aws:iam::111122223333:role/x:y", NULL},
	{"arn:AWS:iam::111122223333:role/x", NULL},
	{"arn:gcp:iam::111122223333:role/x", NULL},
	{"arn:aws-:iam::111122223333:role/x", NULL},
	{"arn::iam::111122223333:role/x", NULL},
	{"ARN:aws:iam::111122223333:role/x", NULL},
	{"111122223333", NULL},
};

static const struct {
	const char *id;
	bool valid;
} external_ids[] = {
	{"ab", true},
	{"studio-a:exporter", true},
	{"Ab_+=,.@:/-9", true},
	{NULL, false},
	{"", false},
	{"a", false},
	{"a b", false},
	{"a\"b", false},
	{"caf\xc3\xa9", false},
	{"a;b", false},
};

static void test_roles(void)
{
	static char long_text[1300], arn[2100];
	char account[AWS_ACCOUNT_ID_DIGITS + 1];

	for (size_t i = 0; i < sizeof(role_arns) / sizeof(role_arns[0]); i++) {
		strcpy(account, "unchanged");
		CHECK_MSG(aws_role_arn_valid(role_arns[i].arn, account) == (role_arns[i].account != NULL),
			"arn %zu \"%s\"", i, role_arns[i].arn ? role_arns[i].arn : "(null)");
		CHECK_STR(account, role_arns[i].account ? role_arns[i].account : "unchanged");
	}
	CHECK(aws_role_arn_valid(role_arns[0].arn, NULL));
	for (size_t i = 0; i < sizeof(external_ids) / sizeof(external_ids[0]); i++)
		CHECK_MSG(aws_external_id_valid(external_ids[i].id) == external_ids[i].valid, "external id %zu", i);
	/* STS: 2 to 1224 characters */
	memset(long_text, 'x', 1224);
	long_text[1224] = '\0';
	CHECK(aws_external_id_valid(long_text));
	long_text[1224] = 'x';
	long_text[1225] = '\0';
	CHECK(!aws_external_id_valid(long_text));
	/* IAM: a role name of at most 64 characters, a path of at most 512 with its slashes */
	snprintf(arn, sizeof(arn), "arn:aws:iam::111122223333:role/%.64s", long_text);
	CHECK(aws_role_arn_valid(arn, NULL));
	snprintf(arn, sizeof(arn), "arn:aws:iam::111122223333:role/%.65s", long_text);
	CHECK(!aws_role_arn_valid(arn, NULL));
	snprintf(arn, sizeof(arn), "arn:aws:iam::111122223333:role/%.510s/x", long_text);
	CHECK(aws_role_arn_valid(arn, NULL));
	snprintf(arn, sizeof(arn), "arn:aws:iam::111122223333:role/%.511s/x", long_text);
	CHECK(!aws_role_arn_valid(arn, NULL));
}

static void test_regions(void)
{
	char long_region[AWS_REGION_MAX + 2];

	for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++)
		CHECK_MSG(aws_region_valid(regions[i].region) == regions[i].valid, "region %zu \"%s\"", i,
			regions[i].region ? regions[i].region : "(null)");
	memset(long_region, 'a', sizeof(long_region) - 1);
	long_region[sizeof(long_region) - 1] = '\0';
	CHECK(!aws_region_valid(long_region));
	long_region[AWS_REGION_MAX] = '\0';
	CHECK(aws_region_valid(long_region));
}

static void test_urls(void)
{
	static char long_url[AWS_ENDPOINT_URL_MAX + 2];

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		CHECK_MSG(aws_endpoint_url_valid(urls[i].url) == urls[i].valid, "url %zu \"%s\"", i,
			urls[i].url ? urls[i].url : "(null)");
	memcpy(long_url, "https://", 8);
	memset(long_url + 8, 'a', sizeof(long_url) - 9);
	long_url[sizeof(long_url) - 1] = '\0';
	CHECK(!aws_endpoint_url_valid(long_url));
	long_url[AWS_ENDPOINT_URL_MAX] = '\0';
	CHECK(aws_endpoint_url_valid(long_url));
}

int main(void)
{
	test_regions();
	test_urls();
	test_roles();
	TEST_DONE();
}
