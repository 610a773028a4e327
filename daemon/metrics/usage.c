/* usage: the merge table — statistics rows merged per group of interned group-by values */
#include <errno.h>
#include <math.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/usage.h"

/*
 * Everything a table owns (strings, groups) lives in a few large chunks: one free per chunk, stable
 * addresses for the groups handed out by usage_table_groups(), no per-row malloc.
 */
#define ARENA_CHUNK_SIZE ((size_t)64 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

/* Open addressing, linear probing, power-of-two capacity, load factor at most 1/2. */
struct intern_slot {
	uint64_t hash;
	const char *s; /* NULL: empty slot */
};

struct group_slot {
	uint64_t hash;
	struct usage_group *g; /* NULL: empty slot */
};

struct usage_table {
	size_t n_derived; /* key values of the caller's first (derived labels); 0 in a table of rows */
	enum group_field group_by[2]; /* then these fields' values */
	size_t n_group_by;
	size_t n_values; /* n_derived + n_group_by */
	int job_index; /* index in the key of JOB_ID's value, or -1 */

	struct arena_chunk *arena;

	struct intern_slot *strs;
	size_t strs_cap, n_strs;

	struct group_slot *slots;
	size_t slots_cap;

	struct usage_group **groups; /* insertion order until sorted */
	size_t n_groups, groups_cap;
	int sorted;
};

/* The value of every absent or empty field: one shared string, so equal values stay equal pointers. */
static const char empty_string[] = "";

void usage_row_deinit(struct usage_row *row)
{
	if (!row)
		return;
	for (size_t i = 0; i < GROUP_FIELD_COUNT; i++)
		free(row->fields[i]);
	free(row->job_name);
	memset(row, 0, sizeof(*row));
}

double usage_group_avg(const struct usage_group *g, const struct usage_merged *m)
{
	if (!g || !m || m->n_rows == 0)
		return NAN;
	/* The sum is exact where the service rounded each bucket's average: prefer it when every row had one. */
	if (g->count > 0 && (m->present & STAT_SUM))
		return m->sum / (double)g->count;
	if (!(m->present & STAT_AVG))
		return NAN;
	if (g->count > 0)
		return m->avg_weighted / (double)g->count;
	return m->avg_plain / (double)m->n_rows;
}

static void *arena_alloc(struct usage_table *t, size_t size)
{
	const size_t align = alignof(max_align_t);
	struct arena_chunk *c = t->arena;
	size_t off;

	if (c) {
		off = (c->used + align - 1) & ~(align - 1);
		if (off <= c->cap && size <= c->cap - off) {
			c->used = off + size;
			return (char *)c->data + off;
		}
	}
	size_t cap = size > ARENA_CHUNK_SIZE ? size : ARENA_CHUNK_SIZE;
	if (cap > SIZE_MAX - sizeof(*c))
		return NULL;
	c = malloc(sizeof(*c) + cap);
	if (!c)
		return NULL;
	c->next = t->arena;
	c->cap = cap;
	c->used = size;
	t->arena = c;
	return c->data;
}

static uint64_t hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

/* A fast 64-bit hash of n bytes, eight at a time; good enough for ids and names, not adversary-proof. */
static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)n;
	uint64_t w;

	while (n >= 8) {
		memcpy(&w, s, 8);
		h = (h ^ hash_mix(w)) * UINT64_C(0x100000001b3);
		s += 8;
		n -= 8;
	}
	w = 0;
	memcpy(&w, s, n);
	h = (h ^ hash_mix(w)) * UINT64_C(0x100000001b3);
	return hash_mix(h);
}

static int intern_grow(struct usage_table *t)
{
	size_t cap = t->strs_cap ? t->strs_cap * 2 : 256;
	struct intern_slot *strs;

	if (cap > SIZE_MAX / sizeof(*strs))
		return -ENOMEM;
	strs = calloc(cap, sizeof(*strs));
	if (!strs)
		return -ENOMEM;
	for (size_t i = 0; i < t->strs_cap; i++) {
		if (!t->strs[i].s)
			continue;
		size_t j = (size_t)t->strs[i].hash & (cap - 1);
		while (strs[j].s)
			j = (j + 1) & (cap - 1);
		strs[j] = t->strs[i];
	}
	free(t->strs);
	t->strs = strs;
	t->strs_cap = cap;
	return 0;
}

