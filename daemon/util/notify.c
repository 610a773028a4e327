/* notify: the service manager's notification protocol (sd_notify(3)), spoken directly: one datagram a message */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/env.h"
#include "util/monotime.h"
#include "util/notify.h"

/*
 * libsystemd would do the same for two calls, but would load libsystemd, libgcrypt, libgpg-error, liblz4,
 * liblzma and libcap into the process (about 1 MiB resident). sd_notify(3) documents the protocol as stable:
 * newline-separated assignments in one datagram to the AF_UNIX socket named by NOTIFY_SOCKET. The manager
 * reads the sender's pid from the socket itself, so a plain datagram is enough.
 */

/* Longest STATUS= text kept: systemctl status shows one line. */
#define NOTIFY_STATUS_MAX 256

static atomic_bool notify_failure_logged;

/* The watchdog sends every few seconds: one warning is enough to explain a restart. */
static int notify_failed(const char *socket_name, int r)
{
	if (!atomic_exchange(&notify_failure_logged, true))
		log_warning("op=notify status=error reason=\"cannot notify the service manager at %s: %s\"",
			socket_name, strerror(-r));
	return r;
}

/*
 * The address NOTIFY_SOCKET names: "/path" (a socket file) or "@name" (Linux's abstract namespace, where the
 * name starts with a NUL byte and is as long as the address length says, with no terminating NUL).
 */
static int notify_address(const char *name, struct sockaddr_un *addr, socklen_t *addr_len)
{
	size_t len = strlen(name);

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	/* Newer systemd may name a vsock socket ("vsock:CID:PORT", a manager outside this virtual machine). */
	if (strncmp(name, "vsock:", 6) == 0 || strncmp(name, "vsock-", 6) == 0)
		return -EAFNOSUPPORT;
	if (name[0] == '/') {
		/* Room for the terminating NUL, which not every kernel supplies itself. */
		if (len >= sizeof(addr->sun_path))
			return -EINVAL;
		memcpy(addr->sun_path, name, len + 1);
		*addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
		return 0;
	}
	if (name[0] == '@') {
		if (len > sizeof(addr->sun_path))
			return -EINVAL;
		/* sun_path[0] stays the NUL; a longer address length would make the trailing zeros part of the name. */
		memcpy(addr->sun_path + 1, name + 1, len - 1);
		*addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
		return 0;
	}
	return -EINVAL;
}

static int notify_send(const char *message)
{
	/* Read each time, so that the environment stays the one source of truth (and is never changed here). */
	const char *name = env_get("NOTIFY_SOCKET");
	struct sockaddr_un addr;
	socklen_t addr_len;
	size_t len = strlen(message);
	ssize_t n;
	int fd, r;

	if (!name)
		return 0;
	r = notify_address(name, &addr, &addr_len);
	if (r < 0)
		return notify_failed(name, r);

	/* A socket of its own per message: nothing shared between threads, nothing left open across exec. */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return notify_failed(name, -errno);
	do
		n = sendto(fd, message, len, MSG_NOSIGNAL, (const struct sockaddr *)&addr, addr_len);
	while (n < 0 && errno == EINTR);
	r = n < 0 ? -errno : (size_t)n != len ? -EMSGSIZE : 1;
	close(fd);
	return r < 0 ? notify_failed(name, r) : r;
}

int notify_ready(void)
{
	return notify_send("READY=1");
}

int notify_reloading(void)
{
	char message[64];
	/* systemd matches MONOTONIC_USEC against the time it sent the reload request. */
	uint64_t usec = monotime_us();
	int n;

	n = snprintf(message, sizeof(message), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, usec);
	if (n < 0 || (size_t)n >= sizeof(message))
		return -EOVERFLOW;
	return notify_send(message);
}

int notify_stopping(void)
{
	return notify_send("STOPPING=1");
}

/* Cuts s back so it does not end inside a UTF-8 sequence. */
static void utf8_trim_partial(char *s, size_t len)
{
	size_t i = len, need;
	unsigned char lead;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return;
	lead = (unsigned char)s[i - 1];
	if (lead < 0xc0)
		return;
	need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
	if (len - (i - 1) < need)
		s[i - 1] = '\0';
}

int notify_status(const char *fmt, ...)
{
	static const char prefix[] = "STATUS=";
	char message[sizeof(prefix) - 1 + NOTIFY_STATUS_MAX + 1];
	char *text = message + sizeof(prefix) - 1;
	va_list ap;
	int n;

	memcpy(message, prefix, sizeof(prefix) - 1);
	va_start(ap, fmt);
	n = vsnprintf(text, NOTIFY_STATUS_MAX + 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n > NOTIFY_STATUS_MAX)
		utf8_trim_partial(text, NOTIFY_STATUS_MAX);
	/* A newline would start another assignment (READY=1…) from text that may come from the network. */
	for (char *p = text; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	return notify_send(message);
}

int notify_watchdog(void)
{
	return notify_send("WATCHDOG=1");
}

/*
 * A whole positive decimal number: strtoull alone would skip leading blanks, take a sign ("-5" as a huge
 * value) and stop at trailing junk.
 */
static int parse_positive(const char *s, unsigned long long max, unsigned long long *value)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE || v > max)
		return -ERANGE;
	if (errno != 0 || *end != '\0' || v == 0)
		return -EINVAL;
	*value = v;
	return 0;
}

int notify_watchdog_usec(uint64_t *usec)
{
	/* Not env_get(): as in sd_watchdog_enabled(), a variable set but empty is an error, not an absence. */
	const char *period = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	int r;

	*usec = 0;
	if (!period)
		return NOTIFY_WATCHDOG_OFF;
	/* Set for another process (a parent that exec'd us without clearing it): no keep-alives expected of us. */
	if (pid) {
		r = parse_positive(pid, INT_MAX, &v);
		if (r < 0)
			return r;
		if (v != (unsigned long long)getpid())
			return NOTIFY_WATCHDOG_OFF;
	}
	r = parse_positive(period, UINT64_MAX, &v);
	if (r < 0)
		return r;
	*usec = (uint64_t)v;
	return NOTIFY_WATCHDOG_ON;
}
