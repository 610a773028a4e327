#!/usr/bin/env python3
"""test_promql: every PromQL expression of the Grafana dashboard and of the alerting rules, run by a real
Prometheus that scrapes the exporter (itself polling the simulator) with config/prometheus/ loaded.

- Prometheus gets scrape.yml's job (only the target and the intervals changed) and alerts.yml as rule file;
  every rule must load, evaluate and report health "ok".
- The exporter lists the farm inventory and looks user names up in the simulator's identity store, so the name
  joins have both sides.
- Every target `expr` of config/grafana/deadline-cloud-exporter.json, with the template variables resolved
  the way Grafana does (label_values() and query_result() with a text/value regex through Prometheus's API,
  "All" as the variable's allValue or an alternation of every value; $__rate_interval and friends as 1m),
  must run without error through /api/v1/query (and /api/v1/query_range for range targets) and return data;
  every label its legend names must be there; and every expression that depends on $report must return data
  for at least one single report.
- Every rule expression must run without error. Alert conditions are empty when nothing is wrong, so the
  parts are checked instead: every vector selector in it, and both sides of every comparison, and/or/unless,
  must return data; the side whose labels the alert takes must carry every label the annotations use
  ($labels.x).
- The exporter runs a counter report and a labelled counter report (show, department, production from the job and
  queue names), reports with a limit (so that __other__ exists) and the activity section, with the simulator's
  activity clock pinned at a step where every live-state alert holds for some fleets, queues, limits and license
  endpoints and not for others: each of those alerts' conditions must hold for exactly the ones the simulator's
  truth (/__sim/activity) puts in that state, and DeadlineCloudQueueBlocked and DeadlineCloudBudgetThresholdApproaching
  for exactly what its inventory says.
- Every rule has a runbook_url that points at a section of docs/monitoring.md.
- DeadlineCloudSpendRateHigh, with its durations scaled down (an hour to 20 s, a day to 40 s, a week to 3 minutes),
  must hold for a farm exactly when the simulator's spend jumps there (POST /__sim/spend): not for a jump under the
  floor, not for a jump below 1.5 times the farm's baseline, and for a jump above it.
- Nothing here is skipped when a metric is missing: a check whose metric (or label) the exporter does not serve
  finds no data and fails, saying what it expected.
"""

import json
import os
import re
import sys
import time
import urllib.parse

import harness
from harness import Report

PROMETHEUS = "/usr/bin/prometheus"
DASHBOARD = "config/grafana/deadline-cloud-exporter.json"
SCRAPE = "config/prometheus/scrape.yml"
ALERTS = "config/prometheus/alerts.yml"

# One report per group-by label the dashboard and the rules use (each panel needs a report that groups by
# its label); month_to_date is the one the example budget alert reads; MAX for "Longest session".
# (In the first hour of a month the calendar month has next to no sessions: a rolling month then.)
MONTH = "month" if time.gmtime().tm_mday > 1 or time.gmtime().tm_hour > 0 else "31d"
# A counter report needs a calendar window: the week in the first hour of a month.
CALENDAR = "month" if MONTH == "month" else "week"
# The contract's by_show example: show and department from the job names, production from the queue names.
BY_SHOW_LABELS = (
    'labels = ( { label = "show"; source = "job_name"; regex = "([a-z0-9]+)_.*"; replacement = "$1"; '
    'default = "unknown"; }, { label = "department"; source = "job_name"; regex = ".*_(anim|comp|fx|lgt|lookdev)_.*"; '
    'replacement = "$1"; default = "other"; }, { label = "production"; source = "queue_name"; regex = "(.+) - .*"; '
    'replacement = "$1"; default = "unknown"; } ); keep = [ "USAGE_TYPE" ];')
REPORTS = [
    Report("month_to_date", ["QUEUE_ID", "USAGE_TYPE"], window=MONTH, interval="10s"),
    Report("fleets_last_7_days", ["FLEET_ID", "INSTANCE_TYPE"], ["SUM"], resources="fleets", window="7d",
           interval="10s"),
    Report("users_last_7_days", ["USER_ID"], ["SUM"], window="7d", interval="10s", limit=10),
    Report("jobs_last_7_days", ["JOB_ID"], ["SUM"], window="7d", interval="10s", limit=20),
    Report("licenses_last_7_days", ["LICENSE_PRODUCT"], ["SUM"], window="7d", interval="10s"),
    Report("spend", ["QUEUE_ID", "USAGE_TYPE"], ["SUM"], window=CALENDAR, interval="10s", extra="counter = true;"),
    Report("by_show", ["JOB_ID", "USAGE_TYPE"], ["SUM"], window=CALENDAR, interval="10s",
           extra="counter = true; " + BY_SHOW_LABELS),
]
# The live state, read every 10 s, with per-job series for 50 jobs per farm.
ACTIVITY = 'activity = { enabled = true; interval = "10s"; jobs = 50; };\n'

# What Grafana puts in place of its built-in interval variables (a 1s scrape makes 1m plenty).
BUILTINS = {"__rate_interval": "1m", "__interval": "1m", "__range": "1m", "__interval_ms": "60000",
            "__range_s": "60", "__range_ms": "60000"}
ERROR_CODES = re.compile(r"5..|error|429")
# The usage series of a report, which a window without sessions does not have (its window timestamps it has).
NO_ROWS = re.compile(r"(deadline_cloud_usage_(?:cost_usd|runtime_seconds|sessions)(?:_total)?)\{")


# ---- reading PromQL without a PromQL parser: just enough to find selectors and top-level operators ----

