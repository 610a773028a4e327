#!/usr/bin/env python3
"""test_simulator_activity: the simulator's live state (ListWorkers, SearchJobs, ListQueueFleetAssociations, ListLimits,
ListLicenseEndpoints), signed with botocore, checked against the service model and /__sim/activity while it changes.

SearchJobs is read as AWS's own client (aws-deadline/deadline-cloud, _list_jobs_by_filter_expression) reads it: always
itemOffset 0, sorted by CREATED_AT ascending, then asked again with CREATED_AT >= the last createdAt seen, the jobs kept
by id; the simulator's result window is made small (--search-offset-cap) so that this is what gets past it. The jobs of
the usage records are found too, finished, in their sessions' queue."""

import datetime
import json
import subprocess
import sys
import urllib.parse

import harness
import oracles
from test_simulator_inventory import Client

API = "/2023-10-12/farms/"
OFFSET_CAP = 250
ACTIVE = ["PENDING", "READY", "ASSIGNED", "STARTING", "SCHEDULED", "INTERRUPTING", "RUNNING", "SUSPENDED"]
ACTIVE_FILTER = {"operator": "OR", "filters": [
    {"stringListFilter": {"name": "TASK_RUN_STATUS", "operator": "ANY_EQUALS", "values": ACTIVE}}]}
BY_CREATED = [{"fieldSort": {"name": "CREATED_AT", "sortOrder": "ASCENDING"}}]
# the model lists no ValidationException for this operation, yet the service answers one for a bad token or id
MODEL_GAPS = {("ListQueueFleetAssociations", "ValidationException")}


def ms(text):
    """An ISO 8601 time as milliseconds: "…:58Z" sorts after "…:58.500Z" as text, not as time."""
    d = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return round(d.timestamp() * 1000)


def status_filter(status):
    return {"stringFilter": {"name": "TASK_RUN_STATUS", "operator": "EQUAL", "value": status}}


