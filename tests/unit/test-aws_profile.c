/* test-aws_profile: the shared config/credentials files: sections, precedence, comments, nesting, paths */
#include "aws/aws_profile.h"
#include "test.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static void env_put(const char *name, const char *value)
{
	int r = value ? setenv(name, value, 1) : unsetenv(name);

	CHECK_INT(r, 0);
}

struct parse_case {
	const char *profile;
	bool config_format;
	const char *text;
	bool found;
	const char *key;
	const char *value; /* NULL: absent */
};

static const struct parse_case parse_cases[] = {
	{"default", true, "[default]\nregion = us-west-2\n", true, "region", "us-west-2"},
	{"default", true, "[profile default]\nregion=eu-west-1\n", true, "region", "eu-west-1"},
	{"ops", true, "[profile ops]\nregion = eu-west-1\n", true, "region", "eu-west-1"},
	{"ops", true, "[profile   ops  ]\r\nregion\t=\teu-west-1 \r\n", true, "region", "eu-west-1"},
	/* In the config file a non-default profile needs the prefix; in the credentials file it must not have it. */
	{"ops", true, "[ops]\nregion = eu-west-1\n", false, "region", NULL},
	{"ops", false, "[ops]\naws_access_key_id = AKID\n", true, "aws_access_key_id", "AKID"},
	{"ops", false, "[profile ops]\naws_access_key_id = AKID\n", false, "aws_access_key_id", NULL},
	/* Keys are case-insensitive; later lines win; comments and other sections are skipped. */
	{"default", false, "# c\n; c\n[default]\nAWS_Access_Key_ID = A\naws_access_key_id = B\n", true,
		"aws_access_key_id", "B"},
	{"default", false, "[other]\nk = 1\n[default]\nj = 2\n", true, "k", NULL},
	{"default", false, "[default]\nk = 1\n[other]\nk = 2\n", true, "k", "1"},
	/* Nested settings (indented) belong to the key above them, not to the profile. */
	{"default", true, "[default]\ns3 =\n  region = nested\nregion = top\n", true, "region", "top"},
	{"default", true, "[default]\ns3 =\n  max_concurrent_requests = 2\n", true, "max_concurrent_requests", NULL},
	/* Empty values read as unset; values keep inner spaces and '='. */
	{"default", true, "[default]\nregion =\n", true, "region", NULL},
	{"default", true, "[default]\ncredential_process = /bin/x --a=b \"c d\"\n", true, "credential_process",
		"/bin/x --a=b \"c d\""},
	{"default", true, "[default\nregion = x\n", false, "region", NULL},
	{"default", true, "", false, "region", NULL},
};

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct aws_profile *p = NULL;

		CHECK_INT(aws_profile_new(&p, c->profile), 0);
		if (!p)
			continue;
		CHECK_INT(aws_profile_parse(p, c->text, c->config_format), 0);
		CHECK_MSG(aws_profile_found(p) == c->found, "parse case %zu", i);
		if (c->value)
			CHECK_STR(aws_profile_get(p, c->key), c->value);
		else
			CHECK_MSG(aws_profile_get(p, c->key) == NULL, "parse case %zu: %s is set", i, c->key);
		aws_profile_free(p);
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fputs(text, f) >= 0);
	CHECK_INT(fclose(f), 0);
}

static void test_load(void)
{
	char dir[] = "/tmp/test-aws_profile-XXXXXX", config[128], credentials[128], why[256] = "";
	struct aws_profile *p = NULL;
	char *path = NULL;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(config, sizeof(config), "%s/config", dir);
	snprintf(credentials, sizeof(credentials), "%s/credentials", dir);
	write_file(config, "[profile ops]\nregion = eu-west-1\naws_access_key_id = FROMCONFIG\n");
	write_file(credentials, "[ops]\naws_access_key_id = FROMCREDENTIALS\naws_secret_access_key = s\n");

	/* The credentials file wins over the config file for the same key. */
	env_put("AWS_CONFIG_FILE", config);
	env_put("AWS_SHARED_CREDENTIALS_FILE", credentials);
	CHECK_INT(aws_profile_load(&p, "ops", NULL, NULL, why, sizeof(why)), 0);
	CHECK(aws_profile_found(p));
	CHECK_STR(aws_profile_get(p, "aws_access_key_id"), "FROMCREDENTIALS");
	CHECK_STR(aws_profile_get(p, "region"), "eu-west-1");
	CHECK(strstr(aws_profile_where(p), config) != NULL);
	aws_profile_free(p);

	/* Missing files are no error, the profile is just not found. */
	CHECK_INT(aws_profile_load(&p, "ops", "/nonexistent/a", "/nonexistent/b", why, sizeof(why)), 0);
	CHECK(!aws_profile_found(p));
	aws_profile_free(p);

	/* One file in credentials format (systemd's aws-credentials). */
	CHECK_INT(aws_profile_load_credentials_file(&p, "ops", credentials, why, sizeof(why)), 0);
	CHECK_STR(aws_profile_get(p, "aws_secret_access_key"), "s");
	aws_profile_free(p);

	/* A directory where a file should be: unreadable, said with its path. */
	CHECK(aws_profile_load(&p, "ops", dir, "/nonexistent/b", why, sizeof(why)) < 0);
	CHECK(strstr(why, dir) != NULL);

	/* Paths: the variable, "~/" expanded, else under $HOME. */
	env_put("HOME", "/home/h");
	env_put("AWS_CONFIG_FILE", "~/c");
	CHECK_INT(aws_profile_path("AWS_CONFIG_FILE", ".aws/config", &path), 0);
	CHECK_STR(path, "/home/h/c");
	free(path);
	env_put("AWS_CONFIG_FILE", NULL);
	CHECK_INT(aws_profile_path("AWS_CONFIG_FILE", ".aws/config", &path), 0);
	CHECK_STR(path, "/home/h/.aws/config");
	free(path);

	/* The profile's name: configured, AWS_PROFILE, "default". */
	env_put("AWS_PROFILE", "envp");
	CHECK_STR(aws_profile_default_name("conf"), "conf");
	CHECK_STR(aws_profile_default_name(""), "envp");
	env_put("AWS_PROFILE", NULL);
	CHECK_STR(aws_profile_default_name(NULL), "default");
	CHECK(aws_profile_bool("TRUE"));
	CHECK(!aws_profile_bool("1"));
	CHECK(!aws_profile_bool(NULL));

	unlink(config);
	unlink(credentials);
	rmdir(dir);
}

int main(void)
{
	test_parse();
	test_load();
	TEST_DONE();
}
