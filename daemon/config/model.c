/* model: name tables for group-by fields, statistics, periods and resource kinds; id syntax */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/model.h"
#include "util/array.h"
#include "util/ascii.h"

struct group_field_names {
	const char *api;
	const char *label;
	const char *json;
};

/* Indexed by enum group_field; the order is the order of the metric labels. */
static const struct group_field_names group_field_names[GROUP_FIELD_COUNT] = {
	[GROUP_QUEUE_ID] = {"QUEUE_ID", "queue_id", "queueId"},
	[GROUP_FLEET_ID] = {"FLEET_ID", "fleet_id", "fleetId"},
	[GROUP_JOB_ID] = {"JOB_ID", "job_id", "jobId"},
	[GROUP_USER_ID] = {"USER_ID", "user_id", "userId"},
	[GROUP_USAGE_TYPE] = {"USAGE_TYPE", "usage_type", "usageType"},
	[GROUP_INSTANCE_TYPE] = {"INSTANCE_TYPE", "instance_type", "instanceType"},
	[GROUP_LICENSE_PRODUCT] = {"LICENSE_PRODUCT", "license_product", "licenseProduct"},
};

struct statistic_names {
	enum statistic bit;
	const char *api;
};

static const struct statistic_names statistic_names[] = {
	{STAT_SUM, "SUM"},
	{STAT_MIN, "MIN"},
	{STAT_MAX, "MAX"},
	{STAT_AVG, "AVG"},
};

static const char *const period_names[] = {
	[PERIOD_NONE] = NULL,
	[PERIOD_HOURLY] = "HOURLY",
	[PERIOD_DAILY] = "DAILY",
	[PERIOD_WEEKLY] = "WEEKLY",
	[PERIOD_MONTHLY] = "MONTHLY",
};

static const struct group_field_names *group_field_entry(enum group_field f)
{
	if ((unsigned)f >= GROUP_FIELD_COUNT)
		return NULL;
	return &group_field_names[f];
}

const char *group_field_api_name(enum group_field f)
{
	const struct group_field_names *e = group_field_entry(f);

	return e ? e->api : NULL;
}

const char *group_field_label(enum group_field f)
{
	const struct group_field_names *e = group_field_entry(f);

	return e ? e->label : NULL;
}

const char *group_field_json_member(enum group_field f)
{
	const struct group_field_names *e = group_field_entry(f);

	return e ? e->json : NULL;
}

int group_field_from_api_name(const char *s, enum group_field *out)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < GROUP_FIELD_COUNT; i++) {
		if (strcmp(s, group_field_names[i].api) == 0) {
			if (out)
				*out = (enum group_field)i;
			return 0;
		}
	}
	return -EINVAL;
}

static const struct statistic_names *statistic_entry(enum statistic s)
{
	for (size_t i = 0; i < ARRAY_SIZE(statistic_names); i++) {
		if (statistic_names[i].bit == s)
			return &statistic_names[i];
	}
	return NULL;
}

const char *statistic_api_name(enum statistic s)
{
	const struct statistic_names *e = statistic_entry(s);

	return e ? e->api : NULL;
}

int statistic_from_api_name(const char *s, enum statistic *out)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(statistic_names); i++) {
		if (strcmp(s, statistic_names[i].api) == 0) {
			if (out)
				*out = statistic_names[i].bit;
			return 0;
		}
	}
	return -EINVAL;
}

const char *period_api_name(enum period p)
{
	if ((unsigned)p >= ARRAY_SIZE(period_names))
		return NULL;
	return period_names[p];
}

