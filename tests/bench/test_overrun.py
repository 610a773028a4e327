#!/usr/bin/env python3
"""test_overrun: a refresh that takes longer than its interval (issue 6, API budget).

The simulator keeps every aggregation IN_PROGRESS for 3 s; farm 0 has 25 queues (3 batches of 10), so one
refresh of a 10 s report takes ~14 s. What must hold: refreshes of a farm never overlap (one aggregation at
a time, no Start refused as concurrent), the next refresh starts right after the late one ends (once, no
catch-up burst, no pile-up), and the figures stay served (report_up = 1, every usage series present) the
whole time.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402
from harness import Report  # noqa: E402

DELAY_MS = 3000
INTERVAL_S = 10
OBSERVE_S = 50
REPORT = Report("overrun", ["QUEUE_ID", "USAGE_TYPE"], harness.STATISTICS, window="month", interval="%ds" % INTERVAL_S)


def log_times(text, pattern):
    """[(seconds, line number, line)] of the log lines holding pattern (a plain string)."""
    return harness.log_times(text, re.escape(pattern))


def main():
    with harness.Test("overrun") as t:
        sim = harness.Simulator(t.workdir, "--aggregation-delay", str(DELAY_MS), "--quiet")
        farm = sim.farms()[0]
        exp = harness.Exporter(t.workdir, sim, [farm["farmId"]], [REPORT], extra_args=["--log-level", "debug"])
        exp.wait_all_up(timeout=120)
        key = {"farm_id": farm["farmId"], "report": REPORT.name}
        _, _, expo = exp.scrape()
        first = set(harness.scraped_samples(expo, farm["farmId"], REPORT.name))
        n_series = len(first)
        t.check(n_series > 0, "figures are served after the first refresh", n_series)
        dur = expo.value("deadline_cloud_exporter_report_duration_seconds", key)
        t.check(dur is not None and dur > INTERVAL_S, "the refresh takes longer than its interval (%.1fs > %ds)"
                % (dur or 0, INTERVAL_S))

        began = time.monotonic()
        scrapes = bad = 0
        while time.monotonic() - began < OBSERVE_S:
            _, _, expo = exp.scrape()
            scrapes += 1
            up = expo.value("deadline_cloud_exporter_report_up", key)
            missing = first - set(harness.scraped_samples(expo, farm["farmId"], REPORT.name))
            if up != 1 or missing:
                bad += 1
                t.check(False, "scrape %d: report_up=%s, %d of the first refresh's %d usage series missing"
                        % (scrapes, up, len(missing), n_series), *sorted(missing)[:3])
            time.sleep(0.25)
        t.check(bad == 0, "figures stayed served in all %d scrapes while refreshes overran" % scrapes)

        stats = sim.stats()
        t.check(stats["concurrentStartsRefused"] == 0, "no Start was refused as concurrent",
                stats["concurrentStartsRefused"])
        aggs = sorted((a for a in sim.aggregations() if a["farmId"] == farm["farmId"]), key=lambda a: a["startedAt"])
        overlaps = [(a["aggregationId"], b["aggregationId"]) for a, b in zip(aggs, aggs[1:])
                    if a.get("completedAt") is None or b["startedAt"] < a["completedAt"]]
        t.check(not overlaps, "the farm's aggregations never overlapped (%d of them)" % len(aggs), *overlaps[:3])

        text = open(exp.proc.log_path, encoding="utf-8", errors="replace").read()
        oks = log_times(text, "op=refresh status=ok")
        starts = log_times(text, "op=StartSessionsStatisticsAggregation aggregation=")
        batches = (len(farm["queueIds"]) + 9) // 10
        durations = [float(re.search(r"duration=([0-9.]+)s", line).group(1)) for _, _, line in oks]
        t.note("%d refreshes done, durations %s s, %d Starts for %d batches each"
               % (len(oks), ", ".join("%.1f" % d for d in durations), len(starts), batches))
        t.check(all(d > INTERVAL_S for d in durations), "every refresh overran its interval")
        # no pile-up: Starts = batches x refreshes (+ the refresh under way), no burst after a late refresh
        t.check(len(starts) <= batches * (len(oks) + 1), "no extra Starts: %d for %d refreshes of %d batches"
                % (len(starts), len(oks), batches))
        elapsed = oks[-1][0] - oks[0][0] if len(oks) > 1 else 0
        if len(oks) > 1:
            expected = elapsed / min(durations)
            t.check(len(oks) - 1 <= expected + 1, "refreshes are back to back, not stacked: %d in %.1fs"
                    % (len(oks) - 1, elapsed))
        # the next refresh starts right after a late one ends (not an interval later)
        gaps = []
        for t_ok, no_ok, _ in oks:
            nxt = [ts for ts, no, _ in starts if no > no_ok]
            if nxt:
                gaps.append(nxt[0] - t_ok)
        t.check(gaps and max(gaps) < 1.0, "the next refresh starts at once after a late one (gaps %s s)"
                % ", ".join("%.3f" % g for g in gaps))
        t.check(exp.proc.alive(), "the exporter is still running")
        t.check(exp.stop() == 0, "the exporter stops cleanly")
    return t.status


if __name__ == "__main__":
    sys.exit(main())
