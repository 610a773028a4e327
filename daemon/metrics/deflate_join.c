/* deflate_join: a one-shot raw deflate (ISA-L, or libdeflate made joinable) as a piece another can follow */
#include "metrics/deflate_join.h"

#include <endian.h>
#include <errno.h>
#include <libdeflate.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

struct deflate_join {
	struct libdeflate_compressor *c;
#if HAVE_ISAL
	struct isal_zstream *zs; /* 80 KiB: on the heap */
	unsigned char *level_buf;
#endif
};

bool deflate_join_isal_available(void)
{
	return HAVE_ISAL;
}

struct deflate_join *deflate_join_new_engine(int level, enum deflate_join_engine engine)
{
	struct deflate_join *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->c = libdeflate_alloc_compressor(level);
	if (!j->c) {
		free(j);
		return NULL;
	}
#if HAVE_ISAL
	/* ISA-L's level 1 stands for libdeflate's: the fastest with a Huffman-coded output. */
	if (engine == DEFLATE_JOIN_ISAL || (engine == DEFLATE_JOIN_AUTO && level == 1)) {
		/* Zeroed: ISA-L may look at hash entries it has not written yet (harmless, but memcheck's noise). */
		j->zs = calloc(1, sizeof(*j->zs));
		j->level_buf = calloc(1, ISAL_DEF_LVL1_DEFAULT);
		if (!j->zs || !j->level_buf) {
			deflate_join_free(j);
			return NULL;
		}
	}
#else
	if (engine == DEFLATE_JOIN_ISAL) {
		deflate_join_free(j);
		errno = ENOTSUP;
		return NULL;
	}
#endif
	return j;
}

struct deflate_join *deflate_join_new(int level)
{
	return deflate_join_new_engine(level, DEFLATE_JOIN_AUTO);
}

void deflate_join_free(struct deflate_join *j)
{
	if (!j)
		return;
	libdeflate_free_compressor(j->c);
#if HAVE_ISAL
	free(j->zs);
	free(j->level_buf);
#endif
	free(j);
}

unsigned long deflate_join_crc32(unsigned long crc, const void *data, size_t len)
{
	return libdeflate_crc32((uint32_t)crc, data, len);
}

/* ---- reading bits (RFC 1951 3.1.1: least significant bit first) ---- */

struct bits {
	const unsigned char *in;
	size_t len;  /* bytes */
	size_t next; /* the next byte to load; may run past len, loading zeros */
	uint64_t buf;
	unsigned cnt; /* bits in buf */
};

/*
 * Eight bytes at once, when eight remain at *at: the whole bytes that fit are counted, the bits of the next one
 * that also got in are its own bits in their own places, so loading that byte again later changes nothing.
 * On locals, so that the walk's loop keeps them in registers.
 */
static inline bool refill_fast(const unsigned char *in, size_t len, size_t *at, uint64_t *buf, unsigned *cnt)
{
	uint64_t w;

	if (*at + 8 > len)
		return false;
	memcpy(&w, in + *at, 8);
	*buf |= le64toh(w) << *cnt;
	*at += (63 - *cnt) >> 3;
	*cnt |= 56;
	return true;
}

static void bits_fill(struct bits *b)
{
	if (refill_fast(b->in, b->len, &b->next, &b->buf, &b->cnt))
		return;
	while (b->cnt <= 56) {
		uint64_t byte = b->next < b->len ? b->in[b->next] : 0;
		b->buf |= byte << b->cnt;
		b->next++;
		b->cnt += 8;
	}
}

/* The offset of the next unread bit. */
static size_t bits_pos(const struct bits *b)
{
	return b->next * 8 - b->cnt;
}

/* Past the end of the input: what was read there were zeros that are not in the stream. */
static bool bits_over(const struct bits *b)
{
	return bits_pos(b) > b->len * 8;
}

static void bits_seek(struct bits *b, size_t pos)
{
	b->next = pos / 8;
	b->buf = 0;
	b->cnt = 0;
	bits_fill(b);
	b->buf >>= pos % 8;
	b->cnt -= pos % 8;
}

/* n <= 32 bits, as an integer. */
static unsigned bits_take(struct bits *b, unsigned n)
{
	if (b->cnt < n)
		bits_fill(b);
	unsigned v = (unsigned)(b->buf & ((1ull << n) - 1));
	b->buf >>= n;
	b->cnt -= n;
	return v;
}

/* ---- canonical Huffman codes (RFC 1951 3.2.2), decoded by a table of the next TABLE_BITS bits ---- */

#define MAX_BITS 15
#define TABLE_BITS 11
#define MAX_SYMBOLS 288

