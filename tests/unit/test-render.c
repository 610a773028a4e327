/* test-render: snapshots (text and pieces alike whatever the threads), family headers, values as the format spells them
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "metrics/deflate_join.h"
#include "metrics/render.h"
#include "test.h"

/* Inflates the pieces of a part, closed by an empty final block, and checks they are its text and CRC-32. */
static void check_part(const struct metrics_part *p, struct buf *text_out)
{
	for (size_t i = 0; i < p->n_seg; i++) {
		const struct metrics_segment *seg = p->seg[i];
		unsigned char *stream = malloc(seg->deflated_len + 2), *out = malloc(seg->text.len + 1);
		memcpy(stream, seg->deflated, seg->deflated_len);
		memcpy(stream + seg->deflated_len, "\x03\x00", 2);
		z_stream z = {0};
		CHECK(inflateInit2(&z, -15) == Z_OK);
		z.next_in = stream;
		z.avail_in = (uInt)(seg->deflated_len + 2);
		z.next_out = out;
		z.avail_out = (uInt)(seg->text.len + 1);
		CHECK_INT(inflate(&z, Z_FINISH), Z_STREAM_END);
		CHECK(z.total_out == seg->text.len && memcmp(out, seg->text.data, seg->text.len) == 0);
		CHECK(seg->crc == (uint32_t)crc32(0, (const unsigned char *)seg->text.data, (uInt)seg->text.len));
		inflateEnd(&z);
		CHECK_INT(buf_append(text_out, seg->text.data, seg->text.len), 0);
		free(stream);
		free(out);
	}
}

static struct usage_table *make_table(size_t n)
{
	enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_JOB_ID};
	struct usage_table *t = NULL;

	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	for (size_t i = 0; i < n; i++) {
		char q[64], j[64], name[64];
		struct usage_row row = {0};
		snprintf(q, sizeof(q), "queue-%032zx", i % 5);
		snprintf(j, sizeof(j), "job-%032zx", i * 31);
		snprintf(name, sizeof(name), "shot \"%zu\"\n", i);
		row.fields[GROUP_QUEUE_ID] = q;
		row.fields[GROUP_JOB_ID] = j;
		row.job_name = name;
		row.count = (int64_t)(i % 13);
		row.cost.present = row.runtime.present = STAT_ALL;
		row.cost.sum = (double)i * 0.01;
		row.cost.avg = row.cost.min = row.cost.max = 0.01;
		row.runtime.sum = (double)i * 3.5;
		row.runtime.avg = row.runtime.min = row.runtime.max = 3.5;
		CHECK_INT(usage_table_add(t, &row), 0);
	}
	return t;
}

/* 1, 2 and 4 threads: the same text per family, each segment's piece inflating to its text. */
static void test_snapshot_threads(void)
{
	struct report_config r = {.name = (char *)"jobs", .n_group_by = 2, .statistics = STAT_ALL};
	struct usage_table *t = make_table(9001);
	struct buf first[METRICS_FAMILY_COUNT] = {{0}};
	static const size_t threads[] = {1, 2, 4};

	r.group_by[0] = GROUP_QUEUE_ID;
	r.group_by[1] = GROUP_JOB_ID;
	for (size_t k = 0; k < sizeof(threads) / sizeof(threads[0]); k++) {
		struct metrics_snapshot *snap = NULL;
		metrics_render_threads(threads[k]);
		CHECK_INT(metrics_snapshot_new(&snap, "farm-1", &r, t, 1761955200, 1764115200), 0);
		if (!snap)
			continue;
		for (size_t f = 0; f < METRICS_FAMILY_COUNT; f++) {
			struct buf text = {0};
			check_part(&snap->part[f], &text);
			CHECK(text.len > 0);
			if (k == 0)
				first[f] = text;
			else {
				CHECK_MSG(text.len == first[f].len && memcmp(text.data, first[f].data, text.len) == 0,
					"%zu threads: family %zu differs", threads[k], f);
				buf_deinit(&text);
			}
		}
		metrics_snapshot_unref(snap);
	}
	metrics_render_threads(0);
	CHECK(strncmp(first[METRICS_FAMILY_SESSIONS].data,
		      "deadline_cloud_usage_sessions{farm_id=\"farm-1\",report=\"jobs\",queue_id=\"queue-", 76) == 0);
	for (size_t f = 0; f < METRICS_FAMILY_COUNT; f++)
		buf_deinit(&first[f]);
	usage_table_free(t);
}

/* Each family's header: HELP and TYPE lines, its piece inflating to them, its CRC-32. */
static void test_family_headers(void)
{
	for (size_t f = 0; f < METRICS_FAMILY_COUNT; f++) {
		const struct metrics_family_header *h = metrics_family_header((enum metrics_family)f);
		CHECK(h->len == strlen(h->text) && strncmp(h->text, "# HELP deadline_cloud_usage_", 28) == 0);
		CHECK(strstr(h->text, " gauge\n") == h->text + h->len - 7);
		CHECK(h->crc == (uint32_t)crc32(0, (const unsigned char *)h->text, (uInt)h->len));
		struct metrics_segment seg = {.text = {.data = (char *)h->text, .len = h->len},
			.deflated = (unsigned char *)h->deflated,
			.deflated_len = h->deflated_len,
			.crc = h->crc};
		struct metrics_segment *segs[1] = {&seg};
		struct metrics_part p = {.seg = segs, .n_seg = 1};
		struct buf text = {0};
		check_part(&p, &text);
		buf_deinit(&text);
	}
}

static void test_format_double(void)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {{0, "0"}, {1.5, "1.5"}, {0.1, "0.1"}, {-2, "-2"}, {1e300, "1e+300"}};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = metrics_format_double(out, sizeof(out), cases[i].v);
		CHECK_MSG(n == strlen(cases[i].want) && strcmp(out, cases[i].want) == 0, "%g: %s", cases[i].v, out);
	}
	CHECK(metrics_format_double(out, sizeof(out), NAN) == 3 && strcmp(out, "NaN") == 0);
	CHECK(metrics_format_double(out, sizeof(out), INFINITY) == 4 && strcmp(out, "+Inf") == 0);
	CHECK(metrics_format_double(out, sizeof(out), -INFINITY) == 4 && strcmp(out, "-Inf") == 0);
}

int main(void)
{
	test_snapshot_threads();
	test_family_headers();
	test_format_double();
	TEST_DONE();
}
