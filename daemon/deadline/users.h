/* users: user names for user_id from the identity store (DescribeUser): the cache (pure) and its thread */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "aws/credentials/aws_credentials.h"
#include "config/config.h"
#include "metrics/section.h"
#include "metrics/store.h"

#define USERS_TTL_SECONDS 86400.0 /* a known (or missing) user is looked up again after this */
#define USERS_RETRY_SECONDS 300.0 /* after a failed lookup (the previous answer stays meanwhile) */
#define USERS_CALLS_PER_SECOND 4.0 /* at most this many DescribeUser calls per second */
#define USERS_MAX 100000 /* distinct user ids remembered; more are not looked up */

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

/* The cache: entries sorted by id. Zero-initialised; the caller serialises access. */
struct user_cache {
	struct user_entry *e;
	size_t n, cap;
};

enum user_note {
	USER_NOTE_KNOWN = 0, /* already there */
	USER_NOTE_ADDED, /* new: due now */
	USER_NOTE_REFUSED, /* not a user id the identity store could hold, or the cache is full */
};

/* Whether id has the shape of an identity store id (letters, digits, '-'; 1 to 64 bytes): safe in a JSON body. */
bool user_id_usable(const char *id);

/* Remembers id (due at now when new). Returns an enum user_note or -ENOMEM. */
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

void user_cache_deinit(struct user_cache *c);

/* The identity store client and its thread. */
struct user_directory;

/*
 * A directory for cfg->identity_store (enabled): region from identity_store.region else region (aws.region as
 * resolved); endpoint from identity_store.endpoint_url, AWS_ENDPOINT_URL_IDENTITYSTORE, AWS_ENDPOINT_URL, the
 * rules. Returns 0, -EINVAL (logged) or -ENOMEM.
 */
int user_directory_new(struct user_directory **out, const struct config *cfg, const char *region,
	struct aws_credentials_provider *creds, struct metrics_store *store);
/* Starts the thread. Returns 0 or -errno. */
int user_directory_start(struct user_directory *d);
/* A user id seen in a report's figures: looked up soon when new. Thread-safe, never blocks on the network. */
void user_directory_note(struct user_directory *d, const char *user_id);
/* Stops the thread (interrupting a request) and frees. NULL-safe. */
void user_directory_free(struct user_directory *d);
