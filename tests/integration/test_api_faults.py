#!/usr/bin/env python3
"""test_api_faults: one targeted fault at a time from the simulator (POST /__sim/faults {"mode": …}); after each,
the exporter is alive, /metrics parses, every report's figures are whole (the previous good ones or a new complete
refresh, never partial), report_up follows, and the right self-metrics moved. Then a total outage (every request
503 for 60 s): the exporter's request rate is measured and must stay bounded."""

import os
import re
import sys
import time

import harness
from harness import Report

REPORT = Report("cost", ["QUEUE_ID", "USAGE_TYPE"], ["SUM", "AVG"], window="month", interval="10s")
INTERVAL_S = 10.0
OP_START = "StartSessionsStatisticsAggregation"
OP_GET = "GetSessionsStatisticsAggregation"
OP_LIST = "ListQueues"
CASE_TIMEOUT = 90.0
OUTAGE_S = 60.0
# daemon/deadline/poller.c: RETRY_MAX_ATTEMPTS 5 per call; a failed refresh is retried after
# min(interval, 10 s x 2^(n-1)) x [0.75, 1.25); one worker thread per farm runs its refreshes one after the other.
ATTEMPTS_PER_CALL = 5
# A retry waits max(Retry-After, backoff) where the first backoff is below RETRY_BACKOFF_BASE_MS (1 s).
RETRY_AFTER_S = 2
RETRY_AFTER_SLACK_S = 10.0 if os.environ.get("DCE_SLOW_BUILD") else 1.5
FAILED_RETRY_MIN_S = 0.75 * min(INTERVAL_S, 10.0)


class Expectations:
    """The acceptable figures of (farm, report): those of a whole window the exporter asked for."""

    def __init__(self, sim, sim_farms):
        self.farms = {f["farmId"]: f for f in sim_farms}
        self.sessions = {f: sim.sessions(f) for f in self.farms}
        self.cache = {}

    def match(self, farm, got, aggregations):
        f = self.farms[farm]
        first = None
        for ref in reversed(harness.refreshes(aggregations, farm, REPORT)):
            key = (farm, ref.start, ref.end)
            if key not in self.cache:
                self.cache[key] = harness.expected_samples(self.sessions[farm], farm, REPORT, f["queueIds"],
                                                           ref.start, ref.end)
            diffs = harness.compare_samples(got, self.cache[key])
            if not diffs:
                return True, []
            if first is None:
                first = diffs
        return False, first or ["no aggregation recorded"]


