/* poller: per-farm schedule and serialisation, API calls with retries, merge, publish */
#include "deadline/poller.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>

#include "deadline/deadline_api.h"
#include "aws/http_client.h"
#include "util/log.h"
#include "util/notify.h"
#include "config/reload.h"
#include "aws/sigv4.h"
#include "metrics/usage.h"
#include "config/window.h"

/* Retry policy, after the AWS SDKs' "standard" mode. */
#define RETRY_MAX_ATTEMPTS 5            /* per call, the first one included */
#define RETRY_BACKOFF_BASE_MS 1000.0    /* delay = random[0,1) × base × 2^(attempt-1) */
#define RETRY_BACKOFF_MAX_MS 20000.0
#define RETRY_AFTER_MAX_MS 60000.0      /* a Retry-After longer than this is capped */
#define RETRY_QUOTA_INITIAL 500         /* token bucket shared by every farm */
#define RETRY_QUOTA_COST 5
#define RETRY_QUOTA_TIMEOUT_COST 10
#define RETRY_QUOTA_REFUND 1

/* A Start refused because an aggregation runs on the farm: wait longer, never hammer. */
#define START_BUSY_MAX_ATTEMPTS 8
#define START_BUSY_BASE_MS 2000.0
#define START_BUSY_MAX_MS 60000.0

/* Polling an aggregation: 0.5 s growing to 15 s, for at most 30 minutes. */
#define POLL_FIRST_MS 500.0
#define POLL_MAX_MS 15000.0
#define POLL_GROWTH 1.5
#define POLL_GIVE_UP_S (30 * 60)

/* Pages of one aggregation, and restarts of an aggregation that expired meanwhile. */
#define PAGES_MAX 20000 /* 2 million rows */
#define LIST_PAGES_MAX 1000
/* How much nicer than the rest of the process a farm thread runs (see lower_priority). */
#define WORKER_NICENESS 10
#define AGGREGATION_RESTARTS_MAX 2

/* A FAILED or TIMEOUT aggregation is asked again in halves: resources first, then the window. */
#define SPLIT_DEPTH_MAX 12
#define SPLIT_WINDOW_MIN_S 3600

/* A failed refresh is retried after min(interval, 10 s × 2^(failures-1)), with jitter. */
#define FAILED_RETRY_FIRST_S 10.0

#define OP_START "StartSessionsStatisticsAggregation"
#define OP_GET "GetSessionsStatisticsAggregation"
#define OP_LIST_QUEUES "ListQueues"
#define OP_LIST_FLEETS "ListFleets"

/* Outcomes of one API call, beyond 0 (success) and negative errno (transport, after retries). */
enum {
	CALL_THROTTLED = 1, /* 429 after the retries */
	CALL_NOT_FOUND,     /* 404 ResourceNotFoundException */
	CALL_DENIED,        /* 403 AccessDeniedException */
	CALL_CLIENT_ERROR,  /* any other 4xx: not retryable */
	CALL_SERVER_ERROR,  /* 5xx after the retries */
	CALL_BAD_RESPONSE,  /* 2xx whose body did not parse, after the retries */
	CALL_STOPPED,       /* the poller is stopping */
	CALL_NO_CREDENTIALS,
};

struct report_state {
	const struct report_config *rc;
	double next_due;      /* monotonic seconds */
	unsigned failures;    /* consecutive failed refreshes */
};

struct farm_worker {
	struct poller *poller;
	_Atomic double heartbeat; /* monotonic seconds: the thread was last seen working or waiting */
	const struct farm_config *farm;
	pthread_t thread;
	bool started;
	struct http_client *http;
	struct report_state *reports;
	size_t n_reports;
	uint64_t rng;
};

struct poller {
	const struct config *cfg;
	char *endpoint;        /* scheme://host[:port][/prefix], no trailing slash */
	char *host;            /* the Host header */
	char *path_prefix;     /* the endpoint's own path, "" when none */
	char *region;
	char *ca_file;
	struct aws_credentials_provider *creds;
	struct metrics_store *store;

	pthread_mutex_t lock;  /* stopping, quota */
	pthread_cond_t wake;
	bool stopping;
	atomic_bool stop_flag; /* read by in-flight requests */
	int retry_quota;

	struct farm_worker *workers;
	size_t n_workers;
};

/* What one API call needs. */
struct api_call {
	const char *operation;
	const char *method;
	const char *path;      /* API path, without the endpoint's prefix */
	const char *query;     /* or NULL */
	const char *body;      /* or NULL */
	size_t body_len;
	/* Parses a 2xx body; returns 0 or a positive DEADLINE_BAD_* code with err filled. */
	int (*parse)(void *ctx, const char *body, size_t len, char *err, size_t errlen);
	void *ctx;
	/* Filled on failure, for the caller's log line. */
	long status;
	char *error_name;
	char *error_message;
	bool busy;             /* a Start refused because an aggregation is running on the farm */
	double retry_after_ms; /* the last response's Retry-After, -1 when absent */
	struct page_ahead *ahead; /* or NULL: where the first attempt may have been sent already */
};