/* Returns the table's single copy of the n bytes at s (whose hash is h); "" is the shared empty string. */
static int intern(struct usage_table *t, const char *s, size_t n, uint64_t h, const char **out)
{
	size_t i;
	int r;

	if (n == 0) {
		*out = empty_string;
		return 0;
	}
	if ((t->n_strs + 1) * 2 > t->strs_cap) {
		r = intern_grow(t);
		if (r < 0)
			return r;
	}
	for (i = (size_t)h & (t->strs_cap - 1); t->strs[i].s; i = (i + 1) & (t->strs_cap - 1)) {
		if (t->strs[i].hash == h && memcmp(t->strs[i].s, s, n + 1) == 0) {
			*out = t->strs[i].s;
			return 0;
		}
	}
	char *copy = arena_alloc(t, n + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, s, n);
	copy[n] = '\0';
	t->strs[i].hash = h;
	t->strs[i].s = copy;
	t->n_strs++;
	*out = copy;
	return 0;
}

static int table_new(struct usage_table **out, size_t n_derived, const enum group_field *group_by, size_t n_group_by)
{
	struct usage_table *t;

	if (!out || (n_group_by && !group_by) || n_group_by > 2 || n_derived > USAGE_KEY_MAX - 2 ||
		n_derived + n_group_by == 0)
		return -EINVAL;
	for (size_t i = 0; i < n_group_by; i++)
		if ((unsigned)group_by[i] >= GROUP_FIELD_COUNT)
			return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->n_derived = n_derived;
	t->n_group_by = n_group_by;
	t->n_values = n_derived + n_group_by;
	t->job_index = -1;
	for (size_t i = 0; i < n_group_by; i++) {
		t->group_by[i] = group_by[i];
		if (group_by[i] == GROUP_JOB_ID && t->job_index < 0)
			t->job_index = (int)(n_derived + i);
	}
	t->sorted = 1;
	*out = t;
	return 0;
}

int usage_table_new(struct usage_table **out, const enum group_field *group_by, size_t n_group_by)
{
	if (n_group_by < 1)
		return -EINVAL;
	return table_new(out, 0, group_by, n_group_by);
}

int usage_table_new_derived(struct usage_table **out, size_t n_derived, const enum group_field *fields, size_t n_fields)
{
	if (n_derived < 1)
		return -EINVAL;
	return table_new(out, n_derived, fields, n_fields);
}

int usage_table_new_like(struct usage_table **out, const struct usage_table *t)
{
	if (!t)
		return -EINVAL;
	return table_new(out, t->n_derived, t->group_by, t->n_group_by);
}

size_t usage_table_key_width(const struct usage_table *t)
{
	return t ? t->n_values : 0;
}

void usage_table_free(struct usage_table *t)
{
	if (!t)
		return;
	while (t->arena) {
		struct arena_chunk *next = t->arena->next;
		free(t->arena);
		t->arena = next;
	}
	free(t->strs);
	free(t->slots);
	free(t->groups);
	free(t);
}

static int slots_grow(struct usage_table *t)
{
	size_t cap = t->slots_cap ? t->slots_cap * 2 : 256;
	struct group_slot *slots;

	if (cap > SIZE_MAX / sizeof(*slots))
		return -ENOMEM;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->slots_cap; i++) {
		if (!t->slots[i].g)
			continue;
		size_t j = (size_t)t->slots[i].hash & (cap - 1);
		while (slots[j].g)
			j = (j + 1) & (cap - 1);
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->slots_cap = cap;
	return 0;
}

static void merged_init(struct usage_merged *m)
{
	memset(m, 0, sizeof(*m));
	m->min = INFINITY;
	m->max = -INFINITY;
}

static void merged_add(struct usage_merged *m, const struct usage_stats *st, int64_t count)
{
	unsigned p = st->present & STAT_ALL;

	m->present = m->n_rows ? (m->present & p) : p;
	m->n_rows++;
	if (p & STAT_SUM)
		m->sum += st->sum;
	if ((p & STAT_MIN) && st->min < m->min)
		m->min = st->min;
	if ((p & STAT_MAX) && st->max > m->max)
		m->max = st->max;
	if (p & STAT_AVG) {
		m->avg_weighted += st->avg * (double)count;
		m->avg_plain += st->avg;
	}
}

/* A row's key before interning: its values, their lengths and hashes. */
struct group_key {
	const char *values[USAGE_KEY_MAX];
	size_t lens[USAGE_KEY_MAX];
	uint64_t hashes[USAGE_KEY_MAX];
	uint64_t hash;
};

