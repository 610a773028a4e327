#!/usr/bin/env python3
"""test_refused: an endpoint that refuses connections: no crash, report_up 0, transport errors counted, bounded
retries, /-/ready once each report has tried, and figures as soon as the endpoint comes back."""

import socket
import sys
import time

import harness
from harness import Report

REPORT = Report("cost", ["QUEUE_ID"], ["SUM"], window="month", interval="10s")
NO_INVENTORY = "inventory = { enabled = false; };\n"


class Refusing:
    """A loopback port with nothing listening: bound, never listened on, so connections are refused."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((harness.LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        self.url = "http://%s:%d" % (harness.LOOPBACK, self.port)


def main():
    with harness.Test("refused") as t:
        sim = harness.Simulator(t.workdir, "--aggregation-delay", "50", "--quiet")
        farm = sim.farms()[2]["farmId"]
        refusing = Refusing()
        # the inventory off: its listings would be refused and retried too, beside the report's (the bound
        # below counts one report's attempts)
        exp = harness.Exporter(t.workdir, refusing, [farm], [REPORT], extra_config=NO_INVENTORY)
        exp.wait_ready(timeout=120)
        t.ok("/-/ready once the first (failed) refresh attempt finished")
        key = {"farm_id": farm, "report": REPORT.name}

        def second_failure():
            # a second failed refresh, after the failed-refresh backoff
            _, _, expo = exp.scrape()
            n = expo.value("deadline_cloud_exporter_refresh_errors_total", dict(key, kind="transport")) or 0
            return expo if n >= 2 else None
        expo = harness.wait_for("a second refused refresh (refresh_errors_total{kind=transport} = 2)",
                                second_failure, 90, interval=0.5, alive=[exp.proc])
        t.check(expo.value("deadline_cloud_exporter_report_up", key) == 0, "report_up is 0 while refused")
        errors = expo.value("deadline_cloud_exporter_refresh_errors_total", dict(key, kind="transport")) or 0
        t.check(errors >= 2, "refresh_errors_total{kind=transport} counts the refused refreshes", errors)
        sent = sum(s.value for s in expo.series("deadline_cloud_exporter_api_requests_total", code="error"))
        elapsed = time.time() - exp.started_at
        t.check(0 < sent <= 5 * (elapsed / 7.5 + 1),
                "%d refused requests in %.0f s: bounded by 5 attempts per refresh and the failed-refresh backoff"
                % (sent, elapsed), sent)
        t.check(not expo.series(harness.USAGE_COST), "no figures while the endpoint refuses")
        t.check(exp.request("GET", "/-/healthy").status == 200, "/-/healthy stays 200")

        # The endpoint comes back (a reload to the simulator's address): figures follow.
        with open(exp.config_path, "w", encoding="utf-8") as f:
            f.write(harness.exporter_config(exp.port, sim.url, [farm], [REPORT], extra=NO_INVENTORY))
        exp.proc.popen.send_signal(harness.signal.SIGHUP)
        expo = exp.wait_all_up(timeout=120)
        t.check(expo.series(harness.USAGE_COST, farm_id=farm), "figures once the endpoint answers")
        t.check(exp.stop() == 0, "exit status 0 on SIGTERM")
    return t.status


if __name__ == "__main__":
    sys.exit(main())
