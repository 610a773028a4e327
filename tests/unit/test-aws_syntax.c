/* test-aws_syntax: the shape of region names and endpoint URLs, one table each (config and aws share them) */
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
	TEST_DONE();
}
