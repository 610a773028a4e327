/* web listen: the listening socket for a listen address (IPv4, IPv6, host names), with TCP_DEFER_ACCEPT */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/listen_addr.h"
#include "web/internal.h"

/*
 * Seconds the kernel keeps a connection that has sent nothing before handing it over all the same (then the
 * door judges it like any other).
 */
#define DEFER_ACCEPT_SECONDS 5

static void address_text(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, size, "?");
		return;
	}
	snprintf(out, size, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

int web_listen_open(const char *address, unsigned *port_out, char *err, size_t errlen)
{
	char port[8], where[NI_MAXHOST + NI_MAXSERV + 4] = "", why[128];
	struct addrinfo hints, *res = NULL;
	struct listen_addr addr;
	int r, fd = -1, last = -EINVAL;
	const char *failed = "no address";

	if (listen_addr_parse(address, &addr, why, sizeof(why)) < 0) {
		web_set_error(err, errlen, "listen address \"%s\": %s; expected host:port, [ipv6]:port or :port",
			address ? address : "(null)", why);
		return -EINVAL;
	}
	snprintf(port, sizeof(port), "%u", (unsigned)addr.port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (addr.host[0] == '\0') {
		/* ":9753" means every IPv4 interface; "[::]:9753" is the IPv6 spelling. */
		hints.ai_family = AF_INET;
		hints.ai_flags |= AI_PASSIVE;
	} else {
		hints.ai_family = addr.ipv6 ? AF_INET6 : AF_UNSPEC;
		hints.ai_flags |= addr.ipv6 ? AI_NUMERICHOST : 0;
	}
	r = getaddrinfo(addr.host[0] ? addr.host : NULL, port, &hints, &res);
	if (r != 0) {
		web_set_error(err, errlen, "listen address \"%s\": %s", address,
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
		web_set_error(err, errlen, "listen address \"%s\": %s %s: %s", address, failed, where, strerror(-last));
		return last;
	}
	return fd;
}
