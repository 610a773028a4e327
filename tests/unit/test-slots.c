/* test-slots: a kind's declared sections: order, kept sections, duplicates, refusals, the body after each change */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/slots.h"
#include "test.h"

static const struct exposition_family families[] = {{"f", EXPOSITION_GAUGE, "F."}};
static struct metrics_kind kind = {.rank = METRICS_RANK_INVENTORY, .families = families, .n_families = 1};
static struct metrics_kind other = {.rank = METRICS_RANK_INVENTORY, .families = families, .n_families = 1};

/* A sealed section of kind k whose one line is f{key="key"} 1. */
static struct metrics_section *section(struct metrics_kind *k, const char *key)
{
	struct metrics_section *sec = NULL;
	const char *labels[] = {"key", key};

	CHECK_INT(metrics_section_new(&sec, k), 0);
	if (!sec)
		return NULL;
	CHECK_INT(exposition_series(metrics_section_lines(sec, 0), "f", labels, 1, "1"), 0);
	CHECK_INT(metrics_section_seal(sec), 0);
	return sec;
}

/* The text of ks's body ("" when none), NUL-terminated. */
static char *body_text(const struct metrics_slots *ks)
{
	struct buf b = {0};

	if (ks->body)
		CHECK_INT(metrics_body_text(ks->body, &b), 0);
	CHECK_INT(buf_putc(&b, '\0'), 0);
	return buf_take(&b, NULL);
}

/* A change committed and done, as the store does it; returns the change's result. */
static int declare(struct metrics_slots *ks, const char *const *keys, const char *const *subs, size_t n)
{
	struct metrics_slots_change ch = {0};
	int r = metrics_slots_declare(ks, keys, subs, n, &ch);

	if (r == 0)
		metrics_slots_commit(ks, &ch);
	metrics_slots_change_done(&ch);
	return r;
}

static int put(struct metrics_slots *ks, const char *key, const char *sub, struct metrics_section *sec)
{
	struct metrics_slots_change ch = {0};
	int r = metrics_slots_put(ks, key, sub, sec, &ch);

	if (r == 0)
		metrics_slots_commit(ks, &ch);
	else
		metrics_section_unref(sec);
	metrics_slots_change_done(&ch);
	return r;
}

static void test_declared(void)
{
	struct metrics_slots ks = {0};
	struct metrics_section *open = NULL;
	char *text;

	CHECK(metrics_slots_take_kind(&ks, &kind));
	CHECK(metrics_slots_take_kind(&ks, &kind));
	CHECK(!metrics_slots_take_kind(&ks, &other));
	CHECK_INT(put(&ks, "a", NULL, section(&kind, "a")), -ENOENT);
	CHECK_INT(declare(&ks, (const char *const[]){"b", "a", "b"}, NULL, 3), 0);
	CHECK_INT(ks.n, 2); /* b once */
	CHECK(ks.body == NULL);
	CHECK_INT(put(&ks, "a", NULL, section(&kind, "a")), 0);
	CHECK_INT(put(&ks, "b", NULL, section(&kind, "b")), 0);
	CHECK_INT(put(&ks, "c", NULL, section(&kind, "c")), -ENOENT);
	CHECK_INT(put(&ks, NULL, NULL, section(&kind, "none")), -EINVAL);
	CHECK_INT(put(&ks, "a", NULL, section(&other, "other")), -EINVAL);
	CHECK_INT(metrics_section_new(&open, &kind), 0);
	CHECK_INT(put(&ks, "a", NULL, open), -EINVAL);
	text = body_text(&ks);
	CHECK_STR(text, "# HELP f F.\n# TYPE f gauge\nf{key=\"b\"} 1\nf{key=\"a\"} 1\n");
	free(text);

	/* a goes, b keeps its section, c comes without one; a NULL key changes nothing */
	CHECK_INT(declare(&ks, (const char *const[]){"c", "b", NULL}, NULL, 3), -EINVAL);
	CHECK_INT(ks.n, 2);
	CHECK_INT(declare(&ks, (const char *const[]){"c", "b"}, NULL, 2), 0);
	text = body_text(&ks);
	CHECK_STR(text, "# HELP f F.\n# TYPE f gauge\nf{key=\"b\"} 1\n");
	free(text);
	/* a section removed: NULL */
	CHECK_INT(put(&ks, "b", NULL, NULL), 0);
	CHECK(ks.body == NULL);
	metrics_slots_deinit(&ks);
}

/* Keys with sub-keys (farm, report): both must match. A kind never declared holds one section, of key NULL. */
static void test_pairs_and_single(void)
{
	struct metrics_slots ks = {0}, one = {0};
	char *text;

	CHECK(metrics_slots_take_kind(&ks, &kind));
	CHECK_INT(declare(&ks, (const char *const[]){"farm", "farm"}, (const char *const[]){"r1", "r2"}, 2), 0);
	CHECK_INT(put(&ks, "farm", "r2", section(&kind, "r2")), 0);
	CHECK_INT(put(&ks, "farm", NULL, section(&kind, "none")), -ENOENT);
	CHECK_INT(put(&ks, "farm", "r3", section(&kind, "r3")), -ENOENT);
	text = body_text(&ks);
	CHECK_STR(text, "# HELP f F.\n# TYPE f gauge\nf{key=\"r2\"} 1\n");
	free(text);
	metrics_slots_deinit(&ks);

	CHECK(metrics_slots_take_kind(&one, &kind));
	CHECK_INT(put(&one, "key", NULL, section(&kind, "x")), -ENOENT);
	CHECK_INT(put(&one, NULL, NULL, section(&kind, "x")), 0);
	CHECK_INT(put(&one, NULL, NULL, section(&kind, "y")), 0);
	CHECK_INT(one.n, 1);
	text = body_text(&one);
	CHECK_STR(text, "# HELP f F.\n# TYPE f gauge\nf{key=\"y\"} 1\n");
	free(text);
	metrics_slots_deinit(&one);
}

int main(void)
{
	test_declared();
	test_pairs_and_single();
	TEST_DONE();
}
