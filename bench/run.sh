#!/usr/bin/env bash
# Benchmarks cmdctl against the physical limit (a raw TLS 1.3 AES-256-GCM
# stream) and against OpenSSH, side by side, on loopback. See
# docs/BENCHMARKS.md for what is measured and how.
#
# Usage (as root, on Debian 12):
#   bench/run.sh [--quick] [--build-dir DIR] [--no-build] [--figures LIST]
#                [--json FILE] [-- extra cmdctl_bench flags]
#
#   --quick      small sizes and counts (~20 s after the build): CI's smoke test.
#                Its numbers are printed, never judged.
#   --build-dir  where to build (Release); default build-bench.
#   --no-build   use the binaries already in the build dir; CI, after its
#                own build: bench/run.sh --quick --no-build --build-dir build
#   --figures    comma-separated subset of start,stream,follow,stop,scale,
#                records,cap (default: all).
#   --server-flags "FLAGS"  extra cmdctld flags (e.g. --output_chunk_bytes=N).
#   --server-env "K=V..."   extra environment for cmdctld (e.g. GLIBC_TUNABLES).
#   --perf FILE  record cmdctld with `perf record -g` while measuring
#                (then: perf report -i FILE).
#   --json       where to write the JSON results; default
#                bench/results/<UTC time>.json (full runs) or
#                <build dir>/bench-results/quick.json (--quick).
#
# What it does: builds cmdctld, cmdctl and the bench programs; creates a
# throwaway PKI and ssh keys in a temporary directory; creates the unix user
# cmdctl-bench (no dotfiles) if missing; starts cmdctld, sshd (its own config,
# key auth only, UsePAM no) and the raw TLS server on free 127.0.0.1 ports;
# runs <build dir>/bin/cmdctl_bench; stops everything it started, by pid.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-bench
quick=0
do_build=1
figures=""
json=""
perf_out=""
server_flags=""
server_env=""
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --build-dir) build=$(realpath -m "$2"); shift ;;
    --no-build) do_build=0 ;;
    --figures) figures=$2; shift ;;
    --json) json=$(realpath -m "$2"); shift ;;
    --perf) perf_out=$(realpath -m "$2"); shift ;;
    --server-flags) server_flags=$2; shift ;;
    --server-env) server_env=$2; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$(id -u)" -ne 0 ]; then
  echo "run.sh: run as root: it creates a unix user and runs cmdctld and sshd" >&2
  exit 2
fi

bench_user=cmdctl-bench
log() { echo "run.sh: $*" >&2; }

# --- Dependencies: the project's own, plus OpenSSH's server for the peer.
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -x "$root/ci/install-deps.sh" ] && [ $do_build = 1 ] && "$root/ci/install-deps.sh"

# --- Build (Release, no tests).
if [ $do_build = 1 ]; then
  gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMDCTL_BUILD_TESTS=OFF -DCMDCTL_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" -j "$(nproc)"
fi
bin=$build/bin
for b in cmdctl_bench cmdctl_bench_job cmdctl_bench_tls_server; do
  [ -x "$bin/$b" ] || { log "missing $bin/$b (build failed?)"; exit 1; }
done
have_cmdctl=1
for b in cmdctld cmdctl; do
  [ -x "$bin/$b" ] || { log "missing $bin/$b: measuring the peers only"; have_cmdctl=0; }
done

