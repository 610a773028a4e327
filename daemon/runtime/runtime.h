/* runtime: what runs (configuration, credentials, poller, users, web server): start, reload, stop */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "runtime/runtime_plan.h"

/*
 * A reload is a prepare (runtime_plan.h: may fail, and then leaves everything as it was) and a commit that
 * cannot fail: stop the old poller, hand its schedule over, tell the store which reports stay, swap the
 * pieces, free the old ones (borrowers first, see struct runtime_pieces), start the new threads.
 *
 * Reloads come from SIGHUP, on the main thread, and from POST /-/reload, on the request's thread, which calls
 * runtime_reload() itself and answers with its outcome. One lock serialises them, and the main thread's visits
 * (runtime_idle(), runtime_alive(), runtime_stop()): a reload runs whole before the next begins. A server
 * replaced by a reload is not freed by it (the request asking may be running on that very server) but retired,
 * and freed by runtime_idle() on the main thread; one replaced over HTTP first waits RUNTIME_RETIRE_GRACE_S so
 * that the answer it carries goes out.
 */
struct runtime;

#define RUNTIME_RETIRE_GRACE_S 5.0

/* Where a reload was asked: the log says which. */
enum runtime_origin {
	RUNTIME_FROM_SIGNAL,
	RUNTIME_FROM_HTTP,
};

struct runtime_options {
	const char *config_path; /* the file read again on reload; borrowed for the runtime's life */
	const char *listen; /* --listen (overrides web.listen), or NULL; borrowed likewise */
};

/*
 * Builds everything for cfg (taken, freed on failure), declares its reports, starts the threads, says READY.
 * Signals must be blocked already: the threads started inherit the mask. Returns 0 with *out,
 * RUNTIME_BAD_CONFIG (no region or endpoint: exit status 1), or -errno (exit status 2), logged.
 */
int runtime_start(struct runtime **out, struct config *cfg, const struct runtime_options *opts);

/*
 * Reads the configuration file again and applies it: reports whose definition did not change keep their
 * figures and schedule, changed ones start afresh, removed ones disappear. Sends RELOADING, then READY.
 * Returns RUNTIME_OK, RUNTIME_REJECTED (logged; the reasons in why, "FILE:LINE: reason" lines for a file with
 * errors), or -ECANCELED once runtime_stop() has begun. Thread-safe; waits for a reload in progress.
 */
int runtime_reload(struct runtime *rt, enum runtime_origin from, char *why, size_t whylen);

/* The main loop's idle moment: frees the servers retired by reloads whose grace is over. Main thread only. */
void runtime_idle(struct runtime *rt);

/* Whether every farm thread showed life within max_silence_seconds (poller_alive()): the watchdog's condition. */
bool runtime_alive(struct runtime *rt, double max_silence_seconds);

/* Refuses every later reload (one in progress ends first) and stops the farm threads. Idempotent. */
void runtime_stop(struct runtime *rt);

/* runtime_stop(), then frees everything, servers first. NULL-safe. Main thread only. */
void runtime_free(struct runtime *rt);

/* test hook: the port the current server listens on. */
unsigned runtime_port(struct runtime *rt);
