#!/usr/bin/env python3
"""test_dynamic_user: the files a configuration names, as the systemd unit's dynamic user sees them.

The unit runs the exporter as a dynamic user (DynamicUser=yes): a uid that owns nothing and is in no group, so
only the "others" bits let it in. Here a process of another uid (65532, through setpriv) plays that user:
it reproduces the refusal of a configuration in a 0700 folder that root's own check accepts, and the test
checks that --check-config run as root now warns about exactly the files that user cannot read (the
configuration, aws.ca_file, web.tls_cert_file, web.tls_key_file unless systemd hands it over), and about
nothing in the layout docs/credentials.md gives. Needs root to switch users: tests/run-tests.sh leaves the
`root` suite out for another user and says so."""

import os
import shutil
import subprocess
import sys
import tempfile

import harness

SERVICE_UID = 65532  # the container image's user; any uid that owns none of these files plays the dynamic user
FARMS = 'farms = ( { id = "farm-0123456789abcdef0123456789abcdef"; } );\n'
REPORTS = 'reports = ( { name = "m"; window = "month"; group_by = [ "QUEUE_ID" ]; } );\n'
WARNING = "the systemd unit's dynamic user could not read"


def web_data(name):
    return os.path.join(os.environ["SOURCE_ROOT"], "tests", "data", "web", name)


def sanitizer_env(env):
    """Sanitizer options without their log files, which the other uid could not create."""
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if name in env:
            env[name] = ":".join(o for o in env[name].split(":") if not o.startswith("log_path="))
    return env


