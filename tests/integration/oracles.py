"""oracles: checks of the exporter's requests that share no code with it: botocore's SigV4, the service model's shapes.

The simulator verifies signatures with the daemon's own SigV4 code, so a canonicalisation bug made the same way on
both sides would pass; botocore is the AWS SDK's implementation. The simulator's answers are checked against the
Deadline Cloud model (tests/bench/aws-model), so that the simulator cannot drift from the real API unnoticed.
"""

import datetime
import hashlib
import json
import os
import re
import urllib.parse

try:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:  # available() says so; the callers skip or fail as they see fit
    SigV4Auth = None

AUTH_RE = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([^,\s]+), Signature=([0-9a-f]{64})$")
MODEL = os.path.join("tests", "bench", "aws-model", "deadline", "2023-10-12", "service-2.json")


def available():
    return SigV4Auth is not None


def verify_sigv4(method, url, headers, body, secrets, service=None, region=None):
    """None when the Authorization header of this request is what botocore computes, else why not.

    headers: (name, value) pairs as received; secrets: access key id -> (secret key, session token or None);
    service and region, when given, must be those of the credential scope."""
    auth = [v for n, v in headers if n.lower() == "authorization"]
    if len(auth) != 1:
        return "%d Authorization headers" % len(auth)
    m = AUTH_RE.match(auth[0])
    if not m:
        return "malformed Authorization: %r" % auth[0][:200]
    key, day, scope_region, scope_service, signed, signature = m.groups()
    if service is not None and scope_service != service:
        return "scope service %s, expected %s" % (scope_service, service)
    if region is not None and scope_region != region:
        return "scope region %s, expected %s" % (scope_region, region)
    if key not in secrets:
        return "unknown access key id %s" % key
    secret, token = secrets[key]
    by_name = {}
    for n, v in headers:
        by_name.setdefault(n.lower(), []).append(v)
    names = signed.split(";")
    if names != sorted(set(names)):
        return "SignedHeaders not sorted and unique: %s" % signed
    for required in ("host", "x-amz-date") + (("x-amz-security-token",) if token else ()):
        if required not in names:
            return "%s is not signed (SignedHeaders=%s)" % (required, signed)
    if token and by_name.get("x-amz-security-token") != [token]:
        return "X-Amz-Security-Token is not the session token"
    missing = [n for n in names if n not in by_name]
    if missing:
        return "signed headers not sent: %s" % missing
    amz_date = by_name["x-amz-date"][0]
    if amz_date[:8] != day:
        return "X-Amz-Date %s is not of the scope's day %s" % (amz_date, day)
    # botocore takes X-Amz-Content-SHA256 as the payload's hash when it is sent: it must be the body's
    content_sha = by_name.get("x-amz-content-sha256")
    if content_sha is not None and content_sha != [hashlib.sha256(body).hexdigest()]:
        return "X-Amz-Content-SHA256 %s is not the SHA-256 of the %d-byte body" % (content_sha, len(body))
    # Only the headers the client says it signed, as botocore would have signed them (values as sent).
    signed_headers = {n: ",".join(by_name[n]) for n in names}
    request = AWSRequest(method=method, url=url, data=body, headers=signed_headers)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(key, secret, token), scope_service, scope_region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if expected != signature:
        return "signature %s, botocore computes %s over:\n%s" % (signature, expected, canonical)
    return None


# ---- the service model's shapes ----

