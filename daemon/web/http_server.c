/* http_server: libmicrohttpd serving /metrics from shared pieces (gzip when accepted), /, /-/healthy, /-/ready */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <limits.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_received (Linux 4.1) */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "web/http_server.h"
#include "config/tls_cert.h"
#include "util/log.h"
#include "web/web_auth.h"

#ifndef EXPORTER_VERSION
#define EXPORTER_VERSION "unknown"
#endif

/*
 * A thread per connection: a client that is slow to send (slowloris) or to read only blocks its own thread,
 * and a bcrypt check (tens of milliseconds) does not hold up other scrapers. The stack stays small: nothing
 * big lives on it (struct crypt_data is allocated).
 */
#define THREAD_STACK_SIZE (512u * 1024u)
/* libmicrohttpd's limit: room for the connections being closed to make room (see conn_notify). */
#define CONNECTION_HARD_LIMIT(max) ((max)*8u)
/* libmicrohttpd's messages (mostly about misbehaving clients) logged per second; the rest are counted. */
#define MHD_LOG_PER_SECOND 5u
/* Eviction ranking (conn_worth): how new connections are judged, before their byte rate means much. */
#define NEW_CONNECTION_GRACE_MS 1000
#define DEFER_ACCEPT_SECONDS 5
#define NEW_CONNECTION_REAL_BYTES 64 /* a request line and Host, or a TLS ClientHello, are more */
#define NEW_CONNECTION_WORTH 200 /* bytes per second: above a slowloris, below a real client */
/*
 * The door (door_run): connections wait in its room, costing a descriptor and no thread, until they have sent
 * what a client sends first, at most DOOR_WAIT_MS. At most DOOR_ROOM wait; past that the one waiting longest is
 * closed.
 */
#define DOOR_WAIT_MS 1000
#define DOOR_ROOM 256u
#define DOOR_EVENTS 64
#define DOOR_PAUSE_MS 100 /* out of descriptors: accept() is tried again after this */
/* TLS: 1.2 and 1.3, or 1.3 only; GnuTLS's NORMAL set of ciphers otherwise. */
#define TLS_PRIORITIES_TLS12 "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define TLS_PRIORITIES_TLS13 "NORMAL:-VERS-ALL:+VERS-TLS1.3"
#define AUTH_REALM "Basic realm=\"deadline-cloud-exporter\""

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_CONTENT_TYPE "text/plain; charset=utf-8"

enum canned {
	CANNED_LANDING,
	CANNED_HEALTHY,
	CANNED_READY,
	CANNED_NOT_READY,
	CANNED_NOT_FOUND,
	CANNED_NOT_ALLOWED,
	CANNED_ERROR,
	CANNED_UNAUTHORIZED,
	CANNED_COUNT,
};

/* One connection, from accept to close (libmicrohttpd's socket context). */
struct conn {
	struct http_server *srv;
	struct conn *prev, *next; /* in srv->idle while no request is being answered */
	int fd;
	bool idle_linked;
	bool evicted;
	int64_t started_ms; /* accepted (monotonic) */
};

/* A connection in the door's room: accepted, not yet handed to libmicrohttpd. */
struct door_guest {
	struct door_guest *prev, *next; /* oldest first */
	int fd;
	int64_t since_ms;
	socklen_t addr_len;
	struct sockaddr_storage addr;
};

struct door {
	int listen_fd, epoll_fd, stop_fd; /* -1 when not open */
	pthread_t thread;
	bool running;
	struct door_guest *head, *tail;
	unsigned n_guests;
	int64_t paused_until_ms; /* accept() paused (out of descriptors) until then; 0: not paused */
};

struct http_server {
	struct MHD_Daemon *daemon;
	struct door door;
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
	struct tls_cert *cert; /* under tls_lock */

	pthread_mutex_t auth_lock;
	struct web_auth *auth; /* under auth_lock; NULL: no authentication */
	atomic_bool health_without_auth;

	/*
	 * Connections waiting for a request (just accepted, mid-handshake, sending headers, or kept alive
	 * between scrapes), oldest first. Past max_connections the one of these that deserves its slot least
	 * (conn_worth) is closed, so that slow, silent or idle clients cannot hold every slot against a scraper.
	 */
	pthread_mutex_t conn_lock;
	struct conn *idle_head, *idle_tail;
	unsigned n_conns;
	unsigned n_closing; /* evicted, counted in n_conns until their thread closes them */
	unsigned long evictions;
	bool locks_ready;
};

