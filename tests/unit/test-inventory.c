/* test-inventory: parsing GetFarm/ListQueues/ListFleets/ListBudgets/GetBudget fixtures, and the rendered families */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "deadline/inventory_api.h"
#include "metrics/inventory.h"
#include "test.h"

#define FARM "farm-0123456789abcdef0123456789abcdef"
#define Q1 "queue-00000000000000000000000000000001"
#define Q2 "queue-00000000000000000000000000000002"
#define F1 "fleet-00000000000000000000000000000001"
#define B1 "budget-00000000000000000000000000000001"

static char err[512];

static bool has_line(const struct buf *b, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = b->data, *end = b->data + b->len; p && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (len == n && memcmp(p, line, n) == 0)
			return true;
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

#define PARSE(fn, body, ...) fn(body, strlen(body), __VA_ARGS__, err, sizeof(err))

static void test_parse_and_render(void)
{
	struct inventory *inv = NULL;
	struct buf b = {0};
	char *next = NULL;

	CHECK_INT(inventory_new(&inv, FARM), 0);
	CHECK_INT(PARSE(deadline_parse_farm,
			  "{\"displayName\":\"Render \\\"farm\\\" \\\\ one\\nline\",\"costScaleFactor\":1.5,"
			  "\"createdAt\":\"2026-01-01T00:00:00Z\"}",
			  inv),
		0);
	/* page 1 with a hostile name and an unknown status, page 2 without optional members */
	CHECK_INT(PARSE(deadline_parse_queues,
			  "{\"queues\":[{\"queueId\":\"" Q2
			  "\",\"displayName\":\"caf\xc3\xa9 \\u00e9\",\"status\":\"PAUSED\"},"
			  "{\"queueId\":\"" Q1 "\",\"displayName\":\"a\",\"status\":\"SCHEDULING_BLOCKED\","
			  "\"blockedReason\":\"BUDGET_THRESHOLD_REACHED\"}],\"nextToken\":\"t/2+=\"}",
			  inv, &next),
		0);
	CHECK_STR(next, "t/2+=");
	free(next);
	CHECK_INT(inv->n_queues, 2);
	/* a broken page leaves nothing behind */
	CHECK_INT(PARSE(deadline_parse_queues,
			  "{\"queues\":[{\"queueId\":\"" Q1 "\",\"displayName\":\"x\",\"status\":\"IDLE\"},"
			  "{\"queueId\":\"queue-bad\",\"displayName\":\"y\",\"status\":\"IDLE\"}]}",
			  inv, &next),
		DEADLINE_BAD_SHAPE);
	CHECK(next == NULL);
	CHECK_INT(inv->n_queues, 2);
	CHECK_INT(
		PARSE(deadline_parse_queues, "{\"queues\":[{\"queueId\":\"" Q1 "\",\"status\":\"IDLE\"}]}", inv, &next),
		DEADLINE_BAD_SHAPE);
	CHECK_INT(PARSE(deadline_parse_fleets,
			  "{\"fleets\":[{\"fleetId\":\"" F1 "\",\"displayName\":\"gpu\",\"status\":\"ACTIVE\","
			  "\"autoScalingStatus\":\"GROWING\",\"workerCount\":3,\"minWorkerCount\":0,\"maxWorkerCount\":"
			  "10}]}",
			  inv, &next),
		0);
	CHECK(inv->fleets[0].has_workers && !inv->fleets[0].has_target);
	CHECK_INT(PARSE(deadline_parse_budgets,
			  "{\"budgets\":[{\"budgetId\":\"" B1 "\",\"displayName\":\"b\",\"status\":\"ACTIVE\","
			  "\"usageTrackingResource\":{\"queueId\":\"" Q1 "\"},\"approximateDollarLimit\":100,"
			  "\"usages\":{\"approximateDollarUsage\":12.5}}]}",
			  inv, &next),
		0);
	CHECK_INT(PARSE(deadline_parse_budget,
			  "{\"budgetId\":\"" B1
			  "\",\"displayName\":\"b2\",\"status\":\"NEW_STATE\",\"approximateDollarLimit\":100,"
			  "\"usages\":{\"approximateDollarUsage\":50},\"actions\":[{\"type\":\"STOP_SCHEDULING_AND_"
			  "CANCEL_TASKS\","
			  "\"thresholdPercentage\":90},{\"type\":\"STOP_SCHEDULING_AND_CANCEL_TASKS\","
			  "\"thresholdPercentage\":80}],"
			  "\"schedule\":{\"fixed\":{\"startTime\":\"2026-01-01T00:00:00Z\",\"endTime\":\"2026-02-01T00:"
			  "00:00.5Z\"}},"
			  "\"queueStoppedAt\":\"2026-01-15T00:00:00Z\"}",
			  &inv->budgets[0]),
		0);
	CHECK_INT(PARSE(deadline_parse_budget,
			  "{\"budgetId\":\"budget-00000000000000000000000000000002\","
			  "\"displayName\":\"b\",\"status\":\"ACTIVE\"}",
			  &inv->budgets[0]),
		DEADLINE_BAD_SHAPE);
	CHECK_STR(inv->budgets[0].name, "b2");

	/* what inventory_fetch() adds: the farm's account and region */
	inv->account_id = strdup("111122223333");
	inv->region = strdup("eu-west-1");
	const struct inventory_farm farm = {.farm_id = FARM, .inv = inv, .up = true, .last_success = 1700000000};
	struct metrics_section *sec = NULL;
	struct metrics_body *body = NULL;
	CHECK_INT(inventory_section_new(&sec, &farm), 0);
	if (sec)
		CHECK_INT(metrics_body_new(&body, &inventory_kind, &sec, 1), 0);
	if (body)
		CHECK_INT(metrics_body_text(body, &b), 0);
	metrics_body_unref(body);
	metrics_section_unref(sec);
	CHECK(has_line(&b,
		"deadline_cloud_farm_info{farm_id=\"" FARM "\",farm_name=\"Render \\\"farm\\\" \\\\ one\\nline\","
		"account_id=\"111122223333\",region=\"eu-west-1\"} 1"));
	CHECK(has_line(&b, "deadline_cloud_farm_cost_scale_factor{farm_id=\"" FARM "\"} 1.5"));
	CHECK(has_line(&b, "deadline_cloud_queue_info{farm_id=\"" FARM "\",queue_id=\"" Q2
			   "\",queue_name=\"caf\xc3\xa9 \xc3\xa9\"} 1"));
	CHECK(has_line(&b, "deadline_cloud_queue_status{farm_id=\"" FARM "\",queue_id=\"" Q2 "\",status=\"IDLE\"} 0"));
	CHECK(has_line(
		&b, "deadline_cloud_queue_status{farm_id=\"" FARM "\",queue_id=\"" Q2 "\",status=\"PAUSED\"} 1"));
	CHECK(has_line(&b, "deadline_cloud_queue_status{farm_id=\"" FARM "\",queue_id=\"" Q1
			   "\",status=\"SCHEDULING_BLOCKED\"} 1"));
	CHECK(has_line(&b, "deadline_cloud_queue_blocked_reason{farm_id=\"" FARM "\",queue_id=\"" Q1
			   "\",reason=\"BUDGET_THRESHOLD_REACHED\"} 1"));
	CHECK(has_line(&b, "deadline_cloud_fleet_autoscaling_status{farm_id=\"" FARM "\",fleet_id=\"" F1
			   "\",status=\"GROWING\"} 1"));
	CHECK(has_line(&b, "deadline_cloud_fleet_workers{farm_id=\"" FARM "\",fleet_id=\"" F1 "\"} 3"));
	CHECK(has_line(&b, "deadline_cloud_fleet_workers_max{farm_id=\"" FARM "\",fleet_id=\"" F1 "\"} 10"));
	CHECK(strstr(b.data, "deadline_cloud_fleet_workers_target") == NULL);
	CHECK(has_line(&b, "deadline_cloud_budget_info{farm_id=\"" FARM "\",budget_id=\"" B1
			   "\",budget_name=\"b2\",queue_id=\"" Q1 "\"} 1"));
	CHECK(has_line(&b, "deadline_cloud_budget_usage_usd{farm_id=\"" FARM "\",budget_id=\"" B1 "\"} 50"));
	CHECK(has_line(
		&b, "deadline_cloud_budget_status{farm_id=\"" FARM "\",budget_id=\"" B1 "\",status=\"NEW_STATE\"} 1"));
	CHECK(has_line(&b,
		"deadline_cloud_budget_start_timestamp_seconds{farm_id=\"" FARM "\",budget_id=\"" B1 "\"} 1767225600"));
	CHECK(has_line(&b, "deadline_cloud_budget_action_threshold_ratio{farm_id=\"" FARM "\",budget_id=\"" B1
			   "\",type=\"STOP_SCHEDULING_AND_CANCEL_TASKS\"} 0.8"));
	CHECK(has_line(&b, "deadline_cloud_exporter_inventory_up{farm_id=\"" FARM "\"} 1"));
	CHECK(has_line(&b,
		"deadline_cloud_exporter_inventory_last_success_timestamp_seconds{farm_id=\"" FARM "\"} 1700000000"));
	CHECK(has_line(&b, "# TYPE deadline_cloud_queue_status gauge"));
	buf_deinit(&b);
	inventory_free(inv);
}

/*
 * Two farms, one without an inventory yet: each family once, its lines farm by farm in the order given; a family
 * no farm has (farm_info without names) is left out, header and all.
 */
static void test_two_farms(void)
{
	struct inventory *inv = NULL;
	struct metrics_section *secs[2] = {NULL, NULL};
	struct metrics_body *body = NULL;
	struct buf b = {0};

	CHECK_INT(inventory_new(&inv, FARM), 0);
	struct inventory_queue *q = inv ? inventory_add_queue(inv) : NULL;
	CHECK(q != NULL);
	if (!q) {
		inventory_free(inv);
		return;
	}
	q->id = strdup(Q1);
	q->name = strdup("q");
	q->status = strdup("IDLE");
	const struct inventory_farm farms[] = {
		{.farm_id = "farm-b", .inv = NULL, .up = false, .last_success = 0},
		{.farm_id = FARM, .inv = inv, .up = true, .last_success = 5},
	};
	for (size_t i = 0; i < 2; i++)
		CHECK_INT(inventory_section_new(&secs[i], &farms[i]), 0);
	CHECK_INT(metrics_body_new(&body, &inventory_kind, secs, 2), 0);
	if (body)
		CHECK_INT(metrics_body_text(body, &b), 0);
	CHECK_INT(buf_putc(&b, '\0'), 0);
	CHECK(strstr(b.data, "farm_info") == NULL);
	CHECK(strstr(b.data, "# HELP deadline_cloud_queue_info ") == b.data);
	CHECK(strstr(b.data, "\ndeadline_cloud_exporter_inventory_up{farm_id=\"farm-b\"} 0\n"
			     "deadline_cloud_exporter_inventory_up{farm_id=\"" FARM "\"} 1\n# HELP ") != NULL);
	for (size_t i = 0; i < 2; i++)
		metrics_section_unref(secs[i]);
	metrics_body_unref(body);
	buf_deinit(&b);
	inventory_free(inv);
}

/* /metrics of s, NUL-terminated. */
static char *scrape(struct metrics_store *s)
{
	struct metrics_scrape sc;
	struct buf b = {0};

	CHECK_INT(metrics_store_scrape(s, false, &sc), 0);
	for (unsigned i = 0; i < sc.n_iov; i++)
		CHECK_INT(buf_append(&b, sc.iov[i].iov_base, sc.iov[i].iov_len), 0);
	metrics_scrape_release(&sc);
	CHECK_INT(buf_putc(&b, '\0'), 0);
	return buf_take(&b, NULL);
}

/* An inventory of farm_id with one farm name. */
static struct inventory *named(const char *farm_id, const char *name)
{
	struct inventory *inv = NULL;

	CHECK_INT(inventory_new(&inv, farm_id), 0);
	if (inv)
		inv->farm_name = strdup(name);
	return inv;
}

/*
 * The board: each farm's section in the store in the configuration's order; a failed listing keeps the inventory
 * with up 0; an undeclared farm is refused; a reload keeps the farms listed the same way and starts the others
 * afresh; without inventory.enabled every farm goes.
 */
static void test_board(void)
{
	struct farm_config farms[] = {{.id = (char *)"farm-a"}, {.id = (char *)"farm-b"}};
	struct config cfg = {.farms = farms, .n_farms = 2}, changed;
	struct metrics_store *s = NULL;
	struct inventory_board *board = NULL;
	char *text;

	cfg.inventory.enabled = true;
	cfg.inventory.interval_seconds = 300;
	CHECK_INT(metrics_store_new(&s, "1"), 0);
	CHECK_INT(inventory_board_new(&board, s), 0);
	if (!s || !board)
		return;
	CHECK_INT(inventory_board_set_farms(board, NULL, &cfg), 0);
	CHECK_INT(inventory_board_publish(board, "farm-b", named("farm-b", "B"), 20), 0);
	CHECK_INT(inventory_board_publish(board, "farm-a", named("farm-a", "A"), 10), 0);
	CHECK_INT(inventory_board_publish(board, "farm-x", named("farm-x", "X"), 10), -ENOENT);
	inventory_board_fail(board, "farm-b");
	inventory_board_fail(board, "farm-x");
	text = scrape(s);
	/* an account and a region not known (yet): empty */
	CHECK(text &&
		strstr(text,
			"deadline_cloud_farm_info{farm_id=\"farm-a\",farm_name=\"A\",account_id=\"\",region=\"\"} 1\n"
			"deadline_cloud_farm_info{farm_id=\"farm-b\",farm_name=\"B\",account_id=\"\",region=\"\"} "
			"1\n"));
	CHECK(text && strstr(text, "inventory_up{farm_id=\"farm-a\"} 1\n"
				   "deadline_cloud_exporter_inventory_up{farm_id=\"farm-b\"} 0\n"));
	CHECK(text && strstr(text, "timestamp_seconds{farm_id=\"farm-b\"} 20\n"));
	CHECK(text && !strstr(text, "farm-x"));
	free(text);

	/* farm-b's inventory listed another way (no budgets): it starts afresh; farm-a keeps its inventory */
	changed = cfg;
	CHECK_INT(inventory_board_set_farms(board, &cfg, &cfg), 0);
	changed.n_farms = 1;
	CHECK_INT(inventory_board_set_farms(board, &cfg, &changed), 0);
	text = scrape(s);
	CHECK(text && strstr(text, "farm_name=\"A\",account_id=\"\",region=\"\"} 1\n") && !strstr(text, "farm-b"));
	free(text);
	changed.n_farms = 2;
	changed.inventory.budgets = !cfg.inventory.budgets;
	CHECK_INT(inventory_board_set_farms(board, &changed, &changed), 0);
	text = scrape(s);
	CHECK(text && strstr(text, "farm_name=\"A\",account_id=\"\",region=\"\"} 1\n"));
	CHECK(text && strstr(text, "inventory_up{farm_id=\"farm-b\"} 0\n") && !strstr(text, "farm_name=\"B\""));
	free(text);
	CHECK_INT(inventory_board_set_farms(board, &cfg, &changed), 0);
	text = scrape(s);
	CHECK(text && strstr(text, "inventory_up{farm_id=\"farm-a\"} 0\n") && !strstr(text, "farm_name="));
	free(text);
	changed.inventory.enabled = false;
	CHECK_INT(inventory_board_set_farms(board, &cfg, &changed), 0);
	text = scrape(s);
	CHECK(text && !strstr(text, "inventory"));
	free(text);
	inventory_board_free(board);
	metrics_store_free(s);
}

/* What a reader is handed. */
struct seen {
	int calls;
	const struct inventory *inv;
	char name[32];
};

static void remember(void *ctx, const struct inventory *inv)
{
	struct seen *s = ctx;

	s->calls++;
	s->inv = inv;
	snprintf(s->name, sizeof(s->name), "%s", inv && inv->farm_name ? inv->farm_name : "");
}

/* A reader gets the farm's latest complete listing, NULL before the first one or for a farm not declared. */
static void test_board_read(void)
{
	struct farm_config farms[] = {{.id = (char *)"farm-a"}};
	struct config cfg = {.farms = farms, .n_farms = 1};
	struct metrics_store *s = NULL;
	struct inventory_board *board = NULL;
	struct seen seen = {0};

	cfg.inventory.enabled = true;
	CHECK_INT(metrics_store_new(&s, "1"), 0);
	CHECK_INT(inventory_board_new(&board, s), 0);
	if (!s || !board)
		return;
	CHECK_INT(inventory_board_set_farms(board, NULL, &cfg), 0);
	inventory_board_read(board, "farm-a", remember, &seen);
	CHECK(seen.calls == 1 && seen.inv == NULL);
	CHECK_INT(inventory_board_publish(board, "farm-a", named("farm-a", "A"), 10), 0);
	inventory_board_read(board, "farm-a", remember, &seen);
	CHECK(seen.calls == 2 && seen.inv && strcmp(seen.name, "A") == 0);
	CHECK_INT(inventory_board_publish(board, "farm-a", named("farm-a", "A2"), 20), 0);
	inventory_board_fail(board, "farm-a");
	inventory_board_read(board, "farm-a", remember, &seen);
	CHECK(seen.calls == 3 && strcmp(seen.name, "A2") == 0);
	inventory_board_read(board, "farm-x", remember, &seen);
	CHECK(seen.calls == 4 && seen.inv == NULL);
	inventory_board_free(board);
	metrics_store_free(s);
}

int main(void)
{
	test_board_read();
	test_parse_and_render();
	test_two_farms();
	/* every change shown by the next scrape */
	metrics_self_interval(0);
	test_board();
	TEST_DONE();
}
