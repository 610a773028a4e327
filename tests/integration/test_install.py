#!/usr/bin/env python3
"""test_install: meson install into DESTDIR from a fresh build directory, then the installed tree checked."""

import filecmp
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time

import harness

PREFIX = "/usr"
SYSCONFDIR = "/etc"
BIN = "usr/bin/deadline_cloud_exporter"
UNIT = "usr/lib/systemd/system/deadline-cloud-exporter.service"
DOC_CONF = "usr/share/doc/deadline-cloud-exporter/deadline-cloud-exporter.conf"
DOC_POLICY = "usr/share/doc/deadline-cloud-exporter/iam-policy.json"
ETC_CONF = "etc/deadline-cloud-exporter.conf"
MAN_PAGES = ("usr/share/man/man8/deadline_cloud_exporter.8", "usr/share/man/man5/deadline-cloud-exporter.conf.5")
EXPECTED = (BIN, UNIT, DOC_CONF, DOC_POLICY, ETC_CONF) + MAN_PAGES
MESON = os.environ.get("MESON") or shutil.which("meson")
NINJA = os.environ.get("NINJA") or shutil.which("ninja") or shutil.which("samu")


def run(t, what, args, timeout=120, **kw):
    """Runs args; Failure (with the output) when it fails."""
    started = time.monotonic()
    try:
        p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, **kw)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise harness.Failure("%s: %s" % (what, e)) from e
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        raise harness.Failure("%s failed with status %d:\n%s" % (what, p.returncode, out[-4000:]))
    harness.log("%s: %.1fs" % (what, time.monotonic() - started))
    return out


def installed_outputs(builddir):
    """The build outputs that meson install copies, relative to builddir (to build only those)."""
    out = subprocess.run([MESON, "introspect", "--targets", builddir], stdout=subprocess.PIPE, check=True)
    files = []
    for target in json.loads(out.stdout):
        if target.get("installed"):
            files += [os.path.relpath(f, builddir) for f in target["filename"]]
    return files


def build_and_install(t, source, builddir, destdir):
    run(t, "meson setup", [MESON, "setup", builddir, source, "--prefix=" + PREFIX, "--sysconfdir=" + SYSCONFDIR,
                           "-Dbuildtype=plain", "-Dman-pages=enabled"])
    # Only what gets installed: the tests, the simulator and the fuzzers would take minutes to build.
    outputs = installed_outputs(builddir)
    t.check(outputs, "meson reports installed targets")
    run(t, "ninja (installed targets only)", [NINJA, "-C", builddir] + outputs, timeout=300)
    install(t, builddir, destdir)


def install(t, builddir, destdir):
    run(t, "meson install --destdir", [MESON, "install", "-C", builddir, "--no-rebuild", "--quiet",
                                        "--destdir", destdir])


