/* aws_credentials: refcounted credentials and the provider chain that finds, caches and refreshes them */
#include "aws/credentials/aws_credentials.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "aws/aws_profile.h"
#include "aws/credentials/aws_sts.h"
#include "util/log.h"
#include "util/mutex.h"
#include "util/env.h"
#include "util/rfc3339.h"

#define WHY_MAX 1024 /* an STS refusal: its message (ARNs) and the advice */

struct aws_credentials_provider {
	pthread_mutex_t lock; /* the state below */
	pthread_mutex_t refresh; /* one fetch at a time; held without lock while the network is asked */
	char *profile;
	bool profile_explicit;
	char *region;
	char *ca_file;
	const struct aws_credentials_source *const *sources;
	size_t n_sources;
	void *data; /* the sources' (ctx->data) */
	void (*data_free)(void *data);
	char *log_fields; /* "profile=NAME", "role=ARN": who this provider is, in its log lines */
	struct aws_credentials_observer observer; /* call NULL: nobody */
	int64_t (*now)(void);
	unsigned seed;

	/* Under lock. */
	struct aws_credentials *cached;
	int64_t refresh_at; /* when cached (if it expires) should be replaced */
	int64_t retry_at; /* no fetch before this after a failure, unless invalidated */
	int64_t backoff; /* seconds, doubled at each failure */
	int last_rc; /* the last failure, returned during the backoff when nothing is cached */
	bool refreshing; /* a thread is fetching: others keep using cached */
	bool invalidated;
	char last_failure[WHY_MAX * 3]; /* logged once as an error, repeats only at debug level */
	struct aws_caller_identity *caller; /* GetCallerIdentity's first success, or NULL */
	int caller_rc; /* its last failure, returned until caller_retry_at */
	int64_t caller_retry_at, caller_backoff;
	char caller_failure[WHY_MAX];
};

static void secret_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

