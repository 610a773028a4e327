/* test-counter_state: the closing refresh at a window's end (clock given), the key of a definition, the state file */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "config/config.h"
#include "deadline/counter_state.h"
#include "metrics/hold.h"
#include "metrics/store.h"
#include "metrics/usage.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/rfc3339.h"

#define FARM "farm-0123456789abcdef0123456789abcdef"

static int64_t at(const char *s)
{
	int64_t t = INT64_MIN;

	CHECK_MSG(rfc3339_parse(s, &t) == 0, "parse \"%s\"", s);
	return t;
}

static struct report_config report(enum window_kind w, const char *text, const char *tz)
{
	struct report_config r = {.name = (char *)"spend", .window = w, .window_text = (char *)text, .counter = true};

	snprintf(r.timezone, sizeof(r.timezone), "%s", tz);
	CHECK_INT(config_timezone_parse(tz, &r.tz_offset_minutes), 0);
	r.group_by[0] = GROUP_QUEUE_ID;
	r.group_by[1] = GROUP_USAGE_TYPE;
	r.n_group_by = 2;
	r.statistics = STAT_SUM;
	return r;
}

/* Plans with an injected clock; times in RFC 3339, "" for none. Expected values computed by hand from the calendar. */
static const struct {
	const char *window, *tz;
	const char *held; /* the held figures' window start, "" when nothing is held */
	bool closed;
	const char *now;
	int ret;
	const char *closing_start, *closing_end; /* "" when no closing refresh */
	const char *start;
} plans[] = {
	/* nothing held yet: the window of now */
	{"day", "UTC+00:00", "", false, "2026-11-26T07:00:00Z", 0, "", "", "2026-11-26T00:00:00Z"},
	/* the same window: no closing */
	{"day", "UTC+00:00", "2026-11-26T00:00:00Z", false, "2026-11-26T23:59:59Z", 0, "", "", "2026-11-26T00:00:00Z"},
	/* the first refresh of the next day: the held day up to its end first */
	{"day", "UTC+00:00", "2026-11-26T00:00:00Z", false, "2026-11-27T00:00:00Z", 0, "2026-11-26T00:00:00Z",
		"2026-11-27T00:00:00Z", "2026-11-27T00:00:00Z"},
	{"day", "UTC+00:00", "2026-11-26T00:00:00Z", false, "2026-11-27T00:04:10Z", 0, "2026-11-26T00:00:00Z",
		"2026-11-27T00:00:00Z", "2026-11-27T00:00:00Z"},
	/* the closing one already published (the new window's refresh failed since): not again */
	{"day", "UTC+00:00", "2026-11-26T00:00:00Z", true, "2026-11-27T00:04:10Z", 0, "", "", "2026-11-27T00:00:00Z"},
	/* the exporter was down for days: the held day is closed at its own end, not at now's start */
	{"day", "UTC+00:00", "2026-11-20T00:00:00Z", false, "2026-11-27T10:00:00Z", 0, "2026-11-20T00:00:00Z",
		"2026-11-21T00:00:00Z", "2026-11-27T00:00:00Z"},
	/* the clock went back before the held window: nothing published until it is past it again */
	{"day", "UTC+00:00", "2026-11-27T00:00:00Z", false, "2026-11-26T23:59:59Z", COUNTER_CLOCK_BEHIND, "", "", ""},
	{"day", "UTC+00:00", "2026-11-27T00:00:00Z", true, "1970-01-01T00:00:00Z", COUNTER_CLOCK_BEHIND, "", "", ""},
	/* a day in UTC+05:30 ends at 18:30 UTC */
	{"day", "UTC+05:30", "2026-11-25T18:30:00Z", false, "2026-11-26T18:29:59Z", 0, "", "", "2026-11-25T18:30:00Z"},
	{"day", "UTC+05:30", "2026-11-25T18:30:00Z", false, "2026-11-26T18:30:00Z", 0, "2026-11-25T18:30:00Z",
		"2026-11-26T18:30:00Z", "2026-11-26T18:30:00Z"},
	/* weeks start on Monday */
	{"week", "UTC+00:00", "2026-11-23T00:00:00Z", false, "2026-11-29T23:59:59Z", 0, "", "", "2026-11-23T00:00:00Z"},
	{"week", "UTC+00:00", "2026-11-23T00:00:00Z", false, "2026-11-30T00:01:00Z", 0, "2026-11-23T00:00:00Z",
		"2026-11-30T00:00:00Z", "2026-11-30T00:00:00Z"},
	/* months: across the year's end, and a leap February in UTC-08:00 */
	{"month", "UTC+00:00", "2026-12-01T00:00:00Z", false, "2027-01-01T00:00:30Z", 0, "2026-12-01T00:00:00Z",
		"2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
	{"month", "UTC-08:00", "2024-02-01T08:00:00Z", false, "2024-03-01T08:00:00Z", 0, "2024-02-01T08:00:00Z",
		"2024-03-01T08:00:00Z", "2024-03-01T08:00:00Z"},
	{"month", "UTC-08:00", "2024-02-01T08:00:00Z", false, "2024-03-01T07:59:59Z", 0, "", "",
		"2024-02-01T08:00:00Z"},
};

static enum window_kind kind_of(const char *w)
{
	return strcmp(w, "day") == 0 ? WINDOW_DAY : strcmp(w, "week") == 0 ? WINDOW_WEEK : WINDOW_MONTH;
}

static void test_plan(void)
{
	for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
		struct report_config r = report(kind_of(plans[i].window), plans[i].window, plans[i].tz);
		struct counter_plan p = {.start = -1};
		bool have = plans[i].held[0] != '\0';
		int ret = counter_plan(&r, have, have ? at(plans[i].held) : 0, plans[i].closed, at(plans[i].now), &p);

		CHECK_MSG(ret == plans[i].ret, "case %zu: %d, expected %d", i, ret, plans[i].ret);
		if (ret != 0)
			continue;
		CHECK_MSG(p.start == at(plans[i].start), "case %zu: start", i);
		CHECK_MSG(p.closing == (plans[i].closing_start[0] != '\0'), "case %zu: closing", i);
		if (p.closing)
			CHECK_MSG(p.closing_start == at(plans[i].closing_start) &&
					  p.closing_end == at(plans[i].closing_end),
				"case %zu: closing range", i);
	}
	/* a rolling window has no boundary to close */
	struct report_config r = report(WINDOW_ROLLING, "7d", "UTC+00:00");
	struct counter_plan p;
	r.window_seconds = 7 * 86400;
	CHECK_INT(counter_plan(&r, false, 0, false, at("2026-11-26T00:00:00Z"), &p), -EINVAL);
	CHECK_INT(counter_plan(NULL, false, 0, false, 0, &p), -EINVAL);
}

