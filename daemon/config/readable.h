/* readable: whether the systemd unit's dynamic user could read the files a configuration names (--check-config) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "config/config.h"

/* Where systemd puts the files of LoadCredential= (each unit under a folder of its own). */
#define READABLE_CREDENTIALS_ROOT "/run/credentials"

/* What readable_by_others() found, when a stat did not fail. */
enum readable_outcome {
	READABLE_YES = 0,
	READABLE_NO_SEARCH = 1, /* a folder on the way lets others not search it (x); why names it */
	READABLE_NO_READ = 2, /* the file lets others not read it (r); why names it */
	READABLE_HIDDEN = 3, /* the unit's sandbox hides it (readable_hidden_by_sandbox()), whatever its mode */
};

/*
 * Whether a user who is neither the owner nor in the group of path, nor of any folder above it, can read path:
 * that is the unit's dynamic user (DynamicUser=yes gives it a new uid and gid at each start, so only the "others"
 * bits can let it in). Every folder from / down must let others search it (x), both along path as written and
 * along the path its symbolic links lead to, and the file must let others read it (r). Looks at the mode bits
 * only, which is what decides for such a user: an ACL names users and groups it cannot be.
 * Returns READABLE_YES, READABLE_NO_SEARCH or READABLE_NO_READ with a one-line reason in why ("/etc/x is mode
 * 0700: others cannot search it"), or the -errno of a stat(), realpath() or getcwd() that failed.
 */
int readable_by_others(const char *path, char *why, size_t whylen);

/*
 * Whether the unit's sandbox hides path from the service whatever its mode: ProtectHome=yes empties /home,
 * /root and /run/user, and PrivateTmp=yes gives the service a /tmp and /var/tmp of its own. path must be
 * absolute. Returns false, or true with a one-line reason in why.
 */
bool readable_hidden_by_sandbox(const char *path, char *why, size_t whylen);

/*
 * Whether systemd hands path to the service itself (LoadCredential=): under credentials_dir (the
 * CREDENTIALS_DIRECTORY of the environment, or NULL) or under READABLE_CREDENTIALS_ROOT. systemd makes such a file
 * readable by the service alone, so its mode on the host says nothing.
 */
bool readable_handed_over(const char *path, const char *credentials_dir);

/*
 * --check-config's warnings: for cfg's file and each file it names (aws.ca_file, web.tls_cert_file,
 * web.tls_key_file), one "FILE: warning: …" line on out for each that the systemd unit's dynamic user could not
 * read (readable_by_others(), readable_hidden_by_sandbox()), with what to do. Files systemd hands over
 * (readable_handed_over()) are left out. Only when euid is 0: root reads everything, so its check alone says
 * nothing of the service, whereas another user's check already failed on what that user cannot read.
 * Returns the number of warnings printed.
 */
size_t readable_config_warn(const struct config *cfg, uid_t euid, const char *credentials_dir, FILE *out);
