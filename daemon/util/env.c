/* env: environment variables, an empty value read as unset */
#include "util/env.h"

#include <stdlib.h>

const char *env_get(const char *name)
{
	const char *v = name ? getenv(name) : NULL;

	return v && *v ? v : NULL;
}
