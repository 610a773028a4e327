/* config_reports: the reports list: name, resources, window, timezone, group_by, statistics, period, interval, limit,
 * counter (labels and keep: config_labels) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_private.h"

#define CONFIG_DEFAULT_TIMEZONE "UTC+00:00"

int config_timezone_parse(const char *s, int *offset_minutes)
{
	int hours, minutes;

	if (!s || strlen(s) != 9 || strncmp(s, "UTC", 3) != 0 || (s[3] != '+' && s[3] != '-'))
		return -EINVAL;
	if ((s[4] != '0' && s[4] != '1') || !ascii_is_digit(s[5]) || s[6] != ':')
		return -EINVAL;
	if (strcmp(s + 7, "00") != 0 && strcmp(s + 7, "30") != 0)
		return -EINVAL;
	hours = (s[4] - '0') * 10 + (s[5] - '0');
	minutes = (s[7] - '0') * 10;
	if (offset_minutes)
		*offset_minutes = (s[3] == '-' ? -1 : 1) * (hours * 60 + minutes);
	return 0;
}

static bool report_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_REPORT_NAME_MAX || !ascii_is_lower(s[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		if (!ascii_is_lower(s[i]) && !ascii_is_digit(s[i]) && s[i] != '_')
			return false;
	}
	return true;
}

static const char *const window_calendar_names[] = {
	[WINDOW_DAY] = "day",
	[WINDOW_WEEK] = "week",
	[WINDOW_MONTH] = "month",
};

static void parse_window(struct loader *l, const config_setting_t *s, const char *path, struct report_config *r)
{
	const char *v = setting_string(l, s, path);
	struct quote q;
	int64_t secs;

	if (!v)
		return;
	for (size_t k = 0; k < ARRAY_SIZE(window_calendar_names); k++) {
		if (strcmp(v, window_calendar_names[k]) == 0) {
			r->window = (enum window_kind)k;
			r->window_seconds = 0;
			free(r->window_text);
			r->window_text = loader_strdup(l, v);
			return;
		}
	}
	if (config_duration_parse(v, &secs) < 0) {
		config_error_at(l, s,
			"%s: invalid window %s: expected \"day\", \"week\", \"month\" or a duration such as "
			"\"90m\", \"24h\", \"7d\"",
			path, config_quote(&q, v));
		return;
	}
	if (secs > CONFIG_WINDOW_MAX_SECONDS) {
		config_error_at(l, s, "%s: rolling window %s is longer than the limit of %d days", path,
			config_quote(&q, v), (int)(CONFIG_WINDOW_MAX_SECONDS / 86400));
		return;
	}
	r->window = WINDOW_ROLLING;
	r->window_seconds = secs;
	free(r->window_text);
	r->window_text = loader_strdup(l, v);
}

#define GROUP_FIELD_NAMES "QUEUE_ID, FLEET_ID, JOB_ID, USER_ID, USAGE_TYPE, INSTANCE_TYPE, LICENSE_PRODUCT"

bool setting_group_field(struct loader *l, const config_setting_t *e, const char *epath, const char *v, unsigned *seen,
	enum group_field *f)
{
	struct quote q;

	if (group_field_from_api_name(v, f) < 0) {
		config_error_at(
			l, e, "%s: unknown field %s (known: " GROUP_FIELD_NAMES ")", epath, config_quote(&q, v));
		return false;
	}
	if (*seen & (1u << *f)) {
		config_error_at(l, e, "%s: duplicate field %s", epath, config_quote(&q, v));
		return false;
	}
	*seen |= 1u << *f;
	return true;
}

static void parse_group_by(struct loader *l, const config_setting_t *s, const char *path, struct report_config *r)
{
	int n = setting_list_length(l, s, path, "[ \"QUEUE_ID\", \"USAGE_TYPE\" ]");
	unsigned seen = 0;

	if (n < 0)
		return;
	if (n == 0) {
		config_error_at(l, s, "%s: empty list; name 1 or 2 fields", path);
		return;
	}
	if (n > 2)
		config_error_at(l, s, "%s: %d fields, but the API accepts at most 2", path, n);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e;
		char epath[64];
		enum group_field f;
		const char *v = setting_list_string(l, s, path, i, &e, epath, sizeof(epath));

		if (v && setting_group_field(l, e, epath, v, &seen, &f) && r->n_group_by < ARRAY_SIZE(r->group_by))
			r->group_by[r->n_group_by++] = f;
	}
}

static void parse_statistics(struct loader *l, const config_setting_t *s, const char *path, struct report_config *r)
{
	int n = setting_list_length(l, s, path, "[ \"SUM\", \"AVG\" ]");
	unsigned bits = 0;
	struct quote q;

	if (n < 0)
		return;
	if (n == 0) {
		config_error_at(
			l, s, "%s: empty list; name 1 to 4 of SUM, MIN, MAX, AVG (or leave it out for all four)", path);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e;
		char epath[64];
		enum statistic st;
		const char *v = setting_list_string(l, s, path, i, &e, epath, sizeof(epath));

		if (!v)
			continue;
		if (statistic_from_api_name(v, &st) < 0) {
			config_error_at(l, e, "%s: unknown statistic %s (known: SUM, MIN, MAX, AVG)", epath,
				config_quote(&q, v));
			continue;
		}
		if (bits & st) {
			config_error_at(l, e, "%s: duplicate statistic %s", epath, config_quote(&q, v));
			continue;
		}
		bits |= st;
	}
	if (bits)
		r->statistics = bits;
}

bool setting_interval(struct loader *l, const config_setting_t *s, const char *path, int64_t *seconds, char **text)
{
	const char *v = setting_string(l, s, path);
	struct quote q;
	int64_t secs;

	if (!v)
		return false;
	if (config_duration_parse(v, &secs) < 0) {
		config_error_at(l, s,
			"%s: invalid duration %s: expected a number and a unit (s, m, h, d) such as \"5m\"", path,
			config_quote(&q, v));
		return false;
	}
	if (secs < CONFIG_INTERVAL_MIN_SECONDS) {
		config_error_at(l, s, "%s: %s is shorter than the minimum of %ds", path, config_quote(&q, v),
			CONFIG_INTERVAL_MIN_SECONDS);
		return false;
	}
	if (secs > CONFIG_INTERVAL_MAX_SECONDS) {
		config_error_at(l, s, "%s: %s is longer than the maximum of %d days", path, config_quote(&q, v),
			(int)(CONFIG_INTERVAL_MAX_SECONDS / 86400));
		return false;
	}
	*seconds = secs;
	free(*text);
	*text = loader_strdup(l, v);
	return true;
}

/* where.NAME = s (path), one setting of reports[index] (checks that need the whole report come after). */
static void parse_report_setting(struct loader *l, const config_setting_t *s, const char *where, const char *name,
	const char *path, size_t index, struct report_config *r)
{
	const char *v;
	struct quote q;
	long long n;

	if (strcmp(name, "name") == 0) {
		v = setting_string(l, s, path);
		if (!v)
			return;
		if (!report_name_valid(v)) {
			config_error_at(l, s,
				"%s: invalid report name %s: expected [a-z][a-z0-9_]*, at most %d characters", path,
				config_quote(&q, v), CONFIG_REPORT_NAME_MAX);
			return;
		}
		for (size_t j = 0; j < index; j++) {
			if (l->cfg->reports[j].name && strcmp(l->cfg->reports[j].name, v) == 0) {
				config_error_at(l, s, "%s: duplicate report name %s (also reports[%zu])", path,
					config_quote(&q, v), j);
				break;
			}
		}
		r->name = loader_strdup(l, v);
	} else if (strcmp(name, "resources") == 0) {
		v = setting_string(l, s, path);
		if (v && report_resources_from_name(v, &r->resources) < 0)
			config_error_at(l, s, "%s: must be \"auto\", \"queues\" or \"fleets\", not %s", path,
				config_quote(&q, v));
	} else if (strcmp(name, "window") == 0) {
		parse_window(l, s, path, r);
	} else if (strcmp(name, "timezone") == 0) {
		v = setting_string(l, s, path);
		if (!v)
			return;
		if (config_timezone_parse(v, &r->tz_offset_minutes) < 0) {
			config_error_at(l, s,
				"%s: invalid timezone %s: expected the API's form UTC+HH:MM or UTC-HH:MM, hours 00 to "
				"19, "
				"minutes 00 or 30, such as \"UTC-08:00\"",
				path, config_quote(&q, v));
			return;
		}
		snprintf(r->timezone, sizeof(r->timezone), "%s", v);
	} else if (strcmp(name, "group_by") == 0) {
		parse_group_by(l, s, path, r);
	} else if (strcmp(name, "statistics") == 0) {
		parse_statistics(l, s, path, r);
	} else if (strcmp(name, "period") == 0) {
		v = setting_string(l, s, path);
		if (v && period_from_api_name(v, &r->period) < 0)
			config_error_at(l, s, "%s: unknown period %s (known: HOURLY, DAILY, WEEKLY, MONTHLY)", path,
				config_quote(&q, v));
	} else if (strcmp(name, "interval") == 0) {
		setting_interval(l, s, path, &r->interval_seconds, &r->interval_text);
	} else if (strcmp(name, "limit") == 0) {
		if (setting_int_range(l, s, path, 1, CONFIG_REPORT_LIMIT_MAX, &n))
			r->limit = (size_t)n;
	} else if (strcmp(name, "counter") == 0) {
		setting_bool(l, s, path, &r->counter);
	} else if (strcmp(name, "labels") == 0) {
		parse_labels(l, s, path, r);
	} else if (strcmp(name, "keep") == 0) {
		parse_keep(l, s, path, r);
	} else {
		config_unknown_setting(l, s, where,
			"name, resources, window, timezone, group_by, statistics, period, interval, limit, counter, "
			"labels, keep");
	}
}

