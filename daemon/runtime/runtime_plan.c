/* runtime_plan: prepare — every step of a start or a reload that may fail, building what runs without starting it */
#include "runtime/runtime_plan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_endpoint.h"
#include "config/reload.h"
#include "util/log.h"

/* One prepare: its inputs and where its failure goes. */
struct prepare {
	struct runtime_plan *plan;
	const struct runtime_pieces *running;
	const struct runtime_links *links;
	char *why;
	size_t whylen;
};

int runtime_plan_load(struct config **out, const char *path, const char *listen, char *why, size_t whylen)
{
	struct config *cfg = NULL;
	char err[8192];
	char *copy;

	err[0] = '\0';
	if (config_load(&cfg, path, err, sizeof(err)) < 0) {
		/* Already "FILE:LINE: reason" lines: print them as they are, for people and editors. */
		fputs(err, stderr);
		if (err[0] && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		if (why && whylen)
			snprintf(why, whylen, "%s", err);
		return RUNTIME_BAD_CONFIG;
	}
	if (listen) {
		copy = strdup(listen);
		if (!copy) {
			config_free(cfg);
			if (why && whylen)
				snprintf(why, whylen, "%s", strerror(ENOMEM));
			return -ENOMEM;
		}
		free(cfg->listen);
		cfg->listen = copy;
	}
	*out = cfg;
	return 0;
}

/*
 * A step failed: one log line, "op=reload status=rejected" on reload, "op=<start_op> status=error" at start, with
 * fields ("listen=…", or "") before the reason; the reason goes into why for POST /-/reload's answer.
 */
__attribute__((format(printf, 4, 5))) static void refuse(
	const struct prepare *p, const char *start_op, const char *fields, const char *fmt, ...)
{
	char reason[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (p->running->cfg)
		log_error("op=reload status=rejected %s%serror=\"%s\"", fields, *fields ? " " : "", reason);
	else
		log_error("op=%s status=error %s%serror=\"%s\"", start_op, fields, *fields ? " " : "", reason);
	if (p->why && p->whylen)
		snprintf(p->why, p->whylen, "%s", reason);
}

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The credentials chain depends on the profile, the region (STS) and the CA bundle: a new one when any changed. */
static bool credentials_reusable(const struct runtime_pieces *running, const struct config *cfg, const char *region)
{
	return running->creds && same_string(cfg->profile, running->cfg->profile) &&
	       strcmp(region, running->region) == 0 &&
	       same_string(aws_ca_bundle(cfg->ca_file), aws_ca_bundle(running->cfg->ca_file));
}

/* The credentials the new pieces use: the new chain, or the running one. */
static struct aws_credentials_provider *plan_creds(const struct prepare *p)
{
	return p->plan->next.creds ? p->plan->next.creds : p->running->creds;
}

/*
 * A provider per role of the configuration, assumed with the chain: the running ones when they serve as they are
 * (the same chain, roles, external ids and STS regions), which keeps their cached keys across a reload.
 */
static int plan_roles(const struct prepare *p)
{
	struct runtime_pieces *next = &p->plan->next;
	int r;

	if (!next->creds && runtime_creds_serves(p->running->roles, next->cfg, next->region)) {
		p->plan->keep_roles = true;
		return 0;
	}
	r = runtime_creds_new(
		&next->roles, next->cfg, next->region, plan_creds(p), p->links ? &p->links->sts_observer : NULL);
	if (r < 0)
		refuse(p, "start", "", "cannot set up the roles' credentials: %s", strerror(-r));
	return r;
}

/*
 * Region and endpoint: only what the file alone cannot tell is decided here, which is why --check-config does
 * not run it: the region may come from AWS_REGION, the profile or the instance metadata (IMDS, over the network),
 * and the endpoint from AWS_ENDPOINT_URL*, the profile, and the FIPS and dual-stack switches of the environment.
 * The shapes of aws.region and aws.endpoint_url were checked by config_load(). Then the credentials chain, which
 * resolves nothing yet (lazily, at the first request).
 */
static int plan_aws(const struct prepare *p)
{
	struct runtime_pieces *next = &p->plan->next;
	const struct config *cfg = next->cfg;
	char fields[256];
	int r;

	snprintf(fields, sizeof(fields), "file=%s", cfg->path);
	if (aws_region_resolve(cfg->region, cfg->profile, &next->region) < 0) {
		refuse(p, "start", fields, "no AWS region: set aws.region, or AWS_REGION");
		return RUNTIME_BAD_CONFIG;
	}
	if (aws_endpoint_resolve(cfg->endpoint_url, cfg->profile, next->region, &next->endpoint) < 0) {
		snprintf(fields, sizeof(fields), "region=%s", next->region);
		refuse(p, "start", fields, "unusable Deadline Cloud endpoint");
		return RUNTIME_BAD_CONFIG;
	}
	if (!credentials_reusable(p->running, cfg, next->region)) {
		r = aws_credentials_provider_new(&next->creds, cfg->profile, next->region, aws_ca_bundle(cfg->ca_file));
		if (r < 0) {
			refuse(p, "start", "", "cannot set up the AWS credentials: %s", strerror(-r));
			return r;
		}
		if (p->links)
			aws_credentials_provider_observe(next->creds, &p->links->sts_observer);
	}
	return plan_roles(p);
}

/* Whether the running user directory serves cfg as it is (same store, region, endpoint, credentials). */
static bool users_reusable(const struct prepare *p)
{
	const struct runtime_pieces *running = p->running, *next = &p->plan->next;

	if (!running->users || next->creds || (next->cfg->identity_store.role_arn && !p->plan->keep_roles))
		return false;
	return reload_identity_store_same(running->cfg, next->cfg) &&
	       same_string(running->cfg->profile, next->cfg->profile) && strcmp(running->region, next->region) == 0;
}

/* The roles the new pieces use: the new ones, or the running ones. */
static const struct runtime_creds *plan_roles_used(const struct prepare *p)
{
	return p->plan->keep_roles ? p->running->roles : p->plan->next.roles;
}

/* The user directory of the configuration (none without identity_store), not started. */
static int plan_users(const struct prepare *p)
{
	struct runtime_pieces *next = &p->plan->next;
	int r;

	p->plan->keep_users = users_reusable(p);
	if (p->plan->keep_users || !next->cfg->identity_store.id)
		return 0;
	r = user_directory_new(&next->users, next->cfg, next->region,
		runtime_creds_identity_store(plan_roles_used(p), next->cfg), p->links->store);
	if (r < 0)
		refuse(p, "start", "", "cannot set up the identity store: %s", strerror(-r));
	return r;
}

/* The poller (its threads not started), each farm signing with its own credentials (its role's, or the chain). */
static int plan_poller(const struct prepare *p)
{
	struct runtime_pieces *next = &p->plan->next;
	const struct config *cfg = next->cfg;
	struct aws_credentials_provider **farm_creds = calloc(cfg->n_farms, sizeof(*farm_creds));
	int r = farm_creds ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < cfg->n_farms; i++) {
		farm_creds[i] = runtime_creds_farm(plan_roles_used(p), &cfg->farms[i]);
		if (!farm_creds[i])
			r = -EINVAL; /* roles made for another configuration: a bug, never signed otherwise */
	}
	const struct poller_options po = {
		.endpoint = next->endpoint,
		.region = next->region,
		.ca_file = aws_ca_bundle(cfg->ca_file),
		.inventory = p->links->inventory,
		.users = p->plan->keep_users ? p->running->users : next->users,
		.farm_creds = farm_creds,
	};
	if (r == 0)
		r = poller_new(&next->poller, cfg, &po, plan_creds(p), p->links->store);
	free(farm_creds);
	if (r < 0)
		refuse(p, "start", "", "cannot set up the poller: %s", strerror(-r));
	return r;
}

/*
 * Left to this step, as they need the machine rather than the file: resolving and binding the address (in use,
 * not on this host) and a libmicrohttpd built with TLS. Everything else web.* names (the address's form, the
 * certificate and its key, the users' hashes) config_load() has checked the same way.
 */
static int plan_web(const struct prepare *p)
{
	const struct runtime_pieces *running = p->running;
	struct runtime_pieces *next = &p->plan->next;
	const struct config *cfg = next->cfg;
	char err[512], fields[300];
	int r;

	err[0] = '\0';
	if (!running->server || strcmp(cfg->listen, running->cfg->listen) != 0) {
		r = http_server_new(
			&next->server, cfg->listen, &cfg->web, p->links->store, &p->links->lifecycle, err, sizeof(err));
		if (r < 0) {
			snprintf(fields, sizeof(fields), "listen=%s", cfg->listen);
			refuse(p, "listen", fields, "%s", err[0] ? err : strerror(-r));
		}
		return r;
	}
	/* Same address: the running server takes the new certificate, key and users in place. */
	r = http_server_reload_tls(running->server, &cfg->web, err, sizeof(err));
	if (r < 0) {
		refuse(p, "start", "", "web settings not usable, the old certificate and users stay: %s", err);
		return r;
	}
	if (r == HTTP_SERVER_RESTART_NEEDED)
		log_warning("op=reload status=partial reason=\"%s: takes effect at the next restart\"", err);
	return 0;
}

int runtime_plan_prepare(struct runtime_plan *plan, struct config *cfg, const struct runtime_pieces *running,
	const struct runtime_links *links, char *why, size_t whylen)
{
	const struct prepare p = {plan, running, links, why, whylen};
	int r;

	memset(plan, 0, sizeof(*plan));
	plan->next.cfg = cfg;
	r = plan_aws(&p);
	if (r == 0)
		r = plan_users(&p);
	if (r == 0)
		r = plan_poller(&p);
	if (r == 0)
		r = plan_web(&p); /* last: see the header */
	if (r != 0)
		runtime_plan_discard(plan);
	return r;
}

void runtime_plan_discard(struct runtime_plan *plan)
{
	struct runtime_pieces *next = &plan->next;

	/* Borrowers first (runtime_plan.h). */
	http_server_free(next->server);
	poller_free(next->poller);
	user_directory_free(next->users);
	runtime_creds_free(next->roles);
	aws_credentials_provider_free(next->creds);
	free(next->region);
	free(next->endpoint);
	config_free(next->cfg);
	memset(plan, 0, sizeof(*plan));
}

int runtime_plan_prepare_aws(struct runtime_plan *plan, struct config *cfg)
{
	static const struct runtime_pieces nothing;
	const struct prepare p = {plan, &nothing, NULL, NULL, 0};
	int r;

	memset(plan, 0, sizeof(*plan));
	plan->next.cfg = cfg;
	r = plan_aws(&p);
	if (r != 0)
		runtime_plan_discard(plan);
	return r;
}
