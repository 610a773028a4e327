/* config_inventory: the inventory group (names, state, budgets) and the identity_store group (user names) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_private.h"

/* Whether s[0..n) is n lowercase hex digits. */
static bool lower_hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!ascii_is_lower_hex(s[i]))
			return false;
	return true;
}

bool config_identity_store_id_valid(const char *s)
{
	/* The model's IdentityStoreId: d-[0-9a-f]{10}, or a UUID [0-9a-f]{8}-{4}-{4}-{4}-{12}. */
	static const size_t uuid_runs[] = {8, 4, 4, 4, 12};
	size_t n = strlen(s);

	if (n == 12 && s[0] == 'd' && s[1] == '-')
		return lower_hex_run(s + 2, 10);
	if (n != CONFIG_IDENTITY_STORE_ID_MAX)
		return false;
	for (size_t k = 0; k < ARRAY_SIZE(uuid_runs); k++) {
		if (!lower_hex_run(s, uuid_runs[k]))
			return false;
		s += uuid_runs[k];
		if (k + 1 < ARRAY_SIZE(uuid_runs) && *s++ != '-')
			return false;
	}
	return true;
}

void inventory_config_defaults(struct loader *l, struct inventory_config *inv)
{
	inv->enabled = true;
	inv->budgets = true;
	inv->interval_seconds = CONFIG_DEFAULT_INTERVAL_SECONDS;
	free(inv->interval_text);
	inv->interval_text = loader_strdup(l, CONFIG_DEFAULT_INTERVAL);
}

/* inventory = { enabled; interval; budgets; } */
void parse_inventory(struct loader *l, const config_setting_t *inventory)
{
	struct inventory_config *inv = &l->cfg->inventory;

	if (!setting_is_group(l, inventory, "inventory", "{ enabled = true; interval = \"5m\"; }"))
		return;
	for (int i = 0; i < config_setting_length(inventory); i++) {
		const config_setting_t *s = config_setting_get_elem(inventory, (unsigned)i);
		const char *name = config_setting_name(s);
		char path[48];

		if (!name)
			continue;
		snprintf(path, sizeof(path), "inventory.%s", name);
		if (strcmp(name, "enabled") == 0)
			setting_bool(l, s, path, &inv->enabled);
		else if (strcmp(name, "budgets") == 0)
			setting_bool(l, s, path, &inv->budgets);
		else if (strcmp(name, "interval") == 0)
			setting_interval(l, s, path, &inv->interval_seconds, &inv->interval_text);
		else
			config_unknown_setting(l, s, "inventory", "enabled, interval, budgets");
	}
}

/* identity_store = { id; region; endpoint_url; role_arn; external_id; } */
void parse_identity_store(struct loader *l, const config_setting_t *identity_store)
{
	struct identity_store_config *ids = &l->cfg->identity_store;

	if (!setting_is_group(l, identity_store, "identity_store", "{ id = \"d-1234567890\"; }"))
		return;
	if (!config_setting_get_member(identity_store, "id"))
		config_error_at(l, identity_store, "identity_store: missing 'id' (such as \"d-1234567890\")");
	for (int i = 0; i < config_setting_length(identity_store); i++) {
		const config_setting_t *s = config_setting_get_elem(identity_store, (unsigned)i);
		const char *name = config_setting_name(s), *v;
		char path[48];
		struct quote q;

		if (!name ||
			(strcmp(name, "id") != 0 && strcmp(name, "region") != 0 && strcmp(name, "endpoint_url") != 0 &&
				strcmp(name, "role_arn") != 0 && strcmp(name, "external_id") != 0)) {
			config_unknown_setting(
				l, s, "identity_store", "id, region, endpoint_url, role_arn, external_id");
			continue;
		}
		snprintf(path, sizeof(path), "identity_store.%s", name);
		if (strcmp(name, "region") == 0) {
			setting_region(l, s, path, &ids->region);
			continue;
		}
		if (strcmp(name, "endpoint_url") == 0) {
			setting_endpoint_url(l, s, path, &ids->endpoint_url);
			continue;
		}
		if (strcmp(name, "role_arn") == 0) {
			setting_role_arn(l, s, path, &ids->role_arn, ids->account_id);
			continue;
		}
		if (strcmp(name, "external_id") == 0) {
			setting_external_id(l, s, path, &ids->external_id);
			continue;
		}
		v = setting_string(l, s, path);
		if (!v)
			continue;
		if (!config_identity_store_id_valid(v)) {
			config_error_at(l, s,
				"%s: invalid identity store id %s: expected d- followed by 10 lowercase hex digits, "
				"or a UUID",
				path, config_quote(&q, v));
			continue;
		}
		free(ids->id);
		ids->id = loader_strdup(l, v);
	}
	check_external_id(l, identity_store, "identity_store", ids->role_arn);
}
