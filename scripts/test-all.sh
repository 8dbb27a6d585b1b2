#!/usr/bin/env bash
# Installs everything, builds strata and runs the whole test suite (CTest over
# GoogleTest). Starts the services the tests need and stops them at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
STRATA_WITH_PEERS=1 bash scripts/setup.sh
build=${STRATA_BUILD_DIR:-build-test}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRATA_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

svc=$(mktemp -d /tmp/strata-test-svc.XXXXXX)
cleanup() {
  [ -x scripts/dockerd.sh ] && bash scripts/dockerd.sh stop "$svc/docker" >/dev/null 2>&1 || true
  rm -rf "$svc" 2>/dev/null || true
}
trap cleanup EXIT
# A private dockerd for the differential tests that compare with Docker.
if [ -f scripts/dockerd.sh ] && command -v dockerd >/dev/null; then
  if bash scripts/dockerd.sh start "$svc/docker" >"$svc/dockerd-start.log" 2>&1; then
    export STRATA_TEST_DOCKER_HOST="unix://$svc/docker/docker.sock"
  else
    echo "warning: private dockerd did not start; docker comparisons are skipped" >&2
    cat "$svc/dockerd-start.log" >&2 || true
  fi
fi
ctest --test-dir "$build" -j"$(nproc)" --output-on-failure --timeout 600

# The same suite again under AddressSanitizer + UBSan (the CLI tests run the
# sanitized strata binary), minus the long conformance run the Release pass did. STRATA_SKIP_SANITIZE=1 skips it for a quick run.
if [ "${STRATA_SKIP_SANITIZE:-0}" != 1 ]; then
  asan=${STRATA_ASAN_BUILD_DIR:-build-test-asan}
  cmake -S . -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSTRATA_SANITIZE=ON \
    -DSTRATA_BENCH=OFF >/dev/null
  cmake --build "$asan" -j"$(nproc)"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$asan" -j"$(nproc)" --output-on-failure --timeout 900 -LE conformance
fi
