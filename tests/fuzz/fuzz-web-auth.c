/* fuzz-web-auth: the Authorization header of the web server's basic authentication, against a cost-4 bcrypt user */
#include <crypt.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web/web_auth.h"

#include "fuzz.h"

#define USER "prom"
#define PASSWORD "s3cret"
/* base64("prom:s3cret"), the only token68 that may pass */
#define TOKEN "cHJvbTpzM2NyZXQ="

static struct web_auth *auth;
static int64_t now_ms;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* cost 4, the lowest: each check that reaches bcrypt stays around a millisecond */
	const char *salt = crypt_gensalt("$2b$", 4, NULL, 0);
	const char *hash = salt ? crypt(PASSWORD, salt) : NULL;
	static char name[] = USER;
	struct web_user user;

	(void)argc;
	(void)argv;
	FUZZ_ASSERT(hash && strncmp(hash, "$2b$04$", 7) == 0);
	user = (struct web_user){.user = name, .password_hash = (char *)hash};
	FUZZ_ASSERT(web_auth_new(&auth, &user, 1) == 0);
	return 0;
}

/* The token68 part of a header value as web_auth_check() reads it: after "Basic" and spaces, trailing blanks cut. */
static bool is_the_token(const char *s)
{
	size_t len;

	if (strncasecmp(s, "Basic", 5) != 0 || s[5] != ' ')
		return false;
	s += 5;
	while (*s == ' ')
		s++;
	len = strlen(s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	/*
	 * TOKEN itself, or a spelling that differs only in the pad bits of its last character ('Q' carries two
	 * data bits and four pad bits: 'Q' to 'f' decode alike). web_auth's decoder does not reject non-zero
	 * pad bits (RFC 4648 3.5 allows either); any other difference would be a second way in.
	 */
	return len == strlen(TOKEN) && memcmp(s, TOKEN, len - 2) == 0 && s[len - 2] >= 'Q' && s[len - 2] <= 'f' &&
	       s[len - 1] == '=';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *header = malloc(size + 1);
	int r;

	if (!header)
		return 0;
	memcpy(header, data, size);
	header[size] = '\0';
	/* a clock that moves, so that remembered successes also expire */
	now_ms += 1000;
	r = web_auth_check(auth, header, now_ms);
	FUZZ_ASSERT(r == 0 || r == WEB_AUTH_DENIED || r == -ENOMEM);
	/* only the one right user:password passes, however it is spelled around */
	if (r == 0)
		FUZZ_ASSERT(is_the_token(header));
	free(header);
	return 0;
}
