/* mutex: pthread lock/unlock that stop the program, loudly, when the lock is misused */
#include "util/mutex.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

void mutex_lock(pthread_mutex_t *m)
{
	int r = pthread_mutex_lock(m);

	if (r) {
		log_error("op=lock error=\"%s\"", strerror(r));
		abort();
	}
}

void mutex_unlock(pthread_mutex_t *m)
{
	int r = pthread_mutex_unlock(m);

	if (r) {
		log_error("op=unlock error=\"%s\"", strerror(r));
		abort();
	}
}
