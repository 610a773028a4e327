/* test-config_farms: farms[].role_arn and external_id (and identity_store's), the account id, each mistake's line */
#include "config_cases.h"

#define ROLE "arn:aws:iam::111122223333:role/deadline-exporter"
#define FARM_WITH(x) "farms = ( { id = \"" CASES_FARM_ID "\"; " x " } );\n"
#define REPORTS "reports = ( { name = \"r\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; } );\n"
#define STORE_WITH(x) "identity_store = { id = \"d-0123456789\"; " x " };\n"

static const char *const good[] = {
	FARM_WITH("role_arn = \"" ROLE "\";") REPORTS,
	FARM_WITH("role_arn = \"" ROLE "\"; external_id = \"studio-a\";") REPORTS,
	FARM_WITH("external_id = \"Ab_+=,.@:/-9\"; role_arn = \"arn:aws-cn:iam::000000000000:role/a/b/c\";") REPORTS,
	FARM_WITH("role_arn = \"arn:aws-iso-b:iam::123456789012:role/x\"; region = \"eu-west-1\";") REPORTS,
	FARM_WITH("") REPORTS STORE_WITH("role_arn = \"" ROLE "\";"),
	FARM_WITH("") REPORTS STORE_WITH("role_arn = \"" ROLE "\"; external_id = \"xy\";"),
};

static const struct config_bad_case bad[] = {
	{FARM_WITH("role_arn = \"arn:aws:iam::11112222333:role/x\";") REPORTS, 1,
		"farms[0].role_arn: invalid role ARN \"arn:aws:iam::11112222333:role/x\": expected "
		"arn:PARTITION:iam::ACCOUNT:role/NAME"},
	{FARM_WITH("role_arn = \"arn:aws:iam::111122223333:user/x\";") REPORTS, 1,
		"farms[0].role_arn: invalid role ARN"},
	{FARM_WITH("role_arn = \"arn:aws:sts::111122223333:role/x\";") REPORTS, 1,
		"farms[0].role_arn: invalid role ARN"},
	{FARM_WITH("role_arn = \"deadline-exporter\";") REPORTS, 1, "farms[0].role_arn: invalid role ARN"},
	{FARM_WITH("role_arn = 111122223333;") REPORTS, 1, "farms[0].role_arn: must be a string, not an integer"},
	{FARM_WITH("external_id = \"studio-a\";") REPORTS, 1,
		"farms[0].external_id: only with role_arn (the role that asks for it)"},
	{FARM_WITH("role_arn = \"" ROLE "\"; external_id = \"a\";") REPORTS, 1,
		"farms[0].external_id: invalid external id: expected 2 to 1224 characters of [A-Za-z0-9_+=,.@:/-]"},
	{FARM_WITH("role_arn = \"" ROLE "\"; external_id = \"a b\";") REPORTS, 1, "farms[0].external_id: invalid"},
	{FARM_WITH("role_arn = \"" ROLE "\"; external_id = 12;") REPORTS, 1,
		"farms[0].external_id: must be a string, not an integer"},
	/* an invalid role has its own message; its external_id is not "without role_arn" */
	{FARM_WITH("role_arn = \"x\"; external_id = \"studio-a\";") REPORTS, 1, "farms[0].role_arn: invalid role ARN"},
	{FARM_WITH("") REPORTS STORE_WITH("role_arn = \"arn:aws:iam::1:role/x\";"), 3,
		"identity_store.role_arn: invalid role ARN"},
	{FARM_WITH("") REPORTS STORE_WITH("external_id = \"xy\";"), 3,
		"identity_store.external_id: only with role_arn"},
	{FARM_WITH("") REPORTS STORE_WITH("role_arn = \"" ROLE "\"; external_id = \"x\";"), 3,
		"identity_store.external_id: invalid external id"},
};

static void test_values(void)
{
	struct config *cfg = config_cases_load(good[2]);

	if (cfg) {
		CHECK_STR(cfg->farms[0].role_arn, "arn:aws-cn:iam::000000000000:role/a/b/c");
		CHECK_STR(cfg->farms[0].external_id, "Ab_+=,.@:/-9");
		CHECK_STR(cfg->farms[0].account_id, "000000000000");
		CHECK(cfg->identity_store.id == NULL && cfg->identity_store.role_arn == NULL);
		CHECK_STR(cfg->identity_store.account_id, "");
	}
	config_free(cfg);
	cfg = config_cases_load(good[5]);
	if (cfg) {
		CHECK(cfg->farms[0].role_arn == NULL && cfg->farms[0].external_id == NULL);
		CHECK_STR(cfg->farms[0].account_id, "");
		CHECK_STR(cfg->identity_store.role_arn, ROLE);
		CHECK_STR(cfg->identity_store.external_id, "xy");
		CHECK_STR(cfg->identity_store.account_id, "111122223333");
	}
	config_free(cfg);
}

/* An external id may be a shared secret between two companies: never quoted in a message. */
static void test_external_id_not_quoted(void)
{
	struct config *cfg = NULL;

	CHECK_INT(config_load_string(&cfg, "x.conf",
			  FARM_WITH("role_arn = \"" ROLE "\"; external_id = \"s3cr3t!\";") REPORTS, config_cases_err,
			  sizeof(config_cases_err)),
		-EINVAL);
	CHECK(strstr(config_cases_err, "external_id: invalid") != NULL);
	CHECK_MSG(strstr(config_cases_err, "s3cr3t") == NULL, "quoted: %s", config_cases_err);
}

int main(void)
{
	config_cases_good(good, sizeof(good) / sizeof(good[0]));
	config_cases_bad(bad, sizeof(bad) / sizeof(bad[0]));
	test_values();
	test_external_id_not_quoted();
	TEST_DONE();
}