_TOKEN = re.compile(r'''
    (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<grouping>\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\))
  | (?P<range>\[[^\]]*\])
  | (?P<num>[0-9][0-9a-zA-Z_.]*)
  | (?P<sel>(?:[a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\}|[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<other>.)
''', re.X | re.S)
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
             "offset", "inf", "nan", "atan2", "start", "end",
             # aggregation operators, which may be followed by "by (...)" rather than "("
             "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
             "quantile"}


def selectors(expr):
    """The vector selectors of expr (metric names and/or {matchers}), in order, without duplicates."""
    out = []
    for m in _TOKEN.finditer(expr):
        sel = m.group("sel")
        if not sel:
            continue
        rest = expr[m.end():].lstrip()
        if "{" not in sel and (sel.lower() in _KEYWORDS or rest.startswith("(")):
            continue  # a function, an aggregation or a keyword
        sel = re.sub(r"\s+\{", "{", sel.strip())
        if sel not in out:
            out.append(sel)
    return out


def _depth0_spans(expr):
    """Yields (index, char) for characters outside strings and outside (), {}, []."""
    depth = 0
    i = 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            j = i + 1
            while j < len(expr) and expr[j] != c:
                j += 2 if expr[j] == "\\" and c != "`" else 1
            i = j + 1
            continue
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif depth == 0:
            yield i, c
        i += 1


def strip_parens(expr):
    expr = expr.strip()
    while expr.startswith("(") and expr.endswith(")"):
        depth = 0
        for i, c in enumerate(expr):  # strings hold no parentheses in our files; good enough
            depth += c == "("
            depth -= c == ")"
            if depth == 0 and i < len(expr) - 1:
                return expr
        expr = expr[1:-1].strip()
    return expr


_MODIFIERS = re.compile(r"^\s*(?:bool\b|(?:on|ignoring|group_left|group_right)\b\s*(?:\([^)]*\))?)\s*")


def split_top(expr, operator):
    """Splits expr at the top-level matches of the regex operator; [] when there is none."""
    cuts = []
    positions = dict(_depth0_spans(expr))
    i = 0
    while i < len(expr):
        if i in positions:
            m = operator.match(expr, i)
            if m and (i == 0 or not re.match(r"[a-zA-Z0-9_:]", expr[i - 1]) or not m.group(0)[0].isalpha()):
                cuts.append((m.start(), m.end()))
                i = m.end()
                continue
        i += 1
    if not cuts:
        return []
    parts, start = [], 0
    for a, b in cuts:
        parts.append(expr[start:a])
        start = b
    parts.append(expr[start:])
    out = []
    for p in parts:
        p = p.strip()
        while True:  # a binary operator's modifiers belong to it, not to the right-hand side
            m = _MODIFIERS.match(p)
            if not m or not m.group(0).strip():
                break
            p = p[m.end():]
        out.append(p.strip())
    return out


_OR = re.compile(r"or\b")
_AND = re.compile(r"(?:and|unless)\b")
_CMP = re.compile(r"==|!=|>=|<=|>(?!=)|<(?!=)")


def operands(expr, carries=True):
    """The leaves of expr's top-level or / and / unless / comparisons (expr itself when it has none), each
    as (leaf, carries): carries is True for the leaves whose labels the result takes (both sides of or, the
    left side of and / unless / a comparison)."""
    expr = strip_parens(expr)
    for op in (_OR, _AND, _CMP):
        parts = split_top(expr, op)
        if parts:
            out = []
            for i, p in enumerate(parts):
                out += operands(p, carries and (op is _OR or i == 0))
            return out
    return [(expr, carries)]


def metric_names(expr):
    """The metric names expr selects (by name or by a __name__="…" matcher)."""
    out = set()
    for sel in selectors(expr):
        m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", sel)
        if m:
            out.add(m.group(0))
        out.update(re.findall(r'__name__\s*=\s*"([^"]+)"', sel))
    return out


def is_number(expr):
    return re.fullmatch(r"[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+)", expr.strip()) is not None


# ---- Prometheus ----

class PromError(Exception):
    pass


class Prometheus:
    def __init__(self, workdir, config_text):
        self.port = harness.free_port()
        self.config = os.path.join(workdir, "prometheus.yml")
        storage = os.path.join(workdir, "prometheus-data")
        os.mkdir(storage)
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(config_text)
        args = [PROMETHEUS, "--config.file=" + self.config, "--storage.tsdb.path=" + storage,
                "--web.listen-address=%s:%d" % (harness.LOOPBACK, self.port), "--log.level=warn"]
        self.proc = harness.Process("prometheus", args, workdir)
        harness.log("prometheus: pid %d on http://%s:%d/" % (self.proc.pid, harness.LOOPBACK, self.port))

    def wait_ready(self, timeout=90.0):
        harness.wait_for("Prometheus's /-/ready",
                         lambda: harness.http_request(self.port, "GET", "/-/ready", timeout=5).status == 200,
                         timeout, alive=[self.proc])

    def api(self, path, **params):
        """GET /api/v1/<path>; the data member, or PromError with Prometheus's error."""
        query = urllib.parse.urlencode(params, doseq=True)
        r = harness.http_request(self.port, "GET", "/api/v1/" + path + ("?" + query if query else ""),
                                 timeout=30)
        try:
            doc = json.loads(r.body.decode("utf-8"))
        except ValueError:
            raise PromError("HTTP %d, not JSON: %r" % (r.status, r.body[:300]))
        if r.status != 200 or doc.get("status") != "success":
            raise PromError("HTTP %d %s: %s" % (r.status, doc.get("errorType"), doc.get("error")))
        if doc.get("warnings"):
            raise PromError("warnings: %s" % doc["warnings"])
        return doc["data"]

    def query(self, promql, at=None):
        """Instant query: (resultType, result)."""
        data = self.api("query", query=promql, time="%.3f" % (at or time.time()))
        return data["resultType"], data["result"]

    def query_range(self, promql, start, end, step):
        data = self.api("query_range", query=promql, start="%.3f" % start, end="%.3f" % end, step=step)
        return data["result"]


