/* test-users_api: DescribeUser's id syntax, request body and answer parsing */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "deadline/deadline_api.h"
#include "deadline/users_api.h"

static const char *const A = "6f55dcba85-1ed32226-82a8-0a3b-7255-97c26f8b63ec";

static void test_id_usable(void)
{
	CHECK(user_id_usable(A));
	CHECK(user_id_usable("d-1234567890"));
	CHECK(!user_id_usable(NULL));
	CHECK(!user_id_usable(""));
	CHECK(!user_id_usable("a b"));
	CHECK(!user_id_usable("a\"b"));
	CHECK(!user_id_usable("x\\"));
	char long_id[USERS_API_ID_MAX + 2];
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	CHECK(!user_id_usable(long_id));
	long_id[USERS_API_ID_MAX] = '\0';
	CHECK(user_id_usable(long_id));
}

static void test_body(void)
{
	char *body = NULL;
	size_t len = 0;

	CHECK_INT(users_api_describe_body("d-1234567890", A, &body, &len), 0);
	CHECK_STR(body, "{\"IdentityStoreId\":\"d-1234567890\",\"UserId\":\"6f55dcba85-1ed32226-82a8-0a3b-7255-"
			"97c26f8b63ec\"}");
	CHECK_INT(len, strlen(body));
	free(body);
	/* An id that would need escaping never reaches the body. */
	body = NULL;
	CHECK_INT(users_api_describe_body("d-1234567890", "a\",\"x", &body, &len), -EINVAL);
	CHECK(body == NULL);
	CHECK_INT(users_api_describe_body("d 1", A, &body, &len), -EINVAL);
}

static int parse(const char *json, struct users_api_names *n)
{
	char err[256] = "";

	return users_api_parse_describe(json, strlen(json), n, err, sizeof(err));
}

static void test_parse(void)
{
	struct users_api_names n = {0};

	CHECK_INT(parse("{\"UserName\":\"ana\",\"DisplayName\":\"Ana K\",\"Emails\":[{\"Value\":\"a@b\"}],"
			"\"UserId\":\"x\",\"IdentityStoreId\":\"d-1\"}",
			  &n),
		0);
	CHECK_STR(n.user_name, "ana");
	CHECK_STR(n.display_name, "Ana K");
	/* A second answer replaces the first one's names, absent members included. */
	CHECK_INT(parse("{\"UserName\":\"bo\"}", &n), 0);
	CHECK_STR(n.user_name, "bo");
	CHECK(n.display_name == NULL);
	/* Broken answers leave nothing behind. */
	CHECK_INT(parse("{\"UserName\":3}", &n), DEADLINE_BAD_SHAPE);
	CHECK(n.user_name == NULL && n.display_name == NULL);
	CHECK_INT(parse("{\"UserName\":\"ana\",", &n), DEADLINE_BAD_JSON);
	CHECK(n.user_name == NULL && n.display_name == NULL);
	CHECK_INT(parse("[]", &n), DEADLINE_BAD_SHAPE);
	users_api_names_deinit(&n);
	CHECK(n.user_name == NULL);
}

int main(void)
{
	test_id_usable();
	test_body();
	test_parse();
	TEST_DONE();
}
