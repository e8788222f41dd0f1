#!/usr/bin/env bash
# Soak test of cmdctld (issue 14): four identities start, follow and stop
# jobs for N minutes, with clients killed mid-stream, while the server's
# fds, threads, RSS, zombies, job cgroups and monitors are sampled every
# minute. A server whose resources follow its running jobs, not its history,
# shows flat columns. See docs/RPC.md, "Limits and recovery".
#
# Usage (as root, after the README's build):
#   bench/soak.sh [--minutes N] [--build-dir DIR] [--report FILE]
#                 [--server-flags "FLAGS"]
#
#   --minutes    how long the load runs (default 10).
#   --build-dir  where cmdctld and cmdctl are (default build; DIR/bin/...).
#   --report     also write the table to FILE.
#   --server-flags  extra cmdctld flags.
#
# Each identity (soak1..soak4, each its own unix user cmdctl-soak-N, created
# if missing) loops over: a job followed to its end (run --wait); a slow job
# whose follower is killed (SIGKILL, then SIGTERM) mid-stream and that is
# then stopped; a run --wait killed (SIGKILL) mid-stream; a job that ignores
# SIGTERM, stopped (KILL after the grace); get-status and list. Every job is
# bounded in bytes (by what it runs) and in time (run --timeout, and
# coreutils timeout inside the job, SIGKILL at the latest), and every job
# still running at the end is stopped; the server runs with --retention=1m, so ended jobs' records and
# output are retired meanwhile. Only processes this script started are
# signalled, by pid. Exit status: 0 when, once everything has stopped, no
# zombie, job cgroup or monitor is left and no unexpected client error was
# seen; 1 otherwise.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
minutes=10
seconds=""
report=""
server_flags=""
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift ;;
    --seconds) seconds=$2; shift ;;  # for trying the script out
    --build-dir) build=$(realpath -m "$2"); shift ;;
    --report) report=$(realpath -m "$2"); shift ;;
    --server-flags) server_flags=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if ! [[ $minutes =~ ^[1-9][0-9]*$ ]]; then
  echo "soak.sh: --minutes must be a whole number >= 1" >&2
  exit 2
fi
duration=${seconds:-$((minutes * 60))}
if [ "$(id -u)" -ne 0 ]; then
  echo "soak.sh: run as root: it creates unix users and runs cmdctld" >&2
  exit 2
fi
bin=$build/bin
for b in cmdctld cmdctl cmdctl-launcher; do
  [ -x "$bin/$b" ] || { echo "soak.sh: no $bin/$b: build first" >&2; exit 2; }
done

log() { echo "soak.sh: $*" >&2; }
tmp=$(mktemp -d /tmp/cmdctl-soak.XXXXXX)
server_pid=""
workers=()