# ---- the dashboard ----

def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels") or [])


def dashboard_targets(dash):
    """[(panel title, target)] of every panel, rows' collapsed panels included."""
    out = []
    for p in all_panels(dash.get("panels") or []):
        for t in p.get("targets") or []:
            out.append((p.get("title", "?"), p, t))
    return out


_VAR = re.compile(r"\$(\w+)|\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]")


def substitute(expr, values):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in values:
            return values[name]
        if name in BUILTINS:
            return BUILTINS[name]
        if name.isdigit():
            return m.group(0)  # label_replace's "$1": Grafana leaves what names no variable
        raise harness.Failure("unknown variable $%s in %s" % (name, expr))
    return _VAR.sub(repl, expr)


def format_value(values, all_value=None):
    """A multi-value (or All) variable as Grafana's Prometheus data source writes it in a regex matcher: the
    variable's allValue for All when it has one, else every value in an alternation."""
    if all_value is not None:
        return all_value
    for v in values:
        if not re.fullmatch(r"[A-Za-z0-9_:-]+", v):
            raise harness.Failure("variable value %r needs regex escaping: extend the test" % v)
    return values[0] if len(values) == 1 else "(" + "|".join(values) + ")"


def grafana_query_result_text(sample):
    """A query_result() option's text as Grafana writes it: name{label="value",…} value timestamp_ms."""
    metric = dict(sample["metric"])
    text = metric.pop("__name__", "")
    text += "{" + ",".join('%s="%s"' % (k, v) for k, v in metric.items()) + "}"
    return text + " %s %d" % (sample["value"][1], int(float(sample["value"][0]) * 1000))


def js_regex(regex):
    """A Grafana variable regex (/…/flags, JavaScript) as a Python pattern."""
    m = re.fullmatch(r"/(.*)/([a-z]*)", regex, re.S)
    body, flags = (m.group(1), m.group(2)) if m else (regex, "")
    return re.compile(body.replace("(?<", "(?P<"), (re.I if "i" in flags else 0) | (re.S if "s" in flags else 0))


def resolve_variables(t, prom, dash):
    """{name: [values]} for the query variables, in order (each may use the ones before it)."""
    resolved = {}
    for var in dash["templating"]["list"]:
        name = var["name"]
        if var["type"] == "datasource":
            t.check(var.get("query") == "prometheus", "variable $%s is a Prometheus data source" % name, var)
            continue
        if not t.check(var["type"] == "query", "variable $%s is a query variable" % name, var["type"]):
            continue
        q = var.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        known = {k: format_value(v, var_all_value(dash, k)) for k, v in resolved.items()}
        lv = re.fullmatch(r"\s*label_values\(\s*(.+?)\s*,\s*(\w+)\s*\)\s*", q or "", re.S)
        qr = re.fullmatch(r"\s*query_result\((.+)\)\s*", q or "", re.S)
        if not t.check(bool(lv or qr), "variable $%s uses label_values(selector, label) or query_result(expr)" % name,
                       q):
            continue
        try:
            if lv:
                selector = substitute(lv.group(1), known)
                what = "label_values(%s, %s)" % (selector, lv.group(2))
                texts = prom.api("label/%s/values" % lv.group(2), **{"match[]": selector})
            else:
                expr = substitute(qr.group(1), known)
                what = "query_result(%s)" % expr
                _, result = prom.query(expr)
                texts = [grafana_query_result_text(r) for r in result]
        except PromError as e:
            t.check(False, "variable $%s: %s: %s" % (name, q, e))
            continue
        values, shown = texts, texts
        if var.get("regex"):
            pattern = js_regex(var["regex"])
            values, shown = [], []
            for text in texts:
                m = pattern.search(text)
                if not m:
                    continue
                groups = m.groupdict()
                value = groups.get("value") or (m.group(1) if m.groups() else m.group(0))
                values.append(value)
                shown.append(groups.get("text") or value)
            t.check(len(values) == len(texts), "variable $%s's regex matches every option" % name,
                    [x for x in texts if not pattern.search(x)][:3])
        if t.check(bool(values), "variable $%s has values: %s" % (name, what)):
            harness.log("      $%s = %s" % (name, list(zip(values, shown)) if values != shown else values))
        resolved[name] = values
    return resolved


def var_all_value(dash, name):
    for var in dash["templating"]["list"]:
        if var["name"] == name:
            return var.get("allValue")
    return None


def var_single(dash, name):
    """A variable that takes one value (neither multi nor All): Grafana selects its first value by default."""
    for var in dash["templating"]["list"]:
        if var["name"] == name:
            return not var.get("multi") and not var.get("includeAll")
    return False


def table_label_columns(panel):
    """The label columns a table panel shows (its organize transformation's fields that are not values)."""
    out = []
    for tr in panel.get("transformations") or []:
        if tr.get("id") == "organize":
            out += [f for f in (tr.get("options") or {}).get("indexByName", {})
                    if not f.startswith("Value") and f not in ("Time",)]
    return out


def legend_labels(target):
    return re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat") or "")


def check_result_labels(t, what, result, labels):
    missing = [(labels_needed, r["metric"]) for r in result
               for labels_needed in labels if not r["metric"].get(labels_needed)]
    t.check(not missing, "%s: every series has the labels %s" % (what, labels), *missing[:3])


