#!/usr/bin/env python3
"""test_check_config: --check-config and start-up agree on every configuration file: one a check accepts
starts (and stops cleanly on SIGTERM), one it refuses is refused at start with exit status 1. No network:
the exporter listens on 127.0.0.1:0 and its endpoint is a loopback port where nothing listens."""

import glob
import os
import signal
import subprocess
import sys
import time

import harness

FARMS = 'farms = ( { id = "farm-0123456789abcdef0123456789abcdef"; } );\n'
REPORTS = 'reports = ( { name = "m"; window = "month"; group_by = [ "QUEUE_ID" ]; } );\n'
HASH = "$2y$06$lpSB3KllYjBNEoh4Eyh.tuU4/tzUnPsgNIdHuDjq9RUbVP9GVQRVC"
FARM = 'farms = ( { id = "farm-0123456789abcdef0123456789abcdef"; %s } );\n'
TWO_LISTS = FARM % ('queues = [ "queue-%s" ]; fleets = [ "fleet-%s" ];' % ("0" * 32, "0" * 32))
ROLE = "arn:aws:iam::111122223333:role/deadline-exporter"


def report(extra, window="month"):
    """One report by job and usage type with extra settings."""
    return ('reports = ( { name = "r"; window = "%s"; group_by = [ "JOB_ID", "USAGE_TYPE" ]; %s } );\n'
            % (window, extra))


def rule(settings):
    """labels with one rule (default given)."""
    return 'labels = ( { %s default = "unknown"; } );' % settings
START_TIMEOUT = 30.0


def web_data(name):
    return os.path.join(os.environ["SOURCE_ROOT"], "tests", "data", "web", name)


def written_cases():
    """(name, text, accepted): one setting each, the drift of the issue first."""
    cert, key, key2 = web_data("server.pem"), web_data("server-key.pem"), web_data("server2-key.pem")
    tls = 'web = { tls_cert_file = "%s"; tls_key_file = "%s"; };\n'
    return [
        ("drift-endpoint-query", 'aws = { region = "us-west-2"; endpoint_url = "https://example.com/x?y#z"; };\n'
         + FARMS + REPORTS, False),
        ("endpoint-fragment", 'aws = { endpoint_url = "http://127.0.0.1:1#z"; };\n' + FARMS + REPORTS, False),
        ("endpoint-no-host", 'aws = { endpoint_url = "http://:1"; };\n' + FARMS + REPORTS, False),
        ("endpoint-upper-scheme", 'aws = { endpoint_url = "HTTP://127.0.0.1:1"; };\n' + FARMS + REPORTS, True),
        ("region-digit", 'aws = { region = "2-west"; };\n' + FARMS + REPORTS, False),
        ("region-ok", 'aws = { region = "eu-west-3"; };\n' + FARMS + REPORTS, True),
        ("ca-file-missing", 'aws = { ca_file = "/nonexistent/ca.pem"; };\n' + FARMS + REPORTS, False),
        ("ca-file-ok", 'aws = { ca_file = "%s"; };\n' % web_data("ca.pem") + FARMS + REPORTS, True),
        ("tls-ok", tls % (cert, key) + FARMS + REPORTS, True),
        ("tls-cert-not-pem", tls % (key, key) + FARMS + REPORTS, False),
        ("tls-key-not-pem", tls % (cert, cert) + FARMS + REPORTS, False),
        ("tls-key-of-another-cert", tls % (cert, key2) + FARMS + REPORTS, False),
        ("tls-cert-empty-file", tls % ("/dev/null", key) + FARMS + REPORTS, False),
        ("auth-ok", 'web = { basic_auth_users = ( { user = "p"; password_hash = "%s"; } ); };\n' % HASH
         + FARMS + REPORTS, True),
        ("auth-bad-hash", 'web = { basic_auth_users = ( { user = "p"; password_hash = "%s"; } ); };\n'
         % HASH[:-1] + FARMS + REPORTS, False),
        ("listen-bad", 'web = { listen = "localhost"; };\n' + FARMS + REPORTS, False),
        # version 3: each new key once accepted and once refused
        ("counter-ok", FARMS + report('counter = true;'), True),
        ("counter-rolling", FARMS + report('counter = true;', window="7d"), False),
        ("counter-without-sum", FARMS + report('counter = true; statistics = [ "AVG", "MAX" ];'), False),
        ("counter-with-limit", FARMS + report('counter = true; limit = 10;'), False),
        ("labels-ok", FARMS + report(rule('label = "show"; source = "job_name"; regex = "([a-z]+)_.*";')
                                     + ' keep = [ "USAGE_TYPE" ];'), True),
        ("labels-backreference", FARMS + report(rule('label = "show"; source = "job_name"; regex = "(a)\\\\1";')),
         False),
        ("labels-lookahead", FARMS + report(rule('label = "show"; source = "job_name"; regex = "(?=a).*";')), False),
        ("labels-own-label", FARMS + report(rule('label = "usage_type"; source = "job_name";')), False),
        ("labels-queue-name-without-inventory", FARMS + report(rule('label = "p"; source = "queue_name";'))
         + 'inventory = { enabled = false; };\n', False),
        ("labels-with-limit", FARMS + report(rule('label = "show"; source = "job_name";') + ' limit = 5;'), False),
        ("resources-auto-two-lists", TWO_LISTS + REPORTS, False),
        ("resources-queues-two-lists", TWO_LISTS + report('resources = "queues";'), True),
        ("activity-ok", FARMS + REPORTS + 'activity = { enabled = true; interval = "30s"; jobs = 0; };\n', True),
        ("activity-jobs", FARMS + REPORTS + 'activity = { jobs = 10001; };\n', False),
        ("role-ok", FARM % ('role_arn = "%s"; external_id = "ab";' % ROLE) + REPORTS, True),
        ("role-bad", FARM % 'role_arn = "arn:aws:iam::1:role/x";' + REPORTS, False),
        ("external-id-without-role", FARM % 'external_id = "ab";' + REPORTS, False),
    ]


