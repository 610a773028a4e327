/* expfmt_check: a strict checker of the Prometheus text exposition format 0.0.4, for the fuzzers and tests */
#pragma once

#include <stddef.h>

/*
 * Checks text[0..len) strictly, as this exporter must write it: valid UTF-8, no NUL, every line
 * ends with '\n', no empty lines and no comments but "# HELP name text" and "# TYPE name type" (each at
 * most once per family, both before the family's first sample); every family one contiguous group and
 * every sampled family TYPEd; metric and label name syntax; no "__" label names; no label given twice
 * in a sample; label values escaped only as \\ \" \n; values as Go's text parser takes them (decimal or
 * exponent form, NaN, +Inf, -Inf); an optional integer timestamp; no series given twice.
 * A CR passes only where any character may (label values, HELP text): the format has no escape for it.
 * Returns 0 when it conforms; -1 with the first violation (line number and reason) in why.
 */
int expfmt_check(const char *text, size_t len, char *why, size_t whylen);
