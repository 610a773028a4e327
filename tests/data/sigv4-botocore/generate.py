#!/usr/bin/env python3
# generate: writes Deadline-like SigV4 cases signed by botocore, in the layout of tests/data/sigv4
"""Regenerates the case folders next to this script.

Each folder holds request.txt (the request as sent, before signing), context.json (credentials,
region, service, timestamp, normalize, sign_body), and what botocore's SigV4Auth produced:
header-canonical-request.txt, header-string-to-sign.txt, header-signature.txt and
header-signed-request.txt. test-sigv4.c walks these folders exactly like the AWS suite.

Run from anywhere: python3 tests/data/sigv4-botocore/generate.py (needs python3-botocore).
The keys below are made-up examples, not real credentials.
"""

import datetime
import hashlib
import json
import os
import shutil
from unittest import mock
from urllib.parse import urlsplit

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
REGION = "us-west-2"
SERVICE = "deadline"
TIMESTAMP = datetime.datetime(2026, 11, 26, 12, 34, 56)
ENDPOINT = "https://management.deadline.us-west-2.amazonaws.com"
FARM = "farm-0123456789abcdef0123456789abcdef"
QUEUE = "queue-0123456789abcdef0123456789abcdef"
ACCESS_KEY = "AKIDEXAMPLEDEADLINE1"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLXdlc3QtMiJHMEUCIQDexample+token/with=padding=="
NEXT_TOKEN = "AAMA-EFRSURBSGh3+example/next+token/with/slashes==" + "x" * 40 + "="

START_BODY = json.dumps(
    {
        "resourceIds": {"queueIds": [QUEUE]},
        "startTime": "2026-11-01T00:00:00Z",
        "endTime": "2026-11-26T00:00:00Z",
        "groupBy": ["QUEUE_ID", "USAGE_TYPE"],
        "statistics": ["SUM", "MIN", "MAX", "AVG"],
        "timezone": "UTC+00:00",
        "period": "DAILY",
    },
    separators=(",", ":"),
).encode()

AGGREGATION_PATH = f"/2023-10-12/farms/{FARM}/sessions-statistics-aggregation"

# name, method, path, query params (list of pairs), body, with session token, sign the body hash
CASES = [
    ("post-start-aggregation-token", "POST", AGGREGATION_PATH, [], START_BODY, True, True),
    ("post-start-aggregation", "POST", AGGREGATION_PATH, [], START_BODY, False, True),
    (
        "get-aggregation-next-token-token",
        "GET",
        AGGREGATION_PATH,
        [("aggregationId", "0123456789abcdef0123456789abcdef"), ("maxResults", "100"), ("nextToken", NEXT_TOKEN)],
        b"",
        True,
        True,
    ),
    (
        "get-aggregation-next-token",
        "GET",
        AGGREGATION_PATH,
        [("nextToken", NEXT_TOKEN), ("aggregationId", "0123456789abcdef0123456789abcdef"), ("maxResults", "100")],
        b"",
        False,
        True,
    ),
    # botocore puts a space on the wire as '+' (urlencode) and signs it as %20: '+' in a query means space.
    ("get-list-queues", "GET", f"/2023-10-12/farms/{FARM}/queues", [("maxResults", "100")], b"", False, False),
    (
        "get-list-fleets-next-token",
        "GET",
        f"/2023-10-12/farms/{FARM}/fleets",
        [("maxResults", "100"), ("nextToken", "a+b/c=d e~f")],
        b"",
        True,
        True,
    ),
    # A path that is already percent-encoded on the wire gets encoded once more (non-S3 SigV4).
    ("get-path-percent-encoded", "GET", "/2023-10-12/farms/farm%2Dx/a%20b/c%3Ad", [], b"", False, True),
]


def write(folder, name, text):
    with open(os.path.join(folder, name), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def generate_case(name, method, path, params, body, with_token, sign_body):
    folder = os.path.join(HERE, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)

    host = urlsplit(ENDPOINT).netloc
    headers = [("Host", host)]
    if method == "POST":
        headers.append(("Content-Type", "application/json"))
        headers.append(("Content-Length", str(len(body))))

    request = AWSRequest(method=method, url=ENDPOINT + path, headers=dict(headers), data=body or None, params=params)
    # What the exporter sends: the query exactly as botocore puts it on the wire.
    target = urlsplit(request.prepare().url)
    request_line = f"{method} {target.path}{'?' + target.query if target.query else ''} HTTP/1.1"

    request_txt = request_line + "\n" + "".join(f"{k}:{v}\n" for k, v in headers) + "\n"
    write(folder, "request.txt", request_txt + body.decode())

    if sign_body:
        # Plain SigV4Auth signs X-Amz-Content-SHA256 when the request carries it, as the exporter's does.
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()

    credentials = Credentials(ACCESS_KEY, SECRET_KEY, TOKEN if with_token else None)
    signer = botocore.auth.SigV4Auth(credentials, SERVICE, REGION)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=TIMESTAMP):
        signer.add_auth(request)
        # The intermediate texts as add_auth saw them: without the Authorization header it added.
        authorization = request.headers["Authorization"]
        del request.headers["Authorization"]
        canonical = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical)
        signature = signer.signature(string_to_sign, request)
        request.headers["Authorization"] = authorization
    if not authorization.endswith("Signature=" + signature):
        raise RuntimeError(f"{name}: recomputed signature differs from add_auth's")

    context = {
        "credentials": {"access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY},
        "normalize": True,
        "region": REGION,
        "service": SERVICE,
        "sign_body": sign_body,
        "timestamp": TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if with_token:
        context["credentials"]["token"] = TOKEN
    write(folder, "context.json", json.dumps(context, indent=4, sort_keys=True) + "\n")
    write(folder, "header-canonical-request.txt", canonical)
    write(folder, "header-string-to-sign.txt", string_to_sign)
    write(folder, "header-signature.txt", signature)
    signed = request_line + "\n" + "".join(f"{k}:{v}\n" for k, v in request.headers.items()) + "\n"
    write(folder, "header-signed-request.txt", signed + body.decode())


def main():
    for case in CASES:
        generate_case(*case)
    print(f"{len(CASES)} cases written by botocore {botocore.__version__} to {HERE}")


if __name__ == "__main__":
    main()
