/* store: the sections of /metrics (usage reports, inventory, users, process, self), swapped in by reference */
#include "metrics/store.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics/deflate_join.h"
#include "metrics/process.h"
#include "metrics/render.h"
#include "metrics/section.h"
#include "metrics/self.h"
#include "metrics/slots.h"
#include "util/log.h"
#include "util/monotime.h"
#include "util/mutex.h"

struct metrics_store {
	/* Serialises the writers of slots and bodies. Taken before lock; never held while rendering or compressing. */
	pthread_mutex_t build_lock;
	/* The current bodies, the entries and their health, the counters, the refresh bookkeeping. Held briefly. */
	pthread_mutex_t lock;
	struct metrics_slots kinds[METRICS_RANK_COUNT]; /* by rank */
	struct metrics_entry **entries;
	size_t n_entries;
	bool declared;
	struct metrics_self self;
	/* Bumped by every change of what the self-metrics print; self_shown is the one the self section shows. */
	uint64_t self_gen, self_shown;
	double self_at; /* monotonic seconds of the self section's rendering */
	bool self_busy; /* a scrape is rendering it: the others serve the current one */
	/*
	 * A report was declared, dropped, published or failed: the next scrape shows it whatever the self section's
	 * age (these follow refreshes, a few a minute); counter bumps alone wait for self_interval.
	 */
	bool self_urgent;
	uint64_t scrapes; /* scrapes that took the bodies so far (metrics_store_scrapes()) */
	uint64_t process_second; /* the monotonic second the process section was read in (+1: 0 is none) */
	bool process_busy;
};

static _Atomic double self_interval = 1.0;
static atomic_bool process_held;

void metrics_self_interval(double seconds)
{
	atomic_store(&self_interval, seconds);
}

void metrics_process_hold(bool hold)
{
	atomic_store(&process_held, hold);
}

/* The slots of kind: its rank's, unless another kind holds that rank (build_lock held). */
static struct metrics_slots *kind_slots(struct metrics_store *s, struct metrics_kind *kind)
{
	if (!kind || (unsigned)kind->rank >= METRICS_RANK_COUNT ||
		!metrics_slots_take_kind(&s->kinds[kind->rank], kind))
		return NULL;
	return &s->kinds[kind->rank];
}

/* Commits a change made under build_lock: its body swapped in under lock. */
static void kind_commit(struct metrics_store *s, struct metrics_slots *ks, struct metrics_slots_change *ch)
{
	mutex_lock(&s->lock);
	metrics_slots_commit(ks, ch);
	mutex_unlock(&s->lock);
}

int metrics_store_declare(struct metrics_store *s, struct metrics_kind *kind, const char *const *keys, size_t n)
{
	struct metrics_slots_change ch = {0};
	struct metrics_slots *ks;
	int r;

	if (!s || (n && !keys))
		return -EINVAL;
	mutex_lock(&s->build_lock);
	ks = kind_slots(s, kind);
	r = ks ? metrics_slots_declare(ks, keys, NULL, n, &ch) : -EINVAL;
	if (r == 0)
		kind_commit(s, ks, &ch);
	mutex_unlock(&s->build_lock);
	metrics_slots_change_done(&ch);
	return r;
}

int metrics_store_put(struct metrics_store *s, struct metrics_kind *kind, const char *key, struct metrics_section *sec)
{
	struct metrics_slots_change ch = {0};
	struct metrics_slots *ks;
	int r;

	if (!s) {
		metrics_section_unref(sec);
		return -EINVAL;
	}
	mutex_lock(&s->build_lock);
	ks = kind_slots(s, kind);
	r = ks ? metrics_slots_put(ks, key, NULL, sec, &ch) : -EINVAL;
	if (r == 0) {
		sec = NULL; /* the slot's */
		kind_commit(s, ks, &ch);
	}
	mutex_unlock(&s->build_lock);
	metrics_section_unref(sec);
	metrics_slots_change_done(&ch);
	return r;
}

static void entry_free(struct metrics_entry *e)
{
	if (!e)
		return;
	free(e->farm_id);
	free(e->report);
	free(e);
}

