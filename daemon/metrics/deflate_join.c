/* deflate_join: sync-flushed raw deflate pieces (ISA-L's igzip, or zlib), and the gzip member around them */
#include "metrics/deflate_join.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#if HAVE_ISAL
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#endif

/*
 * zlib's level for the pieces without ISA-L, as before: on exposition text in 1 MiB pieces, level 3 is as fast
 * as level 1 (64 MiB in about 0.18 CPU s, ISA-L's level 1 about a quarter of that) and writes 3 % less.
 */
#define ZLIB_PIECE_LEVEL 3

struct deflate_join {
	z_stream zs; /* zlib's, set up on first use (the only engine without ISA-L, ISA-L's fallback with it) */
	bool zs_ready;
#if HAVE_ISAL
	struct isal_zstream *isal; /* 80 KiB: on the heap; NULL for the zlib engine */
	unsigned char *level_buf;
#endif
};

const unsigned char deflate_join_gzip_header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};

int deflate_join_new(struct deflate_join **out, enum deflate_join_engine engine)
{
	struct deflate_join *j;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (engine == DEFLATE_JOIN_ISAL && !HAVE_ISAL)
		return -ENOTSUP;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
#if HAVE_ISAL
	if (engine != DEFLATE_JOIN_ZLIB) {
		/* Zeroed: ISA-L may look at hash entries it has not written yet (harmless, but memcheck's noise). */
		j->isal = calloc(1, sizeof(*j->isal));
		j->level_buf = calloc(1, ISAL_DEF_LVL1_DEFAULT);
		if (!j->isal || !j->level_buf) {
			deflate_join_free(j);
			return -ENOMEM;
		}
	}
#endif
	*out = j;
	return 0;
}

void deflate_join_free(struct deflate_join *j)
{
	if (!j)
		return;
	if (j->zs_ready)
		(void)deflateEnd(&j->zs); /* only reports a stream ended early, which is no concern here */
#if HAVE_ISAL
	free(j->isal);
	free(j->level_buf);
#endif
	free(j);
}

uint32_t deflate_join_crc32(uint32_t crc, const void *data, size_t len)
{
#if HAVE_ISAL
	return crc32_gzip_refl(crc, data, len);
#else
	return (uint32_t)crc32_z(crc, data, len);
#endif
}

uint32_t deflate_join_crc32_combine(uint32_t crc1, uint32_t crc2, size_t len2)
{
	return (uint32_t)crc32_combine(crc1, crc2, (z_off_t)len2);
}

void deflate_join_gzip_trailer(unsigned char out[8], uint32_t crc, size_t len)
{
	uint32_t len32 = (uint32_t)(len & 0xffffffffu);

	for (int i = 0; i < 4; i++) {
		out[i] = (unsigned char)(crc >> (8 * i));
		out[4 + i] = (unsigned char)(len32 >> (8 * i));
	}
}

/* A zlib status as -errno: zlib does not set errno. */
static int zlib_error(int zr)
{
	return zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
}

/*
 * Raw deflate of in[0..n) with zs (set up, reset) into a new buffer. flush is Z_SYNC_FLUSH (a piece) or
 * Z_FINISH. Returns 0, -ENOMEM or -EINVAL.
 */
static int zlib_run(z_stream *zs, const void *in, size_t n, int flush, unsigned char **out, size_t *out_len)
{
	/* zlib counts in uInt: feed and drain in pieces that fit. */
	const size_t chunk = (size_t)1 << 30;
	unsigned char *buf;
	size_t cap, used = 0, fed = 0;
	int ret = -ENOMEM, zr;

	cap = (size_t)deflateBound(zs, (uLong)n) + 64;
	buf = malloc(cap);
	if (!buf)
		goto out;
	zs->next_in = (Bytef *)(uintptr_t)in;
	zs->avail_in = 0;
	for (;;) {
		if (zs->avail_in == 0 && fed < n) {
			zs->avail_in = (uInt)(n - fed < chunk ? n - fed : chunk);
			fed += zs->avail_in;
		}
		if (used == cap) {
			unsigned char *bigger = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
			if (!bigger)
				goto out;
			buf = bigger;
			cap *= 2;
		}
		zs->next_out = buf + used;
		zs->avail_out = (uInt)(cap - used < chunk ? cap - used : chunk);
		size_t before = zs->avail_out;
		/* Once zlib holds the last input, keep asking for the flush until it is complete. */
		int mode = fed == n ? flush : Z_NO_FLUSH;
		zr = deflate(zs, mode);
		used += before - zs->avail_out;
		if (zr == Z_STREAM_ERROR) {
			ret = -EINVAL;
			goto out;
		}
		if (mode == Z_FINISH && zr == Z_STREAM_END)
			break;
		/* A flush is complete when deflate leaves output space unused with all input taken. */
		if (mode == Z_SYNC_FLUSH && zs->avail_in == 0 && zs->avail_out != 0)
			break;
	}
	if (used < cap) {
		unsigned char *fit = realloc(buf, used ? used : 1);
		if (fit)
			buf = fit;
	}
	*out = buf;
	*out_len = used;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	return ret;
}

