/* test-activity_api: the live state's lists (workers, associations, limits, license endpoints): captures, bad pages */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline/activity_api.h"
#include "test.h"

#define FARM "farm-6f8c1e352e310191ae4c45606e57be67"

static char *read_file(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *data;
	long n;

	snprintf(path, sizeof(path), "%s/api/activity/%s", TEST_DATA_DIR, name);
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		CHECK_MSG(0, "cannot read %s", path);
		if (f)
			fclose(f);
		return NULL;
	}
	data = malloc((size_t)n + 1);
	if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
		CHECK_MSG(0, "cannot read %s", path);
		free(data);
		fclose(f);
		return NULL;
	}
	data[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return data;
}

static void test_paths(void)
{
	char *p;

	p = activity_api_workers_path(FARM, "fleet-c8ac407fa7d2164a099ca38a398efb8a");
	CHECK_STR(p, "/2023-10-12/farms/" FARM "/fleets/fleet-c8ac407fa7d2164a099ca38a398efb8a/workers");
	free(p);
	CHECK(activity_api_workers_path(FARM, "") == NULL);
	CHECK(activity_api_workers_path("", "fleet-c8ac407fa7d2164a099ca38a398efb8a") == NULL);
	p = activity_api_associations_path(FARM);
	CHECK_STR(p, "/2023-10-12/farms/" FARM "/queue-fleet-associations");
	free(p);
	p = activity_api_limits_path(FARM);
	CHECK_STR(p, "/2023-10-12/farms/" FARM "/limits");
	free(p);
	p = activity_api_license_endpoints_path();
	CHECK_STR(p, "/2023-10-12/license-endpoints");
	free(p);
}

/* A fleet's workers in two pages of the simulator (step 40), against its truth at that step. */
static void test_workers(void)
{
	static const int64_t truth[8] = {0, 0, 1, 0, 0, 1, 7, 2}; /* CREATED … IDLE */
	struct activity_tally page = {0}, fleet = {0};
	char err[256] = "", *token = NULL, *body;
	size_t len;

	body = read_file("list-workers-1.json", &len);
	CHECK_INT(activity_api_parse_workers(body, len, &page, &token, err, sizeof(err)), 0);
	CHECK(token && strlen(token) == 48);
	CHECK_INT(activity_tally_merge(&fleet, &page, &activity_worker_statuses), 0);
	free(body);
	free(token);
	body = read_file("list-workers-2.json", &len);
	/* the page is replaced, not added to: a page asked again counts once */
	CHECK_INT(activity_api_parse_workers(body, len, &page, &token, err, sizeof(err)), 0);
	CHECK_INT(activity_api_parse_workers(body, len, &page, &token, err, sizeof(err)), 0);
	CHECK(token == NULL);
	CHECK_INT(activity_tally_merge(&fleet, &page, &activity_worker_statuses), 0);
	free(body);
	for (size_t k = 0; k < 8; k++)
		CHECK_MSG(fleet.known[k] == truth[k], "%s: %lld, the truth %lld", activity_worker_statuses.names[k],
			(long long)fleet.known[k], (long long)truth[k]);
	CHECK_INT(fleet.n_other, 0);
	activity_tally_deinit(&fleet);
	activity_tally_deinit(&page);
}

