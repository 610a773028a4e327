/* test-readable: what the systemd unit's dynamic user could read, on a real tree of files and folders */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/readable.h"
#include "test.h"
#include "util/array.h"

static char base[PATH_MAX];

/* base/name, in a static buffer of its own per call site (at most 4 live at once). */
static const char *at(const char *name)
{
	static char bufs[4][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 4];
	int n = snprintf(b, PATH_MAX, "%s/%s", base, name);

	CHECK(n > 0 && n < PATH_MAX);
	return b;
}

static void make_dir(const char *name, mode_t mode)
{
	CHECK_MSG(mkdir(at(name), mode) == 0, "mkdir %s: %s", name, strerror(errno));
	/* The umask must not decide the test. */
	CHECK(chmod(at(name), mode) == 0);
}

static void make_file(const char *name, mode_t mode)
{
	int fd = open(at(name), O_WRONLY | O_CREAT | O_EXCL, mode);

	CHECK_MSG(fd >= 0, "create %s: %s", name, strerror(errno));
	if (fd >= 0)
		CHECK(close(fd) == 0);
	CHECK(chmod(at(name), mode) == 0);
}

static void make_link(const char *name, const char *target)
{
	CHECK_MSG(symlink(at(target), at(name)) == 0, "symlink %s: %s", name, strerror(errno));
}

/* A tree in /tmp: the walk reads modes with stat(), so it works the same for root and for another user. */
static void tree_make(void)
{
	snprintf(base, sizeof(base), "/tmp/test-readable-XXXXXX");
	CHECK(mkdtemp(base) != NULL);
	CHECK(chmod(base, 0755) == 0); /* mkdtemp makes it 0700 */
	make_dir("open", 0755);
	make_file("open/conf", 0644);
	make_file("open/secret", 0600);
	make_file("open/group-only", 0640);
	make_dir("closed", 0700); /* the layout of the issue: a 0700 folder for credentials and configuration */
	make_file("closed/conf", 0644);
	make_dir("search-only", 0711);
	make_file("search-only/conf", 0644);
	make_dir("read-no-search", 0744);
	make_file("read-no-search/conf", 0644);
	make_link("open/link-into-closed", "closed/conf");
	make_link("closed/link-out", "open/conf");
	make_link("open/link-to-open", "open/conf");
	CHECK(symlink("/root", at("open/link-to-root")) == 0);
	CHECK(symlink("/etc/passwd", at("open/link-to-etc")) == 0);
}

static void tree_remove(void)
{
	static const char *const files[] = {"open/conf", "open/secret", "open/group-only", "closed/conf",
		"search-only/conf", "read-no-search/conf", "open/link-into-closed", "closed/link-out",
		"open/link-to-open", "open/link-to-root", "open/link-to-etc"};
	static const char *const dirs[] = {"open", "closed", "search-only", "read-no-search"};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		CHECK(unlink(at(files[i])) == 0);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		CHECK(rmdir(at(dirs[i])) == 0);
	CHECK(rmdir(base) == 0);
}

static void test_by_others(void)
{
	static const struct {
		const char *name;
		int want;
		const char *why; /* a part of the reason, relative to base ("" for none) */
	} cases[] = {
		{"open/conf", READABLE_YES, ""},
		{"open/secret", READABLE_NO_READ, "open/secret is mode 0600: others cannot read it"},
		{"open/group-only", READABLE_NO_READ, "open/group-only is mode 0640"},
		{"closed/conf", READABLE_NO_SEARCH, "closed is mode 0700: others cannot search it"},
		{"search-only/conf", READABLE_YES, ""},
		{"read-no-search/conf", READABLE_NO_SEARCH, "read-no-search is mode 0744"},
		/* Where a link leads counts: the file behind it is in the closed folder. */
		{"open/link-into-closed", READABLE_NO_SEARCH, "closed is mode 0700"},
		/* And so does the folder the link itself is in, though it leads to an open file. */
		{"closed/link-out", READABLE_NO_SEARCH, "closed is mode 0700"},
		{"open/link-to-open", READABLE_YES, ""},
		{"open/../open/conf", READABLE_YES, ""},
	};
	char why[PATH_MAX + 160];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = readable_by_others(at(cases[i].name), why, sizeof(why));

		CHECK_MSG(r == cases[i].want, "%s: got %d, expected %d (%s)", cases[i].name, r, cases[i].want, why);
		if (cases[i].want == READABLE_YES)
			CHECK_STR(why, "");
		else
			CHECK_MSG(strstr(why, cases[i].why) && strstr(why, base), "%s: reason \"%s\"", cases[i].name,
				why);
	}
	CHECK_INT(readable_by_others(at("open/missing"), why, sizeof(why)), -ENOENT);
	CHECK_INT(readable_by_others(NULL, why, sizeof(why)), -EINVAL);
	CHECK_INT(readable_by_others("x", why, 0), -EINVAL);
}

