/* config: reads the libconfig file, checks every setting, and builds one immutable struct config */
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "util/listen_addr.h"

#define CONFIG_DEFAULT_TIMEZONE "UTC+00:00"
#define CONFIG_DEFAULT_INTERVAL "5m"
#define CONFIG_HOST_MAX 253
#define CONFIG_REGION_MAX 64
#define CONFIG_PROFILE_MAX 128
#define CONFIG_URL_MAX 2048
/* A configuration file is a few kilobytes; this only stops /dev/zero. */
#define CONFIG_FILE_MAX (16u << 20)
/* A user string quoted in a message is cut after this many bytes. */
#define QUOTE_MAX 64

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_alnum(char c)
{
	return is_digit(c) || is_lower(c) || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static const char *quote(struct quote *q, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0, i;

	q->s[n++] = '"';
	for (i = 0; s[i] && i < QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			q->s[n++] = '\\';
			q->s[n++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			q->s[n++] = '\\';
			q->s[n++] = 'x';
			q->s[n++] = hex[c >> 4];
			q->s[n++] = hex[c & 0xf];
		} else {
			q->s[n++] = (char)c;
		}
	}
	q->s[n++] = '"';
	if (s[i]) {
		memcpy(q->s + n, "...", 3);
		n += 3;
	}
	q->s[n] = '\0';
	return q->s;
}

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "nothing";
	}
}

/* Appends text to the caller's buffer, cutting (and always terminating) when it is full. */
static void loader_write(struct loader *l, const char *text)
{
	size_t n, room;

	if (!l->err || l->errlen == 0)
		return;
	room = l->errlen - 1 - l->errpos;
	n = strlen(text);
	if (n > room)
		n = room;
	memcpy(l->err + l->errpos, text, n);
	l->errpos += n;
	l->err[l->errpos] = '\0';
}

__attribute__((format(printf, 4, 0))) static void loader_vreport(
	struct loader *l, const char *file, unsigned line, const char *fmt, va_list ap)
{
	char msg[1024];
	char text[1280];
	int n;

	l->n_errors++;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(message could not be formatted)");
	if (line)
		n = snprintf(text, sizeof(text), "%s:%u: %s\n", file, line, msg);
	else
		n = snprintf(text, sizeof(text), "%s: %s\n", file, msg);
	if (n < 0)
		return;
	/* A cut message still ends its line. */
	if ((size_t)n >= sizeof(text))
		text[sizeof(text) - 2] = '\n';
	loader_write(l, text);
}

/* Reports a problem at a setting's file and line; with no setting, at the start of the file. */
static void __attribute__((format(printf, 3, 4)))
error_at(struct loader *l, const config_setting_t *s, const char *fmt, ...)
{
	const char *file = s ? config_setting_source_file(s) : NULL;
	unsigned line = s ? config_setting_source_line(s) : 0;
	va_list ap;

	if (!file)
		file = l->name;
	/* The root group has no line of its own: a missing top-level setting belongs to the file's start. */
	if (line == 0)
		line = 1;
	va_start(ap, fmt);
	loader_vreport(l, file, line, fmt, ap);
	va_end(ap);
}

/* A message without a line: the file itself (unreadable, ...). */
static void __attribute__((format(printf, 3, 4))) error_file(struct loader *l, const char *file, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	loader_vreport(l, file, 0, fmt, ap);
	va_end(ap);
}

/* A message at an explicit file and line (libconfig's parse errors, refused includes). */
static void __attribute__((format(printf, 4, 5)))
error_line(struct loader *l, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	loader_vreport(l, file, line, fmt, ap);
	va_end(ap);
}

static char *loader_strdup(struct loader *l, const char *s)
{
	char *d = strdup(s);

	if (!d)
		l->oom = true;
	return d;
}

static void *loader_calloc(struct loader *l, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		l->oom = true;
	return p;
}

/* The string value of s, or NULL (and a message) when s is of another type. */
static const char *setting_string(struct loader *l, const config_setting_t *s, const char *path)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		error_at(l, s, "%s: must be a string, not %s", path, type_name(config_setting_type(s)));
		return NULL;
	}
	v = config_setting_get_string(s);
	if (!v)
		error_at(l, s, "%s: must be a string", path);
	return v;
}

static bool setting_is_group(struct loader *l, const config_setting_t *s, const char *path, const char *example)
{
	if (config_setting_type(s) == CONFIG_TYPE_GROUP)
		return true;
	error_at(l, s, "%s: must be a group %s, not %s", path, example, type_name(config_setting_type(s)));
	return false;
}

