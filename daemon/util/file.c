/* file: small files read whole (configuration, AWS profiles, tokens, /proc), bounded, optionally wiped; or replaced
 * whole */
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"

/* Reads in steps of this many bytes: a file's size (st_size) is not trusted, /proc and pipes report 0. */
#define FILE_STEP 4096

/* read() retried when a signal interrupts it. */
static ssize_t read_some(int fd, void *p, size_t n)
{
	ssize_t got;

	do
		got = read(fd, p, n);
	while (got < 0 && errno == EINTR);
	return got < 0 ? -errno : got;
}

static int read_whole(const char *path, size_t max, bool wipe, char **out, size_t *len)
{
	struct buf b;
	ssize_t got = 0;
	int fd, r = 0;

	if (max >= SIZE_MAX / 2)
		return -EINVAL;
	/* O_CLOEXEC: credential_process children must not inherit the file. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* One byte more than max allowed in, to tell a file of max bytes from a longer one. */
	buf_init(&b, max + 1, wipe);
	do {
		size_t step = max + 1 - b.len < FILE_STEP ? max + 1 - b.len : FILE_STEP;

		r = buf_reserve(&b, step);
		if (r < 0)
			break;
		got = read_some(fd, b.data + b.len, step);
		if (got < 0)
			r = (int)got;
		else
			b.len += (size_t)got;
	} while (r == 0 && got > 0 && b.len <= max);
	close(fd);
	if (r == 0 && b.len > max)
		r = -EFBIG;
	if (r == 0) {
		b.data[b.len] = '\0';
		*out = buf_take(&b, len);
		if (!*out)
			r = -ENOMEM;
	}
	buf_deinit(&b);
	return r;
}

int file_read(const char *path, size_t max, char **out, size_t *len)
{
	return read_whole(path, max, false, out, len);
}

int file_read_secret(const char *path, size_t max, char **out, size_t *len)
{
	return read_whole(path, max, true, out, len);
}

ssize_t file_read_into(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t got = 1;
	int fd;

	if (!size)
		return -EINVAL;
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len + 1 < size && (got = read_some(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)got;
	close(fd);
	buf[len] = '\0';
	return got < 0 ? got : (ssize_t)len;
}

/* write() of all n bytes, retried when interrupted or short. */
static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t put = write(fd, p, n);
		if (put < 0 && errno == EINTR)
			continue;
		if (put < 0)
			return -errno;
		p += put;
		n -= (size_t)put;
	}
	return 0;
}

int file_replace(const char *path, const void *data, size_t len)
{
	size_t n = path ? strlen(path) : 0;
	char *tmp;
	int fd, r;

	if (!path || (!data && len))
		return -EINVAL;
	tmp = malloc(n + sizeof(".tmp"));
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, n);
	memcpy(tmp + n, ".tmp", sizeof(".tmp"));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		free(tmp);
		return r;
	}
	r = write_all(fd, data, len);
	/* Without the flush a crash after the rename could leave an empty file where the previous one was. */
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	free(tmp);
	return r;
}