static void test_lists(void)
{
	struct activity *a = NULL;
	struct activity_license_endpoints *l = NULL;
	char err[256] = "", *token = (char *)"x", *body;
	size_t len;
	size_t by_status[4] = {0};

	CHECK_INT(activity_new(&a, FARM, 0), 0);
	body = read_file("list-queue-fleet-associations.json", &len);
	CHECK_INT(activity_api_parse_associations(body, len, a, &token, err, sizeof(err)), 0);
	CHECK(token == NULL);
	free(body);
	CHECK_INT(a->n_associations, 48);
	for (size_t i = 0; i < a->n_associations; i++) {
		int k = activity_enum_find(
			&activity_association_statuses, a->associations[i].status, strlen(a->associations[i].status));
		CHECK(k >= 0);
		if (k >= 0)
			by_status[k]++;
	}
	CHECK(by_status[0] == 39 && by_status[1] == 4 && by_status[2] == 1 && by_status[3] == 4);
	CHECK_STR(a->associations[0].queue_id, "queue-4a5f233600285ae6644e78d8f60e6cd2");
	CHECK_STR(a->associations[0].fleet_id, "fleet-be5a3b2f866d2f23112930040c8f91f1");

	body = read_file("list-limits.json", &len);
	CHECK_INT(activity_api_parse_limits(body, len, a, &token, err, sizeof(err)), 0);
	free(body);
	CHECK_INT(a->n_limits, 4);
	CHECK_STR(a->limits[0].id, "limit-09ba0da88bbb74f72b06637e8f32420d");
	CHECK_STR(a->limits[0].name, "Maya \"batch\" licenses");
	CHECK_STR(a->limits[0].amount_name, "amount.limit.maya");
	CHECK(a->limits[0].current == 10 && a->limits[0].max == 10);
	CHECK_STR(a->limits[1].name, "Nuke \\\\comp\nseats");
	CHECK(a->limits[1].current == 0 && a->limits[1].max == 5);
	CHECK_STR(a->limits[2].name, "Houdini engine \xe2\x80\x93 \xe6\xb8\xb2\xe6\x9f\x93 \xf0\x9f\x8e\xac");
	CHECK(a->limits[2].current == 8 && a->limits[2].max == -1);
	CHECK(a->limits[3].current == 4 && a->limits[3].max == 8);
	activity_free(a);

	CHECK_INT(activity_license_endpoints_new(&l, "us-west-2"), 0);
	body = read_file("list-license-endpoints.json", &len);
	CHECK_INT(activity_api_parse_license_endpoints(body, len, l, &token, err, sizeof(err)), 0);
	free(body);
	CHECK_INT(l->n, 5);
	CHECK_STR(l->items[0].id, "le-799636e86b74499fc6453c471674c3c1");
	CHECK_STR(l->items[0].status, "READY");
	CHECK_STR(l->items[3].status, "DELETE_IN_PROGRESS");
	activity_license_endpoints_free(l);
}

#define LIMIT(id, cur, max) \
	"{\"limitId\":\"" id "\",\"displayName\":\"n\",\"amountRequirementName\":\"a\",\"currentCount\":" cur \
	",\"maxCount\":" max ",\"farmId\":\"" FARM "\"}"
#define L1 "limit-09ba0da88bbb74f72b06637e8f32420d"

