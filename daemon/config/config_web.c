/* config_web: the web group: listen address, TLS files, basic-auth users, connection limits */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_private.h"
#include "config/tls_cert.h"
#include "util/listen_addr.h"

void web_config_defaults(struct web_config *web)
{
	memset(web, 0, sizeof(*web));
	web->tls_min_version = WEB_TLS12;
	web->max_connections = CONFIG_WEB_DEFAULT_MAX_CONNECTIONS;
	web->connection_timeout_seconds = CONFIG_WEB_DEFAULT_TIMEOUT_SECONDS;
	web->max_request_size = CONFIG_WEB_DEFAULT_MAX_REQUEST_SIZE;
	web->health_without_auth = true;
}

static bool is_bcrypt_char(char c)
{
	return ascii_is_alnum(c) || c == '.' || c == '/';
}

bool web_password_hash_valid(const char *s)
{
	int cost;

	/* "$2y$10$" then 22 characters of salt and 31 of hash, in bcrypt's base64 alphabet. */
	if (!s || strlen(s) != 60 || s[0] != '$' || s[1] != '2' || (s[2] != 'a' && s[2] != 'b' && s[2] != 'y') ||
		s[3] != '$' || !ascii_is_digit(s[4]) || !ascii_is_digit(s[5]) || s[6] != '$')
		return false;
	cost = (s[4] - '0') * 10 + (s[5] - '0');
	if (cost < 4 || cost > 31)
		return false;
	for (size_t i = 7; i < 60; i++) {
		if (!is_bcrypt_char(s[i]))
			return false;
	}
	return true;
}

/* A file the exporter must read at start and on SIGHUP: named and readable now, for --check-config. */
static void parse_web_file(struct loader *l, const config_setting_t *s, const char *path, char **dest)
{
	const char *v = setting_string(l, s, path);
	struct quote q;

	if (!v)
		return;
	if (!*v) {
		config_error_at(l, s, "%s: must not be empty", path);
		return;
	}
	if (access(v, R_OK) != 0) {
		config_error_at(l, s, "%s: %s: %s", path, config_quote(&q, v), strerror(errno));
		return;
	}
	free(*dest);
	*dest = loader_strdup(l, v);
}

/*
 * The pair parsed and matched exactly as the server will load it (tls_cert_new()), so that --check-config
 * refuses what start-up and SIGHUP would refuse.
 */
static void check_web_tls(struct loader *l, const config_setting_t *at)
{
	struct tls_cert *tc = NULL;
	char msg[512];
	int r;

	r = tls_cert_new(&tc, l->cfg->web.tls_cert_file, l->cfg->web.tls_key_file, msg, sizeof(msg));
	if (r == -ENOMEM)
		l->oom = true;
	else if (r < 0)
		config_error_at(l, at, "%s", msg);
	tls_cert_free(tc);
}

static bool web_user_name_valid(const char *s)
{
	size_t n = strlen(s);

	/* RFC 7617: the user-id cannot contain a colon. */
	return n > 0 && n <= CONFIG_WEB_USER_MAX && config_printable(s) && !strchr(s, ':');
}

