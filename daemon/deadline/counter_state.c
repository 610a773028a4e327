/* counter_state: a counter report's held figures, the closing refresh at its window's end, its file across restarts */
#include "deadline/counter_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/window.h"
#include "util/buf.h"
#include "util/env.h"
#include "util/file.h"
#include "util/log.h"

int counter_plan(
	const struct report_config *r, bool have, int64_t held_start, bool closed, int64_t now, struct counter_plan *p)
{
	int64_t start, end;
	int ret;

	if (!r || !p || r->window == WINDOW_ROLLING)
		return -EINVAL;
	ret = window_start(r, now, &start);
	if (ret < 0)
		return ret;
	/* Figures of a later window than now's: publishing now's would reset the counters, then count again. */
	if (have && held_start > start)
		return COUNTER_CLOCK_BEHIND;
	*p = (struct counter_plan){.start = start};
	if (!have || held_start == start || closed)
		return 0;
	ret = window_end(r, held_start, &end);
	if (ret < 0)
		return ret;
	p->closing = true;
	p->closing_start = held_start;
	p->closing_end = end;
	return 0;
}

/* A free text of the key, its length first: no two different settings make the same key. */
static int put_text(struct buf *b, const char *name, const char *s)
{
	if (!s)
		return buf_printf(b, " %s=-", name);
	return buf_printf(b, " %s=%zu:%s", name, strlen(s), s);
}

char *counter_state_key(const struct report_config *r)
{
	struct buf b = {0};
	int ret;

	if (!r)
		return NULL;
	ret = buf_printf(&b, "window=%s timezone=%s group_by=", r->window_text ? r->window_text : "-", r->timezone);
	for (size_t i = 0; ret == 0 && i < r->n_group_by; i++)
		ret = buf_printf(&b, "%s%s", i ? "," : "", group_field_api_name(r->group_by[i]));
	for (size_t i = 0; ret == 0 && i < r->n_labels; i++) {
		const struct relabel_rule *l = &r->labels[i];
		ret = put_text(&b, "label", l->label);
		if (ret == 0)
			ret = buf_printf(&b, " source=%s", relabel_source_name(l->source));
		if (ret == 0)
			ret = put_text(&b, "regex", l->regex);
		if (ret == 0)
			ret = put_text(&b, "replacement", l->replacement);
		if (ret == 0)
			ret = put_text(&b, "default", l->default_value);
	}
	if (ret == 0 && r->n_labels) {
		ret = buf_puts(&b, " keep=");
		for (size_t i = 0, n = 0; ret == 0 && i < r->n_group_by; i++)
			if (config_report_keeps(r, r->group_by[i]))
				ret = buf_printf(&b, "%s%s", n++ ? "," : "", group_field_api_name(r->group_by[i]));
	}
	if (ret < 0) {
		buf_deinit(&b);
		return NULL;
	}
	return buf_take(&b, NULL);
}

char *counter_state_dir(void)
{
	const char *v = env_get("STATE_DIRECTORY");
	size_t n;

	if (!v)
		return NULL;
	/* systemd lists one path per StateDirectory= entry; the unit has one. */
	n = strcspn(v, ":");
	return n ? strndup(v, n) : NULL;
}

int counter_state_new(struct counter_state **out, const char *dir, const char *farm_id, const struct report_config *r)
{
	struct counter_state *cs;
	int ret;

	if (!out || !farm_id || !r)
		return -EINVAL;
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	ret = usage_hold_new(&cs->hold);
	cs->key = ret == 0 ? counter_state_key(r) : NULL;
	if (ret == 0 && !cs->key)
		ret = -ENOMEM;
	/* Farm ids are farm-<hex>, report names [a-z][a-z0-9_]*: nothing to escape in a file name. */
	if (ret == 0 && dir &&
		asprintf(&cs->path, "%s/" COUNTER_STATE_PREFIX "%s-%s" COUNTER_STATE_SUFFIX, dir, farm_id, r->name) <
			0) {
		cs->path = NULL;
		ret = -ENOMEM;
	}
	if (ret < 0) {
		counter_state_free(cs);
		return ret;
	}
	*out = cs;
	return 0;
}

