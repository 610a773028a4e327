#!/usr/bin/env python3
"""counters: what counter = true costs a large report: refresh time, CPU, resident memory and the state file.

  python3 tests/bench/counters.py [--jobs N] [--sessions N] [--refreshes N] [--keep]

The same report (farm 0, grouped by JOB_ID and USAGE_TYPE over the month) run by two exporters one after the other
against one simulator (--jobs, --sessions; aggregation delay 0, at nice 19: it stands in for AWS's servers): as
gauges, and as counters with a state directory. For each, after --refreshes refreshes: the median refresh length
(deadline_cloud_exporter_report_duration_seconds, sampled after each refresh: the API calls, the merge, the hold
and the render), the exporter's CPU seconds (the state file written after every publish included), VmRSS and
VmHWM, and for the counters the state file's size. A figure, not a pass/fail test: it fails only when something is
broken. Needs EXPORTER and SIMULATOR (meson's build: build/daemon/deadline_cloud_exporter,
build/tests/simulator/deadline-cloud-simulator).
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
from harness import Report  # noqa: E402


def proc_status(pid):
    """{field: kB} of /proc/PID/status's memory lines."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(rest.split()[0])
    return out


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(workdir, sim, farm, counter, refreshes):
    name = "counters" if counter else "gauges"
    state = os.path.join(workdir, "state-" + name)
    os.mkdir(state)
    report = Report("jobs", ["JOB_ID", "USAGE_TYPE"], ["SUM"], window="month", interval="10s", counter=counter)
    exp = harness.Exporter(workdir, sim, [farm], [report], env={"STATE_DIRECTORY": state}, name=name)
    exp.wait_ready(timeout=300)
    key = {"farm_id": farm, "report": "jobs"}
    durations, seen = [], None
    series = 0
    began = time.time()
    while len(durations) < refreshes:
        if time.time() - began > 60 + 30 * refreshes:
            raise harness.Failure("%s: %d refreshes in %.0fs" % (name, len(durations), time.time() - began))
        _, _, expo = exp.scrape()
        last = expo.value("deadline_cloud_exporter_report_last_success_timestamp_seconds", key)
        if last and last != seen:
            seen = last
            durations.append(expo.value("deadline_cloud_exporter_report_duration_seconds", key))
            series = len(expo.series("deadline_cloud_usage_cost_usd_total" if counter else
                                     "deadline_cloud_usage_cost_usd"))
        time.sleep(0.5)
    mem = proc_status(exp.proc.pid)
    cpu = cpu_seconds(exp.proc.pid)
    files = [os.path.join(state, f) for f in os.listdir(state)]
    size = sum(os.path.getsize(f) for f in files)
    exp.stop()
    return {"name": name, "series": series, "median_s": statistics.median(durations), "cpu_s": cpu,
            "rss_kib": mem["VmRSS"], "hwm_kib": mem["VmHWM"], "state_bytes": size, "files": len(files)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=20000)
    ap.add_argument("--sessions", type=int, default=200000)
    ap.add_argument("--refreshes", type=int, default=5)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="dce-bench-counters-")
    try:
        sim = harness.Simulator(workdir, "--jobs", str(args.jobs), "--sessions", str(args.sessions),
                                "--aggregation-delay", "0", "--quiet")
        os.setpriority(os.PRIO_PROCESS, sim.proc.pid, 19)
        farm = sim.farms()[0]["farmId"]
        rows = [run(workdir, sim, farm, c, args.refreshes) for c in (False, True)]
        print("| report | series | refresh (median of %d) | CPU over them | VmRSS | VmHWM | state file |"
              % args.refreshes)
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for r in rows:
            print("| %s | %d | %.3f s | %.2f s | %.1f MiB | %.1f MiB | %s |"
                  % (r["name"], r["series"], r["median_s"], r["cpu_s"], r["rss_kib"] / 1024, r["hwm_kib"] / 1024,
                     "%.2f MiB" % (r["state_bytes"] / 1048576) if r["files"] else "-"))
        sim.proc.stop()
    finally:
        harness._stop_all()
        if args.keep:
            print("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
