#!/usr/bin/env python3
"""test_accounts: farms in three AWS accounts, two through a role each (farms[].role_arn): AssumeRole signed for the
farm's region by the exporter's own keys (botocore checks it), with the external id; each farm's requests signed with
its own role's keys (the simulator refuses another account's); short-lived keys renewed before they expire; a reload
that keeps the roles keeps their keys; an AssumeRole refused for one farm leaves the others exact. And the
self-metrics of version 3: every counter the configuration implies at 0 before the first refresh, farm_id on
api_requests_total (- for STS), deadline_cloud_farm_info's account_id and region."""

import os
import re
import signal
import sys
import time

import fake_aws
import harness

ACCOUNT_B, ACCOUNT_C = "222222222222", "333333333333"
ROLE_B = "arn:aws:iam::%s:role/render-b" % ACCOUNT_B
ROLE_C = "arn:aws:iam::%s:role/render-c" % ACCOUNT_C
EXTERNAL_ID = "studio-b-7f3"
REGION_B = "eu-west-1"  # farm 1's region: its role's STS calls are signed for it
LIFETIME_B = 24  # seconds: renewed at half their life (under twice the refresh margin)
REPORT = harness.Report("cost", ["QUEUE_ID", "USAGE_TYPE"], interval="10s")


class RoleExporter(harness.Exporter):
    """harness.Exporter with a configuration of its own (farms with roles and regions) and the fake STS."""

    def __init__(self, workdir, sim, farms, fake):
        self.workdir = workdir
        self.reports = [REPORT]
        self.farm_ids = [f for f, _ in farms]
        self.port = harness.free_port()
        self.config_path = os.path.join(workdir, "accounts.conf")
        self.sim = sim
        self.write(farms)
        self.started_at = time.time()
        env = harness.hermetic_env(workdir, {"AWS_ENDPOINT_URL_STS": fake.url})
        self.proc = harness.Process("exporter", [harness.env_path("EXPORTER"), "--config", self.config_path],
                                    workdir, env=env)

    def write(self, farms):
        text = harness.exporter_config(self.port, self.sim.url, [f for f, _ in farms], self.reports)
        mine = ",\n".join('  { id = "%s"; queues = "all"; fleets = "all"; %s }' % (f, s) for f, s in farms)
        text = re.sub(r"farms = \(\n.*?\n\);", lambda _: "farms = (\n%s\n);" % mine, text, flags=re.S)
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(text)

    def reload(self, farms):
        self.write(farms)
        since = time.time()
        os.kill(self.proc.pid, signal.SIGHUP)
        harness.wait_for("the reload", lambda: "op=reload status=ok" in self.log_text(), 30, alive=[self.proc])
        return since


def figures_exact(t, sim, farm, expo, what):
    """The farm's figures are those of the window they name, recomputed from the simulator's sessions."""
    key = {"farm_id": farm["farmId"], "report": REPORT.name}
    start = expo.value(harness.USAGE_WINDOW_START, key)
    end = expo.value(harness.USAGE_WINDOW_END, key)
    refs = [r for r in harness.refreshes(sim.aggregations(), farm["farmId"], REPORT) if (r.start, r.end) == (start, end)]
    if not t.check(refs, "%s: the published window is one the farm was asked about" % what, start, end):
        return
    got = harness.scraped_samples(expo, farm["farmId"], REPORT.name)
    expected = harness.expected_samples(sim.sessions(farm["farmId"]), farm["farmId"], REPORT, farm["queueIds"],
                                        start, end)
    diffs = harness.compare_samples(got, expected)
    t.check(got and not diffs, "%s: %d figures exact" % (what, len(got)), *diffs)


def signers(sim, fake):
    """{farm id: set of the account whose keys signed its requests ("home", or a role's account)}."""
    roles = {c["key"]: c["role"] for c in fake.issued}
    out = {}
    for e in sim.request_log_entries():
        m = re.match(r"/2023-10-12/farms/(farm-[0-9a-f]{32})", e["uri"])
        auth = [v for k, v in e["headers"] if k.lower() == "authorization"]
        if not m or not auth:
            continue
        key = re.search(r"Credential=([^/]+)/", auth[0]).group(1)
        role = roles.get(key)
        out.setdefault(m.group(1), set()).add(role.split(":")[4] if role else
                                              "home" if key == harness.ACCESS_KEY_ID else "other:" + key)
    return out


# Every kind a refresh failure is counted under, the final statuses of an aggregation, the kinds of split.
ERROR_KINDS = ("throttled", "not_found", "access_denied", "client_error", "server_error", "bad_response",
               "no_credentials", "transport", "other", "aggregation_failed", "aggregation_expired")
