/* test-section: sections built and sealed, segments cut when full, bodies per family in table order, kind headers */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "metrics/section.h"
#include "test.h"

static const struct exposition_family families[] = {
	{"fam_a", EXPOSITION_GAUGE, "A."},
	{"fam_b_total", EXPOSITION_COUNTER, "B."},
	{"fam_c", EXPOSITION_GAUGE, "C."},
	{"fam_d", EXPOSITION_GAUGE, "D."},
};
static struct metrics_kind kind = {.rank = METRICS_RANK_USAGE, .families = families, .n_families = 4};

/* Inflates a piece closed by an empty final block: it must be text, whose CRC-32 is crc. */
static void check_piece(const unsigned char *piece, size_t piece_len, const char *text, size_t len, uint32_t crc)
{
	unsigned char *stream = malloc(piece_len + 2), *out = malloc(len + 1);
	z_stream z = {0};

	CHECK(stream && out);
	if (!stream || !out) {
		free(stream);
		free(out);
		return;
	}
	memcpy(stream, piece, piece_len);
	memcpy(stream + piece_len, "\x03\x00", 2);
	CHECK(inflateInit2(&z, -15) == Z_OK);
	z.next_in = stream;
	z.avail_in = (uInt)(piece_len + 2);
	z.next_out = out;
	z.avail_out = (uInt)(len + 1);
	CHECK_INT(inflate(&z, Z_FINISH), Z_STREAM_END);
	CHECK(z.total_out == len && memcmp(out, text, len) == 0);
	CHECK(crc == (uint32_t)crc32(0, (const unsigned char *)text, (uInt)len));
	inflateEnd(&z);
	free(stream);
	free(out);
}

static void line(struct metrics_section *sec, size_t f, const char *value)
{
	CHECK_INT(exposition_series(metrics_section_lines(sec, f), families[f].name, NULL, 0, value), 0);
}

/*
 * Two sections share families: the body holds each family once, in table order, with every section's lines in
 * the order given; a family without lines (d: asked for, nothing written) has no header; NULL sections are
 * skipped; the pieces (deflate, CRC-32) add up to the text.
 */
static void test_body(void)
{
	struct metrics_section *one = NULL, *two = NULL, *three = NULL;
	struct metrics_body *body = NULL;
	struct buf text = {0}, joined = {0};

	CHECK_INT(metrics_section_new(&one, &kind), 0);
	CHECK_INT(metrics_section_new(&two, &kind), 0);
	CHECK_INT(metrics_section_new(&three, &kind), 0);
	if (!one || !two || !three)
		return;
	line(one, 2, "1");
	line(one, 0, "2");
	line(two, 1, "3");
	line(two, 0, "4");
	line(two, 0, "5");
	CHECK(metrics_section_lines(three, 3) != NULL);
	CHECK(!one->sealed);
	CHECK_INT(metrics_section_seal(one), 0);
	CHECK_INT(metrics_section_seal(two), 0);
	CHECK_INT(metrics_section_seal(three), 0);
	CHECK(one->sealed && two->sealed && three->sealed);
	CHECK_INT(three->part[3].n_seg, 0);
	CHECK(metrics_section_lines(one, 4) == NULL); /* not a family of the kind */

	struct metrics_section *const secs[] = {one, NULL, two, three};
	CHECK_INT(metrics_body_new(&body, &kind, secs, 4), 0);
	metrics_section_unref(one);
	metrics_section_unref(two);
	metrics_section_unref(three);
	if (!body)
		return;
	CHECK_INT(body->n_sections, 3);
	CHECK_INT(metrics_body_text(body, &text), 0);
	CHECK_INT(buf_putc(&text, '\0'), 0);
	CHECK_STR(text.data, "# HELP fam_a A.\n# TYPE fam_a gauge\nfam_a 2\nfam_a 4\nfam_a 5\n"
			     "# HELP fam_b_total B.\n# TYPE fam_b_total counter\nfam_b_total 3\n"
			     "# HELP fam_c C.\n# TYPE fam_c gauge\nfam_c 1\n");
	CHECK_INT(body->text_len, text.len - 1);
	CHECK(body->crc == (uint32_t)crc32(0, (const unsigned char *)text.data, (uInt)(text.len - 1)));
	CHECK_INT(body->n_plain, 7); /* 3 headers, 4 parts */
	for (size_t i = 0; i < body->n_deflated; i++) {
		CHECK_INT(buf_append(&joined, body->deflated[i].iov_base, body->deflated[i].iov_len), 0);
		check_piece(body->deflated[i].iov_base, body->deflated[i].iov_len, body->plain[i].iov_base,
			body->plain[i].iov_len,
			(uint32_t)crc32(0, body->plain[i].iov_base, (uInt)body->plain[i].iov_len));
	}
	/* the pieces one after the other are one stream of the whole text */
	check_piece((const unsigned char *)joined.data, joined.len, text.data, text.len - 1, body->crc);
	metrics_body_unref(body);
	buf_deinit(&text);
	buf_deinit(&joined);
}

/* A family's lines are cut into segments of about 1 MiB (whole lines), each its own piece. */
static void test_segments(void)
{
	struct metrics_section *sec = NULL;
	struct buf want = {0}, got = {0};
	char value[32];

	CHECK_INT(metrics_section_new(&sec, &kind), 0);
	if (!sec)
		return;
	for (int i = 0; i < 300000; i++) {
		snprintf(value, sizeof(value), "%d", i);
		line(sec, 1, value);
		CHECK_INT(exposition_series(&want, families[1].name, NULL, 0, value), 0);
	}
	CHECK_INT(metrics_section_seal(sec), 0);
	const struct metrics_part *p = &sec->part[1];
	CHECK_MSG(p->n_seg >= 3, "%zu segments for %zu bytes", p->n_seg, want.len);
	for (size_t i = 0; i < p->n_seg; i++) {
		const struct metrics_segment *seg = p->seg[i];
		CHECK(seg->text.len <= ((size_t)1 << 20) + 64);
		CHECK(seg->text.len > 0 && seg->text.data[seg->text.len - 1] == '\n');
		check_piece(seg->deflated, seg->deflated_len, seg->text.data, seg->text.len, seg->crc);
		CHECK_INT(buf_append(&got, seg->text.data, seg->text.len), 0);
	}
	CHECK(got.len == want.len && memcmp(got.data, want.data, want.len) == 0);
	metrics_section_unref(sec);
	buf_deinit(&want);
	buf_deinit(&got);
}

/* Each family's header: made once per kind, HELP and TYPE, its piece and CRC-32. */
static void test_headers(void)
{
	const struct metrics_segment *h = metrics_kind_header(&kind, 1);

	CHECK(h != NULL);
	if (!h)
		return;
	CHECK(h == metrics_kind_header(&kind, 1));
	CHECK_STR(h->text.data, "# HELP fam_b_total B.\n# TYPE fam_b_total counter\n");
	check_piece(h->deflated, h->deflated_len, h->text.data, h->text.len, h->crc);
	CHECK(metrics_kind_header(&kind, 4) == NULL);
}

int main(void)
{
	test_body();
	test_segments();
	test_headers();
	TEST_DONE();
}
