/* test-file: small files read whole and bounded (the secret variant wipes every copy it lets go of), or replaced whole
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "util/file.h"

/* Counts what util/buf.c zeroes: this definition takes the place of libc's for the whole test program. */
static size_t wiped_bytes;

void explicit_bzero(void *p, size_t n)
{
	volatile unsigned char *v = p;

	for (size_t i = 0; i < n; i++)
		v[i] = 0;
	wiped_bytes += n;
}

static char dir[] = "/tmp/dce-test-file-XXXXXX";

static char *write_file(const char *name, const char *data, size_t len)
{
	char *path;
	FILE *f;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		abort();
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		CHECK(fwrite(data, 1, len, f) == len);
		fclose(f);
	}
	return path;
}

/* file_read() and file_read_secret() alike, by a flag. */
static int read_it(bool secret, const char *path, size_t max, char **out, size_t *len)
{
	return secret ? file_read_secret(path, max, out, len) : file_read(path, max, out, len);
}

static void test_read(bool secret)
{
	static const char with_nul[] = "a = 1;\n\0b = 2;\n";
	char *big = malloc(100000), *text = NULL, *path;
	size_t len = 0;

	for (size_t i = 0; i < 100000; i++)
		big[i] = (char)('a' + i % 26);

	/* Whole, NUL bytes included, NUL-terminated. */
	path = write_file("nul", with_nul, sizeof(with_nul) - 1);
	CHECK_INT(read_it(secret, path, 1024, &text, &len), 0);
	CHECK_INT(len, sizeof(with_nul) - 1);
	CHECK(text && memcmp(text, with_nul, sizeof(with_nul)) == 0);
	free(text);
	free(path);

	/* Empty: "" rather than NULL; len may be left out. */
	path = write_file("empty", "", 0);
	text = NULL;
	CHECK_INT(read_it(secret, path, 10, &text, NULL), 0);
	CHECK_STR(text, "");
	free(text);
	free(path);

	/* Many read steps; exactly max is allowed, one byte more is not. */
	path = write_file("big", big, 100000);
	CHECK_INT(read_it(secret, path, 100000, &text, &len), 0);
	CHECK_INT(len, 100000);
	CHECK(text && memcmp(text, big, 100000) == 0 && text[100000] == '\0');
	free(text);
	text = NULL;
	CHECK_INT(read_it(secret, path, 99999, &text, &len), -EFBIG);
	CHECK(text == NULL);
	CHECK_INT(read_it(secret, path, 1, &text, &len), -EFBIG);
	CHECK_INT(read_it(secret, path, SIZE_MAX, &text, &len), -EINVAL);
	free(path);

	/* What open() and read() say; *out untouched. */
	CHECK_INT(read_it(secret, "/nonexistent/file", 10, &text, &len), -ENOENT);
	CHECK_INT(read_it(secret, dir, 10, &text, &len), -EISDIR);
	CHECK(text == NULL);

	/* A /proc file: st_size says 0, the content is there. */
	CHECK_INT(read_it(secret, "/proc/self/stat", 65536, &text, &len), 0);
	CHECK(text && len > 10 && strtol(text, NULL, 10) == (long)getpid());
	free(text);
	free(big);
}

static void test_wipe(void)
{
	char *big = calloc(1, 50000), *path, *text;
	size_t before;

	memset(big, 's', 50000);
	path = write_file("secret", big, 50000);

	/* Growing to 64 KiB leaves copies behind (the last one of 32 KiB): the secret variant zeroes each. */
	before = wiped_bytes;
	CHECK_INT(file_read_secret(path, 100000, &text, NULL), 0);
	CHECK(wiped_bytes - before >= 32768);
	free(text);
	/* And what it read when it fails. */
	before = wiped_bytes;
	CHECK_INT(file_read_secret(path, 40000, &text, NULL), -EFBIG);
	CHECK(wiped_bytes - before >= 40000);
	/* The plain one does not spend the time. */
	before = wiped_bytes;
	CHECK_INT(file_read(path, 100000, &text, NULL), 0);
	CHECK_INT(wiped_bytes - before, 0);
	free(text);
	free(path);
	free(big);
}

