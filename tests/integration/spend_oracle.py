"""spend_oracle: what a counter report must show, from the simulator's session records alone (not the exporter's code),
and a real Prometheus' samples and queries to compare it with."""

import bisect
import json
import math
import os
import urllib.parse

import harness

PROMETHEUS = "/usr/bin/prometheus"
# where Debian's libfaketime puts its thread-safe library
FAKETIME_LIBRARIES = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                      "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
                      "/usr/lib/faketime/libfaketimeMT.so.1")


def faketime_library():
    """The libfaketime to preload, or None when it is not installed."""
    for path in FAKETIME_LIBRARIES:
        if os.access(path, os.R_OK):
            return path
    return None


def faketime_env(offset_seconds):
    """The environment that runs a program offset_seconds ahead of the real clock (the monotonic clock unchanged)."""
    env = {"LD_PRELOAD": faketime_library(), "FAKETIME": "+%d" % offset_seconds, "DONT_FAKE_MONOTONIC": "1"}
    # An AddressSanitizer build refuses to start when a preloaded library comes before its runtime; libfaketime
    # only wraps the clock calls, so the order does not matter to ASan's checks and the check is turned off.
    asan = os.environ.get("ASAN_OPTIONS")
    if asan is not None:
        env["ASAN_OPTIONS"] = asan + ":verify_asan_link_order=0"
    return env


def timezone_for_midnight_at(boundary):
    """The API's timezone ("UTC+05:30") whose midnight is the UTC instant boundary (a multiple of 30 minutes)."""
    offset = (-int(boundary)) % 86400
    if offset > 43200:
        offset -= 86400
    return "UTC%s%02d:%02d" % ("-" if offset < 0 else "+", abs(offset) // 3600, abs(offset) % 3600 // 60)


class Spend:
    """Per group of group_by fields, every session's start, cost and run time, in start order: the spend of any
    [start, end) range."""

    def __init__(self, sessions, group_by):
        self.group_by = list(group_by)
        groups = {}
        for s in sessions:
            key = tuple(s.get(harness.GROUP_FIELDS[g][0]) or "" for g in self.group_by)
            groups.setdefault(key, []).append((float(s["startTime"]), float(s["costUsd"]),
                                               float(s["runtimeSeconds"])))
        self.groups = {}
        for key, rows in groups.items():
            rows.sort(key=lambda r: r[0])
            self.groups[key] = ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])

    def key_of(self, labels):
        """The group of a series' labels."""
        return tuple(labels.get(harness.GROUP_FIELDS[g][1], "") for g in self.group_by)

    def of(self, key, start, end):
        """(cost, run time, sessions) of group key's sessions starting in [start, end)."""
        starts, costs, runtimes = self.groups.get(key, ([], [], []))
        a, b = bisect.bisect_left(starts, start), bisect.bisect_left(starts, end)
        return math.fsum(costs[a:b]), math.fsum(runtimes[a:b]), b - a

    def total(self, start, end):
        """(cost, run time, sessions) of every group."""
        cost, runtime, count = [], [], 0
        for key in self.groups:
            c, r, n = self.of(key, start, end)
            cost.append(c)
            runtime.append(r)
            count += n
        return math.fsum(cost), math.fsum(runtime), count


class Prometheus:
    """A real Prometheus scraping each (job, port) every second."""

    def __init__(self, workdir, targets):
        self.port = harness.free_port()
        config = os.path.join(workdir, "prometheus.yml")
        storage = os.path.join(workdir, "prometheus-data")
        os.mkdir(storage)
        # YAML is a superset of JSON: no YAML writer needed
        doc = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
               "scrape_configs": [{"job_name": job, "scrape_interval": "1s", "scrape_timeout": "1s",
                                   "static_configs": [{"targets": ["%s:%d" % (harness.LOOPBACK, port)]}]}
                                  for job, port in targets]}
        with open(config, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
        args = [PROMETHEUS, "--config.file=" + config, "--storage.tsdb.path=" + storage,
                "--web.listen-address=%s:%d" % (harness.LOOPBACK, self.port), "--log.level=warn"]
        self.proc = harness.Process("prometheus", args, workdir)

    def wait_ready(self, timeout=90.0):
        harness.wait_for("Prometheus's /-/ready",
                         lambda: harness.http_request(self.port, "GET", "/-/ready", timeout=5).status == 200,
                         timeout, alive=[self.proc])

    def query(self, promql, at=None):
        """An instant query (at: Unix seconds, to the millisecond): the result's type and its data."""
        q = "/api/v1/query?query=" + urllib.parse.quote(promql, safe="")
        if at is not None:
            q += "&time=%.3f" % at
        r = harness.http_request(self.port, "GET", q, timeout=30)
        doc = json.loads(r.body.decode("utf-8"))
        if r.status != 200 or doc.get("status") != "success":
            raise harness.Failure("query %s: HTTP %d %s" % (promql, r.status, doc))
        return doc["data"]["resultType"], doc["data"]["result"]

    def vector(self, promql, at=None):
        """[(labels, value)] of an instant vector."""
        kind, result = self.query(promql, at)
        if kind != "vector":
            raise harness.Failure("query %s: a %s, not a vector" % (promql, kind))
        return [(item["metric"], float(item["value"][1])) for item in result]

    def samples(self, selector, seconds, at=None):
        """[(labels, [(timestamp, value)…])]: every sample of the series of selector in the last seconds, as
        scraped (a range vector)."""
        kind, result = self.query("%s[%ds]" % (selector, seconds), at)
        if kind != "matrix":
            raise harness.Failure("query %s: a %s, not a matrix" % (selector, kind))
        return [(item["metric"], [(float(t), float(v)) for t, v in item["values"]]) for item in result]


def increase_between(prom, selector, t1, t2):
    """sum(increase(selector[t2 - t1])) evaluated at t2: with a sample at both ends of the range (t1 and t2 are
    scrape timestamps), Prometheus extrapolates nothing and the result is the counters' exact growth, resets
    included (a range selector of Prometheus 2 takes the samples at both of its ends)."""
    ms = int(round((t2 - t1) * 1000))
    result = prom.vector("sum(increase(%s[%dms]))" % (selector, ms), at=t2)
    return result[0][1] if result else 0.0
