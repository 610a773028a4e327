/* relabel: labels derived from job and queue names with Prometheus' relabeling semantics (PCRE2, RE2 syntax) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Where a rule's value comes from: a row's job name, or the name of the row's queue. */
enum relabel_source {
	RELABEL_SOURCE_JOB_NAME, /* "job_name" */
	RELABEL_SOURCE_QUEUE_NAME, /* "queue_name" */
	RELABEL_SOURCE_COUNT,
};

/* Prometheus' defaults when a rule leaves them out. */
#define RELABEL_DEFAULT_REGEX "(.*)"
#define RELABEL_DEFAULT_REPLACEMENT "$1"
/* A derived value longer than this many bytes gets the rule's default instead. */
#define RELABEL_VALUE_MAX 4096

/* A rule's regex and replacement, compiled (PCRE2's types stay inside relabel.c). */
struct relabel_program;

/* One element of reports[].labels: label = replacement expanded when regex matches source in full, else default. */
struct relabel_rule {
	char *label; /* a Prometheus label name (relabel_label_name_valid) */
	enum relabel_source source;
	char *regex; /* as written: fully anchored, RE2 syntax */
	char *replacement; /* as written: $1, ${1}, $name, ${name}, $$ */
	char *default_value; /* when regex does not match, or the source is unknown */
	struct relabel_program *program; /* relabel_rule_compile() */
};

/* "job_name", "queue_name"; NULL for an out-of-range value. */
const char *relabel_source_name(enum relabel_source s);
/* Parses "job_name"/"queue_name". Returns 0 and sets *out, or -EINVAL. */
int relabel_source_from_name(const char *s, enum relabel_source *out);

/* Whether name is a label name an operator may define: [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved). */
bool relabel_label_name_valid(const char *name);

/*
 * Compiles rule->regex (anchored at both ends, '.' matching newlines, as Prometheus does; with PCRE2's JIT when
 * available) and parses rule->replacement, into rule->program. A regex Prometheus would refuse is refused too,
 * in particular PCRE-only constructs (backreferences, lookaround, atomic groups, possessive quantifiers,
 * recursion, conditionals, verbs). Returns 0, -EINVAL with the reason in err ("… at offset N" for the regex),
 * or -ENOMEM.
 */
int relabel_rule_compile(struct relabel_rule *rule, char *err, size_t errlen);

/* Frees what rule owns (strings and program) and zeroes it. NULL-safe. */
void relabel_rule_deinit(struct relabel_rule *rule);

/* What one thread needs to apply rules (match data, the values' buffer): one per thread, made once per refresh. */
struct relabel_matcher;

/* A matcher for the n compiled rules (borrowed: they must outlive it). Returns 0 or -ENOMEM. */
int relabel_matcher_new(struct relabel_matcher **out, const struct relabel_rule *rules, size_t n);
void relabel_matcher_free(struct relabel_matcher *m);

/* Outcomes of relabel_apply() besides 0. */
enum relabel_outcome {
	RELABEL_DEFAULTED = 1, /* a regex could not be evaluated (match limit, invalid UTF-8) or a value was too long */
};

/*
 * The derived label values of one row: values[i] for rule i, from sources[rule's source] (NULL: unknown, which
 * gets the default). Prometheus' "replace" action: a full match gives the replacement with $N / ${N} / $name /
 * ${name} expanded (a group that did not take part, or does not exist, expands to nothing; $$ is "$"), possibly
 * the empty value; no match gives the default. values point into m until its next use. Returns 0,
 * RELABEL_DEFAULTED (some value fell back to its default for a reason other than no match), or -ENOMEM.
 */
int relabel_apply(struct relabel_matcher *m, const char *const sources[RELABEL_SOURCE_COUNT], const char **values);

/* test hook: whether a compiled rule's regex runs as PCRE2 JIT code; false without JIT support, or where writable
 * executable memory is forbidden (systemd's MemoryDenyWriteExecute=): it then runs interpreted, with the same results.
 */
bool relabel_rule_jit(const struct relabel_rule *rule);
