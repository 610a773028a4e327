/* test-expfmt_check: the strict exposition checker accepts what it must and rejects each violation */
#include <stdio.h>
#include <string.h>

#include "../unit/test.h"
#include "expfmt_check.h"

#define FAM "# HELP m A metric.\n# TYPE m gauge\n"

static const struct {
	const char *text;
	int ok;
} cases[] = {
	{"", 1},
	{FAM "m 1\n", 1},
	{FAM "m{a=\"x\",b=\"y\"} 1.5e-3\n", 1},
	{FAM "m{a=\"\\\\ \\\" \\n \xe2\x82\xac \xef\xbf\xbd\"} NaN\n", 1},
	{FAM "m{a=\"1\"} +Inf\nm{a=\"2\"} -Inf\nm{a=\"3\"} -0\nm{a=\"4\"} .5\nm{a=\"5\"} 5.\nm{a=\"6\"} 1E+308\n", 1},
	{FAM "m 1 1700000000000\n", 1},
	{FAM "m{a=\"x\",b=\"y\"} 1\nm{b=\"y\",a=\"x\",c=\"\"} 2\n", 1},
	{"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", 1},
	{"# HELP m a \\\\ b \\n c\n# TYPE m counter\nm 1\n", 1},
	{FAM "# HELP n N.\n# TYPE n gauge\nn 1\nm_x 1\n", 0}, /* m_x: no TYPE */
	{FAM "m 1\n# HELP n N.\n# TYPE n gauge\nn 1\n# HELP m again\n", 0}, /* m twice */
	{FAM "m 1\n# TYPE n gauge\nn 1\nm 2\n", 0}, /* m not contiguous */
	{FAM "m 1\nm 2\n", 0}, /* duplicate series */
	{FAM "m{a=\"x\",b=\"y\"} 1\nm{b=\"y\",a=\"x\"} 2\n", 0}, /* same series, labels reordered */
	{FAM "m 1", 0}, /* no final newline */
	{FAM "m 1\n\n", 0}, /* empty line */
	{FAM "m 1\r\n", 0},
	{FAM "m{a=\"x\ry\"} 1\n", 1}, /* CR in a label value: no escape exists, Prometheus takes it */
	{"# HELP m a\r\n# TYPE m gauge\nm 1\n", 1},
	{FAM "m\r 1\n", 0},
	{FAM "m{a=\"\xff\"} 1\n", 0}, /* invalid UTF-8 */
	{FAM "m{a=\"\xed\xa0\x80\"} 1\n", 0}, /* a surrogate */
	{FAM "m{a=\"\xc0\xaf\"} 1\n", 0}, /* overlong */
	{FAM "m{a=\"\\t\"} 1\n", 0}, /* escape other than \\ \" \n */
	{FAM "m{a=\"x\\\"} 1\n", 0}, /* unterminated */
	{FAM "m{a=\"x\",} 1\n", 0}, /* trailing comma */
	{FAM "m{a=\"x\",a=\"y\"} 1\n", 0},
	{FAM "m{__a=\"x\"} 1\n", 0},
	{FAM "m{1a=\"x\"} 1\n", 0},
	{FAM "m{a-b=\"x\"} 1\n", 0},
	{FAM "m{a=x} 1\n", 0},
	{FAM "m  1\n", 0},
	{FAM "m 1 \n", 0},
	{FAM "m nan\n", 0},
	{FAM "m inf\n", 0},
	{FAM "m Inf\n", 1},
	{FAM "m 1,5\n", 0},
	{FAM "m 0x10\n", 0},
	{FAM "m 1e\n", 0},
	{FAM "m .\n", 0},
	{FAM "m 1 2 3\n", 0},
	{FAM "m 1 1.5\n", 0},
	{"# TYPE m gauge\n# TYPE m gauge\nm 1\n", 0},
	{"# TYPE m gauges\nm 1\n", 0},
	{"# TYPE m\nm 1\n", 0},
	{"# TYPE 1m gauge\n", 0},
	{"# HELP m a \\t b\n# TYPE m gauge\nm 1\n", 0},
	{"# TYPE m gauge\nm 1\n# HELP m late\n", 0},
	{"# a comment\n", 0},
	{"m 1\n", 0}, /* untyped family */
	{FAM "m{a=\"\n\"} 1\n", 0},
};

int main(void)
{
	char why[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = expfmt_check(cases[i].text, strlen(cases[i].text), why, sizeof(why));
		CHECK_MSG((r == 0) == cases[i].ok, "case %zu %s: %s", i, cases[i].ok ? "rejected" : "accepted",
			cases[i].ok ? why : cases[i].text);
		if (!cases[i].ok)
			CHECK_MSG(why[0] != '\0', "case %zu: no reason", i);
	}
	TEST_DONE();
}
