/* json_schema: table-driven parsing of JSON over yajl's callback parser (bounded depth, sizes; no Deadline inside) */
#include "deadline/json_schema.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "util/numfmt.h"

struct json_frame {
	const struct json_node *node; /* NULL: inside a value being skipped */
	const struct json_member *member; /* objects: the member whose value comes next (NULL: unknown) */
	uint32_t seen;
	size_t index; /* arrays: elements started so far */
	char key[48]; /* objects: the last member name, for messages */
};

struct json_parser {
	yajl_handle yajl;
	const struct json_node *root;
	const struct json_sink *sink;
	void *ctx;
	struct json_frame stack[JSON_SCHEMA_DEPTH_MAX];
	size_t depth;
	int rc; /* the first failure a callback met */
	char *err;
	size_t errlen;
};

enum json_event {
	EV_NULL,
	EV_BOOL,
	EV_NUMBER,
	EV_STRING,
	EV_OBJECT,
	EV_ARRAY,
};

const struct json_node json_schema_string = {.kind = JSON_STRING};
const struct json_node json_schema_integer = {.kind = JSON_INTEGER};
const struct json_node json_schema_double = {.kind = JSON_DOUBLE};

static const char *json_event_name(enum json_event ev)
{
	static const char *const names[] = {"null", "a boolean", "a number", "a string", "an object", "an array"};
	return names[ev];
}

static const char *json_kind_name(enum json_kind k)
{
	static const char *const names[] = {"an object", "an array", "a string", "an integer", "a number"};
	return names[k];
}

static bool json_event_fits(enum json_event ev, enum json_kind k)
{
	switch (k) {
	case JSON_OBJECT:
		return ev == EV_OBJECT;
	case JSON_ARRAY:
		return ev == EV_ARRAY;
	case JSON_STRING:
		return ev == EV_STRING;
	case JSON_INTEGER:
	case JSON_DOUBLE:
		return ev == EV_NUMBER;
	}
	return false;
}

