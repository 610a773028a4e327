/* aws_endpoint: region, partitions and endpoints from configuration, environment, profile and instance metadata */
#include "aws/aws_endpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/aws_imds.h"
#include "aws/aws_profile.h"
#include "util/log.h"
#include "util/env.h"

/* partitions.json: the region patterns are "^<prefix>\w+-\d+$". */
struct partition_entry {
	struct aws_partition partition;
	const char *prefixes[10]; /* NULL-terminated */
	const char *global_region;
};

static const struct partition_entry partitions[] = {
	{{"aws", "amazonaws.com", "api.aws", true, true},
		{"us-", "eu-", "ap-", "sa-", "ca-", "me-", "af-", "il-", "mx-", NULL}, "aws-global"},
	{{"aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn", true, true}, {"cn-", NULL}, "aws-cn-global"},
	{{"aws-us-gov", "amazonaws.com", "api.aws", true, true}, {"us-gov-", NULL}, "aws-us-gov-global"},
	{{"aws-iso", "c2s.ic.gov", "c2s.ic.gov", true, false}, {"us-iso-", NULL}, "aws-iso-global"},
	{{"aws-iso-b", "sc2s.sgov.gov", "sc2s.sgov.gov", true, false}, {"us-isob-", NULL}, "aws-iso-b-global"},
	{{"aws-iso-e", "cloud.adc-e.uk", "cloud.adc-e.uk", true, false}, {"eu-isoe-", NULL}, "aws-iso-e-global"},
	{{"aws-iso-f", "csp.hci.ic.gov", "csp.hci.ic.gov", true, false}, {"us-isof-", NULL}, "aws-iso-f-global"},
};

