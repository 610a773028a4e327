"""test_credentials: every credential provider against loopback fakes, refresh before expiry, precedence, errors."""

import os
import re
import stat
import sys
import time

import fake_aws
import harness
from harness import Failure

REPORT = harness.Report("usage", ["USAGE_TYPE"], statistics=["SUM"], interval="10s")
SECRET_MARK = "SECRET-THAT-MUST-NOT-LEAK"


def write(path, text, mode=0o600):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


class Case:
    """One exporter run with its own environment; the simulator must already accept the credentials to come."""

    def __init__(self, t, sim, farm, name, env=None, drop=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
                 region=True):
        self.t, self.sim, self.farm, self.name = t, sim, farm, name
        self.port = harness.free_port()
        config = harness.exporter_config(self.port, sim.url, [farm], [REPORT])
        if not region:
            config = config.replace('region = "%s"; ' % harness.REGION, "")
        self.config_path = write(os.path.join(t.workdir, name + ".conf"), config)
        full_env = harness.hermetic_env(t.workdir)
        for k in drop:
            full_env.pop(k, None)
        if not region:
            full_env.pop("AWS_REGION", None)
        full_env.update(env or {})
        self.proc = harness.Process(name, [harness.env_path("EXPORTER"), "--config", self.config_path], t.workdir,
                                    env=full_env)

    def up(self):
        """(report_up, last success) now, or (None, None) before the first refresh."""
        r = harness.http_request(self.port, "GET", "/metrics", timeout=5)
        if r.status != 200:
            return None, None
        expo = harness.parse_exposition(r.body.decode())
        key = {"farm_id": self.farm, "report": REPORT.name}
        return (expo.value("deadline_cloud_exporter_report_up", key),
                expo.value("deadline_cloud_exporter_report_last_success_timestamp_seconds", key))

    def failed_refreshes(self):
        """refresh_errors_total of the report, every kind."""
        r = harness.http_request(self.port, "GET", "/metrics", timeout=5)
        if r.status != 200:
            return 0
        expo = harness.parse_exposition(r.body.decode())
        return sum(s.value for s in expo.series("deadline_cloud_exporter_refresh_errors_total", farm_id=self.farm,
                                                report=REPORT.name))

    def wait_failed_refreshes(self, n, timeout=90):
        """Waits until n refreshes have failed in all."""
        return harness.wait_for("%s: %d failed refreshes" % (self.name, n), lambda: self.failed_refreshes() >= n,
                                timeout, interval=0.5, alive=[self.proc])

    def wait_up(self, timeout=60):
        return harness.wait_for("%s: report_up = 1" % self.name, lambda: self.up()[0] == 1, timeout,
                                alive=[self.proc])

    def log(self):
        with open(self.proc.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout=30):
        return harness.wait_for("%s: log line /%s/" % (self.name, pattern),
                                lambda: re.search(pattern, self.log()), timeout, alive=[self.proc])

    def stop(self):
        status = self.proc.stop(timeout=60)
        self.t.check(status == 0, "%s: the exporter stops cleanly" % self.name, status)
        text = self.log()
        self.t.check(SECRET_MARK not in text and "fake-secret-" not in text and "fake-session-token" not in text
                     and "web-identity-token-" not in text and "container-auth-token" not in text,
                     "%s: no secret, session token or web identity token in the log" % self.name)
        return text

    def provider_check(self, provider):
        self.wait_up()
        m = self.wait_log(r"op=credentials status=ok profile=\S+ provider=(\S+)")
        self.t.check(m.group(1) == provider, "%s: signs with the %s provider's credentials" % (self.name, provider),
                     m.group(0))

    def watch(self, seconds):
        """Scrapes every second for `seconds`: every scrape must show the report up."""
        end = time.monotonic() + seconds
        bad = []
        while time.monotonic() < end:
            up, _ = self.up()
            if up != 1:
                bad.append(up)
            time.sleep(1)
        self.t.check(not bad, "%s: report_up stayed 1 on every scrape for %ds" % (self.name, seconds), bad)


def sim_accept(sim, key, secret, token=None):
    fake_aws.set_simulator_credentials(sim.url, key, secret, token)


