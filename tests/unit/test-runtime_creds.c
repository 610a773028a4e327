/* test-runtime_creds: one provider per distinct role, each farm's and the identity store's, what a reload keeps */
#include "runtime/runtime_creds.h"
#include "test.h"

#include <errno.h>

#define ROLE_A "arn:aws:iam::111111111111:role/exporter"
#define ROLE_B "arn:aws:iam::222222222222:role/exporter"
#define FARM(n, x) "{ id = \"farm-" n "0000000000000000000000000000000\"; " x " }"
#define REPORTS "reports = ( { name = \"r\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; } );\n"

static struct config *load(const char *text)
{
	struct config *cfg = NULL;
	char err[2048] = "";

	CHECK_MSG(config_load_string(&cfg, "t.conf", text, err, sizeof(err)) == 0, "%s", err);
	return cfg;
}

/* A chain that never runs: these tests only look at who signs for whom. */
static int nothing_fetch(
	const struct aws_credentials_context *ctx, struct aws_credentials **out, char *why, size_t whylen)
{
	(void)ctx;
	(void)out;
	snprintf(why, whylen, "none");
	return -ENOENT;
}

static const struct aws_credentials_source nothing = {"nothing", nothing_fetch};
static const struct aws_credentials_source *const chain[] = {&nothing};

/* a and b share ROLE_A (a in its own region), c has no role, d has ROLE_A with an external id; the store ROLE_B */
#define FARM_A FARM("a", "role_arn = \"" ROLE_A "\"; region = \"eu-west-1\";")
#define FARM_B FARM("b", "role_arn = \"" ROLE_A "\";")
#define FARM_C FARM("c", "")
#define FARM_D FARM("d", "role_arn = \"" ROLE_A "\"; external_id = \"other\";")
#define STORE "identity_store = { id = \"d-0123456789\"; region = \"us-east-1\"; role_arn = \"" ROLE_B "\"; };\n"

static const char four_farms[] = "farms = ( " FARM_A ", " FARM_B ", " FARM_C ", " FARM_D " );\n" REPORTS STORE;

static void test_who_signs(void)
{
	struct aws_credentials_provider *base = NULL, *p = NULL;
	struct runtime_creds *c = NULL;
	struct config *cfg = load(four_farms);

	CHECK_INT(aws_credentials_provider_new_chain(&base, NULL, chain, 1, NULL), 0);
	if (!cfg || !base)
		return;
	CHECK_INT(runtime_creds_new(&c, cfg, "us-west-2", base, NULL), 0);
	/* ROLE_A, ROLE_A with another external id, ROLE_B */
	CHECK_INT(runtime_creds_count(c), 3);
	CHECK_STR(runtime_creds_role(c, 0, &p), ROLE_A);
	CHECK(p == runtime_creds_farm(c, &cfg->farms[0]));
	CHECK(runtime_creds_farm(c, &cfg->farms[0]) == runtime_creds_farm(c, &cfg->farms[1]));
	CHECK(runtime_creds_farm(c, &cfg->farms[2]) == base);
	CHECK(runtime_creds_farm(c, &cfg->farms[3]) != runtime_creds_farm(c, &cfg->farms[0]));
	CHECK(runtime_creds_farm(c, &cfg->farms[3]) != base);
	CHECK_STR(runtime_creds_role(c, 2, &p), ROLE_B);
	CHECK(runtime_creds_identity_store(c, cfg) == p);
	CHECK(runtime_creds_serves(c, cfg, "us-west-2"));
	/* The first farm naming a role gives its STS region: farm a's own for ROLE_A, the exporter's for farm d's. */
	CHECK(!runtime_creds_serves(c, cfg, "ap-south-1"));

	/* Reloads: what keeps the roles, and what makes new ones. */
	struct {
		const char *text;
		bool serves;
	} reloads[] = {
		/* farm b first: ROLE_A's STS region becomes the exporter's */
		{"farms = ( " FARM_B ", " FARM_A ", " FARM_D " );\n" REPORTS STORE, false},
		/* farms b and c gone: the same roles in the same regions */
		{"farms = ( " FARM_A ", " FARM_D " );\n" REPORTS STORE, true},
		/* another external id */
		{"farms = ( " FARM_A
		 ", " FARM("d", "role_arn = \"" ROLE_A "\"; external_id = \"changed\";") " );\n" REPORTS STORE,
			false},
		/* the identity store without its role */
		{"farms = ( " FARM_A ", " FARM_D " );\n" REPORTS "identity_store = { id = \"d-0123456789\"; };\n",
			false},
	};
	for (size_t i = 0; i < sizeof(reloads) / sizeof(reloads[0]); i++) {
		struct config *next = load(reloads[i].text);

		if (next)
			CHECK_MSG(
				runtime_creds_serves(c, next, "us-west-2") == reloads[i].serves, "reload case %zu", i);
		config_free(next);
	}
	/* A configuration c was not made for: nobody signs instead. */
	struct config *other =
		load("farms = ( " FARM("e", "role_arn = \"" ROLE_B "\"; external_id = \"zz\";") " );\n" REPORTS);
	if (other)
		CHECK(runtime_creds_farm(c, &other->farms[0]) == NULL);
	config_free(other);
	runtime_creds_free(c);
	config_free(cfg);

	/* No role at all: every farm signs with the chain. */
	cfg = load("farms = ( " FARM("a", "") " );\n" REPORTS);
	CHECK_INT(runtime_creds_new(&c, cfg, "us-west-2", base, NULL), 0);
	CHECK_INT(runtime_creds_count(c), 0);
	if (cfg)
		CHECK(runtime_creds_farm(c, &cfg->farms[0]) == base);
	CHECK(runtime_creds_identity_store(c, cfg) == base);
	CHECK(runtime_creds_serves(c, cfg, "us-west-2"));
	runtime_creds_free(c);
	CHECK_INT(runtime_creds_new(&c, cfg, "us-west-2", NULL, NULL), -EINVAL);
	config_free(cfg);
	runtime_creds_free(NULL);
	CHECK(!runtime_creds_serves(NULL, NULL, NULL));
	aws_credentials_provider_free(base);
}

int main(void)
{
	test_who_signs();
	TEST_DONE();
}
