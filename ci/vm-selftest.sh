#!/usr/bin/env bash
# Proves that ci/vm-run.sh gives what it promises: the controllers in the
# command's cgroup, memory.max enforced (a 64M cgroup OOM-kills a 300M
# allocation, a 512M one does not), stdout, stderr, exit status, CWD and
# VM_ENV carried across, lo up, /dev/vda, a throw-away root (useradd leaves
# nothing on the host); and that a timeout and a boot failure are failures.
# Three VM boots. Exits 0 when every check holds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
failures=0
check() {  # check DESCRIPTION COMMAND...
  if "${@:2}"; then
    echo "ok: $1"
  else
    echo "FAILED: $1"
    failures=$((failures + 1))
  fi
}

read -r -d '' guest <<'EOF' || true
c=/sys/fs/cgroup/test
echo "controllers: $(cat $c/cgroup.controllers)"
echo "cwd: $(pwd)"
echo "value: $VM_SELFTEST_VALUE"
# No internal processes: leave test/ for a leaf before giving it children.
mkdir $c/self && echo $$ >$c/self/cgroup.procs
echo "+memory" >$c/cgroup.subtree_control
for limit in 64M 512M; do
  mkdir $c/job-$limit
  echo $limit >$c/job-$limit/memory.max
  sh -c 'echo $$ >"$1/cgroup.procs" &&
    exec python3 -c "x = b\"x\" * (300 << 20)"' sh $c/job-$limit 2>/dev/null
  echo "memory.max=$limit: status $?, $(grep oom_kill $c/job-$limit/memory.events)"
done
[ -b /dev/vda ] && echo "disk: $(cat /sys/block/vda/size) sectors"
[ $(($(cat /sys/class/net/lo/flags) & 1)) -eq 1 ] && echo "lo: up"  # IFF_UP
useradd -m cmdctl-vm-selftest && [ -d /home/cmdctl-vm-selftest ] &&
  echo "useradd: ok"
echo "to stderr" >&2
exit 7
EOF

export VM_SELFTEST_VALUE="it's \"quoted\" \$HOME"
rc=0
VM_ENV=VM_SELFTEST_VALUE ci/vm-run.sh sh -c "$guest" >"$run/out" 2>"$run/err" ||
  rc=$?
sed 's/^/  guest: /' "$run/out"
check "exit status 7 carried out (got $rc)" test "$rc" -eq 7
check "controllers cpuset cpu io memory pids" \
  grep -qx "controllers: cpuset cpu io memory pids" "$run/out"
check "CWD is the caller's" grep -qx "cwd: $root" "$run/out"
check "VM_ENV carries a value verbatim" \
  grep -qxF "value: $VM_SELFTEST_VALUE" "$run/out"
check "memory.max=64M OOM-kills a 300M allocation" \
  grep -qE "^memory.max=64M: status 137, oom_kill [1-9]" "$run/out"
check "memory.max=512M lets it run" \
  grep -qx "memory.max=512M: status 0, oom_kill 0" "$run/out"
check "/dev/vda is there" grep -q "^disk: [1-9]" "$run/out"
check "lo is up" grep -qx "lo: up" "$run/out"
check "useradd works inside" grep -qx "useradd: ok" "$run/out"
check "stderr carried out" grep -qx "to stderr" "$run/err"
check "nothing of the guest's root is left on the host" \
  sh -c '! id cmdctl-vm-selftest >/dev/null 2>&1'

rc=0
VM_TIMEOUT=5 ci/vm-run.sh sleep 1000 >/dev/null 2>"$run/err" || rc=$?
check "a timeout is exit 124 with a message (got $rc)" \
  sh -c "[ $rc -eq 124 ] && grep -q 'did not finish within' '$run/err'"

rc=0
VM_APPEND=rdinit=/nonexistent ci/vm-run.sh true >/dev/null 2>"$run/err" ||
  rc=$?
check "a boot failure is exit 125 with a message (got $rc)" \
  sh -c "[ $rc -eq 125 ] && grep -q 'failed to boot' '$run/err'"

if [[ $failures -gt 0 ]]; then
  echo "vm-selftest: $failures check(s) failed"
  exit 1
fi
echo "vm-selftest: all checks passed"
