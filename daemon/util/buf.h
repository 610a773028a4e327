/* buf: the one growable byte buffer (bounded, NUL-terminated, optionally wiped for secrets) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * An embedded object: buf_init() (or zero-initialised: {0}, no limit, not wiped), appends, then buf_take() or
 * buf_deinit(). The data is always NUL-terminated once allocated (the NUL is not counted in len), so text can be used
 * as a string.
 */
struct buf {
	char *data; /* NULL until the first append */
	size_t len;
	size_t cap;
	size_t max; /* longest content allowed: an append beyond it fails with -EMSGSIZE */
	bool wipe; /* holds secrets: memory given back (on growth and deinit) is zeroed first */
};

/* Growth doubles from this many bytes. */
#define BUF_INITIAL_CAP 256

/* Starts an empty buffer holding at most max bytes (0: no limit but memory). wipe: see struct buf. */
void buf_init(struct buf *b, size_t max, bool wipe);

/* Frees the data (zeroed first when b->wipe) and leaves b empty, reusable with the same limits. NULL-safe. */
void buf_deinit(struct buf *b);

/* Makes room for extra more bytes (and the NUL). Returns 0, -EMSGSIZE past b->max, -ENOMEM. */
int buf_reserve(struct buf *b, size_t extra);

/* Appends n bytes of data. Returns 0, -EMSGSIZE (nothing appended), -ENOMEM. */
int buf_append(struct buf *b, const void *data, size_t n);

/* Appends the string s (buf_append() of strlen(s) bytes). */
int buf_puts(struct buf *b, const char *s);

/* Appends one character. */
int buf_putc(struct buf *b, char c);

/* Appends printf-formatted text. Returns 0, -EMSGSIZE, -ENOMEM, -EINVAL (a bad format). */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Hands the data to the caller (free() it; zero it first if it holds secrets) and leaves b empty.
 * An empty buffer gives "" rather than NULL. *len (when not NULL) receives the length.
 * Returns NULL only when out of memory.
 */
char *buf_take(struct buf *b, size_t *len);
