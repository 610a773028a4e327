/* config_farms: the farms list: farm ids, the queues and fleets of each, their regions and roles */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_private.h"

/*
 * queues/fleets: "all", or a non-empty list of distinct ids with the given prefix.
 * On success with a list, *ids owns the copies.
 */
static void parse_id_list(struct loader *l, const config_setting_t *s, const char *path, const char *prefix, bool *all,
	char ***ids, size_t *n_ids)
{
	struct quote q;
	int n;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *v = config_setting_get_string(s);

		if (v && strcmp(v, "all") == 0) {
			*all = true;
			return;
		}
		if (v && model_id_valid(v, prefix) == 0)
			config_error_at(l, s, "%s: a single id is still a list: [ %s ]", path, config_quote(&q, v));
		else
			config_error_at(l, s, "%s: must be \"all\" or a list of %s ids, not %s", path, prefix,
				config_quote(&q, v ? v : ""));
		return;
	}
	n = setting_list_length(l, s, path, "[ \"...\" ] or \"all\"");
	if (n < 0)
		return;
	if (n == 0) {
		config_error_at(l, s, "%s: empty list (write \"all\" for every one)", path);
		return;
	}
	*all = false;
	*ids = loader_calloc(l, (size_t)n, sizeof(**ids));
	if (!*ids)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e;
		char epath[64];
		const char *v = setting_list_string(l, s, path, i, &e, epath, sizeof(epath));
		bool dup = false;

		if (!v)
			continue;
		if (model_id_valid(v, prefix) < 0) {
			config_error_at(l, e, "%s: invalid id %s: expected %s followed by 32 lowercase hex digits",
				epath, config_quote(&q, v), prefix);
			continue;
		}
		for (size_t j = 0; j < *n_ids && !dup; j++)
			dup = strcmp((*ids)[j], v) == 0;
		if (dup) {
			config_error_at(l, e, "%s: duplicate id %s", epath, config_quote(&q, v));
			continue;
		}
		(*ids)[*n_ids] = loader_strdup(l, v);
		if (!(*ids)[*n_ids])
			return;
		(*n_ids)++;
	}
}

bool setting_role_arn(struct loader *l, const config_setting_t *s, const char *path, char **dest,
	char account[AWS_ACCOUNT_ID_DIGITS + 1])
{
	const char *v = setting_string(l, s, path);
	struct quote q;

	if (!v)
		return false;
	if (!aws_role_arn_valid(v, account)) {
		config_error_at(l, s,
			"%s: invalid role ARN %s: expected arn:PARTITION:iam::ACCOUNT:role/NAME (12 digits of account, "
			"an optional /path/ and a role name of [A-Za-z0-9_+=,.@-])",
			path, config_quote(&q, v));
		return false;
	}
	free(*dest);
	*dest = loader_strdup(l, v);
	return true;
}

bool setting_external_id(struct loader *l, const config_setting_t *s, const char *path, char **dest)
{
	const char *v = setting_string(l, s, path);

	if (!v)
		return false;
	/* Not quoted: whoever set it may not want it in a log. */
	if (!aws_external_id_valid(v)) {
		config_error_at(
			l, s, "%s: invalid external id: expected 2 to 1224 characters of [A-Za-z0-9_+=,.@:/-]", path);
		return false;
	}
	free(*dest);
	*dest = loader_strdup(l, v);
	return true;
}

void check_external_id(struct loader *l, const config_setting_t *g, const char *where, const char *role_arn)
{
	const config_setting_t *s = config_setting_get_member(g, "external_id");

	/* A role_arn that is there but invalid has its own message. */
	if (s && !role_arn && !config_setting_get_member(g, "role_arn"))
		config_error_at(l, s, "%s.external_id: only with role_arn (the role that asks for it)", where);
}

/* One element of farms: { id; queues; fleets; region; role_arn; external_id; } */
static void parse_farm(struct loader *l, const config_setting_t *g, size_t index, struct farm_config *f)
{
	char where[32];

	snprintf(where, sizeof(where), "farms[%zu]", index);
	f->all_queues = true;
	f->all_fleets = true;
	if (!setting_is_group(l, g, where, "{ id = \"farm-...\"; }"))
		return;
	/* Checked first so that messages come in the order of the file. */
	if (!config_setting_get_member(g, "id"))
		config_error_at(l, g, "%s: missing 'id'", where);
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s), *v;
		char path[48];
		struct quote q;

		if (!name)
			continue;
		snprintf(path, sizeof(path), "%s.%s", where, name);
		if (strcmp(name, "id") == 0) {
			v = setting_string(l, s, path);
			if (!v)
				continue;
			if (model_id_valid(v, "farm-") < 0) {
				config_error_at(l, s,
					"%s: invalid farm id %s: expected farm- followed by 32 lowercase hex digits",
					path, config_quote(&q, v));
				continue;
			}
			for (size_t j = 0; j < index; j++) {
				if (l->cfg->farms[j].id && strcmp(l->cfg->farms[j].id, v) == 0) {
					config_error_at(l, s, "%s: duplicate farm id %s (also farms[%zu])", path,
						config_quote(&q, v), j);
					break;
				}
			}
			f->id = loader_strdup(l, v);
		} else if (strcmp(name, "queues") == 0) {
			parse_id_list(l, s, path, "queue-", &f->all_queues, &f->queue_ids, &f->n_queue_ids);
		} else if (strcmp(name, "fleets") == 0) {
			parse_id_list(l, s, path, "fleet-", &f->all_fleets, &f->fleet_ids, &f->n_fleet_ids);
		} else if (strcmp(name, "region") == 0) {
			setting_region(l, s, path, &f->region);
		} else if (strcmp(name, "role_arn") == 0) {
			setting_role_arn(l, s, path, &f->role_arn, f->account_id);
		} else if (strcmp(name, "external_id") == 0) {
			setting_external_id(l, s, path, &f->external_id);
		} else {
			config_unknown_setting(l, s, where, "id, queues, fleets, region, role_arn, external_id");
		}
	}
	check_external_id(l, g, where, f->role_arn);
}

void parse_farms(struct loader *l, const config_setting_t *farms)
{
	struct config *cfg = l->cfg;
	int n = setting_list_length(l, farms, "farms", "( { id = \"farm-...\"; } )");

	if (n < 0)
		return;
	if (n == 0) {
		config_error_at(l, farms, "farms: empty list; at least one farm is required");
		return;
	}
	cfg->farms = loader_calloc(l, (size_t)n, sizeof(*cfg->farms));
	if (!cfg->farms)
		return;
	for (int i = 0; i < n && !l->oom; i++) {
		const config_setting_t *g = config_setting_get_elem(farms, (unsigned)i);
		/* Counted before it is filled: config_free() then sees every allocation. */
		struct farm_config *f = &cfg->farms[cfg->n_farms++];

		parse_farm(l, g, (size_t)i, f);
	}
}
