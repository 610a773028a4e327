/* env: the one way the daemon reads its environment */
#pragma once

/*
 * The value of the environment variable name, or NULL when it is unset or set to "" (the AWS CLI, the
 * SDKs and systemd all treat an empty variable as an absent one). The string belongs to the
 * environment: do not keep it across a setenv()/unsetenv().
 */
const char *env_get(const char *name);
