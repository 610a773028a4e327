/* test-deadline_api: request builders and the yajl parsers, table-driven */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "deadline/deadline_api.h"
#include "test.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

#define Q1 "queue-0123456789abcdef0123456789abcdef"
#define Q2 "queue-fedcba9876543210fedcba9876543210"
#define F1 "fleet-00112233445566778899aabbccddeeff"
#define FARM "farm-0123456789abcdef0123456789abcdef"
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The parsers get exactly len bytes, without a terminating NUL, so ASan sees any over-read. */
static char *exact_copy(const char *s, size_t len)
{
	char *c = malloc(len ? len : 1);

	if (!c) {
		perror("malloc");
		exit(1);
	}
	memcpy(c, s, len);
	return c;
}

static char *read_fixture(const char *name, size_t *len)
{
	char path[512];
	char *buf = NULL;
	long n;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/api/%s", TEST_DATA_DIR, name) >= (int)sizeof(path))
		return NULL;
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- paths and queries ---- */

static void test_paths(void)
{
	char *p;

	p = deadline_aggregation_path(FARM);
	CHECK_STR(p, "/2023-10-12/farms/" FARM "/sessions-statistics-aggregation");
	free(p);
	p = deadline_list_path(FARM, RESOURCE_QUEUES);
	CHECK_STR(p, "/2023-10-12/farms/" FARM "/queues");
	free(p);
	p = deadline_list_path(FARM, RESOURCE_FLEETS);
	CHECK_STR(p, "/2023-10-12/farms/" FARM "/fleets");
	free(p);
	/* never a raw slash or space from an id in a path */
	p = deadline_aggregation_path("farm/../x y");
	CHECK_STR(p, "/2023-10-12/farms/farm%2F..%2Fx%20y/sessions-statistics-aggregation");
	free(p);
	CHECK(deadline_aggregation_path(NULL) == NULL);
	CHECK(deadline_aggregation_path("") == NULL);
	CHECK(deadline_list_path(FARM, (enum resource_kind)7) == NULL);
}

static const struct query_case {
	const char *aggregation_id; /* NULL: the List query */
	int max_results;
	const char *next_token;
	const char *expected; /* NULL: refused */
} query_cases[] = {
	{"0123456789abcdef0123456789abcdef", 100, NULL,
		"aggregationId=0123456789abcdef0123456789abcdef&maxResults=100"},
	{"0123456789abcdef0123456789abcdef", 1, "", "aggregationId=0123456789abcdef0123456789abcdef&maxResults=1"},
	{"abc", 100, "a+b/c==", "aggregationId=abc&maxResults=100&nextToken=a%2Bb%2Fc%3D%3D"},
	{"abc", 50, "+/=", "aggregationId=abc&maxResults=50&nextToken=%2B%2F%3D"},
	{"abc", 100, "sp ace&amp=%~-._", "aggregationId=abc&maxResults=100&nextToken=sp%20ace%26amp%3D%25~-._"},
	{"abc", 100, "\xc3\xa9", "aggregationId=abc&maxResults=100&nextToken=%C3%A9"},
	{"a b", 100, NULL, "aggregationId=a%20b&maxResults=100"},
	{"abc", 0, NULL, NULL},
	{"abc", 101, NULL, NULL},
	{"abc", -5, NULL, NULL},
	{"", 100, NULL, NULL},
	{NULL, 100, NULL, "maxResults=100"},
	{NULL, 100, "AAAA+BBB/CC==", "maxResults=100&nextToken=AAAA%2BBBB%2FCC%3D%3D"},
	{NULL, 100, "", "maxResults=100"},
	{NULL, 0, NULL, NULL},
	{NULL, 101, "x", NULL},
};

static void test_queries(void)
{
	for (size_t i = 0; i < N_ELEMS(query_cases); i++) {
		const struct query_case *c = &query_cases[i];
		char *q = c->aggregation_id ? deadline_get_query(c->aggregation_id, c->max_results, c->next_token)
					    : deadline_list_query(c->max_results, c->next_token);
		if (c->expected)
			CHECK_STR(q, c->expected);
		else
			CHECK_MSG(q == NULL, "case %zu: got \"%s\"", i, q);
		free(q);
	}
	CHECK(deadline_get_query(NULL, 100, NULL) == NULL);
}

/* ---- the Start body ---- */

static const char *const ids_one[] = {Q1};
static const char *const ids_two[] = {Q1, Q2};
static const char *const ids_fleet[] = {F1};
static const char *const ids_eleven[] = {Q1, Q1, Q1, Q1, Q1, Q1, Q1, Q1, Q1, Q1, Q1};
static const char *const ids_ten[] = {Q1, Q2, Q1, Q2, Q1, Q2, Q1, Q2, Q1, Q2};
static const char *const ids_null[] = {NULL};
static const char *const ids_bad_utf8[] = {"queue-\xff"};
static const enum group_field gb_queue_usage[] = {GROUP_QUEUE_ID, GROUP_USAGE_TYPE};
static const enum group_field gb_job[] = {GROUP_JOB_ID};
static const enum group_field gb_three[] = {GROUP_QUEUE_ID, GROUP_USAGE_TYPE, GROUP_USER_ID};
static const enum group_field gb_bad[] = {(enum group_field)GROUP_FIELD_COUNT};

static const struct start_case {
	const char *name;
	struct deadline_start_request req;
	const char *expected; /* NULL: -EINVAL */
} start_cases[] = {
	{"the documented example",
		{FARM, RESOURCE_QUEUES, ids_one, 1, "2026-11-01T00:00:00Z", "2026-11-26T00:00:00Z", gb_queue_usage, 2,
			STAT_SUM | STAT_AVG, "UTC+00:00", PERIOD_DAILY},
		"{\"resourceIds\":{\"queueIds\":[\"" Q1 "\"]},"
		"\"startTime\":\"2026-11-01T00:00:00Z\",\"endTime\":\"2026-11-26T00:00:00Z\","
		"\"groupBy\":[\"QUEUE_ID\",\"USAGE_TYPE\"],\"statistics\":[\"SUM\",\"AVG\"],"
		"\"timezone\":\"UTC+00:00\",\"period\":\"DAILY\"}"},
	{"fleets, all statistics, no timezone, no period",
		{FARM, RESOURCE_FLEETS, ids_fleet, 1, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", gb_job, 1,
			STAT_ALL, NULL, PERIOD_NONE},
		"{\"resourceIds\":{\"fleetIds\":[\"" F1 "\"]},"
		"\"startTime\":\"2026-11-01T00:00:00Z\",\"endTime\":\"2026-11-02T00:00:00Z\","
		"\"groupBy\":[\"JOB_ID\"],\"statistics\":[\"SUM\",\"MIN\",\"MAX\",\"AVG\"]}"},
	{"two queues, MIN and MAX, monthly, UTC+05:30",
		{FARM, RESOURCE_QUEUES, ids_two, 2, "2026-10-31T18:30:00Z", "2026-11-26T00:00:00.5Z", gb_job, 1,
			STAT_MAX | STAT_MIN, "UTC+05:30", PERIOD_MONTHLY},
		"{\"resourceIds\":{\"queueIds\":[\"" Q1 "\",\"" Q2 "\"]},"
		"\"startTime\":\"2026-10-31T18:30:00Z\",\"endTime\":\"2026-11-26T00:00:00.5Z\","
		"\"groupBy\":[\"JOB_ID\"],\"statistics\":[\"MIN\",\"MAX\"],\"timezone\":\"UTC+05:30\",\"period\":"
		"\"MONTHLY\"}"},
	{"ten ids is the limit",
		{FARM, RESOURCE_QUEUES, ids_ten, 10, "a", "b", gb_job, 1, STAT_SUM, NULL, PERIOD_HOURLY},
		"{\"resourceIds\":{\"queueIds\":[\"" Q1 "\",\"" Q2 "\",\"" Q1 "\",\"" Q2 "\",\"" Q1 "\",\"" Q2
		"\",\"" Q1 "\",\"" Q2 "\",\"" Q1 "\",\"" Q2
		"\"]},\"startTime\":\"a\",\"endTime\":\"b\",\"groupBy\":[\"JOB_ID\"],"
		"\"statistics\":[\"SUM\"],\"period\":\"HOURLY\"}"},
	{"eleven ids", {FARM, RESOURCE_QUEUES, ids_eleven, 11, "a", "b", gb_job, 1, STAT_SUM, NULL, PERIOD_NONE}, NULL},
	{"no ids", {FARM, RESOURCE_QUEUES, ids_one, 0, "a", "b", gb_job, 1, STAT_SUM, NULL, PERIOD_NONE}, NULL},
	{"NULL id", {FARM, RESOURCE_QUEUES, ids_null, 1, "a", "b", gb_job, 1, STAT_SUM, NULL, PERIOD_NONE}, NULL},
	{"invalid UTF-8 id", {FARM, RESOURCE_QUEUES, ids_bad_utf8, 1, "a", "b", gb_job, 1, STAT_SUM, NULL, PERIOD_NONE},
		NULL},
	{"three group-by", {FARM, RESOURCE_QUEUES, ids_one, 1, "a", "b", gb_three, 3, STAT_SUM, NULL, PERIOD_NONE},
		NULL},
	{"no group-by", {FARM, RESOURCE_QUEUES, ids_one, 1, "a", "b", gb_job, 0, STAT_SUM, NULL, PERIOD_NONE}, NULL},
	{"bad group-by", {FARM, RESOURCE_QUEUES, ids_one, 1, "a", "b", gb_bad, 1, STAT_SUM, NULL, PERIOD_NONE}, NULL},
	{"no statistics", {FARM, RESOURCE_QUEUES, ids_one, 1, "a", "b", gb_job, 1, 0, NULL, PERIOD_NONE}, NULL},
	{"unknown statistic", {FARM, RESOURCE_QUEUES, ids_one, 1, "a", "b", gb_job, 1, 0x10, NULL, PERIOD_NONE}, NULL},
	{"no start time", {FARM, RESOURCE_QUEUES, ids_one, 1, NULL, "b", gb_job, 1, STAT_SUM, NULL, PERIOD_NONE}, NULL},
	{"no end time", {FARM, RESOURCE_QUEUES, ids_one, 1, "a", NULL, gb_job, 1, STAT_SUM, NULL, PERIOD_NONE}, NULL},
	{"bad kind", {FARM, (enum resource_kind)9, ids_one, 1, "a", "b", gb_job, 1, STAT_SUM, NULL, PERIOD_NONE}, NULL},
	{"bad period", {FARM, RESOURCE_QUEUES, ids_one, 1, "a", "b", gb_job, 1, STAT_SUM, NULL, (enum period)42}, NULL},
};

static void test_start_body(void)
{
	char *body = (char *)"sentinel";
	size_t len = 99;

	for (size_t i = 0; i < N_ELEMS(start_cases); i++) {
		const struct start_case *c = &start_cases[i];
		int rc = deadline_start_body(&c->req, &body, &len);
		if (c->expected) {
			CHECK_MSG(rc == 0, "%s: rc %d", c->name, rc);
			CHECK_STR(body, c->expected);
			CHECK_INT(len, body ? strlen(body) : 0);
		} else {
			CHECK_MSG(rc == -EINVAL, "%s: rc %d", c->name, rc);
			CHECK(body == NULL && len == 0);
		}
		free(body);
	}
	CHECK_INT(deadline_start_body(NULL, &body, &len), -EINVAL);
}

/* ---- GetSessionsStatisticsAggregation ---- */

struct exp_row {
	const char *fields[GROUP_FIELD_COUNT];
	const char *job_name;
	int64_t count;
	struct usage_stats cost, runtime;
};

struct get_case {
	const char *name;
	const char *json;
	int rc;
	const char *err; /* substring of the message on failure */
	enum deadline_status status;
	const char *status_text, *status_message, *next_token;
	size_t n_rows;
	struct exp_row rows[2]; /* the first rows, checked member by member when n_rows > 0 */
};

#define ROW_MIN "\"count\":1,\"costInUsd\":{},\"runtimeInSeconds\":{}"
#define GET(rows) "{\"status\":\"COMPLETED\",\"statistics\":[" rows "]}"
#define ONE_ROW(members) GET("{" members "}")

/* Designated initializers all the way down: every member not named is zero. */
/* clang-format off */
#define OK(n, j, st, text, msg, tok, nrows, ...) \
	{.name = n, .json = j, .rc = 0, .status = st, .status_text = text, .status_message = msg, .next_token = tok, \
		.n_rows = nrows, .rows = {__VA_ARGS__}}
#define DONE(n, j, nrows, ...) OK(n, j, DEADLINE_STATUS_COMPLETED, "COMPLETED", NULL, NULL, nrows, __VA_ARGS__)
#define BAD(n, j, code, e) {.name = n, .json = j, .rc = code, .err = e}
#define STATS(s, mn, mx, a, p) {.sum = s, .min = mn, .max = mx, .avg = a, .present = p}
#define SUM(s) STATS(s, 0, 0, 0, STAT_SUM)
#define NONE {.present = 0}
#define ROW(job, n, c, r, ...) \
	{.job_name = job, .count = n, .cost = c, .runtime = r, .fields = {__VA_ARGS__}}
#define NOROW ROW(NULL, 0, NONE, NONE, NULL)
/* clang-format on */

static const struct get_case get_cases[] = {
	OK("every member",
		"{\"status\":\"COMPLETED\",\"statusMessage\":\"done\",\"nextToken\":\"tok+/=\",\"statistics\":[{"
		"\"queueId\":\"" Q1 "\",\"fleetId\":\"" F1 "\",\"jobId\":\"job-0123\",\"jobName\":\"Shot 010\","
		"\"userId\":\"u-1\",\"usageType\":\"COMPUTE\",\"instanceType\":\"g5.xlarge\","
		"\"licenseProduct\":\"nuke\",\"count\":3,"
		"\"costInUsd\":{\"min\":0.5,\"max\":2.25,\"avg\":1.5,\"sum\":4.5},"
		"\"runtimeInSeconds\":{\"min\":10,\"max\":200.5,\"avg\":70.5,\"sum\":211.5},"
		"\"aggregationStartTime\":\"2026-11-01T00:00:00Z\",\"aggregationEndTime\":\"2026-11-02T00:00:00Z\"}]}",
		DEADLINE_STATUS_COMPLETED, "COMPLETED", "done", "tok+/=", 1,
		ROW("Shot 010", 3, STATS(4.5, 0.5, 2.25, 1.5, STAT_ALL), STATS(211.5, 10, 200.5, 70.5, STAT_ALL), Q1,
			F1, "job-0123", "u-1", "COMPUTE", "g5.xlarge", "nuke")),
	OK("in progress: no statistics", "{\"status\":\"IN_PROGRESS\"}", DEADLINE_STATUS_IN_PROGRESS, "IN_PROGRESS",
		NULL, NULL, 0, NOROW),
	OK("failed with a message", "{\"status\":\"FAILED\",\"statusMessage\":\"too many rows\"}",
		DEADLINE_STATUS_FAILED, "FAILED", "too many rows", NULL, 0, NOROW),
	OK("timeout", "{\"statusMessage\":null,\"status\":\"TIMEOUT\"}", DEADLINE_STATUS_TIMEOUT, "TIMEOUT", NULL, NULL,
		0, NOROW),
	OK("an unknown status is kept as text", "{\"status\":\"PAUSED\"}", DEADLINE_STATUS_UNKNOWN, "PAUSED", NULL,
		NULL, 0, NOROW),
	OK("lower-case status is unknown", "{\"status\":\"completed\"}", DEADLINE_STATUS_UNKNOWN, "completed", NULL,
		NULL, 0, NOROW),
	DONE("nextToken null", "{\"status\":\"COMPLETED\",\"nextToken\":null,\"statistics\":[]}", 0, NOROW),
	DONE("nextToken empty means no more pages", "{\"status\":\"COMPLETED\",\"nextToken\":\"\"}", 0, NOROW),
	DONE("empty statistics", GET(""), 0, NOROW),
	DONE("statistics null", "{\"status\":\"COMPLETED\",\"statistics\":null}", 0, NOROW),
	DONE("only the required members", ONE_ROW(ROW_MIN), 1, ROW(NULL, 1, NONE, NONE, NULL)),
	DONE("null optional members are absent",
		ONE_ROW("\"queueId\":null,\"jobName\":null,\"count\":2,\"costInUsd\":{\"sum\":null,\"avg\":1},"
			"\"runtimeInSeconds\":{\"min\":null},\"aggregationStartTime\":null"),
		1, ROW(NULL, 2, STATS(0, 0, 0, 1, STAT_AVG), NONE, NULL)),
	DONE("only the requested statistics",
		ONE_ROW("\"userId\":\"alice\",\"count\":5,\"costInUsd\":{\"min\":1,\"max\":3,\"avg\":2},"
			"\"runtimeInSeconds\":{\"sum\":50}"),
		1, ROW(NULL, 5, STATS(0, 1, 3, 2, STAT_MIN | STAT_MAX | STAT_AVG), SUM(50), [GROUP_USER_ID] = "alice")),
	DONE("unknown members at every depth are skipped",
		"{\"x\":{\"y\":[1,{\"z\":[[],{}]},\"s\",true,null,-1.5e9]},\"status\":\"COMPLETED\",\"statistics\":[{"
		"\"future\":{\"a\":[{\"b\":{\"c\":[1,2,3]}}]},\"usageType\":\"GPU_BURST\",\"count\":7,"
		"\"costInUsd\":{\"p99\":{\"v\":1},\"sum\":7,\"weird\":[null]},\"runtimeInSeconds\":{\"sum\":70,\"x\":"
		"\"y\"},"
		"\"extraList\":[\"queueId\",{\"queueId\":5}]}],\"trailer\":\"statistics\"}",
		1, ROW(NULL, 7, SUM(7), SUM(70), [GROUP_USAGE_TYPE] = "GPU_BURST")),
	DONE("member names are case-sensitive", ONE_ROW("\"QueueId\":\"" Q1 "\",\"Count\":\"x\"," ROW_MIN), 1,
		ROW(NULL, 1, NONE, NONE, NULL)),
	DONE("two rows",
		GET("{\"queueId\":\"" Q1 "\",\"count\":1,\"costInUsd\":{\"sum\":1},\"runtimeInSeconds\":{\"sum\":2}},"
		    "{\"queueId\":\"" Q2 "\",\"count\":0,\"costInUsd\":{\"sum\":0},\"runtimeInSeconds\":{\"sum\":0}}"),
		2, ROW(NULL, 1, SUM(1), SUM(2), Q1), ROW(NULL, 0, SUM(0), SUM(0), Q2)),
	DONE("numbers: integers as doubles, exponents, huge, tiny, negative zero",
		ONE_ROW("\"count\":9223372036854775807,"
			"\"costInUsd\":{\"sum\":5,\"min\":123456789012345678901234567890,\"max\":1."
			"7976931348623157e308,"
			"\"avg\":1E-400},\"runtimeInSeconds\":{\"sum\":-0,\"min\":2.5e+3,\"max\":-7,\"avg\":0.1}"),
		1,
		ROW(NULL, INT64_MAX, STATS(5, 1.2345678901234568e29, 1.7976931348623157e308, 0, STAT_ALL),
			STATS(0, 2500, -7, 0.1, STAT_ALL), NULL)),
	DONE("bucket times: not read (nothing uses them), whatever their type",
		ONE_ROW("\"aggregationStartTime\":1793491200," ROW_MIN), 1, ROW(NULL, 1, NONE, NONE, NULL)),
	DONE("bucket times: an unreadable one passes",
		ONE_ROW(ROW_MIN ",\"aggregationStartTime\":\"2026-11-01T00:00:00.000Z\","
				"\"aggregationEndTime\":\"last tuesday\""),
		1, ROW(NULL, 1, NONE, NONE, NULL)),
	DONE("job names: escapes", ONE_ROW("\"jobName\":\"a\\nb\\\"c\\\\d\\/e\\tf\\r\\b\\f\"," ROW_MIN), 1,
		ROW("a\nb\"c\\d/e\tf\r\b\f", 1, NONE, NONE, NULL)),
	DONE("job names: \\u escapes and a surrogate pair",
		ONE_ROW("\"jobName\":\"caf\\u00e9 \\u65e5\\u672C \\ud83d\\ude00 \\u0041\"," ROW_MIN), 1,
		ROW("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 A", 1, NONE, NONE, NULL)),
	DONE("job names: raw UTF-8", ONE_ROW("\"jobName\":\"\xc3\xa9t\xc3\xa9 \xf0\x9f\x8e\xac\"," ROW_MIN), 1,
		ROW("\xc3\xa9t\xc3\xa9 \xf0\x9f\x8e\xac", 1, NONE, NONE, NULL)),
	DONE("job names: an escaped NUL ends the C string", ONE_ROW("\"jobName\":\"ab\\u0000cd\"," ROW_MIN), 1,
		ROW("ab", 1, NONE, NONE, NULL)),

	/* wrong shapes: the message names the member */
	BAD("status missing", "{\"statistics\":[]}", DEADLINE_BAD_SHAPE, "missing member \"status\""),
	BAD("status null", "{\"status\":null}", DEADLINE_BAD_SHAPE, "missing member \"status\""),
	BAD("status a number", "{\"status\":5}", DEADLINE_BAD_SHAPE, "status: expected a string, got a number"),
	BAD("statusMessage an object", "{\"status\":\"FAILED\",\"statusMessage\":{}}", DEADLINE_BAD_SHAPE,
		"statusMessage: expected a string, got an object"),
	BAD("nextToken a number", "{\"status\":\"COMPLETED\",\"nextToken\":1}", DEADLINE_BAD_SHAPE,
		"nextToken: expected a string"),
	BAD("statistics an object", "{\"status\":\"COMPLETED\",\"statistics\":{}}", DEADLINE_BAD_SHAPE,
		"statistics: expected an array, got an object"),
	BAD("a row is a string", GET("\"row\""), DEADLINE_BAD_SHAPE, "statistics[0]: expected an object, got a string"),
	BAD("a row is null", GET("null"), DEADLINE_BAD_SHAPE, "statistics[0]: expected an object, got null"),
	BAD("count missing", GET("{\"costInUsd\":{},\"runtimeInSeconds\":{}}"), DEADLINE_BAD_SHAPE,
		"statistics[0]: missing member \"count\""),
	BAD("costInUsd missing in the second row", GET("{" ROW_MIN "},{\"count\":1,\"runtimeInSeconds\":{}}"),
		DEADLINE_BAD_SHAPE, "statistics[1]: missing member \"costInUsd\""),
	BAD("runtimeInSeconds null", ONE_ROW("\"count\":1,\"costInUsd\":{},\"runtimeInSeconds\":null"),
		DEADLINE_BAD_SHAPE, "missing member \"runtimeInSeconds\""),
	BAD("count a string", ONE_ROW("\"count\":\"3\",\"costInUsd\":{},\"runtimeInSeconds\":{}"), DEADLINE_BAD_SHAPE,
		"statistics[0].count: expected an integer, got a string"),
	BAD("count with a fraction", ONE_ROW("\"count\":1.5,\"costInUsd\":{},\"runtimeInSeconds\":{}"),
		DEADLINE_BAD_SHAPE, "statistics[0].count: expected an integer, got 1.5"),
	BAD("count with a fraction in an exponent", ONE_ROW("\"count\":15e-1,\"costInUsd\":{},\"runtimeInSeconds\":{}"),
		DEADLINE_BAD_SHAPE, "count: expected an integer"),
	BAD("count with a huge exponent", ONE_ROW("\"count\":1e300,\"costInUsd\":{},\"runtimeInSeconds\":{}"),
		DEADLINE_BAD_SHAPE, "count: expected an integer"),
	BAD("count negative", ONE_ROW("\"count\":-1,\"costInUsd\":{},\"runtimeInSeconds\":{}"), DEADLINE_BAD_SHAPE,
		"count: expected a non-negative integer, got -1"),
	BAD("count too big", ONE_ROW("\"count\":9223372036854775808,\"costInUsd\":{},\"runtimeInSeconds\":{}"),
		DEADLINE_BAD_SHAPE, "count: integer out of range"),
	BAD("count a boolean", ONE_ROW("\"count\":true,\"costInUsd\":{},\"runtimeInSeconds\":{}"), DEADLINE_BAD_SHAPE,
		"count: expected an integer, got a boolean"),
	BAD("costInUsd an array", ONE_ROW("\"count\":1,\"costInUsd\":[],\"runtimeInSeconds\":{}"), DEADLINE_BAD_SHAPE,
		"statistics[0].costInUsd: expected an object, got an array"),
	BAD("a sum as a string", ONE_ROW("\"count\":1,\"costInUsd\":{\"sum\":\"1.0\"},\"runtimeInSeconds\":{}"),
		DEADLINE_BAD_SHAPE, "statistics[0].costInUsd.sum: expected a number, got a string"),
	BAD("a runtime avg as a boolean",
		GET("{" ROW_MIN "},{\"count\":1,\"costInUsd\":{},\"runtimeInSeconds\":{\"avg\":false}}"),
		DEADLINE_BAD_SHAPE, "statistics[1].runtimeInSeconds.avg: expected a number, got a boolean"),
	BAD("a double out of range", ONE_ROW("\"count\":1,\"costInUsd\":{\"max\":1e400},\"runtimeInSeconds\":{}"),
		DEADLINE_BAD_SHAPE, "costInUsd.max: number out of range: 1e400"),
	BAD("a negative double out of range",
		ONE_ROW("\"count\":1,\"costInUsd\":{},\"runtimeInSeconds\":{\"min\":-2e308}"), DEADLINE_BAD_SHAPE,
		"runtimeInSeconds.min: number out of range"),
	BAD("jobName a number", ONE_ROW("\"jobName\":5," ROW_MIN), DEADLINE_BAD_SHAPE,
		"statistics[0].jobName: expected a string, got a number"),
	BAD("queueId a boolean", ONE_ROW("\"queueId\":true," ROW_MIN), DEADLINE_BAD_SHAPE,
		"statistics[0].queueId: expected a string, got a boolean"),
	BAD("licenseProduct an array", ONE_ROW("\"licenseProduct\":[]," ROW_MIN), DEADLINE_BAD_SHAPE,
		"statistics[0].licenseProduct: expected a string, got an array"),
	BAD("a member given twice", ONE_ROW("\"count\":1,\"count\":2,\"costInUsd\":{},\"runtimeInSeconds\":{}"),
		DEADLINE_BAD_SHAPE, "statistics[0].count: member given twice"),
	BAD("status given twice", "{\"status\":\"IN_PROGRESS\",\"status\":\"COMPLETED\"}", DEADLINE_BAD_SHAPE,
		"status: member given twice"),
	BAD("top level an array", "[{\"status\":\"COMPLETED\"}]", DEADLINE_BAD_SHAPE,
		"expected an object, got an array"),
	BAD("top level null", "null", DEADLINE_BAD_SHAPE, "expected an object, got null"),
	BAD("top level a string", "\"COMPLETED\"", DEADLINE_BAD_SHAPE, "expected an object, got a string"),

	/* not JSON */
	BAD("empty body", "", DEADLINE_BAD_JSON, "invalid JSON"),
	BAD("whitespace only", " \n\t ", DEADLINE_BAD_JSON, "invalid JSON"),
	BAD("truncated in a string", "{\"status\":\"COMPL", DEADLINE_BAD_JSON, "invalid JSON"),
	BAD("truncated in the statistics",
		"{\"status\":\"COMPLETED\",\"statistics\":[{\"count\":1,\"costInUsd\":{\"sum\":1", DEADLINE_BAD_JSON,
		"invalid JSON"),
	BAD("truncated in a number", "{\"status\":\"COMPLETED\",\"statistics\":[{\"count\":12", DEADLINE_BAD_JSON,
		"invalid JSON"),
	BAD("HTML", "<html><body><h1>502 Bad Gateway</h1></body></html>", DEADLINE_BAD_JSON, "invalid JSON"),
	BAD("garbage bytes", "\x01\x02\xff\xfe", DEADLINE_BAD_JSON, "invalid JSON"),
	BAD("trailing garbage", "{\"status\":\"COMPLETED\"} x", DEADLINE_BAD_JSON, "invalid JSON"),
	BAD("two documents", "{\"status\":\"COMPLETED\"}{\"status\":\"FAILED\"}", DEADLINE_BAD_JSON, "invalid JSON"),
	BAD("a comment", "{\"status\":\"COMPLETED\" /* c */}", DEADLINE_BAD_JSON, "invalid JSON"),
	BAD("single quotes", "{'status':'COMPLETED'}", DEADLINE_BAD_JSON, "invalid JSON"),
	BAD("trailing comma", "{\"status\":\"COMPLETED\",}", DEADLINE_BAD_JSON, "invalid JSON"),
	BAD("NaN", ONE_ROW("\"count\":1,\"costInUsd\":{\"sum\":NaN},\"runtimeInSeconds\":{}"), DEADLINE_BAD_JSON,
		"invalid JSON"),
	BAD("invalid UTF-8 in a job name", ONE_ROW("\"jobName\":\"\xc3\x28\"," ROW_MIN), DEADLINE_BAD_JSON,
		"invalid JSON"),
	BAD("a raw newline in a string", ONE_ROW("\"jobName\":\"a\nb\"," ROW_MIN), DEADLINE_BAD_JSON, "invalid JSON"),
	BAD("a bad escape", ONE_ROW("\"jobName\":\"\\x41\"," ROW_MIN), DEADLINE_BAD_JSON, "invalid JSON"),
	BAD("a short \\u escape", ONE_ROW("\"jobName\":\"\\u12\"," ROW_MIN), DEADLINE_BAD_JSON, "invalid JSON"),
};

static void check_stats(
	const char *name, const char *what, const struct usage_stats *got, const struct usage_stats *exp)
{
	CHECK_MSG(got->present == exp->present, "%s: %s present %#x, expected %#x", name, what, got->present,
		exp->present);
	CHECK_MSG(got->sum == exp->sum, "%s: %s sum %.17g, expected %.17g", name, what, got->sum, exp->sum);
	CHECK_MSG(got->min == exp->min, "%s: %s min %.17g, expected %.17g", name, what, got->min, exp->min);
	CHECK_MSG(got->max == exp->max, "%s: %s max %.17g, expected %.17g", name, what, got->max, exp->max);
	CHECK_MSG(got->avg == exp->avg, "%s: %s avg %.17g, expected %.17g", name, what, got->avg, exp->avg);
}

static void check_opt_str(const char *name, const char *what, const char *got, const char *exp)
{
	if (!exp)
		CHECK_MSG(got == NULL, "%s: %s is \"%s\", expected absent", name, what, got);
	else
		CHECK_MSG(got && strcmp(got, exp) == 0, "%s: %s is \"%s\", expected \"%s\"", name, what,
			got ? got : "(null)", exp);
}

static void check_row(const char *name, const struct usage_row *got, const struct exp_row *exp)
{
	for (int f = 0; f < GROUP_FIELD_COUNT; f++)
		check_opt_str(name, group_field_json_member((enum group_field)f), got->fields[f], exp->fields[f]);
	check_opt_str(name, "jobName", got->job_name, exp->job_name);
	CHECK_MSG(got->count == exp->count, "%s: count %lld, expected %lld", name, (long long)got->count,
		(long long)exp->count);
	check_stats(name, "cost", &got->cost, &exp->cost);
	check_stats(name, "runtime", &got->runtime, &exp->runtime);
}

static void run_get_case(const struct get_case *c)
{
	struct deadline_page page;
	size_t len = strlen(c->json);
	char *body = exact_copy(c->json, len);
	char err[256] = "untouched";
	int rc = deadline_parse_get(body, len, &page, err, sizeof(err));

	CHECK_MSG(rc == c->rc, "%s: rc %d, expected %d (%s)", c->name, rc, c->rc, err);
	if (rc != 0) {
		CHECK_MSG(page.rows == NULL && page.n_rows == 0 && page.status_text == NULL &&
				  page.next_token == NULL && page.status_message == NULL,
			"%s: page not left empty", c->name);
		if (c->err)
			CHECK_MSG(strstr(err, c->err) != NULL, "%s: message \"%s\", expected \"%s\"", c->name, err,
				c->err);
	} else if (c->rc == 0) {
		CHECK_MSG(page.status == c->status, "%s: status %d", c->name, page.status);
		check_opt_str(c->name, "status", page.status_text, c->status_text);
		check_opt_str(c->name, "statusMessage", page.status_message, c->status_message);
		check_opt_str(c->name, "nextToken", page.next_token, c->next_token);
		CHECK_MSG(page.n_rows == c->n_rows, "%s: %zu rows, expected %zu", c->name, page.n_rows, c->n_rows);
		for (size_t i = 0; i < page.n_rows && i < c->n_rows && i < N_ELEMS(c->rows); i++)
			check_row(c->name, &page.rows[i], &c->rows[i]);
	}
	deadline_page_deinit(&page);
	deadline_page_deinit(&page); /* twice is harmless */
	free(body);
}

static void test_get_table(void)
{
	for (size_t i = 0; i < N_ELEMS(get_cases); i++)
		run_get_case(&get_cases[i]);
	CHECK_INT(deadline_parse_get("{}", 2, NULL, NULL, 0), -EINVAL);
}

/* A text built at run time: prefix, n times unit, middle, n times closer, suffix. */
static char *build(
	const char *prefix, const char *unit, size_t n, const char *middle, const char *closer, const char *suffix)
{
	size_t len = strlen(prefix) + n * (strlen(unit) + strlen(closer)) + strlen(middle) + strlen(suffix);
	char *s = malloc(len + 1), *p = s;

	if (!s) {
		perror("malloc");
		exit(1);
	}
	p = stpcpy(p, prefix);
	for (size_t i = 0; i < n; i++)
		p = stpcpy(p, unit);
	p = stpcpy(p, middle);
	for (size_t i = 0; i < n; i++)
		p = stpcpy(p, closer);
	stpcpy(p, suffix);
	return s;
}

static int parse_get_text(const char *text, struct deadline_page *page, char *err, size_t errlen)
{
	size_t len = strlen(text);
	char *body = exact_copy(text, len);
	int rc = deadline_parse_get(body, len, page, err, errlen);

	free(body);
	return rc;
}

static void test_get_limits(void)
{
	struct deadline_page page;
	char err[256];
	char *s;

	/* the top-level object is level 1: an unknown member may nest 63 more, not 64 */
	s = build("{\"status\":\"COMPLETED\",\"deep\":", "[", DEADLINE_JSON_DEPTH_MAX - 1, "", "]", "}");
	CHECK_INT(parse_get_text(s, &page, err, sizeof(err)), 0);
	deadline_page_deinit(&page);
	free(s);
	s = build("{\"status\":\"COMPLETED\",\"deep\":", "[", DEADLINE_JSON_DEPTH_MAX, "", "]", "}");
	CHECK_INT(parse_get_text(s, &page, err, sizeof(err)), DEADLINE_BAD_JSON);
	CHECK(strstr(err, "nested deeper than 64") != NULL);
	free(s);
	s = build("{\"status\":\"COMPLETED\",\"deep\":", "{\"a\":", 100000, "1", "}", "}");
	CHECK_INT(parse_get_text(s, &page, err, sizeof(err)), DEADLINE_BAD_JSON);
	free(s);
	/* deep inside a known member too */
	s = build("{\"status\":\"COMPLETED\",\"statistics\":[{\"x\":", "[", 70, "", "]", "}]}");
	CHECK_INT(parse_get_text(s, &page, err, sizeof(err)), DEADLINE_BAD_JSON);
	free(s);

	/* strings: 64 KiB is fine, one byte more is not, wherever the string is */
	s = build("{\"status\":\"COMPLETED\",\"statusMessage\":\"", "x", DEADLINE_JSON_STRING_MAX, "\"", "", "}");
	CHECK_INT(parse_get_text(s, &page, err, sizeof(err)), 0);
	CHECK_INT(page.status_message ? strlen(page.status_message) : 0, DEADLINE_JSON_STRING_MAX);
	deadline_page_deinit(&page);
	free(s);
	s = build("{\"status\":\"COMPLETED\",\"statusMessage\":\"", "x", DEADLINE_JSON_STRING_MAX + 1, "\"", "", "}");
	CHECK_INT(parse_get_text(s, &page, err, sizeof(err)), DEADLINE_BAD_JSON);
	CHECK(strstr(err, "string longer than") != NULL);
	free(s);
	s = build("{\"status\":\"COMPLETED\",\"unknown\":\"", "y", DEADLINE_JSON_STRING_MAX + 1, "\"", "", "}");
	CHECK_INT(parse_get_text(s, &page, err, sizeof(err)), DEADLINE_BAD_JSON);
	free(s);
	s = build("{\"status\":\"COMPLETED\",\"", "k", DEADLINE_JSON_STRING_MAX + 1, "\":1", "", "}");
	CHECK_INT(parse_get_text(s, &page, err, sizeof(err)), DEADLINE_BAD_JSON);
	CHECK(strstr(err, "member name longer than") != NULL);
	free(s);
	/* a long number within the cap is read fully (no fixed buffer), and a long integer is out of range */
	s = build("{\"status\":\"COMPLETED\",\"statistics\":[{\"count\":1,\"costInUsd\":{\"sum\":0.", "0", 200, "5}",
		"", ",\"runtimeInSeconds\":{}}]}");
	CHECK_INT(parse_get_text(s, &page, err, sizeof(err)), 0);
	CHECK(page.n_rows == 1 && page.rows[0].cost.sum == 5e-201);
	deadline_page_deinit(&page);
	free(s);
	s = build("{\"status\":\"COMPLETED\",\"statistics\":[{\"count\":", "9", 300, "", "",
		",\"costInUsd\":{},\"runtimeInSeconds\":{}}]}");
	CHECK_INT(parse_get_text(s, &page, err, sizeof(err)), DEADLINE_BAD_SHAPE);
	CHECK(strstr(err, "integer out of range: 99999999") != NULL);
	free(s);

	/* rows: 10000 in a page, not one more */
	s = build("{\"status\":\"COMPLETED\",\"statistics\":[", "{" ROW_MIN "},", DEADLINE_ROWS_MAX - 1,
		"{" ROW_MIN "}", "", "]}");
	CHECK_INT(parse_get_text(s, &page, err, sizeof(err)), 0);
	CHECK_INT(page.n_rows, DEADLINE_ROWS_MAX);
	CHECK(page.n_rows == DEADLINE_ROWS_MAX && page.rows[DEADLINE_ROWS_MAX - 1].count == 1);
	deadline_page_deinit(&page);
	free(s);
	s = build("{\"status\":\"COMPLETED\",\"statistics\":[", "{" ROW_MIN "},", DEADLINE_ROWS_MAX, "{" ROW_MIN "}",
		"", "]}");
	CHECK_INT(parse_get_text(s, &page, err, sizeof(err)), DEADLINE_BAD_JSON);
	CHECK(strstr(err, "statistics[10000]: more than 10000 statistics rows") != NULL);
	CHECK(page.rows == NULL && page.n_rows == 0);
	free(s);

	/* a 128-character job name with multi-byte characters */
	s = build(
		"{\"status\":\"COMPLETED\",\"statistics\":[{\"jobName\":\"", "\xc3\xa9", 128, "\",", "", ROW_MIN "}]}");
	CHECK_INT(parse_get_text(s, &page, err, sizeof(err)), 0);
	CHECK(page.n_rows == 1 && page.rows[0].job_name && strlen(page.rows[0].job_name) == 256);
	deadline_page_deinit(&page);
	free(s);

	/* err may be NULL, and a tiny err buffer is truncated, never overrun */
	CHECK_INT(parse_get_text("{\"status\":5}", &page, NULL, 0), DEADLINE_BAD_SHAPE);
	CHECK_INT(parse_get_text("{\"status\":5}", &page, err, 4), DEADLINE_BAD_SHAPE);
	CHECK_STR(err, "sta");
	CHECK_INT(parse_get_text("nope", &page, err, 1), DEADLINE_BAD_JSON);
	CHECK_STR(err, "");
}

static void test_get_fixture(void)
{
	struct deadline_page page;
	char err[256];
	size_t len = 0;
	char *text = read_fixture("get-completed.json", &len);
	char *body;

	CHECK(text != NULL);
	if (!text)
		return;
	body = exact_copy(text, len);
	CHECK_INT(deadline_parse_get(body, len, &page, err, sizeof(err)), 0);
	CHECK(page.status == DEADLINE_STATUS_COMPLETED);
	CHECK_STR(page.status_message, "Aggregation completed");
	CHECK_STR(page.next_token, "AAAAAQ+Zmlyc3QvcGFnZQ==");
	CHECK_INT(page.n_rows, 3);
	if (page.n_rows == 3) {
		const struct exp_row rows[3] = {
			ROW(NULL, 3, STATS(4.5, 0.25, 2.5, 1.5, STAT_ALL),
				STATS(4500.75, 60, 3600.5, 1500.25, STAT_ALL), Q1, [GROUP_USAGE_TYPE] = "COMPUTE"),
			ROW(NULL, 0, STATS(0, 0, 0, 0, STAT_ALL), STATS(0, 0, 0, 0, STAT_ALL),
				Q1, [GROUP_USAGE_TYPE] = "LICENSE"),
			ROW(NULL, 12, STATS(120, 1e-3, 120, 10, STAT_ALL), STATS(7200, 1, 7200, 600, STAT_ALL),
				Q2, [GROUP_USAGE_TYPE] = "GPU_BURST"),
		};
		for (size_t i = 0; i < 3; i++)
			check_row("get-completed.json", &page.rows[i], &rows[i]);
	}
	deadline_page_deinit(&page);

	/* every proper prefix of a valid document is truncated JSON, never a success or a crash */
	for (size_t cut = 0; cut < len; cut++) {
		char *part = exact_copy(text, cut);
		int rc = deadline_parse_get(part, cut, &page, err, sizeof(err));
		/* a prefix that only lacks trailing whitespace is still the whole document */
		if (strspn(text + cut, " \n\t\r") == len - cut)
			CHECK_MSG(rc == 0, "prefix %zu: rc %d", cut, rc);
		else
			CHECK_MSG(rc == DEADLINE_BAD_JSON, "prefix %zu: rc %d (%s)", cut, rc, err);
		deadline_page_deinit(&page);
		free(part);
	}
	free(body);
	free(text);
}

/* ---- StartSessionsStatisticsAggregation ---- */

static const struct start_parse_case {
	const char *json;
	int rc;
	const char *id, *err;
} start_parse_cases[] = {
	{"{\"aggregationId\":\"0123456789abcdef0123456789abcdef\"}", 0, "0123456789abcdef0123456789abcdef", NULL},
	{"{\"extra\":{\"a\":[1]},\"aggregationId\":\"abc\",\"more\":null}", 0, "abc", NULL},
	{"{}", DEADLINE_BAD_SHAPE, NULL, "missing member \"aggregationId\""},
	{"{\"aggregationId\":null}", DEADLINE_BAD_SHAPE, NULL, "missing member \"aggregationId\""},
	{"{\"aggregationId\":42}", DEADLINE_BAD_SHAPE, NULL, "aggregationId: expected a string, got a number"},
	{"{\"aggregationId\":\"\"}", DEADLINE_BAD_SHAPE, NULL, "aggregationId: empty aggregationId"},
	{"{\"aggregationId\":\"a\",\"aggregationId\":\"b\"}", DEADLINE_BAD_SHAPE, NULL, "member given twice"},
	{"[\"abc\"]", DEADLINE_BAD_SHAPE, NULL, "expected an object"},
	{"{\"aggregationId\":\"abc\"", DEADLINE_BAD_JSON, NULL, "invalid JSON"},
	{"", DEADLINE_BAD_JSON, NULL, "invalid JSON"},
	{"Service Unavailable", DEADLINE_BAD_JSON, NULL, "invalid JSON"},
};

static void test_start_parse(void)
{
	for (size_t i = 0; i < N_ELEMS(start_parse_cases); i++) {
		const struct start_parse_case *c = &start_parse_cases[i];
		size_t len = strlen(c->json);
		char *body = exact_copy(c->json, len);
		char err[256] = "";
		char *id = (char *)"sentinel";
		int rc = deadline_parse_start(body, len, &id, err, sizeof(err));

		CHECK_MSG(rc == c->rc, "start case %zu: rc %d (%s)", i, rc, err);
		if (c->rc == 0)
			CHECK_STR(id, c->id);
		else
			CHECK_MSG(id == NULL, "start case %zu: id set on failure", i);
		if (c->err)
			CHECK_MSG(strstr(err, c->err) != NULL, "start case %zu: \"%s\"", i, err);
		free(id);
		free(body);
	}
	CHECK_INT(deadline_parse_start("{}", 2, NULL, NULL, 0), -EINVAL);
}

/* ---- ListQueues / ListFleets ---- */

static const struct list_case {
	enum resource_kind kind;
	const char *json;
	int rc;
	size_t n; /* ids appended */
	const char *ids[3];
	const char *next_token;
	const char *err;
} list_cases[] = {
	{RESOURCE_QUEUES,
		"{\"queues\":[{\"queueId\":\"" Q1 "\",\"displayName\":\"a\"},{\"status\":\"IDLE\",\"queueId\":\"" Q2
		"\"}],\"nextToken\":\"n+/=\"}",
		0, 2, {Q1, Q2}, "n+/=", NULL},
	{RESOURCE_QUEUES, "{\"queues\":[],\"nextToken\":null}", 0, 0, {NULL}, NULL, NULL},
	{RESOURCE_QUEUES, "{\"nextToken\":\"\",\"queues\":[{\"queueId\":\"" Q1 "\"}],\"x\":[{}]}", 0, 1, {Q1}, NULL,
		NULL},
	{RESOURCE_FLEETS, "{\"fleets\":[{\"fleetId\":\"" F1 "\",\"configuration\":{\"a\":{\"b\":[1]}}}]}", 0, 1, {F1},
		NULL, NULL},
	{RESOURCE_FLEETS, "{\"queues\":[{\"queueId\":\"" Q1 "\"}]}", DEADLINE_BAD_SHAPE, 0, {NULL}, NULL,
		"missing member \"fleets\""},
	{RESOURCE_QUEUES, "{\"queues\":null}", DEADLINE_BAD_SHAPE, 0, {NULL}, NULL, "missing member \"queues\""},
	{RESOURCE_QUEUES, "{\"queues\":{}}", DEADLINE_BAD_SHAPE, 0, {NULL}, NULL, "queues: expected an array"},
	{RESOURCE_QUEUES, "{\"queues\":[{\"displayName\":\"x\"}]}", DEADLINE_BAD_SHAPE, 0, {NULL}, NULL,
		"queues[0]: missing member \"queueId\""},
	{RESOURCE_QUEUES, "{\"queues\":[{\"queueId\":\"" Q1 "\"},{\"queueId\":7}]}", DEADLINE_BAD_SHAPE, 0, {NULL},
		NULL, "queues[1].queueId: expected a string"},
	{RESOURCE_QUEUES, "{\"queues\":[{\"queueId\":\"" Q1 "\"},{\"queueId\":\"queue-XYZ\"}]}", DEADLINE_BAD_SHAPE, 0,
		{NULL}, NULL, "queues[1].queueId: not a queue id"},
	{RESOURCE_QUEUES, "{\"queues\":[{\"queueId\":\"" F1 "\"}]}", DEADLINE_BAD_SHAPE, 0, {NULL}, NULL,
		"not a queue id"},
	{RESOURCE_FLEETS, "{\"fleets\":[{\"fleetId\":\"fleet-00112233445566778899AABBCCDDEEFF\"}]}", DEADLINE_BAD_SHAPE,
		0, {NULL}, NULL, "not a fleet id"},
	{RESOURCE_QUEUES, "{\"queues\":[{\"queueId\":\"" Q1 "\"}", DEADLINE_BAD_JSON, 0, {NULL}, NULL, "invalid JSON"},
	{RESOURCE_QUEUES, "<html>", DEADLINE_BAD_JSON, 0, {NULL}, NULL, "invalid JSON"},
};

static void test_list(void)
{
	for (size_t i = 0; i < N_ELEMS(list_cases); i++) {
		const struct list_case *c = &list_cases[i];
		size_t len = strlen(c->json), n = 1;
		char *body = exact_copy(c->json, len);
		char **ids = malloc(sizeof(*ids));
		char *token = (char *)"sentinel";
		char err[256] = "";
		int rc;

		if (!ids || !(ids[0] = strdup("queue-existing"))) {
			perror("malloc");
			exit(1);
		}
		rc = deadline_parse_list(body, len, c->kind, &ids, &n, &token, err, sizeof(err));
		CHECK_MSG(rc == c->rc, "list case %zu: rc %d (%s)", i, rc, err);
		CHECK_MSG(n == 1 + c->n, "list case %zu: n %zu", i, n);
		CHECK_STR(ids[0], "queue-existing");
		for (size_t k = 0; k < c->n && k + 1 < n; k++)
			CHECK_STR(ids[k + 1], c->ids[k]);
		check_opt_str("list", "nextToken", token, c->next_token);
		if (c->err)
			CHECK_MSG(strstr(err, c->err) != NULL, "list case %zu: \"%s\"", i, err);
		for (size_t k = 0; k < n; k++)
			free(ids[k]);
		free(ids);
		free(token);
		free(body);
	}
}

static void test_list_fixtures(void)
{
	static const struct {
		const char *file;
		enum resource_kind kind;
		size_t n;
		const char *first, *next_token;
	} fixtures[] = {
		{"list-queues.json", RESOURCE_QUEUES, 2, Q1, "eyJwYWdlIjoyfQ+/=="},
		{"list-fleets.json", RESOURCE_FLEETS, 1, F1, NULL},
	};

	for (size_t i = 0; i < N_ELEMS(fixtures); i++) {
		size_t len = 0, n = 0;
		char *text = read_fixture(fixtures[i].file, &len);
		char **ids = NULL, *token = NULL, err[256] = "";

		CHECK(text != NULL);
		if (!text)
			continue;
		CHECK_INT(deadline_parse_list(text, len, fixtures[i].kind, &ids, &n, &token, err, sizeof(err)), 0);
		CHECK_INT(n, fixtures[i].n);
		if (n)
			CHECK_STR(ids[0], fixtures[i].first);
		check_opt_str(fixtures[i].file, "nextToken", token, fixtures[i].next_token);
		for (size_t k = 0; k < n; k++)
			free(ids[k]);
		free(ids);
		free(token);
		free(text);
	}
}

static void test_list_limit(void)
{
	char *s = build("{\"queues\":[", "{\"queueId\":\"" Q1 "\"},", DEADLINE_LIST_IDS_MAX, "{\"queueId\":\"" Q1 "\"}",
		"", "]}");
	char **ids = NULL, *token = NULL, err[256];
	size_t n = 0;

	CHECK_INT(deadline_parse_list(s, strlen(s), RESOURCE_QUEUES, &ids, &n, &token, err, sizeof(err)),
		DEADLINE_BAD_JSON);
	CHECK(n == 0 && ids == NULL && token == NULL);
	free(s);
	CHECK_INT(deadline_parse_list("{}", 2, RESOURCE_QUEUES, NULL, &n, &token, NULL, 0), -EINVAL);
	CHECK_INT(deadline_parse_list("{}", 2, (enum resource_kind)5, &ids, &n, &token, NULL, 0), -EINVAL);
}

/* ---- errors ---- */

static const struct error_case {
	const char *header;
	const char *body;
	const char *name, *message;
} error_cases[] = {
	{"ThrottlingException", "{\"message\":\"Rate exceeded\"}", "ThrottlingException", "Rate exceeded"},
	{"ValidationException:http://internal.amazon.com/coral/com.amazonaws.deadline/",
		"{\"message\":\"bad\",\"reason\":\"FIELD_VALIDATION_FAILED\",\"fieldList\":[{\"name\":\"x\","
		"\"message\":\"y\"}]}",
		"ValidationException", "bad"},
	{NULL, "{\"__type\":\"com.amazonaws.deadline#ResourceNotFoundException\",\"message\":\"no farm\"}",
		"ResourceNotFoundException", "no farm"},
	{NULL, "{\"__type\":\"AccessDeniedException\",\"Message\":\"User is not authorized\"}", "AccessDeniedException",
		"User is not authorized"},
	{NULL, "{\"Message\":\"capital\",\"message\":\"lower\"}", NULL, "lower"},
	{NULL, "{\"__type\":\"aws#Name:http://x\"}", "Name", NULL},
	{"  InternalServerErrorException  ", "{\"__type\":\"ignored#Other\"}", "InternalServerErrorException", NULL},
	{"", "{\"__type\":\"x#ThrottlingException\"}", "ThrottlingException", NULL},
	{":", "{\"__type\":\"#\"}", NULL, NULL},
	{"ServiceUnavailable", "<html><body>503 Service Temporarily Unavailable</body></html>", "ServiceUnavailable",
		NULL},
	{NULL, "<html><head><title>502 Bad Gateway</title></head></html>", NULL, NULL},
	{NULL, "{\"message\":\"cut", NULL, NULL},
	{NULL, "{\"message\":5,\"__type\":\"X\"}", NULL, NULL},
	{NULL, "[\"message\"]", NULL, NULL},
	{NULL, "", NULL, NULL},
	{NULL, NULL, NULL, NULL},
	{"ExpiredTokenException", NULL, "ExpiredTokenException", NULL},
};

static void test_errors(void)
{
	for (size_t i = 0; i < N_ELEMS(error_cases); i++) {
		const struct error_case *c = &error_cases[i];
		size_t len = c->body ? strlen(c->body) : 0;
		char *body = c->body ? exact_copy(c->body, len) : NULL;
		char *name = (char *)"sentinel", *message = (char *)"sentinel";

		deadline_parse_error(c->header, body, len, &name, &message);
		check_opt_str("error name", c->header ? c->header : "(no header)", name, c->name);
		check_opt_str("error message", c->body ? c->body : "(no body)", message, c->message);
		free(name);
		free(message);
		free(body);
	}
	/* either output may be unwanted */
	deadline_parse_error("X", "{\"message\":\"m\"}", 15, NULL, NULL);
}

/* Another serialiser may write a whole count as 2.0 or 1e3: the same number, accepted. */
static void test_whole_counts(void)
{
	static const struct {
		const char *text;
		long long count;
	} cases[] = {{"2.0", 2}, {"1e3", 1000}, {"3E0", 3}, {"0.0", 0}, {"4.000", 4}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[256];
		struct deadline_page page = {0};
		char err[256] = "";
		snprintf(body, sizeof(body),
			"{\"status\":\"COMPLETED\",\"statistics\":[{\"count\":%s,\"costInUsd\":{},\"runtimeInSeconds\":"
			"{}}]}",
			cases[i].text);
		int r = deadline_parse_get(body, strlen(body), &page, err, sizeof(err));
		CHECK_MSG(r == 0, "count %s: %d %s", cases[i].text, r, err);
		if (r == 0) {
			CHECK_INT(page.n_rows, 1);
			CHECK_INT(page.rows[0].count, cases[i].count);
		}
		deadline_page_deinit(&page);
	}
}

static void test_status_names(void)
{
	CHECK_STR(deadline_status_name(DEADLINE_STATUS_IN_PROGRESS), "IN_PROGRESS");
	CHECK_STR(deadline_status_name(DEADLINE_STATUS_COMPLETED), "COMPLETED");
	CHECK_STR(deadline_status_name(DEADLINE_STATUS_FAILED), "FAILED");
	CHECK_STR(deadline_status_name(DEADLINE_STATUS_TIMEOUT), "TIMEOUT");
	CHECK_STR(deadline_status_name(DEADLINE_STATUS_UNKNOWN), "UNKNOWN");
	CHECK_STR(deadline_status_name((enum deadline_status)99), "UNKNOWN");
}

/* The guess at nextToken made before parsing: right for well-formed pages, never fooled by row text. */
int main(void)
{
	test_whole_counts();
	test_paths();
	test_queries();
	test_start_body();
	test_get_table();
	test_get_limits();
	test_get_fixture();
	test_start_parse();
	test_list();
	test_list_fixtures();
	test_list_limit();
	test_errors();
	test_status_names();
	TEST_DONE();
}
