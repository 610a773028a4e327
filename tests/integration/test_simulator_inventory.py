#!/usr/bin/env python3
"""test_simulator_inventory: the simulator's farm inventory (GetFarm, ListQueues, ListFleets, ListBudgets, GetBudget)
and identity store (DescribeUser), signed with botocore, checked against the service models and /__sim/inventory."""

import datetime
import json
import os
import re
import sys
import urllib.parse

import harness

try:
    from botocore.auth import SigV4Auth  # harness.SignedClient signs with it
except ImportError:  # pragma: no cover
    SigV4Auth = None

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEADLINE_MODEL = os.path.join(ROOT, "tests", "bench", "aws-model", "deadline", "2023-10-12", "service-2.json")
IDENTITY_MODEL = os.path.join(ROOT, "tests", "data", "aws-model", "identitystore", "2020-06-15", "service-2.json")
IDENTITY_REGION = "eu-central-1"
API = "/2023-10-12/farms/"


class Client(harness.SignedClient):
    """Signs with botocore's SigV4Auth (the simulator's default credentials) and sends over loopback."""

    def describe_user(self, store, user, region=IDENTITY_REGION, service="identitystore", target=None):
        body = json.dumps({"IdentityStoreId": store, "UserId": user}).encode()
        headers = {"X-Amz-Target": target or "AWSIdentityStore.DescribeUser",
                   "Content-Type": "application/x-amz-json-1.1"}
        r = self.send("POST", "/", body, headers, service=service, region=region)
        return r, (json.loads(r.body) if r.body else None)


class Shapes:
    """Checks a JSON value against a shape of a service model: required members, no unknown ones, types, enums,
    lengths, ranges and the simple patterns."""

    def __init__(self, path, timestamps_iso):
        with open(path) as f:
            self.model = json.load(f)
        self.shapes = self.model["shapes"]
        self.timestamps_iso = timestamps_iso

    def output(self, op):
        return self.model["operations"][op]["output"]["shape"]

    def check(self, name, v, where="$"):
        s = self.shapes[name]
        t = s["type"]
        errs = []
        if t == "structure":
            if not isinstance(v, dict):
                return ["%s: %s expects an object" % (where, name)]
            for m in s.get("required", []):
                if m not in v:
                    errs.append("%s: required member %s missing" % (where, m))
            for k, x in v.items():
                if k not in s["members"]:
                    errs.append("%s: unknown member %s" % (where, k))
                else:
                    errs += self.check(s["members"][k]["shape"], x, where + "." + k)
            if s.get("union") and len(v) != 1:
                errs.append("%s: union %s with %d members" % (where, name, len(v)))
        elif t == "list":
            if not isinstance(v, list):
                return ["%s: expects a list" % where]
            if len(v) < s.get("min", 0) or len(v) > s.get("max", 1 << 60):
                errs.append("%s: %d items" % (where, len(v)))
            for i, x in enumerate(v):
                errs += self.check(s["member"]["shape"], x, "%s[%d]" % (where, i))
        elif t == "string":
            if not isinstance(v, str):
                return ["%s: expects a string, got %r" % (where, v)]
            if "enum" in s and v not in s["enum"]:
                errs.append("%s: %r not in %s" % (where, v, s["enum"]))
            if len(v) < s.get("min", 0) or len(v) > s.get("max", 1 << 60):
                errs.append("%s: length %d outside %s..%s" % (where, len(v), s.get("min"), s.get("max")))
            if "pattern" in s and "\\p" not in s["pattern"]:
                try:
                    if not re.fullmatch(s["pattern"], v):
                        errs.append("%s: %r does not match %s" % (where, v, s["pattern"]))
                except re.error:
                    pass
        elif t in ("integer", "long"):
            if not isinstance(v, int) or isinstance(v, bool):
                return ["%s: expects an integer, got %r" % (where, v)]
            if v < s.get("min", -(1 << 63)) or v > s.get("max", 1 << 63):
                errs.append("%s: %d out of range" % (where, v))
        elif t in ("float", "double"):
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                return ["%s: expects a number, got %r" % (where, v)]
            if v < s.get("min", float("-inf")) or v > s.get("max", float("inf")):
                errs.append("%s: %r out of range" % (where, v))
        elif t == "boolean":
            if not isinstance(v, bool):
                errs.append("%s: expects a boolean" % where)
        elif t == "timestamp":
            if s.get("timestampFormat") == "iso8601" or (self.timestamps_iso and "timestampFormat" not in s):
                if not isinstance(v, str) or not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", v):
                    errs.append("%s: %r is not an ISO 8601 UTC time" % (where, v))
            elif not isinstance(v, (int, float)) or isinstance(v, bool):
                errs.append("%s: %r is not epoch seconds" % (where, v))
        return errs