def test_profile_static(t, sim, farm):
    d = t.workdir
    write(os.path.join(d, "creds-static"), "[ops]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = %s-p\n"
          % SECRET_MARK)
    sim_accept(sim, "AKIDPROFILE", SECRET_MARK + "-p")
    c = Case(t, sim, farm, "profile-static", {"AWS_PROFILE": "ops",
                                               "AWS_SHARED_CREDENTIALS_FILE": os.path.join(d, "creds-static")})
    c.provider_check("profile")
    c.stop()


PROCESS_SCRIPT = r'''#!/usr/bin/env python3
import datetime, json, os, ssl, sys, time, urllib.request
count_file, sim_url, lifetime = sys.argv[1], sys.argv[2], int(sys.argv[3])
ca_file = sys.argv[4] if len(sys.argv) > 4 else None  # an HTTPS simulator's CA
n = int(open(count_file).read()) + 1 if os.path.exists(count_file) else 1
open(count_file, "w").write(str(n))
with open(count_file + ".log", "a") as f:
    f.write("%f %d\n" % (time.time(), lifetime))
key, secret, token = "AKIDPROC%04d" % n, "fake-secret-proc-%d" % n, "fake-session-token-proc-%d" % n
body = json.dumps({"accessKeyId": key, "secretAccessKey": secret, "sessionToken": token}).encode()
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                     urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca_file)))
opener.open(urllib.request.Request(sim_url + "/__sim/credentials", data=body, method="POST",
                                   headers={"Content-Type": "application/json"}), timeout=10).read()
print("chatter on stderr: fake-secret-should-not-appear", file=sys.stderr)
exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=lifetime)
print(json.dumps({"Version": 1, "AccessKeyId": key, "SecretAccessKey": secret, "SessionToken": token,
                  "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")}))
'''


def test_process_refresh(t, sim, farm):
    """credential_process with 30-second credentials: refreshed ahead of expiry, no scrape ever sees a failure."""
    d = t.workdir
    script = write(os.path.join(d, "cred process.py"), PROCESS_SCRIPT, 0o700)
    count = os.path.join(d, "process-count")
    # Quoted as the AWS CLI splits it: the script's path holds a space.
    write(os.path.join(d, "config-process"), "[profile proc]\ncredential_process = \"%s\" '%s' %s 30 '%s'\n"
          % (script, count, sim.url, harness.ca_file_for(sim.url) or ""))
    c = Case(t, sim, farm, "process", {"AWS_PROFILE": "proc", "AWS_CONFIG_FILE": os.path.join(d, "config-process")})
    c.provider_check("process")
    c.watch(45)
    with open(count + ".log") as f:
        runs = [float(line.split()[0]) for line in f]
    t.check(len(runs) >= 3, "process: 30-second credentials were refreshed (%d runs in ~45 s)" % len(runs), runs)
    early = all(b - a < 30 for a, b in zip(runs, runs[1:]))
    t.check(early, "process: each refresh came before the previous credentials expired",
            [round(b - a, 1) for a, b in zip(runs, runs[1:])])
    c.stop()


def test_assume_role(t, sim, farm, fake):
    d = t.workdir
    write(os.path.join(d, "creds-role"), "[src]\naws_access_key_id = AKIDSOURCE\naws_secret_access_key = %s-src\n"
          % SECRET_MARK)
    write(os.path.join(d, "config-role"), "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/exporter\n"
          "source_profile = src\nexternal_id = ext-123\nrole_session_name = render-node-7\n"
          "duration_seconds = 900\n")
    fake.signing_keys["AKIDSOURCE"] = (SECRET_MARK + "-src", None)  # the STS fake checks with botocore
    c = Case(t, sim, farm, "assume-role", {"AWS_PROFILE": "role", "AWS_CONFIG_FILE": os.path.join(d, "config-role"),
                                           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(d, "creds-role"),
                                           "AWS_ENDPOINT_URL_STS": fake.url})
    c.provider_check("profile")
    calls = fake.issued_of("sts-AssumeRole")
    calls = [x for x in calls if x["kind"] == "sts-AssumeRole"]
    t.check(calls, "assume-role: STS AssumeRole was called")
    if calls:
        det = calls[-1]["details"]
        auth = det.get("authorization") or ""
        t.check(re.match(r"AWS4-HMAC-SHA256 Credential=AKIDSOURCE/\d{8}/us-west-2/sts/aws4_request, "
                         r"SignedHeaders=\S*host\S*, Signature=[0-9a-f]{64}$", auth),
                "assume-role: signed with the source profile's keys for sts in us-west-2", auth)
        t.check(det.get("signature") == "valid", "assume-role: botocore computes the same AssumeRole signature",
                det.get("signature"))
        t.check((det.get("RoleArn"), det.get("ExternalId"), det.get("RoleSessionName"), det.get("DurationSeconds"))
                == ("arn:aws:iam::123456789012:role/exporter", "ext-123", "render-node-7", "900"),
                "assume-role: role_arn, external_id, role_session_name, duration_seconds sent", det)
    c.stop()


