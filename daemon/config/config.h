/* config: libconfig file -> one immutable, validated struct config */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/model.h"
#include "config/relabel.h"
#include "util/aws_syntax.h"

#define CONFIG_DEFAULT_PATH SYSCONFDIR "/deadline-cloud-exporter.conf"
#define CONFIG_DEFAULT_LISTEN "127.0.0.1:9753"

/* Limits the loader enforces (the example configuration documents them). */
#define CONFIG_REPORT_NAME_MAX 64
#define CONFIG_WINDOW_MAX_SECONDS (INT64_C(400) * 86400) /* longest rolling window */
#define CONFIG_DEFAULT_INTERVAL_SECONDS 300
#define CONFIG_DEFAULT_INTERVAL "5m" /* the same, as written */
#define CONFIG_INTERVAL_MIN_SECONDS 10
#define CONFIG_INTERVAL_MAX_SECONDS (7 * 86400)
#define CONFIG_REPORT_LIMIT_MAX 100000 /* reports[].limit: 1 to this many groups */
/* reports[].labels: at most this many rules per report */
#define CONFIG_REPORT_LABELS_MAX 8
/* activity.jobs: per-job series for at most this many active jobs per farm (default, largest) */
#define CONFIG_ACTIVITY_DEFAULT_JOBS 200
#define CONFIG_ACTIVITY_JOBS_MAX 10000
#define CONFIG_ACTIVITY_DEFAULT_INTERVAL_SECONDS 60
#define CONFIG_ACTIVITY_DEFAULT_INTERVAL "1m"
/* identity_store.id: "d-" + 10 hex digits, or a UUID (the identitystore model's IdentityStoreId) */
#define CONFIG_IDENTITY_STORE_ID_MAX 36
/* web: limits of the metrics endpoint */
#define CONFIG_WEB_DEFAULT_MAX_CONNECTIONS 64u
#define CONFIG_WEB_MAX_CONNECTIONS_MIN 4u
#define CONFIG_WEB_MAX_CONNECTIONS_MAX 1024u
#define CONFIG_WEB_DEFAULT_TIMEOUT_SECONDS 30
#define CONFIG_WEB_TIMEOUT_MAX_SECONDS 3600
#define CONFIG_WEB_DEFAULT_MAX_REQUEST_SIZE 32768u
#define CONFIG_WEB_MAX_REQUEST_SIZE_MIN 4096u
#define CONFIG_WEB_MAX_REQUEST_SIZE_MAX (1024u * 1024u)
#define CONFIG_WEB_USER_MAX 256
#define CONFIG_WEB_USERS_MAX 256

enum window_kind {
	WINDOW_DAY, /* calendar day to date, in the report's timezone */
	WINDOW_WEEK, /* calendar week (Monday) to date */
	WINDOW_MONTH, /* calendar month to date */
	WINDOW_ROLLING, /* the last window_seconds */
};

struct report_config {
	char *name; /* [a-z][a-z0-9_]*, unique */
	enum report_resources resources; /* default "auto": resolve per farm with resource_kind_choose() */
	enum window_kind window;
	int64_t window_seconds; /* WINDOW_ROLLING only */
	char *window_text; /* as written: "month", "7d" */
	char timezone[10]; /* "UTC+05:30", as the API wants it */
	int tz_offset_minutes; /* +330 for UTC+05:30 */
	enum group_field group_by[2];
	size_t n_group_by; /* 1 or 2 */
	unsigned statistics; /* enum statistic bits, at least one */
	enum period period; /* period = "MONTHLY" (default): fewest rows, as AWS advises */
	int64_t interval_seconds; /* refresh period, default 300 */
	char *interval_text; /* as written: "5m" */
	size_t limit; /* keep the largest N groups, the rest as "__other__"; 0: every group */
	bool counter; /* the sum figures as counters: only calendar windows, with SUM, without limit */
	struct relabel_rule *labels; /* labels derived from job and queue names (no limit with them), or NULL */
	size_t n_labels; /* 0 to CONFIG_REPORT_LABELS_MAX */
	unsigned keep; /* with labels: the group_by fields kept as labels, bits 1u << enum group_field */
};

/* Whether the report's figures carry the labels of group_by field f: every field without labels, else those kept. */
bool config_report_keeps(const struct report_config *r, enum group_field f);

struct farm_config {
	char *id; /* farm-<32 hex> */
	bool all_queues; /* queues = "all" */
	char **queue_ids; /* else the list (non-empty) */
	size_t n_queue_ids;
	bool all_fleets;
	char **fleet_ids;
	size_t n_fleet_ids;
	char *region; /* farms[].region, or NULL: the exporter's region (aws.region, the environment, …) */
	char *role_arn; /* farms[].role_arn: the IAM role assumed for this farm's calls, or NULL: the exporter's own */
	char *external_id; /* with role_arn, or NULL */
	char account_id[AWS_ACCOUNT_ID_DIGITS + 1]; /* role_arn's account, "" without role_arn */
};

/*
 * The kind a refresh of report r on farm f asks by (resource_kind_choose() on the farm's lists): n_queues and
 * n_fleets are the farm's counts, used only when config_report_kind_counts(). Returns 0 or -EINVAL (see there).
 */
int config_report_kind(const struct farm_config *f, const struct report_config *r, size_t n_queues, size_t n_fleets,
	size_t per_batch, enum resource_kind *kind);

