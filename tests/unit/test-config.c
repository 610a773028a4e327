/* test-config: the example file, good variants, and every kind of mistake with its line and reason */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <unistd.h>

#include "config/config.h"
#include "test.h"

#define EXAMPLE_PATH TEST_SOURCE_ROOT "/config/deadline-cloud-exporter.conf"
#define DATA(name) TEST_DATA_DIR "/config/" name

#define FARM_ID "farm-0123456789abcdef0123456789abcdef"
#define QUEUE_ID "queue-0123456789abcdef0123456789abcdef"
#define FLEET_ID "fleet-0123456789abcdef0123456789abcdef"
/* One valid line each: a bad case changes one thing and knows the line of it. */
#define FARMS "farms = ( { id = \"" FARM_ID "\"; } );\n"
#define REPORTS "reports = ( { name = \"r\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; } );\n"
#define REPORT_WITH(x) "reports = ( { name = \"r\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; " x " } );\n"
#define REPORT_RAW(x) "reports = ( { " x " } );\n"
#define FARM_WITH(x) "farms = ( { id = \"" FARM_ID "\"; " x " } );\n"
/* web: a test certificate and key, a bcrypt hash (of "secret"), and a web group with x added */
#define WEB_CERT TEST_DATA_DIR "/web/server.pem"
#define WEB_KEY TEST_DATA_DIR "/web/server-key.pem"
#define WEB_KEY2 TEST_DATA_DIR "/web/server2-key.pem"
#define HASH "$2y$06$lpSB3KllYjBNEoh4Eyh.tuU4/tzUnPsgNIdHuDjq9RUbVP9GVQRVC"
#define WEB_WITH(x) "web = { " x " };\n" FARMS REPORTS
#define WEB_TLS "tls_cert_file = \"" WEB_CERT "\"; tls_key_file = \"" WEB_KEY "\"; "
#define WEB_USER(u, h) "basic_auth_users = ( { user = \"" u "\"; password_hash = \"" h "\"; } ); "

static char err[8192];

