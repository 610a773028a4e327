/* fuzz-render: rows from the input -> usage tables -> metrics store -> scrapes; the text must pass expfmt_check */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "config/config.h"
#include "expfmt_check.h"
#include "util/log.h"
#include "metrics/inventory.h"
#include "metrics/store.h"
#include "metrics/usage.h"

#include "fuzz.h"

#define MAX_ROWS 32
#define LONG_STRING 3000 /* a length byte of 0xff asks for a string this long (the first two times) */

struct reader {
	const uint8_t *p;
	size_t n;
	unsigned long_strings;
};

static unsigned take_u8(struct reader *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static void take_raw(struct reader *r, void *out, size_t n)
{
	memset(out, 0, n);
	if (n > r->n)
		n = r->n;
	memcpy(out, r->p, n);
	r->p += n;
	r->n -= n;
}

/* A length-prefixed string (NULs in it end it early, as in any C string). */
static char *take_string(struct reader *r)
{
	unsigned len = take_u8(r);
	char *s;

	if (len == 0xff && r->long_strings < 2) {
		r->long_strings++;
		unsigned fill = take_u8(r);
		s = malloc(LONG_STRING + 1);
		FUZZ_ASSERT(s != NULL);
		memset(s, fill ? (int)fill : 'x', LONG_STRING);
		s[LONG_STRING] = '\0';
		return s;
	}
	len %= 48;
	s = calloc(1, len + 1);
	FUZZ_ASSERT(s != NULL);
	take_raw(r, s, len);
	return s;
}

static double take_double(struct reader *r)
{
	static const double specials[] = {0.0, -0.0, 1.0, -1.0, 0.1, 1e-300, DBL_MIN, DBL_TRUE_MIN, DBL_MAX, -DBL_MAX,
		1e21, 123456789.125, 9007199254740993.0};
	unsigned sel = take_u8(r);
	double v;

	if (sel < sizeof(specials) / sizeof(specials[0]))
		return specials[sel];
	if (sel == 0x40)
		return NAN;
	if (sel == 0x41)
		return -NAN;
	if (sel == 0x42)
		return INFINITY;
	if (sel == 0x43)
		return -INFINITY;
	if (sel < 0x80)
		return (double)sel;
	take_raw(r, &v, sizeof(v));
	return v;
}

static int64_t take_count(struct reader *r)
{
	unsigned sel = take_u8(r);
	int64_t v;

	switch (sel) {
	case 0xf0:
		return INT64_MAX;
	case 0xf1:
		return INT64_MIN;
	case 0xf2:
		return -1;
	case 0xf3:
		take_raw(r, &v, sizeof(v));
		return v;
	default:
		return sel;
	}
}

static void take_stats(struct reader *r, struct usage_stats *st, unsigned present)
{
	st->present = present & STAT_ALL;
	st->sum = take_double(r);
	st->min = take_double(r);
	st->max = take_double(r);
	st->avg = take_double(r);
}

static void take_report(struct reader *r, struct report_config *rep, const char *name)
{
	unsigned b = take_u8(r), s = take_u8(r);

	memset(rep, 0, sizeof(*rep));
	rep->name = (char *)name;
	rep->n_group_by = 1 + (b & 1);
	rep->group_by[0] = (enum group_field)((b >> 1) % GROUP_FIELD_COUNT);
	/* two different fields, as the configuration allows */
	rep->group_by[1] =
		(enum group_field)((rep->group_by[0] + 1 + (b >> 4) % (GROUP_FIELD_COUNT - 1)) % GROUP_FIELD_COUNT);
	rep->statistics = s & STAT_ALL ? s & STAT_ALL : STAT_SUM;
	rep->limit = (s >> 4) & 3; /* 0: every group; else the top 1 to 3 and __other__ */
	rep->interval_seconds = 300;
	rep->resources = REPORT_RESOURCES_QUEUES;
}

/* The scrape's pieces in one buffer. */
static unsigned char *scrape_join(struct metrics_store *store, bool gzip, size_t *len)
{
	struct metrics_scrape sc;
	unsigned char *out;
	size_t at = 0;

	FUZZ_ASSERT(metrics_store_scrape(store, gzip, &sc) == 0);
	out = malloc(sc.total_len ? sc.total_len : 1);
	FUZZ_ASSERT(out != NULL);
	for (unsigned i = 0; i < sc.n_iov; i++) {
		memcpy(out + at, sc.iov[i].iov_base, sc.iov[i].iov_len);
		at += sc.iov[i].iov_len;
	}
	FUZZ_ASSERT(at == sc.total_len);
	metrics_scrape_release(&sc);
	*len = at;
	return out;
}

/* One gzip member whose content is exactly want[0..want_len), nothing after it. */
static void check_gzip(const unsigned char *gz, size_t gz_len, const unsigned char *want, size_t want_len)
{
	z_stream zs;
	unsigned char *out = malloc(want_len + 64);
	int zr;

	FUZZ_ASSERT(out != NULL);
	memset(&zs, 0, sizeof(zs));
	FUZZ_ASSERT(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)gz;
	zs.avail_in = (uInt)gz_len;
	zs.next_out = out;
	zs.avail_out = (uInt)(want_len + 64);
	zr = inflate(&zs, Z_FINISH);
	if (zr != Z_STREAM_END || zs.avail_in != 0 || zs.total_out != want_len || memcmp(out, want, want_len) != 0) {
		fprintf(stderr, "gzip scrape: inflate %d (%s), %u bytes left, %lu bytes out, %zu expected\n", zr,
			zs.msg ? zs.msg : "-", zs.avail_in, zs.total_out, want_len);
		abort();
	}
	inflateEnd(&zs);
	free(out);
}

static size_t count_prefix_lines(const char *text, size_t len, const char *prefix)
{
	size_t n = 0, pl = strlen(prefix);

	for (const char *p = text; p < text + len;) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		if (!nl)
			break;
		if ((size_t)(nl - p) >= pl && memcmp(p, prefix, pl) == 0)
			n++;
		p = nl + 1;
	}
	return n;
}