/* Array or list: the number of elements, or -1 (and a message) for another type. */
static int setting_list_length(struct loader *l, const config_setting_t *s, const char *path, const char *example)
{
	int type = config_setting_type(s);

	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
		error_at(l, s, "%s: must be a list such as %s, not %s", path, example, type_name(type));
		return -1;
	}
	return config_setting_length(s);
}

static void unknown_setting(struct loader *l, const config_setting_t *s, const char *where, const char *known)
{
	const char *name = config_setting_name(s);

	if (where)
		error_at(l, s, "%s: unknown setting '%s' (known: %s)", where, name ? name : "?", known);
	else
		error_at(l, s, "unknown setting '%s' (known: %s)", name ? name : "?", known);
}

int config_duration_parse(const char *s, int64_t *seconds)
{
	static const struct {
		char unit;
		int64_t seconds;
	} units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
	/* 12 digits of days stay far below INT64_MAX even when all four parts are summed. */
	const size_t max_digits = 12;
	size_t next_unit = 0;
	int64_t total = 0;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		int64_t n = 0;
		size_t digits = 0, u;

		for (; is_digit(*s); s++) {
			if (++digits > max_digits)
				return -EINVAL;
			n = n * 10 + (*s - '0');
		}
		if (digits == 0)
			return -EINVAL;
		/* Units come largest first, each at most once: "1h30m", never "30m1h". */
		for (u = next_unit; u < ARRAY_SIZE(units) && units[u].unit != *s; u++)
			;
		if (u == ARRAY_SIZE(units))
			return -EINVAL;
		total += n * units[u].seconds;
		next_unit = u + 1;
		s++;
	}
	if (total <= 0)
		return -EINVAL;
	if (seconds)
		*seconds = total;
	return 0;
}

int config_timezone_parse(const char *s, int *offset_minutes)
{
	int hours, minutes;

	if (!s || strlen(s) != 9 || strncmp(s, "UTC", 3) != 0 || (s[3] != '+' && s[3] != '-'))
		return -EINVAL;
	if ((s[4] != '0' && s[4] != '1') || !is_digit(s[5]) || s[6] != ':')
		return -EINVAL;
	if (strcmp(s + 7, "00") != 0 && strcmp(s + 7, "30") != 0)
		return -EINVAL;
	hours = (s[4] - '0') * 10 + (s[5] - '0');
	minutes = (s[7] - '0') * 10;
	if (offset_minutes)
		*offset_minutes = (s[3] == '-' ? -1 : 1) * (hours * 60 + minutes);
	return 0;
}

static bool host_name_valid(const char *h, size_t n)
{
	if (n == 0 || n > CONFIG_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_alnum(h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
			return false;
	}
	return true;
}

static bool host_v6_valid(const char *h, size_t n)
{
	bool colon = false, zone = false;

	if (n == 0 || n > CONFIG_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (zone) {
			/* An interface name after '%': "[fe80::1%eth0]". */
			if (!is_alnum(h[i]) && h[i] != '-' && h[i] != '_' && h[i] != '.')
				return false;
		} else if (h[i] == '%') {
			zone = true;
			if (i + 1 == n)
				return false;
		} else if (h[i] == ':') {
			colon = true;
		} else if (!is_hex(h[i]) && h[i] != '.') {
			return false;
		}
	}
	return colon;
}

int config_listen_parse(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *h, *p;
	size_t hlen;
	unsigned long v = 0;

	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(close - h);
		if (!host_v6_valid(h, hlen))
			return -EINVAL;
		p = close + 2;
	} else {
		const char *colon = strchr(s, ':');

		/* A second ':' means a bare IPv6 address: it needs brackets. */
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL;
		h = s;
		hlen = (size_t)(colon - s);
		if (!host_name_valid(h, hlen))
			return -EINVAL;
		p = colon + 1;
	}
	if (!*p || strlen(p) > 5)
		return -EINVAL;
	for (const char *c = p; *c; c++) {
		if (!is_digit(*c))
			return -EINVAL;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	if (v > 65535)
		return -EINVAL;
	if (host) {
		if (hostlen <= hlen)
			return -EINVAL;
		memcpy(host, h, hlen);
		host[hlen] = '\0';
	}
	if (port)
		*port = (uint16_t)v;
	return 0;
}

static bool report_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_REPORT_NAME_MAX || !is_lower(s[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		if (!is_lower(s[i]) && !is_digit(s[i]) && s[i] != '_')
			return false;
	}
	return true;
}

static bool printable(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

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
	return is_alnum(c) || c == '.' || c == '/';
}

bool web_password_hash_valid(const char *s)
{
	int cost;

	/* "$2y$10$" then 22 characters of salt and 31 of hash, in bcrypt's base64 alphabet. */
	if (!s || strlen(s) != 60 || s[0] != '$' || s[1] != '2' || (s[2] != 'a' && s[2] != 'b' && s[2] != 'y') ||
		s[3] != '$' || !is_digit(s[4]) || !is_digit(s[5]) || s[6] != '$')
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

/* An integer setting in [min, max], or false (and a message). */
static bool setting_int_range(
	struct loader *l, const config_setting_t *s, const char *path, long long min, long long max, long long *out)
{
	int type = config_setting_type(s);
	long long v;

	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
		error_at(l, s, "%s: must be an integer, not %s", path, type_name(type));
		return false;
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		error_at(l, s, "%s: %lld is out of range (%lld to %lld)", path, v, min, max);
		return false;
	}
	*out = v;
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
		error_at(l, s, "%s: must not be empty", path);
		return;
	}
	if (access(v, R_OK) != 0) {
		error_at(l, s, "%s: %s: %s", path, quote(&q, v), strerror(errno));
		return;
	}
	free(*dest);
	*dest = loader_strdup(l, v);
}

