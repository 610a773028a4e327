#!/usr/bin/env python3
"""test_split: aggregations that end FAILED are asked again in halves (resources, then window); figures stay exact."""

import os
import sys

import harness
from harness import Report

# With --max-rows 5 the simulator fails any aggregation of more than 5 rows: a batch of 10 queues grouped by
# queue and usage type (30 rows) must be split by resources down to single queues; one queue's jobs over a month must be split by window.
BY_QUEUE = Report("by_queue", ["QUEUE_ID", "USAGE_TYPE"], ["SUM", "MIN", "MAX", "AVG"], window="month",
                  interval="1h")
BY_JOB = Report("by_job", ["JOB_ID"], ["SUM"], window="30d", interval="1h")
MAX_ROWS = int(os.environ.get("SPLIT_MAX_ROWS", "6"))


def chained_window(aggregations, farm, rep, resource_ids):
    """The window [start, end) of the last refresh of (farm, rep), from its COMPLETED parts: for every resource,
    the parts that hold it must chain back from the refresh's end to the start of the report's window (computed
    here independently of the exporter), each part starting where the one before it ends: no gap, no overlap.
    Returns (start, end, parts of the refresh, problems)."""
    mine = [a for a in aggregations if a.get("farmId") == farm and harness.aggregation_signature(a) == rep.signature()]
    end = max(harness.parse_time(a["endTime"]) for a in mine)
    start = harness.window_start(rep, end)
    done = [a for a in mine if a.get("status") == "COMPLETED"
            and start <= harness.parse_time(a["startTime"]) < harness.parse_time(a["endTime"]) <= end]
    problems = []
    for rid in resource_ids:
        parts = [(harness.parse_time(a["startTime"]), harness.parse_time(a["endTime"]))
                 for a in done if rid in harness.aggregation_ids(a)]
        at, chain = end, []
        while at > start:
            before = [p for p in parts if p[1] == at]
            if len(before) != 1:
                problems.append("%s: %d completed parts end at %s (chain so far: %s)"
                                % (rid, len(before), at, chain))
                break
            chain.append(before[0])
            at = before[0][0]
        if at == start and len(chain) != len(parts):
            problems.append("%s: %d completed parts outside the chain %s: %s"
                            % (rid, len(parts) - len(chain), chain, sorted(set(parts) - set(chain))))
        elif at < start:
            problems.append("%s: the chain passes the window's start %s: %s" % (rid, start, chain))
    return start, end, done, problems


def main():
    with harness.Test("split") as t:
        sim = harness.Simulator(t.workdir, "--aggregation-delay", "50", "--max-rows", str(MAX_ROWS), "--quiet")
        sim_farms = sim.farms()
        farm = sim_farms[1]  # 12 queues: batches of 10 and 2
        exp = harness.Exporter(t.workdir, sim, [farm["farmId"]], [BY_QUEUE, BY_JOB])
        exp.wait_ready(timeout=300)
        expo = exp.wait_all_up(timeout=300)
        sessions = sim.sessions(farm["farmId"])
        aggregations = sim.aggregations()
        statuses = [a.get("status") for a in aggregations]
        t.check("FAILED" in statuses, "the simulator failed the large aggregations", sorted(set(statuses)))
        t.check(all(a.get("rowCount", 0) <= MAX_ROWS for a in aggregations if a.get("status") == "COMPLETED"),
                "every completed part is within the row limit")

        for rep in (BY_QUEUE, BY_JOB):
            start, end, mine, problems = chained_window(aggregations, farm["farmId"], rep, farm["queueIds"])
            t.check(not problems, "%s: the completed parts of every queue chain back from the refresh's end to the "
                    "window's start" % rep.name, *problems[:8])
            expected = harness.expected_samples(sessions, farm["farmId"], rep, farm["queueIds"], start, end)
            got = harness.scraped_samples(expo, farm["farmId"], rep.name)
            diffs = harness.compare_samples(got, expected)
            t.check(not diffs, "%s: %d figures equal the source records after splitting (%d aggregations)"
                    % (rep.name, len(expected), len(mine)), *diffs)

        # summed over the reports: each report's series of both kinds is there from the start, at 0 until it splits
        splits = {}
        for s in expo.series("deadline_cloud_exporter_aggregation_splits_total"):
            splits[s.labels["kind"]] = splits.get(s.labels["kind"], 0) + s.value
        t.check(splits.get("resources", 0) > 0, "resource splits are counted", splits)
        t.check(splits.get("window", 0) > 0, "window splits are counted", splits)
        failed = expo.value("deadline_cloud_exporter_aggregations_total", {"farm_id": farm["farmId"], "status": "FAILED"})
        t.check(failed and failed > 0, "FAILED aggregations are counted", failed)
        t.check(exp.request("GET", "/-/ready").status == 200, "ready after split refreshes")
        status = exp.stop()
        t.check(status == 0, "the exporter stops cleanly on SIGTERM (status 0)", status)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
