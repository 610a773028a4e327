/* web_auth: HTTP basic authentication against bcrypt hashes (crypt(3)), in constant time, with a short cache */
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/mutex.h"
#include "web/internal.h"
#include "web/web_auth.h"

#define DIGEST_SIZE 32
#define HASH_SIZE 60 /* "$2y$10$" + 53 */
#define SALT_SIZE 32

struct cache_slot {
	unsigned char key[DIGEST_SIZE];
	int64_t expires_ms; /* 0: empty */
};

/* A user, padded so that comparing names takes the same time whatever their length. */
struct auth_user {
	char name[CONFIG_WEB_USER_MAX + 1];
	char hash[HASH_SIZE + 1];
};

struct web_auth {
	atomic_uint refs;
	struct auth_user *users;
	size_t n_users;
	/* Mixed into the cache key: the digests kept in memory are no plain SHA-256 of a password. */
	unsigned char salt[SALT_SIZE];
	pthread_mutex_t lock; /* the cache */
	struct cache_slot cache[WEB_AUTH_CACHE_SLOTS];
	atomic_uint_fast64_t bcrypt_runs, cache_hits;
};

int web_auth_new(struct web_auth **out, const struct web_user *users, size_t n)
{
	struct web_auth *a;

	if (!out || !users || n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!users[i].user || strlen(users[i].user) > CONFIG_WEB_USER_MAX ||
			!web_password_hash_valid(users[i].password_hash))
			return -EINVAL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->users = calloc(n, sizeof(*a->users));
	if (!a->users) {
		free(a);
		return -ENOMEM;
	}
	if (RAND_bytes(a->salt, sizeof(a->salt)) != 1 || pthread_mutex_init(&a->lock, NULL) != 0) {
		free(a->users);
		free(a);
		return -EIO;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(a->users[i].name, users[i].user, strlen(users[i].user));
		memcpy(a->users[i].hash, users[i].password_hash, HASH_SIZE);
	}
	a->n_users = n;
	atomic_init(&a->refs, 1);
	atomic_init(&a->bcrypt_runs, 0);
	atomic_init(&a->cache_hits, 0);
	*out = a;
	return 0;
}

struct web_auth *web_auth_ref(struct web_auth *a)
{
	if (a)
		atomic_fetch_add(&a->refs, 1);
	return a;
}

void web_auth_unref(struct web_auth *a)
{
	if (!a || atomic_fetch_sub(&a->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&a->lock);
	OPENSSL_cleanse(a->users, a->n_users * sizeof(*a->users));
	OPENSSL_cleanse(a->cache, sizeof(a->cache));
	OPENSSL_cleanse(a->salt, sizeof(a->salt));
	free(a->users);
	free(a);
}

void web_auth_stats(struct web_auth *a, uint64_t *bcrypt_runs, uint64_t *cache_hits)
{
	if (bcrypt_runs)
		*bcrypt_runs = a ? atomic_load(&a->bcrypt_runs) : 0;
	if (cache_hits)
		*cache_hits = a ? atomic_load(&a->cache_hits) : 0;
}

static int base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict base64 (padded, RFC 4648) of n characters into out (room for n / 4 * 3). Returns the length or -1. */
static long base64_decode(const char *in, size_t n, unsigned char *out)
{
	size_t o = 0;

	if (n == 0 || n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;

		for (int k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad) {
				return -1; /* "=" then data */
			} else {
				v[k] = base64_value(in[i + k]);
				if (v[k] < 0)
					return -1;
			}
		}
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 0xf) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 0x3) << 6 | v[3]);
	}
	return (long)o;
}

static int cache_key(const struct web_auth *a, const char *value, size_t len, unsigned char key[DIGEST_SIZE])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(ctx, a->salt, sizeof(a->salt)) == 1 &&
	     EVP_DigestUpdate(ctx, value, len) == 1 && EVP_DigestFinal_ex(ctx, key, &n) == 1 && n == DIGEST_SIZE;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -ENOMEM;
}

/* Whether key is cached and fresh; every slot is compared, whatever matches, and a hit is refreshed. */
static bool cache_lookup(struct web_auth *a, const unsigned char key[DIGEST_SIZE], int64_t now_ms)
{
	unsigned hit = 0;

	mutex_lock(&a->lock);
	for (size_t i = 0; i < WEB_AUTH_CACHE_SLOTS; i++) {
		struct cache_slot *s = &a->cache[i];
		unsigned same = (unsigned)(CRYPTO_memcmp(s->key, key, DIGEST_SIZE) == 0);
		unsigned live = (unsigned)(s->expires_ms > now_ms);
		unsigned m = same & live;

		hit |= m;
		/* Sliding expiry: a scraper that keeps coming keeps its entry. */
		s->expires_ms = m ? now_ms + WEB_AUTH_CACHE_SECONDS * 1000 : s->expires_ms;
	}
	mutex_unlock(&a->lock);
	return hit != 0;
}

