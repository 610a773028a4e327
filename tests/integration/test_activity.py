#!/usr/bin/env python3
"""test_activity: the farms' live state (the activity section) against the simulator's /__sim/activity while it
changes, figure for figure: workers by status per fleet, active jobs and tasks per queue, the oldest waiting job,
per-job series for the newest activity.jobs jobs, associations, limits, license endpoints; SearchJobs read past
its result window by createdAt thresholds with the repeats dropped; faults (throttling, a 500, AccessDenied on
one operation, a malformed page) keeping the last figures of what failed and nothing else; every request signed as
botocore signs and shaped as the service model says."""

import json
import os
import signal
import sys
import time

import harness
import oracles
from harness import Report

INTERVAL = 10  # activity.interval and the inventory's: the shortest the configuration allows
JOBS = 40  # activity.jobs: fewer than farm 0's active jobs, so the cap shows
OFFSET_CAP = 250  # below farm 0's busiest queue (about 420 active jobs): a read must get past it
PAGE_CAP = 50  # every list and SearchJobs page at most this long: SearchJobs asks from a threshold many times
STEP = 30
# Under ASan or valgrind (tests/run-sanitizers.sh sets DCE_SLOW_BUILD) a round takes longer: waits and the
# latency checks are relaxed, never the figures.
SLOW = 3 if os.environ.get("DCE_SLOW_BUILD") else 1
REPORT = Report("queue_cost", ["QUEUE_ID"], ["SUM"], window="month", interval="1h")
CONFIG = ('activity = { enabled = true; interval = "%ds"; jobs = %d; };\n'
          'inventory = { enabled = %s; interval = "%ds"; };\n')

WORKER_STATUSES = ("CREATED", "STARTED", "STOPPING", "STOPPED", "NOT_RESPONDING", "NOT_COMPATIBLE", "RUNNING", "IDLE")
TASK_STATUSES = ("PENDING", "READY", "ASSIGNED", "STARTING", "SCHEDULED", "INTERRUPTING", "RUNNING", "SUSPENDED",
                 "CANCELED", "FAILED", "SUCCEEDED", "NOT_COMPATIBLE")
ACTIVE = TASK_STATUSES[:8]
ASSOCIATION_STATUSES = ("ACTIVE", "STOP_SCHEDULING_AND_COMPLETE_TASKS", "STOP_SCHEDULING_AND_CANCEL_TASKS", "STOPPED")
LICENSE_ENDPOINT_STATUSES = ("CREATE_IN_PROGRESS", "DELETE_IN_PROGRESS", "READY", "NOT_READY")

UP = "deadline_cloud_exporter_activity_up"
LAST = "deadline_cloud_exporter_activity_last_success_timestamp_seconds"
# the families of each operation: what a failing operation keeps
FAMILIES = {
    "ListWorkers": ("deadline_cloud_fleet_workers_by_status",),
    "SearchJobs": ("deadline_cloud_queue_active_jobs", "deadline_cloud_queue_tasks",
                   "deadline_cloud_queue_oldest_waiting_job_created_timestamp_seconds", "deadline_cloud_job_tasks",
                   "deadline_cloud_job_info"),
    "ListQueueFleetAssociations": ("deadline_cloud_queue_fleet_association_status",),
    "ListLimits": ("deadline_cloud_limit_info", "deadline_cloud_limit_current", "deadline_cloud_limit_max"),
    "ListLicenseEndpoints": ("deadline_cloud_license_endpoint_status",),
}
ACTIVITY_METRICS = tuple(m for ms in FAMILIES.values() for m in ms)
OPERATIONS = tuple(FAMILIES)


def key(metric, **labels):
    return (metric, tuple(sorted(labels.items())))


def state_set(out, metric, known, current, **labels):
    for v in known:
        out[key(metric, status=v, **labels)] = 1.0 if v == current else 0.0
    if current not in known:
        out[key(metric, status=current, **labels)] = 1.0


def newest_first(jobs):
    """Jobs by createdAt (to the millisecond), then job id, newest first: the exporter's order for activity.jobs."""
    return sorted(jobs, key=lambda j: (harness.parse_time(j["createdAt"]), j["jobId"]), reverse=True)