def check_config(env, path, workdir):
    p = subprocess.run([harness.env_path("EXPORTER"), "--check-config", "-c", path], env=env, cwd=workdir,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def start(env, path, workdir, name):
    """Starts the exporter: (exit status, log) when it stops by itself, else (None, log) once it serves (then
    SIGTERM; the status of that stop is checked by the caller through the returned 'stopped' value)."""
    log_path = os.path.join(workdir, name + ".log")
    with open(log_path, "wb") as log:
        p = subprocess.Popen([harness.env_path("EXPORTER"), "-c", path, "--listen", harness.LOOPBACK + ":0"],
                             env=env, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + START_TIMEOUT
    served = False
    while time.time() < deadline:
        if p.poll() is not None:
            break
        with open(log_path, "rb") as f:
            if b"op=start status=ok" in f.read():
                served = True
                break
        time.sleep(0.05)
    stopped = None
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            stopped = p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            stopped = "killed"
    with open(log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    return (None if served else p.returncode), stopped, text


def main():
    with harness.Test("check_config") as t:
        # Nothing listens on this port: the poller's first request is refused on loopback, never sent away.
        nowhere = "http://%s:%d" % (harness.LOOPBACK, harness.free_port())
        env = harness.hermetic_env(t.workdir, {"AWS_ENDPOINT_URL_DEADLINE": nowhere, "AWS_ENDPOINT_URL": nowhere})
        data = os.path.join(os.environ["SOURCE_ROOT"], "tests", "data", "config")
        cases = [(os.path.basename(p), p, None) for p in sorted(glob.glob(os.path.join(data, "*.conf")))]
        cases.append(("example", os.path.join(os.environ["SOURCE_ROOT"], "config", "deadline-cloud-exporter.conf"),
                      True))
        for name, text, accepted in written_cases():
            path = os.path.join(t.workdir, name + ".conf")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            cases.append((name, path, accepted))

        for name, path, accepted in cases:
            if accepted is None:
                accepted = os.path.basename(path).startswith("good-")
            rc, out = check_config(env, path, t.workdir)
            t.check(rc == (0 if accepted else 1), "%s: --check-config exits %d" % (name, 0 if accepted else 1),
                    "got %s" % rc, out)
            status, stopped, text = start(env, path, t.workdir, name)
            if rc == 0:
                if t.check(status is None, "%s: accepted by --check-config, so it starts" % name,
                           "exit status %s" % status, text[-2000:]):
                    t.check(stopped == 0, "%s: exit status 0 on SIGTERM" % name, stopped)
            else:
                t.check(status == 1, "%s: refused by --check-config, so refused at start with status 1" % name,
                        "exit status %s" % status, text[-2000:])
            if rc in (0, 1) and (status is None) == (rc == 0):
                t.ok("%s: --check-config and start-up agree (%s)" % (name, "accepted" if rc == 0 else "refused"))
    return t.status


if __name__ == "__main__":
    sys.exit(main())
