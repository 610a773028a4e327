/* fuzz-deflate_join: the block walk on any bytes; libdeflate pieces of any text, joined, inflate back (zlib) */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "metrics/deflate_join.h"

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* The input as a stream: the walk answers or refuses, and what it answers lies inside the input. */
static void check_walk(const uint8_t *data, size_t size)
{
	size_t final_bit = 0, end_bit = 0;
	int r = deflate_join_walk(data, size, &final_bit, &end_bit);
	FUZZ_ASSERT(r == 0 || r == -EIO || r == -ENOMEM);
	if (r == 0)
		FUZZ_ASSERT(final_bit < end_bit && end_bit <= size * 8 && (data[final_bit / 8] >> (final_bit % 8) & 1));
}

/* The input as text, cut in two at its first byte's choice, at a level of its second's (level 1 is ISA-L's when
 * built with it): both pieces joined and closed inflate to the text. */
static void check_join(const uint8_t *data, size_t size)
{
	if (size < 2)
		return;
	int level = 1 + data[0] % 12;
	size_t cut = size > 2 ? 2 + data[1] % (size - 2) : 2;
	const uint8_t *text = data + 2;
	size_t n = size - 2, first = cut - 2;
	struct deflate_join *j = deflate_join_new(level);
	unsigned char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;

	FUZZ_ASSERT(j != NULL);
	FUZZ_ASSERT(deflate_join_compress(j, text, first, &a, &alen) == 0);
	FUZZ_ASSERT(deflate_join_compress(j, text + first, n - first, &b, &blen) == 0);
	unsigned char *stream = malloc(alen + blen + 2), *out = malloc(n + 1);
	FUZZ_ASSERT(stream && out);
	memcpy(stream, a, alen);
	memcpy(stream + alen, b, blen);
	stream[alen + blen] = 0x03; /* an empty final fixed block */
	stream[alen + blen + 1] = 0x00;
	z_stream z = {0};
	FUZZ_ASSERT(inflateInit2(&z, -15) == Z_OK);
	z.next_in = stream;
	z.avail_in = (uInt)(alen + blen + 2);
	z.next_out = out;
	z.avail_out = (uInt)(n + 1);
	FUZZ_ASSERT(inflate(&z, Z_FINISH) == Z_STREAM_END && z.avail_in == 0);
	FUZZ_ASSERT(z.total_out == n && (n == 0 || memcmp(out, text, n) == 0));
	inflateEnd(&z);
	free(stream);
	free(out);
	free(a);
	free(b);
	deflate_join_free(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_walk(data, size);
	check_join(data, size);
	return 0;
}
