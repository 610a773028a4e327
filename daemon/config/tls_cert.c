/* tls_cert: the certificate and key of web.tls_*: the check --check-config runs is the load the server uses */
#include "config/tls_cert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

void tls_cert_free(struct tls_cert *tc)
{
	if (!tc)
		return;
	for (unsigned i = 0; i < tc->n_crts; i++)
		gnutls_x509_crt_deinit(tc->crts[i]);
	gnutls_free(tc->crts);
	if (tc->key)
		gnutls_x509_privkey_deinit(tc->key);
	free(tc);
}

int tls_cert_new(struct tls_cert **out, const char *cert_file, const char *key_file, char *err, size_t errlen)
{
	gnutls_datum_t cert_pem = {NULL, 0}, key_pem = {NULL, 0};
	unsigned char cert_id[64], key_id[64];
	size_t cert_id_len = sizeof(cert_id), key_id_len = sizeof(key_id);
	struct tls_cert *tc;
	int g, r = -EINVAL;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	tc = calloc(1, sizeof(*tc));
	if (!tc) {
		snprintf(err, errlen, "TLS: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	g = gnutls_load_file(cert_file, &cert_pem);
	if (g < 0) {
		snprintf(err, errlen, "web.tls_cert_file %s: cannot read it (%s)", cert_file, gnutls_strerror(g));
		r = -EIO;
		goto out;
	}
	g = gnutls_x509_crt_list_import2(&tc->crts, &tc->n_crts, &cert_pem, GNUTLS_X509_FMT_PEM, 0);
	if (g < 0 || tc->n_crts == 0) {
		snprintf(err, errlen, "web.tls_cert_file %s: not a PEM certificate (%s)", cert_file,
			g < 0 ? gnutls_strerror(g) : "no certificate");
		goto out;
	}
	g = gnutls_load_file(key_file, &key_pem);
	if (g < 0) {
		snprintf(err, errlen, "web.tls_key_file %s: cannot read it (%s)", key_file, gnutls_strerror(g));
		r = -EIO;
		goto out;
	}
	g = gnutls_x509_privkey_init(&tc->key);
	if (g >= 0)
		g = gnutls_x509_privkey_import2(tc->key, &key_pem, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (g < 0) {
		/* GnuTLS's reason only: never a byte of the key. */
		snprintf(err, errlen, "web.tls_key_file %s: not an unencrypted PEM private key (%s)", key_file,
			gnutls_strerror(g));
		goto out;
	}
	if (gnutls_x509_crt_get_key_id(tc->crts[0], GNUTLS_KEYID_USE_SHA256, cert_id, &cert_id_len) < 0 ||
		gnutls_x509_privkey_get_key_id(tc->key, GNUTLS_KEYID_USE_SHA256, key_id, &key_id_len) < 0 ||
		cert_id_len != key_id_len || memcmp(cert_id, key_id, cert_id_len) != 0) {
		snprintf(
			err, errlen, "web.tls_key_file %s is not the key of web.tls_cert_file %s", key_file, cert_file);
		goto out;
	}
	*out = tc;
	tc = NULL;
	r = 0;
out:
	if (key_pem.data) {
		gnutls_memset(key_pem.data, 0, key_pem.size);
		gnutls_free(key_pem.data);
	}
	gnutls_free(cert_pem.data);
	tls_cert_free(tc);
	return r;
}
