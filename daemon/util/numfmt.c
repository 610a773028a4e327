/* numfmt: doubles to and from text on the hot paths, exactly as snprintf()/strtod() would, without their cost */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/numfmt.h"

/*
 * The fast paths are exact integer arithmetic (128-bit) plus single IEEE operations on exact operands,
 * which are correctly rounded only when doubles are evaluated as doubles (SSE2, not x87). Elsewhere
 * every number takes the libc path.
 */
#if defined(__SIZEOF_INT128__) && defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0 && DBL_MANT_DIG == 53 && \
	FLT_RADIX == 2
#define NUMFMT_FAST 1
__extension__ typedef unsigned __int128 u128;
#else
#define NUMFMT_FAST 0
#endif

size_t numfmt_double_reference(char *out, size_t size, double v)
{
	int n = 0;

	if (isnan(v))
		n = snprintf(out, size, "NaN");
	else if (isinf(v))
		n = snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
	else {
		for (int precision = 15; precision <= 17; precision++) {
			n = snprintf(out, size, "%.*g", precision, v);
			if (strtod(out, NULL) == v)
				break;
		}
		/* Should anything ever switch LC_NUMERIC, the output must still use a point. */
		for (char *c = out; *c; c++)
			if (*c == ',')
				*c = '.';
	}
	return n < 0 ? 0 : (size_t)n;
}

/* strtod() on a NUL-terminated copy: the definition of numfmt_parse_double(), and its general case. */
static int parse_libc(const char *s, size_t n, double *out)
{
	char small[64], *buf = small, *end;
	int rc = 0;

	if (n >= sizeof(small)) {
		buf = malloc(n + 1);
		if (!buf)
			return -ENOMEM;
	}
	if (n)
		memcpy(buf, s, n);
	buf[n] = '\0';
	*out = strtod(buf, &end);
	/* all n bytes: a NUL among them ends strtod()'s text early, like any other byte it stops at */
	if (end == buf || (size_t)(end - buf) != n)
		rc = -EINVAL;
	if (buf != small)
		free(buf);
	return rc;
}

#if NUMFMT_FAST

static const uint64_t pow10_u64[20] = {
	UINT64_C(1),
	UINT64_C(10),
	UINT64_C(100),
	UINT64_C(1000),
	UINT64_C(10000),
	UINT64_C(100000),
	UINT64_C(1000000),
	UINT64_C(10000000),
	UINT64_C(100000000),
	UINT64_C(1000000000),
	UINT64_C(10000000000),
	UINT64_C(100000000000),
	UINT64_C(1000000000000),
	UINT64_C(10000000000000),
	UINT64_C(100000000000000),
	UINT64_C(1000000000000000),
	UINT64_C(10000000000000000),
	UINT64_C(100000000000000000),
	UINT64_C(1000000000000000000),
	UINT64_C(10000000000000000000),
};

/* Exact doubles: 10^22 is the largest power of ten a double holds exactly. */
static const double pow10_double[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
	1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#define MANT_HIDDEN (UINT64_C(1) << 52)

static u128 pow10_u128(int k)
{
	u128 p = pow10_u64[k < 19 ? k : 19];

	for (int i = 19; i < k; i++)
		p *= 10;
	return p;
}

/* 2^e as a double, for a normal result (-1022 <= e <= 1023). */
static double pow2_double(int e)
{
	uint64_t bits = (uint64_t)(1023 + e) << 52;
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* ---- double -> text ---- */

/*
 * v·10^s as the fraction num/den, and v's unit in the last place on the same scale (ulp·10^s·den): all exact
 * integers. v = m·2^e2. shift: den is 2^shift (divide by shifting), or -1.
 */
struct scaled {
	u128 num, den, ulp;
	int shift;
};

static void scaled_init(struct scaled *x, uint64_t m, int e2, int s)
{
	if (e2 >= 0) {
		x->num = (u128)m << e2;
		x->den = 1;
		x->ulp = (u128)1 << e2;
		x->shift = 0;
	} else {
		x->num = m;
		x->den = (u128)1 << -e2;
		x->ulp = 1;
		x->shift = -e2;
	}
	if (s >= 0) {
		u128 p = pow10_u128(s);
		x->num *= p;
		x->ulp *= p;
	} else {
		x->den *= pow10_u64[-s];
		x->shift = -1;
	}
}

static u128 scaled_floor(const struct scaled *x, u128 *rem)
{
	if (x->shift >= 0) {
		*rem = x->num & (x->den - 1);
		return x->num >> x->shift;
	}
	*rem = x->num % x->den;
	return x->num / x->den;
}

/*
 * Whether the decimal q·10^-s reads back as v (strtod() rounds to nearest, ties to even): within half an
 * ulp above, and half an ulp below — a quarter when v is a power of two, whose lower neighbour is closer.
 */
static bool scaled_reads_back(const struct scaled *x, u128 q, uint64_t m)
{
	u128 qd = q * x->den, diff;
	unsigned k = 2;

	if (qd >= x->num) {
		diff = qd - x->num;
	} else {
		diff = x->num - qd;
		if (m == MANT_HIDDEN)
			k = 4;
	}
	diff *= k;
	return diff < x->ulp || (diff == x->ulp && !(m & 1));
}

/* q's digits, most significant first; returns how many. */
static int digits_u64(uint64_t q, char *d)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + q % 10);
		q /= 10;
	} while (q);
	for (int i = 0; i < n; i++)
		d[i] = tmp[n - 1 - i];
	return n;
}