def check_dashboard(t, prom, dash, names):
    t.check(dash.get("schemaVersion", 0) >= 36, "the dashboard's schemaVersion is recent", dash.get("schemaVersion"))
    var_names = [v["name"] for v in dash["templating"]["list"]]
    for n in ("datasource", "job", "farm_id", "report", "spend_report", "queue_id"):
        t.check(n in var_names, "the dashboard has the variable $%s" % n, var_names)
    ids = [p.get("id") for p in all_panels(dash["panels"])]
    t.check(len(ids) == len(set(ids)) and None not in ids, "panel ids are unique", ids)
    targets = dashboard_targets(dash)
    for title, panel, target in targets:
        t.check(panel.get("datasource", {}).get("uid") == "${datasource}"
                and target.get("datasource", {}).get("uid") == "${datasource}",
                "panel %r uses the $datasource variable" % title)
        t.check(bool(target.get("expr")), "panel %r's target %s has an expr" % (title, target.get("refId")))

    variables = resolve_variables(t, prom, dash)
    # a variable without values (its check failed above) matches nothing, so that its panels fail one by one
    values = {k: (v[0] if var_single(dash, k) else format_value(v, var_all_value(dash, k)))
              if v or var_all_value(dash, k) is not None else "__no_value__"
              for k, v in variables.items()}
    now = time.time()
    harness.log("dashboard: %d expressions" % len(targets))
    table_labels = {}  # id(panel) -> (panel, labels some target of the table gave)
    singles = [k for k in variables if var_single(dash, k) and variables[k]]
    for title, panel, target in targets:
        raw = target.get("expr") or ""
        expr = substitute(raw, values)
        # a one-value variable (the counter report) is checked with a value the panel has data for: by_show keeps
        # no queue_id, so "spend by queue" shows nothing for it, by design (each value is tried again below)
        for k in singles:
            if not re.search(r"\$(\{)?%s\b" % k, raw):
                continue
            for v in variables[k]:
                try:
                    if prom.query(substitute(raw, dict(values, **{k: v})), at=now)[1]:
                        expr = substitute(raw, dict(values, **{k: v}))
                        break
                except PromError:
                    break
        what = "panel %r: %s" % (title, expr)
        try:
            kind, result = prom.query(expr, at=now)
        except PromError as e:
            t.check(False, what, e)
            continue
        t.check(kind == "vector", "%s is an instant vector" % what, kind)
        if not t.check(bool(result), "%s returns data (instant)" % what):
            continue
        check_result_labels(t, "panel %r" % title, result, legend_labels(target))
        check_names(t, "panel %r" % title, result, names)
        if target.get("format") == "table":
            seen = table_labels.setdefault(id(panel), (panel, set()))[1]
            seen.update(k for r in result for k, v in r["metric"].items() if v)
        if target.get("range", not target.get("instant")):
            try:
                series = prom.query_range(expr, now - 20, now, "1s")
                t.check(series, "%s returns data (range)" % what)
            except PromError as e:
                t.check(False, "%s (range)" % what, e)
        # a report whose window has no session yet has no usage series but its window timestamps: the panels
        # that fall back on them must show one 0 per series they would show, not "No data"
        if NO_ROWS.search(raw) and "deadline_cloud_usage_window_start_timestamp_seconds" in raw:
            empty = NO_ROWS.sub(r"\1_of_an_empty_window{", expr)
            try:
                _, res = prom.query(empty, at=now)
            except PromError as e:
                t.check(False, "panel %r without rows" % title, e)
                res = None
            if res is not None:
                keys = [tuple(sorted(r["metric"].items())) for r in res]
                shapes = {tuple(sorted(r["metric"])) for r in result}  # the label names the panel shows
                good = (res and all(float(r["value"][1]) == 0 for r in res) and len(set(keys)) == len(keys)
                        and all(tuple(sorted(r["metric"])) in shapes for r in res))
                t.check(good, "panel %r shows 0 for a window without sessions (one per series)" % title, res[:3])
        # a single report is what users pick: some report must give this panel data
        for var in ("report", "spend_report"):
            if var not in variables or not re.search(r"\$(\{)?%s\b" % var, raw):
                continue
            giving = []
            for rep in variables[var]:
                single = substitute(raw, dict(values, **{var: rep}))
                try:
                    _, res = prom.query(single, at=now)
                except PromError as e:
                    t.check(False, "panel %r with %s=%s" % (title, var, rep), e)
                    continue
                if res:
                    giving.append(rep)
            t.check(giving, "panel %r has data for a single %s" % (title, var))
            harness.log("      panel %r: data with %s %s" % (title, var, ", ".join(giving)))
    for panel, seen in table_labels.values():
        columns = table_label_columns(panel)
        t.check(set(columns) <= seen, "table %r: every label column has values" % panel.get("title"),
                sorted(set(columns) - seen))


# ---- names: what the simulator calls each thing ----

NAME_LABELS = {"farm_name": ("farm_id",), "queue_name": ("farm_id", "queue_id"), "fleet_name": ("farm_id", "fleet_id"),
               "budget_name": ("farm_id", "budget_id"), "user_name": ("user_id",),
               "limit_name": ("farm_id", "limit_id")}


def simulator_names(sim):
    """{name label: {ids: name}} from the simulator's inventory (its source of truth) and identity store."""
    inv = sim._json("GET", "/__sim/inventory")
    names = {k: {} for k in NAME_LABELS}
    for f in inv["farms"]:
        names["farm_name"][(f["farmId"],)] = f["displayName"]
        for q in f["queues"]:
            names["queue_name"][(f["farmId"], q["queueId"])] = q["displayName"]
        for fl in f["fleets"]:
            names["fleet_name"][(f["farmId"], fl["fleetId"])] = fl["displayName"]
        for b in f["budgets"]:
            names["budget_name"][(f["farmId"], b["budgetId"])] = b["displayName"]
    for u in inv["users"]:
        if u.get("exists") and u.get("userName"):
            names["user_name"][(u["userId"],)] = u["userName"]
    for f in sim._json("GET", "/__sim/activity?summary=1")["farms"]:
        for lim in f["limits"]:
            names["limit_name"][(f["farmId"], lim["limitId"])] = lim["displayName"]
    return inv, names


