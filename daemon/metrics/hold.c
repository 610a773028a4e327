/* hold: a counter report's figures never decrease within a window: each group's largest published, and its text form */
#include "metrics/hold.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/numfmt.h"

/* The first line of the text form: what it is and its version. */
#define HOLD_MAGIC "deadline-cloud-exporter counter state 1"
/* The most key values a group of the text form may have (a report's labels and kept fields fit well within). */
#define HOLD_WIDTH_MAX 16

/* A group restored from text, turned into a table at the first apply (when the table's key is known). */
struct hold_entry {
	char **values; /* width of them */
	char *job_name;
	int64_t count;
	double cost, runtime;
	bool has_cost, has_runtime;
};

struct usage_hold {
	bool have; /* figures published (or restored) */
	int64_t window_start;
	struct usage_table *table; /* the figures published; NULL when restored and not applied yet */
	struct hold_entry *pending; /* restored groups */
	size_t n_pending, cap_pending, width;
};

int usage_hold_new(struct usage_hold **out)
{
	if (!out)
		return -EINVAL;
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void entry_deinit(struct hold_entry *e, size_t width)
{
	for (size_t i = 0; e->values && i < width; i++)
		free(e->values[i]);
	free(e->values);
	free(e->job_name);
}

static void pending_clear(struct usage_hold *h)
{
	for (size_t i = 0; i < h->n_pending; i++)
		entry_deinit(&h->pending[i], h->width);
	free(h->pending);
	h->pending = NULL;
	h->n_pending = h->cap_pending = h->width = 0;
}

void usage_hold_free(struct usage_hold *h)
{
	if (!h)
		return;
	pending_clear(h);
	usage_table_free(h->table);
	free(h);
}

bool usage_hold_window(const struct usage_hold *h, int64_t *window_start)
{
	if (!h || !h->have)
		return false;
	if (window_start)
		*window_start = h->window_start;
	return true;
}

/* ---- finding a group of the held table by its key ---- */

struct index_slot {
	uint64_t hash;
	const struct usage_group *g; /* NULL: empty */
	bool seen; /* t has the group */
};

struct hold_index {
	struct index_slot *slots;
	size_t cap; /* a power of two, at least twice the groups */
	size_t width;
};

/* FNV-1a over each value and its NUL: values that differ in any byte or boundary hash apart (mostly). */
static uint64_t key_hash(const char *const *values, size_t width)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < width; i++) {
		const unsigned char *p = (const unsigned char *)values[i];
		do {
			h ^= *p;
			h *= UINT64_C(0x100000001b3);
		} while (*p++);
	}
	return h;
}

