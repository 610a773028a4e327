#!/usr/bin/env python3
"""reference_exporter: what a user would write instead of deadline-cloud-exporter (the benchmarks' baseline).

boto3's 'deadline' client (endpoint_url at the simulator, AWS_DATA_PATH at tests/bench/aws-model for the
service model), a background thread that refreshes one report every interval (Start, wait, paginate every
page, merge, swap), and prometheus_client's HTTP server with a custom collector over the last snapshot.

usage: reference_exporter.py --port P --endpoint URL --farm F [--queues q1,q2 | all] --group-by JOB_ID
                             [--window-days D] [--interval S] [--report NAME]
Self-metrics: reference_refresh_success, reference_refresh_duration_seconds, reference_refresh_cpu_seconds,
reference_refresh_rows, reference_refreshes_total.
"""
import argparse
import datetime
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("AWS_DATA_PATH", os.path.join(HERE, "aws-model"))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from prometheus_client import start_http_server  # noqa: E402
from prometheus_client.core import REGISTRY, GaugeMetricFamily, CounterMetricFamily  # noqa: E402

LABEL_OF = {"QUEUE_ID": "queueId", "FLEET_ID": "fleetId", "JOB_ID": "jobId", "USER_ID": "userId",
            "USAGE_TYPE": "usageType", "INSTANCE_TYPE": "instanceType", "LICENSE_PRODUCT": "licenseProduct"}
METRIC_LABEL = {"QUEUE_ID": "queue_id", "FLEET_ID": "fleet_id", "JOB_ID": "job_id", "USER_ID": "user_id",
                "USAGE_TYPE": "usage_type", "INSTANCE_TYPE": "instance_type", "LICENSE_PRODUCT": "license_product"}
STATS = ["SUM", "MIN", "MAX", "AVG"]


class State:
    def __init__(self):
        self.rows = {}          # group key -> merged figures
        self.label_names = []
        self.success = 0.0
        self.duration = 0.0
        self.cpu = 0.0
        self.nrows = 0
        self.refreshes = 0


STATE = State()


def merge(groups, key, row, job_name):
    c = row.get("costInUsd", {})
    r = row.get("runtimeInSeconds", {})
    n = row.get("count", 0)
    g = groups.get(key)
    if g is None:
        groups[key] = {"count": n, "job_name": job_name,
                       "cost": {"sum": c.get("sum", 0.0), "min": c.get("min"), "max": c.get("max")},
                       "runtime": {"sum": r.get("sum", 0.0), "min": r.get("min"), "max": r.get("max")}}
        return
    g["count"] += n
    for name, src in (("cost", c), ("runtime", r)):
        d = g[name]
        d["sum"] += src.get("sum", 0.0)
        if src.get("min") is not None:
            d["min"] = src["min"] if d["min"] is None else min(d["min"], src["min"])
        if src.get("max") is not None:
            d["max"] = src["max"] if d["max"] is None else max(d["max"], src["max"])


def refresh(client, args):
    t0, c0 = time.monotonic(), time.process_time()
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    start = now - datetime.timedelta(days=args.window_days)
    if args.queues == "all":
        queues = [q["queueId"] for page in client.get_paginator("list_queues").paginate(farmId=args.farm)
                  for q in page["queues"]]
    else:
        queues = args.queues.split(",")
    groups = {}
    nrows = 0
    for i in range(0, len(queues), 10):
        while True:
            try:
                agg = client.start_sessions_statistics_aggregation(
                    farmId=args.farm, resourceIds={"queueIds": queues[i:i + 10]}, startTime=start, endTime=now,
                    groupBy=args.group_by, statistics=STATS, timezone="UTC+00:00", period="MONTHLY")
                break
            except client.exceptions.ThrottlingException:
                time.sleep(1)
        agg_id = agg["aggregationId"]
        while True:
            first = client.get_sessions_statistics_aggregation(farmId=args.farm, aggregationId=agg_id)
            if first["status"] != "IN_PROGRESS":
                break
            time.sleep(0.5)
        if first["status"] != "COMPLETED":
            raise RuntimeError("aggregation %s" % first["status"])
        paginator = client.get_paginator("get_sessions_statistics_aggregation")
        for page in paginator.paginate(farmId=args.farm, aggregationId=agg_id):
            for row in page.get("statistics", []):
                key = tuple(row.get(LABEL_OF[g], "") for g in args.group_by)
                merge(groups, key, row, row.get("jobName", ""))
                nrows += 1
    STATE.rows = groups
    STATE.label_names = [METRIC_LABEL[g] for g in args.group_by]
    STATE.success = time.time()
    STATE.duration = time.monotonic() - t0
    STATE.cpu = time.process_time() - c0
    STATE.nrows = nrows
    STATE.refreshes += 1
    print("refresh ok rows=%d groups=%d duration=%.3f cpu=%.3f" % (nrows, len(groups), STATE.duration, STATE.cpu),
          flush=True)


