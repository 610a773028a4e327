/* fuzz-activity: the live state's parsers (SearchJobs, ListWorkers, the lists) on arbitrary bytes, what they give
 * counted into a farm's model and rendered: the exposition must stay valid, each series once */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline/activity_api.h"
#include "deadline/search_jobs.h"
#include "metrics/activity_render.h"
#include "util/buf.h"

#include "expfmt_check.h"
#include "fuzz.h"

#define FARM "farm-6f8c1e352e310191ae4c45606e57be67"

/* The queues of the corpus' answers (tests/data/api/activity): jobs of others are a bad answer. */
static const char *const queues[] = {
	"queue-0c252b21bd7f97033714808e055a0277",
	"queue-d6a28bce76748f5bf26cfb1c43c4238c",
	"queue-eb5955bf0771e36763aa3b28aeee5e2c",
};

static void check_result(int r, const char *err, size_t errlen)
{
	FUZZ_ASSERT(r == 0 || r == DEADLINE_BAD_JSON || r == DEADLINE_BAD_SHAPE || r == -ENOMEM);
	FUZZ_ASSERT(memchr(err, '\0', errlen) != NULL);
	if (r == DEADLINE_BAD_JSON || r == DEADLINE_BAD_SHAPE)
		FUZZ_ASSERT(err[0] != '\0');
}

static int add_job(void *ctx, struct activity_job *j)
{
	int r = activity_add_job(ctx, j);

	FUZZ_ASSERT(r == 0 || r == ACTIVITY_UNKNOWN_QUEUE || r == ACTIVITY_TOO_MANY || r == -ENOMEM);
	return r;
}

/* The section of v (or of l) joined with its family headers, strictly checked. */
static void check_rendered(const struct activity_view *v, const struct activity_license_endpoints *l)
{
	struct metrics_section *sec = NULL;
	struct buf text = {0};
	char why[256];

	if (activity_section_new(&sec, v, l) < 0)
		return;
	for (size_t f = 0; f < activity_kind.n_families; f++) {
		const struct metrics_part *p = &sec->part[f];
		const struct metrics_segment *h = p->n_seg ? metrics_kind_header(&activity_kind, f) : NULL;

		if (h)
			buf_append(&text, h->text.data, h->text.len);
		for (size_t k = 0; k < p->n_seg; k++)
			buf_append(&text, p->seg[k]->text.data, p->seg[k]->text.len);
	}
	if (text.len && expfmt_check(text.data, text.len, why, sizeof(why)) != 0) {
		fprintf(stderr, "%s\n", why);
		FUZZ_ASSERT(!"the live state's section is valid exposition text");
	}
	buf_deinit(&text);
	metrics_section_unref(sec);
}

/* One SearchJobs answer taken into a farm of the three queues, as a round takes it, then rendered. */
static void fuzz_search(const char *body, size_t len)
{
	struct search_jobs_page page = {0};
	struct search_jobs_read read;
	enum search_jobs_step step;
	struct activity *a = NULL;
	char err[256];
	int r;

	memset(err, 'x', sizeof(err));
	r = search_jobs_parse(body, len, &page, err, sizeof(err));
	check_result(r, err, sizeof(err));
	if (r != 0) {
		FUZZ_ASSERT(page.n_jobs == 0 && page.jobs == NULL);
		return;
	}
	FUZZ_ASSERT(page.n_jobs <= SEARCH_JOBS_PAGE_MAX);
	if (activity_new(&a, FARM, 4) < 0 || search_jobs_read_init(&read, queues, 3, &activity_active_statuses) < 0)
		abort();
	for (size_t i = 0; i < 3; i++)
		if (activity_add_queue(a, queues[i]) != 0)
			abort();
	activity_queues_sort(a);
	r = search_jobs_take(&read, &page, add_job, a, &step);
	FUZZ_ASSERT(page.n_jobs == 0 && page.jobs == NULL);
	FUZZ_ASSERT(read.repeats + read.n_seen + (read.seen_zero ? 1 : 0) >= read.repeats);
	activity_jobs_finish(a);
	FUZZ_ASSERT(a->n_jobs <= 4);
	if (r == 0) {
		a->parts = ACTIVITY_PARTS;
		const struct activity_view v = {.farm_id = FARM, .a = a, .up = true, .last_success = 1};
		check_rendered(&v, NULL);
	}
	search_jobs_read_deinit(&read);
	activity_free(a);
}

/* A page of each list into a farm (and a region), rendered when it parsed. */
static void fuzz_lists(const char *body, size_t len)
{
	struct activity_license_endpoints *l = NULL;
	struct activity_tally tally = {0};
	struct activity *a = NULL;
	char err[256], *token = NULL;
	int r;

	if (activity_new(&a, FARM, 0) < 0 || activity_license_endpoints_new(&l, "us-west-2") < 0)
		abort();
	r = activity_api_parse_workers(body, len, &tally, &token, err, sizeof(err));
	check_result(r, err, sizeof(err));
	FUZZ_ASSERT(r == 0 || (token == NULL && tally.n_other == 0));
	free(token);
	struct activity_fleet *f = activity_add_fleet(a, "fleet-c8ac407fa7d2164a099ca38a398efb8a");
	if (!f || activity_tally_merge(&f->workers, &tally, &activity_worker_statuses) < 0)
		abort();
	activity_tally_deinit(&tally);
	r = activity_api_parse_associations(body, len, a, &token, err, sizeof(err));
	check_result(r, err, sizeof(err));
	free(token);
	r = activity_api_parse_limits(body, len, a, &token, err, sizeof(err));
	check_result(r, err, sizeof(err));
	free(token);
	activity_lists_sort(a);
	for (size_t i = 0; i < a->n_limits; i++)
		FUZZ_ASSERT(a->limits[i].max >= -1 && a->limits[i].current >= 0);
	r = activity_api_parse_license_endpoints(body, len, l, &token, err, sizeof(err));
	check_result(r, err, sizeof(err));
	free(token);
	activity_license_endpoints_sort(l);
	a->parts = ACTIVITY_WORKERS | ACTIVITY_ASSOCIATIONS | ACTIVITY_LIMITS;
	const struct activity_view v = {.farm_id = FARM, .a = a};
	check_rendered(&v, NULL);
	check_rendered(NULL, l);
	activity_license_endpoints_free(l);
	activity_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, not terminated: a read past len is a heap overflow ASan reports. */
	char *body = malloc(size ? size : 1);

	if (!body)
		abort();
	memcpy(body, data, size);
	fuzz_search(body, size);
	fuzz_lists(body, size);
	free(body);
	return 0;
}
