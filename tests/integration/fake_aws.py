"""fake_aws: loopback fakes of IMDSv2, the container credentials endpoint and STS, handing out short-lived keys.

Every set of credentials it issues is also made the simulator's accepted set (POST /__sim/credentials), so an
exporter that signs with anything else is refused. Standard library only.
"""

import datetime
import http.server
import json
import threading
import time
import urllib.parse
import urllib.request

import harness
import oracles

IMDS_TOKEN = "fake-imds-session-token"
ROLE_NAME = "fake-instance-role"


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeAWS:
    """One server on 127.0.0.1 for all three services; issued credentials expire after `lifetime` seconds."""

    def __init__(self, simulator_url, lifetime=3600, region="us-west-2"):
        self.simulator_url = simulator_url
        self.lifetime = lifetime
        self.region = region
        self.container_token = None  # the Authorization value the container endpoint requires
        self.sts_fail = None          # (status, code) to answer STS with instead of credentials
        self.signing_keys = {}        # access key id -> (secret, token): signed STS calls verified with botocore
        self.lock = threading.Lock()
        self.issued = []              # dicts: kind, key, secret, token, at, expires, details
        self.requests = []            # (method, path, headers dict, body) of every request
        self.serial = 0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _send(self, status, body, ctype="application/json"):
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self, body=b""):
                with fake.lock:
                    fake.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                          body))

            def do_PUT(self):
                self._record()
                if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                    return self._send(200, IMDS_TOKEN, "text/plain")
                return self._send(400, "bad token request", "text/plain")

            def do_GET(self):
                self._record()
                if self.path.startswith("/latest/"):
                    if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
                        return self._send(401, "", "text/plain")
                    if self.path == "/latest/meta-data/placement/region":
                        return self._send(200, fake.region, "text/plain")
                    if self.path == "/latest/meta-data/iam/security-credentials/":
                        return self._send(200, ROLE_NAME + "\n", "text/plain")
                    if self.path == "/latest/meta-data/iam/security-credentials/" + ROLE_NAME:
                        c = fake.issue("imds")
                        return self._send(200, json.dumps({
                            "Code": "Success", "LastUpdated": iso(time.time()), "Type": "AWS-HMAC",
                            "AccessKeyId": c["key"], "SecretAccessKey": c["secret"], "Token": c["token"],
                            "Expiration": iso(c["expires"])}))
                    return self._send(404, "", "text/plain")
                if self.path.startswith("/container/"):
                    if fake.container_token is not None and self.headers.get("Authorization") != fake.container_token:
                        return self._send(401, json.dumps({"code": "AccessDenied", "message": "bad token"}))
                    c = fake.issue("container")
                    return self._send(200, json.dumps({
                        "AccessKeyId": c["key"], "SecretAccessKey": c["secret"], "Token": c["token"],
                        "Expiration": iso(c["expires"]), "RoleArn": "arn:aws:iam::123456789012:role/task"}))
                return self._send(404, "{}")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                self._record(body)
                form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
                action = form.get("Action")
                if action not in ("AssumeRole", "AssumeRoleWithWebIdentity"):
                    return self._send(400, "<ErrorResponse><Error><Code>InvalidAction</Code><Message>no"
                                           "</Message></Error></ErrorResponse>", "text/xml")
                if fake.sts_fail:
                    status, code = fake.sts_fail
                    return self._send(status, "<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code>"
                                              "<Message>refused by the fake</Message></Error></ErrorResponse>"
                                      % code, "text/xml")
                auth = self.headers.get("Authorization")
                if action == "AssumeRole" and not auth:
                    return self._send(403, "<ErrorResponse><Error><Code>MissingAuthenticationToken</Code>"
                                           "<Message>unsigned</Message></Error></ErrorResponse>", "text/xml")
                signature = None
                if auth:
                    # botocore's SigV4, not the exporter's: "valid", or why not (also for a key not given)
                    why = oracles.verify_sigv4(self.command, "http://%s%s" % (self.headers.get("Host"), self.path),
                                               list(self.headers.items()), body, fake.signing_keys, "sts")
                    signature = why or "valid"
                    if why and not why.startswith("unknown access key id"):
                        return self._send(403, "<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch"
                                               "</Code><Message>%s</Message></Error></ErrorResponse>"
                                          % why.split("\n")[0].replace("<", "&lt;"), "text/xml")
                details = dict(form)
                details.pop("WebIdentityToken", None)
                details["signature"] = signature
                details["webIdentityToken"] = form.get("WebIdentityToken")
                details["authorization"] = auth
                details["securityToken"] = self.headers.get("X-Amz-Security-Token")
                c = fake.issue("sts-" + action, details)
                tag = action + "Response"
                result = action + "Result"
                return self._send(200, (
                    '<%s xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><%s>'
                    "<AssumedRoleUser><Arn>%s/x</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>"
                    "<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>"
                    "<SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials></%s>"
                    "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></%s>")
                    % (tag, result, form.get("RoleArn", ""), c["key"], c["secret"], c["token"], iso(c["expires"]),
                       result, tag), "text/xml")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def issue(self, kind, details=None):
        """New credentials, made the simulator's only accepted ones."""
        with self.lock:
            self.serial += 1
            n = self.serial
            now = time.time()
            c = {"kind": kind, "key": "ASIAFAKE%s%04d" % (kind.upper().replace("-", "")[:12], n),
                 "secret": "fake-secret-%d-%s" % (n, kind), "token": "fake-session-token-%d" % n,
                 "at": now, "expires": now + self.lifetime, "details": details or {}}
            set_simulator_credentials(self.simulator_url, c["key"], c["secret"], c["token"])
            self.issued.append(c)
            return c

    def issued_of(self, kind_prefix):
        with self.lock:
            return [c for c in self.issued if c["kind"].startswith(kind_prefix)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def set_simulator_credentials(simulator_url, key, secret, token=None):
    body = json.dumps({"accessKeyId": key, "secretAccessKey": secret, "sessionToken": token}).encode()
    req = urllib.request.Request(simulator_url + "/__sim/credentials", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    opener = harness.url_opener(simulator_url)  # no proxy; an HTTPS simulator verified with its CA
    with opener.open(req, timeout=10) as r:
        if r.status != 200:
            raise RuntimeError("simulator refused the credentials: %d" % r.status)