/* Whether a sample of text has a label named name (the values skipped as the format escapes them). */
static bool has_label(const char *text, size_t len, const char *name)
{
	const char *end = text + len;

	for (const char *p = text; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		const char *c = *p == '#' ? NULL : memchr(p, '{', (size_t)(line_end - p));
		while (c && c < line_end && *c != '}') {
			const char *label = c + 1, *eq = memchr(label, '=', (size_t)(line_end - label));
			if (!eq)
				break;
			if ((size_t)(eq - label) == strlen(name) && memcmp(label, name, strlen(name)) == 0)
				return true;
			/* the quoted value: a backslash escapes the next byte */
			for (c = eq + 2; c < line_end && *c != '"'; c++)
				if (*c == '\\')
					c++;
			c++; /* at ',' or '}' */
		}
		p = line_end + 1;
	}
	return false;
}

/*
 * A farm's inventory section from the input (names and states as they come: the renderer escapes them; ids made
 * unique, as the API's are), put into the store under farm_id.
 */
static void put_inventory(struct metrics_store *store, struct reader *r, const char *farm_id)
{
	struct inventory *inv = NULL;
	struct metrics_section *sec = NULL;

	FUZZ_ASSERT(inventory_new(&inv, farm_id) == 0);
	inv->farm_name = take_string(r);
	inv->has_cost_scale_factor = take_u8(r) & 1;
	inv->cost_scale_factor = take_double(r);
	for (unsigned i = take_u8(r) % 4; i > 0; i--) {
		struct inventory_queue *q = inventory_add_queue(inv);
		struct inventory_fleet *f = inventory_add_fleet(inv);
		struct inventory_budget *b = inventory_add_budget(inv);
		char id[64];
		FUZZ_ASSERT(q && f && b);
		snprintf(id, sizeof(id), "queue-%032x", i);
		q->id = strdup(id);
		q->name = take_string(r);
		q->status = take_string(r);
		snprintf(id, sizeof(id), "fleet-%032x", i);
		f->id = strdup(id);
		f->name = take_string(r);
		f->status = take_string(r);
		f->has_workers = true;
		f->workers = take_count(r);
		snprintf(id, sizeof(id), "budget-%032x", i);
		b->id = strdup(id);
		b->name = take_string(r);
		b->status = take_string(r);
		b->has_usage = true;
		b->usage_usd = take_double(r);
	}
	const struct inventory_farm farm = {.farm_id = farm_id, .inv = inv, .up = true, .last_success = 1700000000};
	FUZZ_ASSERT(inventory_section_new(&sec, &farm) == 0);
	FUZZ_ASSERT(metrics_store_put(store, &inventory_kind, farm_id, sec) == 0);
	inventory_free(inv);
}

