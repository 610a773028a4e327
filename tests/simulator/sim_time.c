/* sim_time: RFC 3339 text, fixed-offset timezones and period buckets for the simulator (pure arithmetic) */
#include "sim_time.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int64_t sim_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

int64_t sim_floor_mod(int64_t a, int64_t b)
{
	return a - sim_floor_div(a, b) * b;
}

/*
 * Counting from 1 March makes the leap day the last day of the (shifted) year, so a year's
 * length only matters at its end; 400 Gregorian years are exactly 146097 days.
 */
int64_t sim_days_from_civil(int64_t year, int month, int day)
{
	int64_t y = month <= 2 ? year - 1 : year;
	int64_t era = sim_floor_div(y, 400);
	int64_t year_of_era = y - era * 400;
	int64_t shifted_month = month > 2 ? month - 3 : month + 9;
	int64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
	int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;

	/* 719468: days from 0000-03-01 to 1970-01-01 */
	return era * 146097 + day_of_era - 719468;
}

void sim_civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
	int64_t z = days + 719468;
	int64_t era = sim_floor_div(z, 146097);
	int64_t day_of_era = z - era * 146097;
	int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
	int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	int64_t shifted_month = (5 * day_of_year + 2) / 153;
	int m = (int)(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);

	*day = (int)(day_of_year - (153 * shifted_month + 2) / 5 + 1);
	*month = m;
	*year = year_of_era + era * 400 + (m <= 2 ? 1 : 0);
}

static bool is_leap(int64_t year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int64_t year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (month == 2 && is_leap(year))
		return 29;
	return days[month - 1];
}

/* Reads exactly n decimal digits. */
static bool read_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool read_char(const char **p, const char *accepted)
{
	if (**p == '\0' || !strchr(accepted, **p))
		return false;
	(*p)++;
	return true;
}

int sim_rfc3339_parse(const char *s, int64_t *ms)
{
	const char *p = s;
	int year, month, day, hour, minute, second, millis = 0;
	int64_t offset_ms = 0;

	if (!s)
		return -EINVAL;
	if (!read_digits(&p, 4, &year) || !read_char(&p, "-") || !read_digits(&p, 2, &month) || !read_char(&p, "-") ||
		!read_digits(&p, 2, &day) || !read_char(&p, "Tt") || !read_digits(&p, 2, &hour) ||
		!read_char(&p, ":") || !read_digits(&p, 2, &minute) || !read_char(&p, ":") ||
		!read_digits(&p, 2, &second))
		return -EINVAL;
	if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 ||
		second > 60)
		return -EINVAL;
	if (*p == '.') {
		int n = 0;

		p++;
		while (*p >= '0' && *p <= '9') {
			if (n < 3)
				millis = millis * 10 + (*p - '0');
			n++;
			p++;
		}
		if (n == 0 || n > 9)
			return -EINVAL;
		for (int i = n; i < 3; i++)
			millis *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;

		p++;
		if (!read_digits(&p, 2, &oh) || !read_char(&p, ":") || !read_digits(&p, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		offset_ms = sign * ((int64_t)oh * SIM_MS_PER_HOUR + (int64_t)om * SIM_MS_PER_MINUTE);
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;

	*ms = sim_days_from_civil(year, month, day) * SIM_MS_PER_DAY + hour * SIM_MS_PER_HOUR +
	      minute * SIM_MS_PER_MINUTE + second * SIM_MS_PER_SECOND + millis - offset_ms;
	return 0;
}

void sim_rfc3339_format(int64_t ms, char out[SIM_RFC3339_SIZE])
{
	int64_t days = sim_floor_div(ms, SIM_MS_PER_DAY);
	int64_t in_day = ms - days * SIM_MS_PER_DAY;
	int64_t year;
	int month, day, n;
	int hour = (int)(in_day / SIM_MS_PER_HOUR);
	int minute = (int)(in_day / SIM_MS_PER_MINUTE % 60);
	int second = (int)(in_day / SIM_MS_PER_SECOND % 60);
	int millis = (int)(in_day % SIM_MS_PER_SECOND);

	sim_civil_from_days(days, &year, &month, &day);
	if (millis)
		n = snprintf(out, SIM_RFC3339_SIZE, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)year, month,
			day, hour, minute, second, millis);
	else
		n = snprintf(out, SIM_RFC3339_SIZE, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)year, month, day,
			hour, minute, second);
	if (n < 0 || n >= SIM_RFC3339_SIZE)
		out[0] = '\0';
}

