/* test-deflate_join: libdeflate pieces, joined and closed, inflate (zlib) to the texts they came from */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

#include "metrics/deflate_join.h"
#include "test.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

enum kind { METRICS_TEXT, RANDOM_BYTES, ONE_BYTE, FEW_SYMBOLS, MIXED };

/* n bytes of a kind: exposition-like lines, incompressible bytes, runs, a small alphabet, or all of those. */
static unsigned char *make_input(enum kind k, size_t n)
{
	unsigned char *b = malloc(n ? n : 1);

	if (!b)
		exit(1);
	for (size_t i = 0; i < n;) {
		enum kind now = k == MIXED ? (enum kind)(next_random() % 4) : k;
		size_t run = k == MIXED ? 1 + next_random() % 5000 : n;
		for (size_t j = 0; j < run && i < n; j++, i++) {
			switch (now) {
			case METRICS_TEXT: {
				static const char line[] = "deadline_cloud_usage_cost_usd{farm_id=\"farm-0123\",report=\"jobs\","
							   "job_id=\"job-%08x\",statistic=\"sum\"} 12.5\n";
				size_t at = i % (sizeof(line) - 1);
				b[i] = (unsigned char)(line[at] == '%' ? (char)('0' + next_random() % 10) : line[at]);
				break;
			}
			case RANDOM_BYTES:
				b[i] = (unsigned char)next_random();
				break;
			case ONE_BYTE:
				b[i] = 'x';
				break;
			default:
				b[i] = (unsigned char)("ab\n"[next_random() % 3]);
				break;
			}
		}
	}
	return b;
}

/* Inflates the raw deflate stream in[0..n); returns the text (malloc'd) or NULL. */
static unsigned char *inflate_all(const unsigned char *in, size_t n, size_t want, size_t *got)
{
	z_stream z = {0};
	unsigned char *out = malloc(want + 1);
	int zr;

	if (!out || inflateInit2(&z, -15) != Z_OK)
		exit(1);
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)want + 1;
	zr = inflate(&z, Z_FINISH);
	*got = want + 1 - z.avail_out;
	bool ended = zr == Z_STREAM_END && z.avail_in == 0;
	inflateEnd(&z);
	if (!ended) {
		free(out);
		return NULL;
	}
	return out;
}

/* Three pieces of the given kinds and sizes, joined, closed by a final empty fixed block (0x03 0x00). */
static void check_join(int level, enum deflate_join_engine engine, enum kind k, const size_t sizes[3])
{
	struct deflate_join *j = deflate_join_new_engine(level, engine);
	unsigned char *in[3], *piece[3];
	size_t plen[3], total = 0, zlen = 0;

	CHECK(j != NULL);
	if (!j)
		return;
	for (int i = 0; i < 3; i++) {
		in[i] = make_input(k, sizes[i]);
		int r = deflate_join_compress(j, in[i], sizes[i], &piece[i], &plen[i]);
		CHECK_MSG(r == 0, "engine %d level %d kind %d size %zu: %d", (int)engine, level, (int)k, sizes[i], r);
		if (r != 0) {
			piece[i] = NULL;
			plen[i] = 0;
		}
		/* A piece ends as zlib's sync flush does: an empty stored block. */
		CHECK(plen[i] >= 5 && memcmp(piece[i] + plen[i] - 4, "\0\0\xff\xff", 4) == 0);
		total += sizes[i];
		zlen += plen[i];
	}
	unsigned char *stream = malloc(zlen + 2), *text = malloc(total ? total : 1);
	size_t at = 0, t = 0;
	for (int i = 0; i < 3; i++) {
		if (plen[i])
			memcpy(stream + at, piece[i], plen[i]);
		at += plen[i];
		if (sizes[i])
			memcpy(text + t, in[i], sizes[i]);
		t += sizes[i];
	}
	stream[at++] = 0x03;
	stream[at++] = 0x00;
	size_t got = 0;
	unsigned char *out = inflate_all(stream, at, total, &got);
	CHECK_MSG(out && got == total && (total == 0 || memcmp(out, text, total) == 0),
		"engine %d level %d kind %d sizes %zu/%zu/%zu: the joined stream does not inflate to the texts",
		(int)engine, level, (int)k,
		sizes[0], sizes[1], sizes[2]);
	free(out);
	free(stream);
	free(text);
	for (int i = 0; i < 3; i++) {
		free(in[i]);
		free(piece[i]);
	}
	deflate_join_free(j);
}

