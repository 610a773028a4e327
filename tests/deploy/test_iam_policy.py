#!/usr/bin/env python3
"""test_iam_policy: one IAM policy, checked against the operations the daemon calls and what the contract names.

daemon/aws/aws_iam.c is the table: every AWS operation the exporter calls, the IAM action it needs and the
statement of docs/iam-policy.json that grants it. This test fails when the daemon's source calls an operation the
table lacks, when the policy grants anything but the table's actions (each in its own statement), when the
table names an action the contract does not justify or that the AWS service models do not know, and when a
document shows a policy other than docs/iam-policy.json (the README, docs/, the man pages, deploy/)."""

import glob
import json
import os
import re
import sys

ROOT = os.environ.get("SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
TABLE = os.path.join("daemon", "aws", "aws_iam.c")
POLICY = os.path.join("docs", "iam-policy.json")
failures = 0

# The IAM actions the contract (and the API notes it rests on) names, with where: a policy grants no more.
CONTRACT = {
    "deadline:StartSessionsStatisticsAggregation": "what one refresh must do: Start the aggregation",
    "deadline:GetSessionsStatisticsAggregation": "what one refresh must do: poll Get, read every page",
    "deadline:ListQueues": 'farms[].queues = "all"; the farm inventory',
    "deadline:ListFleets": 'farms[].fleets = "all"; the farm inventory',
    "deadline:GetFarm": "the farm inventory",
    "deadline:ListBudgets": "the farm inventory, inventory.budgets",
    "deadline:GetBudget": "the farm inventory, inventory.budgets",
    "deadline:ListWorkers": "version 3: activity",
    "deadline:SearchJobs": "version 3: activity",
    "deadline:ListQueueFleetAssociations": "version 3: activity",
    "deadline:ListLimits": "version 3: activity",
    "deadline:ListLicenseEndpoints": "version 3: activity",
    "identitystore:DescribeUser": "identity_store",
    "sts:AssumeRole": "version 3: farms[].role_arn, identity_store.role_arn",
}
# Calls that need no permission: GetCallerIdentity (any identity), AssumeRoleWithWebIdentity (the trust policy).
NO_PERMISSION = {"GetCallerIdentity", "AssumeRoleWithWebIdentity"}
# STS has no model in the repository: its three operations the exporter uses, from the STS API reference.
STS_OPERATIONS = {"AssumeRole", "AssumeRoleWithWebIdentity", "GetCallerIdentity"}
# Actions and condition keys of trust policies (not permission policies), as the documents name them.
TRUST_ACTIONS = {"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:TagSession", "sts:ExternalId"}

# How the daemon's source names the operations it calls.
CALL_PATTERNS = [
    re.compile(r'#define (?:API_)?OP_[A-Z_]+ "([A-Za-z]+)"'),  # deadline/api_call.h, inventory_api.h
    re.compile(r'\.operation = "([A-Za-z]+)"'),  # struct api_call written in place (users.c)
    re.compile(r'"AWSIdentityStore\.([A-Za-z]+)"'),  # the JSON 1.1 target
    re.compile(r'Action=([A-Za-z]+)&'),  # STS's query protocol (aws/credentials/aws_sts.c)
]
ENTRY = re.compile(r'^\s*\{"([A-Za-z]+)", (?:"([a-z]+:[A-Za-z]+)"|NULL), (?:"([A-Za-z]+)"|NULL), "((?:[^"\\]|\\.)+)"\},$')
ACTION_WORD = re.compile(r"\b(deadline|identitystore|sts):([A-Z][A-Za-z]+)\b")


def check(cond, what, detail=None):
    global failures
    print(("ok: " if cond else "FAIL: ") + what + ("" if cond or detail is None else "\n      %s" % (detail,)))
    failures += 0 if cond else 1
    return cond


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def parse_table():
    """The table's rows: operation -> (action or None, sid or None). Every line of the table must parse."""
    text = read(TABLE)
    m = re.search(r"/\* clang-format off \*/\n(.*?)/\* clang-format on \*/", text, re.S)
    rows = {}
    if not check(m, "%s has its table between clang-format off and on" % TABLE):
        return rows
    for line in m.group(1).splitlines():
        if not line.strip().startswith("{\""):
            continue
        e = ENTRY.match(line)
        if not check(e, "%s: a table line parses" % TABLE, line):
            continue
        check(e.group(1) not in rows, "%s: %s once" % (TABLE, e.group(1)))
        rows[e.group(1)] = (e.group(2), e.group(3))
    check(len(rows) >= 16, "%s: the table has its %d operations" % (TABLE, len(rows)), sorted(rows))
    return rows


def called_operations():
    """Every operation the daemon's source calls, with the file that names it."""
    found = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "daemon", "**", "*.[ch]"), recursive=True)):
        rel = os.path.relpath(path, ROOT)
        if rel == TABLE:
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for pattern in CALL_PATTERNS:
            for op in pattern.findall(text):
                found.setdefault(op, rel)
    return found