static bool web_user_name_valid(const char *s)
{
	size_t n = strlen(s);

	/* RFC 7617: the user-id cannot contain a colon. */
	return n > 0 && n <= CONFIG_WEB_USER_MAX && printable(s) && !strchr(s, ':');
}

/* One element of web.basic_auth_users: { user = "..."; password_hash = "$2y$..."; } */
static void parse_web_user(struct loader *l, const config_setting_t *g, size_t index, struct web_user *u)
{
	char where[48];

	snprintf(where, sizeof(where), "web.basic_auth_users[%zu]", index);
	if (!setting_is_group(l, g, where, "{ user = \"prometheus\"; password_hash = \"$2y$10$...\"; }"))
		return;
	if (!config_setting_get_member(g, "user"))
		error_at(l, g, "%s: missing 'user'", where);
	if (!config_setting_get_member(g, "password_hash"))
		error_at(l, g, "%s: missing 'password_hash' (a bcrypt hash: htpasswd -nBC 10 USER)", where);
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
				error_at(l, s,
					"%s: invalid user name %s: expected 1 to %d printable characters, no ':'", path,
					quote(&q, v), CONFIG_WEB_USER_MAX);
				continue;
			}
			for (size_t j = 0; j < index; j++) {
				if (l->cfg->web.users[j].user && strcmp(l->cfg->web.users[j].user, v) == 0) {
					error_at(l, s, "%s: duplicate user %s (also web.basic_auth_users[%zu])", path,
						quote(&q, v), j);
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
				error_at(l, s,
					"%s: not a bcrypt hash (expected $2y$, $2b$ or $2a$, a cost from 04 to 31 and "
					"53 "
					"characters, as \"htpasswd -nBC 10 USER\" prints after the ':')",
					path);
				continue;
			}
			free(u->password_hash);
			u->password_hash = loader_strdup(l, v);
		} else {
			unknown_setting(l, s, where, "user, password_hash");
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
		error_at(l, s, "web.basic_auth_users: empty list (leave it out for no authentication)");
		return;
	}
	if (n > CONFIG_WEB_USERS_MAX) {
		error_at(l, s, "web.basic_auth_users: %d users, at most %d", n, CONFIG_WEB_USERS_MAX);
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
 *         connection_timeout; max_request_size; health_without_auth; }
 */
static void parse_web(struct loader *l, const config_setting_t *web)
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
			unknown_setting(l, s, "web", known);
			continue;
		}
		snprintf(path, sizeof(path), "web.%s", name);
		if (strcmp(name, "listen") == 0) {
			v = setting_string(l, s, path);
			if (!v)
				continue;
			char why[96];
			if (listen_addr_parse(v, NULL, why, sizeof(why)) < 0) {
				error_at(l, s,
					"web.listen: invalid address %s (%s): expected host:port such as "
					"\"127.0.0.1:9753\", "
					"\"0.0.0.0:9753\" or \"[::]:9753\"",
					quote(&q, v), why);
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
				error_at(l, s, "%s: must be \"TLS12\" or \"TLS13\", not %s", path, quote(&q, v));
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
				error_at(l, s,
					"%s: invalid duration %s: expected a number and a unit (s, m, h) such as "
					"\"30s\"",
					path, quote(&q, v));
				continue;
			}
			if (secs > CONFIG_WEB_TIMEOUT_MAX_SECONDS) {
				error_at(l, s, "%s: %s is longer than the maximum of %ds", path, quote(&q, v),
					CONFIG_WEB_TIMEOUT_MAX_SECONDS);
				continue;
			}
			cfg->web.connection_timeout_seconds = (unsigned)secs;
		} else if (strcmp(name, "health_without_auth") == 0) {
			if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
				error_at(l, s, "%s: must be true or false, not %s", path,
					type_name(config_setting_type(s)));
				continue;
			}
			cfg->web.health_without_auth = config_setting_get_bool(s) != 0;
		} else if (strcmp(name, "enable_lifecycle") == 0) {
			if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
				error_at(l, s, "%s: must be true or false, not %s", path,
					type_name(config_setting_type(s)));
				continue;
			}
			cfg->web.enable_lifecycle = config_setting_get_bool(s) != 0;
		} else {
			unknown_setting(l, s, "web", known);
		}
	}
	/* Half a TLS configuration would silently serve plain HTTP: refused. */
	if (!!config_setting_get_member(web, "tls_cert_file") != !!config_setting_get_member(web, "tls_key_file"))
		error_at(l, web, "web: tls_cert_file and tls_key_file go together: set both for HTTPS, or neither");
	else if (min_version && !config_setting_get_member(web, "tls_cert_file"))
		error_at(l, min_version, "web.tls_min_version: without tls_cert_file and tls_key_file there is no TLS");
}

