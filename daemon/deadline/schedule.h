/* schedule: when each report of a farm is refreshed next (pure arithmetic on a clock given by the caller) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* A failed refresh is retried after min(interval, 10 s × 2^(failures-1)), with jitter. */
#define SCHEDULE_RETRY_FIRST_S 10.0

/* One report's place in its farm's schedule (or, with rc NULL, the farm's inventory listing). */
struct schedule_slot {
	const struct report_config *rc;
	double next_due; /* seconds on the caller's monotonic clock */
	unsigned failures; /* consecutive failed refreshes */
	int64_t interval_seconds; /* when rc is NULL: the period */
};

/*
 * The slot to refresh at time now: NULL with *wait_s set (seconds until the earliest is due; 0 and NULL
 * when there are no slots, *wait_s < 0) or the earliest due slot.
 */
struct schedule_slot *schedule_next(struct schedule_slot *slots, size_t n, double now, double *wait_s);

/*
 * Records a refresh of s that began at began and ended at now. Success keeps the cadence (began +
 * interval; a refresh longer than its interval is followed at once, never by a catch-up burst); failure
 * waits 10 s × 2^(failures-1) up to the interval (the interval outright when persistent), × [0.75, 1.25)
 * by random_unit. Returns the delay until s is due again, in seconds.
 */
double schedule_record(struct schedule_slot *s, bool ok, bool persistent, double began, double now, double random_unit);
