#!/usr/bin/env python3
"""plan: one whole refresh cycle of five reports on big farms: aggregations, requests and length, before and after.

  python3 tests/bench/plan.py [--sizes 10x4,100x10,1000x20] [--delay-ms 5000] [--baseline EXPORTER] [--short]
                              [--keep]

For each farm size (queues x fleets; the simulator's --queues and --fleets, farm 0), the exporter runs the
benchmark's five reports (tests/integration/plan_oracle.py: the example configuration's three, its by_show and the
contract's spend) against a simulator that keeps each aggregation IN_PROGRESS for --delay-ms (5 s by default, an
estimate of the real service's time). One cycle is every report refreshed once: from the exporter's start to the end
of the last report's first refresh, by the exporter's log times. Measured from the simulator's records: the
aggregations of the cycle (checked against the plan that plan_oracle works out), the requests by operation, and each
group's requests and length per refresh, from which the API bill per hour at the reports' intervals follows (or,
when those refreshes would need the farm's aggregation slot for more than an hour, the bill of refreshing back to
back). The inventory is off during the cycle (by_show's labels come from job names only here): one inventory round
is measured on its own and added to the bill.

"after" is EXPORTER with "auto"; "before" is --baseline (or BENCH_BASELINE_EXPORTER: a build of the code before the
plan, which shares nothing) with every "auto" replaced by "queues". Without a baseline only "after" runs. Figures,
not pass/fail: the run fails only when something is broken (a process dies, a cycle's aggregations are not the
plan's). --short: 10x4 and 100x10 at 300 ms, "after" only unless a baseline is given.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
import plan_oracle  # noqa: E402
from harness import Failure, log  # noqa: E402

USAGE_OPS = ("ListQueues", "ListFleets", "StartSessionsStatisticsAggregation", "GetSessionsStatisticsAggregation")
INVENTORY_OPS = ("GetFarm", "ListQueues", "ListFleets", "ListBudgets", "GetBudget")
# by_show as in the example configuration, but for its production label (from queue names, which needs the
# inventory): the cycle is measured with the inventory off, and the inventory on its own
BY_SHOW = plan_oracle.PlanReport(
    "by_show", ["JOB_ID", "USAGE_TYPE"], "month", counter=True, keep=["USAGE_TYPE"],
    labels=plan_oracle.SHOW_RULES[:plan_oracle.SHOW_RULES.rindex(",\n")] + " )")
REPORTS = [r if r.name != "by_show" else BY_SHOW for r in plan_oracle.FIVE_REPORTS]
NO_INVENTORY = "inventory = { enabled = false; };\n"


def short_op(op):
    return op.replace("SessionsStatisticsAggregation", "")


def aggregation_id_of(entry):
    """The aggregation a Start answered or a Get asked for, else None."""
    if entry["operation"] == "StartSessionsStatisticsAggregation" and entry["status"] == 200:
        return json.loads(entry["response"]).get("aggregationId")
    if entry["operation"] == "GetSessionsStatisticsAggregation":
        q = entry["uri"].split("?", 1)[-1]
        for part in q.split("&"):
            if part.startswith("aggregationId="):
                return part.split("=", 1)[1]
    return None


def refresh_runs(aggregations, farm_id, since):
    """The farm's refreshes in order: runs of consecutive aggregations of one request (kind, groupBy, statistics,
    timezone, period, window). A farm runs one aggregation at a time, one refresh after another."""
    runs = []
    for a in sorted(aggregations, key=lambda a: a.get("startedAt") or 0):
        if a.get("farmId") != farm_id or (a.get("startedAt") or 0) < since:
            continue
        sig = (harness.aggregation_kind(a), tuple(a.get("groupBy") or []), frozenset(a.get("statistics") or []),
               a.get("timezone"), a.get("period"), a["startTime"], a["endTime"])
        if runs and runs[-1][0] == sig:
            runs[-1][1].append(a)
        else:
            runs.append((sig, [a]))
    return runs


def wait_idle(sim, farm_id):
    """Until no aggregation of the farm is IN_PROGRESS: a stopped exporter may leave one, which would make the next
    cycle's first Start wait."""
    def idle():
        return not [a for a in sim.aggregations() if a.get("farmId") == farm_id and a.get("status") == "IN_PROGRESS"]
    harness.wait_for("the farm's aggregations finished", idle, 120)


def group_signature(g):
    lead = g.members[0]
    return (g.kind, tuple(lead.group_by), frozenset(g.statistics), lead.timezone, lead.period)


def expected_groups(n_queues, n_fleets, before):
    """The plan: after, reports share; before, one group per report and "queues" for "auto"."""
    if not before:
        return plan_oracle.expected_plan(REPORTS, n_queues, n_fleets)
    out = []
    for r in REPORTS:
        out += plan_oracle.expected_plan([r], n_queues, n_fleets, resources="queues")
    return out


