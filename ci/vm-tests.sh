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
Each binary runs alone in a fresh cgroup /sys/fs/cgroup/vmtest-N (so that it
can move itself into a leaf and give the controllers to the cgroups of the
hosts and servers it tests: integration_tests/common/test_cgroups.h), with
  CMDCTL_REQUIRE_CGROUP_CONTROLLERS=1  tests that need the controllers fail
                                       instead of skipping without them
  CMDCTL_TEST_SCRATCH_DISK=/dev/vda    the VM's throw-away disk (io.max)
Default: the resource-control and cgroup-dependent integration tests of DIR
(default: build):
  integration_tests/os_adapter/os_adapter_integration_test
  integration_tests/os_adapter/resource_limits_integration_test
  integration_tests/rpc/limits_integration_test
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
  set -- "$build/integration_tests/os_adapter/os_adapter_integration_test" \
    "$build/integration_tests/os_adapter/resource_limits_integration_test" \
    "$build/integration_tests/rpc/limits_integration_test"
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
[ -b /dev/vda ] || { echo "vm-tests: the VM has no /dev/vda" >&2; exit 125; }
export CMDCTL_REQUIRE_CGROUP_CONTROLLERS=1 CMDCTL_TEST_SCRATCH_DISK=/dev/vda
failed=
n=0
for t in "$@"; do
  n=$((n + 1))
  cg=/sys/fs/cgroup/vmtest-$n
  mkdir "$cg" || exit 125
  echo "=== vm-tests: $t (in $cg)"
  start=$(date +%s)
  # Alone in its cgroup: the subshell moves itself there, then becomes it.
  (echo 0 >"$cg/cgroup.procs" && cd "$(dirname "$t")" && exec "$t")
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
