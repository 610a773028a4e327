#!/usr/bin/env python3
"""test_e2e: the exporter against the simulator: every figure recomputed from the source records, plus HTTP."""

import gzip
import math
import os
import re
import subprocess
import sys
import time

import harness
import oracles
from harness import Report

REPORTS = [
    Report("queue_usage", ["QUEUE_ID", "USAGE_TYPE"], harness.STATISTICS, window="month", timezone="UTC+00:00",
           interval="10s"),
    Report("job_week", ["JOB_ID"], ["SUM"], window="week", timezone="UTC-08:00", interval="15s"),
    Report("user_day", ["USER_ID"], ["MIN", "MAX", "AVG"], window="day", timezone="UTC+05:30", interval="10s"),
    Report("fleet_7d", ["FLEET_ID"], harness.STATISTICS, resources="fleets", window="7d", interval="10s"),
    # every session (they start in the 100 days before the simulator did): all the hostile job names
    Report("jobs_all", ["JOB_ID", "USAGE_TYPE"], ["SUM"], window="101d", interval="20s"),
    Report("licenses_7d", ["LICENSE_PRODUCT", "INSTANCE_TYPE"], ["SUM", "MAX"], window="7d", interval="10s"),
]
# what --new-usage-type makes the simulator answer beyond the model: a usageType value, a member of Statistics
NEW_USAGE_TYPE_DRIFT = (("enum", "UsageType"), ("unknown", "Statistics.acceleratorUsage"))
# reports[].limit: the top groups by cost, the rest as __other__; without SUM by session count (many ties)
LIMITED = [
    Report("queue_top", ["QUEUE_ID"], ["SUM", "AVG"], window="month", interval="15s", limit=7),
    Report("jobs_top", ["JOB_ID"], ["MIN", "MAX", "AVG"], window="101d", interval="20s", limit=10),
]
OPERATIONS = ("StartSessionsStatisticsAggregation", "GetSessionsStatisticsAggregation", "ListQueues", "ListFleets")


def project_version():
    root = os.environ.get("SOURCE_ROOT", "")
    try:
        with open(os.path.join(root, "meson.build"), encoding="utf-8") as f:
            m = re.search(r"version\s*:\s*'([^']+)'", f.read())
            return m.group(1) if m else None
    except OSError:
        return None


def check_http(t, exp):
    r = exp.request("GET", "/-/healthy")
    t.check(r.status == 200, "/-/healthy answers 200", r.status)
    r = exp.request("GET", "/-/ready")
    t.check(r.status == 200, "/-/ready answers 200 once ready", r.status)
    r = exp.request("GET", "/")
    t.check(r.status == 200 and b"/metrics" in r.body, "/ is a landing page linking to /metrics", r.status,
            r.body[:200])
    t.check((r.header("content-type") or "").startswith("text/html"), "/ is HTML", r.header("content-type"))
    for path in ("/nope", "/metrics/x", "/-/nope"):
        r = exp.request("GET", path)
        t.check(r.status == 404, "GET %s answers 404" % path, r.status)
    for method, path in (("POST", "/metrics"), ("PUT", "/"), ("DELETE", "/-/ready")):
        r = exp.request(method, path)
        t.check(r.status == 405, "%s %s answers 405" % (method, path), r.status)
    r = exp.request("HEAD", "/metrics")
    t.check(r.status == 200 and r.body == b"", "HEAD /metrics answers 200 without a body", r.status, len(r.body))

    r, text, _ = exp.scrape()
    t.check(r.header("content-type") == harness.CONTENT_TYPE, "/metrics content type is %s" % harness.CONTENT_TYPE,
            r.header("content-type"))
    t.check(r.header("content-encoding") in (None, "identity"), "no gzip unless asked", r.header("content-encoding"))

    # gzip must be the same text: compare with two plain scrapes around it that agree (counters move)
    for attempt in range(20):
        plain1 = exp.request("GET", "/metrics").body
        rz = exp.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
        plain2 = exp.request("GET", "/metrics").body
        if plain1 != plain2:
            time.sleep(0.1)
            continue
        t.check(rz.header("content-encoding") == "gzip", "gzip when the request accepts it",
                rz.header("content-encoding"))
        t.check(rz.header("content-type") == harness.CONTENT_TYPE, "gzip keeps the content type",
                rz.header("content-type"))
        try:
            unzipped = gzip.decompress(rz.body)
        except (OSError, EOFError) as e:
            unzipped = None
            t.check(False, "the gzip body decompresses", e)
        t.check(unzipped == plain1, "gzip body equals the plain body", len(unzipped or b""), len(plain1))
        break
    else:
        t.note("the output never held still for three scrapes: gzip compared by parse only")
        rz = exp.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
        harness.parse_exposition(gzip.decompress(rz.body).decode("utf-8"))


