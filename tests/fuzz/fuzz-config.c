/* fuzz-config: config_load_string() and the value parsers on arbitrary text, with the loaded config's invariants */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "util/listen_addr.h"
#include "util/log.h"

#include "fuzz.h"

static void check_report(const struct report_config *r, const struct config *cfg, size_t index)
{
	FUZZ_ASSERT(r->name && r->name[0] >= 'a' && r->name[0] <= 'z');
	FUZZ_ASSERT(strlen(r->name) <= CONFIG_REPORT_NAME_MAX);
	for (const char *c = r->name; *c; c++)
		FUZZ_ASSERT((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_');
	for (size_t j = 0; j < index; j++)
		FUZZ_ASSERT(strcmp(cfg->reports[j].name, r->name) != 0);
	FUZZ_ASSERT(r->n_group_by >= 1 && r->n_group_by <= 2);
	for (size_t k = 0; k < r->n_group_by; k++)
		FUZZ_ASSERT((unsigned)r->group_by[k] < GROUP_FIELD_COUNT);
	if (r->n_group_by == 2)
		FUZZ_ASSERT(r->group_by[0] != r->group_by[1]);
	FUZZ_ASSERT(r->statistics != 0 && (r->statistics & ~STAT_ALL) == 0);
	FUZZ_ASSERT(r->interval_seconds >= CONFIG_INTERVAL_MIN_SECONDS &&
		    r->interval_seconds <= CONFIG_INTERVAL_MAX_SECONDS);
	FUZZ_ASSERT(r->window <= WINDOW_ROLLING);
	if (r->window == WINDOW_ROLLING)
		FUZZ_ASSERT(r->window_seconds > 0 && r->window_seconds <= CONFIG_WINDOW_MAX_SECONDS);
	FUZZ_ASSERT(memchr(r->timezone, '\0', sizeof(r->timezone)) != NULL);
	FUZZ_ASSERT(r->tz_offset_minutes >= -24 * 60 && r->tz_offset_minutes <= 24 * 60);
	int tz;
	FUZZ_ASSERT(config_timezone_parse(r->timezone, &tz) == 0 && tz == r->tz_offset_minutes);
}

static void check_config(const struct config *cfg)
{
	FUZZ_ASSERT(cfg->n_farms >= 1 && cfg->farms);
	FUZZ_ASSERT(cfg->n_reports >= 1 && cfg->reports);
	FUZZ_ASSERT(cfg->listen);
	FUZZ_ASSERT(listen_addr_parse(cfg->listen, NULL, NULL, 0) == 0);
	for (size_t i = 0; i < cfg->n_farms; i++) {
		const struct farm_config *f = &cfg->farms[i];
		FUZZ_ASSERT(model_id_valid(f->id, "farm-") == 0);
		FUZZ_ASSERT(f->all_queues || f->n_queue_ids > 0);
		FUZZ_ASSERT(f->all_fleets || f->n_fleet_ids > 0);
		for (size_t k = 0; !f->all_queues && k < f->n_queue_ids; k++)
			FUZZ_ASSERT(model_id_valid(f->queue_ids[k], "queue-") == 0);
		for (size_t k = 0; !f->all_fleets && k < f->n_fleet_ids; k++)
			FUZZ_ASSERT(model_id_valid(f->fleet_ids[k], "fleet-") == 0);
		for (size_t j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(cfg->farms[j].id, f->id) != 0);
	}
	for (size_t i = 0; i < cfg->n_reports; i++)
		check_report(&cfg->reports[i], cfg, i);
}

/* The small parsers, on the first line of the input. */
static void fuzz_values(const char *line)
{
	int64_t seconds = -1;
	int minutes;
	struct listen_addr addr;
	char why[64];

	if (config_duration_parse(line, &seconds) == 0)
		FUZZ_ASSERT(seconds > 0);
	if (config_timezone_parse(line, &minutes) == 0)
		FUZZ_ASSERT(strlen(line) == 9 && minutes >= -24 * 60 && minutes <= 24 * 60);
	memset(&addr, 'x', sizeof(addr));
	memset(why, 'x', sizeof(why));
	if (listen_addr_parse(line, &addr, why, sizeof(why)) == 0)
		FUZZ_ASSERT(memchr(addr.host, '\0', sizeof(addr.host)) != NULL && why[0] == 'x');
	else
		FUZZ_ASSERT(memchr(why, '\0', sizeof(why)) != NULL && why[0] != '\0');
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LEVEL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = (struct config *)(uintptr_t)1;
	char *text, err[1024], *nl;
	int r;

	if (size > 256 * 1024)
		return 0;
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';

	memset(err, 'x', sizeof(err));
	r = config_load_string(&cfg, "fuzz.conf", text, err, sizeof(err));
	FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
	if (r == 0) {
		FUZZ_ASSERT(cfg != NULL);
		check_config(cfg);
		config_free(cfg);
	} else {
		FUZZ_ASSERT(r < 0 && cfg == NULL);
		/* every rejection names the file, and a line when it has one */
		FUZZ_ASSERT(strncmp(err, "fuzz.conf", 9) == 0);
	}

	nl = strchr(text, '\n');
	if (nl)
		*nl = '\0';
	fuzz_values(text);
	free(text);
	return 0;
}
