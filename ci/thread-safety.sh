#!/usr/bin/env bash
# Builds cmdctl's code with clang and -Wthread-safety -Werror (CMakeLists.txt
# turns both on under clang), so that every ABSL_GUARDED_BY and
# ABSL_EXCLUSIVE_LOCKS_REQUIRED is checked, not just written down. GCC does
# not check them. Usage: ci/thread-safety.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build-clang}
command -v clang++ >/dev/null || { echo "thread-safety.sh: clang++ not found (apt-get install clang)" >&2; exit 1; }
echo "=== clang -Wthread-safety -Werror build ($dir)"
"$root/ci/build.sh" "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMDCTL_BUILD_BENCH=OFF -DCMDCTL_BUILD_INTEGRATION_TESTS=OFF
