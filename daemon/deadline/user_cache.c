/* user_cache: the user names known for the user ids of the figures, when each is looked up next, and the inbox
 * that feeds the cache (pure: the clock is an argument) */
#include "deadline/user_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "deadline/api_policy.h"
#include "deadline/users_api.h"
#include "metrics/exposition.h"

static const struct exposition_family users_families[] = {
	{"deadline_cloud_user_info", EXPOSITION_GAUGE,
		"The identity store's names of a user that appears in the figures (value 1)."},
};

struct metrics_kind users_kind = {.rank = METRICS_RANK_USERS, .families = users_families, .n_families = 1};

/* The index of id, or where it would go (*found false). */
static size_t cache_find(const struct user_cache *c, const char *id, bool *found)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(c->e[mid].id, id);
		if (cmp == 0) {
			*found = true;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

int user_cache_note(struct user_cache *c, const char *id, double now)
{
	bool found;
	size_t at;

	if (!user_id_usable(id))
		return USER_NOTE_REFUSED;
	at = cache_find(c, id, &found);
	if (found)
		return USER_NOTE_KNOWN;
	if (c->n >= USERS_MAX)
		return USER_NOTE_REFUSED;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct user_entry *e = realloc(c->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		c->e = e;
		c->cap = cap;
	}
	char *copy = strdup(id);
	if (!copy)
		return -ENOMEM;
	memmove(&c->e[at + 1], &c->e[at], (c->n - at) * sizeof(*c->e));
	c->e[at] = (struct user_entry){.id = copy, .state = USER_UNKNOWN, .next_due = now};
	c->n++;
	return USER_NOTE_ADDED;
}

const struct user_entry *user_cache_next(const struct user_cache *c, double now, double *wait)
{
	const struct user_entry *first = NULL;

	for (size_t i = 0; i < c->n; i++)
		if (!first || c->e[i].next_due < first->next_due)
			first = &c->e[i];
	if (!first) {
		*wait = -1;
		return NULL;
	}
	if (first->next_due <= now) {
		*wait = 0;
		return first;
	}
	*wait = first->next_due - now;
	return NULL;
}

bool user_cache_record(
	struct user_cache *c, const char *id, int outcome, const char *user_name, const char *display_name, double now)
{
	bool found, changed = false;
	size_t at = cache_find(c, id, &found);
	struct user_entry *e;

	if (!found)
		return false;
	e = &c->e[at];
	if (outcome == 0) {
		char *un = strdup(user_name ? user_name : ""), *dn = strdup(display_name ? display_name : "");
		if (!un || !dn) {
			free(un);
			free(dn);
			e->next_due = now + USERS_RETRY_SECONDS;
			return false;
		}
		changed = e->state != USER_KNOWN || strcmp(e->user_name, un) != 0 || strcmp(e->display_name, dn) != 0;
		free(e->user_name);
		free(e->display_name);
		e->user_name = un;
		e->display_name = dn;
		e->state = USER_KNOWN;
		e->next_due = now + USERS_TTL_SECONDS;
	} else if (outcome == API_NOT_FOUND) {
		changed = e->state == USER_KNOWN;
		free(e->user_name);
		free(e->display_name);
		e->user_name = e->display_name = NULL;
		e->state = USER_MISSING;
		e->next_due = now + USERS_TTL_SECONDS;
	} else {
		e->next_due = now + USERS_RETRY_SECONDS;
	}
	return changed;
}

int user_cache_render(const struct user_cache *c, const char *store_id, struct buf *out)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct user_entry *e = &c->e[i];
		const char *labels[] = {"identity_store_id", store_id, "user_id", e->id, "user_name", e->user_name,
			"display_name", e->display_name};
		if (e->state == USER_KNOWN && exposition_series(out, users_families[0].name, labels, 4, "1") < 0)
			return -ENOMEM;
	}
	return 0;
}

void user_cache_deinit(struct user_cache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].id);
		free(c->e[i].user_name);
		free(c->e[i].display_name);
	}
	free(c->e);
	*c = (struct user_cache){0};
}

int user_inbox_add(struct user_inbox *in, const char *id)
{
	char *copy;

	if (!user_id_usable(id) || in->n >= USERS_INBOX_MAX)
		return USER_INBOX_DROPPED;
	if (in->n == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 64;
		char **grown = realloc(in->ids, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		in->ids = grown;
		in->cap = cap;
	}
	copy = strdup(id);
	if (!copy)
		return -ENOMEM;
	in->ids[in->n++] = copy;
	return in->n == 1 ? USER_INBOX_FIRST : USER_INBOX_QUEUED;
}

void user_cache_take(struct user_cache *c, struct user_inbox *in, double now)
{
	/* Out of memory drops an id now; the next refresh of its report notes it again. */
	for (size_t i = 0; i < in->n; i++)
		(void)user_cache_note(c, in->ids[i], now);
	user_inbox_deinit(in);
}

void user_inbox_deinit(struct user_inbox *in)
{
	for (size_t i = 0; i < in->n; i++)
		free(in->ids[i]);
	free(in->ids);
	*in = (struct user_inbox){0};
}
