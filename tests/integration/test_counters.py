#!/usr/bin/env python3
"""test_counters: counter reports (reports[].counter) through a real Prometheus, against the simulator's records.

The simulator adds sessions as it runs (--live-sessions); the exporter and the simulator run a few minutes ahead of
the real clock under libfaketime, and the report's timezone puts its day's end about two minutes after they start,
so the boundary is crossed in the test. Every sample Prometheus scraped is the spend of its window to date
(window_start to window_end, the gauges of the same scrape) as the records give it; increase() between two scrapes is
the spend between the two windows' ends, across a restart (no reset, nothing counted twice) and across the boundary
(the closing figures, then every counter at 0); a restart that would lower a figure (a queue left out of the
configuration) keeps it from the state file, so Prometheus sees no reset either. The counter report shares its
aggregation with a gauge report of the same window and grouping (one group), which shows the new day too."""

import math
import os
import sys
import time

import harness
from harness import Report
from spend_oracle import Prometheus, Spend, faketime_env, faketime_library, increase_between, timezone_for_midnight_at

LEAD = 150  # seconds of fake time from the start to the day's end
REL = 1e-6  # the contract's tolerance for a counter against the records
COST = "deadline_cloud_usage_cost_usd_total"
SESSIONS = "deadline_cloud_usage_sessions_total"
HELD = "deadline_cloud_exporter_usage_decreases_held_total"


def boundary_plan(now):
    """(the fake boundary, the fake clock's offset, the timezone whose midnight is the boundary)."""
    boundary = math.ceil((now + LEAD) / 1800.0) * 1800
    return boundary, int(boundary - LEAD - now), timezone_for_midnight_at(boundary)


def config_with_queues(text, queue_ids):
    """The harness's configuration with the farm's queues listed instead of "all"."""
    listed = "[ " + ", ".join('"%s"' % q for q in queue_ids) + " ]"
    return text.replace('queues = "all";', "queues = %s;" % listed)


def by_timestamp(series):
    """{timestamp: value} of the one series of a (farm, report) window gauge."""
    if len(series) != 1:
        raise harness.Failure("%d window series, expected 1" % len(series))
    return dict(series[0][1])


def classify(t, spend, samples, starts, ends, metric_index):
    """Every sample against the records: (exact samples, placeholders {(key, ts)}, failures)."""
    exact, placeholders, bad = 0, set(), []
    for labels, values in samples:
        key = spend.key_of(labels)
        for ts, v in values:
            if ts not in starts or ts not in ends:
                bad.append("%s at %.3f: no window in the same scrape" % (key, ts))
                continue
            want = spend.of(key, starts[ts], ends[ts])[metric_index]
            if harness.close(v, want, REL):
                exact += 1
            elif v == 0:
                placeholders.add((key, ts))
            else:
                bad.append("%s at %.3f: %r, the records give %r over [%d, %d)" % (key, ts, v, want, starts[ts],
                                                                                ends[ts]))
    return exact, placeholders, bad


def check_placeholders(t, spend, samples, placeholders, starts):
    """A group shown at 0 before its first figures: only as its first samples in a window (the scrapes before the
    refresh that gives its figures)."""
    wrong = []
    for labels, values in samples:
        key = spend.key_of(labels)
        figures_seen = set()
        for ts, v in values:
            if (key, ts) in placeholders and starts.get(ts) in figures_seen:
                wrong.append((key, ts))
            elif (key, ts) not in placeholders:
                figures_seen.add(starts.get(ts))
    t.check(not wrong, "a group is at 0 only before its first figures of a window", wrong[:5])


