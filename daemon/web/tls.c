/* web tls: the certificate and key (GnuTLS), loaded at start and on reload, handed to each handshake */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "util/log.h"
#include "web/internal.h"

/* TLS: 1.2 and 1.3, or 1.3 only; GnuTLS's NORMAL set of ciphers otherwise. */
#define TLS_PRIORITIES_TLS12 "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define TLS_PRIORITIES_TLS13 "NORMAL:-VERS-ALL:+VERS-TLS1.3"

/* A certificate chain and its key, parsed once; each handshake gets its own copies (see tls_cert_cb). */
struct web_tls_cert {
	gnutls_x509_crt_t *crts;
	unsigned n_crts;
	gnutls_x509_privkey_t key;
};

void web_tls_cert_free(struct web_tls_cert *tc)
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

int web_tls_cert_load(struct web_tls_cert **out, const char *cert_file, const char *key_file, char *err, size_t errlen)
{
	gnutls_datum_t cert_pem = {NULL, 0}, key_pem = {NULL, 0};
	unsigned char cert_id[64], key_id[64];
	size_t cert_id_len = sizeof(cert_id), key_id_len = sizeof(key_id);
	struct web_tls_cert *tc;
	int g, r = -EINVAL;

	tc = calloc(1, sizeof(*tc));
	if (!tc) {
		web_set_error(err, errlen, "TLS: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	g = gnutls_load_file(cert_file, &cert_pem);
	if (g < 0) {
		web_set_error(err, errlen, "web.tls_cert_file %s: cannot read it (%s)", cert_file, gnutls_strerror(g));
		r = -EIO;
		goto out;
	}
	g = gnutls_x509_crt_list_import2(&tc->crts, &tc->n_crts, &cert_pem, GNUTLS_X509_FMT_PEM, 0);
	if (g < 0 || tc->n_crts == 0) {
		web_set_error(err, errlen, "web.tls_cert_file %s: not a PEM certificate (%s)", cert_file,
			g < 0 ? gnutls_strerror(g) : "no certificate");
		goto out;
	}
	g = gnutls_load_file(key_file, &key_pem);
	if (g < 0) {
		web_set_error(err, errlen, "web.tls_key_file %s: cannot read it (%s)", key_file, gnutls_strerror(g));
		r = -EIO;
		goto out;
	}
	g = gnutls_x509_privkey_init(&tc->key);
	if (g >= 0)
		g = gnutls_x509_privkey_import2(tc->key, &key_pem, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (g < 0) {
		/* GnuTLS's reason only: never a byte of the key. */
		web_set_error(err, errlen, "web.tls_key_file %s: not an unencrypted PEM private key (%s)", key_file,
			gnutls_strerror(g));
		goto out;
	}
	if (gnutls_x509_crt_get_key_id(tc->crts[0], GNUTLS_KEYID_USE_SHA256, cert_id, &cert_id_len) < 0 ||
		gnutls_x509_privkey_get_key_id(tc->key, GNUTLS_KEYID_USE_SHA256, key_id, &key_id_len) < 0 ||
		cert_id_len != key_id_len || memcmp(cert_id, key_id, cert_id_len) != 0) {
		web_set_error(
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
	web_tls_cert_free(tc);
	return r;
}

/*
 * GnuTLS asks for the certificate at each handshake: copies of the current one, which GnuTLS frees with the
 * session (GNUTLS_CERT_RETR_DEINIT_ALL). So a reload swaps the certificate under the lock without waiting
 * for the sessions that use the previous one. libmicrohttpd's session pointer is the connection.
 */
static int tls_cert_cb(gnutls_session_t session, const struct gnutls_cert_retr_st *info, gnutls_pcert_st **certs,
	unsigned int *n_certs, gnutls_ocsp_data_st **ocsp, unsigned int *n_ocsp, gnutls_privkey_t *pkey,
	unsigned int *flags)
{
	struct MHD_Connection *mc = gnutls_session_get_ptr(session);
	struct web_conn *c = mc ? web_conn_of(mc) : NULL;
	struct http_server *srv = c ? c->srv : NULL;
	gnutls_pcert_st *pcerts = NULL;
	gnutls_privkey_t key = NULL;
	unsigned done = 0, n = 0;
	int g = GNUTLS_E_INTERNAL_ERROR;

	(void)info;
	if (!srv)
		return -1;
	web_mutex_lock(&srv->tls_lock);
	if (srv->cert) {
		n = srv->cert->n_crts;
		pcerts = gnutls_calloc(n, sizeof(*pcerts));
		g = pcerts ? 0 : GNUTLS_E_MEMORY_ERROR;
		for (; g >= 0 && done < n; done++) {
			g = gnutls_pcert_import_x509(&pcerts[done], srv->cert->crts[done], 0);
			if (g < 0)
				break;
		}
		if (g >= 0)
			g = gnutls_privkey_init(&key);
		if (g >= 0)
			g = gnutls_privkey_import_x509(key, srv->cert->key, GNUTLS_PRIVKEY_IMPORT_COPY);
	}
	web_mutex_unlock(&srv->tls_lock);
	if (g < 0) {
		for (unsigned i = 0; i < done; i++)
			gnutls_pcert_deinit(&pcerts[i]);
		gnutls_free(pcerts);
		if (key)
			gnutls_privkey_deinit(key);
		log_warning("component=http op=tls_handshake error=\"%s\"", gnutls_strerror(g));
		return -1;
	}
	*certs = pcerts;
	*n_certs = n;
	*ocsp = NULL;
	*n_ocsp = 0;
	*pkey = key;
	*flags = GNUTLS_CERT_RETR_DEINIT_ALL;
	return 0;
}

const char *web_tls_priorities(enum web_tls_version min_version)
{
	return min_version == WEB_TLS13 ? TLS_PRIORITIES_TLS13 : TLS_PRIORITIES_TLS12;
}

void *web_tls_cert_callback(void)
{
	/* MHD passes options as void *; POSIX (like dlsym) lets a function pointer travel that way. */
	union {
		gnutls_certificate_retrieve_function3 *fn;
		void *ptr;
	} cb = {.fn = tls_cert_cb};
	_Static_assert(sizeof(cb.fn) == sizeof(cb.ptr), "function pointers fit in void *");
	return cb.ptr;
}
