#!/usr/bin/env python3
"""test_labels: reports[].labels and keep against the simulator: every labelled figure equals the simulator's session
records merged by the same rules, computed here (labels_oracle: Python's re and Go's $-expansion, not the exporter's
code); defaults for names that do not match or queues not known; keep; a counter report; queue names by queue and by
job (SearchJobs, asked only for jobs not seen before); a SearchJobs that fails, or queues not listed yet, publish
nothing under unknown queues."""

import math
import os
import time

import harness
from labels_oracle import LabelledReport, Rule, expected_samples

SHOW = Rule("show", "job_name", "([a-z0-9]+)_.*", "$1", "unknown")
DEPARTMENT = Rule("department", "job_name", ".*_(anim|comp|fx|lgt|lookdev)_.*", "$1", "other")
PRODUCTION = Rule("production", "queue_name", "(.+) - .*", "$1", "unknown")
# a named group, ${name} and text around it; the job's shot, or "none"
SHOT = Rule("shot", "job_name", "[a-z0-9]+_(?P<shot>sh[0-9]{4})_.*", "shot-${shot}", "none")

REPORTS = [
    # the contract's example (as a gauge over every session): the queue through each job's SearchJobs listing
    LabelledReport("by_show", ["JOB_ID", "USAGE_TYPE"], [SHOW, DEPARTMENT, PRODUCTION], keep=["USAGE_TYPE"],
                   window="101d", interval="10s"),
    # the queue by its own id; no keep: one series per production
    LabelledReport("by_production", ["QUEUE_ID", "USAGE_TYPE"], [PRODUCTION], window="101d", interval="10s"),
    # JOB_ID kept (with its job_name) beside the derived labels, JOB_ID second in group_by
    LabelledReport("shots", ["USAGE_TYPE", "JOB_ID"], [SHOW, SHOT], keep=["JOB_ID"], statistics=["SUM", "MAX"],
                   window="101d", interval="15s"),
    # a counter report: the merged figures are what the counters hold
    LabelledReport("spend", ["JOB_ID", "USAGE_TYPE"], [SHOW, PRODUCTION], keep=["USAGE_TYPE"], counter=True,
                   statistics=["SUM"], window="month", interval="10s"),
]
BY_JOB = ("by_show", "spend")  # the reports that find queues through jobs
COUNTER_NAMES = {("cost", "SUM"): "deadline_cloud_usage_cost_usd_total",
                 ("runtime", "SUM"): "deadline_cloud_usage_runtime_seconds_total",
                 "sessions": "deadline_cloud_usage_sessions_total"}


def window(expo, farm, report):
    key = {"farm_id": farm, "report": report}
    return (expo.value(harness.USAGE_WINDOW_START, key), expo.value(harness.USAGE_WINDOW_END, key))


def names_of(expo, report):
    """The counter report's metric names: its sum figures as counters, once the exporter has them."""
    if report.counter and expo.series(COUNTER_NAMES["sessions"], report=report.name):
        return COUNTER_NAMES
    return None


def scraped(expo, farm, report, names):
    metrics = set(harness.USAGE_METRICS) | set((names or {}).values())
    return {s.key(): s.value for s in expo.samples
            if s.name in metrics and s.labels.get("farm_id") == farm and s.labels.get("report") == report.name}


def figure_diffs(expo, sessions, truth_names):
    """{(farm, report): (expected figures, differences)} of every labelled report of every farm."""
    out = {}
    for fid, records in sessions.items():
        for rep in REPORTS:
            start, end = window(expo, fid, rep.name)
            if start is None or end is None:
                out[(fid, rep.name)] = ({}, ["no window"])
                continue
            names = names_of(expo, rep)
            want = expected_samples(records, fid, rep, truth_names[fid], start, end, names)
            out[(fid, rep.name)] = (want, harness.compare_samples(scraped(expo, fid, rep, names), want))
    return out


def settled_figures(exp, sessions, truth_names):
    """A scrape whose figures are all as the records say, within a minute (a counter report shows a group new to it
    at 0 first, then its figures once a scrape has seen the 0); else the last scrape."""
    last = []

    def settled():
        _, _, expo = exp.scrape()
        last[:] = [expo]
        return expo if not any(d for _, d in figure_diffs(expo, sessions, truth_names).values()) else None

    try:
        return harness.wait_for("every labelled figure as the records say", settled, 60, interval=1, alive=[exp.proc])
    except harness.Failure:
        return last[0]


