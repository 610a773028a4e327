/* config_activity: the activity group: the farms' live state (workers, active jobs, associations, limits) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_private.h"

void activity_config_defaults(struct loader *l, struct activity_config *activity)
{
	activity->enabled = false;
	activity->jobs = CONFIG_ACTIVITY_DEFAULT_JOBS;
	activity->interval_seconds = CONFIG_ACTIVITY_DEFAULT_INTERVAL_SECONDS;
	free(activity->interval_text);
	activity->interval_text = loader_strdup(l, CONFIG_ACTIVITY_DEFAULT_INTERVAL);
}

/* activity = { enabled; interval; jobs; } */
void parse_activity(struct loader *l, const config_setting_t *activity)
{
	struct activity_config *a = &l->cfg->activity;

	if (!setting_is_group(l, activity, "activity", "{ enabled = true; interval = \"1m\"; }"))
		return;
	for (int i = 0; i < config_setting_length(activity); i++) {
		const config_setting_t *s = config_setting_get_elem(activity, (unsigned)i);
		const char *name = config_setting_name(s);
		char path[48];
		long long n;

		if (!name)
			continue;
		snprintf(path, sizeof(path), "activity.%s", name);
		if (strcmp(name, "enabled") == 0)
			setting_bool(l, s, path, &a->enabled);
		else if (strcmp(name, "interval") == 0)
			setting_interval(l, s, path, &a->interval_seconds, &a->interval_text);
		else if (strcmp(name, "jobs") == 0 && setting_int_range(l, s, path, 0, CONFIG_ACTIVITY_JOBS_MAX, &n))
			a->jobs = (size_t)n;
		else if (strcmp(name, "jobs") != 0)
			config_unknown_setting(l, s, "activity", "enabled, interval, jobs");
	}
}
