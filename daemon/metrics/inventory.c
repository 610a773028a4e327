/* inventory: one farm's names, state and budgets as plain data; the per-farm board that publishes them */
#include "metrics/inventory.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
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
	free(inv->account_id);
	free(inv->region);
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

/* A farm's inventory, shared by the board and a thread rendering it without the board's lock. */
struct board_inventory {
	atomic_size_t refs;
	struct inventory *inv;
};

struct board_farm {
	char *farm_id;
	struct board_inventory *inv; /* NULL before the first success */
	bool up;
	int64_t last_success;
	uint64_t gen; /* the board's generation of the farm's last change */
};

struct inventory_board {
	pthread_mutex_t lock; /* the farms; held to change them and hand their sections over, never to render */
	struct metrics_store *store;
	struct board_farm *farms;
	size_t n_farms;
	uint64_t gen;
};

static void board_inventory_unref(struct board_inventory *bi)
{
	if (!bi || atomic_fetch_sub(&bi->refs, 1) != 1)
		return;
	inventory_free(bi->inv);
	free(bi);
}

static struct board_inventory *board_inventory_ref(struct board_inventory *bi)
{
	if (bi)
		atomic_fetch_add(&bi->refs, 1);
	return bi;
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
		board_inventory_unref(farms[i].inv);
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

static struct board_farm *board_find(struct inventory_board *board, const char *farm_id)
{
	for (size_t i = 0; i < board->n_farms; i++)
		if (strcmp(board->farms[i].farm_id, farm_id) == 0)
			return &board->farms[i];
	return NULL;
}

/* The section of farm f as it stands (f may be a copy taken under the lock). */
static int farm_section(struct metrics_section **out, const struct board_farm *f)
{
	const struct inventory_farm view = {.farm_id = f->farm_id,
		.inv = f->inv ? f->inv->inv : NULL,
		.up = f->up,
		.last_success = f->last_success};

	return inventory_section_new(out, &view);
}

/* Hands farm_id's section to the store (the board's lock held: sections of one farm go in the order made). */
static void board_put(struct inventory_board *board, const char *farm_id, struct metrics_section *sec)
{
	int r = metrics_store_put(board->store, &inventory_kind, farm_id, sec);

	if (r < 0)
		log_error(
			"component=inventory farm=%s op=render error=\"%s\" reason=\"the previous inventory is shown\"",
			farm_id, strerror(-r));
}

/* Frees farms[0..n), and the n_empty sections set_farms made that were not used. */
static void farms_made_free(
	struct board_farm *farms, size_t n, struct metrics_section **empty, const char **ids, size_t n_empty)
{
	for (size_t i = 0; empty && i < n_empty; i++)
		metrics_section_unref(empty[i]);
	free(empty);
	free(ids);
	if (farms)
		board_farms_free(farms, n);
}

int inventory_board_set_farms(struct inventory_board *board, const struct config *old_cfg, const struct config *cfg)
{
	size_t n = cfg->inventory.enabled ? cfg->n_farms : 0;
	struct board_farm *farms = calloc(n ? n : 1, sizeof(*farms)), *old_farms;
	struct metrics_section **empty = calloc(n ? n : 1, sizeof(*empty));
	const char **ids = calloc(n ? n : 1, sizeof(*ids));
	size_t old_n;
	int r = 0;

	/* Every farm's section as if it started empty, made before the lock (those that keep theirs go unused). */
	for (size_t i = 0; farms && empty && ids && i < n && r == 0; i++) {
		farms[i].farm_id = strdup(cfg->farms[i].id);
		ids[i] = farms[i].farm_id;
		r = farms[i].farm_id ? farm_section(&empty[i], &farms[i]) : -ENOMEM;
	}
	if (!farms || !empty || !ids || r < 0) {
		farms_made_free(farms, n, empty, ids, n);
		return -ENOMEM;
	}
	mutex_lock(&board->lock);
	r = metrics_store_declare(board->store, &inventory_kind, ids, n);
	if (r < 0) {
		mutex_unlock(&board->lock);
		farms_made_free(farms, n, empty, ids, n);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		struct board_farm *old = board_find(board, farms[i].farm_id);

		farms[i].gen = ++board->gen;
		if (old && old_cfg && reload_inventory_same(old_cfg, cfg, farms[i].farm_id)) {
			farms[i].inv = old->inv;
			farms[i].up = old->up;
			farms[i].last_success = old->last_success;
			old->inv = NULL;
			continue;
		}
		board_put(board, farms[i].farm_id, empty[i]);
		empty[i] = NULL;
	}
	old_farms = board->farms;
	old_n = board->n_farms;
	board->farms = farms;
	board->n_farms = n;
	mutex_unlock(&board->lock);
	farms_made_free(old_farms, old_n, empty, ids, n);
	return 0;
}

int inventory_board_publish(struct inventory_board *board, const char *farm_id, struct inventory *inv, int64_t now)
{
	struct board_inventory *bi = calloc(1, sizeof(*bi)), *old = NULL;
	struct board_farm made = {.farm_id = (char *)farm_id, .inv = bi, .up = true, .last_success = now}, *f;
	struct metrics_section *sec = NULL;
	int r;

	if (!bi) {
		inventory_free(inv);
		return -ENOMEM;
	}
	atomic_init(&bi->refs, 1);
	bi->inv = inv;
	/* Rendered by this thread before the lock: the board only swaps it in. */
	r = farm_section(&sec, &made);
	mutex_lock(&board->lock);
	f = board_find(board, farm_id);
	if (!f) {
		r = -ENOENT;
	} else if (r == 0) {
		old = f->inv;
		f->inv = bi;
		bi = NULL;
		f->up = true;
		f->last_success = now;
		f->gen = ++board->gen;
		board_put(board, farm_id, sec);
		sec = NULL;
	}
	mutex_unlock(&board->lock);
	if (r == -ENOMEM)
		log_error(
			"component=inventory farm=%s op=render error=\"out of memory\" reason=\"the previous inventory "
			"is shown\"",
			farm_id);
	metrics_section_unref(sec);
	board_inventory_unref(old);
	board_inventory_unref(bi);
	return r;
}

void inventory_board_fail(struct inventory_board *board, const char *farm_id)
{
	struct board_farm made = {0}, *f;
	struct metrics_section *sec = NULL;
	uint64_t gen;

	mutex_lock(&board->lock);
	f = board_find(board, farm_id);
	if (!f || !f->up) {
		mutex_unlock(&board->lock);
		return;
	}
	f->up = false;
	gen = f->gen = ++board->gen;
	made = *f;
	made.farm_id = strdup(farm_id);
	board_inventory_ref(made.inv);
	mutex_unlock(&board->lock);

	/* Rendered from a reference to the inventory, without the lock; handed over unless the farm changed since. */
	if (made.farm_id && farm_section(&sec, &made) == 0) {
		mutex_lock(&board->lock);
		f = board_find(board, farm_id);
		if (f && f->gen == gen) {
			board_put(board, farm_id, sec);
			sec = NULL;
		}
		mutex_unlock(&board->lock);
	} else {
		log_error("component=inventory farm=%s op=render error=\"out of memory\" reason=\"inventory_up stays 1 "
			  "until the next listing\"",
			farm_id);
	}
	metrics_section_unref(sec);
	board_inventory_unref(made.inv);
	free(made.farm_id);
}

void inventory_board_read(struct inventory_board *board, const char *farm_id,
	void (*read)(void *ctx, const struct inventory *inv), void *ctx)
{
	struct board_inventory *bi = NULL;
	struct board_farm *f;

	/* A reference taken under the lock; the inventory is read without it, as a renderer reads it. */
	mutex_lock(&board->lock);
	f = board_find(board, farm_id);
	if (f)
		bi = board_inventory_ref(f->inv);
	mutex_unlock(&board->lock);
	read(ctx, bi ? bi->inv : NULL);
	board_inventory_unref(bi);
}

void inventory_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
}

