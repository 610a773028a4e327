/* section: a producer's immutable piece of /metrics (per family of its kind: lines and their gzip pieces), bodies */
#include "metrics/section.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * zlib's level for the family headers (compressed once per process) and for the sections built line by line (the
 * inventory, users, process and self-metrics: small, rendered seldom): level 6 as the whole self-metrics were
 * before, for a gzip of the same size. Bulk renderers (metrics/render) bring their own compressor.
 */
#define SMALL_LEVEL 6

/*
 * Lines are cut into segments of about this size, each compressed on its own (a sync-flushed raw deflate stream)
 * as soon as it is full, so that a rendering thread compresses its own text while it is still in cache. The cost
 * of starting a new stream every MiB is a few hundred bytes of output per segment.
 */
#define SEGMENT_BYTES ((size_t)1 << 20)
#define SEGMENT_SLACK ((size_t)16 << 10)

struct metrics_kind_headers {
	size_t n;
	struct metrics_segment seg[];
};

static void segment_free(struct metrics_segment *seg)
{
	if (!seg)
		return;
	buf_deinit(&seg->text);
	free(seg->deflated);
	free(seg);
}

static void headers_free(struct metrics_kind_headers *h, size_t n)
{
	for (size_t f = 0; f < n; f++) {
		buf_deinit(&h->seg[f].text);
		free(h->seg[f].deflated);
	}
	free(h);
}

/* Every family's header of kind, written and compressed: NULL without memory. */
static struct metrics_kind_headers *headers_new(const struct metrics_kind *kind)
{
	struct metrics_kind_headers *h = calloc(1, sizeof(*h) + kind->n_families * sizeof(h->seg[0]));
	size_t f;

	if (!h)
		return NULL;
	h->n = kind->n_families;
	for (f = 0; f < kind->n_families; f++) {
		struct metrics_segment *seg = &h->seg[f];
		if (exposition_header(&seg->text, &kind->families[f]) < 0 ||
			deflate_join_zlib(seg->text.data, seg->text.len, SMALL_LEVEL, DEFLATE_JOIN_OPEN, &seg->deflated,
				&seg->deflated_len) < 0)
			break;
		seg->crc = deflate_join_crc32(0, seg->text.data, seg->text.len);
	}
	if (f < kind->n_families) {
		headers_free(h, f + 1);
		return NULL;
	}
	return h;
}

const struct metrics_segment *metrics_kind_header(struct metrics_kind *kind, size_t family)
{
	struct metrics_kind_headers *h = atomic_load(&kind->headers), *none = NULL;

	if (!h) {
		/* Two threads may make them at once: the first to store its own wins, the other's go. */
		h = headers_new(kind);
		if (!h)
			return NULL;
		if (!atomic_compare_exchange_strong(&kind->headers, &none, h)) {
			headers_free(h, h->n);
			h = none;
		}
	}
	return family < h->n ? &h->seg[family] : NULL;
}

int metrics_section_new(struct metrics_section **out, struct metrics_kind *kind)
{
	struct metrics_section *sec;

	*out = NULL;
	if (!kind || !kind->n_families)
		return -EINVAL;
	if (!metrics_kind_header(kind, 0))
		return -ENOMEM;
	sec = calloc(1, sizeof(*sec) + kind->n_families * sizeof(sec->part[0]));
	if (!sec)
		return -ENOMEM;
	atomic_init(&sec->refs, 1);
	sec->kind = kind;
	*out = sec;
	return 0;
}

void metrics_section_ref(struct metrics_section *sec)
{
	atomic_fetch_add(&sec->refs, 1);
}

void metrics_section_unref(struct metrics_section *sec)
{
	if (!sec || atomic_fetch_sub(&sec->refs, 1) != 1)
		return;
	for (size_t f = 0; f < sec->kind->n_families; f++)
		metrics_part_deinit(&sec->part[f]);
	free(sec);
}

