/* deflate_join: a one-shot raw deflate, made into a piece that can be followed by another */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Compresses in[0..n) into a raw deflate stream that does NOT end the stream: its last
 * block is not final and an empty stored block follows, so it ends byte-aligned, exactly as zlib's
 * Z_SYNC_FLUSH would leave it. Such pieces can be concatenated, and a final empty block closes the stream.
 *
 * Two engines, fastest first. ISA-L (Intel's igzip, when built with it) writes such a piece itself: its level 1
 * does 188 MB of exposition text in 0.14-0.17 s to 18.5 MB. libdeflate (level 1: 0.48 s, 18.8 MB; zlib's level 3
 * takes 0.9-1.05 s to 20.2 MB) writes only whole streams, with the last block marked final; where that block
 * starts is found by walking the stream's blocks (Huffman headers and symbols, no output written), which adds
 * about a quarter. The walk is kept for builds without ISA-L and should ISA-L ever fail.
 *
 * Returns 0 with *out (malloc'd) and *out_len, -ENOMEM, or -EIO should the walk not understand the stream
 * (never expected: the caller may then use zlib instead).
 */
struct deflate_join;

enum deflate_join_engine {
	DEFLATE_JOIN_AUTO,	/* ISA-L for level 1 when built with it, libdeflate otherwise */
	DEFLATE_JOIN_LIBDEFLATE,
	DEFLATE_JOIN_ISAL,	/* its level 1 whatever the level; NULL (ENOTSUP) when built without ISA-L */
};

/* A compressor at libdeflate's level (1-12); one per thread. NULL on -ENOMEM. */
struct deflate_join *deflate_join_new(int level);
struct deflate_join *deflate_join_new_engine(int level, enum deflate_join_engine engine);
bool deflate_join_isal_available(void);
void deflate_join_free(struct deflate_join *j);

int deflate_join_compress(struct deflate_join *j, const void *in, size_t n, unsigned char **out, size_t *out_len);

/* CRC-32 (the gzip trailer's), as zlib's crc32() computes it, faster. Start from 0. */
unsigned long deflate_join_crc32(unsigned long crc, const void *data, size_t len);

/*
 * The walk alone, exposed for tests: in[0..len) is a whole raw deflate stream; on success *final_bit is the bit
 * offset of its final block's header and *end_bit the offset just past that block's end-of-block code.
 * Returns 0, or -EIO for a stream it cannot walk (truncated, invalid codes, no final block).
 */
int deflate_join_walk(const unsigned char *in, size_t len, size_t *final_bit, size_t *end_bit);
