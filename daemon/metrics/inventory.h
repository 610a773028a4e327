/* inventory: one farm's names, state and budgets as plain data; the board that hands each farm's section to the store
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "metrics/section.h"
#include "metrics/store.h"

/* Bounds on what one farm's inventory holds (the API's pages are bounded by the lister). */
#define INVENTORY_ITEMS_MAX 10000 /* queues, fleets or budgets of one farm */
#define INVENTORY_ACTIONS_MAX 10 /* actions of one budget (the model's maximum) */
#define INVENTORY_TEXT_MAX 1024 /* bytes of a name or an enum value kept */

/* Enums are kept as the API spelled them: a value this version does not know survives as itself. */
struct inventory_queue {
	char *id; /* queue-<32 hex> */
	char *name; /* displayName, any text */
	char *status; /* IDLE SCHEDULING SCHEDULING_BLOCKED … */
	char *blocked_reason; /* or NULL */
};

struct inventory_fleet {
	char *id;
	char *name;
	char *status; /* the FleetStatus enum */
	char *autoscaling_status; /* GROWING STEADY SHRINKING, or NULL */
	bool has_workers, has_target, has_min, has_max;
	int64_t workers, target_workers, min_workers, max_workers;
};

struct inventory_budget_action {
	char *type; /* STOP_SCHEDULING_AND_COMPLETE_TASKS … */
	double threshold_percentage; /* 0 to 100 */
};

struct inventory_budget {
	char *id; /* budget-<32 hex> */
	char *name;
	char *status; /* ACTIVE INACTIVE … */
	char *queue_id; /* usageTrackingResource.queueId, or NULL */
	bool has_limit, has_usage;
	double limit_usd, usage_usd;
	/* from GetBudget */
	bool has_schedule, has_queue_stopped;
	int64_t start_time, end_time, queue_stopped_at; /* Unix seconds */
	struct inventory_budget_action *actions;
	size_t n_actions;
};

struct inventory {
	char *farm_id;
	char *farm_name; /* GetFarm displayName */
	char *account_id; /* the farm's AWS account: its role's, else the caller's; NULL when not known yet */
	char *region; /* the farm's region (farms[].region, else the exporter's), or NULL */
	bool has_cost_scale_factor;
	double cost_scale_factor;
	struct inventory_queue *queues;
	size_t n_queues;
	struct inventory_fleet *fleets;
	size_t n_fleets;
	struct inventory_budget *budgets;
	size_t n_budgets;
};

/* An empty inventory of farm_id. Returns 0 or -ENOMEM. */
int inventory_new(struct inventory **out, const char *farm_id);
/* NULL-safe. */
void inventory_free(struct inventory *inv);
/* Free an element's strings and zero it. */
void inventory_queue_deinit(struct inventory_queue *q);
void inventory_fleet_deinit(struct inventory_fleet *f);
void inventory_budget_deinit(struct inventory_budget *b);

/* Appends a zeroed element to the inventory's array (at most INVENTORY_ITEMS_MAX). Returns it, or NULL. */
struct inventory_queue *inventory_add_queue(struct inventory *inv);
struct inventory_fleet *inventory_add_fleet(struct inventory *inv);
struct inventory_budget *inventory_add_budget(struct inventory *inv);

/* One farm as rendered: its latest complete inventory and the health of its listings. */
struct inventory_farm {
	const char *farm_id;
	const struct inventory *inv; /* NULL before the first success */
	bool up; /* the last listing succeeded */
	int64_t last_success; /* Unix seconds, 0 before the first */
};

/* The inventory's families: a section per farm, each family's lines of every farm together. */
extern struct metrics_kind inventory_kind;

/*
 * Renders the series of one farm (every inventory family's lines, label values escaped by exposition.h) into sec,
 * of the inventory kind, not sealed. Returns 0 or -ENOMEM.
 */
int inventory_render(struct metrics_section *sec, const struct inventory_farm *farm);

/* inventory_render() into a new sealed section of one reference. Returns 0 or -ENOMEM. */
int inventory_section_new(struct metrics_section **out, const struct inventory_farm *farm);

/*
 * The farms' inventories between the listing threads and the store: each farm's section is rendered by the thread
 * that changes it, without the board's lock, and put into the store (metrics_store_put(), keyed by farm id).
 */
struct inventory_board;

/* A board that hands its farms' sections to store. Returns 0 or -ENOMEM. */
int inventory_board_new(struct inventory_board **out, struct metrics_store *store);
void inventory_board_free(struct inventory_board *board);

/*
 * Declares the farms of cfg whose inventory is listed (none when inventory.enabled is false): farms no
 * longer there disappear; a farm whose inventory old_cfg (the running configuration, or NULL) listed the
 * same way (reload_inventory_same()) keeps its inventory and health, the others start empty.
 * Thread-safe. Returns 0 or -ENOMEM (nothing changed).
 */
int inventory_board_set_farms(struct inventory_board *board, const struct config *old_cfg, const struct config *cfg);

/*
 * A listing of farm_id succeeded: inv (taken, whole) replaces its previous inventory, up=1, last success =
 * now. Thread-safe. Returns 0, -ENOENT (not declared: inv freed), -ENOMEM (the previous section stays shown).
 */
int inventory_board_publish(struct inventory_board *board, const char *farm_id, struct inventory *inv, int64_t now);

/* A listing of farm_id failed: up=0, the previous inventory kept whole. Thread-safe. */
void inventory_board_fail(struct inventory_board *board, const char *farm_id);

/*
 * Calls read(ctx, inv) with farm_id's latest complete inventory (NULL before its first success, or for a farm not
 * declared), held by a reference for the call: a listing published meanwhile replaces it without waiting. inv is
 * read-only. Thread-safe.
 */
void inventory_board_read(struct inventory_board *board, const char *farm_id,
	void (*read)(void *ctx, const struct inventory *inv), void *ctx);

/*
 * The queue and fleet ids of farm_id's latest inventory, for the farm's live state (deadline/activity): *queues and
 * *fleets (each id and the arrays malloc'd; free them with inventory_ids_free()). Thread-safe. Returns 0, -ENOENT
 * (no inventory of the farm yet: not listed, or never successfully) or -ENOMEM.
 */
int inventory_board_ids(struct inventory_board *board, const char *farm_id, char ***queues, size_t *n_queues,
	char ***fleets, size_t *n_fleets);
/* Frees n ids and their array. NULL-safe. */
void inventory_ids_free(char **ids, size_t n);
