/* sim_data: the simulator's synthetic world: farms, queues, fleets, budgets, jobs, users, sessions (immutable) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_FARMS 3
#define SIM_HEX_ID_LEN 32
#define SIM_NONE UINT8_MAX /* no instance type / license product */
/* An IAM Identity Center user id as the identity store spells it: "<10 hex>-" and a UUID (ResourceId). */
#define SIM_USER_ID_LEN 47
#define SIM_IDENTITY_STORE_ID_LEN 12 /* "d-" + 10 hex */
#define SIM_BUDGET_ACTIONS_MAX 2

/* Session usage types; SIM_USAGE_GPU_BURST only with --new-usage-type. */
enum sim_usage_type {
	SIM_USAGE_COMPUTE,
	SIM_USAGE_LICENSE,
	SIM_USAGE_PERSISTENT_VOLUME,
	SIM_USAGE_GPU_BURST,
	SIM_USAGE_COUNT,
};

struct sim_world_params {
	uint64_t seed;
	int64_t epoch; /* UTC seconds: sessions start in [epoch - 100 days, epoch) */
	size_t n_jobs; /* over all farms */
	size_t n_users;
	size_t n_sessions; /* over all farms, before the --new-usage-type extra */
	size_t first_farm_queues; /* 0: the default (25) */
	size_t first_farm_fleets; /* 0: the default (6) */
	bool new_usage_type;
};

struct sim_queue {
	char id[6 + SIM_HEX_ID_LEN + 1]; /* "queue-" + hex */
	char *display_name;
	int production, department; /* "Production - Department" (sim_productions, sim_departments), or -1 */
	const char *status;
	const char *blocked_reason; /* NULL unless SCHEDULING_BLOCKED */
	const char *default_budget_action;
	int64_t created_at; /* UTC seconds */
};

struct sim_fleet {
	char id[6 + SIM_HEX_ID_LEN + 1]; /* "fleet-" + hex */
	char *display_name;
	const char *status; /* FleetStatus */
	const char *status_message; /* NULL, or why it failed */
	bool customer_managed;
	bool scaling; /* workers follow the inventory clock; autoScalingStatus and targetWorkerCount present */
	int min_workers, max_workers;
	unsigned phase; /* where in its cycle the fleet is at step 0 */
	int64_t created_at;
};

/* A fleet's size at one step of the inventory clock (see sim_fleet_at). */
struct sim_fleet_now {
	int workers, target; /* target: -1 when the fleet does not report one */
	const char *autoscaling; /* GROWING / STEADY / SHRINKING, or NULL */
};

struct sim_budget_action {
	const char *type; /* BudgetActionType */
	double threshold; /* percent */
};

struct sim_budget {
	char id[7 + SIM_HEX_ID_LEN + 1]; /* "budget-" + hex */
	char *display_name;
	const char *description; /* NULL for none */
	uint32_t queue; /* usageTrackingResource.queueId */
	bool active; /* ACTIVE / INACTIVE */
	double limit, usage; /* USD */
	int64_t start, end; /* schedule.fixed, UTC seconds */
	int64_t created_at, updated_at; /* updated_at 0: never */
	int64_t queue_stopped_at; /* 0: the budget has not stopped its queue */
	struct sim_budget_action actions[SIM_BUDGET_ACTIONS_MAX];
	size_t n_actions;
};

/* An identity store user; deleted ones are in the usage records but DescribeUser does not find them. */
struct sim_user {
	char id[SIM_USER_ID_LEN + 1];
	char *user_name;
	char *display_name;
	bool deleted;
};

struct sim_job {
	char id[4 + SIM_HEX_ID_LEN + 1]; /* "job-" + hex */
	char *name; /* 1 to 128 characters, some hostile */
	uint32_t farm, queue, user;
};

/* Where a session comes from: the history made at start, or added while the simulator runs (sim_spend). */
enum sim_session_kind {
	SIM_SESSION_HISTORY,
	SIM_SESSION_SCHEDULED, /* --live-sessions */
	SIM_SESSION_BURST, /* POST /__sim/spend */
};

/* One source record; indexes point into the farm (queue, fleet) or the world (job, user, tables). */
struct sim_session {
	int64_t start; /* UTC seconds */
	double runtime; /* seconds */
	double cost; /* USD */
	uint32_t queue, fleet, job, user;
	uint8_t usage_type; /* enum sim_usage_type */
	uint8_t instance_type; /* index into sim_instance_types, or SIM_NONE */
	uint8_t license_product; /* index into sim_license_products, or SIM_NONE */
	uint8_t kind; /* enum sim_session_kind */
	uint32_t seq; /* generation order: the tie-break that keeps the order stable */
};

