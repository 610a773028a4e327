/* test-buf: growth, the limit, printf, take, and wiping buffers */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "test.h"
#include "util/buf.h"

static void test_append(void)
{
	struct buf b;
	char big[1000];
	size_t len = 0;
	char *s;

	buf_init(&b, 0, false);
	CHECK(b.data == NULL);
	CHECK_INT(buf_puts(&b, "abc"), 0);
	CHECK_INT(buf_putc(&b, '-'), 0);
	CHECK_INT(buf_append(&b, "xyz", 2), 0);
	CHECK_INT(buf_append(&b, NULL, 0), 0);
	CHECK_STR(b.data, "abc-xy");
	CHECK_INT(b.len, 6);
	memset(big, 'q', sizeof(big));
	/* Several doublings, the content kept. */
	for (int i = 0; i < 20; i++)
		CHECK_INT(buf_append(&b, big, sizeof(big)), 0);
	CHECK_INT(b.len, 6 + 20 * sizeof(big));
	CHECK(b.cap > b.len);
	CHECK(memcmp(b.data, "abc-xyqq", 8) == 0);
	CHECK_INT(b.data[b.len], '\0');
	s = buf_take(&b, &len);
	CHECK(s != NULL);
	CHECK_INT(len, 6 + 20 * sizeof(big));
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
	free(s);
	buf_deinit(&b);
}

static void test_limit(void)
{
	struct buf b;

	buf_init(&b, 10, false);
	CHECK_INT(buf_puts(&b, "0123456789"), 0);
	CHECK_INT(buf_putc(&b, 'x'), -EMSGSIZE);
	CHECK_STR(b.data, "0123456789");
	/* The block never grows past the limit and its NUL. */
	CHECK(b.cap <= 11);
	buf_deinit(&b);

	buf_init(&b, 4, false);
	CHECK_INT(buf_append(&b, "abcde", 5), -EMSGSIZE);
	CHECK_INT(b.len, 0);
	CHECK_INT(buf_reserve(&b, SIZE_MAX), -EMSGSIZE);
	CHECK_INT(buf_printf(&b, "%d", 12345), -EMSGSIZE);
	CHECK_INT(buf_printf(&b, "%d", 1234), 0);
	CHECK_STR(b.data, "1234");
	buf_deinit(&b);

	buf_init(&b, 0, false);
	CHECK_INT(buf_append(&b, "a", 1), 0);
	CHECK_INT(buf_reserve(&b, SIZE_MAX - 1), -EMSGSIZE);
	buf_deinit(&b);
}

static void test_printf(void)
{
	struct buf b;

	buf_init(&b, 0, false);
	CHECK_INT(buf_printf(&b, "%s=%d", "n", 42), 0);
	CHECK_INT(buf_printf(&b, "%s", ""), 0);
	CHECK_INT(buf_printf(&b, " %0300d", 7), 0);
	CHECK_INT(b.len, 4 + 1 + 300);
	CHECK(strncmp(b.data, "n=42 000", 8) == 0);
	CHECK_INT(b.data[b.len - 1], '7');
	buf_deinit(&b);
}

static void test_empty_take(void)
{
	struct buf b;
	size_t len = 99;
	char *s;

	buf_init(&b, 0, false);
	s = buf_take(&b, &len);
	CHECK_STR(s, "");
	CHECK_INT(len, 0);
	free(s);
	buf_deinit(&b);
	buf_deinit(&b); /* idempotent */
}

static void test_wipe(void)
{
	struct buf b;
	char chunk[300];

	buf_init(&b, 0, true);
	memset(chunk, 's', sizeof(chunk));
	for (int i = 0; i < 10; i++)
		CHECK_INT(buf_append(&b, chunk, sizeof(chunk)), 0);
	CHECK_INT(b.len, 3000);
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] != 's') {
			CHECK(!"content kept across wiping growth");
			break;
		}
	buf_deinit(&b);
	CHECK(b.data == NULL);
	CHECK(b.wipe);
	/* Reusable after deinit, with the same limits. */
	CHECK_INT(buf_puts(&b, "again"), 0);
	CHECK_STR(b.data, "again");
	buf_deinit(&b);
}

int main(void)
{
	test_append();
	test_limit();
	test_printf();
	test_empty_take();
	test_wipe();
	TEST_DONE();
}
