/* test-rfc3339: RFC 3339 formatting and parsing (the window's and the credential providers' cases) */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "test.h"
#include "util/rfc3339.h"

/* Expected values computed independently (Python's datetime). */
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
	{"2026-11-01T00:00:00Z", 1793491200}, {"2026-11-01t00:00:00z", 1793491200},
	{"2026-11-01T00:00:00.123Z", 1793491200}, {"2026-11-01T00:00:00.999999999Z", 1793491200},
	{"2026-11-01T00:00:00+00:00", 1793491200}, {"2026-11-01T00:00:00-00:00", 1793491200},
	{"2026-11-01T05:30:00.5+05:30", 1793491200}, {"2026-10-31T16:00:00-08:00", 1793491200},
	{"2026-10-31T20:30:00-03:30", 1793491200},
	{"2026-10-31T23:59:60Z", 1793491200}, /* a leap second reads as the next second */
	{"1969-12-31T23:59:59Z", -1}, {"2024-02-29T12:00:00Z", 1709208000},
	/* the credential providers' cases: STS, IMDS, the container endpoint and credential_process */
	{"1970-01-01T00:00:00Z", 0}, {"2030-01-02T03:04:05.999999Z", 1893553445},
	{"2030-01-02T02:04:05-01:00", 1893553445},
	{"2030-01-02 03:04:05Z", 1893553445}, /* RFC 3339 section 5.6 allows a space for the T */
};

static const char *const parse_bad[] = {
	"",
	"2026-11-01",
	"2026-11-01T00:00:00",
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
	"2030-01-02T03:04:05",
	"2030-13-02T03:04:05Z",
	"2030-01-02T03:04:05Zjunk",
	"2030-01-02  03:04:05Z",
	"2030-01-02_03:04:05Z",
};

static void test_format_parse(void)
{
	char out[RFC3339_SIZE];
	int64_t t;

	for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
		CHECK_INT(rfc3339_format(format_cases[i].t, out), 0);
		CHECK_STR(out, format_cases[i].text);
		t = 0;
		CHECK_INT(rfc3339_parse(format_cases[i].text, &t), 0);
		CHECK_INT(t, format_cases[i].t);
	}
	CHECK_INT(rfc3339_format(253402300800, out), -EINVAL);
	CHECK_INT(rfc3339_format(-62167219201, out), -EINVAL);

	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		t = 0;
		CHECK_MSG(rfc3339_parse(parse_cases[i].text, &t) == 0, "parse \"%s\"", parse_cases[i].text);
		CHECK_MSG(t == parse_cases[i].t, "parse \"%s\": got %lld, expected %lld", parse_cases[i].text,
			(long long)t, (long long)parse_cases[i].t);
	}
	for (size_t i = 0; i < sizeof(parse_bad) / sizeof(parse_bad[0]); i++)
		CHECK_MSG(rfc3339_parse(parse_bad[i], &t) == -EINVAL, "\"%s\" must be refused", parse_bad[i]);
	CHECK_INT(rfc3339_parse(NULL, &t), -EINVAL);
	CHECK_INT(rfc3339_parse("2026-11-01T00:00:00Z", NULL), -EINVAL);
	CHECK_INT(rfc3339_format(RFC3339_TIME_MAX, out), 0);
	CHECK_STR(out, "9999-12-31T23:59:59Z");
}

/* Round trip and comparison with the C library's own UTC conversion over a wide spread of instants. */
static void test_round_trip(void)
{
	uint64_t x = 88172645463325252u;
	int mismatches = 0;

	for (int i = 0; i < 200000; i++) {
		char out[RFC3339_SIZE], expected[32];
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
		if (rfc3339_format(t, out) != 0 || strcmp(out, expected) != 0 || rfc3339_parse(out, &back) != 0 ||
			back != t) {
			if (mismatches++ < 5)
				CHECK_MSG(0, "t=%lld: formatted %s, expected %s, parsed back %lld", (long long)t, out,
					expected, (long long)back);
		}
	}
	CHECK_INT(mismatches, 0);
}

/* Milliseconds: SearchJobs' createdAt, where jobs a millisecond apart must stay apart. */
static void test_milliseconds(void)
{
	static const struct {
		const char *text;
		int64_t ms;
		const char *formatted;
	} cases[] = {
		{"2026-12-07T14:17:06Z", 1796653026000, "2026-12-07T14:17:06.000Z"},
		{"2026-12-07T14:17:06.476Z", 1796653026476, "2026-12-07T14:17:06.476Z"},
		{"2026-12-07T14:17:06.4Z", 1796653026400, "2026-12-07T14:17:06.400Z"},
		{"2026-12-07T14:17:06.0479999Z", 1796653026047, "2026-12-07T14:17:06.047Z"}, /* truncated */
		{"2026-12-07T15:17:06.001+01:00", 1796653026001, "2026-12-07T14:17:06.001Z"},
		{"1969-12-31T23:59:59.999Z", -1, "1969-12-31T23:59:59.999Z"},
		{"0000-01-01T00:00:00.000Z", -62167219200000, "0000-01-01T00:00:00.000Z"},
	};
	char out[RFC3339_MS_SIZE];
	int64_t ms;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ms = 0;
		CHECK_MSG(rfc3339_parse_ms(cases[i].text, &ms) == 0 && ms == cases[i].ms, "\"%s\": got %lld",
			cases[i].text, (long long)ms);
		CHECK_INT(rfc3339_format_ms(cases[i].ms, out), 0);
		CHECK_STR(out, cases[i].formatted);
		CHECK(rfc3339_parse_ms(out, &ms) == 0 && ms == cases[i].ms);
	}
	for (size_t i = 0; i < sizeof(parse_bad) / sizeof(parse_bad[0]); i++)
		CHECK_MSG(rfc3339_parse_ms(parse_bad[i], &ms) == -EINVAL, "\"%s\" must be refused", parse_bad[i]);
	CHECK_INT(rfc3339_parse_ms("2026-11-01T00:00:00Z", NULL), -EINVAL);
	CHECK_INT(rfc3339_format_ms(253402300800000, out), -EINVAL);
	CHECK_INT(rfc3339_format_ms(253402300799999, out), 0);
	CHECK_STR(out, "9999-12-31T23:59:59.999Z");
}

/* Day counts against the epoch and across a 400-year cycle. */
static void test_days(void)
{
	int64_t y = 0;
	int m = 0, d = 0;

	CHECK_INT(rfc3339_days_from_date(1970, 1, 1), 0);
	CHECK_INT(rfc3339_days_from_date(2000, 3, 1), 11017);
	CHECK_INT(rfc3339_days_from_date(2400, 3, 1) - rfc3339_days_from_date(2000, 3, 1), 146097);
	rfc3339_date_from_days(-1, &y, &m, &d);
	CHECK(y == 1969 && m == 12 && d == 31);
	rfc3339_date_from_days(rfc3339_days_from_date(2000, 2, 29), &y, &m, &d);
	CHECK(y == 2000 && m == 2 && d == 29);
	CHECK_INT(rfc3339_floor_div(-1, 86400), -1);
	CHECK_INT(rfc3339_floor_mod(-1, 86400), 86399);
}

int main(void)
{
	test_format_parse();
	test_round_trip();
	test_milliseconds();
	test_days();
	TEST_DONE();
}
