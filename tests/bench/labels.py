#!/usr/bin/env python3
"""labels: what reports[].labels costs and saves: a by_show report over a farm of 10,000 jobs against the same report
without labels (series, refresh time, memory), and SearchJobs' calls per refresh (the queue of each job).

Asserts that the labelled report exports exactly one series per distinct (derived labels, kept labels) of the
simulator's records (labels_oracle computes them independently) and that a refresh without new jobs asks SearchJobs
nothing; prints the figures for docs/benchmarks.md.

  python3 tests/bench/labels.py [--jobs N] [--keep]

Needs EXPORTER and SIMULATOR (meson sets them: `ninja -C build bench-labels`, or `meson test -C build bench-labels`).
"""

import argparse
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
from harness import Failure, log  # noqa: E402
from labels_oracle import LabelledReport, Rule, expected_samples  # noqa: E402

from bench import Sim, mib, proc_cpu, proc_rss, renice_all, result, RESULTS  # noqa: E402

RULES = [
    Rule("show", "job_name", "([a-z0-9]+)_.*", "$1", "unknown"),
    Rule("department", "job_name", ".*_(anim|comp|fx|lgt|lookdev)_.*", "$1", "other"),
    Rule("production", "queue_name", "(.+) - .*", "$1", "unknown"),
]
# farm 0 holds 25 of the simulator's 40 queues: 16,000 jobs put 10,000 in it
FARM0_SHARE = 25 / 40


def config(port, endpoint, farm, report, interval):
    s = harness._libconfig_string
    return ("web = { listen = \"127.0.0.1:%d\"; };\naws = { region = %s; endpoint_url = %s; };\n"
            "farms = ( { id = %s; queues = \"all\"; fleets = \"all\"; } );\n"
            "reports = ( { name = %s; resources = \"queues\"; window = \"101d\"; group_by = %s; statistics = %s; "
            "interval = %s;%s } );\n"
            "inventory = { enabled = true; interval = \"1h\"; budgets = false; };\n"
            % (port, s(harness.REGION), s(endpoint), s(farm), s(report.name), harness._libconfig_list(report.group_by),
               harness._libconfig_list(report.statistics), s(interval), " " + report.extra if getattr(report, "extra", "") else ""))


def search_calls(sim):
    return sum(sim.sim.stats()["requests"].get("SearchJobs", {}).values())


def scrape(port):
    r = harness.http_request(port, "GET", "/metrics", timeout=60)
    return harness.parse_exposition(r.body.decode("utf-8"))


