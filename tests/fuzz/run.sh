#!/usr/bin/env bash
# run: builds the libFuzzer targets with clang in build-fuzz and runs each for SECONDS on a copy of its corpus.
# usage: tests/fuzz/run.sh [SECONDS]   (default 60; env BUILDDIR, default build-fuzz; JOBS targets at once, default 1)
# Prints the executions per target; exits non-zero when any target crashed (reproducers: BUILDDIR/tests/fuzz/work/).
set -uo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-60}
builddir=${BUILDDIR:-build-fuzz}
jobs=${JOBS:-1}
# every fuzz-*.c is a target (tests/fuzz/meson.build builds them all), so a new one is run without being listed here
targets=()
for f in tests/fuzz/fuzz-*.c; do
  t=$(basename "$f" .c)
  [ -d "tests/fuzz/corpus/$t" ] || { echo "fuzz: $t has no corpus (tests/fuzz/corpus/$t)" >&2; exit 1; }
  targets+=("$t")
done

command -v clang >/dev/null || { echo "run: clang is missing (bash tests/install-deps.sh --fuzz)" >&2; exit 1; }
if [ ! -f "$builddir/build.ninja" ]; then
  opts=(-Dfuzz=true)
  # the man pages are no concern of the fuzzers' build
  grep -q "option('man-pages'" meson_options.txt 2>/dev/null && opts+=(-Dman-pages=disabled)
  CC=clang meson setup "$builddir" "${opts[@]}" >/dev/null || exit 1
else
  meson configure "$builddir" -Dfuzz=true >/dev/null || exit 1
fi
ninja -C "$builddir" $(printf 'tests/fuzz/%s ' "${targets[@]}") tests/fuzz/test-expfmt_check >/dev/null || {
  ninja -C "$builddir" $(printf 'tests/fuzz/%s ' "${targets[@]}") tests/fuzz/test-expfmt_check
  exit 1
}
"$builddir/tests/fuzz/test-expfmt_check" || exit 1

export FUZZ_WORK_DIR="$builddir/tests/fuzz/work"
mkdir -p "$FUZZ_WORK_DIR"
status=0
running=0
for t in "${targets[@]}"; do
  bash tests/fuzz/run-target.sh "$builddir/tests/fuzz/$t" "tests/fuzz/corpus/$t" "$seconds" \
    >"$FUZZ_WORK_DIR/$t.summary" 2>&1 &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
for t in "${targets[@]}"; do
  cat "$FUZZ_WORK_DIR/$t.summary"
done
[ "$status" -eq 0 ] && echo "fuzz: no crash in ${#targets[@]} targets, ${seconds}s each" || echo "fuzz: CRASH (see above)"
exit "$status"
