#!/usr/bin/env python3
"""test_users: user names from the identity store (DescribeUser) as deadline_cloud_user_info, and farms in several
regions from one exporter (each request signed for its farm's region).

The farms share the configuration's aws.endpoint_url and differ in farms[].region. One simulator stands for the
regional endpoints: it knows each farm's region (--farm-region) and refuses a request signed for another one, as
that region's endpoint would."""

import os
import re
import subprocess
import sys

import harness
import oracles

IDENTITY_REGION = "eu-central-1"
OTHER_REGION = "eu-west-1"
WRONG_FARM_REGION = "ap-southeast-2"  # farm 0's region in the simulator; the exporter is told OTHER_REGION
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


def farm_of(uri):
    """The farm id in a Deadline Cloud request's path, or None."""
    m = re.match(r"/2023-10-12/farms/(farm-[0-9a-f]{32})(?:[/?]|$)", uri)
    return m.group(1) if m else None


def scope_region(headers):
    """The region of the credential scope a request was signed for, or None."""
    auth = [v for n, v in headers if n.lower() == "authorization"]
    m = oracles.AUTH_RE.match(auth[0]) if len(auth) == 1 else None
    return m.group(3) if m else None


def farm_region_option_part(t):
    """--farm-region takes N=REGION for a farm the simulator has; anything else stops it with a message."""
    for value in ("3=" + OTHER_REGION, "0=", "x=" + OTHER_REGION, "0=EU_WEST_1", "01=" + OTHER_REGION):
        try:
            r = subprocess.run([harness.env_path("SIMULATOR"), "--farm-region", value, "--listen",
                                harness.LOOPBACK + ":0"], stdin=subprocess.DEVNULL, capture_output=True, timeout=10,
                               check=False)
        except subprocess.TimeoutExpired:
            t.check(False, "the simulator refuses --farm-region %s (it started instead)" % value)
            continue
        t.check(r.returncode == 2 and b"invalid value for --farm-region" in r.stderr,
                "the simulator refuses --farm-region %s" % value, r.returncode, r.stderr[-200:])


def regions_part(t):
    """One simulator, three farms in three regions: each request must be signed for its farm's region."""
    workdir = os.path.join(t.workdir, "regions")
    os.makedirs(workdir)
    # Farm 1 is in the simulator's --region (us-west-2), farm 2 in OTHER_REGION, farm 0 in WRONG_FARM_REGION.
    sim = harness.Simulator(workdir, "--farm-region", "2=" + OTHER_REGION, "--farm-region", "0=" + WRONG_FARM_REGION,
                            "--aggregation-delay", "100", "--quiet", request_log=True)
    farms = [f["farmId"] for f in sim.farms()]
    farm_home, farm_other, farm_wrong = farms[1], farms[2], farms[0]
    # What each farm's requests must be signed for: the configuration's farms[].region, else aws.region. farm_wrong
    # is given OTHER_REGION, a region the simulator serves (for farm_other) but not for farm_wrong.
    region_of = {farm_home: harness.REGION, farm_other: OTHER_REGION, farm_wrong: OTHER_REGION}

    def write(path, port):
        write_config(path, port, sim.url, [(farm_home, None), (farm_other, OTHER_REGION),
                                           (farm_wrong, OTHER_REGION)], ca_file=harness.ca_file_for(sim.url))

    exp = Running(workdir, "exporter-regions", [farm_home, farm_other], write)
    exp.wait_all_up(timeout=120)

    def refused():
        _, _, expo = exp.scrape()
        up = expo.value("deadline_cloud_exporter_report_up", {"farm_id": farm_wrong, "report": REPORT.name})
        denied = sum(s.value for s in expo.series("deadline_cloud_exporter_api_requests_total", code="403"))
        return expo if up == 0 and denied > 0 else None

    expo = harness.wait_for("403 answers and report_up = 0 for the farm signed for the wrong region", refused, 60,
                            interval=0.5, alive=[exp.proc])
    # Stopped first, so that the request log and the simulator's counters tell of the same requests.
    status = exp.proc.stop()
    t.check(status == 0, "the exporter stops cleanly", status)
    entries = sim.request_log_entries()
    by_farm = {f: [e for e in entries if farm_of(e["uri"]) == f] for f in farms}
    t.check(len(entries) == sum(len(v) for v in by_farm.values()), "every request named one of the farms",
            [e["uri"] for e in entries if farm_of(e["uri"]) not in farms][:3])
    for farm in farms:
        scopes = sorted({scope_region([tuple(h) for h in e["headers"]]) for e in by_farm[farm]})
        t.check(by_farm[farm] and scopes == [region_of[farm]], "%s's requests were signed for %s"
                % (farm, region_of[farm]), scopes)
    for farm in (farm_home, farm_other):
        refusals = [(e["operation"], e["status"], e["errorType"]) for e in by_farm[farm] if e["status"] == 403]
        t.check(not refusals, "the simulator accepted every signature of %s (%s)" % (farm, region_of[farm]),
                refusals[:3])
        t.check(expo.series(harness.USAGE_SESSIONS, farm_id=farm, report=REPORT.name), "figures for %s" % farm)
    # (the error type without the ":http://internal.amazon.com/coral/…" suffix some answers add)
    answers = {(e["status"], (e["errorType"] or "").split(":")[0]) for e in by_farm[farm_wrong]}
    t.check(answers == {(403, "InvalidSignatureException")}, "each request for %s, signed for %s while the farm is "
            "in %s, was refused with 403 InvalidSignatureException" % (farm_wrong, OTHER_REGION, WRONG_FARM_REGION),
            sorted(answers))
    t.check(not expo.series(harness.USAGE_SESSIONS, farm_id=farm_wrong), "no figures for %s" % farm_wrong)
    st = sim.stats()
    t.check(st.get("signatureFailures") == len(by_farm[farm_wrong]), "the simulator's refused signatures are "
            "exactly the requests for %s" % farm_wrong, st.get("signatureFailures"), len(by_farm[farm_wrong]))
    aggs = {a.get("farmId") for a in sim.aggregations()}
    t.check(aggs == {farm_home, farm_other}, "aggregations ran for the two farms signed for their region",
            sorted(aggs))
    # botocore, which shares no code with the exporter or the simulator, computes the same signatures in the
    # farms' regions.
    if not oracles.available():
        t.check(False, "botocore is installed (python3-botocore): the signature oracle needs it")
    else:
        scheme = "https" if sim.url.startswith("https:") else "http"
        secrets = {harness.ACCESS_KEY_ID: (harness.SECRET_ACCESS_KEY, None)}
        bad = []
        for e in entries:
            headers = [tuple(h) for h in e["headers"]]
            host = [v for n, v in headers if n.lower() == "host"]
            why = oracles.verify_sigv4(e["method"], "%s://%s%s" % (scheme, host[0] if host else "", e["uri"]),
                                       headers, e["body"], secrets, "deadline", region_of[farm_of(e["uri"])])
            if why:
                bad.append("%s %s: %s" % (e["method"], e["uri"][:100], why))
        t.check(not bad, "botocore computes the signature of each of the %d requests in its farm's region"
                % len(entries), *bad[:3])
    sim.proc.stop()


def main():
    with harness.Test("users") as t:
        users_part(t)
        farm_region_option_part(t)
        regions_part(t)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
