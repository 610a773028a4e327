/* aws_profile: a small reader of the AWS CLI's shared config and credentials files (INI with its own rules) */
#include "aws/aws_profile.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/env.h"
#include "util/file.h"
#define PROFILE_FILE_MAX (1024 * 1024)

struct profile_entry {
	char *key;
	char *value;
};

struct aws_profile {
	char *name;
	bool found;
	struct profile_entry *entries;
	size_t n_entries;
	char where[1024];
};

int aws_profile_new(struct aws_profile **out, const char *name)
{
	struct aws_profile *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->name = strdup(name);
	if (!p->name) {
		free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

void aws_profile_free(struct aws_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_entries; i++) {
		free(p->entries[i].key);
		/* Values may be secret keys. */
		explicit_bzero(p->entries[i].value, strlen(p->entries[i].value));
		free(p->entries[i].value);
	}
	free(p->entries);
	free(p->name);
	free(p);
}

bool aws_profile_found(const struct aws_profile *p)
{
	return p && p->found;
}

const char *aws_profile_name(const struct aws_profile *p)
{
	return p->name;
}

const char *aws_profile_where(const struct aws_profile *p)
{
	return p->where;
}

const char *aws_profile_get(const struct aws_profile *p, const char *key)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_entries; i++)
		if (strcmp(p->entries[i].key, key) == 0)
			return p->entries[i].value[0] ? p->entries[i].value : NULL;
	return NULL;
}

bool aws_profile_bool(const char *value)
{
	return value && strcasecmp(value, "true") == 0;
}

const char *aws_profile_default_name(const char *configured)
{
	const char *env = env_get("AWS_PROFILE");

	if (configured && *configured)
		return configured;
	return env ? env : "default";
}

/* Sets key (lower-cased) to value, replacing an earlier value: a later line or file wins. */
static int profile_set(struct aws_profile *p, const char *key, size_t keylen, const char *value, size_t valuelen)
{
	char *k = strndup(key, keylen), *v = strndup(value, valuelen);
	struct profile_entry *grown;

	if (!k || !v)
		goto nomem;
	for (char *c = k; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	for (size_t i = 0; i < p->n_entries; i++) {
		if (strcmp(p->entries[i].key, k) == 0) {
			explicit_bzero(p->entries[i].value, strlen(p->entries[i].value));
			free(p->entries[i].value);
			p->entries[i].value = v;
			free(k);
			return 0;
		}
	}
	grown = realloc(p->entries, (p->n_entries + 1) * sizeof(*grown));
	if (!grown)
		goto nomem;
	p->entries = grown;
	p->entries[p->n_entries++] = (struct profile_entry){k, v};
	return 0;
nomem:
	free(k);
	if (v)
		explicit_bzero(v, valuelen);
	free(v);
	return -ENOMEM;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Whether the section header [name…] (without brackets, trimmed) selects profile. */
static bool section_selects(const char *s, size_t n, const char *profile, bool config_format)
{
	size_t plen = strlen(profile);

	if (config_format && n > 8 && strncmp(s, "profile", 7) == 0 && is_blank(s[7])) {
		s += 8;
		n -= 8;
		while (n && is_blank(*s)) {
			s++;
			n--;
		}
		return n == plen && memcmp(s, profile, n) == 0;
	}
	/* In the config file only the default profile may go without the "profile " prefix. */
	if (config_format && strcmp(profile, "default") != 0)
		return false;
	return n == plen && memcmp(s, profile, n) == 0;
}

int aws_profile_parse(struct aws_profile *p, const char *text, bool config_format)
{
	bool in_section = false;
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n'), *next = end ? end + 1 : NULL, *s = line, *e, *eq;
		int r;

		if (!end)
			end = line + strlen(line);
		/* Indented lines continue a key above (nested settings such as "s3 =" blocks): not ours. */
		if (is_blank(*s) && *s != '\r') {
			line = next;
			continue;
		}
		e = end;
		while (e > s && is_blank(e[-1]))
			e--;
		if (s == e || *s == '#' || *s == ';') {
			line = next;
			continue;
		}
		if (*s == '[') {
			const char *close = memchr(s, ']', (size_t)(e - s));
			const char *a = s + 1, *b = close ? close : s + 1;

			while (a < b && is_blank(*a))
				a++;
			while (b > a && is_blank(b[-1]))
				b--;
			in_section = close && section_selects(a, (size_t)(b - a), p->name, config_format);
			p->found |= in_section;
			line = next;
			continue;
		}
		eq = memchr(s, '=', (size_t)(e - s));
		if (in_section && eq && eq > s) {
			const char *ke = eq, *v = eq + 1;

			while (ke > s && is_blank(ke[-1]))
				ke--;
			while (v < e && is_blank(*v))
				v++;
			r = profile_set(p, s, (size_t)(ke - s), v, (size_t)(e - v));
			if (r < 0)
				return r;
		}
		line = next;
	}
	return 0;
}

int aws_profile_path(const char *variable, const char *default_under_home, char **out)
{
	const char *value = env_get(variable), *home = env_get("HOME");
	struct passwd pw, *res = NULL;
	char buf[4096];

	*out = NULL;
	if (value && strncmp(value, "~/", 2) != 0) {
		*out = strdup(value);
		return *out ? 0 : -ENOMEM;
	}
	if (!home && getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) == 0 && res)
		home = res->pw_dir;
	if (!home || !*home)
		return -ENOENT;
	if (value) {
		if (asprintf(out, "%s/%s", home, value + 2) < 0)
			*out = NULL;
	} else if (asprintf(out, "%s/%s", home, default_under_home) < 0) {
		*out = NULL;
	}
	return *out ? 0 : -ENOMEM;
}

