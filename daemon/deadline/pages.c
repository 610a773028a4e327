/* pages: the one paginator: a paged operation read to its end, page after page (nextToken in the query, or an item
 * offset in a POST body), with one page cap and one cycle check */
#include "deadline/pages.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "deadline/deadline_api.h"
#include "util/log.h"

/*
 * The cursors met in one read, as 64-bit FNV-1a hashes in an open-addressing set: a cursor met again means the
 * pages cycle (A→B→A as well as A→A) and would never end. Hashes, not the tokens (up to 4 KiB each): two different
 * tokens that hash alike would end a read early as a cycle, a chance of about n²/2⁶⁵ for n pages (below 10⁻¹¹ at
 * 20,000 pages), and the next refresh reads again.
 */
struct cursor_set {
	uint64_t *slots; /* 0: empty */
	size_t cap, n;
};

static uint64_t cursor_hash(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h ? h : 1;
}

/* Adds key: 0 when new, 1 when it was there already, or -ENOMEM. */
static int cursor_set_add(struct cursor_set *set, const char *key)
{
	uint64_t h = cursor_hash(key);

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
			return 1;
		i = (i + 1) & (set->cap - 1);
	}
	set->slots[i] = h;
	set->n++;
	return 0;
}

/* One read in progress. */
struct pager {
	const struct api_pages *pg;
	struct api_caller *a;
	struct api_cursor at; /* the page asked for */
	struct api_cursor next; /* where the parsed answer says the next page starts */
	struct cursor_set seen;
	size_t taken; /* pages taken */
};

static void cursor_clear(struct api_cursor *c)
{
	free(c->token);
	c->token = NULL;
	c->offset = -1;
}

static bool cursor_more(const struct pager *p, const struct api_cursor *c)
{
	return p->pg->by_offset ? c->offset >= 0 : c->token && *c->token;
}

/* The cycle check's key of c: the token itself, or the offset in decimal. */
static const char *cursor_key(const struct pager *p, const struct api_cursor *c, char *buf, size_t size)
{
	if (!p->pg->by_offset)
		return c->token;
	snprintf(buf, size, "%" PRId64, c->offset);
	return buf;
}

/* api_call's parser: every answer starts from no next page, so a broken answer's cursor never outlives it. */
static int pager_parse(void *ctx, const char *body, size_t len, char *err, size_t errlen)
{
	struct pager *p = ctx;

	cursor_clear(&p->next);
	return p->pg->parse(p->pg->ctx, body, len, &p->next, err, errlen);
}

static void pager_log(const struct pager *p, const char *reason)
{
	const struct api_pages *pg = p->pg;

	log_warning("farm=%s%s%s op=%s reason=\"%s; giving up\"", p->a->farm_id, pg->report ? " report=" : "",
		pg->report ? pg->report : "", pg->operation, reason);
}

/*
 * After an answer parsed: takes the page, then moves to the next one, through the page cap and the cycle check.
 * Sets *more when there is another page to ask for. Returns 0, API_BAD_RESPONSE (a cap or a cycle), or what
 * take() returned.
 */
static int pager_advance(struct pager *p, bool *more)
{
	const struct api_pages *pg = p->pg;
	int max_pages = pg->max_pages > 0 ? pg->max_pages : API_LIST_PAGES_MAX;
	bool again = false;
	char why[64], key[24];
	int r;

	*more = false;
	r = pg->take ? pg->take(pg->ctx, p->taken, &again) : 0;
	if (r != 0)
		return r;
	if (again) {
		cursor_clear(&p->next);
		*more = true;
		return 0;
	}
	p->taken++;
	if (!cursor_more(p, &p->next))
		return 0;
	if (p->taken >= (size_t)max_pages) {
		snprintf(why, sizeof(why), "more than %d pages", max_pages);
		pager_log(p, why);
		return API_BAD_RESPONSE;
	}
	r = cursor_set_add(&p->seen, cursor_key(p, &p->next, key, sizeof(key)));
	if (r != 0) {
		if (r > 0)
			pager_log(p, pg->by_offset ? "item offset seen before (a cycle)"
						   : "nextToken seen before (a cycle)");
		return r > 0 ? API_BAD_RESPONSE : r;
	}
	cursor_clear(&p->at);
	p->at = p->next;
	p->next = (struct api_cursor){.offset = -1};
	*more = true;
	return 0;
}

/* The request of the page at p->at. */
static int pager_request(struct pager *p, char **query, char **body, size_t *body_len)
{
	*query = *body = NULL;
	*body_len = 0;
	if (p->pg->request)
		return p->pg->request(p->pg->ctx, &p->at, query, body, body_len);
	*query = deadline_list_query(DEADLINE_MAX_RESULTS, p->at.token);
	return *query ? 0 : -ENOMEM;
}

int api_pages_run(struct api_caller *a, const struct api_pages *pg)
{
	struct pager p = {
		.pg = pg,
		.a = a,
		.at = {.offset = 0},
		.next = {.offset = -1},
	};
	char key[24];
	bool more = true;
	int r = 0;

	/* With offsets the first page has one too: a next offset back to it is a cycle as well. */
	if (pg->by_offset && (r = cursor_set_add(&p.seen, cursor_key(&p, &p.at, key, sizeof(key)))) < 0)
		goto out;
	while (more) {
		char *query, *body;
		size_t body_len;
		r = pager_request(&p, &query, &body, &body_len);
		if (r < 0) {
			free(query);
			free(body);
			goto out;
		}
		struct api_call c = {
			.operation = pg->operation,
			.method = pg->method ? pg->method : "GET",
			.path = pg->path,
			.query = query,
			.body = body,
			.body_len = body_len,
			.parse = pager_parse,
			.ctx = &p,
		};
		r = api_call_run(a, &c);
		if (r != 0 && !(r == API_NOT_FOUND && pg->quiet_not_found))
			api_call_log_failure(a, pg->report, &c, r);
		api_call_reset(&c);
		free(query);
		free(body);
		if (r == 0)
			r = pager_advance(&p, &more);
		if (r != 0)
			goto out;
	}
out:
	cursor_clear(&p.at);
	cursor_clear(&p.next);
	free(p.seen.slots);
	return r;
}
