/* deadline_api: request builders and yajl parsing into plain structs (no curl inside) */
#include "deadline/deadline_api.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "util/numfmt.h"
#include "aws/sigv4.h"
#include "config/window.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* ---- paths and queries ---- */

static char *farm_path(const char *farm_id, const char *tail)
{
	char *enc, *path = NULL;

	if (!farm_id || !*farm_id)
		return NULL;
	/* ids are plain [a-z0-9-], but a path is no place to trust that */
	enc = sigv4_uri_encode(farm_id, true);
	if (!enc)
		return NULL;
	if (asprintf(&path, "/" DEADLINE_API_VERSION "/farms/%s/%s", enc, tail) < 0)
		path = NULL;
	free(enc);
	return path;
}

char *deadline_aggregation_path(const char *farm_id)
{
	return farm_path(farm_id, "sessions-statistics-aggregation");
}

char *deadline_list_path(const char *farm_id, enum resource_kind kind)
{
	switch (kind) {
	case RESOURCE_QUEUES:
		return farm_path(farm_id, "queues");
	case RESOURCE_FLEETS:
		return farm_path(farm_id, "fleets");
	}
	return NULL;
}

/* Keys in sorted order, as the canonical query string of SigV4 wants them anyway. */
static char *query_build(const char *aggregation_id, int max_results, const char *next_token)
{
	char *id = NULL, *token = NULL, *q = NULL;

	if (max_results < 1 || max_results > DEADLINE_MAX_RESULTS)
		return NULL;
	if (aggregation_id && !(id = sigv4_uri_encode(aggregation_id, true)))
		goto out;
	if (next_token && *next_token && !(token = sigv4_uri_encode(next_token, true)))
		goto out;
	if (asprintf(&q, "%s%s%smaxResults=%d%s%s", id ? "aggregationId=" : "", id ? id : "", id ? "&" : "",
		    max_results, token ? "&nextToken=" : "", token ? token : "") < 0)
		q = NULL;
out:
	free(id);
	free(token);
	return q;
}

char *deadline_get_query(const char *aggregation_id, int max_results, const char *next_token)
{
	if (!aggregation_id || !*aggregation_id)
		return NULL;
	return query_build(aggregation_id, max_results, next_token);
}

char *deadline_list_query(int max_results, const char *next_token)
{
	return query_build(NULL, max_results, next_token);
}

/* ---- the Start body ---- */

static int gen_check(yajl_gen_status st)
{
	if (st == yajl_gen_status_ok)
		return 0;
	/* invalid UTF-8 in a caller's string, or a generator misuse: both are the caller's input */
	return -EINVAL;
}

static int gen_string(yajl_gen g, const char *s)
{
	return gen_check(yajl_gen_string(g, (const unsigned char *)s, strlen(s)));
}

