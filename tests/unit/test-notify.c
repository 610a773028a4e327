/* test-notify: the datagrams a NOTIFY_SOCKET bound by the test receives (file, abstract), bad addresses, WATCHDOG_* */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/notify.h"
#include "test.h"

#define THREADS 4
#define MESSAGES_PER_THREAD 50

/* The longest name that fits sun_path: a file path keeps one byte for its NUL, an abstract name does not. */
#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

static char dir[] = "/tmp/test-notify-XXXXXX";
static char socket_path[sizeof(dir) + 16];

static char datagram[4096];
/* The length of the last datagram read, -1 when none came. */
static ssize_t datagram_len;

static char captured[1 << 16];
static struct test_capture capture;

/* A datagram socket bound to addr (len bytes of it), with a receive timeout; -errno when that fails. */
static int listener_bind(const struct sockaddr_un *addr, socklen_t len)
{
	struct timeval timeout = {.tv_sec = 2};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)addr, len) != 0 ||
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) != 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* Binds a socket file at path. */
static int listener_bind_path(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	return listener_bind(&addr, sizeof(addr));
}

/* Binds the abstract name (without its leading NUL) with the exact length such names are matched by. */
static int listener_bind_abstract(const char *name)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t len = strlen(name);

	if (len + 1 > sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path + 1, name, len);
	return listener_bind(&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len));
}

/* The next datagram as a string (and its length in datagram_len), or "" after the timeout / at once. */
static const char *datagram_next(int fd, bool wait)
{
	datagram_len = recv(fd, datagram, sizeof(datagram) - 1, wait ? 0 : MSG_DONTWAIT);
	datagram[datagram_len < 0 ? 0 : datagram_len] = '\0';
	return datagram;
}

/* The next datagram is exactly these bytes: no terminating NUL or newline sent with them. */
#define CHECK_DATAGRAM(fd, expected) \
	do { \
		CHECK_STR(datagram_next((fd), true), (expected)); \
		CHECK_INT(datagram_len, strlen(expected)); \
	} while (0)

/* Nothing is waiting on the socket. */
#define CHECK_NO_DATAGRAM(fd) \
	do { \
		CHECK_STR(datagram_next((fd), false), ""); \
		CHECK_INT(datagram_len, -1); \
	} while (0)

/* stderr into captured, between these two (test.h). */
static void capture_begin(void)
{
	test_capture_begin(&capture);
}

static void capture_end(void)
{
	test_capture_end(&capture, captured, sizeof(captured));
}

