#!/usr/bin/env python3
"""test_inventory: the exporter's farm inventory against the simulator's /__sim/inventory, figure for figure, and
what a failed listing leaves behind."""

import os
import sys
import time

import harness
from harness import Report

INTERVAL = 10  # inventory.interval and the report's interval: the shortest the configuration allows
REPORT = Report("queue_cost", ["QUEUE_ID"], ["SUM"], window="month", interval="%ds" % INTERVAL)
INVENTORY = 'inventory = { enabled = true; interval = "%ds"; budgets = %s; };\n'
STEP = 5

# The enums the exporter knows: every state set has one series per value (contract.md, "Farm inventory").
QUEUE_STATUSES = ("IDLE", "SCHEDULING", "SCHEDULING_BLOCKED")
FLEET_STATUSES = ("ACTIVE", "CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "CREATE_FAILED", "UPDATE_FAILED", "SUSPENDED")
AUTOSCALING_STATUSES = ("GROWING", "STEADY", "SHRINKING")
BUDGET_STATUSES = ("ACTIVE", "INACTIVE")

INVENTORY_METRICS = (
    "deadline_cloud_farm_info", "deadline_cloud_farm_cost_scale_factor",
    "deadline_cloud_queue_info", "deadline_cloud_queue_status", "deadline_cloud_queue_blocked_reason",
    "deadline_cloud_fleet_info", "deadline_cloud_fleet_status", "deadline_cloud_fleet_autoscaling_status",
    "deadline_cloud_fleet_workers", "deadline_cloud_fleet_workers_target", "deadline_cloud_fleet_workers_min",
    "deadline_cloud_fleet_workers_max",
    "deadline_cloud_budget_info", "deadline_cloud_budget_limit_usd", "deadline_cloud_budget_usage_usd",
    "deadline_cloud_budget_status", "deadline_cloud_budget_start_timestamp_seconds",
    "deadline_cloud_budget_end_timestamp_seconds", "deadline_cloud_budget_action_threshold_ratio",
    "deadline_cloud_budget_queue_stopped_timestamp_seconds",
    "deadline_cloud_user_info",
)
UP = "deadline_cloud_exporter_inventory_up"
LAST = "deadline_cloud_exporter_inventory_last_success_timestamp_seconds"
REPORT_LAST = "deadline_cloud_exporter_report_last_success_timestamp_seconds"
INVENTORY_OPERATIONS = ("GetFarm", "ListBudgets", "GetBudget")


def key(metric, **labels):
    return (metric, tuple(sorted(labels.items())))


def state_set(out, metric, known, current, **labels):
    for v in known:
        out[key(metric, status=v, **labels)] = 1.0 if v == current else 0.0
    if current not in known:
        out[key(metric, status=current, **labels)] = 1.0


def expected_inventory(inv, budgets=True):
    """{(metric, labels): value} of every inventory series /__sim/inventory implies."""
    out = {}
    for farm in inv["farms"]:
        f = farm["farmId"]
        # the account: STS answers none here (test_accounts has one); the region: the exporter's
        out[key("deadline_cloud_farm_info", farm_id=f, farm_name=farm["displayName"], account_id="",
                region=harness.REGION)] = 1.0
        if "costScaleFactor" in farm:
            out[key("deadline_cloud_farm_cost_scale_factor", farm_id=f)] = float(farm["costScaleFactor"])
        for q in farm["queues"]:
            ids = {"farm_id": f, "queue_id": q["queueId"]}
            out[key("deadline_cloud_queue_info", queue_name=q["displayName"], **ids)] = 1.0
            state_set(out, "deadline_cloud_queue_status", QUEUE_STATUSES, q["status"], **ids)
            if "blockedReason" in q:
                out[key("deadline_cloud_queue_blocked_reason", reason=q["blockedReason"], **ids)] = 1.0
        for fl in farm["fleets"]:
            ids = {"farm_id": f, "fleet_id": fl["fleetId"]}
            out[key("deadline_cloud_fleet_info", fleet_name=fl["displayName"], **ids)] = 1.0
            state_set(out, "deadline_cloud_fleet_status", FLEET_STATUSES, fl["status"], **ids)
            if "autoScalingStatus" in fl:
                state_set(out, "deadline_cloud_fleet_autoscaling_status", AUTOSCALING_STATUSES,
                          fl["autoScalingStatus"], **ids)
            for member, metric in (("workerCount", "deadline_cloud_fleet_workers"),
                                   ("targetWorkerCount", "deadline_cloud_fleet_workers_target"),
                                   ("minWorkerCount", "deadline_cloud_fleet_workers_min"),
                                   ("maxWorkerCount", "deadline_cloud_fleet_workers_max")):
                if member in fl:
                    out[key(metric, **ids)] = float(fl[member])
        if not budgets:
            continue
        for b in farm["budgets"]:
            ids = {"farm_id": f, "budget_id": b["budgetId"]}
            out[key("deadline_cloud_budget_info", budget_name=b["displayName"],
                    queue_id=b["usageTrackingResource"]["queueId"], **ids)] = 1.0
            out[key("deadline_cloud_budget_limit_usd", **ids)] = float(b["approximateDollarLimit"])
            out[key("deadline_cloud_budget_usage_usd", **ids)] = float(b["usages"]["approximateDollarUsage"])
            state_set(out, "deadline_cloud_budget_status", BUDGET_STATUSES, b["status"], **ids)
            out[key("deadline_cloud_budget_start_timestamp_seconds", **ids)] = float(b["startTimeSeconds"])
            out[key("deadline_cloud_budget_end_timestamp_seconds", **ids)] = float(b["endTimeSeconds"])
            lowest = {}
            for a in b["actions"]:
                lowest[a["type"]] = min(lowest.get(a["type"], a["thresholdPercentage"]), a["thresholdPercentage"])
            for kind, pct in lowest.items():
                out[key("deadline_cloud_budget_action_threshold_ratio", type=kind, **ids)] = pct / 100.0
            if b.get("queueStoppedAtSeconds") is not None:
                out[key("deadline_cloud_budget_queue_stopped_timestamp_seconds", **ids)] = \
                    float(b["queueStoppedAtSeconds"])
    return out


def scraped_inventory(expo, farm_id=None):
    return {s.key(): s.value for s in expo.samples
            if s.name in INVENTORY_METRICS and (farm_id is None or s.labels.get("farm_id") == farm_id)}


def exact_diffs(got, expected, limit=8):
    """Differences, values compared exactly (== on doubles: the exporter must print round-trip digits)."""
    diffs = ["missing %s%s = %r" % (k[0], dict(k[1]), expected[k]) for k in sorted(set(expected) - set(got))]
    diffs += ["unexpected %s%s = %r" % (k[0], dict(k[1]), got[k]) for k in sorted(set(got) - set(expected))]
    diffs += ["%s%s = %r, expected %r" % (k[0], dict(k[1]), got[k], expected[k])
              for k in sorted(set(got) & set(expected)) if got[k] != expected[k]]
    return diffs[:limit] + (["… %d more differences" % (len(diffs) - limit)] if len(diffs) > limit else [])


def served(stats, op, code=None):
    codes = (stats.get("requests") or {}).get(op) or {}
    return sum(int(n) for c, n in codes.items() if code is None or c == str(code))


def pin(sim, step):
    return sim._json("POST", "/__sim/inventory", {"step": step})


def wait_inventory(t, exp, farm_ids, what, pred, timeout):
    """Waits until pred(expo) holds (then returns the exposition), checking that it did."""
    try:
        return harness.wait_for(what, lambda: (lambda e: e if pred(e) else None)(exp.scrape()[2]), timeout,
                                interval=0.5, alive=[exp.proc])
    except harness.Failure as e:
        t.check(False, what, e)
        return exp.scrape()[2]


def check_state_sets(t, expo):
    """Each state set: one series per known value with exactly one at 1 per object."""
    for metric, ident, known in (("deadline_cloud_queue_status", "queue_id", QUEUE_STATUSES),
                                 ("deadline_cloud_fleet_status", "fleet_id", FLEET_STATUSES),
                                 ("deadline_cloud_fleet_autoscaling_status", "fleet_id", AUTOSCALING_STATUSES),
                                 ("deadline_cloud_budget_status", "budget_id", BUDGET_STATUSES)):
        objects = {}
        for s in expo.series(metric):
            objects.setdefault((s.labels["farm_id"], s.labels[ident]), []).append(s)
        bad = [o for o, ss in objects.items()
               if sorted(s.labels["status"] for s in ss) != sorted(known) or sum(s.value for s in ss) != 1]
        t.check(objects and not bad, "%s: %d objects, each with one series per known value and exactly one at 1"
                % (metric, len(objects)), *bad[:3])
    blocked = {(s.labels["farm_id"], s.labels["queue_id"]) for s in expo.series("deadline_cloud_queue_status")
               if s.labels["status"] == "SCHEDULING_BLOCKED" and s.value == 1}
    reasons = {(s.labels["farm_id"], s.labels["queue_id"]) for s in expo.series("deadline_cloud_queue_blocked_reason")}
    t.check(blocked and reasons == blocked, "queue_blocked_reason exactly for the %d blocked queues" % len(blocked),
            sorted(reasons ^ blocked)[:3])


def check_hostile(t, inv, expo):
    """The hostile names come back byte for byte once the label values are unescaped."""
    names = []
    for farm in inv["farms"]:
        names.append(("farm_name", farm["displayName"]))
        names += [("queue_name", q["displayName"]) for q in farm["queues"]]
        names += [("fleet_name", f["displayName"]) for f in farm["fleets"]]
        names += [("budget_name", b["displayName"]) for b in farm["budgets"]]
    scraped = {(k, v) for s in expo.samples if s.name in INVENTORY_METRICS for k, v in s.labels.items()}
    for kind, has in (("a double quote", lambda n: '"' in n), ("a backslash", lambda n: "\\" in n),
                      ("a newline", lambda n: "\n" in n), ("UTF-8 of 4 bytes", lambda n: any(ord(c) > 0xffff for c in n))):
        hostile = [(label, n) for label, n in names if has(n)]
        missing = [n for n in hostile if n not in scraped]
        t.check(hostile and not missing, "%d names with %s round-trip through label escaping" % (len(hostile), kind),
                *missing[:3])
    for label in ("farm_name", "queue_name", "fleet_name", "budget_name"):
        t.check(any(l == label and '"' in n and "\\" in n for l, n in names),
                "the simulator has a %s with a quote and a backslash" % label)


def check_health(t, exp, expo, farm_ids, since):
    for farm in farm_ids:
        up = expo.value(UP, {"farm_id": farm})
        last = expo.value(LAST, {"farm_id": farm})
        t.check(up == 1, "inventory_up{farm_id=%s} = 1" % farm[:13], up)
        t.check(last is not None and since - 1 <= last <= time.time() + 1,
                "inventory last success of %s is between %d and now" % (farm[:13], since), last)


def compare_all(t, sim, expo, what, budgets=True):
    inv = sim._json("GET", "/__sim/inventory")
    diffs = exact_diffs(scraped_inventory(expo), expected_inventory(inv, budgets))
    t.check(not diffs, "%s: every inventory series equals /__sim/inventory (step %s, %d series)"
            % (what, inv["step"], len(expected_inventory(inv, budgets))), *diffs)
    return inv


def matches_step(sim_inv, farm_ids):
    expected = expected_inventory(sim_inv)

    def pred(expo):
        return all(expo.value(UP, {"farm_id": f}) == 1 for f in farm_ids) and scraped_inventory(expo) == expected
    return pred


def check_usage_alongside(t, sim, exp, farm_ids):
    """The inventory has no part in the farm's aggregation slot: with the farm busy (every Start refused) its
    inventory still lists on schedule, and otherwise both keep their schedules."""
    _, _, expo = exp.scrape()
    t0 = {f: (expo.value(REPORT_LAST, {"farm_id": f, "report": REPORT.name}), expo.value(LAST, {"farm_id": f}))
          for f in farm_ids}

    def both_moved(e):
        return all((e.value(REPORT_LAST, {"farm_id": f, "report": REPORT.name}) or 0) > t0[f][0] and
                   (e.value(LAST, {"farm_id": f}) or 0) > t0[f][1] and e.value(UP, {"farm_id": f}) == 1
                   for f in farm_ids)
    began = time.time()
    wait_inventory(t, exp, farm_ids, "every farm's usage refresh and inventory listing complete again", both_moved,
                   3 * INTERVAL)
    t.check(time.time() - began <= 2 * INTERVAL + 5, "both on schedule (%.1fs for the next of each)"
            % (time.time() - began))
    busy = farm_ids[0]
    sim._json("POST", "/__sim/busy", {"farmId": busy, "seconds": 3 * INTERVAL})
    began = time.time()
    before = exp.scrape()[2].value(LAST, {"farm_id": busy})
    expo = wait_inventory(t, exp, farm_ids, "the inventory of a busy farm lists again",
                          lambda e: (e.value(LAST, {"farm_id": busy}) or 0) > before, 3 * INTERVAL)
    t.check(time.time() - began < 3 * INTERVAL, "the busy farm's inventory listed within %ds" % (3 * INTERVAL),
            time.time() - began)
    t.check(expo.value(UP, {"farm_id": busy}) == 1, "inventory_up stays 1 while the farm is busy")
    # The inventory may list before the usage refresh reaches its Start (a slow build, valgrind): the farm stays
    # busy until a Start was refused, or its 3 intervals are over.
    try:
        refused = harness.wait_for("the busy farm refuses a usage refresh's Start",
                                   lambda: sim.stats().get("concurrentStartsRefused", 0) > 0,
                                   max(1.0, began + 3 * INTERVAL - time.time()), interval=0.5, alive=[exp.proc])
    except harness.Failure as e:
        refused = t.check(False, str(e))
    sim._json("POST", "/__sim/busy", {"farmId": busy, "seconds": 0})
    aggs = sorted((a for a in sim.aggregations() if a.get("farmId") == busy), key=lambda a: a["startedAt"])
    overlaps = [(a["aggregationId"], b["aggregationId"]) for a, b in zip(aggs, aggs[1:])
                if a.get("completedAt") is None or b["startedAt"] < a["completedAt"]]
    t.check(not overlaps, "the busy farm never had two aggregations at once", overlaps[:3])
    t.check(refused and sim.stats().get("concurrentStartsRefused", 0) > 0,
            "the busy farm did refuse the usage refresh's Start")


def check_fault(t, sim, exp, farm_ids, fault, what, unchanged_after=None):
    """A listing that keeps failing: inventory_up 0, the previous inventory kept, usage untouched; then cleared."""
    farm = farm_ids[0]
    _, _, expo = exp.scrape()
    kept = scraped_inventory(expo, farm)
    last = expo.value(LAST, {"farm_id": farm})
    report_last = expo.value(REPORT_LAST, {"farm_id": farm, "report": REPORT.name})
    sim._json("POST", "/__sim/faults", dict(fault, farmId=farm, count=1000))
    if unchanged_after is not None:
        pin(sim, unchanged_after)  # what the exporter would now list, were it able to
    expo = wait_inventory(t, exp, farm_ids, "%s: inventory_up{%s} turns 0" % (what, farm[:13]),
                          lambda e: e.value(UP, {"farm_id": farm}) == 0, 4 * INTERVAL)
    # stay in the failure past a whole report interval: usage must go on
    deadline = time.time() + INTERVAL + 5
    exp.wait_all_up(timeout=4 * INTERVAL, since=report_last + 1)
    while time.time() < deadline:
        time.sleep(0.5)
    _, text, expo = exp.scrape()
    diffs = exact_diffs(scraped_inventory(expo, farm), kept)
    t.check(expo.value(UP, {"farm_id": farm}) == 0, "%s: inventory_up stays 0 while it fails" % what)
    t.check(not diffs, "%s: the previous inventory of the farm is kept (%d series)" % (what, len(kept)), *diffs)
    t.check(expo.value(LAST, {"farm_id": farm}) == last, "%s: the last success timestamp stays" % what,
            last, expo.value(LAST, {"farm_id": farm}))
    for f in farm_ids[1:]:
        t.check(expo.value(UP, {"farm_id": f}) == 1, "%s: the other farm %s stays up" % (what, f[:13]))
    for f in farm_ids:
        t.check(expo.value("deadline_cloud_exporter_report_up", {"farm_id": f, "report": REPORT.name}) == 1,
                "%s: report_up of %s stays 1" % (what, f[:13]))
    t.check((expo.value(REPORT_LAST, {"farm_id": farm, "report": REPORT.name}) or 0) > report_last,
            "%s: the usage refresh of the failing farm still completes" % what)
    checked = harness.promtool_check(text)
    if checked is not None:
        t.check(checked == (0, ""), "%s: `promtool check metrics` prints nothing" % what, checked)
    sim._json("POST", "/__sim/faults", {"mode": "clear"})
    cleared = time.time()
    inv = sim._json("GET", "/__sim/inventory")
    expo = wait_inventory(t, exp, farm_ids, "%s: after the fault clears inventory_up returns to 1 with the "
                          "current inventory" % what, matches_step(inv, farm_ids), 4 * INTERVAL)
    t.check((expo.value(LAST, {"farm_id": farm}) or 0) >= cleared - 1,
            "%s: a new last success timestamp" % what, expo.value(LAST, {"farm_id": farm}), cleared)


def run_main(t):
    sim = harness.Simulator(t.workdir, "--aggregation-delay", "100", "--page-size-cap", "3", "--quiet")
    farm_ids = [f["farmId"] for f in sim.farms()]
    inv = pin(sim, STEP)
    t.check(inv["pinned"] and inv["step"] == STEP, "the simulator's inventory clock is pinned at %d" % STEP, inv["step"])
    n_budgets = [len(f["budgets"]) for f in inv["farms"]]
    t.check(max(n_budgets) > 3 * 2, "budgets span several pages of 3 (%s)" % n_budgets)

    exp = harness.Exporter(t.workdir, sim, farm_ids, [REPORT], extra_config=INVENTORY % (INTERVAL, "true"))
    exp.wait_ready(timeout=120)
    expo = wait_inventory(t, exp, farm_ids, "inventory_up = 1 for every farm",
                          lambda e: all(e.value(UP, {"farm_id": f}) == 1 for f in farm_ids), 60)
    exp.wait_all_up(timeout=60)
    _, text, expo = exp.scrape()
    inv = compare_all(t, sim, expo, "first listing")
    check_state_sets(t, expo)
    check_hostile(t, inv, expo)
    check_health(t, exp, expo, farm_ids, exp.started_at)
    t.check(not expo.series("deadline_cloud_user_info"), "no user_info without identity_store")
    checked = harness.promtool_check(text)
    if checked is None:
        t.note("promtool is not installed: skipping `promtool check metrics`")
    else:
        t.check(checked == (0, ""), "`promtool check metrics` prints nothing for the whole output", checked)
    for name in INVENTORY_METRICS[:-1] + (UP, LAST):
        fam = expo.families.get(name)
        t.check(fam is not None and fam.type == "gauge" and fam.help, "%s is a gauge with HELP" % name)
    stats = sim.stats()
    pages = sum(-(-n // 3) or 1 for n in n_budgets)
    t.check(served(stats, "ListBudgets", 200) >= pages,
            "ListBudgets followed nextToken: %d pages served, at least %d per listing" % (
                served(stats, "ListBudgets", 200), pages))
    t.check(served(stats, "GetBudget", 200) >= sum(n_budgets), "GetBudget for every budget",
            served(stats, "GetBudget", 200), sum(n_budgets))
    for op in INVENTORY_OPERATIONS:
        got = {x.labels["farm_id"]: x.value
               for x in expo.series("deadline_cloud_exporter_api_requests_total", operation=op, code="200")}
        # declared at 0 for each farm from the start (a farm without budgets never calls GetBudget)
        t.check(len(got) == len(inv["farms"]) and sum(got.values()) > 0,
                "api_requests_total counts %s, one series per farm" % op, got)

    # the fleets move with the clock: the next listing shows the new step's counts
    old = {(f["farmId"], fl["fleetId"]): fl["workerCount"] for f in inv["farms"] for fl in f["fleets"]}
    inv = pin(sim, STEP + 1)
    moved = [k for f in inv["farms"] for fl in f["fleets"] for k in [(f["farmId"], fl["fleetId"])]
             if fl["workerCount"] != old[k]]
    t.check(moved, "the simulator's step %d changes some fleet's workerCount" % (STEP + 1))
    began = time.time()
    expo = wait_inventory(t, exp, farm_ids, "the next listing shows step %d's fleets" % (STEP + 1),
                          matches_step(inv, farm_ids), 3 * INTERVAL)
    took = time.time() - began
    t.check(took <= 2 * INTERVAL + 5, "the new worker counts show within an inventory interval (%.1fs)" % took)
    compare_all(t, sim, expo, "after the step")

    check_usage_alongside(t, sim, exp, farm_ids)
    check_fault(t, sim, exp, farm_ids, {"mode": "error_500", "operation": "GetFarm"}, "GetFarm answering 500",
                unchanged_after=STEP + 2)
    check_fault(t, sim, exp, farm_ids, {"mode": "access_denied", "operation": "ListBudgets"},
                "ListBudgets denied", unchanged_after=STEP + 3)
    _, text, expo = exp.scrape()
    compare_all(t, sim, expo, "after the faults")
    t.check(exp.proc.alive(), "the exporter is still running")
    t.check(exp.proc.stop() == 0, "the exporter stops cleanly")
    sim.proc.stop()


def run_no_budgets(t):
    """inventory.budgets = false: no budget series and neither ListBudgets nor GetBudget."""
    workdir = os.path.join(t.workdir, "no-budgets")  # its own port file and logs
    os.mkdir(workdir)
    sim = harness.Simulator(workdir, "--aggregation-delay", "100", "--quiet")
    farm_ids = [f["farmId"] for f in sim.farms()]
    pin(sim, STEP)
    exp = harness.Exporter(workdir, sim, farm_ids, [REPORT], extra_config=INVENTORY % (INTERVAL, "false"))
    exp.wait_ready(timeout=120)
    wait_inventory(t, exp, farm_ids, "budgets = false: inventory_up = 1 for every farm",
                   lambda e: all(e.value(UP, {"farm_id": f}) == 1 for f in farm_ids), 60)
    # a second listing of every farm, so that "never" covers more than the first
    first = exp.scrape()[2]
    expo = wait_inventory(t, exp, farm_ids, "budgets = false: a second listing",
                          lambda e: all(e.value(LAST, {"farm_id": f}) > first.value(LAST, {"farm_id": f})
                                        for f in farm_ids), 3 * INTERVAL)
    compare_all(t, sim, expo, "budgets = false", budgets=False)
    budget_series = [s.name for s in expo.samples if s.name.startswith("deadline_cloud_budget_")]
    t.check(not budget_series, "budgets = false: no budget series", budget_series[:3])
    stats = sim.stats()
    t.check(served(stats, "ListBudgets") == 0 and served(stats, "GetBudget") == 0,
            "budgets = false: no ListBudgets or GetBudget call",
            stats["requests"].get("ListBudgets"), stats["requests"].get("GetBudget"))
    t.check(served(stats, "GetFarm", 200) >= 2 * len(farm_ids), "budgets = false: GetFarm still listed",
            stats["requests"].get("GetFarm"))
    exp.proc.stop()
    sim.proc.stop()


def main():
    with harness.Test("inventory") as t:
        run_main(t)
        run_no_budgets(t)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
