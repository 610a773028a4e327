/* test-log: line format with and without the journal, escaping, truncation, levels, whole lines across threads */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/log.h"
#include "test.h"

#define THREADS 8
#define LINES_PER_THREAD 400

static char captured[1 << 20];
static struct test_capture capture;

/* stderr into captured, between these two (test.h). */
static void capture_begin(void)
{
	test_capture_begin(&capture);
}

static void capture_end(void)
{
	test_capture_end(&capture, captured, sizeof(captured));
}

static bool is_timestamp(const char *s)
{
	/* 2026-11-26T07:02:03.123Z */
	static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";

	for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
		if (pattern[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pattern[i])
			return false;
	}
	return true;
}

static void test_levels(void)
{
	static const struct {
		const char *text;
		enum log_level level;
	} cases[] = {
		{"error", LOG_LEVEL_ERROR},
		{"warning", LOG_LEVEL_WARNING},
		{"info", LOG_LEVEL_INFO},
		{"debug", LOG_LEVEL_DEBUG},
	};
	static const char *const bad[] = {"", "warn", "ERROR", "Info", "notice", "debug "};
	enum log_level level;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		level = 0;
		CHECK_INT(log_level_parse(cases[i].text, &level), 0);
		CHECK_INT(level, cases[i].level);
		CHECK_STR(log_level_name(cases[i].level), cases[i].text);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(log_level_parse(bad[i], &level), -EINVAL);
	CHECK_INT(log_level_parse(NULL, &level), -EINVAL);

	log_init(LOG_LEVEL_WARNING);
	CHECK(log_enabled(LOG_LEVEL_ERROR));
	CHECK(log_enabled(LOG_LEVEL_WARNING));
	CHECK(!log_enabled(LOG_LEVEL_INFO));
	CHECK(!log_enabled(LOG_LEVEL_DEBUG));
	/* out of range: clamped, so errors are never silenced */
	log_init((enum log_level)0);
	CHECK(log_enabled(LOG_LEVEL_ERROR));
	CHECK(!log_enabled(LOG_LEVEL_WARNING));
	log_init((enum log_level)99);
	CHECK(log_enabled(LOG_LEVEL_DEBUG));
}

static void test_plain(void)
{
	const char *line2;

	CHECK(unsetenv("JOURNAL_STREAM") == 0);
	log_init(LOG_LEVEL_INFO);
	capture_begin();
	log_info("farm=%s report=%s status=%d", "farm-1", "mtd", 200);
	log_debug("hidden=%d", 1);
	log_error("op=%s message=\"%s\"", "Get", "line one\nline two\ttab\x01\x7f\r");
	capture_end();

	CHECK_MSG(strncmp(captured, "info ", 5) == 0 && is_timestamp(captured + 5), "got: %s", captured);
	CHECK_MSG(strncmp(captured + 29, " farm=farm-1 report=mtd status=200\n", 35) == 0, "got: %s", captured);
	line2 = strchr(captured, '\n');
	CHECK(line2 != NULL);
	if (!line2)
		return;
	line2++;
	CHECK_MSG(strncmp(line2, "error ", 6) == 0 && is_timestamp(line2 + 6), "got: %s", line2);
	CHECK_STR(line2 + 30, " op=Get message=\"line one\\nline two\\ttab\\x01\\x7f\\r\"\n");
	CHECK(strstr(captured, "hidden") == NULL);
}

static void test_journal(void)
{
	CHECK(setenv("JOURNAL_STREAM", "8:12345", 1) == 0);
	log_init(LOG_LEVEL_DEBUG);
	capture_begin();
	log_error("a=1");
	log_warning("b=2");
	log_info("c=3");
	log_debug("d=%s", "x\ny");
	capture_end();
	CHECK_STR(captured, "<3>a=1\n<4>b=2\n<6>c=3\n<7>d=x\\ny\n");
}

static void test_long(void)
{
	static char big[20000];
	size_t len;

	memset(big, 'a', sizeof(big) - 1);
	capture_begin();
	log_info("%s", big);
	big[5000] = '\0';
	memset(big, '\n', 4000);
	log_info("%s", big);
	capture_end();
	/* one line each, cut and marked */
	len = strcspn(captured, "\n");
	CHECK(len < 8192);
	CHECK(len > 3 && strncmp(captured + len - 3, "...", 3) == 0);
	CHECK(strncmp(captured, "<6>aaaa", 7) == 0);
	len = strcspn(captured + len + 1, "\n");
	CHECK(len < 8192);
	CHECK(len > 1000);
}

static void *thread_main(void *arg)
{
	int id = (int)(intptr_t)arg;
	char payload[301];

	memset(payload, 'a' + id, sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	for (int i = 0; i < LINES_PER_THREAD; i++)
		log_info("thread=%d i=%d payload=%s", id, i, payload);
	return NULL;
}

static void test_threads(void)
{
	pthread_t threads[THREADS];
	int counts[THREADS] = {0};
	int bad = 0;

	capture_begin();
	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_create(&threads[i], NULL, thread_main, (void *)(intptr_t)i) == 0);
	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_join(threads[i], NULL) == 0);
	capture_end();

	for (char *p = captured, *end; *p; p = end + 1) {
		int id, n, i;

		end = strchr(p, '\n');
		if (!end)
			break;
		*end = '\0';
		/* every line whole: the payload is 300 times the thread's own letter, and nothing follows */
		if (sscanf(p, "<6>thread=%d i=%d payload=%n", &id, &i, &n) != 2 || id < 0 || id >= THREADS ||
			strlen(p + n) != 300 || strspn(p + n, (char[]){(char)('a' + id), '\0'}) != 300) {
			bad++;
			continue;
		}
		counts[id]++;
	}
	CHECK_INT(bad, 0);
	for (int i = 0; i < THREADS; i++)
		CHECK_INT(counts[i], LINES_PER_THREAD);
}

int main(void)
{
	test_levels();
	test_plain();
	test_journal();
	test_long();
	test_threads();
	TEST_DONE();
}
