/* users: user names for user_id from the identity store (DescribeUser): the cache (pure) and its thread */
/*
 * Why in deadline/: the lookups go through api_call (signing, retries with backoff, the request counters), which
 * lives here, and the ids come from the reports' figures that refresh.c publishes. The cache itself is pure
 * (its clock is an argument) so that its unit test runs on a fake clock.
 */
#include "deadline/users.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "aws/aws_endpoint.h"
#include "aws/http_client.h"
#include "deadline/api_call.h"
#include "deadline/json_schema.h"
#include "util/log.h"
#include "util/monotime.h"

#define USER_ID_MAX 64
#define USERS_HEADER \
	"# HELP deadline_cloud_user_info The identity store's names of a user that appears in the figures (value " \
	"1).\n# TYPE deadline_cloud_user_info gauge\n"

bool user_id_usable(const char *id)
{
	size_t n = 0;

	if (!id)
		return false;
	for (; id[n]; n++) {
		char ch = id[n];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return false;
	}
	return n >= 1 && n <= USER_ID_MAX;
}

/* The index of id, or where it would go (*found false). */
static size_t cache_find(const struct user_cache *c, const char *id, bool *found)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(c->e[mid].id, id);
		if (cmp == 0) {
			*found = true;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

int user_cache_note(struct user_cache *c, const char *id, double now)
{
	bool found;
	size_t at;

	if (!user_id_usable(id))
		return USER_NOTE_REFUSED;
	at = cache_find(c, id, &found);
	if (found)
		return USER_NOTE_KNOWN;
	if (c->n >= USERS_MAX)
		return USER_NOTE_REFUSED;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct user_entry *e = realloc(c->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		c->e = e;
		c->cap = cap;
	}
	char *copy = strdup(id);
	if (!copy)
		return -ENOMEM;
	memmove(&c->e[at + 1], &c->e[at], (c->n - at) * sizeof(*c->e));
	c->e[at] = (struct user_entry){.id = copy, .state = USER_UNKNOWN, .next_due = now};
	c->n++;
	return USER_NOTE_ADDED;
}

const struct user_entry *user_cache_next(const struct user_cache *c, double now, double *wait)
{
	const struct user_entry *first = NULL;

	for (size_t i = 0; i < c->n; i++)
		if (!first || c->e[i].next_due < first->next_due)
			first = &c->e[i];
	if (!first) {
		*wait = -1;
		return NULL;
	}
	if (first->next_due <= now) {
		*wait = 0;
		return first;
	}
	*wait = first->next_due - now;
	return NULL;
}

bool user_cache_record(
	struct user_cache *c, const char *id, int outcome, const char *user_name, const char *display_name, double now)
{
	bool found, changed = false;
	size_t at = cache_find(c, id, &found);
	struct user_entry *e;

	if (!found)
		return false;
	e = &c->e[at];
	if (outcome == 0) {
		char *un = strdup(user_name ? user_name : ""), *dn = strdup(display_name ? display_name : "");
		if (!un || !dn) {
			free(un);
			free(dn);
			e->next_due = now + USERS_RETRY_SECONDS;
			return false;
		}
		changed = e->state != USER_KNOWN || strcmp(e->user_name, un) != 0 || strcmp(e->display_name, dn) != 0;
		free(e->user_name);
		free(e->display_name);
		e->user_name = un;
		e->display_name = dn;
		e->state = USER_KNOWN;
		e->next_due = now + USERS_TTL_SECONDS;
	} else if (outcome == API_NOT_FOUND) {
		changed = e->state == USER_KNOWN;
		free(e->user_name);
		free(e->display_name);
		e->user_name = e->display_name = NULL;
		e->state = USER_MISSING;
		e->next_due = now + USERS_TTL_SECONDS;
	} else {
		e->next_due = now + USERS_RETRY_SECONDS;
	}
	return changed;
}

int user_cache_render(const struct user_cache *c, const char *store_id, struct buf *out)
{
	bool any = false;
	int r = 0;

	for (size_t i = 0; i < c->n && r == 0; i++) {
		const struct user_entry *e = &c->e[i];
		if (e->state != USER_KNOWN)
			continue;
		if (!any) {
			r = buf_append(out, USERS_HEADER, strlen(USERS_HEADER));
			any = true;
		}
		const char *const parts[] = {"deadline_cloud_user_info{identity_store_id=\"", store_id, "\",user_id=\"",
			e->id, "\",user_name=\"", e->user_name, "\",display_name=\"", e->display_name, "\"} 1\n"};
		/* Even parts are the format's text, odd ones label values (escaped). */
		for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]) && r == 0; k++)
			r = k % 2 ? metrics_buf_escape_label(out, parts[k])
				  : buf_append(out, parts[k], strlen(parts[k]));
	}
	return r;
}

