/* log: one line per event on stderr, "<N>" priorities under the journal, level word and UTC time otherwise */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/env.h"

/* Longest message kept (the rest is cut and marked), and the line it becomes once escaped. */
#define LOG_MESSAGE_MAX 4096
#define LOG_LINE_MAX 8192
#define LOG_TRUNCATED_MARK "..."

enum journal_state {
	JOURNAL_UNKNOWN,
	JOURNAL_NO,
	JOURNAL_YES,
};

static atomic_int log_threshold = LOG_LEVEL_INFO;
static atomic_int log_journal = JOURNAL_UNKNOWN;

static int journal_detect(void)
{
	const char *v = env_get("JOURNAL_STREAM");

	/*
	 * systemd sets JOURNAL_STREAM when stdout/stderr go to the journal; the contract keys the "<N>"
	 * form on its presence alone.
	 */
	return v ? JOURNAL_YES : JOURNAL_NO;
}

static bool log_to_journal(void)
{
	int j = atomic_load(&log_journal);

	/* log_msg() before log_init(): detect now; concurrent callers compute the same answer. */
	if (j == JOURNAL_UNKNOWN) {
		j = journal_detect();
		atomic_store(&log_journal, j);
	}
	return j == JOURNAL_YES;
}

static int level_clamp(int level)
{
	if (level < LOG_LEVEL_ERROR)
		return LOG_LEVEL_ERROR;
	if (level > LOG_LEVEL_DEBUG)
		return LOG_LEVEL_DEBUG;
	return level;
}

void log_init(enum log_level level)
{
	atomic_store(&log_journal, journal_detect());
	atomic_store(&log_threshold, level_clamp((int)level));
}

bool log_enabled(enum log_level level)
{
	return (int)level <= atomic_load(&log_threshold);
}

static const struct {
	enum log_level level;
	const char *word;
} log_level_words[] = {
	{LOG_LEVEL_ERROR, "error"},
	{LOG_LEVEL_WARNING, "warning"},
	{LOG_LEVEL_INFO, "info"},
	{LOG_LEVEL_DEBUG, "debug"},
};

int log_level_parse(const char *s, enum log_level *out)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(log_level_words) / sizeof(log_level_words[0]); i++) {
		if (strcmp(s, log_level_words[i].word) == 0) {
			if (out)
				*out = log_level_words[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	int l = level_clamp((int)level);

	/* Syslog's notice (5) has no word of its own here: it reads as info. */
	if (l == 5)
		l = LOG_LEVEL_INFO;
	for (size_t i = 0; i < sizeof(log_level_words) / sizeof(log_level_words[0]); i++) {
		if ((int)log_level_words[i].level == l)
			return log_level_words[i].word;
	}
	return "info";
}

/* Room for the text of a line: the rest is kept for the truncation mark, the newline and the NUL. */
#define LOG_LINE_ROOM (LOG_LINE_MAX - sizeof(LOG_TRUNCATED_MARK) - 1)

/* Appends s to line[*len] when it fits in LOG_LINE_ROOM. Returns false when it did not fit. */
static bool line_put(char *line, size_t *len, const char *s, size_t n)
{
	if (n > LOG_LINE_ROOM - *len)
		return false;
	memcpy(line + *len, s, n);
	*len += n;
	return true;
}

/* Appends msg with control characters escaped, so that the event stays on one line. */
static bool line_put_escaped(char *line, size_t *len, const char *msg)
{
	static const char hex[] = "0123456789abcdef";

	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		char esc[4];
		size_t n = 2;

		esc[0] = '\\';
		switch (*p) {
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			if (*p >= 0x20 && *p != 0x7f) {
				esc[0] = (char)*p;
				n = 1;
			} else {
				esc[1] = 'x';
				esc[2] = hex[*p >> 4];
				esc[3] = hex[*p & 0xf];
				n = 4;
			}
			break;
		}
		if (!line_put(line, len, esc, n))
			return false;
	}
	return true;
}

/* "2026-11-26T07:02:03.123Z " into buf (at least 32 bytes); empty when the clock cannot be read. */
static void timestamp_format(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	int n;

	buf[0] = '\0';
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return;
	if (!gmtime_r(&ts.tv_sec, &tm))
		return;
	n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);
	if (n < 0 || (size_t)n >= size)
		buf[0] = '\0';
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[LOG_MESSAGE_MAX];
	char line[LOG_LINE_MAX];
	char prefix[64];
	size_t len = 0;
	bool truncated = false;
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0) {
		snprintf(msg, sizeof(msg), "(message could not be formatted: %s)", strerror(errno));
	} else if ((size_t)n >= sizeof(msg)) {
		truncated = true;
	}

	if (log_to_journal()) {
		n = snprintf(prefix, sizeof(prefix), "<%d>", level_clamp((int)level));
	} else {
		char ts[40];

		timestamp_format(ts, sizeof(ts));
		n = snprintf(prefix, sizeof(prefix), "%s %s", log_level_name(level), ts);
	}
	if (n < 0 || (size_t)n >= sizeof(prefix))
		prefix[0] = '\0';

	/* The prefix is far shorter than a line: it always fits. */
	(void)line_put(line, &len, prefix, strlen(prefix));
	if (!line_put_escaped(line, &len, msg))
		truncated = true;
	if (truncated) {
		/* A cut event says so; LOG_LINE_ROOM kept the room for the mark. */
		memcpy(line + len, LOG_TRUNCATED_MARK, sizeof(LOG_TRUNCATED_MARK) - 1);
		len += sizeof(LOG_TRUNCATED_MARK) - 1;
	}
	line[len++] = '\n';
	line[len] = '\0';

	/* One fwrite of the whole line: stdio locks the stream, so lines from threads never interleave. */
	if (fwrite(line, 1, len, stderr) != len)
		clearerr(stderr);
}
