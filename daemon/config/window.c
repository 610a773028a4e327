/* window: calendar and rolling window starts in fixed-offset timezones, RFC 3339 in and out (no libc time zones) */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "config/window.h"

#define SECONDS_PER_DAY INT64_C(86400)

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years RFC 3339 can write. */
#define WINDOW_TIME_MIN INT64_C(-62167219200)
#define WINDOW_TIME_MAX INT64_C(253402300799)

/* Largest offset accepted from a report: the API's form allows up to 19:30 either way. */
#define WINDOW_OFFSET_MAX_MINUTES (24 * 60 - 1)

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
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

/* Days since the epoch of y-m-d (m 1..12, d 1..31). */
static int64_t days_from_date(int64_t y, int m, int d)
{
	int64_t march_year = m <= 2 ? y - 1 : y;
	int64_t cycle = floor_div(march_year, 400);
	int64_t year_in_cycle = march_year - cycle * 400; /* 0..399 */
	int month_from_march = m <= 2 ? m + 9 : m - 3; /* March 0 .. February 11 */
	/* Months from March have 31,30,31,30,31 days, repeating: 153 days per 5 months. */
	int64_t day_of_year = (153 * month_from_march + 2) / 5 + (d - 1);
	int64_t day_in_cycle = year_in_cycle * 365 + year_in_cycle / 4 - year_in_cycle / 100 + day_of_year;

	return cycle * DAYS_PER_400_YEARS + day_in_cycle - DAYS_0000_03_01_TO_EPOCH;
}

/* The inverse: y-m-d of a day count since the epoch. */
static void date_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t z = days + DAYS_0000_03_01_TO_EPOCH;
	int64_t cycle = floor_div(z, DAYS_PER_400_YEARS);
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

int window_start(const struct report_config *r, int64_t now, int64_t *start)
{
	int64_t offset, day, y, first;
	int m, d;

	if (!r || !start)
		return -EINVAL;
	if (r->window == WINDOW_ROLLING) {
		if (r->window_seconds <= 0 || now < WINDOW_TIME_MIN || now > WINDOW_TIME_MAX ||
			r->window_seconds > WINDOW_TIME_MAX - WINDOW_TIME_MIN)
			return -EINVAL;
		*start = now - r->window_seconds;
		return 0;
	}
	if (r->tz_offset_minutes < -WINDOW_OFFSET_MAX_MINUTES || r->tz_offset_minutes > WINDOW_OFFSET_MAX_MINUTES)
		return -EINVAL;
	if (now < WINDOW_TIME_MIN || now > WINDOW_TIME_MAX)
		return -EINVAL;

	offset = (int64_t)r->tz_offset_minutes * 60;
	/* The calendar day of now on the report's wall clock. */
	day = floor_div(now + offset, SECONDS_PER_DAY);
	switch (r->window) {
	case WINDOW_DAY:
		first = day;
		break;
	case WINDOW_WEEK:
		/* 1970-01-01 was a Thursday: +3 makes Monday 0. */
		first = day - floor_mod(day + 3, 7);
		break;
	case WINDOW_MONTH:
		date_from_days(day, &y, &m, &d);
		first = days_from_date(y, m, 1);
		break;
	default:
		return -EINVAL;
	}
	*start = first * SECONDS_PER_DAY - offset;
	return 0;
}

int window_format_rfc3339(int64_t t, char out[static 21])
{
	int64_t y, secs;
	int m, d, n;

	if (t < WINDOW_TIME_MIN || t > WINDOW_TIME_MAX)
		return -EINVAL;
	date_from_days(floor_div(t, SECONDS_PER_DAY), &y, &m, &d);
	secs = floor_mod(t, SECONDS_PER_DAY);
	n = snprintf(out, 21, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d, (int)(secs / 3600), (int)(secs / 60 % 60),
		(int)(secs % 60));
	if (n != 20)
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

int window_parse_rfc3339(const char *s, int64_t *out)
{
	int year, month, day, hour, minute, second, off_h = 0, off_m = 0, sign = 0;
	const char *p = s;
	int64_t t;

	if (!s || !out)
		return -EINVAL;
	if (!digits_read(&p, 4, &year) || !char_read(&p, '-', '-') || !digits_read(&p, 2, &month) ||
		!char_read(&p, '-', '-') || !digits_read(&p, 2, &day) || !char_read(&p, 'T', 't') ||
		!digits_read(&p, 2, &hour) || !char_read(&p, ':', ':') || !digits_read(&p, 2, &minute) ||
		!char_read(&p, ':', ':') || !digits_read(&p, 2, &second))
		return -EINVAL;
	if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 ||
		second > 60)
		return -EINVAL;

	/* A fraction only refines within the second: whole seconds are what the exporter keeps. */
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
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
	t = days_from_date(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
	t -= (int64_t)sign * (off_h * 3600 + off_m * 60);
	*out = t;
	return 0;
}
