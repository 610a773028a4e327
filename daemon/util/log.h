/* log: one line per event on stderr, journald-friendly, never a secret */
#pragma once

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* Sets the threshold (out-of-range levels are clamped) and detects the journal (JOURNAL_STREAM) once. */
void log_init(enum log_level level);
/* Whether a message of level would be written (log_debug() asks before formatting). */
bool log_enabled(enum log_level level);

/* Parses "error", "warning", "info", "debug". Returns 0, or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);

/*
 * Writes one line: "<N>" (journal) or the level word, then the message.
 * Messages are key=value fields: "farm=… report=… op=… status=…".
 * Newlines in the formatted message are replaced so one event is one line.
 */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { \
		if (log_enabled(LOG_LEVEL_DEBUG)) \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); \
	} while (0)

/*
 * test hook: the word a plain line starts with: "error", "warning", "info", "debug" (out-of-range levels are
 * clamped; 5 reads as "info").
 */
const char *log_level_name(enum log_level level);
