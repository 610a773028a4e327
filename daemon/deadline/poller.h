/* poller: the farms' threads (one per farm running its reports on schedule, one per farm listing its inventory)
 * and what they share: one stop, one retry quota */
#pragma once

#include <stdbool.h>

#include "aws/credentials/aws_credentials.h"
#include "config/config.h"
#include "metrics/inventory.h"
#include "metrics/store.h"

struct poller;

struct user_directory;

struct poller_options {
	const char *endpoint; /* base URL, no trailing slash: of the farms without a region of their own */
	const char *region; /* aws.region as resolved */
	const char *ca_file; /* or NULL */
	struct inventory_board *inventory; /* or NULL: no inventory listing (also when inventory.enabled is false) */
	struct user_directory *users; /* or NULL: told the user ids of every published report */
	/* Each farm's credentials, in cfg->farms' order (its role's, farms[].role_arn), or NULL: creds for every farm.
	 * Read by poller_new() only; the providers are borrowed like creds. */
	struct aws_credentials_provider *const *farm_creds;
};

/*
 * One thread per farm (deadline/worker), each running its reports' refreshes one after another (refresh.h): a farm
 * runs one aggregation at a time, and reports that differ only in what they show of the same aggregation are
 * refreshed together, on the shortest of their intervals (plan.h). With an inventory board, a second thread per farm
 * lists its inventory every inventory.interval, beside (never waiting for) refreshes; with activity.enabled, one more
 * per farm reads its live state every activity.interval (activity_round.h), its sections declared by
 * activity_declare(). Every thread has its own HTTP connection; their retries share one quota. A farm with
 * farms[].region other than opts->region signs for its region and gets its region's endpoint (aws_endpoint_resolve()
 * with cfg's endpoint_url and profile: an explicit endpoint still applies to every farm), and signs with
 * opts->farm_creds' provider when given. cfg, creds (and the farms'), store, opts->inventory and opts->users are
 * borrowed: they must outlive the poller (free the poller before the configuration it runs with). Returns 0, -EINVAL
 * (logged) when a farm's endpoint cannot be resolved, -EINVAL when an endpoint is not an http(s) URL with a host, or
 * -ENOMEM.
 */
int poller_new(struct poller **out, const struct config *cfg, const struct poller_options *opts,
	struct aws_credentials_provider *creds, struct metrics_store *store);
/*
 * Declares at 0 every counter series the configuration implies (each (farm, report)'s, each operation's by farm,
 * the account-wide ones), then starts the threads. Returns 0 or -errno (the threads already started run until
 * poller_stop()).
 */
int poller_start(struct poller *p);
/*
 * True when every farm thread showed a sign of life (work, a request, a wait) within max_age_seconds:
 * the condition for the service manager's watchdog keep-alive. Logs the stuck farm otherwise.
 */
bool poller_alive(struct poller *p, double max_age_seconds);

/* Asks every thread to stop and joins them; interrupts waits and in-flight requests (within a second). */
void poller_stop(struct poller *p);

/*
 * Before poller_start(): a group of reports that old (stopped) also ran as one group, each report with the same
 * definition (reload.h), keeps its schedule and failure count; the rest start now. A farm whose live state old read the
 * same way (reload_activity_same()) keeps its schedule and takes its figures and health from old. A counter report
 * whose figures depend on the same settings (counter_state_key()) takes old's state, figures held included, whatever
 * else changed. old_cfg is the configuration old ran with.
 */
void poller_adopt_schedule(struct poller *p, struct poller *old, const struct config *old_cfg);

/* poller_stop(), then frees. NULL-safe. */
void poller_free(struct poller *p);
