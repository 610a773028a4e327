#!/usr/bin/env python3
"""test_simulator_spend: the simulator's data for spend counters, per-show labels and the API plan: names that follow
a studio convention, sessions that keep starting (--live-sessions) and bursts (/__sim/spend), big farms (--queues,
--fleets) asked by queue and by fleet, checked against the records through the API signed with botocore."""

import datetime
import json
import math
import re
import subprocess
import sys
import time

import harness

try:
    import botocore  # noqa: F401  (harness.SignedClient signs with it)
except ImportError:  # pragma: no cover
    botocore = None

# The convention a label rule would follow (the contract's example): show, shot, department, version.
JOB_CONVENTION = re.compile(r"([a-z0-9]+)_sh([0-9]{4})_(anim|comp|fx|lgt|lookdev)_v([0-9]{3})")
DEPARTMENTS = ("anim", "comp", "fx", "lgt", "lookdev")
QUEUE_CONVENTION = re.compile(r"(.+) - (.+)")
PRODUCTIONS = ("Aurora", "Basalt", "Cinder", "Drift", "Ember", "Fjord", "Glacier", "Harbor")
QUEUE_DEPARTMENTS = {"Lighting": "lgt", "Comp": "comp", "FX": "fx", "Animation": "anim", "Lookdev": "lookdev",
                     "Layout": "layout", "Crowd": "cfx"}
DAY = 86400


def rfc3339(t):
    """UTC seconds as the API's RFC 3339 text, with milliseconds."""
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


def request(ids, start, end, group_by, kind="queueIds"):
    return {"resourceIds": {kind: ids}, "startTime": rfc3339(start), "endTime": rfc3339(end), "groupBy": group_by,
            "statistics": ["SUM"]}


def aggregate_all(c, farm_id, ids, start, end, group_by, kind="queueIds"):
    """Every batch of 10 ids aggregated, rows merged by their group members: {key: [count, cost, runtime]}."""
    out = {}
    for i in range(0, len(ids), 10):
        for row in c.aggregate(farm_id, request(ids[i:i + 10], start, end, group_by, kind)):
            key = tuple(row.get(harness.GROUP_FIELDS[g][0], "") for g in group_by)
            acc = out.setdefault(key, [0, 0.0, 0.0])
            acc[0] += row["count"]
            acc[1] += row["costInUsd"]["sum"]
            acc[2] += row["runtimeInSeconds"]["sum"]
    return out


def records_by(sessions, group_by, start=None, end=None):
    """The records summed in their listed order (the simulator's session order), by group: {key: [n, cost, rt]}."""
    out = {}
    for s in sessions:
        if (start is not None and s["startTime"] < start) or (end is not None and s["startTime"] >= end):
            continue
        key = tuple(s.get(harness.GROUP_FIELDS[g][0], "") for g in group_by)
        acc = out.setdefault(key, [0, 0.0, 0.0])
        acc[0] += 1
        acc[1] += s["costUsd"]
        acc[2] += s["runtimeSeconds"]
    return out


def same_figures(a, b):
    """Two {key: [count, cost, runtime]}: the same keys, counts, and sums to 1e-9 (added in another order)."""
    if set(a) != set(b):
        return False
    return all(a[k][0] == b[k][0] and harness.close(a[k][1], b[k][1]) and harness.close(a[k][2], b[k][2]) for k in a)


def diff(a, b, limit=5):
    keys = sorted(set(a) | set(b), key=str)
    return [(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)][:limit]


# ---- names ----

