#!/usr/bin/env python3
"""test_soak: a bounded soak. The simulator injects random faults of every kind while the exporter refreshes
several reports over three farms every 10 s and a thread scrapes /metrics back to back (gzip and plain in
turn). Every scrape must parse strictly, hold build_info and every report's figures whole (those of one window
the exporter asked for); the exporter's resident memory and open file descriptors must be flat at the end.

SOAK_SECONDS (default 240) is the length of the faulty phase. The exporter's RSS (/proc/PID/status VmRSS) and
fd count (/proc/PID/fd) are sampled every SAMPLE_INTERVAL seconds over it. Flatness: the first third is
warm-up; of the rest, the mean of the last quarter is compared with the mean of the second quarter:
  RSS growth < RSS_GROWTH_REL * mean(Q2) + RSS_GROWTH_ABS   (10% + 2 MiB)
  fds: max(Q4) <= max(Q2) + FD_SLACK  and  mean(Q4) <= mean(Q2) + FD_SLACK   (FD_SLACK: connections in flight)
Under ASan or valgrind (DCE_SLOW_BUILD) the default length is 90 s, and the same checks hold with time relaxed:
RSS is judged against the same run's second quarter (the sanitizer's own baseline) with SANITIZER_RSS_SLACK more
room for the sanitizer's queue of freed blocks (ASan's quarantine, capped here at 16 MiB; valgrind's
--freelist-vol, 20 MB). Every (farm, report) must refresh successfully under faults: the faulty phase goes on
past SOAK_SECONDS (up to SOAK_MAX_SECONDS) until each has, however slow the build.
"""

import bisect
import os
import sys
import threading
import time

import harness
from harness import Report

SLOW_BUILD = bool(os.environ.get("DCE_SLOW_BUILD"))
SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS") or (90 if SLOW_BUILD else 240))
SAMPLE_INTERVAL = float(os.environ.get("SOAK_SAMPLE_INTERVAL") or 2.0)
# Random faults, every kind the simulator has: per API request (throttle, 5xx, a broken 200 body) and per
# aggregation (ends FAILED or TIMEOUT, so the exporter splits it).
FAULTS = {"throttleRate": 0.15, "errorRate": 0.15, "brokenRate": 0.15, "failRate": 0.15, "timeoutRate": 0.1}
# A bigger world than the default, so that a refresh reads many pages (the JOB_ID report: thousands of rows).
SIM_ARGS = ["--jobs", "4000", "--users", "120", "--sessions", "60000", "--aggregation-delay", "200",
            "--fault-seed", "20261126", "--quiet"]
REPORTS = [
    Report("soak_jobs_30d", ["JOB_ID"], ["SUM"], window="30d", interval="10s"),
    Report("soak_queue_week", ["QUEUE_ID", "USAGE_TYPE"], harness.STATISTICS, window="week",
           timezone="UTC+05:30", interval="10s"),
    Report("soak_fleet_month", ["FLEET_ID", "INSTANCE_TYPE"], ["SUM", "MAX"], resources="fleets",
           window="month", interval="10s"),
    Report("soak_user_day", ["USER_ID", "LICENSE_PRODUCT"], ["SUM", "AVG"], window="day",
           timezone="UTC-08:00", interval="10s"),
]
RSS_GROWTH_REL = 0.10
RSS_GROWTH_ABS = 2 * 1024 * 1024
ASAN_QUARANTINE_MB = 16
SANITIZER_RSS_SLACK = 24 * 1024 * 1024 if SLOW_BUILD else 0
SOAK_MAX_SECONDS = float(os.environ.get("SOAK_MAX_SECONDS") or max(600.0, SOAK_SECONDS))
FD_SLACK = 4  # one API connection per farm (3) and the scrape being answered
WARM_UP = 1.0 / 3.0


# ---- the exporter's resources ----

def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise harness.Failure("no VmRSS in /proc/%d/status" % pid)


