/* aws_imds: EC2 instance metadata, IMDSv2 only (the role's credentials: aws/credentials/aws_providers.c) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * GETs path (starting with "/latest/") with a fresh session token (PUT /latest/api/token with
 * X-aws-ec2-metadata-token-ttl-seconds), 1 s to connect and 2 attempts each, no proxy. Returns 0 with
 * *body malloc'd (aws_imds_body_free()), -ENOENT when disabled, unreachable or without a session token for us,
 * -EACCES when the metadata request is refused, -EIO for an unexpected answer; why says which (never the token).
 */
int aws_imds_get(const char *path, char **body, char *why, size_t whylen);
/* Zeroes and frees a body aws_imds_get() gave. NULL-safe. */
void aws_imds_body_free(char *body);

/* The instance's region (/latest/meta-data/placement/region). Same codes as aws_imds_get(). */
int aws_imds_region(char **out, char *why, size_t whylen);
