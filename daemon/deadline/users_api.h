/* users_api: IAM Identity Center's DescribeUser: the id syntax, the request body and the answer's names (no curl
 * inside) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The JSON 1.1 operation: POST / with these headers, signed for "identitystore". */
#define USERS_API_OP_DESCRIBE "DescribeUser"
#define USERS_API_TARGET "AWSIdentityStore.DescribeUser"
#define USERS_API_CONTENT_TYPE "application/x-amz-json-1.1"
#define USERS_API_SERVICE "identitystore"

#define USERS_API_ID_MAX 64 /* bytes of an identity store id or a user id */

/* Whether id has the shape of an identity store id (letters, digits, '-'; 1 to 64 bytes): safe in a JSON body. */
bool user_id_usable(const char *id);

/*
 * DescribeUser's body, {"IdentityStoreId":"…","UserId":"…"} (malloc'd, *len set). Returns 0, -EINVAL when an id
 * fails user_id_usable() (so nothing needs escaping), -ENOMEM.
 */
int users_api_describe_body(const char *store_id, const char *user_id, char **body, size_t *len);

/* A user's names, as DescribeUser answered them (malloc'd; NULL when absent). */
struct users_api_names {
	char *user_name;
	char *display_name;
};

/*
 * Parses DescribeUser's answer into names, replacing what they held (the other members, personal data the
 * exporter does not need, are skipped). Returns 0, DEADLINE_BAD_JSON or DEADLINE_BAD_SHAPE (reason in err) or
 * -ENOMEM; on failure names are left empty.
 */
int users_api_parse_describe(const char *body, size_t len, struct users_api_names *names, char *err, size_t errlen);

/* Frees the names and clears them. */
void users_api_names_deinit(struct users_api_names *names);