/* A relative path is taken from the working directory, as the exporter opens it. */
static void test_relative(void)
{
	char cwd[PATH_MAX], why[PATH_MAX + 160];

	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK(chdir(at("open")) == 0);
	CHECK_INT(readable_by_others("conf", why, sizeof(why)), READABLE_YES);
	CHECK_INT(readable_by_others("secret", why, sizeof(why)), READABLE_NO_READ);
	CHECK(chdir(at("closed")) == 0);
	CHECK_INT(readable_by_others("conf", why, sizeof(why)), READABLE_NO_SEARCH);
	CHECK(chdir(cwd) == 0);
}

static void test_sandbox(void)
{
	static const struct {
		const char *path;
		bool hidden;
		const char *why;
	} cases[] = {
		{"/home/render/.aws/config", true, "ProtectHome=yes"},
		{"/home", true, "ProtectHome=yes"},
		{"/root/farm.conf", true, "ProtectHome=yes"},
		{"/run/user/1000/ca.pem", true, "ProtectHome=yes"},
		{"/tmp/farm.conf", true, "PrivateTmp=yes"},
		{"/var/tmp/farm.conf", true, "PrivateTmp=yes"},
		{"/homer/farm.conf", false, NULL},
		{"/run/users/ca.pem", false, NULL},
		{"/etc/deadline-cloud-exporter.conf", false, NULL},
		{"/var/lib/tmp/x", false, NULL},
		{"/", false, NULL},
	};
	char why[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		why[0] = '\0';
		CHECK_MSG(readable_hidden_by_sandbox(cases[i].path, why, sizeof(why)) == cases[i].hidden, "%s",
			cases[i].path);
		if (cases[i].why)
			CHECK_MSG(strstr(why, cases[i].why), "%s: \"%s\"", cases[i].path, why);
	}
}

static void test_handed_over(void)
{
	CHECK(readable_handed_over("/run/credentials/deadline-cloud-exporter.service/tls-key", NULL));
	CHECK(readable_handed_over("/run/credentials/deadline-cloud-exporter@a.service/tls-key", "/elsewhere"));
	CHECK(readable_handed_over("/var/lib/creds/tls-key", "/var/lib/creds"));
	CHECK(readable_handed_over("/var/lib/creds/tls-key", "/var/lib/creds/"));
	CHECK(!readable_handed_over("/var/lib/credsx/tls-key", "/var/lib/creds"));
	CHECK(!readable_handed_over("/run/credentialsx/tls-key", NULL));
	CHECK(!readable_handed_over("/etc/deadline-cloud-exporter/tls.key", NULL));
	/* An environment variable that is not an absolute path names nothing. */
	CHECK(!readable_handed_over("creds/tls-key", "creds"));
	CHECK(!readable_handed_over(NULL, NULL));
}

