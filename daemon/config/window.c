/* window: calendar and rolling window starts, calendar window ends, in fixed-offset timezones (util/rfc3339) */
#include <errno.h>

#include "config/window.h"
#include "util/rfc3339.h"

#define SECONDS_PER_DAY INT64_C(86400)

/* Windows stay within the instants RFC 3339 can write. */
#define WINDOW_TIME_MIN RFC3339_TIME_MIN
#define WINDOW_TIME_MAX RFC3339_TIME_MAX

/* Largest offset accepted from a report: the API's form allows up to 19:30 either way. */
#define WINDOW_OFFSET_MAX_MINUTES (24 * 60 - 1)

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
	day = rfc3339_floor_div(now + offset, SECONDS_PER_DAY);
	switch (r->window) {
	case WINDOW_DAY:
		first = day;
		break;
	case WINDOW_WEEK:
		/* 1970-01-01 was a Thursday: +3 makes Monday 0. */
		first = day - rfc3339_floor_mod(day + 3, 7);
		break;
	case WINDOW_MONTH:
		rfc3339_date_from_days(day, &y, &m, &d);
		first = rfc3339_days_from_date(y, m, 1);
		break;
	default:
		return -EINVAL;
	}
	*start = first * SECONDS_PER_DAY - offset;
	return 0;
}

int window_end(const struct report_config *r, int64_t now, int64_t *end)
{
	int64_t start, offset, day, y, next;
	int m, d, ret;

	if (!r || !end || r->window == WINDOW_ROLLING)
		return -EINVAL;
	ret = window_start(r, now, &start);
	if (ret < 0)
		return ret;
	offset = (int64_t)r->tz_offset_minutes * 60;
	/* The first day of the window on the report's wall clock: start is its midnight there. */
	day = rfc3339_floor_div(start + offset, SECONDS_PER_DAY);
	switch (r->window) {
	case WINDOW_DAY:
		next = day + 1;
		break;
	case WINDOW_WEEK:
		next = day + 7;
		break;
	case WINDOW_MONTH:
		rfc3339_date_from_days(day, &y, &m, &d);
		next = m == 12 ? rfc3339_days_from_date(y + 1, 1, 1) : rfc3339_days_from_date(y, m + 1, 1);
		break;
	default:
		return -EINVAL;
	}
	if (next * SECONDS_PER_DAY - offset > WINDOW_TIME_MAX)
		return -EINVAL;
	*end = next * SECONDS_PER_DAY - offset;
	return 0;
}
