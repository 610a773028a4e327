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

/*
 * Transition: rfc3339_format() and rfc3339_parse() (util/rfc3339.h) under their old names, kept only for
 * deadline/poller.c and deadline/deadline_api.c; remove once those call util/rfc3339 directly.
 */
int window_format_rfc3339(int64_t t, char out[static 21]);
int window_parse_rfc3339(const char *s, int64_t *out);
