"""harness: the integration tests' shared parts: processes, HTTP on loopback, the exposition parser, expectations."""

import atexit
import calendar
import ctypes
import datetime
import gzip
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import traceback
import urllib.parse
import urllib.request

import pki

SKIP = 77  # meson's "skipped" exit status

ACCESS_KEY_ID = "AKIDSIMULATOR"
SECRET_ACCESS_KEY = "simulator-secret-key"
REGION = "us-west-2"
LOOPBACK = "127.0.0.1"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REL_TOLERANCE = 1e-9

# API group-by name -> (member of a simulator session record, metric label)
GROUP_FIELDS = {
    "QUEUE_ID": ("queueId", "queue_id"),
    "FLEET_ID": ("fleetId", "fleet_id"),
    "JOB_ID": ("jobId", "job_id"),
    "USER_ID": ("userId", "user_id"),
    "USAGE_TYPE": ("usageType", "usage_type"),
    "INSTANCE_TYPE": ("instanceType", "instance_type"),
    "LICENSE_PRODUCT": ("licenseProduct", "license_product"),
}
STATISTICS = ("SUM", "MIN", "MAX", "AVG")
USAGE_COST = "deadline_cloud_usage_cost_usd"
USAGE_RUNTIME = "deadline_cloud_usage_runtime_seconds"
USAGE_SESSIONS = "deadline_cloud_usage_sessions"
# (figure, statistic) -> metric: each statistic its own metric (version 2 of the metrics)
USAGE_FIGURE_METRICS = {
    ("cost", "SUM"): USAGE_COST,
    ("cost", "MIN"): "deadline_cloud_usage_session_cost_min_usd",
    ("cost", "MAX"): "deadline_cloud_usage_session_cost_max_usd",
    ("cost", "AVG"): "deadline_cloud_usage_session_cost_avg_usd",
    ("runtime", "SUM"): USAGE_RUNTIME,
    ("runtime", "MIN"): "deadline_cloud_usage_session_runtime_min_seconds",
    ("runtime", "MAX"): "deadline_cloud_usage_session_runtime_max_seconds",
    ("runtime", "AVG"): "deadline_cloud_usage_session_runtime_avg_seconds",
}
USAGE_METRICS = tuple(USAGE_FIGURE_METRICS.values()) + (USAGE_SESSIONS,)
USAGE_WINDOW_START = "deadline_cloud_usage_window_start_timestamp_seconds"
USAGE_WINDOW_END = "deadline_cloud_usage_window_end_timestamp_seconds"
# every group-by value (and job_name) of the group holding the groups past a report's limit
OTHER = "__other__"


class Failure(Exception):
    """A check that makes going on pointless."""


class Skip(Exception):
    """The test cannot run here (exit status 77)."""


def log(msg):
    print(msg, flush=True)


# ---- processes ----

_processes = []      # running
_all_processes = []  # ever started, for their logs


def _die_with_parent():
    # Children get SIGTERM if this script is killed outright (meson's timeout ends in SIGKILL).
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def is_exporter(program):
    """Whether program is the exporter under test (EXPORTER, which may be a wrapper such as valgrind's)."""
    exporter = os.environ.get("EXPORTER")
    return bool(exporter) and os.path.abspath(program) == os.path.abspath(exporter)


class Process:
    """A child started by the harness, with its output in a log file; stop() is idempotent.

    expect_status: the exit status the child must end with (SIGTERM from stop() included); the Test checks it
    when it ends, stopping the child first if the test did not. Default: 0 for the exporter (EXPORTER), so that a
    crash or a non-zero exit at shutdown fails every test that starts one; None (not judged) for the rest."""

    def __init__(self, name, args, workdir, env=None, expect_status="exporter"):
        self.name = name
        self.args = list(args)
        if expect_status == "exporter":
            expect_status = 0 if is_exporter(self.args[0]) else None
        self.expect_status = expect_status
        self.log_path = os.path.join(workdir, name + ".log")
        self._log = open(self.log_path, "wb")
        try:
            self.popen = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self._log,
                                          stderr=subprocess.STDOUT, env=env, cwd=workdir,
                                          preexec_fn=_die_with_parent)
        except OSError as e:
            self._log.close()
            raise Failure("cannot start %s (%s): %s" % (name, self.args[0], e)) from e
        _processes.append(self)
        _all_processes.append(self)

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def returncode(self):
        return self.popen.poll()

    def stop(self, timeout=15.0):
        """SIGTERM, then SIGKILL after timeout. Returns the exit status (negative: the signal)."""
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(signal.SIGTERM)
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                log("%s (pid %d) ignored SIGTERM for %.0fs: killing it" % (self.name, self.pid, timeout))
                self.popen.kill()
                self.popen.wait()
        if not self._log.closed:
            self._log.close()
        if self in _processes:
            _processes.remove(self)
        return self.popen.returncode

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _stop_all():
    for p in reversed(list(_processes)):
        p.stop(timeout=5.0)


