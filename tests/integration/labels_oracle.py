"""labels_oracle: reports[].labels and keep computed independently of the exporter, for the tests to compare with.

Prometheus' relabeling "replace" action, written here from its documentation: the regex is fully anchored (Python's
re.fullmatch, with '.' matching a newline too, as the exporter documents for Prometheus), the replacement's $1, ${1},
$name, ${name} and $$ read as Go's regexp.Expand reads them, and the default when the regex does not match or the
name is not known. The patterns the tests use mean the same in Python's re as in RE2. Then the simulator's session
records are merged by (the derived labels, the kept group-by fields), as the exporter must merge its rows."""

import math
import re

import harness

# A derived value longer than this many bytes gets the rule's default (the exporter's documented limit).
VALUE_MAX = 4096


def _name_char(c):
    # Go's extract(): unicode.IsLetter, unicode.IsDigit or '_'
    return c == "_" or c.isalpha() or c.isdigit()


def _group(match, name):
    """The text of group name (a number without a leading zero, else a group's name), "" when it did not take part
    or does not exist."""
    if name.isdigit() and (name == "0" or not name.startswith("0")) and int(name) < 10 ** 8:
        n = int(name)
        if n > (match.re.groups or 0):
            return ""
        return match.group(n) or ""
    if name not in match.re.groupindex:
        return ""
    return match.group(name) or ""


def expand(template, match):
    """Go's regexp.Expand of template with match; a malformed reference leaves its '$' as text."""
    out = []
    i = 0
    while i < len(template):
        c = template[i]
        if c != "$":
            out.append(c)
            i += 1
            continue
        if template[i + 1:i + 2] == "$":
            out.append("$")
            i += 2
            continue
        brace = template[i + 1:i + 2] == "{"
        j = i + 2 if brace else i + 1
        k = j
        while k < len(template) and _name_char(template[k]):
            k += 1
        name = template[j:k]
        if not name or (brace and template[k:k + 1] != "}"):
            out.append("$")
            i += 1
            continue
        out.append(_group(match, name))
        i = k + 1 if brace else k
    return "".join(out)


class Rule:
    """One element of reports[].labels."""

    def __init__(self, label, source, regex, replacement, default):
        self.label = label
        self.source = source  # "job_name" or "queue_name"
        self.regex = re.compile(regex, re.DOTALL)
        self.pattern = regex
        self.replacement = replacement
        self.default = default

    def apply(self, value):
        """The derived value of a name (None: not known)."""
        if value is None:
            return self.default
        m = self.regex.fullmatch(value)
        if not m:
            return self.default
        v = expand(self.replacement, m)
        return self.default if len(v.encode("utf-8")) > VALUE_MAX else v

    def config(self):
        s = harness._libconfig_string
        return "{ label = %s; source = %s; regex = %s; replacement = %s; default = %s; }" % (
            s(self.label), s(self.source), s(self.pattern), s(self.replacement), s(self.default))


class LabelledReport(harness.Report):
    """A report with labels (and keep); its configuration text comes through Report.extra, counter = true through
    Report.counter."""

    def __init__(self, name, group_by, rules, keep=(), counter=False, **kw):
        super().__init__(name, group_by, **kw)
        self.rules = list(rules)
        self.keep = list(keep)
        self.counter = counter
        parts = ["labels = ( %s );" % ", ".join(r.config() for r in self.rules)]
        if self.keep:
            parts.append("keep = %s;" % harness._libconfig_list(self.keep))
        self.extra = " ".join(parts)

    def labels(self):
        out = [r.label for r in self.rules]
        for g in self.group_by:
            if g in self.keep:
                out.append(harness.GROUP_FIELDS[g][1])
                if g == "JOB_ID":
                    out.append("job_name")
        return out


def expected_samples(sessions, farm_id, report, queue_names, start, end, names=None):
    """{(metric, sorted label items): value} for the sessions starting in [start, end), merged by (the derived labels,
    the kept fields). queue_names: queue id -> the inventory's name (a queue not in it has none); names: metric
    names by figure to use instead of harness.USAGE_FIGURE_METRICS / USAGE_SESSIONS (a counter report's)."""
    groups = {}
    for s in sessions:
        if not (start <= float(s["startTime"]) < end):
            continue
        sources = {"job_name": s.get("jobName") or "", "queue_name": queue_names.get(s.get("queueId"))}
        key = tuple(r.apply(sources[r.source]) for r in report.rules)
        key += tuple(s.get(harness.GROUP_FIELDS[g][0]) or "" for g in report.group_by if g in report.keep)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"count": 0, "cost": [], "runtime": [], "job_name": ""}
        g["count"] += 1
        g["cost"].append(float(s["costUsd"]))
        g["runtime"].append(float(s["runtimeSeconds"]))
        if not g["job_name"] and s.get("jobName"):
            g["job_name"] = s["jobName"]
    names = names or {}
    out = {}
    kept = [g for g in report.group_by if g in report.keep]
    for key, g in groups.items():
        labels = {"farm_id": farm_id, "report": report.name}
        for rule, value in zip(report.rules, key):
            labels[rule.label] = value
        for field, value in zip(kept, key[len(report.rules):]):
            labels[harness.GROUP_FIELDS[field][1]] = value
            if field == "JOB_ID":
                labels["job_name"] = g["job_name"]
        items = tuple(sorted(labels.items()))
        out[(names.get("sessions", harness.USAGE_SESSIONS), items)] = float(g["count"])
        for figure in ("cost", "runtime"):
            values = g[figure]
            figures = {"SUM": math.fsum(values), "MIN": min(values), "MAX": max(values),
                       "AVG": math.fsum(values) / len(values)}
            for stat in report.statistics:
                metric = names.get((figure, stat), harness.USAGE_FIGURE_METRICS[(figure, stat)])
                out[(metric, items)] = figures[stat]
    return out
