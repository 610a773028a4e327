#!/usr/bin/env python3
"""test_reload: SIGHUP applies a good configuration without a restart and rejects a bad one; POST /-/reload does the
same when web.enable_lifecycle is on; reloads asked at once run one after the other; SIGTERM stops fast; start-up
refusals exit 1 (the configuration) or 2 (the machine)."""

import base64
import os
import signal
import socket
import sys
import threading
import time

import harness
from harness import Report

# `kept` has a long interval: if the reload kept its schedule, it does not refresh again during the test.
KEPT = Report("kept", ["QUEUE_ID"], ["SUM"], window="month", interval="1h")
REMOVED = Report("removed", ["USER_ID"], ["SUM", "MAX"], window="7d", interval="1h")
CHANGED_BEFORE = Report("changed", ["USAGE_TYPE"], ["SUM"], window="month", interval="1h")
CHANGED_AFTER = Report("changed", ["INSTANCE_TYPE"], ["SUM"], window="month", interval="1h")
ADDED = Report("added", ["FLEET_ID"], ["SUM"], resources="fleets", window="day", interval="1h")


def usage_reports(expo):
    """{report: number of usage samples}."""
    out = {}
    for name in harness.USAGE_METRICS:
        for s in expo.series(name):
            out[s.labels["report"]] = out.get(s.labels["report"], 0) + 1
    return out


def kept_figures(expo):
    return {tuple(sorted(s.labels.items())): s.value for s in expo.series(harness.USAGE_COST, report="kept")}


def write_config(exp, sim, farm_ids, reports, path=None):
    with open(path or exp.config_path, "w", encoding="utf-8") as f:
        f.write(harness.exporter_config(exp.port, sim.url, farm_ids, reports))


# bcrypt (cost 10) of "secret", as in test_web
HASH = "$2y$10$7a4GFREy8eOFdSSZ99rxIOK7E/Wv.BrFv4Y0oNUZlSh7u9zRzQiOy"
CREDENTIALS = {"Authorization": "Basic " + base64.b64encode(b"prometheus:secret").decode()}


def write_lifecycle_config(exp, sim, farm_ids, reports, users=False):
    """The harness's configuration with web.enable_lifecycle on (and a basic auth user when users)."""
    web = "web = { listen = \"%s:%d\"; enable_lifecycle = true;%s };\n" % (
        harness.LOOPBACK, exp.port,
        ' basic_auth_users = ( { user = "prometheus"; password_hash = "%s"; } );' % HASH if users else "")
    lines = [ln for ln in harness.exporter_config(exp.port, sim.url, farm_ids, reports).splitlines(True)
             if not ln.startswith("web = ")]
    with open(exp.config_path, "w", encoding="utf-8") as f:
        f.write(web + "".join(lines))


def log_lines(exp, needle):
    with open(exp.proc.log_path, "rb") as f:
        return [l for l in f.read().decode("utf-8", "replace").splitlines() if needle in l]


def reload_steps(exp):
    """The reloads' log lines in order, each as "started" or "done" (applied or rejected)."""
    return ["started" if "status=started" in l else "done"
            for l in log_lines(exp, "op=reload status=")
            if any("status=%s" % s in l for s in ("started", "ok", "rejected"))]


def check_at_once(t, exp):
    """Three POST /-/reload and a SIGHUP at once: all applied, each whole before the next starts."""
    before = len(reload_steps(exp))
    answers = []

    def ask():
        try:
            answers.append(harness.http_request(exp.port, "POST", "/-/reload", timeout=60).status)
        except OSError as e:
            answers.append(str(e))

    askers = [threading.Thread(target=ask) for _ in range(3)]
    for a in askers:
        a.start()
    os.kill(exp.proc.pid, signal.SIGHUP)
    for a in askers:
        a.join(90)
    t.check(answers == [200] * 3, "three POST /-/reload at once: 200 each", answers)
    steps = harness.wait_for("the four reloads asked at once in the log",
                             lambda: (lambda s: s if len(s) >= 8 else None)(reload_steps(exp)[before:]), 30,
                             alive=[exp.proc])
    t.check(steps == ["started", "done"] * 4, "reloads asked at once ran one after the other", steps)


