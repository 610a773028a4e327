#!/usr/bin/env bash
# run-tests: install what the tests need, build with warnings as errors, run every test suite. Everything the
# tests need is installed here, so a skipped test is a failure: each one is listed with the reason it printed.
# env: BUILDDIR (default build-tests: a build directory of its own, never the demo's build/); TEST_JOBS, the tests
# meson runs at once (default 4: the integration tests mostly wait; those that measure time run alone).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/install-deps.sh --test --bench --container
# The container suite builds an image with buildah, and the root suite switches to another uid (the systemd unit's
# dynamic user): both need root, so as another user they are left out, said so.
suites=()
if [ "$(id -u)" -ne 0 ]; then
  echo "run-tests: not root, so the container and root suites are not run (sudo meson test -C ${BUILDDIR:-build-tests} --suite container --suite root)" >&2
  suites=(--no-suite container --no-suite root)
fi
builddir=${BUILDDIR:-build-tests}
# Always these options, and find_program() looked up again (a tool installed just now is found): an existing
# directory is reconfigured, never trusted as it is (nor a sanitizer or fuzz build's options).
opts=(-Dwerror=true -Dfuzz=false -Db_sanitize=none)
if [ -f "$builddir/build.ninja" ]; then
  meson setup --reconfigure "$builddir" "${opts[@]}"
else
  meson setup "$builddir" "${opts[@]}"
fi
ninja -C "$builddir"
rm -f "$builddir/meson-logs/testlog.json" "$builddir/meson-logs/testlog-container.json"
logs=("$builddir/meson-logs/testlog.json")
status=0
if [ $# -eq 0 ] && [ ${#suites[@]} -eq 0 ]; then
  # The container suite mostly waits (Debian's mirror, then buildah) and runs alone in meson's queue: it runs
  # beside the others instead of after them, with its own log.
  meson test -C "$builddir" --no-rebuild --print-errorlogs --suite container --logbase testlog-container \
    >"$builddir/meson-logs/container-run.txt" 2>&1 &
  container_pid=$!
  meson test -C "$builddir" --no-rebuild --print-errorlogs --num-processes "${TEST_JOBS:-4}" --no-suite container || status=$?
  container_status=0
  wait "$container_pid" || container_status=$?
  cat "$builddir/meson-logs/container-run.txt"
  logs+=("$builddir/meson-logs/testlog-container.json")
  python3 tests/ci/count.py --skips-fail --step tests "$status" "${logs[0]}" \
    --step container "$container_status" "${logs[1]}"
else
  meson test -C "$builddir" --print-errorlogs --num-processes "${TEST_JOBS:-4}" "${suites[@]}" "$@" || status=$?
  python3 tests/ci/count.py --skips-fail --step tests "$status" "${logs[0]}"
fi