def _on_signal(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


atexit.register(_stop_all)
signal.signal(signal.SIGTERM, _on_signal)


def env_path(name):
    value = os.environ.get(name)
    if not value:
        raise Failure("%s is not set (run the tests through meson: meson test --suite integration)" % name)
    if not os.access(value, os.X_OK):
        raise Failure("%s=%s is not an executable" % (name, value))
    return value


_LOG_TIME = re.compile(r"\S+ (\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d\.\d{3})Z ")


def log_time(line):
    """The UTC seconds of an exporter log line ("level 2026-11-02T10:00:00.123Z …"); None without a time."""
    m = _LOG_TIME.match(line)
    if not m:
        return None
    y, mo, d, h, mi = (int(x) for x in m.groups()[:5])
    return calendar.timegm((y, mo, d, h, mi, 0, 0, 0, 0)) + float(m.group(6))


def log_times(text, pattern):
    """[(seconds, line number, line)] of the timed log lines that match the regular expression pattern."""
    out = []
    for no, line in enumerate(text.splitlines()):
        if re.search(pattern, line):
            t = log_time(line)
            if t is not None:
                out.append((t, no, line))
    return out


def free_port():
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def percentile(values, p):
    """The p-th percentile of values (nearest rank); NaN when there are none."""
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else float("nan")


def wait_for(what, predicate, timeout, interval=0.2, alive=()):
    """Calls predicate() until it returns a true value (returned); Failure after timeout or if a process dies."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        for p in alive:
            if not p.alive():
                raise Failure("%s exited with status %s while waiting for %s:\n%s"
                              % (p.name, p.returncode(), what, p.log_tail()))
        try:
            value = predicate()
            if value:
                return value
        except (OSError, http.client.HTTPException, ValueError) as e:
            last_error = e
        if time.monotonic() >= deadline:
            raise Failure("timed out after %.0fs waiting for %s%s"
                          % (timeout, what, " (last error: %s)" % last_error if last_error else ""))
        time.sleep(interval)


# ---- HTTP on loopback (http.client: no proxy from the environment ever applies) ----

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())


def http_request(port, method, path, body=None, headers=None, timeout=15.0, context=None):
    """One request to 127.0.0.1:port; over HTTPS (verified against context's CAs) when context is given."""
    if context is not None:
        conn = http.client.HTTPSConnection(LOOPBACK, port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


# ---- the simulator ----

# ---- HTTPS: the simulator speaks TLS like AWS; the exporter trusts the test CA through aws.ca_file ----

_pki = {}          # work directory -> pki.make()'s paths
_ca_for_url = {}   # a simulator's URL -> the CA file the exporter is to trust for it


def default_tls():
    """HTTPS unless DCE_TEST_TLS=0 (or python3-cryptography is missing, noted in the log)."""
    if os.environ.get("DCE_TEST_TLS", "1") == "0":
        return False
    if not pki.available():
        log("note: python3-cryptography is missing: the simulator speaks plain HTTP")
        return False
    return True


def test_pki(workdir):
    """The test CA and certificates of this work directory, made on first use (see pki.py)."""
    if workdir not in _pki:
        _pki[workdir] = pki.make(os.path.join(workdir, "pki"))
    return _pki[workdir]


def ca_file_for(url):
    """The CA file that verifies the simulator at url, or None (plain HTTP, or not a simulator's URL)."""
    return _ca_for_url.get(url.rstrip("/"))


def url_opener(url):
    """A urllib opener for url that never uses a proxy and verifies a simulator's certificate with its CA."""
    handlers = [urllib.request.ProxyHandler({})]
    ca = ca_file_for(urllib.parse.urlunsplit(urllib.parse.urlsplit(url)[:2] + ("", "", "")))
    if ca:
        handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca)))
    return urllib.request.build_opener(*handlers)