STATUSES = ("COMPLETED", "FAILED", "TIMEOUT", "EXPIRED")
SPLITS = ("resources", "window")


def zero_counters(t, exp, farms):
    """Before the first refresh ends, every counter series the configuration implies is there, at 0."""
    def declared():
        _, _, e = exp.scrape()
        return e if e.series("deadline_cloud_exporter_refresh_errors_total") else None

    expo = harness.wait_for("the declared counters", declared, 20, interval=0.05, alive=[exp.proc])
    want = {}
    for f in farms:
        pair = {"farm_id": f, "report": REPORT.name}
        for kind in ERROR_KINDS:
            want[("deadline_cloud_exporter_refresh_errors_total", tuple(sorted(dict(pair, kind=kind).items())))] = 0
        for kind in SPLITS:
            want[("deadline_cloud_exporter_aggregation_splits_total", tuple(sorted(dict(pair, kind=kind).items())))] = 0
        for name in ("deadline_cloud_exporter_pages_read_total", "deadline_cloud_exporter_rows_read_total"):
            want[(name, tuple(sorted(pair.items())))] = 0
        for status in STATUSES:
            want[("deadline_cloud_exporter_aggregations_total", (("farm_id", f), ("status", status)))] = 0
    got = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in expo.samples if s.name in {k[0] for k in want}}
    ups = [s.value for s in expo.series("deadline_cloud_exporter_report_up")]
    t.check(got == want and ups == [0] * len(farms),
            "before the first refresh ends: every (farm, report)'s counters at 0, each kind and status (%d series)"
            % len(want), sorted(set(want) - set(got))[:5], sorted(set(got) - set(want))[:5], ups)
    requests = {(s.labels["farm_id"], s.labels["operation"]) for s in expo.series(
        "deadline_cloud_exporter_api_requests_total", code="200")}
    retries = {(s.labels["farm_id"], s.labels["operation"]) for s in expo.series(
        "deadline_cloud_exporter_api_retries_total")}
    ops = {(f, op) for f in farms for op in ("StartSessionsStatisticsAggregation", "GetSessionsStatisticsAggregation",
                                             "ListQueues", "ListFleets", "GetFarm", "ListBudgets", "GetBudget")}
    ops |= {("-", "AssumeRole"), ("-", "GetCallerIdentity")}
    t.check(ops <= requests and ops <= retries,
            "each farm's operations (and the account-wide AssumeRole, GetCallerIdentity) declared with their farm",
            sorted(ops - requests)[:5], sorted(ops - retries)[:5])


def assumed(fake, role):
    return [c for c in fake.sts_calls if c["action"] == "AssumeRole" and c["role"] == role]


