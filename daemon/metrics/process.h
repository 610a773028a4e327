/* process: the process_* metrics of the Prometheus client libraries on Linux, read from /proc (metrics/ only) */
#pragma once

#include <stdint.h>

#include "metrics/metrics.h"
#include "metrics/self.h"

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

/* Appends them as exposition text (HELP, TYPE and sample of each figure known). Returns 0 or -ENOMEM. */
int metrics_process_render(const struct metrics_process *p, struct buf *b);

/*
 * Reads and renders them into a new text of one reference (gen: the caller's clock, for its cache), not yet
 * compressed. A figure that cannot be read is left out. Returns 0 or -ENOMEM.
 */
int metrics_process_text_new(struct metrics_self_text **out, uint64_t gen);