void counter_state_free(struct counter_state *cs)
{
	if (!cs)
		return;
	usage_hold_free(cs->hold);
	free(cs->key);
	free(cs->path);
	free(cs);
}

int counter_state_restore(struct counter_state *cs, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!cs)
		return -EINVAL;
	if (cs->loaded || !cs->path || usage_hold_window(cs->hold, NULL)) {
		cs->loaded = true;
		return COUNTER_RESTORE_NONE;
	}
	cs->loaded = true;
	ret = file_read(cs->path, USAGE_HOLD_TEXT_MAX, &text, &len);
	if (ret == -ENOENT)
		return COUNTER_RESTORE_NONE;
	if (ret == -ENOMEM)
		return ret;
	if (ret < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s", strerror(-ret));
		return COUNTER_RESTORE_UNUSABLE;
	}
	ret = usage_hold_read(cs->hold, cs->key, text, len, err, errlen);
	free(text);
	if (ret == USAGE_HOLD_OTHER_KEY)
		return COUNTER_RESTORE_OTHER_KEY;
	if (ret == -EINVAL)
		return COUNTER_RESTORE_UNUSABLE;
	return ret;
}

int counter_state_save(struct counter_state *cs)
{
	struct buf b = {0};
	int ret;

	if (!cs)
		return -EINVAL;
	if (!cs->path)
		return 0;
	ret = usage_hold_write(cs->hold, cs->key, &b);
	if (ret == 0)
		ret = file_replace(cs->path, b.data ? b.data : "", b.len);
	buf_deinit(&b);
	return ret;
}

int counter_publish(struct counter_state *cs, struct metrics_store *store, const char *farm_id,
	const struct report_config *r, struct usage_table *t, int64_t window_start, int64_t window_end, double duration,
	enum counter_publish_kind kind, struct usage_table **published, struct usage_hold_stats *stats)
{
	struct usage_hold_stats st = {0};
	struct usage_table *out = NULL;
	int ret;

	if (!cs || !store || !farm_id || !r || !t)
		return -EINVAL;
	if (kind == COUNTER_RESET)
		ret = usage_hold_reset(cs->hold, t, window_start, &out);
	else
		ret = usage_hold_apply(cs->hold, t, window_start, &out, &st);
	if (ret < 0)
		return ret;
	ret = metrics_store_publish(store, farm_id, r, out, window_start, window_end, (int64_t)time(NULL), duration);
	if (ret < 0)
		return ret;
	metrics_store_count(store, METRICS_DECREASES_HELD, (const char *const[]){farm_id, r->name}, st.held);
	/* A deleted queue is held at every refresh until the window ends: said when the number changes. */
	if (st.held && st.held != cs->last_held)
		log_info("farm=%s report=%s op=refresh groups=%zu reason=\"smaller figures than those exported, or "
			 "none: the exported ones kept\"",
			farm_id, r->name, st.held);
	cs->last_held = st.held;
	ret = counter_state_save(cs);
	if (ret < 0 && !cs->save_failing)
		log_warning("farm=%s report=%s op=state status=failed file=%s error=\"%s\" reason=\"the counters' "
			    "figures are not kept for a restart until a write succeeds\"",
			farm_id, r->name, cs->path, strerror(-ret));
	else if (ret == 0 && cs->save_failing)
		log_info("farm=%s report=%s op=state status=ok file=%s", farm_id, r->name, cs->path);
	cs->save_failing = ret < 0;
	if (published)
		*published = out;
	if (stats)
		*stats = st;
	return 0;
}

void counter_state_published(struct counter_state *cs, uint64_t mark, double now)
{
	cs->waiting = true;
	cs->wait_mark = mark;
	cs->wait_since = now;
}

bool counter_state_scraped(const struct counter_state *cs, uint64_t scrapes, double now, double *wait_s)
{
	double left;

	if (!cs || !cs->waiting || scrapes > cs->wait_mark)
		return true;
	left = cs->wait_since + COUNTER_SCRAPE_WAIT_S - now;
	if (left <= 0)
		return true;
	if (wait_s)
		*wait_s = left;
	return false;
}