def model_operations():
    models = {
        "deadline": os.path.join("tests", "bench", "aws-model", "deadline", "2023-10-12", "service-2.json"),
        "identitystore": os.path.join("tests", "data", "aws-model", "identitystore", "2020-06-15", "service-2.json"),
    }
    ops = {service: set(json.loads(read(path))["operations"]) for service, path in models.items()}
    ops["sts"] = STS_OPERATIONS
    return ops


def check_table(rows):
    called = called_operations()
    check(len(called) >= 8, "found the operations the daemon calls", sorted(called))
    for op, where in sorted(called.items()):
        check(op in rows, "%s (called in %s) is in the table" % (op, where))
    models = model_operations()
    actions = set()
    for op, (action, sid) in sorted(rows.items()):
        if op in NO_PERMISSION:
            check(action is None and sid is None, "%s needs no permission, so it has no action" % op, action)
            continue
        if not check(action and sid, "%s has an action and a statement" % op):
            continue
        service = action.split(":")[0]
        check(op in models.get(service, ()), "%s is an operation of the %s service model" % (op, service))
        check(action in CONTRACT, "%s is an action the contract justifies" % action)
        actions.add(action)
    for action, why in sorted(CONTRACT.items()):
        check(action in actions, "the table has %s (%s)" % (action, why))
    return actions


def check_policy(rows):
    """docs/iam-policy.json grants the table's actions, each in the statement the table names, and nothing else."""
    try:
        policy = json.loads(read(POLICY))
    except ValueError as e:
        check(False, "%s is JSON" % POLICY, e)
        return None
    check(policy.get("Version") == "2012-10-17", "%s: Version 2012-10-17" % POLICY)
    want = {}
    for op, (action, sid) in rows.items():
        if action:
            want.setdefault(sid, set()).add(action)
    got = {}
    for st in policy.get("Statement", []):
        sid = st.get("Sid")
        check(sid not in got, "%s: statement %s once" % (POLICY, sid))
        check(st.get("Effect") == "Allow" and st.get("Resource"), "%s: %s allows, on a resource" % (POLICY, sid))
        acts = st.get("Action")
        acts = [acts] if isinstance(acts, str) else acts or []
        check(len(acts) == len(set(acts)), "%s: %s names each action once" % (POLICY, sid), acts)
        got[sid] = set(acts)
    for sid in sorted(set(want) | set(got)):
        check(want.get(sid) == got.get(sid), "%s: statement %s grants exactly the table's %s" % (POLICY, sid, sid),
              "policy %s, table %s" % (sorted(got.get(sid, ())), sorted(want.get(sid, ()))))
    return policy


def documents():
    paths = ["README.md"] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    paths += sorted(glob.glob(os.path.join(ROOT, "doc", "*.scd")))
    paths += sorted(glob.glob(os.path.join(ROOT, "deploy", "**", "*"), recursive=True))
    paths += sorted(glob.glob(os.path.join(ROOT, "systemd", "*")))
    for p in paths:
        full = p if os.path.isabs(p) else os.path.join(ROOT, p)
        if os.path.isfile(full):
            with open(full, encoding="utf-8") as f:
                yield os.path.relpath(full, ROOT), f.read()


def check_documents(policy, actions):
    """A document shows docs/iam-policy.json or no permission policy, and names no action the table lacks."""
    shown = 0
    for rel, text in documents():
        for block in re.findall(r"```json\n(.*?)```", text, re.S):
            if not re.search(r'"(deadline|identitystore):', block):
                continue  # a trust policy
            shown += 1
            try:
                same = json.loads(block) == policy
            except ValueError:
                same = False
            check(same, "%s shows docs/iam-policy.json as it is, not a policy of its own" % rel, block[:300])
        for service, name in ACTION_WORD.findall(text):
            action = "%s:%s" % (service, name)
            known = action in actions or action in TRUST_ACTIONS or name in NO_PERMISSION
            check(known, "%s names %s, an action of the table" % (rel, action))
    check(shown >= 1, "docs/credentials.md shows the policy", shown)
    deploy = read(os.path.join("docs", "deploy.md"))
    for heading in ("## EKS credentials", "### ECS"):
        start = deploy.find(heading + "\n")
        end = deploy.find("\n#", start + len(heading) + 1) if start >= 0 else -1
        while end >= 0 and deploy.startswith("\n###", end) and heading.startswith("## "):
            end = deploy.find("\n#", end + 4)  # a ## section runs over its ### subsections
        section = deploy[start:end] if start >= 0 else ""
        check("iam-policy.json" in section, "docs/deploy.md's %s section points to docs/iam-policy.json" % heading[3:]
              .lstrip("# "), section[:200])


def main():
    rows = parse_table()
    actions = check_table(rows)
    policy = check_policy(rows)
    if policy is not None:
        check_documents(policy, actions)
    print("%d check(s) failed" % failures if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
