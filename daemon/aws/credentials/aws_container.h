/* aws_container: the container credentials endpoint (ECS tasks, EKS Pod Identity) */
#pragma once

#include <stddef.h>

struct aws_credentials;

/*
 * The URL to ask: http://169.254.170.2 + AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, else
 * AWS_CONTAINER_CREDENTIALS_FULL_URI when it is https, or http to a loopback address or the ECS / EKS Pod
 * Identity addresses (169.254.170.2, 169.254.170.23, fd00:ec2::23). Returns 0 with *out malloc'd,
 * -ENOENT when neither variable is set, -EINVAL (why says why) for a refused URL, -ENOMEM.
 */
int aws_container_url(char **out, char *why, size_t whylen);

/*
 * Fetches credentials from the container endpoint, with the Authorization header read from
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read every time: it is rotated) or
 * AWS_CONTAINER_AUTHORIZATION_TOKEN. Returns 0 with *out (provider "container"), -ENOENT when not
 * configured, another negative code (why says what) when configured but failing. why never holds the token.
 */
int aws_container_credentials(struct aws_credentials **out, char *why, size_t whylen);
