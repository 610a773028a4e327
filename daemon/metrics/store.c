/* store: the declared reports, their snapshots swapped atomically, and scrapes that hold what they list */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics/deflate_join.h"
#include "metrics/metrics.h"
#include "metrics/process.h"
#include "metrics/render.h"
#include "metrics/self.h"
#include "util/log.h"
#include "util/monotime.h"
#include "util/mutex.h"

/*
 * The usage part of every scrape, as pieces referencing the snapshots' buffers (held by reference): the plain
 * text and its raw deflate (a concatenation of sync-flushed parts, not final). Refcounted.
 */
struct metrics_body {
	atomic_size_t refs;
	struct metrics_snapshot **snaps;
	size_t n_snaps;
	struct iovec *plain, *deflated; /* one allocation */
	size_t n_plain, n_deflated;
	size_t text_len, deflated_len;
	uint32_t crc; /* crc32 of the whole text */
};

struct metrics_store {
	/* Serialises publishers: snapshots and body rebuilds. Taken before lock, never by scrapes. */
	pthread_mutex_t build_lock;
	/* The entries' state, the entries array itself, the current body, the counters. Held briefly. */
	pthread_mutex_t lock;
	struct metrics_entry **entries;
	size_t n_entries;
	bool declared;
	struct metrics_body *body;
	struct metrics_self self;
	/* Bumped (under lock) by every change of what the self-metrics print; the cache is valid while equal. */
	uint64_t self_gen;
	struct metrics_self_text *self_text; /* the cache */
	/* h13 hook: the user names' text (metrics_store_set_users_text()), between the body and the self-metrics. */
	struct metrics_self_text *users_text;
	struct metrics_self_text *process_text; /* the process metrics of one second (gen: CLOCK_MONOTONIC) */
};

static void body_unref(struct metrics_body *body)
{
	if (!body || atomic_fetch_sub(&body->refs, 1) != 1)
		return;
	for (size_t i = 0; i < body->n_snaps; i++)
		metrics_snapshot_unref(body->snaps[i]);
	free(body->snaps);
	free(body->plain);
	free(body);
}

static void piece_add(struct iovec *iov, size_t *n, const void *base, size_t len)
{
	iov[*n].iov_base = (void *)(uintptr_t)base;
	iov[*n].iov_len = len;
	(*n)++;
}

/*
 * The usage body of the current entries: once per family, HELP/TYPE then every report's lines, as pieces of the
 * snapshots (no copy, no compression: the crc32s are combined). build_lock held.
 */
static int body_build(struct metrics_entry *const *entries, size_t n_entries, struct metrics_body **out)
{
	struct metrics_body *body;
	size_t max_pieces = METRICS_FAMILY_COUNT;

	for (size_t i = 0; i < n_entries; i++)
		for (size_t f = 0; entries[i]->snap && f < METRICS_FAMILY_COUNT; f++)
			max_pieces += entries[i]->snap->part[f].n_seg;

	body = calloc(1, sizeof(*body));
	if (!body)
		return -ENOMEM;
	atomic_init(&body->refs, 1);
	body->snaps = calloc(n_entries ? n_entries : 1, sizeof(*body->snaps));
	body->plain = calloc(2 * max_pieces, sizeof(*body->plain));
	if (!body->snaps || !body->plain) {
		body_unref(body);
		return -ENOMEM;
	}
	body->deflated = body->plain + max_pieces;
	for (size_t i = 0; i < n_entries; i++) {
		if (!entries[i]->snap)
			continue;
		metrics_snapshot_ref(entries[i]->snap);
		body->snaps[body->n_snaps++] = entries[i]->snap;
	}
	for (size_t f = 0; f < METRICS_FAMILY_COUNT; f++) {
		bool header = false;
		for (size_t i = 0; i < body->n_snaps; i++) {
			const struct metrics_part *p = &body->snaps[i]->part[f];
			/* A family without samples is left out, header included. */
			if (!p->n_seg)
				continue;
			if (!header) {
				const struct metrics_family_header *h = metrics_family_header((enum metrics_family)f);
				piece_add(body->plain, &body->n_plain, h->text, h->len);
				piece_add(body->deflated, &body->n_deflated, h->deflated, h->deflated_len);
				body->crc = deflate_join_crc32_combine(body->crc, h->crc, h->len);
				body->text_len += h->len;
				body->deflated_len += h->deflated_len;
				header = true;
			}
			for (size_t k = 0; k < p->n_seg; k++) {
				const struct metrics_segment *seg = p->seg[k];
				piece_add(body->plain, &body->n_plain, seg->text.data, seg->text.len);
				piece_add(body->deflated, &body->n_deflated, seg->deflated, seg->deflated_len);
				body->crc = deflate_join_crc32_combine(body->crc, seg->crc, seg->text.len);
				body->text_len += seg->text.len;
				body->deflated_len += seg->deflated_len;
			}
		}
	}
	*out = body;
	return 0;
}