def check_figures(t, sim, expo, farms, truth_names):
    """Every labelled report of every farm: the scraped figures equal the oracle's, label for label."""
    defaults = {r.label: 0 for r in (SHOW, DEPARTMENT, PRODUCTION, SHOT)}
    matched = dict(defaults)
    sessions = {f["farmId"]: sim.sessions(f["farmId"]) for f in farms}
    results = figure_diffs(expo, sessions, truth_names)
    for f in farms:
        fid = f["farmId"]
        for rep in REPORTS:
            want, diffs = results[(fid, rep.name)]
            names = names_of(expo, rep)
            t.check(not diffs, "%s/%s: %d figures equal the records merged by the rules" % (fid, rep.name, len(want)),
                    *diffs)
            sessions_metric = (names or {}).get("sessions", harness.USAGE_SESSIONS)
            series = [s for s in expo.series(sessions_metric, farm_id=fid, report=rep.name)]
            keys = {tuple(s.labels.get(label) for label in rep.labels()) for s in series}
            t.check(len(series) == len(keys) and all(set(s.labels) == {"farm_id", "report"} | set(rep.labels())
                                                     for s in series),
                    "%s/%s: one series per (derived labels, kept labels), and only those labels" % (fid, rep.name),
                    sorted(series[0].labels) if series else None)
            for s in series:
                for r in rep.rules:
                    if s.labels[r.label] == r.default:
                        defaults[r.label] += 1
                    else:
                        matched[r.label] += 1
    for label in defaults:
        t.check(defaults[label] > 0 and matched[label] > 0, "the rule %s gave both its default and matches" % label,
                defaults[label], matched[label])


def search_calls(sim):
    return sum(sim.stats()["requests"].get("SearchJobs", {}).values())


def check_lookups_refused(t, workdir):
    """SearchJobs refused: the reports that find queues through jobs fail (report_up 0, nothing published, the
    permission named); the inventory refused too: every report with a queue_name rule fails for want of names
    (kind no_queue_names), the others go on; allowed again, every report publishes."""
    workdir = os.path.join(workdir, "refused")
    os.makedirs(workdir)
    sim = harness.Simulator(workdir, name="simulator-refused")
    fids = [f["farmId"] for f in sim.farms()]
    farm = fids[0]
    sim._json("POST", "/__sim/faults", {"mode": "access_denied", "operation": "SearchJobs", "count": 10000})
    sim._json("POST", "/__sim/faults", {"mode": "access_denied", "operation": "GetFarm", "farmId": farm,
                                        "count": 10000})
    # the inventory listed again soon after its failures, not 5 minutes later
    exp = harness.Exporter(workdir, sim, fids, REPORTS, extra_config="inventory = { interval = \"10s\"; };\n")

    def up(expo, fid, name):
        return expo.value("deadline_cloud_exporter_report_up", {"farm_id": fid, "report": name})

    def settled():
        _, _, expo = exp.scrape()
        if any(up(expo, fid, r.name) is None for fid in fids for r in REPORTS):
            return None
        if not all(up(expo, fid, "shots") == 1 for fid in fids) or up(expo, fids[1], "by_production") != 1:
            return None
        return expo

    expo = harness.wait_for("the reports that need no lookup up", settled, 120, alive=[exp.proc])
    for fid in fids:
        failing = BY_JOB + (("by_production",) if fid == farm else ())
        for name in failing:
            t.check(up(expo, fid, name) == 0, "%s/%s: report_up 0" % (fid, name))
            t.check(not [s for s in expo.samples if s.labels.get("report") == name and s.labels.get("farm_id") == fid
                         and s.name.startswith("deadline_cloud_usage_")],
                    "%s/%s: nothing published with unknown queues" % (fid, name))
    t.check((expo.value("deadline_cloud_exporter_refresh_errors_total",
                        {"farm_id": farm, "report": "by_production", "kind": "no_queue_names"}) or 0) > 0,
            "a farm whose queues are not listed: refresh_errors_total{kind=\"no_queue_names\"}")
    log = exp.log_text()
    t.check("deadline:SearchJobs" in log and "op=SearchJobs" in log,
            "the log names the operation and the permission to grant")
    t.check("the inventory has not listed the farm's queue names yet" in log, "the log says why without names")
    sim._json("POST", "/__sim/faults", {"mode": "clear"})
    exp.wait_all_up(timeout=180)
    t.ok("allowed again, every report publishes")
    exp.stop()
    sim.proc.stop()


