/* fuzz-hold: a counter state file read back (any bytes), written again alike, and applied without a decrease */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/hold.h"
#include "metrics/usage.h"
#include "util/buf.h"

#include "fuzz.h"

#define KEY "window=month timezone=UTC+00:00 group_by=QUEUE_ID,USAGE_TYPE"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* A refresh of two groups, one of them likely in the input, with small figures. */
static struct usage_table *refresh_table(void)
{
	static const enum group_field gb[2] = {GROUP_QUEUE_ID, GROUP_USAGE_TYPE};
	struct usage_table *t = NULL;
	static const char *const queues[2] = {"queue-a", "queue-b"};

	if (usage_table_new(&t, gb, 2) < 0)
		abort();
	for (size_t i = 0; i < 2; i++) {
		struct usage_row row = {.count = 1};
		row.fields[GROUP_QUEUE_ID] = (char *)queues[i];
		row.fields[GROUP_USAGE_TYPE] = (char *)"COMPUTE";
		row.cost = (struct usage_stats){.sum = 1, .present = STAT_SUM};
		row.runtime = row.cost;
		if (usage_table_add(t, &row) < 0)
			abort();
	}
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct usage_hold *h = NULL, *again = NULL;
	struct buf first = {0}, second = {0};
	struct usage_table *t, *out = NULL;
	char err[128];
	int64_t window = 0;
	int r;

	if (usage_hold_new(&h) < 0)
		abort();
	r = usage_hold_read(h, KEY, (const char *)data, size, err, sizeof(err));
	FUZZ_ASSERT(r == 0 || r == USAGE_HOLD_OTHER_KEY || r == -EINVAL || r == -ENOMEM);
	FUZZ_ASSERT(r == 0 || !usage_hold_window(h, NULL));
	FUZZ_ASSERT(r != -EINVAL || strncmp(err, "line ", 5) == 0);
	if (r == 0) {
		/* what was read is written again, and reads back to the same text */
		FUZZ_ASSERT(usage_hold_write(h, KEY, &first) == 0);
		if (usage_hold_new(&again) < 0)
			abort();
		FUZZ_ASSERT(usage_hold_read(again, KEY, first.data, first.len, err, sizeof(err)) == 0);
		FUZZ_ASSERT(usage_hold_write(again, KEY, &second) == 0);
		FUZZ_ASSERT(first.len == second.len && memcmp(first.data, second.data, first.len) == 0);
		/* a refresh of the same window never shows less than what was restored */
		if (usage_hold_window(h, &window)) {
			t = refresh_table();
			r = usage_hold_apply(h, t, window, &out, NULL);
			FUZZ_ASSERT(r == 0 || r == -EINVAL);
			usage_table_free(t);
		}
	}
	buf_deinit(&first);
	buf_deinit(&second);
	usage_hold_free(again);
	usage_hold_free(h);
	return 0;
}
