"""plan_oracle: the reports of the API-plan test and benchmark, and the aggregations they must cost, worked out here.

The rules are the contract's ("The cheapest exact plan"), written again without the exporter's code: reports of a farm
with the same resources, window, timezone, period and group_by share one aggregation per batch of 10 ids asking for
the union of their statistics; "auto" over a farm whose queues and fleets are both "all" asks by the kind needing
fewer batches (queues on a tie). Also an exporter started from a configuration text (the harness's writes only the
settings of harness.Report) and the usage series of one report, whatever their names.
"""

import os

import harness

PER_BATCH = 10
SHOW_RULES = ('( { label = "show"; source = "job_name"; regex = "([a-z0-9]+)_.*"; replacement = "$1";'
              ' default = "unknown"; },\n'
              '      { label = "department"; source = "job_name"; regex = ".*_(anim|comp|fx|lgt|lookdev)_.*";'
              ' replacement = "$1"; default = "other"; },\n'
              '      { label = "production"; source = "queue_name"; regex = "(.+) - .*"; replacement = "$1";'
              ' default = "unknown"; } )')


class PlanReport:
    """A report with every setting the plan depends on (and those it must not depend on)."""

    def __init__(self, name, group_by, window, statistics=harness.STATISTICS, resources="auto",
                 timezone="UTC+00:00", period="MONTHLY", interval="5m", limit=None, counter=False, labels=None,
                 keep=None):
        self.name = name
        self.group_by = list(group_by)
        self.window = window
        self.statistics = list(statistics)
        self.resources = resources
        self.timezone = timezone
        self.period = period
        self.interval = interval
        self.limit = limit
        self.counter = counter
        self.labels = labels
        self.keep = keep

    def libconfig(self, resources=None, interval=None):
        """The report as a libconfig group; resources and interval, when given, replace the report's."""
        s, lst = harness._libconfig_string, harness._libconfig_list
        parts = ["name = %s;" % s(self.name), "resources = %s;" % s(resources or self.resources),
                 "window = %s;" % s(self.window), "timezone = %s;" % s(self.timezone),
                 "group_by = %s;" % lst(self.group_by), "statistics = %s;" % lst(self.statistics),
                 "period = %s;" % s(self.period), "interval = %s;" % s(interval or self.interval)]
        if self.limit:
            parts.append("limit = %d;" % self.limit)
        if self.counter:
            parts.append("counter = true;")
        if self.labels:
            parts.append("labels = %s;" % self.labels)
        if self.keep is not None:
            parts.append("keep = %s;" % lst(self.keep))
        return "{ " + "\n    ".join(parts) + " }"

    def plain(self):
        """Whether the figures are the plain gauges of harness.expected_samples (no counter, no labels)."""
        return not self.counter and not self.labels

    def harness_report(self, kind):
        """The harness's Report of the same figures, asked by kind ("queues" or "fleets")."""
        return harness.Report(self.name, self.group_by, self.statistics, resources=kind, window=self.window,
                              timezone=self.timezone, interval=self.interval, limit=self.limit)


# The benchmark's five reports: the three of the example configuration (config/deadline-cloud-exporter.conf), its
# commented by_show report, and the contract's counter report "spend".
FIVE_REPORTS = [
    PlanReport("month_to_date", ["QUEUE_ID", "USAGE_TYPE"], "month"),
    PlanReport("fleets_last_7_days", ["FLEET_ID", "INSTANCE_TYPE"], "7d", ["SUM"], resources="fleets",
               interval="15m"),
    PlanReport("users_this_week", ["USER_ID"], "week", ["SUM", "AVG"], timezone="UTC-08:00", period="DAILY",
               interval="1h"),
    PlanReport("spend", ["QUEUE_ID", "USAGE_TYPE"], "month", counter=True),
    PlanReport("by_show", ["JOB_ID", "USAGE_TYPE"], "month", counter=True, labels=SHOW_RULES, keep=["USAGE_TYPE"]),
]


def batches(n):
    return (n + PER_BATCH - 1) // PER_BATCH


def auto_kind(n_queues, n_fleets):
    """The kind "auto" asks by when the farm's queues and fleets are both "all"."""
    return "fleets" if batches(n_fleets) < batches(n_queues) else "queues"


def share_key(report):
    """What must be equal for two reports of a farm whose queues and fleets are "all" to share an aggregation."""
    return (report.resources, report.window, report.timezone, report.period, tuple(report.group_by))


class Group:
    def __init__(self, members, kind, n_ids):
        self.members = members
        self.kind = kind
        self.batches = batches(n_ids)
        stats = set()
        for m in members:
            stats |= set(m.statistics)
        self.statistics = stats

    def names(self):
        return [m.name for m in self.members]


