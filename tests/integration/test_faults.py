#!/usr/bin/env python3
"""test_faults: throttling, server errors and broken bodies: figures stay whole, report_up follows, no crash."""

import sys
import time

import harness
import oracles
from harness import Report

REPORTS = [
    Report("cost_month", ["QUEUE_ID", "USAGE_TYPE"], harness.STATISTICS, window="month", interval="10s"),
    Report("fleet_month", ["FLEET_ID"], ["SUM", "AVG"], resources="fleets", window="month", interval="10s"),
]
FAULTS = {"throttle": 0.3, "error": 0.25, "broken": 0.25}
FAULT_PHASE_MIN = 30.0   # seconds of scraping under faults, at least
FAULT_PHASE_MAX = 90.0  # and at most, waiting to see every report fail
RECOVERY_TIMEOUT = 180.0


class Expectations:
    """The acceptable figures of (farm, report): those of any window the exporter asked for."""

    def __init__(self, sim, sim_farms):
        self.sim = sim
        self.farms = {f["farmId"]: f for f in sim_farms}
        self.sessions = {f: sim.sessions(f) for f in self.farms}
        self.cache = {}

    def candidates(self, farm, rep, aggregations):
        f = self.farms[farm]
        resources = f["queueIds"] if rep.resources == "queues" else f["fleetIds"]
        out = []
        for ref in reversed(harness.refreshes(aggregations, farm, rep)):
            key = (farm, rep.name, ref.start, ref.end)
            if key not in self.cache:
                self.cache[key] = harness.expected_samples(self.sessions[farm], farm, rep, resources, ref.start,
                                                           ref.end)
            out.append((ref, self.cache[key]))
        return out

    def match(self, farm, rep, got, aggregations):
        """(True, window) when got equals the figures of one window asked for; else (False, differences)."""
        first = None
        for ref, expected in self.candidates(farm, rep, aggregations):
            diffs = harness.compare_samples(got, expected)
            if not diffs:
                return True, (ref.start_text, ref.end_text)
            if first is None:
                first = diffs
        return False, first or ["no aggregation recorded"]


def check_scrape(t, exp, expect, aggregations_fn, state):
    """One scrape under faults: a whole, valid exposition with every report's figures whole."""
    _, _, expo = exp.scrape()
    state["scrapes"] += 1
    aggregations = None
    for farm in exp.farm_ids:
        for rep in REPORTS:
            key = {"farm_id": farm, "report": rep.name}
            up = expo.value("deadline_cloud_exporter_report_up", key)
            if up is None:
                t.check(False, "report_up of %s is served" % key)
                continue
            state["up"].setdefault((farm, rep.name), []).append(up)
            got = harness.scraped_samples(expo, farm, rep.name)
            last = state["figures"].get((farm, rep.name))
            if last is not None and got == last:
                continue  # the same figures as a scrape already checked
            if aggregations is None:
                aggregations = aggregations_fn()
            ok, detail = expect.match(farm, rep, got, aggregations)
            if t.check(ok, "figures of %s/%s are whole (scrape %d, up=%s)" % (farm[:13], rep.name,
                                                                                 state["scrapes"], up), *detail):
                state["figures"][(farm, rep.name)] = got
    return expo


def main():
    with harness.Test("faults") as t:
        sim = harness.Simulator(t.workdir, "--aggregation-delay", "200", "--fault-seed", "7", "--quiet",
                                request_log=True)
        sim_farms = sim.farms()
        farm_ids = [f["farmId"] for f in sim_farms]
        expect = Expectations(sim, sim_farms)
        exp = harness.Exporter(t.workdir, sim, farm_ids, REPORTS)
        exp.wait_ready(timeout=180)
        exp.wait_all_up(timeout=120)
        state = {"scrapes": 0, "up": {}, "figures": {}}

        # the first good refresh, checked in full
        check_scrape(t, exp, expect, sim.aggregations, state)
        t.check(len(state["figures"]) == len(farm_ids) * len(REPORTS), "every report's first figures are right")

        sim.set_faults(**FAULTS)
        t.ok("faults on: %s" % FAULTS)
        began = time.monotonic()
        failed = set()
        while True:
            elapsed = time.monotonic() - began
            expo = check_scrape(t, exp, expect, sim.aggregations, state)
            for pair, ups in state["up"].items():
                if ups and ups[-1] == 0:
                    failed.add(pair)
            if elapsed >= FAULT_PHASE_MIN and len(failed) == len(farm_ids) * len(REPORTS):
                break
            if elapsed >= FAULT_PHASE_MAX:
                break
            t.check(exp.request("GET", "/-/healthy").status == 200, "/-/healthy stays 200 under faults")
            time.sleep(0.3)
        t.check(failed, "report_up went to 0 for some report under faults (%d of %d did)"
                % (len(failed), len(farm_ids) * len(REPORTS)))
        if len(failed) < len(farm_ids) * len(REPORTS):
            t.note("reports that never showed up=0: %s" % sorted(set(state["up"]) - failed))
        stats = sim.stats()
        t.check(stats.get("faultsInjected", 0) > 0, "the simulator injected faults", stats.get("faultsInjected"))
        codes = {s.labels.get("code") for s in expo.series("deadline_cloud_exporter_api_requests_total")}
        t.check(codes - {"200"}, "api_requests_total counts the failed answers too", sorted(codes))
        t.note("api_requests_total codes seen: %s" % sorted(codes))

        sim.set_faults(0.0, 0.0, 0.0)
        cleared = time.time()
        t.ok("faults off after %d scrapes" % state["scrapes"])
        expo = exp.wait_all_up(timeout=RECOVERY_TIMEOUT, since=cleared)
        t.ok("report_up is back to 1 everywhere with a success after the faults ended")
        # figures after recovery: those of the latest window, exactly
        aggregations = sim.aggregations()
        for farm in farm_ids:
            for rep in REPORTS:
                got = harness.scraped_samples(expo, farm, rep.name)
                # the latest window, or the one before when a refresh is under way
                cands = expect.candidates(farm, rep, aggregations)[:2]
                results = [harness.compare_samples(got, expected) for _, expected in cands]
                ok = any(not d for d in results)
                t.check(ok, "%s/%s: figures match again after the faults" % (farm[:13], rep.name),
                        *(results[0] if results else ["no aggregation recorded"]))
        for pair, ups in sorted(state["up"].items()):
            t.note("%s/%s report_up over %d scrapes: %d at 0" % (pair[0][:13], pair[1], len(ups), ups.count(0)))

        # retries and their fault answers too: signed as botocore signs, shaped as the model says
        oracles.check_exporter_requests(t, sim, {harness.ACCESS_KEY_ID: (harness.SECRET_ACCESS_KEY, None)},
                                        harness.REGION)

        t.check(exp.proc.alive(), "the exporter never crashed")
        status = exp.proc.stop()
        t.check(status == 0, "the exporter stops cleanly on SIGTERM (status 0)", status)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
