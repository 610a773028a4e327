/* test-listen_addr: every accepted and refused shape of a listen address, with its host, port and reason */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/listen_addr.h"
#include "test.h"

static const struct {
	const char *text;
	const char *host; /* NULL: refused */
	unsigned port;
	bool ipv6;
	const char *reason; /* refused: a part of the message */
} cases[] = {
	{"127.0.0.1:9753", "127.0.0.1", 9753, false, NULL},
	{"0.0.0.0:80", "0.0.0.0", 80, false, NULL},
	{":9753", "", 9753, false, NULL},
	{":0", "", 0, false, NULL},
	{"[::]:9753", "::", 9753, true, NULL},
	{"[::1]:1", "::1", 1, true, NULL},
	{"localhost:65535", "localhost", 65535, false, NULL},
	{"[fe80::1%eth0]:9", "fe80::1%eth0", 9, true, NULL},
	{"exporter.example.com:0", "exporter.example.com", 0, false, NULL},
	{"[::ffff:127.0.0.1]:8", "::ffff:127.0.0.1", 8, true, NULL},
	{"host_1:00080", "host_1", 80, false, NULL},
	{"", NULL, 0, false, "empty"},
	{"nope", NULL, 0, false, "no ':port'"},
	{"127.0.0.1", NULL, 0, false, "no ':port'"},
	{"127.0.0.1:", NULL, 0, false, "no port"},
	{"127.0.0.1:65536", NULL, 0, false, "above 65535"},
	{"127.0.0.1:70000", NULL, 0, false, "above 65535"},
	{"127.0.0.1:123456", NULL, 0, false, "5 digits"},
	{"127.0.0.1:99999999999999999999", NULL, 0, false, "5 digits"},
	{"127.0.0.1:-1", NULL, 0, false, "decimal"},
	{"127.0.0.1:abc", NULL, 0, false, "decimal"},
	{"127.0.0.1:+80", NULL, 0, false, "decimal"},
	{"[::1]:80x", NULL, 0, false, "decimal"},
	{"host:80 ", NULL, 0, false, "decimal"},
	/* The two parsers this one replaced disagreed here (first ':' against last ':'). */
	{"::1:80", NULL, 0, false, "brackets"},
	{"a:b:80", NULL, 0, false, "brackets"},
	{"[::1]", NULL, 0, false, "no ':port' after ']'"},
	{"[::1]80", NULL, 0, false, "no ':port' after ']'"},
	{"[::1]:", NULL, 0, false, "no port"},
	{"[::1:80", NULL, 0, false, "without ']'"},
	{"[]:80", NULL, 0, false, "IPv6"},
	{"[127.0.0.1]:80", NULL, 0, false, "IPv6"},
	{"[localhost]:80", NULL, 0, false, "IPv6"},
	{"[::1%]:80", NULL, 0, false, "IPv6"},
	{"[::1%a b]:80", NULL, 0, false, "IPv6"},
	{"a b:80", NULL, 0, false, "letters, digits"},
	{"h\xc3\xa9:80", NULL, 0, false, "letters, digits"},
	{"host/x:80", NULL, 0, false, "letters, digits"},
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct listen_addr a;
		char err[128] = "";
		int r;

		memset(&a, 0x55, sizeof(a));
		r = listen_addr_parse(cases[i].text, &a, err, sizeof(err));
		if (cases[i].host) {
			CHECK_MSG(r == 0, "\"%s\": %d (%s)", cases[i].text, r, err);
			if (r != 0)
				continue;
			CHECK_STR(a.host, cases[i].host);
			CHECK_INT(a.port, cases[i].port);
			CHECK_INT(a.ipv6, cases[i].ipv6);
			CHECK_STR(err, "");
		} else {
			CHECK_MSG(r == -EINVAL, "\"%s\" must be refused: %d", cases[i].text, r);
			CHECK_MSG(strstr(err, cases[i].reason) != NULL, "\"%s\": reason \"%s\", expected \"%s\"",
				cases[i].text, err, cases[i].reason);
		}
	}
}

static void test_bounds(void)
{
	char text[LISTEN_ADDR_HOST_MAX + 16], err[128];
	struct listen_addr a;

	/* The longest host is accepted, one more character is not. */
	memset(text, 'a', LISTEN_ADDR_HOST_MAX);
	strcpy(text + LISTEN_ADDR_HOST_MAX, ":1");
	CHECK_INT(listen_addr_parse(text, &a, err, sizeof(err)), 0);
	CHECK_INT(strlen(a.host), LISTEN_ADDR_HOST_MAX);
	memset(text, 'a', LISTEN_ADDR_HOST_MAX + 1);
	strcpy(text + LISTEN_ADDR_HOST_MAX + 1, ":1");
	CHECK_INT(listen_addr_parse(text, &a, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "longer than 253") != NULL);

	/* Every out argument may be left out; a short err is cut, not overrun. */
	CHECK_INT(listen_addr_parse("127.0.0.1:1", NULL, NULL, 0), 0);
	CHECK_INT(listen_addr_parse(NULL, NULL, NULL, 0), -EINVAL);
	CHECK_INT(listen_addr_parse("x", NULL, err, 4), -EINVAL);
	CHECK_INT(strlen(err), 3);
	CHECK_INT(listen_addr_parse(NULL, &a, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "empty") != NULL);
}

int main(void)
{
	test_cases();
	test_bounds();
	TEST_DONE();
}
