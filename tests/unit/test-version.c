/* test-version: the User-Agent is one product token with the exporter's version (RFC 9110's tchar) */
#include <string.h>

#include "test.h"
#include "util/version.h"

int main(void)
{
	static const char product[] = "deadline-cloud-exporter/";
	const char *version = VERSION_USER_AGENT + strlen(product);

	CHECK(strncmp(VERSION_USER_AGENT, product, strlen(product)) == 0);
	CHECK_STR(version, EXPORTER_VERSION);
	CHECK(*version != '\0');
	/* meson.build's version, never the fallback of a build outside meson. */
	CHECK(strcmp(version, "unknown") != 0);
	for (const char *p = version; *p; p++)
		CHECK_MSG(strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#$%&'*+-.^_`|~", *p),
			"'%c' in the version", *p);
	TEST_DONE();
}
