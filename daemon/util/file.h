/* file: small files read whole (configuration, AWS profiles, tokens, /proc), bounded, optionally wiped; or replaced
 * whole */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/*
 * Reads the file at path whole (a regular file, or a pipe or /proc file whose size is only known at its end).
 * *out receives a NUL-terminated copy (free() it), *len (when not NULL) its length: the text may hold NUL bytes.
 * Returns 0, -EFBIG when it holds more than max bytes, -ENOMEM, or the -errno of open() or read() (-ENOENT,
 * -EACCES, -EISDIR...). *out is set only on success.
 */
int file_read(const char *path, size_t max, char **out, size_t *len);

/*
 * file_read() for a file that holds secrets (credentials, tokens): every copy made while it grows is zeroed before
 * it is freed, and so is what was read when the read fails. The caller zeroes *out (explicit_bzero) before free().
 */
int file_read_secret(const char *path, size_t max, char **out, size_t *len);

/*
 * Reads at most size - 1 bytes of the file at path into buf (size > 0) and NUL-terminates them: for a file whose
 * bound the caller knows (a /proc file, a token: read one byte more than allowed to tell a longer one). The caller
 * owns buf, and zeroes it when it holds a secret. Returns the length read, or the -errno of open() or read().
 */
ssize_t file_read_into(const char *path, char *buf, size_t size);

/*
 * Replaces the file at path with the len bytes of data, whole or not at all: they are written to "<path>.tmp"
 * (mode 0600), flushed to disk (fsync) and renamed over path, so a crash or a full disk leaves the previous file
 * (or none) and a reader never sees half of one. Returns 0 or the -errno of the step that failed (-ENOSPC,
 * -EACCES, -EROFS...); the temporary file is removed then.
 */
int file_replace(const char *path, const void *data, size_t len);
