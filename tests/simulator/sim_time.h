/* sim_time: RFC 3339 text, fixed-offset timezones and period buckets for the simulator (pure arithmetic) */
#pragma once

#include <stdint.h>

/* Times are UTC milliseconds since the epoch throughout the simulator's aggregation code. */
#define SIM_MS_PER_SECOND INT64_C(1000)
#define SIM_MS_PER_MINUTE (60 * SIM_MS_PER_SECOND)
#define SIM_MS_PER_HOUR (60 * SIM_MS_PER_MINUTE)
#define SIM_MS_PER_DAY (24 * SIM_MS_PER_HOUR)

/* Room for "-292277026596-12-04T15:30:07.808Z" and anything shorter. */
#define SIM_RFC3339_SIZE 40

enum sim_period {
	SIM_PERIOD_NONE,
	SIM_PERIOD_HOURLY,
	SIM_PERIOD_DAILY,
	SIM_PERIOD_WEEKLY,
	SIM_PERIOD_MONTHLY,
};

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31). */
int64_t sim_days_from_civil(int64_t year, int month, int day);
/* The date of a day number (inverse of sim_days_from_civil()). */
void sim_civil_from_days(int64_t days, int64_t *year, int *month, int *day);

/* Floor division and modulo (the result of the modulo has the sign of b, b > 0). */
int64_t sim_floor_div(int64_t a, int64_t b);
int64_t sim_floor_mod(int64_t a, int64_t b);

/*
 * Parses an RFC 3339 date-time ("2026-11-01T00:00:00Z", "2026-11-01T05:30:00.25+05:30"); fractions
 * beyond milliseconds are truncated toward the past. Returns 0 or -EINVAL.
 */
int sim_rfc3339_parse(const char *s, int64_t *ms);

/* Formats UTC milliseconds as "2026-11-01T00:00:00Z", with ".250" before the Z when not whole seconds. */
void sim_rfc3339_format(int64_t ms, char out[SIM_RFC3339_SIZE]);

/* Parses the API's timezone, exactly "UTC" [+-] [01][0-9] ":" ("00"|"30"). Returns 0 or -EINVAL. */
int sim_timezone_parse(const char *s, int *offset_minutes);

/* Parses "HOURLY" ... "MONTHLY". Returns 0 or -EINVAL. */
int sim_period_parse(const char *s, enum sim_period *out);
const char *sim_period_name(enum sim_period p);

/*
 * The start (UTC ms) of the period bucket containing t, with boundaries on the local clock of a
 * fixed offset: hours, midnights, Mondays or the first of the month. Not for SIM_PERIOD_NONE.
 */
int64_t sim_bucket_start(int64_t t, enum sim_period p, int offset_minutes);
/* The start of the bucket after the one starting at bucket_start. */
int64_t sim_bucket_next(int64_t bucket_start, enum sim_period p, int offset_minutes);
