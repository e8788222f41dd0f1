#!/usr/bin/env bash
# Runs integration test binaries inside one boot of the cgroup v2 VM
# (ci/vm-run.sh), one after the other, and fails if any of them fails or the
# VM does not come up. Independent of ctest. See docs/VM_TESTS.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  cat <<'EOF'
Usage: ci/vm-tests.sh [--build-dir DIR] [TEST_BINARY...]

Runs each TEST_BINARY (a gtest binary of an already built tree) inside one
VM boot, in its own directory as ctest would, and exits 0 only if the VM's
cgroup has the cpu io memory pids controllers and every binary exits 0.
Default: the cgroup-dependent integration tests of DIR (default: build):
  integration_tests/os_adapter/os_adapter_integration_test
GTEST_FILTER and the other GTEST_* variables set here are passed in, as are
the VM_* settings of ci/vm-run.sh; VM_TIMEOUT defaults to 1800 s here.
EOF
}

build=$root/build
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help)
      usage
      exit 0
      ;;
    --build-dir)
      build=$(cd "$2" && pwd)
      shift 2
      ;;
    --build-dir=*)
      build=$(cd "${1#*=}" && pwd)
      shift
      ;;
    --)
      shift
      break
      ;;
    -*)
      usage >&2
      exit 2
      ;;
    *) break ;;
  esac
done
if [[ $# -eq 0 ]]; then
  set -- "$build/integration_tests/os_adapter/os_adapter_integration_test"
fi
tests=()
for t in "$@"; do
  [[ -f $t && -x $t ]] || {
    echo "vm-tests: $t is not an executable (build it first: ci/build.sh)" >&2
    exit 2
  }
  tests+=("$(cd "$(dirname "$t")" && pwd)/$(basename "$t")")
done

# The guest side: check the controllers, run every binary, sum up.
read -r -d '' guest <<'EOF' || true
have=$(cat /sys/fs/cgroup/test/cgroup.controllers)
for c in cpu io memory pids; do
  case " $have " in
    *" $c "*) ;;
    *) echo "vm-tests: the VM's cgroup lacks $c (has: $have)" >&2; exit 125 ;;
  esac
done
failed=
for t in "$@"; do
  echo "=== vm-tests: $t"
  start=$(date +%s)
  (cd "$(dirname "$t")" && exec "$t")
  rc=$?
  echo "=== vm-tests: $t: exit $rc after $(($(date +%s) - start)) s"
  [ $rc -eq 0 ] || failed="$failed $t"
done
if [ -n "$failed" ]; then
  echo "vm-tests: FAILED:$failed"
  exit 1
fi
echo "vm-tests: all ${#} passed"
EOF

pass=${VM_ENV:-}
for v in $(compgen -e); do
  [[ $v == GTEST_* ]] && pass+=" $v"
done
export VM_ENV=$pass
export VM_TIMEOUT=${VM_TIMEOUT:-1800}
start=$SECONDS
rc=0
"$root/ci/vm-run.sh" /bin/sh -c "$guest" vm-tests "${tests[@]}" || rc=$?
echo "vm-tests: exit $rc after $((SECONDS - start)) s (boot included)" >&2
exit "$rc"