def expected_plan(reports, n_queues, n_fleets, resources=None):
    """The groups of reports on a farm of n_queues queues and n_fleets fleets, both "all", in the order of their
    first member; resources, when given, replaces every "auto"."""
    groups = {}
    order = []
    for r in reports:
        res = r.resources if r.resources != "auto" or resources is None else resources
        key = (res,) + share_key(r)[1:]
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(r)
    out = []
    for key in order:
        kind = key[0] if key[0] != "auto" else auto_kind(n_queues, n_fleets)
        out.append(Group(groups[key], kind, n_queues if kind == "queues" else n_fleets))
    return out


def config_text(port, endpoint_url, farm_ids, reports, resources=None, interval=None, ca_file=None, extra=""):
    """The exporter's configuration: farms with queues and fleets "all", reports (resources and interval replacing
    every report's "auto" and interval when given), the simulator's CA unless ca_file is False."""
    s = harness._libconfig_string
    ca_file = harness.ca_file_for(endpoint_url) if ca_file is None else ca_file
    farms = ",\n".join('  { id = %s; queues = "all"; fleets = "all"; }' % s(f) for f in farm_ids)
    rep = ",\n".join("  " + r.libconfig(resources if r.resources == "auto" else None, interval) for r in reports)
    return ("web = { listen = \"%s:%d\"; };\naws = { region = %s; endpoint_url = %s;%s };\n"
            "farms = (\n%s\n);\nreports = (\n%s\n);\n%s"
            % (harness.LOOPBACK, port, s(harness.REGION), s(endpoint_url),
               " ca_file = %s;" % s(ca_file) if ca_file else "", farms, rep, extra))


class Exporter:
    """The exporter started from config_text()'s configuration."""

    def __init__(self, workdir, name, program, endpoint_url, farm_ids, reports, **config):
        self.name = name
        self.farm_ids = list(farm_ids)
        self.reports = list(reports)
        self.port = harness.free_port()
        self.workdir = os.path.join(workdir, name)
        os.makedirs(self.workdir, exist_ok=True)
        self.config_path = os.path.join(self.workdir, "exporter.conf")
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(config_text(self.port, endpoint_url, farm_ids, reports, **config))
        self.proc = harness.Process(name, [program, "--config", self.config_path], self.workdir,
                                    env=harness.hermetic_env(self.workdir))
        harness.log("%s: pid %d on http://%s:%d/ (config %s)" % (name, self.proc.pid, harness.LOOPBACK, self.port,
                                                                self.config_path))

    def log_text(self):
        with open(self.proc.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def scrape(self):
        if not self.proc.alive():
            raise harness.Failure("%s exited with status %s:\n%s" % (self.name, self.proc.returncode(),
                                                                     self.proc.log_tail()))
        r = harness.http_request(self.port, "GET", "/metrics")
        if r.status != 200:
            raise harness.Failure("/metrics answered %d" % r.status)
        return harness.parse_exposition(r.body.decode("utf-8"))

    def wait_all_up(self, timeout, since=None):
        """The exposition once every (farm, report) succeeded (after since, when given)."""
        def all_up():
            expo = self.scrape()
            for farm in self.farm_ids:
                for rep in self.reports:
                    key = {"farm_id": farm, "report": rep.name}
                    if expo.value("deadline_cloud_exporter_report_up", key) != 1:
                        return None
                    t = expo.value("deadline_cloud_exporter_report_last_success_timestamp_seconds", key)
                    if since is not None and (t is None or t < since):
                        return None
            return expo

        return harness.wait_for("%s: every report up" % self.name, all_up, timeout, interval=0.5,
                                alive=[self.proc])

    def stop(self):
        return self.proc.stop(timeout=60.0)


def usage_series(expo, farm_id, report_name):
    """{(metric, sorted labels): value} of every deadline_cloud_usage_* series of the report but the window's
    timestamps: gauges, counters and derived labels alike."""
    out = {}
    for s in expo.samples:
        if not s.name.startswith("deadline_cloud_usage_") or s.name in (harness.USAGE_WINDOW_START,
                                                                        harness.USAGE_WINDOW_END):
            continue
        if s.labels.get("farm_id") == farm_id and s.labels.get("report") == report_name:
            out[s.key()] = s.value
    return out


def window(expo, farm_id, report_name):
    key = {"farm_id": farm_id, "report": report_name}
    return expo.value(harness.USAGE_WINDOW_START, key), expo.value(harness.USAGE_WINDOW_END, key)


def first_refreshes(aggregations, farm_id, since=0.0):
    """{(kind, groupBy, statistics, timezone, period, startTime): [aggregations]} of farm_id's first refresh of each
    kind of aggregation started after since (the simulator's clock): one entry per refresh of a group."""
    seen = {}
    for a in sorted(aggregations, key=lambda a: a.get("startedAt") or 0):
        if a.get("farmId") != farm_id or (a.get("startedAt") or 0) < since:
            continue
        sig = (harness.aggregation_kind(a), tuple(a.get("groupBy") or []), frozenset(a.get("statistics") or []),
               a.get("timezone"), a.get("period"))
        first = seen.setdefault(sig, (a["startTime"], a["endTime"], []))
        if (a["startTime"], a["endTime"]) == first[:2]:
            first[2].append(a)
    return {sig: v[2] for sig, v in seen.items()}
