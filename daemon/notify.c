/* notify: a thin wrapper over libsystemd's sd_notify, compiled to no-ops without libsystemd */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "notify.h"

/* Longest STATUS= text kept: systemctl status shows one line. */
#define NOTIFY_STATUS_MAX 256

#if HAVE_LIBSYSTEMD
static atomic_bool notify_failure_logged;
#endif

static int notify_send(const char *message)
{
#if HAVE_LIBSYSTEMD
	int r = sd_notify(0, message);

	/* The watchdog sends every few seconds: one warning is enough to explain a restart. */
	if (r < 0 && !atomic_exchange(&notify_failure_logged, true))
		log_warning("op=notify status=error reason=\"cannot notify the service manager: %s\"", strerror(-r));
	return r;
#else
	(void)message;
	return 0;
#endif
}

int notify_ready(void)
{
	return notify_send("READY=1");
}

int notify_reloading(void)
{
	struct timespec ts;
	char message[64];
	uint64_t usec;
	int n;

	/* systemd matches MONOTONIC_USEC against the time it sent the reload request. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return -errno;
	usec = (uint64_t)ts.tv_sec * UINT64_C(1000000) + (uint64_t)ts.tv_nsec / UINT64_C(1000);
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

int notify_watchdog_usec(uint64_t *usec)
{
	*usec = 0;
#if HAVE_LIBSYSTEMD
	uint64_t period = 0;
	int r = sd_watchdog_enabled(0, &period);

	if (r > 0)
		*usec = period;
	return r;
#else
	return 0;
#endif
}
