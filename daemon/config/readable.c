/* readable: whether the systemd unit's dynamic user could read the files a configuration names (--check-config) */
#include "config/readable.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/array.h"

/* Folders the unit's sandbox hides, whatever their mode: what the service sees there is not the host's. */
static const struct {
	const char *dir;
	const char *why;
} sandboxed[] = {
	{"/home", "ProtectHome=yes hides /home, /root and /run/user from the service"},
	{"/root", "ProtectHome=yes hides /home, /root and /run/user from the service"},
	{"/run/user", "ProtectHome=yes hides /home, /root and /run/user from the service"},
	{"/tmp", "PrivateTmp=yes gives the service a /tmp of its own"},
	{"/var/tmp", "PrivateTmp=yes gives the service a /var/tmp of its own"},
};

/* Whether path is dir or lies under it ("/home" covers "/home/a", not "/homer"). */
static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* path made absolute against the working directory, into out. Returns 0, -ENAMETOOLONG or getcwd()'s -errno. */
static int path_absolute(const char *path, char *out, size_t outlen)
{
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/') {
		n = snprintf(out, outlen, "%s", path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		n = snprintf(out, outlen, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path);
	}
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/*
 * Every folder above the absolute path abs (its last component excluded) must let others search it, as the
 * kernel asks of each folder a lookup passes through. Returns READABLE_YES, READABLE_NO_SEARCH with why, or
 * -errno.
 */
static int folders_searchable(const char *abs, char *why, size_t whylen)
{
	char prefix[PATH_MAX];
	const char *last = strrchr(abs, '/');
	size_t end = 0;
	struct stat st;

	if (!last || (size_t)(last - abs) >= sizeof(prefix))
		return -ENAMETOOLONG;
	/* "/" first, then each longer prefix ending before a '/': "/etc", "/etc/x" … up to the last folder. */
	for (;;) {
		size_t len = end == 0 ? 1 : end;

		memcpy(prefix, abs, len);
		prefix[len] = '\0';
		if (stat(prefix, &st) != 0)
			return -errno;
		if (S_ISDIR(st.st_mode) && !(st.st_mode & S_IXOTH)) {
			snprintf(why, whylen, "%s is mode %04o: others cannot search it", prefix,
				(unsigned)(st.st_mode & 07777));
			return READABLE_NO_SEARCH;
		}
		if (abs + end == last)
			return READABLE_YES;
		end++;
		while (abs + end < last && abs[end] != '/')
			end++;
	}
}

int readable_by_others(const char *path, char *why, size_t whylen)
{
	char abs[PATH_MAX];
	char *real = NULL;
	struct stat st;
	int r;

	if (!path || !why || !whylen)
		return -EINVAL;
	why[0] = '\0';
	r = path_absolute(path, abs, sizeof(abs));
	if (r < 0)
		return r;
	/* As written: a symbolic link's own folders are searched before it is followed. */
	r = folders_searchable(abs, why, whylen);
	if (r != READABLE_YES)
		return r;
	real = realpath(abs, NULL);
	if (!real)
		return -errno;
	r = folders_searchable(real, why, whylen);
	if (r != READABLE_YES)
		goto out;
	if (stat(real, &st) != 0) {
		r = -errno;
		goto out;
	}
	if (!(st.st_mode & S_IROTH)) {
		snprintf(why, whylen, "%s is mode %04o: others cannot read it", real, (unsigned)(st.st_mode & 07777));
		r = READABLE_NO_READ;
	}
out:
	free(real);
	return r;
}

bool readable_hidden_by_sandbox(const char *path, char *why, size_t whylen)
{
	for (size_t i = 0; i < ARRAY_SIZE(sandboxed); i++) {
		if (path && path_under(path, sandboxed[i].dir)) {
			if (why && whylen)
				snprintf(why, whylen, "%s is under %s: %s", path, sandboxed[i].dir, sandboxed[i].why);
			return true;
		}
	}
	return false;
}

bool readable_handed_over(const char *path, const char *credentials_dir)
{
	if (!path)
		return false;
	if (credentials_dir && credentials_dir[0] == '/' && path_under(path, credentials_dir))
		return true;
	return path_under(path, READABLE_CREDENTIALS_ROOT);
}

/* What to do about a file the dynamic user cannot read, by what stops it. */
static const char *remedy(int r, bool secret)
{
	if (secret)
		return "keep it private and hand it over with LoadCredential=, naming it "
		       "under " READABLE_CREDENTIALS_ROOT "/UNIT/ (docs/credentials.md)";
	if (r == READABLE_NO_SEARCH)
		return "let others search that folder (chmod o+x), or move the file";
	if (r == READABLE_NO_READ)
		return "it holds no secret: make it readable by all (chmod 0644)";
	return "move it where the service sees it (/etc)";
}

/* One file the configuration names: a warning on out when the dynamic user could not read it. */
static size_t warn_file(const struct config *cfg, const char *setting, const char *path, const char *credentials_dir,
	bool secret, FILE *out)
{
	char abs[PATH_MAX], real[PATH_MAX], why[PATH_MAX + 160];
	int r;

	if (!path || readable_handed_over(path, credentials_dir))
		return 0;
	r = path_absolute(path, abs, sizeof(abs));
	if (r == 0) {
		/* Hidden where its links lead (a link in /etc to a file under /home is hidden too), or as written. */
		if ((realpath(abs, real) && readable_hidden_by_sandbox(real, why, sizeof(why))) ||
			readable_hidden_by_sandbox(abs, why, sizeof(why)))
			r = READABLE_HIDDEN;
		else
			r = readable_by_others(abs, why, sizeof(why));
	}
	if (r == READABLE_YES)
		return 0;
	if (r < 0)
		snprintf(why, sizeof(why), "%s", strerror(-r));
	if (setting)
		fprintf(out, "%s: warning: %s %s: the systemd unit's dynamic user could not read it: %s; %s\n",
			cfg->path, setting, path, why, remedy(r, secret));
	else
		fprintf(out, "%s: warning: the systemd unit's dynamic user could not read this file: %s; %s\n",
			cfg->path, why, remedy(r, secret));
	return 1;
}

size_t readable_config_warn(const struct config *cfg, uid_t euid, const char *credentials_dir, FILE *out)
{
	size_t n = 0;

	if (euid != 0 || !cfg || !out)
		return 0;
	n += warn_file(cfg, NULL, cfg->path, credentials_dir, false, out);
	n += warn_file(cfg, "aws.ca_file", cfg->ca_file, credentials_dir, false, out);
	n += warn_file(cfg, "web.tls_cert_file", cfg->web.tls_cert_file, credentials_dir, false, out);
	/* A key must stay private: readable by all is not the cure, systemd's credentials are. */
	n += warn_file(cfg, "web.tls_key_file", cfg->web.tls_key_file, credentials_dir, true, out);
	return n;
}
