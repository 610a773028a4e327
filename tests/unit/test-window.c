/* test-window: calendar and rolling window starts and calendar window ends in fixed offsets (RFC 3339: test-rfc3339) */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "config/config.h"
#include "test.h"
#include "config/window.h"
#include "util/rfc3339.h"

/* Expected values computed independently (Python's datetime with fixed-offset timezones). */
static const struct {
	const char *window;
	const char *timezone;
	const char *now;
	const char *start;
} calendar_cases[] = {
	/* UTC: an ordinary instant, exactly at each boundary, and one second before it */
	{"day", "UTC+00:00", "2026-11-26T07:02:03Z", "2026-11-26T00:00:00Z"},
	{"week", "UTC+00:00", "2026-11-26T07:02:03Z", "2026-11-23T00:00:00Z"},
	{"month", "UTC+00:00", "2026-11-26T07:02:03Z", "2026-11-01T00:00:00Z"},
	{"day", "UTC+00:00", "2026-11-26T00:00:00Z", "2026-11-26T00:00:00Z"},
	{"day", "UTC-00:00", "2026-11-26T00:00:00Z", "2026-11-26T00:00:00Z"},
	{"week", "UTC+00:00", "2026-11-23T00:00:00Z", "2026-11-23T00:00:00Z"},
	{"week", "UTC+00:00", "2026-11-22T23:59:59Z", "2026-11-16T00:00:00Z"},
	{"month", "UTC+00:00", "2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z"},
	{"month", "UTC+00:00", "2026-10-31T23:59:59Z", "2026-10-01T00:00:00Z"},
	/* across the year end */
	{"week", "UTC+00:00", "2027-01-01T12:00:00Z", "2026-12-28T00:00:00Z"},
	{"month", "UTC+00:00", "2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
	{"month", "UTC+00:00", "2026-12-31T23:59:59Z", "2026-12-01T00:00:00Z"},
	/* leap years: 2024 and 2000 are, 2100 is not */
	{"month", "UTC+00:00", "2024-02-29T23:59:59Z", "2024-02-01T00:00:00Z"},
	{"month", "UTC+00:00", "2024-03-01T00:00:00Z", "2024-03-01T00:00:00Z"},
	{"day", "UTC+00:00", "2024-02-29T12:00:00Z", "2024-02-29T00:00:00Z"},
	{"month", "UTC+00:00", "2000-02-29T10:00:00Z", "2000-02-01T00:00:00Z"},
	{"month", "UTC+00:00", "2100-02-28T23:59:59Z", "2100-02-01T00:00:00Z"},
	{"day", "UTC+00:00", "2100-03-01T00:00:00Z", "2100-03-01T00:00:00Z"},
	/* before the epoch: the divisions must round down */
	{"day", "UTC+00:00", "1969-12-31T23:59:59Z", "1969-12-31T00:00:00Z"},
	{"week", "UTC+00:00", "1970-01-01T00:00:00Z", "1969-12-29T00:00:00Z"},
	{"month", "UTC+00:00", "1969-12-15T00:00:00Z", "1969-12-01T00:00:00Z"},
	/* UTC+05:30 */
	{"day", "UTC+05:30", "2026-11-25T18:30:00Z", "2026-11-25T18:30:00Z"},
	{"day", "UTC+05:30", "2026-11-25T18:29:59Z", "2026-11-24T18:30:00Z"},
	{"week", "UTC+05:30", "2026-11-22T18:30:00Z", "2026-11-22T18:30:00Z"},
	{"week", "UTC+05:30", "2026-11-22T18:29:59Z", "2026-11-15T18:30:00Z"},
	{"month", "UTC+05:30", "2026-10-31T18:30:00Z", "2026-10-31T18:30:00Z"},
	{"month", "UTC+05:30", "2026-10-31T18:29:59Z", "2026-09-30T18:30:00Z"},
	/* UTC-08:00 */
	{"day", "UTC-08:00", "2026-11-26T07:59:59Z", "2026-11-25T08:00:00Z"},
	{"day", "UTC-08:00", "2026-11-26T08:00:00Z", "2026-11-26T08:00:00Z"},
	{"week", "UTC-08:00", "2026-11-24T07:59:59Z", "2026-11-23T08:00:00Z"},
	{"month", "UTC-08:00", "2027-01-01T07:59:59Z", "2026-12-01T08:00:00Z"},
	{"month", "UTC-08:00", "2027-01-01T08:00:00Z", "2027-01-01T08:00:00Z"},
	/* UTC-03:30 */
	{"day", "UTC-03:30", "2026-03-01T03:29:59Z", "2026-02-28T03:30:00Z"},
	{"month", "UTC-03:30", "2024-03-01T03:29:59Z", "2024-02-01T03:30:00Z"},
	{"month", "UTC-03:30", "2024-03-01T03:30:00Z", "2024-03-01T03:30:00Z"},
	{"week", "UTC-03:30", "2026-11-30T03:29:59Z", "2026-11-23T03:30:00Z"},
	/* UTC+14:00: the local new year comes on the 31st in UTC */
	{"month", "UTC+14:00", "2026-12-31T10:00:00Z", "2026-12-31T10:00:00Z"},
	{"month", "UTC+14:00", "2026-12-31T09:59:59Z", "2026-11-30T10:00:00Z"},
	{"week", "UTC+14:00", "2026-11-29T10:00:00Z", "2026-11-29T10:00:00Z"},
	/* the extremes of the API's form */
	{"day", "UTC+19:30", "2026-11-26T04:30:00Z", "2026-11-26T04:30:00Z"},
	{"month", "UTC-19:30", "2026-12-01T19:30:00Z", "2026-12-01T19:30:00Z"},
	{"month", "UTC-19:30", "2026-12-01T19:29:59Z", "2026-11-01T19:30:00Z"},
};

static int64_t parse_or_die(const char *s)
{
	int64_t t = INT64_MIN;

	CHECK_MSG(rfc3339_parse(s, &t) == 0, "parse \"%s\"", s);
	return t;
}

static void test_calendar(void)
{
	for (size_t i = 0; i < sizeof(calendar_cases) / sizeof(calendar_cases[0]); i++) {
		struct report_config r = {0};
		char got[21] = "";
		int64_t start = 0;

		if (strcmp(calendar_cases[i].window, "day") == 0)
			r.window = WINDOW_DAY;
		else if (strcmp(calendar_cases[i].window, "week") == 0)
			r.window = WINDOW_WEEK;
		else
			r.window = WINDOW_MONTH;
		CHECK_INT(config_timezone_parse(calendar_cases[i].timezone, &r.tz_offset_minutes), 0);
		CHECK_INT(window_start(&r, parse_or_die(calendar_cases[i].now), &start), 0);
		CHECK_INT(rfc3339_format(start, got), 0);
		CHECK_MSG(strcmp(got, calendar_cases[i].start) == 0, "%s in %s at %s: got %s, expected %s",
			calendar_cases[i].window, calendar_cases[i].timezone, calendar_cases[i].now, got,
			calendar_cases[i].start);
	}
}

/* Expected ends computed independently (Python's datetime with fixed-offset timezones). */
static const struct {
	const char *window;
	const char *timezone;
	const char *now;
	const char *end;
} end_cases[] = {
	{"day", "UTC+00:00", "2026-11-26T07:02:03Z", "2026-11-27T00:00:00Z"},
	{"day", "UTC+00:00", "2026-11-26T00:00:00Z", "2026-11-27T00:00:00Z"},
	{"day", "UTC+00:00", "2026-11-26T23:59:59Z", "2026-11-27T00:00:00Z"},
	{"week", "UTC+00:00", "2026-11-26T07:02:03Z", "2026-11-30T00:00:00Z"},
	{"week", "UTC+00:00", "2026-11-29T23:59:59Z", "2026-11-30T00:00:00Z"},
	{"week", "UTC+00:00", "2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z"},
	{"month", "UTC+00:00", "2026-11-26T07:02:03Z", "2026-12-01T00:00:00Z"},
	{"month", "UTC+00:00", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"},
	{"month", "UTC+00:00", "2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"},
	{"month", "UTC+00:00", "2024-02-10T00:00:00Z", "2024-03-01T00:00:00Z"},
	{"month", "UTC+00:00", "2100-02-10T00:00:00Z", "2100-03-01T00:00:00Z"},
	{"day", "UTC+00:00", "1969-12-31T12:00:00Z", "1970-01-01T00:00:00Z"},
	{"day", "UTC+05:30", "2026-11-25T18:29:59Z", "2026-11-25T18:30:00Z"},
	{"day", "UTC+05:30", "2026-11-25T18:30:00Z", "2026-11-26T18:30:00Z"},
	{"week", "UTC+05:30", "2026-11-22T18:29:59Z", "2026-11-22T18:30:00Z"},
	{"month", "UTC+05:30", "2026-10-31T18:29:59Z", "2026-10-31T18:30:00Z"},
	{"month", "UTC-08:00", "2026-12-15T00:00:00Z", "2027-01-01T08:00:00Z"},
	{"month", "UTC-08:00", "2027-01-01T07:59:59Z", "2027-01-01T08:00:00Z"},
	{"day", "UTC-03:30", "2026-03-01T03:29:59Z", "2026-03-01T03:30:00Z"},
	{"month", "UTC+14:00", "2026-12-31T09:59:59Z", "2026-12-31T10:00:00Z"},
	{"month", "UTC+14:00", "2026-12-31T10:00:00Z", "2027-01-31T10:00:00Z"},
	{"month", "UTC-19:30", "2026-12-01T19:29:59Z", "2026-12-01T19:30:00Z"},
	{"week", "UTC+19:30", "2026-11-26T04:30:00Z", "2026-11-29T04:30:00Z"},
};

static enum window_kind kind_of(const char *window)
{
	if (strcmp(window, "day") == 0)
		return WINDOW_DAY;
	if (strcmp(window, "week") == 0)
		return WINDOW_WEEK;
	return WINDOW_MONTH;
}

static void test_end(void)
{
	for (size_t i = 0; i < sizeof(end_cases) / sizeof(end_cases[0]); i++) {
		struct report_config r = {.window = kind_of(end_cases[i].window)};
		char got[21] = "";
		int64_t end = 0;

		CHECK_INT(config_timezone_parse(end_cases[i].timezone, &r.tz_offset_minutes), 0);
		CHECK_INT(window_end(&r, parse_or_die(end_cases[i].now), &end), 0);
		CHECK_INT(rfc3339_format(end, got), 0);
		CHECK_MSG(strcmp(got, end_cases[i].end) == 0, "%s in %s at %s: got %s, expected %s",
			end_cases[i].window, end_cases[i].timezone, end_cases[i].now, got, end_cases[i].end);
	}
	/* For every start case: the end is after now, starts a window of its own, and ends the one of now. */
	for (size_t i = 0; i < sizeof(calendar_cases) / sizeof(calendar_cases[0]); i++) {
		struct report_config r = {.window = kind_of(calendar_cases[i].window)};
		int64_t now = parse_or_die(calendar_cases[i].now), start = 0, end = 0, s = 0;

		CHECK_INT(config_timezone_parse(calendar_cases[i].timezone, &r.tz_offset_minutes), 0);
		CHECK_INT(window_start(&r, now, &start), 0);
		CHECK_INT(window_end(&r, now, &end), 0);
		CHECK_MSG(end > now, "%s %s at %s: end after now", calendar_cases[i].window, calendar_cases[i].timezone,
			calendar_cases[i].now);
		CHECK_INT(window_start(&r, end, &s), 0);
		CHECK_INT(s, end);
		CHECK_INT(window_start(&r, end - 1, &s), 0);
		CHECK_INT(s, start);
	}
}

static void test_end_invalid(void)
{
	struct report_config r = {.window = WINDOW_ROLLING, .window_seconds = 86400};
	int64_t end = 0;

	/* a rolling window has no boundary */
	CHECK_INT(window_end(&r, 0, &end), -EINVAL);
	CHECK_INT(window_end(NULL, 0, &end), -EINVAL);
	r.window = WINDOW_DAY;
	CHECK_INT(window_end(&r, 0, NULL), -EINVAL);
	r.tz_offset_minutes = 24 * 60;
	CHECK_INT(window_end(&r, 0, &end), -EINVAL);
	/* the last day RFC 3339 can write has no next one */
	r.tz_offset_minutes = 0;
	CHECK_INT(window_end(&r, parse_or_die("9999-12-31T12:00:00Z"), &end), -EINVAL);
	CHECK_INT(window_end(&r, parse_or_die("9999-12-30T12:00:00Z"), &end), 0);
	CHECK_INT(end, parse_or_die("9999-12-31T00:00:00Z"));
}

static void test_rolling(void)
{
	struct report_config r = {0};
	int64_t now = parse_or_die("2026-11-26T07:02:03Z"), start = 0;

	r.window = WINDOW_ROLLING;
	r.tz_offset_minutes = 330; /* a rolling window ignores the timezone */
	CHECK_INT(config_duration_parse("7d", &r.window_seconds), 0);
	CHECK_INT(window_start(&r, now, &start), 0);
	CHECK_INT(start, parse_or_die("2026-11-19T07:02:03Z"));
	CHECK_INT(config_duration_parse("90m", &r.window_seconds), 0);
	CHECK_INT(window_start(&r, now, &start), 0);
	CHECK_INT(start, parse_or_die("2026-11-26T05:32:03Z"));
	r.window_seconds = 0;
	CHECK_INT(window_start(&r, now, &start), -EINVAL);
	r.window_seconds = -5;
	CHECK_INT(window_start(&r, now, &start), -EINVAL);
}

static void test_invalid_reports(void)
{
	struct report_config r = {0};
	int64_t start = 0;

	CHECK_INT(window_start(NULL, 0, &start), -EINVAL);
	r.window = WINDOW_DAY;
	CHECK_INT(window_start(&r, 0, NULL), -EINVAL);
	r.window = (enum window_kind)42;
	CHECK_INT(window_start(&r, 0, &start), -EINVAL);
	r.window = WINDOW_MONTH;
	r.tz_offset_minutes = 24 * 60;
	CHECK_INT(window_start(&r, 0, &start), -EINVAL);
	r.tz_offset_minutes = 0;
	CHECK_INT(window_start(&r, INT64_MAX, &start), -EINVAL);
	CHECK_INT(window_start(&r, INT64_MIN, &start), -EINVAL);
}

int main(void)
{
	test_calendar();
	test_rolling();
	test_invalid_reports();
	test_end();
	test_end_invalid();
	TEST_DONE();
}
