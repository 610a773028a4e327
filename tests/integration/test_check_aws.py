#!/usr/bin/env python3
"""test_check_aws: --check-aws against the simulator and the STS fake: who the exporter is, each role assumed, one line
per (farm, operation) with the IAM action of every denied one and nothing else reported, the exit status, a harmless
aggregation; unreachable STS, bad and missing credentials said clearly, never a secret printed."""

import json
import os
import re
import subprocess
import sys

import fake_aws
import harness

ACCOUNT_B = "222222222222"
ROLE_B = "arn:aws:iam::%s:role/deadline-exporter" % ACCOUNT_B
EXTERNAL_ID = "studio-b-42"
LINE = re.compile(r"^(farm-[0-9a-f]{32}|-) ([A-Za-z]+): (ok|denied|failed)(?:: grant (\S+))?(.*)$")

# What each configuration makes the exporter call, per farm (the inventory with budgets, the usage, the live state).
INVENTORY = ["GetFarm", "ListQueues", "ListFleets", "ListBudgets", "GetBudget"]
USAGE = ["StartSessionsStatisticsAggregation", "GetSessionsStatisticsAggregation"]
ACTIVITY = ["ListWorkers", "SearchJobs", "ListQueueFleetAssociations", "ListLimits", "ListLicenseEndpoints"]


def write_config(workdir, sim, farms, extra="", name="check.conf", report=None):
    """farms: (farm id, its settings) pairs, settings "" for every queue and fleet "all"; one report (by default by
    queue and usage type)."""
    path = os.path.join(workdir, name)
    text = harness.exporter_config(harness.free_port(), sim.url, [f for f, _ in farms],
                                   [report or harness.Report("cost", ["QUEUE_ID", "USAGE_TYPE"])], extra=extra)
    mine = ",\n".join('  { id = "%s"; %s }' % (f, s or 'queues = "all"; fleets = "all";') for f, s in farms)
    text = re.sub(r"farms = \(\n.*?\n\);", lambda _: "farms = (\n%s\n);" % mine, text, flags=re.S)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def run_check(workdir, path, env_extra=None, drop=()):
    env = harness.hermetic_env(workdir, env_extra)
    for k in drop:
        env.pop(k, None)
    p = subprocess.run([harness.env_path("EXPORTER"), "--check-aws", "-c", path], capture_output=True, text=True,
                       timeout=300, env=env)
    return p


def lines_of(out):
    """{(farm, operation): (verdict, action, rest)} of the (farm, operation) lines, and the lines that are not."""
    got, other = {}, []
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            got[(m.group(1), m.group(2))] = (m.group(3), m.group(4), m.group(5))
        else:
            other.append(line)
    return got, other


def extra_config(sim, activity=True, identity=True):
    text = ""
    if activity:
        text += "activity = { enabled = true; };\n"
    if identity:
        store = sim._json("GET", "/__sim/inventory")["identityStoreId"]
        text += 'identity_store = { id = "%s"; endpoint_url = "%s"; };\n' % (store, sim.url)
    return text


def post(sim, path, payload):
    r = harness.http_request(sim.port, "POST", path, json.dumps(payload).encode(),
                             {"Content-Type": "application/json"}, context=sim.context)
    if r.status != 200:
        raise harness.Failure("POST %s: %d %r" % (path, r.status, r.body[:200]))