static void test_read_into(void)
{
	char buf[8], *path = write_file("token", "0123456789", 10);

	/* Cut at size - 1: the caller reads one byte more than it allows to tell a longer file. */
	CHECK_INT(file_read_into(path, buf, sizeof(buf)), 7);
	CHECK_STR(buf, "0123456");
	CHECK_INT(file_read_into(path, buf, 1), 0);
	CHECK_STR(buf, "");
	CHECK_INT(file_read_into(path, buf, 0), -EINVAL);
	free(path);
	path = write_file("short", "ab\n", 3);
	CHECK_INT(file_read_into(path, buf, sizeof(buf)), 3);
	CHECK_STR(buf, "ab\n");
	free(path);
	memset(buf, 'x', sizeof(buf));
	CHECK_INT(file_read_into("/nonexistent/file", buf, sizeof(buf)), -ENOENT);
	CHECK_STR(buf, "");
	CHECK_INT(file_read_into(dir, buf, sizeof(buf)), -EISDIR);
	CHECK(file_read_into("/proc/self/stat", buf, sizeof(buf)) > 0);
}

struct writer {
	const char *path;
	pthread_t reader;
};

static void on_signal(int sig)
{
	(void)sig;
}

/* Opens the FIFO, interrupts the reader blocked in read(), then writes. */
static void *fifo_writer(void *arg)
{
	struct writer *w = arg;
	struct timespec pause = {0, 50 * 1000 * 1000};
	int fd = open(w->path, O_WRONLY);

	if (fd < 0)
		return NULL;
	nanosleep(&pause, NULL);
	pthread_kill(w->reader, SIGUSR1);
	nanosleep(&pause, NULL);
	if (write(fd, "late", 4) != 4)
		abort();
	close(fd);
	return NULL;
}

/* A pipe: its size is known at its end only, and a signal may interrupt a read() (no SA_RESTART here). */
static void test_fifo(void)
{
	struct sigaction sa = {.sa_handler = on_signal}, old;
	struct writer w = {.reader = pthread_self()};
	pthread_t thread;
	char *path, *text = NULL;
	size_t len = 0;

	if (asprintf(&path, "%s/fifo", dir) < 0)
		abort();
	w.path = path;
	CHECK_INT(mkfifo(path, 0600), 0);
	CHECK_INT(sigaction(SIGUSR1, &sa, &old), 0);
	CHECK_INT(pthread_create(&thread, NULL, fifo_writer, &w), 0);
	CHECK_INT(file_read(path, 100, &text, &len), 0);
	CHECK_STR(text, "late");
	CHECK_INT(len, 4);
	pthread_join(thread, NULL);
	sigaction(SIGUSR1, &old, NULL);
	free(text);
	free(path);
}

/* file_replace(): the new content whole, mode 0600, no temporary file left; a failure leaves the old file. */
static void test_replace(void)
{
	char *path = write_file("state", "old", 3), *text = NULL, *tmp = NULL, *sub = NULL;
	struct stat st;
	size_t len = 0;

	CHECK_INT(file_replace(path, "new content\n", 12), 0);
	CHECK_INT(file_read(path, 100, &text, &len), 0);
	CHECK(text && len == 12 && memcmp(text, "new content\n", 12) == 0);
	free(text);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	if (asprintf(&tmp, "%s.tmp", path) < 0)
		abort();
	CHECK(access(tmp, F_OK) < 0 && errno == ENOENT);
	/* empty content */
	CHECK_INT(file_replace(path, NULL, 0), 0);
	CHECK_INT(file_read(path, 100, &text, &len), 0);
	CHECK(len == 0);
	free(text);
	CHECK_INT(file_replace(NULL, "x", 1), -EINVAL);
	CHECK_INT(file_replace(path, NULL, 1), -EINVAL);
	/* a folder that is not there: the error of open(), nothing made */
	if (asprintf(&sub, "%s/none/state", dir) < 0)
		abort();
	CHECK_INT(file_replace(sub, "x", 1), -ENOENT);
	/* the rename fails (a folder stands at path): the temporary file is removed, the folder stays */
	free(sub);
	if (asprintf(&sub, "%s/folder", dir) < 0)
		abort();
	CHECK(mkdir(sub, 0700) == 0);
	CHECK_INT(file_replace(sub, "x", 1), -EISDIR);
	free(tmp);
	if (asprintf(&tmp, "%s.tmp", sub) < 0)
		abort();
	CHECK(access(tmp, F_OK) < 0 && errno == ENOENT);
	CHECK(stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
	free(tmp);
	free(sub);
	free(path);
}

int main(void)
{
	char cmd[64];

	CHECK(mkdtemp(dir) != NULL);
	test_read(false);
	test_read(true);
	test_wipe();
	test_read_into();
	test_fifo();
	test_replace();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	TEST_DONE();
}