/* A key of n values, all "" until key_add() sets them. */
static void key_init(struct group_key *key, size_t n)
{
	memset(key, 0, sizeof(*key));
	for (size_t i = 0; i < n; i++)
		key->values[i] = empty_string;
}

/* Unused trailing values are the shared "", so that two-value readers of a one-value key see "" (see usage.h). */
static size_t values_allocated(const struct usage_table *t)
{
	return t->n_values < 2 ? 2 : t->n_values;
}

/* Whether group g has the key's values (the row's strings compared with the interned ones). */
static bool key_equal(const struct usage_group *g, const struct group_key *key)
{
	for (size_t k = 0; k < g->n_values; k++)
		if (memcmp(g->values[k], key->values[k], key->lens[k] + 1) != 0)
			return false;
	return true;
}

/*
 * Finds the group of key, creating it when new. Existing groups are found by comparing the row's strings
 * with the group's, so only a new group pays for interning.
 */
static int group_get(struct usage_table *t, const struct group_key *key, struct usage_group **out)
{
	const char *values[USAGE_KEY_MAX];
	size_t i, n_alloc = values_allocated(t);
	int r;

	if ((t->n_groups + 1) * 2 > t->slots_cap) {
		r = slots_grow(t);
		if (r < 0)
			return r;
	}
	for (i = (size_t)key->hash & (t->slots_cap - 1); t->slots[i].g; i = (i + 1) & (t->slots_cap - 1)) {
		if (t->slots[i].hash == key->hash && key_equal(t->slots[i].g, key)) {
			*out = t->slots[i].g;
			return 0;
		}
	}
	if (t->n_groups == t->groups_cap) {
		size_t cap = t->groups_cap ? t->groups_cap * 2 : 256;
		struct usage_group **groups;
		if (cap > SIZE_MAX / sizeof(*groups))
			return -ENOMEM;
		groups = realloc(t->groups, cap * sizeof(*groups));
		if (!groups)
			return -ENOMEM;
		t->groups = groups;
		t->groups_cap = cap;
	}
	for (size_t k = 0; k < n_alloc; k++) {
		values[k] = empty_string;
		if (k < t->n_values) {
			r = intern(t, key->values[k], key->lens[k], key->hashes[k], &values[k]);
			if (r < 0)
				return r;
		}
	}
	struct usage_group *g = arena_alloc(t, sizeof(*g) + n_alloc * sizeof(g->values[0]));
	if (!g)
		return -ENOMEM;
	memset(g, 0, sizeof(*g));
	g->n_values = t->n_values;
	memcpy(g->values, values, n_alloc * sizeof(values[0]));
	g->job_name = empty_string;
	merged_init(&g->cost);
	merged_init(&g->runtime);
	t->slots[i].hash = key->hash;
	t->slots[i].g = g;
	t->groups[t->n_groups++] = g;
	t->sorted = 0;
	*out = g;
	return 0;
}

static void key_add(struct group_key *key, size_t i, const char *v, size_t len)
{
	if (v) {
		key->values[i] = v;
		key->lens[i] = len;
	}
	key->hashes[i] = hash_bytes(key->values[i], key->lens[i]);
	key->hash = hash_mix(key->hash * UINT64_C(0x9e3779b97f4a7c15) + key->hashes[i] + i);
}

/* The group's job name is the first non-empty one seen. */
static int job_name_offer(struct usage_table *t, struct usage_group *g, const char *name, size_t n)
{
	if (t->job_index < 0 || g->job_name[0] != '\0' || !name || name[0] == '\0')
		return 0;
	return intern(t, name, n, hash_bytes(name, n), &g->job_name);
}

static void count_add(struct usage_group *g, int64_t count)
{
	/* A sum of session counts beyond int64 is not a real farm, but must not be undefined behaviour. */
	if (__builtin_add_overflow(g->count, count, &g->count))
		g->count = count > 0 ? INT64_MAX : INT64_MIN;
}

/*
 * A value as it will be rendered: ill-formed UTF-8 becomes U+FFFD here, before grouping, so that two
 * values which render alike are one group (one series), never two series with the same labels.
 * *copy is set when a sanitised copy was made (the caller frees it).
 */
static int value_rendered(const char *v, const char **out, size_t *len, char **copy)
{
	const unsigned char *p = (const unsigned char *)v;
	unsigned char high = 0;
	size_t n = 0;

	*copy = NULL;
	*out = v;
	*len = 0;
	if (!v)
		return 0;
	/* ids and names are nearly always ASCII, which is valid UTF-8: one pass for the length and that */
	for (; p[n]; n++)
		high |= p[n];
	*len = n;
	if (high < 0x80 || model_utf8_valid(v))
		return 0;
	*copy = model_utf8_sanitize(v);
	if (!*copy)
		return -ENOMEM;
	*out = *copy;
	*len = strlen(*copy);
	return 0;
}