# --- Everything we start is recorded here and stopped on exit, by pid.
tmp=$(mktemp -d /tmp/cmdctl-bench.XXXXXX)
chmod 0755 "$tmp"  # The job user runs $tmp/bin/* and reads $tmp/gate.
pids=()
cleanup() {
  local rc=$?
  # cmdctld servers the bench started itself (records, cap), if it died
  # before stopping them.
  for f in "$tmp"/side-*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  # Jobs the bench left behind (only ever the throwaway user's processes).
  if id "$bench_user" >/dev/null 2>&1; then
    for pid in $(ps -o pid= -u "$bench_user" 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null || true
    done
    home=$(getent passwd "$bench_user" | cut -d: -f6)
    # A second bench/run.sh running at the same time shares this user and
    # directory: its jobs may still be writing here. Never let that stop the
    # rest of the cleanup (the temporary directory below).
    rm -rf "$home/.local/state/cmdctl" ||
      log "could not remove all of $home/.local/state/cmdctl"
  fi
  if [ $rc -ne 0 ]; then
    for f in "$tmp"/*.log; do
      [ -f "$f" ] && { log "--- tail of $f"; tail -n 20 "$f" >&2; }
    done
  fi
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  # A port nobody listens on now (the small race is harmless on loopback).
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  log "no free port found"
  return 1
}

wait_port() {  # wait_port PORT PID NAME: at most 15 s.
  for _ in $(seq 150); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { log "$3 exited; see its log"; return 1; }
    sleep 0.1
  done
  log "$3 did not listen on 127.0.0.1:$1"
  return 1
}

# --- The throwaway unix user: no dotfiles, not locked (sshd refuses a
# locked account when UsePAM is off), no password.
if ! id "$bench_user" >/dev/null 2>&1; then
  mkdir "$tmp/empty-skel"
  useradd --create-home --skel "$tmp/empty-skel" --shell /bin/bash \
    --comment "cmdctl benchmarks" "$bench_user"
  rmdir "$tmp/empty-skel"
fi
usermod -p '*' "$bench_user"
home=$(getent passwd "$bench_user" | cut -d: -f6)
if ls -A "$home" | grep -v '^\.local$' | grep -q '^\.'; then
  log "warning: $home has dotfiles ($(ls -A "$home" | tr '\n' ' ')): they slow ssh"
fi

# --- Throwaway PKI: the project's development PKI tool when present (the
# layout SPEC §4 asks for), else the same with plain openssl.
pki=$tmp/pki
mkdir -m 0700 "$pki"
if [ -x "$root/ci/dev-pki.sh" ]; then
  export CMDCTL_PKI_DAYS=2
  "$root/ci/dev-pki.sh" ca "$pki" >/dev/null
  "$root/ci/dev-pki.sh" server "$pki" >/dev/null
  "$root/ci/dev-pki.sh" client "$pki" "$pki/client" bench "$bench_user" >/dev/null
  mv "$pki/client/client.pem" "$pki/client/client.key" "$pki/"
else
  (
    cd "$pki"
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 \
      -subj /CN=cmdctl-bench-ca 2>/dev/null
    sign() {  # sign NAME SUBJECT EXTENSIONS
      openssl req "${ec[@]}" -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
      printf '%s\n' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
        -days 2 -out "$1.pem" -extfile "$1.ext" 2>/dev/null
    }
    sign server /CN=localhost \
      "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
    sign client /CN=bench \
      "subjectAltName=URI:principal:$bench_user
extendedKeyUsage=clientAuth"
    chmod 0600 ./*.key
  )
fi
for f in ca.pem server.pem server.key client.pem client.key; do
  [ -s "$pki/$f" ] || { log "PKI: $pki/$f missing"; exit 1; }
done

# --- Helpers the job user runs.
mkdir -m 0755 "$tmp/bin" "$tmp/gate"
install -m 0755 "$bin/cmdctl_bench_job" "$tmp/bin/"

# --- sshd: its own config, host key and client key; key auth only.
ssh-keygen -q -t ed25519 -N '' -f "$tmp/ssh_host_ed25519_key"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/client_key"
install -m 0644 "$tmp/client_key.pub" "$tmp/authorized_keys"
ssh_port=$(free_port)
cat >"$tmp/sshd_config" <<EOF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $tmp/ssh_host_ed25519_key
PidFile $tmp/sshd.pid
AuthorizedKeysFile $tmp/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
AllowUsers $bench_user
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
MaxSessions 50
MaxStartups 100
EOF
mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f "$tmp/sshd_config" 2>"$tmp/sshd.log" &
pids+=($!)
wait_port "$ssh_port" "${pids[-1]}" sshd

# --- The raw TLS peer.
"$bin/cmdctl_bench_tls_server" --ca="$pki/ca.pem" --cert="$pki/server.pem" \
  --key="$pki/server.key" --port_file="$tmp/tls.port" 2>"$tmp/tls_server.log" &
tls_pid=$!
pids+=($tls_pid)
for _ in $(seq 100); do [ -s "$tmp/tls.port" ] && break; sleep 0.1; done
tls_port=$(cat "$tmp/tls.port")

# --- cmdctld. Figure 5 opens 1,000 followers from this one address: more
# than the default per-peer stream limit (--max_streams / 8), so the stream
# limits are raised for the benchmark.
server_args=()
server_pid=0
if [ $have_cmdctl = 1 ]; then
  env GLOG_logtostderr=1 $server_env "$bin/cmdctld" --listen=127.0.0.1:0 \
    --port_file="$tmp/cmdctld.port" \
    --cert="$pki/server.pem" --key="$pki/server.key" --ca="$pki/ca.pem" \
    --state_dir="$tmp/state" --retention=0 \
    --max_streams=8000 --max_streams_per_peer=4000 \
    $server_flags 2>"$tmp/cmdctld.log" &
  server_pid=$!
  pids+=($server_pid)
  for _ in $(seq 150); do
    [ -s "$tmp/cmdctld.port" ] && break
    kill -0 "$server_pid" 2>/dev/null || { log "cmdctld exited"; exit 1; }
    sleep 0.1
  done
  port=$(cat "$tmp/cmdctld.port")
  wait_port "$port" "$server_pid" cmdctld
  server_args=(--server="127.0.0.1:$port" --server_pid="$server_pid"
               --cli="$bin/cmdctl" --cmdctld="$bin/cmdctld"
               --server_cert="$pki/server.pem" --server_key="$pki/server.key")
fi

# --- Measure.
mode=full
quick_flag=""
if [ $quick = 1 ]; then mode=quick; quick_flag=" --quick"; fi
if [ -z "$json" ]; then
  if [ $quick = 1 ]; then
    mkdir -p "$build/bench-results"
    json=$build/bench-results/quick.json
  else
    mkdir -p "$root/bench/results"
    json=$root/bench/results/$(date -u +%Y%m%dT%H%M%SZ).json
  fi
fi
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo "+dirty" || true)
ssh_version=$(ssh -V 2>&1)
flags=(
  "${server_args[@]}"
  --ca="$pki/ca.pem" --cert="$pki/client.pem" --key="$pki/client.key"
  --tls_port="$tls_port" --tls_server_pid="$tls_pid"
  --ssh_port="$ssh_port" --ssh_key="$tmp/client_key" --ssh_user="$bench_user"
  --job="$tmp/bin/cmdctl_bench_job" --gate_dir="$tmp/gate" --work_dir="$tmp"
  --json_out="$json"
  --info="commit=$rev$dirty;ssh=$ssh_version;command=bench/run.sh${quick_flag}"
)
[ $quick = 1 ] && flags+=(--quick)
[ -n "$figures" ] && flags+=(--figures="$figures")
log "measuring ($mode); cmdctld pid $server_pid, sshd port $ssh_port, raw TLS port $tls_port"
perf_pid=0
if [ -n "$perf_out" ] && [ "$server_pid" != 0 ]; then
  perf record -q -F 2000 -g -p "$server_pid" -o "$perf_out" 2>"$tmp/perf.log" &
  perf_pid=$!
  pids+=($perf_pid)
fi
"$bin/cmdctl_bench" "${flags[@]}" "${extra[@]}"
if [ "$perf_pid" != 0 ]; then
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  log "profile: perf report -i $perf_out"
fi
log "results: $json"