static void entry_free(struct metrics_entry *e)
{
	if (!e)
		return;
	free(e->farm_id);
	free(e->report);
	metrics_snapshot_unref(e->snap);
	free(e);
}

int metrics_store_new(struct metrics_store **out, const char *version)
{
	struct metrics_store *s;
	int r;

	if (!out || !version)
		return -EINVAL;
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = -pthread_mutex_init(&s->build_lock, NULL);
	if (r < 0)
		goto out_free;
	r = -pthread_mutex_init(&s->lock, NULL);
	if (r < 0)
		goto out_build_lock;
	r = metrics_self_init(&s->self, version);
	if (r < 0)
		goto out_lock;
	r = body_build(NULL, 0, &s->body);
	if (r < 0)
		goto out_self;
	*out = s;
	return 0;

out_self:
	metrics_self_deinit(&s->self);
out_lock:
	pthread_mutex_destroy(&s->lock);
out_build_lock:
	pthread_mutex_destroy(&s->build_lock);
out_free:
	free(s);
	return r;
}

void metrics_store_free(struct metrics_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_entries; i++)
		entry_free(s->entries[i]);
	free(s->entries);
	metrics_self_deinit(&s->self);
	/* Scrapes still in flight hold their own references. */
	body_unref(s->body);
	metrics_self_text_unref(s->self_text);
	metrics_self_text_unref(s->users_text);
	metrics_self_text_unref(s->process_text);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->build_lock);
	free(s);
}

