/* web tls: the certificate and key (config/tls_cert loads them) handed to each handshake; the priority strings */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "config/tls_cert.h"
#include "util/log.h"
#include "util/mutex.h"
#include "web/internal.h"

/* TLS: 1.2 and 1.3, or 1.3 only; GnuTLS's NORMAL set of ciphers otherwise. */
#define TLS_PRIORITIES_TLS12 "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define TLS_PRIORITIES_TLS13 "NORMAL:-VERS-ALL:+VERS-TLS1.3"

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
	mutex_lock(&srv->tls_lock);
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
	mutex_unlock(&srv->tls_lock);
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
