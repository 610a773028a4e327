/* sim_spend: sessions that start while the simulator runs: a steady schedule (--live-sessions) and bursts on demand */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_data.h"

#define SIM_SPEND_MAX_PER_MINUTE 600.0
#define SIM_SPEND_MAX_SESSIONS 1000000 /* over all farms: a day at the highest rate, and bursts */
#define SIM_SPEND_MAX_BURST 10000

/* A farm's live sessions in (start, seq) order: appended with non-decreasing starts. */
struct sim_spend_farm {
	struct sim_session *sessions;
	size_t n, cap;
	uint32_t *jobs; /* the farm's job indexes, for bursts */
	size_t n_jobs;
};

/*
 * The schedule's session k (k = 0, 1, …) starts at origin + floor((k + 1) × 60 / per_minute) UTC seconds; its job
 * and usage come from a stream of the seed drawn in k's order, so the same seed and rate give the same sessions at
 * the same offsets from the origin. Bursts start at the next whole second, from a stream of their own.
 */
struct sim_spend {
	double per_minute; /* 0: no schedule */
	int64_t origin; /* UTC seconds: when the simulator started */
	uint64_t next; /* the schedule's next session not added yet */
	uint32_t next_seq; /* after the history's: live sessions sort after every history one of the same second */
	size_t total;
	struct sim_rng schedule_rng, burst_rng;
	uint64_t bursts;
	struct sim_spend_farm farms[SIM_FARMS];
};

/* Sets up l for the world (no session yet). Returns 0 or -ENOMEM. */
int sim_spend_init(struct sim_spend *l, const struct sim_world *w, double per_minute, int64_t origin);
void sim_spend_deinit(struct sim_spend *l);

/* CLOCK_REALTIME in seconds. */
double sim_realtime(void);

/* Under the state's lock: adds the scheduled sessions that started by now (UTC seconds). Returns 0 or -ENOMEM. */
int sim_spend_catch_up(struct sim_spend *l, const struct sim_world *w, double now);

/*
 * Under the state's lock: a copy (malloc'd, in order) of farm's live sessions that have started by now, in
 * *out / *n (NULL / 0 for none). Returns 0 or -ENOMEM.
 */
int sim_spend_copy(const struct sim_spend *l, size_t farm, double now, struct sim_session **out, size_t *n);

/*
 * Under the state's lock: n sessions of farm (of queue, unless it is negative) starting at the next whole second
 * after now (*start_out), each costing about cost_usd (all of them: *total_usd); all of them or none. Returns 0,
 * -ENOENT (no job there), -ENOSPC (too many) or -ENOMEM.
 */
int sim_spend_burst(struct sim_spend *l, const struct sim_world *w, size_t farm, long queue, size_t n, double cost_usd,
	double now, int64_t *start_out, double *total_usd);
