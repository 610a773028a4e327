/* slots: the declared sections of one kind, in order, and the body a scrape sends of them (metrics/ only) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "metrics/section.h"

/* One declared section: its key (and sub-key: the report of a (farm, report) pair), its current section. */
struct metrics_slot {
	char *key, *sub; /* key NULL for a kind of one section; sub NULL but for pairs */
	struct metrics_section *sec; /* NULL until put */
	bool keep; /* scratch for metrics_slots_declare() */
};

/*
 * The sections of one kind and their body. Not thread-safe: the store changes the slots under one lock (its
 * writers') and swaps the body under another (its scrapes'), in two steps: a change is made (the new slots and
 * body built, nothing shown yet), committed (the body swapped in: cannot fail), then done (what it replaced freed,
 * with no lock held).
 */
struct metrics_slots {
	struct metrics_kind *kind; /* NULL until the kind is first used */
	struct metrics_slot *slot;
	size_t n;
	bool declared; /* keys were declared; otherwise at most one slot, of key NULL */
	struct metrics_body *body; /* NULL while no slot has a section */
};

/* What a change replaced, to free once it is committed and no lock is held. Zero-initialised. */
struct metrics_slots_change {
	struct metrics_body *body; /* the new body, until committed; then the one it replaced */
	struct metrics_slot *old; /* the slots a declaration replaced */
	size_t old_n;
	struct metrics_section *old_sec; /* the section a put replaced */
};

/* Whether ks holds kind's sections: true the first time (ks takes the kind), false for another kind. */
bool metrics_slots_take_kind(struct metrics_slots *ks, struct metrics_kind *kind);

/*
 * Declares n keys (each with subs[i], or subs NULL), in order: a key kept keeps its section, a new one has none, a
 * key listed twice counts once; builds the body into ch. Returns 0, -EINVAL (a NULL key) or -ENOMEM (nothing
 * changed).
 */
int metrics_slots_declare(struct metrics_slots *ks, const char *const *keys, const char *const *subs, size_t n,
	struct metrics_slots_change *ch);

/*
 * Puts sec (sealed, of ks's kind: taken on success) into the slot of (key, sub); a kind never declared gets its one
 * slot of key NULL on first use. Builds the body into ch. Returns 0, -ENOENT (not declared), -EINVAL or -ENOMEM;
 * on failure sec is still the caller's and nothing changed.
 */
int metrics_slots_put(struct metrics_slots *ks, const char *key, const char *sub, struct metrics_section *sec,
	struct metrics_slots_change *ch);

/* The change's body swapped in (cannot fail); every successful change is committed. */
void metrics_slots_commit(struct metrics_slots *ks, struct metrics_slots_change *ch);
/* Frees what the committed change replaced (and ch's body when it was never committed). */
void metrics_slots_change_done(struct metrics_slots_change *ch);

/* Frees the slots and the body (scrapes hold their own references). */
void metrics_slots_deinit(struct metrics_slots *ks);