static double monotonic_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double random_unit(struct farm_worker *w)
{
	/* xorshift64*: jitter only, not security */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return (double)((w->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static bool poller_stopping(struct poller *p)
{
	return atomic_load(&p->stop_flag);
}

/* How often a waiting thread shows it is alive (the watchdog's keep-alives depend on it). */
#define HEARTBEAT_S 5.0

/*
 * Sleeps up to ms, waking early when the poller stops, and beating w's heartbeat meanwhile.
 * Returns false when stopping.
 */
static bool worker_sleep(struct farm_worker *w, double ms)
{
	struct poller *p = w->poller;
	double until = monotonic_now() + ms / 1000.0;
	bool stopping;

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		double now = monotonic_now();
		atomic_store(&w->heartbeat, now);
		if (now >= until)
			break;
		double step = until - now < HEARTBEAT_S ? until - now : HEARTBEAT_S;
		struct timespec deadline;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		double secs = (double)deadline.tv_sec + (double)deadline.tv_nsec / 1e9 + step;
		deadline.tv_sec = (time_t)secs;
		deadline.tv_nsec = (long)((secs - (double)deadline.tv_sec) * 1e9);
		pthread_cond_timedwait(&p->wake, &p->lock, &deadline);
	}
	stopping = p->stopping;
	pthread_mutex_unlock(&p->lock);
	return !stopping;
}

static bool retry_quota_take(struct poller *p, int cost)
{
	bool ok;

	pthread_mutex_lock(&p->lock);
	ok = p->retry_quota >= cost;
	if (ok)
		p->retry_quota -= cost;
	pthread_mutex_unlock(&p->lock);
	return ok;
}

static void retry_quota_refund(struct poller *p, int amount)
{
	pthread_mutex_lock(&p->lock);
	p->retry_quota += amount;
	if (p->retry_quota > RETRY_QUOTA_INITIAL)
		p->retry_quota = RETRY_QUOTA_INITIAL;
	pthread_mutex_unlock(&p->lock);
}

/* Retry-After in seconds (the API sends an integer); -1 when absent or unusable. */
static double retry_after_ms(const char *v)
{
	char *end;
	double s;

	if (!v)
		return -1;
	errno = 0;
	s = strtod(v, &end);
	if (errno || end == v || s < 0 || !isfinite(s))
		return -1;
	s *= 1000.0;
	return s > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : s;
}

static void api_call_reset_error(struct api_call *c)
{
	free(c->error_name);
	free(c->error_message);
	c->error_name = NULL;
	c->error_message = NULL;
	c->status = 0;
	c->busy = false;
	c->retry_after_ms = -1;
}

static bool error_is_auth_refresh(const char *name)
{
	return name && (!strcmp(name, "ExpiredTokenException") || !strcmp(name, "InvalidSignatureException") ||
				!strcmp(name, "SignatureDoesNotMatch") || !strcmp(name, "ExpiredToken") ||
				!strcmp(name, "InvalidClientTokenId") || !strcmp(name, "UnrecognizedClientException"));
}

/* Signs and sends one request; the response is the caller's to free. */
static int api_send_once(
	struct farm_worker *w, struct http_client *http, const struct api_call *c, struct http_response *resp)
{
	struct poller *p = w->poller;
	struct aws_credentials *creds = NULL;
	struct sigv4_signed sig = {0};
	char *path = NULL, *url = NULL;
	int r;

	memset(resp, 0, sizeof(*resp));
	atomic_store(&w->heartbeat, monotonic_now());
	r = aws_credentials_provider_get(p->creds, &creds);
	if (r < 0)
		return CALL_NO_CREDENTIALS;

	if (asprintf(&path, "%s%s", p->path_prefix, c->path) < 0) {
		path = NULL;
		r = -ENOMEM;
		goto out;
	}
	if (asprintf(&url, "%s%s%s%s", p->endpoint, c->path, c->query && *c->query ? "?" : "",
		    c->query ? c->query : "") < 0) {
		url = NULL;
		r = -ENOMEM;
		goto out;
	}

	struct sigv4_header to_sign[2];
	size_t n_to_sign = 0;
	to_sign[n_to_sign++] = (struct sigv4_header){"host", p->host};
	if (c->body)
		to_sign[n_to_sign++] = (struct sigv4_header){"content-type", "application/json"};

	struct sigv4_request sreq = {
		.method = c->method,
		.path = path,
		.query = c->query,
		.headers = to_sign,
		.n_headers = n_to_sign,
		.body = c->body ? c->body : "",
		.body_len = c->body ? c->body_len : 0,
	};
	struct sigv4_params params = {
		.access_key_id = creds->access_key_id,
		.secret_access_key = creds->secret_access_key,
		.session_token = creds->session_token,
		.region = p->region,
		.service = "deadline",
		.now = (int64_t)time(NULL),
		.normalize_path = true,
		.sign_body = true,
	};
	r = sigv4_sign(&sreq, &params, &sig);
	if (r < 0) {
		log_error("op=%s status=error reason=\"cannot sign the request\" error=%d", c->operation, r);
		goto out;
	}

	struct sigv4_header headers[7];
	size_t n = 0;
	if (c->body)
		headers[n++] = (struct sigv4_header){"Content-Type", "application/json"};
	headers[n++] = (struct sigv4_header){"X-Amz-Date", sig.amz_date};
	headers[n++] = (struct sigv4_header){"X-Amz-Content-Sha256", sig.payload_hash};
	if (creds->session_token)
		headers[n++] = (struct sigv4_header){"X-Amz-Security-Token", creds->session_token};
	headers[n++] = (struct sigv4_header){"Authorization", sig.authorization};
	headers[n++] = (struct sigv4_header){"User-Agent", "deadline-cloud-exporter/" EXPORTER_VERSION};
	headers[n++] = (struct sigv4_header){"Accept", "application/json"};

	struct http_request req = {
		.method = c->method,
		.url = url,
		.headers = headers,
		.n_headers = n,
		.body = c->body,
		.body_len = c->body ? c->body_len : 0,
	};
	r = http_client_send(http, &req, resp);
	metrics_store_count_request(p->store, c->operation, r < 0 ? 0 : resp->status);
	log_debug("farm=%s op=%s status=%ld", w->farm->id, c->operation, r < 0 ? 0L : resp->status);
out:
	sigv4_signed_deinit(&sig);
	aws_credentials_unref(creds);
	free(path);
	free(url);
	return r;
}

/*
 * The next page, asked for while this one is parsed and merged. The Get of page N+1 needs page N's nextToken,
 * which a parser meets only at the end of the page; so deadline_peek_next_token() guesses it from the raw body,
 * a helper thread sends that Get on a connection of its own, and the farm thread parses page N meanwhile. The
 * guess is never trusted: the answer is used only by a call with the same query (the parsed token's), as that
 * call's first attempt, with the same checks and retries; any other is waited for and dropped. One request at
 * most is in flight, so the API sees no more requests than before, and at most one more when a guess is wrong.
 */
struct page_ahead {
	struct farm_worker *w;
	const char *path;
	const char *aggregation_id;
	struct http_client *http; /* its own connection, for this aggregation's pages only: no idle memory */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *query; /* the request handed to the thread, NULL when none */
	bool done;   /* its answer is in result and resp */
	bool quit;
	int result;
	struct http_response resp;
};

static void *page_ahead_main(void *arg)
{
	struct page_ahead *a = arg;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->quit && (!a->query || a->done))
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->quit)
			break;
		/* The farm thread leaves query alone until done is set. */
		struct api_call c = {.operation = OP_GET, .method = "GET", .path = a->path, .query = a->query};
		struct http_response resp;
		pthread_mutex_unlock(&a->lock);
		int r = api_send_once(a->w, a->http, &c, &resp);
		pthread_mutex_lock(&a->lock);
		a->result = r;
		a->resp = resp;
		a->done = true;
		pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static void page_ahead_init(
	struct page_ahead *a, struct farm_worker *w, const char *path, const char *aggregation_id)
{
	memset(a, 0, sizeof(*a));
	a->w = w;
	a->path = path;
	a->aggregation_id = aggregation_id;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
}

/* Waits for the request in flight, if any, and forgets it. a->lock held. */
static void page_ahead_drop_locked(struct page_ahead *a)
{
	while (a->query && !a->done)
		pthread_cond_wait(&a->cond, &a->lock);
	if (a->query)
		http_response_deinit(&a->resp);
	free(a->query);
	a->query = NULL;
	a->done = false;
}

/* Sends the Get of the page after this body's, when the body names one; quietly does nothing it cannot. */
static void page_ahead_send(struct page_ahead *a, const char *body, size_t len)
{
	char *token = deadline_peek_next_token(body, len);
	char *query = token ? deadline_get_query(a->aggregation_id, DEADLINE_MAX_RESULTS, token) : NULL;

	free(token);
	if (!query)
		return;
	pthread_mutex_lock(&a->lock);
	if (a->query && strcmp(a->query, query) == 0) {
		/* Asked already (this page was read again after a bad copy): the answer stands. */
		pthread_mutex_unlock(&a->lock);
		free(query);
		return;
	}
	page_ahead_drop_locked(a);
	pthread_mutex_unlock(&a->lock);
	if (!a->started) {
		struct poller *p = a->w->poller;
		struct http_client_options ho = {.ca_file = p->ca_file, .cancel = &p->stop_flag};
		if ((!a->http && http_client_new(&a->http, &ho) < 0) ||
			pthread_create(&a->thread, NULL, page_ahead_main, a) != 0) {
			free(query);
			return;
		}
		a->started = true;
	}
	pthread_mutex_lock(&a->lock);
	a->query = query;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

/* The answer to a request with this query, when it was sent ahead: true, with *r and *resp moved out. */
static bool page_ahead_take(struct page_ahead *a, const char *query, int *r, struct http_response *resp)
{
	bool taken = false;

	pthread_mutex_lock(&a->lock);
	if (a->query && query && strcmp(a->query, query) == 0) {
		while (!a->done)
			pthread_cond_wait(&a->cond, &a->lock);
		*r = a->result;
		*resp = a->resp;
		memset(&a->resp, 0, sizeof(a->resp));
		free(a->query);
		a->query = NULL;
		a->done = false;
		taken = true;
	} else {
		page_ahead_drop_locked(a);
	}
	pthread_mutex_unlock(&a->lock);
	return taken;
}

static void page_ahead_deinit(struct page_ahead *a)
{
	pthread_mutex_lock(&a->lock);
	page_ahead_drop_locked(a);
	a->quit = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (a->started)
		pthread_join(a->thread, NULL);
	http_client_free(a->http);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
}

/*
 * One API operation with the retry policy: retries 429, 5xx, transport failures and unparsable
 * 2xx bodies with exponential backoff and jitter (honouring Retry-After) while attempts and the
 * shared retry quota last; refreshes credentials once on an expired token.
 */
static int api_call_run(struct farm_worker *w, struct api_call *c)
{
	struct poller *p = w->poller;
	bool refreshed_credentials = false;
	int max_attempts = RETRY_MAX_ATTEMPTS;
	int outcome = CALL_SERVER_ERROR;

	for (int attempt = 1;; attempt++) {
		struct http_response resp;
		char perr[256] = "";
		double wait_ms = -1;
		int quota_cost = RETRY_QUOTA_COST;
		bool retryable = false;

		api_call_reset_error(c);
		if (poller_stopping(p))
			return CALL_STOPPED;

		int r;
		if (!(attempt == 1 && c->ahead && page_ahead_take(c->ahead, c->query, &r, &resp)))
			r = api_send_once(w, w->http, c, &resp);
		if (r == CALL_NO_CREDENTIALS) {
			http_response_deinit(&resp);
			return CALL_NO_CREDENTIALS;
		}
		if (r < 0) {
			if (poller_stopping(p)) {
				http_response_deinit(&resp);
				return CALL_STOPPED;
			}
			log_warning("farm=%s op=%s status=error attempt=%d reason=\"%s\"", w->farm->id, c->operation,
				attempt, resp.error[0] ? resp.error : strerror(-r));
			outcome = r;
			retryable = r != -ENOMEM;
			if (r == -ETIMEDOUT)
				quota_cost = RETRY_QUOTA_TIMEOUT_COST;
			if (r == -EMSGSIZE) {
				/* A body past the cap is no page of this API: one more try, in case it was garbled. */
				outcome = CALL_BAD_RESPONSE;
				retryable = attempt < 2;
			}
		} else if (resp.status >= 200 && resp.status < 300) {
			int pr = c->parse ? c->parse(c->ctx, resp.body, resp.body_len, perr, sizeof(perr)) : 0;
			if (pr == 0) {
				http_response_deinit(&resp);
				if (attempt == 1)
					retry_quota_refund(p, RETRY_QUOTA_REFUND);
				else
					retry_quota_refund(p, quota_cost);
				return 0;
			}
			if (pr < 0) {
				http_response_deinit(&resp);
				return pr;
			}
			log_warning("farm=%s op=%s status=%ld attempt=%d reason=\"unusable response: %s\"", w->farm->id,
				c->operation, resp.status, attempt, perr);
			c->status = resp.status;
			outcome = CALL_BAD_RESPONSE;
			retryable = true;
		} else {
			c->status = resp.status;
			deadline_parse_error(resp.error_type, resp.body, resp.body_len, &c->error_name, &c->error_message);
			const char *name = c->error_name ? c->error_name : "";
			if (resp.status == 429 || resp.status >= 500) {
				outcome = resp.status == 429 ? CALL_THROTTLED : CALL_SERVER_ERROR;
				retryable = true;
				wait_ms = retry_after_ms(resp.retry_after);
				c->retry_after_ms = wait_ms;
				if (resp.status == 429 && !strcmp(c->operation, OP_START)) {
					/* The farm runs another aggregation: the caller waits longer. */
					c->busy = true;
					http_response_deinit(&resp);
					return CALL_THROTTLED;
				}
				log_warning("farm=%s op=%s status=%ld attempt=%d error=%s reason=\"%s\"", w->farm->id,
					c->operation, resp.status, attempt, c->error_name ? c->error_name : "-",
					c->error_message ? c->error_message : "");
			} else if (resp.status == 403 && error_is_auth_refresh(name) && !refreshed_credentials) {
				log_warning("farm=%s op=%s status=403 error=%s reason=\"refreshing credentials and retrying once\"",
					w->farm->id, c->operation, name);
				aws_credentials_provider_invalidate(p->creds);
				refreshed_credentials = true;
				max_attempts++;
				http_response_deinit(&resp);
				continue;
			} else {
				if (resp.status == 404)
					outcome = CALL_NOT_FOUND;
				else if (resp.status == 403 && !strcmp(name, "AccessDeniedException"))
					outcome = CALL_DENIED;
				else
					outcome = CALL_CLIENT_ERROR;
				http_response_deinit(&resp);
				return outcome;
			}
		}
		http_response_deinit(&resp);

		if (!retryable || attempt >= max_attempts)
			return outcome;
		if (!retry_quota_take(p, quota_cost)) {
			log_warning("farm=%s op=%s reason=\"retry quota exhausted; not retrying\"", w->farm->id, c->operation);
			return outcome;
		}
		double backoff = random_unit(w) * RETRY_BACKOFF_BASE_MS * ldexp(1.0, attempt - 1);
		if (backoff > RETRY_BACKOFF_MAX_MS)
			backoff = RETRY_BACKOFF_MAX_MS;
		if (wait_ms < backoff)
			wait_ms = backoff;
		metrics_store_count(p->store, METRICS_API_RETRIES, (const char *const[]){c->operation}, 1);
		if (!worker_sleep(w, wait_ms))
			return CALL_STOPPED;
	}
}

static const char *call_outcome_text(int r, const struct api_call *c)
{
	switch (r) {
	case CALL_THROTTLED:
		return "throttled";
	case CALL_NOT_FOUND:
		return "not found";
	case CALL_DENIED:
		return "access denied";
	case CALL_CLIENT_ERROR:
		return "request refused";
	case CALL_SERVER_ERROR:
		return "server error";
	case CALL_BAD_RESPONSE:
		return "unusable response";
	case CALL_STOPPED:
		return "stopping";
	case CALL_NO_CREDENTIALS:
		return "no credentials";
	default:
		return r < 0 ? strerror(-r) : "error";
	}
}

/* Logs why a call failed, with the IAM action to grant when access was denied. */
static void log_call_failure(struct farm_worker *w, const struct report_config *rc, const struct api_call *c, int r)
{
	if (r == CALL_STOPPED)
		return;
	if (r == CALL_DENIED) {
		log_error("farm=%s report=%s op=%s status=403 error=AccessDeniedException reason=\"grant the IAM action "
			  "deadline:%s\" message=\"%s\"",
			w->farm->id, rc->name, c->operation, c->operation, c->error_message ? c->error_message : "");
		return;
	}
	log_warning("farm=%s report=%s op=%s status=%ld error=%s reason=\"%s\" message=\"%s\"", w->farm->id, rc->name,
		c->operation, c->status, c->error_name ? c->error_name : "-", call_outcome_text(r, c),
		c->error_message ? c->error_message : "");
}

/*
 * The nextTokens seen while reading one aggregation or listing, as 64-bit hashes in an open-addressing
 * set: a token seen before means a cycle (A→B→A as well as A→A), which would never end.
 */
struct token_set {
	uint64_t *slots; /* 0: empty */
	size_t cap, n;
};

static uint64_t token_hash(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h ? h : 1;
}

/* Adds token: 0 when new, 1 when seen before, -ENOMEM. */
static int token_set_add(struct token_set *set, const char *token)
{
	uint64_t h = token_hash(token);

	if ((set->n + 1) * 2 > set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;
		uint64_t *slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return -ENOMEM;
		for (size_t i = 0; i < set->cap; i++) {
			if (!set->slots[i])
				continue;
			size_t j = set->slots[i] & (cap - 1);
			while (slots[j])
				j = (j + 1) & (cap - 1);
			slots[j] = set->slots[i];
		}
		free(set->slots);
		set->slots = slots;
		set->cap = cap;
	}
	size_t i = h & (set->cap - 1);
	while (set->slots[i]) {
		if (set->slots[i] == h)
			return 1;
		i = (i + 1) & (set->cap - 1);
	}
	set->slots[i] = h;
	set->n++;
	return 0;
}

static void token_set_deinit(struct token_set *set)
{
	free(set->slots);
	set->slots = NULL;
	set->cap = set->n = 0;
}

/* ---- listing resources ---- */

struct list_ctx {
	enum resource_kind kind;
	char ***ids;
	size_t *n;
	char *next_token;
};

static int parse_list(void *ctx, const char *body, size_t len, char *err, size_t errlen)
{
	struct list_ctx *l = ctx;
	size_t before = *l->n;

	free(l->next_token);
	l->next_token = NULL;
	int r = deadline_parse_list(body, len, l->kind, l->ids, l->n, &l->next_token, err, errlen);
	if (r != 0) {
		/* Drop what a broken page appended, so a retry does not list ids twice. */
		for (size_t i = before; i < *l->n; i++)
			free((*l->ids)[i]);
		*l->n = before;
	}
	return r;
}

static void free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* Lists every queue or fleet of the farm (ListQueues / ListFleets, paginated). */
static int list_resources(struct farm_worker *w, const struct report_config *rc, char ***ids, size_t *n)
{
	struct list_ctx l = {.kind = rc->resources, .ids = ids, .n = n};
	char *path = deadline_list_path(w->farm->id, rc->resources);
	char *prev_token = NULL;
	struct token_set seen = {0};
	int r = -ENOMEM;

	*ids = NULL;
	*n = 0;
	if (!path)
		goto out;
	for (int page = 0;; page++) {
		if (page >= LIST_PAGES_MAX) {
			log_warning("farm=%s report=%s reason=\"more than %d pages of resources; giving up\"", w->farm->id,
				rc->name, LIST_PAGES_MAX);
			r = CALL_BAD_RESPONSE;
			goto out;
		}
		char *query = deadline_list_query(DEADLINE_MAX_RESULTS, prev_token);
		if (!query) {
			r = -ENOMEM;
			goto out;
		}
		struct api_call c = {
			.operation = rc->resources == RESOURCE_QUEUES ? OP_LIST_QUEUES : OP_LIST_FLEETS,
			.method = "GET",
			.path = path,
			.query = query,
			.parse = parse_list,
			.ctx = &l,
		};
		r = api_call_run(w, &c);
		if (r != 0)
			log_call_failure(w, rc, &c, r);
		api_call_reset_error(&c);
		free(query);
		if (r != 0)
			goto out;
		if (!l.next_token || !*l.next_token)
			break;
		r = token_set_add(&seen, l.next_token);
		if (r != 0) {
			if (r > 0)
				log_warning("farm=%s report=%s op=%s reason=\"nextToken seen before (a cycle); giving up\"",
					w->farm->id, rc->name, c.operation);
			r = r > 0 ? CALL_BAD_RESPONSE : r;
			goto out;
		}
		free(prev_token);
		prev_token = l.next_token;
		l.next_token = NULL;
	}
	r = 0;
out:
	if (r != 0) {
		free_ids(*ids, *n);
		*ids = NULL;
		*n = 0;
	}
	free(l.next_token);
	free(prev_token);
	token_set_deinit(&seen);
	free(path);
	return r;
}

/* ---- one aggregation ---- */

struct start_ctx {
	char *aggregation_id;
};

static int parse_start(void *ctx, const char *body, size_t len, char *err, size_t errlen)
{
	struct start_ctx *s = ctx;

	free(s->aggregation_id);
	s->aggregation_id = NULL;
	return deadline_parse_start(body, len, &s->aggregation_id, err, errlen);
}

struct get_ctx {
	struct deadline_page page;
	struct page_ahead *ahead; /* or NULL */
};

static int parse_get(void *ctx, const char *body, size_t len, char *err, size_t errlen)
{
	struct get_ctx *g = ctx;

	if (g->ahead)
		page_ahead_send(g->ahead, body, len);
	deadline_page_deinit(&g->page);
	return deadline_parse_get(body, len, &g->page, err, errlen);
}

struct refresh_stats {
	size_t batches;
	size_t pages;
	size_t rows;
	size_t api_calls;
};

/* Starts the aggregation, waiting while the farm is busy with another one. */
static int aggregation_start(struct farm_worker *w, const struct report_config *rc, const char *path,
	const char *body, size_t body_len, char **aggregation_id)
{
	struct start_ctx s = {0};
	int r;

	for (int attempt = 1;; attempt++) {
		struct api_call c = {
			.operation = OP_START,
			.method = "POST",
			.path = path,
			.body = body,
			.body_len = body_len,
			.parse = parse_start,
			.ctx = &s,
		};
		r = api_call_run(w, &c);
		bool busy = c.busy;
		if (r == CALL_THROTTLED && busy && attempt < START_BUSY_MAX_ATTEMPTS) {
			double wait = START_BUSY_BASE_MS * ldexp(1.0, attempt - 1);
			if (wait > START_BUSY_MAX_MS)
				wait = START_BUSY_MAX_MS;
			wait = wait * (0.5 + random_unit(w) / 2);
			if (c.retry_after_ms > wait)
				wait = c.retry_after_ms;
			log_info("farm=%s report=%s op=%s status=429 reason=\"farm busy or throttled; starting again in "
				 "%.1fs\"",
				w->farm->id, rc->name, OP_START, wait / 1000);
			api_call_reset_error(&c);
			if (!worker_sleep(w, wait))
				return CALL_STOPPED;
			continue;
		}
		if (r != 0)
			log_call_failure(w, rc, &c, r);
		api_call_reset_error(&c);
		break;
	}
	if (r == 0)
		*aggregation_id = s.aggregation_id;
	else
		free(s.aggregation_id);
	return r;
}

/* Merges a page's rows into the refresh's table. */
static int merge_page(struct farm_worker *w, const struct report_config *rc, struct usage_table *t,
	const struct deadline_page *page, struct refresh_stats *st)
{
	const char *const labels[] = {w->farm->id, rc->name};

	metrics_store_count(w->poller->store, METRICS_PAGES, labels, 1);
	metrics_store_count(w->poller->store, METRICS_ROWS, labels, page->n_rows);
	for (size_t i = 0; i < page->n_rows; i++) {
		int r = usage_table_add(t, &page->rows[i]);
		if (r < 0)
			return r;
	}
	st->pages++;
	st->rows += page->n_rows;
	return 0;
}

static void aggregation_count(struct farm_worker *w, const char *status)
{
	metrics_store_count(w->poller->store, METRICS_AGGREGATIONS, (const char *const[]){w->farm->id, status}, 1);
}

enum {
	AGG_EXPIRED = 100, /* the aggregation vanished (404): start again */
	AGG_FAILED,        /* FAILED or TIMEOUT */
};

/* Polls until the aggregation completes, then reads and merges every page. */
static int aggregation_collect(struct farm_worker *w, const struct report_config *rc, const char *path,
	const char *aggregation_id, struct usage_table *t, struct refresh_stats *st)
{
	struct page_ahead ahead;
	struct get_ctx g = {.ahead = &ahead};
	char *token = NULL, *query = NULL;
	double poll_ms = POLL_FIRST_MS;
	double give_up = monotonic_now() + POLL_GIVE_UP_S;
	size_t pages = 0;
	struct token_set seen = {0};
	int r;

	page_ahead_init(&ahead, w, path, aggregation_id);
	for (;;) {
		free(query);
		query = deadline_get_query(aggregation_id, DEADLINE_MAX_RESULTS, token);
		if (!query) {
			r = -ENOMEM;
			goto out;
		}
		struct api_call c = {
			.operation = OP_GET,
			.method = "GET",
			.path = path,
			.query = query,
			.parse = parse_get,
			.ctx = &g,
			.ahead = &ahead,
		};
		r = api_call_run(w, &c);
		st->api_calls++;
		if (r == CALL_NOT_FOUND) {
			log_warning("farm=%s report=%s op=%s status=404 aggregation=%s reason=\"aggregation expired or "
				    "unknown; starting again\"",
				w->farm->id, rc->name, OP_GET, aggregation_id);
			api_call_reset_error(&c);
			aggregation_count(w, "EXPIRED");
			r = AGG_EXPIRED;
			goto out;
		}
		if (r != 0) {
			log_call_failure(w, rc, &c, r);
			api_call_reset_error(&c);
			goto out;
		}
		api_call_reset_error(&c);

		switch (g.page.status) {
		case DEADLINE_STATUS_IN_PROGRESS:
		case DEADLINE_STATUS_UNKNOWN:
			if (token) {
				/* A page of a completed aggregation cannot go back in progress. */
				log_warning("farm=%s report=%s op=%s reason=\"status %s while reading pages\"", w->farm->id,
					rc->name, OP_GET, g.page.status_text ? g.page.status_text : "?");
				r = CALL_BAD_RESPONSE;
				goto out;
			}
			if (monotonic_now() > give_up) {
				log_warning("farm=%s report=%s op=%s aggregation=%s reason=\"still %s after %ds; giving up\"",
					w->farm->id, rc->name, OP_GET, aggregation_id,
					g.page.status_text ? g.page.status_text : "?", POLL_GIVE_UP_S);
				r = AGG_FAILED;
				goto out;
			}
			if (!worker_sleep(w, poll_ms)) {
				r = CALL_STOPPED;
				goto out;
			}
			poll_ms *= POLL_GROWTH;
			if (poll_ms > POLL_MAX_MS)
				poll_ms = POLL_MAX_MS;
			continue;
		case DEADLINE_STATUS_FAILED:
		case DEADLINE_STATUS_TIMEOUT:
			aggregation_count(w, deadline_status_name(g.page.status));
			log_warning("farm=%s report=%s op=%s aggregation=%s status=%s reason=\"%s\"", w->farm->id, rc->name,
				OP_GET, aggregation_id, deadline_status_name(g.page.status),
				g.page.status_message ? g.page.status_message : "no statusMessage");
			r = AGG_FAILED;
			goto out;
		case DEADLINE_STATUS_COMPLETED:
			break;
		}

		if (!token) {
			aggregation_count(w, deadline_status_name(g.page.status));
			log_debug("farm=%s report=%s op=%s aggregation=%s status=COMPLETED reason=\"first page read\"",
				w->farm->id, rc->name, OP_GET, aggregation_id);
		}
		r = merge_page(w, rc, t, &g.page, st);
		if (r < 0)
			goto out;
		if (++pages >= PAGES_MAX) {
			log_warning("farm=%s report=%s op=%s reason=\"more than %d pages; giving up\"", w->farm->id, rc->name,
				OP_GET, PAGES_MAX);
			r = CALL_BAD_RESPONSE;
			goto out;
		}
		if (!g.page.next_token || !*g.page.next_token)
			break;
		r = token_set_add(&seen, g.page.next_token);
		if (r != 0) {
			if (r > 0)
				log_warning("farm=%s report=%s op=%s reason=\"nextToken seen before (a cycle); giving up\"",
					w->farm->id, rc->name, OP_GET);
			r = r > 0 ? CALL_BAD_RESPONSE : r;
			goto out;
		}
		free(token);
		token = g.page.next_token;
		g.page.next_token = NULL;
	}
	r = 0;
out:
	page_ahead_deinit(&ahead);
	token_set_deinit(&seen);
	deadline_page_deinit(&g.page);
	free(token);
	free(query);
	return r;
}

/* One batch of at most 10 resources: Start, poll, read every page, merge. */
static int refresh_batch(struct farm_worker *w, const struct report_config *rc, const char *path,
	const char *const *ids, size_t n_ids, int64_t start_time, int64_t end_time, struct usage_table *t,
	struct refresh_stats *st)
{
	char start[21], end[21];

	if (window_format_rfc3339(start_time, start) < 0 || window_format_rfc3339(end_time, end) < 0)
		return -EINVAL;
	struct deadline_start_request req = {
		.farm_id = w->farm->id,
		.kind = rc->resources,
		.resource_ids = ids,
		.n_resource_ids = n_ids,
		.start_time = start,
		.end_time = end,
		.group_by = rc->group_by,
		.n_group_by = rc->n_group_by,
		.statistics = rc->statistics,
		.timezone = rc->timezone,
		.period = rc->period,
	};
	char *body = NULL;
	size_t body_len = 0;
	int r = deadline_start_body(&req, &body, &body_len);

	if (r < 0)
		return r;
	for (int restart = 0;; restart++) {
		/* Rows of an attempt that expired half-way must not count twice: collect into a scratch table. */
		struct usage_table *scratch = NULL;
		char *aggregation_id = NULL;
		struct refresh_stats bst = {0};

		r = usage_table_new(&scratch, rc->group_by, rc->n_group_by);
		if (r < 0)
			break;
		r = aggregation_start(w, rc, path, body, body_len, &aggregation_id);
		if (r == 0) {
			log_debug("farm=%s report=%s op=%s aggregation=%s resources=%zu", w->farm->id, rc->name, OP_START,
				aggregation_id, n_ids);
			r = aggregation_collect(w, rc, path, aggregation_id, scratch, &bst);
		}
		free(aggregation_id);
		if (r == 0) {
			r = usage_table_merge(t, scratch);
			st->pages += bst.pages;
			st->rows += bst.rows;
			st->batches++;
		}
		usage_table_free(scratch);
		if (r != AGG_EXPIRED || restart >= AGGREGATION_RESTARTS_MAX)
			break;
	}
	free(body);
	return r;
}

/*
 * A batch, asked again in halves when the service gives up on it (FAILED, TIMEOUT), as AWS advises:
 * first fewer resources, then a shorter window; the parts merge like any other rows.
 */
static int refresh_part(struct farm_worker *w, const struct report_config *rc, const char *path,
	const char *const *ids, size_t n_ids, int64_t start, int64_t end, struct usage_table *t,
	struct refresh_stats *st, unsigned depth)
{
	int r = refresh_batch(w, rc, path, ids, n_ids, start, end, t, st);

	if (r != AGG_FAILED || depth >= SPLIT_DEPTH_MAX)
		return r;
	if (n_ids > 1) {
		size_t half = n_ids / 2;
		log_info("farm=%s report=%s op=split kind=resources resources=%zu reason=\"aggregation failed; asking "
			 "for %zu and %zu resources\"",
			w->farm->id, rc->name, n_ids, half, n_ids - half);
		metrics_store_count(w->poller->store, METRICS_SPLITS,
			(const char *const[]){w->farm->id, rc->name, "resources"}, 1);
		r = refresh_part(w, rc, path, ids, half, start, end, t, st, depth + 1);
		if (r == 0)
			r = refresh_part(w, rc, path, ids + half, n_ids - half, start, end, t, st, depth + 1);
		return r;
	}
	if (end - start >= 2 * SPLIT_WINDOW_MIN_S) {
		int64_t mid = start + (end - start) / 2;
		log_info("farm=%s report=%s op=split kind=window seconds=%lld reason=\"aggregation failed; asking for "
			 "two halves of the window\"",
			w->farm->id, rc->name, (long long)(end - start));
		metrics_store_count(
			w->poller->store, METRICS_SPLITS, (const char *const[]){w->farm->id, rc->name, "window"}, 1);
		r = refresh_part(w, rc, path, ids, n_ids, start, mid, t, st, depth + 1);
		if (r == 0)
			r = refresh_part(w, rc, path, ids, n_ids, mid, end, t, st, depth + 1);
	}
	return r;
}

/* The kind label of a failed refresh, for deadline_cloud_exporter_refresh_errors_total. */
static const char *refresh_error_kind(int r)
{
	switch (r) {
	case CALL_THROTTLED:
		return "throttled";
	case CALL_NOT_FOUND:
		return "not_found";
	case CALL_DENIED:
		return "access_denied";
	case CALL_CLIENT_ERROR:
		return "client_error";
	case CALL_SERVER_ERROR:
		return "server_error";
	case CALL_BAD_RESPONSE:
		return "bad_response";
	case CALL_NO_CREDENTIALS:
		return "no_credentials";
	case AGG_FAILED:
		return "aggregation_failed";
	case AGG_EXPIRED:
		return "aggregation_expired";
	default:
		return r < 0 ? "transport" : "other";
	}
}

/* Failures that waiting a little will not mend: retried on the normal schedule, not sooner. */
static bool refresh_error_is_persistent(int r)
{
	return r == CALL_DENIED || r == CALL_CLIENT_ERROR || r == CALL_NOT_FOUND || r == CALL_NO_CREDENTIALS;
}

/* One refresh of (farm, report). Returns 0 when the figures were published. */
static int refresh_report(struct farm_worker *w, const struct report_config *rc)
{
	const struct farm_config *farm = w->farm;
	struct usage_table *t = NULL;
	struct refresh_stats st = {0};
	char **listed = NULL;
	size_t n_listed = 0;
	const char *const *ids;
	size_t n_ids;
	char start_text[21], end_text[21];
	char *path = NULL;
	int64_t now = (int64_t)time(NULL), start;
	double began = monotonic_now();
	int r;

	notify_status("refreshing report %s of %s", rc->name, farm->id);
	r = window_start(rc, now, &start);
	if (r < 0)
		goto out;
	if (window_format_rfc3339(start, start_text) < 0 || window_format_rfc3339(now, end_text) < 0) {
		r = -EINVAL;
		goto out;
	}

	bool all = rc->resources == RESOURCE_QUEUES ? farm->all_queues : farm->all_fleets;
	if (all) {
		r = list_resources(w, rc, &listed, &n_listed);
		if (r != 0)
			goto out;
		ids = (const char *const *)listed;
		n_ids = n_listed;
	} else if (rc->resources == RESOURCE_QUEUES) {
		ids = (const char *const *)farm->queue_ids;
		n_ids = farm->n_queue_ids;
	} else {
		ids = (const char *const *)farm->fleet_ids;
		n_ids = farm->n_fleet_ids;
	}

	r = usage_table_new(&t, rc->group_by, rc->n_group_by);
	if (r < 0)
		goto out;
	path = deadline_aggregation_path(farm->id);
	if (!path) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_ids; i += DEADLINE_MAX_RESOURCES_PER_AGGREGATION) {
		size_t batch = n_ids - i;
		if (batch > DEADLINE_MAX_RESOURCES_PER_AGGREGATION)
			batch = DEADLINE_MAX_RESOURCES_PER_AGGREGATION;
		r = refresh_part(w, rc, path, ids + i, batch, start, now, t, &st, 0);
		if (r != 0)
			goto out;
	}

	double duration = monotonic_now() - began;
	r = metrics_store_publish(w->poller->store, farm->id, rc, t, (int64_t)time(NULL), duration);
	if (r < 0)
		goto out;
	log_info("farm=%s report=%s op=refresh status=ok window=%s/%s resources=%zu batches=%zu pages=%zu rows=%zu "
		 "groups=%zu duration=%.3fs",
		farm->id, rc->name, start_text, end_text, n_ids, st.batches, st.pages, st.rows, usage_table_size(t),
		duration);
out:
	if (r != 0) {
		double failed_after = monotonic_now() - began;
		metrics_store_fail(w->poller->store, farm->id, rc->name, failed_after);
		if (r != CALL_STOPPED)
			metrics_store_count(w->poller->store, METRICS_REFRESH_ERRORS,
				(const char *const[]){farm->id, rc->name, refresh_error_kind(r)}, 1);
		if (r != CALL_STOPPED)
			log_warning("farm=%s report=%s op=refresh status=failed reason=\"%s\" duration=%.3fs", farm->id,
				rc->name,
				r == AGG_FAILED ? "aggregation failed"
				: r == AGG_EXPIRED ? "aggregation kept expiring"
						   : call_outcome_text(r, NULL),
				failed_after);
	}
	if (r != CALL_STOPPED)
		notify_status("last refresh: report %s of %s %s", rc->name, farm->id, r == 0 ? "ok" : "failed");
	usage_table_free(t);
	free_ids(listed, n_listed);
	free(path);
	/*
	 * A refresh frees everything it built but the snapshot it published: give the free pages inside the
	 * heap back to the system (glibc only returns the top of it by itself), or resident memory creeps up
	 * refresh after refresh as the holes move. Milliseconds, once per refresh.
	 */
	malloc_trim(0);
	return r;
}

/* ---- schedule ---- */

/*
 * Refreshing is background work with minutes of slack; a scrape has a deadline. On Linux nice values are per
 * thread: this farm thread (and what it starts) yields the processor to the HTTP threads when both want it,
 * so parsing and rendering a large refresh does not slow the scrapes served meanwhile. Where the system
 * refuses (a seccomp filter without setpriority), everything works as before, at the same priority.
 */
static void lower_priority(void)
{
	id_t tid = (id_t)gettid();
	int now;

	errno = 0;
	now = getpriority(PRIO_PROCESS, tid);
	if (now == -1 && errno)
		return;
	if (setpriority(PRIO_PROCESS, tid, now + WORKER_NICENESS > 19 ? 19 : now + WORKER_NICENESS) < 0)
		log_debug("component=poller op=setpriority status=error error=\"%s\"", strerror(errno));
}

static void *farm_worker_main(void *arg)
{
	struct farm_worker *w = arg;
	struct poller *p = w->poller;

	lower_priority();

	while (!poller_stopping(p)) {
		struct report_state *next = NULL;
		for (size_t i = 0; i < w->n_reports; i++)
			if (!next || w->reports[i].next_due < next->next_due)
				next = &w->reports[i];
		if (!next)
			break;
		double wait = next->next_due - monotonic_now();
		if (wait > 0) {
			if (!worker_sleep(w, wait * 1000.0))
				break;
			continue; /* re-pick: the earliest due may have changed */
		}

		double began = monotonic_now();
		int r = refresh_report(w, next->rc);
		if (r == CALL_STOPPED || poller_stopping(p))
			break;
		double interval = (double)next->rc->interval_seconds;
		if (r == 0) {
			next->failures = 0;
			/* Keep the cadence; a refresh longer than its interval starts the next one right away, once. */
			next->next_due = began + interval;
			if (next->next_due < monotonic_now())
				next->next_due = monotonic_now();
		} else {
			next->failures++;
			double delay = FAILED_RETRY_FIRST_S * ldexp(1.0, next->failures > 64 ? 63 : (int)next->failures - 1);
			if (delay > interval || refresh_error_is_persistent(r))
				delay = interval;
			delay *= 0.75 + random_unit(w) / 2;
			next->next_due = monotonic_now() + delay;
			log_info("farm=%s report=%s op=schedule reason=\"retrying failed refresh in %.1fs\"", w->farm->id,
				next->rc->name, delay);
		}
	}
	return NULL;
}

/* Splits the endpoint into Host header and path prefix. */
static int endpoint_split(struct poller *p, const char *endpoint)
{
	const char *rest = strstr(endpoint, "://");
	int r;

	if (!rest)
		return -EINVAL;
	rest += 3;
	const char *slash = strchr(rest, '/');
	p->endpoint = strdup(endpoint);
	p->path_prefix = strdup(slash ? slash : "");
	if (!p->endpoint || !p->path_prefix)
		return -ENOMEM;
	size_t plen = strlen(p->path_prefix);
	while (plen && p->path_prefix[plen - 1] == '/')
		p->path_prefix[--plen] = '\0';
	size_t elen = strlen(p->endpoint);
	while (elen && p->endpoint[elen - 1] == '/')
		p->endpoint[--elen] = '\0';
	r = http_url_host(endpoint, &p->host);
	return r;
}

int poller_new(struct poller **out, const struct config *cfg, const struct poller_options *opts,
	struct aws_credentials_provider *creds, struct metrics_store *store)
{
	struct poller *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	p->cfg = cfg;
	p->creds = creds;
	p->store = store;
	p->retry_quota = RETRY_QUOTA_INITIAL;
	atomic_init(&p->stop_flag, false);
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);

	r = endpoint_split(p, opts->endpoint);
	if (r < 0)
		goto fail;
	p->region = strdup(opts->region);
	p->ca_file = opts->ca_file ? strdup(opts->ca_file) : NULL;
	if (!p->region || (opts->ca_file && !p->ca_file)) {
		r = -ENOMEM;
		goto fail;
	}

	p->n_workers = cfg->n_farms;
	p->workers = calloc(p->n_workers, sizeof(*p->workers));
	if (!p->workers) {
		r = -ENOMEM;
		goto fail;
	}
	double now = monotonic_now();
	for (size_t i = 0; i < p->n_workers; i++) {
		struct farm_worker *w = &p->workers[i];
		struct http_client_options ho = {
			.ca_file = p->ca_file,
			.cancel = &p->stop_flag,
		};
		w->poller = p;
		w->farm = &cfg->farms[i];
		atomic_init(&w->heartbeat, monotonic_now());
		if (getrandom(&w->rng, sizeof(w->rng), 0) != sizeof(w->rng))
			w->rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)w;
		w->rng |= 1;
		r = http_client_new(&w->http, &ho);
		if (r < 0)
			goto fail;
		w->n_reports = cfg->n_reports;
		w->reports = calloc(w->n_reports, sizeof(*w->reports));
		if (!w->reports) {
			r = -ENOMEM;
			goto fail;
		}
		for (size_t j = 0; j < w->n_reports; j++) {
			w->reports[j].rc = &cfg->reports[j];
			w->reports[j].next_due = now;
		}
	}
	*out = p;
	return 0;
