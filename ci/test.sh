#!/usr/bin/env bash
# The README's test command: installs dependencies, builds, runs every test
# (unit and integration) under ctest, then the unit tests under ASan+UBSan and
# TSan, then checks the lock annotations with a clang -Wthread-safety build.
# Run as root on Debian 12 (integration tests create unix users).
# CMDCTL_SKIP_SANITIZERS=1 skips the sanitizer and clang builds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ "$(id -u)" -eq 0 ]; then
  "$root/ci/install-deps.sh"
fi
"$root/ci/build.sh" "$root/build"
(cd "$root/build" && ctest --output-on-failure -j "$(nproc)" --timeout 600)
if [ "${CMDCTL_SKIP_SANITIZERS:-0}" != 1 ]; then
  "$root/ci/sanitizers.sh"
  "$root/ci/thread-safety.sh"
fi