def check_names(t, what, result, names):
    """Every name label of result is the simulator's name for its ids, or the id itself for a thing without one."""
    wrong = []
    for r in result:
        m = r["metric"]
        for label, ids in NAME_LABELS.items():
            if label not in m or not all(i in m for i in ids):
                continue
            key = tuple(m[i] for i in ids)
            want = names[label].get(key, key[-1])
            if m[label] != want:
                wrong.append((label, key, m[label], want))
    if wrong or any(label in r["metric"] for r in result for label in NAME_LABELS):
        t.check(not wrong, "%s: every name is the simulator's (or the id without one)" % what, *wrong[:3])


def check_alerts_see_the_simulator(t, prom, rules, inv):
    """The blocked-queue and budget alerts' conditions hold exactly for what the simulator's inventory says."""
    queries = {r["name"]: r["query"] for r in rules}
    queues = {(f["farmId"], q["queueId"]): q for f in inv["farms"] for q in f["queues"]}
    blocked = {k for k, q in queues.items() if q["status"] == "SCHEDULING_BLOCKED"}
    _, res = prom.query(queries["DeadlineCloudQueueBlocked"])
    got = {(r["metric"]["farm_id"], r["metric"]["queue_id"]): r["metric"] for r in res}
    t.check(set(got) == blocked and blocked, "DeadlineCloudQueueBlocked holds for the %d queues the simulator "
            "blocks" % len(blocked), sorted(set(got) ^ blocked)[:3])
    wrong = [(k, m.get("reason")) for k, m in got.items()
             if k in queues and m.get("reason") != (queues[k].get("blockedReason") or "unknown")]
    t.check(not wrong, "DeadlineCloudQueueBlocked: every reason is the simulator's blockedReason", *wrong[:3])
    approaching = set()
    for f in inv["farms"]:
        for b in f["budgets"]:
            ratios = [a["thresholdPercentage"] / 100 for a in b.get("actions") or []]
            used = b["usages"]["approximateDollarUsage"] / b["approximateDollarLimit"]
            if b["status"] == "ACTIVE" and used >= 0.9 * min(ratios or [1.0]):
                approaching.add((f["farmId"], b["budgetId"]))
    _, res = prom.query(queries["DeadlineCloudBudgetThresholdApproaching"])
    got = {(r["metric"]["farm_id"], r["metric"]["budget_id"]) for r in res}
    harness.log("alerts against the simulator: %d queues blocked, %d budgets near a threshold" % (
        len(blocked), len(approaching)))
    t.check(got == approaching and approaching, "DeadlineCloudBudgetThresholdApproaching holds for the %d ACTIVE "
            "budgets the simulator has near a threshold" % len(approaching), sorted(got ^ approaching)[:3])


INFLIGHT = ("ASSIGNED", "STARTING", "SCHEDULED", "RUNNING")


def activity_truth(truth, inv):
    """What each live-state alert's condition must hold for, from the simulator's truth (computed here, not with the
    rules' PromQL): {alert: {key: value}}."""
    blocked = {(f["farmId"], q["queueId"]) for f in inv["farms"] for q in f["queues"]
               if q["status"] == "SCHEDULING_BLOCKED"}
    out = {k: {} for k in ("DeadlineCloudWorkersNotResponding", "DeadlineCloudQueueStalled",
                           "DeadlineCloudTasksFailing", "DeadlineCloudLimitAtMaximum",
                           "DeadlineCloudLicenseEndpointNotReady")}
    others = {k: set() for k in out}  # things of the same kind the alert must not hold for
    for f in truth["farms"]:
        farm = f["farmId"]
        for fl in f["fleets"]:
            n = fl["workersByStatus"].get("NOT_RESPONDING", 0)
            (out["DeadlineCloudWorkersNotResponding"].__setitem__((farm, fl["fleetId"]), n) if n
             else others["DeadlineCloudWorkersNotResponding"].add((farm, fl["fleetId"])))
        for q in f["queues"]:
            key, tasks = (farm, q["queueId"]), q["tasksByStatus"]
            if tasks.get("READY", 0) and not any(tasks.get(s, 0) for s in INFLIGHT) and key not in blocked:
                out["DeadlineCloudQueueStalled"][key] = tasks["READY"]
            elif tasks.get("READY", 0):
                others["DeadlineCloudQueueStalled"].add(key)
            failed, done = tasks.get("FAILED", 0), tasks.get("FAILED", 0) + tasks.get("SUCCEEDED", 0)
            if failed >= 5 and failed / done > 0.1:
                out["DeadlineCloudTasksFailing"][key] = failed / done
            elif failed:
                others["DeadlineCloudTasksFailing"].add(key)
        for lim in f["limits"]:
            key = (farm, lim["limitId"])
            if lim["maxCount"] != -1 and lim["currentCount"] >= lim["maxCount"]:
                out["DeadlineCloudLimitAtMaximum"][key] = lim["currentCount"]
            else:
                others["DeadlineCloudLimitAtMaximum"].add(key)
    for le in truth["licenseEndpoints"]:
        if le["status"] == "NOT_READY":
            out["DeadlineCloudLicenseEndpointNotReady"][(le["licenseEndpointId"],)] = 1
        else:
            others["DeadlineCloudLicenseEndpointNotReady"].add((le["licenseEndpointId"],))
    return out, others


