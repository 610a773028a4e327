"""test_plan: the cheapest exact plan: "auto" asks by the kind of fewer batches, reports share aggregations, exactly.

Two farms of the simulator, queues and fleets "all": farm 0 made with 30 queues and 4 fleets (fleets need 1 batch,
queues 3: "auto" asks by fleet) and farm 2 (3 queues, 1 fleet: a tie, so by queue). The benchmark's five reports
(tests/bench/plan.py) and four more: two that differ only in their statistics, one with a limit beside month_to_date
and one by job and usage type beside by_show. Exporter A runs them with "auto" and every interval 1 h (one refresh
each), then exporter B with every "auto" replaced by "queues" and the intervals as written.

- the aggregations of each refresh are the plan's (plan_oracle.expected_plan): one per batch and group of reports,
  asking for the union of the group's statistics, by the kind the plan says;
- the queue listing of "auto" stops once the queues have lost (pages of 10 items: 2 of farm 0's 3 pages);
- every report of A equals B's (to 1e-9, all usage series) when both windows hold the same sessions, and each
  report without counter or labels equals the simulator's truth for the window it names: each report shows exactly
  its own statistics (a report without MIN shows no min series); by_show, sharing its rows with a plain report,
  equals them merged by its labels (labels_oracle);
- deadline_cloud_exporter_report_resources names the kind each report's refresh asked by;
- a group is refreshed on the shortest interval of its reports;
- "auto" (written or the default) on a farm that lists both its queues and its fleets: --check-config names the
  file and the line, and start-up refuses it.
"""

import math
import os
import subprocess
import sys

import harness
import labels_oracle
import plan_oracle
from plan_oracle import PlanReport

PAGE_CAP = 10  # items per listing page, so that a listing has pages to stop early on
EXTRA = [
    PlanReport("queue_sums", ["QUEUE_ID"], "month", ["SUM"], interval="1h"),
    PlanReport("queue_extremes", ["QUEUE_ID"], "month", ["MIN", "MAX"], interval="20s"),
    PlanReport("top_queues", ["QUEUE_ID", "USAGE_TYPE"], "month", ["SUM"], limit=3, interval="1h"),
    # by_show's aggregation, every job shown: a labelled report and a plain one from the same rows
    PlanReport("jobs", ["JOB_ID", "USAGE_TYPE"], "month", ["SUM", "MAX"], interval="1h"),
]
# by_show's rules, for the labels' oracle (labels_oracle: Python's re and Go's $-expansion)
SHOW_RULES = [labels_oracle.Rule("show", "job_name", "([a-z0-9]+)_.*", "$1", "unknown"),
              labels_oracle.Rule("department", "job_name", ".*_(anim|comp|fx|lgt|lookdev)_.*", "$1", "other"),
              labels_oracle.Rule("production", "queue_name", "(.+) - .*", "$1", "unknown")]
REPORTS = plan_oracle.FIVE_REPORTS + EXTRA
KIND_METRIC = "deadline_cloud_exporter_report_resources"
# inventory once (by_show's production label needs it), nothing else in the background
INVENTORY = 'inventory = { enabled = true; interval = "1h"; budgets = false; };\n'


