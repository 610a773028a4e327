/* pages: reading a paginated listing to its end (nextToken), bounded, with cycle detection */
#include "deadline/pages.h"

#include <errno.h>
#include <stdlib.h>

#include "deadline/deadline_api.h"
#include "util/log.h"

static uint64_t token_hash(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h ? h : 1;
}

int token_set_add(struct token_set *set, const char *token)
{
	uint64_t h = token_hash(token);

	if ((set->n + 1) * 2 > set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;
		uint64_t *slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return -ENOMEM;
		for (size_t i = 0; i < set->cap; i++) {
			if (!set->slots[i])
				continue;
			size_t j = set->slots[i] & (cap - 1);
			while (slots[j])
				j = (j + 1) & (cap - 1);
			slots[j] = set->slots[i];
		}
		free(set->slots);
		set->slots = slots;
		set->cap = cap;
	}
	size_t i = h & (set->cap - 1);
	while (set->slots[i]) {
		if (set->slots[i] == h)
			return TOKEN_SET_SEEN;
		i = (i + 1) & (set->cap - 1);
	}
	set->slots[i] = h;
	set->n++;
	return TOKEN_SET_NEW;
}

void token_set_deinit(struct token_set *set)
{
	free(set->slots);
	set->slots = NULL;
	set->cap = set->n = 0;
}

struct page_ctx {
	api_page_parse_fn parse;
	void *ctx;
	char *next_token;
};

static int page_parse(void *c, const char *body, size_t len, char *err, size_t errlen)
{
	struct page_ctx *p = c;

	free(p->next_token);
	p->next_token = NULL;
	return p->parse(p->ctx, body, len, &p->next_token, err, errlen);
}

int api_pages_run(struct api_caller *a, const char *what, const char *operation, const char *path,
	api_page_parse_fn parse, void *ctx)
{
	struct page_ctx p = {.parse = parse, .ctx = ctx};
	struct token_set seen = {0};
	char *prev_token = NULL;
	int r;

	for (int page = 0;; page++) {
		if (page >= API_LIST_PAGES_MAX) {
			log_warning("farm=%s op=%s reason=\"more than %d pages; giving up\"", a->farm_id, operation,
				API_LIST_PAGES_MAX);
			r = API_BAD_RESPONSE;
			goto out;
		}
		char *query = deadline_list_query(DEADLINE_MAX_RESULTS, prev_token);
		if (!query) {
			r = -ENOMEM;
			goto out;
		}
		struct api_call c = {
			.operation = operation,
			.method = "GET",
			.path = path,
			.query = query,
			.parse = page_parse,
			.ctx = &p,
		};
		r = api_call_run(a, &c);
		if (r != 0)
			api_call_log_failure(a, what, &c, r);
		api_call_reset(&c);
		free(query);
		if (r != 0)
			goto out;
		if (!p.next_token || !*p.next_token)
			break;
		r = token_set_add(&seen, p.next_token);
		if (r != 0) {
			if (r == TOKEN_SET_SEEN)
				log_warning("farm=%s op=%s reason=\"nextToken seen before (a cycle); giving up\"",
					a->farm_id, operation);
			r = r == TOKEN_SET_SEEN ? API_BAD_RESPONSE : r;
			goto out;
		}
		free(prev_token);
		prev_token = p.next_token;
		p.next_token = NULL;
	}
	r = 0;
out:
	free(p.next_token);
	free(prev_token);
	token_set_deinit(&seen);
	return r;
}