def check_denied(t, workdir, sim, fake, farms):
    """Every operation answered ok, then a chosen set denied: exactly those reported, with their actions."""
    path = write_config(workdir, sim, [(f, "") for f in farms], extra_config(sim))
    env = {"AWS_ENDPOINT_URL_STS": fake.url}
    expected = [(f, op) for f in farms for op in INVENTORY + USAGE + ACTIVITY] + [("-", "DescribeUser")]

    p = run_check(workdir, path, env)
    got, other = lines_of(p.stdout)
    t.check(p.returncode == 0 and sorted(got) == sorted(expected) and
            all(v[0] == "ok" for v in got.values()),
            "nothing denied: one ok line per (farm, operation) the configuration calls, exit 0",
            p.returncode, p.stdout, p.stderr[-2000:])
    t.check(any(line == "caller: account %s, %s" % (fake_aws.HOME_ACCOUNT, fake_aws.HOME_PRINCIPAL)
                for line in other) and other[-1] == "%d checked, 0 failed" % (len(expected) + 1),
            "who the exporter is, and the summary (the caller counted as one check)", other)

    # Harmless: one aggregation per farm, over one minute and one resource.
    aggs = [a for a in sim._json("GET", "/__sim/aggregations")["aggregations"]]
    spans = [(a["farmId"], sum(len(v) for v in a["resourceIds"].values()),
              harness_seconds(a["endTime"]) - harness_seconds(a["startTime"])) for a in aggs]
    t.check(sorted(s[0] for s in spans) == sorted(farms) and all(s[1:] == (1, 60) for s in spans),
            "one aggregation per farm, of one resource over one minute", spans)

    denied = ["ListBudgets", "GetBudget", "ListLimits", "StartSessionsStatisticsAggregation", "DescribeUser"]
    post(sim, "/__sim/deny", {"operations": denied})
    post(sim, "/__sim/deny", {"operations": ["GetFarm", "ListWorkers"], "farmId": farms[1]})
    before = sim.stats()["requests"]
    p = run_check(workdir, path, env)
    got, other = lines_of(p.stdout)
    want_denied = {(f, op) for f in farms for op in denied if op != "DescribeUser"} | {("-", "DescribeUser")} | \
        {(farms[1], "GetFarm"), (farms[1], "ListWorkers")}
    actions = {k: v[1] for k, v in got.items() if v[0] == "denied"}
    t.check(set(actions) == want_denied and
            all(a == ("identitystore:" if k[1] == "DescribeUser" else "deadline:") + k[1] for k, a in actions.items()),
            "every denied (farm, operation) reported with the IAM action to grant", sorted(actions.items()))
    t.check(sorted(got) == sorted(expected) and all(v[0] == "ok" for k, v in got.items() if k not in want_denied),
            "nothing else reported: every other operation ok (Get proven on a placeholder aggregation)",
            [(k, v) for k, v in got.items() if k not in want_denied and v[0] != "ok"])
    head, _, grant = other[-1].partition("; grant: ")
    t.check(p.returncode == 1 and head == "%d checked, %d failed" % (len(expected) + 1, len(want_denied)) and
            sorted(grant.split(", ")) == sorted(set(actions.values())),
            "exit status 1 and the summary naming each action once", p.returncode, other[-1:])
    after = sim.stats()["requests"]
    calls = {op: sum(after.get(op, {}).values()) - sum(before.get(op, {}).values()) for op in after}
    t.check(all(calls.get(op) == len(farms) for op in INVENTORY + ACTIVITY + ["StartSessionsStatisticsAggregation"])
            and calls.get("DescribeUser") == 1,
            "each operation called once per farm (DescribeUser once)", calls)
    post(sim, "/__sim/deny", {"operations": []})
    post(sim, "/__sim/deny", {"operations": [], "farmId": farms[1]})

    # A smaller configuration calls less: no activity, no inventory, no identity store.
    queue = sim.farms()[0]["queueIds"][0]
    small = write_config(workdir, sim, [(farms[0], 'queues = [ "%s" ]; fleets = "all";' % queue)],
                         "inventory = { enabled = false; };\n", name="small.conf")
    p = run_check(workdir, small, env)
    got, _ = lines_of(p.stdout)
    t.check(p.returncode == 0 and sorted(got) == sorted((farms[0], op) for op in ["ListFleets"] + USAGE),
            "without the inventory, activity or identity store: the usage's calls and the \"all\" listing only",
            p.stdout)

    # A report by job with a queue_name label finds each job's queue with SearchJobs, the live state off or on.
    by_show = harness.Report("by_show", ["JOB_ID", "USAGE_TYPE"], ["SUM"], extra=(
        'labels = ( { label = "production"; source = "queue_name"; regex = "(.+) - .*"; replacement = "$1"; '
        'default = "unknown"; } ); keep = [ "USAGE_TYPE" ];'))
    labelled = write_config(workdir, sim, [(farms[0], "")], name="labels.conf", report=by_show)
    p = run_check(workdir, labelled, env)
    got, _ = lines_of(p.stdout)
    t.check(p.returncode == 0 and sorted(got) == sorted((farms[0], op) for op in INVENTORY + USAGE + ["SearchJobs"])
            and all(v[0] == "ok" for v in got.values()),
            "a queue_name label on a report by job, the live state off: SearchJobs checked too", p.stdout)
    post(sim, "/__sim/deny", {"operations": ["SearchJobs"]})
    p = run_check(workdir, labelled, env)
    got, _ = lines_of(p.stdout)
    t.check(p.returncode == 1 and got.get((farms[0], "SearchJobs"), ("",))[:2] == ("denied", "deadline:SearchJobs")
            and all(v[0] == "ok" for k, v in got.items() if k[1] != "SearchJobs"),
            "SearchJobs denied: reported with deadline:SearchJobs, exit 1", p.returncode, p.stdout)
    post(sim, "/__sim/deny", {"operations": []})