/* One element of web.basic_auth_users: { user = "..."; password_hash = "$2y$..."; } */
static void parse_web_user(struct loader *l, const config_setting_t *g, size_t index, struct web_user *u)
{
	char where[48];

	snprintf(where, sizeof(where), "web.basic_auth_users[%zu]", index);
	if (!setting_is_group(l, g, where, "{ user = \"prometheus\"; password_hash = \"$2y$10$...\"; }"))
		return;
	if (!config_setting_get_member(g, "user"))
		config_error_at(l, g, "%s: missing 'user'", where);
	if (!config_setting_get_member(g, "password_hash"))
		config_error_at(l, g, "%s: missing 'password_hash' (a bcrypt hash: htpasswd -nBC 10 USER)", where);
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s), *v;
		char path[80];
		struct quote q;

		if (!name)
			continue;
		snprintf(path, sizeof(path), "%s.%s", where, name);
		if (strcmp(name, "user") == 0) {
			v = setting_string(l, s, path);
			if (!v)
				continue;
			if (!web_user_name_valid(v)) {
				config_error_at(l, s,
					"%s: invalid user name %s: expected 1 to %d printable characters, no ':'", path,
					config_quote(&q, v), CONFIG_WEB_USER_MAX);
				continue;
			}
			for (size_t j = 0; j < index; j++) {
				if (l->cfg->web.users[j].user && strcmp(l->cfg->web.users[j].user, v) == 0) {
					config_error_at(l, s, "%s: duplicate user %s (also web.basic_auth_users[%zu])",
						path, config_quote(&q, v), j);
					break;
				}
			}
			free(u->user);
			u->user = loader_strdup(l, v);
		} else if (strcmp(name, "password_hash") == 0) {
			v = setting_string(l, s, path);
			if (!v)
				continue;
			/* The value is a secret: the message describes it, never quotes it. */
			if (!web_password_hash_valid(v)) {
				config_error_at(l, s,
					"%s: not a bcrypt hash (expected $2y$, $2b$ or $2a$, a cost from 04 to 31 and "
					"53 "
					"characters, as \"htpasswd -nBC 10 USER\" prints after the ':')",
					path);
				continue;
			}
			free(u->password_hash);
			u->password_hash = loader_strdup(l, v);
		} else {
			config_unknown_setting(l, s, where, "user, password_hash");
		}
	}
}

static void parse_web_users(struct loader *l, const config_setting_t *s)
{
	struct web_config *web = &l->cfg->web;
	int n = setting_list_length(
		l, s, "web.basic_auth_users", "( { user = \"prometheus\"; password_hash = \"$2y$10$...\"; } )");

	if (n < 0)
		return;
	if (n == 0) {
		config_error_at(l, s, "web.basic_auth_users: empty list (leave it out for no authentication)");
		return;
	}
	if (n > CONFIG_WEB_USERS_MAX) {
		config_error_at(l, s, "web.basic_auth_users: %d users, at most %d", n, CONFIG_WEB_USERS_MAX);
		return;
	}
	if (web->users)
		return; /* libconfig refuses a duplicate setting name; this is only defensive */
	web->users = loader_calloc(l, (size_t)n, sizeof(*web->users));
	if (!web->users)
		return;
	for (int i = 0; i < n && !l->oom; i++) {
		/* Counted before it is filled: config_free() then sees every allocation. */
		struct web_user *u = &web->users[web->n_users++];

		parse_web_user(l, config_setting_get_elem(s, (unsigned)i), (size_t)i, u);
	}
}

/*
 * web = { listen; tls_cert_file; tls_key_file; tls_min_version; basic_auth_users; max_connections;
 *         connection_timeout; max_request_size; health_without_auth; enable_lifecycle; }
 */
