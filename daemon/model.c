/* model: name tables for group-by fields, statistics, periods and resource kinds; id syntax */
#include <errno.h>
#include <string.h>

#include "model.h"

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
	const char *label;
};

static const struct statistic_names statistic_names[] = {
	{STAT_SUM, "SUM", "sum"},
	{STAT_MIN, "MIN", "min"},
	{STAT_MAX, "MAX", "max"},
	{STAT_AVG, "AVG", "avg"},
};

static const char *const period_names[] = {
	[PERIOD_NONE] = NULL,
	[PERIOD_HOURLY] = "HOURLY",
	[PERIOD_DAILY] = "DAILY",
	[PERIOD_WEEKLY] = "WEEKLY",
	[PERIOD_MONTHLY] = "MONTHLY",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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

const char *statistic_label(enum statistic s)
{
	const struct statistic_names *e = statistic_entry(s);

	return e ? e->label : NULL;
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

int resource_kind_from_name(const char *s, enum resource_kind *out)
{
	enum resource_kind k;

	if (!s)
		return -EINVAL;
	if (strcmp(s, "queues") == 0)
		k = RESOURCE_QUEUES;
	else if (strcmp(s, "fleets") == 0)
		k = RESOURCE_FLEETS;
	else
		return -EINVAL;
	if (out)
		*out = k;
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

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -EINVAL;
	}
	return id[MODEL_ID_HEX_DIGITS] == '\0' ? 0 : -EINVAL;
}
