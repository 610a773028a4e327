/* test-env: env_get() reads unset and empty variables alike */
#include <stdlib.h>

#include "test.h"
#include "util/env.h"

int main(void)
{
	CHECK(unsetenv("TEST_ENV_VALUE") == 0);
	CHECK(env_get("TEST_ENV_VALUE") == NULL);
	CHECK(setenv("TEST_ENV_VALUE", "", 1) == 0);
	CHECK(env_get("TEST_ENV_VALUE") == NULL);
	CHECK(setenv("TEST_ENV_VALUE", " ", 1) == 0);
	CHECK_STR(env_get("TEST_ENV_VALUE"), " ");
	CHECK(setenv("TEST_ENV_VALUE", "value", 1) == 0);
	CHECK_STR(env_get("TEST_ENV_VALUE"), "value");
	CHECK(env_get(NULL) == NULL);
	TEST_DONE();
}