/* Remembers key, replacing the slot that expires first (an empty or stale one when there is). */
static void cache_insert(struct web_auth *a, const unsigned char key[DIGEST_SIZE], int64_t now_ms)
{
	size_t victim = 0;

	mutex_lock(&a->lock);
	for (size_t i = 1; i < WEB_AUTH_CACHE_SLOTS; i++) {
		if (a->cache[i].expires_ms < a->cache[victim].expires_ms)
			victim = i;
	}
	memcpy(a->cache[victim].key, key, DIGEST_SIZE);
	a->cache[victim].expires_ms = now_ms + WEB_AUTH_CACHE_SECONDS * 1000;
	mutex_unlock(&a->lock);
}

/*
 * The bcrypt check of (user, password): the hash of the user with that name, else the first user's hash
 * (the same cost and work) with the answer forced to no. Returns 0, WEB_AUTH_DENIED or -ENOMEM.
 */
static int check_password(struct web_auth *a, const char *user, size_t user_len, const char *password)
{
	char name[CONFIG_WEB_USER_MAX + 1];
	struct crypt_data *cd;
	const char *result;
	size_t chosen = 0;
	unsigned found = 0;
	int r;

	memset(name, 0, sizeof(name));
	if (user_len > CONFIG_WEB_USER_MAX)
		user_len = 0; /* never a user's name; still compared and hashed like one */
	memcpy(name, user, user_len);
	for (size_t i = 0; i < a->n_users; i++) {
		/* The padded names are compared whole: time depends neither on where they differ nor on length. */
		unsigned same = (unsigned)(CRYPTO_memcmp(a->users[i].name, name, sizeof(name)) == 0) & (user_len > 0);
		size_t mask = (size_t)0 - (size_t)(same & !found);

		chosen = (chosen & ~mask) | (i & mask);
		found |= same;
	}
	/* struct crypt_data is tens of kilobytes: not for a connection thread's small stack. */
	cd = calloc(1, sizeof(*cd));
	if (!cd) {
		OPENSSL_cleanse(name, sizeof(name));
		return -ENOMEM;
	}
	result = crypt_rn(password, a->users[chosen].hash, cd, (int)sizeof(*cd));
	atomic_fetch_add(&a->bcrypt_runs, 1);
	if (result && strlen(result) == HASH_SIZE && CRYPTO_memcmp(result, a->users[chosen].hash, HASH_SIZE) == 0 &&
		found)
		r = WEB_AUTH_ALLOWED;
	else
		r = WEB_AUTH_DENIED;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	OPENSSL_cleanse(name, sizeof(name));
	return r;
}

int web_auth_check(struct web_auth *a, const char *authorization, int64_t now_ms)
{
	unsigned char key[DIGEST_SIZE];
	unsigned char decoded[WEB_AUTH_HEADER_MAX / 4 * 3 + 1];
	const char *p, *colon;
	size_t len;
	long n;
	int r;

	if (!a)
		return -EINVAL;
	if (!authorization)
		return WEB_AUTH_DENIED;
	/* RFC 7617: the scheme is case-insensitive, then one or more spaces, then token68. */
	if (strncasecmp(authorization, "Basic", 5) != 0 || authorization[5] != ' ')
		return WEB_AUTH_DENIED;
	p = authorization + 5;
	while (*p == ' ')
		p++;
	len = strlen(p);
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len == 0 || len > WEB_AUTH_HEADER_MAX)
		return WEB_AUTH_DENIED;

	r = cache_key(a, p, len, key);
	if (r < 0)
		return r;
	if (cache_lookup(a, key, now_ms)) {
		atomic_fetch_add(&a->cache_hits, 1);
		OPENSSL_cleanse(key, sizeof(key));
		return 0;
	}
	n = base64_decode(p, len, decoded);
	/* A NUL would cut the password short for crypt(3): "secret\0anything" must not pass as "secret". */
	if (n < 0 || memchr(decoded, '\0', (size_t)n)) {
		r = WEB_AUTH_DENIED;
		goto out;
	}
	decoded[n] = '\0';
	colon = memchr(decoded, ':', (size_t)n);
	if (!colon) {
		r = WEB_AUTH_DENIED;
		goto out;
	}
	r = check_password(a, (const char *)decoded, (size_t)(colon - (const char *)decoded), colon + 1);
	if (r == 0)
		cache_insert(a, key, now_ms);
out:
	OPENSSL_cleanse(decoded, sizeof(decoded));
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}
