/* aws_profile: one profile's settings from the shared config and credentials files */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct aws_profile;

/*
 * Loads profile name from the shared files: config_path (NULL: AWS_CONFIG_FILE, else ~/.aws/config; sections
 * "[profile name]", or "[default]") and credentials_path (NULL: AWS_SHARED_CREDENTIALS_FILE, else
 * ~/.aws/credentials; sections "[name]"), a key in the credentials file winning over the same key in the
 * config file. A file that does not exist is not an error. Returns 0 with *out (aws_profile_free()) whether
 * or not the profile was found (aws_profile_found()); -errno for a file that exists but cannot be read (why
 * says which), -EFBIG for one over 1 MiB, -ENOMEM.
 */
int aws_profile_load(struct aws_profile **out, const char *name, const char *config_path, const char *credentials_path,
	char *why, size_t whylen);

/*
 * Loads profile name from one file in shared-credentials format (sections "[name]"): systemd's
 * $CREDENTIALS_DIRECTORY/aws-credentials. Same return codes; a missing file is not an error.
 */
int aws_profile_load_credentials_file(
	struct aws_profile **out, const char *name, const char *path, char *why, size_t whylen);

/* Frees p, its values zeroed first (they may be secret keys). NULL-safe. */
void aws_profile_free(struct aws_profile *p);

/* Whether any file had a section for the profile. */
bool aws_profile_found(const struct aws_profile *p);
/* The value of key (lower case), NULL when absent or empty. Owned by p. */
const char *aws_profile_get(const struct aws_profile *p, const char *key);
/* The profile's name. */
const char *aws_profile_name(const struct aws_profile *p);
/* Where the profile was looked for, for log lines: "/home/x/.aws/config and /home/x/.aws/credentials". */
const char *aws_profile_where(const struct aws_profile *p);

/* The profile the SDKs would use: configured (may be NULL or empty), else AWS_PROFILE, else "default". */
const char *aws_profile_default_name(const char *configured);

/* Whether a profile value means true: "true", case-insensitive (as the AWS CLI reads booleans). */
bool aws_profile_bool(const char *value);

/* test hook: the steps of aws_profile_load(), for the unit test and the fuzzer (text without files). */

/* An empty profile called name: what aws_profile_parse() fills. Returns 0 or -ENOMEM. */
int aws_profile_new(struct aws_profile **out, const char *name);

/*
 * Parses text (a whole file) into p: config_format selects the "[profile name]" rule. Keys are lower-cased,
 * values trimmed; comment lines (# or ;) and indented sub-settings are skipped. Returns 0 or -ENOMEM.
 */
int aws_profile_parse(struct aws_profile *p, const char *text, bool config_format);

/*
 * The effective path of a shared file: the variable's value (NULL or empty: the default under $HOME),
 * "~/" expanded. Returns 0 with *out malloc'd, -ENOENT when no home directory is known, -ENOMEM.
 */
int aws_profile_path(const char *variable, const char *default_under_home, char **out);