/* A copy of inv's queue or fleet ids. Returns the array, or NULL without memory. */
static char **ids_copy(const struct inventory *inv, bool fleets)
{
	size_t n = fleets ? inv->n_fleets : inv->n_queues;
	char **ids = calloc(n ? n : 1, sizeof(*ids));

	for (size_t i = 0; ids && i < n; i++) {
		ids[i] = strdup(fleets ? inv->fleets[i].id : inv->queues[i].id);
		if (!ids[i]) {
			inventory_ids_free(ids, i);
			return NULL;
		}
	}
	return ids;
}

/* What inventory_board_ids() asks of the board's reader. */
struct ids_copy {
	char **queues, **fleets;
	size_t n_queues, n_fleets;
	int ret;
};

/* Copied from a reference, without the lock: the listing thread may publish meanwhile. */
static void ids_read(void *ctx, const struct inventory *inv)
{
	struct ids_copy *c = ctx;

	if (!inv) {
		c->ret = -ENOENT;
		return;
	}
	c->queues = ids_copy(inv, false);
	c->fleets = ids_copy(inv, true);
	if (!c->queues || !c->fleets) {
		inventory_ids_free(c->queues, c->queues ? inv->n_queues : 0);
		inventory_ids_free(c->fleets, c->fleets ? inv->n_fleets : 0);
		c->queues = c->fleets = NULL;
		c->ret = -ENOMEM;
		return;
	}
	c->n_queues = inv->n_queues;
	c->n_fleets = inv->n_fleets;
}

int inventory_board_ids(struct inventory_board *board, const char *farm_id, char ***queues, size_t *n_queues,
	char ***fleets, size_t *n_fleets)
{
	struct ids_copy c = {0};

	inventory_board_read(board, farm_id, ids_read, &c);
	*queues = c.queues;
	*fleets = c.fleets;
	*n_queues = c.n_queues;
	*n_fleets = c.n_fleets;
	return c.ret;
}
