/* exposition: the one writer of the Prometheus text format: family headers, series, label escaping, numbers */
#include "metrics/exposition.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config/model.h"
#include "util/numfmt.h"

int exposition_header(struct buf *b, const struct exposition_family *f)
{
	const char *type = f->type == EXPOSITION_COUNTER ? "counter" : "gauge";

	if (buf_puts(b, "# HELP ") < 0 || buf_puts(b, f->name) < 0 || buf_putc(b, ' ') < 0 ||
		buf_puts(b, f->help) < 0 || buf_puts(b, "\n# TYPE ") < 0 || buf_puts(b, f->name) < 0 ||
		buf_putc(b, ' ') < 0 || buf_puts(b, type) < 0 || buf_putc(b, '\n') < 0)
		return -ENOMEM;
	return 0;
}

int exposition_escape_label(struct buf *b, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = strlen(v), i = 0;
	char *o;
	int r;

	if (n == 0)
		return 0;

	/* Worst case: every byte becomes a three-byte U+FFFD. */
	if (n > SIZE_MAX / 3)
		return -ENOMEM;
	r = buf_reserve(b, 3 * n);
	if (r < 0)
		return r;
	o = b->data + b->len;
	while (i < n) {
		size_t run = i;
		/* Most values are plain ASCII: copy a run of it at once. */
		while (run < n && p[run] < 0x80 && p[run] != '\\' && p[run] != '"' && p[run] != '\n')
			run++;
		if (run > i) {
			memcpy(o, p + i, run - i);
			o += run - i;
			i = run;
			continue;
		}
		switch (p[i]) {
		case '\\':
			*o++ = '\\';
			*o++ = '\\';
			i++;
			continue;
		case '"':
			*o++ = '\\';
			*o++ = '"';
			i++;
			continue;
		case '\n':
			*o++ = '\\';
			*o++ = 'n';
			i++;
			continue;
		default:
			break;
		}
		o += model_utf8_put(o, p, n, &i);
	}
	b->len = (size_t)(o - b->data);
	return 0;
}

int exposition_label(struct buf *b, char sep, const char *name, const char *value)
{
	if (buf_putc(b, sep) < 0 || buf_puts(b, name) < 0 || buf_puts(b, "=\"") < 0 ||
		exposition_escape_label(b, value ? value : "") < 0 || buf_putc(b, '"') < 0)
		return -ENOMEM;
	return 0;
}

int exposition_series(struct buf *b, const char *name, const char *const *labels, size_t n_labels, const char *value)
{
	if (buf_puts(b, name) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n_labels; i++)
		if (exposition_label(b, i ? ',' : '{', labels[2 * i], labels[2 * i + 1]) < 0)
			return -ENOMEM;
	if ((n_labels && buf_putc(b, '}') < 0) || buf_putc(b, ' ') < 0 || buf_puts(b, value) < 0 ||
		buf_putc(b, '\n') < 0)
		return -ENOMEM;
	return 0;
}

int exposition_line(struct buf *b, const char *name, size_t name_len, const char *labels, size_t labels_len,
	const char *value, size_t value_len)
{
	size_t need = name_len + labels_len + 2 + value_len + 1;

	if (buf_reserve(b, need) < 0)
		return -ENOMEM;
	char *o = b->data + b->len;
	memcpy(o, name, name_len);
	o += name_len;
	memcpy(o, labels, labels_len);
	o += labels_len;
	memcpy(o, "} ", 2);
	o += 2;
	memcpy(o, value, value_len);
	o[value_len] = '\n';
	b->len += need;
	return 0;
}

size_t exposition_double(char *out, size_t size, double v)
{
	/* the first of %.15g, %.16g, %.17g that reads back, computed exactly without printf (numfmt.c) */
	size_t n = numfmt_double(out, size, v);
	return n < size ? n : strlen(out);
}

size_t exposition_int(char *out, size_t size, int64_t v)
{
	int n = snprintf(out, size, "%lld", (long long)v);
	return n > 0 && (size_t)n < size ? (size_t)n : strlen(out);
}

size_t exposition_uint(char *out, size_t size, uint64_t v)
{
	int n = snprintf(out, size, "%llu", (unsigned long long)v);
	return n > 0 && (size_t)n < size ? (size_t)n : strlen(out);
}
