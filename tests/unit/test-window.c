/* test-window: calendar and rolling window starts in fixed offsets, RFC 3339 formatting and parsing */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "test.h"
#include "config/window.h"

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

static const struct {
	int64_t t;
	const char *text;
} format_cases[] = {
	{0, "1970-01-01T00:00:00Z"},
	{-1, "1969-12-31T23:59:59Z"},
	{951782400, "2000-02-29T00:00:00Z"},
	{1793491200, "2026-11-01T00:00:00Z"},
	{4107456000, "2100-02-28T00:00:00Z"},
	{4107542400, "2100-03-01T00:00:00Z"},
	{-2208988800, "1900-01-01T00:00:00Z"},
	{-62167219200, "0000-01-01T00:00:00Z"},
	{253402300799, "9999-12-31T23:59:59Z"},
};

static const struct {
	const char *text;
	int64_t t;
} parse_cases[] = {
	{"2026-11-01T00:00:00Z", 1793491200},
	{"2026-11-01t00:00:00z", 1793491200},
	{"2026-11-01T00:00:00.123Z", 1793491200},
	{"2026-11-01T00:00:00.999999999Z", 1793491200},
	{"2026-11-01T00:00:00+00:00", 1793491200},
	{"2026-11-01T00:00:00-00:00", 1793491200},
	{"2026-11-01T05:30:00.5+05:30", 1793491200},
	{"2026-10-31T16:00:00-08:00", 1793491200},
	{"2026-10-31T20:30:00-03:30", 1793491200},
	{"2026-10-31T23:59:60Z", 1793491200}, /* a leap second reads as the next second */
	{"1969-12-31T23:59:59Z", -1},
	{"2024-02-29T12:00:00Z", 1709208000},
};

static const char *const parse_bad[] = {
	"",
	"2026-11-01",
	"2026-11-01T00:00:00",
	"2026-11-01 00:00:00Z",
	"2026-11-01T00:00Z",
	"2026-11-01T00:00:00.Z",
	"2026-11-01T00:00:00+0530",
	"2026-11-01T00:00:00+05",
	"2026-11-01T00:00:00+24:00",
	"2026-11-01T00:00:00+05:60",
	"2026-11-01T00:00:00ZZ",
	"2026-11-01T00:00:00Z ",
	" 2026-11-01T00:00:00Z",
	"2026-13-01T00:00:00Z",
	"2026-00-01T00:00:00Z",
	"2026-11-00T00:00:00Z",
	"2026-11-31T00:00:00Z",
	"2026-02-29T00:00:00Z",
	"2100-02-29T00:00:00Z",
	"2026-11-01T24:00:00Z",
	"2026-11-01T00:60:00Z",
	"2026-11-01T00:00:61Z",
	"26-11-01T00:00:00Z",
	"2026-1-01T00:00:00Z",
	"+2026-11-01T00:00:00Z",
};

static int64_t parse_or_die(const char *s)
{
	int64_t t = INT64_MIN;

	CHECK_MSG(window_parse_rfc3339(s, &t) == 0, "parse \"%s\"", s);
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
		CHECK_INT(window_format_rfc3339(start, got), 0);
		CHECK_MSG(strcmp(got, calendar_cases[i].start) == 0, "%s in %s at %s: got %s, expected %s",
			calendar_cases[i].window, calendar_cases[i].timezone, calendar_cases[i].now, got,
			calendar_cases[i].start);
	}
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

static void test_format_parse(void)
{
	char out[21];
	int64_t t;

	for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
		CHECK_INT(window_format_rfc3339(format_cases[i].t, out), 0);
		CHECK_STR(out, format_cases[i].text);
		t = 0;
		CHECK_INT(window_parse_rfc3339(format_cases[i].text, &t), 0);
		CHECK_INT(t, format_cases[i].t);
	}
	CHECK_INT(window_format_rfc3339(253402300800, out), -EINVAL);
	CHECK_INT(window_format_rfc3339(-62167219201, out), -EINVAL);

	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		t = 0;
		CHECK_MSG(window_parse_rfc3339(parse_cases[i].text, &t) == 0, "parse \"%s\"", parse_cases[i].text);
		CHECK_MSG(t == parse_cases[i].t, "parse \"%s\": got %lld, expected %lld", parse_cases[i].text,
			(long long)t, (long long)parse_cases[i].t);
	}
	for (size_t i = 0; i < sizeof(parse_bad) / sizeof(parse_bad[0]); i++)
		CHECK_MSG(window_parse_rfc3339(parse_bad[i], &t) == -EINVAL, "\"%s\" must be refused", parse_bad[i]);
	CHECK_INT(window_parse_rfc3339(NULL, &t), -EINVAL);
	CHECK_INT(window_parse_rfc3339("2026-11-01T00:00:00Z", NULL), -EINVAL);
}

/* Round trip and comparison with the C library's own UTC conversion over a wide spread of instants. */
static void test_round_trip(void)
{
	uint64_t x = 88172645463325252u;
	int mismatches = 0;

	for (int i = 0; i < 200000; i++) {
		char out[21], expected[32];
		struct tm tm;
		time_t tt;
		int64_t t, back = 0;

		/* xorshift: instants from 1900 to 2200, more or less evenly */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t = -2208988800 + (int64_t)(x % 9467020800u);
		tt = (time_t)t;
		if (!gmtime_r(&tt, &tm) || strftime(expected, sizeof(expected), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
			CHECK(!"gmtime_r/strftime");
			return;
		}
		if (window_format_rfc3339(t, out) != 0 || strcmp(out, expected) != 0 ||
			window_parse_rfc3339(out, &back) != 0 || back != t) {
			if (mismatches++ < 5)
				CHECK_MSG(0, "t=%lld: formatted %s, expected %s, parsed back %lld", (long long)t, out,
					expected, (long long)back);
		}
	}
	CHECK_INT(mismatches, 0);
}

int main(void)
{
	test_calendar();
	test_rolling();
	test_invalid_reports();
	test_format_parse();
	test_round_trip();
	TEST_DONE();
}
