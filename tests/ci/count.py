#!/usr/bin/env python3
"""count: CI's tally of test results: one line per step, every failure, skip and exclusion named, and the last
line "N passed, N failed, N skipped" alone. Exit status 1 when anything failed.

usage: count.py [--skips-fail] --step LABEL STATUS TESTLOG [--step ...]
  STATUS   the step's exit status
  TESTLOG  meson's testlog.json (one JSON object a line: name, result, stdout), or one in the same format
           written by tests/run-sanitizers.sh valgrind, which adds the result EXCLUDED with a "reason"

What cannot pass by accident:
  - a TESTLOG that is missing or cannot be read counts 1 failed; so does every line that is not a JSON object
    with a name and a result, and a log with no result at all;
  - a step whose STATUS is not 0 counts 1 failed when its log shows no failure;
  - --skips-fail (CI, tests/run-tests.sh: every tool the tests need is installed there): a skipped test counts
    as failed, with the reason it printed.
"""

import argparse
import json
import sys

PASSED = ("OK", "EXPECTEDFAIL")
SKIPPED = ("SKIP",)
EXCLUDED = ("EXCLUDED",)


def skip_reason(entry):
    """Why a test skipped: its "SKIP: …" lines (harness.py, bench.py), else the last line it printed."""
    out = entry.get("stdout") or ""
    if not isinstance(out, str):
        out = str(out)
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    reasons = [ln[len("SKIP:"):].strip() for ln in lines if ln.startswith("SKIP:")]
    if reasons:
        return "; ".join(reasons)
    return lines[-1] if lines else "no reason printed"


def read_log(path):
    """(entries, problems): the results in path and what made part of it unreadable."""
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError as e:
        return [], ["cannot read %s: %s" % (path, e.strerror or e)]
    entries, problems = [], []
    for no, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as e:
            problems.append("%s line %d is not JSON (%s): %.80r" % (path, no, e, line))
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("result"), str) or not entry.get("name"):
            problems.append("%s line %d has no test name and result: %.80r" % (path, no, line))
            continue
        entries.append(entry)
    if not entries and not problems:
        problems.append("%s holds no test result" % path)
    return entries, problems


def count_step(label, status, path, skips_fail):
    """(passed, failed, skipped, report lines) of one step."""
    entries, problems = read_log(path)
    passed = failed = skipped = 0
    lines = []
    for p in problems:
        failed += 1
        lines.append("  FAILED (unreadable log): " + p)
    for e in entries:
        name, result = str(e["name"]), e["result"]
        if result in PASSED:
            passed += 1
        elif result in SKIPPED:
            if skips_fail:
                failed += 1
                lines.append("  FAILED (skipped where everything it needs is installed): %s: %s"
                             % (name, skip_reason(e)))
            else:
                skipped += 1
                lines.append("  skipped: %s: %s" % (name, skip_reason(e)))
        elif result in EXCLUDED:
            lines.append("  excluded: %s: %s" % (name, e.get("reason") or "no reason given"))
        else:
            failed += 1
            lines.append("  FAILED (%s): %s" % (result, name))
    if status != 0 and failed == 0:
        failed += 1
        lines.append("  FAILED: the step exited with status %d, yet its log shows no failure" % status)
    excluded = sum(1 for e in entries if e["result"] in EXCLUDED)
    head = "ci: %s: %d passed, %d failed, %d skipped%s" % (label, passed, failed, skipped,
                                                          ", %d excluded" % excluded if excluded else "")
    return passed, failed, skipped, [head] + lines


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skips-fail", action="store_true", help="count a skipped test as failed")
    ap.add_argument("--step", nargs=3, action="append", metavar=("LABEL", "STATUS", "TESTLOG"), required=True)
    args = ap.parse_args(argv)
    total_p = total_f = total_s = 0
    for label, status, path in args.step:
        try:
            st = int(status)
        except ValueError:
            st = 1  # an unknown status is a failed step
        p, f, s, lines = count_step(label, st, path, args.skips_fail)
        print("\n".join(lines))
        total_p, total_f, total_s = total_p + p, total_f + f, total_s + s
    print("%d passed, %d failed, %d skipped" % (total_p, total_f, total_s))
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