static void test_key(void)
{
	struct report_config r = report(WINDOW_MONTH, "month", "UTC+00:00");
	char *a = counter_state_key(&r), *b;

	CHECK_STR(a, "window=month timezone=UTC+00:00 group_by=QUEUE_ID,USAGE_TYPE");
	/* what the figures do not depend on leaves the key alone */
	r.interval_seconds = 60;
	r.statistics = STAT_SUM | STAT_MAX;
	r.period = PERIOD_DAILY;
	r.resources = REPORT_RESOURCES_FLEETS;
	b = counter_state_key(&r);
	CHECK_STR(b, a);
	free(b);
	/* the timezone, the window and the grouping change it */
	snprintf(r.timezone, sizeof(r.timezone), "UTC+05:30");
	b = counter_state_key(&r);
	CHECK(b && strcmp(a, b) != 0);
	free(b);
	r = report(WINDOW_DAY, "day", "UTC+00:00");
	b = counter_state_key(&r);
	CHECK_STR(b, "window=day timezone=UTC+00:00 group_by=QUEUE_ID,USAGE_TYPE");
	free(b);
	r.n_group_by = 1;
	b = counter_state_key(&r);
	CHECK_STR(b, "window=day timezone=UTC+00:00 group_by=QUEUE_ID");
	free(b);
	free(a);
	/* labels: every part of every rule, lengths first so that no two rule sets read alike */
	struct relabel_rule rules[2] = {
		{.label = (char *)"show",
			.source = RELABEL_SOURCE_JOB_NAME,
			.regex = (char *)"([a-z]+)_.*",
			.replacement = (char *)"$1",
			.default_value = (char *)"unknown"},
		{.label = (char *)"p", .source = RELABEL_SOURCE_QUEUE_NAME, .default_value = (char *)""},
	};
	r = report(WINDOW_MONTH, "month", "UTC+00:00");
	r.group_by[0] = GROUP_JOB_ID;
	r.labels = rules;
	r.n_labels = 2;
	r.keep = 1u << GROUP_USAGE_TYPE;
	a = counter_state_key(&r);
	CHECK_STR(a, "window=month timezone=UTC+00:00 group_by=JOB_ID,USAGE_TYPE label=4:show source=job_name "
		     "regex=11:([a-z]+)_.* replacement=2:$1 default=7:unknown label=1:p source=queue_name regex=- "
		     "replacement=- default=0: keep=USAGE_TYPE");
	rules[0].regex = (char *)"([a-z]+)_.";
	rules[0].replacement = (char *)"* replacement=2:$1";
	b = counter_state_key(&r);
	CHECK(b && strcmp(a, b) != 0);
	free(b);
	free(a);
	rules[0].regex = (char *)"([a-z]+)_.*";
	rules[0].replacement = (char *)"$1";
	r.keep = 0;
	b = counter_state_key(&r);
	CHECK(b && strstr(b, " keep=") && b[strlen(b) - 1] == '=');
	free(b);
	CHECK(counter_state_key(NULL) == NULL);
}

