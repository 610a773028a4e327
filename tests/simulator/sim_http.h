/* sim_http: the libmicrohttpd server: raw request lines, bodies, SigV4 checks, faults, routing */
#pragma once

#include <stddef.h>
#include <stdio.h>

#include "sim_state.h"

struct sim_http {
	struct MHD_Daemon *daemon;
	struct sim_state *st;
	FILE *request_log; /* NULL: none; one JSON line per API request, written under st's lock */
};

/* TLS for the listener: PEM text of the certificate chain and of its private key. */
struct sim_http_tls {
	const char *cert_pem;
	const char *key_pem;
};

/*
 * Listens on listen ("127.0.0.1:0", "[::1]:8080", "localhost:0") and serves st from MHD's own
 * threads, over TLS when tls is not NULL (-ENOTSUP when libmicrohttpd has no TLS). request_log,
 * when not NULL, receives every API request and its answer as one JSON line (see README.md).
 * On success writes "HOST:PORT" as bound to bound and returns 0; -EINVAL for a bad address, a
 * negative errno for socket errors, -EIO when MHD does not start.
 */
int sim_http_start(struct sim_http *h, struct sim_state *st, const char *listen, const struct sim_http_tls *tls,
	FILE *request_log, char *bound, size_t boundlen);

/* Stops serving: waits for the connection threads, closes the socket. NULL-safe on a stopped server. */
void sim_http_stop(struct sim_http *h);
