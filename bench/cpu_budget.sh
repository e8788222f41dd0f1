#!/usr/bin/env bash
# Where the CPU of one streamed GiB goes, party by party: `cmdctl run --wait
# head -c 1G /dev/zero >/dev/null` against `ssh ... head -c 1G /dev/zero`
# (docs/BENCHMARKS.md, "Where a followed GiB goes").
#
# Usage: bench/cpu_budget.sh ROUNDS SERVER_PID CMDCTL... -- SSH...
#   SERVER_PID  the running cmdctld (its utime+stime is read from /proc)
#   CMDCTL...   the cmdctl command with its connection flags
#               (e.g. cmdctl --server=127.0.0.1:9090 --ca=... --cert=... --key=...)
#   SSH...      the ssh command up to the remote command
#               (e.g. ssh -p 2222 -c aes256-gcm@openssh.com -T user@127.0.0.1)
# Per run it prints the wall time and CPU seconds of: the client (rusage),
# the server (/proc), the job (cmdctl: the job's usage from get-status;
# ssh: `times` in the remote shell), and the rest of the machine's busy time
# (cmdctl: kernel threads and other processes; ssh: sshd), and the machine's
# idle time, from /proc/stat. cmdctl's job monitor (the spare
# cmdctl-launcher that takes the job, which splices its output into the
# file) is sampled from /proc every 20 ms until it exits.
set -euo pipefail
rounds=$1 server_pid=$2
shift 2
cmdctl=() ssh=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do cmdctl+=("$1"); shift; done
shift
ssh=("$@")
tck=$(getconf CLK_TCK)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cpu() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5}' /proc/stat; }
srv() { awk '{print $14+$15}' "/proc/$server_pid/stat"; }
one() {  # one cmdctl|ssh
  local s0 s1 t0 i0 t1 i1 job=0 srv_s=0 mon=0 spare="" poller=""
  if [ "$1" = cmdctl ]; then
    spare=$(pgrep -P "$server_pid" -x cmdctl-launcher | head -1 || true)
    if [ -n "$spare" ]; then
      python3 - "$spare" "$tmp/mon" <<'PY' &
import sys, time
last = 0
while True:
    try:
        with open(f"/proc/{sys.argv[1]}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        last = int(fields[11]) + int(fields[12])  # utime + stime
    except OSError:
        break
    time.sleep(0.02)
open(sys.argv[2], "w").write(str(last))
PY
      poller=$!
    fi
  fi
  s0=$(srv); read -r t0 i0 < <(cpu)
  if [ "$1" = cmdctl ]; then
    /usr/bin/time -f "%e %U %S" -o "$tmp/t" "${cmdctl[@]}" run --wait \
      head -c 1G /dev/zero >/dev/null </dev/null
  else
    /usr/bin/time -f "%e %U %S" -o "$tmp/t" "${ssh[@]}" \
      "bash -c 'head -c 1G /dev/zero; times >&2'" >/dev/null 2>"$tmp/times" </dev/null
  fi
  s1=$(srv); read -r t1 i1 < <(cpu)
  if [ "$1" = cmdctl ]; then
    local id
    id=$("${cmdctl[@]}" list | awk 'NR==2{print $1}')
    job=$("${cmdctl[@]}" get-status --output=json "$id" | python3 -c \
      "import json,sys;u=json.load(sys.stdin)['usage'];print(float(u.get('cpuUser','0s')[:-1])+float(u.get('cpuSystem','0s')[:-1]))")
    srv_s=$(python3 -c "print(($s1-$s0)/$tck)")
    if [ -n "$poller" ]; then
      wait "$poller" || true
      mon=$(python3 -c "print($(cat "$tmp/mon" 2>/dev/null || echo 0)/$tck)")
    fi
  else
    job=$(sed -n 2p "$tmp/times" | python3 -c \
      "import sys,re;print(sum(int(m)*60+float(s) for m,s in re.findall(r'(\d+)m([\d.]+)s',sys.stdin.read())))")
  fi
  python3 - "$1" "$(cat "$tmp/t")" "$srv_s" "$job" "$mon" "$((t1 - t0))" "$((i1 - i0))" "$tck" <<'PY'
import sys
who, t, srv, job, mon, tot, idle, tck = sys.argv[1:]
wall, u, s = map(float, t.split())
cli, srv, job, mon = u + s, float(srv), float(job), float(mon)
tot, idle = int(tot) / int(tck), int(idle) / int(tck)
busy = tot - idle
print(f"{who:7s} wall {wall:.2f} s ({1 / wall:.3f} GiB/s)  client {cli:.2f}  "
      f"server {srv:.2f}  job {job:.2f}  monitor {mon:.2f}  "
      f"rest {busy - cli - srv - job - mon:.2f}  busy {busy:.2f}  "
      f"idle {idle:.2f}  (CPU s)")
PY
}
for _ in $(seq "$rounds"); do one cmdctl; one ssh; done
