/* config_cases: configuration texts that must load, or fail with one message at a given line (config tests) */
#pragma once

#include <errno.h>

#include "config/config.h"
#include "test.h"

#define CASES_FARM_ID "farm-0123456789abcdef0123456789abcdef"
#define CASES_QUEUE_ID "queue-0123456789abcdef0123456789abcdef"
#define CASES_FLEET_ID "fleet-0123456789abcdef0123456789abcdef"

/* A text that must fail with one message, "bad.conf:LINE: …REASON…". */
struct config_bad_case {
	const char *text;
	int line;
	const char *reason;
};

static char config_cases_err[8192];

/* True when the messages have a line "FILE:LINE: " holding what. */
static inline bool config_cases_err_has(const char *file, int line, const char *what)
{
	char prefix[512];
	const char *p = config_cases_err;

	snprintf(prefix, sizeof(prefix), "%s:%d: ", file, line);
	while (p && *p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char one[2048];

		if (len >= sizeof(one))
			len = sizeof(one) - 1;
		memcpy(one, p, len);
		one[len] = '\0';
		if (strncmp(one, prefix, strlen(prefix)) == 0 && strstr(one, what))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

static inline int config_cases_err_lines(void)
{
	int n = 0;

	for (const char *p = config_cases_err; *p; p++)
		n += *p == '\n';
	return n;
}

/* Loads text, which must load; returns the config (config_free() it), or NULL after a failed check. */
static inline struct config *config_cases_load(const char *text)
{
	struct config *cfg = NULL;
	int r = config_load_string(&cfg, "good.conf", text, config_cases_err, sizeof(config_cases_err));

	CHECK_MSG(r == 0 && cfg, "does not load: %d:\n%s\n%s", r, config_cases_err, text);
	return cfg;
}

/* Every text must load without a message. */
static inline void config_cases_good(const char *const *texts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct config *cfg = config_cases_load(texts[i]);

		CHECK_MSG(config_cases_err[0] == '\0', "good %zu: %s", i, config_cases_err);
		config_free(cfg);
	}
}

/* Every text must fail with exactly its one message, at its line. */
static inline void config_cases_bad(const struct config_bad_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct config *cfg = (struct config *)1;
		int r = config_load_string(&cfg, "bad.conf", cases[i].text, config_cases_err, sizeof(config_cases_err));

		CHECK_MSG(r == -EINVAL && cfg == NULL, "bad %zu: got %d", i, r);
		CHECK_MSG(config_cases_err_has("bad.conf", cases[i].line, cases[i].reason),
			"bad %zu: expected \"bad.conf:%d: ...%s...\", got:\n%s", i, cases[i].line, cases[i].reason,
			config_cases_err);
		CHECK_MSG(config_cases_err_lines() == 1, "bad %zu: %d messages:\n%s", i, config_cases_err_lines(),
			config_cases_err);
	}
}