def check_plan(t, who, sim, farms, aggregations, since, resources=None):
    """Each farm's first refresh of each group: the plan's aggregations, and nothing else."""
    for farm in farms:
        fid, nq, nf = farm["farmId"], len(farm["queueIds"]), len(farm["fleetIds"])
        plan = plan_oracle.expected_plan(REPORTS, nq, nf, resources)
        got = plan_oracle.first_refreshes(aggregations, fid, since)
        expected = {}
        for g in plan:
            lead = g.members[0]
            sig = (g.kind, tuple(lead.group_by), frozenset(g.statistics), lead.timezone, lead.period)
            expected[sig] = g
        what = "%s, farm %s (%d queues, %d fleets)" % (who, fid[:13], nq, nf)
        t.check(set(got) == set(expected), "%s: one refresh per group of reports, %d groups" % (what, len(plan)),
                "got %s" % sorted((k[0], k[1], sorted(k[2])) for k in got),
                "expected %s" % sorted((k[0], k[1], sorted(k[2])) for k in expected))
        for sig, g in expected.items():
            aggs = got.get(sig, [])
            ids = sorted(i for a in aggs for i in harness.aggregation_ids(a))
            every = sorted(farm["queueIds"] if g.kind == "queues" else farm["fleetIds"])
            t.check(len(aggs) == g.batches and ids == every,
                    "%s: %s share %d aggregation(s) by %s covering all %d, asking %s" % (
                        what, "+".join(g.names()), g.batches, g.kind, len(every), sorted(g.statistics)),
                    "got %d aggregations of %d ids" % (len(aggs), len(ids)))