def check_start_refused(t, sim, farm_ids):
    """An address in use at start is exit status 2; no region anywhere is the configuration's fault, 1."""
    busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    busy.bind((harness.LOOPBACK, 0))
    busy.listen(1)
    text = harness.exporter_config(busy.getsockname()[1], sim.url, farm_ids, [KEPT])
    no_region = harness.exporter_config(harness.free_port(), sim.url, farm_ids, [KEPT]).replace(
        "region = %s;" % harness._libconfig_string(harness.REGION), "")
    env = harness.hermetic_env(t.workdir)
    env.pop("AWS_REGION")
    for name, config, status, needle in (("busy", text, 2, "op=listen status=error"),
                                         ("no-region", no_region, 1, "no AWS region")):
        path = os.path.join(t.workdir, name + ".conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(config)
        p = harness.Process("exporter-" + name, [harness.env_path("EXPORTER"), "--config", path], t.workdir,
                            env=env, expect_status=status)
        p.popen.wait(60)
        p.stop()
        t.check(p.returncode() == status and needle in p.log_tail(),
                "start-up refused (%s): exit status %d" % (name, status), p.returncode(), p.log_tail(5))
    busy.close()


class Scraper(threading.Thread):
    """Scrapes continuously during a reload: every scrape must parse and show the kept report whole."""

    def __init__(self, exp, expected_kept):
        super().__init__(daemon=True)
        self.exp = exp
        self.expected = expected_kept
        self.stop = threading.Event()
        self.scrapes = 0
        self.problems = []

    def run(self):
        while not self.stop.is_set():
            try:
                _, _, expo = self.exp.scrape(gzip_ok=self.scrapes % 2 == 1)
                if kept_figures(expo) != self.expected:
                    self.problems.append("the kept report's figures changed or went missing during a reload")
                self.scrapes += 1
            except Exception as e:  # noqa: BLE001 - any failure is a finding here
                self.problems.append("scrape failed: %s" % e)
            time.sleep(0.05)


def main():
    with harness.Test("reload") as t:
        sim = harness.Simulator(t.workdir, "--aggregation-delay", "200", "--quiet")
        farm_ids = [f["farmId"] for f in sim.farms()][:2]
        exp = harness.Exporter(t.workdir, sim, farm_ids, [KEPT, REMOVED, CHANGED_BEFORE])
        exp.wait_ready(timeout=120)
        expo = exp.wait_all_up(timeout=120)
        before = kept_figures(expo)
        t.check(before, "the kept report has figures")
        last_kept = {f: expo.value("deadline_cloud_exporter_report_last_success_timestamp_seconds",
                                   {"farm_id": f, "report": "kept"}) for f in farm_ids}
        t.check(usage_reports(expo).get("removed"), "the report to be removed has figures")

        # 1. a configuration that does not parse: rejected, everything stays
        with open(exp.config_path, "w", encoding="utf-8") as f:
            f.write("web = { listen = \"127.0.0.1:%d\" }\nfarms = ( oops\n" % exp.port)
        os.kill(exp.proc.pid, signal.SIGHUP)
        harness.wait_for("the rejected reload in the log", lambda: log_lines(exp, "op=reload status=rejected"), 20,
                         alive=[exp.proc])
        _, _, expo = exp.scrape()
        t.check(exp.proc.alive(), "a bad configuration does not stop the exporter")
        t.check(kept_figures(expo) == before, "a bad configuration keeps the figures")
        t.check(set(usage_reports(expo)) == {"kept", "removed", "changed"}, "a bad configuration keeps every report",
                usage_reports(expo))
        t.check(log_lines(exp, "syntax error") or log_lines(exp, "exporter.conf:"),
                "the configuration error is logged with its file and line")

        # 2. a valid file the exporter cannot apply: a listen address already taken
        busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        busy.bind((harness.LOOPBACK, 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        with open(exp.config_path, "w", encoding="utf-8") as f:
            f.write(harness.exporter_config(taken, sim.url, farm_ids, [KEPT]))
        os.kill(exp.proc.pid, signal.SIGHUP)
        harness.wait_for("the second rejected reload", lambda: len(log_lines(exp, "op=reload status=rejected")) >= 2,
                         20, alive=[exp.proc])
        busy.close()
        _, _, expo = exp.scrape()
        t.check(set(usage_reports(expo)) == {"kept", "removed", "changed"},
                "an address in use rejects the reload and keeps every report", usage_reports(expo))

        # 3. a good configuration: kept stays (figures and schedule), removed goes, changed restarts, added comes
        scraper = Scraper(exp, before)
        scraper.start()
        reload_at = time.time()
        write_config(exp, sim, farm_ids, [KEPT, CHANGED_AFTER, ADDED])
        os.kill(exp.proc.pid, signal.SIGHUP)
        harness.wait_for("the applied reload", lambda: log_lines(exp, "op=reload status=ok"), 20, alive=[exp.proc])

        def new_reports_up():
            _, _, e = exp.scrape()
            for f in farm_ids:
                for name in ("changed", "added"):
                    key = {"farm_id": f, "report": name}
                    ts = e.value("deadline_cloud_exporter_report_last_success_timestamp_seconds", key)
                    if e.value("deadline_cloud_exporter_report_up", key) != 1 or ts is None or ts < int(reload_at):
                        return None
            return e

        expo = harness.wait_for("the changed and added reports refreshed", new_reports_up, 120, interval=0.5,
                                alive=[exp.proc])
        time.sleep(1.0)
        scraper.stop.set()
        scraper.join(10)
        t.check(not scraper.problems, "%d scrapes during the reload all parsed and showed the kept report whole"
                % scraper.scrapes, *scraper.problems[:5])
        reports = usage_reports(expo)
        t.check("removed" not in reports, "the removed report's figures are gone", reports)
        t.check(not expo.series("deadline_cloud_exporter_report_up", report="removed"),
                "the removed report's health series are gone")
        t.check(kept_figures(expo) == before, "the kept report keeps its figures")
        for f in farm_ids:
            key = {"farm_id": f, "report": "kept"}
            t.check(expo.value("deadline_cloud_exporter_report_last_success_timestamp_seconds", key) == last_kept[f],
                    "the kept report keeps its schedule (no refresh before its 1h interval) for %s" % f)
        changed = expo.series(harness.USAGE_SESSIONS, report="changed")
        t.check(changed and all("instance_type" in s.labels and "usage_type" not in s.labels for s in changed),
                "the changed report shows its new grouping only")
        t.check(expo.series(harness.USAGE_SESSIONS, report="added"), "the added report has figures")

        # 4. POST /-/reload: 403 without web.enable_lifecycle, 405 for GET; with it, 200 when applied, 400 with
        # the reasons when rejected (the running configuration stays); behind basic auth like /metrics.
        r = harness.http_request(exp.port, "POST", "/-/reload")
        t.check(r.status == 403, "POST /-/reload without web.enable_lifecycle: 403", r.status)
        r = harness.http_request(exp.port, "GET", "/-/reload")
        t.check(r.status == 405 and r.headers.get("allow") == "POST", "GET /-/reload: 405, Allow: POST", r.status,
                r.headers.get("allow"))
        oks = len(log_lines(exp, "op=reload status=ok"))
        write_lifecycle_config(exp, sim, farm_ids, [KEPT, CHANGED_AFTER, ADDED])
        os.kill(exp.proc.pid, signal.SIGHUP)
        harness.wait_for("web.enable_lifecycle applied", lambda: len(log_lines(exp, "op=reload status=ok")) > oks,
                         20, alive=[exp.proc])
        oks = len(log_lines(exp, "op=reload status=ok"))
        r = harness.http_request(exp.port, "POST", "/-/reload", timeout=30)
        t.check(r.status == 200, "POST /-/reload with web.enable_lifecycle: 200", r.status, r.body[:200])
        t.check(len(log_lines(exp, "op=reload status=ok")) == oks + 1, "the reload was done and logged")
        t.check(log_lines(exp, "from=http"), "the log tells a reload asked over HTTP")
        with open(exp.config_path, "w", encoding="utf-8") as f:
            f.write("web = { listen = \"127.0.0.1:%d\"; enable_lifecycle = true; }\nfarms = ( oops\n" % exp.port)
        r = harness.http_request(exp.port, "POST", "/-/reload", timeout=30)
        t.check(r.status == 400 and b"exporter.conf:" in r.body, "a bad configuration: 400 with the reasons",
                r.status, r.body[:200])
        _, _, expo = exp.scrape()
        t.check(set(usage_reports(expo)) == {"kept", "changed", "added"}, "rejected over HTTP: every report stays",
                usage_reports(expo))
        write_lifecycle_config(exp, sim, farm_ids, [KEPT, CHANGED_AFTER, ADDED])
        check_at_once(t, exp)
        write_lifecycle_config(exp, sim, farm_ids, [KEPT, CHANGED_AFTER, ADDED], users=True)
        r = harness.http_request(exp.port, "POST", "/-/reload", timeout=30)
        t.check(r.status == 200, "POST /-/reload applying basic auth: 200", r.status, r.body[:200])
        r = harness.http_request(exp.port, "POST", "/-/reload")
        t.check(r.status == 401, "POST /-/reload without credentials under basic auth: 401", r.status)
        r = harness.http_request(exp.port, "GET", "/-/reload")
        t.check(r.status == 401, "GET /-/reload without credentials under basic auth: 401", r.status)
        r = harness.http_request(exp.port, "POST", "/-/reload", headers=CREDENTIALS, timeout=30)
        t.check(r.status == 200, "POST /-/reload with credentials: 200", r.status, r.body[:200])
        # Moving to another address: the answer still comes back over the old one, then the new one serves.
        old_port, exp.port = exp.port, harness.free_port()
        write_lifecycle_config(exp, sim, farm_ids, [KEPT, CHANGED_AFTER, ADDED])
        r = harness.http_request(old_port, "POST", "/-/reload", headers=CREDENTIALS, timeout=30)
        t.check(r.status == 200, "POST /-/reload moving to a new port: 200 over the old one", r.status, r.body[:200])
        _, _, expo = exp.scrape()
        t.check(set(usage_reports(expo)) == {"kept", "changed", "added"}, "the new port serves every report",
                usage_reports(expo))

        # 5. SIGTERM stops it quickly and cleanly, even in the middle of a refresh
        write_config(exp, sim, farm_ids, [KEPT, CHANGED_AFTER, ADDED,
                                          Report("slow", ["JOB_ID"], ["SUM"], window="7d", interval="10s")])
        os.kill(exp.proc.pid, signal.SIGHUP)
        time.sleep(0.3)
        began = time.monotonic()
        status = exp.proc.stop(timeout=10)
        took = time.monotonic() - began
        t.check(status == 0, "SIGTERM: exit status 0", status)
        t.check(took < 5.0, "SIGTERM: stopped in %.2fs (< 5s)" % took)

        # 6. start-up refusals
        check_start_refused(t, sim, farm_ids)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