class Model:
    """The Deadline Cloud service model (botocore's JSON form) and a strict validator of rest-json messages."""

    def __init__(self, path=None):
        path = path or os.path.join(os.environ.get("SOURCE_ROOT", "."), MODEL)
        with open(path, encoding="utf-8") as f:
            m = json.load(f)
        self.shapes = m["shapes"]
        self.operations = m["operations"]

    def value(self, shape_name, v, path, out):
        """Appends (kind, where, detail) for each way v does not fit the shape; kind is one of required, unknown,
        type, enum, pattern, range, length."""
        s = self.shapes[shape_name]
        t = s["type"]
        if t == "structure":
            if not isinstance(v, dict):
                out.append(("type", path, "%s: expected an object, got %r" % (shape_name, v)))
                return
            members = {k: m for k, m in s.get("members", {}).items() if "location" not in m}
            for r in s.get("required", []):
                if r in members and r not in v:
                    out.append(("required", path + "." + r, "%s.%s is required" % (shape_name, r)))
            for k, x in v.items():
                if k not in members:
                    out.append(("unknown", "%s.%s" % (shape_name, k), "%s.%s: no such member" % (path, k)))
                    continue
                if x is None:
                    out.append(("type", path + "." + k, "null is not a value in rest-json"))
                    continue
                self.value(members[k]["shape"], x, path + "." + k, out)
            if s.get("union") and len([k for k in v if k in members]) != 1:
                out.append(("union", path, "%s is a union: exactly one member, got %s" % (shape_name, sorted(v))))
        elif t == "list":
            if not isinstance(v, list):
                out.append(("type", path, "%s: expected an array, got %r" % (shape_name, v)))
                return
            self._bounds(s, len(v), shape_name, path, out)
            for i, x in enumerate(v):
                self.value(s["member"]["shape"], x, "%s[%d]" % (path, i), out)
        elif t == "map":
            if not isinstance(v, dict):
                out.append(("type", path, "%s: expected an object, got %r" % (shape_name, v)))
                return
            for k, x in v.items():
                self.value(s["key"]["shape"], k, path + ".<key>", out)
                self.value(s["value"]["shape"], x, "%s[%r]" % (path, k), out)
        elif t == "string":
            if not isinstance(v, str):
                out.append(("type", path, "%s: expected a string, got %r" % (shape_name, v)))
                return
            self.string(shape_name, v, path, out)
        elif t in ("integer", "long"):
            if isinstance(v, bool) or not isinstance(v, int):
                out.append(("type", path, "%s: expected an integer, got %r" % (shape_name, v)))
                return
            self._bounds(s, v, shape_name, path, out, "range")
        elif t in ("double", "float"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                out.append(("type", path, "%s: expected a number, got %r" % (shape_name, v)))
        elif t == "boolean":
            if not isinstance(v, bool):
                out.append(("type", path, "%s: expected a boolean, got %r" % (shape_name, v)))
        elif t == "timestamp":
            if not (isinstance(v, str) and _iso8601(v)) and not (isinstance(v, (int, float))
                                                                  and not isinstance(v, bool)):
                out.append(("type", path, "%s: expected an ISO 8601 timestamp, got %r" % (shape_name, v)))
        else:
            out.append(("type", path, "%s: type %s is not handled by this validator" % (shape_name, t)))

    def string(self, shape_name, v, path, out):
        s = self.shapes[shape_name]
        if "enum" in s and v not in s["enum"]:
            out.append(("enum", shape_name, "%s = %r is not one of %s" % (path, v, s["enum"])))
        if "pattern" in s and not re.fullmatch(s["pattern"], v):
            out.append(("pattern", path, "%s = %r does not match %s" % (path, v, s["pattern"])))
        self._bounds(s, len(v), shape_name, path, out)

    def _bounds(self, s, n, shape_name, path, out, kind="length"):
        if "min" in s and n < s["min"] or "max" in s and n > s["max"]:
            out.append((kind, path, "%s: %d outside [%s, %s]" % (shape_name, n, s.get("min"), s.get("max"))))

    def request(self, op_name, method, uri, body):
        """The violations of one request of op_name: method, path parameters, query members, JSON body."""
        op = self.operations[op_name]
        out = []
        if method != op["http"]["method"]:
            out.append(("method", op_name, "%s, the model says %s" % (method, op["http"]["method"])))
        shape = self.shapes[op["input"]["shape"]]
        members = shape.get("members", {})
        raw_path, _, raw_query = uri.partition("?")
        template = op["http"]["requestUri"]
        pattern = "^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        m = re.match(pattern, raw_path)
        if not m:
            out.append(("path", raw_path, "does not match %s" % template))
            return out
        given = set()
        for k, m_ in members.items():
            loc, name = m_.get("location"), m_.get("locationName", k)
            if loc == "uri":
                self.value(m_["shape"], urllib.parse.unquote(m.group(name)), "uri." + name, out)
                given.add(k)
        query = urllib.parse.parse_qs(raw_query, keep_blank_values=True, strict_parsing=False) if raw_query else {}
        by_query = {m_.get("locationName", k): (k, m_) for k, m_ in members.items()
                    if m_.get("location") == "querystring"}
        for qname, values in query.items():
            if qname not in by_query:
                out.append(("unknown", "%s?%s" % (op_name, qname), "query parameter %s is not in the model" % qname))
                continue
            k, m_ = by_query[qname]
            if len(values) != 1:
                out.append(("type", "query." + qname, "given %d times" % len(values)))
            v = values[0]
            if self.shapes[m_["shape"]]["type"] == "integer":
                v = int(v) if re.fullmatch(r"-?[0-9]+", v) else v
            self.value(m_["shape"], v, "query." + qname, out)
            given.add(k)
        body_members = {k for k, m_ in members.items() if "location" not in m_}
        if body_members:
            try:
                doc = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                out.append(("type", "body", "not JSON: %s" % e))
                doc = {}
            self.value(op["input"]["shape"], doc, "body", out)
            given |= set(doc) if isinstance(doc, dict) else set()
        elif body:
            out.append(("type", "body", "%s takes no body, got %d bytes" % (op_name, len(body))))
        for r in shape.get("required", []):
            if r not in given and members[r].get("location"):
                out.append(("required", op_name + "." + r, "%s (%s) is required" % (r, members[r]["location"])))
        return out

    def response(self, op_name, status, error_type, body):
        """The violations of one complete answer: the output shape for a 200, the error's shape otherwise."""
        op = self.operations[op_name]
        out = []
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            return [("type", "response", "not JSON: %s" % e)]
        if status == op["http"].get("responseCode", 200):
            self.value(op["output"]["shape"], doc, "response", out)
            return out
        errors = [e["shape"] for e in op.get("errors", [])]
        # as botocore reads x-amzn-ErrorType: "Name:http://internal..." or "namespace#Name"
        error_type = error_type.split(":")[0].split("#")[-1]
        if isinstance(doc, dict):
            # the protocol's own members, beside the error shape's (botocore reads them too)
            doc = {k: v for k, v in doc.items() if k not in ("__type", "code")}
        if error_type not in errors:
            return [("error", error_type, "%s is not an error of %s (%s)" % (error_type, op_name, errors))]
        shape = self.shapes[error_type]
        want = shape.get("error", {}).get("httpStatusCode")
        if want is not None and want != status:
            out.append(("status", error_type, "HTTP %d, the model says %d" % (status, want)))
        self.value(error_type, doc, "error", out)
        return out


def _iso8601(s):
    try:
        d = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return False
    return d.tzinfo is not None


# the simulator's injected faults whose answers are not the API's on purpose (a proxy's HTML, a garbled body)
OFF_MODEL_FAULTS = ("random:error_502", "random:error_503", "random:broken_truncated", "random:broken_html",
                    "random:broken_empty")


def _off_model_fault(fault):
    # targeted faults may answer anything (they exist to); random throttles and 500s are API errors, checked
    return fault in OFF_MODEL_FAULTS or fault.startswith("targeted:")


def check_exporter_requests(t, sim, secrets, region, allowed_drift=(), expected_drift=(), limit=5):
    """Replays the simulator's request log (sim started with request_log=True) through both oracles.

    Every request must carry the signature botocore computes with secrets (access key id -> (secret, token)) and
    fit the model's input shape; every complete answer must fit the output or error shape. allowed_drift: (kind,
    where) pairs of Model violations the simulator makes on purpose (e.g. --new-usage-type); those of
    expected_drift must have been seen, which shows that the validator catches them."""
    if not available():
        t.check(False, "botocore is installed (python3-botocore): the signature oracle needs it")
        return
    entries = sim.request_log_entries()
    model = Model()
    bad_sig, bad_req, bad_resp, drift, partial = [], [], [], {}, 0
    for e in entries:
        headers = [tuple(h) for h in e["headers"]]
        host = [v for n, v in headers if n.lower() == "host"]
        scheme = "https" if sim.url.startswith("https:") else "http"
        where = "%s %s" % (e["method"], e["uri"][:120])
        why = verify_sigv4(e["method"], "%s://%s%s" % (scheme, host[0] if host else "", e["uri"]), headers,
                           e["body"], secrets, "deadline", region)
        if why:
            bad_sig.append("%s: %s" % (where, why))
        if e["operation"] not in model.operations:
            bad_req.append("%s: operation %s is not in the model" % (where, e["operation"]))
            continue
        for v in model.request(e["operation"], e["method"], e["uri"], e["body"]):
            bad_req.append("%s: %s" % (where, v[2]))
        if e["special"] != "none" or _off_model_fault(e.get("fault", "")):
            partial += 1  # cut short or garbled on purpose: no API answer to check
            continue
        for v in model.response(e["operation"], e["status"], e["errorType"], e["response"]):
            if (v[0], v[1]) in allowed_drift or (v[0], v[1]) in expected_drift:
                drift[(v[0], v[1])] = drift.get((v[0], v[1]), 0) + 1
            else:
                bad_resp.append("%s -> %d: %s" % (where, e["status"], v[2]))
    n = len(entries)
    t.check(n > 0, "the simulator logged the exporter's requests", n)
    t.check(not bad_sig, "botocore computes the signature of each of the %d requests" % n, *bad_sig[:limit])
    t.check(not bad_req, "each of the %d requests fits the service model's input shape" % n, *bad_req[:limit])
    t.check(not bad_resp, "each of the %d whole API answers fits the model's output or error shape" % (n - partial),
            *bad_resp[:limit])
    if expected_drift:
        t.check(set(expected_drift) <= set(drift), "the validator saw the simulator's deliberate drifts %s"
                % sorted(expected_drift), drift)
    return entries
