/* poller: per-farm schedule and serialisation, API calls with retries, merge, publish */
#pragma once

#include "aws_credentials.h"
#include "config.h"
#include "metrics.h"

struct poller;

struct poller_options {
	const char *endpoint;   /* base URL, no trailing slash */
	const char *region;
	const char *ca_file;    /* or NULL */
};

/* One thread per farm; each runs its (farm, report) refreshes one after another. */
int poller_new(struct poller **out, const struct config *cfg, const struct poller_options *opts,
	struct aws_credentials_provider *creds, struct metrics_store *store);
int poller_start(struct poller *p);
/* Asks every thread to stop and joins them; interrupts waits and in-flight requests. NULL-safe. */
void poller_free(struct poller *p);
