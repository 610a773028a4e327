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

/* Formats UTC seconds as "2026-11-01T00:00:00Z" (needs 21 bytes). Returns 0 or -EINVAL. */
int window_format_rfc3339(int64_t t, char out[static 21]);

/* Parses RFC 3339 ("2026-11-01T00:00:00Z", "...T00:00:00.123+05:30"). Returns 0 or -EINVAL. */
int window_parse_rfc3339(const char *s, int64_t *out);
