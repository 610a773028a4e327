/* window: the [start, end) time range a report's refresh asks for; where a calendar window ends (pure arithmetic) */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config/config.h"

/*
 * Start of the report's window for a refresh that begins at now (UTC seconds):
 * day/week (Monday)/month: the start of the calendar period containing now, in the report's
 * fixed-offset timezone, expressed in UTC; rolling: now - window_seconds.
 * Returns 0, or -EINVAL for an invalid report.
 */
int window_start(const struct report_config *r, int64_t now, int64_t *start);

/*
 * End of the calendar window containing now (UTC seconds): the start of the next day, week (Monday) or month in the
 * report's fixed-offset timezone, expressed in UTC; the boundary where a counter report's figures reset. Always
 * after now, and window_start() of it is itself. Returns 0, or -EINVAL for a rolling window (it has no boundary),
 * an invalid report, or an end past the last instant RFC 3339 can write.
 */
int window_end(const struct report_config *r, int64_t now, int64_t *end);