def group_interval(g):
    return min(harness.duration_seconds(m.interval) for m in g.members)


def refresh_seconds(log_text, g):
    """The length of the group's first refresh, from the exporter's log (report= its members' names joined by ',')."""
    m = re.search(r"report=%s op=refresh status=ok .*duration=([0-9.]+)s" % re.escape(",".join(g.names())), log_text)
    if not m:
        raise Failure("no refresh of %s in the exporter's log" % ",".join(g.names()))
    return float(m.group(1))


def log_time(line):
    m = re.match(r"\S+ (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ", line)
    return datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc).timestamp() if m else None


def cycle_seconds(log_text, groups):
    """From the exporter's start to the end of the last of the groups' first refreshes, by its log's times."""
    lines = log_text.splitlines()
    start = [log_time(l) for l in lines if "op=start status=ok" in l]
    ends = []
    for g in groups:
        done = [log_time(l) for l in lines if "report=%s op=refresh status=ok " % ",".join(g.names()) in l]
        if not done or done[0] is None:
            return None
        ends.append(done[0])
    return max(ends) - start[0] if start and start[0] is not None else None


def run_cycle(workdir, name, program, sim, farm, before):
    """One cycle of the five reports: (seconds, runs, requests by operation, [(group, requests by operation, seconds)]
    per group refresh)."""
    fid, nq, nf = farm["farmId"], len(farm["queueIds"]), len(farm["fleetIds"])
    groups = expected_groups(nq, nf, before)
    wait_idle(sim, fid)
    n_log = len(sim.request_log_entries())
    since = sim._json("GET", "/__sim/aggregations")["now"]
    t0 = time.monotonic()
    exp = plan_oracle.Exporter(workdir, name, program, sim.url, [fid], REPORTS,
                               resources="queues" if before else None, extra=NO_INVENTORY)
    exp.wait_all_up(timeout=4 * 3600)
    polled = time.monotonic() - t0
    exp.stop()
    log_text = exp.log_text()
    seconds = cycle_seconds(log_text, groups) or polled
    runs = refresh_runs(sim.aggregations(), fid, since)[:len(groups)]
    got = sorted((sig[:5] for sig, _ in runs), key=repr)
    want = sorted((group_signature(g) for g in groups), key=repr)
    if got != want:
        raise Failure("%s: the cycle's refreshes are not the plan's:\n  got %s\n  expected %s" % (name, got, want))
    for (sig, aggs) in runs:
        g = [g for g in groups if group_signature(g) == sig[:5]][0]
        if len(aggs) != g.batches:
            raise Failure("%s: %s took %d aggregations, the plan says %d" % (name, g.names(), len(aggs), g.batches))
    # the farm thread's requests are one after another: each refresh's end at its last aggregation's last request
    entries = [e for e in sim.request_log_entries()[n_log:] if ("/farms/%s" % fid) in e["uri"]]
    last = {}
    for i, e in enumerate(entries):
        agg = aggregation_id_of(e)
        if agg:
            last[agg] = i
    per_refresh, begin, by_op = [], 0, {}
    for sig, aggs in runs:
        end = max(last[a["aggregationId"]] for a in aggs) + 1
        ops = {}
        for e in entries[begin:end]:
            ops[e["operation"]] = ops.get(e["operation"], 0) + 1
            by_op[e["operation"]] = by_op.get(e["operation"], 0) + 1
        g = [g for g in groups if group_signature(g) == sig[:5]][0]
        groups.remove(g)
        per_refresh.append((g, ops, refresh_seconds(log_text, g)))
        begin = end
    return seconds, runs, by_op, per_refresh


def inventory_round(workdir, program, sim, farm):
    """One inventory round of the farm: requests by operation (a report that lists nothing runs beside it)."""
    fid = farm["farmId"]
    n_log = len(sim.request_log_entries())
    port = harness.free_port()
    s = harness._libconfig_string
    text = ("web = { listen = \"%s:%d\"; };\naws = { region = %s; endpoint_url = %s; };\n"
            "farms = ( { id = %s; queues = [ %s ]; fleets = \"all\"; } );\n"
            "reports = ( { name = \"one_queue\"; resources = \"queues\"; window = \"day\";"
            " group_by = [ \"USAGE_TYPE\" ]; interval = \"1h\"; } );\n"
            "inventory = { enabled = true; interval = \"1h\"; budgets = true; };\n"
            % (harness.LOOPBACK, port, s(harness.REGION), s(sim.url), s(fid), s(farm["queueIds"][0])))
    wd = os.path.join(workdir, "inventory")
    os.makedirs(wd, exist_ok=True)
    path = os.path.join(wd, "exporter.conf")
    with open(path, "w") as f:
        f.write(text)
    proc = harness.Process("exporter-inventory", [program, "--config", path], wd, env=harness.hermetic_env(wd))

    def listed():
        r = harness.http_request(port, "GET", "/metrics")
        expo = harness.parse_exposition(r.body.decode("utf-8")) if r.status == 200 else None
        return expo and expo.value("deadline_cloud_exporter_inventory_up", {"farm_id": fid}) == 1

    harness.wait_for("the inventory listed", listed, 600, alive=[proc])
    proc.stop()
    ops = {}
    for e in sim.request_log_entries()[n_log:]:
        if e["operation"] in INVENTORY_OPS and ("/farms/%s" % fid) in e["uri"]:
            ops[e["operation"]] = ops.get(e["operation"], 0) + 1
    return ops


