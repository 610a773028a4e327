/* test-ascii: the ASCII character classes agree with ctype.h's "C" locale on every byte, and array's ARRAY_SIZE */
#include <ctype.h>
#include <locale.h>
#include <stdlib.h>

#include "test.h"
#include "util/array.h"
#include "util/ascii.h"

static void test_classes(void)
{
	static const char *const other_letters[] = {
		"\xc3\xa9", "\xc4\xb1", "\xef\xbc\xa1"}; /* é, dotless i, fullwidth A */

	CHECK(setlocale(LC_CTYPE, "C") != NULL);
	for (int i = 0; i < 256; i++) {
		char c = (char)i;
		int u = (unsigned char)c;
		char one[2] = {c, '\0'};
		char *end;
		long value = strtol(one, &end, 16);
		bool hex_digit = *one && *end == '\0' && isxdigit(u);

		CHECK_MSG(ascii_is_digit(c) == !!isdigit(u), "byte %d", i);
		CHECK_MSG(ascii_is_lower(c) == !!islower(u), "byte %d", i);
		CHECK_MSG(ascii_is_upper(c) == !!isupper(u), "byte %d", i);
		CHECK_MSG(ascii_is_alpha(c) == !!isalpha(u), "byte %d", i);
		CHECK_MSG(ascii_is_alnum(c) == !!isalnum(u), "byte %d", i);
		CHECK_MSG(ascii_is_hex(c) == !!isxdigit(u), "byte %d", i);
		CHECK_MSG(ascii_is_lower_hex(c) == (isxdigit(u) && !isupper(u)), "byte %d", i);
		CHECK_MSG(ascii_hex_value(c) == (hex_digit ? (int)value : -1), "byte %d", i);
		CHECK_MSG(ascii_to_lower(c) == (char)tolower(u), "byte %d", i);
	}
	/* The bytes of UTF-8 letters are no letters, whatever locale a library set. */
	for (size_t i = 0; i < ARRAY_SIZE(other_letters); i++)
		for (const char *p = other_letters[i]; *p; p++)
			CHECK(!ascii_is_alnum(*p) && !ascii_is_hex(*p) && ascii_to_lower(*p) == *p);
}

static void test_array_size(void)
{
	int four[4];
	const char *const names[] = {"a", "b", "c"};
	struct {
		char c;
		double d;
	} pairs[7];

	CHECK_INT(ARRAY_SIZE(four), 4);
	CHECK_INT(ARRAY_SIZE(names), 3);
	CHECK_INT(ARRAY_SIZE(pairs), 7);
	CHECK_INT(ARRAY_SIZE("text"), 5);
	(void)four;
	(void)pairs;
}

int main(void)
{
	test_classes();
	test_array_size();
	TEST_DONE();
}