static const char landing_page[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\">\n"
	"<head><meta charset=\"utf-8\"><title>Deadline Cloud exporter</title></head>\n"
	"<body>\n"
	"<h1>Deadline Cloud exporter</h1>\n"
	"<p>AWS Deadline Cloud usage statistics (cost, run time, sessions) for Prometheus.</p>\n"
	"<ul>\n"
	"<li><a href=\"/metrics\">/metrics</a>: the figures</li>\n"
	"<li><a href=\"/-/healthy\">/-/healthy</a>: liveness</li>\n"
	"<li><a href=\"/-/ready\">/-/ready</a>: 200 once every report has been refreshed once</li>\n"
	"</ul>\n"
	"<p>Version " EXPORTER_VERSION "</p>\n"
	"</body>\n"
	"</html>\n";

static const struct {
	const char *body;
	const char *content_type;
} canned_texts[CANNED_COUNT] = {
	[CANNED_LANDING] = {landing_page, "text/html; charset=utf-8"},
	[CANNED_HEALTHY] = {"OK", TEXT_CONTENT_TYPE},
	[CANNED_READY] = {"OK", TEXT_CONTENT_TYPE},
	[CANNED_NOT_READY] = {"Not ready: waiting for the first refresh of every (farm, report)", TEXT_CONTENT_TYPE},
	[CANNED_NOT_FOUND] = {"Not Found", TEXT_CONTENT_TYPE},
	[CANNED_NOT_ALLOWED] = {"Method Not Allowed", TEXT_CONTENT_TYPE},
	[CANNED_ERROR] = {"Internal Server Error", TEXT_CONTENT_TYPE},
	[CANNED_UNAUTHORIZED] = {"Unauthorized", TEXT_CONTENT_TYPE},
};

static void set_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* A qvalue (RFC 9110): "0" or "1", up to three decimals, at most 1; in thousandths, -1 when malformed. */
static int parse_qvalue(const char **pp)
{
	const char *p = *pp;
	int q, scale = 100;

	if (*p != '0' && *p != '1')
		return -1;
	q = (*p++ - '0') * 1000;
	if (*p == '.') {
		p++;
		for (int i = 0; i < 3 && *p >= '0' && *p <= '9'; i++, p++) {
			q += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (q > 1000)
		return -1;
	*pp = p;
	return q;
}

/* What the Accept-Encoding headers of one request said about gzip: q in thousandths, -1 when not named. */
struct accept_state {
	int gzip_q;
	int star_q;
};

static void accept_parse(struct accept_state *st, const char *v)
{
	const char *p = v;

	while (p && *p) {
		while (is_ows(*p) || *p == ',')
			p++;
		if (!*p)
			break;
		const char *coding = p;
		while (*p && *p != ',' && *p != ';' && !is_ows(*p))
			p++;
		size_t len = (size_t)(p - coding);
		int q = 1000;
		bool valid = true;
		while (*p && *p != ',') {
			while (is_ows(*p))
				p++;
			if (*p == ',' || !*p)
				break;
			if (*p != ';') {
				valid = false;
				p++;
				continue;
			}
			p++;
			while (is_ows(*p))
				p++;
			if ((*p == 'q' || *p == 'Q') && p[1] == '=') {
				p += 2;
				q = parse_qvalue(&p);
				if (q < 0)
					valid = false;
			}
			/* The rest of this parameter (or an unknown one): not ours to judge. */
			while (*p && *p != ',' && *p != ';')
				p++;
		}
		if (!valid)
			continue;
		if ((len == 4 && strncasecmp(coding, "gzip", 4) == 0) ||
			(len == 6 && strncasecmp(coding, "x-gzip", 6) == 0)) {
			if (q > st->gzip_q)
				st->gzip_q = q;
		} else if (len == 1 && coding[0] == '*') {
			if (q > st->star_q)
				st->star_q = q;
		}
	}
}

static bool accept_gzip(const struct accept_state *st)
{
	if (st->gzip_q >= 0)
		return st->gzip_q > 0;
	return st->star_q > 0;
}

bool http_accepts_gzip(const char *accept_encoding)
{
	struct accept_state st = {-1, -1};

	accept_parse(&st, accept_encoding);
	return accept_gzip(&st);
}

static enum MHD_Result accept_header_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	if (key && value && strcasecmp(key, MHD_HTTP_HEADER_ACCEPT_ENCODING) == 0)
		accept_parse(cls, value);
	return MHD_YES;
}

static void scrape_response_free(void *cls)
{
	struct metrics_scrape *sc = cls;

	metrics_scrape_release(sc);
	free(sc);
}

static enum MHD_Result queue_canned(
	struct http_server *srv, struct MHD_Connection *conn, unsigned status, enum canned which)
{
	return MHD_queue_response(conn, status, srv->canned[which]);
}

static enum MHD_Result serve_metrics(struct http_server *srv, struct MHD_Connection *conn)
{
	struct accept_state st = {-1, -1};
	struct MHD_IoVec *iov;
	struct MHD_Response *resp;
	struct metrics_scrape *sc;
	enum MHD_Result ret;
	bool gzip;
	int r;

	if (MHD_get_connection_values(conn, MHD_HEADER_KIND, accept_header_cb, &st) < 0)
		return MHD_NO;
	gzip = accept_gzip(&st);
	sc = malloc(sizeof(*sc));
	if (!sc)
		return queue_canned(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, CANNED_ERROR);
	r = metrics_store_scrape(srv->store, gzip, sc);
	if (r < 0) {
		free(sc);
		log_error("component=http path=/metrics status=500 error=\"%s\"", strerror(-r));
		return queue_canned(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, CANNED_ERROR);
	}
	iov = calloc(sc->n_iov ? sc->n_iov : 1, sizeof(*iov));
	if (!iov) {
		scrape_response_free(sc);
		return queue_canned(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, CANNED_ERROR);
	}
	for (unsigned i = 0; i < sc->n_iov; i++) {
		iov[i].iov_base = sc->iov[i].iov_base;
		iov[i].iov_len = sc->iov[i].iov_len;
	}
	/*
	 * The body is the scrape's shared pieces, not a copy (MHD copies only this array of pointers); MHD
	 * releases them when the response is done.
	 */
	resp = MHD_create_response_from_iovec(iov, sc->n_iov, scrape_response_free, sc);
	free(iov);
	if (!resp) {
		scrape_response_free(sc);
		return queue_canned(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, CANNED_ERROR);
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE) != MHD_YES ||
		MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING) != MHD_YES ||
		(gzip && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip") != MHD_YES)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct conn *conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Under conn_lock. */
static void idle_unlink(struct http_server *srv, struct conn *c)
{
	if (!c->idle_linked)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->idle_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		srv->idle_tail = c->prev;
	c->prev = c->next = NULL;
	c->idle_linked = false;
}

/* Under conn_lock: c waits for a request from now on, behind every connection that waited longer. */
static void idle_append(struct http_server *srv, struct conn *c)
{
	if (c->idle_linked || c->evicted)
		return;
	c->prev = srv->idle_tail;
	c->next = NULL;
	if (srv->idle_tail)
		srv->idle_tail->next = c;
	else
		srv->idle_head = c;
	srv->idle_tail = c;
	c->idle_linked = true;
}

/*
 * How much c deserves its slot. A request or ClientHello waiting to be read (a few bytes are not: a flood can
 * send those, and with TCP_DEFER_ACCEPT every new connection has some): the turn is ours, never evicted. In its first
 * NEW_CONNECTION_GRACE_MS: high when it has sent a request or a TLS ClientHello (hundreds of bytes at once, as
 * a scraper does), low otherwise (nothing or a few bytes yet). After that: the bytes per second it has sent
 * since it was accepted: nothing for a flood, a few for a slowloris, a request per scrape for a keep-alive.
 * Among equals, the connection that has waited longest goes first (see idle_evict_worst).
 */
static uint64_t conn_worth(const struct conn *c, int64_t now_ms)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int unread = 0;
	int64_t age = now_ms - c->started_ms;

	if (ioctl(c->fd, FIONREAD, &unread) == 0 && unread >= NEW_CONNECTION_REAL_BYTES)
		return UINT64_MAX;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
		len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
		return 0;
	if (age < NEW_CONNECTION_GRACE_MS)
		return ti.tcpi_bytes_received >= NEW_CONNECTION_REAL_BYTES ? UINT64_MAX / 2 : NEW_CONNECTION_WORTH;
	return ti.tcpi_bytes_received * 1000 / (uint64_t)(age + 1);
}

/*
 * Under conn_lock: closes the waiting connection worth least (conn_worth), the one that waited longest among
 * equals. shutdown() only: its thread sees the end of the stream and libmicrohttpd closes it; the descriptor
 * stays valid until then because libmicrohttpd reports the close (conn_notify) before closing it, under this
 * lock.
 */
static void idle_evict_worst(struct http_server *srv)
{
	struct conn *victim = NULL;
	uint64_t victim_worth = 0;
	int64_t now = monotonic_ms();

	for (struct conn *c = srv->idle_head; c; c = c->next) {
		uint64_t worth = conn_worth(c, now);
		if (!victim || worth < victim_worth) {
			victim = c;
			victim_worth = worth;
		}
	}
	if (!victim)
		return;
	idle_unlink(srv, victim);
	victim->evicted = true;
	srv->n_closing++;
	srv->evictions++;
	if (shutdown(victim->fd, SHUT_RDWR) < 0 && errno != ENOTCONN)
		log_debug("component=http op=evict status=error error=\"%s\"", strerror(errno));
}

static void conn_notify(
	void *cls, struct MHD_Connection *mc, void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	struct http_server *srv = cls;
	struct conn *c = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);

		c = calloc(1, sizeof(*c));
		if (!c)
			return; /* untracked: served all the same, never evicted */
		c->srv = srv;
		c->fd = ci ? ci->connect_fd : -1;
		c->started_ms = monotonic_ms();
		pthread_mutex_lock(&srv->conn_lock);
		/*
		 * Should libmicrohttpd ever close a descriptor before reporting the close, the number could already
		 * be this new connection's: the old entry must then never be shut down.
		 */
		for (struct conn *o = srv->idle_head; o && c->fd >= 0; o = o->next) {
			if (o->fd == c->fd) {
				idle_unlink(srv, o);
				o->evicted = true;
				srv->n_closing++;
				break;
			}
		}
		srv->n_conns++;
		/*
		 * Past max_connections the waiting connection worth least goes (conn_worth), the newcomer included:
		 * a newcomer worth less than everyone waiting closes itself. An evicted connection closes a moment
		 * later (its thread must notice) and no longer counts, or a burst would evict one connection per
		 * arrival down to the best; libmicrohttpd's own limit, which refuses newcomers scrapers included,
		 * sits higher (CONNECTION_HARD_LIMIT) so that a burst does not reach it.
		 */
		if (c->fd >= 0)
			idle_append(srv, c);
		if (srv->n_conns - srv->n_closing > srv->max_connections)
			idle_evict_worst(srv);
		pthread_mutex_unlock(&srv->conn_lock);
		*socket_context = c;
		return;
	}
	if (!c)
		return;
	pthread_mutex_lock(&srv->conn_lock);
	idle_unlink(srv, c);
	srv->n_conns--;
	if (c->evicted)
		srv->n_closing--;
	pthread_mutex_unlock(&srv->conn_lock);
	free(c);
	*socket_context = NULL;
}