def check_queue_names(t, inv):
    for farm in inv["farms"]:
        names = [q["displayName"] for q in farm["queues"]]
        convention = [i for i, n in enumerate(names) if QUEUE_CONVENTION.fullmatch(n)]
        # index 2 mod 5: hostile (the inventory tests' escaping); 9 mod 10: near misses; the rest follow it
        expected = [i for i in range(len(names)) if i % 5 != 2 and i % 10 != 9]
        t.check(convention == expected, "farm %s: the queues named 'Production - Department' are those expected"
                % farm["farmId"][:12], [names[i] for i in set(convention) ^ set(expected)])
        wrong = [names[i] for i in convention if QUEUE_CONVENTION.fullmatch(names[i]).group(1) not in PRODUCTIONS
                 or QUEUE_CONVENTION.fullmatch(names[i]).group(2) not in QUEUE_DEPARTMENTS]
        t.check(not wrong, "farm %s: productions and departments from the studio's lists" % farm["farmId"][:12],
                wrong)
    names = [q["displayName"] for f in inv["farms"] for q in f["queues"]]
    t.check(any("\n" in n for n in names) and any('"' in n and "\\" in n for n in names),
            "hostile queue names are still there (every 5th)")
    t.check("Scratch queue 09" in names and any("–" in n and not QUEUE_CONVENTION.fullmatch(n) for n in names),
            "near misses: a queue without a production, and one with an en dash for ' - '")


def check_job_names(t, sim, inv):
    queue_names = {q["queueId"]: q["displayName"] for f in inv["farms"] for q in f["queues"]}
    jobs = {}
    for farm in sim.farms():
        for s in sim.sessions(farm["farmId"]):
            jobs[s["jobId"]] = (s["jobName"], s["queueId"])
    hostile = [j for j, (n, _) in jobs.items() if "#" in n]  # every hostile form carries "#<index>"
    share = len(hostile) / len(jobs)
    t.check(0.08 <= share <= 0.15, "about every 9th job keeps a hostile name (%.3f of %d)" % (share, len(jobs)))
    plain = {j: v for j, v in jobs.items() if j not in hostile}
    follows = {j: JOB_CONVENTION.fullmatch(n) for j, (n, _) in plain.items()}
    n_follow = sum(1 for m in follows.values() if m)
    t.check(0.5 <= n_follow / len(plain) <= 0.9, "most other job names follow show_shNNNN_dept_vNNN (%d of %d)"
            % (n_follow, len(plain)))
    t.check({m.group(3) for m in follows.values() if m} == set(DEPARTMENTS), "every department of the convention "
            "appears", sorted({m.group(3) for m in follows.values() if m}))
    misses = sorted(n for j, (n, _) in plain.items() if not follows[j])
    t.check(any(n.startswith("Turntable ") for n in misses) and any("-sh" in n for n in misses)
            and any(n.startswith("plate_ingest_") for n in misses) and any("_layout_" in n or "_cfx_" in n
                                                                            for n in misses),
            "some names do not follow it (free forms, dashes, departments outside the list)", misses[:8])
    # the show is the production of the job's queue, the department mostly the queue's
    shows = depts = both = 0
    for j, m in follows.items():
        q = QUEUE_CONVENTION.fullmatch(queue_names[plain[j][1]])
        if not m or not q:
            continue
        both += 1
        shows += m.group(1) == q.group(1).lower()
        depts += m.group(3) == QUEUE_DEPARTMENTS[q.group(2)]
    t.check(both and shows == both, "a conventional job's show is its queue's production (%d of %d)"
            % (shows, both))
    t.check(both and depts >= 0.6 * both, "its department mostly its queue's (%d of %d)" % (depts, both))
    return jobs


def check_by_show(t, sim, c):
    """Rows by JOB_ID merged by the show a label rule derives equal the records merged the same way."""
    farm = sim.farms()[0]
    epoch = sim._json("GET", "/__sim/farms")["dataEpoch"]
    start, end = epoch - 101 * DAY, epoch + 1
    rows = aggregate_all(c, farm["farmId"], farm["queueIds"], start, end, ["JOB_ID", "USAGE_TYPE"])
    names = {s["jobId"]: s["jobName"] for s in sim.sessions(farm["farmId"])}

    def show(job_name):
        m = re.fullmatch(r"([a-z0-9]+)_.*", job_name, re.S)
        return m.group(1) if m else "unknown"

    got, want = {}, {}
    for (job, usage), (n, cost, rt) in rows.items():
        acc = got.setdefault((show(names[job]), usage), [0, 0.0, 0.0])
        acc[0] += n
        acc[1] += cost
        acc[2] += rt
    for (job, usage), fig in records_by(sim.sessions(farm["farmId"]), ["JOB_ID", "USAGE_TYPE"]).items():
        acc = want.setdefault((show(names[job]), usage), [0, 0.0, 0.0])
        for i in range(3):
            acc[i] += fig[i]
    t.check(same_figures(got, want) and len({k[0] for k in got}) >= 8,
            "%d (show, usage type) groups from JOB_ID rows equal the records merged by the same rule" % len(got),
            diff(got, want))