def expected_farm(farm, jobs_cap, families=None):
    """{(metric, labels): value} of one farm's live-state series (families: only those)."""
    out = {}
    f = farm["farmId"]
    for fl in farm["fleets"]:
        for s in WORKER_STATUSES:
            out[key("deadline_cloud_fleet_workers_by_status", farm_id=f, fleet_id=fl["fleetId"], status=s)] = \
                float(fl["workersByStatus"].get(s, 0))
    jobs = []
    for q in farm["queues"]:
        ids = {"farm_id": f, "queue_id": q["queueId"]}
        for s in ACTIVE:
            out[key("deadline_cloud_queue_active_jobs", status=s, **ids)] = float(q["activeJobsByStatus"].get(s, 0))
        for s in TASK_STATUSES:
            out[key("deadline_cloud_queue_tasks", status=s, **ids)] = float(q["tasksByStatus"].get(s, 0))
        if q["oldestWaitingJob"]:
            out[key("deadline_cloud_queue_oldest_waiting_job_created_timestamp_seconds", **ids)] = \
                float(q["oldestWaitingJob"]["createdAtSeconds"])
        jobs += q.get("activeJobs", [])
    for j in newest_first(jobs)[:jobs_cap]:
        ids = {"farm_id": f, "queue_id": j["queueId"], "job_id": j["jobId"], "job_name": j["name"]}
        for s in TASK_STATUSES:
            out[key("deadline_cloud_job_tasks", status=s, **ids)] = float(j.get("taskRunStatusCounts", {}).get(s, 0))
        out[key("deadline_cloud_job_info", user_id=j.get("createdBy", ""), priority=str(j.get("priority", "")),
                **ids)] = 1.0
    for a in farm["associations"]:
        state_set(out, "deadline_cloud_queue_fleet_association_status", ASSOCIATION_STATUSES, a["status"],
                  farm_id=f, queue_id=a["queueId"], fleet_id=a["fleetId"])
    for lim in farm["limits"]:
        ids = {"farm_id": f, "limit_id": lim["limitId"]}
        out[key("deadline_cloud_limit_info", limit_name=lim["displayName"],
                amount_requirement_name=lim["amountRequirementName"], **ids)] = 1.0
        out[key("deadline_cloud_limit_current", **ids)] = float(lim["currentCount"])
        if lim["maxCount"] != -1:
            out[key("deadline_cloud_limit_max", **ids)] = float(lim["maxCount"])
    if families is not None:
        out = {k: v for k, v in out.items() if k[0] in families}
    return out


def expected_license_endpoints(truth):
    out = {}
    for e in truth["licenseEndpoints"]:
        state_set(out, "deadline_cloud_license_endpoint_status", LICENSE_ENDPOINT_STATUSES, e["status"],
                  license_endpoint_id=e["licenseEndpointId"])
    return out


def expected_all(truth, jobs_cap):
    out = expected_license_endpoints(truth)
    for farm in truth["farms"]:
        out.update(expected_farm(farm, jobs_cap))
    return out


def scraped(expo, farm_id=None, families=ACTIVITY_METRICS):
    return {s.key(): s.value for s in expo.samples
            if s.name in families and (farm_id is None or s.labels.get("farm_id") == farm_id)}


def exact_diffs(got, expected, limit=8):
    diffs = ["missing %s%s = %r" % (k[0], dict(k[1]), expected[k]) for k in sorted(set(expected) - set(got))]
    diffs += ["unexpected %s%s = %r" % (k[0], dict(k[1]), got[k]) for k in sorted(set(got) - set(expected))]
    diffs += ["%s%s = %r, expected %r" % (k[0], dict(k[1]), got[k], expected[k])
              for k in sorted(set(got) & set(expected)) if got[k] != expected[k]]
    return diffs[:limit] + (["… %d more differences" % (len(diffs) - limit)] if len(diffs) > limit else [])


def pin(sim, step, both=True):
    """Pins the activity clock (and the inventory's, whose ListFleets sizes ListWorkers follows) at step."""
    if both:
        sim._json("POST", "/__sim/inventory", {"step": step})
    return sim._json("POST", "/__sim/activity", {"step": step})


def served(stats, op, code=None):
    codes = (stats.get("requests") or {}).get(op) or {}
    return sum(int(n) for c, n in codes.items() if code is None or c == str(code))


def wait_expo(t, exp, what, pred, timeout):
    try:
        return harness.wait_for(what, lambda: (lambda e: e if pred(e) else None)(exp.scrape()[2]), SLOW * timeout,
                                interval=0.5, alive=[exp.proc])
    except harness.Failure as e:
        t.check(False, what, e)
        return exp.scrape()[2]


