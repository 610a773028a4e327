/* web door: the thread that accepts connections for libmicrohttpd, and the ranking that evicts the worst */
#include <errno.h>
#include <limits.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_received (Linux 4.1) */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/monotime.h"
#include "util/mutex.h"
#include "web/internal.h"

/* Eviction ranking (conn_worth): how new connections are judged, before their byte rate means much. */
#define NEW_CONNECTION_GRACE_MS 1000
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

/* What door_judge() makes of a guest. */
enum door_verdict {
	DOOR_WAIT, /* not enough yet */
	DOOR_HAND_OVER, /* said what a client says first: to libmicrohttpd */
	DOOR_TURN_AWAY, /* gone, or gone having said too little: closed */
};

struct web_conn *web_conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Under conn_lock. */
static void idle_unlink(struct http_server *srv, struct web_conn *c)
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
static void idle_append(struct http_server *srv, struct web_conn *c)
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
static uint64_t conn_worth(const struct web_conn *c, int64_t now_ms)
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
	struct web_conn *victim = NULL;
	uint64_t victim_worth = 0;
	int64_t now = monotime_ms();

	for (struct web_conn *c = srv->idle_head; c; c = c->next) {
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
		log_debug("component=http op=evict error=\"%s\"", strerror(errno));
}

void web_conn_notify(
	void *cls, struct MHD_Connection *mc, void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	struct http_server *srv = cls;
	struct web_conn *c = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);

		c = calloc(1, sizeof(*c));
		if (!c)
			return; /* untracked: served all the same, never evicted */
		c->srv = srv;
		c->fd = ci ? ci->connect_fd : -1;
		c->started_ms = monotime_ms();
		mutex_lock(&srv->conn_lock);
		/*
		 * Should libmicrohttpd ever close a descriptor before reporting the close, the number could already
		 * be this new connection's: the old entry must then never be shut down.
		 */
		for (struct web_conn *o = srv->idle_head; o && c->fd >= 0; o = o->next) {
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
		mutex_unlock(&srv->conn_lock);
		*socket_context = c;
		return;
	}
	if (!c)
		return;
	mutex_lock(&srv->conn_lock);
	idle_unlink(srv, c);
	srv->n_conns--;
	if (c->evicted)
		srv->n_closing--;
	mutex_unlock(&srv->conn_lock);
	free(c);
	*socket_context = NULL;
}

void web_conn_busy(struct http_server *srv, struct MHD_Connection *mc)
{
	struct web_conn *c = web_conn_of(mc);

	if (!c)
		return;
	mutex_lock(&srv->conn_lock);
	idle_unlink(srv, c);
	mutex_unlock(&srv->conn_lock);
}

void web_conn_request_completed(
	void *cls, struct MHD_Connection *mc, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct web_conn *c = web_conn_of(mc);

	(void)toe;
	*req_cls = NULL;
	if (!c)
		return;
	mutex_lock(&srv->conn_lock);
	idle_append(srv, c);
	mutex_unlock(&srv->conn_lock);
}

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

static void door_unlink(struct web_door *d, struct web_door_guest *g)
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
static void door_release(struct http_server *srv, struct web_door_guest *g, bool hand_over)
{
	struct web_door *d = &srv->door;

	door_unlink(d, g);
	epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, g->fd, NULL);
	if (!hand_over)
		close(g->fd);
	else /* on failure (its own limit, out of memory) libmicrohttpd closes it and logs why */
		(void)MHD_add_connection(srv->daemon, g->fd, (const struct sockaddr *)&g->addr, g->addr_len);
	free(g);
}

/* Has g said enough to be handed over, gone away having said too little, or not yet? */
static enum door_verdict door_judge(struct web_door_guest *g, bool peer_closed)
{
	char buf[NEW_CONNECTION_REAL_BYTES];
	ssize_t n = recv(g->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);

	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) && !peer_closed ? DOOR_WAIT
												   : DOOR_TURN_AWAY;
	if (n == 0)
		return DOOR_TURN_AWAY;
	if ((size_t)n >= sizeof(buf) || memmem(buf, (size_t)n, "\n\r\n", 3) || memmem(buf, (size_t)n, "\n\n", 2))
		return DOOR_HAND_OVER;
	return peer_closed ? DOOR_TURN_AWAY : DOOR_WAIT;
}

