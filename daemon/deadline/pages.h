/* pages: the one paginator: a paged operation read to its end, page after page (nextToken in the query, or an item
 * offset in a POST body), with one page cap and one cycle check */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deadline/api_call.h"

/* Pages of one listing (100 items each: 100,000 items). */
#define API_LIST_PAGES_MAX 1000
/* Pages of one aggregation (100 rows each: 2 million rows). */
#define API_AGGREGATION_PAGES_MAX 20000

/* Where a page starts. */
struct api_cursor {
	char *token; /* nextToken paging: NULL on the first page (malloc'd) */
	int64_t offset; /* item offset paging: 0 on the first page; -1 in a parsed answer: no further page */
};

/* A paged operation, as the paginator sees it. */
struct api_pages {
	const char *operation;
	const char *report; /* for logs, or NULL (an operation of no report) */
	const char *method; /* NULL: "GET" */
	const char *path;
	bool by_offset; /* pages start at an item offset (SearchJobs' itemOffset / nextItemOffset), not a token */
	int max_pages; /* 0: API_LIST_PAGES_MAX */
	bool quiet_not_found; /* a 404 is the caller's to log (an aggregation that expired) */
	/*
	 * The request of the page at at: *query and, for a POST, *body and *body_len (malloc'd; left NULL for none).
	 * NULL: the listings' query, maxResults=100 and the token. Returns 0 or -errno.
	 */
	int (*request)(void *ctx, const struct api_cursor *at, char **query, char **body, size_t *body_len);
	/*
	 * Parses one answer into the caller's page, replacing what an earlier answer left there (an answer that did
	 * not parse is asked again and parsed anew), and sets where the next page starts: next->token (malloc'd) or
	 * next->offset; left NULL or -1 on the last page (or, where the service caps offsets as SearchJobs does at
	 * 10,000, on the last page it will serve: the caller reads on with a request of its own). Returns 0, a
	 * DEADLINE_BAD_* code (err filled) or -ENOMEM.
	 */
	int (*parse)(void *ctx, const char *body, size_t len, struct api_cursor *next, char *err, size_t errlen);
	/*
	 * Takes a parsed page into the result; pages is how many were taken before. Sets *again when the answer is
	 * not ready (an aggregation in progress, after the caller's own wait): the same page is asked again. Returns
	 * 0, an enum api_outcome or another positive code of the caller's, or -errno. NULL: parse() took the page
	 * itself, leaving the result as it was when it failed.
	 */
	int (*take)(void *ctx, size_t pages, bool *again);
	void *ctx;
};

/*
 * Asks for pg's pages one after another with api_call_run()'s retries, until a page without a next one. A page
 * is taken only once its answer parsed: an answer that did not, retried or not, leaves nothing in the result.
 * Gives up (API_BAD_RESPONSE, logged) when more than pg->max_pages pages would be needed, or when a page leads to
 * a cursor seen before in this read (a cycle: A→B→A as well as A→A). Returns 0, what take() or the calls
 * returned (an enum api_outcome, API_STOPPED when stopping; failed calls are logged), or -errno.
 */
int api_pages_run(struct api_caller *a, const struct api_pages *pg);