def matches(truth, jobs_cap, farm_ids):
    expected = expected_all(truth, jobs_cap)

    def pred(expo):
        return all(expo.value(UP, {"farm_id": f}) == 1 for f in farm_ids) and scraped(expo) == expected
    return pred


def compare(t, sim, expo, what, jobs_cap):
    truth = sim._json("GET", "/__sim/activity")
    expected = expected_all(truth, jobs_cap)
    diffs = exact_diffs(scraped(expo), expected)
    t.check(not diffs, "%s: every live-state series equals /__sim/activity (step %d, %d series)"
            % (what, truth["step"], len(expected)), *diffs)
    return truth


def check_shapes(t, expo, truth, farm_ids):
    """Every family a gauge with HELP; each state set one series per known value, exactly one at 1."""
    for name in ACTIVITY_METRICS + (UP, LAST):
        fam = expo.families.get(name)
        t.check(fam is not None and fam.type == "gauge" and fam.help, "%s is a gauge with HELP" % name)
    for metric, ident, known in (("deadline_cloud_queue_fleet_association_status", ("queue_id", "fleet_id"),
                                  ASSOCIATION_STATUSES),
                                 ("deadline_cloud_license_endpoint_status", ("license_endpoint_id",),
                                  LICENSE_ENDPOINT_STATUSES)):
        objects = {}
        for s in expo.series(metric):
            objects.setdefault(tuple(s.labels.get(i) for i in ident + ("farm_id",)), []).append(s)
        bad = [o for o, ss in objects.items()
               if sorted(s.labels["status"] for s in ss) != sorted(known) or sum(s.value for s in ss) != 1]
        t.check(objects and not bad, "%s: %d objects, one series per known value, exactly one at 1"
                % (metric, len(objects)), *bad[:3])
    # what the alerts need is there: a limit at its maximum, an unlimited one, a stalled queue, a NOT_RESPONDING fleet
    lims = [lim for f in truth["farms"] for lim in f["limits"]]
    t.check(any(lim["maxCount"] == -1 for lim in lims) and any(lim["currentCount"] >= lim["maxCount"] >= 0
                                                               for lim in lims),
            "the simulator has an unlimited limit and one at its maximum")
    t.check(any(fl["workersByStatus"].get("NOT_RESPONDING") for f in truth["farms"] for fl in f["fleets"]),
            "the simulator has workers NOT_RESPONDING at this step")
    names = {s.labels["job_name"] for s in expo.series("deadline_cloud_job_info")}
    t.check(any('"' in n or "\\" in n or "\n" in n for n in names),
            "a hostile job name among the per-job series comes back byte for byte")


def check_cap(t, expo, truth, farm_ids):
    """activity.jobs: per-job series for the newest JOBS active jobs of each farm; the queue totals count all."""
    for farm in truth["farms"]:
        f = farm["farmId"]
        active = sum(q["activeJobCount"] for q in farm["queues"])
        jobs = {s.labels["job_id"] for s in expo.series("deadline_cloud_job_info") if s.labels["farm_id"] == f}
        want = {j["jobId"] for j in newest_first([j for q in farm["queues"] for j in q["activeJobs"]])[:JOBS]}
        t.check(jobs == want, "%s: per-job series for the %d newest of %d active jobs" % (f[:13], len(want), active),
                len(jobs), len(jobs ^ want))
        counted = sum(s.value for s in expo.series("deadline_cloud_queue_active_jobs") if s.labels["farm_id"] == f)
        t.check(counted == active, "%s: the queue totals count all %d active jobs" % (f[:13], active), counted)
    big = max((q for f in truth["farms"] for q in f["queues"]), key=lambda q: q["activeJobCount"])
    t.check(big["activeJobCount"] > OFFSET_CAP, "a queue with more active jobs (%d) than SearchJobs' result window (%d)"
            % (big["activeJobCount"], OFFSET_CAP))


