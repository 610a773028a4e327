#!/usr/bin/env python3
"""test_users: user names from the identity store (DescribeUser) as deadline_cloud_user_info, and farms in two
regions from one exporter (each request signed for its farm's region).

Two regions need two simulators; the farms have no endpoint of their own in the configuration (an explicit
aws.endpoint_url applies to every farm), so the test points each region at its simulator with the exporter's
test hook DEADLINE_CLOUD_EXPORTER_TEST_REGION_ENDPOINTS (aws/aws_endpoint.h)."""

import os
import sys

import harness

IDENTITY_REGION = "eu-central-1"
OTHER_REGION = "eu-west-1"
REPORT = harness.Report("by_user", ["USER_ID"], statistics=["SUM"], interval="10s")


def write_config(path, port, endpoint_url, farms, extra="", ca_file=None):
    lines = ["web = { listen = \"%s:%d\"; };" % (harness.LOOPBACK, port)]
    aws = "region = \"%s\";" % harness.REGION
    if endpoint_url:
        aws += " endpoint_url = \"%s\";" % endpoint_url
    if ca_file:
        aws += " ca_file = \"%s\";" % ca_file
    lines.append("aws = { %s };" % aws)
    lines.append("farms = (\n%s\n);" % ",\n".join(
        "  { id = \"%s\";%s queues = \"all\"; fleets = \"all\"; }"
        % (f, " region = \"%s\";" % r if r else "") for f, r in farms))
    lines.append("reports = ( { name = \"%s\"; resources = \"queues\"; window = \"month\"; timezone = \"UTC+00:00\";"
                 " group_by = [ \"USER_ID\" ]; statistics = [ \"SUM\" ]; interval = \"10s\"; } );" % REPORT.name)
    lines.append(extra)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


class Running:
    """An exporter started on a hand-written configuration and environment (harness.Exporter's methods)."""

    def __init__(self, workdir, name, farm_ids, write, env_extra=None):
        self.reports = [REPORT]
        self.farm_ids = farm_ids
        self.port = harness.free_port()
        self.config_path = os.path.join(workdir, name + ".conf")
        write(self.config_path, self.port)
        self.proc = harness.Process(name, [harness.env_path("EXPORTER"), "--config", self.config_path], workdir,
                                    env=harness.hermetic_env(workdir, env_extra))

    request = harness.Exporter.request
    scrape = harness.Exporter.scrape
    wait_all_up = harness.Exporter.wait_all_up


def users_part(t):
    sim = harness.Simulator(t.workdir, "--identity-region", IDENTITY_REGION, "--aggregation-delay", "100",
                            "--quiet")
    inv = sim._json("GET", "/__sim/inventory")
    store_id = inv["identityStoreId"]
    users = {u["userId"]: u for u in inv["users"]}
    farm_id = sim.farms()[0]["farmId"]
    # The identity store throttles the first calls: they are retried, the names still arrive.
    sim._json("POST", "/__sim/identity", {"throttle": 3})

    def write(path, port):
        write_config(path, port, sim.url, [(farm_id, None)],
                     "identity_store = { id = \"%s\"; region = \"%s\"; endpoint_url = \"%s\"; };"
                     % (store_id, IDENTITY_REGION, sim.url), ca_file=harness.ca_file_for(sim.url))

    exp = Running(t.workdir, "exporter-users", [farm_id], write)
    expo = exp.wait_all_up(timeout=120)
    # The users of the report's figures (this month's sessions), as the exporter shows them.
    used = {s.labels["user_id"] for s in expo.series(harness.USAGE_SESSIONS) if s.labels.get("user_id")}
    existing = {u for u in used if users.get(u, {}).get("exists")}
    missing = used - existing
    t.check(missing, "the figures' users include a deleted one", sorted(missing))
    t.check(any('"' in (users[u]["displayName"] or "") or "\n" in (users[u]["displayName"] or "")
                for u in existing), "the figures' users include hostile names")

    def all_names():
        _, _, expo = exp.scrape(gzip_ok=True)
        series = expo.series("deadline_cloud_user_info")
        return series if len({s.labels["user_id"] for s in series}) >= len(existing) else None

    series = harness.wait_for("a user_info series for every existing user", all_names, 60, interval=0.5,
                              alive=[exp.proc])
    got = {s.labels["user_id"]: s for s in series}
    t.check(set(got) == existing, "one deadline_cloud_user_info per existing user of the figures",
            sorted(set(got) ^ existing))
    wrong = [u for u in existing if u in got and (got[u].labels["user_name"] != (users[u]["userName"] or "") or
                                                   got[u].labels["display_name"] != (users[u]["displayName"] or "")
                                                   or got[u].labels["identity_store_id"] != store_id
                                                   or got[u].value != 1)]
    t.check(not wrong, "user_name and display_name byte for byte (hostile ones included), value 1",
            [(got[u].labels, users[u]) for u in wrong[:2]])
    t.check(not (missing & set(got)), "a deleted user (ResourceNotFoundException) has no series")
    ident = sim._json("GET", "/__sim/identity")
    t.check(ident["throttlePending"] == 0, "the throttled DescribeUser calls happened (and were retried)", ident)
    t.check(ident["region"] == IDENTITY_REGION, "the identity store is in another region than the farms, and its "
            "signatures (checked by the simulator for %s) passed" % IDENTITY_REGION)
    calls = dict(ident["describeUserCalls"])
    # A later refresh publishes the same users again: the cache answers, the store sees no new call.
    since = harness.time.time()
    exp.wait_all_up(timeout=60, since=since + 1)
    exp.wait_all_up(timeout=60, since=harness.time.time() + 1)
    after = sim._json("GET", "/__sim/identity")["describeUserCalls"]
    t.check(after == calls, "two more refreshes make no second DescribeUser for a known (or missing) user",
            {k: (calls.get(k), v) for k, v in after.items() if calls.get(k) != v})
    t.check(set(calls) == used, "every user of the figures was looked up (the deleted one too)",
            sorted(set(calls) ^ used))
    _, text, _ = exp.scrape()
    t.check(text.count("# TYPE deadline_cloud_user_info gauge") == 1, "one TYPE line for the family")
    status = exp.proc.stop()
    t.check(status == 0, "the exporter stops cleanly", status)
    sim.proc.stop()