int metrics_store_set_reports(struct metrics_store *s, const struct config *cfg)
{
	struct metrics_entry **entries = NULL, **old_entries;
	struct metrics_body *body = NULL, *old_body;
	int64_t *intervals = NULL;
	size_t n = 0, max, old_n;
	int ret = -ENOMEM;

	if (!s || !cfg)
		return -EINVAL;
	if (cfg->n_farms && cfg->n_reports > SIZE_MAX / sizeof(*entries) / cfg->n_farms)
		return -ENOMEM;
	max = cfg->n_farms * cfg->n_reports;
	entries = calloc(max ? max : 1, sizeof(*entries));
	intervals = calloc(max ? max : 1, sizeof(*intervals));
	if (!entries || !intervals)
		goto out_free;

	mutex_lock(&s->build_lock);
	for (size_t i = 0; i < s->n_entries; i++)
		s->entries[i]->keep = false;
	for (size_t f = 0; f < cfg->n_farms; f++) {
		for (size_t r = 0; r < cfg->n_reports; r++) {
			const char *farm_id = cfg->farms[f].id, *report = cfg->reports[r].name;
			struct metrics_entry *e;
			if (metrics_entry_find(entries, n, farm_id, report))
				continue; /* a farm listed twice: once is enough */
			e = metrics_entry_find(s->entries, s->n_entries, farm_id, report);
			if (e) {
				e->keep = true;
			} else {
				e = calloc(1, sizeof(*e));
				if (!e)
					goto out_unlock;
				entries[n] = e; /* owned by the new array from here, freed on failure */
				e->farm_id = strdup(farm_id);
				e->report = strdup(report);
				if (!e->farm_id || !e->report) {
					n++;
					goto out_unlock;
				}
				e->interval_seconds = cfg->reports[r].interval_seconds;
			}
			intervals[n] = cfg->reports[r].interval_seconds;
			entries[n++] = e;
		}
	}
	ret = body_build(entries, n, &body);
	if (ret < 0)
		goto out_unlock;

	mutex_lock(&s->lock);
	old_entries = s->entries;
	old_n = s->n_entries;
	old_body = s->body;
	for (size_t i = 0; i < n; i++)
		entries[i]->interval_seconds = intervals[i];
	s->entries = entries;
	s->n_entries = n;
	s->body = body;
	s->declared = true;
	s->self_gen++;
	metrics_self_prune(&s->self, entries, n);
	mutex_unlock(&s->lock);

	for (size_t i = 0; i < old_n; i++)
		if (!old_entries[i]->keep)
			entry_free(old_entries[i]);
	mutex_unlock(&s->build_lock);
	free(old_entries);
	free(intervals);
	body_unref(old_body);
	return 0;

out_unlock:
	for (size_t i = 0; i < n; i++)
		if (!metrics_entry_find(s->entries, s->n_entries, entries[i]->farm_id ? entries[i]->farm_id : "",
			    entries[i]->report ? entries[i]->report : ""))
			entry_free(entries[i]);
	mutex_unlock(&s->build_lock);
out_free:
	free(entries);
	free(intervals);
	return ret;
}

int metrics_store_publish(struct metrics_store *s, const char *farm_id, const struct report_config *r,
	struct usage_table *t, int64_t window_start, int64_t window_end, int64_t now, double duration_seconds)
{
	struct metrics_snapshot *snap = NULL, *old_snap = NULL;
	struct metrics_body *body = NULL, *old_body = NULL;
	struct metrics_entry *e;
	int ret;

	if (!s || !farm_id || !r || !r->name || !t)
		return -EINVAL;
	ret = metrics_snapshot_new(&snap, farm_id, r, t, window_start, window_end);
	if (ret < 0)
		return ret;

	mutex_lock(&s->build_lock);
	e = metrics_entry_find(s->entries, s->n_entries, farm_id, r->name);
	if (!e) {
		log_debug("component=metrics op=publish farm=%s report=%s reason=\"figures of an undeclared report "
			  "dropped\"",
			farm_id, r->name);
		ret = -ENOENT;
		goto out_unlock;
	}
	old_snap = e->snap;
	e->snap = snap;
	ret = body_build(s->entries, s->n_entries, &body);
	if (ret < 0) {
		e->snap = old_snap;
		old_snap = NULL;
		goto out_unlock;
	}
	snap = NULL; /* the entry's now */
	mutex_lock(&s->lock);
	old_body = s->body;
	s->body = body;
	e->attempted = true;
	e->up = true;
	e->succeeded = true;
	e->last_success = now;
	e->duration = duration_seconds;
	s->self_gen++;
	mutex_unlock(&s->lock);
out_unlock:
	mutex_unlock(&s->build_lock);
	metrics_snapshot_unref(snap);
	metrics_snapshot_unref(old_snap);
	body_unref(old_body);
	return ret;
}

void metrics_store_fail(struct metrics_store *s, const char *farm_id, const char *report, double duration_seconds)
{
	struct metrics_entry *e;

	if (!s || !farm_id || !report)
		return;
	mutex_lock(&s->lock);
	e = metrics_entry_find(s->entries, s->n_entries, farm_id, report);
	if (e) {
		e->attempted = true;
		e->up = false;
		e->duration = duration_seconds;
		s->self_gen++;
	}
	mutex_unlock(&s->lock);
}