static int gen_start_members(yajl_gen g, const struct deadline_start_request *r)
{
	static const enum statistic stats_order[] = {STAT_SUM, STAT_MIN, STAT_MAX, STAT_AVG};
	int rc;

	if ((rc = gen_check(yajl_gen_map_open(g))) < 0 || (rc = gen_string(g, "resourceIds")) < 0 ||
		(rc = gen_check(yajl_gen_map_open(g))) < 0 ||
		(rc = gen_string(g, resource_kind_ids_member(r->kind))) < 0 ||
		(rc = gen_check(yajl_gen_array_open(g))) < 0)
		return rc;
	for (size_t i = 0; i < r->n_resource_ids; i++)
		if ((rc = gen_string(g, r->resource_ids[i])) < 0)
			return rc;
	if ((rc = gen_check(yajl_gen_array_close(g))) < 0 || (rc = gen_check(yajl_gen_map_close(g))) < 0 ||
		(rc = gen_string(g, "startTime")) < 0 || (rc = gen_string(g, r->start_time)) < 0 ||
		(rc = gen_string(g, "endTime")) < 0 || (rc = gen_string(g, r->end_time)) < 0 ||
		(rc = gen_string(g, "groupBy")) < 0 || (rc = gen_check(yajl_gen_array_open(g))) < 0)
		return rc;
	for (size_t i = 0; i < r->n_group_by; i++)
		if ((rc = gen_string(g, group_field_api_name(r->group_by[i]))) < 0)
			return rc;
	if ((rc = gen_check(yajl_gen_array_close(g))) < 0 || (rc = gen_string(g, "statistics")) < 0 ||
		(rc = gen_check(yajl_gen_array_open(g))) < 0)
		return rc;
	for (size_t i = 0; i < sizeof(stats_order) / sizeof(stats_order[0]); i++)
		if ((r->statistics & stats_order[i]) && (rc = gen_string(g, statistic_api_name(stats_order[i]))) < 0)
			return rc;
	if ((rc = gen_check(yajl_gen_array_close(g))) < 0)
		return rc;
	if (r->timezone && ((rc = gen_string(g, "timezone")) < 0 || (rc = gen_string(g, r->timezone)) < 0))
		return rc;
	if (r->period != PERIOD_NONE &&
		((rc = gen_string(g, "period")) < 0 || (rc = gen_string(g, period_api_name(r->period))) < 0))
		return rc;
	return gen_check(yajl_gen_map_close(g));
}

static bool start_request_valid(const struct deadline_start_request *r)
{
	if (!r || !resource_kind_ids_member(r->kind) || !r->resource_ids || r->n_resource_ids < 1 ||
		r->n_resource_ids > DEADLINE_MAX_RESOURCES_PER_AGGREGATION || !r->start_time || !r->end_time ||
		!r->group_by || r->n_group_by < 1 || r->n_group_by > 2 || !r->statistics || (r->statistics & ~STAT_ALL))
		return false;
	for (size_t i = 0; i < r->n_resource_ids; i++)
		if (!r->resource_ids[i])
			return false;
	for (size_t i = 0; i < r->n_group_by; i++)
		if (!group_field_api_name(r->group_by[i]))
			return false;
	for (unsigned bit = STAT_SUM; bit <= STAT_AVG; bit <<= 1)
		if ((r->statistics & bit) && !statistic_api_name((enum statistic)bit))
			return false;
	return r->period == PERIOD_NONE || period_api_name(r->period);
}

int deadline_start_body(const struct deadline_start_request *r, char **body, size_t *len)
{
	const unsigned char *buf;
	size_t n;
	yajl_gen g;
	int rc;

	if (!body || !len)
		return -EINVAL;
	*body = NULL;
	*len = 0;
	if (!start_request_valid(r))
		return -EINVAL;
	g = yajl_gen_alloc(NULL);
	if (!g)
		return -ENOMEM;
	if (!yajl_gen_config(g, yajl_gen_validate_utf8, 1)) {
		rc = -EINVAL;
		goto out;
	}
	if ((rc = gen_start_members(g, r)) < 0 || (rc = gen_check(yajl_gen_get_buf(g, &buf, &n))) < 0)
		goto out;
	*body = malloc(n + 1);
	if (!*body) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(*body, buf, n);
	(*body)[n] = '\0';
	*len = n;
out:
	yajl_gen_free(g);
	return rc;
}

/* ---- a small schema-driven layer over yajl's callback parser ---- */

enum json_kind {
	JSON_OBJECT,
	JSON_ARRAY,
	JSON_STRING,
	JSON_INTEGER, /* non-negative, fits int64_t */
	JSON_DOUBLE, /* finite */
};

struct json_node;

struct json_member {
	const char *name;
	int slot; /* scalars: passed to the sink's value() */
	unsigned bit; /* index in the object's seen mask (< 32) */
	bool required;
	const struct json_node *node;
};

