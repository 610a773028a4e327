#!/usr/bin/env python3
"""test_manifests: deploy/kubernetes validated offline (kubernetes-models) and its configuration (the IAM policy: test_iam_policy)."""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.environ.get("SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
HERE = os.path.join(ROOT, "tests", "deploy")
SKIP = 77
failures = 0


def check(cond, what, detail=None):
    global failures
    print(("ok: " if cond else "FAIL: ") + what + ("" if cond or detail is None else "\n      %s" % detail))
    failures += 0 if cond else 1


def npm_ci(npm_dir):
    """npm ci into npm_dir (the build directory), again only when package-lock.json changed."""
    with open(os.path.join(HERE, "package-lock.json"), "rb") as f:
        lock = f.read()
    stamp = os.path.join(npm_dir, ".lock-sha256")
    digest = hashlib.sha256(lock).hexdigest()
    try:
        with open(stamp) as f:
            if f.read() == digest and os.path.isdir(os.path.join(npm_dir, "node_modules")):
                return
    except FileNotFoundError:
        pass
    os.makedirs(npm_dir, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(os.path.join(HERE, name), os.path.join(npm_dir, name))
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=npm_dir, check=True)
    with open(stamp, "w") as f:
        f.write(digest)


def check_config(exporter):
    """The Kubernetes configuration passes the exporter's own --check-config."""
    conf = os.path.join(ROOT, "deploy", "kubernetes", "deadline-cloud-exporter.conf")
    p = subprocess.run([exporter, "--check-config", "--config", conf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    check(p.returncode == 0, "deadline_cloud_exporter --check-config accepts deploy/kubernetes's configuration",
          p.stdout.decode("utf-8", "replace"))


SECTION = re.compile(r"^(#\s*)?([a-z_]+)\s*=\s*[({]", re.M)


def check_sections():
    """Every section of the example configuration is in the Kubernetes one, the optional ones at least commented."""
    def sections(rel):
        with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
            return {m.group(2): not m.group(1) for m in SECTION.finditer(f.read())}
    example = sections(os.path.join("config", "deadline-cloud-exporter.conf"))
    kube = sections(os.path.join("deploy", "kubernetes", "deadline-cloud-exporter.conf"))
    check(len(example) >= 6, "found the example configuration's sections", sorted(example))
    for name, active in sorted(example.items()):
        check(name in kube, "deploy/kubernetes's configuration has the section %s%s"
              % (name, "" if active else " (commented, as in the example)"), sorted(kube))


def main():
    exporter = os.environ.get("EXPORTER")
    if exporter:
        check_config(exporter)
    check_sections()
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        print("SKIP: node and npm are not installed (apt-get install nodejs npm): the schemas are not checked")
        return 1 if failures else SKIP
    # Outside the source tree: the Containerfile copies tests/ into its build stage.
    npm_dir = os.environ.get("NPM_DIR") or os.path.join(tempfile.gettempdir(), "deadline-cloud-exporter-npm")
    npm_ci(npm_dir)
    p = subprocess.run([node, os.path.join(HERE, "validate.js"), ROOT, npm_dir])
    check(p.returncode == 0, "tests/deploy/validate.js passes")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