class Simulator:
    """The simulator on 127.0.0.1; over HTTPS by default (tls=None: default_tls()).

    cert names the pki.py certificate served ("server"; "untrusted", "wrong_host" and "expired" for the tests
    that must see them refused: the control calls cannot verify those, read request_log_entries() instead).
    request_log=True keeps every API request and answer (request_log_entries())."""

    def __init__(self, workdir, *extra_args, tls=None, cert="server", request_log=False, name="simulator", env=None):
        self.name = name
        self.cert = cert
        self.port_file = os.path.join(workdir, name + ".port")
        self.tls = default_tls() if tls is None else tls
        self.context = None
        self.request_log = os.path.join(workdir, name + "-requests.jsonl") if request_log else None
        args = [env_path("SIMULATOR"), "--listen", LOOPBACK + ":0", "--port-file", self.port_file]
        if self.tls:
            paths = test_pki(workdir)
            args += ["--tls-cert", paths[cert][0], "--tls-key", paths[cert][1]]
            self.ca_file = paths["ca"]
            if cert == "server":
                self.context = ssl.create_default_context(cafile=self.ca_file)
        if self.request_log:
            args += ["--request-log", self.request_log]
        args += list(extra_args)
        self.proc = Process(name, args, workdir, env=dict(os.environ, **env) if env else None)
        self.port = wait_for("the simulator's port file", self._read_port, 30, alive=[self.proc])
        self.url = "%s://%s:%d" % ("https" if self.tls else "http", LOOPBACK, self.port)
        if self.tls:
            _ca_for_url[self.url] = self.ca_file
        log("%s: pid %d on %s" % (name, self.proc.pid, self.url))

    def request_log_entries(self):
        """The API requests so far, as the simulator logged them (bodies as bytes); [] before the first."""
        if not self.request_log:
            raise Failure("the simulator was started without request_log=True")
        out = []
        try:
            with open(self.request_log, encoding="utf-8") as f:
                lines = f.read().split("\n")
        except FileNotFoundError:
            return out
        for line in lines[:-1]:  # the last is "" or a line being written
            e = json.loads(line)
            e["body"] = bytes.fromhex(e["body"])
            e["response"] = bytes.fromhex(e["response"])
            out.append(e)
        return out

    def _read_port(self):
        try:
            with open(self.port_file) as f:
                text = f.read()
        except FileNotFoundError:
            return None
        m = re.search(r"(\d+)\s*$", text)
        return int(m.group(1)) if m else None

    def _json(self, method, path, payload=None, attempts=3):
        body = json.dumps(payload).encode() if payload is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        last = None
        for _ in range(attempts):
            if not self.proc.alive():
                raise Failure("the simulator exited with status %s:\n%s" % (self.proc.returncode(),
                                                                            self.proc.log_tail()))
            try:
                if self.tls and self.context is None:
                    raise Failure("no control calls to a simulator serving the %s certificate" % self.cert)
                r = http_request(self.port, method, path, body, headers, timeout=30, context=self.context)
                if r.status == 200:
                    return json.loads(r.body.decode("utf-8"))
                last = "HTTP %d: %r" % (r.status, r.body[:200])
            except (OSError, http.client.HTTPException, ValueError) as e:
                last = str(e)
            time.sleep(0.2)
        raise Failure("simulator %s %s failed: %s" % (method, path, last))

    def farms(self):
        return self._json("GET", "/__sim/farms")["farms"]

    def sessions(self, farm_id):
        return self._json("GET", "/__sim/sessions?farmId=" + urllib.parse.quote(farm_id, safe=""))["sessions"]

    def aggregations(self):
        return self._json("GET", "/__sim/aggregations")["aggregations"]

    def stats(self):
        return self._json("GET", "/__sim/stats")

    def set_faults(self, throttle=0.0, error=0.0, broken=0.0):
        return self._json("POST", "/__sim/faults", {"throttleRate": throttle, "errorRate": error,
                                                    "brokenRate": broken})

    def sessions_between(self, farm_id, start=None, end=None):
        """(records of farm_id starting in [start, end) UTC seconds, the simulator's time when listed): every
        session that started by that time is there, live ones included."""
        q = {"farmId": farm_id}
        if start is not None:
            q["startTime"] = "%d" % start
        if end is not None:
            q["endTime"] = "%d" % end
        d = self._json("GET", "/__sim/sessions?" + urllib.parse.urlencode(q))
        return d["sessions"], d["now"]


class SignedClient:
    """Requests to the simulator signed by botocore's SigV4 (not the exporter's), with any credentials."""

    API = "/2023-10-12/farms/"

    def __init__(self, sim, key=ACCESS_KEY_ID, secret=SECRET_ACCESS_KEY, token=None, region=REGION):
        from botocore.credentials import Credentials  # python3-botocore; callers skip without it
        self.port = sim.port
        self.base = sim.url  # https:// with the test CA (sim.context) unless the harness runs plain HTTP
        self.context = sim.context
        self.region = region
        self.creds = Credentials(key, secret, token)

    def send(self, method, path, body=None, headers=None, service="deadline", region=None):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        req = AWSRequest(method=method, url=self.base + path, data=body, headers=dict(headers or {}))
        SigV4Auth(self.creds, service, region or self.region).add_auth(req)
        prepared = req.prepare()
        return http_request(self.port, method, prepared.url[len(self.base):], body, dict(prepared.headers),
                            context=self.context)

    def deadline(self, path, **query):
        """GET API + path?query: (Response, its JSON or None)."""
        q = urllib.parse.urlencode(query, quote_via=urllib.parse.quote) if query else ""
        r = self.send("GET", self.API + path + ("?" + q if q else ""))
        return r, (json.loads(r.body) if r.body else None)

    def start(self, farm_id, request):
        """StartSessionsStatisticsAggregation: (Response, its JSON or None)."""
        r = self.send("POST", self.API + farm_id + "/sessions-statistics-aggregation", json.dumps(request).encode(),
                      {"Content-Type": "application/json"})
        return r, (json.loads(r.body) if r.body else None)

    def aggregate(self, farm_id, request, timeout=60.0):
        """Start, poll Get until COMPLETED, read every page: the rows (Failure on anything else)."""
        r, body = self.start(farm_id, request)
        if r.status != 200:
            raise Failure("Start answered %d: %r" % (r.status, r.body[:300]))
        agg, rows, token, deadline = body["aggregationId"], [], None, time.monotonic() + timeout
        while True:
            query = {"aggregationId": agg}
            if token:
                query["nextToken"] = token
            r, page = self.deadline(farm_id + "/sessions-statistics-aggregation", **query)
            if r.status != 200:
                raise Failure("Get answered %d: %r" % (r.status, r.body[:300]))
            if page["status"] == "IN_PROGRESS":
                if time.monotonic() > deadline:
                    raise Failure("aggregation %s still IN_PROGRESS after %.0fs" % (agg, timeout))
                time.sleep(0.02)
                continue
            if page["status"] != "COMPLETED":
                raise Failure("aggregation %s ended %s" % (agg, page["status"]))
            rows += page["statistics"]
            token = page.get("nextToken")
            if not token:
                return rows


