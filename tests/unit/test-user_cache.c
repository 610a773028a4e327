/* test-user_cache: the user names' cache on a fake clock: lookups once, again after 24 h, missing users, failures */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "deadline/api_policy.h"
#include "deadline/user_cache.h"

static const char *const A = "6f55dcba85-1ed32226-82a8-0a3b-7255-97c26f8b63ec";
static const char *const B = "6f55dcba85-321fa581-8f5f-9f4c-0bcb-86a9caa00cab";

static void render(const struct user_cache *c, struct buf *b)
{
	buf_deinit(b);
	CHECK(user_cache_render(c, "d-1234567890", b) == 0);
	CHECK(buf_append(b, "", 1) == 0); /* NUL-terminated for strstr */
}

static void test_cache(void)
{
	struct user_cache c = {0};
	struct buf b = {0};
	double wait;
	const struct user_entry *e;

	CHECK(user_cache_next(&c, 0, &wait) == NULL && wait < 0);
	CHECK(user_cache_note(&c, A, 100) == USER_NOTE_ADDED);
	CHECK(user_cache_note(&c, A, 101) == USER_NOTE_KNOWN);
	CHECK(user_cache_note(&c, B, 102) == USER_NOTE_ADDED);
	CHECK(user_cache_note(&c, "a\"b", 102) == USER_NOTE_REFUSED);
	CHECK(user_cache_note(&c, "", 102) == USER_NOTE_REFUSED);
	render(&c, &b);
	CHECK_STR(b.data, ""); /* nobody known yet */

	/* A is due first; after its lookup B; then nothing until the 24 h pass. */
	e = user_cache_next(&c, 102, &wait);
	CHECK(e && !strcmp(e->id, A));
	CHECK(user_cache_record(&c, A, 0, "ana", "Ana \"K\"\n", 103));
	CHECK(!user_cache_record(&c, A, 0, "ana", "Ana \"K\"\n", 103)); /* same names: nothing to publish */
	e = user_cache_next(&c, 103, &wait);
	CHECK(e && !strcmp(e->id, B));
	CHECK(!user_cache_record(&c, B, API_NOT_FOUND, NULL, NULL, 104)); /* missing: no series, nothing changed */
	CHECK(user_cache_next(&c, 104, &wait) == NULL);
	CHECK(wait > USERS_TTL_SECONDS - 2 && wait <= USERS_TTL_SECONDS);
	render(&c, &b);
	CHECK(strstr(b.data, "# ") == NULL); /* the store writes the header, from users_kind */
	CHECK_STR(metrics_kind_header(&users_kind, 0)->text.data,
		"# HELP deadline_cloud_user_info The identity store's names of a user that appears in the figures "
		"(value "
		"1).\n# TYPE deadline_cloud_user_info gauge\n");
	CHECK(strstr(b.data,
		      "deadline_cloud_user_info{identity_store_id=\"d-1234567890\",user_id=\"6f55dcba85-1ed32226-"
		      "82a8-0a3b-7255-97c26f8b63ec\",user_name=\"ana\",display_name=\"Ana \\\"K\\\"\\n\"} 1\n") !=
		NULL);
	CHECK(strstr(b.data, B) == NULL);

	/* 24 h later A is looked up again; a failure keeps its names and tries again sooner. */
	e = user_cache_next(&c, 103 + USERS_TTL_SECONDS, &wait);
	CHECK(e && !strcmp(e->id, A));
	CHECK(!user_cache_record(&c, A, API_THROTTLED, NULL, NULL, 103 + USERS_TTL_SECONDS));
	render(&c, &b);
	CHECK(strstr(b.data, "user_name=\"ana\"") != NULL);
	e = user_cache_next(&c, 104 + USERS_TTL_SECONDS, &wait);
	CHECK(e && !strcmp(e->id, B)); /* B is due now too (missing users are asked again after 24 h) */
	CHECK(user_cache_record(&c, B, 0, "bo", "", 104 + USERS_TTL_SECONDS)); /* back: a series again */
	CHECK(user_cache_next(&c, 104 + USERS_TTL_SECONDS, &wait) == NULL);
	CHECK(wait > USERS_RETRY_SECONDS - 2 && wait <= USERS_RETRY_SECONDS); /* A's retry */

	/* A user that disappears loses its series. */
	CHECK(user_cache_record(&c, A, API_NOT_FOUND, NULL, NULL, 200 + USERS_TTL_SECONDS));
	render(&c, &b);
	CHECK(strstr(b.data, A) == NULL && strstr(b.data, "user_name=\"bo\"") != NULL);
	/* An unknown id is ignored. */
	CHECK(!user_cache_record(&c, "nobody", 0, "x", "y", 0));

	buf_deinit(&b);
	user_cache_deinit(&c);
}

static void test_bounds(void)
{
	struct user_cache c = {0};
	struct user_inbox in = {0};
	char id[32];
	int r = 0;

	/* The cache remembers USERS_MAX ids, the inbox queues USERS_INBOX_MAX: beyond, ids are refused. */
	for (int i = 0; i < USERS_MAX && r >= 0; i++) {
		snprintf(id, sizeof(id), "u-%08d", i);
		r = user_cache_note(&c, id, 0);
		if (r != USER_NOTE_ADDED)
			break;
	}
	CHECK_INT(r, USER_NOTE_ADDED);
	CHECK_INT(c.n, USERS_MAX);
	CHECK_INT(user_cache_note(&c, "u-x", 0), USER_NOTE_REFUSED);
	CHECK_INT(user_cache_note(&c, "u-00000007", 0), USER_NOTE_KNOWN);
	user_cache_deinit(&c);

	CHECK_INT(user_inbox_add(&in, "a\"b"), USER_INBOX_DROPPED);
	CHECK_INT(user_inbox_add(&in, NULL), USER_INBOX_DROPPED);
	CHECK_INT(in.n, 0);
	for (int i = 0; i < USERS_INBOX_MAX; i++) {
		snprintf(id, sizeof(id), "u-%d", i % 3);
		r = user_inbox_add(&in, id);
		if (r != (i ? USER_INBOX_QUEUED : USER_INBOX_FIRST))
			break;
	}
	CHECK_INT(r, USER_INBOX_QUEUED);
	CHECK_INT(user_inbox_add(&in, "u-x"), USER_INBOX_DROPPED);
	CHECK_INT(in.n, USERS_INBOX_MAX);
	/* Taken into the cache: each id once, the inbox empty, and the next id queued first again. */
	user_cache_take(&c, &in, 5);
	CHECK_INT(in.n, 0);
	CHECK_INT(c.n, 3);
	CHECK_INT(user_inbox_add(&in, "u-x"), USER_INBOX_FIRST);
	user_inbox_deinit(&in);
	user_cache_deinit(&c);
}

int main(void)
{
	test_cache();
	test_bounds();
	TEST_DONE();
}
