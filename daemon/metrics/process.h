/* process: the process_* metrics of the Prometheus client libraries on Linux, read from /proc (metrics/ only) */
#pragma once

#include <stdint.h>

#include "metrics/section.h"

/* This process's figures; NaN for one that could not be read (left out of the output). */
struct metrics_process {
	double cpu_seconds; /* utime + stime of /proc/self/stat */
	double resident_bytes; /* rss pages × page size */
	double virtual_bytes; /* vsize */
	double open_fds; /* entries of /proc/self/fd (without the one that lists them) */
	double max_fds; /* RLIMIT_NOFILE's soft limit, +Inf when unlimited */
	double start_time_seconds; /* /proc/stat's btime + starttime, Unix time */
};

/* Reads them now. Returns 0, or the -errno of the first figure that could not be read (it is NaN). */
int metrics_process_read(struct metrics_process *out);

/* The process metrics: one section, in the order, with the names, types and help texts of the Go client's. */
extern struct metrics_kind metrics_process_kind;

/* Renders them into sec (of the process kind, not sealed): a figure that is NaN is left out. Returns 0 or -ENOMEM. */
int metrics_process_render(const struct metrics_process *p, struct metrics_section *sec);

/*
 * Reads and renders them into a new sealed section of one reference: a figure that cannot be read is left out.
 * Returns 0 or -ENOMEM.
 */
int metrics_process_section_new(struct metrics_section **out);