# ---- the exporter ----

class Report:
    def __init__(self, name, group_by, statistics=STATISTICS, resources="queues", window="month",
                 timezone="UTC+00:00", interval="10s", limit=None, counter=False):
        self.name = name
        self.limit = limit
        self.counter = counter
        self.group_by = list(group_by)
        self.statistics = list(statistics)
        self.resources = resources
        self.window = window
        self.timezone = timezone
        self.interval = interval

    def signature(self):
        """What tells this report's aggregations apart from the others' in the simulator's records."""
        return (self.resources, frozenset(self.group_by), frozenset(self.statistics), self.timezone)

    def labels(self):
        out = []
        for g in self.group_by:
            out.append(GROUP_FIELDS[g][1])
            if g == "JOB_ID":
                out.append("job_name")
        return out


def _libconfig_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _libconfig_list(items):
    return "[ " + ", ".join(_libconfig_string(i) for i in items) + " ]"


def exporter_config(listen_port, endpoint_url, farm_ids, reports, ca_file=None, extra=""):
    """The exporter's configuration; an HTTPS simulator's CA goes into aws.ca_file unless ca_file is given
    (False: no ca_file, the system's CAs); extra (libconfig text, such as an inventory group) goes at the end."""
    ca_file = ca_file_for(endpoint_url) if ca_file is None else ca_file
    farms = ",\n".join('  { id = %s; queues = "all"; fleets = "all"; }' % _libconfig_string(f) for f in farm_ids)
    rep = []
    # r.counter: counter = true; r.extra: more settings of the report, as libconfig text (labels, keep…)
    for r in reports:
        rep.append("  { name = %s; resources = %s; window = %s; timezone = %s;\n"
                   "    group_by = %s; statistics = %s; interval = %s;%s%s%s }"
                   % (_libconfig_string(r.name), _libconfig_string(r.resources), _libconfig_string(r.window),
                      _libconfig_string(r.timezone), _libconfig_list(r.group_by), _libconfig_list(r.statistics),
                      _libconfig_string(r.interval), " limit = %d;" % r.limit if r.limit else "",
                      " counter = true;" if getattr(r, "counter", False) else "",
                      " " + r.extra if getattr(r, "extra", "") else ""))
    return ("# written by tests/integration/harness.py\n"
            "web = { listen = \"%s:%d\"; };\n"
            "aws = { region = %s; endpoint_url = %s;%s };\n"
            "farms = (\n%s\n);\n"
            "reports = (\n%s\n);\n%s"
            % (LOOPBACK, listen_port, _libconfig_string(REGION), _libconfig_string(endpoint_url),
               " ca_file = %s;" % _libconfig_string(ca_file) if ca_file else "", farms,
               ",\n".join(rep), extra))


