/* aws_role: the credentials of an IAM role, assumed with the exporter's own (a role per farm, the identity store's) */
#include "aws/credentials/aws_role.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the role's one source needs (the provider's data). */
struct role {
	struct aws_credentials_provider *source;
	char *role_arn;
	char *external_id;
	int (*assume)(const struct aws_credentials_context *ctx, struct aws_sts_request *req,
		struct aws_credentials **out, char *why, size_t whylen);
};

static void role_free(void *data)
{
	struct role *role = data;

	if (!role)
		return;
	free(role->role_arn);
	free(role->external_id);
	free(role);
}

static int role_fetch(const struct aws_credentials_context *ctx, struct aws_credentials **out, char *why, size_t whylen)
{
	const struct role *role = ctx->data;
	struct aws_credentials *source = NULL;
	struct aws_sts_outcome outcome = {0};
	int r;

	*out = NULL;
	r = aws_credentials_provider_get(role->source, &source);
	if (r < 0) {
		char inner[512];

		aws_credentials_provider_last_failure(role->source, inner, sizeof(inner));
		snprintf(why, whylen, "no credentials of the exporter's own to assume the role with%s%s",
			inner[0] ? ": " : "", inner);
		return r;
	}
	struct aws_sts_request req = {
		.role_arn = role->role_arn,
		.session_name = AWS_ROLE_SESSION_NAME,
		.external_id = role->external_id,
		.source = source,
		.provider = "assume-role",
		.outcome = &outcome,
	};
	r = role->assume(ctx, &req, out, why, whylen);
	/* The exporter's own session token ran out before its provider renewed it: renewed at the next try. */
	if (r < 0 && strcmp(outcome.code, "ExpiredToken") == 0)
		aws_credentials_provider_invalidate(role->source);
	aws_credentials_unref(source);
	return r;
}

static const struct aws_credentials_source role_source = {"assume-role", role_fetch};
static const struct aws_credentials_source *const role_chain[] = {&role_source};

int aws_role_provider_new_fake(struct aws_credentials_provider **out, const struct aws_role_options *o,
	int (*assume)(const struct aws_credentials_context *ctx, struct aws_sts_request *req,
		struct aws_credentials **out, char *why, size_t whylen),
	int64_t (*now)(void))
{
	struct role *role;
	char *fields = NULL;
	int r;

	*out = NULL;
	if (!o->source || !o->role_arn || !*o->role_arn || !assume)
		return -EINVAL;
	role = calloc(1, sizeof(*role));
	if (!role)
		return -ENOMEM;
	role->source = o->source;
	role->assume = assume;
	role->role_arn = strdup(o->role_arn);
	role->external_id = o->external_id ? strdup(o->external_id) : NULL;
	if (!role->role_arn || (o->external_id && !role->external_id) ||
		asprintf(&fields, "role=%s", o->role_arn) < 0) {
		role_free(role);
		return -ENOMEM;
	}
	const struct aws_credentials_provider_spec spec = {
		.profile = o->profile,
		.region = o->region,
		.ca_file = o->ca_file,
		.sources = role_chain,
		.n_sources = 1,
		.data = role,
		.data_free = role_free,
		.log_fields = fields,
		.now = now,
	};
	r = aws_credentials_provider_new_sources(out, &spec);
	free(fields);
	return r;
}

int aws_role_provider_new(struct aws_credentials_provider **out, const struct aws_role_options *o)
{
	return aws_role_provider_new_fake(out, o, aws_sts_call_in, NULL);
}
