/* numfmt: doubles to and from text on the hot paths, exactly as snprintf()/strtod() would, without their cost */
#pragma once

#include <stddef.h>

/* Bytes enough for any numfmt_double() text and its NUL ("-1.2345678901234567e-308" is 24 bytes). */
#define NUMFMT_DOUBLE_SIZE 32

/*
 * v as a sample value of the text format: the first of "%.15g", "%.16g" and "%.17g" (C locale) that
 * reads back as v, with "NaN", "+Inf", "-Inf" for the others and always a '.' as decimal point.
 * Byte for byte what numfmt_double_reference() writes, only faster. Writes at most size bytes with a
 * NUL (truncating like snprintf); returns the length of the whole text.
 */
size_t numfmt_double(char *out, size_t size, double v);

/*
 * The n bytes at s (not NUL-terminated) read as strtod() reads the same bytes NUL-terminated, in the C
 * locale and the default rounding mode; the result is bit for bit strtod()'s. Returns 0 when strtod()
 * would consume the whole text (*out set), -EINVAL when it would not (nothing or trailing bytes),
 * -ENOMEM. Finite or not is the caller's question, as with strtod().
 */
int numfmt_parse_double(const char *s, size_t n, double *out);

/*
 * test hook: the same text as numfmt_double() through snprintf() and strtod(): the definition the unit test and
 * the fuzzer hold numfmt_double() to.
 */
size_t numfmt_double_reference(char *out, size_t size, double v);