def scenario_restart_and_boundary(t, prom, spend, exp_farm, window_ts, restart_gap, boundary):
    """The day report's samples, then increase() over ranges across the restart and the boundary."""
    sel = '{job="counters",report="spend"}'
    at = round(time.time() - 1, 3)  # every query at one instant: the same scrapes
    seconds = int(at - window_ts) + 5
    starts = by_timestamp(prom.samples("deadline_cloud_usage_window_start_timestamp_seconds" + sel, seconds, at))
    ends = by_timestamp(prom.samples("deadline_cloud_usage_window_end_timestamp_seconds" + sel, seconds, at))
    costs = prom.samples(COST + sel, seconds, at)
    counts = prom.samples(SESSIONS + sel, seconds, at)
    exact, zero, bad = classify(t, spend, costs, starts, ends, 0)
    if t.check(not bad, "every cost sample is the records' spend of its window to date", bad[:5]):
        t.note("%d cost samples as the records give them, %d of groups at 0 before their first figures" %
               (exact, len(zero)))
    exact_n, zero_n, bad_n = classify(t, spend, counts, starts, ends, 2)
    t.check(not bad_n, "every session count sample is the records' (%d)" % exact_n, bad_n[:5])
    check_placeholders(t, spend, costs, zero, starts)

    # the boundary as Prometheus saw it: the closing figures, the counters at 0, the new window
    closing = [ts for ts in sorted(ends) if ends[ts] == boundary and starts[ts] == boundary - 86400]
    zeros = [ts for ts in sorted(ends) if ends[ts] == boundary and starts[ts] == boundary]
    after = [ts for ts in sorted(ends) if starts[ts] == boundary and ends[ts] > boundary]
    t.check(closing, "a scrape took the closing figures of the day, up to its end", len(closing))
    t.check(zeros and closing and zeros[0] > closing[-1], "then one took every counter at 0 at the new day's start",
            len(zeros))
    t.check(after and zeros and after[0] > zeros[-1], "then the new day's figures", len(after))

    # clean scrapes: no group at 0 before its figures
    stamps = sorted(set(starts) & set(ends))
    dirty = {ts for _, ts in zero}
    clean = [ts for ts in stamps if ts not in dirty]
    before_gap = [ts for ts in clean if ts < restart_gap[0]]
    after_gap = [ts for ts in clean if ts > restart_gap[1] and ends[ts] < boundary]
    before_boundary = [ts for ts in clean if ends[ts] < boundary]
    pairs = []
    if clean:
        pairs.append(("the whole run", clean[0], clean[-1]))
    if before_gap and after_gap:
        pairs.append(("across the restart", before_gap[-1], after_gap[0]))
        pairs.append(("from before the restart to after the boundary", before_gap[len(before_gap) // 2],
                      after[-1] if after and after[-1] in clean else clean[-1]))
    else:
        t.check(False, "clean scrapes on both sides of the restart", (len(before_gap), len(after_gap)))
    if before_boundary and after:
        pairs.append(("across the boundary", before_boundary[-1], [ts for ts in clean if ts in after][0]))
    for what, t1, t2 in pairs:
        if t2 <= t1:
            t.check(False, "scrapes in order for the range %s" % what, (t1, t2))
            continue
        got = increase_between(prom, COST + sel, t1, t2)
        want = spend.total(ends[t1], ends[t2])[0]
        if t.check(harness.close(got, want, REL), "increase() %s is the records' spend from %d to %d: %.10g" %
                   (what, ends[t1], ends[t2], want), "got %.10g" % got):
            t.note("increase() %s (%.0f s of scrapes): %.10g, the records %.10g" % (what, t2 - t1, got, want))
        n = increase_between(prom, SESSIONS + sel, t1, t2)
        t.check(harness.close(n, spend.total(ends[t1], ends[t2])[2], REL), "and the sessions' increase() %s" % what,
                n)
    if before_gap and after_gap:
        ms = int(round((after_gap[0] - before_gap[-1]) * 1000))
        resets = prom.vector("sum(resets(%s%s[%dms]))" % (COST, sel, ms), at=after_gap[0])
        t.check(resets and resets[0][1] == 0, "no counter reset across the restart", resets)
    return clean


def scenario_held(t, prom, exp_a, exp_b, restart_real):
    """The restart that leaves a queue out: the figures held from the state file, no reset, the holds counted."""
    sel = '{job="held",report="by_type"}'
    seconds = int(time.time() - exp_a.started_at) + 5
    resets = prom.vector("sum(resets(%s%s[%ds]))" % (COST, sel, seconds))
    t.check(resets and resets[0][1] == 0, "no reset when a restart leaves a queue out", resets)
    held = prom.vector(HELD + sel)
    t.check(held and held[0][1] > 0, "the figures kept are counted in %s" % HELD, held)
    compute = prom.samples(COST + '{job="held",report="by_type",usage_type="COMPUTE"}', seconds)
    if compute:
        values = compute[0][1]
        before = [v for ts, v in values if ts < restart_real]
        after = [v for ts, v in values if ts > restart_real + 3]
        t.check(before and after and min(after) >= before[-1], "COMPUTE's counter is where it was before the "
                "restart, or more", (before[-1:], after[:1]))
    t.check("op=state status=ok" in exp_b.log_text(), "the restarted exporter read its state file")


def main():
    with harness.Test("counters") as t:
        if not os.access("/usr/bin/prometheus", os.X_OK):
            raise harness.Skip("/usr/bin/prometheus is not installed")
        if not faketime_library():
            raise harness.Skip("libfaketime is not installed (Debian package faketime)")
        boundary, offset, tz = boundary_plan(time.time())
        fake = faketime_env(offset)
        harness.log("fake clock %+ds: the day ends at %d (%s) in %.0fs" % (offset, boundary, tz,
                                                                          boundary - time.time() - offset))
        sim = harness.Simulator(t.workdir, "--live-sessions", "120", "--aggregation-delay", "100", "--quiet",
                                env=fake)
        farms = sim.farms()
        farm0, farm1 = farms[0]["farmId"], farms[1]["farmId"]
        states = {name: os.path.join(t.workdir, name) for name in ("state-counters", "state-held")}
        for d in states.values():
            os.mkdir(d)
        spend_day = Report("spend", ["QUEUE_ID", "USAGE_TYPE"], ["SUM", "MAX"], window="day", timezone=tz,
                           interval="10s", counter=True)
        # a gauge report of the same window and grouping: one aggregation serves both (shared aggregations), and the
        # counter's closing refresh at the boundary is its own
        spend_gauge = Report("spend_gauge", ["QUEUE_ID", "USAGE_TYPE"], ["SUM"], window="day", timezone=tz,
                             interval="10s")
        by_type = Report("by_type", ["USAGE_TYPE"], ["SUM"], window="month", interval="10s", counter=True)
        ports = {"counters": harness.free_port(), "held": harness.free_port()}
        held_text = harness.exporter_config(ports["held"], sim.url, [farm1], [by_type])
        queues1 = farms[1]["queueIds"]

        def start(name, farm, reports, port, text=None, state="state-counters"):
            env = dict(fake, STATE_DIRECTORY=states[state])
            return harness.Exporter(t.workdir, sim, [farm], reports, env=env, port=port, config_text=text, name=name)

        exp1 = start("exporter", farm0, [spend_day, spend_gauge], ports["counters"])
        exp2 = start("held", farm1, [by_type], ports["held"], config_with_queues(held_text, queues1), "state-held")
        prom = Prometheus(t.workdir, sorted(ports.items()))
        prom.wait_ready()
        for e in (exp1, exp2):
            e.wait_all_up(timeout=120)
        window_real = time.time()

        # promtool on both, counters at 0 for the holds
        for e in (exp1, exp2):
            _, text, expo = e.scrape()
            checked = harness.promtool_check(text)
            t.check(checked is None or checked == (0, ""), "promtool check metrics is silent", checked)
            for name in (COST, SESSIONS, "deadline_cloud_usage_runtime_seconds_total"):
                fam = expo.families.get(name)
                t.check(fam is not None and fam.type == "counter", "%s is a counter" % name)
            t.check(not expo.series(harness.USAGE_COST, report="spend") and
                    not expo.series(harness.USAGE_COST, report="by_type"), "no cost gauge for a counter report")
        harness.wait_for("Prometheus to scrape both exporters a few times",
                         lambda: len(prom.vector('count_over_time(%s{job="held"}[1m]) > 4' % HELD)) == 1 and
                         len(prom.vector('count_over_time(up{job="counters"}[1m]) > 4')) == 1,
                         60, interval=1.0, alive=[prom.proc])

        # the restart, between two scrapes; the held one without the farm's costliest queue of the month
        month = harness.window_start(by_type, time.time() + offset)
        costliest = max(queues1, key=lambda q: math.fsum(
            float(s["costUsd"]) for s in sim.sessions_between(farm1, month)[0] if s["queueId"] == q))
        gap_start = time.time()
        for e in (exp1, exp2):
            t.check(e.stop() == 0, "%s stops cleanly" % e.proc.name)
        time.sleep(2.5)
        exp1 = start("exporter-restarted", farm0, [spend_day, spend_gauge], ports["counters"])
        exp2b = start("held-restarted", farm1, [by_type], ports["held"],
                      config_with_queues(held_text, [q for q in queues1 if q != costliest]), "state-held")
        gap_end = time.time()
        for e in (exp1, exp2b):
            e.wait_all_up(timeout=120)
        t.check(time.time() + offset < boundary, "restarted before the day's end (%.0fs before)" %
                (boundary - time.time() - offset))

        # the boundary, and a few refreshes of the new day, as Prometheus sees them: a scrape by the test would count
        # as the one the exporter waits for before replacing the closing figures or the zeros
        def new_day():
            end = prom.vector('%s{job="counters",report="spend"}' % harness.USAGE_WINDOW_END)
            return end and end[0][1] >= boundary + 25

        harness.wait_for("the new day's figures", new_day, LEAD + 240, interval=1.0, alive=[exp1.proc, sim.proc])
        time.sleep(3)
        t.check("the window ended" in exp1.log_text(), "the exporter logged the closing refresh")
        t.check("report=spend,spend_gauge op=refresh status=ok" in exp1.log_text(),
                "the counter report and the gauge report of the same window and grouping refreshed as one group")
        gauge_start = prom.vector('%s{job="counters",report="spend_gauge"}' % harness.USAGE_WINDOW_START)
        t.check(gauge_start and gauge_start[0][1] == boundary, "the shared gauge report shows the new day",
                gauge_start)

        records, _ = sim.sessions_between(farm0, boundary - 2 * 86400)
        spend = Spend(records, spend_day.group_by)
        scenario_restart_and_boundary(t, prom, spend, farm0, window_real, (gap_start, gap_end), boundary)
        scenario_held(t, prom, exp2, exp2b, gap_start)
        # after the scenarios: a scrape by the test must not be the one the exporter waits for at the boundary
        _, _, expo = exp1.scrape()
        t.check(expo.series(harness.USAGE_COST, report="spend_gauge") and
                not expo.series(harness.USAGE_COST, report="spend"),
                "the gauge report shows cost gauges, the counter report none")

        held = prom.vector(HELD + '{job="counters"}')
        t.check(held and held[0][1] == 0, "nothing held when spend only grows", held)
        for e in (exp1, exp2b):
            t.check(e.stop() == 0, "%s stops cleanly" % e.proc.name)
        t.check(prom.proc.stop() == 0, "Prometheus stops cleanly")
    return t.status


if __name__ == "__main__":
    sys.exit(main())
