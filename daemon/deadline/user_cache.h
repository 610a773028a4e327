/* user_cache: the user names known for the user ids of the figures, when each is looked up next, and the inbox
 * that feeds the cache (pure: the clock is an argument) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "metrics/section.h"
#include "util/buf.h"

#define USERS_TTL_SECONDS 86400.0 /* a known (or missing) user is looked up again after this */
#define USERS_RETRY_SECONDS 300.0 /* after a failed lookup (the previous answer stays meanwhile) */
#define USERS_MAX 100000 /* distinct user ids remembered; more are not looked up */
#define USERS_INBOX_MAX 100000 /* ids queued and not yet taken into the cache; more are dropped (noted again later) */

enum user_state {
	USER_UNKNOWN, /* never answered yet */
	USER_KNOWN, /* names below */
	USER_MISSING, /* ResourceNotFoundException: no series */
};

struct user_entry {
	char *id;
	enum user_state state;
	char *user_name, *display_name; /* USER_KNOWN: "" when absent */
	double next_due; /* clock seconds of the next lookup */
};

/* The cache: entries sorted by id. Zero-initialised; one thread uses it (the users thread owns its cache). */
struct user_cache {
	struct user_entry *e;
	size_t n, cap;
};

enum user_note {
	USER_NOTE_KNOWN = 0, /* already there */
	USER_NOTE_ADDED, /* new: due now */
	USER_NOTE_REFUSED, /* not a user id the identity store could hold, or the cache is full */
};

/* Remembers id (due at now when new; refused unless user_id_usable()). Returns an enum user_note or -ENOMEM. */
int user_cache_note(struct user_cache *c, const char *id, double now);

/* The entry that is due first at now (NULL when none, *wait seconds until the next one, -1 when empty). */
const struct user_entry *user_cache_next(const struct user_cache *c, double now, double *wait);

/*
 * Records a lookup of id: outcome 0 (names, NULL for absent), API_NOT_FOUND (missing: no series), anything else a
 * failure (the previous answer stays, tried again after USERS_RETRY_SECONDS). Returns true when what
 * user_cache_render() prints changed; false otherwise (or -ENOMEM dropped the names: the entry stays unknown).
 */
bool user_cache_record(
	struct user_cache *c, const char *id, int outcome, const char *user_name, const char *display_name, double now);

/* The user names' section kind (deadline_cloud_user_info), one section: metrics_store_put(store, &users_kind, NULL, …).
 */
extern struct metrics_kind users_kind;

/* deadline_cloud_user_info lines of every known user (the store writes the family's header). Returns 0 or -ENOMEM. */
int user_cache_render(const struct user_cache *c, const char *store_id, struct buf *out);

/* Frees every entry; c is empty (zeroed) afterwards. */
void user_cache_deinit(struct user_cache *c);

/* Ids noted by other threads for the cache's owner: a bounded queue (the caller serialises access). */
struct user_inbox {
	char **ids;
	size_t n, cap;
};

enum user_inbox_add {
	USER_INBOX_FIRST = 0, /* queued into an empty inbox: wake the cache's owner */
	USER_INBOX_QUEUED, /* queued behind others: a wake-up is on its way */
	USER_INBOX_DROPPED, /* not a usable id, or USERS_INBOX_MAX ids wait already */
};

/* Queues a copy of id. Returns an enum user_inbox_add or -ENOMEM. */
int user_inbox_add(struct user_inbox *in, const char *id);

/* Notes every id of in into c (user_cache_note() at now) and empties in. */
void user_cache_take(struct user_cache *c, struct user_inbox *in, double now);

/* Frees the queued ids; in is empty (zeroed) afterwards. */
void user_inbox_deinit(struct user_inbox *in);