int metrics_store_drop(struct metrics_store *s, const char *farm_id, const char *report)
{
	struct metrics_body *body = NULL, *old_body = NULL;
	struct metrics_snapshot *snap;
	struct metrics_entry *e = NULL;
	size_t i;
	int ret = -ENOENT;

	if (!s || !farm_id || !report)
		return -EINVAL;
	mutex_lock(&s->build_lock);
	for (i = 0; i < s->n_entries; i++)
		if (!strcmp(s->entries[i]->farm_id, farm_id) && !strcmp(s->entries[i]->report, report))
			break;
	if (i == s->n_entries)
		goto out_unlock;
	/* Build the body without it first, so a failure leaves everything as it was. */
	snap = s->entries[i]->snap;
	s->entries[i]->snap = NULL;
	ret = body_build(s->entries, s->n_entries, &body);
	s->entries[i]->snap = snap;
	if (ret < 0)
		goto out_unlock;
	e = s->entries[i];
	mutex_lock(&s->lock);
	old_body = s->body;
	s->body = body;
	memmove(&s->entries[i], &s->entries[i + 1], (s->n_entries - i - 1) * sizeof(*s->entries));
	s->n_entries--;
	s->self_gen++;
	metrics_self_prune(&s->self, s->entries, s->n_entries);
	mutex_unlock(&s->lock);
out_unlock:
	mutex_unlock(&s->build_lock);
	entry_free(e);
	body_unref(old_body);
	return ret;
}

void metrics_store_count_request(struct metrics_store *s, const char *operation, long status)
{
	if (!s || !operation)
		return;
	mutex_lock(&s->lock);
	s->self_gen++;
	metrics_self_count_request(&s->self, operation, status);
	mutex_unlock(&s->lock);
}

void metrics_store_count(
	struct metrics_store *s, enum metrics_counter c, const char *const *label_values, uint64_t delta)
{
	if (!s || (unsigned)c >= METRICS_COUNTER_COUNT || !label_values)
		return;
	mutex_lock(&s->lock);
	s->self_gen++;
	metrics_self_count(&s->self, c, label_values, delta);
	mutex_unlock(&s->lock);
}

/* >>> inventory hook (h11-inventory) */
int metrics_store_set_inventory(struct metrics_store *s, const char *text, size_t len)
{
	struct buf copy = {0};

	if (len && buf_append(&copy, text, len) < 0)
		return -ENOMEM;
	mutex_lock(&s->lock);
	buf_deinit(&s->self.inventory);
	s->self.inventory = copy;
	s->self_gen++;
	mutex_unlock(&s->lock);
	return 0;
}
/* <<< inventory hook */

bool metrics_store_ready(struct metrics_store *s)
{
	bool ready;

	if (!s)
		return false;
	mutex_lock(&s->lock);
	ready = s->declared;
	for (size_t i = 0; ready && i < s->n_entries; i++)
		ready = s->entries[i]->attempted;
	mutex_unlock(&s->lock);
	return ready;
}

/*
 * The self-metrics of the current state: the cached ones while nothing they print has changed, else rendered
 * (under s->lock, with the body reference taken at the same time) and compressed outside it, then cached.
 */
/* Whether t, just rendered, should replace the cached self-metrics (under s->lock). */
static bool self_fresher(
	const struct metrics_store *s, const struct metrics_self_text *cached, const struct metrics_self_text *t)
{
	return s->self_gen == t->gen && (!cached || cached->gen != t->gen);
}

/* Whether t, just read, should replace the cached process metrics (under s->lock). */
static bool process_fresher(
	const struct metrics_store *s, const struct metrics_self_text *cached, const struct metrics_self_text *t)
{
	(void)s;
	return !cached || cached->gen < t->gen;
}

/*
 * The end of a cached text's fetch: on success (r == 0) a text made here (made) replaces the cache *slot when
 * fresher() than it (under s->lock; a cached one costs nothing more); *out is t, or NULL on failure. Returns r.
 */
