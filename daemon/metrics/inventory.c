/* inventory: one farm's names, state and budgets as plain data; the per-farm board that publishes them */
#include "metrics/inventory.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config/reload.h"
#include "util/log.h"
#include "util/mutex.h"

int inventory_new(struct inventory **out, const char *farm_id)
{
	struct inventory *inv = calloc(1, sizeof(*inv));

	if (!inv || !(inv->farm_id = strdup(farm_id))) {
		free(inv);
		return -ENOMEM;
	}
	*out = inv;
	return 0;
}

void inventory_queue_deinit(struct inventory_queue *q)
{
	free(q->id);
	free(q->name);
	free(q->status);
	free(q->blocked_reason);
	memset(q, 0, sizeof(*q));
}

void inventory_fleet_deinit(struct inventory_fleet *f)
{
	free(f->id);
	free(f->name);
	free(f->status);
	free(f->autoscaling_status);
	memset(f, 0, sizeof(*f));
}

void inventory_budget_deinit(struct inventory_budget *b)
{
	free(b->id);
	free(b->name);
	free(b->status);
	free(b->queue_id);
	for (size_t i = 0; i < b->n_actions; i++)
		free(b->actions[i].type);
	free(b->actions);
	memset(b, 0, sizeof(*b));
}

void inventory_free(struct inventory *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; i < inv->n_queues; i++)
		inventory_queue_deinit(&inv->queues[i]);
	for (size_t i = 0; i < inv->n_fleets; i++)
		inventory_fleet_deinit(&inv->fleets[i]);
	for (size_t i = 0; i < inv->n_budgets; i++)
		inventory_budget_deinit(&inv->budgets[i]);
	free(inv->queues);
	free(inv->fleets);
	free(inv->budgets);
	free(inv->farm_id);
	free(inv->farm_name);
	free(inv);
}

/* Grows *array by one zeroed element of size bytes; NULL at INVENTORY_ITEMS_MAX or out of memory. */
static void *array_add(void **array, size_t *n, size_t size)
{
	char *grown;

	if (*n >= INVENTORY_ITEMS_MAX)
		return NULL;
	grown = realloc(*array, (*n + 1) * size);
	if (!grown)
		return NULL;
	*array = grown;
	memset(grown + *n * size, 0, size);
	return grown + (*n)++ * size;
}

struct inventory_queue *inventory_add_queue(struct inventory *inv)
{
	return array_add((void **)&inv->queues, &inv->n_queues, sizeof(*inv->queues));
}

struct inventory_fleet *inventory_add_fleet(struct inventory *inv)
{
	return array_add((void **)&inv->fleets, &inv->n_fleets, sizeof(*inv->fleets));
}

struct inventory_budget *inventory_add_budget(struct inventory *inv)
{
	return array_add((void **)&inv->budgets, &inv->n_budgets, sizeof(*inv->budgets));
}

/* ---- the board ---- */

struct board_farm {
	char *farm_id;
	struct inventory *inv;
	bool up;
	int64_t last_success;
};

struct inventory_board {
	pthread_mutex_t lock;
	struct metrics_store *store;
	struct board_farm *farms;
	size_t n_farms;
};

static void board_lock(struct inventory_board *board)
{
	mutex_lock(&board->lock);
}

static void board_unlock(struct inventory_board *board)
{
	mutex_unlock(&board->lock);
}

int inventory_board_new(struct inventory_board **out, struct metrics_store *store)
{
	struct inventory_board *board = calloc(1, sizeof(*board));

	if (!board)
		return -ENOMEM;
	pthread_mutex_init(&board->lock, NULL);
	board->store = store;
	*out = board;
	return 0;
}

static void board_farms_free(struct board_farm *farms, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(farms[i].farm_id);
		inventory_free(farms[i].inv);
	}
	free(farms);
}

void inventory_board_free(struct inventory_board *board)
{
	if (!board)
		return;
	board_farms_free(board->farms, board->n_farms);
	pthread_mutex_destroy(&board->lock);
	free(board);
}

/* Renders every farm and hands the text to the store; under the board's lock. A failure keeps the old text. */
static void board_render(struct inventory_board *board)
{
	struct inventory_farm *view = calloc(board->n_farms ? board->n_farms : 1, sizeof(*view));
	struct buf b = {0};

	for (size_t i = 0; view && i < board->n_farms; i++)
		view[i] = (struct inventory_farm){.farm_id = board->farms[i].farm_id,
			.inv = board->farms[i].inv,
			.up = board->farms[i].up,
			.last_success = board->farms[i].last_success};
	if (!view || inventory_render(&b, view, board->n_farms) < 0 ||
		metrics_store_set_inventory(board->store, b.data, b.len) < 0)
		log_error("component=inventory op=render error=\"out of memory; the previous inventory is shown\"");
	free(view);
	buf_deinit(&b);
}

static struct board_farm *board_find(struct inventory_board *board, const char *farm_id)
{
	for (size_t i = 0; i < board->n_farms; i++)
		if (strcmp(board->farms[i].farm_id, farm_id) == 0)
			return &board->farms[i];
	return NULL;
}

int inventory_board_set_farms(struct inventory_board *board, const struct config *old_cfg, const struct config *cfg)
{
	size_t n = cfg->inventory.enabled ? cfg->n_farms : 0;
	struct board_farm *farms = calloc(n ? n : 1, sizeof(*farms));

	if (!farms)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		farms[i].farm_id = strdup(cfg->farms[i].id);
		if (!farms[i].farm_id) {
			board_farms_free(farms, i);
			return -ENOMEM;
		}
	}
	board_lock(board);
	for (size_t i = 0; i < n; i++) {
		struct board_farm *old = board_find(board, farms[i].farm_id);

		if (!old || !old_cfg || !reload_inventory_same(old_cfg, cfg, farms[i].farm_id))
			continue;
		farms[i].inv = old->inv;
		farms[i].up = old->up;
		farms[i].last_success = old->last_success;
		old->inv = NULL;
	}
	board_farms_free(board->farms, board->n_farms);
	board->farms = farms;
	board->n_farms = n;
	board_render(board);
	board_unlock(board);
	return 0;
}

int inventory_board_publish(struct inventory_board *board, const char *farm_id, struct inventory *inv, int64_t now)
{
	struct board_farm *f;
	int r = 0;

	board_lock(board);
	f = board_find(board, farm_id);
	if (!f) {
		inventory_free(inv);
		r = -ENOENT;
	} else {
		inventory_free(f->inv);
		f->inv = inv;
		f->up = true;
		f->last_success = now;
		board_render(board);
	}
	board_unlock(board);
	return r;
}

void inventory_board_fail(struct inventory_board *board, const char *farm_id)
{
	struct board_farm *f;

	board_lock(board);
	f = board_find(board, farm_id);
	if (f && f->up) {
		f->up = false;
		board_render(board);
	}
	board_unlock(board);
}

void inventory_board_read(struct inventory_board *board, const char *farm_id,
	void (*read)(void *ctx, const struct inventory *inv), void *ctx)
{
	struct board_farm *f;

	board_lock(board);
	f = board_find(board, farm_id);
	read(ctx, f ? f->inv : NULL);
	board_unlock(board);
}
