/* aws_process: credential_process: run a program (no shell) and read its JSON credentials */
#pragma once

#include <stddef.h>

struct aws_credentials;

/*
 * Runs command (split as the AWS CLI does: aws_process_split(), looked up in PATH, stdin and stderr on /dev/null, other
 * descriptors closed) for at most timeout_ms, reads at most 64 KiB of stdout, and parses it: {"Version": 1,
 * "AccessKeyId", "SecretAccessKey", "SessionToken"?, "Expiration"?}. Returns 0 with *out (provider "process"), or
 * -EINVAL (command unusable), -ETIMEDOUT (killed), -EIO (non-zero exit, bad output), -ENOMEM; why says
 * which, naming the program but never its output.
 */
int aws_process_credentials(
	const char *command, long timeout_ms, struct aws_credentials **out, char *why, size_t whylen);

/* test hook: the word splitting aws_process_credentials() does, for the unit test. */

/*
 * Splits command as the AWS CLI does (POSIX shlex: blanks separate words; '…' literal; "…" with \" and \\
 * escapes; \x outside quotes is x). Returns 0 with *argv (NULL-terminated, free with aws_process_argv_free())
 * and *argc, -EINVAL for an unterminated quote, a trailing backslash or no words, -ENOMEM.
 */
int aws_process_split(const char *command, char ***argv, size_t *argc);
void aws_process_argv_free(char **argv);
