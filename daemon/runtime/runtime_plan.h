/* runtime_plan: prepare — every step of a start or a reload that may fail, building what runs without starting it */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "aws/credentials/aws_credentials.h"
#include "config/config.h"
#include "deadline/poller.h"
#include "deadline/users.h"
#include "metrics/inventory.h"
#include "metrics/store.h"
#include "runtime/runtime_creds.h"
#include "web/http_server.h"

/* What a step of the runtime ended in, when it did not fail with a negative errno. */
enum runtime_outcome {
	RUNTIME_OK = 0,
	RUNTIME_BAD_CONFIG = 1, /* the configuration is at fault (at start: exit status 1); the reasons are logged */
	RUNTIME_REJECTED = 2, /* a reload was refused: what runs stays as it was; the reasons are in why */
};

/*
 * The pieces of a running configuration, and who borrows what from whom. A borrower is freed before what it
 * borrows, so the old poller goes before the old users, the old credentials and the old configuration:
 *   poller  borrows cfg (its farms and reports), creds, roles, users, and the links' store and inventory board
 *   users   borrows creds or a role of roles, and the store
 *   roles   borrows creds (the keys that assume the roles)
 *   server  borrows the store and the lifecycle's context (the runtime, for POST /-/reload)
 * region, endpoint and the web settings are copied by whoever keeps them. The per-farm threads a poller owns
 * (reports, inventory, and whatever comes next) are started by poller_start() and stopped by poller_stop().
 */
struct runtime_pieces {
	struct config *cfg;
	char *region; /* aws.region as resolved (file, environment, profile or instance metadata) */
	char *endpoint; /* the Deadline Cloud endpoint of that region, or the configured one */
	struct aws_credentials_provider *creds; /* the exporter's own chain */
	struct runtime_creds *roles; /* a provider per role of cfg (farms[].role_arn, identity_store.role_arn) */
	struct user_directory *users; /* NULL without identity_store */
	struct poller *poller;
	struct http_server *server;
};

/* What lives as long as the runtime, the same for every configuration. */
struct runtime_links {
	struct metrics_store *store;
	struct inventory_board *inventory; /* the farms' inventories, shown through the store */
	struct http_server_lifecycle lifecycle; /* what a new server's POST /-/reload calls */
	struct aws_credentials_observer sts_observer; /* counts the credentials' STS calls in the store */
};

/*
 * What prepare built for a configuration; nothing of it runs yet. The fields of next that stay NULL are taken
 * from what runs: creds (the running chain serves), roles when keep_roles, users when keep_users, server (the
 * running one took the new web settings in place, as the last step of prepare).
 */
struct runtime_plan {
	struct runtime_pieces next; /* owned until committed or discarded */
	bool keep_roles; /* the running roles serve next.cfg as they are (and keep their cached keys) */
	bool keep_users; /* the running user directory serves next.cfg as it is */
};

/*
 * Step one of start, reload and --check-config: loads and validates path with config_load() (so every check of
 * the file's content is the same for all three) and applies listen (--listen, or NULL). The problems are
 * printed on stderr as "FILE:LINE: reason" lines, and copied into why (may be NULL). Returns 0 with *out,
 * RUNTIME_BAD_CONFIG, or -ENOMEM.
 */
int runtime_plan_load(struct config **out, const char *path, const char *listen, char *why, size_t whylen);

/*
 * The other steps, in this order: region, endpoint and credentials (what the file alone cannot tell: a check
 * of the AWS side without threads stops here), the user directory, the poller, then the web server: a new
 * listener when running has none or another address, else running's server takes cfg->web in place. That one
 * is last because it applies at once: it is all-or-nothing itself, and comes only when every other step
 * succeeded, so a failed prepare leaves what runs as it was.
 *
 * Takes cfg (freed on failure). running is what runs now (all NULL at start: everything is built anew); links
 * are borrowed. Each failure is logged once: "op=start status=error" (op=listen for the address) when running
 * has no configuration, "op=reload status=rejected" otherwise, with the reason copied into why.
 * Returns 0 with *plan filled, RUNTIME_BAD_CONFIG (no region, no usable endpoint), or -errno.
 */
int runtime_plan_prepare(struct runtime_plan *plan, struct config *cfg, const struct runtime_pieces *running,
	const struct runtime_links *links, char *why, size_t whylen);

/* Frees what plan built (a plan not committed). */
void runtime_plan_discard(struct runtime_plan *plan);

/*
 * Only the first steps, for a check of the AWS side that runs no thread (--check-aws): region, endpoint, the
 * credentials chain and the roles, for cfg (taken) against nothing running. Failures are logged as at start.
 * Returns as runtime_plan_prepare(); *plan is discarded by the caller.
 */
int runtime_plan_prepare_aws(struct runtime_plan *plan, struct config *cfg);
