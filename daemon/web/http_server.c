/* http_server: libmicrohttpd serving /metrics (shared pieces, gzip), /, /-/healthy, /-/ready, POST /-/reload */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "config/tls_cert.h"
#include "util/log.h"
#include "util/monotime.h"
#include "util/mutex.h"
#include "util/version.h"
#include "web/internal.h"

/*
 * A thread per connection: a client that is slow to send (slowloris) or to read only blocks its own thread,
 * and a bcrypt check (tens of milliseconds) does not hold up other scrapers. The stack stays small: nothing
 * big lives on it (struct crypt_data is allocated).
 */
#define THREAD_STACK_SIZE (512u * 1024u)
/* libmicrohttpd's limit: room for the connections being closed to make room (see web_conn_notify). */
#define CONNECTION_HARD_LIMIT(max) ((max)*8u)
/* libmicrohttpd's messages (mostly about misbehaving clients) logged per second; the rest are counted. */
#define MHD_LOG_PER_SECOND 5u
#define AUTH_REALM "Basic realm=\"deadline-cloud-exporter\""

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_CONTENT_TYPE "text/plain; charset=utf-8"

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
	[CANNED_FORBIDDEN] = {"Forbidden: web.enable_lifecycle is off", TEXT_CONTENT_TYPE},
	[CANNED_POST_ONLY] = {"Method Not Allowed: POST only", TEXT_CONTENT_TYPE},
	[CANNED_RELOADED] = {"Reloaded", TEXT_CONTENT_TYPE},
};

void web_set_error(char *err, size_t errlen, const char *fmt, ...)
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
	struct http_server *srv, struct MHD_Connection *conn, unsigned status, enum web_canned which)
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
		log_error("component=http path=/metrics http_status=500 error=\"%s\"", strerror(-r));
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

/* POST /-/reload, allowed and complete: the lifecycle callback, the whole reload run in this thread, decides. */
static enum MHD_Result serve_reload(struct http_server *srv, struct MHD_Connection *conn)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char why[1024] = "";
	int r = -ENOSYS;

	if (srv->lifecycle.reload)
		r = srv->lifecycle.reload(srv->lifecycle.ctx, why, sizeof(why));
	if (r == HTTP_SERVER_RELOAD_APPLIED)
		return queue_canned(srv, conn, MHD_HTTP_OK, CANNED_RELOADED);
	if (r != HTTP_SERVER_RELOAD_REJECTED) {
		log_error("component=http path=/-/reload http_status=500 error=\"%s\"", strerror(r < 0 ? -r : EINVAL));
		return queue_canned(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, CANNED_ERROR);
	}
	if (!why[0])
		snprintf(why, sizeof(why), "rejected; the running configuration stays");
	resp = MHD_create_response_from_buffer(strlen(why), why, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return queue_canned(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, CANNED_ERROR);
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, TEXT_CONTENT_TYPE) != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, MHD_HTTP_BAD_REQUEST, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Whether the request may go on: WEB_AUTH_ALLOWED, WEB_AUTH_DENIED, or -ENOMEM. */
static int request_authorize(struct http_server *srv, struct MHD_Connection *conn, const char *url)
{
	struct web_auth *auth;
	int r;

	if (strcmp(url, "/-/healthy") == 0 && atomic_load(&srv->health_without_auth))
		return WEB_AUTH_ALLOWED;
	mutex_lock(&srv->auth_lock);
	auth = web_auth_ref(srv->auth);
	mutex_unlock(&srv->auth_lock);
	if (!auth)
		return WEB_AUTH_ALLOWED;
	r = web_auth_check(
		auth, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION), monotime_ms());
	web_auth_unref(auth);
	return r;
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	static int request_allowed, request_denied, request_reload;
	struct http_server *srv = cls;

	(void)version;
	(void)upload_data;
	if (!*req_cls) {
		int r;

		web_conn_busy(srv, conn);
		/* Credentials first: without them, not even which paths or methods exist is told. */
		r = request_authorize(srv, conn, url);
		if (r < 0)
			return queue_canned(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, CANNED_ERROR);
		*req_cls = r == WEB_AUTH_ALLOWED ? &request_allowed : &request_denied;
		/* The one path with another method; its refusals are answered at once (MHD then closes). */
		if (strcmp(url, "/-/reload") == 0) {
			if (r != WEB_AUTH_ALLOWED)
				return queue_canned(srv, conn, MHD_HTTP_UNAUTHORIZED, CANNED_UNAUTHORIZED);
			if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
				return queue_canned(srv, conn, MHD_HTTP_METHOD_NOT_ALLOWED, CANNED_POST_ONLY);
			if (!atomic_load(&srv->enable_lifecycle))
				return queue_canned(srv, conn, MHD_HTTP_FORBIDDEN, CANNED_FORBIDDEN);
			*req_cls = &request_reload;
			return MHD_YES;
		}
		/* Refused at once, before reading any body: MHD then closes the connection, which suits a stray upload.
		 */
		if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
			if (r != WEB_AUTH_ALLOWED)
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
		*upload_data_size = 0; /* a body on a GET, or on POST /-/reload, means nothing here */
		return MHD_YES;
	}
	if (*req_cls == &request_denied)
		return queue_canned(srv, conn, MHD_HTTP_UNAUTHORIZED, CANNED_UNAUTHORIZED);
	if (*req_cls == &request_reload)
		return serve_reload(srv, conn);
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
	mutex_lock(&lock);
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
	mutex_unlock(&lock);
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
		web_set_error(
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
			(i == CANNED_POST_ONLY &&
				MHD_add_response_header(srv->canned[i], MHD_HTTP_HEADER_ALLOW, "POST") != MHD_YES) ||
			(i == CANNED_UNAUTHORIZED &&
				MHD_add_response_header(srv->canned[i], MHD_HTTP_HEADER_WWW_AUTHENTICATE, AUTH_REALM) !=
					MHD_YES)) {
			web_set_error(err, errlen, "http server: cannot build responses");
			return -ENOMEM;
		}
	}
	return 0;
}