/* counter = true: the sums as counters, which only a calendar window with SUM and without limit can give. */
static void check_counter(struct loader *l, const config_setting_t *g, const char *where, const struct report_config *r)
{
	const config_setting_t *s = config_setting_get_member(g, "counter");
	struct quote q;

	if (!r->counter || !s)
		return;
	if (r->window_text && r->window == WINDOW_ROLLING)
		config_error_at(l, s,
			"%s.counter: only with a calendar window (\"day\", \"week\" or \"month\"), not %s: the sum "
			"of a rolling window falls as old sessions leave it",
			where, config_quote(&q, r->window_text));
	if (!(r->statistics & STAT_SUM))
		config_error_at(
			l, s, "%s.counter: only with \"SUM\" among the statistics: the counters are the sums", where);
	if (r->limit)
		config_error_at(l, s,
			"%s.counter: not with limit: a group moving in and out of the top N would break its counter",
			where);
}

/*
 * One element of reports: { name; resources; window; timezone; group_by; statistics; period; interval; limit;
 * counter; labels; keep; }
 */
static void parse_report(struct loader *l, const config_setting_t *g, size_t index, struct report_config *r)
{
	char where[32];

	snprintf(where, sizeof(where), "reports[%zu]", index);
	r->resources = REPORT_RESOURCES_AUTO;
	snprintf(r->timezone, sizeof(r->timezone), "%s", CONFIG_DEFAULT_TIMEZONE);
	r->tz_offset_minutes = 0;
	r->statistics = STAT_ALL;
	r->period = PERIOD_MONTHLY;
	r->interval_seconds = CONFIG_DEFAULT_INTERVAL_SECONDS;
	r->interval_text = loader_strdup(l, CONFIG_DEFAULT_INTERVAL);
	if (!setting_is_group(l, g, where, "{ name = \"...\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; }"))
		return;
	/* Checked first so that messages come in the order of the file. */
	if (!config_setting_get_member(g, "name"))
		config_error_at(l, g, "%s: missing 'name'", where);
	if (!config_setting_get_member(g, "window"))
		config_error_at(l, g,
			"%s: missing 'window' (\"day\", \"week\", \"month\" or a duration such as \"7d\")", where);
	if (!config_setting_get_member(g, "group_by"))
		config_error_at(l, g, "%s: missing 'group_by' (1 or 2 fields such as [ \"QUEUE_ID\" ])", where);
	for (int i = 0; i < config_setting_length(g) && !l->oom; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		char path[48];

		if (!name)
			continue;
		snprintf(path, sizeof(path), "%s.%s", where, name);
		parse_report_setting(l, s, where, name, path, index, r);
	}
	check_counter(l, g, where, r);
	check_labels(l, g, where, r);
}