def check_exposition(t, exp, text, expo, farm_ids, stats_before, stats_after):
    checked = harness.promtool_check(text)
    if checked is None:
        t.skip_part("promtool is not installed: `promtool check metrics` not run (bash tests/install-deps.sh --test)")
    else:
        t.check(checked[0] == 0 and checked[1] == "", "`promtool check metrics` prints nothing",
                "status %d" % checked[0], checked[1][:2000])

    t.check(all(s.timestamp is None for s in expo.samples), "no sample carries a timestamp")
    for fam in expo.families.values():
        t.check(fam.type is not None and fam.help, "family %s has TYPE and HELP" % fam.name)
    for name in harness.USAGE_METRICS + (harness.USAGE_WINDOW_START, harness.USAGE_WINDOW_END):
        fam = expo.families.get(name)
        t.check(fam and fam.samples and fam.type == "gauge", "%s has samples and is a gauge" % name,
                fam.type if fam else "absent")
    t.check(not any("statistic" in s.labels for s in expo.samples), "no sample has a statistic label")
    # a sum over every label of a metric must mean something: one metric, one figure, one set of label names
    for name in harness.USAGE_METRICS:
        fam = expo.families.get(name)
        for farm in farm_ids:
            for rep in REPORTS:
                names = {frozenset(s.labels) for s in (fam.samples if fam else [])
                         if s.labels.get("farm_id") == farm and s.labels.get("report") == rep.name}
                t.check(len(names) <= 1, "%s of %s/%s: every series has the same labels" % (name, farm, rep.name),
                        names)
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
                 "process_open_fds", "process_max_fds", "process_start_time_seconds"):
        fam = expo.families.get(name)
        t.check(fam and len(fam.samples) == 1 and not fam.samples[0].labels, "%s is one sample without labels" % name)
    cpu = expo.families.get("process_cpu_seconds_total")
    t.check(cpu and cpu.type == "counter", "process_cpu_seconds_total is a counter")
    start = expo.value("process_start_time_seconds", {})
    t.check(start is not None and exp.started_at - 2 <= start <= exp.started_at + 5,
            "process_start_time_seconds is when the exporter started", start, exp.started_at)
    rss = expo.value("process_resident_memory_bytes", {})
    try:
        with open("/proc/%d/statm" % exp.proc.pid, encoding="ascii") as f:
            statm_rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        t.check(rss and abs(rss - statm_rss) <= 0.5 * statm_rss, "process_resident_memory_bytes agrees with /proc",
                rss, statm_rss)
    except OSError as e:
        t.note("cannot read the exporter's /proc/PID/statm: %s" % e)

    build = expo.series("deadline_cloud_exporter_build_info")
    version = project_version()
    t.check(len(build) == 1 and build[0].value == 1, "build_info is one sample with value 1",
            [(b.labels, b.value) for b in build])
    if build:
        t.check(build[0].labels.get("version") == version, "build_info version is the project's (%s)" % version,
                build[0].labels)

    for farm in farm_ids:
        for rep in REPORTS:
            key = {"farm_id": farm, "report": rep.name}
            t.check(expo.value("deadline_cloud_exporter_report_up", key) == 1, "report_up = 1 for %s" % key)
            last = expo.value("deadline_cloud_exporter_report_last_success_timestamp_seconds", key)
            t.check(last is not None and exp.started_at - 1 <= last <= time.time() + 1,
                    "last success timestamp of %s is between the start and now" % key, last)
            duration = expo.value("deadline_cloud_exporter_report_duration_seconds", key)
            t.check(duration is not None and 0 <= duration < 600, "duration of %s is sane" % key, duration)

    fam = expo.families.get("deadline_cloud_exporter_api_requests_total")
    t.check(fam is not None and fam.type == "counter", "api_requests_total is a counter",
            fam.type if fam else "absent")
    def served(stats, op):
        return int(((stats.get("requests") or {}).get(op) or {}).get("200", 0))

    for op in OPERATIONS:
        # one series per farm (farm_id): their sum is what the simulator served every farm
        got = [x.value for x in expo.series("deadline_cloud_exporter_api_requests_total", operation=op, code="200")]
        got = sum(got) if got else None
        before, after = served(stats_before, op), served(stats_after, op)
        t.check(got is not None and got > 0, "api_requests_total{operation=%s,code=200} is counted" % op, got)
        # the simulator's counters read more than a second before the scrape (the self-metrics' greatest age) and
        # after it bracket the exporter's, give or take the one request each farm's thread may have had in flight
        t.check(got is not None and before - len(farm_ids) <= got <= after,
                "the exporter's count of %s agrees with the simulator's (%s within [%d - %d, %d])"
                % (op, got, before, len(farm_ids), after))
    sim_stats = stats_after
    for s in expo.series("deadline_cloud_exporter_api_requests_total"):
        # "-": account-wide calls (GetCallerIdentity, for the farms' account: refused here, STS being on loopback)
        t.check(set(s.labels) == {"farm_id", "operation", "code"} and (
            s.labels["farm_id"] in farm_ids or (s.labels["farm_id"] == "-" and s.labels["operation"] ==
                                                "GetCallerIdentity")),
                "api_requests_total labels are farm_id (a configured farm's, or - for an account-wide call), "
                "operation and code", s.labels)
    t.check(sim_stats.get("signatureFailures", 0) == 0, "the simulator saw no bad signature",
            sim_stats.get("signatureFailures"))
    t.check(sim_stats.get("concurrentStartsRefused", 0) == 0,
            "the exporter never started a second aggregation on a busy farm",
            sim_stats.get("concurrentStartsRefused"))