fail:
	poller_free(p);
	return r;
}

int poller_start(struct poller *p)
{
	for (size_t i = 0; i < p->n_workers; i++) {
		int r = pthread_create(&p->workers[i].thread, NULL, farm_worker_main, &p->workers[i]);
		if (r != 0)
			return -r;
		p->workers[i].started = true;
	}
	return 0;
}

bool poller_alive(struct poller *p, double max_age_seconds)
{
	double now = monotonic_now();

	for (size_t i = 0; i < p->n_workers; i++) {
		double age = now - atomic_load(&p->workers[i].heartbeat);
		if (age > max_age_seconds) {
			log_error("farm=%s op=watchdog status=stuck reason=\"no sign of life for %.0fs\"", p->workers[i].farm->id,
				age);
			return false;
		}
	}
	return true;
}

void poller_stop(struct poller *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	atomic_store(&p->stop_flag, true);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < p->n_workers; i++) {
		struct farm_worker *w = &p->workers[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		w->started = false;
	}
}

void poller_adopt_schedule(struct poller *p, const struct poller *old, const struct config *old_cfg)
{
	for (size_t i = 0; i < p->n_workers; i++) {
		struct farm_worker *w = &p->workers[i];
		for (size_t j = 0; j < old->n_workers; j++) {
			const struct farm_worker *ow = &old->workers[j];
			if (strcmp(ow->farm->id, w->farm->id) != 0)
				continue;
			for (size_t k = 0; k < w->n_reports; k++) {
				struct report_state *rs = &w->reports[k];
				for (size_t l = 0; l < ow->n_reports; l++) {
					const struct report_state *ors = &ow->reports[l];
					if (strcmp(ors->rc->name, rs->rc->name) != 0 ||
						!reload_report_same(old_cfg, p->cfg, w->farm->id, rs->rc->name))
						continue;
					rs->next_due = ors->next_due;
					rs->failures = ors->failures;
				}
			}
		}
	}
}

void poller_free(struct poller *p)
{
	if (!p)
		return;
	poller_stop(p);
	for (size_t i = 0; i < p->n_workers; i++) {
		struct farm_worker *w = &p->workers[i];
		http_client_free(w->http);
		free(w->reports);
	}
	free(p->workers);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p->endpoint);
	free(p->host);
	free(p->path_prefix);
	free(p->region);
	free(p->ca_file);
	free(p);
}