/* Renders the self-metrics of the current state into the self kind's section; the store is not shared yet. */
static int store_first_sections(struct metrics_store *s)
{
	struct metrics_self_view view;
	struct metrics_section *self = NULL, *process = NULL;
	int r;

	r = metrics_self_view_init(&view, &s->self, s->entries, s->n_entries);
	if (r < 0)
		return r;
	r = metrics_self_section_new(&self, &view);
	metrics_self_view_deinit(&view);
	if (r == 0)
		r = metrics_store_put(s, &metrics_self_kind, NULL, self);
	if (r == 0)
		r = metrics_process_section_new(&process);
	if (r == 0)
		r = metrics_store_put(s, &metrics_process_kind, NULL, process);
	s->self_at = monotime_s();
	s->process_second = (uint64_t)s->self_at + 1;
	return r;
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
	r = store_first_sections(s);
	if (r < 0) {
		metrics_store_free(s);
		return r;
	}
	*out = s;
	return 0;

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
	for (size_t k = 0; k < METRICS_RANK_COUNT; k++)
		metrics_slots_deinit(&s->kinds[k]);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->build_lock);
	free(s);
}

/* ---- usage reports: a section per (farm, report), and its health ---- */

/*
 * The new entries of cfg (kept ones reused, new ones made), in cfg's order, and their intervals: set in under lock.
 * build_lock held. Returns 0 or -ENOMEM (entries made here freed, the kept ones untouched).
 */
static int entries_of(struct metrics_store *s, const struct config *cfg, struct metrics_entry **entries,
	int64_t *intervals, size_t *n_out)
{
	size_t n = 0;

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
				if (!e || !(e->farm_id = strdup(farm_id)) || !(e->report = strdup(report))) {
					entry_free(e);
					goto fail;
				}
				e->interval_seconds = cfg->reports[r].interval_seconds;
			}
			intervals[n] = cfg->reports[r].interval_seconds;
			entries[n++] = e;
		}
	}
	*n_out = n;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		if (!entries[i]->keep)
			entry_free(entries[i]);
	return -ENOMEM;
}

int metrics_store_set_reports(struct metrics_store *s, const struct config *cfg)
{
	struct metrics_entry **entries = NULL, **old_entries;
	struct metrics_slots_change ch = {0};
	struct metrics_slots *ks;
	const char **keys = NULL, **subs = NULL;
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
	keys = calloc(max ? max : 1, sizeof(*keys));
	subs = calloc(max ? max : 1, sizeof(*subs));
	if (!entries || !intervals || !keys || !subs)
		goto out_free;

	mutex_lock(&s->build_lock);
	ks = kind_slots(s, &metrics_usage_kind);
	ret = ks ? entries_of(s, cfg, entries, intervals, &n) : -EINVAL;
	if (ret < 0)
		goto out_unlock;
	for (size_t i = 0; i < n; i++) {
		keys[i] = entries[i]->farm_id;
		subs[i] = entries[i]->report;
	}
	ret = metrics_slots_declare(ks, keys, subs, n, &ch);
	if (ret < 0) {
		for (size_t i = 0; i < n; i++)
			if (!entries[i]->keep)
				entry_free(entries[i]);
		goto out_unlock;
	}

	mutex_lock(&s->lock);
	metrics_slots_commit(ks, &ch);
	old_entries = s->entries;
	old_n = s->n_entries;
	for (size_t i = 0; i < n; i++)
		entries[i]->interval_seconds = intervals[i];
	s->entries = entries;
	s->n_entries = n;
	s->declared = true;
	s->self_gen++;
	s->self_urgent = true;
	metrics_self_prune(&s->self, entries, n, true);
	metrics_self_declare_counters(&s->self, cfg);
	mutex_unlock(&s->lock);

	for (size_t i = 0; i < old_n; i++)
		if (!old_entries[i]->keep)
			entry_free(old_entries[i]);
	free(old_entries);
	entries = NULL;
out_unlock:
	mutex_unlock(&s->build_lock);
	metrics_slots_change_done(&ch);
out_free:
	free(entries);
	free(intervals);
	free(keys);
	free(subs);
	return ret;
}

