/* tls_cert: web.tls_cert_file and web.tls_key_file read, parsed and matched (one check for config and server) */
#pragma once

#include <stddef.h>

#include <gnutls/x509.h>

/* A certificate chain and its key, parsed once; the server hands each handshake its own copies. */
struct tls_cert {
	gnutls_x509_crt_t *crts; /* n_crts >= 1, the leaf first */
	unsigned n_crts;
	gnutls_x509_privkey_t key;
};

/*
 * Reads and parses a PEM certificate chain and its unencrypted PEM key, and checks that the key is the
 * leaf certificate's. Returns 0 with *out owned by the caller (tls_cert_free()), or -EIO (a file cannot be
 * read), -EINVAL (not PEM, or not a matching pair), -ENOMEM, with a one-line message in err naming the
 * setting and the file (GnuTLS's reason, never a byte of the key).
 */
int tls_cert_new(struct tls_cert **out, const char *cert_file, const char *key_file, char *err, size_t errlen);

/* Frees tc; NULL-safe. */
void tls_cert_free(struct tls_cert *tc);
