/* metrics-escape-empty-buffer: exposition_escape_label() on an empty buffer and an empty value is UB */
/*
 * buf_reserve(b, 0) allocates nothing, so b->data stays NULL and metrics.c computes `b->data + b->len`
 * (NULL + 0, undefined in C; UBSan: "applying zero offset to null pointer"). The daemon always appends a
 * prefix first, so it is latent, but the function is exported (exposition.h). Built with -fsanitize=undefined
 * and -fno-sanitize-recover this aborts while the bug is there and exits 0 once fixed.
 */
#include <stdio.h>

#include "metrics/exposition.h"

int main(void)
{
	struct buf b = {0};
	int r = exposition_escape_label(&b, "");

	printf("exposition_escape_label(empty, \"\") = %d, len %zu\n", r, b.len);
	buf_deinit(&b);
	return r == 0 && b.len == 0 ? 0 : 1;
}
