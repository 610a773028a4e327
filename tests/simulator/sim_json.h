/* sim_json: a yajl_gen wrapper that remembers the first failure, so callers check once at the end */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

struct sim_json {
	yajl_gen gen;
	int err; /* 0, or the first failure (-ENOMEM, -EINVAL for invalid UTF-8 or a misplaced value) */
};

/* Allocates the generator (UTF-8 validated, no beautify). Returns 0 or -ENOMEM. */
int sim_json_init(struct sim_json *j);
void sim_json_deinit(struct sim_json *j);

void sim_json_map_open(struct sim_json *j);
void sim_json_map_close(struct sim_json *j);
void sim_json_array_open(struct sim_json *j);
void sim_json_array_close(struct sim_json *j);
void sim_json_string(struct sim_json *j, const char *s);
void sim_json_string_len(struct sim_json *j, const char *s, size_t len);
void sim_json_int(struct sim_json *j, long long v);
/* A finite double, printed with 17 significant digits so it reads back exactly; NaN/inf become null. */
void sim_json_double(struct sim_json *j, double v);
void sim_json_bool(struct sim_json *j, bool v);
void sim_json_null(struct sim_json *j);
/* key: value shorthands */
void sim_json_kv_string(struct sim_json *j, const char *key, const char *value);
void sim_json_kv_int(struct sim_json *j, const char *key, long long value);
void sim_json_kv_double(struct sim_json *j, const char *key, double value);
/* key, then data as lowercase hex: exact for any body, whatever its encoding (the request log) */
void sim_json_kv_hex(struct sim_json *j, const char *key, const char *data, size_t len);

/* The finished text (owned by the generator, valid until deinit). Returns 0 or the first failure. */
int sim_json_result(struct sim_json *j, const char **buf, size_t *len);

/*
 * Parses body (len bytes, not NUL-terminated) with yajl_tree after checking that arrays and
 * objects nest at most max_depth deep (yajl_tree frees recursively). Returns the tree or NULL
 * with a reason in err.
 */
yajl_val sim_json_parse(const char *body, size_t len, int max_depth, char *err, size_t errlen);

/* The member key of object v, or NULL (also when v is not an object). */
yajl_val sim_json_member(yajl_val v, const char *key);
