#!/usr/bin/env bash
# run-target: runs one libFuzzer target for FUZZ_SECONDS (default 30) on a scratch copy of its seed corpus.
# usage: run-target.sh TARGET SEED_CORPUS_DIR [SECONDS]
# Prints "TARGET: N executions, M corpus units, S s"; exits non-zero on a crash (the reproducer is kept
# in $FUZZ_WORK_DIR/TARGET/, named crash-*/leak-*/timeout-*/oom-*).
set -euo pipefail

target=$1
seeds=$2
seconds=${3:-${FUZZ_SECONDS:-30}}
name=$(basename "$target")
here=$(cd "$(dirname "$0")" && pwd)
dict="$here/$name.dict"
work="${FUZZ_WORK_DIR:-$(dirname "$target")/work}/$name"

rm -rf "$work/corpus"
mkdir -p "$work/corpus"
cp -R "$seeds/." "$work/corpus/"
max_len=4096
[ "$name" = fuzz-api-get ] && max_len=16384
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1
      -artifact_prefix="$work/")
[ -f "$dict" ] && args+=(-dict="$dict")

status=0
# Bugs found earlier each have a reproducer in regressions/, replayed by the meson suite 'fuzz'.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0} \
  "$target" "${args[@]}" "$work/corpus" >"$work/log" 2>&1 || status=$?

# libFuzzer ends with "Done N runs in S second(s)" and, with -print_final_stats, stat::number_of_executed_units.
execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$work/log" | tail -n 1)
[ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/log" | tail -n 1)
[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$work/log" | tail -n 1)
units=$(find "$work/corpus" -type f | wc -l)
echo "$name: ${execs:-0} executions, $units corpus units, ${seconds}s, exit $status (log: $work/log)"
if [ "$status" -ne 0 ]; then
  echo "---- $name: last lines of the log ----"
  grep -v '^#[0-9]' "$work/log" | tail -n 60
  ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null || true
fi
# libFuzzer exits 77 on a crash by default, which meson would count as a skip
[ "$status" -eq 0 ] || exit 1
