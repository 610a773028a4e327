/* runtime_check: --check-aws: who the exporter is on AWS, its roles, and each operation its configuration calls */
#include "runtime/runtime_check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/aws_endpoint.h"
#include "aws/aws_iam.h"
#include "aws/credentials/aws_sts.h"
#include "deadline/access_check.h"
#include "deadline/users_api.h"
#include "deadline/worker.h"
#include "runtime/runtime_plan.h"

/* Distinct IAM actions to grant, for the summary; more than this are said as "…". */
#define CHECK_ACTIONS_MAX 32

struct check_run {
	FILE *out;
	size_t checked, failed;
	char actions[CHECK_ACTIONS_MAX][96];
	size_t n_missing;
	bool more_missing;
};

static void missing_add(struct check_run *run, const char *action)
{
	for (size_t i = 0; i < run->n_missing; i++)
		if (strcmp(run->actions[i], action) == 0)
			return;
	if (run->n_missing == CHECK_ACTIONS_MAX) {
		run->more_missing = true;
		return;
	}
	snprintf(run->actions[run->n_missing++], sizeof(run->actions[0]), "%s", action);
}

/* access_report_fn: one line per (farm, operation). */
static void check_report(void *ctx, const struct access_result *r)
{
	struct check_run *run = ctx;
	const char *sep = r->detail[0] ? " (" : "", *end = r->detail[0] ? ")" : "", *action;

	run->checked++;
	switch (r->verdict) {
	case ACCESS_OK:
		fprintf(run->out, "%s %s: ok%s%s%s\n", r->farm_id, r->operation, sep, r->detail, end);
		break;
	case ACCESS_PERMITTED:
		fprintf(run->out, "%s %s: ok (%s)\n", r->farm_id, r->operation, r->detail);
		break;
	case ACCESS_DENIED:
		run->failed++;
		/* Every operation the check calls is in the table the IAM policy is checked against. */
		action = aws_iam_action(r->operation);
		missing_add(run, action ? action : r->operation);
		fprintf(run->out, "%s %s: denied: grant %s (%s)\n", r->farm_id, r->operation, action ? action : "?",
			r->detail);
		break;
	case ACCESS_FAILED:
		run->failed++;
		fprintf(run->out, "%s %s: failed: %s\n", r->farm_id, r->operation, r->detail);
		break;
	}
	fflush(run->out);
}

/*
 * Who the exporter's own credentials are. Returns 0; -1 when nothing else can be checked (no credentials, or keys
 * STS refuses: every call would be refused too); 1 when STS did not answer (the farms' calls may still work).
 */
static int check_caller(struct check_run *run, struct aws_credentials_provider *creds, const struct config *cfg)
{
	struct aws_credentials *c = NULL;
	struct aws_caller_identity who;
	char why[2048] = "";
	int r;

	run->checked++;
	if (aws_credentials_provider_get(creds, &c) < 0) {
		run->failed++;
		aws_credentials_provider_last_failure(creds, why, sizeof(why));
		fprintf(run->out, "credentials: none usable (profile %s): %s\n",
			cfg->profile ? cfg->profile : "default", why[0] ? why : "no source has any");
		return -1;
	}
	fprintf(run->out, "credentials: %s%s\n", c->provider, c->session_token ? " (temporary)" : "");
	aws_credentials_unref(c);
	r = aws_credentials_provider_caller(creds, &who, why, sizeof(why));
	if (r < 0) {
		run->failed++;
		fprintf(run->out, "caller: STS GetCallerIdentity failed: %s\n", why);
		return r == -EACCES ? -1 : 1;
	}
	fprintf(run->out, "caller: account %s, %s\n", who.account, who.arn);
	return 0;
}

/* Who uses the role of provider p: " (for farm-…, farm-…, the identity store)", into out. */
static void role_users(const struct config *cfg, const struct runtime_creds *roles, struct aws_credentials_provider *p,
	char *out, size_t len)
{
	size_t used = 0;
	int n;

	out[0] = '\0';
	for (size_t i = 0; i <= cfg->n_farms && used < len; i++) {
		bool ids = i == cfg->n_farms;
		if (ids ? !cfg->identity_store.id || runtime_creds_identity_store(roles, cfg) != p
			: runtime_creds_farm(roles, &cfg->farms[i]) != p)
			continue;
		n = snprintf(out + used, len - used, "%s%s", used ? ", " : " (for ",
			ids ? "the identity store" : cfg->farms[i].id);
		used += n > 0 ? (size_t)n : 0;
	}
	if (used && used < len)
		snprintf(out + used, len - used, ")");
}

/* Each role assumed, and who it makes the exporter. A role refused counts once; its farms' calls fail too. */
static void check_roles(struct check_run *run, const struct config *cfg, const struct runtime_creds *roles)
{
	for (size_t i = 0; i < runtime_creds_count(roles); i++) {
		struct aws_credentials_provider *p;
		const char *arn = runtime_creds_role(roles, i, &p);
		struct aws_caller_identity who;
		char why[2048] = "", users[1024];

		run->checked++;
		role_users(cfg, roles, p, users, sizeof(users));
		if (aws_credentials_provider_caller(p, &who, why, sizeof(why)) < 0) {
			static const char source[] = "assume-role: ";
			const char *said = strncmp(why, source, sizeof(source) - 1) ? why : why + sizeof(source) - 1;

			run->failed++;
			/* Granting it helps only when the caller's side may lack it, not for the trust policy. */
			if (strstr(said, "sts:AssumeRole on the role"))
				missing_add(run, aws_iam_action("AssumeRole"));
			fprintf(run->out, "role %s%s: not assumed: %s\n", arn, users, said);
			continue;
		}
		fprintf(run->out, "role %s%s: assumed as %s (account %s)\n", arn, users, who.arn, who.account);
	}
	fflush(run->out);
}