def check_search_requests(t, sim):
    """SearchJobs as AWS's client asks: itemOffset 0 always, a CREATED_AT threshold after the first page, at most 10
    queues and 3 filters per group; repeats were served and dropped (the figures above are exact)."""
    searches = [json.loads(e["body"]) for e in sim.request_log_entries() if e["uri"].endswith("/search/jobs")]
    t.check(searches, "SearchJobs was called", len(searches))
    offsets = {s.get("itemOffset") for s in searches}
    t.check(offsets == {0}, "every SearchJobs asks from itemOffset 0", offsets)
    thresholds = [s for s in searches if any("dateTimeFilter" in f for f in s["filterExpressions"]["filters"])]
    t.check(len(thresholds) > 2 * OFFSET_CAP // PAGE_CAP,
            "SearchJobs asked again from CREATED_AT thresholds (%d of %d requests)" % (len(thresholds), len(searches)))
    t.check(all(1 <= len(s["queueIds"]) <= 10 for s in searches), "batches of at most 10 queues")

    def groups_ok(g, depth):
        return 1 <= len(g["filters"]) <= 3 and all(depth < 2 or "groupFilter" not in f for f in g["filters"]) and \
            all(groups_ok(f["groupFilter"], depth + 1) for f in g["filters"] if "groupFilter" in f)
    t.check(all(groups_ok(s["filterExpressions"], 1) for s in searches), "at most 3 filters in every group")
    t.check(all(s["sortExpressions"] == [{"fieldSort": {"name": "CREATED_AT", "sortOrder": "ASCENDING"}}]
                for s in searches), "sorted by CREATED_AT ascending")


def check_fault(t, sim, exp, farm_ids, fault, op, what, next_step, jobs_cap, keeps=True):
    """A fault on op of farm 0 until cleared: with keeps, activity_up 0, op's families keep their last values while
    the rest of the farm moves to the next step, the other farms and the usage figures unaffected; without (a fault
    the retries absorb), the round succeeds anyway. Then cleared: every figure matches again."""
    farm = farm_ids[0]
    _, _, expo = exp.scrape()
    kept = scraped(expo, None if op == "ListLicenseEndpoints" else farm, FAMILIES[op])
    report_up = expo.value("deadline_cloud_exporter_report_up", {"farm_id": farm, "report": REPORT.name})
    sim._json("POST", "/__sim/faults", dict(fault, operation=op, farmId="*" if op == "ListLicenseEndpoints" else farm,
                                           count=1000 if keeps else fault.get("count", 2)))
    truth = pin(sim, next_step)
    others = expected_farm([f for f in truth["farms"] if f["farmId"] == farm][0], jobs_cap)
    others = {k: v for k, v in others.items() if k[0] not in FAMILIES[op]}
    if not keeps:
        expo = wait_expo(t, exp, "%s: the retries absorb it, the round matches step %d" % (what, next_step),
                         matches(truth, jobs_cap, farm_ids), 4 * INTERVAL)
        return
    expo = wait_expo(t, exp, "%s: activity_up{%s} turns 0 and the farm's other figures reach step %d"
                     % (what, farm[:13], next_step),
                     lambda e: e.value(UP, {"farm_id": farm}) == 0 and
                     {k: v for k, v in scraped(e, farm).items() if k[0] not in FAMILIES[op]} == others,
                     4 * INTERVAL)
    got = scraped(expo, None if op == "ListLicenseEndpoints" else farm, FAMILIES[op])
    t.check(kept and got == kept, "%s: %s's %d series keep their last values" % (what, op, len(kept)),
            *exact_diffs(got, kept))
    for f in farm_ids[1:]:
        t.check(expo.value(UP, {"farm_id": f}) == 1 or op == "ListLicenseEndpoints",
                "%s: the other farm %s stays up" % (what, f[:13]))
    t.check(expo.value("deadline_cloud_exporter_report_up", {"farm_id": farm, "report": REPORT.name}) == report_up,
            "%s: the usage figures' health is untouched" % what)
    sim._json("POST", "/__sim/faults", {"mode": "clear"})
    truth = sim._json("GET", "/__sim/activity")
    wait_expo(t, exp, "%s: cleared, activity_up returns to 1 with the current figures" % what,
              matches(truth, jobs_cap, farm_ids), 4 * INTERVAL)