static bool key_same(const char *const *a, const char *const *b, size_t width)
{
	for (size_t i = 0; i < width; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static int index_build(struct hold_index *ix, struct usage_table *held, size_t width)
{
	const struct usage_group *const *groups;
	size_t n = usage_table_groups(held, &groups), cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	ix->slots = calloc(cap, sizeof(*ix->slots));
	if (!ix->slots)
		return -ENOMEM;
	ix->cap = cap;
	ix->width = width;
	for (size_t k = 0; k < n; k++) {
		uint64_t h = key_hash(groups[k]->values, width);
		size_t i = (size_t)h & (cap - 1);
		while (ix->slots[i].g)
			i = (i + 1) & (cap - 1);
		ix->slots[i] = (struct index_slot){.hash = h, .g = groups[k]};
	}
	return 0;
}

static struct index_slot *index_find(struct hold_index *ix, const char *const *values)
{
	uint64_t h = key_hash(values, ix->width);

	for (size_t i = (size_t)h & (ix->cap - 1); ix->slots[i].g; i = (i + 1) & (ix->cap - 1))
		if (ix->slots[i].hash == h && key_same(ix->slots[i].g->values, values, ix->width))
			return &ix->slots[i];
	return NULL;
}

/* ---- applying ---- */

/* A restored group as a group of one row that has only its sums (MIN/MAX/AVG were not kept). */
static struct usage_group entry_group(const struct hold_entry *e)
{
	struct usage_group g = {.job_name = e->job_name ? e->job_name : "", .count = e->count};

	g.cost = (struct usage_merged){.sum = e->cost, .min = INFINITY, .max = -INFINITY, .n_rows = 1};
	g.runtime = g.cost;
	g.runtime.sum = e->runtime;
	g.cost.present = e->has_cost ? STAT_SUM : 0;
	g.runtime.present = e->has_runtime ? STAT_SUM : 0;
	return g;
}

/*
 * The restored groups as a table keyed like t, or none when restored for another key width (then the counters
 * start from t, as without a state). Returns 0 or -ENOMEM.
 */
static int pending_table(struct usage_hold *h, const struct usage_table *t, struct usage_table **out)
{
	struct usage_table *p = NULL;
	int r;

	*out = NULL;
	if (h->width != usage_table_key_width(t))
		return 0;
	r = usage_table_new_like(&p, t);
	for (size_t i = 0; r == 0 && i < h->n_pending; i++) {
		struct usage_group g = entry_group(&h->pending[i]);
		r = usage_table_combine(p, &g, (const char *const *)h->pending[i].values, h->pending[i].job_name);
	}
	if (r < 0) {
		usage_table_free(p);
		return r;
	}
	/* Two restored groups of one key would add up: a text not written by usage_hold_write(); start afresh. */
	if (usage_table_size(p) != h->n_pending) {
		usage_table_free(p);
		return 0;
	}
	*out = p;
	return 0;
}

/* Whether a merged figure has a sum. */
static bool has_sum(const struct usage_merged *m)
{
	return (m->present & STAT_SUM) && m->n_rows > 0;
}

/* m's sum raised to p's when smaller (or absent); true when that kept p's by more than the noise. */
static bool sum_hold(struct usage_merged *m, const struct usage_merged *p)
{
	if (!has_sum(p))
		return false;
	if (!has_sum(m)) {
		m->sum = p->sum;
		m->present |= STAT_SUM;
		if (m->n_rows == 0)
			m->n_rows = 1;
		return true;
	}
	if (!(m->sum < p->sum))
		return false;
	bool counted = p->sum - m->sum > USAGE_HOLD_NOISE * fabs(p->sum);
	m->sum = p->sum;
	return counted;
}

/* Whether any figure of g is not 0: something for a counter to drop from, or to hold. */
static bool group_nonzero(const struct usage_group *g)
{
	return g->count != 0 || (has_sum(&g->cost) && g->cost.sum != 0) ||
	       (has_sum(&g->runtime) && g->runtime.sum != 0);
}

/* g with every counter's figure at 0 (a group of one row with sums only: no MIN/MAX/AVG shown). */
static struct usage_group group_zero(const struct usage_group *g)
{
	struct usage_group z = {.job_name = g->job_name};

	z.cost = (struct usage_merged){.min = INFINITY, .max = -INFINITY, .n_rows = 1, .present = STAT_SUM};
	z.runtime = z.cost;
	return z;
}

/* g's figures at least p's, figure by figure; true when one was kept from p (beyond the noise). */
static bool group_hold(struct usage_group *g, const struct usage_group *p)
{
	bool kept = sum_hold(&g->cost, &p->cost);

	kept |= sum_hold(&g->runtime, &p->runtime);
	if (g->count < p->count) {
		g->count = p->count;
		kept = true;
	}
	return kept;
}

/*
 * The groups of t into o: each figure at least the held one, a group not held yet at 0 (its figures come with the
 * next refresh, once Prometheus has a sample of it at 0); then the held groups t lacks, as they were.
 */
static int hold_groups(
	struct usage_table *o, struct usage_table *t, struct usage_table *held, struct usage_hold_stats *st)
{
	struct hold_index ix = {0};
	const struct usage_group *const *groups;
	size_t n = usage_table_groups(t, &groups);
	int r = index_build(&ix, held, usage_table_key_width(t));

	for (size_t k = 0; r == 0 && k < n; k++) {
		struct usage_group g = *groups[k];
		struct index_slot *s = index_find(&ix, groups[k]->values);
		if (s) {
			st->held += group_hold(&g, s->g);
			s->seen = true;
		} else {
			g = group_zero(groups[k]);
			st->new_at_zero++;
		}
		/* A job name the refresh lacks is the one published before. */
		const char *job_name = groups[k]->job_name;
		if (!job_name[0] && s)
			job_name = s->g->job_name;
		r = usage_table_combine(o, &g, groups[k]->values, job_name);
	}
	for (size_t i = 0; r == 0 && i < ix.cap; i++) {
		if (!ix.slots[i].g || ix.slots[i].seen)
			continue;
		r = usage_table_combine(o, ix.slots[i].g, ix.slots[i].g->values, ix.slots[i].g->job_name);
		/* a group kept at 0 (since the window began) holds nothing */
		st->held += group_nonzero(ix.slots[i].g);
	}
	free(ix.slots);
	return r;
}

/*
 * The table h held (restored groups turned into one keyed like t), in *prev: NULL when h holds nothing usable
 * (*restored: a table made here, for the caller to free). Returns 0, -EINVAL (held with another key width) or
 * -ENOMEM.
 */
static int held_table(
	struct usage_hold *h, const struct usage_table *t, struct usage_table **prev, struct usage_table **restored)
{
	int r;

	*prev = h->have ? h->table : NULL;
	*restored = NULL;
	if (h->have && !h->table) {
		r = h->n_pending ? pending_table(h, t, restored) : usage_table_new_like(restored, t);
		if (r < 0)
			return r;
		*prev = *restored;
	}
	if (*prev && usage_table_key_width(*prev) != usage_table_key_width(t)) {
		usage_table_free(*restored);
		*restored = NULL;
		return -EINVAL;
	}
	return 0;
}

/* h now holds o, of the window starting at window_start. */
static void hold_take(struct usage_hold *h, struct usage_table *o, int64_t window_start)
{
	usage_table_free(h->table);
	pending_clear(h);
	h->table = o;
	h->window_start = window_start;
	h->have = true;
}

int usage_hold_apply(struct usage_hold *h, const struct usage_table *t, int64_t window_start, struct usage_table **out,
	struct usage_hold_stats *stats)
{
	struct usage_table *restored = NULL, *o = NULL, *prev;
	struct usage_hold_stats st = {0};
	int r;

	if (!h || !t || !out)
		return -EINVAL;
	r = held_table(h, t, &prev, &restored);
	if (r < 0)
		return r;
	r = usage_table_new_like(&o, t);
	if (r < 0)
		goto out;
	/* t is only sorted by the merge (its figures are the caller's). */
	if (prev && h->window_start == window_start)
		r = hold_groups(o, (struct usage_table *)t, prev, &st);
	else
		r = usage_table_merge(o, t);
	if (r < 0)
		goto out;
	hold_take(h, o, window_start);
	*out = o;
	o = NULL;
	if (stats)
		*stats = st;
out:
	usage_table_free(o);
	usage_table_free(restored);
	return r;
}

int usage_hold_reset(struct usage_hold *h, const struct usage_table *t, int64_t window_start, struct usage_table **out)
{
	struct usage_table *restored = NULL, *o = NULL, *prev;
	const struct usage_group *const *groups;
	size_t n;
	int r;

	if (!h || !t || !out)
		return -EINVAL;
	r = held_table(h, t, &prev, &restored);
	if (r == 0)
		r = usage_table_new_like(&o, t);
	/* Every held group that has something to drop from, then t's: combined at 0 they stay 0. */
	n = prev ? usage_table_groups(prev, &groups) : 0;
	for (size_t k = 0; r == 0 && k < n; k++) {
		struct usage_group z = group_zero(groups[k]);
		if (group_nonzero(groups[k]))
			r = usage_table_combine(o, &z, groups[k]->values, groups[k]->job_name);
	}
	n = r == 0 ? usage_table_groups((struct usage_table *)t, &groups) : 0;
	for (size_t k = 0; r == 0 && k < n; k++) {
		struct usage_group z = group_zero(groups[k]);
		r = usage_table_combine(o, &z, groups[k]->values, groups[k]->job_name);
	}
	if (r == 0) {
		hold_take(h, o, window_start);
		*out = o;
		o = NULL;
	}
	usage_table_free(o);
	usage_table_free(restored);
	return r;
}

/* ---- the text form ---- */

/* Appends s with backslash, tab, CR, LF and the other control bytes escaped, so a field holds no tab or newline. */
static int put_escaped(struct buf *b, const char *s)
{
	int r = 0;

	for (const unsigned char *p = (const unsigned char *)s; r == 0 && *p; p++) {
		if (*p == '\\')
			r = buf_puts(b, "\\\\");
		else if (*p == '\t')
			r = buf_puts(b, "\\t");
		else if (*p == '\n')
			r = buf_puts(b, "\\n");
		else if (*p == '\r')
			r = buf_puts(b, "\\r");
		else if (*p < 0x20 || *p == 0x7f)
			r = buf_printf(b, "\\x%02x", *p);
		else
			r = buf_putc(b, (char)*p);
	}
	return r;
}

static int put_sum(struct buf *b, const struct usage_merged *m)
{
	char num[NUMFMT_DOUBLE_SIZE];

	if (!has_sum(m))
		return buf_puts(b, "\t-");
	numfmt_double(num, sizeof(num), m->sum);
	return buf_printf(b, "\t%s", num);
}

static int put_group(
	struct buf *b, const char *const *values, size_t width, const char *job_name, const struct usage_group *g)
{
	int r = buf_puts(b, "group");

	for (size_t i = 0; r == 0 && i < width; i++) {
		r = buf_putc(b, '\t');
		if (r == 0)
			r = put_escaped(b, values[i]);
	}
	if (r == 0)
		r = buf_putc(b, '\t');
	if (r == 0)
		r = put_escaped(b, job_name);
	if (r == 0)
		r = buf_printf(b, "\t%" PRId64, g->count);
	if (r == 0)
		r = put_sum(b, &g->cost);
	if (r == 0)
		r = put_sum(b, &g->runtime);
	return r ? r : buf_putc(b, '\n');
}

int usage_hold_write(const struct usage_hold *h, const char *key, struct buf *out)
{
	const struct usage_group *const *groups = NULL;
	size_t n, width;
	int r;

	if (!h || !key || !out)
		return -EINVAL;
	if (h->table) {
		n = usage_table_groups(h->table, &groups);
		width = usage_table_key_width(h->table);
	} else {
		n = h->n_pending;
		width = h->width;
	}
	r = buf_printf(out, "%s\nkey\t", HOLD_MAGIC);
	if (r == 0)
		r = put_escaped(out, key);
	if (r == 0 && h->have)
		r = buf_printf(out, "\nwindow\t%" PRId64 "\nwidth\t%zu\n", h->window_start, width);
	else if (r == 0)
		r = buf_printf(out, "\nwindow\t-\nwidth\t%zu\n", width);
	for (size_t k = 0; r == 0 && k < n; k++) {
		if (groups) {
			r = put_group(out, groups[k]->values, width, groups[k]->job_name, groups[k]);
		} else {
			struct usage_group g = entry_group(&h->pending[k]);
			r = put_group(out, (const char *const *)h->pending[k].values, width, g.job_name, &g);
		}
	}
	if (r == 0)
		r = buf_printf(out, "end\t%zu\n", n);
	return r == -EMSGSIZE ? -ENOMEM : r;
}

/* Reading the text form: one line at a time, fields split at tabs. */
struct reader {
	const char *p, *end;
	size_t line;
	char *err;
	size_t errlen;
};

/* The most fields of a line: "group", the key values, the job name, the count and the two sums. */
#define FIELDS_MAX (HOLD_WIDTH_MAX + 5)

struct fields {
	const char *at[FIELDS_MAX];
	size_t len[FIELDS_MAX];
	size_t n;
};

static int read_fail(struct reader *rd, const char *what)
{
	if (rd->err && rd->errlen)
		snprintf(rd->err, rd->errlen, "line %zu: %s", rd->line, what);
	return -EINVAL;
}

/* The next line (which must end with a newline) split at its tabs into f. */
static int next_line(struct reader *rd, struct fields *f)
{
	const char *nl;

	rd->line++;
	if (rd->p >= rd->end)
		return read_fail(rd, "cut short");
	nl = memchr(rd->p, '\n', (size_t)(rd->end - rd->p));
	if (!nl)
		return read_fail(rd, "cut short (no newline)");
	if (memchr(rd->p, '\0', (size_t)(nl - rd->p)))
		return read_fail(rd, "a NUL byte");
	f->n = 0;
	for (const char *q = rd->p;;) {
		const char *tab = memchr(q, '\t', (size_t)(nl - q));
		const char *stop = tab ? tab : nl;
		if (f->n == FIELDS_MAX)
			return read_fail(rd, "too many fields");
		f->at[f->n] = q;
		f->len[f->n++] = (size_t)(stop - q);
		if (!tab)
			break;
		q = tab + 1;
	}
	rd->p = nl + 1;
	return 0;
}

static bool field_is(const struct fields *f, size_t i, const char *s)
{
	return i < f->n && f->len[i] == strlen(s) && memcmp(f->at[i], s, f->len[i]) == 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The n bytes at s with put_escaped()'s escapes undone, as a new string in *out. */
static int unescape(struct reader *rd, const char *s, size_t n, char **out)
{
	char *o = malloc(n + 1);
	size_t k = 0;

	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			o[k++] = s[i];
			continue;
		}
		char c = ++i < n ? s[i] : '\0';
		if (c == '\\' || c == 't' || c == 'n' || c == 'r') {
			o[k++] = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : '\\';
			continue;
		}
		int hi = -1, lo = -1;
		if (c == 'x' && i + 2 < n) {
			hi = hex_digit(s[i + 1]);
			lo = hex_digit(s[i + 2]);
		}
		/* \x00 would end the string early: never written, never read. */
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(o);
			return read_fail(rd, "a bad escape");
		}
		o[k++] = (char)(hi * 16 + lo);
		i += 2;
	}
	o[k] = '\0';
	*out = o;
	return 0;
}

