"""fake_aws: loopback fakes of IMDSv2, the container credentials endpoint and STS, handing out short-lived keys.

Every set of credentials it issues is also made the simulator's accepted set (POST /__sim/credentials), so an
exporter that signs with anything else is refused: the default set, or, for a role registered with add_role(), the
set of the role's account (the simulator's farms of that account accept only it, until it expires).

STS: AssumeRole, AssumeRoleWithWebIdentity and GetCallerIdentity (Query protocol, XML answers). Signed calls are
checked with botocore's SigV4 (tests/integration/oracles.py). A role registered with add_role() is checked as IAM
would: the caller must be a known principal (add_principal(); the simulator's default keys are one, the home
account's user), its identity policy must allow sts:AssumeRole on the role, the role's trust policy must trust it
and, when the role has one, the ExternalId must match. AssumeRole on a role not registered answers as before:
any caller, any key. The simulator keeps keys per account, so two roles of one account share them there: the last
one assumed wins. The region a call was signed for is recorded (sts_calls, details["region"]), not enforced: one
endpoint stands for every regional one through AWS_ENDPOINT_URL_STS. Standard library only (botocore only for the
signature checks).
"""

import datetime
import hashlib
import http.server
import json
import re
import threading
import time
import urllib.parse
import urllib.request
from xml.sax.saxutils import escape

import harness
import oracles