/*
 * A table entry: symbol (bits 0-8), the bits to skip, the code's and the symbol's extra bits (9-13), the code's
 * length alone (14-17), which table decodes next (E_NEXT_DIST), or that the walk must look closer (E_STOP: the
 * end of the block, a symbol that cannot be, or a code longer than TABLE_BITS, whose entry is E_STOP alone).
 * The walk thus branches on the data only where it is rare: literal or length is a choice of table.
 */
#define E_SKIP(e) (((e) >> 9) & 0x1f)
#define E_LEN(e) (((e) >> 14) & 0xf)
#define E_NEXT_DIST (1u << 18)
#define E_STOP (1u << 19)

struct code {
	uint32_t *table;                 /* 1 << TABLE_BITS entries */
	uint16_t count[MAX_BITS + 1];    /* codes of each length */
	uint16_t symbol[MAX_SYMBOLS];    /* symbols in canonical order */
	const uint8_t *extra;            /* extra bits of each symbol, or NULL */
};

/* A block's two codes, their tables side by side: the walk picks one by index. */
struct code_pair {
	uint32_t table[2][1 << TABLE_BITS]; /* literal/length, distance */
	struct code lit, dist;
};

/* Extra bits of the literal/length symbols (257..285 have some) and of the distance symbols 0..29. */
static const uint8_t lit_extra[288] = {[265] = 1, [266] = 1, [267] = 1, [268] = 1, [269] = 2, [270] = 2,
	[271] = 2, [272] = 2, [273] = 3, [274] = 3, [275] = 3, [276] = 3, [277] = 4, [278] = 4, [279] = 4, [280] = 4,
	[281] = 5, [282] = 5, [283] = 5, [284] = 5};
static const uint8_t dist_extra[32] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11,
	11, 12, 12, 13, 13};

static unsigned reverse_bits(unsigned code, unsigned n)
{
	unsigned r = 0;

	for (unsigned i = 0; i < n; i++) {
		r = (r << 1) | (code & 1);
		code >>= 1;
	}
	return r;
}

/* Builds the code of lengths[0..n); -EIO for an over-subscribed set (an incomplete one is allowed). */
static int code_build(struct code *h, const uint8_t *lengths, unsigned n, const uint8_t *extra)
{
	uint16_t offs[MAX_BITS + 2];
	int left = 1;

	h->extra = extra;
	memset(h->count, 0, sizeof(h->count));
	for (unsigned s = 0; s < n; s++)
		h->count[lengths[s]]++;
	for (unsigned len = 1; len <= MAX_BITS; len++) {
		left <<= 1;
		left -= h->count[len];
		if (left < 0)
			return -EIO;
	}
	offs[1] = 0;
	for (unsigned len = 1; len <= MAX_BITS; len++)
		offs[len + 1] = (uint16_t)(offs[len] + h->count[len]);
	for (unsigned s = 0; s < n; s++)
		if (lengths[s])
			h->symbol[offs[lengths[s]]++] = (uint16_t)s;

	/* The table: every code of at most TABLE_BITS bits, at each index that starts with it. */
	for (size_t k = 0; k < (1u << TABLE_BITS); k++)
		h->table[k] = E_STOP;
	unsigned code = 0, index = 0;
	for (unsigned len = 1; len <= MAX_BITS; len++) {
		for (unsigned i = 0; i < h->count[len]; i++, index++, code++) {
			if (len > TABLE_BITS)
				continue;
			unsigned rev = reverse_bits(code, len), sym = h->symbol[index];
			uint32_t e = len << 14 | (len + (extra ? extra[sym] : 0)) << 9 | sym;
			if (extra == lit_extra)
				e |= sym == 256 || sym > 285 ? E_STOP : sym > 256 ? E_NEXT_DIST : 0;
			else if (extra == dist_extra && sym > 29)
				e |= E_STOP;
			for (unsigned k = rev; k < (1u << TABLE_BITS); k += 1u << len)
				h->table[k] = e;
		}
		code <<= 1;
	}
	return 0;
}

/* A code longer than the table's, bit by bit as in zlib's puff.c: the symbol, or -1. */
static int code_slow(struct bits *b, const struct code *h)
{
	int code = 0, first = 0, index = 0;
	for (unsigned len = 1; len <= MAX_BITS; len++) {
		code |= (int)bits_take(b, 1);
		int count = h->count[len];
		if (code - count < first)
			return h->symbol[index + (code - first)];
		index += count;
		first += count;
		first <<= 1;
		code <<= 1;
	}
	return -1;
}