int usage_table_add(struct usage_table *t, const struct usage_row *row)
{
	struct group_key key;
	struct usage_group *g;
	char *copies[3] = {NULL, NULL, NULL};
	const char *v;
	size_t len;
	int r = -EINVAL;

	/* A row carries group-by fields only: a table keyed by derived labels takes groups (usage_table_combine()). */
	if (!t || !row || t->n_derived)
		return -EINVAL;
	key_init(&key, t->n_values);
	for (size_t i = 0; i < t->n_group_by; i++) {
		r = value_rendered(row->fields[t->group_by[i]], &v, &len, &copies[i]);
		if (r < 0)
			goto out;
		key_add(&key, i, v, len);
	}
	r = group_get(t, &key, &g);
	if (r < 0)
		goto out;
	if (t->job_index >= 0 && g->job_name[0] == '\0') {
		r = value_rendered(row->job_name, &v, &len, &copies[2]);
		if (r < 0)
			goto out;
		r = job_name_offer(t, g, v, len);
	}
	if (r < 0)
		goto out;
	count_add(g, row->count);
	merged_add(&g->cost, &row->cost, row->count);
	merged_add(&g->runtime, &row->runtime, row->count);
out:
	for (size_t i = 0; i < 3; i++)
		free(copies[i]);
	return r;
}

static void merged_combine(struct usage_merged *m, const struct usage_merged *o)
{
	if (o->n_rows == 0)
		return;
	m->present = m->n_rows ? (m->present & o->present) : o->present;
	m->n_rows += o->n_rows;
	m->sum += o->sum;
	if (o->min < m->min)
		m->min = o->min;
	if (o->max > m->max)
		m->max = o->max;
	m->avg_weighted += o->avg_weighted;
	m->avg_plain += o->avg_plain;
}

int usage_table_combine(
	struct usage_table *dst, const struct usage_group *sg, const char *const *values, const char *job_name)
{
	struct group_key key;
	struct usage_group *g;
	int r = 0;

	if (!dst || !sg || !values)
		return -EINVAL;
	key_init(&key, dst->n_values);
	for (size_t i = 0; i < dst->n_values; i++)
		key_add(&key, i, values[i] ? values[i] : empty_string, values[i] ? strlen(values[i]) : 0);
	r = group_get(dst, &key, &g);
	if (r < 0)
		return r;
	if (job_name)
		r = job_name_offer(dst, g, job_name, strlen(job_name));
	if (r < 0)
		return r;
	count_add(g, sg->count);
	merged_combine(&g->cost, &sg->cost);
	merged_combine(&g->runtime, &sg->runtime);
	return 0;
}

int usage_table_merge(struct usage_table *dst, const struct usage_table *src)
{
	int r;

	if (!dst || !src || dst->n_derived != src->n_derived || dst->n_group_by != src->n_group_by)
		return -EINVAL;
	for (size_t i = 0; i < dst->n_group_by; i++)
		if (dst->group_by[i] != src->group_by[i])
			return -EINVAL;
	/* Insertion order, not sorted order: src stays untouched (const). */
	for (size_t k = 0; k < src->n_groups; k++) {
		const struct usage_group *sg = src->groups[k];
		r = usage_table_combine(dst, sg, sg->values, sg->job_name);
		if (r < 0)
			return r;
	}
	return 0;
}

size_t usage_table_size(const struct usage_table *t)
{
	return t ? t->n_groups : 0;
}

bool usage_table_keyed_by(
	const struct usage_table *t, size_t n_derived, const enum group_field *fields, size_t n_fields)
{
	if (!t || t->n_derived != n_derived || t->n_group_by != n_fields)
		return false;
	for (size_t i = 0; i < n_fields; i++)
		if (t->group_by[i] != fields[i])
			return false;
	return true;
}

static int compare_groups(const void *a, const void *b)
{
	const struct usage_group *ga = *(const struct usage_group *const *)a;
	const struct usage_group *gb = *(const struct usage_group *const *)b;

	/* Groups of one table have one key width. */
	for (size_t i = 0; i < ga->n_values; i++) {
		if (ga->values[i] == gb->values[i])
			continue;
		int c = strcmp(ga->values[i], gb->values[i]);
		if (c)
			return c;
	}
	return 0;
}