# ---- sessions that keep starting ----

def scheduled_count(origin, per_minute, now):
    """How many of the schedule's sessions started by now: k with origin + floor((k + 1) * 60 / rate) <= now."""
    k = 0
    while origin + math.floor((k + 1) * 60.0 / per_minute) <= now:
        k += 1
    return k


def live_sessions(sim, farms, since):
    out, nows = {}, []
    for f in farms:
        sessions, now = sim.sessions_between(f, start=since)
        out[f] = [s for s in sessions if s["source"] != "history"]
        nows.append(now)
    return out, min(nows)


def check_live(t, workdir):
    sim = harness.Simulator(workdir, "--live-sessions", "240", "--aggregation-delay", "20", "--quiet", name="live")
    c = harness.SignedClient(sim)
    spend = sim._json("GET", "/__sim/spend")
    origin = spend["origin"]
    farms = [f["farmId"] for f in sim.farms()]
    t.check(spend["perMinute"] == 240 and abs(origin - time.time()) < 5, "the schedule: 240 a minute from the "
            "start", spend)
    time.sleep(3.2)
    first, now1 = live_sessions(sim, farms, origin)
    n = sum(1 for f in farms for s in first[f] if s["startTime"] <= now1)
    t.check(n == scheduled_count(origin, 240, now1) and n >= 12,
            "four sessions a second since the start: %d by %.1f s" % (n, now1 - origin))
    t.check(all(s["source"] == "schedule" and s["startTime"] >= origin for f in farms for s in first[f]),
            "all of them from the schedule, none before the start")
    t.check(len([f for f in farms if first[f]]) >= 2, "spread over the farms like the history",
            {f[:12]: len(first[f]) for f in farms})

    # the records grow, the earlier ones unchanged; an aggregation never sees a session after its end
    t1 = time.time()
    farm = max(farms, key=lambda f: len(first[f]))
    ids = [x for x in sim.farms() if x["farmId"] == farm][0]["queueIds"]
    a1 = aggregate_all(c, farm, ids, origin, t1, ["USAGE_TYPE"])
    time.sleep(2.5)
    t2 = time.time()
    a2 = aggregate_all(c, farm, ids, origin, t2, ["USAGE_TYPE"])
    second, _ = live_sessions(sim, farms, origin)
    t.check(second[farm][:len(first[farm])] == first[farm], "sessions listed earlier are listed again unchanged")
    recs = sim.sessions_between(farm, start=origin)[0]
    r1, r2 = records_by(recs, ["USAGE_TYPE"], origin, t1), records_by(recs, ["USAGE_TYPE"], origin, t2)
    t.check(same_figures(a1, r1) and same_figures(a2, r2), "aggregations over [start, t1) and [start, t2) equal "
            "the records", diff(a1, r1), diff(a2, r2))
    grown = {k: [a2[k][i] - a1.get(k, [0, 0.0, 0.0])[i] for i in range(3)] for k in a2}
    between = records_by(recs, ["USAGE_TYPE"], t1, t2)
    t.check(sum(v[0] for v in between.values()) >= 3 and
            all(grown[k][0] == between.get(k, [0])[0] and harness.close(grown[k][1], between.get(k, [0, 0.0])[1],
                                                                        1e-6) for k in grown),
            "what the figures grew by between t1 and t2 is the records of [t1, t2)", grown, between)

    # the same seed and rate: the same sessions at the same offsets from the start
    again = harness.Simulator(workdir, "--live-sessions", "240", "--quiet", name="live-again")
    origin2 = again._json("GET", "/__sim/spend")["origin"]
    time.sleep(2.2)
    other, _ = live_sessions(again, farms, origin2)

    def shape(sessions, o):
        return sorted((s["startTime"] - o, s["jobId"], s["fleetId"], s["costUsd"]) for s in sessions)[:3]

    t.check(all(shape(other[f], origin2) == shape(first[f], origin)[:len(shape(other[f], origin2))] for f in farms)
            and any(other[f] for f in farms), "the same seed gives the same live sessions")
    again.proc.stop()
    check_bursts(t, sim, c, farms, origin)
    sim.proc.stop()