def run(workdir, sim, farm, report, name, interval="1h"):
    """One exporter with one report, until its first refresh: (process, port, refresh seconds, RSS, peak RSS, usage
    series, CPU seconds, log, exposition)."""
    port = harness.free_port()
    path = os.path.join(workdir, name + ".conf")
    with open(path, "w") as f:
        f.write(config(port, sim.url, farm, report, interval))
    proc = harness.Process(name, [harness.env_path("EXPORTER"), "--config", path, "--log-level", "debug"], workdir,
                           env=harness.hermetic_env(workdir))

    def up():
        if harness.http_request(port, "GET", "/-/ready").status != 200:
            return None
        expo = scrape(port)
        ok = expo.value("deadline_cloud_exporter_report_up", {"farm_id": farm, "report": report.name})
        return expo if ok == 1 else None

    expo = harness.wait_for("%s's first refresh" % name, up, 900, interval=0.5, alive=[proc])
    with open(proc.log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    # the first successful refresh's own figure (the gauge holds the last one's)
    duration = float(re.search(r"report=%s op=refresh status=ok .*?duration=([0-9.]+)s" % report.name,
                               text).group(1))
    failed = text.count("report=%s op=refresh status=failed" % report.name)
    if failed:
        log("%s: %d failed refreshes before the first success:\n%s" % (name, failed, "\n".join(
            line for line in text.splitlines() if "status=failed" in line)))
    rss, hwm = proc_rss(proc.pid)
    cpu = proc_cpu(proc.pid)
    series = sum(1 for s in expo.samples if s.name.startswith("deadline_cloud_usage_") and "window" not in s.name)
    return proc, port, duration, rss, hwm, series, cpu, text, expo


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=10000, help="jobs in the farm (default 10000)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="dce-bench-labels-")
    status = 0
    try:
        total_jobs = int(round(args.jobs / FARM0_SHARE))
        sim = Sim(workdir, total_jobs, total_jobs * 6, 0)
        # the simulator stands in for AWS, whose servers are not on this machine's two cores
        renice_all(sim.sim.proc.pid, 19)
        farm = sim.farms[0]["farmId"]
        sessions = sim.sim.sessions(farm)
        jobs = len({s["jobId"] for s in sessions})
        log("labels: a farm of %d jobs, %d queues, %d sessions" % (jobs, len(sim.farms[0]["queueIds"]), len(sessions)))
        plain = harness.Report("by_job", ["JOB_ID", "USAGE_TYPE"], ["SUM"], window="101d")
        labelled = LabelledReport("by_show", ["JOB_ID", "USAGE_TYPE"], RULES, keep=["USAGE_TYPE"], statistics=["SUM"],
                                  window="101d")
        figures = {}
        for rep, name in ((plain, "exporter-plain"), (labelled, "exporter-labels")):
            before = search_calls(sim)
            proc, port, duration, rss, hwm, series, cpu, text, expo = run(
                workdir, sim, farm, rep, name, "1h" if rep is plain else "30s")
            figures[name] = (duration, rss, hwm, series, cpu, search_calls(sim) - before, text, expo, proc, port)
            if name == "exporter-plain":
                proc.stop()
        duration, rss, hwm, series, cpu, searches, text, expo, proc, port = figures["exporter-labels"]
        p_duration, p_rss, p_hwm, p_series, p_cpu, _, _, _, _, _ = figures["exporter-plain"]

        # the cardinality: exactly the distinct (show, department, production, usage type) of the records
        inventory = sim.sim._json("GET", "/__sim/inventory")
        names = {q["queueId"]: q["displayName"] for f in inventory["farms"] if f["farmId"] == farm for q in f["queues"]}
        start = expo.value(harness.USAGE_WINDOW_START, {"farm_id": farm, "report": "by_show"})
        end = expo.value(harness.USAGE_WINDOW_END, {"farm_id": farm, "report": "by_show"})
        want = expected_samples(sessions, farm, labelled, names, start, end)
        keys = {k[1] for k in want}
        if series != len(want):
            raise Failure("by_show exports %d series, the records have %d (%d distinct label sets)"
                          % (series, len(want), len(keys)))
        got = {s.key(): s.value for s in expo.samples if s.name in harness.USAGE_METRICS}
        diffs = harness.compare_samples(got, want)
        if diffs:
            raise Failure("by_show's figures differ from the records merged by the rules:\n  " + "\n  ".join(diffs))
        merge = [m for m in re.finditer(r"op=labels .*?groups=(\d+) labelled=(\d+) regex_runs=(\d+) "
                                        r"duration=([0-9.]+)s", text)]
        result("labels", "series: by_job / by_show (%d jobs)" % jobs, "%d / %d" % (p_series, series),
               "%d distinct (show, department, production, usage type), as the records have" % len(keys))
        result("labels", "first refresh: by_job / by_show", "%.2f / %.2f s" % (p_duration, duration),
               "by_show includes the SearchJobs listing of every job")
        if merge:
            m = merge[-1]
            result("labels", "merge by derived labels: groups -> series", "%s -> %s" % (m.group(1), m.group(2)),
                   "%s regex runs in %.1f ms" % (m.group(3), float(m.group(4)) * 1e3))
        result("labels", "RSS / peak after the first refresh: by_job / by_show",
               "%s / %s vs %s / %s" % (mib(p_rss), mib(p_hwm), mib(rss), mib(hwm)),
               "CPU %.2f / %.2f s" % (p_cpu, cpu))
        listing = re.search(r"op=SearchJobs status=ok .*?resources=(\d+) pages=(\d+) jobs=(\d+) duration=([0-9.]+)s",
                            text)
        if not listing:
            raise Failure("no SearchJobs listing in the log")
        result("labels", "SearchJobs calls, first refresh (%s queues)" % listing.group(1), "%d" % searches,
               "%s jobs listed in %s pages (the usage records' %d and the simulator's live streams) in %.2f s"
               % (listing.group(3), listing.group(2), jobs, float(listing.group(4))))
        # the next refresh (30 s later): no job is new, so SearchJobs is not asked
        key = {"farm_id": farm, "report": "by_show"}
        first = expo.value("deadline_cloud_exporter_report_last_success_timestamp_seconds", key)
        before = search_calls(sim)
        expo = harness.wait_for("the second refresh", lambda: (lambda e: e if e.value(
            "deadline_cloud_exporter_report_last_success_timestamp_seconds", key) > first else None)(scrape(port)),
            120, interval=0.5, alive=[proc])
        again = search_calls(sim) - before
        result("labels", "next refresh: by_show, and its SearchJobs calls",
               "%.2f s, %d calls" % (expo.value("deadline_cloud_exporter_report_duration_seconds", key), again),
               "no new job, nothing to look up")
        if again:
            raise Failure("a refresh without new jobs called SearchJobs %d times" % again)
        proc.stop()
        sim.stop()
    except Failure as e:
        log("FAIL: %s" % e)
        for p in harness._all_processes:
            log("---- last lines of %s (%s) ----\n%s" % (p.name, p.log_path, p.log_tail(15)))
        status = 1
    finally:
        harness._stop_all()
        if args.keep or status:
            log("work directory kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    log("\n== summary ==")
    for r in RESULTS:
        log("| %s | %s | %s | %s |" % r)
    return status


if __name__ == "__main__":
    sys.exit(main())