/* A request's headers are in: its connection is busy (not to be evicted) until the answer is sent. */
static void conn_busy(struct http_server *srv, struct MHD_Connection *mc)
{
	struct conn *c = conn_of(mc);

	if (!c)
		return;
	pthread_mutex_lock(&srv->conn_lock);
	idle_unlink(srv, c);
	pthread_mutex_unlock(&srv->conn_lock);
}

static void request_completed(void *cls, struct MHD_Connection *mc, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct conn *c = conn_of(mc);

	(void)toe;
	*req_cls = NULL;
	if (!c)
		return;
	pthread_mutex_lock(&srv->conn_lock);
	idle_append(srv, c);
	pthread_mutex_unlock(&srv->conn_lock);
}

/* Whether the request may go on: 0 yes, WEB_AUTH_DENIED no, -ENOMEM. */
static int request_authorize(struct http_server *srv, struct MHD_Connection *conn, const char *url)
{
	struct web_auth *auth;
	int r;

	if (strcmp(url, "/-/healthy") == 0 && atomic_load(&srv->health_without_auth))
		return 0;
	pthread_mutex_lock(&srv->auth_lock);
	auth = web_auth_ref(srv->auth);
	pthread_mutex_unlock(&srv->auth_lock);
	if (!auth)
		return 0;
	r = web_auth_check(auth, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
		monotonic_ms());
	web_auth_unref(auth);
	return r;
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	static int request_allowed, request_denied;
	struct http_server *srv = cls;

	(void)version;
	(void)upload_data;
	if (!*req_cls) {
		int r;

		conn_busy(srv, conn);
		/* Credentials first: without them, not even which paths or methods exist is told. */
		r = request_authorize(srv, conn, url);
		if (r < 0)
			return queue_canned(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, CANNED_ERROR);
		*req_cls = r == 0 ? &request_allowed : &request_denied;
		/* Refused at once, before reading any body: MHD then closes the connection, which suits a stray upload.
		 */
		if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
			if (r != 0)
				return queue_canned(srv, conn, MHD_HTTP_UNAUTHORIZED, CANNED_UNAUTHORIZED);
			return queue_canned(srv, conn, MHD_HTTP_METHOD_NOT_ALLOWED, CANNED_NOT_ALLOWED);
		}
		/*
		 * Answering GET and HEAD on the first call (headers only) would make MHD close the connection;
		 * answering once the request is complete keeps it alive for the scraper's next visit.
		 */
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* a body on a GET means nothing here */
		return MHD_YES;
	}
	if (*req_cls == &request_denied)
		return queue_canned(srv, conn, MHD_HTTP_UNAUTHORIZED, CANNED_UNAUTHORIZED);
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(srv, conn);
	if (strcmp(url, "/") == 0)
		return queue_canned(srv, conn, MHD_HTTP_OK, CANNED_LANDING);
	if (strcmp(url, "/-/healthy") == 0)
		return queue_canned(srv, conn, MHD_HTTP_OK, CANNED_HEALTHY);
	if (strcmp(url, "/-/ready") == 0) {
		if (metrics_store_ready(srv->store))
			return queue_canned(srv, conn, MHD_HTTP_OK, CANNED_READY);
		return queue_canned(srv, conn, MHD_HTTP_SERVICE_UNAVAILABLE, CANNED_NOT_READY);
	}
	return queue_canned(srv, conn, MHD_HTTP_NOT_FOUND, CANNED_NOT_FOUND);
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
	struct conn *c = mc ? conn_of(mc) : NULL;
	struct http_server *srv = c ? c->srv : NULL;
	gnutls_pcert_st *pcerts = NULL;
	gnutls_privkey_t key = NULL;
	unsigned done = 0, n = 0;
	int g = GNUTLS_E_INTERNAL_ERROR;

	(void)info;
	if (!srv)
		return -1;
	pthread_mutex_lock(&srv->tls_lock);
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
	pthread_mutex_unlock(&srv->tls_lock);
	if (g < 0) {
		for (unsigned i = 0; i < done; i++)
			gnutls_pcert_deinit(&pcerts[i]);
		gnutls_free(pcerts);
		if (key)
			gnutls_privkey_deinit(key);
		log_warning("component=http op=tls_handshake status=error error=\"%s\"", gnutls_strerror(g));
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

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	/* A flood of misbehaving clients must not become a flood of log lines: a few a second, then a count. */
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static time_t window;
	static unsigned in_window, suppressed;
	char msg[512];
	unsigned dropped = 0;
	bool show;
	size_t n;
	time_t now = time(NULL);

	(void)cls;
	pthread_mutex_lock(&lock);
	if (now != window) {
		dropped = suppressed;
		window = now;
		in_window = suppressed = 0;
	}
	show = in_window < MHD_LOG_PER_SECOND;
	if (show)
		in_window++;
	else
		suppressed++;
	pthread_mutex_unlock(&lock);
	if (dropped)
		log_info("component=http msg=\"%u more messages from libmicrohttpd in the previous second\"", dropped);
	if (!show)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	/* Mostly clients that went away or misbehaved: worth a line, not an alarm. */
	log_info("component=http msg=\"%s\"", msg);
}

