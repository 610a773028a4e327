/* config_labels: reports[].labels (labels derived from job and queue names) and reports[].keep, and their checks */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_private.h"

/* Labels every usage series carries besides the group-by fields', and the labels Prometheus sets on a target. */
static const char *const exporter_labels[] = {"farm_id", "report", "job_name"};
static const char *const target_labels[] = {"job", "instance"};

static bool listed(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/* Why name cannot be a derived label, or NULL when it can. */
static const char *label_name_problem(const char *name)
{
	if (!relabel_label_name_valid(name))
		return "not a label name: expected [a-zA-Z_][a-zA-Z0-9_]*, not starting with \"__\"";
	for (size_t f = 0; f < GROUP_FIELD_COUNT; f++)
		if (strcmp(name, group_field_label((enum group_field)f)) == 0)
			return "one of the exporter's own labels (a group_by field's: keep the field with keep "
			       "instead)";
	if (listed(name, exporter_labels, ARRAY_SIZE(exporter_labels)))
		return "one of the exporter's own labels";
	if (listed(name, target_labels, ARRAY_SIZE(target_labels)))
		return "a label Prometheus sets on every scraped series";
	return NULL;
}

/* A string setting that must be valid UTF-8 (it ends up in label values), copied into *dest. */
static bool setting_utf8(struct loader *l, const config_setting_t *s, const char *path, char **dest)
{
	const char *v = setting_string(l, s, path);

	if (!v)
		return false;
	if (!model_utf8_valid(v)) {
		config_error_at(l, s, "%s: not valid UTF-8", path);
		return false;
	}
	free(*dest);
	*dest = loader_strdup(l, v);
	return *dest != NULL;
}

/* One rule's label = "…": a name that is free in this report. */
static void parse_label_name(struct loader *l, const config_setting_t *s, const char *path, struct report_config *r,
	struct relabel_rule *rule)
{
	const char *v = setting_string(l, s, path), *why;
	struct quote q;

	if (!v)
		return;
	why = label_name_problem(v);
	if (why) {
		config_error_at(l, s, "%s: %s: %s", path, config_quote(&q, v), why);
		return;
	}
	for (struct relabel_rule *o = r->labels; o < rule; o++) {
		if (o->label && strcmp(o->label, v) == 0) {
			config_error_at(l, s, "%s: duplicate label %s (also labels[%zu])", path, config_quote(&q, v),
				(size_t)(o - r->labels));
			return;
		}
	}
	rule->label = loader_strdup(l, v);
}

/* The settings of one rule; *regex_at is the regex setting (for messages about it), or NULL. */
static void parse_rule_settings(struct loader *l, const config_setting_t *g, const char *where, struct report_config *r,
	struct relabel_rule *rule, const config_setting_t **regex_at)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s), *v;
		char path[96];
		struct quote q;

		if (!name)
			continue;
		snprintf(path, sizeof(path), "%s.%s", where, name);
		if (strcmp(name, "label") == 0) {
			parse_label_name(l, s, path, r, rule);
		} else if (strcmp(name, "source") == 0) {
			v = setting_string(l, s, path);
			if (v && relabel_source_from_name(v, &rule->source) < 0)
				config_error_at(l, s, "%s: unknown source %s (known: job_name, queue_name)", path,
					config_quote(&q, v));
		} else if (strcmp(name, "regex") == 0) {
			if (setting_utf8(l, s, path, &rule->regex))
				*regex_at = s;
		} else if (strcmp(name, "replacement") == 0) {
			setting_utf8(l, s, path, &rule->replacement);
		} else if (strcmp(name, "default") == 0) {
			setting_utf8(l, s, path, &rule->default_value);
		} else {
			config_unknown_setting(l, s, where, "label, source, regex, replacement, default");
		}
	}
}

/* One element of labels: { label; source; regex; replacement; default; }, compiled when it is whole. */
static void parse_rule(struct loader *l, const config_setting_t *g, const char *where, struct report_config *r,
	struct relabel_rule *rule)
{
	const config_setting_t *regex_at = NULL;
	char why[512];
	int rc;

	rule->source = RELABEL_SOURCE_COUNT; /* none yet */
	if (!setting_is_group(l, g, where,
		    "{ label = \"show\"; source = \"job_name\"; regex = \"([a-z0-9]+)_.*\"; replacement = \"$1\"; "
		    "default = \"unknown\"; }"))
		return;
	/* Checked first so that messages come in the order of the file. */
	if (!config_setting_get_member(g, "label"))
		config_error_at(l, g, "%s: missing 'label'", where);
	if (!config_setting_get_member(g, "source"))
		config_error_at(l, g, "%s: missing 'source' (\"job_name\" or \"queue_name\")", where);
	if (!config_setting_get_member(g, "default"))
		config_error_at(l, g, "%s: missing 'default' (the value when the regex does not match)", where);
	parse_rule_settings(l, g, where, r, rule, &regex_at);
	if (!config_setting_get_member(g, "regex"))
		rule->regex = loader_strdup(l, RELABEL_DEFAULT_REGEX);
	if (!config_setting_get_member(g, "replacement"))
		rule->replacement = loader_strdup(l, RELABEL_DEFAULT_REPLACEMENT);
	/* Compiled even when another setting of the rule is wrong, so that all problems are reported at once. */
	if (l->oom || !rule->regex || !rule->replacement)
		return;
	rc = relabel_rule_compile(rule, why, sizeof(why));
	if (rc == -ENOMEM) {
		l->oom = true;
	} else if (rc < 0) {
		/* A replacement's problem starts with "replacement:"; any other is the regex's. */
		bool repl = strncmp(why, "replacement: ", 13) == 0;
		const config_setting_t *at = repl ? config_setting_get_member(g, "replacement") : regex_at;

		if (!at)
			at = g;
		config_error_at(l, at, "%s.%s: %s", where, repl ? "replacement" : "regex", repl ? why + 13 : why);
	}
}