static bool region_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_REGION_MAX || !is_lower(s[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_lower(s[i]) && !is_digit(s[i]) && s[i] != '-')
			return false;
	}
	return true;
}

static bool endpoint_url_valid(const char *s)
{
	const char *rest;

	if (strncmp(s, "https://", 8) == 0)
		rest = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		rest = s + 7;
	else
		return false;
	if (!*rest || *rest == '/' || strlen(s) > CONFIG_URL_MAX)
		return false;
	for (const char *c = s; *c; c++) {
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return false;
	}
	return true;
}

/* aws = { region; profile; endpoint_url; ca_file; } */
static void parse_aws(struct loader *l, const config_setting_t *aws)
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
			unknown_setting(l, s, "aws", "region, profile, endpoint_url, ca_file");
			continue;
		}
		snprintf(path, sizeof(path), "aws.%s", name);
		v = setting_string(l, s, path);
		if (!v)
			continue;
		if (strcmp(name, "region") == 0) {
			if (!region_valid(v)) {
				error_at(l, s, "%s: invalid region %s: expected a region name such as \"us-west-2\"",
					path, quote(&q, v));
				continue;
			}
			dest = &cfg->region;
		} else if (strcmp(name, "profile") == 0) {
			if (!*v || strlen(v) > CONFIG_PROFILE_MAX || !printable(v)) {
				error_at(l, s, "%s: invalid profile name %s: expected 1 to %d printable characters",
					path, quote(&q, v), CONFIG_PROFILE_MAX);
				continue;
			}
			dest = &cfg->profile;
		} else if (strcmp(name, "endpoint_url") == 0) {
			if (!endpoint_url_valid(v)) {
				error_at(l, s,
					"%s: invalid URL %s: expected http:// or https:// followed by a host, "
					"without spaces",
					path, quote(&q, v));
				continue;
			}
			dest = &cfg->endpoint_url;
		} else {
			if (!*v) {
				error_at(l, s, "%s: must not be empty", path);
				continue;
			}
			/* Checked now so that --check-config finds it, rather than the first TLS handshake. */
			if (access(v, R_OK) != 0) {
				error_at(l, s, "%s: %s: %s", path, quote(&q, v), strerror(errno));
				continue;
			}
			dest = &cfg->ca_file;
		}
		free(*dest);
		*dest = loader_strdup(l, v);
	}
}

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
			error_at(l, s, "%s: a single id is still a list: [ %s ]", path, quote(&q, v));
		else
			error_at(l, s, "%s: must be \"all\" or a list of %s ids, not %s", path, prefix,
				quote(&q, v ? v : ""));
		return;
	}
	n = setting_list_length(l, s, path, "[ \"...\" ] or \"all\"");
	if (n < 0)
		return;
	if (n == 0) {
		error_at(l, s, "%s: empty list (write \"all\" for every one)", path);
		return;
	}
	*all = false;
	*ids = loader_calloc(l, (size_t)n, sizeof(**ids));
	if (!*ids)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		char epath[64];
		const char *v;
		bool dup = false;

		snprintf(epath, sizeof(epath), "%s[%d]", path, i);
		v = setting_string(l, e, epath);
		if (!v)
			continue;
		if (model_id_valid(v, prefix) < 0) {
			error_at(l, e, "%s: invalid id %s: expected %s followed by 32 lowercase hex digits", epath,
				quote(&q, v), prefix);
			continue;
		}
		for (size_t j = 0; j < *n_ids && !dup; j++)
			dup = strcmp((*ids)[j], v) == 0;
		if (dup) {
			error_at(l, e, "%s: duplicate id %s", epath, quote(&q, v));
			continue;
		}
		(*ids)[*n_ids] = loader_strdup(l, v);
		if (!(*ids)[*n_ids])
			return;
		(*n_ids)++;
	}
}