int metrics_store_publish(struct metrics_store *s, const char *farm_id, const struct report_config *r,
	struct usage_table *t, int64_t window_start, int64_t window_end, int64_t now, double duration_seconds)
{
	struct metrics_slots_change ch = {0};
	struct metrics_section *sec = NULL;
	struct metrics_entry *e;
	int ret;

	if (!s || !farm_id || !r || !r->name || !t)
		return -EINVAL;
	ret = metrics_usage_section_new(&sec, farm_id, r, t, window_start, window_end);
	if (ret < 0)
		return ret;

	mutex_lock(&s->build_lock);
	e = metrics_entry_find(s->entries, s->n_entries, farm_id, r->name);
	ret = e ? metrics_slots_put(kind_slots(s, &metrics_usage_kind), farm_id, r->name, sec, &ch) : -ENOENT;
	if (ret == -ENOENT)
		log_debug("component=metrics op=publish farm=%s report=%s reason=\"figures of an undeclared report "
			  "dropped\"",
			farm_id, r->name);
	if (ret == 0) {
		sec = NULL; /* the slot's now */
		mutex_lock(&s->lock);
		metrics_slots_commit(&s->kinds[METRICS_RANK_USAGE], &ch);
		e->attempted = true;
		e->up = true;
		e->succeeded = true;
		e->last_success = now;
		e->duration = duration_seconds;
		s->self_gen++;
		s->self_urgent = true;
		mutex_unlock(&s->lock);
	}
	mutex_unlock(&s->build_lock);
	metrics_section_unref(sec);
	metrics_slots_change_done(&ch);
	return ret;
}

void metrics_store_report_resources(
	struct metrics_store *s, const char *farm_id, const char *report, enum resource_kind kind)
{
	struct metrics_entry *e;

	if (!s || !farm_id || !report)
		return;
	mutex_lock(&s->lock);
	e = metrics_entry_find(s->entries, s->n_entries, farm_id, report);
	if (e && (!e->kind_known || e->kind != kind)) {
		e->kind_known = true;
		e->kind = kind;
		s->self_gen++;
	}
	mutex_unlock(&s->lock);
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
		s->self_urgent = true;
	}
	mutex_unlock(&s->lock);
}

int metrics_store_drop(struct metrics_store *s, const char *farm_id, const char *report)
{
	struct metrics_slots_change ch = {0};
	struct metrics_slots *ks;
	struct metrics_entry *e = NULL;
	const char **keys = NULL, **subs = NULL;
	size_t i, k = 0;
	int ret = -ENOENT;

	if (!s || !farm_id || !report)
		return -EINVAL;
	mutex_lock(&s->build_lock);
	ks = kind_slots(s, &metrics_usage_kind);
	for (i = 0; i < s->n_entries; i++)
		if (!strcmp(s->entries[i]->farm_id, farm_id) && !strcmp(s->entries[i]->report, report))
			break;
	if (i == s->n_entries || !ks)
		goto out_unlock;
	/* The pairs without it, declared again (a failure leaves everything as it was). */
	ret = -ENOMEM;
	keys = calloc(s->n_entries, sizeof(*keys));
	subs = calloc(s->n_entries, sizeof(*subs));
	if (!keys || !subs)
		goto out_unlock;
	for (size_t j = 0; j < s->n_entries; j++) {
		if (j == i)
			continue;
		keys[k] = s->entries[j]->farm_id;
		subs[k++] = s->entries[j]->report;
	}
	ret = metrics_slots_declare(ks, keys, subs, k, &ch);
	if (ret < 0)
		goto out_unlock;
	e = s->entries[i];
	mutex_lock(&s->lock);
	metrics_slots_commit(ks, &ch);
	memmove(&s->entries[i], &s->entries[i + 1], (s->n_entries - i - 1) * sizeof(*s->entries));
	s->n_entries--;
	s->self_gen++;
	s->self_urgent = true;
	/* The pair's series only: the farm's own counters go on (it is declared again, or dropped with the farm). */
	metrics_self_prune(&s->self, s->entries, s->n_entries, false);
	mutex_unlock(&s->lock);
out_unlock:
	mutex_unlock(&s->build_lock);
	metrics_slots_change_done(&ch);
	free(keys);
	free(subs);
	entry_free(e);
	return ret;
}

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

