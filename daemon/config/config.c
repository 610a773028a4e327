/* config: reads the libconfig file (includes, NUL bytes, size), reports problems as FILE:LINE, owns struct config */
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_private.h"
#include "util/file.h"

/* A configuration file is a few kilobytes; this only stops /dev/zero. */
#define CONFIG_FILE_MAX (16u << 20)

const char *config_quote(struct quote *q, const char *s)
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

const char *config_type_name(int type)
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

void __attribute__((format(printf, 3, 4)))
config_error_at(struct loader *l, const config_setting_t *s, const char *fmt, ...)
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

char *loader_strdup(struct loader *l, const char *s)
{
	char *d = strdup(s);

	if (!d)
		l->oom = true;
	return d;
}

void *loader_calloc(struct loader *l, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		l->oom = true;
	return p;
}

/* The string value of s, or NULL (and a message) when s is of another type. */
const char *setting_string(struct loader *l, const config_setting_t *s, const char *path)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_error_at(l, s, "%s: must be a string, not %s", path, config_type_name(config_setting_type(s)));
		return NULL;
	}
	v = config_setting_get_string(s);
	if (!v)
		config_error_at(l, s, "%s: must be a string", path);
	return v;
}

const char *setting_list_string(struct loader *l, const config_setting_t *s, const char *path, int i,
	const config_setting_t **e, char *epath, size_t epath_size)
{
	*e = config_setting_get_elem(s, (unsigned)i);
	snprintf(epath, epath_size, "%s[%d]", path, i);
	return setting_string(l, *e, epath);
}

bool setting_is_group(struct loader *l, const config_setting_t *s, const char *path, const char *example)
{
	if (config_setting_type(s) == CONFIG_TYPE_GROUP)
		return true;
	config_error_at(
		l, s, "%s: must be a group %s, not %s", path, example, config_type_name(config_setting_type(s)));
	return false;
}

/* Array or list: the number of elements, or -1 (and a message) for another type. */
int setting_list_length(struct loader *l, const config_setting_t *s, const char *path, const char *example)
{
	int type = config_setting_type(s);

	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
		config_error_at(l, s, "%s: must be a list such as %s, not %s", path, example, config_type_name(type));
		return -1;
	}
	return config_setting_length(s);
}

void config_unknown_setting(struct loader *l, const config_setting_t *s, const char *where, const char *known)
{
	const char *name = config_setting_name(s);

	if (where)
		config_error_at(l, s, "%s: unknown setting '%s' (known: %s)", where, name ? name : "?", known);
	else
		config_error_at(l, s, "unknown setting '%s' (known: %s)", name ? name : "?", known);
}

bool config_printable(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

bool setting_bool(struct loader *l, const config_setting_t *s, const char *path, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		config_error_at(
			l, s, "%s: must be true or false, not %s", path, config_type_name(config_setting_type(s)));
		return false;
	}
	*out = config_setting_get_bool(s) != 0;
	return true;
}

/* An integer setting in [min, max], or false (and a message). */
bool setting_int_range(
	struct loader *l, const config_setting_t *s, const char *path, long long min, long long max, long long *out)
{
	int type = config_setting_type(s);
	long long v;

	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
		config_error_at(l, s, "%s: must be an integer, not %s", path, config_type_name(type));
		return false;
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		config_error_at(l, s, "%s: %lld is out of range (%lld to %lld)", path, v, min, max);
		return false;
	}
	*out = v;
	return true;
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

		for (; ascii_is_digit(*s); s++) {
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

static void parse_root(struct loader *l, const config_setting_t *root)
{
	/* Checked first so that messages come in the order of the file. */
	if (!config_setting_get_member(root, "farms"))
		config_error_at(l, NULL, "missing 'farms': at least one farm is required");
	if (!config_setting_get_member(root, "reports"))
		config_error_at(l, NULL, "missing 'reports': at least one report is required");
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
		} else if (name && strcmp(name, "inventory") == 0) {
			parse_inventory(l, s);
		} else if (name && strcmp(name, "activity") == 0) {
			parse_activity(l, s);
		} else if (name && strcmp(name, "identity_store") == 0) {
			parse_identity_store(l, s);
		} else {
			config_unknown_setting(
				l, s, NULL, "web, aws, farms, reports, inventory, activity, identity_store");
		}
	}
	/* What spans sections: the whole file is read now. */
	if (!l->oom)
		check_reports(l, root);
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
		free(f->region);
		free(f->role_arn);
		free(f->external_id);
	}
	free(cfg->farms);
	for (size_t i = 0; i < cfg->n_reports; i++) {
		free(cfg->reports[i].name);
		free(cfg->reports[i].window_text);
		free(cfg->reports[i].interval_text);
		for (size_t j = 0; j < cfg->reports[i].n_labels; j++)
			relabel_rule_deinit(&cfg->reports[i].labels[j]);
		free(cfg->reports[i].labels);
	}
	free(cfg->reports);
	free(cfg->inventory.interval_text);
	free(cfg->activity.interval_text);
	free(cfg->identity_store.id);
	free(cfg->identity_store.region);
	free(cfg->identity_store.endpoint_url);
	free(cfg->identity_store.role_arn);
	free(cfg->identity_store.external_id);
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
	inventory_config_defaults(l, &l->cfg->inventory);
	activity_config_defaults(l, &l->cfg->activity);
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

int config_load(struct config **out, const char *path, char *err, size_t errlen)
{
	char *text = NULL, *rewritten = NULL, *dir = NULL;
	struct loader l;
	const char *nul;
	size_t len = 0;
	int r;

	loader_init(&l, path ? path : "(null)", err, errlen);
	if (!out || !path) {
		error_file(&l, l.name, "%s", strerror(EINVAL));
		return -EINVAL;
	}
	*out = NULL;
	r = file_read(path, CONFIG_FILE_MAX, &text, &len);
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
