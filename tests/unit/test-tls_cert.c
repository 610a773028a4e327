/* test-tls_cert: certificate and key pairs, good and bad, with the error each gets */
#include <errno.h>

#include "config/tls_cert.h"
#include "test.h"

#define WEB(name) TEST_DATA_DIR "/web/" name

static const struct {
	const char *cert, *key;
	int r;
	const char *message;
} cases[] = {
	{WEB("server.pem"), WEB("server-key.pem"), 0, ""},
	{WEB("server2.pem"), WEB("server2-key.pem"), 0, ""},
	{WEB("server.pem"), WEB("server2-key.pem"), -EINVAL, "is not the key of web.tls_cert_file"},
	{WEB("server-key.pem"), WEB("server-key.pem"), -EINVAL, "not a PEM certificate"},
	{WEB("server.pem"), WEB("server.pem"), -EINVAL, "not an unencrypted PEM private key"},
	{"/dev/null", WEB("server-key.pem"), -EINVAL, "not a PEM certificate"},
	{"/nonexistent/cert.pem", WEB("server-key.pem"), -EIO, "web.tls_cert_file /nonexistent/cert.pem: cannot read"},
	{WEB("server.pem"), "/nonexistent/key.pem", -EIO, "web.tls_key_file /nonexistent/key.pem: cannot read"},
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tls_cert *tc = (struct tls_cert *)1;
		char err[512];
		int r = tls_cert_new(&tc, cases[i].cert, cases[i].key, err, sizeof(err));

		CHECK_MSG(r == cases[i].r, "case %zu: got %d", i, r);
		CHECK_MSG(strstr(err, cases[i].message) != NULL, "case %zu: \"%s\"", i, err);
		if (r == 0)
			CHECK(tc && tc->n_crts >= 1 && tc->key);
		else
			CHECK(tc == NULL);
		tls_cert_free(tc);
	}
	tls_cert_free(NULL);
	TEST_DONE();
}
