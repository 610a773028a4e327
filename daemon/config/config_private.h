/* config_private: what config.c shares with the per-section parsers (config_web.c, config_aws.c, …); not for other
 * folders */
#pragma once

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "util/array.h"
#include "util/ascii.h"

/* A user string quoted in a message is cut after this many bytes. */
#define QUOTE_MAX 64

/* One load: the config being built and the messages about what is wrong with it. */
struct loader {
	struct config *cfg;
	const char *name; /* the file, for messages about settings libconfig has no file for */
	char *err;
	size_t errlen;
	size_t errpos;
	unsigned n_errors;
	bool oom;
};

/* A user-written string, escaped and cut for a message. */
struct quote {
	char s[QUOTE_MAX * 4 + 8];
};

/* s escaped and cut into q for a message; returns q->s. */
const char *config_quote(struct quote *q, const char *s);

/* "a string", "an integer", … for a libconfig type, in messages. */
const char *config_type_name(int type);

/* Whether s has no control characters. */
bool config_printable(const char *s);

/* Reports a problem at a setting's file and line; with no setting, at the start of the file. */
void config_error_at(struct loader *l, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "WHERE: unknown setting 'NAME' (known: KNOWN)"; where may be NULL at the top level. */
void config_unknown_setting(struct loader *l, const config_setting_t *s, const char *where, const char *known);

/* strdup/calloc that mark the load out of memory (l->oom) when they fail. */
char *loader_strdup(struct loader *l, const char *s);
void *loader_calloc(struct loader *l, size_t n, size_t size);

/* The string value of s, or NULL (and a message) when s is of another type. */
const char *setting_string(struct loader *l, const config_setting_t *s, const char *path);

/* Element i of the list s: the setting in *e, its path "PATH[i]" in epath, its string value or NULL (and a message). */
const char *setting_list_string(struct loader *l, const config_setting_t *s, const char *path, int i,
	const config_setting_t **e, char *epath, size_t epath_size);

/* Whether s is a group; if not, a message showing example. */
bool setting_is_group(struct loader *l, const config_setting_t *s, const char *path, const char *example);

/* Array or list: the number of elements, or -1 (and a message) for another type. */
int setting_list_length(struct loader *l, const config_setting_t *s, const char *path, const char *example);

/* An integer setting in [min, max], or false (and a message). */
bool setting_int_range(
	struct loader *l, const config_setting_t *s, const char *path, long long min, long long max, long long *out);

/* A boolean setting, or false (and a message) for another type. */
bool setting_bool(struct loader *l, const config_setting_t *s, const char *path, bool *out);

/* A refresh interval (the duration syntax, CONFIG_INTERVAL_MIN_SECONDS to _MAX_): *seconds and a copy of the
 * text in *text (the old one freed), or false (and a message). config_reports.c. */
bool setting_interval(struct loader *l, const config_setting_t *s, const char *path, int64_t *seconds, char **text);

/* A region name (aws_region_valid) into *dest (the old value freed), or false (and a message). config_aws.c */
bool setting_region(struct loader *l, const config_setting_t *s, const char *path, char **dest);

/* An endpoint base URL (aws_endpoint_url_valid) into *dest, or false (and a message). config_aws.c */
bool setting_endpoint_url(struct loader *l, const config_setting_t *s, const char *path, char **dest);

/*
 * The group_by field named v (the string of e, at epath) when it is not in *seen yet (bits 1u << enum group_field):
 * true, *f and its bit set in *seen; otherwise false and a message (unknown, duplicate). config_reports.c
 */
bool setting_group_field(struct loader *l, const config_setting_t *e, const char *epath, const char *v, unsigned *seen,
	enum group_field *f);

/* The sections: each reads its group or list into l->cfg, reporting every problem it finds. */
void parse_web(struct loader *l, const config_setting_t *web); /* config_web.c */
void parse_aws(struct loader *l, const config_setting_t *aws); /* config_aws.c */
void parse_farms(struct loader *l, const config_setting_t *farms); /* config_farms.c */
void parse_reports(struct loader *l, const config_setting_t *reports); /* config_reports.c */
/* reports[].labels and reports[].keep into r (config_labels.c) */
void parse_labels(struct loader *l, const config_setting_t *s, const char *path, struct report_config *r);
void parse_keep(struct loader *l, const config_setting_t *s, const char *path, struct report_config *r);
/* A report's labels and keep against its group_by and limit, once report g is read whole (config_labels.c). */
void check_labels(struct loader *l, const config_setting_t *g, const char *where, struct report_config *r);
/* The queue_name sources against the inventory setting, once the file is read (config_labels.c). */
void check_labels_inventory(struct loader *l, const config_setting_t *root);
/* What spans sections (resources "auto" against the farms' lists, labels against the inventory), once the whole
 * file is read: root is the file's root group (config_reports.c). */
void check_reports(struct loader *l, const config_setting_t *root);
/* farms[].role_arn and identity_store.role_arn: an IAM role ARN into *dest and its account into account; and the
 * external_id that may go with it (config_farms.c). */
bool setting_role_arn(struct loader *l, const config_setting_t *s, const char *path, char **dest,
	char account[AWS_ACCOUNT_ID_DIGITS + 1]);
bool setting_external_id(struct loader *l, const config_setting_t *s, const char *path, char **dest);
/* external_id without role_arn in group g: a message at external_id's line. */
void check_external_id(struct loader *l, const config_setting_t *g, const char *where, const char *role_arn);
/* The activity section's defaults (off, every 1m, 200 jobs), and the section (config_activity.c). */
void activity_config_defaults(struct loader *l, struct activity_config *activity);
void parse_activity(struct loader *l, const config_setting_t *activity);
/* The inventory section's defaults (enabled, every 5m, with budgets). */
void inventory_config_defaults(struct loader *l, struct inventory_config *inv); /* config_inventory.c */
void parse_inventory(struct loader *l, const config_setting_t *inventory); /* config_inventory.c */
void parse_identity_store(struct loader *l, const config_setting_t *identity_store); /* config_inventory.c */