def pin_activity_step(sim, inv):
    """Pins the simulator's activity clock at the first step where every live-state alert holds for something and
    not for something else of its kind (a stalled queue and a working one with READY tasks…); returns its truth."""
    for step in range(2, 200):
        truth = sim._json("POST", "/__sim/activity", {"step": step})
        want, others = activity_truth(truth, inv)
        if all(want[k] and others[k] for k in want):
            harness.log("activity clock pinned at step %d: %s" % (step, ", ".join(
                "%s %d (not %d)" % (k[len("DeadlineCloud"):], len(want[k]), len(others[k])) for k in want)))
            return truth
    raise harness.Failure("no activity step up to 200 puts every live-state alert's condition both ways")


ACTIVITY_KEYS = {"DeadlineCloudWorkersNotResponding": ("farm_id", "fleet_id"),
                 "DeadlineCloudQueueStalled": ("farm_id", "queue_id"),
                 "DeadlineCloudTasksFailing": ("farm_id", "queue_id"),
                 "DeadlineCloudLimitAtMaximum": ("farm_id", "limit_id"),
                 "DeadlineCloudLicenseEndpointNotReady": ("license_endpoint_id",)}


def check_activity_alerts_see_the_simulator(t, prom, rules, truth, inv):
    """Each live-state alert's condition holds for exactly the fleets, queues, limits and license endpoints the
    simulator's truth puts in that state, with the simulator's figure as its value."""
    queries = {r["name"]: r["query"] for r in rules}
    want, _ = activity_truth(truth, inv)
    for name, keys in ACTIVITY_KEYS.items():
        _, res = prom.query(queries[name])
        got = {tuple(r["metric"].get(k) for k in keys): float(r["value"][1]) for r in res}
        t.check(set(got) == set(want[name]), "%s holds for the %d the simulator puts in that state"
                % (name, len(want[name])), sorted(set(got) ^ set(want[name]))[:3])
        wrong = [(k, v, want[name][k]) for k, v in got.items() if k in want[name] and abs(v - want[name][k]) > 1e-9]
        t.check(not wrong, "%s: every value is the simulator's" % name, *wrong[:3])


# ---- the spend rate, seen firing when the simulator's spend jumps ----

def spend_rate_farms(prom, rule_expr):
    _, res = prom.query(scaled("DeadlineCloudSpendRateHigh", rule_expr))
    return {r["metric"]["farm_id"]: float(r["value"][1]) for r in res}


def burst(sim, farm, cost):
    b = sim._json("POST", "/__sim/spend", {"farmId": farm, "sessions": 1, "costUsd": cost})
    harness.log("spend: a burst of %.2f USD on %s at %s" % (b["costUsd"], farm, b["startTime"]))
    return b


def wait_counted(prom, job, farm, before, what):
    """Waits until Prometheus has the farm's spend counter above before; returns the time it saw it."""
    q = 'max by (farm_id) (sum by (farm_id, report) (deadline_cloud_usage_cost_usd_total{job="%s",farm_id="%s"}))' % (
        job, farm)

    def seen():
        _, res = prom.query(q)
        return res and float(res[0]["value"][1]) > before + 1e-9
    harness.wait_for("%s (deadline_cloud_usage_cost_usd_total of %s above %.2f)" % (what, farm, before), seen, 60,
                     interval=0.5)
    return time.time()


def farm_spend(prom, job, farm):
    _, res = prom.query('max by (farm_id) (sum by (farm_id, report) (deadline_cloud_usage_cost_usd_total{job="%s",'
                        'farm_id="%s"}))' % (job, farm))
    return float(res[0]["value"][1]) if res else 0.0


def watch_spend_rate(prom, rule_expr, seconds):
    """Every farm the scaled rule holds for during the next seconds."""
    seen = set()
    end = time.time() + seconds
    while time.time() < end:
        seen |= set(spend_rate_farms(prom, rule_expr))
        time.sleep(1.0)
    return seen


def check_spend_rate_fires_on_jumps(t, prom, sim, rules, job, farm_ids):
    """DeadlineCloudSpendRateHigh (scaled: an hour is SPEND_WINDOW seconds, a day SPEND_OFFSET) holds exactly for the
    farm whose spend jumps: not for a jump under the floor (50 USD an hour), not for one below 1.5 times the farm's
    baseline, and for one above it."""
    expr = {r["name"]: r["query"] for r in rules}["DeadlineCloudSpendRateHigh"]
    busy, quiet = farm_ids[0], farm_ids[-1]
    t.check(not watch_spend_rate(prom, expr, 5), "DeadlineCloudSpendRateHigh holds for no farm while spend is flat")
    # 100 USD in a scaled hour is 18,000 USD an hour; 0.1 USD is 18 USD an hour, under the floor
    before = farm_spend(prom, job, busy)
    burst(sim, busy, 100.0)
    burst(sim, quiet, 0.1)
    first = wait_counted(prom, job, busy, before, "the first burst in Prometheus")
    seen = watch_spend_rate(prom, expr, SPEND_WINDOW)
    t.check(seen == {busy}, "a jump of 100 USD fires for its farm only; 0.1 USD on %s stays under the floor" % quiet,
            sorted(seen))
    # once the first jump is in the baseline, a smaller one does not fire, a larger one does
    harness.wait_for("the first jump to be in the baseline", lambda: time.time() > first + SPEND_WINDOW + SPEND_OFFSET
                     + 5, SPEND_WINDOW + SPEND_OFFSET + 30, interval=0.5)
    before = farm_spend(prom, job, busy)
    burst(sim, busy, 40.0)
    wait_counted(prom, job, busy, before, "the second burst in Prometheus")
    seen = watch_spend_rate(prom, expr, SPEND_WINDOW)
    t.check(not seen, "a jump of 40 USD after one of 100 USD (below 1.5 times the baseline) does not fire",
            sorted(seen))
    before = farm_spend(prom, job, busy)
    burst(sim, busy, 400.0)
    wait_counted(prom, job, busy, before, "the third burst in Prometheus")
    seen = watch_spend_rate(prom, expr, SPEND_WINDOW / 2)
    t.check(seen == {busy}, "a jump of 400 USD (above 1.5 times the baseline) fires for its farm only", sorted(seen))