/*
 * Splits "host:port", "[v6]:port" or ":port" into host (empty for every IPv4 interface) and port.
 * Returns 0 or -EINVAL.
 */
static int listen_split(const char *address, char *host, size_t host_size, char *port, size_t port_size)
{
	const char *colon, *h;
	size_t hlen;

	if (address[0] == '[') {
		const char *close = strchr(address, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		h = address + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
		if (hlen == 0)
			return -EINVAL;
	} else {
		colon = strrchr(address, ':');
		if (!colon)
			return -EINVAL;
		h = address;
		hlen = (size_t)(colon - address);
		/* A bare IPv6 address is ambiguous: it must be written in brackets. */
		if (memchr(h, ':', hlen))
			return -EINVAL;
	}
	const char *p = colon + 1;
	size_t plen = strlen(p);
	if (plen == 0 || plen > 5 || strspn(p, "0123456789") != plen || strtoul(p, NULL, 10) > 65535)
		return -EINVAL;
	if (hlen >= host_size || plen >= port_size)
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memcpy(port, p, plen + 1);
	return 0;
}

static void address_text(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, size, "?");
		return;
	}
	snprintf(out, size, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

/* Creates, binds and listens on the first address of address that works. Returns the socket or -errno. */
static int listen_open(const char *address, unsigned *port_out, char *err, size_t errlen)
{
	char host[256], port[8], where[NI_MAXHOST + NI_MAXSERV + 4] = "";
	struct addrinfo hints, *res = NULL;
	int r, fd = -1, last = -EINVAL;
	const char *failed = "no address";

	if (!address || listen_split(address, host, sizeof(host), port, sizeof(port)) < 0) {
		set_error(err, errlen, "listen address \"%s\": expected host:port, [ipv6]:port or :port",
			address ? address : "(null)");
		return -EINVAL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (host[0] == '\0') {
		/* ":9753" means every IPv4 interface; "[::]:9753" is the IPv6 spelling. */
		hints.ai_family = AF_INET;
		hints.ai_flags |= AI_PASSIVE;
	} else {
		hints.ai_family = AF_UNSPEC;
	}
	r = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (r != 0) {
		set_error(err, errlen, "listen address \"%s\": %s", address,
			r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		if (r == EAI_MEMORY)
			return -ENOMEM;
		if (r == EAI_SYSTEM && errno)
			return -errno;
		return r == EAI_AGAIN ? -EAGAIN : -EINVAL;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		static const int one = 1;
		/*
		 * Scrapers and TLS clients speak first: the kernel hands a connection over only once its first bytes
		 * are in, so a flood of connections that never send anything costs no thread and takes no slot from
		 * a scraper (silent ones are handed over after about this long and then judged like any other).
		 */
		static const int defer_seconds = DEFER_ACCEPT_SECONDS;
		address_text(ai->ai_addr, ai->ai_addrlen, where, sizeof(where));
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			last = -errno;
			failed = "socket";
			continue;
		}
		/* A restart must not wait for the previous process's connections in TIME_WAIT. */
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
			(ai->ai_family == AF_INET6 &&
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)) {
			last = -errno;
			failed = "setsockopt";
		} else if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			last = -errno;
			failed = "bind";
		} else if (listen(fd, SOMAXCONN) < 0) {
			last = -errno;
			failed = "listen";
		} else if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_seconds, sizeof(defer_seconds)) < 0) {
			last = -errno;
			failed = "setsockopt TCP_DEFER_ACCEPT";
		} else {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
				last = -errno;
				failed = "getsockname";
			} else {
				*port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							: ((struct sockaddr_in *)&ss)->sin_port);
				break;
			}
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		set_error(err, errlen, "listen address \"%s\": %s %s: %s", address, failed, where, strerror(-last));
		return last;
	}
	return fd;
}