static int text_settle(struct metrics_store *s, struct metrics_self_text **slot,
	bool (*fresher)(
		const struct metrics_store *, const struct metrics_self_text *, const struct metrics_self_text *),
	struct metrics_self_text *t, bool made, int r, struct metrics_self_text **out)
{
	struct metrics_self_text *old = NULL;

	if (r == 0 && made) {
		mutex_lock(&s->lock);
		if (*slot != t && fresher(s, *slot, t)) {
			old = *slot;
			*slot = t;
			atomic_fetch_add(&t->refs, 1);
		}
		mutex_unlock(&s->lock);
	}
	metrics_self_text_unref(old);
	if (r < 0) {
		metrics_self_text_unref(t);
		t = NULL;
	}
	*out = t;
	return r;
}

static int self_get(struct metrics_store *s, struct metrics_body **body_out, struct metrics_self_text **out)
{
	struct metrics_self_text *t = NULL;
	int r = 0;

	mutex_lock(&s->lock);
	*body_out = s->body;
	atomic_fetch_add(&s->body->refs, 1);
	if (s->self_text && s->self_text->gen == s->self_gen) {
		t = s->self_text;
		atomic_fetch_add(&t->refs, 1);
	} else {
		r = metrics_self_text_new(&t, &s->self, s->entries, s->n_entries, s->self_gen);
	}
	mutex_unlock(&s->lock);
	/* a text of the cache is compressed already; one made here is not */
	bool made = r == 0 && !t->deflated;
	if (made)
		r = metrics_self_text_compress(t, DEFLATE_JOIN_FINAL);
	return text_settle(s, &s->self_text, self_fresher, t, made, r, out);
}

/*
 * The process metrics: read again (from /proc, outside the lock) at most once a second, so that a scrape stays a
 * list of pieces; a piece the self-metrics follow (open).
 */
static atomic_bool process_held;

void metrics_process_hold(bool hold)
{
	atomic_store(&process_held, hold);
}

static int process_get(struct metrics_store *s, struct metrics_self_text **out)
{
	struct metrics_self_text *t = NULL;
	uint64_t second = (uint64_t)monotime_ms() / 1000 + 1; /* never 0: a cache of gen 0 is none */
	int r = 0;

	mutex_lock(&s->lock);
	if (s->process_text && (s->process_text->gen == second || atomic_load(&process_held))) {
		t = s->process_text;
		atomic_fetch_add(&t->refs, 1);
	}
	mutex_unlock(&s->lock);
	bool made = !t;
	if (made) {
		r = metrics_process_text_new(&t, second);
		if (r == 0)
			r = metrics_self_text_compress(t, DEFLATE_JOIN_OPEN);
	}
	return text_settle(s, &s->process_text, process_fresher, t, made, r, out);
}

static void scrape_add(struct iovec *iov, unsigned *n, size_t *total, const void *base, size_t len)
{
	if (!len)
		return;
	iov[*n].iov_base = (void *)(uintptr_t)base;
	iov[*n].iov_len = len;
	(*n)++;
	*total += len;
}

