/* worker: one background thread of deadline/ (a farm's refreshes, its inventory, the user names…): stopping,
 * sleeping until a time, the watchdog's heartbeat, jitter, and its own way to the API */
#pragma once

#include <stdbool.h>

#include "aws/credentials/aws_credentials.h"
#include "deadline/api_call.h"
#include "metrics/store.h"

/* How often a sleeping worker shows it is alive (the watchdog's keep-alives depend on it). */
#define WORKER_HEARTBEAT_S 5.0

/*
 * Workers that stop together: one stop (which also cancels their requests in flight), one condition variable
 * on the monotonic clock, and optionally one retry quota shared by all their calls.
 */
struct worker_group;
struct worker;

struct worker_group_options {
	bool shared_quota; /* every worker's retries draw on one api_quota (the farms'); false: no quota */
	double (*clock)(void); /* monotonic seconds; NULL: monotime_s() */
	double heartbeat_seconds; /* a sleeping worker beats this often; <= 0: WORKER_HEARTBEAT_S */
};

/* A group (NULL options: defaults, no quota). Returns 0 or -ENOMEM. */
int worker_group_new(struct worker_group **out, const struct worker_group_options *o);

/*
 * Asks every worker of g to stop: their sleeps end at once, their requests in flight within a second; then joins
 * the started ones. The group cannot start again. NULL-safe, and a second call does nothing.
 */
void worker_group_stop(struct worker_group *g);

/*
 * True when every worker of g showed a sign of life (work, a request, a sleep) within max_age_seconds of g's
 * clock; otherwise logs the first silent one and returns false. The service manager's watchdog condition.
 */
bool worker_group_alive(struct worker_group *g, double max_age_seconds);

/* worker_group_stop(), then frees g and every worker in it. NULL-safe. */
void worker_group_free(struct worker_group *g);

/* What a worker's calls need (endpoint NULL: a worker without API, whose worker_api() is NULL). */
struct worker_options {
	const char *endpoint; /* http(s)://host[:port][/prefix]: copied, trailing '/' dropped */
	const char *region; /* signing region: copied */
	const char *service; /* SigV4 signing name: static; NULL: "deadline" */
	const char *ca_file; /* or NULL: the system store */
	struct aws_credentials_provider *creds; /* borrowed: outlives the group */
	struct metrics_store *store; /* borrowed, or NULL: request counters */
	const char *farm_id; /* borrowed: logs and the watchdog name the worker by it; "-" when account-wide */
};

/*
 * A worker in g (which owns it: worker_group_free() frees it), its HTTP client and API caller made from o, its
 * jitter seeded once (getrandom). Add every worker before starting any. Returns 0, -EINVAL (an endpoint that is
 * not an http(s) URL with a host) or -ENOMEM.
 */
int worker_new(struct worker **out, struct worker_group *g, const struct worker_options *o);

/*
 * Starts w's thread, at a lower priority than the scrapes' (background work with minutes of slack), running
 * run(w, arg) until it returns; run should return soon after worker_stopping() turns true. Returns 0 or -errno.
 */
int worker_start(struct worker *w, void (*run)(struct worker *w, void *arg), void *arg);

/* True once the group is stopping. */
bool worker_stopping(const struct worker *w);

/* The group's clock, in seconds (monotime_s() unless a test gave another). */
double worker_clock(const struct worker *w);

/*
 * Sleeps until until (worker_clock() seconds; INFINITY: until stopped), beating the heartbeat meanwhile.
 * Returns false when the group stops (at once), true when the time has come.
 */
bool worker_sleep_until(struct worker *w, double until);
/* worker_sleep_until(w, worker_clock(w) + seconds). */
bool worker_sleep(struct worker *w, double seconds);

/*
 * As worker_sleep_until(), but also returns true early when worker_wake() was called since the last such wait:
 * for a thread that others hand work to (the user names).
 */
bool worker_wait_until(struct worker *w, double until);

/* Ends w's current or next worker_wait_until(). Thread-safe. */
void worker_wake(struct worker *w);

/* Records a sign of life now (a thread busy with other things than calls and sleeps). */
void worker_beat(struct worker *w);

/* A random number in [0, 1) from w's jitter state (not for security). */
double worker_jitter(struct worker *w);

/* w's way to the API (its HTTP client, credentials, endpoint, retries), or NULL for a worker without one. */
struct api_caller *worker_api(struct worker *w);
