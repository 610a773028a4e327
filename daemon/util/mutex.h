/* mutex: lock and unlock where failing is a bug (the one way the daemon handles it: log, then abort) */
#pragma once

#include <pthread.h>

/* Locks m; a failure (EINVAL, EDEADLK: the program is already broken) is logged, then abort(). */
void mutex_lock(pthread_mutex_t *m);

/* Unlocks m; a failure (EPERM: not the owner) is logged, then abort(). */
void mutex_unlock(pthread_mutex_t *m);