def check_tree(t, source, destdir):
    for rel in EXPECTED:
        t.check(os.path.isfile(os.path.join(destdir, rel)), "installed: /%s" % rel)
    listing = sorted(os.path.relpath(os.path.join(d, f), destdir) for d, _, fs in os.walk(destdir) for f in fs)
    harness.log("installed files:\n  " + "\n  ".join(listing))

    binary = os.path.join(destdir, BIN)
    t.check(os.access(binary, os.X_OK), "the binary is executable")
    out = run(t, "deadline_cloud_exporter --version", [binary, "--version"])
    t.check(out.startswith("deadline_cloud_exporter "), "--version prints the name and version", out)
    out = run(t, "deadline_cloud_exporter --help", [binary, "--help"])
    t.check(SYSCONFDIR + "/deadline-cloud-exporter.conf" in out,
            "the binary's default configuration is %s/deadline-cloud-exporter.conf" % SYSCONFDIR, out)

    example = os.path.join(source, "config", "deadline-cloud-exporter.conf")
    t.check(filecmp.cmp(example, os.path.join(destdir, DOC_CONF), shallow=False),
            "share/doc holds the example configuration")
    t.check(filecmp.cmp(os.path.join(source, "docs", "iam-policy.json"), os.path.join(destdir, DOC_POLICY),
                        shallow=False), "share/doc holds the IAM policy the man page names")
    etc = os.path.join(destdir, ETC_CONF)
    t.check(filecmp.cmp(example, etc, shallow=False), "sysconfdir holds the example configuration")
    mode = stat.S_IMODE(os.stat(etc).st_mode)
    t.check(mode == 0o644, "the configuration is readable by the service's dynamic user (0644)", oct(mode))
    run(t, "--check-config on the installed configuration", [binary, "--check-config", "-c", etc])

    with open(os.path.join(destdir, UNIT), encoding="utf-8") as f:
        unit = f.read()
    left = re.findall(r"@[A-Za-z_]+@", unit)
    t.check(not left, "no @placeholder@ is left in the unit", left)
    want = "ExecStart=%s/bin/deadline_cloud_exporter --config %s/deadline-cloud-exporter.conf" % (PREFIX, SYSCONFDIR)
    t.check(want in unit.splitlines(), "the unit runs the installed binary with the installed configuration",
            [l for l in unit.splitlines() if l.startswith("ExecStart")])

    for rel in MAN_PAGES:
        path = os.path.join(destdir, rel)
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as f:
            page = f.read()
        t.check(".TH " in page and ".SH NAME" in page, "%s is a roff man page" % rel)
        if not shutil.which("groff"):
            t.skip_part("groff is not installed: %s not rendered (bash tests/install-deps.sh --test)" % rel)
        else:
            p = subprocess.run(["groff", "-man", "-ww", "-z", "-Tutf8", path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            t.check(p.returncode == 0 and not p.stdout, "groff renders %s without a warning" % rel,
                    p.stdout.decode("utf-8", "replace")[:2000])


def check_reinstall(t, source, builddir, destdir):
    """A second install keeps an administrator's configuration and refreshes share/doc."""
    etc = os.path.join(destdir, ETC_CONF)
    doc = os.path.join(destdir, DOC_CONF)
    with open(etc, "a", encoding="utf-8") as f:
        f.write("# edited by the administrator\n")
    with open(etc, encoding="utf-8") as f:
        edited = f.read()
    os.unlink(doc)
    install(t, builddir, destdir)
    with open(etc, encoding="utf-8") as f:
        t.check(f.read() == edited, "a second install keeps the edited %s" % ETC_CONF)
    t.check(os.path.isfile(doc), "a second install puts back share/doc's example")

    # A symbolic link (a configuration kept elsewhere) is left alone too, even a dangling one.
    os.unlink(etc)
    os.symlink("/nonexistent/deadline-cloud-exporter.conf", etc)
    install(t, builddir, destdir)
    t.check(os.path.islink(etc), "a second install keeps a symbolic link in place of the configuration")


def verify_unit(t, destdir, workdir):
    """systemd-analyze verify on the installed unit, its ExecStart pointed at the DESTDIR binary."""
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        t.skip_part("systemd-analyze is not installed: the unit is not verified (bash tests/install-deps.sh --test)")
        return
    probe = os.path.join(workdir, "probe.service")
    with open(probe, "w", encoding="utf-8") as f:
        f.write("[Service]\nExecStart=/bin/true\n")
    p = subprocess.run([analyze, "verify", "--man=no", probe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0 or p.stdout.strip():
        t.skip_part("systemd-analyze verify does not work here (%s)" % p.stdout.decode()[:300].strip())
        return
    with open(os.path.join(destdir, UNIT), encoding="utf-8") as f:
        unit = f.read()
    unitdir = os.path.join(workdir, "verify")
    os.mkdir(unitdir)
    copy = os.path.join(unitdir, os.path.basename(UNIT))
    with open(copy, "w", encoding="utf-8") as f:
        f.write(unit.replace(PREFIX + "/bin/", os.path.join(destdir, "usr/bin/")))
    # verify exits 0 even for unknown keys and bad values: its output must be empty.
    p = subprocess.run([analyze, "verify", "--man=no", copy], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode("utf-8", "replace").strip()
    t.check(p.returncode == 0 and not out, "systemd-analyze verify accepts the installed unit", out)


def main():
    with harness.Test("install") as t:
        if not MESON or not NINJA:
            raise harness.Skip("meson or ninja is not in PATH")
        source = os.environ.get("SOURCE_ROOT")
        if not source:
            raise harness.Failure("SOURCE_ROOT is not set (run through meson test)")
        builddir = os.path.join(t.workdir, "build")
        destdir = os.path.join(t.workdir, "dest")
        build_and_install(t, source, builddir, destdir)
        check_tree(t, source, destdir)
        check_reinstall(t, source, builddir, destdir)
        verify_unit(t, destdir, t.workdir)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