def regions_part(t):
    dir_a = os.path.join(t.workdir, "region-a")
    dir_b = os.path.join(t.workdir, "region-b")
    os.makedirs(dir_a)
    os.makedirs(dir_b)
    sim_a = harness.Simulator(dir_a, "--region", harness.REGION, "--aggregation-delay", "100", "--quiet")
    sim_b = harness.Simulator(dir_b, "--region", OTHER_REGION, "--aggregation-delay", "100", "--quiet")
    farms = sim_a.farms()
    farm_a, farm_b = farms[1]["farmId"], farms[2]["farmId"]

    # Each simulator has its own test CA (over HTTPS): the exporter trusts both through one bundle.
    bundle = None
    cas = [c for c in (harness.ca_file_for(sim_a.url), harness.ca_file_for(sim_b.url)) if c]
    if cas:
        bundle = os.path.join(t.workdir, "ca-bundle.pem")
        with open(bundle, "w", encoding="ascii") as out:
            for c in cas:
                with open(c, encoding="ascii") as f:
                    out.write(f.read())

    def write(path, port):
        write_config(path, port, None, [(farm_a, None), (farm_b, OTHER_REGION)], ca_file=bundle)

    hook = "%s=%s,%s=%s" % (harness.REGION, sim_a.url, OTHER_REGION, sim_b.url)
    exp = Running(t.workdir, "exporter-regions", [farm_a, farm_b], write,
                  {"DEADLINE_CLOUD_EXPORTER_TEST_REGION_ENDPOINTS": hook})
    exp.wait_all_up(timeout=120)
    st_a, st_b = sim_a.stats(), sim_b.stats()
    aggs_a = {a.get("farmId") for a in sim_a.aggregations()}
    aggs_b = {a.get("farmId") for a in sim_b.aggregations()}
    t.check(aggs_a == {farm_a}, "the us-west-2 simulator served only the farm without a region", sorted(aggs_a))
    t.check(aggs_b == {farm_b}, "the %s simulator served only farms[].region = %s" % (OTHER_REGION, OTHER_REGION),
            sorted(aggs_b))
    t.check(st_a.get("signatureFailures", 0) == 0 and st_b.get("signatureFailures", 0) == 0,
            "every request was signed for its farm's region (no signature refused)",
            (st_a.get("signatureFailures"), st_b.get("signatureFailures")))
    _, _, expo = exp.scrape()
    for farm in (farm_a, farm_b):
        t.check(expo.series(harness.USAGE_SESSIONS, farm_id=farm, report=REPORT.name),
                "figures for %s" % farm)
    status = exp.proc.stop()
    t.check(status == 0, "the exporter stops cleanly", status)


def main():
    with harness.Test("users") as t:
        users_part(t)
        regions_part(t)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