/* One element of farms: { id; queues; fleets; } */
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
		error_at(l, g, "%s: missing 'id'", where);
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
				error_at(l, s,
					"%s: invalid farm id %s: expected farm- followed by 32 lowercase hex digits",
					path, quote(&q, v));
				continue;
			}
			for (size_t j = 0; j < index; j++) {
				if (l->cfg->farms[j].id && strcmp(l->cfg->farms[j].id, v) == 0) {
					error_at(l, s, "%s: duplicate farm id %s (also farms[%zu])", path, quote(&q, v),
						j);
					break;
				}
			}
			f->id = loader_strdup(l, v);
		} else if (strcmp(name, "queues") == 0) {
			parse_id_list(l, s, path, "queue-", &f->all_queues, &f->queue_ids, &f->n_queue_ids);
		} else if (strcmp(name, "fleets") == 0) {
			parse_id_list(l, s, path, "fleet-", &f->all_fleets, &f->fleet_ids, &f->n_fleet_ids);
		} else {
			unknown_setting(l, s, where, "id, queues, fleets");
		}
	}
}

static void parse_farms(struct loader *l, const config_setting_t *farms)
{
	struct config *cfg = l->cfg;
	int n = setting_list_length(l, farms, "farms", "( { id = \"farm-...\"; } )");

	if (n < 0)
		return;
	if (n == 0) {
		error_at(l, farms, "farms: empty list; at least one farm is required");
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
		error_at(l, s,
			"%s: invalid window %s: expected \"day\", \"week\", \"month\" or a duration such as "
			"\"90m\", \"24h\", \"7d\"",
			path, quote(&q, v));
		return;
	}
	if (secs > CONFIG_WINDOW_MAX_SECONDS) {
		error_at(l, s, "%s: rolling window %s is longer than the limit of %d days", path, quote(&q, v),
			(int)(CONFIG_WINDOW_MAX_SECONDS / 86400));
		return;
	}
	r->window = WINDOW_ROLLING;
	r->window_seconds = secs;
	free(r->window_text);
	r->window_text = loader_strdup(l, v);
}

static void parse_group_by(struct loader *l, const config_setting_t *s, const char *path, struct report_config *r)
{
	int n = setting_list_length(l, s, path, "[ \"QUEUE_ID\", \"USAGE_TYPE\" ]");
	bool seen[GROUP_FIELD_COUNT] = {false};
	struct quote q;

	if (n < 0)
		return;
	if (n == 0) {
		error_at(l, s, "%s: empty list; name 1 or 2 fields", path);
		return;
	}
	if (n > 2)
		error_at(l, s, "%s: %d fields, but the API accepts at most 2", path, n);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		char epath[64];
		enum group_field f;
		const char *v;

		snprintf(epath, sizeof(epath), "%s[%d]", path, i);
		v = setting_string(l, e, epath);
		if (!v)
			continue;
		if (group_field_from_api_name(v, &f) < 0) {
			error_at(l, e,
				"%s: unknown field %s (known: QUEUE_ID, FLEET_ID, JOB_ID, USER_ID, USAGE_TYPE, "
				"INSTANCE_TYPE, LICENSE_PRODUCT)",
				epath, quote(&q, v));
			continue;
		}
		if (seen[f]) {
			error_at(l, e, "%s: duplicate field %s", epath, quote(&q, v));
			continue;
		}
		seen[f] = true;
		if (r->n_group_by < ARRAY_SIZE(r->group_by))
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
		error_at(
			l, s, "%s: empty list; name 1 to 4 of SUM, MIN, MAX, AVG (or leave it out for all four)", path);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		char epath[64];
		enum statistic st;
		const char *v;

		snprintf(epath, sizeof(epath), "%s[%d]", path, i);
		v = setting_string(l, e, epath);
		if (!v)
			continue;
		if (statistic_from_api_name(v, &st) < 0) {
			error_at(l, e, "%s: unknown statistic %s (known: SUM, MIN, MAX, AVG)", epath, quote(&q, v));
			continue;
		}
		if (bits & st) {
			error_at(l, e, "%s: duplicate statistic %s", epath, quote(&q, v));
			continue;
		}
		bits |= st;
	}
	if (bits)
		r->statistics = bits;
}

