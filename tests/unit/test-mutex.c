/* test-mutex: lock and unlock pair up; misuse aborts (checked in a child process) */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "util/mutex.h"

int main(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutexattr_t attr;
	pthread_mutex_t checked;
	int status = 0;
	pid_t pid;

	mutex_lock(&m);
	CHECK_INT(pthread_mutex_trylock(&m), EBUSY);
	mutex_unlock(&m);
	CHECK_INT(pthread_mutex_trylock(&m), 0);
	mutex_unlock(&m);

	/* An error-checking mutex unlocked twice: a bug, so the process stops. */
	CHECK_INT(pthread_mutexattr_init(&attr), 0);
	CHECK_INT(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK), 0);
	CHECK_INT(pthread_mutex_init(&checked, &attr), 0);
	fflush(stderr);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* The child's log line and core are of no interest. */
		if (!freopen("/dev/null", "w", stderr))
			_exit(2);
		signal(SIGABRT, SIG_DFL);
		mutex_unlock(&checked);
		_exit(0);
	}
	if (pid > 0) {
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	}
	pthread_mutex_destroy(&checked);
	pthread_mutexattr_destroy(&attr);
	TEST_DONE();
}