int period_from_api_name(const char *s, enum period *out)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(period_names); i++) {
		if (period_names[i] && strcmp(s, period_names[i]) == 0) {
			if (out)
				*out = (enum period)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *resource_kind_ids_member(enum resource_kind k)
{
	switch (k) {
	case RESOURCE_QUEUES:
		return "queueIds";
	case RESOURCE_FLEETS:
		return "fleetIds";
	}
	return NULL;
}

const char *resource_kind_id_prefix(enum resource_kind k)
{
	switch (k) {
	case RESOURCE_QUEUES:
		return "queue-";
	case RESOURCE_FLEETS:
		return "fleet-";
	}
	return NULL;
}

const char *resource_kind_name(enum resource_kind k)
{
	switch (k) {
	case RESOURCE_QUEUES:
		return "queues";
	case RESOURCE_FLEETS:
		return "fleets";
	}
	return NULL;
}

int resource_kind_from_name(const char *s, enum resource_kind *out)
{
	enum resource_kind k;

	if (!s)
		return -EINVAL;
	if (strcmp(s, resource_kind_name(RESOURCE_QUEUES)) == 0)
		k = RESOURCE_QUEUES;
	else if (strcmp(s, resource_kind_name(RESOURCE_FLEETS)) == 0)
		k = RESOURCE_FLEETS;
	else
		return -EINVAL;
	if (out)
		*out = k;
	return 0;
}

int report_resources_from_name(const char *s, enum report_resources *out)
{
	enum resource_kind k;

	if (s && strcmp(s, "auto") == 0) {
		if (out)
			*out = REPORT_RESOURCES_AUTO;
		return 0;
	}
	if (resource_kind_from_name(s, &k) < 0)
		return -EINVAL;
	if (out)
		*out = k == RESOURCE_QUEUES ? REPORT_RESOURCES_QUEUES : REPORT_RESOURCES_FLEETS;
	return 0;
}

int resource_kind_choose(enum report_resources setting, bool all_queues, bool all_fleets, size_t n_queues,
	size_t n_fleets, size_t per_batch, enum resource_kind *kind)
{
	size_t queue_batches, fleet_batches;

	if (per_batch == 0)
		return -EINVAL;
	switch (setting) {
	case REPORT_RESOURCES_QUEUES:
		*kind = RESOURCE_QUEUES;
		return 0;
	case REPORT_RESOURCES_FLEETS:
		*kind = RESOURCE_FLEETS;
		return 0;
	case REPORT_RESOURCES_AUTO:
		break;
	default:
		return -EINVAL;
	}
	/* A list is the user's choice of what to cover; two lists may cover different sessions: no choice. */
	if (!all_queues && !all_fleets)
		return -EINVAL;
	if (!all_queues || !all_fleets) {
		*kind = all_fleets ? RESOURCE_QUEUES : RESOURCE_FLEETS;
		return 0;
	}
	/* Every session runs on one queue and one fleet: either kind covers the same sessions. */
	queue_batches = n_queues / per_batch + (n_queues % per_batch != 0);
	fleet_batches = n_fleets / per_batch + (n_fleets % per_batch != 0);
	*kind = fleet_batches < queue_batches ? RESOURCE_FLEETS : RESOURCE_QUEUES;
	return 0;
}

int model_id_valid(const char *id, const char *prefix)
{
	size_t plen;

	if (!id || !prefix)
		return -EINVAL;
	plen = strlen(prefix);
	if (strncmp(id, prefix, plen) != 0)
		return -EINVAL;
	id += plen;
	for (size_t i = 0; i < MODEL_ID_HEX_DIGITS; i++) {
		char c = id[i];

		if (!ascii_is_lower_hex(c))
			return -EINVAL;
	}
	return id[MODEL_ID_HEX_DIGITS] == '\0' ? 0 : -EINVAL;
}

/*
 * Length of the well-formed UTF-8 sequence at p (at most n bytes), or 0 with *bad set to the length of its
 * maximal ill-formed subpart, which becomes one U+FFFD (Unicode's recommended practice).
 */
size_t model_utf8_sequence(const unsigned char *p, size_t n, size_t *bad)
{
	unsigned lo = 0x80, hi = 0xbf;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		if (p[0] == 0xe0)
			lo = 0xa0; /* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		if (p[0] == 0xf0)
			lo = 0x90; /* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f; /* beyond U+10FFFF */
	} else {
		*bad = 1;
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if (i >= n || p[i] < lo || p[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

bool model_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;

	while (i < n) {
		size_t bad = 0, len = model_utf8_sequence(p + i, n - i, &bad);
		if (!len)
			return false;
		i += len;
	}
	return true;
}

size_t model_utf8_put(char *o, const unsigned char *p, size_t n, size_t *i)
{
	size_t bad = 0, len = model_utf8_sequence(p + *i, n - *i, &bad);

	if (len) {
		memcpy(o, p + *i, len);
		*i += len;
		return len;
	}
	memcpy(o, "\xef\xbf\xbd", 3);
	*i += bad;
	return 3;
}

char *model_utf8_sanitize(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;
	char *out, *o;

	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(3 * n + 1);
	if (!out)
		return NULL;
	o = out;
	while (i < n)
		o += model_utf8_put(o, p, n, &i);
	*o = '\0';
	return out;
}
