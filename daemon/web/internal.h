/* web internal: what the server's files (http_server, door, tls, listen) share; not for use outside daemon/web */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "config/config.h"
#include "metrics/store.h"
#include "web/http_server.h"
#include "web/web_auth.h"

/* The fixed answers, built once (see canned_build in http_server.c). */
enum web_canned {
	CANNED_LANDING,
	CANNED_HEALTHY,
	CANNED_READY,
	CANNED_NOT_READY,
	CANNED_NOT_FOUND,
	CANNED_NOT_ALLOWED,
	CANNED_ERROR,
	CANNED_UNAUTHORIZED,
	CANNED_FORBIDDEN,
	CANNED_POST_ONLY,
	CANNED_RELOADED,
	CANNED_COUNT,
};

/* One connection, from accept to close (libmicrohttpd's socket context; door.c keeps them). */
struct web_conn {
	struct http_server *srv;
	struct web_conn *prev, *next; /* in srv->idle while no request is being answered */
	int fd;
	bool idle_linked;
	bool evicted;
	int64_t started_ms; /* accepted (monotonic) */
};

/* A connection in the door's room: accepted, not yet handed to libmicrohttpd. */
struct web_door_guest {
	struct web_door_guest *prev, *next; /* oldest first */
	int fd;
	int64_t since_ms;
	socklen_t addr_len;
	struct sockaddr_storage addr;
};

/* The thread in front of libmicrohttpd that accepts connections (door.c). */
struct web_door {
	int listen_fd, epoll_fd, stop_fd; /* -1 when not open */
	pthread_t thread;
	bool running;
	struct web_door_guest *head, *tail;
	unsigned n_guests;
	int64_t paused_until_ms; /* accept() paused (out of descriptors) until then; 0: not paused */
};

struct tls_cert;

struct http_server {
	struct MHD_Daemon *daemon;
	struct web_door door;
	struct metrics_store *store;
	unsigned port;
	/* Fixed answers, built once and queued by reference. */
	struct MHD_Response *canned[CANNED_COUNT];

	/* What the daemon was started with: changing these takes a restart. */
	bool tls;
	enum web_tls_version tls_min_version;
	unsigned max_connections, connection_timeout_seconds;
	size_t max_request_size;

	pthread_mutex_t tls_lock;
	struct tls_cert *cert; /* under tls_lock (config/tls_cert.h) */

	pthread_mutex_t auth_lock;
	struct web_auth *auth; /* under auth_lock; NULL: no authentication */
	atomic_bool health_without_auth;
	atomic_bool enable_lifecycle; /* POST /-/reload allowed */
	struct http_server_lifecycle lifecycle;

	/*
	 * Connections waiting for a request (just accepted, mid-handshake, sending headers, or kept alive
	 * between scrapes), oldest first. Past max_connections the one of these that deserves its slot least
	 * (conn_worth in door.c) is closed, so that slow, silent or idle clients cannot hold every slot.
	 */
	pthread_mutex_t conn_lock;
	struct web_conn *idle_head, *idle_tail;
	unsigned n_conns;
	unsigned n_closing; /* evicted, counted in n_conns until their thread closes them */
	unsigned long evictions;
	bool locks_ready;
};

/* http_server.c */

/* Formats a message into err (NULL or errlen 0: nothing). */
void web_set_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* door.c: the connections libmicrohttpd serves, ranked and evicted past max_connections */

/* MHD_OPTION_NOTIFY_CONNECTION (cls: the server): tracks each connection, evicts the worst past the limit. */
void web_conn_notify(
	void *cls, struct MHD_Connection *mc, void **socket_context, enum MHD_ConnectionNotificationCode code);
/* MHD_OPTION_NOTIFY_COMPLETED (cls: the server): the connection waits for its next request. */
void web_conn_request_completed(
	void *cls, struct MHD_Connection *mc, void **req_cls, enum MHD_RequestTerminationCode toe);
/* A request's headers are in: its connection is busy (not to be evicted) until the answer is sent. */
void web_conn_busy(struct http_server *srv, struct MHD_Connection *mc);
/* The tracking of mc, NULL when untracked. */
struct web_conn *web_conn_of(struct MHD_Connection *mc);

/* door.c: the door itself */

/* Sets the door's descriptors to -1 (closed); web_door_close() is then safe. */
void web_door_init(struct web_door *d);
/* Takes listen_fd (closed by web_door_close, on failure too) and starts the thread. Returns 0 or -errno. */
int web_door_open(struct http_server *srv, int listen_fd, char *err, size_t errlen);
/* Stops the door (if running) and closes every descriptor it holds, the listening socket included. */
void web_door_close(struct http_server *srv);

/* tls.c */

/* The GnuTLS priority string for a minimum version. */
const char *web_tls_priorities(enum web_tls_version min_version);
/* The certificate callback (serving srv->cert of the connection's server), as MHD_OPTION_HTTPS_CERT_CALLBACK2 takes it.
 */
void *web_tls_cert_callback(void);

/* listen.c */

/*
 * Creates, binds and listens on the first address of address (listen_addr_parse syntax) that works; the port
 * actually bound goes to *port_out. Returns the socket, or -errno with a message in err.
 */
int web_listen_open(const char *address, unsigned *port_out, char *err, size_t errlen);