static size_t count_of(const char *haystack, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static uint64_t monotonic_usec(void)
{
	struct timespec ts;

	CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Without NOTIFY_SOCKET (or with it empty) every call does nothing and says so with 0. */
static void test_no_manager(int fd)
{
	const char *unset_or_empty[] = {NULL, ""};
	uint64_t usec = 1;

	for (size_t i = 0; i < 2; i++) {
		if (unset_or_empty[i])
			CHECK(setenv("NOTIFY_SOCKET", unset_or_empty[i], 1) == 0);
		else
			CHECK(unsetenv("NOTIFY_SOCKET") == 0);
		CHECK_INT(notify_ready(), 0);
		CHECK_INT(notify_reloading(), 0);
		CHECK_INT(notify_stopping(), 0);
		CHECK_INT(notify_status("x=%d", 1), 0);
		CHECK_INT(notify_watchdog(), 0);
	}
	CHECK(unsetenv("WATCHDOG_USEC") == 0);
	CHECK(unsetenv("WATCHDOG_PID") == 0);
	CHECK_INT(notify_watchdog_usec(&usec), 0);
	CHECK_INT(usec, 0);
	CHECK_NO_DATAGRAM(fd);
}

static void test_messages(int fd)
{
	static const char reloading[] = "RELOADING=1\nMONOTONIC_USEC=";
	uint64_t before, after, stamp;
	const char *m, *digits;
	char long_text[600];
	char expected[300];

	CHECK(setenv("NOTIFY_SOCKET", socket_path, 1) == 0);

	CHECK_INT(notify_ready(), 1);
	CHECK_DATAGRAM(fd, "READY=1");

	/* The stamp is all digits to the end of the datagram, and taken while the call ran. */
	before = monotonic_usec();
	CHECK_INT(notify_reloading(), 1);
	after = monotonic_usec();
	m = datagram_next(fd, true);
	CHECK_INT(datagram_len, strlen(m));
	if (strncmp(m, reloading, sizeof(reloading) - 1) == 0) {
		digits = m + sizeof(reloading) - 1;
		CHECK_MSG(*digits && strspn(digits, "0123456789") == strlen(digits), "got \"%s\"", m);
		stamp = strtoull(digits, NULL, 10);
		CHECK_MSG(stamp >= before && stamp <= after, "%" PRIu64 " not in [%" PRIu64 ", %" PRIu64 "]", stamp,
			before, after);
	} else {
		CHECK_MSG(false, "got \"%s\"", m);
	}

	CHECK_INT(notify_stopping(), 1);
	CHECK_DATAGRAM(fd, "STOPPING=1");

	CHECK_INT(notify_watchdog(), 1);
	CHECK_DATAGRAM(fd, "WATCHDOG=1");

	CHECK_INT(notify_status("polling farm=%s reports=%d", "farm-0123", 3), 1);
	CHECK_DATAGRAM(fd, "STATUS=polling farm=farm-0123 reports=3");

	/* Text from the network must not smuggle in other assignments. */
	CHECK_INT(notify_status("error: %s", "bad\nREADY=1\r\tx\x7f"), 1);
	CHECK_DATAGRAM(fd, "STATUS=error: bad READY=1  x ");

	/* Cut at 256 bytes, never inside a UTF-8 sequence: 255 ASCII bytes then a 2-byte "é" is cut before it. */
	memset(long_text, 'a', 255);
	memcpy(long_text + 255, "\xc3\xa9", 2);
	memset(long_text + 257, 'b', 100);
	long_text[357] = '\0';
	CHECK_INT(notify_status("%s", long_text), 1);
	snprintf(expected, sizeof(expected), "STATUS=%.255s", long_text);
	CHECK_DATAGRAM(fd, expected);

	/* 254 ASCII bytes then "é" fits exactly. */
	CHECK_INT(notify_status("%s", long_text + 1), 1);
	snprintf(expected, sizeof(expected), "STATUS=%.256s", long_text + 1);
	CHECK_DATAGRAM(fd, expected);

	CHECK_INT(notify_status("%s", ""), 1);
	CHECK_DATAGRAM(fd, "STATUS=");

	CHECK_NO_DATAGRAM(fd);
	/* Left as it was, for the keep-alives to come. */
	CHECK_STR(getenv("NOTIFY_SOCKET"), socket_path);
}

/* "@name": Linux's abstract namespace, matched by the exact address length (no trailing NUL or zeros). */
static void test_abstract(void)
{
	char name[SUN_PATH_MAX + 2];
	int fd;

	snprintf(name, sizeof(name), "@test-notify-%ld", (long)getpid());
	fd = listener_bind_abstract(name + 1);
	CHECK_MSG(fd >= 0, "cannot bind %s: %s", name, strerror(-fd));
	if (fd < 0)
		return;
	CHECK(setenv("NOTIFY_SOCKET", name, 1) == 0);
	CHECK_INT(notify_ready(), 1);
	CHECK_DATAGRAM(fd, "READY=1");
	CHECK_INT(notify_status("abstract %s", "ok"), 1);
	CHECK_DATAGRAM(fd, "STATUS=abstract ok");
	CHECK_NO_DATAGRAM(fd);
	CHECK(close(fd) == 0);

	/* The longest abstract name fills sun_path: the "@" stands for the leading NUL. */
	memset(name, 'n', SUN_PATH_MAX);
	name[0] = '@';
	name[SUN_PATH_MAX] = '\0';
	snprintf(name + 1, 20, "%ld-", (long)getpid());
	name[strlen(name)] = 'n';
	CHECK_INT(strlen(name), SUN_PATH_MAX);
	fd = listener_bind_abstract(name + 1);
	CHECK_MSG(fd >= 0, "cannot bind %s: %s", name, strerror(-fd));
	if (fd < 0)
		return;
	CHECK(setenv("NOTIFY_SOCKET", name, 1) == 0);
	CHECK_INT(notify_watchdog(), 1);
	CHECK_DATAGRAM(fd, "WATCHDOG=1");
	CHECK(close(fd) == 0);
}

/* The longest file path that fits sun_path with its NUL. */
static void test_long_path(void)
{
	char path[SUN_PATH_MAX + 1];
	size_t len = strlen(dir);
	int fd;

	memcpy(path, dir, len);
	path[len] = '/';
	memset(path + len + 1, 'p', SUN_PATH_MAX - 1 - len - 1);
	path[SUN_PATH_MAX - 1] = '\0';
	CHECK_INT(strlen(path), SUN_PATH_MAX - 1);
	fd = listener_bind_path(path);
	CHECK_MSG(fd >= 0, "cannot bind %s: %s", path, strerror(-fd));
	if (fd < 0)
		return;
	CHECK(setenv("NOTIFY_SOCKET", path, 1) == 0);
	CHECK_INT(notify_stopping(), 1);
	CHECK_DATAGRAM(fd, "STOPPING=1");
	CHECK(close(fd) == 0);
	CHECK(unlink(path) == 0);
}

/* Every call with this NOTIFY_SOCKET fails with error, and sends nothing to the test's socket. */
static void check_fails(int fd, const char *notify_socket, int error)
{
	CHECK(setenv("NOTIFY_SOCKET", notify_socket, 1) == 0);
	CHECK_MSG(notify_ready() == -error, "NOTIFY_SOCKET=%s: not %s", notify_socket, strerror(error));
	CHECK_MSG(notify_reloading() == -error, "NOTIFY_SOCKET=%s: not %s", notify_socket, strerror(error));
	CHECK_MSG(notify_stopping() == -error, "NOTIFY_SOCKET=%s: not %s", notify_socket, strerror(error));
	CHECK_MSG(notify_status("x=%d", 1) == -error, "NOTIFY_SOCKET=%s: not %s", notify_socket, strerror(error));
	CHECK_MSG(notify_watchdog() == -error, "NOTIFY_SOCKET=%s: not %s", notify_socket, strerror(error));
	CHECK_STR(getenv("NOTIFY_SOCKET"), notify_socket);
	CHECK_NO_DATAGRAM(fd);
}

/*
 * Addresses that cannot be used, and sockets that are not there: error codes, never a crash, and one warning
 * in all (the first failure of the process, so this runs before any other).
 */
static void test_errors(int fd)
{
	char too_long[SUN_PATH_MAX + 2], stale[sizeof(dir) + 16];
	size_t len = strlen(dir);
	int stale_fd;

	/* A stale socket file: bound once, nobody reading it now. */
	snprintf(stale, sizeof(stale), "%s/stale", dir);
	stale_fd = listener_bind_path(stale);
	CHECK(stale_fd >= 0);
	if (stale_fd >= 0)
		CHECK(close(stale_fd) == 0);

	capture_begin();
	check_fails(fd, "notify", EINVAL);
	check_fails(fd, "./notify", EINVAL);
	check_fails(fd, " /tmp/notify", EINVAL);
	check_fails(fd, "vsock:2:1234", EAFNOSUPPORT);
	check_fails(fd, "vsock-dgram:2:1234", EAFNOSUPPORT);

	/* One byte too long for sun_path with the NUL (the file need not exist for that). */
	memcpy(too_long, dir, len);
	too_long[len] = '/';
	memset(too_long + len + 1, 'p', SUN_PATH_MAX - len - 1);
	too_long[SUN_PATH_MAX] = '\0';
	check_fails(fd, too_long, EINVAL);
	/* An abstract name one byte longer than sun_path. */
	memset(too_long, 'n', SUN_PATH_MAX + 1);
	too_long[0] = '@';
	too_long[SUN_PATH_MAX + 1] = '\0';
	check_fails(fd, too_long, EINVAL);

	check_fails(fd, "/nonexistent/notify", ENOENT);
	check_fails(fd, stale, ECONNREFUSED);
	snprintf(too_long, sizeof(too_long), "@test-notify-%ld-nobody", (long)getpid());
	check_fails(fd, too_long, ECONNREFUSED);
	capture_end();
	/* The one warning, and any check that failed while stderr was captured. */
	fputs(captured, stderr);

	CHECK_MSG(count_of(captured, "op=notify status=error") == 1, "logged:\n%s", captured);
	CHECK_MSG(strstr(captured, "cannot notify the service manager at notify: ") != NULL, "logged:\n%s", captured);
	CHECK(unlink(stale) == 0);
}

static void *status_sender(void *arg)
{
	long t = (long)(intptr_t)arg, sent = 0;

	for (int i = 0; i < MESSAGES_PER_THREAD; i++)
		sent += notify_status("thread %ld message %d", t, i) == 1;
	return (void *)(intptr_t)sent;
}

/* Threads sending at once: every datagram arrives whole, none lost or mixed with another. */
static void test_threads(int fd)
{
	bool seen[THREADS][MESSAGES_PER_THREAD] = {{false}};
	pthread_t threads[THREADS];
	char expected[64];
	void *sent;
	long t;
	int i, received = 0;

	CHECK(setenv("NOTIFY_SOCKET", socket_path, 1) == 0);
	for (t = 0; t < THREADS; t++)
		CHECK_INT(pthread_create(&threads[t], NULL, status_sender, (void *)(intptr_t)t), 0);
	/* The socket queues only a few datagrams: read while they are sent. */
	while (received < THREADS * MESSAGES_PER_THREAD) {
		const char *m = datagram_next(fd, true);

		if (datagram_len < 0)
			break;
		received++;
		if (sscanf(m, "STATUS=thread %ld message %d", &t, &i) != 2 || t < 0 || t >= THREADS || i < 0 ||
			i >= MESSAGES_PER_THREAD) {
			CHECK_MSG(false, "got \"%s\"", m);
			continue;
		}
		snprintf(expected, sizeof(expected), "STATUS=thread %ld message %d", t, i);
		CHECK_STR(m, expected);
		CHECK_INT(datagram_len, strlen(expected));
		CHECK_MSG(!seen[t][i], "\"%s\" twice", m);
		seen[t][i] = true;
	}
	for (t = 0; t < THREADS; t++) {
		CHECK_INT(pthread_join(threads[t], &sent), 0);
		CHECK_INT((intptr_t)sent, MESSAGES_PER_THREAD);
	}
	CHECK_INT(received, THREADS * MESSAGES_PER_THREAD);
	CHECK_NO_DATAGRAM(fd);
}

/* WATCHDOG_USEC (and WATCHDOG_PID when set) as sd_watchdog_enabled(3) reads them; usec is 0 unless 1 is returned. */
static void check_watchdog(const char *period, const char *pid, int expected, uint64_t expected_usec)
{
	uint64_t usec = 1;
	int r;

	if (period)
		CHECK(setenv("WATCHDOG_USEC", period, 1) == 0);
	else
		CHECK(unsetenv("WATCHDOG_USEC") == 0);
	if (pid)
		CHECK(setenv("WATCHDOG_PID", pid, 1) == 0);
	else
		CHECK(unsetenv("WATCHDOG_PID") == 0);
	r = notify_watchdog_usec(&usec);
	CHECK_MSG(r == expected && usec == expected_usec,
		"WATCHDOG_USEC=%s WATCHDOG_PID=%s: got %d and %" PRIu64 ", expected %d and %" PRIu64,
		period ? period : "(unset)", pid ? pid : "(unset)", r, usec, expected, expected_usec);
}

static void test_watchdog(void)
{
	char self[32], other[32];

	snprintf(self, sizeof(self), "%ld", (long)getpid());
	/* The parent that started the test: surely another process. */
	snprintf(other, sizeof(other), "%ld", (long)getppid());

	check_watchdog(NULL, NULL, 0, 0);
	check_watchdog("60000000", NULL, 1, 60000000);
	check_watchdog("1", NULL, 1, 1);
	check_watchdog("18446744073709551615", NULL, 1, UINT64_MAX);
	check_watchdog("60000000", self, 1, 60000000);

	/* Meant for another process (a parent that exec'd us without clearing it). */
	check_watchdog("60000000", other, 0, 0);
	check_watchdog("soon", other, 0, 0);
	/* No period: nothing is asked of anyone, whatever WATCHDOG_PID says. */
	check_watchdog(NULL, self, 0, 0);
	check_watchdog(NULL, "abc", 0, 0);

	/* A malformed period. */
	check_watchdog("", NULL, -EINVAL, 0);
	check_watchdog("soon", NULL, -EINVAL, 0);
	check_watchdog("abc", self, -EINVAL, 0);
	check_watchdog("0", NULL, -EINVAL, 0);
	check_watchdog("-5", NULL, -EINVAL, 0);
	check_watchdog("+5", NULL, -EINVAL, 0);
	check_watchdog(" 5", NULL, -EINVAL, 0);
	check_watchdog("5 ", NULL, -EINVAL, 0);
	check_watchdog("5x", NULL, -EINVAL, 0);
	check_watchdog("5\n", NULL, -EINVAL, 0);
	check_watchdog("0x10", NULL, -EINVAL, 0);
	check_watchdog("18446744073709551616", NULL, -ERANGE, 0);
	check_watchdog("99999999999999999999999", NULL, -ERANGE, 0);

	/* A malformed pid. */
	check_watchdog("60000000", "", -EINVAL, 0);
	check_watchdog("60000000", "abc", -EINVAL, 0);
	check_watchdog("60000000", "0", -EINVAL, 0);
	check_watchdog("60000000", "-5", -EINVAL, 0);
	check_watchdog("60000000", " 5", -EINVAL, 0);
	check_watchdog("60000000", "5x", -EINVAL, 0);
	check_watchdog("60000000", "99999999999999999999999", -ERANGE, 0);
	/* Larger than any pid_t. */
	check_watchdog("60000000", "4294967296", -ERANGE, 0);

	CHECK(unsetenv("WATCHDOG_USEC") == 0);
	CHECK(unsetenv("WATCHDOG_PID") == 0);
}

int main(void)
{
	int fd;

	if (!mkdtemp(dir)) {
		CHECK_MSG(false, "mkdtemp: %s", strerror(errno));
		TEST_DONE();
	}
	snprintf(socket_path, sizeof(socket_path), "%s/notify", dir);
	fd = listener_bind_path(socket_path);
	CHECK_MSG(fd >= 0, "cannot bind %s: %s", socket_path, strerror(-fd));
	if (fd < 0)
		TEST_DONE();

	test_no_manager(fd);
	test_errors(fd);
	test_messages(fd);
	test_abstract();
	test_long_path();
	test_threads(fd);
	test_watchdog();

	CHECK(unsetenv("NOTIFY_SOCKET") == 0);
	CHECK(close(fd) == 0);
	CHECK(unlink(socket_path) == 0);
	CHECK(rmdir(dir) == 0);
	TEST_DONE();
}