def harness_seconds(text):
    import datetime
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def check_roles(t, workdir, sim, fake, farms):
    """Farms 1 and 2 in account B through its role: assumed (signed by botocore's rules, with the external id), the
    farms' calls made with its keys; a wrong external id: the reason said, those farms' calls fail, farm 0's don't."""
    role = 'queues = "all"; fleets = "all"; role_arn = "%s"; external_id = "%s";' % (ROLE_B, EXTERNAL_ID)
    # the identity store in account B too, through the same role
    store = sim._json("GET", "/__sim/inventory")["identityStoreId"]
    identity = 'identity_store = { id = "%s"; endpoint_url = "%s"; role_arn = "%s"; external_id = "%s"; };\n' % (
        store, sim.url, ROLE_B, EXTERNAL_ID)
    path = write_config(workdir, sim, [(farms[0], ""), (farms[1], role), (farms[2], role)],
                        extra_config(sim, identity=False) + identity, name="roles.conf")
    env = {"AWS_ENDPOINT_URL_STS": fake.url}
    p = run_check(workdir, path, env)
    got, other = lines_of(p.stdout)
    session = "arn:aws:sts::%s:assumed-role/deadline-exporter/deadline-cloud-exporter" % ACCOUNT_B
    said = "role %s (for %s, %s, the identity store): assumed as %s (account %s)" % (ROLE_B, farms[1], farms[2],
                                                                                     session, ACCOUNT_B)
    t.check(p.returncode == 0 and said in other
            and all(v[0] == "ok" for v in got.values()) and len(got) == 3 * len(INVENTORY + USAGE + ACTIVITY) + 1
            and ("-", "DescribeUser") in got,
            "the role assumed once for its two farms and the identity store; every call ok (DescribeUser with the "
            "role's keys: the store is in account B)", p.stdout, p.stderr[-2000:])
    assumed = [c for c in fake.sts_calls if c["action"] == "AssumeRole"]
    details = fake.issued_of("sts-AssumeRole")[-1]["details"] if assumed else {}
    t.check(len(assumed) == 1 and details.get("signature") == "valid" and
            details.get("caller") == fake_aws.HOME_PRINCIPAL and details.get("ExternalId") == EXTERNAL_ID and
            details.get("RoleSessionName") == "deadline-cloud-exporter",
            "AssumeRole signed (botocore agrees) by the exporter's own keys, with the external id and session name",
            assumed, details)

    bad = path.replace("roles.conf", "roles-bad.conf")
    with open(path, encoding="utf-8") as f, open(bad, "w", encoding="utf-8") as g:
        g.write(f.read().replace(EXTERNAL_ID, "studio-b-43"))
    p = run_check(workdir, bad, env)
    got, other = lines_of(p.stdout)
    said = [line for line in other if line.startswith("role %s (for %s, %s, the identity store): not assumed:" % (
        ROLE_B, farms[1], farms[2]))]
    t.check(p.returncode == 1 and said and "AccessDenied" in said[0] and "trust policy" in said[0] and
            "sts:AssumeRole" not in other[-1],
            "a refused role: the reason and the policy to look at (the trust policy, for an external id; no "
            "permission to grant)", other)
    t.check(all(v[0] == "ok" for k, v in got.items() if k[0] == farms[0]) and
            all(v[0] == "failed" and "no credentials" in v[2] for k, v in got.items() if k[0] != farms[0]) and
            ("-", "DescribeUser") in got,
            "its farms' (and the identity store's) calls fail for want of credentials; the other farm's are ok", got)

    fake.add_principal("AKIDNOASSUME", "no-assume-secret", arn="arn:aws:iam::%s:user/intern" % fake_aws.HOME_ACCOUNT,
                       may_assume=())
    post(sim, "/__sim/credentials", {"accessKeyId": "AKIDNOASSUME", "secretAccessKey": "no-assume-secret"})
    p = run_check(workdir, path, dict(env, AWS_ACCESS_KEY_ID="AKIDNOASSUME", AWS_SECRET_ACCESS_KEY="no-assume-secret"))
    said = [line for line in p.stdout.splitlines() if line.startswith("role %s (for " % ROLE_B) and
            ": not assumed:" in line]
    t.check(p.returncode == 1 and said and "lacks the permission: grant it sts:AssumeRole" in said[0] and
            "grant: " in p.stdout.splitlines()[-1] and "sts:AssumeRole" in p.stdout.splitlines()[-1],
            "a caller without sts:AssumeRole: told to grant it", p.stdout)
    post(sim, "/__sim/credentials", {"accessKeyId": harness.ACCESS_KEY_ID,
                                     "secretAccessKey": harness.SECRET_ACCESS_KEY})


