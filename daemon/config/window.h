/* window: the [start, end) time range a report's refresh asks for (pure arithmetic) */
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