def check_busy_farm(t, sim, exp, farm_ids):
    """Never in the aggregation slot: a farm busy with someone else's aggregation still gets its rounds."""
    busy = farm_ids[0]
    before = exp.scrape()[2].value(LAST, {"farm_id": busy})
    sim._json("POST", "/__sim/busy", {"farmId": busy, "seconds": SLOW * 3 * INTERVAL})
    began = time.time()
    expo = wait_expo(t, exp, "the live state of a busy farm is read again",
                     lambda e: (e.value(LAST, {"farm_id": busy}) or 0) > before, 3 * INTERVAL)
    t.check(time.time() - began < SLOW * 3 * INTERVAL, "a round of the busy farm within %ds" % (SLOW * 3 * INTERVAL))
    t.check(expo.value(UP, {"farm_id": busy}) == 1, "activity_up stays 1 while the farm is busy")
    sim._json("POST", "/__sim/busy", {"farmId": busy, "seconds": 0})


def reload_with(exp, jobs):
    """Rewrites the configuration with activity.jobs = jobs, sends SIGHUP and waits for it to be applied."""
    with open(exp.config_path, encoding="utf-8") as f:
        text = f.read()
    start = text.index("activity = {")
    end = text.index("};", start) + 2
    text = text[:start] + ('activity = { enabled = true; interval = "%ds"; jobs = %d; };' % (INTERVAL, jobs)) + \
        text[end:]
    with open(exp.config_path, "w", encoding="utf-8") as f:
        f.write(text)
    done = len([line for line in exp.log_text().splitlines() if "op=reload status=ok" in line])
    os.kill(exp.proc.pid, signal.SIGHUP)
    harness.wait_for("the reload applied", lambda: len([line for line in exp.log_text().splitlines()
                                                        if "op=reload status=ok" in line]) > done, 30,
                     alive=[exp.proc])


def check_reload(t, sim, exp, farm_ids):
    """A reload that keeps the section keeps its figures, health and schedule; one that changes activity.jobs
    starts the farms afresh, with the new cap."""
    _, _, expo = exp.scrape()
    kept = scraped(expo)
    last = {f: expo.value(LAST, {"farm_id": f}) for f in farm_ids}
    reload_with(exp, JOBS)
    time.sleep(1)  # the new threads have started: a farm starting afresh would show activity_up 0 by now
    _, _, expo = exp.scrape()
    t.check(scraped(expo) == kept, "a reload with the same activity section keeps every live-state figure")
    t.check(all(expo.value(UP, {"farm_id": f}) == 1 and expo.value(LAST, {"farm_id": f}) == last[f]
                for f in farm_ids), "and the farms' health", last)
    reload_with(exp, 3)
    truth = sim._json("GET", "/__sim/activity")
    wait_expo(t, exp, "after a reload with activity.jobs = 3: the figures with the new cap",
              matches(truth, 3, farm_ids), 3 * INTERVAL)