def test_profile_web_identity(t, sim, farm, fake):
    d = t.workdir
    token = write(os.path.join(d, "profile-token"), "web-identity-token-profile\n")
    write(os.path.join(d, "config-web"), "[default]\nrole_arn = arn:aws:iam::123456789012:role/web\n"
          "web_identity_token_file = %s\n" % token)
    c = Case(t, sim, farm, "profile-web-identity", {"AWS_CONFIG_FILE": os.path.join(d, "config-web"),
                                                    "AWS_ENDPOINT_URL_STS": fake.url})
    c.provider_check("profile")
    calls = fake.issued_of("sts-AssumeRoleWithWebIdentity")
    t.check(calls and calls[-1]["details"]["webIdentityToken"] == "web-identity-token-profile"
            and not calls[-1]["details"]["authorization"],
            "profile-web-identity: unsigned AssumeRoleWithWebIdentity with the file's token",
            calls[-1]["details"] if calls else None)
    c.stop()


def test_env_web_identity_rotation(t, sim, farm, fake):
    """Web identity from the environment, 30-second credentials, the token rotated on disk meanwhile."""
    d = t.workdir
    token = write(os.path.join(d, "k8s-token"), "web-identity-token-1")
    fake.lifetime = 30
    before = len(fake.issued_of("sts-AssumeRoleWithWebIdentity"))
    c = Case(t, sim, farm, "env-web-identity", {"AWS_WEB_IDENTITY_TOKEN_FILE": token,
                                                "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/irsa",
                                                "AWS_ROLE_SESSION_NAME": "irsa-session",
                                                "AWS_ENDPOINT_URL_STS": fake.url})
    c.provider_check("web-identity")
    # Kubernetes replaces the file (a new inode); the next refresh must send the new token.
    write(token + ".new", "web-identity-token-2")
    os.rename(token + ".new", token)
    c.watch(40)
    calls = fake.issued_of("sts-AssumeRoleWithWebIdentity")[before:]
    tokens = [x["details"]["webIdentityToken"] for x in calls]
    t.check(tokens and tokens[0] == "web-identity-token-1" and tokens[-1] == "web-identity-token-2",
            "env-web-identity: refreshed before expiry with the rotated token", tokens)
    t.check(all(x["details"].get("RoleSessionName") == "irsa-session" for x in calls),
            "env-web-identity: AWS_ROLE_SESSION_NAME sent")
    fake.lifetime = 3600
    c.stop()


def test_container(t, sim, farm, fake):
    d = t.workdir
    fake.container_token = "container-auth-token-1"
    token_file = write(os.path.join(d, "container-token"), "container-auth-token-1\n")
    c = Case(t, sim, farm, "container", {"AWS_CONTAINER_CREDENTIALS_FULL_URI": fake.url + "/container/creds",
                                         "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": token_file})
    c.provider_check("container")
    # Keys replaced behind the exporter's back: the service answers ExpiredTokenException, the exporter
    # invalidates, fetches again and retries, and the report stays up.
    fake.container_token = "container-auth-token-2"
    write(token_file, "container-auth-token-2\n")
    n = len(fake.issued_of("container"))
    fake.issue("container")
    _, last = c.up()
    harness.wait_for("container: a refresh after the keys were replaced",
                     lambda: (c.up()[1] or 0) > (last or 0), 40, alive=[c.proc])
    t.check(c.up()[0] == 1, "container: recovered from ExpiredTokenException with fresh container credentials")
    t.check(len(fake.issued_of("container")) >= n + 2, "container: the endpoint was asked again (token re-read)")
    fake.container_token = None
    c.stop()