static const struct {
	const char *name;
	int which; /* 0 workers, 1 associations, 2 limits, 3 license endpoints */
	const char *body;
	int rc;
	const char *err;
} bad_pages[] = {
	{"workers: not JSON", 0, "{\"workers\":[", DEADLINE_BAD_JSON, ""},
	{"workers: no list", 0, "{\"nextToken\":\"abc\"}", DEADLINE_BAD_SHAPE, "workers"},
	{"a worker without status", 0, "{\"workers\":[{\"workerId\":\"worker-1\"}]}", DEADLINE_BAD_SHAPE, "status"},
	{"a worker without id", 0, "{\"workers\":[{\"status\":\"IDLE\"}]}", DEADLINE_BAD_SHAPE, "workerId"},
	{"a status that is a number", 0, "{\"workers\":[{\"workerId\":\"w\",\"status\":3}]}", DEADLINE_BAD_SHAPE,
		"string"},
	{"an association of a malformed queue", 1,
		"{\"queueFleetAssociations\":[{\"queueId\":\"queue-x\",\"fleetId\":"
		"\"fleet-be5a3b2f866d2f23112930040c8f91f1\",\"status\":\"ACTIVE\"}]}",
		DEADLINE_BAD_SHAPE, "well-formed"},
	{"an association without status", 1,
		"{\"queueFleetAssociations\":[{\"queueId\":\"queue-4a5f233600285ae6644e78d8f60e6cd2\",\"fleetId\":"
		"\"fleet-be5a3b2f866d2f23112930040c8f91f1\"}]}",
		DEADLINE_BAD_SHAPE, "status"},
	{"a limit of maxCount -2", 2, "{\"limits\":[" LIMIT(L1, "1", "-2") "]}", DEADLINE_BAD_SHAPE, "from -1"},
	{"a limit of maxCount 1.5", 2, "{\"limits\":[" LIMIT(L1, "1", "1.5") "]}", DEADLINE_BAD_SHAPE, "from -1"},
	{"a limit of maxCount 2^31", 2, "{\"limits\":[" LIMIT(L1, "1", "2147483648") "]}", DEADLINE_BAD_SHAPE,
		"from -1"},
	{"a limit of currentCount -1", 2, "{\"limits\":[" LIMIT(L1, "-1", "3") "]}", DEADLINE_BAD_SHAPE,
		"non-negative"},
	{"a limit of a malformed id", 2, "{\"limits\":[" LIMIT("limit-1", "1", "3") "]}", DEADLINE_BAD_SHAPE,
		"well-formed"},
	{"a limit without maxCount", 2,
		"{\"limits\":[{\"limitId\":\"" L1 "\",\"displayName\":\"n\",\"amountRequirementName\":\"a\","
		"\"currentCount\":1}]}",
		DEADLINE_BAD_SHAPE, "maxCount"},
	{"an endpoint of a malformed id", 3,
		"{\"licenseEndpoints\":[{\"licenseEndpointId\":\"le-1\",\"status\":\"READY\"}]}", DEADLINE_BAD_SHAPE,
		"well-formed"},
	{"an endpoint without status", 3,
		"{\"licenseEndpoints\":[{\"licenseEndpointId\":\"le-799636e86b74499fc6453c471674c3c1\"}]}",
		DEADLINE_BAD_SHAPE, "status"},
};

/* A bad page leaves what earlier pages gave exactly as it was. */
static void test_bad_pages(void)
{
	for (size_t i = 0; i < sizeof(bad_pages) / sizeof(bad_pages[0]); i++) {
		struct activity *a = NULL;
		struct activity_license_endpoints *l = NULL;
		struct activity_tally page = {0};
		char err[256] = "", *token = NULL, *good;
		const char *body = bad_pages[i].body;
		size_t len = strlen(body), n_before = 0, n_after = 0, good_len;
		int rc = -1;

		CHECK_INT(activity_new(&a, FARM, 0), 0);
		CHECK_INT(activity_license_endpoints_new(&l, "us-west-2"), 0);
		switch (bad_pages[i].which) {
		case 0:
			CHECK_INT(activity_tally_add(&page, &activity_worker_statuses, "IDLE", 4, 1), 0);
			rc = activity_api_parse_workers(body, len, &page, &token, err, sizeof(err));
			CHECK_MSG(page.known[7] == 0 && !page.other, "%s: the page is left empty", bad_pages[i].name);
			break;
		case 1:
			good = read_file("list-queue-fleet-associations.json", &good_len);
			CHECK_INT(activity_api_parse_associations(good, good_len, a, &token, err, sizeof(err)), 0);
			free(good);
			n_before = a->n_associations;
			rc = activity_api_parse_associations(body, len, a, &token, err, sizeof(err));
			n_after = a->n_associations;
			break;
		case 2:
			good = read_file("list-limits.json", &good_len);
			CHECK_INT(activity_api_parse_limits(good, good_len, a, &token, err, sizeof(err)), 0);
			free(good);
			n_before = a->n_limits;
			rc = activity_api_parse_limits(body, len, a, &token, err, sizeof(err));
			n_after = a->n_limits;
			break;
		case 3:
			good = read_file("list-license-endpoints.json", &good_len);
			CHECK_INT(activity_api_parse_license_endpoints(good, good_len, l, &token, err, sizeof(err)), 0);
			free(good);
			n_before = l->n;
			rc = activity_api_parse_license_endpoints(body, len, l, &token, err, sizeof(err));
			n_after = l->n;
			break;
		}
		CHECK_MSG(rc == bad_pages[i].rc, "%s: got %d (%s)", bad_pages[i].name, rc, err);
		CHECK_MSG(strstr(err, bad_pages[i].err) != NULL, "%s: \"%s\"", bad_pages[i].name, err);
		CHECK_MSG(n_before == n_after, "%s: %zu items before, %zu after", bad_pages[i].name, n_before, n_after);
		CHECK(token == NULL);
		activity_tally_deinit(&page);
		activity_free(a);
		activity_license_endpoints_free(l);
	}
}