/* The web settings the server uses: web's, or the defaults. */
/*
 * The door: a thread of ours accepts every connection and hands it to libmicrohttpd (which gives it a thread)
 * only once it has sent what a client sends first: a TLS ClientHello or a request line with its headers,
 * NEW_CONNECTION_REAL_BYTES or a whole short request. One that closes having sent less is closed here, for the price of
 * an accept() and a close(); one that says too little for DOOR_WAIT_MS is handed over all the same and judged
 * like any other (conn_worth). Under a connection flood the kernel's accept queue then stays short: with a
 * thread created per flood connection it filled (4,096 waiting), a scraper's connection waited behind the
 * whole queue, and a full queue dropped its SYN (a second's retransmission).
 */
static const char *door_marker_listen = "listen", *door_marker_stop = "stop";

static void door_unlink(struct door *d, struct door_guest *g)
{
	if (g->prev)
		g->prev->next = g->next;
	else
		d->head = g->next;
	if (g->next)
		g->next->prev = g->prev;
	else
		d->tail = g->prev;
	d->n_guests--;
}

/* Out of the room: to libmicrohttpd, or closed. */
static void door_release(struct http_server *srv, struct door_guest *g, bool hand_over)
{
	struct door *d = &srv->door;

	door_unlink(d, g);
	epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, g->fd, NULL);
	if (!hand_over)
		close(g->fd);
	else /* on failure (its own limit, out of memory) libmicrohttpd closes it and logs why */
		(void)MHD_add_connection(srv->daemon, g->fd, (const struct sockaddr *)&g->addr, g->addr_len);
	free(g);
}

