/* http_server: libmicrohttpd serving /metrics, /, /-/healthy, /-/ready, POST /-/reload (door, tls, listen behind) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "metrics/store.h"

struct http_server;

/* What http_server_reload_tls() did, when it did not fail. */
enum http_server_reload {
	HTTP_SERVER_RELOADED = 0,
	HTTP_SERVER_RESTART_NEEDED = 1, /* applied what it could; other changed settings wait for a restart (see err) */
};

/* What a lifecycle reload reports, when it did not fail. */
enum http_server_reload_outcome {
	HTTP_SERVER_RELOAD_APPLIED = 0,
	HTTP_SERVER_RELOAD_REJECTED = 1, /* the running configuration stays; the reasons are in err */
};

/*
 * What POST /-/reload calls (only with web.enable_lifecycle): reloads the configuration as SIGHUP does and
 * returns HTTP_SERVER_RELOAD_APPLIED, HTTP_SERVER_RELOAD_REJECTED with the reasons in err, or -errno (answered
 * 500). It runs in the request's thread, on its stack (THREAD_STACK_SIZE in http_server.c), for as long as the
 * reload takes, and may replace the very server it runs on: the owner then frees that server later, never
 * from inside reload (http_server_free() joins the request's thread). The web layer calls nothing above it
 * but this.
 */
struct http_server_lifecycle {
	int (*reload)(void *ctx, char *err, size_t errlen);
	void *ctx;
};

/*
 * Listens on listen ("127.0.0.1:9753", "[::]:9753", ":9753": util/listen_addr.h) and serves the store, with the TLS,
 * basic authentication and limits of web (NULL: the defaults: plain HTTP, no authentication). web is not kept;
 * lifecycle (copied; NULL: none) serves POST /-/reload.
 * Returns 0, -EADDRINUSE, -EACCES, -EINVAL (bad address, unusable certificate or key),
 * -EOPNOTSUPP (TLS asked for, libmicrohttpd built without it), -ENOMEM, -EIO, with a message in err.
 */
int http_server_new(struct http_server **out, const char *listen, const struct web_config *web,
	struct metrics_store *store, const struct http_server_lifecycle *lifecycle, char *err, size_t errlen);

/*
 * A reload (SIGHUP, POST /-/reload): re-reads web's certificate and key files and takes its basic_auth_users,
 * health_without_auth and enable_lifecycle, without dropping a connection (new TLS handshakes use the new
 * certificate). When the files cannot be used, nothing changes and a negative errno comes back with a message in
 * err. Turning TLS on or off, tls_min_version and the limits need a restart: the rest is applied and
 * HTTP_SERVER_RESTART_NEEDED returned with err naming them. Returns HTTP_SERVER_RELOADED (0) otherwise. Safe
 * while requests are being served, from one of them too (POST /-/reload).
 */
int http_server_reload_tls(struct http_server *srv, const struct web_config *web, char *err, size_t errlen);

/* Stops accepting, finishes within a short bound, frees. NULL-safe. */
void http_server_free(struct http_server *srv);

/* The port actually bound (useful with port 0 in tests). */
unsigned http_server_port(const struct http_server *srv);

/* test hook: */

/* Connections closed to make room for new ones past max_connections (silent, slow or idle ones first). */
unsigned long http_server_evictions(struct http_server *srv);

/*
 * Whether an Accept-Encoding value lets the answer be gzip: "gzip" or "x-gzip" with a q-value above 0, or,
 * when neither is named, "*" with a q-value above 0 ("gzip;q=0" refuses it). NULL (no header) means no.
 */
bool http_accepts_gzip(const char *accept_encoding);
