/* test-exposition: the one writer of the text format: headers, series, labels escaped, numbers as Prometheus reads them
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/exposition.h"
#include "test.h"

static void check_escape(const char *in, const char *want)
{
	struct buf b = {0};

	CHECK_INT(exposition_escape_label(&b, in), 0);
	CHECK_INT(buf_append(&b, "", 1), 0);
	CHECK_STR(b.data, want);
	buf_deinit(&b);
}

static void test_escaping(void)
{
	check_escape("", "");
	check_escape("plain", "plain");
	check_escape("a\\b", "a\\\\b");
	check_escape("say \"hi\"", "say \\\"hi\\\"");
	check_escape("two\nlines", "two\\nlines");
	check_escape("tab\tand\rcr", "tab\tand\rcr");
	check_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xac", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xac");
	check_escape("bad\xff", "bad\xef\xbf\xbd");
	check_escape("\x80x", "\xef\xbf\xbdx");
	check_escape("cut\xe2\x82", "cut\xef\xbf\xbd"); /* truncated: one replacement */
	check_escape("\xe2\x82x", "\xef\xbf\xbdx"); /* interrupted: one replacement */
	check_escape("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"); /* overlong */
	check_escape("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
	check_escape("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* > U+10FFFF */
	check_escape("\xf0\x9f\x8e", "\xef\xbf\xbd");
	check_escape("\\\"\n\xff", "\\\\\\\"\\n\xef\xbf\xbd");

	/* Very long values: escaped whole, in linear time. */
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	struct buf b = {0};
	CHECK(big != NULL);
	if (!big)
		return;
	for (size_t i = 0; i < n; i++)
		big[i] = i % 3 == 0 ? '"' : (i % 3 == 1 ? 'x' : '\xff');
	big[n] = '\0';
	CHECK_INT(exposition_escape_label(&b, big), 0);
	size_t thirds = (n + 2) / 3, middles = (n + 1) / 3, lasts = n / 3;
	CHECK_INT(b.len, thirds * 2 + middles + lasts * 3);
	buf_deinit(&b);
	free(big);
}

/* Numbers: the shortest text that reads back, the format's NaN and infinities, integers in decimal. */
static void test_numbers(void)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {{0, "0"}, {1.5, "1.5"}, {0.1, "0.1"}, {-2, "-2"}, {1e300, "1e+300"},
		{0.1 + 0.2, "0.30000000000000004"}, {1e21, "1e+21"}, {123456789012.0, "123456789012"}, {1e-7, "1e-07"}};
	char out[EXPOSITION_NUMBER_SIZE];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = exposition_double(out, sizeof(out), cases[i].v);
		CHECK_MSG(n == strlen(cases[i].want) && strcmp(out, cases[i].want) == 0, "%g: %s", cases[i].v, out);
	}
	CHECK(exposition_double(out, sizeof(out), NAN) == 3 && strcmp(out, "NaN") == 0);
	CHECK(exposition_double(out, sizeof(out), INFINITY) == 4 && strcmp(out, "+Inf") == 0);
	CHECK(exposition_double(out, sizeof(out), -INFINITY) == 4 && strcmp(out, "-Inf") == 0);
	CHECK(exposition_int(out, sizeof(out), INT64_MIN) == 20 && strcmp(out, "-9223372036854775808") == 0);
	CHECK(exposition_uint(out, sizeof(out), UINT64_MAX) == 20 && strcmp(out, "18446744073709551615") == 0);
}

/* Headers of either type; series with and without labels, a NULL value empty; a line on a label set written before. */
static void test_series(void)
{
	static const struct exposition_family gauge = {"a_gauge", EXPOSITION_GAUGE, "Help text."};
	static const struct exposition_family counter = {"a_total", EXPOSITION_COUNTER, "Counted."};
	const char *labels[] = {"k", "v\"1\"", "empty", NULL};
	struct buf b = {0}, set = {0};

	CHECK_INT(exposition_header(&b, &gauge), 0);
	CHECK_INT(exposition_header(&b, &counter), 0);
	CHECK_INT(exposition_series(&b, "a_gauge", labels, 2, "1.5"), 0);
	CHECK_INT(exposition_series(&b, "a_gauge", NULL, 0, "-Inf"), 0);
	CHECK_INT(exposition_label(&set, '{', "farm_id", "f\n"), 0);
	CHECK_INT(exposition_label(&set, ',', "report", "r"), 0);
	CHECK_INT(exposition_line(&b, "a_total", 7, set.data, set.len, "42", 2), 0);
	CHECK_INT(buf_putc(&b, '\0'), 0);
	CHECK_STR(b.data, "# HELP a_gauge Help text.\n# TYPE a_gauge gauge\n"
			  "# HELP a_total Counted.\n# TYPE a_total counter\n"
			  "a_gauge{k=\"v\\\"1\\\"\",empty=\"\"} 1.5\n"
			  "a_gauge -Inf\n"
			  "a_total{farm_id=\"f\\n\",report=\"r\"} 42\n");
	buf_deinit(&b);
	buf_deinit(&set);
}

int main(void)
{
	test_escaping();
	test_numbers();
	test_series();
	TEST_DONE();
}