/* A group with the first 16 bytes of its first value as two big-endian numbers: most comparisons end there. */
struct keyed_group {
	uint64_t k0, k1;
	struct usage_group *g;
};

static uint64_t key_bytes(const unsigned char *p)
{
	uint64_t k = 0;
	for (int i = 0; i < 8; i++)
		k = k << 8 | p[i];
	return k;
}

static int compare_keyed(const void *a, const void *b)
{
	const struct keyed_group *ka = a, *kb = b;

	if (ka->k0 != kb->k0)
		return ka->k0 < kb->k0 ? -1 : 1;
	if (ka->k1 != kb->k1)
		return ka->k1 < kb->k1 ? -1 : 1;
	return compare_groups(&ka->g, &kb->g);
}

/*
 * Sorts by the values (strcmp order, as compare_groups). The keys hold the bytes strcmp would look at first,
 * zeros past the end: 16 bytes tell most ids apart, so strcmp runs only on ties. Without memory for the keys,
 * plain qsort.
 */
static void sort_groups(struct usage_table *t)
{
	size_t n = t->n_groups;
	struct keyed_group *k = n > 1 ? malloc(n * sizeof(*k)) : NULL;

	if (!k) {
		if (n > 1)
			qsort(t->groups, n, sizeof(*t->groups), compare_groups);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char b[16] = {0};
		const char *v = t->groups[i]->values[0];
		size_t len = strnlen(v, sizeof(b));
		memcpy(b, v, len);
		k[i] = (struct keyed_group){key_bytes(b), key_bytes(b + 8), t->groups[i]};
	}
	qsort(k, n, sizeof(*k), compare_keyed);
	for (size_t i = 0; i < n; i++)
		t->groups[i] = k[i].g;
	free(k);
}

size_t usage_table_groups(struct usage_table *t, const struct usage_group *const **groups)
{
	if (!t) {
		if (groups)
			*groups = NULL;
		return 0;
	}
	if (!t->sorted) {
		sort_groups(t);
		t->sorted = 1;
	}
	if (groups)
		*groups = (const struct usage_group *const *)t->groups;
	return t->n_groups;
}

/* A group's cost sum as ranked: -Inf without one (or NaN), so such groups come last. */
static double rank_cost(const struct usage_group *g)
{
	if (!(g->cost.present & STAT_SUM) || g->cost.n_rows == 0 || isnan(g->cost.sum))
		return -INFINITY;
	return g->cost.sum;
}

static int compare_rank_cost(const void *a, const void *b)
{
	const struct usage_group *const *ga = a, *const *gb = b;
	double x = rank_cost(*ga), y = rank_cost(*gb);

	if (x != y)
		return x > y ? -1 : 1;
	return compare_groups(a, b);
}

static int compare_rank_sessions(const void *a, const void *b)
{
	const struct usage_group *const *ga = a, *const *gb = b;

	if ((*ga)->count != (*gb)->count)
		return (*ga)->count > (*gb)->count ? -1 : 1;
	return compare_groups(a, b);
}

int usage_table_top(struct usage_table **out, struct usage_table *src, size_t limit, enum usage_rank rank)
{
	const char *other[USAGE_KEY_MAX];
	const struct usage_group *const *sorted;
	const struct usage_group **ranked = NULL;
	struct usage_table *t = NULL;
	size_t n;
	int r;

	if (!out || !src || limit == 0)
		return -EINVAL;
	*out = NULL;
	for (size_t k = 0; k < USAGE_KEY_MAX; k++)
		other[k] = USAGE_OTHER;
	n = usage_table_groups(src, &sorted);
	r = table_new(&t, src->n_derived, src->group_by, src->n_group_by);
	if (r < 0)
		return r;
	ranked = malloc((n ? n : 1) * sizeof(*ranked));
	if (!ranked) {
		r = -ENOMEM;
		goto out;
	}
	if (n)
		memcpy(ranked, sorted, n * sizeof(*ranked));
	qsort(ranked, n, sizeof(*ranked), rank == USAGE_RANK_SESSIONS ? compare_rank_sessions : compare_rank_cost);
	for (size_t i = 0; i < n; i++) {
		const struct usage_group *g = ranked[i];
		r = i < limit ? usage_table_combine(t, g, g->values, g->job_name)
			      : usage_table_combine(t, g, other, USAGE_OTHER);
		if (r < 0)
			goto out;
	}
	*out = t;
	t = NULL;
out:
	free(ranked);
	usage_table_free(t);
	return r;
}