# ---- the rules ----

# Rules whose durations are too long for a test: their parts are checked, and DeadlineCloudSpendRateHigh is seen
# firing, with these replacements (each must be found in the rule, so that a changed rule cannot go unscaled).
# Prometheus prints a rule's durations in its own units (7d as 1w): the patterns take both.
SCALED = {"DeadlineCloudSpendRateHigh": [(r"\[(?:7d|1w):1h\]", "[3m:20s]"), (r"\[1h\]", "[20s]"),
                                         (r"offset 1d\b", "offset 40s")]}
SPEND_WINDOW = 20.0   # the scaled hour
SPEND_OFFSET = 40.0   # the scaled day


def scaled(name, expr):
    for a, b in SCALED.get(name, ()):
        expr, n = re.subn(a, b, expr)
        if not n:
            raise harness.Failure("rule %s no longer has %s: update SCALED" % (name, a))
    return expr


def heading_anchors(markdown):
    """The anchors GitHub gives the headings of a Markdown text."""
    out = set()
    for m in re.finditer(r"^#+\s+(.*?)\s*$", markdown, re.M):
        text = re.sub(r"[`*]", "", m.group(1)).lower()
        out.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text)))
    return out


def check_runbooks(t, rules, monitoring_md):
    anchors = heading_anchors(monitoring_md)
    for rule in rules:
        url = (rule.get("annotations") or {}).get("runbook_url", "")
        m = re.fullmatch(r"https://github\.com/deadline-cloud-exporter/deadline-cloud-exporter/blob/main/"
                         r"docs/monitoring\.md#([a-z0-9-]+)", url)
        t.check(m and m.group(1) in anchors and m.group(1) == rule["name"].lower(),
                "rule %s's runbook_url is its section of docs/monitoring.md" % rule["name"], url)


def check_absent(t, prom, name, part, now):
    """absent(sel) is empty while sel has data: sel must have data, and absent() of a job nobody has must not."""
    inner = re.fullmatch(r"absent\((.*)\)", part, re.S).group(1)
    _, res = prom.query(inner, at=now)
    t.check(res, "rule %s: %s returns data (so %s is empty while the target is there)" % (name, inner, part))
    other = re.sub(r'job="[^"]*"', 'job="no_such_job"', part)
    _, res = prom.query(other, at=now)
    t.check(len(res) == 1 and res[0]["metric"].get("job") == "no_such_job",
            "rule %s: %s fires for a job without a target" % (name, other), res)



def check_rules(t, prom, alerts_text, names):
    groups = prom.api("rules")["groups"]
    rules = [r for g in groups for r in g["rules"]]
    declared = re.findall(r"^\s*-\s*(?:alert|record):\s*(\S+)", alerts_text, re.M)
    loaded = [r["name"] for r in rules]
    t.check(sorted(declared) == sorted(loaded), "Prometheus loaded every rule of alerts.yml", declared, loaded)
    now = time.time()
    for rule in rules:
        name, expr = rule["name"], rule["query"]
        t.check(rule.get("health") == "ok" and not rule.get("lastError"),
                "rule %s evaluates in Prometheus (health %s)" % (name, rule.get("health")), rule.get("lastError"))
        try:
            kind, result = prom.query(expr, at=now)
            t.ok("rule %s runs: %s (%d series now)" % (name, expr, len(result)))
        except PromError as e:
            t.check(False, "rule %s: %s" % (name, expr), e)
            continue
        expr = scaled(name, expr)
        needed = sorted(set(re.findall(r"\$labels\.(\w+)", json.dumps(rule.get("annotations") or {})))
                        | set(re.findall(r"\$labels\.(\w+)", json.dumps(rule.get("labels") or {}))))
        t.check(rule.get("labels", {}).get("severity") in ("critical", "warning", "info"),
                "rule %s has a severity label" % name, rule.get("labels"))
        t.check({"summary", "description"} <= set(rule.get("annotations") or {}),
                "rule %s has summary and description annotations" % name, rule.get("annotations"))
        for sel in selectors(expr):
            try:
                _, res = prom.query(sel, at=now)
                t.check(bool(res), "rule %s: selector %s returns data" % (name, sel))
            except PromError as e:
                t.check(False, "rule %s: selector %s" % (name, sel), e)
        for part, carries in operands(expr):
            if is_number(part):
                continue
            if part.startswith("absent("):
                check_absent(t, prom, name, part, now)
                continue
            try:
                kind, res = prom.query(part, at=now)
            except PromError as e:
                t.check(False, "rule %s: operand %s" % (name, part), e)
                continue
            if kind != "vector":
                continue
            if t.check(bool(res), "rule %s: operand %s returns data" % (name, part)) and carries:
                check_result_labels(t, "rule %s: operand %s" % (name, part), res, needed)
                check_names(t, "rule %s: operand %s" % (name, part), res, names)
    return rules


# ---- the run ----

def read(path):
    with open(os.path.join(os.environ.get("SOURCE_ROOT") or os.path.join(os.path.dirname(__file__), "..", ".."),
                           path), encoding="utf-8") as f:
        return f.read()