class Run:
    def __init__(self, t, sim, exp, expect, target, bystander):
        self.t, self.sim, self.exp, self.expect = t, sim, exp, expect
        self.target, self.bystander = target, bystander
        self.good = {}       # farm -> the last figures checked whole
        self.table = []      # (fault, expected, observed, survived)
        self.scrapes = 0

    # ---- reading the exporter ----

    def scrape(self):
        """One scrape, checked: parses, figures whole for every farm. Returns the exposition."""
        _, _, expo = self.exp.scrape()
        self.scrapes += 1
        aggregations = None
        for farm in self.exp.farm_ids:
            got = harness.scraped_samples(expo, farm, REPORT.name)
            if self.good.get(farm) == got:
                continue
            if aggregations is None:
                aggregations = self.sim.aggregations()
            ok, diffs = self.expect.match(farm, got, aggregations)
            if self.t.check(ok, "figures of %s are whole (scrape %d)" % (farm[:13], self.scrapes), *diffs):
                self.good[farm] = got
        return expo

    def snapshot(self, expo):
        a = self.target
        s = {"up": expo.value("deadline_cloud_exporter_report_up", {"farm_id": a, "report": REPORT.name}),
             "ls": expo.value("deadline_cloud_exporter_report_last_success_timestamp_seconds",
                              {"farm_id": a, "report": REPORT.name}) or 0,
             "ls_b": expo.value("deadline_cloud_exporter_report_last_success_timestamp_seconds",
                                {"farm_id": self.bystander, "report": REPORT.name}) or 0,
             "retries": sum(x.value for x in expo.series("deadline_cloud_exporter_api_retries_total"))}
        for x in expo.series("deadline_cloud_exporter_refresh_errors_total", farm_id=a):
            s["errors:" + x.labels["kind"]] = x.value
        for x in expo.series("deadline_cloud_exporter_refresh_errors_total", farm_id=self.bystander):
            s["b_errors:" + x.labels["kind"]] = x.value
        for x in expo.series("deadline_cloud_exporter_aggregations_total", farm_id=a):
            s["agg:" + x.labels["status"]] = x.value
        for x in expo.series("deadline_cloud_exporter_aggregation_splits_total", farm_id=a):
            s["splits:" + x.labels["kind"]] = x.value
        for x in expo.series("deadline_cloud_exporter_pages_read_total", farm_id=a):
            s["pages"] = x.value
        return s

    @staticmethod
    def delta(before, after, prefix):
        return {k[len(prefix):]: after[k] - before.get(k, 0) for k in after
                if k.startswith(prefix) and after[k] - before.get(k, 0) > 0}

    # ---- steering the simulator ----

    def inject(self, mode, operation="*", count=1, param=None, farm=None):
        body = {"mode": mode, "operation": operation, "count": count, "farmId": farm or self.target}
        if param is not None:
            body["param"] = param
        return self.sim._json("POST", "/__sim/faults", body)

    def clear(self):
        self.sim._json("POST", "/__sim/faults", {"mode": "clear"})

    def pending(self):
        return self.sim._json("GET", "/__sim/faults")["targeted"]

    def exporter_log(self):
        with open(self.exp.proc.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    # ---- one case ----

    def wait_good(self, since, timeout=120.0):
        """Waits for report_up 1 on the target with a success at or after since; returns the snapshot."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snap = self.snapshot(self.scrape())
            if snap["up"] == 1 and snap["ls"] >= since:
                return snap
            time.sleep(0.5)
        raise harness.Failure("the target farm did not refresh successfully again within %.0fs" % timeout)

    def case(self, name, inject, outcome, kinds=(), want=(), check=None, timeout=CASE_TIMEOUT, min_wait=0.0):
        """inject(); then waits for the refresh that meets the fault: outcome 'survive' (no failed refresh,
        figures published) or 'fail' (a failed refresh of one of kinds, report_up 0, previous figures kept,
        then recovery once the faults are cleared). want: counters (errors:, agg:, splits:, retries) that must
        have moved."""
        t = self.t
        harness.log("---- %s: expect %s" % (name, outcome))
        before = self.snapshot(self.scrape())
        log_offset = len(self.exporter_log())
        inject()
        began = time.monotonic()
        consumed_at = None
        observed, ok = "nothing within %.0fs" % timeout, False
        up_at_failure = None
        while time.monotonic() - began < timeout:
            time.sleep(0.3)
            snap = self.snapshot(self.scrape())
            errors = self.delta(before, snap, "errors:")
            if errors:
                observed = "refresh failed: %s" % ", ".join("%s+%d" % kv for kv in sorted(errors.items()))
                up_at_failure = snap["up"]
                ok = outcome == "fail" and (not kinds or set(errors) <= set(kinds))
                break
            if consumed_at is None and not self.pending():
                consumed_at = time.time()
            if consumed_at is not None and snap["ls"] > before["ls"] and snap["ls"] >= int(consumed_at - 0.5) \
                    and time.monotonic() - began >= min_wait:
                observed = "refresh succeeded"
                ok = outcome == "survive"
                break
        after = snap
        t.check(ok, "%s: %s (expected: %s%s)" % (name, observed, outcome, " " + "/".join(kinds) if kinds else ""))
        if up_at_failure is not None:
            t.check(up_at_failure == 0, "%s: report_up is 0 after the failed refresh" % name, up_at_failure)
            t.check(self.good.get(self.target) is not None, "%s: the previous figures stay served" % name)
        moved = {}
        for prefix in ("errors:", "agg:", "splits:"):
            moved.update({prefix + k: v for k, v in self.delta(before, after, prefix).items()})
        if after["retries"] > before["retries"]:
            moved["retries"] = after["retries"] - before["retries"]
        for key in want:
            t.check(moved.get(key, 0) > 0, "%s: %s moved" % (name, key), moved)
        b_errors = self.delta(before, after, "b_errors:")
        t.check(not b_errors, "%s: the other farm had no failed refresh" % name, b_errors)
        new_log = self.exporter_log()[log_offset:]
        if check:
            check(name, before, after, new_log)
        self.clear()
        t.check(self.exp.proc.alive(), "%s: the exporter is alive" % name)
        if outcome == "fail" or not ok:
            self.wait_good(time.time())
            t.ok("%s: report_up back to 1 with a new complete refresh" % name)
        self.table.append((name, outcome, observed, ok and self.exp.proc.alive(),
                           ", ".join("%s+%g" % kv for kv in sorted(moved.items()))))
        return before, after, new_log


def start(t):
    """A simulator and an exporter for two farms: farm 2 (3 queues: one batch) takes the faults, farm 1
    (12 queues) looks on. Returns the Run."""
    sim = harness.Simulator(t.workdir, "--aggregation-delay", "200", "--quiet")
    sim_farms = sim.farms()
    target, bystander = sim_farms[2]["farmId"], sim_farms[1]["farmId"]
    expect = Expectations(sim, sim_farms)
    # debug: each API answer is logged (farm=… op=… http_status=…), with the time the checks below measure
    exp = harness.Exporter(t.workdir, sim, [target, bystander], [REPORT], extra_args=["--log-level", "debug"])
    exp.wait_ready(timeout=120)
    exp.wait_all_up(timeout=120)
    run = Run(t, sim, exp, expect, target, bystander)
    run.scrape()
    t.check(len(run.good) == 2, "the first figures of both farms are right")
    return run


def network(t, run):
    """Transport failures, throttling, server errors, credentials and permissions, a total outage."""
    sim, exp, target, inj = run.sim, run.exp, run.target, run.inject
    # ---- transport: retried, and the refresh survives when the retries outlast the fault ----
    run.case("reset mid-body (Get, once)", lambda: inj("reset", OP_GET), "survive", want=["retries"])
    run.case("reset mid-body (Get, 5 times)", lambda: inj("reset", OP_GET, 5), "fail", ["transport"])
    run.case("connection closed, no answer (Start, twice)", lambda: inj("close", OP_START, 2), "survive",
             want=["retries"])

    def stall_check(name, before, after, log):
        t.check(after["ls_b"] > before["ls_b"], "%s: the other farm refreshed during the stall" % name,
                before["ls_b"], after["ls_b"])
    began = time.monotonic()
    run.case("stall past the timeout (Get, 40 s)", lambda: inj("stall", OP_GET, 1, 40), "survive",
             want=["retries"], check=stall_check)
    t.note("the stalled case took %.1fs (the exporter gives up on a stalled answer after 15 s)"
           % (time.monotonic() - began))

    # ---- throttling and server errors ----
    run.case("429 without Retry-After (ListQueues, twice)", lambda: inj("throttle", OP_LIST, 2), "survive",
             want=["retries"])
    def retry_after_check(name, before, after, log):
        # The exporter's log (debug level): the 429's warning, then the answer to the retry of the same
        # operation for the target farm. The retry went out no sooner than Retry-After after the 429 arrived.
        lines = [(ts, line) for ts, _, line in harness.log_times(log, r"farm=%s op=%s http_status=" % (target, OP_GET))]
        throttled = [i for i, (_, line) in enumerate(lines) if "http_status=429 attempt=" in line]
        if not t.check(throttled and throttled[0] + 1 < len(lines), "%s: the 429 and its retry are logged" % name,
                       *[line for _, line in lines[:6]]):
            return
        i = throttled[0]
        delay = lines[i + 1][0] - lines[i][0]
        harness.log("%s: the retry came %.3fs after the 429" % (name, delay))
        t.check(RETRY_AFTER_S - 0.002 <= delay <= RETRY_AFTER_S + RETRY_AFTER_SLACK_S,
                "%s: the retry came %.3fs after the 429 (Retry-After: %d, at most %.1fs later)"
                % (name, delay, RETRY_AFTER_S, RETRY_AFTER_SLACK_S), lines[i][1], lines[i + 1][1])
    run.case("429 with Retry-After: %d (Get, once)" % RETRY_AFTER_S,
             lambda: inj("throttle_retry_after", OP_GET, 1, RETRY_AFTER_S), "survive", want=["retries"],
             check=retry_after_check)
    run.case("429 (ListQueues, 5 times)", lambda: inj("throttle", OP_LIST, 5), "fail", ["throttled"])
    run.case("500 JSON (Start, once)", lambda: inj("error_500", OP_START), "survive", want=["retries"])
    run.case("502 HTML (ListQueues, once)", lambda: inj("error_502", OP_LIST), "survive", want=["retries"])
    run.case("503 HTML (Get, 5 times)", lambda: inj("error_503", OP_GET, 5), "fail", ["server_error"])

    # ---- credentials and permissions ----
    def expired_check(name, before, after, log):
        # the 403, then a credential fetch, then the same operation retried for the target farm and answered 200
        lines = log.splitlines()
        expired = [i for i, line in enumerate(lines) if "farm=%s op=" % target in line
                   and re.search(r"http_status=403 (error|code)=ExpiredTokenException", line)]
        if not t.check(expired, "%s: the ExpiredTokenException is logged" % name):
            return
        op = re.search(r" op=(\S+)", lines[expired[0]]).group(1)
        rest = lines[expired[0] + 1:]
        fetched = [i for i, line in enumerate(rest) if "op=credentials status=ok" in line]
        t.check(fetched, "%s: the credentials were fetched again after the 403" % name, *rest[:5])
        retried = [i for i, line in enumerate(rest) if "farm=%s op=%s http_status=" % (target, op) in line]
        harness.log("%s: after the 403: %s" % (name, " | ".join(rest[i] for i in fetched[:1] + retried[:1])))
        t.check(fetched and retried and fetched[0] < retried[0] and "http_status=200" in rest[retried[0]],
                "%s: %s was retried with the fresh credentials and answered 200" % (name, op),
                *[rest[i] for i in (fetched[:1] + retried[:1])])
    run.case("ExpiredTokenException (once)", lambda: inj("expired_token"), "survive", check=expired_check)

    def denied_check(name, before, after, log):
        t.check(re.search(r"code=AccessDeniedException reason=\"grant the IAM action deadline:[A-Za-z]+\"", log),
                "%s: the log names the IAM action to grant" % name,
                [ln for ln in log.splitlines() if "AccessDenied" in ln][:3])
    run.case("AccessDeniedException", lambda: inj("access_denied"), "fail", ["access_denied"],
             check=denied_check)
    run.case("unknown farm (404 on Start)", lambda: inj("unknown_farm", OP_START), "fail", ["not_found"])

    # ---- a total outage: every request 503 for a minute ----
    exp.wait_all_up(timeout=120)
    harness.log("---- total outage: every API request 503 for %.0fs" % OUTAGE_S)

    def total(stats):
        return sum(sum(codes.values()) for codes in stats["requests"].values())
    n0 = total(sim.stats())
    began = time.monotonic()
    run.inject("error_503", "*", 10 ** 9, farm="*")
    while time.monotonic() - began < OUTAGE_S:
        run.scrape()
        time.sleep(1.0)
    n1 = total(sim.stats())
    elapsed = time.monotonic() - began
    run.clear()
    requests = n1 - n0
    farms = len(exp.farm_ids)
    # per farm: at most ATTEMPTS_PER_CALL requests per failed refresh, and failed refreshes at least
    # FAILED_RETRY_MIN_S apart (backoff sleeps only add to that); +1 refresh under way when it began
    bound = farms * ATTEMPTS_PER_CALL * (elapsed / FAILED_RETRY_MIN_S + 1)
    harness.log("outage: %d requests in %.1fs = %.2f requests/s from %d farms (bound %d, %.2f/s)"
                % (requests, elapsed, requests / elapsed, farms, bound, bound / elapsed))
    t.check(requests <= bound, "the request rate during the outage stays bounded", requests, bound)
    ok = requests <= bound and exp.proc.alive()
    cleared = time.time()
    exp.wait_all_up(timeout=120, since=cleared)
    run.scrape()
    t.ok("every report is up again after the outage")
    run.table.append(("total outage, 503 for %.0fs (all farms)" % OUTAGE_S, "fail", "%d requests, %.2f/s"
                      % (requests, requests / elapsed), ok, "bound %d" % bound))



def content(t, run):
    """Broken bodies, broken pagination, aggregations that fail, expire or wait for a busy farm."""
    sim, target, inj = run.sim, run.target, run.inject
    # ---- bodies ----
    run.case("malformed JSON (Get, once)", lambda: inj("malformed", OP_GET), "survive", want=["retries"])
    run.case("malformed JSON (Get, 5 times)", lambda: inj("malformed", OP_GET, 5), "fail", ["bad_response"])
    run.case("truncated body (Start, 5 times)", lambda: inj("truncated", OP_START, 5), "fail",
             ["bad_response"])
    run.case("wrong member types, \"count\":\"3\" (Get page, 5 times)", lambda: inj("wrong_types", OP_GET, 5),
             "fail", ["bad_response"])
    run.case("wrong member types (ListQueues, 5 times)", lambda: inj("wrong_types", OP_LIST, 5), "fail",
             ["bad_response"])
    run.case("64 MiB body (Get page, 5 times)", lambda: inj("huge", OP_GET, 5), "fail",
             ["bad_response", "transport"])
    run.case("JSON nested 10000 deep (Get, 5 times)", lambda: inj("deep", OP_GET, 5, 10000), "fail",
             ["bad_response"])
    run.case("nextToken that repeats (Get)", lambda: inj("repeat_token", OP_GET), "fail", ["bad_response"])
    run.case("nextToken that repeats (ListQueues)", lambda: inj("repeat_token", OP_LIST), "fail",
             ["bad_response"])

    def endless_list_check(name, before, after, log):
        t.check("more than 1000 pages" in log, "%s: the page cap is logged" % name)
    run.case("endless pages (ListQueues)", lambda: inj("endless_pages", OP_LIST), "fail", ["bad_response"],
             check=endless_list_check)

    # ---- aggregations ----
    run.case("FAILED aggregation (once)", lambda: inj("failed", OP_START), "survive",
             want=["agg:FAILED", "splits:resources"])
    run.case("TIMEOUT aggregation (once)", lambda: inj("timeout", OP_START), "survive",
             want=["agg:TIMEOUT", "splits:resources"])
    run.case("FAILED aggregation (always)", lambda: inj("failed", OP_START, 1000), "fail",
             ["aggregation_failed"], want=["agg:FAILED", "splits:resources", "splits:window"])
    run.case("aggregation expires (once)", lambda: inj("expire", OP_GET), "survive", want=["agg:EXPIRED"])
    run.case("aggregation expires (3 times)", lambda: inj("expire", OP_GET, 3), "fail",
             ["aggregation_expired"], want=["agg:EXPIRED"])

    def busy_check(name, before, after, log):
        t.check(re.search(r"op=StartSessionsStatisticsAggregation http_status=429 reason=\"farm busy", log),
                "%s: the exporter logged that it waits for the busy farm" % name)
    refused = sim.stats()["concurrentStartsRefused"]
    # longer than the interval, so that the next Start surely meets it; success counts only after it ended
    run.case("farm busy with someone else's aggregation (15 s)",
             lambda: sim._json("POST", "/__sim/busy", {"farmId": target, "seconds": 15}), "survive",
             check=busy_check, min_wait=15.0)
    t.check(sim.stats()["concurrentStartsRefused"] > refused, "the busy farm refused Starts meanwhile")

    # ---- endless pages of an aggregation: capped at PAGES_MAX (20,000 pages, 2 million rows) ----
    # About 30 s here (20,000 signed requests); API_FAULTS_ENDLESS_GET sets another limit in seconds.
    before = sim.stats()["requests"][OP_GET]
    began = time.monotonic()
    run.case("endless pages (Get)", lambda: inj("endless_pages", OP_GET), "fail", ["bad_response"],
             timeout=float(os.environ.get("API_FAULTS_ENDLESS_GET", "900" if os.environ.get("DCE_SLOW_BUILD") else "240")))
    n = sum(sim.stats()["requests"][OP_GET].values()) - sum(before.values())
    harness.log("endless Get pages: %d requests in %.1fs" % (n, time.monotonic() - began))
    t.check(20000 <= n <= 20100, "endless Get pages stop at the 20,000-page cap", n)



PARTS = {"network": network, "content": content}


def main(argv):
    """argv: the parts to run (network, content; default both, one after the other). CI runs each part as a
    test of its own, so that the two run side by side."""
    names = argv or list(PARTS)
    unknown = [n for n in names if n not in PARTS]
    if unknown:
        print("usage: test_api_faults.py [%s]..." % "|".join(PARTS), file=sys.stderr)
        return 2
    with harness.Test("api_faults-" + "-".join(names)) as t:
        run = start(t)
        exp = run.exp
        for name in names:
            PARTS[name](t, run)
        t.check(exp.proc.alive(), "the exporter never crashed")
        harness.log("\n%-58s %-8s %-40s %s" % ("fault", "expected", "observed", "survived"))
        for name, outcome, observed, ok, moved in run.table:
            harness.log("%-58s %-8s %-40s %s  %s" % (name, outcome, observed, "yes" if ok else "NO", moved))
        harness.log("%d faults injected, %d survived as expected"
                    % (len(run.table), sum(1 for r in run.table if r[3])))
        status = exp.stop()
        t.check(status == 0, "the exporter stops cleanly on SIGTERM (status 0)", status)
    return t.status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