def check_bursts(t, sim, c, farms, origin):
    farm = farms[1]
    info = [x for x in sim.farms() if x["farmId"] == farm][0]
    # early in a second, so that the listing below comes before the burst's second
    time.sleep(1.05 - time.time() % 1.0)
    before = time.time()
    b = sim._json("POST", "/__sim/spend", {"farmId": farm, "sessions": 4, "costUsd": 250})
    t.check(b["startTime"] >= before and b["startTime"] <= time.time() + 1 and abs(b["costUsd"] - 1000) < 0.01,
            "a burst of 4 sessions of 250 USD at the next whole second", b, before)
    early, now = sim.sessions_between(farm, start=b["startTime"])
    if now < b["startTime"]:
        t.check(not [s for s in early if s["source"] == "burst"], "not listed before its second")
    else:
        t.note("the listing came after the burst's second (a slow machine): not listed early unchecked")
    queue = info["queueIds"][1]
    bq = sim._json("POST", "/__sim/spend", {"farmId": farm, "costUsd": 40.5, "queueId": queue})
    harness.wait_for("the bursts' second", lambda: time.time() > bq["startTime"] + 0.1, 5)
    recs = sim.sessions_between(farm, start=b["startTime"])[0]
    burst = [s for s in recs if s["source"] == "burst"]
    t.check(len(burst) == 5 and {s["startTime"] for s in burst} <= {b["startTime"], bq["startTime"]}
            and all(abs(s["costUsd"] - 250) < 0.01 for s in burst[:4]) and burst[4]["queueId"] == queue
            and abs(sum(s["costUsd"] for s in burst[:4]) - b["costUsd"]) < 1e-9,
            "the burst's sessions listed with their start, cost and queue", burst)
    rows = aggregate_all(c, farm, info["queueIds"], b["startTime"], bq["startTime"] + 1, ["QUEUE_ID"])
    t.check(same_figures(rows, records_by(recs, ["QUEUE_ID"], b["startTime"], bq["startTime"] + 1)) and
            sum(v[1] for v in rows.values()) > 1040, "the aggregation covers the burst", rows)
    spend = sim._json("GET", "/__sim/spend")
    live = [f for f in spend["farms"] if f["farmId"] == farm][0]
    t.check(spend["bursts"] == 2 and live["liveCostUsd"] > 1040, "/__sim/spend counts the bursts", spend)
    counts = {f["farmId"]: (f["sessionCount"], f["liveSessionCount"]) for f in sim.farms()}
    t.check(counts[farm][1] >= 5, "/__sim/farms counts the live sessions", counts)
    for payload, status in (({"farmId": farm, "sessions": 0}, 400), ({"farmId": farm, "costUsd": -1}, 400),
                            ({"farmId": farm, "sessions": 10001}, 400), ({"farmId": farm, "bogus": 1}, 400),
                            ({"farmId": "farm-" + "0" * 32}, 404), ({"farmId": farm, "queueId": "queue-x"}, 404),
                            ({"sessions": 1}, 400)):
        r = harness.http_request(sim.port, "POST", "/__sim/spend", json.dumps(payload).encode(),
                                 {"Content-Type": "application/json"}, context=sim.context)
        t.check(r.status == status, "POST /__sim/spend %s: %d" % (payload, status), r.status, r.body[:200])