/* The next symbol of a code without extra bits (the code lengths'), or -1. */
static int code_decode(struct bits *b, const struct code *h)
{
	uint32_t e = h->table[b->buf & ((1u << TABLE_BITS) - 1)];
	if (e & E_STOP)
		return code_slow(b, h);
	b->buf >>= E_LEN(e);
	b->cnt -= E_LEN(e);
	return (int)(e & 0x1ff);
}

/* Skips a block's symbols up to and including its end-of-block code. */
static int walk_symbols(struct bits *b, const struct code_pair *p)
{
	unsigned which = 0; /* the table of the next symbol: 0 literal/length, 1 distance */
	/* The bit buffer in locals (registers) for the loop; b is brought up to date around the rare calls. */
	uint64_t buf = b->buf;
	unsigned cnt = b->cnt;
	size_t at = b->next;

	for (;;) {
		/* A length and its distance take at most 15 + 5 + 15 + 13 bits; a refill is where the end is checked. */
		if (cnt < 48) {
			if (!refill_fast(b->in, b->len, &at, &buf, &cnt)) {
				b->buf = buf, b->cnt = cnt, b->next = at;
				bits_fill(b);
				if (bits_over(b))
					return -EIO; /* zeros past the end may well decode as symbols */
				buf = b->buf, cnt = b->cnt, at = b->next;
			}
		}
		uint32_t e = p->table[which][buf & ((1u << TABLE_BITS) - 1)];
		if (!(e & E_STOP)) {
			buf >>= E_SKIP(e);
			cnt -= E_SKIP(e);
			which = (e >> 18) & 1;
			continue;
		}
		b->buf = buf, b->cnt = cnt, b->next = at;
		bool in_lit = which == 0;
		int sym;
		if (E_LEN(e)) {
			b->buf >>= E_LEN(e);
			b->cnt -= E_LEN(e);
			sym = (int)(e & 0x1ff);
		} else {
			sym = code_slow(b, in_lit ? &p->lit : &p->dist);
		}
		if (in_lit) {
			if (sym == 256)
				return bits_over(b) ? -EIO : 0;
			if (sym < 0 || sym > 285)
				return -EIO;
			bits_take(b, lit_extra[sym]);
			which = sym > 256;
		} else {
			if (sym < 0 || sym > 29)
				return -EIO;
			bits_take(b, dist_extra[sym]);
			which = 0;
		}
		if (bits_over(b))
			return -EIO;
		buf = b->buf, cnt = b->cnt, at = b->next;
	}
}

/* A dynamic block's code descriptions (RFC 1951 3.2.7). */
static int read_dynamic(struct bits *b, struct code_pair *p)
{
	static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
	uint8_t lengths[286 + 30];
	uint32_t lentable[1 << TABLE_BITS];
	struct code lencode = {.table = lentable};

	unsigned nlen = bits_take(b, 5) + 257, ndist = bits_take(b, 5) + 1, ncode = bits_take(b, 4) + 4;
	if (nlen > 286 || ndist > 30)
		return -EIO;
	memset(lengths, 0, 19);
	for (unsigned i = 0; i < ncode; i++)
		lengths[order[i]] = (uint8_t)bits_take(b, 3);
	if (code_build(&lencode, lengths, 19, NULL) < 0)
		return -EIO;
	for (unsigned i = 0; i < nlen + ndist;) {
		if (b->cnt < 32)
			bits_fill(b);
		int s = code_decode(b, &lencode);
		if (s < 0)
			return -EIO;
		if (s < 16) {
			lengths[i++] = (uint8_t)s;
			continue;
		}
		uint8_t v = 0;
		unsigned rep;
		if (s == 16) {
			if (i == 0)
				return -EIO;
			v = lengths[i - 1];
			rep = 3 + bits_take(b, 2);
		} else if (s == 17) {
			rep = 3 + bits_take(b, 3);
		} else {
			rep = 11 + bits_take(b, 7);
		}
		if (i + rep > nlen + ndist)
			return -EIO;
		while (rep--)
			lengths[i++] = v;
	}
	if (lengths[256] == 0 || bits_over(b))
		return -EIO;
	if (code_build(&p->lit, lengths, nlen, lit_extra) < 0 ||
		code_build(&p->dist, lengths + nlen, ndist, dist_extra) < 0)
		return -EIO;
	return 0;
}

static void fixed_codes(struct code_pair *p)
{
	uint8_t lengths[MAX_SYMBOLS];
	unsigned s = 0;

	for (; s < 144; s++)
		lengths[s] = 8;
	for (; s < 256; s++)
		lengths[s] = 9;
	for (; s < 280; s++)
		lengths[s] = 7;
	for (; s < 288; s++)
		lengths[s] = 8;
	(void)code_build(&p->lit, lengths, 288, lit_extra);
	for (s = 0; s < 30; s++)
		lengths[s] = 5;
	(void)code_build(&p->dist, lengths, 30, dist_extra);
}

