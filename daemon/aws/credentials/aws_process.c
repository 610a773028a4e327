/* aws_process: credential_process with posix_spawnp (no shell), bounded in time and output */
#include "aws/credentials/aws_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aws/credentials/aws_credentials.h"
#include "util/ascii.h"
#include "util/monotime.h"

#define PROCESS_OUTPUT_MAX (64 * 1024)
#define PROCESS_ARGS_MAX 256

extern char **environ;

void aws_process_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

int aws_process_split(const char *command, char ***argv, size_t *argc)
{
	size_t len = strlen(command), n = 0;
	char **words = calloc(PROCESS_ARGS_MAX + 1, sizeof(*words));
	char *word = malloc(len + 1);
	const char *p = command;
	int r = 0;

	*argv = NULL;
	*argc = 0;
	if (!words || !word) {
		r = -ENOMEM;
		goto fail;
	}
	for (;;) {
		size_t w = 0;
		bool have = false;

		while (ascii_is_space(*p))
			p++;
		if (!*p)
			break;
		while (*p && !ascii_is_space(*p)) {
			have = true;
			if (*p == '\'') {
				const char *end = strchr(p + 1, '\'');

				if (!end) {
					r = -EINVAL;
					goto fail;
				}
				memcpy(word + w, p + 1, (size_t)(end - p - 1));
				w += (size_t)(end - p - 1);
				p = end + 1;
			} else if (*p == '"') {
				for (p++; *p != '"'; p++) {
					if (!*p) {
						r = -EINVAL;
						goto fail;
					}
					/* Inside double quotes a backslash escapes only the quote and itself. */
					if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					word[w++] = *p;
				}
				p++;
			} else if (*p == '\\') {
				if (!p[1]) {
					r = -EINVAL;
					goto fail;
				}
				word[w++] = p[1];
				p += 2;
			} else {
				word[w++] = *p++;
			}
		}
		if (!have)
			break;
		if (n == PROCESS_ARGS_MAX) {
			r = -EINVAL;
			goto fail;
		}
		words[n] = strndup(word, w);
		if (!words[n]) {
			r = -ENOMEM;
			goto fail;
		}
		n++;
	}
	if (n == 0) {
		r = -EINVAL;
		goto fail;
	}
	free(word);
	*argv = words;
	*argc = n;
	return 0;
fail:
	free(word);
	aws_process_argv_free(words);
	return r;
}

/* Waits for pid; kills it first when kill_it. Returns the wait status, or -1. */
static int reap(pid_t pid, bool kill_it)
{
	int status = 0;

	if (kill_it)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

int aws_process_credentials(
	const char *command, long timeout_ms, struct aws_credentials **out, char *why, size_t whylen)
{
	posix_spawn_file_actions_t actions;
	bool actions_ready = false;
	char **argv = NULL, *buf = NULL;
	size_t argc = 0, used = 0;
	int fds[2] = {-1, -1}, status, r;
	pid_t pid = -1;
	int64_t deadline;

	*out = NULL;
	r = aws_process_split(command, &argv, &argc);
	if (r == -EINVAL)
		snprintf(why, whylen, "credential_process cannot be split into words (unterminated quote?)");
	if (r < 0)
		return r;
	buf = malloc(PROCESS_OUTPUT_MAX + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		r = -errno;
		snprintf(why, whylen, "credential_process: pipe: %s", strerror(errno));
		goto out;
	}
	r = posix_spawn_file_actions_init(&actions);
	if (r) {
		r = -r;
		goto out;
	}
	actions_ready = true;
	/* stdout to our pipe; stdin and stderr to /dev/null so the program's chatter never reaches our logs. */
	if ((r = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)) ||
		(r = posix_spawn_file_actions_adddup2(&actions, fds[1], 1)) ||
		(r = posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)) ||
		(r = posix_spawn_file_actions_addclosefrom_np(&actions, 3))) {
		r = -r;
		goto out;
	}
	r = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
	if (r) {
		pid = -1;
		snprintf(why, whylen, "credential_process: cannot run %.200s: %s", argv[0], strerror(r));
		r = -EINVAL;
		goto out;
	}
	close(fds[1]);
	fds[1] = -1;

	deadline = monotime_ms() + timeout_ms;
	for (;;) {
		struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
		int64_t left = deadline - monotime_ms();
		ssize_t got;
		int pr;

		if (left <= 0) {
			reap(pid, true);
			pid = -1;
			snprintf(why, whylen, "credential_process %.200s did not finish within %lds (killed)", argv[0],
				timeout_ms / 1000);
			r = -ETIMEDOUT;
			goto out;
		}
		pr = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			r = -errno;
			goto out;
		}
		if (pr == 0)
			continue;
		got = read(fds[0], buf + used, PROCESS_OUTPUT_MAX - used);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			goto out;
		}
		if (got == 0)
			break;
		used += (size_t)got;
		if (used == PROCESS_OUTPUT_MAX) {
			reap(pid, true);
			pid = -1;
			snprintf(why, whylen, "credential_process %.200s wrote more than %d bytes", argv[0],
				PROCESS_OUTPUT_MAX);
			r = -EIO;
			goto out;
		}
	}
	buf[used] = '\0';
	/* stdout closed: the program is ending (or closed it early; the deadline still applies to it). */
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (monotime_ms() >= deadline) {
			reap(pid, true);
			pid = -1;
			snprintf(why, whylen, "credential_process %.200s did not exit within %lds (killed)", argv[0],
				timeout_ms / 1000);
			r = -ETIMEDOUT;
			goto out;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFEXITED(status))
			snprintf(why, whylen, "credential_process %.200s exited with status %d", argv[0],
				WEXITSTATUS(status));
		else
			snprintf(why, whylen, "credential_process %.200s was killed by signal %d", argv[0],
				WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		r = -EIO;
		goto out;
	}
	r = aws_credentials_from_json(buf, "process", true, out, why, whylen);
	if (r < 0 && r != -ENOMEM) {
		char inner[200];

		snprintf(inner, sizeof(inner), "%s", why);
		snprintf(why, whylen, "credential_process %.100s: %s", argv[0], inner);
		r = -EIO;
	}
out:
	if (pid > 0)
		reap(pid, true);
	if (actions_ready)
		posix_spawn_file_actions_destroy(&actions);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	if (buf) {
		explicit_bzero(buf, PROCESS_OUTPUT_MAX + 1);
		free(buf);
	}
	aws_process_argv_free(argv);
	return r;
}