int metrics_store_scrape(struct metrics_store *s, bool gzip, struct metrics_scrape *out)
{
	struct metrics_body *body = NULL;
	struct metrics_self_text *self = NULL, *proc = NULL, *users;
	unsigned char *trailer;
	size_t n_pieces;
	int r;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!s)
		return -EINVAL;
	r = self_get(s, &body, &self);
	out->refs[0] = body;
	out->refs[1] = self;
	if (r < 0)
		goto fail;
	r = process_get(s, &proc);
	out->refs[3] = proc;
	if (r < 0)
		goto fail;
	mutex_lock(&s->lock);
	users = s->users_text;
	if (users)
		atomic_fetch_add(&users->refs, 1);
	mutex_unlock(&s->lock);
	out->refs[4] = users;
	/*
	 * The pieces: gzip header, the body's, the users' (when identity_store is set), the process and
	 * self-metrics, the trailer (stored after the array).
	 */
	n_pieces = (gzip ? body->n_deflated : body->n_plain) + 5;
	if (n_pieces > UINT_MAX || n_pieces > (SIZE_MAX - 8) / sizeof(struct iovec)) {
		r = -ENOMEM;
		goto fail;
	}
	out->iov = malloc(n_pieces * sizeof(struct iovec) + 8);
	if (!out->iov) {
		r = -ENOMEM;
		goto fail;
	}
	out->refs[2] = out->iov;
	trailer = (unsigned char *)(out->iov + n_pieces);

	if (!gzip) {
		for (size_t i = 0; i < body->n_plain; i++)
			scrape_add(out->iov, &out->n_iov, &out->total_len, body->plain[i].iov_base,
				body->plain[i].iov_len);
		if (users)
			scrape_add(out->iov, &out->n_iov, &out->total_len, users->text.data, users->text.len);
		scrape_add(out->iov, &out->n_iov, &out->total_len, proc->text.data, proc->text.len);
		scrape_add(out->iov, &out->n_iov, &out->total_len, self->text.data, self->text.len);
		return 0;
	}
	/*
	 * One gzip member out of raw deflate streams: the body's parts and the process metrics (sync-flushed, each
	 * independent) and the self-metrics' (finished). The trailer's crc32 and length cover the three texts.
	 */
	uint32_t crc = body->crc;
	size_t text_len = body->text_len;
	if (users) {
		crc = deflate_join_crc32_combine(crc, users->crc, users->text.len);
		text_len += users->text.len;
	}
	crc = deflate_join_crc32_combine(crc, proc->crc, proc->text.len);
	crc = deflate_join_crc32_combine(crc, self->crc, self->text.len);
	deflate_join_gzip_trailer(trailer, crc, text_len + proc->text.len + self->text.len);
	scrape_add(out->iov, &out->n_iov, &out->total_len, deflate_join_gzip_header, sizeof(deflate_join_gzip_header));
	for (size_t i = 0; i < body->n_deflated; i++)
		scrape_add(
			out->iov, &out->n_iov, &out->total_len, body->deflated[i].iov_base, body->deflated[i].iov_len);
	if (users)
		scrape_add(out->iov, &out->n_iov, &out->total_len, users->deflated, users->deflated_len);
	scrape_add(out->iov, &out->n_iov, &out->total_len, proc->deflated, proc->deflated_len);
	scrape_add(out->iov, &out->n_iov, &out->total_len, self->deflated, self->deflated_len);
	scrape_add(out->iov, &out->n_iov, &out->total_len, trailer, 8);
	return 0;
fail:
	metrics_scrape_release(out);
	return r;
}

void metrics_scrape_release(struct metrics_scrape *sc)
{
	if (!sc)
		return;
	body_unref(sc->refs[0]);
	metrics_self_text_unref(sc->refs[1]);
	free(sc->refs[2]);
	metrics_self_text_unref(sc->refs[3]);
	metrics_self_text_unref(sc->refs[4]);
	memset(sc, 0, sizeof(*sc));
}

/* h13 hook (the lead merges it with h11's inventory text): the user names' exposition text. */
int metrics_store_set_users_text(struct metrics_store *s, const char *text, size_t len)
{
	struct metrics_self_text *t = NULL, *old;
	int r = 0;

	if (len) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return -ENOMEM;
		atomic_init(&t->refs, 1);
		r = buf_append(&t->text, text, len);
		if (r == 0) {
			/* Not final: the self-metrics' stream follows it in the gzip member. */
			t->crc = deflate_join_crc32(0, t->text.data, t->text.len);
			r = deflate_join_zlib(
				t->text.data, t->text.len, 6, DEFLATE_JOIN_OPEN, &t->deflated, &t->deflated_len);
		}
		if (r < 0) {
			metrics_self_text_unref(t);
			return r;
		}
	}
	mutex_lock(&s->lock);
	old = s->users_text;
	s->users_text = t;
	mutex_unlock(&s->lock);
	metrics_self_text_unref(old);
	return 0;
}
