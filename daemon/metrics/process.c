/* process: CPU time, memory, file descriptors and start time of this process, as client libraries export them */
#include "metrics/process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "metrics/exposition.h"
#include "util/file.h"

/* The fields of /proc/self/stat after "(comm) ", counted from state (field 3 of proc(5)) as 0. */
#define STAT_UTIME 11 /* field 14 */
#define STAT_STIME 12 /* field 15 */
#define STAT_STARTTIME 19 /* field 22 */
#define STAT_VSIZE 20 /* field 23 */
#define STAT_RSS 21 /* field 24 */

/* Boot time (Unix seconds) from /proc/stat's btime, read once; NaN when unknown. */
static double boot_time;
static pthread_once_t boot_time_once = PTHREAD_ONCE_INIT;

static void boot_time_read(void)
{
	char buf[16384];
	const char *p;

	boot_time = NAN;
	if (file_read_into("/proc/stat", buf, sizeof(buf)) < 0)
		return;
	p = strstr(buf, "\nbtime ");
	if (p)
		boot_time = (double)strtoull(p + 7, NULL, 10);
}

/* The fields of /proc/self/stat this file needs. Returns 0 or -errno. */
static int stat_read(struct metrics_process *out)
{
	unsigned long long v[STAT_RSS + 1] = {0};
	char buf[4096], *p, *end;
	ssize_t n = file_read_into("/proc/self/stat", buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	/* comm may hold spaces and parentheses: the fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	for (size_t i = 0; i <= STAT_RSS; i++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EINVAL;
		if (i == 0) { /* state: a letter */
			p++;
			continue;
		}
		v[i] = strtoull(p, &end, 10);
		if (end == p)
			return -EINVAL;
		p = end;
	}
	long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	if (ticks <= 0 || page <= 0)
		return -EINVAL;
	out->cpu_seconds = (double)(v[STAT_UTIME] + v[STAT_STIME]) / (double)ticks;
	out->virtual_bytes = (double)v[STAT_VSIZE];
	out->resident_bytes = (double)v[STAT_RSS] * (double)page;
	(void)pthread_once(&boot_time_once, boot_time_read);
	out->start_time_seconds = boot_time + (double)v[STAT_STARTTIME] / (double)ticks;
	return 0;
}

/* The open file descriptors, less the one that lists them. Returns 0 or -errno. */
static int fds_count(double *out)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	*out = n ? (double)(n - 1) : 0;
	return 0;
}

int metrics_process_read(struct metrics_process *out)
{
	struct rlimit rl;
	int r, first = 0;

	*out = (struct metrics_process){NAN, NAN, NAN, NAN, NAN, NAN};
	r = stat_read(out);
	if (r < 0) {
		out->cpu_seconds = out->resident_bytes = out->virtual_bytes = out->start_time_seconds = NAN;
		first = r;
	}
	r = fds_count(&out->open_fds);
	if (r < 0 && !first)
		first = r;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		out->max_fds = rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur;
	else if (!first)
		first = -errno;
	return first;
}

/* The order, names, types and help texts of the Go client's process collector. */
enum process_family {
	PROCESS_CPU,
	PROCESS_OPEN_FDS,
	PROCESS_MAX_FDS,
	PROCESS_VIRTUAL,
	PROCESS_RESIDENT,
	PROCESS_START,
	PROCESS_FAMILY_COUNT,
};

static const struct exposition_family process_families[PROCESS_FAMILY_COUNT] = {
	[PROCESS_CPU] = {"process_cpu_seconds_total", EXPOSITION_COUNTER,
		"Total user and system CPU time spent in seconds."},
	[PROCESS_OPEN_FDS] = {"process_open_fds", EXPOSITION_GAUGE, "Number of open file descriptors."},
	[PROCESS_MAX_FDS] = {"process_max_fds", EXPOSITION_GAUGE, "Maximum number of open file descriptors."},
	[PROCESS_VIRTUAL] = {"process_virtual_memory_bytes", EXPOSITION_GAUGE, "Virtual memory size in bytes."},
	[PROCESS_RESIDENT] = {"process_resident_memory_bytes", EXPOSITION_GAUGE, "Resident memory size in bytes."},
	[PROCESS_START] = {"process_start_time_seconds", EXPOSITION_GAUGE,
		"Start time of the process since unix epoch in seconds."},
};

struct metrics_kind metrics_process_kind = {
	.rank = METRICS_RANK_PROCESS,
	.families = process_families,
	.n_families = PROCESS_FAMILY_COUNT,
};

int metrics_process_render(const struct metrics_process *p, struct metrics_section *sec)
{
	const double values[PROCESS_FAMILY_COUNT] = {
		[PROCESS_CPU] = p->cpu_seconds,
		[PROCESS_OPEN_FDS] = p->open_fds,
		[PROCESS_MAX_FDS] = p->max_fds,
		[PROCESS_VIRTUAL] = p->virtual_bytes,
		[PROCESS_RESIDENT] = p->resident_bytes,
		[PROCESS_START] = p->start_time_seconds,
	};
	char value[EXPOSITION_NUMBER_SIZE];

	for (size_t f = 0; f < PROCESS_FAMILY_COUNT; f++) {
		if (isnan(values[f]))
			continue;
		exposition_double(value, sizeof(value), values[f]);
		struct buf *b = metrics_section_lines(sec, f);
		if (!b || exposition_series(b, process_families[f].name, NULL, 0, value) < 0)
			return -ENOMEM;
	}
	return 0;
}

int metrics_process_section_new(struct metrics_section **out)
{
	struct metrics_process p;
	struct metrics_section *sec = NULL;
	int r;

	*out = NULL;
	r = metrics_section_new(&sec, &metrics_process_kind);
	if (r < 0)
		return r;
	(void)metrics_process_read(&p); /* what could not be read is NaN, left out */
	return metrics_section_finish(sec, metrics_process_render(&p, sec), out);
}