# --- Clean-up: our workers, then every job, then the server (by pid).
stop_all_jobs() {
  local i ids
  for i in 1 2 3 4; do
    ids=$(c "$i" list 2>/dev/null | awk '$2 == "RUNNING" {print $1}') || true
    # shellcheck disable=SC2086
    if [ -n "$ids" ]; then c "$i" stop --grace=1s $ids >/dev/null 2>&1 || true; fi
  done
}
cleanup() {
  local pid
  for pid in "${workers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${workers[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    stop_all_jobs
    kill -TERM "$server_pid" 2>/dev/null || true  # --stop_jobs_on_exit
    for _ in $(seq 1 100); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Users, certificates, server.
for i in 1 2 3 4; do
  u=cmdctl-soak-$i
  id -u "$u" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$u"
done
pki=$tmp/pki
mkdir -p "$pki"
"$root/ci/dev-pki.sh" ca "$pki" >/dev/null
"$root/ci/dev-pki.sh" server "$pki" >/dev/null
for i in 1 2 3 4; do
  "$root/ci/dev-pki.sh" client "$pki" "$tmp/id$i" "soak$i" "cmdctl-soak-$i" \
    >/dev/null
done
mkdir -m 700 "$tmp/state"
mkdir -m 755 "$tmp/out"
# shellcheck disable=SC2086
"$bin/cmdctld" --listen=127.0.0.1:0 --port_file="$tmp/port" \
  --cert="$pki/server.pem" --key="$pki/server.key" --ca="$pki/ca.pem" \
  --state_dir="$tmp/state" --output_dir="$tmp/out" --retention=1m \
  --max_output_bytes=1M --stop_grace=2s --stop_jobs_on_exit $server_flags \
  2>"$tmp/cmdctld.log" &
server_pid=$!
for _ in $(seq 1 100); do
  [ -s "$tmp/port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { tail "$tmp/cmdctld.log" >&2; exit 1; }
  sleep 0.1
done
port=$(cat "$tmp/port")
cgroup_parent=$(sed -n 's/.*jobs get their own cgroup under \([^ ]*\).*/\1/p' \
  "$tmp/cmdctld.log" | head -1)
log "cmdctld pid $server_pid on 127.0.0.1:$port, jobs' cgroups under" \
  "${cgroup_parent:-(none: process groups)}; $duration s of load"

# The CLI as identity $1.
c() {
  local i=$1
  shift
  "$bin/cmdctl" --server="127.0.0.1:$port" --cert="$tmp/id$i/client.pem" \
    --key="$tmp/id$i/client.key" --ca="$tmp/id$i/ca.pem" "$@"
}

# --- The load: one worker per identity. Each operation appends a line to
# ops$i; each unexpected result a line to errors$i.
worker() {
  local i=$1 deadline=$2 id f rc
  local ops=$tmp/ops$i errors=$tmp/errors$i
  : >"$ops"
  : >"$errors"
  expect() {  # expect NAME WANTED_RC GOT_RC
    echo "$1" >>"$ops"
    [ "$2" = "$3" ] || echo "$1: exit $3, expected $2" >>"$errors"
  }
  while [ "$(date +%s)" -lt "$deadline" ]; do
    # A job followed to its end: ~270 KB of output.
    rc=0
    c "$i" run --wait --timeout=30s timeout -s KILL 30 sh -c \
      'head -c 100000 /dev/urandom | od -An -tx1' >/dev/null 2>&1 || rc=$?
    expect run-wait 0 "$rc"

    # A slow job (10 lines/s for at most 60 s); its followers are killed
    # mid-stream, then it is stopped.
    # shellcheck disable=SC2016
    id=$(c "$i" run --timeout=60s timeout -s KILL 60 sh -c \
      'i=0; while [ $i -lt 600 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done' \
      2>>"$errors") || { expect run 0 1; sleep 1; continue; }
    expect run 0 0
    c "$i" get-output "$id" >/dev/null 2>&1 &
    f=$!
    sleep "0.$((RANDOM % 9 + 1))"
    kill -KILL "$f" 2>/dev/null || true
    wait "$f" 2>/dev/null || true
    c "$i" get-output "$id" >/dev/null 2>&1 &
    f=$!
    sleep "0.$((RANDOM % 9 + 1))"
    kill -TERM "$f" 2>/dev/null || true
    wait "$f" 2>/dev/null || true
    echo follow-killed >>"$ops"
    rc=0
    c "$i" stop --grace=1s "$id" >/dev/null 2>&1 || rc=$?
    expect stop 0 "$rc"

    # run --wait killed mid-stream: the job (5 MB at most, 20 s at most)
    # runs on to its own end.
    c "$i" run --wait --timeout=20s timeout -s KILL 20 sh -c \
      'yes soak | head -c 5000000' >/dev/null 2>&1 &
    f=$!
    sleep "0.$((RANDOM % 5 + 1))"
    kill -KILL "$f" 2>/dev/null || true
    wait "$f" 2>/dev/null || true
    echo run-wait-killed >>"$ops"

    # A job that ignores SIGTERM: the stop KILLs it after the grace.
    id=$(c "$i" run --timeout=30s timeout -s KILL 30 sh -c 'trap "" TERM; sleep 25' \
      2>>"$errors") || { expect run 0 1; sleep 1; continue; }
    rc=0
    c "$i" stop --grace=500ms "$id" >/dev/null 2>&1 || rc=$?
    expect stop-kill 0 "$rc"

    rc=0
    c "$i" get-status "$id" >/dev/null 2>&1 || rc=$?
    expect get-status 0 "$rc"
    rc=0
    c "$i" list >/dev/null 2>&1 || rc=$?
    expect list 0 "$rc"
  done
}

# --- Sampling.
server_children() { ps -o pid= --ppid "$server_pid" | wc -l; }
# Zombies whose parent is the server or one of its children (the monitors):
# the only ones the server could leave (other processes' do not count).
our_zombies() {
  local parents
  parents=" $server_pid $(ps -o pid= --ppid "$server_pid" | tr -s ' \n' ' ') "
  ps -eo stat=,ppid= | awk -v p="$parents" \
    '$1 ~ /^Z/ && index(p, " " $2 " ") > 0 {n++} END {print n + 0}'
}
# Job cgroups of this server (the parent may be shared with other servers:
# only names this server's log mentions, its job ids, count).
our_cgroups() {
  local n=0 name
  if [ -n "$cgroup_parent" ]; then
    while read -r name; do
      grep -q -F "$name" "$tmp/cmdctld.log" && n=$((n + 1))
    done < <(find "$cgroup_parent" -mindepth 1 -maxdepth 1 -type d -printf '%f\n')
  fi
  echo "$n"
}
sample() {  # sample LABEL
  local fds threads rss zombies cgroups ops errors
  fds=$(find "/proc/$server_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$server_pid/status")
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")
  zombies=$(our_zombies)
  cgroups=$(our_cgroups)
  ops=$(cat "$tmp"/ops? 2>/dev/null | wc -l || true)
  errors=$(cat "$tmp"/errors? 2>/dev/null | wc -l || true)
  printf '%-6s %5s %7s %8s %7s %7s %8s %7s %6s\n' "$1" "$fds" "$threads" \
    "$rss" "$zombies" "$cgroups" "$(server_children)" "$ops" "$errors" |
    tee -a "$tmp/table"
}

printf '%-6s %5s %7s %8s %7s %7s %8s %7s %6s\n' minute fds threads rss_kib \
  zombies cgroups monitors ops errors | tee "$tmp/table"
sample 0
start=$(date +%s)
deadline=$((start + duration))
for i in 1 2 3 4; do
  worker "$i" "$deadline" &
  workers+=($!)
done
minute=0
while [ "$(date +%s)" -lt "$deadline" ]; do
  next=$((start + (minute + 1) * 60))
  [ "$next" -gt "$deadline" ] && next=$deadline
  while [ "$(date +%s)" -lt "$next" ]; do sleep 1; done
  minute=$((minute + 1))
  sample "$minute"
done
log "load over; waiting for the workers' last round"
for pid in "${workers[@]}"; do wait "$pid" || true; done
workers=()
sample load
stop_all_jobs
# Ended jobs' monitors and cgroups go within moments.
for _ in $(seq 1 100); do
  [ "$(server_children)" -eq 0 ] && break
  sleep 0.1
done
sleep 1
sample ended
tail -1 "$tmp/table" | {
  read -r _ fds threads rss zombies cgroups monitors ops errors
  log "after the stop: $zombies zombies, $cgroups job cgroups, $monitors" \
    "monitors, $errors unexpected client results in $ops operations"
  echo "$zombies $cgroups $monitors $errors" >"$tmp/verdict"
}
if [ -n "$report" ]; then cp "$tmp/table" "$report"; fi
cat "$tmp"/errors? | sort | uniq -c | head -20 >&2 || true
read -r zombies cgroups monitors errors <"$tmp/verdict"
[ "$zombies" -eq 0 ] && [ "$cgroups" -eq 0 ] && [ "$monitors" -eq 0 ] &&
  [ "$errors" -eq 0 ]
