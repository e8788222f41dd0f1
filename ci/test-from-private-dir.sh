#!/usr/bin/env bash
# Proves that the tests do not depend on where the checkout lives (issue 17):
# clones this checkout's HEAD commit under a directory only root can enter
# (mode 0700, like /root or a `mktemp -d`), builds there what the affected
# integration tests need, and runs them. Those are the tests that run
# build-tree binaries as unprivileged test users (through copies made by
# integration_tests/common/runnable_copy.h), and the harness's own test.
#
# Kept cheap: no benchmarks, only the needed targets, ccache when present.
# Commits only: uncommitted changes are not in the clone.
# Run as root (the tests create unix users). Usage: ci/test-from-private-dir.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "test-from-private-dir.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (the integration tests create unix users)"

tests=(
  LinuxProcessHostTest.OnlyFdsZeroToTwoWhileManyJobsStartConcurrently
  LinuxProcessHostTest.BinaryOutputIsByteExact
  LinuxProcessHostNonRootTest.RunsJobsOnlyAsItsOwnUser
  CmdctldTest.NonRootServerRunsJobsOnlyAsItselfAndSaysSo
  RunnableCopyTest.CopyOfABinaryInAPrivateTreeRunsAsATestUser
  RunnableCopyTest.CopiesAreRemovedWithTheirDirectory
  RunnableCopyTest.ServerThatCannotBeExecutedSaysWhyNotJust127
  RunnableCopyTest.NoUsableTemporaryDirectoryNamesThePathAndTheFix
)
targets=(os_adapter_integration_test rpc_integration_test
         runnable_copy_integration_test)

private=$(mktemp -d)
trap 'rm -rf "$private"' EXIT
chmod 0700 "$private"
# The point of the exercise: an unprivileged user cannot enter it.
if setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$private"; then
  die "$private is traversable by nobody; this test would prove nothing"
fi

src=$private/cmdctl
# The checkout may belong to another user (a CI container): trust it.
src_git() { git -c safe.directory="$root" "$@"; }
echo "=== clone of $(src_git -C "$root" rev-parse --short HEAD) in $src (mode 0700 above it)"
src_git clone --quiet --no-checkout "$root" "$src"
src_git -C "$src" fetch --quiet "$root" HEAD
git -C "$src" checkout --quiet --detach FETCH_HEAD

build=$src/build
cmake_args=(-DCMDCTL_BUILD_BENCH=OFF)
command -v ninja >/dev/null && cmake_args+=(-G Ninja)
if command -v ccache >/dev/null; then
  # Paths below the clone hash as relative ones, and the build directory is
  # left out of the hash, so a build of the same sources elsewhere is reused.
  export CCACHE_BASEDIR=$src CCACHE_NOHASHDIR=1
  cmake_args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache
               -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$src" -B "$build" "${cmake_args[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"

regex="^($(IFS='|'; echo "${tests[*]}"))\$"
out=$(cd "$build" && ctest --output-on-failure --no-tests=error --timeout 600 \
  -R "$regex" 2>&1) || { echo "$out"; die "tests failed from $src"; }
grep -E 'Test +#|tests passed' <<<"$out"
grep -q "0 tests failed out of ${#tests[@]}\$" <<<"$out" ||
  die "expected exactly ${#tests[@]} tests to run and pass"
echo "=== the tests pass from a clone under a 0700 directory"