def run_main(t):
    sim = harness.Simulator(t.workdir, "--aggregation-delay", "100", "--quiet", "--search-offset-cap", str(OFFSET_CAP),
                            "--page-size-cap", str(PAGE_CAP), request_log=True)
    farm_ids = [f["farmId"] for f in sim.farms()]
    truth = pin(sim, STEP)
    exp = harness.Exporter(t.workdir, sim, farm_ids, [REPORT], extra_config=CONFIG % (INTERVAL, JOBS, "true", INTERVAL))
    exp.wait_ready(timeout=120)
    expo = wait_expo(t, exp, "activity_up = 1 for every farm and the figures of step %d" % STEP,
                     matches(truth, JOBS, farm_ids), 120)
    _, text, expo = exp.scrape()
    truth = compare(t, sim, expo, "first round", JOBS)
    check_shapes(t, expo, truth, farm_ids)
    check_cap(t, expo, truth, farm_ids)
    for f in farm_ids:
        last = expo.value(LAST, {"farm_id": f})
        t.check(last is not None and exp.started_at - 1 <= last <= time.time() + 1,
                "activity last success of %s since the start" % f[:13], last)
    checked = harness.promtool_check(text)
    if checked is None:
        t.note("promtool is not installed: skipping `promtool check metrics`")
    else:
        t.check(checked == (0, ""), "`promtool check metrics` prints nothing for the whole output", checked)
    for op in OPERATIONS:
        # by farm; the license endpoints belong to the account (farm_id "-")
        got = {x.labels["farm_id"]: x.value
               for x in expo.series("deadline_cloud_exporter_api_requests_total", operation=op, code="200")}
        farms = {"-"} if op == "ListLicenseEndpoints" else set(farm_ids)
        t.check(set(got) == farms and sum(got.values()) > 0, "api_requests_total counts %s by farm" % op, got)

    # while it changes: each next step's figures, within about a round
    for step in (STEP + 1, STEP + 4):
        truth = pin(sim, step)
        began = time.time()
        wait_expo(t, exp, "the figures follow the simulator to step %d" % step, matches(truth, JOBS, farm_ids),
                  3 * INTERVAL)
        t.check(time.time() - began <= SLOW * (2 * INTERVAL + 5), "step %d shown within %.1fs"
                % (step, time.time() - began))
    check_search_requests(t, sim)
    stats = sim.stats()
    t.check(served(stats, "ListLicenseEndpoints", 200) <= served(stats, "ListLimits", 200) // len(farm_ids) + 2,
            "ListLicenseEndpoints once per round for the region, not once per farm",
            served(stats, "ListLicenseEndpoints", 200), served(stats, "ListLimits", 200))

    step = STEP + 5
    check_fault(t, sim, exp, farm_ids, {"mode": "access_denied"}, "ListLimits", "ListLimits denied", step, JOBS)
    denied = [line for line in exp.log_text().splitlines() if "AccessDeniedException" in line]
    t.check(any("deadline:ListLimits" in line for line in denied), "the log names the IAM action to grant",
            denied[-1:] if denied else None)
    check_fault(t, sim, exp, farm_ids, {"mode": "error_500"}, "ListWorkers", "ListWorkers answering 500",
                step + 1, JOBS)
    check_fault(t, sim, exp, farm_ids, {"mode": "malformed"}, "SearchJobs", "SearchJobs malformed", step + 2, JOBS)
    check_fault(t, sim, exp, farm_ids, {"mode": "truncated"}, "ListQueueFleetAssociations",
                "ListQueueFleetAssociations truncated", step + 3, JOBS)
    check_fault(t, sim, exp, farm_ids, {"mode": "error_503"}, "ListLicenseEndpoints",
                "ListLicenseEndpoints answering 503", step + 4, JOBS)
    check_fault(t, sim, exp, farm_ids, {"mode": "throttle", "count": 2}, "SearchJobs", "SearchJobs throttled twice",
                step + 5, JOBS, keeps=False)
    check_fault(t, sim, exp, farm_ids, {"mode": "repeat_token"}, "ListWorkers", "ListWorkers' pages in a cycle",
                step + 6, JOBS)
    check_busy_farm(t, sim, exp, farm_ids)
    _, text, expo = exp.scrape()
    compare(t, sim, expo, "after the faults", JOBS)
    checked = harness.promtool_check(text)
    if checked is not None:
        t.check(checked == (0, ""), "after the faults: `promtool check metrics` prints nothing", checked)
    check_reload(t, sim, exp, farm_ids)
    t.check(exp.proc.alive(), "the exporter is still running")
    t.check(exp.proc.stop() == 0, "the exporter stops cleanly")
    if oracles.available():
        oracles.check_exporter_requests(t, sim, {harness.ACCESS_KEY_ID: (harness.SECRET_ACCESS_KEY, None)},
                                        harness.REGION)
    else:
        t.note("botocore is not installed: the requests' signatures are not checked against botocore")
    sim.proc.stop()


def run_no_inventory(t):
    """inventory off: the activity lists the queues and fleets itself; activity.jobs = 0: no per-job series."""
    workdir = os.path.join(t.workdir, "no-inventory")
    os.mkdir(workdir)
    sim = harness.Simulator(workdir, "--aggregation-delay", "100", "--quiet")
    farm_ids = [f["farmId"] for f in sim.farms()]
    truth = pin(sim, STEP)
    exp = harness.Exporter(workdir, sim, farm_ids, [REPORT], extra_config=CONFIG % (INTERVAL, 0, "false", INTERVAL))
    exp.wait_ready(timeout=120)
    expo = wait_expo(t, exp, "inventory off: the figures of step %d" % STEP, matches(truth, 0, farm_ids), 120)
    t.check(not expo.series("deadline_cloud_job_info") and not expo.series("deadline_cloud_job_tasks"),
            "activity.jobs = 0: no per-job series")
    t.check(not expo.series("deadline_cloud_queue_info"), "inventory off: no inventory series")
    stats = sim.stats()
    t.check(served(stats, "ListFleets", 200) >= len(farm_ids), "inventory off: the activity lists the fleets",
            served(stats, "ListFleets", 200))
    exp.proc.stop()
    sim.proc.stop()


def main():
    with harness.Test("activity") as t:
        run_main(t)
        run_no_inventory(t)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