/* What --check-config prints, for a configuration naming each kind of file. */
static void test_config_warn(void)
{
	char *text = NULL;
	size_t len = 0, n;
	FILE *out;
	struct config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.path = (char *)"/etc/passwd"; /* Debian's: mode 0644 in /etc, readable by all */
	cfg.ca_file = (char *)at("open/secret");
	cfg.web.tls_cert_file = (char *)"/etc/passwd";
	cfg.web.tls_key_file = (char *)"/run/credentials/deadline-cloud-exporter.service/tls-key";

	/* Another user than root: its own check already said what it cannot read. */
	out = open_memstream(&text, &len);
	CHECK(out != NULL);
	CHECK_INT(readable_config_warn(&cfg, 1000, NULL, out), 0);
	CHECK(fclose(out) == 0);
	CHECK_INT(len, 0);
	free(text);

	out = open_memstream(&text, &len);
	n = readable_config_warn(&cfg, 0, NULL, out);
	CHECK(fclose(out) == 0);
	/* The CA bundle in /tmp: hidden by PrivateTmp before its mode matters. The key is systemd's to hand over. */
	CHECK_INT(n, 1);
	CHECK_MSG(text && strstr(text, "/etc/passwd: warning: aws.ca_file ") && strstr(text, "PrivateTmp=yes") &&
			  !strstr(text, "tls_key_file") && !strstr(text, "tls_cert_file"),
		"%s", text ? text : "(null)");
	free(text);

	/* A key that systemd does not hand over, readable by root alone: the cure is LoadCredential=, not chmod. */
	cfg.ca_file = NULL;
	cfg.web.tls_key_file = (char *)at("open/secret");
	out = open_memstream(&text, &len);
	n = readable_config_warn(&cfg, 0, "/run/credentials/other.service", out);
	CHECK(fclose(out) == 0);
	CHECK_INT(n, 1);
	CHECK_MSG(
		text && strstr(text, "web.tls_key_file ") && strstr(text, "LoadCredential=") && !strstr(text, "chmod"),
		"%s", text ? text : "(null)");
	free(text);

	/* A link to a folder the sandbox hides: where it leads is what the service would miss. */
	cfg.ca_file = (char *)at("open/link-to-root");
	cfg.web.tls_key_file = NULL;
	out = open_memstream(&text, &len);
	CHECK_INT(readable_config_warn(&cfg, 0, NULL, out), 1);
	CHECK(fclose(out) == 0);
	CHECK_MSG(text && strstr(text, "/root is under /root: ProtectHome=yes"), "%s", text ? text : "(null)");
	free(text);

	/* A link in /tmp to a readable file: the service's own /tmp has no such link. */
	cfg.ca_file = (char *)at("open/link-to-etc");
	out = open_memstream(&text, &len);
	CHECK_INT(readable_config_warn(&cfg, 0, NULL, out), 1);
	CHECK(fclose(out) == 0);
	CHECK_MSG(text && strstr(text, "link-to-etc is under /tmp: PrivateTmp=yes"), "%s", text ? text : "(null)");
	free(text);
	cfg.ca_file = NULL;

	/* Under the service's own $CREDENTIALS_DIRECTORY: left out. */
	cfg.web.tls_key_file = (char *)"/var/lib/creds/tls-key";
	out = open_memstream(&text, &len);
	CHECK_INT(readable_config_warn(&cfg, 0, "/var/lib/creds", out), 0);
	CHECK(fclose(out) == 0);
	free(text);

	/* The configuration file itself (in /tmp, PrivateTmp hides it before its folder's mode counts). */
	cfg.path = (char *)at("closed/conf");
	cfg.web.tls_cert_file = cfg.web.tls_key_file = NULL;
	out = open_memstream(&text, &len);
	CHECK_INT(readable_config_warn(&cfg, 0, NULL, out), 1);
	CHECK(fclose(out) == 0);
	CHECK_MSG(text && strstr(text, "warning: the systemd unit's dynamic user could not read this file: "), "%s",
		text ? text : "(null)");
	free(text);
}

int main(void)
{
	tree_make();
	test_by_others();
	test_relative();
	test_sandbox();
	test_handed_over();
	test_config_warn();
	tree_remove();
	TEST_DONE();
}