/* The segment's CRC-32 and piece, with the compressor *dj (made on first use), or zlib's one-shot without dj. */
static int segment_compress(struct metrics_segment *seg, struct deflate_join **dj)
{
	seg->crc = deflate_join_crc32(0, seg->text.data, seg->text.len);
	if (!dj)
		return deflate_join_zlib(seg->text.data, seg->text.len, SMALL_LEVEL, DEFLATE_JOIN_OPEN, &seg->deflated,
			&seg->deflated_len);
	if (!*dj) {
		int r = deflate_join_new(dj, DEFLATE_JOIN_AUTO);
		if (r < 0)
			return r;
	}
	return deflate_join_compress(*dj, seg->text.data, seg->text.len, &seg->deflated, &seg->deflated_len);
}

int metrics_part_seal(struct metrics_part *p, struct deflate_join **dj)
{
	if (!p->open)
		return 0;
	struct metrics_segment *seg = p->seg[p->n_seg - 1];
	p->open = false;
	if (seg->text.len == 0) {
		/* Nothing was written after all: no piece, and no header for a family without lines. */
		segment_free(seg);
		p->n_seg--;
		return 0;
	}
	if (seg->text.cap > seg->text.len + 1) {
		/* Trimmed to the text and its NUL (struct buf keeps room for one): a sealed segment never grows. */
		char *fit = realloc(seg->text.data, seg->text.len + 1);
		if (fit) {
			seg->text.data = fit;
			seg->text.cap = seg->text.len + 1;
		}
	}
	return segment_compress(seg, dj);
}

struct buf *metrics_part_lines(struct metrics_part *p, struct deflate_join **dj)
{
	if (p->open) {
		struct buf *open = &p->seg[p->n_seg - 1]->text;
		if (open->len < SEGMENT_BYTES)
			return open;
		if (metrics_part_seal(p, dj) < 0)
			return NULL;
	}
	if (p->n_seg == p->cap_seg) {
		size_t cap = p->cap_seg ? p->cap_seg * 2 : 4;
		struct metrics_segment **grown = realloc(p->seg, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		p->seg = grown;
		p->cap_seg = cap;
	}
	struct metrics_segment *seg = calloc(1, sizeof(*seg));
	if (!seg)
		return NULL;
	/*
	 * After a full segment, the next is likely full too: room for all of it at once, instead of growing by
	 * doubling (copies). A family's first segment grows from small, so small sections stay small.
	 */
	if (p->n_seg > 0 && buf_reserve(&seg->text, SEGMENT_BYTES + SEGMENT_SLACK) < 0) {
		free(seg);
		return NULL;
	}
	p->seg[p->n_seg++] = seg;
	p->open = true;
	return &seg->text;
}

void metrics_part_deinit(struct metrics_part *p)
{
	for (size_t i = 0; i < p->n_seg; i++)
		segment_free(p->seg[i]);
	free(p->seg);
	memset(p, 0, sizeof(*p));
}

struct buf *metrics_section_lines(struct metrics_section *sec, size_t family)
{
	if (family >= sec->kind->n_families)
		return NULL;
	return metrics_part_lines(&sec->part[family], NULL);
}

int metrics_section_finish(struct metrics_section *sec, int r, struct metrics_section **out)
{
	*out = NULL;
	if (r == 0)
		r = metrics_section_seal(sec);
	if (r < 0) {
		metrics_section_unref(sec);
		return r;
	}
	*out = sec;
	return 0;
}

int metrics_section_series(
	struct metrics_section *sec, size_t family, const char *const *labels, size_t n_labels, const char *value)
{
	struct buf *b = metrics_section_lines(sec, family);

	return b ? exposition_series(b, sec->kind->families[family].name, labels, n_labels, value) : -ENOMEM;
}

int metrics_section_series_int(
	struct metrics_section *sec, size_t family, const char *const *labels, size_t n_labels, int64_t v)
{
	char text[EXPOSITION_NUMBER_SIZE];

	exposition_int(text, sizeof(text), v);
	return metrics_section_series(sec, family, labels, n_labels, text);
}

int metrics_section_series_double(
	struct metrics_section *sec, size_t family, const char *const *labels, size_t n_labels, double v)
{
	char text[EXPOSITION_NUMBER_SIZE];

