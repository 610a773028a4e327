#!/usr/bin/env python3
"""test_container: builds deploy/container/Containerfile offline with buildah and runs the image against the simulator."""

# No container registry is reachable here, and `podman run` does not work in this sandbox, so:
#   1. base-images.sh makes docker.io/library/debian:bookworm and :bookworm-slim from Debian's packages
#      (mmdebstrap), cached a day under $DCE_CONTAINER_CACHE (default /var/tmp/deadline-cloud-exporter-container);
#   2. `buildah bud --isolation chroot --pull=never` builds the real Containerfile, unchanged;
#   3. the image's file system (`buildah mount`) is run the way `docker run --read-only --cap-drop=ALL
#      --security-opt=no-new-privileges --user 65532:65532 -v CONF:/etc/deadline-cloud-exporter:ro` would:
#      a private mount and PID namespace, the root file system bound read-only, a fresh /proc, a minimal /dev,
#      the configuration bound read-only, chroot, every capability dropped (bounding set too), no_new_privs,
#      the image's numeric user; the network namespace is the host's, so the exporter listens on 127.0.0.1
#      (the image's --listen 0.0.0.0:9753 is replaced by 127.0.0.1:PORT) and the simulator is reachable;
#   4. /-/healthy, /-/ready and /metrics are checked from outside, and the running process's uid,
#      capabilities and mounts from the host's /proc.

import ctypes
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402

IMAGE = "localhost/deadline-cloud-exporter:test"
CONFIG_DIR = "/etc/deadline-cloud-exporter"
CONFIG_PATH = CONFIG_DIR + "/deadline-cloud-exporter.conf"
PORT = 9753
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38


# ---- the "container": run by this same file as `--in-image ROOTFS NEWROOT CONFDIR UID GID -- ARGV…` ----

