/* runtime_creds: the credentials each farm and the identity store sign with: the exporter's chain, and one provider
 * per distinct role (farms[].role_arn, identity_store.role_arn) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "aws/credentials/aws_credentials.h"
#include "config/config.h"

struct runtime_creds;

/*
 * One role provider (aws_role.h) per distinct (role_arn, external_id) of cfg's farms and identity store, assumed
 * with base (borrowed: it outlives *out), STS asked in the region of the first farm naming the role (its
 * farms[].region, else region, the exporter's resolved one) or of the identity store. observer (may be NULL) is
 * told of their STS calls. Returns 0 with *out (no role at all is fine), -EINVAL, -ENOMEM.
 */
int runtime_creds_new(struct runtime_creds **out, const struct config *cfg, const char *region,
	struct aws_credentials_provider *base, const struct aws_credentials_observer *observer);

/* Frees the role providers (their cached keys wiped). NULL-safe. */
void runtime_creds_free(struct runtime_creds *c);

/*
 * Whether c holds exactly the roles runtime_creds_new() would make for cfg and region on the same base (the same
 * roles, external ids and STS regions, in the same order): a reload then keeps c, and the roles' cached keys.
 */
bool runtime_creds_serves(const struct runtime_creds *c, const struct config *cfg, const char *region);

/* The provider farm f signs with: its role's, or the base chain; NULL when c was not made for f's configuration. */
struct aws_credentials_provider *runtime_creds_farm(const struct runtime_creds *c, const struct farm_config *f);

/* The provider DescribeUser signs with: identity_store.role_arn's, or the base chain; NULL as above. */
struct aws_credentials_provider *runtime_creds_identity_store(const struct runtime_creds *c, const struct config *cfg);

/* How many roles c holds. */
size_t runtime_creds_count(const struct runtime_creds *c);

/* Role i of c (i < runtime_creds_count()): its ARN, and its provider in *provider. */
const char *runtime_creds_role(const struct runtime_creds *c, size_t i, struct aws_credentials_provider **provider);
