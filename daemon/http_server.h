/* http_server: libmicrohttpd serving /metrics, /, /-/healthy, /-/ready */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "metrics.h"

struct http_server;

/*
 * Listens on listen ("127.0.0.1:9753", "[::]:9753", ":9753") and serves the store.
 * Returns 0, -EADDRINUSE, -EACCES, -EINVAL (bad address) with a message in err.
 */
int http_server_new(struct http_server **out, const char *listen, struct metrics_store *store, char *err,
	size_t errlen);

/* Stops accepting, finishes within a short bound, frees. NULL-safe. */
void http_server_free(struct http_server *srv);

/* The port actually bound (useful with port 0 in tests). */
unsigned http_server_port(const struct http_server *srv);

/*
 * Whether an Accept-Encoding value lets the answer be gzip: "gzip" or "x-gzip" with a q-value above 0, or,
 * when neither is named, "*" with a q-value above 0 ("gzip;q=0" refuses it). NULL (no header) means no.
 */
bool http_accepts_gzip(const char *accept_encoding);