def check_user_names(t, sim, workdir):
    """User names (identity_store) are looked up for the user_id a labelled report shows (USER_ID kept), and for none
    when its user ids are merged away."""
    inv = sim._json("GET", "/__sim/inventory")
    identity = "identity_store = { id = \"%s\"; region = \"%s\"; endpoint_url = \"%s\"; };\n" % (
        inv["identityStoreId"], harness.REGION, sim.url)
    farm = sim.farms()[2]["farmId"]
    for keep in (False, True):
        work = os.path.join(workdir, "users-kept" if keep else "users-merged")
        os.makedirs(work)
        rep = LabelledReport("by_user", ["USER_ID", "JOB_ID"], [SHOW, SHOT], keep=["USER_ID"] if keep else [],
                             statistics=["SUM"], window="101d", interval="1h")
        ident = sim._json("GET", "/__sim/identity")
        before, unknown = dict(ident["describeUserCalls"]), ident["describeUserUnknownCalls"]
        exp = harness.Exporter(work, sim, [farm], [rep], extra_config=identity)
        expo = exp.wait_all_up(timeout=120)
        shown = {s.labels["user_id"] for s in expo.series(harness.USAGE_SESSIONS, report="by_user")
                 if s.labels.get("user_id")}

        def asked():
            after = sim._json("GET", "/__sim/identity")["describeUserCalls"]
            return {u for u, n in after.items() if n != before.get(u, 0)}

        if keep:
            got = harness.wait_for("DescribeUser for every user shown", lambda: asked() if asked() >= shown else None,
                                   60, alive=[exp.proc])
            t.check(shown and got == shown, "USER_ID kept: each user shown is looked up, and no other",
                    len(shown), len(got))
        else:
            time.sleep(3)  # the users thread asks within a second of a publish, at most 4 calls a second
            t.check(not shown and not asked(), "USER_ID merged away: no user_id shown, no DescribeUser call",
                    sorted(asked())[:3])
        t.check(sim._json("GET", "/__sim/identity")["describeUserUnknownCalls"] == unknown,
                "no DescribeUser for an id the figures do not hold (a derived value read as a user id)")
        exp.stop()


def main():
    with harness.Test("labels") as t:
        sim = harness.Simulator(t.workdir)
        farms = sim.farms()
        fids = [f["farmId"] for f in farms]
        exp = harness.Exporter(t.workdir, sim, fids, REPORTS)
        exp.wait_ready()
        exp.wait_all_up(timeout=180)
        inventory = sim._json("GET", "/__sim/inventory")
        truth_names = {f["farmId"]: {q["queueId"]: q["displayName"] for q in f["queues"]} for f in inventory["farms"]}
        sessions = {f["farmId"]: sim.sessions(f["farmId"]) for f in farms}
        expo = settled_figures(exp, sessions, truth_names)
        check_figures(t, sim, expo, farms, truth_names)
        _, text, _ = exp.scrape()
        checked = harness.promtool_check(text)
        if checked is None:
            t.skip_part("promtool check metrics: promtool is not installed")
        else:
            t.check(checked == (0, ""), "promtool check metrics: silent", checked)

        # SearchJobs: each farm's jobs listed once; a later round with no new job asks nothing
        calls = search_calls(sim)
        batches = sum(math.ceil(len(f["queueIds"]) / 10) for f in farms)
        t.check(calls >= batches, "SearchJobs: at least one call per farm and batch of 10 queues", calls, batches)
        t.note("SearchJobs calls for the first round of %d farms (%d batches of queues): %d" % (len(farms), batches,
                                                                                                 calls))
        exp.wait_all_up(timeout=180, since=time.time())
        t.check(search_calls(sim) == calls, "a round without new jobs makes no SearchJobs call", search_calls(sim),
                calls)
        check_figures(t, sim, settled_figures(exp, sessions, truth_names), farms, truth_names)
        exp.stop()
        check_user_names(t, sim, t.workdir)
        sim.proc.stop()
        check_lookups_refused(t, t.workdir)
    return t.status


if __name__ == "__main__":
    raise SystemExit(main())