static int zlib_setup(z_stream *zs, int level)
{
	memset(zs, 0, sizeof(*zs));
	int zr = deflateInit2(zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	return zr == Z_OK ? 0 : zlib_error(zr);
}

int deflate_join_zlib(
	const void *in, size_t n, int level, enum deflate_join_end end, unsigned char **out, size_t *out_len)
{
	z_stream zs;
	int r = zlib_setup(&zs, level);

	if (r < 0)
		return r;
	r = zlib_run(&zs, in, n, end == DEFLATE_JOIN_FINAL ? Z_FINISH : Z_SYNC_FLUSH, out, out_len);
	(void)deflateEnd(&zs);
	return r;
}

#if HAVE_ISAL
/*
 * ISA-L writes the piece itself: its one-shot deflate with a full flush and no end of stream leaves the last
 * block open and ends on an empty stored block, as zlib's sync flush does. -EIO for anything else (not
 * expected), so that zlib does it instead.
 */
static int isal_compress(struct deflate_join *j, const void *in, size_t n, unsigned char **out, size_t *out_len)
{
	/* The one shot must fit at once: at worst stored blocks (5 bytes every 64 KiB), headers and the marker. */
	size_t cap = n + n / 8192 + 1024, got;
	unsigned char *o;

	if (n > UINT32_MAX / 2)
		return -EIO;
	o = malloc(cap);
	if (!o)
		return -ENOMEM;
	isal_deflate_stateless_init(j->isal);
	j->isal->level = 1;
	j->isal->level_buf = j->level_buf;
	j->isal->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
	j->isal->flush = FULL_FLUSH;
	j->isal->end_of_stream = 0;
	j->isal->gzip_flag = IGZIP_DEFLATE;
	j->isal->next_in = (uint8_t *)(uintptr_t)in;
	j->isal->avail_in = (uint32_t)n;
	j->isal->next_out = o;
	j->isal->avail_out = (uint32_t)cap;
	if (isal_deflate_stateless(j->isal) != COMP_OK || j->isal->avail_in != 0) {
		free(o);
		return -EIO;
	}
	got = j->isal->total_out;
	if (got < 5 || got > cap || memcmp(o + got - 4, "\0\0\xff\xff", 4) != 0) {
		free(o);
		return -EIO;
	}
	unsigned char *fit = realloc(o, got);
	*out = fit ? fit : o;
	*out_len = got;
	return 0;
}
#endif

int deflate_join_compress(struct deflate_join *j, const void *in, size_t n, unsigned char **out, size_t *out_len)
{
	int r;

	if (!j || (!in && n) || !out || !out_len)
		return -EINVAL;
	if (n == 0) {
		/* Nothing: an empty stored block alone, as zlib writes it. */
		unsigned char *o = malloc(5);
		if (!o)
			return -ENOMEM;
		memcpy(o, "\0\0\0\xff\xff", 5);
		*out = o;
		*out_len = 5;
		return 0;
	}
#if HAVE_ISAL
	if (j->isal) {
		r = isal_compress(j, in, n, out, out_len);
		if (r != -EIO)
			return r;
	}
#endif
	if (!j->zs_ready) {
		r = zlib_setup(&j->zs, ZLIB_PIECE_LEVEL);
		if (r < 0)
			return r;
		j->zs_ready = true;
	} else {
		int zr = deflateReset(&j->zs);
		if (zr != Z_OK)
			return zlib_error(zr);
	}
	return zlib_run(&j->zs, in, n, Z_SYNC_FLUSH, out, out_len);
}
