/* json_schema: table-driven parsing of JSON over yajl's callback parser (bounded depth, sizes; no Deadline inside) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits on what the parser accepts (the body size itself is the caller's). */
#define JSON_SCHEMA_DEPTH_MAX 64 /* nested objects and arrays */
#define JSON_SCHEMA_STRING_MAX (64 * 1024) /* bytes in one string, member name or number */

/* Expected outcomes of a parse (positive). */
enum json_schema_result {
	JSON_SCHEMA_BAD_JSON = 1, /* not JSON, truncated, too deep, too big */
	JSON_SCHEMA_BAD_SHAPE, /* JSON, but a required member is missing or a value has the wrong type */
};

enum json_kind {
	JSON_OBJECT,
	JSON_ARRAY,
	JSON_STRING,
	JSON_INTEGER, /* non-negative, fits int64_t */
	JSON_DOUBLE, /* finite */
};

struct json_node;

/* One member of an object: its value goes to slot (scalars) or is parsed by node. */
struct json_member {
	const char *name;
	int slot; /* scalars: passed to the sink's value() */
	unsigned bit; /* index in the object's seen mask (< 32) */
	bool required;
	const struct json_node *node;
};

/* What a value must be; a schema is a tree of these, usually static const tables. */
struct json_node {
	enum json_kind kind;
	int slot; /* objects: passed to begin()/end(), 0 for none */
	const struct json_member *members; /* objects */
	size_t n_members;
	const struct json_member *(*find)(const char *key, size_t len); /* objects: members not in the table */
	const struct json_node *element; /* arrays */
	/*
	 * Objects that are maps (taskRunStatusCounts): a member neither in the table nor found is handed to the sink's
	 * value() as its name (s/len) with slot map_key, then its value is parsed as map_value says (its bit unused: a
	 * name given twice is the sink's to refuse).
	 */
	int map_key;
	const struct json_member *map_value;
};

/* The scalar nodes, shared by every schema (a scalar node has nothing but its kind). */
extern const struct json_node json_schema_string;
extern const struct json_node json_schema_integer;
extern const struct json_node json_schema_double;

/* A static const object node name over the member table members_ (an array), with slot_ for begin()/end(). */
#define JSON_SCHEMA_OBJECT(name, slot_, members_) \
	static const struct json_node name = {.kind = JSON_OBJECT, \
		.slot = (slot_), \
		.members = (members_), \
		.n_members = sizeof(members_) / sizeof((members_)[0])}

/* A scalar handed to the sink: s/len for strings, i for integers, d for doubles. */
struct json_value {
	const char *s; /* strings: not NUL-terminated */
	size_t len;
	int64_t i;
	double d;
};

/* Sink callbacks return 0, -ENOMEM, or a JSON_SCHEMA_* code with a static reason in *why. */
struct json_sink {
	int (*value)(void *ctx, int slot, const struct json_value *v, const char **why);
	int (*begin)(void *ctx, int slot, const char **why);
	int (*end)(void *ctx, int slot, const char **why);
};

/*
 * Parses body against root, calling sink as values arrive: unknown members are skipped, a null member
 * is an absent one, a member given twice or a required one missing is JSON_SCHEMA_BAD_SHAPE. Returns 0,
 * JSON_SCHEMA_BAD_JSON or JSON_SCHEMA_BAD_SHAPE (err: "path: reason"), a sink's own code, -EINVAL, -ENOMEM.
 */
int json_schema_parse(const struct json_node *root, const struct json_sink *sink, void *ctx, const char *body,
	size_t len, char *err, size_t errlen);

/* Replaces *dst (freed) with a NUL-terminated copy of the string value v. Returns 0 or -ENOMEM. */
int json_schema_set_string(char **dst, const struct json_value *v);
