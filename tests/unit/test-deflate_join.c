/* test-deflate_join: pieces of either engine, joined and closed, inflate (zlib) to the texts they came from */
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
				static const char line[] =
					"deadline_cloud_usage_cost_usd{farm_id=\"farm-0123\",report=\"jobs\","
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
static void check_join(enum deflate_join_engine engine, enum kind k, const size_t sizes[3])
{
	struct deflate_join *j = NULL;
	unsigned char *in[3], *piece[3];
	size_t plen[3], total = 0, zlen = 0;

	CHECK_INT(deflate_join_new(&j, engine), 0);
	if (!j)
		return;
	for (int i = 0; i < 3; i++) {
		in[i] = make_input(k, sizes[i]);
		int r = deflate_join_compress(j, in[i], sizes[i], &piece[i], &plen[i]);
		CHECK_MSG(r == 0, "engine %d kind %d size %zu: %d", (int)engine, (int)k, sizes[i], r);
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
		"engine %d kind %d sizes %zu/%zu/%zu: the joined stream does not inflate to the texts", (int)engine,
		(int)k, sizes[0], sizes[1], sizes[2]);
	free(out);
	free(stream);
	free(text);
	for (int i = 0; i < 3; i++) {
		free(in[i]);
		free(piece[i]);
	}
	deflate_join_free(j);
}

/* Both engines (ISA-L when built with it), and the one AUTO picks, one compressor reused for every piece. */
static void test_joined_pieces_inflate(void)
{
	static const size_t sizes[][3] = {
		{0, 0, 0},
		{1, 0, 2},
		{100, 7, 300},
		{65536, 65535, 65537},
		{(size_t)1 << 20, 123457, (size_t)1 << 20},
	};
	for (int k = METRICS_TEXT; k <= MIXED; k++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			check_join(DEFLATE_JOIN_ZLIB, (enum kind)k, sizes[s]);
			if (HAVE_ISAL) /* the build's choice (meson.build): -Disal=disabled has no ISA-L engine */
				check_join(DEFLATE_JOIN_ISAL, (enum kind)k, sizes[s]);
			check_join(DEFLATE_JOIN_AUTO, (enum kind)k, sizes[s]);
		}
}

/* Without ISA-L, asking for it says so; with it, AUTO is ISA-L (its pieces differ from zlib's). */
static void test_engine_choice(void)
{
	struct deflate_join *isal = NULL, *zl = NULL, *autoj = NULL;

	CHECK_INT(deflate_join_new(NULL, DEFLATE_JOIN_AUTO), -EINVAL);
	if (!HAVE_ISAL) {
		CHECK_INT(deflate_join_new(&isal, DEFLATE_JOIN_ISAL), -ENOTSUP);
		CHECK(isal == NULL);
		return;
	}
	CHECK_INT(deflate_join_new(&isal, DEFLATE_JOIN_ISAL), 0);
	CHECK_INT(deflate_join_new(&zl, DEFLATE_JOIN_ZLIB), 0);
	CHECK_INT(deflate_join_new(&autoj, DEFLATE_JOIN_AUTO), 0);
	size_t n = 300000, la = 0, lb = 0, lc = 0;
	unsigned char *in = make_input(METRICS_TEXT, n), *a = NULL, *b = NULL, *c = NULL;
	CHECK_INT(deflate_join_compress(isal, in, n, &a, &la), 0);
	CHECK_INT(deflate_join_compress(zl, in, n, &b, &lb), 0);
	CHECK_INT(deflate_join_compress(autoj, in, n, &c, &lc), 0);
	CHECK(a && b && c);
	if (a && b && c) {
		CHECK(la != lb || memcmp(a, b, la) != 0);
		CHECK(la == lc && memcmp(a, c, la) == 0);
	}
	CHECK_INT(deflate_join_compress(isal, NULL, 1, &a, &la), -EINVAL);
	free(a);
	free(b);
	free(c);
	free(in);
	deflate_join_free(isal);
	deflate_join_free(zl);
	deflate_join_free(autoj);
}

