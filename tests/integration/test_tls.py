#!/usr/bin/env python3
"""test_tls: HTTPS as AWS serves it: aws.ca_file trusted, bad certificates refused before any request, HTTPS_PROXY.

Every refusal is checked on both sides: the exporter logs why (the certificate problem, in libcurl's words), and
the simulator's request log stays empty: the TLS handshake failed, so no request (and no signature) left.
"""

import os
import re
import select
import socket
import socketserver
import sys
import threading
import time

import harness

REPORT = harness.Report("usage", ["USAGE_TYPE"], statistics=["SUM"], interval="10s")

# cert (pki.py) -> what libcurl (OpenSSL) says about it
REFUSALS = {
    "untrusted": r"SSL certificate problem: (unable to get local issuer certificate|self[- ]signed certificate in "
                 r"certificate chain)",
    "wrong_host": r"no alternative certificate subject name matches target host name '127\.0\.0\.1'",
    "expired": r"SSL certificate problem: certificate has expired",
}


class ConnectProxy:
    """An HTTPS proxy on 127.0.0.1: CONNECT to a loopback port, then bytes both ways; records every target."""

    def __init__(self):
        self.targets = []
        self.refused = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = self.request.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                m = re.fullmatch(r"CONNECT (127\.0\.0\.1|localhost):(\d+) HTTP/1\.[01]", line)
                if not m:
                    with proxy.lock:
                        proxy.refused.append(line)
                    self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
                with proxy.lock:
                    proxy.targets.append("%s:%s" % (m.group(1), m.group(2)))
                try:
                    upstream = socket.create_connection((harness.LOOPBACK, int(m.group(2))), timeout=10)
                except OSError:
                    self.request.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    return
                with upstream:
                    self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    rest = head.split(b"\r\n\r\n", 1)[1]
                    if rest:
                        upstream.sendall(rest)
                    self._pipe(self.request, upstream)

            @staticmethod
            def _pipe(a, b):
                peers = {a: b, b: a}
                while True:
                    readable, _, _ = select.select(list(peers), [], [], 120)
                    if not readable:
                        return
                    for s in readable:
                        try:
                            data = s.recv(65536)
                        except OSError:
                            return
                        if not data:
                            return
                        peers[s].sendall(data)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server((harness.LOOPBACK, 0), Handler)
        self.url = "http://%s:%d" % (harness.LOOPBACK, self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def seen(self):
        with self.lock:
            return list(self.targets), list(self.refused)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Run:
    """One exporter against one simulator, with its own configuration and environment."""

    def __init__(self, t, name, sim, farm, env=None, ca_file=None):
        self.t, self.name, self.farm = t, name, farm
        self.port = harness.free_port()
        self.config = os.path.join(t.workdir, name + ".conf")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(harness.exporter_config(self.port, sim.url, [farm], [REPORT], ca_file=ca_file))
        self.proc = harness.Process(name, [harness.env_path("EXPORTER"), "--config", self.config], t.workdir,
                                    env=harness.hermetic_env(t.workdir, env))

    def log(self):
        with open(self.proc.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout=60):
        return harness.wait_for("%s: a log line /%s/" % (self.name, pattern),
                                lambda: re.search(pattern, self.log()), timeout, alive=[self.proc])

    def report_up(self):
        r = harness.http_request(self.port, "GET", "/metrics", timeout=5)
        if r.status != 200:
            return None
        expo = harness.parse_exposition(r.body.decode("utf-8"))
        return expo.value("deadline_cloud_exporter_report_up", {"farm_id": self.farm, "report": REPORT.name})

    def wait_up(self, timeout=90):
        harness.wait_for("%s: report_up = 1" % self.name, lambda: self.report_up() == 1, timeout, alive=[self.proc])

    def stop(self):
        status = self.proc.stop()
        self.t.check(status == 0, "%s: the exporter stops cleanly" % self.name, status)


def refused(t, name, sim, farm, pattern, env=None, ca_file=None):
    """The exporter must refuse sim's certificate with a log line matching pattern, and send it no request."""
    run = Run(t, name, sim, farm, env, ca_file)
    m = run.wait_log(r"farm=\S+ op=\S+ [^\n]*error=\"[^\n]*(%s)[^\n]*" % pattern)
    t.ok("%s: refused with the log line: %s" % (name, m.group(0)))
    # a second try (the retries) has had time to be refused the same way, and still nothing arrived
    time.sleep(2)
    t.check(sim.proc.alive(), "%s: the simulator is serving" % name)
    t.check(sim.request_log_entries() == [], "%s: no request reached the simulator" % name,
            len(sim.request_log_entries()))
    t.check(run.report_up() == 0, "%s: report_up is 0" % name, run.report_up())
    run.stop()


def main():
    with harness.Test("tls") as t:
        if not harness.default_tls():
            raise harness.Skip("HTTPS is off (DCE_TEST_TLS=0 or no python3-cryptography)")
        good = harness.Simulator(t.workdir, "--aggregation-delay", "50", "--quiet", request_log=True,
                                 name="sim-good")
        farm = good.farms()[-1]["farmId"]
        bad = {cert: harness.Simulator(t.workdir, "--quiet", cert=cert, request_log=True, name="sim-" + cert)
               for cert in REFUSALS}

        # aws.ca_file is what makes the test CA trusted: without it, the same good server is refused
        refused(t, "no-ca-file", good, farm, REFUSALS["untrusted"], ca_file=False)
        run = Run(t, "ca-file", good, farm)
        run.wait_up()
        n = len(good.request_log_entries())
        t.check(n > 0, "ca-file: with aws.ca_file the exporter's requests reach the simulator over HTTPS", n)
        run.stop()

        for cert, pattern in REFUSALS.items():
            refused(t, cert.replace("_", "-"), bad[cert], farm, pattern)

        proxy = ConnectProxy()
        try:
            through = {"HTTPS_PROXY": proxy.url, "https_proxy": proxy.url, "NO_PROXY": "", "no_proxy": ""}
            before = len(good.request_log_entries())
            run = Run(t, "proxy", good, farm, through)
            run.wait_up()
            targets, others = proxy.seen()
            host = "127.0.0.1:%d" % good.port
            t.check(targets and set(targets) == {host}, "proxy: every connection went through CONNECT %s" % host,
                    targets)
            t.check(not others, "proxy: nothing but CONNECT was asked of the proxy", others)
            t.check(len(good.request_log_entries()) > before, "proxy: the requests reached the simulator")
            run.stop()

            # through the proxy, the certificate is still the simulator's and still verified end to end
            bad_sim = bad["untrusted"]
            n_targets = len(proxy.seen()[0])
            refused(t, "proxy-untrusted", bad_sim, farm, REFUSALS["untrusted"], through)
            targets = proxy.seen()[0][n_targets:]
            t.check("127.0.0.1:%d" % bad_sim.port in targets,
                    "proxy-untrusted: the connection went through the proxy, and was refused all the same", targets)

            # NO_PROXY bypasses it
            n_targets = len(proxy.seen()[0])
            before = len(good.request_log_entries())
            run = Run(t, "no-proxy", good, farm, dict(through, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1"))
            run.wait_up()
            t.check(len(proxy.seen()[0]) == n_targets, "no-proxy: NO_PROXY=127.0.0.1 bypasses the proxy",
                    proxy.seen()[0][n_targets:])
            t.check(len(good.request_log_entries()) > before, "no-proxy: the requests reached the simulator directly")
            run.stop()
        finally:
            proxy.close()
    return t.status


if __name__ == "__main__":
    sys.exit(main())
