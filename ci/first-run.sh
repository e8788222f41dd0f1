#!/usr/bin/env bash
# The README's first command: from a fresh clone on Debian 12, as root, to a
# running cmdctld and a followed demo job.
#
#   ci/first-run.sh            install packages, build, make the development
#                              PKI, start cmdctld on localhost:9090 in the
#                              background, run a demo job and follow it
#   ci/first-run.sh --stop     stop the cmdctld a previous run started
#   CMDCTL_FIRST_RUN_STOP=1 ci/first-run.sh
#                              all of the first, then stop the server (CI)
#
# What it makes (docs/DEPLOYMENT.md explains each piece):
#   /etc/cmdctl/{ca.pem,ca.key,server.pem,server.key}  CA and server certificate
#   ~/.config/cmdctl/{client.pem,client.key,ca.pem}     for the invoking user
#       (the sudo user when run with sudo): identity = that login, principal =
#       the demo user, so the demo job does not run as root
#   the unix user cmdctl-demo (if missing)
#   out/first-run/cmdctld.{pid,log}                     the background server
# Existing certificates are kept; a client certificate that no longer
# verifies against the CA is replaced.
#
# Overrides (for CI and for trying it beside another server):
#   CMDCTL_LISTEN (localhost:9090)  CMDCTL_ETC (/etc/cmdctl)
#   CMDCTL_BUILD_DIR (build)  CMDCTL_CLIENT_DIR (~/.config/cmdctl)
#   CMDCTL_DEMO_USER (cmdctl-demo)  CMDCTL_SKIP_DEPS=1 (skip apt)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
listen=${CMDCTL_LISTEN:-localhost:9090}
etc=${CMDCTL_ETC:-/etc/cmdctl}
build=${CMDCTL_BUILD_DIR:-$root/build}
demo_user=${CMDCTL_DEMO_USER:-cmdctl-demo}
state=$root/out/first-run
pidfile=$state/cmdctld.pid
log=$state/cmdctld.log

if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
die() { echo "first-run.sh: $*" >&2; exit 1; }

# Stops the server this script started (by its pid file, never by name).
stop_server() {
  [[ -f $pidfile ]] || { echo "no cmdctld started by first-run.sh is running"; return 0; }
  local pid
  pid=$(cat "$pidfile")
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
     [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == */cmdctld ]]; then
    echo "stopping cmdctld (pid $pid)"
    kill -TERM "$pid"
    # cmdctld stops its jobs (TERM, then KILL after 5 s) and exits.
    for _ in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "cmdctld did not exit in 15 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  else
    echo "pid file $pidfile names no running cmdctld; removing it"
  fi
  rm -f "$pidfile"
}

case ${1:-} in
  --stop) stop_server; exit 0 ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) die "unknown argument '$1' (try --help)" ;;
esac

[[ $(id -u) -eq 0 ]] || die "run me as root: I install packages, write $etc and create the user $demo_user"

# The person who ran us (through sudo, or root itself).
user=${SUDO_USER:-$(id -un)}
home=$(getent passwd "$user" | cut -d: -f6)
[[ -n $home ]] || die "cannot find the home directory of $user"
client_dir=${CMDCTL_CLIENT_DIR:-$home/.config/cmdctl}

if [[ ${CMDCTL_SKIP_DEPS:-0} != 1 ]]; then
  say "Installing build dependencies (Debian 12 packages)"
  "$root/ci/install-deps.sh"
fi

say "Building into $build"
"$root/ci/build.sh" "$build"

say "Demo user '$demo_user'"
if id "$demo_user" >/dev/null 2>&1; then
  echo "exists"
else
  useradd --create-home --shell /bin/bash --comment "cmdctl demo" "$demo_user"
  echo "created"
fi

say "Development PKI in $etc and $client_dir"
"$root/ci/dev-pki.sh" ca "$etc"
if [[ -f $etc/server.pem ]] && openssl verify -CAfile "$etc/ca.pem" "$etc/server.pem" >/dev/null 2>&1; then
  echo "server certificate exists: $etc/server.pem (kept)"
else
  "$root/ci/dev-pki.sh" server "$etc"
fi
if [[ -f $client_dir/client.pem ]] &&
   openssl verify -CAfile "$etc/ca.pem" "$client_dir/client.pem" >/dev/null 2>&1; then
  echo "client certificate exists: $client_dir/client.pem (kept)"
else
  "$root/ci/dev-pki.sh" client "$etc" "$client_dir" "$user" "$demo_user"
  if [[ $user != root ]]; then
    chown -R "$user:" "$client_dir"
  fi
fi

say "Starting cmdctld on $listen"
stop_server >/dev/null
host=${listen%:*}; port=${listen##*:}
[[ $host == localhost || -z $host ]] && host=127.0.0.1
if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
  die "something already listens on $listen (a cmdctld under systemd? 'systemctl stop cmdctld'), or set CMDCTL_LISTEN"
fi
mkdir -p "$state"
setsid "$build/bin/cmdctld" --listen="$listen" \
  --cert="$etc/server.pem" --key="$etc/server.key" --ca="$etc/ca.pem" \
  </dev/null >"$log" 2>&1 &
echo $! >"$pidfile"
echo "pid $(cat "$pidfile"), log $log"

export CMDCTL_SERVER=$listen CMDCTL_CERT=$client_dir/client.pem \
  CMDCTL_KEY=$client_dir/client.key CMDCTL_CA=$client_dir/ca.pem
cmdctl=$build/bin/cmdctl
ready=0
for _ in $(seq 1 100); do
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    tail -n 20 "$log" >&2
    rm -f "$pidfile"
    die "cmdctld exited during startup (log above, in $log)"
  fi
  if "$cmdctl" list >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.2
done
[[ $ready == 1 ]] || { "$cmdctl" list || true; die "cmdctld did not answer on $listen within 20 s"; }

say "A demo job, followed"
# shellcheck disable=SC2016 # expanded by the job's shell, not here
demo='for i in 1 2 3 4 5; do echo "tick $i: $(id -un) in $PWD"; sleep 1; done; echo "done (this line went to stderr)" >&2'
echo "\$ cmdctl run sh -c '$demo'"
job=$("$cmdctl" run sh -c "$demo")
echo "$job"
echo "\$ cmdctl get-output $job"
"$cmdctl" get-output "$job"
echo "\$ cmdctl get-status $job"
"$cmdctl" get-status "$job"

if [[ ${CMDCTL_FIRST_RUN_STOP:-0} == 1 ]]; then
  say "Stopping cmdctld (CMDCTL_FIRST_RUN_STOP=1)"
  stop_server
  exit 0
fi

# What differs from cmdctl's defaults must be exported in the user's shell.
exports="  export PATH=$build/bin:\$PATH"
[[ $listen == localhost:9090 ]] || exports+=$'\n'"  export CMDCTL_SERVER=$listen"
if [[ $client_dir != "$home/.config/cmdctl" ]]; then
  exports+=$'\n'"  export CMDCTL_CERT=$client_dir/client.pem CMDCTL_KEY=$client_dir/client.key CMDCTL_CA=$client_dir/ca.pem"
fi
cat <<MSG

cmdctld is running on $listen (pid $(cat "$pidfile"), log $log).
Your certificate is in $client_dir (identity '$user', may run as '$demo_user').
Try:
$exports
  cmdctl run ls -la                    # prints the job id
  cmdctl logs ID                       # its output (any unique prefix of ID will do)
  cmdctl run --wait sh -c 'echo out; echo err >&2; exit 3'; echo "exit \$?"
  cmdctl list
  cmdctl --help
Stop the server with: ci/first-run.sh --stop
MSG
