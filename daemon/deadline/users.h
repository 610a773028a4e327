/* users: the users thread: looks up the names of the user ids the reports publish (DescribeUser), rate-limited,
 * and publishes them */
#pragma once

#include "aws/credentials/aws_credentials.h"
#include "config/config.h"
#include "metrics/store.h"

#define USERS_CALLS_PER_SECOND 4.0 /* at most this many DescribeUser calls per second */

/* The identity store client and its thread. */
struct user_directory;

/*
 * A directory for cfg->identity_store (enabled): region from identity_store.region else region (aws.region as
 * resolved); endpoint from identity_store.endpoint_url, AWS_ENDPOINT_URL_IDENTITYSTORE, AWS_ENDPOINT_URL, the
 * rules. creds and store are borrowed: they must outlive the directory. Returns 0, -EINVAL (logged) or -ENOMEM.
 */
int user_directory_new(struct user_directory **out, const struct config *cfg, const char *region,
	struct aws_credentials_provider *creds, struct metrics_store *store);
/* Starts the thread. Returns 0 or -errno. */
int user_directory_start(struct user_directory *d);
/*
 * A user id seen in a report's figures: looked up soon when new. Thread-safe; holds a lock only to queue the id
 * for the users thread, never while the thread calls, renders or publishes.
 */
void user_directory_note(struct user_directory *d, const char *user_id);
/* Stops the thread (interrupting a request) and frees. NULL-safe. */
void user_directory_free(struct user_directory *d);