def check_live_cap(t, workdir):
    """Live sessions are bounded (a million over all farms): a burst past it is refused whole, the rest stays."""
    sim = harness.Simulator(workdir, "--quiet", name="cap")
    farm = sim.farms()[0]["farmId"]

    def burst(n):
        return harness.http_request(sim.port, "POST", "/__sim/spend", json.dumps({"farmId": farm, "sessions": n})
                                    .encode(), {"Content-Type": "application/json"}, timeout=60, context=sim.context)

    statuses = [burst(10000).status for _ in range(99)] + [burst(9999).status]
    r = burst(2)
    time.sleep(1.1)
    count = sim.farms()[0]["liveSessionCount"]
    t.check(statuses == [200] * 100 and r.status == 409 and b"too many" in r.body and count == 999999,
            "999,999 live sessions taken, a burst of 2 past a million refused whole (409)", statuses[95:], r.status,
            count)
    statuses = [burst(1).status, burst(1).status]
    time.sleep(1.1)
    t.check(statuses == [200, 409] and sim.farms()[0]["liveSessionCount"] == 1000000,
            "the millionth taken, the next refused", statuses)
    sim.proc.stop()


def check_history_only(t, workdir):
    """Without --live-sessions the data ends at the start, as the window and budget tests assume."""
    sim = harness.Simulator(workdir, "--quiet", name="history")
    time.sleep(2.1)
    d = sim._json("GET", "/__sim/farms")
    late = [s for f in d["farms"] for s in sim.sessions(f["farmId"]) if s["startTime"] >= d["dataEpoch"]]
    t.check(not late and sim._json("GET", "/__sim/spend")["perMinute"] == 0 and
            all(f["liveSessionCount"] == 0 for f in d["farms"]), "no session after the start without "
            "--live-sessions", late[:3])
    sim.proc.stop()


# ---- big farms: by queue or by fleet, the same sessions ----