/* More unknown worker statuses than a tally keeps: a bad page, not a crash or an unbounded list. */
static void test_unknown_statuses(void)
{
	struct activity_tally page = {0};
	char body[4096], err[256], *token = NULL;
	int n = snprintf(body, sizeof(body), "{\"workers\":[");

	for (int k = 0; k <= ACTIVITY_OTHER_MAX; k++)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "%s{\"workerId\":\"w\",\"status\":\"NEW_%d\"}",
			k ? "," : "", k);
	snprintf(body + n, sizeof(body) - (size_t)n, "]}");
	CHECK_INT(activity_api_parse_workers(body, strlen(body), &page, &token, err, sizeof(err)), DEADLINE_BAD_SHAPE);
	CHECK(strstr(err, "too many unknown statuses") != NULL);
	/* one fewer is fine: each its own series */
	strcpy(strstr(body, ",{\"workerId\":\"w\",\"status\":\"NEW_16\"}"), "]}");
	CHECK_INT(activity_api_parse_workers(body, strlen(body), &page, &token, err, sizeof(err)), 0);
	CHECK_INT(page.n_other, ACTIVITY_OTHER_MAX);
	activity_tally_deinit(&page);
}

/* At most ACTIVITY_ITEMS_MAX of each list: one more is a bad answer, and the model keeps what it had. */
static void test_items_max(void)
{
	static const char page[] = "{\"limits\":[" LIMIT(L1, "1", "3") "]}";
	struct activity *a = NULL;
	char err[256] = "", *token = NULL;

	CHECK_INT(activity_new(&a, FARM, 0), 0);
	for (size_t i = 0; i < ACTIVITY_ITEMS_MAX - 1; i++)
		if (!activity_add_limit(a))
			break;
	CHECK_INT(activity_api_parse_limits(page, strlen(page), a, &token, err, sizeof(err)), 0);
	CHECK_INT(a->n_limits, ACTIVITY_ITEMS_MAX);
	CHECK_INT(activity_api_parse_limits(page, strlen(page), a, &token, err, sizeof(err)), DEADLINE_BAD_JSON);
	CHECK(strstr(err, "too many items") != NULL);
	CHECK_INT(a->n_limits, ACTIVITY_ITEMS_MAX);
	CHECK(activity_add_association(a) != NULL);
	for (size_t i = 0; i < ACTIVITY_ITEMS_MAX; i++)
		if (activity_add_queue(a, "queue-4a5f233600285ae6644e78d8f60e6cd2") != 0)
			break;
	CHECK_INT(a->n_queues, ACTIVITY_ITEMS_MAX);
	CHECK_INT(activity_add_queue(a, "queue-4a5f233600285ae6644e78d8f60e6cd2"), ACTIVITY_TOO_MANY);
	for (size_t i = 0; i <= ACTIVITY_ITEMS_MAX; i++)
		if (!activity_add_fleet(a, "fleet-be5a3b2f866d2f23112930040c8f91f1"))
			break;
	CHECK_INT(a->n_fleets, ACTIVITY_ITEMS_MAX);
	activity_free(a);
}

int main(void)
{
	test_paths();
	test_workers();
	test_lists();
	test_bad_pages();
	test_unknown_statuses();
	test_items_max();
	TEST_DONE();
}
