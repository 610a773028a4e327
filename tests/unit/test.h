/* test: a tiny assertion harness for the unit tests (prints file:line, counts failures) */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int test_failures;
static int test_checks;

#define CHECK(cond) \
	do { \
		test_checks++; \
		if (!(cond)) { \
			test_failures++; \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		} \
	} while (0)

#define CHECK_MSG(cond, ...) \
	do { \
		test_checks++; \
		if (!(cond)) { \
			test_failures++; \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
		} \
	} while (0)

#define CHECK_STR(a, b) \
	do { \
		const char *check_a_ = (a), *check_b_ = (b); \
		test_checks++; \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) { \
			test_failures++; \
			fprintf(stderr, "%s:%d: %s == %s failed:\n  got:      \"%s\"\n  expected: \"%s\"\n", __FILE__, \
				__LINE__, #a, #b, check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)"); \
		} \
	} while (0)

#define CHECK_INT(a, b) \
	do { \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
		test_checks++; \
		if (check_a_ != check_b_) { \
			test_failures++; \
			fprintf(stderr, "%s:%d: %s == %s failed: got %lld, expected %lld\n", __FILE__, __LINE__, #a, \
				#b, check_a_, check_b_); \
		} \
	} while (0)

/* Ends main(): prints a summary, exit status 1 on any failure (and when nothing was checked). */
#define TEST_DONE() \
	do { \
		fprintf(stderr, "%d checks, %d failed\n", test_checks, test_failures); \
		return (test_failures || !test_checks) ? 1 : 0; \
	} while (0)

/* stderr sent to a temporary file, then read back: for tests of what is logged. */
struct test_capture {
	char path[32];
	int saved;
};

static inline void test_capture_begin(struct test_capture *c)
{
	int fd;

	strcpy(c->path, "/tmp/test-capture-XXXXXX");
	fd = mkstemp(c->path);
	CHECK(fd >= 0);
	fflush(stderr);
	c->saved = dup(STDERR_FILENO);
	CHECK(c->saved >= 0);
	CHECK(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
	CHECK(close(fd) == 0);
}

/* Restores stderr and reads what was written into out (NUL-terminated, cut at size - 1 bytes). */
static inline void test_capture_end(struct test_capture *c, char *out, size_t size)
{
	FILE *f;
	size_t n;

	fflush(stderr);
	CHECK(dup2(c->saved, STDERR_FILENO) == STDERR_FILENO);
	CHECK(close(c->saved) == 0);
	f = fopen(c->path, "r");
	CHECK(f != NULL);
	if (!f) {
		out[0] = '\0';
		return;
	}
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	CHECK(fclose(f) == 0);
	CHECK(unlink(c->path) == 0);
}