struct json_node {
	enum json_kind kind;
	int slot; /* objects: passed to begin()/end(), 0 for none */
	const struct json_member *members; /* objects */
	size_t n_members;
	const struct json_member *(*find)(const char *key, size_t len); /* objects: members not in the table */
	const struct json_node *element; /* arrays */
};

struct json_value {
	const char *s; /* strings: not NUL-terminated */
	size_t len;
	int64_t i;
	double d;
};

/* Sink callbacks return 0, -ENOMEM, or a DEADLINE_* code with a static reason in *why. */
struct json_sink {
	int (*value)(void *ctx, int slot, const struct json_value *v, const char **why);
	int (*begin)(void *ctx, int slot, const char **why);
	int (*end)(void *ctx, int slot, const char **why);
};

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
	struct json_frame stack[DEADLINE_JSON_DEPTH_MAX];
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
			return json_fail(p, DEADLINE_BAD_SHAPE, p->depth, "number out of range: %.*s", shown, s);
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
			p, DEADLINE_BAD_SHAPE, p->depth, "expected a non-negative integer, got %.*s", shown, s);
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
			ok = json_fail(p, DEADLINE_BAD_SHAPE, p->depth, "expected an integer, got %.*s", shown, s);
		else
			v->i = (long long)d;
	} else if (node->kind == JSON_INTEGER) {
		long long i = strtoll(buf, &end, 10);
		if (errno == ERANGE || *end || end == buf)
			ok = json_fail(p, DEADLINE_BAD_SHAPE, p->depth, "integer out of range: %.32s", buf);
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

	if ((ev == EV_STRING || ev == EV_NUMBER) && n > DEADLINE_JSON_STRING_MAX)
		return json_fail(p, DEADLINE_BAD_JSON, p->depth, "%s longer than %d bytes",
			ev == EV_STRING ? "string" : "number", DEADLINE_JSON_STRING_MAX);
	if ((ev == EV_OBJECT || ev == EV_ARRAY) && p->depth >= DEADLINE_JSON_DEPTH_MAX)
		return json_fail(
			p, DEADLINE_BAD_JSON, p->depth, "nested deeper than %d levels", DEADLINE_JSON_DEPTH_MAX);
	if (node && ev == EV_NULL && member)
		return 1; /* a null member is an absent member, as the SDKs read it */
	if (node && !json_event_fits(ev, node->kind))
		return json_fail(p, DEADLINE_BAD_SHAPE, p->depth, "expected %s, got %s", json_kind_name(node->kind),
			json_event_name(ev));
	if (node && member) {
		struct json_frame *f = &p->stack[p->depth - 1];
		if (f->seen & (1u << member->bit))
			return json_fail(p, DEADLINE_BAD_SHAPE, p->depth, "member given twice");
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
				return json_fail(p, DEADLINE_BAD_SHAPE, p->depth - 1, "missing member \"%s\"", m->name);
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

	if (n > DEADLINE_JSON_STRING_MAX)
		return json_fail(
			p, DEADLINE_BAD_JSON, p->depth, "member name longer than %d bytes", DEADLINE_JSON_STRING_MAX);
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
		return p->rc ? p->rc : DEADLINE_BAD_JSON;
	p->rc = DEADLINE_BAD_JSON;
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

static int json_parse(const struct json_node *root, const struct json_sink *sink, void *ctx, const char *body,
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

/* Sets *dst to a copy of the value; a member is seen at most once, so *dst is NULL here. */
static int str_set(char **dst, const struct json_value *v)
{
	free(*dst);
	*dst = str_copy(v->s, v->len);
	return *dst ? 0 : -ENOMEM;
}

/* ---- the schemas ---- */

enum {
	SLOT_NONE,
	SLOT_STATUS,
	SLOT_STATUS_MESSAGE,
	SLOT_NEXT_TOKEN,
	SLOT_ROW,
	SLOT_JOB_NAME,
	SLOT_COUNT,
	SLOT_COST,
	SLOT_RUNTIME,
	SLOT_BUCKET_START,
	SLOT_BUCKET_END,
	SLOT_STAT_SUM,
	SLOT_STAT_MIN,
	SLOT_STAT_MAX,
	SLOT_STAT_AVG,
	SLOT_AGGREGATION_ID,
	SLOT_LIST_ID,
	SLOT_ERROR_TYPE,
	SLOT_ERROR_MESSAGE,
	SLOT_ERROR_MESSAGE_CAPITAL,
	SLOT_FIELD, /* + enum group_field */
};

static const struct json_node string_node = {.kind = JSON_STRING};
static const struct json_node integer_node = {.kind = JSON_INTEGER};
static const struct json_node double_node = {.kind = JSON_DOUBLE};

static const struct json_member stats_members[] = {
	{"sum", SLOT_STAT_SUM, 0, false, &double_node},
	{"min", SLOT_STAT_MIN, 1, false, &double_node},
	{"max", SLOT_STAT_MAX, 2, false, &double_node},
	{"avg", SLOT_STAT_AVG, 3, false, &double_node},
};
static const struct json_node cost_node = {
	.kind = JSON_OBJECT, .slot = SLOT_COST, .members = stats_members, .n_members = 4};
static const struct json_node runtime_node = {
	.kind = JSON_OBJECT, .slot = SLOT_RUNTIME, .members = stats_members, .n_members = 4};

static const struct json_member row_members[] = {
	{"count", SLOT_COUNT, 0, true, &integer_node},
	{"costInUsd", SLOT_NONE, 1, true, &cost_node},
	{"runtimeInSeconds", SLOT_NONE, 2, true, &runtime_node},
	{"jobName", SLOT_JOB_NAME, 3, false, &string_node},
	{"aggregationStartTime", SLOT_BUCKET_START, 4, false, &string_node},
	{"aggregationEndTime", SLOT_BUCKET_END, 5, false, &string_node},
};

#define FIELD_MEMBER(f) [f] = {NULL, SLOT_FIELD + (f), 8 + (f), false, &string_node}
static const struct json_member row_field_members[GROUP_FIELD_COUNT] = {
	FIELD_MEMBER(GROUP_QUEUE_ID),
	FIELD_MEMBER(GROUP_FLEET_ID),
	FIELD_MEMBER(GROUP_JOB_ID),
	FIELD_MEMBER(GROUP_USER_ID),
	FIELD_MEMBER(GROUP_USAGE_TYPE),
	FIELD_MEMBER(GROUP_INSTANCE_TYPE),
	FIELD_MEMBER(GROUP_LICENSE_PRODUCT),
};
#undef FIELD_MEMBER

/* The group-by members of a row, named by the model's table. */
static const struct json_member *row_find(const char *key, size_t len)
{
	for (int f = 0; f < GROUP_FIELD_COUNT; f++) {
		const char *name = group_field_json_member((enum group_field)f);
		if (name && len && name[0] == key[0] && strlen(name) == len && memcmp(name, key, len) == 0)
			return &row_field_members[f];
	}
	return NULL;
}

static const struct json_node row_node = {.kind = JSON_OBJECT,
	.slot = SLOT_ROW,
	.members = row_members,
	.n_members = sizeof(row_members) / sizeof(row_members[0]),
	.find = row_find};
static const struct json_node statistics_node = {.kind = JSON_ARRAY, .element = &row_node};

static const struct json_member get_members[] = {
	{"status", SLOT_STATUS, 0, true, &string_node},
	{"statusMessage", SLOT_STATUS_MESSAGE, 1, false, &string_node},
	{"nextToken", SLOT_NEXT_TOKEN, 2, false, &string_node},
	{"statistics", SLOT_NONE, 3, false, &statistics_node},
};
static const struct json_node get_node = {.kind = JSON_OBJECT, .members = get_members, .n_members = 4};

static const struct json_member start_members[] = {
	{"aggregationId", SLOT_AGGREGATION_ID, 0, true, &string_node},
};
static const struct json_node start_node = {.kind = JSON_OBJECT, .members = start_members, .n_members = 1};

static const struct json_member queue_item_members[] = {{"queueId", SLOT_LIST_ID, 0, true, &string_node}};
static const struct json_member fleet_item_members[] = {{"fleetId", SLOT_LIST_ID, 0, true, &string_node}};
static const struct json_node queue_item_node = {.kind = JSON_OBJECT, .members = queue_item_members, .n_members = 1};
static const struct json_node fleet_item_node = {.kind = JSON_OBJECT, .members = fleet_item_members, .n_members = 1};
static const struct json_node queue_list_node = {.kind = JSON_ARRAY, .element = &queue_item_node};
static const struct json_node fleet_list_node = {.kind = JSON_ARRAY, .element = &fleet_item_node};
static const struct json_member queues_members[] = {
	{"queues", SLOT_NONE, 0, true, &queue_list_node},
	{"nextToken", SLOT_NEXT_TOKEN, 1, false, &string_node},
};
static const struct json_member fleets_members[] = {
	{"fleets", SLOT_NONE, 0, true, &fleet_list_node},
	{"nextToken", SLOT_NEXT_TOKEN, 1, false, &string_node},
};
static const struct json_node queues_node = {.kind = JSON_OBJECT, .members = queues_members, .n_members = 2};
static const struct json_node fleets_node = {.kind = JSON_OBJECT, .members = fleets_members, .n_members = 2};

static const struct json_member error_members[] = {
	{"__type", SLOT_ERROR_TYPE, 0, false, &string_node},
	{"message", SLOT_ERROR_MESSAGE, 1, false, &string_node},
	{"Message", SLOT_ERROR_MESSAGE_CAPITAL, 2, false, &string_node},
};
static const struct json_node error_node = {.kind = JSON_OBJECT, .members = error_members, .n_members = 3};

/* ---- GetSessionsStatisticsAggregation ---- */

struct get_ctx {
	struct deadline_page page;
	size_t cap;
	struct usage_stats *stats; /* the Stats object being read */
};

static const char *const status_names[] = {
	[DEADLINE_STATUS_IN_PROGRESS] = "IN_PROGRESS",
	[DEADLINE_STATUS_COMPLETED] = "COMPLETED",
	[DEADLINE_STATUS_FAILED] = "FAILED",
	[DEADLINE_STATUS_TIMEOUT] = "TIMEOUT",
	[DEADLINE_STATUS_UNKNOWN] = "UNKNOWN",
};

const char *deadline_status_name(enum deadline_status s)
{
	if ((unsigned)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "UNKNOWN";
	return status_names[s];
}

static enum deadline_status status_from_text(const char *s)
{
	for (int i = 0; i < DEADLINE_STATUS_UNKNOWN; i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum deadline_status)i;
	return DEADLINE_STATUS_UNKNOWN;
}

/* RFC 3339 bucket bounds are informational: one we cannot read becomes 0 instead of failing the page. */
static int bucket_time(const struct json_value *v, int64_t *out)
{
	char small[64], *s = small;

	/* two per row: no malloc for the usual 20-odd bytes */
	if (v->len < sizeof(small)) {
		memcpy(small, v->s, v->len);
		small[v->len] = '\0';
	} else if (!(s = str_copy(v->s, v->len)))
		return -ENOMEM;
	if (window_parse_rfc3339(s, out) < 0)
		*out = 0;
	if (s != small)
		free(s);
	return 0;
}

static void stats_set(struct usage_stats *st, int slot, double d)
{
	switch (slot) {
	case SLOT_STAT_SUM:
		st->sum = d;
		st->present |= STAT_SUM;
		break;
	case SLOT_STAT_MIN:
		st->min = d;
		st->present |= STAT_MIN;
		break;
	case SLOT_STAT_MAX:
		st->max = d;
		st->present |= STAT_MAX;
		break;
	case SLOT_STAT_AVG:
		st->avg = d;
		st->present |= STAT_AVG;
		break;
	}
}

static int get_value(void *c, int slot, const struct json_value *v, const char **why)
{
	struct get_ctx *ctx = c;
	struct deadline_page *pg = &ctx->page;
	struct usage_row *row = pg->n_rows ? &pg->rows[pg->n_rows - 1] : NULL;
	int rc;

	(void)why;
	switch (slot) {
	case SLOT_STATUS:
		if ((rc = str_set(&pg->status_text, v)) < 0)
			return rc;
		pg->status = status_from_text(pg->status_text);
		return 0;
	case SLOT_STATUS_MESSAGE:
		return str_set(&pg->status_message, v);
	case SLOT_NEXT_TOKEN:
		/* an empty token means no more pages, like null: never loop on it */
		return v->len ? str_set(&pg->next_token, v) : 0;
	case SLOT_JOB_NAME:
		return str_set(&row->job_name, v);
	case SLOT_COUNT:
		row->count = v->i;
		return 0;
	case SLOT_BUCKET_START:
		return bucket_time(v, &row->bucket_start);
	case SLOT_BUCKET_END:
		return bucket_time(v, &row->bucket_end);
	case SLOT_STAT_SUM:
	case SLOT_STAT_MIN:
	case SLOT_STAT_MAX:
	case SLOT_STAT_AVG:
		stats_set(ctx->stats, slot, v->d);
		return 0;
	default:
		if (slot >= SLOT_FIELD && slot < SLOT_FIELD + GROUP_FIELD_COUNT)
			return str_set(&row->fields[slot - SLOT_FIELD], v);
		return 0;
	}
}

static int get_begin(void *c, int slot, const char **why)
{
	struct get_ctx *ctx = c;
	struct deadline_page *pg = &ctx->page;

	switch (slot) {
	case SLOT_ROW:
		if (pg->n_rows >= DEADLINE_ROWS_MAX) {
			*why = "more than " STRINGIFY(DEADLINE_ROWS_MAX) " statistics rows in one page";
			return DEADLINE_BAD_JSON;
		}
		if (pg->n_rows == ctx->cap) {
			size_t cap = ctx->cap ? 2 * ctx->cap : 16;
			struct usage_row *rows = realloc(pg->rows, cap * sizeof(*rows));
			if (!rows)
				return -ENOMEM;
			pg->rows = rows;
			ctx->cap = cap;
		}
		memset(&pg->rows[pg->n_rows++], 0, sizeof(pg->rows[0]));
		return 0;
	case SLOT_COST:
		ctx->stats = &pg->rows[pg->n_rows - 1].cost;
		return 0;
	case SLOT_RUNTIME:
		ctx->stats = &pg->rows[pg->n_rows - 1].runtime;
		return 0;
	}
	return 0;
}

static int get_end(void *c, int slot, const char **why)
{
	struct get_ctx *ctx = c;

	(void)why;
	if (slot == SLOT_COST || slot == SLOT_RUNTIME)
		ctx->stats = NULL;
	return 0;
}

static const struct json_sink get_sink = {.value = get_value, .begin = get_begin, .end = get_end};

void deadline_page_deinit(struct deadline_page *page)
{
	if (!page)
		return;
	for (size_t i = 0; i < page->n_rows; i++)
		usage_row_deinit(&page->rows[i]);
	free(page->rows);
	free(page->status_text);
	free(page->status_message);
	free(page->next_token);
	memset(page, 0, sizeof(*page));
}

/* Length of the whitespace-free JSON string body at s (just after its opening quote), or 0 without one. */
static size_t peek_plain_string(const char *s, const char *end)
{
	const char *q = s;

	while (q < end && *q != '"') {
		if (*q == '\\' || (unsigned char)*q < 0x20)
			return 0;
		q++;
	}
	return q < end ? (size_t)(q - s) : 0;
}

static bool peek_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

char *deadline_peek_next_token(const char *body, size_t len)
{
	static const char key[] = "\"nextToken\"";
	const size_t klen = sizeof(key) - 1;
	const char *end = body + len;

	if (!body || len < klen)
		return NULL;
	/* From the end: services write it after the rows, and the rows are most of the body. */
	for (size_t at = len - klen + 1; at-- > 0;) {
		const char *k = body + at;
		if (*k != '"' || memcmp(k, key, klen) != 0)
			continue;
		/* A member's name follows '{' or ','; a quote inside a string is escaped. */
		const char *b = k;
		while (b > body && peek_is_space(b[-1]))
			b--;
		if (b == body || (b[-1] != '{' && b[-1] != ','))
			continue;
		const char *v = k + klen;
		while (v < end && peek_is_space(*v))
			v++;
		if (v == end || *v++ != ':')
			return NULL;
		while (v < end && peek_is_space(*v))
			v++;
		if (v == end || *v != '"')
			return NULL;
		size_t n = peek_plain_string(v + 1, end);
		return n ? str_copy(v + 1, n) : NULL;
	}
	return NULL;
}

int deadline_parse_get(const char *body, size_t len, struct deadline_page *page, char *err, size_t errlen)
{
	struct get_ctx ctx = {0};
	int rc;

	if (!page)
		return -EINVAL;
	memset(page, 0, sizeof(*page));
	rc = json_parse(&get_node, &get_sink, &ctx, body, len, err, errlen);
	if (rc) {
		deadline_page_deinit(&ctx.page);
		return rc;
	}
	*page = ctx.page;
	return 0;
}

/* ---- StartSessionsStatisticsAggregation ---- */

static int start_value(void *c, int slot, const struct json_value *v, const char **why)
{
	if (slot != SLOT_AGGREGATION_ID)
		return 0;
	if (v->len == 0) {
		*why = "empty aggregationId";
		return DEADLINE_BAD_SHAPE;
	}
	return str_set(c, v);
}

static const struct json_sink start_sink = {.value = start_value};

int deadline_parse_start(const char *body, size_t len, char **id, char *err, size_t errlen)
{
	char *got = NULL;
	int rc;

	if (!id)
		return -EINVAL;
	*id = NULL;
	rc = json_parse(&start_node, &start_sink, &got, body, len, err, errlen);
	if (rc) {
		free(got);
		return rc;
	}
	*id = got;
	return 0;
}

/* ---- ListQueues / ListFleets ---- */

struct list_ctx {
	const char *prefix;
	char **ids;
	size_t n, cap, limit;
	char *next_token;
};

static int list_value(void *c, int slot, const struct json_value *v, const char **why)
{
	struct list_ctx *ctx = c;

	if (slot == SLOT_NEXT_TOKEN)
		return v->len ? str_set(&ctx->next_token, v) : 0;
	if (slot != SLOT_LIST_ID)
		return 0;
	if (ctx->n >= ctx->limit) {
		*why = "too many ids";
		return DEADLINE_BAD_JSON;
	}
	if (ctx->n == ctx->cap) {
		size_t cap = ctx->cap ? 2 * ctx->cap : 16;
		char **ids = realloc(ctx->ids, cap * sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		ctx->ids = ids;
		ctx->cap = cap;
	}
	ctx->ids[ctx->n] = str_copy(v->s, v->len);
	if (!ctx->ids[ctx->n])
		return -ENOMEM;
	/* the ids go into Start bodies and metric labels: only well-formed ones (and no NUL inside) */
	if (strlen(ctx->ids[ctx->n]) != v->len || model_id_valid(ctx->ids[ctx->n], ctx->prefix) < 0) {
		free(ctx->ids[ctx->n]);
		*why = strcmp(ctx->prefix, "queue-") == 0 ? "not a queue id" : "not a fleet id";
		return DEADLINE_BAD_SHAPE;
	}
	ctx->n++;
	return 0;
}

static const struct json_sink list_sink = {.value = list_value};

int deadline_parse_list(const char *body, size_t len, enum resource_kind kind, char ***ids, size_t *n,
	char **next_token, char *err, size_t errlen)
{
	struct list_ctx ctx = {0};
	const struct json_node *root;
	char **grown;
	int rc;

	if (!ids || !n || !next_token || (*n && !*ids))
		return -EINVAL;
	*next_token = NULL;
	switch (kind) {
	case RESOURCE_QUEUES:
		root = &queues_node;
		break;
	case RESOURCE_FLEETS:
		root = &fleets_node;
		break;
	default:
		return -EINVAL;
	}
	ctx.prefix = resource_kind_id_prefix(kind);
	if (!ctx.prefix)
		return -EINVAL;
	ctx.limit = *n < DEADLINE_LIST_IDS_MAX ? DEADLINE_LIST_IDS_MAX - *n : 0;
	rc = json_parse(root, &list_sink, &ctx, body, len, err, errlen);
	if (rc == 0 && ctx.n) {
		grown = realloc(*ids, (*n + ctx.n) * sizeof(*grown));
		if (!grown) {
			rc = -ENOMEM;
		} else {
			memcpy(grown + *n, ctx.ids, ctx.n * sizeof(*grown));
			*ids = grown;
			*n += ctx.n;
			ctx.n = 0;
		}
	}
	for (size_t i = 0; i < ctx.n; i++)
		free(ctx.ids[i]);
	free(ctx.ids);
	if (rc == 0)
		*next_token = ctx.next_token;
	else
		free(ctx.next_token);
	return rc;
}

/* ---- errors ---- */

struct error_ctx {
	char *type, *message, *message_capital;
};

static int error_value(void *c, int slot, const struct json_value *v, const char **why)
{
	struct error_ctx *ctx = c;

	(void)why;
	switch (slot) {
	case SLOT_ERROR_TYPE:
		return str_set(&ctx->type, v);
	case SLOT_ERROR_MESSAGE:
		return str_set(&ctx->message, v);
	case SLOT_ERROR_MESSAGE_CAPITAL:
		return str_set(&ctx->message_capital, v);
	}
	return 0;
}

static const struct json_sink error_sink = {.value = error_value};

/*
 * The error name as the SDKs clean it: "Name:http://…" and "prefix#Name" both give "Name", spaces trimmed.
 * NULL when nothing is left.
 */
static char *error_name_clean(const char *s)
{
	const char *end, *hash;

	if (!s)
		return NULL;
	end = s + strcspn(s, ":");
	hash = memchr(s, '#', (size_t)(end - s));
	if (hash)
		s = hash + 1;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	return end > s ? str_copy(s, (size_t)(end - s)) : NULL;
}

void deadline_parse_error(const char *error_type_header, const char *body, size_t len, char **name, char **message)
{
	struct error_ctx ctx = {0};

	if (name)
		*name = NULL;
	if (message)
		*message = NULL;
	/* anything but a well-formed JSON object (an HTML page from a proxy, say) tells nothing */
	if (body && len && json_parse(&error_node, &error_sink, &ctx, body, len, NULL, 0) != 0) {
		free(ctx.type);
		free(ctx.message);
		free(ctx.message_capital);
		ctx = (struct error_ctx){0};
	}
	if (name) {
		*name = error_name_clean(error_type_header);
		if (!*name)
			*name = error_name_clean(ctx.type);
	}
	if (message) {
		*message = ctx.message ? ctx.message : ctx.message_capital;
		if (ctx.message)
			ctx.message = NULL;
		else
			ctx.message_capital = NULL;
	}
	free(ctx.type);
	free(ctx.message);
	free(ctx.message_capital);
}