def test_imds(t, sim, farm, fake):
    """IMDSv2 for credentials and for the region (none configured anywhere else)."""
    c = Case(t, sim, farm, "imds", {"AWS_EC2_METADATA_DISABLED": "false",
                                    "AWS_EC2_METADATA_SERVICE_ENDPOINT": fake.url + "/"}, region=False)
    c.provider_check("imds")
    with fake.lock:
        reqs = [(m, p, h) for m, p, h, _ in fake.requests]
    puts = [h for m, p, h in reqs if m == "PUT" and p == "/latest/api/token"]
    t.check(puts and all(h.get("x-aws-ec2-metadata-token-ttl-seconds") for h in puts),
            "imds: session token asked with PUT and a TTL header")
    t.check(any(p == "/latest/meta-data/placement/region" for _, p, _ in reqs), "imds: region read from IMDS")
    t.check("region=us-west-2" in c.log(), "imds: the region came from instance metadata")
    c.stop()


def test_systemd(t, sim, farm):
    d = os.path.join(t.workdir, "credentials-directory")
    os.mkdir(d, 0o700)
    write(os.path.join(d, "aws-credentials"), "[default]\naws_access_key_id = AKIDSYSTEMD\n"
          "aws_secret_access_key = %s-sd\n" % SECRET_MARK)
    sim_accept(sim, "AKIDSYSTEMD", SECRET_MARK + "-sd")
    c = Case(t, sim, farm, "systemd", {"CREDENTIALS_DIRECTORY": d})
    c.provider_check("systemd")
    c.stop()