static void test_dir(void)
{
	char *d;

	CHECK(unsetenv("STATE_DIRECTORY") == 0);
	CHECK(counter_state_dir() == NULL);
	CHECK(setenv("STATE_DIRECTORY", "", 1) == 0);
	CHECK(counter_state_dir() == NULL);
	CHECK(setenv("STATE_DIRECTORY", "/var/lib/deadline-cloud-exporter", 1) == 0);
	d = counter_state_dir();
	CHECK_STR(d, "/var/lib/deadline-cloud-exporter");
	free(d);
	CHECK(setenv("STATE_DIRECTORY", "/var/lib/a:/var/lib/b", 1) == 0);
	d = counter_state_dir();
	CHECK_STR(d, "/var/lib/a");
	free(d);
	CHECK(setenv("STATE_DIRECTORY", ":/var/lib/b", 1) == 0);
	CHECK(counter_state_dir() == NULL);
	CHECK(unsetenv("STATE_DIRECTORY") == 0);
}

/* A table of one group: queue-a/COMPUTE with these figures. */
static struct usage_table *one_group(int64_t count, double cost)
{
	static const enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_USAGE_TYPE};
	struct usage_table *t = NULL;
	struct usage_row row = {.count = count};

	row.fields[GROUP_QUEUE_ID] = (char *)"queue-a";
	row.fields[GROUP_USAGE_TYPE] = (char *)"COMPUTE";
	row.cost = (struct usage_stats){.sum = cost, .present = STAT_SUM};
	row.runtime = row.cost;
	CHECK_INT(usage_table_new(&t, gb, 2), 0);
	CHECK_INT(usage_table_add(t, &row), 0);
	return t;
}

