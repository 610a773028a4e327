#!/usr/bin/env bash
# run-sanitizers: the unit and integration suites under ASan+UBSan (build-asan), then the integration tests
# with the exporter under valgrind memcheck (build-valgrind). Prints errors and leaks per run.
# usage: tests/run-sanitizers.sh [asan|valgrind]...   (default: both)
# env: CC (clang or gcc; default the system's cc), ASAN_BUILDDIR, VALGRIND_BUILDDIR.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

steps=("$@")
# Tests relax their latency checks (never their correctness checks) in these slow builds.
export DCE_SLOW_BUILD=1
[ ${#steps[@]} -eq 0 ] && steps=(asan valgrind)
asan_dir=${ASAN_BUILDDIR:-build-asan}
vg_dir=${VALGRIND_BUILDDIR:-build-valgrind}
# absolute, so that the logs and the valgrind wrapper are found from any test's working directory
case "$asan_dir" in /*) ;; *) asan_dir="$root/$asan_dir" ;; esac
case "$vg_dir" in /*) ;; *) vg_dir="$root/$vg_dir" ;; esac
status=0

setup_opts=()
# the man pages are no concern of these builds
grep -q "option('man-pages'" meson_options.txt 2>/dev/null && setup_opts+=(-Dman-pages=disabled)

run_asan() {
  if [ ! -f "$asan_dir/build.ninja" ]; then
    meson setup "$asan_dir" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug "${setup_opts[@]}" \
      >/dev/null || return 1
  fi
  ninja -C "$asan_dir" >/dev/null || { ninja -C "$asan_dir"; return 1; }
  local logdir="$asan_dir/sanitizer-logs"
  rm -rf "$logdir" "$asan_dir/meson-logs/testlog.json"
  mkdir -p "$logdir"
  # log_path: every process (exporter and simulator included) reports into its own file, so nothing is
  # lost in a test's captured output; exitcode: a report makes the process fail.
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$logdir/asan"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logdir/ubsan"
  export LSAN_OPTIONS="log_path=$logdir/lsan"
  local r=0
  meson test -C "$asan_dir" --no-rebuild --print-errorlogs --num-processes "${TEST_JOBS:-4}" --timeout-multiplier 2 --suite unit --suite integration || r=1
  local reports errors leaks
  reports=$(find "$logdir" -type f | wc -l)
  errors=$(cat "$logdir"/* 2>/dev/null | grep -c -E '^(==[0-9]+==ERROR: AddressSanitizer|.*runtime error:)' || true)
  leaks=$(cat "$logdir"/* 2>/dev/null | grep -c -E '^(Direct|Indirect) leak of' || true)
  local tally
  tally=$(python3 tests/ci/count.py --step asan+ubsan "$r" "$asan_dir/meson-logs/testlog.json" | tail -n 1)
  echo "asan+ubsan: $tally; $errors sanitizer errors, $leaks leaks ($reports report files in $logdir)"
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
  [ "$r" -eq 0 ] && [ "$errors" -eq 0 ] && [ "$leaks" -eq 0 ]
}

run_valgrind() {
  command -v valgrind >/dev/null || { echo "run-sanitizers: valgrind is missing (apt-get install valgrind)" >&2; return 1; }
  if [ ! -f "$vg_dir/build.ninja" ]; then
    meson setup "$vg_dir" -Dbuildtype=debug "${setup_opts[@]}" >/dev/null || return 1
  fi
  ninja -C "$vg_dir" >/dev/null || { ninja -C "$vg_dir"; return 1; }
  local exporter="$vg_dir/daemon/deadline_cloud_exporter"
  local logdir="$vg_dir/valgrind-logs"
  local wrapper="$vg_dir/exporter-under-valgrind"
  rm -rf "$logdir"
  mkdir -p "$logdir"
  # The harness starts whatever EXPORTER names and checks its exit status after SIGTERM: valgrind's
  # --error-exitcode turns any memcheck error or definite/indirect leak into status 99, a failed check.
  # exec: the harness's SIGTERM reaches the exporter itself (valgrind runs it in the same process).
  cat >"$wrapper" <<WRAP
#!/bin/sh
exec valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --child-silent-after-fork=yes \\
  --track-fds=yes \\
  --suppressions="$root/tests/ci/valgrind.supp" --log-file="$logdir/exporter.%p.log" "$exporter" "\$@"
WRAP
  chmod +x "$wrapper"
  # Each integration test as meson would run it (its command and environment from `meson introspect`),
  # EXPORTER replaced by the wrapper: meson's own test environment would win over ours.
  local r=0
  # One row per test in $logdir/testlog.json (meson's format: name, result, stdout), and one EXCLUDED row with its
  # reason for every integration test not run here: tests/ci/count.py tallies them one by one.
  python3 - "$vg_dir" "$wrapper" "$logdir" <<'PY' || r=1
import concurrent.futures, json, os, subprocess, sys
builddir, wrapper, logdir = sys.argv[1:4]
tests = json.loads(subprocess.check_output(["meson", "introspect", "--tests", builddir]))
status = 0
# The long targeted-fault test is left to the ASan run (CI's time is bounded); under valgrind the soak test's
# random faults walk the same failure paths.
skip = set(filter(None, os.environ.get("VALGRIND_SKIP", "integration-api_faults-network,integration-api_faults-content").split(",")))
testlog = open(os.path.join(logdir, "testlog.json"), "w", encoding="utf-8")


def record(name, result, stdout="", reason=None):
    row = {"name": name, "result": result, "stdout": stdout}
    if reason:
        row["reason"] = reason
    testlog.write(json.dumps(row) + "\n")
    testlog.flush()


def run_one(t):
    """Runs one test with the exporter under valgrind: (test, result, text, rc)."""
    env = dict(os.environ)
    env.update(t["env"])
    env["EXPORTER"] = wrapper
    env["EXPORTER_BINARY"] = t["env"]["EXPORTER"]  # the binary itself, for what must not run under valgrind
    out = os.path.join(logdir, t["name"] + ".out")
    timeout = 3 * (t.get("timeout") or 600)  # valgrind is slow
    with open(out, "wb") as f:
        try:
            rc = subprocess.run(t["cmd"], env=env, cwd=t.get("workdir") or None, stdout=f, stderr=subprocess.STDOUT,
                                timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    with open(out, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    return t, {0: "OK", 77: "SKIP", "timeout": "TIMEOUT"}.get(rc, "FAIL"), text, rc


runnable = []
for t in tests:
    if not any(s.split(":")[-1] == "integration" for s in t.get("suite", [])):
        continue
    if "EXPORTER" not in t["env"]:
        why = "it does not start the exporter (nothing for valgrind to watch)"
        print("valgrind: %s excluded: %s" % (t["name"], why), flush=True)
        record(t["name"], "EXCLUDED", reason=why)
        continue
    if t["name"] in skip:
        why = ("VALGRIND_SKIP: the long targeted-fault test is left to the ASan run (CI's time is bounded); the "
               "soak test's random faults walk the same failure paths under valgrind"
               if t["name"].startswith("integration-api_faults-") else "VALGRIND_SKIP names it")
        print("valgrind: %s excluded: %s" % (t["name"], why), flush=True)
        record(t["name"], "EXCLUDED", reason=why)
        continue
    runnable.append(t)
# The longest first, so that the last to finish is a short one. The tests wait on the simulator and on one
# another's exporter most of the time, so VALGRIND_JOBS (default 3) of them share the 2 cores well; each keeps
# its own ports and directories (harness.py).
runnable.sort(key=lambda t: -(t.get("timeout") or 600))
jobs = int(os.environ.get("VALGRIND_JOBS", "3"))
with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
    for t, result, text, rc in pool.map(run_one, runnable):
        record(t["name"], result, text)
        word = {0: "passed", 77: "skipped"}.get(rc, "FAILED (status %s)" % rc)
        print("valgrind: %s %s" % (t["name"], word), flush=True)
        if rc not in (0, 77):
            status = 1
            print("\n".join(["    " + l for l in text.splitlines() if l.startswith(("FAIL", "      "))][:20]))
        elif rc == 77:
            print("\n".join(["    " + l for l in text.splitlines() if l.startswith("SKIP")][:5]))
testlog.close()
sys.exit(status)
PY
  local runs=0 f e dl il fds bad=0
  for f in "$logdir"/exporter.*.log; do
    [ -f "$f" ] || continue
    runs=$((runs + 1))
    e=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$f" | tail -n 1 | tr -d ,)
    dl=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\1 bytes in \2 blocks/p' "$f" | tail -n 1)
    il=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\1 bytes in \2 blocks/p' "$f" | tail -n 1)
    fds=$(sed -n 's/.*FILE DESCRIPTORS: \([0-9]*\) open.*/\1/p' "$f" | tail -n 1)
    echo "valgrind: $(basename "$f"): errors ${e:-0}, definitely lost ${dl:-0}, indirectly lost ${il:-0}, fds open at exit ${fds:-?}"
    if [ "${e:-0}" != 0 ] || grep -q -E 'Invalid|uninitialised|definitely lost: [1-9]|indirectly lost: [1-9]' "$f"; then
      bad=1
    fi
  done
  echo "valgrind: $runs exporter runs, $([ "$bad" -eq 0 ] && echo "no errors, no leaks" || echo "ERRORS (see $logdir)")"
  [ "$r" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$runs" -gt 0 ]
}

for s in "${steps[@]}"; do
  case "$s" in
    asan) run_asan || status=1 ;;
    valgrind) run_valgrind || status=1 ;;
    *) echo "run-sanitizers: unknown step $s (asan, valgrind)" >&2; exit 2 ;;
  esac
done
exit "$status"