/* "%.Pg" of ±q·10^(x-P+1), where q has exactly P digits and x is the decimal exponent (C locale). */
static size_t format_g(char *out, bool neg, uint64_t q, int p, int x)
{
	char d[20], *o = out;
	int nd;

	while (q % 10 == 0)
		q /= 10;
	nd = digits_u64(q, d);
	if (neg)
		*o++ = '-';
	if (x < -4 || x >= p) {
		*o++ = d[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, d + 1, (size_t)nd - 1);
			o += nd - 1;
		}
		*o++ = 'e';
		*o++ = x < 0 ? '-' : '+';
		if (x < 0)
			x = -x;
		if (x >= 100) {
			*o++ = (char)('0' + x / 100);
			x %= 100;
		}
		*o++ = (char)('0' + x / 10);
		*o++ = (char)('0' + x % 10);
	} else if (x >= 0) {
		int whole = x + 1;
		if (nd <= whole) {
			memcpy(o, d, (size_t)nd);
			memset(o + nd, '0', (size_t)(whole - nd));
			o += whole;
		} else {
			memcpy(o, d, (size_t)whole);
			o += whole;
			*o++ = '.';
			memcpy(o, d + whole, (size_t)(nd - whole));
			o += nd - whole;
		}
	} else {
		*o++ = '0';
		*o++ = '.';
		memset(o, '0', (size_t)(-x - 1));
		o += -x - 1;
		memcpy(o, d, (size_t)nd);
		o += nd;
	}
	*o = '\0';
	return (size_t)(o - out);
}

static size_t format_int(char *out, bool neg, uint64_t u)
{
	char *o = out;

	if (neg)
		*o++ = '-';
	o += digits_u64(u, o);
	*o = '\0';
	return (size_t)(o - out);
}

/*
 * The reference's text for v computed exactly, or 0 when v is outside the range handled here
 * (2^-10 <= |v| < 2^63, normal; zero; integers below 10^15). out holds NUMFMT_DOUBLE_SIZE bytes.
 */
static size_t format_fast(char *out, double v)
{
	uint64_t bits, m;
	int be, e2, x;
	bool neg;

	memcpy(&bits, &v, sizeof(bits));
	neg = (bits >> 63) != 0;
	if (v == 0)
		return format_int(out, neg, 0);
	/* %.15g of an integer below 10^15 is all its digits, which read back */
	if (fabs(v) < 1e15 && v == (double)(int64_t)v)
		return format_int(out, neg, (uint64_t)fabs(v));
	be = (int)((bits >> 52) & 0x7ff);
	if (be < 1023 - 10 || be > 1023 + 62)
		return 0;
	m = (bits & (MANT_HIDDEN - 1)) | MANT_HIDDEN;
	e2 = be - 1075;

	/* x = floor(log10 |v|): estimated from the binary exponent (within one), then checked exactly */
	x = (be - 1023) * 1233 / 4096;
	for (int tries = 0;; tries++) {
		struct scaled sc;
		u128 r, q;
		if (tries == 3)
			return 0;
		scaled_init(&sc, m, e2, 16 - x);
		q = scaled_floor(&sc, &r);
		if (q < pow10_u64[16])
			x--;
		else if (q >= pow10_u64[17])
			x++;
		else
			break;
	}

	/* %.Pg rounds |v| to P significant digits (to nearest, ties to even on the exact binary value) */
	for (int p = 15; p <= 17; p++) {
		struct scaled sc;
		u128 r, q;
		int xp = x;
		scaled_init(&sc, m, e2, p - 1 - x);
		q = scaled_floor(&sc, &r);
		if (2 * r > sc.den || (2 * r == sc.den && (q & 1)))
			q++;
		if (p < 17 && !scaled_reads_back(&sc, q, m))
			continue;
		if (q == pow10_u64[p]) {
			/* rounded up to the next power of ten: one digit fewer, exponent one more (it decides %g's
			 * style) */
			q /= 10;
			xp++;
		}
		return format_g(out, neg, (uint64_t)q, p, xp);
	}
	return 0; /* not reached: precision 17 always answers */
}