void parse_labels(struct loader *l, const config_setting_t *s, const char *path, struct report_config *r)
{
	int n = setting_list_length(l, s, path, "( { label = \"show\"; source = \"job_name\"; ... } )");

	if (n < 0)
		return;
	if (n == 0) {
		config_error_at(l, s, "%s: empty list; leave it out for no derived labels", path);
		return;
	}
	if (n > CONFIG_REPORT_LABELS_MAX) {
		config_error_at(l, s, "%s: %d rules, but a report takes at most %d", path, n, CONFIG_REPORT_LABELS_MAX);
		return;
	}
	r->labels = loader_calloc(l, (size_t)n, sizeof(*r->labels));
	if (!r->labels)
		return;
	for (int i = 0; i < n && !l->oom; i++) {
		char where[64];

		snprintf(where, sizeof(where), "%s[%d]", path, i);
		/* Counted before it is filled: config_free() then sees every allocation. */
		parse_rule(l, config_setting_get_elem(s, (unsigned)i), where, r, &r->labels[r->n_labels++]);
	}
}

void parse_keep(struct loader *l, const config_setting_t *s, const char *path, struct report_config *r)
{
	int n = setting_list_length(l, s, path, "[ \"USAGE_TYPE\" ]");

	if (n < 0)
		return;
	if (n == 0) {
		config_error_at(l, s, "%s: empty list; leave it out to keep no group_by field", path);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e;
		char epath[64];
		enum group_field f;
		const char *v = setting_list_string(l, s, path, i, &e, epath, sizeof(epath));

		if (v)
			setting_group_field(l, e, epath, v, &r->keep, &f);
	}
}

static bool grouped_by(const struct report_config *r, enum group_field f)
{
	for (size_t i = 0; i < r->n_group_by; i++)
		if (r->group_by[i] == f)
			return true;
	return false;
}

/* The message about a rule whose source the report's rows do not carry, or NULL. */
static const char *source_problem(const struct report_config *r, enum relabel_source source)
{
	if (source == RELABEL_SOURCE_JOB_NAME && !grouped_by(r, GROUP_JOB_ID))
		return "job_name needs JOB_ID in group_by";
	if (source == RELABEL_SOURCE_QUEUE_NAME && !grouped_by(r, GROUP_QUEUE_ID) && !grouped_by(r, GROUP_JOB_ID))
		return "queue_name needs QUEUE_ID or JOB_ID in group_by";
	return NULL;
}

/* Each field of keep must be one of group_by's (checked once the whole report is read). */
static void check_keep(struct loader *l, const config_setting_t *keep, const char *where, const struct report_config *r)
{
	for (int i = 0; i < config_setting_length(keep); i++) {
		const config_setting_t *e = config_setting_get_elem(keep, (unsigned)i);
		const char *v = config_setting_get_string(e);
		enum group_field f;

		if (v && group_field_from_api_name(v, &f) == 0 && !grouped_by(r, f))
			config_error_at(l, e, "%s.keep[%d]: %s is not in group_by", where, i, v);
	}
}

void check_labels(struct loader *l, const config_setting_t *g, const char *where, struct report_config *r)
{
	const config_setting_t *labels = config_setting_get_member(g, "labels");
	const config_setting_t *keep = config_setting_get_member(g, "keep");

	/* Without a valid group_by there is nothing to check against: its own message says so. */
	if (r->n_group_by == 0)
		return;
	if (keep && !labels)
		config_error_at(l, keep,
			"%s.keep: only with labels (without labels every group_by field is a label already)", where);
	else if (keep && r->keep)
		check_keep(l, keep, where, r);
	if (r->labels && config_setting_get_member(g, "limit"))
		config_error_at(l, labels,
			"%s.labels: not with limit (labels merge rows exactly into few groups; limit would fold some "
			"into \"__other__\")",
			where);
	for (size_t i = 0; i < r->n_labels; i++) {
		const config_setting_t *rule = config_setting_get_elem(labels, (unsigned)i);
		const char *why = source_problem(r, r->labels[i].source);

		if (why)
			config_error_at(l, config_setting_get_member(rule, "source"), "%s.labels[%zu].source: %s",
				where, i, why);
	}
}

void check_labels_inventory(struct loader *l, const config_setting_t *root)
{
	const config_setting_t *reports = config_setting_get_member(root, "reports");
	const struct config *cfg = l->cfg;

	if (cfg->inventory.enabled || !reports)
		return;
	for (size_t i = 0; i < cfg->n_reports; i++) {
		const config_setting_t *labels =
			config_setting_get_member(config_setting_get_elem(reports, (unsigned)i), "labels");

		for (size_t j = 0; labels && j < cfg->reports[i].n_labels; j++) {
			if (cfg->reports[i].labels[j].source != RELABEL_SOURCE_QUEUE_NAME)
				continue;
			config_error_at(l,
				config_setting_get_member(config_setting_get_elem(labels, (unsigned)j), "source"),
				"reports[%zu].labels[%zu].source: queue_name needs the inventory (the queues' names), "
				"which inventory.enabled = false turns off",
				i, j);
		}
	}
}

bool config_report_keeps(const struct report_config *r, enum group_field f)
{
	return !r->n_labels || (r->keep & (1u << f));
}