static void test_file(void)
{
	char dir[] = "/tmp/dce-test-counter-XXXXXX";
	struct report_config r = report(WINDOW_MONTH, "month", "UTC+00:00");
	struct counter_state *cs = NULL, *back = NULL;
	struct usage_table *t, *out = NULL;
	const struct usage_group *const *groups;
	char err[160], *path = NULL, *cmd = NULL;
	int64_t w = 0, nov = at("2026-11-01T00:00:00Z");

	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(counter_state_new(&cs, dir, FARM, &r), 0);
	if (asprintf(&path, "%s/counter-" FARM "-spend.state", dir) < 0)
		abort();
	CHECK_STR(cs->path, path);
	/* no file yet: nothing held, and the file is looked at once only */
	CHECK_INT(counter_state_restore(cs, err, sizeof(err)), COUNTER_RESTORE_NONE);
	CHECK(cs->loaded);
	t = one_group(5, 12.5);
	CHECK_INT(usage_hold_apply(cs->hold, t, nov, &out, NULL), 0);
	usage_table_free(t);
	CHECK_INT(counter_state_save(cs), 0);

	/* after a restart: the same figures held, so a lower answer in the same window keeps them */
	CHECK_INT(counter_state_new(&back, dir, FARM, &r), 0);
	CHECK_INT(counter_state_restore(back, err, sizeof(err)), 0);
	CHECK(usage_hold_window(back->hold, &w) && w == nov);
	CHECK_INT(counter_state_restore(back, err, sizeof(err)), COUNTER_RESTORE_NONE);
	t = one_group(4, 12);
	CHECK_INT(usage_hold_apply(back->hold, t, nov, &out, NULL), 0);
	CHECK_INT(usage_table_groups(out, &groups), 1);
	CHECK(groups[0]->count == 5 && groups[0]->cost.sum == 12.5);
	usage_table_free(t);
	counter_state_free(back);

	/* another definition of the report (another timezone): not restored */
	snprintf(r.timezone, sizeof(r.timezone), "UTC+01:00");
	CHECK_INT(counter_state_new(&back, dir, FARM, &r), 0);
	CHECK_INT(counter_state_restore(back, err, sizeof(err)), COUNTER_RESTORE_OTHER_KEY);
	CHECK(!usage_hold_window(back->hold, NULL));
	counter_state_free(back);
	snprintf(r.timezone, sizeof(r.timezone), "UTC+00:00");

	/* a damaged file: not restored, and why */
	FILE *f = fopen(path, "w");
	CHECK(f && fputs("deadline-cloud-exporter counter state 1\nkey\tx", f) >= 0);
	if (f)
		fclose(f);
	CHECK_INT(counter_state_new(&back, dir, FARM, &r), 0);
	CHECK_INT(counter_state_restore(back, err, sizeof(err)), COUNTER_RESTORE_UNUSABLE);
	CHECK_STR(err, "line 2: cut short (no newline)");
	CHECK(!usage_hold_window(back->hold, NULL));
	/* looked at once: a refresh that fails before anything is held does not read (nor log) it again */
	CHECK_INT(counter_state_restore(back, err, sizeof(err)), COUNTER_RESTORE_NONE);
	counter_state_free(back);

	/* a file that cannot be read (a folder in its place) */
	CHECK(unlink(path) == 0 && mkdir(path, 0700) == 0);
	CHECK_INT(counter_state_new(&back, dir, FARM, &r), 0);
	CHECK_INT(counter_state_restore(back, err, sizeof(err)), COUNTER_RESTORE_UNUSABLE);
	CHECK_STR(err, strerror(EISDIR));
	/* nor written: the error, the folder untouched */
	CHECK_INT(counter_state_save(back), -EISDIR);
	counter_state_free(back);

	/* without a state directory: nothing read, nothing written */
	CHECK_INT(counter_state_new(&back, NULL, FARM, &r), 0);
	CHECK(back->path == NULL);
	CHECK_INT(counter_state_restore(back, err, sizeof(err)), COUNTER_RESTORE_NONE);
	CHECK_INT(counter_state_save(back), 0);
	counter_state_free(back);
	counter_state_free(cs);
	counter_state_free(NULL);
	CHECK_INT(counter_state_new(&back, dir, NULL, &r), -EINVAL);

	if (asprintf(&cmd, "rm -rf %s", dir) < 0)
		abort();
	CHECK(system(cmd) == 0);
	free(cmd);
	free(path);
}

/* Figures a scrape must take first: the next wait for one, COUNTER_SCRAPE_WAIT_S at most. */
static void test_closing_seen(void)
{
	struct report_config r = report(WINDOW_DAY, "day", "UTC+00:00");
	struct counter_state *cs = NULL;
	double wait = -1;

	CHECK_INT(counter_state_new(&cs, NULL, FARM, &r), 0);
	/* nothing published to wait for */
	CHECK(counter_state_scraped(cs, 0, 100, &wait));
	CHECK(counter_state_scraped(NULL, 0, 100, &wait));
	counter_state_published(cs, 7, 100);
	CHECK(cs->waiting);
	/* no scrape since: wait the rest of the time */
	CHECK(!counter_state_scraped(cs, 7, 100, &wait));
	CHECK(wait == COUNTER_SCRAPE_WAIT_S);
	CHECK(!counter_state_scraped(cs, 7, 100 + COUNTER_SCRAPE_WAIT_S - 1, &wait));
	CHECK(wait == 1);
	/* a scrape took them */
	CHECK(counter_state_scraped(cs, 8, 101, &wait));
	/* or long enough */
	CHECK(counter_state_scraped(cs, 7, 100 + COUNTER_SCRAPE_WAIT_S, &wait));
	counter_state_free(cs);
}

