/* expfmt_check: a strict checker of the Prometheus text exposition format 0.0.4 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expfmt_check.h"

#define MAX_LABELS 64

struct family {
	char *name;
	bool has_help, has_type, has_samples, finished;
	char type[10];
};

struct label {
	const char *name;
	size_t name_len;
	char *value; /* unescaped, malloc'd */
	size_t value_len;
};

struct checker {
	struct family *families;
	size_t n_families, cap_families;
	struct family *current;
	char **series; /* open addressing set of "name\0label\0value\0…" keys */
	size_t *series_lens;
	size_t series_cap, n_series;
	size_t lineno;
	char *why;
	size_t whylen;
};

static int fail(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct checker *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->whylen)
		return -1;
	n = snprintf(c->why, c->whylen, "line %zu: ", c->lineno);
	if (n < 0 || (size_t)n >= c->whylen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->why + n, c->whylen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, surrogates, > U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned lo = 0x80, hi = 0xbf;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if (p[i] < lo || p[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

static bool is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* (metric) or [a-zA-Z_][a-zA-Z0-9_]* (label): its length at s, 0 if none. */
static size_t name_len(const char *s, const char *end, bool colon)
{
	size_t n = 0;

	while (s + n < end) {
		char ch = s[n];
		if (is_alpha(ch) || ch == '_' || (colon && ch == ':') || (n > 0 && is_digit(ch)))
			n++;
		else
			break;
	}
	return n;
}

static size_t digits(const char *s, const char *end)
{
	size_t n = 0;

	while (s + n < end && is_digit(s[n]))
		n++;
	return n;
}

/* The whole of s..end is a sample value: [+-]?(D+(.D*)?|.D+)([eE][+-]?D+)? | [+-]?Inf | NaN. */
static bool value_valid(const char *s, const char *end)
{
	size_t n = (size_t)(end - s), d;

	if (n == 3 && memcmp(s, "NaN", 3) == 0)
		return true;
	if (s < end && (*s == '+' || *s == '-'))
		s++;
	if ((size_t)(end - s) == 3 && memcmp(s, "Inf", 3) == 0)
		return true;
	d = digits(s, end);
	s += d;
	if (s < end && *s == '.') {
		size_t f = digits(s + 1, end);
		if (!d && !f)
			return false;
		s += 1 + f;
	} else if (!d) {
		return false;
	}
	if (s < end && (*s == 'e' || *s == 'E')) {
		s++;
		if (s < end && (*s == '+' || *s == '-'))
			s++;
		d = digits(s, end);
		if (!d)
			return false;
		s += d;
	}
	return s == end;
}

static bool timestamp_valid(const char *s, const char *end)
{
	if (s < end && *s == '-')
		s++;
	return s < end && digits(s, end) == (size_t)(end - s);
}

static struct family *family_find(struct checker *c, const char *name, size_t n)
{
	for (size_t i = 0; i < c->n_families; i++)
		if (strlen(c->families[i].name) == n && memcmp(c->families[i].name, name, n) == 0)
			return &c->families[i];
	return NULL;
}

/* The family a HELP/TYPE line or a sample belongs to becomes the current one; returning to a finished one fails. */
static int family_enter(struct checker *c, const char *name, size_t n, struct family **out)
{
	struct family *f = family_find(c, name, n);

	if (f && f == c->current) {
		*out = f;
		return 0;
	}
	if (f && f->finished)
		return fail(c, "family %.*s is not one contiguous group", (int)n, name);
	if (c->current)
		c->current->finished = true;
	if (!f) {
		if (c->n_families == c->cap_families) {
			size_t cap = c->cap_families ? 2 * c->cap_families : 16;
			struct family *fs = realloc(c->families, cap * sizeof(*fs));
			if (!fs)
				abort();
			c->families = fs;
			c->cap_families = cap;
		}
		f = &c->families[c->n_families++];
		memset(f, 0, sizeof(*f));
		f->name = strndup(name, n);
		if (!f->name)
			abort();
	}
	c->current = f;
	*out = f;
	return 0;
}

static uint64_t hash_key(const char *k, size_t n)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * UINT64_C(1099511628211);
	return h;
}

/* Adds key to the set of series; false when it was there. Takes key. */
static bool series_add(struct checker *c, char *key, size_t n)
{
	size_t i;

	if ((c->n_series + 1) * 2 > c->series_cap) {
		size_t cap = c->series_cap ? 2 * c->series_cap : 64;
		char **keys = calloc(cap, sizeof(*keys));
		size_t *lens = calloc(cap, sizeof(*lens));
		if (!keys || !lens)
			abort();
		for (size_t j = 0; j < c->series_cap; j++) {
			if (!c->series[j])
				continue;
			i = hash_key(c->series[j], c->series_lens[j]) & (cap - 1);
			while (keys[i])
				i = (i + 1) & (cap - 1);
			keys[i] = c->series[j];
			lens[i] = c->series_lens[j];
		}
		free(c->series);
		free(c->series_lens);
		c->series = keys;
		c->series_lens = lens;
		c->series_cap = cap;
	}
	for (i = hash_key(key, n) & (c->series_cap - 1); c->series[i]; i = (i + 1) & (c->series_cap - 1)) {
		if (c->series_lens[i] == n && memcmp(c->series[i], key, n) == 0) {
			free(key);
			return false;
		}
	}
	c->series[i] = key;
	c->series_lens[i] = n;
	c->n_series++;
	return true;
}

static int label_cmp(const void *a, const void *b)
{
	const struct label *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int r = memcmp(x->name, y->name, n);

	if (r)
		return r;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

/* "# HELP name text" or "# TYPE name type". */
static int check_comment(struct checker *c, const char *s, const char *end)
{
	static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
	bool help;
	const char *name, *arg;
	size_t n;
	struct family *f;

	if ((size_t)(end - s) >= 7 && memcmp(s, "# HELP ", 7) == 0)
		help = true;
	else if ((size_t)(end - s) >= 7 && memcmp(s, "# TYPE ", 7) == 0)
		help = false;
	else
		return fail(c, "a comment other than # HELP or # TYPE");
	name = s + 7;
	n = name_len(name, end, true);
	if (!n)
		return fail(c, "bad metric name in %s", help ? "HELP" : "TYPE");
	arg = name + n;
	if (arg == end) {
		if (!help)
			return fail(c, "TYPE without a type");
	} else if (*arg != ' ') {
		return fail(c, "bad metric name in %s", help ? "HELP" : "TYPE");
	} else {
		arg++;
	}
	if (family_enter(c, name, n, &f) < 0)
		return -1;
	if (f->has_samples)
		return fail(c, "%s of %s after its samples", help ? "HELP" : "TYPE", f->name);
	if (help) {
		if (f->has_help)
			return fail(c, "second HELP for %s", f->name);
		f->has_help = true;
		for (const char *p = arg; p < end; p++) {
			if (*p != '\\')
				continue;
			if (p + 1 >= end || (p[1] != '\\' && p[1] != 'n'))
				return fail(c, "bad escape in the HELP of %s", f->name);
			p++;
		}
		return 0;
	}
	if (f->has_type)
		return fail(c, "second TYPE for %s", f->name);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if ((size_t)(end - arg) == strlen(types[i]) && memcmp(arg, types[i], (size_t)(end - arg)) == 0) {
			f->has_type = true;
			snprintf(f->type, sizeof(f->type), "%s", types[i]);
			return 0;
		}
	}
	return fail(c, "unknown type %.*s", (int)(end - arg), arg);
}

/* The family a sample named name[0..n) belongs to: its own, or the current histogram's/summary's. */
static size_t sample_family_len(const struct checker *c, const char *name, size_t n)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
	const struct family *f = c->current;

	if (!f || (strcmp(f->type, "histogram") != 0 && strcmp(f->type, "summary") != 0))
		return n;
	for (size_t i = 0; i < 3; i++) {
		size_t fl = strlen(f->name), sl = strlen(suffixes[i]);
		if (i == 0 && strcmp(f->type, "summary") == 0)
			continue;
		if (n == fl + sl && memcmp(name, f->name, fl) == 0 && memcmp(name + fl, suffixes[i], sl) == 0)
			return fl;
	}
	return n;
}

static int check_sample(struct checker *c, const char *s, const char *end)
{
	struct label labels[MAX_LABELS];
	size_t n_labels = 0, n = name_len(s, end, true), key_len;
	const char *p = s + n, *value, *sp;
	struct family *f;
	char *key;
	int ret = -1;

	if (!n)
		return fail(c, "expected a metric name");
	if (p < end && *p == '{') {
		p++;
		while (p < end && *p != '}') {
			struct label *l;
			size_t ln = name_len(p, end, false), cap;
			if (!ln) {
				fail(c, "expected a label name");
				goto out;
			}
			if (ln >= 2 && p[0] == '_' && p[1] == '_') {
				fail(c, "reserved label name %.*s", (int)ln, p);
				goto out;
			}
			if (n_labels == MAX_LABELS) {
				fail(c, "more than %d labels", MAX_LABELS);
				goto out;
			}
			for (size_t i = 0; i < n_labels; i++) {
				if (labels[i].name_len == ln && memcmp(labels[i].name, p, ln) == 0) {
					fail(c, "label %.*s given twice", (int)ln, p);
					goto out;
				}
			}
			l = &labels[n_labels];
			l->name = p;
			l->name_len = ln;
			p += ln;
			if (end - p < 2 || p[0] != '=' || p[1] != '"') {
				fail(c, "expected =\" after label %.*s", (int)ln, l->name);
				goto out;
			}
			p += 2;
			cap = (size_t)(end - p) + 1;
			l->value = malloc(cap);
			if (!l->value)
				abort();
			l->value_len = 0;
			n_labels++;
			for (;;) {
				if (p >= end) {
					fail(c, "unterminated value of label %.*s", (int)ln, l->name);
					goto out;
				}
				if (*p == '"') {
					p++;
					break;
				}
				if (*p == '\\') {
					if (p + 1 >= end || (p[1] != '\\' && p[1] != '"' && p[1] != 'n')) {
						fail(c, "bad escape in the value of label %.*s", (int)ln, l->name);
						goto out;
					}
					l->value[l->value_len++] = p[1] == 'n' ? '\n' : p[1];
					p += 2;
					continue;
				}
				l->value[l->value_len++] = *p++;
			}
			if (p < end && *p == ',') {
				p++;
				/* the exporter writes no trailing comma */
				if (p < end && *p == '}') {
					fail(c, "trailing comma in the label set");
					goto out;
				}
			} else if (p >= end || *p != '}') {
				fail(c, "expected , or } after label %.*s", (int)ln, l->name);
				goto out;
			}
		}
		if (p >= end) {
			fail(c, "unterminated label set");
			goto out;
		}
		p++;
	}
	if (p >= end || *p != ' ') {
		fail(c, "expected one space before the value");
		goto out;
	}
	value = ++p;
	sp = memchr(value, ' ', (size_t)(end - value));
	if (!value_valid(value, sp ? sp : end)) {
		fail(c, "bad value %.*s", (int)((sp ? sp : end) - value), value);
		goto out;
	}
	if (sp && !timestamp_valid(sp + 1, end)) {
		fail(c, "bad timestamp or trailing text %.*s", (int)(end - sp - 1), sp + 1);
		goto out;
	}
	if (family_enter(c, s, sample_family_len(c, s, n), &f) < 0)
		goto out;
	if (!f->has_type) {
		fail(c, "sample of %s without a TYPE before it", f->name);
		goto out;
	}
	f->has_samples = true;

	qsort(labels, n_labels, sizeof(labels[0]), label_cmp);
	key_len = n + 1;
	for (size_t i = 0; i < n_labels; i++)
		key_len += labels[i].name_len + 1 + labels[i].value_len + 1;
	key = malloc(key_len);
	if (!key)
		abort();
	memcpy(key, s, n);
	key[n] = '\0';
	for (size_t i = 0, at = n + 1; i < n_labels; i++) {
		memcpy(key + at, labels[i].name, labels[i].name_len);
		at += labels[i].name_len;
		key[at++] = '\0';
		/* a value may hold NUL only if it came from an escape the checker rejects, so '\0' separates */
		memcpy(key + at, labels[i].value, labels[i].value_len);
		at += labels[i].value_len;
		key[at++] = '\0';
	}
	if (!series_add(c, key, key_len)) {
		fail(c, "series given twice: %.*s", (int)(end - s), s);
		goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < n_labels; i++)
		free(labels[i].value);
	return ret;
}

static void checker_deinit(struct checker *c)
{
	for (size_t i = 0; i < c->n_families; i++)
		free(c->families[i].name);
	free(c->families);
	for (size_t i = 0; i < c->series_cap; i++)
		free(c->series[i]);
	free(c->series);
	free(c->series_lens);
}

int expfmt_check(const char *text, size_t len, char *why, size_t whylen)
{
	struct checker c = {.why = why, .whylen = whylen};
	const char *p = text, *end = text + len;
	int ret = -1;

	if (whylen)
		why[0] = '\0';
	/* the whole text first: UTF-8, no NUL (a CR can only pass where any character may: label values, HELP) */
	for (size_t i = 0; i < len;) {
		size_t n = utf8_len((const unsigned char *)text + i, len - i);
		if (!n) {
			c.lineno = 1;
			for (size_t k = 0; k < i; k++)
				c.lineno += text[k] == '\n';
			return fail(&c, "invalid UTF-8 at byte %zu", i);
		}
		if (text[i] == '\0') {
			c.lineno = 1;
			for (size_t k = 0; k < i; k++)
				c.lineno += text[k] == '\n';
			return fail(&c, "a NUL byte");
		}
		i += n;
	}
	if (len && text[len - 1] != '\n')
		return fail(&c, "the text does not end with a newline");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		c.lineno++;
		if (nl == p) {
			fail(&c, "an empty line");
			goto out;
		}
		if (*p == '#' ? check_comment(&c, p, nl) < 0 : check_sample(&c, p, nl) < 0)
			goto out;
		p = nl + 1;
	}
	ret = 0;
out:
	checker_deinit(&c);
	return ret;
}
