/* counter_state: a counter report's held figures, the closing refresh at its window's end, its file across restarts */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "metrics/hold.h"
#include "metrics/store.h"

/*
 * After publishing figures that a scrape must see (a window's closing figures, the counters at 0 at the start of the
 * next), how long the next figures wait for a scrape to have taken them (seconds): Prometheus' staleness period,
 * beyond which a scrape interval cannot follow a series anyway.
 */
#define COUNTER_SCRAPE_WAIT_S 300.0

/* The file of a (farm, report) under the state directory: COUNTER_STATE_PREFIX farm "-" report COUNTER_STATE_SUFFIX. */
#define COUNTER_STATE_PREFIX "counter-"
#define COUNTER_STATE_SUFFIX ".state"

/* Outcomes of counter_plan() beyond 0 and -errno. */
enum counter_plan_outcome {
	COUNTER_CLOCK_BEHIND = 1, /* now is in a window before the one of the figures held: the clock went back */
};

/* What a refresh of a counter report asks for. */
struct counter_plan {
	bool closing; /* first [closing_start, closing_end): the window of the figures held, up to its end */
	int64_t closing_start, closing_end;
	int64_t start; /* then [start, now): the window of now */
};

/*
 * The plan of a refresh of counter report r beginning at now (UTC seconds), when the figures held (published, or
 * restored from the state file) are of the window starting at held_start (have) and, with closed, already the
 * closing figures of that window. The window of now is asked for; when it is not the held one and the held one was
 * not closed, the held window up to its end first, so nothing spent before the boundary is lost to increase().
 * Pure. Returns 0, COUNTER_CLOCK_BEHIND (*p unset: the figures stay until the clock is past them again) or -EINVAL.
 */
int counter_plan(
	const struct report_config *r, bool have, int64_t held_start, bool closed, int64_t now, struct counter_plan *p);

/*
 * The definition of r that its figures depend on, as one line: the window, timezone, group_by, labels and keep. A
 * state file written with another is not restored; interval, statistics, period, resources and the farm's lists may
 * change. A new string, or NULL without memory.
 */
char *counter_state_key(const struct report_config *r);

/*
 * Where counter states are kept: the first of the colon-separated paths of $STATE_DIRECTORY (systemd's
 * StateDirectory=), as a new string; NULL when it is unset or empty (or without memory).
 */
char *counter_state_dir(void);

/* A counter report's state in its farm's thread. */
struct counter_state {
	struct usage_hold *hold; /* the figures published, held at their largest within their window */
	char *key; /* counter_state_key() */
	char *path; /* the state file, or NULL: not kept across restarts */
	bool loaded; /* the file was looked at (counter_state_restore()) */
	bool closed; /* the figures held are the closing ones of their window */
	bool waiting; /* figures were published that a scrape must take before the next (closing, reset, new groups) */
	uint64_t wait_mark; /* then: the store's scrape mark right after they were published */
	double wait_since; /* and when (monotime_s()) */
	bool save_failing; /* the last write of the file failed (logged once until one succeeds) */
	size_t last_held; /* groups held at the last publish: a steady number is logged once */
};

/*
 * A new state for (farm_id, r) with nothing held; its file under dir (NULL: none) is read by counter_state_restore().
 * Returns 0, -EINVAL or -ENOMEM.
 */
int counter_state_new(struct counter_state **out, const char *dir, const char *farm_id, const struct report_config *r);
/* NULL-safe. */
void counter_state_free(struct counter_state *cs);

/* Outcomes of counter_state_restore() beyond 0 and -errno. */
enum counter_restore_outcome {
	COUNTER_RESTORE_NONE = 1, /* no file, or no state directory: nothing held */
	COUNTER_RESTORE_OTHER_KEY, /* the file is of another definition of the report: nothing held */
	COUNTER_RESTORE_UNUSABLE, /* unreadable, too large or not a state (err says why): nothing held */
};

/*
 * The first time only (cs->loaded), when cs holds nothing yet: reads cs's file and holds its figures. Returns 0
 * (restored), an enum counter_restore_outcome (err says why for COUNTER_RESTORE_UNUSABLE) or -ENOMEM.
 */
int counter_state_restore(struct counter_state *cs, char *err, size_t errlen);

/*
 * Writes what cs holds to its file (file_replace(): whole or not at all). Returns 0 (also without a file), -ENOMEM
 * or the -errno of the write.
 */
int counter_state_save(struct counter_state *cs);

/* What counter_publish() publishes. */
enum counter_publish_kind {
	COUNTER_FIGURES, /* t's figures, held (usage_hold_apply()) */
	COUNTER_RESET, /* every counter at 0 at the start of t's window (usage_hold_reset()): window_end is window_start
			*/
};

/*
 * Publishes t, the merged figures of [window_start, window_end) of counter report r on farm_id, through cs: held or
 * reset as kind says, handed to the store (metrics_store_publish(); duration: the refresh's), the groups held counted
 * in deadline_cloud_exporter_usage_decreases_held_total, and cs written to its file (a failed write is logged, once
 * until one succeeds; the figures stay published). *published (or NULL): the table published, owned by cs until its
 * next publish; *stats (or NULL): what the hold did. Returns 0, or the -errno of the hold or of the store.
 */
int counter_publish(struct counter_state *cs, struct metrics_store *store, const char *farm_id,
	const struct report_config *r, struct usage_table *t, int64_t window_start, int64_t window_end, double duration,
	enum counter_publish_kind kind, struct usage_table **published, struct usage_hold_stats *stats);

/* Figures were just published that a scrape must take before the next ones; scrapes stood at mark, the clock at now. */
void counter_state_published(struct counter_state *cs, uint64_t mark, double now);

/*
 * Whether the next figures may replace those published: none wait, a scrape took them (scrapes, the store's mark
 * now, beyond the one at their publish), or COUNTER_SCRAPE_WAIT_S passed since (monotonic now). Otherwise *wait_s
 * (or NULL) is the time left. Pure.
 */
bool counter_state_scraped(const struct counter_state *cs, uint64_t scrapes, double now, double *wait_s);