void user_cache_deinit(struct user_cache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].id);
		free(c->e[i].user_name);
		free(c->e[i].display_name);
	}
	free(c->e);
	*c = (struct user_cache){0};
}

/* ---- the client and its thread ---- */

struct user_directory {
	char *store_id, *region, *endpoint;
	struct metrics_store *store;
	struct api_caller api;
	pthread_mutex_t lock; /* cache, stopping */
	pthread_cond_t wake;
	bool stopping, started;
	atomic_bool stop_flag;
	struct user_cache cache;
	pthread_t thread;
};

static void dir_lock(struct user_directory *d)
{
	int r = pthread_mutex_lock(&d->lock);

	if (r) {
		log_error("component=users op=lock error=\"%s\"", strerror(r));
		abort();
	}
}

static void dir_unlock(struct user_directory *d)
{
	int r = pthread_mutex_unlock(&d->lock);

	if (r) {
		log_error("component=users op=unlock error=\"%s\"", strerror(r));
		abort();
	}
}

/* Waits up to seconds (< 0: until woken); called with the lock held. Returns false when stopping. */
static bool dir_wait_locked(struct user_directory *d, double seconds)
{
	if (d->stopping)
		return false;
	if (seconds < 0) {
		pthread_cond_wait(&d->wake, &d->lock);
	} else {
		struct timespec deadline = monotime_after(seconds);
		pthread_cond_timedwait(&d->wake, &d->lock, &deadline);
	}
	return !d->stopping;
}

static bool dir_sleep(void *ctx, double ms)
{
	struct user_directory *d = ctx;
	double until = monotime_s() + ms / 1000.0;
	bool ok = true;

	dir_lock(d);
	while (ok && monotime_s() < until)
		ok = dir_wait_locked(d, until - monotime_s());
	dir_unlock(d);
	return ok;
}

/* The identity store has no shared retry quota with the farms: its own budget is the rate limit. */
static bool dir_quota_take(void *ctx, int cost)
{
	return true;
}

static void dir_quota_refund(void *ctx, int amount)
{
}

static void dir_beat(void *ctx)
{
}

static const struct api_caller_ops dir_ops = {
	.sleep = dir_sleep,
	.quota_take = dir_quota_take,
	.quota_refund = dir_quota_refund,
	.beat = dir_beat,
};

/* DescribeUser's answer: the members the metric shows. */
enum { SLOT_USER_NAME = 1, SLOT_DISPLAY_NAME };

static const struct json_node describe_string_node = {.kind = JSON_STRING};
static const struct json_member describe_members[] = {
	{"UserName", SLOT_USER_NAME, 0, false, &describe_string_node},
	{"DisplayName", SLOT_DISPLAY_NAME, 1, false, &describe_string_node},
};
static const struct json_node describe_node = {.kind = JSON_OBJECT, .members = describe_members, .n_members = 2};

struct describe_ctx {
	char *user_name, *display_name;
};

static int describe_value(void *c, int slot, const struct json_value *v, const char **why)
{
	struct describe_ctx *ctx = c;

	(void)why;
	return json_schema_set_string(slot == SLOT_USER_NAME ? &ctx->user_name : &ctx->display_name, v);
}

static const struct json_sink describe_sink = {.value = describe_value};

static int describe_parse(void *c, const char *body, size_t len, char *err, size_t errlen)
{
	struct describe_ctx *ctx = c;

	free(ctx->user_name);
	free(ctx->display_name);
	ctx->user_name = ctx->display_name = NULL;
	return json_schema_parse(&describe_node, &describe_sink, ctx, body, len, err, errlen);
}

/* One DescribeUser with retries. Returns 0 (names in ctx), an enum api_outcome or -errno. */
static int describe_user(struct user_directory *d, const char *user_id, struct describe_ctx *ctx)
{
	char body[160 + USER_ID_MAX];
	struct api_call c = {
		.operation = "DescribeUser",
		.method = "POST",
		.path = "/",
		.content_type = "application/x-amz-json-1.1",
		.target = "AWSIdentityStore.DescribeUser",
		.parse = describe_parse,
		.ctx = ctx,
	};
	int r;

	/* Both ids passed user_id_usable(): nothing to escape. */
	c.body_len = (size_t)snprintf(
		body, sizeof(body), "{\"IdentityStoreId\":\"%s\",\"UserId\":\"%s\"}", d->store_id, user_id);
	c.body = body;
	r = api_call_run(&d->api, &c);
	if (r != 0 && r != API_NOT_FOUND && r != API_STOPPED)
		log_warning("op=DescribeUser identity_store=%s user_id=%s http_status=%ld code=%s error=\"%s\" "
			    "message=\"%s\"",
			d->store_id, user_id, c.status, c.error_name ? c.error_name : "-", api_outcome_text(r),
			c.error_message ? c.error_message : "");
	api_call_reset(&c);
	return r;
}