	exposition_double(text, sizeof(text), v);
	return metrics_section_series(sec, family, labels, n_labels, text);
}

int metrics_section_state_set(struct metrics_section *sec, size_t family, const char **labels, size_t n_labels,
	const char *const *known, size_t n_known, const char *current)
{
	bool found = false;

	for (size_t k = 0; k < n_known; k++) {
		bool on = current && strcmp(current, known[k]) == 0;

		found |= on;
		labels[2 * n_labels - 1] = known[k];
		if (metrics_section_series(sec, family, labels, n_labels, on ? "1" : "0") < 0)
			return -ENOMEM;
	}
	if (current && !found) {
		labels[2 * n_labels - 1] = current;
		if (metrics_section_series(sec, family, labels, n_labels, "1") < 0)
			return -ENOMEM;
	}
	return 0;
}

int metrics_section_seal(struct metrics_section *sec)
{
	int r = 0;

	for (size_t f = 0; f < sec->kind->n_families && r == 0; f++)
		r = metrics_part_seal(&sec->part[f], NULL);
	sec->sealed = r == 0;
	return r;
}

void metrics_body_ref(struct metrics_body *body)
{
	atomic_fetch_add(&body->refs, 1);
}

void metrics_body_unref(struct metrics_body *body)
{
	if (!body || atomic_fetch_sub(&body->refs, 1) != 1)
		return;
	for (size_t i = 0; i < body->n_sections; i++)
		metrics_section_unref(body->sections[i]);
	free(body->sections);
	free(body->plain);
	free(body);
}

/* Appends seg's text and piece to body, its CRC-32 combined (no copy, no compression). */
static void body_add(struct metrics_body *body, const struct metrics_segment *seg)
{
	body->plain[body->n_plain++] = (struct iovec){(void *)(uintptr_t)seg->text.data, seg->text.len};
	body->deflated[body->n_deflated++] = (struct iovec){seg->deflated, seg->deflated_len};
	body->crc = deflate_join_crc32_combine(body->crc, seg->crc, seg->text.len);
	body->text_len += seg->text.len;
	body->deflated_len += seg->deflated_len;
}

int metrics_body_new(
	struct metrics_body **out, struct metrics_kind *kind, struct metrics_section *const *secs, size_t n)
{
	struct metrics_body *body;
	size_t max_pieces = kind->n_families;

	*out = NULL;
	for (size_t i = 0; i < n; i++)
		for (size_t f = 0; secs[i] && f < kind->n_families; f++)
			max_pieces += secs[i]->part[f].n_seg;
	body = calloc(1, sizeof(*body));
	if (!body)
		return -ENOMEM;
	atomic_init(&body->refs, 1);
	body->sections = calloc(n ? n : 1, sizeof(*body->sections));
	body->plain = calloc(2 * max_pieces, sizeof(*body->plain));
	if (!body->sections || !body->plain) {
		metrics_body_unref(body);
		return -ENOMEM;
	}
	body->deflated = body->plain + max_pieces;
	for (size_t i = 0; i < n; i++) {
		if (!secs[i])
			continue;
		metrics_section_ref(secs[i]);
		body->sections[body->n_sections++] = secs[i];
	}
	for (size_t f = 0; f < kind->n_families; f++) {
		bool header = false;
		for (size_t i = 0; i < body->n_sections; i++) {
			const struct metrics_part *p = &body->sections[i]->part[f];
			if (!p->n_seg)
				continue;
			if (!header) {
				/* made with the sections (metrics_section_new()): there already */
				const struct metrics_segment *h = metrics_kind_header(kind, f);
				if (!h) {
					metrics_body_unref(body);
					return -ENOMEM;
				}
				body_add(body, h);
				header = true;
			}
			for (size_t k = 0; k < p->n_seg; k++)
				body_add(body, p->seg[k]);
		}
	}
	*out = body;
	return 0;
}

int metrics_body_text(const struct metrics_body *body, struct buf *out)
{
	for (size_t i = 0; i < body->n_plain; i++)
		if (buf_append(out, body->plain[i].iov_base, body->plain[i].iov_len) < 0)
			return -ENOMEM;
	return 0;
}
