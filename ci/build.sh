#!/usr/bin/env bash
# Configures and builds into a directory. Usage: ci/build.sh [BUILD_DIR] [CMAKE ARGS...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift || true
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$root" -B "$dir" "${gen[@]}" "$@"
cmake --build "$dir" -j "$(nproc)"
