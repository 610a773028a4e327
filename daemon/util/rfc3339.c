/* rfc3339: RFC 3339 in and out, and the calendar arithmetic it needs (no libc time zones, any year) */
#include "util/rfc3339.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#define SECONDS_PER_DAY INT64_C(86400)

int64_t rfc3339_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

int64_t rfc3339_floor_mod(int64_t a, int64_t b)
{
	return a - rfc3339_floor_div(a, b) * b;
}

static bool is_leap_year(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && is_leap_year(y))
		return 29;
	return days[m - 1];
}

/*
 * Proleptic Gregorian calendar. Counting years from March makes the leap day the last day of the
 * counted year, so a year's length only matters once it is over; 400 years are exactly 146097 days.
 */
#define DAYS_PER_400_YEARS INT64_C(146097)
/* Days from 0000-03-01 to 1970-01-01. */
#define DAYS_0000_03_01_TO_EPOCH INT64_C(719468)

int64_t rfc3339_days_from_date(int64_t y, int m, int d)
{
	int64_t march_year = m <= 2 ? y - 1 : y;
	int64_t cycle = rfc3339_floor_div(march_year, 400);
	int64_t year_in_cycle = march_year - cycle * 400; /* 0..399 */
	int month_from_march = m <= 2 ? m + 9 : m - 3; /* March 0 .. February 11 */
	/* Months from March have 31,30,31,30,31 days, repeating: 153 days per 5 months. */
	int64_t day_of_year = (153 * month_from_march + 2) / 5 + (d - 1);
	int64_t day_in_cycle = year_in_cycle * 365 + year_in_cycle / 4 - year_in_cycle / 100 + day_of_year;

	return cycle * DAYS_PER_400_YEARS + day_in_cycle - DAYS_0000_03_01_TO_EPOCH;
}

void rfc3339_date_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t z = days + DAYS_0000_03_01_TO_EPOCH;
	int64_t cycle = rfc3339_floor_div(z, DAYS_PER_400_YEARS);
	int64_t day_in_cycle = z - cycle * DAYS_PER_400_YEARS; /* 0..146096 */
	/* The last day of a 400-year cycle would otherwise count as year 400. */
	int64_t year_in_cycle =
		(day_in_cycle - day_in_cycle / 1460 + day_in_cycle / 36524 - day_in_cycle / 146096) / 365;
	int64_t day_of_year = day_in_cycle - (year_in_cycle * 365 + year_in_cycle / 4 - year_in_cycle / 100);
	int month_from_march = (int)((5 * day_of_year + 2) / 153);
	int month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;

	*d = (int)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
	*m = month;
	*y = cycle * 400 + year_in_cycle + (month <= 2 ? 1 : 0);
}

int rfc3339_format(int64_t t, char out[static RFC3339_SIZE])
{
	int64_t y, secs;
	int m, d, n;

	if (t < RFC3339_TIME_MIN || t > RFC3339_TIME_MAX)
		return -EINVAL;
	rfc3339_date_from_days(rfc3339_floor_div(t, SECONDS_PER_DAY), &y, &m, &d);
	secs = rfc3339_floor_mod(t, SECONDS_PER_DAY);
	n = snprintf(out, RFC3339_SIZE, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d, (int)(secs / 3600),
		(int)(secs / 60 % 60), (int)(secs % 60));
	if (n != RFC3339_SIZE - 1)
		return -EINVAL;
	return 0;
}

/* Reads exactly n decimal digits. */
static bool digits_read(const char **p, int n, int *value)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*value = v;
	return true;
}

static bool char_read(const char **p, char a, char b)
{
	if (**p != a && **p != b)
		return false;
	(*p)++;
	return true;
}

/* The one parser under rfc3339_parse() and rfc3339_parse_ms(): UTC seconds, and the fraction's milliseconds. */
static int parse_time(const char *s, int64_t *out, int *millis)
{
	int year, month, day, hour, minute, second, off_h = 0, off_m = 0, sign = 0;
	const char *p = s;
	int64_t t;

	*millis = 0;
	if (!s || !out)
		return -EINVAL;
	if (!digits_read(&p, 4, &year) || !char_read(&p, '-', '-') || !digits_read(&p, 2, &month) ||
		!char_read(&p, '-', '-') || !digits_read(&p, 2, &day) ||
		!(char_read(&p, 'T', 't') || char_read(&p, ' ', ' ')) || !digits_read(&p, 2, &hour) ||
		!char_read(&p, ':', ':') || !digits_read(&p, 2, &minute) || !char_read(&p, ':', ':') ||
		!digits_read(&p, 2, &second))
		return -EINVAL;
	if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 ||
		second > 60)
		return -EINVAL;

	/* A fraction only refines within the second: its first three digits are kept, the rest truncated. */
	if (*p == '.') {
		int scale = 100;

		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
			*millis += (*p - '0') * scale;
	}

	if (char_read(&p, 'Z', 'z')) {
		sign = 0;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
		if (!digits_read(&p, 2, &off_h) || !char_read(&p, ':', ':') || !digits_read(&p, 2, &off_m))
			return -EINVAL;
		if (off_h > 23 || off_m > 59)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;

	/* A leap second (:60) reads as the first second of the next minute. */
	t = rfc3339_days_from_date(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
	t -= (int64_t)sign * (off_h * 3600 + off_m * 60);
	*out = t;
	return 0;
}

int rfc3339_parse(const char *s, int64_t *out)
{
	int millis;

	return parse_time(s, out, &millis);
}

int rfc3339_parse_ms(const char *s, int64_t *out_ms)
{
	int64_t t;
	int millis, r;

	if (!out_ms)
		return -EINVAL;
	r = parse_time(s, &t, &millis);
	if (r == 0)
		*out_ms = t * 1000 + millis;
	return r;
}

int rfc3339_format_ms(int64_t ms, char out[static RFC3339_MS_SIZE])
{
	char whole[RFC3339_SIZE];
	int r = rfc3339_format(rfc3339_floor_div(ms, 1000), whole);

	if (r < 0)
		return r;
	/* "…:SSZ" becomes "…:SS.mmmZ" */
	if (snprintf(out, RFC3339_MS_SIZE, "%.19s.%03dZ", whole, (int)rfc3339_floor_mod(ms, 1000)) !=
		RFC3339_MS_SIZE - 1)
		return -EINVAL;
	return 0;
}
