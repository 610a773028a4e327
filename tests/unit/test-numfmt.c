/* test-numfmt: the fast double <-> text paths against snprintf()/strtod(), byte for byte and bit for bit */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/numfmt.h"
#include "test.h"

/* Random doubles per generator; NUMFMT_TEST_MILLIONS=N runs N million of each kind instead. */
#define DEFAULT_PER_KIND 150000

/* The renderer's format_double() as it was before numfmt.c, verbatim: the definition being matched. */
static void old_format_double(char *out, size_t size, double v)
{
	if (isnan(v)) {
		snprintf(out, size, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int precision = 15; precision <= 17; precision++) {
		snprintf(out, size, "%.*g", precision, v);
		if (strtod(out, NULL) == v)
			break;
	}
	for (char *c = out; *c; c++)
		if (*c == ',')
			*c = '.';
}

/*
 * deadline_api's number parse as it was: strtod() on a NUL-terminated copy, all of it consumed (all n bytes:
 * the old code took "12\0003" for 12, numfmt refuses it; yajl never hands over a NUL in a number).
 */
static int old_parse(const char *s, size_t n, double *out)
{
	char *buf = malloc(n + 1), *end;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*out = strtod(buf, &end);
	if (end == buf || (size_t)(end - buf) != n)
		rc = -EINVAL;
	free(buf);
	return rc;
}

static uint64_t rng_state = UINT64_C(0x853c49e6748fea9b);

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static double from_bits(uint64_t b)
{
	double d;

	memcpy(&d, &b, sizeof(d));
	return d;
}

static uint64_t to_bits(double d)
{
	uint64_t b;

	memcpy(&b, &d, sizeof(b));
	return b;
}

static long format_mismatches, parse_mismatches, format_checked, parse_checked;

static void check_format(double v)
{
	char got[64], want[64], ref[64];
	size_t n;

	format_checked++;
	memset(got, 'x', sizeof(got));
	n = numfmt_double(got, sizeof(got), v);
	old_format_double(want, sizeof(want), v);
	numfmt_double_reference(ref, sizeof(ref), v);
	if (strcmp(got, want) != 0 || strcmp(ref, want) != 0 || n != strlen(want)) {
		if (format_mismatches++ < 20)
			fprintf(stderr, "format %a (%.17g): got \"%s\" (%zu), reference \"%s\", expected \"%s\"\n", v,
				v, got, n, ref, want);
	}
}

static void check_parse_text(const char *s, size_t n)
{
	double got = 12345.0, want = -12345.0;
	int rg, rw;

	parse_checked++;
	rg = numfmt_parse_double(s, n, &got);
	rw = old_parse(s, n, &want);
	if (rg != rw || (rw == 0 && to_bits(got) != to_bits(want))) {
		if (parse_mismatches++ < 20)
			fprintf(stderr, "parse \"%.*s\": got %d %a, expected %d %a\n", (int)n, s, rg, got, rw, want);
	}
}

static void check_parse(const char *s)
{
	check_parse_text(s, strlen(s));
}

/* The value both ways: its own text at every precision a JSON writer might use, then the text of the value. */
static void check_value(double v)
{
	char text[64];

	check_format(v);
	if (!isfinite(v))
		return;
	for (int p = 15; p <= 17; p++) {
		snprintf(text, sizeof(text), "%.*g", p, v);
		check_parse(text);
	}
}

/* ---- generators ---- */

static double gen_any_bits(void)
{
	return from_bits(rnd());
}

/* Exponents around the fast range 2^-10 .. 2^63 and a little beyond. */
static double gen_fast_range(void)
{
	uint64_t be = 1023 - 14 + rnd_below(82);
	return from_bits((rnd() & ((UINT64_C(1) << 52) - 1)) | (be << 52) | (rnd() & (UINT64_C(1) << 63)));
}

static const double pow10_tab[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	1e16, 1e17, 1e18, 1e19, 1e20};

/* Money and seconds as a service writes them: a few decimals. */
static double gen_decimal(void)
{
	uint64_t m = rnd_below((uint64_t)pow10_tab[1 + rnd_below(16)]);
	double v = (double)m / pow10_tab[rnd_below(13)];
	return rnd() & 1 ? -v : v;
}

/* Averages: a sum over a count, and sums of several decimals (the rounding of real merges). */
static double gen_ratio(void)
{
	double sum = 0;
	int terms = 1 + (int)rnd_below(6);

	for (int i = 0; i < terms; i++)
		sum += fabs(gen_decimal());
	return rnd() & 1 ? sum : sum / (double)(1 + rnd_below(100000));
}

static double gen_integer(void)
{
	double v = (double)(rnd() >> rnd_below(64));
	return rnd() & 1 ? -v : v;
}

/* A few ulps either side of powers of ten and of two. */
static double gen_near_power(void)
{
	double base = rnd() & 1 ? pow(10.0, (double)((int)rnd_below(30) - 8)) : ldexp(1.0, (int)rnd_below(90) - 16);
	int steps = (int)rnd_below(5);
	for (int i = 0; i < steps; i++)
		base = nextafter(base, rnd() & 1 ? INFINITY : 0);
	return base;
}

/* Exact binary fractions with long decimal expansions: where rounding to 15-17 digits meets exact ties. */
static double gen_tie(void)
{
	int k = 1 + (int)rnd_below(12);
	uint64_t top = UINT64_C(1) << (53 - k);
	uint64_t n = top / 16 + rnd_below(top - top / 16);
	uint64_t j = rnd_below(UINT64_C(1) << k) | 1;
	return (double)n + ldexp((double)j, -k);
}

/* Digit strings as any writer may produce them, valid JSON or not. */
static void gen_text(char *out, size_t size)
{
	static const char alphabet[] = "0123456789.eE+-";
	size_t n = 0;
	int kind = (int)rnd_below(4);

	if (kind == 0) {
		/* anything from the alphabet */
		size_t len = 1 + rnd_below(24);
		for (; n < len && n + 1 < size; n++)
			out[n] = alphabet[rnd_below(sizeof(alphabet) - 1)];
	} else {
		/* -?digits(.digits)?(e[+-]?digits)? with lengths around the fast path's limits */
		size_t whole = rnd_below(22), frac = kind >= 2 ? rnd_below(24) : 0;
		if (rnd() & 1)
			out[n++] = '-';
		for (size_t i = 0; i < whole + (whole == 0) && n + 1 < size; i++)
			out[n++] = (char)('0' + (i == 0 && whole > 1 ? 1 + rnd_below(9) : rnd_below(10)));
		if (frac) {
			out[n++] = '.';
			for (size_t i = 0; i < frac && n + 1 < size; i++)
				out[n++] = (char)('0' + (rnd() & 3 ? rnd_below(10) : 0));
		}
		if (kind == 3 && n + 6 < size) {
			out[n++] = rnd() & 1 ? 'e' : 'E';
			if (rnd() & 1)
				out[n++] = rnd() & 1 ? '-' : '+';
			n += (size_t)snprintf(out + n, size - n, "%d", (int)rnd_below(rnd() & 1 ? 30 : 400));
		}
	}
	out[n] = '\0';
}

static void test_edges(void)
{
	static const double fixed[] = {0.0, 1.0, -1.0, 0.1, 0.2, 0.3, 1e-4, 1e-5, 9.765625e-4, 1e14, 1e15, 1e16, 1e17,
		1e21, 1e22, 1e23, 999999999999999.0, 999999999999999.9, 1e15 - 0.5, 1e15 + 0.5, 1e15 + 0.25,
		1e15 + 0.75, 1e15 + 0.125, 9007199254740991.0, 9007199254740992.0, 9007199254740994.0,
		9223372036854775807.0, 9223372036854774784.0, 18446744073709551615.0, 0.30000000000000004, 2.5, 0.5,
		1.5, 1234.5678, 0.1 + 0.2, 1.0 / 3.0, 2.0 / 3.0, 100.0 / 7.0, 5e-324, 2.2250738585072014e-308,
		2.2250738585072009e-308, 1.7976931348623157e308, 4503599627370496.5, 4503599627370497.0, 0.0009765625,
		0.0009765624999999999, 0.00048828125, 123456789012345.6, 12345678901234.56, 0.000123456789012345678,
		3.0e-5, 7.0e-3};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		check_value(fixed[i]);
		check_value(-fixed[i]);
		check_value(nextafter(fixed[i], INFINITY));
		check_value(nextafter(fixed[i], -INFINITY));
	}
	check_format(-0.0);
	check_format(NAN);
	check_format(-NAN);
	check_format(INFINITY);
	check_format(-INFINITY);
	check_format(DBL_MIN);
	check_format(DBL_MAX);
	check_format(DBL_TRUE_MIN);
	check_format(-DBL_TRUE_MIN);
	/* every power of two and ten a double holds, and their neighbours */
	for (int e = -1074; e <= 1023; e++) {
		double p = ldexp(1.0, e);
		check_value(p);
		check_value(nextafter(p, 0));
		check_value(nextafter(p, INFINITY));
	}
	for (int e = -330; e <= 310; e++) {
		double p = pow(10.0, e);
		check_value(p);
		check_value(nextafter(p, 0));
		check_value(nextafter(p, INFINITY));
	}
	/* every integer around the 10^15 and 2^53 boundaries */
	for (int64_t i = -3000; i <= 3000; i++) {
		check_format((double)(INT64_C(1000000000000000) + i));
		check_format((double)(INT64_C(9007199254740992) + i));
		check_format((double)(INT64_C(100000000000000000) + i * 16));
	}
	/* truncation as snprintf truncates */
	for (size_t size = 1; size < 40; size++) {
		static const double some[] = {0.1, 1.0 / 3.0, -1e300, 1e15 + 0.25, 42.0, NAN, -INFINITY};
		for (size_t i = 0; i < sizeof(some) / sizeof(some[0]); i++) {
			char got[48], want[48];
			memset(got, 'x', sizeof(got));
			memset(want, 'x', sizeof(want));
			numfmt_double(got, size, some[i]);
			old_format_double(want, size, some[i]);
			CHECK_MSG(memcmp(got, want, sizeof(got)) == 0, "size %zu, %.17g", size, some[i]);
		}
	}

	static const char *const texts[] = {"0", "-0", "0.0", "-0.0", "0e0", "0e-400", "1", "-1", "1.5", "0.1", "1e22",
		"1e23", "1e-22", "1e-23", "9007199254740992", "9007199254740993", "9007199254740995",
		"18446744073709551615", "18446744073709551616", "9223372036854775807", "9223372036854775808",
		"1234567890123456789", "12345678901234567890", "1234567890123456789.5", "0.1234567890123456789",
		"0.12345678901234567890", "4.9e-324", "2e-324", "1e-400", "1.7976931348623157e308", "1.8e308", "1e400",
		"2.2250738585072011e-308", "0.30000000000000004", "1000000000000000.25", "1000000000000000.75",
		"123456789012345678", "1.00000000000000011102230246251565404236316680908203125",
		"0.000976562499999999999", "1.", ".5", "", "-", "+1", "1e", "1e+", "1e-", "0x10", "0x1p3", "inf",
		"-inf", "nan", "infinity", " 1", "1 ", "00", "01", "-01", "1.2.3", "1ee2", "--1", "1e5x", "\t2",
		"9999999999999999999", "99999999999999999999", "0.0000000000000000000000001", "1e-19", "1e-20"};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		check_parse(texts[i]);
	check_parse_text("12\0003", 4);
	check_parse_text("7", 0);
}

int main(void)
{
	static double (*const generators[])(void) = {
		gen_any_bits, gen_fast_range, gen_decimal, gen_ratio, gen_integer, gen_near_power, gen_tie};
	const char *env = getenv("NUMFMT_TEST_MILLIONS"), *seed = getenv("NUMFMT_TEST_SEED");
	long per_kind = env ? atol(env) * 1000000L : DEFAULT_PER_KIND;
	char text[64];

	if (seed)
		rng_state = strtoull(seed, NULL, 0);
	fprintf(stderr, "seed %#llx, %ld values per kind\n", (unsigned long long)rng_state, per_kind);
	test_edges();
	for (size_t g = 0; g < sizeof(generators) / sizeof(generators[0]); g++)
		for (long i = 0; i < per_kind; i++)
			check_value(generators[g]());
	for (long i = 0; i < per_kind; i++) {
		gen_text(text, sizeof(text));
		check_parse(text);
	}
	fprintf(stderr, "format: %ld values, %ld differ; parse: %ld texts, %ld differ\n", format_checked,
		format_mismatches, parse_checked, parse_mismatches);
	CHECK_INT(format_mismatches, 0);
	CHECK_INT(parse_mismatches, 0);
	TEST_DONE();
}