/* A worker (not started: its API is used on this thread) for a farm's calls or the identity store's. */
static int check_worker(struct worker_group *g, const struct worker_options *o, struct api_caller **api)
{
	struct worker *w = NULL;
	int r = worker_new(&w, g, o);

	*api = r == 0 ? worker_api(w) : NULL;
	return r;
}

/* Farm f's calls: its region's endpoint when it has a region of its own (the poller's rule), its credentials. */
static int check_farm(struct check_run *run, struct worker_group *g, const struct runtime_plan *plan,
	const struct farm_config *f, int64_t now)
{
	const struct config *cfg = plan->next.cfg;
	struct api_caller *api = NULL;
	char *own = NULL;
	int r = 0;

	struct worker_options o = {
		.endpoint = plan->next.endpoint,
		.region = f->region ? f->region : plan->next.region,
		.ca_file = aws_ca_bundle(cfg->ca_file),
		.creds = runtime_creds_farm(plan->next.roles, f),
		.farm_id = f->id,
	};
	if (f->region && strcmp(f->region, plan->next.region) != 0)
		r = aws_endpoint_resolve(cfg->endpoint_url, cfg->profile, f->region, &own);
	if (own)
		o.endpoint = own;
	if (r == 0 && !o.creds)
		r = -EINVAL;
	if (r == 0)
		r = check_worker(g, &o, &api);
	if (r == 0)
		r = access_check_farm(cfg, f, api, now, check_report, run);
	free(own);
	return r;
}

/* DescribeUser, signed with the identity store's credentials for its region and endpoint. */
static int check_identity_store(struct check_run *run, struct worker_group *g, const struct runtime_plan *plan)
{
	const struct config *cfg = plan->next.cfg;
	const struct identity_store_config *is = &cfg->identity_store;
	struct api_caller *api = NULL;
	char *endpoint = NULL;
	const char *region = is->region ? is->region : plan->next.region;
	int r = aws_service_endpoint_resolve(
		&aws_service_identitystore, is->endpoint_url, cfg->profile, region, &endpoint);
	struct worker_options o = {
		.endpoint = endpoint,
		.region = region,
		.service = USERS_API_SERVICE,
		.ca_file = aws_ca_bundle(cfg->ca_file),
		.creds = runtime_creds_identity_store(plan->next.roles, cfg),
		.farm_id = "-",
	};

	if (r == 0 && !o.creds)
		r = -EINVAL;
	if (r == 0)
		r = check_worker(g, &o, &api);
	if (r == 0)
		r = access_check_identity_store(cfg, api, check_report, run);
	free(endpoint);
	return r;
}

/* Every farm's operations, then DescribeUser. */
static void check_calls(struct check_run *run, const struct runtime_plan *plan)
{
	const struct config *cfg = plan->next.cfg;
	struct worker_group *g = NULL;
	int64_t now = (int64_t)time(NULL);
	int r = worker_group_new(&g, NULL);

	for (size_t i = 0; i < cfg->n_farms; i++) {
		/* A farm's own failures are counted by its lines; only one that stopped its calls is said here. */
		int fr = r < 0 ? r : check_farm(run, g, plan, &cfg->farms[i], now);

		if (fr < 0) {
			run->checked++;
			run->failed++;
			fprintf(run->out, "%s -: failed: %s\n", cfg->farms[i].id, strerror(-fr));
		}
	}
	if (cfg->identity_store.id && g) {
		r = check_identity_store(run, g, plan);
		if (r < 0) {
			run->checked++;
			run->failed++;
			fprintf(run->out, "- DescribeUser: failed: %s\n", strerror(-r));
		}
	}
	worker_group_free(g);
}

static void check_summary(struct check_run *run)
{
	fprintf(run->out, "%zu checked, %zu failed", run->checked, run->failed);
	for (size_t i = 0; i < run->n_missing; i++)
		fprintf(run->out, "%s%s", i ? ", " : "; grant: ", run->actions[i]);
	fprintf(run->out, "%s\n", run->more_missing ? ", …" : "");
}

int runtime_check_aws(const char *config_path, FILE *out)
{
	struct check_run run = {.out = out};
	struct runtime_plan plan;
	struct config *cfg = NULL;
	int r;

	r = runtime_plan_load(&cfg, config_path, NULL, NULL, 0);
	if (r != 0)
		return 1;
	r = runtime_plan_prepare_aws(&plan, cfg);
	if (r != 0)
		return 1;
	cfg = plan.next.cfg;
	fprintf(out, "configuration: %s: %zu farm%s, region %s, endpoint %s\n", cfg->path, cfg->n_farms,
		cfg->n_farms == 1 ? "" : "s", plan.next.region, plan.next.endpoint);
	if (check_caller(&run, plan.next.creds, cfg) < 0) {
		check_summary(&run);
		runtime_plan_discard(&plan);
		return 1;
	}
	check_roles(&run, cfg, plan.next.roles);
	check_calls(&run, &plan);
	check_summary(&run);
	runtime_plan_discard(&plan);
	return run.failed ? 1 : 0;
}