def prometheus_config(scrape_text, exporter_port, alerts_path):
    targets = re.findall(r'"127\.0\.0\.1:[0-9]+"', scrape_text)
    if len(targets) != 1:
        raise harness.Failure("%s: expected one \"127.0.0.1:PORT\" target, found %s" % (SCRAPE, targets))
    text = scrape_text.replace(targets[0], '"%s:%d"' % (harness.LOOPBACK, exporter_port))
    text = re.sub(r"(scrape_interval|scrape_timeout|evaluation_interval):\s*\S+", r"\1: 1s", text)
    return ("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
            "rule_files:\n  - %s\n" % json.dumps(alerts_path)) + text


def inventory_config(sim):
    """The inventory (listed every 10 s) and identity_store settings for the simulator."""
    identity = sim._json("GET", "/__sim/identity")
    return ('inventory = { enabled = true; interval = "10s"; budgets = true; };\n'
            'identity_store = { id = "%s"; region = "%s"; endpoint_url = "%s"; };\n'
            % (identity["identityStoreId"], identity["region"], sim.url))


def wait_for_errors_counted(exp):
    def counted():
        _, _, expo = exp.scrape()
        codes = {s.labels.get("code") for s in expo.samples
                 if s.name == "deadline_cloud_exporter_api_requests_total" and s.value > 0}
        return {c for c in codes if ERROR_CODES.fullmatch(c or "")}
    return harness.wait_for("the exporter to count throttled or failed API requests", counted, 90, interval=0.5,
                            alive=[exp.proc])


def main():
    with harness.Test("promql") as t:
        if not os.access(PROMETHEUS, os.X_OK):
            raise harness.Skip("%s is not installed" % PROMETHEUS)
        dash = json.loads(read(DASHBOARD))
        scrape_text = read(SCRAPE)
        alerts_text = read(ALERTS)
        job = re.findall(r"job_name:\s*[\"']?([A-Za-z0-9_:-]+)", scrape_text)
        t.check(len(job) == 1, "%s has one scrape job" % SCRAPE, job)

        sim = harness.Simulator(t.workdir, "--aggregation-delay", "100", "--quiet")
        farm_ids = [f["farmId"] for f in sim.farms()]
        inv = sim._json("GET", "/__sim/inventory")
        truth = pin_activity_step(sim, inv)
        exp = harness.Exporter(t.workdir, sim, farm_ids, REPORTS, extra_config=inventory_config(sim) + ACTIVITY)
        exp.wait_ready(timeout=180)
        exp.wait_all_up(timeout=120)

        # Throttling and server errors for a moment, so that the API-errors rule and panel have series.
        sim.set_faults(throttle=0.3, error=0.2)
        codes = wait_for_errors_counted(exp)
        sim.set_faults()
        t.ok("the exporter counted API requests with codes %s" % sorted(codes))
        exp.wait_all_up(timeout=120, since=time.time())

        alerts_path = os.path.join(t.workdir, "alerts.yml")
        with open(alerts_path, "w", encoding="utf-8") as f:
            f.write(alerts_text)
        prom = Prometheus(t.workdir, prometheus_config(scrape_text, exp.port, alerts_path))
        prom.wait_ready()

        # enough scrapes for rate() over 1m, every rule evaluated at least once, the inventory of every farm
        # listed since the faults and every existing user of the figures named (the name checks compare them all)
        inv, names = simulator_names(sim)
        users = {ids[0] for ids in names["user_name"]}

        def settled():
            _, res = prom.query('count_over_time(up{job="%s"}[1m]) >= 5' % job[0])
            if not res:
                return False
            for health in ("report_up", "inventory_up"):
                _, res = prom.query('min(deadline_cloud_exporter_%s{job="%s"})' % (health, job[0]))
                if not res or float(res[0]["value"][1]) != 1:
                    return False
            _, res = prom.query('group by (user_id) (deadline_cloud_usage_sessions{job="%s",user_id!=""})' % job[0])
            shown = {r["metric"]["user_id"] for r in res}
            _, res = prom.query('group by (user_id) (deadline_cloud_user_info{job="%s"})' % job[0])
            if not shown or not (shown & users) <= {r["metric"]["user_id"] for r in res}:
                return False
            rules = [r for g in prom.api("rules")["groups"] for r in g["rules"]]
            return rules and all(r.get("health") == "ok" for r in rules)
        harness.wait_for("Prometheus to scrape the exporter, the inventory and the user names", settled, 120,
                         interval=1.0, alive=[prom.proc, exp.proc, sim.proc])
        t.ok("Prometheus scraped the exporter (job %s) and evaluated the rules" % job[0])
        # the live state read once and enough history for the scaled spend-rate baseline (a scaled hour and day)
        prom_started = time.time()
        try:
            harness.wait_for("the live state in Prometheus", lambda: prom.query(
                'min(deadline_cloud_exporter_activity_up{job="%s"}) == 1' % job[0])[1], 60, interval=1.0,
                alive=[prom.proc, exp.proc, sim.proc])
        except harness.Failure as e:
            t.check(False, "deadline_cloud_exporter_activity_up is 1 for every farm within 60 s", e)
        while time.time() < prom_started + SPEND_WINDOW + SPEND_OFFSET + 5:
            time.sleep(1.0)

        check_dashboard(t, prom, dash, names)
        rules = check_rules(t, prom, alerts_text, names)
        check_runbooks(t, rules, read("docs/monitoring.md"))
        check_alerts_see_the_simulator(t, prom, rules, inv)
        check_activity_alerts_see_the_simulator(t, prom, rules, truth, inv)
        check_spend_rate_fires_on_jumps(t, prom, sim, rules, job[0], farm_ids)

        status = prom.proc.stop()
        t.check(status == 0, "Prometheus stops cleanly", status)
        status = exp.proc.stop()
        t.check(status == 0, "the exporter stops cleanly on SIGTERM (status 0)", status)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
