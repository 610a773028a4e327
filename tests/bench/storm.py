#!/usr/bin/env python3
"""storm: /metrics while every farm refreshes back to back (a refresh storm), against the same exporter idle.

  python3 tests/bench/storm.py [--seconds S] [--rounds N] [--baseline EXPORTER] [--keep]

Three farms, six reports each and the inventory, all at the shortest interval (10 s) against a simulator that
answers at once (aggregation delay 0, at nice 19 as in bench.py: it stands in for AWS's servers), so every farm
thread refreshes back to back: API requests counted, reports published, inventories listed without pause. The
same exporter with hour-long intervals, once its first refreshes are done, is the idle baseline. For each, wrk
(-t1 -c2, plain and gzip: scrapes/s, p99) and a paced scraper (one gzip scrape every 100 ms on one keep-alive
connection, as Prometheus does: p50, p99, and the CPU time per scrape of the thread serving it, which the other
processes of a shared machine do not change). With --baseline (or BENCH_BASELINE_EXPORTER), another build is
measured the same way in the same run, rounds alternating between the two. A figure, not a pass/fail test: it
fails only when something is broken. Needs EXPORTER, SIMULATOR and wrk (meson sets the first two:
`ninja -C build bench-storm`).
"""

import argparse
import http.client
import os
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from bench import Failure, percentile, renice_all, wrk  # noqa: E402

JOBS = 1800  # ~10k usage series for the JOB_ID reports of farm 0 (bench.py's 10k size)
REPORTS = [
    ("jobs", ["JOB_ID"], "queues"),
    ("jobs_by_type", ["JOB_ID", "USAGE_TYPE"], "queues"),
    ("by_queue", ["QUEUE_ID", "USAGE_TYPE"], "queues"),
    ("by_user", ["USER_ID", "INSTANCE_TYPE"], "queues"),
    ("by_fleet", ["FLEET_ID", "USAGE_TYPE"], "fleets"),
    ("by_license", ["LICENSE_PRODUCT", "QUEUE_ID"], "queues"),
]


def config(port, sim, farm_ids, interval, store_id):
    s = harness._libconfig_string
    farms = ",\n".join('  { id = %s; queues = "all"; fleets = "all"; }' % s(f) for f in farm_ids)
    reports = ",\n".join("  { name = %s; resources = %s; window = \"101d\"; group_by = %s; interval = %s; }"
                         % (s(n), s(res), harness._libconfig_list(g), s(interval)) for n, g, res in REPORTS)
    return ("web = { listen = \"127.0.0.1:%d\"; };\naws = { region = %s; endpoint_url = %s; };\n"
            "farms = (\n%s\n);\nreports = (\n%s\n);\n"
            "inventory = { enabled = true; interval = %s; budgets = true; };\n"
            "identity_store = { id = %s; endpoint_url = %s; };\n"
            % (port, s(harness.REGION), s(sim.url), farms, reports, s(interval), s(store_id), s(sim.url)))


