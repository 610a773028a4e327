#!/usr/bin/env python3
"""make-seeds: (re)writes the seed corpora of the fuzz targets from real simulator responses and the repo's files.

usage: make-seeds.py SIMULATOR   (build/tests/simulator/deadline-cloud-simulator); talks only to 127.0.0.1.
"""

import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
KEY, SECRET, REGION = "AKIDSIMULATOR", "simulator-secret-key", "us-west-2"


def sign(method, path, query, body, host):
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload}
    if body:
        headers["content-type"] = "application/json"
    names = sorted(headers)
    canonical_query = "&".join(sorted(query.split("&"))) if query else ""
    canonical = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), canonical_query]
                          + ["%s:%s" % (n, headers[n]) for n in names] + ["", ";".join(names), payload])
    scope = "%s/%s/deadline/aws4_request" % (day, REGION)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + SECRET).encode()
    for part in (day, REGION, "deadline", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                                % (KEY, scope, ";".join(names), sig))
    return headers


def call(port, method, path, query="", payload=None, signed=True):
    body = json.dumps(payload).encode() if payload is not None else b""
    host = "127.0.0.1:%d" % port
    headers = sign(method, path, query, body, host) if signed else {"host": host}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path + ("?" + query if query else ""), body=body or None, headers=headers)
    r = conn.getresponse()
    data = r.read()
    etype = r.getheader("x-amzn-ErrorType")
    conn.close()
    return r.status, etype, data


def put(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


def api_seeds(sim):
    work = tempfile.mkdtemp(prefix="dce-seeds-")
    port_file = os.path.join(work, "port")
    proc = subprocess.Popen([sim, "--listen", "127.0.0.1:0", "--port-file", port_file, "--quiet", "--jobs", "30",
                             "--users", "5", "--sessions", "300", "--new-usage-type", "--aggregation-delay", "0"],
                            stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(port_file):
                break
            time.sleep(0.05)
        port = int(open(port_file).read())
        farms = json.loads(call(port, "GET", "/__sim/farms", signed=False)[2])["farms"]
        farm = farms[-1]["farmId"]
        base = "/2023-10-12/farms/%s" % farm
        s, _, q = call(port, "GET", base + "/queues", "maxResults=2")
        put("fuzz-api-get", "sim-list-queues.json", q)
        put("fuzz-api-get", "sim-list-fleets.json", call(port, "GET", base + "/fleets", "maxResults=100")[2])
        queues = [x["queueId"] for x in json.loads(call(port, "GET", base + "/queues", "maxResults=100")[2])["queues"]]
        end = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        start = end - datetime.timedelta(days=3)
        req = {"resourceIds": {"queueIds": queues}, "startTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
               "endTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"), "timezone": "UTC+00:00", "period": "DAILY",
               "groupBy": ["JOB_ID", "USAGE_TYPE"], "statistics": ["SUM", "MIN", "MAX", "AVG"]}
        s, _, started = call(port, "POST", base + "/sessions-statistics-aggregation", "", req)
        put("fuzz-api-get", "sim-start.json", started)
        agg = json.loads(started)["aggregationId"]
        for _ in range(50):
            s, _, page = call(port, "GET", base + "/sessions-statistics-aggregation",
                              "aggregationId=%s&maxResults=4" % agg)
            if json.loads(page).get("status") != "IN_PROGRESS":
                break
            time.sleep(0.1)
        put("fuzz-api-get", "sim-get-page.json", page)
        s, etype, err = call(port, "GET", base + "/sessions-statistics-aggregation",
                             "aggregationId=aggregation-00000000000000000000000000000000&maxResults=1")
        put("fuzz-api-get", "sim-error-404.txt", (etype or "").encode() + b"\n" + err)
        s, etype, err = call(port, "GET", base + "/queues", "maxResults=1", signed=False)
        put("fuzz-api-get", "sim-error-403.txt", (etype or "").encode() + b"\n" + err)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def render_seed(rows, flags=0x0f, rep0=(0x07, 0x0f), rep1=(0x20, 0x03)):
    """The fuzz-render input format (see fuzz-render.c): flags, two reports, then rows."""
    out = bytes([flags, rep0[0], rep0[1], rep1[0], rep1[1]])
    for fields, job, count, cost, runtime in rows:
        mask = 0
        strs = b""
        for f in range(7):
            if f in fields:
                mask |= 1 << f
                v = fields[f]
                strs += bytes([len(v)]) + v
        if job is not None:
            mask |= 0x80
            strs += bytes([len(job)]) + job
        out += bytes([mask, 0xff]) + strs + bytes([count])
        for v in cost + runtime:
            out += b"\xff" + struct.pack("<d", v)
    return out


def other_seeds():
    for name in ("get-completed.json", "list-queues.json", "list-fleets.json"):
        shutil.copy(os.path.join(ROOT, "tests", "data", "api", name), os.path.join(CORPUS, "fuzz-api-get", name))
    os.makedirs(os.path.join(CORPUS, "fuzz-config"), exist_ok=True)
    shutil.copy(os.path.join(ROOT, "config", "deadline-cloud-exporter.conf"),
                os.path.join(CORPUS, "fuzz-config", "example.conf"))
    for name in ("good-full.conf", "good-minimal.conf", "good-labels.conf", "bad-many.conf", "bad-syntax.conf",
                 "bad-labels.conf"):
        shutil.copy(os.path.join(ROOT, "tests", "data", "config", name), os.path.join(CORPUS, "fuzz-config", name))
    # fuzz-sigv4: flags byte, method, path, query, headers, empty line, body
    put("fuzz-sigv4", "get-list.txt", b"\x1fGET\n/2023-10-12/farms/farm-0123/queues\nmaxResults=100&nextToken=a%2Bb\n"
        b"Host:deadline.us-west-2.amazonaws.com\nAccept:application/json\n\n")
    put("fuzz-sigv4", "post-start.txt", b"\x07POST\n/2023-10-12/farms/farm-0123/sessions-statistics-aggregation\n\n"
        b"Content-Type:application/json\nX-Amz-Target:  a   b  \nmy-header1:v1\nMy-Header1:v2\n\n{\"a\":1}")
    put("fuzz-sigv4", "relative.txt", b"\x01GET\n/a/./b/../c//d/%2F%20\nb=2&a=1&a=0&c\nX:\t y \n\n")
    put("fuzz-sigv4", "s3-like.txt", b"\x10GET\n/a b/%7e\n%41=%zz\nhost:h\n\n")
    put("fuzz-render", "hostile.bin", render_seed([
        ({0: b"queue-1", 4: b"COMPUTE"}, b'job "1"\\\n', 3, [1.5, 0.5, 1.0, 0.5], [10.0, 2.0, 5.0, 3.3]),
        ({0: b"queue-1", 4: b"LICENSE"}, b"\xff\xfe bad utf-8 \xe2\x82", 1, [float("nan"), 0, 0, 0],
         [float("inf"), float("-inf"), 1e308, 5e-324]),
        ({0: b"\xe2\x80\xa8\xf0\x9f\x98\x80", 2: b"job-1"}, b"\t\r", 0, [0.1, 0.2, 0.3, 0.4], [0, -0.0, 1, 2]),
    ]))
    put("fuzz-render", "empty-values.bin", render_seed([({}, None, 1, [1, 1, 1, 1], [2, 2, 2, 2]),
                                                        ({0: b""}, b"", 2, [1, 1, 1, 1], [2, 2, 2, 2])],
                                                       flags=0x03))


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    api_seeds(sys.argv[1])
    other_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
