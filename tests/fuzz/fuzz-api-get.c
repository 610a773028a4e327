/* fuzz-api-get: the API response parsers (Get, List, Start, error) on arbitrary bytes, with their invariants */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline/deadline_api.h"
#include "util/log.h"

#include "fuzz.h"

/* A parser's result code must be one of the documented ones, and err a terminated string. */
static void check_result(int r, const char *err, size_t errlen)
{
	FUZZ_ASSERT(r == 0 || r == DEADLINE_BAD_JSON || r == DEADLINE_BAD_SHAPE || r == -ENOMEM);
	FUZZ_ASSERT(memchr(err, '\0', errlen) != NULL);
	if (r == DEADLINE_BAD_JSON || r == DEADLINE_BAD_SHAPE)
		FUZZ_ASSERT(err[0] != '\0');
}

static void fuzz_get(const char *body, size_t len)
{
	struct deadline_page page;
	char err[256];
	int r;

	memset(&page, 0xa5, sizeof(page)); /* the parser must set every member itself */
	memset(err, 'x', sizeof(err));
	r = deadline_parse_get(body, len, &page, err, sizeof(err));
	check_result(r, err, sizeof(err));
	if (r != 0) {
		FUZZ_ASSERT(page.n_rows == 0 && page.rows == NULL && page.next_token == NULL);
		FUZZ_ASSERT(page.status_text == NULL && page.status_message == NULL);
	} else {
		FUZZ_ASSERT((unsigned)page.status <= DEADLINE_STATUS_UNKNOWN);
		FUZZ_ASSERT(page.n_rows <= DEADLINE_ROWS_MAX);
		FUZZ_ASSERT(page.n_rows == 0 || page.rows != NULL);
		FUZZ_ASSERT(deadline_status_name(page.status) != NULL);
		for (size_t i = 0; i < page.n_rows; i++) {
			const struct usage_row *row = &page.rows[i];
			for (size_t f = 0; f < GROUP_FIELD_COUNT; f++)
				if (row->fields[f])
					FUZZ_ASSERT(strlen(row->fields[f]) <= DEADLINE_JSON_STRING_MAX);
			FUZZ_ASSERT((row->cost.present & ~STAT_ALL) == 0 && (row->runtime.present & ~STAT_ALL) == 0);
		}
		if (page.next_token)
			FUZZ_ASSERT(strlen(page.next_token) <= DEADLINE_JSON_STRING_MAX);
	}
	deadline_page_deinit(&page);
}

static void fuzz_list(const char *body, size_t len, enum resource_kind kind)
{
	const char *prefix = resource_kind_id_prefix(kind);
	char **ids = NULL, *next = (char *)"unset";
	size_t n = 0;
	char err[256];
	int r;

	memset(err, 'x', sizeof(err));
	r = deadline_parse_list(body, len, kind, &ids, &n, &next, err, sizeof(err));
	check_result(r, err, sizeof(err));
	if (r != 0) {
		FUZZ_ASSERT(n == 0 && ids == NULL && next == NULL);
	} else {
		FUZZ_ASSERT(n <= DEADLINE_LIST_IDS_MAX);
		for (size_t i = 0; i < n; i++) {
			FUZZ_ASSERT(ids[i] != NULL);
			/* only ids of the kind asked for may come back: they end up in request paths */
			FUZZ_ASSERT(model_id_valid(ids[i], prefix) == 0);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(next);
}

static void fuzz_start(const char *body, size_t len)
{
	char *id = (char *)"unset";
	char err[256];
	int r;

	memset(err, 'x', sizeof(err));
	r = deadline_parse_start(body, len, &id, err, sizeof(err));
	check_result(r, err, sizeof(err));
	if (r == 0) {
		FUZZ_ASSERT(id != NULL);
		free(id);
	}
}

static void fuzz_error(const uint8_t *data, size_t size)
{
	/* Up to the first newline (within 200 bytes): the x-amzn-ErrorType header; the rest: the body. */
	const uint8_t *nl = memchr(data, '\n', size < 200 ? size : 200);
	char *header = NULL, *body, *name = (char *)"unset", *message = (char *)"unset";
	size_t body_len = size;

	if (nl) {
		header = strndup((const char *)data, (size_t)(nl - data));
		FUZZ_ASSERT(header != NULL);
		body_len = size - (size_t)(nl - data) - 1;
		data = nl + 1;
	}
	body = malloc(body_len ? body_len : 1);
	FUZZ_ASSERT(body != NULL);
	memcpy(body, data, body_len);
	deadline_parse_error(header, body, body_len, &name, &message);
	if (name)
		FUZZ_ASSERT(strlen(name) <= DEADLINE_JSON_STRING_MAX + 200);
	free(name);
	free(message);
	free(body);
	free(header);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LEVEL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, not terminated: a read past len is a heap overflow ASan reports. */
	char *body = malloc(size ? size : 1);

	if (!body)
		abort();
	memcpy(body, data, size);
	fuzz_get(body, size);
	fuzz_list(body, size, size & 1 ? RESOURCE_FLEETS : RESOURCE_QUEUES);
	fuzz_start(body, size);
	free(body);
	fuzz_error(data, size);
	return 0;
}