def in_image(rootfs, newroot, confdir, uid, gid, argv):
    """In a fresh mount and PID namespace, as root: makes the container's mounts, then becomes it."""
    libc = ctypes.CDLL(None, use_errno=True)

    def mount(source, target, fstype, flags, data=None):
        if libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                      data.encode() if data else None) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "mount %s on %s: %s" % (source, target, os.strerror(e)))

    MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
        1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
    mount("none", "/", None, MS_REC | MS_PRIVATE)
    mount(rootfs, newroot, None, MS_BIND)
    mount("none", newroot, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    mount("proc", newroot + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount("tmpfs", newroot + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k")
    for name, minor in (("null", 3), ("zero", 5), ("random", 8), ("urandom", 9)):
        os.mknod(newroot + "/dev/" + name, stat.S_IFCHR | 0o666, os.makedev(1, minor))
        os.chmod(newroot + "/dev/" + name, 0o666)
    mount(confdir, newroot + CONFIG_DIR, None, MS_BIND)
    mount("none", newroot + CONFIG_DIR, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last_cap = int(f.read())
    os.chroot(newroot)
    os.chdir("/")
    for cap in range(last_cap + 1):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "PR_CAPBSET_DROP %d" % cap)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)  # from root to another uid: the permitted, effective and ambient sets empty themselves
    os.execve(argv[0], argv, os.environ)


# ---- helpers ----

def run(args, log_path=None, check=True, timeout=3600):
    """Runs a command; its output goes to log_path (appended) or is returned."""
    if log_path:
        with open(log_path, "ab") as f:
            f.write(("$ %s\n" % " ".join(args)).encode())
            f.flush()
            p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, timeout=timeout)
        out = ""
    else:
        p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        out = p.stdout.decode("utf-8", "replace")
    if check and p.returncode != 0:
        tail = ""
        if log_path:
            with open(log_path, "rb") as f:
                tail = "\n".join(f.read().decode("utf-8", "replace").splitlines()[-40:])
        else:
            tail = p.stderr.decode("utf-8", "replace")[-3000:]
        raise harness.Failure("%s exited with status %d:\n%s" % (" ".join(args[:4]), p.returncode, tail))
    return out


def proc_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def find_exporter(marker):
    """The host pid of the process whose command line holds marker (the exporter inside the namespaces)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if args and args[0] == b"/usr/bin/deadline_cloud_exporter" and marker.encode() in args:
            return int(entry)
    return None


def check_image_config(t, inspect, version):
    config = inspect.get("OCIv1", {}).get("config", {})
    docker = inspect.get("Docker", {}).get("config", {}) or {}
    user = config.get("User", "")
    t.check(re.fullmatch(r"[1-9][0-9]*:[1-9][0-9]*", user), "the image's user is numeric and not root", user)
    labels = config.get("Labels") or {}
    for key in ("source", "version", "licenses", "title"):
        t.check(labels.get("org.opencontainers.image." + key), "label org.opencontainers.image.%s is set" % key)
    t.check(labels.get("org.opencontainers.image.version") == version,
            "label org.opencontainers.image.version is the project's version %s" % version, labels)
    t.check(labels.get("org.opencontainers.image.licenses") == "Apache-2.0", "the licence label is Apache-2.0")
    t.check("%d/tcp" % PORT in (config.get("ExposedPorts") or {}), "the image exposes %d/tcp" % PORT)
    t.check(not docker.get("Healthcheck"), "the image has no HEALTHCHECK")
    t.check(config.get("Entrypoint") == ["/usr/bin/deadline_cloud_exporter"], "the entry point is the exporter",
            config.get("Entrypoint"))
    cmd = config.get("Cmd") or []
    t.check(cmd == ["--config", CONFIG_PATH, "--listen", "0.0.0.0:%d" % PORT],
            "the command reads %s and listens on 0.0.0.0:%d" % (CONFIG_PATH, PORT), cmd)
    return user, config.get("Entrypoint", []) + cmd


def check_file_system(t, rootfs):
    for path in ("usr/bin/deadline_cloud_exporter", "etc/ssl/certs/ca-certificates.crt", CONFIG_DIR[1:]):
        t.check(os.path.exists(os.path.join(rootfs, path)), "the image has /%s" % path)
    for path in ("usr/bin/gcc", "usr/bin/cc", "usr/bin/meson", "usr/include/curl", "usr/lib/x86_64-linux-gnu/libcurl.so"):
        t.check(not os.path.lexists(os.path.join(rootfs, path)), "the image has no build tool or header: /%s" % path)
    size = 0
    for d, _, files in os.walk(rootfs):
        for name in files:
            try:
                size += os.lstat(os.path.join(d, name)).st_size
            except OSError:
                pass
    harness.log("image file system: %.1f MiB" % (size / 1048576))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--in-image":
        sep = sys.argv.index("--")
        rootfs, newroot, confdir, uid, gid = sys.argv[2:7]
        in_image(rootfs, newroot, confdir, int(uid), int(gid), sys.argv[sep + 1:])
        return 1

    with harness.Test("container") as t:
        for tool in ("buildah", "mmdebstrap", "unshare"):
            if not shutil.which(tool):
                raise harness.Skip("%s is not installed (bash tests/install-deps.sh --container)" % tool)
        if os.geteuid() != 0:
            raise harness.Skip("needs root: buildah's chroot isolation and the namespaces of the run")
        source_root = os.environ.get("SOURCE_ROOT") or os.path.join(HERE, "..", "..")
        version = os.environ.get("PROJECT_VERSION", "")
        cache = os.environ.get("DCE_CONTAINER_CACHE", "/var/tmp/deadline-cloud-exporter-container")
        storage = os.path.join(cache, "storage")
        runroot = "/run/deadline-cloud-exporter-container" if os.path.isdir("/run") else cache + "-run"
        buildah = ["buildah", "--root", storage, "--runroot", runroot]
        build_log = os.path.join(t.workdir, "build.log")

        started = time.monotonic()
        run(["bash", os.path.join(HERE, "base-images.sh"), storage, runroot, os.path.join(cache, "base")], build_log)
        based = time.monotonic()
        harness.log("base images ready in %.1f s" % (based - started))

        containerfile = os.path.join(source_root, "deploy", "container", "Containerfile")
        with open(containerfile, encoding="utf-8") as f:
            text = f.read()
        t.check(not re.search(r"(?im)^\s*HEALTHCHECK\b", text), "the Containerfile has no HEALTHCHECK")
        m = re.search(r"(?m)^ARG VERSION=(\S+)$", text)
        t.check(m and m.group(1) == version, "the Containerfile's default VERSION is meson's %s" % version,
                m and m.group(1))
        run(buildah + ["bud", "--isolation", "chroot", "--pull=never", "--layers", "--network", "host",
                       "--build-arg", "VERSION=" + version, "-f", containerfile, "-t", IMAGE, source_root],
            build_log)
        built = time.monotonic()
        harness.log("buildah bud in %.1f s (build log %s)" % (built - based, build_log))

        inspect = json.loads(run(buildah + ["inspect", "--type", "image", IMAGE]))
        user, argv = check_image_config(t, inspect, version)
        uid, gid = (int(x) for x in user.split(":")) if ":" in user else (65532, 65532)

        ctr = run(buildah + ["from", "--pull-never", IMAGE]).strip()
        try:
            rootfs = run(buildah + ["mount", ctr]).strip()
            check_file_system(t, rootfs)
            run_image(t, rootfs, uid, gid, argv)
        finally:
            run(buildah + ["umount", ctr], check=False)
            run(buildah + ["rm", ctr], check=False)
        harness.log("total %.1f s: base images %.1f s, build %.1f s, run %.1f s"
                    % (time.monotonic() - started, based - started, built - based, time.monotonic() - built))
    return t.status


def run_image(t, rootfs, uid, gid, argv):
    workdir = t.workdir
    sim = harness.Simulator(workdir, "--aggregation-delay", "50", "--quiet")
    farm = sim.farms()[0]["farmId"]
    port = harness.free_port()
    confdir = os.path.join(workdir, "etc")
    newroot = os.path.join(workdir, "rootfs")
    os.makedirs(confdir)
    os.makedirs(newroot)
    reports = [harness.Report("queues", ["QUEUE_ID", "USAGE_TYPE"], interval="1m")]
    # An HTTPS simulator's test CA goes beside the configuration, the one host path the container sees: the
    # image's own TLS stack then verifies a private CA, as aws.ca_file does in production.
    ca_file = False
    host_ca = harness.ca_file_for(sim.url)
    if host_ca:
        shutil.copyfile(host_ca, os.path.join(confdir, "ca.pem"))
        os.chmod(os.path.join(confdir, "ca.pem"), 0o644)
        ca_file = CONFIG_DIR + "/ca.pem"
    with open(os.path.join(confdir, "deadline-cloud-exporter.conf"), "w", encoding="utf-8") as f:
        f.write(harness.exporter_config(PORT, sim.url, [farm], reports, ca_file=ca_file))
    os.chmod(confdir, 0o755)
    os.chmod(os.path.join(confdir, "deadline-cloud-exporter.conf"), 0o644)

    listen = "%s:%d" % (harness.LOOPBACK, port)
    argv = list(argv)
    argv[argv.index("--listen") + 1] = listen
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "AWS_ACCESS_KEY_ID": harness.ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": harness.SECRET_ACCESS_KEY,
           "AWS_EC2_METADATA_DISABLED": "true", "NO_PROXY": "*"}
    launcher = ["unshare", "--mount", "--pid", "--fork", "--kill-child", sys.executable, os.path.abspath(__file__),
                "--in-image", rootfs, newroot, confdir, str(uid), str(gid), "--"] + argv
    exec_at = time.monotonic()
    proc = harness.Process("exporter-in-image", launcher, workdir, env=env)

    def healthy():
        try:
            return harness.http_request(port, "GET", "/-/healthy", timeout=2).status == 200
        except OSError:
            return False

    harness.wait_for("/-/healthy of the exporter in the image", healthy, 60, interval=0.02, alive=[proc])
    harness.log("start -> /-/healthy 200 in %.0f ms (namespaces and mounts included)"
                % ((time.monotonic() - exec_at) * 1000))
    t.ok("/-/healthy answers 200")

    pid = harness.wait_for("the exporter's pid", lambda: find_exporter(listen), 10, alive=[proc])
    status = proc_status(pid)
    t.check(status["Uid"].split() == [str(uid)] * 4 and status["Gid"].split() == [str(gid)] * 4,
            "the exporter runs as %d:%d" % (uid, gid), status["Uid"], status["Gid"])
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        t.check(int(status.get(cap, "0"), 16) == 0, "%s is empty" % cap, status.get(cap))
    t.check(status.get("NoNewPrivs") == "1", "no_new_privs is set", status.get("NoNewPrivs"))
    t.check(status.get("Groups", "") == "", "no supplementary groups", status.get("Groups"))
    with open("/proc/%d/mountinfo" % pid) as f:
        mounts = [line.split() for line in f]
    root = [m for m in mounts if m[4] == "/"]
    t.check(root and "ro" in root[0][5].split(","), "the exporter's root file system is read-only",
            root and root[0][5])
    conf = [m for m in mounts if m[4] == CONFIG_DIR]
    t.check(conf and "ro" in conf[0][5].split(","), "the configuration is mounted read-only")
    writable = [m[4] for m in mounts if "rw" in m[5].split(",") and m[4] not in ("/proc", "/dev")]
    t.check(not writable, "nothing but /proc and /dev (tmpfs, device nodes only) is writable", writable)

    harness.wait_for("/-/ready of the exporter in the image",
                     lambda: harness.http_request(port, "GET", "/-/ready", timeout=5).status == 200, 120,
                     alive=[proc])
    t.ok("/-/ready answers 200 after the first refresh")

    r = harness.http_request(port, "GET", "/metrics")
    t.check(r.status == 200, "/metrics answers 200", r.status)
    t.check(r.header("content-type") == harness.CONTENT_TYPE, "/metrics has the text format's type",
            r.header("content-type"))
    expo = harness.parse_exposition(r.body.decode("utf-8"))
    key = {"farm_id": farm, "report": "queues"}
    t.check(expo.value("deadline_cloud_exporter_report_up", key) == 1, "report_up is 1 for the farm")
    costs = expo.series("deadline_cloud_usage_cost_usd", farm_id=farm, report="queues")
    t.check(len(costs) > 0, "/metrics has cost figures for the farm (%d series)" % len(costs))
    sessions = expo.series("deadline_cloud_usage_sessions", farm_id=farm, report="queues")
    t.check(sum(s.value for s in sessions) > 0, "/metrics counts sessions for the farm")
    rss = expo.series("process_resident_memory_bytes")
    if rss:  # the process_* metrics, read from the container's own /proc, where the exporter has them
        t.check(rss[0].value > 0, "process_resident_memory_bytes is read from the container's /proc")
    with open("/proc/%d/status" % pid) as f:
        vmrss = re.search(r"VmRSS:\s+(\d+) kB", f.read())
    if vmrss:
        harness.log("resident memory of the exporter in the image: %.1f MiB" % (int(vmrss.group(1)) / 1024))

    os.kill(pid, signal.SIGTERM)
    try:
        proc.popen.wait(20)
    except subprocess.TimeoutExpired:
        raise harness.Failure("the exporter in the image did not stop within 20 s of SIGTERM")
    code = proc.stop()
    t.check(code == 0, "the exporter in the image stops cleanly on SIGTERM (as PID 1 of its namespace)", code)


if __name__ == "__main__":
    sys.exit(main())