def bill(per_refresh):
    """(requests per hour of the usage reports, whether the farm is saturated): each group's refresh 3600 / its
    interval times; when those refreshes would take more than an hour of the farm's one aggregation at a time, the
    farm refreshes back to back and each group proportionally less often."""
    at_intervals = sum(sum(ops.values()) * 3600.0 / group_interval(g) for g, ops, _ in per_refresh)
    busy = sum(secs * 3600.0 / group_interval(g) for g, _, secs in per_refresh)
    return (at_intervals * 3600.0 / busy, True) if busy > 3600.0 else (at_intervals, False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default=None, help="QUEUESxFLEETS,... (default 10x4,100x10,1000x20)")
    ap.add_argument("--delay-ms", type=int, default=None, help="the simulator's aggregation delay (default 5000)")
    ap.add_argument("--baseline", default=os.environ.get("BENCH_BASELINE_EXPORTER"),
                    help="the exporter before the plan (BENCH_BASELINE_EXPORTER)")
    ap.add_argument("--short", action="store_true", help="10x4 and 100x10 at 300 ms")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    sizes = args.sizes or ("10x4,100x10" if args.short else "10x4,100x10,1000x20")
    delay = args.delay_ms if args.delay_ms is not None else (300 if args.short else 5000)
    program = harness.env_path("EXPORTER")
    variants = [("after", program, False)] + ([("before", args.baseline, True)] if args.baseline else [])
    workdir = tempfile.mkdtemp(prefix="dce-plan-")
    rows = []
    log("plan: sizes %s, aggregation delay %d ms, %s" % (sizes, delay, ", ".join(v[0] for v in variants)))
    for size in sizes.split(","):
        nq, nf = (int(x) for x in size.split("x"))
        sim = harness.Simulator(tempfile.mkdtemp(prefix="sim-", dir=workdir), "--queues", str(nq), "--fleets",
                                str(nf), "--jobs", "4000", "--sessions", "80000", "--aggregation-delay", str(delay),
                                "--quiet", tls=False, request_log=True)
        farm = sim.farms()[0]
        if (len(farm["queueIds"]), len(farm["fleetIds"])) != (nq, nf):
            raise Failure("the simulator made %d queues and %d fleets" % (len(farm["queueIds"]), len(farm["fleetIds"])))
        inv = inventory_round(workdir, program, sim, farm)
        for name, prog, before in variants:
            seconds, runs, by_op, per_refresh = run_cycle(workdir, "%s-%s" % (name, size), prog, sim, farm, before)
            n_aggs = sum(len(a) for _, a in runs)
            requests = sum(by_op.values())
            usage_hour, saturated = bill(per_refresh)
            inv_hour = sum(inv.values()) * 3600.0 / 300
            log("%-6s %5d queues %3d fleets: %3d refreshes, %4d aggregations, %5d requests (%s), cycle %.1f s; "
                "%.0f usage%s + %.0f inventory requests/hour"
                % (name, nq, nf, len(runs), n_aggs, requests,
                   ", ".join("%s %d" % (short_op(k), v) for k, v in sorted(by_op.items())), seconds, usage_hour,
                   " (back to back)" if saturated else "", inv_hour))
            for g, ops, secs in per_refresh:
                log("         %-40s every %5ds: %4d requests per refresh (%s), %.1f s" % (
                    "+".join(g.names()), group_interval(g), sum(ops.values()),
                    ", ".join("%s %d" % (short_op(k), v) for k, v in sorted(ops.items())), secs))
            rows.append((size, name, len(runs), n_aggs, requests, seconds, usage_hour, saturated, inv_hour, inv))
        sim.proc.stop()
    log("\n| farm (queues x fleets) | code | refreshes | aggregations | requests | cycle at %.1f s per aggregation |"
        " usage requests / hour | inventory requests / hour |" % (delay / 1000.0))
    log("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for size, name, n_runs, n_aggs, requests, seconds, usage_hour, saturated, inv_hour, inv in rows:
        log("| %s | %s | %d | %d | %d | %.1f s (%.1f min) | %.0f%s | %.0f (%s per round) |" % (
            size, name, n_runs, n_aggs, requests, seconds, seconds / 60, usage_hour,
            " (back to back)" if saturated else "", inv_hour,
            ", ".join("%s %d" % (k, v) for k, v in sorted(inv.items()))))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        log("FAIL: %s" % e)
        sys.exit(1)
