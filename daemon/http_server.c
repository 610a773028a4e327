/* http_server: libmicrohttpd serving /metrics from shared pieces (gzip when accepted), /, /-/healthy, /-/ready */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http_server.h"
#include "log.h"

#ifndef EXPORTER_VERSION
#define EXPORTER_VERSION "unknown"
#endif

/* Scrapers are few; the bounds keep a misbehaving client from holding the exporter's descriptors. */
#define CONNECTION_LIMIT 64u
#define CONNECTION_TIMEOUT_SECONDS 30u

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
	CANNED_COUNT,
};

struct http_server {
	struct MHD_Daemon *daemon;
	struct metrics_store *store;
	unsigned port;
	/* Fixed answers, built once and queued by reference. */
	struct MHD_Response *canned[CANNED_COUNT];
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
	struct MHD_IoVec iov[sizeof(((struct metrics_scrape *)0)->iov) / sizeof(struct iovec)];
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
	for (unsigned i = 0; i < sc->n_iov; i++) {
		iov[i].iov_base = sc->iov[i].iov_base;
		iov[i].iov_len = sc->iov[i].iov_len;
	}
	/* The body is the scrape's shared pieces, not a copy; MHD releases them when the response is done. */
	resp = MHD_create_response_from_iovec(iov, sc->n_iov, scrape_response_free, sc);
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

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	static int request_seen;
	struct http_server *srv = cls;

	(void)version;
	(void)upload_data;
	/* Refused at once, before reading any body: MHD then closes the connection, which suits a stray upload. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return queue_canned(srv, conn, MHD_HTTP_METHOD_NOT_ALLOWED, CANNED_NOT_ALLOWED);
	/*
	 * Answering GET and HEAD on the first call (headers only) would make MHD close the connection; answering
	 * once the request is complete keeps it alive for the scraper's next visit.
	 */
	if (!*req_cls) {
		*req_cls = &request_seen;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* a body on a GET means nothing here */
		return MHD_YES;
	}
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
	char msg[512];
	size_t n;

	(void)cls;
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
static int listen_open(const char *address, bool *ipv6, unsigned *port_out, char *err, size_t errlen)
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
		} else {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
				last = -errno;
				failed = "getsockname";
			} else {
				*ipv6 = ss.ss_family == AF_INET6;
				*port_out = ntohs(*ipv6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
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

int http_server_new(struct http_server **out, const char *listen, struct metrics_store *store, char *err, size_t errlen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	struct http_server *srv;
	bool ipv6 = false;
	int fd;

	if (!out || !store) {
		set_error(err, errlen, "http server: missing argument");
		return -EINVAL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		set_error(err, errlen, "http server: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	srv->store = store;
	for (size_t i = 0; i < CANNED_COUNT; i++) {
		srv->canned[i] = MHD_create_response_from_buffer(
			strlen(canned_texts[i].body), (void *)(uintptr_t)canned_texts[i].body, MHD_RESPMEM_PERSISTENT);
		if (!srv->canned[i] ||
			MHD_add_response_header(srv->canned[i], MHD_HTTP_HEADER_CONTENT_TYPE,
				canned_texts[i].content_type) != MHD_YES ||
			(i == CANNED_NOT_ALLOWED && MHD_add_response_header(srv->canned[i], MHD_HTTP_HEADER_ALLOW,
							    "GET, HEAD") != MHD_YES)) {
			set_error(err, errlen, "http server: cannot build responses");
			http_server_free(srv);
			return -ENOMEM;
		}
	}

	fd = listen_open(listen, &ipv6, &srv->port, err, errlen);
	if (fd < 0) {
		http_server_free(srv);
		return fd;
	}
	if (ipv6)
		flags |= MHD_USE_IPv6;
	/*
	 * One internal thread polling with epoll where the platform has it: a scrape only takes references and
	 * compresses a few lines, so one thread serves many scrapers without a thread per connection.
	 */
	srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
		NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_SECONDS, MHD_OPTION_END);
	if (!srv->daemon) {
		/* Depending on where it failed, MHD may already have closed the socket it was given. */
		if (fcntl(fd, F_GETFD) != -1)
			close(fd);
		set_error(err, errlen, "listen address \"%s\": cannot start the HTTP server (libmicrohttpd)", listen);
		http_server_free(srv);
		return -EIO;
	}
	*out = srv;
	return 0;
}

void http_server_free(struct http_server *srv)
{
	if (!srv)
		return;
	/* Closes the listening socket and every connection, then joins the polling thread. */
	if (srv->daemon)
		MHD_stop_daemon(srv->daemon);
	for (size_t i = 0; i < CANNED_COUNT; i++)
		if (srv->canned[i])
			MHD_destroy_response(srv->canned[i]);
	free(srv);
}

unsigned http_server_port(const struct http_server *srv)
{
	return srv ? srv->port : 0;
}