IMDS_TOKEN = "fake-imds-session-token"
ROLE_NAME = "fake-instance-role"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
HOME_ACCOUNT = "123456789012"  # the simulator's SIM_HOME_ACCOUNT: its default keys' account
HOME_PRINCIPAL = "arn:aws:iam::%s:user/simulator" % HOME_ACCOUNT
ROLE_ARN_RE = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$")
SESSION_NAME_RE = re.compile(r"[\w+=,.@-]{2,64}$")
EXTERNAL_ID_RE = re.compile(r"[\w+=,.@:/-]{2,1224}$")


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
        self.principals = {}          # access key id -> Principal: who signs with it (GetCallerIdentity, IAM)
        self.roles = {}               # role ARN -> Role: AssumeRole checked as IAM would (add_role)
        self.lock = threading.Lock()
        self.issued = []              # dicts: kind, key, secret, token, at, expires, details
        self.requests = []            # (method, path, headers dict, body) of every request
        self.sts_calls = []           # dicts: action, key, region (of the signature), status, code, role
        self.serial = 0
        self.request_ids = 0
        fake = self
        self.add_principal(harness.ACCESS_KEY_ID, harness.SECRET_ACCESS_KEY, arn=HOME_PRINCIPAL)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _sts_error(self, status, code, message, sender=True):
                return self._send(status, '<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code>'
                                  "<Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>"
                                  % (STS_NS, "Sender" if sender else "Receiver", code, escape(message),
                                     fake.request_id()), "text/xml")

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
                call = {"action": action, "key": None, "region": None, "role": form.get("RoleArn")}
                status, code = fake.sts(self, action, form, body, call)
                call.update(status=status, code=code)
                with fake.lock:
                    fake.sts_calls.append(call)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    # ---- who is who ----

    def add_principal(self, key, secret, token=None, arn=HOME_PRINCIPAL, may_assume="*", expires=None):
        """Keys of an IAM principal (arn: a user, or an assumed role's session) whose identity policy allows
        sts:AssumeRole on the roles in may_assume ("*": any); they are expired after expires (UTC seconds)."""
        m = re.match(r"arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):(.+)$", arn)
        if not m:
            raise ValueError("not a principal ARN: %r" % arn)
        p = {"key": key, "secret": secret, "token": token, "arn": arn, "account": m.group(1),
             "may_assume": may_assume, "expires": expires,
             # an IAM unique id: AIDA… for a user, AROA…:session for a role's session
             "user_id": ("AROA" if ":assumed-role/" in arn else "AIDA")
             + hashlib.sha256(arn.encode()).hexdigest()[:17].upper()
             + (":" + arn.rsplit("/", 1)[1] if ":assumed-role/" in arn else "")}
        with self.lock:
            self.principals[key] = p
            self.signing_keys[key] = (secret, token)
        return p

    def add_role(self, arn, external_id=None, trusted=None, lifetime=None, max_session=3600):
        """A role AssumeRole checks as IAM would. trusted: the principal ARNs or account ids its trust policy
        names (None: every known principal); external_id: the sts:ExternalId its trust policy requires; lifetime:
        the seconds its credentials live (default: DurationSeconds, else the fake's lifetime)."""
        m = ROLE_ARN_RE.match(arn)
        if not m:
            raise ValueError("not a role ARN: %r" % arn)
        with self.lock:
            self.roles[arn] = {"arn": arn, "account": m.group(1), "name": m.group(2), "external_id": external_id,
                               "trusted": None if trusted is None else set(trusted), "lifetime": lifetime,
                               "max_session": max_session}

    def request_id(self):
        with self.lock:
            self.request_ids += 1
            return "fake-%08d-0000-4000-8000-000000000000" % self.request_ids

    # ---- STS ----

    def sts(self, h, action, form, body, call):
        """Answers one STS call on handler h; returns (status, error code or None)."""
        if action not in ("AssumeRole", "AssumeRoleWithWebIdentity", "GetCallerIdentity"):
            h._sts_error(400, "InvalidAction", "Could not find operation %s for version 2011-06-15" % action)
            return 400, "InvalidAction"
        if self.sts_fail:
            status, code = self.sts_fail
            h._sts_error(status, code, "refused by the fake")
            return status, code
        auth = h.headers.get("Authorization")
        m = oracles.AUTH_RE.match(auth or "")
        if m:
            call["key"], call["region"] = m.group(1), m.group(3)
        if action != "AssumeRoleWithWebIdentity" and not auth:
            h._sts_error(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
            return 403, "MissingAuthenticationToken"
        signature = None
        strict = action == "GetCallerIdentity" or (action == "AssumeRole" and form.get("RoleArn") in self.roles)
        if auth:
            # botocore's SigV4, not the exporter's: "valid", or why not (also for a key not given)
            why = oracles.verify_sigv4(h.command, "http://%s%s" % (h.headers.get("Host"), h.path),
                                       list(h.headers.items()), body, dict(self.signing_keys), "sts")
            signature = why or "valid"
            if why and why.startswith("unknown access key id"):
                if strict:
                    h._sts_error(403, "InvalidClientTokenId", "The security token included in the request is "
                                 "invalid.")
                    return 403, "InvalidClientTokenId"
            elif why:
                h._sts_error(403, "SignatureDoesNotMatch", why.split("\n")[0])
                return 403, "SignatureDoesNotMatch"
        caller = self.principals.get(call["key"]) if auth else None
        if caller and caller["expires"] is not None and time.time() >= caller["expires"]:
            h._sts_error(403, "ExpiredToken", "The security token included in the request is expired")
            return 403, "ExpiredToken"
        if action == "GetCallerIdentity":
            h._send(200, '<GetCallerIdentityResponse xmlns="%s"><GetCallerIdentityResult><Arn>%s</Arn>'
                    "<UserId>%s</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata>"
                    "<RequestId>%s</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
                    % (STS_NS, escape(caller["arn"]), escape(caller["user_id"]), caller["account"],
                       self.request_id()), "text/xml")
            return 200, None
        details = dict(form)
        details.pop("WebIdentityToken", None)
        details.update(signature=signature, webIdentityToken=form.get("WebIdentityToken"), authorization=auth,
                       securityToken=h.headers.get("X-Amz-Security-Token"), region=call["region"],
                       caller=caller["arn"] if caller else None)
        role = self.roles.get(form.get("RoleArn")) if action == "AssumeRole" else None
        if role:
            refused = self.refusal(role, caller, form)
            if refused:
                h._sts_error(refused[0], refused[1], refused[2])
                return refused[0], refused[1]
        c = self.issue("sts-" + action, details, role)
        tag = action + "Response"
        result = action + "Result"
        h._send(200, ('<%s xmlns="%s"><%s><AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>%s</AssumedRoleId>'
                      "</AssumedRoleUser><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s"
                      "</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>"
                      "</%s><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%s>")
                % (tag, STS_NS, result, escape(c["arn"]), escape(c["user_id"]), c["key"], c["secret"], c["token"],
                   iso(c["expires"]), result, self.request_id(), tag), "text/xml")
        return 200, None

    def refusal(self, role, caller, form):
        """(status, code, message) when IAM refuses caller the role, else None: the caller's identity policy
        first (no sts:AssumeRole on the role), then the role's trust policy (caller not trusted, ExternalId)."""
        name, duration = form.get("RoleSessionName", ""), form.get("DurationSeconds", "3600")
        if not SESSION_NAME_RE.match(name):
            return (400, "ValidationError", "1 validation error detected: Value '%s' at 'roleSessionName' failed "
                    "to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*" % name)
        if "ExternalId" in form and not EXTERNAL_ID_RE.match(form["ExternalId"]):
            return (400, "ValidationError", "1 validation error detected: Value at 'externalId' failed to satisfy "
                    "constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*")
        if not duration.isdigit() or not 900 <= int(duration) <= 43200:
            return (400, "ValidationError", "1 validation error detected: Value '%s' at 'durationSeconds' failed "
                    "to satisfy constraint: Member must have value between 900 and 43200" % duration)
        if int(duration) > role["max_session"]:
            return (400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for "
                    "this role.")
        why = "User: %s is not authorized to perform: sts:AssumeRole on resource: %s because no %s-based policy " \
              "allows the sts:AssumeRole action"
        if caller["may_assume"] != "*" and role["arn"] not in caller["may_assume"]:
            return 403, "AccessDenied", why % (caller["arn"], role["arn"], "identity")
        trusted = role["trusted"] is None or caller["arn"] in role["trusted"] or caller["account"] in role["trusted"]
        if not trusted or form.get("ExternalId") != role["external_id"]:
            return 403, "AccessDenied", why % (caller["arn"], role["arn"], "resource")
        return None

    def issue(self, kind, details=None, role=None):
        """New credentials, made the simulator's accepted ones: its default set, or for a registered role the set
        of the role's account (with their expiration). Registered as a principal (GetCallerIdentity)."""
        details = details or {}
        with self.lock:
            self.serial += 1
            n = self.serial
        now = time.time()
        lifetime = self.lifetime
        if role:
            lifetime = role["lifetime"] or int(details.get("DurationSeconds") or 3600)
        c = {"kind": kind, "key": "ASIAFAKE%s%04d" % (kind.upper().replace("-", "")[:12], n),
             "secret": "fake-secret-%d-%s" % (n, kind), "token": "fake-session-token-%d" % n,
             # whole seconds, as the Expiration it answers says them
             "at": now, "expires": float(int(now + lifetime)), "details": details,
             "role": role["arn"] if role else None}
        # the session's ARN, as STS and GetCallerIdentity name it
        m = ROLE_ARN_RE.match(details.get("RoleArn") or "")
        session = details.get("RoleSessionName") or {"imds": "i-0fake0instance0", "container": "task"}.get(kind, "x")
        c["arn"] = ("arn:aws:sts::%s:assumed-role/%s/%s" % (m.group(1), m.group(2), session) if m else
                    "arn:aws:sts::%s:assumed-role/%s/%s" % (HOME_ACCOUNT, ROLE_NAME if kind == "imds" else "task",
                                                          session))
        p = self.add_principal(c["key"], c["secret"], c["token"], arn=c["arn"], may_assume=(),
                               expires=c["expires"] if role else None)
        c["user_id"] = p["user_id"]
        if role:
            set_simulator_credentials(self.simulator_url, c["key"], c["secret"], c["token"], account=role["account"],
                                      principal=c["arn"], expiration=c["expires"])
        else:
            set_simulator_credentials(self.simulator_url, c["key"], c["secret"], c["token"])
        with self.lock:
            self.issued.append(c)
        return c

    def issued_of(self, kind_prefix):
        with self.lock:
            return [c for c in self.issued if c["kind"].startswith(kind_prefix)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def set_simulator_credentials(simulator_url, key, secret, token=None, account=None, principal=None, expiration=None):
    """The simulator's accepted keys: its default set, or with account those of that account's farms."""
    payload = {"accessKeyId": key, "secretAccessKey": secret, "sessionToken": token}
    if account:
        payload.update(accountId=account, principalArn=principal, expiration=expiration)
    body = json.dumps(payload).encode()
    req = urllib.request.Request(simulator_url + "/__sim/credentials", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    opener = harness.url_opener(simulator_url)  # no proxy; an HTTPS simulator verified with its CA
    with opener.open(req, timeout=10) as r:
        if r.status != 200:
            raise RuntimeError("simulator refused the credentials: %d" % r.status)