/* True when err has a line "FILE:LINE: ..." holding what (file NULL: any). */
static bool err_has(const char *file, int line, const char *what)
{
	char prefix[512];
	const char *p = err;

	if (file)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", file, line);
	else
		snprintf(prefix, sizeof(prefix), ":%d: ", line);
	while (p && *p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char one[2048];

		if (len >= sizeof(one))
			len = sizeof(one) - 1;
		memcpy(one, p, len);
		one[len] = '\0';
		if ((file ? strncmp(one, prefix, strlen(prefix)) == 0 : strstr(one, prefix) != NULL) &&
			strstr(one, what))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

static int err_lines(void)
{
	int n = 0;

	for (const char *p = err; *p; p++)
		n += *p == '\n';
	return n;
}

static void test_example(void)
{
	struct config *cfg = NULL;
	int r = config_load(&cfg, EXAMPLE_PATH, err, sizeof(err));

	CHECK_MSG(r == 0, "%s: %d:\n%s", EXAMPLE_PATH, r, err);
	if (!cfg)
		return;
	CHECK_STR(err, "");
	CHECK_STR(cfg->path, EXAMPLE_PATH);
	CHECK_STR(cfg->listen, CONFIG_DEFAULT_LISTEN);
	CHECK_STR(cfg->region, "us-west-2");
	CHECK(cfg->profile == NULL);
	CHECK(cfg->endpoint_url == NULL);
	CHECK(cfg->ca_file == NULL);
	CHECK(cfg->n_farms >= 1);
	CHECK(cfg->n_reports >= 1);
	for (size_t i = 0; i < cfg->n_farms; i++)
		CHECK_INT(model_id_valid(cfg->farms[i].id, "farm-"), 0);
	CHECK_STR(cfg->reports[0].name, "month_to_date");
	CHECK_INT(cfg->reports[0].window, WINDOW_MONTH);
	CHECK_STR(cfg->reports[0].timezone, "UTC+00:00");
	CHECK_INT(cfg->reports[0].statistics, STAT_ALL);
	CHECK_INT(cfg->reports[0].period, PERIOD_MONTHLY);
	CHECK_INT(cfg->reports[0].interval_seconds, 300);
	config_free(cfg);
}

static void test_minimal_defaults(void)
{
	struct config *cfg = NULL;
	struct report_config *r;
	int ret = config_load(&cfg, DATA("good-minimal.conf"), err, sizeof(err));

	CHECK_MSG(ret == 0, "%d:\n%s", ret, err);
	if (!cfg)
		return;
	CHECK_STR(cfg->path, DATA("good-minimal.conf"));
	CHECK_STR(cfg->listen, "127.0.0.1:9753");
	CHECK(cfg->region == NULL && cfg->profile == NULL && cfg->endpoint_url == NULL && cfg->ca_file == NULL);
	CHECK_INT(cfg->n_farms, 1);
	CHECK_STR(cfg->farms[0].id, FARM_ID);
	CHECK(cfg->farms[0].all_queues);
	CHECK(cfg->farms[0].all_fleets);
	CHECK_INT(cfg->farms[0].n_queue_ids, 0);
	CHECK_INT(cfg->farms[0].n_fleet_ids, 0);
	CHECK_INT(cfg->n_reports, 1);
	r = &cfg->reports[0];
	CHECK_STR(r->name, "mtd");
	CHECK_INT(r->resources, REPORT_RESOURCES_AUTO);
	CHECK_INT(r->window, WINDOW_MONTH);
	CHECK_STR(r->window_text, "month");
	CHECK_INT(r->window_seconds, 0);
	CHECK_STR(r->timezone, "UTC+00:00");
	CHECK_INT(r->tz_offset_minutes, 0);
	CHECK_INT(r->n_group_by, 1);
	CHECK_INT(r->group_by[0], GROUP_QUEUE_ID);
	CHECK_INT(r->statistics, STAT_SUM | STAT_MIN | STAT_MAX | STAT_AVG);
	CHECK_INT(r->period, PERIOD_MONTHLY);
	CHECK_INT(r->interval_seconds, 300);
	CHECK_STR(r->interval_text, "5m");
	CHECK_INT(r->limit, 0);
	CHECK(!r->counter);
	CHECK(r->labels == NULL && r->n_labels == 0 && r->keep == 0);
	CHECK(config_report_keeps(r, GROUP_QUEUE_ID));
	CHECK(cfg->farms[0].region == NULL);
	CHECK(cfg->farms[0].role_arn == NULL && cfg->farms[0].external_id == NULL);
	CHECK_STR(cfg->farms[0].account_id, "");
	CHECK(!cfg->activity.enabled);
	CHECK_INT(cfg->activity.interval_seconds, 60);
	CHECK_STR(cfg->activity.interval_text, "1m");
	CHECK_INT(cfg->activity.jobs, 200);
	CHECK(cfg->identity_store.role_arn == NULL && cfg->identity_store.external_id == NULL);
	CHECK(cfg->inventory.enabled && cfg->inventory.budgets);
	CHECK_INT(cfg->inventory.interval_seconds, 300);
	CHECK_STR(cfg->inventory.interval_text, "5m");
	CHECK(cfg->identity_store.id == NULL && cfg->identity_store.region == NULL &&
		cfg->identity_store.endpoint_url == NULL);
	config_free(cfg);
}

static void test_full(void)
{
	struct config *cfg = NULL;
	struct report_config *r;
	struct farm_config *f;
	int ret = config_load(&cfg, DATA("good-full.conf"), err, sizeof(err));

	CHECK_MSG(ret == 0, "%d:\n%s", ret, err);
	if (!cfg)
		return;
	CHECK_STR(cfg->listen, "[::]:9100");
	CHECK_STR(cfg->region, "eu-central-1");
	CHECK_STR(cfg->profile, "render-ops");
	CHECK_STR(cfg->endpoint_url, "http://127.0.0.1:8080");
	CHECK_INT(cfg->n_farms, 2);
	f = &cfg->farms[0];
	CHECK(!f->all_queues && !f->all_fleets);
	CHECK_INT(f->n_queue_ids, 2);
	CHECK_STR(f->queue_ids[0], "queue-0000000000000000000000000000000a");
	CHECK_STR(f->queue_ids[1], "queue-0000000000000000000000000000000b");
	CHECK_INT(f->n_fleet_ids, 1);
	CHECK_STR(f->fleet_ids[0], "fleet-0000000000000000000000000000000c");
	CHECK(cfg->farms[1].all_queues && cfg->farms[1].all_fleets);
	r = &cfg->reports[0];
	CHECK_STR(r->name, "fleet_cost_2");
	CHECK_INT(r->resources, REPORT_RESOURCES_FLEETS);
	CHECK_INT(r->window, WINDOW_ROLLING);
	CHECK_INT(r->window_seconds, 36 * 3600);
	CHECK_STR(r->window_text, "1d12h");
	CHECK_STR(r->timezone, "UTC-03:30");
	CHECK_INT(r->tz_offset_minutes, -210);
	CHECK_INT(r->n_group_by, 2);
	CHECK_INT(r->group_by[0], GROUP_FLEET_ID);
	CHECK_INT(r->group_by[1], GROUP_INSTANCE_TYPE);
	CHECK_INT(r->statistics, STAT_AVG | STAT_MAX);
	CHECK_INT(r->period, PERIOD_HOURLY);
	CHECK_INT(r->interval_seconds, 5400);
	CHECK_STR(r->interval_text, "1h30m");
	r = &cfg->reports[1];
	CHECK_INT(r->window, WINDOW_WEEK);
	CHECK_INT(r->tz_offset_minutes, 330);
	CHECK_INT(r->n_group_by, 1);
	CHECK_INT(r->group_by[0], GROUP_JOB_ID);
	CHECK_INT(r->statistics, STAT_MIN);
	CHECK_INT(r->period, PERIOD_WEEKLY);
	CHECK_INT(r->interval_seconds, 10);
	CHECK_INT(r->limit, 100000);
	CHECK_INT(r->resources, REPORT_RESOURCES_QUEUES);
	CHECK_INT(cfg->reports[0].limit, 1);
	CHECK_STR(cfg->farms[0].region, "eu-west-1");
	CHECK(cfg->farms[1].region == NULL);
	CHECK_STR(cfg->farms[0].role_arn, "arn:aws:iam::111122223333:role/render/deadline-exporter");
	CHECK_STR(cfg->farms[0].external_id, "studio-a:exporter");
	CHECK_STR(cfg->farms[0].account_id, "111122223333");
	CHECK(cfg->farms[1].role_arn == NULL && cfg->farms[1].external_id == NULL);
	CHECK_STR(cfg->farms[1].account_id, "");
	CHECK(!cfg->inventory.enabled && !cfg->inventory.budgets);
	CHECK_INT(cfg->inventory.interval_seconds, 90);
	CHECK_STR(cfg->inventory.interval_text, "1m30s");
	CHECK(cfg->activity.enabled);
	CHECK_INT(cfg->activity.interval_seconds, 30);
	CHECK_STR(cfg->activity.interval_text, "30s");
	CHECK_INT(cfg->activity.jobs, 0);
	CHECK_STR(cfg->identity_store.id, "d-0123456789");
	CHECK_STR(cfg->identity_store.region, "us-east-1");
	CHECK_STR(cfg->identity_store.endpoint_url, "http://127.0.0.1:8081");
	CHECK_STR(cfg->identity_store.role_arn, "arn:aws-us-gov:iam::444455556666:role/identity-reader");
	CHECK_STR(cfg->identity_store.external_id, "xy");
	CHECK_STR(cfg->identity_store.account_id, "444455556666");
	CHECK_INT(cfg->n_reports, 3);
	r = &cfg->reports[2];
	CHECK(r->counter);
	CHECK_INT(r->n_labels, 3);
	if (r->n_labels == 3) {
		CHECK_STR(r->labels[0].label, "show");
		CHECK_INT(r->labels[0].source, RELABEL_SOURCE_JOB_NAME);
		CHECK_STR(r->labels[0].regex, "([a-z0-9]+)_.*");
		CHECK_STR(r->labels[0].replacement, "$1");
		CHECK_STR(r->labels[0].default_value, "unknown");
		CHECK(r->labels[0].program != NULL);
		CHECK_STR(r->labels[1].replacement, "dept-${dept}");
		/* left out: Prometheus' defaults */
		CHECK_STR(r->labels[2].regex, "(.*)");
		CHECK_STR(r->labels[2].replacement, "$1");
		CHECK_STR(r->labels[2].default_value, "");
	}
	CHECK_INT(r->keep, 1u << GROUP_USAGE_TYPE);
	CHECK(config_report_keeps(r, GROUP_USAGE_TYPE) && !config_report_keeps(r, GROUP_JOB_ID));
	config_free(cfg);

	ret = config_load(&cfg, DATA("good-include.conf"), err, sizeof(err));
	CHECK_MSG(ret == 0, "%d:\n%s", ret, err);
	if (!cfg)
		return;
	CHECK_INT(cfg->n_farms, 1);
	CHECK(cfg->farms[0].all_queues && !cfg->farms[0].all_fleets);
	CHECK_INT(cfg->reports[0].window, WINDOW_DAY);
	CHECK_INT(cfg->reports[0].group_by[1], GROUP_USAGE_TYPE);
	config_free(cfg);
}

/* Good variants written as strings: each must load. */
static const char *const good_strings[] = {
	"web = { listen = \"0.0.0.0:9753\"; };\n" FARMS REPORTS,
	"web = { listen = \"localhost:1\"; };\n" FARMS REPORTS,
	"web = { listen = \"[::1]:65535\"; };\n" FARMS REPORTS,
	"web = { listen = \"[fe80::1%eth0]:9753\"; };\n" FARMS REPORTS,
	"web = { listen = \"127.0.0.1:0\"; };\n" FARMS REPORTS,
	"web = { listen = \":9753\"; };\n" FARMS REPORTS,
	"web = { };\naws = { };\n" FARMS REPORTS,
	"aws = { region = \"us-gov-west-1\"; endpoint_url = \"https://deadline.example.com/\"; };\n" FARMS REPORTS,
	"aws = { ca_file = \"" DATA("good-minimal.conf") "\"; };\n" FARMS REPORTS,
	FARM_WITH("queues = [ \"" QUEUE_ID "\" ]; fleets = ( \"" FLEET_ID "\" );")
		REPORT_WITH("resources = \"fleets\";"),
	FARMS REPORT_WITH("timezone = \"UTC+19:30\";"),
	FARMS REPORT_WITH("timezone = \"UTC-19:00\";"),
	FARMS REPORT_WITH("timezone = \"UTC-00:00\";"),
	FARMS REPORT_RAW("name = \"a\"; window = \"400d\"; group_by = [ \"LICENSE_PRODUCT\", \"USER_ID\" ];"),
	FARMS REPORT_RAW("name = \"a_1\"; window = \"1s\"; group_by = [ \"JOB_ID\" ];"),
	FARMS REPORT_WITH("interval = \"7d\"; statistics = ( \"SUM\", \"MIN\", \"MAX\", \"AVG\" );"),
	FARMS REPORT_WITH("interval = \"0h10s\"; period = \"DAILY\";"),
	FARMS "reports = ( { name = \"a\"; window = \"day\"; group_by = [ \"QUEUE_ID\" ]; },\n"
	      "            { name = \"b\"; window = \"day\"; group_by = [ \"QUEUE_ID\" ]; } );\n",
	"farms = ( { id = \"" FARM_ID "\"; }, { id = \"farm-0123456789abcdef0123456789abcde0\"; } );\n" REPORTS,
	"// comments of both kinds\n# are fine\n/* even this */\n" FARMS REPORTS,
	WEB_WITH(WEB_TLS),
	WEB_WITH(WEB_TLS "tls_min_version = \"TLS13\";"),
	WEB_WITH(WEB_TLS "tls_min_version = \"TLS12\";"),
	WEB_WITH(WEB_USER("prometheus", HASH)),
	WEB_WITH(WEB_USER("p", "$2a$04$jSbuPFON/2CnZQSvXvOT6OTDLjM3q3T07Xm2Pfm1cA4JLFVXYA8.e")),
	WEB_WITH(WEB_USER("p", "$2b$31$Y2qW9GkQ0abfxiYxhgQMEeHQrWW6UTFEC6rKxRGx2vEIeDVUfQG6q")),
	WEB_WITH("basic_auth_users = ( { user = \"a\"; password_hash = \"" HASH "\"; },"
		 " { user = \"b\"; password_hash = \"" HASH "\"; } );"),
	WEB_WITH("max_connections = 4; connection_timeout = \"1s\"; max_request_size = 4096;"),
	WEB_WITH("max_connections = 1024; connection_timeout = \"1h\"; max_request_size = 1048576;"),
	WEB_WITH("max_connections = 64L; health_without_auth = false;"),
	WEB_WITH("enable_lifecycle = true;"),
	FARM_WITH("region = \"ap-southeast-2\";") REPORTS,
	FARMS REPORT_WITH("limit = 1;"),
	FARMS REPORT_WITH("limit = 100000;"),
	FARMS REPORTS "inventory = { };\n",
	FARMS REPORTS "inventory = { enabled = false; interval = \"10s\"; budgets = false; };\n",
	FARMS REPORTS "inventory = { interval = \"7d\"; };\n",
	FARMS REPORTS "identity_store = { id = \"d-abcdef0123\"; };\n",
	FARMS REPORTS "identity_store = { id = \"01234567-89ab-cdef-0123-456789abcdef\"; region = \"eu-west-1\";"
		      " endpoint_url = \"https://identitystore.example.com\"; };\n",
};

static const struct {
	const char *text;
	int line;
	const char *reason;
} bad_strings[] = {
	/* top level */
	{"bogus = 1;\n" FARMS REPORTS, 1, "unknown setting 'bogus'"},
	{REPORTS, 1, "missing 'farms'"},
	{FARMS, 1, "missing 'reports'"},
	{"farms = ( );\n" REPORTS, 1, "farms: empty list"},
	{"farms = [ ];\n" REPORTS, 1, "farms: empty list"},
	{"farms = { id = \"" FARM_ID "\"; };\n" REPORTS, 1, "farms: must be a list"},
	{"farms = \"" FARM_ID "\";\n" REPORTS, 1, "farms: must be a list"},
	{"reports = ( );\n" FARMS, 1, "reports: empty list"},
	{"reports = 5;\n" FARMS, 1, "reports: must be a list"},
	/* parse errors: libconfig's own line and text */
	{"farms = (\n{ id = ; }\n);\n" REPORTS, 2, "syntax error"},
	{FARMS REPORTS "web = { listen = \"a:1\";\nlisten = \"b:2\"; };\n", 4, "duplicate setting name"},
	{FARMS REPORTS "x = \"unterminated;\n", 4, ""}, /* libconfig notices at the end of the text */
	{FARMS "@include \"/dev/null\"\n" REPORTS, 2, "@include is not allowed"},
	/* web */
	{"web = 5;\n" FARMS REPORTS, 1, "web: must be a group"},
	{"web = { listen = 9753; };\n" FARMS REPORTS, 1, "web.listen: must be a string, not an integer"},
	{"web = { listen = \"localhost\"; };\n" FARMS REPORTS, 1, "web.listen: invalid address \"localhost\""},
	{"web = { listen = \"127.0.0.1:\"; };\n" FARMS REPORTS, 1, "web.listen: invalid address"},
	{"web = { listen = \"a b:9753\"; };\n" FARMS REPORTS, 1,
		"web.listen: invalid address \"a b:9753\" (the host may hold only"},
	{"web = { listen = \"127.0.0.1:65536\"; };\n" FARMS REPORTS, 1, "web.listen: invalid address"},
	{"web = { listen = \"127.0.0.1:123456\"; };\n" FARMS REPORTS, 1, "web.listen: invalid address"},
	{"web = { listen = \"127.0.0.1:http\"; };\n" FARMS REPORTS, 1, "web.listen: invalid address"},
	{"web = { listen = \"::1:9753\"; };\n" FARMS REPORTS, 1, "web.listen: invalid address"},
	{"web = { listen = \"[::1]9753\"; };\n" FARMS REPORTS, 1, "web.listen: invalid address"},
	{"web = { listen = \"[]:9753\"; };\n" FARMS REPORTS, 1, "web.listen: invalid address"},
	{"web = { listen = \"[zz::1]:9753\"; };\n" FARMS REPORTS, 1, "web.listen: invalid address"},
	{"web = { listen = \"my host:9753\"; };\n" FARMS REPORTS, 1, "web.listen: invalid address"},
	{"web = { listen = \"127.0.0.1:9753\"; port = 9753; };\n" FARMS REPORTS, 1, "web: unknown setting 'port'"},
	{WEB_WITH("tls_cert_file = \"" WEB_CERT "\";"), 1, "web: tls_cert_file and tls_key_file go together"},
	{WEB_WITH("tls_key_file = \"" WEB_KEY "\";"), 1, "web: tls_cert_file and tls_key_file go together"},
	{WEB_WITH("tls_cert_file = \"/nonexistent/cert.pem\"; tls_key_file = \"" WEB_KEY "\";"), 1,
		"web.tls_cert_file: \"/nonexistent/cert.pem\": No such file or directory"},
	{WEB_WITH("tls_cert_file = \"" WEB_CERT "\"; tls_key_file = \"/nonexistent/key.pem\";"), 1,
		"web.tls_key_file: \"/nonexistent/key.pem\": No such file or directory"},
	{WEB_WITH("tls_cert_file = \"\"; tls_key_file = \"" WEB_KEY "\";"), 1, "web.tls_cert_file: must not be empty"},
	/* parsed and matched as the server loads them: --check-config refuses what start-up would */
	{WEB_WITH("tls_cert_file = \"" WEB_KEY "\"; tls_key_file = \"" WEB_KEY "\";"), 1,
		"web.tls_cert_file " WEB_KEY ": not a PEM certificate"},
	{WEB_WITH("tls_cert_file = \"" WEB_CERT "\"; tls_key_file = \"" WEB_CERT "\";"), 1,
		"web.tls_key_file " WEB_CERT ": not an unencrypted PEM private key"},
	{WEB_WITH("tls_cert_file = \"" WEB_CERT "\"; tls_key_file = \"" WEB_KEY2 "\";"), 1,
		"web.tls_key_file " WEB_KEY2 " is not the key of web.tls_cert_file " WEB_CERT},
	{WEB_WITH("tls_cert_file = \"/dev/null\"; tls_key_file = \"" WEB_KEY "\";"), 1,
		"web.tls_cert_file /dev/null: not a PEM certificate"},
	{WEB_WITH("tls_cert_file = 1; tls_key_file = \"" WEB_KEY "\";"), 1,
		"web.tls_cert_file: must be a string, not an integer"},
	{WEB_WITH(WEB_TLS "tls_min_version = \"TLS11\";"), 1,
		"web.tls_min_version: must be \"TLS12\" or \"TLS13\", not \"TLS11\""},
	{WEB_WITH(WEB_TLS "tls_min_version = \"tls12\";"), 1, "web.tls_min_version: must be \"TLS12\" or \"TLS13\""},
	{WEB_WITH(WEB_TLS "tls_min_version = 12;"), 1, "web.tls_min_version: must be a string"},
	{WEB_WITH("tls_min_version = \"TLS13\";"), 1, "web.tls_min_version: without tls_cert_file"},
	{WEB_WITH("basic_auth_users = ( );"), 1, "web.basic_auth_users: empty list"},
	{WEB_WITH("basic_auth_users = { user = \"a\"; };"), 1, "web.basic_auth_users: must be a list"},
	{WEB_WITH("basic_auth_users = ( \"a\" );"), 1, "web.basic_auth_users[0]: must be a group"},
	{WEB_WITH("basic_auth_users = ( { user = \"a\"; } );"), 1, "web.basic_auth_users[0]: missing 'password_hash'"},
	{WEB_WITH("basic_auth_users = ( { password_hash = \"" HASH "\"; } );"), 1,
		"web.basic_auth_users[0]: missing 'user'"},
	{WEB_WITH(WEB_USER("", HASH)), 1, "web.basic_auth_users[0].user: invalid user name \"\""},
	{WEB_WITH(WEB_USER("a:b", HASH)), 1, "web.basic_auth_users[0].user: invalid user name \"a:b\""},
	{WEB_WITH(WEB_USER("a\\nb", HASH)), 1, "invalid user name \"a\\x0ab\""},
	{WEB_WITH("basic_auth_users = ( { user = 1; password_hash = \"" HASH "\"; } );"), 1,
		"web.basic_auth_users[0].user: must be a string"},
	{WEB_WITH(WEB_USER("a", "secret")), 1, "web.basic_auth_users[0].password_hash: not a bcrypt hash"},
	{WEB_WITH(WEB_USER("a", "$1$abcdefgh$abcdefghijklmnopqrstuv")), 1, "password_hash: not a bcrypt hash"},
	{WEB_WITH(WEB_USER("a", "$2y$03$lpSB3KllYjBNEoh4Eyh.tuU4/tzUnPsgNIdHuDjq9RUbVP9GVQRVC")), 1,
		"password_hash: not a bcrypt hash"},
	{WEB_WITH(WEB_USER("a", "$2y$06$lpSB3KllYjBNEoh4Eyh.tuU4/tzUnPsgNIdHuDjq9RUbVP9GVQRV")), 1,
		"password_hash: not a bcrypt hash"},
	{WEB_WITH(WEB_USER("a", "$2x$06$lpSB3KllYjBNEoh4Eyh.tuU4/tzUnPsgNIdHuDjq9RUbVP9GVQRVC")), 1,
		"password_hash: not a bcrypt hash"},
	{WEB_WITH("basic_auth_users = ( { user = \"a\"; password = \"secret\"; password_hash = \"" HASH "\"; } );"), 1,
		"web.basic_auth_users[0]: unknown setting 'password'"},
	{"web = { basic_auth_users = ( { user = \"a\"; password_hash = \"" HASH "\"; },\n"
	 "{ user = \"a\"; password_hash = \"" HASH "\"; } ); };\n" FARMS REPORTS,
		2, "web.basic_auth_users[1].user: duplicate user \"a\" (also web.basic_auth_users[0])"},
	{WEB_WITH("max_connections = 3;"), 1, "web.max_connections: 3 is out of range (4 to 1024)"},
	{WEB_WITH("max_connections = 1025;"), 1, "web.max_connections: 1025 is out of range"},
	{WEB_WITH("max_connections = -1;"), 1, "web.max_connections: -1 is out of range"},
	{WEB_WITH("max_connections = \"64\";"), 1, "web.max_connections: must be an integer, not a string"},
	{WEB_WITH("max_connections = 64.0;"), 1, "web.max_connections: must be an integer, not a number"},
	{WEB_WITH("connection_timeout = 30;"), 1, "web.connection_timeout: must be a string, not an integer"},
	{WEB_WITH("connection_timeout = \"30\";"), 1, "web.connection_timeout: invalid duration \"30\""},
	{WEB_WITH("connection_timeout = \"0s\";"), 1, "web.connection_timeout: invalid duration"},
	{WEB_WITH("connection_timeout = \"1h1s\";"), 1,
		"web.connection_timeout: \"1h1s\" is longer than the maximum of 3600s"},
	{WEB_WITH("max_request_size = 4095;"), 1, "web.max_request_size: 4095 is out of range (4096 to 1048576)"},
	{WEB_WITH("max_request_size = 1048577;"), 1, "web.max_request_size: 1048577 is out of range"},
	{WEB_WITH("max_request_size = 99999999999L;"), 1, "web.max_request_size: 99999999999 is out of range"},
	{WEB_WITH("health_without_auth = 1;"), 1, "web.health_without_auth: must be true or false, not an integer"},
	{WEB_WITH("health_without_auth = \"yes\";"), 1, "web.health_without_auth: must be true or false"},
	{WEB_WITH("enable_lifecycle = 1;"), 1, "web.enable_lifecycle: must be true or false, not an integer"},
	{WEB_WITH("tls_config = { };"), 1, "web: unknown setting 'tls_config'"},
	/* aws */
	{"aws = ( );\n" FARMS REPORTS, 1, "aws: must be a group"},
	{"aws = { region = 5; };\n" FARMS REPORTS, 1, "aws.region: must be a string"},
	{"aws = { region = \"US-West-2\"; };\n" FARMS REPORTS, 1, "aws.region: invalid region"},
	{"aws = { region = \"\"; };\n" FARMS REPORTS, 1, "aws.region: invalid region"},
	{"aws = { profile = \"\"; };\n" FARMS REPORTS, 1, "aws.profile: invalid profile name"},
	{"aws = { profile = \"a\\nb\"; };\n" FARMS REPORTS, 1, "aws.profile: invalid profile name \"a\\x0ab\""},
	{"aws = { endpoint_url = \"deadline.example.com\"; };\n" FARMS REPORTS, 1, "aws.endpoint_url: invalid URL"},
	{"aws = { endpoint_url = \"https://\"; };\n" FARMS REPORTS, 1, "aws.endpoint_url: invalid URL"},
	{"aws = { endpoint_url = \"https://a b\"; };\n" FARMS REPORTS, 1, "aws.endpoint_url: invalid URL"},
	/* what start-up refused while --check-config accepted: a query or fragment would swallow the API's path */
	{"aws = { endpoint_url = \"https://example.com/x?y#z\"; };\n" FARMS REPORTS, 1,
		"aws.endpoint_url: invalid URL"},
	{"aws = { endpoint_url = \"https://example.com#z\"; };\n" FARMS REPORTS, 1, "aws.endpoint_url: invalid URL"},
	{"aws = { endpoint_url = \"https://:443\"; };\n" FARMS REPORTS, 1, "aws.endpoint_url: invalid URL"},
	{"aws = { endpoint_url = \"https://?x\"; };\n" FARMS REPORTS, 1, "aws.endpoint_url: invalid URL"},
	{"aws = { region = \"2-west\"; };\n" FARMS REPORTS, 1, "aws.region: invalid region"},
	{"aws = { ca_file = \"\"; };\n" FARMS REPORTS, 1, "aws.ca_file: must not be empty"},
	{"aws = { ca_file = \"/nonexistent/ca.pem\"; };\n" FARMS REPORTS, 1, "No such file or directory"},
	{"aws = { secret_access_key = \"x\"; };\n" FARMS REPORTS, 1, "aws: unknown setting 'secret_access_key'"},
	/* farms */
	{"farms = ( \"" FARM_ID "\" );\n" REPORTS, 1, "farms[0]: must be a group"},
	{"farms = ( { queues = \"all\"; } );\n" REPORTS, 1, "farms[0]: missing 'id'"},
	{"farms = ( { id = \"farm-0123\"; } );\n" REPORTS, 1, "farms[0].id: invalid farm id \"farm-0123\""},
	{"farms = ( { id = \"farm-0123456789ABCDEF0123456789abcdef\"; } );\n" REPORTS, 1, "invalid farm id"},
	{"farms = ( { id = \"" QUEUE_ID "\"; } );\n" REPORTS, 1, "invalid farm id"},
	{"farms = ( { id = 5; } );\n" REPORTS, 1, "farms[0].id: must be a string"},
	{"farms = ( { id = \"" FARM_ID "\"; },\n{ id = \"" FARM_ID "\"; } );\n" REPORTS, 2,
		"farms[1].id: duplicate farm id"},
	{FARM_WITH("queues = \"none\";") REPORTS, 1, "farms[0].queues: must be \"all\" or a list of queue- ids"},
	{FARM_WITH("queues = \"" QUEUE_ID "\";") REPORTS, 1, "farms[0].queues: a single id is still a list"},
	{FARM_WITH("queues = [ ];") REPORTS, 1, "farms[0].queues: empty list"},
	{FARM_WITH("fleets = ( );") REPORTS, 1, "farms[0].fleets: empty list"},
	{FARM_WITH("queues = [ \"" FLEET_ID "\" ];") REPORTS, 1, "farms[0].queues[0]: invalid id"},
	{FARM_WITH("fleets = [ \"" QUEUE_ID "\" ];") REPORTS, 1, "farms[0].fleets[0]: invalid id"},
	{FARM_WITH("queues = [ \"" QUEUE_ID "\",\n\"" QUEUE_ID "\" ];") REPORTS, 2, "farms[0].queues[1]: duplicate id"},
	{FARM_WITH("queues = ( 1 );") REPORTS, 1, "farms[0].queues[0]: must be a string"},
	{FARM_WITH("fleets = 5;") REPORTS, 1, "farms[0].fleets: must be a list"},
	{FARM_WITH("name = \"x\";") REPORTS, 1, "farms[0]: unknown setting 'name'"},
	/* reports */
	{FARMS "reports = ( 5 );\n", 2, "reports[0]: must be a group"},
	{FARMS REPORT_RAW("window = \"month\"; group_by = [ \"QUEUE_ID\" ];"), 2, "reports[0]: missing 'name'"},
	{FARMS REPORT_RAW("name = \"r\"; group_by = [ \"QUEUE_ID\" ];"), 2, "reports[0]: missing 'window'"},
	{FARMS REPORT_RAW("name = \"r\"; window = \"month\";"), 2, "reports[0]: missing 'group_by'"},
	{FARMS REPORT_RAW("name = \"Month\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ];"), 2,
		"reports[0].name: invalid report name \"Month\""},
	{FARMS REPORT_RAW("name = \"1st\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ];"), 2,
		"invalid report name"},
	{FARMS REPORT_RAW("name = \"a-b\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ];"), 2,
		"invalid report name"},
	{FARMS REPORT_RAW("name = \"\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ];"), 2, "invalid report name"},
	{FARMS REPORT_RAW("name = \"a12345678901234567890123456789012345678901234567890123456789012345\"; "
			  "window = \"month\"; group_by = [ \"QUEUE_ID\" ];"),
		2, "at most 64 characters"},
	{FARMS REPORT_RAW("name = 1; window = \"month\"; group_by = [ \"QUEUE_ID\" ];"), 2,
		"reports[0].name: must be a string"},
	{FARMS "reports = ( { name = \"r\"; window = \"month\"; group_by = [ \"QUEUE_ID\" ]; },\n"
	       "{ name = \"r\"; window = \"day\"; group_by = [ \"QUEUE_ID\" ]; } );\n",
		3, "reports[1].name: duplicate report name \"r\""},
	{FARMS REPORT_WITH("resources = \"jobs\";"), 2,
		"reports[0].resources: must be \"auto\", \"queues\" or \"fleets\", not \"jobs\""},
	{FARMS REPORT_WITH("resources = [ \"queues\" ];"), 2, "reports[0].resources: must be a string, not an array"},
	{FARMS REPORT_RAW("name = \"r\"; window = \"year\"; group_by = [ \"QUEUE_ID\" ];"), 2,
		"reports[0].window: invalid window \"year\""},
	{FARMS REPORT_RAW("name = \"r\"; window = \"0d\"; group_by = [ \"QUEUE_ID\" ];"), 2, "invalid window"},
	{FARMS REPORT_RAW("name = \"r\"; window = \"7 d\"; group_by = [ \"QUEUE_ID\" ];"), 2, "invalid window"},
	{FARMS REPORT_RAW("name = \"r\"; window = \"-1d\"; group_by = [ \"QUEUE_ID\" ];"), 2, "invalid window"},
	{FARMS REPORT_RAW("name = \"r\"; window = \"1h1d\"; group_by = [ \"QUEUE_ID\" ];"), 2, "invalid window"},
	{FARMS REPORT_RAW("name = \"r\"; window = \"Month\"; group_by = [ \"QUEUE_ID\" ];"), 2, "invalid window"},
	{FARMS REPORT_RAW("name = \"r\"; window = \"401d\"; group_by = [ \"QUEUE_ID\" ];"), 2,
		"rolling window \"401d\" is longer than the limit of 400 days"},
	{FARMS REPORT_RAW("name = \"r\"; window = \"9601h\"; group_by = [ \"QUEUE_ID\" ];"), 2,
		"longer than the limit"},
	{FARMS REPORT_RAW("name = \"r\"; window = 7; group_by = [ \"QUEUE_ID\" ];"), 2,
		"reports[0].window: must be a string"},
	{FARMS REPORT_WITH("timezone = \"UTC+8\";"), 2, "reports[0].timezone: invalid timezone \"UTC+8\""},
	{FARMS REPORT_WITH("timezone = \"UTC+05:45\";"), 2, "invalid timezone"},
	{FARMS REPORT_WITH("timezone = \"UTC+20:00\";"), 2, "invalid timezone"},
	{FARMS REPORT_WITH("timezone = \"utc+00:00\";"), 2, "invalid timezone"},
	{FARMS REPORT_WITH("timezone = \"GMT+00:00\";"), 2, "invalid timezone"},
	{FARMS REPORT_WITH("timezone = \"UTC+05:30 \";"), 2, "invalid timezone"},
	{FARMS REPORT_WITH("timezone = \"UTC\";"), 2, "invalid timezone"},
	{FARMS REPORT_RAW("name = \"r\"; window = \"day\"; group_by = \"QUEUE_ID\";"), 2,
		"reports[0].group_by: must be a list"},
	{FARMS REPORT_RAW("name = \"r\"; window = \"day\"; group_by = [ ];"), 2, "reports[0].group_by: empty list"},
	{FARMS REPORT_RAW("name = \"r\"; window = \"day\"; group_by = [ \"QUEUE_ID\", \"USER_ID\", \"JOB_ID\" ];"), 2,
		"reports[0].group_by: 3 fields, but the API accepts at most 2"},
	{FARMS REPORT_RAW("name = \"r\"; window = \"day\"; group_by = [ \"QUEUE\" ];"), 2,
		"reports[0].group_by[0]: unknown field \"QUEUE\""},
	{FARMS REPORT_RAW("name = \"r\"; window = \"day\"; group_by = [ \"queue_id\" ];"), 2, "unknown field"},
	{FARMS REPORT_RAW("name = \"r\"; window = \"day\"; group_by = [ \"QUEUE_ID\", \"QUEUE_ID\" ];"), 2,
		"reports[0].group_by[1]: duplicate field \"QUEUE_ID\""},
	{FARMS REPORT_RAW("name = \"r\"; window = \"day\"; group_by = [ 1 ];"), 2,
		"reports[0].group_by[0]: must be a string"},
	{FARMS REPORT_WITH("statistics = [ ];"), 2, "reports[0].statistics: empty list"},
	{FARMS REPORT_WITH("statistics = \"SUM\";"), 2, "reports[0].statistics: must be a list"},
	{FARMS REPORT_WITH("statistics = [ \"MEDIAN\" ];"), 2,
		"reports[0].statistics[0]: unknown statistic \"MEDIAN\""},
	{FARMS REPORT_WITH("statistics = [ \"sum\" ];"), 2, "unknown statistic"},
	{FARMS REPORT_WITH("statistics = [ \"SUM\", \"AVG\", \"SUM\" ];"), 2,
		"reports[0].statistics[2]: duplicate statistic \"SUM\""},
	{FARMS REPORT_WITH("period = \"YEARLY\";"), 2, "reports[0].period: unknown period \"YEARLY\""},
	{FARMS REPORT_WITH("period = \"monthly\";"), 2, "unknown period"},
	{FARMS REPORT_WITH("period = 1;"), 2, "reports[0].period: must be a string"},
	{FARMS REPORT_WITH("interval = \"5s\";"), 2, "reports[0].interval: \"5s\" is shorter than the minimum of 10s"},
	{FARMS REPORT_WITH("interval = \"8d\";"), 2,
		"reports[0].interval: \"8d\" is longer than the maximum of 7 days"},
	{FARMS REPORT_WITH("interval = \"5\";"), 2, "reports[0].interval: invalid duration \"5\""},
	{FARMS REPORT_WITH("interval = \"5 m\";"), 2, "invalid duration"},
	{FARMS REPORT_WITH("interval = \"\";"), 2, "invalid duration"},
	{FARMS REPORT_WITH("interval = \"5min\";"), 2, "invalid duration"},
	{FARMS REPORT_WITH("interval = 300;"), 2, "reports[0].interval: must be a string, not an integer"},
	{FARMS REPORT_WITH("farm = \"x\";"), 2, "reports[0]: unknown setting 'farm'"},
	{FARMS REPORT_WITH("Name = \"x\";"), 2, "reports[0]: unknown setting 'Name'"},
	/* version 2: farms[].region, reports[].limit, inventory, identity_store */
	{FARM_WITH("region = \"EU-west-1\";") REPORTS, 1, "farms[0].region: invalid region \"EU-west-1\""},
	{FARM_WITH("region = 1;") REPORTS, 1, "farms[0].region: must be a string, not an integer"},
	{FARM_WITH("zone = \"a\";") REPORTS, 1,
		"farms[0]: unknown setting 'zone' (known: id, queues, fleets, region, role_arn, external_id)"},
	{FARMS REPORT_WITH("limit = 0;"), 2, "reports[0].limit: 0 is out of range (1 to 100000)"},
	{FARMS REPORT_WITH("limit = 100001;"), 2, "reports[0].limit: 100001 is out of range"},
	{FARMS REPORT_WITH("limit = \"200\";"), 2, "reports[0].limit: must be an integer, not a string"},
	{FARMS REPORT_WITH("limit = 2.5;"), 2, "reports[0].limit: must be an integer, not a number"},
	{FARMS REPORTS "inventory = { enabled = 1; };\n", 3,
		"inventory.enabled: must be true or false, not an integer"},
	{FARMS REPORTS "inventory = { budgets = \"yes\"; };\n", 3, "inventory.budgets: must be true or false"},
	{FARMS REPORTS "inventory = { interval = \"5s\"; };\n", 3,
		"inventory.interval: \"5s\" is shorter than the minimum of 10s"},
	{FARMS REPORTS "inventory = { interval = \"5 m\"; };\n", 3, "inventory.interval: invalid duration"},
	{FARMS REPORTS "inventory = { interval = 300; };\n", 3, "inventory.interval: must be a string, not an integer"},
	{FARMS REPORTS "inventory = { every = \"5m\"; };\n", 3,
		"inventory: unknown setting 'every' (known: enabled, interval, budgets)"},
	{FARMS REPORTS "inventory = true;\n", 3, "inventory: must be a group"},
	{FARMS REPORTS "identity_store = { region = \"us-east-1\"; };\n", 3, "identity_store: missing 'id'"},
	{FARMS REPORTS "identity_store = { id = \"d-012345678\"; };\n", 3,
		"identity_store.id: invalid identity store id \"d-012345678\""},
	{FARMS REPORTS "identity_store = { id = \"d-ABCDEF0123\"; };\n", 3, "invalid identity store id"},
	{FARMS REPORTS "identity_store = { id = \"d-01234567890\"; };\n", 3, "invalid identity store id"},
	{FARMS REPORTS "identity_store = { id = \"01234567-89ab-cdef-0123-456789abcdeg\"; };\n", 3,
		"invalid identity store id"},
	{FARMS REPORTS "identity_store = { id = \"0123456789ab-cdef-0123-456789abcdef0\"; };\n", 3,
		"invalid identity store id"},
	{FARMS REPORTS "identity_store = { id = 1; };\n", 3, "identity_store.id: must be a string, not an integer"},
	{FARMS REPORTS "identity_store = { id = \"d-0123456789\"; region = \"us east\"; };\n", 3,
		"identity_store.region: invalid region"},
	{FARMS REPORTS "identity_store = { id = \"d-0123456789\"; endpoint_url = \"https://x/?q\"; };\n", 3,
		"identity_store.endpoint_url: invalid URL"},
	{FARMS REPORTS "identity_store = { id = \"d-0123456789\"; profile = \"p\"; };\n", 3,
		"identity_store: unknown setting 'profile' (known: id, region, endpoint_url, role_arn, external_id)"},
	{FARMS REPORTS "identity_store = ( );\n", 3, "identity_store: must be a group"},
};

/* The web settings: defaults, values read, and a hash that is never quoted in a message. */
static void test_web(void)
{
	struct config *cfg = NULL;
	int r;

	r = config_load_string(&cfg, "web.conf", FARMS REPORTS, err, sizeof(err));
	CHECK_INT(r, 0);
	if (cfg) {
		CHECK(cfg->web.tls_cert_file == NULL && cfg->web.tls_key_file == NULL);
		CHECK_INT(cfg->web.tls_min_version, WEB_TLS12);
		CHECK_INT(cfg->web.n_users, 0);
		CHECK_INT(cfg->web.max_connections, 64);
		CHECK_INT(cfg->web.connection_timeout_seconds, 30);
		CHECK_INT(cfg->web.max_request_size, 32768);
		CHECK(cfg->web.health_without_auth);
		CHECK(!cfg->web.enable_lifecycle);
		config_free(cfg);
		cfg = NULL;
	}
	r = config_load_string(&cfg, "web.conf",
		"web = { listen = \"127.0.0.1:0\"; " WEB_TLS "tls_min_version = \"TLS13\"; "
		"basic_auth_users = ( { user = \"prometheus\"; password_hash = \"" HASH "\"; },\n"
		"{ user = \"grafana agent\"; password_hash = "
		"\"$2a$04$jSbuPFON/2CnZQSvXvOT6OTDLjM3q3T07Xm2Pfm1cA4JLFVXYA8.e\"; "
		"} ); max_connections = 8; connection_timeout = \"1m30s\"; max_request_size = 8192; "
		"health_without_auth = false; };\n" FARMS REPORTS,
		err, sizeof(err));
	CHECK_MSG(r == 0, "%s", err);
	if (cfg) {
		CHECK_STR(cfg->listen, "127.0.0.1:0");
		CHECK_STR(cfg->web.tls_cert_file, WEB_CERT);
		CHECK_STR(cfg->web.tls_key_file, WEB_KEY);
		CHECK_INT(cfg->web.tls_min_version, WEB_TLS13);
		CHECK_INT(cfg->web.n_users, 2);
		CHECK_STR(cfg->web.users[0].user, "prometheus");
		CHECK_STR(cfg->web.users[0].password_hash, HASH);
		CHECK_STR(cfg->web.users[1].user, "grafana agent");
		CHECK_INT(cfg->web.max_connections, 8);
		CHECK_INT(cfg->web.connection_timeout_seconds, 90);
		CHECK_INT(cfg->web.max_request_size, 8192);
		CHECK(!cfg->web.health_without_auth);
		config_free(cfg);
		cfg = NULL;
	}
	/* Something like a hash, but not one: described, never quoted. */
	r = config_load_string(
		&cfg, "web.conf", WEB_WITH(WEB_USER("a", "$2y$10$notquiteahashbutsecretish")), err, sizeof(err));
	CHECK_INT(r, -EINVAL);
	CHECK(strstr(err, "password_hash: not a bcrypt hash") != NULL);
	CHECK_MSG(strstr(err, "notquite") == NULL, "the hash leaked: %s", err);
	/* The same for every other mistake around it. */
	r = config_load_string(
		&cfg, "web.conf", WEB_WITH(WEB_USER("a:b", HASH) "max_connections = 1;"), err, sizeof(err));
	CHECK_INT(r, -EINVAL);
	CHECK_MSG(strstr(err, "lpSB3") == NULL, "the hash leaked: %s", err);
}

static void test_good_strings(void)
{
	for (size_t i = 0; i < sizeof(good_strings) / sizeof(good_strings[0]); i++) {
		struct config *cfg = NULL;
		int r = config_load_string(&cfg, "good.conf", good_strings[i], err, sizeof(err));

		CHECK_MSG(r == 0 && cfg, "good string %zu: %d:\n%s", i, r, err);
		CHECK_STR(err, "");
		config_free(cfg);
	}
}

static void test_bad_strings(void)
{
	for (size_t i = 0; i < sizeof(bad_strings) / sizeof(bad_strings[0]); i++) {
		struct config *cfg = (struct config *)1;
		int r = config_load_string(&cfg, "bad.conf", bad_strings[i].text, err, sizeof(err));

		CHECK_MSG(r == -EINVAL, "bad string %zu: got %d", i, r);
		CHECK(cfg == NULL);
		CHECK_MSG(err_has("bad.conf", bad_strings[i].line, bad_strings[i].reason),
			"bad string %zu: expected \"bad.conf:%d: ...%s...\", got:\n%s", i, bad_strings[i].line,
			bad_strings[i].reason, err);
		/* one mistake, one message (the parse errors stop at the first) */
		CHECK_MSG(err_lines() == 1, "bad string %zu: %d messages:\n%s", i, err_lines(), err);
	}
}

/* Writes len bytes to a new temporary file; its name goes into path (at least 32 bytes). */
static bool temp_file(char *path, const char *data, size_t len)
{
	int fd;
	bool ok;

	strcpy(path, "/tmp/test-config-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return false;
	ok = write(fd, data, len) == (ssize_t)len;
	if (close(fd) != 0)
		ok = false;
	return ok;
}

static void test_file_content(void)
{
	static const char nul_text[] = FARMS REPORTS "# a stray\0byte\n";
	char abs[PATH_MAX], text[PATH_MAX + 256], tmp[32];
	struct config *cfg = NULL;
	int n, r;

	/* an absolute @include (libconfig 1.5 alone would prefix it with the include directory) */
	CHECK(realpath(DATA("good-include-farms.inc"), abs) != NULL);
	n = snprintf(text, sizeof(text), "\n@include \"%s\"\n" REPORTS, abs);
	CHECK(n > 0 && (size_t)n < sizeof(text));
	CHECK(temp_file(tmp, text, strlen(text)));
	r = config_load(&cfg, tmp, err, sizeof(err));
	CHECK_MSG(r == 0, "%d:\n%s", r, err);
	if (cfg)
		CHECK_INT(cfg->farms[0].n_fleet_ids, 1);
	config_free(cfg);
	cfg = NULL;
	CHECK(unlink(tmp) == 0);

	/* a NUL byte would hide the rest of the file from libconfig */
	CHECK(temp_file(tmp, nul_text, sizeof(nul_text) - 1));
	r = config_load(&cfg, tmp, err, sizeof(err));
	CHECK_INT(r, -EINVAL);
	CHECK_MSG(err_has(tmp, 3, "NUL byte"), "got:\n%s", err);
	CHECK(unlink(tmp) == 0);
}

static const struct {
	int line;
	const char *reason;
} bad_many_expected[] = {
	{3, "web.listen: invalid address \"localhost\""},
	{4, "web: unknown setting 'port'"},
	{7, "aws.region: must be a string, not an integer"},
	{12, "farms[0].queues: empty list"},
	{15, "farms[1].id: duplicate farm id"},
	{16, "farms[1].fleets: must be \"all\" or a list"},
	{22, "reports[0].window: invalid window \"fortnight\""},
	{23, "reports[0].group_by: 3 fields"},
	{24, "reports[0].statistics[1]: unknown statistic \"MEDIAN\""},
	{25, "reports[0].interval: \"1s\" is shorter than the minimum of 10s"},
	{28, "reports[1].name: duplicate report name \"month_to_date\""},
	{30, "reports[1].timezone: invalid timezone \"UTC+8\""},
	{32, "reports[1]: unknown setting 'colour'"},
	{35, "unknown setting 'extra'"},
	{37, "inventory.enabled: must be true or false, not a string"},
	{38, "inventory.interval: \"5s\" is shorter than the minimum of 10s"},
	{39, "inventory: unknown setting 'colour'"},
	{42, "identity_store.id: invalid identity store id \"d-XYZ\""},
	{43, "identity_store.region: invalid region \"Mars\""},
};

static void test_bad_files(void)
{
	struct config *cfg = NULL;
	int r;

	r = config_load(&cfg, DATA("bad-many.conf"), err, sizeof(err));
	CHECK_INT(r, -EINVAL);
	CHECK(cfg == NULL);
	for (size_t i = 0; i < sizeof(bad_many_expected) / sizeof(bad_many_expected[0]); i++)
		CHECK_MSG(err_has(DATA("bad-many.conf"), bad_many_expected[i].line, bad_many_expected[i].reason),
			"expected line %d: %s, got:\n%s", bad_many_expected[i].line, bad_many_expected[i].reason, err);
	CHECK_INT(err_lines(), sizeof(bad_many_expected) / sizeof(bad_many_expected[0]));

	r = config_load(&cfg, DATA("bad-syntax.conf"), err, sizeof(err));
	CHECK_INT(r, -EINVAL);
	CHECK(cfg == NULL);
	CHECK_MSG(err_has(DATA("bad-syntax.conf"), 4, "syntax error"), "got:\n%s", err);

	/* a problem in an included file is reported at the included file's line */
	r = config_load(&cfg, DATA("bad-include.conf"), err, sizeof(err));
	CHECK_INT(r, -EINVAL);
	CHECK_MSG(err_has(NULL, 3, "farms[0].id: invalid farm id \"farm-NOT-HEX\"") &&
			  strstr(err, DATA("bad-include-farms.inc:3: ")),
		"got:\n%s", err);

	r = config_load(&cfg, DATA("does-not-exist.conf"), err, sizeof(err));
	CHECK_INT(r, -ENOENT);
	CHECK(cfg == NULL);
	CHECK_STR(err, DATA("does-not-exist.conf") ": No such file or directory\n");

	r = config_load(&cfg, DATA(""), err, sizeof(err));
	CHECK_INT(r, -EISDIR);
	CHECK(strstr(err, "Is a directory") != NULL);
}

static void test_err_buffer(void)
{
	char small[16];
	struct config *cfg = NULL;
	const char *text = "a = 1;\nb = 2;\nc = 3;\n";

	memset(small, 'x', sizeof(small));
	CHECK_INT(config_load_string(&cfg, "t.conf", text, small, sizeof(small)), -EINVAL);
	CHECK_INT(strlen(small), sizeof(small) - 1);
	CHECK(strncmp(small, "t.conf:1: missi", sizeof(small) - 1) == 0);
	small[0] = 'x';
	CHECK_INT(config_load_string(&cfg, "t.conf", text, small, 1), -EINVAL);
	CHECK_INT(small[0], '\0');
	CHECK_INT(config_load_string(&cfg, "t.conf", text, NULL, 0), -EINVAL);
	CHECK(cfg == NULL);

	/* all problems, in file order */
	CHECK_INT(config_load_string(&cfg, "t.conf", text, err, sizeof(err)), -EINVAL);
	CHECK_STR(err,
		"t.conf:1: missing 'farms': at least one farm is required\n"
		"t.conf:1: missing 'reports': at least one report is required\n"
		"t.conf:1: unknown setting 'a' (known: web, aws, farms, reports, inventory, activity, identity_store)\n"
		"t.conf:2: unknown setting 'b' (known: web, aws, farms, reports, inventory, activity, identity_store)\n"
		"t.conf:3: unknown setting 'c' (known: web, aws, farms, reports, inventory, activity, "
		"identity_store)\n");
	CHECK_INT(config_load_string(&cfg, "empty.conf", "", err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "empty.conf:1: missing 'farms': at least one farm is required\n"
		       "empty.conf:1: missing 'reports': at least one report is required\n");

	CHECK_INT(config_load_string(NULL, "t.conf", text, err, sizeof(err)), -EINVAL);
	CHECK_INT(config_load_string(&cfg, "t.conf", NULL, err, sizeof(err)), -EINVAL);
	config_free(NULL);
}

static const struct {
	const char *text;
	int64_t seconds; /* 0: invalid */
} duration_cases[] = {
	{"30s", 30},
	{"5m", 300},
	{"1h", 3600},
	{"7d", 604800},
	{"90m", 5400},
	{"24h", 86400},
	{"1h30m", 5400},
	{"1d12h", 129600},
	{"1d1h1m1s", 90061},
	{"0h10s", 10},
	{"010s", 10},
	{"400d", 34560000},
	{"", 0},
	{"0s", 0},
	{"0d0h", 0},
	{"5", 0},
	{"m", 0},
	{"5x", 0},
	{"5 m", 0},
	{" 5m", 0},
	{"5m ", 0},
	{"-5m", 0},
	{"+5m", 0},
	{"1.5h", 0},
	{"5ms", 0},
	{"1m1h", 0},
	{"1h1h", 0},
	{"5M", 0},
	{"1w", 0},
	{"999999999999d", 999999999999 * INT64_C(86400)},
	{"9999999999999d", 0},
};

static const struct {
	const char *text;
	int minutes;
	bool valid;
} timezone_cases[] = {
	{"UTC+00:00", 0, true},
	{"UTC-00:00", 0, true},
	{"UTC+05:30", 330, true},
	{"UTC-08:00", -480, true},
	{"UTC-03:30", -210, true},
	{"UTC+14:00", 840, true},
	{"UTC+19:30", 1170, true},
	{"UTC-19:30", -1170, true},
	{"UTC+20:00", 0, false},
	{"UTC+8", 0, false},
	{"UTC+08:15", 0, false},
	{"UTC+08:00 ", 0, false},
	{"UTC 08:00", 0, false},
	{"utc+08:00", 0, false},
	{"UTC+0800", 0, false},
	{"", 0, false},
	{"UTC+a8:00", 0, false},
	{"UTC+0a:00", 0, false},
	{"UTC+08-00", 0, false},
};

static void test_parsers(void)
{
	for (size_t i = 0; i < sizeof(duration_cases) / sizeof(duration_cases[0]); i++) {
		int64_t s = -1;
		int r = config_duration_parse(duration_cases[i].text, &s);

		if (duration_cases[i].seconds) {
			CHECK_MSG(r == 0 && s == duration_cases[i].seconds, "\"%s\": %d, %lld", duration_cases[i].text,
				r, (long long)s);
		} else {
			CHECK_MSG(r == -EINVAL && s == -1, "\"%s\" must be refused", duration_cases[i].text);
		}
	}
	CHECK_INT(config_duration_parse(NULL, NULL), -EINVAL);

	for (size_t i = 0; i < sizeof(timezone_cases) / sizeof(timezone_cases[0]); i++) {
		int m = 12345;
		int r = config_timezone_parse(timezone_cases[i].text, &m);

		if (timezone_cases[i].valid)
			CHECK_MSG(r == 0 && m == timezone_cases[i].minutes, "\"%s\": %d, %d", timezone_cases[i].text, r,
				m);
		else
			CHECK_MSG(r == -EINVAL && m == 12345, "\"%s\" must be refused", timezone_cases[i].text);
	}
	CHECK_INT(config_timezone_parse(NULL, NULL), -EINVAL);
}

int main(void)
{
	test_example();
	test_minimal_defaults();
	test_full();
	test_web();
	test_good_strings();
	test_bad_strings();
	test_bad_files();
	test_file_content();
	test_err_buffer();
	test_parsers();
	TEST_DONE();
}
