/* refresh_counter: a counter report's share of its refresh: its state restored, its window, its publishes */
#include "deadline/refresh_counter.h"

#include <stdbool.h>
#include <stdio.h>

#include "util/log.h"
#include "util/monotime.h"
#include "util/rfc3339.h"

/* Before a counter report's first refresh: the figures its state file holds, and what was found logged. */
static void counter_restore(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs)
{
	char err[160], window[21] = "-";
	int64_t start;
	int r;

	if (cs->loaded)
		return;
	r = counter_state_restore(cs, err, sizeof(err));
	if (r == 0 && usage_hold_window(cs->hold, &start) && rfc3339_format(start, window) < 0)
		snprintf(window, sizeof(window), "-");
	if (r == 0)
		log_info("farm=%s report=%s op=state status=ok file=%s window=%s reason=\"the counters go on from "
			 "the figures exported before\"",
			rf->farm->id, rc->name, cs->path, window);
	else if (r == COUNTER_RESTORE_OTHER_KEY)
		log_info("farm=%s report=%s op=state status=ignored file=%s reason=\"written for another window, "
			 "timezone, grouping or labels; the counters start from the next refresh\"",
			rf->farm->id, rc->name, cs->path);
	else if (r == COUNTER_RESTORE_UNUSABLE)
		log_warning("farm=%s report=%s op=state status=ignored file=%s error=\"%s\" reason=\"the counters "
			    "start from the next refresh\"",
			rf->farm->id, rc->name, cs->path, err);
}

/* Figures were published that a scrape must take first: waits for one (COUNTER_SCRAPE_WAIT_S at most). */
static int counter_wait(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs)
{
	double began = monotime_s(), wait = 0;

	if (!cs->waiting)
		return 0;
	while (!counter_state_scraped(cs, metrics_store_scrapes(rf->store), monotime_s(), &wait))
		if (!api_caller_sleep(rf->api, (wait < 0.25 ? wait : 0.25) * 1000))
			return API_STOPPED;
	if (metrics_store_scrapes(rf->store) > cs->wait_mark)
		log_debug("farm=%s report=%s op=refresh duration=%.3fs reason=\"a scrape took the figures published\"",
			rf->farm->id, rc->name, monotime_s() - began);
	else
		log_warning("farm=%s report=%s op=refresh duration=%.3fs reason=\"no scrape in %.0fs: Prometheus may "
			    "miss the counters' last figures of a window, their reset or their first\"",
			rf->farm->id, rc->name, monotime_s() - began, COUNTER_SCRAPE_WAIT_S);
	cs->waiting = false;
	return 0;
}

/* Publishes t for cs, then marks it as to be taken by a scrape before the next figures. */
static int counter_show(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs,
	struct usage_table *t, int64_t start, int64_t end, double began, enum counter_publish_kind kind,
	struct usage_hold_stats *st)
{
	int r = counter_wait(rf, rc, cs);

	if (r == 0)
		r = counter_publish(
			cs, rf->store, rf->farm->id, rc, t, start, end, monotime_s() - began, kind, NULL, st);
	if (r == 0)
		counter_state_published(cs, metrics_store_scrapes(rf->store), monotime_s());
	return r;
}

int refresh_counter_close(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs,
	const struct counter_plan *plan, struct usage_table *t, double began)
{
	struct usage_hold_stats hs = {0};
	int r = counter_show(rf, rc, cs, t, plan->closing_start, plan->closing_end, began, COUNTER_FIGURES, &hs);

	/* No later refresh of this window will give the new groups their figures: this one does, after a scrape. */
	if (r == 0 && hs.new_at_zero)
		r = counter_show(rf, rc, cs, t, plan->closing_start, plan->closing_end, began, COUNTER_FIGURES, NULL);
	if (r == 0)
		cs->closed = true;
	return r;
}

int refresh_counter_publish(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs,
	struct usage_table *t, int64_t start, int64_t now, double began, struct usage_table **shown)
{
	int64_t held = 0;
	int r = 0;

	if (usage_hold_window(cs->hold, &held) && held != start) {
		r = counter_show(rf, rc, cs, t, start, start, began, COUNTER_RESET, NULL);
		if (r == 0)
			cs->closed = false;
	}
	if (r == 0)
		r = counter_wait(rf, rc, cs);
	if (r == 0)
		r = counter_publish(cs, rf->store, rf->farm->id, rc, t, start, now, monotime_s() - began,
			COUNTER_FIGURES, shown, NULL);
	return r;
}

int refresh_counter_window(struct refresh_ctx *rf, const struct report_config *rc, struct counter_state *cs,
	int64_t now, int64_t *start, struct counter_plan *plan)
{
	int64_t held = 0;
	int r;

	*plan = (struct counter_plan){0};
	counter_restore(rf, rc, cs);
	/* Two steps: the order in which a call's arguments are read is unspecified. */
	bool have = usage_hold_window(cs->hold, &held);
	r = counter_plan(rc, have, held, cs->closed, now, plan);
	if (r == COUNTER_CLOCK_BEHIND)
		return REFRESH_CLOCK_BEHIND;
	*start = plan->start;
	return r;
}