def check_listing(t, sim, farm, before):
    """Farm 0's refreshes of "auto" list the fleets whole and the queues only until they lose."""
    fid, nq, nf = farm["farmId"], len(farm["queueIds"]), len(farm["fleetIds"])
    counts = {"ListQueues": 0, "ListFleets": 0}
    for e in sim.request_log_entries()[before:]:
        if e["operation"] in counts and ("/farms/%s/" % fid) in e["uri"]:
            counts[e["operation"]] += 1
    plan = plan_oracle.expected_plan(REPORTS, nq, nf)
    auto_groups = sum(1 for g in plan if g.members[0].resources == "auto")
    fleet_groups = len(plan) - auto_groups
    pages = lambda n: max(1, math.ceil(n / PAGE_CAP))  # noqa: E731
    worth = plan_oracle.batches(nf) * plan_oracle.PER_BATCH  # queues beyond this lose to the fleets
    queue_pages = min(pages(nq), worth // PAGE_CAP + 1)
    # the inventory lists each kind whole once; "fleets" groups list the fleets; "auto" groups both kinds
    expected = {"ListQueues": pages(nq) + auto_groups * queue_pages,
                "ListFleets": pages(nf) * (1 + fleet_groups + auto_groups)}
    t.check(counts == expected, "farm %s: the queue listing of \"auto\" stops after %d of its %d pages" % (
        fid[:13], queue_pages, pages(nq)), "got %s, expected %s" % (counts, expected))


def check_kinds(t, who, expo, farms, resources=None):
    """report_resources: 1 for the kind the last refresh asked by, 0 for the other."""
    for farm in farms:
        kind = plan_oracle.auto_kind(len(farm["queueIds"]), len(farm["fleetIds"])) if resources is None \
            else resources
        for r in REPORTS:
            used = kind if r.resources == "auto" else r.resources
            values = {k: expo.value(KIND_METRIC, {"farm_id": farm["farmId"], "report": r.name, "kind": k})
                      for k in ("queues", "fleets")}
            t.check(values == {k: (1.0 if k == used else 0.0) for k in values},
                    "%s: %s/%s asked by %s" % (who, farm["farmId"][:13], r.name, used), values)


def check_labels(t, who, fid, sessions, expo, queue_names):
    """by_show, sharing its aggregation with a plain report: its figures merged by its own labels, to 1e-9 (a counter
    report's sums may be counters: compared by the figures, whatever their names)."""
    r = [r for r in REPORTS if r.name == "by_show"][0]
    report = labels_oracle.LabelledReport(r.name, r.group_by, SHOW_RULES, keep=r.keep, statistics=r.statistics,
                                          window=r.window)
    start, end = plan_oracle.window(expo, fid, r.name)
    expected = labels_oracle.expected_samples(sessions, fid, report, queue_names, start, end)
    counters = {harness.USAGE_COST + "_total": harness.USAGE_COST, harness.USAGE_RUNTIME + "_total":
                harness.USAGE_RUNTIME, harness.USAGE_SESSIONS + "_total": harness.USAGE_SESSIONS}
    got = {(counters.get(m, m), labels): v for (m, labels), v in plan_oracle.usage_series(expo, fid, r.name).items()}
    diffs = harness.compare_samples(got, expected)
    t.check(got and not diffs, "%s %s/by_show: %d figures merged by its labels from the shared rows" % (
        who, fid[:13], len(got)), *diffs)


def check_figures(t, sim, farms, expo_a, expo_b, queue_names):
    """A equals B wherever their windows hold the same sessions; each plain report equals the simulator's truth."""
    for farm in farms:
        fid = farm["farmId"]
        sessions = sim.sessions(fid)
        check_labels(t, "A", fid, sessions, expo_a, queue_names[fid])
        check_labels(t, "B", fid, sessions, expo_b, queue_names[fid])
        kind_a = plan_oracle.auto_kind(len(farm["queueIds"]), len(farm["fleetIds"]))
        for r in REPORTS:
            what = "%s/%s" % (fid[:13], r.name)
            got_a, got_b = plan_oracle.usage_series(expo_a, fid, r.name), plan_oracle.usage_series(expo_b, fid, r.name)
            win_a, win_b = plan_oracle.window(expo_a, fid, r.name), plan_oracle.window(expo_b, fid, r.name)
            in_a = {id(s) for s in sessions if win_a[0] <= float(s["startTime"]) < win_a[1]}
            in_b = {id(s) for s in sessions if win_b[0] <= float(s["startTime"]) < win_b[1]}
            if in_a == in_b:
                diffs = harness.compare_samples(got_a, got_b)
                t.check(got_a and not diffs, "%s: \"auto\" (by %s) equals \"queues\": %d series to 1e-9" % (
                    what, kind_a if r.resources == "auto" else r.resources, len(got_a)), *diffs)
            else:
                t.note("%s: the windows %s and %s hold different sessions: compared with the truth only"
                       % (what, win_a, win_b))
            if not r.plain():
                continue
            for who, got, win, kind in (("A", got_a, win_a, kind_a), ("B", got_b, win_b, "queues")):
                kind = kind if r.resources == "auto" else r.resources
                ids = farm["queueIds"] if kind == "queues" else farm["fleetIds"]
                expected = harness.expected_samples(sessions, fid, r.harness_report(kind), ids, win[0], win[1])
                diffs = harness.compare_samples(got, expected)
                t.check(not diffs, "%s %s: %d series equal the truth of [%s, %s), its own statistics only" % (
                    who, what, len(got), win[0], win[1]), *diffs)


def check_own_statistics(t, expo, farm_id):
    """The two reports of one aggregation show different families: each its own statistics."""
    def families(report):
        return {name for (name, _) in plan_oracle.usage_series(expo, farm_id, report)}
    sums, extremes = families("queue_sums"), families("queue_extremes")
    t.check(sums == {harness.USAGE_COST, harness.USAGE_RUNTIME, harness.USAGE_SESSIONS},
            "queue_sums (SUM) shows the sums and the sessions only", sorted(sums))
    t.check(extremes == {harness.USAGE_SESSIONS} | {harness.USAGE_FIGURE_METRICS[(f, s)]
                                                     for f in ("cost", "runtime") for s in ("MIN", "MAX")},
            "queue_extremes (MIN, MAX) shows the minima, maxima and sessions only", sorted(extremes))


TWO_LISTS = ('farms = ( { id = "farm-0123456789abcdef0123456789abcdef";'
             ' queues = [ "queue-%s" ]; fleets = [ "fleet-%s" ]; } );\n' % ("0" * 32, "1" * 32))


def check_two_lists(t):
    """"auto" over two lists is refused with the file and the line of the report (or of its resources)."""
    cases = [("default", 'reports = ( {\n  name = "r";\n  window = "month"; group_by = [ "QUEUE_ID" ]; } );\n', 2,
              'reports[0]: resources is "auto" (the default), but farms[0]'),
             ("written", 'reports = ( { name = "r"; window = "month"; group_by = [ "QUEUE_ID" ];\n\n'
              '  resources = "auto"; } );\n', 4, 'reports[0]: resources is "auto", but farms[0]')]
    for name, reports, line, reason in cases:
        path = os.path.join(t.workdir, "two-lists-%s.conf" % name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(TWO_LISTS + reports)
        for args in (["--check-config", "-c", path], ["-c", path]):
            p = subprocess.run([harness.env_path("EXPORTER")] + args, env=harness.hermetic_env(t.workdir),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
            out = p.stdout.decode("utf-8", "replace")
            t.check(p.returncode == 1 and ("%s:%d: %s" % (path, line, reason)) in out,
                    "auto with both lists (%s), %s: status 1 and %s:%d" % (name, args[0], os.path.basename(path),
                                                                            line), "status %d" % p.returncode, out)


def main():
    with harness.Test("plan") as t:
        check_two_lists(t)
        sim = harness.Simulator(t.workdir, "--queues", "30", "--fleets", "4", "--page-size-cap", str(PAGE_CAP),
                                request_log=True)
        all_farms = sim.farms()
        farms = [all_farms[0], all_farms[2]]
        t.check(len(farms[0]["queueIds"]) == 30 and len(farms[0]["fleetIds"]) == 4
                and len(farms[1]["queueIds"]) == 3 and len(farms[1]["fleetIds"]) == 1,
                "the farms have 30 queues and 4 fleets, 3 queues and 1 fleet")
        farm_ids = [f["farmId"] for f in farms]
        program = harness.env_path("EXPORTER")

        since = sim._json("GET", "/__sim/aggregations")["now"]
        exp_a = plan_oracle.Exporter(t.workdir, "exporter-auto", program, sim.url, farm_ids, REPORTS, interval="1h",
                                     extra=INVENTORY)
        expo_a = exp_a.wait_all_up(timeout=240)
        harness.wait_for("farm inventories listed", lambda: all(
            exp_a.scrape().value("deadline_cloud_exporter_inventory_up", {"farm_id": f}) == 1 for f in farm_ids),
            60, alive=[exp_a.proc])
        check_plan(t, "auto", sim, farms, sim.aggregations(), since)
        check_kinds(t, "auto", expo_a, farms)
        check_own_statistics(t, expo_a, farm_ids[0])
        check_listing(t, sim, farms[0], 0)
        t.check(exp_a.stop() == 0, "exporter A stops cleanly")

        since = sim._json("GET", "/__sim/aggregations")["now"]
        exp_b = plan_oracle.Exporter(t.workdir, "exporter-queues", program, sim.url, farm_ids, REPORTS,
                                     resources="queues", extra=INVENTORY)
        expo_b = exp_b.wait_all_up(timeout=240)
        check_plan(t, "queues", sim, farms, sim.aggregations(), since, resources="queues")
        check_kinds(t, "queues", expo_b, farms, resources="queues")
        inventory = sim._json("GET", "/__sim/inventory")
        queue_names = {f["farmId"]: {q["queueId"]: q["displayName"] for q in f["queues"]} for f in inventory["farms"]}
        check_figures(t, sim, farms, expo_a, expo_b, queue_names)
        # queue_extremes (20 s) takes queue_sums (1 h) along: the group runs on the shorter interval
        key = {"farm_id": farm_ids[0], "report": "queue_sums"}
        first = expo_b.value("deadline_cloud_exporter_report_last_success_timestamp_seconds", key)
        harness.wait_for("queue_sums refreshed with queue_extremes", lambda: (exp_b.scrape().value(
            "deadline_cloud_exporter_report_last_success_timestamp_seconds", key) or 0) > first, 90,
            alive=[exp_b.proc])
        t.ok("queue_sums, of interval 1h, is refreshed with queue_extremes, of 20s")
        t.check(exp_b.stop() == 0, "exporter B stops cleanly")
    return t.status


if __name__ == "__main__":
    sys.exit(main())