/* "\w+-\d+" and nothing more. */
static bool matches_word_digits(const char *s)
{
	const char *p = s;

	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')
		p++;
	if (p == s || *p != '-' || !p[1])
		return false;
	for (p++; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

const struct aws_partition *aws_partition_of(const char *region)
{
	const size_t n = sizeof(partitions) / sizeof(partitions[0]);

	if (!region)
		return &partitions[0].partition;
	for (size_t i = 0; i < n; i++)
		if (strcmp(region, partitions[i].global_region) == 0)
			return &partitions[i].partition;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; partitions[i].prefixes[j]; j++) {
			size_t len = strlen(partitions[i].prefixes[j]);

			if (strncmp(region, partitions[i].prefixes[j], len) == 0 && matches_word_digits(region + len))
				return &partitions[i].partition;
		}
	return &partitions[0].partition;
}

/* Whether a boolean setting (environment, or profile when unset there) is "true" (case-insensitive). */
static bool aws_setting_true(const char *env_name, const char *profile_value)
{
	const char *v = env_get(env_name);

	return aws_profile_bool(v ? v : profile_value);
}

/* *out = prefix + region + "." + suffix. */
static int url_join(char **out, const char *prefix, const char *region, const char *suffix)
{
	if (asprintf(out, "%s%s.%s", prefix, region, suffix) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int aws_endpoint_rules(const struct aws_endpoint_params *params, char **out, const char **error)
{
	const struct aws_partition *pr;
	const char *svc = params->service ? params->service : "deadline";
	char prefix[64];

	*out = NULL;
	*error = NULL;
	if (params->endpoint) {
		if (params->use_fips) {
			*error = "Invalid Configuration: FIPS and custom endpoint are not supported";
			return -EINVAL;
		}
		if (params->use_dual_stack) {
			*error = "Invalid Configuration: Dualstack and custom endpoint are not supported";
			return -EINVAL;
		}
		*out = strdup(params->endpoint);
		return *out ? 0 : -ENOMEM;
	}
	if (!params->region) {
		*error = "Invalid Configuration: Missing Region";
		return -EINVAL;
	}
	pr = aws_partition_of(params->region);
	snprintf(prefix, sizeof(prefix), "https://%s%s.", svc, params->use_fips ? "-fips" : "");
	if (params->use_fips && params->use_dual_stack) {
		if (!pr->supports_fips || !pr->supports_dual_stack) {
			*error = "FIPS and DualStack are enabled, but this partition does not support one or both";
			return -EINVAL;
		}
		return url_join(out, prefix, params->region, pr->dual_stack_dns_suffix);
	}
	if (params->use_fips) {
		if (!pr->supports_fips) {
			*error = "FIPS is enabled but this partition does not support FIPS";
			return -EINVAL;
		}
		return url_join(out, prefix, params->region, pr->dns_suffix);
	}
	if (params->use_dual_stack) {
		if (!pr->supports_dual_stack) {
			*error = "DualStack is enabled but this partition does not support DualStack";
			return -EINVAL;
		}
		return url_join(out, prefix, params->region, pr->dual_stack_dns_suffix);
	}
	return url_join(out, prefix, params->region, pr->dns_suffix);
}

/* The profile's settings; NULL (no profile settings) when the files cannot be read: that is said elsewhere. */
static struct aws_profile *profile_settings(const char *profile)
{
	struct aws_profile *p = NULL;
	char why[256];

	if (aws_profile_load(&p, aws_profile_default_name(profile), NULL, NULL, why, sizeof(why)) < 0)
		return NULL;
	return p;
}

int aws_region_resolve(const char *configured, const char *profile, char **out)
{
	static const char *const vars[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
	const char *value = configured && *configured ? configured : NULL, *source = "aws.region";
	struct aws_profile *p = NULL;
	char source_buf[80];
	int r;

	*out = NULL;
	for (size_t i = 0; !value && i < sizeof(vars) / sizeof(vars[0]); i++) {
		value = env_get(vars[i]);
		source = vars[i];
	}
	if (!value) {
		p = profile_settings(profile);
		value = aws_profile_get(p, "region");
		snprintf(source_buf, sizeof(source_buf), "region of profile %.40s", aws_profile_default_name(profile));
		source = source_buf;
	}
	if (!value) {
		char why[256] = "";

		r = aws_imds_region(out, why, sizeof(why));
		if (r == 0) {
			if (aws_region_valid(*out))
				goto out;
			log_error("aws: the instance metadata's region \"%.80s\" is not a region name", *out);
			free(*out);
			*out = NULL;
			r = -EINVAL;
			goto out;
		}
		log_debug("op=region status=none reason=\"instance metadata: %s\"", why);
		r = r == -ENOMEM ? r : -ENOENT;
		goto out;
	}
	if (!aws_region_valid(value)) {
		log_error("aws: %s=\"%.80s\" is not a region name ([a-z0-9-]+, like us-west-2)", source, value);
		r = -EINVAL;
		goto out;
	}
	*out = strdup(value);
	r = *out ? 0 : -ENOMEM;
out:
	aws_profile_free(p);
	return r;
}

/* Copies url without its trailing slashes (the scheme's "//" stays). */
static int url_strip_copy(const char *url, char **out)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	*out = strndup(url, n);
	return *out ? 0 : -ENOMEM;
}

/* The custom endpoint for a service from the environment or the profile; *source names where it came from. */
static const char *endpoint_override(const char *service_var, const struct aws_profile *p, const char **source)
{
	const char *url;

	if (aws_setting_true(
		    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", aws_profile_get(p, "ignore_configured_endpoint_urls")))
		return NULL;
	if ((url = env_get(service_var))) {
		*source = service_var;
		return url;
	}
	if ((url = env_get("AWS_ENDPOINT_URL"))) {
		*source = "AWS_ENDPOINT_URL";
		return url;
	}
	if ((url = aws_profile_get(p, "endpoint_url")))
		*source = "the profile's endpoint_url";
	return url;
}

const struct aws_service aws_service_deadline = {
	"deadline", "AWS_ENDPOINT_URL_DEADLINE", "management.", "Deadline Cloud"};
const struct aws_service aws_service_identitystore = {
	"identitystore", "AWS_ENDPOINT_URL_IDENTITYSTORE", "", "identity store"};

int aws_service_endpoint_resolve(
	const struct aws_service *svc, const char *configured, const char *profile, const char *region, char **out)
{
	struct aws_endpoint_params params = {.service = svc->name, .region = region};
	const char *source = "endpoint_url", *error = NULL;
	struct aws_profile *p = NULL;
	char *url = NULL;
	int r;

	*out = NULL;
	if (region && !aws_region_valid(region))
		return -EINVAL;
	p = profile_settings(profile);
	params.endpoint = configured && *configured ? configured : endpoint_override(svc->env_var, p, &source);
	params.use_fips = aws_setting_true("AWS_USE_FIPS_ENDPOINT", aws_profile_get(p, "use_fips_endpoint"));
	params.use_dual_stack =
		aws_setting_true("AWS_USE_DUALSTACK_ENDPOINT", aws_profile_get(p, "use_dualstack_endpoint"));
	if (params.endpoint && !aws_endpoint_url_valid(params.endpoint)) {
		log_error("aws: %s=\"%.200s\" is not an http:// or https:// URL with a host", source, params.endpoint);
		r = -EINVAL;
		goto out;
	}
	r = aws_endpoint_rules(&params, &url, &error);
	if (r == -EINVAL) {
		log_error("aws: no %s endpoint: %s (region=%s fips=%s dualstack=%s%s%s)", svc->title, error,
			region ? region : "unset", params.use_fips ? "true" : "false",
			params.use_dual_stack ? "true" : "false", params.endpoint ? " endpoint from " : "",
			params.endpoint ? source : "");
		goto out;
	}
	if (r < 0)
		goto out;
	if (params.endpoint) {
		r = url_strip_copy(url, out);
		goto out;
	}
	if (asprintf(out, "https://%s%s", svc->host_prefix, url + strlen("https://")) < 0) {
		*out = NULL;
		r = -ENOMEM;
	}
out:
	free(url);
	aws_profile_free(p);
	return r;
}

int aws_endpoint_resolve(const char *configured, const char *profile, const char *region, char **out)
{
	/* Every operation the exporter calls has the "management." host prefix in the service model. */
	return aws_service_endpoint_resolve(&aws_service_deadline, configured, profile, region, out);
}

int aws_sts_endpoint_resolve(
	const char *profile, const char *region, char **out, const char **signing_region, char *why, size_t whylen)
{
	struct aws_profile *p = profile_settings(profile);
	const char *source = NULL, *url;
	const struct aws_partition *pr;
	bool fips, dual;
	int r;

	*out = NULL;
	*signing_region = region ? region : "us-east-1";
	url = endpoint_override("AWS_ENDPOINT_URL_STS", p, &source);
	fips = aws_setting_true("AWS_USE_FIPS_ENDPOINT", aws_profile_get(p, "use_fips_endpoint"));
	dual = aws_setting_true("AWS_USE_DUALSTACK_ENDPOINT", aws_profile_get(p, "use_dualstack_endpoint"));
	if (url) {
		if (!aws_endpoint_url_valid(url)) {
			snprintf(why, whylen, "%s is not an http:// or https:// URL with a host", source);
			r = -EINVAL;
			goto out;
		}
		r = url_strip_copy(url, out);
		goto out;
	}
	if (!region) {
		*out = strdup("https://sts.amazonaws.com");
		r = *out ? 0 : -ENOMEM;
		goto out;
	}
	pr = aws_partition_of(region);
	if ((dual && !pr->supports_dual_stack) || (fips && !pr->supports_fips)) {
		snprintf(why, whylen, "the partition of %s has no %s STS endpoint", region,
			dual ? "dual-stack" : "FIPS");
		r = -EINVAL;
		goto out;
	}
	r = asprintf(out, "https://sts%s.%s.%s", fips ? "-fips" : "", region,
		dual ? pr->dual_stack_dns_suffix : pr->dns_suffix);
	if (r < 0) {
		*out = NULL;
		r = -ENOMEM;
	} else {
		r = 0;
	}
out:
	aws_profile_free(p);
	return r;
}

const char *aws_ca_bundle(const char *configured)
{
	return configured && *configured ? configured : env_get("AWS_CA_BUNDLE");
}