def check_queues_fleets(t, workdir, queues, fleets, group_by):
    sim = harness.Simulator(workdir, "--queues", str(queues), "--fleets", str(fleets), "--aggregation-delay", "0",
                            "--quiet", name="big-%d" % queues)
    c = harness.SignedClient(sim)
    d = sim._json("GET", "/__sim/farms")
    farm = d["farms"][0]
    t.check((len(farm["queueIds"]), len(farm["fleetIds"])) == (queues, fleets) and
            [(len(f["queueIds"]), len(f["fleetIds"])) for f in d["farms"][1:]] == [(12, 3), (3, 1)],
            "--queues %d --fleets %d: the first farm's, the others as they were" % (queues, fleets))
    recs = sim.sessions(farm["farmId"])
    t.check(all(s["queueId"] in farm["queueIds"] and s["fleetId"] in farm["fleetIds"] for s in recs),
            "every session has one queue and one fleet of the farm")
    start, end = d["dataEpoch"] - 101 * DAY, d["dataEpoch"] + 1
    began = sim.stats()["aggregationsStarted"]
    by_queue = aggregate_all(c, farm["farmId"], farm["queueIds"], start, end, group_by)
    mid = sim.stats()["aggregationsStarted"]
    by_fleet = aggregate_all(c, farm["farmId"], farm["fleetIds"], start, end, group_by, "fleetIds")
    n_q, n_f = mid - began, sim.stats()["aggregationsStarted"] - mid
    t.check(same_figures(by_queue, by_fleet) and same_figures(by_queue, records_by(recs, group_by)),
            "(%d, %d): by queue (%d aggregations) == by fleet (%d) == the records, by %s"
            % (queues, fleets, n_q, n_f, "/".join(group_by)), diff(by_queue, by_fleet))
    t.check((n_q, n_f) == (-(-queues // 10), -(-fleets // 10)), "batches of 10", (n_q, n_f))
    if queues == 100:
        inv = sim._json("GET", "/__sim/inventory")
        statuses = [[fl["status"] for fl in f["fleets"]] for f in inv["farms"]]
        t.check(statuses[0][:6] == ["ACTIVE", "ACTIVE", "UPDATE_IN_PROGRESS", "ACTIVE", "SUSPENDED", "CREATE_FAILED"]
                and set(statuses[0][6:]) == {"ACTIVE"} and statuses[1] == ["ACTIVE", "CREATE_IN_PROGRESS",
                                                                          "UPDATE_FAILED"] and statuses[2] == ["ACTIVE"],
                "more fleets on the first farm leave the others' statuses as they were", statuses)
    sim.proc.stop()


def check_slow_aggregations(t, workdir):
    """--aggregation-delay 5000, as the plan benchmark runs it: in progress 5 s, the farm busy meanwhile."""
    sim = harness.Simulator(workdir, "--aggregation-delay", "5000", "--quiet", name="slow")
    c = harness.SignedClient(sim)
    farm = sim.farms()[2]
    epoch = sim._json("GET", "/__sim/farms")["dataEpoch"]
    t0 = time.monotonic()
    r, body = c.start(farm["farmId"], request(farm["queueIds"], epoch - 101 * DAY, epoch + 1, ["USAGE_TYPE"]))
    agg = body["aggregationId"]
    _, page = c.deadline(farm["farmId"] + "/sessions-statistics-aggregation", aggregationId=agg)
    r2, _ = c.start(farm["farmId"], request(farm["queueIds"], epoch - 101 * DAY, epoch + 1, ["USAGE_TYPE"]))
    t.check(page == {"status": "IN_PROGRESS"} and r2.status == 429, "in progress at once, a second Start 429",
            page, r2.status)
    while True:
        _, page = c.deadline(farm["farmId"] + "/sessions-statistics-aggregation", aggregationId=agg)
        if page["status"] != "IN_PROGRESS" or time.monotonic() - t0 > 30:
            break
        time.sleep(0.25)
    took = time.monotonic() - t0
    rows = {(x["usageType"],): [x["count"], x["costInUsd"]["sum"], x["runtimeInSeconds"]["sum"]]
            for x in page.get("statistics", [])}
    t.check(page["status"] == "COMPLETED" and 5.0 <= took < 10 and
            same_figures(rows, records_by(sim.sessions(farm["farmId"]), ["USAGE_TYPE"])),
            "COMPLETED after %.1f s with the records' figures" % took, page.get("status"))
    sim.proc.stop()


def check_cli(t):
    for args in (["--fleets", "0"], ["--fleets", "10001"], ["--live-sessions", "0"], ["--live-sessions", "601"],
                 ["--live-sessions", "x"]):
        p = subprocess.run([harness.env_path("SIMULATOR")] + args, capture_output=True, text=True, timeout=30)
        t.check(p.returncode == 2 and "invalid value" in p.stderr, "%s refused" % " ".join(args), p.stderr)


def main():
    with harness.Test("simulator_spend") as t:
        if botocore is None:
            raise harness.Skip("python3-botocore is not installed")
        check_cli(t)
        sim = harness.Simulator(t.workdir, "--quiet")
        c = harness.SignedClient(sim)
        inv = sim._json("GET", "/__sim/inventory")
        check_queue_names(t, inv)
        check_job_names(t, sim, inv)
        check_by_show(t, sim, c)
        sim.proc.stop()
        check_history_only(t, t.workdir)
        check_live_cap(t, t.workdir)
        check_live(t, t.workdir)
        check_queues_fleets(t, t.workdir, 10, 4, ["QUEUE_ID", "USAGE_TYPE"])
        check_queues_fleets(t, t.workdir, 100, 10, ["FLEET_ID", "INSTANCE_TYPE"])
        check_queues_fleets(t, t.workdir, 1000, 20, ["USAGE_TYPE"])
        check_slow_aggregations(t, t.workdir)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
