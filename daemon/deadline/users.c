/* users: the users thread: looks up the names of the user ids the reports publish (DescribeUser), rate-limited,
 * and publishes them */
/*
 * Why in deadline/: the lookups go through api_call (signing, retries with backoff, the request counters), which
 * lives here, and the ids come from the reports' figures that refresh.c publishes. The cache (user_cache) is
 * the thread's alone: farm threads only queue ids in an inbox under a short lock, so none of them ever waits
 * for a lookup, a rendering or a publication.
 */
#include "deadline/users.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_endpoint.h"
#include "deadline/api_call.h"
#include "deadline/user_cache.h"
#include "deadline/users_api.h"
#include "deadline/worker.h"
#include "util/log.h"
#include "util/mutex.h"

struct user_directory {
	char *store_id;
	struct metrics_store *store;
	struct worker_group *group; /* the thread alone: its own stop, no retry quota shared with the farms */
	struct worker *worker;
	pthread_mutex_t lock; /* the inbox */
	struct user_inbox inbox; /* ids noted by the farm threads, not yet in the cache */
	struct user_cache cache; /* the thread's alone */
};

/* Moves the noted ids into the cache: the lock is held for a copy of three words only. */
static void users_take_inbox(struct user_directory *d, double now)
{
	struct user_inbox taken;

	mutex_lock(&d->lock);
	taken = d->inbox;
	d->inbox = (struct user_inbox){0};
	mutex_unlock(&d->lock);
	user_cache_take(&d->cache, &taken, now);
}

static int parse_describe(void *ctx, const char *body, size_t len, char *err, size_t errlen)
{
	return users_api_parse_describe(body, len, ctx, err, errlen);
}

/* One DescribeUser with retries. Returns 0 (names filled), an enum api_outcome or -errno. */
static int describe_user(struct user_directory *d, const char *user_id, struct users_api_names *names)
{
	struct api_caller *api = worker_api(d->worker);
	struct api_call c = {
		.operation = USERS_API_OP_DESCRIBE,
		.method = "POST",
		.path = "/",
		.content_type = USERS_API_CONTENT_TYPE,
		.target = USERS_API_TARGET,
		.parse = parse_describe,
		.ctx = names,
	};
	char *body = NULL;
	int r;

	r = users_api_describe_body(d->store_id, user_id, &body, &c.body_len);
	if (r < 0)
		return r;
	c.body = body;
	r = api_call_run(api, &c);
	if (r != 0 && r != API_NOT_FOUND && r != API_STOPPED)
		log_warning("op=DescribeUser identity_store=%s user_id=%s http_status=%ld code=%s error=\"%s\" "
			    "message=\"%s\"",
			d->store_id, user_id, c.status, c.error_name ? c.error_name : "-", api_outcome_text(r),
			c.error_message ? c.error_message : "");
	api_call_reset(&c);
	free(body);
	return r;
}

/* Renders the known users into a section and hands it to the store: on the users thread, under no lock of ours. */
static void users_publish(struct user_directory *d)
{
	struct metrics_section *sec = NULL;
	struct buf *b;
	int r = -ENOMEM;

	if (metrics_section_new(&sec, &users_kind) == 0 && (b = metrics_section_lines(sec, 0)) != NULL &&
		user_cache_render(&d->cache, d->store_id, b) == 0 && metrics_section_seal(sec) == 0) {
		r = metrics_store_put(d->store, &users_kind, NULL, sec);
		sec = NULL;
	}
	if (r == 0)
		log_debug("component=users op=publish");
	else
		log_warning("component=users op=publish error=\"%s\"", strerror(-r));
	metrics_section_unref(sec);
}

static void users_run(struct worker *w, void *arg)
{
	struct user_directory *d = arg;
	double last_call = -INFINITY;

	while (!worker_stopping(w)) {
		users_take_inbox(d, worker_clock(w));
		double now = worker_clock(w), wait;
		const struct user_entry *e = user_cache_next(&d->cache, now, &wait);
		if (!e) {
			worker_wait_until(w, wait < 0 ? INFINITY : now + wait);
			continue;
		}
		/* The rate limit: one call every 1/USERS_CALLS_PER_SECOND seconds at most. */
		if (now - last_call < 1.0 / USERS_CALLS_PER_SECOND) {
			worker_wait_until(w, last_call + 1.0 / USERS_CALLS_PER_SECOND);
			continue;
		}
		last_call = now;
		/* e->id stays valid through the call: only this thread changes the cache, and it frees no id. */
		const char *id = e->id;
		struct users_api_names names = {0};
		int r = describe_user(d, id, &names);
		if (r != API_STOPPED &&
			user_cache_record(&d->cache, id, r, names.user_name, names.display_name, worker_clock(w)))
			users_publish(d);
		if (r == 0 || r == API_NOT_FOUND)
			log_debug("op=DescribeUser user_id=%s status=%s", id, r == 0 ? "ok" : "missing");
		users_api_names_deinit(&names);
	}
}

int user_directory_new(struct user_directory **out, const struct config *cfg, const char *region,
	struct aws_credentials_provider *creds, struct metrics_store *store)
{
	const struct identity_store_config *is = &cfg->identity_store;
	struct user_directory *d = calloc(1, sizeof(*d));
	char *endpoint = NULL;
	const char *store_region = is->region ? is->region : region;
	int r;

	*out = NULL;
	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	d->store = store;
	if (!user_id_usable(is->id)) {
		log_error("op=start status=error error=\"identity_store.id is not an identity store id\"");
		r = -EINVAL;
		goto fail;
	}
	d->store_id = strdup(is->id);
	if (!d->store_id) {
		r = -ENOMEM;
		goto fail;
	}
	r = aws_service_endpoint_resolve(
		&aws_service_identitystore, is->endpoint_url, cfg->profile, store_region, &endpoint);
	if (r < 0)
		goto fail;
	r = worker_group_new(&d->group, NULL);
	if (r < 0)
		goto fail;
	const struct worker_options wo = {
		.endpoint = endpoint,
		.region = store_region,
		.service = USERS_API_SERVICE,
		.ca_file = aws_ca_bundle(cfg->ca_file),
		.creds = creds,
		.store = store,
		.farm_id = "-",
	};
	r = worker_new(&d->worker, d->group, &wo);
	if (r < 0)
		goto fail;
	log_info("op=users status=ok identity_store=%s region=%s endpoint=%s", d->store_id, store_region, endpoint);
	free(endpoint);
	*out = d;
	return 0;
fail:
	free(endpoint);
	user_directory_free(d);
	return r;
}

int user_directory_start(struct user_directory *d)
{
	return worker_start(d->worker, users_run, d);
}

void user_directory_note(struct user_directory *d, const char *user_id)
{
	int r;

	if (!d)
		return;
	mutex_lock(&d->lock);
	r = user_inbox_add(&d->inbox, user_id);
	mutex_unlock(&d->lock);
	/* Later ids ride on the first one's wake-up: the thread takes the whole inbox at once. */
	if (r == USER_INBOX_FIRST)
		worker_wake(d->worker);
}

void user_directory_free(struct user_directory *d)
{
	if (!d)
		return;
	/* The thread first: it owns the cache until it is joined. */
	worker_group_free(d->group);
	user_inbox_deinit(&d->inbox);
	user_cache_deinit(&d->cache);
	pthread_mutex_destroy(&d->lock);
	free(d->store_id);
	free(d);
}