def thread_count(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def mib(b):
    return "%.1f MiB" % (b / 1048576.0)


# ---- the figures: whole when equal to those of one window the exporter asked for ----

class Expectations:
    def __init__(self, sim, sim_farms):
        self.farms = {f["farmId"]: f for f in sim_farms}
        self.sessions = {}
        self.starts = {}
        for farm in self.farms:
            s = sorted(sim.sessions(farm), key=lambda x: float(x["startTime"]))
            self.sessions[farm] = s
            self.starts[farm] = [float(x["startTime"]) for x in s]
        self.cache = {}
        self.computed = 0

    def windows(self, farm, rep, aggregations):
        """The windows [start, end) of the refreshes of (farm, rep), newest first. A refresh's parts (after a
        window split) chain: every split point is one part's end and another's start, so a refresh's end is an
        end that is no part's start."""
        mine = [a for a in aggregations
                if a.get("farmId") == farm and harness.aggregation_signature(a) == rep.signature()]
        starts = {harness.parse_time(a["startTime"]) for a in mine}
        ends = {harness.parse_time(a["endTime"]) for a in mine}
        out = []
        for end in sorted(ends - starts, reverse=True):
            out.append((harness.window_start(rep, end), end))
        return out

    def expected(self, farm, rep, start, end):
        key = (farm, rep.name, start, end)
        if key not in self.cache:
            lo = bisect.bisect_left(self.starts[farm], start)
            hi = bisect.bisect_left(self.starts[farm], end)
            f = self.farms[farm]
            resources = f["queueIds"] if rep.resources == "queues" else f["fleetIds"]
            self.cache[key] = harness.expected_samples(self.sessions[farm][lo:hi], farm, rep, resources, start, end)
            self.computed += 1
        return self.cache[key]

    def match(self, farm, rep, got, aggregations):
        first = None
        for start, end in self.windows(farm, rep, aggregations):
            diffs = harness.compare_samples(got, self.expected(farm, rep, start, end))
            if not diffs:
                return True, (start, end)
            if first is None:
                first = diffs
        return False, first or ["no aggregation recorded"]


# ---- the scraper thread ----

class Scraper(threading.Thread):
    def __init__(self, t, exp, sim, expect):
        super().__init__(name="scraper", daemon=True)
        self.t = t
        self.exp = exp
        self.sim = sim
        self.expect = expect
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.done = 0
        self.failed = 0
        self.gzip_served = 0
        self.plain_served = 0
        self.figure_checks = 0
        self.figure_failures = 0
        self.max_latency = 0.0
        self.latencies = []
        self.figures = {}        # (farm, report) -> last figures found whole
        self.successes = {}      # (farm, report) -> set of last_success timestamps seen
        self.ups = {}            # (farm, report) -> [up, ...]
        self.last_expo = None
        self.last_size = 0
        self.error = None

    def fail(self, msg, *details):
        with self.lock:
            self.failed += 1
            if self.failed <= 10:
                self.t.check(False, msg, *details)
            elif self.failed == 11:
                harness.log("(further scrape failures are counted, not shown)")

    def one(self, gzip_ok):
        what = "gzip" if gzip_ok else "plain"
        began = time.monotonic()
        try:
            r = self.exp.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"} if gzip_ok else {})
        except harness.Failure:
            raise  # the exporter is gone
        except (OSError, harness.http.client.HTTPException) as e:
            self.fail("scrape %d (%s) is answered" % (self.done + 1, what), e)
            return
        latency = time.monotonic() - began
        try:
            if r.status != 200:
                raise harness.Failure("/metrics answered %d: %r" % (r.status, r.body[:300]))
            body = harness.gzip.decompress(r.body) if r.header("content-encoding") == "gzip" else r.body
            expo = harness.parse_exposition(body.decode("utf-8"))
        except (harness.Failure, OSError, EOFError, UnicodeDecodeError) as e:
            self.fail("scrape %d (%s) parses" % (self.done + 1, what), e)
            return
        self.latencies.append(latency)
        self.max_latency = max(self.max_latency, latency)
        self.done += 1
        if r.header("content-encoding") == "gzip":
            self.gzip_served += 1
        else:
            self.plain_served += 1
        if expo.value("deadline_cloud_exporter_build_info", {}) != 1:
            self.fail("scrape %d: build_info is present and 1" % self.done)
        aggregations = None
        for farm in self.exp.farm_ids:
            for rep in REPORTS:
                pair = (farm, rep.name)
                key = {"farm_id": farm, "report": rep.name}
                up = expo.value("deadline_cloud_exporter_report_up", key)
                if up is None:
                    self.fail("scrape %d: report_up of %s/%s is served" % (self.done, farm[:13], rep.name))
                    continue
                self.ups.setdefault(pair, []).append(up)
                ts = expo.value("deadline_cloud_exporter_report_last_success_timestamp_seconds", key)
                if ts:
                    self.successes.setdefault(pair, set()).add(ts)
                got = harness.scraped_samples(expo, farm, rep.name)
                if self.figures.get(pair) == got:
                    continue
                if aggregations is None:
                    aggregations = self.sim.aggregations()
                self.figure_checks += 1
                ok, detail = self.expect.match(farm, rep, got, aggregations)
                if ok:
                    self.figures[pair] = got
                else:
                    self.figure_failures += 1
                    self.fail("scrape %d: figures of %s/%s are whole (up=%s)" % (self.done, farm[:13], rep.name, up),
                              *detail)
        self.last_expo = expo
        self.last_size = len(body)

    def run(self):
        n = 0
        try:
            while not self.stop_event.is_set():
                self.one(gzip_ok=(n % 2 == 0))
                n += 1
        except BaseException as e:  # reported by the main thread
            self.error = e


# ---- reading the exporter's self-metrics ----

def counter_sum(expo, name, **match):
    return sum(s.value for s in expo.series(name, **match))


def by_label(expo, name, label):
    out = {}
    for s in expo.series(name):
        out[s.labels.get(label)] = out.get(s.labels.get(label), 0) + s.value
    return out


def flatness(samples, began, ended):
    """(Q2, Q4) of the samples after the warm-up: lists of (t, rss, fds)."""
    start = began + WARM_UP * (ended - began)
    span = ended - start
    q2 = [s for s in samples if start + span / 4 <= s[0] < start + span / 2]
    q4 = [s for s in samples if start + 3 * span / 4 <= s[0] <= ended]
    return q2, q4


def main():
    with harness.Test("soak") as t:
        t.note("SOAK_SECONDS=%.0f, sampling every %.0fs%s" % (SOAK_SECONDS, SAMPLE_INTERVAL,
                                                             " (slow build: RSS judged with %d MiB more room)"
                                                             % (SANITIZER_RSS_SLACK >> 20) if SLOW_BUILD else ""))
        sim = harness.Simulator(t.workdir, *SIM_ARGS)
        sim_farms = sim.farms()
        farm_ids = [f["farmId"] for f in sim_farms]
        t.note("simulator: %s sessions over %d farms" % ([f["sessionCount"] for f in sim_farms], len(farm_ids)))
        expect = Expectations(sim, sim_farms)
        if os.environ.get("ASAN_OPTIONS") is not None or SLOW_BUILD:
            # a bounded quarantine, so that RSS can level off within the soak (the exporter inherits it)
            os.environ["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "")
                                          + ":quarantine_size_mb=%d" % ASAN_QUARANTINE_MB).lstrip(":")
        exp = harness.Exporter(t.workdir, sim, farm_ids, REPORTS)
        pid = exp.proc.pid
        exp.wait_ready(timeout=300)
        expo = exp.wait_all_up(timeout=300)
        t.ok("every (farm, report) is up before the faults: %d pairs" % (len(farm_ids) * len(REPORTS)))
        rows0 = counter_sum(expo, "deadline_cloud_exporter_rows_read_total")
        pages0 = counter_sum(expo, "deadline_cloud_exporter_pages_read_total")
        t.note("first refreshes read %d rows in %d pages" % (rows0, pages0))
        stats0 = sim.stats()

        applied = sim._json("POST", "/__sim/faults", FAULTS)
        t.ok("faults on: %s" % applied)
        scraper = Scraper(t, exp, sim, expect)
        samples = []
        began = time.monotonic()
        samples.append((began, rss_bytes(pid), fd_count(pid)))
        threads0 = thread_count(pid)
        scraper.start()
        next_sample = began + SAMPLE_INTERVAL

        def every_pair_refreshed():
            return all(len(scraper.successes.get((f, r.name), ())) > 1 for f in farm_ids for r in REPORTS)
        while True:
            now = time.monotonic()
            if now - began >= SOAK_SECONDS and (every_pair_refreshed() or now - began >= SOAK_MAX_SECONDS):
                break
            if not exp.proc.alive():
                raise harness.Failure("the exporter exited with status %s during the soak:\n%s"
                                      % (exp.proc.returncode(), exp.proc.log_tail()))
            if scraper.error is not None or not scraper.is_alive():
                raise harness.Failure("the scraper stopped: %r" % scraper.error)
            until = next_sample if now - began >= SOAK_SECONDS else min(next_sample, began + SOAK_SECONDS)
            time.sleep(max(0.0, until - now))
            now = time.monotonic()
            if now >= next_sample:
                samples.append((now, rss_bytes(pid), fd_count(pid)))
                next_sample += SAMPLE_INTERVAL
        ended = time.monotonic()
        samples.append((ended, rss_bytes(pid), fd_count(pid)))
        threads1 = thread_count(pid)
        scraper.stop_event.set()
        scraper.join(60)
        t.check(not scraper.is_alive(), "the scraper thread ends")
        if scraper.error is not None:
            raise harness.Failure("the scraper failed: %r" % scraper.error)
        stats = sim.stats()
        sim._json("POST", "/__sim/faults", {k: 0.0 for k in FAULTS})
        expo = scraper.last_expo

        # ---- what happened ----
        t.note("scrapes: %d done (%d gzip, %d plain), %d failed; answer time mean %.3fs, max %.3fs"
               % (scraper.done, scraper.gzip_served, scraper.plain_served, scraper.failed,
                  mean(scraper.latencies), scraper.max_latency))
        t.note("figure checks: %d changed figure sets checked against %d windows computed, %d not whole"
               % (scraper.figure_checks, expect.computed, scraper.figure_failures))
        succeeded = sum(len(v) for v in scraper.successes.values()) - len(scraper.successes)
        errors = by_label(expo, "deadline_cloud_exporter_refresh_errors_total", "kind")
        t.note("refreshes during the soak: %d succeeded (new last_success timestamps seen), %d failed "
               "(refresh_errors_total, by kind: %s)" % (succeeded, sum(errors.values()), errors))
        for pair in sorted(scraper.ups):
            ups = scraper.ups[pair]
            t.note("  %s/%s: %d successes, up=0 in %d of %d scrapes"
                   % (pair[0][:13], pair[1], len(scraper.successes.get(pair, ())) - 1, ups.count(0), len(ups)))
        t.note("aggregations by status: %s; splits: %s; retries: %s"
               % (by_label(expo, "deadline_cloud_exporter_aggregations_total", "status"),
                  by_label(expo, "deadline_cloud_exporter_aggregation_splits_total", "kind"),
                  by_label(expo, "deadline_cloud_exporter_api_retries_total", "operation")))
        t.note("rows read %d, pages read %d during the soak"
               % (counter_sum(expo, "deadline_cloud_exporter_rows_read_total") - rows0,
                  counter_sum(expo, "deadline_cloud_exporter_pages_read_total") - pages0))
        faults = stats.get("faultsInjected", 0) - stats0.get("faultsInjected", 0)
        codes = {}
        for op, by_code in stats.get("requests", {}).items():
            for code, n in by_code.items():
                codes[code] = codes.get(code, 0) + n - stats0.get("requests", {}).get(op, {}).get(code, 0)
        t.note("simulator: %d faults injected during the soak; API answers by status: %s; concurrent starts "
               "refused %d" % (faults, dict(sorted(codes.items())), stats.get("concurrentStartsRefused", 0)))

        first, last = samples[0], samples[-1]
        t.note("RSS start %s, end %s (peak %s); fds start %d, end %d (peak %d)"
               % (mib(first[1]), mib(last[1]), mib(max(s[1] for s in samples)), first[2], last[2],
                  max(s[2] for s in samples)))
        t.note("threads start %d, end %d; last exposition %d bytes" % (threads0, threads1, scraper.last_size))
        t.note("RSS series (KiB, every %.0fs): %s" % (SAMPLE_INTERVAL, " ".join(str(s[1] // 1024) for s in samples)))
        t.note("fd series: %s" % " ".join(str(s[2]) for s in samples))

        # ---- the checks ----
        t.check(scraper.done > 0 and scraper.failed == 0, "every scrape was answered and parsed (%d done, %d failed)"
                % (scraper.done, scraper.failed))
        t.check(scraper.gzip_served > 0 and scraper.plain_served > 0, "gzip and plain scrapes both served",
                scraper.gzip_served, scraper.plain_served)
        t.check(scraper.figure_failures == 0, "every report's figures were whole in every scrape (%d changes checked)"
                % scraper.figure_checks)
        t.check(faults > 0, "the simulator injected faults (%d)" % faults)
        # Whether a refresh fails outright is chance: retries absorb most faults (the ASan run once saw none
        # fail). What must hold is that refreshes succeeded and that the faults reached them.
        retries = sum(by_label(expo, "deadline_cloud_exporter_api_retries_total", "operation").values())
        t.check(succeeded > 0, "refreshes succeeded under faults (%d)" % succeeded)
        t.check(retries + sum(errors.values()) > 0, "the faults reached the refreshes (%d retries, %d failed)"
                % (retries, sum(errors.values())))
        t.check(every_pair_refreshed(), "every (farm, report) had a successful refresh during the soak (%.0fs)"
                % (ended - began), *["%s/%s: no new success" % (f[:13], r.name) for f in farm_ids for r in REPORTS
                                     if len(scraper.successes.get((f, r.name), ())) <= 1])

        q2, q4 = flatness(samples, began, ended)
        if len(q2) < 2 or len(q4) < 2:
            t.check(False, "enough samples for the flatness check (%d, %d): raise SOAK_SECONDS" % (len(q2), len(q4)))
        else:
            rss2, rss4 = mean([s[1] for s in q2]), mean([s[1] for s in q4])
            fd2, fd4 = [s[2] for s in q2], [s[2] for s in q4]
            bound = RSS_GROWTH_REL * rss2 + RSS_GROWTH_ABS + SANITIZER_RSS_SLACK
            msg = ("RSS is flat: mean %s in the second quarter after warm-up, %s in the last (growth %+.1f KiB, "
                   "bound %.0f KiB = 10%% + 2 MiB%s)" % (mib(rss2), mib(rss4), (rss4 - rss2) / 1024, bound / 1024,
                                                         " + 24 MiB for the sanitizer's freed blocks"
                                                         if SANITIZER_RSS_SLACK else ""))
            fdmsg = ("open fds are flat: mean %.1f / max %d in the second quarter, %.1f / %d in the last (slack %d)"
                     % (mean(fd2), max(fd2), mean(fd4), max(fd4), FD_SLACK))
            t.note(fdmsg)
            t.check(rss4 - rss2 < bound, msg)
            t.check(max(fd4) <= max(fd2) + FD_SLACK and mean(fd4) <= mean(fd2) + FD_SLACK,
                    fdmsg)

        t.check(exp.proc.alive(), "the exporter never crashed")
        t.check(exp.request("GET", "/-/healthy").status == 200, "/-/healthy is 200 after the soak")
        status = exp.stop(timeout=60)
        t.check(status == 0, "the exporter stops cleanly on SIGTERM (status 0)", status)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