def main():
    with harness.Test("accounts") as t:
        # aggregations of 3 s: the first refreshes end after the first scrapes
        sim = harness.Simulator(t.workdir, "--farm-accounts", "%s,%s,%s" % (fake_aws.HOME_ACCOUNT, ACCOUNT_B,
                                                                            ACCOUNT_C),
                                "--farm-region", "1=%s" % REGION_B, "--aggregation-delay", "3000", "--quiet",
                                request_log=True)
        farms = sim.farms()
        f0, f1, f2 = (f["farmId"] for f in farms)
        fake = fake_aws.FakeAWS(sim.url)
        try:
            fake.add_role(ROLE_B, external_id=EXTERNAL_ID, lifetime=LIFETIME_B)
            fake.add_role(ROLE_C)
            good = [(f0, ""), (f1, 'region = "%s"; role_arn = "%s"; external_id = "%s";' % (REGION_B, ROLE_B,
                                                                                           EXTERNAL_ID)),
                    (f2, 'role_arn = "%s";' % ROLE_C)]
            exp = RoleExporter(t.workdir, sim, good, fake)
            zero_counters(t, exp, [f0, f1, f2])
            expo = exp.wait_all_up()
            for farm in farms:
                figures_exact(t, sim, farm, expo, "farm %s" % farm["farmId"][:13])
            b, c = assumed(fake, ROLE_B), assumed(fake, ROLE_C)
            details = [i["details"] for i in fake.issued_of("sts-AssumeRole") if i["role"] == ROLE_B]
            t.check(b and c and b[0]["region"] == REGION_B and c[0]["region"] == harness.REGION,
                    "each role assumed on the STS endpoint of its farm's region", b[:1], c[:1])
            t.check(details and all(d["signature"] == "valid" and d["caller"] == fake_aws.HOME_PRINCIPAL and
                                    d["ExternalId"] == EXTERNAL_ID and
                                    d["RoleSessionName"] == "deadline-cloud-exporter" for d in details),
                    "AssumeRole signed by the exporter's own keys (botocore agrees), external id, session name",
                    details[:1])
            who = signers(sim, fake)
            t.check(who == {f0: {"home"}, f1: {ACCOUNT_B}, f2: {ACCOUNT_C}},
                    "each farm's requests signed with its own account's keys only", who)
            denied = sim.stats()["requests"]
            t.check(not any(str(code).startswith("4") for op in denied.values() for code in op),
                    "no request refused by the simulator", denied)

            # farm_id on api_requests_total: the farms' own calls, "-" for STS's
            farms_seen = {s.labels["farm_id"] for s in expo.series("deadline_cloud_exporter_api_requests_total")}
            assume = expo.value("deadline_cloud_exporter_api_requests_total",
                                {"farm_id": "-", "operation": "AssumeRole", "code": "200"})
            starts = [expo.value("deadline_cloud_exporter_api_requests_total",
                                 {"farm_id": f, "operation": "StartSessionsStatisticsAggregation", "code": "200"})
                      for f in (f0, f1, f2)]
            t.check(farms_seen == {f0, f1, f2, "-"} and assume and assume >= 2 and all(n and n >= 1 for n in starts),
                    "api_requests_total by farm, STS's AssumeRole under farm_id -", farms_seen, assume, starts)

            # deadline_cloud_farm_info: the account (the role's, else who the exporter is) and the region
            def placed():
                _, _, e = exp.scrape()
                got = {s.labels["farm_id"]: (s.labels.get("account_id"), s.labels.get("region"))
                       for s in e.series("deadline_cloud_farm_info")}
                return got if len(got) == 3 else None

            places = harness.wait_for("the farms' inventories", placed, 60, alive=[exp.proc])
            t.check(places == {f0: (fake_aws.HOME_ACCOUNT, harness.REGION), f1: (ACCOUNT_B, REGION_B),
                               f2: (ACCOUNT_C, harness.REGION)},
                    "farm_info's account_id (the role's, else GetCallerIdentity's) and region", places)

            # Short-lived keys: renewed before they expire, the farm never refused.
            first = time.time()
            time.sleep(2.2 * LIFETIME_B)
            expo = exp.wait_all_up(since=time.time() - 12)
            renewals = assumed(fake, ROLE_B)
            expired = [e for e in sim.request_log_entries() if e["status"] == 403]
            t.check(len(renewals) >= 3 and not expired,
                    "keys living %ds renewed before they expire: %d AssumeRoles in %.0fs, nothing refused" % (
                        LIFETIME_B, len(renewals), time.time() - first), len(renewals), expired[:2])
            t.check(len(assumed(fake, ROLE_C)) == 1, "the hour-long role assumed once", assumed(fake, ROLE_C))
            figures_exact(t, sim, farms[1], expo, "farm 1 after renewals")

            # A reload that keeps the chain and the roles keeps their keys.
            since = exp.reload(good)
            exp.wait_all_up(since=since)
            t.check(len(assumed(fake, ROLE_C)) == 1,
                    "a reload that changes nothing assumes no role again (its farm refreshed since)",
                    assumed(fake, ROLE_C))

            # One role refused (its external id changed): its farm fails, with the reason; the others stay exact.
            bad = [good[0], (f1, good[1][1].replace(EXTERNAL_ID, "studio-b-000")), good[2]]
            since = exp.reload(bad)

            def settled():
                _, _, e = exp.scrape()
                up = [e.value("deadline_cloud_exporter_report_up", {"farm_id": f, "report": REPORT.name})
                      for f in (f0, f1, f2)]
                last = [e.value("deadline_cloud_exporter_report_last_success_timestamp_seconds",
                                {"farm_id": f, "report": REPORT.name}) for f in (f0, f2)]
                return e if up == [1, 0, 1] and all(x and x >= since for x in last) else None

            expo = harness.wait_for("farm 1 down, the others refreshed", settled, 90, interval=0.5,
                                    alive=[exp.proc])
            log = exp.log_text()
            t.check(re.search(r"op=credentials status=error role=%s .*trust policy" % re.escape(ROLE_B), log) and
                    re.search(r"farm=%s report=cost op=refresh status=failed reason=\"no credentials: role %s not "
                              r"assumed\"" % (f1, re.escape(ROLE_B)), log),
                    "the refusal logged with the role and the policy to look at; the farm's refresh fails",
                    log[-3000:])
            figures_exact(t, sim, farms[0], expo, "farm 0 beside a refused role")
            figures_exact(t, sim, farms[2], expo, "farm 2 beside a refused role")
            exp.stop()
        finally:
            fake.close()
        sim.proc.stop()
    return t.status


if __name__ == "__main__":
    sys.exit(main())