/* counter_publish(): held, published, counted, written; the store's scrape mark moves with each scrape. */
static void test_publish(void)
{
	char dir[] = "/tmp/dce-test-counter-XXXXXX";
	struct report_config r = report(WINDOW_MONTH, "month", "UTC+00:00");
	struct farm_config farm = {.id = (char *)FARM};
	struct config cfg = {.farms = &farm, .n_farms = 1, .reports = &r, .n_reports = 1};
	struct metrics_store *s = NULL;
	struct counter_state *cs = NULL;
	struct metrics_scrape sc;
	struct usage_table *t, *shown = NULL;
	struct usage_hold_stats hs = {0};
	int64_t nov = at("2026-11-01T00:00:00Z"), dec = at("2026-12-01T00:00:00Z");
	char *cmd = NULL, *text = NULL;
	size_t len = 0;

	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(metrics_store_new(&s, "x"), 0);
	CHECK_INT(metrics_store_set_reports(s, &cfg), 0);
	CHECK_INT(counter_state_new(&cs, dir, FARM, &r), 0);
	t = one_group(5, 12.5);
	CHECK_INT(counter_publish(cs, s, FARM, &r, t, nov, nov + 3600, 0.1, COUNTER_FIGURES, &shown, NULL), 0);
	CHECK(shown && usage_table_size(shown) == 1);
	usage_table_free(t);
	/* lower: held, counted */
	t = one_group(4, 12);
	CHECK_INT(counter_publish(cs, s, FARM, &r, t, nov, nov + 7200, 0.1, COUNTER_FIGURES, NULL, &hs), 0);
	CHECK(hs.held == 1 && hs.new_at_zero == 0);
	usage_table_free(t);
	uint64_t mark = metrics_store_scrapes(s);
	CHECK_INT(metrics_store_scrape(s, false, &sc), 0);
	CHECK(metrics_store_scrapes(s) == mark + 1);
	struct buf b = {0};
	for (unsigned i = 0; i < sc.n_iov; i++)
		CHECK_INT(buf_append(&b, sc.iov[i].iov_base, sc.iov[i].iov_len), 0);
	metrics_scrape_release(&sc);
	CHECK(b.data && strstr(b.data, "deadline_cloud_usage_cost_usd_total{farm_id=\"" FARM
				       "\",report=\"spend\",queue_id=\"queue-a\",usage_type=\"COMPUTE\"} 12.5\n"));
	CHECK(b.data && strstr(b.data, "deadline_cloud_usage_sessions_total{farm_id=\"" FARM
				       "\",report=\"spend\",queue_id=\"queue-a\",usage_type=\"COMPUTE\"} 5\n"));
	CHECK(b.data && strstr(b.data, "deadline_cloud_exporter_usage_decreases_held_total{farm_id=\"" FARM
				       "\",report=\"spend\"} 1\n"));
	buf_deinit(&b);
	/* written as published */
	CHECK_INT(file_read(cs->path, 1 << 20, &text, &len), 0);
	CHECK(text && strstr(text, "\tqueue-a\tCOMPUTE\t\t5\t12.5\t12.5\n"));
	free(text);
	/* the next window: every counter at 0 at its start, then its figures */
	t = one_group(1, 1);
	CHECK_INT(counter_publish(cs, s, FARM, &r, t, dec, dec, 0.1, COUNTER_RESET, &shown, NULL), 0);
	const struct usage_group *const *groups;
	CHECK(shown && usage_table_groups(shown, &groups) == 1 && groups[0]->count == 0 && groups[0]->cost.sum == 0);
	CHECK_INT(counter_publish(cs, s, FARM, &r, t, dec, dec + 60, 0.1, COUNTER_FIGURES, &shown, NULL), 0);
	CHECK(shown && usage_table_groups(shown, &groups) == 1 && groups[0]->count == 1 && groups[0]->cost.sum == 1);
	usage_table_free(t);
	CHECK_INT(counter_publish(NULL, s, FARM, &r, t, dec, dec + 60, 0.1, COUNTER_FIGURES, NULL, NULL), -EINVAL);
	/* an undeclared report: the store's refusal, nothing counted */
	r.name = (char *)"other";
	t = one_group(1, 1);
	CHECK_INT(counter_publish(cs, s, FARM, &r, t, dec, dec + 60, 0.1, COUNTER_FIGURES, NULL, NULL), -ENOENT);
	usage_table_free(t);
	counter_state_free(cs);
	metrics_store_free(s);
	if (asprintf(&cmd, "rm -rf %s", dir) < 0)
		abort();
	CHECK(system(cmd) == 0);
	free(cmd);
}

int main(void)
{
	test_plan();
	test_key();
	test_dir();
	test_file();
	test_closing_seen();
	test_publish();
	TEST_DONE();
}