def hermetic_env(workdir, extra=None):
    """The exporter's environment: the simulator's credentials and nothing from this machine's AWS setup."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy",
                                                             "no_proxy")}
    env.update({
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.path.join(workdir, "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(workdir, "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        # STS (who am I, for deadline_cloud_farm_info's account) on loopback, refused unless a test gives its fake
        "AWS_ENDPOINT_URL_STS": "http://%s:1" % LOOPBACK,
        "HOME": workdir,
        "NO_PROXY": "*",
        "no_proxy": "*",
    })
    env.pop("JOURNAL_STREAM", None)
    if extra:
        env.update(extra)
    return env


class Exporter:
    """The exporter on 127.0.0.1 against simulator; env (or None) is added to hermetic_env(); port (or None: a free
    one), config_text (or None: exporter_config()'s) and name (of its log and configuration files) for the tests that
    restart one."""

    def __init__(self, workdir, simulator, farm_ids, reports, extra_args=(), extra_config="", env=None, port=None,
                 config_text=None, name="exporter"):
        self.workdir = workdir
        self.reports = list(reports)
        self.farm_ids = list(farm_ids)
        self.port = port or free_port()
        self.config_path = os.path.join(workdir, name + ".conf")
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(config_text if config_text is not None else
                    exporter_config(self.port, simulator.url, farm_ids, reports, extra=extra_config))
        args = [env_path("EXPORTER"), "--config", self.config_path] + list(extra_args)
        self.started_at = time.time()
        self.proc = Process(name, args, workdir, env=hermetic_env(workdir, env))
        log("exporter: pid %d on http://%s:%d/ (config %s)" % (self.proc.pid, LOOPBACK, self.port,
                                                               self.config_path))

    def stop(self, timeout=60.0):
        """SIGTERM; returns the exit status. The Test fails unless it is 0 (Process.expect_status)."""
        return self.proc.stop(timeout=timeout)

    def log_text(self):
        """The exporter's log so far."""
        with open(self.proc.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def request(self, method, path, headers=None, timeout=15.0):
        if not self.proc.alive():
            raise Failure("the exporter exited with status %s:\n%s" % (self.proc.returncode(),
                                                                        self.proc.log_tail()))
        return http_request(self.port, method, path, headers=headers, timeout=timeout)

    def wait_ready(self, timeout=120.0):
        """Waits for /-/ready = 200; returns the statuses seen on the way (503s are expected first)."""
        seen = []

        def ready():
            r = self.request("GET", "/-/ready", timeout=5)
            if not seen or seen[-1] != r.status:
                seen.append(r.status)
            return r.status == 200

        wait_for("the exporter's /-/ready", ready, timeout, alive=[self.proc])
        return seen

    def scrape(self, gzip_ok=False):
        """GET /metrics: (Response, text, Exposition). Failure on a non-200 or an unparsable body."""
        headers = {"Accept-Encoding": "gzip"} if gzip_ok else {}
        r = self.request("GET", "/metrics", headers=headers)
        if r.status != 200:
            raise Failure("/metrics answered %d: %r" % (r.status, r.body[:300]))
        body = r.body
        if r.header("content-encoding") == "gzip":
            body = gzip.decompress(body)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise Failure("/metrics is not UTF-8: %s" % e) from e
        return r, text, parse_exposition(text)

    def wait_all_up(self, timeout=120.0, since=None):
        """Waits until report_up is 1 for every (farm, report) (and, with since, last success >= since)."""
        def all_up():
            _, _, expo = self.scrape()
            for farm in self.farm_ids:
                for rep in self.reports:
                    key = {"farm_id": farm, "report": rep.name}
                    if expo.value("deadline_cloud_exporter_report_up", key) != 1:
                        return None
                    if since is not None:
                        t = expo.value("deadline_cloud_exporter_report_last_success_timestamp_seconds", key)
                        if t is None or t < since:
                            return None
            return expo

        return wait_for("report_up = 1 for every (farm, report)", all_up, timeout, interval=0.5,
                        alive=[self.proc])


# ---- the text exposition format, parsed strictly ----

class ParseError(Failure):
    pass


class Sample:
    __slots__ = ("name", "labels", "value", "timestamp", "line")

    def __init__(self, name, labels, value, timestamp, line):
        self.name = name
        self.labels = labels
        self.value = value
        self.timestamp = timestamp
        self.line = line

    def key(self):
        return (self.name, tuple(sorted(self.labels.items())))


class Family:
    def __init__(self, name):
        self.name = name
        self.type = None
        self.help = None
        self.samples = []


class Exposition:
    def __init__(self):
        self.families = {}
        self.samples = []

    def series(self, name, **match):
        return [s for s in self.samples if s.name == name and all(s.labels.get(k) == v for k, v in match.items())]

    def value(self, name, labels):
        """The value of the one sample of name whose labels include labels; None when there is none."""
        found = [s for s in self.samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
        if len(found) > 1:
            raise Failure("%d samples of %s match %s" % (len(found), name, labels))
        return found[0].value if found else None


_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_VALUE = re.compile(r"(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN)")
_TIMESTAMP = re.compile(r"-?[0-9]+")
_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def _unescape_help(s, lineno):
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s) or s[i + 1] not in "\\n":
                raise ParseError("line %d: bad escape in HELP: %r" % (lineno, s[i:i + 2]))
            out.append("\\" if s[i + 1] == "\\" else "\n")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _parse_labels(line, i, lineno):
    """line[i] is '{': returns (labels, index after '}')."""
    labels = {}
    i += 1
    while True:
        if i < len(line) and line[i] == "}":
            return labels, i + 1
        m = _LABEL_NAME.match(line, i)
        if not m:
            raise ParseError("line %d: expected a label name at column %d: %r" % (lineno, i + 1, line))
        name = m.group(0)
        if name.startswith("__"):
            raise ParseError("line %d: reserved label name %s" % (lineno, name))
        if name in labels:
            raise ParseError("line %d: label %s given twice" % (lineno, name))
        i = m.end()
        if line[i:i + 2] != '="':
            raise ParseError("line %d: expected =\" after label %s" % (lineno, name))
        i += 2
        value = []
        while True:
            if i >= len(line):
                raise ParseError("line %d: unterminated label value" % lineno)
            c = line[i]
            if c == "\\":
                nxt = line[i + 1] if i + 1 < len(line) else ""
                if nxt not in ("\\", '"', "n") or nxt == "":
                    raise ParseError("line %d: bad escape in a label value: %r" % (lineno, line[i:i + 2]))
                value.append({"\\": "\\", '"': '"', "n": "\n"}[nxt])
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                value.append(c)
                i += 1
        labels[name] = "".join(value)
        if i < len(line) and line[i] == ",":
            i += 1
        elif i < len(line) and line[i] == "}":
            continue
        else:
            raise ParseError("line %d: expected , or } after label %s" % (lineno, name))


def parse_exposition(text):
    """Parses the Prometheus text format 0.0.4 strictly; ParseError with the line on any deviation."""
    expo = Exposition()
    if text and not text.endswith("\n"):
        raise ParseError("the text does not end with a newline")
    current = None      # the family whose block we are in
    finished = set()    # families whose block has ended
    seen = set()

    def family_for(name, lineno):
        nonlocal current
        if current is not None and name != current.name:
            finished.add(current.name)
            if name in finished:
                raise ParseError("line %d: family %s is not contiguous" % (lineno, name))
        fam = expo.families.get(name)
        if fam is None:
            fam = expo.families[name] = Family(name)
        current = fam
        return fam

    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            if line.startswith("# HELP ") or line.startswith("# TYPE "):
                kind = line[2:6]
                rest = line[7:]
                name, sep, arg = rest.partition(" ")
                if not _METRIC_NAME.fullmatch(name):
                    raise ParseError("line %d: bad metric name in %s: %r" % (lineno, kind, name))
                fam = family_for(name, lineno)
                if kind == "HELP":
                    if fam.help is not None:
                        raise ParseError("line %d: second HELP for %s" % (lineno, name))
                    fam.help = _unescape_help(arg, lineno)
                else:
                    if fam.type is not None:
                        raise ParseError("line %d: second TYPE for %s" % (lineno, name))
                    if fam.samples:
                        raise ParseError("line %d: TYPE for %s after its samples" % (lineno, name))
                    if arg not in _TYPES:
                        raise ParseError("line %d: unknown type %r" % (lineno, arg))
                    fam.type = arg
            continue
        m = _METRIC_NAME.match(line)
        if not m:
            raise ParseError("line %d: expected a metric name: %r" % (lineno, line))
        name = m.group(0)
        i = m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = _parse_labels(line, i, lineno)
        if i >= len(line) or line[i] != " ":
            raise ParseError("line %d: expected a space before the value: %r" % (lineno, line))
        fields = line[i + 1:].split(" ")
        if len(fields) not in (1, 2) or not _VALUE.fullmatch(fields[0]):
            raise ParseError("line %d: bad value or trailing text: %r" % (lineno, line[i:]))
        value = float(fields[0].replace("Inf", "inf").replace("NaN", "nan"))
        timestamp = None
        if len(fields) == 2:
            if not _TIMESTAMP.fullmatch(fields[1]):
                raise ParseError("line %d: bad timestamp %r" % (lineno, fields[1]))
            timestamp = int(fields[1])
        base = name
        if current is not None and current.type in _SUFFIXES:
            for suffix in _SUFFIXES[current.type]:
                if name == current.name + suffix:
                    base = current.name
        fam = family_for(base, lineno)
        sample = Sample(name, labels, value, timestamp, lineno)
        if sample.key() in seen:
            raise ParseError("line %d: series given twice: %s%s" % (lineno, name, labels))
        seen.add(sample.key())
        fam.samples.append(sample)
        expo.samples.append(sample)
    return expo


def promtool_check(text):
    """Runs `promtool check metrics`; returns None when promtool is missing, else (status, output)."""
    promtool = shutil.which("promtool") or ("/usr/bin/promtool" if os.access("/usr/bin/promtool", os.X_OK) else None)
    if not promtool:
        return None
    r = subprocess.run([promtool, "check", "metrics"], input=text.encode("utf-8"), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    return r.returncode, r.stdout.decode("utf-8", "replace")


# ---- what the figures must be, computed from the simulator's source records ----

def parse_time(v):
    """UTC seconds from an RFC 3339 string or a number."""
    if isinstance(v, (int, float)):
        return float(v)
    d = datetime.datetime.fromisoformat(v.replace("z", "Z").replace("Z", "+00:00"))
    if d.tzinfo is None:
        raise ValueError("no time zone in %r" % v)
    return d.timestamp()


def timezone_minutes(tz):
    m = re.fullmatch(r"UTC([-+])([01][0-9]):(00|30)", tz)
    if not m:
        raise ValueError("bad timezone %r" % tz)
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    return -minutes if m.group(1) == "-" else minutes


def duration_seconds(text):
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    parts = re.findall(r"([0-9]+)([smhd])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError("bad duration %r" % text)
    return sum(int(n) * units[u] for n, u in parts)


def window_start(report, end):
    """The start of report's window for a refresh whose end (now) is end, independently of the exporter."""
    if report.window not in ("day", "week", "month"):
        return end - duration_seconds(report.window)
    offset = timezone_minutes(report.timezone) * 60
    local = datetime.datetime.fromtimestamp(int(end) + offset, datetime.timezone.utc)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if report.window == "week":
        day -= datetime.timedelta(days=day.weekday())
    elif report.window == "month":
        day = day.replace(day=1)
    return calendar.timegm(day.timetuple()) - offset


def aggregation_kind(agg):
    ids = agg.get("resourceIds") or {}
    return "queues" if "queueIds" in ids else "fleets"


def aggregation_ids(agg):
    ids = agg.get("resourceIds") or {}
    return list(ids.get("queueIds") or ids.get("fleetIds") or [])


def aggregation_signature(agg):
    return (aggregation_kind(agg), frozenset(agg.get("groupBy") or []), frozenset(agg.get("statistics") or []),
            agg.get("timezone") or "UTC+00:00")


class Refresh:
    """The aggregations one refresh of (farm, report) started: one window, one or more batches."""

    def __init__(self, start_text, end_text):
        self.start_text = start_text
        self.end_text = end_text
        self.start = parse_time(start_text)
        self.end = parse_time(end_text)
        self.batches = []

    def ids(self):
        out = []
        for b in self.batches:
            out += aggregation_ids(b)
        return out


def refreshes(aggregations, farm_id, report):
    """The refreshes of (farm, report) in the order they started."""
    sig = report.signature()
    found = {}
    for a in sorted(aggregations, key=lambda a: a.get("startedAt") or 0):
        if a.get("farmId") != farm_id or aggregation_signature(a) != sig:
            continue
        key = (a["startTime"], a["endTime"])
        if key not in found:
            found[key] = Refresh(a["startTime"], a["endTime"])
        found[key].batches.append(a)
    return list(found.values())


def expected_samples(sessions, farm_id, report, resource_ids, start, end):
    """{(metric, sorted label items): value} for the sessions of resource_ids that start in [start, end)."""
    member = "queueId" if report.resources == "queues" else "fleetId"
    ids = set(resource_ids)
    groups = {}
    for s in sessions:
        if s.get(member) not in ids or not (start <= float(s["startTime"]) < end):
            continue
        key = tuple(s.get(GROUP_FIELDS[g][0]) or "" for g in report.group_by)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"count": 0, "cost": [], "runtime": [], "job_name": ""}
        g["count"] += 1
        g["cost"].append(float(s["costUsd"]))
        g["runtime"].append(float(s["runtimeSeconds"]))
        if not g["job_name"] and s.get("jobName"):
            g["job_name"] = s["jobName"]
    if report.limit and len(groups) > report.limit:
        groups = limit_groups(groups, report)
    out = {}
    for key, g in groups.items():
        labels = {"farm_id": farm_id, "report": report.name}
        for field, value in zip(report.group_by, key):
            labels[GROUP_FIELDS[field][1]] = value
            if field == "JOB_ID":
                labels["job_name"] = g["job_name"]
        out[(USAGE_SESSIONS, tuple(sorted(labels.items())))] = float(g["count"])
        for figure in ("cost", "runtime"):
            values = g[figure]
            figures = {"SUM": math.fsum(values), "MIN": min(values), "MAX": max(values),
                       "AVG": math.fsum(values) / len(values)}
            for stat in report.statistics:
                out[(USAGE_FIGURE_METRICS[(figure, stat)], tuple(sorted(labels.items())))] = figures[stat]
    return out


def limit_groups(groups, report):
    """The report.limit groups of largest cost (largest count without SUM; ties in label order, as the bytes
    compare) and one more, OTHER, holding every session of the others."""
    def rank(item):
        key, g = item
        first = -math.fsum(g["cost"]) if "SUM" in report.statistics else -g["count"]
        return (first, tuple(v.encode("utf-8") for v in key))

    ranked = sorted(groups.items(), key=rank)
    kept = dict(ranked[:report.limit])
    other = {"count": 0, "cost": [], "runtime": [], "job_name": OTHER}
    for _, g in ranked[report.limit:]:
        other["count"] += g["count"]
        other["cost"] += g["cost"]
        other["runtime"] += g["runtime"]
    kept[tuple(OTHER for _ in report.group_by)] = other
    return kept


def scraped_samples(expo, farm_id, report_name):
    out = {}
    for s in expo.samples:
        if s.name in USAGE_METRICS and s.labels.get("farm_id") == farm_id and s.labels.get("report") == report_name:
            out[s.key()] = s.value
    return out


def close(a, b, rel=REL_TOLERANCE):
    if a == b:
        return True
    if math.isnan(a) or math.isnan(b):
        return False
    return abs(a - b) <= rel * max(abs(a), abs(b))


def compare_samples(got, expected, limit=8):
    """A list of differences (empty when equal to REL_TOLERANCE)."""
    diffs = []
    for k in sorted(set(expected) - set(got)):
        diffs.append("missing %s%s = %r" % (k[0], dict(k[1]), expected[k]))
    for k in sorted(set(got) - set(expected)):
        diffs.append("unexpected %s%s = %r" % (k[0], dict(k[1]), got[k]))
    for k in sorted(set(got) & set(expected)):
        if not close(got[k], expected[k]):
            diffs.append("%s%s = %r, expected %r" % (k[0], dict(k[1]), got[k], expected[k]))
    if len(diffs) > limit:
        diffs = diffs[:limit] + ["… %d more differences" % (len(diffs) - limit)]
    return diffs


# ---- running a test ----

class Test:
    """Collects check results; `with Test(name) as t:` cleans up and turns the outcome into an exit status."""

    def __init__(self, name):
        self.name = name
        self.failures = 0
        self.checks = 0
        self.workdir = None
        self.status = 0
        self.skipped = []  # parts not run here, with why

    def __enter__(self):
        self.workdir = tempfile.mkdtemp(prefix="dce-%s-" % self.name)
        log("%s: work directory %s" % (self.name, self.workdir))
        return self

    def check(self, cond, msg, *details):
        self.checks += 1
        if cond:
            return True
        self.failures += 1
        log("FAIL: " + msg)
        for d in details:
            log("      " + str(d))
        return False

    def ok(self, msg):
        self.checks += 1
        log("ok: " + msg)

    def note(self, msg):
        log("note: " + msg)

    def skip_part(self, reason):
        """A part of the test cannot run on this machine (a tool missing, a kernel feature off). The rest runs;
        the test then ends as skipped (77) unless something failed, so that a partial run never passes as a
        whole one: tests/run-tests.sh and CI install every tool and count a skip as a failure."""
        self.skipped.append(reason)
        log("skip: " + reason)

    def _check_exit_statuses(self):
        """Stops every child that must end with a given status (the exporter: 0) and checks that it did."""
        for p in list(_all_processes):
            if p.expect_status is None:
                continue
            was_running = p.alive()
            status = p.stop(timeout=60.0)
            if status != p.expect_status:
                self.failures += 1
                log("FAIL: %s (pid %d) %s with status %s, expected %s"
                    % (p.name, p.pid, "stopped on SIGTERM" if was_running else "exited", status, p.expect_status))
            elif was_running:
                self.ok("%s stops cleanly on SIGTERM (status %d)" % (p.name, status))

    def __exit__(self, exc_type, exc, tb):
        crashed = []
        for p in list(_processes):
            if not p.alive() and p.returncode() != 0:
                crashed.append(p)
        if exc_type is Skip:
            log("SKIP: %s" % exc)
            self.status = SKIP
        elif exc_type is not None:
            self.failures += 1
            if isinstance(exc, Failure):
                log("FAIL: %s" % exc)
            elif exc_type is KeyboardInterrupt:
                log("FAIL: interrupted (%s)" % exc)
            else:
                log("FAIL: unexpected exception:\n" + "".join(traceback.format_exception(exc_type, exc, tb)))
        if exc_type is None:
            for p in crashed:
                if p.expect_status is None:
                    self.failures += 1
                    log("FAIL: %s exited with status %s" % (p.name, p.returncode()))
        if exc_type is not KeyboardInterrupt:
            self._check_exit_statuses()
        if not self.failures and self.skipped and self.status != SKIP:
            self.status = SKIP
            for reason in self.skipped:
                log("SKIP: %s" % reason)
        if self.failures:
            for p in _all_processes:
                log("---- last lines of %s's log (%s) ----\n%s" % (p.name, p.log_path, p.log_tail()))
        _stop_all()
        self.status = 1 if self.failures else self.status
        if self.failures and os.environ.get("KEEP_WORKDIR"):
            log("keeping %s" % self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self.status == 0:
            log("%s: %d checks passed" % (self.name, self.checks))
        elif self.status == 1:
            log("%s: FAILED (%d failures; %d checks made)" % (self.name, self.failures, self.checks))
        return True  # the exception is reported: main() returns self.status