static int parse_int64(struct reader *rd, const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
	char tmp[24];
	char *end;
	long long v;

	if (n == 0 || n >= sizeof(tmp) || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
		return read_fail(rd, "not a number");
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno || *end || v < min || v > max)
		return read_fail(rd, "not a number in range");
	*out = v;
	return 0;
}

static int parse_sum(struct reader *rd, const char *s, size_t n, double *out, bool *has)
{
	*has = !(n == 1 && s[0] == '-');
	*out = 0;
	if (*has && (numfmt_parse_double(s, n, out) < 0 || isnan(*out)))
		return read_fail(rd, "not a sum");
	return 0;
}

static int pending_add(struct usage_hold *h, struct reader *rd, const struct fields *f)
{
	struct hold_entry e = {0};
	int64_t count;
	size_t w = h->width;
	int r;

	if (f->n != w + 5)
		return read_fail(rd, "a group with another number of fields than width");
	if (h->n_pending == h->cap_pending) {
		size_t cap = h->cap_pending ? 2 * h->cap_pending : 64;
		struct hold_entry *p = realloc(h->pending, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		h->pending = p;
		h->cap_pending = cap;
	}
	e.values = calloc(w, sizeof(*e.values));
	r = e.values ? 0 : -ENOMEM;
	for (size_t i = 0; r == 0 && i < w; i++)
		r = unescape(rd, f->at[1 + i], f->len[1 + i], &e.values[i]);
	if (r == 0)
		r = unescape(rd, f->at[1 + w], f->len[1 + w], &e.job_name);
	if (r == 0)
		r = parse_int64(rd, f->at[2 + w], f->len[2 + w], 0, INT64_MAX, &count);
	if (r == 0)
		r = parse_sum(rd, f->at[3 + w], f->len[3 + w], &e.cost, &e.has_cost);
	if (r == 0)
		r = parse_sum(rd, f->at[4 + w], f->len[4 + w], &e.runtime, &e.has_runtime);
	if (r < 0) {
		entry_deinit(&e, w);
		return r;
	}
	e.count = count;
	h->pending[h->n_pending++] = e;
	return 0;
}

/* The lines after the key: the window, the width, the groups and the end. */
static int read_body(struct usage_hold *h, struct reader *rd)
{
	struct fields f;
	int64_t v;
	int r = next_line(rd, &f);

	if (r == 0 && (!field_is(&f, 0, "window") || f.n != 2))
		return read_fail(rd, "expected the window");
	h->have = r == 0 && !field_is(&f, 1, "-");
	if (r == 0 && h->have)
		r = parse_int64(rd, f.at[1], f.len[1], INT64_MIN, INT64_MAX, &h->window_start);
	if (r == 0)
		r = next_line(rd, &f);
	if (r == 0 && (!field_is(&f, 0, "width") || f.n != 2))
		return read_fail(rd, "expected the width");
	if (r == 0)
		r = parse_int64(rd, f.at[1], f.len[1], h->have ? 1 : 0, HOLD_WIDTH_MAX, &v);
	if (r < 0)
		return r;
	h->width = (size_t)v;
	for (;;) {
		r = next_line(rd, &f);
		if (r < 0)
			return r;
		if (field_is(&f, 0, "end"))
			break;
		if (!field_is(&f, 0, "group") || !h->have)
			return read_fail(rd, "expected a group or the end");
		r = pending_add(h, rd, &f);
		if (r < 0)
			return r;
	}
	if (f.n != 2 || parse_int64(rd, f.at[1], f.len[1], 0, INT64_MAX, &v) < 0 || (size_t)v != h->n_pending)
		return read_fail(rd, "the end does not count the groups");
	if (rd->p != rd->end)
		return read_fail(rd, "text after the end");
	return 0;
}

int usage_hold_read(struct usage_hold *h, const char *key, const char *text, size_t len, char *err, size_t errlen)
{
	struct reader rd = {.p = text, .end = text + len, .err = err, .errlen = errlen};
	struct fields f;
	char *written = NULL;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!h || !key || (!text && len) || h->have || h->table || h->n_pending)
		return -EINVAL;
	if (len > USAGE_HOLD_TEXT_MAX)
		return read_fail(&rd, "longer than the largest state");
	r = next_line(&rd, &f);
	if (r == 0 && !(f.n == 1 && field_is(&f, 0, HOLD_MAGIC)))
		return read_fail(&rd, "not a counter state of this version");
	if (r == 0)
		r = next_line(&rd, &f);
	if (r == 0 && (!field_is(&f, 0, "key") || f.n != 2))
		return read_fail(&rd, "expected the key");
	if (r == 0)
		r = unescape(&rd, f.at[1], f.len[1], &written);
	if (r < 0)
		return r;
	bool same = strcmp(written, key) == 0;
	free(written);
	if (!same)
		return USAGE_HOLD_OTHER_KEY;
	r = read_body(h, &rd);
	if (r < 0) {
		pending_clear(h);
		h->have = false;
		h->window_start = 0;
	}
	return r;
}