/* ---- the exporter's own counters: counted here, rendered by a scrape ---- */

void metrics_store_count_request(struct metrics_store *s, const char *farm_id, const char *operation, long status)
{
	if (!s || !operation)
		return;
	mutex_lock(&s->lock);
	s->self_gen++;
	metrics_self_count_request(&s->self, farm_id ? farm_id : "-", operation, status, 1);
	mutex_unlock(&s->lock);
}

void metrics_store_declare_request(struct metrics_store *s, const char *farm_id, const char *operation)
{
	if (!s || !operation)
		return;
	mutex_lock(&s->lock);
	s->self_gen++;
	/* Declarations come at start and reload: shown at the next scrape, not a second later. */
	s->self_urgent = true;
	metrics_self_count_request(&s->self, farm_id ? farm_id : "-", operation, 200, 0);
	mutex_unlock(&s->lock);
}

void metrics_store_count(
	struct metrics_store *s, enum metrics_counter c, const char *const *label_values, uint64_t delta)
{
	if (!s || (unsigned)c >= METRICS_COUNTER_COUNT || !label_values)
		return;
	mutex_lock(&s->lock);
	s->self_gen++;
	s->self_urgent |= delta == 0;
	metrics_self_count(&s->self, c, label_values, delta);
	mutex_unlock(&s->lock);
}

/* ---- scrapes ---- */

/*
 * The self-metrics again, when what they print changed and they are self_interval old: the state copied under
 * the lock, rendered and compressed outside it, by one scrape at a time (the others serve the current section).
 * A failure keeps the current section (tried again by the next scrape).
 */
static void self_refresh(struct metrics_store *s)
{
	struct metrics_self_view view;
	struct metrics_section *sec = NULL;
	double now = monotime_s();
	uint64_t gen = 0;
	bool due;
	int r;

	mutex_lock(&s->lock);
	due = !s->self_busy && s->self_gen != s->self_shown &&
	      (s->self_urgent || now - s->self_at >= atomic_load(&self_interval));
	if (due) {
		due = metrics_self_view_init(&view, &s->self, s->entries, s->n_entries) == 0;
		s->self_busy = due;
		gen = s->self_gen;
	}
	mutex_unlock(&s->lock);
	if (!due)
		return;
	r = metrics_self_section_new(&sec, &view);
	metrics_self_view_deinit(&view);
	if (r == 0)
		r = metrics_store_put(s, &metrics_self_kind, NULL, sec);
	mutex_lock(&s->lock);
	s->self_busy = false;
	if (r == 0) {
		s->self_shown = gen;
		s->self_at = now;
		if (gen == s->self_gen)
			s->self_urgent = false;
	}
	mutex_unlock(&s->lock);
	if (r < 0)
		log_warning("component=metrics op=scrape error=\"%s\" reason=\"the previous self-metrics are shown\"",
			strerror(-r));
}

/* The process metrics again, read from /proc (outside the lock) at most once a second, by one scrape at a time. */
static void process_refresh(struct metrics_store *s)
{
	struct metrics_section *sec = NULL;
	uint64_t second = (uint64_t)monotime_s() + 1; /* never 0 */
	bool due;
	int r;

	mutex_lock(&s->lock);
	due = !s->process_busy && s->process_second != second && !atomic_load(&process_held);
	s->process_busy |= due;
	mutex_unlock(&s->lock);
	if (!due)
		return;
	r = metrics_process_section_new(&sec);
	if (r == 0)
		r = metrics_store_put(s, &metrics_process_kind, NULL, sec);
	mutex_lock(&s->lock);
	s->process_busy = false;
	if (r == 0)
		s->process_second = second;
	mutex_unlock(&s->lock);
	if (r < 0)
		log_warning(
			"component=metrics op=scrape error=\"%s\" reason=\"the previous process metrics are shown\"",
			strerror(-r));
}