/* Has g said enough to be handed over (1), gone away having said too little (-1), or not yet (0)? */
static int door_judge(struct door_guest *g, bool peer_closed)
{
	char buf[NEW_CONNECTION_REAL_BYTES];
	ssize_t n = recv(g->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? (peer_closed ? -1 : 0) : -1;
	if (n == 0)
		return -1;
	if ((size_t)n >= sizeof(buf) || memmem(buf, (size_t)n, "\n\r\n", 3) || memmem(buf, (size_t)n, "\n\n", 2))
		return 1;
	return peer_closed ? -1 : 0;
}

/* Pauses accept() until until_ms (out of descriptors or memory), or resumes it (0). */
static void door_pause_until(struct http_server *srv, int64_t until_ms)
{
	struct door *d = &srv->door;
	struct epoll_event ev = {.events = until_ms ? 0 : EPOLLIN, .data.ptr = (void *)door_marker_listen};

	d->paused_until_ms = until_ms;
	epoll_ctl(d->epoll_fd, EPOLL_CTL_MOD, d->listen_fd, &ev);
}

static void door_accept(struct http_server *srv, int64_t now)
{
	struct door *d = &srv->door;

	for (;;) {
		struct sockaddr_storage addr;
		socklen_t addr_len = sizeof(addr);
		struct door_guest *g;
		struct epoll_event ev;
		int verdict, fd = accept4(d->listen_fd, (struct sockaddr *)&addr, &addr_len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			int e = errno;
			if (e == EINTR || e == ECONNABORTED || e == EPROTO)
				continue;
			if (e == EAGAIN || e == EWOULDBLOCK)
				return;
			/* Out of descriptors or memory: the one waiting longest makes room, or accept() rests a while. */
			if ((e == EMFILE || e == ENFILE) && d->head) {
				door_release(srv, d->head, false);
				continue;
			}
			log_warning("component=http op=accept status=error error=\"%s\" pause_ms=%d", strerror(e),
				DOOR_PAUSE_MS);
			door_pause_until(srv, now + DOOR_PAUSE_MS);
			return;
		}
		g = calloc(1, sizeof(*g));
		if (!g) {
			close(fd);
			door_pause_until(srv, now + DOOR_PAUSE_MS);
			return;
		}
		g->fd = fd;
		g->addr = addr;
		g->addr_len = addr_len;
		g->since_ms = now;
		g->prev = d->tail;
		if (d->tail)
			d->tail->next = g;
		else
			d->head = g;
		d->tail = g;
		d->n_guests++;
		verdict = door_judge(g, false);
		if (verdict != 0) {
			door_release(srv, g, verdict > 0);
			continue;
		}
		ev = (struct epoll_event){.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = g};
		if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, g->fd, &ev) < 0) {
			door_release(srv, g, true);
			continue;
		}
		if (d->n_guests > DOOR_ROOM)
			door_release(srv, d->head, false);
	}
}

static void *door_run(void *arg)
{
	struct http_server *srv = arg;
	struct door *d = &srv->door;
	struct epoll_event events[DOOR_EVENTS];

	for (;;) {
		int64_t now = monotonic_ms(), wait_ms = -1;
		bool listen_ready = false;
		int n;

		if (d->head)
			wait_ms = d->head->since_ms + DOOR_WAIT_MS - now;
		if (d->paused_until_ms && (!d->head || d->paused_until_ms - now < wait_ms))
			wait_ms = d->paused_until_ms - now;
		if ((d->head || d->paused_until_ms) && wait_ms < 0)
			wait_ms = 0;
		n = epoll_wait(d->epoll_fd, events, DOOR_EVENTS, (int)(wait_ms > INT_MAX ? INT_MAX : wait_ms));
		if (n < 0 && errno != EINTR) {
			log_error("component=http op=epoll_wait status=error error=\"%s\"", strerror(errno));
			break;
		}
		now = monotonic_ms();
		/* A guest released here is its own event's; accepting (which may close others) comes after. */
		for (int i = 0; i < n; i++) {
			void *ptr = events[i].data.ptr;
			if (ptr == door_marker_stop)
				goto out;
			if (ptr == door_marker_listen) {
				listen_ready = true;
			} else {
				struct door_guest *g = ptr;
				int verdict = door_judge(g, (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
				if (verdict != 0)
					door_release(srv, g, verdict > 0);
			}
		}
		if (listen_ready)
			door_accept(srv, now);
		while (d->head && now - d->head->since_ms >= DOOR_WAIT_MS)
			door_release(srv, d->head, true);
		if (d->paused_until_ms && now >= d->paused_until_ms)
			door_pause_until(srv, 0);
	}
out:
	return NULL;
}

/* Stops the door (if running) and closes every descriptor it holds, the listening socket included. */
static void door_close(struct http_server *srv)
{
	struct door *d = &srv->door;

	if (d->running) {
		uint64_t one = 1;
		if (write(d->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
			log_error("component=http op=stop status=error error=\"%s\"", strerror(errno));
		pthread_join(d->thread, NULL);
		d->running = false;
	}
	while (d->head) {
		struct door_guest *g = d->head;
		door_unlink(d, g);
		close(g->fd);
		free(g);
	}
	if (d->epoll_fd >= 0)
		close(d->epoll_fd);
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	d->epoll_fd = d->stop_fd = d->listen_fd = -1;
}

/* Takes listen_fd (closed on failure too). */
static int door_open(struct http_server *srv, int listen_fd, char *err, size_t errlen)
{
	struct door *d = &srv->door;
	struct epoll_event ev;
	int r;

	d->listen_fd = listen_fd;
	d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->epoll_fd < 0 || d->stop_fd < 0) {
		r = -errno;
		set_error(err, errlen, "http server: %s", strerror(errno));
		return r;
	}
	ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = (void *)door_marker_listen};
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->listen_fd, &ev) < 0) {
		r = -errno;
		set_error(err, errlen, "http server: epoll: %s", strerror(errno));
		return r;
	}
	ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = (void *)door_marker_stop};
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->stop_fd, &ev) < 0) {
		r = -errno;
		set_error(err, errlen, "http server: epoll: %s", strerror(errno));
		return r;
	}
	r = pthread_create(&d->thread, NULL, door_run, srv);
	if (r != 0) {
		set_error(err, errlen, "http server: cannot start a thread: %s", strerror(r));
		return -r;
	}
	d->running = true;
	return 0;
}