static void parse_interval(struct loader *l, const config_setting_t *s, const char *path, struct report_config *r)
{
	const char *v = setting_string(l, s, path);
	struct quote q;
	int64_t secs;

	if (!v)
		return;
	if (config_duration_parse(v, &secs) < 0) {
		error_at(l, s, "%s: invalid duration %s: expected a number and a unit (s, m, h, d) such as \"5m\"",
			path, quote(&q, v));
		return;
	}
	if (secs < CONFIG_INTERVAL_MIN_SECONDS) {
		error_at(l, s, "%s: %s is shorter than the minimum of %ds", path, quote(&q, v),
			CONFIG_INTERVAL_MIN_SECONDS);
		return;
	}
	if (secs > CONFIG_INTERVAL_MAX_SECONDS) {
		error_at(l, s, "%s: %s is longer than the maximum of %d days", path, quote(&q, v),
			(int)(CONFIG_INTERVAL_MAX_SECONDS / 86400));
		return;
	}
	r->interval_seconds = secs;
	free(r->interval_text);
	r->interval_text = loader_strdup(l, v);
}

/* One element of reports: { name; resources; window; timezone; group_by; statistics; period; interval; } */
static void parse_report(struct loader *l, const config_setting_t *g, size_t index, struct report_config *r)
{
	char where[32];

	snprintf(where, sizeof(where), "reports[%zu]", index);
	r->resources = RESOURCE_QUEUES;
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
		error_at(l, g, "%s: missing 'name'", where);
	if (!config_setting_get_member(g, "window"))
		error_at(l, g, "%s: missing 'window' (\"day\", \"week\", \"month\" or a duration such as \"7d\")",
			where);
	if (!config_setting_get_member(g, "group_by"))
		error_at(l, g, "%s: missing 'group_by' (1 or 2 fields such as [ \"QUEUE_ID\" ])", where);
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s), *v;
		char path[48];
		struct quote q;

		if (!name)
			continue;
		snprintf(path, sizeof(path), "%s.%s", where, name);
		if (strcmp(name, "name") == 0) {
			v = setting_string(l, s, path);
			if (!v)
				continue;
			if (!report_name_valid(v)) {
				error_at(l, s,
					"%s: invalid report name %s: expected [a-z][a-z0-9_]*, at most %d characters",
					path, quote(&q, v), CONFIG_REPORT_NAME_MAX);
				continue;
			}
			for (size_t j = 0; j < index; j++) {
				if (l->cfg->reports[j].name && strcmp(l->cfg->reports[j].name, v) == 0) {
					error_at(l, s, "%s: duplicate report name %s (also reports[%zu])", path,
						quote(&q, v), j);
					break;
				}
			}
			r->name = loader_strdup(l, v);
		} else if (strcmp(name, "resources") == 0) {
			v = setting_string(l, s, path);
			if (v && resource_kind_from_name(v, &r->resources) < 0)
				error_at(l, s, "%s: must be \"queues\" or \"fleets\", not %s", path, quote(&q, v));
		} else if (strcmp(name, "window") == 0) {
			parse_window(l, s, path, r);
		} else if (strcmp(name, "timezone") == 0) {
			v = setting_string(l, s, path);
			if (!v)
				continue;
			if (config_timezone_parse(v, &r->tz_offset_minutes) < 0) {
				error_at(l, s,
					"%s: invalid timezone %s: expected the API's form UTC+HH:MM or UTC-HH:MM, "
					"hours "
					"00 to 19, minutes 00 or 30, such as \"UTC-08:00\"",
					path, quote(&q, v));
				continue;
			}
			snprintf(r->timezone, sizeof(r->timezone), "%s", v);
		} else if (strcmp(name, "group_by") == 0) {
			parse_group_by(l, s, path, r);
		} else if (strcmp(name, "statistics") == 0) {
			parse_statistics(l, s, path, r);
		} else if (strcmp(name, "period") == 0) {
			v = setting_string(l, s, path);
			if (v && period_from_api_name(v, &r->period) < 0)
				error_at(l, s, "%s: unknown period %s (known: HOURLY, DAILY, WEEKLY, MONTHLY)", path,
					quote(&q, v));
		} else if (strcmp(name, "interval") == 0) {
			parse_interval(l, s, path, r);
		} else {
			unknown_setting(l, s, where,
				"name, resources, window, timezone, group_by, statistics, period, interval");
		}
	}
}