def test_precedence(t, sim, farm, fake):
    """environment > profile > container > IMDS: each removed in turn."""
    d = t.workdir
    write(os.path.join(d, "creds-prec"), "[default]\naws_access_key_id = AKIDPREC\naws_secret_access_key = %s-prec\n"
          % SECRET_MARK)
    env = {"AWS_ACCESS_KEY_ID": "AKIDENVPREC", "AWS_SECRET_ACCESS_KEY": SECRET_MARK + "-env",
           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(d, "creds-prec"),
           "AWS_CONTAINER_CREDENTIALS_FULL_URI": fake.url + "/container/creds",
           "AWS_EC2_METADATA_DISABLED": "false", "AWS_EC2_METADATA_SERVICE_ENDPOINT": fake.url}
    order = [("environment", ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")),
             ("profile", ("AWS_SHARED_CREDENTIALS_FILE",)),
             ("container", ("AWS_CONTAINER_CREDENTIALS_FULL_URI",)),
             ("imds", ())]
    for provider, remove in order:
        if provider == "environment":
            sim_accept(sim, "AKIDENVPREC", SECRET_MARK + "-env")
        elif provider == "profile":
            sim_accept(sim, "AKIDPREC", SECRET_MARK + "-prec")
        c = Case(t, sim, farm, "precedence-" + provider, dict(env),
                 drop=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SHARED_CREDENTIALS_FILE"))
        c.provider_check(provider)
        c.stop()
        for k in remove:
            env.pop(k, None)
        if provider == "profile":
            env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(d, "no-such-file")


def test_errors(t, sim, farm, fake):
    """Each misconfiguration: one error line naming the provider and what is wrong; never a secret."""
    d = t.workdir
    write(os.path.join(d, "config-norole"), "[profile broken]\nrole_arn = arn:aws:iam::123456789012:role/x\n")
    fail = write(os.path.join(d, "failing-process"), "#!/bin/sh\necho '{\"Version\":1,\"AccessKeyId\":\"A\","
                 "\"SecretAccessKey\":\"%s\"}'\necho %s >&2\nexit 2\n" % (SECRET_MARK, SECRET_MARK), 0o700)
    write(os.path.join(d, "config-failproc"), "[default]\ncredential_process = %s\n" % fail)
    cases = [
        ("half-env", {"AWS_SECRET_ACCESS_KEY": SECRET_MARK}, r"environment: AWS_SECRET_ACCESS_KEY is set but "
                                                              r"AWS_ACCESS_KEY_ID is not"),
        ("missing-profile", {"AWS_PROFILE": "nope"}, r"profile: profile nope is not in \S+no-aws-config and "),
        ("role-no-source", {"AWS_PROFILE": "broken", "AWS_CONFIG_FILE": os.path.join(d, "config-norole")},
         r"profile: profile broken has role_arn but no source_profile, credential_source"),
        ("process-fails", {"AWS_CONFIG_FILE": os.path.join(d, "config-failproc")},
         r"profile: credential_process \S+failing-process exited with status 2"),
        ("container-uri", {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://10.1.2.3/creds"},
         r"container: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback address"),
        ("web-token-missing", {"AWS_WEB_IDENTITY_TOKEN_FILE": os.path.join(d, "no-token"),
                               "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/x", "AWS_ENDPOINT_URL_STS": fake.url},
         r"web-identity: cannot read the web identity token file \S+no-token"),
        ("role-only-env", {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/x"},
         r"web-identity: AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not"),
    ]
    for name, env, pattern in cases:
        c = Case(t, sim, farm, "error-" + name, env)
        m = c.wait_log(r"(error|<3>)\S* .*op=credentials status=error .*", 30)
        line = m.group(0)
        t.check(re.search(pattern, line), "%s: the error line says what is wrong" % name, line)
        # Two more refresh attempts: the same failure is not logged again at error level.
        c.wait_failed_refreshes(c.failed_refreshes() + 2)
        errors = [l for l in c.log().splitlines() if "op=credentials status=error" in l and l.startswith("error")]
        t.check(len(errors) == 1, "%s: one error line for the misconfiguration" % name, errors)
        up, _ = c.up()
        t.check(up == 0, "%s: report_up is 0 without credentials" % name, up)
        c.stop()

    # STS refusing AssumeRole: the error carries STS's code, the exporter keeps running.
    fake.sts_fail = (403, "AccessDenied")
    write(os.path.join(d, "creds-denied"), "[s]\naws_access_key_id = AKIDS\naws_secret_access_key = %s\n"
          % SECRET_MARK)
    write(os.path.join(d, "config-denied2"), "[default]\nrole_arn = arn:aws:iam::123456789012:role/denied\n"
          "source_profile = s\n")
    c = Case(t, sim, farm, "error-sts-denied", {"AWS_CONFIG_FILE": os.path.join(d, "config-denied2"),
                                                "AWS_SHARED_CREDENTIALS_FILE": os.path.join(d, "creds-denied"),
                                                "AWS_ENDPOINT_URL_STS": fake.url})
    m = c.wait_log(r"op=credentials status=error .*", 30)
    t.check(re.search(r"profile: AssumeRole arn:aws:iam::123456789012:role/denied: STS refused \(HTTP 403 "
                      r"AccessDenied", m.group(0)), "sts-denied: the error names the role and STS's code", m.group(0))
    fake.sts_fail = None
    c.stop()


def main():
    with harness.Test("credentials") as t:
        sim = harness.Simulator(t.workdir, "--aggregation-delay", "50", "--quiet")
        farm = sim.farms()[-1]["farmId"]
        fake = fake_aws.FakeAWS(sim.url)
        try:
            test_profile_static(t, sim, farm)
            test_systemd(t, sim, farm)
            test_assume_role(t, sim, farm, fake)
            test_profile_web_identity(t, sim, farm, fake)
            test_container(t, sim, farm, fake)
            test_imds(t, sim, farm, fake)
            test_precedence(t, sim, farm, fake)
            test_errors(t, sim, farm, fake)
            test_process_refresh(t, sim, farm)
            test_env_web_identity_rotation(t, sim, farm, fake)
        finally:
            fake.close()
    return t.status


if __name__ == "__main__":
    sys.exit(main())
