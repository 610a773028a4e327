#!/usr/bin/env python3
"""test_prometheus: a real Prometheus scrapes the exporter; PromQL returns the simulator's cost."""

import json
import math
import os
import sys
import urllib.parse

import harness
from harness import Report

PROMETHEUS = "/usr/bin/prometheus"
REPORTS = [
    Report("cost_month", ["QUEUE_ID"], ["SUM", "MAX"], window="month", interval="10s"),
    Report("fleet_cost_7d", ["FLEET_ID", "USAGE_TYPE"], ["SUM"], resources="fleets", window="7d", interval="10s"),
]
QUERY_TIMEOUT = 120.0


def prometheus_config(path, exporter_port):
    # YAML is a superset of JSON: no YAML writer needed
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{
            "job_name": "deadline_cloud_exporter",
            "scrape_interval": "1s",
            "scrape_timeout": "1s",
            "static_configs": [{"targets": ["%s:%d" % (harness.LOOPBACK, exporter_port)]}],
        }],
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)


class Prometheus:
    def __init__(self, workdir, exporter_port):
        self.port = harness.free_port()
        config = os.path.join(workdir, "prometheus.yml")
        storage = os.path.join(workdir, "prometheus-data")
        os.mkdir(storage)
        prometheus_config(config, exporter_port)
        args = [PROMETHEUS, "--config.file=" + config, "--storage.tsdb.path=" + storage,
                "--web.listen-address=%s:%d" % (harness.LOOPBACK, self.port), "--log.level=warn"]
        self.proc = harness.Process("prometheus", args, workdir)
        harness.log("prometheus: pid %d on http://%s:%d/" % (self.proc.pid, harness.LOOPBACK, self.port))

    def wait_ready(self, timeout=90.0):
        harness.wait_for("Prometheus's /-/ready",
                         lambda: harness.http_request(self.port, "GET", "/-/ready", timeout=5).status == 200,
                         timeout, alive=[self.proc])

    def query(self, promql):
        """An instant query: [(labels, value)]; Failure on an API error."""
        r = harness.http_request(self.port, "GET", "/api/v1/query?query=" + urllib.parse.quote(promql, safe=""),
                                 timeout=10)
        doc = json.loads(r.body.decode("utf-8"))
        if r.status != 200 or doc.get("status") != "success":
            raise harness.Failure("query %s: HTTP %d %s" % (promql, r.status, doc))
        if doc["data"]["resultType"] != "vector":
            raise harness.Failure("query %s: a %s, not a vector" % (promql, doc["data"]["resultType"]))
        return [(item["metric"], float(item["value"][1])) for item in doc["data"]["result"]]


def expected_costs(sim, sim_farms, rep):
    """{farm: Σ cost} over the window of the latest refresh of every farm (as the exporter asked for it)."""
    aggregations = sim.aggregations()
    out = {}
    for f in sim_farms:
        refs = harness.refreshes(aggregations, f["farmId"], rep)
        if not refs:
            raise harness.Failure("no aggregation recorded for %s/%s" % (f["farmId"], rep.name))
        resources = f["queueIds"] if rep.resources == "queues" else f["fleetIds"]
        expected = harness.expected_samples(sim.sessions(f["farmId"]), f["farmId"], rep, resources, refs[-1].start,
                                            refs[-1].end)
        out[f["farmId"]] = math.fsum(v for (metric, labels), v in expected.items()
                                     if metric == harness.USAGE_COST)
    return out


def main():
    with harness.Test("prometheus") as t:
        if not os.access(PROMETHEUS, os.X_OK):
            raise harness.Skip("%s is not installed" % PROMETHEUS)
        sim = harness.Simulator(t.workdir, "--aggregation-delay", "100", "--quiet")
        sim_farms = sim.farms()
        farm_ids = [f["farmId"] for f in sim_farms]
        exp = harness.Exporter(t.workdir, sim, farm_ids, REPORTS)
        exp.wait_ready(timeout=180)
        exp.wait_all_up(timeout=120)
        prom = Prometheus(t.workdir, exp.port)
        prom.wait_ready()

        for rep in REPORTS:
            query = 'sum(deadline_cloud_usage_cost_usd{report="%s"})' % rep.name
            state = {}

            def converged():
                # the rolling window moves: recompute what the exporter's latest refresh must show
                per_farm = expected_costs(sim, sim_farms, rep)
                state["expected"] = math.fsum(per_farm.values())
                result = prom.query(query)
                state["got"] = result[0][1] if len(result) == 1 else result
                return len(result) == 1 and harness.close(result[0][1], state["expected"])

            try:
                harness.wait_for("Prometheus to return the simulator's cost for %s" % rep.name, converged,
                                 QUERY_TIMEOUT, interval=1.0, alive=[prom.proc, exp.proc, sim.proc])
                t.ok("%s = %.10g, the simulator's records give %.10g" % (query, state["got"], state["expected"]))
            except harness.Failure as e:
                t.check(False, str(e), "got %s, expected %s" % (state.get("got"), state.get("expected")))
                continue

            # per farm too, through a grouping query
            per_farm = expected_costs(sim, sim_farms, rep)
            result = prom.query('sum by (farm_id) (deadline_cloud_usage_cost_usd{report="%s"})'
                                % rep.name)
            got = {labels.get("farm_id"): value for labels, value in result}
            for farm, cost in per_farm.items():
                if cost == 0 and farm not in got:
                    continue  # no usage, no series
                t.check(farm in got and harness.close(got[farm], cost),
                        "Prometheus's cost of %s/%s is the simulator's" % (farm[:13], rep.name),
                        "got %s, expected %r" % (got.get(farm), cost))

        up = prom.query('up{job="deadline_cloud_exporter"}')
        t.check(len(up) == 1 and up[0][1] == 1, "Prometheus sees the target up", up)
        health = prom.query("scrape_samples_scraped{job=\"deadline_cloud_exporter\"}")
        t.check(len(health) == 1 and health[0][1] > 0, "Prometheus scraped samples", health)
        build = prom.query("deadline_cloud_exporter_build_info")
        t.check(len(build) == 1 and build[0][1] == 1, "build_info reached Prometheus", build)

        status = prom.proc.stop()
        t.check(status == 0, "Prometheus stops cleanly", status)
        t.check(exp.proc.alive(), "the exporter is still running")
        status = exp.proc.stop()
        t.check(status == 0, "the exporter stops cleanly on SIGTERM (status 0)", status)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