int aws_credentials_new(struct aws_credentials **out, const char *access_key_id, const char *secret_access_key,
	const char *session_token, int64_t expiration, const char *provider)
{
	struct aws_credentials *c;

	*out = NULL;
	if (!access_key_id || !*access_key_id || !secret_access_key || !*secret_access_key ||
		(session_token && !*session_token) || expiration < 0)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->access_key_id = strdup(access_key_id);
	c->secret_access_key = strdup(secret_access_key);
	c->session_token = session_token ? strdup(session_token) : NULL;
	c->expiration = expiration;
	c->provider = provider ? provider : "static";
	c->refs = 1;
	if (!c->access_key_id || !c->secret_access_key || (session_token && !c->session_token)) {
		aws_credentials_unref(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

struct aws_credentials *aws_credentials_ref(struct aws_credentials *c)
{
	if (c)
		__atomic_fetch_add(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void aws_credentials_unref(struct aws_credentials *c)
{
	if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	free(c->access_key_id);
	secret_free(c->secret_access_key);
	secret_free(c->session_token);
	free(c);
}

static const char *json_string(yajl_val root, const char *name)
{
	const char *path[] = {name, NULL};
	yajl_val v = yajl_tree_get(root, path, yajl_t_any);

	return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

static bool json_present(yajl_val root, const char *name)
{
	const char *path[] = {name, NULL};

	return yajl_tree_get(root, path, yajl_t_any) != NULL;
}

int aws_credentials_from_json(const char *json, const char *provider, bool process_format, struct aws_credentials **out,
	char *why, size_t whylen)
{
	char err[128] = "";
	yajl_val root = yajl_tree_parse(json, err, sizeof(err));
	const char *key, *secret, *token, *expiration, *code;
	int64_t exp = 0;
	int r = -EINVAL;

	*out = NULL;
	if (!root || !YAJL_IS_OBJECT(root)) {
		/* yajl's message may quote the input: say only that it is not JSON. */
		snprintf(why, whylen, "the answer is not a JSON object");
		goto out;
	}
	if (process_format) {
		const char *path[] = {"Version", NULL};
		yajl_val v = yajl_tree_get(root, path, yajl_t_any);

		if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) != 1) {
			snprintf(why, whylen, "the output's \"Version\" is not 1");
			goto out;
		}
	} else if ((code = json_string(root, "Code")) && strcmp(code, "Success") != 0) {
		snprintf(why, whylen, "the answer's Code is \"%.40s\", not \"Success\"", code);
		goto out;
	}
	key = json_string(root, "AccessKeyId");
	secret = json_string(root, "SecretAccessKey");
	token = json_string(root, process_format ? "SessionToken" : "Token");
	expiration = json_string(root, "Expiration");
	if (!key || !*key || !secret || !*secret) {
		snprintf(why, whylen, "the answer lacks \"AccessKeyId\" or \"SecretAccessKey\" (strings)");
		goto out;
	}
	if (token && !*token)
		token = NULL;
	if (json_present(root, process_format ? "SessionToken" : "Token") &&
		!json_string(root, process_format ? "SessionToken" : "Token")) {
		snprintf(why, whylen, "the answer's session token is not a string");
		goto out;
	}
	if (expiration && rfc3339_parse(expiration, &exp) < 0) {
		snprintf(why, whylen, "the answer's \"Expiration\" is not an ISO 8601 time");
		goto out;
	}
	if (!expiration && json_present(root, "Expiration")) {
		snprintf(why, whylen, "the answer's \"Expiration\" is not a string");
		goto out;
	}
	/* Only credential_process may hand out keys that never expire; the services always say when. */
	if (!expiration && !process_format) {
		snprintf(why, whylen, "the answer lacks \"Expiration\"");
		goto out;
	}
	if (exp < 0)
		exp = 0;
	r = aws_credentials_new(out, key, secret, token, exp, provider);
	if (r == -EINVAL)
		snprintf(why, whylen, "the answer's keys are unusable");
out:
	yajl_tree_free(root);
	return r;
}

static int64_t clock_now(void)
{
	return (int64_t)time(NULL);
}

static const struct aws_credentials_source *const default_chain[] = {
	&aws_credentials_source_environment,
	&aws_credentials_source_profile,
	&aws_credentials_source_web_identity,
	&aws_credentials_source_container,
	&aws_credentials_source_imds,
	&aws_credentials_source_systemd,
};

int aws_credentials_provider_new_sources(
	struct aws_credentials_provider **out, const struct aws_credentials_provider_spec *spec)
{
	struct aws_credentials_provider *p;
	const char *env = env_get("AWS_PROFILE");
	int r;

	*out = NULL;
	if (!spec->sources || !spec->n_sources) {
		r = -EINVAL;
		goto fail_data;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		r = -ENOMEM;
		goto fail_data;
	}
	p->data = spec->data;
	p->data_free = spec->data_free;
	p->profile_explicit = (spec->profile && *spec->profile) || env != NULL;
	p->profile = strdup(aws_profile_default_name(spec->profile));
	p->region = spec->region ? strdup(spec->region) : NULL;
	p->ca_file = spec->ca_file ? strdup(spec->ca_file) : NULL;
	if (spec->log_fields)
		p->log_fields = strdup(spec->log_fields);
	else if (p->profile && asprintf(&p->log_fields, "profile=%s", p->profile) < 0)
		p->log_fields = NULL;
	if (!p->profile || (spec->region && !p->region) || (spec->ca_file && !p->ca_file) || !p->log_fields) {
		r = -ENOMEM;
		goto fail;
	}
	r = -pthread_mutex_init(&p->lock, NULL);
	if (r)
		goto fail;
	r = -pthread_mutex_init(&p->refresh, NULL);
	if (r) {
		pthread_mutex_destroy(&p->lock);
		goto fail;
	}
	p->sources = spec->sources;
	p->n_sources = spec->n_sources;
	p->now = spec->now ? spec->now : clock_now;
	p->seed = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)p;
	*out = p;
	return 0;
fail:
	free(p->profile);
	free(p->region);
	free(p->ca_file);
	free(p->log_fields);
	free(p);
fail_data:
	if (spec->data_free)
		spec->data_free(spec->data);
	return r;
}

int aws_credentials_provider_new_chain(struct aws_credentials_provider **out, const char *profile,
	const struct aws_credentials_source *const *sources, size_t n_sources, int64_t (*now)(void))
{
	const struct aws_credentials_provider_spec spec = {
		.profile = profile, .sources = sources, .n_sources = n_sources, .now = now};

	return aws_credentials_provider_new_sources(out, &spec);
}

int aws_credentials_provider_new(
	struct aws_credentials_provider **out, const char *profile, const char *region, const char *ca_file)
{
	const struct aws_credentials_provider_spec spec = {
		.profile = profile,
		.region = region,
		.ca_file = ca_file,
		.sources = default_chain,
		.n_sources = sizeof(default_chain) / sizeof(default_chain[0]),
	};

	return aws_credentials_provider_new_sources(out, &spec);
}

void aws_credentials_provider_free(struct aws_credentials_provider *p)
{
	if (!p)
		return;
	aws_credentials_unref(p->cached);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->refresh);
	if (p->data_free)
		p->data_free(p->data);
	free(p->caller);
	free(p->profile);
	free(p->region);
	free(p->ca_file);
	free(p->log_fields);
	free(p);
}

void aws_credentials_provider_observe(struct aws_credentials_provider *p, const struct aws_credentials_observer *o)
{
	mutex_lock(&p->lock);
	p->observer = o ? *o : (struct aws_credentials_observer){0};
	mutex_unlock(&p->lock);
}

/* Appends "name: why" to the list of what each source said. */
static void tried_append(char *tried, size_t len, const char *name, const char *why)
{
	size_t used = strlen(tried);
	int n;

	if (used >= len - 1)
		return;
	n = snprintf(tried + used, len - used, "%s%s: %s", used ? "; " : "", name, why[0] ? why : "no credentials");
	if (n < 0)
		tried[used] = '\0';
}

/* Asks each source in turn (without p->lock). Returns 0 with *out, or the failure, with tried filled in. */
static int chain_fetch(
	struct aws_credentials_provider *p, int64_t now, struct aws_credentials **out, char *tried, size_t len)
{
	const struct aws_credentials_context ctx = {
		.profile = p->profile,
		.profile_explicit = p->profile_explicit,
		.region = p->region,
		.ca_file = p->ca_file,
		.now = now,
		.observer = p->observer.call ? &p->observer : NULL,
		.data = p->data,
	};
	int r = -ENOENT;

	tried[0] = '\0';
	for (size_t i = 0; i < p->n_sources; i++) {
		const struct aws_credentials_source *s = p->sources[i];
		char why[WHY_MAX] = "";

		*out = NULL;
		r = s->fetch(&ctx, out, why, sizeof(why));
		if (r == 0 && *out)
			return 0;
		if (r == 0)
			r = -EIO; /* a source that claims success without credentials is a bug; don't crash over it */
		if (r != -ENOENT && !why[0])
			snprintf(why, sizeof(why), "%s", strerror(-r));
		tried_append(tried, len, s->name, why);
		if (r != -ENOENT)
			return r;
	}
	return r;
}

/* When credentials fetched at now and expiring at expiration should be replaced. */
static int64_t refresh_time(struct aws_credentials_provider *p, int64_t now, int64_t expiration)
{
	int64_t margin = AWS_CREDENTIALS_REFRESH_MARGIN + rand_r(&p->seed) % (AWS_CREDENTIALS_REFRESH_JITTER + 1);
	int64_t life = expiration - now;

	if (life < 2 * margin)
		margin = life / 2;
	return expiration - margin;
}

/* Serves the cache when it may be used without fetching (under p->lock). */
static bool cache_serves(struct aws_credentials_provider *p, int64_t now, struct aws_credentials **out, int *rc)
{
	struct aws_credentials *c = p->cached;

	if (c && !p->invalidated && (!c->expiration || now < p->refresh_at)) {
		*out = aws_credentials_ref(c);
		*rc = 0;
		return true;
	}
	/* Due for refresh but still valid: used while another thread refreshes or while backing off. */
	if (c && !p->invalidated && now < c->expiration && (p->refreshing || now < p->retry_at)) {
		*out = aws_credentials_ref(c);
		*rc = 0;
		return true;
	}
	if (!c && !p->invalidated && p->last_rc && now < p->retry_at) {
		*rc = p->last_rc;
		return true;
	}
	return false;
}

/* Records a fetch's outcome (under p->lock). Returns what get() returns. */
static int fetch_done(struct aws_credentials_provider *p, int64_t now, int r, struct aws_credentials *fresh,
	const char *tried, struct aws_credentials **out)
{
	if (r == 0) {
		char expires[32] = "never";

		if (fresh->expiration)
			snprintf(expires, sizeof(expires), "%llds", (long long)(fresh->expiration - now));
		/* Said when the source changes or recovers; routine refreshes only at debug level. */
		if (!p->cached || strcmp(p->cached->provider, fresh->provider) != 0 || p->last_failure[0])
			log_info("op=credentials status=ok %s provider=%s session_token=%s expires_in=%s",
				p->log_fields, fresh->provider, fresh->session_token ? "yes" : "no", expires);
		else
			log_debug("op=credentials status=ok %s provider=%s reason=\"refreshed\" expires_in=%s",
				p->log_fields, fresh->provider, expires);
		aws_credentials_unref(p->cached);
		p->cached = fresh;
		p->refresh_at = fresh->expiration ? refresh_time(p, now, fresh->expiration) : 0;
		p->invalidated = false;
		p->last_failure[0] = '\0';
		p->last_rc = 0;
		p->backoff = 0;
		p->retry_at = 0;
		*out = aws_credentials_ref(fresh);
		return 0;
	}
	if (r == -ENOMEM)
		return r;

	p->backoff = p->backoff ? p->backoff * 2 : 1;
	if (p->backoff > AWS_CREDENTIALS_BACKOFF_MAX)
		p->backoff = AWS_CREDENTIALS_BACKOFF_MAX;
	p->retry_at = now + p->backoff;
	p->last_rc = r;

	/* Credentials about to expire stay usable until they have, unless the service rejected them. */
	if (p->cached && !p->invalidated && p->cached->expiration && now < p->cached->expiration) {
		log_warning("op=credentials status=error %s reason=\"refresh failed; using the current "
			    "credentials for %llds more, retrying in %llds\" tried=\"%s\"",
			p->log_fields, (long long)(p->cached->expiration - now), (long long)p->backoff, tried);
		*out = aws_credentials_ref(p->cached);
		return 0;
	}
	aws_credentials_unref(p->cached);
	p->cached = NULL;
	p->invalidated = false;

	/* The poller asks at every request: say it once as an error, the repeats only at debug level. */
	if (strcmp(tried, p->last_failure) != 0) {
		log_error("op=credentials status=error %s reason=\"no usable AWS credentials\" tried=\"%s\"",
			p->log_fields, tried);
		snprintf(p->last_failure, sizeof(p->last_failure), "%s", tried);
	} else {
		log_debug("op=credentials status=error %s reason=\"no usable AWS credentials\" tried=\"%s\"",
			p->log_fields, tried);
	}
	return r;
}

int aws_credentials_provider_get(struct aws_credentials_provider *p, struct aws_credentials **out)
{
	struct aws_credentials *fresh = NULL;
	char tried[sizeof(p->last_failure)];
	int64_t now;
	int r;

	*out = NULL;
	mutex_lock(&p->lock);
	if (cache_serves(p, p->now(), out, &r)) {
		mutex_unlock(&p->lock);
		return r;
	}
	mutex_unlock(&p->lock);

	/* One fetch at a time; whoever waited here looks at the cache again, it may be fresh now. */
	mutex_lock(&p->refresh);
	mutex_lock(&p->lock);
	now = p->now();
	if (cache_serves(p, now, out, &r)) {
		mutex_unlock(&p->lock);
		mutex_unlock(&p->refresh);
		return r;
	}
	p->refreshing = true;
	mutex_unlock(&p->lock);

	r = chain_fetch(p, now, &fresh, tried, sizeof(tried));

	mutex_lock(&p->lock);
	p->refreshing = false;
	r = fetch_done(p, now, r, fresh, tried, out);
	mutex_unlock(&p->lock);
	mutex_unlock(&p->refresh);
	return r;
}

void aws_credentials_provider_invalidate(struct aws_credentials_provider *p)
{
	if (!p)
		return;
	mutex_lock(&p->lock);
	p->invalidated = true;
	mutex_unlock(&p->lock);
}

void aws_credentials_provider_last_failure(struct aws_credentials_provider *p, char *why, size_t whylen)
{
	mutex_lock(&p->lock);
	snprintf(why, whylen, "%s", p->last_failure);
	mutex_unlock(&p->lock);
}

/* What the provider knows of its caller (under p->lock): 1 with *out, a failure's code during its backoff, or 0. */
static int caller_known(
	struct aws_credentials_provider *p, int64_t now, struct aws_caller_identity *out, char *why, size_t whylen)
{
	if (p->caller) {
		*out = *p->caller;
		return 1;
	}
	if (p->caller_rc && now < p->caller_retry_at) {
		snprintf(why, whylen, "%s", p->caller_failure);
		return p->caller_rc;
	}
	return 0;
}

/* Keeps GetCallerIdentity's outcome (under p->lock): the first answer for good, a failure for a backoff. */
static void caller_record(
	struct aws_credentials_provider *p, int64_t now, int r, const struct aws_caller_identity *who, const char *why)
{
	if (r == 0) {
		if (!p->caller && (p->caller = malloc(sizeof(*p->caller))) != NULL)
			*p->caller = *who;
		p->caller_rc = 0;
		return;
	}
	p->caller_backoff = p->caller_backoff ? p->caller_backoff * 2 : AWS_CREDENTIALS_CALLER_BACKOFF_MIN;
	if (p->caller_backoff > AWS_CREDENTIALS_CALLER_BACKOFF_MAX)
		p->caller_backoff = AWS_CREDENTIALS_CALLER_BACKOFF_MAX;
	p->caller_retry_at = now + p->caller_backoff;
	/* Said once as a warning, the repeats (the same kind of failure: curl's words vary) at debug level. */
	if (r != p->caller_rc)
		log_warning("op=GetCallerIdentity status=error %s reason=\"retrying in %llds\" error=\"%s\"",
			p->log_fields, (long long)p->caller_backoff, why);
	else
		log_debug("op=GetCallerIdentity status=error %s reason=\"retrying in %llds\" error=\"%s\"",
			p->log_fields, (long long)p->caller_backoff, why);
	p->caller_rc = r;
	snprintf(p->caller_failure, sizeof(p->caller_failure), "%s", why);
}

int aws_credentials_provider_caller(
	struct aws_credentials_provider *p, struct aws_caller_identity *out, char *why, size_t whylen)
{
	struct aws_credentials *c = NULL;
	struct aws_credentials_observer observer;
	int64_t now = p->now();
	int r;

	mutex_lock(&p->lock);
	r = caller_known(p, now, out, why, whylen);
	observer = p->observer;
	mutex_unlock(&p->lock);
	if (r != 0)
		return r > 0 ? 0 : r;
	r = aws_credentials_provider_get(p, &c);
	if (r < 0) {
		aws_credentials_provider_last_failure(p, why, whylen);
		return r;
	}
	/* Asked without the lock (a network call): two threads asking at once both ask, the first answer is kept. */
	const struct aws_credentials_context ctx = {
		.profile = p->profile,
		.region = p->region,
		.ca_file = p->ca_file,
		.now = now,
		.observer = observer.call ? &observer : NULL,
	};
	struct aws_sts_request req = {.source = c};
	r = aws_sts_caller_identity_in(&ctx, &req, out, why, whylen);
	aws_credentials_unref(c);
	if (r == -ENOMEM)
		return r;
	mutex_lock(&p->lock);
	caller_record(p, now, r, out, why);
	mutex_unlock(&p->lock);
	return r;
}
