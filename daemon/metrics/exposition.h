/* exposition: the one writer of the Prometheus text format: family headers, series, label escaping, numbers */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* A family's type, as its TYPE line spells it. */
enum exposition_type {
	EXPOSITION_GAUGE,
	EXPOSITION_COUNTER,
};

/* What a metric family is: its name, type and help text (static strings), from which its header is written. */
struct exposition_family {
	const char *name;
	enum exposition_type type;
	const char *help;
};

/* Bytes enough for any number these functions write, and its NUL. */
#define EXPOSITION_NUMBER_SIZE 32

/* Appends the family's header: "# HELP name help\n# TYPE name type\n". Returns 0 or -ENOMEM. */
int exposition_header(struct buf *b, const struct exposition_family *f);

/*
 * Appends v escaped as a label value of the text format (\\, \", \n). Bytes that are not valid UTF-8 are
 * replaced by U+FFFD so the output always parses. Returns 0 or -ENOMEM.
 */
int exposition_escape_label(struct buf *b, const char *v);

/*
 * Appends one label of a series being written: sep ('{' for the first label, ',' for the others), then
 * name="value" with value escaped (NULL: the empty value). Returns 0 or -ENOMEM.
 */
int exposition_label(struct buf *b, char sep, const char *name, const char *value);

/*
 * Appends the series `name{l1="v1",…} value\n`: labels holds n_labels (name, value) pairs one after the other,
 * values escaped (a NULL value is empty); without labels, `name value\n`. value is the sample's text
 * (exposition_double(), exposition_int()…). Returns 0 or -ENOMEM.
 */
int exposition_series(struct buf *b, const char *name, const char *const *labels, size_t n_labels, const char *value);

/*
 * Appends the series `name` + labels + `} ` + value + `\n`, where labels is a label set already written with
 * exposition_label() and not closed (it starts with '{'). The bulk path: one reservation, four copies.
 * Returns 0 or -ENOMEM.
 */
int exposition_line(struct buf *b, const char *name, size_t name_len, const char *labels, size_t labels_len,
	const char *value, size_t value_len);

/*
 * A sample value as the text format spells it: the shortest decimal that reads back as v, NaN, +Inf, -Inf.
 * Returns its length (out holds EXPOSITION_NUMBER_SIZE bytes or more, so it is never cut).
 */
size_t exposition_double(char *out, size_t size, double v);
/* An integer sample value in decimal. Returns its length (out as for exposition_double()). */
size_t exposition_int(char *out, size_t size, int64_t v);
/* An unsigned integer sample value (a counter) in decimal. Returns its length. */
size_t exposition_uint(char *out, size_t size, uint64_t v);
