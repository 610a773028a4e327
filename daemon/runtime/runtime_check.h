/* runtime_check: --check-aws: who the exporter is on AWS, its roles, and each operation its configuration calls */
#pragma once

#include <stdio.h>

/*
 * Loads config_path as start-up does (its errors on stderr), resolves the region, endpoint and credentials as the
 * daemon would, and writes to out: who the credentials belong to (STS GetCallerIdentity: account and ARN), each
 * role assumed (or why STS refused it), then one line per (farm, operation) the configuration makes the exporter
 * call ("FARM OPERATION: ok", "…: denied: grant deadline:ListBudgets (…)", "…: failed: …"), and a summary line
 * naming the IAM actions to grant. Calls each operation once; the one aggregation it starts covers one minute and
 * one resource. Never writes a secret. Needs libcurl initialised. Returns the exit status: 0 when everything
 * succeeded, 1 otherwise.
 */
int runtime_check_aws(const char *config_path, FILE *out);