/* Pauses accept() until until_ms (out of descriptors or memory), or resumes it (0). */
static void door_pause_until(struct http_server *srv, int64_t until_ms)
{
	struct web_door *d = &srv->door;
	struct epoll_event ev = {.events = until_ms ? 0 : EPOLLIN, .data.ptr = (void *)door_marker_listen};

	d->paused_until_ms = until_ms;
	epoll_ctl(d->epoll_fd, EPOLL_CTL_MOD, d->listen_fd, &ev);
}

static void door_accept(struct http_server *srv, int64_t now)
{
	struct web_door *d = &srv->door;

	for (;;) {
		struct sockaddr_storage addr;
		socklen_t addr_len = sizeof(addr);
		struct web_door_guest *g;
		struct epoll_event ev;
		enum door_verdict verdict;
		int fd = accept4(d->listen_fd, (struct sockaddr *)&addr, &addr_len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			int e = errno;
			if (e == EINTR || e == ECONNABORTED || e == EPROTO)
				continue;
			if (e == EAGAIN || e == EWOULDBLOCK)
				return;
			/* Out of descriptors or memory: the one waiting longest makes room, or accept() rests a while.
			 */
			if ((e == EMFILE || e == ENFILE) && d->head) {
				door_release(srv, d->head, false);
				continue;
			}
			log_warning("component=http op=accept error=\"%s\" pause_ms=%d", strerror(e), DOOR_PAUSE_MS);
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
		if (verdict != DOOR_WAIT) {
			door_release(srv, g, verdict == DOOR_HAND_OVER);
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
	struct web_door *d = &srv->door;
	struct epoll_event events[DOOR_EVENTS];

	for (;;) {
		int64_t now = monotime_ms(), wait_ms = -1;
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
			log_error("component=http op=epoll_wait error=\"%s\"", strerror(errno));
			break;
		}
		now = monotime_ms();
		/* A guest released here is its own event's; accepting (which may close others) comes after. */
		for (int i = 0; i < n; i++) {
			void *ptr = events[i].data.ptr;
			if (ptr == door_marker_stop)
				goto out;
			if (ptr == door_marker_listen) {
				listen_ready = true;
			} else {
				struct web_door_guest *g = ptr;
				enum door_verdict verdict =
					door_judge(g, (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
				if (verdict != DOOR_WAIT)
					door_release(srv, g, verdict == DOOR_HAND_OVER);
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

void web_door_close(struct http_server *srv)
{
	struct web_door *d = &srv->door;

	if (d->running) {
		uint64_t one = 1;
		if (write(d->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
			log_error("component=http op=stop error=\"%s\"", strerror(errno));
		pthread_join(d->thread, NULL);
		d->running = false;
	}
	while (d->head) {
		struct web_door_guest *g = d->head;
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

int web_door_open(struct http_server *srv, int listen_fd, char *err, size_t errlen)
{
	struct web_door *d = &srv->door;
	struct epoll_event ev;
	int r;

	d->listen_fd = listen_fd;
	d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->epoll_fd < 0 || d->stop_fd < 0) {
		r = -errno;
		web_set_error(err, errlen, "http server: %s", strerror(errno));
		return r;
	}
	ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = (void *)door_marker_listen};
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->listen_fd, &ev) < 0) {
		r = -errno;
		web_set_error(err, errlen, "http server: epoll: %s", strerror(errno));
		return r;
	}
	ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = (void *)door_marker_stop};
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->stop_fd, &ev) < 0) {
		r = -errno;
		web_set_error(err, errlen, "http server: epoll: %s", strerror(errno));
		return r;
	}
	r = pthread_create(&d->thread, NULL, door_run, srv);
	if (r != 0) {
		web_set_error(err, errlen, "http server: cannot start a thread: %s", strerror(r));
		return -r;
	}
	d->running = true;
	return 0;
}

void web_door_init(struct web_door *d)
{
	d->listen_fd = d->epoll_fd = d->stop_fd = -1;
}