static void parse_reports(struct loader *l, const config_setting_t *reports)
{
	struct config *cfg = l->cfg;
	int n = setting_list_length(l, reports, "reports", "( { name = \"...\"; ... } )");

	if (n < 0)
		return;
	if (n == 0) {
		error_at(l, reports, "reports: empty list; at least one report is required");
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

static void parse_root(struct loader *l, const config_setting_t *root)
{
	/* Checked first so that messages come in the order of the file. */
	if (!config_setting_get_member(root, "farms"))
		error_at(l, NULL, "missing 'farms': at least one farm is required");
	if (!config_setting_get_member(root, "reports"))
		error_at(l, NULL, "missing 'reports': at least one report is required");
	for (int i = 0; i < config_setting_length(root) && !l->oom; i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(s);

		if (name && strcmp(name, "web") == 0) {
			parse_web(l, s);
		} else if (name && strcmp(name, "aws") == 0) {
			parse_aws(l, s);
		} else if (name && strcmp(name, "farms") == 0) {
			parse_farms(l, s);
		} else if (name && strcmp(name, "reports") == 0) {
			parse_reports(l, s);
		} else {
			unknown_setting(l, s, NULL, "web, aws, farms, reports");
		}
	}
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->listen);
	free(cfg->region);
	free(cfg->profile);
	free(cfg->endpoint_url);
	free(cfg->ca_file);
	free(cfg->web.tls_cert_file);
	free(cfg->web.tls_key_file);
	for (size_t i = 0; i < cfg->web.n_users; i++) {
		free(cfg->web.users[i].user);
		if (cfg->web.users[i].password_hash) {
			explicit_bzero(cfg->web.users[i].password_hash, strlen(cfg->web.users[i].password_hash));
			free(cfg->web.users[i].password_hash);
		}
	}
	free(cfg->web.users);
	for (size_t i = 0; i < cfg->n_farms; i++) {
		struct farm_config *f = &cfg->farms[i];

		free(f->id);
		for (size_t j = 0; j < f->n_queue_ids; j++)
			free(f->queue_ids[j]);
		free(f->queue_ids);
		for (size_t j = 0; j < f->n_fleet_ids; j++)
			free(f->fleet_ids[j]);
		free(f->fleet_ids);
	}
	free(cfg->farms);
	for (size_t i = 0; i < cfg->n_reports; i++) {
		free(cfg->reports[i].name);
		free(cfg->reports[i].window_text);
		free(cfg->reports[i].interval_text);
	}
	free(cfg->reports);
	free(cfg);
}

static void loader_init(struct loader *l, const char *name, char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	l->name = name;
	l->err = err;
	l->errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
}

/* Builds the config from a parsed libconfig tree; *out only on success. */
static int config_build(struct loader *l, config_t *lc, struct config **out)
{
	int r;

	l->cfg = calloc(1, sizeof(*l->cfg));
	if (!l->cfg)
		return -ENOMEM;
	l->cfg->path = loader_strdup(l, l->name);
	l->cfg->listen = loader_strdup(l, CONFIG_DEFAULT_LISTEN);
	web_config_defaults(&l->cfg->web);
	if (!l->oom)
		parse_root(l, config_root_setting(lc));
	if (l->oom) {
		r = -ENOMEM;
		error_file(l, l->name, "out of memory");
	} else if (l->n_errors) {
		r = -EINVAL;
	} else {
		*out = l->cfg;
		l->cfg = NULL;
		r = 0;
	}
	config_free(l->cfg);
	l->cfg = NULL;
	return r;
}

/* libconfig's own message for a file it could not parse, at its own file and line. */
static int parse_error(struct loader *l, const config_t *lc)
{
	const char *file = config_error_file(lc);
	const char *text = config_error_text(lc);
	int line = config_error_line(lc);

	if (!file)
		file = l->name;
	if (!text)
		text = "parse error";
	if (config_error_type(lc) == CONFIG_ERR_FILE_IO) {
		/* An @include it could not read; libconfig keeps no errno. */
		error_file(l, file, "%s", text);
		return -EIO;
	}
	error_line(l, file, line > 0 ? (unsigned)line : 1, "%s", text);
	return -EINVAL;
}

/*
 * The lines that libconfig reads as includes: '@include' at the start (after blanks), blanks, then '"'.
 * Returns the offset of the path after the quote, or 0 when the line at p is no include.
 */
static size_t include_path_offset(const char *p)
{
	const char *q = p;

	while (*q == ' ' || *q == '\t')
		q++;
	if (strncmp(q, "@include", 8) != 0)
		return 0;
	q += 8;
	if (*q != ' ' && *q != '\t')
		return 0;
	while (*q == ' ' || *q == '\t')
		q++;
	if (*q != '"')
		return 0;
	return (size_t)(q + 1 - p);
}

/* Refuses @include in text from a string: a fuzzer's "@include \"/dev/zero\"" must not be opened. */
static int refuse_includes(struct loader *l, const char *text)
{
	unsigned line = 1;
	int r = 0;

	for (const char *p = text; p;) {
		if (include_path_offset(p)) {
			error_line(l, l->name, line, "@include is not allowed here");
			r = -EINVAL;
		}
		p = strchr(p, '\n');
		if (p) {
			p++;
			line++;
		}
	}
	return r;
}

/* Parses text (no @include left to refuse or rewrite) and builds the config. */
static int config_parse(struct loader *l, const char *text, struct config **out)
{
	config_t lc;
	int r;

	config_init(&lc);
	if (config_read_string(&lc, text) != CONFIG_TRUE)
		r = parse_error(l, &lc);
	else
		r = config_build(l, &lc, out);
	config_destroy(&lc);
	return r;
}

int config_load_string(struct config **out, const char *name, const char *text, char *err, size_t errlen)
{
	struct loader l;
	int r;

	if (!name)
		name = "(string)";
	loader_init(&l, name, err, errlen);
	if (!out || !text) {
		error_file(&l, name, "%s", strerror(EINVAL));
		return -EINVAL;
	}
	*out = NULL;
	r = refuse_includes(&l, text);
	if (r < 0)
		return r;
	return config_parse(&l, text, out);
}

/* Appends s to *p, escaped as the inside of a libconfig string. */
static void put_escaped(char **p, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*(*p)++ = '\\';
		*(*p)++ = *s;
	}
}

