/* sim_json: a yajl_gen wrapper that remembers the first failure, so callers check once at the end */
#include "sim_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sim_json_init(struct sim_json *j)
{
	j->err = 0;
	j->gen = yajl_gen_alloc(NULL);
	if (!j->gen)
		return -ENOMEM;
	if (!yajl_gen_config(j->gen, yajl_gen_validate_utf8, 1)) {
		yajl_gen_free(j->gen);
		j->gen = NULL;
		return -EINVAL;
	}
	return 0;
}

void sim_json_deinit(struct sim_json *j)
{
	if (j->gen)
		yajl_gen_free(j->gen);
	j->gen = NULL;
}

static void note(struct sim_json *j, yajl_gen_status st)
{
	if (st == yajl_gen_status_ok || j->err)
		return;
	j->err = st == yajl_gen_invalid_string || st == yajl_gen_generation_complete ||
				 st == yajl_gen_keys_must_be_strings || st == yajl_gen_in_error_state ||
				 st == yajl_gen_invalid_number
			 ? -EINVAL
			 : -ENOMEM;
}

void sim_json_map_open(struct sim_json *j)
{
	note(j, yajl_gen_map_open(j->gen));
}

void sim_json_map_close(struct sim_json *j)
{
	note(j, yajl_gen_map_close(j->gen));
}

void sim_json_array_open(struct sim_json *j)
{
	note(j, yajl_gen_array_open(j->gen));
}

void sim_json_array_close(struct sim_json *j)
{
	note(j, yajl_gen_array_close(j->gen));
}

void sim_json_string_len(struct sim_json *j, const char *s, size_t len)
{
	note(j, yajl_gen_string(j->gen, (const unsigned char *)s, len));
}

void sim_json_string(struct sim_json *j, const char *s)
{
	sim_json_string_len(j, s, strlen(s));
}

void sim_json_int(struct sim_json *j, long long v)
{
	note(j, yajl_gen_integer(j->gen, v));
}

void sim_json_double(struct sim_json *j, double v)
{
	char text[40];
	int n;

	if (!isfinite(v)) {
		sim_json_null(j);
		return;
	}
	n = snprintf(text, sizeof(text), "%.17g", v);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		if (!j->err)
			j->err = -EINVAL;
		return;
	}
	note(j, yajl_gen_number(j->gen, text, (size_t)n));
}

void sim_json_bool(struct sim_json *j, bool v)
{
	note(j, yajl_gen_bool(j->gen, v));
}

void sim_json_null(struct sim_json *j)
{
	note(j, yajl_gen_null(j->gen));
}

void sim_json_kv_string(struct sim_json *j, const char *key, const char *value)
{
	sim_json_string(j, key);
	sim_json_string(j, value);
}

void sim_json_kv_int(struct sim_json *j, const char *key, long long value)
{
	sim_json_string(j, key);
	sim_json_int(j, value);
}

void sim_json_kv_double(struct sim_json *j, const char *key, double value)
{
	sim_json_string(j, key);
	sim_json_double(j, value);
}

int sim_json_result(struct sim_json *j, const char **buf, size_t *len)
{
	const unsigned char *b;

	if (j->err)
		return j->err;
	if (yajl_gen_get_buf(j->gen, &b, len) != yajl_gen_status_ok)
		return -EINVAL;
	*buf = (const char *)b;
	return 0;
}

/* Nesting depth outside strings; a depth scan is enough because yajl rejects anything malformed later. */
static bool depth_ok(const char *body, size_t len, int max_depth)
{
	int depth = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = body[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max_depth)
				return false;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return true;
}

yajl_val sim_json_parse(const char *body, size_t len, int max_depth, char *err, size_t errlen)
{
	char *text;
	yajl_val v;

	if (!depth_ok(body, len, max_depth)) {
		snprintf(err, errlen, "JSON nested deeper than %d", max_depth);
		return NULL;
	}
	if (memchr(body, '\0', len)) {
		snprintf(err, errlen, "NUL byte in JSON text");
		return NULL;
	}
	text = malloc(len + 1);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(text, body, len);
	text[len] = '\0';
	err[0] = '\0';
	v = yajl_tree_parse(text, err, errlen);
	free(text);
	if (!v && err[0] == '\0')
		snprintf(err, errlen, "unparseable JSON");
	return v;
}

yajl_val sim_json_member(yajl_val v, const char *key)
{
	if (!YAJL_IS_OBJECT(v))
		return NULL;
	for (size_t i = 0; i < v->u.object.len; i++) {
		if (strcmp(v->u.object.keys[i], key) == 0)
			return v->u.object.values[i];
	}
	return NULL;
}

void sim_json_kv_hex(struct sim_json *j, const char *key, const char *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *hex = malloc(2 * len + 1);

	sim_json_string(j, key);
	if (!hex) {
		j->err = j->err ? j->err : -ENOMEM;
		return;
	}
	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = digits[(unsigned char)data[i] >> 4];
		hex[2 * i + 1] = digits[(unsigned char)data[i] & 15];
	}
	sim_json_string_len(j, hex, 2 * len);
	free(hex);
}
