/* section: a producer's immutable piece of /metrics (per family of its kind: lines and their gzip pieces), bodies */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "metrics/deflate_join.h"
#include "metrics/exposition.h"
#include "util/buf.h"

/*
 * Where a kind's families go in /metrics, first to last. Adding a kind of section is adding its line here (and
 * its kind and producer).
 */
enum metrics_rank {
	METRICS_RANK_USAGE, /* metrics/render: the reports' usage figures, a section per (farm, report) */
	METRICS_RANK_USERS, /* deadline/users: the identity store's user names, one section */
	METRICS_RANK_PROCESS, /* metrics/process: process_*, one section */
	METRICS_RANK_INVENTORY, /* metrics/inventory_render: names, state and budgets, a section per farm */
	METRICS_RANK_ACTIVITY, /* metrics/activity_render: the live state, a section per farm and per region */
	METRICS_RANK_SELF, /* metrics/self: the exporter's own health and counters, one section */
	METRICS_RANK_COUNT,
};

/* The compressed headers of a kind's families (private to section.c). */
struct metrics_kind_headers;

/*
 * A kind of section: its place in /metrics and its families, in output order. Every section of a kind
 * contributes lines to the same families; each family is shown once (header, then every section's lines).
 * Defined once, statically, by the kind's renderer.
 */
struct metrics_kind {
	enum metrics_rank rank;
	const struct exposition_family *families;
	size_t n_families;
	_Atomic(struct metrics_kind_headers *) headers; /* compressed on first use; leave zero */
};

/* A run of whole lines of one family: the text, its piece (deflate_join.h) and the text's CRC-32. */
struct metrics_segment {
	struct buf text;
	unsigned char *deflated; /* NULL until sealed */
	size_t deflated_len;
	uint32_t crc;
};

/* One family's lines of one section, in segments (each allocated alone: render threads hold pointers to them). */
struct metrics_part {
	struct metrics_segment **seg;
	size_t n_seg, cap_seg;
	bool open; /* while rendering: the last segment still takes lines */
};

/*
 * A section: one part per family of its kind. Built by one thread (its producer), sealed, then immutable and
 * shared by reference (the store, the bodies made of it, the scrapes that hold them).
 */
struct metrics_section {
	atomic_size_t refs;
	struct metrics_kind *kind;
	bool sealed; /* by metrics_section_seal(): immutable from then on */
	struct metrics_part part[]; /* kind->n_families */
};

/* An empty section of kind, of one reference (the caller's). Returns 0, -EINVAL (a kind without families) or -ENOMEM.
 */
int metrics_section_new(struct metrics_section **out, struct metrics_kind *kind);
/* Another reference to sec. */
void metrics_section_ref(struct metrics_section *sec);
/* Drops a reference; the last frees it. NULL-safe. */
void metrics_section_unref(struct metrics_section *sec);

/*
 * The buffer the next whole lines of family (an index in the kind's table) go to, while building; write them
 * with exposition.h. NULL without memory.
 */
struct buf *metrics_section_lines(struct metrics_section *sec, size_t family);

/*
 * Ends building sec (NULL when metrics_section_new() failed) whose lines were written with result r: when r is 0,
 * sealed and handed to *out; when r or the seal fails (< 0), freed, *out NULL. Returns r or the seal's result.
 */
int metrics_section_finish(struct metrics_section *sec, int r, struct metrics_section **out);

/*
 * One series, name{k1="v1",…} value\n (exposition_series()), into the lines of family (an index in the kind's
 * table, whose name it takes): value as text, an integer, a double (exposition_int(), exposition_double()).
 * Returns as exposition_series(); -ENOMEM without memory.
 */
int metrics_section_series(
	struct metrics_section *sec, size_t family, const char *const *labels, size_t n_labels, const char *value);
int metrics_section_series_int(
	struct metrics_section *sec, size_t family, const char *const *labels, size_t n_labels, int64_t v);
int metrics_section_series_double(
	struct metrics_section *sec, size_t family, const char *const *labels, size_t n_labels, double v);

/*
 * A state set into family: one series per known value (1 for current, 0 for the others), and current as its own
 * series at 1 when it is not among them (nothing for it when NULL). labels ends with the pair (name, NULL) whose
 * value this fills in. Returns 0 or -ENOMEM.
 */
int metrics_section_state_set(struct metrics_section *sec, size_t family, const char **labels, size_t n_labels,
	const char *const *known, size_t n_known, const char *current);

/* Compresses what is not yet and ends the building: the section is immutable from here. Returns 0 or -ENOMEM. */
int metrics_section_seal(struct metrics_section *sec);

/*
 * The parts' own steps, for a renderer that fills parts on several threads (metrics/render): the buffer the next
 * lines go to (a new segment when the open one is full, which is sealed first), the open segment sealed and
 * compressed with *dj (made on first use: one per thread; dj NULL: zlib's one-shot, as sections built line by line
 * are), a part freed.
 */
struct buf *metrics_part_lines(struct metrics_part *p, struct deflate_join **dj);
int metrics_part_seal(struct metrics_part *p, struct deflate_join **dj);
void metrics_part_deinit(struct metrics_part *p);

/*
 * What a scrape sends of one kind: per family in table order, its header once and then every section's lines in
 * the order given (a family without lines is left out, header included), as pieces of the sections (held by
 * reference): the plain text and its raw deflate (sync-flushed pieces, not final). Refcounted.
 */
struct metrics_body {
	atomic_size_t refs;
	struct metrics_section **sections;
	size_t n_sections;
	struct iovec *plain, *deflated; /* one allocation */
	size_t n_plain, n_deflated;
	size_t text_len, deflated_len;
	uint32_t crc; /* CRC-32 of the whole text */
};

/*
 * The body of secs[0..n) (sealed sections of kind; NULL entries skipped), of one reference: only a list of
 * pieces, no copy and no compression. Returns 0 or -ENOMEM.
 */
int metrics_body_new(
	struct metrics_body **out, struct metrics_kind *kind, struct metrics_section *const *secs, size_t n);
/* Another reference to body. */
void metrics_body_ref(struct metrics_body *body);
/* Drops a reference; the last frees it (and its references to the sections). NULL-safe. */
void metrics_body_unref(struct metrics_body *body);

/*
 * The header of family (an index in the kind's table): its text, that text as a piece and its CRC-32, made once
 * per process on the first call (metrics_section_new() makes them, so a body never waits for it). NULL without
 * memory.
 */
const struct metrics_segment *metrics_kind_header(struct metrics_kind *kind, size_t family);

/* test hook: appends the text of body (its plain pieces one after the other). Returns 0 or -ENOMEM. */
int metrics_body_text(const struct metrics_body *body, struct buf *out);