def iso_seconds(s):
    return int(datetime.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc).timestamp())


def hostile(s):
    """Quotes, backslashes, a newline or multi-byte UTF-8."""
    return any(c in s for c in "\"\\\n") or len(s.encode()) > len(s)


def all_pages(t, c, farm, what, member, shapes, **query):
    items, pages, token = [], 0, None
    while True:
        q = dict(query)
        if token:
            q["nextToken"] = token
        r, body = c.deadline(farm + "/" + what, **q)
        if not t.check(r.status == 200, "%s %s page %d: 200" % (what, farm, pages + 1), r.status, r.body[:300]):
            return items, pages
        errs = shapes.check(shapes.output({"queues": "ListQueues", "fleets": "ListFleets",
                                           "budgets": "ListBudgets"}[what]), body)
        t.check(not errs, "%s page matches the model" % what, *errs[:5])
        items += body[member]
        pages += 1
        token = body.get("nextToken")
        if not token or pages > 100:
            return items, pages


def check_deadline(t, sim, c, dl, inv):
    farms = {f["farmId"]: f for f in inv["farms"]}
    statuses, reasons, fleet_statuses, budget_statuses = set(), set(), set(), set()
    stopped = 0
    for farm_id, fi in farms.items():
        r, farm = c.deadline(farm_id)
        t.check(r.status == 200, "GetFarm %s: 200" % farm_id, r.status, r.body[:200])
        errs = dl.check(dl.output("GetFarm"), farm)
        t.check(not errs, "GetFarm %s matches the model" % farm_id, *errs[:5])
        t.check(farm == {k: fi[k] for k in farm}, "GetFarm agrees with /__sim/inventory", farm)
        t.check(all(farm.get(k) == fi.get(k) for k in ("displayName", "costScaleFactor", "description")),
                "GetFarm's name, description and cost scale factor are the inventory's")

        queues, _ = all_pages(t, c, farm_id, "queues", "queues", dl, maxResults=7)
        t.check(queues == fi["queues"], "ListQueues (pages of 7) = the inventory's queues, in order",
                len(queues), len(fi["queues"]))
        for q in queues:
            statuses.add(q["status"])
            t.check(("blockedReason" in q) == (q["status"] == "SCHEDULING_BLOCKED"),
                    "blockedReason only while blocked", q)
            if "blockedReason" in q:
                reasons.add(q["blockedReason"])
        fleets, _ = all_pages(t, c, farm_id, "fleets", "fleets", dl, maxResults=2)
        t.check(fleets == fi["fleets"], "ListFleets (pages of 2) = the inventory's fleets at the pinned step")
        for f in fleets:
            fleet_statuses.add(f["status"])
            t.check(f["minWorkerCount"] <= f["workerCount"] <= f["maxWorkerCount"], "workers within min..max", f)

        budgets, pages = all_pages(t, c, farm_id, "budgets", "budgets", dl, maxResults=5)
        want = len(fi["budgets"])
        t.check(pages == max(1, -(-want // 5)), "ListBudgets in pages of 5: %d pages for %d budgets" % (pages, want))
        t.check([b["budgetId"] for b in budgets] == [b["budgetId"] for b in fi["budgets"]],
                "ListBudgets lists the inventory's budgets")
        for status in ("ACTIVE", "INACTIVE"):
            only, _ = all_pages(t, c, farm_id, "budgets", "budgets", dl, maxResults=3, status=status)
            t.check(all(b["status"] == status for b in only) and
                    len(only) == sum(b["status"] == status for b in fi["budgets"]),
                    "ListBudgets status=%s filters" % status)
        queue_by_id = {q["queueId"]: q for q in queues}
        for b, bi in zip(budgets, fi["budgets"]):
            budget_statuses.add(b["status"])
            t.check(all(b[k] == bi[k] for k in b), "the summary of %s agrees with the inventory" % b["budgetId"])
            r, full = c.deadline(farm_id + "/budgets/" + b["budgetId"])
            t.check(r.status == 200, "GetBudget: 200", r.status)
            errs = dl.check(dl.output("GetBudget"), full)
            t.check(not errs, "GetBudget %s matches the model" % b["budgetId"], *errs[:5])
            t.check({k: v for k, v in bi.items() if not k.endswith("Seconds")} == full,
                    "GetBudget %s = the inventory's record" % b["budgetId"], full, bi)
            t.check(iso_seconds(full["schedule"]["fixed"]["startTime"]) == bi["startTimeSeconds"] and
                    iso_seconds(full["schedule"]["fixed"]["endTime"]) == bi["endTimeSeconds"],
                    "the schedule's times in seconds")
            for k in ("approximateDollarLimit",):
                t.check(full[k] >= 0.01, "limit >= 0.01")
            if "queueStoppedAt" in full:
                stopped += 1
                q = queue_by_id[full["usageTrackingResource"]["queueId"]]
                t.check(q["status"] == "SCHEDULING_BLOCKED" and q["blockedReason"] == "BUDGET_THRESHOLD_REACHED",
                        "the queue a budget stopped is blocked by it", q)
                t.check(full["usages"]["approximateDollarUsage"] >= min(
                    a["thresholdPercentage"] for a in full["actions"]) / 100 * full["approximateDollarLimit"],
                    "a stopped budget has reached a threshold")
                t.check(iso_seconds(full["queueStoppedAt"]) == bi["queueStoppedAtSeconds"], "queueStoppedAt seconds")
    t.check(statuses == {"IDLE", "SCHEDULING", "SCHEDULING_BLOCKED"}, "queues in every status", statuses)
    t.check(reasons == {"NO_BUDGET_CONFIGURED", "BUDGET_THRESHOLD_REACHED"}, "both blocked reasons", reasons)
    t.check(fleet_statuses == set(dl.shapes["FleetStatus"]["enum"]), "fleets in every status", fleet_statuses)
    t.check(budget_statuses == {"ACTIVE", "INACTIVE"}, "budgets active and inactive")
    t.check(stopped >= 1, "at least one budget stopped its queue", stopped)
    for kind, names in (("farms", [f["displayName"] for f in inv["farms"]]),
                        ("queues", [q["displayName"] for f in inv["farms"] for q in f["queues"]]),
                        ("fleets", [q["displayName"] for f in inv["farms"] for q in f["fleets"]]),
                        ("budgets", [q["displayName"] for f in inv["farms"] for q in f["budgets"]]),
                        ("users", [u["displayName"] for u in inv["users"] if u["exists"]])):
        t.check(any('"' in n for n in names) and any("\\" in n for n in names) and any("\n" in n for n in names)
                and any(len(n.encode()) > len(n) for n in names), "hostile %s names" % kind)


def check_fleets_move(t, sim, c, farm_id):
    seen, counts = set(), set()
    for step in range(0, 40):
        inv = sim._json("POST", "/__sim/inventory", {"step": step})
        for f in [f for f in inv["farms"] if f["farmId"] == farm_id][0]["fleets"]:
            if "autoScalingStatus" in f:
                seen.add(f["autoScalingStatus"])
                counts.add((f["fleetId"], f["workerCount"]))
        if step in (0, 17):
            fleets, _ = all_pages(t, c, farm_id, "fleets", "fleets", SHAPES_DL)
            want = [f for f in inv["farms"] if f["farmId"] == farm_id][0]["fleets"]
            t.check(fleets == want, "ListFleets at step %d = the inventory at that step" % step)
    t.check(seen == {"GROWING", "STEADY", "SHRINKING"}, "fleets grow, hold and shrink", seen)
    t.check(len(counts) > 10, "worker counts change with the clock", len(counts))


def check_errors(t, c, farm_id):
    r, body = c.deadline(farm_id + "/budgets/budget-" + "0" * 32)
    t.check(r.status == 404 and r.header("x-amzn-ErrorType").startswith("ResourceNotFoundException") and
            body.get("resourceType") == "budget", "an unknown budget: 404 ResourceNotFoundException", r.status, body)
    r, body = c.deadline(farm_id + "/budgets/budget-xyz")
    t.check(r.status == 400 and body.get("fieldList", [{}])[0].get("name") == "budgetId", "a bad budget id: 400")
    for q in ({"maxResults": "0"}, {"maxResults": "101"}, {"nextToken": "not-a-token"}, {"status": "PAUSED"}):
        r, body = c.deadline(farm_id + "/budgets", **q)
        t.check(r.status == 400 and r.header("x-amzn-ErrorType").startswith("ValidationException"),
                "ListBudgets %s: 400 ValidationException" % q, r.status)
    r, _ = c.deadline("farm-" + "0" * 32)
    t.check(r.status == 404, "GetFarm of an unknown farm: 404", r.status)
    r = c.send("GET", API + farm_id + "/budgets", service="identitystore")
    t.check(r.status == 403, "a Deadline Cloud request signed for identitystore: 403", r.status)


def check_identity(t, sim, c, inv):
    store = inv["identityStoreId"]
    users = {u["userId"]: u for u in inv["users"]}
    farm = inv["farms"][0]["farmId"]
    used = {s["userId"] for s in sim.sessions(farm)}
    idm = Shapes(IDENTITY_MODEL, timestamps_iso=False)
    t.check(used and used <= set(users), "every user id in the usage records is in the identity store", len(used))
    found = missing = 0
    for uid in sorted(used):
        r, body = c.describe_user(store, uid)
        u = users[uid]
        if u["exists"]:
            found += 1
            t.check(r.status == 200 and r.header("content-type") == "application/x-amz-json-1.1",
                    "DescribeUser %s: 200 JSON 1.1" % uid, r.status, r.body[:300])
            errs = idm.check("DescribeUserResponse", body)
            t.check(not errs, "DescribeUser matches the model", *errs[:5])
            t.check(body["UserName"] == u["userName"] and body["DisplayName"] == u["displayName"] and
                    body["UserId"] == uid and body["IdentityStoreId"] == store, "DescribeUser = the inventory's user")
        else:
            missing += 1
            t.check(r.status == 400 and body.get("__type") == "ResourceNotFoundException" and
                    body.get("ResourceType") == "USER" and body.get("ResourceId") == uid,
                    "a deleted user: 400 ResourceNotFoundException (USER)", r.status, body)
            errs = idm.check("ResourceNotFoundException", {k: v for k, v in body.items() if k != "__type"})
            t.check(not errs, "the error matches the model", *errs[:5])
    t.check(found > 0 and missing > 0, "users found and users gone", found, missing)
    uid = sorted(u for u in used if users[u]["exists"])[0]
    r, body = c.describe_user(store, store[2:] + "-00000000-0000-0000-0000-000000000000")
    t.check(r.status == 400 and body.get("__type") == "ResourceNotFoundException", "an unknown user: 400", body)
    r, body = c.describe_user("d-0000000000", uid)
    t.check(r.status == 400 and body.get("__type") == "ResourceNotFoundException" and
            body.get("ResourceType") == "IDENTITY_STORE", "an unknown identity store: 400", body)
    r, body = c.describe_user(store, "not a user id")
    t.check(r.status == 400 and body.get("__type") == "ValidationException", "a malformed user id: 400", body)
    r, body = c.describe_user(store, uid, region=harness.REGION)
    t.check(r.status == 403 and body.get("__type") == "InvalidSignatureException" and
            r.header("x-amzn-ErrorType") == "InvalidSignatureException",
            "signed for another region: 403 InvalidSignatureException", r.status, body)
    r, body = c.describe_user(store, uid, service="deadline")
    t.check(r.status == 403 and body.get("__type") == "InvalidSignatureException",
            "signed for another service: 403", r.status, body)
    r, body = c.describe_user(store, uid, target="AWSIdentityStore.ListUsers")
    t.check(r.status == 400 and body.get("__type") == "UnknownOperationException", "another target: 400", body)
    before = sim.stats()["describeUserCalls"].get(uid, 0)
    sim._json("POST", "/__sim/identity", {"throttle": 2})
    for i in range(2):
        r, body = c.describe_user(store, uid)
        t.check(r.status == 400 and body.get("__type") == "ThrottlingException" and
                r.header("x-amzn-ErrorType") == "ThrottlingException", "throttled %d: 400 ThrottlingException" % i,
                r.status, body)
    r, body = c.describe_user(store, uid)
    t.check(r.status == 200, "after the throttling: 200", r.status)
    stats = sim.stats()
    t.check(stats["describeUserCalls"].get(uid) == before + 3, "DescribeUser calls counted per user id",
            stats["describeUserCalls"].get(uid), before)
    t.check(sim._json("GET", "/__sim/identity")["describeUserCalls"] == stats["describeUserCalls"],
            "/__sim/identity counts the same")
    t.check(stats["requests"]["DescribeUser"].get("403", 0) >= 2, "DescribeUser answers counted by status")


def check_page_cap(t, workdir):
    workdir = os.path.join(workdir, "capped")  # a port file of its own
    os.mkdir(workdir)
    sim = harness.Simulator(workdir, "--page-size-cap", "4", "--sessions", "500", "--quiet")
    c = Client(sim)
    farm = sim._json("GET", "/__sim/inventory")["farms"][0]
    budgets, pages = all_pages(t, c, farm["farmId"], "budgets", "budgets", SHAPES_DL)
    t.check(len(budgets) == len(farm["budgets"]) and pages == -(-len(budgets) // 4),
            "--page-size-cap 4: %d budgets in %d pages without maxResults" % (len(budgets), pages))
    sim.proc.stop()


SHAPES_DL = None


def main():
    global SHAPES_DL
    with harness.Test("simulator_inventory") as t:
        if SigV4Auth is None:
            raise harness.Skip("python3-botocore is not installed")
        SHAPES_DL = Shapes(DEADLINE_MODEL, timestamps_iso=True)
        sim = harness.Simulator(t.workdir, "--identity-region", IDENTITY_REGION, "--quiet")
        c = Client(sim)
        inv = sim._json("POST", "/__sim/inventory", {"step": 3})
        t.check(inv["pinned"] and inv["step"] == 3 and inv["identityRegion"] == IDENTITY_REGION,
                "the inventory clock pinned at step 3")
        check_deadline(t, sim, c, SHAPES_DL, inv)
        t.check(sim._json("GET", "/__sim/inventory") == inv, "the pinned inventory does not change")
        check_fleets_move(t, sim, c, inv["farms"][0]["farmId"])
        check_errors(t, c, inv["farms"][0]["farmId"])
        check_identity(t, sim, c, inv)
        stats = sim.stats()
        for op in ("GetFarm", "ListBudgets", "GetBudget", "DescribeUser"):
            t.check(stats["requests"][op].get("200", 0) > 0, "%s counted in /__sim/stats" % op)
        t.check(stats["signatureFailures"] >= 3, "refused signatures counted", stats["signatureFailures"])
        check_page_cap(t, t.workdir)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