int sim_timezone_parse(const char *s, int *offset_minutes)
{
	int hours;

	if (!s || strlen(s) != 9 || strncmp(s, "UTC", 3) != 0 || (s[3] != '+' && s[3] != '-'))
		return -EINVAL;
	if ((s[4] != '0' && s[4] != '1') || s[5] < '0' || s[5] > '9' || s[6] != ':')
		return -EINVAL;
	if (strcmp(s + 7, "00") != 0 && strcmp(s + 7, "30") != 0)
		return -EINVAL;
	hours = (s[4] - '0') * 10 + (s[5] - '0');
	*offset_minutes = (s[3] == '-' ? -1 : 1) * (hours * 60 + (s[7] == '3' ? 30 : 0));
	return 0;
}

static const char *const period_names[] = {
	[SIM_PERIOD_NONE] = "",
	[SIM_PERIOD_HOURLY] = "HOURLY",
	[SIM_PERIOD_DAILY] = "DAILY",
	[SIM_PERIOD_WEEKLY] = "WEEKLY",
	[SIM_PERIOD_MONTHLY] = "MONTHLY",
};

int sim_period_parse(const char *s, enum sim_period *out)
{
	for (int p = SIM_PERIOD_HOURLY; p <= SIM_PERIOD_MONTHLY; p++) {
		if (strcmp(s, period_names[p]) == 0) {
			*out = (enum sim_period)p;
			return 0;
		}
	}
	return -EINVAL;
}

const char *sim_period_name(enum sim_period p)
{
	return period_names[p];
}

int64_t sim_bucket_start(int64_t t, enum sim_period p, int offset_minutes)
{
	int64_t offset = (int64_t)offset_minutes * SIM_MS_PER_MINUTE;
	int64_t local = t + offset;
	int64_t days = sim_floor_div(local, SIM_MS_PER_DAY);
	int64_t year;
	int month, day;

	switch (p) {
	case SIM_PERIOD_HOURLY:
		return sim_floor_div(local, SIM_MS_PER_HOUR) * SIM_MS_PER_HOUR - offset;
	case SIM_PERIOD_DAILY:
		return days * SIM_MS_PER_DAY - offset;
	case SIM_PERIOD_WEEKLY:
		/* 1970-01-01 was a Thursday: day 0 is 3 days after a Monday */
		return (days - sim_floor_mod(days + 3, 7)) * SIM_MS_PER_DAY - offset;
	case SIM_PERIOD_MONTHLY:
		sim_civil_from_days(days, &year, &month, &day);
		return sim_days_from_civil(year, month, 1) * SIM_MS_PER_DAY - offset;
	case SIM_PERIOD_NONE:
		break;
	}
	return t;
}

int64_t sim_bucket_next(int64_t bucket_start, enum sim_period p, int offset_minutes)
{
	int64_t offset = (int64_t)offset_minutes * SIM_MS_PER_MINUTE;
	int64_t year;
	int month, day;

	switch (p) {
	case SIM_PERIOD_HOURLY:
		return bucket_start + SIM_MS_PER_HOUR;
	case SIM_PERIOD_DAILY:
		return bucket_start + SIM_MS_PER_DAY;
	case SIM_PERIOD_WEEKLY:
		return bucket_start + 7 * SIM_MS_PER_DAY;
	case SIM_PERIOD_MONTHLY:
		sim_civil_from_days(sim_floor_div(bucket_start + offset, SIM_MS_PER_DAY), &year, &month, &day);
		if (month == 12) {
			year++;
			month = 1;
		} else {
			month++;
		}
		return sim_days_from_civil(year, month, 1) * SIM_MS_PER_DAY - offset;
	case SIM_PERIOD_NONE:
		break;
	}
	return INT64_MAX;
}
