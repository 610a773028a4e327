/* deflate_join: raw deflate pieces that join into one gzip member, and that member's header, crc and trailer */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A piece is a raw deflate stream that does NOT end the stream: its last block is not final and an empty
 * stored block follows, so it ends byte-aligned (zlib's Z_SYNC_FLUSH). Pieces compressed independently can
 * be concatenated in any order; a final piece (or the empty final block 0x03 0x00) closes the stream. The
 * shared gzip body of /metrics is made that way: each report's text is compressed once, when it is published,
 * and a scrape only lists the pieces between a gzip header and a trailer.
 *
 * Two engines. ISA-L's igzip (when built with it, -Disal) writes such a piece itself at its level 1: 188 MB
 * of exposition text in 0.14-0.17 s to 18.5 MB. zlib does the same with Z_SYNC_FLUSH, several times slower.
 */
struct deflate_join;

enum deflate_join_engine {
	DEFLATE_JOIN_AUTO, /* ISA-L when built with it, zlib otherwise */
	DEFLATE_JOIN_ZLIB,
	DEFLATE_JOIN_ISAL, /* -ENOTSUP when built without ISA-L */
};

/* How a zlib one-shot ends: open (a piece another can follow) or final (the stream's end). */
enum deflate_join_end {
	DEFLATE_JOIN_OPEN,
	DEFLATE_JOIN_FINAL,
};

/* A compressor with its engine's state, reused for every piece; one per thread. 0, -ENOMEM or -ENOTSUP. */
int deflate_join_new(struct deflate_join **out, enum deflate_join_engine engine);
/* NULL-safe. */
void deflate_join_free(struct deflate_join *j);

/*
 * Compresses in[0..n) into a piece: *out (malloc'd, the caller frees it) and *out_len. Should ISA-L ever
 * refuse, zlib does it. Returns 0, -ENOMEM, or -EINVAL (zlib refused).
 */
int deflate_join_compress(struct deflate_join *j, const void *in, size_t n, unsigned char **out, size_t *out_len);

/* A zlib one-shot at level (0-9) for small texts: a piece (OPEN) or the stream's last part (FINAL). */
int deflate_join_zlib(
	const void *in, size_t n, int level, enum deflate_join_end end, unsigned char **out, size_t *out_len);

/* CRC-32 of gzip's trailer (zlib's crc32()): start from 0. ISA-L's when built with it (faster), else zlib's. */
uint32_t deflate_join_crc32(uint32_t crc, const void *data, size_t len);
/* The CRC-32 of two texts one after the other, from theirs and the second's length. */
uint32_t deflate_join_crc32_combine(uint32_t crc1, uint32_t crc2, size_t len2);

/* The 10 bytes that open a gzip member: deflate, no name, no time, OS Unix. */
extern const unsigned char deflate_join_gzip_header[10];
/* The 8 bytes that close it: the text's CRC-32 and its length modulo 2^32. */
void deflate_join_gzip_trailer(unsigned char out[8], uint32_t crc, size_t len);
