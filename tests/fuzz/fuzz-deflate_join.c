/* fuzz-deflate_join: pieces of any text by either engine, joined and closed, inflate back (zlib), crc32 is zlib's */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "metrics/deflate_join.h"

#include "fuzz.h"

static struct deflate_join *engines[2]; /* zlib's, and AUTO's (ISA-L when built with it): reused, as threads do */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_ASSERT(deflate_join_new(&engines[0], DEFLATE_JOIN_ZLIB) == 0);
	FUZZ_ASSERT(deflate_join_new(&engines[1], DEFLATE_JOIN_AUTO) == 0);
	return 0;
}

/*
 * The input as text, after two bytes of choices: where to cut it in two, and which engine compresses each
 * piece. Both pieces joined and closed inflate to the text; the CRC-32s agree with zlib's, combined too.
 */
static void check_join(const uint8_t *data, size_t size)
{
	if (size < 2)
		return;
	size_t cut = size > 2 ? 2 + data[1] % (size - 2) : 2;
	const uint8_t *text = data + 2;
	size_t n = size - 2, first = cut - 2;
	struct deflate_join *ja = engines[data[0] & 1], *jb = engines[(data[0] >> 1) & 1];
	unsigned char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;

	FUZZ_ASSERT(deflate_join_compress(ja, text, first, &a, &alen) == 0);
	FUZZ_ASSERT(deflate_join_compress(jb, text + first, n - first, &b, &blen) == 0);
	FUZZ_ASSERT(alen >= 5 && memcmp(a + alen - 4, "\0\0\xff\xff", 4) == 0);
	FUZZ_ASSERT(blen >= 5 && memcmp(b + blen - 4, "\0\0\xff\xff", 4) == 0);
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

	uint32_t ca = deflate_join_crc32(0, text, first), cb = deflate_join_crc32(0, text + first, n - first);
	uint32_t whole = (uint32_t)crc32(0, text, (uInt)n);
	FUZZ_ASSERT(ca == (uint32_t)crc32(0, text, (uInt)first));
	FUZZ_ASSERT(deflate_join_crc32_combine(ca, cb, n - first) == whole);
	FUZZ_ASSERT(deflate_join_crc32(ca, text + first, n - first) == whole);
	free(stream);
	free(out);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_join(data, size);
	return 0;
}
