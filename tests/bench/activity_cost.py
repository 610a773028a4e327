#!/usr/bin/env python3
"""activity_cost: the API calls of one activity round (the farm's live state) by farm size, and its length.

A farm of Q queues with J active jobs each and fleets of W workers (the simulator's --queues, --active-jobs and
--workers-per-fleet, clock pinned): the calls of the exporter's first round of the live state, as the simulator
counts them (no other thread calls these operations; the queues and fleets come from the inventory, or cost
ListQueues and ListFleets pages more when it is off), and the round's length from its log line. Prints a Markdown
table for docs/benchmarks.md; --short runs two sizes. Not pass/fail on figures: it fails only when a round does not
happen or counts other than the simulator's active jobs."""

import argparse
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402
from harness import Report  # noqa: E402

OPERATIONS = ("ListWorkers", "SearchJobs", "ListQueueFleetAssociations", "ListLimits", "ListLicenseEndpoints")
UP = "deadline_cloud_exporter_activity_up"
LAST = "deadline_cloud_exporter_activity_last_success_timestamp_seconds"


def log(msg):
    print(msg, flush=True)


def counts(sim):
    req = sim.stats()["requests"]
    return {op: sum(int(n) for n in req.get(op, {}).values()) for op in OPERATIONS}


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_size(workdir, queues, jobs, workers):
    name = "q%d-j%d-w%d" % (queues, jobs, workers)
    d = os.path.join(workdir, name)
    os.mkdir(d)
    sim = harness.Simulator(d, "--quiet", "--queues", str(queues), "--active-jobs", str(jobs),
                            "--workers-per-fleet", str(workers))
    truth = sim._json("POST", "/__sim/activity", {"step": 50})
    sim._json("POST", "/__sim/inventory", {"step": 50})
    farm = truth["farms"][0]
    summary = sim._json("GET", "/__sim/activity?summary=1")["farms"][0]
    active = sum(q["activeJobCount"] for q in summary["queues"])
    listed_workers = sum(f["workerCount"] for f in summary["fleets"])
    before = counts(sim)
    # one round: the next is an hour away
    exp = harness.Exporter(d, sim, [farm["farmId"]], [Report("q", ["QUEUE_ID"], ["SUM"], interval="1h")],
                           extra_config='activity = { enabled = true; interval = "1h"; };\n'
                                        'inventory = { enabled = true; interval = "1h"; };\n')

    def round_done():
        _, _, e = exp.scrape()
        return e if e.value(LAST, {"farm_id": farm["farmId"]}) else None
    expo = harness.wait_for("the first activity round", round_done, 1200, interval=0.5, alive=[exp.proc])
    after = counts(sim)
    rounds = [line for line in exp.log_text().splitlines() if "op=activity status=ok" in line]
    dur = float(re.search(r"duration=([0-9.]+)s", rounds[-1]).group(1)) if rounds else float("nan")
    counted = sum(s.value for s in expo.series("deadline_cloud_queue_active_jobs"))
    cpu = cpu_seconds(exp.proc.pid)
    exp.stop()
    sim.proc.stop()
    if counted != active:
        raise harness.Failure("%s: the exporter counted %d active jobs, the simulator has %d" % (name, counted, active))
    per_op = {op: after[op] - before[op] for op in OPERATIONS if after[op] - before[op]}
    return {"queues": len(summary["queues"]), "active": active, "fleets": len(summary["fleets"]),
            "workers": listed_workers, "calls": sum(per_op.values()), "per_op": per_op, "duration": dur, "cpu": cpu}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true", default=os.environ.get("BENCH_SHORT") == "1")
    args = ap.parse_args()
    sizes = [(q, j, w) for q in (10, 100) for j in (10, 1000) for w in (10, 500)]
    if args.short:
        sizes = [(10, 10, 10), (10, 1000, 500)]
    workdir = tempfile.mkdtemp(prefix="dce-activity-cost-")
    rows = []
    for q, j, w in sizes:
        r = one_size(workdir, q, j, w)
        rows.append((q, j, w, r))
        log("queues %d, active jobs %d/queue, workers %d/fleet: %d calls per round (%s), %.2f s, exporter CPU %.2f s"
            % (q, j, w, r["calls"], ", ".join("%s %d" % kv for kv in sorted(r["per_op"].items())), r["duration"],
               r["cpu"]))
    log("\n| queues | active jobs | fleets, workers | calls per round | of which SearchJobs, ListWorkers | "
        "calls per hour at the default 1m | round | exporter CPU |")
    log("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for q, j, w, r in rows:
        log("| %d | %d (%d per queue) | %d, %d (%d per running fleet) | %d | %d, %d | %d | %.2f s | %.2f s |"
            % (r["queues"], r["active"], j, r["fleets"], r["workers"], w, r["calls"], r["per_op"].get("SearchJobs", 0),
               r["per_op"].get("ListWorkers", 0), 60 * r["calls"], r["duration"], r["cpu"]))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except harness.Failure as e:
        print("FAIL: %s" % e, flush=True)
        sys.exit(1)