/* ---- text -> double ---- */

/*
 * The double nearest w/den (ties to even), for 2^53 < w < 2^64 and den = 10^k, 1 <= k <= 19; false when
 * the quotient would need more than 128 bits here. 55 or 56 bits of quotient, the rest as a sticky bit.
 */
static bool divide_rounded(uint64_t w, uint64_t den, double *out)
{
	int lw = 64 - __builtin_clzll(w), ld = 64 - __builtin_clzll(den);
	int sh = 55 + ld - lw, t;
	u128 num, q128;
	uint64_t q, mant, low, half;
	bool sticky;

	if (sh < 0)
		return false;
	num = (u128)w << sh; /* lw + sh = 55 + ld <= 119 bits */
	q128 = num / den;
	sticky = (num % den) != 0;
	q = (uint64_t)q128; /* 2^54 <= q < 2^56 */
	t = (64 - __builtin_clzll(q)) - 53;
	mant = q >> t;
	low = q & ((UINT64_C(1) << t) - 1);
	half = UINT64_C(1) << (t - 1);
	if (low > half || (low == half && (sticky || (mant & 1))))
		mant++;
	t -= sh;
	if (mant == (UINT64_C(1) << 53)) {
		mant >>= 1;
		t++;
	}
	/* w/10^19 > 2^-11 and w/10 < 2^61: mant·2^t is a normal double, the product exact */
	*out = (double)mant * pow2_double(t);
	return true;
}

/*
 * Strict JSON numbers -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? of at most 19 significant digits whose
 * value is an exact operation on exact doubles (Clinger's fast path) or a 128-bit division; false for
 * anything else (the caller asks strtod()).
 */
static bool parse_fast(const char *s, size_t n, double *out)
{
	const char *p = s, *end = s + n;
	uint64_t w = 0;
	int digits = 0, scale = 0;
	bool neg = false;
	double d;

	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	if (p == end || (unsigned)(*p - '0') > 9)
		return false;
	if (*p == '0') {
		p++;
		if (p < end && (unsigned)(*p - '0') <= 9)
			return false;
	} else {
		for (; p < end && (unsigned)(*p - '0') <= 9; p++) {
			if (digits == 19)
				return false;
			w = w * 10 + (uint64_t)(*p - '0');
			digits++;
		}
	}
	if (p < end && *p == '.') {
		p++;
		if (p == end || (unsigned)(*p - '0') > 9)
			return false;
		for (; p < end && (unsigned)(*p - '0') <= 9; p++) {
			scale--;
			if (w == 0 && *p == '0')
				continue; /* leading zeros are not significant */
			if (digits == 19)
				return false;
			w = w * 10 + (uint64_t)(*p - '0');
			digits++;
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		bool eneg = false;
		int e = 0;
		p++;
		if (p < end && (*p == '+' || *p == '-')) {
			eneg = *p == '-';
			p++;
		}
		if (p == end || (unsigned)(*p - '0') > 9)
			return false;
		for (; p < end && (unsigned)(*p - '0') <= 9; p++) {
			if (e > 10000)
				return false;
			e = e * 10 + (*p - '0');
		}
		scale += eneg ? -e : e;
	}
	if (p != end)
		return false;
	if (w == 0)
		d = 0.0;
	else if (w <= (UINT64_C(1) << 53) && scale >= -22 && scale <= 22)
		d = scale < 0 ? (double)w / pow10_double[-scale] : (double)w * pow10_double[scale];
	else if (scale == 0 && w < (UINT64_C(1) << 63))
		d = (double)(int64_t)w; /* one correctly rounded conversion */
	else if (scale < 0 && scale >= -19 && w > (UINT64_C(1) << 53)) {
		if (!divide_rounded(w, pow10_u64[-scale], &d))
			return false;
	} else
		return false;
	*out = neg ? -d : d;
	return true;
}

#endif /* NUMFMT_FAST */

size_t numfmt_double(char *out, size_t size, double v)
{
#if NUMFMT_FAST
	/* a buffer too small would make the reference try its precisions on truncated texts: leave that to it */
	if (size >= NUMFMT_DOUBLE_SIZE) {
		size_t n = format_fast(out, v);
		if (n)
			return n;
	}
#endif
	return numfmt_double_reference(out, size, v);
}

int numfmt_parse_double(const char *s, size_t n, double *out)
{
#if NUMFMT_FAST
	if (parse_fast(s, n, out))
		return 0;
#endif
	return parse_libc(s, n, out);
}
