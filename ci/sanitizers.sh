#!/usr/bin/env bash
# Builds the unit tests under ASan+UBSan and under TSan and runs them.
# Usage: ci/sanitizers.sh [address|thread]...   (default: both)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(address thread)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1 suppressions=$root/ci/tsan.supp}
for kind in "${kinds[@]}"; do
  dir=$root/build-$kind
  echo "=== unit tests under $kind sanitizer ($dir)"
  "$root/ci/build.sh" "$dir" -DCMAKE_BUILD_TYPE=Debug -DCMDCTL_SANITIZE="$kind" \
    -DCMDCTL_BUILD_BENCH=OFF -DCMDCTL_BUILD_INTEGRATION_TESTS=OFF
  (cd "$dir" && ctest -L unit --output-on-failure -j "$(nproc)")
done
