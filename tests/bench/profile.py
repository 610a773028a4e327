#!/usr/bin/env python3
"""profile: perf record (cpu-clock, call graphs) of the exporter during a 1M-series scrape load and during a
100k-row ingest; prints perf report's top functions. Needs perf (linux-perf) and the bench environment
(EXPORTER, SIMULATOR). Usage: python3 tests/bench/profile.py [scrape] [ingest] [--jobs N] [--out DIR]"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import harness  # noqa: E402


def report(data, out, title):
    for mode, extra in (("self", ["--no-children"]), ("children", ["--children"])):
        txt = subprocess.run(["perf", "report", "-i", data, "--stdio", "--percent-limit", "1.5", "-g", "none",
                              "--sort", "symbol"] + extra, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()
        path = os.path.join(out, "%s-%s.txt" % (title, mode))
        with open(path, "w") as f:
            f.write(txt)
        print("==== %s (%s) -> %s" % (title, mode, path))
        print("\n".join(l for l in txt.splitlines() if l.strip() and not l.startswith("#"))[:3000])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", nargs="*", default=["scrape", "ingest"])
    ap.add_argument("--jobs", type=int, default=178000)
    ap.add_argument("--ingest-jobs", type=int, default=400000)
    ap.add_argument("--out", default=tempfile.mkdtemp(prefix="dce-profile-"))
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="dce-prof-")
    if "scrape" in args.what:
        sim, farm, exp = bench.start_world(workdir, args.jobs, name="exporter-prof-scrape")
        exp.wait_up()
        for gz in (False, True):
            name = "scrape-%s" % ("gzip" if gz else "identity")
            data = os.path.join(args.out, name + ".data")
            perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-g", "-o", data, "-p", str(exp.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            r = bench.wrk(exp.url + "/metrics", 10, gzip_ok=gz)
            print(name, bench.fmt_wrk(r))
            perf.send_signal(2)
            perf.wait()
            report(data, args.out, name)
        exp.stop()
        sim.stop()
    if "ingest" in args.what:
        sim = bench.Sim(workdir, args.ingest_jobs, args.ingest_jobs * 6, 0)
        farm = sim.farms[0]["farmId"]
        queues = sim.farms[0]["queueIds"][:10]
        data = os.path.join(args.out, "ingest.data")
        port = harness.free_port()
        conf = os.path.join(workdir, "ingest.conf")
        with open(conf, "w") as f:
            f.write(bench.exporter_config(port, sim.url, [(farm, queues)],
                                          [{"name": "jobs", "group_by": ["JOB_ID"], "window": "101d", "interval": "1h"}]))
        logp = os.path.join(workdir, "ingest.log")
        with open(logp, "wb") as lf:
            p = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-g", "-o", data, "--",
                                  harness.env_path("EXPORTER"), "--config", conf],
                                 stdout=lf, stderr=subprocess.STDOUT, env=harness.hermetic_env(workdir))
            harness.wait_for("the refresh", lambda: b"op=refresh status=ok" in open(logp, "rb").read(), 600)
            time.sleep(0.3)
            subprocess.run(["pkill", "-TERM", "-P", str(p.pid)])  # the exporter is perf's child
            p.wait()
        print([l for l in open(logp).read().splitlines() if "op=refresh" in l])
        report(data, args.out, "ingest")
        sim.stop()
    print("perf data in", args.out)


if __name__ == "__main__":
    main()