static void web_settings(const struct web_config *web, struct web_config *out)
{
	if (web)
		*out = *web;
	else
		web_config_defaults(out);
}

/* Builds the checker for web's users (none: NULL). Returns 0 or -errno with a message. */
static int auth_build(const struct web_config *web, struct web_auth **out, char *err, size_t errlen)
{
	int r;

	*out = NULL;
	if (web->n_users == 0)
		return 0;
	r = web_auth_new(out, web->users, web->n_users);
	if (r < 0)
		set_error(
			err, errlen, "web.basic_auth_users: %s", r == -EINVAL ? "invalid user or hash" : strerror(-r));
	return r;
}

static int canned_build(struct http_server *srv, char *err, size_t errlen)
{
	for (size_t i = 0; i < CANNED_COUNT; i++) {
		srv->canned[i] = MHD_create_response_from_buffer(
			strlen(canned_texts[i].body), (void *)(uintptr_t)canned_texts[i].body, MHD_RESPMEM_PERSISTENT);
		if (!srv->canned[i] ||
			MHD_add_response_header(srv->canned[i], MHD_HTTP_HEADER_CONTENT_TYPE,
				canned_texts[i].content_type) != MHD_YES ||
			(i == CANNED_NOT_ALLOWED && MHD_add_response_header(srv->canned[i], MHD_HTTP_HEADER_ALLOW,
							    "GET, HEAD") != MHD_YES) ||
			(i == CANNED_UNAUTHORIZED &&
				MHD_add_response_header(srv->canned[i], MHD_HTTP_HEADER_WWW_AUTHENTICATE, AUTH_REALM) !=
					MHD_YES)) {
			set_error(err, errlen, "http server: cannot build responses");
			return -ENOMEM;
		}
	}
	return 0;
}

int http_server_new(struct http_server **out, const char *listen, const struct web_config *web_in,
	struct metrics_store *store, char *err, size_t errlen)
{
	/* Connections come from the door (door_run), not from a listening socket of libmicrohttpd's. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO |
			 MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
	struct MHD_OptionItem tls_options[4];
	struct web_config web;
	struct http_server *srv;
	int fd, r;

	if (!out || !store) {
		set_error(err, errlen, "http server: missing argument");
		return -EINVAL;
	}
	web_settings(web_in, &web);
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		set_error(err, errlen, "http server: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	srv->door.listen_fd = srv->door.epoll_fd = srv->door.stop_fd = -1;
	srv->store = store;
	srv->tls = web.tls_cert_file != NULL;
	srv->tls_min_version = web.tls_min_version;
	srv->max_connections = web.max_connections;
	srv->connection_timeout_seconds = web.connection_timeout_seconds;
	srv->max_request_size = web.max_request_size;
	atomic_init(&srv->health_without_auth, web.health_without_auth);
	if (pthread_mutex_init(&srv->tls_lock, NULL) != 0) {
		free(srv);
		set_error(err, errlen, "http server: cannot create a lock");
		return -ENOMEM;
	}
	if (pthread_mutex_init(&srv->auth_lock, NULL) != 0) {
		pthread_mutex_destroy(&srv->tls_lock);
		free(srv);
		set_error(err, errlen, "http server: cannot create a lock");
		return -ENOMEM;
	}
	if (pthread_mutex_init(&srv->conn_lock, NULL) != 0) {
		pthread_mutex_destroy(&srv->auth_lock);
		pthread_mutex_destroy(&srv->tls_lock);
		free(srv);
		set_error(err, errlen, "http server: cannot create a lock");
		return -ENOMEM;
	}
	srv->locks_ready = true;
	r = canned_build(srv, err, errlen);
	if (r == 0)
		r = auth_build(&web, &srv->auth, err, errlen);
	if (r == 0 && srv->tls) {
		if (!web.tls_key_file) {
			set_error(err, errlen, "web.tls_cert_file without web.tls_key_file");
			r = -EINVAL;
		} else if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES ||
			   MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK2) != MHD_YES) {
			set_error(err, errlen, "web.tls_cert_file: this libmicrohttpd was built without TLS (GnuTLS)");
			r = -EOPNOTSUPP;
		} else {
			r = tls_cert_new(&srv->cert, web.tls_cert_file, web.tls_key_file, err, errlen);
		}
	}
	if (r < 0) {
		http_server_free(srv);
		return r;
	}

	fd = listen_open(listen, &srv->port, err, errlen);
	if (fd < 0) {
		http_server_free(srv);
		return fd;
	}
	tls_options[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	if (srv->tls) {
		flags |= MHD_USE_TLS;
		/* MHD passes options as void *; POSIX (like dlsym) lets a function pointer travel that way. */
		union {
			gnutls_certificate_retrieve_function3 *fn;
			void *ptr;
		} cb = {.fn = tls_cert_cb};
		_Static_assert(sizeof(cb.fn) == sizeof(cb.ptr), "function pointers fit in void *");
		tls_options[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK2, 0, cb.ptr};
		tls_options[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
			(void *)(uintptr_t)(srv->tls_min_version == WEB_TLS13 ? TLS_PRIORITIES_TLS13
									      : TLS_PRIORITIES_TLS12)};
		tls_options[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	}
	srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
		NULL, MHD_OPTION_CONNECTION_LIMIT,
		CONNECTION_HARD_LIMIT(srv->max_connections), MHD_OPTION_CONNECTION_TIMEOUT,
		srv->connection_timeout_seconds, MHD_OPTION_CONNECTION_MEMORY_LIMIT, srv->max_request_size,
		MHD_OPTION_THREAD_STACK_SIZE, (size_t)THREAD_STACK_SIZE, MHD_OPTION_NOTIFY_CONNECTION, conn_notify, srv,
		MHD_OPTION_NOTIFY_COMPLETED, request_completed, srv, MHD_OPTION_ARRAY, tls_options, MHD_OPTION_END);
	if (!srv->daemon) {
		close(fd);
		set_error(err, errlen, "listen address \"%s\": cannot start the HTTP server (libmicrohttpd)%s", listen,
			srv->tls ? " with TLS" : "");
		http_server_free(srv);
		return -EIO;
	}
	r = door_open(srv, fd, err, errlen);
	if (r < 0) {
		http_server_free(srv);
		return r;
	}
	*out = srv;
	return 0;
}

