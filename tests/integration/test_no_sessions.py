#!/usr/bin/env python3
"""test_no_sessions: a report whose window holds no session, as a real Prometheus sees it, and the README's query
that shows 0 rather than "No data".

The simulator's sessions all end 200 days ago (--epoch): a report over the last 7 days succeeds with no row, so
it has no usage series at all while report_up is 1 and its window timestamps exist; a report over 400 days has
every session. The README's troubleshooting query, sum(...) or sum(0 * window_end), must give 0 for the first
and exactly the sum (one series, no extra 0) for the second."""

import os
import sys
import time

import harness
from harness import Report
from test_prometheus import PROMETHEUS, Prometheus

EMPTY = Report("last_7_days", ["QUEUE_ID"], ["SUM"], window="7d", interval="10s")
FULL = Report("last_400_days", ["QUEUE_ID"], ["SUM"], window="400d", interval="10s")
QUERY_TIMEOUT = 120.0


def zero_or_sum(report):
    """The README's query: the sum, or 0 when the report's window holds no session (and "No data" only when the
    report never succeeded)."""
    return ('sum(deadline_cloud_usage_cost_usd{report="%s"}) or '
            'sum(0 * deadline_cloud_usage_window_end_timestamp_seconds{report="%s"})' % (report, report))


def main():
    with harness.Test("no_sessions") as t:
        if not os.access(PROMETHEUS, os.X_OK):
            raise harness.Skip("%s is not installed" % PROMETHEUS)
        epoch = int(time.time()) - 200 * 86400
        sim = harness.Simulator(t.workdir, "--aggregation-delay", "50", "--quiet", "--epoch", str(epoch))
        farm_ids = [f["farmId"] for f in sim.farms()]
        exp = harness.Exporter(t.workdir, sim, farm_ids, [EMPTY, FULL])
        exp.wait_ready(timeout=180)
        exp.wait_all_up(timeout=120)
        prom = Prometheus(t.workdir, exp.port)
        prom.wait_ready()

        state = {}

        def scraped():
            state["up"] = prom.query('deadline_cloud_exporter_report_up{report="%s"}' % EMPTY.name)
            state["full"] = prom.query('sum(deadline_cloud_usage_cost_usd{report="%s"})' % FULL.name)
            return len(state["up"]) == len(farm_ids) and len(state["full"]) == 1

        harness.wait_for("Prometheus to scrape both reports", scraped, QUERY_TIMEOUT, interval=1.0,
                         alive=[prom.proc, exp.proc, sim.proc])
        t.check(all(v == 1 for _, v in state["up"]), "the empty report's refreshes succeed (report_up 1)", state["up"])
        for metric in harness.USAGE_METRICS:
            got = prom.query('%s{report="%s"}' % (metric, EMPTY.name))
            t.check(got == [], "no %s series for a window without sessions" % metric, got)
        ends = prom.query('deadline_cloud_usage_window_end_timestamp_seconds{report="%s"}' % EMPTY.name)
        t.check(len(ends) == len(farm_ids), "the empty report's window timestamps exist for every farm", ends)

        empty = prom.query(zero_or_sum(EMPTY.name))
        t.check(len(empty) == 1 and empty[0][1] == 0, "%s gives one 0" % zero_or_sum(EMPTY.name), empty)
        full = prom.query(zero_or_sum(FULL.name))
        total = state["full"][0][1]
        t.check(len(full) == 1 and total > 0 and harness.close(full[0][1], total),
                "%s gives the sum alone (%.10g)" % (zero_or_sum(FULL.name), total), full)
        # Per farm, the same query keeps its farm_id on both sides.
        by_farm = prom.query('sum by (farm_id) (deadline_cloud_usage_cost_usd{report="%s"}) or sum by (farm_id) '
                             '(0 * deadline_cloud_usage_window_end_timestamp_seconds{report="%s"})'
                             % (EMPTY.name, EMPTY.name))
        t.check(len(by_farm) == len(farm_ids) and all(v == 0 for _, v in by_farm),
                "per farm, each farm of the empty report shows 0", by_farm)

        t.check(prom.proc.stop() == 0, "Prometheus stops cleanly")
        t.check(exp.proc.stop() == 0, "the exporter stops cleanly on SIGTERM (status 0)")
    return t.status


if __name__ == "__main__":
    sys.exit(main())