void parse_web(struct loader *l, const config_setting_t *web)
{
	struct config *cfg = l->cfg;
	const config_setting_t *min_version = NULL;
	const char *known = "listen, tls_cert_file, tls_key_file, tls_min_version, basic_auth_users, max_connections, "
			    "connection_timeout, max_request_size, health_without_auth, enable_lifecycle";

	if (!setting_is_group(l, web, "web", "{ listen = \"127.0.0.1:9753\"; }"))
		return;
	for (int i = 0; i < config_setting_length(web); i++) {
		const config_setting_t *s = config_setting_get_elem(web, (unsigned)i);
		const char *name = config_setting_name(s), *v;
		char path[48];
		long long n;
		struct quote q;

		if (!name) {
			config_unknown_setting(l, s, "web", known);
			continue;
		}
		snprintf(path, sizeof(path), "web.%s", name);
		if (strcmp(name, "listen") == 0) {
			v = setting_string(l, s, path);
			if (!v)
				continue;
			char why[96];

			if (listen_addr_parse(v, NULL, why, sizeof(why)) < 0) {
				config_error_at(l, s,
					"web.listen: invalid address %s (%s): expected host:port such as "
					"\"127.0.0.1:9753\", "
					"\"0.0.0.0:9753\" or \"[::]:9753\"",
					config_quote(&q, v), why);
				continue;
			}
			free(cfg->listen);
			cfg->listen = loader_strdup(l, v);
		} else if (strcmp(name, "tls_cert_file") == 0) {
			parse_web_file(l, s, path, &cfg->web.tls_cert_file);
		} else if (strcmp(name, "tls_key_file") == 0) {
			parse_web_file(l, s, path, &cfg->web.tls_key_file);
		} else if (strcmp(name, "tls_min_version") == 0) {
			v = setting_string(l, s, path);
			if (!v)
				continue;
			min_version = s;
			if (strcmp(v, "TLS12") == 0)
				cfg->web.tls_min_version = WEB_TLS12;
			else if (strcmp(v, "TLS13") == 0)
				cfg->web.tls_min_version = WEB_TLS13;
			else
				config_error_at(
					l, s, "%s: must be \"TLS12\" or \"TLS13\", not %s", path, config_quote(&q, v));
		} else if (strcmp(name, "basic_auth_users") == 0) {
			parse_web_users(l, s);
		} else if (strcmp(name, "max_connections") == 0) {
			if (setting_int_range(
				    l, s, path, CONFIG_WEB_MAX_CONNECTIONS_MIN, CONFIG_WEB_MAX_CONNECTIONS_MAX, &n))
				cfg->web.max_connections = (unsigned)n;
		} else if (strcmp(name, "max_request_size") == 0) {
			if (setting_int_range(
				    l, s, path, CONFIG_WEB_MAX_REQUEST_SIZE_MIN, CONFIG_WEB_MAX_REQUEST_SIZE_MAX, &n))
				cfg->web.max_request_size = (size_t)n;
		} else if (strcmp(name, "connection_timeout") == 0) {
			int64_t secs;

			v = setting_string(l, s, path);
			if (!v)
				continue;
			if (config_duration_parse(v, &secs) < 0) {
				config_error_at(l, s,
					"%s: invalid duration %s: expected a number and a unit (s, m, h) such as "
					"\"30s\"",
					path, config_quote(&q, v));
				continue;
			}
			if (secs > CONFIG_WEB_TIMEOUT_MAX_SECONDS) {
				config_error_at(l, s, "%s: %s is longer than the maximum of %ds", path,
					config_quote(&q, v), CONFIG_WEB_TIMEOUT_MAX_SECONDS);
				continue;
			}
			cfg->web.connection_timeout_seconds = (unsigned)secs;
		} else if (strcmp(name, "health_without_auth") == 0) {
			setting_bool(l, s, path, &cfg->web.health_without_auth);
		} else if (strcmp(name, "enable_lifecycle") == 0) {
			setting_bool(l, s, path, &cfg->web.enable_lifecycle);
		} else {
			config_unknown_setting(l, s, "web", known);
		}
	}
	/* Half a TLS configuration would silently serve plain HTTP: refused. */
	if (!!config_setting_get_member(web, "tls_cert_file") != !!config_setting_get_member(web, "tls_key_file"))
		config_error_at(
			l, web, "web: tls_cert_file and tls_key_file go together: set both for HTTPS, or neither");
	else if (min_version && !config_setting_get_member(web, "tls_cert_file"))
		config_error_at(
			l, min_version, "web.tls_min_version: without tls_cert_file and tls_key_file there is no TLS");
	else if (cfg->web.tls_cert_file && cfg->web.tls_key_file)
		check_web_tls(l, config_setting_get_member(web, "tls_cert_file"));
}