int http_server_reload_tls(struct http_server *srv, const struct web_config *web_in, char *err, size_t errlen)
{
	struct tls_cert *cert = NULL, *old_cert;
	struct web_auth *auth = NULL, *old_auth;
	struct web_config web;
	char restart[256] = "";
	size_t used = 0;
	int r;

	if (!srv) {
		set_error(err, errlen, "http server: missing argument");
		return -EINVAL;
	}
	web_settings(web_in, &web);
	if (srv->tls && web.tls_cert_file && web.tls_key_file) {
		r = tls_cert_new(&cert, web.tls_cert_file, web.tls_key_file, err, errlen);
		if (r < 0)
			return r;
	}
	r = auth_build(&web, &auth, err, errlen);
	if (r < 0) {
		tls_cert_free(cert);
		return r;
	}
	/* Everything is ready: from here nothing fails, so the change is all or nothing. */
	if (cert) {
		pthread_mutex_lock(&srv->tls_lock);
		old_cert = srv->cert;
		srv->cert = cert;
		pthread_mutex_unlock(&srv->tls_lock);
		tls_cert_free(old_cert);
	}
	pthread_mutex_lock(&srv->auth_lock);
	old_auth = srv->auth;
	srv->auth = auth;
	pthread_mutex_unlock(&srv->auth_lock);
	web_auth_unref(old_auth);
	atomic_store(&srv->health_without_auth, web.health_without_auth);

	static const char *const names[] = {
		"TLS on/off", "tls_min_version", "max_connections", "connection_timeout", "max_request_size"};
	const bool changed[] = {srv->tls != (web.tls_cert_file != NULL),
		srv->tls && web.tls_cert_file && srv->tls_min_version != web.tls_min_version,
		srv->max_connections != web.max_connections,
		srv->connection_timeout_seconds != web.connection_timeout_seconds,
		srv->max_request_size != web.max_request_size};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!changed[i])
			continue;
		int n = snprintf(restart + used, sizeof(restart) - used, "%s%s", used ? ", " : "", names[i]);
		if (n > 0 && (size_t)n < sizeof(restart) - used)
			used += (size_t)n;
	}
	if (used) {
		set_error(err, errlen, "web: %s changed: applied at the next restart", restart);
		return HTTP_SERVER_RESTART_NEEDED;
	}
	return 0;
}

void http_server_free(struct http_server *srv)
{
	if (!srv)
		return;
	/* No new connection first; then libmicrohttpd closes every connection and joins their threads. */
	door_close(srv);
	if (srv->daemon)
		MHD_stop_daemon(srv->daemon);
	for (size_t i = 0; i < CANNED_COUNT; i++)
		if (srv->canned[i])
			MHD_destroy_response(srv->canned[i]);
	tls_cert_free(srv->cert);
	web_auth_unref(srv->auth);
	if (srv->locks_ready) {
		pthread_mutex_destroy(&srv->conn_lock);
		pthread_mutex_destroy(&srv->auth_lock);
		pthread_mutex_destroy(&srv->tls_lock);
	}
	free(srv);
}

unsigned http_server_port(const struct http_server *srv)
{
	return srv ? srv->port : 0;
}

unsigned long http_server_evictions(struct http_server *srv)
{
	unsigned long n;

	if (!srv)
		return 0;
	pthread_mutex_lock(&srv->conn_lock);
	n = srv->evictions;
	pthread_mutex_unlock(&srv->conn_lock);
	return n;
}
