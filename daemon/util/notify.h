/* notify: tells the service manager about readiness, reloads, stopping, status and liveness (sd_notify) */
#pragma once

#include <stdint.h>

/*
 * Every function is safe to call from any thread, at any time, with or without a service manager: when
 * NOTIFY_SOCKET is not set or empty (run by hand, in tests) they do nothing and return 0. They return 1
 * when the message was sent, and a negative errno-style code when sending failed (NOTIFY_SOCKET names
 * neither a "/path" nor an "@abstract" socket, or the socket is not there); the first failure is logged as
 * a warning, so callers may ignore the result.
 * NOTIFY_SOCKET is left in the environment, as later messages (watchdog keep-alives) need it.
 */

/* "READY=1": the HTTP listener is up (also ends a reload started by notify_reloading()). */
int notify_ready(void);

/* "RELOADING=1" with "MONOTONIC_USEC=" now: a reload began; send notify_ready() when it is done. */
int notify_reloading(void);

/* "STOPPING=1": shutting down. */
int notify_stopping(void);

/*
 * "STATUS=" and the formatted text, shown by systemctl status. Control characters (newlines included)
 * become spaces, so the text cannot add other assignments; it is cut at 256 bytes on a UTF-8 boundary.
 */
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "WATCHDOG=1": a keep-alive; send one at least every half of the period notify_watchdog_usec() gives. */
int notify_watchdog(void);

/* What notify_watchdog_usec() found. */
enum notify_watchdog {
	NOTIFY_WATCHDOG_OFF = 0, /* no keep-alives expected of this process */
	NOTIFY_WATCHDOG_ON = 1, /* keep-alives expected, *usec the period */
};

/*
 * Whether the service manager expects keep-alives from this process (WATCHDOG_USEC, WATCHDOG_PID).
 * Returns NOTIFY_WATCHDOG_ON and sets *usec to the watchdog period in microseconds, NOTIFY_WATCHDOG_OFF
 * (and *usec = 0) when it does not, or a negative errno-style code for a malformed environment (*usec = 0).
 */
int notify_watchdog_usec(uint64_t *usec);