/* The CRC-32 (ISA-L's or zlib's) is zlib's, and combines as zlib's does, at every length and alignment. */
static void test_crc32(void)
{
	size_t n = 100003;
	unsigned char *in = make_input(MIXED, n);

	CHECK(deflate_join_crc32(0, in, 0) == 0);
	for (size_t len = 0; len < 300; len++) {
		size_t off = len % 7;
		CHECK(deflate_join_crc32(0, in + off, len) == (uint32_t)crc32(0, in + off, (uInt)len));
	}
	CHECK(deflate_join_crc32(0, in, n) == (uint32_t)crc32(0, in, (uInt)n));
	for (size_t cut = 0; cut <= n; cut += 9973) {
		uint32_t a = deflate_join_crc32(0, in, cut), b = deflate_join_crc32(0, in + cut, n - cut);
		CHECK(deflate_join_crc32_combine(a, b, n - cut) == deflate_join_crc32(0, in, n));
		/* and continued from a previous value, as zlib's */
		CHECK(deflate_join_crc32(a, in + cut, n - cut) == deflate_join_crc32(0, in, n));
	}
	free(in);
}

/*
 * One gzip member as a scrape makes it: header, pieces of both engines and zlib's one-shot (open), a final
 * zlib one-shot, trailer; zlib's gzip decoder reads back exactly the text.
 */
static void test_gzip_member(void)
{
	static const size_t sizes[] = {70000, 0, 5, 1 << 20, 333};
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	struct deflate_join *j[2] = {NULL, NULL};
	unsigned char *in[N], *piece[N];
	size_t plen[N], total = 0, zlen = sizeof(deflate_join_gzip_header) + 8;
	uint32_t crc = 0;

	CHECK_INT(deflate_join_new(&j[0], DEFLATE_JOIN_ZLIB), 0);
	CHECK_INT(deflate_join_new(&j[1], DEFLATE_JOIN_AUTO), 0);
	for (size_t i = 0; i < N; i++) {
		in[i] = make_input(i % 2 ? MIXED : METRICS_TEXT, sizes[i]);
		int r;
		if (i == N - 1)
			r = deflate_join_zlib(in[i], sizes[i], 6, DEFLATE_JOIN_FINAL, &piece[i], &plen[i]);
		else if (i == 2)
			r = deflate_join_zlib(in[i], sizes[i], 6, DEFLATE_JOIN_OPEN, &piece[i], &plen[i]);
		else
			r = deflate_join_compress(j[i % 2], in[i], sizes[i], &piece[i], &plen[i]);
		CHECK_INT(r, 0);
		crc = deflate_join_crc32_combine(crc, deflate_join_crc32(0, in[i], sizes[i]), sizes[i]);
		total += sizes[i];
		zlen += plen[i];
	}
	unsigned char *gz = malloc(zlen), *text = malloc(total), *out = malloc(total + 1);
	size_t at = 0, t = 0;
	memcpy(gz, deflate_join_gzip_header, sizeof(deflate_join_gzip_header));
	at += sizeof(deflate_join_gzip_header);
	for (size_t i = 0; i < N; i++) {
		memcpy(gz + at, piece[i], plen[i]);
		at += plen[i];
		if (sizes[i])
			memcpy(text + t, in[i], sizes[i]);
		t += sizes[i];
	}
	deflate_join_gzip_trailer(gz + at, crc, total);
	at += 8;
	z_stream z = {0};
	CHECK(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK);
	z.next_in = gz;
	z.avail_in = (uInt)at;
	z.next_out = out;
	z.avail_out = (uInt)(total + 1);
	CHECK_INT(inflate(&z, Z_FINISH), Z_STREAM_END); /* checks the trailer's crc and length too */
	CHECK(z.avail_in == 0 && z.total_out == total && memcmp(out, text, total) == 0);
	inflateEnd(&z);
	for (size_t i = 0; i < N; i++) {
		free(in[i]);
		free(piece[i]);
	}
	free(gz);
	free(text);
	free(out);
	deflate_join_free(j[0]);
	deflate_join_free(j[1]);
}

int main(void)
{
	test_joined_pieces_inflate();
	test_engine_choice();
	test_crc32();
	test_gzip_member();
	TEST_DONE();
}
