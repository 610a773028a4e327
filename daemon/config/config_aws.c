/* config_aws: the aws group: region, profile, endpoint_url, ca_file */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_private.h"
#include "util/aws_syntax.h"

#define CONFIG_PROFILE_MAX 128

bool setting_region(struct loader *l, const config_setting_t *s, const char *path, char **dest)
{
	const char *v = setting_string(l, s, path);
	struct quote q;

	if (!v)
		return false;
	if (!aws_region_valid(v)) {
		config_error_at(l, s, "%s: invalid region %s: expected a region name such as \"us-west-2\"", path,
			config_quote(&q, v));
		return false;
	}
	free(*dest);
	*dest = loader_strdup(l, v);
	return true;
}

bool setting_endpoint_url(struct loader *l, const config_setting_t *s, const char *path, char **dest)
{
	const char *v = setting_string(l, s, path);
	struct quote q;

	if (!v)
		return false;
	if (!aws_endpoint_url_valid(v)) {
		config_error_at(l, s,
			"%s: invalid URL %s: expected http:// or https:// followed by a host, "
			"without spaces, query or fragment",
			path, config_quote(&q, v));
		return false;
	}
	free(*dest);
	*dest = loader_strdup(l, v);
	return true;
}

/* aws = { region; profile; endpoint_url; ca_file; } */
void parse_aws(struct loader *l, const config_setting_t *aws)
{
	struct config *cfg = l->cfg;

	if (!setting_is_group(l, aws, "aws", "{ region = \"us-west-2\"; }"))
		return;
	for (int i = 0; i < config_setting_length(aws); i++) {
		const config_setting_t *s = config_setting_get_elem(aws, (unsigned)i);
		const char *name = config_setting_name(s), *v;
		char path[32];
		char **dest;
		struct quote q;

		if (!name || (strcmp(name, "region") != 0 && strcmp(name, "profile") != 0 &&
				     strcmp(name, "endpoint_url") != 0 && strcmp(name, "ca_file") != 0)) {
			config_unknown_setting(l, s, "aws", "region, profile, endpoint_url, ca_file");
			continue;
		}
		snprintf(path, sizeof(path), "aws.%s", name);
		if (strcmp(name, "region") == 0) {
			setting_region(l, s, path, &cfg->region);
			continue;
		}
		if (strcmp(name, "endpoint_url") == 0) {
			setting_endpoint_url(l, s, path, &cfg->endpoint_url);
			continue;
		}
		v = setting_string(l, s, path);
		if (!v)
			continue;
		if (strcmp(name, "profile") == 0) {
			if (!*v || strlen(v) > CONFIG_PROFILE_MAX || !config_printable(v)) {
				config_error_at(l, s,
					"%s: invalid profile name %s: expected 1 to %d printable characters", path,
					config_quote(&q, v), CONFIG_PROFILE_MAX);
				continue;
			}
			dest = &cfg->profile;
		} else {
			if (!*v) {
				config_error_at(l, s, "%s: must not be empty", path);
				continue;
			}
			/* Checked now so that --check-config finds it, rather than the first TLS handshake. */
			if (access(v, R_OK) != 0) {
				config_error_at(l, s, "%s: %s: %s", path, config_quote(&q, v), strerror(errno));
				continue;
			}
			dest = &cfg->ca_file;
		}
		free(*dest);
		*dest = loader_strdup(l, v);
	}
}
