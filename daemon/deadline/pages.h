/* pages: reading a paginated listing to its end (nextToken), bounded, with cycle detection */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "deadline/api_call.h"

/* Pages of one listing (100 items each: 100000 items). */
#define API_LIST_PAGES_MAX 1000

/*
 * The nextTokens seen while reading one aggregation or listing, as 64-bit hashes in an open-addressing
 * set: a token seen before means a cycle (A→B→A as well as A→A), which would never end.
 */
struct token_set {
	uint64_t *slots; /* 0: empty */
	size_t cap, n;
};

enum token_set_result {
	TOKEN_SET_NEW = 0,
	TOKEN_SET_SEEN = 1, /* the listing cycles */
};

/* Adds token: TOKEN_SET_NEW, TOKEN_SET_SEEN when it was there already, or -ENOMEM. */
int token_set_add(struct token_set *set, const char *token);
void token_set_deinit(struct token_set *set);

/*
 * Parses one page: appends its items to ctx and sets *next_token (malloc'd, or NULL on the last page).
 * Returns 0, a DEADLINE_BAD_* code (err filled) or -ENOMEM; on failure it leaves ctx as it was.
 */
typedef int (*api_page_parse_fn)(void *ctx, const char *body, size_t len, char **next_token, char *err, size_t errlen);

/*
 * GETs path page after page (maxResults=100, nextToken) with api_call_run()'s retries, parse() taking each
 * page, until a page without nextToken. Gives up (API_BAD_RESPONSE) after API_LIST_PAGES_MAX pages or on a
 * token seen before. what names the listing in logs (a report's name, or NULL). Returns 0, an enum
 * api_outcome or -errno; failures are logged.
 */
int api_pages_run(struct api_caller *a, const char *what, const char *operation, const char *path,
	api_page_parse_fn parse, void *ctx);