def check_serialisation(t, aggregations, farm_ids):
    for farm in farm_ids:
        aggs = sorted((a for a in aggregations if a.get("farmId") == farm), key=lambda a: a["startedAt"])
        overlaps = []
        for i, (a, b) in enumerate(zip(aggs, aggs[1:])):
            if a.get("completedAt") is None or b["startedAt"] < a["completedAt"]:
                overlaps.append("%s [%s, %s) and %s started at %s" % (a.get("aggregationId"), a["startedAt"],
                                                                      a.get("completedAt"),
                                                                      b.get("aggregationId"), b["startedAt"]))
        t.check(not overlaps, "farm %s never had two aggregations at once (%d aggregations)" % (farm, len(aggs)),
                *overlaps[:5])
        big = [a for a in aggs if not 1 <= len(harness.aggregation_ids(a)) <= 10]
        t.check(not big, "farm %s: every Start names 1 to 10 resources" % farm,
                *[len(harness.aggregation_ids(a)) for a in big[:5]])


def check_report(t, sim_farm, rep, aggregations, sessions, expo):
    farm = sim_farm["farmId"]
    resources = sim_farm["queueIds"] if rep.resources == "queues" else sim_farm["fleetIds"]
    n_batches = math.ceil(len(resources) / 10)
    what = "%s/%s" % (farm[:13], rep.name)
    refs = harness.refreshes(aggregations, farm, rep)
    if not t.check(refs, "%s: the simulator recorded its aggregations" % what):
        return
    # the last refresh may still be running; every earlier one must be whole
    for i, ref in enumerate(refs):
        last = i == len(refs) - 1
        ids = ref.ids()
        whole = len(ref.batches) == n_batches and sorted(ids) == sorted(resources)
        if not last or whole:
            t.check(whole, "%s: refresh %d covers the %d %s in %d disjoint batches" % (
                what, i, len(resources), rep.resources, n_batches),
                "batches of %s ids" % [len(harness.aggregation_ids(b)) for b in ref.batches])
        t.check(ref.start == harness.window_start(rep, ref.end),
                "%s: refresh %d asks for the window [%s, %s)" % (what, i, ref.start_text, ref.end_text),
                "expected start %s" % time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                    time.gmtime(harness.window_start(rep, ref.end))))
        t.check(all(b.get("timezone") in (rep.timezone, None) for b in ref.batches),
                "%s: refresh %d sends the report's timezone" % (what, i))
    if rep.resources == "queues" and len(resources) == 25:
        t.check(all(len(r.batches) == 3 for r in refs[:-1]) and len(refs[-1].batches) <= 3,
                "%s: 25 queues go in 3 batches" % what, [len(r.batches) for r in refs])

    got = harness.scraped_samples(expo, farm, rep.name)
    complete = [r for r in refs if len(r.batches) == n_batches]
    key = {"farm_id": farm, "report": rep.name}
    window = (expo.value(harness.USAGE_WINDOW_START, key), expo.value(harness.USAGE_WINDOW_END, key))
    named = [r for r in complete if (r.start, r.end) == window]
    if not t.check(named, "%s: the window published %s is that of one of its %d complete refreshes" % (
            what, window, len(complete)), [(r.start_text, r.end_text) for r in complete[-3:]]):
        return got
    ref = named[-1]
    expected = harness.expected_samples(sessions, farm, rep, ref.ids(), ref.start, ref.end)
    diffs = harness.compare_samples(got, expected)
    t.check(not diffs, "%s: %d samples equal the figures of the window they name [%s, %s)" % (
        what, len(got), ref.start_text, ref.end_text), *diffs)
    # summed over every label, each sum metric is the window's total (no minimum mixed into it)
    member = "queueId" if rep.resources == "queues" else "fleetId"
    ids = set(ref.ids())
    window_sessions = [s for s in sessions if s.get(member) in ids and ref.start <= float(s["startTime"]) < ref.end]
    totals = {harness.USAGE_SESSIONS: float(len(window_sessions))}
    if "SUM" in rep.statistics:
        totals[harness.USAGE_COST] = math.fsum(float(s["costUsd"]) for s in window_sessions)
        totals[harness.USAGE_RUNTIME] = math.fsum(float(s["runtimeSeconds"]) for s in window_sessions)
    for metric, total in totals.items():
        summed = math.fsum(v for (m, _), v in got.items() if m == metric)
        t.check(harness.close(summed, total), "%s: sum(%s) is the window's total" % (what, metric), summed, total)
    if rep.limit:
        groups = {labels for (m, labels) in got if m == harness.USAGE_SESSIONS}
        others = [g for g in groups if all(v == harness.OTHER for k, v in g if k not in ("farm_id", "report"))]
        t.check(len(groups) <= rep.limit + 1 and (len(others) == 1) == (len(groups) == rep.limit + 1),
                "%s: at most %d groups and __other__ (%d groups)" % (what, rep.limit, len(groups)))
    return got