class Api:
    """Signed calls (botocore), each request and answer checked against the service model."""

    def __init__(self, t, sim):
        self.t = t
        self.client = Client(sim)
        self.model = oracles.Model()
        self.calls = 0

    def call(self, op, method, path, body=None, **query):
        uri = path + ("?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote) if query else "")
        data = json.dumps(body).encode() if body is not None else b""
        r = self.client.send(method, uri, data or None, {"Content-Type": "application/json"} if data else None)
        self.calls += 1
        error = (r.header("x-amzn-ErrorType") or "").split(":")[0]
        try:
            doc = json.loads(r.body) if r.body else None
        except ValueError:
            doc = None
        if r.status == 200:
            errs = self.model.request(op, method, uri, data) + self.model.response(op, r.status, error, r.body)
            self.t.check(not errs, "%s %s: request and answer fit the model" % (op, uri[:100]), *errs[:5])
        elif (op, error) not in MODEL_GAPS and error:
            errs = self.model.response(op, r.status, error, r.body)
            self.t.check(not errs, "%s's %s fits the model" % (op, error), *errs[:5])
        return r, doc

    def pages(self, op, path, member, **query):
        items, pages, token = [], 0, None
        while pages < 1000:
            q = dict(query, **({"nextToken": token} if token else {}))
            r, doc = self.call(op, "GET", path, **q)
            if not self.t.check(r.status == 200, "%s page %d: 200" % (op, pages + 1), r.status, r.body[:300]):
                break
            items += doc[member]
            pages += 1
            token = doc.get("nextToken")
            if not token:
                break
        return items, pages

    def search(self, farm, body):
        return self.call("SearchJobs", "POST", API + farm + "/search/jobs", body)

    def search_like_aws_client(self, farm, queue_ids, provided=ACTIVE_FILTER):
        """The jobs matching provided, read the way aws-deadline/deadline-cloud reads them (module docstring)."""
        found, calls, repeats = {}, 0, 0
        filters = {"operator": "AND", "filters": [{"groupFilter": provided}]}
        while calls < 500:
            r, doc = self.search(farm, {"queueIds": queue_ids, "itemOffset": 0, "filterExpressions": filters,
                                        "sortExpressions": BY_CREATED})
            calls += 1
            if not self.t.check(r.status == 200, "SearchJobs: 200", r.status, r.body[:300]):
                break
            jobs, total = doc["jobs"], doc["totalResults"]
            repeats += sum(j["jobId"] in found for j in jobs)
            found.update((j["jobId"], j) for j in jobs)
            if len(jobs) == total:
                break
            if not self.t.check(jobs[0]["createdAt"] != jobs[-1]["createdAt"], "a page spans several createdAt"):
                break
            filters = {"operator": "AND", "filters": [{"groupFilter": provided}, {"dateTimeFilter": {
                "name": "CREATED_AT", "operator": "GREATER_THAN_EQUAL_TO", "dateTime": jobs[-1]["createdAt"]}}]}
        return found, calls, repeats

    def search_by_offset(self, farm, queue_ids, filters=ACTIVE_FILTER, page_size=100):
        """nextItemOffset after nextItemOffset: (jobs by id, pages, jobs seen again on the next page, totalResults)."""
        found, pages, repeats, offset, last = {}, 0, 0, 0, None
        while pages < 500:
            r, doc = self.search(farm, {"queueIds": queue_ids, "itemOffset": offset, "pageSize": page_size,
                                        "filterExpressions": filters, "sortExpressions": BY_CREATED})
            pages += 1
            if not self.t.check(r.status == 200, "SearchJobs at %d: 200" % offset, r.status, r.body[:300]):
                break
            if doc["jobs"] and last is not None and doc["jobs"][0]["jobId"] == last:
                repeats += 1
            found.update((j["jobId"], j) for j in doc["jobs"])
            last = doc["jobs"][-1]["jobId"] if doc["jobs"] else last
            if "nextItemOffset" not in doc:
                return found, pages, repeats, doc["totalResults"]
            offset = doc["nextItemOffset"]
        return found, pages, repeats, None


def pin(sim, step):
    return sim._json("POST", "/__sim/activity", {"step": step})


def batches(ids, n=10):
    return [ids[i:i + n] for i in range(0, len(ids), n)]


def check_against_truth(t, api, truth):
    """Every list, and every queue's active jobs read like AWS's client, equal the truth at its step."""
    step = truth["step"]
    for farm in truth["farms"]:
        fid = farm["farmId"]
        for fleet in farm["fleets"]:
            workers, _ = api.pages("ListWorkers", API + fid + "/fleets/" + fleet["fleetId"] + "/workers", "workers",
                                   maxResults=3)
            t.check(workers == fleet["workers"], "step %d: ListWorkers (pages of 3) of %s = the truth" % (
                step, fleet["fleetId"]), len(workers), fleet["workerCount"])
        assoc, _ = api.pages("ListQueueFleetAssociations", API + fid + "/queue-fleet-associations",
                             "queueFleetAssociations", maxResults=4)
        t.check(assoc == farm["associations"], "step %d: ListQueueFleetAssociations = the truth" % step)
        limits, _ = api.pages("ListLimits", API + fid + "/limits", "limits", maxResults=1)
        t.check(limits == farm["limits"], "step %d: ListLimits (pages of 1) = the truth" % step)
        truth_jobs = {j["jobId"]: j for q in farm["queues"] for j in q["activeJobs"]}
        found = {}
        for ids in batches([q["queueId"] for q in farm["queues"]]):
            jobs, _, _ = api.search_like_aws_client(fid, ids)
            found.update(jobs)
        t.check(found == truth_jobs, "step %d: SearchJobs read like AWS's client = the truth's %d active jobs of %s"
                % (step, len(truth_jobs), fid), len(found), sorted(set(found) ^ set(truth_jobs))[:3])
    les, _ = api.pages("ListLicenseEndpoints", "/2023-10-12/license-endpoints", "licenseEndpoints", maxResults=2)
    t.check(les == truth["licenseEndpoints"], "step %d: ListLicenseEndpoints = the truth" % step)


def check_truth_consistent(t, truth):
    for farm in truth["farms"]:
        for fleet in farm["fleets"]:
            counts = {s: sum(w["status"] == s for w in fleet["workers"]) for s in fleet["workersByStatus"]}
            t.check(counts == fleet["workersByStatus"] and fleet["workerCount"] == len(fleet["workers"]),
                    "the truth's worker counts are its workers'")
        for q in farm["queues"]:
            jobs = q["activeJobs"]
            waiting = [j for j in jobs if j["taskRunStatusCounts"].get("READY", 0) > 0
                       and j["taskRunStatusCounts"].get("RUNNING", 0) == 0]
            oldest = min(waiting, key=lambda j: (ms(j["createdAt"]), j["jobId"])) if waiting else None
            t.check(q["activeJobCount"] == len(jobs) and all(j["taskRunStatus"] in ACTIVE for j in jobs),
                    "the truth lists the queue's active jobs")
            t.check((q["oldestWaitingJob"] or {}).get("jobId") == (oldest or {}).get("jobId"),
                    "the oldest waiting job: READY tasks, none RUNNING", q["oldestWaitingJob"], oldest)
            t.check(q["tasksByStatus"] == {s: sum(j["taskRunStatusCounts"].get(s, 0) for j in jobs)
                                           for s in q["tasksByStatus"]}, "the task counts sum the active jobs'")


def check_search_paging(t, api, sim, truth):
    farm = truth["farms"][0]
    fid = farm["farmId"]
    ids = [q["queueId"] for q in farm["queues"]][:10]
    want = {j["jobId"]: j for q in farm["queues"][:10] for j in q["activeJobs"]}
    t.check(len(want) > OFFSET_CAP and max(q["activeJobCount"] for q in farm["queues"]) > 100,
            "a queue with more than 100 active jobs, a batch past the offset cap", len(want))
    found, calls, repeats = api.search_like_aws_client(fid, ids)
    t.check(found == want and calls >= (len(want) + 99) // 100 and repeats > 0,
            "past the result window of %d: %d calls, %d jobs seen again and dropped, exactly the truth's %d"
            % (OFFSET_CAP, calls, repeats, len(want)), len(found))
    t.note("past the window: %d jobs in %d calls, %d seen again" % (len(found), calls, repeats))
    by_offset, pages, _, total = api.search_by_offset(fid, ids)
    t.check(total == OFFSET_CAP and len(by_offset) < len(want) and set(by_offset) <= set(want),
            "paging by itemOffset stops at the window: totalResults %s, %d of %d jobs" % (
                total, len(by_offset), len(want)))
    r, doc = api.search(fid, {"queueIds": ids, "itemOffset": OFFSET_CAP + 1})
    t.check(r.status == 400 and doc["fieldList"][0]["name"] == "itemOffset", "itemOffset past the window: 400")
    small = [q for q in farm["queues"] if 0 < q["activeJobCount"] < 60][:4]
    small_ids = [q["queueId"] for q in small]
    want_small = {j["jobId"]: j for q in small for j in q["activeJobs"]}
    seen, repeats_total = {}, 0
    for size in (7, 10, 13):
        seen, pages, repeats, total = api.search_by_offset(fid, small_ids, page_size=size)
        repeats_total += repeats
        t.check(seen == want_small and total == len(want_small),
                "nextItemOffset in pages of %d: the truth's %d jobs" % (size, len(want_small)), len(seen))
    t.check(repeats_total > 0, "now and then a job comes again on the next page (eventual consistency)")
    # eight statuses in three groups of at most three: the filter-count rule still reaches every active job
    grouped = {"operator": "OR", "filters": [
        {"groupFilter": {"operator": "OR", "filters": [status_filter(s) for s in ACTIVE[i:i + 3]]}}
        for i in (0, 3, 6)]}
    seen, _, _, _ = api.search_by_offset(fid, small_ids, filters=grouped)
    t.check(seen == want_small, "3 groups of 3 stringFilters find the same jobs as a stringListFilter")
    check_sorts_and_filters(t, api, fid, small_ids, want_small)


def check_sorts_and_filters(t, api, fid, ids, want):
    r, doc = api.search(fid, {"queueIds": ids, "itemOffset": 0, "filterExpressions": ACTIVE_FILTER,
                              "sortExpressions": [{"fieldSort": {"name": "CREATED_AT", "sortOrder": "DESCENDING"}}]})
    created = [ms(j["createdAt"]) for j in doc["jobs"]]
    t.check(created == sorted(created, reverse=True) and len(created) == min(100, len(want)), "CREATED_AT DESCENDING")
    r, doc = api.search(fid, {"queueIds": ids, "itemOffset": 0, "pageSize": 100,
                              "filterExpressions": ACTIVE_FILTER,
                              "sortExpressions": [{"fieldSort": {"name": "PRIORITY", "sortOrder": "DESCENDING"}}]})
    prio = [j["priority"] for j in doc["jobs"]]
    t.check(prio == sorted(prio, reverse=True), "PRIORITY DESCENDING", prio[:10])
    running = {k for k, j in want.items() if j["taskRunStatus"] == "RUNNING"}
    r, doc = api.search(fid, {"queueIds": ids, "itemOffset": 0,
                              "filterExpressions": {"operator": "AND", "filters": [status_filter("RUNNING")]}})
    t.check({j["jobId"] for j in doc["jobs"]} == running, "stringFilter EQUAL RUNNING", len(running))
    r, doc = api.search(fid, {"queueIds": ids, "itemOffset": 0, "filterExpressions": {"operator": "AND", "filters": [
        {"stringListFilter": {"name": "TASK_RUN_STATUS", "operator": "ALL_NOT_EQUALS", "values": ACTIVE}}]}})
    t.check(doc["totalResults"] > 0 and all(j["taskRunStatus"] not in ACTIVE for j in doc["jobs"]),
            "ALL_NOT_EQUALS the active statuses: finished jobs only", {j["taskRunStatus"] for j in doc["jobs"]})
    oldest = min(want.values(), key=lambda j: ms(j["createdAt"]))["createdAt"]
    r, doc = api.search(fid, {"queueIds": ids, "itemOffset": 0, "filterExpressions": {"operator": "AND", "filters": [
        {"groupFilter": ACTIVE_FILTER},
        {"dateTimeFilter": {"name": "CREATED_AT", "operator": "GREATER_THAN", "dateTime": oldest}}]}})
    t.check(doc["totalResults"] == sum(ms(j["createdAt"]) > ms(oldest) for j in want.values()),
            "CREATED_AT GREATER_THAN")


def check_usage_jobs(t, api, sim):
    """SearchJobs also finds the jobs of the usage records, finished, in the queue the sessions name, created before
    their first session: so a client can find the queue of a job that only the usage statistics named."""
    farm = sim._json("GET", "/__sim/farms")["farms"][1]
    fid = farm["farmId"]
    sessions = sim._json("GET", "/__sim/sessions?farmId=" + fid)["sessions"]
    want = {}
    for s in sessions:
        queue, first = want.get(s["jobId"], (s["queueId"], s["startTime"]))
        t.check(queue == s["queueId"], "a job's sessions are all in its queue", s["jobId"])
        want[s["jobId"]] = (queue, min(first, s["startTime"]))
    found = {}
    for ids in batches(farm["queueIds"]):
        jobs, _, _ = api.search_like_aws_client(fid, ids, provided={"operator": "OR", "filters": [
            status_filter("SUCCEEDED")]})
        found.update(jobs)
    usage = {k: j for k, j in found.items() if k in want}
    t.check(len(usage) == len(want), "SearchJobs finds every job of the usage records of %s" % fid,
            len(usage), len(want))
    t.check(all(j["queueId"] == want[k][0] and j["taskRunStatus"] == "SUCCEEDED" and
                ms(j["createdAt"]) < want[k][1] * 1000 for k, j in usage.items()),
            "each in its sessions' queue, SUCCEEDED, created before its first session")
    names = {s["jobId"]: s["jobName"] for s in sessions}
    t.check(all(j["name"] == names[k] for k, j in usage.items()), "with the name the usage records give it")


def check_validation(t, api, fid, queue_ids):
    """Requests the model (or the service's documented limits) forbids: 400 ValidationException naming the field."""
    q = queue_ids[:1]
    four = [status_filter(s) for s in ACTIVE[:4]]
    nested4 = {"operator": "OR", "filters": [{"groupFilter": {"operator": "OR", "filters": four}}]}
    deeper = {"operator": "OR", "filters": [{"groupFilter": {"operator": "OR", "filters": [
        {"groupFilter": {"operator": "OR", "filters": [status_filter("READY")]}}]}}]}
    cases = [
        ("4 filters in the request's group", {"filterExpressions": {"operator": "OR", "filters": four}},
         "filterExpressions.filters", True),
        ("4 filters in a nested group", {"filterExpressions": nested4},
         "filterExpressions.filters[0].groupFilter.filters", True),
        ("a group in a nested group", {"filterExpressions": deeper},
         "filterExpressions.filters[0].groupFilter.filters[0].groupFilter", False),
        ("no filters", {"filterExpressions": {"operator": "OR", "filters": []}}, "filterExpressions.filters", True),
        ("operator XOR", {"filterExpressions": {"operator": "XOR", "filters": four[:1]}},
         "filterExpressions.operator", True),
        ("two members in a union", {"filterExpressions": {"operator": "OR", "filters": [
            dict(status_filter("READY"), **{"searchTermFilter": {"searchTerm": "x"}})]}},
         "filterExpressions.filters[0]", True),
        ("a field not searched", {"filterExpressions": {"operator": "OR", "filters": [
            {"stringFilter": {"name": "STATUS", "operator": "EQUAL", "value": "READY"}}]}},
         "filterExpressions.filters[0].stringFilter.name", False),
        ("a status that is none", {"filterExpressions": {"operator": "OR", "filters": [status_filter("DONE")]}},
         "filterExpressions.filters[0].stringFilter.value", False),
        ("an ordering operator on a string", {"filterExpressions": {"operator": "OR", "filters": [
            {"stringFilter": {"name": "TASK_RUN_STATUS", "operator": "GREATER_THAN", "value": "READY"}}]}},
         "filterExpressions.filters[0].stringFilter.operator", False),
        ("17 values", {"filterExpressions": {"operator": "OR", "filters": [{"stringListFilter": {
            "name": "TASK_RUN_STATUS", "operator": "ANY_EQUALS", "values": ["READY"] * 17}}]}},
         "filterExpressions.filters[0].stringListFilter.values", True),
        ("a date that is none", {"filterExpressions": {"operator": "OR", "filters": [{"dateTimeFilter": {
            "name": "CREATED_AT", "operator": "LESS_THAN", "dateTime": "yesterday"}}]}},
         "filterExpressions.filters[0].dateTimeFilter.dateTime", True),
        ("no sort", {"sortExpressions": []}, "sortExpressions", True),
        ("6 sorts", {"sortExpressions": BY_CREATED * 6}, "sortExpressions", True),
        ("a sort by NAME", {"sortExpressions": [{"fieldSort": {"name": "NAME", "sortOrder": "ASCENDING"}}]},
         "sortExpressions[0].fieldSort", False),
        ("no itemOffset", {"itemOffset": None}, "itemOffset", True),
        ("itemOffset 10001", {"itemOffset": 10001}, "itemOffset", True),
        ("pageSize 0", {"pageSize": 0}, "pageSize", True),
        ("pageSize 101", {"pageSize": 101}, "pageSize", True),
        ("no queue", {"queueIds": []}, "queueIds", True),
        ("11 queues", {"queueIds": queue_ids[:1] * 11}, "queueIds", True),
        ("a queue id that is none", {"queueIds": ["queue-xyz"]}, "queueIds", True),
        ("farmId in the body", {"farmId": fid}, "farmId", True),
    ]
    for what, change, field, model_says in cases:
        body = dict({"queueIds": q, "itemOffset": 0}, **change)
        body = {k: v for k, v in body.items() if v is not None}
        r, doc = api.search(fid, body)
        names = [f["name"] for f in (doc or {}).get("fieldList", [])]
        t.check(r.status == 400 and r.header("x-amzn-ErrorType").startswith("ValidationException") and
                names == [field], "SearchJobs with %s: 400 ValidationException naming %s" % (what, field),
                r.status, doc)
        if model_says:
            errs = api.model.request("SearchJobs", "POST", API + fid + "/search/jobs", json.dumps(body).encode())
            t.check(errs, "the service model also rejects %s" % what)
    r = api.client.send("POST", API + fid + "/search/jobs", b"[1,", {"Content-Type": "application/json"})
    t.check(r.status == 400 and json.loads(r.body).get("reason") == "CANNOT_PARSE", "a body that is not JSON: 400")
    r = api.client.send("GET", API + fid + "/search/jobs")
    t.check(r.status == 405 and r.header("Allow") == "POST", "GET on SearchJobs' path: 405 Allow: POST", r.status)


def check_list_errors(t, api, truth):
    fid = truth["farms"][0]["farmId"]
    r, doc = api.call("ListWorkers", "GET", API + fid + "/fleets/fleet-" + "0" * 32 + "/workers")
    t.check(r.status == 404 and doc.get("resourceType") == "fleet", "ListWorkers of an unknown fleet: 404", r.status)
    r, doc = api.call("ListWorkers", "GET", API + fid + "/fleets/fleet-xyz/workers")
    t.check(r.status == 400 and doc["fieldList"][0]["name"] == "fleetId", "a malformed fleet id: 400")
    for op, path in (("ListLimits", API + fid + "/limits"), ("ListLicenseEndpoints", "/2023-10-12/license-endpoints"),
                     ("ListQueueFleetAssociations", API + fid + "/queue-fleet-associations")):
        for query in ({"maxResults": "0"}, {"nextToken": "not-a-token"}):
            r, doc = api.call(op, "GET", path, **query)
            t.check(r.status == 400 and r.header("x-amzn-ErrorType").startswith("ValidationException"),
                    "%s %s: 400" % (op, query), r.status)
    r, doc = api.call("ListQueueFleetAssociations", "GET", API + fid + "/queue-fleet-associations", queueId="q")
    t.check(r.status == 400 and doc["fieldList"][0]["name"] == "queueId", "a malformed queueId filter: 400")
    r = api.client.send("GET", API + fid + "/limits", service="identitystore")
    t.check(r.status == 403, "a request signed for another service: 403", r.status)


def check_coverage(t, api, sim):
    """Over 60 steps: every status of every kind appears, and things change."""
    workers, jobs, tasks, assoc, les, limit_kinds, counts = set(), set(), set(), set(), set(), set(), set()
    for step in range(0, 60, 3):
        truth = pin(sim, step)
        for farm in truth["farms"]:
            for fleet in farm["fleets"]:
                workers |= {w["status"] for w in fleet["workers"]}
                counts.add((fleet["fleetId"], json.dumps(fleet["workersByStatus"])))
            for q in farm["queues"]:
                jobs |= {j["taskRunStatus"] for j in q["activeJobs"]}
                tasks |= {s for s, n in q["tasksByStatus"].items() if n}
            assoc |= {a["status"] for a in farm["associations"]}
            limit_kinds |= {"unlimited" if x["maxCount"] < 0 else "at max" if x["currentCount"] >= x["maxCount"]
                            else "below" for x in farm["limits"]}
        les |= {x["status"] for x in truth["licenseEndpoints"]}
    model = api.model.shapes
    t.check(workers == set(model["WorkerStatus"]["enum"]), "workers in every WorkerStatus", sorted(workers))
    t.check(jobs == set(ACTIVE), "active jobs in every active TaskRunStatus", sorted(jobs))
    t.check({"FAILED", "SUCCEEDED", "READY", "RUNNING"} <= tasks, "tasks succeed and fail", sorted(tasks))
    t.check(assoc == set(model["QueueFleetAssociationStatus"]["enum"]), "associations in every status", assoc)
    t.check(les == set(model["LicenseEndpointStatus"]["enum"]), "license endpoints in every status", les)
    t.check(limit_kinds == {"unlimited", "at max", "below"}, "limits at their maximum, below it, unlimited")
    t.check(len(counts) > 20, "worker statuses change with the clock", len(counts))
    truth = pin(sim, 9)
    ended = set()
    for farm in truth["farms"]:
        fid = farm["farmId"]
        for ids in batches([q["queueId"] for q in farm["queues"]]):
            _, doc = api.search(fid, {"queueIds": ids, "itemOffset": 0, "filterExpressions": {
                "operator": "AND", "filters": [{"stringListFilter": {
                    "name": "TASK_RUN_STATUS", "operator": "ALL_NOT_EQUALS", "values": ACTIVE}}]}})
            ended |= {j["taskRunStatus"] for j in doc["jobs"]}
    t.check(ended == {"CANCELED", "FAILED", "SUCCEEDED", "NOT_COMPATIBLE"}, "jobs end in every other status", ended)
    for farm in truth["farms"]:
        for q in farm["queues"]:
            if q["stalled"] and q["activeJobCount"]:
                links = [a for a in farm["associations"] if a["queueId"] == q["queueId"]]
                t.check(all(a["status"] != "ACTIVE" for a in links) and q["tasksByStatus"]["RUNNING"] == 0 and
                        q["tasksByStatus"]["READY"] > 0 and q["status"] == "SCHEDULING",
                        "a queue without an ACTIVE association: ready tasks, none running, not blocked")
    names = [x["displayName"] for farm in truth["farms"] for x in farm["limits"]]
    jobnames = [j["name"] for farm in truth["farms"] for q in farm["queues"] for j in q["activeJobs"]]
    for kind, values in (("limit", names), ("job", jobnames)):
        t.check(any('"' in n for n in values) and any("\\" in n for n in values) and any("\n" in n for n in values)
                and any(len(n.encode()) > len(n) for n in values), "hostile %s names" % kind)


def check_faults(t, api, sim, truth):
    f0, f1 = truth["farms"][0], truth["farms"][1]
    fleet1 = f1["fleets"][0]["fleetId"]
    before = sim.stats()
    faults = [{"mode": "throttle", "operation": "SearchJobs"},
              {"mode": "access_denied", "operation": "ListWorkers", "farmId": f1["farmId"]},
              {"mode": "malformed", "operation": "ListLimits"},
              {"mode": "error_500", "operation": "ListLicenseEndpoints", "farmId": f0["farmId"]},
              {"mode": "error_500", "operation": "ListLicenseEndpoints"},
              {"mode": "repeat_token", "operation": "ListQueueFleetAssociations"},
              {"mode": "wrong_types", "operation": "SearchJobs"}]
    for f in faults:
        sim._json("POST", "/__sim/faults", f)
    ids = [f0["queues"][1]["queueId"]]
    r, doc = api.search(f0["farmId"], {"queueIds": ids, "itemOffset": 0})
    t.check(r.status == 429 and r.header("x-amzn-ErrorType").startswith("ThrottlingException"),
            "targeted throttle on SearchJobs: 429", r.status)
    r = api.client.send("POST", API + f0["farmId"] + "/search/jobs",
                        json.dumps({"queueIds": ids, "itemOffset": 0}).encode(), {"Content-Type": "application/json"})
    t.check(r.status == 200 and json.loads(r.body) == {"jobs": {"count": "3"}}, "wrong_types on SearchJobs",
            r.body[:80])
    r, _ = api.call("ListWorkers", "GET", API + f0["farmId"] + "/fleets/" + f0["fleets"][1]["fleetId"] + "/workers")
    t.check(r.status == 200, "a fault for farm 1 leaves farm 0's ListWorkers alone", r.status)
    r, doc = api.call("ListWorkers", "GET", API + f1["farmId"] + "/fleets/" + fleet1 + "/workers")
    t.check(r.status == 403 and "deadline:ListWorkers" in doc["message"], "access_denied names deadline:ListWorkers")
    r = api.client.send("GET", API + f0["farmId"] + "/limits")
    t.check(r.status == 200 and not r.body.startswith(b'{"limits":[{"farmId"'), "malformed ListLimits", r.body[:60])
    r, _ = api.call("ListLicenseEndpoints", "GET", "/2023-10-12/license-endpoints")
    t.check(r.status == 500, "error_500 on the account-wide ListLicenseEndpoints", r.status)
    r = api.client.send("GET", API + f0["farmId"] + "/queue-fleet-associations")
    token = json.loads(r.body).get("nextToken", "")
    r2 = api.client.send("GET", API + f0["farmId"] + "/queue-fleet-associations?nextToken=" +
                         urllib.parse.quote(token, safe=""))
    t.check(token.startswith("SIMFAULT-") and json.loads(r2.body) == {"queueFleetAssociations": [],
                                                                     "nextToken": token}, "repeat_token on a list")
    waiting = sim._json("GET", "/__sim/faults")["targeted"]
    t.check(len(waiting) == 1 and waiting[0]["farmId"] == f0["farmId"],
            "a fault for one farm never hits the account-wide operation", waiting)
    sim._json("POST", "/__sim/faults", {"mode": "clear"})
    sim._json("POST", "/__sim/faults", {"throttleRate": 1.0})
    r, _ = api.call("ListLimits", "GET", API + f0["farmId"] + "/limits")
    sim._json("POST", "/__sim/faults", {"throttleRate": 0.0})
    t.check(r.status == 429, "random throttling applies to ListLimits", r.status)
    after = sim.stats()
    t.check(after["faultsInjected"] - before["faultsInjected"] == 7, "faults counted",
            after["faultsInjected"] - before["faultsInjected"])
    for op, code in (("SearchJobs", "429"), ("ListWorkers", "403"), ("ListLicenseEndpoints", "500"),
                     ("ListLimits", "200"), ("ListQueueFleetAssociations", "200")):
        t.check(after["requests"][op].get(code, 0) > before["requests"].get(op, {}).get(code, 0),
                "/__sim/stats counts %s %s" % (op, code))


def check_sizes(t, workdir):
    """The benchmark sizes: every scaling fleet 250 workers, every queue about 30 active jobs; bad values refused."""
    sim = harness.Simulator(workdir, "--workers-per-fleet", "250", "--active-jobs", "30", "--page-size-cap", "40",
                            "--quiet", name="sized")
    api = Api(t, sim)
    truth = pin(sim, 4)
    farm = truth["farms"][0]
    fleet = [f for f in farm["fleets"] if f["workerCount"] > 3][0]
    workers, pages = api.pages("ListWorkers", API + farm["farmId"] + "/fleets/" + fleet["fleetId"] + "/workers",
                               "workers")
    t.check(fleet["workerCount"] == 250 and len(workers) == 250 and pages == 7,
            "--workers-per-fleet 250 with --page-size-cap 40: 250 workers in 7 pages", fleet["workerCount"], pages)
    counts = [q["activeJobCount"] for f in truth["farms"] for q in f["queues"]]
    t.check(all(25 <= c <= 31 for c in counts), "--active-jobs 30: about 30 active jobs in every queue", counts)
    r, doc = api.search(farm["farmId"], {"queueIds": [q["queueId"] for q in farm["queues"][1:4]], "itemOffset": 0,
                                         "filterExpressions": ACTIVE_FILTER})
    t.check(len(doc["jobs"]) == 40 and doc["nextItemOffset"] == 40, "--page-size-cap also caps pageSize",
            len(doc["jobs"]))
    sim.proc.stop()
    for bad in (["--search-offset-cap", "0"], ["--search-offset-cap", "10001"], ["--workers-per-fleet", "0"],
                ["--active-jobs", "20001"], ["--activity-step", "0"]):
        p = subprocess.run([harness.env_path("SIMULATOR")] + bad, capture_output=True, timeout=30)
        t.check(p.returncode == 2 and bad[0].encode() in p.stderr, "%s refused" % " ".join(bad), p.stderr[:200])


def main():
    with harness.Test("simulator_activity") as t:
        if not oracles.available():
            raise harness.Skip("python3-botocore is not installed")
        sim = harness.Simulator(t.workdir, "--search-offset-cap", str(OFFSET_CAP), "--quiet")
        api = Api(t, sim)
        truth = pin(sim, 5)
        t.check(truth["pinned"] and truth["step"] == 5 and truth["searchOffsetCap"] == OFFSET_CAP,
                "the activity clock pinned at step 5")
        t.check(sim._json("GET", "/__sim/activity") == truth, "a pinned clock: the same truth")
        check_truth_consistent(t, truth)
        check_against_truth(t, api, truth)
        check_search_paging(t, api, sim, truth)
        check_usage_jobs(t, api, sim)
        check_validation(t, api, truth["farms"][0]["farmId"], [q["queueId"] for q in truth["farms"][0]["queues"]])
        check_list_errors(t, api, truth)
        moved = sim._json("POST", "/__sim/activity", {"advance": 7})
        t.check(moved["step"] == 12 and moved != truth, "advanced 7 steps: the state has changed")
        check_truth_consistent(t, moved)
        check_against_truth(t, api, moved)
        summary = sim._json("GET", "/__sim/activity?summary=1")
        t.check("activeJobs" not in summary["farms"][0]["queues"][0] and
                summary["farms"][0]["queues"][1]["activeJobCount"] == moved["farms"][0]["queues"][1]["activeJobCount"],
                "?summary=1 keeps the counts without the lists")
        check_coverage(t, api, sim)
        check_faults(t, api, sim, pin(sim, 5))
        r = harness.http_request(sim.port, "POST", "/__sim/activity", json.dumps({"step": 10 ** 12}).encode(),
                                 context=sim.context)
        t.check(r.status == 400, "a step a century away is refused (times and stream positions stay in range)",
                r.status)
        running = sim._json("POST", "/__sim/activity", {"step": None})
        t.check(not running["pinned"], "{\"step\": null} lets the clock run")
        check_sizes(t, t.workdir)
        t.note("%d signed API calls" % api.calls)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