class Tree:
    """A tree in /run (not /tmp, which the unit's PrivateTmp=yes hides: that would be the only warning)."""

    def __init__(self, t):
        self.base = tempfile.mkdtemp(prefix="dce-dynamic-user-", dir="/run")
        os.chmod(self.base, 0o755)
        # The exporter is run from a copy in the tree: the build directory's folders need not be open to others.
        bindir = self.mkdir("bin", 0o755)
        self.exporter = os.path.join(bindir, "deadline_cloud_exporter")
        shutil.copy(os.environ.get("EXPORTER_BINARY") or harness.env_path("EXPORTER"), self.exporter)
        os.chmod(self.exporter, 0o755)
        self.env = harness.hermetic_env(t.workdir)

    def path(self, *parts):
        return os.path.join(self.base, *parts)

    def mkdir(self, name, mode):
        p = self.path(name)
        os.makedirs(p, exist_ok=True)
        os.chmod(p, mode)
        return p

    def write(self, name, text, mode):
        p = self.path(name)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def copy(self, name, source, mode, owner=None):
        p = self.path(name)
        shutil.copyfile(source, p)
        os.chmod(p, mode)
        if owner is not None:
            os.chown(p, owner, owner)
        return p

    def check_config(self, conf, as_service, extra_env=None):
        """--check-config as root (EXPORTER, which may be a valgrind wrapper) or as the service's uid."""
        env = dict(self.env, **(extra_env or {}))
        if as_service:
            argv = ["setpriv", "--reuid", str(SERVICE_UID), "--regid", str(SERVICE_UID), "--clear-groups", "--",
                    self.exporter]
            env = sanitizer_env(env)
        else:
            argv = [harness.env_path("EXPORTER")]
        p = subprocess.run(argv + ["--check-config", "-c", conf], env=env, cwd="/", stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def remove(self):
        shutil.rmtree(self.base, ignore_errors=True)


def check_pair(t, tree, name, conf, service_ok, warned, extra_env=None):
    """Root's check passes either way; it warns exactly when (and about what) the service's uid is refused."""
    rc, out, err = tree.check_config(conf, as_service=True, extra_env=extra_env)
    if service_ok:
        t.check(rc == 0, "%s: the service's uid reads it (--check-config exits 0)" % name, rc, out, err)
    else:
        t.check(rc == 1 and "Permission denied" in err,
                "%s: the service's uid is refused with Permission denied" % name, rc, out, err)
    rc, out, err = tree.check_config(conf, as_service=False, extra_env=extra_env)
    t.check(rc == 0 and ": ok: " in out, "%s: root's --check-config accepts it (exit 0)" % name, rc, out, err)
    warnings = [l for l in err.splitlines() if ": warning: " in l]
    if not warned:
        t.check(not warnings, "%s: root's --check-config warns about nothing" % name, err)
        return
    t.check(len(warnings) == len(warned), "%s: root's --check-config prints %d warning(s)" % (name, len(warned)),
            err)
    for what in warned:
        t.check(any(what in l and WARNING in l and l.startswith(conf + ": warning: ") for l in warnings),
                "%s: root's --check-config warns: %s" % (name, what), err)


def main():
    with harness.Test("dynamic_user") as t:
        if os.geteuid() != 0:
            raise harness.Skip("switching to another uid (setpriv) needs root: run it as root "
                               "(sudo meson test -C BUILD integration-dynamic_user); tests/run-tests.sh leaves "
                               "the root suite out for another user")
        if not shutil.which("setpriv"):
            raise harness.Failure("setpriv (util-linux) is missing")
        tree = Tree(t)
        try:
            run(t, tree)
        finally:
            tree.remove()
    return t.status


def run(t, tree):
    text = 'aws = { region = "us-west-2"; };\n' + FARMS + REPORTS
    # The layout: credentials and the template unit's NAME.conf in one folder of mode 0700.
    folder = tree.mkdir("etc/deadline-cloud-exporter", 0o700)
    tree.write("etc/deadline-cloud-exporter/aws-credentials", "[default]\n", 0o600)
    conf = tree.write("etc/deadline-cloud-exporter/studio-a.conf", text, 0o644)
    check_pair(t, tree, "studio-a.conf in a 0700 folder", conf, False,
               ["%s is mode 0700: others cannot search it" % folder])
    # The documented layout: the folder 0755, the configuration 0644, the credentials 0600 (LoadCredential=).
    os.chmod(folder, 0o755)
    check_pair(t, tree, "studio-a.conf in a 0755 folder", conf, True, [])
    os.chmod(conf, 0o600)
    check_pair(t, tree, "studio-a.conf of mode 0600", conf, False, ["%s is mode 0600: others cannot read it" % conf])
    os.chmod(conf, 0o644)

    # A CA bundle only root can read.
    ca = tree.copy("etc/deadline-cloud-exporter/ca.pem", web_data("ca.pem"), 0o600)
    conf = tree.write("etc/deadline-cloud-exporter/ca.conf",
                      'aws = { region = "us-west-2"; ca_file = "%s"; };\n' % ca + FARMS + REPORTS, 0o644)
    check_pair(t, tree, "aws.ca_file of mode 0600", conf, False, ["aws.ca_file %s" % ca])
    os.chmod(ca, 0o644)
    check_pair(t, tree, "aws.ca_file of mode 0644", conf, True, [])

    # The TLS key: 0600 in /etc is what the service cannot read; handed over by systemd it is the service's own.
    cert = tree.copy("etc/deadline-cloud-exporter/tls.crt", web_data("server.pem"), 0o644)
    key = tree.copy("etc/deadline-cloud-exporter/tls.key", web_data("server-key.pem"), 0o600)
    tls = 'web = { tls_cert_file = "%s"; tls_key_file = "%s"; };\n'
    conf = tree.write("etc/deadline-cloud-exporter/tls.conf", tls % (cert, key) + text, 0o644)
    check_pair(t, tree, "web.tls_key_file of mode 0600", conf, False, ["web.tls_key_file %s" % key])
    rc, out, err = tree.check_config(conf, as_service=False)
    t.check("LoadCredential=" in err and "chmod" not in err,
            "the key's warning points to LoadCredential=, not to opening the key to all", err)
    # What systemd makes of LoadCredential=tls-key:…: a folder and a file of the service's user, 0500 and 0400.
    creds = tree.mkdir("credentials", 0o500)
    os.chown(creds, SERVICE_UID, SERVICE_UID)
    handed = tree.copy("credentials/tls-key", web_data("server-key.pem"), 0o400, owner=SERVICE_UID)
    conf = tree.write("etc/deadline-cloud-exporter/tls-credential.conf", tls % (cert, handed) + text, 0o644)
    check_pair(t, tree, "web.tls_key_file handed over in $CREDENTIALS_DIRECTORY", conf, True, [],
               extra_env={"CREDENTIALS_DIRECTORY": creds})


if __name__ == "__main__":
    sys.exit(main())
