/* test-process: the process_* metrics agree with /proc, getrlimit and the clock; their text is as the clients' */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "metrics/process.h"
#include "test.h"

/* The open descriptors as ls /proc/self/fd sees them, less the one listing them. */
static double fds_now(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	double n = -1;

	CHECK(d != NULL);
	if (!d)
		return NAN;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* utime + stime in ticks, and /proc/self/statm's size and resident pages, read here independently. */
static void proc_now(unsigned long long *ticks, unsigned long long *size_pages, unsigned long long *rss_pages)
{
	char buf[4096];
	FILE *f = fopen("/proc/self/stat", "r");
	unsigned long long utime = 0, stime = 0;

	CHECK(f != NULL);
	if (f) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		const char *p = strrchr(buf, ')');
		CHECK(p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) == 2);
	}
	*ticks = utime + stime;
	f = fopen("/proc/self/statm", "r");
	CHECK(f != NULL);
	if (f) {
		CHECK(fscanf(f, "%llu %llu", size_pages, rss_pages) == 2);
		fclose(f);
	}
}

static void test_against_proc(void)
{
	struct metrics_process p;
	struct rlimit rl;
	unsigned long long t0, t1, size0, size1, rss0, rss1;
	double page = (double)sysconf(_SC_PAGESIZE), hz = (double)sysconf(_SC_CLK_TCK);
	volatile double spin = 0;

	/* Some CPU time, so that the counter is not trivially 0. */
	for (long i = 0; i < 30000000; i++)
		spin += (double)i;
	proc_now(&t0, &size0, &rss0);
	double fds = fds_now();
	CHECK_INT(metrics_process_read(&p), 0);
	proc_now(&t1, &size1, &rss1);
	time_t now = time(NULL);

	CHECK_MSG(p.cpu_seconds >= (double)t0 / hz && p.cpu_seconds <= (double)t1 / hz, "cpu %g, /proc %g..%g",
		p.cpu_seconds, (double)t0 / hz, (double)t1 / hz);
	CHECK(p.cpu_seconds > 0);
	/* statm's size is vsize in pages; memory may move by a few pages between the reads */
	CHECK_MSG(fabs(p.virtual_bytes - (double)size0 * page) <= 64 * page, "virtual %g, statm %g", p.virtual_bytes,
		(double)size0 * page);
	CHECK_MSG(fabs(p.resident_bytes - (double)rss0 * page) <= 64 * page, "resident %g, statm %g", p.resident_bytes,
		(double)rss0 * page);
	CHECK(p.resident_bytes > 0 && p.resident_bytes <= p.virtual_bytes);
	CHECK_MSG(p.open_fds == fds, "open fds %g, /proc/self/fd %g", p.open_fds, fds);
	CHECK_INT(getrlimit(RLIMIT_NOFILE, &rl), 0);
	CHECK(rl.rlim_cur == RLIM_INFINITY ? isinf(p.max_fds) : p.max_fds == (double)rl.rlim_cur);
	/* started a moment ago (this test runs in well under a minute) */
	CHECK_MSG(p.start_time_seconds <= (double)now + 1 && p.start_time_seconds > (double)now - 60,
		"start %.2f, now %lld", p.start_time_seconds, (long long)now);

	/* Three more descriptors: three more counted. */
	int a = dup(0), b = dup(0), c = open("/dev/null", O_RDONLY);
	struct metrics_process q;
	CHECK_INT(metrics_process_read(&q), 0);
	CHECK_MSG(q.open_fds == p.open_fds + 3, "%g then %g", p.open_fds, q.open_fds);
	CHECK(q.start_time_seconds == p.start_time_seconds);
	close(a);
	close(b);
	close(c);
}

/* The text of p's section as a scrape shows it, NUL-terminated. */
static char *section_text(const struct metrics_process *p)
{
	struct metrics_section *sec = NULL;
	struct metrics_body *body = NULL;
	struct buf b = {0};

	CHECK_INT(metrics_section_new(&sec, &metrics_process_kind), 0);
	if (sec) {
		CHECK_INT(metrics_process_render(p, sec), 0);
		CHECK_INT(metrics_section_seal(sec), 0);
		CHECK_INT(metrics_body_new(&body, &metrics_process_kind, &sec, 1), 0);
	}
	if (body)
		CHECK_INT(metrics_body_text(body, &b), 0);
	metrics_body_unref(body);
	metrics_section_unref(sec);
	CHECK_INT(buf_putc(&b, '\0'), 0);
	return buf_take(&b, NULL);
}

static void test_text(void)
{
	struct metrics_process p = {1.5, 4096, 8192, 7, 1024, 1700000000.25};
	struct metrics_section *sec = NULL;
	char *text = section_text(&p);

	CHECK_STR(text, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
			"# TYPE process_cpu_seconds_total counter\n"
			"process_cpu_seconds_total 1.5\n"
			"# HELP process_open_fds Number of open file descriptors.\n"
			"# TYPE process_open_fds gauge\n"
			"process_open_fds 7\n"
			"# HELP process_max_fds Maximum number of open file descriptors.\n"
			"# TYPE process_max_fds gauge\n"
			"process_max_fds 1024\n"
			"# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
			"# TYPE process_virtual_memory_bytes gauge\n"
			"process_virtual_memory_bytes 8192\n"
			"# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
			"# TYPE process_resident_memory_bytes gauge\n"
			"process_resident_memory_bytes 4096\n"
			"# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
			"# TYPE process_start_time_seconds gauge\n"
			"process_start_time_seconds 1700000000.25\n");
	free(text);

	/* A figure that could not be read is left out, header and all. */
	p.open_fds = NAN;
	p.max_fds = INFINITY;
	text = section_text(&p);
	CHECK(text && strstr(text, "process_open_fds") == NULL);
	CHECK(text && strstr(text, "\nprocess_max_fds +Inf\n") != NULL);
	free(text);

	/* Read now: every figure there, sealed. */
	CHECK_INT(metrics_process_section_new(&sec), 0);
	CHECK(sec && sec->sealed && sec->kind == &metrics_process_kind);
	for (size_t f = 0; sec && f < metrics_process_kind.n_families; f++)
		CHECK_MSG(sec->part[f].n_seg == 1, "family %zu", f);
	metrics_section_unref(sec);
}

int main(void)
{
	test_against_proc();
	test_text();
	TEST_DONE();
}