class Collector:
    def __init__(self, args):
        self.args = args

    def collect(self):
        base = ["farm_id", "report"] + STATE.label_names
        if "job_id" in base:
            base.append("job_name")
        # each statistic its own metric, as the exporter's version 2
        names = {("cost", "sum"): "deadline_cloud_usage_cost_usd",
                 ("runtime", "sum"): "deadline_cloud_usage_runtime_seconds"}
        for stat in ("min", "max", "avg"):
            names[("cost", stat)] = "deadline_cloud_usage_session_cost_%s_usd" % stat
            names[("runtime", stat)] = "deadline_cloud_usage_session_runtime_%s_seconds" % stat
        families = {k: GaugeMetricFamily(n, "Usage figure %s of %s." % k[::-1], labels=base) for k, n in names.items()}
        sessions = GaugeMetricFamily("deadline_cloud_usage_sessions", "Number of sessions.", labels=base)
        rows = STATE.rows
        for key, g in rows.items():
            lv = [self.args.farm, self.args.report] + list(key)
            if "job_name" in base:
                lv.append(g["job_name"])
            sessions.add_metric(lv, g["count"])
            for name in ("cost", "runtime"):
                d = g[name]
                avg = d["sum"] / g["count"] if g["count"] else 0.0
                for stat, v in (("sum", d["sum"]), ("min", d["min"]), ("max", d["max"]), ("avg", avg)):
                    families[(name, stat)].add_metric(lv, v if v is not None else float("nan"))
        yield from families.values()
        yield sessions
        yield GaugeMetricFamily("reference_refresh_success", "1 once a refresh succeeded", value=1 if STATE.success else 0)
        yield GaugeMetricFamily("reference_refresh_duration_seconds", "last refresh", value=STATE.duration)
        yield GaugeMetricFamily("reference_refresh_cpu_seconds", "CPU of the last refresh", value=STATE.cpu)
        yield GaugeMetricFamily("reference_refresh_rows", "rows of the last refresh", value=STATE.nrows)
        yield CounterMetricFamily("reference_refreshes", "refreshes done", value=STATE.refreshes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--farm", required=True)
    ap.add_argument("--queues", default="all")
    ap.add_argument("--group-by", default="JOB_ID")
    ap.add_argument("--window-days", type=float, default=101)
    ap.add_argument("--interval", type=float, default=3600)
    ap.add_argument("--report", default="bench")
    args = ap.parse_args()
    args.group_by = args.group_by.split(",")
    client = boto3.client("deadline", endpoint_url=args.endpoint, region_name=os.environ.get("AWS_REGION", "us-west-2"),
                          # the model's "management." host prefix would turn 127.0.0.1 into a name
                          config=Config(inject_host_prefix=False, retries={"mode": "standard"}))
    REGISTRY.register(Collector(args))
    start_http_server(args.port, addr="127.0.0.1")
    print("listening on 127.0.0.1:%d" % args.port, flush=True)
    while True:
        began = time.monotonic()
        try:
            refresh(client, args)
        except Exception as e:  # a user's exporter logs and carries on
            print("refresh failed: %r" % e, file=sys.stderr, flush=True)
        time.sleep(max(1.0, args.interval - (time.monotonic() - began)))


if __name__ == "__main__":
    main()