/* Publishes the cache's lines (called with the lock held). */
static void dir_publish_locked(struct user_directory *d)
{
	struct buf b = {0};

	if (user_cache_render(&d->cache, d->store_id, &b) == 0 &&
		metrics_store_set_users_text(d->store, b.data, b.len) == 0)
		log_debug("component=users op=publish bytes=%zu", b.len);
	else
		log_warning("component=users op=publish error=\"out of memory\"");
	buf_deinit(&b);
}

static void *dir_main(void *arg)
{
	struct user_directory *d = arg;
	double last_call = -1e9;

	dir_lock(d);
	while (!d->stopping) {
		double now = monotime_s(), wait;
		const struct user_entry *e = user_cache_next(&d->cache, now, &wait);
		if (!e) {
			dir_wait_locked(d, wait);
			continue;
		}
		/* The rate limit: one call every 1/USERS_CALLS_PER_SECOND seconds at most. */
		if (now - last_call < 1.0 / USERS_CALLS_PER_SECOND) {
			dir_wait_locked(d, 1.0 / USERS_CALLS_PER_SECOND - (now - last_call));
			continue;
		}
		char *id = strdup(e->id);
		if (!id) {
			dir_wait_locked(d, 1.0);
			continue;
		}
		last_call = now;
		dir_unlock(d);
		struct describe_ctx ctx = {0};
		int r = describe_user(d, id, &ctx);
		dir_lock(d);
		if (r != API_STOPPED &&
			user_cache_record(&d->cache, id, r, ctx.user_name, ctx.display_name, monotime_s()))
			dir_publish_locked(d);
		if (r == 0 || r == API_NOT_FOUND)
			log_debug("op=DescribeUser user_id=%s status=%s", id, r == 0 ? "ok" : "missing");
		free(ctx.user_name);
		free(ctx.display_name);
		free(id);
	}
	dir_unlock(d);
	return NULL;
}

int user_directory_new(struct user_directory **out, const struct config *cfg, const char *region,
	struct aws_credentials_provider *creds, struct metrics_store *store)
{
	const struct identity_store_config *is = &cfg->identity_store;
	struct user_directory *d = calloc(1, sizeof(*d));
	struct http_client_options ho = {.ca_file = aws_ca_bundle(cfg->ca_file)};
	int r;

	*out = NULL;
	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->wake, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&d->stop_flag, false);
	d->store = store;
	if (!user_id_usable(is->id)) {
		log_error("op=start status=error error=\"identity_store.id is not an identity store id\"");
		r = -EINVAL;
		goto fail;
	}
	d->store_id = strdup(is->id);
	d->region = strdup(is->region ? is->region : region);
	if (!d->store_id || !d->region) {
		r = -ENOMEM;
		goto fail;
	}
	r = aws_service_endpoint_resolve(
		&aws_service_identitystore, is->endpoint_url, cfg->profile, d->region, &d->endpoint);
	if (r < 0)
		goto fail;
	ho.cancel = &d->stop_flag;
	r = http_client_new(&d->api.http, &ho);
	if (r < 0)
		goto fail;
	d->api.endpoint = d->endpoint;
	d->api.region = d->region;
	d->api.service = "identitystore";
	d->api.creds = creds;
	d->api.store = store;
	d->api.stop = &d->stop_flag;
	d->api.farm_id = "-";
	d->api.ops = &dir_ops;
	d->api.ops_ctx = d;
	if (getrandom(&d->api.rng, sizeof(d->api.rng), 0) != sizeof(d->api.rng))
		d->api.rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)d;
	d->api.rng |= 1;
	log_info("op=users status=ok identity_store=%s region=%s endpoint=%s", d->store_id, d->region, d->endpoint);
	*out = d;
	return 0;
fail:
	user_directory_free(d);
	return r;
}

int user_directory_start(struct user_directory *d)
{
	int r = pthread_create(&d->thread, NULL, dir_main, d);

	if (r)
		return -r;
	d->started = true;
	return 0;
}

void user_directory_note(struct user_directory *d, const char *user_id)
{
	if (!d || !user_id || !*user_id)
		return;
	dir_lock(d);
	if (user_cache_note(&d->cache, user_id, monotime_s()) == USER_NOTE_ADDED)
		pthread_cond_broadcast(&d->wake);
	dir_unlock(d);
}

void user_directory_free(struct user_directory *d)
{
	if (!d)
		return;
	dir_lock(d);
	d->stopping = true;
	atomic_store(&d->stop_flag, true);
	pthread_cond_broadcast(&d->wake);
	dir_unlock(d);
	if (d->started)
		pthread_join(d->thread, NULL);
	http_client_free(d->api.http);
	user_cache_deinit(&d->cache);
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d->store_id);
	free(d->region);
	free(d->endpoint);
	free(d);
}