/* What a scrape holds: a reference to each kind's body, the pieces, the gzip trailer. One allocation. */
struct scrape_held {
	struct metrics_body *bodies[METRICS_RANK_COUNT];
	size_t n_bodies;
	unsigned char trailer[8];
	struct iovec iov[];
};

static void scrape_add(struct metrics_scrape *sc, const void *base, size_t len)
{
	if (!len)
		return;
	sc->iov[sc->n_iov].iov_base = (void *)(uintptr_t)base;
	sc->iov[sc->n_iov].iov_len = len;
	sc->n_iov++;
	sc->total_len += len;
}

/* The empty final block (fixed Huffman, end of block only): closes a stream of sync-flushed pieces. */
static const unsigned char deflate_end[2] = {0x03, 0x00};

int metrics_store_scrape(struct metrics_store *s, bool gzip, struct metrics_scrape *out)
{
	struct metrics_body *bodies[METRICS_RANK_COUNT];
	struct scrape_held *held;
	size_t n_bodies = 0, n_pieces = 3, text_len = 0;
	uint32_t crc = 0;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!s)
		return -EINVAL;
	process_refresh(s);
	self_refresh(s);
	mutex_lock(&s->lock);
	for (size_t k = 0; k < METRICS_RANK_COUNT; k++) {
		if (!s->kinds[k].body)
			continue;
		metrics_body_ref(s->kinds[k].body);
		bodies[n_bodies++] = s->kinds[k].body;
	}
	/* Under the lock a publish swaps its section in: a mark read after the publish counts this scrape or not. */
	s->scrapes++;
	mutex_unlock(&s->lock);

	for (size_t k = 0; k < n_bodies; k++)
		n_pieces += gzip ? bodies[k]->n_deflated : bodies[k]->n_plain;
	if (n_pieces > UINT_MAX || n_pieces > (SIZE_MAX - sizeof(*held)) / sizeof(struct iovec))
		held = NULL;
	else
		held = malloc(sizeof(*held) + n_pieces * sizeof(struct iovec));
	if (!held) {
		for (size_t k = 0; k < n_bodies; k++)
			metrics_body_unref(bodies[k]);
		return -ENOMEM;
	}
	memcpy(held->bodies, bodies, n_bodies * sizeof(*bodies));
	held->n_bodies = n_bodies;
	out->held = held;
	out->iov = held->iov;
	if (!gzip) {
		for (size_t k = 0; k < n_bodies; k++)
			for (size_t i = 0; i < bodies[k]->n_plain; i++)
				scrape_add(out, bodies[k]->plain[i].iov_base, bodies[k]->plain[i].iov_len);
		return 0;
	}
	/*
	 * One gzip member out of the bodies' raw deflate pieces (sync-flushed, each independent), closed by an empty
	 * final block; the trailer's CRC-32 and length cover every text, combined from the bodies'.
	 */
	scrape_add(out, deflate_join_gzip_header, sizeof(deflate_join_gzip_header));
	for (size_t k = 0; k < n_bodies; k++) {
		for (size_t i = 0; i < bodies[k]->n_deflated; i++)
			scrape_add(out, bodies[k]->deflated[i].iov_base, bodies[k]->deflated[i].iov_len);
		crc = deflate_join_crc32_combine(crc, bodies[k]->crc, bodies[k]->text_len);
		text_len += bodies[k]->text_len;
	}
	scrape_add(out, deflate_end, sizeof(deflate_end));
	deflate_join_gzip_trailer(held->trailer, crc, text_len);
	scrape_add(out, held->trailer, sizeof(held->trailer));
	return 0;
}

uint64_t metrics_store_scrapes(struct metrics_store *s)
{
	uint64_t n;

	if (!s)
		return 0;
	mutex_lock(&s->lock);
	n = s->scrapes;
	mutex_unlock(&s->lock);
	return n;
}

void metrics_scrape_release(struct metrics_scrape *sc)
{
	struct scrape_held *held;

	if (!sc)
		return;
	held = sc->held;
	for (size_t k = 0; held && k < held->n_bodies; k++)
		metrics_body_unref(held->bodies[k]);
	free(held);
	memset(sc, 0, sizeof(*sc));
}