int deflate_join_walk(const unsigned char *in, size_t len, size_t *final_bit, size_t *end_bit)
{
	struct bits b = {.in = in, .len = len};
	struct code_pair *codes = malloc(2 * sizeof(*codes)); /* a dynamic block's, the fixed ones */
	bool have_fixed = false;
	int r = -EIO;

	if (!codes)
		return -ENOMEM;
	for (int i = 0; i < 2; i++) {
		codes[i].lit.table = codes[i].table[0];
		codes[i].dist.table = codes[i].table[1];
	}
	bits_fill(&b);
	for (;;) {
		size_t header = bits_pos(&b);
		unsigned last = bits_take(&b, 1), type = bits_take(&b, 2);
		if (bits_over(&b))
			break;
		if (type == 0) {
			/* Stored: to the byte boundary, LEN, its complement, LEN bytes. */
			size_t pos = (bits_pos(&b) + 7) / 8 * 8;
			bits_seek(&b, pos);
			unsigned n = bits_take(&b, 16), nn = bits_take(&b, 16);
			if (n != (~nn & 0xffff))
				break;
			pos = bits_pos(&b) + (size_t)n * 8;
			if (pos > len * 8)
				break;
			bits_seek(&b, pos);
		} else if (type == 1) {
			if (!have_fixed) {
				fixed_codes(&codes[1]);
				have_fixed = true;
			}
			if (walk_symbols(&b, &codes[1]) < 0)
				break;
		} else if (type == 2) {
			if (read_dynamic(&b, &codes[0]) < 0 || walk_symbols(&b, &codes[0]) < 0)
				break;
		} else {
			break;
		}
		if (last) {
			*final_bit = header;
			*end_bit = bits_pos(&b);
			r = 0;
			break;
		}
	}
	free(codes);
	return r;
}

#if HAVE_ISAL
/*
 * ISA-L writes the piece itself: its one-shot deflate with a full flush and no end of stream leaves the last
 * block open and ends on an empty stored block, as zlib's sync flush does. -EIO for anything else (not
 * expected), so that the caller's libdeflate does it instead.
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
	isal_deflate_stateless_init(j->zs);
	j->zs->level = 1;
	j->zs->level_buf = j->level_buf;
	j->zs->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
	j->zs->flush = FULL_FLUSH;
	j->zs->end_of_stream = 0;
	j->zs->gzip_flag = IGZIP_DEFLATE;
	j->zs->next_in = (uint8_t *)(uintptr_t)in;
	j->zs->avail_in = (uint32_t)n;
	j->zs->next_out = o;
	j->zs->avail_out = (uint32_t)cap;
	if (isal_deflate_stateless(j->zs) != COMP_OK || j->zs->avail_in != 0) {
		free(o);
		return -EIO;
	}
	got = j->zs->total_out;
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
	size_t cap, got, final_bit, end_bit;
	unsigned char *o;

	if (n == 0) {
		/* Nothing: an empty stored block alone, as zlib writes it. */
		o = malloc(5);
		if (!o)
			return -ENOMEM;
		memcpy(o, "\0\0\0\xff\xff", 5);
		*out = o;
		*out_len = 5;
		return 0;
	}
#if HAVE_ISAL
	if (j->zs) {
		int r = isal_compress(j, in, n, out, out_len);
		if (r != -EIO)
			return r;
	}
#endif
	cap = libdeflate_deflate_compress_bound(j->c, n) + 8;
	o = malloc(cap);
	if (!o)
		return -ENOMEM;
	got = libdeflate_deflate_compress(j->c, in, n, o, cap);
	if (got == 0 || deflate_join_walk(o, got, &final_bit, &end_bit) < 0 || (end_bit + 7) / 8 != got) {
		free(o);
		return -EIO;
	}
	/* The last block is not the last any more; an empty stored block after it ends the piece on a byte. */
	o[final_bit / 8] &= (unsigned char)~(1u << (final_bit % 8));
	if (end_bit % 8)
		o[got - 1] &= (unsigned char)((1u << (end_bit % 8)) - 1);
	size_t at = (end_bit + 3 + 7) / 8; /* three zero bits of header (BFINAL 0, BTYPE 00), then the boundary */
	memset(o + got, 0, at - got);
	memcpy(o + at, "\0\0\xff\xff", 4);
	*out_len = at + 4;
	unsigned char *fit = realloc(o, *out_len);
	*out = fit ? fit : o;
	return 0;
}
