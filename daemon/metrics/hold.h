/* hold: a counter report's figures never decrease within a window: each group's largest published, and its text form */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/usage.h"
#include "util/buf.h"

/*
 * A decrease smaller than this fraction of the figure is the rounding of a sum added in another order (batches,
 * buckets): it is held like any other, but not counted as held.
 */
#define USAGE_HOLD_NOISE 1e-9

/* The longest text usage_hold_read() takes, and the most groups it restores. */
#define USAGE_HOLD_TEXT_MAX ((size_t)256 * 1024 * 1024)

/* Outcomes of usage_hold_read() beyond 0 and -errno. */
enum usage_hold_read_outcome {
	USAGE_HOLD_OTHER_KEY = 1, /* the text is of another definition of the report: nothing restored */
};

/*
 * What a counter report last published, per group, and the start of the window those figures cover. Owned by the
 * report's refresh (one thread at a time); nothing in it is locked.
 */
struct usage_hold;

/* An empty hold: nothing published yet. Returns 0 or -ENOMEM. */
int usage_hold_new(struct usage_hold **out);
/* NULL-safe; frees the table usage_hold_apply() handed out last. */
void usage_hold_free(struct usage_hold *h);

/* Whether h holds figures (published, or restored by usage_hold_read()); *window_start (or NULL) their window. */
bool usage_hold_window(const struct usage_hold *h, int64_t *window_start);

/* What usage_hold_apply() did besides passing figures on. */
struct usage_hold_stats {
	size_t held; /* groups of which a figure was kept from h by more than USAGE_HOLD_NOISE, missing ones included */
	size_t new_at_zero; /* groups h did not hold, shown at 0 this time */
};

/*
 * The figures to publish for a refresh of the window starting at window_start whose merged groups are t (t is
 * sorted, its figures not changed). In the window h holds: each group's session count, cost sum and runtime sum
 * are at least those h holds (a smaller one keeps h's); h's groups missing from t are kept as they were (a deleted
 * queue); a group h does not hold yet is shown at 0, its figures at the next apply: Prometheus counts a new series
 * from its first sample, so that first sample must be 0 for increase() to count the group's first figures. In
 * another window, or when h holds nothing: t's figures as they are (the counters' first figures, or a reset without
 * usage_hold_reset()). MIN/MAX/AVG come from t for the groups it has. *out is a new table, owned by h (valid until
 * the next apply, reset or usage_hold_free()), which h then holds. Returns 0, -EINVAL (a table of another key width
 * than the figures h holds) or -ENOMEM (h unchanged).
 */
int usage_hold_apply(struct usage_hold *h, const struct usage_table *t, int64_t window_start, struct usage_table **out,
	struct usage_hold_stats *stats);

/*
 * The figures at the very start of the window starting at window_start, the new window's t being known: every
 * group h holds with a figure other than 0, and every group of t, at 0. Published after the ending window's last
 * figures, they show Prometheus every counter's reset (a drop to 0, even where the new figure would be larger than
 * the old one), and the new window's groups at 0 before their first figures. *out as for usage_hold_apply(). Returns
 * 0, -EINVAL or -ENOMEM (h unchanged).
 */
int usage_hold_reset(struct usage_hold *h, const struct usage_table *t, int64_t window_start, struct usage_table **out);

/*
 * Appends h's figures as text: key (the caller's text for the report's definition), the window, and per group its
 * key values, job name, session count, cost sum and runtime sum, each sum exactly (read back bit for bit). An empty
 * h writes no groups and no window. Returns 0, -EINVAL or -ENOMEM.
 */
int usage_hold_write(const struct usage_hold *h, const char *key, struct buf *out);

/*
 * Restores into h (empty: usage_hold_new()) the figures of text (len bytes, usage_hold_write()'s form) when written
 * with the same key. The groups are turned into a table keyed like the first table applied; MIN/MAX/AVG are not
 * kept. Returns 0, USAGE_HOLD_OTHER_KEY, -EINVAL (not that form, cut short, or h not empty: nothing restored; err
 * says where, as "line N: what") or -ENOMEM.
 */
int usage_hold_read(struct usage_hold *h, const char *key, const char *text, size_t len, char *err, size_t errlen);