struct sim_farm {
	char id[5 + SIM_HEX_ID_LEN + 1]; /* "farm-" + hex */
	uint8_t raw_id[SIM_HEX_ID_LEN / 2]; /* the id's bytes, for binding pagination tokens */
	char *display_name;
	const char *description; /* NULL for none */
	double cost_scale_factor;
	int64_t created_at;
	struct sim_budget *budgets;
	size_t n_budgets;
	struct sim_queue *queues;
	size_t n_queues;
	struct sim_fleet *fleets;
	size_t n_fleets;
	struct sim_session *sessions; /* sorted by start time, then by generation order */
	size_t n_sessions;
};

struct sim_world {
	uint64_t seed;
	int64_t epoch;
	bool new_usage_type;
	struct sim_farm farms[SIM_FARMS];
	struct sim_job *jobs;
	size_t n_jobs;
	struct sim_user *users;
	size_t n_users;
	char identity_store_id[SIM_IDENTITY_STORE_ID_LEN + 1];
};

extern const char *const sim_usage_type_names[SIM_USAGE_COUNT];
/* Fleets per farm unless --fleets changes the first farm's. */
extern const size_t sim_default_fleets[SIM_FARMS];
extern const char *const sim_instance_types[];
extern const size_t sim_n_instance_types;
extern const char *const sim_license_products[];
extern const size_t sim_n_license_products;
/* The studio's naming convention: queues "Production - Department", jobs "show_sh0393_dept_v012". */
extern const char *const sim_productions[];
extern const size_t sim_n_productions;
extern const char *const sim_departments[];
extern const size_t sim_n_departments;

/* Builds the world for params (deterministic for a seed and epoch). Returns 0, -EINVAL or -ENOMEM. */
int sim_world_new(struct sim_world **out, const struct sim_world_params *params);
void sim_world_free(struct sim_world *w);

/* The farm with this id, or -1. */
int sim_world_find_farm(const struct sim_world *w, const char *farm_id);
/* The index of a queue (fleet) id within farm, or -1. */
long sim_farm_find_queue(const struct sim_farm *f, const char *queue_id);
long sim_farm_find_fleet(const struct sim_farm *f, const char *fleet_id);

/*
 * 32 lowercase hex characters derived from the seed and a label with SHA-256, written to out
 * (33 bytes with the NUL); raw receives the 16 bytes when not NULL. Returns 0 or -EIO.
 */
int sim_derive_hex(uint64_t seed, const char *label, char out[SIM_HEX_ID_LEN + 1], uint8_t raw[SIM_HEX_ID_LEN / 2]);

/* A label built with printf, derived, with prefix prepended to the hex ("queue-"). Returns 0, -EINVAL or -EIO. */
int sim_derive_id(uint64_t seed, char *out, size_t outlen, const char *prefix, uint8_t *raw, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* vasprintf into a new string, or NULL. */
char *sim_dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Inventory (sim_inv.c): farm names, queue and fleet states, budgets, the identity store's users. */
int sim_inventory_build(struct sim_world *w);
void sim_inventory_free(struct sim_world *w);
/* The fleet's workers at step of the inventory clock: a deterministic cycle between min and max. */
void sim_fleet_at(const struct sim_fleet *fl, uint64_t step, struct sim_fleet_now *out);
/* The user with this id (deleted ones included), or -1. */
long sim_world_find_user(const struct sim_world *w, const char *user_id);

/* splitmix64: a small deterministic generator. */
struct sim_rng {
	uint64_t state;
};
void sim_rng_seed(struct sim_rng *r, uint64_t seed, const char *stream);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, 1). */
double sim_rng_unit(struct sim_rng *r);
/* Uniform in [0, n), n > 0. */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);

/*
 * A session of a job (index into w->jobs) without its start: queue, fleet (drawn), user, usage type, runtime and
 * cost drawn from rng as the generated history draws them, so sessions added while the simulator runs look alike.
 */
void sim_session_draw(const struct sim_world *w, struct sim_rng *rng, size_t job, struct sim_session *s);
/* The hourly rate (USD) of a session's instance type, license product or volume. */
double sim_session_rate(const struct sim_session *s);
/* Makes s a COMPUTE session on its fleet's first instance type whose runtime costs about cost (USD). */
void sim_session_set_cost(struct sim_session *s, double cost);

/* Two session arrays in (start, seq) order read as one (the history and the live sessions of a farm). */
struct sim_session_cursor {
	const struct sim_session *a, *b;
	size_t na, nb, ia, ib;
};
/* Positions c at the first session of a or b starting at or after first_second (UTC seconds). */
void sim_session_cursor_init(struct sim_session_cursor *c, const struct sim_session *a, size_t na,
	const struct sim_session *b, size_t nb, int64_t first_second);
/* The next session in (start, seq) order, or NULL after the last. */
const struct sim_session *sim_session_cursor_next(struct sim_session_cursor *c);
