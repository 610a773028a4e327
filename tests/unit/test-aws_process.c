/* test-aws_process: credential_process: argv splitting like the AWS CLI, running, timeouts, output checks */
#include "aws/credentials/aws_credentials.h"
#include "aws/credentials/aws_process.h"
#include "test.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct split_case {
	const char *command;
	int rc;
	const char *words[5]; /* expected, NULL-terminated */
};

static const struct split_case split_cases[] = {
	{"/bin/echo a b", 0, {"/bin/echo", "a", "b", NULL}},
	{"  tool\t--x   y  ", 0, {"tool", "--x", "y", NULL}},
	{"tool 'a b' \"c d\"", 0, {"tool", "a b", "c d", NULL}},
	{"tool \"a \\\"q\\\" \\\\ \\n\"", 0, {"tool", "a \"q\" \\ \\n", NULL}},
	{"tool 'single \\ kept'", 0, {"tool", "single \\ kept", NULL}},
	{"tool a\\ b", 0, {"tool", "a b", NULL}},
	{"tool x'y'\"z\"", 0, {"tool", "xyz", NULL}},
	{"tool ''", 0, {"tool", "", NULL}},
	{"tool --profile=a;b|c", 0, {"tool", "--profile=a;b|c", NULL}},
	{"tool 'unterminated", -EINVAL, {NULL}},
	{"tool \"unterminated", -EINVAL, {NULL}},
	{"tool \\", -EINVAL, {NULL}},
	{"   ", -EINVAL, {NULL}},
};

static void test_split(void)
{
	for (size_t i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
		const struct split_case *c = &split_cases[i];
		char **argv = NULL;
		size_t argc = 0, n = 0;
		int r = aws_process_split(c->command, &argv, &argc);

		CHECK_MSG(r == c->rc, "split case %zu: got %d", i, r);
		if (r < 0) {
			CHECK(argv == NULL);
			continue;
		}
		while (c->words[n])
			n++;
		CHECK_MSG(argc == n, "split case %zu: %zu words, expected %zu", i, argc, n);
		for (size_t w = 0; w < n && w < argc; w++)
			CHECK_STR(argv[w], c->words[w]);
		CHECK(argv[argc] == NULL);
		aws_process_argv_free(argv);
	}
}

static char dir[] = "/tmp/test-aws_process-XXXXXX";

/* Writes an executable shell script; returns its path (static buffer per slot). */
static const char *script(int slot, const char *body)
{
	static char paths[8][128];
	FILE *f;

	snprintf(paths[slot], sizeof(paths[slot]), "%s/s%d", dir, slot);
	f = fopen(paths[slot], "w");
	CHECK(f != NULL);
	if (f) {
		fprintf(f, "#!/bin/sh\n%s\n", body);
		CHECK_INT(fclose(f), 0);
	}
	CHECK_INT(chmod(paths[slot], 0700), 0);
	return paths[slot];
}

static void test_run(void)
{
	struct aws_credentials *c = NULL;
	char cmd[512], why[256];
	const char *s;
	struct timespec t0, t1;

	CHECK(mkdtemp(dir) != NULL);

	/* Arguments arrive as split, stderr goes nowhere, Expiration is read. */
	s = script(0, "echo noise >&2\n"
		      "printf '{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"sk\", "
		      "\"SessionToken\": \"tok\", \"Expiration\": \"2030-01-02T03:04:05Z\"}' \"$1\"");
	snprintf(cmd, sizeof(cmd), "%s 'AKID WITH SPACE'", s);
	CHECK_INT(aws_process_credentials(cmd, 5000, &c, why, sizeof(why)), 0);
	if (c) {
		CHECK_STR(c->access_key_id, "AKID WITH SPACE");
		CHECK_STR(c->secret_access_key, "sk");
		CHECK_STR(c->session_token, "tok");
		CHECK_INT(c->expiration, 1893553445);
		aws_credentials_unref(c);
	}

	/* Long-term keys: no token, no expiration. */
	s = script(1, "echo '{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}'");
	CHECK_INT(aws_process_credentials(s, 5000, &c, why, sizeof(why)), 0);
	if (c) {
		CHECK(c->session_token == NULL);
		CHECK_INT(c->expiration, 0);
		aws_credentials_unref(c);
	}

	/* Failures: exit status, Version, missing keys, not JSON, no program. The output is never quoted. */
	s = script(2, "echo '{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"SECRETXYZ\"}'; exit 3");
	CHECK_INT(aws_process_credentials(s, 5000, &c, why, sizeof(why)), -EIO);
	CHECK(strstr(why, "status 3") != NULL);
	CHECK(strstr(why, "SECRETXYZ") == NULL);
	s = script(3, "echo '{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"SECRETXYZ\"}'");
	CHECK_INT(aws_process_credentials(s, 5000, &c, why, sizeof(why)), -EIO);
	CHECK(strstr(why, "Version") != NULL);
	s = script(4, "echo '{\"Version\":1,\"AccessKeyId\":\"A\"}'");
	CHECK_INT(aws_process_credentials(s, 5000, &c, why, sizeof(why)), -EIO);
	s = script(5, "echo 'SECRETXYZ not json'");
	CHECK_INT(aws_process_credentials(s, 5000, &c, why, sizeof(why)), -EIO);
	CHECK(strstr(why, "SECRETXYZ") == NULL);
	CHECK_INT(aws_process_credentials("/nonexistent/program --x", 5000, &c, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "/nonexistent/program") != NULL);
	CHECK_INT(aws_process_credentials("prog 'open", 5000, &c, why, sizeof(why)), -EINVAL);

	/* A program that hangs is killed at the deadline. */
	s = script(6, "exec sleep 30");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(aws_process_credentials(s, 300, &c, why, sizeof(why)), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec < 5);
	CHECK(c == NULL);

	for (int i = 0; i < 7; i++) {
		char p[160];

		snprintf(p, sizeof(p), "%s/s%d", dir, i);
		unlink(p);
	}
	rmdir(dir);
}

int main(void)
{
	test_split();
	test_run();
	TEST_DONE();
}
