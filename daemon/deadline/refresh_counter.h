/* refresh_counter: a counter report's share of its refresh: its state restored, its window, its publishes */
#pragma once

#include <stdint.h>

#include "config/config.h"
#include "deadline/counter_state.h"
#include "deadline/refresh.h"
#include "metrics/usage.h"

/*
 * The window [*start, now) of a refresh of counter report rc beginning at now, and *plan (the closing refresh
 * first, when the window of its figures ended): cs's file read before its first refresh, then counter_plan().
 * Returns 0, REFRESH_CLOCK_BEHIND or -errno.
 */
int refresh_counter_window(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs,
	int64_t now, int64_t *start, struct counter_plan *plan);

/*
 * The window of the figures held ended: t, its figures up to its end ([plan->closing_start, plan->closing_end),
 * merged by rc's labels), published (twice when groups new in it must first show at 0), each after a scrape took
 * the figures before. began is when the refresh began (monotime_s()). Returns 0, API_STOPPED or what
 * counter_publish() returned.
 */
int refresh_counter_close(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs,
	const struct counter_plan *plan, struct usage_table *t, double began);

/*
 * rc's figures t of [start, now) (merged by its labels): when the window of the figures held is another, every
 * counter at 0 at start first (Prometheus then sees each reset), then t held and published. *shown is the table
 * published (cs's). Returns 0, API_STOPPED or what counter_publish() returned.
 */
int refresh_counter_publish(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs,
	struct usage_table *t, int64_t start, int64_t now, double began, struct usage_table **shown);
