#!/usr/bin/env python3
"""test_count: tests/ci/count.py on doctored test logs: no unreadable log, failed row or failed step may end in
"0 failed" or exit status 0."""

import json
import os
import subprocess
import sys
import tempfile

COUNT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "count.py")
failures = 0


def row(name, result, stdout=""):
    return json.dumps({"name": name, "result": result, "stdout": stdout, "duration": 0.1}) + "\n"


def run(workdir, steps, skips_fail=False):
    """Runs count.py over steps [(label, status, log text or None for a missing file)]: (status, lines)."""
    args = [sys.executable, COUNT] + (["--skips-fail"] if skips_fail else [])
    for i, (label, status, text) in enumerate(steps):
        path = os.path.join(workdir, "testlog-%d.json" % i)
        if text is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        elif os.path.exists(path):
            os.unlink(path)
        args += ["--step", label, str(status), path]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace").splitlines()


def expect(name, workdir, steps, last, status, skips_fail=False, holds=()):
    global failures
    rc, lines = run(workdir, steps, skips_fail)
    problems = []
    if not lines or lines[-1] != last:
        problems.append("last line %r, expected %r" % (lines[-1] if lines else None, last))
    if rc != status:
        problems.append("exit status %d, expected %d" % (rc, status))
    for text in holds:
        if not any(text in ln for ln in lines):
            problems.append("no line holds %r" % text)
    if lines and "0 failed" in lines[-1] and any(s != 0 for _, s, _ in steps):
        problems.append("a failed step, yet the last line says 0 failed")
    if problems:
        failures += 1
        print("FAIL: %s: %s\n  output:\n    %s" % (name, "; ".join(problems), "\n    ".join(lines)))
    else:
        print("ok: %s: %r, status %d" % (name, last, rc))


def main():
    ok2 = row("a", "OK") + row("b", "OK")
    with tempfile.TemporaryDirectory(prefix="dce-count-") as d:
        expect("all OK", d, [("tests", 0, ok2)], "2 passed, 0 failed, 0 skipped", 0)
        expect("a failed row", d, [("tests", 1, ok2 + row("c", "FAIL"))], "2 passed, 1 failed, 0 skipped", 1,
               holds=["FAILED (FAIL): c"])
        expect("a timeout row", d, [("tests", 1, row("c", "TIMEOUT"))], "0 passed, 1 failed, 0 skipped", 1)
        expect("a failed row, step status 0", d, [("tests", 0, ok2 + row("c", "FAIL"))],
               "2 passed, 1 failed, 0 skipped", 1)
        expect("truncated last line", d, [("tests", 0, ok2 + row("c", "OK")[:25])], "2 passed, 1 failed, 0 skipped",
               1, holds=["is not JSON"])
        expect("truncated file, step failed", d, [("tests", 1, ok2[:30])], "0 passed, 1 failed, 0 skipped", 1)
        expect("a line without a result", d, [("tests", 0, ok2 + json.dumps({"name": "x"}) + "\n")],
               "2 passed, 1 failed, 0 skipped", 1)
        expect("missing file", d, [("tests", 0, None)], "0 passed, 1 failed, 0 skipped", 1,
               holds=["cannot read"])
        expect("missing file, step failed", d, [("tests", 2, None)], "0 passed, 1 failed, 0 skipped", 1)
        expect("empty file", d, [("tests", 0, "")], "0 passed, 1 failed, 0 skipped", 1, holds=["no test result"])
        expect("non-zero step status with an all-OK log", d, [("tests", 1, ok2)], "2 passed, 1 failed, 0 skipped",
               1, holds=["exited with status 1"])
        expect("an unknown step status", d, [("tests", "x", ok2)], "2 passed, 1 failed, 0 skipped", 1)
        skip = row("p", "SKIP", "note: x\nSKIP: promtool is not installed\n")
        expect("a skip, developers' count", d, [("tests", 0, ok2 + skip)], "2 passed, 0 failed, 1 skipped", 0,
               holds=["skipped: p: promtool is not installed"])
        expect("a skip in CI", d, [("tests", 0, ok2 + skip)], "2 passed, 1 failed, 0 skipped", 1, skips_fail=True,
               holds=["FAILED (skipped where everything it needs is installed): p: promtool is not installed"])
        expect("a skip without SKIP: line", d, [("tests", 0, row("q", "SKIP", "one\nlast words\n"))],
               "0 passed, 1 failed, 0 skipped", 1, skips_fail=True, holds=["q: last words"])
        excluded = json.dumps({"name": "integration-x", "result": "EXCLUDED", "reason": "left to the ASan run"}) + "\n"
        expect("an exclusion is named, not counted", d, [("valgrind", 0, ok2 + excluded)],
               "2 passed, 0 failed, 0 skipped", 0, skips_fail=True,
               holds=["excluded: integration-x: left to the ASan run", "2 passed, 0 failed, 0 skipped, 1 excluded"])
        expect("steps add up; one failed step is enough", d,
               [("tests", 0, ok2), ("fuzz", 0, ok2), ("asan", 1, ok2), ("valgrind", 0, None)],
               "6 passed, 2 failed, 0 skipped", 1, skips_fail=True)
    print("test_count: %s" % ("FAILED (%d)" % failures if failures else "all passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
