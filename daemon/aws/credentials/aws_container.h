/* aws_container: the container credentials endpoint (ECS tasks, EKS Pod Identity) */
#pragma once

#include <stddef.h>

struct aws_credentials;

/*
 * Fetches credentials from the container endpoint, with the Authorization header read from
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read every time: it is rotated) or
 * AWS_CONTAINER_AUTHORIZATION_TOKEN. Returns 0 with *out (provider "container"), -ENOENT when not
 * configured, another negative code (why says what) when configured but failing. why never holds the token.
 */
int aws_container_credentials(struct aws_credentials **out, char *why, size_t whylen);
