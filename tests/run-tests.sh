#!/usr/bin/env bash
# run-tests: install what the tests need, build with warnings as errors, run every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/install-deps.sh --test --bench
builddir=${BUILDDIR:-build}
if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" -Dwerror=true
fi
ninja -C "$builddir"
meson test -C "$builddir" --print-errorlogs --num-processes 2 "$@"
