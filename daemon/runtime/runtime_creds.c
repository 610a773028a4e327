/* runtime_creds: the credentials each farm and the identity store sign with: the exporter's chain, and one provider
 * per distinct role */
#include "runtime/runtime_creds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_endpoint.h"
#include "aws/credentials/aws_role.h"

struct role_entry {
	char *arn;
	char *external_id;
	char *sts_region; /* or NULL: the global endpoint */
	struct aws_credentials_provider *provider;
};

struct runtime_creds {
	struct aws_credentials_provider *base;
	struct role_entry *roles;
	size_t n;
};

/* A role as the configuration names it, with the region its STS calls go to. */
struct role_key {
	const char *arn;
	const char *external_id;
	const char *sts_region;
};

static bool same_optional(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool key_same(const struct role_entry *e, const struct role_key *k)
{
	return strcmp(e->arn, k->arn) == 0 && same_optional(e->external_id, k->external_id);
}

/*
 * The distinct roles of cfg in order (farms, then the identity store), each with the region of its first user.
 * keys has room for n_farms + 1. Returns their number.
 */
static size_t roles_of(const struct config *cfg, const char *region, struct role_key *keys)
{
	size_t n = 0;

	for (size_t i = 0; i <= cfg->n_farms; i++) {
		const bool ids = i == cfg->n_farms;
		const char *arn = ids ? cfg->identity_store.role_arn : cfg->farms[i].role_arn;
		const char *external_id = ids ? cfg->identity_store.external_id : cfg->farms[i].external_id;
		const char *own_region = ids ? cfg->identity_store.region : cfg->farms[i].region;
		bool seen = false;

		if (!arn || (ids && !cfg->identity_store.id))
			continue;
		for (size_t k = 0; k < n && !seen; k++)
			seen = strcmp(keys[k].arn, arn) == 0 && same_optional(keys[k].external_id, external_id);
		if (!seen)
			keys[n++] = (struct role_key){arn, external_id, own_region ? own_region : region};
	}
	return n;
}

static int entry_add(struct runtime_creds *c, const struct role_key *k, const struct config *cfg,
	const struct aws_credentials_observer *observer)
{
	struct role_entry *e = &c->roles[c->n];
	int r;

	memset(e, 0, sizeof(*e));
	e->arn = strdup(k->arn);
	e->external_id = k->external_id ? strdup(k->external_id) : NULL;
	e->sts_region = k->sts_region ? strdup(k->sts_region) : NULL;
	if (!e->arn || (k->external_id && !e->external_id) || (k->sts_region && !e->sts_region))
		goto nomem;
	const struct aws_role_options o = {
		.source = c->base,
		.role_arn = e->arn,
		.external_id = e->external_id,
		.profile = cfg->profile,
		.region = e->sts_region,
		.ca_file = aws_ca_bundle(cfg->ca_file),
	};
	r = aws_role_provider_new(&e->provider, &o);
	if (r < 0)
		goto fail;
	if (observer)
		aws_credentials_provider_observe(e->provider, observer);
	c->n++;
	return 0;
nomem:
	r = -ENOMEM;
fail:
	free(e->arn);
	free(e->external_id);
	free(e->sts_region);
	return r;
}

int runtime_creds_new(struct runtime_creds **out, const struct config *cfg, const char *region,
	struct aws_credentials_provider *base, const struct aws_credentials_observer *observer)
{
	struct runtime_creds *c;
	struct role_key *keys;
	size_t n;
	int r = 0;

	*out = NULL;
	if (!base)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	keys = calloc(cfg->n_farms + 1, sizeof(*keys));
	if (!c || !keys) {
		free(c);
		free(keys);
		return -ENOMEM;
	}
	c->base = base;
	n = roles_of(cfg, region, keys);
	if (n) {
		c->roles = calloc(n, sizeof(*c->roles));
		if (!c->roles)
			r = -ENOMEM;
	}
	for (size_t i = 0; i < n && r == 0; i++)
		r = entry_add(c, &keys[i], cfg, observer);
	free(keys);
	if (r < 0) {
		runtime_creds_free(c);
		return r;
	}
	*out = c;
	return 0;
}

void runtime_creds_free(struct runtime_creds *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		aws_credentials_provider_free(c->roles[i].provider);
		free(c->roles[i].arn);
		free(c->roles[i].external_id);
		free(c->roles[i].sts_region);
	}
	free(c->roles);
	free(c);
}

bool runtime_creds_serves(const struct runtime_creds *c, const struct config *cfg, const char *region)
{
	struct role_key *keys;
	bool same;
	size_t n;

	if (!c)
		return false;
	keys = calloc(cfg->n_farms + 1, sizeof(*keys));
	if (!keys)
		return false;
	n = roles_of(cfg, region, keys);
	same = n == c->n;
	for (size_t i = 0; i < n && same; i++)
		same = key_same(&c->roles[i], &keys[i]) && same_optional(c->roles[i].sts_region, keys[i].sts_region);
	free(keys);
	return same;
}

static struct aws_credentials_provider *lookup(const struct runtime_creds *c, const char *arn, const char *external_id)
{
	if (!arn)
		return c->base;
	for (size_t i = 0; i < c->n; i++) {
		const struct role_key k = {arn, external_id, NULL};
		if (key_same(&c->roles[i], &k))
			return c->roles[i].provider;
	}
	/* Not made for this configuration: never signed with another identity instead. */
	return NULL;
}

struct aws_credentials_provider *runtime_creds_farm(const struct runtime_creds *c, const struct farm_config *f)
{
	return lookup(c, f->role_arn, f->external_id);
}

struct aws_credentials_provider *runtime_creds_identity_store(const struct runtime_creds *c, const struct config *cfg)
{
	return lookup(c, cfg->identity_store.role_arn, cfg->identity_store.external_id);
}

size_t runtime_creds_count(const struct runtime_creds *c)
{
	return c ? c->n : 0;
}

const char *runtime_creds_role(const struct runtime_creds *c, size_t i, struct aws_credentials_provider **provider)
{
	*provider = c->roles[i].provider;
	return c->roles[i].arn;
}