static void why_set(char *why, size_t whylen, const char *path, int r)
{
	if (why && whylen)
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(-r));
}

/* Parses the file at path into p; a missing file adds nothing. */
static int profile_read_file(struct aws_profile *p, const char *path, bool config_format, char *why, size_t whylen)
{
	char *text = NULL;
	size_t used = strlen(p->where);
	int r;

	snprintf(p->where + used, sizeof(p->where) - used, "%s%s", used ? " and " : "", path);
	/* The credentials file holds secret keys: no copy of it is left behind unwiped. */
	r = file_read_secret(path, PROFILE_FILE_MAX, &text, NULL);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0) {
		why_set(why, whylen, path, r);
		return r;
	}
	r = aws_profile_parse(p, text, config_format);
	explicit_bzero(text, strlen(text));
	free(text);
	return r;
}

int aws_profile_load(struct aws_profile **out, const char *name, const char *config_path, const char *credentials_path,
	char *why, size_t whylen)
{
	struct aws_profile *p = NULL;
	char *config = NULL, *credentials = NULL;
	int r;

	*out = NULL;
	r = aws_profile_new(&p, name);
	if (r < 0)
		return r;
	r = config_path ? ((config = strdup(config_path)) ? 0 : -ENOMEM)
			: aws_profile_path("AWS_CONFIG_FILE", ".aws/config", &config);
	if (r == 0)
		r = profile_read_file(p, config, true, why, whylen);
	else if (r == -ENOENT)
		r = 0; /* no home directory: no default files */
	if (r < 0)
		goto out;
	r = credentials_path ? ((credentials = strdup(credentials_path)) ? 0 : -ENOMEM)
			     : aws_profile_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", &credentials);
	if (r == 0)
		r = profile_read_file(p, credentials, false, why, whylen);
	else if (r == -ENOENT)
		r = 0;
	if (r < 0)
		goto out;
	*out = p;
	p = NULL;
out:
	aws_profile_free(p);
	free(config);
	free(credentials);
	return r;
}

int aws_profile_load_credentials_file(
	struct aws_profile **out, const char *name, const char *path, char *why, size_t whylen)
{
	struct aws_profile *p = NULL;
	int r;

	*out = NULL;
	r = aws_profile_new(&p, name);
	if (r < 0)
		return r;
	r = profile_read_file(p, path, false, why, whylen);
	if (r < 0) {
		aws_profile_free(p);
		return r;
	}
	*out = p;
	return 0;
}