/*
 * libconfig 1.5 joins its include directory even to absolute paths, so it gets none: instead a
 * relative "@include" path is rewritten here to start with dir, the including file's directory.
 * Lines keep their numbers. Returns a new string, or NULL when out of memory.
 */
static char *includes_rewrite(const char *text, const char *dir)
{
	size_t n_includes = 0, dlen = strlen(dir), size;
	char *out, *o;

	for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n_includes += include_path_offset(p) != 0;
	size = strlen(text) + n_includes * (2 * dlen + 1) + 1;
	out = malloc(size);
	if (!out)
		return NULL;
	o = out;
	for (const char *p = text; p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end + 1 - p) : strlen(p);
		size_t at = include_path_offset(p);

		if (at && p[at] != '/') {
			memcpy(o, p, at);
			o += at;
			put_escaped(&o, dir);
			*o++ = '/';
			memcpy(o, p + at, len - at);
			o += len - at;
		} else {
			memcpy(o, p, len);
			o += len;
		}
		p = end ? end + 1 : NULL;
	}
	*o = '\0';
	return out;
}

/* The directory part of path ("." for none). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* Reads all of f into a new NUL-terminated string. Returns 0 or -errno (-EFBIG beyond CONFIG_FILE_MAX). */
static int file_read(FILE *f, char **text, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		size_t got;

		if (n + 1 == cap) {
			char *bigger;

			if (cap > CONFIG_FILE_MAX) {
				free(buf);
				return -EFBIG;
			}
			bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				return -ENOMEM;
			}
			buf = bigger;
			cap *= 2;
		}
		got = fread(buf + n, 1, cap - 1 - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f)) {
				int e = errno ? errno : EIO;

				free(buf);
				return -e;
			}
			break;
		}
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

int config_load(struct config **out, const char *path, char *err, size_t errlen)
{
	char *text = NULL, *rewritten = NULL, *dir = NULL;
	struct loader l;
	const char *nul;
	size_t len = 0;
	FILE *f;
	int r;

	loader_init(&l, path ? path : "(null)", err, errlen);
	if (!out || !path) {
		error_file(&l, l.name, "%s", strerror(EINVAL));
		return -EINVAL;
	}
	*out = NULL;
	f = fopen(path, "r");
	if (!f) {
		r = -errno;
		error_file(&l, path, "%s", strerror(-r));
		return r;
	}
	errno = 0;
	r = file_read(f, &text, &len);
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r < 0) {
		error_file(&l, path, "%s", strerror(-r));
		goto out;
	}
	/* libconfig would stop at a NUL byte and read the rest of the file as if it were not there. */
	nul = memchr(text, '\0', len);
	if (nul) {
		unsigned line = 1;

		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		r = -EINVAL;
		error_line(&l, path, line, "a NUL byte: this is not a text file");
		goto out;
	}
	dir = dir_of(path);
	rewritten = dir ? includes_rewrite(text, dir) : NULL;
	if (!rewritten) {
		r = -ENOMEM;
		error_file(&l, path, "%s", strerror(ENOMEM));
		goto out;
	}
	r = config_parse(&l, rewritten, out);
out:
	free(rewritten);
	free(dir);
	free(text);
	return r;
}