int http_server_new(struct http_server **out, const char *listen, const struct web_config *web_in,
	struct metrics_store *store, const struct http_server_lifecycle *lifecycle, char *err, size_t errlen)
{
	/* Connections come from the door (door.c), not from a listening socket of libmicrohttpd's. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO |
			 MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
	struct MHD_OptionItem tls_options[4];
	struct web_config web;
	struct http_server *srv;
	int fd, r;

	if (!out || !store) {
		web_set_error(err, errlen, "http server: missing argument");
		return -EINVAL;
	}
	web_settings(web_in, &web);
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		web_set_error(err, errlen, "http server: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	web_door_init(&srv->door);
	srv->store = store;
	srv->tls = web.tls_cert_file != NULL;
	srv->tls_min_version = web.tls_min_version;
	srv->max_connections = web.max_connections;
	srv->connection_timeout_seconds = web.connection_timeout_seconds;
	srv->max_request_size = web.max_request_size;
	atomic_init(&srv->health_without_auth, web.health_without_auth);
	atomic_init(&srv->enable_lifecycle, web.enable_lifecycle);
	if (lifecycle)
		srv->lifecycle = *lifecycle;
	if (pthread_mutex_init(&srv->tls_lock, NULL) != 0) {
		free(srv);
		web_set_error(err, errlen, "http server: cannot create a lock");
		return -ENOMEM;
	}
	if (pthread_mutex_init(&srv->auth_lock, NULL) != 0) {
		pthread_mutex_destroy(&srv->tls_lock);
		free(srv);
		web_set_error(err, errlen, "http server: cannot create a lock");
		return -ENOMEM;
	}
	if (pthread_mutex_init(&srv->conn_lock, NULL) != 0) {
		pthread_mutex_destroy(&srv->auth_lock);
		pthread_mutex_destroy(&srv->tls_lock);
		free(srv);
		web_set_error(err, errlen, "http server: cannot create a lock");
		return -ENOMEM;
	}
	srv->locks_ready = true;
	r = canned_build(srv, err, errlen);
	if (r == 0)
		r = auth_build(&web, &srv->auth, err, errlen);
	if (r == 0 && srv->tls) {
		if (!web.tls_key_file) {
			web_set_error(err, errlen, "web.tls_cert_file without web.tls_key_file");
			r = -EINVAL;
		} else if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES ||
			   MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK2) != MHD_YES) {
			web_set_error(
				err, errlen, "web.tls_cert_file: this libmicrohttpd was built without TLS (GnuTLS)");
			r = -EOPNOTSUPP;
		} else {
			r = tls_cert_new(&srv->cert, web.tls_cert_file, web.tls_key_file, err, errlen);
		}
	}
	if (r < 0) {
		http_server_free(srv);
		return r;
	}

	fd = web_listen_open(listen, &srv->port, err, errlen);
	if (fd < 0) {
		http_server_free(srv);
		return fd;
	}
	tls_options[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	if (srv->tls) {
		flags |= MHD_USE_TLS;
		tls_options[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK2, 0, web_tls_cert_callback()};
		tls_options[1] = (struct MHD_OptionItem){
			MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)(uintptr_t)web_tls_priorities(srv->tls_min_version)};
		tls_options[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	}
	srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
		NULL, MHD_OPTION_CONNECTION_LIMIT, CONNECTION_HARD_LIMIT(srv->max_connections),
		MHD_OPTION_CONNECTION_TIMEOUT, srv->connection_timeout_seconds, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		srv->max_request_size, MHD_OPTION_THREAD_STACK_SIZE, (size_t)THREAD_STACK_SIZE,
		MHD_OPTION_NOTIFY_CONNECTION, web_conn_notify, srv, MHD_OPTION_NOTIFY_COMPLETED,
		web_conn_request_completed, srv, MHD_OPTION_ARRAY, tls_options, MHD_OPTION_END);
	if (!srv->daemon) {
		close(fd);
		web_set_error(err, errlen, "listen address \"%s\": cannot start the HTTP server (libmicrohttpd)%s",
			listen, srv->tls ? " with TLS" : "");
		http_server_free(srv);
		return -EIO;
	}
	r = web_door_open(srv, fd, err, errlen);
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
		web_set_error(err, errlen, "http server: missing argument");
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
		mutex_lock(&srv->tls_lock);
		old_cert = srv->cert;
		srv->cert = cert;
		mutex_unlock(&srv->tls_lock);
		tls_cert_free(old_cert);
	}
	mutex_lock(&srv->auth_lock);
	old_auth = srv->auth;
	srv->auth = auth;
	mutex_unlock(&srv->auth_lock);
	web_auth_unref(old_auth);
	atomic_store(&srv->health_without_auth, web.health_without_auth);
	atomic_store(&srv->enable_lifecycle, web.enable_lifecycle);

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
		web_set_error(err, errlen, "web: %s changed: applied at the next restart", restart);
		return HTTP_SERVER_RESTART_NEEDED;
	}
	return 0;
}

void http_server_free(struct http_server *srv)
{
	if (!srv)
		return;
	/* No new connection first; then libmicrohttpd closes every connection and joins their threads. */
	web_door_close(srv);
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
	mutex_lock(&srv->conn_lock);
	n = srv->evictions;
	mutex_unlock(&srv->conn_lock);
	return n;
}
