/* aws_credentials: refcounted credentials and the provider chain that finds them (first cut: environment) */
#include "aws_credentials.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define WHY_MAX 256

struct aws_credentials_provider {
	pthread_mutex_t lock;
	char *profile;
	const struct aws_credentials_source *const *sources;
	size_t n_sources;
	int64_t (*now)(void);

	/* Under lock. */
	struct aws_credentials *cached;
	bool invalidated;
	char last_failure[WHY_MAX * 2]; /* logged once as an error, repeats only at debug level */
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

static void why_set(char *why, size_t whylen, const char *text)
{
	if (why && whylen && snprintf(why, whylen, "%s", text) < 0)
		why[0] = '\0';
}

/* An environment variable, NULL when unset or empty (the SDKs treat an empty one as unset). */
static const char *env_get(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int environment_fetch(const char *profile, struct aws_credentials **out, char *why, size_t whylen)
{
	const char *key = env_get("AWS_ACCESS_KEY_ID");
	const char *secret = env_get("AWS_SECRET_ACCESS_KEY");
	const char *token = env_get("AWS_SESSION_TOKEN");
	int r;

	(void)profile;
	*out = NULL;
	if (!key && !secret) {
		why_set(why, whylen, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
		return -ENOENT;
	}
	/* Half a key pair is a mistake to report, not a reason to use some other identity instead. */
	if (!key) {
		why_set(why, whylen, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
		return -EINVAL;
	}
	if (!secret) {
		why_set(why, whylen, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
		return -EINVAL;
	}
	r = aws_credentials_new(out, key, secret, token, 0, aws_credentials_source_environment.name);
	if (r == -EINVAL)
		why_set(why, whylen, "AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is unusable");
	return r;
}

const struct aws_credentials_source aws_credentials_source_environment = {
	.name = "environment",
	.fetch = environment_fetch,
};

static const struct aws_credentials_source *const default_chain[] = {
	&aws_credentials_source_environment,
};

static int64_t clock_now(void)
{
	return (int64_t)time(NULL);
}

int aws_credentials_provider_new_chain(struct aws_credentials_provider **out, const char *profile,
	const struct aws_credentials_source *const *sources, size_t n_sources, int64_t (*now)(void))
{
	struct aws_credentials_provider *p;
	const char *name = profile;
	int r;

	*out = NULL;
	if (!sources || !n_sources)
		return -EINVAL;
	if (!name || !*name)
		name = getenv("AWS_PROFILE");
	if (!name || !*name)
		name = "default";
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->profile = strdup(name);
	if (!p->profile) {
		free(p);
		return -ENOMEM;
	}
	r = pthread_mutex_init(&p->lock, NULL);
	if (r) {
		free(p->profile);
		free(p);
		return -r;
	}
	p->sources = sources;
	p->n_sources = n_sources;
	p->now = now ? now : clock_now;
	*out = p;
	return 0;
}

int aws_credentials_provider_new(struct aws_credentials_provider **out, const char *profile)
{
	return aws_credentials_provider_new_chain(
		out, profile, default_chain, sizeof(default_chain) / sizeof(default_chain[0]), NULL);
}

void aws_credentials_provider_free(struct aws_credentials_provider *p)
{
	if (!p)
		return;
	aws_credentials_unref(p->cached);
	pthread_mutex_destroy(&p->lock);
	free(p->profile);
	free(p);
}

const char *aws_credentials_provider_profile(const struct aws_credentials_provider *p)
{
	return p->profile;
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

/* Asks each source in turn, under p->lock. Returns 0 with *out, or the failure, with tried filled in. */
static int chain_fetch(struct aws_credentials_provider *p, struct aws_credentials **out, char *tried, size_t len)
{
	int r = -ENOENT;

	tried[0] = '\0';
	for (size_t i = 0; i < p->n_sources; i++) {
		const struct aws_credentials_source *s = p->sources[i];
		char why[WHY_MAX] = "";

		*out = NULL;
		r = s->fetch(p->profile, out, why, sizeof(why));
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

int aws_credentials_provider_get(struct aws_credentials_provider *p, struct aws_credentials **out)
{
	struct aws_credentials *fresh = NULL;
	char tried[sizeof(p->last_failure)];
	int64_t now;
	int r;

	*out = NULL;
	r = pthread_mutex_lock(&p->lock);
	if (r)
		return -r;
	now = p->now();
	if (p->cached && !p->invalidated &&
		(!p->cached->expiration || now < p->cached->expiration - AWS_CREDENTIALS_REFRESH_MARGIN)) {
		*out = aws_credentials_ref(p->cached);
		r = 0;
		goto out;
	}

	r = chain_fetch(p, &fresh, tried, sizeof(tried));
	if (r == 0) {
		char expires[32] = "never";

		if (fresh->expiration)
			snprintf(expires, sizeof(expires), "%llds", (long long)(fresh->expiration - now));
		/* Said when the source changes or recovers; routine refreshes only at debug level. */
		if (!p->cached || strcmp(p->cached->provider, fresh->provider) != 0 || p->last_failure[0])
			log_info("op=credentials status=ok profile=%s provider=%s session_token=%s expires_in=%s",
				p->profile, fresh->provider, fresh->session_token ? "yes" : "no", expires);
		else
			log_debug("op=credentials status=ok profile=%s provider=%s reason=\"refreshed\" expires_in=%s",
				p->profile, fresh->provider, expires);
		aws_credentials_unref(p->cached);
		p->cached = fresh;
		p->invalidated = false;
		p->last_failure[0] = '\0';
		*out = aws_credentials_ref(fresh);
		goto out;
	}
	if (r == -ENOMEM)
		goto out;

	/* Credentials about to expire stay usable until they have, unless the service rejected them. */
	if (p->cached && !p->invalidated && p->cached->expiration && now < p->cached->expiration) {
		log_warning("op=credentials status=error profile=%s reason=\"refresh failed; using the current "
			    "credentials for %llds more\" tried=\"%s\"",
			p->profile, (long long)(p->cached->expiration - now), tried);
		*out = aws_credentials_ref(p->cached);
		r = 0;
		goto out;
	}
	aws_credentials_unref(p->cached);
	p->cached = NULL;

	/* The poller asks at every request: say it once as an error, the repeats only at debug level. */
	if (strcmp(tried, p->last_failure) != 0) {
		log_error("op=credentials status=error profile=%s reason=\"no usable AWS credentials\" tried=\"%s\"",
			p->profile, tried);
		memcpy(p->last_failure, tried, sizeof(p->last_failure));
	} else {
		log_debug("op=credentials status=error profile=%s reason=\"no usable AWS credentials\" tried=\"%s\"",
			p->profile, tried);
	}
out:
	pthread_mutex_unlock(&p->lock);
	return r;
}

void aws_credentials_provider_invalidate(struct aws_credentials_provider *p)
{
	if (!p || pthread_mutex_lock(&p->lock) != 0)
		return;
	p->invalidated = true;
	pthread_mutex_unlock(&p->lock);
}