class Exporter:
    def __init__(self, workdir, program, name, sim, farm_ids, interval, store_id):
        self.name = name
        self.port = harness.free_port()
        self.workdir = os.path.join(workdir, name)
        os.makedirs(self.workdir, exist_ok=True)
        path = os.path.join(self.workdir, "exporter.conf")
        with open(path, "w") as f:
            f.write(config(self.port, sim, farm_ids, interval, store_id))
        self.proc = harness.Process("exporter", [program, "--config", path], self.workdir,
                                    env=harness.hermetic_env(self.workdir))
        self.url = "http://127.0.0.1:%d/metrics" % self.port
        self.pairs = len(farm_ids) * len(REPORTS)

    def log_text(self):
        with open(self.proc.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def refreshes(self):
        return self.log_text().count("op=refresh status=ok")

    def wait_up(self):
        def up():
            return (self.refreshes() >= self.pairs and "op=inventory status=ok" in self.log_text()
                    and harness.http_request(self.port, "GET", "/-/ready").status == 200)
        harness.wait_for("%s's first refreshes" % self.name, up, 600, interval=0.2, alive=[self.proc])

    def stop(self):
        st = self.proc.stop()
        if st not in (0, None):
            raise Failure("%s exited with status %s:\n%s" % (self.name, st, self.proc.log_tail()))


def thread_cpu_ns(pid, tids):
    """CPU time in ns of the threads tids of pid (/proc schedstat; a thread gone counts 0)."""
    total = 0
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def paced(exp, seconds, every=0.1):
    """Gzip scrapes started every `every` s on one keep-alive connection, as Prometheus scrapes: their latencies,
    and the CPU time per scrape of the thread that serves the connection (one per connection in libmicrohttpd:
    the thread that appeared with it), which is what a scrape costs whatever else runs."""
    pid = exp.proc.pid
    before = set(os.listdir("/proc/%d/task" % pid))
    conn = http.client.HTTPConnection("127.0.0.1", exp.port, timeout=30)

    def one():
        conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise Failure("scrape answered %d" % r.status)
    one()
    server = set(os.listdir("/proc/%d/task" % pid)) - before
    cpu0, took = thread_cpu_ns(pid, server), []
    end = time.monotonic() + seconds
    nxt = time.monotonic()
    while time.monotonic() < end:
        t0 = time.monotonic()
        one()
        took.append(time.monotonic() - t0)
        nxt += every
        time.sleep(max(0.0, nxt - time.monotonic()))
    cpu = (thread_cpu_ns(pid, server) - cpu0) / len(took) / 1e6
    conn.close()
    return took, cpu


def measure(exp, sim, seconds):
    """wrk plain, wrk gzip, paced gzip; and the refresh traffic meanwhile (refreshes and API requests a second)."""
    def requests():
        return sum(sum(c.values()) for c in sim.stats()["requests"].values())
    r0, q0, t0 = exp.refreshes(), requests(), time.monotonic()
    plain = wrk(exp.url, seconds)
    gz = wrk(exp.url, seconds, gzip_ok=True)
    took, cpu = paced(exp, seconds)
    dt = time.monotonic() - t0
    if not exp.proc.alive():
        raise Failure("%s died" % exp.name)
    return {"plain": plain, "gzip": gz, "paced": took, "cpu": cpu, "refreshes": (exp.refreshes() - r0) / dt,
            "api": (requests() - q0) / dt}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0, help="each wrk run and the paced scrapes (default 10)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--page-size", type=int, default=2,
                    help="rows per page of the simulator's answers: fewer make more requests per refresh (default 2)")
    ap.add_argument("--baseline", default=os.environ.get("BENCH_BASELINE_EXPORTER"),
                    help="another exporter binary measured in the same run (main's, for a before/after)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        harness.log("SKIP: wrk is missing (bash tests/install-deps.sh --bench)")
        return harness.SKIP
    programs = [("this", harness.env_path("EXPORTER"))]
    if args.baseline:
        programs.insert(0, ("baseline", os.path.abspath(args.baseline)))
    workdir = tempfile.mkdtemp(prefix="dce-storm-")
    harness.log("storm: %d CPUs, %s; %s" % (os.cpu_count(), time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
                                           ", ".join("%s = %s" % p for p in programs)))
    results = {}
    status = 0
    try:
        sim = harness.Simulator(workdir, "--jobs", str(JOBS), "--sessions", str(6 * JOBS), "--users", "40",
                                "--aggregation-delay", "0", "--page-size-cap", str(args.page_size), "--quiet",
                                tls=False)
        renice_all(sim.proc.pid, int(os.environ.get("BENCH_SIM_NICE", "19")))
        farm_ids = [f["farmId"] for f in sim.farms()]
        store_id = sim._json("GET", "/__sim/inventory")["identityStoreId"]
        for rnd in range(args.rounds):
            for label, program in programs:
                for mode, interval in (("idle", "1h"), ("storm", "10s")):
                    exp = Exporter(workdir, program, "%s-%s-%d" % (label, mode, rnd), sim, farm_ids, interval,
                                   store_id)
                    exp.wait_up()
                    if mode == "idle":
                        time.sleep(2.0)  # the users looked up, the self-metrics settled
                    m = measure(exp, sim, args.seconds)
                    results.setdefault((label, mode), []).append(m)
                    harness.log("round %d %-8s %-5s plain %7.1f/s p99 %6.1f ms | gzip %7.1f/s p99 %6.1f ms | paced "
                                "p50 %5.1f p99 %5.1f ms, CPU %5.2f ms | %4.2f refreshes/s, %5.0f API requests/s"
                                % (rnd, label, mode, m["plain"]["rps"], m["plain"]["p99"] * 1e3, m["gzip"]["rps"],
                                   m["gzip"]["p99"] * 1e3, percentile(m["paced"], 50) * 1e3,
                                   percentile(m["paced"], 99) * 1e3, m["cpu"], m["refreshes"], m["api"]))
                    exp.stop()
        sim.proc.stop()
    except Failure as e:
        harness.log("FAIL: %s" % e)
        status = 1
    finally:
        harness._stop_all()
        if args.keep or status:
            harness.log("work directory kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if status:
        return status
    # The median round of each (an even number of rounds: the mean of the middle two).
    harness.log("\n| exporter | mode | plain scrapes/s | plain p99 | gzip scrapes/s | gzip p99 | paced gzip p50 / p99 |"
                " CPU per paced scrape | refreshes/s | API requests/s |\n"
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, _ in programs:
        for mode in ("idle", "storm"):
            ms = results[(label, mode)]

            def mid(f):
                v = sorted(f(m) for m in ms)
                return (v[(len(v) - 1) // 2] + v[len(v) // 2]) / 2
            harness.log("| %s | %s | %.1f | %.1f ms | %.1f | %.1f ms | %.1f / %.1f ms | %.2f ms | %.2f | %.0f |" % (
                label, mode, mid(lambda m: m["plain"]["rps"]), mid(lambda m: m["plain"]["p99"]) * 1e3,
                mid(lambda m: m["gzip"]["rps"]), mid(lambda m: m["gzip"]["p99"]) * 1e3,
                mid(lambda m: percentile(m["paced"], 50)) * 1e3, mid(lambda m: percentile(m["paced"], 99)) * 1e3,
                mid(lambda m: m["cpu"]), mid(lambda m: m["refreshes"]), mid(lambda m: m["api"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