/* Whether config_report_kind() depends on the farm's counts: "auto" with both the queues and the fleets "all". */
bool config_report_kind_counts(const struct farm_config *f, const struct report_config *r);

/* inventory = { enabled; interval; budgets; }: names, state and budgets, per farm */
struct inventory_config {
	bool enabled; /* default true */
	int64_t interval_seconds; /* default CONFIG_DEFAULT_INTERVAL_SECONDS */
	char *interval_text; /* as written: "5m" */
	bool budgets; /* ListBudgets and GetBudget, default true */
};

/* activity = { enabled; interval; jobs; }: the farms' live state (workers, active jobs, associations, limits) */
struct activity_config {
	bool enabled; /* default false */
	int64_t interval_seconds; /* default CONFIG_ACTIVITY_DEFAULT_INTERVAL_SECONDS */
	char *interval_text; /* as written: "1m" */
	size_t jobs; /* per-job series for at most this many active jobs per farm, 0 to CONFIG_ACTIVITY_JOBS_MAX */
};

/* identity_store = { id; region; endpoint_url; role_arn; external_id; }: user names for user_id (absent: id is NULL) */
struct identity_store_config {
	char *id; /* "d-" + 10 hex digits or a UUID; NULL when the section is absent */
	char *region; /* or NULL: the exporter's region */
	char *endpoint_url; /* or NULL: AWS_ENDPOINT_URL_IDENTITYSTORE, AWS_ENDPOINT_URL, the endpoint rules */
	char *role_arn; /* the IAM role assumed for DescribeUser, or NULL: the exporter's own credentials */
	char *external_id; /* with role_arn, or NULL */
	char account_id[AWS_ACCOUNT_ID_DIGITS + 1]; /* role_arn's account, "" without role_arn */
};

enum web_tls_version {
	WEB_TLS12, /* "TLS12" (default): TLS 1.2 and 1.3 */
	WEB_TLS13, /* "TLS13": TLS 1.3 only */
};

/* One of web.basic_auth_users. */
struct web_user {
	char *user; /* 1 to CONFIG_WEB_USER_MAX printable bytes, no ':', unique */
	char *password_hash; /* bcrypt: $2a$, $2b$ or $2y$, cost 04 to 31 (htpasswd -B); a secret: never logged */
};

/* The rest of the web group (web.listen stays in struct config, where --listen overrides it). */
struct web_config {
	char *tls_cert_file; /* PEM certificate (chain), or NULL for plain HTTP; set with tls_key_file */
	char *tls_key_file; /* PEM private key, unencrypted */
	enum web_tls_version tls_min_version;
	struct web_user *users; /* basic_auth_users; none: no authentication */
	size_t n_users;
	unsigned max_connections; /* default CONFIG_WEB_DEFAULT_MAX_CONNECTIONS */
	unsigned connection_timeout_seconds; /* of inactivity, default CONFIG_WEB_DEFAULT_TIMEOUT_SECONDS */
	size_t max_request_size; /* bytes of request line and headers, default CONFIG_WEB_DEFAULT_MAX_REQUEST_SIZE */
	bool health_without_auth; /* /-/healthy answers without credentials (default true) */
	bool enable_lifecycle; /* POST /-/reload reloads the configuration (default false) */
};

/* The defaults of every web setting (no TLS, no users); config_load() starts from them. */
void web_config_defaults(struct web_config *web);

/* Whether s looks like a bcrypt hash as htpasswd -B makes it: $2a$, $2b$ or $2y$, cost 04-31, 53 more. */
bool web_password_hash_valid(const char *s);

struct config {
	char *path; /* the file it came from */
	char *listen; /* web.listen, default CONFIG_DEFAULT_LISTEN */
	struct web_config web; /* the other web.* settings */
	char *region; /* aws.region or NULL */
	char *profile; /* aws.profile or NULL */
	char *endpoint_url; /* aws.endpoint_url or NULL */
	char *ca_file; /* aws.ca_file or NULL: the CA bundle to trust instead of the system's */
	struct farm_config *farms;
	size_t n_farms; /* at least one */
	struct report_config *reports;
	size_t n_reports; /* at least one */
	struct inventory_config inventory;
	struct activity_config activity;
	struct identity_store_config identity_store;
};

/*
 * Loads and validates path. On success *out owns a new config (config_free()).
 * On failure returns -EINVAL (bad content) or -errno (unreadable), and writes one
 * message per problem into err as "FILE:LINE: reason\n" lines (truncated to errlen).
 * All problems found are reported, not only the first.
 */
int config_load(struct config **out, const char *path, char *err, size_t errlen);

void config_free(struct config *cfg);

/*
 * Parses "30s", "5m", "1h", "7d", "90m" into seconds (> 0). Returns 0 or -EINVAL.
 * Compound durations are allowed with units largest first, each once: "1h30m", "1d12h".
 */
int config_duration_parse(const char *s, int64_t *seconds);

/* Whether s is an identity store id as the identitystore model allows: d-<10 hex> or a lowercase UUID. */
bool config_identity_store_id_valid(const char *s);

/* Parses "UTC+05:30" (the API's exact 9-character form) into minutes. Returns 0 or -EINVAL. */
int config_timezone_parse(const char *s, int *offset_minutes);

/*
 * test hook: config_load() from a string, for the unit tests and the fuzzer; name stands for the file name in
 * messages. @include is refused (a fuzzer's "@include \"/dev/zero\"" must not be opened).
 */
int config_load_string(struct config **out, const char *name, const char *text, char *err, size_t errlen);
