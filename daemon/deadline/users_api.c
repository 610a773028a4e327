/* users_api: IAM Identity Center's DescribeUser: the id syntax, the request body and the answer's names (no curl
 * inside) */
#include "deadline/users_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "deadline/json_schema.h"

bool user_id_usable(const char *id)
{
	size_t n = 0;

	if (!id)
		return false;
	for (; id[n]; n++) {
		char ch = id[n];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return false;
	}
	return n >= 1 && n <= USERS_API_ID_MAX;
}

int users_api_describe_body(const char *store_id, const char *user_id, char **body, size_t *len)
{
	int n;

	if (!user_id_usable(store_id) || !user_id_usable(user_id))
		return -EINVAL;
	n = asprintf(body, "{\"IdentityStoreId\":\"%s\",\"UserId\":\"%s\"}", store_id, user_id);
	if (n < 0) {
		*body = NULL;
		return -ENOMEM;
	}
	*len = (size_t)n;
	return 0;
}

/* The members the metric shows. */
enum { SLOT_USER_NAME = 1, SLOT_DISPLAY_NAME };

static const struct json_member describe_members[] = {
	{"UserName", SLOT_USER_NAME, 0, false, &json_schema_string},
	{"DisplayName", SLOT_DISPLAY_NAME, 1, false, &json_schema_string},
};
static const struct json_node describe_node = {.kind = JSON_OBJECT, .members = describe_members, .n_members = 2};

static int describe_value(void *c, int slot, const struct json_value *v, const char **why)
{
	struct users_api_names *names = c;

	(void)why;
	return json_schema_set_string(slot == SLOT_USER_NAME ? &names->user_name : &names->display_name, v);
}

static const struct json_sink describe_sink = {.value = describe_value};

int users_api_parse_describe(const char *body, size_t len, struct users_api_names *names, char *err, size_t errlen)
{
	int r;

	users_api_names_deinit(names);
	r = json_schema_parse(&describe_node, &describe_sink, names, body, len, err, errlen);
	if (r != 0)
		users_api_names_deinit(names);
	return r;
}

void users_api_names_deinit(struct users_api_names *names)
{
	free(names->user_name);
	free(names->display_name);
	names->user_name = names->display_name = NULL;
}