void parse_reports(struct loader *l, const config_setting_t *reports)
{
	struct config *cfg = l->cfg;
	int n = setting_list_length(l, reports, "reports", "( { name = \"...\"; ... } )");

	if (n < 0)
		return;
	if (n == 0) {
		config_error_at(l, reports, "reports: empty list; at least one report is required");
		return;
	}
	cfg->reports = loader_calloc(l, (size_t)n, sizeof(*cfg->reports));
	if (!cfg->reports)
		return;
	for (int i = 0; i < n && !l->oom; i++) {
		const config_setting_t *g = config_setting_get_elem(reports, (unsigned)i);
		/* Counted before it is filled: config_free() then sees every allocation. */
		struct report_config *r = &cfg->reports[cfg->n_reports++];

		parse_report(l, g, (size_t)i, r);
	}
}

void check_reports(struct loader *l, const config_setting_t *root)
{
	const config_setting_t *reports = config_setting_get_member(root, "reports");
	const struct config *cfg = l->cfg;

	for (size_t i = 0; reports && i < cfg->n_reports; i++) {
		const config_setting_t *g = config_setting_get_elem(reports, (unsigned)i);
		const config_setting_t *at = config_setting_get_member(g, "resources");

		if (config_setting_type(g) != CONFIG_TYPE_GROUP || cfg->reports[i].resources != REPORT_RESOURCES_AUTO)
			continue;
		for (size_t j = 0; j < cfg->n_farms; j++) {
			const struct farm_config *f = &cfg->farms[j];

			if (f->all_queues || f->all_fleets)
				continue;
			config_error_at(l, at ? at : g,
				"reports[%zu]: resources is \"auto\"%s, but farms[%zu] (%s) lists both its queues and "
				"its "
				"fleets, which may cover different sessions: set resources = \"queues\" or \"fleets\"",
				i, at ? "" : " (the default)", j, f->id ? f->id : "?");
			break;
		}
	}
	check_labels_inventory(l, root);
}

int config_report_kind(const struct farm_config *f, const struct report_config *r, size_t n_queues, size_t n_fleets,
	size_t per_batch, enum resource_kind *kind)
{
	return resource_kind_choose(r->resources, f->all_queues, f->all_fleets, n_queues, n_fleets, per_batch, kind);
}

bool config_report_kind_counts(const struct farm_config *f, const struct report_config *r)
{
	return r->resources == REPORT_RESOURCES_AUTO && f->all_queues && f->all_fleets;
}