def check_failures(t, workdir, sim, fake, farms):
    """Unreachable STS, a wrong secret, no credentials at all, a bad file: a clear message, exit 1, no secret."""
    path = write_config(workdir, sim, [(f, "") for f in farms], name="plain.conf")
    secret = "wrong-secret-never-printed"
    token = "session-token-never-printed"
    # (what, environment, variables removed, what it says, whether the farms' calls are still made)
    cases = [
        ("unreachable STS", {"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:%d" % harness.free_port()}, (),
         "caller: STS GetCallerIdentity failed: STS at http://127.0.0.1:", True),
        ("a wrong secret key", {"AWS_ENDPOINT_URL_STS": fake.url, "AWS_SECRET_ACCESS_KEY": secret}, (),
         "caller: STS GetCallerIdentity failed: STS refused (HTTP 403 SignatureDoesNotMatch", False),
        ("an unknown key with a session token", {"AWS_ENDPOINT_URL_STS": fake.url, "AWS_ACCESS_KEY_ID": "AKIDNOBODY",
                                                 "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token}, (),
         "caller: STS GetCallerIdentity failed: STS refused (HTTP 403 InvalidClientTokenId", False),
        ("no credentials", {"AWS_ENDPOINT_URL_STS": fake.url}, ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
         "credentials: none usable (profile default): environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
         "are not set", False),
    ]
    for what, env, drop, expected, calls in cases:
        p = run_check(workdir, path, env, drop)
        out = p.stdout + p.stderr
        got = lines_of(p.stdout)[0]
        t.check(p.returncode == 1 and expected in p.stdout and
                (all(v[0] == "ok" for v in got.values()) and len(got) == len(farms) * 7 if calls else not got),
                "%s: said clearly, exit 1, %s" % (what, "the farms' calls made all the same" if calls else
                                                  "nothing called"), p.returncode, p.stdout, p.stderr[-1500:])
        t.check(secret not in out and token not in out and harness.SECRET_ACCESS_KEY not in out,
                "%s: no secret in the output" % what)
    store = write_config(workdir, sim, [(farms[0], "")], "inventory = { enabled = false; };\n"
                         'identity_store = { id = "d-9999999999"; endpoint_url = "%s"; };\n' % sim.url,
                         name="store.conf")
    p = run_check(workdir, store, {"AWS_ENDPOINT_URL_STS": fake.url})
    got = lines_of(p.stdout)[0]
    t.check(p.returncode == 1 and got.get(("-", "DescribeUser"), ("",))[0] == "failed" and
            "not found" in got[("-", "DescribeUser")][2],
            "an identity store that does not exist is a failure, not a permission proven", p.stdout)
    bad = os.path.join(workdir, "bad.conf")
    with open(bad, "w", encoding="utf-8") as f:
        f.write("farms = ( { id = \"farm-1\"; } );\n")
    p = run_check(workdir, bad, {"AWS_ENDPOINT_URL_STS": fake.url})
    t.check(p.returncode == 1 and "bad.conf:1:" in p.stderr and not p.stdout,
            "a bad configuration: its errors with file and line, exit 1, nothing checked", p.stdout, p.stderr)


def check_busy(t, workdir):
    """A farm whose one aggregation slot is taken (an exporter's refresh): the check's Start waits for it."""
    sim = harness.Simulator(workdir, "--aggregation-delay", "7000", "--quiet", name="busy")
    fake = fake_aws.FakeAWS(sim.url)
    try:
        farm = sim.farms()[0]
        path = write_config(workdir, sim, [(farm["farmId"], "")], "inventory = { enabled = false; };\n",
                            name="busy.conf")
        r, _ = harness.SignedClient(sim).start(farm["farmId"], {
            "resourceIds": {"queueIds": farm["queueIds"][:1]}, "startTime": "2001-01-01T00:00:00Z",
            "endTime": "2001-01-01T00:01:00Z", "groupBy": ["USAGE_TYPE"], "statistics": ["SUM"]})
        p = run_check(workdir, path, {"AWS_ENDPOINT_URL_STS": fake.url})
        got = lines_of(p.stdout)[0]
        refused = sim.stats()["concurrentStartsRefused"]
        t.check(r.status == 200 and p.returncode == 0 and refused >= 1 and
                got.get((farm["farmId"], "StartSessionsStatisticsAggregation"), ("",))[0] == "ok",
                "a busy farm: the Start waits for the slot, then succeeds", r.status, refused, p.stdout)
    finally:
        fake.close()
        sim.proc.stop()


def main():
    with harness.Test("check_aws") as t:
        # Every farm in the exporter's own account; then farms 1 and 2 in account B, reached through its role.
        sim = harness.Simulator(t.workdir, "--identity-region", harness.REGION, "--quiet", name="home")
        accounts = harness.Simulator(t.workdir, "--farm-accounts", "%s,%s" % (fake_aws.HOME_ACCOUNT, ACCOUNT_B),
                                     "--identity-account", ACCOUNT_B, "--identity-region", harness.REGION,
                                     "--quiet", name="accounts")
        fake = fake_aws.FakeAWS(sim.url)
        roles_fake = fake_aws.FakeAWS(accounts.url)
        try:
            roles_fake.add_role(ROLE_B, external_id=EXTERNAL_ID)
            check_denied(t, t.workdir, sim, fake, [f["farmId"] for f in sim.farms()])
            check_failures(t, t.workdir, sim, fake, [f["farmId"] for f in sim.farms()])
            check_roles(t, t.workdir, accounts, roles_fake, [f["farmId"] for f in accounts.farms()])
            check_busy(t, t.workdir)
        finally:
            fake.close()
            roles_fake.close()
        sim.proc.stop()
        accounts.proc.stop()
    return t.status


if __name__ == "__main__":
    sys.exit(main())