static void test_joined_pieces_inflate(void)
{
	static const size_t sizes[][3] = {
		{0, 0, 0},
		{1, 0, 2},
		{100, 7, 300},
		{65536, 65535, 65537},
		{(size_t)1 << 20, 123457, (size_t)1 << 20},
	};
	static const int levels[] = {1, 3, 6, 9, 12};
	for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++)
		for (int k = METRICS_TEXT; k <= MIXED; k++)
			for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
				check_join(levels[l], DEFLATE_JOIN_LIBDEFLATE, (enum kind)k, sizes[s]);
	/* ISA-L (level 1, the exporter's), and whatever level 1 picks by itself. */
	for (int k = METRICS_TEXT; k <= MIXED; k++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			if (deflate_join_isal_available())
				check_join(1, DEFLATE_JOIN_ISAL, (enum kind)k, sizes[s]);
			check_join(1, DEFLATE_JOIN_AUTO, (enum kind)k, sizes[s]);
		}
}

/* Without ISA-L, asking for it says so; with it, the engine level 1 picks is ISA-L's (a piece differs). */
static void test_engine_choice(void)
{
	struct deflate_join *isal = deflate_join_new_engine(1, DEFLATE_JOIN_ISAL);
	if (!deflate_join_isal_available()) {
		CHECK(isal == NULL && errno == ENOTSUP);
		return;
	}
	CHECK(isal != NULL);
	struct deflate_join *lib = deflate_join_new_engine(1, DEFLATE_JOIN_LIBDEFLATE);
	struct deflate_join *autoj = deflate_join_new(1);
	size_t n = 300000, la = 0, lb = 0, lc = 0;
	unsigned char *in = make_input(METRICS_TEXT, n), *a = NULL, *b = NULL, *c = NULL;
	CHECK_INT(deflate_join_compress(isal, in, n, &a, &la), 0);
	CHECK_INT(deflate_join_compress(lib, in, n, &b, &lb), 0);
	CHECK_INT(deflate_join_compress(autoj, in, n, &c, &lc), 0);
	CHECK(a && b && c);
	if (a && b && c) {
		CHECK(la != lb || memcmp(a, b, la) != 0);
		CHECK(la == lc && memcmp(a, c, la) == 0);
	}
	free(a);
	free(b);
	free(c);
	free(in);
	deflate_join_free(isal);
	deflate_join_free(lib);
	deflate_join_free(autoj);
}

/* zlib's whole streams: fixed, dynamic and stored blocks, the final one found where zlib put it. */
static void test_walk_zlib_streams(void)
{
	static const int strategies[] = {Z_DEFAULT_STRATEGY, Z_FIXED, Z_HUFFMAN_ONLY, Z_RLE};
	for (size_t s = 0; s < sizeof(strategies) / sizeof(strategies[0]); s++)
		for (int level = 0; level <= 9; level += 3) {
			size_t n = 200000;
			unsigned char *in = make_input(MIXED, n), *out = malloc(n * 2 + 1000);
			z_stream z = {0};
			CHECK(deflateInit2(&z, level, Z_DEFLATED, -15, 8, strategies[s]) == Z_OK);
			z.next_in = in;
			z.avail_in = (uInt)n;
			z.next_out = out;
			z.avail_out = (uInt)(n * 2 + 1000);
			CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
			size_t len = z.total_out, final_bit = 0, end_bit = 0;
			deflateEnd(&z);
			CHECK_INT(deflate_join_walk(out, len, &final_bit, &end_bit), 0);
			CHECK((end_bit + 7) / 8 == len);
			CHECK(out[final_bit / 8] & (1u << (final_bit % 8)));
			/* Cut short, or with the final bit cleared, the walk fails instead of reading past the end. */
			CHECK_INT(deflate_join_walk(out, len / 2, &final_bit, &end_bit), -EIO);
			out[final_bit / 8] &= (unsigned char)~(1u << (final_bit % 8));
			CHECK_INT(deflate_join_walk(out, len, &final_bit, &end_bit), -EIO);
			free(in);
			free(out);
		}
}

/* Garbage never makes the walk read out of bounds (ASan) or succeed without a final block. */
static void test_walk_garbage(void)
{
	size_t final_bit, end_bit;
	CHECK_INT(deflate_join_walk((const unsigned char *)"", 0, &final_bit, &end_bit), -EIO);
	for (int i = 0; i < 20000; i++) {
		size_t n = 1 + next_random() % 64;
		unsigned char *b = malloc(n);
		for (size_t k = 0; k < n; k++)
			b[k] = (unsigned char)next_random();
		int r = deflate_join_walk(b, n, &final_bit, &end_bit);
		CHECK(r == -EIO || (r == 0 && end_bit <= n * 8 && final_bit < end_bit));
		free(b);
	}
}

int main(void)
{
	test_joined_pieces_inflate();
	test_engine_choice();
	test_walk_zlib_streams();
	test_walk_garbage();
	TEST_DONE();
}
