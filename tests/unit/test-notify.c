/* test-notify: the messages sd_notify sends to a NOTIFY_SOCKET bound by the test, and the watchdog period */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "test.h"

static char dir[] = "/tmp/test-notify-XXXXXX";
static char socket_path[sizeof(dir) + 16];
static int socket_fd = -1;

/* Binds a datagram socket in a fresh directory and points NOTIFY_SOCKET at it. */
static int listener_open(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct timeval timeout = {.tv_sec = 2};

	if (!mkdtemp(dir))
		return -errno;
	snprintf(socket_path, sizeof(socket_path), "%s/notify", dir);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
	socket_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (socket_fd < 0)
		return -errno;
	if (bind(socket_fd, (const struct sockaddr *)&addr, sizeof(addr)) != 0)
		return -errno;
	if (setsockopt(socket_fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) != 0)
		return -errno;
	if (setenv("NOTIFY_SOCKET", socket_path, 1) != 0)
		return -errno;
	return 0;
}

static void listener_close(void)
{
	if (socket_fd >= 0)
		CHECK(close(socket_fd) == 0);
	CHECK(unlink(socket_path) == 0);
	CHECK(rmdir(dir) == 0);
}

/* The next datagram as a string, or "" after the timeout (or at once when wait is false). */
static const char *listener_next(bool wait)
{
	static char buf[4096];
	ssize_t n = recv(socket_fd, buf, sizeof(buf) - 1, wait ? 0 : MSG_DONTWAIT);

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	return buf;
}

#if HAVE_LIBSYSTEMD
static uint64_t monotonic_usec(void)
{
	struct timespec ts;

	CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void test_messages(void)
{
	uint64_t before, after, stamp = 0;
	const char *m;
	char long_text[600];
	char expected[300];

	CHECK_INT(notify_ready(), 1);
	CHECK_STR(listener_next(true), "READY=1");

	before = monotonic_usec();
	CHECK_INT(notify_reloading(), 1);
	after = monotonic_usec();
	m = listener_next(true);
	CHECK_MSG(sscanf(m, "RELOADING=1\nMONOTONIC_USEC=%" SCNu64, &stamp) == 1, "got \"%s\"", m);
	CHECK_MSG(stamp >= before && stamp <= after, "%" PRIu64 " not in [%" PRIu64 ", %" PRIu64 "]", stamp, before,
		after);

	CHECK_INT(notify_stopping(), 1);
	CHECK_STR(listener_next(true), "STOPPING=1");

	CHECK_INT(notify_watchdog(), 1);
	CHECK_STR(listener_next(true), "WATCHDOG=1");

	CHECK_INT(notify_status("polling farm=%s reports=%d", "farm-0123", 3), 1);
	CHECK_STR(listener_next(true), "STATUS=polling farm=farm-0123 reports=3");

	/* Text from the network must not smuggle in other assignments. */
	CHECK_INT(notify_status("error: %s", "bad\nREADY=1\r\tx\x7f"), 1);
	CHECK_STR(listener_next(true), "STATUS=error: bad READY=1  x ");

	/* Cut at 256 bytes, never inside a UTF-8 sequence: 255 ASCII bytes then a 2-byte "é" is cut before it. */
	memset(long_text, 'a', 255);
	memcpy(long_text + 255, "\xc3\xa9", 2);
	memset(long_text + 257, 'b', 100);
	long_text[357] = '\0';
	CHECK_INT(notify_status("%s", long_text), 1);
	snprintf(expected, sizeof(expected), "STATUS=%.255s", long_text);
	CHECK_STR(listener_next(true), expected);

	/* 254 ASCII bytes then "é" fits exactly. */
	CHECK_INT(notify_status("%s", long_text + 1), 1);
	snprintf(expected, sizeof(expected), "STATUS=%.256s", long_text + 1);
	CHECK_STR(listener_next(true), expected);

	CHECK_INT(notify_status("%s", ""), 1);
	CHECK_STR(listener_next(true), "STATUS=");

	CHECK_STR(listener_next(false), "");
}

static void test_watchdog(void)
{
	char pid[32];
	uint64_t usec = 1;

	CHECK(unsetenv("WATCHDOG_USEC") == 0);
	CHECK(unsetenv("WATCHDOG_PID") == 0);
	CHECK_INT(notify_watchdog_usec(&usec), 0);
	CHECK_INT(usec, 0);

	CHECK(setenv("WATCHDOG_USEC", "60000000", 1) == 0);
	CHECK_INT(notify_watchdog_usec(&usec), 1);
	CHECK_INT(usec, 60000000);

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	CHECK(setenv("WATCHDOG_PID", pid, 1) == 0);
	CHECK_INT(notify_watchdog_usec(&usec), 1);
	CHECK_INT(usec, 60000000);

	/* Meant for another process (a parent that exec'd us without clearing it). */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	CHECK(setenv("WATCHDOG_PID", pid, 1) == 0);
	usec = 1;
	CHECK_INT(notify_watchdog_usec(&usec), 0);
	CHECK_INT(usec, 0);

	CHECK(unsetenv("WATCHDOG_PID") == 0);
	CHECK(setenv("WATCHDOG_USEC", "soon", 1) == 0);
	usec = 1;
	CHECK(notify_watchdog_usec(&usec) < 0);
	CHECK_INT(usec, 0);
	CHECK(unsetenv("WATCHDOG_USEC") == 0);
}

static void test_no_manager(void)
{
	CHECK(unsetenv("NOTIFY_SOCKET") == 0);
	CHECK_INT(notify_ready(), 0);
	CHECK_INT(notify_status("x=%d", 1), 0);
	CHECK_INT(notify_watchdog(), 0);

	/* A socket that is not there: an error code (and one warning on stderr), never a crash. */
	CHECK(setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1) == 0);
	CHECK(notify_ready() < 0);
	CHECK(notify_watchdog() < 0);
	CHECK(setenv("NOTIFY_SOCKET", socket_path, 1) == 0);
}

#else
/* Without libsystemd every call is a no-op: nothing reaches the socket. */
static void test_disabled(void)
{
	uint64_t usec = 1;

	CHECK_INT(notify_ready(), 0);
	CHECK_INT(notify_reloading(), 0);
	CHECK_INT(notify_stopping(), 0);
	CHECK_INT(notify_status("x=%d", 1), 0);
	CHECK_INT(notify_watchdog(), 0);
	CHECK(setenv("WATCHDOG_USEC", "60000000", 1) == 0);
	CHECK_INT(notify_watchdog_usec(&usec), 0);
	CHECK_INT(usec, 0);
	CHECK_STR(listener_next(false), "");
}
#endif

int main(void)
{
	int r = listener_open();

	CHECK_MSG(r == 0, "cannot bind %s: %s", socket_path, strerror(-r));
	if (r != 0)
		TEST_DONE();
#if HAVE_LIBSYSTEMD
	test_messages();
	test_watchdog();
	test_no_manager();
#else
	test_disabled();
#endif
	listener_close();
	TEST_DONE();
}