/* Groups a limited table shows: its top groups and __other__ (into which a kept group named __other__ merges). */
static void shown_groups(struct usage_table *t, unsigned limit, size_t *lo, size_t *hi)
{
	size_t n = usage_table_size(t);

	if (!limit || n <= limit) {
		*lo += n;
		*hi += n;
	} else {
		*lo += limit;
		*hi += (size_t)limit + 1;
	}
}

/* Both scrapes: the plain text conforms and holds lo to hi session samples; the gzip inflates to it. */
static void check_scrapes(struct metrics_store *store, size_t lo, size_t hi)
{
	unsigned char *text, *gz;
	size_t text_len, gz_len;
	char why[512];

	text = scrape_join(store, false, &text_len);
	if (expfmt_check((const char *)text, text_len, why, sizeof(why)) != 0) {
		fprintf(stderr, "exposition check failed: %s\n---- scrape (%zu bytes) ----\n%.*s\n----\n", why,
			text_len, (int)(text_len > 8192 ? 8192 : text_len), (const char *)text);
		abort();
	}
	size_t sessions = count_prefix_lines((const char *)text, text_len, "deadline_cloud_usage_sessions{");
	if (sessions < lo || sessions > hi) {
		fprintf(stderr, "%zu to %zu groups published, %zu session samples in the scrape\n", lo, hi, sessions);
		abort();
	}
	if (has_label((const char *)text, text_len, "statistic")) {
		fprintf(stderr, "a statistic label in the scrape\n");
		abort();
	}
	gz = scrape_join(store, true, &gz_len);
	check_gzip(gz, gz_len, text, text_len);
	free(gz);
	free(text);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LEVEL_ERROR);
	/* the plain and gzip scrapes compared must show the same process metrics, whenever a second ends */
	metrics_process_hold(true);
	/* and the self-metrics of every change (a fuzzed version and operations included), not once a second */
	metrics_self_interval(0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const operations[] = {
		"StartSessionsStatisticsAggregation", "GetSessionsStatisticsAggregation", "ListQueues", "ListFleets"};
	static char farm_a[] = "farm-0123456789abcdef0123456789abcdef";
	static char farm_b[] = "farm-fedcba9876543210fedcba9876543210";
	struct reader r = {data, size, 0};
	struct usage_row rows[MAX_ROWS];
	struct report_config reports[2];
	struct farm_config farms[2];
	struct config cfg;
	struct metrics_store *store = NULL;
	struct usage_table *tables[2][2] = {{NULL}};
	size_t n_rows = 0, n_farms, n_reports, lo = 0, hi = 0;
	unsigned flags;

	if (size > 64 * 1024)
		return 0;
	flags = take_u8(&r);
	n_farms = 1 + (flags & 1);
	n_reports = 1 + ((flags >> 1) & 1);
	take_report(&r, &reports[0], "cost_by_queue");
	take_report(&r, &reports[1], "by_user");
	memset(farms, 0, sizeof(farms));
	farms[0].id = farm_a;
	farms[1].id = farm_b;
	farms[0].all_queues = farms[1].all_queues = true;
	cfg = (struct config){.farms = farms, .n_farms = n_farms, .reports = reports, .n_reports = n_reports};

	memset(rows, 0, sizeof(rows));
	while (r.n && n_rows < MAX_ROWS) {
		struct usage_row *row = &rows[n_rows++];
		unsigned mask = take_u8(&r), present = take_u8(&r);
		for (size_t f = 0; f < GROUP_FIELD_COUNT; f++)
			if (mask & (1u << f))
				row->fields[f] = take_string(&r);
		if (mask & 0x80)
			row->job_name = take_string(&r);
		row->count = take_count(&r);
		take_stats(&r, &row->cost, present);
		take_stats(&r, &row->runtime, present >> 4);
	}

	FUZZ_ASSERT(metrics_store_new(&store, "0.1.0-fuzz \"\\\n\xff") == 0);
	FUZZ_ASSERT(metrics_store_set_reports(store, &cfg) == 0);
	FUZZ_ASSERT(!metrics_store_ready(store));
	for (size_t f = 0; f < n_farms; f++) {
		for (size_t k = 0; k < n_reports; k++) {
			/* farm f sees every row from f on: the two farms' figures differ */
			FUZZ_ASSERT(usage_table_new(&tables[f][k], reports[k].group_by, reports[k].n_group_by) == 0);
			for (size_t i = f; i < n_rows; i++)
				FUZZ_ASSERT(usage_table_add(tables[f][k], &rows[i]) == 0);
			FUZZ_ASSERT(metrics_store_publish(store, farms[f].id, &reports[k], tables[f][k], 1699000000,
					    1700000000, 1700000000, 0.25) == 0);
			shown_groups(tables[f][k], reports[k].limit, &lo, &hi);
		}
	}
	FUZZ_ASSERT(metrics_store_ready(store));
	for (size_t i = 0; i < 4 && r.n; i++)
		metrics_store_count_request(
			store, take_u8(&r) & 1 ? "-" : NULL, operations[take_u8(&r) % 4], (long)take_count(&r) * 7);
	if (flags & 4)
		metrics_store_fail(store, farms[0].id, reports[0].name, NAN);
	check_scrapes(store, lo, hi);

	/* the inventory of each farm, from what is left of the input: its families between the usage and self's */
	if (flags & 16) {
		FUZZ_ASSERT(
			metrics_store_declare(store, &inventory_kind, (const char *const[]){farm_a, farm_b}, 2) == 0);
		put_inventory(store, &r, farm_b);
		put_inventory(store, &r, farm_a);
		check_scrapes(store, lo, hi);
	}

	/* merging a table into a copy of itself doubles counts but keeps the groups */
	if (flags & 8) {
		struct usage_table *merged = NULL;
		FUZZ_ASSERT(usage_table_new(&merged, reports[0].group_by, reports[0].n_group_by) == 0);
		FUZZ_ASSERT(usage_table_merge(merged, tables[0][0]) == 0);
		FUZZ_ASSERT(usage_table_merge(merged, tables[0][0]) == 0);
		FUZZ_ASSERT(usage_table_size(merged) == usage_table_size(tables[0][0]));
		FUZZ_ASSERT(metrics_store_publish(store, farms[0].id, &reports[0], merged, 1699000000, 1700000001,
				    1700000001, 0.5) == 0);
		usage_table_free(merged);
		check_scrapes(store, lo, hi);
	}
	/* dropping the second farm or report takes its lines out */
	if (n_farms == 2 || n_reports == 2) {
		cfg.n_farms = 1;
		cfg.n_reports = 1;
		FUZZ_ASSERT(metrics_store_set_reports(store, &cfg) == 0);
		lo = hi = 0;
		shown_groups(tables[0][0], reports[0].limit, &lo, &hi);
		check_scrapes(store, lo, hi);
	}

	metrics_store_free(store);
	for (size_t f = 0; f < 2; f++)
		for (size_t k = 0; k < 2; k++)
			usage_table_free(tables[f][k]);
	for (size_t i = 0; i < n_rows; i++)
		usage_row_deinit(&rows[i]);
	return 0;
}
