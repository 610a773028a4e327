/* slots: the declared sections of one kind, in order, and the body a scrape sends of them */
#include "metrics/slots.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool same_key(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static struct metrics_slot *slot_find(struct metrics_slot *slot, size_t n, const char *key, const char *sub)
{
	for (size_t i = 0; i < n; i++)
		if (same_key(slot[i].key, key) && same_key(slot[i].sub, sub))
			return &slot[i];
	return NULL;
}

static void slots_free(struct metrics_slot *slot, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(slot[i].key);
		free(slot[i].sub);
		metrics_section_unref(slot[i].sec);
	}
	free(slot);
}

bool metrics_slots_take_kind(struct metrics_slots *ks, struct metrics_kind *kind)
{
	if (!kind || (ks->kind && ks->kind != kind))
		return false;
	ks->kind = kind;
	return true;
}

/* The body of the current slots: NULL when none has a section. Returns 0 or -ENOMEM. */
static int slots_body(struct metrics_slots *ks, struct metrics_body **out)
{
	struct metrics_section **secs;
	size_t n = 0;
	int r;

	*out = NULL;
	secs = calloc(ks->n ? ks->n : 1, sizeof(*secs));
	if (!secs)
		return -ENOMEM;
	for (size_t i = 0; i < ks->n; i++)
		if (ks->slot[i].sec)
			secs[n++] = ks->slot[i].sec;
	r = n ? metrics_body_new(out, ks->kind, secs, n) : 0;
	free(secs);
	return r;
}

/* The new slots of keys (sections of the kept ones shared with the old slots, marked keep). Returns the count. */
static int slots_make(struct metrics_slots *ks, const char *const *keys, const char *const *subs, size_t n,
	struct metrics_slot *slot, size_t *count)
{
	for (size_t i = 0; i < n; i++) {
		const char *sub = subs ? subs[i] : NULL;
		struct metrics_slot *prev;
		if (!keys[i])
			return -EINVAL;
		if (slot_find(slot, *count, keys[i], sub))
			continue; /* listed twice: once is enough */
		slot[*count].key = strdup(keys[i]);
		slot[*count].sub = sub ? strdup(sub) : NULL;
		(*count)++;
		if (!slot[*count - 1].key || (sub && !slot[*count - 1].sub))
			return -ENOMEM;
		prev = slot_find(ks->slot, ks->n, keys[i], sub);
		if (prev) {
			prev->keep = true;
			slot[*count - 1].sec = prev->sec;
		}
	}
	return 0;
}

int metrics_slots_declare(struct metrics_slots *ks, const char *const *keys, const char *const *subs, size_t n,
	struct metrics_slots_change *ch)
{
	struct metrics_slot *slot = calloc(n ? n : 1, sizeof(*slot)), *old = ks->slot;
	size_t count = 0, old_n = ks->n;
	int r;

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < old_n; i++)
		old[i].keep = false;
	r = slots_make(ks, keys, subs, n, slot, &count);
	if (r == 0) {
		ks->slot = slot;
		ks->n = count;
		r = slots_body(ks, &ch->body);
		if (r < 0) {
			ks->slot = old;
			ks->n = old_n;
		}
	}
	if (r < 0) {
		/* The kept sections are still the old slots' only. */
		for (size_t i = 0; i < count; i++)
			slot[i].sec = NULL;
		slots_free(slot, count);
		return r;
	}
	ks->declared = true;
	for (size_t i = 0; i < old_n; i++)
		if (old[i].keep)
			old[i].sec = NULL; /* the new slots' now */
	ch->old = old;
	ch->old_n = old_n;
	return 0;
}

int metrics_slots_put(struct metrics_slots *ks, const char *key, const char *sub, struct metrics_section *sec,
	struct metrics_slots_change *ch)
{
	struct metrics_slot *sl;
	int r;

	if (sec && (!sec->sealed || sec->kind != ks->kind))
		return -EINVAL;
	if (!key && ks->declared)
		return -EINVAL;
	if (!key && !ks->n) {
		ks->slot = calloc(1, sizeof(*ks->slot));
		if (!ks->slot)
			return -ENOMEM;
		ks->n = 1;
	}
	sl = slot_find(ks->slot, ks->n, key, sub);
	if (!sl)
		return -ENOENT;
	ch->old_sec = sl->sec;
	sl->sec = sec;
	r = slots_body(ks, &ch->body);
	if (r < 0) {
		sl->sec = ch->old_sec;
		ch->old_sec = NULL;
	}
	return r;
}

void metrics_slots_commit(struct metrics_slots *ks, struct metrics_slots_change *ch)
{
	struct metrics_body *old = ks->body;

	ks->body = ch->body;
	ch->body = old;
}

void metrics_slots_change_done(struct metrics_slots_change *ch)
{
	slots_free(ch->old, ch->old_n);
	metrics_section_unref(ch->old_sec);
	metrics_body_unref(ch->body);
	memset(ch, 0, sizeof(*ch));
}

void metrics_slots_deinit(struct metrics_slots *ks)
{
	slots_free(ks->slot, ks->n);
	metrics_body_unref(ks->body);
	memset(ks, 0, sizeof(*ks));
}
