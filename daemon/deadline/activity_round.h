/* activity_round: a farm's live state on its thread: a round of every operation, the figures kept between rounds,
 * the farm's section (and its region's license endpoints) handed to the store */
#pragma once

#include <stdbool.h>

#include "config/config.h"
#include "deadline/api_call.h"
#include "deadline/users.h"
#include "metrics/activity.h"
#include "metrics/inventory.h"
#include "metrics/store.h"

struct activity_round;

struct activity_round_options {
	const struct config *cfg; /* borrowed, as the rest: they outlive the round */
	const struct farm_config *farm;
	struct metrics_store *store;
	struct inventory_board *inventory; /* the queues and fleets of the farm's last inventory; NULL: listed here */
	bool license_endpoints; /* this farm lists its region's license endpoints (activity_lists_license_endpoints())
				 */
	struct user_directory *users; /* told the user ids of the jobs shown (job_info's user_id); NULL: none */
};

/* A farm's live state before its first round: no figures, activity_up 0. Returns 0 or -ENOMEM. */
int activity_round_new(struct activity_round **out, const struct activity_round_options *o);
/* NULL-safe. */
void activity_round_free(struct activity_round *r);

/*
 * Before r's thread starts (old's has stopped): when the reload keeps the farm's live state as it was
 * (reload_activity_same() of old_cfg and r's configuration), r takes old's figures and health, and its license
 * endpoints when both list them.
 */
void activity_round_adopt(struct activity_round *r, struct activity_round *old, const struct config *old_cfg);

/* Hands the store r's sections as they stand: at its thread's start, so that a farm that starts afresh shows it. */
void activity_round_show(struct activity_round *r);

/*
 * One round on the calling thread (a's): the farm's queues and fleets (the configuration's lists, else the
 * inventory's, else ListQueues / ListFleets), then ListWorkers of every fleet, SearchJobs over every queue's active
 * jobs, ListQueueFleetAssociations, ListLimits and, when r lists them, ListLicenseEndpoints. Each operation's
 * figures replace the previous ones only when it was read whole: a failing one (AccessDenied, say) keeps its last
 * figures and sets activity_up to 0 while the others move on. The sections go to the store, rendered on this
 * thread. Returns 0 when every operation was read, else the first failure (an enum api_outcome, API_STOPPED when
 * stopping: then nothing is shown) or -errno.
 */
int activity_round_run(struct activity_round *r, struct api_caller *a);