def check_hostile_names(t, sessions_by_farm, expo):
    names = {s.get("jobName") for sessions in sessions_by_farm.values() for s in sessions if s.get("jobName")}
    kinds = {
        "a double quote": lambda n: '"' in n,
        "a backslash": lambda n: "\\" in n,
        "a newline": lambda n: "\n" in n,
        "non-ASCII": lambda n: any(ord(c) > 127 for c in n),
        "128 characters": lambda n: len(n) == 128,
    }
    scraped = {s.labels.get("job_name") for s in expo.series(harness.USAGE_SESSIONS, report="jobs_all")}
    for kind, has in kinds.items():
        hostile = sorted(n for n in names if has(n))
        if not t.check(hostile, "the simulator has job names with %s" % kind):
            continue
        missing = [n for n in hostile if n not in scraped]
        t.check(not missing, "%d job names with %s round-trip through label escaping" % (len(hostile), kind),
                *[repr(n) for n in missing[:3]])


def main():
    with harness.Test("e2e") as t:
        REPORTS.extend(LIMITED)
        # --new-usage-type: sessions of a usageType the exporter cannot know, rows with an unknown member
        sim = harness.Simulator(t.workdir, "--aggregation-delay", "100", "--new-usage-type", "--quiet",
                                request_log=True)
        sim_farms = sim.farms()
        farm_ids = [f["farmId"] for f in sim_farms]
        t.check(len(sim_farms) == 3 and len(sim_farms[0]["queueIds"]) == 25,
                "the simulator has 3 farms, the first with 25 queues",
                [(len(f["queueIds"]), len(f["fleetIds"])) for f in sim_farms])
        sessions = {f: sim.sessions(f) for f in farm_ids}

        exp = harness.Exporter(t.workdir, sim, farm_ids, REPORTS)
        seen = exp.wait_ready(timeout=180)
        if seen and seen[0] == 503:
            t.ok("/-/ready answered 503 before the first refreshes, then 200")
        else:
            t.note("/-/ready answered %s: never caught it before ready" % seen)
        exp.wait_all_up(timeout=120)

        stats_before = sim.stats()
        # the self-metrics a scrape shows are rendered at most once a second: at most a second old, so later
        # than stats_before once a second has passed
        time.sleep(1.1)
        r, text, expo = exp.scrape()
        stats_after = sim.stats()
        aggregations = sim.aggregations()
        check_exposition(t, exp, text, expo, farm_ids, stats_before, stats_after)
        check_serialisation(t, aggregations, farm_ids)
        # independent oracles: botocore's SigV4 and the service model, over every request sent so far
        oracles.check_exporter_requests(t, sim, {harness.ACCESS_KEY_ID: (harness.SECRET_ACCESS_KEY, None)},
                                        harness.REGION, expected_drift=NEW_USAGE_TYPE_DRIFT)
        t.check(sim.url.startswith("https://") or os.environ.get("DCE_TEST_TLS") == "0",
                "the exporter reached the simulator over HTTPS", sim.url)
        for sim_farm in sim_farms:
            for rep in REPORTS:
                check_report(t, sim_farm, rep, aggregations, sessions[sim_farm["farmId"]], expo)
        check_hostile_names(t, sessions, expo)
        new_types = {s["usageType"] for f in farm_ids for s in sessions[f]} - {"COMPUTE", "LICENSE",
                                                                                 "PERSISTENT_VOLUME"}
        scraped_types = {s.labels.get("usage_type") for s in expo.series(harness.USAGE_SESSIONS, report="queue_usage")}
        t.check(new_types, "the simulator has sessions of a usage type beyond the model's")
        t.check(new_types <= scraped_types, "unknown usage types %s pass through" % sorted(new_types),
                sorted(scraped_types))
        check_http(t, exp)

        t.check(exp.proc.alive(), "the exporter is still running")
        status = exp.proc.stop()
        t.check(status == 0, "the exporter stops cleanly on SIGTERM (status 0)", status)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