/* Where the parser is, as "statistics[2].costInUsd", from the first n frames. */
static void json_path(const struct json_parser *p, size_t n, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && used < outlen; i++) {
		const struct json_frame *f = &p->stack[i];
		int w = 0;

		if (f->node && f->node->kind == JSON_ARRAY && f->index > 0)
			w = snprintf(out + used, outlen - used, "[%zu]", f->index - 1);
		else if (f->node && f->node->kind == JSON_OBJECT && f->key[0])
			w = snprintf(out + used, outlen - used, "%s%s", used ? "." : "", f->key);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* Records the first failure ("path: reason") and returns 0 so that yajl stops. */
__attribute__((format(printf, 4, 5))) static int json_fail(
	struct json_parser *p, int rc, size_t n_frames, const char *fmt, ...)
{
	char path[160], msg[256];
	va_list ap;

	if (p->rc)
		return 0;
	p->rc = rc;
	if (!p->err || !p->errlen)
		return 0;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	json_path(p, n_frames, path, sizeof(path));
	if (snprintf(p->err, p->errlen, "%s%s%s", path, path[0] ? ": " : "", msg) < 0)
		p->err[0] = '\0';
	return 0;
}

static int json_sink_result(struct json_parser *p, int rc, const char *why, size_t n_frames)
{
	if (rc == 0)
		return 1;
	if (rc == -ENOMEM)
		return json_fail(p, rc, n_frames, "out of memory");
	return json_fail(p, rc, n_frames, "%s", why ? why : "invalid value");
}

/* The node the next value must match, or NULL when it is skipped; *member: the object member it is. */
static const struct json_node *json_next(struct json_parser *p, const struct json_member **member)
{
	struct json_frame *f;

	*member = NULL;
	if (p->depth == 0)
		return p->root;
	f = &p->stack[p->depth - 1];
	if (!f->node)
		return NULL;
	if (f->node->kind == JSON_ARRAY) {
		f->index++;
		return f->node->element;
	}
	*member = f->member;
	return f->member ? f->member->node : NULL;
}

static int json_number(
	struct json_parser *p, const struct json_node *node, const char *s, size_t n, struct json_value *v)
{
	char small[64], *buf = small, *end;
	int shown = n < 32 ? (int)n : 32; /* numbers are not NUL-terminated */
	bool integral = true;
	int ok = 1;

	if (node->kind == JSON_DOUBLE) {
		/* strtod()'s result without its cost for the usual few-digit numbers (numfmt.c) */
		int r = numfmt_parse_double(s, n, &v->d);
		if (r == -ENOMEM)
			return json_fail(p, -ENOMEM, p->depth, "out of memory");
		if (r < 0 || !isfinite(v->d))
			return json_fail(p, JSON_SCHEMA_BAD_SHAPE, p->depth, "number out of range: %.*s", shown, s);
		return 1;
	}
	if (node->kind == JSON_INTEGER && n > 0 && n <= 18) {
		/* plain digits: what strtoll() would read, without the copy (18 digits cannot overflow) */
		long long i = 0;
		size_t k = 0;
		for (; k < n && (unsigned)(s[k] - '0') <= 9; k++)
			i = i * 10 + (s[k] - '0');
		if (k == n) {
			v->i = i;
			return 1;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (s[i] == '.' || s[i] == 'e' || s[i] == 'E')
			integral = false;
	if (node->kind == JSON_INTEGER && n > 0 && s[0] == '-')
		return json_fail(
			p, JSON_SCHEMA_BAD_SHAPE, p->depth, "expected a non-negative integer, got %.*s", shown, s);
	if (n >= sizeof(small)) {
		buf = malloc(n + 1);
		if (!buf)
			return json_fail(p, -ENOMEM, p->depth, "out of memory");
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	if (node->kind == JSON_INTEGER && !integral) {
		/* 2.0 or 1e3 is still a whole number: accept what another serialiser may write, refuse 1.5 */
		double d = strtod(buf, &end);
		if (*end || end == buf || !isfinite(d) || d < 0 || d > 9007199254740992.0 || d != (double)(long long)d)
			ok = json_fail(p, JSON_SCHEMA_BAD_SHAPE, p->depth, "expected an integer, got %.*s", shown, s);
		else
			v->i = (long long)d;
	} else if (node->kind == JSON_INTEGER) {
		long long i = strtoll(buf, &end, 10);
		if (errno == ERANGE || *end || end == buf)
			ok = json_fail(p, JSON_SCHEMA_BAD_SHAPE, p->depth, "integer out of range: %.32s", buf);
		v->i = i;
	}
	if (buf != small)
		free(buf);
	return ok;
}

/* One value (scalar or the start of a container) where the parser stands. */
static int json_on_value(struct json_parser *p, enum json_event ev, const char *s, size_t n)
{
	const struct json_member *member;
	const struct json_node *node = json_next(p, &member);
	struct json_value v = {.s = s, .len = n};
	const char *why = NULL;
	int rc = 0;

	if ((ev == EV_STRING || ev == EV_NUMBER) && n > JSON_SCHEMA_STRING_MAX)
		return json_fail(p, JSON_SCHEMA_BAD_JSON, p->depth, "%s longer than %d bytes",
			ev == EV_STRING ? "string" : "number", JSON_SCHEMA_STRING_MAX);
	if ((ev == EV_OBJECT || ev == EV_ARRAY) && p->depth >= JSON_SCHEMA_DEPTH_MAX)
		return json_fail(
			p, JSON_SCHEMA_BAD_JSON, p->depth, "nested deeper than %d levels", JSON_SCHEMA_DEPTH_MAX);
	if (node && ev == EV_NULL && member)
		return 1; /* a null member is an absent member, as the SDKs read it */
	if (node && !json_event_fits(ev, node->kind))
		return json_fail(p, JSON_SCHEMA_BAD_SHAPE, p->depth, "expected %s, got %s", json_kind_name(node->kind),
			json_event_name(ev));
	if (node && member && member != p->stack[p->depth - 1].node->map_value) {
		struct json_frame *f = &p->stack[p->depth - 1];
		if (f->seen & (1u << member->bit))
			return json_fail(p, JSON_SCHEMA_BAD_SHAPE, p->depth, "member given twice");
		f->seen |= 1u << member->bit;
	}
	if (ev == EV_OBJECT || ev == EV_ARRAY) {
		struct json_frame *f = &p->stack[p->depth++];
		memset(f, 0, sizeof(*f));
		f->node = node;
		if (node && node->slot && p->sink->begin)
			rc = p->sink->begin(p->ctx, node->slot, &why);
		return json_sink_result(p, rc, why, p->depth - 1);
	}
	if (!node)
		return 1;
	if (ev == EV_NUMBER && !json_number(p, node, s, n, &v))
		return 0;
	if (member && member->slot)
		rc = p->sink->value(p->ctx, member->slot, &v, &why);
	return json_sink_result(p, rc, why, p->depth);
}

static int json_on_end(struct json_parser *p)
{
	struct json_frame *f = &p->stack[p->depth - 1];
	const char *why = NULL;
	int rc = 0;

	if (f->node && f->node->kind == JSON_OBJECT) {
		for (size_t i = 0; i < f->node->n_members; i++) {
			const struct json_member *m = &f->node->members[i];
			if (m->required && !(f->seen & (1u << m->bit)))
				return json_fail(
					p, JSON_SCHEMA_BAD_SHAPE, p->depth - 1, "missing member \"%s\"", m->name);
		}
	}
	if (f->node && f->node->slot && p->sink->end)
		rc = p->sink->end(p->ctx, f->node->slot, &why);
	if (rc)
		return json_sink_result(p, rc, why, p->depth - 1);
	p->depth--;
	return 1;
}

static int on_null(void *ctx)
{
	return json_on_value(ctx, EV_NULL, NULL, 0);
}

static int on_boolean(void *ctx, int b)
{
	(void)b;
	return json_on_value(ctx, EV_BOOL, NULL, 0);
}

static int on_number(void *ctx, const char *s, size_t n)
{
	return json_on_value(ctx, EV_NUMBER, s, n);
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
	return json_on_value(ctx, EV_STRING, (const char *)s, n);
}

static int on_start_map(void *ctx)
{
	return json_on_value(ctx, EV_OBJECT, NULL, 0);
}

static int on_start_array(void *ctx)
{
	return json_on_value(ctx, EV_ARRAY, NULL, 0);
}

static int on_end(void *ctx)
{
	return json_on_end(ctx);
}

static int on_map_key(void *ctx, const unsigned char *key, size_t n)
{
	struct json_parser *p = ctx;
	struct json_frame *f = &p->stack[p->depth - 1];
	const struct json_node *node = f->node;
	size_t keep;

	if (n > JSON_SCHEMA_STRING_MAX)
		return json_fail(
			p, JSON_SCHEMA_BAD_JSON, p->depth, "member name longer than %d bytes", JSON_SCHEMA_STRING_MAX);
	if (!node)
		return 1;
	f->member = NULL;
	for (size_t i = 0; i < node->n_members; i++) {
		const char *name = node->members[i].name;
		/* the first byte rules out most names without a strlen() */
		if (n && name[0] == (char)key[0] && strlen(name) == n && memcmp(name, key, n) == 0) {
			f->member = &node->members[i];
			break;
		}
	}
	if (!f->member && node->find)
		f->member = node->find((const char *)key, n);
	/* only known names ever appear in a message */
	keep = f->member ? (n < sizeof(f->key) ? n : sizeof(f->key) - 1) : 0;
	memcpy(f->key, key, keep);
	f->key[keep] = '\0';
	if (!f->member && node->map_value) {
		struct json_value v = {.s = (const char *)key, .len = n};
		const char *why = NULL;

		f->member = node->map_value;
		return json_sink_result(p, p->sink->value(p->ctx, node->map_key, &v, &why), why, p->depth);
	}
	return 1;
}

static const yajl_callbacks json_callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_boolean,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_map_key,
	.yajl_end_map = on_end,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end,
};

/* A streaming parse: init, feed() as the bytes arrive, finish(), deinit(). */
static int json_parser_init(struct json_parser *p, const struct json_node *root, const struct json_sink *sink,
	void *ctx, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->root = root;
	p->sink = sink;
	p->ctx = ctx;
	p->err = err;
	p->errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	/* defaults are what we want: UTF-8 validated, no comments, one value, no trailing garbage */
	p->yajl = yajl_alloc(&json_callbacks, NULL, p);
	return p->yajl ? 0 : -ENOMEM;
}

static int json_parser_status(struct json_parser *p, yajl_status st)
{
	unsigned char *msg;
	size_t n;

	if (st == yajl_status_ok)
		return 0;
	if (st == yajl_status_client_canceled)
		return p->rc ? p->rc : JSON_SCHEMA_BAD_JSON;
	p->rc = JSON_SCHEMA_BAD_JSON;
	msg = yajl_get_error(p->yajl, 0, NULL, 0);
	if (p->err && p->errlen) {
		n = msg ? strcspn((const char *)msg, "\n") : 0;
		if (snprintf(p->err, p->errlen, "invalid JSON: %.*s", (int)n, msg ? (const char *)msg : "") < 0)
			p->err[0] = '\0';
	}
	if (msg)
		yajl_free_error(p->yajl, msg);
	return p->rc;
}

static int json_parser_feed(struct json_parser *p, const char *buf, size_t len)
{
	if (p->rc)
		return p->rc;
	if (len == 0)
		return 0;
	return json_parser_status(p, yajl_parse(p->yajl, (const unsigned char *)buf, len));
}

static int json_parser_finish(struct json_parser *p)
{
	if (p->rc)
		return p->rc;
	return json_parser_status(p, yajl_complete_parse(p->yajl));
}

static void json_parser_deinit(struct json_parser *p)
{
	if (p->yajl)
		yajl_free(p->yajl);
	p->yajl = NULL;
}

int json_schema_parse(const struct json_node *root, const struct json_sink *sink, void *ctx, const char *body,
	size_t len, char *err, size_t errlen)
{
	/* a few KiB of frames: keep them off the poller thread's stack */
	struct json_parser *p;
	int rc;

	if (!body && len)
		return -EINVAL;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	rc = json_parser_init(p, root, sink, ctx, err, errlen);
	if (rc == 0)
		rc = json_parser_feed(p, body, len);
	if (rc == 0)
		rc = json_parser_finish(p);
	json_parser_deinit(p);
	free(p);
	return rc;
}

static char *str_copy(const char *s, size_t n)
{
	char *c = malloc(n + 1);

	if (!c)
		return NULL;
	memcpy(c, s, n);
	c[n] = '\0';
	return c;
}

int json_schema_set_string(char **dst, const struct json_value *v)
{
	free(*dst);
	*dst = str_copy(v->s, v->len);
	return *dst ? 0 : -ENOMEM;
}
