#!/usr/bin/env python3
"""compare_exporters: two exporter binaries against one simulator: is their /metrics the same text?

  python3 tests/bench/compare_exporters.py EXPORTER_A EXPORTER_B

For refactorings that must not change the output. Both run the same configuration (five reports over every
farm, the inventory, the identity store's user names) against one simulator whose inventory clock is pinned;
once each (one after the other) has refreshed everything, listed every inventory and looked every user up,
/metrics is read plain and gzip. The values that depend on when each process did its work (refresh times and durations,
API request counts, process_*) are masked; every other byte (families, their order, HELP and TYPE, labels,
escaping, the other values) must be the same, and each gzip must inflate to its plain text. Exits 1 on a
difference (the first one printed). Needs SIMULATOR (meson sets it for the bench suite; or the build's path).
"""

import gzip
import os
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

REPORTS = [
    harness.Report("by_queue", ["QUEUE_ID", "USAGE_TYPE"], window="101d", interval="1h"),
    harness.Report("by_job", ["JOB_ID"], statistics=["MIN", "MAX"], window="101d", interval="1h"),
    harness.Report("by_user", ["USER_ID", "INSTANCE_TYPE"], window="101d", interval="1h"),
    harness.Report("by_fleet", ["FLEET_ID", "LICENSE_PRODUCT"], resources="fleets", window="101d", interval="1h"),
    harness.Report("top_jobs", ["JOB_ID", "USAGE_TYPE"], window="101d", interval="1h", limit=20),
]

# Families whose values depend on the moment or the pace of each process's work.
VOLATILE = ("deadline_cloud_usage_window_start_timestamp_seconds", "deadline_cloud_usage_window_end_timestamp_seconds",
            "deadline_cloud_exporter_report_last_success_timestamp_seconds",
            "deadline_cloud_exporter_report_duration_seconds", "deadline_cloud_exporter_api_requests_total",
            "deadline_cloud_exporter_api_retries_total",
            "deadline_cloud_exporter_inventory_last_success_timestamp_seconds", "process_")
SAMPLE = re.compile(rb"^(?P<series>(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?) (?P<value>\S+)$", re.M)


def masked(text):
    def mask(m):
        if m.group("name").decode().startswith(VOLATILE):
            return m.group("series") + b" X"
        return m.group(0)
    return SAMPLE.sub(mask, text)


def read(exp):
    """(plain text, gzip size) of two scrapes a moment apart that show the same state (the process metrics are
    read again every second, the self-metrics may have changed in between: then again)."""
    for _ in range(10):
        plain = harness.http_request(exp.port, "GET", "/metrics").body
        r = harness.http_request(exp.port, "GET", "/metrics", headers={"Accept-Encoding": "gzip"})
        if r.header("content-encoding") != "gzip":
            raise harness.Failure("%s: no gzip answer" % exp.name)
        if gzip.decompress(r.body) == plain:
            return plain, len(r.body)
        time.sleep(0.3)
    raise harness.Failure("the gzip scrapes of %s do not inflate to the plain ones" % exp.name)


class Exp(harness.Exporter):
    def __init__(self, workdir, sim, farm_ids, program, name, extra):
        os.environ["EXPORTER"] = program
        os.makedirs(os.path.join(workdir, name), exist_ok=True)
        super().__init__(os.path.join(workdir, name), sim, farm_ids, REPORTS, extra_config=extra)
        self.name = name


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    workdir = tempfile.mkdtemp(prefix="compare-exporters-")
    sim = harness.Simulator(workdir, "--aggregation-delay", "50", "--inventory-step", "86400", "--quiet")
    inv = sim._json("GET", "/__sim/inventory")
    sim._json("POST", "/__sim/inventory", {"step": 3})
    farm_ids = [f["farmId"] for f in sim.farms()]
    extra = ('inventory = { enabled = true; interval = "1h"; budgets = true; };\n'
             'identity_store = { id = "%s"; region = "%s"; endpoint_url = "%s"; };\n'
             % (inv["identityStoreId"], inv["identityRegion"], sim.url))
    # One after the other: a farm runs one aggregation at a time, so two exporters at once would throttle each other
    # (429s, retries: other series). The simulator's data and ids do not depend on the order.
    texts = []
    for k, program in zip("ab", sys.argv[1:]):
        e = Exp(workdir, sim, farm_ids, os.path.abspath(program), "exporter-%s" % k, extra)
        e.wait_ready(timeout=300)
        e.wait_all_up(timeout=300)
        # Settled: every user of the figures looked up (DescribeUser is paced at 4 calls a second) and every
        # inventory listed: the user_info lines the same for 3 s.
        seen = []

        def settled():
            text = read(e)[0]
            listed = all(b'deadline_cloud_exporter_inventory_up{farm_id="%s"} 1' % f.encode() in text for f in farm_ids)
            seen.append(text.count(b"\ndeadline_cloud_user_info{") if listed else None)
            return len(seen) >= 4 and seen[-1] and len(set(seen[-4:])) == 1
        harness.wait_for("the users and inventories of %s" % e.name, settled, 180, interval=1.0)
        time.sleep(1.5)  # the self-metrics rendered again (at most once a second)
        plain, gz_len = read(e)
        texts.append(masked(plain))
        harness.log("%s: %d bytes, %d lines, gzip %d bytes" % (e.name, len(plain), plain.count(b"\n"), gz_len))
        e.stop()
    sim.proc.stop()
    if texts[0] == texts[1]:
        harness.log("identical (volatile values masked): %d bytes" % len(texts[0]))
        return 0
    for i, (x, y) in enumerate(zip(texts[0].split(b"\n"), texts[1].split(b"\n"))):
        if x != y:
            harness.log("first difference at line %d:\n  a: %r\n  b: %r" % (i + 1, x[:300], y[:300]))
            break
    else:
        harness.log("one text is a prefix of the other (%d and %d bytes)" % (len(texts[0]), len(texts[1])))
    return 1


if __name__ == "__main__":
    sys.exit(main())
