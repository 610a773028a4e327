/* rfc3339: UTC seconds to and from RFC 3339 text, and the proleptic Gregorian day arithmetic under it */
#pragma once

#include <stdint.h>

/* "2026-11-01T00:00:00Z" and its NUL. */
#define RFC3339_SIZE 21

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the instants RFC 3339 can write. */
#define RFC3339_TIME_MIN INT64_C(-62167219200)
#define RFC3339_TIME_MAX INT64_C(253402300799)

/* Formats UTC seconds as "2026-11-01T00:00:00Z". Returns 0, or -EINVAL outside the years 0000-9999. */
int rfc3339_format(int64_t t, char out[static RFC3339_SIZE]);

/*
 * Parses an RFC 3339 date-time into UTC seconds: "2026-11-01T00:00:00Z", "…T00:00:00.123+05:30". The 'T'
 * and 'Z' may be lower case, and the 'T' a space (RFC 3339 section 5.6 allows it; credential_process tools
 * write it). A fraction is accepted and dropped; a leap second (:60) reads as the next minute's first.
 * Returns 0, or -EINVAL for anything else (NULL arguments included).
 */
int rfc3339_parse(const char *s, int64_t *out);

/* "2026-11-01T00:00:00.123Z" and its NUL. */
#define RFC3339_MS_SIZE 25

/*
 * As rfc3339_parse(), into milliseconds since the epoch: the fraction's first three digits are kept (the others
 * truncated). Returns 0 or -EINVAL.
 */
int rfc3339_parse_ms(const char *s, int64_t *out_ms);

/* Formats milliseconds since the epoch as "2026-11-01T00:00:00.123Z". Returns 0, or -EINVAL outside 0000-9999. */
int rfc3339_format_ms(int64_t ms, char out[static RFC3339_MS_SIZE]);

/* Days since 1970-01-01 of the date y-m-d (m 1..12, d 1..31), proleptic Gregorian, any year. */
int64_t rfc3339_days_from_date(int64_t y, int m, int d);

/* The inverse of rfc3339_days_from_date(). */
void rfc3339_date_from_days(int64_t days, int64_t *y, int *m, int *d);

/* Floor division and its remainder (the sign of b): what calendar arithmetic before 1970 needs. b > 0. */
int64_t rfc3339_floor_div(int64_t a, int64_t b);
int64_t rfc3339_floor_mod(int64_t a, int64_t b);
